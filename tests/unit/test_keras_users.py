"""The Keras adapter on models as Keras users have them: layers inside nested (transfer-learning) models,
subclassed models, several inputs, ``output="logits"``, layer values and inputs, output names.

The oracle is ``tf.GradientTape`` on the same layers (or a functional twin sharing them)."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import ApproximationWarning, InvalidParameterError

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras", minversion="3")
if keras.backend.backend() != "tensorflow":
    pytest.skip("these tests run Keras on its TensorFlow backend", allow_module_level=True)
KerasModel = pytest.importorskip("xaikit.models.keras").KerasModel
layers = keras.layers


def no_wrapper_left(model) -> bool:
    """No layer of the model keeps a wrapped ``call`` or a guided ReLU as its activation."""
    from xaikit.models.keras import guided_relu

    return all(
        "call" not in vars(layer) and getattr(layer, "activation", None) is not guided_relu
        for layer in model._flatten_layers(include_self=True, recursive=True)
    )


# ---------------------------------------------------------------- models (built once)
@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).normal(size=(3, 8, 8, 2))


@pytest.fixture(scope="module")
def transfer():
    """A functional base (as keras.applications builds them) nested in the model, softmax head."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 2), dtype="float64", name="image")
    h = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_1", dtype="float64")(inp)
    h = layers.Conv2D(4, 3, padding="same", name="conv_2", dtype="float64")(h)
    h = layers.ReLU(name="relu_2", dtype="float64")(h)
    base = keras.Model(inp, h, name="base")
    outer_in = keras.Input((8, 8, 2), dtype="float64")
    z = base(outer_in)
    z = layers.GlobalAveragePooling2D(name="pool", dtype="float64")(z)
    z = layers.Dropout(0.5, name="drop", dtype="float64")(z)
    out = layers.Dense(3, activation="softmax", name="head", dtype="float64")(z)
    model = keras.Model(outer_in, out)
    head = model.get_layer("head")
    head.kernel.assign(head.kernel * 5.0)
    return model


def _head_logits(model, feats):
    head = model.get_layer("head")
    return feats @ head.kernel + head.bias


@pytest.fixture(scope="module")
def mlp():
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [
            keras.Input((4,), dtype="float64"),
            layers.Dense(5, activation="tanh", name="h1", dtype="float64"),
            layers.Dense(4, activation="tanh", name="h2", dtype="float64"),
            layers.Dense(3, activation="softmax", name="out", dtype="float64"),
        ]
    )


@pytest.fixture(scope="module")
def rows():
    return np.random.default_rng(2).normal(size=(5, 4))


# ---------------------------------------------------------------- 1. nested models
def test_layer_names_list_nested_paths(transfer):
    names = KerasModel(transfer).layer_names()
    assert {"base", "base/conv_1", "base/conv_2", "base/relu_2", "head"} <= set(names)


@pytest.mark.parametrize("path", ["base/conv_1", "conv_1"])
def test_layer_inside_a_nested_model_matches_a_tape(transfer, images, path):
    acts, grads = KerasModel(transfer).layer_gradients(images, path, [0, 1, 2])
    base = transfer.get_layer("base")
    x = tf.constant(images)
    a = base.get_layer("conv_1")(x)
    with tf.GradientTape() as tape:
        tape.watch(a)
        h = base.get_layer("relu_2")(base.get_layer("conv_2")(a))
        y = keras.ops.softmax(_head_logits(transfer, tf.reduce_mean(h, axis=(1, 2))))
        picked = tf.reduce_sum(tf.gather(y, [0, 1, 2], axis=1, batch_dims=0) * tf.eye(3, dtype="float64"))
    np.testing.assert_allclose(acts, a.numpy(), rtol=1e-12)
    np.testing.assert_allclose(grads, tape.gradient(picked, a).numpy(), rtol=1e-9, atol=1e-14)
    assert np.abs(grads).max() > 0
    assert no_wrapper_left(transfer)


