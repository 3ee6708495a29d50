"""TrainingDynamics: per layer and recorded step, gradient and weight norms, update ratios, dead units."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.results.base import Axis, Field, JsonField, Result

__all__ = ["TrainingDynamics"]

STEPS = Axis("steps", repr_name="n_steps")
LAYERS = Axis("layers", names="layer_names", prefix="layer")


def _finite_positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not np.isfinite(value) or value <= 0:
        raise InvalidParameterError(f"{name}: expected a positive number, got {describe(value)}")
    return float(value)


class TrainingDynamics(Result):
    """What a network's layers did while it trained, from :class:`xaikit.TrainingRecorder` or :func:`xaikit.keras_callback`.

    Parameters
    ----------
    grad_norm : array-like of shape (n_steps, n_layers)
        L2 norm of the gradient of each layer's parameters (all of them together) at each recorded step.
    weight_norm : array-like of shape (n_steps, n_layers)
        L2 norm of the layer's parameters before the step's update.
    update_ratio : array-like of shape (n_steps, n_layers)
        ``||w_after - w_before|| / ||w_before||`` of the step's update (NaN where not measured).
    dead_share : array-like of shape (n_steps, n_layers)
        Share of the layer's output units that are <= 0 on every row of the step's batch (dead after a
        ReLU); NaN where not measured.
    step : int array-like of shape (n_steps,)
        The training step (0-based count of optimiser steps) of each record.
    attributions : array-like of shape (n_snapshots, n_probe, n_features, n_outputs), optional
        The chosen explainer's attribution of the probe set at some steps (attribution drift; an
        image's pixels are its features, flattened as in :class:`~xaikit.results.Attribution`).
    attribution_steps : int array-like of shape (n_snapshots,), optional
    layer_names : list of str

    Examples
    --------
    >>> import numpy as np
    >>> g = np.array([[1.0, 2.0, 1e-4], [1.0, 2.0, 1e-5], [1.0, 2.0, 1e-6]])
    >>> dyn = TrainingDynamics(grad_norm=g, weight_norm=np.ones((3, 3)), update_ratio=np.full((3, 3), np.nan),
    ...     dead_share=np.zeros((3, 3)), step=[0, 10, 20], layer_names=["fc1", "fc2", "fc3"], method="demo")
    >>> [(f["layer"], f["kind"], f["step"]) for f in dyn.flags()]
    [('fc3', 'vanishing', 0)]
    """

    kind = "training_dynamics"
    plot_kind = "gradient_flow"
    fields = (
        Field("grad_norm", "sl", doc="Gradient norm per recorded step and layer."),
        Field("weight_norm", "sl", doc="Weight norm per recorded step and layer."),
        Field("update_ratio", "sl", doc="Update-to-weight ratio per recorded step and layer (NaN: not measured)."),
        Field("dead_share", "sl", doc="Share of dead output units per recorded step and layer (NaN: not measured)."),
        Field("step", "s", dtype="int", doc="Training step of each record."),
        Field("attributions", "....", optional=True, column=None, doc="Probe attributions (n_snapshots, n_probe, n_features, n_outputs) or None."),
        Field("attribution_steps", ".", dtype="int", optional=True, column=None, doc="Steps of the attribution snapshots."),
        JsonField("attribution_method", doc="The explainer of the snapshots (None without)."),
    )
    axes = {"s": STEPS, "l": LAYERS}

    grad_norm: np.ndarray
    weight_norm: np.ndarray
    update_ratio: np.ndarray
    dead_share: np.ndarray
    step: np.ndarray
    attributions: np.ndarray | None
    attribution_steps: np.ndarray | None
    layer_names: list[str]

    def _validate(self) -> None:
        a, s = self._store["attributions"], self._store["attribution_steps"]
        if (a is None) != (s is None) or (a is not None and s is not None and len(a) != len(s)):
            raise InvalidParameterError(
                f"attribution_steps: expected one step per attribution snapshot, got {describe(s)} for {describe(a)}"
            )

    def flags(self, *, orders: float = 2.0, persistence: float = 0.5) -> list[dict[str, Any]]:
        """Layers whose gradients vanish or explode, with the step where it starts.

        A layer is *vanishing* at a step when its gradient norm is ``orders`` orders of magnitude
        below the median of the layers' norms at that step, or has fallen ``orders`` orders below
        its own first recorded norm; *exploding* when it is ``orders`` orders above the median, or
        not finite. It is flagged when that holds at a step and at ``persistence`` or more of the
        later records; the start is the first such step.

        Returns
        -------
        list of dict
            ``{"layer", "kind", "step", "ratio"}`` (``ratio``: the norm over the median at the start).
        """
        orders = _finite_positive(orders, "orders")
        persistence = _finite_positive(persistence, "persistence")
        g = np.asarray(self.grad_norm, dtype=np.float64)
        steps = np.asarray(self.step)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log10(np.where(np.isfinite(g), np.maximum(g, 1e-300), np.inf))
            finite = np.where(np.isfinite(logs), logs, np.nan)
            median = np.nanmedian(finite, axis=1, keepdims=True) if g.shape[1] > 1 else np.full((g.shape[0], 1), np.nan)
            first = finite[:1]
            vanish = (finite < median - orders) | (finite < first - orders)
            explode = (finite > median + orders) | (finite > first + orders) | ~np.isfinite(g)
        out: list[dict[str, Any]] = []
        for kind, mask in (("vanishing", vanish), ("exploding", explode)):
            for j, layer in enumerate(self.layer_names):
                col = np.nan_to_num(mask[:, j].astype(float), nan=0.0) > 0
                for i in np.flatnonzero(col):
                    later = col[i:]
                    if later.mean() >= min(persistence, 1.0):
                        ratio = float(10 ** (finite[i, j] - median[i, 0])) if np.isfinite(finite[i, j] - median[i, 0]) else float("nan")
                        out.append({"layer": layer, "kind": kind, "step": int(steps[i]), "ratio": ratio})
                        break
        return out
