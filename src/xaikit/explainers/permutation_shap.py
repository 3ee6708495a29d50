"""Permutation sampling of Shapley values with antithetic permutations."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.explainers._games import Game
from xaikit.explainers._shapley_base import RowEstimate, ShapleyExplainer

__all__ = ["PermutationShap"]


def permutation_masks(orders: np.ndarray) -> np.ndarray:
    """Coalitions met along each order: prefixes of lengths ``1..k-1`` ``(p * (k - 1), k)``."""
    p, k = orders.shape
    rank = np.empty_like(orders)
    np.put_along_axis(rank, orders, np.arange(k)[None, :], axis=1)
    lengths = np.arange(1, k)
    masks = rank[:, None, :] < lengths[None, :, None]  # (p, k-1, k)
    return masks.reshape(-1, k)


def marginal_contributions(orders: np.ndarray, values: np.ndarray, v_empty: np.ndarray, v_full: np.ndarray) -> np.ndarray:
    """Each player's marginal contribution along each order: ``(p, k, o)``."""
    p, k = orders.shape
    o = v_empty.shape[0]
    chain = np.empty((p, k + 1, o))
    chain[:, 0] = v_empty
    chain[:, k] = v_full
    chain[:, 1:k] = values.reshape(p, k - 1, o)
    steps = np.diff(chain, axis=1)  # step j adds player orders[:, j]
    out = np.empty((p, k, o))
    np.put_along_axis(out, orders[:, :, None], steps, axis=1)
    return out


class PermutationShap(ShapleyExplainer):
    """Shapley values as the mean marginal contribution over random feature orders.

    Orders come in antithetic pairs (an order and its reverse; Mitchell et al. 2022), which
    cancels much of the variance. Every order's contributions add up to ``f(x) - E f(background)``
    exactly. Standard errors are those of the mean over pairs; ``tol=`` adds pairs until every
    standard error is below it. Each order costs ``d - 1`` coalitions of ``n_samples``.

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> f = lambda X: X @ np.array([1.0, -1.0])
    >>> xk.PermutationShap(f, background=np.zeros((1, 2))).explain(np.ones((1, 2)), n_samples=2).values[0, :, 0]
    array([ 1., -1.])
    """

    name = "permutation_shap"

    def _check_params(self, n_players: int, params: dict[str, Any]) -> dict[str, Any]:
        need = 2 * max(n_players - 1, 0)
        if params["n_samples"] < need:
            raise InvalidParameterError(
                f"n_samples: expected at least {need} coalitions for {n_players} features "
                f"(one antithetic pair of orders costs 2 x (d - 1)), got {params['n_samples']}"
            )
        return params

    def _needs_cache(self, params: Any) -> bool:
        return False

    def _estimate(self, game: Game, rng: np.random.Generator, **params: Any) -> RowEstimate:
        k = self.masker.n_groups
        if k == 1:
            return RowEstimate(game.delta[None, :].copy(), np.zeros((1, game.n_outputs)), 0, exact=True)
        max_pairs = params["n_samples"] // (2 * (k - 1))
        tol = params.get("tol")
        step = max_pairs if tol is None else min(max_pairs, max(8, 64 // k))
        units: list[np.ndarray] = []
        done = 0
        while done < max_pairs:
            p = min(step, max_pairs - done)
            orders = rng.random((p, k)).argsort(axis=1)
            both = np.concatenate([orders, orders[:, ::-1]])
            contrib = marginal_contributions(both, game(permutation_masks(both)), game.v_empty, game.v_full)
            units.append(0.5 * (contrib[:p] + contrib[p:]))
            done += p
            if tol is not None and done >= 2:
                se = np.concatenate(units).std(axis=0, ddof=1) / np.sqrt(done)
                if se.max() <= tol:
                    break
            step = done  # double
        u = np.concatenate(units)
        se = u.std(axis=0, ddof=1) / np.sqrt(u.shape[0]) if u.shape[0] > 1 else np.full(u.shape[1:], np.nan)
        return RowEstimate(u.mean(axis=0), se, game.n_evaluations)
