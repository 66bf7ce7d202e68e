"""Trend charts as inline SVG, drawn on the server: no script in the browser, the same drawing in the PDF.

Pure functions. A chart is a titled image (`role="img"` with a title and a description that states the
first and last values), so a screen reader gets the trend in words.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import datetime
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 520, 160
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 10, 22
_ids = itertools.count()


def _bounds(values: Sequence[float], target: float | None) -> tuple[float, float]:
    """The y range: the data and the target, padded, and from 0 when everything is positive."""
    span = [*values, *([target] if target is not None else [])]
    low, high = min(span), max(span)
    low = min(low, 0.0)
    if high == low:
        high = low + 1.0
    return low, high + (high - low) * 0.05


def line_chart(
    points: Sequence[tuple[datetime, float | None]],
    *,
    title: str,
    fmt: Callable[[float], str],
    target: float | None = None,
) -> Markup:
    """An SVG line chart of `points` (None: no value, a gap in the line) with an optional target line."""
    n = next(_ids)
    known = [(t, v) for t, v in points if v is not None]
    desc = "no stored value in this period"
    if known:
        (t0, v0), (t1, v1) = known[0], known[-1]
        desc = f"from {fmt(v0)} on {t0:%Y-%m-%d} to {fmt(v1)} on {t1:%Y-%m-%d}"
    if target is not None:
        desc += f"; target {fmt(target)}"
    head = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-{n}-t chart-{n}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="chart-{n}-t">{escape(title)}</title><desc id="chart-{n}-d">{escape(desc)}</desc>'
    )
    if not known or len(points) < 2:
        body = f'<text x="{LEFT}" y="{HEIGHT // 2}">{escape(desc)}</text>'
        return Markup(head + body + "</svg>")
    low, high = _bounds([v for _, v in known], target)
    width, height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + width * i / (len(points) - 1)

    def y(v: float) -> float:
        return TOP + height * (1 - (v - low) / (high - low))

    parts = [
        f'<line class="axis" x1="{LEFT}" y1="{TOP + height}" x2="{LEFT + width}" y2="{TOP + height}"/>',
        f'<text x="2" y="{TOP + 8}">{escape(fmt(high))}</text>',
        f'<text x="2" y="{TOP + height}">{escape(fmt(low))}</text>',
        f'<text x="{LEFT}" y="{HEIGHT - 4}">{points[0][0]:%Y-%m-%d}</text>',
        f'<text x="{LEFT + width - 64}" y="{HEIGHT - 4}">{points[-1][0]:%Y-%m-%d}</text>',
    ]
    if target is not None:
        level = f"{y(target):.1f}"
        parts.append(f'<line class="target" x1="{LEFT}" y1="{level}" x2="{LEFT + width}" y2="{level}"/>')
    for run in _runs(points):
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in run)
        if len(run) == 1:
            i, v = run[0]
            parts.append(f'<circle class="dot" cx="{x(i):.1f}" cy="{y(v):.1f}" r="2"/>')
        else:
            parts.append(f'<polyline class="line" points="{coords}"/>')
    return Markup(head + "".join(parts) + "</svg>")


def _runs(points: Sequence[tuple[datetime, float | None]]) -> list[list[tuple[int, float]]]:
    """Consecutive known values, so a step without a stored snapshot breaks the line instead of bridging."""
    runs: list[list[tuple[int, float]]] = [[]]
    for i, (_, v) in enumerate(points):
        if v is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((i, v))
    return [r for r in runs if r]
