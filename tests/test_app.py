"""The app on its embedded default: its own Redis, and the demo groups registered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.app import create_app
from bot.appkeys import REDIS
from bot.library import Library
from bot.models import PushTarget
from bot.settings import Settings
from bot.store.groups import GroupRegistry


async def test_embedded_default_registers_the_demo_groups_once(
    aiohttp_client: Any, tmp_path: Path, library: Library
) -> None:
    settings = Settings(redis_url=None, data_dir=tmp_path, member_hash_key="k")
    client = await aiohttp_client(create_app(settings, library))
    registry = GroupRegistry(client.app[REDIS])
    groups = await registry.all()
    assert {group.id for group in groups} >= {"sim-village", "sim-parents", "sim-finance"}
    assert all(group.target is PushTarget.SIMULATOR for group in groups)
    assert (await client.get("/healthz")).status == 200
