"""Boosted regression trees on coalition indicators, with their exact Shapley values.

A surrogate ``g(z)`` of a game ``v`` is fitted to sampled coalitions ``z`` (0/1 vectors).
Each leaf of a tree on 0/1 features is reached exactly when the players in ``F1`` (the path's
"1" branches) are in the coalition and those in ``F0`` are not; the Shapley value of that
indicator game is ``(a-1)! b! / (a+b)!`` for each player of ``F1`` and ``-a! (b-1)! / (a+b)!``
for each of ``F0`` (``a = |F1|``, ``b = |F0|``). So the Shapley values of the surrogate are
exact and cheap: a sum over leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import numpy as np

__all__ = ["BoostedSurrogate", "fit_surrogate"]


@dataclass
class _Leaf:
    ones: tuple[int, ...]
    zeros: tuple[int, ...]
    value: float


@dataclass
class _Tree:
    feature: np.ndarray  # (nodes,) split player, -1 at a leaf
    child: np.ndarray  # (nodes, 2) node index for z = 0 and z = 1
    value: np.ndarray  # (nodes,) leaf values (0 at inner nodes)


@dataclass
class BoostedSurrogate:
    """A fitted sum of trees: its trees, its values on the training coalitions, its Shapley values."""

    trees: list[_Tree]
    fitted: np.ndarray  # g on the training coalitions, without the constant
    shapley: np.ndarray  # (k,)

    def __call__(self, Z: np.ndarray) -> np.ndarray:
        """``g(z)`` (without the constant) for coalitions ``Z`` (bool ``(q, k)``)."""
        out = np.zeros(Z.shape[0])
        rows = np.arange(Z.shape[0])
        for tree in self.trees:
            node = np.zeros(Z.shape[0], dtype=np.intp)
            while True:
                feat = tree.feature[node]
                inner = feat >= 0
                if not inner.any():
                    break
                step = Z[rows, np.maximum(feat, 0)].astype(np.intp)
                node = np.where(inner, tree.child[node, step], node)
            out += tree.value[node]
        return out


def _leaf_shapley(phi: np.ndarray, leaf: _Leaf) -> None:
    a, b = len(leaf.ones), len(leaf.zeros)
    if a:
        phi[list(leaf.ones)] += leaf.value * factorial(a - 1) * factorial(b) / factorial(a + b)
    if b:
        phi[list(leaf.zeros)] -= leaf.value * factorial(a) * factorial(b - 1) / factorial(a + b)


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

    Trees grow level by level: the split statistics of every node of a level come from one
    matrix product, so the cost per tree is ``depth`` products of ``(nodes, q) x (q, k)``.
    """
    q, k = Z.shape
    Zf = Z.astype(np.float64)
    resid = y - np.average(y, weights=w)
    fitted = np.zeros(q)
    trees: list[_Tree] = []
    phi = np.zeros(k)
    for _ in range(n_trees):
        feature: list[int] = [-1]
        children: list[list[int]] = [[-1, -1]]
        values: list[float] = [0.0]
        ids = [0]  # tree node id of each node of this level
        act = np.arange(q)  # samples still in an inner node
        node = np.zeros(q, dtype=np.intp)  # their node at this level
        paths: list[tuple[tuple[int, ...], tuple[int, ...]]] = [((), ())]
        for level in range(depth + 1):
            n_nodes = len(paths)
            wa, ra, za = w[act], resid[act], Zf[act]
            W = np.bincount(node, weights=wa, minlength=n_nodes)
            R = np.bincount(node, weights=wa * ra, minlength=n_nodes)
            N = np.bincount(node, minlength=n_nodes)
            split = np.full(n_nodes, -1)
            if level < depth:
                onehot = np.zeros((n_nodes, act.size))
                onehot[node, np.arange(act.size)] = 1.0
                W1 = (onehot * wa) @ za
                R1 = (onehot * (wa * ra)) @ za
                N1 = onehot @ za
                W0, R0 = W[:, None] - W1, R[:, None] - R1
                ok = (N1 >= min_leaf) & (N[:, None] - N1 >= min_leaf) & (W1 > 0) & (W0 > 0)
                with np.errstate(divide="ignore", invalid="ignore"):
                    base = np.where(W > 0, R**2 / np.where(W > 0, W, 1.0), 0.0)
                    gain = np.where(ok, R1**2 / W1 + R0**2 / W0 - base[:, None], -np.inf)
                best = gain.argmax(axis=1)
                good = gain[np.arange(n_nodes), best] > 1e-12 * (np.abs(R) + 1e-300)
                split = np.where(good, best, -1)
            new_paths: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
            new_ids: list[int] = []
            child = np.full((n_nodes, 2), -1)
            for t in range(n_nodes):
                ones, zeros = paths[t]
                if split[t] < 0:
                    if N[t] and W[t] > 0 and R[t] != 0.0:
                        leaf = _Leaf(ones, zeros, float(learning_rate * R[t] / W[t]))
                        values[ids[t]] = leaf.value
                        _leaf_shapley(phi, leaf)
                        members = act[node == t]
                        fitted[members] += leaf.value
                        resid[members] -= leaf.value
                    continue
                j = int(split[t])
                feature[ids[t]] = j
                for side, path in ((0, (ones, zeros + (j,))), (1, (ones + (j,), zeros))):
                    child[t, side] = len(new_paths)
                    children[ids[t]][side] = len(feature)
                    new_ids.append(len(feature))
                    feature.append(-1)
                    children.append([-1, -1])
                    values.append(0.0)
                    new_paths.append(path)
            if not new_paths:
                break
            inner = split[node] >= 0
            act, node = act[inner], node[inner]
            node = child[node, Z[act, split[node]].astype(np.intp)]
            paths, ids = new_paths, new_ids
        trees.append(_Tree(np.array(feature), np.array(children, dtype=np.intp), np.array(values)))
    return BoostedSurrogate(trees=trees, fitted=fitted, shapley=phi)
