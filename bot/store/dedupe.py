"""Process each inbound message id once per channel, and answer its retries the same way.

WeChat and WeCom redeliver a callback when they get no answer within 5 s, up to three times
(公众号 被动回复用户消息: "五秒内收不到响应会断掉连接，并且重新发起请求，总共重试三次";
messages are deduplicated by MsgId, events by FromUserName + CreateTime). The first delivery
claims the id with SET NX and a short expiry; when its answer is ready it is stored in the same
key for DONE_TTL. A retry of an answered id gets the stored answer; a retry that arrives while
the first is still being handled waits up to `wait` seconds for it, then gives up (None: the
channel answers "success" and WeChat stops retrying). A claim whose handling fails is released,
so the next retry handles the message afresh.
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
DONE_TTL = 3600  # well past the replay window and WeChat's retries (about 15 s)


def dedupe_key(channel: str, msg_id: str) -> str:
    """String holding a message's claim ("P<token>") or its stored answer ("D<answer>")."""
    return f"{keys.PREFIX}:{{dedupe:{channel}:{msg_id}}}"


def event_id(user: str, create_time: str) -> str:
    """Return an opaque id for an event (events carry no MsgId); the member id is hashed away."""
    digest = hashlib.sha256(f"{user}\x00{create_time}".encode()).hexdigest()[:32]
    return f"ev-{digest}"


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
