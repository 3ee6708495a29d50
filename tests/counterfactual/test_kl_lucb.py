"""KL bounds of Bernoulli means against their definition and scipy, and KL-LUCB on arms of known means."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xaikit.explainers.rules.kl_lucb import kl_bernoulli, kl_bounds, kl_lower, kl_lucb, kl_upper, lucb_beta


def _kl(p: float, q: float) -> float:
    out = 0.0
    if p > 0:
        out += p * math.log(p / q)
    if p < 1:
        out += (1 - p) * math.log((1 - p) / (1 - q))
    return out


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.77, 0.95])
@pytest.mark.parametrize("level", [0.001, 0.05, 0.4])
def test_bounds_solve_their_definition(p: float, level: float) -> None:
    """The upper bound is the largest q >= p with KL(p, q) <= level, the lower the smallest q <= p."""
    from scipy.optimize import brentq

    up, low = float(kl_upper(np.array([p]), level)[0]), float(kl_lower(np.array([p]), level)[0])
    assert low <= p <= up
    for q, side in ((up, 1.0), (low, 0.0)):
        if abs(q - side) < 1e-12:  # the bound reached the end: KL there is within the level
            assert _kl(p, side if 0 < side < 1 else side - 1e-12 if side == 1 else 1e-12) <= level + 1e-9
        else:
            assert _kl(p, q) == pytest.approx(level, abs=1e-9)
    ref_up = brentq(lambda q: _kl(p, q) - level, p, 1 - 1e-15) if _kl(p, 1 - 1e-15) > level else 1.0
    ref_low = brentq(lambda q: _kl(p, q) - level, 1e-15, p) if _kl(p, 1e-15) > level else 0.0
    assert up == pytest.approx(ref_up, abs=1e-9)
    assert low == pytest.approx(ref_low, abs=1e-9)


def test_bounds_at_the_ends() -> None:
    lo, hi = kl_bounds(np.array([0.0, 1.0]), np.array([10, 10]), 1.0)
    assert lo[0] == 0.0 and hi[1] == 1.0
    assert hi[0] == pytest.approx(1 - math.exp(-0.1), abs=1e-12)  # KL(0, q) = -log(1 - q)
    assert lo[1] == pytest.approx(math.exp(-0.1), abs=1e-12)  # KL(1, q) = -log(q)
    assert float(kl_bernoulli(0.5, 1.0)) == math.inf


def test_bounds_hold_with_their_confidence() -> None:
    """At level log(2/delta)/n, the true mean is outside the bounds in at most a delta share of repetitions."""
    rng = np.random.default_rng(0)
    p, n, delta, reps = 0.9, 50, 0.1, 4000
    means = rng.binomial(n, p, size=reps) / n
    lo, hi = kl_bounds(means, np.full(reps, n), math.log(2 / delta))
    miss = np.mean((p < lo) | (p > hi))
    assert miss <= delta
    assert np.mean(hi - lo) < 0.3  # and they are not vacuous


def test_beta_formula() -> None:
    t = math.log(405.5 * 7 * 3**1.1 / 0.05)
    assert lucb_beta(7, 3, 0.05) == pytest.approx(t + math.log(t), rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_kl_lucb_finds_the_best_arms(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.array([0.1, 0.85, 0.3, 0.5, 0.65])
    pos, cnt = np.zeros(5), np.zeros(5)
    pulls: list[int] = []

    def pull(arms: list[int]) -> None:
        for a in arms:
            pos[a] += rng.binomial(20, p[a])
            cnt[a] += 20
            pulls.append(a)

    pull(list(range(5)))
    assert kl_lucb(pull, pos, cnt, 2, epsilon=0.05, delta=0.05) == [1, 4]
    assert pulls.count(0) < pulls.count(4)  # the clearly bad arm is left alone


def test_kl_lucb_with_no_choice() -> None:
    pos, cnt = np.array([1.0, 2.0]), np.array([3.0, 3.0])
    assert kl_lucb(lambda arms: None, pos, cnt, 2, epsilon=0.1, delta=0.1) == [0, 1]
