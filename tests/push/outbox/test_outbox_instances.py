"""Two real service processes on one Redis share a broadcast; one is killed mid-way.

Nothing may be lost and nothing recorded twice. Simulator pushes are written in the same script
as the record, so each lands exactly once. A robot send that reached the fake just before the
kill, in the moment before its record, is sent again by the instance that takes it over: the
test allows a repeat only for deliveries the killed instance was holding when it died.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.models import Delivery
from bot.push.outbox import Outbox
from bot.push.outbox.queue import decode
from bot.settings import PROJECT_ROOT
from bot.store import keys, reach
from bot.store.embedded import EmbeddedRedis
from bot.store.groups import GroupRegistry
from bot.store.reach import Measure
from tests.support.outbox import robot_group, settle, sim_group
from tests.support.wecom_robot import FakeWeComRobot

SIM_GROUPS, SIM_EACH = 6, 100
ROBOTS, ROBOT_EACH = 10, 10  # under the robot's real 20 a minute: no waiting for slots


# What `fanzha serve` does: settings from the environment, the whole app, one port.
SERVE = """
import sys
from aiohttp import web
from bot.app import create_app
from bot.settings import Settings
web.run_app(create_app(Settings.from_env()), host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Instance:
    """One `python -m bot serve` process on its own port."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.port = _free_port()
        self.env, self.cwd = env, cwd
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-c", SERVE, str(self.port)]
        self.process = subprocess.Popen(
            command, env=self.env, cwd=self.cwd,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    async def ready(self, session: aiohttp.ClientSession) -> None:
        async with asyncio.timeout(60):
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeComRobot]:
    """The robot API on loopback with the real allowance (20 a minute per robot)."""
    robot = FakeWeComRobot()
    await robot.start()
    yield robot
    await robot.close()


@pytest.fixture
def instances(
    tmp_path: Path, redis_server: EmbeddedRedis, fake: FakeWeComRobot
) -> Iterator[list[Instance]]:
    """Two service processes (not started) on the test Redis, sending to the fake robot."""
    (tmp_path / "schedules").mkdir()
    env = {
        **os.environ,
        "REDIS_URL": redis_server.url,
        "WECOM_API_BASE": fake.base,
        "FANZHA_DATA_DIR": str(tmp_path / "data"),
        "FANZHA_SCHEDULES_DIR": str(tmp_path / "schedules"),
        "FANZHA_CONTENT_DIR": str(PROJECT_ROOT / "content"),
        "FANZHA_MEMBER_HASH_KEY": "test-secret",
        "OUTBOX_VISIBILITY": "1",
        "OUTBOX_RETRY_BASE": "0.1",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    pair = [Instance(env, tmp_path), Instance(env, tmp_path)]
    yield pair
    for instance in pair:
        instance.stop()


def _broadcast() -> list[Delivery]:
    """Return the broadcast: simulator and robot deliveries interleaved."""
    sims = [
        Delivery(f"bc:s{g}:{n}", f"sim-{g}", body=f"群{g}第{n}条")
        for n in range(SIM_EACH)
        for g in range(SIM_GROUPS)
    ]
    robots = [
        Delivery(f"bc:r{r}:{n}", f"robot-{r}", body=f"机器人{r}第{n}条")
        for n in range(ROBOT_EACH)
        for r in range(ROBOTS)
    ]
    step = len(sims) // len(robots)
    mixed: list[Delivery] = []
    for index, robot in enumerate(robots):
        mixed += [*sims[index * step : (index + 1) * step], robot]
    return mixed + sims[len(robots) * step :]


async def _held_by(redis: Redis, pid: int) -> set[str]:
    """Return the delivery keys consumers of process `pid` held unacknowledged."""
    held: set[str] = set()
    for stream in _streams():
        if not await redis.exists(stream):  # made by the first enqueue onto it
            continue
        for consumer in await redis.xinfo_consumers(stream, keys.OUTBOX_GROUP):
            if f"-{pid}-" not in consumer["name"]:
                continue
            pending = await redis.xpending_range(
                stream, keys.OUTBOX_GROUP, "-", "+", 10_000, consumername=consumer["name"]
            )
            for item in pending:
                entry_id = item["message_id"]
                entries: Any = await redis.xrange(stream, entry_id, entry_id)
                held.update(decode(fields["d"]).key for _, fields in entries)
    return held


def _streams() -> list[str]:
    shards = range(keys.OUTBOX_SHARDS)
    return [name(shard) for shard in shards for name in (keys.outbox_urgent, keys.outbox_normal)]


async def _recorded(redis: Redis) -> int:
    lengths = [await redis.llen(keys.sim_feed(f"sim-{g}")) for g in range(SIM_GROUPS)]
    return sum(lengths)


async def test_killing_one_instance_mid_broadcast_loses_and_doubles_nothing(
    redis: Redis, instances: list[Instance], fake: FakeWeComRobot
) -> None:
    registry = GroupRegistry(redis)
    for g in range(SIM_GROUPS):
        await registry.put(sim_group(f"sim-{g}"))
    for r in range(ROBOTS):
        await registry.put(robot_group(f"robot-{r}"))
        await registry.set_robot_key(f"robot-{r}", f"robot-key-{r}")
    for stream in _streams():  # as after the first push ever
        await redis.xgroup_create(stream, keys.OUTBOX_GROUP, id="0", mkstream=True)
    first, second = instances
    async with aiohttp.ClientSession() as session:
        first.start()
        second.start()
        await asyncio.gather(first.ready(session), second.ready(session))
        outbox = Outbox(redis)
        deliveries = _broadcast()
        assert await outbox.enqueue(deliveries) == len(deliveries)
        assert second.process is not None
        working, quarter = second.process.pid, SIM_GROUPS * SIM_EACH // 4
        await settle(lambda: _busy(redis, working, quarter), timeout=60)
        held = await _stop_holding(redis, second.process)
        second.kill()  # it dies holding deliveries the other instance must take over
        assert await _recorded(redis) < SIM_GROUPS * SIM_EACH  # the kill came mid-way
        second.start()
        await second.ready(session)
        await settle(lambda: _all_sent(redis, deliveries), timeout=120)

    for g in range(SIM_GROUPS):
        texts = [str(p) for p in await redis.lrange(keys.sim_feed(f"sim-{g}"), 0, -1)]
        bodies = Counter(t.split('"text":"', 1)[1].split('"', 1)[0] for t in texts)
        assert bodies == Counter(f"群{g}第{n}条" for n in range(SIM_EACH))
    for r in range(ROBOTS):
        received = Counter(fake.texts(f"robot-key-{r}"))
        assert set(received) == {f"机器人{r}第{n}条" for n in range(ROBOT_EACH)}
        repeated = {text for text, times in received.items() if times > 1}
        held_texts = {f"机器人{r}第{key.rsplit(':', 1)[1]}条" for key in held if f":r{r}:" in key}
        assert repeated <= held_texts
    totals = await reach.totals(redis, [datetime.now(ZoneInfo("Asia/Shanghai")).date()])
    assert totals[Measure.PUSHES_SENT] == len(deliveries)
    assert totals[Measure.PUSHES_FAILED] == 0
    assert fake.answers[45009] == 0


async def _stop_holding(redis: Redis, process: subprocess.Popen[bytes]) -> set[str]:
    """Freeze `process` (SIGSTOP) at a moment it holds deliveries; return their keys.

    Checking first and killing after would race with the process acknowledging what it held.
    """
    for _ in range(400):
        process.send_signal(signal.SIGSTOP)
        held = await _held_by(redis, process.pid)
        if held:
            return held
        process.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.02)
    raise AssertionError("the instance never held a delivery while it was stopped")


async def _busy(redis: Redis, pid: int, count: int) -> bool:
    """Return True once `count` pushes are recorded and process `pid` is holding some."""
    return await _recorded(redis) >= count and bool(await _held_by(redis, pid))


async def _all_sent(redis: Redis, deliveries: list[Delivery]) -> bool:
    states = await redis.mget([keys.delivery_state(d.group_id, d.key) for d in deliveries])
    return all(state == "sent" for state in states)
