"""Bootstrap intervals of FairnessReport: a resample missing a group, coverage, determinism, the sums themselves."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from xaikit.errors import InvalidParameterError
from xaikit.fairness.bootstrap import bootstrap_sums, percentile_interval
from xaikit.fairness.group_metrics import FairnessReport


def _tiny_group_data(n: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    g = np.array(["big"] * (n - 2) + ["tiny"] * 2)
    y = rng.integers(0, 2, n)
    p = rng.integers(0, 2, n)
    y[-2:], p[-2:] = [1, 0], [1, 1]
    return y, p, g


def test_plain_resample_missing_a_group_does_not_fail() -> None:
    y, p, g = _tiny_group_data()
    fr = FairnessReport(y, p, sensitive_features=g)
    with pytest.warns(UserWarning, match="resamples missed at least one group .*'tiny'"):
        res = fr.intervals(300, stratify=False, random_state=0)
    missing = res.diagnostics["missing_resamples"]
    # P(a resample misses both tiny rows) = (1 - 2/300)^300 ~ 0.134
    assert missing[0] == 0 and 20 <= missing[1] <= 70
    frame = res.disparities()
    dp = frame.loc["demographic_parity_difference"]
    assert dp["undefined"] == missing[1]
    assert np.isfinite(dp["lower"]) and dp["lower"] <= dp["upper"]
    tiny = res.by_group_intervals().loc["tiny"]
    assert np.isfinite(tiny["selection_rate_lower"])


def test_stratified_resamples_keep_every_group() -> None:
    y, p, g = _tiny_group_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = FairnessReport(y, p, sensitive_features=g).intervals(300, random_state=0)
    assert res.diagnostics["missing_resamples"].tolist() == [0, 0]
    assert res.disparities().loc["demographic_parity_difference", "undefined"] == 0
    # the tiny group's two rows are both predicted positive: its selection rate never moves
    tiny = res.by_group_intervals().loc["tiny"]
    assert tiny["selection_rate_lower"] == tiny["selection_rate_upper"] == 1.0


def test_deterministic_under_random_state() -> None:
    y, p, g = _tiny_group_data()
    fr = FairnessReport(y, p, sensitive_features=g, y_score=np.linspace(0, 1, len(y)))
    a, b = fr.intervals(100, random_state=3), fr.intervals(100, random_state=3)
    c = fr.intervals(100, random_state=4)
    np.testing.assert_array_equal(a.lower, b.lower)
    np.testing.assert_array_equal(a.upper, b.upper)
    assert a.disparity_intervals == b.disparity_intervals
    assert not np.array_equal(a.lower, c.lower, equal_nan=True)


def test_sums_independent_of_chunking(monkeypatch: pytest.MonkeyPatch) -> None:
    import xaikit.fairness.bootstrap as bs

    rng = np.random.default_rng(1)
    keys = rng.integers(0, 5, 50)
    w = rng.random(50)
    tallies = [(keys, w, 5), (keys, None, 5)]
    whole, rows = bs.bootstrap_sums(tallies, n_boot=7, strata=keys % 2, random_state=0)
    monkeypatch.setattr(bs, "MAX_DRAWS", 100)  # two resamples per chunk
    chunked, rows2 = bs.bootstrap_sums(tallies, n_boot=7, strata=keys % 2, random_state=0)
    np.testing.assert_array_equal(whole, chunked)
    np.testing.assert_array_equal(rows, rows2)
    # every resample draws 50 rows; stratified: each stratum keeps its size
    assert (rows.sum(axis=1) == 50).all()
    assert (rows[:, [0, 2, 4]].sum(axis=1) == (keys % 2 == 0).sum()).all()


def test_sums_by_brute_force() -> None:
    """Plain resamples: the sums equal those of the drawn rows, added one by one."""
    from xaikit._validation import spawn_seeds

    rng = np.random.default_rng(2)
    keys = rng.integers(0, 3, 20)
    other = rng.integers(0, 4, 20)
    w = rng.random(20)
    sums, rows, second = bootstrap_sums([(keys, w, 3), (keys, None, 3), (other, 2 * w, 4)], n_boot=4, random_state=5)
    for b, seed in enumerate(spawn_seeds(5, 4)):
        idx = np.random.default_rng(seed).integers(0, 20, size=20)
        expected = np.zeros(3)
        expected_other = np.zeros(4)
        for i in idx:
            expected[keys[i]] += w[i]
            expected_other[other[i]] += 2 * w[i]
        np.testing.assert_allclose(sums[b], expected, rtol=1e-12)
        np.testing.assert_allclose(second[b], expected_other, rtol=1e-12)
        np.testing.assert_array_equal(rows[b], np.bincount(keys[idx], minlength=3))


def test_percentile_interval() -> None:
    samples = np.array([[1.0, np.nan], [2.0, np.nan], [3.0, np.nan], [4.0, np.nan], [np.nan, np.nan]])
    lo, hi, bad = percentile_interval(samples, 0.5)
    assert lo[0] == np.quantile([1, 2, 3, 4], 0.25) and hi[0] == np.quantile([1, 2, 3, 4], 0.75)
    assert np.isnan(lo[1]) and bad.tolist() == [1, 5]


def test_interval_covers_the_truth_at_about_the_nominal_rate() -> None:
    """200 samples of a population with known group rates: the 90% interval of the demographic parity
    difference and of group b's true positive rate cover the truth about 90% of the time."""
    rng = np.random.default_rng(11)
    n_sim, n = 200, 400
    g = np.array(["a"] * 200 + ["b"] * 200)
    truth_dp = 0.5 - 0.3
    truth_tpr_b = 0.8
    hits_dp = hits_tpr = 0
    for s in range(n_sim):
        y = rng.integers(0, 2, n)
        # selection rate: a 0.3, b 0.5; tpr of b: 0.8, fpr of b: 0.2 (so b's selection rate is 0.5)
        p_a = rng.random(n) < 0.3
        p_b = np.where(y == 1, rng.random(n) < 0.8, rng.random(n) < 0.2)
        p = np.where(g == "a", p_a, p_b).astype(int)
        res = FairnessReport(y, p, sensitive_features=g).intervals(200, level=0.9, random_state=s)
        _, lo, hi, _ = res.disparity_intervals["demographic_parity_difference"]
        hits_dp += lo <= truth_dp <= hi
        hits_tpr += res.lower[1, 1] <= truth_tpr_b <= res.upper[1, 1]  # group b, true positive rate
    assert 0.83 <= hits_dp / n_sim <= 0.97, hits_dp / n_sim
    assert 0.83 <= hits_tpr / n_sim <= 0.97, hits_tpr / n_sim


