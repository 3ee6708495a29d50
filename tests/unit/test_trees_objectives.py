"""XGBoost and LightGBM objectives beyond the common ones: DART, rankers, hinge, survival, any
``missing`` marker, LightGBM rankers, ``sigmoid`` other than 1, ``boosting="rf"``, cleaned feature
names, a ``DMatrix`` as rows, and bare boosters given to ``adapt``.

Each model is checked three ways: its margin against the library's own margin prediction
(``output_margin=True`` / ``raw_score=True``) for every row, TreeSHAP's values against brute-force
enumeration of the ensemble's games (helpers of ``tests/oracles/test_tree_shap_bruteforce.py``), and
the response through the ensemble's transform against the library's ``predict`` / ``predict_proba``.
"""

from __future__ import annotations

import numpy as np
import pytest
from tree_oracle import ORACLE

import xaikit as xk
from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.models import adapt
from xaikit.models._trees_lightgbm import clean_feature_name, from_lightgbm, matches_cleaned_names
from xaikit.models._trees_xgboost import MarkedTreeEnsemble, from_xgboost
from xaikit.models.sklearn import BoosterModel

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

#: XGBoost's margin is float32: the ensemble sums its float32 leaves in float64.
F32 = {"rtol": 1e-5, "atol": 2e-6}
#: LightGBM predicts in float64.
F64 = {"rtol": 1e-12, "atol": 1e-12}
#: TreeSHAP against enumeration of the same ensemble.
EXACT = {"rtol": 1e-10, "atol": 1e-10}


@pytest.fixture(scope="module")
def data():
    """4 features, 160 rows of float32-exact values (XGBoost compares in float32; the oracle in float64),
    about 10% missing; a regression target and a query id per 16 rows."""
    rng = np.random.default_rng(17)
    X = rng.normal(size=(160, 4)).astype(np.float32).astype(np.float64)
    y = X[:, 0] + 0.5 * X[:, 1] ** 2 - X[:, 2] * (X[:, 3] > 0)
    X[rng.random(X.shape) < 0.1] = np.nan
    return X, y, np.repeat(np.arange(10), 16)


def margin(model, X, **kwargs):
    """The library's own margin, ``(n, n_outputs)``."""
    if hasattr(model, "booster_") or type(model).__module__.startswith("lightgbm"):
        out = model.predict(X, raw_score=True, **kwargs)
    elif isinstance(model, xgb.Booster):
        out = model.predict(xgb.DMatrix(X), output_margin=True, **kwargs)
    else:
        out = model.predict(X, output_margin=True, **kwargs)
    return np.asarray(out, dtype=np.float64).reshape(len(X), -1)


def check_against_enumeration(ens, X, rows=4, bg_rows=12):
    """TreeSHAP against brute force on a few rows (the oracle module's check)."""
    ORACLE.check_against_enumeration(ens, X, rows, bg_rows)


# ---------------------------------------------------------------------- XGBoost
def _xgb_model(kind, X, y, qid):
    common = {"n_estimators": 4, "max_depth": 3}
    if kind == "dart":
        return xgb.XGBRegressor(booster="dart", rate_drop=0.5, skip_drop=0.0, random_state=0, **common).fit(X, y)
    if kind == "dart_classifier":
        return xgb.XGBClassifier(booster="dart", rate_drop=0.4, skip_drop=0.0, random_state=1, **common).fit(X, y > 0)
    if kind.startswith("rank:"):
        labels = (y > 0).astype(int) if kind == "rank:map" else np.digitize(y, [0.0, 1.0])  # map: binary labels
        return xgb.XGBRanker(objective=kind, **common).fit(X, labels, qid=qid)
    if kind == "binary:hinge":
        return xgb.XGBClassifier(objective=kind, **common).fit(X, y > 0)
    if kind == "survival:cox":
        return xgb.XGBRegressor(objective=kind, **common).fit(X, np.where(np.arange(len(y)) % 3, 1, -1) * (np.abs(y) + 0.1))
    raise AssertionError(kind)


XGB_KINDS = ["dart", "dart_classifier", "rank:pairwise", "rank:ndcg", "rank:map", "binary:hinge", "survival:cox"]


@pytest.fixture(scope="module")
def xgb_models(data):
    X, y, qid = data
    return {k: _xgb_model(k, X, y, qid) for k in XGB_KINDS}


