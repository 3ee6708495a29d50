"""Boosted regression trees on coalition indicators, with their exact Shapley values.

A surrogate ``g(z)`` of a game ``v`` is fitted to sampled coalitions ``z`` (0/1 vectors).
Each leaf of a tree on 0/1 features is reached exactly when the players in ``F1`` (the path's
"1" branches) are in the coalition and those in ``F0`` are not; the Shapley value of that
indicator game is ``(a-1)! b! / (a+b)!`` for each player of ``F1`` and ``-a! (b-1)! / (a+b)!``
for each of ``F0`` (``a = |F1|``, ``b = |F0|``). So the Shapley values of the surrogate are
exact and cheap: a sum over leaves. The loops are compiled with numba (cached on disk).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import numba
import numpy as np

__all__ = ["BoostedSurrogate", "fit_surrogate"]

_FACT = np.array([float(factorial(i)) for i in range(64)])


@numba.njit(cache=True, nogil=True)
def _player_sums(Z, w, resid, idx, start, end, W1, R1, N1):  # pragma: no cover - compiled
    """Over the coalitions ``idx[start:end]`` holding each player: weight, weighted residual, count."""
    k = Z.shape[1]
    for j in range(k):
        W1[j] = 0.0
        R1[j] = 0.0
        N1[j] = 0
    for p in range(start, end):
        i = idx[p]
        wi = w[i]
        ri = wi * resid[i]
        for j in range(k):  # branch-free, so that it vectorises
            zij = Z[i, j]
            W1[j] += wi * zij
            R1[j] += ri * zij
            N1[j] += zij


@numba.njit(cache=True, nogil=True)
def _fit(Z, y, w, n_trees, depth, learning_rate, min_leaf, fact):  # pragma: no cover - compiled
    q, k = Z.shape
    max_nodes = 2 ** (depth + 1) - 1
    feature = np.full((n_trees, max_nodes), -1, dtype=np.int64)
    child = np.zeros((n_trees, max_nodes, 2), dtype=np.int64)
    value = np.zeros((n_trees, max_nodes))
    parent = np.full(max_nodes, -1, dtype=np.int64)
    side_of = np.zeros(max_nodes, dtype=np.int64)
    fitted = np.zeros(q)
    phi = np.zeros(k)
    wsum = 0.0
    wy = 0.0
    for i in range(q):
        wsum += w[i]
        wy += w[i] * y[i]
    resid = y - wy / wsum
    idx = np.arange(q)
    st_start = np.empty(max_nodes, dtype=np.int64)
    st_end = np.empty(max_nodes, dtype=np.int64)
    st_node = np.empty(max_nodes, dtype=np.int64)
    st_level = np.empty(max_nodes, dtype=np.int64)
    # per node, over its coalitions holding player j: weight, weighted residual, count; a child's
    # are scanned for the smaller child only, the larger one's are its parent's minus those
    node_W1 = np.empty((max_nodes, k))
    node_R1 = np.empty((max_nodes, k))
    node_N1 = np.empty((max_nodes, k), dtype=np.int64)
    for t in range(n_trees):
        for i in range(q):
            idx[i] = i
        top = 0
        st_start[0] = 0
        st_end[0] = q
        st_node[0] = 0
        st_level[0] = 0
        n_nodes = 1
        while top >= 0:
            start = st_start[top]
            end = st_end[top]
            nid = st_node[top]
            level = st_level[top]
            top -= 1
            W = 0.0
            R = 0.0
            for p in range(start, end):
                i = idx[p]
                W += w[i]
                R += w[i] * resid[i]
            n = end - start
            best = -1
            if level < depth and n >= 2 * min_leaf and W > 0.0:
                if nid == 0:
                    _player_sums(Z, w, resid, idx, start, end, node_W1[0], node_R1[0], node_N1[0])
                W1 = node_W1[nid]
                R1 = node_R1[nid]
                N1 = node_N1[nid]
                base = R * R / W
                best_gain = 1e-12 * (abs(R) + 1e-300)
                for j in range(k):
                    W0 = W - W1[j]
                    if N1[j] >= min_leaf and n - N1[j] >= min_leaf and W1[j] > 0.0 and W0 > 0.0:
                        R0 = R - R1[j]
                        gain = R1[j] * R1[j] / W1[j] + R0 * R0 / W0 - base
                        if gain > best_gain:
                            best_gain = gain
                            best = j
            if best < 0:
                if W > 0.0 and R != 0.0:
                    v = learning_rate * R / W
                    value[t, nid] = v
                    for p in range(start, end):
                        i = idx[p]
                        resid[i] -= v
                        fitted[i] += v
                    # the leaf game: players on "1" branches present, on "0" branches absent
                    a = 0
                    b = 0
                    node = nid
                    while parent[node] >= 0:
                        if side_of[node] == 1:
                            a += 1
                        else:
                            b += 1
                        node = parent[node]
                    node = nid
                    while parent[node] >= 0:
                        j = feature[t, parent[node]]
                        if side_of[node] == 1:
                            phi[j] += v * fact[a - 1] * fact[b] / fact[a + b]
                        else:
                            phi[j] -= v * fact[a] * fact[b - 1] / fact[a + b]
                        node = parent[node]
                continue
            # partition [start, end): z_best = 0 first, then z_best = 1
            lo = start
            hi = end - 1
            while lo <= hi:
                if Z[idx[lo], best]:
                    tmp = idx[lo]
                    idx[lo] = idx[hi]
                    idx[hi] = tmp
                    hi -= 1
                else:
                    lo += 1
            feature[t, nid] = best
            if level + 1 < depth:  # the children may split: their per-player sums
                small, large = n_nodes, n_nodes + 1  # side 0 gets id n_nodes, side 1 the next
                s_start, s_end = start, lo
                if lo - start > end - lo:
                    small, large = large, small
                    s_start, s_end = lo, end
                _player_sums(Z, w, resid, idx, s_start, s_end, node_W1[small], node_R1[small], node_N1[small])
                for j in range(k):
                    node_W1[large, j] = node_W1[nid, j] - node_W1[small, j]
                    node_R1[large, j] = node_R1[nid, j] - node_R1[small, j]
                    node_N1[large, j] = node_N1[nid, j] - node_N1[small, j]
            for side in range(2):
                cid = n_nodes
                n_nodes += 1
                child[t, nid, side] = cid
                parent[cid] = nid
                side_of[cid] = side
                top += 1
                st_node[top] = cid
                st_level[top] = level + 1
                st_start[top] = start if side == 0 else lo
                st_end[top] = lo if side == 0 else end
    return feature, child, value, fitted, phi


@numba.njit(cache=True, nogil=True)
def _predict(Z, feature, child, value):  # pragma: no cover - compiled
    q = Z.shape[0]
    out = np.zeros(q)
    for t in range(feature.shape[0]):
        for i in range(q):
            node = 0
            while feature[t, node] >= 0:
                node = child[t, node, 1 if Z[i, feature[t, node]] else 0]
            out[i] += value[t, node]
    return out


@dataclass
class BoostedSurrogate:
    """A fitted sum of trees on coalition indicators, with its exact Shapley values.

    Attributes
    ----------
    feature, child, value : arrays (n_trees, nodes[, 2])
        Split player of each node (-1 at leaves), children for z = 0 / 1, leaf values.
    fitted : ndarray (q,)
        ``g`` on the training coalitions, without the constant.
    shapley : ndarray (k,)
        Exact Shapley values of ``g``.
    """

    feature: np.ndarray
    child: np.ndarray
    value: np.ndarray
    fitted: np.ndarray
    shapley: np.ndarray

    def __call__(self, Z: np.ndarray) -> np.ndarray:
        """``g(z)`` (without the constant) for coalitions ``Z`` (bool ``(q, k)``)."""
        return _predict(np.ascontiguousarray(Z, dtype=np.bool_), self.feature, self.child, self.value)


def fit_surrogate(
    Z: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    *,
    n_trees: int = 20,
    depth: int = 5,
    learning_rate: float = 0.25,
    min_leaf: int = 3,
) -> BoostedSurrogate:
    """Fit boosted trees to ``y`` (q,) over coalitions ``Z`` (bool (q, k)) with weights ``w`` (q,).

    Least-squares boosting with depth-limited trees; each split takes the player with the
    largest weighted reduction of squared error, with at least ``min_leaf`` coalitions per side.

    >>> Z = np.array([[a, b] for a in (0, 1) for b in (0, 1)] * 3, dtype=bool)
    >>> sur = fit_surrogate(Z, Z[:, 0] * 1.0, np.ones(12), n_trees=30, learning_rate=0.5, min_leaf=1)
    >>> np.round(sur.shapley, 6).tolist()
    [1.0, 0.0]
    """
    feature, child, value, fitted, phi = _fit(
        np.ascontiguousarray(Z, dtype=np.bool_).view(np.uint8),
        np.ascontiguousarray(y, dtype=np.float64),
        np.ascontiguousarray(w, dtype=np.float64),
        int(n_trees), int(depth), float(learning_rate), int(min_leaf), _FACT,
    )
    return BoostedSurrogate(feature, child, value, fitted, phi)
