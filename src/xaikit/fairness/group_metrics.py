"""Group fairness of a classifier's decisions: :class:`FairnessReport` and the fairlearn-style functions.

``FairnessReport(y_true, y_pred, sensitive_features=df[["race", "sex"]])`` is built like fairlearn's
``MetricFrame``: one group per combination of the sensitive columns found in the data (intersectional
groups with several columns), the metrics of each group in :attr:`FairnessReport.by_group`, and the
disparities between groups (:meth:`~FairnessReport.difference`, :meth:`~FairnessReport.ratio`).
:meth:`~FairnessReport.intervals` adds bootstrap intervals, computed for all resamples at once from
the per-group sums (see :mod:`xaikit.fairness.bootstrap`).

Why a report class and a result: the report keeps the labels, predictions and groups it was given,
which the bootstrap resamples; the result it makes (:class:`~xaikit.results.fairness.GroupFairness`,
``fr.result`` and ``fr.intervals()``) keeps only per-group sums, from which every metric follows, so it
saves, loads, draws and goes into a report without carrying a single row of the data.

Conventions that differ from fairlearn on purpose: a rate whose denominator is zero in a group (no
positive label for the true positive rate, no positive decision for precision) is NaN, not 0, and that
group is left out of the disparity (with a warning naming it); groups are named by the ``str`` of their
values; only the combinations present in the data are groups.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from xaikit._validation import RandomState, check_int, check_level, describe
from xaikit.errors import InvalidParameterError
from xaikit.fairness.bootstrap import Tally, bootstrap_sums, percentile_interval
from xaikit.results.fairness import DISPARITIES, GROUP_METRICS, GroupFairness, disparity, group_rates

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FairnessReport",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equal_opportunity_difference",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "predictive_parity_difference",
]


def _labels(value: Any, name: str) -> np.ndarray:
    """A 1-D array of labels from a list, array or pandas Series."""
    if isinstance(value, (str, bytes)) or value is None:
        raise InvalidParameterError(f"{name}: expected an array-like of labels (n,), got {describe(value)}")
    arr = np.asarray(getattr(value, "to_numpy", lambda: value)())
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InvalidParameterError(f"{name}: expected a 1-D array-like of labels (n,), got {describe(arr)}")
    return arr


def _is_missing(arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind == "f":
        return np.isnan(arr)
    if arr.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in arr.tolist()], dtype=bool)
    return np.zeros(arr.shape, dtype=bool)


def _positive(y: np.ndarray, name: str, pos_label: Any) -> np.ndarray:
    """``y == pos_label``, after checking that ``y`` is binary."""
    missing = _is_missing(y)
    if missing.any():
        raise InvalidParameterError(f"{name}: expected a label in every row, got {int(missing.sum())} missing value(s)")
    values = list(dict.fromkeys(y.tolist()))
    if len(values) > 2:
        shown = ", ".join(repr(v) for v in values[:5]) + (", ..." if len(values) > 5 else "")
        raise InvalidParameterError(f"{name}: expected binary labels (two values at most), got {len(values)} values ({shown})")
    return np.asarray(y == pos_label, dtype=bool)


def _sensitive(value: Any, n: int) -> tuple[list[str], np.ndarray, list[list[str]]]:
    """``(column names, group code per row, per group its value in each column)``, groups sorted by their values."""
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        frame = value
    elif isinstance(value, pd.Series):
        frame = value.to_frame(name=str(value.name) if value.name is not None else "sensitive_feature_0")
    elif isinstance(value, (str, bytes)) or value is None or isinstance(value, numbers.Number):
        raise InvalidParameterError(f"sensitive_features: expected a DataFrame, Series or array-like (n,) or (n, k), got {describe(value)}")
    else:
        arr = np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value
        if arr.ndim == 1:
            frame = pd.DataFrame({"sensitive_feature_0": arr})
        elif arr.ndim == 2:
            frame = pd.DataFrame({f"sensitive_feature_{j}": arr[:, j] for j in range(arr.shape[1])})
        else:
            raise InvalidParameterError(f"sensitive_features: expected an array-like (n,) or (n, k), got {describe(arr)}")
    if len(frame) != n:
        raise InvalidParameterError(f"sensitive_features: expected {n} rows (as y_true), got {len(frame)}")
    if frame.shape[1] == 0:
        raise InvalidParameterError("sensitive_features: expected at least one column, got none")
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"sensitive_features: expected distinct column names, got {names}")
    codes = np.zeros(n, dtype=np.int64)
    uniques: list[list[str]] = []
    for column, name in zip(frame.columns, names):
        col = frame[column]
        missing = int(col.isna().sum())
        if missing:
            raise InvalidParameterError(
                f"sensitive_features: column {name!r} has {missing} missing value(s); fill them (e.g. 'unknown') or drop those rows"
            )
        try:
            code, values = pd.factorize(col, sort=True)
        except TypeError:
            code, values = pd.factorize(col.astype(str), sort=True)
        codes = codes * len(values) + code
        uniques.append([str(v) for v in values])
    present, group = np.unique(codes, return_inverse=True)
    labels = []
    for c in present.tolist():
        parts = []
        for values in reversed(uniques):
            c, k = divmod(c, len(values))
            parts.append(values[k])
        labels.append(parts[::-1])
    return names, group.astype(np.intp), labels


def _bin_edges(bins: Any) -> np.ndarray:
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
        return np.linspace(0.0, 1.0, check_int(bins, "bins", minimum=1) + 1)
    try:
        edges = np.asarray(bins, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"bins: expected a number of bins or increasing edges, got {describe(bins)}") from None
    if edges.ndim != 1 or edges.size < 2 or not np.isfinite(edges).all() or bool((np.diff(edges) <= 0).any()):
        raise InvalidParameterError(f"bins: expected a number of bins or at least two increasing finite edges, got {describe(bins)}")
    return edges


class FairnessReport:
    """Metrics of a classifier's decisions per group, the gaps between groups, and bootstrap intervals.

    Parameters
    ----------
    y_true : array-like (n,)
        The true labels (two values at most).
    y_pred : array-like (n,)
        The decisions (two values at most).
    sensitive_features : DataFrame, Series or array-like (n,) or (n, k)
        The group columns; with several, each combination found in the data is a group (intersectional).
    y_score : array-like (n,), optional
        Scores (probabilities of the positive label), for calibration by group.
    sample_weight : array-like (n,), optional
        Non-negative row weights (every metric but ``count`` is weighted).
    pos_label : default 1
        The positive label of ``y_true`` and ``y_pred``.
    bins : int or array-like, default 10
        Score bins of the calibration: a number of equal bins over [0, 1], or the edges (scores outside
        the edges go to the end bins).

    Attributes
    ----------
    result : GroupFairness
        The per-group sums (saved, drawn, reported).
    by_group : pandas.DataFrame
        Per group: ``selection_rate``, ``true_positive_rate``, ``false_positive_rate``, ``precision``,
        ``accuracy``, ``calibration_error`` (with ``y_score``) and ``count``.
    overall : pandas.Series
        The same metrics over all rows.

    Examples
    --------
    >>> fr = FairnessReport([1, 0, 1, 1, 0, 0], [1, 0, 0, 1, 1, 0], sensitive_features=["a", "a", "a", "b", "b", "b"])
    >>> fr.by_group["selection_rate"].round(3).tolist()
    [0.333, 0.667]
    >>> round(fr.difference("demographic_parity"), 6), round(fr.ratio("demographic_parity"), 6)
    (0.333333, 0.5)
    >>> round(fr.difference("equalized_odds"), 6)
    0.5
    """

    def __init__(
        self,
        y_true: Any,
        y_pred: Any,
        *,
        sensitive_features: Any,
        y_score: Any = None,
        sample_weight: Any = None,
        pos_label: Any = 1,
        bins: Any = 10,
    ) -> None:
        yt = _labels(y_true, "y_true")
        yp = _labels(y_pred, "y_pred")
        n = yt.shape[0]
        if n == 0:
            raise InvalidParameterError("y_true: expected at least one row, got none")
        if yp.shape[0] != n:
            raise InvalidParameterError(f"y_pred: expected {n} labels (as y_true), got {yp.shape[0]}")
        self._true = _positive(yt, "y_true", pos_label)
        self._pred = _positive(yp, "y_pred", pos_label)
        if not self._true.any() and not self._pred.any():
            seen = ", ".join(repr(v) for v in list(dict.fromkeys([*yt.tolist(), *yp.tolist()]))[:4])
            raise InvalidParameterError(f"pos_label: expected a label of y_true or y_pred ({seen}), got {describe(pos_label)}")
        if sample_weight is None:
            self._weight = np.ones(n)
        else:
            w = _labels(sample_weight, "sample_weight")
            if w.dtype.kind not in "biuf" or w.shape[0] != n:
                raise InvalidParameterError(f"sample_weight: expected {n} non-negative numbers, got {describe(w)}")
            w = w.astype(np.float64)
            if not np.isfinite(w).all() or bool((w < 0).any()):
                raise InvalidParameterError("sample_weight: expected finite numbers >= 0, got negative or non-finite weights")
            self._weight = w
        self._columns, self._group, self._group_labels = _sensitive(sensitive_features, n)
        self._n_groups = len(self._group_labels)
        self._score: np.ndarray | None = None
        self._edges = _bin_edges(bins)
        if y_score is not None:
            s = _labels(y_score, "y_score")
            if s.dtype.kind not in "biuf" or s.shape[0] != n:
                raise InvalidParameterError(f"y_score: expected {n} finite numbers, got {describe(s)}")
            s = s.astype(np.float64)
            if not np.isfinite(s).all():
                raise InvalidParameterError("y_score: expected finite numbers, got NaN or infinity")
            self._score = s
            n_bins = self._edges.size - 1
            self._bin = np.clip(np.searchsorted(self._edges, s, side="right") - 1, 0, n_bins - 1)
        self._cell = np.where(self._true, np.where(self._pred, 0, 2), np.where(self._pred, 1, 3))
        self._pos_label = pos_label
        self.result = self._make_result()

    # ------------------------------------------------------------------ sums

    def _sums(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Per-group counts ``(G, 4)``, rows ``(G,)`` and calibration sums ``(G, 3, bins)`` of the data."""
        G = self._n_groups
        counts = np.bincount(self._group * 4 + self._cell, weights=self._weight, minlength=G * 4).reshape(G, 4)
        rows = np.bincount(self._group, minlength=G)
        cal = None
        if self._score is not None:
            nb = self._edges.size - 1
            key = self._group * nb + self._bin
            w = self._weight
            cal = np.stack([np.bincount(key, weights=v, minlength=G * nb).reshape(G, nb)
                            for v in (w, w * self._score, w * self._true)], axis=1)
        return counts, rows, cal

    def _params(self) -> dict[str, Any]:
        pos = self._pos_label
        pos_json = pos.item() if isinstance(pos, np.generic) else pos
        return {
            "pos_label": pos_json if isinstance(pos_json, (int, float, str, bool)) else str(pos_json),
            "sensitive_features": list(self._columns),
            "bins": self._edges.tolist() if self._score is not None else None,
            "weighted": bool((self._weight != 1.0).any()),
        }

    def _make_result(self, **extra: Any) -> GroupFairness:
        counts, rows, cal = self._sums()
        params = self._params()
        params.update(extra.pop("params", {}))
        return GroupFairness(
            counts=counts, n_rows=rows, calibration=cal, group_names=[", ".join(g) for g in self._group_labels],
            sensitive_names=self._columns, group_labels=self._group_labels, method="group_fairness", params=params, **extra,
        )

    def _warn_undefined(self, metric: str) -> None:
        rates = self.result.values
        compared = DISPARITIES.get(metric, (metric,))
        for k, name in enumerate(GROUP_METRICS):
            if name not in compared:
                continue
            bad = np.flatnonzero(np.isnan(rates[:, k]))
            if bad.size:
                shown = ", ".join(repr(self.result.group_names[i]) for i in bad[:5]) + (", ..." if bad.size > 5 else "")
                warnings.warn(
                    f"{name} is undefined (NaN) for {bad.size} group(s) ({shown}): its denominator is 0 there; "
                    "those groups are left out of the disparity",
                    UserWarning,
                    stacklevel=3,
                )

    # ------------------------------------------------------------------ metrics

    @property
    def by_group(self) -> pd.DataFrame:
        """The metrics of each group (see the class docstring)."""
        return self.result.by_group

    @property
    def overall(self) -> pd.Series:
        """The metrics over all rows."""
        return self.result.overall

    def difference(self, metric: str = "demographic_parity", *, method: str = "between_groups") -> float:
        """The largest gap of ``metric`` between groups (or to the overall value with ``method="to_overall"``).

        ``metric``: ``demographic_parity``, ``equalized_odds``, ``equal_opportunity``, ``predictive_parity``,
        ``accuracy``, ``calibration`` (needs ``y_score``), or a per-group metric name.
        """
        self._check_metric(metric)
        self._warn_undefined(metric)
        return self.result.difference(metric, method=method)

    def ratio(self, metric: str = "demographic_parity", *, method: str = "between_groups") -> float:
        """The smallest group value over the largest (see :meth:`GroupFairness.ratio`)."""
        self._check_metric(metric)
        self._warn_undefined(metric)
        return self.result.ratio(metric, method=method)

    def calibration(self) -> pd.DataFrame:
        """Calibration by group: per group and score bin, the mean score against the observed rate of positives."""
        return self.result.calibration_frame()

    def _check_metric(self, metric: str) -> None:
        if metric in ("calibration", "calibration_error") and self._score is None:
            raise InvalidParameterError(f"metric: {metric!r} needs scores; give y_score to FairnessReport")

    # ------------------------------------------------------------------ bootstrap

    def intervals(
        self, n_boot: int = 1000, *, level: float = 0.95, stratify: bool = True, random_state: RandomState = None,
    ) -> GroupFairness:
        """Bootstrap percentile intervals of every group metric and every disparity: a :class:`GroupFairness`
        holding the estimates (of the data, not of the resamples) with their bounds.

        ``stratify=True`` (default) resamples within each group, keeping its size, so every resample
        has every group. ``stratify=False`` resamples all rows at once: a resample can miss a small group;
        then that group's metrics are NaN in that resample, the disparities of that resample are NaN (a
        gap between all groups cannot be measured without one of them), the quantiles are taken over
        the other resamples, and ``diagnostics["missing_resamples"]`` counts, per group, the resamples that
        missed it (a warning says so). Within a resample, a group whose rate is undefined is left out of
        that disparity, as in the estimate. ``undefined`` in :meth:`GroupFairness.disparities` counts the
        resamples where a disparity was NaN.

        The gap between the largest and the smallest of several groups is larger, on average, in a
        resample than in the data (the extremes of noisy rates), and a ratio smaller: with many small
        groups the percentile interval of a disparity can sit beside its estimate rather than around it.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> g = rng.choice(["a", "b"], 200); y = rng.integers(0, 2, 200); p = rng.integers(0, 2, 200)
        >>> res = FairnessReport(y, p, sensitive_features=g).intervals(200, random_state=0)
        >>> frame = res.disparities(); lo, hi = frame.loc["demographic_parity_difference", ["lower", "upper"]]
        >>> bool(lo <= frame.loc["demographic_parity_difference", "value"] <= hi)
        True
        """
        n_boot = check_int(n_boot, "n_boot", minimum=2)
        level = check_level(level)
        if not isinstance(stratify, (bool, np.bool_)):
            raise InvalidParameterError(f"stratify: expected True or False, got {describe(stratify)}")
        start = time.perf_counter()
        G = self._n_groups
        w = self._weight
        cell_key = self._group * 4 + self._cell
        tallies: list[Tally] = [(cell_key, w, G * 4), (self._group, None, G)]
        if self._score is not None:
            nb = self._edges.size - 1
            bin_key = self._group * nb + self._bin
            tallies += [(bin_key, v, G * nb) for v in (w, w * self._score, w * self._true)]
        sums = bootstrap_sums(tallies, n_boot=n_boot, strata=self._group if stratify else None, random_state=random_state)
        counts = sums[0].reshape(n_boot, G, 4)
        rows = sums[1]
        cal = None if self._score is None else np.stack([s.reshape(n_boot, G, nb) for s in sums[2:]], axis=2)
        missing = rows == 0
        rates = group_rates(counts, cal)
        rates[missing] = np.nan
        overall = group_rates(counts.sum(axis=1), None if cal is None else cal.sum(axis=1))
        lower, upper, _ = percentile_interval(rates, level)
        estimate = self.result
        intervals: dict[str, list[float | int]] = {}
        any_missing = missing.any(axis=1)
        for name in DISPARITIES:
            if name == "calibration" and cal is None:
                continue
            for kind in ("difference", "ratio"):
                values = disparity(rates, overall, name, kind=kind)
                values[any_missing] = np.nan
                lo, hi, bad = percentile_interval(values[:, None], level)
                value = estimate.difference(name) if kind == "difference" else estimate.ratio(name)
                intervals[f"{name}_{kind}"] = [value, float(lo[0]), float(hi[0]), int(bad[0])]
        n_missing = missing.sum(axis=0)
        if n_missing.any():
            worst = int(np.argmax(n_missing))
            warnings.warn(
                f"{int(any_missing.sum())} of {n_boot} resamples missed at least one group (group "
                f"{estimate.group_names[worst]!r} in {int(n_missing[worst])}); their disparities are left out of the "
                "intervals (stratify=True resamples within groups and never misses one)",
                UserWarning,
                stacklevel=2,
            )
        params = {"n_boot": n_boot, "level": level, "stratify": bool(stratify), "interval": "percentile"}
        return self._make_result(
            lower=lower, upper=upper, disparity_intervals=intervals, params=params,
            diagnostics={"missing_resamples": n_missing.astype(np.int64), "runtime_s": time.perf_counter() - start},
            diagnostic_axes={"missing_resamples": "g"}, provenance={"random_state": _seed_json(random_state)},
        )


