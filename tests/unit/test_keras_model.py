"""Tests of the Keras 3 adapter: predictions, gradients, layer gradients, guided ReLU, output handling,
and agreement with the PyTorch adapter on the same network (channels-last Keras, channels-first torch)
and with Keras' torch backend (in a subprocess, since the backend is fixed per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError, ModelOutputError, UnsupportedModelError
from xaikit.models import adapt

_INSTALL = "pip install 'xaikit[tensorflow]'"
tf = pytest.importorskip("tensorflow", reason=f"the Keras adapter is tested with TensorFlow: {_INSTALL}")
keras = pytest.importorskip("keras", minversion="3", reason=f"the Keras adapter needs Keras 3: {_INSTALL}")
if keras.backend.backend() != "tensorflow":
    pytest.skip(
        f"these tests run Keras on its TensorFlow backend; KERAS_BACKEND is {keras.backend.backend()!r}",
        allow_module_level=True,
    )
KerasModel = pytest.importorskip("xaikit.models.keras").KerasModel
layers = keras.layers


# ---------------------------------------------------------------- models
def keras_cnn(dtype: str = "float64", pool: bool = True) -> keras.Model:
    """conv(3x3, 4) + relu -> conv(3x3, 4) -> ReLU layer -> global average pool (or flatten) -> dense 3,
    on 6 x 6 x 2 images."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((6, 6, 2), dtype=dtype)
    h = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1", dtype=dtype)(inp)
    h = layers.Conv2D(4, 3, padding="same", name="conv2", dtype=dtype)(h)
    h = layers.ReLU(name="relu2", dtype=dtype)(h)
    h = (layers.GlobalAveragePooling2D if pool else layers.Flatten)(name="pool", dtype=dtype)(h)
    out = layers.Dense(3, name="dense", dtype=dtype)(h)
    model = keras.Model(inp, out)
    dense = model.get_layer("dense")
    dense.kernel.assign(dense.kernel * 20.0)  # attributions of order 0.1-1, so that the tolerances mean something
    return model


