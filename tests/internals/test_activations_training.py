"""Layer activations and training dynamics, torch and Keras, checked against hooks read by hand."""

from __future__ import annotations

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xaikit.errors import InvalidParameterError  # noqa: E402
from xaikit.internals.activations import layer_activations  # noqa: E402
from xaikit.internals.training import TrainingRecorder, keras_callback  # noqa: E402
from xaikit.results.layer_activations import LayerActivations  # noqa: E402
from xaikit.results.training_dynamics import TrainingDynamics  # noqa: E402

N, H = 24, 6


def torch_net() -> object:
    from collections import OrderedDict

    torch.manual_seed(0)
    return torch.nn.Sequential(OrderedDict([
        ("conv1", torch.nn.Conv2d(1, 4, 3, padding=1)),
        ("relu1", torch.nn.ReLU()),
        ("flatten", torch.nn.Flatten()),
        ("fc", torch.nn.Linear(4 * H * H, 3)),
    ]))


def keras_twin(net: object) -> object:
    """The Keras network computing the same function (kernel layout and flatten order converted)."""
    import keras

    model = keras.Sequential([
        keras.Input((H, H, 1)),
        keras.layers.Conv2D(4, 3, padding="same", name="conv1"),
        keras.layers.ReLU(name="relu1"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(3, name="fc"),
    ])
    conv_w = net.conv1.weight.detach().numpy()  # (out, in, kh, kw)
    model.get_layer("conv1").set_weights([conv_w.transpose(2, 3, 1, 0), net.conv1.bias.detach().numpy()])
    fc_w = net.fc.weight.detach().numpy().reshape(3, 4, H, H)  # torch flattens (C, H, W); Keras (H, W, C)
    model.get_layer("fc").set_weights([fc_w.transpose(2, 3, 1, 0).reshape(H * H * 4, 3), net.fc.bias.detach().numpy()])
    return model


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 1, H, H)).astype(np.float32)
    y = rng.integers(0, 3, size=N)
    return X, y


@pytest.fixture(scope="module")
def keras_mod() -> object:
    return pytest.importorskip("keras")


def hooked(net: object, X: np.ndarray, name: str) -> np.ndarray:
    out: list[np.ndarray] = []
    handle = dict(net.named_modules())[name].register_forward_hook(lambda m, a, o: out.append(o.detach().numpy()))
    with torch.no_grad():
        net(torch.from_numpy(X))
    handle.remove()
    return out[0].astype(np.float64)


def test_torch_activations_equal_a_forward_hook(data):
    X, _ = data
    net = torch_net()
    acts = layer_activations(net, X, layers=["conv1", "relu1"], summary=False, batch_size=7, top_k=5)
    for name in ("conv1", "relu1"):
        ref = hooked(net, X, name)
        np.testing.assert_allclose(acts[name], ref, rtol=1e-6, atol=1e-6)
        s = acts.summary(name)
        np.testing.assert_allclose(s["mean"], ref.mean(axis=(0, 2, 3)), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(s["std"], ref.std(axis=(0, 2, 3)), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(s["max"], ref.max(axis=(0, 2, 3)), rtol=1e-6)
        np.testing.assert_allclose(s["zero_share"], (ref == 0).mean(axis=(0, 2, 3)))
        means = ref.mean(axis=(2, 3))
        for c in range(4):
            expected = np.argsort(-means[:, c], kind="stable")[:5]
            assert acts.top_examples(name, c).tolist() == expected.tolist()
    assert acts.summary("relu1")["zero_share"].min() > 0.2  # ReLU switches units off
    summary = layer_activations(net, X, layers=["conv1", "relu1"], batch_size=5, top_k=5)
    assert summary.maps is None
    np.testing.assert_allclose(summary.mean, acts.mean, rtol=1e-9, atol=1e-12)
    assert summary.top_rows.tolist() == acts.top_rows.tolist()


def test_saturation_of_a_sigmoid_layer():
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sigmoid())
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[100.0, 0.0], [0.01, 0.0]]))
        net[0].bias.zero_()
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.5, 0.0]], dtype=np.float32)
    s = layer_activations(net, X, layers=["1"]).summary("1")
    assert s["saturated_share"].tolist() == [1.0, 0.0]
    assert np.isnan(layer_activations(net, X, layers=["0"]).saturated_share).all()


