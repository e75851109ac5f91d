"""Async client of the WeCom server API for the self-built app, with one shared access token.

Facts from the WeCom docs:
- GET {base}/cgi-bin/gettoken?corpid=ID&corpsecret=SECRET answers {"access_token",
  "expires_in": 7200}. The token must be cached (gettoken itself is frequency-limited), and
  WeCom may end it early, so a refused token is fetched again (获取access_token,
  https://developer.work.weixin.qq.com/document/path/91039).
- errcode 40014 invalid access_token, 42001 access_token expired: fetch a new token once and
  retry. 45009 frequency limit and -1 busy are worth retrying later; 81013 means no recipient
  was valid (全局错误码, https://developer.work.weixin.qq.com/document/path/90313).
- POST {base}/cgi-bin/message/send?access_token=T, {"touser": "a|b", "msgtype", "agentid", ...}:
  text.content and markdown.content at most 2048 bytes (WeCom cuts longer ones), news 1 to 8
  articles with title <= 128 and description <= 512 bytes, at most 1000 users a call; an app
  may send one member at most 30 messages a minute, more are dropped (发送应用消息,
  https://developer.work.weixin.qq.com/document/path/90236; 频率限制, path/90312).

The token lives in Redis for every instance; a refresh happens under a Redis lock and re-reads
the cache first, so concurrent refreshes fetch once and never replace each other's token.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import LockError

from bot.channels.splitting import split_text, truncate_bytes
from bot.channels.wecom_robot import Article
from bot.models import Reply
from bot.store import keys
from bot.store.owned import delete_if_equal

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"
STALE_TOKEN = frozenset({40014, 42001})
RETRYABLE = frozenset({-1, 45009})
TEXT_BYTES = MARKDOWN_BYTES = 2048
TITLE_BYTES, DESCRIPTION_BYTES, MAX_ARTICLES = 128, 512, 8
MAX_USERS = 1000


def token_key(app: str) -> str:
    """The cached access token of one app (string with the token's expiry)."""
    return f"{keys.PREFIX}:{{token:{app}}}:value"


def token_lock_key(app: str) -> str:
    """The lock held while one instance fetches a new token for `app`."""
    return f"{keys.PREFIX}:{{token:{app}}}:lock"


class WeChatAPIError(Exception):
    """The API answered with a non-zero errcode."""

    def __init__(self, path: str, errcode: int, errmsg: str) -> None:
        super().__init__(f"{path}: errcode {errcode} {errmsg}")
        self.path, self.errcode, self.errmsg = path, errcode, errmsg

    @property
    def retryable(self) -> bool:
        """Return True when the same call may succeed later (busy, frequency limit)."""
        return self.errcode in RETRYABLE


class APIUnavailable(Exception):
    """No usable answer: network failure, timeout, 5xx or a body that is not JSON."""


async def request_json(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    params: dict[str, str],
    json: Any = None,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """Return the JSON answer of one call; the URL (it holds secrets) never reaches a log."""
    path = url.split("/cgi-bin/", 1)[-1]
    try:
        async with session.request(
            method, url, params=params, json=json, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            if response.status >= 500:
                raise APIUnavailable(f"{path}: HTTP {response.status}")
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise APIUnavailable(f"{path}: {type(exc).__name__}") from None
    if not isinstance(body, dict):
        raise APIUnavailable(f"{path}: answer is not a JSON object")
    return body


@dataclass(frozen=True, slots=True)
class SharedToken:
    """One app's access token, cached in Redis for every instance and refreshed under a lock."""

    redis: Redis
    app: str
    fetch: Callable[[], Awaitable[tuple[str, int]]]
    margin: int = 300  # stop using a token this long before WeChat's stated expiry
    lock_timeout: float = 15.0

    async def get(self) -> str:
        """Return the cached token, or fetch one (once across all instances)."""
        cached = _text(await self.redis.get(token_key(self.app)))
        if cached:
            return cached
        lock = self.redis.lock(
            token_lock_key(self.app),
            timeout=self.lock_timeout,
            sleep=0.02,
            blocking_timeout=self.lock_timeout,
            raise_on_release_error=False,
        )
        try:
            async with lock:
                cached = _text(await self.redis.get(token_key(self.app)))
                if cached:
                    return cached
                token, expires_in = await self.fetch()
                ttl = expires_in - self.margin if expires_in > 2 * self.margin else expires_in // 2
                await self.redis.set(token_key(self.app), token, ex=max(1, ttl))
                log.info("fetched a new access token for %s (valid %ss)", self.app, expires_in)
                return token
        except LockError:
            raise APIUnavailable(f"token refresh for {self.app} is stuck") from None

    async def discard(self, refused: str) -> None:
        """Forget `refused` unless another instance has already replaced it."""
        await delete_if_equal(self.redis, token_key(self.app), refused)


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True, slots=True)
class TokenedAPI:
    """POST JSON to a WeChat-style API with the shared token; a stale token is renewed once."""

    session: aiohttp.ClientSession
    base: str
    token: SharedToken
    stale: frozenset[int] = STALE_TOKEN
    timeout: float = 10.0

    async def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Return the answer to `payload` at `path`, or raise WeChatAPIError/APIUnavailable."""
        for attempt in range(2):
            token = await self.token.get()
            body = await request_json(
                self.session,
                "POST",
                self.base + path,
                params={"access_token": token},
                json=payload,
                timeout=self.timeout,
            )
            errcode = int(body.get("errcode", 0))
            if errcode in self.stale and attempt == 0:
                log.info(
                    "token for %s refused with %s; fetching a new one", self.token.app, errcode
                )
                await self.token.discard(token)
                continue
            if errcode:
                raise WeChatAPIError(path, errcode, str(body.get("errmsg", "")))
            return body
        raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """What WeCom accepted: how many messages, and which users it did not know."""

    messages: int
    invalid_users: frozenset[str]


class WeComAPI:
    """Send app messages (text, markdown, news) to members as the self-built app."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        redis: Redis,
        *,
        corp_id: str,
        secret: str,
        agent_id: int,
        base: str = DEFAULT_API_BASE,
        timeout: float = 10.0,
    ) -> None:
        self.agent_id = agent_id
        self._session, self._base, self._timeout = session, base.rstrip("/"), timeout
        self.session = session  # also fetches the pictures staff send
        self._credentials = {"corpid": corp_id, "corpsecret": secret}
        token = SharedToken(redis, f"wecom:{corp_id}:{agent_id}", self._fetch_token)
        self.http = TokenedAPI(session, self._base, token, STALE_TOKEN, timeout)

    async def _fetch_token(self) -> tuple[str, int]:
        body = await request_json(
            self._session,
            "GET",
            f"{self._base}/cgi-bin/gettoken",
            params=self._credentials,
            timeout=self._timeout,
        )
        if body.get("errcode") or not body.get("access_token"):
            errcode = int(body.get("errcode") or -1)
            raise WeChatAPIError("gettoken", errcode, str(body.get("errmsg", "")))
        return str(body["access_token"]), int(body.get("expires_in", 7200))

    async def send_text(self, users: Sequence[str], text: str) -> SendReceipt:
        """Send `text` to `users`, split into 2048-byte messages on sentence boundaries."""
        parts = [{"content": part} for part in split_text(text, TEXT_BYTES)]
        return await self._send(users, "text", parts)

    async def send_markdown(self, users: Sequence[str], markdown: str) -> SendReceipt:
        """Send `markdown` to `users` (shown as markdown in the WeCom client)."""
        parts = [{"content": part} for part in split_text(markdown, MARKDOWN_BYTES)]
        return await self._send(users, "markdown", parts)

    async def send_news(self, users: Sequence[str], articles: Sequence[Article]) -> SendReceipt:
        """Send one news card of 1 to 8 articles; long titles and summaries are cut."""
        if not 1 <= len(articles) <= MAX_ARTICLES:
            raise ValueError(f"a news card holds 1 to {MAX_ARTICLES} articles")
        cards = [
            {
                "title": truncate_bytes(article.title, TITLE_BYTES),
                "description": truncate_bytes(article.description, DESCRIPTION_BYTES),
                "url": article.url,
                "picurl": article.picurl,
            }
            for article in articles
        ]
        return await self._send(users, "news", [{"articles": cards}])

    async def send_reply(self, users: Sequence[str], reply: Reply) -> SendReceipt:
        """Send every part of a chat Reply, in order."""
        invalid: set[str] = set()
        sent = 0
        for part in reply.parts:
            send = self.send_markdown if part.format == "markdown" else self.send_text
            receipt = await send(users, part.text)
            sent += receipt.messages
            invalid |= receipt.invalid_users
        return SendReceipt(sent, frozenset(invalid))

    async def _send(
        self, users: Sequence[str], msgtype: str, bodies: list[dict[str, Any]]
    ) -> SendReceipt:
        if not 1 <= len(users) <= MAX_USERS or any(not u or "|" in u for u in users):
            raise ValueError(f"send to 1 to {MAX_USERS} user ids, none empty or holding '|'")
        invalid: set[str] = set()
        for body in bodies:
            payload = {"touser": "|".join(users), "msgtype": msgtype, "agentid": self.agent_id}
            answer = await self.http.post("/cgi-bin/message/send", {**payload, msgtype: body})
            invalid.update(u for u in str(answer.get("invaliduser", "")).split("|") if u)
        return SendReceipt(len(bodies), frozenset(invalid))
