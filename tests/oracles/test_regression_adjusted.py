"""RegressionAdjustedShap against exact enumeration: more accurate than Leverage SHAP where its surrogate applies, honest errors."""

import numpy as np
import pytest

import xaikit as xk


def three_way(X):
    """A game with strong third-order interactions, which paired regression cannot absorb."""
    X = np.asarray(X, dtype=np.float64)
    return (
        np.tanh(X[:, 0] + X[:, 1])
        + X[:, 0] * X[:, 1] * X[:, 2]
        + 0.8 * X[:, 3] * X[:, 4] * X[:, 5]
        + 0.5 * np.maximum(X[:, 6], 0) * X[:, 7] * X[:, 8]
        + 0.3 * X[:, 9]
    )


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(11)
    bg = rng.normal(size=(8, 10))
    X = rng.normal(size=(6, 10))
    exact = xk.ExactShapley(three_way, background=bg).explain(X).values
    return bg, X, exact


def _rel_err(est, exact):
    return float(np.mean(np.linalg.norm(est - exact, axis=1) / np.linalg.norm(exact, axis=1)))


def test_more_accurate_than_leverage_shap(problem):
    bg, X, exact = problem
    adj, lev = [], []
    for seed in range(5):
        adj.append(_rel_err(xk.RegressionAdjustedShap(three_way, background=bg).explain(X, n_samples=400, random_state=seed).values, exact))
        lev.append(_rel_err(xk.LeverageShap(three_way, background=bg).explain(X, n_samples=400, random_state=seed).values, exact))
    assert np.mean(adj) < 0.8 * np.mean(lev), (np.mean(adj), np.mean(lev))


def test_below_surrogate_budget_it_is_leverage_shap(problem):
    bg, X, _ = problem
    a = xk.RegressionAdjustedShap(three_way, background=bg).explain(X, n_samples=60, random_state=3)
    b = xk.LeverageShap(three_way, background=bg).explain(X, n_samples=60, random_state=3)
    np.testing.assert_array_equal(a.values, b.values)


def test_efficiency_and_honest_std_err(problem):
    bg, X, exact = problem
    covered, total = 0, 0
    for seed in range(8):
        exp = xk.RegressionAdjustedShap(three_way, background=bg).explain(X, n_samples=400, random_state=seed)
        np.testing.assert_allclose(exp.completeness()[:, 0], three_way(X), atol=1e-10)
        err = np.abs(exp.values - exact)
        covered += int((err <= 2 * exp.diagnostics["std_err"] + 1e-12).sum())
        total += err.size
    assert covered / total >= 0.85, covered / total


def test_exact_at_full_budget(problem):
    bg, X, exact = problem
    exp = xk.RegressionAdjustedShap(three_way, background=bg).explain(X, n_samples=2**10 - 2, random_state=0)
    np.testing.assert_allclose(exp.values, exact, atol=1e-10)
