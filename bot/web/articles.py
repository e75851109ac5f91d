"""Article pages (/a/<item>?g=<code>): read, count views, and take explicit receipts."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.articles import links, receipts
from bot.articles.markdown import to_html
from bot.articles.model import Article
from bot.articles.store import ArticleStore
from bot.articles.tracking import count_view
from bot.models import Group
from bot.settings import Settings
from bot.store import keys
from bot.store.groups import GroupRegistry
from bot.web import appkeys

READER_COOKIE = "fz_reader"
_READER = re.compile(r"^[A-Za-z0-9_-]{22,43}$")
TOKEN_TTL_SECONDS = 24 * 3600
MAX_FORM_FIELD = 200
# Local CSS only; no script; forms post back to this site only.
ARTICLE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True, slots=True)
class Visit:
    """Who opens which article through which link."""

    item_id: str
    article: Article
    code: str
    group: Group | None
    forwarder: str
    cookie: str
    reader: str  # the cookie as a keyed hash: the only reader id stored


def local_day(settings: Settings) -> date:
    """Return today's date where the officers work (settings.timezone)."""
    return datetime.now(ZoneInfo(settings.timezone)).date()


async def show(request: web.Request) -> web.Response:
    """Render an article and count the view for the link's group."""
    visit = await _visit(request)
    if visit is None:
        return not_found(request)
    redis = request.app[appkeys.REDIS]
    async with redis.pipeline(transaction=False) as pipe:
        count_view(
            pipe,
            local_day(request.app[appkeys.SETTINGS]),
            visit.group,
            visit.forwarder,
            visit.reader,
        )
        await pipe.execute()
    done = await receipts.has_receipt(redis, visit.item_id, visit.reader)
    return await _page(request, visit, done=done)


async def receipt(request: web.Request) -> web.Response:
    """Take a 回执 posted from the article page; a forged or stale form changes nothing."""
    visit = await _visit(request)
    if visit is None:
        return not_found(request)
    if visit.article.receipt == "none":
        return not_found(request)
    form = await request.post()
    token = str(form.get("token", ""))[:MAX_FORM_FIELD]
    redis = request.app[appkeys.REDIS]
    issued = await redis.get(keys.page_token(token)) if token else None
    if issued != f"{visit.item_id}|{visit.reader}":
        return _refused(request)
    school_class = ""
    if visit.article.receipt == "class":
        try:
            school_class = receipts.clean_class(str(form.get("school_class", ""))[:MAX_FORM_FIELD])
        except receipts.BadClass as exc:
            return await _page(request, visit, done=False, error=str(exc), status=400)
    await receipts.record(
        redis,
        local_day(request.app[appkeys.SETTINGS]),
        visit.item_id,
        visit.reader,
        visit.group,
        forwarder=visit.forwarder,
        school_class=school_class,
    )
    await redis.delete(keys.page_token(token))
    return await _page(request, visit, done=True)


async def _visit(request: web.Request) -> Visit | None:
    """Return the article, link target and reader of this request, or None for no article."""
    item_id = f"{request.match_info['prefix']}/{request.match_info['name']}"
    article = await ArticleStore(request.app[appkeys.LIBRARY], request.app[appkeys.REDIS]).get(
        item_id
    )
    if article is None:
        return None
    redis = request.app[appkeys.REDIS]
    code = request.query.get("g", "")
    target = await links.resolve(redis, code) if code else None
    group = await GroupRegistry(redis).get(target.group_id) if target else None
    cookie = request.cookies.get(READER_COOKIE, "")
    if not _READER.match(cookie):
        cookie = secrets.token_urlsafe(24)
    reader = request.app[appkeys.SERVICE].hasher("page", cookie)
    forwarder = target.forwarder if target and group else ""
    return Visit(item_id, article, code if group else "", group, forwarder, cookie, reader)


async def _page(
    request: web.Request, visit: Visit, *, done: bool, error: str = "", status: int = 200
) -> web.Response:
    token = ""
    if visit.article.receipt != "none" and not done:
        token = secrets.token_urlsafe(24)
        await request.app[appkeys.REDIS].set(
            keys.page_token(token), f"{visit.item_id}|{visit.reader}", ex=TOKEN_TTL_SECONDS
        )
    query = f"?g={visit.code}" if visit.code else ""
    response = html_page(
        request,
        "article.html.j2",
        status,
        article=visit.article,
        body=to_html(visit.article.body),
        group=visit.group,
        token=token,
        done=done,
        error=error,
        action=f"/a/{visit.item_id}/receipt{query}",
    )
    response.set_cookie(
        READER_COOKIE,
        visit.cookie,
        max_age=400 * 24 * 3600,
        httponly=True,
        samesite="Lax",
        path="/",
        secure=request.app[appkeys.SETTINGS].base_url.startswith("https://"),
    )
    return response


async def missing(request: web.Request) -> web.Response:
    """Answer an address under /a/ or /p/ that names nothing."""
    return not_found(request)


def not_found(request: web.Request) -> web.Response:
    """Return the Chinese page for an article or pack that does not exist."""
    return html_page(request, "missing.html.j2", 404)


def _refused(request: web.Request) -> web.Response:
    return html_page(request, "refused.html.j2", 403)


def html_page(request: web.Request, template: str, status: int, **context: Any) -> web.Response:
    html = request.app[appkeys.PAGES].get_template(template).render(**context)
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = context.pop("csp", ARTICLE_CSP)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
