"""The one way through for every channel: address, dispatch, limit, record."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.models import ACK_INTENT, Message, Reply
from bot.router import Dispatcher
from bot.settings import Settings
from bot.store import conversations, metrics
from bot.store.members import MemberHasher

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2000
_MENTION_TRIM = " \t,，:："


@dataclass(slots=True)
class ChatService:
    """Turn an inbound Message into at most one Reply, recording what happened."""

    dispatcher: Dispatcher
    redis: Redis
    hasher: MemberHasher
    settings: Settings

    async def handle(self, message: Message) -> Reply | None:
        """Answer `message` (or stay quiet) and record its metrics in one round trip."""
        message = self.address(message)
        member = self.hasher(message.channel, message.user)
        reply = await self.dispatcher.feed(message, member=member)
        if reply is None or reply.intent == ACK_INTENT:
            return reply  # an acknowledged button press is not a question: the quiz counts it
        now = message.at.astimezone(ZoneInfo(self.settings.timezone))
        async with self.redis.pipeline(transaction=False) as pipe:
            metrics.record_reply(pipe, message, reply, member, now.date())
            if reply.follow_up:
                conversations.remember_menu(pipe, message.conversation, member, reply.follow_up)
            if message.group:
                conversations.count_reply(pipe, message.conversation, int(now.timestamp()) // 60)
            results = await pipe.execute()
        if message.group and int(results[-2]) > self.settings.group_reply_limit:
            log.info(
                "reply limit reached in group %s; msg %s not answered",
                message.group.id,
                message.msg_id,
            )
            return None
        return reply

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
