"""The police WeChat 公众号: followers ask by text and get a passive XML answer within 5 s.

GET  /wechat/oa/callback?signature&timestamp&nonce&echostr: URL check, echostr comes back as is
     (接入指南: signature = SHA-1 of the sorted token, timestamp and nonce).
POST /wechat/oa/callback: plain mode (signature over token/timestamp/nonce only, so the replay
     window alone bounds the reuse of a captured query; once WECHAT_OA_AES_KEY is set, plain
     requests are refused) or safe mode (encrypt_type=aes, msg_signature over token/timestamp/
     nonce/Encrypt, AES with our AppID as receive id; 消息加解密说明). Besides text, a voice
     message with 语音识别 on carries Recognition and is answered like text; a shared link by its
     title and address; pictures, video, location and anything else get a hint
     (bot/channels/inbound.py); a menu click gets the menu, a new follower a welcome.
     The passive reply must come within 5 s, else WeChat retries up to three times and then
     tells the follower the account cannot answer; "success" means no reply (被动回复用户消息).
     A slower answer is sent afterwards through the customer-service API, which allows at most
     5 messages within 48 hours of the follower's message (客服消息: 45015 past 48 h, 45047
     past 5 messages).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.replies import TextReply

from bot.appkeys import SERVICE, SETTINGS
from bot.channels.base import InboundError
from bot.channels.callback import mount_callback, open_xml_envelope
from bot.channels.deadline import Deadline
from bot.channels.dialects import plain_text
from bot.channels.inbound import (
    MENU_QUESTION,
    Fetch,
    Picture,
    answer_inbound,
    fetch_picture,
    from_xml,
    no_fetch,
)
from bot.channels.splitting import split_text
from bot.channels.wechat_crypto import (
    FORBIDDEN,
    MALFORMED,
    PASSIVE_TEXT_BYTES,
    REPLAY_WINDOW_SECONDS,
    REPLY_DEADLINE_SECONDS,
    CallbackGuard,
    LateReplies,
    cdata_safe,
    decryption,
    env_base,
    env_value,
    env_window,
    parse_xml,
    read_body,
    require,
)
from bot.channels.wecom_api import SharedToken, TokenedAPI, WeChatAPIError, request_json
from bot.models import Message, Reply
from bot.store.dedupe import event_id

log = logging.getLogger(__name__)

CHANNEL = "wechat_oa"
ROUTE = "/wechat/oa/callback"
DEFAULT_API_BASE = "https://api.weixin.qq.com"
# 40001 invalid credential (the token is not the latest), 40014 invalid, 42001 expired.
STALE_TOKEN = frozenset({40001, 40014, 42001})
WELCOME = (
    "您好，欢迎关注！我是{name}，专门帮大家识破电信网络诈骗。"
    "拿不准的电话、短信、链接，都可以打字问我。"
)


@dataclass(frozen=True, slots=True)
class OfficialAccountConfig:
    """The 公众号 as set in 设置与开发 → 基本配置; `aes_key` None means plain mode only."""

    app_id: str
    token: str
    secret: str
    aes_key: str | None = None
    api_base: str = DEFAULT_API_BASE
    replay_window: float = REPLAY_WINDOW_SECONDS
    reply_deadline: float = REPLY_DEADLINE_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OfficialAccountConfig | None:
        """Read the WECHAT_OA_* settings; None when none of them is present."""
        own = ("WECHAT_OA_APP_ID", "WECHAT_OA_TOKEN", "WECHAT_OA_AES_KEY", "WECHAT_OA_SECRET")
        if not any(env.get(name) for name in own):
            return None
        return cls(
            app_id=env_value(env, "WECHAT_OA_APP_ID", "id"),
            token=env_value(env, "WECHAT_OA_TOKEN", "token"),
            secret=env_value(env, "WECHAT_OA_SECRET", "secret"),
            aes_key=env_value(env, "WECHAT_OA_AES_KEY", "aes_key")
            if env.get("WECHAT_OA_AES_KEY")
            else None,
            api_base=env_base(env, "WECHAT_API_BASE", DEFAULT_API_BASE),
            replay_window=env_window(env),
        )


class OfficialAccountAPI:
    """Customer-service messages to followers, with the access token shared through Redis."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        redis: Redis,
        *,
        app_id: str,
        secret: str,
        base: str = DEFAULT_API_BASE,
        timeout: float = 10.0,
    ) -> None:
        self._session, self._base, self._timeout = session, base.rstrip("/"), timeout
        self.session = session  # also fetches the pictures followers send
        self._credentials = {"grant_type": "client_credential", "appid": app_id, "secret": secret}
        token = SharedToken(redis, f"oa:{app_id}", self._fetch_token)
        self.http = TokenedAPI(session, self._base, token, STALE_TOKEN, timeout)

    async def _fetch_token(self) -> tuple[str, int]:
        body = await request_json(
            self._session,
            "GET",
            f"{self._base}/cgi-bin/token",
            params=self._credentials,
            timeout=self._timeout,
        )
        if body.get("errcode") or not body.get("access_token"):
            errcode = int(body.get("errcode") or -1)
            raise WeChatAPIError("token", errcode, str(body.get("errmsg", "")))
        return str(body["access_token"]), int(body.get("expires_in", 7200))

    async def send_text(self, openid: str, text: str) -> int:
        """Send `text` to a follower as customer-service messages; return how many went out."""
        parts = split_text(text, PASSIVE_TEXT_BYTES)
        for part in parts:
            payload = {"touser": openid, "msgtype": "text", "text": {"content": part}}
            await self.http.post("/cgi-bin/message/custom/send", payload)
        return len(parts)


