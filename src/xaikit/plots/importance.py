"""ImportanceDisplay: mean importance per feature, with confidence intervals, sorted."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import check_float, describe
from xaikit.errors import InvalidParameterError
from xaikit.plots import _common as c
from xaikit.plots import style

__all__ = ["ImportanceDisplay"]


class ImportanceDisplay:
    """Horizontal bars of the mean importance of each feature (largest at the top), with error bars
    spanning its confidence interval (:meth:`xaikit.results.Importance.ci`).

    Parameters
    ----------
    values : array of shape (k,)
        Bar lengths in drawing order (top first).
    feature_names : list of str
    lower, upper : arrays of shape (k,), optional
        The interval of each bar (absent: no error bars).
    xlabel, title : str

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    bars_ : matplotlib BarContainer
    errorbars_ : matplotlib ErrorbarContainer or None

    Examples
    --------
    >>> import xaikit as xk
    >>> from xaikit.results.importance import Importance
    >>> imp = Importance(values=[[[0.1, 0.3]], [[0.5, 0.7]]], feature_names=["a", "b"], method="demo")
    >>> disp = ImportanceDisplay.from_explanation(imp)
    >>> disp.feature_names, disp.values.round(3).tolist()
    (['b', 'a'], [0.6, 0.2])
    >>> len(disp.bars_), disp.errorbars_ is not None
    (2, True)
    """

    def __init__(
        self, values: Any, feature_names: list[str], *, lower: Any = None, upper: Any = None,
        xlabel: str = "mean importance", title: str | None = None,
    ) -> None:
        self.values = np.asarray(values, dtype=np.float64)
        self.feature_names = list(feature_names)
        if self.values.ndim != 1 or len(self.feature_names) != len(self.values):
            raise InvalidParameterError(f"feature_names: expected one name per value ({self.values.shape}), got {len(self.feature_names)} names")
        self.lower = None if lower is None else np.asarray(lower, dtype=np.float64)
        self.upper = None if upper is None else np.asarray(upper, dtype=np.float64)
        for name, arr in (("lower", self.lower), ("upper", self.upper)):
            if arr is not None and arr.shape != self.values.shape:
                raise InvalidParameterError(f"{name}: expected shape {self.values.shape}, got {arr.shape}")
        self.xlabel = xlabel
        self.title = title

    @classmethod
    def from_explanation(
        cls, imp: Any, *, target: int | str | None = None, max_display: int = 10, ci: float | None = 0.95, ax: Any = None,
    ) -> ImportanceDisplay:
        """Draw the ``max_display`` most important features of one output of an Importance.

        Parameters
        ----------
        imp : Importance
        target : int or str, optional
            The output (a scoring); required when the result has several.
        max_display : int
            Number of bars (the most important features; the others are left out and named in the title).
        ci : float or None
            The coverage of the error bars (see ``Importance.ci``); None draws none. No bar is drawn for
            an interval that cannot be computed (one repeat and no standard errors).
        ax : matplotlib Axes, optional
        """
        c.check_result(imp, ("Importance",), "ImportanceDisplay")
        max_display = c.check_positive_int(max_display, "max_display")
        if ci is not None:
            ci = check_float(ci, "ci")
            if not 0.0 < ci < 1.0:
                raise InvalidParameterError(f"ci: expected a coverage in (0, 1) or None, got {describe(ci)}")
        j = c.resolve_target(imp, target)
        means = imp.mean()[:, j]
        order = np.argsort(-means, kind="stable")[:max_display]
        lower = upper = None
        if ci is not None:
            lo, hi = imp.ci(ci)
            if np.isfinite(lo[order, j]).all() and np.isfinite(hi[order, j]).all():
                lower, upper = lo[order, j], hi[order, j]
        left_out = len(means) - len(order)
        title = f"{imp.method}: {imp.output_names[j]}" + (f" ({left_out} features not shown)" if left_out else "")
        label = "mean importance" + ("" if lower is None else f" ({round(100 * float(ci or 0))}% interval)")
        disp = cls(means[order], [imp.feature_names[i] for i in order], lower=lower, upper=upper, xlabel=label, title=title)
        return disp.plot(ax=ax)

    def plot(self, ax: Any = None) -> ImportanceDisplay:
        """Draw the bars (into ``ax`` when given) and return self."""
        k = len(self.values)
        fig, axes = c.get_axes(ax, (6.4, 1.2 + 0.35 * max(k, 1)))
        y = np.arange(k)[::-1].astype(np.float64)
        colours = [style.POSITIVE if v >= 0 else style.NEGATIVE for v in self.values]
        self.bars_ = axes.barh(y, self.values, color=colours, height=0.7)
        self.errorbars_ = None
        if self.lower is not None and self.upper is not None:
            xerr = np.vstack([np.maximum(self.values - self.lower, 0.0), np.maximum(self.upper - self.values, 0.0)])
            self.errorbars_ = axes.errorbar(self.values, y, xerr=xerr, fmt="none", ecolor="#333333", capsize=3, lw=1)
        c.finish_rows(self, fig, axes, ax is None, y=y, labels=self.feature_names, xlabel=self.xlabel, title=self.title)
        return self
