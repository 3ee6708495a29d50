"""Compiled construction of hybrid rows: the explained row where a coalition holds, a background row elsewhere.

Values are copied bit for bit (a select on the 64-bit patterns, which the compiler vectorises), so
NaN and signed zeros survive exactly.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["hybrid_rows", "hybrid_rows_per_reference", "paired_rows_per_reference", "chain_rows_per_reference"]


@njit(cache=True, nogil=True)
def _rows(x: np.ndarray, data: np.ndarray, masks: np.ndarray, per_reference: bool, out: np.ndarray) -> np.ndarray:
    """The loop behind the mask-driven functions: ``masks`` is ``(m, s, d)`` per reference, else ``(1, s, d)``."""
    m, d = data.shape
    s = masks.shape[1]
    if not per_reference:  # rows in coalition-major order, written in that order
        for i in range(s):
            for r in range(m):
                row = i * m + r
                for j in range(d):
                    sel = np.uint64(0) - np.uint64(masks[0, i, j])
                    out[row, j] = (x[j] & sel) | (data[r, j] & ~sel)
        return out
    for r in range(m):
        for i in range(s):
            row = r * s + i
            for j in range(d):
                sel = np.uint64(0) - np.uint64(masks[r, i, j])
                out[row, j] = (x[j] & sel) | (data[r, j] & ~sel)
    return out


@njit(cache=True, nogil=True)
def _paired_rows(
    x: np.ndarray, data: np.ndarray, codes: np.ndarray, start: int, stop: int, player_of: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """Rows of units ``start:stop`` of ``codes`` (m, u, W) and their complements; feature ``j``
    follows player ``player_of[j]``."""
    m, d = data.shape
    s = stop - start
    sel = np.empty(d, dtype=np.uint64)
    word_of = player_of >> 6
    shift_of = (player_of & 63).astype(np.uint64)
    one = np.uint64(1)
    single_word = codes.shape[2] == 1
    for r in range(m):
        for i in range(s):
            row = (r * s + i) * 2
            if single_word:
                code = codes[r, start + i, 0]
                for j in range(d):
                    sel[j] = np.uint64(0) - ((code >> shift_of[j]) & one)
            else:
                for j in range(d):
                    sel[j] = np.uint64(0) - ((codes[r, start + i, word_of[j]] >> shift_of[j]) & one)
            for j in range(d):
                out[row, j] = (x[j] & sel[j]) | (data[r, j] & ~sel[j])
            for j in range(d):  # the complement
                out[row + 1, j] = (data[r, j] & sel[j]) | (x[j] & ~sel[j])
    return out


@njit(cache=True, nogil=True)
def _chain_rows(
    x: np.ndarray,
    data: np.ndarray,
    orders: np.ndarray,
    start: int,
    stop: int,
    group_ptr: np.ndarray,
    group_features: np.ndarray,
    out: np.ndarray,
) -> np.ndarray:
    """Rows along orders ``start:stop`` of ``orders`` (m, p, k)."""
    m, _, k = orders.shape
    d = data.shape[1]
    cur = np.empty(d, dtype=np.uint64)
    row = 0
    for r in range(m):
        for o in range(start, stop):
            for j in range(d):
                cur[j] = data[r, j]
            for t in range(k - 1):
                g = orders[r, o, t]
                for q in range(group_ptr[g], group_ptr[g + 1]):
                    j = group_features[q]
                    cur[j] = x[j]
                for j in range(d):
                    out[row, j] = cur[j]
                row += 1
    return out


def _u8(masks: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(masks, dtype=bool).view(np.uint8)


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)


def _output(out: np.ndarray | None, n_rows: int, d: int) -> np.ndarray:
    """``(n_rows, d)`` uint64 rows: fresh, or the start of ``out`` (a contiguous float64 buffer)."""
    if out is None:
        return np.empty((n_rows, d), dtype=np.uint64)
    if out.dtype != np.float64 or not out.flags.c_contiguous or out.size < n_rows * d:
        raise ValueError(f"out: expected a contiguous float64 buffer of at least {n_rows * d} values, got {out.dtype} {out.shape}")
    return out.reshape(-1)[: n_rows * d].view(np.uint64).reshape(n_rows, d)


def hybrid_rows(x: np.ndarray, data: np.ndarray, masks: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Rows ``(s * m, d)``: feature mask ``masks[i]`` (bool ``(s, d)``) combined with every background row.

    Row ``i * m + r`` takes feature ``j`` from ``x`` when ``masks[i, j]`` holds and from
    ``data[r]`` otherwise. Every function here writes to the start of ``out`` (a contiguous float64
    buffer) when one is given, else to a new array.

    >>> hybrid_rows(np.array([9.0, 9.0]), np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[True, False]]))
    array([[9., 1.],
           [9., 3.]])
    """
    masks = _u8(masks)
    rows = _output(out, masks.shape[0] * data.shape[0], data.shape[1])
    return _rows(_bits(x), _bits(data), masks[None], False, rows).view(np.float64)


