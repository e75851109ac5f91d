"""What a batch of entries needs before its sends, read and claimed in two round trips.

The first reads each delivery's state, group and robot key. The second, for each robot send
that can go at once (nothing recorded, nothing in flight, no other send of its group waiting
here), takes the robot's slot and marks its first part in flight: the round trip each send
would otherwise make alone right before its post.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Collection

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.channels.wecom_robot import limiter_target
from bot.models import PushTarget
from bot.push.outbox.queue import FINAL, Entry, decode, parts_done, queue_mark
from bot.push.outbox.sending import Claim, Job
from bot.push.senders import Senders
from bot.store import keys
from bot.store.groups import GroupRegistry
from bot.store.groups import decode as decode_group
from bot.store.lua import Pipelined


async def read_jobs(redis: Redis, entries: list[Entry]) -> tuple[list[Job], list[Entry]]:
    """Return a job per entry holding a delivery, with its state, group and robot key, and
    the entries that hold none."""
    jobs: list[Job] = []
    foreign: list[Entry] = []
    async with redis.pipeline(transaction=False) as pipe:
        for entry in entries:
            try:
                delivery = decode(entry.raw)
            except (ValueError, TypeError):
                foreign.append(entry)
                continue
            jobs.append(Job(entry, delivery, None, None, None))
            pipe.get(keys.delivery_state(delivery.group_id, delivery.key))
            GroupRegistry.queue_target(pipe, delivery.group_id)
        answers = await pipe.execute() if jobs else []
    for index, job in enumerate(jobs):
        job.state, raw_group, job.robot_key = answers[index * 3 : index * 3 + 3]
        job.group = decode_group(raw_group)
    return jobs, foreign


async def claim_first_parts(
    pipelined: Pipelined, senders: Senders, jobs: list[Job], busy: Collection[str]
) -> None:
    """Render and claim, in one round trip, the robot sends of `jobs` that can go at once
    (`busy`: groups with sends waiting in this instance)."""
    ready: list[Job] = []
    seen = set(busy)
    for job in jobs:
        group = job.group
        if group is None or group.target is not PushTarget.ROBOT or group.id in seen:
            continue
        if job.state in FINAL or (job.state or "").startswith("sending") or not job.robot_key:
            continue
        seen.add(group.id)
        ready.append(job)
    prepared = await asyncio.gather(
        *(senders.prepare(job.delivery, job.group, job.robot_key) for job in ready if job.group),
        return_exceptions=True,
    )
    claims = [(job, done) for job, done in zip(ready, prepared, strict=True)
              if not isinstance(done, BaseException)]  # fmt: skip
    if not claims:
        return
    config = senders.robot.config
    tokens = [secrets.token_hex(8) for _ in claims]

    def build(pipe: Pipeline) -> None:
        for (job, done), token in zip(claims, tokens, strict=True):
            senders.robot.limiter.queue_acquire(
                pipe, limiter_target(done.robot_key), config.rate_limit, config.rate_period,
                config.timeout + 1.0, token,
            )  # fmt: skip
            part = max(job.entry.skip, parts_done(job.state))
            queue_mark(pipe, job.delivery, f"sending:{part}")

    answers = await pipelined.run(build)
    for index, ((job, done), token) in enumerate(zip(claims, tokens, strict=True)):
        wait, marked = answers[index * 2 : index * 2 + 2]
        job.prepared, job.claim = done, Claim(token, int(wait), int(marked))
