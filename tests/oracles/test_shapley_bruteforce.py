"""Interventional Shapley values checked against an independent brute-force reference.

The reference below enumerates every coalition with ``itertools``, builds every hybrid row
(the explained row on the coalition, one background row elsewhere) one at a time, averages the
model output over the background with the background weights, and combines the coalition
values with the factorial Shapley weights. Nothing from xaikit is used to compute it.
"""

from __future__ import annotations

from itertools import combinations
from math import factorial

import numpy as np
import pytest

import xaikit as xk
from xaikit.testing import ten_feature_game

# --------------------------------------------------------------------------------------
# the reference
# --------------------------------------------------------------------------------------


def _as_2d(y: object) -> np.ndarray:
    arr = np.asarray(y, dtype=np.float64)
    return arr[:, None] if arr.ndim == 1 else arr


def coalition_value(f, x, background, weights, columns) -> np.ndarray:
    """``v(S)``: weighted mean over background rows b of ``f(x on columns, b elsewhere)``."""
    rows = []
    for b in background:
        hybrid = np.array(b, dtype=np.float64, copy=True)
        for c in columns:
            hybrid[c] = x[c]
        rows.append(hybrid)
    out = _as_2d(f(np.array(rows)))
    total = np.zeros(out.shape[1])
    for w, y in zip(weights, out):
        total += w * y
    return total


def brute_force_shapley(f, x, background, *, weights=None, players=None):
    """Shapley values ``(k, o)``, ``v(empty)`` and ``v(full)`` of the interventional game.

    ``players`` is a list of column lists (one per player); single columns by default.
    """
    background = np.asarray(background, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    d = background.shape[1]
    if players is None:
        players = [[j] for j in range(d)]
    k = len(players)
    if weights is None:
        weights = np.ones(background.shape[0])
    weights = np.asarray(weights, dtype=np.float64)
    weights = weights / weights.sum()

    table = {}
    for r in range(k + 1):
        for S in combinations(range(k), r):
            cols = [c for p in S for c in players[p]]
            table[S] = coalition_value(f, x, background, weights, cols)

    o = table[()].shape[0]
    phi = np.zeros((k, o))
    for i in range(k):
        others = [j for j in range(k) if j != i]
        for r in range(k):
            coef = factorial(r) * factorial(k - r - 1) / factorial(k)
            for S in combinations(others, r):
                with_i = tuple(sorted(S + (i,)))
                phi[i] += coef * (table[with_i] - table[S])
    return phi, table[()], table[tuple(range(k))]


def brute_force_all(f, X, background, **kwargs):
    res = [brute_force_shapley(f, x, background, **kwargs) for x in np.asarray(X, dtype=np.float64)]
    return np.stack([r[0] for r in res]), np.stack([r[1] for r in res]), np.stack([r[2] for r in res])


# --------------------------------------------------------------------------------------
# toy models (module level so that they pickle)
# --------------------------------------------------------------------------------------


def interacting_two_outputs(X):
    """A nonlinear function of up to 7 columns with pairwise and higher-order interactions."""
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    a = np.sin(X[:, 0] * X[:, 1]) + X[:, 2] * X[:, 3] * X[:, 4] + np.exp(0.3 * X[:, d - 1]) * X[:, 0]
    b = np.tanh(X[:, 1] - X[:, 2] * X[:, 0]) + 0.5 * X[:, 3] ** 2 + np.cos(X[:, 4] + X[:, d - 1])
    if d > 5:
        a = a + X[:, 5] * np.abs(X[:, 1])
        b = b - X[:, 5] * X[:, 2]
    if d > 6:
        a = a + np.maximum(X[:, 6], 0.0) * X[:, 3]
        b = b + X[:, 6] * X[:, 6] * X[:, 0]
    return np.stack([a, b], axis=1)

# --------------------------------------------------------------------------------------
# the reference itself
# --------------------------------------------------------------------------------------


def test_reference_matches_known_games():
    # f = x0 * x1 + x2 with a zero background and x = 1: the product is split evenly
    phi, v0, vn = brute_force_shapley(lambda X: X[:, 0] * X[:, 1] + X[:, 2], np.ones(3), np.zeros((1, 3)))
    np.testing.assert_allclose(phi[:, 0], [0.5, 0.5, 1.0], atol=1e-15)
    assert v0[0] == 0.0 and vn[0] == 2.0
    # a linear function: w * (x - mean background), weighted
    rng = np.random.default_rng(0)
    w, bg, x = rng.normal(size=4), rng.normal(size=(3, 4)), rng.normal(size=4)
    bw = np.array([1.0, 2.0, 5.0])
    phi, _, _ = brute_force_shapley(lambda X: X @ w, x, bg, weights=bw)
    np.testing.assert_allclose(phi[:, 0], w * (x - bw @ bg / bw.sum()), atol=1e-12)


# --------------------------------------------------------------------------------------
# ExactShapley against the reference
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [5, 6, 7])
def test_exact_matches_brute_force_nonlinear(d):
    rng = np.random.default_rng(d)
    bg = rng.normal(size=(4, d))
    X = rng.normal(size=(3, d))
    exp = xk.ExactShapley(interacting_two_outputs, background=bg).explain(X)
    phi, v0, vn = brute_force_all(interacting_two_outputs, X, bg)
    assert exp.values.shape == (3, d, 2)
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=1e-10)
    np.testing.assert_allclose(exp.base_values, v0, rtol=0, atol=1e-10)
    # the reference's full coalition is the prediction itself
    np.testing.assert_allclose(vn, interacting_two_outputs(X), rtol=0, atol=1e-12)
    assert exp.diagnostics["exact"] is True
    assert "std_err" not in exp.diagnostics  # exact: no sampling error, none stored
    assert np.all(exp.diagnostics["n_model_calls"] == 2**d - 2)


