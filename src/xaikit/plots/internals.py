"""Displays of a network's inside: feature maps, top-activating examples, activation statistics,
first-layer filters, weight norms and histograms, gradient flow over training, attribution drift,
and feature visualisations.

Grids of small images are tiled into one image on one matplotlib Axes (a blank line between
tiles), so every display draws on the ``ax`` it is given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.plots import _common as c
from xaikit.plots import style

__all__ = [
    "ActivationStatsDisplay",
    "AttributionDriftDisplay",
    "FeatureMapsDisplay",
    "FeatureVisualizationDisplay",
    "FiltersDisplay",
    "GradientFlowDisplay",
    "TopExamplesDisplay",
    "WeightHistogramsDisplay",
    "WeightNormsDisplay",
    "tile",
]


def tile(images: Any, cols: int | None = None) -> np.ndarray:
    """Images ``(k, h, w)`` side by side in a grid, NaN between them (drawn blank).

    >>> tile(np.ones((3, 2, 2)), cols=2).shape
    (5, 5)
    """
    arr = np.asarray(images, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[0] == 0:
        raise InvalidParameterError(f"images: expected a non-empty stack (k, h, w) of images, got {describe(arr)}")
    k, h, w = arr.shape
    cols = cols or int(np.ceil(np.sqrt(k)))
    rows = int(np.ceil(k / cols))
    out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for i in range(k):
        r, q = divmod(i, cols)
        out[r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = arr[i]
    return out


def _as_grey(image: np.ndarray, channels: str) -> np.ndarray:
    """One input image as (h, w): single-channel images squeezed, several channels averaged."""
    img = np.asarray(image, dtype=np.float64)
    if img.ndim == 3:
        img = img.mean(axis=0) if channels == "first" else img.mean(axis=-1)
    if img.ndim != 2:
        raise InvalidParameterError(f"X: expected images (n, C, H, W), (n, H, W, C) or (n, H, W), got one of shape {img.shape}")
    return img


class _TileDisplay:
    """A grid of tiles on one Axes, with a colour map."""

    figsize = (5.0, 5.0)

    def __init__(self, grid: np.ndarray, *, title: str, cmap: str = "viridis", diverging: bool = False) -> None:
        self.grid = grid
        self.title = title
        self.cmap = cmap
        self.diverging = diverging

    def plot(self, ax: Any = None) -> Any:
        import matplotlib

        fig, axes = c.get_axes(ax, self.figsize)
        base = c.diverging_colormap() if self.diverging else matplotlib.colormaps[self.cmap]
        cmap = base.with_extremes(bad="white")
        finite = self.grid[np.isfinite(self.grid)]
        if self.diverging:
            vmax = float(np.abs(finite).max()) if finite.size else 1.0
            image = axes.imshow(self.grid, cmap=cmap, vmin=-vmax or -1.0, vmax=vmax or 1.0, interpolation="nearest")
        else:
            image = axes.imshow(self.grid, cmap=cmap, interpolation="nearest")
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_title(self.title)
        self.image_ = image
        self.figure_, self.ax_ = fig, axes
        return self


class FeatureMapsDisplay(_TileDisplay):
    """One image's feature maps at a convolution layer, one tile per channel.

    Examples
    --------
    >>> import torch, numpy as np
    >>> from xaikit.internals.activations import layer_activations
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1))
    >>> acts = layer_activations(net, np.zeros((2, 1, 5, 5), dtype=np.float32), layers=["0"], summary=False)
    >>> FeatureMapsDisplay.from_explanation(acts, layer="0", row=1).grid.shape
    (11, 11)
    """

    @classmethod
    def from_explanation(cls, exp: Any, *, layer: str | None = None, row: int = 0, ax: Any = None) -> FeatureMapsDisplay:
        """Draw row ``row``'s maps of ``layer`` (default: the first layer) from a LayerActivations with maps."""
        c.check_result(exp, ("LayerActivations",), "FeatureMapsDisplay")
        name = exp.layer_names[0] if layer is None else layer
        maps = exp[name]
        r = c.resolve_row(row, maps.shape[0])
        one = np.asarray(maps[r], dtype=np.float64)
        if one.ndim != 3:
            raise InvalidParameterError(f"layer: expected a convolution layer with maps (C, H, W) or (H, W, C), got {name!r} of shape {one.shape}")
        if exp.provenance.get("channels") == "last":
            one = np.moveaxis(one, -1, 0)
        disp = cls(tile(one), title=f"{name}: feature maps of row {r}")
        return disp.plot(ax=ax)  # type: ignore[no-any-return]


