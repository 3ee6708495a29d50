"""TreeShap's options: ``tree_limit``, ``output="log_loss"``, rows as users give them (1-D, Series,
sparse, DMatrix) and backgrounds too large for their go-left flags at once (taken in chunks)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import xaikit as xk
from tests.oracles.test_tree_shap_bruteforce import (
    goes_left,
    interventional_game,
    path_game,
    random_ensemble,
    random_rows,
    shapley_by_enumeration,
)
from xaikit.errors import InvalidParameterError
from xaikit.explainers.trees import tree_shap as ts
from xaikit.models.trees import TreeEnsemble


def _walk_margin(ens: TreeEnsemble, X: np.ndarray, k: int) -> np.ndarray:
    """The margin of the first ``k`` trees, walked node by node (independent of the kernels)."""
    out = np.tile(ens.base_offset, (X.shape[0], 1))
    for r, x in enumerate(X):
        for root in ens.roots[:k]:
            node = int(root)
            while ens.left[node] >= 0:
                node = int(ens.left[node] if goes_left(ens, node, x[ens.feature[node]]) else ens.right[node])
            out[r] += ens.value[node]
    return out


def _with_link(ens: TreeEnsemble, link: str) -> TreeEnsemble:
    return TreeEnsemble(**{**ens.__dict__, "transform": link, "_depths": None})


# ---------------------------------------------------------------------- tree_limit
@pytest.mark.parametrize("k", [1, 2, 3])
def test_tree_limit_equals_enumeration_of_the_first_trees(k: int) -> None:
    rng = np.random.default_rng(k)
    ens = random_ensemble(rng, n_trees=4, max_depth=4, n_features=5, n_outputs=2)
    X, bg = random_rows(rng, 3, 5), random_rows(rng, 6, 5)
    inter = xk.TreeShap(ens, background=bg, tree_limit=k).explain(X)
    path = xk.TreeShap(ens, tree_limit=k).explain(X)
    first = SimpleNamespace(**{**ens.__dict__, "roots": ens.roots[:k]})  # the oracle's own view of k trees
    for r in range(3):
        def game(S: set[int], r: int = r) -> np.ndarray:
            hybrid = bg.copy()
            for f in S:
                hybrid[:, f] = X[r, f]
            return _walk_margin(ens, hybrid, k).mean(axis=0)

        np.testing.assert_allclose(inter.values[r], shapley_by_enumeration(game, 5), rtol=0, atol=1e-10)
        np.testing.assert_allclose(path.values[r], shapley_by_enumeration(lambda S, r=r: path_game(first, X[r], S), 5),
                                   rtol=0, atol=1e-10)
    np.testing.assert_allclose(inter.completeness(), _walk_margin(ens, X, k), rtol=0, atol=1e-10)
    assert inter.diagnostics["value_definition"]["tree_limit"] == k


def test_first_trees_keeps_categorical_and_unordered_nodes() -> None:
    rng = np.random.default_rng(3)
    ens = random_ensemble(rng, n_trees=3, max_depth=3, n_features=6, n_outputs=1, categorical_features=(1, 4))
    X = random_rows(rng, 40, 6, (1, 4))
    for k in (1, 2, 3):
        np.testing.assert_allclose(ens.first_trees(k).predict_raw(X), _walk_margin(ens, X, k), rtol=0, atol=1e-12)
    with pytest.raises(InvalidParameterError, match=r"k: expected a number of trees in \[1, 3\], got 4"):
        ens.first_trees(4)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4))
    y3 = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)
    return X, (X[:, 0] + X[:, 2] > 0).astype(int), y3


def test_tree_limit_counts_rounds_of_multiclass_boosters(data: tuple[np.ndarray, ...]) -> None:
    import lightgbm
    import xgboost
    from sklearn.ensemble import GradientBoostingClassifier

    X, _, y3 = data
    xgb = xgboost.XGBClassifier(n_estimators=5, max_depth=3, num_parallel_tree=2).fit(X, y3)
    lgb = lightgbm.LGBMClassifier(n_estimators=5, num_leaves=6, min_child_samples=5, verbose=-1).fit(X, y3)
    gbc = GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0).fit(X, y3)
    expected = {
        "xgb": xgb.predict(X[:5], output_margin=True, iteration_range=(0, 3)),
        "lgb": lgb.predict(X[:5], raw_score=True, num_iteration=3),
        "gbc": list(gbc.staged_decision_function(X[:5]))[2],
    }
    for name, model in {"xgb": xgb, "lgb": lgb, "gbc": gbc}.items():
        exp = xk.TreeShap(model, tree_limit=3).explain(X[:5])
        np.testing.assert_allclose(exp.completeness(), expected[name], rtol=0, atol=1e-5, err_msg=name)
        full = xk.TreeShap(model).explain(X[:5])
        assert not np.allclose(full.completeness(), expected[name], atol=1e-3), name  # the limit changes it


def test_tree_limit_refuses_forests_and_rounds_out_of_range(data: tuple[np.ndarray, ...]) -> None:
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor

    X, y, _ = data
    forest = RandomForestRegressor(n_estimators=3, max_depth=2, random_state=0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="tree_limit: counts boosting rounds.*RandomForestRegressor"):
        xk.TreeShap(forest, tree_limit=2)
    gbr = GradientBoostingRegressor(n_estimators=4, max_depth=2).fit(X, y)
    with pytest.raises(InvalidParameterError, match="tree_limit"):
        xk.TreeShap(gbr, tree_limit=5)


# ---------------------------------------------------------------------- log_loss
def _log_loss(m: np.ndarray, y: float) -> np.ndarray:
    return np.logaddexp(0.0, m) - y * m


def _rescaled_oracle(ens: TreeEnsemble, x: np.ndarray, bg: np.ndarray, loss: object, slope: object) -> np.ndarray:
    """shap's log_loss values from their definition: per background row, the exact Shapley values of
    the margin's single-reference game scaled by the change of the loss over the change of the margin."""
    d = x.shape[0]
    total = np.zeros((d, ens.n_outputs))
    fx = ens.predict_raw(x[None, :])[0]
    for b in range(bg.shape[0]):
        margin = shapley_by_enumeration(lambda S, b=b: interventional_game(ens, x, bg[b:b + 1], S), d)
        fb = ens.predict_raw(bg[b:b + 1])[0]
        same = np.abs(fx - fb) < 1e-12
        scale = np.where(same, slope(fx), (loss(fx) - loss(fb)) / np.where(same, 1.0, fx - fb))  # type: ignore[operator]
        total += margin * scale / bg.shape[0]
    return total


