"""Admin pages: accounts (add, disable, enable) and the audit log."""

from __future__ import annotations

from aiohttp import web

from bot.appkeys import REDIS
from bot.console import audit, forms, pages
from bot.console.auth import CURRENT_USER, require
from bot.console.queue import Queue
from bot.console.users import ROLES, UserError, UserStore

# The new-account form offers roles from the least privilege up, preselecting the least.
LEAST_PRIVILEGE_FIRST = ("forwarder", "reviewer", "officer", "admin")


@require("admin")
async def users_page(request: web.Request) -> web.StreamResponse:
    """List accounts with the add form, and the newest audit entries."""
    return await _page(request)


@require("admin")
async def add_user(request: web.Request) -> web.StreamResponse:
    """Create an account from the form."""
    form = await request.post()
    redis = request.app[REDIS]
    try:
        user = await UserStore(redis).add(
            forms.text(form, "name", 32).lower(),
            forms.text(form, "role", 20),
            forms.text(form, "display", 32),
            str(form.get("password", "")),
            ("urgent",) if form.get("urgent") == "on" else (),
        )
    except (forms.FormError, UserError) as exc:
        return await _page(request, str(exc), 400)
    await audit.record(redis, request[CURRENT_USER].name, "user-add", user.name, user.role)
    raise web.HTTPFound("/console/users")


@require("admin")
async def toggle_user(request: web.Request) -> web.StreamResponse:
    """Disable or re-enable an account (an admin cannot disable themselves)."""
    form = await request.post()
    name = forms.text(form, "name", 32)
    disable = form.get("disable") == "1"
    redis = request.app[REDIS]
    if name == request[CURRENT_USER].name:
        return await _page(request, "不能停用自己的账号。", 400)
    try:
        await UserStore(redis).set_disabled(name, disable)
    except UserError as exc:
        return await _page(request, str(exc), 400)
    action = "user-disable" if disable else "user-enable"
    await audit.record(redis, request[CURRENT_USER].name, action, name)
    raise web.HTTPFound("/console/users")


async def _page(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    redis = request.app[REDIS]
    response = await pages.page(
        request,
        "console/users.html.j2",
        subjects=await pages.subjects(redis, await Queue(redis).all()),
        users=await UserStore(redis).all(),
        roles={code: ROLES[code] for code in LEAST_PRIVILEGE_FIRST},
        entries=await audit.recent(redis, 200),
        error=error,
    )
    response.set_status(status)
    return response
