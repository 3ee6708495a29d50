"""FeatureAblation: against Captum's FeatureAblation, batch-size invariance, the explainer contract, errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from xaikit.errors import InvalidParameterError
from xaikit.explainers.gradients.feature_ablation import FeatureAblation
from xaikit.testing import check_explainer
from xaikit.testing.cases import default_case

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")


@pytest.fixture(scope="module")
def mlp():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double().eval()
    return net


@pytest.fixture(scope="module")
def cnn():
    torch.manual_seed(1)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(3 * 6 * 6, 4)
    ).double().eval()
    return net


def _captum(net, X, target, baseline, mask):
    fa = captum_attr.FeatureAblation(net)
    kwargs = {}
    if mask is not None:
        m = torch.tensor(mask)
        kwargs["feature_mask"] = m if m.shape == X.shape else m[None]
    b = baseline if np.isscalar(baseline) else torch.tensor(baseline if baseline.shape == X.shape else baseline[None])
    out = fa.attribute(torch.tensor(X), target=torch.tensor(target), baselines=b, **kwargs)
    return out.detach().numpy().reshape(X.shape[0], -1)


def test_equals_captum_on_a_tabular_mlp(mlp):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 6))
    target = np.array([0, 2, 1, 1, 0])
    shared = np.array([3, 0, 3, 1, 0, 7])  # non-contiguous groups, ids with gaps
    per_row = rng.integers(0, 3, size=(5, 6))
    base_rows = rng.normal(size=(5, 6))
    for mask, baseline in ((None, 0.0), (shared, 0.5), (per_row, 0.0), (shared, base_rows), (None, base_rows[0])):
        ours = FeatureAblation(mlp).explain(X, target=target, baseline=baseline, feature_mask=mask)
        ref = _captum(mlp, X, target, baseline, mask)
        np.testing.assert_allclose(ours.values[:, :, 0], ref, rtol=0, atol=1e-10)
        assert np.abs(ref).max() > 1e-3  # the comparison is not between zeros


def test_equals_captum_on_a_small_cnn_with_patches(cnn):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3, 2, 6, 6))
    target = np.array([3, 0, 1])
    patches = (np.arange(6)[:, None] // 2) * 3 + np.arange(6)[None, :] // 2  # 2x2 patches over both channels
    mask = np.broadcast_to(patches, (2, 6, 6)).copy()
    per_row = np.stack([mask, mask[:, ::-1].copy(), mask % 4])
    baseline = rng.normal(size=(2, 6, 6))
    for m, b in ((mask, 0.0), (per_row, baseline), (None, 0.25)):
        ours = FeatureAblation(cnn).explain(X, target=target, baseline=b, feature_mask=m)
        ref = _captum(cnn, X, target, b, m)
        np.testing.assert_allclose(ours.values[:, :, 0], ref, rtol=0, atol=1e-10)
        assert tuple(ours.input_shape) == (2, 6, 6)
    ours = FeatureAblation(cnn).explain(X, target=target, feature_mask=mask)
    assert ours.diagnostics["n_groups"] == 9
    np.testing.assert_array_equal(ours.diagnostics["n_model_calls"], [10, 10, 10])
    with torch.no_grad():
        fx = cnn(torch.tensor(X)).numpy()[np.arange(3), target]
    np.testing.assert_allclose(ours.diagnostics["prediction"][:, 0], fx, rtol=0, atol=1e-12)


def test_batch_size_does_not_change_the_values(mlp):
    X = np.random.default_rng(2).normal(size=(4, 6))
    mask = np.array([0, 0, 1, 2, 2, 1])
    whole = FeatureAblation(mlp).explain(X, target=1, feature_mask=mask, baseline=0.1)
    for bs in (1, 2, 5):
        part = FeatureAblation(mlp).explain(X, target=1, feature_mask=mask, baseline=0.1, batch_size=bs)
        np.testing.assert_allclose(part.values, whole.values, rtol=0, atol=1e-12)
    f = lambda Z: Z[:, 0] * Z[:, 1] + Z[:, 2:].sum(axis=1)  # a plain function: equal to the bit
    a = FeatureAblation(f).explain(X, feature_mask=mask, batch_size=1)
    b = FeatureAblation(f).explain(X, feature_mask=mask)
    np.testing.assert_array_equal(a.values, b.values)
    # groups are ablated whole: x0 and x1 together remove x0 * x1
    np.testing.assert_allclose(b.values[:, 0, 0], X[:, 0] * X[:, 1], rtol=0, atol=1e-12)


def test_meets_the_explainer_contract():
    case = dataclasses.replace(default_case(FeatureAblation), explain={"target": 1})
    report = check_explainer(FeatureAblation, case)
    assert set(report.skipped) <= {"bad:X"}, report.skipped  # a plain function with no reference data takes any width
    assert len(report.passed) >= 10, report


@pytest.mark.parametrize("mask, said", [
    (np.array([0, 1, 2]), "shape (3,)"),
    (np.zeros((3, 6), dtype=int), "shape (3, 6)"),
    (np.array([0.0, 1, 1, 2, 2, 3]), "float64"),
    (np.ones(6, dtype=bool), "bool"),
    ("ab", "<U2"),
])
def test_a_wrong_feature_mask_is_refused_by_name(mask, said):
    f = lambda Z: Z.sum(axis=1)
    with pytest.raises(InvalidParameterError, match="feature_mask") as info:
        FeatureAblation(f).explain(np.zeros((2, 6)), feature_mask=mask)
    assert said in str(info.value)
