"""Tests of the gradient, CAM, occlusion and attention-rollout explainers (no reference library)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import xaikit as xk
from xaikit._validation import spawn_seeds
from xaikit.errors import (
    ConvergenceWarning,
    InvalidParameterError,
    UnsupportedModelError,
)
from xaikit.explainers.gradients import integration_rule
from xaikit.explainers.gradients.grad_cam import interpolate_linear

torch = pytest.importorskip("torch")
nn = torch.nn


# ---------------------------------------------------------------- models
def smooth_cnn() -> torch.nn.Module:
    """Softplus / tanh CNN on 3 x 16 x 16, four outputs: an integrand without kinks."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.Softplus(),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.Tanh(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 4),
    )
    with torch.no_grad():
        net[-1].weight.mul_(10.0)
    return net.double().eval()


def relu_cnn() -> torch.nn.Module:
    torch.manual_seed(1)
    net = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 6, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(6 * 8 * 8, 5),
    )
    with torch.no_grad():
        net[-1].weight.mul_(30.0)
    return net.double().eval()


class Region(nn.Module):
    """Keeps the input inside rows/columns [4, 8) and zeroes the rest: the output depends on that region only."""

    def forward(self, x):
        mask = torch.zeros_like(x)
        mask[..., 4:8, 4:8] = 1.0
        return x * mask


def region_cnn() -> torch.nn.Module:
    """Region mask, then bias-free 1x1 convolutions (so nothing leaks out of the region), then a head."""
    torch.manual_seed(2)
    net = nn.Sequential(
        Region(),
        nn.Conv2d(3, 4, 1, bias=False),
        nn.ReLU(),
        nn.Conv2d(4, 4, 1, bias=False),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(4 * 16 * 16, 3),
    )
    return net.double().eval()


REGION = np.zeros((16, 16), dtype=bool)
REGION[4:8, 4:8] = True


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return 2.0 * np.random.default_rng(1).normal(size=(4, 3, 16, 16))


def gap_of(exp: xk.Attribution) -> float:
    return float(np.abs(exp.diagnostics["completeness_gap"]).max())


# ---------------------------------------------------------------- integrated gradients: completeness
@pytest.mark.parametrize("method", ["gausslegendre", "riemann_middle", "riemann_trapezoid"])
def test_integrated_gradients_completeness_gap_is_what_it_says(X, method):
    net = smooth_cnn()
    model = xk.adapt(net)
    base = np.random.default_rng(3).normal(size=X.shape[1:])
    exp = xk.IntegratedGradients(net).explain(X, target=[0, 1, 2, 3], baseline=base, n_steps=8, method=method)
    fx = model.predict(X)[np.arange(4), [0, 1, 2, 3]]
    fb = model.predict(base[None])[0, [0, 1, 2, 3]]
    np.testing.assert_allclose(exp.base_values[:, 0], fb, rtol=0, atol=1e-12)
    expected_gap = exp.values[:, :, 0].sum(axis=1) - (fx - fb)
    np.testing.assert_allclose(exp.diagnostics["completeness_gap"][:, 0], expected_gap, rtol=0, atol=1e-12)
    np.testing.assert_allclose(exp.completeness()[:, 0], fx + expected_gap, rtol=0, atol=1e-12)
    assert np.abs(fx - fb).max() > 0.1  # the attributions have something to add up to


def test_gap_shrinks_with_steps_and_gauss_legendre_converges_faster(X):
    net = smooth_cnn()
    ig = xk.IntegratedGradients(net)
    steps = [2, 4, 8, 16]
    gaps = {
        m: [gap_of(ig.explain(X[:2], target=1, n_steps=k, method=m)) for k in steps]
        for m in ("riemann_middle", "gausslegendre")
    }
    # measured: riemann_middle 2.6e-3, 6.2e-4, 1.5e-4, 3.8e-5; gausslegendre 5.9e-4, 6.8e-7, 6.0e-12, 1e-15
    for m, g in gaps.items():
        assert all(b < a for a, b in itertools.pairwise(g)), (m, g)
    assert all(gl < rm for gl, rm in zip(gaps["gausslegendre"], gaps["riemann_middle"]))
    assert gaps["riemann_middle"][-1] > 1e-6  # second order: about 4x per doubling
    assert gaps["riemann_middle"][1] / gaps["riemann_middle"][2] == pytest.approx(4.0, rel=0.1)
    assert gaps["gausslegendre"][-1] < 1e-12


