"""Loopback fakes of the WeCom server API and the 公众号 API, and callers that play WeChat.

FakeWeComAPI answers GET /cgi-bin/gettoken (the same token while it is valid, as WeCom does;
40013 wrong corpid, 40001 wrong secret) and POST /cgi-bin/message/send (41001 no token, 40014
unknown token, 42001 expired token, 40056 wrong agentid, 44004 empty content, 45008 too many
articles, 81013 no valid recipient, 45009 past the per-minute call allowance; a member gets at
most 30 messages a minute from the app, more are dropped silently).

FakeOfficialAccountAPI answers GET /cgi-bin/token (a new token each call; the previous one keeps
working for 5 more minutes) and POST /cgi-bin/message/custom/send (40001 unknown token, 42001
expired, 45015 outside 48 hours of the follower's last message, 45047 past 5 messages).

WeComCaller and OfficialAccountCaller post to our callbacks what WeCom and WeChat would: signed
with wechatpy's signer and encrypted with wechatpy's crypto, so they check our side
independently of our own helpers.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import xmltodict  # type: ignore[import-untyped]
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis
from wechatpy.crypto import PrpCrypto as OAPrpCrypto
from wechatpy.crypto import WeChatCrypto as OACrypto
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.utils import WeChatSigner

from bot.channels.wecom_api import WeComAPI

TEXT_BYTES = 2048
MINUTE = 60.0
CS_WINDOW, CS_QUOTA, TOKEN_GRACE = 48 * 3600.0, 5, 300.0


def _error(errcode: int, errmsg: str) -> web.Response:
    return web.json_response({"errcode": errcode, "errmsg": errmsg})


@dataclass
class _Fake:
    """A fake API served on 127.0.0.1; `base` is what to configure as the API base."""

    base: str = ""
    _runner: web.AppRunner | None = None
    _sent_changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def app(self) -> web.Application:
        """Return a fresh application serving this fake's state."""
        raise NotImplementedError

    async def start(self) -> str:
        """Serve on a free loopback port and return the base URL."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.base

    async def close(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def _notify(self) -> None:
        async with self._sent_changed:
            self._sent_changed.notify_all()

    async def wait_for(self, check: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until `check()` holds after a message arrives (or already holds)."""
        async with asyncio.timeout(timeout), self._sent_changed:
            await self._sent_changed.wait_for(check)


@dataclass
class AppMessage:
    """One app message WeCom accepted: its recipients, type and body."""

    users: tuple[str, ...]
    msgtype: str
    body: dict[str, Any]


