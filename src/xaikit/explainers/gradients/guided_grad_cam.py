"""Guided Grad-CAM (Selvaraju et al. 2017): guided backpropagation times the upsampled Grad-CAM map.

The Grad-CAM map of ``layer`` (positive part, on the layer's grid) is resized to the input's spatial
size as Captum's ``LayerAttribution.interpolate`` (``torch.nn.functional.interpolate``) does, and
multiplies the guided-backpropagation attribution of every channel, as Captum's ``GuidedGradCam``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import check_choice
from xaikit.errors import InvalidParameterError
from xaikit.explainers.gradients.base import ArrayExplainer, Computed, GradientPlan, _adapt
from xaikit.explainers.gradients.grad_cam import GradCam, interpolate_linear

__all__ = ["GuidedGradCam", "INTERPOLATE_MODES", "interpolate"]

#: The ``interpolate_mode`` values, as ``torch.nn.functional.interpolate`` names them.
INTERPOLATE_MODES = ("nearest", "nearest-exact", "area", "linear", "bilinear", "trilinear")

_LINEAR_AXES = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _nearest_axis(arr: np.ndarray, axis: int, size: int, exact: bool) -> np.ndarray:
    """Nearest-neighbour resize of one axis with torch's source indices (its float32 scale)."""
    n_in = arr.shape[axis]
    if n_in == size:
        return arr
    scale = np.float32(n_in) / np.float32(size)
    j = np.arange(size)
    if exact:  # floorf((j + 0.5) * scale), the product in double
        src = np.floor(((j + 0.5) * np.float64(scale)).astype(np.float32))
    else:  # floorf(j * scale), the product in float
        src = np.floor(j.astype(np.float32) * scale)
    idx = np.minimum(src.astype(np.int64), n_in - 1)
    return np.take(arr, idx, axis=axis)


def _area_axis(arr: np.ndarray, axis: int, size: int) -> np.ndarray:
    """Adaptive average pooling of one axis (torch's ``mode="area"``)."""
    n_in = arr.shape[axis]
    if n_in == size:
        return arr
    parts = []
    for i in range(size):
        start, end = (i * n_in) // size, ((i + 1) * n_in + size - 1) // size
        parts.append(np.take(arr, np.arange(start, end), axis=axis).mean(axis=axis))
    return np.stack(parts, axis=axis)


def interpolate(maps: np.ndarray, size: tuple[int, ...], mode: str = "nearest") -> np.ndarray:
    """Resize ``maps`` (n, *grid) to (n, *size) as ``torch.nn.functional.interpolate(maps[:, None],
    size, mode=mode)[:, 0]`` does.

    ``mode`` is one of :data:`INTERPOLATE_MODES`; ``"linear"``, ``"bilinear"`` and ``"trilinear"``
    need 1, 2 and 3 grid axes (``align_corners=False``).

    Examples
    --------
    >>> interpolate(np.array([[1.0, 2.0]]), (4,)).tolist()
    [[1.0, 1.0, 2.0, 2.0]]
    >>> interpolate(np.array([[1.0, 2.0, 3.0, 5.0]]), (2,), mode="area").tolist()
    [[1.5, 4.0]]
    """
    check_choice(mode, "interpolate_mode", INTERPOLATE_MODES)
    maps = np.asarray(maps, dtype=np.float64)
    size = tuple(int(s) for s in size)
    if maps.ndim - 1 != len(size):
        raise InvalidParameterError(
            f"size: expected {maps.ndim - 1} lengths for maps of shape {maps.shape}, got {size}"
        )
    if mode in _LINEAR_AXES:
        if _LINEAR_AXES[mode] != len(size):
            raise InvalidParameterError(
                f"interpolate_mode: {mode!r} resizes {_LINEAR_AXES[mode]} grid axes, but the map has "
                f"{len(size)} (grid {maps.shape[1:]}); use 'nearest', 'area' or the linear mode of that many axes"
            )
        return interpolate_linear(maps, size)
    for k, length in enumerate(size):
        if mode == "area":
            maps = _area_axis(maps, k + 1, length)
        else:
            maps = _nearest_axis(maps, k + 1, length, exact=mode == "nearest-exact")
    return maps


