"""Who is logged in: the `require` decorator, login/logout pages (throttled), `render`."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.appkeys import PAGES, REDIS, SETTINGS
from bot.console import audit
from bot.console.csrf import (
    FIELD,
    LOGIN_COOKIE,
    hidden_field,
    login_token,
    login_token_matches,
    presented_token,
    token_matches,
)
from bot.console.forms import FormError
from bot.console.lockout import LoginThrottle, Verdict, client_address
from bot.console.queue import ACTION_NAMES
from bot.console.sessions import COOKIE, SESSION_SECONDS, Session, close_session, load_session
from bot.console.sessions import open_session as start_session
from bot.console.users import ROLES, User, UserStore

log = logging.getLogger(__name__)

CURRENT_USER = web.RequestKey("console_user", User)
CURRENT_SESSION = web.RequestKey("console_session", Session)
LOGIN_PATH = "/console/login"
HOME_PATH = "/console"
LOCKED_MESSAGE = "登录失败次数过多，已暂时锁定，请 15 分钟后再试。"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _wants_json(request: web.Request) -> bool:
    return "/api/" in request.path or "application/json" in request.headers.get(
        "Accept", ""
    )


def _unauthorized(request: web.Request) -> web.StreamResponse:
    if _wants_json(request):
        return web.json_response({"error": "请先登录。"}, status=401)
    target = request.path_qs if request.method == "GET" else HOME_PATH
    raise web.HTTPFound(f"{LOGIN_PATH}?next={quote(target, safe='')}")


async def current(request: web.Request) -> tuple[User, Session] | None:
    """Return the logged-in, enabled user and their session, or None."""
    redis = request.app[REDIS]
    session = await load_session(redis, request.cookies.get(COOKIE, ""))
    if session is None:
        return None
    user = await UserStore(redis).get(session.user)
    if user is None or user.disabled or user.generation != session.generation:
        return None
    return user, session


def require(*roles: str) -> Callable[[Handler], Handler]:
    """Let only logged-in users with one of `roles` (any role when empty) reach the handler.

    Every POST must carry the session's CSRF token; without it the request is refused (403)
    before the handler runs. A FormError the handler lets through answers 400 with its reason.
    """
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            found = await current(request)
            if found is None:
                return _unauthorized(request)
            user, session = found
            if request.method not in ("GET", "HEAD") and not token_matches(
                session.csrf, await presented_token(request)
            ):
                log.info("console %s %s refused: bad CSRF token", request.method, request.path)
                return _refuse(request, "表单已过期或来源不明，请刷新页面后重试。", 403)
            request[CURRENT_USER] = user
            request[CURRENT_SESSION] = session
            if roles and user.role not in roles:
                return _refuse(request, "你的账号没有这个权限。", 403)
            try:
                return await handler(request)
            except FormError as exc:
                return _refuse(request, str(exc), 400)

        return guarded

    return decorate


def _refuse(request: web.Request, message: str, status: int) -> web.StreamResponse:
    """Answer `status` with the reason: JSON for API clients, else the console layout."""
    if _wants_json(request):
        return web.json_response({"error": message}, status=status)
    response = render(request, "console/base.html.j2", error=message)
    response.set_status(status)
    return response


def render(request: web.Request, template: str, **context: Any) -> web.Response:
    """Render a console page inside the layout, with `csrf_field()` and the current user."""
    session = request.get(CURRENT_SESSION)
    page = request.app[PAGES].get_template(template)
    html = page.render(
        user=request.get(CURRENT_USER),
        csrf_field=lambda: hidden_field(session.csrf if session else ""),
        csrf_token=session.csrf if session else "",
        path=request.path,
        local_time=functools.partial(local_time, timezone=request.app[SETTINGS].timezone),
        action_names=ACTION_NAMES,
        **context,
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8")


def local_time(value: str | datetime, timezone: str) -> str:
    """Return an ISO time or aware datetime as local "YYYY-MM-DD HH:MM" ("" stays "")."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


async def login_page(request: web.Request) -> web.StreamResponse:
    """Show the login form (or go home when already logged in)."""
    if await current(request) is not None:
        raise web.HTTPFound(_safe_next(request.query.get("next", "")))
    return _login_form(request, next=request.query.get("next", ""))


async def login(request: web.Request) -> web.StreamResponse:
    """Check name and password under per-user and per-address throttling; start a session."""
    form = await request.post()
    name = str(form.get("name", "")).strip().lower()[:64]
    password = str(form.get("password", ""))
    next_path = _safe_next(str(form.get("next", "")))
    if not login_token_matches(request, str(form.get(FIELD, ""))):
        message = "登录页面已过期，请重新输入后再登录。"
        return _login_form(request, 403, error=message, name=name, next=next_path)
    redis = request.app[REDIS]
    address = client_address(request, request.app[SETTINGS].trusted_proxies)
    throttle = LoginThrottle(redis, name, address)
    verdict = await throttle.attempt()
    if verdict is not Verdict.ALLOWED:
        log.info("console login refused (%s) from %s", verdict.name, address)
        return _login_error(request, LOCKED_MESSAGE, name, next_path, 429)
    user = await UserStore(redis).verify(name, password)
    if user is None:
        log.info("console login failed for a user name from %s", address)
        return _login_error(request, "用户名或密码不对（停用的账号也无法登录）。", name, next_path)
    await throttle.forgive()
    session = await start_session(redis, user.name, user.generation)
    await audit.record(redis, user.name, "login", "")
    response = web.HTTPFound(next_path)
    secure = request.app[SETTINGS].base_url.startswith("https://")
    response.set_cookie(
        COOKIE,
        session.token,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="Strict",
        secure=secure,
        path="/",
    )
    raise response


@require()
async def logout(request: web.Request) -> web.StreamResponse:
    """End the session and go back to the login page."""
    await close_session(request.app[REDIS], request[CURRENT_SESSION].token)
    response = web.HTTPFound(LOGIN_PATH)
    response.del_cookie(COOKIE, path="/")
    raise response


def _login_error(
    request: web.Request, message: str, name: str, next_path: str, status: int = 401
) -> web.Response:
    return _login_form(request, status, error=message, name=name, next=next_path)


def _login_form(request: web.Request, status: int = 200, **context: Any) -> web.Response:
    """Render the login form with its double-submit token, kept in a Strict cookie too."""
    token = login_token(request)
    response = render(request, "console/login.html.j2", login_field=hidden_field(token), **context)
    response.set_status(status)
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="Strict",
        secure=request.app[SETTINGS].base_url.startswith("https://"),
        path=LOGIN_PATH,
    )
    return response


def _safe_next(target: str) -> str:
    """Return `target` when it is a console path on this site, else the console home."""
    if target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME_PATH
