"""Deconvolution and Guided Grad-CAM: equal to Captum on a small float64 CNN, the explainer contract,
the deconvolution rule itself (in-place and reused ReLUs, models without ReLU modules, Keras), and the
interpolation of the Grad-CAM map against torch."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xaikit.errors import ApproximationWarning, InvalidParameterError  # noqa: E402
from xaikit.explainers.gradients.base import as_input_shape  # noqa: E402
from xaikit.explainers.gradients.deconvolution import Deconvolution  # noqa: E402
from xaikit.explainers.gradients.guided_backprop import GuidedBackprop  # noqa: E402
from xaikit.explainers.gradients.guided_grad_cam import GuidedGradCam, interpolate  # noqa: E402
from xaikit.models.torch import TorchModel  # noqa: E402
from xaikit.testing import check_explainer  # noqa: E402

TARGETS = [0, 2]


def cnn(inplace: bool = False) -> torch.nn.Module:
    """conv(2->4) + ReLU -> conv(4->3) + ReLU -> max pool -> linear 3, float64, on 2 x 8 x 8 images."""
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.ReLU(inplace=inplace),
        torch.nn.Conv2d(4, 3, 3), torch.nn.ReLU(inplace=inplace),
        torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(27, 3),
    ).double().eval()


@pytest.fixture(scope="module")
def net() -> torch.nn.Module:
    return cnn()


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(2, 2, 8, 8))


def test_deconvolution_equals_captum(net, X):
    captum_attr = pytest.importorskip("captum.attr")
    ours = as_input_shape(Deconvolution(net).explain(X, target=TARGETS))
    theirs = captum_attr.Deconvolution(net).attribute(torch.from_numpy(X), target=TARGETS).detach().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    guided = as_input_shape(GuidedBackprop(net).explain(X, target=TARGETS))
    assert np.abs(ours - guided).max() > 1e-3  # the rule differs from guided backpropagation here


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "area"])
def test_guided_grad_cam_equals_captum(net, X, mode):
    captum_attr = pytest.importorskip("captum.attr")
    layer = "2"  # the second convolution: a 6 x 6 grid resized to 8 x 8
    exp = GuidedGradCam(net, layer=layer, interpolate_mode=mode).explain(X, target=TARGETS)
    theirs = captum_attr.GuidedGradCam(net, net[2]).attribute(
        torch.from_numpy(X), target=TARGETS, interpolate_mode=mode
    ).detach().numpy()
    assert exp.input_shape == (2, 8, 8)
    scale = np.abs(theirs).max()
    assert scale > 1e-6 and np.count_nonzero(theirs) > 20  # a map that is not empty
    np.testing.assert_allclose(as_input_shape(exp), theirs, rtol=1e-10, atol=1e-10 * scale)
    assert exp.params["interpolate_mode"] == mode and exp.params["layer"] == layer


@pytest.mark.parametrize("cls", [Deconvolution, GuidedGradCam])
def test_check_explainer(cls):
    report = check_explainer(cls)
    assert {"seed", "executor:threads", "executor:processes", "save_load", "bad:target"} <= set(report.passed), report


def test_deconv_rule_ignores_the_relu_input_sign():
    lin = torch.nn.Linear(1, 1, bias=False).double()
    net = torch.nn.Sequential(torch.nn.ReLU(), lin)
    m = TorchModel(net)
    x = np.array([[-1.0], [1.0]])
    lin.weight.data.fill_(2.0)
    assert m.gradient(x, 0, relu="deconv").tolist() == [[2.0], [2.0]]  # passes where the ReLU is off
    assert m.gradient(x, 0, relu="guided").tolist() == [[0.0], [2.0]]
    lin.weight.data.fill_(-2.0)
    assert m.gradient(x, 0, relu="deconv").tolist() == [[0.0], [0.0]]  # negative gradients stop
    assert m.gradient(x, 0).tolist() == [[0.0], [-2.0]]  # the hooks are gone after the call


def test_deconv_in_place_and_reused_relus(net, X):
    expected = TorchModel(net).gradient(X, TARGETS, relu="deconv")
    inplace = cnn(inplace=True)
    np.testing.assert_array_equal(TorchModel(inplace).gradient(X, TARGETS, relu="deconv"), expected)
    shared = copy.deepcopy(net)
    shared[3] = shared[1]  # one ReLU module applied twice
    np.testing.assert_array_equal(TorchModel(shared).gradient(X, TARGETS, relu="deconv"), expected)


def test_deconv_without_relu_modules_warns_and_gives_the_gradient(X):
    torch.manual_seed(1)
    smooth = torch.nn.Sequential(torch.nn.Conv2d(2, 2, 3), torch.nn.Tanh(), torch.nn.Flatten(),
                                 torch.nn.Linear(72, 3)).double()
    with pytest.warns(ApproximationWarning, match="relu: .*no torch.nn.ReLU modules, so deconvolution"):
        values = Deconvolution(smooth).explain(X, target=1).values
    np.testing.assert_array_equal(values[..., 0], TorchModel(smooth).gradient(X, 1).reshape(2, -1))


def test_guided_grad_cam_refusals(net, X):
    with pytest.raises(InvalidParameterError, match="interpolate_mode: expected one of .*got 'cubic'"):
        GuidedGradCam(net, layer="2", interpolate_mode="cubic")
    with pytest.raises(InvalidParameterError, match="interpolate_mode: 'trilinear' resizes 3 grid axes"):
        GuidedGradCam(net, layer="2", interpolate_mode="trilinear").explain(X, target=0)
    no_grid = r"layer: GuidedGradCam needs a layer whose output has channels and a grid .*got output of shape \(2, 3\) from '6'"
    with pytest.raises(InvalidParameterError, match=no_grid):
        GuidedGradCam(net, layer="6").explain(X, target=0)  # the linear layer's output has no grid


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "area", "bilinear"])
@pytest.mark.parametrize("size", [(7, 7), (13, 5), (3, 17), (10, 6)])
def test_interpolate_matches_torch(mode, size):
    maps = np.random.default_rng(2).normal(size=(2, 5, 6))
    theirs = torch.nn.functional.interpolate(torch.from_numpy(maps)[:, None], size, mode=mode)[:, 0].numpy()
    np.testing.assert_allclose(interpolate(maps, size, mode), theirs, rtol=0, atol=1e-12)


def test_keras_refuses_the_deconv_rule():
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras", minversion="3")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the Keras adapter is tested on its TensorFlow backend")
    model = keras.Sequential([keras.Input((2,), dtype="float64"), keras.layers.Dense(1, activation="relu", dtype="float64")])
    with pytest.raises(InvalidParameterError, match="relu: expected one of 'standard', 'guided', got 'deconv'"):
        Deconvolution(model).explain(np.ones((1, 2)), target=0)
