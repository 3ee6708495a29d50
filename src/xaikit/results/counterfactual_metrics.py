"""The result kind of :func:`xaikit.metrics.counterfactual.counterfactual_metrics`: the CARLA measures of a
set of counterfactuals, one value per (row, counterfactual) and per row (see that module for the definitions)."""

from __future__ import annotations

import math

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.results.attribution import ROWS
from xaikit.results.base import Axis, Field, Result

__all__ = ["PER_COUNTERFACTUAL", "CounterfactualMetrics"]

COUNTERFACTUALS = Axis("counterfactuals", prefix="cf", singular="counterfactual")

PER_COUNTERFACTUAL = (
    ("l0", "Number of changed features (CARLA's d1)."),
    ("l1", "Sum of the scaled changes (CARLA's d2; MAD-scaled when data was given, see params['scale'])."),
    ("l2", "Euclidean norm of the scaled changes (the square root of CARLA's d3)."),
    ("linf", "Largest scaled change (CARLA's d4)."),
    ("redundancy", "Changed features that can be reverted one at a time keeping validity; NaN unless valid."),
    ("ynn", "Share of the n_neighbors nearest rows of data given the counterfactual's class; NaN without data."),
    ("violations", "Number of constraints broken; NaN without constraints."),
)


class CounterfactualMetrics(Result):
    """The CARLA measures of a set of counterfactuals (see :func:`counterfactual_metrics`).

    Every per-counterfactual field is ``(n_rows, n_counterfactuals)`` and NaN where no
    counterfactual was found; ``m[rows, counterfactuals]`` selects by position, and
    :meth:`to_frame` gives one line per (row, counterfactual).

    Parameters
    ----------
    valid : array-like (n_rows, n_counterfactuals)
        1.0 when the model gives the counterfactual the desired decision, 0.0 when not, NaN when none was found.
    found : array-like of int (n_rows, n_counterfactuals)
        1 where a counterfactual was given, 0 where it is missing ("none found").
    l0, l1, l2, linf, redundancy, ynn, violations : array-like (n_rows, n_counterfactuals)
    diversity, count_diversity, time : array-like (n_rows,)
        Per row: mean pairwise scaled L1 distance and mean share of differing features between its
        valid counterfactuals (NaN with fewer than two); seconds spent on the row (NaN when unknown).
    method, params, diagnostics, provenance
        As for every result.

    Examples
    --------
    >>> m = CounterfactualMetrics(valid=[[1.0, float("nan")]], found=[[1, 0]], l0=[[1.0, float("nan")]],
    ...                           method="demo")
    >>> m.summary()["validity"], m.summary()["found_rate"]
    (1.0, 1.0)
    """

    kind = "counterfactual-metrics"
    fields = (
        Field("valid", "nk", column="valid", doc="1.0 valid, 0.0 not, NaN not found; (n_rows, n_counterfactuals)."),
        Field("found", "nk", dtype="int", doc="1 where a counterfactual was given; (n_rows, n_counterfactuals)."),
        *(Field(name, "nk", optional=True, doc=doc) for name, doc in PER_COUNTERFACTUAL),
        Field("diversity", "n", optional=True, doc="Mean pairwise scaled L1 distance between a row's valid counterfactuals."),
        Field("count_diversity", "n", optional=True, doc="Mean share of features differing between two valid counterfactuals of a row."),
        Field("time", "n", optional=True, doc="Seconds spent on each row (NaN when unknown)."),
    )
    axes = {"n": ROWS, "k": COUNTERFACTUALS}

    valid: np.ndarray
    found: np.ndarray
    l0: np.ndarray | None
    l1: np.ndarray | None
    l2: np.ndarray | None
    linf: np.ndarray | None
    redundancy: np.ndarray | None
    ynn: np.ndarray | None
    violations: np.ndarray | None
    diversity: np.ndarray | None
    count_diversity: np.ndarray | None
    time: np.ndarray | None
    n_rows: int
    n_counterfactuals: int

    def _validate(self) -> None:
        found, valid = self._store["found"], self._store["valid"]
        if not np.isin(found, (0, 1)).all():
            raise InvalidParameterError("found: expected 0 or 1 per counterfactual")
        if (np.isnan(valid) != (found == 0)).any():
            raise InvalidParameterError("valid: expected NaN exactly where no counterfactual was found (found == 0)")
        if not np.isin(valid[found == 1], (0.0, 1.0)).all():
            raise InvalidParameterError("valid: expected 1.0 or 0.0 for each counterfactual found")

    @property
    def values(self) -> np.ndarray:
        """The same array as :attr:`valid` (the primary field of every result)."""
        return self._store["valid"]  # type: ignore[no-any-return]

    def summary(self) -> dict[str, float]:
        """The aggregates, as plain floats (NaN when there is nothing to average).

        ``n_rows``; ``found_rate``: share of rows with at least one counterfactual (CARLA's success
        rate); ``coverage``: share of rows with at least one valid one; ``validity``: share of the
        counterfactuals found that are valid; ``l0``, ``l1``, ``l2``, ``linf``, ``redundancy``,
        ``ynn``: means over the valid counterfactuals; ``violations``: total number of violations
        over the counterfactuals found, and ``violation_rate``: share of them breaking at least one;
        ``diversity``, ``count_diversity``, ``time``: means over the rows that have them.

        >>> m = CounterfactualMetrics(valid=[[1.0, 0.0], [float("nan")] * 2], found=[[1, 1], [0, 0]],
        ...                           l0=[[1.0, 3.0], [float("nan")] * 2], method="demo")
        >>> s = m.summary(); s["validity"], s["coverage"], s["l0"]
        (0.5, 0.5, 1.0)
        """
        found = self._store["found"] == 1
        valid = self._store["valid"] == 1.0
        out: dict[str, float] = {
            "n_rows": float(found.shape[0]),
            "found_rate": _mean(found.any(axis=1)),
            "coverage": _mean(valid.any(axis=1)),
            "validity": _mean(valid[found]),
        }
        for name, _ in PER_COUNTERFACTUAL:
            arr = self._store[name]
            if name == "violations":
                vio = arr[found] if arr is not None else np.zeros(0)
                out["violations"] = float(vio.sum()) if arr is not None else math.nan
                out["violation_rate"] = _mean(vio > 0) if arr is not None else math.nan
            else:
                out[name] = _mean(arr[valid]) if arr is not None else math.nan
        for name in ("diversity", "count_diversity", "time"):
            arr = self._store[name]
            out[name] = _mean(arr[~np.isnan(arr)]) if arr is not None else math.nan
        return out

    def _repr_html_(self) -> str:
        """The aggregates as a small HTML table (bounded size)."""
        import html

        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.4g}</td></tr>" for k, v in self.summary().items())
        return f'<div class="xaikit-cf-metrics"><p><b>CounterfactualMetrics</b> method={html.escape(self._method)!r}</p><table>{rows}</table></div>'


def _mean(arr: np.ndarray) -> float:
    arr = np.asarray(arr, dtype=np.float64)
    arr = arr[~np.isnan(arr)]
    return float(arr.mean()) if arr.size else math.nan