def test_log_loss_equals_rescaled_enumeration_and_adds_up_to_the_loss() -> None:
    rng = np.random.default_rng(11)
    ens = _with_link(random_ensemble(rng, n_trees=3, max_depth=3, n_features=4), "logistic")
    X, bg = random_rows(rng, 4, 4), random_rows(rng, 5, 4)
    bg[2] = X[1]  # a background row with the explained row's margin: the loss's slope there
    y = np.array([1, 0, 1, 0])
    exp = xk.TreeShap(ens, background=bg, output="log_loss").explain(X, y)
    assert exp.output_names == ["log_loss"] and exp.diagnostics["value_definition"]["rescaled"] is True
    for r in range(4):
        oracle = _rescaled_oracle(ens, X[r], bg, lambda m, r=r: _log_loss(m, y[r]),
                                  lambda m, r=r: 1 / (1 + np.exp(-m)) - y[r])
        np.testing.assert_allclose(exp.values[r], oracle, rtol=0, atol=1e-10)
    fx, fb = ens.predict_raw(X), ens.predict_raw(bg)
    np.testing.assert_allclose(exp.completeness()[:, 0], _log_loss(fx[:, 0], y), rtol=0, atol=1e-10)
    np.testing.assert_allclose(exp.base_values[:, 0], [_log_loss(fb[:, 0], t).mean() for t in y], rtol=0, atol=1e-12)


def test_log_loss_is_the_loss_games_shapley_value_where_each_pair_differs_in_one_feature() -> None:
    """One informative feature: each (row, background row) game has one player, so the rescaled
    values are the exact Shapley values of the loss game (by linearity over background rows)."""
    rng = np.random.default_rng(5)
    ens = _with_link(random_ensemble(rng, n_trees=2, max_depth=3, n_features=1), "logistic")
    ens = TreeEnsemble.from_arrays(**{k: getattr(ens, k) for k in (
        "roots", "left", "right", "feature", "threshold", "value", "cover", "missing_left")}, n_features=3,
        base_offset=ens.base_offset, transform="logistic")
    X, bg = random_rows(rng, 3, 3), random_rows(rng, 6, 3)
    y = np.array([0, 1, 1])
    exp = xk.TreeShap(ens, background=bg, output="log_loss").explain(X, y=y)
    for r in range(3):
        def loss_game(S: set[int], r: int = r) -> np.ndarray:
            hybrid = bg.copy()
            for f in S:
                hybrid[:, f] = X[r, f]
            return _log_loss(ens.predict_raw(hybrid), y[r]).mean(axis=0)

        np.testing.assert_allclose(exp.values[r], shapley_by_enumeration(loss_game, 3), rtol=0, atol=1e-10)


