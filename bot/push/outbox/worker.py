"""Sender workers: every instance reads the outbox streams as one consumer of the group.

Each entry runs as its own task, so a slow or rate-limited target never holds up the others.
Sends to a paced target (a WeCom robot, the smart bot) take turns in a lane within this
instance, in arrival order, under the shared limiter; a lane holds entries only for half the
visibility timeout, and a longer backlog waits in the delayed set instead. Retries back off
exponentially; after `max_attempts` failures, or at once when retrying cannot help, a delivery
is parked in the dead-letter stream with its reason. Entries a dead
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
import random
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.models import Delivery, Group
from bot.push.outbox.config import OutboxConfig
from bot.push.outbox.consumer import Consumer, consumer_name
from bot.push.outbox.health import broken
from bot.push.outbox.queue import Entry, Finish, Outbox, decode
from bot.push.senders import Broken, Busy, Park, Senders, Sent, Transient
from bot.store import keys, reach
from bot.store.groups import GroupRegistry
from bot.store.groups import decode as decode_group
from bot.store.reach import Measure

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Target:
    """Where a delivery goes: its group, and the robot key read with it (None when unset)."""

    group: Group
    robot_key: str | None


@dataclass
class _Lane:
    """Sends to one paced target: one at a time in this instance, in arrival order."""

    waiting: deque[tuple[Entry, Delivery, _Target, float]] = field(default_factory=deque)
    running: bool = False
    # When the last entry sent back to Redis for lack of room is due: the next goes one pace
    # later, so a long backlog returns at the target's pace instead of all at once.
    overflow_at: float = 0.0


@dataclass
class Worker:
    """One instance's sender: reads, sends, records, retries, parks."""

    redis: Redis
    senders: Senders
    config: OutboxConfig = field(default_factory=OutboxConfig)
    name: str = field(default_factory=consumer_name)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _lanes: dict[str, _Lane] = field(default_factory=dict)
    _laned: set[str] = field(default_factory=set)  # entry ids waiting in a lane
    _promote_at: float = 0.0  # when the delayed set next needs a look

    def __post_init__(self) -> None:
        self.outbox = Outbox(self.redis)
        self.consumer = Consumer(self.redis, self.name, self.config.visibility)

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set, then let in-flight sends finish (or hand them back)."""
        log.info("outbox worker %s started", self.name)
        claim_at = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                await self.consumer.ensure_group()  # one EXISTS a loop until both streams exist
                if loop.time() >= claim_at:
                    await self.consumer.heartbeat()
                    self._start(await self.consumer.take_over(self.config.concurrency))
                    claim_at = loop.time() + max(0.05, self.config.visibility / 4)
                if loop.time() >= self._promote_at:
                    due = await self.outbox.promote()
                    wait = self.config.block if due is None else min(due, self.config.block)
                    self._promote_at = loop.time() + wait
                self._start(await self._read(max(0.0, self._promote_at - loop.time())))
            except RedisError as error:
                log.warning("outbox worker %s: Redis failed: %s", self.name, type(error).__name__)
                self.consumer.reset()
                claim_at = 0.0
                await _sleep_or_stop(stop, 1.0)
        await self._drain()

    def _start(self, entries: list[Entry]) -> None:
        for entry in entries:
            task = asyncio.create_task(self._handle(entry))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _read(self, wait: float) -> list[Entry]:
        """Read new entries, blocking up to `wait` seconds for one; when busy, read in
        batches of at least a quarter of the concurrency instead of one by one."""
        free = self.config.concurrency - len(self._tasks)
        if self._tasks and free < max(1, self.config.concurrency // 4):
            await asyncio.wait(set(self._tasks), timeout=self.config.block,
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            return []
        return await self.consumer.read(free, wait)

    async def _defer(self, entry: Entry, delay: float, *, failed: bool, skip: int = 0) -> None:
        """Put `entry` in the delayed set, and look there again when it is due."""
        await self.outbox.defer(entry, delay, failed=failed, skip=skip)
        due = asyncio.get_running_loop().time() + delay
        self._promote_at = min(self._promote_at, due)

    async def _drain(self) -> None:
        """Give in-flight sends a moment; unfinished ones stay pending for a takeover."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5.0)
        for task in set(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await self.consumer.leave()
        except RedisError as error:
            log.warning("outbox worker %s: could not leave the group: %s", self.name, error)
        log.info("outbox worker %s stopped", self.name)

    async def _handle(self, entry: Entry) -> None:
        """Send one entry and record how it ended; never raises."""
        try:
            await self._guarded(entry, self._process(entry))
        finally:
            if entry.entry_id not in self._laned:
                self.consumer.release(entry)

    async def _guarded(self, entry: Entry, work: Awaitable[object]) -> None:
        """Await `work` for `entry`; a failure leaves it pending or schedules a retry."""
        try:
            await work
        except RedisError as error:  # the entry stays pending and is taken over later
            log.warning("outbox entry %s: Redis failed: %s", entry.entry_id, type(error).__name__)
        except Exception:
            log.exception("outbox entry %s: unexpected failure", entry.entry_id)
            try:
                await self._retry(entry, "发送时出现内部错误", 0)
            except RedisError as error:  # still pending: taken over after the timeout
                log.warning("outbox entry %s: no retry scheduled: %s", entry.entry_id, error)

    async def _process(self, entry: Entry) -> None:
        try:
            delivery = decode(entry.raw)
        except (ValueError, TypeError):
            log.error("outbox entry %s is not a delivery; parked", entry.entry_id)
            await self.outbox.finish(entry, Finish("parked", "", reason="无法识别的推送记录"))
            return
        async with self.senders.redis.pipeline(transaction=False) as pipe:
            pipe.get(keys.delivery_state(delivery.key))
            GroupRegistry.queue_target(pipe, delivery.group_id)
            state, raw_group, robot_key = await pipe.execute()
        if state in ("sent", "parked"):
            await self.outbox.finish(entry, Finish("sent", delivery.group_id))
            return
        group = decode_group(raw_group)
        if group is None:
            await self._park(entry, delivery, None, "这个群已从群登记中删除。")
            return
        target = _Target(group, robot_key)
        if pace := self.senders.pace(group):
            await self._queue(entry, delivery, target, pace)
        else:
            await self._send(entry, delivery, target)

    async def _queue(self, entry: Entry, delivery: Delivery, target: _Target, pace: float) -> None:
        """Send through the group's lane; a backlog too long to hold waits in Redis instead."""
        lane = self._lanes.setdefault(target.group.id, _Lane())
        backlog = len(lane.waiting) + lane.running
        loop = asyncio.get_running_loop()
        now = loop.time()
        urgent = entry.stream == keys.OUTBOX_URGENT
        if backlog * pace > self._hold_limit and not urgent:
            lane.overflow_at = max(lane.overflow_at, now + backlog * pace) + pace
            await self._defer(entry, lane.overflow_at - now, failed=False)
            return
        # Urgent entries go ahead of every normal one waiting, behind earlier urgent ones.
        normal = (i for i, waiting in enumerate(lane.waiting) if waiting[0].stream != entry.stream)
        place = next(normal, len(lane.waiting)) if urgent else len(lane.waiting)
        lane.waiting.insert(place, (entry, delivery, target, now))
        self._laned.add(entry.entry_id)
        if lane.running:
            return
        lane.running = True
        try:
            while lane.waiting:
                held, waiting_delivery, waiting_target, since = lane.waiting.popleft()
                if loop.time() - since > self._hold_limit:  # behind (a shared robot): to Redis
                    work: Awaitable[object] = self._defer(held, pace, failed=False)
                else:
                    work = self._send(held, waiting_delivery, waiting_target, in_lane=True)
                try:
                    await self._guarded(held, work)
                finally:
                    self._laned.discard(held.entry_id)
                    self.consumer.release(held)
        finally:
            lane.running = False
            if not lane.waiting and lane.overflow_at <= loop.time():
                self._lanes.pop(target.group.id, None)

    @property
    def _hold_limit(self) -> float:
        """Return how long an entry may wait in this instance before going back to Redis."""
        return self.config.visibility / 2

    async def _send(
        self, entry: Entry, delivery: Delivery, target: _Target, *, in_lane: bool = False
    ) -> None:
        group, skip = target.group, entry.skip
        while True:
            try:
                sent = await self.senders.send(delivery, group, skip, target.robot_key)
            except Busy as busy:
                skip = max(skip, busy.skip)
                if in_lane and busy.after <= self._hold_limit / 2:
                    await asyncio.sleep(busy.after)  # the slot frees at a time Redis computed
                    continue
                await self._defer(entry, busy.after, failed=False, skip=skip)
                return
            except Broken as refused:
                log.warning("group %s: push target broken: %s", group.id, refused.reason)
                health = broken(refused.reason)
                await self._park(entry, delivery, group, refused.reason, health=health)
            except Park as parked:
                await self._park(entry, delivery, group, parked.reason)
            except Transient as failure:
                await self._retry(entry, str(failure), max(skip, failure.skip))
            else:
                await self._record(entry, delivery, group, sent)
            return

    async def _record(self, entry: Entry, delivery: Delivery, group: Group, sent: Sent) -> None:
        """Record a successful send, with its reach, in the script that acknowledges it."""
        measure = Measure.PUSHES_SENT.value if sent.counted else ""
        counters = _reach(self.senders, group) if sent.counted else ()
        per_campaign = _campaign_field(Measure.PUSHES_SENT, delivery)
        finish = Finish("sent", group.id, measure, counters, feed=sent.feed,
                        campaign_field=per_campaign)  # fmt: skip
        if not await self.outbox.finish(entry, finish):
            log.warning("delivery %s was recorded by another sender first", delivery.key)

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
        await self._defer(entry, delay, failed=True, skip=skip)

    async def _park(
        self, entry: Entry, delivery: Delivery, group: Group | None, reason: str, health: str = ""
    ) -> None:
        """Move the delivery to the dead letters with `reason`, counted as a failed push."""
        log.warning("delivery %s to %s parked: %s", delivery.key, delivery.group_id, reason)
        counters = _reach(self.senders, group) if group else ()
        finish = Finish(
            "parked", delivery.group_id, Measure.PUSHES_FAILED.value, counters,
            reason=reason, health=health,
            campaign_field=_campaign_field(Measure.PUSHES_FAILED, delivery),
        )  # fmt: skip
        await self.outbox.finish(entry, finish)


def _reach(senders: Senders, group: Group) -> tuple[str, ...]:
    """Return today's reach counter hashes for `group` (every dimension it counts under)."""
    day = senders.today()
    return tuple(keys.counts(day, dim, value) for dim, value in reach.group_dimensions(group))


def _campaign_field(measure: Measure, delivery: Delivery) -> str:
    """Return the per-campaign counter field of a push ("" for pushes outside campaigns)."""
    return reach.campaign_field(measure, delivery.campaign) if delivery.campaign else ""


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
