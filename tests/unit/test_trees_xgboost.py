"""Tests of the XGBoost parser: the parsed ensemble reproduces XGBoost's own predictions.

XGBoost adds leaf values in float32 while ``TreeEnsemble`` adds them in float64, so margins agree to
float32 rounding only: comparisons use ``rtol=atol=1e-5``. Routing itself is exact (inputs and
thresholds are compared in float32 on both sides), so a wrong branch would show as a large error.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.models._trees_xgboost import from_xgboost
from xaikit.models.trees import MISSING_ZERO, TreeEnsemble, is_tree_model, tree_ensemble

xgb = pytest.importorskip("xgboost")

TOL = {"rtol": 1e-5, "atol": 1e-5}


def margin(booster, X, feature_types=None):
    """XGBoost's raw margin as ``(n, n_outputs)``."""
    dm = xgb.DMatrix(X, feature_types=feature_types, enable_categorical=feature_types is not None)
    out = booster.predict(dm, output_margin=True)
    return out.reshape(len(X), -1)


def cover_is_consistent(ens: TreeEnsemble) -> bool:
    inner = np.flatnonzero(ens.left >= 0)
    children = ens.cover[ens.left[inner]] + ens.cover[ens.right[inner]]
    return bool(np.allclose(ens.cover[inner], children, rtol=1e-4))


@pytest.fixture(autouse=True)
def one_thread():
    """Small models: threads cost more than they save."""
    with xgb.config_context(nthread=1):
        yield


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    y = X[:, 0] + 0.5 * X[:, 1] ** 2 + rng.normal(scale=0.3, size=400)
    X[rng.random(X.shape) < 0.1] = np.nan  # missing values in training
    Xt = rng.normal(size=(150, 4))
    Xt[rng.random(Xt.shape) < 0.2] = np.nan  # and at predict time
    return X, y, Xt


@pytest.fixture(scope="module")
def cat_data():
    rng = np.random.default_rng(1)
    n = 600
    c = rng.integers(0, 8, n).astype(float)
    x1 = rng.normal(size=n)
    y = np.array([3.0, -1, 2, 0, 5, -4, 1, 1])[c.astype(int)] + x1
    c[rng.random(n) < 0.15] = np.nan
    c[c == 6] = 7  # category 6 never seen in training
    return np.c_[c, x1], y


# ---------------------------------------------------------------- regression / classification
def test_regressor_with_missing_values(data):
    X, y, Xt = data
    model = xgb.XGBRegressor(n_estimators=20, max_depth=4).fit(X, y)
    ens = tree_ensemble(model)
    assert isinstance(ens, TreeEnsemble)
    assert ens.library == "xgboost.XGBRegressor" and ens.transform == "identity" and ens.output_names is None
    assert ens.strict and ens.input_float32 and ens.n_features == 4 and ens.n_trees == 20
    np.testing.assert_allclose(ens.predict_raw(Xt), margin(model.get_booster(), Xt), **TOL)
    np.testing.assert_allclose(ens.predict(Xt)[:, 0], model.predict(Xt), **TOL)
    assert cover_is_consistent(ens)
    assert is_tree_model(model)


def test_binary_classifier(data):
    X, y, Xt = data
    model = xgb.XGBClassifier(n_estimators=15, max_depth=3).fit(X, (y > 0.3).astype(int))
    ens = from_xgboost(model)
    assert ens.transform == "logistic" and ens.n_outputs == 1 and ens.output_names == ["1"]
    np.testing.assert_allclose(ens.predict_raw(Xt), margin(model.get_booster(), Xt), **TOL)
    np.testing.assert_allclose(ens.predict(Xt)[:, 0], model.predict_proba(Xt)[:, 1], **TOL)
    assert cover_is_consistent(ens)


