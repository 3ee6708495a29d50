"""One classifier, every route ``xk.explain`` can take, the same game.

A HistGradientBoostingClassifier on six features, two of them categorical, is fitted twice on the
same data: on category codes (``categorical_features=[...]``, numeric input) and on pandas
``category`` columns (``categorical_features="from_dtype"``, whose preprocessor moves the
categorical columns first). For one ``output`` every route (TreeShap on either model, exact
enumeration, the sampled estimators) must hold the Shapley values of the same game: equal to 1e-8
where exact, within four reported standard errors where sampled, and say so in
``diagnostics["value_definition"]``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import ApproximationWarning, XaikitWarning

pytestmark = pytest.mark.oracle

pd = pytest.importorskip("pandas")
ensemble = pytest.importorskip("sklearn.ensemble")

LEVELS = (["blue", "green", "red"], ["a", "b", "c", "d"])  # sorted: codes = positions


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(11)
    n = 600
    num = rng.normal(size=(n, 4))
    c1 = rng.integers(0, 3, n)
    c2 = rng.integers(0, 4, n)
    logit = num[:, 0] + 1.2 * (c1 == 2) - 0.8 * (c2 == 1) + 0.7 * num[:, 1] * num[:, 2] + 0.3 * rng.normal(size=n)
    y = np.where(logit > 0.2, "yes", "no")
    codes = np.column_stack([num[:, 0], c1, num[:, 1], c2, num[:, 2], num[:, 3]]).astype(float)
    frame = pd.DataFrame({
        "x0": num[:, 0], "colour": pd.Categorical(np.array(LEVELS[0])[c1]), "x1": num[:, 1],
        "grade": pd.Categorical(np.array(LEVELS[1])[c2]), "x2": num[:, 2], "x3": num[:, 3],
    })
    params = {"max_iter": 25, "max_depth": 4, "learning_rate": 0.3, "random_state": 0}
    by_codes = ensemble.HistGradientBoostingClassifier(categorical_features=[1, 3], **params).fit(codes, y)
    by_dtype = ensemble.HistGradientBoostingClassifier(categorical_features="from_dtype", **params).fit(frame, y)
    # the two fits see the same ordinal codes: the same model
    np.testing.assert_allclose(by_codes.predict_proba(codes), by_dtype.predict_proba(frame), rtol=0, atol=1e-12)
    rows, bg = slice(0, 6), slice(100, 112)
    return {"codes": by_codes, "dtype": by_dtype, "X": codes[rows], "bg": codes[bg], "F": frame.iloc[rows],
            "Fbg": frame.iloc[bg]}


def _same_game(*results) -> None:
    definitions = [r.diagnostics["value_definition"] for r in results]
    for d in definitions:
        assert (d["output"], d["value_function"], d["background_rows"], d["rescaled"]) == (
            definitions[0]["output"], "interventional", 12, False), definitions


def _within_std_err(sampled, exact) -> None:
    se = sampled.diagnostics["std_err"]
    assert sampled.diagnostics["value_definition"]["estimate"] == "sampled"
    assert np.all(se > 0)
    np.testing.assert_array_less(np.abs(sampled.values - exact.values), 4 * se + 1e-9)


def test_log_odds_by_every_route(fitted) -> None:
    m_codes, m_dtype = fitted["codes"], fitted["dtype"]
    X, bg, F, Fbg = fitted["X"], fitted["bg"], fitted["F"], fitted["Fbg"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", XaikitWarning)  # the default routes are TreeShap, without a warning
        tree_codes = xk.explain(m_codes, X, background=bg)
        tree_dtype = xk.explain(m_dtype, F, background=Fbg)
    assert tree_codes.method == tree_dtype.method == "tree_shap"
    assert tree_codes.output_names == tree_dtype.output_names == ["yes"]  # the positive class
    exact_codes = xk.explain(m_codes, X, background=bg, method="exact_shapley", output="log_odds")
    exact_dtype = xk.explain(m_dtype, F, background=Fbg, method="exact_shapley", output="log_odds")
    assert exact_dtype.output_names == ["yes"]
    for other in (tree_dtype, exact_codes, exact_dtype):
        np.testing.assert_allclose(other.values, tree_codes.values, rtol=0, atol=1e-8)
        np.testing.assert_allclose(other.base_values, tree_codes.base_values, rtol=0, atol=1e-8)
    sampled = [
        xk.explain(m_dtype, F, background=Fbg, method=method, output="log_odds", n_samples=40, random_state=3)
        for method in ("kernel_shap", "leverage_shap", "permutation_shap")
    ]
    for s in sampled:
        _within_std_err(s, tree_codes)
    _same_game(tree_codes, tree_dtype, exact_codes, exact_dtype, *sampled)
    assert {r.diagnostics["value_definition"]["output"] for r in (tree_codes, exact_dtype, *sampled)} == {"log_odds"}


def test_probability_by_every_route(fitted) -> None:
    m_codes, m_dtype = fitted["codes"], fitted["dtype"]
    X, bg, F, Fbg = fitted["X"], fitted["bg"], fitted["F"], fitted["Fbg"]
    with pytest.raises(xk.errors.InvalidParameterError, match="^output:"):
        xk.TreeShap(m_codes, background=bg, output="probability")  # not the probability game: refused
    with pytest.warns(XaikitWarning, match="not additive") as record:  # exact enumeration: 62 coalitions
        exact = xk.explain(m_codes, X, background=bg, output="probability")
    assert exact.method == "exact_shapley" and "6 rows x 62 coalitions x 12 background rows" in str(record[0].message)
    with pytest.warns(ApproximationWarning, match="not additive"):  # a budget below 62: sampled, with a warning
        sampled = xk.explain(m_dtype, F, background=Fbg, output="probability", n_samples=40, random_state=5)
    assert sampled.method != "exact_shapley"
    _within_std_err(sampled, exact)
    np.testing.assert_allclose(exact.completeness(), m_codes.predict_proba(X), atol=1e-10)
    _same_game(exact, sampled)
    assert exact.diagnostics["value_definition"]["output"] == "probability"
    # shap's convention is its own output, and says it is not this game
    rescaled = xk.TreeShap(m_codes, background=bg, output="probability_rescaled").explain(X)
    assert rescaled.diagnostics["value_definition"]["rescaled"] is True
    assert "not the Shapley values" in rescaled.diagnostics["value_definition"]["text"]
    assert np.abs(rescaled.values - exact.values).max() > 1e-4  # a different game, not a rounding
