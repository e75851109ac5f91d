"""The outbox in Redis: OUTBOX_SHARDS shards, each with two streams (urgent, normal) read by one
consumer group, a delayed set for retries and paced sends, a dead-letter stream, a stream of
held deliveries, and one state key per delivery.

A delivery's state key is claimed with SET NX when it is queued ("queued"), is marked
"sending:<part>" just before a part goes to an outside platform, and becomes "sent", "parked" or
"held" in the same script that acknowledges and deletes its stream entry, so a delivery is
recorded exactly once whichever instance finishes it. Every key of a shard carries its
{outbox:<shard>} hash tag, so each step is one Lua call in one Redis Cluster slot; the reach
counters live elsewhere and are counted idempotently (bot.store.reach.count_push).
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.models import Choices, Delivery
from bot.push.outbox.lua import DEFER, DISCARD, ENQUEUE, FINISH, MARK, PROMOTE, REQUEUE, SCRIPTS
from bot.store import keys
from bot.store.lua import Pipelined

SHARDS = range(keys.OUTBOX_SHARDS)
DEAD_LETTERS_KEPT = 10_000
ENQUEUE_BATCH = 500
BELL_KEPT = 64
FINAL = ("sent", "parked", "held")



def encode(delivery: Delivery) -> str:
    """Return the delivery as the JSON stored in stream entries."""
    return json.dumps(asdict(delivery), ensure_ascii=False, separators=(",", ":"))


def decode(raw: str) -> Delivery:
    """Return the delivery stored as JSON (raises ValueError/TypeError on a foreign entry)."""
    fields: dict[str, Any] = json.loads(raw)
    if choices := fields.get("choices"):
        fields["choices"] = Choices(choices["key"], choices["title"], tuple(choices["letters"]))
    return Delivery(**fields)


def stream_of(delivery: Delivery) -> str:
    """Return the stream a delivery is queued on: its group's shard, urgent or normal."""
    shard = keys.outbox_shard(delivery.group_id)
    return keys.outbox_urgent(shard) if delivery.urgent else keys.outbox_normal(shard)


def parts_done(state: str | None) -> int:
    """Return how many parts a state says went out already ("queued:2", "sending:2" -> 2)."""
    _, _, parts = (state or "").partition(":")
    return int(parts) if parts.isdigit() else 0


@dataclass(frozen=True, slots=True)
class Entry:
    """One stream entry being worked on: where it sits and how often it has failed."""

    shard: int
    stream: str
    entry_id: str
    raw: str
    attempts: int = 0
    skip: int = 0

    @classmethod
    def parse(cls, shard: int, stream: str, entry_id: str, fields: dict[str, str]) -> Entry:
        """Return the entry read from a stream (fields d, n and, after a retry, s)."""
        return cls(shard, stream, entry_id, fields.get("d", ""), int(fields.get("n", 0)),
                   int(fields.get("s", 0)))  # fmt: skip

    @property
    def ident(self) -> tuple[str, str]:
        """Return what names this entry uniquely: ids are unique only within a stream."""
        return self.stream, self.entry_id

    @property
    def urgent(self) -> bool:
        """Return True for an entry of an urgent stream."""
        return self.stream == keys.outbox_urgent(self.shard)


@dataclass(frozen=True, slots=True)
class Finish:
    """How a delivery ends: sent (with an optional simulator bubble), parked with a reason, or
    held (in flight when its sender died) with a reason and the parts known to be sent."""

    outcome: Literal["sent", "parked", "held"]
    group_id: str
    feed: str = ""
    reason: str = ""
    health: str = ""
    parts: int = 0