def _seed_json(random_state: RandomState) -> int | str | None:
    if random_state is None or (isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)):
        return None if random_state is None else int(random_state)
    return type(random_state).__name__


# ----------------------------------------------------------------------------- fairlearn-style functions


def _one(metric: str, kind: str, y_true: Any, y_pred: Any, sensitive_features: Any, method: str, sample_weight: Any) -> float:
    fr = FairnessReport(y_true, y_pred, sensitive_features=sensitive_features, sample_weight=sample_weight)
    return fr.difference(metric, method=method) if kind == "difference" else fr.ratio(metric, method=method)


def demographic_parity_difference(y_true: Any, y_pred: Any, *, sensitive_features: Any, method: str = "between_groups",
                                  sample_weight: Any = None) -> float:
    """The largest gap in selection rate between groups (as fairlearn's function of the same name).

    >>> demographic_parity_difference([0, 0, 1, 1], [1, 0, 1, 1], sensitive_features=["a", "a", "b", "b"])
    0.5
    """
    return _one("demographic_parity", "difference", y_true, y_pred, sensitive_features, method, sample_weight)


def demographic_parity_ratio(y_true: Any, y_pred: Any, *, sensitive_features: Any, method: str = "between_groups",
                             sample_weight: Any = None) -> float:
    """The smallest selection rate of a group over the largest."""
    return _one("demographic_parity", "ratio", y_true, y_pred, sensitive_features, method, sample_weight)