@dataclass
class FakeWeComAPI(_Fake):
    """The WeCom server API of one self-built app, with tokens, limits and errcodes."""

    corp_id: str = "wwfakecorp0000001"
    secret: str = "fake-app-secret-0123456789abcdef"
    agent_id: int = 1000002
    members: set[str] | None = None  # None: every user id is a member
    expires_in: int = 7200
    token_delay: float = 0.0  # seconds gettoken takes, to widen races between instances
    api_limit: int = 10_000  # calls a minute before 45009
    member_limit: int = 30  # messages a minute one member may get from the app
    clock: Callable[[], float] = time.monotonic
    token_requests: int = 0
    tokens_issued: int = 0
    sent: list[AppMessage] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    truncated: int = 0
    _tokens: dict[str, float] = field(default_factory=dict)
    _current: str = ""
    _faults: deque[int] = field(default_factory=deque)
    _calls: deque[float] = field(default_factory=deque)
    _received: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    @property
    def app(self) -> web.Application:
        """Return a fresh application serving this fake's state."""
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._send)
        return app

    def client(self, session: aiohttp.ClientSession, redis: Redis) -> WeComAPI:
        """Return our WeCom API client configured for this fake app."""
        return WeComAPI(session, redis, corp_id=self.corp_id, secret=self.secret,
                        agent_id=self.agent_id, base=self.base)  # fmt: skip

    def expire_tokens(self) -> None:
        """Let every issued token run out, as after two hours."""
        for token in self._tokens:
            self._tokens[token] = float("-inf")

    def fail_next(self, *errcodes: int) -> None:
        """Answer the next message/send calls with these errcodes."""
        self._faults.extend(errcodes)

    async def _gettoken(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        if request.query.get("corpid") != self.corp_id:
            return _error(40013, "invalid corpid")
        if request.query.get("corpsecret") != self.secret:
            return _error(40001, "invalid credential")
        now = self.clock()
        if self._tokens.get(self._current, float("-inf")) <= now:
            self._current = "wecom-" + secrets.token_hex(16)
            self._tokens[self._current] = now + self.expires_in
            self.tokens_issued += 1
        left = int(self._tokens[self._current] - now)
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": self._current, "expires_in": left}
        )

    def _token_error(self, token: str | None) -> web.Response | None:
        if not token:
            return _error(41001, "access_token missing")
        if token not in self._tokens:
            return _error(40014, "invalid access_token")
        if self._tokens[token] <= self.clock():
            return _error(42001, "access_token expired")
        return None

    async def _send(self, request: web.Request) -> web.Response:
        refused = self._token_error(request.query.get("access_token"))
        if refused is not None:
            return refused
        if self._faults:
            return _error(self._faults.popleft(), "fault injected by the test")
        now = self.clock()
        while self._calls and self._calls[0] <= now - MINUTE:
            self._calls.popleft()
        if len(self._calls) >= self.api_limit:
            return _error(45009, "api freq out of limit")
        self._calls.append(now)
        try:
            payload = await request.json()
        except ValueError:
            return _error(47001, "data format error")
        problem = self._check(payload)
        if problem is not None:
            return problem
        return await self._deliver(payload, now)

    def _check(self, payload: Any) -> web.Response | None:
        if not isinstance(payload, dict) or payload.get("agentid") != self.agent_id:
            return _error(40056, "invalid agentid")
        msgtype = payload.get("msgtype")
        body = payload.get(msgtype) if isinstance(msgtype, str) else None
        if msgtype not in ("text", "markdown", "news") or not isinstance(body, dict):
            return _error(40008, "invalid message type")
        if msgtype == "news":
            articles = body.get("articles")
            if not isinstance(articles, list) or not 1 <= len(articles) <= 8:
                return _error(45008, "article size out of limit")
            return None
        content = body.get("content")
        if not isinstance(content, str) or not content:
            return _error(44004, "empty content")
        if len(content.encode()) > TEXT_BYTES:  # WeCom cuts it; count it so tests can see
            self.truncated += 1
        return None

    async def _deliver(self, payload: dict[str, Any], now: float) -> web.Response:
        users = [user for user in str(payload.get("touser", "")).split("|") if user]
        known = [u for u in users if self.members is None or u in self.members]
        if not known:
            return _error(81013, "user & party & tag all invalid")
        delivered = []
        for user in known:
            times = self._received[user]
            while times and times[0] <= now - MINUTE:
                times.popleft()
            if len(times) >= self.member_limit:
                self.dropped.append((user, payload["msgtype"]))
                continue
            times.append(now)
            delivered.append(user)
        msgtype = payload["msgtype"]
        self.sent.append(AppMessage(tuple(delivered), msgtype, payload[msgtype]))
        await self._notify()
        invalid = "|".join(u.lower() for u in users if u not in known)
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "invaliduser": invalid, "msgid": secrets.token_hex(8)}
        )


@dataclass
class CustomMessage:
    """One customer-service message the 公众号 accepted."""

    openid: str
    text: str


