"""`fanzha outbox status` and `fanzha outbox retry` as an operator runs them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import aiohttp
from redis.asyncio import Redis

from bot.articles.store import ArticleStore
from bot.channels.wecom_robot import RobotClient
from bot.library import Library
from bot.models import Delivery
from bot.push.outbox import Outbox
from bot.push.outbox.worker import Worker
from bot.push.senders import Senders
from bot.settings import PROJECT_ROOT, Settings
from bot.store.embedded import EmbeddedRedis
from bot.store.groups import GroupRegistry
from bot.store.ratelimit import RateLimiter
from tests.support.outbox import FAST, feed, running, settle, sim_group


async def _fanzha(redis_server: EmbeddedRedis, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bot", "outbox", *args]
    env = {**os.environ, "REDIS_URL": redis_server.url}
    return await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=120,
        cwd=PROJECT_ROOT, env=env,
    )  # fmt: skip


async def test_status_names_the_parked_push_and_retry_sends_it(
    redis: Redis, redis_server: EmbeddedRedis, library: Library, settings: Settings
) -> None:
    registry = GroupRegistry(redis)
    async with aiohttp.ClientSession() as session:  # simulator groups only: the robot is idle
        robot = RobotClient(session, RateLimiter(redis))
        senders = Senders(redis, registry, ArticleStore(library, redis), robot,
                          settings.base_url, settings.timezone)  # fmt: skip
        await _park_then_retry(redis, redis_server, registry, senders)


async def _park_then_retry(
    redis: Redis, redis_server: EmbeddedRedis, registry: GroupRegistry, senders: Senders
) -> None:
    outbox = Outbox(redis)
    push = Delivery("c:late-group", "sim-late", body="新登记的群也要收到这条提醒")
    await outbox.enqueue([push])
    async with running(Worker(redis, senders, FAST)):
        await settle(lambda: _parked(outbox, push))

    status = await _fanzha(redis_server, "status")
    assert status.returncode == 0, status.stderr
    assert "已停发（死信）：1" in status.stdout
    assert "c:late-group → sim-late，失败 0 次：这个群已从群登记中删除。" in status.stdout

    await registry.put(sim_group("sim-late"))
    retried = await _fanzha(redis_server, "retry", push.key, "c:never-queued")
    assert retried.returncode == 2
    assert f"已重新排队：{push.key}" in retried.stdout
    assert "没有找到停发或待核实的推送“c:never-queued”" in retried.stderr
    async with running(Worker(redis, senders, FAST)):
        await settle(lambda: outbox.delivered(push.group_id, push.key))
    assert [p["text"] for p in await feed(redis, "sim-late")] == ["新登记的群也要收到这条提醒"]


async def _parked(outbox: Outbox, push: Delivery) -> bool:
    return await outbox.state(push.group_id, push.key) == "parked"
