"""LIME's stratified sampling: the same estimand as independent draws, with less variance over seeds.

The estimand of LIME for a row is the expectation, over the sampling distribution, of its weighted
ridge fit. ``sampling="stratified"`` (the default) draws every perturbation from the same
distribution as ``sampling="iid"`` (scrambled Sobol uniforms through the same inverse CDFs for
tables, thresholded at 1/2 for image segments, and LIME's count-then-subset law written as a
mixture of binomials for documents), so the mean over many seeds must agree with the iid mean within
their standard errors; a deliberately biased sampler must fail the same comparison.

Many seeds run in one call: a row repeated ``K`` times gets ``K`` independent seed streams.
"""

from __future__ import annotations

import re
from itertools import combinations

import numpy as np
import pytest

import xaikit as xk
import xaikit.maskers.neighbourhood as neighbourhood
from xaikit.errors import InvalidParameterError
from xaikit.maskers.neighbourhood import draw_counts, uniforms

K = 60  # seeds (repeated rows) per estimate


def _mean_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |mean(a) - mean(b)| over the coefficients, in standard errors of the difference
    (``a``, ``b``: ``(K, ...)`` estimates from independent seeds)."""
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    gap = np.abs(a.mean(axis=0) - b.mean(axis=0))
    scale = max(float(se.max()), 1e-12)
    return float((gap / np.maximum(se, 1e-3 * scale)).max())


def _table_model(X: np.ndarray) -> np.ndarray:
    """A non-linear function of three of five features (interactions and a threshold)."""
    X = np.asarray(X, dtype=np.float64)
    return np.tanh(X[:, 0] * X[:, 1]) + (X[:, 2] > 0.3) + 0.5 * X[:, 0] * (X[:, 3] == 1)


@pytest.fixture(scope="module")
def table() -> tuple[xk.Lime, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    X[:, 3] = rng.integers(0, 3, size=300)  # a categorical feature with three codes
    masker = xk.TabularMasker(X, discretize="quartile", categorical_features=[3])
    return xk.Lime(_table_model, masker=masker, n_features=5), X


def _table_estimates(table: tuple[xk.Lime, np.ndarray], sampling: str, seed: int = 0) -> np.ndarray:
    lime, X = table
    exp = lime.explain(np.repeat(X[:1], K, axis=0), n_samples=300, random_state=seed, sampling=sampling)
    return np.concatenate([exp.values[:, :, 0], exp.base_values], axis=1)  # (K, d + 1)


def test_tables_keep_the_estimand(table) -> None:
    iid, strat = _table_estimates(table, "iid"), _table_estimates(table, "stratified", seed=1)
    assert _mean_gap(strat, iid) < 4.0


def test_a_biased_sampler_fails_the_same_comparison(table, monkeypatch) -> None:
    iid = _table_estimates(table, "iid")

    def biased(rng: np.random.Generator, n: int, d: int, sampling: str = "iid") -> np.ndarray:
        return uniforms(rng, n, d, sampling) ** 1.5  # skews every category and bin towards the first

    monkeypatch.setattr(neighbourhood, "uniforms", biased)
    assert _mean_gap(_table_estimates(table, "stratified", seed=1), iid) > 4.0


def test_tables_vary_less_over_seeds(table) -> None:
    iid, strat = _table_estimates(table, "iid"), _table_estimates(table, "stratified")
    sd_iid, sd_strat = iid[:, :5].std(axis=0, ddof=1), strat[:, :5].std(axis=0, ddof=1)
    assert sd_strat.mean() < 0.8 * sd_iid.mean()


def _count_model(texts: list[str]) -> np.ndarray:
    """Depends on two words, on their interaction and on the document's length."""
    out = []
    for t in texts:
        words = re.findall(r"\w+", t)
        good, great = "good" in words, "great" in words
        out.append(0.2 + 0.4 * good + 0.3 * great - 0.3 * good * great + 0.02 * len(words))
    return np.asarray(out)[:, None]