@pytest.fixture(scope="module")
def breast_cancer_gbc():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    from sklearn.ensemble import GradientBoostingClassifier

    data = sklearn_datasets.load_breast_cancer()
    cols = [0, 1, 4, 7, 20, 27]
    X = data.data[:, cols]
    y = data.target
    model = GradientBoostingClassifier(n_estimators=25, max_depth=3, random_state=0).fit(X[::2], y[::2])
    rng = np.random.default_rng(0)
    bg = X[rng.choice(X.shape[0], size=8, replace=False)]
    rows = X[[1, 3, 100, 201]]
    return model, bg, rows


def test_exact_matches_brute_force_gradient_boosting_probabilities(breast_cancer_gbc):
    model, bg, rows = breast_cancer_gbc
    exp = xk.ExactShapley(model, background=bg).explain(rows)
    phi, v0, vn = brute_force_all(model.predict_proba, rows, bg)
    assert exp.values.shape == (4, 6, 2)
    assert exp.output_names == ["0", "1"]
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=1e-10)
    np.testing.assert_allclose(exp.base_values, v0, rtol=0, atol=1e-10)
    np.testing.assert_allclose(exp.values.sum(axis=1) + exp.base_values, vn, rtol=0, atol=1e-10)
    # the two classes' probabilities add to one, so their attributions cancel
    np.testing.assert_allclose(exp.values[..., 0], -exp.values[..., 1], rtol=0, atol=1e-10)


def test_exact_matches_brute_force_gradient_boosting_log_odds(breast_cancer_gbc):
    model, bg, rows = breast_cancer_gbc

    def log_odds(Z):  # a binary classifier's log-odds: one output, the positive class's
        p = model.predict_proba(Z)[:, 1:]
        return np.log(p) - np.log1p(-p)

    exp = xk.ExactShapley(model, background=bg, output="log_odds").explain(rows)
    phi, v0, _ = brute_force_all(log_odds, rows, bg)
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=1e-9)
    np.testing.assert_allclose(exp.base_values, v0, rtol=0, atol=1e-9)


def test_exact_groups_match_brute_force_over_group_players():
    d = 7
    rng = np.random.default_rng(11)
    bg = rng.normal(size=(5, d))
    X = rng.normal(size=(3, d))
    groups = {"g_a": [0, 3], "g_b": ["x1", "x2", "x5"]}
    exp = xk.ExactShapley(interacting_two_outputs, background=bg, groups=groups).explain(X)

    # players by name: the two groups and the features in no group
    members = {"g_a": [0, 3], "g_b": [1, 2, 5], "x4": [4], "x6": [6]}
    assert sorted(exp.feature_names) == sorted(members)
    names = list(members)
    phi, v0, _ = brute_force_all(interacting_two_outputs, X, bg, players=[members[n] for n in names])
    for j, name in enumerate(names):
        got = exp.values[:, exp.feature_names.index(name), :]
        np.testing.assert_allclose(got, phi[:, j, :], rtol=0, atol=1e-10, err_msg=name)
    np.testing.assert_allclose(exp.base_values, v0, rtol=0, atol=1e-10)
    assert exp.values.shape == (3, 4, 2)
    assert np.all(exp.diagnostics["n_model_calls"] == 2**4 - 2)


@pytest.mark.parametrize("cls", [xk.KernelShap, xk.LeverageShap])
def test_regression_estimators_with_groups_match_brute_force_at_full_budget(cls):
    d = 6
    rng = np.random.default_rng(12)
    bg = rng.normal(size=(4, d))
    X = rng.normal(size=(2, d))
    groups = {"front": [0, 1, 2], "back": [4, 5]}
    exp = cls(interacting_two_outputs, background=bg, groups=groups).explain(X, n_samples=2**3 - 2, random_state=0)
    members = {"front": [0, 1, 2], "x3": [3], "back": [4, 5]}
    phi, _, _ = brute_force_all(interacting_two_outputs, X, bg, players=list(members.values()))
    for j, name in enumerate(members):
        np.testing.assert_allclose(exp.values[:, exp.feature_names.index(name)], phi[:, j], rtol=0, atol=1e-10)
    assert exp.diagnostics["exact"] is True


