"""Groups whose push target is broken (an invalid robot key): flagged by the senders."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

from bot.store import keys


@dataclass(frozen=True, slots=True)
class Health:
    """Why pushes to a group stopped: `reason` in Chinese, `at` in epoch seconds."""

    state: str
    reason: str
    at: float


def broken(reason: str) -> str:
    """Return the stored JSON that flags a group as broken for `reason`."""
    return json.dumps(asdict(Health("broken", reason, time.time())), ensure_ascii=False)


async def group_health(redis: Redis) -> dict[str, Health]:
    """Return every flagged group id with its health (a successful push clears the flag);
    each shard keeps the flags of its groups."""
    async with redis.pipeline(transaction=False) as pipe:
        for shard in range(keys.OUTBOX_SHARDS):
            pipe.hgetall(keys.group_health(shard))
        per_shard = await pipe.execute()
    return {
        str(group_id): Health(**json.loads(raw))
        for stored in per_shard
        for group_id, raw in stored.items()
    }


async def clear(redis: Redis, group_id: str) -> bool:
    """Drop a group's flag (after an officer set a new robot key); True when it was flagged."""
    return bool(await redis.hdel(keys.group_health(keys.outbox_shard(group_id)), group_id))