def test_intervals_vectorised_equal_a_loop_of_reports() -> None:
    """The vectorised statistics of each resample equal a FairnessReport of that resample's rows."""
    import xaikit.fairness.bootstrap as bs
    from xaikit._validation import spawn_seeds

    rng = np.random.default_rng(3)
    n = 60
    g = rng.choice(["x", "y", "z"], n)
    y, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
    w = rng.uniform(0.5, 2.0, n)
    fr = FairnessReport(y, p, sensitive_features=g, sample_weight=w)
    res = fr.intervals(5, stratify=False, random_state=9, level=0.5)
    # redraw the same resamples by hand: one generator per resample, plain draws of n rows
    seeds = spawn_seeds(9, 5)
    dps = []
    for b in range(5):
        idx = np.random.default_rng(seeds[b]).integers(0, n, size=n)
        sub = FairnessReport(y[idx], p[idx], sensitive_features=pd.Series(g[idx], name="g"), sample_weight=w[idx])
        dps.append(sub.difference("demographic_parity") if len(set(g[idx])) == 3 else np.nan)
    lo, hi, _ = percentile_interval(np.array(dps)[:, None], 0.5)
    got = res.disparity_intervals["demographic_parity_difference"]
    assert abs(got[1] - lo[0]) <= 1e-12 and abs(got[2] - hi[0]) <= 1e-12
    assert bs.MAX_DRAWS > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_boot": 1}, "n_boot: expected an integer >= 2"),
        ({"level": 1.0}, "level: expected a coverage in"),
        ({"stratify": "yes"}, "stratify: expected True or False"),
        ({"random_state": -1}, "random_state: expected a non-negative integer"),
    ],
)
def test_bad_interval_parameters(kwargs: dict, message: str) -> None:
    fr = FairnessReport([0, 1, 1, 0], [1, 1, 0, 0], sensitive_features=["a", "a", "b", "b"])
    with pytest.raises(InvalidParameterError, match=message):
        fr.intervals(**{"n_boot": 10, **kwargs})
