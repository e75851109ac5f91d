"""A per-target send allowance held in Redis, shared by every instance of the service.

Each target (one WeCom robot, one conversation, ...) has a sorted set of its recent sends,
scored in microseconds by the latest moment the send can have reached the platform: while a
request is in flight that is "now + hold" (the request's own deadline), and once it has ended,
the moment it ended. A new send may start only while fewer than `limit` sends are scored within
the last `period` seconds. So between a send reaching the platform and the send `limit` places
later reaching it, at least `period` passes, however long each request took to travel: the
platform never sees more than `limit` in any window of `period`, with no safety margin needed.
Checks and writes happen in one Lua script on Redis's own clock (TIME), so instances need not
agree on the time.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from bot.store import keys

log = logging.getLogger(__name__)

MICROS = 1_000_000


def window(target: str) -> str:
    """Sorted set of one target's recent sends (score: microseconds, see the module notes)."""
    return f"{keys.PREFIX}:{{rl:{target}}}:sends"


# KEYS[1] the target's sends; ARGV: limit, period (us), hold (us), token.
# Returns 0 when the send was recorded, else the wait (us) before a slot can be free.
_ACQUIRE = """
redis.replicate_commands()
local limit, period, hold = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now + hold, ARGV[4])
  if redis.call('PTTL', KEYS[1]) < (hold + period) / 1000 then
    redis.call('PEXPIRE', KEYS[1], math.floor((hold + period) / 1000) + 1)
  end
  return 0
end
local edge = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
local ends = tonumber(edge[2])
if ends > now then
  return period
end
return math.max(1, ends + period - now)
"""

# KEYS[1] the target's sends; ARGV: period (us), token. Dates the send at the current time.
_DONE = """
redis.replicate_commands()
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now, ARGV[2]) == 1 then
  local ttl = math.floor(tonumber(ARGV[1]) / 1000) + 1
  if redis.call('PTTL', KEYS[1]) < ttl then
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
end
return 0
"""


class WindowFull(Exception):
    """The target's next free slot is further away than the caller is willing to wait."""

    def __init__(self, target: str, after: float) -> None:
        super().__init__(f"no slot for {target} within the wait allowed; try in {after:.3f}s")
        self.after = after


class RateLimiter:
    """Let at most `limit` sends per target reach the platform in any `period` seconds."""

    def __init__(self, redis: Redis) -> None:
        self._acquire = redis.register_script(_ACQUIRE)
        self._done = redis.register_script(_DONE)
        self._lanes: dict[str, _Lane] = {}

    async def acquire(
        self, target: str, limit: int, period: float, *, hold: float = 0.0, token: str = ""
    ) -> float:
        """Take a slot for one send now and return 0.0, or return the seconds to wait first.

        `hold` is how long the send may stay in flight; until `done(target, token)` it counts
        as reaching the platform as late as now + hold. Waits are lower bounds: ask again.
        """
        if limit < 1 or period <= 0 or hold < 0:
            raise ValueError(f"limit, period and hold must be positive: {limit}, {period}, {hold}")
        args: list[int | str] = [limit, int(period * MICROS), int(hold * MICROS)]
        args.append(token or secrets.token_hex(8))
        micros = int(await self._acquire(keys=[window(target)], args=args))
        return micros / MICROS

    async def done(self, target: str, token: str, period: float) -> None:
        """Date the send `token` at the current time: its request has ended."""
        await self._done(keys=[window(target)], args=[int(period * MICROS), token])

    @property
    def scripts(self) -> tuple[AsyncScript, AsyncScript]:
        """Return the acquire and done scripts, for callers that pipeline them by SHA."""
        return self._acquire, self._done

    def queue_acquire(
        self, pipe: Pipeline, target: str, limit: int, period: float, hold: float, token: str
    ) -> None:
        """Queue `acquire` on `pipe`; its result is the microseconds to wait (0: taken)."""
        args = (limit, int(period * MICROS), int(hold * MICROS), token)
        pipe.evalsha(self._acquire.sha, 1, window(target), *args)

    def queue_done(self, pipe: Pipeline, target: str, token: str, period: float) -> None:
        """Queue `done` on `pipe`, with other writes of the same round trip."""
        pipe.evalsha(self._done.sha, 1, window(target), int(period * MICROS), token)

    @asynccontextmanager
    async def sending(
        self, target: str, limit: int, period: float, *, hold: float, max_wait: float
    ) -> AsyncIterator[None]:
        """Wait for a slot, hold it for the send in the body, and date it when the body ends.

        Within this process, sends to one target take turns in arrival order, so only one of
        them asks Redis at a time. Raises WindowFull, holding nothing, when the turn is more
        than `max_wait` seconds away.
        """
        lane = self._lanes.setdefault(target, _Lane())
        lane.users += 1
        deadline = asyncio.get_running_loop().time() + max_wait
        try:
            if lane.lock.locked():
                try:
                    async with asyncio.timeout_at(deadline):
                        await lane.lock.acquire()
                except TimeoutError:
                    raise WindowFull(target, period) from None
            else:
                await lane.lock.acquire()
            try:
                async with self._slot(target, limit, period, hold, deadline):
                    yield
            finally:
                lane.lock.release()
        finally:
            lane.users -= 1
            if not lane.users:
                del self._lanes[target]

    @asynccontextmanager
    async def _slot(
        self, target: str, limit: int, period: float, hold: float, deadline: float
    ) -> AsyncIterator[None]:
        """Wait for one slot, hold it for the body, and date it when the body ends."""
        token, loop = secrets.token_hex(8), asyncio.get_running_loop()
        while wait := await self.acquire(target, limit, period, hold=hold, token=token):
            if loop.time() + wait > deadline:
                raise WindowFull(target, wait)
            # The window frees at a time Redis computed: there is no event to await instead.
            await asyncio.sleep(wait)
        try:
            yield
        finally:
            try:
                await self.done(target, token, period)
            except RedisError as error:
                # The send has happened; its record keeps the later in-flight date, which only
                # errs on the safe side, so the sender must not take it for a failed send.
                log.warning("could not date a send for %s: %s", target, type(error))


@dataclass
class _Lane:
    """The turn of one target's sends within this process."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0
