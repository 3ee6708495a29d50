"""quality_by_group: a quality metric's mean and interval per group, and Welch's difference between groups."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.fairness.per_group import quality_by_group
from xaikit.results.metric_scores import MetricScores


def _scores(values: Any, floor: Any, higher: bool = True) -> MetricScores:
    return MetricScores(values=values, floor=floor, method="demo", params={"metric": "demo", "higher_is_better": higher})


@pytest.fixture(scope="module")
def sparse_vs_dense() -> dict[str, Any]:
    """Attributions built to differ: one feature carries the row for group "sparse", all share it for "dense"."""
    from xaikit.metrics.complexity import sparseness

    rng = np.random.default_rng(0)
    n, d = 40, 6
    groups = np.array(["sparse", "dense"], dtype=object)[rng.integers(0, 2, n)]
    values = np.abs(rng.normal(1.0, 0.2, size=(n, d)))
    hot = rng.integers(0, d, n)
    spiky = np.full((n, d), 0.02)
    spiky[np.arange(n), hot] = 3.0
    values = np.where((groups == "sparse")[:, None], spiky, values)
    exp = xk.Attribution(values=values[:, :, None], base_values=np.zeros((n, 1)), method="demo")
    return {"scores": sparseness(None, None, exp, random_state=0), "groups": groups}


def test_per_group_means_and_intervals_match_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    values = rng.normal(size=30)
    values[3] = np.nan  # undefined for that row: left out
    floor = rng.normal(size=30) - 1.0
    groups = ["a"] * 12 + ["b"] * 18
    q = quality_by_group(_scores(values, floor), groups, level=0.9)
    a, b = values[:12], values[12:]
    a_ok = a[np.isfinite(a)]
    assert q.groups == ["a", "b"] and q.n_rows.tolist() == [11, 18]
    np.testing.assert_allclose(q.mean, [a_ok.mean(), b.mean()], rtol=0, atol=1e-14)
    lo, hi = stats.t.interval(0.9, len(a_ok) - 1, loc=a_ok.mean(), scale=stats.sem(a_ok))
    np.testing.assert_allclose([q.lower[0], q.upper[0]], [lo, hi], rtol=1e-12)
    np.testing.assert_allclose(q.floor_mean, [floor[:12].mean(), floor[12:].mean()], rtol=1e-12)
    diff = q.difference()
    ref = stats.ttest_ind(a_ok, b, equal_var=False)
    ci = ref.confidence_interval(0.9)
    assert diff.difference == pytest.approx(a_ok.mean() - b.mean(), abs=1e-14)
    assert diff.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert (diff.lower, diff.upper) == (pytest.approx(ci.low, rel=1e-10), pytest.approx(ci.high, rel=1e-10))


def test_a_group_with_less_sparse_explanations_is_found(sparse_vs_dense: dict[str, Any]) -> None:
    q = quality_by_group(sparse_vs_dense["scores"], sparse_vs_dense["groups"], ("sparse", "dense"))
    assert q.metric == "sparseness" and q.higher_is_better
    k_sparse, k_dense = q.groups.index("sparse"), q.groups.index("dense")
    assert q.mean[k_sparse] > 0.7 > 0.2 > q.mean[k_dense]
    d = q.difference()
    assert (d.a, d.b) == ("sparse", "dense") and d.worse == "dense" and d.significant and d.p_value < 1e-6
    above = q.difference(of="above_floor")
    assert above.worse == "dense" and above.significant
    assert q.above_floor[k_sparse] > 0 > q.above_floor[k_dense]  # the dense rows are less sparse than noise


def test_no_difference_where_the_groups_are_alike(sparse_vs_dense: dict[str, Any]) -> None:
    rng = np.random.default_rng(5)
    labels = np.array(["u", "v"], dtype=object)[rng.integers(0, 2, sparse_vs_dense["scores"].n_rows)]
    keep = sparse_vs_dense["groups"] == "dense"
    labels[~keep] = None  # only dense rows, split at random
    d = quality_by_group(sparse_vs_dense["scores"], labels).difference()
    assert not d.significant and d.lower < 0 < d.upper and d.p_value > 0.05


def test_lower_is_better_and_several_groups() -> None:
    values = np.array([1.0, 1.2, 1.1, 3.0, 3.1, 2.9, 2.0, 2.2, 2.1])
    q = quality_by_group(_scores(values, np.full(9, 5.0), higher=False), ["x"] * 3 + ["y"] * 3 + ["z"] * 3)
    assert q.between is None
    with pytest.raises(InvalidParameterError, match="a, b: expected the two groups"):
        q.difference()
    d = q.difference("x", "y")
    assert d.difference == pytest.approx(-1.9) and d.worse == "y"
    assert q.difference("y", "x").worse == "y"
    assert (q.above_floor > 0).all()  # lower than the floor: better than chance
    frame = q.to_frame()
    assert list(frame.index) == ["x", "y", "z"] and frame.loc["z", "mean"] == pytest.approx(2.1)
    assert q.to_dict()["groups"][1]["n_rows"] == 3


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s: quality_by_group(np.zeros(4), ["a"] * 4), "scores: expected a MetricScores"),  # type: ignore[arg-type]
        (lambda s: quality_by_group(s, ["a", "b"]), "groups: expected one group label per row"),
        (lambda s: quality_by_group(s, ["a", "b", "a", "b"], ("a", "c")), "between: expected group labels among"),
        (lambda s: quality_by_group(s, ["a", "b", "a", "b"], level=0), "level"),
        (lambda s: quality_by_group(s, [None] * 4), "groups: expected at least one row"),
        (lambda s: quality_by_group(s, ["a", "b", "a", "b"]).difference(of="floor"), "of: expected one of"),
    ],
)
def test_bad_parameters_are_named(call: Any, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        call(_scores([1.0, 2.0, 3.0, 4.0], [0.0] * 4))
