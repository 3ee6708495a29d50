"""Report section of a :class:`~xaikit.results.fairness.GroupFairness`: the disparities with their intervals,
one metric by group as interval bars, and the table of every group's metrics.

The result holds no row of the data, only per-group sums; but a very small group's rates describe a
few people, so without ``include_data`` the count of a group under :data:`SMALL_GROUP` rows is shown
as ``<10`` (its rates are kept: they are what the section is about, and they are flagged as small).

>>> from xaikit.fairness import FairnessReport
>>> fr = FairnessReport([1, 0, 1, 1, 0, 0], [1, 0, 0, 1, 1, 0], sensitive_features=["<a>", "<a>", "<a>", "b", "b", "b"])
>>> html = fairness_section(fr.result, include_data=False)
>>> html.count('class="xk-ibar"'), "&lt;a&gt;" in html and "<a>" not in html, "&lt;10" in html
(4, True, True)
"""

from __future__ import annotations

import numpy as np

from xaikit.report._charts import interval_bars_svg
from xaikit.report._encode import esc, fmt
from xaikit.report._svg import short
from xaikit.results.fairness import GROUP_METRICS, GroupFairness

__all__ = ["MAX_CHART_GROUPS", "MAX_GROUP_ROWS", "SMALL_GROUP", "fairness_section"]

#: Most groups drawn in a chart (the largest), and listed in the table.
MAX_CHART_GROUPS = 30
MAX_GROUP_ROWS = 100
#: Groups with fewer rows are flagged; their count is hidden without include_data.
SMALL_GROUP = 10
#: The metrics drawn as charts.
_CHARTS = ("selection_rate", "true_positive_rate")


def _cell(value: float, lower: float | None, upper: float | None) -> str:
    text = fmt(value)
    if lower is not None and upper is not None and np.isfinite(lower) and np.isfinite(upper):
        text += f" [{fmt(lower)}, {fmt(upper)}]"
    return esc(text)


def fairness_section(result: GroupFairness, include_data: bool) -> str:
    """The HTML of ``result``'s section: escaped, bounded in size whatever the number of groups."""
    values = result.values
    lower, upper = result.lower, result.upper
    n_rows = np.asarray(result.n_rows)
    columns = ", ".join(result.sensitive_names)
    params = result.params
    level = params.get("level")
    pos = params.get("pos_label")
    intro = (
        f"Decisions of the model compared across {result.n_groups:,} groups of {columns} "
        f"({int(n_rows.sum()):,} rows; positive label {pos!r}"
        + ("; weighted rows" if params.get("weighted") else "")
        + "). A rate whose denominator is zero in a group is undefined (n/a) and that group is left out of the gap."
    )
    if lower is not None and isinstance(level, float):
        scheme = "within each group (stratified)" if params.get("stratify") else "over all rows (a resample may miss a small group)"
        intro += (f" Intervals: {round(100 * level)}% bootstrap percentile intervals over {params.get('n_boot')} resamples drawn "
                  f"{scheme}.")
    stored = result.disparity_intervals or {}
    frame = result.disparities()
    rows = []
    for name in frame.index:
        lo, hi = (stored[name][1], stored[name][2]) if name in stored else (None, None)
        rows.append(f'<tr><td>{esc(name)}</td><td class="xk-r">{_cell(float(frame.loc[name, "value"]), lo, hi)}</td></tr>')
    disparities = ('<table class="xk-fair-gaps"><thead><tr><th>disparity (between groups)</th><th class="xk-r">value</th></tr></thead>'
                   f"<tbody>{''.join(rows)}</tbody></table>")
    order = np.sort(np.argsort(-n_rows, kind="stable")[:MAX_CHART_GROUPS])
    names = [short(result.group_names[i]) for i in order]
    charts = []
    for metric in _CHARTS:
        k = GROUP_METRICS.index(metric)
        charts.append(
            f"<h4>{esc(metric)} by group</h4>"
            + interval_bars_svg(names, values[order, k], None if lower is None else lower[order, k],
                                None if upper is None else upper[order, k], title=f"{metric} by group")
        )
    if len(order) < result.n_groups:
        charts.append(f"<p>The {len(order)} largest of {result.n_groups:,} groups are drawn.</p>")
    shown_metrics = [m for m in GROUP_METRICS if m != "calibration_error" or result.calibration is not None]
    head = "".join(f'<th class="xk-r">{esc(m)}</th>' for m in shown_metrics)
    body = []
    listed = np.sort(np.argsort(-n_rows, kind="stable")[:MAX_GROUP_ROWS])
    for i in listed:
        small = n_rows[i] < SMALL_GROUP
        count = f"{int(n_rows[i]):,}" if include_data or not small else f"<{SMALL_GROUP}"
        cells = "".join(
            f'<td class="xk-r">{_cell(values[i, k], None if lower is None else lower[i, k], None if upper is None else upper[i, k])}</td>'
            for k in (GROUP_METRICS.index(m) for m in shown_metrics)
        )
        flag = " (small group)" if small else ""
        body.append(f'<tr class="xk-fair-group"><td>{esc(short(result.group_names[i]))}{flag}</td><td class="xk-r">{esc(count)}</td>{cells}</tr>')
    if len(listed) < result.n_groups:
        body.append(f'<tr><td colspan="{len(shown_metrics) + 2}">{result.n_groups - len(listed):,} smaller groups not listed</td></tr>')
    table = (f'<table class="xk-fair-table"><thead><tr><th>group</th><th class="xk-r">rows</th>{head}</tr></thead>'
             f"<tbody>{''.join(body)}</tbody></table>")
    privacy = ("No row of the data is in this section: only per-group rates and counts."
               + ("" if include_data else f" Counts of groups under {SMALL_GROUP} rows are hidden (include_data=False)."))
    return (
        '<section class="xk-part xk-fairness"><h3>Fairness across groups</h3>'
        f"<p>{esc(intro)}</p><h4>Gaps between groups</h4>{disparities}{''.join(charts)}"
        f"<h4>Metrics of each group</h4>{table}<p class=\"xk-privacy\">{esc(privacy)}</p></section>"
    )
