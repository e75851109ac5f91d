"""WeCom smart bot (智能机器人, API mode, HTTP callback): residents @ the bot in work groups.

GET  /wecom/bot/callback?msg_signature&timestamp&nonce&echostr: URL verification; answer the
     decrypted echostr (回调和回复的加解密方案, https://developer.work.weixin.qq.com/document/path/101033).
POST /wecom/bot/callback?msg_signature&timestamp&nonce with {"encrypt": ...}: the same AES scheme
     as the self-built app, but JSON and with an EMPTY receive id ("企业内部智能机器人场景中，
     ReceiveId为空"). The message (接收消息 path/100719) carries msgid, aibotid, chatid (group
     chats only), chattype single|group, from.userid, response_url, msgtype and text.content.
     Group members reach the bot only by @-mentioning it, so every message is addressed.
The passive reply (被动回复消息 path/101031) is an encrypted JSON {"encrypt", "msgsignature",
"timestamp", "nonce"} around a finished stream message; an empty body means no reply. A slow
answer goes out afterwards as markdown through the message's response_url (主动回复消息
path/101138: one call per response_url, valid for one hour).
A quiz question also carries its options as buttons: a 按钮交互型 template card (模板卡片类型
path/101032) sent with the stream as "stream_with_template_card". A press arrives as an event
(接收事件 path/101027: msgtype "event", event.eventtype "template_card_event" with task_id and
event_key) that must be answered within 5 s; the answer updates the presser's card only
(被动回复消息 → 模版卡片更新消息: response_type "update_template_card" with userids), replacing
its buttons with what became of the press.
The long connection (bot/channels/wecom_bot_ws.py, setup_wecom_bot_ws) answers through the same
`answer`, so both transports parse, deduplicate and route alike.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException

from bot.appkeys import REDIS, SERVICE
from bot.channels.base import InboundError
from bot.channels.wechat_crypto import (
    FORBIDDEN,
    MALFORMED,
    REPLAY_WINDOW_SECONDS,
    REPLY_DEADLINE_SECONDS,
    TEXT_ONLY,
    CallbackGuard,
    LateReplies,
    decryption,
    env_base,
    env_value,
    env_window,
    read_body,
    sign,
)
from bot.channels.wecom_api import DEFAULT_API_BASE, WeChatAPIError, request_json
from bot.channels.wecom_bot_ws import (
    GROUP_PREFIX,
    Outgoing,
    ProactiveGate,
    WeComBotLink,
    WeComBotWSConfig,
)
from bot.models import ACK_INTENT, Choices, Group, GroupKind, Message, Reply
from bot.store.dedupe import Deduper
from bot.store.groups import GroupRegistry
from bot.store.ratelimit import RateLimiter

CHANNEL = "wecom_bot"
ROUTE = "/wecom/bot/callback"
RECEIVE_ID = ""  # the smart bot encrypts with an empty receive id (path/101033)
# stream.content limit in utf-8 bytes as we read 被动回复消息 path/101031 (not in our stored copy)
STREAM_BYTES = 20480
_MENTION = re.compile(r"^\s*@\S+\s+")  # WeCom puts "@<bot name> " before the text


@dataclass(frozen=True, slots=True)
class WeComBotConfig:
    """The smart bot as set in the WeCom admin console (智能机器人 → API模式 → 回调URL)."""

    bot_id: str
    token: str
    aes_key: str
    api_base: str = DEFAULT_API_BASE  # response_url must point here
    replay_window: float = REPLAY_WINDOW_SECONDS
    reply_deadline: float = REPLY_DEADLINE_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WeComBotConfig | None:
        """Read the WECOM_BOT_* settings; None when none of them is present."""
        own = ("WECOM_BOT_ID", "WECOM_BOT_TOKEN", "WECOM_BOT_AES_KEY")
        if not any(env.get(name) for name in own):
            return None
        return cls(
            bot_id=env_value(env, "WECOM_BOT_ID", "id"),
            token=env_value(env, "WECOM_BOT_TOKEN", "token"),
            aes_key=env_value(env, "WECOM_BOT_AES_KEY", "aes_key"),
            api_base=env_base(env, "WECOM_BOT_API_BASE", DEFAULT_API_BASE),
            replay_window=env_window(env),
        )


def loads_object(data: bytes | str, what: str) -> dict[str, Any]:
    """Return the JSON object in `data`, refusing anything else (400)."""
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise InboundError(400, MALFORMED, f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise InboundError(400, MALFORMED, f"{what} is not a JSON object")
    return value


def _string(payload: Mapping[str, Any], *path: str) -> str:
    """Return the non-empty string at `path` in nested objects, or raise InboundError (400)."""
    value: Any = payload
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    if not isinstance(value, str) or not value:
        raise InboundError(400, MALFORMED, f"missing {'.'.join(path)}")
    return value


class WeComBot:
    """Parse a decrypted smart-bot message into a Message; render a Reply as markdown."""

    name = CHANNEL

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def parse(self, payload: Mapping[str, Any], group: Group | None = None) -> Message:
        """Return the Message in a decrypted text message; the mention itself is removed."""
        text = _MENTION.sub("", _string(payload, "text", "content"), count=1).strip()
        return self._message(payload, text, group)

    def parse_press(self, payload: Mapping[str, Any], group: Group | None = None) -> Message:
        """Return the Message of a card button press: the button's key as text, the card's
        task id as `card`."""
        press = card_press(payload)
        if press is None:
            raise InboundError(400, MALFORMED, "not a template card event")
        task_id, key = press
        return self._message(payload, key, group, card=task_id)

    def _message(
        self, payload: Mapping[str, Any], text: str, group: Group | None, card: str = ""
    ) -> Message:
        return Message(
            channel=CHANNEL,
            user=_string(payload, "from", "userid"),
            text=text,
            msg_id=_string(payload, "msgid"),
            at=datetime.fromtimestamp(self._clock(), UTC),
            group=group,
            addressed=True,  # the smart bot only hears messages that @ it (path/100719)
            card=card,
        )

    def render(self, reply: Reply | None) -> str:
        """Return the reply as one markdown text: stream content shows markdown."""
        if reply is None:
            return ""
        return "\n\n".join(part.text.strip() for part in reply.parts)


def card_press(payload: Mapping[str, Any]) -> tuple[str, str] | None:
    """Return (task id, event key) of a template card event, or None for any other event.

    The fields sit in event.template_card_event; older payloads put them in event itself.
    """
    event = payload.get("event")
    if not isinstance(event, dict) or event.get("eventtype") != "template_card_event":
        return None
    inner = event.get("template_card_event")
    fields = inner if isinstance(inner, dict) else event
    task_id, key = fields.get("task_id"), fields.get("event_key")
    if not (isinstance(task_id, str) and task_id and isinstance(key, str) and key):
        raise InboundError(400, MALFORMED, "template card event without task_id or event_key")
    return task_id, key


def answer_card(choices: Choices) -> dict[str, Any]:
    """Return a question's options as a 按钮交互型 card: one button per letter (at most 6)."""
    return {
        "card_type": "button_interaction",
        "main_title": {"title": choices.title},
        "task_id": choices.key,
        "button_list": [{"text": letter, "style": 1, "key": letter} for letter in choices.letters],
    }