def _text_estimates(sampling: str, seed: int) -> np.ndarray:
    doc = "a good and great film with a fine cast"
    lime = xk.Lime(_count_model, masker=xk.TextMasker(), n_features=4)
    exp = lime.explain([doc] * K, n_samples=1000, random_state=seed, sampling=sampling)
    return np.concatenate([exp.values[:, :, 0], exp.base_values], axis=1)


def test_documents_keep_the_estimand_and_vary_less() -> None:
    iid, strat = _text_estimates("iid", 0), _text_estimates("stratified", 1)
    assert _mean_gap(strat, iid) < 4.0
    assert strat.std(axis=0, ddof=1).mean() < 0.95 * iid.std(axis=0, ddof=1).mean()


def test_images_keep_the_estimand() -> None:
    seg = np.repeat(np.repeat(np.arange(9).reshape(3, 3), 2, axis=0), 2, axis=1)
    image = np.linspace(0.1, 1.0, 36 * 3).reshape(6, 6, 3)

    def model(X: np.ndarray) -> np.ndarray:  # a product of two blocks plus a third
        X = np.asarray(X)
        return X[:, :2, :2].mean(axis=(1, 2, 3)) * X[:, 2:4, 2:4].mean(axis=(1, 2, 3)) + X[:, 4:, 4:].mean(axis=(1, 2, 3))

    lime = xk.Lime(model, masker=xk.ImageMasker(segmentation=seg, fill="constant", fill_value=0.0), n_features=9)
    est = {s: lime.explain(np.repeat(image[None], K, axis=0), n_samples=400, random_state=i, sampling=s).values[:, :, 0]
           for i, s in enumerate(("iid", "stratified"))}
    assert _mean_gap(est["stratified"], est["iid"]) < 4.0
    assert est["stratified"].std(axis=0, ddof=1).mean() < 0.5 * est["iid"].std(axis=0, ddof=1).mean()


def test_top5_stability_rises_on_a_fixed_case(table) -> None:
    lime, X = table
    rows = X[:6]

    def stability(sampling: str) -> float:
        tops = [[frozenset(np.argsort(-np.abs(v), kind="stable")[:3].tolist())
                 for v in lime.explain(rows, n_samples=300, random_state=s, sampling=sampling).values[:, :, 0]]
                for s in range(4)]
        return float(np.mean([len(a[i] & b[i]) / len(a[i] | b[i]) for a, b in combinations(tops, 2)
                              for i in range(len(rows))]))

    assert stability("stratified") > stability("iid")


def test_seeded_runs_repeat_and_seeds_differ(table) -> None:
    lime, X = table
    a, b, c = (lime.explain(X[:3], n_samples=200, random_state=s).values for s in (5, 5, 6))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_samplers_draw_exact_shares() -> None:
    rng = np.random.default_rng(0)
    counts = np.bincount(draw_counts(rng, 999, np.array([1.0, 2.0, 6.0]), "stratified"), minlength=3)
    assert counts.tolist() == [111, 222, 666]
    u = uniforms(rng, 1024, 3, "stratified")
    assert (np.bincount(np.floor(u * 8).astype(int).ravel(), minlength=8) == 3 * 128).all()
    # images: every segment kept in exactly half of 1,024 perturbed rows
    masker = xk.ImageMasker(segmentation=np.arange(6).reshape(2, 3))
    S = masker.sample(masker.prepare(np.zeros((2, 3)))[0], 1025, rng, sampling="stratified")
    assert (S[1:].sum(axis=0) == 512).all()
    # documents: LIME's law, 1..d tokens hidden, never none
    item = xk.TextMasker().prepare("one two three four")[0]
    S = xk.TextMasker().sample(item, 2001, rng, sampling="stratified")
    hidden = np.bincount((4 - S[1:].sum(axis=1)).astype(int), minlength=5)
    assert hidden[0] == 0 and np.abs(hidden[1:] - 500).max() < 60
    # tables: the categorical feature's shares as in the background, to within one draw
    X = np.column_stack([np.arange(12.0), np.repeat([0.0, 1.0, 2.0], [2, 4, 6])])
    masker = xk.TabularMasker(X, categorical_features=[1])
    _, Z = masker.neighbourhood.sample(X[0], 1201, rng, sampling="stratified")
    assert np.abs(np.bincount(Z[1:, 1].astype(int)) - np.array([200, 400, 600])).max() <= 1


