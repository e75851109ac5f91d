"""The monthly report as an xlsx workbook (openpyxl), with native Excel line and bar charts.

Sheets: 汇总 (written summary and key figures), one per measure by day (the region and each
sub-region side by side), one per sub-region by day, 排名, 推送计划, 问询, 答题, 未答问题.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from redis.asyncio import Redis

from bot.dashboard import summary
from bot.dashboard.data import DayReach, by_day
from bot.dashboard.snapshot import Snapshot
from bot.store.reach import Measure

READERS = "阅读人数（去重）"
SUMMARY_SHEET = "汇总"
BOLD = Font(bold=True)
BOTTOM_FILL = PatternFill("solid", fgColor="F5B7B1")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _day_values(day: DayReach) -> list[int]:
    return [*(day.measures[m] for m in Measure), day.readers]


COLUMNS = [*(m.label for m in Measure), READERS]


async def build(redis: Redis, snap: Snapshot) -> Workbook:
    """Return the report workbook for `snap`; reads each sub-region's days from Redis."""
    sub_days = [await by_day(redis, snap.period.days, row.region) for row in snap.ranking]
    book = Workbook()
    _summary_sheet(book.worksheets[0], snap)
    names: set[str] = {SUMMARY_SHEET}
    region_days = [(snap.region_label, snap.days)] + [
        (row.name, days) for row, days in zip(snap.ranking, sub_days, strict=True)
    ]
    for column, title in enumerate(COLUMNS):
        sheet = book.create_sheet(_sheet_name(f"按日-{title}", names))
        _measure_sheet(sheet, title, column, region_days)
    for name, days in region_days[1:]:
        _region_sheet(book.create_sheet(_sheet_name(name, names)), name, days)
    _ranking_sheet(book.create_sheet(_sheet_name("排名", names)), snap)
    _table_sheet(
        book.create_sheet(_sheet_name("推送计划", names)),
        ("推送计划", "推送成功", "推送失败"),
        [(c.title, c.sent, c.failed) for c in snap.campaigns],
        chart_title="各推送计划的推送",
    )
    _table_sheet(
        book.create_sheet(_sheet_name("问询", names)),
        ("骗局类型", "提问次数"),
        [(t.name, t.count) for t in snap.asked],
        chart_title="群众问得最多的骗局",
    )
    _table_sheet(
        book.create_sheet(_sheet_name("答题", names)),
        ("骗局类型", "答题次数", "答对次数", "正确率"),
        [(t.name, t.answers, t.correct, round(t.accuracy, 4)) for t in snap.quiz],
    )
    _table_sheet(
        book.create_sheet(_sheet_name("未答问题", names)),
        ("日期", "地区", "问题"),
        [(q.day, q.where, q.text) for q in snap.unmatched],
    )
    return book


def to_bytes(book: Workbook) -> bytes:
    """Return the workbook as xlsx file content."""
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_name(wanted: str, taken: set[str]) -> str:
    """Return a valid, unused sheet name (31 characters, no []:*?/\\)."""
    base = _SHEET_FORBIDDEN.sub("_", wanted)[:31] or "地区"
    name, number = base, 2
    while name in taken:
        suffix = f"({number})"
        name, number = base[: 31 - len(suffix)] + suffix, number + 1
    taken.add(name)
    return name


