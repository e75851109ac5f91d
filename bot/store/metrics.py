"""Reach metrics: questions by topic per day x group x kind x region, and unmatched questions.

A day's question counters are split into BUCKETS shards by conversation (crc32 % BUCKETS):
each shard has its own hash tag {m:YYYYMMDD:N}, so under Redis Cluster the counting spreads
over slots while one callback's script (dedupe record, reply limit, counters) stays in one.
Readers merge the shards (and the unsharded keys written before them).
"""

from __future__ import annotations

import itertools
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from redis.asyncio import Redis

from bot.models import Message, Reply
from bot.store import keys, reach

UNMATCHED_INTENTS = frozenset({"unmatched", "menu"})
UNMATCHED_TOPIC = "_unmatched"
UNMATCHED_LOG_MAX = 20_000
UNMATCHED_TEXT_MAX = 200
BUCKETS = 16


def dimensions(message: Message) -> Iterator[tuple[str, str]]:
    """Yield every (dimension, value) a message counts under: all, channel, group, kind, region."""
    yield reach.ALL
    yield "channel", message.channel
    yield from itertools.islice(reach.group_dimensions(message.group), 1, None)


def shard(day: date, conversation: str) -> str:
    """Return the hash tag of a conversation's question counters on `day`."""
    return keys.metric_shard(day, zlib.crc32(conversation.encode()) % BUCKETS)


def topic(reply: Reply) -> str:
    """Return the counter field a reply counts under."""
    return UNMATCHED_TOPIC if reply.intent in UNMATCHED_INTENTS else reply.topic or reply.intent


@dataclass(frozen=True, slots=True)
class Question:
    """One answered (or unmatched) question to count: where, about what, and by whom."""

    shard: str
    topic: str
    member: str
    where: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, message: Message, reply: Reply, member: str, day: date) -> Question:
        """Return the question `message` asked, counted on `day`."""
        return cls(shard(day, message.conversation), topic(reply), member,
                   tuple(dimensions(message)))  # fmt: skip

    def counters(self) -> list[str]:
        """Return the hashes whose `topic` field this question increments."""
        return [keys.queries_in(self.shard, dim, value) for dim, value in self.where]

    def uniques(self) -> list[str]:
        """Return the HyperLogLogs this question's member joins."""
        return [keys.askers_in(self.shard, dim, value) for dim, value in self.where]


def unmatched_fields(message: Message, member: str, day: date) -> dict[str, str]:
    """Return the unmatched-log entry of a question the bot could not answer."""
    group = message.group
    return {
        "text": message.text[:UNMATCHED_TEXT_MAX],
        "channel": message.channel,
        "group": group.id if group else "",
        "kind": group.kind.value if group else "private",
        "region": group.region if group else "",
        "member": member,
        "day": keys.day_tag(day),
    }


def _hashes(days: Iterable[date], dimension: str, value: str) -> Iterator[str]:
    for day in days:
        yield keys.queries(day, dimension, value)
        for bucket in range(BUCKETS):
            yield keys.queries_in(keys.metric_shard(day, bucket), dimension, value)


async def questions(
    redis: Redis, days: Iterable[date], dimension: str = "all", value: str = "all"
) -> Counter[str]:
    """Return questions per topic over `days` for one dimension value, all shards merged."""
    async with redis.pipeline(transaction=False) as pipe:
        for name in _hashes(days, dimension, value):
            pipe.hgetall(name)
        stored = await pipe.execute()
    counts: Counter[str] = Counter()
    for fields in stored:
        for field, count in fields.items():
            counts[field] += int(count)
    return counts


async def askers(redis: Redis, day: date, dimension: str = "all", value: str = "all") -> int:
    """Return the distinct members who asked on `day` (PFCOUNT of the shards' union).

    The shards sit in different Cluster slots: a cluster deployment must route this through
    one node, as for the other multi-day unions (README, scale-out).
    """
    names = [keys.askers(day, dimension, value)]
    names += [keys.askers_in(keys.metric_shard(day, b), dimension, value) for b in range(BUCKETS)]
    return int(await redis.pfcount(*names))
