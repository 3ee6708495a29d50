"""TreeShap against the reference implementations: shap.TreeExplainer, XGBoost ``pred_contribs``
and LightGBM ``pred_contrib``, on real-sized models with missing values and categorical features.

Tolerances: 1e-6 in absolute value. XGBoost computes its contributions (and shap its XGBoost
values) in float32, so against them the tolerance is relative to the size of the margin; exact
enumeration (tests/oracles/test_tree_shap_bruteforce.py) is the oracle for the last digits there.
"""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk

pytestmark = pytest.mark.oracle

shap = pytest.importorskip("shap")


def _data(n: int = 400, d: int = 6, seed: int = 0, nan: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y_reg = X[:, 0] * X[:, 1] + np.sin(2 * X[:, 2]) + 0.5 * X[:, 3] + 0.1 * rng.normal(size=n)
    y_cls = (y_reg > np.median(y_reg)).astype(int) + (X[:, 4] > 1).astype(int)  # 3 classes
    if nan:
        X[rng.random(X.shape) < nan] = np.nan
    return X, y_reg, y_cls


def _shap_values(explainer, X: np.ndarray, interactions: bool = False) -> np.ndarray:
    """shap's output as (n, d, o) or (n, d, d, o), whatever layout its version returns."""
    v = explainer.shap_interaction_values(X) if interactions else explainer.shap_values(X)
    if isinstance(v, list):
        v = np.stack(v, axis=-1)
    v = np.asarray(v)
    want = 4 if interactions else 3
    if v.ndim == want - 1:
        v = v[..., None]
    return v


def _sklearn_models():
    from sklearn.ensemble import (
        ExtraTreesRegressor,
        GradientBoostingClassifier,
        GradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    X, y_reg, y_cls = _data()
    return {
        "tree_reg": (DecisionTreeRegressor(max_depth=6, random_state=0).fit(X, y_reg), X),
        "tree_cls": (DecisionTreeClassifier(max_depth=5, random_state=0).fit(X, y_cls), X),
        "rf_reg": (RandomForestRegressor(n_estimators=15, max_depth=8, random_state=0).fit(X, y_reg), X),
        "rf_cls": (RandomForestClassifier(n_estimators=15, max_depth=7, random_state=0).fit(X, y_cls), X),
        "et_reg": (ExtraTreesRegressor(n_estimators=10, max_depth=6, random_state=0).fit(X, y_reg), X),
        "gbr": (GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=0).fit(X, y_reg), X),
        "gbc_binary": (
            GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0).fit(X, y_cls > 0),
            X,
        ),
    }


@pytest.fixture(scope="module")
def sklearn_models():
    return _sklearn_models()


@pytest.mark.parametrize("name", ["tree_reg", "tree_cls", "rf_reg", "rf_cls", "et_reg", "gbr", "gbc_binary"])
def test_sklearn_path_dependent_matches_shap(sklearn_models, name: str) -> None:
    model, X = sklearn_models[name]
    rows = X[:40]
    exp = xk.TreeShap(model).explain(rows)
    ref = _shap_values(shap.TreeExplainer(model), rows)
    np.testing.assert_allclose(exp.values, ref, rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.abs(exp.diagnostics["completeness_gap"]).max(), 0.0, atol=1e-8)


@pytest.mark.parametrize("name", ["tree_reg", "rf_cls", "gbr", "gbc_binary"])
def test_sklearn_interventional_matches_shap(sklearn_models, name: str) -> None:
    model, X = sklearn_models[name]
    rows, bg = X[:25], X[200:260]
    exp = xk.TreeShap(model, background=bg).explain(rows)
    ref = _shap_values(shap.TreeExplainer(model, data=bg, feature_perturbation="interventional"), rows)
    np.testing.assert_allclose(exp.values, ref, rtol=0, atol=1e-6)