@pytest.mark.parametrize("kind", XGB_KINDS)
def test_xgboost_margin_is_additive_and_exact(xgb_models, data, kind):
    X, _, _ = data
    model = xgb_models[kind]
    ens = from_xgboost(model)
    np.testing.assert_allclose(ens.predict_raw(X), margin(model, X), **F32)
    exp = xk.TreeShap(model).explain(X)
    np.testing.assert_allclose(exp.values.sum(axis=1) + exp.base_values, margin(model, X), **F32)
    check_against_enumeration(ens, X)


def test_dart_weights_are_folded_into_the_leaves(xgb_models, data):
    """With rate_drop=0.5 some tree weights differ from 1 (so the margin checks above fail without them),
    and each tree's leaves are the stored leaf values times the tree's weight."""
    import json

    X, _, _ = data
    model = xgb_models["dart"]
    gbm = json.loads(bytes(model.get_booster().save_raw("json")))["learner"]["gradient_booster"]
    weights = np.asarray(gbm["weight_drop"], dtype=np.float64)
    assert not np.allclose(weights, 1.0)
    ens = from_xgboost(model)
    for t, tree in enumerate(gbm["gbtree"]["model"]["trees"]):
        leaves = np.asarray(tree["left_children"]) < 0
        stored = np.asarray(tree["split_conditions"], dtype=np.float32)[leaves].astype(np.float64)
        root = int(ens.roots[t])
        np.testing.assert_allclose(ens.value[root : root + leaves.size][leaves, 0], stored * np.float32(weights[t]),
                                   rtol=1e-7, atol=0)


@pytest.mark.parametrize("kind", ["dart", "dart_classifier", "rank:pairwise", "rank:ndcg", "survival:cox"])
def test_xgboost_response_through_the_transform(xgb_models, data, kind):
    X, _, _ = data
    model = xgb_models[kind]
    ens = from_xgboost(model)
    want = model.predict_proba(X)[:, 1] if kind == "dart_classifier" else model.predict(X)
    np.testing.assert_allclose(ens.predict(X)[:, 0], want, **F32)
    assert ens.transform == ("exp" if kind == "survival:cox" else "logistic" if kind == "dart_classifier" else "identity")


def test_hinge_explains_the_margin_whose_sign_is_the_label(xgb_models, data):
    X, _, _ = data
    model = xgb_models["binary:hinge"]
    ens = from_xgboost(model)
    assert ens.transform == "identity"
    np.testing.assert_array_equal((ens.predict_raw(X)[:, 0] > 0).astype(int), model.predict(X))


@pytest.mark.parametrize("marker", [-1.0, 2.5])
def test_missing_marker_routes_with_the_missing_direction(data, marker):
    X, y, _ = data
    Xm = X.copy()
    Xm[np.isnan(Xm)] = marker
    rng = np.random.default_rng(3)
    Xm[rng.random(Xm.shape) < 0.1] = marker
    model = xgb.XGBRegressor(n_estimators=4, max_depth=3, missing=marker).fit(Xm, y)
    ens = from_xgboost(model)
    assert isinstance(ens, MarkedTreeEnsemble) and ens.missing_value == marker
    np.testing.assert_allclose(ens.predict_raw(Xm), margin(model, Xm), **F32)
    # the marker is missing and so is NaN (XGBoost treats both alike)
    both = Xm.copy()
    both[Xm == marker] = np.nan
    np.testing.assert_allclose(ens.predict_raw(both), margin(model, Xm), **F32)
    # a plain ensemble (the marker compared as a number) would not match: the marker matters here
    plain = xgb.XGBRegressor(n_estimators=4, max_depth=3).fit(Xm, y)
    assert np.abs(from_xgboost(plain).predict_raw(Xm) - margin(model, Xm)).max() > 1e-3
    exp = xk.TreeShap(model).explain(Xm)
    np.testing.assert_allclose(exp.values.sum(axis=1) + exp.base_values, margin(model, Xm), **F32)
    check_against_enumeration(ens, Xm)
    # the first rounds keep the marker
    first = ens.first_trees(2)
    assert isinstance(first, MarkedTreeEnsemble) and first.missing_value == marker
    np.testing.assert_allclose(first.predict_raw(Xm), margin(model, Xm, iteration_range=(0, 2)), **F32)


