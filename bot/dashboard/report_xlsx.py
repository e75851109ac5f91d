"""The monthly report as an xlsx workbook (openpyxl), with native Excel line and bar charts.

Sheets: 汇总 (issuer, written summary and key figures), 地区合计 (the sub-regions and the
unassigned row adding up to the total), one per measure by day (the region and each sub-region
side by side), one per sub-region by day, 排名, 推送计划, 问询, 答题, 家长信回执, 未答问题.
Layout and printing: bot.dashboard.xlsx_layout.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import date

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet
from redis.asyncio import Redis

from bot.dashboard import dates, summary
from bot.dashboard import xlsx_layout as layout
from bot.dashboard.data import DayReach, by_day
from bot.dashboard.issuer import Issuer
from bot.dashboard.snapshot import Snapshot
from bot.store.reach import Measure

READERS = "阅读人数（去重）"
SUMMARY_SHEET = "汇总"
UNASSIGNED = "未归属下级地区"
BOTTOM_FILL = PatternFill("solid", fgColor="F5B7B1")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
SUMMARY_WIDTH = 70


def _day_values(day: DayReach) -> list[int]:
    return [*(day.measures[m] for m in Measure), day.readers]


COLUMNS = [*(m.label for m in Measure), READERS]


async def build(redis: Redis, snap: Snapshot, issuer: Issuer | None = None) -> Workbook:
    """Return the report workbook for `snap`; reads each sub-region's days from Redis."""
    sub_days = [await by_day(redis, snap.period.days, row.region) for row in snap.ranking]
    book = Workbook()
    _summary_sheet(book.worksheets[0], snap, issuer or Issuer())
    names: set[str] = {SUMMARY_SHEET}

    def sheet(wanted: str) -> Worksheet:
        created: Worksheet = book.create_sheet(_sheet_name(wanted, names))
        return created

    _totals_sheet(sheet("地区合计"), snap)
    region_days = [(snap.region_label, snap.days)] + [
        (row.name, days) for row, days in zip(snap.ranking, sub_days, strict=True)
    ]
    for column, title in enumerate(COLUMNS):
        _measure_sheet(sheet(f"按日-{title}"), title, column, region_days)
    for name, days in region_days[1:]:
        _region_sheet(sheet(name), name, days)
    _ranking_sheet(sheet("排名"), snap)
    _table_sheet(
        sheet("推送计划"),
        ("推送计划", "推送成功", "推送失败"),
        [(c.title, c.sent, c.failed) for c in snap.campaigns],
        chart_title="各推送计划的推送",
    )
    _table_sheet(
        sheet("问询"),
        ("骗局类型", "提问次数"),
        [(t.name, t.count) for t in snap.asked],
        chart_title="群众问得最多的骗局",
    )
    _table_sheet(
        sheet("答题"),
        ("骗局类型", "答题次数", "答对次数", "正确率"),
        [(t.name, t.answers, t.correct, round(t.accuracy, 4)) for t in snap.quiz],
        percent_column=4,
    )
    _table_sheet(
        sheet("家长信回执"),
        ("家长信", "班级", "回执"),
        [(letter.title, name, count) for letter in snap.letters for name, count in letter.classes],
    )
    _table_sheet(
        sheet("未答问题"),
        ("日期", "地区", "问题"),
        [(dates.from_tag(q.day) or q.day, q.where, q.text) for q in snap.unmatched],
        wrapped=(3,),
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


def _summary_sheet(sheet: Worksheet, snap: Snapshot, issuer: Issuer) -> None:
    sheet.title = SUMMARY_SHEET
    sheet.append([f"{snap.region_label} {snap.period.label} 反诈宣传工作情况"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.merge_cells("A1:B1")
    sheet.append(["统计时段", dates.span(snap.period.start, snap.period.end)])
    for label, value in issuer.rows():
        sheet.append([label, value])
        if label == "填报日期" and value:
            sheet.cell(sheet.max_row, 2).number_format = layout.FULL_DATE_FORMAT
    for text in summary.paragraphs(snap):
        sheet.append(["", text])
        sheet.cell(sheet.max_row, 2).alignment = layout.WRAP
        sheet.row_dimensions[sheet.max_row].height = layout.wrapped_height(text, SUMMARY_WIDTH)
    sheet.append([])
    sheet.append(["指标", "数值"])
    for cell in sheet[sheet.max_row]:
        cell.font, cell.fill = layout.BOLD, layout.HEADER_FILL
    r = snap.reach
    for measure in Measure:
        sheet.append([measure.label, r.measures[measure]])
    sheet.append([READERS, r.readers])
    sheet.append(["答题人数（去重）", r.quiz_players])
    sheet.append(["承诺人数（去重）", r.pledgers])
    sheet.append(["登记群数", r.groups])
    sheet.append(["登记群成员数", r.members])
    sheet.append(["覆盖率（估算）", round(r.coverage, 4) if r.coverage is not None else "—"])
    sheet.cell(sheet.max_row, 2).number_format = layout.PERCENT_FORMAT
    for cell in sheet["B"][1:]:
        cell.alignment = layout.WRAP_LEFT
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = SUMMARY_WIDTH + 2
    layout.print_setup(sheet)
    sheet.page_setup.orientation = "portrait"


def _totals_sheet(sheet: Worksheet, snap: Snapshot) -> None:
    """The sub-regions, what no sub-region holds, and the total: each column adds up."""
    layout.header(sheet, ["地区", *(m.label for m in Measure)])
    for row in snap.ranking:
        sheet.append([row.name, *(row.reach.measures[m] for m in Measure)])
    sheet.append([UNASSIGNED, *(snap.unassigned[m] for m in Measure)])
    sheet.append([f"{snap.region_label}合计", *(snap.reach.measures[m] for m in Measure)])
    for cell in sheet[sheet.max_row]:
        cell.font = layout.BOLD
    sheet.append(["注：未归属指一对一咨询、经未知或过期链接的阅读、登记在本级的群。"])
    layout.fit_columns(sheet)
    sheet.column_dimensions["A"].width = 18
    layout.print_setup(sheet)


def _measure_sheet(
    sheet: Worksheet, title: str, column: int, region_days: Sequence[tuple[str, list[DayReach]]]
) -> None:
    layout.header(sheet, ["日期", *(name for name, _ in region_days)])
    days = region_days[0][1]
    for index, day in enumerate(days):
        row = [_day_values(per_region[index])[column] for _, per_region in region_days]
        sheet.append([day.day, *row])
        sheet.cell(sheet.max_row, 1).number_format = layout.DAY_FORMAT
    chart = LineChart()
    chart.title = f"{title}（按日）"
    chart.add_data(
        Reference(
            sheet, min_col=2, max_col=1 + len(region_days), min_row=1, max_row=len(days) + 1
        ),
        titles_from_data=True,
    )
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=len(days) + 1))
    _finish(sheet, chart, len(days))


def _region_sheet(sheet: Worksheet, name: str, days: list[DayReach]) -> None:
    layout.header(sheet, ["日期", *COLUMNS])
    for day in days:
        sheet.append([day.day, *_day_values(day)])
        sheet.cell(sheet.max_row, 1).number_format = layout.DAY_FORMAT
    chart = LineChart()
    chart.title = f"{name}：阅读与回执（按日）"
    for column in (Measure.VIEWS, Measure.RECEIPTS):
        index = list(Measure).index(column) + 2
        chart.add_data(
            Reference(sheet, min_col=index, min_row=1, max_row=len(days) + 1),
            titles_from_data=True,
        )
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=len(days) + 1))
    _finish(sheet, chart, len(days))


