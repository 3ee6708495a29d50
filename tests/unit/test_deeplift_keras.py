"""DeepLIFT and DeepLiftShap on Keras models: the same attributions as the torch twin with copied weights.

Measured (float64, TensorFlow backend): at most 1e-14 relative to torch on the MLP and the CNN below;
summation-to-delta to 1e-15.
"""

from __future__ import annotations

import numpy as np
import pytest

from xaikit.errors import ApproximationWarning

keras = pytest.importorskip("keras", minversion="3")
if keras.backend.backend() != "tensorflow":
    pytest.skip("these tests run Keras on its TensorFlow backend", allow_module_level=True)
torch = pytest.importorskip("torch")

from xaikit.explainers.gradients.deep_lift import DeepLift, DeepLiftShap  # noqa: E402

L = keras.layers
nn = torch.nn
F64 = "float64"


def copy_dense(layer, linear):
    w, b = layer.get_weights()
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(np.asarray(w).T.copy()))
        linear.bias.copy_(torch.from_numpy(np.asarray(b)))


def copy_conv(layer, conv):
    k, b = layer.get_weights()
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(np.asarray(k).transpose(3, 2, 0, 1).copy()))
        conv.bias.copy_(torch.from_numpy(np.asarray(b)))


@pytest.fixture(scope="module")
def mlp_twins():
    keras.utils.set_random_seed(0)
    inp = keras.Input((6,), dtype=F64)
    h = L.Dense(8, activation="relu", dtype=F64)(inp)
    h = L.Dense(8, activation="sigmoid", dtype=F64)(h)
    h = L.Activation("tanh", dtype=F64)(L.Dense(5, dtype=F64)(h))
    km = keras.Model(inp, L.Dense(3, dtype=F64)(h))
    tn = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 5), nn.Tanh(),
                       nn.Linear(5, 3)).double().eval()
    for layer, linear in zip([x for x in km.layers if isinstance(x, L.Dense)], [tn[0], tn[2], tn[4], tn[6]]):
        copy_dense(layer, linear)
    return km, tn


@pytest.fixture(scope="module")
def cnn_twins():
    """conv + max pool + conv + ReLU layer + dense(tanh) + dense on 8 x 8 x 1 images (channels last)."""
    keras.utils.set_random_seed(1)
    inp = keras.Input((8, 8, 1), dtype=F64)
    h = L.Conv2D(3, 3, padding="same", name="c1", dtype=F64)(inp)
    h = L.MaxPooling2D(2, dtype=F64)(h)
    h = L.ReLU(dtype=F64)(L.Conv2D(4, 3, padding="same", name="c2", dtype=F64)(h))
    h = L.Permute((3, 1, 2), dtype=F64)(h)  # channels first before flattening, as torch
    h = L.Dense(6, activation="tanh", name="d1", dtype=F64)(L.Flatten(dtype=F64)(h))
    km = keras.Model(inp, L.Dense(3, name="d2", dtype=F64)(h))
    tn = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                       nn.Flatten(), nn.Linear(64, 6), nn.Tanh(), nn.Linear(6, 3)).double().eval()
    copy_conv(km.get_layer("c1"), tn[0])
    copy_conv(km.get_layer("c2"), tn[2])
    copy_dense(km.get_layer("d1"), tn[5])
    copy_dense(km.get_layer("d2"), tn[7])
    return km, tn


def flat(exp, shape):
    return exp.values[..., 0].reshape(shape)


def test_mlp_twin_equals_torch(mlp_twins):
    km, tn = mlp_twins
    rng = np.random.default_rng(0)
    X, B = rng.normal(size=(4, 6)), rng.normal(size=(5, 6))
    for cls, kwargs in ((DeepLift, {"baseline": B[:1]}), (DeepLiftShap, {"baselines": B})):
        ours = cls(km).explain(X, target=2, **kwargs)
        twin = cls(tn).explain(X, target=2, **kwargs)
        np.testing.assert_allclose(ours.values, twin.values, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ours.base_values, twin.base_values, rtol=1e-12)
        assert np.abs(ours.diagnostics["completeness_gap"]).max() < 1e-6
        assert np.abs(ours.values).max() > 1e-2


def test_cnn_twin_with_max_pool_equals_torch(cnn_twins):
    km, tn = cnn_twins
    rng = np.random.default_rng(1)
    X, B = rng.normal(size=(3, 1, 8, 8)), rng.normal(size=(4, 1, 8, 8))
    last = (0, 2, 3, 1)
    ours = DeepLiftShap(km).explain(X.transpose(last), target=1, baselines=B.transpose(last), batch_size=4)
    twin = DeepLiftShap(tn).explain(X, target=1, baselines=B)
    np.testing.assert_allclose(flat(ours, (3, 8, 8, 1)).transpose(0, 3, 1, 2), flat(twin, X.shape), rtol=1e-9, atol=1e-12)
    assert np.abs(ours.diagnostics["completeness_gap"]).max() < 1e-6
    assert np.abs(flat(twin, X.shape)).max() > 1e-3  # attributions large enough for the tolerances to mean something


def test_model_without_rescaled_nonlinearity_warns():
    keras.utils.set_random_seed(2)
    inp = keras.Input((3,), dtype=F64)
    h = L.Lambda(lambda t: keras.ops.relu(t), dtype=F64)(L.Dense(4, dtype=F64)(inp))
    km = keras.Model(inp, L.Dense(1, dtype=F64)(h))
    with pytest.warns(ApproximationWarning, match="no nonlinearity"):
        DeepLift(km).explain(np.ones((2, 3)), baseline=0.0)
