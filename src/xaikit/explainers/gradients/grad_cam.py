"""Class activation maps from a layer's activations and gradients: Grad-CAM and Grad-CAM++.

Both are written over the ``"layer_gradients"`` capability: ``model.layer_gradients(X, layer,
target)`` returns the layer's output ``A`` (n, channels, *grid) and the gradient ``G`` of the target
output with respect to it; models whose ``channels_last`` attribute is true (Keras) give
(n, *grid, channels) and inputs (n, *spatial, channels). The map lives on the layer's grid; with
``upsample=True`` it is resized to the input's spatial size by linear interpolation (bilinear
for 2-D grids), as Captum's ``LayerAttribution.interpolate(..., "bilinear")``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.explainers.gradients.base import ArrayExplainer, Computed, GradientPlan, _adapt

__all__ = ["GradCam", "GradCamPlusPlus", "interpolate_linear"]


def _linear_axis(arr: np.ndarray, axis: int, size: int, align_corners: bool = False) -> np.ndarray:
    """Resize one axis by linear interpolation, with half-pixel centres (``align_corners=False``) or
    the first and last elements of input and output aligned (``align_corners=True``)."""
    n_in = arr.shape[axis]
    if n_in == size:
        return arr
    if align_corners:
        src = np.arange(size) * ((n_in - 1) / (size - 1)) if size > 1 else np.zeros(1)
    else:
        src = (np.arange(size) + 0.5) * (n_in / size) - 0.5
        src = np.maximum(src, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    shape = [1] * arr.ndim
    shape[axis] = size
    frac = frac.reshape(shape)
    return np.take(arr, lo, axis=axis) * (1.0 - frac) + np.take(arr, hi, axis=axis) * frac


def interpolate_linear(maps: np.ndarray, size: tuple[int, ...], *, align_corners: bool = False) -> np.ndarray:
    """Resize ``maps`` (n, *grid) to (n, *size) by (multi)linear interpolation.

    Sample positions follow ``torch.nn.functional.interpolate(..., mode="bilinear",
    align_corners=align_corners)`` (``"linear"`` / ``"trilinear"`` for 1-D / 3-D grids): output
    element ``j`` reads input position ``(j + 0.5) * in / out - 0.5``, clamped at the borders, or
    ``j * (in - 1) / (out - 1)`` with ``align_corners=True`` (``torch.nn.UpsamplingBilinear2d``).

    Examples
    --------
    >>> interpolate_linear(np.array([[0.0, 1.0]]), (4,)).tolist()
    [[0.0, 0.25, 0.75, 1.0]]
    >>> interpolate_linear(np.array([[0.0, 3.0]]), (4,), align_corners=True).tolist()
    [[0.0, 1.0, 2.0, 3.0]]
    """
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim - 1 != len(size):
        raise InvalidParameterError(
            f"size: expected {maps.ndim - 1} lengths for maps of shape {maps.shape}, got {tuple(size)}"
        )
    for k, length in enumerate(size):
        maps = _linear_axis(maps, k + 1, int(length), align_corners)
    return maps


class GradCam(ArrayExplainer):
    """Grad-CAM (Selvaraju et al. 2017): a layer's channels weighted by their mean gradient.

    ``cam = relu(sum_k w_k A_k)`` with ``w_k`` the gradient of the target output averaged over the
    layer's grid, as Captum's ``LayerGradCam``.

    Parameters
    ----------
    model : torch.nn.Module or a model with the ``"layer_gradients"`` capability
    layer : str or module
        The layer explained, by name (``dict(module.named_modules())``, e.g. ``"features.6"``) or
        the submodule itself. Its output must have a channel axis and a grid: (n, channels, *grid),
        or (n, *grid, channels) for a channels-last model.
    upsample : bool
        Resize the map to the input's spatial size (``X.shape[2:]``, or ``X.shape[1:-1]`` for a
        channels-last model) by linear interpolation; ``False`` keeps the layer's grid.
    relu : bool
        Keep only the positive part of the map, as the paper does (Captum's
        ``relu_attributions=True``; its default is ``False``).
    output : str

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(),
    ...                           torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(2, 3))
    >>> exp = xk.GradCam(net, layer="1", upsample=False).explain(np.ones((1, 1, 4, 4)), target=0)
    >>> exp.shape, exp.input_shape
    ((1, 16, 1), (4, 4))
    """

    name = "grad_cam"
    requires = frozenset({"layer_gradients"})
    exact = True

    def __init__(
        self, model: Any, /, *, layer: Any, upsample: bool = True, relu: bool = True, output: str = "auto"
    ) -> None:
        self.model = _adapt(model, output, self.requires, type(self).__name__)
        resolve = getattr(self.model, "resolve_layer", None)
        self.layer_name: str
        self.layer_name, self.layer = resolve(layer) if resolve is not None else (str(layer), layer)
        self.upsample = bool(upsample)
        self.relu = bool(relu)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model.describe()}, layer={self.layer_name!r})"

    @staticmethod
    def _weights(A: np.ndarray, G: np.ndarray) -> np.ndarray:
        """Channel weights (n, channels)."""
        return G.reshape(G.shape[0], G.shape[1], -1).mean(axis=2)

    summary = "Class activation maps of every row of ``X``."
    input_doc = "X : array or tensor (n, channels, *spatial)"
    returns_doc = """Attribution
        ``values`` (n, prod(grid), 1) with ``input_shape`` the grid: the input's spatial shape when
        upsampled, else the layer's; diagnostics ``target``, ``layer_shape``."""

    def _layer_outputs(self, plan: GradientPlan) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """The layer's activations ``A`` and gradients ``G`` channels first (n, channels, *grid), batched
        by ``batch_size``, and the layer's output shape as the model gives it."""
        Xa, idx, bs = plan.X, plan.target, plan.batch_size
        acts, grads = [], []
        reads_only = not self.uses_gradients and hasattr(self.model, "layer_activations")
        for i in range(0, Xa.shape[0], bs):
            if reads_only:  # the activations alone: no backward pass
                a = self.model.layer_activations(Xa[i : i + bs], self.layer)  # type: ignore[attr-defined]
                g = np.zeros_like(a)
            else:
                a, g = self.model.layer_gradients(Xa[i : i + bs], self.layer, idx[i : i + bs])  # type: ignore[attr-defined]
            acts.append(np.asarray(a, dtype=np.float64))
            grads.append(np.asarray(g, dtype=np.float64))
        A, G = np.concatenate(acts), np.concatenate(grads)
        layer_shape = list(A.shape[1:])
        if A.ndim == 2:  # a layer of units without a grid (a linear layer): a grid of one cell, as Captum
            return A[:, :, None], G[:, :, None], layer_shape
        if self._channels_last():  # work channels first
            A, G = np.moveaxis(A, -1, 1), np.moveaxis(G, -1, 1)
        return A, G, layer_shape

    #: Whether the map uses the layer's gradients (EigenCAM and ScoreCAM read the activations only).
    uses_gradients: ClassVar[bool] = True
    integer_rows = True  # token ids reach the model untouched: a map of a text CNN's layer over the tokens

    def _channels_last(self) -> bool:
        return bool(getattr(self.model, "channels_last", False))

    def _cam(self, A: np.ndarray, G: np.ndarray, plan: GradientPlan) -> np.ndarray:
        """The map (n, *grid) before the ReLU, from channels-first ``A`` and ``G`` (each method's own)."""
        return np.einsum("nc,nc...->n...", self._weights(A, G), A)

    def _compute(self, plan: GradientPlan, seed: np.random.SeedSequence) -> Computed:
        A, G, layer_shape = self._layer_outputs(plan)
        cam = self._cam(A, G, plan)
        if self.relu:
            cam = np.maximum(cam, 0.0)
        if self.upsample and len(layer_shape) == 1:  # one cell: its value over the whole input
            size = self._input_grid(plan.X)[0]
            cam = np.broadcast_to(cam.reshape(cam.shape[0], *([1] * len(size))), (cam.shape[0], *size)).copy()
        elif self.upsample:
            cam = interpolate_linear(cam, self._spatial_size(plan.X, cam, "upsample", "; use upsample=False"))
        return Computed(cam, None, {"layer_shape": layer_shape}, keep_data=False)

    def _spatial_size(self, X: np.ndarray, cam: np.ndarray, name: str, hint: str = "") -> tuple[int, ...]:
        """The input's spatial shape, checked to have as many axes as the map's grid (else an error on ``name``)."""
        size, where = self._input_grid(X)
        if len(size) != cam.ndim - 1:
            raise InvalidParameterError(
                f"{name}: the layer's grid {cam.shape[1:]} and the input's spatial shape {size} "
                f"({where}) have different numbers of axes{hint}"
            )
        return size

    def _input_grid(self, X: np.ndarray) -> tuple[tuple[int, ...], str]:
        """The input's grid (its axes past the channels; every axis past the rows for token ids) and
        where it was read."""
        if X.dtype.kind in "iu":
            return tuple(X.shape[1:]), "X.shape[1:], token ids"
        if self._channels_last():
            return tuple(X.shape[1:-1]), "X.shape[1:-1]"
        return tuple(X.shape[2:]), "X.shape[2:]"

    def _params(self) -> dict[str, Any]:
        return {"layer": self.layer_name, "upsample": self.upsample, "relu": self.relu}