@dataclass
class FakeOfficialAccountAPI(_Fake):
    """The 公众号 API: access tokens and customer-service messages within their window."""

    app_id: str = "wxfakeaccount0001"
    secret: str = "fake-oa-secret-0123456789abcdef"
    expires_in: int = 7200
    clock: Callable[[], float] = time.time
    token_requests: int = 0
    sent: list[CustomMessage] = field(default_factory=list)
    refused: list[tuple[str, int]] = field(default_factory=list)
    _tokens: dict[str, float] = field(default_factory=dict)
    _last_message: dict[str, float] = field(default_factory=dict)
    _used: dict[str, int] = field(default_factory=dict)

    @property
    def app(self) -> web.Application:
        """Return a fresh application serving this fake's state."""
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        return app

    def follower_wrote(self, openid: str, at: float | None = None) -> None:
        """Open a new customer-service window: the follower has just sent a message."""
        self._last_message[openid] = self.clock() if at is None else at
        self._used[openid] = 0

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        query = request.query
        if query.get("grant_type") != "client_credential":
            return _error(40002, "invalid grant_type")
        if query.get("appid") != self.app_id:
            return _error(40013, "invalid appid")
        if query.get("secret") != self.secret:
            return _error(40125, "invalid appsecret")
        now = self.clock()
        for token, expiry in self._tokens.items():  # the old token lives 5 more minutes
            self._tokens[token] = min(expiry, now + TOKEN_GRACE)
        token = "oa-" + secrets.token_hex(16)
        self._tokens[token] = now + self.expires_in
        return web.json_response({"access_token": token, "expires_in": self.expires_in})

    async def _custom_send(self, request: web.Request) -> web.Response:
        token = request.query.get("access_token")
        if not token:
            return _error(41001, "access_token missing")
        if token not in self._tokens:
            return _error(40001, "invalid credential, access_token is invalid or not latest")
        if self._tokens[token] <= self.clock():
            return _error(42001, "access_token expired")
        payload = await request.json()
        openid = payload.get("touser", "")
        content = (payload.get("text") or {}).get("content")
        if payload.get("msgtype") != "text" or not content:
            return _error(44004, "empty content")
        errcode = self._window_error(openid)
        if errcode:
            self.refused.append((openid, errcode))
            await self._notify()
            return _error(errcode, "refused by the customer-service window")
        self._used[openid] += 1
        self.sent.append(CustomMessage(openid, content))
        await self._notify()
        return _error(0, "ok")

    def _window_error(self, openid: str) -> int:
        last = self._last_message.get(openid)
        if last is None or self.clock() - last > CS_WINDOW:
            return 45015  # response out of time limit or subscription is canceled
        if self._used[openid] >= CS_QUOTA:
            return 45047  # out of response count limit
        return 0


