"""Weight statistics equal numpy on the parameters; torch and Keras twins agree; filters come out channels first."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xaikit.errors import InvalidParameterError  # noqa: E402
from xaikit.internals.weights import weight_statistics  # noqa: E402
from xaikit.results.weight_statistics import WeightStatistics  # noqa: E402


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3))


def test_statistics_equal_numpy_and_round_trip(net, tmp_path):
    ws = weight_statistics(net, bins=10)
    assert ws.layer_names == ["0", "3"]
    w = net[3].weight.detach().double().numpy()
    assert ws.norm[1] == pytest.approx(np.linalg.norm(w)) and ws.std[1] == pytest.approx(w.std())
    assert ws.hist_counts[1].sum() == w.size == ws.size[1]
    np.testing.assert_array_equal(ws.filters, net[0].weight.detach().double().numpy())
    ws.save(tmp_path / "w.xai")
    back = WeightStatistics.load(tmp_path / "w.xai")
    np.testing.assert_array_equal(back.hist_counts, ws.hist_counts)
    assert back.largest() == ws.largest()


def test_keras_twin_agrees(net):
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(4, 3, padding="same", name="c"),
                              keras.layers.Flatten(), keras.layers.Dense(3, name="d")])
    model.get_layer("c").set_weights([net[0].weight.detach().numpy().transpose(2, 3, 1, 0), net[0].bias.detach().numpy()])
    model.get_layer("d").set_weights([net[3].weight.detach().numpy().T, net[3].bias.detach().numpy()])
    kt, tt = weight_statistics(model), weight_statistics(net)
    np.testing.assert_allclose(kt.norm, tt.norm, rtol=1e-6)
    np.testing.assert_allclose(kt.filters, tt.filters, rtol=1e-6)


def test_bad_parameters_are_named(net):
    with pytest.raises(InvalidParameterError, match="^bins:"):
        weight_statistics(net, bins=0)
    with pytest.raises(InvalidParameterError, match="^tol:"):
        weight_statistics(net, tol=2.0)
    with pytest.raises(InvalidParameterError, match="^model:"):
        weight_statistics(torch.nn.ReLU())
