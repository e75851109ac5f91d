"""The console's 试一试 page: officers talk to the bot through the simulator, logged in.

It serves the same chat page and the same handlers as the public simulator (bot/web/sim.py),
behind the console login and its CSRF token, so a deployment with real channels can keep the
public simulator off and still let officers try an answer before residents see it.
"""

from __future__ import annotations

from aiohttp import web

from bot.console.auth import CURRENT_SESSION, require
from bot.web import sim

TRY_PATH = "/console/try"
TRY_API = TRY_PATH + "/api"
_STAFF = ("admin", "officer", "reviewer")


@require(*_STAFF)
async def page(request: web.Request) -> web.StreamResponse:
    """Render the chat page, talking to the logged-in API with the session's CSRF token."""
    return sim.chat_page(request, api=TRY_API, csrf=request[CURRENT_SESSION].csrf, back="/console")


def setup_try_page(app: web.Application) -> None:
    """Register the 试一试 page and its API (the simulator's handlers, logged in)."""
    app.router.add_get(TRY_PATH, page)
    sim.add_chat_api(app, TRY_API, require(*_STAFF))
