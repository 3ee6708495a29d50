"""LayerCAM, HiResCAM, EigenCAM and ScoreCAM on a Keras 3 CNN (channels last) equal the same methods on
its PyTorch twin (channels first, the Keras weights copied), in float64."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras", minversion="3")
if keras.backend.backend() != "tensorflow":
    pytest.skip(f"these tests run Keras on its TensorFlow backend, got {keras.backend.backend()!r}", allow_module_level=True)
torch = pytest.importorskip("torch")

from xaikit.explainers.gradients.base import as_input_shape  # noqa: E402
from xaikit.explainers.gradients.cam_variants import EigenCam, HiResCam, LayerCam, ScoreCam  # noqa: E402

layers = keras.layers
TARGETS = np.array([0, 2, 1])
METHODS = {"layer_cam": LayerCam, "hires_cam": HiResCam, "eigen_cam": EigenCam, "score_cam": ScoreCam}


def keras_cnn() -> keras.Model:
    """conv(3->6) + relu, max pool -> conv(6->8) -> ReLU layer "cam" -> conv(8->4) + relu -> flatten -> dense 3,
    float64, on 8 x 8 x 3 images."""
    keras.utils.set_random_seed(0)
    d = "float64"
    inp = keras.Input((8, 8, 3), dtype=d)
    h = layers.Conv2D(6, 3, padding="same", activation="relu", name="conv1", dtype=d)(inp)
    h = layers.MaxPooling2D(2, dtype=d)(h)
    h = layers.Conv2D(8, 3, padding="same", name="conv2", dtype=d)(h)
    h = layers.ReLU(name="cam", dtype=d)(h)
    h = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv3", dtype=d)(h)
    out = layers.Dense(3, name="dense", dtype=d)(layers.Flatten(dtype=d)(h))
    model = keras.Model(inp, out)
    dense = model.get_layer("dense")
    dense.kernel.assign(dense.kernel * 10.0)  # scores of order 1
    return model


def torch_twin(model: keras.Model) -> torch.nn.Module:
    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3),
    ).double()
    with torch.no_grad():
        for conv, name in ((net[0], "conv1"), (net[3], "conv2"), (net[5], "conv3")):
            kernel, bias = (np.asarray(w) for w in model.get_layer(name).get_weights())
            conv.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))  # (kh, kw, in, out) -> (out, in, kh, kw)
            conv.bias.copy_(torch.from_numpy(bias))
        kernel, bias = (np.asarray(w) for w in model.get_layer("dense").get_weights())
        # Keras flattens (h, w, c), torch (c, h, w)
        net[8].weight.copy_(torch.from_numpy(kernel.reshape(4, 4, 4, 3).transpose(3, 2, 0, 1).reshape(3, 64).copy()))
        net[8].bias.copy_(torch.from_numpy(bias))
    return net.eval()


@pytest.fixture(scope="module")
def twins():
    model = keras_cnn()
    X = np.random.default_rng(1).normal(size=(3, 8, 8, 3))
    return model, torch_twin(model), X


def test_the_twins_predict_the_same(twins):
    model, net, X = twins
    with torch.no_grad():
        theirs = net(torch.from_numpy(X.transpose(0, 3, 1, 2).copy())).numpy()
    np.testing.assert_allclose(np.asarray(model(X)), theirs, rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", list(METHODS))
@pytest.mark.parametrize("upsample", [False, True])
def test_keras_and_torch_give_the_same_map(twins, name, upsample):
    model, net, X = twins
    kw = {"align_corners": True} if name == "score_cam" and upsample else {}
    ours = METHODS[name](model, layer="cam", upsample=upsample, **kw).explain(X, target=TARGETS, batch_size=5)
    theirs = METHODS[name](net, layer="4", upsample=upsample, **kw).explain(X.transpose(0, 3, 1, 2), target=TARGETS)
    a, b = as_input_shape(ours), as_input_shape(theirs)
    assert a.shape == b.shape == ((3, 8, 8) if upsample else (3, 4, 4))
    assert (b.reshape(3, -1).max(axis=1) > 0.05).all()
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
