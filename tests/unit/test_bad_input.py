"""Bad input at the public boundary: every mistake gives a XaikitError naming what is wrong."""

from __future__ import annotations

import contextlib
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

import xaikit as xk

D = 3


@contextlib.contextmanager
def raises(error: type, name: str, *fragments: str):
    """``error`` (a XaikitError) whose message starts with ``name:`` and contains ``fragments``."""
    with pytest.raises(error) as info:
        yield info
    assert isinstance(info.value, xk.XaikitError)
    msg = str(info.value)
    assert msg.startswith(f"{name}:"), msg
    for frag in fragments:
        assert frag in msg, (frag, msg)


def raises_param(name: str, *fragments: str):
    return raises(xk.InvalidParameterError, name, *fragments)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, D))
    y = (X[:, 0] - X[:, 1] + 0.3 * rng.normal(size=120) > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def logreg(data):
    X, y = data
    return LogisticRegression().fit(X, y)


def linear(X):
    return np.asarray(X, dtype=float) @ np.arange(1.0, D + 1.0)


EXPLAINERS = [xk.ExactShapley, xk.KernelShap, xk.PermutationShap]


# ---------------------------------------------------------------- missing and infinite values
class TestMissingValues:
    @pytest.mark.parametrize("cls", EXPLAINERS)
    def test_nan_in_x_with_model_that_cannot_take_it(self, data, logreg, cls):
        X, _ = data
        Xn = X[:3].copy()
        Xn[1, 2] = np.nan
        with raises_param("X", "NaN", "(1, 2)", "impute"):
            cls(logreg, background=X[:10]).explain(Xn, random_state=0)

    def test_nan_in_background_with_model_that_cannot_take_it(self, data, logreg):
        X, _ = data
        bg = X[:10].copy()
        bg[4, 0] = np.nan
        with raises_param("background", "NaN", "(4, 0)"):
            xk.ExactShapley(logreg, background=bg).explain(X[:2])

    def test_nan_in_dataframe_x(self, data, logreg):
        X, y = data
        cols = ["a", "b", "c"]
        clf = LogisticRegression().fit(pd.DataFrame(X, columns=cols), y)
        Xn = pd.DataFrame(X[:2].copy(), columns=cols)  # its own rows: the fixture is shared
        Xn.loc[0, "b"] = np.nan
        with raises_param("X", "NaN"):
            xk.ExactShapley(clf, background=pd.DataFrame(X[:10], columns=cols)).explain(Xn)

    def test_nan_with_model_that_accepts_it(self, data):
        X, y = data
        Xtrain = X.copy()
        Xtrain[::7, 1] = np.nan
        hgb = HistGradientBoostingClassifier(max_iter=15, random_state=0).fit(Xtrain, y)
        bg = Xtrain[:14]  # holds NaN too
        Xn = X[50:53].copy()
        Xn[0, 1] = np.nan
        Xn[2, 0] = np.nan
        exp = xk.ExactShapley(hgb, background=bg).explain(Xn)
        expected_base = hgb.predict_proba(bg).mean(axis=0)
        np.testing.assert_allclose(exp.base_values, np.tile(expected_base, (3, 1)), atol=1e-12)
        np.testing.assert_allclose(exp.values.sum(axis=1) + exp.base_values, hgb.predict_proba(Xn), atol=1e-10)
        assert np.isfinite(exp.values).all()

    @pytest.mark.parametrize("value", [np.inf, -np.inf])
    def test_infinity_in_x(self, data, logreg, value):
        X, _ = data
        Xi = X[:2].copy()
        Xi[1, 0] = value
        with raises_param("X", "infinite"):
            xk.KernelShap(logreg, background=X[:10]).explain(Xi)

    def test_infinity_in_background(self, data, logreg):
        X, _ = data
        bg = X[:10].copy()
        bg[2, 2] = np.inf
        with raises_param("background", "infinite"):
            xk.KernelShap(logreg, background=bg)

    def test_infinity_in_dataframe_x(self):
        bg = pd.DataFrame({"a": [1.0, 2.0], "s": ["u", "v"]})
        f = lambda df: df["a"].to_numpy()  # noqa: E731
        with raises_param("X", "infinity"):
            xk.ExactShapley(f, background=bg).explain(pd.DataFrame({"a": [np.inf], "s": ["u"]}))


# ---------------------------------------------------------------- shapes and columns
class TestShapes:
    @pytest.mark.parametrize("cls", EXPLAINERS)
    def test_wrong_number_of_features(self, data, logreg, cls):
        X, _ = data
        with raises_param("X", "expected 3 features", "got 2"):
            cls(logreg, background=X[:10]).explain(X[:2, :2])
        with raises_param("X", "expected 3 features", "got 5"):
            cls(linear, background=X[:10]).explain(np.zeros((2, 5)))

    def test_wrong_column_names(self):
        bg = pd.DataFrame({"age": [30.0, 40.0], "income": [1.0, 2.0], "city": ["a", "b"]})
        f = lambda df: df["age"].to_numpy()  # noqa: E731
        X = pd.DataFrame({"age": [35.0], "salary": [1.5], "city": ["a"]})
        with raises_param("X", "missing: ['income']", "unexpected: ['salary']"):
            xk.ExactShapley(f, background=bg).explain(X)

    def test_numpy_x_for_string_background(self):
        bg = pd.DataFrame({"age": [30.0, 40.0], "city": ["a", "b"]})
        with raises_param("X", "DataFrame"):
            xk.ExactShapley(lambda df: df["age"].to_numpy(), background=bg).explain(np.zeros((1, 2)))

    def test_unknown_string_in_x(self):
        bg = pd.DataFrame({"age": [30.0, 40.0], "city": ["a", "b"]})
        f = lambda df: df["age"].to_numpy()  # noqa: E731
        # a new string value is accepted (the codec is extended) ...
        exp = xk.ExactShapley(f, background=bg).explain(pd.DataFrame({"age": [50.0], "city": ["zz"]}))
        np.testing.assert_allclose(exp.values[0, :, 0], [50.0 - 35.0, 0.0])

    def test_empty_x(self, data, logreg):
        X, _ = data
        with raises_param("X", "at least 1 row"):
            xk.KernelShap(logreg, background=X[:10]).explain(np.zeros((0, D)))

    @pytest.mark.parametrize("bad", ["abc", [["a", "b", "c"]], [[1.0, 2.0], [3.0]]])
    def test_non_numeric_x(self, data, bad):
        X, _ = data
        with raises_param("X", "numeric"):
            xk.ExactShapley(linear, background=X[:5]).explain(bad)

    def test_empty_background(self, data, logreg):
        X, _ = data
        with raises_param("background", "at least 1 row"):
            xk.KernelShap(logreg, background=X[:0])
        with raises_param("background", "at least 1 row"):
            xk.explain(logreg, X[:2], background=pd.DataFrame({"a": [], "b": [], "c": []}))

    def test_missing_background(self, data, logreg):
        X, _ = data
        with raises_param("background", "None"):
            xk.KernelShap(logreg)
        with raises_param("background", "None"):
            xk.explain(logreg, X[:2], background=None)
        with raises_param("background"):
            xk.explain(logreg, X[:2])

    def test_masker_and_background_together(self, data, logreg):
        X, _ = data
        with raises_param("masker", "not both"):
            xk.KernelShap(logreg, background=X[:5], masker=xk.TabularMasker(X[:5]))
        with raises_param("masker", "TabularMasker"):
            xk.KernelShap(logreg, masker=X[:5])

    def test_explain_auto_accepts_a_single_row(self, data):
        X, _ = data
        exp = xk.explain(linear, X[0], background=X[:5])
        direct = xk.ExactShapley(linear, background=X[:5]).explain(X[0])
        np.testing.assert_array_equal(exp.values, direct.values)

    @pytest.mark.parametrize("bad", [None, 5.0])
    def test_explain_auto_rejects_non_arrays(self, data, bad):
        X, _ = data
        with raises_param("X"):
            xk.explain(linear, bad, background=X[:5])


# ---------------------------------------------------------------- the model's outputs
def _nan_model(X):
    return np.full(len(X), np.nan)


def _short_model(X):
    return np.zeros(len(X) - 1)


def _string_model(X):
    return np.array(["yes"] * len(X))


def _cube_model(X):
    return np.zeros((len(X), 1, 2))


class TestModelOutput:
    @pytest.mark.parametrize("cls", EXPLAINERS)
    @pytest.mark.parametrize(
        "model, fragment",
        [(_nan_model, "NaN or infinite"), (_short_model, "shape (1,)"), (_string_model, "<U3"), (_cube_model, "shape (2, 1, 2)")],
    )
    def test_bad_output(self, data, cls, model, fragment):
        X, _ = data
        with pytest.raises(xk.ModelOutputError) as info:
            cls(model, background=X[:5]).explain(X[:2], random_state=0)
        assert isinstance(info.value, xk.XaikitError)
        msg = str(info.value)
        assert fragment in msg and model.__name__ in msg

    def test_nan_only_on_hybrid_rows(self):
        # finite on the explained row and on the background, NaN once they are mixed
        def f(X):
            X = np.asarray(X)
            return np.where((X[:, 0] > 0.5) & (X[:, 1] < 0.5), np.nan, X.sum(axis=1))

        with pytest.raises(xk.ModelOutputError, match="NaN or infinite"):
            xk.ExactShapley(f, background=np.zeros((2, 2))).explain(np.ones((1, 2)))

    @pytest.mark.filterwarnings("error")
    def test_finite_check_of_outputs(self):
        from xaikit.models.base import check_model_output

        # finite values whose sum overflows are fine, and say nothing
        np.testing.assert_array_equal(check_model_output(np.full(3, 1e308), 3)[:, 0], np.full(3, 1e308))
        for bad in ([1.0, np.nan, 2.0], [np.inf, -np.inf, 0.0], [1e308, 1e308, -np.inf]):
            with pytest.raises(xk.ModelOutputError, match="NaN or infinite"):
                check_model_output(np.array(bad), 3)

    def test_output_count_changing(self):
        calls = []

        def f(X):
            calls.append(1)
            return np.ones((len(X), 1 if len(calls) == 1 else 2))

        with pytest.raises(xk.ModelOutputError, match="must not change"):
            xk.ExactShapley(f, background=np.zeros((2, 2))).explain(np.ones((1, 2)))

    def test_log_odds_of_pure_probabilities(self, data):
        from sklearn.tree import DecisionTreeClassifier

        X, y = data
        tree = DecisionTreeClassifier(random_state=0).fit(X, y)
        with pytest.raises(xk.ModelOutputError, match="exactly 0 or 1"):
            xk.ExactShapley(tree, background=X[:5], output="log_odds").explain(X[:2])


# ---------------------------------------------------------------- budgets and tolerances
class TestBudget:
    @pytest.mark.parametrize("d", [3, 5, 8])
    def test_kernel_shap_below_minimum(self, d):
        f = lambda X: X.sum(axis=1)  # noqa: E731
        explainer = xk.KernelShap(f, background=np.zeros((2, d)))
        # below 2 (d - 1) the regression cannot be determined: always rejected
        with raises_param("n_samples", "at least", f"for {d} features", f"got {2 * (d - 1) - 1}") as info:
            explainer.explain(np.ones((1, d)), n_samples=2 * (d - 1) - 1)
        minimum = int(re.search(r"at least (\d+)", str(info.value)).group(1))
        assert 2 * (d - 1) <= minimum <= min(2**d - 2, 2 * d)
        # the stated minimum is the boundary: one less is rejected, the minimum accepted
        with raises_param("n_samples", f"at least {minimum}", f"got {minimum - 1}"):
            explainer.explain(np.ones((1, d)), n_samples=minimum - 1)
        exp = explainer.explain(np.ones((1, d)), n_samples=minimum, random_state=0)
        np.testing.assert_allclose(exp.values[0, :, 0], np.ones(d), atol=1e-9)

    def test_permutation_shap_below_minimum(self):
        with raises_param("n_samples", "at least 8", "got 7"):
            xk.PermutationShap(linear, background=np.zeros((1, 5))).explain(np.ones((1, 5)), n_samples=7)

    @pytest.mark.parametrize("cls", EXPLAINERS)
    @pytest.mark.parametrize("bad, fragment", [(0, ">= 1"), (-5, ">= 1"), (10.0, "integer"), ("100", "integer"), (True, "integer"), (None, None)])
    def test_invalid_n_samples(self, data, cls, bad, fragment):
        X, _ = data
        explainer = cls(linear, background=X[:5])
        if bad is None:  # the default budget is valid
            exp = explainer.explain(X[:1], n_samples=bad, random_state=0)
            np.testing.assert_allclose(exp.values.sum(axis=1) + exp.base_values, linear(X[:1])[:, None], atol=1e-9)
            return
        with raises_param("n_samples", fragment, repr(bad)):
            explainer.explain(X[:1], n_samples=bad)

    @pytest.mark.parametrize("bad", [0, 0.0, -0.1, np.nan, np.inf, "0.1", True])
    def test_invalid_tol(self, data, bad):
        X, _ = data
        with raises_param("tol"):
            xk.KernelShap(linear, background=X[:5]).explain(X[:1], tol=bad)

    def test_exact_shapley_takes_no_tol(self, data):
        X, _ = data
        with raises_param("tol", "ExactShapley", "0.01"):
            xk.ExactShapley(linear, background=X[:5]).explain(X[:1], tol=0.01)

    def test_exact_shapley_too_many_features(self):
        d = 25
        with raises_param("X", "at most 24", "got 25"):
            xk.ExactShapley(lambda X: X[:, 0], background=np.zeros((1, d))).explain(np.zeros((1, d)))

    def test_exact_shapley_counts_groups_not_features(self):
        # 27 features in 25 players: rejected, and the message counts players
        with raises_param("X", "at most 24", "got 25"):
            xk.ExactShapley(lambda X: X[:, 0], background=np.zeros((1, 27)), groups={"g": [0, 1, 2]}).explain(
                np.zeros((1, 27))
            )
        # 30 features in 3 players: accepted
        groups = {"a": list(range(0, 10)), "b": list(range(10, 20)), "c": list(range(20, 30))}
        exp = xk.ExactShapley(lambda X: X[:, 0] + 2 * X[:, 15], background=np.zeros((1, 30)), groups=groups).explain(
            np.ones((1, 30))
        )
        np.testing.assert_allclose(exp.values[0, :, 0], [1.0, 2.0, 0.0], atol=1e-12)

    @pytest.mark.parametrize("bad", [0, -1, 1.5, "big"])
    def test_invalid_batch_size(self, data, bad):
        X, _ = data
        with raises_param("batch_size"):
            xk.ExactShapley(linear, background=X[:5]).explain(X[:1], batch_size=bad)


# ---------------------------------------------------------------- seeds, targets, executor
class TestOtherParameters:
    @pytest.mark.parametrize("bad, fragment", [(-1, "non-negative"), ("seed", "Generator"), (2.5, "Generator"), (True, "Generator")])
    def test_invalid_random_state(self, data, bad, fragment):
        X, _ = data
        with raises_param("random_state", fragment):
            xk.KernelShap(linear, background=X[:5]).explain(X[:1], random_state=bad)

    @pytest.mark.parametrize("bad", [2, -3, 1.0, True, [0, 5]])
    def test_target_out_of_range(self, data, logreg, bad):
        X, _ = data
        with raises_param("target", "[-2, 2)", "'0'", "'1'"):
            xk.ExactShapley(logreg, background=X[:5]).explain(X[:1], target=bad)

    def test_target_unknown_name(self, data, logreg):
        X, _ = data
        with raises_param("target", "'yes'", "['0', '1']"):
            xk.ExactShapley(logreg, background=X[:5]).explain(X[:1], target="yes")

    def test_valid_targets(self, data, logreg):
        X, _ = data
        explainer = xk.ExactShapley(logreg, background=X[:5])
        full = explainer.explain(X[:2])
        by_name = explainer.explain(X[:2], target="1")
        by_negative = explainer.explain(X[:2], target=-1)
        assert by_name.output_names == by_negative.output_names == ["1"]
        np.testing.assert_array_equal(by_name.values[:, :, 0], full.values[:, :, 1])
        np.testing.assert_array_equal(by_negative.values, by_name.values)

    @pytest.mark.parametrize("bad", ["thread", "processes:x", 4])
    def test_invalid_executor(self, data, bad):
        X, _ = data
        with raises_param("executor"):
            xk.ExactShapley(linear, background=X[:5]).explain(X[:1], executor=bad)

    def test_invalid_output(self, data, logreg):
        X, _ = data
        with raises_param("output", "'logit'"):
            xk.ExactShapley(logreg, background=X[:5], output="logit")
        with raises_param("output", "regressor"):
            from sklearn.linear_model import Ridge

            xk.ExactShapley(Ridge().fit(X, X[:, 0]), background=X[:5], output="probability")

    def test_unsupported_model(self, data):
        X, _ = data
        with raises(xk.UnsupportedModelError, "model"):
            xk.ExactShapley("not a model", background=X[:5])
        with raises(xk.UnsupportedModelError, "model"):
            xk.explain(object(), X[:1], background=X[:5])


# ---------------------------------------------------------------- xk.explain
class TestExplainFunction:
    def test_unknown_method_lists_methods(self, data):
        X, _ = data
        with raises_param("method", "'nope'", "'exact_shapley'", "'kernel_shap'", "'permutation_shap'", "'leverage_shap'"):
            xk.explain(linear, X[:1], method="nope", background=X[:5])

    @pytest.mark.parametrize("method", ["auto", "kernel_shap", "exact_shapley"])
    def test_unknown_keyword_named(self, data, method):
        X, _ = data
        with raises_param("n_sample", "not a parameter", "n_samples", "background"):
            xk.explain(linear, X[:1], method=method, background=X[:5], n_sample=10)

    def test_unknown_keyword_is_named_before_anything_runs(self, data):
        X, _ = data
        calls = []

        def f(X):
            calls.append(len(X))
            return linear(X)

        with raises_param("colour"):
            xk.explain(f, X[:1], method="kernel_shap", background=X[:5], colour="red")
        assert calls == []

    def test_errors_pass_through_explain(self, data, logreg):
        X, _ = data
        with raises_param("n_samples", "at least"):
            xk.explain(logreg, X[:1], method="kernel_shap", background=X[:5], n_samples=3)
        with raises_param("tol"):
            xk.explain(logreg, X[:1], method="kernel_shap", background=X[:5], tol=-1.0)
        with raises_param("random_state"):
            xk.explain(logreg, X[:1], method="permutation_shap", background=X[:5], random_state="x")
        with raises_param("target"):
            xk.explain(logreg, X[:1], background=X[:5], target=7)
        with raises_param("X", "expected 3 features"):
            xk.explain(logreg, X[:1, :2], method="kernel_shap", background=X[:5])

    def test_all_errors_are_xaikit_errors(self):
        for cls in (xk.InvalidParameterError, xk.UnsupportedModelError, xk.ModelOutputError,
                    xk.MissingDependencyError, xk.CompletenessError, xk.FormatError):
            assert issubclass(cls, xk.XaikitError)
        assert issubclass(xk.InvalidParameterError, ValueError)
        assert issubclass(xk.ModelOutputError, ValueError)
        assert issubclass(xk.UnsupportedModelError, TypeError)
