"""The outbox in Redis: two streams (urgent, normal) read by one consumer group, a delayed set
for retries and paced sends, a dead-letter stream, and one state key per delivery.

A delivery's state key is claimed with SET NX when it is queued ("queued") and becomes "sent" or
"parked" in the same script that acknowledges and deletes its stream entry and counts its reach,
so a delivery is recorded exactly once whichever instance finishes it. Every key carries the
{outbox} hash tag, so each step is one Lua call in one Redis Cluster slot (the reach counters of
the day are the exception: see `Finish`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from redis.asyncio import Redis

from bot.models import Choices, Delivery
from bot.store import keys

STREAMS = (keys.OUTBOX_URGENT, keys.OUTBOX_NORMAL)
DEAD_LETTERS_KEPT = 10_000
ENQUEUE_BATCH = 500

# KEYS: urgent stream, normal stream, then one state key per delivery.
# ARGV: ttl, then per delivery its JSON and "1" when urgent. Returns the number queued.
_ENQUEUE = """
local queued = 0
for i = 3, #KEYS do
  local j = (i - 3) * 2 + 2
  if redis.call('SET', KEYS[i], 'queued', 'NX', 'EX', ARGV[1]) then
    local stream = KEYS[2]
    if ARGV[j + 1] == '1' then stream = KEYS[1] end
    redis.call('XADD', stream, '*', 'd', ARGV[j], 'n', '0')
    queued = queued + 1
  end
end
return queued
"""

# KEYS: state, stream, dead stream, health, sim feed, sim counter, then reach hashes.
# ARGV: group, entry id, outcome ("sent"|"parked"), state ttl, reach field, metrics ttl,
#       feed JSON ("" for none), feed size, delivery JSON, reason, attempts, group id, health JSON.
# Returns 1 when this call recorded the delivery, 0 when it had been recorded already.
_FINISH = """
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[2], ARGV[2])
local state = redis.call('GET', KEYS[1])
if state == 'sent' or state == 'parked' then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])
if ARGV[3] == 'parked' then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[14], '*',
             'd', ARGV[9], 'reason', ARGV[10], 'n', ARGV[11])
end
if ARGV[13] ~= '' then
  redis.call('HSET', KEYS[4], ARGV[12], ARGV[13])
elseif ARGV[3] == 'sent' then
  redis.call('HDEL', KEYS[4], ARGV[12])
end
if ARGV[7] ~= '' then
  local seq = redis.call('INCR', KEYS[6])
  redis.call('RPUSH', KEYS[5], '{"id":' .. seq .. ',' .. string.sub(ARGV[7], 2))
  redis.call('LTRIM', KEYS[5], -tonumber(ARGV[8]), -1)
end
if ARGV[5] ~= '' then
  for i = 7, #KEYS do
    redis.call('HINCRBY', KEYS[i], ARGV[5], 1)
    if ARGV[15] ~= '' then redis.call('HINCRBY', KEYS[i], ARGV[15], 1) end
    redis.call('EXPIRE', KEYS[i], ARGV[6])
  end
end
return 1
"""

# KEYS: stream, delayed set. ARGV: group, entry id, member JSON, delay (ms).
# Moves an entry still held in the stream to the delayed set; 0 when it was gone already.
_DEFER = """
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if redis.call('XDEL', KEYS[1], ARGV[2]) == 0 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
return 1
"""

# KEYS: delayed set, urgent stream, normal stream. ARGV: how many at most.
# Moves due deliveries back to their stream; returns ms until the next one is due, or -1.
_PROMOTE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  local entry = cjson.decode(member)
  local stream = KEYS[3]
  if entry.u == 1 then stream = KEYS[2] end
  redis.call('XADD', stream, '*', 'd', entry.d, 'n', tostring(entry.n), 's', tostring(entry.s))
end
local next = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #next == 0 then return -1 end
return math.max(0, tonumber(next[2]) - now)
"""


