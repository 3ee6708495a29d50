"""LayerCAM, HiResCAM, EigenCAM and ScoreCAM against pytorch-grad-cam on a small float64 CNN.

pytorch-grad-cam rescales every map to [0, 1] per image and resizes it with OpenCV
(``scale_cam_image``) before returning it, in float32. The maps are compared twice:

* before that step, with its own per-layer map: ``relu(cam.get_cam_image(...))`` on the activations
  and gradients its hooks recorded, against ``upsample=False``, to 1e-6 of the map's scale; the
  remaining differences are float32 roundings on its side (EigenCAM's projection and ScoreCAM's
  weights are float32);
* after it: its returned map against ours with ``upsample=True`` rescaled to [0, 1] per image
  (OpenCV's linear resize uses half-pixel centres, as ``upsample``), to 1e-5.

ScoreCAM's masks are resized as pytorch-grad-cam does with ``align_corners=True``; the default
(``align_corners=False``) is checked against the same computation written with torch's
``interpolate``.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xaikit.errors import InvalidParameterError  # noqa: E402
from xaikit.explainers.gradients.base import as_input_shape  # noqa: E402
from xaikit.explainers.gradients.cam_variants import EigenCam, HiResCam, LayerCam, ScoreCam, first_component  # noqa: E402
from xaikit.explainers.gradients.grad_cam import GradCam  # noqa: E402
from xaikit.testing.references import import_pytorch_grad_cam  # noqa: E402

pytestmark = [pytest.mark.oracle, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

nn = torch.nn
TARGETS = np.array([0, 2, 4])
LAYER = "4"  # the ReLU after the second convolution: 8 channels on a 4 x 4 grid (inputs 8 x 8)


@pytest.fixture(scope="module")
def gc() -> types.ModuleType:
    return import_pytorch_grad_cam(progress=True)


def small_cnn() -> torch.nn.Module:
    """conv(3->6) + ReLU + max pool -> conv(6->8) + ReLU (the layer) -> conv(8->4) + ReLU -> linear 5, float64."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 5),
    )
    with torch.no_grad():
        net[-1].weight.mul_(10.0)  # scores of order 1, so that ScoreCAM's softmax weights differ
    return net.double().eval()


@pytest.fixture(scope="module")
def net() -> torch.nn.Module:
    return small_cnn()


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return np.random.default_rng(1).normal(size=(3, 3, 8, 8))


OURS = {
    "LayerCAM": lambda net, **kw: LayerCam(net, layer=LAYER, **kw),
    "HiResCAM": lambda net, **kw: HiResCam(net, layer=LAYER, **kw),
    "EigenCAM": lambda net, **kw: EigenCam(net, layer=LAYER, **kw),
    "ScoreCAM": lambda net, **kw: ScoreCam(net, layer=LAYER, align_corners=True, **kw),
}


def reference(gc: types.ModuleType, method: str, net: torch.nn.Module, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pytorch-grad-cam's raw map (relu of ``get_cam_image``, on the layer's grid) and its returned map."""
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    layer = net[int(LAYER)]
    cam = getattr(gc, method)(model=net, target_layers=[layer])
    if method == "ScoreCAM":
        cam.batch_size = 7  # (row, channel) pairs per model call
    xt = torch.tensor(X)
    targets = [ClassifierOutputTarget(int(t)) for t in y]
    final = cam(input_tensor=xt, targets=targets)
    A = cam.activations_and_grads.activations[0].numpy()
    G = cam.activations_and_grads.gradients[0].numpy() if cam.activations_and_grads.gradients else None
    raw = np.maximum(cam.get_cam_image(xt, layer, targets, A, G, False), 0.0)
    cam.activations_and_grads.release()
    return np.asarray(raw, dtype=np.float64), np.asarray(final, dtype=np.float64)


def unit_scale(maps: np.ndarray) -> np.ndarray:
    """Each map shifted and scaled to [0, 1], as pytorch-grad-cam's ``scale_cam_image``."""
    flat = maps.reshape(maps.shape[0], -1)
    lo, hi = flat.min(axis=1, keepdims=True), flat.max(axis=1, keepdims=True)
    return ((flat - lo) / (hi - lo)).reshape(maps.shape)


@pytest.mark.parametrize("method", list(OURS))
def test_raw_map_equals_pytorch_grad_cam(gc, net, X, method):
    raw, _ = reference(gc, method, net, X, TARGETS)
    exp = OURS[method](net, upsample=False).explain(X, target=TARGETS)
    ours = as_input_shape(exp)
    assert ours.shape == raw.shape == (3, 4, 4)
    assert (raw.reshape(3, -1).max(axis=1) > 0.05).all()  # every map is not trivially zero
    np.testing.assert_allclose(ours, raw, rtol=0, atol=1e-6 * np.abs(raw).max())


@pytest.mark.parametrize("method", list(OURS))
def test_upsampled_map_equals_pytorch_grad_cam_after_its_rescaling(gc, net, X, method):
    _, final = reference(gc, method, net, X, TARGETS)
    ours = as_input_shape(OURS[method](net).explain(X, target=TARGETS))
    assert ours.shape == final.shape == (3, 8, 8)
    np.testing.assert_allclose(unit_scale(ours), final, rtol=0, atol=1e-5)


