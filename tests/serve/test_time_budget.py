"""``max_seconds`` of the sampled Shapley estimators (what the service's ``budget_ms`` sets)."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError

D = 10
W = np.linspace(-1.0, 1.0, D)


def f(X: np.ndarray) -> np.ndarray:
    return np.tanh(X @ W) + X[:, 0] * X[:, 1]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(3, D)), rng.normal(size=(8, D))


@pytest.mark.parametrize("cls", [xk.KernelShap, xk.LeverageShap, xk.PermutationShap])
def test_a_spent_budget_stops_every_row_after_its_first_round(cls: type, data: tuple[np.ndarray, np.ndarray]) -> None:
    X, bg = data
    full = 40_000
    exp = cls(f, background=bg).explain(X, n_samples=full, max_seconds=1e-9, random_state=0)
    d = exp.diagnostics
    assert d["budget_stopped"].tolist() == [True, True, True]
    assert d["exact"] is False and np.isfinite(d["std_err"]).all()
    assert (d["n_model_calls"] < full * len(bg) / 4).all()  # far from the budget of samples
    assert exp.params["max_seconds"] == 1e-9
    # the estimate still adds up (efficiency holds for every round)
    np.testing.assert_allclose(d["completeness_gap"], 0.0, atol=1e-8)


@pytest.mark.parametrize("cls", [xk.KernelShap, xk.PermutationShap])
def test_an_ample_budget_spends_the_samples(cls: type, data: tuple[np.ndarray, np.ndarray]) -> None:
    X, bg = data
    stopped = cls(f, background=bg).explain(X[:1], n_samples=600, max_seconds=1e-9, random_state=0)
    ample = cls(f, background=bg).explain(X[:1], n_samples=600, max_seconds=3600.0, random_state=0)
    assert ample.diagnostics["budget_stopped"].tolist() == [False]
    assert ample.diagnostics["n_model_calls"][0] > stopped.diagnostics["n_model_calls"][0]
    assert ample.diagnostics["std_err"].max() < stopped.diagnostics["std_err"].max()


def test_without_a_budget_nothing_changes(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, bg = data
    exp = xk.KernelShap(f, background=bg).explain(X, n_samples=200, random_state=0)
    assert "budget_stopped" not in exp.diagnostics and exp.params["max_seconds"] is None


def test_exact_methods_ignore_the_budget(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, bg = data
    small = np.ascontiguousarray(X[:, :4])
    g = lambda Z: Z @ W[:4]  # noqa: E731
    exp = xk.ExactShapley(g, background=bg[:, :4]).explain(small, max_seconds=1e-9)
    assert exp.diagnostics["exact"] is True and not exp.diagnostics["budget_stopped"].any()
    np.testing.assert_allclose(exp.values[:, :, 0], (small - bg[:, :4].mean(axis=0)) * W[:4], atol=1e-12)


@pytest.mark.parametrize("bad", [0, -1.0, "soon", float("nan")])
def test_a_bad_budget_is_named(bad: object, data: tuple[np.ndarray, np.ndarray]) -> None:
    X, bg = data
    with pytest.raises(InvalidParameterError, match="max_seconds"):
        xk.KernelShap(f, background=bg).explain(X, max_seconds=bad)
