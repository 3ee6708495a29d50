"""Tabular LIME against ``lime.lime_tabular.LimeTabularExplainer``.

Both sample their neighbourhoods with their own random streams, so the coefficients agree only up
to sampling noise: we compare the top-5 features (by |coefficient|) on 10 rows of the breast-cancer
data, 5,000 samples each, 10 features kept (``"auto"`` -> highest weights in both). Measured
agreement (mean share of the top 5 in common): 0.96 with quartile bins, 0.94 without bins; the tests
ask for at least 0.8. The bins themselves are deterministic and are compared exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk

pytestmark = pytest.mark.oracle

lime_tabular = pytest.importorskip("lime.lime_tabular")
lime_discretize = pytest.importorskip("lime.discretize")
datasets = pytest.importorskip("sklearn.datasets")
ensemble = pytest.importorskip("sklearn.ensemble")


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, np.ndarray, list[str], object]:
    data = datasets.load_breast_cancer()
    X, y = data.data, data.target
    model = ensemble.RandomForestClassifier(n_estimators=50, random_state=0, n_jobs=1).fit(X, y)
    return X, y, [str(n) for n in data.feature_names], model


def _top5(weights: np.ndarray) -> set[int]:
    return {int(j) for j in np.argsort(-np.abs(weights), kind="stable")[:5]}


@pytest.mark.parametrize("discretize", ["quartile", None])
def test_top5_agree_with_lime(cancer, discretize):
    X, _, names, model = cancer
    rows = X[::57][:10]
    masker = xk.TabularMasker(X, feature_names=names, discretize=discretize)
    exp = xk.Lime(model.predict_proba, masker=masker).explain(rows, target=1, n_samples=5000, random_state=0)
    reference = lime_tabular.LimeTabularExplainer(
        X, feature_names=names, discretize_continuous=discretize is not None,
        discretizer=discretize or "quartile", random_state=0,
    )
    shares = []
    for i, row in enumerate(rows):
        ref = reference.explain_instance(row, model.predict_proba, labels=(1,), num_features=10, num_samples=5000)
        ref_weights = np.zeros(X.shape[1])
        for j, v in ref.local_exp[1]:
            ref_weights[j] = v
        shares.append(len(_top5(ref_weights) & _top5(exp.values[i, :, 0])) / 5)
        if i == 0 and discretize is not None:
            # the interpretable names match lime's for the features both report
            ours = dict(zip(range(X.shape[1]), exp.diagnostics["interpretable_features"][0]))
            for label, _ in ref.as_list():
                assert label in ours.values()
    assert np.mean(shares) >= 0.8, shares


@pytest.mark.parametrize("method", ["quartile", "decile", "entropy"])
def test_bins_match_lime(cancer, method):
    X, y, names, _ = cancer
    ours = xk.TabularMasker(X, feature_names=names, discretize=method, training_labels=y).discretizer
    cls = {"quartile": lime_discretize.QuartileDiscretizer, "decile": lime_discretize.DecileDiscretizer,
           "entropy": lime_discretize.EntropyDiscretizer}[method]
    ref = cls(X, [], names, labels=y, random_state=0)
    for j in range(X.shape[1]):
        feat = ours.features[j]
        np.testing.assert_allclose(feat.lows, ref.mins[j])
        np.testing.assert_allclose(feat.highs, ref.maxs[j])
        np.testing.assert_allclose(feat.means, ref.means[j], rtol=1e-12)
        np.testing.assert_allclose(feat.stds, ref.stds[j], rtol=1e-9)
        assert feat.names(names[j]) == ref.names[j]
    np.testing.assert_array_equal(ours.transform(X[:50]), ref.discretize(X[:50]))
