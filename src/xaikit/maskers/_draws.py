"""Compiled loops of LIME's table sampler: scrambled Sobol uniforms, the normal quantile, and the
draw of every categorical and binned feature in one pass.

* :func:`scrambled_sobol`: the first ``n`` points of a Sobol sequence with a random linear matrix
  scramble and a random digital shift. The scramble is linear over GF(2) and a Sobol point is the
  XOR of direction numbers (in Gray-code order, point ``i`` is point ``i - 1`` XOR direction number
  ``ctz(i)``), so scrambling the ``ceil(log2 n)`` direction numbers of each dimension scrambles
  every point: ``O(d log n)`` work for the scramble, one XOR per coordinate for the points.
* :func:`ndtri`: the standard normal quantile, Wichura's algorithm AS 241 (PPND16, 1988), about
  16 significant digits over the whole of (0, 1).
* :func:`discrete_draws`: from a uniform per discrete feature and sample to the joint-table
  index (inverse CDF), the category, or the bin's truncated normal at the uniform's place within
  the bin's share, and the interpretable indicator ``index == own``.

This module imports numba at its top: import it inside functions only.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["discrete_draws", "ndtri", "ndtri_array", "scrambled_sobol", "splitmix64"]


@njit(cache=True, nogil=True, inline="always")
def splitmix64(state: np.uint64) -> tuple[np.uint64, np.uint64]:
    """One step of the SplitMix64 generator (Steele, Lea & Flood 2014): ``(new state, 64 random bits)``."""
    state = state + np.uint64(0x9E3779B97F4A7C15)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state, z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def scrambled_sobol(directions: np.ndarray, columns: np.ndarray, shift: np.ndarray, n: int, seed: int) -> np.ndarray:
    """The first ``n`` points of a scrambled Sobol sequence as float64 uniforms on [0, 1), ``(n, d)``.

    ``directions`` ``(d, k)`` uint32: the unscrambled direction numbers ``v_c`` (``2**k >= n``), bit
    31 the most significant digit. ``columns`` ``(d, 32)`` uint32: random bits; column ``p`` of
    dimension ``j``'s scrambling matrix keeps those below bit ``p`` and has bit ``p`` set (a
    lower-triangular binary matrix with unit diagonal: output digit ``r`` depends on input digits
    ``1 .. r``, so the first ``m`` digits stay a bijection of the first ``m``). ``shift`` ``(d,)``
    uint32: the digital shift. Below the 32 scrambled bits, 21 uniform bits from a SplitMix64 stream
    started at ``seed`` complete the 53 bits of a float64.
    """
    d, k = directions.shape
    scrambled = np.empty((k, d), dtype=np.uint32)
    for j in range(d):
        for c in range(k):
            v = directions[j, c]
            w = np.uint32(0)
            for p in range(32):
                if (v >> np.uint32(p)) & np.uint32(1):
                    w ^= columns[j, p]
            scrambled[c, j] = w
    out = np.empty((n, d))
    x = shift.copy()
    scale = 2.0**-53
    state = np.uint64(seed)
    for i in range(n):
        if i > 0:
            c = 0
            while not (i >> c) & 1:
                c += 1
            for j in range(d):
                x[j] ^= scrambled[c, j]
        for j in range(d):
            state, r = splitmix64(state)
            out[i, j] = np.float64((np.uint64(x[j]) << np.uint64(21)) | (r >> np.uint64(43))) * scale
    return out


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _ndtri_centre(q: float) -> float:
    """AS 241's rational function of ``q = p - 1/2`` for ``|q| <= 0.425`` (no branch: loops of it vectorise)."""
    r = 0.180625 - q * q
    num = (((((((2.5090809287301226727e3 * r + 3.3430575583588128105e4) * r + 6.7265770927008700853e4) * r
                + 4.5921953931549871457e4) * r + 1.3731693765509461125e4) * r + 1.9715909503065514427e3) * r
             + 1.3314166789178437745e2) * r + 3.3871328727963666080e0)
    den = (((((((5.2264952788528545610e3 * r + 2.8729085735721942674e4) * r + 3.9307895800092710610e4) * r
                + 2.1213794301586595867e4) * r + 5.3941960214247511077e3) * r + 6.8718700749205790830e2) * r
             + 4.2313330701600911252e1) * r + 1.0)
    return q * num / den


@njit(cache=True, nogil=True)
def _ndtri_tail(p: float, q: float) -> float:
    """AS 241 in the tails (``|q| > 0.425``): a rational function of ``sqrt(-log(min(p, 1 - p)))``."""
    r = p if q < 0.0 else 1.0 - p
    if r <= 0.0:
        return -np.inf if q < 0.0 else np.inf
    r = math.sqrt(-math.log(r))
    if r <= 5.0:
        r -= 1.6
        num = (((((((7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) * r + 2.41780725177450611770e-1) * r
                    + 1.27045825245236838258e0) * r + 3.64784832476320460504e0) * r + 5.76949722146069140550e0) * r
                 + 4.63033784615654529590e0) * r + 1.42343711074968357734e0)
        den = (((((((1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) * r + 1.51986665636164571966e-2) * r
                    + 1.48103976427480074590e-1) * r + 6.89767334985100004550e-1) * r + 1.67638483018380384940e0) * r
                 + 2.05319162663775882187e0) * r + 1.0)
    else:
        r -= 5.0
        num = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 1.24266094738807843860e-3) * r
                    + 2.65321895265761230930e-2) * r + 2.96560571828504891230e-1) * r + 1.78482653991729133580e0) * r
                 + 5.46378491116411436990e0) * r + 6.65790464350110377720e0)
        den = (((((((2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) * r + 1.84631831751005468180e-5) * r
                    + 7.86869131145613259100e-4) * r + 1.48753612908506148525e-2) * r + 1.36929880922735805310e-1) * r
                 + 5.99832206555887937690e-1) * r + 1.0)
    value = num / den
    return -value if q < 0.0 else value


