"""Sender workers: every instance reads the outbox streams as one consumer of the group.

Each entry runs as its own task, so a slow or rate-limited target never holds up the others.
Sends to a paced target (a WeCom robot, the smart bot) take turns within this instance: while
one is in flight, the others wait in the delayed set at the target's pace instead of holding a
task. Retries back off exponentially; after `max_attempts` failures, or at once when retrying
cannot help, a delivery is parked in the dead-letter stream with its reason. Entries a dead
instance held are taken over with XAUTOCLAIM once idle longer than `visibility`.

Exactly once: the state key is checked before a send, and the record, the acknowledgement and
the reach count are one script after it. A simulator push is written by that same script, so
it is exactly once; an HTTP send that succeeded just before its instance died, in the moment
before the record, is sent again by whoever takes the entry over (at least once, in that window).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from bot.models import Delivery, Group
from bot.outbox.health import broken
from bot.outbox.queue import STREAMS, Entry, Finish, Outbox, decode
from bot.senders import Broken, Busy, Park, Senders, Transient
from bot.settings import SettingsError
from bot.store import keys, reach
from bot.store.reach import Measure

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    """How hard the senders try; read from OUTBOX_* environment variables."""

    concurrency: int = 32
    max_attempts: int = 5
    retry_base: float = 10.0
    retry_cap: float = 1800.0
    visibility: float = 120.0
    block: float = 1.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OutboxConfig:
        """Read OUTBOX_CONCURRENCY, _MAX_ATTEMPTS, _RETRY_BASE, _RETRY_CAP, _VISIBILITY."""
        d = cls()
        return cls(
            concurrency=int(_number(env, "OUTBOX_CONCURRENCY", d.concurrency, 1, 1000)),
            max_attempts=int(_number(env, "OUTBOX_MAX_ATTEMPTS", d.max_attempts, 1, 100)),
            retry_base=_number(env, "OUTBOX_RETRY_BASE", d.retry_base, 0.01, 3600),
            retry_cap=_number(env, "OUTBOX_RETRY_CAP", d.retry_cap, 0.01, 86400),
            visibility=_number(env, "OUTBOX_VISIBILITY", d.visibility, 0.1, 86400),
        )


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(name, raw, "must be a number") from None
    if not low <= value <= high:
        raise SettingsError(name, raw, f"must be between {low:g} and {high:g}")
    return value


@dataclass
class _Lane:
    """Turn-taking of one paced target within this instance."""

    busy: bool = False
    next_at: float = 0.0


def consumer_name() -> str:
    """Return a consumer name unique to this process: host, pid and a random part."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass
