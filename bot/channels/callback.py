"""Mount a WeChat-family callback endpoint; find and check a signed body before parsing it.

Every callback checks body size, timestamp and signature before any parser sees the body. The
signature of an encrypted callback covers its ciphertext, which is Base64 (加解密方案说明,
https://developer.work.weixin.qq.com/document/path/90968), so it is found in the raw bytes by
a plain pattern; only once the signature holds is the envelope parsed (XML with DTDs refused,
or bounded JSON) and its ciphertext required to be the one that was signed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot.appkeys import REDIS
from bot.bounded import BadInput, loads
from bot.channels.base import InboundError
from bot.channels.wechat_crypto import MALFORMED, CallbackGuard, LateReplies, parse_xml

Api = TypeVar("Api")
WebHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_SIGNED_BODY = "reads_signed_body"
_MAX_CIPHERTEXT = 48 * 1024  # above every callback's body limit
_XML_ENCRYPT = re.compile(
    rb"<Encrypt>(?:<!\[CDATA\[)?([A-Za-z0-9+/=]{1,%d})(?:\]\]>)?</Encrypt>" % _MAX_CIPHERTEXT
)
_JSON_ENCRYPT = re.compile(rb'"encrypt"\s*:\s*"((?:[A-Za-z0-9+=]|\\?/){1,%d})"' % _MAX_CIPHERTEXT)


def signed_body(handler: WebHandler) -> WebHandler:
    """Mark `handler` as a callback that reads its own body once its signature holds: the
    web layer's body guard leaves it unread."""

    @functools.wraps(handler)
    async def receive(request: web.Request) -> web.StreamResponse:
        return await handler(request)

    setattr(receive, _SIGNED_BODY, True)
    return receive


def reads_signed_body(handler: Any) -> bool:
    """Return True when `handler` was marked with `signed_body`."""
    return bool(getattr(handler, _SIGNED_BODY, False))


def _ciphertext(pattern: re.Pattern[bytes], body: bytes) -> str:
    found = pattern.findall(body)
    if len(found) != 1:
        raise InboundError(400, MALFORMED, "no single Base64 ciphertext in the body")
    return str(found[0].decode("ascii").replace("\\/", "/"))


def open_xml_envelope(
    guard: CallbackGuard, query: Mapping[str, str], body: bytes
) -> dict[str, str]:
    """Return the `<xml>` envelope once msg_signature over its Encrypt text holds."""
    encrypted = _ciphertext(_XML_ENCRYPT, body)
    guard.check_query(query, "msg_signature", encrypted)
    envelope = parse_xml(body)
    if envelope.get("Encrypt") != encrypted:
        raise InboundError(400, MALFORMED, "the envelope's Encrypt is not the signed one")
    return envelope


def open_json_envelope(guard: CallbackGuard, query: Mapping[str, str], body: bytes) -> str:
    """Return the ciphertext of a JSON envelope `{"encrypt": ...}` once msg_signature holds."""
    encrypted = _ciphertext(_JSON_ENCRYPT, body)
    guard.check_query(query, "msg_signature", encrypted)
    envelope = loads_object(body, "body")
    if envelope.get("encrypt") != encrypted:
        raise InboundError(400, MALFORMED, "the envelope's encrypt is not the signed one")
    return encrypted


def loads_object(data: bytes | str, what: str) -> dict[str, Any]:
    """Return the JSON object in `data`, parsed within bounds; anything else is a 400."""
    try:
        value = loads(data)
    except BadInput as exc:
        raise InboundError(400, MALFORMED, f"{what}: {exc}") from None
    if not isinstance(value, dict):
        raise InboundError(400, MALFORMED, f"{what} is not a JSON object")
    return value


class CallbackEndpoint(Protocol, Generic[Api]):
    """A callback that verifies its URL, receives messages and holds an API client."""

    api: Api | None
    late: LateReplies

    async def verify_url(self, request: web.Request) -> web.StreamResponse: ...

    async def receive(self, request: web.Request) -> web.StreamResponse: ...


def mount_callback(
    app: web.Application,
    route: str,
    endpoint: CallbackEndpoint[Api],
    open_api: Callable[[aiohttp.ClientSession, Redis], Api],
) -> None:
    """Add GET (URL check) and POST (messages) on `route`; open the API client with the app."""
    app.router.add_get(route, endpoint.verify_url)
    app.router.add_post(route, signed_body(endpoint.receive))

    async def api_ctx(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            endpoint.api = open_api(session, app[REDIS])
            yield
            await endpoint.late.close()
            endpoint.api = None

    app.cleanup_ctx.append(api_ctx)
