"""Path-dependent TreeSHAP of oblivious trees by table lookup equals the kernel's walk of every tree
(the oracle here: the same values computed row by row) and CatBoost's own SHAP values."""

from __future__ import annotations

import numpy as np
import pytest

from xaikit.explainers.trees import _kernels as kernels
from xaikit.explainers.trees.oblivious import oblivious_tables
from xaikit.models.trees import TreeEnsemble, tree_ensemble

catboost = pytest.importorskip("catboost")


def _walk(ens: TreeEnsemble, X: np.ndarray) -> np.ndarray:
    """The kernel's path-dependent values, every tree walked for every row."""
    phi = np.zeros((X.shape[0], ens.n_features, ens.n_outputs))
    cols = kernels.tree_columns(ens.roots, ens.left, ens.right, ens.value)
    qn, qw = kernels.quadrature(ens.max_depth)
    kernels.path_dependent(ens.prepare(X), ens.roots, ens.depths, cols, ens.value, ens.cover, qn, qw, *ens._routing(), phi)
    return phi


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = np.nan_to_num(X[:, 0]) * np.nan_to_num(X[:, 1]) + np.sin(np.nan_to_num(X[:, 2]))
    return X, y


@pytest.mark.parametrize("nan_mode", ["Min", "Max"])
def test_lookup_equals_the_walk_and_catboost(data, nan_mode):
    X, y = data
    model = catboost.CatBoostRegressor(iterations=30, depth=4, verbose=False, allow_writing_files=False, random_seed=0,
                                       nan_mode=nan_mode, thread_count=1).fit(X, y)
    ens = tree_ensemble(model)
    tables = oblivious_tables(ens)
    assert tables is not None
    rows = np.vstack([X[:100], np.full((1, 6), np.nan), [[1e40, -1e40, 0.0, 0.0, 0.0, 0.0]]])  # NaN and huge rows too
    fast, margins = tables.values_and_margins(ens.prepare(rows))
    np.testing.assert_allclose(fast, _walk(ens, rows), rtol=0, atol=1e-12)
    np.testing.assert_allclose(margins, ens.predict_raw(rows), rtol=0, atol=1e-12)  # the leaves each code reaches
    own = model.get_feature_importance(catboost.Pool(rows), type="ShapValues")[:, :-1]
    np.testing.assert_allclose(fast[:, :, 0], own, rtol=0, atol=1e-10)


def test_lookup_of_a_multiclass_model_and_a_threshold_row(data):
    X, y = data
    labels = np.digitize(y, [-0.5, 0.5])
    model = catboost.CatBoostClassifier(iterations=20, depth=3, verbose=False, allow_writing_files=False, random_seed=0,
                                        loss_function="MultiClass", thread_count=1).fit(X, labels)
    ens = tree_ensemble(model)
    tables = oblivious_tables(ens)
    assert tables is not None and ens.n_outputs == 3
    at_thresholds = np.tile(np.nan_to_num(X[:1]), (ens.roots.shape[0], 1))
    at_thresholds[np.arange(ens.roots.shape[0]), tables.feature[:, 0]] = tables.threshold[:, 0]  # rows exactly on a border
    rows = np.vstack([X[:50], at_thresholds])
    fast, margins = tables.values_and_margins(ens.prepare(rows))
    np.testing.assert_allclose(fast, _walk(ens, rows), rtol=0, atol=1e-12)
    np.testing.assert_allclose(margins, ens.predict_raw(rows), rtol=0, atol=1e-12)


def test_trees_that_are_not_oblivious_have_no_lookup(data):
    from sklearn.tree import DecisionTreeRegressor

    X, y = data
    tree = DecisionTreeRegressor(max_depth=3, random_state=0).fit(np.nan_to_num(X), y)
    assert oblivious_tables(tree_ensemble(tree)) is None
    depthwise = catboost.CatBoostRegressor(iterations=5, depth=3, grow_policy="Depthwise", verbose=False,
                                           allow_writing_files=False, random_seed=0).fit(X, y)
    assert oblivious_tables(tree_ensemble(depthwise)) is None


def test_tables_are_kept_by_content(data):
    X, y = data
    params = dict(iterations=5, depth=3, verbose=False, allow_writing_files=False, thread_count=1)
    first = catboost.CatBoostRegressor(random_seed=0, **params).fit(X, y)
    again = oblivious_tables(tree_ensemble(first))
    assert again is oblivious_tables(tree_ensemble(first))  # parsed anew, the same content: kept
    other = catboost.CatBoostRegressor(random_seed=1, **params).fit(X, y + 1.0)
    assert oblivious_tables(tree_ensemble(other)) is not again
