"""Checks of explanations and toy models, used by xaikit's own tests and available to users.

The checks raise ``AssertionError`` with a message that says which value broke which property
by how much, and take explicit tolerances.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.results import Attribution
from xaikit.testing.cases import Case, default_case
from xaikit.testing.contract import ContractReport, check_explainer

__all__ = [
    "check_explainer",
    "ContractReport",
    "Case",
    "default_case",
    "assert_completeness",
    "assert_dummy",
    "assert_symmetry",
    "assert_raises_naming",
    "LinearModel",
    "InteractionModel",
    "ten_feature_game",
]


def assert_completeness(exp: Attribution, predictions: Any, *, atol: float = 1e-8) -> None:
    """Check that values add up: ``values.sum(features) + base_values == predictions`` within ``atol``.

    >>> import numpy as np, xaikit as xk
    >>> f = lambda X: X[:, 0] * X[:, 1]
    >>> X = np.ones((2, 2)); exp = xk.ExactShapley(f, background=np.zeros((1, 2))).explain(X)
    >>> assert_completeness(exp, f(X))
    >>> assert_completeness(exp, f(X) + 1)
    Traceback (most recent call last):
    ...
    AssertionError: completeness fails: values + base differ from the predictions by up to 1 (row 0, output 0; atol=1e-08)
    """
    pred = np.asarray(predictions, dtype=np.float64)
    if pred.ndim == 1:
        pred = pred[:, None]
    if pred.shape != exp.base_values.shape:
        raise AssertionError(f"predictions have shape {pred.shape}, expected {exp.base_values.shape}")
    gap = np.abs(exp.values.sum(axis=1) + exp.base_values - pred)
    worst = float(gap.max()) if gap.size else 0.0
    if worst > atol:
        i, o = np.unravel_index(int(gap.argmax()), gap.shape)
        raise AssertionError(
            f"completeness fails: values + base differ from the predictions by up to {worst:.3g} "
            f"(row {i}, output {o}; atol={atol:g})"
        )


def assert_dummy(exp: Attribution, feature: int | str, *, atol: float = 1e-8) -> None:
    """Check that ``feature`` (which the model ignores) gets zero everywhere."""
    j = exp.feature_names.index(feature) if isinstance(feature, str) else int(feature)
    worst = float(np.abs(exp.values[:, j, :]).max())
    if worst > atol:
        raise AssertionError(f"dummy fails: feature {exp.feature_names[j]!r} has |value| up to {worst:.3g} (atol={atol:g})")


def assert_symmetry(exp: Attribution, a: int | str, b: int | str, *, atol: float = 1e-8) -> None:
    """Check that two interchangeable features get equal values."""
    ia = exp.feature_names.index(a) if isinstance(a, str) else int(a)
    ib = exp.feature_names.index(b) if isinstance(b, str) else int(b)
    worst = float(np.abs(exp.values[:, ia, :] - exp.values[:, ib, :]).max())
    if worst > atol:
        raise AssertionError(
            f"symmetry fails: features {exp.feature_names[ia]!r} and {exp.feature_names[ib]!r} differ by up to {worst:.3g}"
        )


@contextlib.contextmanager
def assert_raises_naming(name: str, *fragments: str) -> Iterator[None]:
    """Check that the block raises :class:`InvalidParameterError` whose message starts with ``name:``
    and contains every fragment; any other exception passes through.

    >>> with assert_raises_naming("n_samples", ">= 1"):
    ...     raise InvalidParameterError("n_samples: expected an integer >= 1, got 0")
    >>> with assert_raises_naming("X"):
    ...     pass
    Traceback (most recent call last):
    ...
    AssertionError: expected an InvalidParameterError naming 'X'; nothing was raised
    """
    try:
        yield
    except InvalidParameterError as exc:
        msg = str(exc)
        if not msg.startswith(f"{name}:"):
            raise AssertionError(f"the message does not start with {name + ':'!r}: {msg}") from exc
        missing = [frag for frag in fragments if frag not in msg]
        if missing:
            raise AssertionError(f"the message lacks {missing}: {msg}") from exc
    else:
        raise AssertionError(f"expected an InvalidParameterError naming {name!r}; nothing was raised")


def ten_feature_game(X: Any) -> np.ndarray:
    """One output of 10 columns with interactions of order 2 and 3 (module level, so it pickles).

    >>> ten_feature_game(np.zeros((1, 10))).tolist()
    [0.0]
    """
    X = np.asarray(X, dtype=np.float64)
    return (
        np.sin(X[:, 0] * X[:, 1] + X[:, 2])
        + X[:, 2] * X[:, 3] * X[:, 4]
        + np.tanh(X[:, 5] - X[:, 6] * X[:, 7])
        + 0.5 * X[:, 7] ** 2
        + np.exp(0.3 * X[:, 8]) * X[:, 9] * X[:, 1]
        + X[:, 0]
    )


class LinearModel:
    """``f(X) = X @ coef + intercept``; its interventional Shapley values are ``coef * (x - mean(background))``.

    >>> LinearModel([1.0, 2.0])(np.array([[1.0, 1.0]]))
    array([3.])
    """

    def __init__(self, coef: Any, intercept: float = 0.0) -> None:
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = float(intercept)

    def __call__(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ self.coef + self.intercept

    def shapley_values(self, X: Any, background: Any, weights: Any = None) -> np.ndarray:
        """Closed-form values ``(n, d)``."""
        mean = np.average(np.asarray(background, dtype=np.float64), axis=0, weights=weights)
        return self.coef * (np.asarray(X, dtype=np.float64) - mean)


class InteractionModel:
    """A nonlinear function with pairwise and three-way interactions, for estimator tests.

    >>> InteractionModel(4)(np.zeros((1, 4))).shape
    (1,)
    """

    def __init__(self, n_features: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.w = rng.normal(size=n_features)
        self.pairs = rng.choice(n_features, size=(max(1, n_features // 2), 2), replace=True)
        self.n_features = n_features

    def __call__(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        out = np.tanh(X @ self.w)
        for a, b in self.pairs:
            out = out + 0.5 * X[:, a] * X[:, b]
        if self.n_features >= 3:
            out = out + 0.25 * X[:, 0] * X[:, 1] * X[:, 2]
        return out
