"""The notebook views of results (their ``_repr_html_``): small and fast whatever the number of rows.

A view holds a summary table of the top features (mean |value| with a bar, and the mean standard
error when the result has them), a per-row view of the first rows, and for documents the first
documents highlighted. Every user string (feature, output, method, token) is escaped.

>>> import numpy as np, xaikit as xk
>>> exp = xk.Attribution(values=np.ones((100_000, 3, 1)), base_values=np.zeros((100_000, 1)), method="demo")
>>> len(result_html(exp)) < 20_000
True
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from xaikit.plots import style

__all__ = ["result_html", "TOP_FEATURES", "FIRST_ROWS", "MAX_OUTPUTS"]

#: Features in the summary table, rows in the per-row view, outputs shown, characters per document.
TOP_FEATURES, FIRST_ROWS, MAX_OUTPUTS, MAX_CHARS = 10, 3, 3, 400

_CSS = "font-family:system-ui,sans-serif;font-size:13px;line-height:1.4;"
_STYLE = (
    "<style>.xaikit-view table{border-collapse:collapse;margin:0.3em 0}.xaikit-view td,.xaikit-view th{padding:1px 8px;"
    "text-align:left}.xaikit-view td.num{text-align:right}.xaikit-view .more{color:#666}</style>"
)


def _e(text: Any) -> str:
    return html.escape(str(text))


def _chip(name: str, value: float, vmax: float) -> str:
    r, g, b, a = style.diverging_rgba([value], vmax=vmax)[0]
    bg = f"rgba({int(r * 255)},{int(g * 255)},{int(b * 255)},{0.8 * a:.2f})"
    return f'<span style="background:{bg};padding:0 4px;margin-right:4px;border-radius:3px" title="{_e(f"{value:+.4g}")}">{_e(name)} {value:+.3g}</span>'


def _header(exp: Any) -> str:
    fields = ", ".join(f"{k}={v}" for k, v in exp._repr_fields())
    sampled = "std_err" in exp._diagnostics
    kind = "sampled (with standard errors)" if sampled else ""
    extra = f", {kind}" if kind else ""
    return f"<p><b>{_e(type(exp).__name__)}</b> method={_e(repr(exp.method))}, {_e(fields)}{_e(extra)}</p>"


def _summary_table(names: list[str], scores: np.ndarray, errors: np.ndarray | None, caption: str) -> str:
    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")[:TOP_FEATURES]
    top = float(np.nanmax(scores)) if scores.size and np.isfinite(scores).any() else 0.0
    rows = []
    for rank, i in enumerate(order, start=1):
        s = float(scores[i])
        width = 0 if top <= 0 or not np.isfinite(s) else int(round(100 * s / top))
        bar = f'<div style="background:{style.POSITIVE};height:0.8em;width:{width}px"></div>'
        err = "" if errors is None else f'<td class="num">\u00b1{float(errors[i]):.2g}</td>'
        rows.append(f'<tr><td>{rank}</td><td>{_e(names[i])}</td><td class="num">{s:.4g}</td>{err}<td>{bar}</td></tr>')
    more = len(names) - len(order)
    if more > 0:
        rows.append(f'<tr><td colspan="5" class="more">\u2026 {more} more features</td></tr>')
    err_head = "" if errors is None else "<th>std. err.</th>"
    return (f'<table><caption style="text-align:left">{_e(caption)}</caption>'
            f'<thead><tr><th>#</th><th>feature</th><th>mean |value|</th>{err_head}<th></th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _outputs(exp: Any) -> tuple[list[int], str]:
    o = len(exp.output_names)
    shown = list(range(min(o, MAX_OUTPUTS)))
    note = f'<p style="color:#666">\u2026 and {o - len(shown)} more outputs</p>' if o > len(shown) else ""
    return shown, note


def _row_view(exp: Any, j: int, names_of: Any, values_of: Any) -> str:
    n = exp.n_rows
    lines = []
    for r in range(min(n, FIRST_ROWS)):
        names, vals = names_of(r), values_of(r)
        order = np.argsort(-np.abs(vals), kind="stable")[:5]
        vmax = float(np.abs(vals).max()) if len(vals) and np.abs(vals).max() > 0 else 1.0
        base = float(exp.base_values[r, j])
        pred = base + float(vals.sum())
        chips = "".join(_chip(names[i], float(vals[i]), vmax) for i in order)
        lines.append(f"<li>row {r}: {base:.4g} \u2192 {pred:.4g}: {chips}</li>")
    more = f'<li class="more">\u2026 {n - FIRST_ROWS} more rows</li>' if n > FIRST_ROWS else ""
    return f'<ul style="margin:0.2em 0;padding-left:1.2em">{"".join(lines)}{more}</ul>'


def _attribution(exp: Any) -> str:
    parts = [_header(exp)]
    means = exp.mean_abs()
    se = exp._diagnostics.get("std_err")
    has_se = isinstance(se, np.ndarray) and se.shape == exp.values.shape and exp.n_rows > 0
    shown, note = _outputs(exp)
    names = exp.feature_names
    for j in shown:
        out = exp.output_names[j]
        errors = se[:, :, j].mean(axis=0) if has_se else None
        parts.append(_summary_table(names, means[:, j], errors, f"{out}: top features by mean |value|"))
        parts.append(_row_view(exp, j, lambda r: names, lambda r, j=j: np.asarray(exp.values[r, :, j])))
    parts.append(note)
    return f'<div class="xaikit-attribution xaikit-view" style="{_CSS}">{_STYLE}{"".join(parts)}</div>'


def _ragged(exp: Any) -> str:
    from xaikit.plots.text import text_html

    parts = [_header(exp)]
    shown, note = _outputs(exp)
    names = exp.feature_names
    means = exp.mean_abs()
    row_names = exp._store["row_feature_names"]
    lengths = exp.lengths
    for j in shown:
        out = exp.output_names[j]
        parts.append(_summary_table(names, means[:, j], None, f"{out}: top features by mean |value|"))
        if exp.segments is None and exp.n_rows:
            docs = "".join(
                f'<div style="margin:0.2em 0"><span style="color:#666">row {r}:</span> {text_html(exp, r, j, max_chars=MAX_CHARS)}</div>'
                for r in range(min(exp.n_rows, FIRST_ROWS))
            )
            more = f'<p style="color:#666">\u2026 {exp.n_rows - FIRST_ROWS} more rows</p>' if exp.n_rows > FIRST_ROWS else ""
            parts.append(docs + more)
        else:
            parts.append(_row_view(exp, j, lambda r: list(row_names[r]), lambda r, j=j: np.asarray(exp.values[r, : lengths[r], j])))
    if exp.segments is not None:
        parts.append(f"<p>images of shape {_e(exp.input_shape)}; draw with <code>.plot(\"image\", row=...)</code></p>")
    parts.append(note)
    return f'<div class="xaikit-ragged-attribution xaikit-view" style="{_CSS}">{_STYLE}{"".join(parts)}</div>'


def _interaction(exp: Any) -> str:
    parts = [_header(exp)]
    shown, note = _outputs(exp)
    names = exp.feature_names
    d = len(names)
    mat = exp.mean_abs() if exp.n_rows else np.zeros((d, d, len(exp.output_names)))
    iu, ju = np.triu_indices(d, k=1)
    for j in shown:
        out = exp.output_names[j]
        parts.append(_summary_table(names, np.diagonal(mat[:, :, j]).copy(), None, f"{out}: main effects by mean |value|"))
        pair_scores = 2 * mat[iu, ju, j]
        best = np.argsort(-pair_scores, kind="stable")[:TOP_FEATURES]
        pair_names = [f"{names[iu[p]]} \u00d7 {names[ju[p]]}" for p in best]
        if len(pair_names):
            parts.append(_summary_table(pair_names, pair_scores[best], None, f"{out}: top pairs by mean |interaction| (both halves)"))
    parts.append(note)
    return f'<div class="xaikit-interaction xaikit-view" style="{_CSS}">{_STYLE}{"".join(parts)}</div>'


def result_html(exp: Any) -> str:
    """The notebook view of an Attribution, RaggedAttribution or Interaction (bounded size)."""
    name = type(exp).__name__
    if name == "RaggedAttribution":
        return _ragged(exp)
    if name == "Interaction":
        return _interaction(exp)
    return _attribution(exp)
