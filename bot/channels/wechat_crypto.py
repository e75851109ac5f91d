"""Guards shared by the WeCom app and 公众号 callbacks: size, time, signature, safe XML.

wechatpy does the AES work, but compares signatures with `!=` and checks no timestamp, so the
callbacks run these checks first: a body limit, a replay window on the query's timestamp, a
constant-time SHA-1 signature check, and an XML parse that refuses DTDs and entities (an XML
bomb or external entity becomes a 400, never an expansion or a 500). Every refusal is an
InboundError, and all of them happen before anything is written to Redis.

Signature scheme (企业微信 加解密方案说明, https://developer.work.weixin.qq.com/document/path/90968;
公众号 接入指南 and 消息加解密说明): sort token, timestamp, nonce (and the Encrypt text, for
msg_signature) as strings, join them, and take the SHA-1 hex digest.
"""

from __future__ import annotations

import asyncio
import binascii
import hashlib
import hmac
import logging
import re
import struct
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

import xmltodict  # type: ignore[import-untyped]
from aiohttp import web

from bot.bounded import whole_number
from bot.channels.base import InboundError
from bot.channels.splitting import split_text
from bot.settings import SettingsError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 32 * 1024  # a text message is at most 2048 bytes; encryption adds about 4/3
REPLAY_WINDOW_SECONDS = 300
TIMESTAMP_DIGITS = 12  # seconds since 1970 have 10 digits until the year 2286
REPLY_DEADLINE_SECONDS = 4.5  # WeChat drops the connection after 5 s (被动回复用户消息)

PASSIVE_TEXT_BYTES = 2048  # one passive text reply; the rest of a longer answer is pushed
FORBIDDEN = "签名校验没有通过。"
MALFORMED = "消息格式不对。"
TOO_LARGE = "消息太大了。"


def sign(*parts: str) -> str:
    """Return WeChat's signature: SHA-1 of the sorted parts joined without a separator."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CallbackGuard:
    """Check one callback request's age and signature against the channel's token."""

    token: str
    window: float = REPLAY_WINDOW_SECONDS
    clock: Callable[[], float] = field(default=time.time)

    def check_time(self, timestamp: str | None) -> None:
        """Refuse a timestamp that is missing or outside the replay window (403)."""
        sent = whole_number(timestamp, TIMESTAMP_DIGITS)
        if sent is None:
            raise InboundError(403, FORBIDDEN, "timestamp missing or not a number")
        if abs(self.clock() - sent) > self.window:
            raise InboundError(403, FORBIDDEN, "timestamp outside the replay window")

    def check_signature(self, given: str | None, timestamp: str, nonce: str, *extra: str) -> None:
        """Refuse unless `given` is the signature of token, timestamp, nonce and `extra` (403)."""
        expected = sign(self.token, timestamp, nonce, *extra)
        if not hmac.compare_digest(expected.encode(), (given or "").lower().encode()):
            raise InboundError(403, FORBIDDEN, "bad signature")

    def check_query(self, query: Mapping[str, str], key: str, *extra: str) -> None:
        """Check timestamp and the signature in `query[key]` over token, time, nonce, `extra`."""
        timestamp, nonce = query.get("timestamp"), query.get("nonce")
        self.check_time(timestamp)
        if not nonce:
            raise InboundError(403, FORBIDDEN, "nonce missing")
        self.check_signature(query.get(key), timestamp or "", nonce, *extra)


async def read_body(request: web.Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """Return the request body, refusing more than `limit` bytes (413) or none at all (400)."""
    if request.content_length is not None and request.content_length > limit:
        raise InboundError(413, TOO_LARGE, f"declared {request.content_length} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(8192):
        size += len(chunk)
        if size > limit:
            raise InboundError(413, TOO_LARGE, f"body over {limit} bytes")
        chunks.append(chunk)
    if not size:
        raise InboundError(400, MALFORMED, "empty body")
    return b"".join(chunks)


class _NoDoctype:
    """An `expat` stand-in for xmltodict whose parsers refuse any DOCTYPE (no DTD, no entity)."""

    @staticmethod
    def ParserCreate(encoding: str | None = None, separator: str | None = None) -> Any:
        """Return an expat parser that raises on a DOCTYPE declaration."""
        parser = expat.ParserCreate(encoding, separator)
        parser.StartDoctypeDeclHandler = _refuse_doctype
        return parser


def _refuse_doctype(*_args: object) -> None:
    raise ValueError("DOCTYPE is not allowed")


def parse_xml(data: bytes | str) -> dict[str, str]:
    """Return the text children of a WeChat `<xml>` document; refuse DTDs and entities (400)."""
    raw = data.encode() if isinstance(data, str) else data
    try:
        document = xmltodict.parse(raw, expat=_NoDoctype, disable_entities=True)
    except (expat.ExpatError, ValueError) as exc:
        raise InboundError(400, MALFORMED, f"unreadable XML: {exc}") from None
    root = document.get("xml") if isinstance(document, dict) else None
    if not isinstance(root, dict):
        raise InboundError(400, MALFORMED, "no <xml> root element")
    fields: dict[str, str] = {}
    for name, value in root.items():
        if isinstance(value, list):
            raise InboundError(400, MALFORMED, f"repeated element {name}")
        if value is None or isinstance(value, str):
            fields[name] = value or ""
    return fields


def require(fields: Mapping[str, str], *names: str) -> tuple[str, ...]:
    """Return the values of `names`, refusing a message that lacks any of them (400)."""
    missing = [name for name in names if not fields.get(name)]
    if missing:
        raise InboundError(400, MALFORMED, f"missing {', '.join(missing)}")
    return tuple(fields[name] for name in names)


def cdata_safe(text: str) -> str:
    """Return `text` safe inside wechatpy's CDATA sections (it does not escape `]]>`)."""
    return text.replace("]]>", "]]]]><![CDATA[>")


