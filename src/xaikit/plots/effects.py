"""Effects displays: partial dependence with ICE curves, ALE with its band, 2-D heat maps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.plots import _common as c
from xaikit.plots import style

__all__ = ["EffectsDisplay"]

#: Colour of the ICE curves.
ICE_COLOUR = "#999999"


def _term_positions(eff: Any, terms: Any) -> list[int]:
    n = eff.n_terms
    if terms is None:
        return list(range(n))
    items = [terms] if isinstance(terms, (str, int, np.integer)) else terms
    if isinstance(items, (bytes, dict)) or not isinstance(items, Sequence) or not items:
        raise InvalidParameterError(f"terms: expected a term name or index, or a non-empty list of them, got {describe(terms)}")
    names = eff.term_names
    out = []
    for t in items:
        if isinstance(t, str):
            if t not in names:
                raise InvalidParameterError(f"terms: unknown term {t!r}; available: {', '.join(repr(x) for x in names[:20])}")
            out.append(names.index(t))
        elif isinstance(t, (int, np.integer)) and not isinstance(t, bool) and -n <= int(t) < n:
            out.append(int(t) % n)
        else:
            raise InvalidParameterError(f"terms: expected term names or indices in [{-n}, {n - 1}], got {describe(t)}")
    return out


class EffectsDisplay:
    """One axes per term of an :class:`~xaikit.results.effects.Effects`.

    A 1-D numeric term: the average curve (PD or ALE) in vermillion, ICE curves as thin grey lines
    (at most ``max_ice``, evenly chosen rows), the band ``lower``..``upper`` filled when the result
    has one, and a rug of the feature's deciles at the bottom. A categorical term: one bar per
    category (ICE values as grey points, the band as error bars), labelled by category. A 2-D term:
    a heat map of the average (diverging colours around its mean) with the two features on the axes.

    Attributes
    ----------
    figure_ : matplotlib Figure
    axes_ : list of matplotlib Axes, one per term drawn
    ax_ : the first of ``axes_``
    lines_ : dict, term name -> its average Line2D (1-D numeric terms)
    ice_ : dict, term name -> LineCollection of its ICE curves
    bands_ : dict, term name -> the filled band (PolyCollection)
    bars_ : dict, term name -> BarContainer (categorical terms)
    meshes_ : dict, term name -> QuadMesh (2-D terms)
    rugs_ : dict, term name -> LineCollection of the decile ticks

    Examples
    --------
    >>> import numpy as np
    >>> from xaikit.explainers.global_.partial_dependence import PartialDependence
    >>> X = np.random.default_rng(0).normal(size=(30, 2))
    >>> eff = PartialDependence(lambda X: X[:, 0] ** 2 + X[:, 1], grid_resolution=10, kind="both").explain(X)
    >>> disp = EffectsDisplay.from_explanation(eff, max_ice=5)
    >>> len(disp.axes_), len(disp.ice_["x0"].get_segments())
    (2, 5)
    """

    def __init__(self, eff: Any, terms: list[int], output: int, *, ice: bool = True, max_ice: int = 200) -> None:
        self.eff = eff
        self.terms = terms
        self.output = output
        self.ice = ice
        self.max_ice = max_ice

    @classmethod
    def from_explanation(
        cls,
        eff: Any,
        *,
        terms: Any = None,
        target: int | str | None = None,
        ice: bool = True,
        max_ice: int = 200,
        ax: Any = None,
    ) -> EffectsDisplay:
        """Draw the terms of an Effects result.

        Parameters
        ----------
        eff : Effects
        terms : str, int or list of them, optional
            The terms to draw (names or positions); default all.
        target : int or str, optional
            The output; required when the result has several.
        ice : bool
            Draw the ICE curves when the result has them.
        max_ice : int
            The most ICE curves drawn per term (rows evenly spread over the data).
        ax : matplotlib Axes or list of Axes, optional
            One axes per term drawn; default a new figure with a grid of subplots.
        """
        c.check_result(eff, ("Effects",), "EffectsDisplay")
        j = c.resolve_target(eff, target)
        positions = _term_positions(eff, terms)
        ice = c.check_bool(ice, "ice")
        max_ice = c.check_positive_int(max_ice, "max_ice")
        return cls(eff, positions, j, ice=ice, max_ice=max_ice).plot(ax=ax)

    def plot(self, ax: Any = None) -> EffectsDisplay:
        """Draw every term (into the axes given, one per term) and return self."""
        import matplotlib.pyplot as plt
        from matplotlib.axes import Axes

        k = len(self.terms)
        if ax is None:
            cols = min(3, k)
            rows = -(-k // cols)
            fig, grid = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.0 * rows), squeeze=False)
            axes = list(grid.ravel())
            for extra in axes[k:]:
                extra.set_visible(False)
            axes = axes[:k]
        else:
            given = [ax] if isinstance(ax, Axes) else list(ax) if isinstance(ax, (list, tuple, np.ndarray)) else None
            if given is None or len(given) != k or not all(isinstance(a, Axes) for a in given):
                raise InvalidParameterError(f"ax: expected {k} matplotlib Axes (one per term drawn), got {describe(ax)}")
            axes, fig = given, cast(Any, given[0].figure)
        self.lines_: dict[str, Any] = {}
        self.ice_: dict[str, Any] = {}
        self.bands_: dict[str, Any] = {}
        self.bars_: dict[str, Any] = {}
        self.meshes_: dict[str, Any] = {}
        self.rugs_: dict[str, Any] = {}
        for t, axes_t in zip(self.terms, axes):
            part = self.eff.term(t)
            if len(part["features"]) == 2:
                self._draw_2d(axes_t, part)
            elif part["labels"][0] is not None:
                self._draw_categorical(axes_t, part)
            else:
                self._draw_1d(axes_t, part)
            for side in ("top", "right"):
                axes_t.spines[side].set_visible(False)
        name = self.eff.output_names[self.output]
        if ax is None:
            fig.suptitle(f"{self.eff.method}: {name}", fontsize=10)
            fig.tight_layout()
        self.figure_, self.axes_, self.ax_ = fig, axes, axes[0]
        return self

    def _ice_rows(self, n: int) -> np.ndarray:
        if n <= self.max_ice:
            return np.arange(n)
        return np.unique(np.linspace(0, n - 1, self.max_ice).round().astype(np.intp))

    def _ylabel(self) -> str:
        kind = "ALE" if self.eff.lower is not None or "ale" in self.eff.method else "partial dependence"
        return f"{'centred ' if self.eff.centered else ''}{kind}"

    def _draw_1d(self, axes: Any, part: dict[str, Any]) -> None:
        from matplotlib.collections import LineCollection

        name, j = part["name"], self.output
        x = part["grid_values"][0]
        if self.ice and part["individual"] is not None:
            curves = part["individual"][self._ice_rows(part["individual"].shape[0]), :, j]
            segments = [np.column_stack([x, y]) for y in curves]
            self.ice_[name] = axes.add_collection(LineCollection(segments, colors=ICE_COLOUR, linewidths=0.5, alpha=0.5))
        if part["lower"] is not None and part["upper"] is not None:
            self.bands_[name] = axes.fill_between(x, part["lower"][:, j], part["upper"][:, j], color=style.POSITIVE, alpha=0.2, lw=0)
        (self.lines_[name],) = axes.plot(x, part["average"][:, j], color=style.POSITIVE, lw=2)
        axes.autoscale_view()
        deciles = part["deciles"]
        if deciles is not None and np.isfinite(deciles[0]).any():
            self.rugs_[name] = axes.vlines(deciles[0][np.isfinite(deciles[0])], 0.0, 0.05, transform=axes.get_xaxis_transform(),
                                           color="#333333", lw=1)
        axes.set_xlabel(part["features"][0])
        axes.set_ylabel(self._ylabel())

    def _draw_categorical(self, axes: Any, part: dict[str, Any]) -> None:
        name, j = part["name"], self.output
        labels = part["labels"][0]
        x = np.arange(len(labels), dtype=np.float64)
        avg = part["average"][:, j]
        yerr = None
        if part["lower"] is not None and part["upper"] is not None:
            yerr = np.vstack([avg - part["lower"][:, j], part["upper"][:, j] - avg])
        self.bars_[name] = axes.bar(x, avg, color=style.POSITIVE, width=0.6, yerr=yerr, ecolor="#333333", capsize=3)
        if self.ice and part["individual"] is not None:
            values = part["individual"][self._ice_rows(part["individual"].shape[0]), :, j]
            xs = np.broadcast_to(x, values.shape)
            self.ice_[name] = axes.scatter(xs.ravel(), values.ravel(), s=4, color=ICE_COLOUR, alpha=0.5, zorder=3)
        axes.set_xticks(x)
        axes.set_xticklabels(labels, rotation=45 if max((len(s) for s in labels), default=0) > 6 else 0)
        axes.set_xlabel(part["features"][0])
        axes.set_ylabel(self._ylabel())

    def _draw_2d(self, axes: Any, part: dict[str, Any]) -> None:
        from matplotlib.colors import TwoSlopeNorm

        name, j = part["name"], self.output
        z = part["average"][..., j]  # (g1, g2): first feature along x
        centre = float(np.mean(z))
        spread = float(np.max(np.abs(z - centre)))
        spread = spread if spread > 0 else 1.0
        norm = TwoSlopeNorm(vcenter=centre, vmin=centre - spread, vmax=centre + spread)
        coords = []
        for k in range(2):
            labels = part["labels"][k]
            values = np.arange(len(labels), dtype=np.float64) if labels is not None else part["grid_values"][k]
            coords.append(values)
        self.meshes_[name] = axes.pcolormesh(coords[0], coords[1], z.T, cmap=c.diverging_colormap(), norm=norm, shading="nearest")
        axes.figure.colorbar(self.meshes_[name], ax=axes)
        for k, setter in ((0, axes.set_xticks), (1, axes.set_yticks)):
            labels = part["labels"][k]
            if labels is not None:
                setter(coords[k])
                (axes.set_xticklabels if k == 0 else axes.set_yticklabels)(labels)
        deciles = part["deciles"]
        if deciles is not None:
            if np.isfinite(deciles[0]).any():
                self.rugs_[name] = axes.vlines(deciles[0][np.isfinite(deciles[0])], 0.0, 0.04,
                                               transform=axes.get_xaxis_transform(), color="#333333", lw=1)
            if np.isfinite(deciles[1]).any():
                axes.hlines(deciles[1][np.isfinite(deciles[1])], 0.0, 0.04, transform=axes.get_yaxis_transform(), color="#333333", lw=1)
        axes.set_xlabel(part["features"][0])
        axes.set_ylabel(part["features"][1])
