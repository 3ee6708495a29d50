"""LIME on documents and images: the explained features, their spans and segments, batching, executors."""

from __future__ import annotations

import re

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError


def keyword_model(texts: list[str]) -> np.ndarray:
    """P(positive) is 0.9 when the document contains the word "excellent", else 0.2."""
    p = np.array([0.9 if "excellent" in re.findall(r"\w+", t.lower()) else 0.2 for t in texts])
    return np.column_stack([1 - p, p])


DOCS = [
    "The plot was thin, but the cast was excellent and the music fine.",
    "Excellent! Simply excellent; nothing else to say.",
    "A dull, long film.",
]


def test_the_keyword_ranks_first_and_its_spans_map_back() -> None:
    exp = xk.Lime(keyword_model, masker=xk.TextMasker(lowercase=True)).explain(
        DOCS, target=1, n_samples=2000, random_state=0
    )
    assert isinstance(exp, xk.RaggedAttribution)
    for i in (0, 1):
        row = exp[i]
        weights = row.values[0, :, 0]
        top = row.feature_names[int(np.argmax(np.abs(weights)))]
        assert top == "excellent"
        assert weights.max() == pytest.approx(0.7, abs=0.05)  # 0.9 - 0.2: the word's whole effect
        for name, spans in zip(row.feature_names, row.spans[0]):
            for s, e in spans:
                assert row.texts[0][s:e].lower() == name
    # bag of words: both occurrences of "excellent" (one capitalised) are one feature
    assert len(exp[1].spans[0][exp[1].feature_names.index("excellent")]) == 2
    assert "excellent" not in exp[2].feature_names
    assert np.abs(exp[2].values).max() < 1e-8  # a constant model there: nothing to explain
    assert exp.diagnostics["local_fidelity"][2, 0] == 1.0


def test_positional_features_and_mask_token() -> None:
    seen: list[str] = []

    def model(texts: list[str]) -> np.ndarray:
        seen.extend(texts)
        return keyword_model(texts)

    masker = xk.TextMasker(features="positional", mode="mask", mask_token="[MASK]", lowercase=True)
    exp = xk.Lime(model, masker=masker).explain(DOCS[1], target=1, n_samples=300, random_state=0)
    assert exp[0].feature_names == ["excellent", "simply", "excellent#2", "nothing", "else", "to", "say"]
    assert any("[MASK]" in t for t in seen)
    weights = dict(zip(exp[0].feature_names, exp[0].values[0, :, 0]))
    # either occurrence keeps the keyword: each alone matters less than the bag-of-words feature
    assert 0 < weights["excellent"] < 0.7 and 0 < weights["excellent#2"] < 0.7


def test_region_model_puts_the_weight_on_its_segment() -> None:
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(3, 24, 24, 3))
    seg = np.repeat(np.repeat(np.arange(9).reshape(3, 3), 8, axis=0), 8, axis=1)  # 3x3 grid of 8x8 blocks

    def model(X: np.ndarray) -> np.ndarray:  # looks only at the centre block
        return np.asarray(X)[:, 8:16, 8:16, :].mean(axis=(1, 2, 3))

    masker = xk.ImageMasker(segmentation=seg, fill="constant", fill_value=0.0)
    exp = xk.Lime(model, masker=masker).explain(images, n_samples=400, random_state=0)
    assert exp.segments.shape == (3, 24, 24)
    for i in range(3):
        w = exp[i].values[0, :, 0]
        assert int(np.argmax(np.abs(w))) == 4
        assert w[4] == pytest.approx(images[i, 8:16, 8:16].mean(), rel=0.05)
        assert np.abs(np.delete(w, 4)).max() < 0.02 * w[4]


def test_image_layouts_and_segmentation_algorithms() -> None:
    rng = np.random.default_rng(1)
    base = np.zeros((2, 32, 32, 3))
    base[:, :16] = [0.9, 0.1, 0.1]
    base[:, 16:] = [0.1, 0.1, 0.9]
    images = np.clip(base + rng.normal(0, 0.02, base.shape), 0, 1)

    def top_red(X: np.ndarray) -> np.ndarray:  # channels-first input: red in the top half
        return np.asarray(X)[:, 0, :16, :].mean(axis=(1, 2))

    chw = images.transpose(0, 3, 1, 2)
    exp = xk.Lime(top_red, masker=xk.ImageMasker(segmentation="slic", fill="constant")).explain(
        chw, n_samples=300, random_state=0
    )
    for i in range(2):
        seg = exp.segments[i]
        w = exp[i].values[0, :, 0]
        top_half = np.zeros(w.size, dtype=bool)
        top_half[np.unique(seg[:16])] = True
        top_half[np.unique(seg[16:])] = False  # segments that straddle the middle count as bottom
        assert exp.lengths[i] > 10 and top_half.sum() > 3
        assert top_half[int(np.argmax(w))]
        assert w[top_half].sum() > 0.9 * np.clip(w, 0, None).sum()


def test_model_calls_are_batched() -> None:
    sizes: list[int] = []

    def model(texts: list[str]) -> np.ndarray:
        sizes.append(len(texts))
        return keyword_model(texts)

    xk.Lime(model, masker=xk.TextMasker()).explain(DOCS[:2], n_samples=1000, batch_size=128, random_state=0)
    assert max(sizes) <= 128 and sum(sizes) == 2 + 2 * 1000


def test_seeds_and_executors() -> None:
    lime = xk.Lime(keyword_model, masker=xk.TextMasker())
    a = lime.explain(DOCS, n_samples=500, random_state=3)
    b = lime.explain(DOCS, n_samples=500, random_state=3, executor="threads:2")
    with xk.LocalExecutor(2) as pool:
        c = lime.explain(DOCS, n_samples=500, random_state=3, executor=pool)
    d = lime.explain(DOCS, n_samples=500, random_state=4)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.values, c.values)
    assert not np.array_equal(a.values, d.values)


def test_labels_top_labels_stability_and_round_trip(tmp_path) -> None:
    exp = xk.Lime(keyword_model, masker=xk.TextMasker(), n_features=3).explain(
        DOCS[:2], top_labels=1, n_samples=500, random_state=0, stability=3
    )
    assert exp.output_names == ["output1"]  # both documents predict the positive class
    assert exp.diagnostics["stability"].shape == (2, 1)
    assert ((exp.values != 0).sum(axis=1) <= 3).all()
    path = tmp_path / "text.xai"
    exp.save(path)
    back = xk.Explanation.load(path)
    np.testing.assert_array_equal(back.values, exp.values)
    assert back.texts == exp.texts and back.spans == exp.spans
    assert back[1].feature_names == exp[1].feature_names


def test_empty_document_is_a_constant() -> None:
    exp = xk.Lime(keyword_model, masker=xk.TextMasker()).explain(["", "excellent"], n_samples=200, random_state=0)
    assert exp.lengths.tolist() == [0, 1]
    np.testing.assert_allclose(exp.base_values[0], keyword_model([""])[0])


def test_bad_masker_and_documents_name_the_parameter() -> None:
    with pytest.raises(InvalidParameterError, match="masker: expected a TabularMasker, TextMasker or ImageMasker"):
        xk.Lime(keyword_model, masker="text")
    with pytest.raises(InvalidParameterError, match="X"):
        xk.Lime(keyword_model, masker=xk.TextMasker()).explain([1, 2])
