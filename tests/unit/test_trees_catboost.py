"""Tests of the CatBoost parser and of TreeShap on CatBoost models.

CatBoost adds leaf values in float64 like :class:`TreeEnsemble`, and routes float32 inputs against
float32 borders exactly as the parsed ensemble does, so margins agree to float64 rounding (``1e-12``).
Its ``ShapValues`` are computed in float64 too: path-dependent TreeShap agrees with them to ``1e-9``
(well within the ``1e-6`` relative asked of a second implementation).
"""

from __future__ import annotations

import numpy as np
import pytest
from tree_oracle import ORACLE

import xaikit as xk
from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.models import trees as trees_module
from xaikit.models._trees_catboost import CategoryEncoder, from_catboost
from xaikit.models.trees import TreeEnsemble

cb = pytest.importorskip("catboost")

TOL = {"rtol": 1e-12, "atol": 1e-12}


def raw(model, X):
    """CatBoost's raw score as ``(n, n_outputs)``."""
    return np.asarray(model.predict(X, prediction_type="RawFormulaVal"), dtype=np.float64).reshape(len(X), -1)


def catboost_shap(model, X):
    """CatBoost's own path-dependent SHAP values as ``(n, d, o)`` and its expected values ``(n, o)``."""
    sv = model.get_feature_importance(type="ShapValues", data=X if isinstance(X, cb.Pool) else cb.Pool(X))
    if sv.ndim == 2:
        sv = sv[:, None, :]
    return np.transpose(sv[:, :, :-1], (0, 2, 1)), sv[:, :, -1]


def cover_is_consistent(ens: TreeEnsemble) -> bool:
    inner = np.flatnonzero(ens.left >= 0)
    return bool(np.allclose(ens.cover[inner], ens.cover[ens.left[inner]] + ens.cover[ens.right[inner]]))


def fit(cls, X, y, **params):
    params = {"iterations": 8, "depth": 3, "verbose": 0, "thread_count": 1, "random_seed": 0,
              "allow_writing_files": False, **params}
    if cls is cb.CatBoost:  # the base class takes its parameters as one dict
        return cls(params).fit(X, y)
    return cls(**params).fit(X, y)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    X[rng.random(X.shape) < 0.1] = np.nan  # missing values in training
    Xt = rng.normal(size=(60, 4))
    Xt[rng.random(Xt.shape) < 0.2] = np.nan  # and at predict time
    filled = np.nan_to_num(X)
    y = filled[:, 0] + 0.5 * filled[:, 1] ** 2 + rng.normal(scale=0.3, size=200)
    y3 = (filled[:, 0] > 0).astype(int) + (filled[:, 2] > 0.3).astype(int)
    return X, y, y3, Xt


@pytest.fixture(scope="module")
def regressor(data):
    X, y, _, _ = data
    return fit(cb.CatBoostRegressor, X, y)


@pytest.fixture(scope="module")
def binary(data):
    X, _, y3, _ = data
    return fit(cb.CatBoostClassifier, X, np.where(y3 > 0, "yes", "no"))


@pytest.fixture(scope="module")
def multiclass(data):
    X, _, y3, _ = data
    return fit(cb.CatBoostClassifier, X, y3, loss_function="MultiClass")


@pytest.fixture()
def dispatched(monkeypatch):
    """The parser registered for ``catboost.`` types, as the dispatch table will have it."""
    monkeypatch.setitem(trees_module._PARSERS, "catboost.", "xaikit.models._trees_catboost:from_catboost")


# ---------------------------------------------------------------- parsing and routing
def test_regressor_reproduces_raw_scores_with_missing_values(regressor, data):
    _, _, _, Xt = data
    ens = from_catboost(regressor)
    assert ens.library == "catboost.CatBoostRegressor" and ens.transform == "identity" and ens.output_names is None
    assert ens.n_trees == 8 and ens.max_depth == 3 and ens.n_features == 4
    assert not ens.strict and ens.input_float32
    assert np.isnan(Xt).any()
    np.testing.assert_allclose(ens.predict_raw(Xt), raw(regressor, Xt), **TOL)
    assert cover_is_consistent(ens)
    # root cover: every training row reaches every root
    np.testing.assert_allclose(ens.cover[ens.roots], 200.0)


