"""Activation maximisation raises the target activation above data images, reproducibly, in torch and Keras."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xaikit.errors import InvalidParameterError  # noqa: E402
from xaikit.internals.activations import layer_activations  # noqa: E402
from xaikit.internals.maximization import activation_maximization  # noqa: E402
from xaikit.results.feature_visualization import FeatureVisualization  # noqa: E402


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 6, 3, padding=1),
                               torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(6 * 8 * 8, 3))


@pytest.fixture(scope="module")
def images():
    from sklearn.datasets import load_digits

    return (load_digits().images[:200] / 16.0).astype(np.float32)[:, None]


def test_raises_the_channel_well_above_data_images_and_is_reproducible(net, images, tmp_path):
    viz = activation_maximization(net, layer="2", channel=3, shape=(1, 8, 8), steps=96, lr=0.1)
    acts = layer_activations(net, images, layers=["2"])
    data_best, data_mean = acts.top_values[3, 0], acts.mean[3]
    with torch.no_grad():
        reached = float(dict(net.named_modules())["2"](net[1](net[0](torch.from_numpy(viz.image[None].astype(np.float32)))))[0, 3].mean())
    # "well above": the gain over the best data image is several times the best image's lead over the average one
    assert reached - data_best > 3 * (data_best - data_mean) > 0
    assert viz.image.min() >= 0.0 and viz.image.max() <= 1.0
    again = activation_maximization(net, layer="2", channel=3, shape=(1, 8, 8), steps=96, lr=0.1)
    assert np.array_equal(again.image, viz.image) and np.array_equal(again.trace, viz.trace)
    other = activation_maximization(net, layer="2", channel=3, shape=(1, 8, 8), steps=96, lr=0.1, random_state=1)
    assert not np.array_equal(other.image, viz.image)
    viz.save(tmp_path / "viz.xai")
    assert np.array_equal(FeatureVisualization.load(tmp_path / "viz.xai").image, viz.image)
    assert all(m.training for m in net.modules()) and all(p.requires_grad for p in net.parameters())


def test_class_target_with_pixels(net, images):
    viz = activation_maximization(net, target=1, shape=(1, 8, 8), steps=64, fourier=False, jitter=0, scale=0.0, lr=0.1)
    with torch.no_grad():
        data_best = float(net(torch.from_numpy(images))[:, 1].max())
    assert viz.trace[-1] > data_best


def test_keras(images):
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv"),
                              keras.layers.Flatten(), keras.layers.Dense(3)])
    viz = activation_maximization(model, layer="conv", channel=2, steps=48, lr=0.1)
    assert viz.image.shape == (8, 8, 1)
    data = np.asarray(keras.Model(model.inputs[0], model.get_layer("conv").output)(images.transpose(0, 2, 3, 1)))
    assert viz.trace[-1] > 1.5 * data[..., 2].mean(axis=(1, 2)).max()
    again = activation_maximization(model, layer="conv", channel=2, steps=48, lr=0.1)
    assert np.array_equal(again.image, viz.image)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"layer": "2", "channel": 0, "steps": 0}, "steps"),
        ({"layer": "2", "channel": 0, "lr": -1.0}, "lr"),
        ({"layer": "2"}, "channel"),
        ({}, "target"),
        ({"layer": "2", "channel": 0, "shape": (8, 8)}, "shape"),
        ({"layer": "2", "channel": 0, "value_range": (1, 0)}, "value_range"),
        ({"layer": "nope", "channel": 0}, "layer"),
    ],
)
def test_bad_parameters_are_named(net, kwargs, name):
    kwargs = {"shape": (1, 8, 8), "steps": 2, **kwargs}
    with pytest.raises(InvalidParameterError, match=f"^{name}:"):
        activation_maximization(net, **kwargs)
