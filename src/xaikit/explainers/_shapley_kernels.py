"""Compiled loops of the sampled Shapley estimators: drawing coalitions and the paired regression.

A *unit* is a complementary pair ``{S, N \\ S}`` given by the mask of ``S``. For a pair of weight
``w`` the normal equations of the Shapley regression gain
``w (z z' + (1 - z)(1 - z)') = w (2 z z' - z 1' - 1 z' + 1 1')`` and ``w (z y_S + (1 - z) y_Sc)``,
so every unit costs ``O(|S|^2)`` rather than ``O(k^2)``, and, because the constrained operator
``Q`` maps ``1`` to zero, its contribution to the sandwich variance is ``a_u Q z`` with one
scalar ``a_u`` per output.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["random_subsets", "draw_subsets", "dealt_indices", "paired_normal_equations", "paired_residual_moments"]


@njit(cache=True, nogil=True)
def random_subsets(sizes: np.ndarray, k: int, bits: np.ndarray) -> np.ndarray:
    """Uniformly random subsets of ``range(k)``: row ``i`` has ``sizes[i]`` members.

    ``bits`` (n, ceil(max size / 2)) are raw 64-bit random words from the caller's generator;
    each 32-bit half picks one member of a partial Fisher-Yates shuffle (by multiply-shift,
    whose bias is below ``k / 2**32``). Returns bool masks ``(n, k)``.
    """
    n = sizes.shape[0]
    out = np.zeros((n, k), dtype=np.bool_)
    perm = np.arange(k)
    picks = np.empty(k, dtype=np.int64)
    for i in range(n):
        s = sizes[i]
        for t in range(s):
            word = bits[i, t >> 1]
            half = (word >> np.uint64(32)) if t & 1 else (word & np.uint64(0xFFFFFFFF))
            pick = t + np.int64((half * np.uint64(k - t)) >> np.uint64(32))
            picks[t] = pick
            tmp = perm[t]
            perm[t] = perm[pick]
            perm[pick] = tmp
            out[i, perm[t]] = True
        for t in range(s - 1, -1, -1):  # undo the swaps: perm is the identity again
            pick = picks[t]
            tmp = perm[t]
            perm[t] = perm[pick]
            perm[pick] = tmp
    return out


def draw_subsets(sizes: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """:func:`random_subsets` driven by ``rng``: bool masks ``(len(sizes), k)``."""
    sizes = np.asarray(sizes, dtype=np.int64)
    n = sizes.shape[0]
    words = max(1, (int(sizes.max(initial=0)) + 1) // 2)
    bits = rng.bit_generator.random_raw(n * words).reshape(n, words)
    return random_subsets(sizes, k, bits)


@njit(cache=True, nogil=True)
def dealt_indices(n_units: int, n: int, n_refs: int, seed: int) -> np.ndarray:
    """``n`` distinct unit indices in ``range(n_units)`` for each of ``n_refs`` references, ``(n_refs, n)``.

    The references take consecutive slices of a stream of random permutations of the units, so
    that between them every unit is used about equally often. Each slice is a uniformly random
    ``n``-subset (the construction is symmetric in the units). A slice that spans two permutations
    stays free of repeats: the next permutation starts with units the slice does not hold yet,
    in random order, and goes on with a random order of the others. ``seed`` fixes the draw.
    """
    np.random.seed(seed)
    need = n * n_refs
    out = np.empty(need, dtype=np.int64)
    arr = np.empty(n_units, dtype=np.int64)
    held = np.zeros(n_units, dtype=np.bool_)
    pos = 0
    while pos < need:
        offset = pos % n
        for t in range(pos - offset, pos):
            held[out[t]] = True
        # units not held first, then the held ones
        front = 0
        back = n_units - 1
        for j in range(n_units):
            if held[j]:
                arr[back] = j
                back -= 1
            else:
                arr[front] = j
                front += 1
        stop = min(pos + n_units, need)
        take = stop - pos
        head = min(n - offset, take)
        free = n_units - offset
        for t in range(head):  # the head: among the units not held
            pick = t + np.random.randint(0, free - t)
            tmp = arr[t]
            arr[t] = arr[pick]
            arr[pick] = tmp
        for t in range(head, take):  # the rest of the permutation: among all others
            pick = t + np.random.randint(0, n_units - t)
            tmp = arr[t]
            arr[t] = arr[pick]
            arr[pick] = tmp
        for t in range(pos - offset, pos):
            held[out[t]] = False
        for t in range(take):
            out[pos + t] = arr[t]
        pos = stop
    return out.reshape(n_refs, n)


@njit(cache=True, nogil=True)
def _members(unit: np.ndarray, scale: float, zrow: np.ndarray, members: np.ndarray) -> int:
    """Fill ``zrow`` with ``scale`` at the unit's members (0 elsewhere) and ``members`` with their indices; return their count."""
    s = 0
    for j in range(unit.shape[0]):
        zrow[j] = scale * unit[j]
        members[s] = j
        s += unit[j]
    return s


