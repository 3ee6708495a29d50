"""``diagnostics["value_definition"]``, TreeShap's outputs, class names as output names, and the
scikit-learn escapes (unfitted models, wrong widths, a model's own exceptions)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import (
    ApproximationWarning,
    InvalidParameterError,
    ModelOutputError,
    XaikitWarning,
)
from xaikit.explainers.value_definition import value_definition
from xaikit.models import adapt
from xaikit.models.base import evaluating
from xaikit.testing import assert_raises_naming

ensemble = pytest.importorskip("sklearn.ensemble")

KEYS = {"output", "value_function", "background_rows", "estimate", "rescaled", "text"}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = X[:, 0] * X[:, 1] + X[:, 2] + 0.1 * rng.normal(size=300)
    return X, y


@pytest.fixture(scope="module")
def gbc(data):
    X, y = data
    return ensemble.GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=0).fit(X, y > 0)


# ---------------------------------------------------------------------- the function
def test_value_definition_fields_and_json() -> None:
    d = value_definition(output="probability", value_function="interventional", background_rows=7, estimate="sampled")
    assert set(d) == KEYS
    assert d == json.loads(json.dumps(d))
    assert (d["output"], d["background_rows"], d["rescaled"]) == ("probability", 7, False)
    assert "Sampled" in d["text"] and "7 background rows" in d["text"] and "probability" in d["text"]
    path = value_definition(output="raw", value_function="path_dependent", background_rows=None, estimate="exact")
    assert path["background_rows"] is None and "cover" in path["text"]
    rescaled = value_definition(output="probability_rescaled", value_function="interventional", background_rows=3,
                                estimate="exact")
    assert rescaled["rescaled"] is True and "not the Shapley values" in rescaled["text"]


def test_value_definition_refuses_what_it_cannot_state() -> None:
    with assert_raises_naming("value_function"):
        value_definition(output="raw", value_function="conditional", background_rows=3, estimate="exact")
    with assert_raises_naming("background_rows"):
        value_definition(output="raw", value_function="interventional", background_rows=None, estimate="exact")
    with assert_raises_naming("estimate"):
        value_definition(output="raw", value_function="interventional", background_rows=3, estimate="guess")


# ---------------------------------------------------------------------- recorded by every Shapley method
@pytest.mark.parametrize("method", ["exact_shapley", "kernel_shap", "leverage_shap", "permutation_shap",
                                    "regression_adjusted_shap"])
def test_every_shapley_method_records_its_game(method: str) -> None:
    X = np.random.default_rng(4).normal(size=(11, 8))  # 254 coalitions: 40 samples do not enumerate them
    d = xk.explain(lambda Z: Z[:, 0] * Z[:, 1] + Z[:, 2], X[:2], background=X[2:], method=method,
                   n_samples=None if method == "exact_shapley" else 40, random_state=0)
    definition = d.diagnostics["value_definition"]
    assert set(definition) == KEYS
    assert (definition["output"], definition["value_function"], definition["background_rows"]) == (
        "raw", "interventional", 9)
    assert definition["estimate"] == ("exact" if d.diagnostics["exact"] else "sampled")
    assert definition["estimate"] == ("exact" if method == "exact_shapley" else "sampled")


def test_tree_shap_records_its_game_and_it_survives_saving(data, gbc, tmp_path) -> None:
    X, _ = data
    path = xk.TreeShap(gbc).explain(X[:3]).diagnostics["value_definition"]
    assert (path["output"], path["value_function"], path["background_rows"], path["estimate"]) == (
        "log_odds", "path_dependent", None, "exact")
    exp = xk.TreeShap(gbc, background=X[:11]).explain(X[:3])
    assert exp.diagnostics["value_definition"]["background_rows"] == 11
    exp.save(tmp_path / "e.xai")
    assert xk.Explanation.load(tmp_path / "e.xai").diagnostics["value_definition"] == exp.diagnostics[
        "value_definition"]
    inter = xk.TreeShap(gbc).interactions(X[:2]).diagnostics["value_definition"]
    assert inter["value_function"] == "path_dependent" and inter["output"] == "log_odds"


# ---------------------------------------------------------------------- one game per output
def test_tree_shap_outputs(data, gbc) -> None:
    X, y = data
    with assert_raises_naming("output", "'log_odds'", "'probability_rescaled'", "output='probability'"):
        xk.TreeShap(gbc, background=X[:5], output="probability")
    forest_reg = ensemble.RandomForestRegressor(n_estimators=3, max_depth=3, random_state=0).fit(X, y)
    with assert_raises_naming("output", "regressor"):
        xk.TreeShap(forest_reg, background=X[:5], output="probability")
    forest_clf = ensemble.RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X, y > 0)
    prob = xk.TreeShap(forest_clf, background=X[:5], output="probability").explain(X[:2])  # exact: the margin
    assert prob.diagnostics["value_definition"]["output"] == "probability"
    np.testing.assert_allclose(prob.completeness(), forest_clf.predict_proba(X[:2]), atol=1e-12)
    with assert_raises_naming("output", "not additive"):
        xk.TreeShap(forest_clf, output="log_odds")
    with assert_raises_naming("output", "background"):
        xk.TreeShap(gbc, output="probability_rescaled")  # shap's convention needs the interventional game
    with assert_raises_naming("output", "exp"):
        xk.TreeShap(gbc, background=X[:5], output="response_rescaled")


@pytest.mark.parametrize("kind", ["gbc", "hgb", "forest_clf", "forest_reg"])
def test_explain_and_tree_shap_agree_on_the_default(data, kind: str) -> None:
    X, y = data
    model = {
        "gbc": lambda: ensemble.GradientBoostingClassifier(n_estimators=5, random_state=0).fit(X, y > 0),
        "hgb": lambda: ensemble.HistGradientBoostingClassifier(max_iter=5).fit(X, np.digitize(y, [-1, 1])),
        "forest_clf": lambda: ensemble.RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y > 0),
        "forest_reg": lambda: ensemble.RandomForestRegressor(n_estimators=3, random_state=0).fit(X, y),
    }[kind]()
    expected = {"gbc": "log_odds", "hgb": "raw", "forest_clf": "probability", "forest_reg": "raw"}[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("error", XaikitWarning)
        routed = xk.explain(model, X[:3], background=X[:10])
    direct = xk.TreeShap(model, background=X[:10]).explain(X[:3])
    assert routed.method == "tree_shap"
    assert routed.output_names == direct.output_names
    np.testing.assert_array_equal(routed.values, direct.values)
    assert routed.diagnostics["value_definition"] == direct.diagnostics["value_definition"]
    assert direct.diagnostics["value_definition"]["output"] == expected


def test_probability_of_many_features_is_sampled_with_a_warning_of_its_cost() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 12))
    model = ensemble.GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0).fit(X, X[:, 0] > 0)
    with pytest.warns(ApproximationWarning, match="not additive") as record:
        exp = xk.explain(model, X[:2], background=X[:4], output="probability", n_samples=60, random_state=0)
    message = str(record[0].message)
    assert "2 rows x 60 coalitions x 4 background rows" in message and "480 model rows" in message
    assert exp.diagnostics["value_definition"]["estimate"] == "sampled"


def test_fallback_for_groups_warns(data, gbc) -> None:
    X, _ = data
    with pytest.warns(XaikitWarning, match="groups"):
        exp = xk.explain(gbc, X[:2], background=X[:5], groups={"ab": [0, 1]}, output="log_odds")
    assert exp.method == "exact_shapley"


# ---------------------------------------------------------------------- output names are the classes
def test_target_by_class_name_for_sklearn_models() -> None:
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    for model in (ensemble.GradientBoostingClassifier(n_estimators=3, random_state=0),
                  ensemble.HistGradientBoostingClassifier(max_iter=3),
                  ensemble.RandomForestClassifier(n_estimators=3, random_state=0)):
        model.fit(X, names)
        for exp in (xk.explain(model, X[:2], background=X[::15], target="setosa"),
                    xk.TreeShap(model, background=X[::15]).explain(X[:2], target="setosa"),
                    xk.explain(model, X[:2], background=X[::15], target="setosa", output="probability",
                               method="exact_shapley")):
            assert exp.output_names == ["setosa"] and exp.values.shape == (2, 4, 1)
    binary = ensemble.GradientBoostingClassifier(n_estimators=3).fit(X, np.where(y == 0, "flat", "long"))
    assert xk.explain(binary, X[:2], background=X[::15]).output_names == ["long"]
    assert adapt(binary, output="log_odds").output_names == ["long"]  # the positive class, as TreeShap


def test_target_by_class_name_for_lightgbm_and_xgboost() -> None:
    lightgbm = pytest.importorskip("lightgbm")
    xgboost = pytest.importorskip("xgboost")
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 4))
    labels = np.array(["ant", "bee", "cat"])[np.digitize(X[:, 0], [-0.5, 0.5])]
    lgbm = lightgbm.LGBMClassifier(n_estimators=3, verbose=-1).fit(X, labels)
    for exp in (xk.explain(lgbm, X[:2], background=X[:10], target="bee"),
                xk.TreeShap(lgbm, background=X[:10]).explain(X[:2], target="bee")):
        assert exp.output_names == ["bee"]
    codes = np.digitize(X[:, 0], [-0.5, 0.5])  # XGBoost keeps integer classes
    xgb = xgboost.XGBClassifier(n_estimators=3).fit(X, codes)
    assert xk.explain(xgb, X[:2], background=X[:10]).output_names == [str(c) for c in xgb.classes_]


# ---------------------------------------------------------------------- scikit-learn escapes
def test_unfitted_estimator_and_pipeline_name_model(data) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, _ = data
    for model in (LogisticRegression(), make_pipeline(StandardScaler(), LogisticRegression()),
                  ensemble.GradientBoostingClassifier()):
        with assert_raises_naming("model", "is not fitted; call fit first"):
            xk.explain(model, X[:2], background=X[:5])
        with assert_raises_naming("model", "is not fitted; call fit first"):
            xk.ExactShapley(model, background=X[:5])


def test_wrong_widths_name_x_and_background(data) -> None:
    from sklearn.linear_model import Ridge

    X, y = data
    model = Ridge().fit(X, y)
    with assert_raises_naming("X", "expected 5 columns", "got 3", "background: expected 5 columns"):
        xk.explain(model, X[:2, :3], background=X[:5, :3])
    with assert_raises_naming("background", "expected 5", "got 4"):
        xk.explain(model, X[:2], background=X[:5, :4])
    with assert_raises_naming("X", "expected 5", "got 3"):
        adapt(model).predict(X[:2, :3])


def test_unseen_category_in_a_pipeline_names_the_row_of_x() -> None:
    pd = pytest.importorskip("pandas")
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.normal(size=60), "c": rng.choice(["a", "b"], 60)})
    pipe = make_pipeline(make_column_transformer((OneHotEncoder(), ["c"]), remainder="passthrough"),
                         LogisticRegression()).fit(frame, frame["x"] > 0)
    rows = frame.iloc[:5].copy()
    rows.loc[rows.index[3], "c"] = "zebra"
    with pytest.raises(ModelOutputError, match=r"while predicting X \(5 rows; first failing: row 3\)") as info:
        xk.explain(pipe, rows, background=frame.iloc[10:20])
    assert isinstance(info.value.__cause__, ValueError)


def test_a_models_own_exception_names_rows() -> None:
    def picky(Z):
        if (Z[:, 0] > 5).any():
            raise RuntimeError("cannot score that")
        return Z.sum(axis=1)

    X = np.zeros((8, 2))
    X[6, 0] = 9.0
    model = adapt(picky)
    with pytest.raises(ModelOutputError, match=r"RuntimeError while predicting 8 rows; first failing: row 6") as info:
        model.predict(X)
    assert isinstance(info.value.__cause__, RuntimeError)
    masked = r"masked copies of row 2 of X \(8 rows; first failing: row 6\)"
    with pytest.raises(ModelOutputError, match=masked), evaluating("masked copies of row 2 of X"):
        model.predict(X)
    with pytest.raises(ModelOutputError, match=r"while predicting X \(8 rows; first failing: row 6\)"):
        xk.explain(picky, X, background=np.zeros((3, 2)))
    with pytest.raises(InvalidParameterError):  # xaikit's own errors pass through unchanged
        adapt(lambda Z: (_ for _ in ()).throw(InvalidParameterError("X: bad"))).predict(X)


def test_importing_the_sklearn_adapter_does_not_import_sklearn() -> None:
    code = "import sys, xaikit, xaikit.models.sklearn; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
