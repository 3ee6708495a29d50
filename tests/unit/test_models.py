"""Tests of xaikit.models: adapt(), the scikit-learn and function adapters, output checks."""

from __future__ import annotations

import itertools
import warnings
from math import factorial

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

import xaikit as xk
from xaikit.errors import InvalidParameterError, ModelOutputError, UnsupportedModelError, XaikitError
from xaikit.models import AdaptedModel, FunctionModel, adapt
from xaikit.models.sklearn import SklearnModel


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def binary_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.5, size=80) > 0).astype(int)
    return X, y


def _linear(X):
    return X @ np.array([1.0, -2.0, 0.5])


# ---------------------------------------------------------------- adapt()
class TestAdaptFunctions:
    def test_one_dimensional_output_becomes_a_column(self):
        m = adapt(_linear)
        X = np.arange(12.0).reshape(4, 3)
        out = m.predict(X)
        assert isinstance(m, FunctionModel) and isinstance(m, AdaptedModel)
        assert out.shape == (4, 1) and out.dtype == np.float64
        np.testing.assert_allclose(out[:, 0], X[:, 0] - 2 * X[:, 1] + 0.5 * X[:, 2])

    def test_two_dimensional_output_kept(self):
        m = adapt(lambda X: np.column_stack([X.sum(axis=1), X.prod(axis=1)]))
        X = np.array([[1.0, 2.0], [3.0, 4.0], [0.5, 2.0]])
        out = m.predict(X)
        assert out.shape == (3, 2)
        np.testing.assert_allclose(out, [[3.0, 2.0], [7.0, 12.0], [2.5, 1.0]])

    def test_integer_and_list_outputs_become_float64(self):
        m = adapt(lambda X: [int(v) for v in X[:, 0]])
        out = m.predict(np.array([[1.0], [2.0]]))
        assert out.dtype == np.float64
        np.testing.assert_array_equal(out, [[1.0], [2.0]])

    def test_function_output_is_raw(self):
        assert adapt(_linear).output == "raw"
        assert adapt(_linear, output="auto").output == "raw"
        assert adapt(_linear).output_names is None

    def test_idempotent(self):
        m = adapt(_linear)
        assert adapt(m) is m
        assert adapt(adapt(m)) is m
        assert adapt(m, output="auto") is m
        assert adapt(m, output="raw") is m

    def test_idempotent_for_sklearn(self, binary_data):
        X, y = binary_data
        m = adapt(LogisticRegression().fit(X, y), output="log_odds")
        assert adapt(m) is m
        assert adapt(m, output="log_odds") is m

    @pytest.mark.parametrize("other", ["probability", "log_odds"])
    def test_conflicting_output_rejected(self, other):
        m = adapt(_linear)
        with pytest.raises(UnsupportedModelError) as info:
            adapt(m, output=other)
        msg = str(info.value)
        assert msg.startswith("output:") and "'raw'" in msg and repr(other) in msg

    def test_conflicting_output_for_sklearn(self, binary_data):
        X, y = binary_data
        m = adapt(LogisticRegression().fit(X, y))  # probability
        with pytest.raises(UnsupportedModelError, match="output"):
            adapt(m, output="raw")

    @pytest.mark.parametrize("obj", ["a string", object(), 42, None, [1, 2]])
    def test_unknown_object_rejected(self, obj):
        with pytest.raises(UnsupportedModelError) as info:
            adapt(obj)
        assert isinstance(info.value, XaikitError) and isinstance(info.value, TypeError)
        msg = str(info.value)
        assert msg.startswith("model:")
        assert type(obj).__qualname__ in msg

    def test_unknown_output_rejected(self):
        with pytest.raises(InvalidParameterError, match="^output:.*'prob'"):
            adapt(_linear, output="prob")

    def test_function_model_rejects_non_callable(self):
        with pytest.raises(InvalidParameterError, match="^fn:"):
            FunctionModel(3)  # type: ignore[arg-type]

    def test_sklearn_like_object_without_sklearn(self):
        class Duck:
            def predict(self, X):
                return np.asarray(X)[:, 0] * 3

        m = adapt(Duck())
        assert isinstance(m, SklearnModel)
        np.testing.assert_array_equal(m.predict(np.array([[1.0, 0.0], [2.0, 5.0]])), [[3.0], [6.0]])


# ---------------------------------------------------------------- scikit-learn classifiers
def _log_odds(p):
    return np.log(p / (1.0 - p))


