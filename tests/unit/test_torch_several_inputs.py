"""The torch adapter takes models as users have them: several inputs, token ids, keyword inputs,
fixed arguments, and gradients at layers with their values replaced. Oracle: torch.autograd on the
same module, computed here by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import xaikit as xk
from xaikit.errors import InvalidParameterError, ModelOutputError, UnsupportedModelError
from xaikit.models.torch import TorchModel


class TextAndTable(nn.Module):
    """Token ids through an embedding, plus a table, plus an optional scale argument."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.emb = nn.Embedding(10, 3)
        self.lin = nn.Linear(3 + 2, 2)

    def forward(self, ids: torch.Tensor, table: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        pooled = torch.tanh(self.emb(ids)).mean(dim=1)
        return self.lin(torch.cat([pooled, table], dim=1)) * scale


@pytest.fixture(scope="module")
def net() -> TextAndTable:
    return TextAndTable().double()


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 10, size=(4, 5)), rng.normal(size=(4, 2))


def _oracle(net: TextAndTable, ids: np.ndarray, table: np.ndarray, target: np.ndarray, scale: float = 1.0):
    t = torch.from_numpy(table).requires_grad_(True)
    emb_out: list[torch.Tensor] = []
    h = net.emb.register_forward_hook(lambda m, i, o: emb_out.append(o))
    out = net(torch.from_numpy(ids), t, scale)
    h.remove()
    picked = out.gather(1, torch.from_numpy(target)[:, None]).sum()
    g_table, g_emb = torch.autograd.grad(picked, [t, emb_out[0]])
    return out.detach().numpy(), g_table.numpy(), g_emb.numpy(), emb_out[0].detach().numpy()


def test_several_inputs_token_ids_untouched_and_a_constant(net, data):
    ids, table = data
    target = np.array([0, 1, 1, 0])
    m = TorchModel(net)
    out, g_table, g_emb, emb = _oracle(net, ids, table, target, 2.0)
    np.testing.assert_allclose(m.predict((ids, table, 2.0)), out, rtol=1e-12)
    np.testing.assert_allclose(m.predict({"ids": ids, "table": table, "scale": 2.0}), out, rtol=1e-12)
    grads = m.gradient((ids, table, 2.0), target, batch_size=3)
    assert grads[0] is None and grads[2] is None  # token ids and a constant have no gradient
    np.testing.assert_allclose(grads[1], g_table, rtol=1e-12)
    by_name = m.gradient({"ids": ids, "table": table, "scale": 2.0}, target)
    assert set(by_name) == {"ids", "table", "scale"}
    np.testing.assert_allclose(by_name["table"], g_table, rtol=1e-12)
    acts, g = m.layer_gradients((ids, table, 2.0), "emb", target, batch_size=2)
    np.testing.assert_allclose(acts, emb, rtol=1e-12)
    np.testing.assert_allclose(g, g_emb, rtol=1e-12)


def test_layer_values_replaced_give_the_gradient_there(net, data):
    ids, table = data
    target = np.zeros(4, dtype=np.int64)
    m = TorchModel(net)
    values = np.random.default_rng(1).normal(size=(4, 5, 3))
    acts, g = m.layer_gradients((ids, table), "emb", target, values=values)
    np.testing.assert_array_equal(acts, values)
    v = torch.from_numpy(values).requires_grad_(True)
    pooled = torch.tanh(v).mean(dim=1)
    out = net.lin(torch.cat([pooled, torch.from_numpy(table)], dim=1))
    (expected,) = torch.autograd.grad(out[:, 0].sum(), v)
    np.testing.assert_allclose(g, expected.numpy(), rtol=1e-12)
    with pytest.raises(InvalidParameterError, match="values: expected one row"):
        m.layer_gradients((ids, table), "emb", target, values=values[:2])


def test_layer_input_activations_and_a_neuron(net, data):
    ids, table = data
    m = TorchModel(net)
    acts = m.layer_activations((ids, table), "lin", at="input")
    pooled = torch.tanh(net.emb(torch.from_numpy(ids))).mean(dim=1).detach().numpy()
    np.testing.assert_allclose(acts, np.concatenate([pooled, table], axis=1), rtol=1e-12)
    a, g = m.layer_gradients((ids, table), "lin", [1, 1, 0, 0], at="input")
    w = net.lin.weight.detach().numpy()
    np.testing.assert_allclose(g, w[[1, 1, 0, 0]], rtol=1e-12)
    # a neuron of the linear layer's output (unit 1): its gradient on the table is that unit's weights
    grads, _ = m.gradients((ids, table, 3.0), None, neuron=("lin", 1))
    assert grads[0] is None
    np.testing.assert_allclose(grads[1], np.tile(w[1, 3:], (4, 1)), rtol=1e-12)  # the scale comes after the layer


def test_wrong_number_of_inputs_and_rows_are_named(net, data):
    ids, table = data
    m = TorchModel(net)
    with pytest.raises(InvalidParameterError, match=r"X\[1\]: every input must have one row per explained row \(4"):
        m.predict((ids, table[:3]))
    with pytest.raises(InvalidParameterError, match=r"forward .* does not take the 4 input"):
        m.predict((ids, table, 1.0, table))
    with pytest.raises(InvalidParameterError, match="at: expected one of"):
        m.layer_activations((ids, table), "lin", at="middle")


