"""Run ``examples/digits_cnn_keras.py`` in quick mode and check what it reports: the Keras CNN's
accuracy, its PyTorch twin (same probabilities, same attributions), the deletion check and the
saved files."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from example_loader import load_example as _load

import xaikit as xk

pytestmark = pytest.mark.slow

METHODS = ("saliency", "integrated_gradients", "grad_cam", "grad_cam_conv2", "occlusion")




@pytest.fixture(scope="module")
def digits_keras(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, dict[str, Any], Path]:
    pytest.importorskip("sklearn", reason='needs scikit-learn: pip install "xaikit[sklearn]"')
    pytest.importorskip("torch", reason="the PyTorch twin needs torch")
    pytest.importorskip("tensorflow", reason="the Keras example needs TensorFlow: pip install 'xaikit[tensorflow]'")
    keras = pytest.importorskip("keras", minversion="3")
    if keras.backend.backend() != "tensorflow":
        pytest.skip(f"the example is checked on Keras' TensorFlow backend, not {keras.backend.backend()!r}")
    module = _load("digits_cnn_keras")
    out = tmp_path_factory.mktemp("digits_cnn_keras")
    return module, module.main(out, quick=True), out


def test_digits_keras_accuracy(digits_keras: tuple[ModuleType, dict[str, Any], Path]) -> None:
    _, result, _ = digits_keras
    assert (result["epochs"], result["n_train"], result["n_test"]) == (15, 1347, 450)
    assert result["accuracy"] > 0.9  # 0.967 measured
    assert result["labels"].tolist() == list(range(10))  # the first test digit of each class
    for name in METHODS:
        assert result["maps"][name].shape == (10, 8, 8), name


def test_digits_keras_twin_agrees(digits_keras: tuple[ModuleType, dict[str, Any], Path]) -> None:
    _, result, _ = digits_keras
    assert result["twin_prediction_diff"] < 1e-5  # about 1e-6 measured (float32)
    assert set(result["twin_attribution_diff"]) == set(METHODS)
    for name in METHODS:
        assert result["twin_attribution_diff"][name] < 1e-4, name  # 2e-8 to 6e-6 measured
        assert result["attribution_scale"][name] > 0.05, name  # the tolerance is small next to the values


def test_digits_keras_twin_needs_the_flatten_permutation(digits_keras: tuple[ModuleType, dict[str, Any], Path]) -> None:
    """Copying fc1 without regrouping its rows from (h, w, c) to (c, h, w) order gives another function."""
    import torch

    module, _, _ = digits_keras
    torch_example = module.load_example("digits_cnn_gradients")
    X_train, X_test, y_train, _ = module.load_split()
    model = module.train_model(module.to_channels_last(X_train[:200]), y_train[:200], epochs=1)
    twin = module.torch_twin(model, torch_example.build_network())
    p_keras = module.keras_probabilities(model, module.to_channels_last(X_test))
    assert np.abs(torch_example.probabilities(twin, X_test) - p_keras).max() < 1e-5
    kernel = model.get_layer("fc1").get_weights()[0]
    with torch.no_grad():
        twin.fc1.weight.copy_(torch.from_numpy(kernel.T.copy()))
    assert np.abs(torch_example.probabilities(twin, X_test) - p_keras).max() > 1e-2


def test_digits_keras_deletion(digits_keras: tuple[ModuleType, dict[str, Any], Path]) -> None:
    _, result, _ = digits_keras
    assert set(result["deletion"]) == set(METHODS)
    for name in METHODS:
        check = result["deletion"][name]
        assert check["k"] == 6
        assert check["mean_top"] > check["mean_random"], name
    # IG and occlusion weigh the ink: well above random pixels (0.64 and 0.79 vs 0.013 measured)
    for name in ("integrated_gradients", "occlusion"):
        check = result["deletion"][name]
        assert check["mean_top"] > check["mean_random"] + 0.3, name
        assert (check["top"] > check["random"]).sum() >= 8, name
    occ = result["deletion"]["occlusion"]
    assert (occ["top"] > occ["random"]).all()


def test_digits_keras_saved(digits_keras: tuple[ModuleType, dict[str, Any], Path]) -> None:
    _, result, out = digits_keras
    assert set(result["saved_paths"]) == set(METHODS)
    for name, path in result["saved_paths"].items():
        loaded = xk.Explanation.load(path)
        exp = result["explanations"][name]
        assert isinstance(loaded, xk.Attribution) and Path(path).parent == out, name
        np.testing.assert_array_equal(loaded.values, exp.values)
        np.testing.assert_array_equal(loaded.diagnostics["target"], result["labels"])
        np.testing.assert_array_equal(xk.as_input_shape(loaded), xk.as_input_shape(exp))
    summary = Path(result["summary_path"]).read_text(encoding="utf-8")
    assert f"test accuracy {result['accuracy']:.3f}" in summary
    assert "| occlusion |" in summary and "PyTorch twin" in summary
    assert {p.name for p in out.iterdir()} == {f"digits_keras_{m}.xai" for m in METHODS} | {"digits_keras.md"}
