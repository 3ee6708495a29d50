"""PartialDependence against scikit-learn (brute and recursion), ICE, centring, executors, the
contract, the ICE cache, and the Effects result kind it returns."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np
import pytest
from sklearn.inspection import partial_dependence

import xaikit as xk
from xaikit.explainers.global_.partial_dependence import PartialDependence, clear_ice_cache, grid_from_values, mquantiles
from xaikit.models.trees import tree_ensemble
from xaikit.results.effects import Effects
from xaikit.testing import check_explainer

TOL = 1e-10


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4))
    y = X[:, 0] * X[:, 1] + np.sin(2 * X[:, 2]) + 0.1 * rng.normal(size=150)
    from sklearn.ensemble import GradientBoostingRegressor

    return X, GradientBoostingRegressor(n_estimators=15, max_depth=3, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def categorical_hgb():
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=200), rng.integers(0, 4, size=200).astype(float), rng.normal(size=200)])
    y = X[:, 0] + np.array([0.0, 2.0, -1.0, 0.5])[X[:, 1].astype(int)] * X[:, 2]
    from sklearn.ensemble import HistGradientBoostingRegressor

    model = HistGradientBoostingRegressor(max_iter=15, categorical_features=[1], random_state=0).fit(X, y)
    return X, model


@pytest.fixture(scope="module")
def onehot_pipeline():
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(2)
    X = pd.DataFrame({"age": rng.normal(40, 10, size=120), "city": rng.choice(["paris", "oslo", "rome"], size=120),
                      "score": rng.normal(size=120)})
    y = ((X["age"] > 40) ^ (X["city"] == "oslo")).astype(int)
    pre = ColumnTransformer([("cat", OneHotEncoder(), ["city"])], remainder="passthrough")
    return X, make_pipeline(pre, LogisticRegression()).fit(X, y)


def _sk(model, X, features, **kw):
    return partial_dependence(model, X, features, grid_resolution=kw.pop("grid_resolution", 20), **kw)


# ----------------------------------------------------------------------------- against scikit-learn


def test_brute_1d_2d_and_ice_equal_scikit_learn(regression):
    X, model = regression
    eff = PartialDependence(model, features=[0, 2], pairs=[(0, 1)], grid_resolution=20, kind="both", method="brute").explain(X)
    assert eff.params["method"] == "brute" and eff.diagnostics["evaluation"] == "trees"  # 1-D terms routed through the trees
    for t, feats in ((0, [0]), (1, [2]), (2, [0, 1])):
        ref = _sk(model, X, feats, method="brute", kind="both")
        part = eff.term(t)
        np.testing.assert_allclose(part["average"][..., 0], ref["average"][0], rtol=0, atol=TOL)
        np.testing.assert_allclose(part["individual"][..., 0], ref["individual"][0], rtol=0, atol=TOL)
        for mine, theirs in zip(part["grid_values"], ref["grid_values"]):
            np.testing.assert_allclose(mine, theirs, rtol=0, atol=TOL)


def test_ice_through_the_trees_equals_ice_through_the_model(regression):
    X, model = regression
    trees = PartialDependence(model, grid_resolution=25, kind="individual").explain(X)
    plain = PartialDependence(lambda A: model.predict(A), grid_resolution=25, kind="individual").explain(X)
    assert trees.diagnostics["evaluation"] == "trees" and plain.diagnostics["evaluation"] == "model"
    assert trees.diagnostics["n_model_calls"] == 0 and plain.diagnostics["n_model_calls"] == 4 * 25 * len(X)
    np.testing.assert_allclose(trees.individual, plain.individual, atol=1e-12, rtol=0)


def test_recursion_equals_scikit_learn_plus_the_initial_prediction(regression):
    X, model = regression
    eff = PartialDependence(model, features=[1], pairs=[(0, 2)], grid_resolution=20, method="recursion").explain(X)
    assert eff.params["method"] == "recursion"
    offset = tree_ensemble(model).base_offset[0]  # scikit-learn leaves the constant out
    assert abs(offset) > 1e-3
    np.testing.assert_allclose(eff.term("x1")["average"][:, 0] - offset, _sk(model, X, [1], method="recursion")["average"][0], atol=TOL, rtol=0)
    np.testing.assert_allclose(eff.term(1)["average"][..., 0] - offset, _sk(model, X, [0, 2], method="recursion")["average"][0],
                               atol=TOL, rtol=0)
    auto = PartialDependence(model, features=[1], grid_resolution=20).explain(X)
    assert auto.params["method"] == "recursion"


def test_categorical_hist_gradient_boosting_brute_and_recursion(categorical_hgb):
    X, model = categorical_hgb
    eff = PartialDependence(model, features=[1], pairs=[(1, 0)], categorical_features=[1], grid_resolution=10,
                            method="brute").explain(X)
    ref = _sk(model, X, [1], method="brute", categorical_features=[1], grid_resolution=10)
    assert eff.diagnostics["evaluation"] == "trees"  # categorical splits scanned grid value by grid value
    part = eff.term("x1")
    assert part["labels"] == [["0", "1", "2", "3"]] and part["grid_values"][0].tolist() == [0.0, 1.0, 2.0, 3.0]
    np.testing.assert_allclose(part["average"][:, 0], ref["average"][0], atol=TOL, rtol=0)
    ref2 = _sk(model, X, [1, 0], method="brute", categorical_features=[1], grid_resolution=10)
    np.testing.assert_allclose(eff.term("x1 x x0")["average"][..., 0], ref2["average"][0], atol=TOL, rtol=0)
    # scikit-learn's own recursion gives the same value to categories 1, 2 and 3 of this model (far from
    # brute force); the weighted traversal follows each category's split and stays close to brute force
    rec = PartialDependence(model, features=[1], categorical_features=[1], grid_resolution=10, method="recursion").explain(X)
    np.testing.assert_allclose(rec.average[0, :, 0], ref["average"][0], atol=0.01)
    assert np.ptp(rec.average[0, :, 0]) > 0.1


def test_recursion_on_numeric_hist_gradient_boosting(categorical_hgb):
    X, _ = categorical_hgb
    from sklearn.ensemble import HistGradientBoostingRegressor

    model = HistGradientBoostingRegressor(max_iter=10, random_state=0).fit(X, X[:, 0] * X[:, 2] + X[:, 1])
    rec = PartialDependence(model, features=[0, 1], grid_resolution=15).explain(X)
    assert rec.params["method"] == "recursion"
    offset = tree_ensemble(model).base_offset[0]
    for t in (0, 1):
        ref = _sk(model, X, [t], method="recursion", grid_resolution=15)["average"][0]
        np.testing.assert_allclose(rec.term(t)["average"][:, 0] - offset, ref, atol=TOL, rtol=0)


def test_pipeline_with_one_hot_encoder_on_a_frame(onehot_pipeline):
    X, model = onehot_pipeline
    eff = PartialDependence(model, features=["city", "age"], pairs=[("age", "city")], grid_resolution=15, kind="both").explain(X, target="1")
    assert eff.output_names == ["1"] and eff.params["method"] == "brute"
    ref = _sk(model, X, ["city"], method="brute", kind="both", categorical_features=["city"], grid_resolution=15)
    city = eff.term("city")
    assert city["labels"] == [[str(v) for v in ref["grid_values"][0]]]
    np.testing.assert_allclose(city["average"][:, 0], ref["average"][0], atol=TOL, rtol=0)
    np.testing.assert_allclose(city["individual"][..., 0], ref["individual"][0], atol=TOL, rtol=0)
    ref_age = _sk(model, X, ["age"], method="brute", grid_resolution=15)
    np.testing.assert_allclose(eff.term("age")["average"][:, 0], ref_age["average"][0], atol=TOL, rtol=0)
    ref_pair = _sk(model, X, ["age", "city"], method="brute", categorical_features=["city"], grid_resolution=15)
    np.testing.assert_allclose(eff.term("age x city")["average"][..., 0], ref_pair["average"][0], atol=TOL, rtol=0)


def test_centered_curves_start_at_zero(regression):
    X, model = regression
    plain = PartialDependence(model, features=[0], grid_resolution=12, kind="both", method="brute").explain(X)
    cent = PartialDependence(model, features=[0], grid_resolution=12, kind="both", method="brute", centered=True).explain(X)
    assert cent.centered and not plain.centered
    a, c = plain.term(0), cent.term(0)
    np.testing.assert_allclose(c["average"], a["average"] - a["average"][:1], atol=1e-12)
    np.testing.assert_allclose(c["individual"], a["individual"] - a["individual"][:, :1], atol=1e-12)
    assert np.all(c["individual"][:, 0] == 0.0)


def test_grid_follows_scikit_learn_quantiles():
    x = np.random.default_rng(3).exponential(size=300)
    from scipy.stats.mstats import mquantiles as scipy_mquantiles

    np.testing.assert_allclose(mquantiles(x, [0.05, 0.95]), scipy_mquantiles(x, prob=[0.05, 0.95]), atol=1e-14)
    grid = grid_from_values(x, categorical=False, grid_resolution=7, percentiles=(0.05, 0.95))
    assert grid.shape == (7,) and grid[0] > x.min() and grid[-1] < x.max()
    with pytest.raises(xk.InvalidParameterError, match="^percentiles: "):
        grid_from_values(np.r_[np.zeros(100), np.arange(5.0)], categorical=False, grid_resolution=3, percentiles=(0.1, 0.9))


# ----------------------------------------------------------------------------- executors, contract, cache


def test_every_executor_gives_identical_curves(regression):
    X, model = regression
    pd_ = PartialDependence(model, features=[0, 3], pairs=[(1, 2)], grid_resolution=10, kind="both", method="brute")
    ref = pd_.explain(X, executor="serial", batch_size=500)
    for ex in ("threads:2", "processes:2"):
        clear_ice_cache()
        other = pd_.explain(X, executor=ex, batch_size=500)
        assert other.diagnostics["cached_terms"] == 0
        np.testing.assert_array_equal(other.average, ref.average)
        np.testing.assert_array_equal(other.individual, ref.individual)


def test_check_explainer_passes():
    report = check_explainer(PartialDependence)
    assert {"result", "seed", "executor:threads", "executor:processes", "batch_size", "frame", "save_load"} <= set(report.passed)


def test_the_cache_saves_the_second_pass():
    clear_ice_cache()
    rows: list[int] = []

    def model(X):
        rows.append(len(X))
        X = np.asarray(X)
        return X[:, 0] * X[:, 1]

    X = np.random.default_rng(4).normal(size=(30, 2))
    probe = 30  # the rows whose predictions identify the model (all 30 here: fewer than PROBE_ROWS)
    first = PartialDependence(model, grid_resolution=5, kind="both").explain(X)
    spent = sum(rows)
    assert spent == probe + 2 * 5 * 30 and first.diagnostics["n_model_calls"] == 300
    rows.clear()
    again = PartialDependence(model, grid_resolution=5, kind="both").explain(X)
    assert sum(rows) == probe and again.diagnostics["cached_terms"] == 2
    np.testing.assert_array_equal(again.individual, first.individual)
    rows.clear()
    PartialDependence(model, grid_resolution=6).explain(X)  # another grid: computed
    assert sum(rows) == probe + 2 * 6 * 30


def test_a_model_refitted_in_place_is_not_served_from_the_cache():
    class Linear:  # a model whose weights are changed in place, as a refit does
        def __init__(self) -> None:
            self.w = np.array([1.0, 0.0, 0.0])

        def __call__(self, X: Any) -> np.ndarray:
            return np.asarray(X) @ self.w

    clear_ice_cache()
    X = np.random.default_rng(5).normal(size=(60, 3))
    X[0] = 0.0  # the first row predicts 0 under any weights: it alone cannot tell the two models apart
    model = Linear()
    before = PartialDependence(model, features=[0], grid_resolution=5).explain(X)
    model.w = np.array([0.0, 1.0, 0.0])
    after = PartialDependence(model, features=[0], grid_resolution=5).explain(X)
    assert after.diagnostics.get("cached_terms", 0) == 0
    np.testing.assert_allclose(after.average[0, :5, 0], np.full(5, X[:, 1].mean()), rtol=1e-12)  # x0 no longer matters
    assert not np.allclose(before.average[0, :5, 0], after.average[0, :5, 0])


def test_batch_size_bounds_every_model_call(regression):
    X, _ = regression
    sizes: list[int] = []

    def model(A):
        sizes.append(len(A))
        return np.asarray(A).sum(axis=1)

    clear_ice_cache()
    PartialDependence(model, features=[0], grid_resolution=10).explain(X, batch_size=400)
    assert max(sizes) <= 400 and sum(sizes) == min(len(X), 32) + 10 * len(X)  # the probe rows, then the grid


def test_errors_name_the_parameter(regression):
    X, model = regression
    with pytest.raises(xk.InvalidParameterError, match="^features: unknown feature 'nope'"):
        PartialDependence(model, features=["nope"]).explain(X)
    with pytest.raises(xk.InvalidParameterError, match="^method: 'recursion' does not apply"):
        PartialDependence(lambda A: A[:, 0], method="recursion").explain(X)
    with pytest.raises(xk.InvalidParameterError, match="^method: 'recursion' computes the average only"):
        PartialDependence(model, method="recursion", kind="both")
    with pytest.raises(xk.InvalidParameterError, match="^percentiles: "):
        PartialDependence(model, percentiles=(0.9, 0.1))
    with pytest.raises(xk.InvalidParameterError, match="^grid_resolution: "):
        PartialDependence(model, grid_resolution=1)
    with pytest.raises(xk.InvalidParameterError, match=r"^pairs\[0\]: expected two different features"):
        PartialDependence(model, pairs=[(1, 1)]).explain(X)
    with pytest.raises(xk.InvalidParameterError, match="^X: "):
        PartialDependence(model).explain(X[:, :2])
    with pytest.raises(xk.InvalidParameterError, match="^X: column 'x0' holds NaN"):
        PartialDependence(lambda A: A[:, 0]).explain(np.array([[np.nan, 1.0], [0.0, 1.0]]))


# ----------------------------------------------------------------------------- the Effects kind


def _small_effects() -> Effects:
    grid = np.full((2, 4, 2), np.nan)
    grid[0, :3, 0] = [0.0, 1.0, 2.0]
    grid[1, :, 0] = [0, 0, 1, 1]
    grid[1, :, 1] = [5, 6, 5, 6]
    average = np.full((2, 4, 2), np.nan)
    average[0, :3] = [[0.0, 1.0], [1.0, 2.0], [4.0, 3.0]]
    average[1] = [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]
    individual = np.repeat(average[None], 3, axis=0) + np.arange(3.0)[:, None, None, None]
    return Effects(grid=grid, average=average, individual=individual, lower=average - 1, upper=average + 1,
                   term_features=[["a"], ["c", "b"]], grid_shape=[[3], [2, 2]], grid_labels=[None, [["lo", "hi"], None]],
                   feature_names=["a", "b", "c"], output_names=["p", "q"], method="demo", params={"centered": False})


def test_effects_term_unpads_and_slices_by_name():
    eff = _small_effects()
    assert eff.term_names == ["a", "c x b"] and eff.n_rows == 3
    t = eff.term("c x b")
    assert t["average"].shape == (2, 2, 2) and t["individual"].shape == (3, 2, 2, 2)
    assert t["labels"] == [["lo", "hi"], None]
    assert [v.tolist() for v in t["grid_values"]] == [[0.0, 1.0], [5.0, 6.0]]
    assert t["average"][1, 0].tolist() == [2.0, 2.0]
    one = eff["a", "q"]
    assert one.term_names == ["a"] and one.output_names == ["q"] and one.term("a")["average"].ravel().tolist() == [1.0, 2.0, 3.0]
    assert one.term("a")["individual"].shape == (3, 3, 1)
    frame = eff.to_frame()
    assert len(frame) == (3 + 4) * 2 and frame["label_1"].tolist().count("hi") == 4


def test_effects_save_load_round_trip_and_refusals():
    eff = _small_effects()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "eff.xai")
        eff.save(path)
        back = xk.Result.load(path) if hasattr(xk, "Result") else Effects.load(path)
    assert isinstance(back, Effects) and back.to_dict() == eff.to_dict()
    np.testing.assert_array_equal(back.individual, eff.individual)
    with pytest.raises(xk.InvalidParameterError, match=r"^grid_shape\[0\]: the grid \[5\] has more than the 4 grid points"):
        Effects(grid=eff.grid, average=eff.average, term_features=[["a"], ["c", "b"]], grid_shape=[[5], [2, 2]], method="d")
    with pytest.raises(xk.InvalidParameterError, match="^average: expected finite numbers at each term's grid points"):
        bad = np.array(eff.average)
        bad[0, 1, 0] = np.nan
        Effects(grid=eff.grid, average=bad, term_features=[["a"], ["c", "b"]], grid_shape=[[3], [2, 2]], method="d")
    with pytest.raises(xk.InvalidParameterError, match=r"^grid_labels\[1\]\[0\]: expected null or 2 str labels"):
        Effects(grid=eff.grid, average=eff.average, term_features=[["a"], ["c", "b"]], grid_shape=[[3], [2, 2]],
                grid_labels=[None, [["x"], None]], method="d")
    with pytest.raises(xk.InvalidParameterError, match="^term: unknown term name 'zz'"):
        eff.term("zz")
    assert len(eff._repr_html_()) < 5000
