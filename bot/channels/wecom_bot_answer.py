"""Answer one smart-bot message or event the same way over both transports.

Messages (接收消息 path/100719) are read by wecom_bot_inbound; what has words goes to the chat
service, what has none gets a hint. Events (接收事件 path/101027): a card press is scored and
updates the presser's card; enter_chat (a member opening the bot's chat, once a day) gets a
welcome; feedback_event takes only an empty reply; any other event needs none. A stream refresh
needs none either: every stream we send is finished in its first reply.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.appkeys import REDIS, SERVICE, SETTINGS
from bot.channels.dialects import plain_text, smart_bot_markdown
from bot.channels.inbound import Fetch, answer_inbound
from bot.channels.wecom_bot_gate import ProactiveGate
from bot.channels.wecom_bot_inbound import (
    CHANNEL,
    card_press,
    conversation_of,
    inbound_of,
    optional,
    required,
)
from bot.channels.wecom_bot_replies import for_presser, stream_body, update_body, welcome_body
from bot.models import Group, GroupKind, Message, Reply
from bot.store.dedupe import Deduper
from bot.store.groups import GroupRegistry

WELCOME = (
    "您好！我是{name}，专门帮大家识破电信网络诈骗。拿不准的电话、短信、链接，"
    "都可以发给我问问；群里请先 @我 再提问。"
)
Finish = Callable[[Awaitable[str], str], Awaitable[str]]


class WeComBot:
    """Parse a decrypted smart-bot message into a Message; render a Reply as its markdown."""

    name = CHANNEL

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def parse(
        self, payload: Mapping[str, Any], group: Group | None, text: str, image: bytes | None
    ) -> Message:
        """Return the Message saying `text` (the words read from the payload), or its picture."""
        return replace(self._message(payload, text, group), image=image)

    def parse_press(self, payload: Mapping[str, Any], group: Group | None = None) -> Message:
        """Return the Message of a card button press: the button's key as text, the card's
        task id as `card`."""
        press = card_press(payload)
        if press is None:
            raise ValueError("not a template card event")
        task_id, key = press
        return self._message(payload, key, group, card=task_id)

    def _message(
        self, payload: Mapping[str, Any], text: str, group: Group | None, card: str = ""
    ) -> Message:
        return Message(
            channel=CHANNEL,
            user=required(payload, "from", "userid"),
            text=text,
            msg_id=required(payload, "msgid"),
            at=datetime.fromtimestamp(self._clock(), UTC),
            group=group,
            addressed=True,  # the smart bot only hears messages that @ it (path/100719)
            card=card,
        )

    def render(self, reply: Reply | None) -> str:
        """Return the reply as one stream text, in the smart bot's markdown subset."""
        if reply is None:
            return ""
        return "\n\n".join(_part(part.format, part.text) for part in reply.parts)


def _part(kind: str, text: str) -> str:
    return (smart_bot_markdown(text) if kind == "markdown" else plain_text(text)).strip()


async def answer(
    app: web.Application,
    payload: Mapping[str, Any],
    channel: WeComBot,
    proactive: ProactiveGate | None,
    finish: Finish,
    fetch: Fetch,
) -> str:
    """Return the reply body to one callback as JSON ("" for none), produced once per msgid.

    `finish(work, context)` awaits a message's answer within the transport's own deadline,
    `fetch` gets a picture's bytes (sealed with the transport's key). A
    card press is answered at once: scoring it takes milliseconds, well inside the 5 s WeCom
    gives a card update.
    """
    kind = required(payload, "msgtype")
    if kind == "stream":
        return ""  # a refresh of a stream we finished in its first reply
    msg_id, conversation = required(payload, "msgid"), conversation_of(payload)
    if kind == "event":
        produce = _event(app, payload, channel)
    else:
        produce = _message(app, payload, channel, finish, fetch)
    if produce is None:
        return ""
    if proactive is not None:
        await proactive.remember(conversation)
    body = await Deduper(app[REDIS]).once(CHANNEL, msg_id, produce) or ""
    if body and kind == "event" and card_press(payload) is not None:
        return for_presser(body, required(payload, "from", "userid"))
    return body


def _message(
    app: web.Application,
    payload: Mapping[str, Any],
    channel: WeComBot,
    finish: Finish,
    fetch: Fetch,
) -> Callable[[], Awaitable[str]]:
    """Return the work of answering a message: its words or picture, or a hint for neither."""
    msg_id, inbound = required(payload, "msgid"), inbound_of(payload)

    async def produce() -> str:
        reply: Reply | None = None

        async def respond(words: str, image: bytes | None) -> str:
            nonlocal reply
            message = channel.parse(payload, await _group(app, payload), words, image)
            reply = await app[SERVICE].handle(message)
            return channel.render(reply)

        text = await finish(answer_inbound(inbound, respond, fetch), f"{CHANNEL} msg {msg_id}")
        return stream_body(msg_id, text, reply.choices if reply else None)

    return produce


def _event(
    app: web.Application, payload: Mapping[str, Any], channel: WeComBot
) -> Callable[[], Awaitable[str]] | None:
    """Return the work of answering an event, or None for events that take no answer."""
    kind = optional(payload, "event", "eventtype")
    if kind == "enter_chat":

        async def welcome() -> str:
            return welcome_body(WELCOME.format(name=app[SETTINGS].bot_name))

        return welcome
    if card_press(payload) is None:
        return None  # feedback_event takes only an empty reply; the rest need none

    async def press() -> str:
        message = channel.parse_press(payload, await _group(app, payload))
        return update_body(message, await app[SERVICE].handle(message))

    return press


async def _group(app: web.Application, payload: Mapping[str, Any]) -> Group | None:
    if payload.get("chattype") != "group":
        return None
    group_id = conversation_of(payload)
    found = await GroupRegistry(app[REDIS]).get(group_id)
    return found or Group(id=group_id, name="", kind=GroupKind.UNBOUND)