class TopExamplesDisplay(_TileDisplay):
    """The data set's rows that excite one channel most (recorded by :func:`xaikit.layer_activations`)."""

    @classmethod
    def from_explanation(cls, exp: Any, *, X: Any, layer: str | None = None, channel: int = 0, k: int | None = None,
                         ax: Any = None) -> TopExamplesDisplay:
        """Draw the top rows of ``X`` (the data set the activations were computed on) for ``channel`` of ``layer``."""
        c.check_result(exp, ("LayerActivations",), "TopExamplesDisplay")
        name = exp.layer_names[0] if layer is None else layer
        rows = exp.top_examples(name, channel, k)
        data = np.asarray(X)
        if data.ndim < 3 or data.shape[0] != exp.provenance.get("n_rows", data.shape[0]):
            raise InvalidParameterError(
                f"X: expected the {exp.provenance.get('n_rows')} images the activations were computed on, got {describe(data)}"
            )
        channels = exp.provenance.get("channels", "first")
        disp = cls(tile(np.stack([_as_grey(data[i], channels) for i in rows])), title=f"{name}:{channel}: top rows {rows.tolist()}",
                   cmap="gray_r")
        return disp.plot(ax=ax)  # type: ignore[no-any-return]


class FiltersDisplay(_TileDisplay):
    """The first convolution's filters as images (input channels averaged), diverging colours."""

    @classmethod
    def from_explanation(cls, exp: Any, *, ax: Any = None) -> FiltersDisplay:
        """Draw ``filters`` of a WeightStatistics."""
        c.check_result(exp, ("WeightStatistics",), "FiltersDisplay")
        if exp.filters is None:
            raise InvalidParameterError("exp: expected a WeightStatistics of a network with a 2-D convolution (filters), got none")
        disp = cls(tile(exp.filters.mean(axis=1)), title="first convolution's filters", diverging=True)
        return disp.plot(ax=ax)  # type: ignore[no-any-return]


class AttributionDriftDisplay(_TileDisplay):
    """A probe image's attribution at each snapshot of training, left to right (one colour scale)."""

    @classmethod
    def from_explanation(cls, exp: Any, *, row: int = 0, target: int = 0, ax: Any = None) -> AttributionDriftDisplay:
        """Draw probe row ``row``'s attribution (output ``target``) at each recorded snapshot of a TrainingDynamics."""
        c.check_result(exp, ("TrainingDynamics",), "AttributionDriftDisplay")
        a = exp.attributions
        if a is None:
            raise InvalidParameterError("exp: expected a TrainingDynamics with attribution snapshots (give the recorder an explainer), got none")
        r = c.resolve_row(row, a.shape[1])
        snaps = a[:, r]  # (snapshots, features, outputs): an image's pixels flattened
        side = int(round(np.sqrt(snaps.shape[1])))
        if side * side != snaps.shape[1]:
            raise InvalidParameterError(f"exp: expected the attributions of square images, got {snaps.shape[1]} features")
        j = c.resolve_row(target, snaps.shape[2], "target")
        snaps = snaps[:, :, j].reshape(-1, side, side)
        steps = exp.attribution_steps.tolist()
        disp = cls(tile(snaps, cols=len(snaps)), title=f"attribution of probe row {r} at steps {steps}", diverging=True)
        disp.figsize = (max(4.0, 1.6 * len(snaps)), 2.6)
        return disp.plot(ax=ax)  # type: ignore[no-any-return]


