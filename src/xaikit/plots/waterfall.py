"""WaterfallDisplay (one row, from the base value to the prediction) and ForceDisplay (rows as stacked bars)."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.plots import _common as c
from xaikit.plots import style

__all__ = ["WaterfallDisplay", "ForceDisplay", "one_row"]


RowParts = tuple[Any, int, int, list[str], np.ndarray, np.ndarray | None, list[Any] | None]


def one_row(exp: Any, row: int | None, target: int | str | None, display: str) -> RowParts:
    """The row's result, position, output, feature names, values, standard errors and feature values."""
    c.check_result(exp, ("Attribution", "Interaction", "RaggedAttribution"), display)
    ragged = type(exp).__name__ == "RaggedAttribution"
    attr: Any = exp if ragged else c.as_attribution(exp, display)
    if row is None:
        if attr.n_rows != 1:
            raise InvalidParameterError(f"row: expected the row to draw (an int) since the result has {attr.n_rows} rows, got None")
        row = 0
    r = c.resolve_row(row, attr.n_rows)
    j = c.resolve_target(attr, target)
    se = c.std_err_of(attr, j)
    if ragged:
        length = int(attr.lengths[r])
        names = attr.row_feature_names[r]
        values = np.array(attr.values[r, :length, j], dtype=np.float64)
        errors = None if se is None else se[r, :length]
        data = None
    else:
        names = attr.feature_names
        values = np.array(attr.values[r, :, j], dtype=np.float64)
        errors = None if se is None else se[r]
        data = None if attr.data is None else list(attr.data[r])
    return attr, r, j, names, values, errors, data


class WaterfallDisplay:
    """One row's attributions as steps from the base value (bottom) to the prediction (top).

    Features are sorted by |value|, the largest at the top; the ``max_display - 1`` largest get a
    step each and the rest one step, "N other features". Steps are coloured by sign. With standard
    errors, each step has an error bar of its value's standard error (the "other" step the sum of
    its features' standard errors, a bound).

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    bars_ : BarContainer, one bar per step, top first
    errorbars_ : ErrorbarContainer or None

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> exp = xk.Attribution(values=[[[2.0], [-0.5], [1.0]]], base_values=[[10.0]],
    ...                      feature_names=["a", "b", "c"], method="demo")
    >>> disp = xk.plots.WaterfallDisplay.from_explanation(exp)
    >>> disp.labels, disp.base_value, disp.prediction
    (['a', 'c', 'b'], 10.0, 12.5)
    """

    def __init__(
        self,
        values: Any,
        labels: list[str],
        base_value: float,
        *,
        errors: Any = None,
        title: str | None = None,
    ) -> None:
        self.values = np.asarray(values, dtype=np.float64)
        self.labels = list(labels)
        if self.values.ndim != 1 or len(self.labels) != len(self.values):
            raise InvalidParameterError(f"labels: expected one label per value ({len(self.values)}), got {len(self.labels)}")
        self.errors = None if errors is None else np.asarray(errors, dtype=np.float64)
        self.base_value = float(base_value)
        self.prediction = float(self.base_value + self.values.sum())
        self.title = title

    @classmethod
    def from_explanation(
        cls,
        exp: Any,
        *,
        row: int | None = None,
        target: int | str | None = None,
        max_display: int = 10,
        show_uncertainty: bool = True,
        ax: Any = None,
    ) -> WaterfallDisplay:
        """Draw one row of an Attribution, Interaction or RaggedAttribution.

        Parameters
        ----------
        exp : Attribution, Interaction or RaggedAttribution
        row : int, optional
            Required when the result has several rows.
        target : int or str, optional
            Required when the result has several outputs.
        max_display : int
            Number of steps, the last summing the features left out.
        show_uncertainty : bool
            Error bars when the result has standard errors.
        ax : matplotlib Axes, optional
        """
        max_display = c.check_positive_int(max_display, "max_display")
        show_uncertainty = c.check_bool(show_uncertainty, "show_uncertainty")
        attr, r, j, names, values, errors, data = one_row(exp, row, target, "WaterfallDisplay")
        top, rest = c.top_order(np.abs(values), max_display)
        labels = [names[i] if data is None else f"{names[i]} = {c.format_value(data[i])}" for i in top]
        shown = list(values[top])
        errs = None if errors is None or not show_uncertainty else list(errors[top])
        if len(rest):
            labels.append(f"{len(rest)} other features")
            shown.append(float(values[rest].sum()))
            if errs is not None and errors is not None:
                errs.append(float(errors[rest].sum()))
        disp = cls(shown, labels, float(attr.base_values[r, j]), errors=errs, title=f"{attr.method}: {attr.output_names[j]}, row {r}")
        return disp.plot(ax=ax, show_uncertainty=show_uncertainty)

    def plot(self, ax: Any = None, *, show_uncertainty: bool = True) -> WaterfallDisplay:
        """Draw the steps (into ``ax`` when given) and return self."""
        fig, axes = c.get_axes(ax, (6.4, 1.6 + 0.38 * max(len(self.values), 1)))
        self.bars_, y, _, ends = c.steps(axes, self.values, self.base_value, self.prediction)
        self.errorbars_ = None
        if show_uncertainty and self.errors is not None:
            self.errorbars_ = axes.errorbar(ends, y, xerr=self.errors, fmt="none", ecolor="#333333", capsize=3, lw=1)
        c.finish_rows(self, fig, axes, ax is None, y=y, labels=self.labels, title=self.title, zero=False,
                      xlabel=f"base value {self.base_value:.4g}  \u2192  prediction {self.prediction:.4g}")
        return self


