"""Token ids on Keras models, explained through the embedding that takes them, as on torch: the Keras
adapter's ``embedding_of``, ``gradients`` (several layers, a neuron) and ``predict_replaced``, and the
methods of input gradients on a Keras text model equal to the same methods on its torch twin (the Keras
weights copied), in float64, with an integer mask as a second input too."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras", minversion="3")
if keras.backend.backend() != "tensorflow":
    pytest.skip(f"these tests run Keras on its TensorFlow backend, got {keras.backend.backend()!r}", allow_module_level=True)
torch = pytest.importorskip("torch")

import xaikit as xk  # noqa: E402
from xaikit.errors import InvalidParameterError  # noqa: E402
from xaikit.explainers.gradients.layer_methods import (  # noqa: E402
    LayerIntegratedGradients,
    NeuronGradient,
    NeuronIntegratedGradients,
)
from xaikit.models.keras import KerasModel  # noqa: E402

layers = keras.layers
nn = torch.nn
D = "float64"
T, E, H, V = 6, 4, 8, 12  # tokens per row, embedding width, hidden units, vocabulary


class TorchText(nn.Module):
    """ids -> embedding (times the mask, when given) -> flatten -> dense tanh -> dense 3."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(V, E)
        self.hidden = nn.Linear(T * E, H)
        self.out = nn.Linear(H, 3)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        e = self.emb(ids)
        if mask is not None:
            e = e * mask[..., None].to(e.dtype)
        return self.out(torch.tanh(self.hidden(e.flatten(1))))


def _copy(model: keras.Model, net: TorchText) -> TorchText:
    with torch.no_grad():
        net.emb.weight.copy_(torch.from_numpy(np.asarray(model.get_layer("emb").get_weights()[0])))
        for lin, name in ((net.hidden, "hidden"), (net.out, "out")):
            kernel, bias = (np.asarray(w) for w in model.get_layer(name).get_weights())
            lin.weight.copy_(torch.from_numpy(kernel.T.copy()))
            lin.bias.copy_(torch.from_numpy(bias))
    return net.eval()


def _keras_text(masked: bool) -> keras.Model:
    keras.utils.set_random_seed(3)
    ids = keras.Input((T,), dtype="int32", name="ids")
    e = layers.Embedding(V, E, name="emb", dtype=D, embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0))(ids)
    inputs = [ids]
    if masked:
        mask = keras.Input((T,), dtype="int32", name="mask")
        e = e * keras.ops.expand_dims(keras.ops.cast(mask, D), -1)
        inputs.append(mask)
    h = layers.Dense(H, activation="tanh", name="hidden", dtype=D)(layers.Flatten(dtype=D)(e))
    out = layers.Dense(3, name="out", dtype=D)(h)
    return keras.Model(inputs if masked else ids, out)


@pytest.fixture(scope="module")
def pair() -> tuple[keras.Model, TorchText]:
    model = _keras_text(masked=False)
    return model, _copy(model, TorchText().double())


@pytest.fixture(scope="module")
def masked_pair() -> tuple[keras.Model, TorchText]:
    model = _keras_text(masked=True)
    return model, _copy(model, TorchText().double())


@pytest.fixture(scope="module")
def ids() -> np.ndarray:
    return np.random.default_rng(0).integers(1, V, size=(3, T))


@pytest.fixture(scope="module")
def mask() -> np.ndarray:
    m = np.ones((3, T), dtype=np.int64)
    m[0, 3:] = 0
    return m


def _close(ours: np.ndarray, twin: np.ndarray) -> None:
    assert np.abs(twin).max() > 1e-3  # a comparison that means something
    np.testing.assert_allclose(ours, twin, rtol=0, atol=1e-9 * np.abs(twin).max())


