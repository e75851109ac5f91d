"""How the report's sheets look on screen and on paper: widths, header rows, wrapping, A4 pages.

Every sheet prints on A4, fit to one page wide, with its header row repeated on each page;
a chart sits beside its table inside the print area, so it is never cut between pages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

from openpyxl.chart import BarChart, LineChart
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="E8EEF4")
THIN = Side(style="thin", color="B0B0B0")
HEADER_BORDER = Border(bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
WRAP_LEFT = Alignment(wrap_text=True, vertical="top", horizontal="left")
# Real date cells, shown the way officers write dates.
DAY_FORMAT = 'm"月"d"日"'
FULL_DATE_FORMAT = 'yyyy"年"m"月"d"日"'
PERCENT_FORMAT = "0.0%"
MIN_WIDTH, MAX_WIDTH = 8, 48
# Excel column width units per character: a CJK character takes two, others about one.
CJK_UNITS, LATIN_UNITS = 2.0, 1.1
LINE_POINTS = 15.0
# A chart's size in cm (openpyxl's unit). The columns under it get CHART_COLUMN_UNITS each
# (7 px per unit + 5 px at 96 dpi: about 1.98 cm) and a row is about 0.53 cm, which says
# how many cells the print area must add for the chart.
CHART_WIDTH_CM, CHART_HEIGHT_CM, CHART_MAX_HEIGHT_CM = 16, 8, 15
CHART_COLUMN_UNITS, COLUMN_CM, ROW_CM = 10, 1.98, 0.53


def text_units(text: str) -> float:
    """Return about how many column width units `text` needs on one line."""
    return sum(CJK_UNITS if ord(char) > 0x2E7F else LATIN_UNITS for char in text)


def header(sheet: Worksheet, names: Sequence[str]) -> None:
    """Write `names` as the bold, shaded first row, frozen on screen and repeated on paper."""
    sheet.append(list(names))
    for cell in sheet[sheet.max_row]:
        cell.font, cell.fill, cell.border = BOLD, HEADER_FILL, HEADER_BORDER
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"


def fit_columns(sheet: Worksheet, wrapped: Sequence[int] = ()) -> None:
    """Size every column to its longest cell (within limits); wrap long text in `wrapped`."""
    for index, column in enumerate(sheet.iter_cols(), start=1):
        widest = max((_cell_units(cell.value) for cell in column), default=0.0)
        width = min(max(widest + 2, MIN_WIDTH), MAX_WIDTH)
        sheet.column_dimensions[get_column_letter(index)].width = width
        if index in wrapped:
            for cell in column[1:]:
                cell.alignment = WRAP


def _cell_units(value: object) -> float:
    if value is None:
        return 0.0
    if isinstance(value, date):
        return 16.0
    if isinstance(value, float):
        return 8.0
    return text_units(str(value))


def wrapped_height(text: str, width_units: float) -> float:
    """Return the row height in points that shows `text` wrapped in a column of that width."""
    lines = sum(max(math.ceil(text_units(part) / width_units), 1) for part in text.split("\n"))
    return lines * LINE_POINTS + 4


def place_chart(sheet: Worksheet, chart: BarChart | LineChart, rows: int) -> tuple[int, int]:
    """Put `chart` right of the table, about as tall as it; return the cells it covers."""
    per_row = 0.6 if isinstance(chart, BarChart) else ROW_CM
    height = round(2 + per_row * rows)
    chart.width, chart.height = (
        CHART_WIDTH_CM,
        min(max(height, CHART_HEIGHT_CM), CHART_MAX_HEIGHT_CM),
    )
    if isinstance(chart, LineChart):
        for series in chart.series:
            series.smooth = False  # a day's count is a point, not a curve
    gap = sheet.max_column + 1
    sheet.column_dimensions[get_column_letter(gap)].width = 2
    columns = math.ceil(chart.width / COLUMN_CM)
    for offset in range(1, columns + 1):
        sheet.column_dimensions[get_column_letter(gap + offset)].width = CHART_COLUMN_UNITS
    sheet.add_chart(chart, f"{get_column_letter(gap + 1)}2")
    return 1 + columns, 2 + math.ceil(chart.height / ROW_CM)


def print_setup(sheet: Worksheet, chart: tuple[int, int] = (0, 0)) -> None:
    """Lay the sheet out on A4, one page wide, over the table and its chart (columns, rows)."""
    chart_columns, chart_rows = chart
    last_column = sheet.max_column + chart_columns
    last_row = max(sheet.max_row, chart_rows, 2)
    sheet.print_area = f"A1:{get_column_letter(last_column)}{last_row}"
    setup = sheet.page_setup
    setup.paperSize = sheet.PAPERSIZE_A4
    setup.orientation = "landscape" if last_column > 6 else "portrait"
    setup.fitToWidth, setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_options.horizontalCentered = True
    margins = sheet.page_margins
    margins.left = margins.right = 0.5
    margins.top = margins.bottom = 0.6
    footer = sheet.oddFooter.center if sheet.oddFooter is not None else None
    if footer is not None:
        footer.text = "&A　第 &P 页，共 &N 页"
