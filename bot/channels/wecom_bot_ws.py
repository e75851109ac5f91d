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
aibot_respond_update_msg. The long connection takes no "stream_with_template_card" (so the
official SDKs document), so a question's answer card follows its stream as a proactive send.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.channels.wechat_crypto import env_value
from bot.settings import SettingsError
from bot.store import keys
from bot.store.owned import delete_if_equal, expire_if_equal
from bot.store.ratelimit import RateLimiter

log = logging.getLogger(__name__)

GROUP_PREFIX = "wecom-bot:"  # group ids of smart-bot chats: the prefix, then the chatid

DEFAULT_WS_URL = "wss://openws.work.weixin.qq.com"
HEARTBEAT_SECONDS = 30.0  # the SDKs ping every 30 s
LEASE_MS = 90_000  # three heartbeats: a dead holder frees the bot within 90 s
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0  # 1 s, 2 s, 4 s ... 30 s, as the official SDK does

# Proactive sends (主动推送消息, path/101463): only into a conversation that has messaged the
# bot, at most 30 a minute and 1000 an hour per conversation (limits as issue #3 states them).
SEND_LIMITS = ((30, 60.0), (1000, 3600.0))
SEEN_TTL = 90 * 24 * 3600  # forget a conversation that has been silent for 90 days


def seen_key(bot_id: str, conversation: str) -> str:
    """Marker that `conversation` has messaged the bot (proactive sends are allowed there)."""
    return f"{keys.PREFIX}:{{wecom-bot:{bot_id}}}:seen:{conversation}"


def lease_key(bot_id: str) -> str:
    """String naming the instance that holds the bot's long connection (with a TTL)."""
    return f"{keys.PREFIX}:{{wecom-bot:{bot_id}}}:ws-lease"


def send_target(bot_id: str, conversation: str, period: float) -> str:
    """RateLimiter target of one conversation's proactive sends within one period."""
    return f"wecom-bot:{bot_id}:{conversation}:{int(period)}s"


class NotAConversation(Exception):
    """The conversation never messaged the bot: WeCom refuses proactive sends there."""


class ProactiveGate:
    """Admit proactive sends only where the bot was spoken to, within the per-chat limits."""

    def __init__(self, redis: Redis, limiter: RateLimiter, bot_id: str) -> None:
        self._redis, self._limiter, self._bot_id = redis, limiter, bot_id

    async def remember(self, conversation: str) -> None:
        """Record that `conversation` has messaged the bot."""
        await self._redis.set(seen_key(self._bot_id, conversation), "1", ex=SEEN_TTL)

    async def known(self, conversation: str) -> bool:
        """Return True when `conversation` has messaged the bot."""
        return bool(await self._redis.exists(seen_key(self._bot_id, conversation)))

    @asynccontextmanager
    async def sending(
        self, conversation: str, *, hold: float = 10.0, max_wait: float = 0.0
    ) -> AsyncIterator[None]:
        """Hold one send's slot in both windows; raise NotAConversation or WindowFull."""
        if not await self.known(conversation):
            raise NotAConversation(conversation)
        (minute, per_minute), (hour, per_hour) = SEND_LIMITS
        target = send_target(self._bot_id, conversation, per_minute)
        async with self._limiter.sending(target, minute, per_minute, hold=hold, max_wait=max_wait):
            target = send_target(self._bot_id, conversation, per_hour)
            async with self._limiter.sending(target, hour, per_hour, hold=hold, max_wait=max_wait):
                yield


@dataclass(frozen=True, slots=True)
class Lease:
    """One instance's claim on the bot's long connection."""

    redis: Redis
    key: str
    ttl_ms: int = LEASE_MS
    token: str = ""

    async def claim(self) -> bool:
        """Take the lease if nobody holds it."""
        return bool(await self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms))

    async def renew(self) -> bool:
        """Extend the lease; False when another instance holds it now."""
        return await expire_if_equal(self.redis, self.key, self.token, self.ttl_ms)

    async def release(self) -> None:
        """Give the lease up, if we still hold it."""
        await delete_if_equal(self.redis, self.key, self.token)