def test_adapter_finds_the_embedding_and_replaces_its_output(masked_pair, ids, mask):
    model, net = masked_pair
    m = KerasModel(model)
    assert m.embedding_of((ids, mask), 0) == "emb"
    assert m.embedding_of((ids, mask), 1) is None  # the mask is multiplied in, not embedded
    with pytest.raises(InvalidParameterError, match=r"position: expected an input position in \[0, 2\), got 2"):
        m.embedding_of((ids, mask), 2)
    own = m.layer_activations((ids, mask), "emb")
    np.testing.assert_allclose(own, net.emb(torch.from_numpy(ids)).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(m.predict_replaced((ids, mask), [("emb", "output", own)], batch_size=2),
                               m.predict((ids, mask)), rtol=1e-12)
    values = np.random.default_rng(1).normal(size=own.shape)
    v = torch.from_numpy(values).requires_grad_(True)
    out = net.out(torch.tanh(net.hidden((v * torch.from_numpy(mask)[..., None].double()).flatten(1))))
    np.testing.assert_allclose(m.predict_replaced((ids, mask), [("emb", "output", values)]), out.detach().numpy(), rtol=1e-12)
    # gradients at the replaced values, as torch's adapter gives them
    target = np.array([1, 0, 2])
    t_model = xk.adapt(net)
    grads, [(a_emb, g_emb)] = m.gradients((ids, mask), target, layers=[("emb", "output", values)], batch_size=2)
    t_grads, [(_, tg_emb)] = t_model.gradients((ids, mask), target, layers=[("emb", "output", values)])
    assert grads == [None, None] and t_grads == [None, None]  # integer inputs have no gradient
    np.testing.assert_array_equal(a_emb, values)
    _close(g_emb, tg_emb)
    assert np.abs(g_emb[0, 3:]).max() == 0.0  # masked tokens
    # two layers in one pass: each layer's tensor is where its gradient is taken, so nothing flows back
    # through the later one to the embedding (in both adapters)
    _, [(a1, g1), (a2, g2)] = m.gradients((ids, mask), target, layers=[("emb", "output", None), ("out", "input", None)])
    _, [(ta1, tg1), (ta2, tg2)] = t_model.gradients((ids, mask), target, layers=[("emb", "output", None), ("out", "input", None)])
    np.testing.assert_allclose(a1, own, rtol=1e-12)
    assert np.abs(g1).max() == 0.0 and np.abs(tg1).max() == 0.0
    np.testing.assert_allclose(a2, ta2, rtol=1e-12)
    np.testing.assert_allclose(g2, tg2, rtol=1e-12)
    np.testing.assert_allclose(g2, np.tile(net.out.weight.detach().numpy()[target], 1), rtol=1e-12)
    with pytest.raises(InvalidParameterError, match=r"values: expected the shape of the layer's output 'emb', \(n, 6, 4\)"):
        m.predict_replaced((ids, mask), [("emb", "output", values[:, :3])])
    with pytest.raises(InvalidParameterError, match=r"values: expected a numeric array \(n, ...\) .* n = 3 rows"):
        m.gradients((ids, mask), 0, layers=[("emb", "output", values[:2])])


@pytest.mark.parametrize("method", ["IntegratedGradients", "Saliency", "InputXGradient"])
def test_token_ids_explained_as_on_the_torch_twin(pair, ids, method):
    model, net = pair
    kw = {"baseline": 0, "n_steps": 16} if method == "IntegratedGradients" else {}
    ours = getattr(xk, method)(model).explain(ids, target=1, **kw)
    twin = getattr(xk, method)(net).explain(ids, target=1, **kw)
    assert ours.values.shape == (3, T, 1) and ours.input_shape == (T,)  # one value per token
    _close(ours.values, twin.values)
    np.testing.assert_array_equal(ours.data, ids)
    if method == "IntegratedGradients":
        # the embedding is the only path from the ids: the attributions sum to f(ids) - f(pad ids)
        assert np.abs(ours.diagnostics["completeness_gap"]).max() < 1e-6
        np.testing.assert_allclose(ours.base_values, twin.base_values, rtol=1e-12)


@pytest.mark.parametrize("method", ["IntegratedGradients", "Saliency", "InputXGradient"])
def test_an_integer_mask_as_second_input_is_held_fixed(masked_pair, ids, mask, method):
    model, net = masked_pair
    kw = {"baseline": 0, "n_steps": 16} if method == "IntegratedGradients" else {}
    ours = getattr(xk, method)(model).explain((ids, mask), target=2, **kw)
    twin = getattr(xk, method)(net).explain((ids, mask), target=2, **kw)
    assert ours.values.shape == twin.values.shape == (3, T, 1)  # the ids alone are attributed
    _close(ours.values, twin.values)
    assert np.abs(ours.values[0, 3:]).max() == 0.0  # masked tokens change nothing, so they get nothing


def test_layer_integrated_gradients_on_the_embedding_with_a_mask(masked_pair, ids, mask):
    model, net = masked_pair
    ours = LayerIntegratedGradients(model, layer="emb", summed="last").explain((ids, mask), target=0, baseline=0, n_steps=8)
    twin = LayerIntegratedGradients(net, layer="emb", summed="last").explain((ids, mask), target=0, baseline=0, n_steps=8)
    _close(ours.values, twin.values)


@pytest.fixture(scope="module")
def dense_pair() -> tuple[keras.Model, nn.Module]:
    keras.utils.set_random_seed(4)
    inp = keras.Input((5,), dtype=D)
    h = layers.Dense(4, activation="tanh", name="d1", dtype=D)(inp)
    out = layers.Dense(2, name="d2", dtype=D)(h)
    model = keras.Model(inp, out)
    net = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2)).double().eval()
    with torch.no_grad():
        for lin, name in ((net[0], "d1"), (net[2], "d2")):
            kernel, bias = (np.asarray(w) for w in model.get_layer(name).get_weights())
            lin.weight.copy_(torch.from_numpy(kernel.T.copy()))
            lin.bias.copy_(torch.from_numpy(bias))
    return model, net