def test_the_nested_model_itself_is_a_layer(transfer, images):
    """Naming the base model gives its output (Keras' own split would raise 'not connected to inputs')."""
    acts, grads = KerasModel(transfer).layer_gradients(images, "base", 1)
    base_out = transfer.get_layer("base")(tf.constant(images))
    with tf.GradientTape() as tape:
        tape.watch(base_out)
        y = tf.reduce_sum(keras.ops.softmax(_head_logits(transfer, tf.reduce_mean(base_out, axis=(1, 2))))[:, 1])
    np.testing.assert_allclose(acts, base_out.numpy(), rtol=1e-12)
    np.testing.assert_allclose(grads, tape.gradient(y, base_out).numpy(), rtol=1e-9, atol=1e-14)
    cam = xk.GradCam(transfer, layer="base/conv_2").explain(images, target=1)
    assert np.asarray(cam.values).shape[0] == 3 and np.isfinite(np.asarray(cam.values)).all()


def test_nested_input_layer_is_the_nested_models_input(transfer, images):
    m = KerasModel(transfer)
    assert "base/image" in m.layer_names()
    acts, grads = m.layer_gradients(images, "base/image", 2)
    np.testing.assert_allclose(acts, images)
    np.testing.assert_allclose(grads, m.gradient(images, 2), rtol=1e-10, atol=1e-15)


def test_unknown_and_ambiguous_layers_list_paths(transfer, images):
    m = KerasModel(transfer)
    with pytest.raises(InvalidParameterError, match=r"layer: unknown layer 'base/conv_9'.*'base/conv_1'"):
        m.layer_gradients(images, "base/conv_9", 0)
    inner = layers.Dense(2, name="twin")
    outer = layers.Dense(2, name="twin_outer")
    i = keras.Input((2,))
    sub = keras.Model(i, inner(i), name="sub")
    j = keras.Input((2,))
    model = keras.Model(j, outer(keras.Model(i, layers.Dense(2, name="x")(sub(i)), name="sub2")(j)))
    with pytest.raises(InvalidParameterError, match="layer: unknown layer 'nope'"):
        KerasModel(model).resolve_layer("nope")
    assert KerasModel(model).resolve_layer("twin")[0] == "sub2/sub/twin"
    assert KerasModel(model).resolve_layer(inner)[0] == "sub2/sub/twin"


# ---------------------------------------------------------------- 4. output="logits"
def test_logits_of_a_softmax_dense(mlp, rows):
    m = KerasModel(mlp, output="logits")
    assert m.output == "logits"
    x = tf.constant(rows)
    h = mlp.get_layer("h2")(mlp.get_layer("h1")(x))
    out = mlp.get_layer("out")
    with tf.GradientTape() as tape:
        tape.watch(x)
        z = mlp.get_layer("h2")(mlp.get_layer("h1")(x)) @ out.kernel + out.bias
        y = tf.reduce_sum(z[:, 2])
    np.testing.assert_allclose(m.predict(rows), (h @ out.kernel + out.bias).numpy(), rtol=1e-12)
    np.testing.assert_allclose(m.gradient(rows, 2), tape.gradient(y, x).numpy(), rtol=1e-10)
    # the model itself is untouched: it still gives probabilities
    np.testing.assert_allclose(mlp(x).numpy().sum(axis=1), 1.0, rtol=1e-12)
    assert no_wrapper_left(mlp) and mlp.get_layer("out").activation is keras.activations.softmax


