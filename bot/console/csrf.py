"""CSRF tokens: one per session, required on every console POST, compared in constant time.

Before there is a session, the login form is guarded the double-submit way: the form page sets
a random cookie and carries the same value in the form; a login POST must present both.
"""

from __future__ import annotations

import hmac
import re
import secrets

from aiohttp import web
from markupsafe import Markup, escape

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
LOGIN_COOKIE = "fz_login"
_LOGIN_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


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


def login_token(request: web.Request) -> str:
    """Return the browser's login-form token, or a new one when it has none (or a bad one)."""
    token = request.cookies.get(LOGIN_COOKIE, "")
    return token if _LOGIN_TOKEN.match(token) else secrets.token_urlsafe(24)


def login_token_matches(request: web.Request, presented: str) -> bool:
    """Return True when the login form's token equals the browser's login cookie."""
    return token_matches(request.cookies.get(LOGIN_COOKIE, ""), presented)
