"""Guard every request's shape and turn errors into clear Chinese answers at the edge, once.

Before any handler runs, `error_middleware` refuses headers that are not text, and reads and
checks a JSON or form body: its size (413), UTF-8 and charset, JSON nesting, numbers and lone
surrogates (400). Handlers then read the body with `json_body` or `request.post()`, already
checked. A signed callback (`signed_body`) is left alone: it checks size, timestamp and
signature before it parses anything.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler

from bot.bounded import BadInput, check_text, loads
from bot.channels.base import InboundError
from bot.channels.callback import reads_signed_body

log = logging.getLogger(__name__)

HTTP_MESSAGES = {
    400: "请求格式不对。",
    403: "没有权限访问。",
    404: "页面不存在。",
    405: "不支持这种请求方式。",
    413: "内容太大了，请精简后再发。",
}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
JSON_BODY = web.RequestKey("json_body", object)


async def json_body(request: web.Request) -> Any:
    """Return the request's JSON body, parsed within bounds (400 when it is not JSON)."""
    if JSON_BODY in request:
        return request[JSON_BODY]
    return loads(await request.read())


class MalformedHTTP(logging.Filter):
    """Log a request aiohttp's own parser refused (it has answered 400) as one INFO line: bad
    input from outside is not a fault of ours and leaves no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite a parser refusal's record; pass every other record as it is."""
        refused = record.exc_info[1] if record.exc_info else None
        if isinstance(refused, HttpProcessingError | web.RequestPayloadError):
            reason = (str(refused).strip().splitlines() or [""])[0]
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "refused a malformed HTTP request: %s", (reason,)
            record.exc_info = record.exc_text = None
        return True


def quiet_malformed_http() -> None:
    """Install MalformedHTTP on aiohttp's server logger (once)."""
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(existing, MalformedHTTP) for existing in server_log.filters):
        server_log.addFilter(MalformedHTTP())


def _error(request: web.Request, status: int, message: str) -> web.Response:
    if "/api/" in request.path or request.content_type == "application/json":
        return web.json_response({"error": message}, status=status)
    return web.Response(text=message, status=status, content_type="text/plain", charset="utf-8")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Check the request's shape, then map refusals and HTTP errors to a Chinese message."""
    try:
        await _guard(request)
        return await handler(request)
    except InboundError as exc:
        log.info("rejected %s %s: %s", request.method, request.path, exc)
        return _error(request, exc.status, exc.public)
    except BadInput as exc:
        log.info("rejected %s %s: %s", request.method, request.path, exc)
        return _error(request, 400, exc.public)
    except web.RequestPayloadError as exc:  # e.g. a "gzip" body that does not inflate
        log.info("rejected %s %s: %s", request.method, request.path, exc)
        return _error(request, 400, "请求内容无法解码。")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error(request, exc.status, HTTP_MESSAGES.get(exc.status, exc.reason))


async def _guard(request: web.Request) -> None:
    """Refuse undecodable headers; parse and check a JSON or form body once."""
    try:
        check_text(*request.headers.values())
    except BadInput:
        raise BadInput("请求头里有无法识别的字符。") from None
    if request.method in ("GET", "HEAD") or reads_signed_body(request.match_info.handler):
        return
    if request.content_type in FORM_TYPES:  # an empty multipart body is broken too
        await _check_form(request)
    elif request.body_exists and (
        request.content_type == "application/json" or request.content_type.endswith("+json")
    ):
        request[JSON_BODY] = loads(await request.read())


async def _check_form(request: web.Request) -> None:
    try:
        form = await request.post()
    except UnicodeDecodeError:
        raise BadInput("表单内容不是合法的 UTF-8 文本。") from None
    except (LookupError, ValueError, AssertionError) as exc:  # bad charset, broken multipart
        raise BadInput("表单格式不对。", f"unreadable form: {exc}") from None
    check_text(*form.keys(), *(value for value in form.values() if isinstance(value, str)))