def _summary_sheet(sheet: Worksheet, snap: Snapshot) -> None:
    sheet.title = SUMMARY_SHEET
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 90
    sheet.append([f"{snap.region_label} {snap.period.label} 反诈宣传工作情况"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["统计时段", f"{snap.period.start.isoformat()} 至 {snap.period.end.isoformat()}"])
    for text in summary.paragraphs(snap):
        sheet.append(["", text])
        sheet.cell(sheet.max_row, 2).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.append([])
    sheet.append(["指标", "数值"])
    for cell in sheet[sheet.max_row]:
        cell.font = BOLD
    r = snap.reach
    for measure in Measure:
        sheet.append([measure.label, r.measures[measure]])
    sheet.append([READERS, r.readers])
    sheet.append(["答题人数（去重）", r.quiz_players])
    sheet.append(["承诺人数（去重）", r.pledgers])
    sheet.append(["登记群数", r.groups])
    sheet.append(["登记群成员数", r.members])
    sheet.append(["覆盖率（估算）", round(r.coverage, 4) if r.coverage is not None else "—"])
    sheet.cell(sheet.max_row, 2).number_format = "0.0%"


def _measure_sheet(
    sheet: Worksheet, title: str, column: int, region_days: Sequence[tuple[str, list[DayReach]]]
) -> None:
    sheet.append(["日期", *(name for name, _ in region_days)])
    days = region_days[0][1]
    for index, day in enumerate(days):
        row = [_day_values(per_region[index])[column] for _, per_region in region_days]
        sheet.append([day.day.isoformat(), *row])
    chart = LineChart()
    chart.title = f"{title}（按日）"
    chart.add_data(
        Reference(
            sheet, min_col=2, max_col=1 + len(region_days), min_row=1, max_row=len(days) + 1
        ),
        titles_from_data=True,
    )
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=len(days) + 1))
    chart.width, chart.height = 24, 9
    sheet.add_chart(chart, f"{get_column_letter(len(region_days) + 3)}2")


def _region_sheet(sheet: Worksheet, name: str, days: list[DayReach]) -> None:
    sheet.append(["日期", *COLUMNS])
    for day in days:
        sheet.append([day.day.isoformat(), *_day_values(day)])
    chart = LineChart()
    chart.title = f"{name}：阅读与回执（按日）"
    for column in (Measure.VIEWS, Measure.RECEIPTS):
        index = list(Measure).index(column) + 2
        chart.add_data(
            Reference(sheet, min_col=index, min_row=1, max_row=len(days) + 1),
            titles_from_data=True,
        )
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=len(days) + 1))
    chart.width, chart.height = 24, 9
    sheet.add_chart(chart, f"{get_column_letter(len(COLUMNS) + 3)}2")


def _ranking_sheet(sheet: Worksheet, snap: Snapshot) -> None:
    sheet.append(
        ["名次", "地区", "登记群", "成员数", "阅读人数", "回执", "覆盖率", "人均回执", "备注"]
    )
    for row in snap.ranking:
        r = row.reach
        sheet.append([
            row.rank, row.name, r.groups, r.members, r.readers, r.measures[Measure.RECEIPTS],
            round(r.coverage, 4) if r.coverage is not None else "—",
            round(r.receipts_per_member, 4) if r.receipts_per_member is not None else "—",
            "倒数三名" if row.bottom else "",
        ])  # fmt: skip
        sheet.cell(sheet.max_row, 7).number_format = "0.0%"
        if row.bottom:
            for cell in sheet[sheet.max_row]:
                cell.fill = BOTTOM_FILL
    if snap.ranking:
        chart = BarChart()
        chart.type = "bar"
        chart.title = "各地区覆盖率"
        chart.add_data(
            Reference(sheet, min_col=7, min_row=1, max_row=len(snap.ranking) + 1),
            titles_from_data=True,
        )
        chart.set_categories(Reference(sheet, min_col=2, min_row=2, max_row=len(snap.ranking) + 1))
        sheet.add_chart(chart, "K2")


def _table_sheet(
    sheet: Worksheet,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    chart_title: str = "",
) -> None:
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = BOLD
    for row in rows:
        sheet.append(list(row))
    if chart_title and rows:
        chart = BarChart()
        chart.type = "bar"
        chart.title = chart_title
        chart.add_data(
            Reference(sheet, min_col=2, min_row=1, max_row=len(rows) + 1), titles_from_data=True
        )
        chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=len(rows) + 1))
        sheet.add_chart(chart, f"{get_column_letter(len(header) + 2)}2")
