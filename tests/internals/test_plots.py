"""The internals' displays draw what the results hold."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

torch = pytest.importorskip("torch")

from xaikit.errors import InvalidParameterError  # noqa: E402
from xaikit.internals.activations import layer_activations  # noqa: E402
from xaikit.internals.training import TrainingRecorder  # noqa: E402
from xaikit.internals.weights import weight_statistics  # noqa: E402
from xaikit.plots import internals as p  # noqa: E402
from xaikit.results.training_dynamics import TrainingDynamics  # noqa: E402


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 25, 2))
    X = np.random.default_rng(0).normal(size=(10, 1, 5, 5)).astype(np.float32)
    acts = layer_activations(net, X, layers=["0", "1"], summary=False, top_k=4)
    yield net, X, acts
    plt.close("all")


def test_feature_maps_and_top_examples(setup):
    net, X, acts = setup
    disp = p.FeatureMapsDisplay.from_explanation(acts, layer="1", row=3)
    np.testing.assert_array_equal(disp.grid[:5, :5], acts["1"][3, 0])
    np.testing.assert_array_equal(disp.grid[6:11, 6:11], acts["1"][3, 3])
    top = p.TopExamplesDisplay.from_explanation(acts, X=X, layer="1", channel=2, k=4)
    first = acts.top_examples("1", 2)[0]
    np.testing.assert_array_equal(top.grid[:5, :5], X[first, 0])
    with pytest.raises(InvalidParameterError, match="^X:"):
        p.TopExamplesDisplay.from_explanation(acts, X=X[:3], layer="1", channel=2)
    with pytest.raises(InvalidParameterError, match="^layer:"):
        p.FeatureMapsDisplay.from_explanation(layer_activations(net, X, layers=["1"]), layer="1")


def test_stats_table_marks_dead_channels(setup):
    net, X, _ = setup
    with torch.no_grad():
        net[0].bias[1] = -100.0
    acts = layer_activations(net, X, layers=["1"])
    with torch.no_grad():
        net[0].bias[1] = 0.0
    disp = p.ActivationStatsDisplay.from_explanation(acts)
    assert disp.rows[0][4] == "1" and disp.rows[0][6] == "-"


def test_weights_displays(setup):
    net, _, _ = setup
    ws = weight_statistics(net)
    f = p.FiltersDisplay.from_explanation(ws)
    np.testing.assert_allclose(f.grid[:3, :3], net[0].weight[0, 0].detach().double().numpy())
    bars = p.WeightNormsDisplay.from_explanation(ws)
    assert [b.get_width() for b in bars.bars_] == pytest.approx(ws.norm.tolist())
    hist = p.WeightHistogramsDisplay.from_explanation(ws)
    assert len(hist.lines_) == 2


def test_gradient_flow_and_attribution_drift(setup):
    net, X, _ = setup
    rec = TrainingRecorder(net, every=1, probe=X[:2], explainer=lambda m, probe: m(torch.from_numpy(probe)).detach().numpy()[:, None, :] * np.ones((1, 9, 1)),
                           attribution_every=2)
    opt = torch.optim.SGD(net.parameters(), lr=0.0)
    for _ in range(4):
        opt.zero_grad()
        net(torch.from_numpy(X)).sum().backward()
        opt.step()
    rec.close()
    dyn = rec.result()
    assert dyn.attribution_steps.tolist() == [0, 2] and dyn.attributions.shape == (2, 2, 9, 2)
    drift = p.AttributionDriftDisplay.from_explanation(dyn, row=1, target=1)
    np.testing.assert_allclose(drift.grid[:3, 4:7], dyn.attributions[1, 1, :, 1].reshape(3, 3))
    flow = p.GradientFlowDisplay.from_explanation(dyn)
    np.testing.assert_allclose(flow.lines_[1].get_ydata(), dyn.grad_norm[:, 1])
    g = np.array([[1.0, 2.0, 1e-4], [1.0, 2.0, 1e-6]])
    bad = TrainingDynamics(grad_norm=g, weight_norm=np.ones((2, 3)), update_ratio=np.ones((2, 3)), dead_share=np.zeros((2, 3)),
                           step=[0, 5], layer_names=["a", "b", "c"], method="demo")
    flow = p.GradientFlowDisplay.from_explanation(bad)
    assert flow.lines_[2].get_linestyle() == "--" and "vanishing from step 0" in flow.lines_[2].get_label()
    with pytest.raises(InvalidParameterError, match="^exp:"):
        p.AttributionDriftDisplay.from_explanation(bad)
    with pytest.raises(InvalidParameterError, match="^exp:"):
        p.GradientFlowDisplay.from_explanation(layer_activations(net, X, layers=["1"]))


def test_keras_feature_maps_and_callback_snapshots():
    keras = pytest.importorskip("keras")
    from xaikit.internals.training import keras_callback

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5, 5, 1)), keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv"),
                              keras.layers.Flatten(), keras.layers.Dense(2)])
    X = np.random.default_rng(1).normal(size=(8, 5, 5, 1)).astype(np.float32)
    y = np.array([0, 1] * 4)
    acts = layer_activations(model, X, layers=["conv"], summary=False)
    disp = p.FeatureMapsDisplay.from_explanation(acts, layer="conv", row=2)
    np.testing.assert_array_equal(disp.grid[:5, 6:11], acts["conv"][2, :, :, 1])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    cb = keras_callback(probe=(X, y), every=1, explainer=lambda m, probe: np.asarray(m(probe)), attribution_every=2)
    model.fit(X, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[cb])
    dyn = cb.result()
    assert dyn.step.tolist() == [0, 1, 2, 3] and dyn.attribution_steps.tolist() == [0, 2]
    assert dyn.attributions.shape == (2, 8, 2, 1)
    with pytest.raises(InvalidParameterError, match="^probe:"):
        keras_callback(probe=X)
