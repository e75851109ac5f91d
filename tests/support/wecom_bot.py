"""A caller that plays WeCom towards our smart-bot callback, and a fake of its response_url.

WeComBotCaller seals and opens everything with WeCom's official JSON crypto sample
(tests/support/json_msg_crypt.py: WXBizJsonMsgCrypt, empty receive id), never with our helpers
or wechatpy, and checks that a reply carries the nonce of the callback URL. Its message bodies
follow the doc examples (接收消息 path/100719, 接收事件 path/101027). FakeResponseURL
answers POST /cgi-bin/aibot/response?response_code=...: each code works once (主动回复消息:
"每个 response_url 用户可以调用接口一次"); a second use is refused with a non-zero errcode.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.channels.wecom_bot import WECOM_BOT_LINK, setup_wecom_bot_ws
from bot.channels.wecom_bot_ws import WeComBotWSConfig
from tests.support.fakes import _Fake
from tests.support.json_msg_crypt import JsonMsgCrypt, get_sha1

RESPONSE_PATH = "/cgi-bin/aibot/response"
# One fake bot for every smart-bot test: Token, EncodingAESKey, BotID, long-connection Secret.
TOKEN = "fzBotToken2024"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
BOT_ID = "aibFakeBot0001"
SECRET = "fake-bot-secret-0123456789"


@dataclass
class Pushed:
    """One message our side sent through a response_url."""

    code: str
    msgtype: str
    content: str


@dataclass
class FakeResponseURL(_Fake):
    """The smart bot's response_url endpoint: one call per response code."""

    sent: list[Pushed] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    _used: set[str] = field(default_factory=set)

    @property
    def app(self) -> web.Application:
        """Return a fresh application serving this fake's state."""
        app = web.Application()
        app.router.add_post(RESPONSE_PATH, self._respond)
        return app

    def url(self, code: str | None = None) -> str:
        """Return a fresh response_url as a callback would carry it."""
        return f"{self.base}{RESPONSE_PATH}?response_code={code or secrets.token_hex(8)}"

    async def _respond(self, request: web.Request) -> web.Response:
        code = request.query.get("response_code", "")
        payload = await request.json()
        if not code or code in self._used:
            self.refused.append(code)
            await self._notify()
            return web.json_response({"errcode": 40001, "errmsg": "response_code used"})
        self._used.add(code)
        msgtype = payload.get("msgtype", "")
        content = (payload.get(msgtype) or {}).get("content", "")
        if len(content.encode()) > 20480:  # markdown.content ≤ 20480 bytes (path/101138)
            self.refused.append(code)
            await self._notify()
            return web.json_response({"errcode": 40058, "errmsg": "content exceed max length"})
        self.sent.append(Pushed(code, msgtype, content))
        await self._notify()
        return web.json_response({"errcode": 0, "errmsg": "ok"})