@pytest.mark.parametrize("final", ["Softmax", "Activation", "ops", "nested"])
def test_logits_before_a_final_activation_layer_or_operation(final, rows):
    keras.utils.set_random_seed(3)
    inp = keras.Input((4,), dtype="float64")
    dense = layers.Dense(3, name="score", dtype="float64")
    z = dense(inp)
    if final == "Softmax":
        out = layers.Softmax(dtype="float64")(z)
    elif final == "Activation":
        out = layers.Activation("softmax", dtype="float64")(z)
    elif final == "ops":
        out = keras.ops.softmax(z)
    else:
        inner = keras.Input((4,), dtype="float64")
        body = keras.Model(inner, layers.Dense(3, activation="sigmoid", dtype="float64", name="last")(dense(inner)))
        out = body(inp)
    model = keras.Model(inp, out)
    m = KerasModel(model, output="logits")
    expected = dense(tf.constant(rows)).numpy()
    if final == "nested":
        last = model.layers[-1].get_layer("last")
        expected = expected @ last.kernel.numpy() + last.bias.numpy()
    np.testing.assert_allclose(m.predict(rows), expected, rtol=1e-12)
    assert not np.allclose(KerasModel(model, output="raw").predict(rows), expected)
    assert no_wrapper_left(model)


def test_logits_refused_when_the_final_activation_is_unknown(rows):
    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x):
            return keras.ops.softmax(self.dense(x))

    model = Sub()
    model(rows[:1])
    with pytest.raises(InvalidParameterError, match="output: 'logits'.*cannot be read"):
        KerasModel(model, output="logits")
    with pytest.raises(InvalidParameterError, match=r"output: expected one of .*'logits'"):
        KerasModel(model, output="logit")


# ---------------------------------------------------------------- 6. layer values, inputs, activations
def test_layer_input_and_activations(mlp, rows):
    m = KerasModel(mlp, output="logits")
    x = tf.constant(rows)
    h2 = mlp.get_layer("h2")(mlp.get_layer("h1")(x)).numpy()
    np.testing.assert_allclose(m.layer_activations(rows, "h2"), h2, rtol=1e-12)
    np.testing.assert_allclose(m.layer_activations(rows, "out", at="input"), h2, rtol=1e-12)
    acts, grads = m.layer_gradients(rows, "out", 1, at="input")
    np.testing.assert_allclose(acts, h2, rtol=1e-12)
    np.testing.assert_allclose(grads, np.broadcast_to(mlp.get_layer("out").kernel.numpy()[:, 1], grads.shape), rtol=1e-12)
    with pytest.raises(InvalidParameterError, match="at: expected one of"):
        m.layer_activations(rows, "h2", at="middle")


def test_layer_values_replace_the_layer_output(mlp, rows):
    m = KerasModel(mlp)
    values = np.random.default_rng(4).normal(size=(5, 5))
    acts, grads = m.layer_gradients(rows, "h1", [0, 1, 2, 0, 1], values=values)
    v = tf.constant(values)
    with tf.GradientTape() as tape:
        tape.watch(v)
        y = mlp.get_layer("out")(mlp.get_layer("h2")(v))
        picked = tf.reduce_sum(y * tf.one_hot([0, 1, 2, 0, 1], 3, dtype="float64"))
    np.testing.assert_allclose(acts, values)
    np.testing.assert_allclose(grads, tape.gradient(picked, v).numpy(), rtol=1e-10, atol=1e-15)
    with pytest.raises(InvalidParameterError, match=r"values: expected the shape of the layer's output 'h1', \(n, 5\)"):
        m.layer_gradients(rows, "h1", 0, values=np.zeros((5, 4)))
    with pytest.raises(InvalidParameterError, match="values: expected a numeric array .* n = 5 rows"):
        m.layer_gradients(rows, "h1", 0, values=np.zeros((2, 5)))


