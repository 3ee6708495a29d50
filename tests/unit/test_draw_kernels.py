"""The compiled draws of LIME's table sampler (``xaikit.maskers._draws``) and what they feed.

* the normal quantile (AS 241) against scipy over the whole of (0, 1), tails included;
* the scrambled Sobol uniforms: the unscrambled points are scipy's, the first ``2^k`` points stay a
  digital net after the scramble, each point is marginally uniform and two seeds differ;
* the fused categorical and binned draw against the previous NumPy implementation (kept here as
  the oracle) given the same uniforms, for ``sampling="iid"`` and ``"stratified"``;
* ``sample(..., bins=True)``, :meth:`bin_table` and :meth:`own_index`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.maskers import neighbourhood
from xaikit.maskers._draws import ndtri, ndtri_array, scrambled_sobol
from xaikit.maskers.neighbourhood import _sobol_directions, uniforms

# --------------------------------------------------------------------------- the normal quantile


def test_ndtri_matches_scipy_over_the_whole_range() -> None:
    from scipy.special import ndtri as scipy_ndtri

    rng = np.random.default_rng(0)
    p = np.concatenate([
        rng.random(50_000),
        10.0 ** -rng.uniform(0, 320, 20_000),  # lower tail down to subnormals
        1.0 - 10.0 ** -rng.uniform(0, 16, 20_000),  # upper tail up to the last double below 1
        np.linspace(0.0745, 0.0755, 2001), np.linspace(0.9245, 0.9255, 2001),  # the branch points
        [5e-324, 1e-300, np.nextafter(1.0, 0.0), 0.5 + 1e-17, 0.25, 0.75],
    ])
    ours, theirs = ndtri_array(p[None, :])[0], scipy_ndtri(p)
    assert np.isfinite(ours).all()
    nonzero = theirs != 0
    rel = np.abs(ours[nonzero] - theirs[nonzero]) / np.abs(theirs[nonzero])
    assert rel.max() < 2e-15
    assert np.abs(ours[~nonzero]).max() < 1e-300


def test_ndtri_ends_and_outside() -> None:
    assert ndtri(0.0) == -np.inf and ndtri(1.0) == np.inf and ndtri(0.5) == 0.0
    assert np.isnan(ndtri(-0.1)) and np.isnan(ndtri(1.5)) and np.isnan(ndtri(np.nan))
    both = ndtri_array(np.array([[0.0, 1.0, 0.3, -1.0], [0.97, np.nan, 1e-20, 0.5]]))
    assert both.shape == (2, 4)
    assert both[0, 0] == -np.inf and both[0, 1] == np.inf and np.isnan(both[0, 3]) and np.isnan(both[1, 1])
    assert both[0, 2] == ndtri(0.3) and both[1, 0] == ndtri(0.97) and both[1, 2] == ndtri(1e-20)


# --------------------------------------------------------------------------- scrambled Sobol points


@pytest.mark.parametrize("d", [1, 5, 40])
def test_unscrambled_points_are_scipys(d: int) -> None:
    from scipy.stats import qmc

    n = 300
    k = (n - 1).bit_length()
    identity = np.broadcast_to(np.uint32(1) << np.arange(32, dtype=np.uint32), (d, 32)).copy()
    ours = scrambled_sobol(np.ascontiguousarray(_sobol_directions(d)[:, :k]), identity, np.zeros(d, np.uint32), n, 1)
    theirs = qmc.Sobol(d, scramble=False, bits=32).random_base2(k)[:n]
    np.testing.assert_array_equal(np.floor(ours * 2.0**32), theirs * 2.0**32)
    # the first d dimensions of a bigger sequence are the same
    np.testing.assert_array_equal(_sobol_directions(d), qmc.Sobol(60, scramble=False, bits=32)._sv[:d])


@pytest.mark.parametrize("n", [1, 2, 3, 64, 100, 1000])
@pytest.mark.parametrize("d", [1, 3, 50, 400])
def test_stratified_columns(n: int, d: int) -> None:
    m = 1 << (n.bit_length() - 1)  # the largest power of two up to n
    for seed in range(3):
        u = uniforms(np.random.default_rng(seed), n, d, "stratified")
        assert u.shape == (n, d) and u.dtype == np.float64
        assert (u >= 0).all() and (u < 1).all()
        cells = np.sort(np.floor(u[:m] * m), axis=0)
        np.testing.assert_array_equal(cells, np.broadcast_to(np.arange(m, dtype=np.float64)[:, None], (m, d)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_first_two_dimensions_stay_a_net(seed: int) -> None:
    """The first two Sobol dimensions are a (0, k, 2)-net: every dyadic box of area 2^-k holds one of
    the first 2^k points. A scramble that mixed in less significant digits would break it."""
    k = 8
    u = uniforms(np.random.default_rng(seed), 1 << k, 3, "stratified")
    for a in range(k + 1):
        boxes = np.floor(u[:, 0] * 2**a) * 2 ** (k - a) + np.floor(u[:, 1] * 2 ** (k - a))
        assert np.unique(boxes).size == 1 << k, a


def test_points_are_marginally_uniform_over_seeds() -> None:
    """Any one point, over independent seeds, is d independent uniforms: the mean is 1/2 and the
    marginal passes a Kolmogorov-Smirnov bound (level 1e-6); the bits below 2^-32 are filled."""
    seeds, n, d = 600, 6, 4
    points = np.stack([uniforms(np.random.default_rng(s), n, d, "stratified") for s in range(seeds)])
    se = np.sqrt(1 / 12 / seeds)
    assert np.abs(points.mean(axis=0) - 0.5).max() < 5 * se
    bound = np.sqrt(-np.log(1e-6 / 2) / (2 * seeds))
    grid = np.arange(1, seeds + 1) / seeds
    for i in range(n):
        for j in range(d):
            x = np.sort(points[:, i, j])
            assert max(np.abs(grid - x).max(), np.abs(grid - 1 / seeds - x).max()) < bound, (i, j)
    # coordinates of one point are uncorrelated
    assert np.abs(np.corrcoef(points[:, 3, :].T) - np.eye(d)).max() < 5 / np.sqrt(seeds)
    assert np.any((points * 2.0**32) % 1.0 != 0)


def test_two_seeds_give_different_points_and_one_seed_the_same() -> None:
    a = uniforms(np.random.default_rng(1), 50, 7, "stratified")
    b = uniforms(np.random.default_rng(2), 50, 7, "stratified")
    assert np.abs(a - b).min() > 0
    np.testing.assert_array_equal(a, uniforms(np.random.default_rng(1), 50, 7, "stratified"))


# --------------------------------------------------------------------------- the fused discrete draw


def _oracle_inverse_cdf(stats: dict[str, Any], u: np.ndarray) -> np.ndarray:
    """The previous implementation's inverse CDF (lookup table plus moves up), verbatim."""
    m, t = u.shape
    cells = np.arange(m) / m
    table = np.concatenate([
        start + np.searchsorted(stats["cum"][start:start + size], cells, side="right")
        for start, size in zip(stats["starts"], stats["sizes"])
    ]).astype(np.intp)
    cell = np.minimum((u * m).astype(np.intp), m - 1)
    k = table[cell + np.arange(t) * m]
    cum = stats["cum"]
    while True:
        up = u >= cum[k]
        if not up.any():
            return k
        k += up


