"""Explanation quality per group: is an explanation less faithful (less stable, less sparse) for one group?

:func:`quality_by_group` takes the per-row scores of one quality metric (a
:class:`~xaikit.results.MetricScores` from :mod:`xaikit.metrics`) and the group of each row, and
gives, per group, the metric's mean with a Student t-interval over the group's rows, the mean noise
floor, and the distance above it; :meth:`GroupQuality.difference` compares two groups with Welch's
t-interval and test (the rows are the independent units; the groups may differ in size and spread).

A difference of the metric itself can come from the rows rather than the explanation (a deletion
curve starts from the row's prediction, so a group with higher predictions can have a larger area);
``difference(of="above_floor")`` compares the distance above the noise floor of the same rows,
which takes that out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from xaikit._validation import check_choice, check_level, describe
from xaikit.errors import InvalidParameterError
from xaikit.fairness.gap import _sorted_labels, group_labels, pick_pair
from xaikit.results.metric_scores import MetricScores, _t_interval

__all__ = ["GroupDifference", "GroupQuality", "quality_by_group"]


class GroupDifference(NamedTuple):
    """The difference of a metric's mean between two groups, ``a - b``, with Welch's interval and test.

    ``worse`` is the group whose explanation scores worse (by ``higher_is_better``; None on a tie or
    when undefined); ``significant`` says whether the interval excludes 0.
    """

    a: Any
    b: Any
    of: str
    difference: float
    lower: float
    upper: float
    p_value: float
    worse: Any
    significant: bool


def _welch(x: np.ndarray, y: np.ndarray, level: float) -> tuple[float, float, float, float]:
    """``(mean(x) - mean(y), lower, upper, p_value)`` by Welch's t (NaN where a group has fewer than 2 rows)."""
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if x.size == 0 or y.size == 0:
        return math.nan, math.nan, math.nan, math.nan
    diff = float(x.mean() - y.mean())
    if x.size < 2 or y.size < 2:
        return diff, math.nan, math.nan, math.nan
    vx, vy = float(x.var(ddof=1)) / x.size, float(y.var(ddof=1)) / y.size
    se = math.sqrt(vx + vy)
    if se == 0.0:
        return diff, diff, diff, (1.0 if diff == 0.0 else 0.0)
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    from scipy import stats

    half = float(stats.t.ppf(0.5 + level / 2.0, df)) * se
    p = float(2.0 * stats.t.sf(abs(diff) / se, df))
    return diff, diff - half, diff + half, p


@dataclass(frozen=True, eq=False)
class GroupQuality:
    """One quality metric of one explanation, per group of rows.

    Attributes
    ----------
    metric : str
        The metric's name.
    higher_is_better : bool
    groups : list
        The group labels, sorted.
    n_rows : ndarray (n_groups,) int
        Rows of each group where the metric is defined.
    mean, lower, upper : ndarray (n_groups,)
        The metric's mean per group and its Student t-interval at ``level``.
    floor_mean : ndarray (n_groups,)
        The mean noise floor per group (random attributions of the same rows).
    above_floor : ndarray (n_groups,)
        The mean distance from the floor, signed so that positive is better than chance.
    level : float
    between : tuple or None
        The pair :meth:`difference` compares by default.
    """

    metric: str
    higher_is_better: bool
    groups: list[Any]
    n_rows: np.ndarray
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    floor_mean: np.ndarray
    above_floor: np.ndarray
    level: float
    between: tuple[Any, Any] | None
    _values: np.ndarray
    _floor: np.ndarray
    _labels: np.ndarray

    def _rows(self, group: Any, of: str) -> np.ndarray:
        mask = np.array([g is not None and g == group for g in self._labels.tolist()], dtype=bool)
        if of == "values":
            return self._values[mask]
        sign = 1.0 if self.higher_is_better else -1.0
        return sign * (self._values[mask] - self._floor[mask])

    def difference(self, a: Any = None, b: Any = None, *, of: str = "values", level: float | None = None) -> GroupDifference:
        """Group ``a``'s mean minus group ``b``'s, with Welch's t-interval and two-sided p-value.

        Parameters
        ----------
        a, b : group labels, optional
            Default the pair ``between`` given to :func:`quality_by_group` (or the only two groups).
        of : {"values", "above_floor"}
            Compare the metric, or its distance above the noise floor (signed: positive is better).
        level : float, optional
            Coverage of the interval; default :attr:`level`.
        """
        check_choice(of, "of", ["values", "above_floor"])
        level = self.level if level is None else check_level(level)
        if a is None and b is None:
            if self.between is None:
                raise InvalidParameterError(
                    f"a, b: expected the two groups to compare, since there are {len(self.groups)} groups "
                    f"({', '.join(repr(g) for g in self.groups[:20])}) and no default pair, got None"
                )
            a, b = self.between
        else:
            a, b = pick_pair(self._labels, (a, b), name="a, b")
        diff, lower, upper, p = _welch(self._rows(a, of), self._rows(b, of), level)
        better_high = self.higher_is_better or of == "above_floor"
        worse: Any = None
        if math.isfinite(diff) and diff != 0.0:
            worse = (b if diff > 0 else a) if better_high else (a if diff > 0 else b)
        significant = bool(math.isfinite(lower) and (lower > 0.0 or upper < 0.0))
        return GroupDifference(a, b, of, diff, lower, upper, p, worse, significant)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: one entry per group, and the metric's settings."""
        def num(v: Any) -> Any:
            v = float(v)
            return v if math.isfinite(v) else None

        return {
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "level": self.level,
            "groups": [
                {
                    "group": g if isinstance(g, (int, float, bool)) else str(g),
                    "n_rows": int(self.n_rows[k]),
                    "mean": num(self.mean[k]),
                    "lower": num(self.lower[k]),
                    "upper": num(self.upper[k]),
                    "floor_mean": num(self.floor_mean[k]),
                    "above_floor": num(self.above_floor[k]),
                }
                for k, g in enumerate(self.groups)
            ],
        }

    def to_frame(self) -> Any:
        """The per-group table as a pandas DataFrame indexed by group."""
        import pandas as pd

        rows = self.to_dict()["groups"]
        frame = pd.DataFrame(rows).set_index("group")
        return frame.astype({c: float for c in ("mean", "lower", "upper", "floor_mean", "above_floor")})

    def __repr__(self) -> str:
        return f"GroupQuality(metric={self.metric!r}, n_groups={len(self.groups)}, level={self.level})"