class ForceDisplay:
    """Each row as a horizontal stacked bar: positive values push from the left up to the prediction
    (vermillion), negative values from the right down to it (blue), the largest next to it.

    Many rows are stacked, one above the other (row 0 at the top), all static matplotlib. With
    standard errors, the segments whose value is within two standard errors of 0 are hatched.

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    positive_, negative_ : BarContainer of the positive and negative segments
    uncertain_ : list of BarContainer of the hatched segments (empty without standard errors)
    predictions_ : ndarray (n_rows,)

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> exp = xk.Attribution(values=[[[2.0], [-0.5]], [[1.0], [1.0]]], base_values=[[0.0], [0.0]],
    ...                      feature_names=["a", "b"], method="demo")
    >>> disp = xk.plots.ForceDisplay.from_explanation(exp)
    >>> disp.predictions_.tolist(), len(disp.positive_), len(disp.negative_)
    ([1.5, 2.0], 3, 1)
    """

    def __init__(
        self,
        values: Any,
        base_values: Any,
        feature_names: list[str],
        *,
        errors: Any = None,
        row_labels: list[str] | None = None,
        title: str | None = None,
    ) -> None:
        self.values = np.asarray(values, dtype=np.float64)
        if self.values.ndim != 2 or self.values.shape[1] != len(feature_names):
            raise InvalidParameterError(f"values: expected shape (n_rows, {len(feature_names)}), got {self.values.shape}")
        self.base_values = np.asarray(base_values, dtype=np.float64).reshape(-1)
        if len(self.base_values) != len(self.values):
            raise InvalidParameterError(f"base_values: expected {len(self.values)} values (one per row), got {len(self.base_values)}")
        self.feature_names = list(feature_names)
        self.errors = None if errors is None else np.asarray(errors, dtype=np.float64)
        self.row_labels = row_labels or [f"row {i}" for i in range(len(self.values))]
        self.title = title

    @classmethod
    def from_explanation(
        cls,
        exp: Any,
        *,
        rows: Any = None,
        target: int | str | None = None,
        max_rows: int = 100,
        show_uncertainty: bool = True,
        ax: Any = None,
    ) -> ForceDisplay:
        """Draw rows of an Attribution or Interaction.

        Parameters
        ----------
        exp : Attribution or Interaction
        rows : int or list of int, optional
            The rows (default all, at most ``max_rows``).
        target : int or str, optional
            Required when the result has several outputs.
        max_rows : int
            Refuse to stack more rows than this (a force plot of thousands of rows is unreadable;
            use HeatmapDisplay or DecisionDisplay).
        show_uncertainty : bool
        ax : matplotlib Axes, optional
        """
        attr = c.as_attribution(exp, "ForceDisplay")
        j = c.resolve_target(attr, target)
        max_rows = c.check_positive_int(max_rows, "max_rows")
        show_uncertainty = c.check_bool(show_uncertainty, "show_uncertainty")
        if rows is None:
            picked = list(range(attr.n_rows))
        elif isinstance(rows, (list, tuple, np.ndarray)):
            picked = [c.resolve_row(r, attr.n_rows, "rows") for r in rows]
        else:
            picked = [c.resolve_row(rows, attr.n_rows, "rows")]
        if not picked or len(picked) > max_rows:
            raise InvalidParameterError(
                f"rows: expected 1 to max_rows={max_rows} rows to stack, got {len(picked)}; choose rows= or use HeatmapDisplay"
            )
        se = c.std_err_of(attr, j) if show_uncertainty else None
        disp = cls(
            attr.values[picked, :, j], attr.base_values[picked, j], attr.feature_names,
            errors=None if se is None else se[picked], row_labels=[f"row {r}" for r in picked],
            title=f"{attr.method}: {attr.output_names[j]}",
        )
        return disp.plot(ax=ax, show_uncertainty=show_uncertainty)

    def segments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Left end and width of each (row, feature) segment, and the predictions.

        Positive values are laid left to right ending at the prediction, smallest first; negative
        ones left to right from the prediction, largest first.
        """
        v = self.values
        pred = self.base_values + v.sum(axis=1)
        pos = np.where(v > 0, v, 0.0)
        neg = np.where(v < 0, -v, 0.0)
        # positives: ascending, so the largest ends at the prediction
        order_p = np.argsort(pos, axis=1, kind="stable")
        sp = np.take_along_axis(pos, order_p, axis=1)
        left_p_sorted = pred[:, None] - sp[:, ::-1].cumsum(axis=1)[:, ::-1]
        left = np.zeros_like(v)
        np.put_along_axis(left, order_p, left_p_sorted, axis=1)
        # negatives: descending, the largest starts at the prediction
        order_n = np.argsort(-neg, axis=1, kind="stable")
        sn = np.take_along_axis(neg, order_n, axis=1)
        left_n_sorted = pred[:, None] + np.concatenate([np.zeros((len(v), 1)), sn.cumsum(axis=1)[:, :-1]], axis=1)
        left_n = np.zeros_like(v)
        np.put_along_axis(left_n, order_n, left_n_sorted, axis=1)
        left = np.where(v < 0, left_n, left)
        return left, np.abs(v), pred

    def plot(self, ax: Any = None, *, show_uncertainty: bool = True, label_fraction: float = 0.08) -> ForceDisplay:
        """Draw the stacked bars (into ``ax`` when given) and return self."""
        n, d = self.values.shape
        fig, axes = c.get_axes(ax, (8.0, 1.2 + 0.45 * n))
        left, width, pred = self.segments()
        y = np.broadcast_to((n - 1 - np.arange(n))[:, None].astype(np.float64), (n, d))
        uncertain = np.zeros((n, d), dtype=bool)
        if show_uncertainty and self.errors is not None:
            uncertain = np.abs(self.values) < 2 * self.errors
        self.uncertain_ = []
        containers = {}
        for key, sign_mask, colour in (("positive_", self.values > 0, style.POSITIVE), ("negative_", self.values < 0, style.NEGATIVE)):
            sure = sign_mask & ~uncertain
            containers[key] = axes.barh(y[sure], width[sure], left=left[sure], height=0.6, color=colour, edgecolor="white", linewidth=0.5)
            unsure = sign_mask & uncertain
            if unsure.any():
                self.uncertain_.append(
                    axes.barh(y[unsure], width[unsure], left=left[unsure], height=0.6, color=colour, alpha=0.45, hatch="///",
                              edgecolor="white", linewidth=0.5, label="within 2 std. errors of 0")
                )
        self.positive_, self.negative_ = containers["positive_"], containers["negative_"]
        span = np.maximum(width.sum(axis=1), 1e-300)
        big = width >= label_fraction * span[:, None]
        for r, f in zip(*np.nonzero(big)):
            axes.text(left[r, f] + width[r, f] / 2, y[r, f], self.feature_names[f], ha="center", va="center", fontsize="x-small", clip_on=True)
        rows_y = (n - 1 - np.arange(n)).astype(np.float64)
        self.predictions_ = pred
        axes.scatter(pred, rows_y, marker="|", s=400, color="#222222", zorder=3, label="prediction")
        if np.allclose(self.base_values, self.base_values[0]):
            axes.axvline(self.base_values[0], color=style.NEUTRAL, ls="--", lw=0.8, label=f"base value {self.base_values[0]:.4g}")
        else:
            axes.scatter(self.base_values, rows_y, marker="|", s=200, color=style.NEUTRAL, zorder=3, label="base value")
        axes.set_yticks(rows_y)
        axes.set_yticklabels([f"{lab}: {p:.4g}" for lab, p in zip(self.row_labels, pred)])
        axes.legend(loc="upper right", fontsize="small", frameon=False)
        for side in ("top", "right", "left"):
            axes.spines[side].set_visible(False)
        if self.title:
            axes.set_title(self.title)
        c.tidy(fig, axes, ax is None)
        self.figure_, self.ax_ = fig, axes
        return self
