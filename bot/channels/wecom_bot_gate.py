"""Where and how often the smart bot may speak: proactive sends and the per-chat limits.

Proactive sends (主动推送消息, 智能机器人长连接 path/101463) go only into a conversation that
has messaged the bot; each conversation takes at most 30 messages a minute and 1000 an hour,
replies and pushes together. Both windows are shared by every instance through Redis.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from redis.asyncio import Redis

from bot.store import keys
from bot.store.ratelimit import RateLimiter, WindowFull

log = logging.getLogger(__name__)

GROUP_PREFIX = "wecom-bot:"  # group ids of smart-bot chats: the prefix, then the chatid

SEND_LIMITS = ((30, 60.0), (1000, 3600.0))
SEEN_TTL = 90 * 24 * 3600  # forget a conversation that has been silent for 90 days
REPLY_WAIT = 5.0  # a reply queues behind this chat's other sends at most this long


def bot_key(bot_id: str, name: str) -> str:
    """Return the Redis key `name` of one bot, in the bot's own hash slot."""
    return f"{keys.PREFIX}:{{wecom-bot:{bot_id}}}:{name}"


def seen_key(bot_id: str, conversation: str) -> str:
    """Marker that `conversation` has messaged the bot (proactive sends are allowed there)."""
    return bot_key(bot_id, f"seen:{conversation}")


def send_target(bot_id: str, conversation: str, period: float) -> str:
    """RateLimiter target of one conversation's proactive sends within one period."""
    return f"wecom-bot:{bot_id}:{conversation}:{int(period)}s"


class NotAConversation(Exception):
    """The conversation never messaged the bot: WeCom refuses proactive sends there."""


class ProactiveGate:
    """Admit proactive sends only where the bot was spoken to, within the per-chat limits."""

    def __init__(
        self, redis: Redis, limiter: RateLimiter, bot_id: str, pseudonym: Callable[[str], str]
    ) -> None:
        self._redis, self._limiter, self._bot_id = redis, limiter, bot_id
        self._pseudonym = pseudonym
        self.over_limit = 0  # replies sent beyond a full window (this instance)

    def _stored(self, conversation: str) -> str:
        """Return how `conversation` appears in keys: a member's chat by the member's hash."""
        kind, _, who = conversation.partition(":")
        return f"user:{self._pseudonym(who)}" if kind == "user" else conversation

    async def remember(self, conversation: str) -> None:
        """Record that `conversation` has messaged the bot."""
        key = seen_key(self._bot_id, self._stored(conversation))
        await self._redis.set(key, "1", ex=SEEN_TTL)

    async def known(self, conversation: str) -> bool:
        """Return True when `conversation` has messaged the bot."""
        return bool(await self._redis.exists(seen_key(self._bot_id, self._stored(conversation))))

    @asynccontextmanager
    async def sending(
        self, conversation: str, *, hold: float = 10.0, max_wait: float = 0.0
    ) -> AsyncIterator[None]:
        """Hold one send's slot in both windows; raise NotAConversation or WindowFull."""
        if not await self.known(conversation):
            raise NotAConversation(conversation)
        async with AsyncExitStack() as slots:
            await self._take(slots, conversation, hold, max_wait)
            yield

    @asynccontextmanager
    async def replying(self, conversation: str, *, hold: float = 10.0) -> AsyncIterator[None]:
        """Hold one reply's slot in both windows; a full window is logged, the reply still goes
        (WeCom has the last word, and its refusal is logged and counted)."""
        async with AsyncExitStack() as slots:
            try:
                await self._take(slots, conversation, hold, REPLY_WAIT)
            except WindowFull:
                self.over_limit += 1
                log.warning("smart bot reply beyond its conversation's 30/min or 1000/h")
            yield

    async def _take(
        self, slots: AsyncExitStack, conversation: str, hold: float, max_wait: float
    ) -> None:
        for limit, period in SEND_LIMITS:
            target = send_target(self._bot_id, self._stored(conversation), period)
            window = self._limiter.sending(target, limit, period, hold=hold, max_wait=max_wait)
            await slots.enter_async_context(window)
