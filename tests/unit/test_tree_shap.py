"""TreeShap's interface: executors, routing by xk.explain, results, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import UnsupportedModelError
from xaikit.testing import assert_raises_naming

sklearn_ensemble = pytest.importorskip("sklearn.ensemble")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = X[:, 0] * X[:, 1] + X[:, 2] + 0.1 * rng.normal(size=300)
    return X, y


@pytest.fixture(scope="module")
def forest(data):
    X, y = data
    return sklearn_ensemble.RandomForestRegressor(n_estimators=8, max_depth=5, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def gbc(data):
    X, y = data
    return sklearn_ensemble.GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=0).fit(X, y > 0)


@pytest.mark.parametrize("algorithm", ["path_dependent", "interventional"])
def test_every_executor_gives_identical_values(data, forest, algorithm: str) -> None:
    X, _ = data
    bg = X[200:230] if algorithm == "interventional" else None
    explainer = xk.TreeShap(forest, background=bg)
    # 45 rows: the kernels walk blocks of 32 rows; the executors cut them into other blocks
    serial = explainer.explain(X[:45]).values
    threads = explainer.explain(X[:45], executor="threads:2").values
    many = explainer.explain(X[:45], executor="threads:20").values  # rows split as well as trees
    with xk.LocalExecutor(2) as pool:
        processes = explainer.explain(X[:45], executor=pool).values
        again = explainer.explain(X[:45], executor=pool).values  # the ensemble kept by the workers
    np.testing.assert_array_equal(serial, threads)
    np.testing.assert_array_equal(serial, many)
    np.testing.assert_array_equal(serial, processes)
    np.testing.assert_array_equal(serial, again)


def test_interactions_identical_on_every_executor(data, forest) -> None:
    """Blocks of 32 rows and blocks of fewer than 8 (computed row by row) give the same bits."""
    X, _ = data
    explainer = xk.TreeShap(forest)
    serial = explainer.interactions(X[:45]).values
    np.testing.assert_array_equal(serial, explainer.interactions(X[:45], executor="threads:2").values)
    np.testing.assert_array_equal(serial, explainer.interactions(X[:45], executor="threads:9").values)
    with xk.LocalExecutor(2) as pool:
        np.testing.assert_array_equal(serial, explainer.interactions(X[:45], executor=pool).values)


def test_interactions_on_threads_and_saved(data, forest, tmp_path) -> None:
    X, _ = data
    explainer = xk.TreeShap(forest)
    inter = explainer.interactions(X[:6])
    np.testing.assert_array_equal(inter.values, explainer.interactions(X[:6], executor="threads:2").values)
    assert inter.shape == (6, 5, 5, 1)
    np.testing.assert_allclose(inter.values, np.swapaxes(inter.values, 1, 2), atol=1e-12)  # symmetric
    path = tmp_path / "inter.xai"
    inter.save(path)
    back = xk.Explanation.load(path)
    assert isinstance(back, xk.Interaction)
    np.testing.assert_array_equal(back.values, inter.values)
    assert back[2:4].shape == (2, 5, 5, 1)


def test_result_fields(data, forest) -> None:
    X, _ = data
    exp = xk.TreeShap(forest, feature_names=list("abcde")).explain(X[:4])
    assert exp.method == "tree_shap" and exp.feature_names == list("abcde")
    assert exp.diagnostics["exact"] is True
    np.testing.assert_allclose(exp.completeness()[:, 0], forest.predict(X[:4]), atol=1e-10)
    assert exp.params == {"algorithm": "path_dependent", "output": "raw"}


@pytest.mark.parametrize("background", [False, True])
def test_exact_results_hold_no_arrays_of_zeros(data, forest, background: bool) -> None:
    """Exact values have no standard errors and call no model: those diagnostics are absent."""
    X, _ = data
    explainer = xk.TreeShap(forest, background=X[200:210] if background else None)
    for exp in [explainer.explain(X[:5])] + ([] if background else [explainer.interactions(X[:5])]):
        assert "std_err" not in exp.diagnostics
        assert "n_model_calls" not in exp.diagnostics
        assert exp.diagnostics["exact"] is True


@pytest.mark.parametrize("algorithm", ["path_dependent", "interventional", "interactions"])
def test_data_references_the_callers_array(data, forest, algorithm: str) -> None:
    """A C-contiguous float64 X is the result's data, not a copy, and stays writeable for the caller."""
    X, _ = data
    rows = np.array(X[:20])
    explainer = xk.TreeShap(forest, background=X[200:210] if algorithm == "interventional" else None)
    exp = explainer.interactions(rows) if algorithm == "interactions" else explainer.explain(rows)
    assert np.shares_memory(exp.data, rows)
    assert not exp.data.flags.writeable
    assert rows.flags.writeable
    rows[0, 0] += 1.0  # the caller's array is still the caller's
    assert exp.data[0, 0] == rows[0, 0]


