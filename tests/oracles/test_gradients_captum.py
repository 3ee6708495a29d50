"""Gradient, CAM and occlusion attributions against Captum, on small CNNs built here.

Same model, same inputs, same targets: the attributions (of order 0.1 to 1) agree to 1e-5 in float64
and 1e-4 in float32. Measured: exactly for Saliency, InputXGradient, GuidedBackprop and SmoothGrad in
float64; at most 8e-9 for Integrated Gradients (Captum rounds its step sizes and nodes to float32)
and 3e-8 for Occlusion (Captum returns float32) in float64; at most 1e-7 in float32.
Two documented differences are accounted for:

* ``riemann_trapezoid``: Captum gives every one of its ``n`` nodes (spaced ``1/(n-1)`` apart) the step
  ``1/n`` (halved at both ends), so its weights sum to ``(n-1)/n``; xaikit uses the trapezoid rule
  whose weights sum to 1. The results differ by exactly the factor ``n/(n-1)``, which is checked.
* SmoothGrad / VarGrad: the noise comes from different generators (numpy's in xaikit, torch's in
  Captum). The noisy inputs are rebuilt here from xaikit's documented draw order and Captum's
  ``Saliency`` is averaged over them, which is what ``NoiseTunnel`` computes from its own draws.
"""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients"),
    pytest.mark.filterwarnings("ignore:Setting backward hooks on ReLU activations"),
]

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")
nn = torch.nn

DTYPES = {"float64": (torch.float64, 1e-5), "float32": (torch.float32, 1e-4)}


def small_cnn(dtype: torch.dtype) -> torch.nn.Module:
    """Three conv layers on 3 x 16 x 16 inputs, five outputs; seeded initialisation."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 5),
    )
    with torch.no_grad():
        net[-1].weight.mul_(300.0)  # attributions of order 0.1-1, so that the tolerances mean something
    return net.to(dtype).eval()


@pytest.fixture(scope="module", params=list(DTYPES))
def case(request):
    dtype, tol = DTYPES[request.param]
    net = small_cnn(dtype)
    X = np.random.default_rng(1).normal(size=(3, 3, 16, 16))
    y = np.array([0, 2, 4])
    return net, X, torch.tensor(X, dtype=dtype), y, torch.tensor(y), tol


def flat(t) -> np.ndarray:
    arr = t.detach().cpu().double().numpy()
    return arr.reshape(arr.shape[0], -1)


def assert_same(ours: xk.Attribution, ref: np.ndarray, tol: float, floor: float = 0.05) -> None:
    assert np.abs(ref).max() > floor  # a meaningful comparison
    np.testing.assert_allclose(ours.values[:, :, 0], ref, rtol=0, atol=tol)


def test_saliency(case):
    net, X, Xt, y, yt, tol = case
    assert_same(xk.Saliency(net).explain(X, target=y), flat(captum_attr.Saliency(net).attribute(Xt, target=yt)), tol)
    signed = captum_attr.Saliency(net).attribute(Xt, target=yt, abs=False)
    assert_same(xk.Saliency(net, abs=False).explain(X, target=y, batch_size=3), flat(signed), tol)


def test_input_x_gradient(case):
    net, X, Xt, y, yt, tol = case
    ref = captum_attr.InputXGradient(net).attribute(Xt, target=yt)
    assert_same(xk.InputXGradient(net).explain(X, target=y), flat(ref), tol)


def test_guided_backprop(case):
    net, X, Xt, y, yt, tol = case
    ref = captum_attr.GuidedBackprop(net).attribute(Xt, target=yt)
    ours = xk.GuidedBackprop(net).explain(X, target=y)
    assert_same(ours, flat(ref), tol)
    plain = xk.Saliency(net, abs=False).explain(X, target=y).values
    assert np.abs(ours.values - plain).max() > 1e-3  # the guided rule changed something
    assert not any(m._forward_hooks for m in net.modules())  # and its hooks are gone


@pytest.mark.parametrize(
    "method", ["riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre"]
)
def test_integrated_gradients(case, method):
    net, X, Xt, y, yt, tol = case
    n_steps = 10
    ref = flat(captum_attr.IntegratedGradients(net).attribute(Xt, target=yt, n_steps=n_steps, method=method))
    if method == "riemann_trapezoid":
        ref *= n_steps / (n_steps - 1)  # Captum's trapezoid weights sum to (n-1)/n
    ours = xk.IntegratedGradients(net).explain(X, target=y, baseline=0.0, n_steps=n_steps, method=method, batch_size=7)
    assert_same(ours, ref, tol)


def test_integrated_gradients_array_baseline(case):
    net, X, Xt, y, yt, tol = case
    base = np.random.default_rng(5).uniform(-1, 1, size=X.shape[1:])
    bt = torch.tensor(base[None], dtype=Xt.dtype)
    ref = flat(captum_attr.IntegratedGradients(net).attribute(Xt, baselines=bt, target=yt, n_steps=16))
    ours = xk.IntegratedGradients(net).explain(X, target=y, baseline=base, n_steps=16)
    assert_same(ours, ref, tol)


def _smoothgrad_noise(X: np.ndarray, n_samples: int, sigma: float, random_state: int) -> np.ndarray:
    """The noisy inputs (n_samples, n, ...) in SmoothGrad's documented draw order."""
    from xaikit._validation import spawn_seeds

    out = np.empty((n_samples, *X.shape))
    for i, s in enumerate(spawn_seeds(random_state, X.shape[0])):
        rng = np.random.default_rng(np.random.SeedSequence(s.entropy, spawn_key=(*s.spawn_key, 0)))
        for j in range(n_samples):
            out[j, i] = X[i] + rng.standard_normal(X.shape[1:]) * sigma
    return out


