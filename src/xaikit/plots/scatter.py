"""ScatterDisplay: a feature's value against its attribution (a dependence plot)."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.plots import _common as c
from xaikit.plots import style

__all__ = ["ScatterDisplay", "strongest_interaction"]


def strongest_interaction(values: np.ndarray, data: np.ndarray, feature: int, *, n_bins: int = 10, max_rows: int = 10_000) -> int | None:
    """The feature whose values best explain how the attribution of ``feature`` varies at a given value of it.

    The rows are cut into ``n_bins`` quantile bins of ``feature``'s value; within each bin, where
    ``feature``'s own trend is nearly constant, the |Pearson correlation| of its attribution with
    each other feature's values is measured, and the feature of the largest mean over the bins
    (weighted by bin size) wins. Columns that are constant, or not numbers, score 0. At most
    ``max_rows`` evenly spaced rows are used, so the choice is deterministic. None when nothing scores.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3))
    >>> v = np.stack([X[:, 0] * X[:, 2], X[:, 1], X[:, 2]], axis=1)
    >>> strongest_interaction(v, X, 0)
    2
    """
    n, d = data.shape
    take = np.linspace(0, n - 1, min(n, max_rows)).astype(np.int64) if n > max_rows else np.arange(n)
    x = data[take, feature]
    y = values[take, feature]
    others = np.nan_to_num(data[take].astype(np.float64), nan=0.0)
    known = np.isfinite(data[take])
    order = np.argsort(np.where(np.isfinite(x), x, np.inf), kind="stable")
    score = np.zeros(d)
    total = 0
    for chunk in np.array_split(order, max(1, min(n_bins, len(order) // 5))):
        if len(chunk) < 3:
            continue
        yy = y[chunk] - y[chunk].mean()
        cols = others[chunk]
        ok = known[chunk].all(axis=0)
        cols = cols - cols.mean(axis=0)
        denom = np.sqrt((cols**2).sum(axis=0) * (yy**2).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.where((denom > 0) & ok, np.abs(cols.T @ yy) / np.where(denom > 0, denom, 1.0), 0.0)
        score += len(chunk) * corr
        total += len(chunk)
    score[feature] = 0.0
    if total == 0 or score.max() <= 0:
        return None
    return int(np.argmax(score))


class ScatterDisplay:
    """One dot per row: x = the feature's value, y = its attribution; coloured by another feature.

    ``colour_by="auto"`` picks the feature of strongest interaction: for an Interaction result the
    feature ``k`` with the largest mean |interaction| with this one; for an Attribution the one
    chosen by :func:`strongest_interaction`. With standard errors, each dot gets a vertical error bar.

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    collection_ : PathCollection of the dots
    errorbars_ : ErrorbarContainer or None
    colour_feature : str or None, the feature that colours the dots

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> exp = xk.Attribution(values=(X * 2)[:, :, None], base_values=np.zeros((6, 1)), data=X,
    ...                      feature_names=["a", "b"], method="demo")
    >>> disp = xk.plots.ScatterDisplay.from_explanation(exp, feature="a", colour_by=None)
    >>> disp.x.tolist() == X[:, 0].tolist(), disp.y.tolist() == (2 * X[:, 0]).tolist()
    (True, True)
    """

    def __init__(
        self,
        x: Any,
        y: Any,
        feature_name: str,
        *,
        colour: Any = None,
        colour_feature: str | None = None,
        errors: Any = None,
        title: str | None = None,
    ) -> None:
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        if self.x.shape != self.y.shape or self.x.ndim != 1:
            raise InvalidParameterError(f"y: expected the shape of x {self.x.shape}, got {self.y.shape}")
        self.feature_name = feature_name
        self.colour = None if colour is None else np.asarray(colour, dtype=np.float64)
        self.colour_feature = colour_feature
        self.errors = None if errors is None else np.asarray(errors, dtype=np.float64)
        self.title = title

    @classmethod
    def from_explanation(
        cls,
        exp: Any,
        *,
        feature: int | str,
        target: int | str | None = None,
        colour_by: int | str | None = "auto",
        show_uncertainty: bool = True,
        ax: Any = None,
    ) -> ScatterDisplay:
        """Draw the dependence of one feature of an Attribution or Interaction that holds its data.

        Parameters
        ----------
        exp : Attribution or Interaction
            Must hold the explained data (``data``).
        feature : int or str
            The feature on the x axis.
        target : int or str, optional
            Required when the result has several outputs.
        colour_by : "auto", int, str or None
            The feature that colours the dots; None for one colour.
        show_uncertainty : bool
        ax : matplotlib Axes, optional
        """
        c.check_result(exp, ("Attribution", "Interaction"), "ScatterDisplay")
        attr = c.as_attribution(exp, "ScatterDisplay")
        j = c.resolve_target(attr, target)
        show_uncertainty = c.check_bool(show_uncertainty, "show_uncertainty")
        names = attr.feature_names
        f = _feature_position(feature, names, "feature")
        data = c.numeric_data(attr)
        if data is None:
            raise InvalidParameterError("exp: expected a result that holds the explained data (data=) for ScatterDisplay, got data=None")
        values = attr.values[:, :, j]
        k: int | None
        if colour_by is None:
            k = None
        elif isinstance(colour_by, str) and colour_by == "auto":
            if type(exp).__name__ == "Interaction":
                strength = np.abs(exp.values[:, f, :, j]).mean(axis=0) if exp.n_rows else np.zeros(len(names))
                strength[f] = -1.0
                k = int(np.argmax(strength)) if len(names) > 1 and strength.max() > 0 else None
            else:
                k = strongest_interaction(values, data, f)
        else:
            k = _feature_position(colour_by, names, "colour_by")
        se = c.std_err_of(attr, j) if show_uncertainty else None
        disp = cls(
            data[:, f], values[:, f], names[f], colour=None if k is None else data[:, k], colour_feature=None if k is None else names[k],
            errors=None if se is None else se[:, f], title=f"{attr.method}: {attr.output_names[j]}",
        )
        return disp.plot(ax=ax, show_uncertainty=show_uncertainty)

    def plot(self, ax: Any = None, *, show_uncertainty: bool = True) -> ScatterDisplay:
        """Draw the dots (into ``ax`` when given) and return self."""
        fig, axes = c.get_axes(ax, (6.4, 4.4))
        n = len(self.x)
        size = float(np.clip(20.0 * np.sqrt(500.0 / max(n, 1)), 1.0, 20.0))
        self.errorbars_ = None
        if show_uncertainty and self.errors is not None:
            self.errorbars_ = axes.errorbar(self.x, self.y, yerr=self.errors, fmt="none", ecolor=style.NEUTRAL, lw=0.6, alpha=0.6, zorder=1)
        self.colorbar_ = None
        if self.colour is None:
            self.collection_ = axes.scatter(self.x, self.y, s=size, color=style.POSITIVE, linewidths=0, zorder=2, rasterized=n > 20_000)
        else:
            from xaikit.plots.beeswarm import normalise_feature_values

            cmap = c.feature_colormap()
            norm = normalise_feature_values(self.colour[:, None], n)[:, 0]
            grey = np.array([*style.hex_to_rgb(style.NEUTRAL), 1.0])
            colours = np.where(np.isnan(norm)[:, None], grey, cmap(np.nan_to_num(norm)))
            self.collection_ = axes.scatter(self.x, self.y, s=size, c=colours, linewidths=0, zorder=2, rasterized=n > 20_000)
            from matplotlib.cm import ScalarMappable

            bar = fig.colorbar(ScalarMappable(cmap=cmap), ax=axes, ticks=[0, 1], aspect=40, pad=0.01)
            bar.set_ticklabels(["low", "high"])
            bar.set_label(str(self.colour_feature))
            self.colorbar_ = bar
        axes.axhline(0.0, color=style.NEUTRAL, lw=0.8, zorder=0)
        axes.set_xlabel(self.feature_name)
        axes.set_ylabel(f"attribution of {self.feature_name}")
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        if self.title:
            axes.set_title(self.title)
        c.tidy(fig, axes, ax is None, colorbar=self.colorbar_ is not None)
        self.figure_, self.ax_ = fig, axes
        return self


def _feature_position(key: Any, names: list[str], param: str) -> int:
    if isinstance(key, str):
        if key not in names:
            listed = ", ".join(repr(n) for n in names[:10]) + (", ..." if len(names) > 10 else "")
            raise InvalidParameterError(f"{param}: expected a feature name among {listed}, got {key!r}")
        return names.index(key)
    if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
        raise InvalidParameterError(f"{param}: expected a feature name or position, got {describe(key)}")
    if not -len(names) <= int(key) < len(names):
        raise InvalidParameterError(f"{param}: expected a position in [{-len(names)}, {len(names) - 1}], got {int(key)}")
    return int(key) % len(names)
