"""Additivity of TreeShap for every supported model type: values sum to the model's own output minus
the base value, to 1e-8 (float32 libraries: relative to the size of the output), both algorithms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import xaikit as xk

sklearn = pytest.importorskip("sklearn")


def _data(n: int = 300, d: int = 5, nan: bool = False, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[:, 4] = rng.integers(0, 5, size=n)  # usable as a categorical feature
    y = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + (X[:, 4] == 2) + 0.1 * rng.normal(size=n)
    if nan:
        X[rng.random(X.shape) < 0.08] = np.nan
    return X, y, (y > np.median(y)).astype(int) + (y > np.quantile(y, 0.8)).astype(int)


def _sklearn_cases() -> dict[str, Callable[[], tuple[Any, np.ndarray, Callable[[np.ndarray], np.ndarray]]]]:
    from sklearn import ensemble, tree

    X, y, c = _data()
    Xn, yn, cn = _data(nan=True, seed=1)

    def proba(m):
        return m.predict_proba

    def raw(m):
        return lambda Z: m.decision_function(Z).reshape(len(Z), -1)

    return {
        "DecisionTreeRegressor": lambda: ((m := tree.DecisionTreeRegressor(max_depth=5).fit(Xn, yn)), Xn, m.predict),
        "DecisionTreeClassifier": lambda: ((m := tree.DecisionTreeClassifier(max_depth=5).fit(X, c)), X, proba(m)),
        "ExtraTreeRegressor": lambda: ((m := tree.ExtraTreeRegressor(max_depth=6).fit(X, y)), X, m.predict),
        "RandomForestRegressor": lambda: (
            (m := ensemble.RandomForestRegressor(n_estimators=5, max_depth=6).fit(Xn, yn)), Xn, m.predict),
        "RandomForestClassifier": lambda: (
            (m := ensemble.RandomForestClassifier(n_estimators=5, max_depth=6).fit(X, c)), X, proba(m)),
        "ExtraTreesClassifier": lambda: (
            (m := ensemble.ExtraTreesClassifier(n_estimators=5, max_depth=6).fit(X, c)), X, proba(m)),
        "GradientBoostingRegressor": lambda: (
            (m := ensemble.GradientBoostingRegressor(n_estimators=10).fit(X, y)), X, m.predict),
        "GradientBoostingClassifier": lambda: (
            (m := ensemble.GradientBoostingClassifier(n_estimators=10).fit(X, c)), X, raw(m)),
        "HistGradientBoostingRegressor": lambda: (
            (m := ensemble.HistGradientBoostingRegressor(max_iter=10, categorical_features=[4]).fit(Xn, yn)),
            Xn, m.predict),
        "HistGradientBoostingClassifier": lambda: (
            (m := ensemble.HistGradientBoostingClassifier(max_iter=10).fit(Xn, cn)), Xn, raw(m)),
        "IsolationForest": lambda: (
            (m := ensemble.IsolationForest(n_estimators=10, random_state=0).fit(X)), X,
            lambda Z: xk.TreeShap(m).ensemble.predict_raw(Z)),
    }


def _library_cases() -> dict[str, Callable[[], tuple[Any, np.ndarray, Callable[[np.ndarray], np.ndarray]]]]:
    cases: dict[str, Callable[[], tuple[Any, np.ndarray, Callable[[np.ndarray], np.ndarray]]]] = {}
    Xn, yn, cn = _data(nan=True, seed=2)
    try:
        import xgboost as xgb

        def margin(m):
            return lambda Z: m.get_booster().predict(xgb.DMatrix(Z), output_margin=True).reshape(len(Z), -1)

        cases.update({
            "XGBRegressor": lambda: ((m := xgb.XGBRegressor(n_estimators=10, max_depth=4).fit(Xn, yn)), Xn, margin(m)),
            "XGBClassifier": lambda: ((m := xgb.XGBClassifier(n_estimators=10, max_depth=3).fit(Xn, cn)), Xn,
                                      margin(m)),
            "XGBRFRegressor": lambda: ((m := xgb.XGBRFRegressor(n_estimators=5, max_depth=4).fit(Xn, yn)), Xn,
                                       margin(m)),
        })
    except ImportError:  # pragma: no cover - the trees extra is installed for the tests
        pass
    try:
        import lightgbm as lgb

        def lgb_raw(m):
            return lambda Z: np.asarray(m.predict(Z, raw_score=True)).reshape(len(Z), -1)

        params = dict(n_estimators=10, num_leaves=8, min_child_samples=5, verbose=-1)
        cases.update({
            "LGBMRegressor": lambda: ((m := lgb.LGBMRegressor(**params).fit(Xn, yn, categorical_feature=[4])), Xn,
                                      lgb_raw(m)),
            "LGBMClassifier": lambda: ((m := lgb.LGBMClassifier(**params).fit(Xn, cn)), Xn, lgb_raw(m)),
        })
    except ImportError:  # pragma: no cover
        pass
    return cases


CASES = {**_sklearn_cases(), **_library_cases()}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("algorithm", ["path_dependent", "interventional"])
def test_values_add_up_to_the_model_output(name: str, algorithm: str) -> None:
    model, X, raw_output = CASES[name]()
    rows, bg = X[:20], X[100:130]
    explainer = xk.TreeShap(model, background=bg if algorithm == "interventional" else None)
    exp = explainer.explain(rows)
    f32 = explainer.ensemble.input_float32 and name.startswith("XGB")
    tol = 1e-5 * max(1.0, float(np.abs(exp.completeness()).max())) if f32 else 1e-8
    expected = np.asarray(raw_output(rows), dtype=np.float64).reshape(len(rows), -1)
    np.testing.assert_allclose(exp.completeness(), expected, rtol=0, atol=tol)
    np.testing.assert_allclose(exp.diagnostics["completeness_gap"], 0.0, atol=1e-8)
