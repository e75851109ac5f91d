"""CSRF tokens: one per session, required on every console POST, compared in constant time."""

from __future__ import annotations

import hmac

from aiohttp import web
from markupsafe import Markup, escape

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


async def presented_token(request: web.Request) -> str:
    """Return the CSRF token a request carries in its header or form field ("" when none)."""
    token = request.headers.get(HEADER, "")
    if not token and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await request.post()
        value = form.get(FIELD, "")
        token = value if isinstance(value, str) else ""
    return token


def token_matches(expected: str, presented: str) -> bool:
    """Return True when the presented token is the session's, compared in constant time."""
    return bool(expected) and hmac.compare_digest(expected.encode(), presented.encode())


def hidden_field(token: str) -> Markup:
    """Return the hidden form input that carries `token`."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, escape(token))
