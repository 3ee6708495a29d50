"""The value function of a cooperative game built from a model, a masker and one row."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import check_int
from xaikit.models.base import AdaptedModel

__all__ = ["ValueFunction", "DEFAULT_BATCH_VALUES"]

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

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        """Values of the coalitions in ``masks`` (bool ``(s, n_players)``): ``(s, n_outputs)``."""
        masks = np.asarray(masks, dtype=bool)
        m = self.masker.n_background
        per_call = max(1, self.batch_size // m)
        w = self.masker.weights
        outs = []
        for start in range(0, masks.shape[0], per_call):
            chunk = masks[start : start + per_call]
            Z = self.masker.synthesize(self.x, chunk)
            y = self.model.predict(self.masker.decode(Z, as_frame=self.as_frame))
            outs.append(np.einsum("smo,m->so", y.reshape(chunk.shape[0], m, -1), w))
            self.n_rows += Z.shape[0]
        self.n_coalitions += masks.shape[0]
        if not outs:
            return np.zeros((0, 0))
        return np.concatenate(outs, axis=0)

    def pairs_per_reference(self, units: np.ndarray) -> np.ndarray:
        """:meth:`per_reference` for complementary pairs: the values of each coalition ``units[r, i]``
        (bool ``(m, u, n_players)``) and of its complement, as ``(m, 2u, n_outputs)`` (pairs adjacent)."""
        units = np.asarray(units, dtype=bool)
        m, u = units.shape[:2]
        per_call = max(1, self.batch_size // (2 * m))
        out: np.ndarray | None = None
        for start in range(0, u, per_call):
            chunk = units[:, start : start + per_call]
            Z = self.masker.synthesize_pairs_per_reference(self.x, chunk)
            y = self.model.predict(self.masker.decode(Z, as_frame=self.as_frame))
            if out is None:
                out = np.empty((m, 2 * u, y.shape[1]))
            out[:, 2 * start : 2 * (start + chunk.shape[1])] = y.reshape(m, 2 * chunk.shape[1], -1)
            self.n_rows += Z.shape[0]
        self.n_coalitions += 2 * u
        return out if out is not None else np.zeros((m, 0, 0))

    def chains_per_reference(self, orders: np.ndarray) -> np.ndarray:
        """Values along orders of the players: for background row ``r`` and order ``orders[r, o]``
        (int ``(m, p, k)``), ``f`` with the first ``t + 1`` players taken from the row, for
        ``t < k - 1``; ``(m, p, k - 1, n_outputs)``."""
        orders = np.asarray(orders, dtype=np.int64)
        m, p, k = orders.shape
        per_call = max(1, self.batch_size // (m * max(k - 1, 1)))
        out: np.ndarray | None = None
        for start in range(0, p, per_call):
            chunk = orders[:, start : start + per_call]
            Z = self.masker.synthesize_chains_per_reference(self.x, chunk)
            y = self.model.predict(self.masker.decode(Z, as_frame=self.as_frame))
            if out is None:
                out = np.empty((m, p, k - 1, y.shape[1]))
            out[:, start : start + chunk.shape[1]] = y.reshape(m, chunk.shape[1], k - 1, -1)
            self.n_rows += Z.shape[0]
        self.n_coalitions += p * (k - 1)
        return out if out is not None else np.zeros((m, p, k - 1, 0))

    def per_reference(self, masks: np.ndarray) -> np.ndarray:
        """Values of single-reference games: ``f(x_S, b_r)`` for background row ``r`` and each
        coalition ``S`` in ``masks[r]`` (bool ``(m, s, n_players)``), as ``(m, s, n_outputs)``.

        Costs ``m * s`` model rows, as ``s`` coalitions evaluated over the whole background do.
        """
        masks = np.asarray(masks, dtype=bool)
        m, s = masks.shape[:2]
        per_call = max(1, self.batch_size // m)
        outs = []
        for start in range(0, s, per_call):
            chunk = masks[:, start : start + per_call]
            Z = self.masker.synthesize_per_reference(self.x, chunk)
            y = self.model.predict(self.masker.decode(Z, as_frame=self.as_frame))
            outs.append(y.reshape(m, chunk.shape[1], -1))
            self.n_rows += Z.shape[0]
        self.n_coalitions += s
        if not outs:
            return np.zeros((m, 0, 0))
        return np.concatenate(outs, axis=1)
