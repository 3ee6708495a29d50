"""The report sections of a network's inside (training dynamics, layer activations, weights, feature
visualisation): their numbers are the results', flags appear, the parts stay bounded, and the page
opens clean in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.report import _internals
from xaikit.results.training_dynamics import TrainingDynamics

torch = pytest.importorskip("torch")


def _attr(tag: str, cls: str, name: str, html: str) -> list[str]:
    """The ``name`` attribute of every ``<tag class="cls" ...>`` in order."""
    return re.findall(rf'<{tag} class="{cls}"[^>]*?\b{name}="([^"]*)"', html)


def _numbers(text: str) -> np.ndarray:
    return np.array([float(v) for v in text.split()])


def _cells(cls: str, html: str) -> np.ndarray:
    return np.array([float(v) for v in re.findall(rf'<td class="xk-r {cls}" data-value="([^"]+)"', html)])


def _conv_net() -> Any:
    torch.manual_seed(0)
    net = torch.nn.Sequential()
    net.add_module("conv1", torch.nn.Conv2d(1, 4, 3, padding=1))
    net.add_module("relu1", torch.nn.ReLU())
    net.add_module("flat", torch.nn.Flatten())
    net.add_module("fc", torch.nn.Linear(4 * 6 * 6, 3))
    with torch.no_grad():
        net.conv1.bias[2] = -100.0  # channel 2 is dead after the ReLU
    return net.eval()


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).random((20, 1, 6, 6)).astype(np.float32)


@pytest.fixture(scope="module")
def inside(images: np.ndarray) -> dict[str, Any]:
    """A real TrainingDynamics of a deep sigmoid stack (vanishing), and the activations, weights and a
    feature visualisation of a small conv net."""
    from xaikit.internals.activations import layer_activations
    from xaikit.internals.maximization import activation_maximization
    from xaikit.internals.training import TrainingRecorder
    from xaikit.internals.weights import weight_statistics

    torch.manual_seed(1)
    layers: list[Any] = []
    for _ in range(8):
        layers += [torch.nn.Linear(6, 6), torch.nn.Sigmoid()]
    deep = torch.nn.Sequential(*layers, torch.nn.Linear(6, 1))
    rec = TrainingRecorder(deep, every=1)
    opt = torch.optim.SGD(deep.parameters(), lr=0.1)
    X = torch.from_numpy(np.random.default_rng(2).normal(size=(32, 6)).astype(np.float32))
    y = X[:, :1] * 2.0
    for _ in range(12):
        opt.zero_grad()
        torch.nn.functional.mse_loss(deep(X), y).backward()
        opt.step()
    rec.close()
    net = _conv_net()
    return {
        "dynamics": rec.result(),
        "activations": layer_activations(net, images, layers=["conv1", "relu1"]),
        "maps": layer_activations(net, images, layers=["conv1", "relu1"], summary=False),
        "weights": weight_statistics(net),
        "visualization": activation_maximization(net, layer="relu1", channel=0, shape=(1, 6, 6), steps=24, random_state=0),
    }


def _page(result: Any, include_data: bool = False) -> str:
    return xk.Report("inside").add(result, name="inside").to_html_string(include_data=include_data)


def _dynamics(n_steps: int, n_layers: int, *, snapshots: int = 0, probe: int = 0, side: int = 4) -> TrainingDynamics:
    rng = np.random.default_rng(n_steps + n_layers)
    grad = np.exp(rng.normal(size=(n_steps, n_layers)))
    extra: dict[str, Any] = {}
    if snapshots:
        extra = {"attributions": rng.normal(size=(snapshots, probe, side * side, 1)), "attribution_steps": np.arange(snapshots) * 5,
                 "attribution_method": "grad_cam"}
    return TrainingDynamics(grad_norm=grad, weight_norm=rng.random((n_steps, n_layers)) + 1, update_ratio=rng.random((n_steps, n_layers)) * 1e-3,
                            dead_share=rng.random((n_steps, n_layers)), step=np.arange(n_steps) * 10,
                            layer_names=[f"layer<{j}>" for j in range(n_layers)], method="demo", **extra)


def test_gradient_flow_and_table_hold_the_recorded_numbers(inside: dict[str, Any]) -> None:
    dyn = inside["dynamics"]
    page = _page(dyn)
    layers = _attr("path", "xk-flow", "data-layer", page)
    assert layers == dyn.layer_names
    for j, grads in enumerate(_attr("path", "xk-flow", "data-grad", page)):
        np.testing.assert_allclose(_numbers(grads), dyn.grad_norm[:, j], rtol=1e-5)
    for j, steps in enumerate(_attr("path", "xk-flow", "data-steps", page)):
        assert [int(s) for s in steps.split()] == dyn.step.tolist(), j
    last = dyn.n_steps - 1
    np.testing.assert_allclose(_cells("xk-grad", page), dyn.grad_norm[last], rtol=1e-5)
    np.testing.assert_allclose(_cells("xk-weight", page), dyn.weight_norm[last], rtol=1e-5)
    np.testing.assert_allclose(_cells("xk-update", page), dyn.update_ratio[last], rtol=1e-5)
    np.testing.assert_allclose(_cells("xk-dead", page), dyn.dead_share[last], rtol=1e-5)
    assert page.count('class="xk-layer-row"') == len(dyn.layer_names)


def test_a_vanishing_stack_is_flagged_in_chart_list_and_table(inside: dict[str, Any]) -> None:
    dyn = inside["dynamics"]
    flags = dyn.flags()
    assert flags, "the deep sigmoid stack should vanish"
    page = _page(dyn)
    listed = list(zip(_attr("li", "xk-flag-item", "data-layer", page), _attr("li", "xk-flag-item", "data-kind", page),
                      _attr("li", "xk-flag-item", "data-step", page)))
    assert listed == [(f["layer"], f["kind"], str(f["step"])) for f in flags]
    first = {}
    for f in sorted(flags, key=lambda f: f["step"]):
        first.setdefault(f["layer"], f)
    marks = dict(zip(_attr("path", "xk-flag", "data-layer", page), _attr("path", "xk-flag", "data-step", page)))
    assert marks == {layer: str(f["step"]) for layer, f in first.items()}
    for layer, f in first.items():
        assert re.search(rf'data-layer="{re.escape(layer)}">.*?<td class="xk-flag-cell">{f["kind"]} from step {f["step"]:,}</td>', page)
    assert "xk-no-flags" not in page


def test_a_healthy_run_says_no_layer_is_flagged() -> None:
    g = np.ones((5, 3))
    dyn = TrainingDynamics(grad_norm=g, weight_norm=g, update_ratio=g * 1e-3, dead_share=g * 0, step=np.arange(5), layer_names=["a", "b", "c"],
                           method="demo")
    page = _page(dyn)
    assert 'class="xk-no-flags"' in page and 'class="xk-flag-item"' not in page and 'class="xk-flag"' not in page
    assert page.count('class="xk-flag-cell">none<') == 3


def test_attribution_drift_is_bounded_and_matches_the_snapshots() -> None:
    dyn = _dynamics(6, 2, snapshots=20, probe=6)
    page = _page(dyn)
    maps = re.findall(r'<figure class="xk-drift-map" data-row="(\d+)" data-step="(\d+)" data-max="([^"]+)"', page)
    assert len(maps) == _internals.MAX_DRIFT_ROWS * _internals.MAX_SNAPSHOTS
    assert {int(r) for r, _, _ in maps} == set(range(_internals.MAX_DRIFT_ROWS))
    steps = sorted({int(s) for _, s, _ in maps})
    assert steps[0] == 0 and steps[-1] == 95  # first and last snapshot kept
    a = dyn.attributions
    for r, s, top in maps:
        np.testing.assert_allclose(float(top), np.abs(a[int(s) // 5, int(r), :, 0]).max(), rtol=1e-5)
    corr = _cells("xk-drift-corr", page)
    assert len(corr) == 20 and corr[-1] == pytest.approx(1.0)
    expected = np.corrcoef(a[0, 0, :, 0], a[-1, 0, :, 0])[0, 1]
    mean0 = np.mean([np.corrcoef(a[0, p, :, 0], a[-1, p, :, 0])[0, 1] for p in range(6)])
    assert corr[0] == pytest.approx(mean0, rel=1e-4) and abs(expected) <= 1
    # not a square image: the table, no heat map
    g = np.ones((2, 1))
    flat = TrainingDynamics(grad_norm=g, weight_norm=g, update_ratio=g, dead_share=g, step=[0, 1], layer_names=["a"], method="demo",
                            attributions=np.arange(30.0).reshape(3, 2, 5, 1), attribution_steps=[0, 1, 2])
    flat_page = _page(flat)
    assert 'class="xk-drift-map"' not in flat_page and "not a square image" in flat_page
    assert flat_page.count('class="xk-drift-row"') == 3


def test_large_dynamics_stay_bounded() -> None:
    dyn = _dynamics(3000, 150, snapshots=40, probe=10, side=64)
    html = _internals.internals_part(dyn, include_data=False)
    assert html.count('class="xk-flow"') == _internals.MAX_FLOW_LAYERS
    points = [len(s.split()) for s in _attr("path", "xk-flow", "data-steps", html)]
    assert max(points) <= _internals.MAX_FLOW_POINTS + _internals.MAX_FLOW_LAYERS
    assert html.count('class="xk-layer-row"') == _internals.MAX_LAYERS
    assert len(html) < 3_000_000, len(html)


def test_activation_tables_name_dead_channels_first(inside: dict[str, Any]) -> None:
    acts = inside["activations"]
    page = _page(acts)
    assert acts.dead_channels("relu1").tolist() == [2]
    assert re.search(r'class="xk-dead-channels" data-count="1"><strong>Dead channels \(1\):</strong> relu1:2<', page)
    relu = re.findall(r'<tr class="xk-channel" data-channel="(relu1:\d)" data-state="(\w*)"', page)
    assert relu[0] == ("relu1:2", "dead") and [c for c, _ in relu[1:]] == ["relu1:0", "relu1:1", "relu1:3"]
    # every channel's numbers are the result's
    rows = re.findall(r'<tr class="xk-channel" data-channel="([^"]+)"', page)
    order = [acts.channel_names.index(c) for c in rows]
    for cls, values in (("xk-ch-mean", acts.mean), ("xk-ch-std", acts.std), ("xk-ch-max", acts.max), ("xk-ch-zeros", acts.zero_share)):
        np.testing.assert_allclose(_cells(cls, page), values[order], rtol=1e-5, err_msg=cls)
    for c in rows[:3]:
        k = acts.channel_names.index(c)
        top = ", ".join(str(int(r)) for r in acts.top_rows[k, :5])
        assert re.search(rf'data-channel="{c}".*?<td class="xk-ch-top">{top}</td>', page)
    layer_zeros = _cells("xk-act-zeros", page)
    np.testing.assert_allclose(layer_zeros, [acts.summary(n)["zero_share"].mean() for n in acts.layer_names], rtol=1e-5)
    assert "No row of the data is in this section" in page


def test_channel_tables_are_bounded_with_dead_and_saturated_first() -> None:
    from xaikit.results.layer_activations import LayerActivations

    n = 40
    zero = np.zeros(n)
    zero[[30, 35]] = 1.0
    sat = np.zeros(n)
    sat[[20, 5]] = [0.9, 0.6]
    acts = LayerActivations(mean=np.arange(n, dtype=float), std=np.ones(n), max=np.ones(n), min=np.zeros(n), zero_share=zero,
                            saturated_share=sat, top_rows=np.zeros((n, 2), dtype=int), top_values=np.zeros((n, 2)),
                            layers=[{"name": "sig", "shape": [n], "channel_axis": 1, "n_channels": n, "activation": "sigmoid"}],
                            channel_names=[f"sig:{i}" for i in range(n)], method="demo")
    html = _internals.internals_part(acts, include_data=False)
    rows = re.findall(r'<tr class="xk-channel" data-channel="sig:(\d+)" data-state="(\w*)"', html)
    assert len(rows) == _internals.MAX_CHANNELS
    assert rows[:4] == [("30", "dead"), ("35", "dead"), ("20", "saturated"), ("5", "saturated")]
    assert [int(c) for c, _ in rows[4:]] == [i for i in range(n) if i not in (5, 20, 30, 35)][: _internals.MAX_CHANNELS - 4]
    assert "16 of 40" in html


def test_feature_maps_only_with_include_data(inside: dict[str, Any]) -> None:
    acts = inside["maps"]
    assert acts.maps is not None
    hidden = _page(acts)
    assert 'class="xk-feature-maps"' not in hidden and "left out (include_data=False)" in hidden
    shown = _page(acts, include_data=True)
    assert _attr("figure", "xk-feature-maps", "data-layer", shown) == ["conv1", "relu1"]
    assert _attr("figure", "xk-feature-maps", "data-channels", shown) == ["4", "4"]
    assert len(shown) - len(hidden) < 200_000


def test_weight_section_holds_the_norms_and_filters(inside: dict[str, Any]) -> None:
    w = inside["weights"]
    page = _page(w)
    assert _attr("g", "xk-ibar", "data-feature", page) == w.layer_names
    np.testing.assert_allclose([float(v) for v in _attr("g", "xk-ibar", "data-mean", page)], w.norm, rtol=1e-5)
    np.testing.assert_allclose(_cells("xk-w-norm", page), w.norm, rtol=1e-5)
    np.testing.assert_allclose(_cells("xk-w-std", page), w.std, rtol=1e-5)
    np.testing.assert_allclose(_cells("xk-w-zero", page), w.near_zero, rtol=1e-5)
    assert _attr("img", "xk-filters", "data-filters", page) == ["4"]


def test_many_filters_are_bounded() -> None:
    from xaikit.results.weight_statistics import WeightStatistics

    rng = np.random.default_rng(0)
    w = WeightStatistics(norm=[1.0], mean=[0.0], std=[1.0], near_zero=[0.0], size=[200 * 3 * 7 * 7], hist_counts=[[1, 1]],
                         hist_edges=[[0.0, 1.0, 2.0]], filters=rng.normal(size=(200, 3, 7, 7)), layer_names=["conv"], method="demo")
    html = _internals.internals_part(w, include_data=False)
    assert _attr("img", "xk-filters", "data-filters", html) == [str(_internals.MAX_FILTERS)]
    assert "the first 64 of 200" in html and len(html) < 200_000


def test_feature_visualisation_shows_its_trace(inside: dict[str, Any]) -> None:
    viz = inside["visualization"]
    page = _page(viz)
    drawn = re.search(r'class="xk-avg"[^>]*data-y="([^"]+)"', page)
    assert drawn is not None
    np.testing.assert_allclose(_numbers(drawn.group(1)), viz.trace, rtol=1e-5, atol=1e-9)
    assert _cells("xk-viz-first", page)[0] == pytest.approx(viz.trace[0], rel=1e-5)
    assert _cells("xk-viz-last", page)[0] == pytest.approx(viz.trace[-1], rel=1e-5)
    assert _cells("xk-viz-gain", page)[0] == pytest.approx(viz.gain, rel=1e-5)
    assert page.count('<img class="xk-viz-image"') == 1 and "channel 0 of relu1" in page


def test_bad_arguments_are_named() -> None:
    with pytest.raises(InvalidParameterError, match="result: expected one of TrainingDynamics"):
        _internals.internals_part(object(), False)
    g = np.ones((2, 1))
    dyn = TrainingDynamics(grad_norm=g, weight_norm=g, update_ratio=g, dead_share=g, step=[0, 1], layer_names=["a"], method="demo")
    with pytest.raises(InvalidParameterError, match="include_data: expected True or False"):
        _internals.internals_part(dyn, "yes")


def test_the_page_with_all_four_opens_clean(tmp_path: Path, open_report: Any, inside: dict[str, Any]) -> None:
    report = xk.Report("inside the network")
    for key in ("dynamics", "activations", "weights", "visualization"):
        report.add(inside[key], name=key)
    report.add(_dynamics(6, 2, snapshots=3, probe=2), name="drift")
    opened = open_report(report.to_html(tmp_path / "inside.html"))
    opened.check_clean()
    page = opened.page
    assert page.locator("svg.xk-gradient-flow").count() == 2
    assert page.locator("li.xk-flag-item").count() == len(inside["dynamics"].flags())
    assert page.locator("tr.xk-channel").count() == len(inside["activations"].channel_names)
    assert page.locator("img.xk-filters").count() == 1 and page.locator("img.xk-viz-image").count() == 1
    assert page.locator("figure.xk-drift-map").count() == 2 * 3
    # every image decoded (a broken data URI has no natural width)
    widths = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
    assert widths and min(widths) > 0