def test_neuron_methods_take_keras_models(dense_pair):
    model, net = dense_pair
    X = np.random.default_rng(2).normal(size=(4, 5))
    # the gradient of unit 3 of d1's output (after its tanh) by hand: (1 - tanh^2) * kernel[:, 3]
    kernel, bias = (np.asarray(w) for w in model.get_layer("d1").get_weights())
    z = X @ kernel[:, 3] + bias[3]
    grads, results = KerasModel(model).gradients(X, None, neuron=("d1", 3), batch_size=3)
    assert results == []
    np.testing.assert_allclose(grads[0], (1 - np.tanh(z) ** 2)[:, None] * kernel[:, 3], rtol=1e-12)
    for cls, kw in ((NeuronGradient, {}), (NeuronIntegratedGradients, {"n_steps": 8})):
        ours = cls(model, layer="d1").explain(X, neuron=[0, 1, 2, 3], **kw)
        twin = cls(net, layer="1").explain(X, neuron=[0, 1, 2, 3], **kw)
        _close(ours.values, twin.values)
    with pytest.raises(InvalidParameterError, match="layer: unknown layer 'nope'"):
        KerasModel(model).gradients(X, None, neuron=("nope", 0))


def test_ids_given_to_a_float_input_reach_the_embedding_and_inputs_without_one_are_refused(ids):
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((T,), dtype=D), layers.Embedding(V, E, name="emb", dtype=D),
                              layers.Flatten(dtype=D), layers.Dense(2, name="head", dtype=D)])
    net = nn.Sequential(nn.Embedding(V, E), nn.Flatten(), nn.Linear(T * E, 2)).double().eval()
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(np.asarray(model.get_layer("emb").get_weights()[0])))
        kernel, bias = (np.asarray(w) for w in model.get_layer("head").get_weights())
        net[2].weight.copy_(torch.from_numpy(kernel.T.copy()))
        net[2].bias.copy_(torch.from_numpy(bias))
    # the model casts the ids to its declared float dtype before the embedding: the same values reach it
    assert KerasModel(model).embedding_of(ids, 0) == "emb"
    ours = xk.IntegratedGradients(model).explain(ids, target=1, baseline=0, n_steps=4)
    twin = xk.IntegratedGradients(net).explain(ids, target=1, baseline=0, n_steps=4)
    _close(ours.values, twin.values)
    no_embedding = keras.Sequential([keras.Input((T,), dtype="uint8"), layers.Dense(2)])
    assert KerasModel(no_embedding).embedding_of(ids.astype(np.uint8), 0) is None
    with pytest.raises(InvalidParameterError, match="X: no input is floating point and no integer input goes to an embedding"):
        xk.Saliency(no_embedding).explain(ids.astype(np.uint8), target=0)
