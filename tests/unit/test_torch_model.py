"""Tests of the PyTorch adapter: predictions, gradients, layer gradients, guided ReLU, modes."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError, ModelOutputError
from xaikit.models import adapt

torch = pytest.importorskip("torch")
nn = torch.nn
TorchModel = pytest.importorskip("xaikit.models.torch").TorchModel


def small_cnn(dtype=torch.float64, dropout: float = 0.0) -> torch.nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(4 * 6 * 6, 3),
    )
    with torch.no_grad():  # non-trivial running statistics
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 2.0)
    return net.to(dtype).eval()


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(5, 2, 6, 6))


# ---------------------------------------------------------------- predictions
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_predict_equals_module_output_for_arrays_and_tensors(X, dtype):
    net = small_cnn(dtype)
    m = adapt(net)
    assert isinstance(m, TorchModel) and adapt(m) is m
    assert m.capabilities == frozenset({"gradient", "layer_gradients"})
    with torch.no_grad():
        expected = net(torch.tensor(X, dtype=dtype)).double().numpy()
    for given in (X, torch.tensor(X), X.tolist(), X.astype(np.float32)):
        out = m.predict(given)
        assert out.dtype == np.float64 and out.shape == (5, 3)
        exact = dtype == torch.float64 and np.asarray(given).dtype == np.float64
        np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12 if exact else 1e-5)


def test_batch_size_does_not_change_results(X):
    m = TorchModel(small_cnn())
    t = np.array([0, 2, 1, 1, 0])
    np.testing.assert_allclose(m.predict(X, batch_size=2), m.predict(X), rtol=0, atol=1e-13)
    np.testing.assert_allclose(m.gradient(X, t, batch_size=2), m.gradient(X, t), rtol=0, atol=1e-13)
    a1, g1 = m.layer_gradients(X, "3", t, batch_size=3)
    a2, g2 = m.layer_gradients(X, "3", t)
    np.testing.assert_allclose(a1, a2, rtol=0, atol=1e-13)
    np.testing.assert_allclose(g1, g2, rtol=0, atol=1e-13)


def test_eval_mode_is_used_and_every_flag_restored(X):
    net = small_cnn(dropout=0.5)
    with torch.no_grad():
        reference = net(torch.tensor(X)).numpy()
    net.train()
    net[3].eval()  # a mixed state must come back exactly
    before = [mod.training for mod in net.modules()]
    m = TorchModel(net)
    np.testing.assert_allclose(m.predict(X), reference, rtol=0, atol=1e-12)  # no dropout, running statistics
    m.gradient(X, 0)
    m.layer_gradients(X, "0", 0)
    m.gradient(X, 0, relu="guided")
    assert [mod.training for mod in net.modules()] == before


def test_eval_mode_false_runs_the_module_as_it_is(X):
    net = small_cnn(dropout=0.5).train()
    m = TorchModel(net, eval_mode=False)
    torch.manual_seed(1)
    a = m.predict(X)
    torch.manual_seed(2)
    b = m.predict(X)
    assert np.abs(a - b).max() > 1e-3  # dropout is active
    assert net.training


def test_probability_output_is_a_softmax(X):
    net = small_cnn()
    raw = TorchModel(net).predict(X)
    prob = TorchModel(net, output="probability").predict(X)
    np.testing.assert_allclose(prob, np.exp(raw) / np.exp(raw).sum(axis=1, keepdims=True), rtol=1e-12)
    with pytest.raises(InvalidParameterError, match="output"):
        TorchModel(net, output="log_odds")


def test_outputs_in_tuples_and_logits_objects():
    class WithLogits(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2).double()

        def forward(self, x):
            return type("Out", (), {"logits": self.lin(x)})()

    class Pair(WithLogits):
        def forward(self, x):
            return self.lin(x), x

    X = np.ones((2, 3))
    a, b = TorchModel(WithLogits()), TorchModel(Pair())
    b.module.lin = a.module.lin
    np.testing.assert_allclose(a.predict(X), b.predict(X))
    np.testing.assert_allclose(a.gradient(X, 1), np.tile(a.module.lin.weight[1].detach().numpy(), (2, 1)))

    class Bad(nn.Module):
        def forward(self, x):
            return {"not": "a tensor"}

    with pytest.raises(ModelOutputError, match="expected a tensor"):
        TorchModel(Bad()).predict(X)


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gradient_rows_are_independent_and_in_the_parameter_dtype(X, dtype):
    net = small_cnn(dtype)
    m = TorchModel(net)
    t = np.array([2, 0, 1, 2, 0])
    g = m.gradient(X, t)
    assert g.shape == X.shape and g.dtype == (np.float64 if dtype == torch.float64 else np.float32)
    for i in range(X.shape[0]):
        x = torch.tensor(X[i : i + 1], dtype=dtype, requires_grad=True)
        (expected,) = torch.autograd.grad(net(x)[0, t[i]], x)
        tight = dtype == torch.float64
        np.testing.assert_allclose(
            g[i], expected[0].numpy(), rtol=1e-10 if tight else 1e-4, atol=1e-14 if tight else 1e-7
        )
    assert np.abs(g).max() > 1e-3


def test_gradient_leaves_no_trace_on_the_module(X):
    net = small_cnn()
    m = TorchModel(net)
    m.gradient(X, 0)
    m.gradient(X, 0, relu="guided")
    m.layer_gradients(X, "2", 1)
    assert all(p.grad is None for p in net.parameters())
    assert not any(mod._forward_hooks or mod._backward_hooks for mod in net.modules())


def test_frozen_parameters_still_give_gradients(X):
    net = small_cnn()
    for p in net.parameters():
        p.requires_grad_(False)
    m = TorchModel(net)
    assert np.abs(m.gradient(X, 1)).max() > 1e-3
    _, grads = m.layer_gradients(X, "3", 1)
    assert np.abs(grads).max() > 1e-3


def test_guided_relu_clips_negative_gradients():
    lin1 = nn.Linear(1, 1, bias=False).double()
    lin2 = nn.Linear(1, 1, bias=False).double()
    with torch.no_grad():
        lin1.weight.fill_(2.0)
        lin2.weight.fill_(-3.0)
    net = nn.Sequential(lin1, nn.ReLU(), lin2)
    m = TorchModel(net)
    x = np.array([[1.0]])
    assert m.gradient(x, 0).tolist() == [[-6.0]]
    assert m.gradient(x, 0, relu="guided").tolist() == [[0.0]]  # the gradient reaching the ReLU is -3 < 0
    with torch.no_grad():
        lin2.weight.fill_(3.0)
    assert m.gradient(x, 0, relu="guided").tolist() == [[6.0]]
    assert m.gradient(-x, 0, relu="guided").tolist() == [[0.0]]  # the ReLU is off


def test_guided_without_relu_modules_warns():
    net = nn.Linear(2, 1).double()
    with pytest.warns(xk.ApproximationWarning, match="no torch.nn.ReLU"):
        TorchModel(net).gradient(np.ones((1, 2)), 0, relu="guided")


def test_hooks_are_removed_when_the_forward_fails():
    class Fails(nn.Module):
        def __init__(self):
            super().__init__()
            self.relu = nn.ReLU()

        def forward(self, x):
            raise RuntimeError("boom")

    net = Fails()
    with pytest.raises(RuntimeError, match="boom"):
        TorchModel(net).gradient(np.ones((1, 2)), 0, relu="guided")
    assert not net.relu._forward_hooks


def test_gradient_errors(X):
    m = TorchModel(small_cnn())
    with pytest.raises(InvalidParameterError, match=r"target: expected output indices in \[-3, 3\)"):
        m.gradient(X, 3)
    with pytest.raises(InvalidParameterError, match="target: expected an output index or one per row"):
        m.gradient(X, [0, 1])
    with pytest.raises(InvalidParameterError, match="relu"):
        m.gradient(X, 0, relu="leaky")
    with pytest.raises(InvalidParameterError, match="batch_size"):
        m.gradient(X, 0, batch_size=0)
    emb = TorchModel(nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2)))
    tokens = np.array([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(InvalidParameterError, match="X: gradients need floating-point inputs"):
        emb.gradient(tokens, 0)
    acts, grads = emb.layer_gradients(tokens, "0", 1)  # token models are explained at a layer
    assert acts.shape == grads.shape == (2, 3, 4)


# ---------------------------------------------------------------- layers
def test_layer_gradients_match_autograd(X):
    net = small_cnn()
    m = TorchModel(net)
    t = np.array([0, 1, 2, 0, 1])
    acts, grads = m.layer_gradients(X, "3", t)
    xt = torch.tensor(X)
    head = net[4:]
    with torch.no_grad():
        a = net[:4](xt)
    a.requires_grad_(True)
    out = head(a.clone())  # head starts with an in-place ReLU
    (g,) = torch.autograd.grad(out[torch.arange(5), torch.tensor(t)].sum(), a)
    np.testing.assert_allclose(acts, a.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(grads, g.numpy(), rtol=0, atol=1e-12)
    by_object = m.layer_gradients(X, net[3], t)
    np.testing.assert_allclose(by_object[1], grads, rtol=0, atol=0)


def test_layer_before_an_in_place_relu_keeps_its_own_output(X):
    net = small_cnn()
    acts, _ = TorchModel(net).layer_gradients(X, "3", 0)  # followed by ReLU(inplace=True)
    assert (acts < 0).any()


def test_unknown_layer_names_the_parameter_and_lists_layers():
    m = TorchModel(small_cnn())
    with pytest.raises(InvalidParameterError, match=r"layer: unknown layer 'features.6' \(str\); available: '0', '1'"):
        m.layer_gradients(np.zeros((1, 2, 6, 6)), "features.6", 0)
    with pytest.raises(InvalidParameterError, match="not part of the model"):
        m.resolve_layer(nn.ReLU())


def test_layer_run_twice_is_read_at_its_last_call():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2).double()

        def forward(self, x):
            return self.lin(self.lin(x))

    net = Twice()
    acts, _ = TorchModel(net).layer_gradients(np.ones((1, 2)), "lin", 0)
    x = torch.ones((1, 2), dtype=torch.float64)
    np.testing.assert_allclose(acts, net.lin(net.lin(x)).detach().numpy(), rtol=1e-12)
    with pytest.raises(InvalidParameterError, match="layer: 'lin' ran 2 times"):
        TorchModel(net).layer_gradients(np.ones((1, 2)), "lin", 0, values=acts)


def test_adapt_does_not_route_other_callables_to_torch():
    assert not isinstance(adapt(lambda X: X[:, 0]), TorchModel)
