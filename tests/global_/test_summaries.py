"""Global Shapley summaries: mean |value| with standard errors, signed, by cohort; interaction ranking."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.explainers.global_.summaries import interaction_ranking, shapley_importance
from xaikit.results.importance import Importance


@pytest.fixture(scope="module")
def sampled():
    """KernelSHAP values (sampled: with standard errors) of a model of 10 features on 12 rows, the first column a 0/1 group."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 10))
    X[:, 0] = np.arange(12) % 2
    exp = xk.KernelShap(lambda X: np.sin(X).sum(axis=1) + X[:, 1] * X[:, 2], background=X[:4]).explain(X, n_samples=60, random_state=0)
    return exp


def test_mean_abs_and_its_standard_error_by_hand():
    v = np.array([[[1.0, 0.0], [-2.0, 1.0]], [[-3.0, 2.0], [0.0, 1.0]], [[2.0, -2.0], [4.0, 1.0]]])
    exp = xk.Attribution(values=v, base_values=np.zeros((3, 2)), feature_names=["a", "b"], output_names=["p", "q"], method="demo")
    imp = shapley_importance(exp)
    assert isinstance(imp, Importance) and imp.output_names == ["p", "q"] and imp.values.shape == (2, 2, 1)
    a = np.abs(v)
    np.testing.assert_allclose(imp.mean(), a.mean(axis=0), rtol=0, atol=1e-15)
    np.testing.assert_allclose(imp.std_err, a.std(axis=0, ddof=1) / np.sqrt(3), rtol=1e-12)
    assert imp.ranking("p") == [("a", 2.0), ("b", 2.0)] and imp.ranking("q")[0] == ("a", pytest.approx(4 / 3))
    signed = shapley_importance(exp, signed=True)
    np.testing.assert_allclose(signed.mean(), v.mean(axis=0), rtol=0, atol=1e-15)
    np.testing.assert_allclose(signed.std_err, v.std(axis=0, ddof=1) / np.sqrt(3), rtol=1e-12)
    lower, upper = imp.ci(0.95)  # the normal interval around the mean
    np.testing.assert_allclose(upper - imp.mean(), 1.959963984540054 * imp.std_err, rtol=1e-9)


def test_reported_standard_errors_are_added_to_the_spread_over_rows(sampled):
    se = sampled.diagnostics["std_err"]
    assert se.max() > 0  # sampled values: the combination is exercised
    imp = shapley_importance(sampled)
    a, n = np.abs(sampled.values), sampled.n_rows
    expected = np.sqrt((a.std(axis=0, ddof=1) / np.sqrt(n)) ** 2 + (se**2).sum(axis=0) / n**2)
    np.testing.assert_allclose(imp.std_err, expected, rtol=1e-12)
    assert (imp.std_err > a.std(axis=0, ddof=1) / np.sqrt(n)).any()


def test_cohorts_from_a_column_and_from_a_mask(sampled):
    by_column = shapley_importance(sampled, cohort="x0")
    assert by_column.output_names == ["0.0: output", "1.0: output"]
    even = sampled.data[:, 0] == 0
    a = np.abs(sampled.values)
    np.testing.assert_allclose(by_column.mean()[:, 0], a[even].mean(axis=0)[:, 0], atol=1e-15)
    np.testing.assert_allclose(by_column.mean()[:, 1], a[~even].mean(axis=0)[:, 0], atol=1e-15)
    assert by_column.diagnostics["n_rows"].tolist() == [6, 6]
    by_mask = shapley_importance(sampled, cohort=even)
    assert by_mask.output_names == ["False: output", "True: output"]
    np.testing.assert_allclose(by_mask.mean()[:, 1], by_column.mean()[:, 0], atol=1e-15)
    by_position = shapley_importance(sampled, cohort=0)
    np.testing.assert_array_equal(by_position.values, by_column.values)


def test_an_interaction_is_summed_first_and_pairs_are_ranked_from_both_halves():
    rng = np.random.default_rng(1)
    v = rng.normal(size=(5, 4, 4, 2))
    inter = xk.Interaction(values=v, base_values=np.zeros((5, 2)), feature_names=list("abcd"), output_names=["u", "w"], method="demo")
    ranking = interaction_ranking(inter, target="w")
    m = np.abs(v[..., 1]).mean(axis=0)
    by_hand = sorted(((list("abcd")[i], list("abcd")[j], m[i, j] + m[j, i]) for i in range(4) for j in range(i + 1, 4)), key=lambda t: -t[2])
    assert [p[:2] for p in ranking] == [p[:2] for p in by_hand]
    np.testing.assert_allclose([p[2] for p in ranking], [p[2] for p in by_hand], rtol=1e-12)
    assert len(ranking) == 6
    summed = shapley_importance(inter)
    np.testing.assert_allclose(summed.mean(), np.abs(v.sum(axis=2)).mean(axis=0), atol=1e-14)


def test_an_exact_result_on_a_linear_model_ranks_features_by_weight_times_spread():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 3)) * np.array([1.0, 1.0, 3.0])
    w = np.array([2.0, 0.0, 1.0])
    exp = xk.ExactShapley(lambda X: X @ w, background=X).explain(X)
    imp = shapley_importance(exp)
    np.testing.assert_allclose(imp.mean()[:, 0], np.abs(w * (X - X.mean(axis=0))).mean(axis=0), atol=1e-10)
    assert abs(imp.mean()[1, 0]) < 1e-12 and imp.std_err[1, 0] < 1e-12 and imp.ranking()[-1][0] == "x1"


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(cohort="nope"), "cohort"),
        (dict(cohort=np.ones(3, dtype=bool)), "cohort"),
        (dict(cohort=7), "cohort"),
        (dict(signed="yes"), "signed"),
    ],
)
def test_bad_arguments_are_named(sampled, kwargs, name):
    with pytest.raises(xk.InvalidParameterError, match=f"^{name}:"):
        shapley_importance(sampled, **kwargs)


def test_other_inputs_are_refused():
    with pytest.raises(xk.InvalidParameterError, match="^exp: expected an Attribution"):
        shapley_importance(np.zeros((2, 2, 1)))  # type: ignore[arg-type]
    one = xk.Attribution(values=np.ones((1, 2, 1)), base_values=np.zeros((1, 1)), method="demo")
    with pytest.raises(xk.InvalidParameterError, match="^exp: expected at least 2 rows"):
        shapley_importance(one)
    with pytest.raises(xk.InvalidParameterError, match="^inter: expected an Interaction"):
        interaction_ranking(one)  # type: ignore[arg-type]
    no_data = xk.Attribution(values=np.ones((2, 2, 1)), base_values=np.zeros((2, 1)), method="demo")
    with pytest.raises(xk.InvalidParameterError, match="^cohort: the column 'x0' needs the explained data"):
        shapley_importance(no_data, cohort="x0")
