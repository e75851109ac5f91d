"""Helpers for console tests: accounts made through the CLI's code path, logged-in clients."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.console.users import User, UserStore

PASSWORD = "correct-horse-battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def make_user(
    redis: Redis, name: str, role: str, display: str = "", rights: tuple[str, ...] = ()
) -> User:
    """Create a console account with the shared test password."""
    return await UserStore(redis).add(name, role, display or name, PASSWORD, rights)


async def post_login(client: TestClient[Any, Any], **fields: str) -> ClientResponse:
    """Open the login form as a browser would, then post `fields` with the form's token."""
    form = await (await client.get("/console/login")).text()
    match = _CSRF.search(form)
    assert match, form
    return await client.post(
        "/console/login", data={"csrf_token": match.group(1), **fields}, allow_redirects=False
    )


async def log_in(client: TestClient[Any, Any], name: str, password: str = PASSWORD) -> str:
    """Log `name` in on `client` (cookies kept) and return the session's CSRF token."""
    client.session.cookie_jar.clear()
    response = await post_login(client, name=name, password=password)
    assert response.status == 302, await response.text()
    return await csrf_of(client)


async def csrf_of(client: TestClient[Any, Any]) -> str:
    """Return the CSRF token the console layout renders for the current session."""
    page = await (await client.get("/console/groups")).text()
    match = _CSRF.search(page)
    assert match, page
    return match.group(1)


def content_form(**fields: Any) -> dict[str, Any]:
    """Return a content form for an alert to village groups, with `fields` overriding."""
    form: dict[str, Any] = {
        "title": "冒充客服退款诈骗预警",
        "summary": "近期有人冒充网购客服，以退款为名骗取验证码。",
        "body": "# 要点\n\n- 退款不需要验证码\n- 挂断电话，打官方客服核实",
        "kinds": "village",
        "region": "",
        "groups": "",
        "style": "news",
        "receipt": "simple",
        "send_at": "",
    }
    form.update(fields)
    return form
