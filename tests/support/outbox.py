"""Shared pieces of the outbox tests: groups, a running worker, and waiting for Redis state."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis

from bot.models import Delivery, Group, GroupKind, PushTarget
from bot.push.outbox import Outbox
from bot.push.outbox.config import OutboxConfig
from bot.push.outbox.queue import decode
from bot.push.outbox.worker import Worker
from bot.store import keys

# Quick retries and a short visibility timeout, so the tests run in seconds.
FAST = OutboxConfig(retry_base=0.05, retry_cap=0.2, visibility=0.5, block=0.05, max_attempts=3)


def sim_group(group_id: str = "sim-test", region: str = "城关镇/幸福村") -> Group:
    """Return a simulator group in `region`."""
    return Group(group_id, "幸福村村民群", GroupKind.VILLAGE, region, 120, "grid-li",
                 PushTarget.SIMULATOR)  # fmt: skip


def robot_group(group_id: str = "robot-test") -> Group:
    """Return a group pushed to through a WeCom robot."""
    return Group(group_id, "城东企业员工群", GroupKind.ENTERPRISE, "城关镇/城东社区", 80,
                 "boss-wang", PushTarget.ROBOT)  # fmt: skip


@asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[Worker]:
    """Run `worker` in the background for the body, then stop it."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield worker
    finally:
        stop.set()
        await task


async def settle(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    """Poll `check` until it holds; fail the test after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.02)


async def feed(redis: Redis, group_id: str) -> list[dict[str, Any]]:
    """Return the simulator pushes of a group, oldest first."""
    return [json.loads(raw) for raw in await redis.lrange(keys.sim_feed(group_id), 0, -1)]


async def queued(redis: Redis, *, urgent: bool | None = None) -> list[Delivery]:
    """Return the deliveries waiting in every shard's streams (only urgent or normal ones when
    `urgent` says so), oldest first within a shard."""
    names = []
    for shard in range(keys.OUTBOX_SHARDS):
        if urgent is not False:
            names.append(keys.outbox_urgent(shard))
        if urgent is not True:
            names.append(keys.outbox_normal(shard))
    async with redis.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.xrange(name)
        streams = await pipe.execute()
    return [decode(fields["d"]) for entries in streams for _, fields in entries]


async def died_mid_post(redis: Redis, push: Delivery) -> None:
    """Queue `push` and leave it as a sender that died during its post does: taken by that
    consumer, never acknowledged, marked in flight."""
    await Outbox(redis).enqueue([push])
    stream = keys.outbox_normal(keys.outbox_shard(push.group_id))
    await redis.xgroup_create(stream, keys.OUTBOX_GROUP, id="0")
    await redis.xreadgroup(keys.OUTBOX_GROUP, "died-mid-post", {stream: ">"})
    await redis.set(keys.delivery_state(push.group_id, push.key), "sending:0")
