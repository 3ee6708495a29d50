"""GroupFairness: what :class:`xaikit.fairness.FairnessReport` computes, as a result that saves and loads.

The result holds the sufficient statistics of every group metric, not the rows: per group, the
(weighted) confusion counts ``TP, FP, FN, TN`` and the number of rows; with scores, the weight, the
sum of scores and the sum of positive labels in each score bin. Every rate, difference and ratio is
computed from them, so a loaded file answers the same questions as the report that wrote it. With
bootstrap intervals (:meth:`FairnessReport.intervals`), the bounds of each per-group metric and of each
disparity are stored beside the estimates.

The metrics of a group (columns of :attr:`GroupFairness.by_group`): ``selection_rate`` (share
predicted positive), ``true_positive_rate``, ``false_positive_rate``, ``precision`` (positive
predictive value), ``accuracy``, ``calibration_error`` (with scores: the weighted mean over the score
bins of ``|mean score - observed rate|``) and ``count`` (rows, unweighted). A rate whose denominator is
zero in a group (no positives for the true positive rate...) is NaN: it is undefined, not 0.

The disparities (:meth:`GroupFairness.difference`, :meth:`GroupFairness.ratio`): ``demographic_parity``
(selection rate), ``equalized_odds`` (the worse of the true and false positive rate gaps),
``equal_opportunity`` (true positive rate), ``predictive_parity`` (precision), ``accuracy`` and
``calibration`` (calibration error), or any per-group metric by its name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from xaikit._validation import check_choice, describe
from xaikit.errors import InvalidParameterError
from xaikit.results.base import Axis, Field, JsonField, Result

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CELLS", "DISPARITIES", "GROUP_METRICS", "GroupFairness", "disparity", "group_rates"]

GROUPS = Axis("groups", names="group_names", prefix="group")
#: The confusion cells of ``counts``, in order: true positives, false positives, false negatives, true negatives.
CELLS = ("tp", "fp", "fn", "tn")
#: The per-group metrics computed from the counts, in the order of ``lower`` and ``upper``.
GROUP_METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy", "calibration_error")
#: Each disparity and the per-group metrics it compares (the worse gap when several).
DISPARITIES: dict[str, tuple[str, ...]] = {
    "demographic_parity": ("selection_rate",),
    "equalized_odds": ("true_positive_rate", "false_positive_rate"),
    "equal_opportunity": ("true_positive_rate",),
    "predictive_parity": ("precision",),
    "accuracy": ("accuracy",),
    "calibration": ("calibration_error",),
}
_METHODS = ("between_groups", "to_overall")


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a / b``, NaN where ``b`` is 0 (an undefined rate), without warnings."""
    out = np.full(np.broadcast(a, b).shape, np.nan)
    np.divide(a, b, out=out, where=b != 0)
    return out


def group_rates(counts: np.ndarray, calibration: np.ndarray | None = None) -> np.ndarray:
    """The per-group metrics of :data:`GROUP_METRICS` from confusion counts ``(..., 4)``: shape ``(..., 6)``.

    ``calibration`` is ``(..., 3, n_bins)``: per bin the weight, the sum of weighted scores and the
    sum of weighted positive labels; without it the calibration error is NaN. Works on any leading
    shape (groups, resamples x groups).

    >>> group_rates(np.array([[3.0, 1.0, 1.0, 5.0]]))[0, :5].round(3).tolist()
    [0.4, 0.75, 0.167, 0.75, 0.8]
    """
    tp, fp, fn, tn = (counts[..., k] for k in range(4))
    total = tp + fp + fn + tn
    out = np.empty((*counts.shape[:-1], len(GROUP_METRICS)))
    out[..., 0] = _div(tp + fp, total)
    out[..., 1] = _div(tp, tp + fn)
    out[..., 2] = _div(fp, fp + tn)
    out[..., 3] = _div(tp, tp + fp)
    out[..., 4] = _div(tp + tn, total)
    if calibration is None:
        out[..., 5] = np.nan
    else:
        weight, score, positive = calibration[..., 0, :], calibration[..., 1, :], calibration[..., 2, :]
        gap = np.abs(_div(score, weight) - _div(positive, weight))
        gap = np.where(weight > 0, gap, 0.0)
        out[..., 5] = _div((weight * gap).sum(axis=-1), weight.sum(axis=-1))
    return out


def _metric_positions(name: str) -> tuple[int, ...]:
    if name in DISPARITIES:
        return tuple(GROUP_METRICS.index(m) for m in DISPARITIES[name])
    if name in GROUP_METRICS:
        return (GROUP_METRICS.index(name),)
    listed = ", ".join(repr(n) for n in (*DISPARITIES, *GROUP_METRICS))
    raise InvalidParameterError(f"metric: expected one of {listed}, got {describe(name)}")


