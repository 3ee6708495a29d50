"""LIME on tabular data: why a random forest gives five iris flowers their predicted species.

Trains a scikit-learn ``RandomForestClassifier`` (100 trees) on a stratified 70/30 split of the
iris data and explains the first five test flowers with LIME, for the class each one is
predicted (``top_labels=1``):

* with quartile discretisation (the default of LIME for tables): the surrogate's features are
  readable conditions such as ``"petal width (cm) > 1.80"`` (1 when the flower is in that
  quartile bin, 0 when a perturbation leaves it);
* without discretisation: the features are the standardised measurements, so a weight is the
  change in probability per training standard deviation.

For each flower it prints the predicted class and its probability, the surrogate's weights by
decreasing size with their (sandwich) standard errors, and the local fidelity (weighted R^2 of
the surrogate on held-out perturbations). The forest separates the species by the petals, and
the top feature of every flower is a petal measurement; the fidelity shows where a linear
surrogate is a poor summary (a flower near a class boundary, or a bin that mixes two species).

With an output folder it saves both explanations (``iris_lime.xai``, ``iris_lime_continuous.xai``)
and a table of all the weights (``iris_lime.csv``).

Run::

    python examples/iris_lime.py [--out FOLDER] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

import xaikit as xk

#: Test flowers explained (the first ones of the test split).
N_ROWS = 5


def explain_rows(model: Any, X_train: pd.DataFrame, rows: pd.DataFrame, *, discretize: str | None,
                 n_samples: int, random_state: int = 0) -> xk.Attribution:
    """LIME of the top predicted class of each row, with a masker built on ``X_train``."""
    masker = xk.TabularMasker(X_train, discretize=discretize)
    return xk.Lime(model, masker=masker).explain(rows, top_labels=1, n_samples=n_samples,
                                                 random_state=random_state)


def row_report(exp: xk.Attribution, i: int, output: str) -> dict[str, Any]:
    """Row ``i``'s surrogate for ``output``: features by decreasing |weight|, with readable names."""
    o = exp.output_names.index(output)
    weights = exp.values[i, :, o]
    std_err = exp.diagnostics["std_err"][i, :, o]
    readable = exp.diagnostics["interpretable_features"][i]
    order = np.argsort(-np.abs(weights), kind="stable")
    return {
        "output": output,
        "local_fidelity": float(exp.diagnostics["local_fidelity"][i, o]),
        "features": [
            (exp.feature_names[j], str(readable[j]), float(weights[j]), float(std_err[j]))
            for j in order if weights[j] != 0
        ],
    }


def main(out_dir: str | os.PathLike[str] | None = None, *, quick: bool = False) -> dict[str, Any]:
    """Train, explain, print the report; return the key results.

    Returns a dict with ``accuracy``, ``n_samples``, ``random_state``, ``predicted`` (class per
    explained row), ``true`` (its true class), ``probability`` (of the predicted class),
    ``reports`` and ``reports_continuous`` (per row: ``output``, ``local_fidelity`` and
    ``features`` = [(feature, readable name, weight, std_err)] by decreasing |weight|),
    ``explanation`` and ``explanation_continuous``, ``model``, ``X_train``, ``rows``,
    ``saved_path``, ``saved_path_continuous`` and ``summary_path``.
    """
    iris = load_iris(as_frame=True)
    X = iris.data
    y = np.asarray(iris.target_names)[iris.target]  # class names, so the outputs are named by class
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    model = RandomForestClassifier(n_estimators=100, random_state=0).fit(X_train, y_train)
    accuracy = float((model.predict(X_test) == y_test).mean())
    n_samples = 1000 if quick else 5000
    seed = 0

    rows = X_test.iloc[:N_ROWS]
    proba = model.predict_proba(rows)
    predicted = [str(c) for c in model.classes_[np.argmax(proba, axis=1)]]
    start = time.perf_counter()
    exp = explain_rows(model, X_train, rows, discretize="quartile", n_samples=n_samples, random_state=seed)
    exp_cont = explain_rows(model, X_train, rows, discretize=None, n_samples=n_samples, random_state=seed)
    seconds = time.perf_counter() - start
    reports = [row_report(exp, i, predicted[i]) for i in range(N_ROWS)]
    reports_cont = [row_report(exp_cont, i, predicted[i]) for i in range(N_ROWS)]

    print(f"Iris: random forest with 100 trees, {len(X_train)} training / {len(X_test)} test flowers")
    print(f"Test accuracy: {accuracy:.3f}")
    print(f"LIME of the predicted class of {N_ROWS} test flowers, {n_samples} perturbations each, "
          f"with and without quartile bins ({seconds:.2f} s)")
    for title, reps in (("Quartile bins", reports), ("Standardised measurements (no bins)", reports_cont)):
        print(f"\n{title}:")
        for i, rep in enumerate(reps):
            p = proba[i, list(model.classes_).index(rep["output"])]
            print(f"  flower {i} (true {y_test[i]}): predicted {rep['output']} (p = {p:.2f}), "
                  f"local fidelity {rep['local_fidelity']:.3f}")
            width = max(len(r) for _, r, _, _ in rep["features"])
            for _, readable, weight, se in rep["features"]:
                print(f"      {readable:<{width}}  {weight:+.3f} +/- {se:.3f}")
    fid = np.array([r["local_fidelity"] for r in reports])
    fid_cont = np.array([r["local_fidelity"] for r in reports_cont])
    print(f"\nLocal fidelity of the predicted class: bins {np.round(fid, 3).tolist()}, "
          f"no bins {np.round(fid_cont, 3).tolist()}")

    result: dict[str, Any] = {
        "accuracy": accuracy,
        "n_samples": n_samples,
        "random_state": seed,
        "predicted": predicted,
        "true": [str(c) for c in y_test[:N_ROWS]],
        "probability": [float(p) for p in proba.max(axis=1)],
        "reports": reports,
        "reports_continuous": reports_cont,
        "explanation": exp,
        "explanation_continuous": exp_cont,
        "model": model,
        "X_train": X_train,
        "rows": rows,
        "saved_path": None,
        "saved_path_continuous": None,
        "summary_path": None,
    }
    if out_dir is not None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path, path_cont = folder / "iris_lime.xai", folder / "iris_lime_continuous.xai"
        exp.save(path)
        exp_cont.save(path_cont)
        table = [
            {"row": i, "discretize": disc, "predicted": rep["output"], "local_fidelity": rep["local_fidelity"],
             "rank": rank, "feature": name, "condition": readable, "weight": weight, "std_err": se}
            for disc, reps in (("quartile", reports), ("none", reports_cont))
            for i, rep in enumerate(reps)
            for rank, (name, readable, weight, se) in enumerate(rep["features"], start=1)
        ]
        summary = folder / "iris_lime.csv"
        pd.DataFrame(table).to_csv(summary, index=False)
        result.update(saved_path=str(path), saved_path_continuous=str(path_cont), summary_path=str(summary))
        print(f"Saved the explanations to {path} and {path_cont}, the weights to {summary}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder for iris_lime.xai, iris_lime_continuous.xai, iris_lime.csv")
    parser.add_argument("--quick", action="store_true", help="fewer perturbations, for a fast check")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