def test_multiclass_classifier(data):
    X, y, Xt = data
    yc = np.digitize(y, [-0.5, 0.7])
    model = xgb.XGBClassifier(n_estimators=10, max_depth=3).fit(X, yc)
    ens = from_xgboost(model)
    assert ens.transform == "softmax" and ens.n_outputs == 3 and ens.n_trees == 30
    assert ens.output_names == ["0", "1", "2"]
    # each tree writes into its own class's column only
    leaves = ens.left < 0
    assert np.all(np.count_nonzero(ens.value[leaves], axis=1) <= 1)
    np.testing.assert_allclose(ens.predict_raw(Xt), margin(model.get_booster(), Xt), **TOL)
    np.testing.assert_allclose(ens.predict(Xt), model.predict_proba(Xt), **TOL)
    assert cover_is_consistent(ens)


def test_explicit_base_score(data):
    X, y, Xt = data
    reg = xgb.XGBRegressor(n_estimators=5, max_depth=2, base_score=3.0).fit(X, y)
    ens = from_xgboost(reg)
    np.testing.assert_allclose(ens.base_offset, [3.0])
    np.testing.assert_allclose(ens.predict(Xt)[:, 0], reg.predict(Xt), **TOL)
    clf = xgb.XGBClassifier(n_estimators=5, max_depth=2, base_score=0.2).fit(X, (y > 0).astype(int))
    ens = from_xgboost(clf)
    np.testing.assert_allclose(ens.base_offset, [np.log(0.2 / 0.8)], rtol=1e-6)  # logit of the probability
    np.testing.assert_allclose(ens.predict(Xt)[:, 0], clf.predict_proba(Xt)[:, 1], **TOL)


@pytest.mark.parametrize(
    ("objective", "target", "params"),
    [
        ("reg:pseudohubererror", "real", {}),
        ("reg:absoluteerror", "real", {}),
        ("reg:squaredlogerror", "positive", {}),
        ("reg:quantileerror", "real", {"quantile_alpha": [0.2, 0.5, 0.8]}),
        ("reg:logistic", "binary", {"base_score": 0.3}),
        ("binary:logitraw", "binary", {"base_score": 0.3}),
        ("multi:softmax", "class", {"num_class": 3}),
        ("count:poisson", "positive", {}),
        ("reg:gamma", "positive", {}),
        ("reg:tweedie", "positive", {}),
    ],
)
def test_booster_objectives(data, objective, target, params):
    X, y, Xt = data
    labels = {
        "real": y,
        "positive": np.exp(y / 3),
        "binary": (y > 0).astype(float),
        "class": np.digitize(y, [-0.5, 0.7]).astype(float),
    }[target]
    booster = xgb.train({"objective": objective, "max_depth": 3, **params}, xgb.DMatrix(X, labels), 8)
    ens = tree_ensemble(booster)
    assert ens.library == "xgboost.Booster"
    np.testing.assert_allclose(ens.predict_raw(Xt), margin(booster, Xt), **TOL)
    if objective != "multi:softmax":  # softmax predicts labels; the ensemble gives the probabilities
        np.testing.assert_allclose(ens.predict(Xt), booster.predict(xgb.DMatrix(Xt)).reshape(len(Xt), -1), **TOL)
    else:
        np.testing.assert_array_equal(ens.predict(Xt).argmax(axis=1), booster.predict(xgb.DMatrix(Xt)))
    if objective == "reg:quantileerror":
        assert ens.n_outputs == 3 and ens.output_names == ["quantile=0.2", "quantile=0.5", "quantile=0.8"]


def test_random_forest(data):
    X, y, Xt = data
    reg = xgb.XGBRFRegressor(n_estimators=6, max_depth=4).fit(X, y)
    ens = from_xgboost(reg)
    assert ens.n_trees == 6
    np.testing.assert_allclose(ens.predict(Xt)[:, 0], reg.predict(Xt), **TOL)
    clf = xgb.XGBRFClassifier(n_estimators=5, max_depth=3).fit(X, np.digitize(y, [-0.5, 0.7]))
    ens = from_xgboost(clf)
    assert ens.n_trees == 15 and ens.n_outputs == 3
    np.testing.assert_allclose(ens.predict(Xt), clf.predict_proba(Xt), **TOL)
    assert cover_is_consistent(ens)