def test_layer_integrated_gradients_through_values_is_complete(transfer, images):
    """Layer IG on the nested base's conv_1 through ``values`` (interpolated activations): completeness."""
    m = KerasModel(transfer, output="logits")
    a = m.layer_activations(images, "base/conv_1")
    steps = 64
    total = np.zeros_like(a)
    for k in range(steps):
        alpha = (k + 0.5) / steps
        _, g = m.layer_gradients(images, "base/conv_1", 0, values=alpha * a)
        total += g / steps
    attributions = (total * a).reshape(3, -1).sum(axis=1)
    base = transfer.get_layer("base")
    rest = lambda t: _head_logits(transfer, tf.reduce_mean(base.get_layer("relu_2")(base.get_layer("conv_2")(t)), axis=(1, 2)))  # noqa: E731
    gap = (rest(tf.constant(a)) - rest(tf.zeros_like(a))).numpy()[:, 0]
    np.testing.assert_allclose(attributions, gap, rtol=2e-3, atol=1e-4)


# ---------------------------------------------------------------- 3. several inputs
@pytest.fixture(scope="module")
def two_inputs():
    keras.utils.set_random_seed(5)
    tab = keras.Input((3,), dtype="float64", name="tab")
    img = keras.Input((4, 4, 1), dtype="float64", name="img")
    h = layers.Concatenate(dtype="float64")([layers.Dense(4, activation="tanh", dtype="float64", name="t")(tab),
                                             layers.Flatten(dtype="float64")(img)])
    out = layers.Dense(2, dtype="float64", name="out")(layers.Dense(5, activation="tanh", dtype="float64", name="mix")(h))
    return keras.Model([tab, img], out)


@pytest.fixture(scope="module")
def two_inputs_data():
    rng = np.random.default_rng(6)
    return rng.normal(size=(4, 3)), rng.normal(size=(4, 4, 4, 1))


def test_two_inputs_predict_and_gradient(two_inputs, two_inputs_data):
    tab, img = two_inputs_data
    m = KerasModel(two_inputs)
    assert m.input_names == ["tab", "img"]
    expected = two_inputs([tab, img]).numpy()
    np.testing.assert_allclose(m.predict((tab, img)), expected, rtol=1e-12)
    np.testing.assert_allclose(m.predict([tab, img], batch_size=3), expected, rtol=1e-12)
    np.testing.assert_allclose(m.predict({"img": img, "tab": tab}), expected, rtol=1e-12)
    a, b = tf.constant(tab), tf.constant(img)
    with tf.GradientTape() as tape:
        tape.watch([a, b])
        y = tf.reduce_sum(two_inputs([a, b])[:, 1])
    ga, gb = tape.gradient(y, [a, b])
    g = m.gradient((tab, img), 1, batch_size=3)
    assert isinstance(g, tuple) and len(g) == 2
    np.testing.assert_allclose(g[0], ga.numpy(), rtol=1e-10)
    np.testing.assert_allclose(g[1], gb.numpy(), rtol=1e-10, atol=1e-15)
    gd = m.gradient({"tab": tab, "img": img}, 1)
    assert set(gd) == {"tab", "img"}
    np.testing.assert_allclose(gd["img"], gb.numpy(), rtol=1e-10, atol=1e-15)
    acts, grads = m.layer_gradients((tab, img), "mix", 0)
    assert acts.shape == grads.shape == (4, 5)


def test_two_inputs_errors(two_inputs, two_inputs_data):
    tab, img = two_inputs_data
    m = KerasModel(two_inputs)
    with pytest.raises(InvalidParameterError, match=r"X: the model takes 2 inputs \('tab' \(n, 3\), 'img' \(n, 4, 4, 1\)\)"):
        m.predict(tab)
    with pytest.raises(InvalidParameterError, match=r"X: expected a dict keyed by the model's input names \['tab', 'img'\], got keys \['tab'\]"):
        m.predict({"tab": tab})
    with pytest.raises(InvalidParameterError, match="X: the inputs must have the same number of rows"):
        m.predict((tab, img[:2]))
    with pytest.raises(InvalidParameterError, match=r"X\[1\]: the model takes inputs of shape \(n, 4, 4, 1\)"):
        m.predict((tab, tab))


