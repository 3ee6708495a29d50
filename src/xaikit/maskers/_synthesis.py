"""Compiled construction of hybrid rows: the explained row where a coalition holds, a background row elsewhere.

Values are copied bit for bit (a select on the 64-bit patterns, which the compiler vectorises), so
NaN and signed zeros survive exactly.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["hybrid_rows", "hybrid_rows_per_reference", "paired_rows_per_reference", "chain_rows_per_reference"]


@njit(cache=True, nogil=True)
def _rows(x: np.ndarray, data: np.ndarray, masks: np.ndarray, per_reference: bool, paired: bool) -> np.ndarray:
    """The one loop behind the public functions: ``masks`` is ``(m, s, d)`` per reference, else ``(1, s, d)``."""
    m, d = data.shape
    s = masks.shape[1]
    width = 2 if paired else 1
    out = np.empty((m * s * width, d), dtype=np.uint64)
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
            row = (r * s + i) * width
            for j in range(d):
                sel = np.uint64(0) - np.uint64(masks[r, i, j])
                out[row, j] = (x[j] & sel) | (data[r, j] & ~sel)
            if paired:  # the complement
                for j in range(d):
                    sel = np.uint64(0) - np.uint64(masks[r, i, j])
                    out[row + 1, j] = (data[r, j] & sel) | (x[j] & ~sel)
    return out


@njit(cache=True, nogil=True)
def _chain_rows_per_reference(
    x: np.ndarray, data: np.ndarray, orders: np.ndarray, group_ptr: np.ndarray, group_features: np.ndarray
) -> np.ndarray:
    m, p, k = orders.shape
    d = data.shape[1]
    out = np.empty((m * p * (k - 1), d))
    cur = np.empty(d)
    row = 0
    for r in range(m):
        for o in range(p):
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


def hybrid_rows(x: np.ndarray, data: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Rows ``(s * m, d)``: feature mask ``masks[i]`` (bool ``(s, d)``) combined with every background row.

    Row ``i * m + r`` takes feature ``j`` from ``x`` when ``masks[i, j]`` holds and from
    ``data[r]`` otherwise.

    >>> hybrid_rows(np.array([9.0, 9.0]), np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[True, False]]))
    array([[9., 1.],
           [9., 3.]])
    """
    return _rows(_bits(x), _bits(data), _u8(masks)[None], False, False).view(np.float64)


def hybrid_rows_per_reference(x: np.ndarray, data: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Rows ``(m * s, d)``: background row ``r`` combined with its own feature masks ``masks[r]`` (bool ``(m, s, d)``).

    Row ``r * s + i`` takes feature ``j`` from ``x`` when ``masks[r, i, j]`` holds and from
    ``data[r]`` otherwise.

    >>> masks = np.array([[[True, False]], [[False, True]]])
    >>> hybrid_rows_per_reference(np.array([9.0, 9.0]), np.array([[0.0, 1.0], [2.0, 3.0]]), masks)
    array([[9., 1.],
           [2., 9.]])
    """
    return _rows(_bits(x), _bits(data), _u8(masks), True, False).view(np.float64)


def paired_rows_per_reference(x: np.ndarray, data: np.ndarray, units: np.ndarray) -> np.ndarray:
    """Rows ``(m * 2u, d)``: background row ``r`` under each feature mask ``units[r, i]`` (bool ``(m, u, d)``)
    and under its complement (rows ``2i`` and ``2i + 1`` of background row ``r``'s block).

    >>> paired_rows_per_reference(np.array([9.0, 9.0]), np.array([[0.0, 1.0]]), np.array([[[True, False]]]))
    array([[9., 1.],
           [0., 9.]])
    """
    return _rows(_bits(x), _bits(data), _u8(units), True, True).view(np.float64)


def chain_rows_per_reference(
    x: np.ndarray, data: np.ndarray, orders: np.ndarray, group_ptr: np.ndarray, group_features: np.ndarray
) -> np.ndarray:
    """Rows ``(m * p * (k - 1), d)`` along orders of the players: for background row ``r`` and order
    ``orders[r, o]`` (a permutation of the ``k`` players), row ``t`` holds ``x`` on the features of the
    first ``t + 1`` players and ``data[r]`` elsewhere. Player ``g`` owns features
    ``group_features[group_ptr[g]:group_ptr[g + 1]]``.

    >>> chain_rows_per_reference(np.array([9.0, 9.0]), np.array([[0.0, 1.0]]), np.array([[[1, 0]]]),
    ...                          np.array([0, 1, 2]), np.array([0, 1]))
    array([[0., 9.]])
    """
    return _chain_rows_per_reference(
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(data, dtype=np.float64),
        np.ascontiguousarray(orders, dtype=np.int64),
        group_ptr,
        group_features,
    )