def test_early_stopping(data):
    X, y, Xt = data
    rng = np.random.default_rng(5)
    noisy = y + rng.normal(scale=3.0, size=y.shape)
    fit, val = slice(0, 300), slice(300, 400)
    model = xgb.XGBRegressor(n_estimators=200, learning_rate=0.5, early_stopping_rounds=3)
    model.fit(X[fit], noisy[fit], eval_set=[(X[val], noisy[val])], verbose=False)
    booster = model.get_booster()
    assert model.best_iteration + 1 < booster.num_boosted_rounds()
    ens = from_xgboost(model)  # the wrapper predicts with the trees up to best_iteration
    assert ens.n_trees == model.best_iteration + 1
    np.testing.assert_allclose(ens.predict(Xt)[:, 0], model.predict(Xt), **TOL)
    full = from_xgboost(booster)  # Booster.predict uses every tree
    assert full.n_trees == booster.num_boosted_rounds()
    np.testing.assert_allclose(full.predict_raw(Xt), margin(booster, Xt), **TOL)


def test_pruned_trees(data):
    """The prune updater leaves deleted nodes in XGBoost's arrays; they must not be reachable."""
    X, y, Xt = data
    dm = xgb.DMatrix(X, y)
    booster = xgb.train({"max_depth": 5}, dm, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # xgboost warns about updating a model in place
        pruned = xgb.train({"process_type": "update", "updater": "prune", "gamma": 5.0}, dm, 4, xgb_model=booster)
    ens = from_xgboost(pruned)
    assert ens.tree_sizes().sum() < ens.n_nodes
    np.testing.assert_allclose(ens.predict_raw(Xt), margin(pruned, Xt), **TOL)
    assert cover_is_consistent(ens)


def test_zero_as_missing_wrapper():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 3))
    X[rng.random(X.shape) < 0.2] = 0.0
    y = 3.0 * (X[:, 0] == 0) + X[:, 1]
    model = xgb.XGBRegressor(n_estimators=10, max_depth=3, missing=0.0).fit(X, y)
    ens = from_xgboost(model)
    assert np.all(ens.missing_kind[ens.left >= 0] == MISSING_ZERO)
    Xt = rng.normal(size=(100, 3))
    Xt[rng.random(Xt.shape) < 0.3] = 0.0
    Xt[rng.random(Xt.shape) < 0.1] = np.nan  # NaN stays missing as well
    np.testing.assert_allclose(ens.predict(Xt)[:, 0], model.predict(Xt), **TOL)


# ---------------------------------------------------------------- categorical splits
@pytest.mark.parametrize("max_cat_to_onehot", [1, 16])  # partition splits and one-hot splits
def test_categorical_dmatrix(cat_data, max_cat_to_onehot):
    X, y = cat_data
    dm = xgb.DMatrix(X, y, feature_types=["c", "q"], enable_categorical=True)
    booster = xgb.train({"max_depth": 3, "max_cat_to_onehot": max_cat_to_onehot}, dm, 10)
    ens = from_xgboost(booster)
    assert ens.categorical.any() and ens.cat_mode == 2
    rng = np.random.default_rng(3)
    # seen categories, unseen ones inside the recorded range (6 never seen; 8..31), and NaN
    codes = np.tile([0, 1, 2, 3, 4, 5, 6, 7, 8, 20, 31, np.nan], 10)
    Xt = np.c_[codes, rng.normal(size=codes.size)]
    np.testing.assert_allclose(ens.predict_raw(Xt), margin(booster, Xt, ["c", "q"]), **TOL)
    assert cover_is_consistent(ens)


def test_categorical_pandas_classifier():
    rng = np.random.default_rng(4)
    n = 500
    names = list("abcdef")
    codes = rng.integers(0, 6, n)
    x1 = rng.normal(size=n)
    y = (np.array([2.0, -1, 1, 0, 3, -2])[codes] + x1 > 0.5).astype(int)
    cat = pd.Categorical([names[i] for i in codes], categories=names)
    df = pd.DataFrame({"c": cat, "x": x1})
    df.loc[rng.random(n) < 0.1, "c"] = np.nan
    model = xgb.XGBClassifier(n_estimators=10, max_depth=3, enable_categorical=True, max_cat_to_onehot=1).fit(df, y)
    ens = from_xgboost(model)
    test = pd.DataFrame(
        {"c": pd.Categorical(["a", "f", "c", None, "e", "b"] * 5, categories=names), "x": rng.normal(size=30)}
    )
    X_codes = np.c_[test["c"].cat.codes.to_numpy().astype(float), test["x"].to_numpy()]
    X_codes[X_codes[:, 0] < 0, 0] = np.nan  # pandas codes missing values as -1
    np.testing.assert_allclose(ens.predict(X_codes)[:, 0], model.predict_proba(test)[:, 1], **TOL)


