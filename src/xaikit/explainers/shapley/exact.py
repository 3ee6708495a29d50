"""Exact Shapley values by enumerating every coalition."""

from __future__ import annotations

from math import factorial
from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.explainers.shapley._games import Game
from xaikit.explainers.shapley.base import RowEstimate, ShapleyExplainer

__all__ = ["ExactShapley", "MAX_EXACT_PLAYERS", "all_coalitions", "shapley_from_table"]

#: Largest number of features (or groups) ExactShapley accepts (2**24 coalitions per row).
MAX_EXACT_PLAYERS = 24


def all_coalitions(k: int) -> np.ndarray:
    """Every coalition as a bool mask ``(2**k, k)``; row ``i`` holds the bits of ``i``."""
    ids = np.arange(2**k, dtype=np.int64)
    return ((ids[:, None] >> np.arange(k, dtype=np.int64)[None, :]) & 1).astype(bool)


def shapley_from_table(table: np.ndarray) -> np.ndarray:
    """Shapley values ``(k, o)`` from the values of all ``2**k`` coalitions ``(2**k, o)`` (index = bitmask).

    >>> shapley_from_table(np.array([[0.0], [1.0], [2.0], [4.0]]))  # v({0})=1, v({1})=2, v({0,1})=4
    array([[1.5],
           [2.5]])
    """
    n = table.shape[0]
    k = n.bit_length() - 1
    ids = np.arange(n, dtype=np.int64)
    size = np.zeros(n, dtype=np.int64)
    for j in range(k):
        size += (ids >> j) & 1
    fact = np.array([factorial(i) for i in range(k + 1)], dtype=np.float64)
    weight = fact[size] * fact[np.maximum(k - size - 1, 0)] / fact[k]  # for S not containing i, |S| = size
    out = np.empty((k, table.shape[1]))
    for i in range(k):
        without = ids[((ids >> i) & 1) == 0]
        out[i] = weight[without] @ (table[without | (1 << i)] - table[without])
    return out


class ExactShapley(ShapleyExplainer):
    """Interventional Shapley values, exactly, by evaluating all ``2**d`` coalitions.

    Cost per row: ``2**d - 2`` coalitions, each a pass over the background; practical up to
    about 16-20 features with a small background, limited to :data:`MAX_EXACT_PLAYERS`. Groups
    count as one player each. ``n_samples`` and ``tol`` do not apply; the result holds no ``std_err``.

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> f = lambda X: X[:, 0] * X[:, 1] + X[:, 2]
    >>> xk.ExactShapley(f, background=np.zeros((1, 3))).explain(np.ones((1, 3))).values[0, :, 0]
    array([0.5, 0.5, 1. ])
    """

    name = "exact_shapley"
    exact = True

    def _check_params(self, n_players: int, params: dict[str, Any]) -> dict[str, Any]:
        if n_players > MAX_EXACT_PLAYERS:
            raise InvalidParameterError(
                f"X: ExactShapley enumerates 2**d coalitions and accepts at most {MAX_EXACT_PLAYERS} features "
                f"(or groups), got {n_players}; use KernelShap or LeverageShap"
            )
        if params.get("tol") is not None:
            raise InvalidParameterError("tol: ExactShapley is exact and takes no tolerance, got tol=" + repr(params["tol"]))
        return params

    def _default_n_samples(self, k: int) -> int:
        return max(2**k - 2, 1)

    def _needs_cache(self, params: Any) -> bool:
        return False

    def _estimate(self, game: Game, rng: np.random.Generator, **params: Any) -> RowEstimate:
        k = game.n_players
        masks = all_coalitions(k)
        table = np.empty((2**k, game.n_outputs))
        table[0] = game.v_empty
        table[-1] = game.v_full
        if k > 1:
            table[1:-1] = game(masks[1:-1])
        values = shapley_from_table(table)  # overflow is refused when the rows are assembled
        return RowEstimate(values, np.zeros((k, game.n_outputs)), game.n_evaluations, exact=True)
