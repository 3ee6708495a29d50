"""Tests of tabular LIME: the surrogate on models with known local coefficients, the masker's
neighbourhood sampling, determinism across seeds, executors and batch sizes, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.explainers.surrogate.lime import lime_kernel, select_features, weighted_ridge
from xaikit.maskers.discretize import BinnedFeature, Discretizer
from xaikit.testing import assert_raises_naming

sklearn_linear = pytest.importorskip("sklearn.linear_model")

COEF = np.array([3.0, -2.0, 1.0, 0.25])


def _data(n: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)) * np.array([1.0, 2.0, 0.5, 3.0]) + np.array([0.0, 1.0, -2.0, 5.0])


def _linear(X: np.ndarray) -> np.ndarray:
    return 0.5 + np.asarray(X) @ COEF


def _logistic() -> tuple[object, np.ndarray]:
    X = _data(600)
    std = X.std(axis=0)
    logits = (X - X.mean(axis=0)) @ (np.array([2.0, -1.2, 0.6, 0.2]) / std)
    y = (logits + np.random.default_rng(1).logistic(size=len(X)) > 0).astype(int)
    return sklearn_linear.LogisticRegression(C=100.0, max_iter=2000).fit(X, y), X


# ---------------------------------------------------------------- known local coefficients
class TestLinearRecovery:
    def test_linear_regressor_closed_form(self):
        """Without bins a sample is ``mean + std * z`` and the interpretable feature is ``z``, so a
        linear model ``b + c.x`` is exactly ``const + sum_j (c_j std_j) z_j``: the surrogate's
        coefficient is ``c_j * std_j``. The only error is the ridge shrinkage ``(G + alpha I)^-1 G``,
        of relative size at most ``alpha / lambda_min(G)`` with ``G`` the weighted centred Gram matrix.
        For a row at the training mean, ``z ~ N(0, I_d)`` and kernel width ``w``,
        ``E[weight] = (1 + 1/w^2)^(-d/2)`` and the weighted variance of each ``z_j`` is ``w^2 / (1 + w^2)``
        (product of Gaussians), so ``lambda_min ~ n * E[weight] * w^2 / (1 + w^2)``; we allow twice that
        bound for the sampling fluctuation of ``lambda_min``."""
        X = _data()
        n, alpha = 5000, 1.0
        x = X.mean(axis=0, keepdims=True)
        exp = xk.Lime(_linear, masker=xk.TabularMasker(X), feature_selection="none", alpha=alpha).explain(
            x, n_samples=n, random_state=0
        )
        truth = COEF * X.std(axis=0)
        d, w = 4, 0.75 * np.sqrt(4)
        lam = n * (1 + 1 / w**2) ** (-d / 2) * w**2 / (1 + w**2)
        rtol = 2 * alpha / lam
        np.testing.assert_allclose(exp.values[0, :, 0], truth, rtol=rtol)
        assert not np.allclose(exp.values[0, :, 0], truth, rtol=1e-6)  # shrinkage is there
        # the intercept plus the surrogate at x reproduce f(x)
        assert exp.diagnostics["local_prediction"][0, 0] == pytest.approx(_linear(x)[0], rel=1e-3)
        assert exp.diagnostics["local_fidelity"][0, 0] > 0.999

    def test_no_ridge_is_exact(self):
        X = _data()
        exp = xk.Lime(_linear, masker=xk.TabularMasker(X), alpha=0.0).explain(X[:3], n_samples=300, random_state=1)
        np.testing.assert_allclose(exp.values[:, :, 0], np.tile(COEF * X.std(axis=0), (3, 1)), rtol=1e-9)
        np.testing.assert_allclose(exp.diagnostics["std_err"], 0.0, atol=1e-9)

    def test_logistic_signs_and_ranking(self):
        model, X = _logistic()
        p = model.predict_proba(X)[:, 1]
        rows = X[np.argsort(np.abs(p - 0.5))[:5]]  # near the boundary, where the slope is not flat
        exp = xk.Lime(model, masker=xk.TabularMasker(X), feature_selection="none").explain(
            rows, target=1, n_samples=5000, random_state=0
        )
        truth = model.coef_[0] * X.std(axis=0)
        for i in range(len(rows)):
            got = exp.values[i, :, 0]
            assert np.array_equal(np.sign(got), np.sign(truth)), (got, truth)
            assert np.argsort(-np.abs(got)).tolist() == np.argsort(-np.abs(truth)).tolist(), (got, truth)
            assert np.all(exp.diagnostics["std_err"][i, :, 0] < np.abs(got) / 5)

    def test_two_classes_mirror(self):
        model, X = _logistic()
        exp = xk.Lime(model, masker=xk.TabularMasker(X)).explain(X[:2], n_samples=500, random_state=0)
        assert exp.values.shape == (2, 4, 2)
        np.testing.assert_allclose(exp.values[:, :, 0], -exp.values[:, :, 1], atol=1e-9)


# ---------------------------------------------------------------- the masker's neighbourhood
class TestNeighbourhood:
    def test_defaults_change_nothing(self):
        masker = xk.TabularMasker(_data())
        assert masker.neighbourhood.discretize is None and masker.neighbourhood.categorical_features == []
        assert "discretize" not in masker.summary()

    def test_quartile_indicators(self):
        X = _data()
        masker = xk.TabularMasker(X, discretize="quartile")
        x = X[7]
        S, Z = masker.neighbourhood.sample(x, 2000, np.random.default_rng(0))
        assert np.array_equal(Z[0], x) and np.all(S[0] == 1)
        for j in range(4):
            feat = masker.neighbourhood.discretizer.features[j]
            assert np.array_equal(S[:, j] == 1, feat.bin_of(Z[:, j]) == feat.bin_of(x[j]))
            # bins drawn with the training frequencies (quartiles: 1/4 each)
            share = np.bincount(feat.bin_of(Z[1:, j]), minlength=4) / 1999
            np.testing.assert_allclose(share, 0.25, atol=0.04)
            assert Z[:, j].min() >= X[:, j].min() and Z[:, j].max() <= X[:, j].max()

    def test_continuous_standardised(self):
        X = _data()
        masker = xk.TabularMasker(X)
        S, Z = masker.neighbourhood.sample(X[0], 4000, np.random.default_rng(0))
        np.testing.assert_allclose(S, (Z - X.mean(axis=0)) / X.std(axis=0), atol=1e-12)
        assert np.all(np.abs(Z[1:].mean(axis=0) - X.mean(axis=0)) < 4 * X.std(axis=0) / np.sqrt(4000))

    def test_frame_categories_named(self):
        pd = pytest.importorskip("pandas")
        rng = np.random.default_rng(0)
        df = pd.DataFrame({"age": rng.normal(40, 10, 300), "sex": rng.choice(["Female", "Male"], 300, p=[0.3, 0.7])})
        masker = xk.TabularMasker(df, discretize="quartile")
        assert masker.neighbourhood.categorical_features == [1]
        x = masker.encode(df.iloc[[0]])[0][0]
        names = masker.neighbourhood.interpretable_names(x)
        assert names[1] == f"sex={df['sex'].iloc[0]}" and "age" in names[0]
        _, Z = masker.neighbourhood.sample(x, 3000, np.random.default_rng(1))
        share_female = float(np.mean(Z[1:, 1] == 0))
        assert share_female == pytest.approx(np.mean(df["sex"] == "Female"), abs=0.03)

        def model(frame):
            return 1.0 + 2.0 * (frame["sex"] == "Female").to_numpy(float)

        exp = xk.Lime(model, masker=masker, alpha=0.0).explain(df.iloc[:3], n_samples=2000, random_state=0)
        assert exp.diagnostics["interpretable_features"][0].tolist() == names
        sign = np.where(df["sex"].iloc[:3] == "Female", 1.0, -1.0)  # indicator "same sex as x"
        np.testing.assert_allclose(exp.values[:, 1, 0], 2.0 * sign, atol=1e-8)

    def test_binned_feature_sample_inside(self):
        feat = BinnedFeature.fit(np.arange(100.0), np.array([24.75, 49.5, 74.25]))
        bins = np.repeat(np.arange(4), 50)
        v = feat.sample(bins, np.random.default_rng(0))
        assert np.array_equal(feat.bin_of(v), bins)

    def test_entropy_edges_follow_the_labels(self):
        X = _data()
        y = (X[:, 0] > 0.3).astype(int)
        disc = Discretizer(X, [0, 1], "entropy", labels=y)
        assert np.min(np.abs(disc.features[0].edges - 0.3)) < 0.05


# ---------------------------------------------------------------- reproducibility
class TestDeterminism:
    def setup_method(self):
        self.model, self.X = _logistic()
        self.lime = xk.Lime(self.model, masker=xk.TabularMasker(self.X, discretize="decile"), n_features=3)

    def test_seed(self):
        a = self.lime.explain(self.X[:3], n_samples=400, random_state=5)
        b = self.lime.explain(self.X[:3], n_samples=400, random_state=5)
        c = self.lime.explain(self.X[:3], n_samples=400, random_state=6)
        np.testing.assert_array_equal(a.values, b.values)
        assert not np.array_equal(a.values, c.values)
        assert np.count_nonzero(a.values[0, :, 1]) <= 3

    def test_processes_equal_serial(self):
        a = self.lime.explain(self.X[:4], n_samples=300, random_state=0)
        b = self.lime.explain(self.X[:4], n_samples=300, random_state=0, executor="processes:2")
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.diagnostics["local_fidelity"], b.diagnostics["local_fidelity"])

    def test_batch_size(self):
        calls: list[int] = []

        def f(X):
            calls.append(len(X))
            return self.model.predict_proba(X)

        lime = xk.Lime(f, masker=xk.TabularMasker(self.X, discretize="decile"), n_features=3)
        a = lime.explain(self.X[:2], n_samples=300, random_state=0)
        calls.clear()
        b = lime.explain(self.X[:2], n_samples=300, random_state=0, batch_size=64)
        assert max(calls) <= 64
        np.testing.assert_allclose(a.values, b.values, rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(b.diagnostics["n_model_calls"], [300, 300])

    def test_stability(self):
        exp = xk.Lime(_linear, masker=xk.TabularMasker(_data()), n_features=2).explain(
            _data()[:2], n_samples=300, random_state=0, stability=3
        )
        assert exp.diagnostics["stability"].shape == (2, 1)
        np.testing.assert_allclose(exp.diagnostics["stability"], 1.0)
        np.testing.assert_array_equal(exp.diagnostics["n_model_calls"], [1200, 1200])
        noisy = xk.Lime(lambda X: np.zeros(len(X)) + 1e-3 * np.sin(1e3 * X[:, 0] * X[:, 1]),
                        masker=xk.TabularMasker(_data()), n_features=2)
        exp = noisy.explain(_data()[:2], n_samples=50, random_state=0, stability=4)
        assert float(exp.diagnostics["stability"].min()) < 1.0


# ---------------------------------------------------------------- outputs and selection
class TestOutputsAndSelection:
    def test_labels_and_top_labels(self):
        model, X = _logistic()
        lime = xk.Lime(model, masker=xk.TabularMasker(X))
        exp = lime.explain(X[:2], labels=[1], n_samples=200, random_state=0)
        assert exp.values.shape == (2, 4, 1) and exp.output_names == ["1"]
        p = model.predict_proba(X[:2])
        top = lime.explain(X[:2], top_labels=1, n_samples=200, random_state=0)
        names = [str(c) for c in model.classes_]
        assert top.diagnostics["top_labels"] == [[names[int(np.argmax(p[0]))]], [names[int(np.argmax(p[1]))]]]

    @pytest.mark.parametrize("method", ["forward", "lasso_path", "highest_weights", "auto"])
    def test_selection_finds_the_informative(self, method):
        rng = np.random.default_rng(0)
        S = rng.normal(size=(500, 8))
        y = 4 * S[:, 5] - 2 * S[:, 1] + 0.01 * rng.normal(size=500)
        S[0] = 1.0
        assert sorted(select_features(S, y, np.ones(500), 2, method).tolist()) == [1, 5]

    def test_kernel_and_ridge_helpers(self):
        assert lime_kernel(np.array([0.0]), 2.0)[0] == 1.0
        rng = np.random.default_rng(0)
        X = rng.normal(size=(300, 2))
        y = X @ np.array([1.0, -1.0]) + rng.normal(size=300)
        w = rng.random(300)
        fit = weighted_ridge(X, y, w, 0.0)
        ref = sklearn_linear.LinearRegression().fit(X, y, sample_weight=w)
        np.testing.assert_allclose(fit.coef, ref.coef_, rtol=1e-10)
        assert fit.intercept == pytest.approx(ref.intercept_)
        ridge = sklearn_linear.Ridge(alpha=3.0).fit(X, y, sample_weight=w)
        np.testing.assert_allclose(weighted_ridge(X, y, w, 3.0).coef, ridge.coef_, rtol=1e-8)

    def test_slice_save_load(self, tmp_path):
        X = _data()
        exp = xk.Lime(_linear, masker=xk.TabularMasker(X, discretize="quartile")).explain(
            X[:3], n_samples=200, random_state=0
        )
        part = exp[1:, ["x2", "x0"]]
        assert part.diagnostics["interpretable_features"].shape == (2, 2)
        names = part.diagnostics["interpretable_features"]
        assert " x2 " in f" {names[0, 0]} " and " x0 " in f" {names[0, 1]} "
        assert part.diagnostics["local_fidelity"].shape == (2, 1)
        exp.save(tmp_path / "lime.npz")
        back = xk.Explanation.load(tmp_path / "lime.npz")
        np.testing.assert_array_equal(back.values, exp.values)
        assert back.diagnostics["interpretable_features"].tolist() == exp.diagnostics["interpretable_features"].tolist()

    def test_registered(self):
        assert xk.REGISTRY["lime"] is xk.Lime
        assert "Lime" in xk.__all__


# ---------------------------------------------------------------- bad input
class TestBadInput:
    def test_unknown_discretize(self):
        with assert_raises_naming("discretize", "'quartile'"):
            xk.TabularMasker(_data(), discretize="quintile")

    def test_entropy_without_labels(self):
        with assert_raises_naming("discretize", "training_labels"):
            xk.TabularMasker(_data(), discretize="entropy")

    def test_wrong_number_of_labels(self):
        with assert_raises_naming("training_labels", "400"):
            xk.TabularMasker(_data(), discretize="entropy", training_labels=np.zeros(3))

    def test_unknown_categorical_feature(self):
        with assert_raises_naming("categorical_features", "'zzz'"):
            xk.TabularMasker(_data(), categorical_features=["zzz"])

    def test_n_samples(self):
        with assert_raises_naming("n_samples", ">= 2"):
            xk.Lime(_linear, masker=xk.TabularMasker(_data())).explain(_data()[:1], n_samples=1)

    def test_wrong_number_of_features(self):
        with assert_raises_naming("X", "4 features"):
            xk.Lime(_linear, masker=xk.TabularMasker(_data())).explain(np.zeros((1, 3)))

    def test_unknown_feature_selection(self):
        with assert_raises_naming("feature_selection", "'forward'"):
            xk.Lime(_linear, masker=xk.TabularMasker(_data()), feature_selection="forward_selection")

    def test_other_parameters(self):
        masker = xk.TabularMasker(_data())
        with assert_raises_naming("kernel_width", "> 0"):
            xk.Lime(_linear, masker=masker, kernel_width=0.0)
        with assert_raises_naming("n_features", ">= 1"):
            xk.Lime(_linear, masker=masker, n_features=0)
        with assert_raises_naming("masker"):
            xk.Lime(_linear, masker=None)
        with assert_raises_naming("stability", ">= 2"):
            xk.Lime(_linear, masker=masker).explain(_data()[:1], stability=1)
        with assert_raises_naming("labels", "[-1, 1)"):
            xk.Lime(_linear, masker=masker).explain(_data()[:1], labels=[3])
        with assert_raises_naming("X", "missing"):
            xk.Lime(_linear, masker=masker).explain(np.full((1, 4), np.nan))