def torch_copy(model: keras.Model, torch_dtype):
    """The same network in PyTorch, channels first, with the Keras weights copied."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3),
    ).to(torch_dtype)
    with torch.no_grad():
        for conv, name in ((net[0], "conv1"), (net[2], "conv2")):
            kernel, bias = (np.asarray(w) for w in model.get_layer(name).get_weights())
            # Keras kernels are (kh, kw, in, out), torch's (out, in, kh, kw)
            conv.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
            conv.bias.copy_(torch.from_numpy(bias))
        kernel, bias = model.get_layer("dense").get_weights()
        net[6].weight.copy_(torch.from_numpy(np.asarray(kernel).T.copy()))
        net[6].bias.copy_(torch.from_numpy(np.asarray(bias)))
    return net.eval()


def smooth_mlp(dtype: str = "float64", final: str | None = "softmax") -> keras.Model:
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [
            keras.Input((4,), dtype=dtype),
            layers.Dense(6, activation="tanh", name="hidden", dtype=dtype),
            layers.Dense(3, activation=final, name="out", dtype=dtype),
        ]
    )


def to_torch_layout(a: np.ndarray) -> np.ndarray:
    return a.transpose(0, 3, 1, 2)


def to_keras_layout(a: np.ndarray) -> np.ndarray:
    return a.transpose(0, 2, 3, 1)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(5, 6, 6, 2))


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return np.random.default_rng(1).normal(size=(6, 4))


# ---------------------------------------------------------------- adapt and predictions
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_predict_equals_the_model_for_arrays_lists_and_tensors(images, dtype):
    model = keras_cnn(dtype)
    m = adapt(model)
    assert isinstance(m, KerasModel) and adapt(m) is m
    assert m.capabilities == frozenset({"gradient", "layer_gradients"})
    assert m.output == "raw" and m.dtype == dtype and m.backend == "tensorflow"
    expected = np.asarray(model(images.astype(dtype), training=False), dtype=np.float64)
    np.testing.assert_allclose(model.predict(images.astype(dtype), verbose=0), expected, rtol=0, atol=1e-5)
    for given in (images, images.tolist(), images.astype(np.float32), tf.constant(images)):
        out = m.predict(given)
        assert out.dtype == np.float64 and out.shape == (5, 3)
        exact = dtype == "float64" and np.asarray(given).dtype == np.float64
        np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12 if exact else 1e-5)
    assert np.abs(expected).max() > 0.1


def test_batch_size_does_not_change_results(images):
    m = KerasModel(keras_cnn())
    t = np.array([0, 2, 1, 1, 0])
    np.testing.assert_allclose(m.predict(images, batch_size=2), m.predict(images), rtol=0, atol=1e-13)
    np.testing.assert_allclose(m.gradient(images, t, batch_size=2), m.gradient(images, t), rtol=0, atol=1e-13)
    a1, g1 = m.layer_gradients(images, "conv2", t, batch_size=3)
    a2, g2 = m.layer_gradients(images, "conv2", t)
    np.testing.assert_allclose(a1, a2, rtol=0, atol=1e-13)
    np.testing.assert_allclose(g1, g2, rtol=0, atol=1e-13)


def test_inference_mode_dropout_off_and_moving_statistics():
    keras.utils.set_random_seed(2)
    model = keras.Sequential(
        [keras.Input((4,)), layers.Dense(8), layers.BatchNormalization(), layers.Dropout(0.5), layers.Dense(2)]
    )
    bn = model.layers[1]
    bn.moving_mean.assign(np.linspace(-0.5, 0.5, 8).astype("float32"))
    bn.moving_variance.assign(np.linspace(0.5, 2.0, 8).astype("float32"))
    X = np.random.default_rng(3).normal(size=(6, 4))
    m = KerasModel(model)
    expected = np.asarray(model(X.astype("float32"), training=False))
    np.testing.assert_allclose(m.predict(X), expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(m.predict(X[:1]), expected[:1], rtol=0, atol=1e-6)  # rows do not interact
    training = np.asarray(model(X.astype("float32"), training=True))
    assert np.abs(training - expected).max() > 1e-2  # the comparison can tell the modes apart


def test_output_auto_raw_and_probability(rows):
    logits_model = smooth_mlp(final=None)
    raw = KerasModel(logits_model).predict(rows)
    assert KerasModel(logits_model).output == "raw"
    prob = KerasModel(logits_model, output="probability")
    assert prob.output == "probability"
    np.testing.assert_allclose(prob.predict(rows), np.exp(raw) / np.exp(raw).sum(axis=1, keepdims=True), rtol=1e-12)

    softmax_model = smooth_mlp(final="softmax")
    expected = np.asarray(softmax_model(rows))
    auto = KerasModel(softmax_model)
    assert auto.output == "probability"  # it ends with a softmax: its output is explained as it is
    np.testing.assert_allclose(auto.predict(rows), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(KerasModel(softmax_model, output="probability").predict(rows), expected, atol=1e-12)
    np.testing.assert_allclose(KerasModel(softmax_model, output="raw").predict(rows), expected, atol=1e-12)

    one = keras.Sequential([keras.Input((4,), dtype="float64"), layers.Dense(1, dtype="float64")])
    z = KerasModel(one).predict(rows)
    np.testing.assert_allclose(KerasModel(one, output="probability").predict(rows), 1 / (1 + np.exp(-z)), rtol=1e-12)
    sigmoid = keras.Sequential([keras.Input((4,)), layers.Dense(1, activation="sigmoid")])
    assert KerasModel(sigmoid).output == "probability"
    with pytest.raises(InvalidParameterError, match="output"):
        KerasModel(one, output="log_odds")
    with pytest.raises(UnsupportedModelError, match="already adapted with output='raw'"):
        adapt(adapt(one), output="probability")


def test_outputs_in_lists_and_dicts(rows):
    inp = keras.Input((4,), dtype="float64")
    dense = layers.Dense(2, dtype="float64")
    pair = keras.Model(inp, [dense(inp), layers.Dense(5, dtype="float64")(inp)])
    single = keras.Model(inp, dense(inp))
    with pytest.raises(UnsupportedModelError, match="model: the Keras model has 2 outputs"):
        KerasModel(pair)  # its second head would be dropped without a word
    one_item = keras.Model(inp, [dense(inp)])
    np.testing.assert_allclose(KerasModel(one_item).predict(rows), KerasModel(single).predict(rows), rtol=0, atol=0)
    as_dict = keras.Model(inp, {"logits": dense(inp)})
    np.testing.assert_allclose(KerasModel(as_dict).predict(rows), KerasModel(single).predict(rows), rtol=0, atol=0)
    other = keras.Model(inp, {"scores": dense(inp)})
    with pytest.raises(ModelOutputError, match="expected a tensor"):
        KerasModel(other).predict(rows)


def test_adapt_routes_keras_before_functions_and_refuses_keras_2():
    model = smooth_mlp()
    assert callable(model) and isinstance(adapt(model), KerasModel)
    assert isinstance(adapt(layers.Dense(2)), KerasModel)  # a bare layer is a model of its input
    assert not isinstance(adapt(lambda X: X[:, 0]), KerasModel)
    legacy_base = type("Layer", (), {"__module__": "tf_keras.src.engine.base_layer", "__call__": lambda self, x: x})
    legacy = type("Model", (legacy_base,), {"__module__": "tf_keras.src.engine.training"})()
    with pytest.raises(UnsupportedModelError, match="Keras 2 and tf_keras models are not supported"):
        adapt(legacy)


# ---------------------------------------------------------------- gradients
def test_gradient_equals_central_finite_differences(rows):
    model = smooth_mlp(final="softmax")
    m = KerasModel(model)
    t = np.array([0, 1, 2, 2, 1, 0])
    g = m.gradient(rows, t)
    assert g.shape == rows.shape and g.dtype == np.float64
    h = 1e-6
    fd = np.empty_like(rows)
    for j in range(rows.shape[1]):
        step = np.zeros(rows.shape[1])
        step[j] = h
        up = m.predict(rows + step)[np.arange(6), t]
        down = m.predict(rows - step)[np.arange(6), t]
        fd[:, j] = (up - down) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=0, atol=1e-6)
    assert np.abs(g).max() > 1e-2


def test_gradient_of_a_subclassed_model_and_float32_dtype(rows):
    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(3, name="dense")

        def call(self, x):
            return keras.ops.tanh(self.dense(x))

    model = Sub()
    model(rows[:1].astype("float32"))
    m = KerasModel(model)
    assert m.capabilities == frozenset({"gradient", "layer_gradients"})
    g = m.gradient(rows, 1)
    assert g.dtype == np.float32
    x = tf.constant(rows, dtype="float32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(model(x)[:, 1])
    np.testing.assert_allclose(g, tape.gradient(y, x).numpy(), rtol=1e-6, atol=1e-7)
    # the layer's output, read through its call (subclassed models have no layer graph)
    acts, grads = m.layer_gradients(rows, "dense", 0)
    a = model.dense(x)
    np.testing.assert_allclose(acts, a.numpy(), rtol=1e-6)
    np.testing.assert_allclose(grads[:, 0], 1 - np.tanh(a.numpy()[:, 0]) ** 2, rtol=1e-5)
    assert not grads[:, 1:].any()
    assert "call" not in vars(model.dense)  # restored
    with pytest.warns(xk.errors.ApproximationWarning, match="no ReLU"):
        np.testing.assert_allclose(m.gradient(rows, 0, relu="guided"), m.gradient(rows, 0))


def test_gradient_errors_and_bad_inputs(images):
    m = KerasModel(keras_cnn())
    with pytest.raises(InvalidParameterError, match=r"target: expected output indices in \[-3, 3\)"):
        m.gradient(images, 3)
    with pytest.raises(InvalidParameterError, match="target: expected an output index or one per row"):
        m.gradient(images, [0, 1])
    with pytest.raises(InvalidParameterError, match="relu"):
        m.gradient(images, 0, relu="leaky")
    with pytest.raises(InvalidParameterError, match="batch_size"):
        m.gradient(images, 0, batch_size=0)
    with pytest.raises(InvalidParameterError, match=r"X: the model takes inputs of shape \(n, 6, 6, 2\)"):
        m.predict(to_torch_layout(images))  # channels-first images given to a channels-last model
    with pytest.raises(InvalidParameterError, match="X: expected a numeric array"):
        m.predict(np.full((1, 6, 6, 2), "a"))
    with pytest.raises(InvalidParameterError, match="X: expected at least 1 row"):
        m.predict(np.zeros((0, 6, 6, 2)))
    with pytest.raises(InvalidParameterError, match="X"):
        xk.Saliency(keras_cnn()).explain(images[:, :, :, :1], target=0)


def test_token_ids_are_explained_at_a_layer():
    keras.utils.set_random_seed(4)
    model = keras.Sequential(
        [keras.Input((3,), dtype="int32"), layers.Embedding(10, 4, name="emb"), layers.Flatten(), layers.Dense(2)]
    )
    tokens = np.array([[1, 2, 3], [4, 5, 6]])
    m = KerasModel(model)
    np.testing.assert_allclose(m.predict(tokens), np.asarray(model(tokens)), rtol=0, atol=1e-6)
    with pytest.raises(InvalidParameterError, match="X: gradients need floating-point inputs"):
        m.gradient(tokens, 0)
    model.get_layer("emb").trainable = False  # a frozen embedding still gives layer gradients
    acts, grads = m.layer_gradients(tokens, "emb", 1)
    assert acts.shape == grads.shape == (2, 3, 4)
    w = model.layers[-1].kernel.numpy()[:, 1].reshape(3, 4)
    np.testing.assert_allclose(grads, np.broadcast_to(w, (2, 3, 4)), rtol=1e-6)


# ---------------------------------------------------------------- guided ReLU
@pytest.mark.parametrize("relu", ["activation", "layer", "Activation"])
def test_guided_relu_clips_negative_gradients(relu):
    first = layers.Dense(1, use_bias=False, activation="relu" if relu == "activation" else None, dtype="float64")
    after = {"layer": [layers.ReLU(dtype="float64")], "Activation": [layers.Activation("relu", dtype="float64")]}
    second = layers.Dense(1, use_bias=False, dtype="float64")
    model = keras.Sequential([keras.Input((1,), dtype="float64"), first, *after.get(relu, []), second])
    first.kernel.assign([[2.0]])
    second.kernel.assign([[-3.0]])
    before = [(type(layer), getattr(layer, "activation", None)) for layer in model.layers]
    m = KerasModel(model)
    x = np.array([[1.0]])
    assert m.gradient(x, 0).tolist() == [[-6.0]]
    assert m.gradient(x, 0, relu="guided").tolist() == [[0.0]]  # the gradient reaching the ReLU is -3 < 0
    second.kernel.assign([[3.0]])  # the guided copy follows the model's current weights
    assert m.gradient(x, 0, relu="guided").tolist() == [[6.0]]
    assert m.gradient(-x, 0, relu="guided").tolist() == [[0.0]]  # the ReLU is off
    assert m.gradient(x, 0).tolist() == [[6.0]]
    assert [(type(layer), getattr(layer, "activation", None)) for layer in model.layers] == before  # untouched


def test_guided_reaches_relus_in_nested_models(rows):
    keras.utils.set_random_seed(8)
    inner = keras.Sequential([keras.Input((4,)), layers.Dense(5, activation="relu")], name="inner")
    inp = keras.Input((4,))
    model = keras.Model(inp, layers.Dense(1, name="head")(inner(inp)))
    g = KerasModel(model).gradient(rows, 0, relu="guided")
    (W1, b1), (W2, _) = inner.layers[0].get_weights(), model.get_layer("head").get_weights()
    on = rows.astype("float32") @ W1 + b1 > 0
    np.testing.assert_allclose(g, (on * np.maximum(W2[:, 0], 0.0)) @ W1.T, rtol=1e-6, atol=1e-7)
    assert (W2[:, 0] < 0).any()


def test_guided_without_relu_warns_and_relu6_is_not_guided():
    model = keras.Sequential([keras.Input((2,), dtype="float64"), layers.Dense(1, activation="tanh", dtype="float64")])
    m = KerasModel(model)
    for _ in range(2):  # every call, not only the one that copies the model
        with pytest.warns(xk.ApproximationWarning, match="no ReLU"):
            m.gradient(np.ones((1, 2)), 0, relu="guided")
    capped = keras.Sequential(
        [keras.Input((1,), dtype="float64"), layers.ReLU(max_value=6.0, dtype="float64"),
         layers.Dense(1, use_bias=False, kernel_initializer="zeros", dtype="float64")]
    )
    capped.layers[-1].kernel.assign([[-1.0]])
    with pytest.warns(xk.ApproximationWarning):
        assert KerasModel(capped).gradient(np.array([[1.0]]), 0, relu="guided").tolist() == [[-1.0]]


# ---------------------------------------------------------------- layers
def test_layer_gradients_match_a_split_of_the_model(images):
    model = keras_cnn()
    m = KerasModel(model)
    t = np.array([0, 1, 2, 0, 1])
    acts, grads = m.layer_gradients(images, "conv2", t)
    assert acts.shape == grads.shape == (5, 6, 6, 4)  # the layer's own layout: channels last
    x = tf.constant(images)
    h = model.get_layer("conv1")(x)
    a = model.get_layer("conv2")(h)
    with tf.GradientTape() as tape:
        tape.watch(a)
        out = model.get_layer("dense")(model.get_layer("pool")(model.get_layer("relu2")(a)))
        picked = tf.reduce_sum(tf.gather(out, t, batch_dims=1))
    np.testing.assert_allclose(acts, a.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(grads, tape.gradient(picked, a).numpy(), rtol=0, atol=1e-12)
    assert (acts < 0).any()  # before the ReLU layer
    by_object = m.layer_gradients(images, model.get_layer("conv2"), t)
    np.testing.assert_allclose(by_object[1], grads, rtol=0, atol=0)


def test_layer_gradients_with_a_skip_connection_and_at_the_input_layer(rows):
    keras.utils.set_random_seed(6)
    inp = keras.Input((4,), dtype="float64")
    h = layers.Dense(4, activation="tanh", name="a", dtype="float64")(inp)
    h = layers.Dense(4, name="b", dtype="float64")(h)
    out = layers.Dense(2, name="c", dtype="float64")(layers.Add(name="add", dtype="float64")([h, inp]))
    model = keras.Model(inp, out)
    m = KerasModel(model)
    acts, grads = m.layer_gradients(rows, "b", 1)  # the skip connection bypasses "b"
    c = model.get_layer("c").kernel.numpy()[:, 1]
    np.testing.assert_allclose(grads, np.broadcast_to(c, (6, 4)), rtol=0, atol=1e-12)
    expected = np.asarray(keras.Model(inp, model.get_layer("b").output)(rows))
    np.testing.assert_allclose(acts, expected, rtol=0, atol=1e-12)
    input_name = model.layers[0].name
    acts, grads = m.layer_gradients(rows, input_name, 1)
    np.testing.assert_allclose(acts, rows, rtol=0, atol=0)
    np.testing.assert_allclose(grads, m.gradient(rows, 1), rtol=0, atol=1e-12)


def test_layer_gradients_need_nothing_differentiable_before_the_layer():
    # integer inputs, normalised by constants: no tensor before "norm" is watched or needs a gradient
    norm = layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0], name="norm")
    model = keras.Sequential([keras.Input((3,), dtype="int32"), norm, layers.Dense(2, name="d")])
    acts, grads = KerasModel(model).layer_gradients(np.array([[2, 4, 9], [1, 2, 3]]), "norm", 1)
    np.testing.assert_allclose(acts, [[1.0, 1.0, 2.0], [0.0, 0.0, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(grads, np.broadcast_to(model.get_layer("d").kernel.numpy()[:, 1], (2, 3)), rtol=1e-6)


def test_unknown_layer_names_the_parameter_and_lists_layers(images):
    m = KerasModel(keras_cnn())
    with pytest.raises(
        InvalidParameterError, match=r"layer: unknown layer 'features.6' \(str\); available: 'input_layer.*', 'conv1'"
    ):
        m.layer_gradients(images, "features.6", 0)
    with pytest.raises(InvalidParameterError, match="not one of the model's layers"):
        m.resolve_layer(layers.ReLU())
    with pytest.raises(InvalidParameterError, match="layer: unknown layer 3"):
        xk.GradCam(keras_cnn(), layer=3)


def test_sequential_without_input_is_built_by_its_first_call(rows):
    keras.utils.set_random_seed(5)
    model = keras.Sequential([layers.Dense(5, activation="relu", name="h"), layers.Dense(2)])
    m = KerasModel(model)
    assert m.capabilities == frozenset({"gradient", "layer_gradients"})
    acts, grads = m.layer_gradients(rows, "h", 1)
    assert acts.shape == (6, 5)
    np.testing.assert_allclose(grads, np.broadcast_to(model.layers[1].kernel.numpy()[:, 1], (6, 5)), rtol=1e-6)
    np.testing.assert_allclose(m.predict(rows), np.asarray(model(rows.astype("float32"))), rtol=0, atol=1e-6)


def test_guided_gradient_of_a_sequential_without_input_uses_its_weights(rows):
    keras.utils.set_random_seed(7)
    model = keras.Sequential([layers.Dense(5, activation="relu"), layers.Dense(1)])
    g = KerasModel(model).gradient(rows, 0, relu="guided")  # built (and copied) on the first call
    (W1, b1), (W2, _) = model.layers[0].get_weights(), model.layers[1].get_weights()
    on = rows.astype("float32") @ W1 + b1 > 0
    np.testing.assert_allclose(g, (on * np.maximum(W2[:, 0], 0.0)) @ W1.T, rtol=1e-6, atol=1e-7)
    assert (W2[:, 0] < 0).any() and np.abs(g).max() > 1e-2


# ---------------------------------------------------------------- the same network in Keras and PyTorch
DTYPES = {"float64": 1e-9, "float32": 1e-4}


@pytest.fixture(scope="module", params=list(DTYPES))
def twins(request, images):
    torch = pytest.importorskip("torch")
    dtype = request.param
    model = keras_cnn(dtype)
    net = torch_copy(model, getattr(torch, dtype))
    return model, net, images, DTYPES[dtype]


def test_keras_and_torch_predict_the_same(twins):
    model, net, X, tol = twins
    np.testing.assert_allclose(
        xk.adapt(model).predict(X), xk.adapt(net).predict(to_torch_layout(X)), rtol=0, atol=tol
    )


@pytest.mark.parametrize(
    "method, params",
    [
        ("Saliency", {}),
        ("InputXGradient", {}),
        ("GuidedBackprop", {}),
        ("IntegratedGradients", {"baseline": 0.0, "method": "gausslegendre", "n_steps": 32}),
        ("IntegratedGradients", {"baseline": "blur", "sigma": 1.0, "n_steps": 32}),  # blurs H, W, not channels
        ("Occlusion", {"baseline": 0.0}),
    ],
)
def test_keras_and_torch_give_the_same_attributions(twins, method, params):
    model, net, X, tol = twins
    t = np.array([0, 1, 2, 1, 0])
    cls = getattr(xk, method)
    if method == "Occlusion":
        ours = cls(model, window=(2, 2, 2), stride=(2, 2, 2)).explain(X, target=t, **params)
        theirs = cls(net, window=(2, 2, 2), stride=(2, 2, 2)).explain(to_torch_layout(X), target=t, **params)
    else:
        ours = cls(model).explain(X, target=t, **params)
        theirs = cls(net).explain(to_torch_layout(X), target=t, **params)
    a, b = xk.as_input_shape(ours), to_keras_layout(xk.as_input_shape(theirs))
    assert a.shape == X.shape
    assert np.abs(b).max() > 0.05
    np.testing.assert_allclose(a, b, rtol=0, atol=tol)
    if method == "IntegratedGradients":
        gaps = ours.diagnostics["completeness_gap"], theirs.diagnostics["completeness_gap"]
        np.testing.assert_allclose(*gaps, rtol=0, atol=tol)


@pytest.mark.parametrize("keras_layer, torch_layer", [("conv2", "2"), ("relu2", "3")])
def test_keras_and_torch_give_the_same_layer_gradients(twins, keras_layer, torch_layer):
    model, net, X, tol = twins
    t = np.array([2, 0, 1, 1, 2])
    acts, grads = KerasModel(model).layer_gradients(X, keras_layer, t)
    torch_acts, torch_grads = xk.adapt(net).layer_gradients(to_torch_layout(X), torch_layer, t)
    np.testing.assert_allclose(acts, to_keras_layout(torch_acts), rtol=0, atol=min(tol, 1e-5))
    np.testing.assert_allclose(grads, to_keras_layout(torch_grads), rtol=0, atol=min(tol, 1e-5))
    assert np.abs(grads).max() > 1e-2


@pytest.mark.parametrize("cls", ["GradCam", "GradCamPlusPlus"])
@pytest.mark.parametrize("upsample", [True, False])
def test_keras_and_torch_give_the_same_grad_cam(twins, cls, upsample):
    model, net, X, tol = twins
    ours = getattr(xk, cls)(model, layer="relu2", upsample=upsample).explain(X, target=1)
    theirs = getattr(xk, cls)(net, layer="3", upsample=upsample).explain(to_torch_layout(X), target=1)
    a, b = xk.as_input_shape(ours), xk.as_input_shape(theirs)
    assert a.shape == b.shape and np.abs(b).max() > 1e-3
    np.testing.assert_allclose(a, b, rtol=0, atol=max(tol, 1e-6))


# ---------------------------------------------------------------- Keras on its torch backend
_TORCH_BACKEND_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np, keras, torch
    import xaikit as xk
    from xaikit.models.keras import KerasModel

    assert keras.backend.backend() == "torch", keras.backend.backend()
    model = keras.saving.load_model(sys.argv[1])
    data = np.load(sys.argv[2])
    X, t = data["X"], data["t"]
    m = xk.adapt(model)
    x = torch.tensor(X, requires_grad=True)
    out = model(x)
    (autograd,) = torch.autograd.grad(out[torch.arange(len(t)), torch.tensor(t)].sum(), x)
    acts, grads = m.layer_gradients(X, "conv2", t)
    np.savez(
        sys.argv[3],
        predict=m.predict(X),
        gradient=m.gradient(X, t, batch_size=2),
        autograd=autograd.numpy(),
        guided=m.gradient(X, t, relu="guided"),
        acts=acts,
        grads=grads,
        ig=xk.IntegratedGradients(model).explain(X, target=t, baseline=0.0, n_steps=16).values,
    )
    print(json.dumps({"adapter": type(m).__name__, "is_module": isinstance(model, torch.nn.Module),
                      "backend": m.backend, "dtype": m.dtype}))
    """
)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_keras_torch_backend_matches_the_tensorflow_backend(tmp_path: Path, images):
    """The same saved model, loaded by Keras on its torch backend, gives the same results.

    The model is float64, but Keras' torch backend computes some float64 operations (``ops.mean``,
    ``ops.matmul``, so Dense layers) in float32: results agree to float32 precision, except the
    convolutions' activations (exact); the gradient agrees exactly with torch.autograd on that backend."""
    pytest.importorskip("torch")
    model = keras_cnn("float64", pool=False)
    t = np.array([0, 1, 2, 1, 0])
    model.save(tmp_path / "cnn.keras")
    np.savez(tmp_path / "data.npz", X=images, t=t)
    script = tmp_path / "run.py"
    script.write_text(_TORCH_BACKEND_SCRIPT)
    env = {**os.environ, "KERAS_BACKEND": "torch", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [sys.executable, str(script), *(str(tmp_path / name) for name in ("cnn.keras", "data.npz", "out.npz"))],
        check=False, capture_output=True, text=True, env=env, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    info = json.loads(done.stdout.strip().splitlines()[-1])
    assert info == {"adapter": "KerasModel", "is_module": True, "backend": "torch", "dtype": "float64"}
    got = np.load(tmp_path / "out.npz")
    m = KerasModel(model)
    acts, grads = m.layer_gradients(images, "conv2", t)
    np.testing.assert_allclose(got["gradient"], got["autograd"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["acts"], acts, rtol=0, atol=1e-12)
    expected = {
        "predict": m.predict(images),
        "gradient": m.gradient(images, t),
        "guided": m.gradient(images, t, relu="guided"),
        "grads": grads,
        "ig": xk.IntegratedGradients(model).explain(images, target=t, baseline=0.0, n_steps=16).values,
    }
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-5, atol=1e-5, err_msg=key)
    assert np.abs(expected["guided"] - expected["gradient"]).max() > 1e-2  # guided differs from plain
