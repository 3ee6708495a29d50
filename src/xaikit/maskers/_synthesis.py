"""Compiled construction of hybrid rows: the explained row where a coalition holds, a background row elsewhere.

Values are copied bit for bit (a select on the 64-bit patterns, which the compiler vectorises), so
NaN and signed zeros survive exactly.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["hybrid_rows", "hybrid_rows_per_reference"]


@njit(cache=True, nogil=True)
def _hybrid_rows(x: np.ndarray, data: np.ndarray, masks: np.ndarray) -> np.ndarray:
    s = masks.shape[0]
    m, d = data.shape
    out = np.empty((s * m, d), dtype=np.uint64)
    for i in range(s):
        for r in range(m):
            row = i * m + r
            for j in range(d):
                sel = np.uint64(0) - np.uint64(masks[i, j])
                out[row, j] = (x[j] & sel) | (data[r, j] & ~sel)
    return out


@njit(cache=True, nogil=True)
def _hybrid_rows_per_reference(x: np.ndarray, data: np.ndarray, masks: np.ndarray) -> np.ndarray:
    m, s = masks.shape[0], masks.shape[1]
    d = data.shape[1]
    out = np.empty((m * s, d), dtype=np.uint64)
    for r in range(m):
        for i in range(s):
            row = r * s + i
            for j in range(d):
                sel = np.uint64(0) - np.uint64(masks[r, i, j])
                out[row, j] = (x[j] & sel) | (data[r, j] & ~sel)
    return out


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
    m8 = np.ascontiguousarray(masks, dtype=bool).view(np.uint8)
    return _hybrid_rows(_bits(x), _bits(data), m8).view(np.float64)


def hybrid_rows_per_reference(x: np.ndarray, data: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Rows ``(m * s, d)``: background row ``r`` combined with its own feature masks ``masks[r]`` (bool ``(m, s, d)``).

    Row ``r * s + i`` takes feature ``j`` from ``x`` when ``masks[r, i, j]`` holds and from
    ``data[r]`` otherwise.

    >>> masks = np.array([[[True, False]], [[False, True]]])
    >>> hybrid_rows_per_reference(np.array([9.0, 9.0]), np.array([[0.0, 1.0], [2.0, 3.0]]), masks)
    array([[9., 1.],
           [2., 9.]])
    """
    m8 = np.ascontiguousarray(masks, dtype=bool).view(np.uint8)
    return _hybrid_rows_per_reference(_bits(x), _bits(data), m8).view(np.float64)
