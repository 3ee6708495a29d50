"""The value function of a cooperative game built from a model, a masker and one row.

For a table the row is an encoded array and a coalition's value is the mean model output over
the masker's background rows with the coalition's features taken from the row. For a document or
an image (a :class:`~xaikit.maskers.TextItem` or :class:`~xaikit.maskers.ImageItem` with its
:class:`~xaikit.maskers.TextMasker` or :class:`~xaikit.maskers.ImageMasker`) the players are its
tokens or segments, and a coalition's value is the model output on the one input the masker
renders for it: the hidden tokens removed or replaced by the mask token, the hidden segments
filled. Either way the model is called on batches of coalitions, never one at a time.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from xaikit._validation import check_int
from xaikit.models.base import AdaptedModel

__all__ = ["ValueFunction", "DEFAULT_BATCH_VALUES", "renders_items"]


def renders_items(masker: Any) -> bool:
    """Whether ``masker`` hides the tokens of documents or the segments of images (each input its
    own players, rendered one model input per coalition) rather than the columns of a table.

    >>> from xaikit.maskers.text import TextMasker
    >>> renders_items(TextMasker()), renders_items(object())
    (True, False)
    """
    return getattr(masker, "kind", None) in ("text", "image") and all(
        hasattr(masker, a) for a in ("prepare", "render")
    )


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
    masker : TabularMasker (or any masker with ``synthesize``, ``decode``, ``weights``), TextMasker or ImageMasker
    x : ndarray (d,), TextItem or ImageItem
        The row, encoded as the masker expects; for documents and images, one item of
        ``masker.prepare``.
    batch_size : int, optional
        Maximum number of model input rows per model call (coalitions x background rows);
        memory stays bounded whatever the number of coalitions. By default about a million
        values (rows x features), and at least one coalition; for documents and images the
        masker's ``default_batch_size`` inputs.
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

    A document's players are its words; the value of a coalition is the model on the document
    that keeps them:

    >>> from xaikit.maskers.text import TextMasker
    >>> masker = TextMasker()
    >>> item = masker.prepare("good bad film")[0]
    >>> vf = ValueFunction(adapt(lambda docs: [d.count("good") - d.count("bad") for d in docs]), masker, item)
    >>> vf(np.array([[True, False, True], [False, True, True]]))
    array([[ 1.],
           [-1.]])
    """

    def __init__(
        self,
        model: AdaptedModel,
        masker: Any,
        x: Any,
        *,
        batch_size: int | None = None,
        as_frame: bool | None = None,
    ) -> None:
        self.model = model
        self.masker = masker
        #: The document or image whose tokens or segments are the players; None for a table.
        self.item: Any = x if renders_items(masker) else None
        if self.item is not None:
            self.x = np.zeros(0)
            self.n_players = int(self.item.n_features)
            default = int(masker.default_batch_size)
        else:
            self.x = np.asarray(x, dtype=np.float64)
            self.n_players = masker.n_groups
            default = max(1, DEFAULT_BATCH_VALUES // max(1, getattr(masker, "n_features", 1)))
        self.batch_size = default if batch_size is None else check_int(batch_size, "batch_size", minimum=1)
        self.as_frame = as_frame
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
        if self.item is not None:
            self.n_coalitions += masks.shape[0]
            return self._rendered(masks)
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

    def _rendered(self, masks: np.ndarray) -> np.ndarray:
        """Values of the coalitions of a document's or image's players: the model on the inputs
        the masker renders for them, at most ``batch_size`` inputs per call."""
        outs = []
        for start in range(0, masks.shape[0], self.batch_size):
            part = masks[start : start + self.batch_size]
            outs.append(self.model.predict(self.masker.render(self.item, part)))
            self.n_rows += part.shape[0]
        return np.concatenate(outs, axis=0) if outs else np.zeros((0, 0))

    def pairs_per_reference(self, codes: np.ndarray) -> np.ndarray:
        """:meth:`per_reference` for complementary pairs: the values of each coalition ``codes[r, i]``
        (uint64 ``(m, u, ceil(n_players / 64))``, player ``p`` at bit ``p % 64`` of word ``p // 64``)
        and of its complement, as ``(m, 2u, n_outputs)`` (pairs adjacent)."""
        codes = np.ascontiguousarray(codes, dtype=np.uint64)
        m, u = codes.shape[:2]
        if self.item is not None:
            octets = np.ascontiguousarray(codes, dtype=np.dtype("<u8")).view(np.uint8)
            units = np.unpackbits(octets, axis=-1, count=self.n_players, bitorder="little").astype(bool)
            masks = np.empty((m, 2 * u, self.n_players), dtype=bool)
            masks[:, 0::2] = units
            masks[:, 1::2] = ~units
            return self.per_reference(masks)
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
        m, p, k = orders.shape
        if self.item is not None:
            rank = np.empty_like(orders)
            np.put_along_axis(rank, orders, np.broadcast_to(np.arange(k), orders.shape), axis=-1)
            masks = rank[..., None, :] < np.arange(1, k)[:, None]  # (m, p, k - 1, k)
            return self.per_reference(masks.reshape(m, p * (k - 1), k)).reshape(m, p, k - 1, -1)
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
        if self.item is not None:  # one input per coalition: every reference plays the same game
            self.n_coalitions += s
            return self._rendered(masks.reshape(m * s, self.n_players)).reshape(m, s, -1)
        values = self._per_reference_values(
            s, 1, lambda a, b, out: self.masker.synthesize_per_reference(self.x, masks[:, a:b], out)
        )
        self.n_coalitions += s
        return values.reshape(m, s, values.shape[-1])
