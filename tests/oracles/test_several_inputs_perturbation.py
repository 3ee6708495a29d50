"""Several inputs, token ids and fixed arguments for the perturbation methods (FeatureAblation,
Occlusion) and GradientShap, against Captum on the same tuples of inputs: token ids are attributed as
they are (replaced by the pad id), groups of feature masks are numbered across inputs, windows are
given per input; GradientShap (random draws of its own) by exact values on linear models and
completeness in expectation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import FeatureAblation, GradientShap, Occlusion
from torch import nn

import xaikit as xk
from xaikit.errors import InvalidParameterError

pytestmark = [pytest.mark.oracle, pytest.mark.filterwarnings("ignore::UserWarning")]


class TableAndSignal(nn.Module):
    """Two float inputs (n, 3) and (n, 2, 5), a scale held fixed."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.a, self.b, self.o = nn.Linear(3, 4), nn.Conv1d(2, 2, 3), nn.Linear(4 + 6, 2)

    def forward(self, x: torch.Tensor, y: torch.Tensor, scale: float | torch.Tensor = 1.0) -> torch.Tensor:
        out = self.o(torch.cat([torch.tanh(self.a(x)), torch.relu(self.b(y)).flatten(1)], 1))
        return out * (scale[:, None] if isinstance(scale, torch.Tensor) else scale)


class Text(nn.Module):
    """Token ids -> embedding -> GRU -> linear, a per-token mask as a second argument."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.emb = nn.Embedding(12, 4)
        self.rnn = nn.GRU(4, 5, batch_first=True)
        self.out = nn.Linear(5, 3)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h, _ = self.rnn(self.emb(ids))
        if mask is not None:
            h = h * mask[..., None].to(h.dtype)
        return self.out(h.mean(1))


class Linear2(nn.Module):
    """f(x, y) = (x @ w + y @ v) * scale: gradients are constant."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64))
        self.v = nn.Parameter(torch.tensor([[0.3, 1.5], [-1.0, 2.0]], dtype=torch.float64))

    def forward(self, x: torch.Tensor, y: torch.Tensor, scale: float | torch.Tensor = 1.0) -> torch.Tensor:
        out = (x @ self.w + (y * self.v).sum((1, 2)))[:, None]
        return out * (scale[:, None] if isinstance(scale, torch.Tensor) else scale)