def _finish(
    sheet: Worksheet, chart: BarChart | LineChart | None, rows: int, wrapped: Sequence[int] = ()
) -> None:
    """Size the columns, place the chart beside the table and set up printing."""
    layout.fit_columns(sheet, wrapped)
    placed = layout.place_chart(sheet, chart, rows) if chart is not None else (0, 0)
    layout.print_setup(sheet, placed)


def _ranking_sheet(sheet: Worksheet, snap: Snapshot) -> None:
    layout.header(
        sheet,
        ["名次", "地区", "登记群", "成员数", "阅读人数", "回执", "覆盖率", "人均回执", "备注"],
    )
    for row in snap.ranking:
        r = row.reach
        sheet.append([
            row.rank, row.name, r.groups, r.members, r.readers, r.measures[Measure.RECEIPTS],
            round(r.coverage, 4) if r.coverage is not None else "—",
            round(r.receipts_per_member, 4) if r.receipts_per_member is not None else "—",
            "倒数三名" if row.bottom else "",
        ])  # fmt: skip
        sheet.cell(sheet.max_row, 7).number_format = layout.PERCENT_FORMAT
        if row.bottom:
            for cell in sheet[sheet.max_row]:
                cell.fill = BOTTOM_FILL
    chart = None
    if snap.ranking:
        chart = _bar_chart(sheet, "各地区覆盖率", 7, 2, len(snap.ranking))
    _finish(sheet, chart, len(snap.ranking))


def _bar_chart(sheet: Worksheet, title: str, values: int, labels: int, rows: int) -> BarChart:
    chart = BarChart()
    chart.type = "bar"
    chart.title = title
    chart.legend = None
    chart.add_data(
        Reference(sheet, min_col=values, min_row=1, max_row=rows + 1), titles_from_data=True
    )
    chart.set_categories(Reference(sheet, min_col=labels, min_row=2, max_row=rows + 1))
    return chart


def _table_sheet(
    sheet: Worksheet,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    chart_title: str = "",
    percent_column: int = 0,
    wrapped: Sequence[int] = (),
) -> None:
    layout.header(sheet, header)
    for row in rows:
        sheet.append(list(row))
        if isinstance(row[0], date):
            sheet.cell(sheet.max_row, 1).number_format = layout.FULL_DATE_FORMAT
        if percent_column:
            sheet.cell(sheet.max_row, percent_column).number_format = layout.PERCENT_FORMAT
    chart = _bar_chart(sheet, chart_title, 2, 1, len(rows)) if chart_title and rows else None
    _finish(sheet, chart, len(rows), wrapped)