@dataclass
class WeComBotCaller:
    """Play WeCom calling our smart-bot callback, with signed and encrypted JSON."""

    client: TestClient[Any, Any]
    token: str
    aes_key: str
    bot_id: str
    responses: FakeResponseURL | None = None
    path: str = "/wecom/bot/callback"
    clock: Callable[[], float] = time.time

    last_nonce: str = ""

    @property
    def sample(self) -> JsonMsgCrypt:
        """Return the official sample's crypto for this bot (receive id "")."""
        return JsonMsgCrypt(self.token, self.aes_key)

    def query(self, encrypted: str, **overrides: str) -> dict[str, str]:
        """Return the query of a callback carrying `encrypted`, correctly signed."""
        timestamp = overrides.get("timestamp", str(int(self.clock())))
        nonce = overrides.get("nonce", str(secrets.randbelow(10**9)))
        signed = get_sha1(self.token, timestamp, nonce, encrypted)
        self.last_nonce = nonce
        return {"msg_signature": signed, "timestamp": timestamp, "nonce": nonce, **overrides}

    async def verify_url(self, echo: str = "8848", **overrides: str) -> Any:
        """Send WeCom's URL check; the answer should be `echo`."""
        echostr = self.sample.encrypt(echo)
        return await self.client.get(
            self.path, params={"echostr": echostr, **self.query(echostr, **overrides)}
        )

    def message(
        self, user: str, content: str, msg_id: str | None = None, chat: str | None = None
    ) -> dict[str, Any]:
        """Return a text message a member sends the bot (in group `chat`, else one-to-one)."""
        return self.body(user, "text", {"content": content}, chat=chat, msg_id=msg_id)

    def body(
        self, user: str, msgtype: str, content: Any, *, chat: str | None = None,
        msg_id: str | None = None, **extra: Any,
    ) -> dict[str, Any]:  # fmt: skip
        """Return a message of `msgtype` holding `content`, shaped as 接收消息 path/100719."""
        message: dict[str, Any] = {
            "msgid": msg_id or secrets.token_hex(12),
            "aibotid": self.bot_id,
            "chattype": "group" if chat else "single",
            "from": {"userid": user},
            "response_url": self.responses.url() if self.responses else "",
            "msgtype": msgtype,
            **({msgtype: content} if content is not None else {}),
            **extra,
        }
        if chat:
            message["chatid"] = chat
        return message

    def event(self, user: str, eventtype: str, **fields: Any) -> dict[str, Any]:
        """Return an event of `eventtype` (接收事件 path/101027), one-to-one."""
        event = {"eventtype": eventtype, **fields}
        message = self.body(user, "event", event, create_time=int(self.clock()))
        message["from"] = {"corpid": "wpFakeCorp01", "userid": user}
        return message

    def press(self, user: str, task_id: str, key: str, chat: str) -> dict[str, Any]:
        """Return the event of a member pressing button `key` on card `task_id` in `chat`."""
        event = {"card_type": "button_interaction", "event_key": key, "task_id": task_id}
        return {
            "msgid": secrets.token_hex(12),
            "create_time": int(self.clock()),
            "aibotid": self.bot_id,
            "chatid": chat,
            "chattype": "group",
            "from": {"userid": user},
            "response_url": self.responses.url() if self.responses else "",
            "msgtype": "event",
            "event": {"eventtype": "template_card_event", "template_card_event": event},
        }

    def envelope(
        self, message: dict[str, Any], receive_id: str = "", **overrides: str
    ) -> tuple[dict[str, str], bytes]:
        """Return the query and body WeCom posts for `message`."""
        plain = json.dumps(message, ensure_ascii=False)
        encrypted = JsonMsgCrypt(self.token, self.aes_key, receive_id).encrypt(plain)
        return self.query(encrypted, **overrides), json.dumps({"encrypt": encrypted}).encode()

    async def post(self, message: dict[str, Any], **overrides: str) -> Any:
        """Post `message`, encrypted and signed."""
        query, body = self.envelope(message, **overrides)
        return await self.client.post(self.path, params=query, data=body)

    async def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        """Post `message` and return the decrypted passive reply ({} for an empty body)."""
        response = await self.post(message)
        assert response.status == 200, await response.text()
        return self.read_reply(await response.text())

    def read_reply(self, text: str) -> dict[str, Any]:
        """Open the reply as WeCom would, with the sample's decrypt_msg ({} for an empty body):
        its signature must hold and its nonce be the one of the callback URL (path/101033)."""
        if not text:
            return {}
        outer = json.loads(text)
        assert outer["nonce"] == self.last_nonce, "the reply must carry the callback's nonce"
        stamp = outer["timestamp"]
        reply: dict[str, Any] = self.sample.decrypt_msg(text, outer["msgsignature"], stamp,
                                                        outer["nonce"])  # fmt: skip
        return reply


