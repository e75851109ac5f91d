"""WeCom group robot (群机器人 webhook): a push-only target for text, markdown, news, image, file.

From 群机器人配置说明 (https://developer.work.weixin.qq.com/document/path/91770): POST
{base}/cgi-bin/webhook/send?key=KEY with {"msgtype": T, T: {...}}; the answer is HTTP 200 with
errcode/errmsg. text.content <= 2048 bytes (mentioned_list, mentioned_mobile_list, "@all");
markdown.content <= 4096 bytes; news: 1 to 8 articles, title <= 128 and description <= 512 bytes
(WeCom cuts longer ones), url, picurl; image: base64 and md5 of a JPG/PNG of <= 2 MB; file: a
media_id from {base}/cgi-bin/webhook/upload_media?key=KEY&type=file (multipart "media",
5 B to 20 MB, valid 3 days, for the uploading robot only; the doc's example part carries the
file name as is, `filename="wework.txt"`, so a Chinese name goes as plain UTF-8, never
percent-encoded as aiohttp's FormData would by default). 消息发送频率限制: 20 messages a
minute per robot. Errcodes (全局错误码, https://developer.work.weixin.qq.com/document/path/90455,
and answers quoted in community clients): 45009 "api freq out of limit"; 93000 "invalid
webhook url" (wrong key or robot removed from its group: permanent); 40058 "invalid param
'key'"; -1 系统繁忙 (retry).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web
from redis.exceptions import RedisError

from bot.appkeys import REDIS
from bot.channels.dialects import robot_markdown
from bot.channels.splitting import split_text, truncate_bytes
from bot.models import Reply
from bot.settings import SettingsError, env_float, env_int
from bot.store.ratelimit import RateLimiter, WindowFull

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"
RATE_LIMIT, RATE_PERIOD = 20, 60.0  # messages per robot per minute
TEXT_BYTES, MARKDOWN_BYTES = 2048, 4096
TITLE_BYTES, DESCRIPTION_BYTES, MAX_ARTICLES = 128, 512, 8
IMAGE_MAX_BYTES = 2 * 1024 * 1024
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")  # JPG, PNG
FILE_MIN_BYTES, FILE_MAX_BYTES = 5, 20 * 1024 * 1024
BUSY, BAD_PARAM, RATE_LIMITED, BROKEN_KEY = -1, 40058, 45009, 93000
_JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True, slots=True)
class SendResult:
    """A send that went through: `messages` delivered by this call, in `attempts` posts."""

    messages: int
    attempts: int


class RobotError(Exception):
    """A send stopped; the first `delivered` messages of it had gone out (pass as `skip`)."""

    delivered: int = 0


class RetryLater(RobotError):
    """Nothing is wrong with the message or the robot: try again in `after` seconds."""

    def __init__(self, after: float, reason: str) -> None:
        super().__init__(f"retry in {after:.1f}s: {reason}")
        self.after = after


class RateLimited(RetryLater):
    """The robot's shared allowance has no free slot soon enough: a wait, not a failure."""

    def __init__(self, after: float) -> None:
        super().__init__(after, "the robot has no free slot soon enough")


class BrokenTarget(RobotError):
    """The robot key is invalid or the robot was removed: flag the group as broken."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"robot key refused: {errcode} {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class SendFailed(RobotError):
    """WeCom refused the message for another reason; resending it unchanged will not help."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeCom refused the message: {errcode} {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class InvalidMessage(ValueError):
    """The message breaks a documented limit; nothing was sent."""


class _Transient(Exception):
    """A network failure, a 5xx or a busy answer: worth retrying soon."""


@dataclass(frozen=True, slots=True)
class Article:
    """One article of a news card: a title, a link, an optional summary and cover picture."""

    title: str
    url: str
    description: str = ""
    picurl: str = ""


