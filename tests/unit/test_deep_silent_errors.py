"""Silent wrong answers of deep models, refused or answered right: integer inputs, a second softmax,
several heads, ``target="predicted"`` on one output, tuple targets, tuples of inputs, and torch
errors on inputs that do not fit the model."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError, ModelOutputError, UnsupportedModelError

torch = pytest.importorskip("torch")
nn = torch.nn
TorchModel = pytest.importorskip("xaikit.models.torch").TorchModel


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(6, 4))


# ---------------------------------------------------------------- torch
def linear(n_in: int = 4, n_out: int = 2, *final: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(n_in, n_out), *final).double().eval()


def test_torch_embedding_model_refuses_float_token_ids_with_a_named_error():
    net = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2))
    tokens = np.array([[1, 2, 3], [4, 5, 6]])
    for explain in (lambda: xk.Occlusion(net, window=(1,)).explain(tokens.astype(float), target=0),
                    lambda: xk.Saliency(net).explain(tokens.astype(float), target=0)):
        with pytest.raises(InvalidParameterError, match="X: the model .* takes integer inputs") as info:
            explain()
        assert isinstance(info.value.__cause__, RuntimeError)  # the torch error, chained
        assert "integers" in str(info.value)
    with pytest.raises(InvalidParameterError, match=r"X: a value of X is out of the range"):
        TorchModel(net).predict(np.array([[1, 2, 30]]))


class Casts(nn.Module):
    """Converts its input to token ids itself: no gradient reaches the input."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 2)

    def forward(self, x):
        return self.emb(x.long()).sum(dim=1)


def test_torch_input_without_a_gradient_path_is_not_an_all_zero_attribution():
    with pytest.raises(ModelOutputError, match="X: the output .* does not depend on its input"):
        xk.Saliency(Casts()).explain(np.array([[1.0, 2.0], [3.0, 4.0]]), target=0)


@pytest.mark.parametrize(
    ("net", "X", "expected"),
    [
        (linear(4, 2), np.ones((3, 5)), r"shape \(5,\).*expects \(n, \.\.\., 4\)"),
        (nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten()), np.ones((2, 1, 6, 6)),
         r"shape \(1, 6, 6\).*expects \(n, 3, H, W\)"),
        (nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten()), np.ones((2, 6)), r"shape \(6,\).*expects \(n, 3, H, W\)"),
    ],
)
def test_torch_shape_and_channel_mismatches_name_x_and_the_expected_shape(net, X, expected):
    for call in (lambda: TorchModel(net).predict(X), lambda: xk.Saliency(net).explain(X, target=0)):
        with pytest.raises(InvalidParameterError, match="X: the model .* cannot take rows of " + expected) as info:
            call()
        assert isinstance(info.value.__cause__, RuntimeError)


class Detached(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 2).double()

    def forward(self, x):
        return self.lin(x).detach()


class Rounded(Detached):
    def forward(self, x):
        return self.lin(x).round().long()


@pytest.mark.parametrize(("net", "why"), [(Detached(), "does not require grad"), (Rounded(), "integer tensor")])
def test_torch_non_differentiable_output_is_a_model_output_error(rows, net, why):
    m = TorchModel(net)
    assert m.predict(rows).shape == (6, 2)  # predictions are fine
    with pytest.raises(ModelOutputError, match=why):
        m.gradient(rows, 0)
    with pytest.raises(ModelOutputError, match=why):
        xk.IntegratedGradients(net).explain(rows, target=0, n_steps=3)


class SoftmaxInForward(nn.Module):
    def __init__(self, n_out: int = 3):
        super().__init__()
        torch.manual_seed(0)
        self.lin = nn.Linear(4, n_out).double()

    def forward(self, x):
        z = self.lin(x)
        return torch.softmax(z, dim=1) if z.shape[1] > 1 else torch.sigmoid(z)


