"""Report sections of a network's inside: :class:`~xaikit.results.training_dynamics.TrainingDynamics`
(gradient flow, per-layer table, flags, attribution drift), :class:`~xaikit.results.layer_activations.LayerActivations`
(per-layer and per-channel statistics, dead channels), :class:`~xaikit.results.weight_statistics.WeightStatistics`
(norms, statistics, the first convolution's filters) and :class:`~xaikit.results.feature_visualization.FeatureVisualization`
(the image and its objective over the steps).

Charts are inline SVG drawn here; small images are PNG data URIs. Every name is escaped and every
part is bounded (the ``MAX_*`` limits below) whatever the size of the network. Numbers a reader or a
test reads back sit in ``data-*`` attributes with 6 significant digits.

>>> import numpy as np
>>> from xaikit.results.training_dynamics import TrainingDynamics
>>> g = np.array([[1.0, 2.0, 1e-4], [1.0, 2.0, 1e-5], [1.0, 2.0, 1e-6]])
>>> dyn = TrainingDynamics(grad_norm=g, weight_norm=np.ones((3, 3)), update_ratio=np.full((3, 3), np.nan),
...     dead_share=np.zeros((3, 3)), step=[0, 10, 20], layer_names=["fc1", "<fc2>", "fc3"], method="demo")
>>> html = internals_part(dyn, include_data=False)
>>> html.count('class="xk-flow"'), html.count('class="xk-flag-item"'), "&lt;fc2&gt;" in html, "<fc2>" in html
(3, 1, True, False)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.report._charts import _path, _Scale, interval_bars_svg, line_svg, num, ticks
from xaikit.report._encode import esc, fmt, png_data_uri
from xaikit.report._svg import short

__all__ = [
    "INTERNAL_KINDS",
    "MAX_CHANNELS",
    "MAX_DRIFT_ROWS",
    "MAX_FILTERS",
    "MAX_FLOW_LAYERS",
    "MAX_FLOW_POINTS",
    "MAX_LAYERS",
    "MAX_SNAPSHOTS",
    "MAX_TRACE_POINTS",
    "internal_kinds",
    "internals_part",
    "privacy_text",
    "shape_text",
]

#: Most layers drawn in the gradient-flow chart (the table lists up to :data:`MAX_LAYERS`).
MAX_FLOW_LAYERS = 40
#: Most recorded steps drawn per line of the gradient-flow chart (evenly chosen; flag starts always kept).
MAX_FLOW_POINTS = 400
#: Most layers in a table, and in the weight-norm chart.
MAX_LAYERS = 100
#: Most attribution snapshots drawn (evenly spread, the first and last kept), and probe rows drawn.
MAX_SNAPSHOTS = 8
MAX_DRIFT_ROWS = 4
#: Most rows of the attribution-drift table (evenly chosen snapshots).
MAX_DRIFT_TABLE = 100
#: Most channels listed per layer (dead ones first, then the most saturated, then in order).
MAX_CHANNELS = 16
#: Most layers given a channel table, and channel names listed as dead or saturated.
MAX_CHANNEL_LAYERS = 30
MAX_NAMED = 100
#: Most feature maps (channels) of one layer drawn with ``include_data=True``.
MAX_MAP_CHANNELS = 16
#: Most filters of the first convolution drawn.
MAX_FILTERS = 64
#: Most points of the objective's trace drawn (evenly chosen, the last kept).
MAX_TRACE_POINTS = 1000
#: Largest side (pixels of the data) of one drawn map or image; larger ones are subsampled.
MAX_SIDE = 64
#: Share of a channel's values near the bounds from which it is called saturated.
SATURATED = 0.5
#: Side (pixels) small images are enlarged to (nearest neighbour), and of one drawn filter.
_MIN_SIDE = 128
_FILTER_SIDE = 48
#: Colours of the gradient-flow lines (Okabe-Ito, yellow left out), then dash patterns when they run out.
_PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
_DASHES = ("", "6,3", "2,2", "8,3,2,3")
_FLOW_W, _FLOW_H, _FL, _FR, _FT, _FB = 640, 300, 64, 16, 14, 44


def internal_kinds() -> tuple[type, ...]:
    """The result kinds drawn here."""
    from xaikit.results.feature_visualization import FeatureVisualization
    from xaikit.results.layer_activations import LayerActivations
    from xaikit.results.training_dynamics import TrainingDynamics
    from xaikit.results.weight_statistics import WeightStatistics

    return (TrainingDynamics, LayerActivations, WeightStatistics, FeatureVisualization)


INTERNAL_KINDS = internal_kinds()


def _check(result: Any, include_data: Any) -> str:
    if not isinstance(result, INTERNAL_KINDS):
        names = ", ".join(k.__name__ for k in INTERNAL_KINDS)
        raise InvalidParameterError(f"result: expected one of {names}, got {describe(result)}")
    if not isinstance(include_data, (bool, np.bool_)):
        raise InvalidParameterError(f"include_data: expected True or False, got {describe(include_data)}")
    return type(result).__name__


def internals_part(result: Any, include_data: bool) -> str:
    """The HTML (escaped, bounded) of the section body of a TrainingDynamics, LayerActivations,
    WeightStatistics or FeatureVisualization."""
    kind = _check(result, include_data)
    if kind == "TrainingDynamics":
        return _training_part(result)
    if kind == "LayerActivations":
        return _activations_part(result, bool(include_data))
    if kind == "WeightStatistics":
        return _weights_part(result)
    return _visualization_part(result)


def shape_text(result: Any) -> str:
    """What the result summarises, in words."""
    kind = _check(result, False)
    if kind == "TrainingDynamics":
        steps = result.step
        span = f" (steps {int(steps[0]):,} to {int(steps[-1]):,})" if len(steps) else ""
        text = f"{result.n_steps:,} records{span} of {len(result.layer_names):,} layers"
        if result.attributions is not None:
            a = result.attributions
            text += f"; {a.shape[0]:,} attribution snapshot(s) of {a.shape[1]:,} probe row(s)"
        return text
    if kind == "LayerActivations":
        rows = result.provenance.get("n_rows")
        over = f" over {int(rows):,} rows" if isinstance(rows, (int, np.integer)) else ""
        return f"{len(result.layer_names):,} layer(s), {len(result.channel_names):,} channels{over}"
    if kind == "WeightStatistics":
        return f"{len(result.layer_names):,} layer(s), {int(np.sum(result.size)):,} weights"
    return f"{result.n_steps:,} optimisation steps; an input of shape {tuple(int(s) for s in result.image.shape)}"


def privacy_text(result: Any, include_data: bool) -> str:
    """What of the data the section holds, in words."""
    kind = _check(result, include_data)
    if kind == "TrainingDynamics":
        text = "No row of the data is in this section: norms and shares per layer and recorded step."
        if result.attributions is not None:
            text += (" The attribution drift shows the explainer's attributions of the probe rows (not the rows themselves); "
                     "attribution maps of images can show the outline of what they explain.")
        return text
    if kind == "LayerActivations":
        text = ("No row of the data is in this section: per-channel statistics pooled over all rows and positions; "
                "top-activating examples are row indices only.")
        if include_data and result.maps is not None:
            text += " With include_data=True the feature maps of row 0 are drawn: they can show the content of that input."
        elif result.maps is not None:
            text += " The full activation maps the result holds are left out (include_data=False)."
        return text
    if kind == "WeightStatistics":
        return "No row of the data is in this section: statistics of the model's weights and its first convolution's filters."
    return "No row of the data is in this section: the image is made by optimisation from random noise, not taken from the data."


# ----------------------------------------------------------------------------- shared


def _num_cell(value: float, cls: str = "") -> str:
    value = float(value)
    klass = f"xk-r {cls}".strip()
    text = "n/a" if not math.isfinite(value) else fmt(value)
    return f'<td class="{klass}" data-value="{num(value)}">{esc(text)}</td>'


def _share_cell(value: float, cls: str = "") -> str:
    value = float(value)
    klass = f"xk-r {cls}".strip()
    text = "n/a" if not math.isfinite(value) else f"{100 * value:.1f}%"
    return f'<td class="{klass}" data-value="{num(value)}">{esc(text)}</td>'


def _evenly(n: int, k: int, keep: Sequence[int] = ()) -> np.ndarray:
    """At most ``k`` (plus ``keep``) indices of ``range(n)``, evenly spread, the first and last included."""
    if n <= k:
        return np.arange(n)
    chosen = np.linspace(0, n - 1, k).round().astype(np.intp)
    return np.unique(np.concatenate([chosen, np.asarray(keep, dtype=np.intp)]))


def _shrink(image: np.ndarray, side: int = MAX_SIDE) -> np.ndarray:
    """A 2-D (or 2-D by colour) image subsampled so that no side is longer than ``side``."""
    rows = _evenly(image.shape[0], side)
    cols = _evenly(image.shape[1], side)
    return image[np.ix_(rows, cols)] if image.ndim == 2 else image[rows][:, cols]


def _enlarge(rgb: np.ndarray, side: int = _MIN_SIDE) -> np.ndarray:
    factor = max(1, -(-side // max(1, min(rgb.shape[:2]))))
    return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1) if factor > 1 else rgb


def _heat_rgb(heat: np.ndarray, vmax: float | None = None) -> np.ndarray:
    """A signed map as uint8 RGB: white at 0, vermillion above, blue below (one scale: ``vmax``)."""
    from xaikit.plots import style

    h = np.asarray(heat, dtype=np.float64)
    return style.overlay(np.ones(h.shape), np.nan_to_num(h), alpha=1.0, vmax=vmax if vmax and vmax > 0 else None)


def _tile(images: np.ndarray, cols: int, gap_value: float = np.nan) -> np.ndarray:
    """Images ``(k, h, w)`` in a grid of ``cols`` columns, one ``gap_value`` line between them."""
    k, h, w = images.shape
    rows = -(-k // cols)
    out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), gap_value)
    for i in range(k):
        r, q = divmod(i, cols)
        out[r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = images[i]
    return out


def _note(text: str) -> str:
    return f'<p class="xk-note">{esc(text)}</p>'


# ----------------------------------------------------------------------------- training dynamics


def _flow_svg(steps: np.ndarray, grad: np.ndarray, names: Sequence[str], flags: dict[str, dict[str, Any]]) -> str:
    """Gradient norm per layer over the steps on a log10 scale: one path per layer (``data-steps``,
    ``data-grad`` hold the drawn numbers), a triangle where a flag starts (down: vanishing, up: exploding)."""
    keep = [int(np.flatnonzero(steps == f["step"])[0]) for f in flags.values() if np.any(steps == f["step"])]
    idx = _evenly(len(steps), MAX_FLOW_POINTS, keep)
    s = steps[idx].astype(np.float64)
    g = grad[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(np.isfinite(g) & (g > 0), np.log10(np.where(g > 0, g, 1.0)), np.nan)
    finite = logs[np.isfinite(logs)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    pad = 0.05 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    cols = 3
    legend_rows = -(-len(names) // cols)
    height = _FLOW_H + 16 + 18 * legend_rows
    bottom, right = _FLOW_H - _FB, _FLOW_W - _FR
    x = _Scale(float(s.min()), float(s.max()), _FL + 4, right) if len(s) > 1 and s.max() > s.min() else _Scale(float(s[0]) - 1, float(s[0]) + 1, _FL, right)
    y = _Scale(lo, hi, bottom, _FT)
    parts = [
        f'<svg class="xk-chart xk-gradient-flow" role="img" viewBox="0 0 {_FLOW_W} {height}" width="{_FLOW_W}" '
        f'xmlns="http://www.w3.org/2000/svg" data-points="{len(idx)}"><title>gradient norm per layer over the training steps (log scale)</title>',
        f'<line x1="{_FL}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#444"/>',
        f'<line x1="{_FL}" x2="{_FL}" y1="{_FT}" y2="{bottom}" stroke="#444"/>',
    ]
    for v in ticks(lo, hi, 5):
        py = float(y(v))
        parts.append(f'<line x1="{_FL - 4}" x2="{_FL}" y1="{py:.1f}" y2="{py:.1f}" stroke="#444"/>'
                     f'<text class="xk-tick" x="{_FL - 6}" y="{py + 4:.1f}" text-anchor="end">{esc(fmt(10.0 ** v, 2))}</text>')
    for v in ticks(x.lo, x.hi, 6):
        tx = float(x(v))
        parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{bottom}" y2="{bottom + 4}" stroke="#444"/>'
                     f'<text class="xk-tick" x="{tx:.1f}" y="{bottom + 16}" text-anchor="middle">{esc(fmt(v, 6))}</text>')
    parts.append(f'<text class="xk-axis-label" x="{(_FL + right) / 2:.1f}" y="{bottom + 34}" text-anchor="middle">training step</text>')
    mid = (_FT + bottom) / 2
    parts.append(f'<text class="xk-axis-label" x="12" y="{mid:.1f}" text-anchor="middle" transform="rotate(-90 12 {mid:.1f})">'
                 "gradient norm (log scale)</text>")
    px = x(s)
    for j, name in enumerate(names):
        colour = _PALETTE[j % len(_PALETTE)]
        flag = flags.get(name)
        dash = "5,3" if flag is not None else _DASHES[(j // len(_PALETTE)) % len(_DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<path class="xk-flow" d="{_path(px, y(logs[:, j]))}" data-layer="{esc(name)}" data-steps="{" ".join(str(int(v)) for v in steps[idx])}" '
            f'data-grad="{" ".join(num(v) for v in g[:, j].tolist())}" stroke="{colour}" stroke-width="1.8" fill="none"{dash_attr}>'
            f"<title>{esc(name)}</title></path>"
        )
        if flag is not None:
            at = np.flatnonzero(steps[idx] == flag["step"])
            if at.size:
                i = int(at[0])
                fx = float(px[i])
                fy = float(y(logs[i, j])) if np.isfinite(logs[i, j]) else (_FT if flag["kind"] == "exploding" else bottom)
                shape = f"M{fx - 6:.1f},{fy - 10:.1f}h12l-6,10z" if flag["kind"] == "vanishing" else f"M{fx - 6:.1f},{fy + 10:.1f}h12l-6,-10z"
                parts.append(
                    f'<path class="xk-flag" d="{shape}" data-layer="{esc(name)}" data-kind="{esc(flag["kind"])}" data-step="{int(flag["step"])}" '
                    f'fill="{colour}" stroke="#000" stroke-width="0.8"><title>{esc(name)}: {esc(flag["kind"])} from step {int(flag["step"]):,}</title></path>'
                )
    for j, name in enumerate(names):
        r, q = divmod(j, cols)
        lx, ly = _FL + q * 190, _FLOW_H + 10 + r * 18
        colour = _PALETTE[j % len(_PALETTE)]
        mark = " \u25bc" if flags.get(name, {}).get("kind") == "vanishing" else " \u25b2" if name in flags else ""
        parts.append(f'<line x1="{lx}" x2="{lx + 18}" y1="{ly - 4}" y2="{ly - 4}" stroke="{colour}" stroke-width="2.5"/>'
                     f'<text class="xk-label" x="{lx + 22}" y="{ly}"><title>{esc(name)}</title>{esc(short(name, 22))}{mark}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _training_part(dyn: Any) -> str:
    names = list(dyn.layer_names)
    steps = np.asarray(dyn.step)
    grad = np.asarray(dyn.grad_norm, dtype=np.float64)
    flags = dyn.flags()
    first_flag: dict[str, dict[str, Any]] = {}
    for f in sorted(flags, key=lambda f: f["step"]):
        first_flag.setdefault(f["layer"], f)
    parts = ['<section class="xk-part xk-training"><h3>Training dynamics</h3>']
    every = dyn.params.get("every")
    every_text = f", one optimiser step in {every}" if isinstance(every, int) else ""
    parts.append(f'<p class="xk-legend">{dyn.n_steps:,} recorded steps{esc(every_text)}. A layer\'s gradient norm is the L2 norm of the '
                 "gradient of all its parameters; the update-to-weight ratio is ||w after - w before|| / ||w before|| of the step's "
                 "update; a unit is dead when it is at most 0 on every row of the step's batch.</p>")
    if dyn.n_steps == 0:
        parts.append(_note("No step was recorded."))
        parts.append("</section>")
        return "".join(parts)
    drawn = names[:MAX_FLOW_LAYERS]
    parts.append("<h4>Gradient flow</h4>")
    parts.append(_flow_svg(steps, grad[:, : len(drawn)], drawn, {k: v for k, v in first_flag.items() if k in drawn}))
    legend = ("Dashed lines and triangles: flagged layers (\u25bc vanishing, \u25b2 exploding), the triangle at the step where it starts. "
              "Gaps: zero or non-finite norms.")
    if len(steps) > MAX_FLOW_POINTS:
        legend += f" {MAX_FLOW_POINTS} of the {len(steps):,} records are drawn, evenly spread (the table reads the last)."
    parts.append(f'<p class="xk-legend">{esc(legend)}</p>')
    if len(names) > len(drawn):
        parts.append(_note(f"The first {MAX_FLOW_LAYERS} of {len(names):,} layers are drawn; the table lists more."))
    parts.append("<h4>Flags</h4>")
    if flags:
        items = []
        for f in flags:
            ratio = f["ratio"]
            how = (f"its gradient norm is {fmt(ratio, 3)} times the median of the layers' there" if math.isfinite(ratio)
                   else "its gradient norm is not finite")
            items.append(f'<li class="xk-flag-item" data-layer="{esc(f["layer"])}" data-kind="{esc(f["kind"])}" data-step="{int(f["step"])}">'
                         f"{esc(str(f['layer']))}: {esc(f['kind'])} from step {int(f['step']):,}; {esc(how)}.</li>")
        parts.append(f'<ul class="xk-flags">{"".join(items[:MAX_LAYERS])}</ul>')
        if len(items) > MAX_LAYERS:
            parts.append(_note(f"{len(items) - MAX_LAYERS:,} more flags are not listed."))
    else:
        parts.append('<p class="xk-no-flags">No layer is flagged: no gradient norm stays two orders of magnitude below or above the '
                     "median of the layers (or its own first value) for half of the later records or more, and none is infinite.</p>")
    last = len(steps) - 1
    rows = []
    for j, name in enumerate(names[:MAX_LAYERS]):
        f = first_flag.get(name)
        flag_text = f"{f['kind']} from step {int(f['step']):,}" if f else "none"
        rows.append(
            f'<tr class="xk-layer-row" data-layer="{esc(name)}"><td>{esc(name)}</td>{_num_cell(grad[last, j], "xk-grad")}'
            f'{_num_cell(dyn.weight_norm[last, j], "xk-weight")}{_num_cell(dyn.update_ratio[last, j], "xk-update")}'
            f'{_share_cell(dyn.dead_share[last, j], "xk-dead")}<td class="xk-flag-cell">{esc(flag_text)}</td></tr>'
        )
    parts.append(f"<h4>{esc(f'Per layer, at the last recorded step ({int(steps[last]):,})')}</h4>")
    parts.append('<table class="xk-table xk-layers"><thead><tr><th>layer</th><th class="xk-r">gradient norm</th><th class="xk-r">weight norm</th>'
                 '<th class="xk-r">update / weight</th><th class="xk-r">dead units</th><th>flag</th></tr></thead>'
                 f"<tbody>{''.join(rows)}</tbody></table>")
    if len(names) > MAX_LAYERS:
        parts.append(_note(f"{len(names) - MAX_LAYERS:,} more layers are not listed."))
    if dyn.attributions is not None:
        parts.append(_drift_part(dyn))
    parts.append("</section>")
    return "".join(parts)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else float("nan")


def _drift_part(dyn: Any) -> str:
    a = np.asarray(dyn.attributions, dtype=np.float64)  # (snapshots, probe, features, outputs)
    steps = np.asarray(dyn.attribution_steps)
    n_snap, n_probe, n_feat, n_out = a.shape
    method = dyn.attribution_method or "the explainer"
    parts = [f"<h4>Attribution drift ({esc(method)})</h4>"]
    if n_snap == 0 or n_probe == 0 or n_feat == 0 or n_out == 0:
        parts.append(_note("No attribution snapshot holds values."))
        return "".join(parts)
    values = a[..., 0]
    final = values[-1]
    table_idx = _evenly(n_snap, MAX_DRIFT_TABLE)
    rows = []
    for s in table_idx.tolist():
        corr = [_correlation(values[s, p], final[p]) for p in range(n_probe)]
        finite = [c for c in corr if math.isfinite(c)]
        mean_corr = float(np.mean(finite)) if finite else float("nan")
        rows.append(f'<tr class="xk-drift-row" data-step="{int(steps[s])}"><td class="xk-r">{int(steps[s]):,}</td>'
                    f"{_num_cell(mean_corr, 'xk-drift-corr')}{_num_cell(float(np.abs(values[s]).mean()), 'xk-drift-size')}</tr>")
    out_note = f" (output 0 of {n_out})" if n_out > 1 else ""
    parts.append(f'<p class="xk-legend">{esc(f"How the attribution of {n_probe:,} fixed probe row(s){out_note} changed over training: ")}'
                 "the correlation of each snapshot with the last one over the features (mean over the probe rows), "
                 "and the mean |attribution|.</p>")
    parts.append('<table class="xk-table xk-drift"><thead><tr><th class="xk-r">step</th><th class="xk-r">correlation with the last</th>'
                 f'<th class="xk-r">mean |attribution|</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
    if n_snap > len(table_idx):
        parts.append(_note(f"{len(table_idx)} of the {n_snap:,} snapshots are listed, evenly spread."))
    side = math.isqrt(n_feat)
    if side * side != n_feat:
        parts.append(f'<p class="xk-legend">{esc(f"The {n_feat:,} features are not a square image: no heat maps are drawn.")}</p>')
        return "".join(parts)
    shown = _evenly(n_snap, MAX_SNAPSHOTS)
    lines = []
    for p in range(min(n_probe, MAX_DRIFT_ROWS)):
        maps = values[shown, p].reshape(len(shown), side, side)
        figures = []
        for k, s in enumerate(shown.tolist()):
            finite = np.abs(maps[k][np.isfinite(maps[k])])
            top = float(finite.max()) if finite.size else 0.0
            rgb = _enlarge(_heat_rgb(_shrink(maps[k])))
            figures.append(f'<figure class="xk-drift-map" data-row="{p}" data-step="{int(steps[s])}" data-max="{num(top)}"><img alt="attribution of '
                           f'probe row {p} at step {int(steps[s])}" src="{png_data_uri(rgb)}"><figcaption>row {p}, step {int(steps[s]):,}; '
                           f"largest |value| {esc(fmt(top))}</figcaption></figure>")
        lines.append(f'<div class="xk-images">{"".join(figures)}</div>')
    more = []
    if n_snap > len(shown):
        more.append(f"{len(shown)} of the {n_snap:,} snapshots, evenly spread")
    if n_probe > MAX_DRIFT_ROWS:
        more.append(f"the first {MAX_DRIFT_ROWS} of the {n_probe:,} probe rows")
    more_text = f" Drawn: {'; '.join(more)}." if more else ""
    parts.append(f'<p class="xk-legend">Heat maps: <span class="xk-pos">vermillion</span> raises the output, <span class="xk-neg">blue</span> '
                 f"lowers it; each map has its own colour scale (the table compares sizes).{esc(more_text)}</p>")
    parts.append("".join(lines))
    return "".join(parts)


# ----------------------------------------------------------------------------- layer activations


def _channel_order(zero: np.ndarray, sat: np.ndarray) -> np.ndarray:
    """Dead channels first, then by decreasing saturated share, then the others, each in channel order."""
    dead = zero >= 1.0
    s = np.where(np.isfinite(sat), sat, -1.0)
    key = np.where(dead, 0, np.where(s >= SATURATED, 1, 2))
    return np.lexsort((np.arange(len(zero)), np.where(key == 1, -s, 0.0), key))


def _activations_part(acts: Any, include_data: bool) -> str:
    names = list(acts.channel_names)
    zero_all = np.asarray(acts.zero_share, dtype=np.float64)
    sat_all = np.asarray(acts.saturated_share, dtype=np.float64)
    parts = ['<section class="xk-part xk-activations"><h3>Layer activations</h3>'
             '<p class="xk-legend">Statistics of each channel pooled over the rows and the spatial positions. Dead: 0 on every value of '
             f"every row; saturated: within 1% of the bounds of a sigmoid or tanh layer (a channel with {int(SATURATED * 100)}% or more of "
             "such values is called saturated).</p>"]
    summary_rows = []
    dead_names: list[str] = []
    saturated_names: list[str] = []
    for entry in acts.layers[:MAX_LAYERS]:
        layer = entry["name"]
        s = acts.summary(layer)
        dead = acts.dead_channels(layer)
        _, pos, _ = acts._layer(layer)
        dead_names.extend(names[pos[i]] for i in dead.tolist())
        sat = s["saturated_share"]
        saturated_names.extend(names[pos[i]] for i in np.flatnonzero(np.isfinite(sat) & (sat >= SATURATED)).tolist())
        sat_text = "n/a" if not np.isfinite(sat).any() else f"{100 * float(np.nanmean(sat)):.1f}%"
        summary_rows.append(
            f'<tr class="xk-act-layer" data-layer="{esc(layer)}"><td>{esc(layer)}</td><td>{esc(entry.get("activation") or "-")}</td>'
            f'<td class="xk-r">{len(pos):,}</td>{_num_cell(float(s["mean"].mean()), "xk-act-mean")}'
            f'{_share_cell(float(s["zero_share"].mean()), "xk-act-zeros")}<td class="xk-r xk-act-dead">{len(dead):,}</td>'
            f'<td class="xk-r">{esc(sat_text)}</td></tr>'
        )
    parts.append('<table class="xk-table xk-act-layers"><thead><tr><th>layer</th><th>activation</th><th class="xk-r">channels</th>'
                 '<th class="xk-r">mean</th><th class="xk-r">zeros</th><th class="xk-r">dead channels</th><th class="xk-r">saturated</th>'
                 f"</tr></thead><tbody>{''.join(summary_rows)}</tbody></table>")
    if len(acts.layers) > MAX_LAYERS:
        parts.append(_note(f"{len(acts.layers) - MAX_LAYERS:,} more layers are not listed."))
    for label, found, cls in (("Dead channels", dead_names, "xk-dead-channels"), ("Saturated channels", saturated_names, "xk-saturated-channels")):
        if found:
            listed = ", ".join(found[:MAX_NAMED]) + (f" and {len(found) - MAX_NAMED:,} more" if len(found) > MAX_NAMED else "")
            parts.append(f'<p class="{cls}" data-count="{len(found)}"><strong>{label} ({len(found):,}):</strong> {esc(listed)}</p>')
        else:
            parts.append(f'<p class="{cls}" data-count="0"><strong>{label}:</strong> none.</p>')
    k_top = acts.top_rows.shape[1] if acts.top_rows.ndim == 2 else 0
    for entry in acts.layers[:MAX_CHANNEL_LAYERS]:
        layer = entry["name"]
        _, pos, _ = acts._layer(layer)
        order = _channel_order(zero_all[pos], sat_all[pos])[:MAX_CHANNELS]
        rows = []
        for i in order.tolist():
            c = int(pos[i])
            state = "dead" if zero_all[c] >= 1.0 else "saturated" if np.isfinite(sat_all[c]) and sat_all[c] >= SATURATED else ""
            top = ", ".join(str(int(r)) for r in acts.top_rows[c, :5].tolist())
            rows.append(
                f'<tr class="xk-channel" data-channel="{esc(names[c])}" data-state="{state}"><td>{esc(names[c])}</td>'
                f"{_num_cell(acts.mean[c], 'xk-ch-mean')}{_num_cell(acts.std[c], 'xk-ch-std')}{_num_cell(acts.min[c], 'xk-ch-min')}"
                f"{_num_cell(acts.max[c], 'xk-ch-max')}{_share_cell(zero_all[c], 'xk-ch-zeros')}{_share_cell(sat_all[c], 'xk-ch-sat')}"
                f'<td>{esc(state or "-")}</td><td class="xk-ch-top">{esc(top)}</td></tr>'
            )
        more = f" ({len(order)} of {len(pos):,}: dead first, then saturated, then in order)" if len(pos) > len(order) else ""
        parts.append(
            f"<h4>{esc(f'{layer}: channels{more}')}</h4>"
            '<table class="xk-table xk-channels"><thead><tr><th>channel</th><th class="xk-r">mean</th><th class="xk-r">std</th>'
            '<th class="xk-r">min</th><th class="xk-r">max</th><th class="xk-r">zeros</th><th class="xk-r">saturated</th><th>state</th>'
            f"<th>{esc(f'top-activating rows (first {min(5, k_top)} of {k_top})')}</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    if len(acts.layers) > MAX_CHANNEL_LAYERS:
        parts.append(_note(f"Channel tables of the first {MAX_CHANNEL_LAYERS} of {len(acts.layers):,} layers are shown."))
    if include_data and acts.maps is not None and acts.maps.shape[0] > 0:
        parts.append(_maps_part(acts))
    parts.append("</section>")
    return "".join(parts)


def _maps_part(acts: Any) -> str:
    """The feature maps of row 0 of each layer with a spatial extent (at most :data:`MAX_MAP_CHANNELS` channels each)."""
    figures = []
    for entry in acts.layers[:MAX_CHANNEL_LAYERS]:
        shape = entry["shape"]
        if len(shape) != 3:
            continue
        maps = np.asarray(acts[entry["name"]][0], dtype=np.float64)
        maps = np.moveaxis(maps, int(entry["channel_axis"]) - 1, 0)[:MAX_MAP_CHANNELS]
        small = np.stack([_shrink(m) for m in maps])
        grid = _tile(small, cols=min(8, len(small)))
        finite = np.abs(small[np.isfinite(small)])
        rgb = _enlarge(_heat_rgb(np.nan_to_num(grid), float(finite.max()) if finite.size else None), 256)
        rgb[np.isnan(grid).repeat(max(1, rgb.shape[0] // grid.shape[0]), 0).repeat(max(1, rgb.shape[1] // grid.shape[1]), 1)] = (200, 200, 200)
        figures.append(f'<figure class="xk-feature-maps" data-layer="{esc(entry["name"])}" data-channels="{len(maps)}">'
                       f'<img class="xk-maps" alt="feature maps of row 0 at {esc(entry["name"])}" src="{png_data_uri(rgb)}">'
                       f"<figcaption>{esc(entry['name'])}: {len(maps)} channel(s) of row 0</figcaption></figure>")
    if not figures:
        return ""
    return ("<h4>Feature maps of row 0</h4><p class=\"xk-legend\">One tile per channel (at most "
            f"{MAX_MAP_CHANNELS} per layer), one colour scale per layer.</p><div>{''.join(figures)}</div>")


# ----------------------------------------------------------------------------- weights


def _weights_part(w: Any) -> str:
    names = list(w.layer_names)
    shown = names[:MAX_LAYERS]
    norm = np.asarray(w.norm, dtype=np.float64)
    parts = ['<section class="xk-part xk-weights"><h3>Weights</h3>'
             '<p class="xk-legend">Statistics of each layer\'s weight tensor (biases apart). Near zero: |w| below '
             f"{esc(fmt(w.params.get('tol', float('nan'))))} times the layer's largest |w|.</p>",
             interval_bars_svg(shown, norm[: len(shown)], None, None, title="weight norm (L2) per layer")]
    rows = "".join(
        f'<tr class="xk-weight-row" data-layer="{esc(name)}"><td>{esc(name)}</td><td class="xk-r">{int(w.size[j]):,}</td>'
        f"{_num_cell(norm[j], 'xk-w-norm')}{_num_cell(w.mean[j], 'xk-w-mean')}{_num_cell(w.std[j], 'xk-w-std')}"
        f"{_share_cell(w.near_zero[j], 'xk-w-zero')}</tr>"
        for j, name in enumerate(shown)
    )
    parts.append('<table class="xk-table xk-weight-table"><thead><tr><th>layer</th><th class="xk-r">weights</th><th class="xk-r">norm</th>'
                 '<th class="xk-r">mean</th><th class="xk-r">std</th><th class="xk-r">near zero</th></tr></thead>'
                 f"<tbody>{rows}</tbody></table>")
    if len(names) > len(shown):
        parts.append(_note(f"The first {MAX_LAYERS} of {len(names):,} layers are drawn and listed."))
    if w.filters is not None and w.filters.size:
        filters = np.asarray(w.filters, dtype=np.float64)
        k = min(len(filters), MAX_FILTERS)
        kernels = np.stack([_shrink(f, _FILTER_SIDE) for f in filters[:k].mean(axis=1)])
        side = kernels.shape[1]
        factor = max(1, _FILTER_SIDE // max(side, kernels.shape[2]))
        big = kernels.repeat(factor, axis=1).repeat(factor, axis=2)
        grid = _tile(big, cols=min(8, k))
        finite = np.abs(kernels[np.isfinite(kernels)])
        rgb = _heat_rgb(np.nan_to_num(grid), float(finite.max()) if finite.size else None)
        rgb[np.isnan(grid)] = (255, 255, 255)
        more = f" (the first {k} of {len(filters):,})" if len(filters) > k else ""
        parts.append(f"<h4>{esc(f'First convolution: {k} filters{more}')}</h4>"
                     '<p class="xk-legend">Each filter\'s input channels averaged; one colour scale for all: <span class="xk-pos">vermillion</span> '
                     'positive, <span class="xk-neg">blue</span> negative.</p>'
                     f'<img class="xk-filters" data-filters="{k}" alt="first convolution filters" src="{png_data_uri(rgb)}">')
    parts.append("</section>")
    return "".join(parts)


# ----------------------------------------------------------------------------- feature visualisation


def _image_rgb(viz: Any) -> np.ndarray:
    """The optimised input as uint8 RGB (grey: dark is high, as in the display), at most :data:`MAX_SIDE` * 4 a side."""
    img = np.asarray(viz.image, dtype=np.float64)
    last = viz.provenance.get("framework") == "keras"
    if img.ndim == 3:
        img = np.moveaxis(img, -1, 0) if last else img
        img = img if img.shape[0] == 3 else img.mean(axis=0)
    elif img.ndim == 1:
        img = img[None]
    elif img.ndim != 2:
        img = img.reshape(1, -1)
    bounds = viz.params.get("value_range")
    finite = img[np.isfinite(img)]
    if isinstance(bounds, (list, tuple)) and len(bounds) == 2 and float(bounds[1]) > float(bounds[0]):
        lo, hi = float(bounds[0]), float(bounds[1])
    else:
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    scaled = np.clip((np.nan_to_num(img, nan=lo) - lo) / ((hi - lo) or 1.0), 0.0, 1.0)
    if scaled.ndim == 3:
        rgb = np.moveaxis(scaled, 0, -1)
    else:
        rgb = np.repeat((1.0 - scaled)[..., None], 3, axis=-1)
    rgb = _shrink(rgb, 4 * MAX_SIDE)
    return _enlarge(np.round(rgb * 255).astype(np.uint8), 192)


def _visualization_part(viz: Any) -> str:
    p = viz.params
    what = f"channel {p.get('channel')} of {p.get('layer')}" if p.get("layer") else f"output {p.get('target')}"
    trace = np.asarray(viz.trace, dtype=np.float64)
    idx = _evenly(len(trace), MAX_TRACE_POINTS)
    best = int(np.argmax(trace)) if len(trace) else 0
    rows = (f'<tr><th>objective at the first step</th>{_num_cell(trace[0], "xk-viz-first")}</tr>'
            f'<tr><th>objective at the last step</th>{_num_cell(trace[-1], "xk-viz-last")}</tr>'
            f'<tr><th>largest objective (step {best:,})</th>{_num_cell(trace[best], "xk-viz-best")}</tr>'
            f'<tr><th>gain (last - first)</th>{_num_cell(viz.gain, "xk-viz-gain")}</tr>') if len(trace) else ""
    chart = ""
    if len(trace):
        chart = line_svg(f"objective over the steps ({what})", "step", "objective", idx.astype(np.float64), trace[idx], None, None, None, None)
    more = f" {len(idx)} of the {len(trace):,} steps are drawn, evenly spread." if len(trace) > len(idx) else ""
    return (
        '<section class="xk-part xk-visualization"><h3>Feature visualisation</h3>'
        f'<p class="xk-legend">{esc(f"An input made by gradient ascent to excite {what}: the image, and the objective ")}'
        f"(the mean activation, or the class score) at each step.{esc(more)}</p>"
        f'<div class="xk-two"><div><figure><img class="xk-viz-image" alt="{esc(f"input that excites {what}")}" src="{png_data_uri(_image_rgb(viz))}">'
        f"<figcaption>{esc(what)}; grey images: dark is high</figcaption></figure>"
        f'<table class="xk-table xk-viz-table"><tbody>{rows}</tbody></table></div><div>{chart}</div></div></section>'
    )
