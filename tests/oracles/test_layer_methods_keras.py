"""The layer methods on Keras 3 models equal the same methods on their PyTorch twins (the Keras weights
copied), in float64; the torch methods are checked against Captum in test_layer_methods_captum.py."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras", minversion="3")
if keras.backend.backend() != "tensorflow":
    pytest.skip(f"these tests run Keras on its TensorFlow backend, got {keras.backend.backend()!r}", allow_module_level=True)
torch = pytest.importorskip("torch")

from xaikit.explainers.gradients.layer_methods import (  # noqa: E402
    InternalInfluence,
    LayerActivation,
    LayerConductance,
    LayerGradientXActivation,
    LayerIntegratedGradients,
)

layers = keras.layers
nn = torch.nn
D = "float64"


def copy_dense(linear, dense) -> None:
    kernel, bias = (np.asarray(w) for w in dense.get_weights())
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(kernel.T.copy()))
        linear.bias.copy_(torch.from_numpy(bias))


@pytest.fixture(scope="module")
def mlp_pair():
    keras.utils.set_random_seed(0)
    inp = keras.Input((4,), dtype=D)
    h = layers.Dense(6, activation="tanh", name="d1", dtype=D)(inp)
    h = layers.Dense(5, name="d2", dtype=D)(h)
    h = layers.Activation("tanh", name="act", dtype=D)(h)
    out = layers.Dense(3, name="d3", dtype=D)(h)
    model = keras.Model(inp, out)
    net = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)).double().eval()
    for lin, name in ((net[0], "d1"), (net[2], "d2"), (net[4], "d3")):
        copy_dense(lin, model.get_layer(name))
    return model, net


@pytest.fixture(scope="module")
def token_pair():
    keras.utils.set_random_seed(1)
    inp = keras.Input((5,), dtype="int64")
    e = layers.Embedding(8, 3, name="emb", dtype=D)(inp)
    h = layers.Flatten(dtype=D)(e)
    out = layers.Dense(2, name="head", dtype=D)(h)
    model = keras.Model(inp, out)
    net = nn.Sequential(nn.Embedding(8, 3), nn.Flatten(), nn.Linear(15, 2)).double().eval()
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(np.asarray(model.get_layer("emb").get_weights()[0])))
    copy_dense(net[2], model.get_layer("head"))
    return model, net


def test_layer_methods_keras_equal_torch(mlp_pair):
    model, net = mlp_pair
    X = np.random.default_rng(0).normal(size=(4, 4))
    target = [0, 1, 2, 0]
    for cls, kw in ((LayerIntegratedGradients, {"n_steps": 12}), (LayerGradientXActivation, {}),
                    (LayerConductance, {"n_steps": 8}), (InternalInfluence, {"n_steps": 8, "baseline": 0.3})):
        ours = cls(model, layer="act").explain(X, target=target, **kw)
        twin = cls(net, layer="3").explain(X, target=target, **kw)
        assert np.abs(twin.values).max() > 1e-3
        np.testing.assert_allclose(ours.values, twin.values, rtol=0, atol=1e-10 * np.abs(twin.values).max(), err_msg=cls.name)
    acts = LayerActivation(model, layer="act").explain(X)
    np.testing.assert_allclose(acts.values, LayerActivation(net, layer="3").explain(X).values, rtol=1e-12)
    at_input = LayerIntegratedGradients(model, layer="d3", attribute_to_layer_input=True).explain(X, target=1, n_steps=12)
    twin = LayerIntegratedGradients(net, layer="4", attribute_to_layer_input=True).explain(X, target=1, n_steps=12)
    np.testing.assert_allclose(at_input.values, twin.values, rtol=0, atol=1e-10 * np.abs(twin.values).max())


def test_token_ids_on_keras_embedding(token_pair):
    model, net = token_pair
    ids = np.array([[3, 1, 7, 0, 0], [2, 2, 5, 6, 0]])
    ours = LayerIntegratedGradients(model, layer="emb", summed="last").explain(ids, target=1, baseline=0, n_steps=6)
    twin = LayerIntegratedGradients(net, layer="0", summed="last").explain(ids, target=1, baseline=0, n_steps=6)
    assert ours.input_shape == (5,)
    np.testing.assert_allclose(ours.values, twin.values, rtol=0, atol=1e-10 * np.abs(twin.values).max())
    # a linear model after the embedding: the attributions sum to f(x) - f(pad-only) exactly
    assert np.abs(ours.diagnostics["completeness_gap"]).max() < 1e-10
