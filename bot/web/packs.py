"""The forward pack page (/p/<owner code>): today's texts and links, and what they reached."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from aiohttp import web

from bot import appkeys
from bot.articles import links, packs
from bot.articles.render import render_push
from bot.articles.store import ArticleStore
from bot.articles.tracking import forwarder_totals
from bot.models import Group
from bot.store.groups import GroupRegistry
from bot.store.reach import Measure
from bot.web.articles import html_page, local_day, not_found

PACK_DAYS = 7


@dataclass(frozen=True, slots=True)
class PackEntry:
    """One ready-to-forward text for one of the owner's groups."""

    title: str
    group: Group
    text: str
    url: str


@dataclass(frozen=True, slots=True)
class ReachRow:
    """What one group reached through the owner's links over the pack days."""

    group: Group
    views: int
    receipts: int


async def show(request: web.Request) -> web.Response:
    """Render an owner's packs for the last days with their own links and reach."""
    redis = request.app[appkeys.REDIS]
    owner = await packs.owner_for(redis, request.match_info["code"])
    if owner is None:
        return not_found(request)
    today = local_day(request.app[appkeys.SETTINGS])
    days = [today - timedelta(days=n) for n in range(PACK_DAYS)]
    registry = GroupRegistry(redis)
    groups = {g.id: g for g in await registry.find(owner=owner)}
    by_day = [(day, await _entries(request, owner, day, groups)) for day in days]
    totals = await forwarder_totals(redis, days, owner)
    reach_rows = [
        ReachRow(
            g,
            totals.get(g.id, {}).get(Measure.VIEWS, 0),
            totals.get(g.id, {}).get(Measure.RECEIPTS, 0),
        )
        for g in groups.values()
    ]
    nonce = secrets.token_urlsafe(16)
    csp = (
        f"default-src 'none'; style-src 'self'; script-src 'nonce-{nonce}'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return html_page(
        request,
        "pack.html.j2",
        200,
        csp=csp,
        nonce=nonce,
        today=today,
        by_day=[(day, entries) for day, entries in by_day if entries or day == today],
        reach=reach_rows,
    )


async def _entries(
    request: web.Request, owner: str, day: date, groups: dict[str, Group]
) -> list[PackEntry]:
    """Return the day's items for the owner's groups (groups moved to someone else drop out)."""
    redis = request.app[appkeys.REDIS]
    store = ArticleStore(request.app[appkeys.LIBRARY], redis)
    base_url = request.app[appkeys.SETTINGS].base_url
    entries: list[PackEntry] = []
    for line in await packs.lines(redis, owner, day):
        group = groups.get(line.group_id)
        article = await store.get(line.item_id)
        if group is None or article is None:
            continue
        code = await links.code_for(redis, group.id, forwarder=owner)
        url = links.article_url(base_url, article.id, code)
        text = render_push(article, group, url, "text").text
        entries.append(PackEntry(article.title, group, text, url))
    return entries