def disparity(rates: np.ndarray, overall: np.ndarray, name: str, *, kind: str, method: str = "between_groups") -> np.ndarray:
    """The difference or ratio ``kind`` of the disparity ``name`` from per-group rates ``(..., n_groups, 6)``
    and the overall rates ``(..., 6)``: shape ``(...)``.

    Groups whose rate is undefined (NaN) are left out; NaN when fewer than one group (``to_overall``) or
    two groups (``between_groups``) have it. Several metrics (equalized odds): the largest difference,
    the smallest ratio (fairlearn's ``agg="worst_case"``).

    >>> r = group_rates(np.array([[3.0, 1.0, 1.0, 5.0], [1.0, 1.0, 3.0, 5.0]]))
    >>> o = group_rates(np.array([4.0, 2.0, 4.0, 10.0]))
    >>> float(disparity(r, o, "demographic_parity", kind="difference")), float(disparity(r, o, "demographic_parity", kind="ratio"))
    (0.2, 0.5)
    """
    check_choice(method, "method", _METHODS)
    values = []
    for k in _metric_positions(name):
        g = rates[..., k]
        defined = np.isfinite(g)
        n_defined = defined.sum(axis=-1)
        if method == "between_groups":
            hi = np.max(np.where(defined, g, -np.inf), axis=-1)
            lo = np.min(np.where(defined, g, np.inf), axis=-1)
            enough = n_defined >= 2
            if kind == "difference":
                v = np.where(enough, hi - lo, np.nan)
            else:
                v = np.where(enough, _div(np.where(enough, lo, 0.0), np.where(enough, hi, 0.0)), np.nan)
        else:
            o = overall[..., k][..., None]
            enough = (n_defined >= 1) & np.isfinite(overall[..., k])
            if kind == "difference":
                v = np.max(np.where(defined, np.abs(g - o), -np.inf), axis=-1)
            else:
                both = np.minimum(_div(g, np.broadcast_to(o, g.shape)), _div(np.broadcast_to(o, g.shape), g))
                both = np.where(np.isnan(both), np.inf, both)
                v = np.min(np.where(defined, both, np.inf), axis=-1)
            v = np.where(enough & np.isfinite(v), v, np.nan)
        values.append(v)
    stacked = np.stack(values)
    with np.errstate(all="ignore"):
        if kind == "difference":
            out = np.fmax.reduce(stacked, axis=0)
        else:
            out = np.fmin.reduce(stacked, axis=0)
    return np.asarray(out, dtype=np.float64)


def _check_group_labels(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int]) -> tuple[tuple[str, ...], ...]:
    columns = store.get("sensitive_names")
    n_groups = lengths["g"]
    if not isinstance(value, (list, tuple)) or len(value) != n_groups:
        raise InvalidParameterError(f"group_labels: expected one list of str per group ({n_groups}), got {describe(value)}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, (list, tuple)) or not all(isinstance(v, str) for v in item):
            raise InvalidParameterError(f"group_labels[{i}]: expected a list of str (one per sensitive column), got {describe(item)}")
        if columns is not None and len(item) != len(columns):
            raise InvalidParameterError(f"group_labels[{i}]: expected {len(columns)} values (one per sensitive column), got {len(item)}")
        out.append(tuple(item))
    return tuple(out)


def _check_columns(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int]) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) for v in value):
        raise InvalidParameterError(f"sensitive_names: expected a non-empty list of str (the sensitive columns), got {describe(value)}")
    return tuple(value)


def _check_intervals(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int]) -> dict[str, tuple[float, float, float, int]]:
    if not isinstance(value, Mapping):
        raise InvalidParameterError(f"disparity_intervals: expected a dict of name -> [value, lower, upper, n_undefined], got {describe(value)}")
    out: dict[str, tuple[float, float, float, int]] = {}
    for key, item in value.items():
        if not isinstance(item, (list, tuple)) or len(item) != 4:
            raise InvalidParameterError(f"disparity_intervals[{key!r}]: expected [value, lower, upper, n_undefined], got {describe(item)}")
        nums = [math.nan if v is None else float(v) for v in item[:3]]
        out[str(key)] = (nums[0], nums[1], nums[2], int(item[3]))
    return out


