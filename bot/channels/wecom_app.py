"""WeCom self-built app (自建应用): staff ask one-to-one in the app and get a passive answer.

GET  /wecom/app/callback?msg_signature&timestamp&nonce&echostr: URL verification; the decrypted
     echostr is the answer (回调配置, https://developer.work.weixin.qq.com/document/path/90930).
POST /wecom/app/callback?msg_signature&timestamp&nonce with <xml><ToUserName/><AgentID/>
     <Encrypt/></xml>: msg_signature covers the Encrypt text; the decrypted message must end with
     our CorpID (the receive id). A passive reply is encrypted the same way; an empty body means
     no reply (接收消息与事件 path/90238, 被动回复消息格式 path/90241). WeCom waits 5 s and
     retries up to three times, so answers are deduplicated by MsgId and a slow answer is sent
     afterwards as an app message. The app's appchat groups hold only internal members: this
     channel is for staff (teachers, grid workers, 企业反诈专员), never a route to residents.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.enterprise.replies import TextReply

from bot.appkeys import REDIS, SERVICE
from bot.channels.base import InboundError
from bot.channels.callback import mount_callback, open_xml_envelope
from bot.channels.dialects import plain_text
from bot.channels.inbound import (
    MENU_QUESTION,
    Inbound,
    Picture,
    answer_inbound,
    fetch_picture,
    from_xml,
)
from bot.channels.wechat_crypto import (
    MALFORMED,
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
from bot.channels.wecom_api import DEFAULT_API_BASE, WeComAPI
from bot.models import Message, Reply
from bot.settings import SettingsError
from bot.store.dedupe import Deduper, event_id

log = logging.getLogger(__name__)

CHANNEL = "wecom_app"
ROUTE = "/wecom/app/callback"


@dataclass(frozen=True, slots=True)
class WeComAppConfig:
    """The self-built app as set in the WeCom admin console (应用管理 → 接收消息 → API接收)."""

    corp_id: str
    token: str
    aes_key: str
    secret: str
    agent_id: int
    api_base: str = DEFAULT_API_BASE
    replay_window: float = REPLAY_WINDOW_SECONDS
    reply_deadline: float = REPLY_DEADLINE_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WeComAppConfig | None:
        """Read the WECOM_* app settings; None when no app setting is present."""
        own = ("WECOM_APP_TOKEN", "WECOM_APP_AES_KEY", "WECOM_APP_SECRET", "WECOM_AGENT_ID")
        if not any(env.get(name) for name in own):
            return None
        agent = (env.get("WECOM_AGENT_ID") or "").strip()
        if not agent.isdigit() or not 0 < int(agent) < 2**31:
            raise SettingsError("WECOM_AGENT_ID", agent, "应为应用的 AgentId（一串数字）")
        return cls(
            corp_id=env_value(env, "WECOM_CORP_ID", "id"),
            token=env_value(env, "WECOM_APP_TOKEN", "token"),
            aes_key=env_value(env, "WECOM_APP_AES_KEY", "aes_key"),
            secret=env_value(env, "WECOM_APP_SECRET", "secret"),
            agent_id=int(agent),
            api_base=env_base(env, "WECOM_API_BASE", DEFAULT_API_BASE),
            replay_window=env_window(env),
        )


class WeComApp:
    """Parse a decrypted app message into a Message; render a Reply as plain text."""

    name = CHANNEL

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def message(self, user: str, text: str, msg_id: str, image: bytes | None = None) -> Message:
        """Return the one-to-one Message of a staff member (with the picture sent), dated now."""
        at = datetime.fromtimestamp(self._clock(), UTC)
        return Message(CHANNEL, user, text, msg_id, at, image=image)

    def render(self, reply: Reply | None) -> str:
        """Return the reply as plain text: passive app replies cannot show markdown."""
        if reply is None:
            return ""
        return "\n\n".join(plain_text(part.text).strip() for part in reply.parts)


class WeComAppCallback:
    """The callback endpoint: verify, decrypt, answer once per MsgId, encrypt the answer."""

    def __init__(self, config: WeComAppConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.guard = CallbackGuard(config.token, config.replay_window, clock)
        self.crypto = WeChatCrypto(config.token, config.aes_key, config.corp_id)
        self.channel = WeComApp(clock)
        self.late = LateReplies(config.reply_deadline)
        self.api: WeComAPI | None = None
        self._clock = clock

    async def verify_url(self, request: web.Request) -> web.Response:
        """Answer WeCom's URL check with the decrypted echostr."""
        query = request.query
        echostr = query.get("echostr", "")
        self.guard.check_query(query, "msg_signature", echostr)
        with decryption(InvalidCorpIdException):
            plain = self.crypto.check_signature(
                query["msg_signature"], query["timestamp"], query["nonce"], echostr
            )
        return web.Response(text=plain)

    async def receive(self, request: web.Request) -> web.Response:
        """Answer one encrypted message with an encrypted passive reply (or an empty body)."""
        query = request.query
        self.guard.check_time(query.get("timestamp"))
        envelope = open_xml_envelope(self.guard, query, await read_body(request))
        with decryption(InvalidCorpIdException):
            plain = self.crypto.decrypt_message(
                envelope, query["msg_signature"], query["timestamp"], query["nonce"]
            )
        fields = parse_xml(plain)
        (user,) = require(fields, "FromUserName")
        answer = await self._answer(request.app, fields)
        if not answer:
            return web.Response(text="")
        reply = TextReply(
            source=self.config.corp_id,
            target=cdata_safe(user),
            content=cdata_safe(answer),
            agent=self.config.agent_id,
            time=int(self._clock()),
        )
        body = self.crypto.encrypt_message(reply.render(), query["nonce"], str(int(self._clock())))
        return web.Response(text=body, content_type="application/xml")

    async def _answer(self, app: web.Application, fields: Mapping[str, str]) -> str:
        kind = fields.get("MsgType", "")
        if not kind:
            raise InboundError(400, MALFORMED, "message without MsgType")
        if kind == "event":
            if fields.get("Event", "").lower() != "click":
                return ""  # enter_agent, view and the like: nobody waits for an answer
            user, created = require(fields, "FromUserName", "CreateTime")
            inbound, msg_id = Inbound.words(MENU_QUESTION), event_id(user, created)
        else:
            user, msg_id = require(fields, "FromUserName", "MsgId")
            inbound = from_xml(fields)

        async def respond(words: str, image: bytes | None) -> str:
            return await self._handle(app, self.channel.message(user, words, msg_id, image))

        async def produce() -> str:
            work = answer_inbound(inbound, respond, self._fetch)
            return await self.late.passive(work, self._pusher(user), f"{CHANNEL} msg {msg_id}")

        return await Deduper(app[REDIS]).once(CHANNEL, msg_id, produce) or ""

    async def _handle(self, app: web.Application, message: Message) -> str:
        return self.channel.render(await app[SERVICE].handle(message))

    async def _fetch(self, picture: Picture) -> bytes | None:
        """Fetch a picture a (signed, encrypted) app message points to."""
        return await fetch_picture(self.api.session if self.api else None, picture)

    def _pusher(self, user: str) -> Callable[[str], Awaitable[None]]:
        async def push(text: str) -> None:
            if self.api is None:
                raise RuntimeError("the WeCom app API is not running")
            await self.api.send_text([user], text)

        return push


WECOM_APP = web.AppKey("wecom_app", WeComAppCallback)


def setup_wecom_app(
    app: web.Application, config: WeComAppConfig, *, clock: Callable[[], float] = time.time
) -> None:
    """Add the WeCom app callback routes and the API client's lifetime to `app`."""
    callback = WeComAppCallback(config, clock)
    app[WECOM_APP] = callback
    mount_callback(
        app,
        ROUTE,
        callback,
        lambda session, redis: WeComAPI(
            session,
            redis,
            corp_id=config.corp_id,
            secret=config.secret,
            agent_id=config.agent_id,
            base=config.api_base,
        ),
    )
