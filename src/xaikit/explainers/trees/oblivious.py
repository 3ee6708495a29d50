"""Path-dependent TreeSHAP of oblivious trees (CatBoost's symmetric trees) by table lookup.

In an oblivious tree every node of a level splits on the same feature at the same threshold, with
the same missing-value direction. A row's decision at a node then depends only on the node's
level, so the row's decisions at *all* the nodes of the tree (what path-dependent TreeSHAP reads:
the branch the row takes and the cover-weighted others) are fixed by one bit per level: the code
of the leaf it reaches. Two rows with the same code have the same values in that tree.

So the values of each tree are computed once per code, on one representative row per code (by
the same kernel as every other tree), and a row's values are the sum over trees of the entries of
its codes: ``n_rows x n_trees x depth`` comparisons and additions instead of a walk of every tree
per row. A code no row can reach (two contradictory splits on one feature) has no representative
and no entry; a row's code is always reachable. The values equal the kernel's on the rows
themselves (tested to 1e-12).

A representative row of a code takes, for each feature split in the tree, a value between the
thresholds its bits require (a threshold itself where the comparison includes it; a model that rounds
its inputs to float32 has float32 thresholds, else no lookup is made), or NaN where the bits are those of a missing value; features not split
in the tree are 0 (the tree ignores them).
"""

from __future__ import annotations

import numba
import numpy as np

from xaikit.explainers.trees import _kernels as kernels
from xaikit.models.trees import MISSING_NAN, TreeEnsemble

__all__ = ["ObliviousTables", "oblivious_tables"]

#: The most levels a tree of the lookup may have (2**depth representative rows each).
MAX_DEPTH = 12
#: Tables kept for the last ensembles seen, by content (:meth:`TreeEnsemble.content_key`), so that a
#: model explained again (a new explainer, ``xk.explain``) reuses them, as workers keep an ensemble.
_KEPT = 4
_kept: dict[str, ObliviousTables | None] = {}