class Worker:
    """One instance's sender: reads, sends, records, retries, parks."""

    redis: Redis
    senders: Senders
    config: OutboxConfig = field(default_factory=OutboxConfig)
    name: str = field(default_factory=consumer_name)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _lanes: dict[str, _Lane] = field(default_factory=dict)

    @property
    def outbox(self) -> Outbox:
        """Return the queue this worker serves."""
        return Outbox(self.redis)

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set, then let in-flight sends finish (or hand them back)."""
        log.info("outbox worker %s started", self.name)
        claim_at = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                if loop.time() >= claim_at:
                    await self._ensure_group()
                    self._start(await self._autoclaim())
                    claim_at = loop.time() + max(0.05, self.config.visibility / 4)
                wait = await self.outbox.promote()
                self._start(await self._read(wait))
            except RedisError as error:
                log.warning("outbox worker %s: Redis failed: %s", self.name, type(error).__name__)
                claim_at = 0.0
                await _sleep_or_stop(stop, 1.0)
        await self._drain()

    def _start(self, entries: list[Entry]) -> None:
        for entry in entries:
            task = asyncio.create_task(self._handle(entry))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _read(self, wait: float | None) -> list[Entry]:
        """Read new entries, urgent first; block until one arrives or a delayed one is due."""
        free = self.config.concurrency - len(self._tasks)
        if free <= 0:
            await asyncio.wait(set(self._tasks), timeout=self.config.block,
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            return []
        answer: Any = await self.redis.xreadgroup(
            keys.OUTBOX_GROUP, self.name, {keys.OUTBOX_URGENT: ">"}, count=free
        )
        if not answer:  # nothing urgent: wait on both streams
            block = self.config.block if wait is None else min(self.config.block, wait)
            answer = await self.redis.xreadgroup(
                keys.OUTBOX_GROUP, self.name, {stream: ">" for stream in STREAMS},
                count=free, block=max(1, int(block * 1000)),
            )  # fmt: skip
        by_stream = {str(stream): entries for stream, entries in answer or []}
        return [
            Entry.parse(stream, str(entry_id), fields)
            for stream in STREAMS  # urgent first
            for entry_id, fields in by_stream.get(stream, [])
        ]

    async def _autoclaim(self) -> list[Entry]:
        """Take over entries another consumer has held longer than the visibility timeout."""
        idle = int(self.config.visibility * 1000)
        claimed: list[Entry] = []
        for stream in STREAMS:
            start = "0-0"
            while len(claimed) < self.config.concurrency:
                answer: Any = await self.redis.xautoclaim(
                    stream, keys.OUTBOX_GROUP, self.name, idle, start, count=100
                )
                start, entries = str(answer[0]), answer[1]
                claimed += [Entry.parse(stream, str(i), f) for i, f in entries if f]
                if start == "0-0":
                    break
        if claimed:
            log.info("outbox worker %s took over %d idle deliveries", self.name, len(claimed))
        return claimed

    async def _ensure_group(self) -> None:
        for stream in STREAMS:
            try:
                await self.redis.xgroup_create(stream, keys.OUTBOX_GROUP, id="0", mkstream=True)
            except ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise

    async def _drain(self) -> None:
        """Give in-flight sends a moment; unfinished ones stay pending for XAUTOCLAIM."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5.0)
        for task in set(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            pending = await self.redis.xpending_range(
                keys.OUTBOX_NORMAL, keys.OUTBOX_GROUP, "-", "+", 1, consumername=self.name
            )
            if not pending:
                for stream in STREAMS:
                    await self.redis.xgroup_delconsumer(stream, keys.OUTBOX_GROUP, self.name)
        except RedisError as error:
            log.warning("outbox worker %s: could not leave the group: %s", self.name, error)
        log.info("outbox worker %s stopped", self.name)

    async def _handle(self, entry: Entry) -> None:
        """Send one entry and record how it ended; never raises."""
        try:
            await self._process(entry)
        except RedisError as error:  # the entry stays pending and is taken over later
            log.warning("outbox entry %s: Redis failed: %s", entry.entry_id, type(error).__name__)
        except Exception:
            log.exception("outbox entry %s: unexpected failure", entry.entry_id)
            await self._retry(entry, "发送时出现内部错误", 0)

    async def _process(self, entry: Entry) -> None:
        try:
            delivery = decode(entry.raw)
        except (ValueError, TypeError):
            log.error("outbox entry %s is not a delivery; parked", entry.entry_id)
            await self.outbox.finish(entry, Finish("parked", "", reason="无法识别的推送记录"))
            return
        if await self.outbox.state(delivery.key) in ("sent", "parked"):
            await self.outbox.finish(entry, Finish("sent", delivery.group_id))
            return
        group = await self.senders.registry.get(delivery.group_id)
        if group is None:
            await self._park(entry, delivery, None, "这个群已从群登记中删除。")
            return
        pace = self.senders.pace(group)
        lane = self._lanes.setdefault(group.id, _Lane()) if pace else None
        if lane is not None and lane.busy:
            await self._pace(entry, lane, pace)
            return
        if lane is not None:
            lane.busy = True
        try:
            await self._send(entry, delivery, group, lane, pace)
        finally:
            if lane is not None:
                lane.busy = False

    async def _send(
        self, entry: Entry, delivery: Delivery, group: Group, lane: _Lane | None, pace: float
    ) -> None:
        try:
            sent = await self.senders.send(delivery, group, entry.skip)
        except Broken as refused:
            log.warning("group %s: push target broken: %s", group.id, refused.reason)
            await self._park(entry, delivery, group, refused.reason, health=broken(refused.reason))
        except Park as parked:
            await self._park(entry, delivery, group, parked.reason)
        except Busy as busy:
            if lane is not None:
                lane.next_at = max(lane.next_at, asyncio.get_running_loop().time() + busy.after)
            await self.outbox.defer(entry, busy.after + random.uniform(0, pace), failed=False)
        except Transient as failure:
            await self._retry(entry, f"发送失败（{failure}）", failure.skip)
        else:
            measure = Measure.PUSHES_SENT.value if sent.counted else ""
            counters = _reach(self.senders, group) if sent.counted else ()
            finish = Finish("sent", group.id, measure, counters, feed=sent.feed)
            if not await self.outbox.finish(entry, finish):
                log.warning("delivery %s was recorded by another sender first", delivery.key)

    async def _pace(self, entry: Entry, lane: _Lane, pace: float) -> None:
        """Put `entry` back until its turn on a paced target that is busy in this instance."""
        now = asyncio.get_running_loop().time()
        lane.next_at = max(lane.next_at, now) + pace
        await self.outbox.defer(entry, lane.next_at - now, failed=False)

    async def _retry(self, entry: Entry, reason: str, skip: int) -> None:
        """Try again after an exponential backoff, or park after the last attempt."""
        attempts = entry.attempts + 1
        if attempts >= self.config.max_attempts:
            try:
                delivery = decode(entry.raw)
            except (ValueError, TypeError):
                return
            group = await self.senders.registry.get(delivery.group_id)
            parked = f"连续 {attempts} 次发送失败，已停止重试。最后一次：{reason}"
            await self._park(replace(entry, attempts=attempts), delivery, group, parked)
            return
        ceiling = min(self.config.retry_cap, self.config.retry_base * 2.0 ** (attempts - 1))
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)
        log.info("outbox entry %s: %s; retry %d in %.1fs", entry.entry_id, reason, attempts, delay)
        await self.outbox.defer(entry, delay, failed=True, skip=skip)

    async def _park(
        self, entry: Entry, delivery: Delivery, group: Group | None, reason: str, health: str = ""
    ) -> None:
        """Move the delivery to the dead letters with `reason`, counted as a failed push."""
        log.warning("delivery %s to %s parked: %s", delivery.key, delivery.group_id, reason)
        counters = _reach(self.senders, group) if group else ()
        finish = Finish(
            "parked", delivery.group_id, Measure.PUSHES_FAILED.value, counters,
            reason=reason, health=health,
        )  # fmt: skip
        await self.outbox.finish(entry, finish)


def _reach(senders: Senders, group: Group) -> tuple[str, ...]:
    """Return today's reach counter hashes for `group` (every dimension it counts under)."""
    day = senders.today()
    return tuple(keys.counts(day, dim, value) for dim, value in reach.group_dimensions(group))


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
