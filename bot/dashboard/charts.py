"""Server-side SVG charts: no JavaScript, no chart library, nothing fetched from the internet.

Every label goes through markupsafe.escape, so a region or question text cannot inject markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

COLOURS = ("#c0392b", "#2471a3", "#239b56", "#b9770e", "#7d3c98")
WIDTH = 480
LINE_HEIGHT = 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 12, 28, 34
BAR_ROW = 26
BAR_LABEL = 130


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
    every = max(len(labels) // 6, 1)
    for index, label in enumerate(labels):
        if index % every == 0:
            body.append(
                f'<text x="{PAD_LEFT + index * step:.1f}" y="{LINE_HEIGHT - 12}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
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


def bar_chart(
    title: str, items: Sequence[tuple[str, float]], value_text: Sequence[str] | None = None
) -> Markup:
    """Return a horizontal bar chart of (label, value); `value_text` replaces the numbers."""
    height = PAD_TOP + BAR_ROW * max(len(items), 1) + 8
    top = max((value for _, value in items), default=0) or 1
    span = WIDTH - BAR_LABEL - 70
    body = [f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>']
    for row, (label, value) in enumerate(items):
        y = PAD_TOP + row * BAR_ROW
        shown = value_text[row] if value_text else f"{value:g}"
        length = span * value / top
        body.append(
            f'<text x="{BAR_LABEL - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{BAR_LABEL}" y="{y + 3}" width="{length:.1f}" height="16" '
            f'fill="{COLOURS[1]}"/>'
            f'<text x="{BAR_LABEL + length + 4:.1f}" y="{y + 15}">{escape(shown)}</text>'
        )
    if not items:
        body.append(f'<text x="{BAR_LABEL}" y="{PAD_TOP + 15}">暂无数据</text>')
    return _svg(title, height, body)