def test_bad_sampling_is_named(table) -> None:
    lime, X = table
    with pytest.raises(InvalidParameterError, match="sampling"):
        lime.explain(X[:1], n_samples=50, sampling="sobol")
    item = xk.TextMasker().prepare("one two")[0]
    with pytest.raises(InvalidParameterError, match="sampling"):
        xk.TextMasker().sample(item, 5, np.random.default_rng(0), sampling="halton")


def test_row_groups_change_nothing_but_the_calls(table, monkeypatch) -> None:
    import xaikit.explainers.surrogate.lime as lime_module

    lime, X = table
    calls: list[int] = []
    model = lime.model.predict

    def counting(Z):
        calls.append(len(Z))
        return model(Z)

    monkeypatch.setattr(lime.model, "predict", counting)
    grouped = lime.explain(X[:5], n_samples=500, random_state=2)
    grouped_calls = list(calls)
    calls.clear()
    monkeypatch.setattr(lime_module, "GROUP_PERTURBATIONS", 1)
    alone = lime.explain(X[:5], n_samples=500, random_state=2)
    assert np.array_equal(grouped.values, alone.values)
    assert np.array_equal(grouped.diagnostics["local_fidelity"], alone.diagnostics["local_fidelity"])
    assert grouped_calls == [5, 2500] and calls == [5] + [500] * 5  # the originals, then the perturbations


def _shared_estimates(table: tuple[xk.Lime, np.ndarray], share: bool, seeds: range) -> np.ndarray:
    """Row 0's estimates over ``seeds``, explained in a group with seven other rows (one call per seed)."""
    lime, X = table
    out = []
    for seed in seeds:
        exp = lime.explain(X[:8], n_samples=300, random_state=seed, share_draws=share)
        out.append(np.concatenate([exp.values[0, :, 0], exp.base_values[0]]))
    return np.array(out)


def test_shared_draws_keep_the_estimand_and_vary_less(table) -> None:
    """A group's rows fitting on each other's draws estimate what each row's own draws estimate
    (LIME draws a table's perturbations from the training statistics, whatever the row), with
    about 1/sqrt(8) of the spread."""
    shared, own = _shared_estimates(table, True, range(40)), _table_estimates(table, "stratified", seed=3)
    assert _mean_gap(shared, own) < 4.0
    assert shared[:, :5].std(axis=0, ddof=1).mean() < 0.6 * own[:, :5].std(axis=0, ddof=1).mean()


def test_shared_draws_in_the_drawing_rows_form_fail_the_comparison(table, monkeypatch) -> None:
    """Negative control: pooling the draws as the rows that drew them see them (their own bins and
    categories), instead of in each row's own interpretable form, changes the estimand."""
    import xaikit.explainers.surrogate.lime as lime_module

    def wrong(masker, draws, Y, n):
        pool_S = np.concatenate([S[1:] for S, _, _ in draws])
        pool_Y = np.concatenate([Y[i * n + 1:(i + 1) * n] for i in range(len(draws))])
        for i, (S, _, _) in enumerate(draws):
            yield np.concatenate([S[:1], pool_S]), np.concatenate([Y[i * n:i * n + 1], pool_Y])

    own = _table_estimates(table, "stratified", seed=3)
    monkeypatch.setattr(lime_module, "_shared_samples", wrong)
    assert _mean_gap(_shared_estimates(table, True, range(40)), own) > 4.0


def test_shared_draws_follow_the_groups_not_the_executor(table) -> None:
    lime, X = table
    serial = lime.explain(X[:11], n_samples=300, random_state=5, share_draws=True)
    threads = lime.explain(X[:11], n_samples=300, random_state=5, share_draws=True, executor="threads:2")
    assert np.array_equal(serial.values, threads.values)
    alone = lime.explain(X[:1], n_samples=300, random_state=5, share_draws=True)  # a group of one: its own draws
    assert np.array_equal(alone.values, lime.explain(X[:1], n_samples=300, random_state=5).values)
    assert not np.array_equal(serial.values[:1], alone.values)
    assert (serial.diagnostics["n_model_calls"] == 300).all()


