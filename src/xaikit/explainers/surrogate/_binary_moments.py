"""Weighted moments of a 0/1 design, accumulated over each row's ones only (compiled with numba).

A table whose features are all categorical or binned has an interpretable form of 0s and 1s
("same category or bin as the explained row"), with about one 1 in four columns under quartile
bins. The weighted cross-products ``sum_i w_i h_i h_i'`` and ``sum_i w_i h_i (y_i - ybar)`` then
cost, per row, the square of its number of ones instead of ``d^2``: what LIME's surrogate fit
needs when the rows of a group share their draws (eight times the rows of a plain fit).
The loops are compiled on first use and cached on disk.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["binary_moments", "count_ones"]


@numba.njit(cache=True, nogil=True)
def _accumulate(H, w, Y, ybar, hsum, HH, HY):  # pragma: no cover - compiled
    n, d = H.shape
    o = Y.shape[1]
    ones = np.empty(d, dtype=np.int64)
    for i in range(n):
        m = 0
        for j in range(d):  # the row's ones, listed without a branch
            ones[m] = j
            m += H[i, j]
        wi = w[i]
        for a in range(m):
            hsum[ones[a]] += wi
            row = HH[ones[a]]
            for b in range(a, m):
                row[ones[b]] += wi
        for t in range(o):
            wy = wi * (Y[i, t] - ybar[t])
            for a in range(m):
                HY[ones[a], t] += wy


@numba.njit(cache=True, nogil=True)
def _count_ones(H, out):  # pragma: no cover - compiled
    n, d = H.shape
    for i in range(n):
        c = 0
        for j in range(d):
            c += H[i, j]
        out[i] = c


def count_ones(H: np.ndarray) -> np.ndarray:
    """The number of ones in each row of the bool matrix ``H``.

    >>> count_ones(np.array([[True, False, True], [False, False, False]])).tolist()
    [2, 0]
    """
    out = np.empty(H.shape[0], dtype=np.int64)
    _count_ones(np.ascontiguousarray(H), out)
    return out


def binary_moments(H: np.ndarray, w: np.ndarray, Y: np.ndarray
                   ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(sw, xbar, ybar, G, C)`` of the bool design ``H`` ``(n, d)`` with weights ``w`` and outputs ``Y``
    ``(n, o)``: the weight's sum, the weighted means, and the centred moments
    ``G = sum w (h - xbar)(h - xbar)'`` and ``C = sum w (h - xbar)(y - ybar)'`` (the same as formed
    densely, to rounding).

    >>> H = np.array([[1, 0], [1, 1], [0, 1]], dtype=bool); w = np.array([1.0, 2.0, 1.0])
    >>> sw, xbar, ybar, G, C = binary_moments(H, w, np.array([[1.0], [3.0], [2.0]]))
    >>> sw, xbar.tolist(), ybar.tolist(), G.tolist(), C.round(6).tolist()
    (4.0, [0.75, 0.75], [2.25], [[0.75, -0.25], [-0.25, 0.75]], [[0.25], [1.25]])
    """
    n, d = H.shape
    sw = float(w.sum())
    ybar = (w @ Y) / sw
    hsum = np.zeros(d)
    HH = np.zeros((d, d))
    HY = np.zeros((d, Y.shape[1]))
    _accumulate(np.ascontiguousarray(H), np.ascontiguousarray(w, dtype=np.float64),
                np.ascontiguousarray(Y, dtype=np.float64), ybar, hsum, HH, HY)
    HH = np.triu(HH) + np.triu(HH, 1).T
    xbar = hsum / sw
    # sum w (h - xbar)(y - ybar)' = sum w h (y - ybar)' since sum w (y - ybar) = 0
    return sw, xbar, ybar, HH - sw * np.outer(xbar, xbar), HY