def test_tol_adds_steps_until_the_gap_is_reached(X):
    net = smooth_cnn()
    exp = xk.IntegratedGradients(net).explain(X, target=1, n_steps=4, method="riemann_middle", tol=1e-4)
    assert gap_of(exp) <= 1e-4
    assert exp.diagnostics["n_steps"].min() >= 8 and exp.diagnostics["n_steps"].max() >= 16
    assert exp.params["tol"] == 1e-4
    fixed = xk.IntegratedGradients(net).explain(X, target=1, n_steps=4, method="riemann_middle")
    assert gap_of(fixed) > 1e-4
    with pytest.warns(ConvergenceWarning, match="max_steps=8"):
        exp = xk.IntegratedGradients(net).explain(
            X, target=1, n_steps=4, method="riemann_middle", tol=1e-8, max_steps=8
        )
    assert exp.diagnostics["n_steps"].tolist() == [8, 8, 8, 8]


def test_integration_rules_are_exact_where_they_should_be():
    for k in (1, 3, 6):
        a, w = integration_rule("gausslegendre", k)
        for degree in range(2 * k):
            assert w @ a**degree == pytest.approx(1.0 / (degree + 1), abs=1e-13)
    a, w = integration_rule("riemann_trapezoid", 5)
    assert w.sum() == pytest.approx(1.0) and w @ a == pytest.approx(0.5)
    a, w = integration_rule("riemann_middle", 4)
    assert a.tolist() == [0.125, 0.375, 0.625, 0.875]
    assert integration_rule("riemann_left", 2)[0].tolist() == [0.0, 0.5]
    assert integration_rule("riemann_right", 2)[0].tolist() == [0.5, 1.0]


def test_linear_model_integrated_gradients_are_exact_for_every_baseline_kind():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 2)).double()
    w = net[1].weight.detach().numpy()[1].reshape(3, 2, 2)
    X = np.random.default_rng(0).normal(size=(3, 3, 2, 2))
    bg = np.random.default_rng(1).normal(size=(5, 3, 2, 2))
    ig = xk.IntegratedGradients(net)
    cases = {
        "zeros": ({"baseline": "zeros"}, np.zeros_like(X)),
        "constant": ({"baseline": 0.5}, np.full_like(X, 0.5)),
        "array": ({"baseline": bg[0]}, np.broadcast_to(bg[0], X.shape)),
        "per row": ({"baseline": bg[:3]}, bg[:3]),
        "background": ({"background": bg}, np.broadcast_to(bg.mean(axis=0), X.shape)),
    }
    for name, (kwargs, reference) in cases.items():
        if "background" in kwargs:  # the background belongs to the explainer
            exp = xk.IntegratedGradients(net, background=kwargs["background"]).explain(X, target=1, n_steps=1)
        else:
            exp = ig.explain(X, target=1, n_steps=1, **kwargs)
        expected = (w * (X - reference)).reshape(3, -1)
        np.testing.assert_allclose(exp.values[:, :, 0], expected, rtol=0, atol=1e-12, err_msg=name)
        assert gap_of(exp) < 1e-12, name


def test_blur_and_uniform_baselines(X):
    from scipy.ndimage import gaussian_filter

    net = smooth_cnn()
    ig = xk.IntegratedGradients(net)
    blurred = np.stack([gaussian_filter(x, sigma=(0, 2.0, 2.0)) for x in X])
    exp = ig.explain(X, target=0, baseline="blur", sigma=2.0, n_steps=16)
    ref = ig.explain(X, target=0, baseline=blurred, n_steps=16)
    np.testing.assert_allclose(exp.values, ref.values, rtol=0, atol=1e-13)
    assert exp.params["baseline"] == "blur(sigma=2.0)"
    u1 = ig.explain(X, target=0, baseline="uniform", n_steps=8, random_state=4)
    u2 = ig.explain(X, target=0, baseline="uniform", n_steps=8, random_state=4, batch_size=5)
    u3 = ig.explain(X, target=0, baseline="uniform", n_steps=8, random_state=5)
    np.testing.assert_allclose(u1.values, u2.values, rtol=0, atol=1e-13)
    assert np.abs(u1.values - u3.values).max() > 1e-3
    lo, hi = X.reshape(4, -1).min(axis=1), X.reshape(4, -1).max(axis=1)
    fb = u1.base_values[:, 0]
    assert np.isfinite(fb).all() and u1.provenance["seed"] == 4
    assert (lo < hi).all()


