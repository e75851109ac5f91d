"""Mount every page and JSON endpoint served by the bot."""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

from bot.appkeys import PAGES
from bot.console.routes import setup_console
from bot.dashboard.views import setup_dashboard
from bot.web import articles, packs, quiz, sim
from bot.web.sim import PUBLIC_SIMULATOR
from bot.web.tryit import setup_try_page

WEB_DIR = Path(__file__).resolve().parent  # templates/ and static/


def setup_routes(app: web.Application) -> None:
    """Register every route and the page template environment (the public simulator's only
    when `app[PUBLIC_SIMULATOR]` is set)."""
    app[PAGES] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    app.router.add_get("/", sim.home)
    app.router.add_get("/healthz", sim.healthz)
    if app[PUBLIC_SIMULATOR]:
        app.router.add_get("/sim", sim.page)
        sim.add_chat_api(app, sim.PUBLIC_API)
    setup_try_page(app)
    article = "/a/{prefix:alerts|letters|scams|console}/{name:[A-Za-z0-9_-]{1,60}}"
    app.router.add_get(article, articles.show)
    app.router.add_post(article + "/receipt", articles.receipt)
    app.router.add_get("/p/{code:[A-Za-z0-9_-]{1,32}}", packs.show)
    app.router.add_get("/a/{rest:.*}", articles.missing)
    app.router.add_get("/p/{rest:.*}", articles.missing)
    app.router.add_get("/quiz/{round_id:[0-9a-f]{1,16}}", quiz.show_round)
    app.router.add_post("/quiz/{round_id:[0-9a-f]{1,16}}", quiz.answer_round)
    app.router.add_get("/pledge", quiz.show_pledge)
    app.router.add_post("/pledge", quiz.take_pledge)
    setup_console(app)
    setup_dashboard(app)
    app.router.add_static("/static/", WEB_DIR / "static", name="static")
