"""Server-side SVG charts: no JavaScript, no chart library, nothing fetched from the internet.

Every label goes through markupsafe.escape, so a region or question text cannot inject markup.

Kept by hand on purpose (weighed against pygal and matplotlib): the console needs two chart
shapes, a day line and a horizontal bar, that print and render on phones without scripts or
fonts of their own. pygal's SVG leans on its JavaScript for tooltips and its own CSS, and
matplotlib is a large native dependency for two shapes; both would still need our label fitting
for long Chinese scam names. The xlsx report uses Excel's native charts (openpyxl) instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

COLOURS = ("#c0392b", "#2471a3", "#239b56", "#b9770e", "#7d3c98")
WIDTH = 480
LINE_HEIGHT = 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 12, 28, 34
BAR_ROW = 26
BAR_LINE = 15
FONT_PX = 12
# The label column of a bar chart grows with its longest label, up to this share of the width;
# a longer label wraps onto a second line, so no scam name is ever cut off.
BAR_LABEL_MAX = 200
LABEL_GAP = 6
MIN_LABEL_GAP = 8


def _svg(title: str, height: int, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        f'font-size="12" font-family="sans-serif">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _nice_max(value: float) -> float:
    """Return a round axis maximum at or above `value` (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 < value:
        step *= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= value:
            return step * factor
    return step * 10


def line_chart(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]
) -> Markup:
    """Return a line chart of `series` (name, one value per label) over `labels` (days)."""
    top = _nice_max(max((v for _, values in series for v in values), default=0))
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = LINE_HEIGHT - PAD_TOP - PAD_BOTTOM
    step = plot_w / max(len(labels) - 1, 1)

    def point(index: int, value: int) -> str:
        return f"{PAD_LEFT + index * step:.1f},{PAD_TOP + plot_h * (1 - value / top):.1f}"

    body = [
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH - PAD_RIGHT}" '
        f'y2="{PAD_TOP + plot_h}" stroke="#999"/>',
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 4}" text-anchor="end">{top:g}</text>',
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + plot_h}" text-anchor="end">0</text>',
    ]
    body += _x_labels(labels, step)
    for number, (name, values) in enumerate(series):
        colour = COLOURS[number % len(COLOURS)]
        points = " ".join(point(i, v) for i, v in enumerate(values))
        body.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
        )
        body.append(
            f'<text x="{PAD_LEFT + number * 90}" y="16" fill="{colour}">■ {escape(name)}</text>'
        )
    return _svg(title, LINE_HEIGHT, body)


def text_width(text: str) -> int:
    """Return about how many pixels `text` takes at FONT_PX (CJK full width, others half)."""
    return sum(FONT_PX if ord(char) > 0x2E7F else FONT_PX * 3 // 5 for char in text)


def _x_labels(labels: Sequence[str], step: float) -> list[str]:
    """Return evenly spaced day labels that never overlap, the first and the last one whole."""
    if not labels:
        return []
    last = len(labels) - 1
    widest = max(text_width(label) for label in labels)
    every = max(math.ceil((widest + MIN_LABEL_GAP) / step), 1) if last else 1
    chosen = list(range(0, last + 1, every))
    # The last day always shows: drop the evenly spaced ones it would overlap.
    end_left = PAD_LEFT + last * step - text_width(labels[last])
    while (
        chosen
        and chosen[-1] != last
        and _right(chosen[-1], labels, step) + MIN_LABEL_GAP > end_left
    ):
        chosen.pop()
    if not chosen or chosen[-1] != last:
        chosen.append(last)
    return [
        f'<text x="{PAD_LEFT + index * step:.1f}" y="{LINE_HEIGHT - 12}" '
        f'text-anchor="{_anchor(index, last)}">{escape(labels[index])}</text>'
        for index in chosen
    ]


def _anchor(index: int, last: int) -> str:
    """Return how a day label hangs on its tick: the first starts there, the last ends there."""
    if index == 0:
        return "start"
    return "end" if index == last else "middle"


def _right(index: int, labels: Sequence[str], step: float) -> float:
    """Return the right edge of a label that is not the last one."""
    x, width = PAD_LEFT + index * step, text_width(labels[index])
    return x + width if index == 0 else x + width / 2


def _wrap(label: str, room: int) -> list[str]:
    """Return `label` in at most two lines of about `room` pixels (the second one ends in …)."""
    lines, current = [], ""
    for char in label:
        if text_width(current + char) > room and current:
            lines.append(current)
            current = ""
        current += char
    lines.append(current)
    if len(lines) > 2:
        lines = [lines[0], lines[1][:-1] + "…"]
    return lines


def bar_chart(
    title: str, items: Sequence[tuple[str, float]], value_text: Sequence[str] | None = None
) -> Markup:
    """Return a horizontal bar chart of (label, value); `value_text` replaces the numbers."""
    room = min(max((text_width(label) for label, _ in items), default=0), BAR_LABEL_MAX)
    label_x = room + LABEL_GAP
    wrapped = [_wrap(label, room) for label, _ in items]
    rows = [BAR_ROW + BAR_LINE * (len(lines) - 1) for lines in wrapped]
    # The <h3> above names the chart; the title stays in <title> and aria-label only.
    height = 8 + sum(rows) + (BAR_ROW if not items else 0)
    top = max((value for _, value in items), default=0) or 1
    span = WIDTH - label_x - 70
    body: list[str] = []
    y = 4
    for row, ((_, value), lines) in enumerate(zip(items, wrapped, strict=True)):
        shown = value_text[row] if value_text else f"{value:g}"
        length = span * value / top
        middle = y + rows[row] / 2
        first = middle + 4 - BAR_LINE * (len(lines) - 1) / 2
        text = "".join(
            f'<tspan x="{room}" y="{first + n * BAR_LINE:.1f}">{escape(line)}</tspan>'
            for n, line in enumerate(lines)
        )
        body.append(
            f'<text text-anchor="end">{text}</text>'
            f'<rect x="{label_x}" y="{middle - 8:.1f}" width="{length:.1f}" height="16" '
            f'fill="{COLOURS[1]}"/>'
            f'<text x="{label_x + length + 4:.1f}" y="{middle + 4:.1f}">{escape(shown)}</text>'
        )
        y += rows[row]
    if not items:
        body.append(f'<text x="0" y="{4 + BAR_ROW / 2 + 4}">暂无数据</text>')
    return _svg(title, height, body)
