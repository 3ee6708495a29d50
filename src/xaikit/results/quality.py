"""QualityReport: several quality metrics of several explanations of the same rows, side by side.

:func:`xaikit.metrics.evaluate.evaluate` makes it. It keeps, per (metric, method, row), the metric's value
and its noise floor (what random attributions of the same row get), and, per pair of methods and row,
their disagreement (Spearman rank correlation of ``|phi|`` and top-k overlap, Krishna et al. 2022). The
table (:attr:`QualityReport.table`), the ranking (:meth:`QualityReport.ranking`) and the disagreement
summary (:meth:`QualityReport.disagreement`) are computed from those arrays, so a saved report
(``.xai``) gives the same table back.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.results.attribution import ROWS
from xaikit.results.base import Axis, Field, JsonField, Result
from xaikit.results.metric_scores import _t_interval

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["QualityReport"]

METRICS = Axis("metrics", names="metric_names", prefix="metric", singular="metric")
METHODS = Axis("methods", names="method_names", prefix="method", singular="method")
PAIRS = Axis("pairs", names="pair_names", prefix="pair", singular="pair")


def _check_privacy(value: Any, store: Any, lengths: Any) -> tuple[str, ...]:
    """One line of text per method (empty when the explanation carries no raw rows)."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InvalidParameterError(f"privacy: expected one str per method, got {describe(value)}")
    return tuple(value)