# KEYS: state, stream. ARGV: delivery JSON, state ttl. Queues a parked delivery again.
_REQUEUE = """
if redis.call('GET', KEYS[1]) ~= 'parked' then return 0 end
redis.call('SET', KEYS[1], 'queued', 'EX', ARGV[2])
redis.call('XADD', KEYS[2], '*', 'd', ARGV[1], 'n', '0')
return 1
"""


def encode(delivery: Delivery) -> str:
    """Return the delivery as the JSON stored in stream entries."""
    return json.dumps(asdict(delivery), ensure_ascii=False, separators=(",", ":"))


def decode(raw: str) -> Delivery:
    """Return the delivery stored as JSON (raises ValueError/TypeError on a foreign entry)."""
    fields: dict[str, Any] = json.loads(raw)
    if choices := fields.get("choices"):
        fields["choices"] = Choices(choices["key"], choices["title"], tuple(choices["letters"]))
    return Delivery(**fields)


@dataclass(frozen=True, slots=True)
class Entry:
    """One stream entry being worked on: where it sits and how often it has failed."""

    stream: str
    entry_id: str
    raw: str
    attempts: int = 0
    skip: int = 0

    @classmethod
    def parse(cls, stream: str, entry_id: str, fields: dict[str, str]) -> Entry:
        """Return the entry read from a stream (fields d, n and, after a retry, s)."""
        return cls(stream, entry_id, fields.get("d", ""), int(fields.get("n", 0)),
                   int(fields.get("s", 0)))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Finish:
    """How a delivery ends: sent (with an optional simulator bubble) or parked with a reason.

    `reach` lists the day's counter hashes to increment by `measure` (bot.store.reach), and by
    `campaign_field` too when set; they sit in another slot, so a Redis Cluster deployment must
    keep them on the outbox's node.
    """

    outcome: Literal["sent", "parked"]
    group_id: str
    measure: str = ""
    reach: tuple[str, ...] = ()
    feed: str = ""
    reason: str = ""
    health: str = ""
    campaign_field: str = ""


