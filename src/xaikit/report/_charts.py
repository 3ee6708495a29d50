"""Inline SVG charts of the global result kinds, drawn in Python: importance bars with interval
whiskers, effect curves (average, ICE lines, band, decile rug), categorical effects and 2-D heat maps.

Every name is escaped; numbers read back by a reader (or a test) sit in ``data-*`` attributes with
6 significant digits, pixel coordinates with one decimal.

>>> svg = interval_bars_svg(["a", "<b>"], np.array([2.0, -0.5]), np.array([1.5, -1.0]), np.array([2.5, 0.0]))
>>> svg.count('class="xk-ibar"'), svg.count('class="xk-err"'), "&lt;b&gt;" in svg
(2, 2, True)
>>> ticks(-1.3, 2.2)
[-1.0, 0.0, 1.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xaikit.plots import style
from xaikit.report._encode import esc, fmt
from xaikit.report._svg import short

__all__ = ["categorical_svg", "heatmap_svg", "interval_bars_svg", "line_svg", "num", "ticks"]

_ROW = 22
_BAR_WIDTH = 420
#: Size of one effect chart (pixels of its viewBox).
EFFECT_WIDTH, EFFECT_HEIGHT = 380, 250
_LEFT, _RIGHT, _TOP, _BOTTOM = 58, 14, 12, 50
#: Colour of the ICE lines.
ICE_COLOUR = "#999999"
#: Most categories one categorical chart labels (all are drawn).
MAX_CATEGORY_LABELS = 40


def num(value: float) -> str:
    """A number for a ``data-*`` attribute: 6 significant digits, ``nan`` when not finite.

    >>> num(1 / 3), num(float("inf"))
    ('0.333333', 'nan')
    """
    value = float(value)
    return f"{value:.6g}" if np.isfinite(value) else "nan"


def _nums(values: np.ndarray) -> str:
    return " ".join(num(v) for v in np.asarray(values, dtype=np.float64).ravel().tolist())


def ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[lo, hi]`` (steps of 1, 2, 2.5 or 5 times a power of ten).

    >>> ticks(0.0, 4.0)
    [0.0, 1.0, 2.0, 3.0, 4.0]
    """
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return [float(lo)] if np.isfinite(lo) else []
    span = hi - lo
    raw = span / count
    magnitude = 10.0 ** np.floor(np.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if raw <= m * magnitude * (1 + 1e-12))
    first, last = int(np.ceil(lo / step - 1e-9)), int(np.floor(hi / step + 1e-9))
    return [0.0 if abs(k * step) < 1e-12 * span else float(k * step) for k in range(first, last + 1)]


def _range(*arrays: np.ndarray | None, include_zero: bool = False) -> tuple[float, float]:
    """The finite range of the arrays, padded by 5 % (a unit around a single value)."""
    finite = [a[np.isfinite(a)] for a in arrays if a is not None]
    values = np.concatenate([f.ravel() for f in finite]) if finite else np.zeros(0)
    if include_zero:
        values = np.append(values, 0.0)
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = float(values.min()), float(values.max())
    if hi - lo <= 1e-12 * max(abs(lo), abs(hi), 1e-300):
        pad = abs(lo) * 0.1 or 1.0
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.05
    return (lo if include_zero and lo == 0 else lo - pad), (hi if include_zero and hi == 0 else hi + pad)


class _Scale:
    """A linear map from data values to pixels."""

    def __init__(self, lo: float, hi: float, start: float, end: float) -> None:
        self.lo, self.hi, self.start, self.end = lo, hi, start, end

    def __call__(self, value: float | np.ndarray) -> np.ndarray:
        return self.start + (np.asarray(value, dtype=np.float64) - self.lo) / (self.hi - self.lo) * (self.end - self.start)


def _path(x: np.ndarray, y: np.ndarray) -> str:
    """``M x,y L x,y ...`` over the finite points (a gap in the data starts a new subpath)."""
    out, pen = [], "M"
    for a, b in zip(x.tolist(), y.tolist()):
        if not (np.isfinite(a) and np.isfinite(b)):
            pen = "M"
            continue
        out.append(f"{pen}{a:.1f},{b:.1f}")
        pen = "L"
    return "".join(out)


# ----------------------------------------------------------------------------- importance