@pytest.mark.parametrize(("nan_mode", "nan_left"), [("Min", True), ("Max", False), ("Forbidden", True)])
def test_nan_routed_as_catboost_does(data, nan_mode, nan_left):
    X, y, _, Xt = data
    train = np.nan_to_num(X) if nan_mode == "Forbidden" else X
    model = fit(cb.CatBoostRegressor, train, y, nan_mode=nan_mode)
    ens = from_catboost(model)
    inner = ens.left >= 0
    assert np.all(ens.missing_left[inner] == nan_left)
    all_nan = np.full((1, 4), np.nan)
    rows = np.vstack([Xt, all_nan])
    np.testing.assert_allclose(ens.predict_raw(rows), raw(model, rows), **TOL)


def test_values_on_and_next_to_borders_routed_in_float32(regressor):
    """Rows exactly on a border go left (CatBoost goes right iff float32(x) > border); a float64 value just
    above a border that rounds down to it in float32 goes left too; the next float32 goes right."""
    ens = from_catboost(regressor)
    inner = np.flatnonzero(ens.left >= 0)
    rows = []
    for node in inner:
        border = ens.threshold[node]
        up32 = float(np.nextafter(np.float32(border), np.float32(np.inf)))
        for v in (border, border + abs(border) * 1e-9, up32):
            row = np.zeros(4)
            row[ens.feature[node]] = v
            rows.append(row)
    rows = np.array(rows)
    np.testing.assert_allclose(ens.predict_raw(rows), raw(regressor, rows), **TOL)
    # rounding matters: without float32 rounding the middle rows would go right
    ens64 = TreeEnsemble(**{**ens.__dict__, "input_float32": False, "_depths": None})
    assert not np.allclose(ens64.predict_raw(rows), raw(regressor, rows), **TOL)


def test_binary_classifier_is_logistic_of_one_output(binary, data):
    _, _, _, Xt = data
    ens = from_catboost(binary)
    assert ens.transform == "logistic" and ens.n_outputs == 1 and ens.output_names == ["yes"]
    np.testing.assert_allclose(ens.predict_raw(Xt), raw(binary, Xt), **TOL)
    np.testing.assert_allclose(ens.predict(Xt)[:, 0], binary.predict_proba(Xt)[:, 1], **TOL)


def test_multiclass_classifier_is_softmax_of_one_output_per_class(multiclass, data):
    _, _, _, Xt = data
    ens = from_catboost(multiclass)
    assert ens.transform == "softmax" and ens.n_outputs == 3 and ens.output_names == ["0", "1", "2"]
    np.testing.assert_allclose(ens.predict_raw(Xt), raw(multiclass, Xt), **TOL)
    np.testing.assert_allclose(ens.predict(Xt), multiclass.predict_proba(Xt), **TOL)


@pytest.mark.parametrize("grow_policy", ["Depthwise", "Lossguide"])
def test_non_symmetric_trees(data, grow_policy):
    X, y, _, Xt = data
    model = fit(cb.CatBoostRegressor, X, y, grow_policy=grow_policy)
    ens = from_catboost(model)
    np.testing.assert_allclose(ens.predict_raw(Xt), raw(model, Xt), **TOL)
    assert cover_is_consistent(ens)


def test_base_class_by_loss_function(data):
    X, _, y3, Xt = data
    logloss = fit(cb.CatBoost, X, (y3 > 0).astype(int), loss_function="Logloss")
    poisson = fit(cb.CatBoost, X, y3.astype(float), loss_function="Poisson")
    ens = from_catboost(logloss)
    assert ens.transform == "logistic" and ens.output_names == ["1"] and ens.library == "catboost.CatBoost"
    np.testing.assert_allclose(ens.predict(Xt)[:, 0], logloss.predict(Xt, prediction_type="Probability")[:, 1], **TOL)
    ens = from_catboost(poisson)
    assert ens.transform == "exp"
    np.testing.assert_allclose(ens.predict(Xt)[:, 0], poisson.predict(Xt, prediction_type="Exponent"), **TOL)


