"""Kill -9 one of two service instances in the middle of a broadcast; count lost and doubled.

Two real `fanzha serve` processes (the whole app, shipped defaults except a short takeover
time) share one real redis-server and send to the loopback fake robot, which runs in this
process behind a middleware that notes, per request, which instance sent it and when WeCom's
answer was given. For each of ROUNDS broadcasts to GROUPS robot groups, one instance gets
SIGKILL at a random moment (after a random number of sends reached the fake), is started again,
and the broadcast is left to finish. Printed per kill: lost (a group that got nothing and holds
nothing), doubled (a group that got it twice), held (OUTBOX_UNCERTAIN=hold), and the sends
the fake had received from the killed instance but not yet answered at the kill: WeCom may
have posted those, so resending one is the irreducible double of at-least-once. Run for a fake
that answers at once and one that answers after 50 ms, in both policies.
Goals: 0 lost always; resend: at most 2 doubles per kill on average beyond the unanswered
ones; hold: 0 doubled.
Run: python -m bench.crash [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bench.robot_ratelimit import free_port
from bot.models import Delivery, Group, GroupKind, PushTarget
from bot.push.outbox import Outbox
from bot.settings import PROJECT_ROOT
from bot.store import keys
from bot.store.embedded import EmbeddedRedis
from bot.store.groups import GroupRegistry
from tests.support.wecom_robot import FakeWeComRobot

GROUPS = 300
VISIBILITY = "3"  # seconds; the default 120 would make each takeover wait two minutes
TAGS = 64  # path prefixes the fake serves: one per instance start
SERVE = """
import sys
from aiohttp import web
from bot.app import create_app
from bot.settings import Settings
web.run_app(create_app(Settings.from_env()), host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


@dataclass
class Ledger:
    """What the fake saw: per request the sending instance, the robot key and the answer time."""

    delay: float = 0.0
    answered: list[tuple[str, str, float]] = field(default_factory=list)
    received: int = 0
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    kill_after: int = 0

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Answer after `delay`, and note who sent what and when it was answered."""
        tag = request.path.split("/", 2)[1]
        await request.read()  # WeCom has the message now; its answer comes `delay` later
        if self.delay:
            await asyncio.sleep(self.delay)
        response = await handler(request)
        self.answered.append((tag, request.query.get("key", ""), time.time()))
        self.received += 1
        if self.received >= self.kill_after:
            self.reached.set()
        return response


class Instance:
    """One service process; every start sends to the fake under a new path prefix."""

    def __init__(self, env: dict[str, str], base: str, tags: list[str]) -> None:
        self.env, self.base, self.tags = env, base, tags
        self.process: subprocess.Popen[bytes] | None = None
        self.tag, self.port = "", 0

    async def start(self, session: aiohttp.ClientSession) -> None:
        """Start the process and wait until it answers /healthz."""
        self.tag, self.port = self.tags.pop(), free_port()
        env = {**self.env, "WECOM_API_BASE": f"{self.base}/{self.tag}"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(self.port)], env=env, cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        async with asyncio.timeout(60):
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)

    def kill(self) -> float:
        """SIGKILL the process; return the moment of the kill."""
        assert self.process is not None
        moment = time.time()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        return moment

    def stop(self) -> None:
        """Stop the process if it still runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)


@dataclass(frozen=True)
class Kill:
    """What one kill cost."""

    at_send: int
    lost: int
    doubled: int
    held: int
    unanswered: int
    beyond: int


async def broadcast(redis: Redis, round_id: str) -> list[Delivery]:
    """Register GROUPS fresh robot groups (a fresh allowance each) and queue one push each."""
    registry = GroupRegistry(redis)
    deliveries = []
    for n in range(GROUPS):
        group_id = f"crash-{round_id}-{n:03d}"
        await registry.put(Group(group_id, "员工群", GroupKind.ENTERPRISE, "城关镇", 50, "",
                                 PushTarget.ROBOT))  # fmt: skip
        await registry.set_robot_key(group_id, f"key-{group_id}")
        deliveries.append(Delivery(f"crash:{round_id}:{n}", group_id, body="今日反诈提醒"))
    await Outbox(redis).enqueue(deliveries)
    return deliveries


async def finished(redis: Redis, deliveries: list[Delivery]) -> list[str]:
    """Wait until every delivery is sent, parked or held; return their states."""
    names = [keys.delivery_state(d.group_id, d.key) for d in deliveries]
    async with asyncio.timeout(120):
        while True:
            states = [str(s).partition(":")[0] for s in await redis.mget(names)]
            if all(state in ("sent", "parked", "held") for state in states):
                return states
            await asyncio.sleep(0.05)