@pytest.fixture(scope="module")
def two() -> tuple[nn.Module, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return TableAndSignal().double(), rng.normal(size=(3, 3)), rng.normal(size=(3, 2, 5))


@pytest.fixture(scope="module")
def text() -> tuple[nn.Module, np.ndarray, np.ndarray]:
    torch.manual_seed(2)
    ids = torch.randint(1, 12, (3, 6)).numpy()
    mask = np.ones((3, 6), dtype=np.int64)
    mask[0, 4:] = 0
    return Text().double(), ids, mask


def _t(*arrays: np.ndarray) -> tuple[torch.Tensor, ...]:
    return tuple(torch.from_numpy(a) for a in arrays)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


def _split(exp: xk.Attribution) -> list[np.ndarray]:
    return xk.explainers.gradients.base.as_input_shape(exp, input=None)


# ------------------------------------------------------------------ FeatureAblation


def test_feature_ablation_of_two_inputs_each_element_alone_is_captums(two):
    net, x, y = two
    exp = xk.FeatureAblation(net).explain((x, y), target=1, baseline=(0.5, -0.2), additional_forward_args=(2.0,))
    ref = FeatureAblation(net).attribute(_t(x, y), baselines=(0.5, -0.2), target=1, additional_forward_args=(2.0,))
    assert exp.inputs == [("X[0]", (3,)), ("X[1]", (2, 5))]
    for ours, theirs in zip(_split(exp), ref):
        assert ours.shape == tuple(theirs.shape)
        assert _rel(ours, theirs.numpy()) < 1e-10
    assert exp.diagnostics["n_groups"] == 3 + 10  # ids numbered across the inputs, as Captum's default mask


def test_feature_ablation_masks_share_group_ids_across_inputs_as_captum(two):
    net, x, y = two
    mx = np.array([[0, 1, 1]])
    my = np.array([[[1, 1, 2, 2, 3], [3, 4, 4, 0, 0]]])  # ids 0, 1 also used in x: ablated with it at once
    exp = xk.FeatureAblation(net).explain((x, y), target=0, baseline=0.0, feature_mask=(mx, my))
    ref = FeatureAblation(net).attribute(_t(x, y), baselines=(0.0, 0.0), target=0, feature_mask=_t(mx, my))
    for ours, theirs in zip(_split(exp), ref):
        assert _rel(ours, theirs.numpy()) < 1e-10
    assert exp.diagnostics["n_groups"] == 5
    # ablating id 0 in x alone would differ: the shared group really spans both inputs
    alone = xk.FeatureAblation(net).explain((x, y), target=0, baseline=0.0, feature_mask=(mx, my + 10))
    assert np.abs(_split(alone)[0][:, 0] - _split(exp)[0][:, 0]).max() > 1e-6


def test_feature_ablation_of_token_ids_replaces_them_by_the_pad_id_as_captum(text):
    net, ids, mask = text
    exp = xk.FeatureAblation(net).explain(ids, target=2, baseline=0, additional_forward_args=(mask,))
    ref = FeatureAblation(net).attribute(torch.from_numpy(ids), baselines=0, target=2,
                                         additional_forward_args=(torch.from_numpy(mask),))
    assert exp.input_shape == [6] or tuple(exp.input_shape) == (6,)
    assert _rel(exp.values[:, :, 0], ref.numpy()) < 1e-10
    np.testing.assert_array_equal(exp.data, ids)  # the ids themselves are the data
    assert np.abs(exp.values[0, 4:, 0]).max() < 1e-12  # masked tokens change nothing
    # the mask as a boolean second input reaches the model untouched; groups of two tokens
    words = np.array([[0, 0, 1, 1, 2, 2]])
    paired = xk.FeatureAblation(net).explain((ids, mask.astype(bool)), target=2, baseline=0, feature_mask=words)
    ref2 = FeatureAblation(net).attribute(torch.from_numpy(ids), baselines=0, target=2, feature_mask=torch.from_numpy(words),
                                          additional_forward_args=(torch.from_numpy(mask),))
    assert paired.values.shape == (3, 6, 1) and _rel(paired.values[:, :, 0], ref2.numpy()) < 1e-10


def test_feature_ablation_refusals_name_the_parameter(two):
    net, x, y = two
    with pytest.raises(InvalidParameterError, match=r"^feature_mask: expected one item per input \(2"):
        xk.FeatureAblation(net).explain((x, y), target=0, feature_mask=(np.zeros((1, 3), dtype=int),) * 3)
    with pytest.raises(InvalidParameterError, match=r"^feature_mask\[1\] \(X\[1\]\): expected integer group ids of shape \(2, 5\)"):
        xk.FeatureAblation(net).explain((x, y), target=0, feature_mask=(np.zeros(3, dtype=int), np.zeros((2, 4), dtype=int)))
    with pytest.raises(InvalidParameterError, match=r"^baseline: the input X holds token ids \(int64\)"):
        xk.FeatureAblation(Text().double()).explain(np.ones((2, 6), dtype=np.int64), target=0, baseline=0.5)


# ------------------------------------------------------------------ Occlusion


def test_occlusion_of_two_inputs_with_a_window_per_input_is_captums(two):
    net, x, y = two
    scale = np.array([1.0, -2.0, 0.5])
    exp = xk.Occlusion(net, window=((2,), (1, 2)), stride=((1,), (1, 2))).explain(
        (x, y), target=1, baseline=(0.3, 0.0), additional_forward_args=(scale,))
    ref = Occlusion(net).attribute(_t(x, y), sliding_window_shapes=((2,), (1, 2)), strides=((1,), (1, 2)),
                                   baselines=(0.3, 0.0), target=1, additional_forward_args=(torch.from_numpy(scale),))
    for ours, theirs in zip(_split(exp), ref):
        assert theirs.dtype == torch.float32  # Captum 0.9's Occlusion returns float32 here: it limits agreement
        assert _rel(ours, theirs.numpy()) < 1e-6
    assert exp.diagnostics["n_windows"] == 2 + 2 * 3
    assert exp.params["window"] == [[2], [1, 2]]


def test_occlusion_of_token_ids_occludes_them_by_the_pad_id_as_captum(text):
    net, ids, mask = text
    exp = xk.Occlusion(net, window=2, stride=1).explain(ids, target=0, baseline=0, additional_forward_args=(mask,))
    ref = Occlusion(net).attribute(torch.from_numpy(ids), sliding_window_shapes=(2,), strides=1, baselines=0, target=0,
                                   additional_forward_args=(torch.from_numpy(mask),))
    assert _rel(exp.values[:, :, 0], ref.numpy()) < 1e-6  # Captum's Occlusion returns float32
    # a pad id other than 0
    exp7 = xk.Occlusion(net, window=(3,), stride=(3,)).explain(ids, target=0, baseline=7, additional_forward_args=(mask,))
    ref7 = Occlusion(net).attribute(torch.from_numpy(ids), sliding_window_shapes=(3,), strides=3, baselines=7, target=0,
                                    additional_forward_args=(torch.from_numpy(mask),))
    assert _rel(exp7.values[:, :, 0], ref7.numpy()) < 1e-6
    assert np.abs(exp7.values[:, :, 0] - exp.values[:, :, 0]).max() > 1e-6  # the pad id is really used


def test_occlusion_refusals_name_the_parameter(two):
    net, x, y = two
    with pytest.raises(InvalidParameterError, match=r"^window: expected one window per attributed input \(2\)"):
        xk.Occlusion(net, window=((1,), (1, 1), (1,))).explain((x, y), target=0)
    with pytest.raises(InvalidParameterError, match=r"^window: expected 2 lengths, one per axis .* \(X\[1\]\)"):
        xk.Occlusion(net, window=((1,), (1,))).explain((x, y), target=0)
    with pytest.raises(InvalidParameterError, match=r"^window: 4 along axis 0 exceeds .* \(X\[0\]\)"):
        xk.Occlusion(net, window=((4,), (1, 1))).explain((x, y), target=0)


# ------------------------------------------------------------------ GradientShap


def test_gradient_shap_of_two_inputs_on_a_linear_model_is_exact_and_captums():
    net = Linear2()
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(3, 3)), rng.normal(size=(3, 2, 2))
    bx, by = rng.normal(size=(1, 3)), rng.normal(size=(1, 2, 2))  # one background row: no randomness left
    scale = np.array([1.0, 2.0, -1.0])
    exp = xk.GradientShap(net, background=(bx, by)).explain((x, y), target=0, n_samples=4, random_state=0,
                                                           additional_forward_args=(scale,))
    ref = GradientShap(net).attribute(_t(x, y), baselines=_t(bx, by), n_samples=4, target=0,
                                      additional_forward_args=(torch.from_numpy(scale),))
    w, v = net.w.detach().numpy(), net.v.detach().numpy()
    ours = _split(exp)
    np.testing.assert_allclose(ours[0], scale[:, None] * w * (x - bx), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours[1], scale[:, None, None] * v * (y - by), rtol=1e-12, atol=1e-14)
    for a, b in zip(ours, ref):
        assert _rel(a, b.detach().numpy()) < 1e-10
    # E f(b) with each row's own scale: the base values, and completeness holds exactly
    fb = scale * (bx @ w + (by * v).sum((1, 2)))
    np.testing.assert_allclose(exp.base_values[:, 0], fb, rtol=1e-12)
    assert np.abs(exp.diagnostics["completeness_gap"]).max() < 1e-10


