"""Pure parts of the dashboard: periods, the ranking rule, SVG charts, the written summary."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest

from bot.dashboard import charts, dates
from bot.dashboard.data import Reach, region_paths
from bot.dashboard.period import BadRequest, custom, preset
from bot.dashboard.ranking import order, sub_regions
from bot.models import Group, GroupKind
from bot.store.reach import Measure


def _reach(readers: int, members: int, receipts: int = 0) -> Reach:
    measures = dict.fromkeys(Measure, 0) | {Measure.RECEIPTS: receipts}
    return Reach(measures, readers, 0, 0, members, 1)


def test_ranking_orders_by_coverage_then_receipts_per_member() -> None:
    rows = order(
        [
            ("镇/甲村", _reach(50, 100, receipts=10)),
            ("镇/乙村", _reach(50, 100, receipts=90)),
            ("镇/丙村", _reach(90, 100)),
            ("镇/丁村", _reach(5, 0)),  # no members registered: no coverage, ranks last
            ("镇/戊村", _reach(500, 100)),  # more readers than members: capped at 100%
        ]
    )
    assert [r.name for r in rows] == ["戊村", "丙村", "乙村", "甲村", "丁村"]
    assert rows[0].reach.coverage == 1.0
    assert [r.name for r in rows if r.bottom] == ["乙村", "甲村", "丁村"]
    assert [r.rank for r in rows] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(("count", "marked"), [(0, 0), (1, 0), (2, 1), (3, 2), (4, 3), (9, 3)])
def test_bottom_three_never_marks_everyone(count: int, marked: int) -> None:
    rows = order([(f"镇/村{n}", _reach(n, 10)) for n in range(count)])
    assert sum(row.bottom for row in rows) == marked


def test_sub_regions_are_one_level_below() -> None:
    groups = [
        Group("a", "", GroupKind.VILLAGE, "镇/甲村/一组", 1),
        Group("b", "", GroupKind.VILLAGE, "镇/乙村", 1),
        Group("c", "", GroupKind.VILLAGE, "镇", 1),
        Group("d", "", GroupKind.VILLAGE, "别镇/丙村", 1),
        Group("e", "", GroupKind.VILLAGE, "镇甲/丁村", 1),
    ]
    assert sub_regions(groups, "镇") == ["镇/乙村", "镇/甲村"]
    assert sub_regions(groups, "") == ["别镇", "镇", "镇甲"]
    assert sub_regions(groups, "镇/甲村") == ["镇/甲村/一组"]
    assert "镇/甲村/一组" in region_paths(groups) and "镇" in region_paths(groups)


def test_presets() -> None:
    day = date(2026, 3, 10)
    assert preset("this-month", day).days[0] == date(2026, 3, 1)
    last = preset("last-month", day)
    assert (last.start, last.end) == (date(2026, 2, 1), date(2026, 2, 28))
    assert len(preset("7d", day).days) == 7
    with pytest.raises(BadRequest):
        preset("forever", day)
    assert len(custom("2026-01-01", "2026-12-31").days) == 365
    with pytest.raises(BadRequest):
        custom("2025-01-01", "2026-12-31")


def test_charts_escape_labels_and_survive_empty_data() -> None:
    bar = charts.bar_chart("<t>", [("<script>x</script>", 3.0), ("乙", 0.0)])
    assert "<script>" not in bar and "&lt;script&gt;" in bar and "&lt;t&gt;" in bar
    assert "暂无数据" in charts.bar_chart("空", [])
    line = charts.line_chart("趋势", ["11-01", "11-02"], [("阅读<", [0, 0])])
    assert "阅读&lt;" in line and "nan" not in line.lower()
    single = charts.line_chart("一天", ["11-01"], [("阅读", [5])])
    assert "<polyline" in single


def test_dates_are_written_in_chinese() -> None:
    assert dates.short(date(2026, 12, 3)) == "12月3日"
    assert dates.full(date(2026, 12, 3)) == "2026年12月3日"
    assert dates.span(date(2026, 11, 1), date(2026, 11, 30)) == "2026年11月1日至11月30日"
    assert dates.span(date(2026, 12, 28), date(2027, 1, 3)) == "2026年12月28日至2027年1月3日"
    assert dates.tag_label("20261203") == "2026年12月3日"
    assert dates.tag_label("2026x203") == "2026x203" and dates.tag_label("20261340") == "20261340"


def test_chart_labels_are_whole() -> None:
    name = "虚假征信及注销校园贷诈骗"
    bar = charts.bar_chart("问询", [(name, 3.0), ("刷单", 1.0)])
    label_column = int(bar.split('<tspan x="')[1].split('"')[0])
    assert name in bar and label_column >= charts.text_width(name)
    assert 'font-weight="bold">问询' not in bar  # the <h3> above names the chart
    days = [dates.short(date(2026, 11, 1) + timedelta(days=n)) for n in range(30)]
    line = charts.line_chart("阅读", days, [("阅读次数", list(range(30)))])
    assert 'text-anchor="end">11月30日</text>' in line  # the last day ends at its tick
    assert 'text-anchor="start">11月1日</text>' in line
    ticks = [float(part.split('"')[0]) for part in line.split('<text x="')[3:]]
    shown = [t for t in ticks if t >= charts.PAD_LEFT][:-1]  # day labels, before the legend
    assert all(b - a > charts.text_width("11月30日") for a, b in pairwise(shown))
