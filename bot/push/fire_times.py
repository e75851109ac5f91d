"""When campaigns fire: cron expressions or slot windows with deterministic jitter.

Every instance computes the same times from the same files, which is what lets them race for a
fire's claim in Redis and agree on what was missed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.push.campaigns import Campaign, Timing, Window

DEFAULT_TIMEZONE = "Asia/Shanghai"
# A bound on fires listed for one campaign in one call (an every-minute cron over a month).
MAX_FIRES = 50_000
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Fire:
    """One moment a campaign pushes."""

    campaign: Campaign
    at: datetime


def fire_times(campaign: Campaign, start: datetime, end: datetime) -> list[datetime]:
    """Return the campaign's fire times in (start, end], in start's time zone, in order."""
    tz = start.tzinfo or ZoneInfo(DEFAULT_TIMEZONE)
    timing = campaign.timing
    if timing.cron:
        candidates: Iterable[datetime] = walk(
            CronTrigger.from_crontab(timing.cron, timezone=tz), start, end
        )
    else:
        days = CronTrigger(day=timing.days, day_of_week=timing.weekdays, hour=0, timezone=tz)
        candidates = sorted(
            midnight + timedelta(minutes=slot.start + _jitter(campaign.id, midnight, slot))
            for midnight in walk(days, start - timedelta(days=1), end)
            for slot in timing.slots
        )
    return [at for at in candidates if start < at <= end and _allowed(timing, at)]


def upcoming(campaigns: Iterable[Campaign], start: datetime, end: datetime) -> list[Fire]:
    """Return every fire of `campaigns` in (start, end], ordered by time, then campaign id."""
    fires = [Fire(c, at) for c in campaigns for at in fire_times(c, start, end)]
    return sorted(fires, key=lambda fire: (fire.at, fire.campaign.id))


def walk(trigger: Any, start: datetime, end: datetime) -> Iterator[datetime]:
    """Yield an APScheduler trigger's times in (start, end]."""
    at: datetime | None = trigger.get_next_fire_time(None, start + _TICK)
    for _ in range(MAX_FIRES):
        if at is None or at > end:
            return
        yield at
        at = trigger.get_next_fire_time(None, at + _TICK)


def _jitter(campaign_id: str, day: datetime, slot: Window) -> int:
    """Return a stable minute offset inside the slot: spread campaigns, repeatable everywhere."""
    seed = f"{campaign_id}|{day.date().isoformat()}|{slot}".encode()
    return int(hashlib.sha256(seed).hexdigest()[:8], 16) % (slot.end - slot.start)


def _allowed(timing: Timing, at: datetime) -> bool:
    day = at.date()
    if (timing.start and day < timing.start) or (timing.end and day > timing.end):
        return False
    return not (timing.quiet and at.hour * 60 + at.minute in timing.quiet)
