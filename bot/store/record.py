"""Run the answer-recording script; while Redis is unreachable, keep its calls and replay them.

A call that fails with a connection error (Redis down, restarting or still loading) is kept
in memory, up to BUFFER_MAX calls (the oldest go first, and are logged), and replayed in order
once Redis answers again, so no question is lost from the metrics. A replayed call carries its
dedupe record: a retry that was counted meanwhile makes the replay a no-op, never a double.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.store import keys, metrics
from bot.store.dedupe import RECORD_SCRIPT

log = logging.getLogger(__name__)

BUFFER_MAX = 100_000
RETRY_SECONDS = 1.0
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


@dataclass(frozen=True, slots=True)
class Call:
    """One run of the script: its keys and arguments."""

    keys: list[str]
    args: list[str | int]
    unmatched: dict[str, str] | None = None  # an unmatched-log entry, added once counted


@dataclass
class Recorder:
    """The one script a callback costs, with the buffer that outlasts a Redis outage."""

    redis: Redis
    buffer_max: int = BUFFER_MAX
    pending: deque[Call] = field(init=False)
    dropped: int = 0
    _flushing: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.pending = deque(maxlen=self.buffer_max)
        self._script = self.redis.register_script(RECORD_SCRIPT)

    async def run(self, call: Call) -> list[str | int] | None:
        """Return the script's result, or None when Redis is unreachable (the call is kept)."""
        try:
            result = await self._execute(call)
        except UNREACHABLE as exc:
            self.keep(call, exc)
            return None
        if self.pending and self._flushing is None:
            self._flushing = asyncio.create_task(self.flush())
        return result

    def keep(self, call: Call, exc: BaseException) -> None:
        """Buffer `call` for a later replay; try again in RETRY_SECONDS."""
        if len(self.pending) == self.pending.maxlen:
            self.dropped += 1
            log.error("metrics buffer full (%d calls): oldest call dropped", len(self.pending))
        self.pending.append(call)
        if len(self.pending) == 1:
            log.warning("redis unreachable (%s): buffering metric events", exc)
        if self._flushing is None:
            self._flushing = asyncio.create_task(self.flush(RETRY_SECONDS))

    async def flush(self, delay: float = 0.0) -> None:
        """Replay the buffered calls in order; on failure, wait and start again."""
        try:
            while self.pending:
                await asyncio.sleep(delay)
                delay = RETRY_SECONDS
                try:
                    await self._drain()
                except UNREACHABLE:
                    continue
            log.info("metrics buffer flushed")
        finally:
            self._flushing = None

    async def close(self) -> None:
        """Try one last flush, then stop."""
        task = self._flushing
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        try:
            await self._drain()
        except UNREACHABLE:
            log.error("redis unreachable at shutdown: %d metric events lost", len(self.pending))

    async def _drain(self) -> None:
        while self.pending:
            await self._execute(self.pending[0])
            self.pending.popleft()

    async def _execute(self, call: Call) -> list[str | int]:
        result: list[str | int] = await self._script(keys=call.keys, args=call.args)
        if call.unmatched is not None and not int(result[0]):
            try:
                entry: dict[Any, Any] = call.unmatched
                await self.redis.xadd(
                    keys.UNMATCHED_LOG, entry, maxlen=metrics.UNMATCHED_LOG_MAX, approximate=True
                )
            except UNREACHABLE as exc:
                self.keep(Call([], [""], call.unmatched), exc)
        return result
