"""DeepLIFT (rescale rule) and DeepLiftShap against Captum and shap, on small float64 networks built here.

Measured (float64): the attributions equal Captum's ``DeepLift`` / ``DeepLiftShap`` and shap's
``DeepExplainer`` to a relative 2e-16 on the MLPs and CNNs below; summation-to-delta holds to 1e-16.

One documented difference: Captum hooks each nonlinear module's output tensor and input tensor
separately; when two such modules follow each other (``ReLU`` then ``MaxPool2d``) both hooks sit on
the same tensor and the first module records its output gradient before the second module's rule
has replaced it, so Captum's result is the second rule dropped (Captum's own convergence delta is
then far from 0 for a nonzero baseline). The CNNs compared to Captum keep a linear layer between
nonlinear modules; ``test_adjacent_modules_captum_drops_a_rule`` shows the difference.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from xaikit.errors import ApproximationWarning, InvalidParameterError
from xaikit.explainers.gradients.deep_lift import DeepLift, DeepLiftShap
from xaikit.models import _torch_deeplift as torch_deeplift

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.filterwarnings("ignore:Setting forward, backward hooks"),
    pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients"),
]

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")
nn = torch.nn

RTOL = 1e-6


def mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 5), nn.Tanh(), nn.Linear(5, 3)
    ).double().eval()


def cnn() -> torch.nn.Module:
    """Conv, max pool, ReLU, Tanh, Sigmoid on 1 x 8 x 8 inputs; a linear layer between nonlinear modules."""
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
        nn.Linear(64, 6), nn.Tanh(), nn.Linear(6, 5), nn.Sigmoid(), nn.Linear(5, 3),
    ).double().eval()


CASES = {
    "mlp": (mlp, (6,)),
    "cnn": (cnn, (1, 8, 8)),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    make, shape = CASES[request.param]
    rng = np.random.default_rng(0)
    return make(), rng.normal(size=(4, *shape)), rng.normal(size=(5, *shape))


def values(exp, X):
    return exp.values[..., 0].reshape(X.shape)


def rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def captum(cls, net, X, B, target):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = cls(net).attribute(torch.tensor(X), baselines=torch.tensor(B), target=target)
    return out.detach().numpy()


@pytest.mark.parametrize("baseline", ["zero", "row", "per_row"])
def test_deeplift_equals_captum(case, baseline):
    net, X, B = case
    b = {"zero": np.zeros((1, *X.shape[1:])), "row": B[:1], "per_row": B[:4]}[baseline]
    exp = DeepLift(net).explain(X, target=2, baseline=0.0 if baseline == "zero" else b)
    ours = values(exp, X)
    theirs = captum(captum_attr.DeepLift, net, X, np.broadcast_to(b, X.shape).copy(), 2)
    assert rel(ours, theirs) < RTOL
    # base values are f(b) and the completeness gap is the summation-to-delta check
    fb = net(torch.tensor(np.broadcast_to(b, X.shape).copy())).detach().numpy()[:, 2]
    np.testing.assert_allclose(exp.base_values[:, 0], fb, rtol=1e-12)
    gap = ours.reshape(4, -1).sum(1) - (net(torch.tensor(X)).detach().numpy()[:, 2] - fb)
    np.testing.assert_allclose(exp.diagnostics["completeness_gap"][:, 0], gap, atol=1e-12)
    assert np.abs(gap).max() < 1e-6


def test_deeplift_shap_equals_captum_and_shap(case):
    net, X, B = case
    exp = DeepLiftShap(net).explain(X, target=1, baselines=B)
    ours = values(exp, X)
    assert rel(ours, captum(captum_attr.DeepLiftShap, net, X, B, 1)) < RTOL
    shap = pytest.importorskip("shap")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sv = np.asarray(shap.DeepExplainer(net, torch.tensor(B)).shap_values(torch.tensor(X), check_additivity=False))
    assert rel(ours, sv[..., 1]) < RTOL
    f = net(torch.tensor(X)).detach().numpy()[:, 1]
    fb = net(torch.tensor(B)).detach().numpy()[:, 1].mean()
    np.testing.assert_allclose(exp.base_values[:, 0], fb, rtol=1e-12)
    assert np.abs(ours.reshape(4, -1).sum(1) - (f - fb)).max() < 1e-6
    assert np.abs(exp.diagnostics["completeness_gap"]).max() < 1e-6


def test_batch_size_does_not_change_results(case):
    net, X, B = case
    full = values(DeepLiftShap(net).explain(X, target=0, baselines=B), X)
    small = values(DeepLiftShap(net).explain(X, target=0, baselines=B, batch_size=3), X)
    np.testing.assert_allclose(small, full, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("act", [nn.GELU, nn.ELU, nn.Softplus, nn.LeakyReLU, nn.SiLU, nn.Mish])
def test_summation_to_delta_every_row(act):
    torch.manual_seed(2)
    net = nn.Sequential(nn.Linear(5, 7), act(), nn.Linear(7, 4), nn.Tanh(), nn.Linear(4, 2)).double().eval()
    rng = np.random.default_rng(3)
    X, B = rng.normal(size=(6, 5)), rng.normal(size=(3, 5))
    exp = DeepLiftShap(net).explain(X, target=[0, 1, 0, 1, 0, 1], baselines=B)
    gap = exp.diagnostics["completeness_gap"][:, 0]
    assert gap.shape == (6,) and np.abs(gap).max() < 1e-6
    # the rescale rule is not the gradient: Input x Gradient misses the delta by far more
    with torch.no_grad():
        fx, f0 = net(torch.tensor(X))[:, 0], net(torch.zeros(1, 5, dtype=torch.float64))[0, 0]
    x = torch.tensor(X, requires_grad=True)
    (g,) = torch.autograd.grad(net(x)[:, 0].sum(), x)
    assert float(((g * x).detach().sum(1) - (fx - f0)).abs().max()) > 1e-3


def test_inplace_relu_gives_the_same_attributions():
    rng = np.random.default_rng(4)
    X, b = rng.normal(size=(3, 6)), rng.normal(size=(1, 6))
    plain = mlp()
    inplace = mlp()
    inplace[1] = nn.ReLU(inplace=True)
    a = values(DeepLift(plain).explain(X, target=0, baseline=b), X)
    c = values(DeepLift(inplace).explain(X, target=0, baseline=b), X)
    np.testing.assert_allclose(c, a, rtol=1e-14)
    assert np.abs(a).max() > 1e-3


def test_softmax_module_as_captum_row_by_row():
    torch.manual_seed(5)
    net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3), nn.Softmax(dim=1)).double().eval()
    rng = np.random.default_rng(5)
    X, b = rng.normal(size=(3, 4)), rng.normal(size=(1, 4))
    ours = values(DeepLift(net).explain(X, target=1, baseline=b), X)
    # Captum subtracts one mean over its whole batch: compare row by row (its batch of one)
    theirs = np.concatenate([captum(captum_attr.DeepLift, net, X[i : i + 1], b, 1) for i in range(3)])
    assert rel(ours, theirs) < RTOL


def test_probability_output_is_rescaled():
    torch.manual_seed(6)
    net = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 1)).double().eval()
    X = np.random.default_rng(6).normal(size=(4, 4))
    exp = DeepLift(net, output="probability").explain(X, target=0, baseline=0.0)
    with torch.no_grad():
        p = torch.sigmoid(net(torch.tensor(X)))[:, 0].numpy()
        p0 = torch.sigmoid(net(torch.zeros(1, 4, dtype=torch.float64)))[0, 0].item()
    np.testing.assert_allclose(values(exp, X).sum(1), p - p0, atol=1e-12)
    theirs = captum(captum_attr.DeepLift, nn.Sequential(net, nn.Sigmoid()), X, np.zeros_like(X), 0)
    assert rel(values(exp, X), theirs) < RTOL


def test_adjacent_modules_captum_drops_a_rule(monkeypatch):
    torch.manual_seed(7)
    net = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(48, 2))
    net = net.double().eval()
    rng = np.random.default_rng(7)
    X, b = rng.normal(size=(3, 1, 8, 8)), rng.normal(size=(1, 1, 8, 8))
    exp = DeepLift(net).explain(X, target=1, baseline=b)
    assert np.abs(exp.diagnostics["completeness_gap"]).max() < 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, delta = captum_attr.DeepLift(net).attribute(
            torch.tensor(X), baselines=torch.tensor(np.repeat(b, 3, 0)), target=1, return_convergence_delta=True
        )
    assert float(delta.abs().max()) > 1e-3  # Captum's own summation-to-delta fails here
    # Captum's result is DeepLIFT with the max-pool rule dropped (its gradient passed instead)
    theirs = captum(captum_attr.DeepLift, net, X, np.repeat(b, 3, 0), 1)
    assert rel(values(exp, X), theirs) > 1e-3
    monkeypatch.setattr(torch_deeplift, "MAX_POOLS", ())
    assert rel(values(DeepLift(net).explain(X, target=1, baseline=b), X), theirs) < RTOL


class FunctionalRelu(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(8)
        self.a, self.b = nn.Linear(3, 4), nn.Linear(4, 1)

    def forward(self, x):
        return self.b(torch.relu(self.a(x)))


def test_functional_relu_warns():
    net = FunctionalRelu().double().eval()
    X = np.random.default_rng(8).normal(size=(2, 3))
    with pytest.warns(ApproximationWarning, match="functional calls"):
        DeepLift(net).explain(X, baseline=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ApproximationWarning)
        DeepLift(mlp()).explain(np.zeros((1, 6)) + 1.0, target=0)  # modules: no warning


@pytest.mark.parametrize(
    "cls, kwargs, match",
    [
        (DeepLift, {"baseline": np.zeros((2, 6))}, "baseline"),
        (DeepLift, {"baseline": np.zeros((1, 5))}, "baseline"),
        (DeepLift, {"baseline": "blur"}, "baseline"),
        (DeepLift, {"baseline": [np.nan] * 6}, "baseline"),
        (DeepLiftShap, {}, "baselines"),
        (DeepLiftShap, {"baselines": np.zeros(6)}, "baselines"),
        (DeepLiftShap, {"baselines": np.zeros((3, 5))}, "baselines"),
    ],
)
def test_bad_baselines_name_the_parameter(cls, kwargs, match):
    with pytest.raises(InvalidParameterError, match=f"^{match}:"):
        cls(mlp()).explain(np.ones((3, 6)), target=0, **kwargs)


def test_unsupported_model_is_refused():
    from xaikit.errors import UnsupportedModelError

    with pytest.raises(UnsupportedModelError, match="model"):
        DeepLift(lambda X: X)


def test_explainer_contract():
    import dataclasses

    from xaikit.testing import check_explainer
    from xaikit.testing.cases import _rows, default_case

    report = check_explainer(DeepLift)
    assert "axiom:linearity" in report.passed and "bad:X" in report.passed
    case = default_case(DeepLift)
    case = dataclasses.replace(case, make=DeepLiftShap, explain={**case.explain, "baselines": _rows()[0]})
    assert "axiom:symmetry" in check_explainer(DeepLiftShap, case).passed