def test_score_cam_default_masks_use_half_pixel_centres(net, X):
    """ScoreCAM with ``align_corners=False`` written in torch: masks by ``F.interpolate``, weights by softmax."""
    xt = torch.tensor(X)
    acts: list[torch.Tensor] = []
    handle = net[int(LAYER)].register_forward_hook(lambda m, i, o: acts.append(o.detach()))
    with torch.no_grad():
        net(xt)
        handle.remove()
        A = acts[0]
        up = torch.nn.functional.interpolate(A, size=(8, 8), mode="bilinear", align_corners=False)
        lo = up.amin(dim=(2, 3), keepdim=True)
        hi = up.amax(dim=(2, 3), keepdim=True)
        masks = (up - lo) / (hi - lo + 1e-8)
        scores = torch.stack([net(xt[i : i + 1] * masks[i][:, None])[:, int(TARGETS[i])] for i in range(3)])
        ref = torch.relu((torch.softmax(scores, dim=1)[:, :, None, None] * A).sum(dim=1)).numpy()
    ours = as_input_shape(ScoreCam(net, layer=LAYER, upsample=False).explain(X, target=TARGETS))
    assert ref.max() > 0.05
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)
    corners = as_input_shape(ScoreCam(net, layer=LAYER, upsample=False, align_corners=True).explain(X, target=TARGETS))
    assert np.abs(corners - ours).max() > 1e-6  # the option changes the masks


@pytest.mark.parametrize("method", list(OURS))
def test_batch_equals_rows_one_at_a_time_with_a_target_per_row(net, X, method):
    explainer = OURS[method](net)
    batch = explainer.explain(X, target=TARGETS).values
    for i in range(3):
        alone = explainer.explain(X[i : i + 1], target=int(TARGETS[i])).values
        np.testing.assert_allclose(batch[i : i + 1], alone, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", list(OURS))
@pytest.mark.parametrize("batch_size", [1, 2, 5])
def test_batch_size_changes_nothing(net, X, method, batch_size):
    explainer = OURS[method](net)
    full = explainer.explain(X, target=TARGETS, batch_size=1000).values
    np.testing.assert_allclose(explainer.explain(X, target=TARGETS, batch_size=batch_size).values, full, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", list(OURS))
def test_target_chooses_the_map_except_for_eigen_cam(net, X, method):
    explainer = OURS[method](net)
    a = explainer.explain(X, target=0).values
    b = explainer.explain(X, target=3).values
    if method == "EigenCAM":
        np.testing.assert_array_equal(a, b)
    else:
        assert np.abs(a - b).max() > 1e-3


def test_hires_cam_is_grad_cam_before_global_average_pooling():
    """With global average pooling and a linear layer after the layer, the gradient of a channel is the
    same (its weight / grid size) on the whole grid, its own mean: HiResCAM = Grad-CAM."""
    torch.manual_seed(3)
    gap = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)).double()
    X = np.random.default_rng(2).normal(size=(2, 2, 6, 6))
    hires = HiResCam(gap, layer="1", relu=False, upsample=False).explain(X, target=[0, 2]).values
    grad = GradCam(gap, layer="1", relu=False, upsample=False).explain(X, target=[0, 2]).values
    assert np.abs(grad).max() > 1e-3
    np.testing.assert_allclose(hires, grad, rtol=1e-12, atol=1e-14)


def test_layer_cam_keeps_only_positive_gradients(net, X):
    """relu(G) * A summed over channels: without the ReLU on the map it is >= 0 (activations after a ReLU)
    and differs from HiResCAM, which keeps the negative gradients."""
    layer_map = LayerCam(net, layer=LAYER, relu=False).explain(X, target=TARGETS).values
    hires_map = HiResCam(net, layer=LAYER, relu=False).explain(X, target=TARGETS).values
    assert layer_map.min() >= 0.0
    assert hires_map.min() < 0.0
    assert (layer_map >= hires_map - 1e-12).all()


def test_first_component_matches_a_principal_component_analysis():
    """The projection is the first PCA score up to sign, and its variance is the largest eigenvalue."""
    rng = np.random.default_rng(5)
    A = rng.normal(size=(2, 5, 3, 4)) * np.array([3.0, 1.0, 0.5, 0.2, 0.1])[None, :, None, None]
    p = first_component(A).reshape(2, -1)
    for i in range(2):
        pts = A[i].reshape(5, -1).T
        pts = pts - pts.mean(axis=0)
        vals, vecs = np.linalg.eigh(pts.T @ pts)
        expected = pts @ vecs[:, -1]
        sign = np.sign(expected @ p[i])
        np.testing.assert_allclose(p[i], sign * expected, rtol=0, atol=1e-10)


def test_score_cam_refuses_a_grid_that_does_not_match_the_input():
    torch.manual_seed(0)
    flat_grid = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Flatten(2), nn.Flatten(), nn.Linear(32, 2)).double()
    with pytest.raises(InvalidParameterError, match=r"^layer: the layer's grid \(16,\) and the input's spatial shape \(4, 4\)"):
        ScoreCam(flat_grid, layer="1", upsample=False).explain(np.ones((1, 1, 4, 4)), target=0)
    with pytest.raises(InvalidParameterError, match=r"^upsample: "):
        LayerCam(flat_grid, layer="1").explain(np.ones((1, 1, 4, 4)), target=0)


@pytest.mark.parametrize("cls", [EigenCam, ScoreCam])
def test_methods_over_the_grid_refuse_a_grid_of_one_cell(cls):
    """After global average pooling each channel is one number: no principal component over cells, no mask."""
    torch.manual_seed(0)
    pooled = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 2)).double()
    with pytest.raises(InvalidParameterError, match=rf"^layer: {cls.__name__} .* more than one cell; got a grid of shape \(1, 1\) from '1'"):
        cls(pooled, layer="1").explain(np.ones((1, 1, 4, 4)), target=0)
    one_cell = LayerCam(pooled, layer="1").explain(np.ones((1, 1, 4, 4)), target=0).values  # the others: one value, resized
    assert one_cell.shape == (1, 16, 1) and np.ptp(one_cell) == 0.0
