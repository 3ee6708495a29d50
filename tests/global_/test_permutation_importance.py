"""Permutation importance: agreement with scikit-learn, closed forms, groups, executors, the contract."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.explainers.global_.permutation_importance import PermutationImportance
from xaikit.results.importance import Importance
from xaikit.testing import check_explainer


@pytest.fixture(scope="module")
def cancer():
    """A scaled logistic regression on the bundled breast cancer data, with held-out rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    ds = xk.datasets.load_breast_cancer()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(ds.target))
    train, test = order[:400], order[400:]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=500)).fit(ds.data[train], ds.target[train])
    return model, ds.data[test], ds.target[test]


@pytest.fixture(scope="module")
def linear():
    """A linear regression of y = X w + noise on three independent features of different spreads."""
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3)) * np.array([1.0, 2.0, 0.5])
    y = X @ np.array([1.5, -0.7, 2.0]) + rng.normal(scale=0.3, size=300)
    return LinearRegression().fit(X, y), X, y


def test_agrees_with_scikit_learn_on_real_data_within_three_standard_errors(cancer):
    from sklearn.inspection import permutation_importance

    model, X, y = cancer
    ours = PermutationImportance(model, scoring="neg_log_loss", n_repeats=50).explain(X, y, random_state=0)
    ref = permutation_importance(model, X, y, scoring="neg_log_loss", n_repeats=50, random_state=0)
    assert ours.output_names == ["neg_log_loss"] and ours.values.shape == (30, 1, 50)
    se = np.sqrt(ours.std()[:, 0] ** 2 / 50 + ref.importances.std(axis=1, ddof=1) ** 2 / 50)
    gap = np.abs(ours.mean()[:, 0] - ref.importances_mean)
    assert (gap <= 3 * se + 1e-12).all(), (gap / np.maximum(se, 1e-12)).max()
    assert ours.mean()[:, 0].max() > 0.01  # some features matter: the comparison is not between zeros
    auto = PermutationImportance(model, n_repeats=2).explain(X, y, random_state=0)  # "auto": accuracy, as model.score
    assert auto.output_names == ["accuracy"] and auto.diagnostics["baseline_score"][0] == pytest.approx(model.score(X, y), abs=1e-12)


def test_a_feature_the_model_ignores_scores_exactly_zero():
    X = np.random.default_rng(1).normal(size=(60, 3))
    y = X[:, 0] - 2 * X[:, 1]
    model = lambda X: X[:, 0] - 2 * X[:, 1]  # noqa: E731
    for max_samples in (None, 0.5):
        imp = PermutationImportance(model, scoring=["r2", "neg_mean_absolute_error"], n_repeats=4,
                                    max_samples=max_samples).explain(X, y, random_state=2)
        assert imp.output_names == ["r2", "neg_mean_absolute_error"]
        np.testing.assert_array_equal(imp.values[2], 0.0)
        assert (imp.values[:2] > 0).all()


def test_linear_regression_scored_by_mse_matches_two_coef_squared_var(linear):
    model, X, y = linear
    imp = PermutationImportance(model, scoring="neg_mean_squared_error", n_repeats=200).explain(X, y, random_state=0)
    expected = 2 * model.coef_**2 * X.var(axis=0)
    mean, se = imp.mean()[:, 0], imp.standard_error()[:, 0]
    assert (np.abs(mean - expected) <= 4 * se).all(), (mean, expected, se)
    # a callable on the predictions gives the same values as the scikit-learn scorer on the estimator
    neg_mse = lambda t, p: -float(np.mean((t - p) ** 2))  # noqa: E731
    by_callable = PermutationImportance(model, scoring=neg_mse, n_repeats=200).explain(X, y, random_state=0)
    np.testing.assert_allclose(by_callable.values, imp.values, rtol=1e-9, atol=1e-12)


def test_a_one_hot_block_permuted_together_keeps_every_row_valid():
    rng = np.random.default_rng(4)
    codes = rng.integers(0, 3, size=80)
    X = np.column_stack([np.eye(3)[codes], rng.normal(size=80)])
    coded = lambda X: X[:, :3] @ np.array([1.0, 2.0, 3.0])  # noqa: E731

    def same_values(y_true, y_pred):  # 0 exactly when the predictions are a reordering of y_true
        return -float(np.abs(np.sort(y_true) - np.sort(y_pred)).sum())

    grouped = PermutationImportance(coded, scoring=same_values, n_repeats=6, groups={"colour": [0, 1, 2]}).explain(X, coded(X), random_state=0)
    assert grouped.feature_names == ["colour", "x3"]
    np.testing.assert_array_equal(grouped.values, 0.0)  # whole rows of the block move: every row stays one-hot
    alone = PermutationImportance(coded, scoring=same_values, n_repeats=6).explain(X, coded(X), random_state=0)
    assert (alone.values[:3] > 0).any()  # member by member, rows lose or gain their 1


