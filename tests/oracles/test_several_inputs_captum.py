"""Models as users have them, against Captum: token ids explained on their embedding (Captum's
LayerIntegratedGradients summed over the embedding axis), several inputs, fixed arguments
(``additional_forward_args``), an LSTM/GRU, float32 and float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import InputXGradient, IntegratedGradients, LayerGradientXActivation, LayerIntegratedGradients, Saliency
from torch import nn

import xaikit as xk
from xaikit.errors import InvalidParameterError

pytestmark = [pytest.mark.oracle, pytest.mark.filterwarnings("ignore::UserWarning")]


class Text(nn.Module):
    """Token ids -> embedding -> GRU -> linear; an optional mask (per token) as a second argument."""

    def __init__(self, rnn: type[nn.Module] = nn.GRU) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.emb = nn.Embedding(12, 4)
        self.rnn = rnn(4, 5, batch_first=True)
        self.out = nn.Linear(5, 3)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h, _ = self.rnn(self.emb(ids))
        if mask is not None:
            h = h * mask[..., None].to(h.dtype)
        return self.out(h.mean(1))


class TableAndSignal(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.a, self.b, self.o = nn.Linear(3, 4), nn.Conv1d(2, 2, 3), nn.Linear(4 + 6, 2)

    def forward(self, x: torch.Tensor, y: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        return self.o(torch.cat([torch.tanh(self.a(x)), torch.relu(self.b(y)).flatten(1)], 1)) * scale


@pytest.fixture(scope="module")
def ids() -> torch.Tensor:
    torch.manual_seed(2)
    return torch.randint(1, 12, (3, 6))


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


@pytest.mark.parametrize("rnn", [nn.GRU, nn.LSTM])
def test_token_ids_are_explained_on_their_embedding_as_captum_layer_ig(ids, rnn):
    net = Text(rnn).double()
    exp = xk.IntegratedGradients(net).explain(ids.numpy(), target=1, baseline=0, n_steps=20)
    ref = LayerIntegratedGradients(net, net.emb).attribute(ids, baselines=torch.zeros_like(ids), target=1, n_steps=20,
                                                           method="gausslegendre")
    assert exp.input_shape == (6,) and exp.values.shape == (3, 6, 1)  # one value per token
    assert _rel(exp.values[:, :, 0], ref.sum(-1).detach().numpy()) < 1e-6
    np.testing.assert_array_equal(exp.data, ids.numpy())  # the ids are the data
    assert np.abs(exp.diagnostics["completeness_gap"]).max() < 1e-8  # the embedding is the only path from the ids


def test_token_ids_with_a_mask_as_additional_forward_args_and_float32(ids):
    mask = np.ones((3, 6), dtype=np.int64)
    mask[0, 3:] = 0
    for dtype, tol in ((torch.float64, 1e-6), (torch.float32, 1e-4)):
        net = Text().to(dtype)
        exp = xk.IntegratedGradients(net).explain(ids.numpy(), target=2, baseline=0, n_steps=16, additional_forward_args=(mask,))
        ref = LayerIntegratedGradients(net, net.emb).attribute(
            ids, baselines=torch.zeros_like(ids), target=2, n_steps=16, additional_forward_args=(torch.from_numpy(mask),))
        assert _rel(exp.values[:, :, 0], ref.sum(-1).detach().double().numpy()) < tol  # float32: Captum sums in float32
    # the masked tokens of row 0 change nothing, so they get nothing
    assert np.abs(exp.values[0, 3:, 0]).max() < 1e-12
    # the same mask as a second input of integers: held fixed, not attributed
    two = xk.InputXGradient(net).explain((ids.numpy(), mask), target=2)
    ref2 = LayerGradientXActivation(net, net.emb).attribute(ids, target=2, additional_forward_args=(torch.from_numpy(mask),))
    assert two.input_shape == (6,) and _rel(two.values[:, :, 0], ref2.sum(-1).detach().double().numpy()) < 1e-4


@pytest.mark.parametrize("method", ["ig", "saliency", "ixg"])
def test_two_float_inputs_with_a_constant_argument(method):
    net = TableAndSignal().double()
    torch.manual_seed(3)
    x, y = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 2, 5, dtype=torch.float64)
    ours, theirs, kw, ref_kw = {
        "ig": (xk.IntegratedGradients, IntegratedGradients, {"n_steps": 16, "baseline": (0.5, 0.0)},
               {"n_steps": 16, "method": "gausslegendre", "baselines": (0.5, 0.0)}),
        "saliency": (xk.Saliency, Saliency, {}, {}),
        "ixg": (xk.InputXGradient, InputXGradient, {}, {}),
    }[method]
    exp = ours(net).explain((x.numpy(), y.numpy()), target=1, additional_forward_args=(2.0,), **kw)
    ref = theirs(net).attribute((x, y), target=1, additional_forward_args=(2.0,), **ref_kw)
    assert exp.inputs == [("X[0]", (3,)), ("X[1]", (2, 5))]
    for k, part in enumerate(xk.as_input_shape(exp, input=None)):
        assert _rel(part, ref[k].detach().numpy()) < 1e-6
    if method == "ig":
        fx = net(x, y, 2.0)[:, 1]
        fb = net(torch.full_like(x, 0.5), torch.zeros_like(y), 2.0)[:, 1]
        np.testing.assert_allclose(exp.base_values[:, 0], fb.detach().numpy(), rtol=1e-12)  # f(b), the fixed argument kept
        gap = exp.values.sum(axis=(1, 2)) - (fx - fb).detach().numpy()
        np.testing.assert_allclose(exp.diagnostics["completeness_gap"][:, 0], gap, atol=1e-12)
    by_name = ours(net).explain({"x": x.numpy(), "y": y.numpy(), "scale": 2.0}, target=1, **kw)
    np.testing.assert_allclose(by_name.values, exp.values, rtol=1e-12)
    assert [name for name, _ in by_name.inputs] == ["x", "y"]
    assert by_name.feature_names[:4] == ["x[0]", "x[1]", "x[2]", "y[0]"] and by_name.feature_names[-1] == "y[9]"


def test_several_inputs_refusals_name_the_parameter(ids):
    net = TableAndSignal().double()
    x, y = np.zeros((4, 3)), np.zeros((4, 2, 5))
    with pytest.raises(InvalidParameterError, match=r"X\[1\]: expected one row per explained row \(4"):
        xk.Saliency(net).explain((x, y[:2]), target=0)
    with pytest.raises(InvalidParameterError, match=r"^window: expected 2 lengths, one per axis .* \(X\[1\]\)"):
        xk.Occlusion(net, window=(1,)).explain((x, y), target=0)  # one window for both: too short for the second
    with pytest.raises(InvalidParameterError, match="baseline: the input X holds token ids"):
        xk.IntegratedGradients(Text().double()).explain(ids.numpy(), target=0, baseline=0.5, n_steps=2)
    with pytest.raises(InvalidParameterError, match="additional_forward_args: the inputs are given by name"):
        xk.Saliency(net).explain({"x": x, "y": y}, target=0, additional_forward_args=(1.0,))


def test_grad_cam_of_a_layer_without_a_grid_is_captums_one_cell_map():
    from captum.attr import LayerGradCam

    torch.manual_seed(4)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 16, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    X = torch.randn(4, 1, 6, 6, dtype=torch.float64)
    ref = LayerGradCam(net, net[3]).attribute(X, target=2)  # (n, 1): sum over units of gradient x activation
    raw = xk.GradCam(net, layer="3", upsample=False, relu=False).explain(X.numpy(), target=2)
    assert raw.input_shape == (1,)
    np.testing.assert_allclose(raw.values[:, :, 0], ref.detach().numpy(), rtol=1e-12)
    spread = xk.GradCam(net, layer="3").explain(X.numpy(), target=2)  # upsampled: the one value over the image
    assert spread.input_shape == (6, 6)
    np.testing.assert_allclose(spread.values[:, :, 0], np.repeat(np.maximum(ref.detach().numpy(), 0), 36, axis=1))


class TextCnn(nn.Module):
    """Token ids -> embedding -> a 1-D convolution over the tokens -> max over time -> logits."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(6)
        self.emb, self.conv, self.out = nn.Embedding(12, 4), nn.Conv1d(4, 3, 3, padding=1), nn.Linear(3, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(self.emb(ids).transpose(1, 2)))
        return self.out(h.amax(dim=2))


def test_grad_cam_of_a_text_cnn_takes_token_ids_untouched(ids):
    from captum.attr import LayerGradCam

    net = TextCnn().double()
    exp = xk.GradCam(net, layer="conv").explain(ids.numpy(), target=1)  # the map over the 6 tokens
    ref = LayerGradCam(net, net.conv).attribute(ids, target=1, relu_attributions=True)  # (n, 1, 6)
    assert exp.input_shape == (6,)
    np.testing.assert_allclose(exp.values[:, :, 0], ref[:, 0].detach().numpy(), rtol=1e-12, atol=1e-15)
    assert np.abs(exp.values).max() > 0
    with pytest.raises(InvalidParameterError, match="X: ScoreCam explains one floating-point input"):
        xk.ScoreCam(net, layer="conv").explain(ids.numpy(), target=1)  # it masks the input: ids cannot be scaled
