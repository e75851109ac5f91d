"""Send one delivery and record how it ended, with nothing but the post between the mark that a
part is in flight and its record.

For a part posted to WeCom: one round trip takes the robot's slot and marks the delivery
"sending:<part>"; then the post, rendered beforehand; then ONE round trip dates the slot,
counts the reach (idempotently) and records the delivery, or marks the next part. A delivery
found "sending" was in flight when its sender died: WeCom may or may not have posted it. The
policy (OUTBOX_UNCERTAIN) decides: resend it (at least once) or hold it for an officer.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass

from redis.asyncio.client import Pipeline

from bot.articles import receipts
from bot.channels.wecom_robot import RetryLater, limiter_target
from bot.models import Delivery, Group
from bot.push.outbox.config import OutboxConfig
from bot.push.outbox.queue import Entry, Finish, queue_finish, queue_mark
from bot.push.senders import Busy, Prepared, Senders, Transient
from bot.store import reach
from bot.store.lua import Pipelined
from bot.store.reach import Measure

log = logging.getLogger(__name__)

UNCERTAIN_REASON = (
    "发送途中实例意外退出，无法确定企业微信是否已把第 {part} 条消息发到群里。"
    "请到群里核实：没有收到再重新发送。"
)


@dataclass(slots=True)
class Job:
    """One entry to send, with what was read about it in the batch's round trip."""

    entry: Entry
    delivery: Delivery
    state: str | None
    group: Group | None
    robot_key: str | None


@dataclass
class Sending:
    """The sends of one worker: posts, marks, records."""

    senders: Senders
    config: OutboxConfig
    pipelined: Pipelined

    async def record(self, job: Job, finish: Finish, *, token: str = "", counted: bool = True,
                     measure: Measure = Measure.PUSHES_SENT) -> bool:  # fmt: skip
        """Record `job` as `finish` says, with its reach and the slot's date, in one round
        trip; return False when it had been recorded before."""
        delivery, group = job.delivery, job.group
        place = 0

        def build(pipe: Pipeline) -> None:
            nonlocal place
            start = len(pipe)  # the pipe may carry other sends' calls before these
            if token:
                self._queue_done(pipe, job, token)
            # The count goes before the record: if only the first of them reaches Redis, the
            # delivery is still unrecorded and its count, made again, stays one.
            if counted and group is not None and finish.outcome != "held":
                day = self.senders.today()
                reach.count_push(pipe, day, group, measure, delivery.key, delivery.campaign or "")
            place = len(pipe) - start
            queue_finish(pipe, job.entry, delivery, finish)
            if finish.outcome == "sent" and delivery.item_id and group is not None:
                receipts.queue_note_push(pipe, group.id, delivery.item_id)

        answers = await self.pipelined.run(build)
        return bool(answers[place])

    def uncertain(self, job: Job, part: int) -> Finish | None:
        """Return the hold of a delivery found in flight, or None when it is to be resent."""
        if self.config.uncertain == "resend":
            log.warning("delivery %s to %s was in flight when its sender died; sending part %d "
                        "again (OUTBOX_UNCERTAIN=resend)", job.delivery.key,
                        job.delivery.group_id, part + 1)  # fmt: skip
            return None
        log.warning("delivery %s to %s was in flight when its sender died; held "
                    "(OUTBOX_UNCERTAIN=hold)", job.delivery.key,
                    job.delivery.group_id)  # fmt: skip
        reason = UNCERTAIN_REASON.format(part=part + 1)
        return Finish("held", job.delivery.group_id, reason=reason, parts=part)

    async def robot(self, job: Job, prepared: Prepared, skip: int, lane_wait: float) -> None:
        """Post each part from `skip` on, holding the robot's slot for each; a slot further
        away than `lane_wait` raises Busy (the caller defers the entry)."""
        config = self.senders.robot.config
        part, attempt = skip, 1
        while part < prepared.parts:
            token = secrets.token_hex(8)
            wait, marked = await self._claim(job, prepared, part, token)
            if not marked:  # recorded meanwhile by another sender: only acknowledge the entry
                finish = Finish("sent", job.delivery.group_id)
                await self.record(job, finish, token=token, counted=False)
                return
            if wait:
                await self._mark(job, f"queued:{part}")
                if wait / 1e6 > lane_wait:
                    raise Busy(wait / 1e6, skip=part)
                await asyncio.sleep(wait / 1e6)  # the slot frees at a time Redis computed
                continue
            try:
                await self.senders.post_robot(prepared, part, attempt)
            except RetryLater as later:
                await self._mark(job, f"queued:{part}", token)
                detail = str(later).split(": ", 1)[-1]  # "retry in 1.0s: HTTP 502" -> "HTTP 502"
                if attempt >= config.attempts or later.after > config.backoff_cap:
                    raise Transient(f"企业微信暂时没有正常响应（{detail}）", skip=part) from None
                await asyncio.sleep(later.after)
                attempt += 1
                continue
            except Exception:
                await self._mark(job, f"queued:{part}", token)
                raise
            part, attempt = part + 1, 1
            if part == prepared.parts:
                await self.record(job, Finish("sent", job.delivery.group_id), token=token)
                return
            await self._mark(job, f"queued:{part}", token)

    async def _claim(self, job: Job, prepared: Prepared, part: int, token: str) -> list[int]:
        """Take a slot of the robot and mark `part` in flight, in one round trip; return the
        microseconds to wait for a slot (0: taken) and whether the mark was set."""
        robot = self.senders.robot
        config, target = robot.config, limiter_target(prepared.robot_key)

        def build(pipe: Pipeline) -> None:
            robot.limiter.queue_acquire(pipe, target, config.rate_limit, config.rate_period,
                                        config.timeout + 1.0, token)  # fmt: skip
            queue_mark(pipe, job.delivery, f"sending:{part}")

        return [int(answer) for answer in await self.pipelined.run(build)]

    async def smart_bot(self, job: Job, prepared: Prepared, skip: int) -> None:
        """Send each part from `skip` on through the smart bot, marking it in flight first."""
        assert job.group is not None
        for part in range(skip, prepared.parts):
            await self._mark(job, f"sending:{part}")
            try:
                await self.senders.smart_bot_part(job.group, prepared, job.delivery, part)
            except Exception:
                await self._mark(job, f"queued:{part}")
                raise
            if part + 1 < prepared.parts:
                await self._mark(job, f"queued:{part + 1}")
        await self.record(job, Finish("sent", job.delivery.group_id))

    async def _mark(self, job: Job, state: str, token: str = "") -> None:
        """Set the delivery's state (and date the slot `token` held) in one round trip."""

        def build(pipe: Pipeline) -> None:
            if token:
                self._queue_done(pipe, job, token)
            queue_mark(pipe, job.delivery, state)

        await self.pipelined.run(build)

    def _queue_done(self, pipe: Pipeline, job: Job, token: str) -> None:
        robot = self.senders.robot
        target = limiter_target(job.robot_key or "")
        robot.limiter.queue_done(pipe, target, token, robot.config.rate_period)
