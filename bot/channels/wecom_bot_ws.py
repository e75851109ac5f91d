"""WeCom smart bot over the WebSocket long connection (智能机器人长连接, path/101463).

No public URL is needed, which suits a police intranet. WeCom allows one live connection per
bot (a new one pushes the old one off with a disconnected_event), so among our instances
exactly one holds it: the holder owns a Redis lease (SET NX PX), renews it with every
heartbeat, and closes the connection as soon as a renewal fails. Frames are JSON
{"cmd", "headers": {"req_id"}, "body"}; WeCom acknowledges with {"headers", "errcode"}.
We send aibot_subscribe {bot_id, secret} first, then a ping every 30 s; messages arrive as
aibot_msg_callback (the same body as the HTTP callback, unencrypted) and are answered with
aibot_respond_msg carrying the callback's req_id; aibot_send_msg sends proactively. A card
button press arrives as aibot_event_callback and its card update goes back as
aibot_respond_update_msg; an enter_chat welcome as aibot_respond_welcome_msg (the frames of the
official SDK, wecom-aibot-python-sdk aibot/client.py). Every frame we send is acknowledged with
{"headers": {"req_id"}, "errcode", "errmsg"}; a non-zero errcode is logged and counted. A
question's answer card follows its stream as a proactive send. Replies and proactive sends
share each conversation's 30/min and 1000/h (主动推送消息, path/101463).
A disconnected_event means another client subscribed the bot: see wecom_bot_takeover.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.bounded import loads
from bot.channels.dialects import smart_bot_markdown
from bot.channels.wechat_crypto import env_value
from bot.channels.wecom_bot_gate import ProactiveGate
from bot.channels.wecom_bot_takeover import (
    LEASE_MS,
    TAKEOVER_PAUSE_FIRST,
    Lease,
    clear_takeover,
    lease_key,
    record_takeover,
    takeover_reason,
)
from bot.settings import SettingsError

log = logging.getLogger(__name__)

DEFAULT_WS_URL = "wss://openws.work.weixin.qq.com"
HEARTBEAT_SECONDS = 30.0  # the SDKs ping every 30 s
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0  # 1 s, 2 s, 4 s ... 30 s, as the official SDK does


@dataclass(frozen=True, slots=True)
class WeComBotWSConfig:
    """The smart bot's long-connection credentials (智能机器人 → API模式 → 长连接)."""

    bot_id: str
    secret: str
    url: str = DEFAULT_WS_URL
    heartbeat: float = HEARTBEAT_SECONDS
    lease_ms: int = LEASE_MS
    backoff: float = BACKOFF_FIRST
    takeover_pause: float = TAKEOVER_PAUSE_FIRST

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WeComBotWSConfig | None:
        """Read WECOM_BOT_ID, WECOM_BOT_SECRET and WECOM_BOT_WS_URL; None without a secret."""
        if not env.get("WECOM_BOT_SECRET"):
            return None
        url = (env.get("WECOM_BOT_WS_URL") or DEFAULT_WS_URL).strip().rstrip("/")
        if not url.startswith(("ws://", "wss://")):
            raise SettingsError("WECOM_BOT_WS_URL", url, "应以 ws:// 或 wss:// 开头")
        return cls(
            bot_id=env_value(env, "WECOM_BOT_ID", "id"),
            secret=env_value(env, "WECOM_BOT_SECRET", "secret"),
            url=url,
        )


class LinkLost(Exception):
    """The connection is no longer usable: refused, silent, taken over, or the lease is gone."""


class Refused(LinkLost):
    """WeCom acknowledged a frame with a non-zero errcode."""

    def __init__(self, cmd: str, errcode: Any, errmsg: Any) -> None:
        super().__init__(f"{cmd} refused: errcode {errcode} {errmsg}")
        self.cmd, self.errcode = cmd, errcode


