"""The report section of a :class:`~xaikit.results.quality.QualityReport`: the metric table with intervals and
noise floors, the ranking, the disagreement between the methods and what raw rows each explanation carries.

A QualityReport holds no row of data (only per-row metric values), so ``include_data`` changes only
whether the per-row disagreement of the first rows is listed (those rows are positions, not values).
Everything is escaped; the tables are bounded (:data:`MAX_METHODS`, :data:`MAX_METRICS`).

>>> from xaikit.results.quality import QualityReport
>>> q = QualityReport(values=[[[0.2, 0.4], [0.5, 0.7]]], floor=[[[0.5, 0.5], [0.6, 0.6]]],
...                   rank_correlation=[[1.0, 0.5]], top_k_overlap=[[1.0, 0.5]], pair_names=["a vs b"],
...                   higher_is_better=[False], privacy=["carries 2 rows of X in .data", ""], metric_names=["deletion"],
...                   method_names=["a", "<b>"], method="evaluate")
>>> html = quality_section(q, include_data=False)
>>> "&lt;b&gt;" in html and "<b>" not in html, html.count('class="xk-quality-row"')
(True, 2)
"""

from __future__ import annotations

import math
from typing import Any

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.report._encode import esc, fmt

__all__ = ["MAX_METHODS", "MAX_METRICS", "MAX_ROWS", "quality_section", "scores_section"]

#: Most methods and metrics in the tables, and rows of per-row disagreement listed.
MAX_METHODS = 20
MAX_METRICS = 30
MAX_ROWS = 20


def _num(v: Any) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else esc(fmt(float(v)))


def _interval(lo: float, hi: float) -> str:
    return "n/a" if math.isnan(lo) or math.isnan(hi) else f"{_num(lo)} to {_num(hi)}"


