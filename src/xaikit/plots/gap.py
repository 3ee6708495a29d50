"""GapDisplay: a waterfall of a gap between two groups, from one group's mean output to the other's."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.plots import _common as c

__all__ = ["GapDisplay"]


class GapDisplay:
    """The gap's Shapley values as steps from group B's mean output (bottom) to group A's (top).

    Draws the result of :func:`xaikit.fairness.gap.attribute_gap`: one step per feature, the largest
    |value| at the top, the ``max_display - 1`` largest with a step each and the rest one step, "N other
    features"; a first step "base values" when the groups' mean base values differ (``unequal_base="keep"``).
    Steps are coloured by sign; with bootstrap intervals, each step has an error bar spanning its
    interval (the "other" step none: the intervals of a sum are not the sum of intervals).

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    bars_ : BarContainer, one bar per step, top first
    errorbars_ : ErrorbarContainer or None

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> from xaikit.fairness.gap import attribute_gap
    >>> X = np.array([[1.0, 0.0, 1.0], [3.0, 1.0, 0.0], [0.0, 2.0, 1.0], [2.0, 2.0, 1.0]])
    >>> exp = xk.ExactShapley(lambda Z: Z @ [2.0, -1.0, 0.5], background=X[:1]).explain(X)
    >>> gap = attribute_gap(exp, ["a", "a", "b", "b"], ("a", "b"), n_boot=50, random_state=0)
    >>> disp = GapDisplay.from_explanation(gap)
    >>> disp.labels, disp.start, disp.end
    (['x0', 'x1', 'x2'], 0.5, 3.75)
    """

    def __init__(
        self,
        values: Any,
        labels: list[str],
        start: float,
        *,
        lower: Any = None,
        upper: Any = None,
        group_names: tuple[str, str] = ("A", "B"),
        title: str | None = None,
    ) -> None:
        self.values = np.asarray(values, dtype=np.float64)
        self.labels = list(labels)
        if self.values.ndim != 1 or len(self.labels) != len(self.values):
            raise InvalidParameterError(f"labels: expected one label per value ({len(self.values)}), got {len(self.labels)}")
        self.lower = None if lower is None else np.asarray(lower, dtype=np.float64)
        self.upper = None if upper is None else np.asarray(upper, dtype=np.float64)
        for name, bound in (("lower", self.lower), ("upper", self.upper)):
            if bound is not None and bound.shape != self.values.shape:
                raise InvalidParameterError(f"{name}: expected shape {self.values.shape} (one bound per value), got {bound.shape}")
        self.start = float(start)
        self.end = float(self.start + self.values.sum())
        self.group_names = (str(group_names[0]), str(group_names[1]))
        self.title = title

    @classmethod
    def from_explanation(
        cls,
        exp: Any,
        *,
        target: int | str | None = None,
        max_display: int = 10,
        show_intervals: bool = True,
        ax: Any = None,
    ) -> GapDisplay:
        """Draw the gap attribution returned by ``attribute_gap``.

        Parameters
        ----------
        exp : Attribution
            The result of :func:`~xaikit.fairness.gap.attribute_gap` (one row).
        target : int or str, optional
            The output; required when the gap has several.
        max_display : int
            Number of feature steps, the last summing the features left out.
        show_intervals : bool
            Error bars of the bootstrap intervals, when the gap has them.
        ax : matplotlib Axes, optional
        """
        c.check_result(exp, ("Attribution",), "GapDisplay")
        diagnostics = exp.diagnostics
        if exp.method != "attribute_gap" or exp.n_rows != 1 or "mean_b" not in diagnostics:
            raise InvalidParameterError(
                f"exp: expected the gap attribution returned by attribute_gap (one row, with the groups' mean "
                f"outputs in its diagnostics), got an Attribution of method {exp.method!r} with {exp.n_rows} rows"
            )
        max_display = c.check_positive_int(max_display, "max_display")
        show_intervals = c.check_bool(show_intervals, "show_intervals")
        j = c.resolve_target(exp, target)
        values = np.array(exp.values[0, :, j], dtype=np.float64)
        names = exp.feature_names
        lower = upper = None
        if show_intervals and "ci_lower" in diagnostics:
            lower = np.asarray(diagnostics["ci_lower"][0, :, j], dtype=np.float64)
            upper = np.asarray(diagnostics["ci_upper"][0, :, j], dtype=np.float64)
        top, rest = c.top_order(np.abs(values), max_display)
        labels = [names[i] for i in top]
        shown = list(values[top])
        lows = None if lower is None else list(lower[top])
        highs = None if upper is None else list(upper[top])
        if len(rest):
            labels.append(f"{len(rest)} other features")
            shown.append(float(values[rest].sum()))
            if lows is not None and highs is not None:
                lows.append(float("nan"))
                highs.append(float("nan"))
        base_gap = float(exp.base_values[0, j])
        if base_gap != 0.0:
            labels.append("base values")
            shown.append(base_gap)
            if lows is not None and highs is not None:
                lows.append(float("nan"))
                highs.append(float("nan"))
        a, b = (str(g) for g in exp.params.get("between", ("A", "B")))
        source = exp.params.get("source_method", "")
        title = f"gap {a} - {b}: {exp.output_names[j]}" + (f" ({source})" if source else "")
        disp = cls(shown, labels, float(diagnostics["mean_b"][0, j]), lower=lows, upper=highs, group_names=(a, b), title=title)
        return disp.plot(ax=ax, show_intervals=show_intervals)

    def plot(self, ax: Any = None, *, show_intervals: bool = True) -> GapDisplay:
        """Draw the steps (into ``ax`` when given) and return self."""
        fig, axes = c.get_axes(ax, (6.4, 1.6 + 0.38 * max(len(self.values), 1)))
        self.bars_, y, _, ends = c.steps(axes, self.values, self.start, self.end)
        self.errorbars_ = None
        if show_intervals and self.lower is not None and self.upper is not None:
            known = np.isfinite(self.lower) & np.isfinite(self.upper)
            if known.any():
                below = np.maximum(self.values - self.lower, 0.0)[known]
                above = np.maximum(self.upper - self.values, 0.0)[known]
                self.errorbars_ = axes.errorbar(
                    ends[known], y[known], xerr=np.vstack([below, above]), fmt="none", ecolor="#333333", capsize=3, lw=1
                )
        a, b = self.group_names
        c.finish_rows(self, fig, axes, ax is None, y=y, labels=self.labels, title=self.title, zero=False,
                      xlabel=f"mean of {b} {self.start:.4g}  \u2192  mean of {a} {self.end:.4g}")
        return self
