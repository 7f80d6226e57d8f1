"""Small SVG charts drawn on the server (no chart library, nothing to vendor).

Plain shapes with a ``<title>`` on each bar (the browser shows it on hover and screen
readers read it) and a text summary beside every chart in the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

INK, MUTED, LINE = "#1d2430", "#5b6676", "#d6dbe3"


def _nice(top: float) -> float:
    """A round axis maximum at or above ``top``."""
    if top <= 0:
        return 1.0
    step = 1.0
    while step * 10 < top:
        step *= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= top:
            return step * factor
    return step * 10


def columns(
    values: Sequence[float],
    labels: Sequence[str],
    *,
    title: str,
    color: str = "#1f5fbf",
    width: int = 1000,
    height: int = 200,
    every: int = 10,
) -> str:
    """Vertical bars over time (``labels`` under every ``every``-th bar)."""
    left, bottom, top_pad = 34, 22, 8
    plot_w, plot_h = width - left - 6, height - bottom - top_pad
    top = _nice(max(values, default=0))
    n = max(len(values), 1)
    slot = plot_w / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - 6}" y2="{top_pad + plot_h}" '
        f'stroke="{LINE}"/>',
    ]
    for tick in (0, top / 2, top):
        y = top_pad + plot_h - plot_h * tick / top
        parts.append(
            f'<text x="{left - 5}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="{MUTED}">{tick:g}</text>'
        )
        if tick:
            parts.append(
                f'<line x1="{left}" y1="{y:.1f}" x2="{width - 6}" y2="{y:.1f}" '
                f'stroke="{LINE}" stroke-dasharray="3 3"/>'
            )
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        h = plot_h * value / top
        x = left + i * slot + slot * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{top_pad + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}" fill="{color}"><title>{escape(label)}: {value:g}</title></rect>'
        )
        if i % every == 0 or i == n - 1:
            anchor = "end" if i == n - 1 else "start" if i == 0 else "middle"
            parts.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{height - 6}" font-size="12" '
                f'text-anchor="{anchor}" fill="{MUTED}">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def bars(
    items: Sequence[tuple[str, float, str]], *, title: str, width: int = 300, unit: str = ""
) -> str:
    """Horizontal bars: ``(label, value, color)`` each, value written at the bar's end."""
    row = 24
    # the label column fits the longest label (up to ~7.5 px a character at 12 px, wide
    # letters included), the plot keeps at least 150 px: a long label widens the picture
    # instead of running off its left edge
    label_w = max(100, 14 + round(7.5 * max((len(label) for label, _, _ in items), default=0)))
    width = max(width, label_w + 200)
    height = max(len(items), 1) * row + 6
    top = _nice(max((v for _, v, _ in items), default=0))
    plot_w = width - label_w - 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">'
    ]
    for i, (label, value, color) in enumerate(items):
        y = 4 + i * row
        w = plot_w * value / top
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" font-size="12" text-anchor="end" '
            f'fill="{INK}">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1.5):.1f}" height="{row - 8}" '
            f'rx="3" fill="{color}"><title>{escape(label)}: {value:g}{unit}</title></rect>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="12" fill="{MUTED}">'
            f"{value:g}{escape(unit)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def pairs(
    items: Sequence[tuple[str, float, float]],
    *,
    title: str,
    names: tuple[str, str],
    colors: tuple[str, str] = ("#1f5fbf", "#9dbbe8"),
    width: int = 300,
    unit: str = "",
) -> str:
    """Two horizontal bars per label (e.g. a team's median and 90th-percentile wait), one
    above the other, each with its value at its end and a legend on top."""
    bar, gap, label_w, legend_h = 11, 10, 100, 20
    row = 2 * bar + gap
    height = legend_h + max(len(items), 1) * row + 4
    top = _nice(max((max(a, b) for _, a, b in items), default=0))
    plot_w = width - label_w - 56
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">'
    ]
    for i, (name, color) in enumerate(zip(names, colors, strict=True)):
        x = label_w + i * 90
        parts.append(
            f'<rect x="{x}" y="4" width="10" height="10" rx="2" fill="{color}"/>'
            f'<text x="{x + 14}" y="13" font-size="11" fill="{MUTED}">{escape(name)}</text>'
        )
    for i, (label, first, second) in enumerate(items):
        y = legend_h + i * row
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar + 4}" font-size="12" text-anchor="end" '
            f'fill="{INK}">{escape(label)}</text>'
        )
        for j, (value, name, color) in enumerate(zip((first, second), names, colors, strict=True)):
            w = plot_w * value / top
            top_y = y + j * bar
            parts.append(
                f'<rect x="{label_w}" y="{top_y + 1}" width="{max(w, 1.5):.1f}" '
                f'height="{bar - 2}" rx="2" fill="{color}"><title>{escape(label)} '
                f"{escape(name)}: {value:g}{escape(unit)}</title></rect>"
                f'<text x="{label_w + w + 5:.1f}" y="{top_y + bar - 2}" font-size="10" '
                f'fill="{MUTED}">{value:g}{escape(unit)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