def test_squared_error_of_a_regressor_and_class_labels(data: tuple[np.ndarray, ...]) -> None:
    from sklearn.ensemble import GradientBoostingClassifier

    rng = np.random.default_rng(2)
    ens = random_ensemble(rng, n_trees=2, max_depth=3, n_features=4)
    X, bg, y = random_rows(rng, 3, 4), random_rows(rng, 5, 4), rng.normal(size=3)
    exp = xk.TreeShap(ens, background=bg, output="log_loss").explain(X, y)
    assert exp.output_names == ["squared_error"]
    for r in range(3):
        oracle = _rescaled_oracle(ens, X[r], bg, lambda m, r=r: (m - y[r]) ** 2, lambda m, r=r: 2 * (m - y[r]))
        np.testing.assert_allclose(exp.values[r], oracle, rtol=0, atol=1e-10)
    np.testing.assert_allclose(exp.completeness()[:, 0], (ens.predict_raw(X)[:, 0] - y) ** 2, rtol=0, atol=1e-10)
    # a classifier's labels are its classes
    Xd, yd, _ = data
    names = np.where(yd == 1, "yes", "no")
    gbc = GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0).fit(Xd, names)
    exp = xk.TreeShap(gbc, background=Xd[:20], output="log_loss").explain(Xd[:4], names[:4])
    p = gbc.predict_proba(Xd[:4])[np.arange(4), (names[:4] == "yes").astype(int)]
    np.testing.assert_allclose(exp.completeness()[:, 0], -np.log(p), rtol=0, atol=1e-10)
    with pytest.raises(InvalidParameterError, match=r"y: expected labels among the model's classes \['no', 'yes'\], got 'maybe'"):
        xk.TreeShap(gbc, background=Xd[:20], output="log_loss").explain(Xd[:2], ["yes", "maybe"])


def test_log_loss_needs_a_background_and_labels() -> None:
    ens = _with_link(random_ensemble(np.random.default_rng(0), n_trees=1, max_depth=2, n_features=3), "logistic")
    X = np.zeros((2, 3))
    with pytest.raises(InvalidParameterError, match="output: 'log_loss' needs the interventional algorithm"):
        xk.TreeShap(ens, output="log_loss")
    shap_ = xk.TreeShap(ens, background=X, output="log_loss")
    with pytest.raises(InvalidParameterError, match="y: output='log_loss' explains the loss .* got None"):
        shap_.explain(X)
    with pytest.raises(InvalidParameterError, match=r"y: expected labels of shape \(2,\) .* got shape \(3,\)"):
        shap_.explain(X, [0, 1, 1])
    with pytest.raises(InvalidParameterError, match="y: expected labels 0 or 1 for the log loss, got 2.0"):
        shap_.explain(X, [0, 2])
    with pytest.raises(InvalidParameterError, match="y: labels are used by output='log_loss' only"):
        xk.TreeShap(ens, background=X).explain(X, [0, 1])


# ---------------------------------------------------------------------- rows as users give them
@pytest.fixture(scope="module")
def forest(data: tuple[np.ndarray, ...]) -> object:
    import pandas as pd
    from sklearn.ensemble import RandomForestRegressor

    X, y, _ = data
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    return RandomForestRegressor(n_estimators=4, max_depth=3, random_state=0).fit(frame, X[:, 0] * X[:, 1] + y)