def interval_bars_svg(names: Sequence[str], means: np.ndarray, lower: np.ndarray | None, upper: np.ndarray | None, *, title: str = "importance") -> str:
    """Horizontal bars of ``means`` (one per name, in the order given) from 0, with whiskers from
    ``lower`` to ``upper`` where both are finite. Negative means go left of the zero line. Each row is
    a ``<g class="xk-ibar">`` whose ``data-feature``, ``data-mean``, ``data-lower``, ``data-upper``
    hold its numbers."""
    k = len(names)
    lo_arr = np.full(k, np.nan) if lower is None else np.asarray(lower, dtype=np.float64)
    hi_arr = np.full(k, np.nan) if upper is None else np.asarray(upper, dtype=np.float64)
    lo, hi = _range(np.asarray(means, dtype=np.float64), lo_arr, hi_arr, include_zero=True)
    label_w = min(280, 12 + 7 * max((len(short(n)) for n in names), default=4))
    width, height = label_w + _BAR_WIDTH + 130, _ROW * k + 34
    x = _Scale(lo, hi, label_w, label_w + _BAR_WIDTH)
    zero = float(x(0.0))
    parts = [
        f'<svg class="xk-chart xk-ibars" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{esc(title)}</title>'
    ]
    for i, name in enumerate(names):
        y = 6 + i * _ROW
        m, a, b = float(means[i]), float(lo_arr[i]), float(hi_arr[i])
        has_ci = bool(np.isfinite(a) and np.isfinite(b))
        left, right = sorted((zero, float(x(m))))
        ci_text = f" [{fmt(a)}, {fmt(b)}]" if has_ci else ""
        parts.append(
            f'<g class="xk-ibar" data-feature="{esc(name)}" data-mean="{num(m)}" data-lower="{num(a)}" data-upper="{num(b)}">'
            f'<text class="xk-label" x="{label_w - 6}" y="{y + 14}" text-anchor="end"><title>{esc(name)}</title>{esc(short(name))}</text>'
            f'<rect class="xk-bar" x="{left:.1f}" y="{y + 3}" width="{max(right - left, 0.5):.1f}" height="{_ROW - 6}" '
            f'fill="{style.NEUTRAL if m >= 0 else "#c8c8c8"}"><title>{esc(name)}: {esc(fmt(m))}{esc(ci_text)}</title></rect>'
        )
        end = max(right, zero)
        if has_ci and b > a:
            xa, xb, mid = float(x(a)), float(x(b)), y + _ROW / 2
            parts.append(
                f'<path class="xk-err" d="M{xa:.1f},{mid:.1f}H{xb:.1f}M{xa:.1f},{mid - 4:.1f}V{mid + 4:.1f}M{xb:.1f},{mid - 4:.1f}V{mid + 4:.1f}" '
                'stroke="#000" stroke-width="1.2" fill="none"/>'
            )
            end = max(end, xb)
        parts.append(f'<text class="xk-num" x="{end + 5:.1f}" y="{y + 14}">{esc(fmt(m) + ci_text)}</text></g>')
    axis_y = 6 + k * _ROW + 4
    parts.append(f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="4" y2="{axis_y}" stroke="#444"/>')
    parts.append(f'<line x1="{label_w}" x2="{label_w + _BAR_WIDTH}" y1="{axis_y}" y2="{axis_y}" stroke="#444"/>')
    for v in ticks(lo, hi):
        px = float(x(v))
        parts.append(
            f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{axis_y}" y2="{axis_y + 4}" stroke="#444"/>'
            f'<text class="xk-tick" x="{px:.1f}" y="{axis_y + 16}" text-anchor="middle">{fmt(v, 3)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


# ----------------------------------------------------------------------------- effects


def _frame(x: _Scale | None, y: _Scale, x_label: str, y_label: str, *, x_ticks: bool = True) -> list[str]:
    """Axes lines, ticks and labels of an effect chart."""
    bottom, right = EFFECT_HEIGHT - _BOTTOM, EFFECT_WIDTH - _RIGHT
    out = [
        f'<line x1="{_LEFT}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#444"/>',
        f'<line x1="{_LEFT}" x2="{_LEFT}" y1="{_TOP}" y2="{bottom}" stroke="#444"/>',
    ]
    for v in ticks(y.lo, y.hi, 4):
        py = float(y(v))
        out.append(
            f'<line x1="{_LEFT - 4}" x2="{_LEFT}" y1="{py:.1f}" y2="{py:.1f}" stroke="#444"/>'
            f'<text class="xk-tick" x="{_LEFT - 6}" y="{py + 4:.1f}" text-anchor="end">{fmt(v, 3)}</text>'
        )
    if x is not None and x_ticks:
        for v in ticks(x.lo, x.hi, 5):
            px = float(x(v))
            out.append(
                f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{bottom}" y2="{bottom + 4}" stroke="#444"/>'
                f'<text class="xk-tick" x="{px:.1f}" y="{bottom + 16}" text-anchor="middle">{fmt(v, 3)}</text>'
            )
    out.append(f'<text class="xk-axis-label" x="{(_LEFT + right) / 2:.1f}" y="{EFFECT_HEIGHT - 6}" text-anchor="middle">{esc(short(x_label))}</text>')
    out.append(
        f'<text class="xk-axis-label" x="12" y="{(_TOP + bottom) / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {(_TOP + bottom) / 2:.1f})">{esc(short(y_label))}</text>'
    )
    return out


def _open(kind: str, title: str, extra: str = "") -> str:
    return (
        f'<svg class="xk-chart xk-effect {kind}" role="img" viewBox="0 0 {EFFECT_WIDTH} {EFFECT_HEIGHT}" width="{EFFECT_WIDTH}" '
        f'xmlns="http://www.w3.org/2000/svg"{extra}><title>{esc(title)}</title>'
    )


def _rug(x: _Scale, deciles: np.ndarray | None, *, vertical: bool = False) -> str:
    """Decile ticks along the bottom axis (or the left one)."""
    if deciles is None:
        return ""
    values = deciles[np.isfinite(deciles)]
    values = values[(values >= x.lo) & (values <= x.hi)]
    if values.size == 0:
        return ""
    bottom = EFFECT_HEIGHT - _BOTTOM
    if vertical:
        d = "".join(f"M{_LEFT},{float(x(v)):.1f}h7" for v in values.tolist())
    else:
        d = "".join(f"M{float(x(v)):.1f},{bottom}v-7" for v in values.tolist())
    return f'<path class="xk-rug" d="{d}" data-values="{_nums(values)}" stroke="#333" stroke-width="1.2" fill="none"/>'


def line_svg(
    title: str,
    feature: str,
    y_label: str,
    grid: np.ndarray,
    average: np.ndarray,
    ice: np.ndarray | None,
    lower: np.ndarray | None,
    upper: np.ndarray | None,
    deciles: np.ndarray | None,
) -> str:
    """A 1-D numeric effect: the ``average`` over ``grid`` (vermillion), ``ice`` curves ``(k, g)`` in one
    faint path (one subpath per curve), the ``lower``..``upper`` band filled, the decile rug."""
    y = _Scale(*_range(average, ice, lower, upper), EFFECT_HEIGHT - _BOTTOM, _TOP)
    x = _Scale(*_range(grid), _LEFT, EFFECT_WIDTH - _RIGHT)
    if grid.size > 1:
        x = _Scale(float(grid.min()), float(grid.max()), _LEFT + 4, EFFECT_WIDTH - _RIGHT)
    px = x(grid)
    parts = [_open("xk-line", title)]
    if lower is not None and upper is not None:
        d = _path(np.concatenate([px, px[::-1]]), np.concatenate([y(lower), y(upper)[::-1]])) + "Z"
        parts.append(f'<path class="xk-band" d="{d}" fill="{style.POSITIVE}" fill-opacity="0.2" stroke="none" '
                     f'data-lower="{_nums(lower)}" data-upper="{_nums(upper)}"/>')
    if ice is not None and ice.shape[0]:
        d = "".join(_path(px, y(curve)) for curve in ice)
        parts.append(f'<path class="xk-ice" d="{d}" data-lines="{ice.shape[0]}" stroke="{ICE_COLOUR}" stroke-opacity="0.45" '
                     'stroke-width="0.8" fill="none"/>')
    parts.append(
        f'<path class="xk-avg" d="{_path(px, y(average))}" data-x="{_nums(grid)}" data-y="{_nums(average)}" '
        f'stroke="{style.POSITIVE}" stroke-width="2.2" fill="none"><title>{esc(title)}: from {esc(fmt(average[0]))} to {esc(fmt(average[-1]))}</title></path>'
    )
    parts.append(_rug(x, deciles))
    parts.extend(_frame(x, y, feature, y_label))
    parts.append("</svg>")
    return "".join(parts)


def categorical_svg(
    title: str,
    feature: str,
    y_label: str,
    labels: Sequence[str],
    average: np.ndarray,
    ice: np.ndarray | None,
    lower: np.ndarray | None,
    upper: np.ndarray | None,
) -> str:
    """A categorical effect: one bar per category (from 0), ICE values as short grey dashes, the band
    as whiskers, the category names under the bars (the first :data:`MAX_CATEGORY_LABELS`)."""
    k = len(labels)
    y = _Scale(*_range(average, ice, lower, upper, include_zero=True), EFFECT_HEIGHT - _BOTTOM, _TOP)
    slot = (EFFECT_WIDTH - _RIGHT - _LEFT) / max(k, 1)
    zero = float(y(0.0))
    parts = [_open("xk-categorical", title)]
    long_labels = max((len(s) for s in labels), default=0) > 6 or k > 8
    for i, label in enumerate(labels):
        cx = _LEFT + (i + 0.5) * slot
        v = float(average[i])
        top, bottom = sorted((zero, float(y(v))))
        parts.append(
            f'<rect class="xk-cat" x="{cx - slot * 0.3:.1f}" y="{top:.1f}" width="{slot * 0.6:.1f}" height="{max(bottom - top, 0.5):.1f}" '
            f'fill="{style.POSITIVE}" data-label="{esc(label)}" data-value="{num(v)}"><title>{esc(label)}: {esc(fmt(v))}</title></rect>'
        )
        if lower is not None and upper is not None:
            a, b = float(y(lower[i])), float(y(upper[i]))
            parts.append(f'<path class="xk-err" d="M{cx:.1f},{a:.1f}V{b:.1f}M{cx - 3:.1f},{a:.1f}h6M{cx - 3:.1f},{b:.1f}h6" stroke="#333" fill="none"/>')
        if i < MAX_CATEGORY_LABELS:
            ty = EFFECT_HEIGHT - _BOTTOM + 14
            rotate = f' transform="rotate(-35 {cx:.1f} {ty})"' if long_labels else ""
            anchor = "end" if long_labels else "middle"
            parts.append(f'<text class="xk-tick" x="{cx:.1f}" y="{ty}" text-anchor="{anchor}"{rotate}>{esc(short(label, 14))}</text>')
    if ice is not None and ice.shape[0]:
        w = min(6.0, slot * 0.5)
        d = "".join(
            f"M{_LEFT + (i + 0.5) * slot - w / 2:.1f},{float(y(v)):.1f}h{w:.1f}"
            for i in range(k) for v in ice[:, i].tolist() if np.isfinite(v)
        )
        parts.append(f'<path class="xk-ice" d="{d}" data-lines="{ice.shape[0]}" stroke="#555" stroke-opacity="0.5" fill="none"/>')
    parts.append(f'<line x1="{_LEFT}" x2="{EFFECT_WIDTH - _RIGHT}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="#888" stroke-dasharray="3,3"/>')
    parts.extend(_frame(None, y, "" if long_labels else feature, y_label, x_ticks=False))
    if long_labels:
        parts.append(f'<text class="xk-axis-label" x="{EFFECT_WIDTH - _RIGHT}" y="{_TOP + 10}" text-anchor="end">{esc(short(feature))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges around grid values (midpoints; half a step beyond the ends; a unit around one value)."""
    if values.size == 1:
        return np.array([values[0] - 0.5, values[0] + 0.5])
    mids = (values[1:] + values[:-1]) / 2
    return np.concatenate([[values[0] - (mids[0] - values[0])], mids, [values[-1] + (values[-1] - mids[-1])]])


def _solid(values: np.ndarray, centre: float, spread: float) -> list[str]:
    """Opaque hex colours of a diverging scale around ``centre`` (white) toward vermillion above and blue below."""
    rgba = style.diverging_rgba(values - centre, vmax=spread)
    rgb = rgba[..., :3] * rgba[..., 3:4] + (1.0 - rgba[..., 3:4])
    codes = np.clip(np.round(rgb * 255), 0, 255).astype(np.int64).reshape(-1, 3)
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in codes.tolist()]


def heatmap_svg(
    title: str,
    features: Sequence[str],
    values: Sequence[np.ndarray],
    labels: Sequence[Sequence[str] | None],
    z: np.ndarray,
    deciles: Sequence[np.ndarray] | None,
    *,
    max_cells: int = 24,
) -> str:
    """A 2-D effect ``z`` (g1, g2) as coloured cells (first feature across, second up), on a diverging
    scale around the mean of ``z`` (white) with a colour key; categorical axes are labelled by
    category. At most ``max_cells`` grid values per axis are drawn (evenly chosen); ``data-min``,
    ``data-max`` and ``data-centre`` of the chart give the scale."""
    keep = [np.unique(np.linspace(0, len(v) - 1, min(len(v), max_cells)).round().astype(np.intp)) for v in values]
    coords = [np.arange(len(v), dtype=np.float64) if labels[k] is not None else np.asarray(v, dtype=np.float64) for k, v in enumerate(values)]
    sub = z[np.ix_(keep[0], keep[1])]
    shown = [coords[k][keep[k]] for k in range(2)]
    edges = [_edges(s) for s in shown]
    plot_right = EFFECT_WIDTH - _RIGHT - 58
    x = _Scale(float(edges[0][0]), float(edges[0][-1]), _LEFT, plot_right)
    y = _Scale(float(edges[1][0]), float(edges[1][-1]), EFFECT_HEIGHT - _BOTTOM, _TOP)
    centre = float(np.mean(z))
    spread = float(np.max(np.abs(z - centre))) or 1.0
    colours = _solid(sub, centre, spread)
    zmin, zmax = float(np.min(z)), float(np.max(z))
    extra = f' data-min="{num(zmin)}" data-max="{num(zmax)}" data-centre="{num(centre)}" data-cells="{sub.shape[0]}x{sub.shape[1]}"'
    parts = [_open("xk-heatmap", title, extra)]
    xe, ye = x(edges[0]), y(edges[1])
    for a in range(sub.shape[0]):
        for b in range(sub.shape[1]):
            parts.append(
                f'<rect x="{xe[a]:.1f}" y="{ye[b + 1]:.1f}" width="{xe[a + 1] - xe[a]:.1f}" height="{ye[b] - ye[b + 1]:.1f}" '
                f'fill="{colours[a * sub.shape[1] + b]}"><title>{esc(fmt(sub[a, b]))}</title></rect>'
            )
    bottom = EFFECT_HEIGHT - _BOTTOM
    for k, (scale, fixed) in enumerate(((x, bottom), (y, _LEFT))):
        names = labels[k]
        if names is not None:
            idx = keep[k][:: max(1, -(-len(keep[k]) // 8))]
            points = [(float(i), short(names[i], 10)) for i in idx.tolist()]
        else:
            points = [(v, fmt(v, 3)) for v in ticks(scale.lo, scale.hi, 4)]
        for v, text in points:
            p = float(scale(v))
            if k == 0:
                parts.append(f'<line x1="{p:.1f}" x2="{p:.1f}" y1="{fixed}" y2="{fixed + 4}" stroke="#444"/>'
                             f'<text class="xk-tick" x="{p:.1f}" y="{fixed + 16}" text-anchor="middle">{esc(text)}</text>')
            else:
                parts.append(f'<line x1="{fixed - 4}" x2="{fixed}" y1="{p:.1f}" y2="{p:.1f}" stroke="#444"/>'
                             f'<text class="xk-tick" x="{fixed - 6}" y="{p + 4:.1f}" text-anchor="end">{esc(text)}</text>')
    if deciles is not None:
        if labels[0] is None:
            parts.append(_rug(x, deciles[0]))
        if labels[1] is None:
            parts.append(_rug(y, deciles[1], vertical=True))
    # the colour key: nine steps from centre - spread (blue) to centre + spread (vermillion)
    steps = np.linspace(centre + spread, centre - spread, 9)
    key_x, key_h = plot_right + 10, (bottom - _TOP) / 9
    for i, colour in enumerate(_solid(steps, centre, spread)):
        parts.append(f'<rect class="xk-key" x="{key_x}" y="{_TOP + i * key_h:.1f}" width="12" height="{key_h + 0.3:.1f}" fill="{colour}"/>')
    for v, py in ((centre + spread, _TOP + 8), (centre, (_TOP + bottom) / 2 + 4), (centre - spread, bottom)):
        parts.append(f'<text class="xk-tick" x="{key_x + 15}" y="{py:.1f}">{esc(fmt(v, 3))}</text>')
    centre_x = (_LEFT + plot_right) / 2
    parts.append(f'<text class="xk-axis-label" x="{centre_x:.1f}" y="{EFFECT_HEIGHT - 6}" text-anchor="middle">{esc(short(features[0]))}</text>')
    mid = (_TOP + bottom) / 2
    parts.append(f'<text class="xk-axis-label" x="12" y="{mid:.1f}" text-anchor="middle" transform="rotate(-90 12 {mid:.1f})">{esc(short(features[1]))}</text>')
    parts.append("</svg>")
    return "".join(parts)