def _oracle_truncated_normal(stats: dict[str, Any], kb: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The previous implementation's truncated normal (scipy's ndtri), verbatim."""
    from scipy.special import ndtri as scipy_ndtri

    with np.errstate(divide="ignore", invalid="ignore"):
        z = scipy_ndtri(q)
    values = np.clip(stats["bin_mean"][kb] + stats["bin_scale"][kb] * z, stats["bin_low"][kb], stats["bin_high"][kb])
    if stats["bin_fixed"].any():
        fixed = stats["bin_fixed"][kb]
        values[fixed] = stats["bin_nearer"][kb[fixed]]
    return values


def _oracle(nb: Any, x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The previous ``sample``'s discrete part given the uniforms ``u``: ``(S, Z, k)`` of the discrete columns."""
    stats = nb._neighbourhood_stats()
    k = _oracle_inverse_cdf(stats, u)
    nc, t = stats["n_categorical"], u.shape[1]
    drawn = np.empty(u.shape)
    drawn[:, :nc] = stats["values"][k[:, :nc]]
    if t > nc:
        kb = k[:, nc:] - stats["starts"][nc]
        drawn[:, nc:] = _oracle_truncated_normal(stats, kb, stats["bin_q0"][kb] + u[:, nc:] * stats["bin_q1"][kb])
    own = np.empty(t, dtype=np.intp)
    for p, j in enumerate(stats["discrete"]):
        if p < nc:
            hit = np.flatnonzero(stats["values"][stats["starts"][p]:stats["starts"][p] + stats["sizes"][p]] == x[j])
            own[p] = stats["starts"][p] + hit[0] if hit.size else -1
        else:
            own[p] = stats["starts"][p] + int(nb.discretizer.features[int(j)].bin_of(x[j]))
    return (k == own).astype(np.float64), drawn, k


