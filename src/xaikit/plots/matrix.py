"""HeatmapDisplay (rows x features), DecisionDisplay (cumulative paths) and InteractionDisplay (pairs)."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import check_choice
from xaikit.errors import InvalidParameterError
from xaikit.plots import _common as c
from xaikit.plots import style

__all__ = ["HeatmapDisplay", "DecisionDisplay", "InteractionDisplay"]


def _top_with_other(values: np.ndarray, names: list[str], scores: np.ndarray, max_display: int) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Columns of the top features (largest score first) and one summing the rest."""
    top, rest = c.top_order(scores, max_display)
    cols = values[:, top]
    labels = [names[i] for i in top]
    if len(rest):
        cols = np.concatenate([cols, values[:, rest].sum(axis=1, keepdims=True)], axis=1)
        labels.append(f"{len(rest)} other features")
    return cols, labels, top, rest


class HeatmapDisplay:
    """Rows (x axis) by features (y axis, most important at the top), coloured by the signed value.

    Rows are ordered by ``order``: ``"prediction"`` (largest predicted first), ``"clustering"``
    (the leaf order of an average-linkage clustering of the rows' values; needs scipy and at most
    ``5000`` rows) or ``"input"``. With standard errors, cells within two standard errors of 0 are
    hatched (at most 5000 rows; above, they are drawn faded).

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    image_ : AxesImage
    order_ : ndarray, the row positions in drawing order
    uncertainty_ : the hatching (a ContourSet), or None

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> exp = xk.Attribution(values=[[[1.0], [0.0]], [[3.0], [1.0]]], base_values=np.zeros((2, 1)),
    ...                      feature_names=["a", "b"], method="demo")
    >>> xk.plots.HeatmapDisplay.from_explanation(exp).order_.tolist()
    [1, 0]
    """

    def __init__(
        self,
        values: Any,
        feature_names: list[str],
        *,
        order: Any = None,
        uncertain: Any = None,
        title: str | None = None,
    ) -> None:
        self.values = np.asarray(values, dtype=np.float64)
        if self.values.ndim != 2 or self.values.shape[1] != len(feature_names):
            raise InvalidParameterError(f"values: expected shape (n_rows, {len(feature_names)}), got {self.values.shape}")
        self.feature_names = list(feature_names)
        self.order = np.arange(len(self.values)) if order is None else np.asarray(order, dtype=np.int64)
        self.uncertain = None if uncertain is None else np.asarray(uncertain, dtype=bool)
        self.title = title
        self.order_ = self.order

    @classmethod
    def from_explanation(
        cls,
        exp: Any,
        *,
        target: int | str | None = None,
        order: str = "prediction",
        max_display: int = 10,
        show_uncertainty: bool = True,
        ax: Any = None,
    ) -> HeatmapDisplay:
        """Draw an Attribution or Interaction as a rows x features heat map.

        Parameters
        ----------
        exp : Attribution or Interaction
        target : int or str, optional
            Required when the result has several outputs.
        order : "prediction", "clustering" or "input"
        max_display : int
            Number of feature rows, the last summing the features left out.
        show_uncertainty : bool
        ax : matplotlib Axes, optional
        """
        attr = c.as_attribution(exp, "HeatmapDisplay")
        j = c.resolve_target(attr, target)
        order = check_choice(order, "order", ["prediction", "clustering", "input"])
        max_display = c.check_positive_int(max_display, "max_display")
        show_uncertainty = c.check_bool(show_uncertainty, "show_uncertainty")
        if attr.n_rows == 0:
            raise InvalidParameterError("exp: expected a result with rows to draw, got 0 rows")
        values = attr.values[:, :, j]
        cols, labels, top, rest = _top_with_other(values, attr.feature_names, attr.mean_abs()[:, j], max_display)
        if order == "prediction":
            pred = values.sum(axis=1) + attr.base_values[:, j]
            row_order = np.argsort(-pred, kind="stable")
        elif order == "clustering":
            if attr.n_rows > 5000:
                raise InvalidParameterError(f"order: 'clustering' draws at most 5000 rows, got {attr.n_rows}; use order='prediction'")
            row_order = np.arange(attr.n_rows)
            if attr.n_rows > 2:
                from scipy.cluster.hierarchy import leaves_list, linkage

                row_order = leaves_list(linkage(cols, method="average"))
        else:
            row_order = np.arange(attr.n_rows)
        se = c.std_err_of(attr, j) if show_uncertainty else None
        uncertain = None
        if se is not None:
            se_cols = se[:, top]
            if len(rest):
                se_cols = np.concatenate([se_cols, se[:, rest].sum(axis=1, keepdims=True)], axis=1)
            uncertain = np.abs(cols) < 2 * se_cols
        disp = cls(cols, labels, order=row_order, uncertain=uncertain, title=f"{attr.method}: {attr.output_names[j]}")
        return disp.plot(ax=ax, show_uncertainty=show_uncertainty)

    def plot(self, ax: Any = None, *, show_uncertainty: bool = True) -> HeatmapDisplay:
        """Draw the heat map (into ``ax`` when given) and return self."""
        n, k = self.values.shape
        fig, axes = c.get_axes(ax, (8.0, 1.4 + 0.35 * max(k, 1)))
        mat = self.values[self.order].T  # (k, n)
        finite = np.abs(mat[np.isfinite(mat)])
        vmax = float(np.quantile(finite, 0.99)) if finite.size else 1.0
        vmax = vmax if vmax > 0 else (float(finite.max()) if finite.size and finite.max() > 0 else 1.0)
        self.uncertainty_ = None
        faded = None
        if show_uncertainty and self.uncertain is not None:
            faded = self.uncertain[self.order].T
        cmap = c.diverging_colormap()
        if faded is not None and n > 5000:
            from matplotlib.colors import Normalize

            rgba = cmap(Normalize(-vmax, vmax)(mat))
            rgba[faded] = 0.5 * rgba[faded] + 0.5
            self.image_ = axes.imshow(rgba, aspect="auto", interpolation="nearest", extent=(-0.5, n - 0.5, k - 0.5, -0.5))
        else:
            self.image_ = axes.imshow(mat, aspect="auto", interpolation="nearest", cmap=cmap, vmin=-vmax, vmax=vmax,
                                      extent=(-0.5, n - 0.5, k - 0.5, -0.5))
            if faded is not None and faded.any():
                import matplotlib as mpl

                with mpl.rc_context({"hatch.color": "#444444", "hatch.linewidth": 0.5}):
                    self.uncertainty_ = axes.contourf(
                        np.arange(n), np.arange(k), faded.astype(np.float64), levels=[0.5, 1.5], hatches=["////"], colors="none"
                    )
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        fig.colorbar(ScalarMappable(Normalize(-vmax, vmax), cmap), ax=axes, label="attribution", aspect=30, pad=0.01)
        axes.set_yticks(np.arange(k))
        axes.set_yticklabels(self.feature_names)
        axes.set_xlabel("rows")
        if self.title:
            axes.set_title(self.title)
        c.tidy(fig, axes, ax is None, colorbar=True)
        self.figure_, self.ax_ = fig, axes
        return self


