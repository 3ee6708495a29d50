"""Displays of a :class:`~xaikit.results.quality.QualityReport`: the metric table and the disagreement heat map.

:class:`QualityDisplay` draws one metric: per method, its mean over the rows with the interval, beside
the noise floor (what random attributions get) with its interval, so that a method is seen to be
above chance or not. :class:`DisagreementDisplay` draws the methods x methods mean rank correlation
(or top-k overlap) as an annotated heat map.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.plots import _common as c
from xaikit.plots import style

__all__ = ["DisagreementDisplay", "QualityDisplay"]


def _metric_index(q: Any, metric: int | str) -> int:
    names = q.metric_names
    if isinstance(metric, str):
        if metric not in names:
            raise InvalidParameterError(f"metric: expected one of {names}, got {metric!r}")
        return int(names.index(metric))
    if isinstance(metric, (int, np.integer)) and not isinstance(metric, bool) and -len(names) <= int(metric) < len(names):
        return int(metric) % len(names)
    raise InvalidParameterError(f"metric: expected a metric name or a position in [0, {len(names)}), got {describe(metric)}")


class QualityDisplay:
    """One metric per method: the mean with its interval (a coloured dot), the noise floor with its (grey).

    Parameters
    ----------
    methods : list of str
    mean, lower, upper : array (n_methods,)
    floor, floor_lower, floor_upper : array (n_methods,)
    metric : str
    higher_is_better : bool

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    points_, floor_points_ : the two scatter collections

    Examples
    --------
    >>> from xaikit.results.quality import QualityReport
    >>> q = QualityReport(values=[[[0.2, 0.4], [0.5, 0.7]]], floor=[[[0.5, 0.5], [0.6, 0.6]]],
    ...                   rank_correlation=[[1.0, 0.5]], top_k_overlap=[[1.0, 0.5]], pair_names=["a vs b"],
    ...                   higher_is_better=[False], privacy=["", ""], metric_names=["deletion"],
    ...                   method_names=["a", "b"], method="evaluate")
    >>> disp = QualityDisplay.from_explanation(q)
    >>> disp.points_.get_offsets()[:, 0].round(2).tolist(), disp.ax_.get_xlabel()
    ([0.3, 0.6], 'deletion (lower is better)')
    """

    def __init__(self, methods: list[str], mean: Any, lower: Any, upper: Any, floor: Any, floor_lower: Any, floor_upper: Any,
                 *, metric: str, higher_is_better: bool, title: str | None = None) -> None:
        self.methods = list(methods)
        arrays = [np.asarray(a, dtype=np.float64) for a in (mean, lower, upper, floor, floor_lower, floor_upper)]
        for name, arr in zip(("mean", "lower", "upper", "floor", "floor_lower", "floor_upper"), arrays):
            if arr.shape != (len(self.methods),):
                raise InvalidParameterError(f"{name}: expected one value per method ({len(self.methods)}), got shape {arr.shape}")
        self.mean, self.lower, self.upper, self.floor, self.floor_lower, self.floor_upper = arrays
        self.metric, self.higher_is_better, self.title = metric, bool(higher_is_better), title

    @classmethod
    def from_explanation(cls, exp: Any, *, metric: int | str = 0, ax: Any = None) -> QualityDisplay:
        """Draw one metric of a QualityReport (the first by default; by name or position)."""
        c.check_result(exp, ("QualityReport",), "QualityDisplay")
        i = _metric_index(exp, metric)
        table = exp.table
        part = table[table["metric"] == exp.metric_names[i]]
        disp = cls(exp.method_names, part["mean"], part["lower"], part["upper"], part["floor"], part["floor_lower"],
                   part["floor_upper"], metric=exp.metric_names[i], higher_is_better=exp.higher_is_better[i],
                   title=f"{exp.metric_names[i]}: {exp.n_rows} rows, {exp.level:.0%} intervals")
        return disp.plot(ax=ax)

    def plot(self, ax: Any = None) -> QualityDisplay:
        """Draw (into ``ax`` when given) and return self."""
        fig, axes = c.get_axes(ax, (6.4, 0.5 * len(self.methods) + 1.4))
        y = np.arange(len(self.methods))[::-1].astype(np.float64)

        def spans(lo: np.ndarray, hi: np.ndarray, mid: np.ndarray) -> np.ndarray:
            return np.vstack([np.nan_to_num(mid - lo), np.nan_to_num(hi - mid)])

        axes.errorbar(self.floor, y - 0.15, xerr=spans(self.floor_lower, self.floor_upper, self.floor), fmt="none",
                      ecolor=style.NEUTRAL, elinewidth=1.2, capsize=3)
        self.floor_points_ = axes.scatter(self.floor, y - 0.15, color=style.NEUTRAL, marker="s", s=28, label="noise floor", zorder=3)
        axes.errorbar(self.mean, y + 0.15, xerr=spans(self.lower, self.upper, self.mean), fmt="none",
                      ecolor=style.POSITIVE, elinewidth=1.6, capsize=3)
        self.points_ = axes.scatter(self.mean, y + 0.15, color=style.POSITIVE, s=36, label="explanation", zorder=3)
        axes.legend(frameon=False, loc="best")
        word = "higher" if self.higher_is_better else "lower"
        c.finish_rows(self, fig, axes, ax is None, y=y, labels=self.methods, xlabel=f"{self.metric} ({word} is better)",
                      title=self.title, zero=False)
        return self


class DisagreementDisplay:
    """The mean disagreement statistic of every pair of methods, as an annotated heat map.

    Parameters
    ----------
    matrix : array (n_methods, n_methods)
    methods : list of str
    statistic : str

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    image_ : the AxesImage

    Examples
    --------
    >>> disp = DisagreementDisplay([[1.0, 0.2], [0.2, 1.0]], ["a", "b"]).plot()
    >>> disp.image_.get_array().tolist()
    [[1.0, 0.2], [0.2, 1.0]]
    """

    def __init__(self, matrix: Any, methods: list[str], *, statistic: str = "rank_correlation", title: str | None = None) -> None:
        self.matrix = np.asarray(matrix, dtype=np.float64)
        self.methods = list(methods)
        if self.matrix.shape != (len(self.methods), len(self.methods)):
            raise InvalidParameterError(f"matrix: expected shape ({len(self.methods)}, {len(self.methods)}), got {self.matrix.shape}")
        self.statistic, self.title = statistic, title

    @classmethod
    def from_explanation(cls, exp: Any, *, statistic: str = "rank_correlation", ax: Any = None) -> DisagreementDisplay:
        """Draw a QualityReport's mean ``"rank_correlation"`` or ``"top_k_overlap"`` between its methods."""
        c.check_result(exp, ("QualityReport",), "DisagreementDisplay")
        frame = exp.disagreement(statistic)
        what = "Spearman of |phi|" if statistic == "rank_correlation" else f"top-{exp.params.get('k', '')} overlap"
        return cls(frame.to_numpy(), exp.method_names, statistic=statistic, title=f"agreement between methods: {what}").plot(ax=ax)

    def plot(self, ax: Any = None) -> DisagreementDisplay:
        """Draw (into ``ax`` when given) and return self."""
        k = len(self.methods)
        fig, axes = c.get_axes(ax, (1.0 * k + 2.4, 0.9 * k + 1.4))
        lo = -1.0 if self.statistic == "rank_correlation" else 0.0
        self.image_ = axes.imshow(self.matrix, cmap=c.diverging_colormap() if lo < 0 else "Blues", vmin=lo, vmax=1.0)
        for a in range(k):
            for b in range(k):
                v = self.matrix[a, b]
                axes.text(b, a, "n/a" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=9,
                          color="white" if abs(v) > 0.6 else "black")
        axes.set_xticks(np.arange(k))
        axes.set_xticklabels(self.methods, rotation=30, ha="right")
        axes.set_yticks(np.arange(k))
        axes.set_yticklabels(self.methods)
        fig.colorbar(self.image_, ax=axes, fraction=0.046, pad=0.04)
        if self.title:
            axes.set_title(self.title)
        c.tidy(fig, axes, ax is None, colorbar=True, rotated_x=True)
        self.figure_, self.ax_ = fig, axes
        return self
