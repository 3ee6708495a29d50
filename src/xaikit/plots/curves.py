"""CurveDisplay: deletion / insertion / ROAD curves of a MetricScores: the mean curve with a band, the floor dashed."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.plots import _common as c
from xaikit.plots import style

__all__ = ["CurveDisplay"]


class CurveDisplay:
    """The mean curve over the rows with a band (the 10th to 90th percentile of the rows), and the mean curve
    of the random attributions (the noise floor) as a dashed grey line.

    Parameters
    ----------
    fractions : array of shape (k,)
        The fractions of the features removed (or added) at each point.
    curves : array of shape (n, k)
        One curve per row (NaN points are left out of the mean and band).
    floor_curve : array of shape (k,), optional
    metric : str
    auc : float, optional
        The mean value (area under the curve), shown in the legend.

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    line_ : the mean curve's Line2D
    band_ : the band's PolyCollection
    floor_line_ : the floor's Line2D, or None

    Examples
    --------
    >>> from xaikit.results.metric_scores import MetricScores
    >>> s = MetricScores(values=[0.2, 0.4], floor=[0.5, 0.5], curves=[[1.0, 0.2, 0.0], [1.0, 0.6, 0.0]],
    ...                  method="deletion", params={"metric": "deletion", "higher_is_better": False},
    ...                  diagnostics={"fractions": [0.0, 0.5, 1.0], "floor_curve": [1.0, 0.5, 0.0]})
    >>> disp = CurveDisplay.from_scores(s)
    >>> disp.line_.get_ydata().tolist(), disp.floor_line_.get_ydata().tolist()
    ([1.0, 0.4, 0.0], [1.0, 0.5, 0.0])
    """

    def __init__(self, fractions: Any, curves: Any, *, floor_curve: Any = None, metric: str = "deletion",
                 auc: float | None = None, title: str | None = None) -> None:
        self.fractions = np.asarray(fractions, dtype=np.float64)
        self.curves = np.asarray(curves, dtype=np.float64)
        if self.fractions.ndim != 1 or self.curves.ndim != 2 or self.curves.shape[1] != self.fractions.size:
            raise InvalidParameterError(
                f"curves: expected shape (n_rows, {self.fractions.size}) (one point per fraction), got {self.curves.shape}"
            )
        self.floor_curve = None if floor_curve is None else np.asarray(floor_curve, dtype=np.float64)
        if self.floor_curve is not None and self.floor_curve.shape != self.fractions.shape:
            raise InvalidParameterError(
                f"floor_curve: expected shape ({self.fractions.size},) (one point per fraction), got {self.floor_curve.shape}"
            )
        self.metric = metric
        self.auc = auc
        self.title = title

    @classmethod
    def from_scores(cls, scores: Any, *, ax: Any = None) -> CurveDisplay:
        """Draw the curves of a :class:`~xaikit.results.metric_scores.MetricScores` (into ``ax`` when given)."""
        c.check_result(scores, ("MetricScores",), "CurveDisplay")
        if scores.curves is None:
            raise InvalidParameterError(
                f"scores: expected a MetricScores with curves (deletion, insertion, road), got {scores.metric!r} without curves"
            )
        k = scores.curves.shape[1]
        fractions = scores.diagnostics.get("fractions", np.linspace(0.0, 1.0, k).tolist())
        floor = scores.diagnostics.get("floor_curve")
        disp = cls(fractions, scores.curves, floor_curve=floor, metric=scores.metric, auc=scores.mean(),
                   title=f"{scores.metric} ({scores.n_rows} rows)")
        return disp.plot(ax=ax)

    from_explanation = from_scores

    def plot(self, ax: Any = None) -> CurveDisplay:
        """Draw (into ``ax`` when given) and return self."""
        import warnings

        fig, axes = c.get_axes(ax, (6.4, 4.0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a point NaN in every row stays NaN
            mean = np.nanmean(self.curves, axis=0)
            low, high = np.nanpercentile(self.curves, [10, 90], axis=0)
        label = self.metric if self.auc is None else f"{self.metric} (AUC {self.auc:.3g})"
        self.band_ = axes.fill_between(self.fractions, low, high, color=style.NEGATIVE, alpha=0.2, lw=0, label="10-90% of rows")
        (self.line_,) = axes.plot(self.fractions, mean, color=style.NEGATIVE, lw=1.8, label=label)
        self.floor_line_ = None
        if self.floor_curve is not None:
            drawn = np.isfinite(self.floor_curve)  # the steps the random curves were evaluated at
            (self.floor_line_,) = axes.plot(self.fractions[drawn], self.floor_curve[drawn], ls="--", color=style.NEUTRAL,
                                            lw=1.2, label="random attributions")
        axes.set_xlim(0.0, 1.0)
        axes.set_xlabel("fraction of features " + ("added" if self.metric == "insertion" else "removed"))
        axes.set_ylabel("model output")
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        axes.legend(frameon=False)
        if self.title:
            axes.set_title(self.title)
        c.tidy(fig, axes, ax is None)
        self.figure_, self.ax_ = fig, axes
        return self