@dataclass
class FakeWeComWS(_Fake):
    """WeCom's long-connection gateway for one bot: one live connection, acks, heartbeats.

    A second subscription pushes the first off with a disconnected_event, as WeCom does; wrong
    credentials get errcode 853000 ("invalid bot_id or secret") and the socket is closed.
    """

    bot_id: str = BOT_ID
    secret: str = SECRET
    subscriptions: int = 0
    refused: int = 0  # subscriptions refused for wrong credentials
    pings: int = 0
    replies: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    pushes: list[dict[str, Any]] = field(default_factory=list)
    welcomes: list[dict[str, Any]] = field(default_factory=list)
    frames: list[dict[str, Any]] = field(default_factory=list)  # every frame, in order
    subscribed_at: list[float] = field(default_factory=list)
    refuse: dict[str, tuple[int, str]] = field(default_factory=dict)  # cmd -> next errcode
    live: web.WebSocketResponse | None = None

    @property
    def app(self) -> web.Application:
        """Return a fresh application serving this fake's state."""
        app = web.Application()
        app.router.add_get("/", self._socket)
        return app

    @property
    def url(self) -> str:
        """Return the ws:// address to configure."""
        return "ws" + self.base.removeprefix("http")

    def text(self, user: str, content: str, chat: str) -> dict[str, Any]:
        """Return the callback body of a member's text in group `chat`."""
        return self._body(user, chat, "text", text={"content": content})

    def voice(self, user: str, transcript: str) -> dict[str, Any]:
        """Return the callback body of a member's voice message (one-to-one only, path/100719)."""
        body = self._body(user, "", "voice", voice={"content": transcript})
        body["chattype"] = "single"
        del body["chatid"]
        return body

    def image(self, user: str, url: str, aeskey: str) -> dict[str, Any]:
        """Return a member's picture one-to-one; the long connection adds its own aeskey."""
        body = self._body(user, "", "image", image={"url": url, "aeskey": aeskey})
        body["chattype"] = "single"
        del body["chatid"]
        return body

    def enter_chat(self, user: str) -> dict[str, Any]:
        """Return the event of a member opening the bot's chat (接收事件 path/101027)."""
        body = self._body(user, "", "event", event={"eventtype": "enter_chat"})
        del body["chatid"], body["chattype"]
        return body

    def press(self, user: str, task_id: str, key: str, chat: str) -> dict[str, Any]:
        """Return the event body of a member pressing button `key` on card `task_id`."""
        event = {"card_type": "button_interaction", "event_key": key, "task_id": task_id}
        return self._body(
            user, chat, "event", event={"eventtype": "template_card_event",
                                        "template_card_event": event}
        )  # fmt: skip

    def _body(self, user: str, chat: str, msgtype: str, **content: Any) -> dict[str, Any]:
        return {
            "msgid": secrets.token_hex(8),
            "aibotid": self.bot_id,
            "chatid": chat,
            "chattype": "group",
            "from": {"userid": user},
            "msgtype": msgtype,
            **content,
        }

    async def deliver(self, body: dict[str, Any], cmd: str = "aibot_msg_callback") -> str:
        """Push a member's message (or, with cmd aibot_event_callback, an event such as a card
        press) to the live connection; return the callback's req_id."""
        assert self.live is not None, "no live connection"
        req_id = "callback_" + secrets.token_hex(6)
        frame = {"cmd": cmd, "headers": {"req_id": req_id}, "body": body}
        await self.live.send_json(frame)
        return req_id

    async def drop(self) -> None:
        """Close the live connection from WeCom's side."""
        if self.live is not None:
            await self.live.close()

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        first = await ws.receive_json()
        body = first.get("body") or {}
        ack = {"headers": first.get("headers"), "errcode": 0, "errmsg": "ok"}
        if first.get("cmd") != "aibot_subscribe" or (body.get("bot_id"), body.get("secret")) != (
            self.bot_id,
            self.secret,
        ):
            await ws.send_json({**ack, "errcode": 853000, "errmsg": "invalid bot_id or secret"})
            await ws.close()
            self.refused += 1
            await self._notify()
            return ws
        if self.live is not None and not self.live.closed:
            await self.live.send_json(self.disconnected_frame())
            await self.live.close()
        self.live, self.subscriptions = ws, self.subscriptions + 1
        self.frames.append(first)
        self.subscribed_at.append(time.time())
        await ws.send_json(ack)
        await self._notify()
        async for raw in ws:
            frame = json.loads(raw.data)
            await self._record(frame)
            errcode, errmsg = self.refuse.pop(str(frame.get("cmd")), (0, "ok"))
            await ws.send_json({"headers": frame.get("headers"), "errcode": errcode,
                                "errmsg": errmsg})  # fmt: skip
            await self._notify()
        if self.live is ws:
            self.live = None
        await self._notify()
        return ws

    def disconnected_frame(self) -> dict[str, Any]:
        """Return the event WeCom pushes to a connection a new subscription replaces."""
        body = {
            "msgid": secrets.token_hex(8),
            "create_time": int(time.time()),
            "aibotid": self.bot_id,
            "msgtype": "event",
            "event": {"eventtype": "disconnected_event"},
        }
        headers = {"req_id": "event_" + secrets.token_hex(6)}
        return {"cmd": "aibot_event_callback", "headers": headers, "body": body}

    async def _record(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)
        cmd = frame.get("cmd")
        if cmd == "ping":
            self.pings += 1
        elif cmd == "aibot_respond_msg":
            self.replies.append(frame)
        elif cmd == "aibot_respond_update_msg":
            self.updates.append(frame)
        elif cmd == "aibot_send_msg":
            self.pushes.append(frame)
        elif cmd == "aibot_respond_welcome_msg":
            self.welcomes.append(frame)


async def serve_responses(aiohttp_server: Any) -> FakeResponseURL:
    """Start the fake response_url endpoint on loopback."""
    fake = FakeResponseURL()
    server = await aiohttp_server(fake.app)
    fake.base = str(server.make_url("")).rstrip("/")
    return fake


async def start_link(
    aiohttp_client: Any, app: web.Application, gateway: FakeWeComWS, **changes: Any
) -> TestClient[Any, Any]:
    """Serve `app` holding the long connection to `gateway` (test-speed heartbeat)."""
    config = WeComBotWSConfig(BOT_ID, SECRET, gateway.url, heartbeat=0.1, backoff=0.05)
    setup_wecom_bot_ws(app, replace(config, **changes))
    client: TestClient[Any, Any] = await aiohttp_client(app)
    return client


async def serve_gateway(aiohttp_server: Any) -> FakeWeComWS:
    """Start the fake long-connection gateway on loopback (default bot id and secret)."""
    fake = FakeWeComWS()
    server = await aiohttp_server(fake.app)
    fake.base = str(server.make_url("")).rstrip("/")
    return fake


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 5.0) -> None:
    """Wait until `check()` holds, looking again every 10 ms (for state no fake announces)."""
    async with asyncio.timeout(timeout):
        while True:
            outcome = check()
            if await outcome if inspect.isawaitable(outcome) else outcome:
                return
            await asyncio.sleep(0.01)


async def connected(client: TestClient[Any, Any]) -> None:
    """Wait until the app under test holds the smart bot's long connection."""
    async with asyncio.timeout(5):
        await client.app[WECOM_BOT_LINK].connected.wait()
