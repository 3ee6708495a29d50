"""KL confidence bounds of Bernoulli means and KL-LUCB best-arm identification.

Kaufmann & Kalyanakrishnan (2013), "Information Complexity in Bandit Subset Selection": the upper
bound of a Bernoulli mean ``p`` estimated from ``n`` draws at level ``beta`` is the largest
``q >= p`` with ``n KL(p, q) <= beta`` (the lower bound, the smallest ``q <= p``), where
``KL(p, q) = p log(p/q) + (1-p) log((1-p)/(1-q))``. KL-LUCB samples, at each round, the weakest arm
among the ``m`` best estimated and the strongest among the others, until the two bounds are within
``epsilon``; the arms kept are then the ``m`` best up to ``epsilon`` with probability ``1 - delta``.

Examples
--------
>>> import numpy as np
>>> lo, hi = kl_bounds(np.array([0.9]), np.array([100]), 2.0)
>>> bool(lo[0] < 0.9 < hi[0])
True
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["kl_bernoulli", "kl_upper", "kl_lower", "kl_bounds", "lucb_beta", "kl_lucb"]

_EPS = 1e-15
_STEPS = 60


def kl_bernoulli(p: np.ndarray | float, q: np.ndarray | float) -> np.ndarray:
    """``KL(p, q)`` of two Bernoulli laws (0 log 0 = 0; infinite when ``q`` is 0 or 1 and ``p`` is not).

    >>> float(kl_bernoulli(0.5, 0.5)), round(float(kl_bernoulli(1.0, 0.5)), 6)
    (0.0, 0.693147)
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(p > 0, p * np.log(p / q), 0.0)
        b = np.where(p < 1, (1 - p) * np.log((1 - p) / (1 - q)), 0.0)
    out = a + b
    return np.where(np.isnan(out), np.inf, out)


def kl_upper(p: np.ndarray, level: np.ndarray | float) -> np.ndarray:
    """The largest ``q`` in ``[p, 1]`` with ``KL(p, q) <= level`` (bisection, to about 1e-15).

    >>> q = kl_upper(np.array([0.5]), 0.1)
    >>> bool(abs(kl_bernoulli(0.5, q[0]) - 0.1) < 1e-9)
    True
    """
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    level = np.broadcast_to(np.asarray(level, dtype=np.float64), p.shape)
    lo, hi = p.copy(), np.ones_like(p)
    for _ in range(_STEPS):
        mid = (lo + hi) / 2
        inside = kl_bernoulli(p, mid) <= level
        lo = np.where(inside, mid, lo)
        hi = np.where(inside, hi, mid)
    return np.where(kl_bernoulli(p, hi) <= level, hi, lo)


def kl_lower(p: np.ndarray, level: np.ndarray | float) -> np.ndarray:
    """The smallest ``q`` in ``[0, p]`` with ``KL(p, q) <= level`` (bisection, to about 1e-15).

    >>> q = kl_lower(np.array([0.5]), 0.1)
    >>> bool(abs(kl_bernoulli(0.5, q[0]) - 0.1) < 1e-9)
    True
    """
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    level = np.broadcast_to(np.asarray(level, dtype=np.float64), p.shape)
    lo, hi = np.zeros_like(p), p.copy()
    for _ in range(_STEPS):
        mid = (lo + hi) / 2
        inside = kl_bernoulli(p, mid) <= level
        hi = np.where(inside, mid, hi)
        lo = np.where(inside, lo, mid)
    return np.where(kl_bernoulli(p, lo) <= level, lo, hi)


def kl_bounds(means: np.ndarray, counts: np.ndarray, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper KL bounds of Bernoulli means from ``counts`` draws at level ``beta``
    (``KL(mean, bound) = beta / count``).

    >>> lo, hi = kl_bounds(np.array([1.0]), np.array([10]), 1.0)
    >>> float(hi[0]), round(float(lo[0]), 4)
    (1.0, 0.9048)
    """
    counts = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
    level = beta / counts
    return kl_lower(means, level), kl_upper(means, level)


def lucb_beta(n_arms: int, t: int, delta: float) -> float:
    """The exploration rate of KL-LUCB at round ``t`` (Kaufmann & Kalyanakrishnan 2013, with their
    constants ``k1 = 405.5``, ``alpha = 1.1``): ``log(k1 n t^alpha / delta)``, plus its log.

    >>> round(lucb_beta(10, 1, 0.05), 3)
    13.729
    """
    temp = math.log(405.5 * n_arms * t**1.1 / delta)
    return temp + math.log(temp)


def kl_lucb(
    pull: Callable[[list[int]], None],
    positives: np.ndarray,
    counts: np.ndarray,
    top: int,
    *,
    epsilon: float,
    delta: float,
    max_rounds: int = 10_000,
) -> list[int]:
    """The ``top`` arms of largest mean, up to ``epsilon``, with probability ``1 - delta``.

    ``positives`` and ``counts`` (float arrays, one per arm, each arm drawn at least once) are the
    running sums; ``pull(arms)`` draws those arms more and updates both arrays in place.

    >>> rng = np.random.default_rng(0)
    >>> p = np.array([0.2, 0.5, 0.9])
    >>> pos, cnt = np.zeros(3), np.zeros(3)
    >>> def pull(arms):
    ...     for a in arms:
    ...         pos[a] += rng.binomial(10, p[a]); cnt[a] += 10
    >>> pull([0, 1, 2])
    >>> kl_lucb(pull, pos, cnt, 1, epsilon=0.1, delta=0.05)
    [2]
    """
    n = len(counts)
    if top >= n:
        return list(range(n))
    t = 1
    while True:
        means = positives / counts
        order = np.argsort(means, kind="stable")
        best, rest = order[-top:], order[:-top]
        beta = lucb_beta(n, t, delta)
        level = beta / counts
        ub = kl_upper(means[rest], level[rest])
        lb = kl_lower(means[best], level[best])
        ut, lt = int(rest[int(np.argmax(ub))]), int(best[int(np.argmin(lb))])
        if float(ub.max()) - float(lb.min()) <= epsilon or t >= max_rounds:
            return sorted(int(i) for i in best)
        pull([ut, lt])
        t += 1