@dataclass(frozen=True, slots=True)
class RobotConfig:
    """Where the robot API lives and how hard to try; robot keys belong to groups, not here.

    The allowance is the documented one, unreduced: the limiter counts each send until its
    request has ended, so varying network delays cannot squeeze 21 messages into a minute.
    """

    api_base: str = DEFAULT_API_BASE
    attempts: int = 4
    backoff: float = 0.5
    backoff_cap: float = 30.0
    timeout: float = 10.0
    rate_limit: int = RATE_LIMIT
    rate_period: float = RATE_PERIOD
    max_wait: float = RATE_PERIOD  # longer than this for a slot: RetryLater instead

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RobotConfig:
        """Read WECOM_API_BASE and the WECOM_ROBOT_* retry knobs; the robot needs no secret."""
        defaults = cls()
        base = env.get("WECOM_API_BASE") or DEFAULT_API_BASE
        if not base.startswith(("http://", "https://")):
            raise SettingsError("WECOM_API_BASE", base, "应以 http:// 或 https:// 开头")
        return cls(
            api_base=base.rstrip("/"),
            attempts=env_int(env, "WECOM_ROBOT_ATTEMPTS", defaults.attempts, 1, 20),
            backoff=env_float(env, "WECOM_ROBOT_BACKOFF", defaults.backoff, 0.0, 60.0),
            timeout=env_float(env, "WECOM_ROBOT_TIMEOUT", defaults.timeout, 0.1, 120.0),
        )