def test_exact_weighted_background_matches_brute_force():
    d = 6
    rng = np.random.default_rng(21)
    bg = rng.normal(size=(5, d))
    X = rng.normal(size=(3, d))
    weights = np.array([0.5, 3.0, 0.0, 1.25, 2.0])  # includes a row that must not count
    masker = xk.TabularMasker(bg, weights=weights)
    exp = xk.ExactShapley(interacting_two_outputs, masker=masker).explain(X)
    phi, v0, _ = brute_force_all(interacting_two_outputs, X, bg, weights=weights)
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=1e-10)
    np.testing.assert_allclose(exp.base_values, v0, rtol=0, atol=1e-10)
    # and it is not what the unweighted background gives
    unweighted, _, _ = brute_force_all(interacting_two_outputs, X, bg)
    assert np.abs(exp.values - unweighted).max() > 1e-3


# --------------------------------------------------------------------------------------
# convergence of the sampled estimators
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ten_feature_problem():
    rng = np.random.default_rng(5)
    bg = rng.normal(size=(6, 10))
    X = rng.normal(size=(3, 10))
    phi, _, _ = brute_force_all(ten_feature_game, X, bg)
    return bg, X, phi


def _mean_abs_error(cls, bg, X, phi, n_samples, seeds):
    errs = []
    for s in seeds:
        exp = cls(ten_feature_game, background=bg).explain(X, n_samples=n_samples, random_state=s)
        errs.append(np.abs(exp.values - phi).mean())
    return float(np.mean(errs))


@pytest.mark.parametrize("cls", [xk.KernelShap, xk.LeverageShap])
def test_regression_estimators_converge_and_are_exact_at_full_budget(cls, ten_feature_problem):
    bg, X, phi = ten_feature_problem
    seeds = range(4)
    e64 = _mean_abs_error(cls, bg, X, phi, 64, seeds)
    e512 = _mean_abs_error(cls, bg, X, phi, 512, seeds)
    assert e512 < 0.6 * e64, (e64, e512)
    for s in seeds:
        exp = cls(ten_feature_game, background=bg).explain(X, n_samples=2**10 - 2, random_state=s)
        np.testing.assert_allclose(exp.values, phi, rtol=0, atol=1e-9)
        assert exp.diagnostics["exact"] is True
        assert "std_err" not in exp.diagnostics  # exact: no sampling error, none stored
        assert np.all(exp.diagnostics["n_model_calls"] == 2**10 - 2)


def test_permutation_converges(ten_feature_problem):
    bg, X, phi = ten_feature_problem
    seeds = range(4)
    errors = [_mean_abs_error(xk.PermutationShap, bg, X, phi, b, seeds) for b in (64, 512, 4096)]
    assert errors[1] < 0.6 * errors[0], errors
    assert errors[2] < 0.6 * errors[1], errors


# --------------------------------------------------------------------------------------
# shap's KernelExplainer at full enumeration
# --------------------------------------------------------------------------------------


@pytest.mark.oracle
def test_agrees_with_shap_kernel_explainer_at_full_enumeration():
    shap = pytest.importorskip("shap")
    d = 6
    rng = np.random.default_rng(31)
    bg = rng.normal(size=(5, d))
    X = rng.normal(size=(3, d))
    ke = shap.KernelExplainer(interacting_two_outputs, bg)
    sv = np.asarray(ke.shap_values(X, nsamples=2**d - 2, l1_reg=False, silent=True))
    if sv.shape != (3, d, 2):  # older shap: one (n, d) array per output
        sv = np.moveaxis(sv, 0, -1)
    assert sv.shape == (3, d, 2)

    exact = xk.ExactShapley(interacting_two_outputs, background=bg).explain(X)
    kernel = xk.KernelShap(interacting_two_outputs, background=bg).explain(X, n_samples=2**d - 2, random_state=0)
    np.testing.assert_allclose(exact.values, sv, rtol=0, atol=1e-8)
    np.testing.assert_allclose(kernel.values, sv, rtol=0, atol=1e-8)
    np.testing.assert_allclose(exact.base_values[0], np.asarray(ke.expected_value), rtol=0, atol=1e-10)


@pytest.mark.oracle
def test_agrees_with_shap_kernel_explainer_on_a_classifier(breast_cancer_gbc):
    shap = pytest.importorskip("shap")
    model, bg, rows = breast_cancer_gbc
    ke = shap.KernelExplainer(model.predict_proba, bg)
    sv = np.asarray(ke.shap_values(rows, nsamples=2**6 - 2, l1_reg=False, silent=True))
    if sv.shape != (4, 6, 2):
        sv = np.moveaxis(sv, 0, -1)
    ours = xk.KernelShap(model, background=bg).explain(rows, n_samples=2**6 - 2, random_state=0)
    np.testing.assert_allclose(ours.values, sv, rtol=0, atol=1e-8)