def test_float32_libraries_round_when_routing_not_the_data(data) -> None:
    """scikit-learn compares in float32: rows exactly at the thresholds go where sklearn sends them
    (the rounding happens as each value is routed), and the data stays the caller's float64."""
    X, y = data
    model = sklearn_ensemble.RandomForestRegressor(n_estimators=4, max_depth=6, random_state=0).fit(X, y)
    t = model.estimators_[0].tree_
    inner = np.flatnonzero(t.children_left >= 0)
    rows = np.tile(X[:1], (inner.size, 1))
    rows[np.arange(inner.size), t.feature[inner]] = t.threshold[inner]
    assert np.any(t.threshold[inner].astype(np.float32) > t.threshold[inner])  # rounding matters here
    for exp in (xk.TreeShap(model).explain(rows), xk.TreeShap(model, background=X[:10]).explain(rows)):
        np.testing.assert_allclose(exp.completeness()[:, 0], model.predict(rows), rtol=0, atol=1e-12)
        assert np.shares_memory(exp.data, rows)
    np.testing.assert_array_equal(
        xk.TreeShap(model).explain(rows).values,
        xk.TreeShap(model).explain(rows.astype(np.float32).astype(np.float64)).values,
    )


@pytest.mark.parametrize("call", ["explain", "interactions"])
def test_shared_parameters_checked_and_recorded(data, forest, call: str) -> None:
    import inspect

    X, _ = data
    method = getattr(xk.TreeShap(forest), call)
    assert inspect.signature(method).parameters["executor"].default == "auto"
    with assert_raises_naming("random_state"):
        method(X[:3], random_state="x")
    with assert_raises_naming("random_state"):
        method(X[:3], random_state=-1)
    with assert_raises_naming("executor"):
        method(X[:3], executor="nowhere:2")
    a, b = method(X[:3], random_state=0), method(X[:3], random_state=1)
    np.testing.assert_array_equal(a.values, b.values)  # exact: the seed changes nothing
    assert a.diagnostics["seed"] == 0 and b.diagnostics["seed"] == 1


def test_two_classes_of_a_rescaled_probability(data) -> None:
    """The binary rescaled probability: the first class's values are minus the second's."""
    X, y = data
    model = sklearn_ensemble.GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0).fit(X, y > 0)
    exp = xk.TreeShap(model, background=X[:10], output="probability_rescaled").explain(X[20:26])
    assert exp.shape == (6, 5, 2)
    np.testing.assert_array_equal(exp.values[..., 0], -exp.values[..., 1])
    np.testing.assert_allclose(exp.completeness(), model.predict_proba(X[20:26]), atol=1e-10)


def test_dataframe_columns_are_checked(data) -> None:
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(X, columns=list("abcde"))
    model = sklearn_ensemble.RandomForestRegressor(n_estimators=3, max_depth=3, random_state=0).fit(frame, y)
    exp = xk.TreeShap(model).explain(frame.iloc[:3])
    assert exp.feature_names == list("abcde")
    with assert_raises_naming("X"):
        xk.TreeShap(model).explain(frame.iloc[:3, ::-1])


def test_explain_routes_tree_models_to_tree_shap(data, forest, gbc) -> None:
    X, _ = data
    assert xk.explain(forest, X[:3]).params["algorithm"] == "path_dependent"
    exp = xk.explain(forest, X[:3], background=X[:20], n_samples=100)  # sampling parameters are ignored
    assert exp.method == "tree_shap" and exp.params["algorithm"] == "interventional"
    # a boosted classifier: its additive output, the log-odds, by default (as TreeShap(gbc))
    default = xk.explain(gbc, X[:3], background=X[:20])
    assert default.method == "tree_shap" and default.params["output"] == "log_odds"
    # its probability: exact enumeration of the probability game, with a warning
    with pytest.warns(xk.errors.XaikitWarning, match="not additive"):
        assert xk.explain(gbc, X[:3], background=X[:20], output="probability").method == "exact_shapley"
    raw = xk.explain(gbc, X[:3], output="log_odds")
    assert raw.method == "tree_shap" and raw.params["output"] == "log_odds"
    # a forest's raw output is a probability: its log-odds go the model-agnostic way
    forest_clf = sklearn_ensemble.RandomForestClassifier(n_estimators=50, min_samples_leaf=40, random_state=0)
    forest_clf.fit(X, X[:, 0] + 0.5 * np.random.default_rng(3).normal(size=len(X)) > 0)
    with pytest.warns(xk.errors.XaikitWarning, match="not additive"):
        log_odds = xk.explain(forest_clf, X[:2], background=X[:20], output="log_odds")
    assert log_odds.method == "exact_shapley" and log_odds.params["output"] == "log_odds"
    # with groups, the model-agnostic route
    with pytest.warns(xk.errors.XaikitWarning, match="groups"):
        assert xk.explain(forest, X[:2], background=X[:20], groups={"ab": [0, 1]}).method == "exact_shapley"