# ---------------------------------------------------------------- refusals
@pytest.fixture(scope="module")
def colours():
    """A frame with a string and an integer categorical column (one-hot splits: few categories)."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    n = 240
    df = pd.DataFrame({"x": rng.normal(size=n), "colour": rng.choice(["red", "green", "blue", "teal"], n),
                       "grade": rng.integers(0, 3, n), "z": rng.normal(size=n)})
    y = df["x"] + 2.0 * (df["colour"] == "red") + (df["colour"] == "blue") + (df["grade"] == 2) + df["z"] * (df["colour"] == "teal")
    rows = df.iloc[:6].copy()
    rows.loc[rows.index[0], "colour"] = "purple"  # never seen in training: the side of "not equal" at every split
    return df, y, rows


@pytest.mark.parametrize("grow_policy", ["SymmetricTree", "Depthwise"])
def test_one_hot_categorical_splits_reproduce_raw_scores_and_enumeration(colours, grow_policy):
    df, y, rows = colours
    model = fit(cb.CatBoostRegressor, df, y, cat_features=["colour", "grade"], one_hot_max_size=8, grow_policy=grow_policy)
    ens = from_catboost(model)
    assert ens.categorical.any()
    codes = CategoryEncoder(model)(rows, "X")
    np.testing.assert_allclose(ens.predict_raw(codes), raw(model, rows), **TOL)
    path = xk.TreeShap(model).explain(rows)  # raw categories in, as CatBoost takes them
    inter = xk.TreeShap(model, background=df.iloc[40:52]).explain(rows.iloc[:3])
    bg = CategoryEncoder(model)(df.iloc[40:52], "background")
    for r in range(3):
        truth = ORACLE.shapley_by_enumeration(lambda S, r=r: ORACLE.path_game(ens, codes[r], S), 4)
        np.testing.assert_allclose(path.values[r], truth, rtol=0, atol=1e-10)
        truth = ORACLE.shapley_by_enumeration(lambda S, r=r: ORACLE.interventional_game(ens, codes[r], bg, S), 4)
        np.testing.assert_allclose(inter.values[r], truth, rtol=0, atol=1e-10)
    np.testing.assert_allclose(path.completeness(), raw(model, rows), rtol=0, atol=1e-10)
    if grow_policy == "SymmetricTree":  # CatBoost's own values (wrong for non-symmetric trees, see below)
        values, expected = catboost_shap(model, cb.Pool(rows, cat_features=["colour", "grade"]))
        np.testing.assert_allclose(path.values, values, rtol=0, atol=1e-9)
        np.testing.assert_allclose(path.base_values, expected, rtol=0, atol=1e-9)


def test_category_encoder_hashes_as_catboost_and_names_bad_columns(colours):
    df, y, _ = colours
    model = fit(cb.CatBoostRegressor, df, y, cat_features=["colour", "grade"], one_hot_max_size=8)
    encoder = CategoryEncoder(model)
    # every value the splits compare with is found by its own category, and nothing else maps to it
    codes = encoder(df, "X")
    for j, column in ((1, "colour"), (2, "grade")):
        seen = {v: c for v, c in zip(df[column], codes[:, j])}
        assert len(set(seen.values())) == len(seen) or len(encoder.values[j]) < len(seen)
        assert set(seen.values()) <= set(range(len(encoder.values[j]) + 1))
    np.testing.assert_array_equal(encoder(df.to_numpy(dtype=object), "X"), codes)  # rows as an object array
    bad = df.iloc[:2].copy()
    bad["x"] = ["a", "b"]
    with pytest.raises(InvalidParameterError, match="expected numbers in column 'x'"):
        xk.TreeShap(model).explain(bad)


def test_ctr_split_refused_by_name():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(4)
    levels = [f"c{i}" for i in range(12)]
    df = pd.DataFrame({"x": rng.normal(size=200), "city": rng.choice(levels, 200)})
    y = df["x"] + df["city"].map({c: i % 3 for i, c in enumerate(levels)})
    model = fit(cb.CatBoostRegressor, df, y, cat_features=["city"], one_hot_max_size=2)
    with pytest.raises(UnsupportedModelError, match=r"target statistics \(ctr\) of categorical feature\(s\) 'city'"):
        from_catboost(model)


def test_unsupported_loss_and_unfitted_model_refused(data):
    X, y, _, _ = data
    model = fit(cb.CatBoostRegressor, X, y, loss_function="RMSEWithUncertainty", iterations=2)
    with pytest.raises(UnsupportedModelError, match="got loss_function 'RMSEWithUncertainty'"):
        from_catboost(model)
    with pytest.raises(InvalidParameterError, match="expected a fitted CatBoostRegressor"):
        from_catboost(cb.CatBoostRegressor())
    with pytest.raises(UnsupportedModelError, match="expected a CatBoost"):
        from_catboost(object())


# ---------------------------------------------------------------- TreeShap
@pytest.mark.parametrize("which", ["regressor", "binary", "multiclass"])
def test_path_dependent_equals_catboost_shap_values(which, data, request):
    model = request.getfixturevalue(which)
    _, _, _, Xt = data
    exp = xk.TreeShap(from_catboost(model)).explain(Xt)
    values, expected = catboost_shap(model, Xt)
    scale = np.abs(values).max()
    np.testing.assert_allclose(exp.values, values, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(exp.base_values, expected, rtol=0, atol=1e-9 * scale)
    # additivity to the model's own raw score, row by row
    np.testing.assert_allclose(exp.completeness(), raw(model, Xt), rtol=0, atol=1e-10)


def test_path_dependent_on_non_symmetric_trees_equals_enumeration(data):
    """Depthwise trees: checked against exact enumeration of the path-dependent game (CatBoost 1.2's own
    ShapValues for non-symmetric ensembles of several trees do not add up to its raw score)."""
    X, y, _, Xt = data
    model = fit(cb.CatBoostRegressor, X, y, grow_policy="Depthwise", iterations=3)
    ens = from_catboost(model)
    rows = Xt[:4]
    exp = xk.TreeShap(ens).explain(rows)
    for r in range(rows.shape[0]):
        truth = ORACLE.shapley_by_enumeration(lambda S, r=r: ORACLE.path_game(ens, rows[r], S), 4)
        np.testing.assert_allclose(exp.values[r], truth, rtol=0, atol=1e-10)
    np.testing.assert_allclose(exp.completeness(), raw(model, rows), rtol=0, atol=1e-10)


@pytest.mark.parametrize("which", ["regressor", "multiclass"])
def test_interventional_equals_enumeration(which, data, request):
    model = request.getfixturevalue(which)
    X, _, _, Xt = data
    ens = from_catboost(model)
    bg, rows = X[:9], Xt[:4]
    exp = xk.TreeShap(ens, background=bg).explain(rows)
    for r in range(rows.shape[0]):
        truth = ORACLE.shapley_by_enumeration(lambda S, r=r: ORACLE.interventional_game(ens, rows[r], bg, S), 4)
        np.testing.assert_allclose(exp.values[r], truth, rtol=0, atol=1e-10)
    np.testing.assert_allclose(exp.completeness(), raw(model, rows), rtol=0, atol=1e-10)
    np.testing.assert_allclose(exp.base_values[0], raw(model, bg).mean(axis=0), rtol=0, atol=1e-10)


def test_tree_shap_and_explain_route_to_the_parser(dispatched, regressor, multiclass, data):
    _, _, _, Xt = data
    exp = xk.TreeShap(regressor).explain(Xt[:5])
    np.testing.assert_allclose(exp.values[:, :, 0], catboost_shap(regressor, Xt[:5])[0][:, :, 0], atol=1e-9)
    auto = xk.explain(multiclass, Xt[:5])
    assert auto.method == "tree_shap"
    np.testing.assert_allclose(auto.values, catboost_shap(multiclass, Xt[:5])[0], atol=1e-9)
    np.testing.assert_allclose(auto.completeness(), raw(multiclass, Xt[:5]), atol=1e-10)
    assert trees_module.is_tree_model(regressor)
