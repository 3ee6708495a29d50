"""scikit-learn trees beyond single-output base classes: multi-output trees and forests, subclasses of the
supported estimators, and the scale of ``GradientBoostingClassifier(loss="exponential")``.

Oracles: Shapley values by enumeration of every coalition (the helpers of
tests/oracles/test_tree_shap_bruteforce.py), with the interventional game played on the model's own
``predict`` / ``predict_proba`` rather than on the parsed ensemble.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn import ensemble, tree
from threadpoolctl import threadpool_limits
from tree_oracle import ORACLE

import xaikit as xk
from xaikit.errors import UnsupportedModelError
from xaikit.models._trees_sklearn import decision_function_scale, from_sklearn, is_tree_type
from xaikit.models.trees import is_tree_model, tree_ensemble

path_game, shapley_by_enumeration = ORACLE.path_game, ORACLE.shapley_by_enumeration

D = 4  # features: 16 coalitions per row


@pytest.fixture(autouse=True)
def _one_openmp_thread() -> Iterator[None]:
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def _data(seed: int = 0, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Rows already on the float32 grid (the trees compare in float32; the oracle's walk in float64)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, D)).astype(np.float32).astype(np.float64)
    Y = np.c_[X[:, 0] + X[:, 1] * X[:, 2], np.sin(2 * X[:, 1]) - X[:, 3], X[:, 2] * (X[:, 0] > 0)]
    return X, Y


def _stacked_proba(model: Any, X: np.ndarray) -> np.ndarray:
    proba = model.predict_proba(X)
    return np.hstack(proba) if isinstance(proba, list) else proba


def _model_output(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    if hasattr(model, "predict_proba"):
        return lambda Z: _stacked_proba(model, Z)
    return lambda Z: np.asarray(model.predict(Z)).reshape(len(Z), -1)


def _interventional_truth(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Exact interventional Shapley values of ``predict`` at ``x`` over ``bg``: every coalition's hybrid
    rows go through the model in one call."""
    coalitions = [S for r in range(D + 1) for S in itertools.combinations(range(D), r)]
    hybrid = np.repeat(bg[None], len(coalitions), axis=0)
    for k, S in enumerate(coalitions):
        hybrid[k][:, list(S)] = x[list(S)]
    out = predict(hybrid.reshape(-1, D)).reshape(len(coalitions), len(bg), -1).mean(axis=1)
    table = {frozenset(S): out[k] for k, S in enumerate(coalitions)}
    return shapley_by_enumeration(lambda S: table[frozenset(S)], D)


REGRESSORS = [
    tree.DecisionTreeRegressor(max_depth=3, random_state=0),
    tree.ExtraTreeRegressor(max_depth=3, random_state=0),
    ensemble.RandomForestRegressor(n_estimators=3, max_depth=3, random_state=0),
    ensemble.ExtraTreesRegressor(n_estimators=3, max_depth=3, random_state=0),
]
CLASSIFIERS = [
    tree.DecisionTreeClassifier(max_depth=3, random_state=0),
    ensemble.RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0),
    ensemble.ExtraTreesClassifier(n_estimators=3, max_depth=3, random_state=0),
]


def _classes(Y: np.ndarray) -> np.ndarray:
    """Two targets: a binary one and a three-class one with string labels."""
    return np.c_[np.where(Y[:, 0] > 0, "hi", "lo"), np.digitize(Y[:, 1], [-0.5, 0.5])]


@pytest.fixture(scope="module", params=REGRESSORS + CLASSIFIERS, ids=lambda m: type(m).__name__)
def fitted(request: pytest.FixtureRequest) -> tuple[Any, np.ndarray]:
    from sklearn.base import clone

    X, Y = _data()
    model = clone(request.param)
    return model.fit(X, _classes(Y) if hasattr(model, "predict_proba") else Y), X


# ---------------------------------------------------------------------- multi-output trees and forests
def test_multi_output_ensemble_predicts_every_output(fitted: tuple[Any, np.ndarray]) -> None:
    model, X = fitted
    ens = from_sklearn(model)
    expected = _model_output(model)(X)
    assert ens.n_outputs == expected.shape[1] == (3 if not hasattr(model, "predict_proba") else 5)
    assert_allclose(ens.predict_raw(X), expected, rtol=0, atol=1e-12)
    assert ens.transform == "identity" and ens.library.endswith(type(model).__name__)
    if hasattr(model, "predict_proba"):
        assert ens.output_names == ["output0=hi", "output0=lo", "output1=0", "output1=1", "output1=2"]
    else:
        assert ens.output_names is None
    # every tree's cover is its training weight, additive at internal nodes
    inner = np.flatnonzero(ens.left >= 0)
    assert_allclose(ens.cover[inner], ens.cover[ens.left[inner]] + ens.cover[ens.right[inner]], rtol=1e-12)