def hybrid_rows_per_reference(
    x: np.ndarray, data: np.ndarray, masks: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """Rows ``(m * s, d)``: background row ``r`` combined with its own feature masks ``masks[r]`` (bool ``(m, s, d)``).

    Row ``r * s + i`` takes feature ``j`` from ``x`` when ``masks[r, i, j]`` holds and from
    ``data[r]`` otherwise.

    >>> masks = np.array([[[True, False]], [[False, True]]])
    >>> hybrid_rows_per_reference(np.array([9.0, 9.0]), np.array([[0.0, 1.0], [2.0, 3.0]]), masks)
    array([[9., 1.],
           [2., 9.]])
    """
    masks = _u8(masks)
    rows = _output(out, masks.shape[0] * masks.shape[1], data.shape[1])
    return _rows(_bits(x), _bits(data), masks, True, rows).view(np.float64)


def paired_rows_per_reference(
    x: np.ndarray,
    data: np.ndarray,
    codes: np.ndarray,
    player_of: np.ndarray | None = None,
    start: int = 0,
    stop: int | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Rows ``(m * 2s, d)`` for complementary pairs: background row ``r`` under each coalition
    ``codes[r, i]`` (uint64 ``(m, u, W)``, player ``p`` at bit ``p % 64`` of word ``p // 64``),
    ``start <= i < stop``, and under its complement (rows ``2i`` and ``2i + 1`` of background row
    ``r``'s block). Feature ``j`` belongs to player ``player_of[j]`` (default: player ``j``).

    >>> paired_rows_per_reference(np.array([9.0, 9.0]), np.array([[0.0, 1.0]]), np.array([[[1]]], dtype=np.uint64))
    array([[9., 1.],
           [0., 9.]])
    """
    data = np.ascontiguousarray(data, dtype=np.float64)
    if player_of is None:
        player_of = np.arange(data.shape[1], dtype=np.int64)
    codes = np.ascontiguousarray(codes, dtype=np.uint64)
    stop = codes.shape[1] if stop is None else stop
    rows = _output(out, data.shape[0] * 2 * (stop - start), data.shape[1])
    _paired_rows(_bits(x), data.view(np.uint64), codes, start, stop, np.asarray(player_of, dtype=np.int64), rows)
    return rows.view(np.float64)


def chain_rows_per_reference(
    x: np.ndarray,
    data: np.ndarray,
    orders: np.ndarray,
    group_ptr: np.ndarray,
    group_features: np.ndarray,
    start: int = 0,
    stop: int | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Rows ``(m * p * (k - 1), d)`` along orders of the players: for background row ``r`` and order
    ``orders[r, o]`` (a permutation of the ``k`` players), ``start <= o < stop``, row ``t`` holds ``x``
    on the features of the first ``t + 1`` players and ``data[r]`` elsewhere. Player ``g`` owns features
    ``group_features[group_ptr[g]:group_ptr[g + 1]]``.

    >>> chain_rows_per_reference(np.array([9.0, 9.0]), np.array([[0.0, 1.0]]), np.array([[[1, 0]]]),
    ...                          np.array([0, 1, 2]), np.array([0, 1]))
    array([[0., 9.]])
    """
    orders = np.ascontiguousarray(orders, dtype=np.int64)
    m, p, k = orders.shape
    stop = p if stop is None else stop
    rows = _output(out, m * (stop - start) * (k - 1), data.shape[1])
    _chain_rows(_bits(x), _bits(data), orders, start, stop, group_ptr, group_features, rows)
    return rows.view(np.float64)
