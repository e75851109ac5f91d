"""What a batch of entries needs before its sends, read in one round trip: each delivery's
state, group and robot key.

Claiming the robots' slots with the batch too was tried and dropped: it saved one round trip
per send but set a batch's sends off in one wave, and a kill during the wave's answers caught
all of them unrecorded (bench/crash, instant fake: 15.5 doubles a kill instead of 8.75).
"""

from __future__ import annotations

from redis.asyncio import Redis

from bot.push.outbox.queue import Entry, decode
from bot.push.outbox.sending import Job
from bot.store import keys
from bot.store.groups import GroupRegistry
from bot.store.groups import decode as decode_group


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
