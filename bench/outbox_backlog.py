"""The outbox end to end against a bare consumer, measured in one run: sends/s and CPU per send.

The loopback fake robot runs in its own process (its CPU is not counted), with a real
redis-server as shipped (AOF on), INFO logging, the service's pool (BlockingConnectionPool of
FANZHA_REDIS_CONNECTIONS) and the default OUTBOX_CONCURRENCY and block. One delivery goes to
each of N fresh robot groups (N = 10,000 and 50,000), through:
- the baseline: a bare consumer doing XREADGROUP, one HTTP post of a prebuilt body to the same
  fake, and XACK, as many at once as the worker's concurrency;
- the outbox worker: read, state and group, the shared robot limiter, the post, the record
  with its reach, as the service runs it (on its own pool, as `fanzha serve` gives it).
Rounds alternate (baseline, outbox) at each size. Printed: sends/s, CPU per send (this
process's CPU time / sends), lost and doubled (counted by the fake), and the ratios.
Goal: worker CPU per send <= 0.3 ms.
Run: python -m bench.outbox_backlog [SIZE ...]
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from redis.asyncio import BlockingConnectionPool, Redis

from bench.robot_ratelimit import free_port, stats
from bot.app import REDIS_POOL_WAIT
from bot.articles.store import ArticleStore
from bot.channels.wecom_robot import RobotClient, RobotConfig, markdown_payloads, message_body
from bot.library import load_library
from bot.models import Delivery, Group, GroupKind, PushTarget
from bot.push.outbox import Outbox
from bot.push.outbox.app import senders_client
from bot.push.outbox.config import OutboxConfig
from bot.push.outbox.worker import Worker
from bot.push.senders import Senders
from bot.settings import PROJECT_ROOT, Settings
from bot.store.embedded import EmbeddedRedis
from bot.store.groups import GroupRegistry
from bot.store.ratelimit import RateLimiter
from bot.store.reach import Measure, totals

SIZES = (10_000, 10_000, 50_000)  # rounds: each size once for each side, alternating
BODY = "今日反诈提醒：陌生来电让转账，一律先挂断、再核实。"
BASELINE_STREAM = "bench:{baseline}:stream"


@dataclass(frozen=True)
class Round:
    """One side's drain of one broadcast."""

    sends: int
    seconds: float
    cpu: float
    lost: int
    doubled: int

    @property
    def rate(self) -> float:
        """Return sends per second."""
        return self.sends / self.seconds

    @property
    def cpu_ms(self) -> float:
        """Return this process's CPU milliseconds per send."""
        return self.cpu / self.sends * 1000


async def register(redis: Redis, prefix: str, count: int) -> list[str]:
    """Register `count` fresh robot groups with their keys; return their ids."""
    registry, ids = GroupRegistry(redis), [f"{prefix}-{n:05d}" for n in range(count)]
    for start in range(0, count, 500):
        batch = ids[start : start + 500]
        await asyncio.gather(*(registry.put(Group(gid, "员工群", GroupKind.ENTERPRISE, "城关镇",
                                                  50, "", PushTarget.ROBOT)) for gid in batch))
        await asyncio.gather(*(registry.set_robot_key(gid, f"key-{gid}") for gid in batch))
    return ids  # fmt: skip


