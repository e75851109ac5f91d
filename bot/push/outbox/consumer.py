"""One consumer of the outbox streams: read, take over, keep alive and leave, in Redis.

Entries this consumer holds are heartbeated (XCLAIM to itself, JUSTID) every quarter of the
visibility timeout, so only entries of a consumer that stopped beating (a dead instance) idle
long enough for another consumer's XAUTOCLAIM.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Iterable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.push.outbox.queue import STREAMS, Entry
from bot.store import keys

log = logging.getLogger(__name__)


def consumer_name() -> str:
    """Return a consumer name unique to this process: host, pid and a random part."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Consumer:
    """Stream operations for one consumer name in the senders' group."""

    def __init__(self, redis: Redis, name: str, visibility: float) -> None:
        self.redis, self.name, self.visibility = redis, name, visibility
        # Entries held here (id -> stream) until they are recorded, deferred or parked.
        self.held: dict[str, str] = {}
        # Streams known to carry the group, in STREAMS order (urgent first).
        self.ready: list[str] = []

    async def ensure_group(self) -> None:
        """Create the group on each stream that exists; a stream is made by the first enqueue,
        so an idle service writes nothing to Redis. The group reads a stream from its start."""
        if len(self.ready) == len(STREAMS):
            return
        for stream in STREAMS:
            if stream in self.ready or not await self.redis.exists(stream):
                continue
            try:
                await self.redis.xgroup_create(stream, keys.OUTBOX_GROUP, id="0")
            except ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise
            self.ready = [s for s in STREAMS if s in self.ready or s == stream]

    def reset(self) -> None:
        """Forget which streams carry the group (after Redis lost them, e.g. a flush)."""
        self.ready = []

    async def read(self, count: int, block: float) -> list[Entry]:
        """Read up to `count` new entries, urgent first; block up to `block` seconds for one."""
        if not self.ready:
            await asyncio.sleep(block)  # nothing was ever queued: no stream to wait on
            return []
        answer: Any = None
        if keys.OUTBOX_URGENT in self.ready:
            answer = await self.redis.xreadgroup(
                keys.OUTBOX_GROUP, self.name, {keys.OUTBOX_URGENT: ">"}, count=count
            )
        if not answer:  # nothing urgent: wait on both streams
            answer = await self.redis.xreadgroup(
                keys.OUTBOX_GROUP, self.name, {stream: ">" for stream in self.ready},
                count=count, block=max(1, int(block * 1000)),
            )  # fmt: skip
        by_stream = {str(stream): entries for stream, entries in answer or []}
        return self._hold(
            Entry.parse(stream, str(entry_id), fields)
            for stream in STREAMS  # urgent first
            for entry_id, fields in by_stream.get(stream, [])
        )

    async def take_over(self, limit: int) -> list[Entry]:
        """Claim up to about `limit` entries idle longer than the visibility timeout."""
        idle = int(self.visibility * 1000)
        claimed: list[Entry] = []
        for stream in self.ready:
            start = "0-0"
            while len(claimed) < limit:
                answer: Any = await self.redis.xautoclaim(
                    stream, keys.OUTBOX_GROUP, self.name, idle, start, count=100
                )
                start, entries = str(answer[0]), answer[1]
                claimed += [Entry.parse(stream, str(i), f) for i, f in entries if f]
                if start == "0-0":
                    break
        if claimed:
            log.info("outbox consumer %s took over %d idle deliveries", self.name, len(claimed))
        return self._hold(claimed)

    async def heartbeat(self) -> None:
        """Reset the idle time of every entry still held here."""
        for stream in self.ready:
            ids: list[Any] = [i for i, held in self.held.items() if held == stream]
            for start in range(0, len(ids), 500):
                await self.redis.xclaim(stream, keys.OUTBOX_GROUP, self.name, 0,
                                        ids[start : start + 500], justid=True)  # fmt: skip

    def release(self, entry: Entry) -> None:
        """Forget `entry`: it was recorded, deferred or parked (or is left to a takeover)."""
        self.held.pop(entry.entry_id, None)

    async def leave(self) -> None:
        """Leave the group on every stream where this consumer holds nothing."""
        for stream in self.ready:
            pending = await self.redis.xpending_range(
                stream, keys.OUTBOX_GROUP, "-", "+", 1, consumername=self.name
            )
            if not pending:
                await self.redis.xgroup_delconsumer(stream, keys.OUTBOX_GROUP, self.name)

    def _hold(self, entries: Iterable[Entry]) -> list[Entry]:
        held = list(entries)
        for entry in held:
            self.held[entry.entry_id] = entry.stream
        return held