def test_multi_output_path_dependent_equals_enumeration(fitted: tuple[Any, np.ndarray]) -> None:
    model, X = fitted
    rows = X[:4]
    exp = xk.TreeShap(model).explain(rows)
    ens = from_sklearn(model)
    assert exp.values.shape == (4, D, ens.n_outputs)
    for r in range(len(rows)):
        truth = shapley_by_enumeration(lambda S, r=r: path_game(ens, rows[r], S), D)
        assert_allclose(exp.values[r], truth, rtol=0, atol=1e-10)
    assert_allclose(exp.completeness(), _model_output(model)(rows), rtol=0, atol=1e-10)


def test_multi_output_interventional_equals_enumeration_on_the_model(fitted: tuple[Any, np.ndarray]) -> None:
    model, X = fitted
    rows, bg = X[:3], X[-6:]
    exp = xk.TreeShap(model, background=bg).explain(rows)
    predict = _model_output(model)
    for r in range(len(rows)):
        assert_allclose(exp.values[r], _interventional_truth(predict, rows[r], bg), rtol=0, atol=1e-10)
    assert_allclose(exp.base_values, np.broadcast_to(predict(bg).mean(axis=0), exp.base_values.shape), atol=1e-12)
    assert_allclose(exp.completeness(), predict(rows), rtol=0, atol=1e-10)


def test_multi_output_target_selects_one_output() -> None:
    X, Y = _data(1)
    model = ensemble.RandomForestRegressor(n_estimators=3, max_depth=3, random_state=0).fit(X, Y)
    whole = xk.TreeShap(model).explain(X[:5])
    assert whole.output_names == ["output0", "output1", "output2"]
    second = xk.TreeShap(model).explain(X[:5], target=1)
    assert_allclose(second.values[..., 0], whole.values[..., 1], rtol=0, atol=1e-12)
    assert_allclose(second.completeness()[:, 0], model.predict(X[:5])[:, 1], rtol=0, atol=1e-10)


def test_one_column_target_keeps_single_output_names() -> None:
    X, Y = _data(2)
    model = tree.DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, (Y[:, :1] > 0).astype(int))
    assert model.n_outputs_ == 1
    ens = from_sklearn(model)
    assert ens.output_names == ["0", "1"]
    assert_allclose(ens.predict_raw(X), model.predict_proba(X), rtol=0, atol=1e-12)


# ---------------------------------------------------------------------- subclasses
class MyForest(ensemble.RandomForestRegressor):
    """A user's subclass that adds a method and keeps the prediction."""

    def describe(self) -> str:
        return f"{len(self.estimators_)} trees"


class StdForest(ensemble.ExtraTreesRegressor):
    """Like scikit-optimize's forests: ``predict`` overridden, with an extra option and the same mean."""

    def predict(self, X: Any, return_std: bool = False) -> Any:  # type: ignore[override]
        mean = super().predict(X)
        if return_std:
            return mean, np.std([t.predict(X) for t in self.estimators_], axis=0)
        return mean


class MyBoosting(ensemble.GradientBoostingClassifier):
    pass


class MyHistBoosting(ensemble.HistGradientBoostingRegressor):
    pass


class ShiftedForest(ensemble.RandomForestRegressor):
    """Overrides the prediction with something its trees do not compute."""

    def predict(self, X: Any) -> Any:
        return super().predict(X) + 1.0


class ClippedClassifier(tree.DecisionTreeClassifier):
    def predict_proba(self, X: Any, check_input: bool = True) -> Any:
        return np.clip(super().predict_proba(X, check_input), 0.1, 0.9)


SUBCLASSES = [
    (MyForest, ensemble.RandomForestRegressor, {"n_estimators": 3, "max_depth": 3}),
    (StdForest, ensemble.ExtraTreesRegressor, {"n_estimators": 3, "max_depth": 3}),
    (MyBoosting, ensemble.GradientBoostingClassifier, {"n_estimators": 5, "max_depth": 2}),
    (MyHistBoosting, ensemble.HistGradientBoostingRegressor, {"max_iter": 5, "max_depth": 3}),
]


@pytest.mark.parametrize(("sub", "base", "params"), SUBCLASSES, ids=lambda v: getattr(v, "__name__", ""))
def test_subclass_gives_the_same_values_as_its_base(sub: type, base: type, params: dict[str, Any]) -> None:
    X, Y = _data(3)
    y = Y[:, 0] > 0 if issubclass(base, ensemble.GradientBoostingClassifier) else Y[:, 0]
    mine = sub(random_state=0, **params).fit(X, y)
    theirs = base(random_state=0, **params).fit(X, y)
    assert is_tree_type(mine) and is_tree_model(mine)
    ens = tree_ensemble(mine)
    assert ens.library == f"sklearn.ensemble.{base.__name__}"
    a = xk.TreeShap(mine).explain(X[:6])
    b = xk.TreeShap(theirs).explain(X[:6])
    assert np.array_equal(a.values, b.values) and np.array_equal(a.base_values, b.base_values)
    bg = X[-5:]
    assert np.array_equal(xk.TreeShap(mine, background=bg).explain(X[:3]).values,
                          xk.TreeShap(theirs, background=bg).explain(X[:3]).values)