@dataclass
class RobotClient:
    """Send to WeCom group robots over one shared HTTP session and the Redis limiter.

    Each send returns a SendResult or raises RetryLater, BrokenTarget or SendFailed (all
    RobotError), or InvalidMessage before anything is sent. Long texts go out as several
    messages in order; `skip` leaves out those a failed earlier try had delivered.
    """

    session: aiohttp.ClientSession
    limiter: RateLimiter
    config: RobotConfig = field(default_factory=RobotConfig)

    async def send_text(
        self, key: str, text: str, *, mentions: Sequence[str] = (),
        mobiles: Sequence[str] = (), skip: int = 0,
    ) -> SendResult:  # fmt: skip
        """Send `text`, split to 2048-byte messages; the @mentions go with the first."""
        return await self._deliver(key, text_payloads(text, mentions, mobiles), skip)

    async def send_markdown(self, key: str, text: str, *, skip: int = 0) -> SendResult:
        """Send markdown `text`, split to 4096-byte messages."""
        return await self._deliver(key, markdown_payloads(text), skip)

    async def send_reply(self, key: str, reply: Reply, *, skip: int = 0) -> SendResult:
        """Send every part of a chat Reply in order, as text or markdown messages."""
        return await self._deliver(key, reply_payloads(reply), skip)

    async def send_news(self, key: str, articles: Sequence[Article]) -> SendResult:
        """Send one card of 1 to 8 articles (title, summary, link, cover)."""
        return await self._deliver(key, [news_payload(articles)], 0)

    async def send_image(self, key: str, picture: bytes) -> SendResult:
        """Send a JPG or PNG picture of at most 2 MB."""
        return await self._deliver(key, [image_payload(picture)], 0)

    async def send_file(self, key: str, content: bytes, filename: str) -> SendResult:
        """Upload `content` as `filename` to this robot, then send it to the group."""
        media_id = await self.upload_media(key, content, filename)
        return await self._deliver(key, [{"msgtype": "file", "file": {"media_id": media_id}}], 0)

    async def upload_media(self, key: str, content: bytes, filename: str) -> str:
        """Upload a file for this robot; return its media_id (valid 3 days, this robot only)."""
        _check_key(key)
        if not FILE_MIN_BYTES <= len(content) <= FILE_MAX_BYTES:
            raise InvalidMessage(f"a robot file must be 5 B to 20 MB, not {len(content)} B")
        if not filename.strip() or any(ord(char) < 32 or ord(char) == 127 for char in filename):
            raise InvalidMessage("a robot file needs a name without control characters")
        # An upload shows nothing in the group, so it takes no slot of the message allowance.
        body, _ = await self._post_with_retries(key, "upload_media", (content, filename))
        media_id = body.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise SendFailed(0, "upload_media answered without a media_id")
        return media_id

    async def _deliver(self, key: str, payloads: list[dict[str, Any]], skip: int) -> SendResult:
        """Send `payloads[skip:]` one after another, in order."""
        _check_key(key)
        attempts = 0
        for index in range(skip, len(payloads)):
            try:
                attempts += (await self._post_with_retries(key, "send", payloads[index]))[1]
            except RobotError as error:
                error.delivered = index
                raise
        return SendResult(messages=len(payloads) - skip, attempts=attempts)

    async def _post_with_retries(
        self, key: str, method: str, data: Any
    ) -> tuple[dict[str, Any], int]:
        """Post, retrying transient failures with backoff; return the body and the attempts."""
        attempts = self.config.attempts
        for attempt in range(1, attempts + 1):
            try:
                if method == "upload_media":
                    return await self._post(key, method, data), attempt
                async with self._slot(key):  # every attempt may reach WeCom: each takes a slot
                    return await self._post(key, method, data), attempt
            except WindowFull as full:
                raise RateLimited(full.after) from None
            except RedisError as error:  # without the shared allowance, sending is unsafe
                log.warning("robot %s: no Redis for the allowance: %s", mask(key), type(error))
                raise RetryLater(self._backoff(attempt), "Redis unavailable") from None
            except _Transient as problem:
                delay = self._backoff(attempt)
                if attempt == attempts:
                    log.warning("robot %s: %s; giving up after %d attempts",
                                mask(key), problem, attempt)  # fmt: skip
                    raise RetryLater(delay, str(problem)) from None
                log.info("robot %s: %s; retry %d of %d in %.2fs",
                         mask(key), problem, attempt, attempts - 1, delay)  # fmt: skip
                await asyncio.sleep(delay)
        raise AssertionError("attempts must be at least 1")

    def _slot(self, key: str) -> AbstractAsyncContextManager[None]:
        """Return the context holding one of this robot's send slots, shared through Redis."""
        config = self.config
        return self.limiter.sending(
            limiter_target(key), config.rate_limit, config.rate_period,
            hold=config.timeout + 1.0, max_wait=config.max_wait,
        )  # fmt: skip

    async def _post(self, key: str, method: str, data: Any) -> dict[str, Any]:
        """Post once; return the body when errcode is 0, else raise what the answer means."""
        url = f"{self.config.api_base}/cgi-bin/webhook/{method}"
        timeout = aiohttp.ClientTimeout(total=self.config.timeout)
        params: dict[str, str] = {"key": key}
        body: dict[str, Any] = {"json": data}
        if method == "upload_media":
            form = aiohttp.FormData(quote_fields=False)  # the file name as plain UTF-8
            form.add_field("media", data[0], filename=data[1],
                           content_type="application/octet-stream")  # fmt: skip
            params, body = {"key": key, "type": "file"}, {"data": form}
        try:
            async with self.session.post(url, params=params, timeout=timeout, **body) as response:
                if response.status >= 500 or response.status == 429:
                    raise _Transient(f"HTTP {response.status}")
                if response.status != 200:
                    raise SendFailed(-response.status, f"HTTP {response.status}")
                answer = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as error:
            # Never str(error): aiohttp puts the URL, and with it the key, in its messages.
            raise _Transient(type(error).__name__) from None
        if not isinstance(answer, dict):
            raise _Transient("the answer is not a JSON object")
        return _outcome(key, answer)

    async def post_prepared(self, key: str, body: bytes, attempt: int = 1) -> None:
        """Post one message body rendered beforehand (`message_body`), once, outside the
        limiter: the caller holds the robot's slot. A failure worth retrying raises RetryLater
        with the backoff after `attempt`; a refusal raises what its errcode means."""
        url = f"{self.config.api_base}/cgi-bin/webhook/send?key={quote(key, safe='')}"
        try:
            async with self.session.post(url, data=body, headers=_JSON,
                                         timeout=self._timeout) as response:  # fmt: skip
                if response.status >= 500 or response.status == 429:
                    raise _Transient(f"HTTP {response.status}")
                if response.status != 200:
                    raise SendFailed(-response.status, f"HTTP {response.status}")
                answer = json.loads(await response.read())
            if not isinstance(answer, dict):
                raise _Transient("the answer is not a JSON object")
            _outcome(key, answer)
        except (TimeoutError, aiohttp.ClientError, ValueError, _Transient) as error:
            # Never str(error) of aiohttp's: it puts the URL, and with it the key, in messages.
            reason = str(error) if isinstance(error, _Transient) else type(error).__name__
            raise RetryLater(self._backoff(attempt), reason) from None

    @cached_property
    def _timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=self.config.timeout)

    def _backoff(self, attempt: int) -> float:
        """Return the delay after failed attempt `attempt`: exponential, capped, jittered."""
        ceiling = min(self.config.backoff_cap, self.config.backoff * 2.0 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def _outcome(key: str, body: dict[str, Any]) -> dict[str, Any]:
    """Return `body` when its errcode is 0, else raise the outcome the errcode means."""
    code, message = body.get("errcode", 0), str(body.get("errmsg", ""))
    if code == 0:
        return body
    if code == BUSY:
        raise _Transient("WeCom is busy (errcode -1)")
    if code == RATE_LIMITED:
        log.warning("robot %s: rate limited by WeCom (45009)", mask(key))
        raise RetryLater(RATE_PERIOD, "45009 api freq out of limit")
    if code == BROKEN_KEY or (code == BAD_PARAM and "'key'" in message):
        log.warning("robot %s: key refused (%s); the group needs a new robot", mask(key), code)
        raise BrokenTarget(int(code), message)
    log.warning("robot %s: message refused, errcode %s", mask(key), code)
    raise SendFailed(int(code), message)


def message_body(payload: dict[str, Any]) -> bytes:
    """Return a message as the JSON body `post_prepared` sends."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def mask(key: str) -> str:
    """Return a robot key as logs may show it: its first four characters only."""
    return f"{key[:4]}***"


def _check_key(key: str) -> None:
    """Refuse a key that cannot be a robot's (empty, spaces, URL syntax) before any request."""
    if not key or any(char.isspace() or char in "&?#/=" for char in key):
        raise BrokenTarget(BROKEN_KEY, "the robot key is empty or malformed")


def limiter_target(key: str) -> str:
    """Return the limiter's name for a robot: a digest, so Redis never holds the key itself."""
    return "wecom-robot:" + hashlib.sha256(key.encode()).hexdigest()[:20]


def text_payloads(
    text: str, mentions: Sequence[str] = (), mobiles: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Return the text messages for `text`, each within 2048 bytes; mentions on the first."""
    payloads: list[dict[str, Any]] = []
    for piece in _pieces(text, TEXT_BYTES):
        body: dict[str, Any] = {"content": piece}
        if not payloads and mentions:
            body["mentioned_list"] = list(mentions)
        if not payloads and mobiles:
            body["mentioned_mobile_list"] = list(mobiles)
        payloads.append({"msgtype": "text", "text": body})
    return payloads


def markdown_payloads(text: str) -> list[dict[str, Any]]:
    """Return the markdown messages for `text`, each within 4096 bytes."""
    pieces = _pieces(robot_markdown(text), MARKDOWN_BYTES)
    return [{"msgtype": "markdown", "markdown": {"content": piece}} for piece in pieces]


def reply_payloads(reply: Reply) -> list[dict[str, Any]]:
    """Return the messages for every part of a chat Reply, in order."""
    payloads: list[dict[str, Any]] = []
    for part in reply.parts:
        build = markdown_payloads if part.format == "markdown" else text_payloads
        payloads.extend(build(part.text))
    return payloads


def news_payload(articles: Sequence[Article]) -> dict[str, Any]:
    """Return a news card; titles and summaries are cut cleanly before WeCom would cut them."""
    if not 1 <= len(articles) <= MAX_ARTICLES:
        raise InvalidMessage(f"a news card holds 1 to 8 articles, not {len(articles)}")
    cards = []
    for article in articles:
        if not article.title.strip() or not article.url.startswith(("http://", "https://")):
            raise InvalidMessage("every article needs a title and an http(s) link")
        card = {"title": truncate_bytes(article.title, TITLE_BYTES), "url": article.url}
        if article.description:
            card["description"] = truncate_bytes(article.description, DESCRIPTION_BYTES)
        if article.picurl:
            card["picurl"] = article.picurl
        cards.append(card)
    return {"msgtype": "news", "news": {"articles": cards}}


def image_payload(picture: bytes) -> dict[str, Any]:
    """Return an image message: base64 of the picture and the md5 of its raw bytes."""
    if len(picture) > IMAGE_MAX_BYTES or not picture.startswith(IMAGE_MAGIC):
        raise InvalidMessage("a robot image must be a JPG or PNG of at most 2 MB")
    encoded, digest = base64.b64encode(picture).decode("ascii"), hashlib.md5(picture).hexdigest()
    return {"msgtype": "image", "image": {"base64": encoded, "md5": digest}}


def _pieces(text: str, limit: int) -> list[str]:
    """Return the pieces of `text` within `limit` bytes, without newlines at their edges."""
    pieces = [piece.strip("\n") for piece in split_text(text, limit)]
    pieces = [piece for piece in pieces if piece.strip()]
    if not pieces:
        raise InvalidMessage("a robot message needs some text")
    return pieces


ROBOT_CLIENT = web.AppKey("wecom_robot", RobotClient)


def setup_wecom_robot(app: web.Application, config: RobotConfig) -> None:
    """Give the app a RobotClient (its own HTTP session, the app's Redis) for its lifetime."""

    async def robot_ctx(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            app[ROBOT_CLIENT] = RobotClient(session, RateLimiter(app[REDIS]), config)
            yield

    app.cleanup_ctx.append(robot_ctx)