def test_integer_input_gets_no_gradient_and_is_explained_at_its_embedding():
    keras.utils.set_random_seed(7)
    ids = keras.Input((5,), dtype="int32", name="ids")
    num = keras.Input((2,), dtype="float32", name="num")
    emb = layers.Embedding(11, 3, name="emb")(ids)
    h = layers.Concatenate()([layers.GlobalAveragePooling1D()(emb), num])
    model = keras.Model([ids, num], layers.Dense(2, name="out")(h))
    rng = np.random.default_rng(8)
    tokens, numbers = rng.integers(0, 11, size=(3, 5)), rng.normal(size=(3, 2))
    m = KerasModel(model)
    g_ids, g_num = m.gradient((tokens, numbers), 0)
    assert g_ids is None
    np.testing.assert_allclose(g_num, np.broadcast_to(model.get_layer("out").kernel.numpy()[3:, 0], (3, 2)), rtol=1e-6)
    acts, grads = m.layer_gradients((tokens, numbers), "emb", 0)
    table = model.get_layer("emb").embeddings.numpy()
    np.testing.assert_allclose(acts, table[tokens], rtol=1e-6)
    np.testing.assert_allclose(grads, np.broadcast_to(model.get_layer("out").kernel.numpy()[:3, 0] / 5, (3, 5, 3)), rtol=1e-5)


# ---------------------------------------------------------------- 2. subclassed models
class SmallNet(keras.Model):
    def __init__(self):
        super().__init__(dtype="float64")
        self.conv = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv", dtype="float64")
        self.relu = layers.ReLU(name="relu", dtype="float64")
        self.conv2 = layers.Conv2D(3, 3, padding="same", name="conv2", dtype="float64")
        self.pool = layers.GlobalAveragePooling2D(name="pool", dtype="float64")
        self.dense = layers.Dense(3, name="dense", dtype="float64")

    def call(self, x):
        return self.dense(self.pool(self.relu(self.conv2(self.conv(x)))))


@pytest.fixture(scope="module")
def subclassed(images):
    keras.utils.set_random_seed(9)
    net = SmallNet()
    net(images[:1])
    inp = keras.Input((8, 8, 2), dtype="float64")
    twin = keras.Model(inp, net.dense(net.pool(net.relu(net.conv2(net.conv(inp))))))  # the same layers and weights
    return net, twin


def test_subclassed_layer_gradients_equal_the_functional_twin(subclassed, images):
    net, twin = subclassed
    sub, fun = KerasModel(net), KerasModel(twin)
    assert {"conv", "relu", "conv2", "pool", "dense"} <= set(sub.layer_names())
    a1, g1 = sub.layer_gradients(images, "conv2", [2, 1, 0])
    a2, g2 = fun.layer_gradients(images, "conv2", [2, 1, 0])
    np.testing.assert_allclose(a1, a2, rtol=1e-12)
    np.testing.assert_allclose(g1, g2, rtol=1e-10, atol=1e-15)
    assert np.abs(g1).max() > 0
    cam_sub = xk.GradCam(net, layer="conv2").explain(images, target=0)
    cam_fun = xk.GradCam(twin, layer="conv2").explain(images, target=0)
    np.testing.assert_allclose(np.asarray(cam_sub.values), np.asarray(cam_fun.values), rtol=1e-9, atol=1e-12)
    assert no_wrapper_left(net)


def test_subclassed_guided_backprop(subclassed, images):
    net, twin = subclassed
    guided = KerasModel(net).gradient(images, 1, relu="guided")
    np.testing.assert_allclose(guided, KerasModel(twin).gradient(images, 1, relu="guided"), rtol=1e-10, atol=1e-15)
    plain = KerasModel(net).gradient(images, 1)
    assert not np.allclose(guided, plain)
    # the oracle: guided ReLU written out with tf.custom_gradient on the same layers
    @tf.custom_gradient
    def g_relu(t):
        def grad(up):
            return tf.nn.relu(up) * tf.cast(t > 0, up.dtype)
        return tf.nn.relu(t), grad

    x = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        conv = net.conv
        h = g_relu(tf.nn.conv2d(x, conv.kernel, 1, "SAME") + conv.bias)
        h = g_relu(net.conv2(h))
        y = tf.reduce_sum(net.dense(tf.reduce_mean(h, axis=(1, 2)))[:, 1])
    np.testing.assert_allclose(guided, tape.gradient(y, x).numpy(), rtol=1e-9, atol=1e-14)
    assert no_wrapper_left(net)
    assert net.conv.activation is keras.activations.relu


