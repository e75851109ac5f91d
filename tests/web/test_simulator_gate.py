"""The public simulator is on only on the embedded default or when FANZHA_SIMULATOR=on;
officers always have the console's 试一试 page, on the same handlers, behind the login."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app, public_simulator
from bot.channels.config import ChannelConfigs
from bot.library import Library
from bot.settings import Settings, SettingsError
from tests.support.all_channels import every_channel
from tests.support.console import log_in, make_user

Client = TestClient[Any, Any]
QUESTION = {"group": "sim-village", "user": "王大爷", "text": "@反诈助手 刷单是什么"}
OA_ENV = {"WECHAT_OA_APP_ID": "wx1", "WECHAT_OA_TOKEN": "t0ken", "WECHAT_OA_SECRET": "s" * 16}


def test_the_default_follows_the_deployment() -> None:
    none, real = ChannelConfigs(), ChannelConfigs.from_env(OA_ENV)
    assert public_simulator(Settings(), none)  # the embedded default
    assert not public_simulator(Settings(), real)  # a real channel is configured
    assert not public_simulator(Settings(redis_url="redis://r:6379/0"), none)
    assert public_simulator(Settings.from_env({**OA_ENV, "FANZHA_SIMULATOR": "on"}), real)
    assert not public_simulator(Settings.from_env({"FANZHA_SIMULATOR": "OFF"}), none)
    with pytest.raises(SettingsError) as bad:
        Settings.from_env({"FANZHA_SIMULATOR": "yes"})
    assert bad.value.name == "FANZHA_SIMULATOR"


@pytest.fixture
async def closed(aiohttp_client: Any, settings: Settings, library: Library) -> Client:
    """A deployment with its own Redis and FANZHA_SIMULATOR unset: no public simulator."""
    app = create_app(replace(settings, simulator=None), library)
    return await aiohttp_client(app)  # type: ignore[no-any-return]


async def test_off_the_public_simulator_is_not_there(closed: Client, redis: Redis) -> None:
    for path in ("/sim", "/api/sim/groups", "/api/sim/feed?group=sim-village"):
        assert (await closed.get(path)).status == 404, path
    response = await closed.post("/api/sim/messages", json=QUESTION)
    assert response.status == 404
    assert await redis.keys("fz:{m:*") == []  # nothing reached the dashboard
    home = await closed.get("/", allow_redirects=False)
    assert home.headers["Location"] == "/console"


async def test_officers_try_it_logged_in(closed: Client, redis: Redis) -> None:
    anonymous = await closed.post("/console/try/api/messages", json=QUESTION)
    assert anonymous.status == 401 and (await anonymous.json())["error"] == "请先登录。"
    await make_user(redis, "zhang", "officer", "张警官")
    csrf = await log_in(closed, "zhang")
    page = await closed.get("/console/try")
    html = await page.text()
    assert page.status == 200 and 'data-api="/console/try/api"' in html and csrf in html
    no_token = await closed.post("/console/try/api/messages", json=QUESTION)
    assert no_token.status == 403
    answer = await closed.post(
        "/console/try/api/messages", json=QUESTION, headers={"X-CSRF-Token": csrf}
    )
    (reply,) = (await answer.json())["replies"]
    assert answer.status == 200 and "刷单" in reply["text"]
    feed = await closed.get("/console/try/api/feed?group=sim-village")
    assert feed.status == 200 and (await feed.json())["pushes"] == []


async def test_forwarders_cannot_use_the_try_page(closed: Client, redis: Redis) -> None:
    await make_user(redis, "teacher", "forwarder", "李老师")
    csrf = await log_in(closed, "teacher")
    answer = await closed.post(
        "/console/try/api/messages", json=QUESTION, headers={"X-CSRF-Token": csrf}
    )
    assert answer.status == 403


async def test_explicitly_on_with_real_channels(
    aiohttp_client: Any, settings: Settings, library: Library
) -> None:
    client = await aiohttp_client(every_channel(settings, library))  # simulator=True
    assert (await client.post("/api/sim/messages", json=QUESTION)).status == 200