def stream_body(msg_id: str, text: str, choices: Choices | None = None) -> str:
    """Return the passive reply holding `text` (and the answer card), as JSON ("" for none)."""
    if not text:
        return ""
    stream_id = hashlib.sha256(msg_id.encode()).hexdigest()[:32]
    body: dict[str, Any] = {
        "msgtype": "stream",
        "stream": {"id": stream_id, "finish": True, "content": text},
    }
    if choices is not None:
        body |= {"msgtype": "stream_with_template_card", "template_card": answer_card(choices)}
    return json.dumps(body, ensure_ascii=False)


def update_body(message: Message, reply: Reply | None) -> str:
    """Return the update of the presser's card: its buttons replaced by the acknowledgement."""
    if reply is None or reply.intent != ACK_INTENT:
        return ""  # nothing acknowledged the press (a card no quiz posted): leave the card be
    note = reply.parts[0].text.strip()
    card = {
        "card_type": "button_interaction",
        "main_title": {"title": note},
        "task_id": message.card,
        "button_list": [{"text": message.text, "style": 1, "key": message.text}],
        "replace_text": note,
    }
    body = {"response_type": "update_template_card", "userids": [message.user]}
    return json.dumps(body | {"template_card": card}, ensure_ascii=False)


def conversation_of(payload: Mapping[str, Any]) -> str:
    """Return the conversation a message came from: the group chat, or the member 1:1."""
    if payload.get("chattype") == "group":
        return GROUP_PREFIX + _string(payload, "chatid")
    return "user:" + _string(payload, "from", "userid")