def test_training_categories_from_json_and_from_arrow_export():
    # without pyarrow the categories come from the model's JSON; with it, from get_categories(),
    # whose result became a Categories container (to_arrow(), empty()) in XGBoost 3.1
    from xaikit.explainers.trees.tree_shap import _training_categories, _xgboost_json_categories

    rng = np.random.default_rng(5)
    names = list("pqrs")
    df = pd.DataFrame({"x": rng.normal(size=200), "c": pd.Categorical(rng.choice(names, 200), categories=names)})
    model = xgb.XGBRegressor(n_estimators=3, max_depth=2, enable_categorical=True).fit(df, rng.normal(size=200))
    booster = model.get_booster()
    assert _xgboost_json_categories(booster) == [names]

    class ArrowArray:
        def __init__(self, values):
            self.values = values

        def to_pylist(self):
            return list(self.values)

    class Exported:  # what XGBoost >= 3.1 returns with export_to_arrow=True
        def __init__(self, pairs):
            self.pairs = pairs

        def empty(self):
            return not any(a is not None for _, a in self.pairs)

        def to_arrow(self):
            return self.pairs

    class WithArrow:
        def __init__(self, pairs):
            self.pairs = pairs

        def get_categories(self, export_to_arrow=False):
            return Exported(self.pairs)

    assert _training_categories(WithArrow([("x", None), ("c", ArrowArray(names))])) == [names]
    assert _training_categories(WithArrow([("x", None)])) is None
    assert _training_categories(model) == [names]  # whichever path this environment takes


def test_categorical_values_outside_the_bitset(cat_data):
    X, y = cat_data
    dm = xgb.DMatrix(X, y, feature_types=["c", "q"], enable_categorical=True)
    booster = xgb.train({"max_depth": 3, "max_cat_to_onehot": 1}, dm, 10)
    ens = from_xgboost(booster)
    codes = np.repeat([32.0, 100.0, -1.0, -0.5, 1.5, 2.0**24], 5)
    Xt = np.c_[codes, np.linspace(-1, 1, codes.size)]
    np.testing.assert_allclose(ens.predict_raw(Xt), margin(booster, Xt, ["c", "q"]), **TOL)


# ---------------------------------------------------------------- refusals
def test_gblinear_is_refused(data):  # DART is parsed: tests/unit/test_trees_objectives.py
    X, y, _ = data
    for name in ("gblinear",):
        booster = xgb.train({"booster": name}, xgb.DMatrix(X, y), 2)
        with pytest.raises(UnsupportedModelError, match=f"model:.*booster '{name}'"):
            from_xgboost(booster)
        assert not is_tree_model(booster)


def test_vector_leaf_trees_are_refused(data):
    X, y, _ = data
    booster = xgb.train(
        {"multi_strategy": "multi_output_tree", "tree_method": "hist", "max_depth": 2},
        xgb.DMatrix(X, np.c_[y, -y]),
        2,
    )
    with pytest.raises(UnsupportedModelError, match="multi_output_tree"):
        from_xgboost(booster)


def test_multi_target_one_tree_per_output(data):
    X, y, Xt = data
    booster = xgb.train({"max_depth": 2}, xgb.DMatrix(X, np.c_[y, -2 * y]), 4)
    ens = from_xgboost(booster)
    assert ens.n_outputs == 2
    np.testing.assert_allclose(ens.predict_raw(Xt), margin(booster, Xt), **TOL)


def test_unfitted_and_foreign_models(data):
    with pytest.raises(InvalidParameterError, match="model: expected a fitted XGBRegressor"):
        from_xgboost(xgb.XGBRegressor())
    with pytest.raises(UnsupportedModelError, match="model: expected an xgboost.Booster"):
        from_xgboost(object())