def equalized_odds_difference(y_true: Any, y_pred: Any, *, sensitive_features: Any, method: str = "between_groups",
                              sample_weight: Any = None) -> float:
    """The larger of the true positive rate gap and the false positive rate gap between groups."""
    return _one("equalized_odds", "difference", y_true, y_pred, sensitive_features, method, sample_weight)


def equalized_odds_ratio(y_true: Any, y_pred: Any, *, sensitive_features: Any, method: str = "between_groups",
                         sample_weight: Any = None) -> float:
    """The smaller of the true positive rate ratio and the false positive rate ratio between groups."""
    return _one("equalized_odds", "ratio", y_true, y_pred, sensitive_features, method, sample_weight)


def equal_opportunity_difference(y_true: Any, y_pred: Any, *, sensitive_features: Any, method: str = "between_groups",
                                 sample_weight: Any = None) -> float:
    """The largest true positive rate gap between groups."""
    return _one("equal_opportunity", "difference", y_true, y_pred, sensitive_features, method, sample_weight)


def predictive_parity_difference(y_true: Any, y_pred: Any, *, sensitive_features: Any, method: str = "between_groups",
                                 sample_weight: Any = None) -> float:
    """The largest precision (positive predictive value) gap between groups."""
    return _one("predictive_parity", "difference", y_true, y_pred, sensitive_features, method, sample_weight)