class GuidedGradCam(ArrayExplainer):
    """Guided Grad-CAM (Selvaraju et al. 2017): the guided-backpropagation attribution of every input
    element times the Grad-CAM map of ``layer`` resized to the input's spatial size, as Captum's
    ``GuidedGradCam``.

    The map is Grad-CAM's positive part on the layer's grid (:class:`~xaikit.explainers.gradients.
    grad_cam.GradCam` with ``upsample=False, relu=True``), resized by :func:`interpolate` with
    ``interpolate_mode`` and broadcast over the input's channels. Guided backpropagation changes the
    backward pass of ``torch.nn.ReLU`` modules only (see
    :class:`~xaikit.explainers.gradients.guided_backprop.GuidedBackprop`).

    Parameters
    ----------
    model : torch.nn.Module or a model with the ``"gradient"`` and ``"layer_gradients"`` capabilities
    layer : str or module
        The layer of the map (usually the last convolution), by name or the submodule itself; its
        output has a channel axis and as many grid axes as the input has spatial axes.
    interpolate_mode : str
        How the map is resized: one of :data:`INTERPOLATE_MODES` (Captum's default ``"nearest"``).
    output : str

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> from xaikit.explainers.gradients.guided_grad_cam import GuidedGradCam
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    ...                           torch.nn.Flatten(), torch.nn.Linear(8, 3)).double()
    >>> exp = GuidedGradCam(net, layer="2").explain(np.ones((2, 1, 4, 4)), target=[0, 2])
    >>> exp.shape, exp.input_shape
    ((2, 16, 1), (1, 4, 4))
    """

    name = "guided_grad_cam"
    requires = frozenset({"gradient", "layer_gradients"})
    exact = True

    def __init__(self, model: Any, /, *, layer: Any, interpolate_mode: str = "nearest", output: str = "auto") -> None:
        self.model = _adapt(model, output, self.requires, type(self).__name__)
        self.interpolate_mode = check_choice(interpolate_mode, "interpolate_mode", INTERPOLATE_MODES)
        self._cam = GradCam(self.model, layer=layer, upsample=False, relu=True)
        self.layer_name = self._cam.layer_name
        self.layer = self._cam.layer

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model.describe()}, layer={self.layer_name!r})"

    summary = "Guided Grad-CAM attributions of every row of ``X``."
    input_doc = "X : array or tensor (n, channels, *spatial)"
    returns_doc = """Attribution
        ``values`` (n, d, 1) with ``input_shape`` the per-row shape of ``X``; diagnostics ``target``,
        ``layer_shape``."""

    def _compute(self, plan: GradientPlan, seed: np.random.SeedSequence) -> Computed:
        Xa, idx, bs = plan.X, plan.target, plan.batch_size
        try:
            cam = self._cam._compute(plan, seed)
        except InvalidParameterError as err:  # name this method, not the Grad-CAM it uses
            raise InvalidParameterError(str(err).replace(type(self._cam).__name__, type(self).__name__, 1)) from None
        maps = np.asarray(cam.values, dtype=np.float64)  # (n, *grid)
        layer_shape = cam.diagnostics["layer_shape"]
        if len(layer_shape) == 1:  # Grad-CAM of a layer without a grid is one number: nothing to localise
            raise InvalidParameterError(
                f"layer: {type(self).__name__} needs a layer whose output has channels and a grid (n, channels, ...), "
                f"got output of shape {(Xa.shape[0], *layer_shape)} from {self.layer_name!r}: its Grad-CAM is one "
                "number per row, which would only scale guided backpropagation"
            )
        channels_last = bool(getattr(self.model, "channels_last", False))
        spatial = tuple(Xa.shape[1:-1] if channels_last else Xa.shape[2:])
        if len(spatial) != maps.ndim - 1:
            where = "X.shape[1:-1]" if channels_last else "X.shape[2:]"
            raise InvalidParameterError(
                f"layer: the Grad-CAM map of {self.layer_name!r} has grid {maps.shape[1:]}, which cannot be resized "
                f"to the input's spatial shape {spatial} ({where}): expected a layer with {len(spatial)} grid axes "
                f"for inputs of shape {Xa.shape}"
            )
        maps = interpolate(maps, spatial, self.interpolate_mode)
        guided = []
        for i in range(0, Xa.shape[0], bs):
            g = self.model.gradient(Xa[i : i + bs], idx[i : i + bs], relu="guided")  # type: ignore[attr-defined]
            guided.append(np.asarray(g, dtype=np.float64))
        G = np.concatenate(guided, axis=0)
        maps = maps[..., None] if channels_last else maps[:, None]
        return Computed(G * maps, None, dict(cam.diagnostics))

    def _params(self) -> dict[str, Any]:
        return {"layer": self.layer_name, "interpolate_mode": self.interpolate_mode}
