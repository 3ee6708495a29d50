"""More class activation maps over a layer's activations ``A`` and gradients ``G``: LayerCAM,
HiResCAM, EigenCAM and ScoreCAM.

Each is written over the ``"layer_gradients"`` capability, as :class:`~xaikit.explainers.gradients.grad_cam.GradCam`,
and follows its conventions: the map lives on the layer's grid (``upsample=False``) or is resized to
the input's spatial size by (multi)linear interpolation (``upsample=True``), keeps its positive part
with ``relu=True`` (the default, as pytorch-grad-cam does for every method), and is stored as
``values`` (n, prod(grid), 1) with ``input_shape`` the grid. With ``A`` and ``G`` channels first
(n, channels, *grid):

* LayerCAM (Jiang et al. 2021): ``sum_k relu(G_k) * A_k``;
* HiResCAM (Draelos & Carin 2020): ``sum_k G_k * A_k`` (Grad-CAM without averaging the gradients);
* EigenCAM (Muhammad & Yeasin 2020): the activations projected on their first principal component;
* ScoreCAM (Wang et al. 2020): the channels weighted by the softmax, over channels, of the target
  output on the input masked by each channel's map.

The definitions are those of pytorch-grad-cam (``grad-cam`` 1.5), whose maps before its per-image
rescaling (``scale_cam_image``) these equal.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.explainers.gradients.base import GradientPlan
from xaikit.explainers.gradients.grad_cam import GradCam, interpolate_linear

__all__ = ["EigenCam", "HiResCam", "LayerCam", "ScoreCam", "first_component"]


def _check_grid(explainer: GradCam, A: np.ndarray, why: str) -> None:
    """Refuse a layer whose grid has a single cell, where ``why`` says what the method needs of it."""
    if int(np.prod(A.shape[2:])) <= 1:
        raise InvalidParameterError(
            f"layer: {type(explainer).__name__} {why}, so it needs a layer whose grid has more than one cell; "
            f"got a grid of shape {A.shape[2:]} from {explainer.layer_name!r}"
        )


def first_component(A: np.ndarray) -> np.ndarray:
    """The projection of each row's activations on their first principal component.

    ``A`` (n, channels, *grid) is read, row by row, as ``prod(grid)`` points of ``channels``
    coordinates; the points are centred and projected on the first right singular vector of
    ``numpy.linalg.svd``, whose sign (LAPACK's) is kept, as pytorch-grad-cam's ``get_2d_projection``
    does. Returns (n, *grid).

    Examples
    --------
    >>> A = np.array([[[[0.0, 1.0, 2.0, 3.0]], [[0.0, 1.0, 2.0, 3.0]]]])  # 2 channels, grid (1, 4)
    >>> p = first_component(A)
    >>> p.shape, bool(np.allclose(np.abs(p), np.sqrt(2) * np.array([[1.5, 0.5, 0.5, 1.5]])))
    ((1, 1, 4), True)
    """
    A = np.asarray(A, dtype=np.float64)
    n, k = A.shape[:2]
    out = np.empty((n, *A.shape[2:]))
    for i in range(n):
        points = A[i].reshape(k, -1).T
        points = points - points.mean(axis=0)
        _, _, vt = np.linalg.svd(points, full_matrices=False)
        out[i] = (points @ vt[0]).reshape(A.shape[2:])
    return out


class LayerCam(GradCam):
    """LayerCAM (Jiang et al. 2021): every activation weighted by its own positive gradient.

    ``cam = relu(sum_k relu(G_k) * A_k)``, element by element on the layer's grid, so that shallow
    layers give fine maps. Parameters as :class:`~xaikit.GradCam`.

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> from xaikit.explainers.gradients.cam_variants import LayerCam
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(),
    ...                           torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(2, 3))
    >>> exp = LayerCam(net, layer="1", upsample=False).explain(np.ones((2, 1, 4, 4)), target=[0, 2])
    >>> exp.shape, exp.input_shape
    ((2, 16, 1), (4, 4))
    """

    name = "layer_cam"

    def _cam(self, A: np.ndarray, G: np.ndarray, plan: GradientPlan) -> np.ndarray:
        return (np.maximum(G, 0.0) * A).sum(axis=1)


class HiResCam(GradCam):
    """HiResCAM (Draelos & Carin 2020): activations times gradients, summed over channels.

    ``cam = relu(sum_k G_k * A_k)``: Grad-CAM without averaging the gradients over the grid, so
    that the map shows the locations the target's score actually used (where the layer is followed
    by global average pooling and a linear layer, every channel's gradient is constant on the grid
    and HiResCAM equals Grad-CAM). Parameters as :class:`~xaikit.GradCam`.

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> from xaikit.explainers.gradients.cam_variants import HiResCam
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(),
    ...                           torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(2, 3))
    >>> HiResCam(net, layer="1").explain(np.ones((2, 1, 4, 4)), target=0).shape
    (2, 16, 1)
    """

    name = "hires_cam"

    def _cam(self, A: np.ndarray, G: np.ndarray, plan: GradientPlan) -> np.ndarray:
        return (G * A).sum(axis=1)


class EigenCam(GradCam):
    """EigenCAM (Muhammad & Yeasin 2020): the layer's activations on their first principal component.

    ``cam = relu(P)`` with ``P`` the projection of :func:`first_component`; the gradients are not
    used, so the map is the same for every ``target`` (which names the output recorded). The sign
    of a principal component is arbitrary; it is numpy's (LAPACK's), as in pytorch-grad-cam, and
    ``relu=False`` keeps both signs. Parameters as :class:`~xaikit.GradCam`.

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> from xaikit.explainers.gradients.cam_variants import EigenCam
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(),
    ...                           torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(2, 3))
    >>> X = np.arange(32.0).reshape(2, 1, 4, 4)
    >>> bool(np.array_equal(EigenCam(net, layer="1").explain(X, target=0).values,
    ...                     EigenCam(net, layer="1").explain(X, target=2).values))
    True
    """

    name = "eigen_cam"
    uses_gradients = False

    def _cam(self, A: np.ndarray, G: np.ndarray, plan: GradientPlan) -> np.ndarray:
        _check_grid(self, A, "finds the principal component of the activations over the grid's cells")
        return first_component(A)


class ScoreCam(GradCam):
    """ScoreCAM (Wang et al. 2020): channels weighted by the model's score on the input masked by each.

    Each channel's map ``A_k`` is resized to the input's spatial size by (bi)linear interpolation,
    scaled to [0, 1] (``(m - min) / (max - min + 1e-8)``; a constant map masks everything) and
    multiplies the input (every input channel); the target output ``s_k`` of the model on each
    masked input gives the weights ``w = softmax_k(s)``, and ``cam = relu(sum_k w_k A_k)``. The
    masked inputs of all (row, channel) pairs go to ``model.predict`` ``batch_size`` at a time, so
    explaining ``n`` rows of a layer with ``channels`` channels costs ``n * channels`` model rows.
    These are pytorch-grad-cam's weights (the softmax over channels of the raw scores); the
    authors' code adds up the scores unnormalised.

    Parameters
    ----------
    model : torch.nn.Module or a model with the ``"layer_gradients"`` capability
    layer : str or module
        As :class:`~xaikit.GradCam`.
    upsample : bool
        Resize the map (not the masks, which always are) to the input's spatial size.
    relu : bool
    align_corners : bool
        How the masks are resized: half-pixel centres (``False``, as ``upsample`` and the authors'
        code, ``torch.nn.functional.interpolate(..., align_corners=False)``) or the corners aligned
        (``True``, ``torch.nn.UpsamplingBilinear2d``, as pytorch-grad-cam).
    output : str

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> from xaikit.explainers.gradients.cam_variants import ScoreCam
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(),
    ...                           torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(2, 3))
    >>> ScoreCam(net, layer="1").explain(np.ones((2, 1, 4, 4)), target=[0, 2], batch_size=3).shape
    (2, 16, 1)
    """

    name = "score_cam"
    uses_gradients = False
    integer_rows = False  # it masks the input: token ids cannot be scaled

    def __init__(
        self, model: Any, /, *, layer: Any, upsample: bool = True, relu: bool = True, align_corners: bool = False,
        output: str = "auto",
    ) -> None:
        super().__init__(model, layer=layer, upsample=upsample, relu=relu, output=output)
        self.align_corners = bool(align_corners)

    def _cam(self, A: np.ndarray, G: np.ndarray, plan: GradientPlan) -> np.ndarray:
        _check_grid(self, A, "masks the input with each channel's map scaled to [0, 1] over the grid")
        X, target, bs = plan.X, plan.target, plan.batch_size
        n, k = A.shape[:2]
        size = self._spatial_size(X, A[:, 0], "layer", "; ScoreCam masks the input with each channel's map resized to it")
        channels_last = self._channels_last()
        rows, chans = np.repeat(np.arange(n), k), np.tile(np.arange(k), n)
        scores = np.empty(n * k)
        for s in range(0, n * k, bs):
            r, c = rows[s : s + bs], chans[s : s + bs]
            masks = interpolate_linear(A[r, c], size, align_corners=self.align_corners)
            flat = masks.reshape(len(r), -1)
            lo, hi = flat.min(axis=1), flat.max(axis=1)
            masks = ((flat - lo[:, None]) / (hi - lo + 1e-8)[:, None]).reshape(masks.shape)
            dt = getattr(self.model, "input_dtype", np.dtype(np.float64))  # masked rows in the model's own precision
            masked = X[r].astype(dt, copy=False) * (masks[..., None] if channels_last else masks[:, None]).astype(dt, copy=False)
            out = np.asarray(self.model.predict(masked), dtype=np.float64)
            scores[s : s + bs] = out[np.arange(len(r)), target[r]]
        scores = scores.reshape(n, k)
        w = np.exp(scores - scores.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        return np.einsum("nc,nc...->n...", w, A)

    def _params(self) -> dict[str, Any]:
        return {**super()._params(), "align_corners": self.align_corners}