class ActivationStatsDisplay:
    """A table per layer: channels, mean, std, dead channels, share of zeros, share saturated."""

    def __init__(self, rows: list[list[str]], columns: list[str]) -> None:
        self.rows = rows
        self.columns = columns

    @classmethod
    def from_explanation(cls, exp: Any, *, ax: Any = None) -> ActivationStatsDisplay:
        """Draw the table of a LayerActivations.

        Examples
        --------
        >>> import torch, numpy as np
        >>> from xaikit.internals.activations import layer_activations
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU())
        >>> acts = layer_activations(net, np.ones((4, 2), dtype=np.float32), layers=["0", "1"])
        >>> ActivationStatsDisplay.from_explanation(acts).columns[:3]
        ['layer', 'channels', 'mean']
        """
        c.check_result(exp, ("LayerActivations",), "ActivationStatsDisplay")
        rows = []
        for name in exp.layer_names:
            s = exp.summary(name)
            sat = s["saturated_share"]
            rows.append([
                name,
                str(len(s["mean"])),
                c.format_value(float(s["mean"].mean())),
                c.format_value(float(s["std"].mean())),
                str(len(exp.dead_channels(name))),
                f"{100 * float(s['zero_share'].mean()):.1f}%",
                "-" if np.isnan(sat).all() else f"{100 * float(np.nanmean(sat)):.1f}%",
            ])
        disp = cls(rows, ["layer", "channels", "mean", "std", "dead channels", "zeros", "saturated"])
        return disp.plot(ax=ax)

    def plot(self, ax: Any = None) -> ActivationStatsDisplay:
        fig, axes = c.get_axes(ax, (7.0, 0.6 + 0.35 * len(self.rows)))
        axes.axis("off")
        table = axes.table(cellText=self.rows, colLabels=self.columns, loc="center")
        for (r, q), cell in table.get_celld().items():
            if r > 0 and q == 4 and self.rows[r - 1][4] != "0":
                cell.set_text_props(color=style.POSITIVE)
        self.table_ = table
        self.figure_, self.ax_ = fig, axes
        return self


class WeightNormsDisplay:
    """One bar per layer: its weight norm (log scale)."""

    def __init__(self, norms: Any, layer_names: list[str]) -> None:
        self.norms = np.asarray(norms, dtype=np.float64)
        self.layer_names = list(layer_names)

    @classmethod
    def from_explanation(cls, exp: Any, *, ax: Any = None) -> WeightNormsDisplay:
        """Draw the norms of a WeightStatistics."""
        c.check_result(exp, ("WeightStatistics",), "WeightNormsDisplay")
        return cls(exp.norm, exp.layer_names).plot(ax=ax)

    def plot(self, ax: Any = None) -> WeightNormsDisplay:
        created = ax is None
        fig, axes = c.get_axes(ax, (6.0, 0.6 + 0.35 * len(self.norms)))
        y = np.arange(len(self.norms))[::-1]
        self.bars_ = axes.barh(y, self.norms, color=style.NEGATIVE)
        if (self.norms > 0).all():
            axes.set_xscale("log")
        c.finish_rows(self, fig, axes, created, y=y, labels=self.layer_names, xlabel="weight norm (L2)", title="weights per layer",
                      zero=False)
        return self


class WeightHistogramsDisplay:
    """Each layer's weight histogram as a line (counts as shares, each layer over its own range)."""

    def __init__(self, counts: Any, edges: Any, layer_names: list[str]) -> None:
        self.counts = np.asarray(counts, dtype=np.float64)
        self.edges = np.asarray(edges, dtype=np.float64)
        self.layer_names = list(layer_names)

    @classmethod
    def from_explanation(cls, exp: Any, *, ax: Any = None) -> WeightHistogramsDisplay:
        """Draw the histograms of a WeightStatistics."""
        c.check_result(exp, ("WeightStatistics",), "WeightHistogramsDisplay")
        return cls(exp.hist_counts, exp.hist_edges, exp.layer_names).plot(ax=ax)

    def plot(self, ax: Any = None) -> WeightHistogramsDisplay:
        fig, axes = c.get_axes(ax, (6.0, 4.0))
        self.lines_ = []
        for counts, edges, name in zip(self.counts, self.edges, self.layer_names):
            share = counts / max(counts.sum(), 1.0)
            (line,) = axes.step(edges[:-1], share, where="post", label=name)
            self.lines_.append(line)
        axes.set_xlabel("weight")
        axes.set_ylabel("share of the layer's weights")
        axes.legend(fontsize="small")
        axes.set_title("weight histograms")
        self.figure_, self.ax_ = fig, axes
        return self


