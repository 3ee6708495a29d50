"""scikit-learn tree models parsed into a TreeEnsemble reproduce the models' own outputs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn import ensemble, tree
from sklearn.dummy import DummyRegressor
from sklearn.ensemble._iforest import _average_path_length
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.models import trees
from xaikit.models._trees_sklearn import from_sklearn
from xaikit.models.trees import TreeEnsemble, is_tree_model, tree_ensemble

TIGHT = {"rtol": 1e-10, "atol": 1e-12}


@pytest.fixture(autouse=True)
def _one_openmp_thread() -> Iterator[None]:
    """The fits are tiny: extra OpenMP threads only add contention (HistGradientBoosting on a busy machine)."""
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def _model_id(v: Any) -> str:
    return type(v).__name__ if not isinstance(v, str) else "lib"


def _data(seed: int = 0, n: int = 240, p: int = 4, nan: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = X[:, 0] + np.sin(2 * X[:, 1]) + 0.5 * X[:, 2] * X[:, 3] + 0.1 * rng.normal(size=n)
    if nan:
        X[rng.random((n, p)) < nan] = np.nan
    return X, y


def _check_structure(ens: TreeEnsemble, library: str) -> None:
    """Library name, cover additivity at internal nodes, finite expected value."""
    assert ens.library == library
    inner = np.flatnonzero(ens.left >= 0)
    assert inner.size > 0
    assert_allclose(ens.cover[inner], ens.cover[ens.left[inner]] + ens.cover[ens.right[inner]], rtol=1e-9)
    assert np.all(ens.cover[ens.roots] > 0)
    assert np.all(np.isfinite(ens.expected_value()))
    assert ens.expected_value().shape == (ens.n_outputs,)


# ---------------------------------------------------------------------- trees and forests
REGRESSORS = [
    (tree.DecisionTreeRegressor(max_depth=6, random_state=0), "sklearn.tree.DecisionTreeRegressor"),
    (tree.ExtraTreeRegressor(max_depth=6, random_state=0), "sklearn.tree.ExtraTreeRegressor"),
    (ensemble.RandomForestRegressor(n_estimators=8, max_depth=None, random_state=0),
     "sklearn.ensemble.RandomForestRegressor"),
    (ensemble.ExtraTreesRegressor(n_estimators=8, max_depth=5, random_state=0), "sklearn.ensemble.ExtraTreesRegressor"),
]


@pytest.mark.parametrize("model, library", REGRESSORS, ids=_model_id)
def test_tree_regressors_match_predict_with_nan(model: Any, library: str) -> None:
    X, y = _data(nan=0.1)
    model.fit(X, y)
    Xt, _ = _data(seed=1, n=300, nan=0.15)
    ens = from_sklearn(model)
    assert ens.n_outputs == 1 and ens.output_names is None and ens.transform == "identity"
    assert ens.input_float32 and not ens.strict
    assert ens.n_features == 4
    assert ens.n_trees == len(getattr(model, "estimators_", [model]))
    assert_allclose(ens.predict_raw(Xt)[:, 0], model.predict(Xt), **TIGHT)
    assert_allclose(ens.predict(Xt)[:, 0], model.predict(Xt), **TIGHT)
    _check_structure(ens, library)


CLASSIFIERS = [
    (tree.DecisionTreeClassifier(max_depth=5, random_state=0), "sklearn.tree.DecisionTreeClassifier"),
    (tree.ExtraTreeClassifier(max_depth=5, random_state=0), "sklearn.tree.ExtraTreeClassifier"),
    (ensemble.RandomForestClassifier(n_estimators=8, random_state=0), "sklearn.ensemble.RandomForestClassifier"),
    (ensemble.ExtraTreesClassifier(n_estimators=8, max_depth=6, random_state=0),
     "sklearn.ensemble.ExtraTreesClassifier"),
]


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("model, library", CLASSIFIERS, ids=_model_id)
def test_tree_classifiers_match_predict_proba_with_nan(model: Any, library: str, n_classes: int) -> None:
    X, y = _data(nan=0.1)
    labels = np.array(["low", "mid", "high"])[: n_classes]
    yc = labels[np.digitize(y, np.quantile(y, np.linspace(0, 1, n_classes + 1)[1:-1]))]
    model.fit(X, yc)
    Xt, _ = _data(seed=2, n=300, nan=0.15)
    ens = from_sklearn(model)
    proba = model.predict_proba(Xt)
    assert ens.n_outputs == n_classes
    assert ens.output_names == [str(c) for c in model.classes_]
    assert ens.transform == "identity"
    assert_allclose(ens.predict_raw(Xt), proba, **TIGHT)
    assert_allclose(ens.predict(Xt), proba, **TIGHT)
    # every leaf holds class fractions, averaged over the trees
    leaf = ens.left < 0
    assert_allclose(ens.value[leaf].sum(axis=1), 1.0 / ens.n_trees, **TIGHT)
    _check_structure(ens, library)


def test_nan_at_predict_time_only_follows_the_larger_child() -> None:
    # no NaN in training: scikit-learn stores missing_go_to_left = (n_left > n_right) at each node
    X, y = _data(n=200)
    model = tree.DecisionTreeRegressor(max_depth=5, random_state=0).fit(X, y)
    t = model.tree_
    inner = t.children_left >= 0
    n_left = t.n_node_samples[t.children_left[inner]]
    n_right = t.n_node_samples[t.children_right[inner]]
    assert_allclose(t.missing_go_to_left[inner], n_left > n_right)
    Xt, _ = _data(seed=3, n=300, nan=0.3)
    ens = from_sklearn(model)
    assert ens.missing_left[inner].any() and not ens.missing_left[inner].all()
    assert_allclose(ens.predict_raw(Xt)[:, 0], model.predict(Xt), **TIGHT)


def test_inputs_are_rounded_to_float32() -> None:
    X, y = _data(n=300)
    model = tree.DecisionTreeRegressor(max_depth=6, random_state=0).fit(X, y)
    t = model.tree_
    inner = np.flatnonzero(t.children_left >= 0)
    # a row at each node's threshold; at some of them float32(threshold) > threshold, so sklearn goes right
    Xt = np.tile(X[:1], (inner.size, 1))
    Xt[np.arange(inner.size), t.feature[inner]] = t.threshold[inner]
    assert np.any(t.threshold[inner].astype(np.float32) > t.threshold[inner])
    ens = from_sklearn(model)
    assert_allclose(ens.predict_raw(Xt)[:, 0], model.predict(Xt), **TIGHT)
    ens64 = dataclasses.replace(ens, input_float32=False)
    assert not np.allclose(ens64.predict_raw(Xt)[:, 0], model.predict(Xt), **TIGHT)


def test_sample_weights_set_cover_and_predictions() -> None:
    X, y = _data(nan=0.05)
    w = np.random.default_rng(4).uniform(0.1, 3.0, size=len(y))
    model = tree.DecisionTreeRegressor(max_depth=4, random_state=0).fit(X, y, sample_weight=w)
    ens = from_sklearn(model)
    assert_allclose(ens.cover[0], w.sum(), rtol=1e-12)
    assert_allclose(ens.predict_raw(X)[:, 0], model.predict(X), **TIGHT)
    _check_structure(ens, "sklearn.tree.DecisionTreeRegressor")
    forest = ensemble.RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y > 0, sample_weight=w)
    ens = from_sklearn(forest)
    assert ens.output_names == ["False", "True"]
    assert_allclose(ens.predict_raw(X), forest.predict_proba(X), **TIGHT)
    _check_structure(ens, "sklearn.ensemble.RandomForestClassifier")


def test_depth_one_tree_and_unbounded_forest() -> None:
    X, y = _data()
    stump = tree.DecisionTreeRegressor(max_depth=1).fit(X, y)
    ens = from_sklearn(stump)
    assert (ens.n_trees, ens.n_nodes, ens.max_depth) == (1, 3, 1)
    assert_allclose(ens.predict_raw(X)[:, 0], stump.predict(X), **TIGHT)
    assert_allclose(ens.expected_value(), [y.mean()], **TIGHT)
    forest = ensemble.RandomForestRegressor(n_estimators=4, max_depth=None, random_state=0).fit(X, y)
    ens = from_sklearn(forest)
    assert_allclose(ens.depths, [e.get_depth() for e in forest.estimators_])
    assert ens.n_nodes == sum(e.tree_.node_count for e in forest.estimators_)
    assert_allclose(ens.predict_raw(X)[:, 0], forest.predict(X), **TIGHT)


# ---------------------------------------------------------------------- gradient boosting
@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber", "quantile"])
def test_gradient_boosting_regressor(loss: str) -> None:
    X, y = _data()
    model = ensemble.GradientBoostingRegressor(loss=loss, n_estimators=15, learning_rate=0.3, random_state=0)
    model.fit(X, y)
    ens = from_sklearn(model)
    Xt, _ = _data(seed=5)
    assert ens.transform == "identity" and ens.n_outputs == 1 and ens.input_float32
    assert_allclose(ens.base_offset, model._raw_predict_init(Xt[:1].astype(np.float32))[0], **TIGHT)
    assert_allclose(ens.predict_raw(Xt)[:, 0], model.predict(Xt), **TIGHT)
    assert_allclose(ens.predict(Xt)[:, 0], model.predict(Xt), **TIGHT)
    _check_structure(ens, "sklearn.ensemble.GradientBoostingRegressor")


def test_gradient_boosting_nan_goes_right_like_its_predictor() -> None:
    # fit/predict reject NaN, but the raw routine (used after validation) compares NaN with <=: always right
    X, y = _data()
    model = ensemble.GradientBoostingRegressor(n_estimators=10, random_state=0).fit(X, y)
    Xt, _ = _data(seed=6, nan=0.3)
    ens = from_sklearn(model)
    assert not ens.missing_left.any()
    assert_allclose(ens.predict_raw(Xt), model._raw_predict(Xt.astype(np.float32)), **TIGHT)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_gradient_boosting_classifier(n_classes: int) -> None:
    X, y = _data()
    yc = np.digitize(y, np.quantile(y, np.linspace(0, 1, n_classes + 1)[1:-1])) * 10
    model = ensemble.GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X, yc)
    ens = from_sklearn(model)
    Xt, _ = _data(seed=7)
    raw = model.decision_function(Xt).reshape(len(Xt), -1)
    assert_allclose(ens.predict_raw(Xt), raw, **TIGHT)
    if n_classes == 2:
        assert ens.transform == "logistic" and ens.n_outputs == 1 and ens.output_names == ["10"]
        assert_allclose(ens.predict(Xt)[:, 0], model.predict_proba(Xt)[:, 1], **TIGHT)
    else:
        assert ens.transform == "softmax" and ens.n_outputs == 3 and ens.output_names == ["0", "10", "20"]
        assert_allclose(ens.predict(Xt), model.predict_proba(Xt), **TIGHT)
    _check_structure(ens, "sklearn.ensemble.GradientBoostingClassifier")


def test_gradient_boosting_exponential_loss_raw_is_log_odds() -> None:
    X, y = _data()
    model = ensemble.GradientBoostingClassifier(loss="exponential", n_estimators=10, random_state=0).fit(X, y > 0)
    ens = from_sklearn(model)
    assert ens.transform == "logistic"
    assert_allclose(ens.predict_raw(X)[:, 0], 2.0 * model.decision_function(X), **TIGHT)
    assert_allclose(ens.predict(X)[:, 0], model.predict_proba(X)[:, 1], **TIGHT)


@pytest.mark.parametrize("init", ["zero", DummyRegressor(strategy="median")])
def test_gradient_boosting_constant_init(init: Any) -> None:
    X, y = _data()
    model = ensemble.GradientBoostingRegressor(init=init, n_estimators=8, random_state=0).fit(X, y + 3.0)
    ens = from_sklearn(model)
    expected = 0.0 if init == "zero" else np.median(y + 3.0)
    assert_allclose(ens.base_offset, [expected], **TIGHT)
    assert_allclose(ens.predict_raw(X)[:, 0], model.predict(X), **TIGHT)


def test_gradient_boosting_init_depending_on_x_is_unsupported() -> None:
    X, y = _data()
    model = ensemble.GradientBoostingRegressor(init=LinearRegression(), n_estimators=3).fit(X, y)
    with pytest.raises(UnsupportedModelError, match="model") as info:
        from_sklearn(model)
    assert "LinearRegression" in str(info.value)


# ---------------------------------------------------------------------- histogram gradient boosting
@pytest.mark.parametrize("loss, transform", [("squared_error", "identity"), ("absolute_error", "identity"),
                                             ("quantile", "identity"), ("poisson", "exp"), ("gamma", "exp")])
def test_hist_gradient_boosting_regressor_with_nan(loss: str, transform: str) -> None:
    X, y = _data(nan=0.1)
    target = np.exp(y / 2) if loss in ("poisson", "gamma") else y
    extra = {"quantile": 0.8} if loss == "quantile" else {}
    model = ensemble.HistGradientBoostingRegressor(loss=loss, max_iter=10, random_state=0, **extra).fit(X, target)
    ens = from_sklearn(model)
    Xt, _ = _data(seed=8, n=300, nan=0.2)
    assert ens.transform == transform and not ens.input_float32 and ens.n_outputs == 1
    assert_allclose(ens.base_offset, model._baseline_prediction.ravel(), **TIGHT)
    assert_allclose(ens.predict_raw(Xt), model._raw_predict(Xt), **TIGHT)
    assert_allclose(ens.predict(Xt)[:, 0], model.predict(Xt), **TIGHT)
    _check_structure(ens, "sklearn.ensemble.HistGradientBoostingRegressor")
    assert_allclose(ens.cover[ens.roots], len(X))


def test_hist_gradient_boosting_nan_at_predict_time_only() -> None:
    X, y = _data()
    model = ensemble.HistGradientBoostingRegressor(max_iter=10, random_state=0).fit(X, y)
    Xt, _ = _data(seed=9, nan=0.3)
    assert_allclose(from_sklearn(model).predict_raw(Xt)[:, 0], model.predict(Xt), **TIGHT)


def _categorical_data(seed: int, codes: np.ndarray, n: int = 500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    c1 = codes[rng.integers(0, codes.size, n)].astype(float)
    c1[rng.random(n) < 0.15] = np.nan  # missing categories seen in training: some splits send them left
    c2 = rng.integers(0, 4, n).astype(float)
    x = rng.normal(size=n)
    effect = dict(zip(codes.tolist(), rng.normal(scale=2.0, size=codes.size), strict=True))
    y = x + np.array([effect.get(v, 4.0) for v in c1]) + np.where(c2 % 2 == 1, 1.5, -0.5) + 0.1 * rng.normal(size=n)
    return np.c_[x, c1, c2], y


def _unseen_categories(X: np.ndarray, seed: int) -> np.ndarray:
    """Rows with seen, unseen, negative, non-integral, large and missing category values.

    Values >= 2**63 are left out: trees.py's _go_left casts them to int64 before any range check
    (overflow, then an out-of-bounds bitset read); see the report on trees.py.
    """
    rng = np.random.default_rng(seed)
    values = np.array([np.nan, -1.0, -0.5, -0.0, 0.5, 2.5, 1.0, 4.0, 6.0, 8.0, 39.0, 41.0, 255.0, 256.0, 1e6,
                       1e15, 0.0, 2.0, 3.0, 5.0, 7.0, 40.0])
    Xt = X.copy()
    for j in (1, 2):
        Xt[:, j] = values[rng.integers(0, values.size, len(X))]
    return Xt


@pytest.mark.parametrize("codes", [np.arange(6), np.array([0, 2, 3, 5, 7, 40])], ids=["0..5", "sparse"])
def test_hist_gradient_boosting_native_categories(codes: np.ndarray) -> None:
    X, y = _categorical_data(0, codes)
    model = ensemble.HistGradientBoostingRegressor(max_iter=15, categorical_features=[1, 2], random_state=0)
    model.fit(X, y)
    nodes = np.concatenate([p.nodes for ps in model._predictors for p in ps])
    cat = (nodes["is_categorical"] == 1) & (nodes["is_leaf"] == 0)
    assert cat.any() and (nodes["missing_go_to_left"][cat] == 1).any()  # the swapped-children case is exercised
    ens = from_sklearn(model)
    assert ens.categorical.any() and ens.cat_invalid_missing
    Xt = _unseen_categories(X, 1)
    assert_allclose(ens.predict_raw(Xt), model._raw_predict(Xt), **TIGHT)
    assert_allclose(ens.predict_raw(X), model._raw_predict(X), **TIGHT)
    # scikit-learn's own rule: every value outside the training categories routes like NaN
    unseen = Xt.copy()
    unseen[:, 1] = np.where(np.isin(Xt[:, 1], codes), Xt[:, 1], np.nan)
    unseen[:, 2] = np.where(np.isin(Xt[:, 2], np.arange(4)), Xt[:, 2], np.nan)
    assert_allclose(ens.predict_raw(Xt), ens.predict_raw(unseen), **TIGHT)
    _check_structure(ens, "sklearn.ensemble.HistGradientBoostingRegressor")


@pytest.mark.parametrize("n_classes", [2, 3])
def test_hist_gradient_boosting_classifier_with_categories(n_classes: int) -> None:
    X, y = _categorical_data(2, np.arange(6))
    yc = np.digitize(y, np.quantile(y, np.linspace(0, 1, n_classes + 1)[1:-1]))
    mask = np.array([False, True, True])
    model = ensemble.HistGradientBoostingClassifier(max_iter=8, categorical_features=mask, random_state=0).fit(X, yc)
    ens = from_sklearn(model)
    Xt = _unseen_categories(X, 3)
    raw = model.decision_function(Xt).reshape(len(Xt), -1)
    assert_allclose(ens.predict_raw(Xt), raw, **TIGHT)
    proba = model.predict_proba(Xt)
    if n_classes == 2:
        assert ens.transform == "logistic" and ens.n_outputs == 1 and ens.output_names == ["1"]
        assert_allclose(ens.predict(Xt)[:, 0], proba[:, 1], **TIGHT)
    else:
        assert ens.transform == "softmax" and ens.n_outputs == 3 and ens.output_names == ["0", "1", "2"]
        assert_allclose(ens.predict(Xt), proba, **TIGHT)
    _check_structure(ens, "sklearn.ensemble.HistGradientBoostingClassifier")


def test_hist_gradient_boosting_pandas_categories_are_read_by_position() -> None:
    """Fitted on a DataFrame with a ``category`` column second (the model's preprocessor moves it first):
    the ensemble reads the input columns in order, a category as its position in the training categories,
    and predicts as the model does, unseen categories and NaN included."""
    pd = pytest.importorskip("pandas")
    from xaikit.models._trees_sklearn import training_categories

    X, y = _categorical_data(4, np.arange(4), n=120)
    labels = np.where(np.isnan(X[:, 1]), None, np.array(["d", "b", "a", "c"])[np.nan_to_num(X[:, 1]).astype(int)])
    frame = pd.DataFrame({"x": X[:, 0], "c": pd.Categorical(labels)})
    model = ensemble.HistGradientBoostingRegressor(max_iter=3, categorical_features="from_dtype").fit(frame, y)
    cats = training_categories(model)
    assert cats == [["a", "b", "c", "d"]]
    test = pd.DataFrame({"x": X[:12, 0], "c": pd.Categorical(list("abcdz") + [None] + list("dcbaab"))})
    codes = test["c"].cat.set_categories(cats[0]).cat.codes.to_numpy().astype(float)
    codes[codes < 0] = np.nan  # unseen ("z") and missing: NaN, as the model's encoder does
    ens = from_sklearn(model)
    np.testing.assert_allclose(ens.predict_raw(np.column_stack([test["x"], codes]))[:, 0], model.predict(test),
                               rtol=0, atol=1e-12)
    assert training_categories(ensemble.HistGradientBoostingRegressor(max_iter=2).fit(X[:, :1], y)) is None


def test_hist_gradient_boosting_negative_training_categories_are_unsupported() -> None:
    X, y = _categorical_data(5, np.array([-1, 0, 1, 2]), n=200)
    model = ensemble.HistGradientBoostingRegressor(max_iter=3, categorical_features=[1]).fit(X, y)
    with pytest.raises(UnsupportedModelError, match="model: .*categorical feature 1"):
        from_sklearn(model)


# ---------------------------------------------------------------------- isolation forest
@pytest.mark.parametrize("max_features", [1.0, 0.5])
def test_isolation_forest_average_path_length(max_features: float) -> None:
    X, _ = _data(nan=0.05)
    model = ensemble.IsolationForest(n_estimators=10, max_samples=64, max_features=max_features, random_state=0)
    model.fit(X)
    Xt, _ = _data(seed=10, n=200, nan=0.1)
    ens = from_sklearn(model)
    raw = ens.predict_raw(Xt)[:, 0]
    # from sklearn's internals: depth of the reached leaf + c(leaf samples) - 1, averaged over trees
    Xt32 = Xt.astype(np.float32)
    depth = np.zeros(len(Xt))
    for t, (est, feats) in enumerate(zip(model.estimators_, model.estimators_features_, strict=True)):
        leaves = est.apply(Xt32[:, feats] if max_features < 1 else Xt32)
        depth += model._decision_path_lengths[t][leaves] + model._average_path_length_per_tree[t][leaves] - 1.0
    assert_allclose(raw, depth / len(model.estimators_), **TIGHT)
    # score_samples = -2 ** (-E[h(x)] / c(max_samples)); the log round trip loses a few ulps
    c = _average_path_length([model._max_samples])[0]
    assert_allclose(-(2.0 ** (-raw / c)), model.score_samples(Xt), **TIGHT)
    assert ens.output_names == ["average_path_length"] and ens.transform == "identity"
    _check_structure(ens, "sklearn.ensemble.IsolationForest")


# ---------------------------------------------------------------------- errors and dispatch
def test_pipeline_is_unsupported() -> None:
    X, y = _data()
    pipe = make_pipeline(StandardScaler(), tree.DecisionTreeRegressor(max_depth=2)).fit(X, y)
    for parse in (from_sklearn, tree_ensemble):
        with pytest.raises(UnsupportedModelError, match="model") as info:
            parse(pipe)
        assert "sklearn.pipeline.Pipeline" in str(info.value) and "final estimator" in str(info.value)
    assert not is_tree_model(pipe)


def test_other_estimators_are_unsupported() -> None:
    X, y = _data()
    with pytest.raises(UnsupportedModelError, match="model: .*got sklearn.linear_model.LinearRegression"):
        from_sklearn(LinearRegression().fit(X, y))


@pytest.mark.parametrize("model", [tree.DecisionTreeRegressor(), ensemble.RandomForestClassifier(),
                                   ensemble.GradientBoostingRegressor(), ensemble.HistGradientBoostingClassifier(),
                                   ensemble.IsolationForest()])
def test_unfitted_model_is_rejected(model: Any) -> None:
    with pytest.raises(InvalidParameterError, match="model: expected a fitted .*unfitted"):
        from_sklearn(model)
    assert not is_tree_model(model)


def test_tree_ensemble_dispatches_to_the_sklearn_parser() -> None:
    X, y = _data()
    model = ensemble.GradientBoostingRegressor(n_estimators=5, random_state=0).fit(X, y)
    assert trees._parser_for(model) is from_sklearn
    assert is_tree_model(model)
    ens = tree_ensemble(model)
    assert isinstance(ens, TreeEnsemble) and ens.library == "sklearn.ensemble.GradientBoostingRegressor"
    assert_allclose(ens.predict_raw(X)[:, 0], model.predict(X), **TIGHT)


def test_content_key_follows_the_content() -> None:
    """Worker processes keep an ensemble under this key: equal content, equal key; any change, a new one."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 4))
    model = tree.DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, X[:, 0])
    a, b = tree_ensemble(model), tree_ensemble(model)
    assert a is not b and a.content_key() == b.content_key()
    b.threshold[0] += 1e-12
    assert a.content_key() != b.content_key()
    c = dataclasses.replace(a, base_offset=a.base_offset + 1.0)
    assert c.content_key() != a.content_key()
    d = dataclasses.replace(a, strict=not a.strict)
    assert d.content_key() != a.content_key()