@contextmanager
def decryption(receive_id_error: type[Exception]) -> Iterator[None]:
    """Turn wechatpy's decryption failures into InboundError: wrong receive id 403, else 400."""
    try:
        yield
    except receive_id_error:
        raise InboundError(403, FORBIDDEN, "message addressed to another receive id") from None
    except (ValueError, binascii.Error, struct.error, IndexError, TypeError) as exc:
        raise InboundError(400, MALFORMED, f"undecryptable: {type(exc).__name__}") from None


@dataclass(slots=True)
class LateReplies:
    """Answer within the passive-reply deadline, or finish in the background and push.

    WeChat waits 5 s for a passive reply; past that it retries. When the answer is not ready
    by `deadline`, the callback answers "no reply" and the answer goes out through `push`
    (customer-service or app message) once ready. Tasks are kept so they are not collected.
    """

    deadline: float = REPLY_DEADLINE_SECONDS
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def passive(
        self,
        work: Awaitable[str],
        push: Callable[[str], Awaitable[Any]],
        context: str,
        limit: int = PASSIVE_TEXT_BYTES,
    ) -> str:
        """Return what the passive reply holds; push the rest, or all of a late answer."""
        full = await self.within(work, push, context)
        if not full:
            return ""
        first, *rest = split_text(full, limit) or [""]
        if rest:
            self.push_soon(push, "".join(rest), context)
        return first

    async def within(
        self, work: Awaitable[str], push: Callable[[str], Awaitable[Any]], context: str
    ) -> str:
        """Return the answer of `work` if ready in time, else "" and push it later."""
        answer = asyncio.ensure_future(work)
        try:
            return await asyncio.wait_for(asyncio.shield(answer), self.deadline)
        except TimeoutError:
            log.info(
                "%s: answer not ready within %.1fs; it will be pushed", context, self.deadline
            )
            self._track(asyncio.create_task(self._push_later(answer, push, context)))
            return ""

    def push_soon(self, push: Callable[[str], Awaitable[Any]], text: str, context: str) -> None:
        """Push `text` in the background (the part of an answer a passive reply cannot hold)."""
        self._track(asyncio.create_task(self._push_later(_ready(text), push, context)))

    def _track(self, task: asyncio.Task[None]) -> None:
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _push_later(
        self, answer: Awaitable[str], push: Callable[[str], Awaitable[Any]], context: str
    ) -> None:
        try:
            text = await answer
            if text:
                await push(text)
        except Exception:
            log.exception("%s: late reply could not be delivered", context)

    async def close(self, timeout: float = 10.0) -> None:
        """Wait up to `timeout` for pending pushes, then cancel what is left."""
        if not self.tasks:
            return
        _, pending = await asyncio.wait(set(self.tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def _ready(text: str) -> str:
    return text


_PATTERNS = {
    "token": (re.compile(r"[A-Za-z0-9]{1,32}"), "应为 1 到 32 位字母或数字"),
    "aes_key": (re.compile(r"[A-Za-z0-9]{43}"), "应为 43 位的 EncodingAESKey"),
    "secret": (re.compile(r"[A-Za-z0-9_-]{16,128}"), "应为管理后台给出的 Secret"),
    "id": (re.compile(r"[A-Za-z0-9_-]{1,64}"), "应为管理后台显示的 ID"),
}


def env_value(env: Mapping[str, str], name: str, kind: str) -> str:
    """Return the required setting `name`, checked as a "token", "aes_key", "secret" or "id"."""
    raw = (env.get(name) or "").strip()
    pattern, reason = _PATTERNS[kind]
    if not pattern.fullmatch(raw):
        shown = raw if kind == "id" or not raw else "***"  # never echo a secret
        raise SettingsError(name, shown, reason)
    return raw


def env_base(env: Mapping[str, str], name: str, default: str) -> str:
    """Return an API base URL setting without its trailing slash."""
    raw = (env.get(name) or default).strip()
    if not raw.startswith(("http://", "https://")):
        raise SettingsError(name, raw, "应以 http:// 或 https:// 开头")
    return raw.rstrip("/")


def env_window(env: Mapping[str, str], name: str = "WECHAT_REPLAY_WINDOW") -> float:
    """Return the replay window in seconds (30 to 3600, default 300)."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return REPLAY_WINDOW_SECONDS
    if not raw.isdigit() or not 30 <= int(raw) <= 3600:
        raise SettingsError(name, raw, "应为 30 到 3600 之间的整数秒")
    return float(raw)