class WeComBotCallback:
    """The callback endpoint: verify, decrypt, answer once per msgid, encrypt the answer."""

    def __init__(self, config: WeComBotConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.guard = CallbackGuard(config.token, config.replay_window, clock)
        self.prp = PrpCrypto(WeChatCrypto(config.token, config.aes_key, RECEIVE_ID).key)
        self.channel = WeComBot(clock)
        self.late = LateReplies(config.reply_deadline)
        self.session: aiohttp.ClientSession | None = None
        self.proactive: ProactiveGate | None = None
        self._clock = clock

    async def verify_url(self, request: web.Request) -> web.Response:
        """Answer WeCom's URL check with the decrypted echostr."""
        query = request.query
        echostr = query.get("echostr", "")
        self.guard.check_query(query, "msg_signature", echostr)
        if not echostr:
            raise InboundError(400, MALFORMED, "echostr missing")
        with decryption(InvalidCorpIdException):
            plain = self.prp.decrypt(echostr, RECEIVE_ID)
        return web.Response(text=plain)

    async def receive(self, request: web.Request) -> web.Response:
        """Answer one encrypted message with an encrypted stream reply (or an empty body)."""
        query = request.query
        self.guard.check_time(query.get("timestamp"))
        encrypted = _string(loads_object(await read_body(request), "body"), "encrypt")
        self.guard.check_query(query, "msg_signature", encrypted)
        with decryption(InvalidCorpIdException):
            plain = self.prp.decrypt(encrypted, RECEIVE_ID)
        payload = loads_object(plain, "message")
        if _string(payload, "aibotid") != self.config.bot_id:
            raise InboundError(403, FORBIDDEN, "message addressed to another bot")
        answer = await self._answer(request.app, payload)
        if not answer:
            return web.Response(text="")
        return web.json_response(self.seal(answer))

    def seal(self, plain: str, nonce: str | None = None) -> dict[str, str]:
        """Return `plain` encrypted and signed the way the smart bot expects a reply."""
        nonce = nonce or secrets.token_hex(8)
        timestamp = str(int(self._clock()))
        encrypted = self.prp.encrypt(plain, RECEIVE_ID).decode()
        signature = sign(self.config.token, timestamp, nonce, encrypted)
        return dict(encrypt=encrypted, msgsignature=signature, timestamp=timestamp, nonce=nonce)

    async def _answer(self, app: web.Application, payload: Mapping[str, Any]) -> str:
        push = self._pusher(payload.get("response_url"))

        async def finish(work: Awaitable[str], context: str) -> str:
            return await self.late.passive(work, push, context, limit=STREAM_BYTES)

        return await answer(app, payload, self.channel, self.proactive, finish)

    def _pusher(self, response_url: Any) -> Callable[[str], Awaitable[None]]:
        async def push(text: str) -> None:
            if not isinstance(response_url, str) or not response_url.startswith(
                self.config.api_base + "/"
            ):
                raise RuntimeError("the message has no usable response_url")
            if self.session is None:
                raise RuntimeError("the smart bot's HTTP session is not running")
            body = {"msgtype": "markdown", "markdown": {"content": text}}
            answer = await request_json(self.session, "POST", response_url, params={}, json=body)
            if answer.get("errcode", 0) != 0:
                raise WeChatAPIError("aibot/response", answer["errcode"], answer.get("errmsg", ""))

        return push


async def answer(
    app: web.Application,
    payload: Mapping[str, Any],
    channel: WeComBot,
    proactive: ProactiveGate | None,
    finish: Callable[[Awaitable[str], str], Awaitable[str]],
) -> str:
    """Return the reply body to one callback as JSON ("" for none), produced once per msgid.

    `finish(work, context)` awaits a message's answer within the transport's own deadline. A
    card press is answered at once: scoring it takes milliseconds, well inside the 5 s WeCom
    gives a card update.
    """
    kind = _string(payload, "msgtype")
    pressed = kind == "event" and card_press(payload) is not None
    if kind == "stream" or (kind == "event" and not pressed):
        return ""  # a refresh of a finished stream, entering the chat, or feedback
    msg_id, conversation = _string(payload, "msgid"), conversation_of(payload)
    group = await _group(app, payload) if kind in ("text", "event") else None
    if proactive is not None:
        await proactive.remember(conversation)

    async def produce() -> str:
        if pressed:
            message = channel.parse_press(payload, group)
            return update_body(message, await app[SERVICE].handle(message))
        context = f"{CHANNEL} msg {msg_id}"
        if kind != "text":
            return stream_body(msg_id, await finish(_ready(TEXT_ONLY), context))
        reply: Reply | None = None

        async def handle() -> str:
            nonlocal reply
            reply = await app[SERVICE].handle(channel.parse(payload, group))
            return channel.render(reply)

        text = await finish(handle(), context)
        return stream_body(msg_id, text, reply.choices if reply else None)

    return await Deduper(app[REDIS]).once(CHANNEL, msg_id, produce) or ""


async def _group(app: web.Application, payload: Mapping[str, Any]) -> Group | None:
    if payload.get("chattype") != "group":
        return None
    group_id = conversation_of(payload)
    found = await GroupRegistry(app[REDIS]).get(group_id)
    return found or Group(id=group_id, name="", kind=GroupKind.UNBOUND)


async def _ready(text: str) -> str:
    return text


WECOM_BOT = web.AppKey("wecom_bot", WeComBotCallback)


def setup_wecom_bot(
    app: web.Application, config: WeComBotConfig, *, clock: Callable[[], float] = time.time
) -> None:
    """Add the smart bot's callback routes and its HTTP session's lifetime to `app`."""
    callback = WeComBotCallback(config, clock)
    app[WECOM_BOT] = callback
    app.router.add_get(ROUTE, callback.verify_url)
    app.router.add_post(ROUTE, callback.receive)
    app.cleanup_ctx.append(_session_ctx)


async def _session_ctx(app: web.Application) -> AsyncIterator[None]:
    callback = app[WECOM_BOT]
    async with aiohttp.ClientSession() as session:
        callback.session = session
        callback.proactive = ProactiveGate(
            app[REDIS], RateLimiter(app[REDIS]), callback.config.bot_id
        )
        yield
        await callback.late.close()
        callback.session = None
        callback.proactive = None


WECOM_BOT_LINK = web.AppKey("wecom_bot_link", WeComBotLink)


def setup_wecom_bot_ws(app: web.Application, config: WeComBotWSConfig) -> None:
    """Hold the smart bot's long connection (when this instance wins the lease) with `app`."""
    channel = WeComBot()

    async def finish(work: Awaitable[str], context: str) -> str:
        return await work  # no callback deadline: the reply goes out when ready

    async def reply(payload: dict[str, Any]) -> Outgoing:
        if _string(payload, "aibotid") != config.bot_id:
            raise InboundError(403, FORBIDDEN, "message addressed to another bot")
        body = await answer(app, payload, channel, link.gate, finish)
        chat = payload.get("chatid") or _string(payload, "from", "userid")
        return Outgoing(body, conversation_of(payload), str(chat))

    link = app[WECOM_BOT_LINK] = WeComBotLink(config, reply)

    async def link_ctx(app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()
        link.gate = ProactiveGate(app[REDIS], RateLimiter(app[REDIS]), config.bot_id)
        async with aiohttp.ClientSession() as session:
            runner = asyncio.create_task(link.run(stop, session, app[REDIS]))
            yield
            stop.set()
            await runner

    app.cleanup_ctx.append(link_ctx)