def test_shared_draws_refused_where_rows_cannot_share(table) -> None:
    lime, X = table
    with pytest.raises(InvalidParameterError, match="share_draws: expected True or False"):
        lime.explain(X[:2], n_samples=50, share_draws=1)
    with pytest.raises(InvalidParameterError, match="^stability"):
        lime.explain(X[:2], n_samples=50, share_draws=True, stability=2)
    with pytest.raises(InvalidParameterError, match="share_draws: RowSeeds"):
        lime.explain(X[:2], n_samples=50, share_draws=True, random_state=xk.RowSeeds(0, [4, 9]))
    around = xk.Lime(_table_model, masker=xk.TabularMasker(X, sample_around_instance=True), n_features=5)
    with pytest.raises(InvalidParameterError, match="share_draws: the masker samples around each row"):
        around.explain(X[:2], n_samples=50, share_draws=True)
    with pytest.raises(InvalidParameterError, match="share_draws: only for tables"):
        xk.Lime(_count_model, masker=xk.TextMasker()).explain(["a good film"], n_samples=50, share_draws=True)


def test_binary_moments_equal_the_dense_ones() -> None:
    """A 0/1 design's moments accumulated over its ones (bool S) against the dense product of the same
    design as floats, with outputs far from 0 (centring must not cancel) and rows without a one."""
    from xaikit.explainers.surrogate.lime import _Moments

    rng = np.random.default_rng(11)
    for n, d, p in ((200, 1, 0.5), (500, 7, 0.25), (2000, 30, 0.1), (300, 12, 0.9)):
        H = rng.random((n, d)) < p
        H[0] = True
        w = rng.random(n) ** 3
        Y = 1e3 + rng.normal(size=(n, 2)) + H[:, :1] * 2.0
        fast, dense = _Moments(H, Y, w), _Moments(H.astype(np.float64), Y, w)
        for name in ("xbar", "ybar", "G", "C"):
            a, b = getattr(fast, name), getattr(dense, name)
            assert np.abs(a - b).max() <= 1e-10 * max(1.0, np.abs(b).max()), (n, d, name)
        assert fast.sw == pytest.approx(dense.sw, rel=1e-14)
        sel, test = np.arange(0, d, 2), np.arange(1, n, 5)
        for a, b in ((fast.fit(H, Y[:, 1], w, sel, 1, 1.0), dense.fit(H.astype(np.float64), Y[:, 1], w, sel, 1, 1.0)),
                     (fast.held_out(H[np.ix_(test, sel)], Y[test, 0], w[test], sel, 0, 0.5),
                      dense.held_out(H[np.ix_(test, sel)].astype(np.float64), Y[test, 0], w[test], sel, 0, 0.5))):
            np.testing.assert_allclose(a.coef, b.coef, rtol=1e-9, atol=1e-9 * np.abs(b.coef).max())
            np.testing.assert_allclose(a.std_err, b.std_err, rtol=1e-9, atol=1e-9 * np.abs(b.std_err).max())
            assert a.intercept == pytest.approx(b.intercept, rel=1e-12)


def test_shared_draws_of_a_binned_table_fit_as_floats_do(table, monkeypatch) -> None:
    """Every feature binned or categorical: the shared sample is bool and its fit takes the compiled
    moments; the same sample as floats (the dense fit) gives the same explanation."""
    import xaikit.explainers.surrogate.lime as lime_module

    lime, X = table
    fast = lime.explain(X[:8], n_samples=300, random_state=4, share_draws=True)
    real = lime_module._shared_samples
    kinds: list[np.dtype] = []

    def as_floats(masker, draws, Y, n):
        for S, y in real(masker, draws, Y, n):
            kinds.append(S.dtype)
            yield S.astype(np.float64), y

    monkeypatch.setattr(lime_module, "_shared_samples", as_floats)
    dense = lime.explain(X[:8], n_samples=300, random_state=4, share_draws=True)
    assert kinds and all(k == np.dtype(bool) for k in kinds)
    np.testing.assert_allclose(fast.values, dense.values, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fast.diagnostics["local_fidelity"], dense.diagnostics["local_fidelity"], rtol=1e-9)
