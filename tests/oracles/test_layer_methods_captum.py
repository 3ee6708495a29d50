"""Layer and neuron methods against Captum 0.9 (same names there), on small networks built here.

Same model, inputs, targets, baselines and quadrature: the attributions agree to 1e-6 relative to
their largest value in float64 and 1e-4 in float32 (Captum computes in the model's dtype and
rounds its Gauss-Legendre nodes and weights to float32). Models: an MLP, a small CNN on 8 x 8 images,
a token-id model (``nn.Embedding`` + GRU + linear; baseline the padding id 0), a two-input model
(token ids and an integer attention mask), a model taking ``additional_forward_args`` (a per-row
array and a number), and one that calls the same module twice (refused for that module).
"""

from __future__ import annotations

import numpy as np
import pytest

from xaikit.errors import InvalidParameterError
from xaikit.explainers.gradients.layer_methods import (
    InternalInfluence,
    LayerActivation,
    LayerConductance,
    LayerGradientXActivation,
    LayerIntegratedGradients,
    NeuronGradient,
    NeuronIntegratedGradients,
    embedding_layer,
)

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients"),
    pytest.mark.filterwarnings("ignore:.*required_grads.*"),
]

torch = pytest.importorskip("torch")
ca = pytest.importorskip("captum.attr")
nn = torch.nn

TOL = {torch.float64: 1e-6, torch.float32: 1e-4}


