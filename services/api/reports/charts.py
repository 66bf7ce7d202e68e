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
# Presentation attributes, not CSS: the page's CSP allows no inline style, and the PDF renderer's SVG
# drawing does not read stylesheet properties such as `stroke`.
INK, AXIS, TARGET, LABEL = "#0b5cad", 'stroke="#d0d6de"', 'stroke="#a8151b" stroke-dasharray="4 3"', "#4a5360"


def _text(x: float, y: float, text: str) -> str:
    return f'<text fill="{LABEL}" font-size="11" x="{x:.0f}" y="{y:.0f}">{escape(text)}</text>'


def _line(kind: str, paint: str, x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line class="{kind}" {paint} x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>'


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
        body = _text(LEFT, HEIGHT // 2, desc)
        return Markup(head + body + "</svg>")
    low, high = _bounds([v for _, v in known], target)
    width, height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + width * i / (len(points) - 1)

    def y(v: float) -> float:
        return TOP + height * (1 - (v - low) / (high - low))

    parts = [
        _line("axis", AXIS, LEFT, TOP + height, LEFT + width, TOP + height),
        _text(2, TOP + 8, fmt(high)),
        _text(2, TOP + height, fmt(low)),
        _text(LEFT, HEIGHT - 4, f"{points[0][0]:%Y-%m-%d}"),
        _text(LEFT + width - 64, HEIGHT - 4, f"{points[-1][0]:%Y-%m-%d}"),
    ]
    if target is not None:
        parts.append(_line("target", TARGET, LEFT, y(target), LEFT + width, y(target)))
    for run in _runs(points):
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in run)
        if len(run) == 1:
            i, v = run[0]
            parts.append(f'<circle class="dot" fill="{INK}" cx="{x(i):.1f}" cy="{y(v):.1f}" r="2"/>')
        else:
            paint = f'fill="none" stroke="{INK}" stroke-width="2"'
            parts.append(f'<polyline class="line" {paint} points="{coords}"/>')
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