class ObliviousTables:
    """For each tree: its levels' splits and, per leaf code, the values of the features it splits on.

    Attributes
    ----------
    feature, threshold, missing_left : (n_trees, depth) arrays, the split of each level (feature -1
        past a tree's own depth)
    features : list of int arrays, the distinct features each tree splits on
    tables : list of (2**depth, len(features[t]), n_outputs) arrays
    """

    def __init__(self, ens: TreeEnsemble, feature: np.ndarray, threshold: np.ndarray, missing_left: np.ndarray,
                 leaves: np.ndarray) -> None:
        self.ens, self.feature, self.threshold, self.missing_left = ens, feature, threshold, missing_left
        #: The value of the leaf each code reaches, ``(n_trees, 2**depth, n_outputs)`` (0 past a tree's depth).
        self.leaf_values = np.where((leaves >= 0)[:, :, None], ens.value[np.maximum(leaves, 0)], 0.0)
        self.features: list[np.ndarray] = []
        self.tables: list[np.ndarray] = []
        self._flat: tuple[np.ndarray, ...] | None = None
        cols = kernels.tree_columns(ens.roots, ens.left, ens.right, ens.value)
        qn, qw = kernels.quadrature(ens.max_depth)
        routing = ens._routing()
        for t in range(ens.roots.shape[0]):
            depth = int((feature[t] >= 0).sum())
            used = np.unique(feature[t, :depth])
            rows = _representatives(feature[t], threshold[t], missing_left[t], depth, bool(ens.strict), ens.n_features)
            phi = np.zeros((rows.shape[0], ens.n_features, ens.n_outputs))
            kernels.path_dependent(rows, ens.roots[t : t + 1], ens.depths[t : t + 1], cols[t : t + 1], ens.value,
                                   ens.cover, qn, qw, *routing, phi)
            self.features.append(used)
            self.tables.append(np.ascontiguousarray(phi[:, used, :]))

    def codes(self, X: np.ndarray, trees: slice = slice(None)) -> np.ndarray:
        """The leaf code of every row in every tree (of ``trees``), ``(n, n_trees)``."""
        feature, threshold, missing_left = self.feature[trees], self.threshold[trees], self.missing_left[trees]
        out = np.zeros((X.shape[0], feature.shape[0]), dtype=np.int64)
        for level in range(feature.shape[1]):
            f = feature[:, level]
            active = f >= 0
            x = X[:, np.where(active, f, 0)]
            if self.ens.input_float32:
                with np.errstate(over="ignore"):  # beyond float32's range: infinite, as the library rounds it
                    x = x.astype(np.float32).astype(np.float64)
            thr = threshold[:, level]
            with np.errstate(invalid="ignore"):
                right = (x >= thr) if self.ens.strict else (x > thr)
            right = np.where(np.isnan(x), ~missing_left[:, level], right) & active
            out |= right.astype(np.int64) << level
        return out


    def values(self, X: np.ndarray) -> np.ndarray:
        """Path-dependent TreeSHAP values ``(n, n_features, n_outputs)`` of the rows of ``X`` (prepared)."""
        return self.values_and_margins(X)[0]

    def values_and_margins(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The values, and the rows' raw margins ``(n, n_outputs)`` (the base offset plus their leaves)."""
        if self._flat is None:
            sizes = np.array([table.size for table in self.tables], dtype=np.int64)
            counts = np.array([used.size for used in self.features], dtype=np.int64)
            self._flat = (
                np.concatenate([used.astype(np.int64) for used in self.features]) if counts.sum() else np.zeros(0, np.int64),
                np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
                np.concatenate([table.ravel() for table in self.tables]) if sizes.sum() else np.zeros(0),
                np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
            )
        phi = np.zeros((X.shape[0], self.ens.n_features, self.ens.n_outputs))
        raw = np.tile(np.asarray(self.ens.base_offset, dtype=np.float64), (X.shape[0], 1))
        _lookup(X, self.feature, self.threshold, self.missing_left, bool(self.ens.strict), bool(self.ens.input_float32),
                *self._flat, self.leaf_values, phi, raw)
        return phi, raw


@numba.njit(cache=True, nogil=True)
def _levels(roots, left, right, feature, threshold, missing_left, depth):  # pragma: no cover - compiled
    """``(ok, feature, threshold, missing_left, leaves)`` of each tree's levels ``(n_trees, depth)``: ``ok`` when
    every tree is complete and each of its levels one split shared by all its nodes; ``leaves`` the leaf
    reached by each code (bit ``l`` set: right at level ``l``), ``(n_trees, 2**depth)``."""
    n_trees = roots.shape[0]
    leaves = np.full((n_trees, 1 << depth), -1, dtype=np.int64)
    feat = np.full((n_trees, depth), -1, dtype=np.int64)
    thr = np.zeros((n_trees, depth))
    miss = np.zeros((n_trees, depth), dtype=np.bool_)
    nodes = np.empty(1 << depth, dtype=np.int64)
    below = np.empty(1 << depth, dtype=np.int64)
    for t in range(n_trees):
        nodes[0] = roots[t]
        count = 1
        level = 0
        while left[nodes[0]] >= 0:
            if level >= depth:
                return False, feat, thr, miss, leaves
            f, cut, ml = feature[nodes[0]], threshold[nodes[0]], missing_left[nodes[0]]
            for k in range(count):
                node = nodes[k]
                if left[node] < 0 or feature[node] != f or threshold[node] != cut or missing_left[node] != ml:
                    return False, feat, thr, miss, leaves
                below[2 * k] = left[node]
                below[2 * k + 1] = right[node]
            feat[t, level], thr[t, level], miss[t, level] = f, cut, ml
            count *= 2
            nodes[:count] = below[:count]
            level += 1
        for k in range(count):
            if left[nodes[k]] >= 0:
                return False, feat, thr, miss, leaves
            code = 0  # the nodes of a level are in order of the earlier levels' decisions, the first level's the slowest
            for lv in range(level):
                if (k >> (level - 1 - lv)) & 1:
                    code |= 1 << lv
            leaves[t, code] = nodes[k]
    return True, feat, thr, miss, leaves


@numba.njit(cache=True, nogil=True)
def _representatives(feature, threshold, missing_left, depth, strict, n_features):  # pragma: no cover - compiled
    """One row per leaf code ``c`` of a tree (bit ``l`` set: right at level ``l``): for each feature split
    in the tree, a value between the thresholds the code's bits require (NaN where no number takes
    them: the bits of a missing value, or no row at all); other features 0."""
    n_codes = 1 << depth
    rows = np.zeros((n_codes, n_features))
    for c in range(n_codes):
        for level in range(depth):
            f = feature[level]
            done = False
            for earlier in range(level):
                if feature[earlier] == f:
                    done = True
            if done:
                continue
            lo, hi = -np.inf, np.inf
            for lv in range(level, depth):
                if feature[lv] == f:
                    if (c >> lv) & 1:
                        lo = max(lo, threshold[lv])
                    else:
                        hi = min(hi, threshold[lv])
            if lo < hi:  # non-strict: lo < x <= hi; strict (x < t goes left): lo <= x < hi
                if strict:
                    value = lo if np.isfinite(lo) else hi - max(1.0, abs(hi))
                else:
                    value = hi if np.isfinite(hi) else lo + max(1.0, abs(lo))
                rows[c, f] = value if np.isfinite(value) else 0.0
            else:
                rows[c, f] = np.nan
    return rows


@numba.njit(cache=True, nogil=True)
def _lookup(X, feature, threshold, missing_left, strict, f32, feat_flat, feat_off, tab_flat, tab_off, leaf_values, phi, raw):  # pragma: no cover - compiled
    n, n_out = X.shape[0], phi.shape[2]
    n_trees, depth = feature.shape
    for i in range(n):
        for t in range(n_trees):
            code = 0
            for level in range(depth):
                f = feature[t, level]
                if f < 0:
                    break
                x = X[i, f]
                if np.isnan(x):
                    right = not missing_left[t, level]
                else:
                    if f32:
                        x = np.float64(np.float32(x))
                    right = x >= threshold[t, level] if strict else x > threshold[t, level]
                if right:
                    code |= 1 << level
            for o in range(n_out):
                raw[i, o] += leaf_values[t, code, o]
            k0 = feat_off[t]
            k = feat_off[t + 1] - k0
            base = tab_off[t] + code * k * n_out
            for j in range(k):
                f = feat_flat[k0 + j]
                for o in range(n_out):
                    phi[i, f, o] += tab_flat[base + j * n_out + o]


def oblivious_tables(ens: TreeEnsemble) -> ObliviousTables | None:
    """The lookup tables of ``ens`` when every tree is oblivious (complete, each level one numeric split
    with NaN as its missing value), at most :data:`MAX_DEPTH` deep; None otherwise. The tables of the
    last few ensembles are kept by content and reused.

    Examples
    --------
    >>> ens = TreeEnsemble.from_arrays(roots=[0], left=[1, -1, -1], right=[2, -1, -1], feature=[0, -1, -1],
    ...                                threshold=[0.5, 0.0, 0.0], value=[[0.0], [1.0], [3.0]], cover=[2.0, 1.0, 1.0], n_features=1)
    >>> tables = oblivious_tables(ens)
    >>> np.round(tables.values(np.array([[0.0], [1.0]]))[:, 0, 0], 12).tolist()
    [-1.0, 1.0]
    """
    if ens.categorical.any() or (ens.missing_kind != MISSING_NAN).any() or ens.max_depth > MAX_DEPTH:
        return None
    key = ens.content_key()
    if key not in _kept:
        if len(_kept) >= _KEPT:
            _kept.pop(next(iter(_kept)))
        _kept[key] = _build(ens)
    return _kept[key]


def _build(ens: TreeEnsemble) -> ObliviousTables | None:
    ok, feature, threshold, missing_left, leaves = _levels(ens.roots, ens.left, ens.right, ens.feature, ens.threshold,
                                                           ens.missing_left, max(ens.max_depth, 1))
    if not ok:
        return None
    if ens.input_float32 and (threshold != threshold.astype(np.float32)).any():
        return None  # a representative row at a threshold would be rounded to another value
    return ObliviousTables(ens, feature, threshold, missing_left, leaves)
