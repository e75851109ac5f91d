"""Reporting periods: a month, a preset (本月/上月/近7天) or a custom day range."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS = 366
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
PRESETS = {"this-month": "本月", "last-month": "上月", "7d": "近7天"}


class BadRequest(ValueError):
    """Input the dashboard cannot use; `public` is the Chinese message shown to the officer."""

    def __init__(self, public: str) -> None:
        super().__init__(public)
        self.public = public


@dataclass(frozen=True, slots=True)
class Period:
    """An inclusive range of local days."""

    start: date
    end: date
    label: str

    @property
    def days(self) -> list[date]:
        """Return every day of the period, oldest first."""
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def today(timezone: str) -> date:
    """Return the local date in `timezone` (the day metrics are filed under)."""
    return datetime.now(ZoneInfo(timezone)).date()


def month(text: str) -> Period:
    """Return the calendar month written "2026-11", or raise BadRequest."""
    match = _MONTH.fullmatch(text.strip())
    if not match or not 1 <= int(match[2]) <= 12 or not 2000 <= int(match[1]) <= 2100:
        raise BadRequest(f"月份“{text}”写得不对，请写成 2026-11 这样的年-月。")
    first = date(int(match[1]), int(match[2]), 1)
    following = (first + timedelta(days=31)).replace(day=1)
    return Period(first, following - timedelta(days=1), f"{first.year}年{first.month}月")


def preset(name: str, local_today: date) -> Period:
    """Return the preset period `name` (see PRESETS) ending today, or raise BadRequest."""
    if name == "this-month":
        return Period(local_today.replace(day=1), local_today, PRESETS[name])
    if name == "last-month":
        last = local_today.replace(day=1) - timedelta(days=1)
        return Period(last.replace(day=1), last, PRESETS[name])
    if name == "7d":
        return Period(local_today - timedelta(days=6), local_today, PRESETS[name])
    raise BadRequest("不认识这个时间段，请选本月、上月、近7天或自定义。")


def custom(start: str, end: str) -> Period:
    """Return the day range start..end (YYYY-MM-DD, inclusive), or raise BadRequest."""
    try:
        first, last = date.fromisoformat(start.strip()), date.fromisoformat(end.strip())
    except ValueError:
        raise BadRequest("日期写得不对，请写成 2026-11-01 这样的年-月-日。") from None
    if last < first:
        raise BadRequest("结束日期不能早于开始日期。")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadRequest(f"时间段最长 {MAX_DAYS} 天，请缩短后再查。")
    return Period(first, last, "自定义时段")