def test_keras_activations_equal_a_sub_model_and_the_torch_twin(data, keras_mod):
    keras = keras_mod
    X, _ = data
    net = torch_net()
    model = keras_twin(net)
    Xk = X.transpose(0, 2, 3, 1)
    acts = layer_activations(model, Xk, layers=["conv1", "relu1"], summary=False, batch_size=10)
    ref = np.asarray(keras.Model(model.inputs[0], model.get_layer("relu1").output)(Xk), dtype=np.float64)
    np.testing.assert_allclose(acts["relu1"], ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(acts.summary("relu1")["mean"], ref.mean(axis=(0, 1, 2)), rtol=1e-6, atol=1e-7)
    twin = layer_activations(net, X, layers=["conv1", "relu1"], summary=False, batch_size=10)
    np.testing.assert_allclose(acts["relu1"].transpose(0, 3, 1, 2), twin["relu1"], atol=1e-5)
    for key in ("mean", "std", "max", "zero_share"):
        np.testing.assert_allclose(getattr(acts, key), getattr(twin, key), atol=1e-5)
    assert acts.top_rows.tolist() == twin.top_rows.tolist()
    assert acts.provenance["channels"] == "last" and twin.provenance["channels"] == "first"


def train_torch(net: object, X: np.ndarray, y: np.ndarray, steps: int, *, record: bool, every: int = 2, check: list | None = None):
    torch.manual_seed(1)
    rec = TrainingRecorder(net, every=every) if record else None
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for step in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(Xt), yt)
        loss.backward()
        if check is not None and step % every == 0:
            check.append({name: float(torch.cat([p.grad.flatten() for p in m.parameters(recurse=False)]).norm())
                          for name, m in net.named_modules() if list(m.parameters(recurse=False))})
        opt.step()
    return rec


def test_recorded_gradient_norms_equal_p_grad_norm_and_weights_are_unchanged(data):
    X, y = data
    net = torch_net()
    seen: list[dict[str, float]] = []
    rec = train_torch(net, X, y, 7, record=True, check=seen)
    dyn = rec.result()
    assert dyn.step.tolist() == [0, 2, 4, 6]
    assert dyn.layer_names == ["conv1", "fc"]
    for i, norms in enumerate(seen):
        np.testing.assert_allclose(dyn.grad_norm[i], [norms["conv1"], norms["fc"]], rtol=1e-6)
    assert np.isfinite(dyn.update_ratio[:-1]).all() and np.isnan(dyn.update_ratio[-1]).all()
    assert (dyn.update_ratio[:-1] > 0).all() and (dyn.dead_share >= 0).all()
    plain = torch_net()
    train_torch(plain, X, y, 7, record=False)
    for a, b in zip(net.parameters(), plain.parameters()):
        assert torch.equal(a, b)