def test_torch_probability_output_applies_no_second_softmax(rows):
    x = torch.from_numpy(rows)
    for net in (linear(4, 3, nn.Softmax(dim=1)), linear(4, 3, nn.Softmax(dim=-1), nn.Dropout(0.2)),
                linear(4, 1, nn.Sigmoid()), linear(4, 3, nn.Sigmoid()), SoftmaxInForward(3)):
        expected = net(x).detach().numpy()
        np.testing.assert_allclose(TorchModel(net, output="probability").predict(rows), expected, atol=1e-12)
    logits = linear(4, 3)
    z = logits(x).detach().numpy()
    np.testing.assert_allclose(  # logits still get their softmax
        TorchModel(logits, output="probability").predict(rows), np.exp(z) / np.exp(z).sum(1, keepdims=True), rtol=1e-12
    )
    with pytest.raises(InvalidParameterError, match="output: 'probability' .* could not be identified"):
        TorchModel(SoftmaxInForward(1), output="probability").predict(rows)


# ---------------------------------------------------------------- targets and inputs (torch)
def test_tuple_target_is_refused_and_a_list_is_one_index_per_row(rows):
    net = linear(4, 2)
    X = rows[:2]  # n equal to the tuple's length: the ambiguous case
    with pytest.raises(InvalidParameterError, match="target: got a tuple .* pass a list"):
        xk.Saliency(net, abs=False).explain(X, target=(0, 1))
    exp = xk.Saliency(net, abs=False).explain(X, target=[0, 1])
    w = net[0].weight.detach().numpy()
    np.testing.assert_allclose(exp.values[:, :, 0], w[[0, 1]])
    by_array = xk.Saliency(net, abs=False).explain(X, target=np.array([1, 0]))
    np.testing.assert_allclose(by_array.values[:, :, 0], w[[1, 0]])


def test_tuple_of_inputs_to_a_one_input_model_is_named_and_nested_lists_still_work(rows):
    net = linear(4, 2)
    a, b = rows[:2], rows[2:4]
    for pair in ((a, b), [a, b], (torch.from_numpy(a), torch.from_numpy(b))):
        with pytest.raises(InvalidParameterError, match=r"X: the model's forward .* does not take the 2 input\(s\)"):
            xk.Saliency(net).explain(pair, target=0)  # several inputs are taken; this module has one
        with pytest.raises(InvalidParameterError, match=r"X: the model's forward .* does not take the 2 input\(s\)"):
            TorchModel(net).predict(pair)
    with pytest.raises(InvalidParameterError, match="baseline: expected one array or tensor"):
        xk.IntegratedGradients(net).explain(a, target=0, baseline=(a, b), n_steps=2)
    exp = xk.Saliency(net).explain(a.tolist(), target=0)  # a 2-D array as nested lists
    np.testing.assert_allclose(exp.values[:, :, 0], np.abs(net[0].weight.detach().numpy()[[0, 0]]))
    np.testing.assert_allclose(TorchModel(net).predict(a.tolist()), TorchModel(net).predict(a))


def test_torch_predicted_target_of_a_one_output_sigmoid_is_refused(rows):
    net = linear(4, 1, nn.Sigmoid())
    with pytest.raises(InvalidParameterError, match="target: 'predicted' .* single output"):
        xk.Saliency(net).explain(rows, target="predicted")
    assert xk.Saliency(net).explain(rows, target=0).values.shape == (6, 4, 1)
    two = linear(4, 2)
    exp = xk.Saliency(two).explain(rows, target="predicted")  # several outputs: the arg-max, as before
    np.testing.assert_array_equal(exp.diagnostics["target"], two(torch.from_numpy(rows)).argmax(1).numpy())


# ---------------------------------------------------------------- Keras (one module, models built once)
@pytest.fixture(scope="module")
def K():
    tf = pytest.importorskip("tensorflow", reason="the Keras cases need TensorFlow")
    keras = pytest.importorskip("keras", minversion="3")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the Keras cases run on the TensorFlow backend")
    return tf, keras, pytest.importorskip("xaikit.models.keras").KerasModel


