"""Console pages: the dashboard, the monthly report (HTML, printable, xlsx download).

Visible to admins, officers and reviewers. Forwarders see nothing here: a region's figures mix
many owners' groups, and their own groups' reach is on their own console page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from markupsafe import Markup

from bot.appkeys import LIBRARY, PAGES, REDIS, SETTINGS
from bot.articles.store import ArticleStore
from bot.console.auth import CURRENT_USER, render, require
from bot.dashboard import charts, dates, issuer, report_xlsx, summary
from bot.dashboard.period import PRESETS, BadRequest, Period, custom, month, preset, today
from bot.dashboard.snapshot import MIN_TOPIC_ANSWERS, Snapshot, collect
from bot.push.scheduler import SCHEDULER
from bot.store.reach import Measure

ROLES = ("admin", "officer", "reviewer")
ISSUER_EDITORS = ("admin", "officer")
WEAKEST = 5
TOP_ASKED = 10


def setup_dashboard(app: web.Application) -> None:
    """Register the dashboard and report routes."""
    app.router.add_get("/console/dashboard", dashboard)
    app.router.add_get("/console/report", report)
    app.router.add_get("/console/report.xlsx", report_download)
    app.router.add_post("/console/report/issuer", save_issuer)


def _period(request: web.Request) -> Period:
    query = request.query
    chosen = query.get("period", "this-month")
    if chosen == "custom":
        return custom(query.get("start", ""), query.get("end", ""))
    return preset(chosen, today(request.app[SETTINGS].timezone))


def _report_month(request: web.Request) -> Period:
    wanted = request.query.get("month")
    if wanted is None:
        # The report is due early in the month for the month before.
        return preset("last-month", today(request.app[SETTINGS].timezone))
    return month(wanted)


async def _collect(request: web.Request, period: Period) -> Snapshot:
    kb = request.app[LIBRARY].kb
    scheduler = request.app.get(SCHEDULER)
    titles = {c.id: c.title for c in scheduler.campaigns} if scheduler else {}
    region = request.query.get("region", "")
    redis = request.app[REDIS]
    articles = ArticleStore(request.app[LIBRARY], redis)
    return await collect(redis, kb, period, region, campaign_titles=titles, articles=articles)


def _cards(snap: Snapshot) -> list[tuple[str, str, str]]:
    r, m = snap.reach, snap.reach.measures
    return [
        ("推送成功", str(m[Measure.PUSHES_SENT]), _pushes_note(snap)),
        ("阅读次数", str(m[Measure.VIEWS]), f"约 {r.readers} 人（去重估算）"),
        ("回执", str(m[Measure.RECEIPTS]), f"登记群成员 {r.members} 人"),
        ("覆盖率", summary.percent(r.coverage), "估算：阅读人数 ÷ 群成员数"),
        (
            "防骗答题",
            str(m[Measure.QUIZ_ANSWERS]),
            f"约 {r.quiz_players} 人，正确率 {summary.percent(r.quiz_accuracy)}",
        ),  # fmt: skip
        ("防骗承诺", str(m[Measure.PLEDGES]), f"约 {r.pledgers} 人"),
        ("自愿报告装APP", str(m[Measure.APP_CLAIMS]), "国家反诈中心APP"),
        ("转发包", str(m[Measure.FORWARD_PACKS]), "个人微信群由群主转发"),
    ]


def _pushes_note(snap: Snapshot) -> str:
    failed = f"失败 {snap.reach.measures[Measure.PUSHES_FAILED]} 次"
    return f"{failed}；含答题定时消息 {snap.quiz_pushes} 次" if snap.quiz_pushes else failed


def _charts(snap: Snapshot) -> dict[str, Markup]:
    labels = [dates.short(day.day) for day in snap.days]
    return {
        "reading": charts.line_chart(
            "阅读与回执（按日）",
            labels,
            [
                ("阅读次数", [d.measures[Measure.VIEWS] for d in snap.days]),
                ("阅读人数", [d.readers for d in snap.days]),
                ("回执", [d.measures[Measure.RECEIPTS] for d in snap.days]),
            ],
        ),
        "pushes": charts.line_chart(
            "推送（按日）",
            labels,
            [
                ("成功", [d.measures[Measure.PUSHES_SENT] for d in snap.days]),
                ("失败", [d.measures[Measure.PUSHES_FAILED] for d in snap.days]),
            ],
        ),
        "ranking": charts.bar_chart(
            "各地区覆盖率",
            [(row.name, row.reach.coverage or 0.0) for row in snap.ranking],
            [summary.percent(row.reach.coverage) for row in snap.ranking],
        ),
        "asked": charts.bar_chart(
            "群众问得最多的骗局", [(t.name, t.count) for t in snap.asked[:TOP_ASKED]]
        ),
    }


def _context(snap: Snapshot, **extra: Any) -> dict[str, Any]:
    return {
        "snap": snap,
        "cards": _cards(snap),
        "charts": _charts(snap),
        "weakest": snap.weak_quiz[:WEAKEST],
        "letters": snap.letters,
        "min_answers": MIN_TOPIC_ANSWERS,
        "percent": summary.percent,
        "dates": dates,
        "measures": list(Measure),
        "receipts": Measure.RECEIPTS,
        **extra,
    }


@require(*ROLES)
async def dashboard(request: web.Request) -> web.StreamResponse:
    """Show the dashboard for the chosen period and region."""
    try:
        snap = await _collect(request, _period(request))
    except BadRequest as exc:
        return _refused(request, exc)
    return render(
        request,
        "console/dashboard.html.j2",
        **_context(snap, presets=PRESETS, chosen=request.query.get("period", "this-month")),
    )


@require(*ROLES)
async def report(request: web.Request) -> web.StreamResponse:
    """Show the monthly report; with print=1 a bare page laid out for paper."""
    try:
        snap = await _collect(request, _report_month(request))
    except BadRequest as exc:
        return _refused(request, exc)
    stored = await issuer.load(request.app[REDIS])
    return await _report_page(request, snap, stored)


async def _report_page(
    request: web.Request, snap: Snapshot, shown: issuer.Issuer, error: str = ""
) -> web.Response:
    wanted = {"month": snap.period.start.strftime("%Y-%m"), "region": snap.region}
    local_today = today(request.app[SETTINGS].timezone)
    context = _context(
        snap,
        paragraphs=summary.paragraphs(snap),
        query=urlencode(wanted),
        month=wanted["month"],
        issuer=shown,
        issuer_line=shown.dated(local_today).line(),
        issuer_error=error,
        can_set_issuer=request[CURRENT_USER].role in ISSUER_EDITORS,
    )
    if request.query.get("print") == "1":
        page = request.app[PAGES].get_template("console/report_print.html.j2").render(**context)
        return web.Response(text=page, content_type="text/html", charset="utf-8")
    response = render(request, "console/report.html.j2", **context)
    if error:
        response.set_status(400)
    return response


@require(*ISSUER_EDITORS)
async def save_issuer(request: web.Request) -> web.StreamResponse:
    """Store 填报单位, 填报人 and 填报日期 for the reports; a bad form changes nothing."""
    form = await request.post()
    fields = (str(form.get(name, ""))[:200] for name in ("unit", "compiler", "day"))
    try:
        snap = await _collect(request, _report_month(request))
    except BadRequest as exc:
        return _refused(request, exc)
    try:
        chosen = issuer.parse(*fields)
    except BadRequest as exc:
        return await _report_page(request, snap, await issuer.load(request.app[REDIS]), exc.public)
    await issuer.save(request.app[REDIS], chosen)
    wanted = urlencode({"month": snap.period.start.strftime("%Y-%m"), "region": snap.region})
    raise web.HTTPSeeOther(f"/console/report?{wanted}")


@require(*ROLES)
async def report_download(request: web.Request) -> web.StreamResponse:
    """Send the monthly report as an xlsx file."""
    try:
        snap = await _collect(request, _report_month(request))
    except BadRequest as exc:
        return web.Response(
            text=exc.public, status=400, content_type="text/plain", charset="utf-8"
        )
    redis = request.app[REDIS]
    dated = (await issuer.load(redis)).dated(today(request.app[SETTINGS].timezone))
    book = await report_xlsx.build(redis, snap, dated)
    name = f"反诈宣传月报-{snap.region_label}-{snap.period.start.strftime('%Y-%m')}.xlsx"
    return web.Response(
        body=report_xlsx.to_bytes(book),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


def _refused(request: web.Request, exc: BadRequest) -> web.StreamResponse:
    response = render(request, "console/dashboard_error.html.j2", error=exc.public)
    response.set_status(400)
    return response