def test_update_ratio_is_the_step_update(data):
    X, y = data
    net = torch_net()
    rec = TrainingRecorder(net, every=1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    before = net.fc.weight.detach().clone(), net.fc.bias.detach().clone()
    opt.zero_grad()
    torch.nn.functional.cross_entropy(net(torch.from_numpy(X)), torch.from_numpy(y)).backward()
    opt.step()
    with torch.no_grad():
        net(torch.from_numpy(X))  # no gradients: not a training step
    net(torch.from_numpy(X))  # the next step's forward closes the first record
    dyn = rec.result()
    moved = torch.cat([(net.fc.weight - before[0]).flatten(), (net.fc.bias - before[1]).flatten()]).norm()
    expected = float(moved.detach()) / float(torch.cat([before[0].flatten(), before[1].flatten()]).norm())
    assert dyn.update_ratio[0, 1] == pytest.approx(expected, rel=1e-5)
    rec.close()


def test_keras_twin_records_the_same_gradient_norms_and_leaves_weights_unchanged(data, keras_mod):
    keras = keras_mod
    X, y = data
    net = torch_net()
    steps = 5
    model = keras_twin(net)
    Xk = X.transpose(0, 2, 3, 1)
    rec = train_torch(net, X, y, steps, record=True, every=2)
    dyn_t = rec.result()

    def fit(callbacks: list) -> object:
        m = keras_twin(torch_net())
        m.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        m.fit(Xk, y, batch_size=N, epochs=steps, shuffle=False, verbose=0, callbacks=callbacks)
        return m

    keras.utils.set_random_seed(0)
    cb = keras_callback(probe=(Xk, y), every=2)
    trained = fit([cb])
    dyn_k = cb.result()
    assert dyn_k.step.tolist() == dyn_t.step.tolist() and dyn_k.layer_names == ["conv1", "fc"]
    np.testing.assert_allclose(dyn_k.grad_norm, dyn_t.grad_norm, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(dyn_k.weight_norm, dyn_t.weight_norm, rtol=1e-5)
    np.testing.assert_allclose(dyn_k.update_ratio[:-1], dyn_t.update_ratio[:-1], rtol=1e-3, atol=1e-7)
    np.testing.assert_allclose(dyn_k.dead_share, dyn_t.dead_share, atol=1e-9)
    keras.utils.set_random_seed(0)
    plain = fit([])
    for a, b in zip(trained.get_weights(), plain.get_weights()):
        assert np.array_equal(a, b)
    assert model is not None


def sigmoid_stack(depth: int, activation: type) -> object:
    torch.manual_seed(0)
    layers: list[object] = []
    for _ in range(depth):
        layers += [torch.nn.Linear(16, 16), activation()]
    return torch.nn.Sequential(*layers, torch.nn.Linear(16, 1))


def test_a_deep_sigmoid_stack_is_flagged_and_a_healthy_net_is_not():
    rng = np.random.default_rng(0)
    X = torch.from_numpy(rng.normal(size=(64, 16)).astype(np.float32))
    y = torch.from_numpy(rng.normal(size=(64, 1)).astype(np.float32))
    flags = {}
    for name, net in (("deep", sigmoid_stack(10, torch.nn.Sigmoid)), ("healthy", sigmoid_stack(2, torch.nn.ReLU))):
        rec = TrainingRecorder(net, every=5)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        for _ in range(20):
            opt.zero_grad()
            ((net(X) - y) ** 2).mean().backward()
            opt.step()
        flags[name] = rec.result().flags()
    vanishing = {f["layer"] for f in flags["deep"] if f["kind"] == "vanishing"}
    assert {"0", "2", "4"} <= vanishing and all(f["step"] == 0 for f in flags["deep"] if f["layer"] == "0")
    assert flags["healthy"] == []


def test_save_and_load_round_trip(tmp_path, data):
    X, y = data
    net = torch_net()
    acts = layer_activations(net, X, layers=["relu1"], summary=False)
    path = os.fspath(tmp_path / "acts.xai")
    acts.save(path)
    back = LayerActivations.load(path)
    np.testing.assert_array_equal(back["relu1"], acts["relu1"])
    assert back.top_examples("relu1", 2).tolist() == acts.top_examples("relu1", 2).tolist()
    dyn = train_torch(net, X, y, 3, record=True).result()
    dyn.save(tmp_path / "dyn.xai")
    again = TrainingDynamics.load(tmp_path / "dyn.xai")
    np.testing.assert_array_equal(again.grad_norm, dyn.grad_norm)
    assert again.layer_names == dyn.layer_names and again.flags() == dyn.flags()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"layers": "conv1"}, "layers"),
        ({"layers": ["nope"]}, "layer"),
        ({"layers": ["conv1"], "batch_size": 0}, "batch_size"),
        ({"layers": ["conv1"], "summary": "yes"}, "summary"),
        ({"layers": ["conv1"], "top_k": -1}, "top_k"),
    ],
)
def test_bad_parameters_are_named(data, kwargs, name):
    X, _ = data
    with pytest.raises(InvalidParameterError, match=f"^{name}:"):
        layer_activations(torch_net(), X, **kwargs)


def test_bad_model_x_and_recorder_parameters_are_named(data):
    X, _ = data
    with pytest.raises(InvalidParameterError, match="^model:"):
        layer_activations(lambda x: x, X, layers=["a"])
    with pytest.raises(InvalidParameterError, match="^X:"):
        layer_activations(torch_net(), np.zeros((0, 1, H, H)), layers=["conv1"])
    with pytest.raises(InvalidParameterError, match="^every:"):
        TrainingRecorder(torch_net(), every=0)
    with pytest.raises(InvalidParameterError, match="^probe:"):
        TrainingRecorder(torch_net(), explainer=lambda m, p: p)
    with pytest.raises(InvalidParameterError, match="^model:"):
        TrainingRecorder(torch_net()).result()
    with pytest.raises(InvalidParameterError, match="^channel:"):
        layer_activations(torch_net(), X, layers=["conv1"]).top_examples("conv1", 9)


class _Twice(torch.nn.Module):
    """A module that runs the same layer twice, and one layer never."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)
        self.unused = torch.nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(self.fc(x))


def test_a_layer_run_twice_gives_its_last_call_and_one_never_run_is_named():
    X = np.ones((3, 2), dtype=np.float32)
    net = _Twice()
    acts = layer_activations(net, X, layers=["fc"], summary=False)
    with torch.no_grad():
        np.testing.assert_allclose(acts["fc"], net(torch.from_numpy(X)).numpy(), rtol=1e-6)
    with pytest.raises(InvalidParameterError, match="^layer: 'unused' did not run"):
        layer_activations(net, X, layers=["fc", "unused"])