class GradCamPlusPlus(GradCam):
    """Grad-CAM++ (Chattopadhay et al. 2018): channel weights from positive gradients, each grid cell
    weighted by ``alpha = G^2 / (2 G^2 + sum(A) G^3)``.

    ``w_k = sum_ij alpha_kij relu(G_kij)`` with ``sum(A)`` the channel's activation summed over the
    grid (``alpha = 0`` where the gradient is 0); then ``cam = relu(sum_k w_k A_k)``. Parameters as
    :class:`GradCam`.

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(),
    ...                           torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(2, 3))
    >>> xk.GradCamPlusPlus(net, layer="1").explain(np.ones((2, 1, 4, 4)), target=[0, 2]).shape
    (2, 16, 1)
    """

    name = "grad_cam_plus_plus"

    @staticmethod
    def _weights(A: np.ndarray, G: np.ndarray) -> np.ndarray:
        n, c = G.shape[:2]
        g = G.reshape(n, c, -1)
        a_sum = A.reshape(n, c, -1).sum(axis=2, keepdims=True)
        g2 = g * g
        denom = 2.0 * g2 + a_sum * g2 * g
        safe = np.where(denom != 0.0, denom, 1.0)
        alpha = np.where((g != 0.0) & (denom != 0.0), g2 / safe, 0.0)
        return (alpha * np.maximum(g, 0.0)).sum(axis=2)

