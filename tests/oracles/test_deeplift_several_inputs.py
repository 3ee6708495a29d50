"""DeepLIFT and DeepLiftShap on models as users have them, against Captum: several float inputs (a tuple
or a dict), ``additional_forward_args`` held fixed (per-row arrays going with the reference rows), token
ids explained on their embedding (Captum's ``LayerDeepLift`` / ``LayerDeepLiftShap`` summed over the
embedding axis; Captum's ``LayerDeepLiftShap`` refuses integer ids, so its definition, the mean of
``LayerDeepLift`` over the background); float64, 1e-6, and summation-to-delta on every row. Keras: several float inputs
against the torch twin, token ids refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import DeepLift as CaptumDeepLift
from captum.attr import DeepLiftShap as CaptumDeepLiftShap
from captum.attr import LayerDeepLift
from torch import nn

from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.explainers.gradients.base import as_input_shape
from xaikit.explainers.gradients.deep_lift import DeepLift, DeepLiftShap

pytestmark = [pytest.mark.oracle, pytest.mark.filterwarnings("ignore::UserWarning")]

TOL = 1e-6


class TableAndSignal(nn.Module):
    """A table (n, 3) and a signal (n, 2, 6); a per-row weight and a constant scale as fixed arguments."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.a, self.b, self.c, self.o = nn.Linear(3, 4), nn.Conv1d(2, 2, 3), nn.Linear(4, 4), nn.Linear(4 + 4, 2)
        self.tanh, self.relu, self.pool, self.out_act = nn.Tanh(), nn.ReLU(), nn.MaxPool1d(2), nn.Sigmoid()

    def forward(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        # a linear layer between nonlinear modules (Captum drops the rule of adjacent ones: test_deeplift_reference.py)
        h = torch.cat([self.tanh(self.a(x)) * w, self.relu(self.c(self.pool(self.b(y)).flatten(1)))], 1)
        return self.out_act(self.o(h) * scale)


class Text(nn.Module):
    """Token ids -> embedding (masked by a per-token mask) -> linear -> tanh -> linear."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.emb = nn.Embedding(12, 4)
        self.hidden, self.act, self.out = nn.Linear(6 * 4, 5), nn.Tanh(), nn.Linear(5, 3)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        e = self.emb(ids) * mask[..., None].to(self.emb.weight.dtype)
        return self.out(self.act(self.hidden(e.flatten(1))))


@pytest.fixture(scope="module")
def table_signal():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2, 6))
    w = rng.uniform(0.5, 2.0, size=(4, 1))
    return TableAndSignal().double(), x, y, w


@pytest.fixture(scope="module")
def text():
    torch.manual_seed(2)
    ids = torch.randint(1, 12, (3, 6))
    mask = torch.ones(3, 6, dtype=torch.int64)
    mask[0, 4:] = 0
    return Text().double(), ids, mask


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


def _max_diff(ours: list[np.ndarray], ref: tuple[torch.Tensor, ...]) -> float:
    return max(float(np.abs(a - r.detach().numpy()).max()) for a, r in zip(ours, ref))


def _assert_delta(exp) -> None:
    gap = np.abs(exp.diagnostics["completeness_gap"])
    assert gap.shape == (exp.n_rows, 1) and gap.max() < 1e-8, gap  # summation-to-delta on every row


def test_deeplift_two_inputs_with_fixed_arguments_equals_captum(table_signal):
    net, x, y, w = table_signal
    bx, by = np.full((1, 3), 0.3), np.zeros((2, 6))
    exp = DeepLift(net).explain((x, y), target=1, baseline=(bx[0], 0.0), additional_forward_args=(w, 2.0), batch_size=4)
    ref = CaptumDeepLift(net).attribute((_t(x), _t(y)), baselines=(_t(bx), _t(np.broadcast_to(by, y.shape))), target=1,
                                        additional_forward_args=(_t(w), 2.0))
    ours = as_input_shape(exp, input=None)
    assert [a.shape for a in ours] == [(4, 3), (4, 2, 6)]
    diff = _max_diff(ours, ref)
    assert diff < TOL, diff
    _assert_delta(exp)
    fb = net(_t(np.broadcast_to(bx, x.shape)), _t(np.zeros_like(y)), _t(w), 2.0)[:, 1].detach().numpy()
    np.testing.assert_allclose(exp.base_values[:, 0], fb, atol=1e-12)  # f(b) with each row's own fixed arguments
    # the fixed per-row weight matters: other weights give other attributions
    other = DeepLift(net).explain((x, y), target=1, baseline=(bx[0], 0.0), additional_forward_args=(2 * w, 2.0))
    assert np.abs(other.values - exp.values).max() > 1e-3


def test_deeplift_inputs_by_name_equal_the_tuple(table_signal):
    class ByName(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            return self.inner(x, y, w)

    net, x, y, w = table_signal
    # w is a float input here, attributed too; its baseline is itself, so it gets nothing
    named = DeepLift(ByName(net)).explain({"y": y, "x": x, "w": w}, target=0, baseline={"x": 0.5, "y": 0.0, "w": w})
    ref = CaptumDeepLift(net).attribute((_t(x), _t(y)), baselines=(0.5, 0.0), target=0, additional_forward_args=(_t(w),))
    assert [name for name, _ in named.inputs] == ["y", "x", "w"]
    assert _max_diff([as_input_shape(named, input="x"), as_input_shape(named, input="y")], ref) < TOL
    assert np.abs(as_input_shape(named, input="w")).max() == 0.0
    _assert_delta(named)


def test_deeplift_shap_two_inputs_with_fixed_arguments_equals_captum(table_signal):
    net, x, y, w = table_signal
    rng = np.random.default_rng(3)
    bgx, bgy = rng.normal(size=(3, 3)), rng.normal(size=(3, 2, 6))
    exp = DeepLiftShap(net).explain((x, y), target=0, baselines=(bgx, bgy), additional_forward_args=(w, 2.0), batch_size=6)
    ref = CaptumDeepLiftShap(net).attribute((_t(x), _t(y)), baselines=(_t(bgx), _t(bgy)), target=0,
                                            additional_forward_args=(_t(w), 2.0))
    diff = _max_diff(as_input_shape(exp, input=None), ref)
    assert diff < TOL, diff
    _assert_delta(exp)
    with pytest.raises(InvalidParameterError, match=r"baselines\[1\].*3 rows"):
        DeepLiftShap(net).explain((x, y), target=0, baselines=(bgx, bgy[:2]), additional_forward_args=(w, 2.0))
    with pytest.raises(InvalidParameterError, match="baseline: expected a number, 'zeros'"):
        DeepLift(net).explain((x, y), target=0, baseline=(0.0, "blur"), additional_forward_args=(w, 2.0))


def test_token_ids_are_explained_on_their_embedding_as_captum_layer_deeplift(text):
    net, ids, mask = text
    exp = DeepLift(net).explain(ids.numpy(), target=1, baseline=0, additional_forward_args=(mask.numpy(),))
    ref = LayerDeepLift(net, net.emb).attribute(ids, baselines=torch.zeros_like(ids), target=1,
                                                additional_forward_args=(mask,))
    assert exp.input_shape == (6,) and exp.values.shape == (3, 6, 1)  # one value per token
    diff = float(np.abs(exp.values[:, :, 0] - ref.sum(-1).detach().numpy()).max())
    assert diff < TOL, diff
    np.testing.assert_array_equal(exp.data, ids.numpy())
    _assert_delta(exp)
    assert np.abs(exp.values[0, 4:, 0]).max() < 1e-12  # masked tokens change nothing
    # a pad id other than 0 is the reference's embedding
    pad = DeepLift(net).explain(ids.numpy(), target=1, baseline=3, additional_forward_args=(mask.numpy(),))
    ref3 = LayerDeepLift(net, net.emb).attribute(ids, baselines=torch.full_like(ids, 3), target=1, additional_forward_args=(mask,))
    assert float(np.abs(pad.values[:, :, 0] - ref3.sum(-1).detach().numpy()).max()) < TOL


def test_token_ids_deeplift_shap_equals_captum_layer_deeplift_shap(text):
    net, ids, mask = text
    background = torch.tensor([[0, 0, 0, 0, 0, 0], [3, 3, 3, 3, 3, 3], [1, 2, 3, 4, 5, 6]])
    exp = DeepLiftShap(net).explain(ids.numpy(), target=2, baselines=background.numpy(), additional_forward_args=(mask.numpy(),),
                                    batch_size=4)
    # Captum's LayerDeepLiftShap cannot take integer ids (it makes its inputs require gradients): its
    # definition instead, the mean of LayerDeepLift over the background rows
    ref = sum(LayerDeepLift(net, net.emb).attribute(ids, baselines=b.expand_as(ids), target=2, additional_forward_args=(mask,))
              for b in background) / len(background)
    diff = float(np.abs(exp.values[:, :, 0] - ref.sum(-1).detach().numpy()).max())
    assert diff < TOL, diff
    _assert_delta(exp)
    with pytest.raises(InvalidParameterError, match="baselines: expected token ids"):
        DeepLiftShap(net).explain(ids.numpy(), target=2, baselines=np.zeros((2, 6)), additional_forward_args=(mask.numpy(),))


# ------------------------------------------------------------------------------------------- Keras

def _keras_twin(net: nn.Module):
    keras = pytest.importorskip("keras")
    a, b = keras.Input((3,), dtype="float64"), keras.Input((2,), dtype="float64")
    ha = keras.layers.Dense(4, activation="relu", dtype="float64")(a)
    hb = keras.layers.Dense(3, activation="tanh", dtype="float64")(b)
    out = keras.layers.Dense(2, dtype="float64")(keras.layers.Concatenate(dtype="float64")([ha, hb]))
    model = keras.Model([a, b], out)
    for layer, lin in zip([ly for ly in model.layers if isinstance(ly, keras.layers.Dense)], (net.a, net.b, net.o)):
        layer.set_weights([lin.weight.detach().numpy().T, lin.bias.detach().numpy()])
    return model


class TwoDense(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(4)
        self.a, self.b, self.o = nn.Linear(3, 4), nn.Linear(2, 3), nn.Linear(7, 2)
        self.relu, self.tanh = nn.ReLU(), nn.Tanh()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.o(torch.cat([self.relu(self.a(x)), self.tanh(self.b(y))], 1))


def test_keras_two_inputs_equal_captum_on_the_torch_twin():
    net = TwoDense().double()
    model = _keras_twin(net)
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(3, 3)), rng.normal(size=(3, 2))
    exp = DeepLift(model).explain((x, y), target=1, baseline=(0.1, -0.2))
    ref = CaptumDeepLift(net).attribute((_t(x), _t(y)), baselines=(0.1, -0.2), target=1)
    diff = _max_diff(as_input_shape(exp, input=None), ref)
    assert diff < TOL, diff
    _assert_delta(exp)
    bgx, bgy = rng.normal(size=(2, 3)), rng.normal(size=(2, 2))
    shap_exp = DeepLiftShap(model).explain((x, y), target=0, baselines=(bgx, bgy))
    ref_shap = CaptumDeepLiftShap(net).attribute((_t(x), _t(y)), baselines=(_t(bgx), _t(bgy)), target=0)
    assert _max_diff(as_input_shape(shap_exp, input=None), ref_shap) < TOL
    _assert_delta(shap_exp)


def test_keras_token_ids_are_refused_by_name():
    keras = pytest.importorskip("keras")
    ids_in = keras.Input((5,), dtype="int64")
    h = keras.layers.Flatten()(keras.layers.Embedding(10, 3)(ids_in))
    model = keras.Model(ids_in, keras.layers.Dense(1, activation="tanh")(h))
    with pytest.raises(UnsupportedModelError, match="DeepLift explains token ids on their embedding for torch models"):
        DeepLift(model).explain(np.array([[1, 2, 3, 4, 5]]), target=0, baseline=0)
