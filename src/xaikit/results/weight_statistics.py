"""WeightStatistics: per-layer statistics of a network's weights, and the first convolution's filters."""

from __future__ import annotations

import numpy as np

from xaikit.results.base import Axis, Field, Result

__all__ = ["WeightStatistics"]


class WeightStatistics(Result):
    """Statistics of each layer's weight tensor (kernel; biases apart), from :func:`xaikit.weight_statistics`.

    Parameters
    ----------
    norm, mean, std : array-like of shape (n_layers,)
        L2 norm, mean and standard deviation of the weights.
    near_zero : array-like of shape (n_layers,)
        Share of weights with ``|w|`` below ``tol`` times the layer's largest ``|w|``.
    size : int array-like of shape (n_layers,)
        Number of weights.
    hist_counts : int array-like of shape (n_layers, bins)
    hist_edges : array-like of shape (n_layers, bins + 1)
        A histogram of each layer's weights over its own range.
    filters : array-like of shape (out, in, kh, kw), optional
        The first convolution's kernels, channels first whatever the framework.
    layer_names : list of str

    Examples
    --------
    >>> w = WeightStatistics(norm=[2.0], mean=[0.0], std=[1.0], near_zero=[0.5], size=[4], hist_counts=[[2, 2]],
    ...                      hist_edges=[[-1.0, 0.0, 1.0]], layer_names=["fc"], method="demo")
    >>> w.n_layers, w.largest()
    (1, 'fc')
    """

    kind = "weight_statistics"
    plot_kind = "weight_norms"
    fields = (
        Field("norm", "l", finite=True, doc="L2 norm of each layer's weights."),
        Field("mean", "l", finite=True, doc="Mean weight."),
        Field("std", "l", finite=True, doc="Standard deviation of the weights."),
        Field("near_zero", "l", finite=True, doc="Share of weights near zero."),
        Field("size", "l", dtype="int", doc="Number of weights."),
        Field("hist_counts", "l.", dtype="int", column=None, doc="Histogram counts (n_layers, bins)."),
        Field("hist_edges", "l.", column=None, doc="Histogram edges (n_layers, bins + 1)."),
        Field("filters", "....", optional=True, column=None, doc="First convolution's kernels (out, in, kh, kw) or None."),
    )
    axes = {"l": Axis("layers", names="layer_names", prefix="layer")}

    norm: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    near_zero: np.ndarray
    size: np.ndarray
    hist_counts: np.ndarray
    hist_edges: np.ndarray
    filters: np.ndarray | None
    layer_names: list[str]

    def largest(self) -> str:
        """The layer with the largest weight norm."""
        return self.layer_names[int(np.argmax(self.norm))]
