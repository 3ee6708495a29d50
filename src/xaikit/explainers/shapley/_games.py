"""The game an explainer plays for one row: values of coalitions, with the empty and full ones known."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.explainers.shapley._coalitions import paired_masks, prefix_masks, unpack_coalitions

__all__ = ["Game", "ReferenceGames"]


class Game:
    """Coalition values ``v(S)`` for one explained row.

    Parameters
    ----------
    value_function : callable
        ``masks (s, k) -> (s, o)``; typically a :class:`~xaikit.maskers.ValueFunction`.
    v_empty, v_full : ndarray (o,)
        ``v`` of the empty coalition (the base value) and of the full one (the prediction).
    cache : bool
        Remember evaluated coalitions so that a growing design never pays twice for one.
    references : ReferenceGames, optional
        The same row's single-reference games, for estimators that sample per background row.
    n_players : int, optional
        The number of players; by default the value function's ``n_players`` (None when it has
        none). A document's players are its tokens, an image's its segments: every row its own.

    Examples
    --------
    >>> g = Game(lambda m: m.sum(axis=1, keepdims=True).astype(float), np.zeros(1), np.full(1, 2.0), cache=True)
    >>> g(np.array([[True, False], [True, False]])), g.n_evaluations
    (array([[1.],
           [1.]]), 1)
    """

    def __init__(
        self,
        value_function: Any,
        v_empty: np.ndarray,
        v_full: np.ndarray,
        *,
        cache: bool = False,
        references: ReferenceGames | None = None,
        n_players: int | None = None,
    ) -> None:
        self.value_function = value_function
        self.references = references
        self._n_players: int | None = n_players if n_players is not None else getattr(value_function, "n_players", None)
        self.v_empty = np.asarray(v_empty, dtype=np.float64)
        self.v_full = np.asarray(v_full, dtype=np.float64)
        self.n_outputs = self.v_empty.shape[0]
        self._cache: dict[bytes, np.ndarray] | None = {} if cache else None
        self.n_evaluations = 0

    @property
    def n_players(self) -> int:
        """The number of players (features, groups, tokens or segments of the row)."""
        if self._n_players is None:
            raise InvalidParameterError(
                "value_function: expected a value function that knows its number of players (n_players), "
                f"got {type(self.value_function).__name__}; pass n_players="
            )
        return self._n_players

    @property
    def delta(self) -> np.ndarray:
        """``v(N) - v(empty)``: what the values must add up to."""
        return self.v_full - self.v_empty

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        masks = np.asarray(masks, dtype=bool)
        if masks.shape[0] == 0:
            return np.zeros((0, self.n_outputs))
        if self._cache is None:
            self.n_evaluations += masks.shape[0]
            return self.value_function(masks)
        keys = [row.tobytes() for row in np.packbits(masks, axis=1)]
        todo: dict[bytes, int] = {}
        for i, key in enumerate(keys):
            if key not in self._cache and key not in todo:
                todo[key] = i
        if todo:
            idx = np.fromiter(todo.values(), dtype=np.intp, count=len(todo))
            vals = self.value_function(masks[idx])
            self.n_evaluations += idx.size
            for key, val in zip(todo, vals):
                self._cache[key] = val
        return np.stack([self._cache[key] for key in keys])


class ReferenceGames:
    """The single-reference games of one explained row: ``v_r(S) = f(x_S, b_r)`` per background row.

    The interventional value function is their weighted mean, and so are its Shapley values;
    estimators that sample coalitions per background row play these games. Each game's empty
    coalition is the background row's own prediction and its full coalition the row's.

    Parameters
    ----------
    value_function : ValueFunction or callable
        A :class:`~xaikit.maskers.ValueFunction` (its ``per_reference`` and ``pairs_per_reference``
        evaluate the games), or any callable ``masks (m, s, k) -> (m, s, o)``.
    v_empty : ndarray (m, o)
        ``f(b_r)`` for every background row.
    v_full : ndarray (o,)
        ``f(x)``.
    weights : ndarray (m,)
        Background row weights (sum to one).

    Examples
    --------
    >>> g = ReferenceGames(lambda m: m.sum(axis=2, keepdims=True) * 1.0, np.zeros((2, 1)), np.ones(1), np.full(2, 0.5))
    >>> g(np.ones((2, 3, 2), dtype=bool)).shape, g.n_evaluations
    ((2, 3, 1), 3)
    """

    def __init__(self, value_function: Any, v_empty: np.ndarray, v_full: np.ndarray, weights: np.ndarray) -> None:
        self.value_function = value_function  # a ValueFunction, or any callable masks -> values
        self.v_empty = np.asarray(v_empty, dtype=np.float64)
        self.v_full = np.asarray(v_full, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.n_references, self.n_outputs = self.v_empty.shape
        self.n_evaluations = 0  # coalitions per reference (each one costs a pass over the background)

    @property
    def delta(self) -> np.ndarray:
        """``v_r(N) - v_r(empty)`` per reference ``(m, o)``: what each game's values add up to."""
        return self.v_full[None, :] - self.v_empty

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        """Values ``(m, s, o)`` of each reference's own coalitions ``masks[r]`` (bool ``(m, s, k)``)."""
        masks = np.asarray(masks, dtype=bool)
        self.n_evaluations += masks.shape[1]
        if masks.shape[1] == 0:
            return np.zeros((self.n_references, 0, self.n_outputs))
        vf = self.value_function
        return vf.per_reference(masks) if hasattr(vf, "per_reference") else vf(masks)

    def chains(self, orders: np.ndarray) -> np.ndarray:
        """Values ``(m, p, k - 1, o)`` of the coalitions met along each reference's orders ``orders[r]``
        (int ``(m, p, k)``): the first ``t + 1`` players of each order, ``t < k - 1``."""
        orders = np.asarray(orders, dtype=np.int64)
        m, p, k = orders.shape
        vf = self.value_function
        if not hasattr(vf, "chains_per_reference"):
            masks = prefix_masks(orders).reshape(m, p * (k - 1), k)
            return self(masks).reshape(m, p, k - 1, self.n_outputs)
        self.n_evaluations += p * (k - 1)
        return vf.chains_per_reference(orders)

    def pairs(self, codes: np.ndarray, n_players: int) -> np.ndarray:
        """Values ``(m, 2u, o)`` of every coalition ``codes[r, i]`` (uint64 ``(m, u, ceil(k / 64))``,
        see :func:`~xaikit.explainers.shapley._coalitions.pack_coalitions`) and of its complement (rows ``2i``, ``2i + 1``).

        The result is a new array, the caller's to change."""
        codes = np.ascontiguousarray(codes, dtype=np.uint64)
        vf = self.value_function
        if not hasattr(vf, "pairs_per_reference"):
            masks = paired_masks(unpack_coalitions(codes, n_players))
            return np.array(self(masks), dtype=np.float64)  # a copy: a callable may return its own array
        self.n_evaluations += 2 * codes.shape[1]
        if codes.shape[1] == 0:
            return np.zeros((self.n_references, 0, self.n_outputs))
        return vf.pairs_per_reference(codes)