def test_missing_marker_must_be_a_finite_number(data):
    X, y, _ = data
    model = xgb.XGBRegressor(n_estimators=2, max_depth=2).fit(X, y)
    model.missing = np.inf
    with pytest.raises(UnsupportedModelError, match=r"model: expected a finite missing-value marker.*inf"):
        from_xgboost(model)


# ---------------------------------------------------------------------- LightGBM
BASE = {"n_estimators": 4, "num_leaves": 6, "min_child_samples": 5, "verbose": -1}


def _lgb_model(kind, X, y):
    if kind in ("lambdarank", "rank_xendcg"):
        return lgb.LGBMRanker(objective=kind, **BASE).fit(X, np.digitize(y, [0.0, 1.0]), group=[16] * 10)
    if kind == "sigmoid":
        return lgb.LGBMClassifier(objective="binary", sigmoid=2.5, **BASE).fit(X, y > 0)
    if kind == "ova_sigmoid":
        return lgb.LGBMClassifier(objective="multiclassova", sigmoid=0.5, **BASE).fit(X, np.digitize(y, [0.0, 1.0]))
    rf = {"boosting_type": "rf", "bagging_freq": 1, "bagging_fraction": 0.6, "random_state": 0}
    if kind == "rf":
        return lgb.LGBMRegressor(**rf, **BASE).fit(X, y)
    if kind == "rf_classifier":
        return lgb.LGBMClassifier(**rf, **BASE).fit(X, y > 0)
    raise AssertionError(kind)


LGB_KINDS = ["lambdarank", "rank_xendcg", "sigmoid", "ova_sigmoid", "rf", "rf_classifier"]
#: The ensemble's margin relative to LightGBM's raw score: sigmoid * raw score; the rf average.
LGB_SCALE = {"sigmoid": 2.5, "ova_sigmoid": 0.5, "rf": 0.25, "rf_classifier": 0.25}


@pytest.fixture(scope="module")
def lgb_models(data):
    X, y, _ = data
    return {k: _lgb_model(k, X, y) for k in LGB_KINDS}


@pytest.mark.parametrize("kind", LGB_KINDS)
def test_lightgbm_margin_is_additive_and_exact(lgb_models, data, kind):
    X, _, _ = data
    model = lgb_models[kind]
    ens = from_lightgbm(model)
    want = LGB_SCALE.get(kind, 1.0) * margin(model, X)
    np.testing.assert_allclose(ens.predict_raw(X), want, **F64)
    exp = xk.TreeShap(model).explain(X)
    np.testing.assert_allclose(exp.values.sum(axis=1) + exp.base_values, want, **F64)
    check_against_enumeration(ens, X)


@pytest.mark.parametrize("kind", LGB_KINDS)
def test_lightgbm_response_through_the_transform(lgb_models, data, kind):
    X, _, _ = data
    model = lgb_models[kind]
    ens = from_lightgbm(model)
    if hasattr(model, "predict_proba"):
        want = model.predict_proba(X)
        want = want[:, 1:] if ens.n_outputs == 1 else want
    else:
        want = model.predict(X)[:, None]
    np.testing.assert_allclose(ens.predict(X), want, **F64)


def test_rf_explains_the_average_of_the_trees(lgb_models, data):
    """LightGBM's raw score of a random forest is the trees' sum; its predict is their average,
    the scale the ensemble explains."""
    X, _, _ = data
    model = lgb_models["rf"]
    ens = from_lightgbm(model)
    np.testing.assert_allclose(ens.predict_raw(X)[:, 0], model.predict(X), **F64)
    np.testing.assert_allclose(4 * ens.predict_raw(X)[:, 0], model.predict(X, raw_score=True), **F64)
    # the result says so, with the factor to LightGBM's raw score and shap's values
    definition = xk.TreeShap(model).explain(X[:2]).diagnostics["value_definition"]
    assert "trees' average" in definition["scale"] and "4 x these" in definition["scale"]
    assert "scale" not in xk.TreeShap(lgb_models["lambdarank"]).explain(X[:2]).diagnostics["value_definition"]


def test_sigmoid_other_than_one_is_recorded_as_the_scale(lgb_models, data):
    X, _, _ = data
    definition = xk.TreeShap(lgb_models["sigmoid"]).explain(X[:2]).diagnostics["value_definition"]
    assert "sigmoid x raw_score (sigmoid=2.5)" in definition["scale"] and definition["scale"] in definition["text"]


