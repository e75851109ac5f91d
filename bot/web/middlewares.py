"""Turn errors into clear Chinese answers at the edge, once; never a bare 500 for bad input."""

from __future__ import annotations

import json
import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.channels.base import InboundError

log = logging.getLogger(__name__)

HTTP_MESSAGES = {
    400: "请求格式不对。",
    403: "没有权限访问。",
    404: "页面不存在。",
    405: "不支持这种请求方式。",
    413: "内容太大了，请精简后再发。",
}


def _error(request: web.Request, status: int, message: str) -> web.Response:
    if request.path.startswith("/api/") or request.content_type == "application/json":
        return web.json_response({"error": message}, status=status)
    return web.Response(text=message, status=status, content_type="text/plain", charset="utf-8")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map InboundError, malformed JSON and HTTP errors to a status with a Chinese message."""
    try:
        return await handler(request)
    except InboundError as exc:
        log.info("rejected %s %s: %s", request.method, request.path, exc)
        return _error(request, exc.status, exc.public)
    except json.JSONDecodeError:
        return _error(request, 400, "请求不是合法的 JSON。")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error(request, exc.status, HTTP_MESSAGES.get(exc.status, exc.reason))
    except UnicodeDecodeError:
        return _error(request, 400, "请求内容不是合法的 UTF-8 文本。")
