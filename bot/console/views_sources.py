"""Start a console item from a bundled alert or letter (content/) or from last month's items."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.appkeys import LIBRARY, REDIS, SETTINGS
from bot.articles.model import Article
from bot.console import pages
from bot.console.queue import Audience, Item, Queue
from bot.models import GroupKind

WRITERS = ("admin", "officer")
BUNDLED_KINDS = {"alert": "预警", "letter": "告知书"}
_KINDS = {kind.value for kind in GroupKind if kind is not GroupKind.UNBOUND}


def bundled(articles: dict[str, Article]) -> list[Article]:
    """Return the bundled alerts and letters, alerts first, newest first within a kind."""
    chosen = [a for a in articles.values() if a.kind in BUNDLED_KINDS]
    return sorted(chosen, key=lambda a: (a.kind != "alert", -(a.date or date.min).toordinal()))


def previous_month(today: date) -> tuple[int, int]:
    """Return (year, month) of the month before `today`'s."""
    return (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)


def from_month(items: list[Item], month: tuple[int, int], timezone: str) -> list[Item]:
    """Return the items last saved in `month` (local time), newest first."""
    zone = ZoneInfo(timezone)

    def month_of(item: Item) -> tuple[int, int]:
        moment = datetime.fromisoformat(item.updated_at).astimezone(zone)
        return moment.year, moment.month

    return [item for item in items if item.updated_at and month_of(item) == month]


def draft_from_article(article: Article) -> Item:
    """Return a new draft carrying a bundled article's text, receipt and audiences."""
    kinds = tuple(k for k in article.audiences if k in _KINDS)
    return Item(
        id="",
        title=article.title,
        summary=article.summary,
        body=article.body,
        audience=Audience(kinds=kinds),
        receipt=article.receipt,
        urgent=article.kind == "alert",
    )


def draft_from_item(item: Item) -> Item:
    """Return a new draft copying an earlier item (not its state, time or history)."""
    return Item(
        id="",
        title=item.title,
        summary=item.summary,
        body=item.body,
        audience=replace(item.audience),
        style=item.style,
        receipt=item.receipt,
        urgent=item.urgent,
    )


async def starting_draft(request: web.Request, source: str) -> Item | None:
    """Return the draft the ?from= source stands for, or None when it names nothing."""
    article = request.app[LIBRARY].articles.get(source)
    if article is not None and article.kind in BUNDLED_KINDS:
        return draft_from_article(article)
    prefix, _, number = source.partition("/")
    if prefix == "console" and number.isdigit():
        earlier = await Queue(request.app[REDIS]).get(number)
        return draft_from_item(earlier) if earlier else None
    return None


async def sources_page(request: web.Request) -> web.Response:
    """Render the list of starting points: bundled alerts and letters, last month's items."""
    timezone = request.app[SETTINGS].timezone
    month = previous_month(datetime.now(ZoneInfo(timezone)).date())
    items = await Queue(request.app[REDIS]).all()
    return await pages.page(
        request,
        "console/sources.html.j2",
        articles=bundled(request.app[LIBRARY].articles),
        kinds=BUNDLED_KINDS,
        month=month,
        earlier=from_month(items, month, timezone),
    )
