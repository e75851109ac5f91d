"""The one way through for every channel: address, dispatch, limit, record.

Recording costs one Redis round trip: a single script claims the message id (when the channel
deduplicates), counts the reply against the group's limit and the question in the metrics,
and hands back what an earlier delivery of the same message stored (bot.store.dedupe).
Only a numbered menu or an unmatched question costs a second write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Protocol
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.models import ACK_INTENT, Message, Reply
from bot.router import Dispatcher
from bot.settings import Settings
from bot.store import conversations, dedupe, keys, metrics
from bot.store.members import MemberHasher
from bot.store.record import Call, Recorder

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2000
_MENTION_TRIM = " \t,，:："


class Passive(Protocol):
    """How a channel turns a reply into text, and what of it one passive answer holds."""

    def compose(self, reply: Reply | None) -> str:
        """Return the whole answer to send for `reply` ("" for none)."""
        ...

    def split(self, text: str) -> tuple[str, str]:
        """Return (what the passive answer holds, the rest to push)."""
        ...


@dataclass(frozen=True, slots=True)
class Answer:
    """What a callback answers now, and what goes out afterwards through the channel's API."""

    passive: str
    push: str = ""


@dataclass(frozen=True, slots=True)
class Recorded:
    """The script's verdict: a retry's stored answer, or whether the group limit is reached."""

    retry: str | None = None
    over_limit: bool = False


@dataclass(slots=True)
class ChatService:
    """Turn an inbound Message into at most one Reply, recording what happened."""

    dispatcher: Dispatcher
    redis: Redis
    hasher: MemberHasher
    settings: Settings
    recorder: Recorder = field(init=False)
    _zone: ZoneInfo = field(init=False)

    def __post_init__(self) -> None:
        self.recorder = Recorder(self.redis)
        self._zone = ZoneInfo(self.settings.timezone)

    async def handle(self, message: Message) -> Reply | None:
        """Answer `message` (or stay quiet) and record it; None past the group's reply limit."""
        message = self.address(message)
        member = self.hasher(message.channel, message.user)
        reply, _ = await self.dispatcher.route(message, member=member)
        if reply is None or reply.intent == ACK_INTENT:
            return reply  # an acknowledged button press is not a question: the quiz counts it
        verdict = await self._record(message, reply, member, None)
        return None if verdict.over_limit else reply

    async def answer_once(self, message: Message, channel: Passive, late: Callable[[], bool]
                          ) -> Answer:  # fmt: skip
        """Answer a message WeChat may deliver again: once, and every retry the same way.

        The answer is worked out first; the script then decides whether this delivery is the
        first (it answers, and pushes what one passive answer cannot hold, or all of it when
        `late()`), or a retry (it gets what the first stored: nothing is pushed twice).
        """
        message = self.address(message)
        member = self.hasher(message.channel, message.user)
        reply, reproducible = await self.dispatcher.route(message, member=member)
        passive, rest = channel.split(channel.compose(reply))
        if late():
            passive, rest = "", passive + rest
        stored = dedupe.stored_value(passive, reproducible=reproducible and not rest)
        verdict = await self._record(message, reply, member, stored)
        if verdict.retry is not None:
            return Answer(dedupe.retry_answer(verdict.retry, passive))
        if verdict.over_limit:
            return Answer("")
        return Answer(passive, rest)

    async def _record(self, message: Message, reply: Reply | None, member: str,
                      stored: str | None) -> Recorded:  # fmt: skip
        """Run the one script for `message`; `stored` None means the channel keeps no record."""
        day = message.at.astimezone(self._zone).date()
        counted = reply is not None and reply.intent != ACK_INTENT
        call = self._call(message, reply if counted else None, member, day, stored)
        result = await self.recorder.run(call)
        if result is None:  # Redis unreachable: counted later; a group's limit is unknown
            return Recorded(over_limit=message.group is not None)
        if int(result[0]):
            return Recorded(retry=str(result[1]))
        if counted and reply is not None and reply.follow_up:
            await self._remember_menu(message, reply, member)
        return Recorded(over_limit=bool(int(result[1])))

    def _call(self, message: Message, reply: Reply | None, member: str, day: date,
              stored: str | None) -> Call:  # fmt: skip
        question = metrics.Question.of(message, reply, member, day) if reply else None
        shard = metrics.shard(day, message.conversation)
        flags, names = "", []
        if stored is not None:
            flags += "d"
            names.append(keys.answered(shard, message.channel, message.msg_id))
        if message.group and reply is not None:
            flags += "w"
            minute = int(message.at.timestamp()) // 60
            names.append(keys.replies_in(shard, message.conversation, minute))
        counters: list[str] = []
        if question is not None:
            flags += "q"
            counters = question.counters()
            names += counters + question.uniques()
        unmatched = (
            metrics.unmatched_fields(message, member, day)
            if reply is not None and reply.intent in metrics.UNMATCHED_INTENTS
            else None
        )
        return Call(names, [
            flags, stored or "", dedupe.DONE_TTL * 1000, question.topic if question else "",
            member, keys.METRICS_TTL_SECONDS, len(counters), self.settings.group_reply_limit,
            dedupe.REPLY_WINDOW_TTL,
        ], unmatched)  # fmt: skip

    async def _remember_menu(self, message: Message, reply: Reply, member: str) -> None:
        """Keep the numbered menu a reply offered (the only reply needing a second write)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            conversations.remember_menu(pipe, message, member, reply.follow_up)
            await pipe.execute()

    def address(self, message: Message) -> Message:
        """Mark whether the member spoke to the bot, and strip the mention or prefix."""
        if message.group is None:
            return replace(message, addressed=True)
        mention = self.settings.mention
        text = message.text
        if mention in text:
            return replace(
                message, text=text.replace(mention, " ").strip(_MENTION_TRIM), addressed=True
            )
        stripped = text.lstrip()
        for prefix in self.settings.reply_prefixes:
            if stripped.startswith(prefix) and len(stripped) > len(prefix):
                rest = stripped[len(prefix) :].lstrip(_MENTION_TRIM)
                return replace(message, text=rest, addressed=True)
        return message