def test_sklearn_probability_output_matches_shap(sklearn_models) -> None:
    model, X = sklearn_models["gbc_binary"]
    rows, bg = X[:25], X[200:260]
    exp = xk.TreeShap(model, background=bg, output="probability_rescaled").explain(rows)  # shap's convention
    ref = _shap_values(
        shap.TreeExplainer(model, data=bg, feature_perturbation="interventional", model_output="probability"), rows
    )
    assert exp.output_names == ["False", "True"]
    np.testing.assert_allclose(exp.values[..., 1:], ref, rtol=0, atol=1e-6)
    np.testing.assert_allclose(exp.values[..., 0], -exp.values[..., 1], rtol=0, atol=0)
    np.testing.assert_allclose(exp.completeness(), model.predict_proba(rows), atol=1e-10)


@pytest.mark.parametrize("name", ["tree_reg", "rf_reg", "gbc_binary"])
def test_sklearn_interactions_match_shap(sklearn_models, name: str) -> None:
    model, X = sklearn_models[name]
    rows = X[:10]
    inter = xk.TreeShap(model).interactions(rows)
    ref = _shap_values(shap.TreeExplainer(model), rows, interactions=True)
    np.testing.assert_allclose(inter.values, ref, rtol=0, atol=1e-6)


# ---------------------------------------------------------------------- XGBoost
xgb = pytest.importorskip("xgboost")


@pytest.fixture(scope="module")
def xgb_models():
    X, y_reg, y_cls = _data(n=500, nan=0.1, seed=1)
    reg = xgb.XGBRegressor(n_estimators=40, max_depth=4, learning_rate=0.3).fit(X, y_reg)
    cls = xgb.XGBClassifier(n_estimators=20, max_depth=3).fit(X, y_cls)
    return {"reg": (reg, X), "multi": (cls, X)}


def _xgb_contribs(model, X: np.ndarray, interactions: bool = False) -> np.ndarray:
    booster = model.get_booster()
    out = booster.predict(xgb.DMatrix(X), pred_contribs=not interactions, pred_interactions=interactions)
    return np.asarray(out, dtype=np.float64)


@pytest.mark.parametrize("name", ["reg", "multi"])
def test_xgboost_matches_pred_contribs(xgb_models, name: str) -> None:
    model, X = xgb_models[name]
    rows = X[:50]
    exp = xk.TreeShap(model).explain(rows)
    ref = _xgb_contribs(model, rows)  # (n, d + 1) or (n, K, d + 1): last column is the bias
    if ref.ndim == 2:
        ref = ref[:, None, :]
    ref_values = np.moveaxis(ref[:, :, :-1], 1, 2)
    scale = max(1.0, float(np.abs(exp.completeness()).max()))
    np.testing.assert_allclose(exp.values, ref_values, rtol=0, atol=2e-6 * scale)
    np.testing.assert_allclose(exp.base_values, ref[:, :, -1], rtol=0, atol=2e-6 * scale)


def test_xgboost_interactions_match_pred_interactions(xgb_models) -> None:
    model, X = xgb_models["reg"]
    rows = X[:10]
    inter = xk.TreeShap(model).interactions(rows)
    ref = _xgb_contribs(model, rows, interactions=True)[:, :-1, :-1]
    scale = max(1.0, float(np.abs(inter.to_attribution().completeness()).max()))
    np.testing.assert_allclose(inter.values[..., 0], ref, rtol=0, atol=2e-6 * scale)


def test_xgboost_matches_shap_interventional(xgb_models) -> None:
    model, X = xgb_models["reg"]
    rows, bg = X[:20], X[300:350]
    exp = xk.TreeShap(model, background=bg).explain(rows)
    ref = _shap_values(shap.TreeExplainer(model, data=bg, feature_perturbation="interventional"), rows)
    scale = max(1.0, float(np.abs(exp.completeness()).max()))
    np.testing.assert_allclose(exp.values, ref, rtol=0, atol=2e-6 * scale)


# ---------------------------------------------------------------------- LightGBM
lgb = pytest.importorskip("lightgbm")