class Outbox:
    """Queue deliveries once per key; senders (bot.push.outbox.worker) take them from here."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self.pipelined = Pipelined(redis, SCRIPTS)

    async def enqueue(self, deliveries: Iterable[Delivery]) -> int:
        """Queue every delivery whose key was never queued; return how many were queued."""
        by_shard: dict[int, list[Delivery]] = defaultdict(list)
        for delivery in deliveries:
            by_shard[keys.outbox_shard(delivery.group_id)].append(delivery)
        if not by_shard:
            return 0

        def build(pipe: Pipeline) -> None:
            for shard, batch in by_shard.items():
                for start in range(0, len(batch), ENQUEUE_BATCH):
                    _queue_enqueue(pipe, shard, batch[start : start + ENQUEUE_BATCH])
            pipe.xadd(keys.OUTBOX_BELL, {"r": "1"}, maxlen=BELL_KEPT, approximate=True)

        answers = await self.pipelined.run(build)
        return sum(int(answer) for answer in answers[:-1])

    async def delivered(self, group_id: str, key: str) -> bool:
        """Return True once delivery `key` to a group has been sent (or put in its pack)."""
        return await self.state(group_id, key) == "sent"

    async def state(self, group_id: str, key: str) -> str | None:
        """Return "queued", "sending", "sent", "parked", "held", or None if never queued."""
        value = await self._redis.get(keys.delivery_state(group_id, key))
        return None if value is None else str(value).partition(":")[0]

    async def requeue(self, delivery: Delivery, parts: int = 0, held_id: str = "") -> bool:
        """Queue a parked or held delivery once more, leaving out `parts` sent already, and
        take it off the held list (entry `held_id`); False when it is neither parked nor held."""
        shard = keys.outbox_shard(delivery.group_id)
        names = [keys.delivery_state(delivery.group_id, delivery.key), stream_of(delivery),
                 keys.outbox_held(shard)]  # fmt: skip
        args: list[str | int] = [encode(delivery), keys.DELIVERY_TTL_SECONDS, parts, held_id]
        [requeued] = await self.pipelined.run(lambda pipe: REQUEUE.queue(pipe, names, args))
        return bool(requeued)

    async def depth(self) -> dict[str, int]:
        """Return counts for /metrics and the console, summed over the shards.

        pending: every delivery not finished yet (waiting, in flight or delayed); urgent: of
        those in urgent streams; in_flight: taken by a sender; lag: in a stream, not taken
        yet; delayed: waiting for a retry or a robot slot; dead: parked deliveries kept;
        held: deliveries whose sender died mid-send, waiting for an officer.
        """
        async with self._redis.pipeline(transaction=False) as pipe:
            for shard in SHARDS:
                for name in (keys.outbox_urgent(shard), keys.outbox_normal(shard)):
                    pipe.xlen(name)
                    pipe.xpending(name, keys.OUTBOX_GROUP)
                pipe.zcard(keys.outbox_delayed(shard))
                pipe.xlen(keys.outbox_dead(shard))
                pipe.xlen(keys.outbox_held(shard))
            answers = await pipe.execute(raise_on_error=False)
        names = ("urgent", "urgent_taken", "normal", "normal_taken", "delayed", "dead", "held")
        total = dict.fromkeys(names, 0)
        for index, answer in enumerate(answers):
            name = names[index % len(names)]
            total[name] += _pending(answer) if name.endswith("_taken") else int(answer)
        queued = total["urgent"] + total["normal"]
        in_flight = total["urgent_taken"] + total["normal_taken"]
        return {
            "pending": queued + total["delayed"], "urgent": total["urgent"],
            "in_flight": in_flight, "lag": queued - in_flight, "delayed": total["delayed"],
            "dead": total["dead"], "held": total["held"],
        }  # fmt: skip

    async def dead_letters(self, count: int = 50) -> list[Letter]:
        """Return the newest parked deliveries (over every shard) with reason and attempts."""
        return await self._letters(keys.outbox_dead, count)

    async def held(self, count: int = 50) -> list[Letter]:
        """Return the newest held deliveries (in flight when their sender died), newest first."""
        return await self._letters(keys.outbox_held, count)

    async def letter(self, key: str) -> Letter | None:
        """Return the held, else the newest parked, delivery with this key (None if neither)."""
        kept = DEAD_LETTERS_KEPT
        for letters in (await self.held(kept), await self.dead_letters(kept)):
            found = next((letter for letter in letters if letter.delivery.key == key), None)
            if found is not None:
                return found
        return None

    async def requeue_letter(self, letter: Letter) -> bool:
        """Queue a held or parked delivery again after the parts it had sent; False when it was
        requeued or sent meanwhile."""
        held_id = letter.entry_id if letter.held else ""
        return await self.requeue(letter.delivery, letter.parts, held_id)

    async def _letters(self, stream: Callable[[int], str], count: int) -> list[Letter]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for shard in SHARDS:
                pipe.xrevrange(stream(shard), count=count)
            per_shard = await pipe.execute()
        found: list[tuple[int, Letter]] = []
        for entries in per_shard:
            for entry_id, fields in entries or []:
                stamp = int(str(entry_id).split("-", 1)[0])
                with contextlib.suppress(ValueError, TypeError, KeyError):  # a foreign entry
                    letter = Letter.parse(str(entry_id), fields, stamp / 1000)
                    found.append((stamp, replace(letter, held=stream is keys.outbox_held)))
        found.sort(key=lambda pair: pair[0], reverse=True)
        return [letter for _, letter in found[:count]]


@dataclass(frozen=True, slots=True)
class Letter:
    """A parked or held delivery: why, after how many failed attempts, how many parts had
    gone out, when (epoch seconds), and its entry in the dead-letter or held stream."""

    delivery: Delivery
    reason: str
    attempts: int
    parts: int
    at: float
    entry_id: str
    held: bool = False

    @classmethod
    def parse(cls, entry_id: str, fields: dict[str, str], at: float) -> Letter:
        """Return the letter stored in a dead-letter or held stream entry."""
        return cls(decode(fields["d"]), str(fields["reason"]), int(fields.get("n", 0)),
                   int(fields.get("s", 0)), at, entry_id)  # fmt: skip


def _pending(summary: Any) -> int:
    """Return the pending count of an XPENDING summary (0 before the group exists)."""
    return int(summary["pending"]) if isinstance(summary, dict) else 0


def _queue_enqueue(pipe: Pipeline, shard: int, batch: list[Delivery]) -> None:
    names = [keys.outbox_urgent(shard), keys.outbox_normal(shard)]
    names += [keys.delivery_state(d.group_id, d.key) for d in batch]
    args: list[str | int] = [keys.DELIVERY_TTL_SECONDS]
    for delivery in batch:
        args += [encode(delivery), "1" if delivery.urgent else "0"]
    ENQUEUE.queue(pipe, names, args)


def queue_finish(pipe: Pipeline, entry: Entry, delivery: Delivery, finish: Finish) -> None:
    """Queue on `pipe` the script that records, acknowledges and deletes `entry`."""
    group, shard = delivery.group_id, entry.shard
    names = [
        keys.delivery_state(group, delivery.key), entry.stream, keys.outbox_dead(shard),
        keys.outbox_held(shard), keys.group_health(shard), keys.sim_feed(group),
        keys.sim_feed_seq(group),
    ]  # fmt: skip
    args: list[str | int] = [
        keys.OUTBOX_GROUP, entry.entry_id, finish.outcome, keys.DELIVERY_TTL_SECONDS,
        finish.feed, keys.SIM_FEED_SIZE, entry.raw, finish.reason, entry.attempts,
        group, finish.health, DEAD_LETTERS_KEPT, finish.parts,
    ]  # fmt: skip
    FINISH.queue(pipe, names, args)


def queue_discard(pipe: Pipeline, entry: Entry, reason: str) -> None:
    """Queue on `pipe` the parking of an entry that holds no delivery (a foreign entry)."""
    names = [entry.stream, keys.outbox_dead(entry.shard)]
    DISCARD.queue(pipe, names, [keys.OUTBOX_GROUP, entry.entry_id, entry.raw, reason])


def queue_mark(pipe: Pipeline, delivery: Delivery, state: str) -> None:
    """Queue on `pipe` a new state for a delivery not recorded yet ("sending:<part>")."""
    names = [keys.delivery_state(delivery.group_id, delivery.key)]
    MARK.queue(pipe, names, [state, keys.DELIVERY_TTL_SECONDS])


def queue_defer(
    pipe: Pipeline, entry: Entry, delivery: Delivery, delay: float, attempts: int, skip: int
) -> None:
    """Queue on `pipe` the move of `entry` to the delayed set for `delay` seconds."""
    fields = {"d": entry.raw, "n": attempts, "u": 1 if entry.urgent else 0, "s": skip}
    member = json.dumps(fields, separators=(",", ":"))
    state = keys.delivery_state(delivery.group_id, delivery.key)
    names = [entry.stream, keys.outbox_delayed(entry.shard), state]
    args: list[str | int] = [keys.OUTBOX_GROUP, entry.entry_id, member,
                             max(0, int(delay * 1000)), f"queued:{skip}",
                             keys.DELIVERY_TTL_SECONDS]  # fmt: skip
    DEFER.queue(pipe, names, args)


def queue_promote(pipe: Pipeline, shard: int, limit: int) -> None:
    """Queue on `pipe` the move of a shard's due deliveries back to their streams."""
    names = [keys.outbox_delayed(shard), keys.outbox_urgent(shard), keys.outbox_normal(shard)]
    PROMOTE.queue(pipe, names, [limit])
