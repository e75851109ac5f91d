"""One consumer of every shard's streams: read, take over, keep alive, wait and leave, in Redis.

Every instance consumes every shard. A read is one pipeline of one XREADGROUP per shard (each
in its own slot); when all come back empty the consumer blocks on the outbox bell, a capped
stream each enqueue rings, instead of polling the shards. Entries this consumer holds are
heartbeated (XCLAIM to itself, JUSTID) every quarter of the visibility timeout, so only entries
of a consumer that stopped beating (a dead instance) idle long enough for another consumer's
XAUTOCLAIM.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Iterable
from typing import Any

from redis.asyncio import Redis

from bot.push.outbox.queue import SHARDS, Entry
from bot.store import keys

log = logging.getLogger(__name__)
HEARTBEAT_BATCH = 500
BELL_READ = 100  # rings read at once: every ring since the last look wakes the consumer once


def consumer_name() -> str:
    """Return a consumer name unique to this process: host, pid and a random part."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def _streams(shard: int) -> tuple[str, str]:
    return keys.outbox_urgent(shard), keys.outbox_normal(shard)


class Consumer:
    """Stream operations for one consumer name in the senders' group, over every shard."""

    def __init__(self, redis: Redis, name: str, visibility: float) -> None:
        self.redis, self.name, self.visibility = redis, name, visibility
        # Entries held here, as (stream, id), until recorded, deferred or parked.
        self.held: set[tuple[str, str]] = set()
        # Streams known to carry the group; a stream is made by the first enqueue onto it.
        self.ready: set[str] = set()
        self._bell: str | None = None  # the newest ring seen

    async def ensure_groups(self) -> None:
        """Create the group on each stream that exists (reading from its start), so an idle
        service writes nothing to Redis until the first enqueue."""
        missing = [s for shard in SHARDS for s in _streams(shard) if s not in self.ready]
        if not missing:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream in missing:
                pipe.exists(stream)
            exists = await pipe.execute()
        found = [stream for stream, there in zip(missing, exists, strict=True) if there]
        if not found:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream in found:
                pipe.xgroup_create(stream, keys.OUTBOX_GROUP, id="0")
            answers = await pipe.execute(raise_on_error=False)
        for stream, answer in zip(found, answers, strict=True):
            if isinstance(answer, Exception) and "BUSYGROUP" not in str(answer):
                raise answer
            self.ready.add(stream)

    def reset(self) -> None:
        """Forget which streams carry the group (after Redis lost them, e.g. a flush)."""
        self.ready.clear()
        self._bell = None

    async def read(self, count: int) -> list[Entry]:
        """Read up to about `count` new entries over every shard, urgent ones first."""
        shards = [shard for shard in SHARDS if any(s in self.ready for s in _streams(shard))]
        if not shards or count < 1:
            return []
        each = max(1, -(-count // (2 * len(shards))))
        async with self.redis.pipeline(transaction=False) as pipe:
            for shard in shards:
                wanted = {s: ">" for s in _streams(shard) if s in self.ready}
                pipe.xreadgroup(keys.OUTBOX_GROUP, self.name, wanted, count=each)  # type: ignore[arg-type]
            answers = await pipe.execute()
        read = [
            Entry.parse(shard, str(stream), str(entry_id), fields)
            for shard, answer in zip(shards, answers, strict=True)
            for stream, entries in answer or []
            for entry_id, fields in entries
        ]
        read.sort(key=lambda entry: not entry.urgent)
        return self._hold(read)

    async def wait(self, seconds: float) -> None:
        """Block up to `seconds` for the bell an enqueue rings (return at once if it rang)."""
        if self._bell is None:
            newest: Any = await self.redis.xrevrange(keys.OUTBOX_BELL, count=1)
            self._bell = str(newest[0][0]) if newest else "0-0"
        answer: Any = await self.redis.xread(
            {keys.OUTBOX_BELL: self._bell}, count=BELL_READ, block=max(1, int(seconds * 1000))
        )
        for _, entries in answer or []:
            for entry_id, _ in entries:
                self._bell = str(entry_id)

    async def take_over(self, limit: int) -> list[Entry]:
        """Claim up to about `limit` entries idle longer than the visibility timeout."""
        idle = int(self.visibility * 1000)
        claimed: list[Entry] = []
        cursors = {stream: "0-0" for stream in self.ready}
        while cursors and len(claimed) < limit:
            async with self.redis.pipeline(transaction=False) as pipe:
                for stream, start in cursors.items():
                    pipe.xautoclaim(stream, keys.OUTBOX_GROUP, self.name, idle, start, count=100)
                answers = await pipe.execute()
            next_cursors = {}
            for stream, answer in zip(list(cursors), answers, strict=True):
                shard = int(stream.split("{outbox:", 1)[1].split("}", 1)[0])
                claimed += [Entry.parse(shard, stream, str(i), f) for i, f in answer[1] if f]
                if str(answer[0]) != "0-0":
                    next_cursors[stream] = str(answer[0])
            cursors = next_cursors
        if claimed:
            log.info("outbox consumer %s took over %d idle deliveries", self.name, len(claimed))
        return self._hold(claimed)

    async def heartbeat(self) -> None:
        """Reset the idle time of every entry still held here."""
        by_stream: dict[str, list[str]] = {}
        for stream, entry_id in self.held:
            by_stream.setdefault(stream, []).append(entry_id)
        if not by_stream:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream, ids in by_stream.items():
                for start in range(0, len(ids), HEARTBEAT_BATCH):
                    batch: list[Any] = ids[start : start + HEARTBEAT_BATCH]
                    pipe.xclaim(stream, keys.OUTBOX_GROUP, self.name, 0, batch, justid=True)
            await pipe.execute()

    def release(self, entry: Entry) -> None:
        """Forget `entry`: it was recorded, deferred or parked (or is left to a takeover)."""
        self.held.discard(entry.ident)

    async def leave(self) -> None:
        """Leave the group on every stream where this consumer holds nothing."""
        streams = sorted(self.ready)
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream in streams:
                pipe.xpending_range(stream, keys.OUTBOX_GROUP, "-", "+", 1,
                                    consumername=self.name)  # fmt: skip
            pending = await pipe.execute()
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream, held in zip(streams, pending, strict=True):
                if not held:
                    pipe.xgroup_delconsumer(stream, keys.OUTBOX_GROUP, self.name)
            await pipe.execute()

    def _hold(self, entries: Iterable[Entry]) -> list[Entry]:
        held = list(entries)
        self.held.update(entry.ident for entry in held)
        return held