def test_one_row_as_1d_array_or_series(forest: object, data: tuple[np.ndarray, ...]) -> None:
    import pandas as pd

    X = data[0]
    frame = pd.DataFrame(X[:3], columns=["a", "b", "c", "d"])
    for kw in ({}, {"background": frame}):
        explainer = xk.TreeShap(forest, **kw)
        two_d = explainer.explain(frame.iloc[[1]])
        np.testing.assert_array_equal(explainer.explain(X[1]).values, two_d.values)
        np.testing.assert_array_equal(explainer.explain(frame.iloc[1]).values, two_d.values)
        assert explainer.explain(X[1]).values.shape == (1, 4, 1)
    with pytest.raises(InvalidParameterError, match=r"X: expected a row indexed by the features \['a', 'b', 'c', 'd'\]"):
        xk.TreeShap(forest).explain(frame.iloc[1][["b", "a", "c", "d"]])
    with pytest.raises(InvalidParameterError, match="X: expected 4 feature columns .* got 3"):
        xk.TreeShap(forest).explain(X[1, :3])


def test_sparse_rows_equal_dense(forest: object, data: tuple[np.ndarray, ...]) -> None:
    import scipy.sparse as sp

    X = data[0][:6].copy()
    X[np.abs(X) < 0.7] = 0.0
    dense = xk.TreeShap(forest, background=data[0][:10]).explain(X)
    for fmt in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        exp = xk.TreeShap(forest, background=data[0][:10]).explain(fmt(X))
        np.testing.assert_array_equal(exp.values, dense.values)


def test_xgboost_sparse_and_dmatrix_read_unstored_entries_as_missing(data: tuple[np.ndarray, ...]) -> None:
    import scipy.sparse as sp
    import xgboost

    X, y, _ = data
    Xm = X.copy()
    Xm[np.abs(Xm) < 0.5] = np.nan
    model = xgboost.XGBClassifier(n_estimators=4, max_depth=3).fit(Xm, y)
    rows = X[:8].copy()
    rows[np.abs(rows) < 0.5] = 0.0
    csr = sp.csr_matrix(rows)  # the zeros are not stored: missing values to XGBoost
    nan_rows = np.where(rows == 0.0, np.nan, rows)
    explainer = xk.TreeShap(model)
    expected = explainer.explain(nan_rows)
    for given in (csr, xgboost.DMatrix(csr), xgboost.DMatrix(nan_rows)):
        exp = explainer.explain(given)
        np.testing.assert_array_equal(exp.values, expected.values)
    margin = model.predict(csr, output_margin=True)
    np.testing.assert_allclose(explainer.explain(csr).completeness()[:, 0], margin, rtol=0, atol=1e-5)