def rel(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Largest difference relative to the largest reference value."""
    theirs = np.asarray(theirs, dtype=np.float64)
    ours = np.asarray(ours, dtype=np.float64).reshape(theirs.shape)
    return float(np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-300))


def np_(t):
    return t.detach().cpu().numpy()


def layer_values(exp, n: int) -> np.ndarray:
    return exp.values[..., 0].reshape(n, *exp.input_shape)


# ---------------------------------------------------------------- models


def mlp(dtype):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)).to(dtype).eval()


def cnn(dtype):
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 4, 3), nn.Tanh(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)).to(dtype).eval()


class TokenNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(10, 4, padding_idx=0)
        self.rnn = nn.GRU(4, 5, batch_first=True)
        self.head = nn.Linear(5, 3)

    def forward(self, ids):
        h, _ = self.rnn(self.emb(ids))
        return self.head(h[:, -1])


class MaskedNet(nn.Module):
    """Token ids and an attention mask (0/1 integers): a masked mean of the embeddings."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(10, 4, padding_idx=0)
        self.hidden = nn.Linear(4, 6)
        self.head = nn.Linear(6, 2)

    def forward(self, ids, mask):
        m = mask.to(self.hidden.weight.dtype)[..., None]
        e = self.emb(ids) * m
        pooled = e.sum(1) / m.sum(1).clamp(min=1.0)
        return self.head(torch.tanh(self.hidden(pooled)))


class ArgsNet(nn.Module):
    """forward(x, scale, shift): ``scale`` per row (n, 1), ``shift`` a number."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.b = nn.Linear(4, 2)

    def forward(self, x, scale, shift):
        return self.b(torch.tanh(self.a(x) * scale + shift))


class Twice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 3)
        self.other = nn.Linear(3, 3)
        self.head = nn.Linear(3, 2)

    def forward(self, x):
        return self.head(torch.tanh(self.lin(torch.tanh(self.lin(self.other(x))))))


def seeded(net, dtype):
    torch.manual_seed(2)
    return net.to(dtype).eval()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 10, size=(4, 6))
    ids[:, -2:] = 0  # padding
    mask = (ids != 0).astype(np.int64)
    return {"table": rng.normal(size=(5, 4)), "image": rng.normal(size=(3, 1, 8, 8)), "ids": ids, "mask": mask,
            "x3": rng.normal(size=(4, 3)), "scale": rng.uniform(0.5, 2.0, size=(4, 1))}


# ---------------------------------------------------------------- MLP and CNN, both dtypes


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("at_input", [False, True], ids=["layer_output", "layer_input"])
def test_mlp_layer_methods(data, dtype, at_input):
    net = mlp(dtype)
    X = data["table"]
    Xt = torch.tensor(X, dtype=dtype)
    target = [0, 1, 2, 0, 1]
    tt = torch.tensor(target)
    layer = net[2]
    kw = {"layer": "2", "attribute_to_layer_input": at_input}
    cases = [
        (LayerIntegratedGradients(net, **kw).explain(X, target=target, baseline=0.0, n_steps=20),
         ca.LayerIntegratedGradients(net, layer).attribute(Xt, target=tt, n_steps=20, attribute_to_layer_input=at_input)),
        (LayerIntegratedGradients(net, multiply_by_inputs=False, **kw).explain(X, target=target, n_steps=7, method="riemann_middle"),
         ca.LayerIntegratedGradients(net, layer, multiply_by_inputs=False).attribute(
             Xt, target=tt, n_steps=7, method="riemann_middle", attribute_to_layer_input=at_input)),
        (LayerGradientXActivation(net, **kw).explain(X, target=target),
         ca.LayerGradientXActivation(net, layer).attribute(Xt, target=tt, attribute_to_layer_input=at_input)),
        (LayerActivation(net, **kw).explain(X),
         ca.LayerActivation(net, layer).attribute(Xt, attribute_to_layer_input=at_input)),
        (LayerConductance(net, **kw).explain(X, target=target, n_steps=15),
         ca.LayerConductance(net, layer).attribute(Xt, target=tt, n_steps=15, attribute_to_layer_input=at_input)),
        (InternalInfluence(net, **kw).explain(X, target=target, n_steps=15, baseline=0.5),
         ca.InternalInfluence(net, layer).attribute(Xt, baselines=0.5, target=tt, n_steps=15, attribute_to_layer_input=at_input)),
    ]
    for ours, theirs in cases:
        assert ours.input_shape == tuple(theirs.shape[1:])
        assert rel(layer_values(ours, 5), np_(theirs)) < TOL[dtype], ours.method


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_cnn_layer_and_neuron_methods(data, dtype):
    net = cnn(dtype)
    X = data["image"]
    Xt = torch.tensor(X, dtype=dtype)
    target = [2, 0, 1]
    tt = torch.tensor(target)
    layer = net[2]
    base = np.random.default_rng(3).normal(size=(1, 8, 8)) * 0.1
    bt = torch.tensor(base[None], dtype=dtype)
    cases = [
        (LayerIntegratedGradients(net, layer="2").explain(X, target=target, baseline=base, n_steps=16),
         ca.LayerIntegratedGradients(net, layer).attribute(Xt, baselines=bt, target=tt, n_steps=16)),
        (LayerGradientXActivation(net, layer="2").explain(X, target=target),
         ca.LayerGradientXActivation(net, layer).attribute(Xt, target=tt)),
        (LayerConductance(net, layer="2").explain(X, target=target, n_steps=12, baseline=base),
         ca.LayerConductance(net, layer).attribute(Xt, baselines=bt, target=tt, n_steps=12)),
        (InternalInfluence(net, layer="1").explain(X, target=target, n_steps=12, method="riemann_left"),
         ca.InternalInfluence(net, net[1]).attribute(Xt, target=tt, n_steps=12, method="riemann_left")),
        (NeuronGradient(net, layer="2").explain(X, neuron=(1, 2, 3)),
         ca.NeuronGradient(net, layer).attribute(Xt, neuron_selector=(1, 2, 3))),
        (NeuronIntegratedGradients(net, layer="3").explain(X, neuron=(0, 4, 5), baseline=base, n_steps=16),
         ca.NeuronIntegratedGradients(net, net[3]).attribute(Xt, neuron_selector=(0, 4, 5), baselines=bt, n_steps=16)),
    ]
    for ours, theirs in cases:
        assert rel(layer_values(ours, 3), np_(theirs)) < TOL[dtype], ours.method


def test_neuron_methods_mlp_and_completeness(data):
    net = mlp(torch.float64)
    X = data["table"]
    Xt = torch.tensor(X)
    g = NeuronGradient(net, layer="1").explain(X, neuron=4)
    assert rel(layer_values(g, 5), np_(ca.NeuronGradient(net, net[1]).attribute(Xt, neuron_selector=4))) < 1e-6
    ig = NeuronIntegratedGradients(net, layer="1").explain(X, neuron=4, n_steps=30)
    theirs = ca.NeuronIntegratedGradients(net, net[1]).attribute(Xt, neuron_selector=4, n_steps=30)
    assert rel(layer_values(ig, 5), np_(theirs)) < 1e-6
    unit = torch.tanh(net[0](Xt))[:, 4].detach().numpy()
    assert np.allclose(ig.values.sum(axis=(1, 2)), unit - np.tanh(net[0].bias[4].item()), atol=1e-8)
    assert np.abs(ig.diagnostics["completeness_gap"]).max() < 1e-8
    assert g.data is not None and np.array_equal(g.data, X)  # the attributed input
    # one flat unit index per row
    per_row = NeuronGradient(net, layer="1").explain(X, neuron=np.array([0, 1, 2, 3, 4]))
    for i in range(5):
        ref = ca.NeuronGradient(net, net[1]).attribute(Xt[i : i + 1], neuron_selector=i)
        assert rel(per_row.values[i, :, 0], np_(ref)[0]) < 1e-6


# ---------------------------------------------------------------- token ids, two inputs, forward args


def test_token_model_layer_ig_and_gxa(data):
    net = seeded(TokenNet(), torch.float64)
    ids = data["ids"]
    it = torch.tensor(ids)
    exp = LayerIntegratedGradients(net, layer="emb").explain(ids, target=1, baseline=0, n_steps=25)
    theirs = ca.LayerIntegratedGradients(net, net.emb).attribute(it, baselines=torch.zeros_like(it), target=1, n_steps=25)
    assert exp.input_shape == (6, 4)
    assert rel(layer_values(exp, 4), np_(theirs)) < 1e-6
    per_token = LayerIntegratedGradients(net, layer="emb", summed="last").explain(ids, target=1, baseline=0, n_steps=25)
    assert per_token.input_shape == (6,)
    assert rel(per_token.values[..., 0], np_(theirs).sum(-1)) < 1e-6
    # completeness: f(x) - f(pad-only), up to the quadrature error
    f = net(it).detach().numpy()[:, 1]
    fb = net(torch.zeros_like(it)).detach().numpy()[:, 1]
    assert np.allclose(exp.base_values[:, 0], fb, atol=1e-12)
    assert np.allclose(exp.diagnostics["completeness_gap"][:, 0], exp.values.sum(axis=(1, 2)) - (f - fb))
    assert np.abs(exp.diagnostics["completeness_gap"]).max() < 1e-3
    gxa = LayerGradientXActivation(net, layer="emb").explain(ids, target=[0, 1, 2, 0])
    ref = ca.LayerGradientXActivation(net, net.emb).attribute(it, target=torch.tensor([0, 1, 2, 0]))
    assert rel(layer_values(gxa, 4), np_(ref)) < 1e-6
    assert embedding_layer(net, ids) == "emb"


def test_two_inputs_ids_and_mask(data):
    net = seeded(MaskedNet(), torch.float64)
    ids, mask = data["ids"], data["mask"]
    it, mt = torch.tensor(ids), torch.tensor(mask)
    exp = LayerIntegratedGradients(net, layer="emb").explain((ids, mask), target=1, baseline=(0, None), n_steps=20)
    theirs = ca.LayerIntegratedGradients(net, net.emb).attribute(
        (it, mt), baselines=(torch.zeros_like(it), mt), target=1, n_steps=20)
    assert rel(layer_values(exp, 4), np_(theirs)) < 1e-6
    # the same as a dict of keyword arguments, and with the mask as an additional forward argument
    as_dict = LayerIntegratedGradients(net, layer="emb").explain({"ids": ids, "mask": mask}, target=1, baseline={"ids": 0}, n_steps=20)
    as_args = LayerIntegratedGradients(net, layer="emb").explain(ids, target=1, baseline=0, n_steps=20, additional_forward_args=(mask,))
    assert np.allclose(as_dict.values, exp.values, rtol=0, atol=1e-14)
    assert np.allclose(as_args.values, exp.values, rtol=0, atol=1e-14)
    # the recorded parameters describe arrays instead of holding them
    assert isinstance(as_args.params["additional_forward_args"], str) and isinstance(exp.params["baseline"], str)
    # a layer after the inputs meet: the hidden layer, attributed at its input and its output
    for at_input in (False, True):
        ours = LayerConductance(net, layer="hidden", attribute_to_layer_input=at_input)
        with pytest.raises(InvalidParameterError, match="baseline"):
            ours.explain((ids, mask), target=0, baseline=(0, 1))  # a path through token ids is refused
        hidden = LayerGradientXActivation(net, layer="hidden", attribute_to_layer_input=at_input).explain((ids, mask), target=0)
        ref = ca.LayerGradientXActivation(net, net.hidden).attribute((it, mt), target=0, attribute_to_layer_input=at_input)
        assert rel(layer_values(hidden, 4), np_(ref)) < 1e-6
    assert embedding_layer(net, (ids, mask), 0) == "emb"
    with pytest.raises(InvalidParameterError, match="input"):
        embedding_layer(net, (ids, mask), 1)


def test_additional_forward_args(data):
    net = seeded(ArgsNet(), torch.float64)
    X, scale = data["x3"], data["scale"]
    Xt, st = torch.tensor(X), torch.tensor(scale)
    args = (scale, 0.25)
    targs = (st, 0.25)
    pairs = [
        (LayerIntegratedGradients(net, layer="a").explain(X, target=1, n_steps=10, additional_forward_args=args),
         ca.LayerIntegratedGradients(net, net.a).attribute(Xt, target=1, n_steps=10, additional_forward_args=targs)),
        (LayerConductance(net, layer="a").explain(X, target=1, n_steps=10, additional_forward_args=args),
         ca.LayerConductance(net, net.a).attribute(Xt, target=1, n_steps=10, additional_forward_args=targs)),
        (InternalInfluence(net, layer="b", attribute_to_layer_input=True).explain(X, target=0, n_steps=10, additional_forward_args=args),
         ca.InternalInfluence(net, net.b).attribute(Xt, target=0, n_steps=10, additional_forward_args=targs,
                                                    attribute_to_layer_input=True)),
        (NeuronIntegratedGradients(net, layer="a").explain(X, neuron=2, n_steps=10, additional_forward_args=args),
         ca.NeuronIntegratedGradients(net, net.a).attribute(Xt, neuron_selector=2, n_steps=10, additional_forward_args=targs)),
    ]
    for ours, theirs in pairs:
        assert rel(layer_values(ours, 4), np_(theirs)) < 1e-6, ours.method
    # the per-row argument matters: other scales give other attributions
    other = LayerIntegratedGradients(net, layer="a").explain(X, target=1, n_steps=10, additional_forward_args=(scale * 2, 0.25))
    assert rel(other.values, pairs[0][0].values) > 1e-3


def test_module_called_twice_is_explained_at_its_last_call_and_refused_for_a_path_through_it(data):
    net = seeded(Twice(), torch.float64)
    X = data["x3"]
    with pytest.raises(InvalidParameterError, match="'lin' ran 2 times .* values are replaced"):
        LayerIntegratedGradients(net, layer="lin").explain(X, target=0)
    # activations and gradients are read at the last call, as Captum's hooks keep it
    ours = LayerActivation(net, layer="lin").explain(X)
    assert rel(layer_values(ours, 4), np_(ca.LayerActivation(net, net.lin).attribute(torch.tensor(X)))) < 1e-12
    ours = LayerGradientXActivation(net, layer="lin").explain(X, target=1)
    theirs = ca.LayerGradientXActivation(net, net.lin).attribute(torch.tensor(X), target=1)
    assert rel(layer_values(ours, 4), np_(theirs)) < 1e-12
    # the other layers of the same model are explained
    ours = LayerIntegratedGradients(net, layer="other").explain(X, target=0, n_steps=10)
    theirs = ca.LayerIntegratedGradients(net, net.other).attribute(torch.tensor(X), target=0, n_steps=10)
    assert rel(layer_values(ours, 4), np_(theirs)) < 1e-6


# ---------------------------------------------------------------- batching, rows, errors


def test_batch_size_and_rows_change_nothing(data):
    net = seeded(TokenNet(), torch.float64)
    ids = data["ids"]
    full = LayerIntegratedGradients(net, layer="emb").explain(ids, target=2, baseline=0, n_steps=9)
    small = LayerIntegratedGradients(net, layer="emb").explain(ids, target=2, baseline=0, n_steps=9, batch_size=4)
    assert np.allclose(small.values, full.values, rtol=0, atol=1e-13)
    for i in range(ids.shape[0]):
        one = LayerIntegratedGradients(net, layer="emb").explain(ids[i : i + 1], target=2, baseline=0, n_steps=9)
        assert np.allclose(one.values[0], full.values[i], rtol=0, atol=1e-13)
    cnet = cnn(torch.float64)
    X = data["image"]
    whole = LayerConductance(cnet, layer="2").explain(X, target=1, n_steps=6)
    chunked = LayerConductance(cnet, layer="2").explain(X, target=1, n_steps=6, batch_size=5)  # 7 nodes a row: rows split
    assert np.allclose(chunked.values, whole.values, rtol=0, atol=1e-13)


def test_errors_name_the_parameter(data):
    net = mlp(torch.float64)
    X = data["table"]
    with pytest.raises(InvalidParameterError, match="target: LayerActivation"):
        LayerActivation(net, layer="1").explain(X, target=0)
    with pytest.raises(InvalidParameterError, match="summed"):
        LayerActivation(net, layer="1", summed="first")
    with pytest.raises(InvalidParameterError, match="neuron: expected a tuple of 1"):
        NeuronGradient(net, layer="1").explain(X, neuron=(1, 2))
    with pytest.raises(InvalidParameterError, match="neuron: expected an index in"):
        NeuronGradient(net, layer="1").explain(X, neuron=6)
    with pytest.raises(InvalidParameterError, match=r"baseline: expected a number, an array shaped like one row"):
        LayerIntegratedGradients(net, layer="1").explain(X, target=0, baseline=np.zeros(3))
    with pytest.raises(InvalidParameterError, match="additional_forward_args"):
        LayerIntegratedGradients(net, layer="1").explain(X, target=0, additional_forward_args=(np.zeros((2, 1)),))
    with pytest.raises(InvalidParameterError, match="X: NeuronGradient attributes to one floating-point input, got 2"):
        NeuronGradient(nn.Bilinear(4, 4, 2).double(), layer="").explain((X, X), neuron=0)
    tok = seeded(TokenNet(), torch.float64)
    with pytest.raises(InvalidParameterError, match="integer baseline"):
        LayerIntegratedGradients(tok, layer="emb").explain(data["ids"], target=0, baseline=0.5)
