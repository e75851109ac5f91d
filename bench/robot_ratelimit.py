"""WeCom robot pushes on the loopback fake: one busy robot's allowance, and many robots at once.

The fake robot API runs in its own process, with a real redis-server for the shared limiter:
1. A backlog to one robot, at the real 20 messages per window but a window of PERIOD seconds
   instead of 60: prints the share of the allowance used while the backlog drains (goal >= 95%)
   and how often the fake answered 45009 (goal 0).
2. One message to each of ROBOTS distinct robot keys, CONCURRENCY at a time, after a warm-up
   that opens the connections: sends per second, lost and doubled (goal 0 and 0), counted by
   the fake. Each send is two Lua calls (take the slot, date it) and one HTTP post.
Run: python -m bench.robot_ratelimit
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from redis.asyncio import Redis

from bot.channels.wecom_robot import RobotClient, RobotConfig
from bot.settings import PROJECT_ROOT
from bot.store.embedded import EmbeddedRedis
from bot.store.ratelimit import RateLimiter

LIMIT, PERIOD, WINDOWS = 20, 0.5, 10  # the backlog is LIMIT * WINDOWS messages
ROBOTS, CONCURRENCY = 2000, 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def stats(session: aiohttp.ClientSession, base: str) -> dict[str, dict[str, int]]:
    """Return what the fake received per key and how it answered, waiting until it is up."""
    for _ in range(300):
        try:
            async with session.get(f"{base}/fake/stats") as response:
                return await response.json()  # type: ignore[no-any-return]
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.05)
    raise RuntimeError("the fake robot API did not start")


async def busy_robot(client: RobotClient, session: aiohttp.ClientSession, base: str) -> None:
    """Drain a backlog to one robot and print the share of its allowance used."""
    finished: list[float] = []

    async def push(n: int) -> None:
        await client.send_text("busy-robot", f"第{n}条反诈提醒：不听、不信、不转账。")
        finished.append(time.perf_counter())

    await asyncio.gather(*(push(n) for n in range(LIMIT * WINDOWS)))
    # A sliding window lets LIMIT go at once, then LIMIT per PERIOD: after the first burst,
    # the fastest legal drain delivers LIMIT * (WINDOWS - 1) messages in (WINDOWS - 1) PERIODs.
    span = max(finished) - min(finished)
    share = (WINDOWS - 1) * PERIOD / span
    answers = (await stats(session, base))["answers"]
    print(f"busy robot: {LIMIT * WINDOWS} messages at {LIMIT} per {PERIOD}s drained in "
          f"{span:.2f}s (ideal {(WINDOWS - 1) * PERIOD:.2f}s)")  # fmt: skip
    print(f"  allowance used: {share:.1%}   45009 answers: {answers.get('45009', 0)}")


async def many_robots(client: RobotClient, session: aiohttp.ClientSession, base: str) -> None:
    """Send one message to each of ROBOTS keys and print the rate, lost and doubled."""
    gate = asyncio.Semaphore(CONCURRENCY)
    failures = 0

    async def push(n: int) -> None:
        nonlocal failures
        async with gate:
            try:
                await client.send_text(f"robot-{n:05d}", f"{n}号群：今日反诈提醒。")
            except Exception:  # noqa: BLE001 - counted and reported below
                failures += 1

    # Open the HTTP and Redis connections first: the rate is for a service already running.
    await asyncio.gather(*(client.send_text(f"warm-{n}", "预热") for n in range(CONCURRENCY)))
    start = time.perf_counter()
    await asyncio.gather(*(push(n) for n in range(ROBOTS)))
    elapsed = time.perf_counter() - start
    received = (await stats(session, base))["received"]
    counts = [received.get(f"robot-{n:05d}", 0) for n in range(ROBOTS)]
    lost, doubled = counts.count(0), sum(1 for count in counts if count > 1)
    print(f"{ROBOTS} robots, one message each: {ROBOTS / elapsed:.0f} sends/s "
          f"({elapsed:.2f}s), lost {lost}, doubled {doubled}, errors {failures}")  # fmt: skip


async def run(base: str, redis_url: str) -> None:
    # Every waiting send polls Redis: allow a connection for each one in flight.
    redis = Redis.from_url(redis_url, decode_responses=True, max_connections=4 * CONCURRENCY)
    config = RobotConfig(api_base=base, rate_limit=LIMIT, rate_period=PERIOD, max_wait=60.0)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        await stats(session, base)
        client = RobotClient(session, RateLimiter(redis), config)
        await busy_robot(client, session, base)
        await many_robots(client, session, base)
    await redis.aclose()


def with_fake_robot(run: Callable[[str, str], Awaitable[None]]) -> None:
    """Start the fake robot API (LIMIT per PERIOD) and a throw-away redis-server, then
    run `run(api_base, redis_url)` to completion."""
    port = free_port()
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.support.wecom_robot", "--port", str(port),
         "--limit", str(LIMIT), "--period", str(PERIOD)],
        cwd=PROJECT_ROOT,
    )  # fmt: skip
    try:
        with (
            tempfile.TemporaryDirectory(prefix="fz-bench-") as data,
            EmbeddedRedis(Path(data), persistent=False) as server,
        ):
            asyncio.run(run(f"http://127.0.0.1:{port}", server.url))
    finally:
        fake.terminate()
        fake.wait()


if __name__ == "__main__":
    with_fake_robot(run)