# ---------------------------------------------------------------------- backgrounds taken in chunks
@pytest.mark.parametrize(("spec", "output"), [
    ({"n_trees": 3, "max_depth": 4, "n_features": 5, "n_outputs": 2}, "auto"),  # per-leaf tables
    ({"n_trees": 2, "max_depth": 10, "n_features": 10, "n_outputs": 1}, "auto"),  # walked per background row
    ({"n_trees": 3, "max_depth": 3, "n_features": 4, "n_outputs": 1}, "probability_rescaled"),
])
def test_background_in_chunks_equals_all_at_once(spec: dict[str, int], output: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    ens = random_ensemble(rng, **spec)
    if output != "auto":
        ens = _with_link(ens, "logistic")
    d = spec["n_features"]
    X, bg = random_rows(rng, 5, d), random_rows(rng, 700, d)
    whole = xk.TreeShap(ens, background=bg, output=output).explain(X)
    monkeypatch.setattr(ts, "_BACKGROUND_FLAGS_BYTES", ens.n_nodes * 64)  # 11 chunks of 64 rows
    assert len(ts._background_chunks(700, ens.n_nodes)) == 11
    chunked = xk.TreeShap(ens, background=bg, output=output).explain(X)
    np.testing.assert_allclose(chunked.values, whole.values, rtol=0, atol=1e-12)
    assert np.abs(chunked.completeness_gap() if hasattr(chunked, "completeness_gap") else
                  chunked.diagnostics["completeness_gap"]).max() < 1e-10


def test_background_of_100k_rows_is_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(9)
    ens = random_ensemble(rng, n_trees=4, max_depth=4, n_features=5)
    X, bg = random_rows(rng, 2, 5), random_rows(rng, 100_000, 5)
    whole = xk.TreeShap(ens, background=bg).explain(X)
    monkeypatch.setattr(ts, "_BACKGROUND_FLAGS_BYTES", ens.n_nodes * 8192)  # 13 chunks
    chunked = xk.TreeShap(ens, background=bg).explain(X)
    np.testing.assert_allclose(chunked.values, whole.values, rtol=0, atol=1e-12)
    truth = shapley_by_enumeration(lambda S: interventional_game(ens, X[0], bg, S), 5)
    np.testing.assert_allclose(whole.values[0], truth, rtol=0, atol=1e-10)


@pytest.mark.parametrize("float32", [False, True])
def test_background_flags_follow_the_routing_rules(float32: bool) -> None:
    """The background's go-left flags (a fast path for numeric splits) equal the routing of
    :meth:`TreeEnsemble.decision_paths` for every missing-value rule, strictness and float32 input."""
    from xaikit.explainers.trees import _kernels as kernels

    rng = np.random.default_rng(12)
    base = random_ensemble(rng, n_trees=4, max_depth=4, n_features=5, categorical_features=(2,))
    kinds = np.where(base.categorical, 0, rng.integers(0, 3, size=base.n_nodes)).astype(np.uint8)
    for strict in (False, True):
        ens = TreeEnsemble(**{**base.__dict__, "missing_kind": kinds, "strict": strict, "input_float32": float32,
                              "_depths": None})
        Xb = random_rows(rng, 300, 5, (2,))
        Xb[rng.random(Xb.shape) < 0.1] = 1e-36  # within LightGBM's zero band
        Xb[rng.random(Xb.shape) < 0.1] = 0.5 + 1e-9  # rounds to the threshold in float32
        flags = kernels.background_directions(Xb, 0, ens.n_nodes, *ens._routing())
        np.testing.assert_array_equal(flags, ens.decision_paths(Xb).T)


def test_log_loss_matches_shap_on_an_xgboost_classifier(data: tuple[np.ndarray, ...]) -> None:
    """shap 0.51's ``model_output="log_loss"`` as a second oracle (continuous rows: no background row
    has an explained row's margin, where the two conventions part)."""
    shap = pytest.importorskip("shap")
    import xgboost

    X, y, _ = data
    model = xgboost.XGBClassifier(n_estimators=10, max_depth=3).fit(X, y)
    bg = X[:30]
    ref = shap.TreeExplainer(model, data=bg, model_output="log_loss",
                             feature_perturbation="interventional").shap_values(X[50:60], y[50:60])
    ours = xk.TreeShap(model, background=bg, output="log_loss").explain(X[50:60], y[50:60])
    np.testing.assert_allclose(ours.values[..., 0], ref, rtol=0, atol=1e-6)
    assert np.abs(ref).max() > 0.05


def test_tree_limit_of_a_lightgbm_random_forest_is_refused():
    """Its trees are averaged over all of them: the first k trees are not a model to explain (values would be
    those of k trees each divided by the total)."""
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X[:, 0] + rng.normal(size=200) * 0.1
    rf = lgb.LGBMRegressor(boosting_type="rf", n_estimators=6, bagging_freq=1, bagging_fraction=0.8, verbose=-1).fit(X, y)
    with pytest.raises(InvalidParameterError, match=r"tree_limit: the LightGBM model averages its trees"):
        xk.TreeShap(rf, tree_limit=2).explain(X[:3])
    boosted = lgb.LGBMRegressor(n_estimators=6, verbose=-1).fit(X, y)
    exp = xk.TreeShap(boosted, tree_limit=2).explain(X[:3])
    np.testing.assert_allclose(exp.values.sum(axis=1)[:, 0] + exp.base_values[:, 0],
                               boosted.predict(X[:3], num_iteration=2, raw_score=True), atol=1e-9)


def test_a_lightgbm_model_takes_the_frame_it_was_fitted_on_with_spaces_in_its_names():
    import lightgbm as lgb
    import pandas as pd

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(120, 3)), columns=["petal length", "petal width", "age"])
    model = lgb.LGBMRegressor(n_estimators=4, verbose=-1).fit(frame, frame["age"] * 2 + frame["petal length"])
    assert model.booster_.feature_name()[0] == "petal_length"  # LightGBM stores the names cleaned
    exp = xk.TreeShap(model).explain(frame.iloc[:5])
    np.testing.assert_allclose(exp.values, xk.TreeShap(model).explain(frame.to_numpy()[:5]).values, atol=0)
    with pytest.raises(InvalidParameterError, match="X: expected the columns"):
        xk.TreeShap(model).explain(frame[["petal width", "petal length", "age"]].iloc[:5])  # reordered: refused
