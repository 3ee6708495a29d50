"""Sampling coalitions per background row: the compiled loops against plain numpy, the designs'
statistics, and the estimators' exactness where theory says they are exact."""

from __future__ import annotations

from collections import Counter
from itertools import combinations, permutations
from math import comb, factorial

import numpy as np
import pytest

import xaikit as xk
from xaikit.explainers.shapley._coalitions import (
    _all_units,
    _relabelled_codes,
    balanced_units,
    build_design,
    build_reference_designs,
    kernel_weight,
    pack_coalitions,
    prefix_masks,
    stratum_gram,
    unpack_coalitions,
)
from xaikit.explainers.shapley._games import ReferenceGames
from xaikit.explainers.shapley._kernels import _below, dealt_indices, draw_subsets
from xaikit.explainers.shapley._regression import (
    CROSS_FIT_FOLDS,
    VARIANCE_PAIRS,
    _constrained_operators,
    _solve_batch,
    _variances,
    cross_fitted,
    per_reference_estimates,
    regression_std_err,
    solve_constrained,
)
from xaikit.maskers._synthesis import chain_rows_per_reference, hybrid_rows, paired_rows_per_reference
from xaikit.maskers.value_function import ValueFunction
from xaikit.models import adapt


# ------------------------------------------------------------------ plain-numpy references
def dense_solve(masks, weights, y, delta):
    """The constrained weighted regression written out with dense matrices (one design)."""
    Z = masks.astype(float)
    A = Z.T @ (weights[:, None] * Z)
    b = Z.T @ (weights[:, None] * y)
    k = A.shape[0]
    kkt = np.zeros((k + 1, k + 1))
    kkt[:k, :k] = A
    kkt[:k, k] = kkt[k, :k] = 1.0
    rhs = np.vstack([b, delta[None, :]])
    return np.linalg.solve(kkt, rhs)[:k], A


def dense_variance(masks, weights, y, phi, A, unit_group, group_sizes, group_fpc):
    """Stratified sandwich variance: per sampled pair t_u = n_g * sum_S w z r, Var(Q t) by group."""
    k = A.shape[0]
    Ainv = np.linalg.inv(A)
    a1 = Ainv @ np.ones(k)
    Q = Ainv - np.outer(a1, a1) / a1.sum()
    Z = masks.astype(float)
    r = y - Z @ phi
    # a sampled pair's residual difference widened by its leverage h = 2 w z'Qz: e / (1 - h)
    for u in np.flatnonzero(unit_group >= 0):
        z, w = Z[2 * u], weights[2 * u]
        h = min(2.0 * w * z @ Q @ z, 0.95)
        r[2 * u] += (r[2 * u] - r[2 * u + 1]) * (1.0 / (1.0 - h) - 1.0)
    contrib = Z[:, :, None] * (weights[:, None] * r)[:, None, :]
    per_unit = contrib[0::2] + contrib[1::2]
    var = np.zeros_like(phi)
    for g, n in enumerate(group_sizes):
        sel = unit_group == g
        if n == 0 or not sel.any():
            continue
        h = np.einsum("ij,ujo->uio", Q, n * per_unit[sel])
        var += group_fpc[g] * h.var(axis=0, ddof=1) / n
    return var


@pytest.mark.parametrize(("k", "pairs", "strategy"), [(5, 8, "kernel"), (8, 40, "leverage"), (12, 90, "leverage"), (30, 200, "kernel"), (70, 300, "leverage")])
def test_compiled_regression_equals_dense_formulas(k, pairs, strategy):
    rng = np.random.default_rng(k)
    designs = build_reference_designs(k, pairs, strategy, 4, rng)
    masks, weights = designs.masks, designs.weights
    y = rng.normal(size=(4, masks.shape[1], 2))
    delta = rng.normal(size=(4, 2))
    phi, Q = _solve_batch(designs.codes, k, designs.pair_weights, y, delta)
    var = _variances(designs.codes, k, designs.pair_weights, y, phi, Q, designs.unit_group, designs.group_sizes, designs.group_fpc)
    for r in range(4):
        ref_phi, A = dense_solve(masks[r], weights[r], y[r], delta[r])
        np.testing.assert_allclose(phi[r], ref_phi, rtol=1e-9, atol=1e-10)
        ref_var = dense_variance(
            masks[r], weights[r], y[r], ref_phi, A, designs.unit_group, designs.group_sizes, designs.group_fpc
        )
        np.testing.assert_allclose(var[r], ref_var, rtol=1e-7, atol=1e-12)


