"""A loopback fake of the WeCom group robot API that answers the way the real one does.

POST /cgi-bin/webhook/send?key=... checks the body per msgtype, the byte limits (text 2048,
markdown 4096; 群机器人配置说明) and the per-robot allowance (`limit` messages in any `period`
seconds, 45009 beyond it); a removed or unknown key gets 93000. POST
/cgi-bin/webhook/upload_media?key=...&type=file takes a multipart "media" of 5 B to 20 MB and
returns a media_id only that robot may send. It can be told to answer the next requests with a
5xx or to drop their connections. GET /fake/stats reports what each key received (for the bench,
which runs the fake in its own process: `python -m tests.support.wecom_robot --port 8999`).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import time
import uuid
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TEXT_BYTES, MARKDOWN_BYTES = 2048, 4096
TITLE_BYTES, DESCRIPTION_BYTES, MAX_ARTICLES = 128, 512, 8
IMAGE_MAX_BYTES, FILE_MIN_BYTES, FILE_MAX_BYTES = 2 * 1024 * 1024, 5, 20 * 1024 * 1024

PASS = 0  # a planned fault slot that lets its request through
# What to do to a coming request: PASS, answer an HTTP status, drop (None), or refuse it.
Fault = int | None | tuple[int, str]


class Refused(Exception):
    """The fake answers this request with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode, self.errmsg = errcode, errmsg