def quality_by_group(
    scores: MetricScores, groups: Any, between: tuple[Any, Any] | list[Any] | None = None, *, level: float = 0.95
) -> GroupQuality:
    """A quality metric's mean, interval and noise floor per group of rows, and their differences.

    Parameters
    ----------
    scores : MetricScores
        The per-row scores of one metric (``values`` and ``floor``, one per explained row).
    groups : array-like of shape (n_rows,)
        The group of each row (rows with a missing label take no part).
    between : pair of labels (a, b), optional
        The pair :meth:`GroupQuality.difference` compares by default; may be left out when there are
        exactly two groups (then in sorted order).
    level : float
        Coverage of the intervals.

    Returns
    -------
    GroupQuality

    Examples
    --------
    >>> from xaikit.results.metric_scores import MetricScores
    >>> s = MetricScores(values=[0.9, 0.8, 0.85, 0.4, 0.5, 0.45], floor=[0.1] * 6, method="faithfulness",
    ...                  params={"metric": "faithfulness", "higher_is_better": True})
    >>> q = quality_by_group(s, ["f", "f", "f", "m", "m", "m"])
    >>> q.groups, q.mean.round(3).tolist()
    (['f', 'm'], [0.85, 0.45])
    >>> d = q.difference()
    >>> round(d.difference, 3), d.worse, d.significant
    (0.4, 'm', True)
    """
    if not isinstance(scores, MetricScores):
        raise InvalidParameterError(f"scores: expected a MetricScores (the result of a quality metric), got {describe(scores)}")
    level = check_level(level)
    labels = group_labels(groups, scores.n_rows)
    present = _sorted_labels(list(dict.fromkeys(g for g in labels.tolist() if g is not None)))
    if not present:
        raise InvalidParameterError("groups: expected at least one row with a group label, got none (all missing)")
    pair = pick_pair(labels, between) if between is not None or len(present) == 2 else None
    values = np.asarray(scores.values, dtype=np.float64)
    floor = np.asarray(scores.floor, dtype=np.float64)
    higher = scores.higher_is_better
    sign = 1.0 if higher else -1.0
    stats = np.full((len(present), 6), np.nan)
    counts = np.zeros(len(present), dtype=np.int64)
    for k, g in enumerate(present):
        mask = np.array([lab is not None and lab == g for lab in labels.tolist()], dtype=bool)
        v = values[mask]
        counts[k] = int(np.isfinite(v).sum())
        stats[k, 0:3] = _t_interval(v, level)
        stats[k, 3] = _t_interval(floor[mask], level)[0]
        stats[k, 4] = sign * _t_interval(v - floor[mask], level)[0]
    return GroupQuality(
        metric=scores.metric,
        higher_is_better=higher,
        groups=present,
        n_rows=counts,
        mean=stats[:, 0],
        lower=stats[:, 1],
        upper=stats[:, 2],
        floor_mean=stats[:, 3],
        above_floor=stats[:, 4],
        level=level,
        between=pair,
        _values=values,
        _floor=floor,
        _labels=labels,
    )