@pytest.fixture(scope="module")
def softmax_spellings(K):
    """Models ending with a softmax (or one sigmoid output), each spelled differently."""
    tf, keras, _ = K
    L = keras.layers
    keras.utils.set_random_seed(0)

    def seq(*layers):
        return keras.Sequential([keras.Input((4,), dtype="float64"), *layers])

    inp = keras.Input((4,), dtype="float64")
    ops_softmax = keras.Model(inp, keras.ops.softmax(L.Dense(3, dtype="float64")(inp)))
    return {
        "Dense(activation=tf.nn.softmax)": seq(L.Dense(3, activation=tf.nn.softmax, dtype="float64")),
        "Dense(activation=keras.activations.softmax)": seq(
            L.Dense(3, activation=keras.activations.softmax, dtype="float64")),
        "Dense(activation='softmax') + Dropout": seq(L.Dense(3, activation="softmax", dtype="float64"),
                                                     L.Dropout(0.5, dtype="float64")),
        "Activation('softmax')": seq(L.Dense(3, dtype="float64"), L.Activation("softmax", dtype="float64")),
        "Activation(tf.nn.softmax)": seq(L.Dense(3, dtype="float64"), L.Activation(tf.nn.softmax, dtype="float64")),
        "Lambda(tf.nn.softmax)": seq(L.Dense(3, dtype="float64"), L.Lambda(tf.nn.softmax, dtype="float64")),
        "Lambda(lambda)": seq(L.Dense(3, dtype="float64"), L.Lambda(lambda z: tf.nn.softmax(z), dtype="float64")),
        "Softmax()": seq(L.Dense(3, dtype="float64"), L.Softmax(dtype="float64")),
        "keras.ops.softmax": ops_softmax,
        "Dense(1, activation=tf.nn.sigmoid)": seq(L.Dense(1, activation=tf.nn.sigmoid, dtype="float64")),
        "Dense(1) + Activation(tf.sigmoid)": seq(L.Dense(1, dtype="float64"),
                                                 L.Activation(tf.sigmoid, dtype="float64")),
    }


@pytest.mark.parametrize(
    "spelling",
    ["Dense(activation=tf.nn.softmax)", "Dense(activation=keras.activations.softmax)",
     "Dense(activation='softmax') + Dropout", "Activation('softmax')", "Activation(tf.nn.softmax)",
     "Lambda(tf.nn.softmax)", "Lambda(lambda)", "Softmax()", "keras.ops.softmax",
     "Dense(1, activation=tf.nn.sigmoid)", "Dense(1) + Activation(tf.sigmoid)"],
)
def test_keras_probability_output_applies_no_second_softmax(K, softmax_spellings, rows, spelling):
    _, _, KerasModel = K
    model = softmax_spellings[spelling]
    expected = model.predict(rows, verbose=0)
    np.testing.assert_allclose(KerasModel(model, output="probability").predict(rows), expected, rtol=0, atol=1e-6)


def test_keras_unidentified_outputs_are_decided_by_their_values(K, rows):
    tf, keras, KerasModel = K
    L = keras.layers
    keras.utils.set_random_seed(1)
    scaled = keras.Sequential([keras.Input((4,), dtype="float64"), L.Dense(3, dtype="float64"),
                               L.Lambda(lambda z: 3.0 * z, dtype="float64")])
    z = scaled.predict(rows, verbose=0)  # logits (not on the simplex): they get the softmax
    np.testing.assert_allclose(KerasModel(scaled, output="probability").predict(rows),
                               np.exp(z) / np.exp(z).sum(1, keepdims=True), rtol=1e-6)
    one = keras.Sequential([keras.Input((4,), dtype="float64"), L.Dense(1, dtype="float64"),
                            L.Lambda(lambda z: tf.sigmoid(z), dtype="float64")])
    with pytest.raises(InvalidParameterError, match=r"output: 'probability' .* all lie in \[0, 1\]"):
        KerasModel(one, output="probability").predict(rows)


