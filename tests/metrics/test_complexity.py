"""Complexity metrics: closed forms, a brute-force Gini, scipy's entropy, ragged rows, targets, the floor."""

from __future__ import annotations

import math

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.metrics.complexity import effective_features, entropy, explained_values, sparseness
from xaikit.results.metric_scores import MetricScores
from xaikit.results.ragged import RaggedAttribution


def _one_hot(d: int) -> np.ndarray:
    v = np.zeros((1, d))
    v[0, d // 2] = -3.0
    return v


@pytest.mark.parametrize("d", [2, 5, 17])
def test_closed_forms_one_hot_uniform_and_k_equal(d: int) -> None:
    one_hot, uniform = _one_hot(d), np.full((1, d), -0.7)
    assert sparseness(None, None, one_hot).values[0] == pytest.approx(1 - 1 / d, abs=1e-12)
    assert sparseness(None, None, uniform).values[0] == pytest.approx(0.0, abs=1e-12)
    assert entropy(None, None, one_hot).values[0] == pytest.approx(0.0, abs=1e-12)
    assert entropy(None, None, uniform).values[0] == pytest.approx(math.log(d), abs=1e-12)
    assert effective_features(None, None, one_hot).values[0] == pytest.approx(1.0, abs=1e-12)
    assert effective_features(None, None, uniform).values[0] == pytest.approx(d, abs=1e-9)
    k = max(1, d // 2)
    half = np.zeros((1, d))
    half[0, :k] = np.where(np.arange(k) % 2, 2.0, -2.0)
    assert sparseness(None, None, half).values[0] == pytest.approx(1 - k / d, abs=1e-12)
    assert entropy(None, None, half).values[0] == pytest.approx(math.log(k), abs=1e-12)
    assert effective_features(None, None, half).values[0] == pytest.approx(k, abs=1e-9)
    assert effective_features(None, None, half, mass=1.0).values[0] == k
    assert effective_features(None, None, uniform, mass=0.5).values[0] == math.ceil(d / 2)


def test_gini_and_entropy_against_independent_formulas() -> None:
    from scipy import stats

    rng = np.random.default_rng(3)
    phi = rng.standard_normal((30, 9)) * rng.uniform(0.1, 3, (30, 9))
    a = np.abs(phi)
    brute = np.abs(a[:, :, None] - a[:, None, :]).sum(axis=(1, 2)) / (2 * 9 * a.sum(axis=1))
    np.testing.assert_allclose(sparseness(None, None, phi).values, brute, rtol=0, atol=1e-12)
    np.testing.assert_allclose(entropy(None, None, phi).values, stats.entropy(a, axis=1), rtol=0, atol=1e-12)
    # mass: the fewest features whose |phi| reach 90 %, by a loop
    expected = [int(np.argmax(np.cumsum(np.sort(r)[::-1]) >= 0.9 * r.sum())) + 1 for r in a]
    np.testing.assert_array_equal(effective_features(None, None, phi, mass=0.9).values, expected)


def test_zero_rows_are_nan_and_directions() -> None:
    phi = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    for fn, better in ((sparseness, True), (entropy, False), (effective_features, False)):
        s = fn(None, None, phi, random_state=0)
        assert isinstance(s, MetricScores)
        assert math.isnan(s.values[0]) and math.isfinite(s.values[1])
        assert s.higher_is_better is better and s.metric == fn.__name__
        assert s.diagnostics["n_model_calls"] == 0


def test_ragged_rows_use_their_own_features() -> None:
    exp = RaggedAttribution(values=[[[0.5], [-0.5], [0.0]], [[0.9], [0.0], [0.0]]], base_values=[[0.1], [0.2]],
                            row_feature_names=[["good", "film", "yes"], ["bad"]], method="demo")
    np.testing.assert_allclose(entropy(None, None, exp).values, [math.log(2), 0.0], atol=1e-12)
    # row 0 has 3 features (one zero): Gini 1 - 2/3; row 1 has one feature: Gini 0
    np.testing.assert_allclose(sparseness(None, None, exp).values, [1 / 3, 0.0], atol=1e-12)
    # the floor of a one-feature row: one normal value, Gini 0 and entropy 0
    assert sparseness(None, None, exp, random_state=1).floor[1] == pytest.approx(0.0, abs=1e-12)


def test_floor_is_iid_normal_and_reproducible() -> None:
    phi = np.zeros((3, 2000))
    phi[:, 0] = 1.0
    s = sparseness(None, None, phi, n_random=3, random_state=0)
    # the Gini index of |N(0, 1)| (the half-normal) is sqrt(2) - 1
    np.testing.assert_allclose(s.floor, math.sqrt(2) - 1, atol=0.02)
    assert s.above_floor() > 0.5
    again = sparseness(None, None, phi, n_random=3, random_state=0)
    np.testing.assert_array_equal(s.floor, again.floor)
    # a row's floor does not depend on the other rows explained with it
    first = sparseness(None, None, phi[:1], n_random=3, random_state=0)
    assert first.floor[0] == s.floor[0]
    other = sparseness(None, None, phi, n_random=3, random_state=1)
    assert not np.array_equal(s.floor, other.floor)


def test_targets_of_an_attribution() -> None:
    w = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    bg = np.zeros((1, 3))
    X = np.array([[2.0, 1.0, 1.0], [0.1, 1.0, 1.0]])
    exp = xk.ExactShapley(lambda Z: Z @ w, background=bg).explain(X)
    assert exp.values.shape == (2, 3, 2)
    # output 0 is one feature (entropy 0), output 1 two equal ones (log 2)
    np.testing.assert_allclose(entropy(None, None, exp, target=0).values, [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(entropy(None, None, exp, target=-1).values, [math.log(2)] * 2, atol=1e-12)
    name = exp.output_names[1]
    np.testing.assert_allclose(entropy(None, None, exp, target=name).values, [math.log(2)] * 2, atol=1e-12)
    # None: each row's predicted output (row 0 predicts output 0, row 1 output 1)
    s = entropy(lambda Z: Z @ w, X, exp)
    np.testing.assert_allclose(s.values, [0.0, math.log(2)], atol=1e-12)
    assert s.params["target"] == "predicted"
    v, mask, t = explained_values(exp, target=1)
    assert v.shape == (2, 3) and mask.all() and t == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sparseness(None, None, np.zeros(3)), "explanation: expected"),
        (lambda: sparseness(None, None, "x"), "explanation: expected"),
        (lambda: sparseness(None, None, np.array([[np.nan, 1.0]])), "explanation: expected finite"),
        (lambda: sparseness(None, None, np.ones((2, 2)), target=0), "target: expected None"),
        (lambda: sparseness(None, None, np.ones((2, 2)), n_random=0), "n_random"),
        (lambda: effective_features(None, None, np.ones((2, 2)), mass=1.5), "mass: expected a fraction"),
        (lambda: sparseness(None, None, np.ones((2, 2)), random_state="seed"), "random_state"),
    ],
)
def test_errors_name_the_parameter(call, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        call()


def test_target_errors() -> None:
    exp = xk.Attribution(values=np.ones((2, 3, 2)), base_values=np.zeros((2, 2)), output_names=["a", "b"], method="demo")
    with pytest.raises(InvalidParameterError, match=r"target: expected an output index in \[-2, 2\) .* one of \['a', 'b'\], got 'c'"):
        entropy(None, None, exp, target="c")
    with pytest.raises(InvalidParameterError, match=r"target: expected an output index in \[-2, 2\) .*, got 2"):
        entropy(None, None, exp, target=2)
    with pytest.raises(InvalidParameterError, match=r"target: expected one output \(of \['a', 'b'\]\) per row, 2 in all, .* got 3 items"):
        entropy(None, None, exp, target=[0, 1, 1])
    with pytest.raises(InvalidParameterError, match="target: expected the output to score"):
        entropy(None, None, exp)
    with pytest.raises(InvalidParameterError, match="model: expected 2 outputs"):
        entropy(lambda Z: Z[:, :1], np.ones((2, 3)), exp)


def test_target_per_row_reads_each_rows_output_without_the_model() -> None:
    rng = np.random.default_rng(4)
    V = rng.normal(size=(5, 6, 3))
    exp = xk.Attribution(values=V, base_values=np.zeros((5, 3)), output_names=["a", "b", "c"], method="demo")
    cols = np.array([2, 0, 1, 1, 2])
    per_row = sparseness(None, None, exp, target=cols, random_state=0)
    by_name = sparseness(None, None, exp, target=["c", "a", "b", "b", "c"], random_state=0)
    one = sparseness(None, None, V[np.arange(5), :, cols], random_state=0)
    np.testing.assert_array_equal(per_row.values, one.values)
    np.testing.assert_array_equal(by_name.values, one.values)
    assert per_row.params["target"] == "per row" and per_row.diagnostics["n_model_calls"] == 0
    # the floor depends on the number of features only: one value for every row of that length
    assert np.unique(per_row.floor).size == 1
    np.testing.assert_array_equal(per_row.floor, one.floor)
