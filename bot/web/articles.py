"""Article pages (/a/<item>?g=<code>): read, count views, and take explicit receipts."""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot import appkeys
from bot.articles import links, receipts
from bot.articles.markdown import to_html
from bot.articles.model import Article
from bot.articles.store import ArticleStore
from bot.articles.tracking import count_view
from bot.models import Group
from bot.settings import Settings
from bot.store.groups import GroupRegistry

READER_COOKIE = "fz_reader"
READER_COOKIE_DAYS = 400
_READER = re.compile(r"^[A-Za-z0-9_-]{22,43}$")
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
    async with request.app[appkeys.REDIS].pipeline(transaction=False) as pipe:
        if request.method == "GET":  # a HEAD (link checkers, previews) reads nothing
            day = local_day(request.app[appkeys.SETTINGS])
            count_view(pipe, day, visit.group, visit.forwarder, visit.reader)
        receipts.queue_has_receipt(pipe, visit.item_id, visit.reader)
        done = bool((await pipe.execute())[-1])
    return _page(request, visit, done=done)


async def receipt(request: web.Request) -> web.Response:
    """Take a 回执 posted from the article page; a forged or stale form changes nothing."""
    visit = await _visit(request)
    if visit is None:
        return not_found(request)
    if visit.article.receipt == "none":
        return not_found(request)
    form = await request.post()
    token = str(form.get("token", ""))[:MAX_FORM_FIELD]
    if not _token_valid(request, visit, token):
        return _refused(request)
    school_class = ""
    if visit.article.receipt == "class":
        try:
            school_class = receipts.clean_class(str(form.get("school_class", ""))[:MAX_FORM_FIELD])
        except receipts.BadClass as exc:
            return _page(request, visit, done=False, error=str(exc), status=400)
    await receipts.record(
        request.app[appkeys.REDIS],
        local_day(request.app[appkeys.SETTINGS]),
        visit.item_id,
        visit.reader,
        visit.group,
        forwarder=visit.forwarder,
        school_class=school_class,
    )
    return _page(request, visit, done=True)


async def _visit(request: web.Request) -> Visit | None:
    """Return the article, link target and reader of this request, or None for no article."""
    redis = request.app[appkeys.REDIS]
    item_id = f"{request.match_info['prefix']}/{request.match_info['name']}"
    article = await ArticleStore(request.app[appkeys.LIBRARY], redis).get(item_id)
    if article is None:
        return None
    code = request.query.get("g", "")
    target = await links.resolve(redis, code) if code else None
    group = await GroupRegistry(redis).get(target.group_id) if target else None
    cookie, reader = reader_of(request)
    forwarder = target.forwarder if target and group else ""
    return Visit(item_id, article, code if group else "", group, forwarder, cookie, reader)


def _page(
    request: web.Request, visit: Visit, *, done: bool, error: str = "", status: int = 200
) -> web.Response:
    token = ""
    if visit.article.receipt != "none" and not done:
        token = _token(request, visit, local_day(request.app[appkeys.SETTINGS]))
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
    keep_reader(response, request, visit.cookie)
    return response


def reader_of(request: web.Request) -> tuple[str, str]:
    """Return the browser's reader cookie (a new random one if absent) and its keyed hash."""
    cookie = request.cookies.get(READER_COOKIE, "")
    if not _READER.match(cookie):
        cookie = secrets.token_urlsafe(24)
    return cookie, request.app[appkeys.SERVICE].hasher("page", cookie)


def keep_reader(response: web.Response, request: web.Request, cookie: str) -> None:
    """Set the reader cookie: random, HttpOnly, SameSite=Lax, Secure behind https."""
    response.set_cookie(
        READER_COOKIE,
        cookie,
        max_age=READER_COOKIE_DAYS * 24 * 3600,
        httponly=True,
        samesite="Lax",
        path="/",
        secure=request.app[appkeys.SETTINGS].base_url.startswith("https://"),
    )


async def missing(request: web.Request) -> web.Response:
    """Answer an address under /a/ or /p/ that names nothing."""
    return not_found(request)


def _token(request: web.Request, visit: Visit, day: date) -> str:
    """Return the receipt form token: a keyed hash of item, reader and day, nothing stored.

    Another site cannot forge it: it needs the reader's cookie, which is HttpOnly and, being
    SameSite=Lax, is not sent with another site's POST.
    """
    hasher = request.app[appkeys.SERVICE].hasher
    return hasher("receipt-form", f"{visit.item_id}|{visit.reader}|{day.isoformat()}")


def _token_valid(request: web.Request, visit: Visit, token: str) -> bool:
    """Accept a token issued today or yesterday (a page left open overnight)."""
    today = local_day(request.app[appkeys.SETTINGS])
    return bool(token) and any(
        hmac.compare_digest(token, _token(request, visit, today - timedelta(days=back)))
        for back in (0, 1)
    )


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