def _check_flags(value: Any, store: Any, lengths: Any) -> tuple[bool, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not all(isinstance(v, (bool, np.bool_)) for v in value):
        raise InvalidParameterError(f"higher_is_better: expected one bool per metric, got {describe(value)}")
    return tuple(bool(v) for v in value)


def _tied_ranks(key: np.ndarray) -> np.ndarray:
    """Ranks of ``key`` (smallest first, from 1); values equal to 1e-9 relative share the mean of their ranks.

    >>> _tied_ranks(np.array([0.3, 0.1, 0.1 + 1e-15, np.inf])).tolist()
    [3.0, 1.5, 1.5, 4.0]
    """
    order = np.argsort(key, kind="stable")
    ranks = np.empty(len(key))
    start = 0
    while start < len(order):
        stop = start + 1
        while stop < len(order):
            a, b = key[order[start]], key[order[stop]]
            if not (a == b or (math.isfinite(a) and math.isfinite(b) and abs(b - a) <= 1e-9 * max(1.0, abs(a), abs(b)))):
                break
            stop += 1
        ranks[order[start:stop]] = (start + stop + 1) / 2.0
        start = stop
    return ranks


class QualityReport(Result):
    """Quality metrics of several explanations of the same rows, their noise floors and their disagreement.

    Parameters
    ----------
    values : array-like of shape (n_metrics, n_methods, n_rows)
        The metric of each method's attribution of each row (NaN where undefined).
    floor : array-like of shape (n_metrics, n_methods, n_rows)
        The same metric for random attributions of the same rows (the noise floor).
    rank_correlation, top_k_overlap : array-like of shape (n_pairs, n_rows)
        Per pair of methods (every pair ``(a, b)`` with ``a`` before ``b``, in order) and row: Spearman
        correlation of ``|phi|`` and the share of the ``k`` largest ``|phi|`` both methods have in common
        (``params["k"]``); zero pairs with one method.
    higher_is_better : list of bool, one per metric
    privacy : list of str, one per method
        What raw rows each explanation carries ("" when none).
    metric_names, method_names, pair_names : list of str
    method, params, diagnostics, provenance
        As for every result; ``params["level"]`` is the coverage of the intervals.

    Examples
    --------
    >>> q = QualityReport(values=[[[0.2, 0.4], [0.5, 0.7]]], floor=[[[0.5, 0.5], [0.6, 0.6]]],
    ...                   rank_correlation=[[1.0, 0.5]], top_k_overlap=[[1.0, 0.5]], pair_names=["a vs b"],
    ...                   higher_is_better=[False], privacy=["", ""], metric_names=["deletion"],
    ...                   method_names=["a", "b"], method="evaluate")
    >>> q
    QualityReport(method='evaluate', n_metrics=1, n_methods=2, n_rows=2)
    >>> q.ranking()["deletion"].tolist()
    [1.0, 2.0]
    >>> round(float(q.table.loc[0, "above_floor"]), 6)
    0.2
    >>> q[:, ["b", "a"]].pair_names  # selecting methods keeps their pairs
    ['b vs a']
    """

    kind = "quality-report"
    plot_kind: ClassVar[str] = "quality"
    fields = (
        Field("values", "mkn", doc="Read-only float64 array (n_metrics, n_methods, n_rows): the metric per row."),
        Field("floor", "mkn", column="floor", doc="Read-only float64 array (n_metrics, n_methods, n_rows): the noise floor per row."),
        Field("rank_correlation", "pn", column=None, doc="Spearman correlation of |phi| per pair of methods and row, or None."),
        Field("top_k_overlap", "pn", column=None, doc="Top-k overlap of |phi| per pair of methods and row, or None."),
        JsonField("higher_is_better", "m", check=_check_flags, optional=False, doc="Per metric: whether larger values are better."),
        JsonField("privacy", "k", check=_check_privacy, optional=False, doc="Per method: the raw rows its explanation carries (\"\" when none)."),
    )
    axes = {"m": METRICS, "k": METHODS, "n": ROWS, "p": PAIRS}

    values: np.ndarray
    floor: np.ndarray
    rank_correlation: np.ndarray
    top_k_overlap: np.ndarray
    metric_names: list[str]
    method_names: list[str]
    pair_names: list[str]
    higher_is_better: list[bool]
    privacy: list[str]
    n_metrics: int
    n_methods: int
    n_rows: int
    n_pairs: int

    @property
    def level(self) -> float:
        """The coverage of the intervals (``params["level"]``, 0.95 by default)."""
        return float(self.params.get("level", 0.95))

    @property
    def table(self) -> pd.DataFrame:
        """One line per (metric, method): ``mean``, ``lower``, ``upper`` (Student's t over the rows),
        ``floor``, ``floor_lower``, ``floor_upper``, ``above_floor`` (mean of value - floor per row,
        signed so that positive is better), its interval ``above_lower``, ``above_upper``, and
        ``above_floor_significant`` (its interval lies above 0), ``higher_is_better`` and ``rank``."""
        import pandas as pd

        level = self.level
        ranks = self._ranks()
        lines = []
        for i, metric in enumerate(self.metric_names):
            hib = self.higher_is_better[i]
            sign = 1.0 if hib else -1.0
            for j, name in enumerate(self.method_names):
                v, f = self.values[i, j], self.floor[i, j]
                mean, lo, hi = _t_interval(v, level)
                fmean, flo, fhi = _t_interval(f, level)
                dmean, dlo, dhi = _t_interval(v - f, level)
                alo, ahi = (dlo, dhi) if hib else (-dhi, -dlo)
                lines.append({
                    "metric": metric, "method": name, "mean": mean, "lower": lo, "upper": hi,
                    "floor": fmean, "floor_lower": flo, "floor_upper": fhi,
                    "above_floor": sign * dmean, "above_lower": alo, "above_upper": ahi,
                    "above_floor_significant": bool(alo > 0) if math.isfinite(alo) else False,
                    "higher_is_better": hib, "rank": ranks[i, j],
                })
        return pd.DataFrame(lines)

    def _ranks(self) -> np.ndarray:
        """Rank of each method per metric (1 = best; ties share the mean of their ranks; NaN means last)."""
        out = np.full((self.n_metrics, self.n_methods), np.nan)
        for i in range(self.n_metrics):
            means = np.array([_t_interval(self.values[i, j], 0.95)[0] for j in range(self.n_methods)])
            key = -means if self.higher_is_better[i] else means
            out[i] = _tied_ranks(np.where(np.isnan(key), np.inf, key))
        return out

    def ranking(self) -> pd.DataFrame:
        """The rank of each method (rows) per metric (columns), and ``overall``.

        Per metric the methods are ordered by their mean over the rows, best first according to the
        metric's direction (``higher_is_better``); means equal to 1e-9 (relative) are tied and share
        the mean of their ranks (1 and 2 tied give 1.5 each); a method whose metric is undefined on every row ranks last. ``mean_rank``
        is the mean of a method's ranks over the metrics, and ``overall`` ranks that mean the same way
        (1 = best). The frame is sorted by ``overall``.
        """
        import pandas as pd

        ranks = self._ranks()
        frame = pd.DataFrame(ranks.T, index=pd.Index(self.method_names, name="method"), columns=self.metric_names)
        mean_rank = ranks.mean(axis=0) if self.n_metrics else np.full(self.n_methods, np.nan)
        frame["mean_rank"] = mean_rank
        frame["overall"] = _tied_ranks(np.where(np.isnan(mean_rank), np.inf, mean_rank))
        return frame.sort_values("overall", kind="stable")

    def disagreement(self, statistic: str = "rank_correlation") -> pd.DataFrame:
        """A symmetric methods x methods frame of the mean over the rows of ``statistic``
        (``"rank_correlation"`` or ``"top_k_overlap"``); the diagonal is 1."""
        import pandas as pd

        if statistic not in ("rank_correlation", "top_k_overlap"):
            raise InvalidParameterError(f"statistic: expected 'rank_correlation' or 'top_k_overlap', got {describe(statistic)}")
        arr = self._store[statistic]
        k = self.n_methods
        out = np.eye(k)
        pairs = [(a, b) for a in range(k) for b in range(a + 1, k)]
        for p, (a, b) in enumerate(pairs):
            finite = arr[p][np.isfinite(arr[p])]
            out[a, b] = out[b, a] = float(finite.mean()) if finite.size else math.nan
        return pd.DataFrame(out, index=self.method_names, columns=self.method_names)

    def disagreement_table(self) -> pd.DataFrame:
        """One line per pair of methods: mean and interval of the rank correlation and of the top-k overlap."""
        import pandas as pd

        lines = []
        for p, name in enumerate(self.pair_names):
            line: dict[str, Any] = {"pair": name}
            for stat in ("rank_correlation", "top_k_overlap"):
                mean, lo, hi = _t_interval(self._store[stat][p], self.level)
                line.update({stat: mean, f"{stat}_lower": lo, f"{stat}_upper": hi})
            lines.append(line)
        return pd.DataFrame(lines)

    def _take(self, selection: Mapping[str, np.ndarray], **replace: Any) -> QualityReport:
        """Selecting methods keeps the pairs of the methods kept, named and ordered as the new methods are."""
        if "k" in selection and "p" not in selection:
            k = self._lengths["k"]
            index = {pair: p for p, pair in enumerate((a, b) for a in range(k) for b in range(a + 1, k))}
            sel = [int(i) for i in selection["k"]]
            pairs = [index[(min(a, b), max(a, b))] for i, a in enumerate(sel) for b in sel[i + 1:]]
            names = [self.method_names[i] for i in sel]
            replace = {"pair_names": tuple(f"{a} vs {b}" for i, a in enumerate(names) for b in names[i + 1:]), **replace}
            selection = {**selection, "p": np.asarray(pairs, dtype=np.intp)}
        return super()._take(selection, **replace)

    def _validate(self) -> None:
        k = self._lengths["k"]
        expected = k * (k - 1) // 2
        if self._lengths["p"] != expected:
            raise InvalidParameterError(
                f"pair_names: expected {expected} pairs of methods (every pair of {k} methods, in order), got {self._lengths['p']}"
            )

    def _repr_html_(self) -> str:
        """The metric table as a small HTML table (bounded size, escaped)."""
        lines = []
        ranks = self._ranks()
        for i, metric in enumerate(self.metric_names[:20]):
            for j, name in enumerate(self.method_names[:20]):
                mean = _t_interval(self.values[i, j], 0.95)[0]
                fmean = _t_interval(self.floor[i, j], 0.95)[0]
                lines.append(
                    f"<tr><td>{html.escape(metric)}</td><td>{html.escape(name)}</td><td>{mean:.4g}</td>"
                    f"<td>{fmean:.4g}</td><td>{ranks[i, j]:g}</td></tr>"
                )
        head = "<tr><th>metric</th><th>method</th><th>mean</th><th>floor</th><th>rank</th></tr>"
        return (
            f'<div class="xaikit-quality"><p><b>QualityReport</b> {self.n_metrics} metrics, {self.n_methods} methods, '
            f"{self.n_rows} rows</p><table>{head}{''.join(lines)}</table></div>"
        )
