"""Small server-side SVG line charts: the portal ships no JavaScript chart library."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

COLORS = ("#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2")
_W, _H, _PAD = 560, 180, 32


def line_chart(
    title: str, series: Mapping[str, Sequence[tuple[float, float]]], step: bool = False
) -> str:
    """An SVG of one line per series of ``(x, y)`` points (x: unix time), with a legend.
    ``step`` draws a staircase (a replica count holds until the next change)."""
    points = [p for values in series.values() for p in values]
    if not points:
        return f'<p class="muted">{escape(title)}: no data yet.</p>'
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y1 = max(max(p[1] for p in points), 1.0)
    span = (x1 - x0) or 1.0

    def xy(x: float, y: float) -> str:
        px = _PAD + (x - x0) / span * (_W - 2 * _PAD)
        py = _H - _PAD - y / y1 * (_H - 2 * _PAD)
        return f"{px:.1f},{py:.1f}"

    parts = [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" aria-label="{escape(title)}">',
        f'<text x="{_PAD}" y="16" class="chart-title">{escape(title)}</text>',
        f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - _PAD}" y2="{_H - _PAD}" class="axis"/>',
        f'<line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" y2="{_H - _PAD}" class="axis"/>',
        f'<text x="4" y="{_PAD + 4}" class="tick">{y1:g}</text>',
        f'<text x="4" y="{_H - _PAD}" class="tick">0</text>',
        f'<text x="{_W - _PAD}" y="{_H - 8}" class="tick" text-anchor="end">'
        f"{_seconds(x1 - x0)}</text>",
    ]
    for index, (name, values) in enumerate(series.items()):
        color = COLORS[index % len(COLORS)]
        coords: list[str] = []
        for i, (x, y) in enumerate(values):
            if step and i:
                coords.append(xy(x, values[i - 1][1]))
            coords.append(xy(x, y))
        parts.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{" ".join(coords)}"/>'
        )
        parts.append(
            f'<text x="{_W // 2 + 50 * index}" y="16" fill="{color}" class="tick">'
            f"{escape(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _seconds(span: float) -> str:
    """The time axis's length: tenths below ten seconds, so a short burst does not read 0 s."""
    return f"{span:.1f} s" if span < 10 else f"{span:.0f} s"
