"""Run ``examples/digits_cnn_training_dynamics.py`` in quick mode: its four results load back as their
kinds with the numbers it returned, and one report with all four renders their sections."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from example_loader import run_example

import xaikit as xk
from xaikit.report import _internals

pytestmark = pytest.mark.slow

FILES = {"training": "dynamics", "activations": "activations", "weights": "weights", "feature_viz": "visualization"}


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, dict[str, Any], Path]:
    pytest.importorskip("sklearn", reason='needs scikit-learn: pip install "xaikit[sklearn]"')
    pytest.importorskip("torch", reason="the example trains a torch CNN")
    return run_example("digits_cnn_training_dynamics", tmp_path_factory, "the digits data")


def test_the_example_trains_and_records(example: tuple[ModuleType, dict[str, Any], Path]) -> None:
    _, result, _ = example
    assert result["accuracy"] > 0.8  # 0.931 measured in quick mode
    dyn = result["dynamics"]
    assert dyn.layer_names == ["conv1", "conv2", "fc1", "fc2"]
    assert dyn.n_steps >= 5 and (np.diff(dyn.step) > 0).all()
    assert dyn.flags() == []  # a healthy network
    assert dyn.attributions is not None and dyn.attributions.shape[1:3] == (10, 64)


def test_the_saved_results_load_as_their_kinds(example: tuple[ModuleType, dict[str, Any], Path]) -> None:
    _, result, out = example
    assert {p.name for p in out.iterdir()} == {f"digits_{name}.xai" for name in FILES}
    kinds = {"training": xk.TrainingDynamics, "activations": xk.LayerActivations, "weights": xk.WeightStatistics,
             "feature_viz": xk.FeatureVisualization}
    for name, key in FILES.items():
        loaded = xk.Explanation.load(out / f"digits_{name}.xai")
        assert type(loaded) is kinds[name], name
        made = result[key]
        for field in ("grad_norm", "mean", "norm", "trace"):
            if hasattr(made, field):
                np.testing.assert_array_equal(getattr(loaded, field), getattr(made, field), err_msg=f"{name}.{field}")


def test_a_report_with_all_four_renders(example: tuple[ModuleType, dict[str, Any], Path], tmp_path: Path) -> None:
    _, result, out = example
    report = xk.Report("digits CNN, inside")
    for name in FILES:
        report.add(xk.Explanation.load(out / f"digits_{name}.xai"), name=name)
    path = report.to_html(tmp_path / "inside.html")
    page = path.read_text(encoding="utf-8")
    for part in ("xk-training", "xk-activations", "xk-weights", "xk-visualization"):
        assert page.count(f'class="xk-part {part}"') == 1, part
    assert page.count('class="xk-flow"') == 4 and 'class="xk-no-flags"' in page
    acts = result["activations"]
    dead = sum(len(acts.dead_channels(layer)) for layer in acts.layer_names)
    assert re.search(rf'class="xk-dead-channels" data-count="{dead}"', page)
    snapshots = result["dynamics"].attributions.shape[0]
    assert page.count('class="xk-drift-map"') == _internals.MAX_DRIFT_ROWS * min(_internals.MAX_SNAPSHOTS, snapshots)
    assert len(page) < 1_000_000
