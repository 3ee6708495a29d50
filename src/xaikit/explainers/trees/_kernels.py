"""Compiled TreeSHAP kernels over :class:`~xaikit.models.trees.TreeEnsemble` arrays.

Path-dependent values
    For a leaf with value ``v`` whose path splits on the distinct features ``U``, let ``z_j`` be the
    product of the cover fractions of the path's edges on feature ``j`` and ``o_j`` whether the row
    follows all of them. The leaf's game is ``v * prod_{j in S} o_j * prod_{j not in S} z_j`` and its
    Shapley value for ``i in U`` is::

        v * (o_i - z_i) * integral_0^1 prod_{j in U, j != i} (z_j (1 - t) + o_j t) dt

    (the Shapley weight ``s! (m-s-1)! / m!`` is a Beta integral). The integrand is a polynomial of
    degree ``< depth``, so Gauss-Legendre quadrature on ``ceil(depth / 2)`` nodes is exact. One
    depth-first pass per tree carries the path product at the quadrature nodes down, sums
    ``v * product`` over leaves back up, and credits each edge once: ``O(nodes * depth / 2)`` per
    row and tree, memory bounded by the depth. Blocks of 32 rows share each walk: the row-independent
    factors of an edge are worked out once per block on the way down, the arithmetic runs over the
    rows of the block, and the ensemble is read once per block (not once per row).

Interventional values
    For a row ``x`` and one background row ``b`` the game ``f(x_S, b_-S)`` of a tree reaches a leaf
    iff the features where ``x`` and ``b`` part ways on its path are split into those taking ``x``'s
    side (``A``) and those taking ``b``'s side (``C``), consistently; that leaf credits
    ``v (|A|-1)! |C|! / (|A|+|C|)!`` to each of ``A`` and ``-v |A|! (|C|-1)! / (|A|+|C|)!`` to each of ``C``.
    For trees whose paths have at most 8 distinct features (margin output), the credits of all
    background rows are tabulated per leaf and per row mask once (:func:`leaf_mask_plan`), so a row
    costs one pass over the tree; deeper trees (and a link) walk the tree per background row.

Interaction values (path-dependent)
    ``phi_ij = v (o_i - z_i)(o_j - z_j) / 2 * integral prod_{k != i, j} (...) dt`` per leaf for
    ``i != j``, and ``phi_ii = phi_i - sum_{j != i} phi_ij``. Enumerated at each leaf over the pairs of
    the path's distinct features, for a block of rows at once (as the path-dependent values).
"""

from __future__ import annotations

import functools
from math import factorial

import numba
import numpy as np

from xaikit.models.trees import _ZERO_BAND, MISSING_NONE, MISSING_ZERO, _go_left

__all__ = ["interactions", "interventional", "pair_weights", "path_dependent", "quadrature", "tree_columns"]


def quadrature(max_depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1] for 1..ceil(max_depth/2) points.

    Row ``g - 1`` holds the ``g``-point rule (padded with zeros); weights sum to 1.

    >>> t, w = quadrature(6)
    >>> t.shape, round(float(w[2].sum()), 12)
    ((3, 3), 1.0)
    """
    n = max(1, (max_depth + 1) // 2)
    nodes = np.zeros((n, n))
    weights = np.zeros((n, n))
    for g in range(1, n + 1):
        x, w = np.polynomial.legendre.leggauss(g)
        nodes[g - 1, :g] = (x + 1.0) / 2.0
        weights[g - 1, :g] = w / 2.0
    return nodes, weights


@functools.lru_cache(maxsize=64)
def pair_weights(max_depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Shapley weights of the single-reference leaf game: ``(a-1)! c! / (a+c)!`` and ``a! (c-1)! / (a+c)!``
    (computed once per depth; the arrays are read-only)."""
    n = max_depth + 2
    wa = np.zeros((n, n))
    wc = np.zeros((n, n))
    for a in range(n):
        for c in range(n):
            if a + c == 0:
                continue
            if a > 0:
                wa[a, c] = factorial(a - 1) * factorial(c) / factorial(a + c)
            if c > 0:
                wc[a, c] = factorial(a) * factorial(c - 1) / factorial(a + c)
    wa.setflags(write=False)
    wc.setflags(write=False)
    return wa, wc


