"""MetricScores: one quality metric of one explanation, row by row, beside the noise floor.

Every metric of :mod:`xaikit.metrics` (faithfulness, robustness, complexity, sanity) returns this kind:
the metric's value for each explained row, the value a random attribution of the same rows gets
(the noise floor: the mean over ``n_random`` random attributions per row), and, for the metrics that
draw a curve (deletion, insertion), the curve of each row. The summaries are a mean over the rows
with a confidence interval (Student's t over the rows, which are the independent units), for the
metric and for its floor, and their difference: how far the explanation is above chance.

``params`` records ``metric`` (its name), ``higher_is_better`` and the metric's own settings.
"""

from __future__ import annotations

import math

import numpy as np

from xaikit._validation import check_level, describe
from xaikit.errors import InvalidParameterError
from xaikit.results.attribution import ROWS
from xaikit.results.base import Field, Result

__all__ = ["MetricScores"]


def _t_interval(values: np.ndarray, level: float) -> tuple[float, float, float]:
    """``(mean, lower, upper)`` of the finite ``values``: Student's t-interval (NaN bounds with fewer than 2)."""
    level = check_level(level)
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(v.mean())
    if v.size < 2:
        return mean, math.nan, math.nan
    from scipy import stats

    half = float(stats.t.ppf(0.5 + level / 2.0, v.size - 1)) * float(v.std(ddof=1)) / math.sqrt(v.size)
    return mean, mean - half, mean + half


class MetricScores(Result):
    """One metric of one explanation: per-row values, the per-row noise floor, and optional curves.

    Parameters
    ----------
    values : array-like of shape (n_rows,)
        The metric of each row's attribution (NaN where it is undefined for that row).
    floor : array-like of shape (n_rows,)
        The metric of random attributions of the same rows (the mean over the random draws).
    curves : array-like of shape (n_rows, n_steps), optional
        Curves behind the values (deletion / insertion: the model's output as features are removed or
        added, at the fractions ``diagnostics["fractions"]``).
    method, params, diagnostics, provenance
        As for every result; ``params["metric"]`` names the metric and ``params["higher_is_better"]`` says
        its direction; ``method`` is the metric's name too.

    Examples
    --------
    >>> s = MetricScores(values=[0.9, 0.7, 0.8], floor=[0.5, 0.4, 0.6], method="deletion",
    ...                  params={"metric": "deletion", "higher_is_better": False})
    >>> s
    MetricScores(method='deletion', n_rows=3)
    >>> round(s.mean(), 6), s.higher_is_better
    (0.8, False)
    >>> lower, upper = s.interval(0.95); round(lower, 4), round(upper, 4)
    (0.5516, 1.0484)
    >>> round(s.above_floor(), 6)  # mean(values - floor), signed so that positive is better
    -0.3
    """

    kind = "metric-scores"
    fields = (
        Field("values", "n", doc="Read-only float64 array (n_rows,): the metric of each row (NaN where undefined)."),
        Field("floor", "n", doc="Read-only float64 array (n_rows,): the metric of random attributions of each row."),
        Field("curves", "n.", optional=True, column=None, doc="Read-only float64 array (n_rows, n_steps), or None."),
    )
    axes = {"n": ROWS}

    values: np.ndarray
    floor: np.ndarray
    curves: np.ndarray | None
    n_rows: int

    @property
    def metric(self) -> str:
        """The metric's name (``params["metric"]``, else the method)."""
        return str(self.params.get("metric", self.method))

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger value is a better explanation (``params["higher_is_better"]``, which every metric records)."""
        value = self.params.get("higher_is_better")
        if not isinstance(value, bool):
            raise InvalidParameterError(f"params['higher_is_better']: expected True or False, got {describe(value)}")
        return value

    def mean(self) -> float:
        """The mean over the rows where the metric is defined."""
        return _t_interval(self.values, 0.95)[0]

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """A confidence interval of :meth:`mean`: Student's t over the rows (NaN with fewer than 2 rows)."""
        _, lower, upper = _t_interval(self.values, level)
        return lower, upper

    def floor_mean(self) -> float:
        """The mean noise floor: what random attributions of the same rows get."""
        return _t_interval(self.floor, 0.95)[0]

    def floor_interval(self, level: float = 0.95) -> tuple[float, float]:
        """A confidence interval of :meth:`floor_mean`."""
        _, lower, upper = _t_interval(self.floor, level)
        return lower, upper

    def above_floor(self) -> float:
        """The mean per-row distance from the floor, signed so that positive means better than chance."""
        diff = self.values - self.floor
        sign = 1.0 if self.higher_is_better else -1.0
        return sign * _t_interval(diff, 0.95)[0]

    def above_floor_interval(self, level: float = 0.95) -> tuple[float, float]:
        """A confidence interval of :meth:`above_floor` (paired over the rows)."""
        _, lower, upper = _t_interval(self.values - self.floor, level)
        return (lower, upper) if self.higher_is_better else (-upper, -lower)