class GroupFairness(Result):
    """Group fairness of a classifier's decisions: per-group confusion counts, optional calibration bins and intervals.

    Made by :class:`xaikit.fairness.FairnessReport` (``fr.result`` and ``fr.intervals()``); you rarely build
    one by hand.

    Parameters
    ----------
    counts : array-like of shape (n_groups, 4)
        Weighted counts of true positives, false positives, false negatives and true negatives per group.
    n_rows : array-like of int, shape (n_groups,)
        Rows of each group (unweighted).
    calibration : array-like of shape (n_groups, 3, n_bins), optional
        Per score bin: the weight, the weighted sum of scores, the weighted sum of positive labels.
    lower, upper : array-like of shape (n_groups, 6), optional
        Bootstrap bounds of each metric of :data:`GROUP_METRICS` per group.
    group_names : list of str
        One name per group (the values of its sensitive columns joined by ``", "``).
    sensitive_names : list of str
        The sensitive columns.
    group_labels : list of list of str
        Per group, its value in each sensitive column.
    disparity_intervals : dict, optional
        ``"<disparity>_<difference|ratio>"`` -> ``[value, lower, upper, resamples where undefined]``.
    method, params, diagnostics, provenance
        As for every result; ``params`` holds ``pos_label``, ``level``, ``n_boot``, ``stratify``, ``bins``.

    Examples
    --------
    >>> r = GroupFairness(counts=[[3.0, 1.0, 1.0, 5.0], [1.0, 1.0, 3.0, 5.0]], n_rows=[10, 10],
    ...                   group_names=["a", "b"], sensitive_names=["g"], group_labels=[["a"], ["b"]], method="demo")
    >>> r
    GroupFairness(method='demo', n_groups=2)
    >>> round(r.difference("demographic_parity"), 6), round(r.ratio("demographic_parity"), 6)
    (0.2, 0.5)
    """

    kind = "group-fairness"
    plot_kind = "fairness"
    fields = (
        Field("counts", "g.", finite=True, column=None, doc="Read-only float64 array (n_groups, 4): weighted TP, FP, FN, TN."),
        Field("n_rows", "g", dtype="int", doc="Read-only int64 array (n_groups,): rows of each group."),
        Field("calibration", "g..", optional=True, finite=True, column=None,
              doc="Read-only float64 array (n_groups, 3, n_bins): weight, sum of scores, sum of labels per bin; or None."),
        Field("lower", "g.", optional=True, column=None, doc="Read-only float64 array (n_groups, 6): lower bounds, or None."),
        Field("upper", "g.", optional=True, column=None, doc="Read-only float64 array (n_groups, 6): upper bounds, or None."),
        JsonField("sensitive_names", check=_check_columns, optional=False, doc="The sensitive columns."),
        JsonField("group_labels", axis="g", check=_check_group_labels, optional=False, doc="Per group, its value in each sensitive column."),
        JsonField("disparity_intervals", check=_check_intervals, whole="g", doc="Disparity -> (value, lower, upper, undefined), or None."),
    )
    axes = {"g": GROUPS}

    counts: np.ndarray
    n_rows: np.ndarray
    calibration: np.ndarray | None
    lower: np.ndarray | None
    upper: np.ndarray | None
    group_names: list[str]
    sensitive_names: list[str]
    group_labels: list[list[str]]
    disparity_intervals: dict[str, list[float]] | None
    n_groups: int

    def _validate(self) -> None:
        counts = self._store["counts"]
        if counts.shape[1] != 4:
            raise InvalidParameterError(f"counts: expected shape (n_groups, 4) (TP, FP, FN, TN), got {describe(counts)}")
        if bool((counts < 0).any()) or bool((self._store["n_rows"] < 0).any()):
            raise InvalidParameterError("counts: expected counts >= 0")
        cal = self._store["calibration"]
        if cal is not None and cal.shape[1] != 3:
            raise InvalidParameterError(f"calibration: expected shape (n_groups, 3, n_bins), got {describe(cal)}")
        for name in ("lower", "upper"):
            arr = self._store[name]
            if arr is not None and arr.shape[1] != len(GROUP_METRICS):
                raise InvalidParameterError(f"{name}: expected shape (n_groups, {len(GROUP_METRICS)}), got {describe(arr)}")

    @property
    def values(self) -> np.ndarray:
        """The per-group metrics ``(n_groups, 6)`` in the order of :data:`GROUP_METRICS`."""
        return group_rates(self._store["counts"], self._store["calibration"])

    def _overall(self) -> np.ndarray:
        cal = self._store["calibration"]
        return group_rates(self._store["counts"].sum(axis=0), None if cal is None else cal.sum(axis=0))

    @property
    def overall(self) -> pd.Series:
        """The metrics over every row (a pandas Series, ``count`` included)."""
        import pandas as pd

        values = dict(zip(GROUP_METRICS, self._overall().tolist()))
        values["count"] = float(self._store["n_rows"].sum())
        return pd.Series(values, name="overall")

    def _group_index(self) -> pd.Index:
        import pandas as pd

        columns = list(self._store["sensitive_names"])
        labels = self._store["group_labels"]
        if len(columns) == 1:
            return pd.Index([g[0] for g in labels], name=columns[0])
        return pd.MultiIndex.from_tuples([tuple(g) for g in labels], names=columns)

    @property
    def by_group(self) -> pd.DataFrame:
        """One line per group (indexed like fairlearn's ``MetricFrame.by_group``: one level per sensitive column),
        a column per metric of :data:`GROUP_METRICS` (``calibration_error`` only with scores) and ``count``."""
        import pandas as pd

        rates = self.values
        frame = pd.DataFrame(rates, columns=list(GROUP_METRICS), index=self._group_index())
        if self._store["calibration"] is None:
            frame = frame.drop(columns=["calibration_error"])
        frame["count"] = self._store["n_rows"].astype(np.int64)
        return frame

    def to_frame(self) -> pd.DataFrame:
        """One line per group: its name (``group``), its value in each sensitive column and its metrics
        (:attr:`by_group` as columns, with the bounds when the result holds intervals)."""
        frame = self.by_group_intervals() if self._store["lower"] is not None else self.by_group
        frame = frame.reset_index()
        frame.insert(0, "group", self.group_names)
        return frame

    def by_group_intervals(self) -> pd.DataFrame:
        """:attr:`by_group` with ``<metric>_lower`` and ``<metric>_upper`` columns (requires intervals)."""
        lower, upper = self._require_intervals()
        frame = self.by_group
        for k, name in enumerate(GROUP_METRICS):
            if name in frame.columns:
                frame[f"{name}_lower"] = lower[:, k]
                frame[f"{name}_upper"] = upper[:, k]
        return frame

    def _require_intervals(self) -> tuple[np.ndarray, np.ndarray]:
        lower, upper = self._store["lower"], self._store["upper"]
        if lower is None or upper is None:
            raise InvalidParameterError("intervals: this result holds no intervals; compute them with FairnessReport.intervals(n_boot=...)")
        return lower, upper

    def difference(self, metric: str = "demographic_parity", *, method: str = "between_groups") -> float:
        """The largest gap of ``metric`` between two groups (``between_groups``) or to the overall value (``to_overall``).

        ``metric`` is a disparity (``demographic_parity``, ``equalized_odds``, ``equal_opportunity``,
        ``predictive_parity``, ``accuracy``, ``calibration``) or a per-group metric. Groups where the metric
        is undefined are left out. Equalized odds: the larger of the true and false positive rate gaps.
        """
        return float(disparity(self.values, self._overall(), metric, kind="difference", method=method))

    def ratio(self, metric: str = "demographic_parity", *, method: str = "between_groups") -> float:
        """The smallest group value over the largest (``between_groups``), or the smallest of
        ``min(group / overall, overall / group)`` (``to_overall``); equalized odds: the smaller of the two ratios."""
        return float(disparity(self.values, self._overall(), metric, kind="ratio", method=method))

    def disparities(self) -> pd.DataFrame:
        """Every disparity's difference and ratio (between groups), one line each, with the bootstrap
        interval when the result holds one (``lower``, ``upper``, ``undefined``: resamples where it was undefined)."""
        import pandas as pd

        names = [n for n in DISPARITIES if n != "calibration" or self._store["calibration"] is not None]
        stored = self._store["disparity_intervals"] or {}
        rows = []
        for name in names:
            for kind in ("difference", "ratio"):
                key = f"{name}_{kind}"
                value = self.difference(name) if kind == "difference" else self.ratio(name)
                lo, hi, undefined = (stored[key][1], stored[key][2], stored[key][3]) if key in stored else (math.nan, math.nan, 0)
                rows.append((key, value, lo, hi, undefined))
        frame = pd.DataFrame(rows, columns=["disparity", "value", "lower", "upper", "undefined"]).set_index("disparity")
        if not stored:
            frame = frame[["value"]]
        return frame

    def calibration_frame(self) -> pd.DataFrame:
        """Calibration by group: one line per (group, score bin) with its ``mean_score``, ``observed_rate`` and ``weight``
        (empty bins left out). Requires scores."""
        import pandas as pd

        cal = self._store["calibration"]
        if cal is None:
            raise InvalidParameterError("calibration: this result holds no scores; give y_score to FairnessReport")
        edges = self.params.get("bins")
        n_bins = cal.shape[2]
        weight, score, positive = cal[:, 0], cal[:, 1], cal[:, 2]
        g, b = np.nonzero(weight > 0)
        frame = pd.DataFrame({
            "group": [self.group_names[i] for i in g],
            "bin": b,
            "bin_low": [float(edges[j]) if isinstance(edges, list) and len(edges) == n_bins + 1 else math.nan for j in b],
            "mean_score": score[g, b] / weight[g, b],
            "observed_rate": positive[g, b] / weight[g, b],
            "weight": weight[g, b],
        })
        return frame
