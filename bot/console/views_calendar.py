"""The calendar: queued items with a send time beside standing campaigns (read-only)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.appkeys import REDIS, SETTINGS
from bot.console import pages
from bot.console.auth import require
from bot.console.queue import Queue
from bot.push.campaigns import load_campaigns
from bot.push.fire_times import upcoming

DAYS = 14
MAX_PER_DAY = 30


@dataclass(frozen=True, slots=True)
class Entry:
    """One line on the calendar."""

    at: datetime
    title: str
    kind: str  # "item" (queued) or "campaign" (standing, read-only)
    state: str
    link: str


@require("admin", "officer", "reviewer")
async def calendar(request: web.Request) -> web.StreamResponse:
    """Show the next two weeks, day by day."""
    settings = request.app[SETTINGS]
    zone = ZoneInfo(settings.timezone)
    start = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=DAYS)
    by_day: dict[date, list[Entry]] = defaultdict(list)
    for item in await Queue(request.app[REDIS]).all():
        if not item.send_at:
            continue
        at = datetime.fromisoformat(item.send_at).astimezone(zone)
        if start <= at < end:
            link = f"/console/items/{item.id}"
            by_day[at.date()].append(Entry(at, item.title, "item", item.state_label, link))
    error = ""
    try:
        campaigns = load_campaigns(settings.schedules_dir)
    except ValueError as exc:
        campaigns, error = [], f"常规推送计划读取失败：{exc}"
    for fire in upcoming(campaigns, start, end):
        day = by_day[fire.at.date()]
        if len(day) < MAX_PER_DAY:
            day.append(Entry(fire.at, fire.campaign.title, "campaign", "常规推送", ""))
    days = [(start + timedelta(days=n)).date() for n in range(DAYS)]
    entries = {day: sorted(by_day[day], key=lambda e: e.at) for day in days}
    return await pages.page(
        request, "console/calendar.html.j2", days=days, entries=entries, error=error
    )
