"""Standing campaigns from schedules/*.yaml: what is pushed, to whom, when and how.

Parsing collects every problem (file, line, field, reason) before refusing, like content lint;
the file format is documented in schedules/README.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

import yaml

from bot.answers.content import ContentError, Problem
from bot.models import PushStyle
from bot.push.audience import Audience
from bot.push.catalog import Catalog
from bot.store.groups import parse_kind

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
STYLES: tuple[PushStyle, ...] = ("text", "markdown", "news")
DEFAULT_GRACE = timedelta(hours=1)
DEFAULT_DAILY_CAP = 2
# APScheduler 3 counts weekday 0 as Monday, cron as Sunday: only names are unambiguous.
_NUMBERED = re.compile(r"\d")
_DOW = "星期请写英文缩写（mon、tue……sun），不要写数字"


@dataclass(frozen=True, slots=True)
class Window:
    """A daily time window in minutes after midnight; `end` may be past midnight (quiet hours)."""

    start: int
    end: int

    def __contains__(self, minute: int) -> bool:
        if self.start <= self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


@dataclass(frozen=True, slots=True)
class Timing:
    """When a campaign fires: a cron expression, or slot windows on matching days."""

    cron: str | None = None
    slots: tuple[Window, ...] = ()
    days: str = "*"
    weekdays: str = "*"
    start: date | None = None
    end: date | None = None
    quiet: Window | None = None
    daily_cap: int = DEFAULT_DAILY_CAP
    grace: timedelta = DEFAULT_GRACE


@dataclass(frozen=True, slots=True)
class Campaign:
    """One standing campaign; `items` is the rotation pool, sent in order, never repeated to a
    group before every item has reached it."""

    id: str
    title: str
    items: tuple[str, ...]
    audience: Audience
    timing: Timing
    style: PushStyle = "news"
    path: Path = Path()


def load_campaigns(schedules_dir: Path, catalog: Catalog | None = None) -> list[Campaign]:
    """Load every schedules/*.yaml; raise ContentError naming each bad file, line and field."""
    catalog = catalog or Catalog.from_content()
    campaigns: list[Campaign] = []
    problems: list[Problem] = []
    for path in sorted(schedules_dir.glob("*.yaml")):
        campaign, found = parse_campaign(path, catalog)
        problems += found
        if campaign:
            campaigns.append(campaign)
    if problems:
        raise ContentError(problems)
    return campaigns


def parse_campaign(path: Path, catalog: Catalog) -> tuple[Campaign | None, list[Problem]]:
    """Parse and validate one campaign file; return the campaign or the problems found."""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        lines = _key_lines(yaml.compose(text))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [Problem(path, mark.line + 1 if mark else 1, "-", f"无法读取：{exc}")]
    if not isinstance(data, dict):
        return None, [Problem(path, 1, "-", "文件应当是 id、title、what、to、when 等字段")]
    reader = _Reader(path, data, lines)
    campaign = reader.campaign(catalog)
    return (None, reader.problems) if reader.problems else (campaign, [])


class _Reader:
    """Read fields by dotted name, collecting a located problem for each bad one."""

    def __init__(self, path: Path, data: Mapping[str, Any], lines: Mapping[str, int]) -> None:
        self.path, self.data, self.lines = path, data, lines
        self.problems: list[Problem] = []

    def fail(self, name: str, reason: str) -> None:
        line = self.lines.get(name) or self.lines.get(name.rsplit(".", 1)[0], 1)
        self.problems.append(Problem(self.path, line, name, reason))

    def get(self, name: str) -> Any:
        value: Any = self.data
        for part in name.split(".") if name else ():
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def text(self, name: str, *, required: bool = False, default: str = "") -> str:
        value = self.get(name)
        if value is None:
            if required:
                self.fail(name, "缺少这一项")
            return default
        if not isinstance(value, str | int) or not str(value).strip():
            self.fail(name, "应当是不为空的文字")
            return default
        return str(value).strip()

    def texts(self, name: str) -> tuple[str, ...]:
        value = self.get(name)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(name, "应当是一组不为空的文字")
            return ()
        return tuple(v.strip() for v in value)

    def section(self, name: str, allowed: Iterable[str], *, required: bool = True) -> None:
        value = self.get(name)
        if value is None and not required:
            return
        if not isinstance(value, dict):
            self.fail(name, "缺少这一项" if value is None else "应当是“字段: 值”的形式")
            return
        for key in value:
            if key not in allowed:
                self.fail(f"{name}.{key}" if name else str(key), "不认识的字段")

    def campaign(self, catalog: Catalog) -> Campaign:
        self.section("", ("id", "title", "what", "to", "when", "how"))
        campaign_id = self.text("id", required=True)
        if campaign_id and (
            not ID_PATTERN.fullmatch(campaign_id) or campaign_id != self.path.stem
        ):
            self.fail("id", "只能用 a-z、0-9、-，最长 40 个字符，并且要和文件名相同")
        audience = self.audience()
        style = self.text("how.style", default="news")
        if style not in STYLES:
            self.fail("how.style", f"应当是其中之一：{'、'.join(STYLES)}")
        self.section("how", ("style",), required=False)
        return Campaign(
            id=campaign_id,
            title=self.text("title", required=True),
            items=self.items(catalog, audience),
            audience=audience,
            timing=self.timing(),
            style=cast(PushStyle, style),
            path=self.path,
        )

    def audience(self) -> Audience:
        self.section("to", ("kinds", "regions", "groups", "exclude", "exclude_regions"))
        kinds = []
        for word in self.texts("to.kinds"):
            kind = parse_kind(word)
            if kind is None:
                self.fail("to.kinds", f"不认识的群类型 {word!r}")
            else:
                kinds.append(kind)
        audience = Audience(
            kinds=frozenset(kinds),
            regions=tuple(r.strip("/") for r in self.texts("to.regions")),
            groups=frozenset(self.texts("to.groups")),
            exclude_groups=frozenset(self.texts("to.exclude")),
            exclude_regions=tuple(r.strip("/") for r in self.texts("to.exclude_regions")),
        )
        if audience.empty and isinstance(self.get("to"), dict):
            self.fail("to", "没写 kinds、regions 或 groups：推送必须写明发给谁")
        return audience

    def items(self, catalog: Catalog, audience: Audience) -> tuple[str, ...]:
        self.section("what", ("items", "rotate"))
        items = self.texts("what.items")
        for item in items:
            reason = catalog.problem(item, audience.kinds)
            if reason:
                self.fail("what.items", reason)
        if self.get("what.rotate") is not None:
            self.section("what.rotate", ("scams", "tags", "audiences"))
            pool = catalog.scam_pool(
                self.texts("what.rotate.scams"),
                self.texts("what.rotate.tags"),
                self.texts("what.rotate.audiences"),
            )
            # Only entries written for every targeted kind join the rotation.
            pool = tuple(
                i for i in pool if i not in items and not catalog.problem(i, audience.kinds)
            )
            if not pool:
                self.fail("what.rotate", "没有写给这些群类型、又符合这些条件的骗局条目")
            items += pool
        elif not items and isinstance(self.get("what"), dict):
            self.fail("what", "要写 items（如 alerts/xxx）或 rotate 轮换条件")
        return items

    def timing(self) -> Timing:
        allowed = ("cron", "slots", "days", "weekdays", "from", "until", "quiet", "daily_cap")
        self.section("when", (*allowed, "grace_minutes"))
        cron = self.text("when.cron") or None
        slots = tuple(w for s in self.texts("when.slots") if (w := self.window("when.slots", s)))
        if bool(cron) == bool(slots):
            self.fail("when", "cron 和 slots 只能写一个，也必须写一个")
        if cron and not _valid_cron(cron):
            self.fail("when.cron", f"应当是五段 cron，如 '30 10 * * mon'；{_DOW}")
        if slots and any(w.end <= w.start for w in slots):
            self.fail("when.slots", "时段的结束要晚于开始，如 10:30-11:30")
        days, weekdays = (
            self.text("when.days", default="*"),
            self.text("when.weekdays", default="*"),
        )
        if not _valid_days(days, weekdays):
            self.fail("when.days", f"应当是 cron 的写法，如 days: '1,15'；{_DOW}")
        quiet_text = self.text("when.quiet")
        start, end = self.day("when.from"), self.day("when.until")
        if start and end and end < start:
            self.fail("when.until", "结束日期早于 when.from")
        return Timing(
            cron=cron,
            slots=slots,
            days=days,
            weekdays=weekdays,
            start=start,
            end=end,
            quiet=self.window("when.quiet", quiet_text) if quiet_text else None,
            daily_cap=self.number("when.daily_cap", DEFAULT_DAILY_CAP, 1, 20),
            grace=timedelta(minutes=self.number("when.grace_minutes", 60, 1, 24 * 60)),
        )

    def window(self, name: str, value: str) -> Window | None:
        start, _, end = value.partition("-")
        first, last = _CLOCK.fullmatch(start.strip()), _CLOCK.fullmatch(end.strip())
        if not (first and last):
            self.fail(name, f"{value!r} 不是 10:30-11:30 这样的时段")
            return None
        return Window(_minutes(first), _minutes(last))

    def day(self, name: str) -> date | None:
        value = self.get(name)
        if value is None or isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(name, "应当是日期，如 2026-12-01")
            return None

    def number(self, name: str, default: int, low: int, high: int) -> int:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(name, f"应当是 {low} 到 {high} 之间的整数")
            return default
        return value


def _key_lines(node: yaml.Node | None, prefix: str = "") -> dict[str, int]:
    """Map each dotted key path of a YAML mapping to its 1-based line number."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    lines: dict[str, int] = {}
    for key, value in node.value:
        path = f"{prefix}{key.value}"
        lines[path] = key.start_mark.line + 1
        lines.update(_key_lines(value, f"{path}."))
    return lines


def _valid_cron(expression: str) -> bool:
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) != 5 or _NUMBERED.search(fields[4]):
        return False
    try:
        CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError:
        return False
    return True


def _valid_days(days: str, weekdays: str) -> bool:
    from apscheduler.triggers.cron import CronTrigger

    if _NUMBERED.search(weekdays):
        return False
    try:
        CronTrigger(day=days, day_of_week=weekdays, timezone="UTC")
    except ValueError:
        return False
    return True


def _minutes(match: re.Match[str]) -> int:
    return int(match.group(1)) * 60 + int(match.group(2))


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
