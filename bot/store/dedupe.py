"""Process each inbound message id once per channel, and answer its retries the same way.

WeChat and WeCom redeliver a callback when they get no answer within 5 s, up to three times
(公众号 被动回复用户消息: "五秒内收不到响应会断掉连接，并且重新发起请求，总共重试三次";
messages are deduplicated by MsgId, events by FromUserName + CreateTime). So a message's
retries all come within about 15 s of it; its dedupe record lives DONE_TTL, a margin past that.

`Record` is the 公众号 path: the answer is worked out first, then one script claims the
message id, counts the reply against the group limit and the question in the metrics, and
stores what a retry should get, or returns what an earlier delivery stored. `Deduper` (the
WeCom channels) claims first and stores the answer once it is ready.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.store import keys
from bot.store.owned import delete_if_equal

PENDING, DONE = "P", "D"
PENDING_TTL_MS = 30_000  # longer than any handling; frees the id if an instance dies mid-way
DONE_TTL = 60  # WeChat's three retries come within about 15 s; four times that as a margin
REPLY_WINDOW_TTL = 120  # a minute's reply counter outlives its minute
SAME = "="  # stored for an answer a retry works out identically (content only): no text kept
ANSWER = "A"  # prefix of a stored answer text

# KEYS: [dedupe record] [reply counter] counters... uniques...   (flags say which come first)
# ARGV: flags ("d" dedupe, "w" reply counter, "q" count the question), the value a retry
# should get, its ttl ms, topic, member, metrics ttl s, number of counters, reply limit,
# reply counter ttl s. Returns {1, stored} for a retry, else {0, 1 if over the limit else 0}.
RECORD_SCRIPT = """
local flags, k, over = ARGV[1], 1, 0
local record
if string.find(flags, 'd', 1, true) then
  record = KEYS[1]
  k = 2
  local stored = redis.call('GET', record)
  if stored then return {1, stored} end
end
if string.find(flags, 'w', 1, true) then
  local count = redis.call('INCR', KEYS[k])
  if count == 1 then redis.call('EXPIRE', KEYS[k], ARGV[9]) end
  if count > tonumber(ARGV[8]) then over = 1 end
  k = k + 1
end
if string.find(flags, 'q', 1, true) then
  local last_counter = k + tonumber(ARGV[7]) - 1
  for i = k, #KEYS do
    local fresh
    if i <= last_counter then
      fresh = redis.call('HINCRBY', KEYS[i], ARGV[4], 1) == 1
    else
      fresh = redis.call('PFADD', KEYS[i], ARGV[5]) == 1
    end
    if fresh then redis.call('EXPIRE', KEYS[i], ARGV[6]) end
  end
end
if record then
  local value = ARGV[2]
  if over == 1 then value = '' end
  redis.call('SET', record, value, 'PX', ARGV[3])
end
return {0, over}
"""


def dedupe_key(channel: str, msg_id: str) -> str:
    """String holding a message's claim ("P<token>") or its stored answer ("D<answer>")."""
    return f"{keys.PREFIX}:{{dedupe:{channel}:{msg_id}}}"


def event_id(user: str, create_time: str) -> str:
    """Return an opaque id for an event (events carry no MsgId); the member id is hashed away."""
    digest = hashlib.sha256(f"{user}\x00{create_time}".encode()).hexdigest()[:32]
    return f"ev-{digest}"


def stored_value(passive: str, *, reproducible: bool) -> str:
    """Return what a retry should find: nothing, "same as you work out", or the text."""
    if not passive:
        return ""
    return SAME if reproducible else ANSWER + passive


def retry_answer(stored: str, own: str) -> str:
    """Return a retry's passive answer from what the first delivery stored."""
    if stored == SAME:
        return own
    return stored[len(ANSWER) :] if stored.startswith(ANSWER) else ""


@dataclass(frozen=True, slots=True)
class Deduper:
    """Run the handling of a message id at most once at a time, and remember its answer."""

    redis: Redis
    wait: float = 4.0
    poll: float = 0.05

    async def once(
        self, channel: str, msg_id: str, produce: Callable[[], Awaitable[str]]
    ) -> str | None:
        """Return the answer to `msg_id`, producing it only if no delivery has claimed it yet.

        Returns None when another delivery holds the claim and has not answered in time.
        """
        key = dedupe_key(channel, msg_id)
        deadline = time.monotonic() + self.wait
        while True:
            claim = PENDING + secrets.token_hex(8)
            if await self.redis.set(key, claim, nx=True, px=PENDING_TTL_MS):
                return await self._produce(key, claim, produce)
            answer, settled = await self._await_answer(key, deadline)
            if settled:
                return answer
            # The first delivery failed and released its claim: take it over.

    async def _produce(self, key: str, claim: str, produce: Callable[[], Awaitable[str]]) -> str:
        try:
            answer = await produce()
        except BaseException:
            await delete_if_equal(self.redis, key, claim)
            raise
        await self.redis.set(key, DONE + answer, ex=DONE_TTL)
        return answer

    async def _await_answer(self, key: str, deadline: float) -> tuple[str | None, bool]:
        """Poll `key` for the answer; (None, False) means the claim was released: claim again."""
        while True:
            value = _text(await self.redis.get(key))
            if value is None:
                return None, False
            if value.startswith(DONE):
                return value[len(DONE) :], True
            if time.monotonic() >= deadline:
                return None, True
            await asyncio.sleep(self.poll)


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