def test_a_group_of_one_column_is_that_column_and_groups_take_names():
    import pandas as pd

    rng = np.random.default_rng(5)
    X = rng.normal(size=(50, 3))
    f = lambda X: np.asarray(X)[:, 0] * 2 + np.asarray(X)[:, 2]  # noqa: E731
    plain = PermutationImportance(f, n_repeats=3).explain(X, f(X), random_state=1)
    one = PermutationImportance(f, n_repeats=3, groups={"first": [0]}).explain(X, f(X), random_state=1)
    assert one.feature_names == ["first", "x1", "x2"]
    np.testing.assert_array_equal(one.values, plain.values)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    named = PermutationImportance(f, n_repeats=3, groups={"ac": ["a", "c"]}).explain(frame, f(X), random_state=1)
    assert named.feature_names == ["ac", "b"] and named.params["groups"] == {"ac": ["a", "c"]}
    assert named.mean()[0, 0] >= plain.mean()[0, 0] - 1e-12


def test_serial_threads_and_processes_agree_to_the_bit(cancer):
    model, X, y = cancer
    make = lambda: PermutationImportance(model, scoring=["accuracy", "neg_log_loss"], n_repeats=2, max_samples=100)  # noqa: E731
    serial = make().explain(X, y, random_state=7, executor="serial")
    for executor in ("threads:2", "processes:2"):
        other = make().explain(X, y, random_state=7, executor=executor)
        np.testing.assert_array_equal(other.values, serial.values)
        np.testing.assert_array_equal(other.diagnostics["baseline_score"], serial.diagnostics["baseline_score"])
    assert not np.array_equal(make().explain(X, y, random_state=8).values, serial.values)


def test_the_explainer_contract_passes():
    report = check_explainer(PermutationImportance)
    assert {"result", "seed", "executor:threads", "executor:processes", "frame", "save_load", "bad:target"} <= set(report.passed)


def test_the_result_is_an_importance_with_intervals_and_survives_save_load(tmp_path):
    X = np.random.default_rng(6).normal(size=(40, 2))
    imp = PermutationImportance(lambda X: X[:, 0], n_repeats=5).explain(X, X[:, 0], random_state=0)
    assert isinstance(imp, Importance) and imp.params["scoring"] == ["r2"] and imp.params["y"] == "array of shape (40,)"
    lower, upper = imp.ci(0.9)
    assert (lower <= imp.mean()).all() and (imp.mean() <= upper).all() and upper[0, 0] > lower[0, 0]
    path = tmp_path / "imp.xai"
    imp.save(path)
    back = xk.Result.load(path)
    assert isinstance(back, Importance) and back.to_dict() == imp.to_dict()
    assert imp.ranking()[0][0] == "x0" and imp["x1"].values.shape == (1, 1, 5)


def test_a_classifier_function_is_scored_as_a_whole_from_its_probabilities():
    X = np.random.default_rng(8).normal(size=(100, 2))
    y = np.where(X[:, 0] + 0.3 * np.random.default_rng(9).normal(size=100) > 0, "yes", "no")
    p_yes = lambda X: 1 / (1 + np.exp(-5 * X[:, 0]))  # noqa: E731
    proba = lambda X: np.column_stack([1 - p_yes(X), p_yes(X)])  # noqa: E731
    from xaikit.models import FunctionModel

    model = FunctionModel(proba, output="probability", output_names=["no", "yes"])
    imp = PermutationImportance(model, scoring=["auto", "roc_auc", "neg_log_loss"], n_repeats=3).explain(X, y, random_state=0)
    assert imp.output_names == ["accuracy", "roc_auc", "neg_log_loss"]
    p = p_yes(X)
    by_hand = [np.mean((p > 0.5) == (y == "yes")), None, np.mean(np.where(y == "yes", np.log(p), np.log(1 - p)))]
    base = imp.diagnostics["baseline_score"]
    assert base[0] == pytest.approx(by_hand[0], abs=1e-12) and base[2] == pytest.approx(by_hand[2], rel=1e-9)
    np.testing.assert_array_equal(imp.values[1], 0.0)
    assert (imp.mean()[0] > 0.1).all()
    with pytest.raises(xk.InvalidParameterError, match="^scoring: 'accuracy' does not apply"):
        PermutationImportance(lambda X: X[:, 0], scoring="accuracy")


@pytest.mark.parametrize(
    ("build", "call", "name"),
    [
        (dict(scoring="no_such_score"), {}, "scoring"),
        (dict(scoring=[]), {}, "scoring"),
        (dict(n_repeats=0), {}, "n_repeats"),
        (dict(max_samples=1.5), {}, "max_samples"),
        (dict(max_samples=500), {}, "max_samples"),
        (dict(groups={"g": [0, 9]}), {}, "groups['g']"),
        (dict(groups={"g": [0], "h": [0]}), {}, "groups"),
        ({}, dict(y=np.zeros(3)), "y"),
        ({}, dict(sample_weight=-np.ones(20)), "sample_weight"),
        ({}, dict(target=5), "target"),
    ],
)
def test_bad_parameters_are_named(build, call, name):
    X = np.random.default_rng(0).normal(size=(20, 2))
    y = call.pop("y", X[:, 0])
    with pytest.raises(xk.InvalidParameterError, match=f"^{name.replace('[', '.').replace(']', '.')}:"):
        PermutationImportance(lambda X: X[:, 0], **build).explain(X, y, **call)