# ---------------------------------------------------------------- one region only
def test_occlusion_ig_and_grad_cam_put_everything_in_the_region(X):
    net = region_cnn()
    outside = ~np.broadcast_to(REGION, (4, 3, 16, 16)).reshape(4, -1)
    occ = xk.Occlusion(net, window=(3, 4, 4), stride=(3, 4, 4)).explain(X, target=0, baseline=0.0)
    ig = xk.IntegratedGradients(net).explain(X, target=0, baseline=0.0)
    for exp in (occ, ig):
        v = exp.values[:, :, 0]
        assert np.abs(v[outside]).max() == 0.0
        assert np.abs(v[~outside]).max() > 1e-3
    for layer, upsample in (("4", True), ("4", False), ("2", True)):
        cam = xk.GradCam(net, layer=layer, upsample=upsample).explain(X, target=0)
        grid = xk.as_input_shape(cam)
        assert grid.shape == (4, 16, 16)
        assert np.abs(grid[:, ~REGION]).max() == 0.0 and grid[:, REGION].max() > 1e-6
    # a control: without the region mask, attributions do appear outside
    free = xk.IntegratedGradients(net[1:]).explain(X, target=0, baseline=0.0).values[:, :, 0]
    assert np.abs(free[outside]).max() > 1e-3


# ---------------------------------------------------------------- the other gradient methods
def test_saliency_input_x_gradient_and_shapes(X):
    net = relu_cnn()
    model = xk.adapt(net)
    y = np.array([0, 4, 2, 2])
    g = model.gradient(X, y).reshape(4, -1)
    sal = xk.Saliency(net).explain(X, target=y)
    np.testing.assert_allclose(sal.values[:, :, 0], np.abs(g))
    np.testing.assert_allclose(xk.Saliency(net, abs=False).explain(X, target=y).values[:, :, 0], g)
    ixg = xk.InputXGradient(net).explain(X, target=y)
    np.testing.assert_allclose(ixg.values[:, :, 0], X.reshape(4, -1) * g)
    assert sal.shape == (4, 768, 1) and sal.input_shape == (3, 16, 16)
    assert xk.as_input_shape(sal).shape == (4, 3, 16, 16)
    assert sal.diagnostics["target"].tolist() == y.tolist() and sal.method == "saliency"
    np.testing.assert_allclose(sal.data, X.reshape(4, -1))


def test_targets_predicted_callable_names_and_tensors(X):
    net = relu_cnn()
    model = xk.adapt(net)
    pred = model.predict(X).argmax(axis=1)
    sal = xk.Saliency(net)
    by_pred = sal.explain(X, target="predicted")
    np.testing.assert_allclose(by_pred.values, sal.explain(X, target=pred).values)
    assert by_pred.diagnostics["target"].tolist() == pred.tolist()
    by_callable = sal.explain(X, target=lambda out: out.argmin(axis=1))
    np.testing.assert_allclose(by_callable.values, sal.explain(X, target=model.predict(X).argmin(axis=1)).values)
    assert sal.explain(X, target=3).output_names == ["output3"]
    assert sal.explain(X, target=-1).diagnostics["target"].tolist() == [4, 4, 4, 4]
    np.testing.assert_allclose(sal.explain(torch.tensor(X), target=1).values, sal.explain(X, target=1).values)