class TestSklearnClassifiers:
    def test_binary_probability(self, binary_data):
        X, y = binary_data
        clf = LogisticRegression().fit(X, y)
        m = adapt(clf)
        assert m.output == "probability"
        np.testing.assert_allclose(m.predict(X), clf.predict_proba(X), rtol=0, atol=1e-15)
        assert m.output_names == ["0", "1"]

    def test_binary_log_odds(self, binary_data):
        X, y = binary_data
        clf = LogisticRegression().fit(X, y)
        m = adapt(clf, output="log_odds")
        out = m.predict(X)
        # one output, the positive class's log-odds, named after it (as TreeShap's margin of a binary booster)
        assert out.shape == (len(X), 1) and m.output_names == ["1"]
        np.testing.assert_allclose(out, _log_odds(clf.predict_proba(X)[:, 1:]), rtol=1e-9, atol=1e-9)
        # for logistic regression the positive-class log-odds is the decision function
        np.testing.assert_allclose(out[:, 0], clf.decision_function(X), rtol=1e-7, atol=1e-7)

    def test_binary_raw_is_one_output_named_positive_class(self, binary_data):
        X, y = binary_data
        labels = np.where(y == 1, "yes", "no")
        clf = LogisticRegression().fit(X, labels)
        m = adapt(clf, output="raw")
        out = m.predict(X)
        assert out.shape == (len(X), 1)
        np.testing.assert_allclose(out[:, 0], clf.decision_function(X))
        assert m.output_names == ["yes"]
        assert adapt(clf).output_names == ["no", "yes"]

    def test_multiclass_probability(self, iris):
        X, y = iris
        clf = LogisticRegression(max_iter=500).fit(X, y)
        m = adapt(clf, output="probability")
        np.testing.assert_allclose(m.predict(X), clf.predict_proba(X), rtol=0, atol=1e-15)
        assert m.output_names == ["0", "1", "2"]

    def test_multiclass_log_odds(self, iris):
        X, y = iris
        clf = LogisticRegression(max_iter=500).fit(X, y)
        p = clf.predict_proba(X)
        out = adapt(clf, output="log_odds").predict(X)
        assert out.shape == (len(X), 3)
        np.testing.assert_allclose(out, _log_odds(p), rtol=1e-9, atol=1e-9)

    def test_multiclass_raw(self, iris):
        X, y = iris
        names = np.array(["setosa", "versicolor", "virginica"])[y]
        clf = LogisticRegression(max_iter=500).fit(X, names)
        m = adapt(clf, output="raw")
        out = m.predict(X)
        assert out.shape == (len(X), 3)
        np.testing.assert_allclose(out, clf.decision_function(X))
        assert m.output_names == ["setosa", "versicolor", "virginica"]

    def test_output_names_are_str_of_classes(self, binary_data):
        X, y = binary_data
        clf = LogisticRegression().fit(X, y + 10)  # classes 10, 11 (numpy ints)
        assert adapt(clf).output_names == ["10", "11"]
        assert all(type(n) is str for n in adapt(clf).output_names)

    def test_random_forest_has_no_raw_output(self, binary_data):
        X, y = binary_data
        rf = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
        with pytest.raises(InvalidParameterError) as info:
            adapt(rf, output="raw")
        msg = str(info.value)
        assert msg.startswith("output:") and "decision_function" in msg and "RandomForestClassifier" in msg
        # the probability output still works
        np.testing.assert_allclose(adapt(rf).predict(X[:5]), rf.predict_proba(X[:5]))

    def test_log_odds_of_certain_probabilities_rejected(self, binary_data):
        X, y = binary_data
        tree = DecisionTreeClassifier(random_state=0).fit(X, y)
        assert np.isin(tree.predict_proba(X), [0.0, 1.0]).all()  # precondition: a pure tree
        m = adapt(tree, output="log_odds")
        with pytest.raises(ModelOutputError) as info:
            m.predict(X[:4])
        assert "0 or 1" in str(info.value) and "log-odds" in str(info.value)

    def test_raw_output_of_classifier_without_predict_proba(self, iris):
        X, y = iris
        svc = SVC().fit(X, y)
        out = adapt(svc, output="raw").predict(X[:10])
        np.testing.assert_allclose(out, svc.decision_function(X[:10]))