@pytest.fixture(scope="module")
def tables() -> dict[str, tuple[Any, np.ndarray]]:
    """German credit (categories and quartile bins) and a synthetic table with skewed, tied and
    constant columns (bins deep in a tail, bins without room) and a categorical column."""
    ds = xk.datasets.load_german_credit()
    frame = ds.frame
    cats = [frame.columns.get_loc(c) for c in ds.categorical_features]
    X = np.column_stack([frame[c].cat.codes.to_numpy() if frame[c].dtype == "category" else frame[c].to_numpy()
                         for c in frame.columns]).astype(np.float64)
    german = xk.TabularMasker(X[:600], discretize="quartile", categorical_features=cats).neighbourhood
    rng = np.random.default_rng(3)
    n = 400
    Y = np.column_stack([
        rng.exponential(size=n) ** 3,  # heavy right skew
        np.round(rng.normal(size=n)),  # ties
        np.zeros(n),  # constant
        rng.integers(0, 5, n).astype(float),  # categorical
        np.r_[np.zeros(n - 3), [1e6, 2e6, 3e6]],  # three far outliers
        rng.normal(size=n),
    ])
    synthetic = xk.TabularMasker(Y, discretize="decile", categorical_features=[3]).neighbourhood
    return {"german": (german, X[700:705]), "synthetic": (synthetic, np.vstack([Y[:3], [[1.0, 0.0, 0.0, 9.0, 5e5, 8.0]]]))}