def _signature(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def _fields(xml: str) -> dict[str, str]:
    return dict(xmltodict.parse(xml)["xml"])


@dataclass
class WeComCaller:
    """Play WeCom calling our app callback, with signed and encrypted bodies."""

    client: TestClient[Any, Any]
    token: str
    aes_key: str
    corp_id: str
    agent_id: int = 1000002
    path: str = "/wecom/app/callback"
    clock: Callable[[], float] = time.time

    @property
    def crypto(self) -> WeChatCrypto:
        """Return wechatpy's crypto for this app."""
        return WeChatCrypto(self.token, self.aes_key, self.corp_id)

    def query(self, encrypted: str, **overrides: str) -> dict[str, str]:
        """Return the query of a callback carrying `encrypted`, correctly signed."""
        timestamp = overrides.get("timestamp", str(int(self.clock())))
        nonce = overrides.get("nonce", str(secrets.randbelow(10**9)))
        signature = _signature(self.token, timestamp, nonce, encrypted)
        return {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce, **overrides}

    async def verify_url(self, echo: str = "1616140317555161061", **overrides: str) -> Any:
        """Send WeCom's URL check; the answer should be `echo`."""
        echostr = PrpCrypto(self.crypto.key).encrypt(echo, self.corp_id).decode()
        query = {"echostr": echostr, **self.query(echostr, **overrides)}
        return await self.client.get(self.path, params=query)

    def envelope(self, inner: str, **overrides: str) -> tuple[dict[str, str], str]:
        """Return the query and body WeCom posts for the plaintext message `inner`."""
        encrypted = str(PrpCrypto(self.crypto.key).encrypt(inner, self.corp_id).decode())
        body = (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<AgentID><![CDATA[{self.agent_id}]]></AgentID></xml>"
        )
        return self.query(encrypted, **overrides), body

    def text_xml(self, user: str, content: str, msg_id: str) -> str:
        """Return the plaintext of a member's text message to the app."""
        return (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(self.clock())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>"
            f"<AgentID>{self.agent_id}</AgentID></xml>"
        )

    async def post(self, inner: str, **overrides: str) -> Any:
        """Post the plaintext message `inner`, encrypted and signed."""
        query, body = self.envelope(inner, **overrides)
        return await self.client.post(self.path, params=query, data=body.encode())

    async def ask(self, user: str, content: str, msg_id: str | None = None) -> dict[str, str]:
        """Send a text message and return the decrypted passive reply ({} for none)."""
        msg_id = msg_id or str(secrets.randbelow(10**18))
        response = await self.post(self.text_xml(user, content, msg_id))
        assert response.status == 200, await response.text()
        return self.read_reply(await response.text())

    def read_reply(self, text: str) -> dict[str, str]:
        """Check the reply's signature and decrypt it, as WeCom would ({} for an empty body)."""
        if not text:
            return {}
        outer = _fields(text)
        signature = _signature(self.token, outer["TimeStamp"], outer["Nonce"], outer["Encrypt"])
        assert signature == outer["MsgSignature"], "reply signature does not match"
        plain = self.crypto.decrypt_message(
            text, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"]
        )
        return _fields(plain)


@dataclass
class OfficialAccountCaller:
    """Play WeChat calling our 公众号 callback, in plain or safe mode."""

    client: TestClient[Any, Any]
    token: str
    app_id: str
    aes_key: str | None = None  # set: safe mode (encrypt_type=aes)
    api: FakeOfficialAccountAPI | None = None  # told when a follower writes
    account: str = "gh_fakeaccount01"
    path: str = "/wechat/oa/callback"
    clock: Callable[[], float] = time.time

    def query(
        self, openid: str = "", encrypted: str | None = None, **extra: str
    ) -> dict[str, str]:
        """Return the signed query of a callback (msg_signature too in safe mode)."""
        timestamp = extra.pop("timestamp", str(int(self.clock())))
        nonce = extra.pop("nonce", str(secrets.randbelow(10**9)))
        query = {
            "signature": _signature(self.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        if openid:
            query["openid"] = openid
        if encrypted is not None:
            query["encrypt_type"] = "aes"
            query["msg_signature"] = _signature(self.token, timestamp, nonce, encrypted)
        return {**query, **extra}

    async def verify_url(self, echostr: str = "echo-8848", **extra: str) -> Any:
        """Send WeChat's URL check; the answer should be `echostr`."""
        return await self.client.get(self.path, params={"echostr": echostr, **self.query(**extra)})

    async def post(self, inner: str, openid: str, **extra: str) -> Any:
        """Post `inner` as WeChat would: as is, or encrypted in safe mode."""
        if self.aes_key is None:
            query, body = self.query(openid, **extra), inner
        else:
            crypto = OACrypto(self.token, self.aes_key, self.app_id)
            encrypted = OAPrpCrypto(crypto.key).encrypt(inner, self.app_id).decode()
            query = self.query(openid, encrypted, **extra)
            body = (
                f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
            )
        return await self.client.post(self.path, params=query, data=body.encode())

    def message_xml(self, openid: str, kind: str, extra: str, created: int | None = None) -> str:
        """Return a follower's message of MsgType `kind` with `extra` elements."""
        created = int(self.clock()) if created is None else created
        return (
            f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>"
            f"{extra}</xml>"
        )

    async def ask(self, openid: str, content: str, msg_id: str | None = None) -> dict[str, str]:
        """Send a text message and return the passive reply ({} for "success")."""
        msg_id = msg_id or str(secrets.randbelow(10**18))
        extra = f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>"
        if self.api is not None:
            self.api.follower_wrote(openid)
        response = await self.post(self.message_xml(openid, "text", extra), openid)
        assert response.status == 200, await response.text()
        return self.read_reply(await response.text())

    def read_reply(self, text: str) -> dict[str, str]:
        """Return the passive reply's fields, decrypted in safe mode ({} for "success")."""
        if text in ("", "success"):
            return {}
        if self.aes_key is None:
            return _fields(text)
        outer = _fields(text)
        crypto = OACrypto(self.token, self.aes_key, self.app_id)
        plain = crypto.decrypt_message(
            text, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"]
        )
        return _fields(plain)