def test_constrained_operators_cholesky_and_pseudo_inverse():
    rng = np.random.default_rng(9)
    Z = rng.random((3, 40, 6))
    A = np.einsum("rui,ruj->rij", Z, Z)
    A[1] = np.outer(Z[1, 0], Z[1, 0])  # rank one: no Cholesky factor, the pseudo-inverse serves
    Q, c = _constrained_operators(A)
    for r in range(3):
        Ainv = np.linalg.pinv(A[r], hermitian=True) if r == 1 else np.linalg.inv(A[r])
        a = Ainv.sum(axis=1)
        np.testing.assert_allclose(Q[r], Ainv - np.outer(a, a) / a.sum(), rtol=1e-9, atol=1e-9 * np.abs(Ainv).max())
        np.testing.assert_allclose(c[r], a / a.sum(), rtol=1e-9, atol=1e-12)
    assert np.allclose(Q[0] @ np.ones(6), 0.0, atol=1e-9)  # Q 1 = 0: the constraint holds whatever b


def test_shared_design_regression_equals_dense_formulas():
    rng = np.random.default_rng(3)
    design = build_design(9, 60, "leverage", rng)
    y = rng.normal(size=(design.masks.shape[0], 1))
    phi, Q = solve_constrained(design, y, np.array([0.7]))
    ref_phi, A = dense_solve(design.masks, design.weights, y, np.array([0.7]))
    np.testing.assert_allclose(phi, ref_phi, rtol=1e-9, atol=1e-12)
    se = regression_std_err(design, y, phi, Q)
    ref = dense_variance(design.masks, design.weights, y, ref_phi, A, design.unit_group, design.group_sizes, design.group_fpc)
    np.testing.assert_allclose(se, np.sqrt(ref), rtol=1e-7)


# ------------------------------------------------------------------ drawing coalitions
@pytest.mark.parametrize("alternate", [False, True])
def test_draw_subsets_sizes_and_uniformity(alternate):
    # equal sizes are drawn four at a time, mixed sizes one at a time: both must be uniform
    rng = np.random.default_rng(0)
    sizes = np.full(60_000, 2)
    if alternate:
        sizes[1::2] = 3
    subsets = unpack_coalitions(draw_subsets(sizes, 5, rng), 5)
    assert (subsets.sum(axis=1) == sizes).all()
    codes = subsets[sizes == 2].astype(int) @ (1 << np.arange(5))
    counts = np.bincount(codes, minlength=32)[[sum(1 << j for j in c) for c in combinations(range(5), 2)]]
    expected = (sizes == 2).sum() / 10
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 30, counts  # 9 degrees of freedom: p < 0.001 beyond 27.9
    mixed = unpack_coalitions(draw_subsets(np.array([0, 1, 4, 7]), 7, rng), 7)
    assert mixed.sum(axis=1).tolist() == [0, 1, 4, 7]
    wide = unpack_coalitions(draw_subsets(np.array([3, 65, 100]), 130, rng), 130)  # codes of three words
    assert wide.sum(axis=1).tolist() == [3, 65, 100]
    # every player is as likely to be drawn, also across word boundaries
    hits = unpack_coalitions(draw_subsets(np.full(4000, 5), 70, rng), 70).sum(axis=0)
    expected = 4000 * 5 / 70
    assert (((hits - expected) ** 2) / expected).sum() < 111.1  # 69 df, p = 0.001