async def one_kill(
    redis: Redis, fake: FakeWeComRobot, ledger: Ledger, pair: list[Instance],
    session: aiohttp.ClientSession, round_id: str,
) -> Kill:  # fmt: skip
    """Broadcast, kill the second instance at a random send, restart it, and count."""
    ledger.received, ledger.answered = 0, []
    ledger.kill_after = random.randint(GROUPS // 10, GROUPS * 8 // 10)
    ledger.reached.clear()
    fake.received.clear()
    deliveries = await broadcast(redis, round_id)
    await ledger.reached.wait()
    victim = pair[1]
    killed_tag, moment = victim.tag, victim.kill()
    unanswered = {key for tag, key, at in ledger.answered if tag == killed_tag and at >= moment}
    await victim.start(session)
    states = await finished(redis, deliveries)
    await asyncio.sleep(0.2)  # answers still on their way to the fake's ledger
    unanswered |= {key for tag, key, at in ledger.answered if tag == killed_tag and at >= moment}
    received = {d.group_id: len(fake.received.get(f"key-{d.group_id}", [])) for d in deliveries}
    held = states.count("held")
    lost = sum(1 for d, s in zip(deliveries, states, strict=True)
               if received[d.group_id] == 0 and s != "held")  # fmt: skip
    doubled = {f"key-{gid}" for gid, count in received.items() if count > 1}
    return Kill(ledger.kill_after, lost, len(doubled), held, len(unanswered),
                len(doubled - unanswered))  # fmt: skip


async def run_mode(base_env: dict[str, str], policy: str, delay: float, rounds: int) -> None:
    """Run `rounds` kills against a fake answering after `delay` under `policy`."""
    fake, ledger = FakeWeComRobot(), Ledger(delay)
    root = web.Application(middlewares=[ledger.middleware])
    tags = [f"t{n}" for n in range(TAGS)]
    for tag in tags:
        root.add_subapp(f"/{tag}", fake.app)
    runner = web.AppRunner(root, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    env = {**base_env, "OUTBOX_UNCERTAIN": policy}
    redis = Redis.from_url(env["REDIS_URL"], decode_responses=True)
    await redis.flushall()
    pair = [Instance(env, f"http://127.0.0.1:{port}", tags) for _ in range(2)]
    kills: list[Kill] = []
    try:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(instance.start(session) for instance in pair))
            for n in range(rounds):
                kills.append(await one_kill(redis, fake, ledger, pair, session, f"{policy}{n}"))
                k = kills[-1]
                print(f"  kill {n + 1:2d} at send {k.at_send:3d}: lost {k.lost}, doubled "
                      f"{k.doubled}, held {k.held}, unanswered at the kill {k.unanswered}, "
                      f"doubled beyond those {k.beyond}", flush=True)  # fmt: skip
    finally:
        for instance in pair:
            instance.stop()
        await redis.aclose()
        await runner.cleanup()
    summary(policy, delay, kills)


def summary(policy: str, delay: float, kills: list[Kill]) -> None:
    """Print the totals of one mode against its goals."""
    count = len(kills)
    lost = sum(k.lost for k in kills)
    doubled = sum(k.doubled for k in kills)
    beyond = sum(k.beyond for k in kills) / count
    held = sum(k.held for k in kills)
    unanswered = sum(k.unanswered for k in kills) / count
    goal = "doubled 0" if policy == "hold" else "beyond <= 2 per kill"
    print(f"{policy}, fake answering after {delay * 1000:.0f} ms, {count} kills: lost {lost} "
          f"(goal 0), doubled {doubled} in all, {beyond:.2f} per kill beyond the {unanswered:.2f} "
          f"unanswered per kill ({goal}), held {held}", flush=True)  # fmt: skip


def main() -> None:
    """Run every mode on one throw-away redis-server."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20, help="kills per mode (default 20)")
    args = parser.parse_args()
    print(f"{GROUPS} robot groups per broadcast; OUTBOX_VISIBILITY={VISIBILITY} s instead of "
          "120 (so a takeover comes within seconds); every other setting as shipped")
    with tempfile.TemporaryDirectory(prefix="fz-crash-") as folder, EmbeddedRedis(
        Path(folder) / "redis"
    ) as server:
        (Path(folder) / "schedules").mkdir()
        env = {
            **os.environ, "REDIS_URL": server.url, "FANZHA_DATA_DIR": str(Path(folder) / "data"),
            "FANZHA_SCHEDULES_DIR": str(Path(folder) / "schedules"),
            "FANZHA_MEMBER_HASH_KEY": "bench-secret", "OUTBOX_VISIBILITY": VISIBILITY,
            "PYTHONPATH": str(PROJECT_ROOT),
        }  # fmt: skip
        for delay in (0.0, 0.05):
            for policy in ("resend", "hold"):
                print(f"{policy}, fake answering after {delay * 1000:.0f} ms:", flush=True)
                asyncio.run(run_mode(env, policy, delay, args.rounds))


if __name__ == "__main__":
    main()