class Outbox:
    """Queue deliveries once per key; senders (bot.push.outbox.worker) take them from here."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._enqueue_script = redis.register_script(_ENQUEUE)
        self._finish = redis.register_script(_FINISH)
        self._defer = redis.register_script(_DEFER)
        self._promote = redis.register_script(_PROMOTE)
        self._requeue = redis.register_script(_REQUEUE)

    async def enqueue(self, deliveries: Iterable[Delivery]) -> int:
        """Queue every delivery whose key was never queued; return how many were queued."""
        batch: list[Delivery] = []
        queued = 0
        for delivery in deliveries:
            batch.append(delivery)
            if len(batch) == ENQUEUE_BATCH:
                queued += await self._enqueue(batch)
                batch = []
        if batch:
            queued += await self._enqueue(batch)
        return queued

    async def _enqueue(self, batch: list[Delivery]) -> int:
        names = [*STREAMS, *(keys.delivery_state(d.key) for d in batch)]
        args: list[str | int] = [keys.DELIVERY_TTL_SECONDS]
        for delivery in batch:
            args += [encode(delivery), "1" if delivery.urgent else "0"]
        return int(await self._enqueue_script(keys=names, args=args))

    async def delivered(self, key: str) -> bool:
        """Return True once the delivery `key` has been sent (or handed to its forward pack)."""
        return await self._redis.get(keys.delivery_state(key)) == "sent"

    async def state(self, key: str) -> str | None:
        """Return "queued", "sent", "parked", or None for a key never queued."""
        value = await self._redis.get(keys.delivery_state(key))
        return str(value) if value is not None else None

    async def depth(self) -> dict[str, int]:
        """Return counts for /metrics and the console.

        pending: every delivery not finished yet (waiting, in flight or delayed); urgent: of
        those in the urgent stream; in_flight: taken by a sender; lag: in a stream, not taken
        yet; delayed: waiting for a retry or a robot slot; dead: parked deliveries kept.
        """
        async with self._redis.pipeline(transaction=False) as pipe:
            for stream in STREAMS:
                pipe.xlen(stream)
            pipe.zcard(keys.OUTBOX_DELAYED)
            pipe.xlen(keys.OUTBOX_DEAD)
            urgent, normal, delayed, dead = await pipe.execute()
        in_flight = 0
        for stream in STREAMS:
            if urgent or normal:
                in_flight += await self._pending(stream)
        queued = int(urgent) + int(normal)
        return {
            "pending": queued + int(delayed),
            "urgent": int(urgent),
            "in_flight": in_flight,
            "lag": queued - in_flight,
            "delayed": int(delayed),
            "dead": int(dead),
        }

    async def _pending(self, stream: str) -> int:
        try:
            summary = await self._redis.xpending(stream, keys.OUTBOX_GROUP)
        except Exception as error:  # the group does not exist before the first sender starts
            if "NOGROUP" in str(error):
                return 0
            raise
        return int(summary["pending"])

    async def dead_letters(self, count: int = 50) -> list[tuple[Delivery, str, int]]:
        """Return the newest parked deliveries with their reason and failed attempts."""
        entries = await self._redis.xrevrange(keys.OUTBOX_DEAD, count=count) or []
        letters = []
        for _, fields in entries:
            stored = {str(name): str(value) for name, value in (fields or {}).items()}
            letters.append((decode(stored["d"]), stored["reason"], int(stored["n"])))
        return letters

    async def requeue(self, delivery: Delivery) -> bool:
        """Queue a parked delivery once more (after its group was fixed); False if not parked."""
        stream = STREAMS[0] if delivery.urgent else STREAMS[1]
        names = [keys.delivery_state(delivery.key), stream]
        args: list[str | int] = [encode(delivery), keys.DELIVERY_TTL_SECONDS]
        return bool(await self._requeue(keys=names, args=args))

    async def finish(self, entry: Entry, finish: Finish) -> bool:
        """Record, acknowledge and count `entry` atomically; False if it was recorded before."""
        delivery_key = json.loads(entry.raw)["key"]
        names = [
            keys.delivery_state(delivery_key),
            entry.stream,
            keys.OUTBOX_DEAD,
            keys.GROUP_HEALTH,
            keys.sim_feed(finish.group_id),
            keys.sim_feed_seq(finish.group_id),
            *finish.reach,
        ]
        args: list[str | int] = [
            keys.OUTBOX_GROUP, entry.entry_id, finish.outcome, keys.DELIVERY_TTL_SECONDS,
            finish.measure, keys.METRICS_TTL_SECONDS, finish.feed, keys.SIM_FEED_SIZE,
            entry.raw, finish.reason, entry.attempts, finish.group_id, finish.health,
            DEAD_LETTERS_KEPT, finish.campaign_field,
        ]  # fmt: skip
        return bool(await self._finish(keys=names, args=args))

    async def defer(self, entry: Entry, delay: float, *, failed: bool, skip: int = 0) -> bool:
        """Move `entry` to the delayed set for `delay` seconds (one more attempt if `failed`);
        `skip` parts of it went out already."""
        urgent = 1 if entry.stream == keys.OUTBOX_URGENT else 0
        attempts = entry.attempts + (1 if failed else 0)
        fields = {"d": entry.raw, "n": attempts, "u": urgent, "s": max(skip, entry.skip)}
        member = json.dumps(fields, separators=(",", ":"))
        names = [entry.stream, keys.OUTBOX_DELAYED]
        args: list[str | int] = [
            keys.OUTBOX_GROUP,
            entry.entry_id,
            member,
            max(0, int(delay * 1000)),
        ]
        return bool(await self._defer(keys=names, args=args))

    async def promote(self, limit: int = 1000) -> float | None:
        """Move due deliveries back to their stream; return seconds until the next is due."""
        names = [keys.OUTBOX_DELAYED, *STREAMS]
        wait = int(await self._promote(keys=names, args=[limit]))
        return None if wait < 0 else wait / 1000