def test_guided_backprop_differs_from_the_gradient_only_through_relus(X):
    net = relu_cnn()
    gbp = xk.GuidedBackprop(net).explain(X, target=1).values
    plain = xk.Saliency(net, abs=False).explain(X, target=1).values
    assert np.abs(gbp - plain).max() > 1e-3
    smooth = smooth_cnn()  # no ReLU modules: guided equals the plain gradient, with a warning
    with pytest.warns(xk.ApproximationWarning):
        g = xk.GuidedBackprop(smooth).explain(X, target=1).values
    np.testing.assert_allclose(g, xk.Saliency(smooth, abs=False).explain(X, target=1).values)


def test_smoothgrad_is_reproducible_batch_size_free_and_honest_about_its_error(X):
    net = relu_cnn()
    sg = xk.SmoothGrad(xk.Saliency(net), noise=0.15)
    a = sg.explain(X[:2], target=[0, 3], n_samples=16, random_state=0)
    b = sg.explain(X[:2], target=[0, 3], n_samples=16, random_state=0, batch_size=7)
    c = sg.explain(X[:2], target=[0, 3], n_samples=16, random_state=1)
    np.testing.assert_allclose(a.values, b.values, rtol=0, atol=1e-12)
    assert np.abs(a.values - c.values).max() > 1e-4
    se = a.diagnostics["std_err"]
    assert se.shape == a.shape and (se > 0).mean() > 0.9
    # two independent runs differ by about sqrt(2) standard errors
    z = (a.values - c.values) / np.sqrt(se**2 + c.diagnostics["std_err"] ** 2 + 1e-30)
    assert 0.5 < np.sqrt(np.mean(z[se > 0] ** 2)) < 2.0
    noiseless = xk.SmoothGrad(xk.Saliency(net), noise_abs=0.0).explain(X, target=1, n_samples=3, random_state=0)
    np.testing.assert_allclose(noiseless.values, xk.Saliency(net).explain(X, target=1).values, rtol=0, atol=1e-13)
    default = xk.SmoothGrad(net).explain(X, target=1, n_samples=2, random_state=0)
    assert default.params["explainer"] == "saliency" and default.params["noise"] == 0.15


def test_smoothgrad_over_integrated_gradients_and_vargrad(X):
    net = smooth_cnn()
    sg = xk.SmoothGrad(xk.IntegratedGradients(net), noise_abs=0.1)
    exp = sg.explain(X[:2], target=0, n_samples=3, random_state=0, baseline=0.0, n_steps=8, method="riemann_middle")
    assert exp.params["n_steps"] == 8 and exp.params["explainer"] == "integrated_gradients"
    vg = xk.VarGrad(xk.Saliency(net, abs=False), noise_abs=0.5).explain(X, target=0, n_samples=4, random_state=0)
    assert (vg.values >= 0).all() and vg.values.max() > 0
    with pytest.raises(InvalidParameterError, match="n_samples"):
        xk.VarGrad(xk.Saliency(net)).explain(X, target=0, n_samples=1)
    with pytest.raises(InvalidParameterError, match="noise_abs"):
        xk.SmoothGrad(xk.Saliency(net), noise=0.1, noise_abs=0.1)
    with pytest.raises(InvalidParameterError, match="n_stepz"):
        sg.explain(X, target=0, n_stepz=3)


def test_gradient_shap_linear_exactness_and_sampling(X):
    torch.manual_seed(0)
    lin = nn.Sequential(nn.Flatten(), nn.Linear(768, 2)).double()
    w = lin[1].weight.detach().numpy()[0]
    b = np.random.default_rng(2).normal(size=(1, 3, 16, 16))
    exp = xk.GradientShap(lin, background=b).explain(X, target=0, n_samples=3, random_state=0)
    np.testing.assert_allclose(exp.values[:, :, 0], w * (X - b).reshape(4, -1), rtol=0, atol=1e-12)
    assert gap_of(exp) < 1e-10
    net = relu_cnn()
    bg = np.random.default_rng(3).normal(size=(6, 3, 16, 16))
    gs = xk.GradientShap(net, background=bg, noise=0.05)
    e1 = gs.explain(X[:2], target=1, n_samples=8, random_state=0)
    e2 = gs.explain(X[:2], target=1, n_samples=8, random_state=0, batch_size=3)
    np.testing.assert_allclose(e1.values, e2.values, rtol=0, atol=1e-12)
    assert e1.diagnostics["std_err"].shape == e1.shape
    model = xk.adapt(net)
    np.testing.assert_allclose(e1.base_values[:, 0], model.predict(bg)[:, 1].mean(), rtol=1e-12)
    with pytest.raises(InvalidParameterError, match="^background:"):
        xk.GradientShap(net)