class OfficialAccount:
    """Make a follower's words into a Message; render a Reply as plain text."""

    name = CHANNEL

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def message(self, user: str, text: str, msg_id: str, image: bytes | None = None) -> Message:
        """Return a one-to-one Message from a follower (with the picture sent), dated now."""
        at = datetime.fromtimestamp(self._clock(), UTC)
        return Message(CHANNEL, user, text, msg_id, at, image=image)

    def render(self, reply: Reply | None) -> str:
        """Return the reply as plain text: WeChat chats show no markdown."""
        if reply is None:
            return ""
        return "\n\n".join(_plain_text(part.text) for part in reply.parts)


@lru_cache(maxsize=4096)
def _plain_text(markdown: str) -> str:
    """Return a reply part as plain text; most replies are a pure function of their topic."""
    return plain_text(markdown).strip()


@dataclass(frozen=True, slots=True)
class _Framing:
    """The 公众号's passive answer: the greeting, the reply as text, cut at one message."""

    channel: OfficialAccount
    greeting: str

    def compose(self, reply: Reply | None) -> str:
        """Return the greeting (if any) and the reply as plain text."""
        text = self.channel.render(reply)
        return "\n\n".join(part for part in (self.greeting, text) if part)

    def split(self, text: str) -> tuple[str, str]:
        """Return the first passive message's worth and the rest, pushed afterwards."""
        first, *rest = split_text(text, PASSIVE_TEXT_BYTES) or [""]
        return first, "".join(rest)


