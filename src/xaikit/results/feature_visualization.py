"""FeatureVisualization: an input made to excite a channel or a class, and the activation along the way."""

from __future__ import annotations

import numpy as np

from xaikit.results.base import Axis, Field, Result

__all__ = ["FeatureVisualization"]


class FeatureVisualization(Result):
    """The result of :func:`xaikit.activation_maximization`.

    Parameters
    ----------
    image : array-like, the shape of one model input
        The optimised input (channels first for torch, last for Keras), in ``value_range``.
    trace : array-like of shape (n_steps,)
        The objective (mean activation of the channel, or the class score) at each step, before its update.

    Examples
    --------
    >>> viz = FeatureVisualization(image=np.zeros((1, 2, 2)), trace=[0.1, 0.5, 0.9], method="demo")
    >>> viz.n_steps, viz.gain
    (3, 0.8)
    """

    kind = "feature_visualization"
    plot_kind = "feature_visualization"
    fields = (
        Field("trace", "t", finite=True, doc="The objective at each step."),
        Field("image", "...", column=None, doc="The optimised input."),
    )
    axes = {"t": Axis("steps", repr_name="n_steps")}

    trace: np.ndarray
    image: np.ndarray

    @property
    def n_steps(self) -> int:
        """Number of optimisation steps."""
        return int(self._lengths["t"])

    @property
    def gain(self) -> float:
        """The objective's rise from the first step to the last."""
        return round(float(self.trace[-1] - self.trace[0]), 12)