# ---------------------------------------------------------------- Grad-CAM
def test_grad_cam_plus_plus_by_hand():
    class Quadratic(nn.Module):
        """Output = sum(V * A) + 0.5 * sum(A ** 2) / 4 over a 1-channel 2x2 layer A = x."""

        def __init__(self):
            super().__init__()
            self.layer = nn.Identity()

        def forward(self, x):
            a = self.layer(x)
            v = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=x.dtype)
            return ((v * a).sum(dim=(1, 2, 3)) + 0.125 * (a**2).sum(dim=(1, 2, 3)))[:, None]

    x = np.array([[[[1.0, 2.0], [0.0, -1.0]]]])
    g = np.array([1.0, -2.0, 0.5, 3.0]) + 0.25 * x.ravel()  # d output / d A
    a_sum = x.sum()
    alpha = g**2 / (2 * g**2 + a_sum * g**3)
    weight = (alpha * np.maximum(g, 0)).sum()
    expected = np.maximum(weight * x.ravel(), 0)
    exp = xk.GradCamPlusPlus(Quadratic().double(), layer="layer", upsample=False).explain(x)
    np.testing.assert_allclose(exp.values[0, :, 0], expected, rtol=1e-12)
    plain = xk.GradCam(Quadratic().double(), layer="layer", upsample=False, relu=False).explain(x)
    np.testing.assert_allclose(plain.values[0, :, 0], g.mean() * x.ravel(), rtol=1e-12)


@pytest.mark.parametrize(
    "size_in, size_out", [((4, 4), (16, 16)), ((3, 5), (7, 4)), ((5,), (12,)), ((2, 3, 2), (5, 6, 3))]
)
def test_interpolate_linear_matches_torch(size_in, size_out):
    maps = np.random.default_rng(0).normal(size=(2, *size_in))
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[len(size_in)]
    ref = torch.nn.functional.interpolate(torch.tensor(maps)[:, None], size_out, mode=mode)[:, 0].numpy()
    np.testing.assert_allclose(interpolate_linear(maps, size_out), ref, rtol=0, atol=1e-12)


# ---------------------------------------------------------------- occlusion
def test_occlusion_on_a_plain_function_of_any_rank():
    f = lambda Z: (Z[:, 0] * np.arange(5.0)).sum(axis=1) + Z[:, 1, 2] ** 2
    Z = np.random.default_rng(0).normal(size=(3, 2, 5))
    exp = xk.Occlusion(f, window=1).explain(Z, baseline=0.0)
    expected = np.concatenate([Z[:, 0] * np.arange(5.0), np.zeros((3, 5))], axis=1)
    expected[:, 7] = Z[:, 1, 2] ** 2
    np.testing.assert_allclose(exp.values[:, :, 0], expected, rtol=0, atol=1e-12)
    by_batch = xk.Occlusion(f, window=(1, 2), stride=1).explain(Z, baseline=0.3, batch_size=4)
    whole = xk.Occlusion(f, window=(1, 2), stride=1).explain(Z, baseline=0.3)
    np.testing.assert_allclose(by_batch.values, whole.values, rtol=0, atol=1e-12)
    assert whole.diagnostics["n_windows"] == 2 * 4


# ---------------------------------------------------------------- attention rollout
def _rollout_by_loops(att: np.ndarray) -> np.ndarray:
    n, L, _, T, _ = att.shape
    out = np.zeros((n, T, T))
    for i in range(n):
        r = np.eye(T)
        for layer in range(L):
            a = att[i, layer].mean(axis=0) + np.eye(T)
            a = a / a.sum(axis=1, keepdims=True)
            r = a @ r
        out[i] = r
    return out