@pytest.fixture(scope="module")
def lgb_models():
    X, y_reg, y_cls = _data(n=600, nan=0.1, seed=2)
    X[:, 5] = np.random.default_rng(3).integers(0, 6, size=X.shape[0])  # a categorical feature
    y_reg = y_reg + (X[:, 5] % 2)
    params = {"n_estimators": 30, "num_leaves": 15, "min_child_samples": 5, "verbose": -1}
    reg = lgb.LGBMRegressor(**params).fit(X, y_reg, categorical_feature=[5])
    multi = lgb.LGBMClassifier(**params).fit(X, y_cls, categorical_feature=[5])
    return {"reg": (reg, X), "multi": (multi, X)}


@pytest.mark.parametrize("name", ["reg", "multi"])
def test_lightgbm_matches_pred_contrib(lgb_models, name: str) -> None:
    model, X = lgb_models[name]
    rows = X[:50]
    exp = xk.TreeShap(model).explain(rows)
    ref = np.asarray(model.predict(rows, pred_contrib=True), dtype=np.float64)
    k = exp.n_outputs
    ref = ref.reshape(rows.shape[0], k, -1)  # per class blocks of d + 1 columns, bias last
    np.testing.assert_allclose(exp.values, np.moveaxis(ref[:, :, :-1], 1, 2), rtol=0, atol=1e-6)
    np.testing.assert_allclose(exp.base_values, ref[:, :, -1], rtol=0, atol=1e-6)


def test_lightgbm_interventional_equals_exact_enumeration(lgb_models) -> None:
    """shap refuses interventional values on categorical splits; ExactShapley over the same background
    (the model's own predictions, coalitions enumerated) is the oracle."""
    model, X = lgb_models["reg"]
    rows, bg = X[:4], X[300:320]
    exp = xk.TreeShap(model, background=bg).explain(rows)
    exact = xk.ExactShapley(lambda Z: model.predict(Z), background=bg).explain(rows)
    np.testing.assert_allclose(exp.values, exact.values, rtol=0, atol=1e-8)


# ---------------------------------------------------------------------- pandas category columns
def _category_frame(seed: int = 4):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(seed)
    n = 500
    frame = pd.DataFrame({
        "color": pd.Categorical(rng.choice(["red", "green", "blue", "grey"], n)),
        "size": rng.normal(size=n),
        "shape": pd.Categorical(rng.choice(["round", "square"], n)),
    })
    frame.loc[rng.random(n) < 0.05, "size"] = np.nan
    y = (frame["color"] == "green") * 2.0 + frame["size"].fillna(0) * (frame["shape"] == "round") + rng.normal(size=n)
    # rows to explain: the same categories listed in another order, and a category never seen in training
    rows = frame.iloc[:30].copy()
    rows["color"] = pd.Categorical(rows["color"].astype(str), categories=["purple", "grey", "red", "green", "blue"])
    rows.loc[rows.index[:2], "color"] = "purple"
    return frame, y.to_numpy(), rows


def test_lightgbm_category_columns_are_coded_as_in_training() -> None:
    frame, y, rows = _category_frame()
    model = lgb.LGBMRegressor(n_estimators=20, num_leaves=8, min_child_samples=5, verbose=-1).fit(frame, y)
    exp = xk.TreeShap(model).explain(rows)
    ref = np.asarray(model.predict(rows, pred_contrib=True), dtype=np.float64)
    np.testing.assert_allclose(exp.values[..., 0], ref[:, :-1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(exp.completeness()[:, 0], model.predict(rows), atol=1e-9)


def test_xgboost_category_columns_are_coded_as_in_training() -> None:
    frame, y, rows = _category_frame()
    rows = rows.iloc[2:]  # xgboost refuses categories it has not seen
    rows["color"] = rows["color"].cat.remove_unused_categories()
    model = xgb.XGBRegressor(n_estimators=20, max_depth=3, enable_categorical=True, tree_method="hist").fit(frame, y)
    exp = xk.TreeShap(model).explain(rows)
    ref = model.get_booster().predict(xgb.DMatrix(rows, enable_categorical=True), pred_contribs=True)
    scale = max(1.0, float(np.abs(exp.completeness()).max()))
    np.testing.assert_allclose(exp.values[..., 0], ref[:, :-1], rtol=0, atol=2e-6 * scale)
    np.testing.assert_allclose(exp.completeness()[:, 0], model.predict(rows), rtol=0, atol=2e-6 * scale)
