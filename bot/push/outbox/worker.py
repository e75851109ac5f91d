"""Sender workers: every instance reads every outbox shard as one consumer of the group.

Entries are read in batches; one round trip per batch reads each delivery's state, group and
robot key, then each entry runs as its own task, so a slow or rate-limited target never holds
up the others. Sends to a paced target (a WeCom robot, the smart bot) take turns in a lane
within this instance, in arrival order, under the shared limiter; a lane holds entries only for
half the visibility timeout, and a longer backlog waits in the delayed set instead. Retries
back off exponentially; after `max_attempts` failures, or at once when retrying cannot help, a
delivery is parked in the dead-letter stream with its reason. Entries a dead instance held are
taken over with XAUTOCLAIM once idle longer than `visibility`; what it had in flight is
resent or held (bot.push.outbox.sending).
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
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from bot.models import PushTarget
from bot.push.outbox.batch import read_jobs
from bot.push.outbox.config import OutboxConfig
from bot.push.outbox.consumer import Consumer, consumer_name
from bot.push.outbox.health import broken
from bot.push.outbox.lua import SCRIPTS
from bot.push.outbox.queue import (
    FINAL,
    SHARDS,
    Entry,
    Finish,
    decode,
    parts_done,
    queue_defer,
    queue_discard,
    queue_promote,
)
from bot.push.outbox.sending import Job, Sending
from bot.push.senders import Broken, Busy, Park, Senders, Transient
from bot.store.lua import Loadable, Pipelined
from bot.store.reach import COUNT_PUSH, Measure

log = logging.getLogger(__name__)
PROMOTE_BATCH = 1000


@dataclass
class _Lane:
    """Sends to one paced target: one at a time in this instance, in arrival order."""

    waiting: deque[tuple[Job, float]] = field(default_factory=deque)
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
    _laned: set[tuple[str, str]] = field(default_factory=set)  # entries waiting in a lane
    _promote_at: float = 0.0  # when the delayed sets next need a look

    def __post_init__(self) -> None:
        scripts: list[Loadable] = [*SCRIPTS, COUNT_PUSH, *self.senders.robot.limiter.scripts]
        self.pipelined = Pipelined(self.redis, scripts)
        self.consumer = Consumer(self.redis, self.name, self.config.visibility)
        self.sending = Sending(self.senders, self.config, self.pipelined)

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set, then let in-flight sends finish (or hand them back)."""
        log.info("outbox worker %s started", self.name)
        claim_at = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                await self.consumer.ensure_groups()  # a look until every stream exists
                if loop.time() >= claim_at:
                    await self.consumer.heartbeat()
                    await self._start(await self.consumer.take_over(self.config.concurrency))
                    claim_at = loop.time() + max(0.05, self.config.visibility / 4)
                if loop.time() >= self._promote_at:
                    await self._promote()
                # Never wait past the next heartbeat: a late one lets another instance take
                # over (and send) what this one still holds.
                await self._read(max(0.0, min(self._promote_at, claim_at) - loop.time()))
            except RedisError as error:
                log.warning("outbox worker %s: Redis failed: %s", self.name, type(error).__name__)
                self.consumer.reset()
                claim_at = 0.0
                await _sleep_or_stop(stop, 1.0)
        await self._drain()

    async def _promote(self) -> None:
        """Move due deliveries of every shard back to their streams; note when to look again."""
        def build(pipe: Pipeline) -> None:
            for shard in SHARDS:
                queue_promote(pipe, shard, PROMOTE_BATCH)

        waits = await self.pipelined.run(build)
        due = [int(wait) for wait in waits if int(wait) >= 0]
        wait = min([self.config.block, *(ms / 1000 for ms in due)])
        self._promote_at = asyncio.get_running_loop().time() + wait

    async def _read(self, wait: float) -> None:
        """Read and start new entries; when there are none, wait up to `wait` seconds for an
        enqueue; when busy, read in batches of at least a quarter of the concurrency."""
        free = self.config.concurrency - len(self._tasks)
        if self._tasks and free < max(1, self.config.concurrency // 4):
            await asyncio.wait(set(self._tasks), timeout=max(0.001, wait),
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            return
        entries = await self.consumer.read(free)
        if entries:
            await self._start(entries)
        else:  # idle (or nothing ever queued): the next enqueue rings the bell
            await self.consumer.wait(wait)

    async def _start(self, entries: list[Entry]) -> None:
        """Read every entry's state, group and robot key in one round trip; start each."""
        if not entries:
            return
        jobs, foreign = await read_jobs(self.redis, entries)
        for job in jobs:
            self._spawn(self._handle(job), job.entry)
        for entry in foreign:
            log.error("outbox entry %s is not a delivery; parked", entry.entry_id)
            self._spawn(self._discard(entry), entry)

    async def _discard(self, entry: Entry) -> None:
        await self.pipelined.run(lambda pipe: queue_discard(pipe, entry, "无法识别的推送记录"))

    def _spawn(self, work: Awaitable[object], entry: Entry) -> None:
        task = asyncio.create_task(self._guarded(entry, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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

    async def _guarded(self, entry: Entry, work: Awaitable[object]) -> None:
        """Await `work` for `entry`; a failure leaves it pending or schedules a retry."""
        try:
            await work
        except RedisError as error:  # the entry stays pending and is taken over later
            log.warning("outbox entry %s: Redis failed: %s", entry.entry_id, type(error).__name__)
        except Exception:
            log.exception("outbox entry %s: unexpected failure", entry.entry_id)
            try:
                await self._retry(entry, "发送时出现内部错误", entry.skip)
            except RedisError as error:  # still pending: taken over after the timeout
                log.warning("outbox entry %s: no retry scheduled: %s", entry.entry_id, error)
        finally:
            if entry.ident not in self._laned:
                self.consumer.release(entry)

    async def _handle(self, job: Job) -> None:
        """Send one job: skip a recorded one, park what cannot go, resend or hold what was
        in flight at a crash, queue paced targets in their lane."""
        if job.state in FINAL:  # recorded already: only acknowledge the entry
            await self.sending.record(job, Finish("sent", job.delivery.group_id), counted=False)
            return
        if job.group is None:
            await self._park(job, "这个群已从群登记中删除。")
            return
        skip = max(job.entry.skip, parts_done(job.state))
        in_flight = (job.state or "").startswith("sending") and job.group.target in _POSTED
        if in_flight and (held := self.sending.uncertain(job, skip)) is not None:
            await self.sending.record(job, held)
            return
        job.entry = replace(job.entry, skip=skip)
        if pace := self.senders.pace(job.group):
            await self._queue(job, pace)
        else:
            await self._send(job)

    async def _queue(self, job: Job, pace: float) -> None:
        """Send through the group's lane; a backlog too long to hold waits in Redis instead."""
        assert job.group is not None
        lane = self._lanes.setdefault(job.group.id, _Lane())
        backlog = len(lane.waiting) + lane.running
        loop = asyncio.get_running_loop()
        now, entry = loop.time(), job.entry
        if backlog * pace > self._hold_limit and not entry.urgent:
            lane.overflow_at = max(lane.overflow_at, now + backlog * pace) + pace
            await self._defer(job, lane.overflow_at - now, failed=False)
            return
        # Urgent entries go ahead of every normal one waiting, behind earlier urgent ones.
        normal = (i for i, (waiting, _) in enumerate(lane.waiting) if not waiting.entry.urgent)
        place = next(normal, len(lane.waiting)) if entry.urgent else len(lane.waiting)
        lane.waiting.insert(place, (job, now))
        self._laned.add(entry.ident)
        if lane.running:
            return
        lane.running = True
        try:
            while lane.waiting:
                held, since = lane.waiting.popleft()
                if loop.time() - since > self._hold_limit:  # behind (a shared robot): to Redis
                    work: Awaitable[object] = self._defer(held, pace, failed=False)
                else:
                    work = self._send(held, in_lane=True)
                try:
                    await self._guarded(held.entry, work)
                finally:
                    self._laned.discard(held.entry.ident)
                    self.consumer.release(held.entry)
        finally:
            lane.running = False
            if not lane.waiting and lane.overflow_at <= loop.time():
                self._lanes.pop(job.group.id, None)

    @property
    def _hold_limit(self) -> float:
        """Return how long an entry may wait in this instance before going back to Redis."""
        return self.config.visibility / 2

    async def _send(self, job: Job, *, in_lane: bool = False) -> None:
        """Render the delivery, send it, and record how it ended."""
        assert job.group is not None
        group, skip = job.group, job.entry.skip
        try:
            prepared = await self.senders.prepare(job.delivery, group, job.robot_key)
            if group.target is PushTarget.ROBOT:
                lane_wait = self._hold_limit / 2 if in_lane else 0.0
                await self.sending.robot(job, prepared, skip, lane_wait)
            elif group.target is PushTarget.WECOM_BOT:
                await self.sending.smart_bot(job, prepared, skip)
            else:
                if group.target is PushTarget.FORWARD:
                    await self.senders.forward(job.delivery, group)
                finish = Finish("sent", group.id, feed=prepared.feed)
                await self.sending.record(job, finish, counted=prepared.counted)
        except Busy as busy:
            await self._defer(job, busy.after, failed=False, skip=max(skip, busy.skip))
        except Broken as refused:
            log.warning("group %s: push target broken: %s", group.id, refused.reason)
            await self._park(job, refused.reason, health=broken(refused.reason))
        except Park as parked:
            await self._park(job, parked.reason)
        except Transient as failure:
            await self._retry(job.entry, str(failure), max(skip, failure.skip))

    async def _defer(self, job: Job, delay: float, *, failed: bool, skip: int = 0) -> None:
        """Put the job's entry in the delayed set, and look there again when it is due."""
        entry = job.entry
        attempts = entry.attempts + (1 if failed else 0)
        skip = max(skip, entry.skip)
        await self.pipelined.run(
            lambda pipe: queue_defer(pipe, entry, job.delivery, delay, attempts, skip)
        )
        due = asyncio.get_running_loop().time() + delay
        self._promote_at = min(self._promote_at, due)

    async def _retry(self, entry: Entry, reason: str, skip: int) -> None:
        """Try again after an exponential backoff, or park after the last attempt."""
        try:
            delivery = decode(entry.raw)
        except (ValueError, TypeError):
            return
        group = await self.senders.registry.get(delivery.group_id)
        job = Job(replace(entry, skip=skip), delivery, None, group, None)
        attempts = entry.attempts + 1
        if attempts >= self.config.max_attempts:
            job.entry = replace(job.entry, attempts=attempts)
            await self._park(job, f"连续 {attempts} 次发送失败，已停止重试。最后一次：{reason}")
            return
        ceiling = min(self.config.retry_cap, self.config.retry_base * 2.0 ** (attempts - 1))
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)
        log.info("outbox entry %s: %s; retry %d in %.1fs", entry.entry_id, reason, attempts, delay)
        await self._defer(job, delay, failed=True, skip=skip)

    async def _park(self, job: Job, reason: str, health: str = "") -> None:
        """Move the delivery to the dead letters with `reason`, counted as a failed push."""
        delivery = job.delivery
        log.warning("delivery %s to %s parked: %s", delivery.key, delivery.group_id, reason)
        finish = Finish("parked", delivery.group_id, reason=reason, health=health)
        await self.sending.record(job, finish, measure=Measure.PUSHES_FAILED)


# Targets whose send goes to an outside platform that may have posted it when a sender died.
_POSTED = (PushTarget.ROBOT, PushTarget.WECOM_BOT)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
