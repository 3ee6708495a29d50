"""FairnessDisplay: one metric by group, with its bootstrap interval, beside the overall value."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import check_int, describe
from xaikit.errors import InvalidParameterError
from xaikit.plots import _common as c
from xaikit.plots import style

__all__ = ["FairnessDisplay"]


class FairnessDisplay:
    """A horizontal bar per group for one metric, the interval as an error bar, the overall value as a dashed line.

    Parameters
    ----------
    group_names : list of str
    values : array of shape (n_groups,)
        The metric of each group (NaN where undefined: no bar).
    lower, upper : arrays of shape (n_groups,), optional
        The interval of each group.
    overall : float, optional
        The metric over all rows.
    metric : str
        Its name (the x label).
    title : str, optional

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    bars_ : the BarContainer of the groups
    errorbar_ : the ErrorbarContainer of the intervals, or None
    overall_line_ : the Line2D of the overall value, or None

    Examples
    --------
    >>> from xaikit.fairness import FairnessReport
    >>> fr = FairnessReport([1, 0, 1, 1, 0, 0], [1, 0, 0, 1, 1, 0], sensitive_features=["a", "a", "a", "b", "b", "b"])
    >>> disp = FairnessDisplay.from_explanation(fr.result)
    >>> [round(float(b.get_width()), 3) for b in disp.bars_], disp.ax_.get_xlabel()
    ([0.333, 0.667], 'selection_rate')
    """

    def __init__(
        self, group_names: list[str], values: Any, *, lower: Any = None, upper: Any = None, overall: float | None = None,
        metric: str = "selection_rate", title: str | None = None,
    ) -> None:
        self.group_names = [str(g) for g in group_names]
        self.values = np.asarray(values, dtype=np.float64)
        if self.values.shape != (len(self.group_names),):
            raise InvalidParameterError(f"values: expected shape ({len(self.group_names)},) (one per group), got {describe(self.values)}")
        self.lower = None if lower is None else np.asarray(lower, dtype=np.float64)
        self.upper = None if upper is None else np.asarray(upper, dtype=np.float64)
        for name, arr in (("lower", self.lower), ("upper", self.upper)):
            if arr is not None and arr.shape != self.values.shape:
                raise InvalidParameterError(f"{name}: expected shape {self.values.shape} (one per group), got {describe(arr)}")
        self.overall = overall
        self.metric = metric
        self.title = title

    @classmethod
    def from_explanation(cls, exp: Any, *, ax: Any = None, metric: str = "selection_rate", max_groups: int = 30) -> FairnessDisplay:
        """Draw ``metric`` of a :class:`~xaikit.results.fairness.GroupFairness` per group (into ``ax`` when given).

        ``metric`` is a per-group metric (``selection_rate``, ``true_positive_rate``, ``false_positive_rate``,
        ``precision``, ``accuracy``, ``calibration_error``); the ``max_groups`` largest groups are drawn.
        """
        from xaikit.results.fairness import GROUP_METRICS

        c.check_result(exp, ("GroupFairness",), "FairnessDisplay")
        if metric not in GROUP_METRICS:
            listed = ", ".join(repr(m) for m in GROUP_METRICS)
            raise InvalidParameterError(f"metric: expected one of {listed}, got {describe(metric)}")
        max_groups = check_int(max_groups, "max_groups", minimum=1)
        k = GROUP_METRICS.index(metric)
        if metric == "calibration_error" and exp.calibration is None:
            raise InvalidParameterError("metric: 'calibration_error' needs scores; the result was made without y_score")
        keep = np.sort(np.argsort(-exp.n_rows, kind="stable")[:max_groups])
        values = exp.values[keep, k]
        lower = None if exp.lower is None else exp.lower[keep, k]
        upper = None if exp.upper is None else exp.upper[keep, k]
        names = [f"{exp.group_names[i]} (n={int(exp.n_rows[i]):,})" for i in keep]
        overall = float(exp.overall[metric])
        shown = "" if len(keep) == exp.n_groups else f", {len(keep)} largest of {exp.n_groups} groups"
        level = exp.params.get("level")
        interval = f", {round(100 * level)}% bootstrap intervals" if lower is not None and isinstance(level, float) else ""
        disp = cls(names, values, lower=lower, upper=upper, overall=overall, metric=metric,
                   title=f"{metric} by group{shown}{interval}")
        return disp.plot(ax=ax)

    def plot(self, ax: Any = None) -> FairnessDisplay:
        """Draw the bars (into ``ax`` when given) and return self."""
        n = len(self.group_names)
        fig, axes = c.get_axes(ax, (6.4, max(2.0, 0.45 * n + 1.2)))
        y = np.arange(n)[::-1].astype(np.float64)
        widths = np.where(np.isfinite(self.values), self.values, 0.0)
        self.bars_ = axes.barh(y, widths, color=style.NEGATIVE, height=0.6)
        self.errorbar_ = None
        if self.lower is not None and self.upper is not None:
            ok = np.isfinite(self.values) & np.isfinite(self.lower) & np.isfinite(self.upper)
            if ok.any():
                err = np.vstack([self.values[ok] - self.lower[ok], self.upper[ok] - self.values[ok]]).clip(min=0.0)
                self.errorbar_ = axes.errorbar(self.values[ok], y[ok], xerr=err, fmt="none", ecolor="black", capsize=3, lw=1.0)
        self.overall_line_ = None
        if self.overall is not None and np.isfinite(self.overall):
            self.overall_line_ = axes.axvline(self.overall, color=style.POSITIVE, ls="--", lw=1.2, label="overall")
            axes.legend(frameon=False, loc="lower right")
        c.finish_rows(self, fig, axes, ax is None, y=y, labels=self.group_names, xlabel=self.metric, title=self.title)
        return self