class GradientFlowDisplay:
    """Gradient norm of each layer over the recorded steps (log scale); flagged layers dashed, with a
    marker where vanishing or exploding starts.

    Examples
    --------
    >>> import numpy as np
    >>> from xaikit.results.training_dynamics import TrainingDynamics
    >>> g = np.array([[1.0, 2.0, 1e-4], [1.0, 2.0, 1e-5]])
    >>> dyn = TrainingDynamics(grad_norm=g, weight_norm=np.ones((2, 3)), update_ratio=np.ones((2, 3)),
    ...                        dead_share=np.zeros((2, 3)), step=[0, 10], layer_names=["a", "b", "c"], method="demo")
    >>> [f["layer"] for f in GradientFlowDisplay.from_explanation(dyn).flags]
    ['c']
    """

    def __init__(self, steps: Any, grad_norm: Any, layer_names: list[str], flags: list[dict[str, Any]]) -> None:
        self.steps = np.asarray(steps)
        self.grad_norm = np.asarray(grad_norm, dtype=np.float64)
        self.layer_names = list(layer_names)
        self.flags = flags

    @classmethod
    def from_explanation(cls, exp: Any, *, ax: Any = None) -> GradientFlowDisplay:
        """Draw the gradient norms of a TrainingDynamics with its :meth:`~TrainingDynamics.flags`."""
        c.check_result(exp, ("TrainingDynamics",), "GradientFlowDisplay")
        return cls(exp.step, exp.grad_norm, exp.layer_names, exp.flags()).plot(ax=ax)

    def plot(self, ax: Any = None) -> GradientFlowDisplay:
        fig, axes = c.get_axes(ax, (7.0, 4.0))
        flagged = {f["layer"]: f for f in self.flags}
        self.lines_ = []
        for j, name in enumerate(self.layer_names):
            f = flagged.get(name)
            label = name if f is None else f"{name} ({f['kind']} from step {f['step']})"
            (line,) = axes.plot(self.steps, np.maximum(self.grad_norm[:, j], 1e-30), ls="--" if f else "-", label=label)
            self.lines_.append(line)
            if f is not None:
                i = int(np.flatnonzero(self.steps == f["step"])[0])
                axes.plot([f["step"]], [max(self.grad_norm[i, j], 1e-30)], marker="v" if f["kind"] == "vanishing" else "^",
                          color=style.POSITIVE, ms=9)
        axes.set_yscale("log")
        axes.set_xlabel("training step")
        axes.set_ylabel("gradient norm")
        axes.set_title("gradient flow per layer")
        axes.legend(fontsize="small")
        self.figure_, self.ax_ = fig, axes
        return self


class FeatureVisualizationDisplay(_TileDisplay):
    """The image made by activation maximisation (channels averaged)."""

    @classmethod
    def from_explanation(cls, exp: Any, *, ax: Any = None) -> FeatureVisualizationDisplay:
        """Draw a FeatureVisualization's image."""
        c.check_result(exp, ("FeatureVisualization",), "FeatureVisualizationDisplay")
        channels = "last" if exp.provenance.get("framework") == "keras" else "first"
        p = exp.params
        what = f"{p.get('layer')}:{p.get('channel')}" if p.get("layer") else f"output {p.get('target')}"
        disp = cls(_as_grey(exp.image, channels)[None], title=f"{what}, objective {exp.trace[0]:.3g} -> {exp.trace[-1]:.3g}",
                   cmap="gray_r")
        return disp.plot(ax=ax)  # type: ignore[no-any-return]