def tree_columns(roots: np.ndarray, left: np.ndarray, right: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Per tree, the only output column its leaves touch, or -1 when several are non-zero."""
    return _tree_columns(roots, left, right, value)


@numba.njit(cache=True, nogil=True)
def _tree_columns(roots, left, right, value):  # pragma: no cover - compiled
    o = value.shape[1]
    out = np.full(roots.shape[0], -1, dtype=np.int64)
    if o == 1:
        out[:] = 0
        return out
    stack = np.empty(left.shape[0] + 1, dtype=np.int64)
    for t in range(roots.shape[0]):
        col = -2
        top = 0
        stack[0] = roots[t]
        while top >= 0:
            node = stack[top]
            top -= 1
            if left[node] >= 0:
                top += 1
                stack[top] = left[node]
                top += 1
                stack[top] = right[node]
            else:
                for k in range(o):
                    if value[node, k] != 0.0:
                        if col == -2 or col == k:
                            col = k
                        else:
                            col = -1
        out[t] = 0 if col == -2 else col
    return out


# ---------------------------------------------------------------------- path-dependent
@numba.njit(cache=True, nogil=True)
def _off_path_factors(qnodes, qweights):  # pragma: no cover - compiled
    """An edge the row does not follow has the factor ``z (1 - t)``: per rule size ``G`` (row
    ``G - 1``) the tables of ``1 - t``, ``1 / (1 - t)`` and ``w / (1 - t)`` at its nodes."""
    gmax = qnodes.shape[0]
    omt = np.zeros((gmax, gmax))
    iomt = np.zeros((gmax, gmax))
    cold = np.zeros((gmax, gmax))
    for G in range(1, gmax + 1):
        for g in range(G):
            omt[G - 1, g] = 1.0 - qnodes[G - 1, g]
            iomt[G - 1, g] = 1.0 / (1.0 - qnodes[G - 1, g])
            cold[G - 1, g] = qweights[G - 1, g] / (1.0 - qnodes[G - 1, g])
    return omt, iomt, cold


@numba.njit(cache=True, nogil=True)
def path_dependent(X, roots, depths, tree_col, value, cover, qnodes, qweights, left, right, feature, threshold,
                   missing_left, missing_kind, categorical, cat_offset, cat_len, cat_bits, strict,
                   cat_flags, phi):  # pragma: no cover - compiled
    """Writes the values of the rows of ``X`` into ``phi`` (n, d, o) (every entry) and returns it."""
    n, d = X.shape
    o = value.shape[1]
    R = 32  # rows walked through a tree together: the walk is shared, the arithmetic runs over rows
    max_levels = depths.max() + 2
    gmax = qnodes.shape[0]
    node_at = np.empty(max_levels, dtype=np.int64)
    state = np.zeros(max_levels, dtype=np.int64)
    feat = np.empty(max_levels, dtype=np.int64)
    prev = np.empty(max_levels, dtype=np.int64)
    has_s = np.zeros(max_levels, dtype=np.bool_)
    last = np.full(d, -1, dtype=np.int64)  # deepest level whose incoming edge splits on each feature
    # the row-independent factors of each level's incoming edge, worked out on the way down (shared by
    # the block's rows): z, the product of the cover fractions of the path's edges on its feature;
    # g1 = z + (1 - z) t_g, the factor when the row follows all of them; and 1 / g1
    zl = np.ones(max_levels)
    g1l = np.ones((max_levels, gmax))
    ig1l = np.ones((max_levels, gmax))
    on_at = np.zeros((max_levels, R))  # 1.0 where the row follows every edge on the feature so far
    went_left = np.zeros((max_levels, R))
    P = np.empty((max_levels, gmax, R))
    # zero-filled once: stale entries are finite, so "0 * stale" below clears them without branches
    H = np.zeros((max_levels, gmax, o, R))
    S = np.zeros((max_levels, gmax, o, R))
    acc = np.empty(R)
    block = np.zeros((d, o, R))  # the block's values, rows last: one cache line holds 8 rows
    omt, iomt, cold = _off_path_factors(qnodes, qweights)
    for r0 in range(0, n, R):
        nr = min(R, n - r0)
        for t in range(roots.shape[0]):
            root = roots[t]
            if left[root] < 0:
                continue
            G = max(1, (depths[t] + 1) // 2)
            tn = qnodes[G - 1]
            tw = qweights[G - 1]
            tc = cold[G - 1]
            om = omt[G - 1]
            iom = iomt[G - 1]
            col = tree_col[t]
            k0 = max(col, 0)
            k1 = o if col < 0 else col + 1
            level = 0
            node_at[0] = root
            state[0] = 0
            for g in range(G):
                for r in range(nr):
                    P[0, g, r] = 1.0
            while True:
                node = node_at[level]
                if left[node] < 0:
                    for g in range(G):
                        for k in range(k0, k1):
                            v = value[node, k]
                            for r in range(nr):
                                H[level, g, k, r] = v * P[level, g, r]
                    st = 2
                else:
                    st = state[level]
                    if st == 0:
                        fx = feature[node]
                        for r in range(nr):
                            went_left[level, r] = 1.0 if _go_left(
                                X[r0 + r, fx], node, threshold, missing_left, missing_kind, categorical, cat_offset,
                                cat_len, cat_bits, strict, cat_flags) else 0.0
                if st < 2:
                    state[level] = st + 1
                    child = left[node] if st == 0 else right[node]
                    f = feature[node]
                    p = last[f]
                    nl = level + 1
                    for r in range(nr):
                        w = went_left[level, r] if st == 0 else 1.0 - went_left[level, r]
                        on_at[nl, r] = w * on_at[p, r] if p >= 0 else w
                    node_at[nl] = child
                    state[nl] = 0
                    feat[nl] = f
                    prev[nl] = p
                    has_s[nl] = False
                    last[f] = nl
                    c = cover[node]
                    zc = cover[child] / c if c > 0.0 else 0.0
                    if p >= 0:
                        zc *= zl[p]
                    zl[nl] = zc
                    for g in range(G):
                        v = zc + (1.0 - zc) * tn[g]
                        g1l[nl, g] = v
                        ig1l[nl, g] = 1.0 / v
                    if p >= 0:
                        zp = zl[p]
                        izp = 1.0 / zp if zp > 0.0 else 0.0
                        for g in range(G):
                            a1 = g1l[nl, g]
                            a0 = zc * om[g]
                            b1 = ig1l[p, g]
                            b0 = izp * iom[g]
                            for r in range(nr):
                                on = on_at[nl, r]
                                onp = on_at[p, r]
                                gv = a0 + on * (a1 - a0)
                                ip = b0 + onp * (b1 - b0)
                                P[nl, g, r] = P[level, g, r] * gv * ip
                    else:
                        for g in range(G):
                            a1 = g1l[nl, g]
                            a0 = zc * om[g]
                            for r in range(nr):
                                P[nl, g, r] = P[level, g, r] * (a0 + on_at[nl, r] * (a1 - a0))
                    level = nl
                    continue
                # node finished: credit its incoming edge, pass H up
                if level == 0:
                    break
                f = feat[level]
                zc = zl[level]
                izc = 1.0 / zc if zc > 0.0 else 0.0
                sm = 1.0 if has_s[level] else 0.0
                for k in range(k0, k1):
                    for r in range(nr):
                        acc[r] = 0.0
                    for g in range(G):
                        c1 = tw[g] * ig1l[level, g]
                        c0 = tc[g] * izc
                        for r in range(nr):
                            on = on_at[level, r]
                            acc[r] += (c0 + on * (c1 - c0)) * (H[level, g, k, r] - sm * S[level, g, k, r])
                    for r in range(nr):
                        block[f, k, r] += (on_at[level, r] - zc) * acc[r]
                up = level - 1
                p = prev[level]
                keep = 0.0 if state[up] == 1 else 1.0  # after the left child, H starts the parent's sum
                for g in range(G):
                    for k in range(k0, k1):
                        for r in range(nr):
                            H[up, g, k, r] = keep * H[up, g, k, r] + H[level, g, k, r]
                if p >= 0:
                    sp = 1.0 if has_s[p] else 0.0
                    has_s[p] = True
                    for g in range(G):
                        for k in range(k0, k1):
                            for r in range(nr):
                                S[p, g, k, r] = sp * S[p, g, k, r] + H[level, g, k, r]
                last[f] = p
                level = up
        for f in range(d):
            for k in range(o):
                for r in range(nr):
                    phi[r0 + r, f, k] = block[f, k, r]
                    block[f, k, r] = 0.0
    return phi


# ---------------------------------------------------------------------- interactions
@numba.njit(cache=True, nogil=True)
def interactions(X, roots, depths, tree_col, value, cover, qnodes, qweights, left, right, feature, threshold,
                 missing_left, missing_kind, categorical, cat_offset, cat_len, cat_bits, strict,
                 cat_flags, out):  # pragma: no cover - compiled
    """Writes the interaction values of the rows of ``X`` into ``out`` (n, d, d, o) (every entry) and
    returns it."""
    n, d = X.shape
    o = value.shape[1]
    # rows walked through a tree together; their pair sums (d * d * o * R values) stay within about 1 MB
    R = min(32, max(4, 131072 // max(1, d * d * o)))
    max_levels = depths.max() + 2
    gmax = qnodes.shape[0]
    node_at = np.empty(max_levels, dtype=np.int64)
    state = np.zeros(max_levels, dtype=np.int64)
    feat = np.empty(max_levels, dtype=np.int64)
    prev = np.empty(max_levels, dtype=np.int64)
    active = np.ones(max_levels, dtype=np.bool_)  # the deepest edge on its feature so far
    act = np.empty(max_levels, dtype=np.int64)
    last = np.full(d, -1, dtype=np.int64)
    zl = np.ones(max_levels)  # row-independent: product of the cover fractions on the edge's feature
    on_at = np.zeros((max_levels, R))  # 1.0 where the row follows every edge on the feature so far
    dz = np.zeros((max_levels, R))  # o - z
    went_left = np.zeros((max_levels, R))
    P = np.empty((max_levels, gmax, R))  # product of the path's factors z (1 - t) + o t
    ig = np.empty((max_levels, gmax, R))  # 1 / factor of the level's edge (0 where the factor is 0)
    W = np.empty((gmax, R))
    s1 = np.empty(R)
    main_flat = np.zeros(d * o * R)
    block_flat = np.zeros(d * d * o * R)  # the block's pair values, rows last (a short block packed tight)
    omt, iomt, _ = _off_path_factors(qnodes, qweights)
    for r0 in range(0, n, R):
        nr = min(R, n - r0)
        main = main_flat[: d * o * nr].reshape((d, o, nr))
        block = block_flat[: d * d * o * nr].reshape((d, d, o, nr))
        for t in range(roots.shape[0]):
            root = roots[t]
            if left[root] < 0:
                continue
            G = max(1, (depths[t] + 1) // 2)
            tn = qnodes[G - 1]
            tw = qweights[G - 1]
            om = omt[G - 1]
            iom = iomt[G - 1]
            col = tree_col[t]
            k0 = max(col, 0)
            k1 = o if col < 0 else col + 1
            level = 0
            node_at[0] = root
            state[0] = 0
            for g in range(G):
                for r in range(nr):
                    P[0, g, r] = 1.0
            while True:
                node = node_at[level]
                if left[node] < 0:
                    na = 0
                    for lv in range(1, level + 1):
                        if active[lv]:
                            act[na] = lv
                            na += 1
                    for a in range(na):
                        la = act[a]
                        fa = feat[la]
                        for r in range(nr):
                            s1[r] = 0.0
                        for g in range(G):
                            for r in range(nr):
                                w = tw[g] * P[level, g, r] * ig[la, g, r]
                                W[g, r] = w
                                s1[r] += w
                        for k in range(k0, k1):
                            v = value[node, k]
                            for r in range(nr):
                                main[fa, k, r] += v * dz[la, r] * s1[r]
                        for b in range(a + 1, na):
                            lb = act[b]
                            fb = feat[lb]
                            if nr < 8:  # a short block: row by row, the sum in a register (same operations)
                                for r in range(nr):
                                    sr = 0.0
                                    for g in range(G):
                                        sr += W[g, r] * ig[lb, g, r]
                                    for k in range(k0, k1):
                                        cv = 0.5 * value[node, k] * dz[la, r] * dz[lb, r] * sr
                                        block[fa, fb, k, r] += cv
                                        block[fb, fa, k, r] += cv
                                continue
                            for r in range(nr):
                                s1[r] = 0.0
                            for g in range(G):
                                for r in range(nr):
                                    s1[r] += W[g, r] * ig[lb, g, r]
                            for k in range(k0, k1):
                                v = 0.5 * value[node, k]
                                for r in range(nr):
                                    cv = v * dz[la, r] * dz[lb, r] * s1[r]
                                    block[fa, fb, k, r] += cv
                                    block[fb, fa, k, r] += cv
                    st = 2
                else:
                    st = state[level]
                    if st == 0:
                        fx = feature[node]
                        for r in range(nr):
                            went_left[level, r] = 1.0 if _go_left(
                                X[r0 + r, fx], node, threshold, missing_left, missing_kind, categorical, cat_offset,
                                cat_len, cat_bits, strict, cat_flags) else 0.0
                if st < 2:
                    state[level] = st + 1
                    child = left[node] if st == 0 else right[node]
                    f = feature[node]
                    p = last[f]
                    nl = level + 1
                    c = cover[node]
                    zc = cover[child] / c if c > 0.0 else 0.0
                    if p >= 0:
                        zc *= zl[p]
                        active[p] = False
                    zl[nl] = zc
                    izc = 1.0 / zc if zc > 0.0 else 0.0
                    for r in range(nr):
                        w = went_left[level, r] if st == 0 else 1.0 - went_left[level, r]
                        on = w * on_at[p, r] if p >= 0 else w
                        on_at[nl, r] = on
                        dz[nl, r] = on - zc
                    for g in range(G):
                        a1 = zc + (1.0 - zc) * tn[g]  # the row follows: factor z (1 - t) + t >= t > 0
                        a0 = zc * om[g]  # it does not: z (1 - t)
                        b1 = 1.0 / a1
                        b0 = izc * iom[g]
                        for r in range(nr):
                            on = on_at[nl, r]
                            gv = a0 + on * (a1 - a0)
                            ig[nl, g, r] = b0 + on * (b1 - b0)
                            if p >= 0:
                                P[nl, g, r] = P[level, g, r] * gv * ig[p, g, r]
                            else:
                                P[nl, g, r] = P[level, g, r] * gv
                    node_at[nl] = child
                    state[nl] = 0
                    feat[nl] = f
                    prev[nl] = p
                    active[nl] = True
                    last[f] = nl
                    level = nl
                    continue
                if level == 0:
                    break
                p = prev[level]
                if p >= 0:
                    active[p] = True
                last[feat[level]] = p
                level -= 1
        for r in range(nr):
            for i in range(d):
                for k in range(o):
                    s = main[i, k, r]
                    for j in range(d):
                        if j != i:
                            v = block[i, j, k, r]
                            out[r0 + r, i, j, k] = v
                            s -= v
                    out[r0 + r, i, i, k] = s
        main_flat[: d * o * nr] = 0.0
        block_flat[: d * d * o * nr] = 0.0
    return out


# ---------------------------------------------------------------------- interventional
@numba.njit(cache=True, nogil=True)
def interventional(X, dirB, raw_x, raw_b, y, transform_kind, inv_nb, do_tables, do_walks, roots, depths, tree_col, value, wa, wc, use_tree,
                   leaf_start, leaf_m, leaf_feat, table_start, table, left, right, feature, threshold, missing_left,
                   missing_kind, categorical, cat_offset, cat_len, cat_bits, strict,
                   cat_flags, node_lo, node_hi, phi):  # pragma: no cover - compiled
    """Adds the values of the rows of ``X`` to ``phi`` (n, d, o) (zeros: the values) and returns it.

    ``transform_kind``: 0 identity (margin), 1 logistic, 2 exp, 3 the log loss of a logistic
    margin against the labels ``y`` (n, o), 4 the squared error of the margin against ``y``: each
    background row's margin values scaled by the change of that function over the change of the
    margin (its slope at the row's margin where the two margins are equal). ``inv_nb``: the weight
    of one background row (1 / the whole background's size: a chunk of it may be given);
    ``do_tables`` / ``do_walks``: whether to add the trees tabulated per leaf (``use_tree``,
    margin only) / the trees walked per background row. ``dirB[node, b]`` is the go-left
    flag of each node for the background rows; ``node_lo:node_hi`` holds every node of the trees
    in ``roots`` (a group of trees may be given). For each explained row, trees are taken one at a
    time with every background row (the tree's flags stay in cache); memory: one row of flags and,
    for a link, the per-background-row margin values of the row."""
    n, d = X.shape
    nb = dirB.shape[1]
    o = value.shape[1]
    max_levels = depths.max() + 2
    linked = transform_kind != 0
    pair = np.zeros((nb if linked else 1, d, o))
    assign = np.zeros(d, dtype=np.int64)  # 0 free, 1 x-side, 2 b-side
    alist = np.empty(max_levels, dtype=np.int64)
    cap = max_levels + 2  # at most one pending branch per level
    s_node = np.empty(cap, dtype=np.int64)
    s_len = np.empty(cap, dtype=np.int64)
    s_feat = np.empty(cap, dtype=np.int64)
    s_a = np.empty(cap, dtype=np.int64)
    s_c = np.empty(cap, dtype=np.int64)
    scale = np.empty(o)
    n_nodes = left.shape[0]
    dx = np.zeros(n_nodes, dtype=np.bool_)
    any_walk = linked
    if not linked and do_tables:
        for t in range(roots.shape[0]):
            if not use_tree[t]:
                any_walk = True
                continue
            # a shallow tree: per-leaf tables hold every background row's credit for each row mask; the
            # tree's tables stay in cache while every row goes through it
            col = tree_col[t]
            k0 = max(col, 0)
            k1 = o if col < 0 else col + 1
            for r in range(n):
                top = 0
                s_node[0] = roots[t]
                s_len[0] = 0  # level
                s_a[0] = 0  # distinct features so far
                s_c[0] = 0  # mask of the features whose conditions the row fails
                while top >= 0:
                    node = s_node[top]
                    lv = s_len[top]
                    kk = s_a[top]
                    fail = s_c[top]
                    top -= 1
                    if left[node] >= 0:
                        f = feature[node]
                        bit = -1
                        for j in range(lv):
                            if alist[j] == f:
                                bit = s_feat[j]
                                break
                        nk = kk
                        if bit < 0:
                            bit = kk
                            nk = kk + 1
                        alist[lv] = f  # the path's features by level
                        s_feat[lv] = bit  # and their bits (entries of shallower levels stay valid)
                        xl = _go_left(X[r, f], node, threshold, missing_left, missing_kind, categorical,
                                      cat_offset, cat_len, cat_bits, strict, cat_flags)
                        for side in range(2):
                            child = right[node] if side == 0 else left[node]
                            top += 1
                            s_node[top] = child
                            s_len[top] = lv + 1
                            s_a[top] = nk
                            s_c[top] = fail if (side == 1) == xl else fail | (1 << bit)
                        continue
                    m = leaf_m[node]
                    base = table_start[node] + (((1 << m) - 1) & ~fail) * m
                    st = leaf_start[node]
                    for j in range(m):
                        credit = table[base + j] * inv_nb
                        if credit != 0.0:
                            f = leaf_feat[st + j]
                            for k in range(k0, k1):
                                phi[r, f, k] += credit * value[node, k]
    if not (any_walk and do_walks):
        return phi
    for r in range(n):
        for node in range(node_lo, node_hi):
            if left[node] >= 0:
                dx[node] = _go_left(X[r, feature[node]], node, threshold, missing_left, missing_kind, categorical,
                                    cat_offset, cat_len, cat_bits, strict, cat_flags)
        if linked:
            pair[:, :, :] = 0.0
        for t in range(roots.shape[0]):
            col = tree_col[t]
            k0 = max(col, 0)
            k1 = o if col < 0 else col + 1
            if use_tree[t] and not linked:
                continue  # done above, tree by tree
            for b in range(nb):
                pb = b if linked else 0
                w = 1.0 if linked else inv_nb
                n_assigned = 0
                top = 0
                s_node[0] = roots[t]
                s_len[0] = 0
                s_feat[0] = -1
                s_a[0] = 0
                s_c[0] = 0
                while top >= 0:
                    node = s_node[top]
                    ln = s_len[top]
                    fnew = s_feat[top]
                    a = s_a[top]
                    c = s_c[top]
                    top -= 1
                    while n_assigned > ln:
                        n_assigned -= 1
                        assign[alist[n_assigned]] = 0
                    if fnew >= 0:
                        assign[fnew] = 2  # entries on the stack are always the background's side
                        alist[n_assigned] = fnew
                        n_assigned += 1
                    # walk down; only a split between x and b on a free feature leaves work on the stack
                    while left[node] >= 0:
                        xl = dx[node]
                        if xl == dirB[node, b]:
                            node = left[node] if xl else right[node]
                            continue
                        f = feature[node]
                        st = assign[f]
                        if st == 1:
                            node = left[node] if xl else right[node]
                        elif st == 2:
                            node = right[node] if xl else left[node]
                        else:
                            top += 1
                            s_node[top] = right[node] if xl else left[node]
                            s_len[top] = n_assigned
                            s_feat[top] = f
                            s_a[top] = a
                            s_c[top] = c + 1
                            assign[f] = 1
                            alist[n_assigned] = f
                            n_assigned += 1
                            a += 1
                            node = left[node] if xl else right[node]
                    if a + c == 0:
                        continue
                    ua = wa[a, c] * w
                    uc = wc[a, c] * w
                    for q in range(n_assigned):
                        f = alist[q]
                        if assign[f] == 1:
                            for k in range(k0, k1):
                                pair[pb, f, k] += ua * value[node, k]
                        else:
                            for k in range(k0, k1):
                                pair[pb, f, k] -= uc * value[node, k]
                while n_assigned > 0:
                    n_assigned -= 1
                    assign[alist[n_assigned]] = 0
        if not linked:
            for f in range(d):
                for k in range(o):
                    phi[r, f, k] += pair[0, f, k]
                    pair[0, f, k] = 0.0
            continue
        # a link: scale each background row's margin values to the change of the response, then average
        for b in range(nb):
            for k in range(o):
                fx = raw_x[r, k]
                fb = raw_b[b, k]
                delta = fx - fb
                if transform_kind == 1:
                    px = 1.0 / (1.0 + np.exp(-fx))
                    pb_ = 1.0 / (1.0 + np.exp(-fb))
                    scale[k] = (px - pb_) / delta if abs(delta) > 1e-12 else px * (1.0 - px)
                elif transform_kind == 3:  # log loss: softplus(m) - y m
                    if abs(delta) > 1e-12:
                        scale[k] = (_softplus(fx) - _softplus(fb)) / delta - y[r, k]
                    else:
                        scale[k] = 1.0 / (1.0 + np.exp(-fx)) - y[r, k]
                elif transform_kind == 4:  # squared error: ((fx - y)^2 - (fb - y)^2) / (fx - fb), exactly
                    scale[k] = fx + fb - 2.0 * y[r, k]
                else:
                    ex = np.exp(fx)
                    eb = np.exp(fb)
                    scale[k] = (ex - eb) / delta if abs(delta) > 1e-12 else ex
            for f in range(d):
                for k in range(o):
                    phi[r, f, k] += pair[b, f, k] * scale[k] * inv_nb
    return phi


@numba.njit(cache=True, nogil=True)
def _softplus(m):  # pragma: no cover - compiled
    """``log(1 + exp(m))`` without overflow."""
    return max(m, 0.0) + np.log1p(np.exp(-abs(m)))


@numba.njit(cache=True, nogil=True)
def background_directions(Xb, node_lo, node_hi, left, right, feature, threshold, missing_left, missing_kind,
                          categorical, cat_offset, cat_len, cat_bits, strict, cat_flags):  # pragma: no cover
    """``dirB[node, b]``: whether background row ``b`` goes left at ``node``, for the nodes
    ``node_lo:node_hi`` (the others stay False); the layout :func:`interventional` reads."""
    nb = Xb.shape[0]
    out = np.zeros((left.shape[0], nb), dtype=np.bool_)
    to_f32 = (cat_flags & 8) != 0
    for node in range(node_lo, node_hi):
        if left[node] < 0:
            continue
        f = feature[node]
        if categorical[node]:
            for b in range(nb):
                out[node, b] = _go_left(Xb[b, f], node, threshold, missing_left, missing_kind, categorical,
                                        cat_offset, cat_len, cat_bits, strict, cat_flags)
            continue
        # a numeric split: the rules of _go_left with the node's settings read once
        t = threshold[node]
        kind = missing_kind[node]
        ml = missing_left[node]
        for b in range(nb):
            x = Xb[b, f]
            if to_f32:
                x = np.float64(np.float32(x))
            if np.isnan(x):
                if kind != MISSING_NONE:
                    out[node, b] = ml
                    continue
                x = 0.0
            elif kind == MISSING_ZERO and abs(x) <= _ZERO_BAND:
                out[node, b] = ml
                continue
            out[node, b] = x < t if strict else x <= t
    return out


# ---------------------------------------------------------------------- interventional, by leaf masks
def leaf_mask_plan(roots: np.ndarray, left: np.ndarray, right: np.ndarray, feature: np.ndarray,
                   dir_b: np.ndarray, max_unique: int = 8, trees: tuple[int, int] | None = None
                   ) -> tuple[np.ndarray, ...]:
    """Per-leaf tables for the interventional values of shallow trees (margin output).

    For a leaf whose path splits on the distinct features ``f_1..f_m`` (``m <= max_unique``), a
    row's mask has bit ``j`` set when the row meets every condition of the path on ``f_j``. A pair
    (x, b) reaches the leaf in its single-reference game iff ``mask_x | mask_b`` is full; then the
    leaf credits ``(a-1)! c! / (a+c)!`` to the features of ``A = mask_x & ~mask_b`` and
    ``-a! (c-1)! / (a+c)!`` to those of ``C = ~mask_x``. Counting the background rows per mask once,
    ``table[leaf, mask_x, j]`` holds every background row's credit to ``f_j`` (before the leaf value
    and the 1/|background| factor), so a row costs one mask and ``m`` additions per leaf.

    Returns ``(use_tree, leaf_start, leaf_m, leaf_feat, table_start, table)``: per tree whether
    every leaf qualifies; per node the offset of its features in ``leaf_feat`` (leaves only), their
    count, and the offset of its table in ``table``. ``trees=(lo, hi)`` builds the tables of those
    trees only (the others are marked unused).
    """
    lo, hi = (0, roots.shape[0]) if trees is None else trees
    return _leaf_mask_plan(roots, left, right, feature, dir_b, max_unique, lo, hi)


@numba.njit(cache=True, nogil=True)
def _popcount(v):  # pragma: no cover - compiled
    c = 0
    while v:
        v &= v - 1
        c += 1
    return c


@numba.njit(cache=True, nogil=True)
def _leaf_mask_plan(roots, left, right, feature, dir_b, max_unique, t_lo, t_hi):  # pragma: no cover - compiled
    n_nodes = left.shape[0]
    nb = dir_b.shape[1]
    depth_cap = 128
    use_tree = np.zeros(roots.shape[0], dtype=np.bool_)
    leaf_m = np.zeros(n_nodes, dtype=np.int64)
    leaf_start = np.zeros(n_nodes, dtype=np.int64)
    table_start = np.zeros(n_nodes, dtype=np.int64)
    # pass 1: each leaf's number of distinct path features; trees whose leaves all have at most
    # max_unique of them get offsets into the feature list and the tables
    stack = np.empty(depth_cap, dtype=np.int64)
    lvl = np.empty(depth_cap, dtype=np.int64)
    path_feat = np.empty(depth_cap, dtype=np.int64)
    leaves = np.empty(n_nodes, dtype=np.int64)
    n_feat_total = 0
    n_table_total = 0
    for t in range(t_lo, t_hi):
        ok = left[roots[t]] >= 0
        n_leaves = 0
        top = 0
        stack[0] = roots[t]
        lvl[0] = 0
        while top >= 0 and ok:
            node = stack[top]
            lv = lvl[top]
            top -= 1
            if lv >= depth_cap - 2:
                ok = False
            elif left[node] >= 0:
                path_feat[lv] = feature[node]
                for child in (right[node], left[node]):
                    top += 1
                    stack[top] = child
                    lvl[top] = lv + 1
            else:
                m = _distinct(path_feat, lv)
                leaf_m[node] = m
                leaves[n_leaves] = node
                n_leaves += 1
                ok = m <= max_unique
        use_tree[t] = ok
        for i in range(n_leaves):
            node = leaves[i]
            if not ok:
                leaf_m[node] = 0  # only leaves of tabulated trees carry a count
                continue
            m = leaf_m[node]
            leaf_start[node] = n_feat_total
            n_feat_total += m
            table_start[node] = n_table_total
            n_table_total += (1 << m) * m
    leaf_feat = np.zeros(max(n_feat_total, 1), dtype=np.int64)
    table = np.zeros(max(n_table_total, 1))
    counts = np.zeros(1 << max_unique)
    # pass 3: the features of each leaf, the background masks, the tables
    bitpos = np.empty(depth_cap, dtype=np.int64)  # bit of the feature split at each level
    went = np.empty(depth_cap, dtype=np.bool_)    # the path's direction at each level
    pnode = np.empty(depth_cap, dtype=np.int64)
    for t in range(t_lo, t_hi):
        if not use_tree[t]:
            continue
        top = 0
        stack[0] = roots[t]
        lvl[0] = 0
        while top >= 0:
            node = stack[top]
            lv = lvl[top]
            top -= 1
            if left[node] >= 0:
                pnode[lv] = node
                path_feat[lv] = feature[node]
                for side in range(2):
                    child = right[node] if side == 0 else left[node]
                    top += 1
                    stack[top] = child
                    lvl[top] = lv + 1
                continue
            # the leaf's distinct features in order of first use, and the path's directions
            m = leaf_m[node]
            s = leaf_start[node]
            k = 0
            for i in range(lv):
                found = -1
                for j in range(i):
                    if path_feat[j] == path_feat[i]:
                        found = bitpos[j]
                        break
                if found < 0:
                    bitpos[i] = k
                    leaf_feat[s + k] = path_feat[i]
                    k += 1
                else:
                    bitpos[i] = found
                nxt = pnode[i + 1] if i + 1 < lv else node
                went[i] = left[pnode[i]] == nxt
            full = (1 << m) - 1
            counts[: 1 << m] = 0.0
            for b in range(nb):
                fail = 0
                for i in range(lv):
                    if dir_b[pnode[i], b] != went[i]:
                        fail |= 1 << bitpos[i]
                counts[full & ~fail] += 1.0
            base = table_start[node]
            for mx in range(1 << m):
                need = full & ~mx
                c = _popcount(need)
                sub = mx
                while True:
                    mb = need | sub
                    cnt = counts[mb]
                    if cnt != 0.0:
                        amask = mx & ~mb
                        a = _popcount(amask)
                        if a + c > 0:
                            ua = 0.0
                            uc = 0.0
                            for j in range(m):
                                bit = 1 << j
                                if amask & bit:
                                    if ua == 0.0:
                                        ua = _shapley_a(a, c)
                                    table[base + mx * m + j] += cnt * ua
                                elif need & bit:
                                    if uc == 0.0:
                                        uc = _shapley_c(a, c)
                                    table[base + mx * m + j] -= cnt * uc
                    if sub == 0:
                        break
                    sub = (sub - 1) & mx
    return use_tree, leaf_start, leaf_m, leaf_feat, table_start, table


@numba.njit(cache=True, nogil=True)
def _distinct(path_feat, depth):  # pragma: no cover - compiled
    """How many distinct values ``path_feat[:depth]`` holds."""
    m = 0
    for i in range(depth):
        seen = False
        for j in range(i):
            if path_feat[j] == path_feat[i]:
                seen = True
                break
        if not seen:
            m += 1
    return m


@numba.njit(cache=True, nogil=True)
def _shapley_a(a, c):  # pragma: no cover - compiled
    """(a-1)! c! / (a+c)!"""
    out = 1.0 / a
    for i in range(1, c + 1):
        out *= i / (a + i)
    return out


@numba.njit(cache=True, nogil=True)
def _shapley_c(a, c):  # pragma: no cover - compiled
    """a! (c-1)! / (a+c)!"""
    return _shapley_a(c, a)