def quality_section(report_result: Any, include_data: bool) -> str:
    """The HTML (escaped, bounded) of a QualityReport's section body."""
    from xaikit.results.quality import QualityReport

    if not isinstance(report_result, QualityReport):
        raise InvalidParameterError(f"report_result: expected a QualityReport, got {describe(report_result)}")
    if not isinstance(include_data, bool):
        raise InvalidParameterError(f"include_data: expected True or False, got {describe(include_data)}")
    q = report_result
    table = q.table
    metrics = q.metric_names[:MAX_METRICS]
    methods = q.method_names[:MAX_METHODS]
    table = table[table["metric"].isin(metrics) & table["method"].isin(methods)]
    level = f"{q.level:.0%}"
    head = (
        "<tr><th>metric</th><th>method</th><th>mean</th><th>" + esc(level) + " interval</th><th>noise floor</th>"
        "<th>floor interval</th><th>above floor</th><th>rank</th></tr>"
    )
    lines = []
    for _, r in table.iterrows():
        mark = " \u2713" if r["above_floor_significant"] else ""
        word = "higher" if r["higher_is_better"] else "lower"
        lines.append(
            f'<tr class="xk-quality-row"><td>{esc(r["metric"])} <small>({word} is better)</small></td><td>{esc(r["method"])}</td>'
            f"<td>{_num(r['mean'])}</td><td>{_interval(r['lower'], r['upper'])}</td><td>{_num(r['floor'])}</td>"
            f"<td>{_interval(r['floor_lower'], r['floor_upper'])}</td><td>{_num(r['above_floor'])}{mark}</td><td>{_num(r['rank'])}</td></tr>"
        )
    parts = [
        f'<section class="xk-part xk-quality"><h3>Quality of the explanations</h3>'
        f'<p class="xk-legend">{q.n_rows:,} rows; each metric beside its noise floor (random attributions of the same rows); '
        f"\u2713: above the floor with {esc(level)} confidence. Ranks: 1 is best, ties share their mean rank.</p>"
        f'<table class="xk-table">{head}{"".join(lines)}</table>'
    ]
    more = []
    if q.n_methods > MAX_METHODS:
        more.append(f"{q.n_methods - MAX_METHODS} more methods")
    if q.n_metrics > MAX_METRICS:
        more.append(f"{q.n_metrics - MAX_METRICS} more metrics")
    if more:
        parts.append(f'<p class="xk-legend">Left out of the table: {esc(", ".join(more))}.</p>')
    ranking = q.ranking().iloc[:MAX_METHODS]
    parts.append(
        "<h4>Overall ranking</h4><ol>"
        + "".join(f"<li>{esc(name)} (mean rank {_num(r['mean_rank'])})</li>" for name, r in ranking.iterrows())
        + "</ol>"
    )
    if q.n_pairs:
        dis = q.disagreement_table().iloc[: MAX_METHODS * (MAX_METHODS - 1) // 2]
        k = q.params.get("k", "k")
        rows = "".join(
            f"<tr><td>{esc(r['pair'])}</td><td>{_num(r['rank_correlation'])}</td>"
            f"<td>{_interval(r['rank_correlation_lower'], r['rank_correlation_upper'])}</td>"
            f"<td>{_num(r['top_k_overlap'])}</td><td>{_interval(r['top_k_overlap_lower'], r['top_k_overlap_upper'])}</td></tr>"
            for _, r in dis.iterrows()
        )
        parts.append(
            f"<h4>Disagreement between methods</h4><p class=\"xk-legend\">Mean over the rows of Spearman's correlation of |phi| "
            f"and of the share of the top-{esc(k)} features in common (Krishna et al. 2022).</p>"
            f'<table class="xk-table"><tr><th>pair</th><th>rank correlation</th><th>interval</th><th>top-{esc(k)} overlap</th>'
            f"<th>interval</th></tr>{rows}</table>"
        )
        if include_data:
            n = min(q.n_rows, MAX_ROWS)
            cells = "".join(
                f"<tr><td>{i}</td>" + "".join(f"<td>{_num(q.rank_correlation[p, i])}</td>" for p in range(min(q.n_pairs, 6))) + "</tr>"
                for i in range(n)
            )
            heads = "".join(f"<th>{esc(name)}</th>" for name in q.pair_names[:6])
            parts.append(f'<h5>Rank correlation of the first {n} rows</h5><table class="xk-table"><tr><th>row</th>{heads}</tr>{cells}</table>')
    notes = [f"{esc(m)}: {esc(p)}" for m, p in zip(q.method_names[:MAX_METHODS], q.privacy[:MAX_METHODS]) if p]
    parts.append(
        "<h4>Raw rows in the explanations</h4>"
        + (f"<ul>{''.join(f'<li>{n}</li>' for n in notes)}</ul>" if notes else "<p>None of the explanations carries raw rows of data.</p>")
    )
    parts.append("</section>")
    return "".join(parts)


def scores_section(scores: Any, include_data: bool) -> str:
    """The HTML (escaped, bounded) of one metric's :class:`~xaikit.results.metric_scores.MetricScores`: its mean
    with an interval beside its noise floor, and for a curve metric the mean curve (with the 10-90% band of
    the rows and the random attributions' curve). Values are per row by position: no row of data.

    >>> import numpy as np
    >>> from xaikit.results.metric_scores import MetricScores
    >>> s = MetricScores(values=np.array([0.2, 0.4, 0.3]), floor=np.array([0.5, 0.6, 0.5]), method="deletion",
    ...                  params={"metric": "deletion", "higher_is_better": False})
    >>> html = scores_section(s, include_data=False)
    >>> "deletion" in html and html.count('class="xk-quality-row"')
    1
    """
    import numpy as np

    from xaikit.report._charts import line_svg
    from xaikit.results.metric_scores import MetricScores

    if not isinstance(scores, MetricScores):
        raise InvalidParameterError(f"scores: expected a MetricScores, got {describe(scores)}")
    if not isinstance(include_data, bool):
        raise InvalidParameterError(f"include_data: expected True or False, got {describe(include_data)}")
    lo, hi = scores.interval()
    flo, fhi = scores.floor_interval()
    alo, ahi = scores.above_floor_interval()
    mark = " \u2713" if alo > 0 else ""
    word = "higher" if scores.higher_is_better else "lower"
    settings = {k: v for k, v in scores.params.items() if k not in ("metric", "higher_is_better") and isinstance(v, (int, float, str))}
    parts = [
        f'<section class="xk-part xk-quality"><h3>Quality metric: {esc(scores.metric)}</h3>'
        f'<p class="xk-legend">{scores.n_rows:,} rows; {word} is better; the noise floor is the same metric for random '
        f"attributions of the same rows; \u2713: above the floor with 95% confidence (paired over the rows).</p>"
        '<table class="xk-table"><tr><th>metric</th><th>mean</th><th>95% interval</th><th>noise floor</th><th>floor interval</th>'
        "<th>above floor</th><th>interval</th></tr>"
        f'<tr class="xk-quality-row"><td>{esc(scores.metric)}</td><td>{_num(scores.mean())}</td><td>{_interval(lo, hi)}</td>'
        f"<td>{_num(scores.floor_mean())}</td><td>{_interval(flo, fhi)}</td><td>{_num(scores.above_floor())}{mark}</td>"
        f"<td>{_interval(alo, ahi)}</td></tr></table>"
    ]
    if settings:
        parts.append('<p class="xk-legend">Settings: ' + esc(", ".join(f"{k}={v}" for k, v in list(settings.items())[:12])) + "</p>")
    fractions = scores.diagnostics.get("fractions")
    if scores.curves is not None and fractions is not None and np.isfinite(scores.curves).any():
        grid = np.asarray(fractions, dtype=np.float64)
        curves = scores.curves[np.isfinite(scores.curves).all(axis=1)]
        floor = np.asarray(scores.diagnostics.get("floor_curve", []), dtype=np.float64)
        random_curve = floor[None] if floor.shape == grid.shape and np.isfinite(floor).all() else None
        low, high = np.percentile(curves, [10, 90], axis=0)
        parts.append(line_svg(f"{scores.metric} curve", "fraction of features", "model output", grid, curves.mean(axis=0),
                              random_curve, low, high, None))
        parts.append('<p class="xk-legend">Mean curve of the rows (band: 10-90% of the rows)'
                     + ("; faint: the mean curve of random attributions" if random_curve is not None else "") + ".</p>")
    parts.append("</section>")
    return "".join(parts)