class DecisionDisplay:
    """One line per row, from the base value (bottom) through each feature's value to the prediction (top).

    Features are ordered by mean |value| over the drawn rows, the most important at the top; lines
    are coloured by the prediction (low blue to high vermillion). With standard errors, a shaded band around each path shows the
    cumulative sum of the standard errors (a bound whatever their correlation).

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    lines_ : LineCollection, one path per row
    uncertainty_ : PolyCollection of the bands, or None
    paths : ndarray (n_rows, n_features + 1), the x of each path

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> exp = xk.Attribution(values=[[[1.0], [-3.0]]], base_values=[[5.0]], feature_names=["a", "b"], method="demo")
    >>> xk.plots.DecisionDisplay.from_explanation(exp).paths.tolist()
    [[5.0, 6.0, 3.0]]
    """

    def __init__(self, values: Any, base_values: Any, feature_names: list[str], *, errors: Any = None, title: str | None = None) -> None:
        self.values = np.asarray(values, dtype=np.float64)
        if self.values.ndim != 2 or self.values.shape[1] != len(feature_names):
            raise InvalidParameterError(f"values: expected shape (n_rows, {len(feature_names)}), got {self.values.shape}")
        self.base_values = np.asarray(base_values, dtype=np.float64).reshape(-1)
        self.feature_names = list(feature_names)
        self.errors = None if errors is None else np.asarray(errors, dtype=np.float64)
        self.title = title
        # columns are least important first: the path climbs to the most important at the top
        self.paths = np.concatenate([self.base_values[:, None], self.base_values[:, None] + self.values.cumsum(axis=1)], axis=1)

    @classmethod
    def from_explanation(
        cls,
        exp: Any,
        *,
        rows: Any = None,
        target: int | str | None = None,
        max_display: int = 20,
        max_rows: int = 1000,
        show_uncertainty: bool = True,
        ax: Any = None,
    ) -> DecisionDisplay:
        """Draw rows of an Attribution or Interaction.

        Parameters
        ----------
        exp : Attribution or Interaction
        rows : list of int, optional
            Default all rows (at most ``max_rows``).
        target : int or str, optional
        max_display : int
            Number of feature steps, the first summing the features left out.
        max_rows : int
            Refuse more rows than this (lines would hide each other).
        show_uncertainty : bool
        ax : matplotlib Axes, optional
        """
        attr = c.as_attribution(exp, "DecisionDisplay")
        j = c.resolve_target(attr, target)
        max_display = c.check_positive_int(max_display, "max_display")
        max_rows = c.check_positive_int(max_rows, "max_rows")
        show_uncertainty = c.check_bool(show_uncertainty, "show_uncertainty")
        if rows is None:
            picked = np.arange(attr.n_rows)
        else:
            seq = rows if isinstance(rows, (list, tuple, np.ndarray)) else [rows]
            picked = np.array([c.resolve_row(r, attr.n_rows, "rows") for r in seq], dtype=np.int64)
        if len(picked) == 0 or len(picked) > max_rows:
            raise InvalidParameterError(f"rows: expected 1 to max_rows={max_rows} rows, got {len(picked)}; choose rows=")
        values = attr.values[picked, :, j]
        cols, labels, top, rest = _top_with_other(values, attr.feature_names, np.abs(values).mean(axis=0), max_display)
        se = c.std_err_of(attr, j) if show_uncertainty else None
        errs = None
        if se is not None:
            s = se[picked]
            errs = s[:, top]
            if len(rest):
                errs = np.concatenate([errs, s[:, rest].sum(axis=1, keepdims=True)], axis=1)
            errs = errs[:, ::-1]
        disp = cls(cols[:, ::-1], attr.base_values[picked, j], labels[::-1], errors=errs, title=f"{attr.method}: {attr.output_names[j]}")
        return disp.plot(ax=ax, show_uncertainty=show_uncertainty)

    def plot(self, ax: Any = None, *, show_uncertainty: bool = True) -> DecisionDisplay:
        """Draw the paths (into ``ax`` when given) and return self."""
        from matplotlib.collections import LineCollection, PolyCollection
        from matplotlib.colors import Normalize

        n, k = self.values.shape
        fig, axes = c.get_axes(ax, (6.4, 1.6 + 0.32 * (k + 1)))
        ys = np.arange(k + 1, dtype=np.float64)
        pts = np.stack([self.paths, np.broadcast_to(ys, self.paths.shape)], axis=-1)  # (n, k+1, 2)
        pred = self.paths[:, -1]
        lo, hi = float(pred.min()), float(pred.max())
        cmap = c.feature_colormap()  # low to high prediction
        norm = Normalize(lo - 1e-12, hi + 1e-12)
        self.uncertainty_ = None
        if show_uncertainty and self.errors is not None:
            band = np.concatenate([np.zeros((n, 1)), self.errors.cumsum(axis=1)], axis=1)
            left = np.stack([self.paths - band, np.broadcast_to(ys, band.shape)], axis=-1)
            right = np.stack([self.paths + band, np.broadcast_to(ys, band.shape)], axis=-1)[:, ::-1]
            polys = np.concatenate([left, right], axis=1)
            self.uncertainty_ = axes.add_collection(PolyCollection(list(polys), facecolors=style.NEUTRAL, alpha=0.15, edgecolors="none"))
        self.lines_ = LineCollection(list(pts), colors=cmap(norm(pred)), linewidths=1.0 if n > 50 else 1.5, alpha=0.8 if n > 50 else 1.0)
        axes.add_collection(self.lines_)
        x_lo, x_hi = float(self.paths.min()), float(self.paths.max())
        if self.uncertainty_ is not None:
            x_lo, x_hi = float((self.paths - band).min()), float((self.paths + band).max())
        pad = 0.05 * ((x_hi - x_lo) or 1.0)
        axes.set_xlim(x_lo - pad, x_hi + pad)
        axes.set_ylim(-0.2, k + 0.2)
        axes.set_yticks(ys)
        axes.set_yticklabels(["base value", *self.feature_names])
        axes.set_xlabel("model output")
        axes.grid(axis="y", color="#DDDDDD", lw=0.6)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        if self.title:
            axes.set_title(self.title)
        c.tidy(fig, axes, ax is None)
        self.figure_, self.ax_ = fig, axes
        return self


