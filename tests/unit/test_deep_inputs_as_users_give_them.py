"""Inputs deep-learning users give that used to be refused (issue 16): a baseline with its batch axis,
targets as tensors, SmoothGrad squared, and Integrated Gradients without the multiplication by
the inputs; Captum is the oracle where it has the method."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

import xaikit as xk  # noqa: E402


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3)).double().eval()


X = np.random.default_rng(0).normal(size=(5, 4))
B = np.random.default_rng(1).normal(size=4)


def test_a_baseline_with_its_batch_axis_is_shared_by_every_row(net):
    ig = xk.IntegratedGradients(net)
    flat = ig.explain(X, target=1, baseline=B, n_steps=16)
    batched = ig.explain(X, target=1, baseline=B[None, :], n_steps=16)
    np.testing.assert_array_equal(flat.values, batched.values)
    occ = xk.Occlusion(net, window=1)
    np.testing.assert_array_equal(occ.explain(X, target=0, baseline=B).values, occ.explain(X, target=0, baseline=B[None]).values)
    with pytest.raises(xk.InvalidParameterError, match=r"^baseline: expected .*\(1, 4\)"):
        ig.explain(X, target=1, baseline=np.zeros((2, 4)))


@pytest.mark.parametrize("given", [torch.tensor(2), torch.tensor([2]), np.array(2), np.int64(2)],
                         ids=["0-d tensor", "one-element tensor", "0-d array", "numpy int"])
def test_a_target_given_as_a_tensor_means_one_output_for_every_row(net, given):
    expected = xk.Saliency(net).explain(X, target=2)
    got = xk.Saliency(net).explain(X, target=given)
    np.testing.assert_array_equal(got.values, expected.values)
    assert got.diagnostics["target"].tolist() == [2] * len(X)


def test_a_tensor_of_one_index_per_row_is_one_index_per_row(net):
    per_row = torch.tensor([0, 1, 2, 0, 1])
    got = xk.Saliency(net).explain(X, target=per_row)
    assert got.diagnostics["target"].tolist() == [0, 1, 2, 0, 1]


def test_smoothgrad_squared_is_the_mean_square_and_equals_captum_without_noise(net):
    kw = {"n_samples": 6, "random_state": 3}
    sq = xk.SmoothGradSquared(xk.Saliency(net), noise_abs=0.2).explain(X, target=1, **kw).values
    mean = xk.SmoothGrad(xk.Saliency(net), noise_abs=0.2).explain(X, target=1, **kw).values
    var = xk.VarGrad(xk.Saliency(net), noise_abs=0.2).explain(X, target=1, **kw).values
    np.testing.assert_allclose(sq, var + mean**2, rtol=1e-10, atol=1e-14)  # the same noisy copies: E[a^2] = Var + E[a]^2
    assert not np.allclose(sq, mean**2)
    quiet = xk.SmoothGradSquared(xk.Saliency(net), noise_abs=0.0).explain(X, target=1, n_samples=3).values[:, :, 0]
    tunnel = captum_attr.NoiseTunnel(captum_attr.Saliency(net))
    ref = tunnel.attribute(torch.tensor(X), nt_type="smoothgrad_sq", nt_samples=3, stdevs=0.0, target=1, abs=False)
    np.testing.assert_allclose(quiet, ref.detach().numpy(), rtol=1e-12, atol=1e-15)


def test_integrated_gradients_without_multiplying_by_the_inputs_equals_captum(net):
    ours = xk.IntegratedGradients(net, multiply_by_inputs=False).explain(X, target=2, baseline=B, n_steps=20)
    ig = captum_attr.IntegratedGradients(net, multiply_by_inputs=False)
    ref = ig.attribute(torch.tensor(X), baselines=torch.tensor(B[None]), target=2, n_steps=20, method="gausslegendre")
    # Captum's quadrature weights are float32 (about 4e-9 relative here): the agreement it allows
    np.testing.assert_allclose(ours.values[:, :, 0], ref.detach().numpy(), rtol=1e-7, atol=1e-10)
    assert "completeness_gap" not in ours.diagnostics and ours.params["multiply_by_inputs"] is False
    times_inputs = xk.IntegratedGradients(net).explain(X, target=2, baseline=B, n_steps=20).values[:, :, 0]
    np.testing.assert_allclose(times_inputs, ours.values[:, :, 0] * (X - B), rtol=1e-12, atol=1e-15)
    with pytest.raises(xk.InvalidParameterError, match="^tol: with multiply_by_inputs=False"):
        xk.IntegratedGradients(net, multiply_by_inputs=False).explain(X, target=2, tol=1e-3)
    with pytest.raises(xk.InvalidParameterError, match="^multiply_by_inputs: expected True or False"):
        xk.IntegratedGradients(net, multiply_by_inputs="no")