async def measured(drain: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """Return the wall and CPU seconds `drain` takes."""
    wall, cpu = time.perf_counter(), time.process_time()
    await drain()
    return time.perf_counter() - wall, time.process_time() - cpu


async def outbox_round(worker: Worker, session: aiohttp.ClientSession, base: str,
                       ids: list[str]) -> Round:  # fmt: skip
    """Queue one delivery per group and let the worker drain them."""
    outbox = Outbox(worker.redis)
    await outbox.enqueue(Delivery(f"bulk:{gid}", gid, body=BODY) for gid in ids)

    before = await sent(worker)

    async def drain() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        while await sent(worker) < before + len(ids):  # one HGET a poll: cheap beside the sends
            await asyncio.sleep(0.02)
        stop.set()
        await task

    seconds, cpu = await measured(drain)
    return await counted(session, base, ids, seconds, cpu)


async def sent(worker: Worker) -> int:
    """Return today's recorded pushes (the outbox's own count, one command)."""
    return (await totals(worker.redis, [worker.senders.today()]))[Measure.PUSHES_SENT]


async def baseline_round(redis: Redis, session: aiohttp.ClientSession, base: str,
                         ids: list[str], concurrency: int) -> Round:  # fmt: skip
    """Drain the same broadcast with a bare consumer: XREADGROUP, one post, XACK."""
    body = message_body(markdown_payloads(BODY)[0])
    for start in range(0, len(ids), 1000):
        async with redis.pipeline(transaction=False) as pipe:
            for gid in ids[start : start + 1000]:
                pipe.xadd(BASELINE_STREAM, {"d": json.dumps({"key": f"key-{gid}"})})
            await pipe.execute()
    await redis.xgroup_create(BASELINE_STREAM, "bare", id="0")
    headers = {"Content-Type": "application/json"}

    async def send(entry_id: str, raw: str) -> None:
        url = f"{base}/cgi-bin/webhook/send?key={json.loads(raw)['key']}"
        async with session.post(url, data=body, headers=headers) as answer:
            json.loads(await answer.read())
        await redis.xack(BASELINE_STREAM, "bare", entry_id)

    async def drain() -> None:
        tasks: set[asyncio.Task[None]] = set()
        started = 0
        while started < len(ids):
            free = concurrency - len(tasks)
            if tasks and free < max(1, concurrency // 4):  # read in batches, as the worker does
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                continue
            read = await redis.xreadgroup("bare", "c", {BASELINE_STREAM: ">"}, count=free,
                                          block=1000)  # fmt: skip
            for _, entries in read or []:
                for entry_id, fields in entries:
                    task = asyncio.create_task(send(entry_id, fields["d"]))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    started += 1
        await asyncio.gather(*tasks)

    seconds, cpu = await measured(drain)
    await redis.delete(BASELINE_STREAM)
    return await counted(session, base, ids, seconds, cpu)


async def counted(session: aiohttp.ClientSession, base: str, ids: list[str], seconds: float,
                  cpu: float) -> Round:  # fmt: skip
    """Return the round with the lost and doubled the fake counted for `ids`."""
    received = (await stats(session, base))["received"]
    counts = [received.get(f"key-{gid}", 0) for gid in ids]
    return Round(len(ids), seconds, cpu, counts.count(0), sum(1 for c in counts if c > 1))


async def run(base: str, redis_url: str) -> None:
    """Alternate baseline and outbox rounds at each size and print the comparison."""
    settings, config = Settings(), OutboxConfig()
    sizes = tuple(int(size) for size in sys.argv[1:]) or SIZES
    pool = BlockingConnectionPool.from_url(redis_url, max_connections=settings.redis_connections,
                                           timeout=REDIS_POOL_WAIT, decode_responses=True)
    redis = Redis.from_pool(pool)  # fmt: skip
    library = load_library(PROJECT_ROOT / "content")
    async with aiohttp.ClientSession() as session:
        await stats(session, base)
        robot = RobotClient(session, RateLimiter(redis), RobotConfig(api_base=base))
        senders = Senders(redis, GroupRegistry(redis), ArticleStore(library, redis), robot,
                          settings.base_url, settings.timezone)  # fmt: skip
        own = senders_client(redis, config.concurrency)  # both sides on a pool like the worker's
        worker = Worker(own, senders, config)
        for n, size in enumerate(sizes):
            bare = await baseline_round(own, session, base,
                                        await register(redis, f"b{n}", size), config.concurrency)
            ours = await outbox_round(worker, session, base, await register(redis, f"o{n}", size))
            report(size, bare, ours)  # fmt: skip
    await own.aclose()
    await redis.aclose()


def report(size: int, bare: Round, ours: Round) -> None:
    """Print one pair of rounds."""
    print(f"{size} robot groups: outbox {ours.rate:.0f} sends/s at {ours.cpu_ms:.3f} ms CPU per "
          f"send (lost {ours.lost}, doubled {ours.doubled}); bare consumer {bare.rate:.0f} "
          f"sends/s at {bare.cpu_ms:.3f} ms (lost {bare.lost}); ratio {ours.rate / bare.rate:.2f} "
          f"sends/s, {ours.cpu_ms / bare.cpu_ms:.2f}x the CPU; goal <= 0.3 ms "
          f"{'met' if ours.cpu_ms <= 0.3 else 'NOT met'}", flush=True)  # fmt: skip


def main() -> None:
    """Start the fake robot (its own process) and a redis-server as shipped, then run."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    port = free_port()
    command = [sys.executable, "-m", "tests.support.wecom_robot", "--port", str(port)]
    fake = subprocess.Popen(command, cwd=PROJECT_ROOT)
    try:
        with tempfile.TemporaryDirectory(prefix="fz-bench-") as data, EmbeddedRedis(
            Path(data)
        ) as server:
            asyncio.run(run(f"http://127.0.0.1:{port}", server.url))
    finally:
        fake.terminate()
        fake.wait()


if __name__ == "__main__":
    main()