@dataclass
class FakeWeComRobot:
    """The robot API on 127.0.0.1; `keys` None means every well-formed key is a robot."""

    limit: int = 20
    period: float = 60.0
    keys: set[str] | None = None
    received: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    answers: Counter[int] = field(default_factory=Counter)
    requests: int = 0
    removed: set[str] = field(default_factory=set)
    media: dict[str, str] = field(default_factory=dict)
    filenames: list[str] = field(default_factory=list)  # as the upload's part header names them
    _faults: deque[Fault] = field(default_factory=deque)
    _accepted_at: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    base: str = ""
    _runner: web.AppRunner | None = None

    @property
    def app(self) -> web.Application:
        """Return a fresh application serving this fake's state."""
        app = web.Application(client_max_size=FILE_MAX_BYTES + 64 * 1024)
        app.router.add_post("/cgi-bin/webhook/send", self._send)
        app.router.add_post("/cgi-bin/webhook/upload_media", self._upload)
        app.router.add_get("/fake/stats", self._stats)
        return app

    async def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1 and return the base URL to configure as WECOM_API_BASE."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.base

    async def close(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()

    def remove(self, key: str) -> None:
        """Act as if the robot was removed from its group: its key now gets 93000."""
        self.removed.add(key)

    def fail_next(self, times: int, status: int = 502, *, after: int = 0) -> None:
        """Let `after` requests pass, then answer `times` requests with HTTP `status`."""
        self._faults.extend([PASS] * after + [status] * times)

    def drop_next(self, times: int, *, after: int = 0) -> None:
        """Let `after` requests pass, then close the connection of `times` requests unanswered."""
        self._faults.extend([PASS] * after + [None] * times)

    def refuse_next(self, errcode: int, errmsg: str) -> None:
        """Answer the next request with this errcode, whatever it holds."""
        self._faults.append((errcode, errmsg))

    def texts(self, key: str) -> list[str]:
        """Return the content of every text or markdown message `key` received, in order."""
        return [m[m["msgtype"]]["content"] for m in self.received[key]
                if m["msgtype"] in ("text", "markdown")]  # fmt: skip

    async def _send(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        raw = await request.read()
        try:
            if (fault := self._fault(request)) is not None:
                return fault
            key = self._robot(request)
            message = _message(raw, key, self.media)
            self._spend(key)
        except Refused as refused:
            return self._answer(refused.errcode, refused.errmsg)
        self.received[key].append(message)
        return self._answer(0, "ok")

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        try:
            if (fault := self._fault(request)) is not None:
                return fault
            key = self._robot(request)
            if request.query.get("type") != "file":
                raise Refused(40004, "invalid media type")
            form = await request.post()
            media = form.get("media")
            if not isinstance(media, web.FileField):
                raise Refused(41005, "media data missing")
            size = len(media.file.read())
            self.filenames.append(media.filename)
            if not FILE_MIN_BYTES <= size <= FILE_MAX_BYTES:
                raise Refused(40006, "invalid file size")
        except Refused as refused:
            return self._answer(refused.errcode, refused.errmsg)
        media_id = uuid.uuid4().hex
        self.media[media_id] = key
        created = str(int(time.time()))
        body = {"type": "file", "media_id": media_id, "created_at": created}
        return self._answer(0, "ok", body)

    async def _stats(self, request: web.Request) -> web.Response:
        counts = {key: len(messages) for key, messages in self.received.items()}
        answers = {str(code): count for code, count in self.answers.items()}
        return web.json_response({"received": counts, "answers": answers})

    def _fault(self, request: web.Request) -> web.StreamResponse | None:
        if not self._faults:
            return None
        status = self._faults.popleft()
        if status == PASS:
            return None
        if isinstance(status, tuple):
            raise Refused(*status)
        if status is None:
            assert request.transport is not None
            request.transport.close()
            return web.Response()  # never reaches the client: the connection is gone
        return web.Response(status=status, text="<html>502 Bad Gateway</html>")

    def _robot(self, request: web.Request) -> str:
        key = request.query.get("key", "")
        if not key:
            raise Refused(40058, "invalid param 'key'")
        known = self.keys is None or key in self.keys
        if not known or key in self.removed:
            raise Refused(93000, "invalid webhook url")
        return key

    def _spend(self, key: str) -> None:
        """Count one message against the robot's sliding window, or refuse it with 45009."""
        now, window = time.monotonic(), self._accepted_at[key]
        while window and window[0] <= now - self.period:
            window.popleft()
        if len(window) >= self.limit:
            raise Refused(45009, "api freq out of limit")
        window.append(now)

    def _answer(
        self, errcode: int, errmsg: str, extra: dict[str, Any] | None = None
    ) -> web.Response:
        self.answers[errcode] += 1
        if errcode:
            hint = uuid.uuid4().int % 10**25
            errmsg = (f"{errmsg}, hint: [{hint}], from ip: 127.0.0.1, more info at "
                      f"https://open.work.weixin.qq.com/devtool/query?e={errcode}")  # fmt: skip
        body: dict[str, Any] = {"errcode": errcode, "errmsg": errmsg, **(extra or {})}
        return web.json_response(body)


def _message(raw: bytes, key: str, media: dict[str, str]) -> dict[str, Any]:
    """Return the message in a send body as WeCom keeps it, or raise Refused."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise Refused(40058, "invalid Request Parameter, Warning: wrong json format.") from None
    kind = body.get("msgtype") if isinstance(body, dict) else None
    check = _CHECKS.get(kind) if isinstance(kind, str) else None
    part = body.get(kind) if check else None
    if check is None:
        raise Refused(40008, "invalid message type")
    if not isinstance(part, dict) or not isinstance(kind, str):
        raise Refused(40058, f"{kind} is missing. invalid Request Parameter")
    return {"msgtype": kind, kind: check(part, key, media)}


def _content(part: dict[str, Any], kind: str, limit: int) -> str:
    content = part.get("content")
    if not isinstance(content, str) or not content:
        raise Refused(44004, "empty content")
    if len(content.encode("utf-8")) > limit:
        raise Refused(
            40058, f"{kind}.content exceed max length {limit}. invalid Request Parameter"
        )
    return content


def _text(part: dict[str, Any], key: str, media: dict[str, str]) -> dict[str, Any]:
    kept: dict[str, Any] = {"content": _content(part, "text", TEXT_BYTES)}
    for name in ("mentioned_list", "mentioned_mobile_list"):
        value = part.get(name)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Refused(40058, f"text.{name} must be a list of strings")
        kept[name] = value
    return kept


def _markdown(part: dict[str, Any], key: str, media: dict[str, str]) -> dict[str, Any]:
    return {"content": _content(part, "markdown", MARKDOWN_BYTES)}


def _news(part: dict[str, Any], key: str, media: dict[str, str]) -> dict[str, Any]:
    articles = part.get("articles")
    if not isinstance(articles, list) or not 1 <= len(articles) <= MAX_ARTICLES:
        raise Refused(40058, "news.articles must hold 1 to 8 articles")
    kept = []
    for article in articles:
        if not isinstance(article, dict):
            raise Refused(40058, "news.articles must hold objects")
        title, url = article.get("title"), article.get("url")
        if not isinstance(title, str) or not title or not isinstance(url, str) or not url:
            raise Refused(40058, "news.articles needs title and url")
        # WeCom cuts a long title or description instead of refusing it.
        cut = {"title": _cut(title, TITLE_BYTES), "url": url}
        cut["description"] = _cut(str(article.get("description", "")), DESCRIPTION_BYTES)
        cut["picurl"] = str(article.get("picurl", ""))
        kept.append(cut)
    return {"articles": kept}


def _image(part: dict[str, Any], key: str, media: dict[str, str]) -> dict[str, Any]:
    try:
        picture = base64.b64decode(str(part.get("base64", "")), validate=True)
    except binascii.Error:
        raise Refused(40058, "image.base64 is not base64") from None
    if not picture or len(picture) > IMAGE_MAX_BYTES:
        raise Refused(40009, "invalid image size")
    if hashlib.md5(picture).hexdigest() != part.get("md5"):
        raise Refused(40058, "image.md5 does not match. invalid Request Parameter")
    return {"md5": part["md5"], "size": len(picture)}


def _file(part: dict[str, Any], key: str, media: dict[str, str]) -> dict[str, Any]:
    media_id = part.get("media_id")
    if not isinstance(media_id, str) or media.get(media_id) != key:
        raise Refused(40007, "invalid media_id")
    return {"media_id": media_id}


def _cut(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


_CHECKS = {"text": _text, "markdown": _markdown, "news": _news, "image": _image, "file": _file}


def main() -> None:
    """Run the fake on its own (for benches): python -m tests.support.wecom_robot --port 8999."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--period", type=float, default=60.0)
    args = parser.parse_args()
    fake = FakeWeComRobot(limit=args.limit, period=args.period)
    web.run_app(fake.app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