def test_logits_skip_the_final_softmax_or_sigmoid_and_are_refused_where_it_is_unknown(net):
    torch.manual_seed(0)
    lin = nn.Linear(3, 2).double()
    x = np.random.default_rng(0).normal(size=(4, 3))
    for final in (nn.Softmax(dim=1), nn.Sigmoid()):
        m = xk.adapt(nn.Sequential(lin, final, nn.Dropout(0.1)), output="logits")
        np.testing.assert_allclose(m.predict(x), lin(torch.from_numpy(x)).detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(m.gradient(x, 1), np.tile(lin.weight[1].detach().numpy(), (4, 1)), rtol=1e-12)
    assert TorchModel(nn.Sequential(lin, nn.Softmax(dim=1))).predict(x).sum(axis=1) == pytest.approx(1.0)  # untouched
    with pytest.raises(InvalidParameterError, match="output: 'logits' .* the last layer of TextAndTable could not be identified"):
        xk.adapt(net, output="logits")
    with pytest.raises(InvalidParameterError, match="output: 'logits' .* got function"):
        xk.adapt(lambda X: X, output="logits")


def test_a_layer_run_twice_is_explained_at_its_last_call_as_captum():
    from captum.attr import LayerGradientXActivation

    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.lin, self.out = nn.Linear(3, 3), nn.Linear(3, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.out(torch.tanh(self.lin(torch.tanh(self.lin(x)))))

    net = Twice().double()
    x = np.random.default_rng(1).normal(size=(4, 3))
    acts, grads = TorchModel(net).layer_gradients(x, "lin", 1)
    ref = LayerGradientXActivation(net, net.lin).attribute(torch.from_numpy(x), target=1)
    np.testing.assert_allclose(acts * grads, ref.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(TorchModel(net).layer_activations(x, "lin"),
                               net.lin(torch.tanh(net.lin(torch.from_numpy(x)))).detach().numpy(), rtol=1e-12)
    with pytest.raises(InvalidParameterError, match="layer: 'lin' ran 2 times .* values are replaced"):
        TorchModel(net).layer_gradients(x, "lin", 1, values=acts)
    with pytest.raises(InvalidParameterError, match="layer: 'out' did not run"):
        TorchModel(Unused().double()).layer_activations(x, "out")


class Unused(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin, self.out = nn.Linear(3, 2), nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x)


class Heads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.a, self.b = nn.Linear(3, 2), nn.Linear(3, 4)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"score": self.a(x), "aux": self.b(x)}


def test_dict_outputs_are_chosen_by_head():
    net = Heads().double()
    x = np.random.default_rng(2).normal(size=(3, 3))
    np.testing.assert_allclose(TorchModel(net, head="aux").predict(x), net.b(torch.from_numpy(x)).detach().numpy())
    exp = xk.Saliency(TorchModel(net, head="score"), abs=False).explain(x, target=1)
    np.testing.assert_allclose(exp.values[:, :, 0], np.tile(net.a.weight[1].detach().numpy(), (3, 1)), rtol=1e-12)
    with pytest.raises(ModelOutputError, match="dict of 2 tensors .* head="):
        TorchModel(net).predict(x)
    with pytest.raises(InvalidParameterError, match=r"head: expected one of the module's outputs \['score', 'aux'\], got 'logit'"):
        TorchModel(net, head="logit").predict(x)


def test_torchscript_modules_are_refused_where_hooks_are_needed():
    """TorchScript takes no module hooks: the methods that read layers or change backward rules say so
    instead of giving plain gradients; the methods of input gradients work."""
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2)).double().eval()
    scripted = torch.jit.script(plain)
    X = np.random.default_rng(3).normal(size=(3, 4))
    assert TorchModel(scripted).capabilities == frozenset({"gradient"})
    with pytest.raises(UnsupportedModelError, match=r"model: GradCam needs a model that offers \['layer_gradients'\]"):
        xk.GradCam(scripted, layer="0")
    for explainer, what in ((xk.GuidedBackprop(scripted), "guided backpropagation"), (xk.DeepLift(scripted), "DeepLIFT"),
                            (xk.Lrp(scripted), "LRP"), (xk.Deconvolution(scripted), "deconvolution")):
        with pytest.raises(UnsupportedModelError, match=f"model: {what} .* TorchScript module"):
            explainer.explain(X, target=1)
    with pytest.raises(UnsupportedModelError, match="model: explaining token ids on the embedding .* TorchScript"):
        TorchModel(torch.jit.script(nn.Sequential(nn.Embedding(5, 2), nn.Flatten(), nn.Linear(4, 1)))).embedding_of(
            np.array([[1, 2]]), 0)
    ig = xk.IntegratedGradients(scripted).explain(X, target=1, n_steps=8)
    np.testing.assert_allclose(ig.values, xk.IntegratedGradients(plain).explain(X, target=1, n_steps=8).values, rtol=1e-12)
