"""The outbox end to end: enqueue, sender worker, shared limiter, the loopback fake robot.

Same set-up as bench/robot_ratelimit.py (fake robot API in its own process, a real
redis-server), but every message goes through the outbox as a Delivery: read from the stream,
group looked up, robot key read, sent, then recorded and acknowledged in one script.
1. A backlog of LIMIT * WINDOWS deliveries to one robot, LIMIT per PERIOD seconds: the share
   of the allowance used while it drains (goal >= 95%) and the 45009 answers (goal 0).
2. One delivery to each of TARGETS robot groups: sends per second (goal >= 1,000/s), lost and
   doubled as counted by the fake (goal 0 and 0).
Run: python -m bench.outbox_backlog
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
from redis.asyncio import Redis

from bench.robot_ratelimit import stats, with_fake_robot
from bot.articles.store import ArticleStore
from bot.channels.wecom_robot import RobotClient, RobotConfig
from bot.library import load_library
from bot.models import Delivery, Group, GroupKind, PushTarget
from bot.push.outbox import Outbox
from bot.push.outbox.config import OutboxConfig
from bot.push.outbox.worker import Worker
from bot.push.senders import Senders
from bot.settings import PROJECT_ROOT
from bot.store.groups import GroupRegistry
from bot.store.ratelimit import RateLimiter

LIMIT, PERIOD, WINDOWS = 20, 0.5, 10
TARGETS, CONCURRENCY = 10_000, 200


async def register(registry: GroupRegistry, prefix: str, count: int) -> list[str]:
    """Register `count` robot groups with their keys; return their ids."""
    ids = [f"{prefix}-{n:05d}" for n in range(count)]
    for group_id in ids:
        group = Group(group_id, "员工群", GroupKind.ENTERPRISE, "城关镇", 50, "", PushTarget.ROBOT)
        await registry.put(group)
        await registry.set_robot_key(group_id, f"key-{group_id}")
    return ids


async def drain(worker: Worker, total: int) -> tuple[float, float]:
    """Run the worker until the outbox is empty; return the seconds from the start and from
    the first recorded send to the last."""
    stop = asyncio.Event()
    start = time.perf_counter()
    first: float | None = None
    task = asyncio.create_task(worker.run(stop))
    while True:
        left = (await worker.outbox.depth())["pending"]  # waiting, in flight or delayed
        if first is None and left < total:
            first = time.perf_counter()
        if left == 0:
            break
        await asyncio.sleep(0.005)
    end = time.perf_counter()
    stop.set()
    await task
    return end - start, end - (first or start)


async def busy_robot(worker: Worker, session: aiohttp.ClientSession, base: str) -> None:
    [group_id] = await register(worker.senders.registry, "busy", 1)
    count = LIMIT * WINDOWS
    outbox = Outbox(worker.redis)
    await outbox.enqueue(
        Delivery(f"busy:{n}", group_id, body=f"第{n}条提醒") for n in range(count)
    )
    elapsed, span = await drain(worker, count)
    # A sliding window lets LIMIT go at once, then LIMIT per PERIOD: from the first send, the
    # fastest legal drain takes (WINDOWS - 1) periods.
    ideal = (WINDOWS - 1) * PERIOD
    answers = (await stats(session, base))["answers"]
    print(f"busy robot through the outbox: {count} deliveries at {LIMIT} per {PERIOD}s drained "
          f"in {span:.2f}s from the first send (ideal {ideal:.2f}s; "
          f"{elapsed:.2f}s in all)")  # fmt: skip
    print(f"  allowance used: {ideal / span:.1%}   45009 answers: {answers.get('45009', 0)}")


async def many_targets(worker: Worker, session: aiohttp.ClientSession, base: str) -> None:
    ids = await register(worker.senders.registry, "bulk", TARGETS)
    outbox = Outbox(worker.redis)
    await outbox.enqueue(Delivery(f"bulk:{gid}", gid, body="今日反诈提醒") for gid in ids)
    elapsed, _ = await drain(worker, TARGETS)
    received = (await stats(session, base))["received"]
    counts = [received.get(f"key-{gid}", 0) for gid in ids]
    lost, doubled = counts.count(0), sum(1 for count in counts if count > 1)
    rate = TARGETS / elapsed
    print(f"{TARGETS} robot groups through the outbox: {rate:.0f} sends/s ({elapsed:.2f}s), "
          f"lost {lost}, doubled {doubled}; ratio to the 1,000/s goal "
          f"{rate / 1000:.2f}")  # fmt: skip


async def run(base: str, redis_url: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True, max_connections=4 * CONCURRENCY)
    library = load_library(PROJECT_ROOT / "content")
    config = RobotConfig(api_base=base, rate_limit=LIMIT, rate_period=PERIOD, max_wait=1.0)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        await stats(session, base)
        robot = RobotClient(session, RateLimiter(redis), config)
        senders = Senders(redis, GroupRegistry(redis), ArticleStore(library, redis), robot,
                          "http://127.0.0.1:8080", "Asia/Shanghai")  # fmt: skip
        worker = Worker(redis, senders, OutboxConfig(concurrency=CONCURRENCY, block=0.05))
        await busy_robot(worker, session, base)
        await many_targets(worker, session, base)
    await redis.aclose()


if __name__ == "__main__":
    with_fake_robot(run)