@pytest.mark.parametrize("span", [1, 7, 30, 40_000, 65_536])
def test_bounded_draws_are_exactly_uniform(span):
    # every 16-bit input that is accepted without fresh bits maps to each value equally often,
    # and the ones that are not are exactly the surplus (2**16 mod span of them)
    counts = np.zeros(span, dtype=np.int64)
    redrawn = 0
    state = np.uint64(12345)
    for r in range(1 << 16):
        value, after = _below(np.uint64(r), np.uint64(span), state)
        assert 0 <= value < span
        if after == state:
            counts[value] += 1
        else:
            redrawn += 1
    assert redrawn == (1 << 16) % span
    assert (counts == (1 << 16) // span).all()


def test_coalition_codes_round_trip():
    rng = np.random.default_rng(3)
    for k in (1, 7, 64, 65, 130):
        masks = rng.random((4, 9, k)) < 0.5
        codes = pack_coalitions(masks)
        assert codes.dtype == np.uint64 and codes.shape == (4, 9, -(-k // 64))
        np.testing.assert_array_equal(unpack_coalitions(codes, k), masks)
    one = np.zeros(70, dtype=bool)
    one[[0, 63, 64, 69]] = True
    assert pack_coalitions(one).tolist() == [1 | (1 << 63), 1 | (1 << 5)]


def test_dealt_indices_are_distinct_balanced_and_uniform():
    for n_units, n, refs in [(10, 3, 20), (66, 25, 50), (7, 7, 4), (495, 60, 50)]:
        idx = dealt_indices(n_units, n, refs, 11)
        assert all(len(set(row)) == n for row in idx)
        counts = np.bincount(idx.ravel(), minlength=n_units)
        assert counts.max() - counts.min() <= 1  # every permutation of the stream covers all units once
    # each reference's slice is a uniformly random subset, whatever its place in the stream
    n_units, n, refs, draws = 8, 3, 6, 6000
    for ref in (0, 2, 5):
        freq = np.zeros(n_units)
        for seed in range(draws):
            freq[dealt_indices(n_units, n, refs, seed)[ref]] += 1
        expected = draws * n / n_units
        assert (((freq - expected) ** 2) / expected).sum() < 24.3  # 7 df, p = 0.001


def _unit_count(k: int, s: int) -> int:
    return comb(k, s) // 2 if 2 * s == k else comb(k, s)


def test_balanced_units_are_distinct_and_spread_the_players_evenly():
    for k in range(3, 13):
        for s in range(1, k // 2 + 1):
            total = _unit_count(k, s)
            for n in sorted({2, 3, total // 3, total // 2, total - 1, total}):
                if not 2 <= n <= total:
                    continue
                units = balanced_units(k, s, n)
                assert units.shape == (n, k) and (units.sum(axis=1) == s).all()
                assert len({u.tobytes() for u in units}) == n
                # a middle-stratum unit is named by its member with player 0: the others are balanced
                counts = units.sum(axis=0)[1:] if 2 * s == k else units.sum(axis=0)
                assert counts.max() - counts.min() <= 2, (k, s, n, counts.tolist())
    # against a simple random sample of the same size: its counts spread far more
    rng = np.random.default_rng(0)
    plain = [np.ptp(_all_units(12, 3)[rng.permutation(220)[:40]].sum(axis=0)) for _ in range(200)]
    assert np.ptp(balanced_units(12, 3, 40).sum(axis=0)) <= 1 < np.mean(plain)


@pytest.mark.parametrize(("k", "s", "n"), [(6, 2, 4), (6, 3, 3), (7, 3, 10), (5, 1, 2)])
def test_balanced_designs_keep_every_units_inclusion_probability(k, s, n):
    """Relabelled by each of the k! permutations of the players, every unit of the stratum is in the
    design equally often, n / N of the time: the inclusion probability of a simple random sample,
    so its weights N / n keep the estimate unbiased (exact enumeration of the relabellings)."""
    units = balanced_units(k, s, n)
    seen: Counter = Counter()
    for perm in permutations(range(k)):
        for unit in units[:, list(perm)]:
            seen[frozenset({unit.tobytes(), (~unit).tobytes()})] += 1  # a unit is a pair of complements
    total = _unit_count(k, s)
    assert len(seen) == total and set(seen.values()) == {factorial(k) * n // total}
    # and the relabelling draws every permutation alike
    codes = _relabelled_codes(balanced_units(4, 1, 2), 24_000, np.random.default_rng(1))
    pairs = Counter(tuple(int(c) for c in row) for row in codes[:, :, 0])
    assert codes.shape == (24_000, 2, 1) and len(pairs) == 12  # ordered pairs of distinct singletons
    expected = 24_000 / 12
    assert sum((v - expected) ** 2 / expected for v in pairs.values()) < 31.3  # 11 df, p = 0.001


def _kernel_gram(k: int) -> np.ndarray:
    """``sum_S kernel(S) z z'`` over every coalition of sizes ``1 .. k - 1`` (enumerated)."""
    exact = np.zeros((k, k))
    for s in range(1, k):
        for combo in combinations(range(k), s):
            z = np.zeros(k)
            z[list(combo)] = 1
            exact += kernel_weight(k, s) * np.outer(z, z)
    return exact


def test_balanced_designs_hold_the_strata_gram_matrix():
    """What balancing buys: a design's weighted Gram matrix ``sum w z z'`` is close to the one over
    every coalition (it depends only on how often each player and each pair is drawn), so the
    regression's error no longer carries a player drawn too often or too rarely by chance."""
    k, pairs = 10, 150
    exact = _kernel_gram(k)
    gap = {}
    for balanced in (False, True):
        designs = build_reference_designs(k, pairs, "kernel", 100, np.random.default_rng(0), balanced=balanced)
        Z = designs.masks.astype(float)
        gram = np.einsum("rqi,rq,rqj->rij", Z, designs.weights, Z)
        gap[balanced] = float(np.linalg.norm(gram - exact, axis=(1, 2)).mean() / np.linalg.norm(exact))
    assert gap[True] < 0.5 * gap[False], gap  # about 0.009 against 0.023


@pytest.mark.parametrize("balanced", [False, True])
def test_reference_designs_weights_are_unbiased(balanced):
    # for any coalition function g, sum_i w_i g(S_i) estimates sum_S kernel(S) g(S); take g = z z'
    k = 7
    exact = _kernel_gram(k)
    rng = np.random.default_rng(5)
    total = np.zeros((k, k))
    n_designs = 0
    for _ in range(60):
        designs = build_reference_designs(k, 14, "leverage", 10, rng, balanced=balanced)
        Z = designs.masks.astype(float)
        total += np.einsum("rqi,rq,rqj->ij", Z, designs.weights, Z)
        n_designs += 10
    np.testing.assert_allclose(total / n_designs, exact, rtol=0.03)


@pytest.mark.parametrize("k", [3, 4, 7, 8, 9])
def test_stratum_gram_is_the_sum_over_the_strata_units(k):
    for s in range(1, k // 2 + 1):
        units = [np.isin(np.arange(k), c) for c in combinations(range(k), s)]
        if 2 * s == k:  # the middle stratum: each unit once, not once per member
            units = [z for z in units if z[0]]
        by_hand = sum(np.outer(z, z) + np.outer(~z, ~z) for z in units) * kernel_weight(k, s)
        np.testing.assert_allclose(stratum_gram(k, s), by_hand, rtol=1e-12)
    np.testing.assert_allclose(sum(stratum_gram(k, s) for s in range(1, k // 2 + 1)), _kernel_gram(k), rtol=1e-12)


def _kkt(A: np.ndarray, b: np.ndarray, delta: float) -> np.ndarray:
    k = A.shape[0]
    kkt = np.zeros((k + 1, k + 1))
    kkt[:k, :k] = A
    kkt[:k, k] = kkt[k, :k] = 1.0
    return np.linalg.solve(kkt, np.append(b, delta))[:k]


def dense_cross_fitted(designs, y, delta):
    """The cross-fitted estimator written out per background row with dense matrices: exact normal
    matrix by enumeration, each sampled unit's term less ``(X_u - E X_u)`` times the fit without its fold."""
    k = designs.n_players
    group = np.asarray(designs.unit_group)
    sampled = np.flatnonzero(group >= 0)
    n_folds = min(CROSS_FIT_FOLDS, sampled.size)
    fold_of = np.empty(len(group), dtype=int)
    for j in range(n_folds):
        fold_of[sampled[j::n_folds]] = j
    stratum = {}
    for s in range(1, k // 2 + 1):
        units = [np.isin(np.arange(k), c) for c in combinations(range(k), s)]
        units = [z for z in units if z[0]] if 2 * s == k else units
        stratum[s] = sum(np.outer(z, z) + np.outer(~z, ~z) for z in units) * kernel_weight(k, s)
    expected = [sum(stratum[s] for s in strata) / n for strata, n in zip(designs.group_strata, designs.group_sizes)]
    phis, variances = [], []
    for r in range(designs.codes.shape[0]):
        Z = designs.units[r]
        w = designs.pair_weights[r]
        X = [w[u] * (np.outer(Z[u], Z[u]) + np.outer(~Z[u], ~Z[u])) for u in range(len(Z))]
        t = [w[u] * (Z[u] * y[r, 2 * u, 0] + ~Z[u] * y[r, 2 * u + 1, 0]) for u in range(len(Z))]
        EX = [X[u] if group[u] < 0 else expected[group[u]] for u in range(len(Z))]
        A = sum(EX)
        pilots = [_kkt(sum(X[u] for u in range(len(Z)) if group[u] < 0 or fold_of[u] != j),
                       sum(t[u] for u in range(len(Z)) if group[u] < 0 or fold_of[u] != j), delta[r, 0])
                  for j in range(n_folds)]
        b = sum(t[u] - (X[u] - EX[u]) @ pilots[fold_of[u]] if group[u] >= 0 else t[u] for u in range(len(Z)))
        phis.append(_kkt(A, b, delta[r, 0]))
        Ainv = np.linalg.inv(A)
        a1 = Ainv.sum(axis=1)
        Q = Ainv - np.outer(a1, a1) / a1.sum()
        var = np.zeros(k)
        for g, n in enumerate(designs.group_sizes):
            units = np.flatnonzero(group == g)
            if units.size:
                h = np.array([n * Q @ (t[u] - X[u] @ pilots[fold_of[u]]) for u in units])
                var += designs.group_fpc[g] * h.var(axis=0, ddof=1) / n
        variances.append(var)
    return np.array(phis)[:, :, None], np.array(variances)[:, :, None]


@pytest.mark.parametrize(("k", "pairs", "strategy", "balanced"), [
    (6, 14, "kernel", False), (8, 20, "leverage", True), (9, 60, "kernel", False), (10, 24, "leverage", False),
])
def test_cross_fitted_equals_dense_formulas(k, pairs, strategy, balanced):
    # one fold per sampled unit (up to CROSS_FIT_FOLDS units) and dealt folds beyond; groups of one
    # stratum and of several
    rng = np.random.default_rng(k)
    designs = build_reference_designs(k, pairs, strategy, 3, rng, balanced=balanced)
    y = rng.normal(size=(3, designs.codes.shape[1] * 2, 1))
    delta = rng.normal(size=(3, 1))
    phi, var = cross_fitted(designs, y, delta)
    want_phi, want_var = dense_cross_fitted(designs, y, delta)
    np.testing.assert_allclose(phi, want_phi, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(var, want_var, rtol=1e-9, atol=1e-12)
    n_sampled = int((np.asarray(designs.unit_group) >= 0).sum())
    assert n_sampled > (4 * CROSS_FIT_FOLDS if pairs == 60 else 1)


def test_cross_fitting_removes_the_ratio_bias_and_estimates_its_variance():
    """Many designs on one saturating game of 8 players, at 4d coalitions (8 enumerated singleton
    pairs, 8 sampled): the plain regression's mean over designs is off by several of its standard
    errors, the cross-fitted one's is not, and the cross-fitted variance estimate matches the spread
    of its estimates over designs."""
    k, m = 8, 4000
    a = np.linspace(-1.0, 1.5, k)

    def game(masks: np.ndarray) -> np.ndarray:
        z = masks.astype(float)
        return np.tanh(2.0 * (z @ a) - 1.0 + 1.5 * z[..., 0] * z[..., 1])

    allm = np.array([[(i >> j) & 1 for j in range(k)] for i in range(2**k)], dtype=bool)
    v = game(allm) - game(np.zeros(k, dtype=bool))
    exact = np.zeros(k)
    for i, z in enumerate(allm):  # Shapley values by enumeration
        for j in np.flatnonzero(~z):
            s = int(z.sum())
            exact[j] += factorial(s) * factorial(k - s - 1) / factorial(k) * (v[i | (1 << j)] - v[i])
    designs = build_reference_designs(k, 2 * k, "kernel", m, np.random.default_rng(0))
    y = (game(designs.masks) - game(np.zeros(k, dtype=bool)))[..., None]
    delta = np.full((m, 1), v[-1])
    t = {}
    for cross_fit in (False, True):
        phi, var = per_reference_estimates(designs, y, delta, cross_fit=cross_fit)
        mean, spread = phi[:, :, 0].mean(axis=0), phi[:, :, 0].std(axis=0, ddof=1)
        t[cross_fit] = np.abs(mean - exact) / (spread / np.sqrt(m))
        if cross_fit:
            ratio = np.sqrt(var[:, :, 0].mean(axis=0)) / spread
            assert ((ratio > 0.85) & (ratio < 1.3)).all(), ratio
    assert t[False].max() > 5.0, t[False]  # the plain regression's bias shows
    assert t[True].max() < 3.5, t[True]


def test_reference_designs_enumerate_and_deal():
    designs = build_reference_designs(6, 31, "kernel", 3, np.random.default_rng(0))
    assert designs.exact and designs.units.shape == (3, 31, 6)
    designs = build_reference_designs(12, 60, "leverage", 20, np.random.default_rng(0))
    singles = _all_units(12, 1)
    for r in range(20):  # the singletons are enumerated for every row, the rest are distinct
        assert (designs.units[r, :12] == singles).all()
        assert len({row.tobytes() for row in designs.units[r]}) == 60


# ------------------------------------------------------------------ model rows
def test_hybrid_rows_copy_values_bit_for_bit():
    x = np.array([np.nan, -0.0, np.inf, 1e-310])
    bg = np.array([[1.0, 2.0, -np.inf, np.nan]])
    rows = hybrid_rows(x, bg, np.array([[True, True, False, True], [False, True, True, False]]))
    expected = np.array([[np.nan, -0.0, -np.inf, 1e-310], [1.0, -0.0, np.inf, np.nan]])
    assert np.array_equal(rows.view(np.uint64), expected.view(np.uint64))


def test_paired_and_chain_rows_match_masks():
    rng = np.random.default_rng(1)
    masker = xk.TabularMasker(rng.normal(size=(3, 5)), groups={"ab": [0, 3]})
    x = rng.normal(size=5)
    units = rng.random((3, 4, masker.n_groups)) < 0.5
    masks = np.empty((3, 8, masker.n_groups), dtype=bool)
    masks[:, 0::2], masks[:, 1::2] = units, ~units
    codes = pack_coalitions(units)
    np.testing.assert_array_equal(masker.synthesize_pairs_per_reference(x, codes), masker.synthesize_per_reference(x, masks))
    np.testing.assert_array_equal(
        masker.synthesize_pairs_per_reference(x, codes, 1, 3), masker.synthesize_per_reference(x, masks[:, 2:6])
    )
    orders = np.stack([np.stack([rng.permutation(masker.n_groups) for _ in range(2)]) for _ in range(3)])
    chain = masker.synthesize_chains_per_reference(x, orders)
    via_masks = masker.synthesize_per_reference(x, prefix_masks(orders).reshape(3, -1, masker.n_groups))
    np.testing.assert_array_equal(chain, via_masks)
    np.testing.assert_array_equal(
        chain_rows_per_reference(x, masker.data, orders[:1, :1], *_ptr(masker)), via_masks[: masker.n_groups - 1]
    )
    np.testing.assert_array_equal(
        paired_rows_per_reference(x, masker.data, pack_coalitions(masker.feature_masks(units))),
        masker.synthesize_per_reference(x, masks),
    )


def test_paired_rows_with_codes_of_several_words():
    rng = np.random.default_rng(4)
    masker = xk.TabularMasker(rng.normal(size=(2, 140)), groups={"wide": [0, 64, 130, 139]})
    x = rng.normal(size=140)
    units = rng.random((2, 3, masker.n_groups)) < 0.5
    masks = np.empty((2, 6, masker.n_groups), dtype=bool)
    masks[:, 0::2], masks[:, 1::2] = units, ~units
    rows = masker.synthesize_pairs_per_reference(x, pack_coalitions(units))
    np.testing.assert_array_equal(rows, masker.synthesize_per_reference(x, masks))


def _ptr(masker):
    order = np.argsort(masker.feature_group, kind="stable")
    return np.searchsorted(masker.feature_group[order], np.arange(masker.n_groups + 1)), order


def test_value_function_per_reference_batches_and_counts():
    bg = np.arange(12.0).reshape(4, 3)
    calls = []

    def f(X):
        calls.append(len(X))
        return X.sum(axis=1)

    vf = ValueFunction(adapt(f), xk.TabularMasker(bg), np.full(3, 100.0), batch_size=10)
    units = np.zeros((4, 5, 3), dtype=bool)
    units[:, :, 0] = True
    values = vf.pairs_per_reference(pack_coalitions(units))
    assert values.shape == (4, 10, 1) and max(calls) <= 10 and sum(calls) == 40
    np.testing.assert_allclose(values[:, 0, 0], 100 + bg[:, 1] + bg[:, 2])
    np.testing.assert_allclose(values[:, 1, 0], bg[:, 0] + 200)
    assert vf.n_rows == 40 and vf.n_coalitions == 10
    games = ReferenceGames(vf, f(bg)[:, None], np.array([300.0]), np.full(4, 0.25))
    chains = games.chains(np.tile(np.array([2, 0, 1]), (4, 1, 1)))
    np.testing.assert_allclose(chains[:, 0, :, 0], np.stack([bg[:, 0] + bg[:, 1] + 100, bg[:, 1] + 200], axis=1))
    assert games.n_evaluations == 2


@pytest.mark.parametrize("method", ["pairs", "chains", "shared", "per_reference"])
def test_value_function_reuses_its_buffer_only_when_nobody_else_holds_it(method):
    rng = np.random.default_rng(7)
    bg, x = rng.normal(size=(5, 4)), rng.normal(size=4)
    kept, copies = [], []

    def keeps_its_input(X):  # a model that holds on to every input (a cache, a log)
        kept.append(X)
        copies.append(X.copy())
        return X.sum(axis=1)

    def returns_a_view(X):  # an output that is a view of the input
        return X[:, 1:2]

    units = rng.random((5, 7, 4)) < 0.5
    orders = np.stack([np.stack([rng.permutation(4) for _ in range(7)]) for _ in range(5)])
    masks = rng.random((7, 4)) < 0.5

    def evaluate(f, batch_size):
        vf = ValueFunction(adapt(f), xk.TabularMasker(bg), x, batch_size=batch_size)
        if method == "pairs":
            return vf.pairs_per_reference(pack_coalitions(units))
        if method == "chains":
            return vf.chains_per_reference(orders)
        if method == "shared":
            return vf(masks)
        return vf.per_reference(units)

    for f in (keeps_its_input, returns_a_view):
        one_call = evaluate(f, 10**6)
        np.testing.assert_array_equal(evaluate(f, 10), one_call)  # many calls, one buffer or several
    assert len(kept) > 2
    for X, X0 in zip(kept, copies):  # what the model kept was never overwritten
        np.testing.assert_array_equal(X, X0)


# ------------------------------------------------------------------ estimators
def pairwise_game(X):
    """Every single-reference game of this model has interactions of order two at most."""
    X = np.asarray(X, dtype=float)
    return X[:, 0] * X[:, 1] - 2 * X[:, 2] * X[:, 3] + np.sin(X[:, 4]) + X[:, 1] * X[:, 5]


@pytest.mark.parametrize("n_background", [7, 40])  # 40: the cross-fitted regressions
@pytest.mark.parametrize("cls", [xk.KernelShap, xk.LeverageShap, xk.PermutationShap])
def test_exact_for_games_of_order_two_at_the_smallest_budget(cls, n_background):
    # paired coalitions make each background row's regression exact for order-2 games, and so do
    # antithetic orders: sampling per background row keeps that exactness for the averaged game
    rng = np.random.default_rng(2)
    bg, X = rng.normal(size=(n_background, 6)), rng.normal(size=(3, 6))
    exact = xk.ExactShapley(pairwise_game, background=bg).explain(X).values
    budget = 12 if cls is not xk.PermutationShap else 10
    est = cls(pairwise_game, background=bg).explain(X, n_samples=budget, random_state=0)
    np.testing.assert_allclose(est.values, exact, rtol=0, atol=1e-10)
    assert (est.diagnostics["n_model_calls"] <= budget).all()


@pytest.mark.parametrize("n_background", [5, 40])  # 40: the cross-fitted regressions
@pytest.mark.parametrize("cls", [xk.KernelShap, xk.LeverageShap, xk.PermutationShap, xk.RegressionAdjustedShap])
def test_more_than_64_features(cls, n_background):
    # coalition codes of two words; the Shapley kernel's binomials exceed 64-bit integers from k = 67
    rng = np.random.default_rng(6)
    d = 70
    w = rng.normal(size=d)
    bg, X = rng.normal(size=(n_background, d)), rng.normal(size=(2, d))

    def f(Z):
        return Z @ w + 0.5 * Z[:, 0] * Z[:, 65]

    # closed form: the linear part gives w (x - b), the product splits (x0 x65 - b0 b65) in halves
    expected = (X - bg.mean(axis=0)) * w
    for i in range(2):
        expected[i, 0] += 0.25 * np.mean((X[i, 0] - bg[:, 0]) * (X[i, 65] + bg[:, 65]))
        expected[i, 65] += 0.25 * np.mean((X[i, 65] - bg[:, 65]) * (X[i, 0] + bg[:, 0]))
    est = cls(f, background=bg).explain(X, n_samples=4 * d, random_state=0)
    np.testing.assert_allclose(est.values[:, :, 0], expected, rtol=0, atol=1e-10)


def test_per_reference_beats_shared_sampling_on_a_game_with_higher_order_terms():
    def f(X):
        X = np.asarray(X, dtype=float)
        return np.tanh(X[:, 0] * X[:, 1] * X[:, 2]) + X[:, 3] * X[:, 4] * X[:, 5] + np.exp(0.5 * X[:, 6]) * X[:, 7]

    rng = np.random.default_rng(4)
    bg, X = rng.normal(size=(30, 10)), rng.normal(size=(8, 10))
    exact = xk.ExactShapley(f, background=bg).explain(X).values
    errors = {}
    for name, cls in [("per_reference", xk.LeverageShap), ("shared", SharedLeverage)]:
        err = [np.abs(cls(f, background=bg).explain(X, n_samples=60, random_state=s).values - exact).mean() for s in range(4)]
        errors[name] = np.mean(err)
    assert errors["per_reference"] < 0.6 * errors["shared"], errors


class SharedLeverage(xk.LeverageShap):
    """Leverage SHAP on one set of coalitions shared by all background rows (shap's way)."""

    per_reference = False


def twelve_feature_model(X):
    X = np.asarray(X, dtype=float)
    return np.tanh(X[:, 0] * X[:, 1] * X[:, 2]) + X[:, 3] * X[:, 4] * X[:, 5] + np.sin(X[:, 6] + X[:, 7] * X[:, 8]) + X[:, 9:].prod(axis=1)


@pytest.mark.parametrize("cls", [xk.LeverageShap, xk.PermutationShap])
def test_std_err_honest_when_the_variance_is_estimated_from_a_subsample(cls):
    # 1000 coalitions for 12 features and 40 background rows: Leverage SHAP's groups hold more pairs
    # than their share of VARIANCE_PAIRS, so their variance comes from a random subsample of them
    rng = np.random.default_rng(8)
    bg, X = rng.normal(size=(40, 12)), rng.normal(size=(3, 12))
    exact = xk.ExactShapley(twelve_feature_model, background=bg).explain(X).values
    design = build_reference_designs(12, 500, "leverage", 40, rng)
    share = max(16, -(-VARIANCE_PAIRS // (40 * len(design.group_sizes))))
    assert max(design.group_sizes) > share
    covered = []
    for seed in range(30):
        exp = cls(twelve_feature_model, background=bg).explain(X, n_samples=1000, random_state=seed)
        se = exp.diagnostics["std_err"]
        assert np.isfinite(se).all() and (se > 0).all()
        covered.append(np.abs(exp.values - exact) <= 2 * se)
    assert np.mean(covered) >= 0.9, np.mean(covered)