# ---------------------------------------------------------------- 5. output names
def test_output_names_flow_into_results(mlp, rows):
    m = KerasModel(mlp, output_names=["cat", "dog", "bird"])
    assert m.output_names == ["cat", "dog", "bird"]
    exp = xk.Saliency(m).explain(rows, target=1)
    assert list(exp.output_names) == ["dog"]


def test_guided_warning_and_multi_output_refusal(rows):
    linear = keras.Sequential([keras.Input((4,), dtype="float64"), layers.Dense(2, dtype="float64")])
    with pytest.warns(ApproximationWarning, match="relu: the model .* has no ReLU"):
        KerasModel(linear).gradient(rows, 0, relu="guided")


def test_a_head_of_a_model_with_named_outputs(rows):
    keras.utils.set_random_seed(10)
    inp = keras.Input((4,), dtype="float64")
    trunk = layers.Dense(5, activation="tanh", dtype="float64", name="trunk")(inp)
    kind = layers.Dense(3, activation="softmax", dtype="float64", name="kind_layer")
    model = keras.Model(inp, {"kind": kind(trunk), "age": layers.Dense(1, dtype="float64", name="age_layer")(trunk)})
    with pytest.raises(xk.errors.UnsupportedModelError, match="model: the Keras model has 2 outputs .*head="):
        KerasModel(model)
    m = KerasModel(model, head="kind", output_names=["a", "b", "c"])
    assert m.head_names == ["age", "kind"] and m.output == "probability"
    np.testing.assert_allclose(m.predict(rows), model(rows)["kind"].numpy(), rtol=1e-12)
    for same in ("kind_layer", 1, -1):
        np.testing.assert_allclose(KerasModel(model, head=same).predict(rows), m.predict(rows), rtol=0)
    np.testing.assert_allclose(KerasModel(model, head="age").predict(rows), model(rows)["age"].numpy(), rtol=1e-12)
    logits = KerasModel(model, head="kind", output="logits")
    h = model.get_layer("trunk")(tf.constant(rows))
    np.testing.assert_allclose(logits.predict(rows), (h @ kind.kernel + kind.bias).numpy(), rtol=1e-12)
    x = tf.constant(rows)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(model(x)["kind"][:, 2])
    np.testing.assert_allclose(m.gradient(rows, 2), tape.gradient(y, x).numpy(), rtol=1e-10)
    with pytest.raises(InvalidParameterError, match=r"head: expected one of the model's outputs \('age' \(None, 1\), 'kind' \(None, 3\)\)"):
        KerasModel(model, head="size")
    with pytest.raises(InvalidParameterError, match="head: the model has one output"):
        KerasModel(keras.Model(inp, trunk), head="trunk")


def test_a_head_of_a_subclassed_model(rows):
    class TwoHeads(keras.Model):
        def __init__(self):
            super().__init__(dtype="float64")
            self.a = layers.Dense(2, dtype="float64")
            self.b = layers.Dense(3, dtype="float64")

        def call(self, x):
            return {"a": self.a(x), "b": self.b(x)}

    net = TwoHeads()
    net(rows[:1])
    np.testing.assert_allclose(KerasModel(net, head="b").predict(rows), net(rows)["b"].numpy(), rtol=1e-12)
    with pytest.raises(xk.errors.ModelOutputError, match=r"head: .* returned the outputs \['a', 'b'\], not 'c'"):
        KerasModel(net, head="c").predict(rows)
