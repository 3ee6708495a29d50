"""Compiled loops of the sampled Shapley estimators: drawing coalitions and the paired regression.

A *unit* is a complementary pair ``{S, N \\ S}`` given by the *code* of ``S``: one bit per player,
player ``j`` at bit ``j % 64`` of word ``j // 64`` (uint64 ``(..., ceil(k / 64))``). For a pair of weight
``w`` the normal equations of the Shapley regression gain
``w (z z' + (1 - z)(1 - z)') = w (2 z z' - z 1' - 1 z' + 1 1')`` and ``w (z y_S + (1 - z) y_Sc)``,
so every unit costs ``O(|S|^2)`` rather than ``O(k^2)``, and, because the constrained operator
``Q`` maps ``1`` to zero, its contribution to the sandwich variance is ``a_u Q z`` with one
scalar ``a_u`` per output.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from xaikit.maskers._draws import splitmix64

__all__ = [
    "random_subsets",
    "draw_subsets",
    "dealt_indices",
    "paired_normal_equations",
    "paired_residual_moments",
    "constrained_operators",
]


@njit(cache=True, nogil=True, inline="always")
def _below(r: np.uint64, span: np.uint64, state: np.uint64) -> tuple[np.uint64, np.uint64]:
    """A uniform integer in ``0 .. span - 1`` (``span <= 2**16``) from 16 random bits ``r``:
    Lemire's multiply-shift, exact thanks to a rejection step that is taken with probability
    below ``span / 2**16`` (it draws fresh bits from the SplitMix64 ``state``). ``(value, state)``."""
    mask = np.uint64(0xFFFF)
    prod = r * span
    if (prod & mask) < span:
        floor = (np.uint64(0x10000) - span) % span
        while (prod & mask) < floor:
            state, fresh = splitmix64(state)
            prod = (fresh & mask) * span
    return prod >> np.uint64(16), state


@njit(cache=True, nogil=True)
def random_subsets(sizes: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Uniformly random subsets of ``range(k)`` as coalition codes ``(n, ceil(k / 64))``: row ``i``
    has ``sizes[i]`` members.

    Floyd's algorithm: for ``j = k - s .. k - 1`` pick ``t`` uniformly in ``0 .. j`` and add ``t``,
    or ``j`` itself when ``t`` is already in; every ``s``-subset is equally likely. The picks are
    exactly uniform (:func:`_below`, 16 random bits each for ``k <= 2**16``, else 32 with a bias
    below ``k / 2**32``) from a SplitMix64 stream started at ``seed``. Four subsets of one size
    are drawn side by side, so that their independent chains of work overlap.
    """
    n = sizes.shape[0]
    n_words = (k + 63) >> 6
    out = np.zeros((n, n_words), dtype=np.uint64)
    one = np.uint64(1)
    mask16 = np.uint64(0xFFFF)
    state = np.uint64(seed)
    i = 0
    while i < n:
        s = sizes[i]
        if n_words == 1 and i + 3 < n and sizes[i + 1] == s and sizes[i + 2] == s and sizes[i + 3] == s:
            c0 = np.uint64(0)
            c1 = np.uint64(0)
            c2 = np.uint64(0)
            c3 = np.uint64(0)
            for t in range(s):
                state, w = splitmix64(state)
                j = np.uint64(k - s + t)
                span = j + one
                p0, state = _below(w & mask16, span, state)
                p1, state = _below((w >> np.uint64(16)) & mask16, span, state)
                p2, state = _below((w >> np.uint64(32)) & mask16, span, state)
                p3, state = _below(w >> np.uint64(48), span, state)
                p0 = j if (c0 >> p0) & one else p0  # a pick already in is replaced by j
                p1 = j if (c1 >> p1) & one else p1
                p2 = j if (c2 >> p2) & one else p2
                p3 = j if (c3 >> p3) & one else p3
                c0 |= one << p0
                c1 |= one << p1
                c2 |= one << p2
                c3 |= one << p3
            out[i, 0] = c0
            out[i + 1, 0] = c1
            out[i + 2, 0] = c2
            out[i + 3, 0] = c3
            i += 4
            continue
        for t in range(s):
            j = k - s + t
            state, w = splitmix64(state)
            if k <= 0x10000:
                pick, state = _below(w & mask16, np.uint64(j + 1), state)
            else:
                pick = ((w & np.uint64(0xFFFFFFFF)) * np.uint64(j + 1)) >> np.uint64(32)
            q = np.int64(pick)
            if (out[i, q >> 6] >> np.uint64(q & 63)) & one:
                q = j
            out[i, q >> 6] |= one << np.uint64(q & 63)
        i += 1
    return out


