"""Forwarders' tools for one group: page quiz, pledge link, pack links, QR codes, winners.

Teachers and 网格员 see only their own groups (any other id answers 404, like a missing one);
officers and admins may use the tools for any group.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from bot.appkeys import LIBRARY, REDIS, SETTINGS
from bot.articles import packs
from bot.articles.store import ArticleStore
from bot.articles.tracking import forwarder_totals
from bot.console import audit, forms, pages, qr
from bot.console.auth import CURRENT_USER, require
from bot.console.views_groups import visible_group, visible_groups
from bot.models import Group
from bot.quiz import export
from bot.quiz.pages import (
    MAX_HOURS,
    MAX_PAGE_QUESTIONS,
    PageRoundError,
    open_page_round,
    recent_rounds,
)
from bot.quiz.rounds import QuizRounds
from bot.store.groups import GroupRegistry
from bot.store.reach import Measure
from bot.web.articles import local_day

SHARERS = ("admin", "officer", "forwarder")
PACK_DAYS = 7
WINNERS_TOP = 50
FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "csv": "text/csv"}  # fmt: skip


@require(*SHARERS)
async def share_home(request: web.Request) -> web.StreamResponse:
    """List the groups the user may run a quiz or a pledge for."""
    return await pages.page(request, "console/share.html.j2", groups=await visible_groups(request))


@require(*SHARERS)
async def share_group(request: web.Request) -> web.StreamResponse:
    """Show one group's links with QR codes, its page rounds and the form to open one."""
    return await _group_page(request, await visible_group(request))


@require(*SHARERS)
async def open_quiz(request: web.Request) -> web.StreamResponse:
    """Open a page round for the group from the form (题数, 开放小时)."""
    group = await visible_group(request)
    form = await request.post()
    user = request[CURRENT_USER].name
    try:
        count, hours = forms.text(form, "count", 3), forms.text(form, "hours", 4)
        if not (count.isdigit() and hours.isdigit()):
            raise PageRoundError("题目数和开放时间请填数字。")
        round_ = await open_page_round(
            request.app[REDIS], request.app[LIBRARY], group,
            count=int(count), hours=int(hours), organiser=user,
        )  # fmt: skip
    except (forms.FormError, PageRoundError) as exc:
        return await _group_page(request, group, str(exc), 400)
    await audit.record(request.app[REDIS], user, "quiz-open", group.id, round_.id)
    raise web.HTTPFound(f"/console/share/group?id={quote(group.id, safe='')}")


@require(*SHARERS)
async def winners(request: web.Request) -> web.StreamResponse:
    """Download the winners of one of the group's page rounds as .xlsx or .csv."""
    group = await visible_group(request)
    redis, library = request.app[REDIS], request.app[LIBRARY]
    round_id, kind = request.query.get("round", ""), request.query.get("format", "xlsx")
    known = {r.id for r in await recent_rounds(redis, library, group.id)}
    if round_id not in known or kind not in FORMATS:
        raise web.HTTPNotFound()
    rows = await export.winners(
        QuizRounds(redis, library.quiz), GroupRegistry(redis), round_id, WINNERS_TOP
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"winners-{round_id}.{kind}"
        export.write(path, rows)
        body = path.read_bytes()
    await audit.record(redis, request[CURRENT_USER].name, "quiz-winners", group.id, round_id)
    return web.Response(body=body, headers={
        "Content-Type": FORMATS[kind],
        "Content-Disposition": f'attachment; filename="winners-{round_id}.{kind}"',
    })  # fmt: skip


@require(*SHARERS)
async def qr_png(request: web.Request) -> web.StreamResponse:
    """Download one of the group's printable QR codes (pledge, a quiz round, a pack item)."""
    group = await visible_group(request)
    wanted = request.query.get("what", "")
    for shared in await _links(request, group):
        if shared.what == wanted:
            return web.Response(body=qr.png(shared.offline), headers={
                "Content-Type": "image/png",
                "Content-Disposition": 'attachment; filename="qrcode.png"',
                "Cache-Control": "private, max-age=3600",
            })  # fmt: skip
    raise web.HTTPNotFound()


async def _links(request: web.Request, group: Group) -> list[qr.SharedLink]:
    """Return every link of the group the user hands out: pledge, open rounds, pack items."""
    redis, library = request.app[REDIS], request.app[LIBRARY]
    user = request[CURRENT_USER]
    base = request.app[SETTINGS].base_url.rstrip("/")
    online, offline = await qr.codes(redis, group.id, user.name, user.role == "forwarder")
    here = f"/console/share/qr.png?id={quote(group.id, safe='')}"

    def shared(label: str, url: str, what: str) -> qr.SharedLink:
        return qr.SharedLink(
            label, what, qr.with_code(url, online), qr.with_code(url, offline),
            f"{here}&what={quote(what, safe='')}",
        )  # fmt: skip

    found = [shared("防诈承诺书", f"{base}/pledge", "pledge")]
    for round_ in await recent_rounds(redis, library, group.id):
        if round_.open:
            found.append(shared("网页答题", f"{base}/quiz/{round_.id}", f"quiz-{round_.id}"))
    store = ArticleStore(library, redis)
    today = local_day(request.app[SETTINGS])
    for days_ago in range(PACK_DAYS):
        for line in await packs.lines(redis, group.owner, today - timedelta(days=days_ago)):
            article = await store.get(line.item_id)
            if line.group_id == group.id and article is not None:
                url = f"{base}/a/{quote(article.id, safe='/')}"
                found.append(shared(article.title, url, f"item-{article.id}"))
    return found


async def _group_page(
    request: web.Request, group: Group, error: str = "", status: int = 200
) -> web.Response:
    redis, library = request.app[REDIS], request.app[LIBRARY]
    user = request[CURRENT_USER]
    today = local_day(request.app[SETTINGS])
    days = [today - timedelta(days=n) for n in range(30)]
    offline = (await forwarder_totals(redis, days, qr.offline_forwarder(user.name))).get(
        group.id, {}
    )
    response = await pages.page(
        request,
        "console/share_group.html.j2",
        group=group,
        shared=await _links(request, group),
        rounds=await recent_rounds(redis, library, group.id),
        offline_views=offline.get(Measure.VIEWS, 0),
        offline_receipts=offline.get(Measure.RECEIPTS, 0),
        max_questions=MAX_PAGE_QUESTIONS,
        max_hours=MAX_HOURS,
        base_url=request.app[SETTINGS].base_url.rstrip("/"),
        error=error,
    )
    response.set_status(status)
    return response