@njit(cache=True, nogil=True)
def ndtri(p: float) -> float:
    """The standard normal quantile at ``p``: ``-inf`` at 0, ``inf`` at 1, NaN outside [0, 1].

    Wichura (1988), AS 241 PPND16: a rational function of ``q = p - 1/2`` in the centre
    (``|q| <= 0.425``) and of ``sqrt(-log(min(p, 1 - p)))`` in the tails, split at 5.
    """
    if not (0.0 <= p <= 1.0):
        return np.nan
    q = p - 0.5
    if abs(q) <= 0.425:
        return _ndtri_centre(q)
    return _ndtri_tail(p, q)


@njit(cache=True, nogil=True, error_model="numpy")
def ndtri_array(p: np.ndarray) -> np.ndarray:
    """:func:`ndtri` of every entry of a C-contiguous 2-d array: the centre for all in one vectorised
    loop, then the few entries in the tails (or outside [0, 1])."""
    flat = p.ravel()
    out = np.empty(flat.size)
    for e in range(flat.size):
        out[e] = _ndtri_centre(flat[e] - 0.5)
    for e in range(flat.size):
        if not (abs(flat[e] - 0.5) <= 0.425):
            out[e] = ndtri(flat[e])
    return out.reshape(p.shape)


@njit(cache=True, nogil=True, error_model="numpy")
def discrete_draws(
    u: np.ndarray,
    discrete: np.ndarray,
    n_categorical: int,
    cum: np.ndarray,
    starts: np.ndarray,
    sizes: np.ndarray,
    values: np.ndarray,
    q0: np.ndarray,
    q1: np.ndarray,
    mean: np.ndarray,
    scale: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    fixed: np.ndarray,
    nearer: np.ndarray,
    own: np.ndarray,
    S: np.ndarray,
    Z: np.ndarray,
    K: np.ndarray,
    with_index: bool,
) -> None:
    """Draw every discrete feature of rows ``1 .. m`` of ``S`` and ``Z`` from the uniforms ``u`` ``(m, t)``.

    Feature ``p`` (column ``discrete[p]``) takes the joint-table index ``k`` with
    ``cum[k - 1] <= u < cum[k]`` in its block ``starts[p] .. starts[p] + sizes[p] - 1`` (the block's
    last ``cum`` is ``inf``); a categorical feature (``p < n_categorical``) the value ``values[k]``, a
    binned one (bin ``b = k - starts[n_categorical]``) the normal quantile of ``q0[b] + u * q1[b]``,
    ``mean[b] + scale[b] * z`` clipped to ``[low[b], high[b]]`` (``nearer[b]`` where ``fixed[b]``).
    ``S`` gets ``k == own[p]``; ``K`` (rows ``1 .. m``) ``k`` itself when ``with_index``.
    """
    m, t = u.shape
    nc = n_categorical
    tb = t - nc
    offset = starts[nc] if tb > 0 else 0
    block = 256  # rows at a time, so that the buffers stay in cache
    q = np.empty(block * tb)  # the binned features' normal probabilities
    z = np.empty(block * tb)  # their quantiles, where in the centre
    where = np.empty(block * tb, dtype=np.int64)  # their bins
    for first in range(0, m, block):
        last = min(first + block, m)
        for i in range(first, last):
            for p in range(t):
                x = u[i, p]
                lo = starts[p]
                hi = lo + sizes[p] - 1
                if hi - lo <= 16:  # the number of bounds at or below x, without branches
                    k = lo
                    for c in range(lo, hi):
                        k += cum[c] <= x
                else:
                    while lo < hi:  # the first index of the block whose bound exceeds x
                        mid = (lo + hi) >> 1
                        if cum[mid] <= x:
                            lo = mid + 1
                        else:
                            hi = mid
                    k = lo
                col = discrete[p]
                S[i + 1, col] = 1.0 if k == own[p] else 0.0
                if with_index:
                    K[i + 1, p] = k
                if p < nc:
                    Z[i + 1, col] = values[k]
                else:
                    b = k - offset
                    e = (i - first) * tb + p - nc
                    where[e] = b
                    q[e] = q0[b] + x * q1[b]
        for e in range((last - first) * tb):  # vectorised: AS 241's centre for all
            z[e] = _ndtri_centre(q[e] - 0.5)
        for i in range(first, last):
            for p in range(tb):
                e = (i - first) * tb + p
                b = where[e]
                if fixed[b]:
                    value = nearer[b]
                else:
                    value = z[e] if abs(q[e] - 0.5) <= 0.425 else ndtri(q[e])
                    value = mean[b] + scale[b] * value
                    if value < low[b]:
                        value = low[b]
                    if value > high[b]:
                        value = high[b]
                Z[i + 1, discrete[nc + p]] = value
