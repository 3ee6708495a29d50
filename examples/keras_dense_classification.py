"""Integrated Gradients, saliency and exact Shapley values for a Keras dense classifier.

Makes a synthetic binary problem with scikit-learn's ``make_classification`` (10 features, unshuffled,
so that they come in a known order: 4 informative, 2 redundant linear combinations of those, 4 noise),
trains a small Keras network on it (Dense(32, relu) -> Dense(16, relu) -> Dense(2, softmax), seeded),
and explains the probability of class 1 for 20 test rows three ways:

* Integrated Gradients from the training mean, with the completeness gap of every row
  (``sum(attributions) - (f(x) - f(mean))``, the quadrature and float32 error). Along the path the
  gradient of a ReLU network jumps wherever a unit switches on or off, so no quadrature rule is
  exact: rows whose gap exceeds ``tol=1e-3`` are recomputed with twice the nodes;
* saliency (``|gradient|``) for each row's true class;
* exact interventional Shapley values over a background of training rows (all ``2**10 - 2``
  coalitions), whose ranking of the features is compared with Integrated Gradients' by the
  Spearman correlation of their mean |attribution|.

Saves the Integrated Gradients and Shapley explanations (``keras_dense_ig.xai``,
``keras_dense_shapley.xai``) when an output folder is given.

Run::

    python examples/keras_dense_classification.py [--out FOLDER] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow's start-up logs

import keras
from scipy.stats import spearmanr
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

import xaikit as xk

#: make_classification(shuffle=False) puts the informative features first, then the redundant ones.
FEATURE_NAMES = [f"informative_{i}" for i in range(4)] + [f"redundant_{i}" for i in range(2)] + [
    f"noise_{i}" for i in range(4)
]


def build_model(n_features: int) -> keras.Model:
    """The classic dense classifier, with seeded initialisation."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((n_features,)),
            keras.layers.Dense(32, activation="relu", name="hidden1"),
            keras.layers.Dense(16, activation="relu", name="hidden2"),
            keras.layers.Dense(2, activation="softmax", name="probabilities"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _ranking_table(scores: dict[str, np.ndarray]) -> str:
    """Features (by the first method's mean |attribution|) x methods: mean |attribution| (rank)."""
    first = next(iter(scores.values()))
    order = np.argsort(-first, kind="stable")
    ranks = {m: np.argsort(np.argsort(-s, kind="stable"), kind="stable") + 1 for m, s in scores.items()}
    width = max(len(n) for n in FEATURE_NAMES)
    head = f"  {'feature':<{width}}" + "".join(f"  {m:>18}" for m in scores)
    lines = [head, "  " + "-" * (len(head) - 2)]
    for i in order:
        cells = "".join(f"  {scores[m][i]:>12.4f} (#{ranks[m][i]:>2})" for m in scores)
        lines.append(f"  {FEATURE_NAMES[i]:<{width}}{cells}")
    return "\n".join(lines)


def main(out_dir: str | os.PathLike[str] | None = None, *, quick: bool = False) -> dict[str, Any]:
    """Train, explain, print the report; return the key results.

    Returns a dict with ``accuracy``, ``epochs``, ``ig`` / ``saliency`` / ``shapley`` (the
    explanations), ``max_completeness_gap`` (Integrated Gradients), ``max_shapley_gap`` (Shapley
    values + base vs the prediction), ``ig_ranking`` / ``shapley_ranking`` ([(feature, mean |attr|)]),
    ``spearman`` (of the two rankings' mean |attribution|), ``seconds`` (per method) and
    ``saved_paths``.
    """
    X, y = make_classification(
        n_samples=2000, n_features=10, n_informative=4, n_redundant=2, shuffle=False, random_state=0
    )
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    epochs = 5 if quick else 20
    model = build_model(X.shape[1])
    model.fit(X_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    accuracy = float((model.predict(X_test, verbose=0).argmax(axis=1) == y_test).mean())

    rows, labels = X_test[:20], y_test[:20]
    seconds: dict[str, float] = {}

    start = time.perf_counter()
    ig = xk.IntegratedGradients(model).explain(
        rows, target=1, baseline=X_train.mean(axis=0), n_steps=64, tol=1e-3, max_steps=2048,
        batch_size=1024
    )
    seconds["integrated_gradients"] = time.perf_counter() - start
    gaps = ig.diagnostics["completeness_gap"][:, 0]

    start = time.perf_counter()
    saliency = xk.Saliency(model).explain(rows, target=labels)
    seconds["saliency"] = time.perf_counter() - start

    background = X_train[np.random.default_rng(0).choice(len(X_train), size=20 if quick else 50, replace=False)]
    start = time.perf_counter()
    shapley = xk.ExactShapley(model, background=background, feature_names=FEATURE_NAMES).explain(rows, target=1)
    seconds["exact_shapley"] = time.perf_counter() - start
    probability = model.predict(rows, verbose=0)[:, 1]
    shapley_gap = float(np.abs(shapley.completeness()[:, 0] - probability).max())

    scores = {
        "integrated_grads": ig.mean_abs()[:, 0],
        "exact_shapley": shapley.mean_abs()[:, 0],
        "saliency": saliency.mean_abs()[:, 0],
    }
    rho = float(spearmanr(scores["integrated_grads"], scores["exact_shapley"]).statistic)
    order = np.argsort(-scores["integrated_grads"], kind="stable")
    ig_ranking = [(FEATURE_NAMES[i], float(scores["integrated_grads"][i])) for i in order]
    shapley_ranking = shapley.ranking(0)

    print(
        f"make_classification: {len(X_train)} training / {len(X_test)} test rows, 10 features "
        "(4 informative, 2 redundant, 4 noise)"
    )
    print(
        f"Keras {keras.__version__} ({keras.backend.backend()} backend): "
        "Dense(32, relu) -> Dense(16, relu) -> Dense(2, softmax)"
    )
    print(f"Trained {epochs} epochs; test accuracy: {accuracy:.3f}")
    print(f"\nExplaining P(class 1) for {len(rows)} test rows:")
    steps = ig.diagnostics["n_steps"]
    print(
        f"  Integrated Gradients (baseline = training mean; Gauss-Legendre, 64 nodes doubled until the gap "
        f"is below 1e-3: {int(np.median(steps))} to {int(steps.max())} per row): "
        f"{seconds['integrated_gradients']:.2f} s; "
        f"completeness gap |sum - (f(x) - f(mean))|: max {np.abs(gaps).max():.2e}, median {np.median(np.abs(gaps)):.2e}"
    )
    print(f"  Saliency (|gradient| of each row's true class): {seconds['saliency']:.2f} s")
    print(
        f"  Exact Shapley values (1022 coalitions x {len(background)} background rows): "
        f"{seconds['exact_shapley']:.2f} s; max |values + base - prediction| {shapley_gap:.2e}"
    )
    print("\nMean |attribution| per feature (rank):")
    print(_ranking_table(scores))
    print(f"\nSpearman correlation of mean |attribution|, Integrated Gradients vs exact Shapley: {rho:.3f}")

    saved: list[str] = []
    if out_dir is not None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for name, exp in (("keras_dense_ig.xai", ig), ("keras_dense_shapley.xai", shapley)):
            exp.save(folder / name)
            saved.append(str(folder / name))
        print(f"Saved the explanations to {', '.join(saved)}")

    return {
        "accuracy": accuracy,
        "epochs": epochs,
        "ig": ig,
        "saliency": saliency,
        "shapley": shapley,
        "max_completeness_gap": float(np.abs(gaps).max()),
        "max_shapley_gap": shapley_gap,
        "ig_ranking": ig_ranking,
        "shapley_ranking": shapley_ranking,
        "spearman": rho,
        "seconds": seconds,
        "saved_paths": saved,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder to save the explanations in")
    parser.add_argument("--quick", action="store_true", help="fewer epochs and a smaller background, for a fast check")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