class TakenOver(LinkLost):
    """Another client subscribed the bot and WeCom pushed this connection off."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Outgoing:
    """The reply body (JSON, "" for none) to one callback, and the chat it goes back to."""

    body: str
    conversation: str
    chat_id: str


Answer = Callable[[dict[str, Any]], Awaitable[Outgoing]]


class WeComBotLink:
    """Hold the bot's one long connection while this instance owns the lease."""

    def __init__(self, config: WeComBotWSConfig, answer: Answer) -> None:
        self.config, self._answer = config, answer
        self.token = secrets.token_hex(8)  # this instance's mark on the lease
        self.gate: ProactiveGate | None = None
        self.served = False  # a connection was up since the last backoff
        self.claims_refused = 0  # times another instance held the lease when this one tried
        self.connected = asyncio.Event()
        self.refusals: Counter[tuple[str, str]] = Counter()  # (cmd, errcode) -> count
        self.takeovers = 0  # disconnected_events seen by this instance
        self.stepped_aside = asyncio.Event()  # set from a takeover until we connect again
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event, session: aiohttp.ClientSession, redis: Redis) -> None:
        """Claim the lease, connect, serve; on any loss back off and try again until `stop`."""
        lease = Lease(redis, lease_key(self.config.bot_id), self.config.lease_ms, self.token)
        delay = self.config.backoff
        while not stop.is_set():
            pause: float | None = None
            try:
                if await lease.claim():
                    pause = await self._hold(stop, session, lease)
                else:
                    self.claims_refused += 1
            except (LinkLost, aiohttp.ClientError, TimeoutError, ValueError, RedisError) as error:
                log.warning("smart bot long connection lost: %s", type(error).__name__)
            if self.served:  # it was up: start the backoff afresh
                delay, self.served = self.config.backoff, False
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay if pause is None else pause)
            delay = min(delay * 2, BACKOFF_MAX)
        await self.close()

    async def _step_aside(self, lease: Lease, taken: TakenOver) -> float:
        """Record a takeover, keep every instance of ours off the bot for its pause, and
        return the pause."""
        self.takeovers += 1
        record = await record_takeover(
            lease.redis, self.config.bot_id, taken.reason, self.config.takeover_pause
        )
        pause = max(record.until - record.at, 0.0)
        await lease.redis.set(lease.key, f"taken-over:{self.token}", px=max(int(pause * 1000), 1))
        log.error(
            "smart bot long connection taken over: %s; takeover %d in a row, no instance tries "
            "again for %g s (stop the other client, e.g. a staging copy, to end this)",
            taken.reason, record.count, pause,
        )  # fmt: skip
        self.stepped_aside.set()
        return pause

    async def _hold(
        self, stop: asyncio.Event, session: aiohttp.ClientSession, lease: Lease
    ) -> float | None:
        """Serve while this instance holds the lease; return the pause a takeover earned.

        The pause marker replaces our lease before the lease is let go, so no instance of ours
        slips in between and kicks the other client off."""
        try:
            await self._serve(stop, session, lease)
        except TakenOver as taken:
            return await self._step_aside(lease, taken)
        finally:
            self.served = self.served or self.connected.is_set()
            self.connected.clear()
            await lease.release()
        return None

    async def close(self, timeout: float = 5.0) -> None:
        """Wait up to `timeout` for replies still being written, then cancel them."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def replied(self) -> None:
        """Wait until every reply being written has been acknowledged (or has failed)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def send_markdown(self, conversation: str, chat_id: str, text: str) -> None:
        """Send markdown into a chat that has messaged the bot, within its limits.

        Raises NotAConversation, WindowFull, or LinkLost when this instance is not connected.
        """
        await self._send(conversation, chat_id, "markdown", {"content": smart_bot_markdown(text)})

    async def send_card(self, conversation: str, chat_id: str, card: dict[str, Any]) -> None:
        """Send a template card the same way as send_markdown (with the same errors)."""
        await self._send(conversation, chat_id, "template_card", card)

    async def _send(self, conversation: str, chat_id: str, kind: str, content: Any) -> None:
        if self.gate is None or not self.connected.is_set():
            raise LinkLost("this instance does not hold the long connection")
        body = {"chatid": chat_id, "msgtype": kind, kind: content}
        async with self.gate.sending(conversation):
            await self._request("aibot_send_msg", body)

    async def _serve(
        self, stop: asyncio.Event, session: aiohttp.ClientSession, lease: Lease
    ) -> None:
        async with session.ws_connect(self.config.url, heartbeat=None) as ws:
            self._ws = ws
            reader = asyncio.create_task(self._read(ws))
            try:
                await self._request("aibot_subscribe", self._credentials())
                self.connected.set()
                self.stepped_aside.clear()
                log.info("smart bot long connection established")
                await self._keep_alive(stop, reader, lease)
            finally:
                reader.cancel()
                with suppress(asyncio.CancelledError, LinkLost):
                    await reader
                self._ws = None
                for future in self._acks.values():
                    if not future.done():
                        future.set_exception(LinkLost("connection closed"))
                self._acks.clear()

    def _credentials(self) -> dict[str, str]:
        return {"bot_id": self.config.bot_id, "secret": self.config.secret}

    async def _keep_alive(
        self, stop: asyncio.Event, reader: asyncio.Task[None], lease: Lease
    ) -> None:
        """Renew the lease and ping every heartbeat until `stop` or the reader ends."""
        stopped = asyncio.ensure_future(stop.wait())
        held = False
        try:
            while True:
                done, _ = await asyncio.wait(
                    {reader, stopped},
                    timeout=self.config.heartbeat,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if stopped in done:
                    return
                if reader in done:
                    reader.result()  # raises what ended it
                    raise LinkLost("connection closed")
                if not await lease.renew():
                    raise LinkLost("lease taken over")
                await self._request("ping", None)
                if not held:  # it held a whole heartbeat: forget the takeovers in a row
                    held = True
                    await clear_takeover(lease.redis, self.config.bot_id)
        finally:
            stopped.cancel()

    async def _request(self, cmd: str, body: Any, req_id: str = "") -> dict[str, Any]:
        """Send a frame (a reply carries its callback's `req_id`) and return WeCom's
        acknowledgement; a non-zero errcode is logged, counted and raised as Refused."""
        if self._ws is None:
            raise LinkLost("not connected")
        req_id = req_id or f"{cmd}_{secrets.token_hex(8)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[req_id] = future
        frame: dict[str, Any] = {"cmd": cmd, "headers": {"req_id": req_id}}
        if body is not None:
            frame["body"] = body
        try:
            await self._ws.send_str(json.dumps(frame, ensure_ascii=False))
            async with asyncio.timeout(self.config.heartbeat):
                ack = await future
        finally:
            self._acks.pop(req_id, None)
        if ack.get("errcode", 0) != 0:
            refused = Refused(cmd, ack.get("errcode"), ack.get("errmsg", ""))
            self.refusals[(cmd, str(refused.errcode))] += 1
            log.warning("smart bot long connection: %s", refused)
            raise refused
        return ack

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for raw in ws:
            if raw.type is not aiohttp.WSMsgType.TEXT:
                break
            frame = loads(raw.data)  # bounded: a broken frame ends the link, which reconnects
            if not isinstance(frame, dict):
                continue
            headers, body = _object(frame.get("headers")), _object(frame.get("body"))
            req_id, cmd = str(headers.get("req_id", "")), frame.get("cmd")
            if cmd == "aibot_msg_callback" and body:
                self._spawn(self._reply(req_id, body))
            elif cmd == "aibot_event_callback":
                event = _object(body.get("event"))
                if event.get("eventtype") == "disconnected_event":
                    raise TakenOver(takeover_reason(event))
                self._spawn(self._reply(req_id, body))
            elif req_id in self._acks and not self._acks[req_id].done():
                self._acks[req_id].set_result(frame)

    async def _reply(self, req_id: str, body: dict[str, Any]) -> None:
        try:
            out = await self._answer(body)
            if not out.body or self._ws is None or self.gate is None:
                return
            reply = json.loads(out.body)
            card = reply.pop("template_card", None) if "stream" in reply else None
            if card is not None:
                reply["msgtype"] = "stream"
            async with self.gate.replying(out.conversation):
                await self._request(respond_cmd(reply), reply, req_id)
            if card is not None:
                await self.send_card(out.conversation, out.chat_id, card)
        except Refused:
            pass  # logged and counted where the acknowledgement came in
        except Exception:
            log.exception("smart bot message could not be answered")

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def respond_cmd(reply: Mapping[str, Any]) -> str:
    """Return the command a passive reply body goes back with over the long connection."""
    if reply.get("response_type") == "update_template_card":
        return "aibot_respond_update_msg"
    if reply.get("msgtype") == "text":  # only an enter_chat welcome is a text (path/101031)
        return "aibot_respond_welcome_msg"
    return "aibot_respond_msg"


def _object(value: Any) -> dict[str, Any]:
    """Return `value` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}
