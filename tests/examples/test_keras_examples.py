"""Run the Keras example in quick mode and check what it reports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from example_loader import load_example as _load

import xaikit as xk


@pytest.mark.slow
def test_keras_dense_classification(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("tensorflow", reason="the Keras example needs TensorFlow: pip install 'xaikit[tensorflow]'")
    keras = pytest.importorskip("keras", minversion="3")
    if keras.backend.backend() != "tensorflow":
        pytest.skip(f"the example is checked on Keras' TensorFlow backend, not {keras.backend.backend()!r}")
    example = _load("keras_dense_classification")
    result = example.main(tmp_path, quick=True)
    out = capsys.readouterr().out
    assert "test accuracy" in out and "completeness gap" in out and "Spearman" in out

    assert result["epochs"] == 5
    assert result["accuracy"] > 0.8
    ig, saliency, shapley = result["ig"], result["saliency"], result["shapley"]
    assert ig.shape == saliency.shape == shapley.shape == (20, 10, 1)
    # Integrated Gradients add up to f(x) - f(mean) within the tolerance asked for (float32 model, ReLU kinks)
    assert result["max_completeness_gap"] < 1e-3
    np.testing.assert_allclose(
        ig.values[:, :, 0].sum(axis=1), ig.diagnostics["prediction"][:, 0] - ig.base_values[:, 0], atol=1e-3
    )
    assert result["max_shapley_gap"] < 1e-9  # exact Shapley values add up to the prediction

    # make_classification(shuffle=False): columns 0-3 informative, 4-5 redundant (combinations of those),
    # 6-9 noise, which the network should barely use: every method ranks the noise last
    noise = {f"noise_{i}" for i in range(4)}
    assert {name for name, _ in result["ig_ranking"][-4:]} == noise
    assert {name for name, _ in result["shapley_ranking"][-4:]} == noise
    saliency_scores = saliency.mean_abs()[:, 0]
    assert saliency_scores[6:].max() < saliency_scores[:6].min()
    assert result["spearman"] > 0.6

    for path, exp in zip(result["saved_paths"], (ig, shapley), strict=True):
        loaded = xk.Explanation.load(path)
        assert isinstance(loaded, xk.Attribution)
        np.testing.assert_array_equal(loaded.values, exp.values)
        np.testing.assert_array_equal(loaded.base_values, exp.base_values)
        assert loaded.feature_names == exp.feature_names
    assert xk.Explanation.load(result["saved_paths"][1]).feature_names == example.FEATURE_NAMES