@intrinsic
def _popcount(typingctx, x):  # type: ignore[no-untyped-def]
    """Number of set bits of a 64-bit word (the processor's population count)."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.ctpop(args[0])

    return sig, codegen


#: Runs of at least this many equally weighted pairs have their co-occurrences counted with bitsets
#: (a run costs k (k + 1) / 2 population counts per 64 pairs, a pair otherwise |S| k additions).
BITSET_RUN = 8


@njit(cache=True, nogil=True)
def paired_normal_equations(units: np.ndarray, weights: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted normal equations ``A`` (m, k, k) and ``b`` (m, k, o) of paired designs.

    ``units`` uint8 (m, u, k) mark the smaller members, ``weights`` (m, u) are each pair's weight and
    ``y`` (m, 2u, o) the centred values of ``S`` (row ``2i``) and its complement (row ``2i + 1``).
    Pairs of one stratum share a weight: for a run of at least :data:`BITSET_RUN` of them, every
    player's pairs are kept as a bitset and each co-occurrence count is a population count of
    two bitsets' intersection (``k^2 / 2`` words per 64 pairs instead of ``|S| k`` per pair).
    """
    m, u, k = units.shape
    o = y.shape[2]
    A = np.empty((m, k, k))
    b = np.zeros((m, k, o))
    zrow = np.empty(k)
    members = np.empty(k, dtype=np.int64)
    zz = np.empty((k, k))
    col = np.empty(k)
    ysum = np.empty(o)
    bits = np.empty((k, (u + 63) // 64), dtype=np.uint64)
    for r in range(m):
        zz[:] = 0.0
        col[:] = 0.0
        ysum[:] = 0.0
        wsum = 0.0
        i = 0
        while i < u:
            w = weights[r, i]
            j = i + 1
            while j < u and weights[r, j] == w:
                j += 1
            bitset = j - i >= BITSET_RUN
            if bitset:
                words = (j - i + 63) // 64
                bits[:, :words] = 0
                for t in range(i, j):
                    unit = units[r, t]
                    s = 0
                    for c in range(k):
                        members[s] = c
                        s += unit[c]
                    off = t - i
                    bit = np.uint64(1) << np.uint64(off & 63)
                    word = off >> 6
                    for q in range(s):
                        bits[members[q], word] |= bit
                    for v in range(o):
                        dy = w * (y[r, 2 * t, v] - y[r, 2 * t + 1, v])
                        for q in range(s):
                            b[r, members[q], v] += dy
                        ysum[v] += w * y[r, 2 * t + 1, v]
                wsum += w * (j - i)
            else:
                for t in range(i, j):
                    s = _members(units[r, t], w, zrow, members)
                    for q in range(s):
                        a = members[q]
                        col[a] += w
                        row = zz[a]
                        for c in range(k):
                            row[c] += zrow[c]
                    for v in range(o):
                        dy = w * (y[r, 2 * t, v] - y[r, 2 * t + 1, v])
                        for q in range(s):
                            b[r, members[q], v] += dy
                        ysum[v] += w * y[r, 2 * t + 1, v]
                    wsum += w
            if bitset:
                for a in range(k):
                    for c in range(a, k):
                        cnt = np.uint64(0)
                        for wd in range(words):
                            cnt += _popcount(bits[a, wd] & bits[c, wd])
                        add = w * np.float64(cnt)
                        zz[a, c] += add
                        if c != a:
                            zz[c, a] += add
                        else:
                            col[a] += add
            i = j
        for a in range(k):
            for c in range(k):
                A[r, a, c] = 2.0 * zz[a, c] - col[a] - col[c] + wsum
            for v in range(o):
                b[r, a, v] += ysum[v]
    return A, b


@njit(cache=True, nogil=True)
def paired_residual_moments(
    units: np.ndarray,
    weights: np.ndarray,
    y: np.ndarray,
    phi: np.ndarray,
    unit_group: np.ndarray,
    group_sizes: np.ndarray,
    group_fpc: np.ndarray,
    max_pairs: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The matrices ``M`` (m, o, k, k) with ``Var(phi_r) = diag(Q_r M_r Q_r')`` (sandwich variance).

    A sampled unit of group ``g`` (``n_g`` draws) adds ``h_u = n_g Q t_u`` to its group's draws,
    with ``t_u = w (z r_S + (1 - z) r_Sc)`` and ``r`` the residuals at ``phi``; since ``Q 1 = 0``,
    ``h_u = n_g a_u Q z`` with ``a_u = w (r_S - r_Sc)``. The variance ``sum_g fpc_g Var_u(h_u) / n_g``
    is then ``Q M Q'`` with ``M = sum_g fpc_g n_g / (n'_g - 1) (sum_u a_u^2 z z' - S_g S_g' / n'_g)``,
    ``S_g = sum_u a_u z``, the sums running over the group's first ``n'_g = min(n_g, max_pairs)``
    units: the units of a group come in random order, so these are a random subsample and the
    sample variance over them is unbiased. Enumerated units (group ``-1``) add nothing; a reference
    with a group of one draw is flagged (its variance is unknown). ``y`` holds centred values, so
    the complement's fit is ``sum(phi) - z . phi``.
    """
    m, u, k = units.shape
    o = y.shape[2]
    n_groups = group_sizes.shape[0]
    M = np.zeros((m, o, k, k))
    unknown = np.zeros(m, dtype=np.bool_)
    coef = np.zeros(n_groups)
    for g in range(n_groups):
        used = min(group_sizes[g], max_pairs)
        if used >= 2:
            coef[g] = group_fpc[g] * group_sizes[g] / (used - 1)
    zrow = np.empty(k)
    members = np.empty(k, dtype=np.int64)
    sums = np.empty((n_groups, o, k))
    counts = np.empty(n_groups, dtype=np.int64)
    scal = np.empty(o)
    total = np.empty(o)
    for r in range(m):
        sums[:] = 0.0
        counts[:] = 0
        for t in range(o):
            acc = 0.0
            for j in range(k):
                acc += phi[r, j, t]
            total[t] = acc
        for i in range(u):
            g = unit_group[i]
            if g < 0 or counts[g] >= max_pairs:
                continue
            counts[g] += 1
            s = _members(units[r, i], 1.0, zrow, members)
            for t in range(o):
                fit = 0.0
                for q in range(s):
                    fit += phi[r, members[q], t]
                resid_s = y[r, 2 * i, t] - fit
                resid_c = y[r, 2 * i + 1, t] - (total[t] - fit)
                scal[t] = weights[r, i] * (resid_s - resid_c)
            for t in range(o):
                at = scal[t]
                f = coef[g] * at * at
                for q in range(s):
                    a = members[q]
                    sums[g, t, a] += at
                    row = M[r, t, a]
                    for c in range(k):
                        row[c] += f * zrow[c]
        for g in range(n_groups):
            if counts[g] == 1:
                unknown[r] = True
            if counts[g] < 2:
                continue
            f = coef[g] / counts[g]
            for t in range(o):
                for a in range(k):
                    sa = f * sums[g, t, a]
                    row = M[r, t, a]
                    for c in range(k):
                        row[c] -= sa * sums[g, t, c]
    return M, unknown
