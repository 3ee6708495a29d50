"""NGBoost, GPBoost and pyod's IForest parsed into tree ensembles; Spark ML and causalml refused by name.

Each parsed ensemble is checked against the library's own prediction of what it explains, and TreeSHAP on it
against exact enumeration (the brute-force helpers of tests/oracles/test_tree_shap_bruteforce.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tree_oracle import ORACLE

import xaikit as xk
from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.models.trees import is_tree_model, tree_ensemble

#: TreeSHAP against enumeration of the same ensemble; libraries predicting in float64.
EXACT = {"rtol": 1e-10, "atol": 1e-10}


def check_against_enumeration(ens, X, rows=3, bg_rows=10):
    """TreeSHAP against brute force on a few rows (the oracle module's check)."""
    ORACLE.check_against_enumeration(ens, X, rows, bg_rows)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 4)).astype(np.float32).astype(np.float64)  # float32-exact: sklearn trees compare in float32
    y = X[:, 0] + 0.5 * X[:, 1] ** 2 - X[:, 2] * (X[:, 3] > 0) + 0.2 * rng.normal(size=120)
    return X, y


# ---------------------------------------------------------------------- NGBoost
ngboost = pytest.importorskip("ngboost")


def test_ngboost_regressor_outputs_are_its_distribution_parameters(data: Any) -> None:
    X, y = data
    model = ngboost.NGBRegressor(n_estimators=6, verbose=False, random_state=0).fit(X, y)
    ens = tree_ensemble(model)
    assert ens.output_names == ["loc", "log_scale"] and ens.library == "ngboost.NGBRegressor"
    np.testing.assert_allclose(ens.predict_raw(X), model.pred_param(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ens.predict_raw(X)[:, 0], model.predict(X), rtol=1e-12, atol=1e-12)
    check_against_enumeration(ens, X)
    exp = xk.TreeShap(model).explain(X[:2], target="loc")
    assert exp.output_names == ["loc"] and "log_scale" in exp.diagnostics["value_definition"]["scale"]


def test_ngboost_column_subsampling_maps_the_split_features(data: Any) -> None:
    X, y = data
    model = ngboost.NGBRegressor(n_estimators=8, col_sample=0.5, verbose=False, random_state=1).fit(X, y)
    assert any(len(c) < X.shape[1] for c in model.col_idxs)
    ens = tree_ensemble(model)
    np.testing.assert_allclose(ens.predict_raw(X), model.pred_param(X), rtol=1e-12, atol=1e-12)
    check_against_enumeration(ens, X)


def test_ngboost_classifiers(data: Any) -> None:
    X, y = data
    binary = ngboost.NGBClassifier(n_estimators=5, verbose=False, random_state=0).fit(X, y > 0)
    ens = tree_ensemble(binary)
    assert ens.transform == "logistic" and ens.output_names == ["True"]
    np.testing.assert_allclose(ens.predict(X)[:, 0], binary.predict_proba(X)[:, 1], rtol=1e-12, atol=1e-12)
    assert xk.TreeShap(binary).explain(X[:2]).diagnostics["value_definition"]["output"] == "log_odds"
    Dist = ngboost.distns.k_categorical(3)
    three = ngboost.NGBClassifier(Dist=Dist, n_estimators=4, verbose=False, random_state=0).fit(X, np.digitize(y, [-0.5, 0.5]))
    ens = tree_ensemble(three)
    assert ens.output_names == ["logit(1)", "logit(2)"] and ens.transform == "identity"
    np.testing.assert_allclose(ens.predict_raw(X), three.pred_param(X), rtol=1e-12, atol=1e-12)
    check_against_enumeration(ens, X, rows=2)


def test_ngboost_refuses_base_learners_that_are_not_trees(data: Any) -> None:
    from sklearn.linear_model import Ridge

    X, y = data
    model = ngboost.NGBRegressor(Base=Ridge(), n_estimators=3, verbose=False).fit(X, y)
    with pytest.raises(UnsupportedModelError, match=r"base learners are scikit-learn regression trees, got sklearn\.Ridge"):
        tree_ensemble(model)
    assert not is_tree_model(model)
    with pytest.raises(InvalidParameterError, match="expected a fitted NGBRegressor"):
        tree_ensemble(ngboost.NGBRegressor())


@pytest.mark.oracle
def test_ngboost_matches_shap_per_parameter(data: Any) -> None:
    shap = pytest.importorskip("shap")
    X, y = data
    model = ngboost.NGBRegressor(n_estimators=6, verbose=False, random_state=0).fit(X, y)
    bg = X[20:60]
    ours = xk.TreeShap(model, background=bg).explain(X[:5])
    for k in range(2):
        theirs = shap.TreeExplainer(model, data=bg, model_output=k).shap_values(X[:5])
        np.testing.assert_allclose(ours.values[:, :, k], theirs, rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------- GPBoost
gpb = pytest.importorskip("gpboost")


def test_gpboost_with_a_gp_model_explains_the_fixed_effect(data: Any) -> None:
    X, y = data
    groups = np.arange(len(X)) % 6
    gp_model = gpb.GPModel(group_data=groups, likelihood="bernoulli_logit")
    train = gpb.Dataset(X, (y + 0.3 * groups > 1.0).astype(float))
    booster = gpb.train(params={"learning_rate": 0.2, "max_depth": 3, "verbose": -1}, train_set=train,
                        gp_model=gp_model, num_boost_round=4)
    ens = tree_ensemble(booster)
    fixed = booster.predict(X, group_data_pred=groups, pred_latent=True)["fixed_effect"]
    np.testing.assert_allclose(ens.predict_raw(X)[:, 0], fixed, rtol=1e-12, atol=1e-12)
    check_against_enumeration(ens, X)
    definition = xk.TreeShap(booster).explain(X[:2]).diagnostics["value_definition"]
    assert "fixed effect" in definition["scale"] and "random effects" in definition["text"]


def test_gpboost_without_a_gp_model_is_a_lightgbm_model(data: Any) -> None:
    X, y = data
    model = gpb.GPBoostClassifier(n_estimators=4, min_child_samples=5, verbose=-1).fit(X, y > 0)
    ens = tree_ensemble(model)
    assert ens.library == "gpboost.GPBoostClassifier" and ens.scale == "" and ens.output_names == ["True"]
    np.testing.assert_allclose(ens.predict(X)[:, 0], model.predict_proba(X)[:, 1], rtol=1e-12, atol=1e-12)
    check_against_enumeration(ens, X)
    with pytest.raises(InvalidParameterError, match="expected a fitted GPBoostRegressor"):
        tree_ensemble(gpb.GPBoostRegressor())


# ---------------------------------------------------------------------- pyod
iforest = pytest.importorskip("pyod.models.iforest")


def test_pyod_iforest_explains_the_path_length_of_its_detector(data: Any) -> None:
    from sklearn.ensemble._iforest import _average_path_length

    X, _ = data
    model = iforest.IForest(n_estimators=6, max_samples=40, random_state=0).fit(X)
    ens = tree_ensemble(model)
    assert ens.library == "pyod.IForest" and "decreasing function" in ens.scale
    path_length = ens.predict_raw(X)[:, 0]
    c = _average_path_length([model.detector_.max_samples_])[0]
    # pyod's outlier score, as the scale note says
    np.testing.assert_allclose(2.0 ** (-path_length / c) + model.detector_.offset_, model.decision_function(X),
                               rtol=1e-6, atol=1e-6)
    check_against_enumeration(ens, X)


def test_pyod_detectors_without_trees_are_refused_by_name(data: Any) -> None:
    from pyod.models.knn import KNN

    model = KNN(n_neighbors=3).fit(data[0])
    with pytest.raises(UnsupportedModelError, match="pyod's IForest .* got pyod's KNN"):
        tree_ensemble(model)


# ---------------------------------------------------------------------- unreachable trees
def _fake(module: str, name: str) -> Any:
    """An instance of a class that claims a library's module (the dispatch reads names only)."""
    return type(name, (), {"__module__": module})()


@pytest.mark.parametrize(("module", "name", "why"), [
    ("pyspark.ml.classification", "RandomForestClassificationModel", "JVM"),
    ("causalml.inference.tree.causal.causalforest", "CausalRandomForestRegressor", "treatment effects"),
])
def test_spark_ml_and_causalml_are_refused_by_name(module: str, name: str, why: str) -> None:
    model = _fake(module, name)
    with pytest.raises(UnsupportedModelError, match=f"got {module}.{name}: .*{why}"):
        tree_ensemble(model)
    assert not is_tree_model(model)
    with pytest.raises(UnsupportedModelError, match=why):
        xk.TreeShap(model)