def test_gradient_shap_of_two_inputs_is_complete_in_expectation(two):
    net, x, y = two
    rng = np.random.default_rng(5)
    bx, by = rng.normal(size=(4, 3)), rng.normal(size=(4, 2, 5))
    exp = xk.GradientShap(net, background=(bx, by)).explain((x[:2], y[:2]), target=1, n_samples=400, random_state=1,
                                                           batch_size=400)
    with torch.no_grad():
        fx = net(*_t(x[:2], y[:2]))[:, 1].numpy()
        fb = net(*_t(bx, by))[:, 1].mean().item()
    total = exp.values[:, :, 0].sum(axis=1)
    bound = 3 * exp.diagnostics["std_err"][:, :, 0].sum(axis=1)  # std of a sum is at most the sum of stds
    assert np.all(np.abs(total - (fx - fb)) < bound)
    np.testing.assert_allclose(exp.base_values[:, 0], fb, rtol=1e-12)
    # Captum's estimate (its own draws) agrees within the sampling error
    torch.manual_seed(0)
    ref = GradientShap(net).attribute(_t(x[:2], y[:2]), baselines=_t(bx, by), n_samples=400, target=1)
    packed = np.concatenate([r.detach().numpy().reshape(2, -1) for r in ref], axis=1)
    se = exp.diagnostics["std_err"][:, :, 0]
    assert np.all(np.abs(packed - exp.values[:, :, 0]) <= 5 * np.sqrt(2) * se + 1e-9)


def test_gradient_shap_refusals_name_the_parameter(two):
    net, x, y = two
    with pytest.raises(InvalidParameterError, match=r"^background: expected the same number of rows"):
        xk.GradientShap(net, background=(np.zeros((2, 3)), np.zeros((3, 2, 5))))
    with pytest.raises(InvalidParameterError, match=r"^background: the model takes 2 attributed inputs"):
        xk.GradientShap(net, background=np.zeros((2, 3))).explain((x, y), target=0)
    with pytest.raises(InvalidParameterError, match=r"^background\[1\]: expected floating-point rows of shape \(2, 5\)"):
        xk.GradientShap(net, background=(np.zeros((2, 3)), np.zeros((2, 2, 4)))).explain((x, y), target=0)