@pytest.mark.parametrize("wrapper", ["smooth_grad", "var_grad"])
def test_smoothgrad_and_vargrad(case, wrapper):
    net, X, Xt, y, yt, tol = case
    S, sigma = 6, 1.0
    noisy = _smoothgrad_noise(X, S, sigma, random_state=3)
    sal = captum_attr.Saliency(net)
    per_sample = np.stack(
        [flat(sal.attribute(torch.tensor(noisy[j], dtype=Xt.dtype), target=yt)) for j in range(S)]
    )
    ref = per_sample.mean(axis=0) if wrapper == "smooth_grad" else per_sample.var(axis=0)
    cls = xk.SmoothGrad if wrapper == "smooth_grad" else xk.VarGrad
    ours = cls(xk.Saliency(net), noise_abs=sigma).explain(X, target=y, n_samples=S, random_state=3, batch_size=5)
    assert_same(ours, ref, tol, floor=0.05 if wrapper == "smooth_grad" else 0.005)  # variances are small


def test_smoothgrad_matches_noise_tunnel_with_zero_noise(case):
    # with no noise every sample is the input itself, so the draws do not matter
    net, X, Xt, y, yt, tol = case
    ref = captum_attr.NoiseTunnel(captum_attr.Saliency(net)).attribute(
        Xt, nt_type="smoothgrad", nt_samples=3, stdevs=0.0, target=yt
    )
    ours = xk.SmoothGrad(xk.Saliency(net), noise_abs=0.0).explain(X, target=y, n_samples=3, random_state=0)
    assert_same(ours, flat(ref), tol)


@pytest.mark.parametrize("upsample", [True, False])
def test_grad_cam(case, upsample):
    net, X, Xt, y, yt, tol = case
    cam = captum_attr.LayerGradCam(net, net[6]).attribute(Xt, target=yt, relu_attributions=True)
    if upsample:
        cam = captum_attr.LayerAttribution.interpolate(cam, (16, 16), "bilinear")
    ours = xk.GradCam(net, layer="6", upsample=upsample).explain(X, target=y)
    assert ours.input_shape == ((16, 16) if upsample else (8, 8))
    assert_same(ours, flat(cam), tol)


def test_grad_cam_without_relu_and_by_module(case):
    net, X, Xt, y, yt, tol = case
    cam = captum_attr.LayerGradCam(net, net[2]).attribute(Xt, target=yt)
    ours = xk.GradCam(net, layer=net[2], upsample=False, relu=False).explain(X, target=y)
    assert (flat(cam) < 0).any()
    assert_same(ours, flat(cam), tol)


@pytest.mark.parametrize(
    "window, stride, baseline",
    [((3, 4, 4), (3, 3, 3), 0.5), ((1, 5, 3), (1, 3, 3), 0.0), ((3, 8, 8), (3, 8, 8), "array")],
    ids=["overlapping", "cut-at-border", "patches-array-baseline"],
)
def test_occlusion(case, window, stride, baseline):
    net, X, Xt, y, yt, tol = case
    if baseline == "array":
        baseline = np.random.default_rng(2).normal(size=X.shape[1:])
        ref_base = torch.tensor(baseline[None], dtype=Xt.dtype)
    else:
        ref_base = baseline
    ref = captum_attr.Occlusion(net).attribute(
        Xt, target=yt, sliding_window_shapes=window, strides=stride, baselines=ref_base
    )
    ours = xk.Occlusion(net, window=window, stride=stride).explain(X, target=y, baseline=baseline, batch_size=37)
    assert_same(ours, flat(ref), tol)
