"""Friedman's H^2: zero for additive models, positive for products, shared model calls, executors."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.explainers.global_.h_statistic import h_statistic
from xaikit.explainers.global_.partial_dependence import PartialDependence, clear_ice_cache


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(50, 3))


def _additive(A):
    A = np.asarray(A)
    return np.sin(A[:, 0]) + A[:, 1] ** 2 + 3 * A[:, 2]


def test_additive_model_has_no_interaction(X):
    for grid in ("data", 6):
        h = h_statistic(_additive, X, grid=grid)
        assert h["statistic"] == "H^2" and h["pairs"] == [("x0", "x1"), ("x0", "x2"), ("x1", "x2")]
        assert np.abs(h["overall"]).max() < 1e-10 and np.abs(h["pairwise"]).max() < 1e-10


def test_product_is_an_interaction(X):
    h = h_statistic(lambda A: A[:, 0] * A[:, 1] + A[:, 2], X)
    assert h["pairwise"][0, 0] > 0.5 and abs(h["pairwise"][1, 0]) < 1e-10 and abs(h["pairwise"][2, 0]) < 1e-10
    assert h["overall"][0, 0] > 0.3 and h["overall"][1, 0] > 0.3 and abs(h["overall"][2, 0]) < 1e-10
    assert h["matrix"][0, 1, 0] == h["matrix"][1, 0, 0] == h["pairwise"][0, 0]
    # a pure product: all of the joint effect of x0 and x1 is interaction
    pure = h_statistic(lambda A: A[:, 0] * A[:, 1], X, features=[0, 1])
    assert pure["overall"][:, 0].min() > 0.9


def test_brute_force_formula_on_a_tiny_case():
    rng = np.random.default_rng(5)
    A = rng.normal(size=(8, 2))

    def f(Z):
        Z = np.asarray(Z)
        return Z[:, 0] * Z[:, 1] + Z[:, 0] ** 2

    n = len(A)
    pd0 = np.array([np.mean(f(np.c_[np.full(n, A[i, 0]), A[:, 1]])) for i in range(n)])
    pd1 = np.array([np.mean(f(np.c_[A[:, 0], np.full(n, A[i, 1])])) for i in range(n)])
    pd01 = f(A)
    c = [v - v.mean() for v in (pd0, pd1, pd01)]
    expected = ((c[2] - c[0] - c[1]) ** 2).sum() / (c[2] ** 2).sum()
    h = h_statistic(f, A)
    assert h["pairwise"][0, 0] == pytest.approx(expected, rel=1e-12)


def test_the_cache_saves_the_shared_pass(X):
    clear_ice_cache()
    rows: list[int] = []

    def model(A):
        rows.append(len(A))
        A = np.asarray(A)
        return A[:, 0] * A[:, 1] + A[:, 2]

    n, d = X.shape
    PartialDependence(model, grid_resolution=10 * n, kind="both").explain(X)  # grids: the distinct values
    rows.clear()
    h = h_statistic(model, X)
    pairs = 3 * n * n
    probe = min(n, 32)  # the rows whose predictions identify the model in the cache (once for PD, once for H)
    assert sum(rows) == 2 * probe + pairs and h["n_model_calls"] == probe + pairs  # the 1-D pass came from the cache
    rows.clear()
    again = h_statistic(model, X)
    assert sum(rows) == 2 * probe  # probes only
    np.testing.assert_array_equal(again["pairwise"], h["pairwise"])
    clear_ice_cache()
    rows.clear()
    h_statistic(model, X)
    assert sum(rows) == 2 * probe + d * n * n + pairs


def test_executors_sampling_and_errors(X):
    big = np.random.default_rng(1).normal(size=(80, 3))
    f = lambda A: A[:, 0] * A[:, 1] + A[:, 2]  # noqa: E731
    ref = h_statistic(f, big, n_max=30, random_state=3, executor="serial")
    assert len(ref["rows"]) == 30 and len(set(ref["rows"].tolist())) == 30
    for ex in ("threads:2", "processes:2"):
        clear_ice_cache()
        other = h_statistic(f, big, n_max=30, random_state=3, executor=ex)
        np.testing.assert_array_equal(other["overall"], ref["overall"])
        np.testing.assert_array_equal(other["pairwise"], ref["pairwise"])
    assert not np.array_equal(h_statistic(f, big, n_max=30, random_state=4)["rows"], ref["rows"])
    with pytest.raises(xk.InvalidParameterError, match="^grid: "):
        h_statistic(f, X, grid="quantiles")
    with pytest.raises(xk.InvalidParameterError, match="^n_max: "):
        h_statistic(f, X, n_max=1)
    with pytest.raises(xk.InvalidParameterError, match=r"^pairs\[0\]: "):
        h_statistic(f, X, pairs=[(0, 0)])
    with pytest.raises(xk.InvalidParameterError, match="^features: "):
        h_statistic(f, X, features=["nope"])
    with pytest.raises(xk.InvalidParameterError, match="^target: "):
        h_statistic(f, X, target=5)
