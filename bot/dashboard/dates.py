"""Dates as officers write them: 「12月3日」 in tables and charts, 「2026年12月3日」 in titles."""

from __future__ import annotations

from datetime import date


def short(day: date) -> str:
    """Return 「12月3日」."""
    return f"{day.month}月{day.day}日"


def full(day: date) -> str:
    """Return 「2026年12月3日」."""
    return f"{day.year}年{short(day)}"


def span(start: date, end: date) -> str:
    """Return 「2026年11月1日至11月30日」 (the year once when both days share it)."""
    if start == end:
        return full(start)
    tail = short(end) if start.year == end.year else full(end)
    return f"{full(start)}至{tail}"


def from_tag(tag: str) -> date | None:
    """Return the day of a metric key's day tag 「20261203」, or None when it is not one."""
    try:
        return date(int(tag[:4]), int(tag[4:6]), int(tag[6:8])) if len(tag) == 8 else None
    except ValueError:
        return None


def tag_label(tag: str) -> str:
    """Return a day tag as 「2026年12月3日」, or the tag itself when it is not a date."""
    day = from_tag(tag)
    return full(day) if day else tag
