"""The GPA trend as a small server-drawn SVG (no chart library, no script, nothing from a CDN)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def gpa_trend_svg(points: Sequence[tuple[str, float | None]], *, top: float = 4.0, width: int = 560,
                  height: int = 220) -> str:
    """A line of per-term GPA; terms without a GPA are skipped. Values 0…``top``."""
    pts = [(t, v) for t, v in points if v is not None]
    pad_l, pad_r, pad_t, pad_b = 40, 44, 16, 44
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="gpa-chart" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}"><title>GPA per term</title>']
    for i in range(5):
        y = pad_t + h - h * i / 4
        parts.append(f'<line x1="{pad_l}" y1="{y:.1f}" x2="{pad_l + w}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{pad_l - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{top * i / 4:.1f}</text>')
    if not pts:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="axis">no GPA yet</text>')
        return "".join(parts) + "</svg>"
    step = w / max(len(pts) - 1, 1)
    xy = [(pad_l + (step * i if len(pts) > 1 else w / 2), pad_t + h - h * min(max(v, 0.0), top) / top)
          for i, (_, v) in enumerate(pts)]
    parts.append('<polyline class="line" points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in xy) + '"/>')
    for (term, v), (x, y) in zip(pts, xy, strict=True):
        parts.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="4"><title>{escape(term)}: {v:.2f}</title>'
                     f'</circle><text x="{x:.1f}" y="{y - 9:.1f}" text-anchor="middle" class="value">{v:.2f}</text>'
                     f'<text x="{x:.1f}" y="{pad_t + h + 18}" text-anchor="middle" class="axis">{escape(term)}</text>')
    return "".join(parts) + "</svg>"
