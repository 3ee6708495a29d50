"""Inline SVG charts drawn by the report in Python (the per-row waterfall is drawn by the page's script).

>>> svg = importance_svg(["a", "<b>"], np.array([2.0, 1.0]), np.array([0.1, 0.2]))
>>> svg.count('class="xk-bar"'), svg.count('class="xk-err"'), "&lt;b&gt;" in svg
(2, 2, True)
"""

from __future__ import annotations

import numpy as np

from xaikit.plots import style
from xaikit.report._encode import esc, fmt

__all__ = ["importance_svg", "nice_ticks", "short"]

ROW_HEIGHT = 22
CHART_WIDTH = 460
MAX_LABEL = 40


def short(name: str, limit: int = MAX_LABEL) -> str:
    """``name`` cut to ``limit`` characters with an ellipsis.

    >>> short("abcdef", 4)
    'abc…'
    """
    return name if len(name) <= limit else name[: limit - 1] + "…"


def nice_ticks(vmax: float) -> list[float]:
    """Round tick positions from 0 to ``vmax`` (steps of 1, 2, 2.5 or 5 times a power of ten).

    >>> nice_ticks(1.21)
    [0.0, 0.25, 0.5, 0.75, 1.0]
    >>> nice_ticks(4.0)
    [0.0, 1.0, 2.0, 3.0, 4.0]
    """
    if not vmax > 0 or not np.isfinite(vmax):
        return [0.0]
    raw = vmax / 5
    magnitude = 10.0 ** np.floor(np.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if raw <= m * magnitude)
    count = int(np.floor(vmax / step * (1 + 1e-12)))
    return [float(k * step) for k in range(count + 1)]


def importance_svg(names: list[str], scores: np.ndarray, errors: np.ndarray | None = None, *, top: int = 20, rest_label: str = "",
                   title: str = "mean |value| by feature") -> str:
    """A horizontal bar chart of ``scores`` (one per name, already sorted as they should appear), with
    error bars of half-width ``errors`` where given. Only the first ``top`` bars are drawn; when there
    are more, one grey bar ``rest_label`` sums the others. Every name, and ``title``, is escaped."""
    shown = list(zip(names[:top], scores[:top].tolist(), (errors[:top].tolist() if errors is not None else [None] * min(top, len(names)))))
    rest = len(names) - len(shown)
    if rest > 0:
        shown.append((rest_label or f"{rest} other features (sum)", float(np.sum(scores[top:])), None))
    label_w = min(280, 12 + 7 * max((len(short(n)) for n, _, _ in shown), default=4))
    value_w = 150
    width = label_w + CHART_WIDTH + value_w
    height = ROW_HEIGHT * len(shown) + 34
    tops = [s + (e or 0.0) for _, s, e in shown]
    vmax = max(max(tops, default=0.0), 1e-300)
    scale = CHART_WIDTH / vmax
    parts = [
        f'<svg class="xk-chart xk-importance" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{esc(title)}</title>'
    ]
    for i, (name, score, err) in enumerate(shown):
        y = 6 + i * ROW_HEIGHT
        is_rest = rest > 0 and i == len(shown) - 1
        fill = "#cccccc" if is_rest else style.NEUTRAL
        bar_w = max(score * scale, 0.5)
        parts.append(
            f'<text class="xk-label" x="{label_w - 6}" y="{y + 14}" text-anchor="end"><title>{esc(name)}</title>{esc(short(name))}</text>'
            f'<rect class="xk-bar" x="{label_w}" y="{y + 3}" width="{bar_w:.2f}" height="{ROW_HEIGHT - 6}" fill="{fill}">'
            f"<title>{esc(name)}: {fmt(score)}{'' if err is None else ' ± ' + fmt(err)}</title></rect>"
        )
        end = label_w + bar_w
        if err is not None and err > 0:
            lo, hi = label_w + max(score - err, 0.0) * scale, label_w + (score + err) * scale
            mid = y + ROW_HEIGHT / 2
            parts.append(
                f'<path class="xk-err" d="M{lo:.2f},{mid:.1f}H{hi:.2f}M{lo:.2f},{mid - 4:.1f}V{mid + 4:.1f}M{hi:.2f},{mid - 4:.1f}V{mid + 4:.1f}" '
                'stroke="#000" stroke-width="1.2" fill="none"/>'
            )
            end = max(end, hi)
        text = fmt(score) + ("" if err is None or err <= 0 else f" ± {fmt(err, 2)}")
        parts.append(f'<text class="xk-num" x="{end + 5:.2f}" y="{y + 14}">{esc(text)}</text>')
    axis_y = 6 + len(shown) * ROW_HEIGHT + 4
    parts.append(f'<line x1="{label_w}" x2="{label_w + CHART_WIDTH}" y1="{axis_y}" y2="{axis_y}" stroke="#444"/>')
    for v in nice_ticks(vmax):
        x = label_w + v * scale
        parts.append(
            f'<line x1="{x:.2f}" x2="{x:.2f}" y1="{axis_y}" y2="{axis_y + 4}" stroke="#444"/>'
            f'<text class="xk-tick" x="{x:.2f}" y="{axis_y + 16}" text-anchor="middle">{fmt(v, 3)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