def test_attention_rollout_against_a_direct_computation():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 4, 2, 5, 5))
    att = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    expected = _rollout_by_loops(att)
    np.testing.assert_allclose(xk.attention_rollout(att), expected, rtol=0, atol=1e-14)
    per_layer = lambda X: [torch.tensor(att[X[:, 0].astype(int), layer]) for layer in range(4)]
    ids = np.arange(3)[:, None] * np.ones((1, 5))
    exp = xk.AttentionRollout(per_layer).explain(ids, token=0, batch_size=2)
    np.testing.assert_allclose(exp.values[:, :, 0], expected[:, 0, :], rtol=0, atol=1e-14)
    np.testing.assert_allclose(exp.values.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    last = xk.AttentionRollout(lambda X: att[X[:, 0].astype(int)]).explain(ids, token=-1)
    np.testing.assert_allclose(last.values[:, :, 0], expected[:, -1, :], rtol=0, atol=1e-14)
    mean = xk.AttentionRollout(lambda X: att[X[:, 0].astype(int)]).explain(ids, token="mean")
    np.testing.assert_allclose(mean.values[:, :, 0], expected.mean(axis=1), rtol=0, atol=1e-14)
    assert mean.output_names == ["mean_token"]
    with pytest.raises(InvalidParameterError, match="token: expected one of 'mean'"):
        xk.AttentionRollout(per_layer).explain(ids, token="cls")
    maxed = xk.attention_rollout(att, head_fusion="max")
    assert np.abs(maxed - expected).max() > 1e-3
    with pytest.raises(xk.ModelOutputError, match="tokens, tokens"):
        xk.AttentionRollout(lambda X: np.ones((len(X), 2, 3))).explain(ids)
    with pytest.raises(InvalidParameterError, match="head_fusion"):
        xk.AttentionRollout(per_layer, head_fusion="sum")


# ---------------------------------------------------------------- errors name the parameter
def test_errors_name_the_parameter(X):
    net = relu_cnn()
    with pytest.raises(InvalidParameterError, match=r"layer: unknown layer 'features.6' \(str\); available: '0', '1'"):
        xk.GradCam(net, layer="features.6")
    with pytest.raises(InvalidParameterError, match=r"target: expected an output index in \[-5, 5\) \(negative counts from the end\), got 7"):
        xk.Saliency(net).explain(X, target=7)
    with pytest.raises(InvalidParameterError, match="target: expected an output index, 4 indices"):
        xk.Saliency(net).explain(X, target=[0, 1])
    with pytest.raises(InvalidParameterError, match=r"target: expected output indices in \[-5, 5\)"):
        xk.Saliency(net).explain(X, target=[0, 1, 2, 9])
    with pytest.raises(InvalidParameterError, match="target: the model has 5 outputs"):
        xk.Saliency(net).explain(X)
    with pytest.raises(InvalidParameterError, match="target: expected an output index, one per row, 'predicted'"):
        xk.Saliency(net).explain(X, target="predictd")
    with pytest.raises(InvalidParameterError, match="method: expected one of 'riemann_left'"):
        xk.IntegratedGradients(net).explain(X, target=0, method="riemann")
    bad = X.copy()
    bad[1, 0, 2, 3] = np.nan
    for explainer in (xk.Saliency(net), xk.IntegratedGradients(net), xk.GradCam(net, layer="4")):
        with pytest.raises(InvalidParameterError, match=r"X: expected finite values, got NaN"):
            explainer.explain(bad, target=0)
    with pytest.raises(InvalidParameterError, match="baseline: expected a number, 'zeros'"):
        xk.IntegratedGradients(net).explain(X, target=0, baseline=np.zeros((2, 2)))
    with pytest.raises(InvalidParameterError, match="baseline: expected one of 'zeros'"):
        xk.IntegratedGradients(net).explain(X, target=0, baseline="black")
    with pytest.raises(InvalidParameterError, match="^baseline: the explainer averages over its background"):
        xk.IntegratedGradients(net, background=X).explain(X, target=0, baseline=0.0)
    with pytest.raises(InvalidParameterError, match="n_steps"):
        xk.IntegratedGradients(net).explain(X, target=0, n_steps=1, method="riemann_trapezoid")
    with pytest.raises(InvalidParameterError, match="batch_size"):
        xk.Saliency(net).explain(X, target=0, batch_size=0)
    with pytest.raises(InvalidParameterError, match="window: 17 along axis 1 exceeds"):
        xk.Occlusion(net, window=(3, 17, 4)).explain(X, target=0)
    with pytest.raises(InvalidParameterError, match="stride: 5 along axis 1 is longer than the window"):
        xk.Occlusion(net, window=(3, 4, 4), stride=(3, 5, 4)).explain(X, target=0)
    with pytest.raises(InvalidParameterError, match="window: expected 3 lengths"):
        xk.Occlusion(net, window=(4, 4)).explain(X, target=0)
    with pytest.raises(InvalidParameterError, match="window: expected a positive integer"):
        xk.Occlusion(net, window=0)
    with pytest.raises(InvalidParameterError, match="upsample"):
        unflatten_first = nn.Sequential(nn.Unflatten(2, (16, 16)), *net)
        xk.GradCam(unflatten_first, layer="5").explain(X.reshape(4, 3, 256), target=0)
    with pytest.raises(UnsupportedModelError, match=r"model: Saliency needs a model that offers \['gradient'\]"):
        xk.Saliency(lambda Z: Z.sum(axis=(1, 2, 3)))


def test_explanations_save_and_load(tmp_path, X):
    net = smooth_cnn()
    exp = xk.IntegratedGradients(net).explain(X, target="predicted", n_steps=4)
    path = tmp_path / "ig.xk"
    exp.save(path)
    back = xk.Explanation.load(path)
    np.testing.assert_allclose(back.values, exp.values)
    assert back.input_shape == (3, 16, 16)
    np.testing.assert_allclose(back.diagnostics["completeness_gap"], exp.diagnostics["completeness_gap"])
    sub = exp[1:3]
    assert sub.diagnostics["target"].tolist() == exp.diagnostics["target"][1:3].tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert xk.as_input_shape(sub).shape == (2, 3, 16, 16)


def test_registry_has_the_methods():
    for name in ("saliency", "input_x_gradient", "guided_backprop", "integrated_gradients", "gradient_shap",
                 "smooth_grad", "var_grad", "grad_cam", "grad_cam_plus_plus", "occlusion", "attention_rollout"):
        assert name in xk.REGISTRY
    assert xk.REGISTRY["integrated_gradients"] is xk.IntegratedGradients


def test_smoothgrad_noise_follows_the_documented_draw_order(X):
    net = relu_cnn()
    model = xk.adapt(net)
    S, sigma = 3, 0.4
    total = np.zeros(X.shape)
    for i, s in enumerate(spawn_seeds(7, 4)):
        rng = np.random.default_rng(np.random.SeedSequence(s.entropy, spawn_key=(*s.spawn_key, 0)))
        for _ in range(S):
            noisy = X[i] + rng.standard_normal(X.shape[1:]) * sigma
            total[i] += model.gradient(noisy[None], [2])[0]
    exp = xk.SmoothGrad(xk.Saliency(net, abs=False), noise_abs=sigma).explain(X, target=2, n_samples=S, random_state=7)
    np.testing.assert_allclose(exp.values[:, :, 0], (total / S).reshape(4, -1), rtol=0, atol=1e-12)


def test_negative_targets_count_from_the_end_everywhere(X):
    """A negative target means what numpy means, for one target and for one per row, as for Shapley values."""
    net = relu_cnn()
    last = xk.Saliency(net, abs=False).explain(X, target=4).values
    np.testing.assert_array_equal(xk.Saliency(net, abs=False).explain(X, target=-1).values, last)
    per_row = xk.Saliency(net, abs=False).explain(X, target=[-1, 4, -5, 0]).values
    first = xk.Saliency(net, abs=False).explain(X, target=0).values
    np.testing.assert_array_equal(per_row[:2], last[:2])
    np.testing.assert_array_equal(per_row[2:], first[2:])
    with pytest.raises(InvalidParameterError, match=r"^target: expected output indices in \[-5, 5\)"):
        xk.Saliency(net).explain(X, target=[0, 1, 2, -6])
