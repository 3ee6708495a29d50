"""Tests of the LightGBM parser: the parsed ensemble reproduces LightGBM's own predictions.

LightGBM compares and adds in float64 and dumps thresholds and leaf values with full precision, so
raw scores agree to 1e-10.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.models._trees_lightgbm import from_lightgbm
from xaikit.models.trees import (
    MISSING_NAN,
    MISSING_NONE,
    MISSING_ZERO,
    TreeEnsemble,
    is_tree_model,
    tree_ensemble,
)

lgb = pytest.importorskip("lightgbm")

TOL = {"rtol": 0, "atol": 1e-10}
BASE = {"verbose": -1, "num_leaves": 8, "min_data_per_group": 5, "cat_smooth": 1.0, "num_threads": 1}


def raw(booster, X):
    return booster.predict(X, raw_score=True).reshape(len(X), -1)


def cover_is_consistent(ens: TreeEnsemble) -> bool:
    inner = np.flatnonzero(ens.left >= 0)
    return bool(np.array_equal(ens.cover[inner], ens.cover[ens.left[inner]] + ens.cover[ens.right[inner]]))


@pytest.fixture(scope="module")
def data():
    """Numeric features 0-2 with NaN and zeros, integer categories 0..9 in feature 3."""
    rng = np.random.default_rng(0)

    def make(n, cat_low, cat_high):
        X = rng.normal(size=(n, 4))
        X[:, 3] = rng.integers(cat_low, cat_high, n)
        return X

    X = make(500, 0, 10)
    y = X[:, 0] + 2.0 * (X[:, 3] % 3 == 0) + np.where(X[:, 1] > 0, 1.0, 0.0) + rng.normal(scale=0.3, size=500)
    X[rng.random(X.shape) < 0.1] = np.nan
    X[rng.random(500) < 0.15, 1] = 0.0
    # test rows: unseen (10..13) and negative categories, NaN and exact zeros everywhere
    Xt = make(200, -2, 14)
    Xt[rng.random(Xt.shape) < 0.15] = np.nan
    Xt[rng.random(200) < 0.2, 1] = 0.0
    Xt[rng.random(200) < 0.1, 0] = 0.0
    return X, y, Xt


@pytest.fixture(autouse=True, scope="module")
def _quiet():
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*categorical_feature.*")
        yield


# ---------------------------------------------------------------- regression / classification
def test_regressor(data):
    X, y, Xt = data
    model = lgb.LGBMRegressor(n_estimators=15, **BASE).fit(X, y, categorical_feature=[3])
    ens = tree_ensemble(model)
    assert isinstance(ens, TreeEnsemble)
    assert ens.library == "lightgbm.LGBMRegressor" and ens.transform == "identity" and ens.output_names is None
    assert not ens.strict and not ens.input_float32 and ens.n_features == 4 and ens.n_trees == 15
    assert ens.categorical.any()
    np.testing.assert_allclose(ens.predict_raw(Xt), raw(model.booster_, Xt), **TOL)
    np.testing.assert_allclose(ens.predict(Xt)[:, 0], model.predict(Xt), **TOL)
    assert cover_is_consistent(ens)
    assert is_tree_model(model)


def test_binary_classifier(data):
    X, y, Xt = data
    labels = np.where(y > 0.5, "high", "low")
    model = lgb.LGBMClassifier(n_estimators=15, **BASE).fit(X, labels, categorical_feature=[3])
    ens = from_lightgbm(model)
    assert ens.transform == "logistic" and ens.n_outputs == 1 and ens.output_names == ["low"]
    np.testing.assert_allclose(ens.predict_raw(Xt), raw(model.booster_, Xt), **TOL)
    np.testing.assert_allclose(ens.predict(Xt)[:, 0], model.predict_proba(Xt)[:, 1], **TOL)
    assert cover_is_consistent(ens)


def test_multiclass_classifier(data):
    X, y, Xt = data
    model = lgb.LGBMClassifier(n_estimators=8, **BASE).fit(X, np.digitize(y, [0.0, 1.5]), categorical_feature=[3])
    ens = from_lightgbm(model)
    assert ens.transform == "softmax" and ens.n_outputs == 3 and ens.n_trees == 24
    assert ens.output_names == ["0", "1", "2"]
    leaves = ens.left < 0
    assert np.all(np.count_nonzero(ens.value[leaves], axis=1) <= 1)  # tree i writes to class i % 3 only
    np.testing.assert_allclose(ens.predict_raw(Xt), raw(model.booster_, Xt), **TOL)
    np.testing.assert_allclose(ens.predict(Xt), model.predict_proba(Xt), **TOL)
    assert cover_is_consistent(ens)


@pytest.mark.parametrize(
    ("objective", "target", "params"),
    [
        ("regression_l1", "real", {}),
        ("huber", "real", {}),
        ("quantile", "real", {"alpha": 0.3}),
        ("cross_entropy", "binary", {}),
        ("multiclassova", "class", {"num_class": 3}),
        ("poisson", "positive", {}),
        ("gamma", "positive", {}),
        ("tweedie", "positive", {}),
    ],
)
def test_booster_objectives(data, objective, target, params):
    X, y, Xt = data
    labels = {
        "real": y,
        "positive": np.exp(y / 3),
        "binary": (y > 0.5).astype(float),
        "class": np.digitize(y, [0.0, 1.5]),
    }[target]
    booster = lgb.train({"objective": objective, **BASE, **params}, lgb.Dataset(X, labels, categorical_feature=[3]), 8)
    ens = tree_ensemble(booster)
    assert ens.library == "lightgbm.Booster"
    np.testing.assert_allclose(ens.predict_raw(Xt), raw(booster, Xt), **TOL)
    np.testing.assert_allclose(ens.predict(Xt), booster.predict(Xt).reshape(len(Xt), -1), **TOL)


# ---------------------------------------------------------------- missing values
@pytest.mark.parametrize(
    ("params", "kind"),
    [({}, MISSING_NAN), ({"zero_as_missing": True}, MISSING_ZERO), ({"use_missing": False}, MISSING_NONE)],
)
def test_missing_types(data, params, kind):
    X, y, Xt = data
    booster = lgb.train({"objective": "regression", **BASE, **params}, lgb.Dataset(X, y, categorical_feature=[3]), 10)
    ens = from_lightgbm(booster)
    numeric = (ens.left >= 0) & ~ens.categorical
    assert kind in set(ens.missing_kind[numeric].tolist())
    # categorical nodes send NaN right whatever the dumped missing type says
    assert np.all(ens.missing_kind[ens.categorical] == MISSING_NAN) and not ens.missing_left[ens.categorical].any()
    np.testing.assert_allclose(ens.predict_raw(Xt), raw(booster, Xt), **TOL)


# ---------------------------------------------------------------- categorical splits
def test_categorical_routing():
    """Category 0 alone goes left (one-hot split), so NaN-as-0, negatives and unseen codes are all tested."""
    rng = np.random.default_rng(1)
    n = 1000
    c = rng.integers(0, 4, n).astype(float)
    y = np.array([10.0, 0.0, 1.0, 2.0])[c.astype(int)] + rng.normal(scale=0.1, size=n)
    c[rng.random(n) < 0.15] = np.nan
    y[np.isnan(c)] = 4.0
    X = np.c_[c, rng.normal(size=n)]
    for use_missing in (True, False):
        params = {**BASE, "max_cat_to_onehot": 8, "use_missing": use_missing}
        booster = lgb.train(params, lgb.Dataset(X, y, categorical_feature=[0]), 5)
        ens = from_lightgbm(booster)
        codes = np.tile([0, 1, 2, 3, 4, 31, 32, 1000, -1, -2, -1e9, np.nan], 3)
        Xt = np.c_[codes, rng.normal(size=codes.size)]
        np.testing.assert_allclose(ens.predict_raw(Xt), raw(booster, Xt), **TOL)


def test_categorical_pandas_classifier():
    rng = np.random.default_rng(2)
    n = 600
    names = list("abcdefg")
    codes = rng.integers(0, 7, n)
    x1 = rng.normal(size=n)
    y = (np.array([2.0, -1, 1, 0, 3, -2, 0.5])[codes] + x1 > 0.5).astype(int)
    df = pd.DataFrame({"c": pd.Categorical([names[i] for i in codes], categories=names), "x": x1})
    df.loc[rng.random(n) < 0.1, "c"] = np.nan
    model = lgb.LGBMClassifier(n_estimators=10, **BASE).fit(df, y)
    ens = from_lightgbm(model)
    assert ens.categorical.any()
    test = pd.DataFrame(
        {"c": pd.Categorical(["a", "g", "c", None, "e", "b"] * 5, categories=names), "x": rng.normal(size=30)}
    )
    X_codes = np.c_[test["c"].cat.codes.to_numpy().astype(float), test["x"].to_numpy()]  # NaN is code -1
    np.testing.assert_allclose(ens.predict(X_codes)[:, 0], model.predict_proba(test)[:, 1], **TOL)


def test_categorical_non_integral_values():
    rng = np.random.default_rng(1)
    c = rng.integers(0, 4, 800).astype(float)
    y = np.array([10.0, 0.0, 1.0, 2.0])[c.astype(int)]
    booster = lgb.train({**BASE, "max_cat_to_onehot": 8}, lgb.Dataset(np.c_[c, y * 0], y, categorical_feature=[0]), 3)
    ens = from_lightgbm(booster)
    Xt = np.c_[[0.5, -0.5, 1.7, 2.2], np.zeros(4)]
    np.testing.assert_allclose(ens.predict_raw(Xt), raw(booster, Xt), **TOL)


# ---------------------------------------------------------------- random forest / early stopping
def test_random_forest(data):
    X, y, Xt = data
    params = {**BASE, "boosting": "rf", "bagging_freq": 1, "bagging_fraction": 0.7}
    booster = lgb.train(params, lgb.Dataset(X, y, categorical_feature=[3]), 6)
    ens = from_lightgbm(booster)
    np.testing.assert_allclose(ens.predict(Xt), booster.predict(Xt).reshape(-1, 1), **TOL)
    # raw_score=True gives LightGBM's un-averaged sum; the ensemble's margin is the average predict() uses
    np.testing.assert_allclose(6 * ens.predict_raw(Xt), raw(booster, Xt), rtol=0, atol=1e-9)
    clf = lgb.LGBMClassifier(n_estimators=5, boosting_type="rf", subsample=0.7, subsample_freq=1, **BASE)
    clf.fit(X, np.digitize(y, [0.0, 1.5]), categorical_feature=[3])
    ens = from_lightgbm(clf)
    np.testing.assert_allclose(ens.predict(Xt), clf.predict_proba(Xt), **TOL)
    assert cover_is_consistent(ens)


def test_early_stopping(data):
    X, y, Xt = data
    rng = np.random.default_rng(3)
    noisy = y + rng.normal(scale=3.0, size=y.shape)
    train = lgb.Dataset(X[:400], noisy[:400])
    valid = lgb.Dataset(X[400:], noisy[400:], reference=train)
    booster = lgb.train(
        {**BASE, "learning_rate": 0.5}, train, 200, valid_sets=[valid],
        callbacks=[lgb.early_stopping(3, verbose=False)], keep_training_booster=True,
    )
    # the booster keeps every tree, but predicts with those up to best_iteration
    assert 0 < booster.best_iteration < booster.current_iteration()
    ens = from_lightgbm(booster)
    assert ens.n_trees == booster.best_iteration
    np.testing.assert_allclose(ens.predict_raw(Xt), raw(booster, Xt), **TOL)

    model = lgb.LGBMRegressor(n_estimators=200, learning_rate=0.5, **BASE)
    if _has_eval_x():  # lightgbm >= 4.7 deprecates eval_set
        eval_args: dict = {"eval_X": (X[400:],), "eval_y": (noisy[400:],)}
    else:
        eval_args = {"eval_set": [(X[400:], noisy[400:])]}
    model.fit(X[:400], noisy[:400], callbacks=[lgb.early_stopping(3, verbose=False)], **eval_args)
    ens = from_lightgbm(model)
    assert ens.n_trees == model.best_iteration_
    np.testing.assert_allclose(ens.predict(Xt)[:, 0], model.predict(Xt), **TOL)


def _has_eval_x() -> bool:
    import inspect

    return "eval_X" in inspect.signature(lgb.LGBMRegressor.fit).parameters


# ---------------------------------------------------------------- refusals
def test_linear_trees_are_refused(data):
    X, y, _ = data
    Xn = np.nan_to_num(X[:, :3])
    model = lgb.LGBMRegressor(n_estimators=3, linear_tree=True, **BASE).fit(Xn, y)
    with pytest.raises(UnsupportedModelError, match="model:.*linear_tree"):
        from_lightgbm(model)
    assert not is_tree_model(model)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"objective": "cross_entropy_lambda"}, "objective 'cross_entropy_lambda'"),
        ({"objective": "regression", "reg_sqrt": True}, "reg_sqrt"),
    ],
)
def test_unsupported_objectives(data, params, match):
    X, y, _ = data
    labels = np.digitize(y, [0.0, 1.5]) if params["objective"] != "regression" else y
    if params["objective"] in ("binary", "cross_entropy_lambda"):
        labels = (y > 0.5).astype(float)
    group = [100] * 5 if params["objective"] == "lambdarank" else None
    booster = lgb.train({**BASE, **params}, lgb.Dataset(X, labels, group=group), 2)
    with pytest.raises(UnsupportedModelError, match=match):
        tree_ensemble(booster)


def test_custom_objective_is_raw_score(data):
    X, y, Xt = data

    def squared(preds, train):
        return preds - train.get_label(), np.ones_like(preds)

    booster = lgb.train({**BASE, "objective": squared}, lgb.Dataset(X, y), 5)
    ens = from_lightgbm(booster)
    assert ens.transform == "identity"
    np.testing.assert_allclose(ens.predict(Xt), booster.predict(Xt).reshape(-1, 1), **TOL)


def test_unfitted_and_foreign_models():
    with pytest.raises(InvalidParameterError, match="model: expected a fitted LGBMClassifier"):
        from_lightgbm(lgb.LGBMClassifier())
    with pytest.raises(UnsupportedModelError, match="model: expected a lightgbm.Booster"):
        from_lightgbm([1, 2])
