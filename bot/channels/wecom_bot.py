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
its buttons with what became of the press. Voice, mixed, quoted, image and file messages and the
other events are read in wecom_bot_inbound and answered in wecom_bot_answer.
The long connection (bot/channels/wecom_bot_ws.py, setup_wecom_bot_ws) answers through the same
`answer`, so both transports parse, deduplicate and route alike.
Only a mode's own secrets turn it on: WECOM_BOT_TOKEN/WECOM_BOT_AES_KEY the callback,
WECOM_BOT_SECRET the long connection; WECOM_BOT_ID belongs to both (API 模式只能选择一种方式).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from aiohttp import web
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException

from bot.appkeys import REDIS, SERVICE
from bot.channels.base import InboundError
from bot.channels.callback import loads_object, open_json_envelope, signed_body
from bot.channels.inbound import Picture, fetch_picture
from bot.channels.wechat_crypto import (
    FORBIDDEN,
    MALFORMED,
    REPLAY_WINDOW_SECONDS,
    REPLY_DEADLINE_SECONDS,
    CallbackGuard,
    LateReplies,
    decryption,
    env_base,
    env_value,
    env_window,
    read_body,
    sign,
)
from bot.channels.wecom_api import DEFAULT_API_BASE
from bot.channels.wecom_bot_answer import WeComBot, answer
from bot.channels.wecom_bot_gate import ProactiveGate
from bot.channels.wecom_bot_inbound import CHANNEL, conversation_of, optional, required
from bot.channels.wecom_bot_replies import STREAM_BYTES, ResponseURL
from bot.channels.wecom_bot_ws import Outgoing, WeComBotLink, WeComBotWSConfig
from bot.store.ratelimit import RateLimiter

ROUTE = "/wecom/bot/callback"
RECEIVE_ID = ""  # the smart bot encrypts with an empty receive id (path/101033)


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
        """Read the callback's WECOM_BOT_* settings; None without a token or AES key (the
        long connection needs neither)."""
        own = ("WECOM_BOT_TOKEN", "WECOM_BOT_AES_KEY")
        if not any(env.get(name) for name in own):
            return None
        return cls(
            bot_id=env_value(env, "WECOM_BOT_ID", "id"),
            token=env_value(env, "WECOM_BOT_TOKEN", "token"),
            aes_key=env_value(env, "WECOM_BOT_AES_KEY", "aes_key"),
            api_base=env_base(env, "WECOM_BOT_API_BASE", DEFAULT_API_BASE),
            replay_window=env_window(env),
        )


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
        encrypted = open_json_envelope(self.guard, query, await read_body(request))
        with decryption(InvalidCorpIdException):
            plain = self.prp.decrypt(encrypted, RECEIVE_ID)
        payload = loads_object(plain, "message")
        if required(payload, "aibotid") != self.config.bot_id:
            raise InboundError(403, FORBIDDEN, "message addressed to another bot")
        answer = await self._answer(request.app, payload)
        if not answer:
            return web.Response(text="")
        return web.json_response(self.seal(answer, query["nonce"]))

    def seal(self, plain: str, nonce: str) -> dict[str, str]:
        """Return `plain` encrypted and signed with the callback URL's `nonce`, as the smart bot
        expects a reply (加密与被动回复, path/101033: "需要用回调url中的nonce")."""
        timestamp = str(int(self._clock()))
        encrypted = self.prp.encrypt(plain, RECEIVE_ID).decode()
        signature = sign(self.config.token, timestamp, nonce, encrypted)
        return dict(encrypt=encrypted, msgsignature=signature, timestamp=timestamp, nonce=nonce)

    async def _answer(self, app: web.Application, payload: Mapping[str, Any]) -> str:
        response_url = ResponseURL(optional(payload, "response_url"), self.config.api_base)

        async def push(text: str) -> None:
            await response_url.send(self.session, text)

        async def finish(work: Awaitable[str], context: str) -> str:
            return await self.late.passive(work, push, context, limit=STREAM_BYTES)

        return await answer(app, payload, self.channel, self.proactive, finish, self._fetch)

    async def _fetch(self, picture: Picture) -> bytes | None:
        """Fetch a picture; the callback seals it with the EncodingAESKey (path/100719)."""
        sealed = replace(picture, aes_key=picture.aes_key or self.config.aes_key)
        return await fetch_picture(self.session, sealed)


def _pseudonym(app: web.Application) -> Callable[[str], str]:
    """Return the member hash of a smart-bot userid (the chat service's own hasher)."""
    return functools.partial(app[SERVICE].hasher, CHANNEL)


WECOM_BOT = web.AppKey("wecom_bot", WeComBotCallback)


def setup_wecom_bot(
    app: web.Application, config: WeComBotConfig, *, clock: Callable[[], float] = time.time
) -> None:
    """Add the smart bot's callback routes and its HTTP session's lifetime to `app`."""
    callback = WeComBotCallback(config, clock)
    app[WECOM_BOT] = callback
    app.router.add_get(ROUTE, callback.verify_url)
    app.router.add_post(ROUTE, signed_body(callback.receive))
    app.cleanup_ctx.append(_session_ctx)


async def _session_ctx(app: web.Application) -> AsyncIterator[None]:
    callback = app[WECOM_BOT]
    async with aiohttp.ClientSession() as session:
        callback.session = session
        callback.proactive = ProactiveGate(
            app[REDIS], RateLimiter(app[REDIS]), callback.config.bot_id, _pseudonym(app)
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
        if required(payload, "aibotid") != config.bot_id:
            raise InboundError(403, FORBIDDEN, "message addressed to another bot")
        body = await answer(app, payload, channel, link.gate, finish, fetch)
        chat = payload.get("chatid") or required(payload, "from", "userid")
        return Outgoing(body, conversation_of(payload), str(chat))

    async def fetch(picture: Picture) -> bytes | None:
        return await fetch_picture(sessions[0] if sessions else None, picture)  # its own aeskey

    link = app[WECOM_BOT_LINK] = WeComBotLink(config, reply)
    sessions: list[aiohttp.ClientSession] = []

    async def link_ctx(app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()
        link.gate = ProactiveGate(
            app[REDIS], RateLimiter(app[REDIS]), config.bot_id, _pseudonym(app)
        )
        async with aiohttp.ClientSession() as session:
            sessions.append(session)
            runner = asyncio.create_task(link.run(stop, session, app[REDIS]))
            yield
            stop.set()
            await runner

    app.cleanup_ctx.append(link_ctx)
