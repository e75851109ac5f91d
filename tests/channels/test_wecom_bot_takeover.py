"""The long connection when another client takes the bot over (disconnected_event, path/101463):
ours stops, says why, shows it on /healthz and /metrics, and comes back only after a pause that
grows while the other client keeps taking the bot. The other client is the official SDK."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aibot import WSClient
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app
from bot.channels.wecom_bot import WECOM_BOT_LINK
from bot.channels.wecom_bot_takeover import lease_key, read_takeover
from bot.library import Library
from bot.settings import Settings
from tests.support.wecom_bot import (
    BOT_ID,
    SECRET,
    FakeWeComWS,
    connected,
    start_link,
)
from tests.support.wecom_sdk import sdk_client, stop

PAUSE = 0.3


@pytest.fixture
async def ours(
    aiohttp_client: Any, settings: Settings, library: Library, gateway: FakeWeComWS
) -> TestClient[Any, Any]:
    app = create_app(settings, library)
    client = await start_link(aiohttp_client, app, gateway, heartbeat=0.05, backoff=0.01,
                              takeover_pause=PAUSE)  # fmt: skip
    await connected(client)
    return client


@pytest.fixture
async def staging(
    ours: TestClient[Any, Any], gateway: FakeWeComWS, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Awaitable[WSClient]]]:
    """Start the official SDK on the same bot, as a staging copy would."""
    clients: list[WSClient] = []

    async def start(**options: Any) -> WSClient:
        clients.append(sdk_client(monkeypatch, gateway.url, BOT_ID, SECRET, **options))
        await clients[-1].connect()
        return clients[-1]

    yield start
    for client in clients:
        await stop(client)


async def _taken_over(client: TestClient[Any, Any]) -> None:
    async with asyncio.timeout(5):
        await client.app[WECOM_BOT_LINK].stepped_aside.wait()


async def test_a_takeover_stops_us_and_shows(
    ours: TestClient[Any, Any], gateway: FakeWeComWS, redis: Redis,
    staging: Callable[..., Awaitable[WSClient]], caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    other = await staging(max_reconnect_attempts=0)
    await _taken_over(ours)
    (error,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "taken over" in error.getMessage() and "disconnected_event" in error.getMessage()
    takeover = await read_takeover(redis, BOT_ID)
    assert takeover is not None and takeover.count == 1
    assert takeover.until - takeover.at == pytest.approx(PAUSE)
    assert (await redis.get(lease_key(BOT_ID) or "")).startswith("taken-over:")
    health = await (await ours.get("/healthz")).json()
    assert health["status"] == "ok" and health["wecom_bot_ws"]["state"] == "taken_over"
    assert "disconnected_event" in health["wecom_bot_ws"]["taken_over"]["reason"]
    metrics = await (await ours.get("/metrics")).text()
    assert "fanzha_wecom_bot_ws_taken_over 1" in metrics
    assert "fanzha_wecom_bot_ws_takeovers_total 1" in metrics
    assert "fanzha_wecom_bot_ws_connected 0" in metrics
    await stop(other)  # the staging copy is stopped: ours comes back after the pause
    await connected(ours)
    assert gateway.subscribed_at[-1] >= takeover.until
    await gateway.wait_for(lambda: gateway.pings >= 2)  # it held a whole heartbeat
    assert await read_takeover(redis, BOT_ID) is None
    health = await (await ours.get("/healthz")).json()
    assert health["wecom_bot_ws"] == {"state": "connected", "here": True}


async def test_the_pause_grows_while_the_other_client_keeps_the_bot(
    ours: TestClient[Any, Any], gateway: FakeWeComWS, redis: Redis,
    staging: Callable[..., Awaitable[WSClient]],
) -> None:  # fmt: skip
    link = ours.app[WECOM_BOT_LINK]
    await staging(max_reconnect_attempts=0)
    await _taken_over(ours)
    first = await read_takeover(redis, BOT_ID)
    await connected(ours)  # after the pause ours subscribes once ...
    await staging(max_reconnect_attempts=0)  # ... and the other client takes the bot again
    await _taken_over(ours)
    second = await read_takeover(redis, BOT_ID)
    assert first is not None and second is not None and link.takeovers == 2
    assert second.count == 2 and second.until - second.at == pytest.approx(2 * PAUSE)
    comeback = min(at for at in gateway.subscribed_at if at > first.at)  # ours, not the SDK's
    assert comeback >= first.until
