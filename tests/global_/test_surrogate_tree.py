"""SurrogateTree, the Rules result kind and RulesDisplay."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score, r2_score  # noqa: E402
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor  # noqa: E402

import xaikit as xk  # noqa: E402
from xaikit.explainers.global_.surrogate_tree import SurrogateTree  # noqa: E402
from xaikit.plots.rules import RulesDisplay  # noqa: E402
from xaikit.results import Result  # noqa: E402
from xaikit.results.rules import Rules, condition_text  # noqa: E402
from xaikit.testing import check_explainer  # noqa: E402


def two_outputs(X):
    """A model of four features with two outputs (module level: reaches worker processes)."""
    X = np.asarray(X, dtype=np.float64)
    return np.stack([np.sin(X[:, 0]) + X[:, 1] * X[:, 2], np.tanh(X[:, 3] - X[:, 0])], axis=1)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    """Rows with two decimals (float32 and float64 midpoints fall on the same side of every row)."""
    rng = np.random.default_rng(0)
    X = np.round(rng.normal(size=(240, 4)), 2)
    X_new = np.round(rng.normal(scale=2.0, size=(500, 4)), 2)
    return X, X_new


@pytest.fixture(scope="module")
def regression(data):
    X, _ = data
    return SurrogateTree(two_outputs, max_depth=3, min_samples_leaf=4).explain(X, random_state=3)


@pytest.fixture(scope="module")
def classifier(data):
    X, _ = data
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 - X[:, 2] > 0.3).astype(int) + (X[:, 3] > 1.0)
    return LogisticRegression(max_iter=500).fit(X, y)


def _refit(rules, X, y, kind=DecisionTreeRegressor):
    """The scikit-learn tree the surrogate is: same rows, hyperparameters and seed."""
    p = rules.params
    tree = kind(max_depth=p["max_depth"], min_samples_leaf=p["min_samples_leaf"], random_state=p["tree_random_state"])
    return tree.fit(X[rules.diagnostics["train_rows"]], y[rules.diagnostics["train_rows"]])


# ----------------------------------------------------------------------------- the rules are the surrogate


def test_rules_reproduce_the_regression_tree_exactly_on_fit_held_out_and_new_rows(data, regression):
    X, X_new = data
    tree = _refit(regression, X, two_outputs(X))
    d = regression.diagnostics
    for rows in (X[d["train_rows"]], X[d["test_rows"]], X_new):
        np.testing.assert_array_equal(regression.predict(rows), tree.predict(rows))
    assert regression.n_rules == tree.get_n_leaves() > 2
    np.testing.assert_array_equal(regression.importance, tree.feature_importances_)


def test_label_rules_reproduce_the_classification_tree_exactly(data, classifier):
    X, X_new = data
    rules = SurrogateTree(classifier, output="label", max_depth=3).explain(X, random_state=0)
    labels = classifier.predict_proba(X).argmax(axis=1)
    tree = _refit(rules, X, labels, DecisionTreeClassifier)
    assert rules.task == "classification" and rules.output_names == ["0", "1", "2"]
    for rows in (X, X_new):
        np.testing.assert_array_equal(rules.predict(rows)[:, tree.classes_], tree.predict_proba(rows))
        leaf_label = np.array(rules.labels)[rules.apply(rows)]
        np.testing.assert_array_equal(leaf_label, tree.predict(rows).astype(str))
    test = rules.diagnostics["test_rows"]
    expected = accuracy_score(labels[test], tree.predict(X[test]))
    assert rules.diagnostics["fidelity"] == pytest.approx(expected, abs=0) and rules.diagnostics["fidelity_metric"] == "accuracy"
    assert rules.rules()[0].startswith("if ") and "class = " in rules.rules()[0]


def test_every_row_satisfies_exactly_one_rule_and_support_counts_the_fit_rows(data, regression):
    X, X_new = data
    far = np.array([[1e9, -1e9, 0.0, 1e300], [-1e300, 1e9, -1e9, 0.0]])
    for rows in (X, X_new, far):
        assert (regression.matches(rows).sum(axis=1) == 1).all()
    fit = X[regression.diagnostics["train_rows"]]
    leaf = regression.apply(fit)
    np.testing.assert_array_equal(np.bincount(leaf, minlength=regression.n_rules), regression.support)
    np.testing.assert_allclose(regression.support_fraction, regression.support / len(fit), rtol=0, atol=0)
    y = two_outputs(fit)
    means = np.stack([y[leaf == i].mean(axis=0) for i in range(regression.n_rules)])
    np.testing.assert_allclose(regression.prediction, means, rtol=1e-12, atol=1e-12)


def test_fidelity_is_measured_on_rows_the_surrogate_did_not_see(data, regression):
    X, _ = data
    d = regression.diagnostics
    train, test = d["train_rows"], d["test_rows"]
    assert len(test) == math.ceil(0.25 * len(X)) and len(train) == len(X) - len(test)
    assert not set(train.tolist()) & set(test.tolist())
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(len(X)))
    y = two_outputs(X)
    held_out = r2_score(y[test], regression.predict(X[test]), multioutput="raw_values")
    on_fit = r2_score(y[train], regression.predict(X[train]), multioutput="raw_values")
    np.testing.assert_allclose(d["fidelity"], held_out, rtol=1e-12)
    np.testing.assert_allclose(d["fidelity_train"], on_fit, rtol=1e-12)
    assert not np.allclose(d["fidelity"], d["fidelity_train"])
    # Refitting with the held-out rows included changes the tree: the held-out rows were not used.
    other = SurrogateTree(two_outputs, max_depth=3, min_samples_leaf=4, test_size=0.5).explain(X, random_state=3)
    assert len(other.diagnostics["test_rows"]) == len(X) // 2
    another_seed = SurrogateTree(two_outputs, max_depth=3, min_samples_leaf=4).explain(X, random_state=4)
    assert not np.array_equal(another_seed.diagnostics["test_rows"], test)


def test_a_step_function_gives_its_own_threshold_and_perfect_fidelity():
    X = np.column_stack([np.arange(200) % 10, np.arange(200) // 10]).astype(float)
    rules = SurrogateTree(lambda X: 3.0 * (X[:, 1] > 12), max_depth=2).explain(X, random_state=0)
    assert [c for rule in rules.conditions for c in rule] == [
        {"feature": "x1", "operator": "<=", "threshold": 12.5},
        {"feature": "x1", "operator": ">", "threshold": 12.5},
    ]
    assert rules.prediction.ravel().tolist() == [0.0, 3.0]
    assert rules.diagnostics["fidelity"].tolist() == [1.0]
    at, above = [[0.0, 12.5]], [[0.0, np.nextafter(12.5, 13.0)]]
    assert rules.predict(at).tolist() == [[0.0]] and rules.predict(above).tolist() == [[3.0]]  # x <= threshold goes left
    assert rules.rules()[1] == f"if x1 > 12.5 then output = 3 (support {100 * rules.support_fraction[1]:.0f}%)"


def test_categorical_columns_split_as_category_sets_and_unseen_categories_take_the_not_in_side():
    rng = np.random.default_rng(1)
    n = 160
    frame = pd.DataFrame({
        "colour": pd.Categorical(rng.choice(["red", "green", "blue", "grey"], size=n)),
        "size": np.round(rng.uniform(0, 10, size=n), 1),
    })

    def model(df):
        effect = df["colour"].map({"red": 5.0, "green": 1.0, "blue": 0.0, "grey": 1.2}).to_numpy(dtype=float)
        return effect + 0.1 * df["size"].to_numpy()

    rules = SurrogateTree(model, max_depth=2, min_samples_leaf=3).explain(frame, random_state=0)
    assert rules.params["categorical_features"] == ["colour"]
    ops = {c["operator"] for rule in rules.conditions for c in rule if c["feature"] == "colour"}
    assert ops <= {"in", "not in"} and ops
    first = [c for c in rules.conditions[0] if c["feature"] == "colour"]
    assert first and first[0]["operator"] == "in" and "red" not in first[0]["categories"]
    fit = frame.iloc[rules.diagnostics["train_rows"]]
    leaf = rules.apply(fit)
    np.testing.assert_array_equal(np.bincount(leaf, minlength=rules.n_rules), rules.support)
    means = np.array([model(fit)[leaf == i].mean() for i in range(rules.n_rules)])
    np.testing.assert_allclose(rules.prediction[:, 0], means, rtol=1e-12)
    unseen = pd.DataFrame({"colour": ["purple", "red"], "size": [5.0, 5.0]})
    assert (rules.matches(unseen).sum(axis=1) == 1).all()
    assert all(c["operator"] == "not in" for c in rules.conditions[rules.apply(unseen)[0]] if c["feature"] == "colour")
    assert rules.diagnostics["fidelity"][0] > 0.9


# ----------------------------------------------------------------------------- the contract


def test_check_explainer_passes():
    report = check_explainer(SurrogateTree)
    assert {"contract", "result", "seed", "executor:threads", "executor:processes", "frame", "save_load",
            "bad:target", "bad:random_state", "bad:executor"} <= set(report.passed)


def test_a_dataframe_gives_the_same_rules_as_its_array_and_names_the_features(data, regression):
    X, _ = data
    framed = SurrogateTree(two_outputs, max_depth=3, min_samples_leaf=4).explain(pd.DataFrame(X, columns=list("abcd")), random_state=3)
    np.testing.assert_array_equal(framed.prediction, regression.prediction)
    assert framed.feature_names == list("abcd")
    assert [[c["threshold"] for c in r] for r in framed.conditions] == [[c["threshold"] for c in r] for r in regression.conditions]


def test_save_load_round_trip(tmp_path, data, regression):
    X, X_new = data
    path = tmp_path / "rules.xai"
    regression.save(path)
    for loaded in (Rules.load(path), Result.load(path), Rules.from_bytes(regression.to_bytes())):
        assert type(loaded) is Rules and loaded.to_dict() == regression.to_dict()
        np.testing.assert_array_equal(loaded.predict(X_new), regression.predict(X_new))
        assert loaded.rules() == regression.rules()


def test_slicing_and_frame(regression):
    top = regression[[0, 1], "output1"]
    assert top.n_rules == 2 and top.output_names == ["output1"] and top.conditions == regression.conditions[:2]
    np.testing.assert_array_equal(top.prediction[:, 0], regression.prediction[:2, 1])
    frame = regression.to_frame()
    assert list(frame.columns) == ["rule", "conditions", "prediction[output0]", "prediction[output1]", "support", "support_fraction"]
    assert len(frame) == regression.n_rules and frame["support"].tolist() == regression.support.tolist()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"test_size": 1.0}, "test_size"), ({"test_size": 0}, "test_size"), ({"max_depth": 0}, "max_depth"),
     ({"output": "labels"}, "output"), ({"min_samples_leaf": -1}, "min_samples_leaf")],
)
def test_bad_hyperparameters_are_named(kwargs, name):
    with pytest.raises(xk.InvalidParameterError, match=f"^{name}: "):
        SurrogateTree(two_outputs, **kwargs)


def test_bad_data_is_named(data, regression):
    X, _ = data
    holey = X.copy()
    holey[7, 2] = np.nan
    with pytest.raises(xk.InvalidParameterError, match=r"^X: expected complete rows.*column 'x2', row 7"):
        SurrogateTree(two_outputs).explain(holey)
    with pytest.raises(xk.InvalidParameterError, match=r"^X: expected enough rows"):
        SurrogateTree(two_outputs).explain(X[:2])
    with pytest.raises(xk.InvalidParameterError, match=r"^target: "):
        SurrogateTree(two_outputs).explain(X, target="nope")
    with pytest.raises(xk.InvalidParameterError, match=r"^X: expected an array of shape \(n, 4\)"):
        regression.predict(X[:, :3])
    with pytest.raises(xk.InvalidParameterError, match=r"^X: column 'x0': expected no missing value"):
        regression.predict(np.full((1, 4), np.nan))
    with pytest.raises(xk.InvalidParameterError, match=r"^X: row 0 satisfies 0 of the 1 rules"):
        regression[[0]].predict(X[regression.apply(X) != 0][:1])
    with pytest.raises(xk.InvalidParameterError, match=r"^conditions\[0\]\[0\]\['operator'\]"):
        Rules(prediction=[[1.0]], support=[1], support_fraction=[1.0], importance=[0.0], task="regression", method="demo",
              conditions=[[{"feature": "x0", "operator": "<", "threshold": 1.0}]])


# ----------------------------------------------------------------------------- the display


def test_display_draws_one_row_per_rule_sorted_by_prediction(regression):
    disp = RulesDisplay.from_explanation(regression, target="output1")
    assert len(disp.bars_) == regression.n_rules == len(disp.ax_.get_yticklabels())
    widths = [bar.get_width() for bar in disp.bars_]
    assert widths == sorted(regression.prediction[:, 1].tolist(), reverse=True)
    ticks = sorted(disp.ax_.get_yticklabels(), key=lambda t: -t.get_position()[1])  # top first
    expected = [" and ".join(condition_text(c) for c in regression.conditions[i]) for i in disp.order_]
    assert [t.get_text() for t in ticks] == expected
    few = RulesDisplay.from_explanation(regression, target=0, max_rules=2)
    assert len(few.bars_) == 2 and "top 2 of" in few.ax_.get_title()


def test_display_refuses_what_it_cannot_draw(regression):
    with pytest.raises(xk.InvalidParameterError, match="^target: "):
        RulesDisplay.from_explanation(regression)
    with pytest.raises(xk.InvalidParameterError, match="^exp: expected an Rules"):
        RulesDisplay.from_explanation(xk.Attribution(values=np.zeros((1, 1, 1)), base_values=[[0.0]], method="demo"))
    with pytest.raises(xk.InvalidParameterError, match="^max_rules: "):
        RulesDisplay.from_explanation(regression, target=0, max_rules=0)
