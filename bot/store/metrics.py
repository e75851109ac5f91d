"""Reach metrics: questions by topic per day x group x kind x region, and unmatched questions."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date

from redis.asyncio.client import Pipeline

from bot.models import Message, Reply
from bot.store import keys, reach

UNMATCHED_INTENTS = frozenset({"unmatched", "menu"})
UNMATCHED_TOPIC = "_unmatched"
UNMATCHED_LOG_MAX = 20_000
UNMATCHED_TEXT_MAX = 200


def dimensions(message: Message) -> Iterator[tuple[str, str]]:
    """Yield every (dimension, value) a message counts under: all, channel, group, kind, region."""
    yield reach.ALL
    yield "channel", message.channel
    yield from itertools.islice(reach.group_dimensions(message.group), 1, None)


def record_reply(pipe: Pipeline, message: Message, reply: Reply, member: str, day: date) -> None:
    """Queue on `pipe` the counters for one answered (or unmatched) question."""
    topic = UNMATCHED_TOPIC if reply.intent in UNMATCHED_INTENTS else reply.topic or reply.intent
    where = list(dimensions(message))
    reach.count_day(
        pipe,
        [keys.queries(day, dimension, value) for dimension, value in where],
        topic,
        uniques=[keys.askers(day, dimension, value) for dimension, value in where],
        member=member,
    )
    if reply.intent in UNMATCHED_INTENTS:
        pipe.xadd(
            keys.UNMATCHED_LOG,
            {
                "text": message.text[:UNMATCHED_TEXT_MAX],
                "channel": message.channel,
                "group": message.group.id if message.group else "",
                "kind": message.group.kind.value if message.group else "private",
                "region": message.group.region if message.group else "",
                "member": member,
                "day": keys.day_tag(day),
            },
            maxlen=UNMATCHED_LOG_MAX,
            approximate=True,
        )