class TestSklearnRegressors:
    def test_auto_is_raw_predict(self, binary_data):
        X, _ = binary_data
        y = X @ np.array([1.0, 2.0, -1.0]) + 0.3
        reg = Ridge(alpha=0.1).fit(X, y)
        m = adapt(reg)
        assert m.output == "raw" and m.output_names is None
        out = m.predict(X)
        assert out.shape == (len(X), 1)
        np.testing.assert_allclose(out[:, 0], reg.predict(X))
        assert adapt(reg, output="raw").output == "raw"

    def test_multi_target_regressor(self, binary_data):
        X, _ = binary_data
        Y = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]])
        reg = Ridge(alpha=0.1).fit(X, Y)
        np.testing.assert_allclose(adapt(reg).predict(X), reg.predict(X))

    @pytest.mark.parametrize("output", ["probability", "log_odds"])
    def test_probability_rejected(self, binary_data, output):
        X, y = binary_data
        reg = Ridge().fit(X, y.astype(float))
        with pytest.raises(InvalidParameterError) as info:
            adapt(reg, output=output)
        msg = str(info.value)
        assert msg.startswith("output:") and repr(output) in msg and "Ridge" in msg


# ---------------------------------------------------------------- pipelines on DataFrames
def _mixed_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(20, 70, size=n),
            "income": rng.normal(50.0, 10.0, size=n),
            "city": rng.choice(["paris", "lyon", "nice"], size=n),
            "plan": pd.Categorical(rng.choice(["basic", "pro", "max"], size=n), categories=["basic", "pro", "max"]),
        }
    )


@pytest.fixture(scope="module")
def pipeline_and_data():
    df = _mixed_frame(200, 1)
    y = ((df["age"] > 45) ^ (df["city"] == "nice") | (df["plan"] == "max")).astype(int)
    pre = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["city", "plan"]),
            ("num", StandardScaler(), ["age", "income"]),
        ]
    )
    pipe = Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=500))]).fit(df, y)
    return pipe, df


def _brute_force_shapley(predict, x_row: pd.DataFrame, bg: pd.DataFrame) -> np.ndarray:
    """Interventional Shapley values by direct enumeration with pandas (independent of xaikit)."""
    cols = list(bg.columns)
    d = len(cols)
    value = {}
    for r in range(d + 1):
        for S in itertools.combinations(range(d), r):
            hybrid = bg.copy()
            for j in S:
                hybrid[cols[j]] = pd.Series([x_row.iloc[0, j]] * len(bg), index=bg.index, dtype=bg[cols[j]].dtype)
            value[S] = predict(hybrid).mean(axis=0)
    phi = np.zeros((d, len(value[()])))
    for i in range(d):
        for r in range(d):
            for S in itertools.combinations([j for j in range(d) if j != i], r):
                w = factorial(r) * factorial(d - r - 1) / factorial(d)
                with_i = tuple(sorted(S + (i,)))
                phi[i] += w * (value[with_i] - value[S])
    return phi