def test_subclass_with_multi_output_is_parsed() -> None:
    X, Y = _data(4)
    model = MyForest(n_estimators=2, max_depth=3, random_state=0).fit(X, Y[:, :2])
    exp = xk.TreeShap(model).explain(X[:4])
    assert_allclose(exp.completeness(), model.predict(X[:4]), rtol=0, atol=1e-10)


@pytest.mark.parametrize(("cls", "method"), [(ShiftedForest, "predict"), (ClippedClassifier, "predict_proba")])
def test_subclass_overriding_the_prediction_is_refused(cls: type, method: str) -> None:
    X, Y = _data(5)
    model = cls(max_depth=3, random_state=0).fit(X, Y[:, 0] if method == "predict" else Y[:, 0] > 0)
    with pytest.raises(UnsupportedModelError, match=f"model: expected a subclass of .*{cls.__name__}.*{method} differs"):
        from_sklearn(model)
    assert not is_tree_model(model)


def test_subclass_of_an_unsupported_estimator_is_refused() -> None:
    from sklearn.linear_model import LinearRegression

    class MyLinear(LinearRegression):
        pass

    X, Y = _data(6)
    assert not is_tree_type(MyLinear())
    with pytest.raises(UnsupportedModelError, match="model: expected a fitted scikit-learn .*got .*MyLinear"):
        from_sklearn(MyLinear().fit(X, Y[:, 0]))


# ---------------------------------------------------------------------- exponential loss
@pytest.fixture(scope="module")
def exponential() -> tuple[Any, np.ndarray]:
    X, Y = _data(7, n=150)
    model = ensemble.GradientBoostingClassifier(loss="exponential", n_estimators=6, max_depth=2, random_state=0)
    return model.fit(X, Y[:, 0] > 0.2), X


def test_exponential_loss_scale_is_twice_the_decision_function(exponential: tuple[Any, np.ndarray]) -> None:
    model, X = exponential
    assert decision_function_scale(model) == 2.0
    deviance = ensemble.GradientBoostingClassifier(n_estimators=3, random_state=0).fit(X, X[:, 0] > 0)
    assert decision_function_scale(deviance) == 1.0
    assert decision_function_scale(ensemble.RandomForestRegressor()) == 1.0
    ens = from_sklearn(model)
    assert_allclose(ens.predict_raw(X)[:, 0], 2.0 * model.decision_function(X), rtol=1e-12, atol=1e-12)
    assert_allclose(ens.predict(X)[:, 0], model.predict_proba(X)[:, 1], rtol=1e-12, atol=1e-12)


def test_exponential_loss_values_add_up_to_the_log_odds_and_probabilities(exponential: tuple[Any, np.ndarray]) -> None:
    model, X = exponential
    rows, bg = X[:5], X[-8:]
    exp = xk.TreeShap(model).explain(rows)
    definition = exp.diagnostics["value_definition"]
    assert definition["output"] == "log_odds"
    # the result says which scale it explains: twice the model's own decision_function (shap's)
    assert "2 x decision_function" in definition["scale"] and definition["scale"] in definition["text"]
    deviance = ensemble.GradientBoostingClassifier(n_estimators=3, random_state=0).fit(X, X[:, 0] > 0)
    assert "scale" not in xk.TreeShap(deviance).explain(rows).diagnostics["value_definition"]
    log_odds = exp.completeness()[:, 0]
    assert_allclose(log_odds, 2.0 * model.decision_function(rows), rtol=0, atol=1e-10)
    assert_allclose(1.0 / (1.0 + np.exp(-log_odds)), model.predict_proba(rows)[:, 1], rtol=0, atol=1e-12)
    # the margin game is the decision_function game doubled
    half = xk.TreeShap(model, background=bg).explain(rows)
    for r in range(3):
        truth = _interventional_truth(lambda Z: model.decision_function(Z)[:, None], rows[r], bg)
        assert_allclose(half.values[r] / decision_function_scale(model), truth, rtol=0, atol=1e-10)
    rescaled = xk.TreeShap(model, background=bg, output="probability_rescaled").explain(rows)
    assert_allclose(rescaled.completeness(), model.predict_proba(rows), rtol=0, atol=1e-10)


# ---------------------------------------------------------------------- shap as a second oracle
@pytest.mark.oracle
def test_multi_output_forest_regressor_matches_shap() -> None:
    """shap's TreeExplainer is right for multi-output forest regressors (for multi-output classifiers it
    divides every node's class fractions by the number of targets: its values add up to half of
    predict_proba, so it is no oracle there)."""
    shap = pytest.importorskip("shap")
    X, Y = _data(8, n=150)
    model = ensemble.RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0).fit(X, Y)
    rows = X[:10]
    theirs = np.asarray(shap.TreeExplainer(model).shap_values(rows))
    ours = xk.TreeShap(model).explain(rows)
    assert theirs.shape == ours.values.shape == (10, D, 3)
    assert_allclose(ours.values, theirs, rtol=0, atol=1e-10)
