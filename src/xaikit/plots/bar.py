"""BarDisplay: global mean |value| per feature, or one row's signed values."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.plots import _common as c
from xaikit.plots import style

__all__ = ["BarDisplay"]


class BarDisplay:
    """Horizontal bars, one per feature, largest at the top.

    Global mode (``row=None``): the mean |value| of each feature over the rows. One-row mode
    (``row=i``): row ``i``'s signed values, coloured by sign. The ``max_display - 1`` largest
    features get their own bar and the rest one bar, "N other features" (their sum).

    Error bars, when the result has standard errors (``diagnostics["std_err"]``): in one-row mode
    the row's standard error of each value. In global mode a conservative standard error of the
    mean |value|: ``|.|`` never increases a difference, so the standard error of ``|v_i|`` is at
    most that of ``v_i``, and the standard error of a mean is at most the mean of the standard
    errors whatever their correlation; that bound, ``mean_i std_err_i``, is drawn. The "other"
    bar's error is the sum of its features' errors (again a bound).

    Parameters
    ----------
    values : array of shape (k,)
        The bar lengths, in drawing order (top first).
    feature_names : list of str
        The k labels.
    errors : array of shape (k,), optional
        Standard errors, or None.
    xlabel : str
        Label of the x axis.
    signed : bool
        Colour by sign (one-row mode) rather than in one colour.

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    bars_ : matplotlib BarContainer
    errorbars_ : matplotlib ErrorbarContainer or None (absent standard errors, or ``show_uncertainty=False``)

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> exp = xk.Attribution(values=[[[1.0], [-3.0]], [[2.0], [0.5]]], base_values=np.zeros((2, 1)),
    ...                      feature_names=["a", "b"], method="demo")
    >>> disp = xk.plots.BarDisplay.from_explanation(exp)
    >>> disp.feature_names, disp.values.tolist()
    (['b', 'a'], [1.75, 1.5])
    >>> xk.plots.BarDisplay.from_explanation(exp, row=0).values.tolist()
    [-3.0, 1.0]
    """

    def __init__(
        self,
        values: Any,
        feature_names: list[str],
        *,
        errors: Any = None,
        xlabel: str = "mean |attribution|",
        signed: bool = False,
        title: str | None = None,
    ) -> None:
        self.values = np.asarray(values, dtype=np.float64)
        self.feature_names = list(feature_names)
        self.errors = None if errors is None else np.asarray(errors, dtype=np.float64)
        if self.values.ndim != 1 or len(self.feature_names) != len(self.values):
            raise InvalidParameterError(
                f"feature_names: expected one name per value ({self.values.shape}), got {len(self.feature_names)} names"
            )
        if self.errors is not None and self.errors.shape != self.values.shape:
            raise InvalidParameterError(f"errors: expected shape {self.values.shape}, got {self.errors.shape}")
        self.xlabel = xlabel
        self.signed = signed
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
    ) -> BarDisplay:
        """Compute the bars of an Attribution, Interaction or RaggedAttribution and draw them.

        Parameters
        ----------
        exp : Attribution, Interaction or RaggedAttribution
        row : int, optional
            Draw this row's signed values instead of the global mean |value|.
        target : int or str, optional
            The output; required when the result has several.
        max_display : int
            Number of bars, the last one summing the features left out.
        show_uncertainty : bool
            Draw error bars when the result has standard errors.
        ax : matplotlib Axes, optional
        """
        c.check_result(exp, ("Attribution", "Interaction", "RaggedAttribution"), "BarDisplay")
        max_display = c.check_positive_int(max_display, "max_display")
        show_uncertainty = c.check_bool(show_uncertainty, "show_uncertainty")
        ragged = type(exp).__name__ == "RaggedAttribution"
        attr: Any = exp if ragged else c.as_attribution(exp, "BarDisplay")
        j = c.resolve_target(attr, target)
        se_all = c.std_err_of(attr, j) if show_uncertainty else None
        if row is None:
            names = attr.feature_names
            scores = attr.mean_abs()[:, j]
            errors = None
            if se_all is not None and not ragged:
                errors = se_all.mean(axis=0) if len(se_all) else np.zeros(len(names))
            signed, label = False, "mean |attribution|"
        else:
            r = c.resolve_row(row, attr.n_rows)
            if ragged:
                length = int(attr.lengths[r])
                names = attr.row_feature_names[r]
                scores = np.array(attr.values[r, :length, j], dtype=np.float64)
                errors = None if se_all is None else se_all[r, :length]
            else:
                names = attr.feature_names
                scores = np.array(attr.values[r, :, j], dtype=np.float64)
                errors = None if se_all is None else se_all[r]
            signed, label = True, "attribution"
        top, rest = c.top_order(np.abs(scores), max_display)
        shown = list(scores[top])
        labels = [names[i] for i in top]
        errs = None if errors is None else list(errors[top])
        if len(rest):
            shown.append(float(scores[rest].sum()))
            labels.append(f"{len(rest)} other features")
            if errs is not None and errors is not None:
                errs.append(float(errors[rest].sum()))
        out_name = attr.output_names[j]
        title = f"{exp.method}: {out_name}" + ("" if row is None else f", row {c.resolve_row(row, attr.n_rows)}")
        disp = cls(shown, labels, errors=errs, xlabel=label, signed=signed, title=title)
        return disp.plot(ax=ax, show_uncertainty=show_uncertainty)

    def plot(self, ax: Any = None, *, show_uncertainty: bool = True) -> BarDisplay:
        """Draw the bars (into ``ax`` when given) and return self."""
        k = len(self.values)
        fig, axes = c.get_axes(ax, (6.4, 1.2 + 0.35 * max(k, 1)))
        y = np.arange(k)[::-1].astype(np.float64)
        colours = style.sign_colours(self.values) if self.signed else [style.POSITIVE] * k
        self.bars_ = axes.barh(y, self.values, color=colours, height=0.7)
        self.errorbars_ = None
        if show_uncertainty and self.errors is not None:
            self.errorbars_ = axes.errorbar(self.values, y, xerr=self.errors, fmt="none", ecolor="#333333", capsize=3, lw=1)
        c.finish_rows(self, fig, axes, ax is None, y=y, labels=self.feature_names, xlabel=self.xlabel, title=self.title,
                      zero=self.signed)
        return self