class TestPipelines:
    def test_exact_shapley_on_pipeline_dataframe(self, pipeline_and_data):
        pipe, df = pipeline_and_data
        bg = df.iloc[:20].reset_index(drop=True)
        X = df.iloc[150:154].reset_index(drop=True)
        exp = xk.ExactShapley(pipe, background=bg).explain(X)
        assert exp.feature_names == list(df.columns)
        assert exp.output_names == ["0", "1"]
        assert exp.values.shape == (4, 4, 2)
        expected_base = pipe.predict_proba(bg).mean(axis=0)
        np.testing.assert_allclose(exp.base_values, np.tile(expected_base, (4, 1)), atol=1e-12)
        # efficiency
        np.testing.assert_allclose(exp.values.sum(axis=1) + exp.base_values, pipe.predict_proba(X), atol=1e-10)
        # the values themselves, against a direct enumeration
        for i in range(2):
            expected = _brute_force_shapley(pipe.predict_proba, X.iloc[[i]], bg)
            np.testing.assert_allclose(exp.values[i], expected, atol=1e-10)

    def test_category_in_x_but_not_in_background(self, pipeline_and_data):
        pipe, df = pipeline_and_data
        bg = df[df["city"] != "nice"].iloc[:15].reset_index(drop=True)
        assert "nice" not in set(bg["city"])
        X = df[df["city"] == "nice"].iloc[:2].reset_index(drop=True)
        exp = xk.ExactShapley(pipe, background=bg).explain(X)
        np.testing.assert_allclose(exp.values.sum(axis=1) + exp.base_values, pipe.predict_proba(X), atol=1e-10)
        expected = _brute_force_shapley(pipe.predict_proba, X.iloc[[0]], bg)
        np.testing.assert_allclose(exp.values[0], expected, atol=1e-10)

    def test_numpy_background_takes_names_from_model(self, binary_data):
        X, y = binary_data
        cols = ["alpha", "beta", "gamma"]
        clf = LogisticRegression().fit(pd.DataFrame(X, columns=cols), y)
        with warnings.catch_warnings():
            # the model must receive DataFrames with its feature names, not bare arrays
            warnings.filterwarnings("error", message=".*feature names.*")
            exp = xk.ExactShapley(clf, background=X[:10]).explain(X[20:23])
        assert exp.feature_names == cols
        proba = clf.predict_proba(pd.DataFrame(X[20:23], columns=cols))
        np.testing.assert_allclose(exp.values.sum(axis=1) + exp.base_values, proba, atol=1e-10)

    def test_background_with_other_columns_rejected(self, binary_data):
        X, y = binary_data
        clf = LogisticRegression().fit(pd.DataFrame(X, columns=["a", "b", "c"]), y)
        with pytest.raises(InvalidParameterError, match="^background:.*'a', 'b', 'c'"):
            xk.ExactShapley(clf, background=pd.DataFrame(X[:5], columns=["a", "b", "z"]))


# ---------------------------------------------------------------- output checks
def _rows(n=4, d=2):
    return np.arange(n * d, dtype=float).reshape(n, d)


class TestOutputChecks:
    def test_nan_output(self):
        def f(X):
            out = X[:, 0].copy()
            out[2] = np.nan
            return out

        with pytest.raises(ModelOutputError) as info:
            adapt(f).predict(_rows())
        msg = str(info.value)
        assert "NaN or infinite" in msg and "row 2" in msg and "4 input rows" in msg

    def test_infinite_output(self):
        with pytest.raises(ModelOutputError, match="1 NaN or infinite value"):
            adapt(lambda X: np.where(X[:, 0] > 3, np.inf, 0.0)).predict(np.array([[1.0], [5.0]]))

    def test_string_output(self):
        with pytest.raises(ModelOutputError) as info:
            adapt(lambda X: np.array(["a"] * len(X))).predict(_rows())
        msg = str(info.value)
        assert "shape (4,)" in msg and "<U1" in msg and "expected numbers" in msg

    def test_object_output(self):
        with pytest.raises(ModelOutputError, match="dtype object"):
            adapt(lambda X: np.array([None] * len(X))).predict(_rows())

    def test_wrong_number_of_rows(self):
        with pytest.raises(ModelOutputError) as info:
            adapt(lambda X: X[:-1, 0]).predict(_rows())
        msg = str(info.value)
        assert "shape (3,)" in msg and "4 input rows" in msg

    def test_three_dimensional_output(self):
        with pytest.raises(ModelOutputError) as info:
            adapt(lambda X: X[:, :, None]).predict(_rows())
        assert "shape (4, 2, 1)" in str(info.value)

    def test_scalar_output(self):
        with pytest.raises(ModelOutputError, match=r"shape \(\)"):
            adapt(lambda X: 1.0).predict(_rows())

    def test_number_of_outputs_must_not_change(self):
        calls = []

        def f(X):
            calls.append(len(X))
            return np.ones((len(X), len(calls)))

        m = adapt(f)
        assert m.predict(_rows()).shape == (4, 1)
        with pytest.raises(ModelOutputError) as info:
            m.predict(_rows())
        msg = str(info.value)
        assert "2 outputs" in msg and "1 before" in msg

    def test_message_names_the_function(self):
        def my_scoring_function(X):
            return np.full(len(X), np.nan)

        with pytest.raises(ModelOutputError, match="my_scoring_function"):
            adapt(my_scoring_function).predict(_rows())

    def test_tensor_like_output_is_converted(self):
        class FakeTensor:
            def __init__(self, a):
                self.a = a

            def detach(self):
                return self

            def cpu(self):
                return self

            def numpy(self):
                return self.a

        out = adapt(lambda X: FakeTensor(X.sum(axis=1))).predict(_rows(3))
        np.testing.assert_array_equal(out, [[1.0], [5.0], [9.0]])