class OfficialAccountCallback:
    """The callback endpoint: verify, (decrypt,) answer once per message, reply in time."""

    def __init__(
        self, config: OfficialAccountConfig, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config
        self.guard = CallbackGuard(config.token, config.replay_window, clock)
        self.crypto = (
            WeChatCrypto(config.token, config.aes_key, config.app_id) if config.aes_key else None
        )
        self.channel = OfficialAccount(clock)
        self.late = LateReplies(config.reply_deadline)
        self.api: OfficialAccountAPI | None = None
        self._clock = clock

    async def verify_url(self, request: web.Request) -> web.Response:
        """Answer WeChat's URL check with the echostr it sent."""
        self.guard.check_query(request.query, "signature")
        return web.Response(text=request.query.get("echostr", ""))

    async def receive(self, request: web.Request) -> web.Response:
        """Answer one message with a passive XML reply, or "success" for none."""
        query = request.query
        safe = query.get("encrypt_type", "raw").lower() == "aes"
        self.guard.check_time(query.get("timestamp"))
        if self.crypto is not None and not safe:
            # In safe mode WeChat still sends the plain signature, which does not cover the
            # body: accepting plain requests would let a captured query carry any body.
            raise InboundError(403, FORBIDDEN, "plain-mode message while safe mode is set")
        if safe:
            fields = self._decrypt(query, await read_body(request))
        else:
            self.guard.check_query(query, "signature")  # it does not cover the body
            fields = parse_xml(await read_body(request))
        ours, user = require(fields, "ToUserName", "FromUserName")
        deadline = Deadline(request, self.config.reply_deadline, self.late.tasks)
        try:
            fetch = self._fetch if safe else no_fetch  # a plain-mode body is not signed
            answer = await self._answer(request.app, fields, deadline, fetch)
        finally:
            early = deadline.settle()
        if early is not None:
            return early  # "success" has gone out already; the answer is pushed
        if not answer:
            return web.Response(text="success")
        now = int(self._clock())
        xml = TextReply(
            source=cdata_safe(ours), target=cdata_safe(user), content=cdata_safe(answer), time=now
        ).render()
        if safe and self.crypto is not None:
            xml = self.crypto.encrypt_message(xml, query["nonce"], str(now))
        return web.Response(text=xml, content_type="application/xml")

    def _decrypt(self, query: Mapping[str, str], body: bytes) -> dict[str, str]:
        if self.crypto is None:
            raise InboundError(403, FORBIDDEN, "safe-mode message but WECHAT_OA_AES_KEY is unset")
        envelope = open_xml_envelope(self.guard, query, body)
        with decryption(InvalidAppIdException):
            plain = self.crypto.decrypt_message(
                envelope, query["msg_signature"], query["timestamp"], query["nonce"]
            )
        return parse_xml(plain)

    async def _answer(
        self, app: web.Application, fields: Mapping[str, str], deadline: Deadline, fetch: Fetch
    ) -> str:
        kind = fields.get("MsgType", "")
        if not kind:
            raise InboundError(400, MALFORMED, "message without MsgType")
        if kind == "event":
            return await self._event(app, fields, deadline)
        user, msg_id = require(fields, "FromUserName", "MsgId")

        async def respond(words: str, image: bytes | None) -> str:
            message = self.channel.message(user, words, msg_id, image)
            return await self._once(app, deadline, message)

        return await answer_inbound(from_xml(fields), respond, fetch)

    async def _event(self, app: web.Application, fields: Mapping[str, str], deadline: Deadline
                     ) -> str:  # fmt: skip
        """Welcome a new follower, answer a menu click with the menu; other events need none."""
        event = fields.get("Event", "").lower()
        if event not in ("subscribe", "click"):
            return ""  # unsubscribe, view, scan, location reports: nobody waits for an answer
        user, created = require(fields, "FromUserName", "CreateTime")
        message = self.channel.message(user, MENU_QUESTION, event_id(user, created))
        greeting = WELCOME.format(name=app[SETTINGS].bot_name) if event == "subscribe" else ""
        return await self._once(app, deadline, message, greeting)

    async def _fetch(self, picture: Picture) -> bytes | None:
        """Fetch a picture a safe-mode message (body signed) points to."""
        return await fetch_picture(self.api.session if self.api else None, picture)

    async def _once(
        self, app: web.Application, deadline: Deadline, message: Message, greeting: str = ""
    ) -> str:
        framing = _Framing(self.channel, greeting)
        answer = await app[SERVICE].answer_once(message, framing, deadline.late)
        if answer.push:
            context = f"{CHANNEL} msg {message.msg_id}"
            self.late.push_soon(self._pusher(message.user), answer.push, context)
        return answer.passive

    def _pusher(self, openid: str) -> Callable[[str], Awaitable[int]]:
        async def push(text: str) -> int:
            if self.api is None:
                raise RuntimeError("the 公众号 API is not running")
            return await self.api.send_text(openid, text)

        return push


OFFICIAL_ACCOUNT = web.AppKey("official_account", OfficialAccountCallback)


def setup_official_account(
    app: web.Application,
    config: OfficialAccountConfig,
    *,
    clock: Callable[[], float] = time.time,
) -> None:
    """Add the 公众号 callback routes and the customer-service client's lifetime to `app`."""
    callback = OfficialAccountCallback(config, clock)
    app[OFFICIAL_ACCOUNT] = callback
    mount_callback(
        app,
        ROUTE,
        callback,
        lambda session, redis: OfficialAccountAPI(
            session, redis, app_id=config.app_id, secret=config.secret, base=config.api_base
        ),
    )
