"""The value function of a cooperative game built from a model, a masker and one row."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from xaikit._validation import check_int
from xaikit.models.base import AdaptedModel

__all__ = ["ValueFunction", "DEFAULT_BATCH_VALUES"]


def _unshared(buffer: np.ndarray) -> bool:
    """Whether only the caller's own name refers to ``buffer`` (CPython's reference count: that
    name, this function's argument and ``getrefcount``'s); elsewhere, never assume so."""
    getrefcount = getattr(sys, "getrefcount", None)
    return getrefcount is not None and getrefcount(buffer) <= 3


#: Default number of model input values (rows x features) per model call: 8 MB of float64, small
#: enough to be built and read while in cache, large enough that a call's own cost is negligible.
DEFAULT_BATCH_VALUES = 1 << 20


class ValueFunction:
    """``v(S)``: the mean model output when only the players in S keep the row's values.

    Parameters
    ----------
    model : AdaptedModel
    masker : TabularMasker (or any masker with ``synthesize``, ``decode``, ``weights``)
    x : ndarray (d,)
        The row, encoded as the masker expects.
    batch_size : int, optional
        Maximum number of model input rows per model call (coalitions x background rows);
        memory stays bounded whatever the number of coalitions. By default about a million
        values (rows x features), and at least one coalition.
    as_frame : bool, optional
        Passed to ``masker.decode``.

    Attributes
    ----------
    n_coalitions : int
        Coalitions evaluated so far (each is one pass over the background).
    n_rows : int
        Model input rows predicted so far.

    Examples
    --------
    >>> from xaikit.maskers.tabular import TabularMasker
    >>> from xaikit.models import adapt
    >>> vf = ValueFunction(adapt(lambda X: X.sum(axis=1)), TabularMasker(np.zeros((4, 2))), np.array([1.0, 2.0]))
    >>> vf(np.array([[True, False], [True, True]]))
    array([[1.],
           [3.]])
    """

    def __init__(
        self,
        model: AdaptedModel,
        masker: Any,
        x: np.ndarray,
        *,
        batch_size: int | None = None,
        as_frame: bool | None = None,
    ) -> None:
        self.model = model
        self.masker = masker
        self.x = np.asarray(x, dtype=np.float64)
        if batch_size is None:
            self.batch_size = max(1, DEFAULT_BATCH_VALUES // max(1, getattr(masker, "n_features", 1)))
        else:
            self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.as_frame = as_frame
        self.n_players = masker.n_groups
        self.n_coalitions = 0
        self.n_rows = 0

    def _batches(
        self, n_items: int, rows_per_item: int, build: Callable[[int, int, np.ndarray], np.ndarray]
    ) -> Iterator[tuple[int, int, np.ndarray]]:
        """Predict ``build(start, stop, buffer)`` (the model rows of items ``start:stop``, written to
        the start of ``buffer``) for consecutive slices of ``range(n_items)``, at most ``batch_size``
        rows a call; yields ``(start, stop, y)``.

        One buffer serves every call while nothing outside holds on to it: after each call its
        references are counted, and if the model kept the rows (or a view of them) the next call
        gets a new buffer. Outputs that share its memory are copied.
        """
        per_call = max(1, self.batch_size // max(1, rows_per_item))
        d = self.masker.n_features
        size = min(per_call, n_items) * rows_per_item * d
        buffer: np.ndarray | None = None
        for start in range(0, n_items, per_call):
            stop = min(start + per_call, n_items)
            if buffer is None:
                buffer = np.empty(size)
            Z = build(start, stop, buffer)
            y = self.model.predict(self.masker.decode(Z, as_frame=self.as_frame))
            self.n_rows += Z.shape[0]
            if np.may_share_memory(y, buffer):
                y = np.array(y, copy=True)
            del Z
            if not _unshared(buffer):
                buffer = None
            yield start, stop, y

    def _per_reference_values(
        self, n_items: int, per_item: int, build: Callable[[int, int, np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """Values ``(m, n_items, per_item, n_outputs)`` of the single-reference games, from model rows
        ordered background row, item, then the item's ``per_item`` coalitions (see :meth:`_batches`)."""
        m = self.masker.n_background
        values: np.ndarray | None = None
        for start, stop, y in self._batches(n_items, m * per_item, build):
            y = y.reshape(m, stop - start, per_item, -1)
            if values is None:
                values = np.empty((m, n_items, per_item, y.shape[-1]))
            values[:, start:stop] = y
        return values if values is not None else np.zeros((m, n_items, per_item, 0))

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        """Values of the coalitions in ``masks`` (bool ``(s, n_players)``): ``(s, n_outputs)``."""
        masks = np.asarray(masks, dtype=bool)
        m = self.masker.n_background
        w = self.masker.weights
        outs = [
            np.einsum("smo,m->so", y.reshape(stop - start, m, -1), w)
            for start, stop, y in self._batches(
                masks.shape[0], m, lambda a, b, out: self.masker.synthesize(self.x, masks[a:b], out)
            )
        ]
        self.n_coalitions += masks.shape[0]
        return np.concatenate(outs, axis=0) if outs else np.zeros((0, 0))

    def pairs_per_reference(self, codes: np.ndarray) -> np.ndarray:
        """:meth:`per_reference` for complementary pairs: the values of each coalition ``codes[r, i]``
        (uint64 ``(m, u, ceil(n_players / 64))``, player ``p`` at bit ``p % 64`` of word ``p // 64``)
        and of its complement, as ``(m, 2u, n_outputs)`` (pairs adjacent)."""
        codes = np.ascontiguousarray(codes, dtype=np.uint64)
        m, u = codes.shape[:2]
        values = self._per_reference_values(
            u, 2, lambda a, b, out: self.masker.synthesize_pairs_per_reference(self.x, codes, a, b, out)
        )
        self.n_coalitions += 2 * u
        return values.reshape(m, 2 * u, values.shape[-1])

    def chains_per_reference(self, orders: np.ndarray) -> np.ndarray:
        """Values along orders of the players: for background row ``r`` and order ``orders[r, o]``
        (int ``(m, p, k)``), ``f`` with the first ``t + 1`` players taken from the row, for
        ``t < k - 1``; ``(m, p, k - 1, n_outputs)``."""
        orders = np.asarray(orders, dtype=np.int64)
        p, k = orders.shape[1:]
        values = self._per_reference_values(
            p, k - 1, lambda a, b, out: self.masker.synthesize_chains_per_reference(self.x, orders, a, b, out)
        )
        self.n_coalitions += p * (k - 1)
        return values

    def per_reference(self, masks: np.ndarray) -> np.ndarray:
        """Values of single-reference games: ``f(x_S, b_r)`` for background row ``r`` and each
        coalition ``S`` in ``masks[r]`` (bool ``(m, s, n_players)``), as ``(m, s, n_outputs)``.

        Costs ``m * s`` model rows, as ``s`` coalitions evaluated over the whole background do.
        """
        masks = np.asarray(masks, dtype=bool)
        m, s = masks.shape[:2]
        values = self._per_reference_values(
            s, 1, lambda a, b, out: self.masker.synthesize_per_reference(self.x, masks[:, a:b], out)
        )
        self.n_coalitions += s
        return values.reshape(m, s, values.shape[-1])