def draw_subsets(sizes: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """:func:`random_subsets` seeded from ``rng``: coalition codes ``(len(sizes), ceil(k / 64))``."""
    return random_subsets(np.asarray(sizes, dtype=np.int64), k, int(rng.integers(0, 2**63 - 1)))


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


@intrinsic
def _trailing_zeros(typingctx, x):  # type: ignore[no-untyped-def]
    """Index of the lowest set bit of a nonzero 64-bit word (the processor's count of trailing zeros)."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))

    return sig, codegen


@njit(cache=True, nogil=True, inline="always")
def _members(code: np.ndarray, members: np.ndarray) -> int:
    """Write the members of a coalition (its code, one bit per player) to ``members``; return their count."""
    s = 0
    for w in range(code.shape[0]):
        word = code[w]
        while word != 0:
            members[s] = (w << 6) + np.int64(_trailing_zeros(word))
            s += 1
            word &= word - np.uint64(1)
    return s


@intrinsic
def _popcount(typingctx, x):  # type: ignore[no-untyped-def]
    """Number of set bits of a 64-bit word (the processor's population count)."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.ctpop(args[0])

    return sig, codegen


#: Runs of at least this many equally weighted pairs have their co-occurrences counted with bitsets
#: (a run costs k (k + 1) / 2 population counts per 64 pairs, a pair otherwise |S|^2 additions).
BITSET_RUN = 8


@njit(cache=True, nogil=True)
def paired_normal_equations(
    codes: np.ndarray, k: int, weights: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted normal equations ``A`` (m, k, k) and ``b`` (m, k, o) of paired designs.

    ``codes`` (m, u, W) name each pair's smaller member, ``weights`` (m, u) are each pair's weight and
    ``y`` (m, 2u, o) the centred values of ``S`` (row ``2i``) and its complement (row ``2i + 1``).
    Pairs of one stratum share a weight: for a run of at least :data:`BITSET_RUN` of them, every
    player's pairs are kept as a bitset and each co-occurrence count is a population count of
    two bitsets' intersection (``k^2 / 2`` words per 64 pairs instead of ``|S|^2`` per pair).
    """
    m, u = weights.shape
    o = y.shape[2]
    n_words = codes.shape[2]
    A = np.empty((m, k, k))
    b = np.zeros((m, k, o))
    members = np.empty(k, dtype=np.int64)
    zz = np.empty((k, k))
    upper = np.empty((k, k))
    col = np.empty(k)
    ysum = np.empty(o)
    bits = np.empty((k, (u + 63) // 64), dtype=np.uint64)
    for r in range(m):
        zz[:] = 0.0
        upper[:] = 0.0
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
                if bitset and o == 1:  # one pass over the members: bitsets and b together
                    off = t - i
                    bit = np.uint64(1) << np.uint64(off & 63)
                    word = off >> 6
                    dy = w * (y[r, 2 * t, 0] - y[r, 2 * t + 1, 0])
                    ysum[0] += w * y[r, 2 * t + 1, 0]
                    for cw in range(n_words):
                        rest = codes[r, t, cw]
                        while rest != 0:
                            a = (cw << 6) + np.int64(_trailing_zeros(rest))
                            bits[a, word] |= bit
                            b[r, a, 0] += dy
                            rest &= rest - np.uint64(1)
                    continue
                s = _members(codes[r, t], members)
                if bitset:
                    off = t - i
                    bit = np.uint64(1) << np.uint64(off & 63)
                    word = off >> 6
                    for q in range(s):
                        bits[members[q], word] |= bit
                else:
                    for q in range(s):
                        a = members[q]
                        col[a] += w
                        row = zz[a]
                        for q2 in range(s):
                            row[members[q2]] += w
                for v in range(o):
                    dy = w * (y[r, 2 * t, v] - y[r, 2 * t + 1, v])
                    for q in range(s):
                        b[r, members[q], v] += dy
                    ysum[v] += w * y[r, 2 * t + 1, v]
            wsum += w * (j - i)
            if bitset:  # the upper triangle, diagonal included; mirrored once per reference below
                for a in range(k):  # type: ignore[assignment]  # numpy scalar arithmetic
                    for c in range(a, k):
                        cnt = np.uint64(0)
                        for wd in range(words):
                            cnt += _popcount(bits[a, wd] & bits[c, wd])
                        upper[a, c] += w * np.float64(cnt)
            i = j
        for a in range(k):  # type: ignore[assignment]  # numpy scalar arithmetic
            col[a] += upper[a, a]
            zz[a, a] += upper[a, a]
            for c in range(a + 1, k):
                zz[a, c] += upper[a, c]
                zz[c, a] += upper[a, c]
        for a in range(k):  # type: ignore[assignment]  # numpy scalar arithmetic
            for c in range(k):
                A[r, a, c] = 2.0 * zz[a, c] - col[a] - col[c] + wsum
            for v in range(o):
                b[r, a, v] += ysum[v]
    return A, b


@njit(cache=True, nogil=True)
def paired_residual_moments(
    codes: np.ndarray,
    k: int,
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
    m, u = weights.shape
    o = y.shape[2]
    n_groups = group_sizes.shape[0]
    M = np.zeros((m, o, k, k))
    unknown = np.zeros(m, dtype=np.bool_)
    coef = np.zeros(n_groups)
    for g in range(n_groups):
        used = min(group_sizes[g], max_pairs)
        if used >= 2:
            coef[g] = group_fpc[g] * group_sizes[g] / (used - 1)
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
            s = _members(codes[r, i], members)
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
                    for q2 in range(s):
                        row[members[q2]] += f
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


@njit(cache=True, nogil=True)
def constrained_operators(A: np.ndarray, rtol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``Q`` (m, k, k), ``c`` (m, k) with ``phi = Q b + c * delta`` minimising ``phi' A phi - 2 b' phi``
    subject to ``sum(phi) = delta``, for each positive definite ``A`` (m, k, k).

    ``Q = A^-1 - a a' / (1' a)`` and ``c = a / (1' a)`` with ``a = A^-1 1``, the inverse through a
    Cholesky factor ``A = L L'`` (``A^-1 = L^-T L^-1``). A matrix whose Cholesky pivot falls below
    ``rtol`` times its largest diagonal entry, or whose ``A a`` misses ``1`` by more than
    ``sqrt(rtol)``, is flagged in the third result (bool ``(m,)``) and left for the caller.
    """
    m, k, _ = A.shape
    Q = np.zeros((m, k, k))
    c = np.zeros((m, k))
    failed = np.zeros(m, dtype=np.bool_)
    W = np.empty((k, k))  # the lower triangle becomes L, column by column
    X = np.empty((k, k))  # L^-1, row by row
    col = np.empty(k)  # the column of L being applied, contiguous
    a = np.empty(k)
    # every loop below is an update along a contiguous row (no chain of dependent additions)
    for r in range(m):
        Ar = A[r]
        top = 0.0
        for j in range(k):
            top = max(top, Ar[j, j])
            for i in range(k):
                W[j, i] = Ar[j, i]
        for j in range(k):  # right-looking Cholesky: scale column j, update the trailing rows
            pivot = W[j, j]
            if not (pivot > rtol * top):
                failed[r] = True
                break
            d = np.sqrt(pivot)
            W[j, j] = d
            for i in range(j + 1, k):
                W[i, j] /= d
                col[i] = W[i, j]
            for i in range(j + 1, k):
                f = col[i]
                for q in range(j + 1, i + 1):
                    W[i, q] -= f * col[q]
        if failed[r]:
            continue
        for i in range(k):  # X = L^-1 by forward substitution, whole rows at a time
            for q in range(k):
                X[i, q] = 0.0
            X[i, i] = 1.0
            for p in range(i):
                f = W[i, p]
                for q in range(p + 1):
                    X[i, q] -= f * X[p, q]
            d = 1.0 / W[i, i]
            for q in range(i + 1):
                X[i, q] *= d
        Qr = Q[r]
        for p in range(k):  # A^-1 = X' X, one rank-one update per row of X
            for i in range(p + 1):
                f = X[p, i]
                for q in range(p + 1):
                    Qr[i, q] += f * X[p, q]
        for q in range(k):  # a = A^-1 1 (rows of symmetric matrices summed as whole rows)
            a[q] = 0.0
            col[q] = 0.0
        for i in range(k):
            for q in range(k):
                a[q] += Qr[i, q]
        total = 0.0
        for i in range(k):
            total += a[i]
            f = a[i]
            for q in range(k):
                col[q] += f * Ar[i, q]
        worst = 0.0
        for q in range(k):  # A a = 1 up to rounding, else the factor is not to be trusted
            worst = max(worst, abs(col[q] - 1.0))
        if not (total > 0.0) or worst > np.sqrt(rtol):
            failed[r] = True
            continue
        for i in range(k):
            c[r, i] = a[i] / total
            for j in range(k):
                Qr[i, j] -= a[i] * a[j] / total
    return Q, c, failed