@pytest.fixture(scope="module")
def integer_models(K):
    _, keras, _ = K
    L = keras.layers
    keras.utils.set_random_seed(2)
    return {
        "uint8": keras.Sequential([keras.Input((4,), dtype="uint8"), L.Dense(2)]),
        "int32": keras.Sequential([keras.Input((4,), dtype="int32"), L.Embedding(10, 2), L.Flatten(), L.Dense(2)]),
        "float input, Embedding": keras.Sequential([keras.Input((4,)), L.Embedding(10, 2), L.Flatten(), L.Dense(2)]),
    }


@pytest.mark.parametrize("kind", ["uint8", "int32", "float input, Embedding"])
@pytest.mark.parametrize("method", ["Saliency", "IntegratedGradients"])
def test_keras_integer_inputs_are_refused_not_explained_as_zeros(K, integer_models, kind, method):
    tokens = np.array([[1, 2, 3, 4], [5, 6, 7, 8]], dtype=np.uint8 if kind == "uint8" else np.int64)
    explainer = getattr(xk, method)(integer_models[kind])
    # integer arrays reach the model untouched, and are explained through the embedding that takes them (one value
    # per token, never zeros); without an embedding the refusal says what to do instead
    if kind == "uint8":
        with pytest.raises(InvalidParameterError, match="X: no input is floating point and no integer input goes to an embedding"):
            explainer.explain(tokens, target=0)
    else:
        values = explainer.explain(tokens, target=0).values
        assert values.shape == (2, 4, 1) and np.abs(values).max() > 0


def test_keras_models_with_several_outputs_are_refused(K, rows):
    _, keras, KerasModel = K
    L = keras.layers
    inp = keras.Input((4,), dtype="float64")
    heads = keras.Model(inp, [L.Dense(2, name="first", dtype="float64")(inp),
                              L.Dense(5, name="second", dtype="float64")(inp)])
    with pytest.raises(UnsupportedModelError, match=r"model: the Keras model has 2 outputs \('first' .*'second'.*head="):
        KerasModel(heads)
    with pytest.raises(UnsupportedModelError, match="model: .* 2 outputs"):
        xk.Saliency(heads)
    one_head = keras.Model(heads.inputs, heads.outputs[1])  # what the message says to do
    assert KerasModel(one_head).predict(rows).shape == (6, 5)

    class TwoHeads(keras.Model):
        def __init__(self):
            super().__init__()
            self.a, self.b = L.Dense(2), L.Dense(3)

        def call(self, x):
            return self.a(x), self.b(x)

    sub = TwoHeads()
    sub(rows[:1].astype("float32"))
    with pytest.raises(UnsupportedModelError, match=r"model: the Keras model returned 2 outputs"):
        KerasModel(sub).predict(rows)


def test_keras_and_torch_refuse_predicted_on_one_sigmoid_output_alike(K, rows):
    _, keras, KerasModel = K
    model = keras.Sequential([keras.Input((4,), dtype="float64"), keras.layers.Dense(1, activation="sigmoid",
                                                                                      dtype="float64")])
    net = linear(4, 1, nn.Sigmoid())
    for m in (model, net):
        with pytest.raises(InvalidParameterError, match="target: 'predicted' .* single output"):
            xk.Saliency(m, output="probability").explain(rows, target="predicted")
        assert xk.Saliency(m).explain(rows, target=0).values.shape == (6, 4, 1)


def test_keras_tuple_of_inputs_is_refused(K, softmax_spellings, rows):
    _, _, KerasModel = K
    model = softmax_spellings["Softmax()"]
    with pytest.raises(InvalidParameterError, match=r"X: the model takes 1 inputs .*, got a tuple of 2 arrays"):
        KerasModel(model).predict((rows[:2], rows[2:4]))
    np.testing.assert_allclose(KerasModel(model).predict(rows.tolist()), KerasModel(model).predict(rows))