class InteractionDisplay:
    """The mean |interaction| of each pair of features (diagonal: main effects), for an Interaction.

    Off-diagonal cells are ``mean |values[:, i, k]|``, each half of the pair's interaction as the
    result stores it. The ``max_display`` features of largest total are shown, largest first.

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    image_ : AxesImage
    matrix : ndarray (k, k)

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> v = np.zeros((1, 2, 2, 1)); v[0, 0, 0, 0] = 1.0; v[0, 0, 1, 0] = v[0, 1, 0, 0] = 0.5
    >>> inter = xk.Interaction(values=v, base_values=[[0.0]], feature_names=["a", "b"], method="demo")
    >>> xk.plots.InteractionDisplay.from_explanation(inter).matrix.tolist()
    [[1.0, 0.5], [0.5, 0.0]]
    """

    def __init__(self, matrix: Any, feature_names: list[str], *, title: str | None = None) -> None:
        self.matrix = np.asarray(matrix, dtype=np.float64)
        if self.matrix.shape != (len(feature_names), len(feature_names)):
            raise InvalidParameterError(f"matrix: expected shape ({len(feature_names)}, {len(feature_names)}), got {self.matrix.shape}")
        self.feature_names = list(feature_names)
        self.title = title

    @classmethod
    def from_explanation(cls, exp: Any, *, target: int | str | None = None, max_display: int = 12, ax: Any = None) -> InteractionDisplay:
        """Draw an Interaction result's mean |interaction| matrix."""
        c.check_result(exp, ("Interaction",), "InteractionDisplay")
        j = c.resolve_target(exp, target)
        max_display = c.check_positive_int(max_display, "max_display")
        if exp.n_rows == 0:
            raise InvalidParameterError("exp: expected a result with rows to draw, got 0 rows")
        mat = exp.mean_abs()[:, :, j]
        order = np.argsort(-mat.sum(axis=1), kind="stable")[:max_display]
        disp = cls(mat[np.ix_(order, order)], [exp.feature_names[i] for i in order], title=f"{exp.method}: {exp.output_names[j]}")
        return disp.plot(ax=ax)

    def plot(self, ax: Any = None) -> InteractionDisplay:
        """Draw the matrix (into ``ax`` when given) and return self."""
        from matplotlib.colors import LinearSegmentedColormap

        k = len(self.feature_names)
        fig, axes = c.get_axes(ax, (1.8 + 0.5 * k, 1.4 + 0.5 * k))
        cmap = LinearSegmentedColormap.from_list("xaikit_magnitude", ["#FFFFFF", style.POSITIVE])
        top = float(self.matrix.max()) if self.matrix.size and self.matrix.max() > 0 else 1.0
        self.image_ = axes.imshow(self.matrix, cmap=cmap, vmin=0.0, vmax=top, interpolation="nearest")
        if k <= 12:
            for (r, q), v in np.ndenumerate(self.matrix):
                axes.text(q, r, f"{v:.2g}", ha="center", va="center", fontsize="x-small", color="white" if v > 0.6 * top else "black")
        axes.set_xticks(np.arange(k))
        axes.set_xticklabels(self.feature_names, rotation=45, ha="right")
        axes.set_yticks(np.arange(k))
        axes.set_yticklabels(self.feature_names)
        fig.colorbar(self.image_, ax=axes, label="mean |interaction|", aspect=30, pad=0.02)
        if self.title:
            axes.set_title(self.title)
        c.tidy(fig, axes, ax is None, colorbar=True, rotated_x=True)
        self.figure_, self.ax_ = fig, axes
        return self