@dataclass(frozen=True, slots=True)
class WeComBotWSConfig:
    """The smart bot's long-connection credentials (智能机器人 → API模式 → 长连接)."""

    bot_id: str
    secret: str
    url: str = DEFAULT_WS_URL
    heartbeat: float = HEARTBEAT_SECONDS
    lease_ms: int = LEASE_MS
    backoff: float = BACKOFF_FIRST

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
        self.connected = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event, session: aiohttp.ClientSession, redis: Redis) -> None:
        """Claim the lease, connect, serve; on any loss back off and try again until `stop`."""
        lease = Lease(redis, lease_key(self.config.bot_id), self.config.lease_ms, self.token)
        delay = self.config.backoff
        while not stop.is_set():
            try:
                if await lease.claim():
                    await self._hold(stop, session, lease)
            except (LinkLost, aiohttp.ClientError, TimeoutError, ValueError, RedisError) as error:
                log.warning("smart bot long connection lost: %s", type(error).__name__)
            if self.served:  # it was up: start the backoff afresh
                delay, self.served = self.config.backoff, False
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, BACKOFF_MAX)
        await self.close()

    async def _hold(
        self, stop: asyncio.Event, session: aiohttp.ClientSession, lease: Lease
    ) -> None:
        try:
            await self._serve(stop, session, lease)
        finally:
            self.served = self.served or self.connected.is_set()
            self.connected.clear()
            await lease.release()

    async def close(self, timeout: float = 5.0) -> None:
        """Wait up to `timeout` for replies still being written, then cancel them."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def send_markdown(self, conversation: str, chat_id: str, text: str) -> None:
        """Send markdown into a chat that has messaged the bot, within its limits.

        Raises NotAConversation, WindowFull, or LinkLost when this instance is not connected.
        """
        await self._send(conversation, chat_id, "markdown", {"content": text})

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
        finally:
            stopped.cancel()

    async def _request(self, cmd: str, body: Any) -> dict[str, Any]:
        """Send a frame and return WeCom's acknowledgement; refuse a non-zero errcode."""
        if self._ws is None:
            raise LinkLost("not connected")
        req_id = f"{cmd}_{secrets.token_hex(8)}"
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
            raise LinkLost(f"{cmd} refused: errcode {ack.get('errcode')}")
        return ack

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for raw in ws:
            if raw.type is not aiohttp.WSMsgType.TEXT:
                break
            frame = json.loads(raw.data)
            if not isinstance(frame, dict):
                continue
            headers, body = _object(frame.get("headers")), _object(frame.get("body"))
            req_id, cmd = str(headers.get("req_id", "")), frame.get("cmd")
            if cmd == "aibot_msg_callback" and body:
                self._spawn(self._reply(req_id, body))
            elif cmd == "aibot_event_callback":
                if _object(body.get("event")).get("eventtype") == "disconnected_event":
                    raise LinkLost("another connection took the bot over")
                self._spawn(self._reply(req_id, body))
            elif req_id in self._acks and not self._acks[req_id].done():
                self._acks[req_id].set_result(frame)

    async def _reply(self, req_id: str, body: dict[str, Any]) -> None:
        try:
            out = await self._answer(body)
            if not out.body or self._ws is None:
                return
            reply = json.loads(out.body)
            cmd = "aibot_respond_msg"
            if reply.get("response_type") == "update_template_card":
                cmd = "aibot_respond_update_msg"
            card = reply.pop("template_card", None) if "stream" in reply else None
            if card is not None:
                reply["msgtype"] = "stream"
            frame = {"cmd": cmd, "headers": {"req_id": req_id}, "body": reply}
            await self._ws.send_str(json.dumps(frame, ensure_ascii=False))
            if card is not None:
                await self.send_card(out.conversation, out.chat_id, card)
        except Exception:
            log.exception("smart bot message could not be answered")

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _object(value: Any) -> dict[str, Any]:
    """Return `value` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}