def test_ranker_sigmoid_does_not_scale_the_score(data):
    X, y, _ = data
    model = lgb.LGBMRanker(objective="lambdarank", sigmoid=3.0, **BASE).fit(X, np.digitize(y, [0.0, 1.0]), group=[16] * 10)
    np.testing.assert_allclose(from_lightgbm(model).predict_raw(X), margin(model, X), **F64)


def test_cleaned_feature_names():
    assert clean_feature_name("a b  c") == "a_b__c"
    assert matches_cleaned_names(["a b", "c"], ["a_b", "c"])
    assert not matches_cleaned_names(["a b", "c"], ["a_b", "d"])
    assert not matches_cleaned_names(["a b"], ["a_b", "c"])


def test_cleaned_names_are_what_lightgbm_stores(data):
    pd = pytest.importorskip("pandas")
    X, y, _ = data
    frame = pd.DataFrame(X, columns=["first col", "second  col", "third", "x y z"])
    model = lgb.LGBMRegressor(**BASE).fit(frame, y)
    assert model.booster_.feature_name() != list(frame.columns)
    assert matches_cleaned_names(frame.columns, model.booster_.feature_name())


# ---------------------------------------------------------------------- bare boosters in adapt
def test_adapt_lightgbm_binary_booster_gives_probabilities(data):
    X, y, _ = data
    booster = lgb.train({"objective": "binary", "sigmoid": 2.0, "verbose": -1, "min_data_in_leaf": 5},
                        lgb.Dataset(X, (y > 0).astype(float)), 3)
    m = adapt(booster)
    assert isinstance(m, BoosterModel) and m.output == "probability" and m.output_names == ["0", "1"]
    p = booster.predict(X)
    np.testing.assert_allclose(m.predict(X), np.c_[1 - p, p], **F64)
    raw = adapt(booster, output="raw")
    assert raw.output_names == ["1"]
    np.testing.assert_allclose(raw.predict(X)[:, 0], booster.predict(X, raw_score=True), **F64)
    np.testing.assert_allclose(adapt(booster, output="log_odds").predict(X)[:, 0], 2.0 * booster.predict(X, raw_score=True),
                               rtol=1e-9, atol=1e-9)


def test_adapt_xgboost_booster_predicts(data):
    X, y, _ = data
    booster = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 2},
                        xgb.DMatrix(X, np.digitize(y, [0.0, 1.0])), 3)
    m = adapt(booster)
    assert m.output == "probability" and m.output_names == ["0", "1", "2"]
    np.testing.assert_allclose(m.predict(X), booster.predict(xgb.DMatrix(X)), **F32)
    np.testing.assert_allclose(adapt(booster, output="raw").predict(X), booster.predict(xgb.DMatrix(X), output_margin=True),
                               **F32)
    reg = xgb.train({"objective": "count:poisson", "max_depth": 2}, xgb.DMatrix(X, np.abs(y)), 3)
    r = adapt(reg)
    assert r.output == "raw"
    np.testing.assert_allclose(r.predict(X)[:, 0], reg.predict(xgb.DMatrix(X)), **F32)
    with pytest.raises(InvalidParameterError, match="output: 'probability' needs a classifier.*'count:poisson'"):
        adapt(reg, output="probability")


def test_survival_aft_and_a_bare_dart_booster(data):
    X, y, _ = data
    lower = np.exp(y / 4)
    dm = xgb.DMatrix(X)
    dm.set_float_info("label_lower_bound", lower)
    dm.set_float_info("label_upper_bound", np.where(np.arange(len(y)) % 2, np.inf, lower))
    aft = xgb.train({"objective": "survival:aft", "max_depth": 3}, dm, 4)
    dart = xgb.train({"booster": "dart", "rate_drop": 0.5, "skip_drop": 0.0, "max_depth": 3}, xgb.DMatrix(X, y), 4)
    for booster, transform in ((aft, "exp"), (dart, "identity")):
        ens = from_xgboost(booster)
        assert ens.transform == transform
        np.testing.assert_allclose(ens.predict_raw(X), margin(booster, X), **F32)
        np.testing.assert_allclose(ens.predict(X)[:, 0], booster.predict(xgb.DMatrix(X)), **F32)
        check_against_enumeration(ens, X, rows=2)
