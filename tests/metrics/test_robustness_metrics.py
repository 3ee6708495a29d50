"""Robustness metrics: max-sensitivity against Captum's sensitivity_max on the same perturbations, the local
Lipschitz estimate against its closed form on a linear model, stability over seeds against scipy's Spearman."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.explainers.adversarial.robustness import perturbation_samples
from xaikit.metrics.robustness import local_lipschitz, max_sensitivity, seed_stability
from xaikit.results.metric_scores import MetricScores

W = np.array([3.0, -1.0, 0.5, 2.0])


def linear(Z: np.ndarray) -> np.ndarray:
    return Z @ W


@pytest.fixture(scope="module")
def torch_net():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1)).double()
    with torch.no_grad():
        net[2].bias += 10.0  # the output stays positive: every perturbed sample keeps the prediction
    return net


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return np.random.default_rng(1).normal(size=(6, 4))


@pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")
def test_max_sensitivity_equals_captum_on_the_same_samples(torch_net, rows) -> None:
    torch = pytest.importorskip("torch")
    from captum.attr import Saliency
    from captum.metrics import sensitivity_max

    sal = xk.Saliency(torch_net, abs=False)
    s = max_sensitivity(torch_net, rows, sal.explain(rows), explainer=sal, epsilon=0.2, n_samples=7, random_state=0)
    assert isinstance(s, MetricScores) and s.metric == "max_sensitivity" and s.higher_is_better is False
    np.testing.assert_array_equal(s.diagnostics["n_kept"], 7)
    # the samples max_sensitivity draws for random_state=0 (its first child seed, then explanation_robustness's first)
    samples = perturbation_samples(rows, epsilon=0.2, n_samples=7, random_state=np.random.SeedSequence(0, spawn_key=(0, 0)))
    expanded = torch.tensor(np.swapaxes(samples, 0, 1).reshape(-1, 4))  # Captum repeats each row n_samples times in a row

    def perturb(inputs):
        return expanded

    theirs = sensitivity_max(Saliency(torch_net).attribute, torch.tensor(rows), perturb_func=perturb, n_perturb_samples=7,
                             target=0, abs=False).numpy()
    assert theirs.min() > 1e-3  # a non-linear net: the gradients move
    np.testing.assert_allclose(s.values, theirs, rtol=1e-10, atol=1e-12)


def test_max_sensitivity_floor_and_unkept_rows(rows) -> None:
    shap = xk.ExactShapley(linear, background=np.zeros((1, 4)))
    exp = shap.explain(rows)
    s = max_sensitivity(linear, rows, exp, explainer=shap, epsilon=0.05, n_samples=5, random_state=3)
    # phi = w * x: ||w * dx|| / ||w * x||, at most 0.05 ||w|| / ||w * x|| for |dx| <= 0.05; a random permutation of
    # phi moves by about ||phi||
    bound = 0.05 * np.linalg.norm(W) / np.linalg.norm(W * rows, axis=1)
    assert (s.values <= bound + 1e-12).all() and (s.values > 0).all() and (s.floor > 0.5).all()
    assert s.above_floor() > 0.3
    again = max_sensitivity(linear, rows, exp, explainer=shap, epsilon=0.05, n_samples=5, random_state=3)
    np.testing.assert_array_equal(s.values, again.values)
    np.testing.assert_array_equal(s.floor, again.floor)
    # a row on the decision boundary (output 0) keeps its class in no sample: NaN, not 0
    edge = np.vstack([rows[:1], np.zeros((1, 4))])
    t = max_sensitivity(linear, edge, shap.explain(edge), explainer=shap, epsilon=0.05, n_samples=20, random_state=0)
    assert np.isfinite(t.values[0]) and t.diagnostics["n_kept"][1] < 20


def test_local_lipschitz_closed_form_of_a_linear_model(rows) -> None:
    shap = xk.ExactShapley(linear, background=np.zeros((1, 4)))
    s = local_lipschitz(linear, rows, shap.explain(rows), explainer=shap, epsilon=0.1, n_samples=6, random_state=0)
    # phi(x) = w * x exactly, so the ratio for each neighbour is ||w * dx|| / ||dx||
    samples = perturbation_samples(rows, epsilon=0.1, n_samples=6, random_state=np.random.SeedSequence(0, spawn_key=(0,)))
    dx = samples - rows[None]
    expected = (np.linalg.norm(dx * W, axis=-1) / np.linalg.norm(dx, axis=-1)).max(axis=0)
    np.testing.assert_allclose(s.values, expected, rtol=1e-10)
    assert (s.values <= np.abs(W).max() + 1e-12).all() and (s.values >= np.abs(W).min()).all()
    assert s.diagnostics["n_explain_calls"] == 1  # deterministic: one explain call for rows and neighbours
    assert (s.floor > 5 * s.values).all()
    assert np.isnan(local_lipschitz(linear, rows, shap.explain(rows), explainer=shap, epsilon=0.0, n_samples=2).values).all()


def test_local_lipschitz_of_a_stochastic_explainer_calls_once_per_sample(rows) -> None:
    ks = xk.KernelShap(linear, background=np.zeros((3, 4)))
    exp = ks.explain(rows[:3], random_state=0)
    s = local_lipschitz(linear, rows[:3], exp, explainer=ks, epsilon=0.1, n_samples=3, random_state=0)
    assert s.diagnostics["n_explain_calls"] == 4
    # four features: KernelShap is exact, so the bound of the linear model holds
    assert (s.values <= np.abs(W).max() + 1e-6).all()


def test_seed_stability_against_scipy(rows) -> None:
    from scipy.stats import spearmanr

    f = lambda Z: np.sin(Z @ np.linspace(0.2, 1.0, 8)) * Z[:, 0] + Z[:, 1] * Z[:, 2]  # noqa: E731 - interactions: KernelShap samples
    X = np.random.default_rng(2).normal(size=(4, 8))
    ks = xk.KernelShap(f, background=np.random.default_rng(3).normal(size=(5, 8)))
    exp = ks.explain(X, n_samples=20, random_state=0)
    s = seed_stability(f, X, exp, explainer=ks, n_seeds=2, k=3, explain_params={"n_samples": 20}, random_state=5)
    runs = [ks.explain(X, n_samples=20, random_state=np.random.SeedSequence(5, spawn_key=(i,))).values[:, :, 0] for i in range(2)]
    expected = [spearmanr(a, b).statistic for a, b in zip(*runs)]
    np.testing.assert_allclose(s.values, expected, rtol=1e-12)
    assert (s.values < 1.0).any()  # 20 coalitions of 8 features: the seed matters
    top = [np.argsort(-np.abs(r), kind="stable")[:, :3] for r in runs]
    jac = [len(set(a) & set(b)) / len(set(a) | set(b)) for a, b in zip(*top)]
    np.testing.assert_allclose(s.diagnostics["jaccard"], jac, rtol=1e-12)
    assert abs(s.floor_mean()) < 0.3 and s.higher_is_better


def test_seed_stability_of_a_deterministic_explainer_is_one(rows) -> None:
    shap = xk.ExactShapley(linear, background=np.zeros((1, 4)))
    s = seed_stability(linear, rows, shap.explain(rows), explainer=shap, n_seeds=3, k=2, random_state=0)
    np.testing.assert_array_equal(s.values, 1.0)
    np.testing.assert_array_equal(s.diagnostics["jaccard"], 1.0)
    assert (s.floor < 0.5).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"explainer": "saliency"}, "explainer: expected an xaikit explainer"),
        ({"explain_params": {"target": 0}}, "explain_params: expected no 'target'"),
        ({"explain_params": [1]}, "explain_params: expected a dict"),
        ({"n_random": 0}, "n_random"),
        ({"n_samples": 0}, "n_samples"),
    ],
)
@pytest.mark.parametrize("metric", [max_sensitivity, local_lipschitz])
def test_ball_metric_errors(metric, kwargs, message, rows) -> None:
    shap = xk.ExactShapley(linear, background=np.zeros((1, 4)))
    args = {"explainer": shap, **kwargs}
    with pytest.raises(InvalidParameterError, match=message):
        metric(linear, rows, np.ones((6, 4)), **args)


def test_other_errors(rows) -> None:
    shap = xk.ExactShapley(linear, background=np.zeros((1, 4)))
    with pytest.raises(InvalidParameterError, match="explanation: expected the attributions of the 6 rows of X, got 2 rows"):
        local_lipschitz(linear, rows, np.ones((2, 4)), explainer=shap)
    with pytest.raises(InvalidParameterError, match="explanation: expected 4 features per row"):
        local_lipschitz(linear, rows, np.ones((6, 3)), explainer=shap)
    with pytest.raises(InvalidParameterError, match="k: expected at most the 4 features"):
        seed_stability(linear, rows, np.ones((6, 4)), explainer=shap, k=5)
    with pytest.raises(InvalidParameterError, match="n_seeds"):
        seed_stability(linear, rows, np.ones((6, 4)), explainer=shap, n_seeds=1)