@pytest.mark.parametrize("name", ["german", "synthetic"])
@pytest.mark.parametrize("sampling", ["iid", "stratified"])
def test_fused_draw_matches_the_previous_implementation(
    tables: dict[str, tuple[Any, np.ndarray]], name: str, sampling: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb, rows = tables[name]
    discrete = nb.bin_table()["discrete"]
    n = 1500
    for i, x in enumerate(rows):
        u = uniforms(np.random.default_rng(i), n - 1, discrete.size, sampling)
        u[:7] = np.array([0.0, 1e-300, 0.25, 0.5, 0.75, np.nextafter(1.0, 0.0), 1 - 1e-17])[:, None]  # edges of shares
        asked: list[str] = []

        def given(rng: np.random.Generator, m: int, d: int, how: str = "iid", u: np.ndarray = u, asked: list[str] = asked) -> np.ndarray:
            asked.append(how)
            return u.copy()

        monkeypatch.setattr(neighbourhood, "uniforms", given)
        S, Z, K = nb.sample(x, n, np.random.default_rng(0), sampling=sampling, bins=True)
        assert asked == [sampling]
        S_old, Z_old, k_old = _oracle(nb, x, u)
        np.testing.assert_array_equal(K[1:], k_old)
        np.testing.assert_array_equal(S[1:, discrete], S_old)
        np.testing.assert_allclose(Z[1:, discrete], Z_old, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(Z[0], x)
        assert (S[0] == 1).all()


def test_sample_with_bins(tables: dict[str, tuple[Any, np.ndarray]]) -> None:
    nb, rows = tables["german"]
    table = nb.bin_table()
    discrete, starts, sizes = table["discrete"], table["starts"], table["sizes"]
    nc = int(nb._neighbourhood_stats()["n_categorical"])
    for sampling in ("iid", "stratified"):
        x = rows[1]
        S, Z, K = nb.sample(x, 800, np.random.default_rng(5), sampling=sampling, bins=True)
        assert K.dtype == np.int64 and K.shape == (800, discrete.size)
        np.testing.assert_array_equal(K[0], nb.own_index(x))
        assert ((K[1:] >= starts) & (K[1:] < starts + sizes)).all()
        np.testing.assert_array_equal(S[:, discrete] == 1, K == nb.own_index(x))
        np.testing.assert_array_equal(Z[1:, discrete[:nc]], table["values"][K[1:, :nc]])
        stats = nb._neighbourhood_stats()
        b = K[1:, nc:] - starts[nc]
        assert ((Z[1:, discrete[nc:]] >= stats["bin_low"][b]) & (Z[1:, discrete[nc:]] <= stats["bin_high"][b])).all()
        # the same draws with and without the index
        S2, Z2 = nb.sample(x, 800, np.random.default_rng(5), sampling=sampling)
        np.testing.assert_array_equal(S2, S)
        np.testing.assert_array_equal(Z2, Z)


def test_bin_table_and_own_index() -> None:
    data = np.array([[0.0, 0.0], [2.0, 1.0], [4.0, 1.0], [6.0, 2.0], [8.0, 1.0]])
    nb = xk.TabularMasker(data, categorical_features=[1], discretize="quartile").neighbourhood
    table = nb.bin_table()
    assert table["discrete"].tolist() == [1, 0]
    blocks = [table["probabilities"][s:s + z] for s, z in zip(table["starts"], table["sizes"])]
    assert [float(b.sum()) for b in blocks] == pytest.approx([1.0, 1.0], abs=1e-12)
    np.testing.assert_allclose(blocks[0], [0.2, 0.6, 0.2])
    assert table["values"][:3].tolist() == [0.0, 1.0, 2.0]
    assert nb.own_index(np.array([4.0, 2.0])).tolist() == [2, 3 + 1]  # 4.0 is the 2nd quartile: bin 1
    assert nb.own_index(np.array([4.0, 7.0]))[0] == -1
    table["probabilities"][:] = 0  # a copy: the sampler's table is untouched
    assert nb.bin_table()["probabilities"].sum() == pytest.approx(2.0, abs=1e-12)
    # a category x has that the background lacks: never drawn, so S is 0 beyond row 0
    S, Z, K = nb.sample(np.array([4.0, 7.0]), 200, np.random.default_rng(0), bins=True)
    assert K[0, 0] == -1 and (S[1:, 1] == 0).all() and (K[1:, 0] >= 0).all()


def test_stratified_draws_follow_the_table() -> None:
    """Stratified uniforms through the inverse CDF: each category's count within one of its share."""
    rng = np.random.default_rng(0)
    data = np.column_stack([rng.integers(0, 3, 90).astype(float), rng.normal(size=90)])
    nb = xk.TabularMasker(data, categorical_features=[0], discretize="quartile").neighbourhood
    _, _, K = nb.sample(data[0], 1025, np.random.default_rng(1), sampling="stratified", bins=True)
    table = nb.bin_table()
    counts = np.bincount(K[1:].ravel(), minlength=table["probabilities"].size)
    assert np.abs(counts - 1024 * table["probabilities"]).max() <= 1.0 + 1e-9


def test_bad_arguments_are_named() -> None:
    nb = xk.TabularMasker(np.array([[0.0, 1.0], [1.0, 0.0]]), categorical_features=[0]).neighbourhood
    with pytest.raises(InvalidParameterError, match="bins: expected True or False"):
        nb.sample(np.zeros(2), 5, np.random.default_rng(0), bins="yes")  # type: ignore[call-overload]
    with pytest.raises(InvalidParameterError, match="x: expected one row of 2 features"):
        nb.own_index(np.zeros(3))
