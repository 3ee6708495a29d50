"""Interventional TreeSHAP builds a background's leaf tables once per ensemble and background, and never
serves them for another background."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.explainers.trees import _kernels as kernels
from xaikit.explainers.trees import tree_shap


@pytest.fixture(scope="module")
def forest():
    from sklearn.ensemble import GradientBoostingRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = X[:, 0] * X[:, 1] + np.sin(X[:, 2])
    return GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=0).fit(X, y), X


def test_leaf_tables_are_built_once_per_background(forest, monkeypatch) -> None:
    model, X = forest
    calls = []
    real = kernels.leaf_mask_plan

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(kernels, "leaf_mask_plan", counting)
    tree_shap._PLANS.clear()
    explainer = xk.TreeShap(model, background=X[:40])
    first = explainer.explain(X[:3], executor="serial")
    built = len(calls)
    assert built >= 1
    again = explainer.explain(X[3:4], executor="serial")
    assert len(calls) == built  # the second call reuses the tables
    np.testing.assert_allclose(again.values, explainer.explain(X[3:4], executor="serial").values, rtol=0, atol=0)
    other = xk.TreeShap(model, background=X[40:80])  # same shape, other rows: tables of its own
    mine = other.explain(X[:3], executor="serial")
    assert len(calls) > built
    tree_shap._PLANS.clear()
    fresh = xk.TreeShap(model, background=X[40:80]).explain(X[:3], executor="serial")
    np.testing.assert_array_equal(mine.values, fresh.values)
    assert not np.allclose(mine.values, first.values)
    # completeness holds for both backgrounds: the values add up to f(x) minus the mean over each background
    for exp, bg in ((first, X[:40]), (mine, X[40:80])):
        np.testing.assert_allclose(exp.values.sum(axis=1)[:, 0], model.predict(X[:3]) - model.predict(bg).mean(), atol=1e-9)