def test_rescaled_probability_output_of_a_binary_classifier_has_both_classes(data, gbc) -> None:
    X, _ = data
    exp = xk.TreeShap(gbc, background=X[:30], output="probability_rescaled").explain(X[:5])
    assert exp.output_names == ["False", "True"]
    np.testing.assert_allclose(exp.completeness(), gbc.predict_proba(X[:5]), atol=1e-10)
    explainer = xk.TreeShap(gbc, background=X[:30], output="probability_rescaled")
    assert explainer.explain(X[:5], target="True").shape == (5, 5, 1)


def test_bad_input(data, forest, gbc) -> None:
    X, _ = data
    with assert_raises_naming("X"):
        xk.TreeShap(forest).explain(X[:3, :4])
    with assert_raises_naming("X"):
        xk.TreeShap(forest).explain(np.array([[np.inf, 0, 0, 0, 0]]))
    with assert_raises_naming("output"):
        xk.TreeShap(gbc, output="probability_rescaled")  # needs a background
    with assert_raises_naming("output", "log_odds", "probability_rescaled", "xk.explain"):
        xk.TreeShap(gbc, background=X[:5], output="probability")  # not the probability game: refused
    with assert_raises_naming("output"):
        xk.TreeShap(forest, output="margin")
    with assert_raises_naming("background"):
        xk.TreeShap(forest, algorithm="interventional")
    with assert_raises_naming("background"):
        xk.TreeShap(forest, background=X[:5], algorithm="path_dependent")
    with assert_raises_naming("background"):
        xk.TreeShap(forest, background=X[:5]).interactions(X[:2])
    with assert_raises_naming("background"):
        xk.TreeShap(forest, background=X[:5, :3])
    with assert_raises_naming("target"):
        xk.TreeShap(forest).explain(X[:2], target=3)
    with assert_raises_naming("feature_names"):
        xk.TreeShap(forest, feature_names=["a"])
    with pytest.raises(UnsupportedModelError, match="^model:"):
        xk.TreeShap(lambda Z: Z[:, 0])
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with pytest.raises(UnsupportedModelError, match="^model:"):
        xk.TreeShap(make_pipeline(StandardScaler(), sklearn_ensemble.RandomForestRegressor(n_estimators=2)).fit(X, X[:, 0]))


def test_missing_values_are_routed_like_the_model(data) -> None:
    X, y = data
    Xn = X.copy()
    Xn[np.random.default_rng(1).random(Xn.shape) < 0.1] = np.nan
    model = sklearn_ensemble.HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(Xn, y)
    exp = xk.TreeShap(model).explain(Xn[:30])
    np.testing.assert_allclose(exp.completeness()[:, 0], model.predict(Xn[:30]), atol=1e-10)


def test_blocks_of_rows_give_the_values_of_single_rows(data, forest) -> None:
    """Rows are walked through each tree in blocks; values must not depend on the block a row is in."""
    X, _ = data
    explainer = xk.TreeShap(forest)
    together = explainer.explain(X[:150]).values
    alone = np.concatenate([explainer.explain(X[i : i + 1]).values for i in (0, 63, 64, 65, 127, 128, 149)])
    np.testing.assert_allclose(together[[0, 63, 64, 65, 127, 128, 149]], alone, rtol=0, atol=1e-13)


def test_complex_dataframe_column_is_refused(data) -> None:
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(X, columns=list("abcde"))
    model = sklearn_ensemble.RandomForestRegressor(n_estimators=3, max_depth=3, random_state=0).fit(frame, y)
    with assert_raises_naming("X", "complex", "'a'"):
        xk.TreeShap(model).explain(frame.iloc[:3].astype({"a": complex}))


def test_background_is_the_explainers_own(data, forest) -> None:
    """The background is copied once (it is small): changing the caller's array later changes nothing."""
    X, _ = data
    bg = np.array(X[200:210])
    explainer = xk.TreeShap(forest, background=bg)
    before = explainer.explain(X[:3]).values
    bg[:] = 0.0
    np.testing.assert_array_equal(explainer.explain(X[:3]).values, before)


def test_interventional_split_by_rows_gives_identical_values(data, forest, monkeypatch) -> None:
    """Many rows: each job adds every tree group into its own rows, a block at a time; the values
    are those of the split by tree groups (few rows), bit for bit."""
    from xaikit.explainers.trees import tree_shap

    X, _ = data
    explainer = xk.TreeShap(forest, background=X[200:230])
    by_groups = explainer.explain(X[:45], executor="threads:2").values
    monkeypatch.setattr(tree_shap, "_ROW_BLOCK", 8)  # 45 rows are now many: split by rows, blocks of 8
    np.testing.assert_array_equal(explainer.explain(X[:45], executor="serial").values, by_groups)
    np.testing.assert_array_equal(explainer.explain(X[:45], executor="threads:2").values, by_groups)
    with xk.LocalExecutor(2) as pool:
        np.testing.assert_array_equal(explainer.explain(X[:45], executor=pool).values, by_groups)
