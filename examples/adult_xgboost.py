"""Census income with XGBoost: global SHAP ranking, interaction values, and a check against XGBoost's own SHAP.

Trains ``xgboost.XGBClassifier`` (200 trees of depth 5) on the UCI Adult training file with its
categorical columns passed natively (pandas ``category`` columns, ``enable_categorical=True``) and
missing values left as NaN (XGBoost routes them down each split's default branch), evaluates it on
the Adult test file, and then:

* explains 1,000 test rows with path-dependent TreeSHAP (log-odds of income > 50K) and prints the
  global ranking;
* computes SHAP interaction values for 100 of those rows and names the most strongly interacting pair;
* compares the values with ``Booster.predict(DMatrix, pred_contribs=True)`` (XGBoost's own TreeSHAP,
  computed in float32) and prints the largest difference.

TreeSHAP takes numbers: categorical columns as the category codes of the pandas columns
(``TabularDataset.codes()``), which is what XGBoost re-codes a DataFrame to.

Run::

    python examples/adult_xgboost.py [--out FOLDER] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb
from sklearn.metrics import roc_auc_score

import xaikit as xk
from xaikit.datasets import load_adult


def main(out_dir: str | os.PathLike[str] | None = None, *, quick: bool = False) -> dict[str, Any]:
    """Train, explain, print the report; return the key results.

    Returns a dict with ``auc``, ``accuracy``, ``n_trees``, ``n_explained``, ``ranking``
    ([(feature, mean |SHAP|)]), ``max_completeness_gap`` (TreeSHAP's check), ``max_prediction_gap``
    (values + base vs XGBoost's margin), ``max_interaction_gap`` (interaction rows vs SHAP values),
    ``strongest_pair`` ((feature, feature, mean |interaction index|)), ``max_contrib_diff`` and
    ``max_bias_diff`` (vs ``pred_contribs``), ``margin_scale`` (max |margin| of the explained rows),
    ``explanation``, ``interactions`` and ``saved_path``.
    """
    train = load_adult("train")
    test = load_adult("test")
    n_trees = 50 if quick else 200
    n_explain = 200 if quick else 1000
    n_interact = 20 if quick else 100

    model = xgb.XGBClassifier(
        n_estimators=n_trees, max_depth=5, learning_rate=0.1, tree_method="hist", enable_categorical=True,
        n_jobs=1, random_state=0,  # one thread: small data, and OpenMP threads stall on a busy machine
    )
    start = time.perf_counter()
    model.fit(train.frame, train.target)
    t_fit = time.perf_counter() - start
    p_test = model.predict_proba(test.frame)[:, 1]
    auc = float(roc_auc_score(test.target, p_test))
    accuracy = float(((p_test > 0.5) == test.target).mean())

    print(f"Adult income: {train.shape[0]} training rows, {test.shape[0]} test rows, {train.shape[1]} features "
          f"({len(train.categorical_features)} categorical); >50K: {train.target.mean():.1%} of training rows")
    print(f"XGBoost, {n_trees} trees of depth 5, native categories and missing values ({t_fit:.1f} s)")
    print(f"Test AUC: {auc:.3f}, accuracy: {accuracy:.3f}")

    # path-dependent TreeSHAP on a random sample of test rows
    rows = np.sort(np.random.default_rng(0).choice(test.shape[0], size=n_explain, replace=False))
    X_codes, names = test.codes()
    X = X_codes[rows]
    explainer = xk.TreeShap(model)
    start = time.perf_counter()
    exp = explainer.explain(X)
    t_shap = time.perf_counter() - start
    margin = model.predict(test.frame.iloc[rows], output_margin=True)
    gap = float(np.abs(exp.diagnostics["completeness_gap"]).max())
    prediction_gap = float(np.abs(exp.completeness()[:, 0] - margin).max())
    ranking = exp.ranking()
    print(f"\nPath-dependent TreeSHAP, log-odds of >50K, {n_explain} test rows ({t_shap:.2f} s); "
          f"base value {exp.base_values[0, 0]:+.3f}")
    width = max(len(n) for n in names)
    print(f"  {'#':>2}  {'feature':<{width}}  mean |SHAP|")
    for k, (name, score) in enumerate(ranking, start=1):
        print(f"  {k:>2}  {name:<{width}}  {score:.4f}")
    print(f"  max completeness gap {gap:.1e}; max gap to XGBoost's margin {prediction_gap:.1e}")

    # interaction values
    start = time.perf_counter()
    inter = explainer.interactions(X[:n_interact])
    t_inter = time.perf_counter() - start
    interaction_gap = float(np.abs(inter.values.sum(axis=2) - exp.values[:n_interact]).max())
    index = 2.0 * inter.mean_abs()[:, :, 0]  # values[i, j] is half the interaction index of (i, j)
    np.fill_diagonal(index, -np.inf)
    i, j = np.unravel_index(int(np.argmax(index)), index.shape)
    pairs = sorted(
        ((index[a, b], names[a], names[b]) for a in range(len(names)) for b in range(a + 1, len(names))),
        reverse=True,
    )
    print(f"\nSHAP interaction values, {n_interact} rows ({t_inter:.2f} s); they add up to the SHAP values "
          f"within {interaction_gap:.1e}")
    print("  strongest pairs by mean |interaction index| (log-odds):")
    for score, a, b in pairs[:3]:
        print(f"    {a} x {b}: {score:.4f}")

    # XGBoost's own TreeSHAP
    dmatrix = xgb.DMatrix(test.frame.iloc[rows], enable_categorical=True)
    contribs = model.get_booster().predict(dmatrix, pred_contribs=True)
    contrib_diff = float(np.abs(contribs[:, :-1] - exp.values[:, :, 0]).max())
    bias_diff = float(np.abs(contribs[:, -1] - exp.base_values[:, 0]).max())
    scale = float(np.abs(margin).max())
    print(f"\nAgainst XGBoost pred_contribs (float32): max |difference| {contrib_diff:.1e} on the values, "
          f"{bias_diff:.1e} on the base value (largest |margin| {scale:.2f})")

    saved: str | None = None
    if out_dir is not None:
        path = Path(out_dir) / "adult_xgb.xai"
        path.parent.mkdir(parents=True, exist_ok=True)
        exp.save(path)
        saved = str(path)
        print(f"\nSaved the explanation to {saved}")

    return {
        "auc": auc,
        "accuracy": accuracy,
        "n_trees": n_trees,
        "n_explained": n_explain,
        "ranking": ranking,
        "max_completeness_gap": gap,
        "max_prediction_gap": prediction_gap,
        "max_interaction_gap": interaction_gap,
        "strongest_pair": (names[i], names[j], float(index[i, j])),
        "max_contrib_diff": contrib_diff,
        "max_bias_diff": bias_diff,
        "margin_scale": scale,
        "explanation": exp,
        "interactions": inter,
        "saved_path": saved,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder to save the explanation in (adult_xgb.xai)")
    parser.add_argument("--quick", action="store_true", help="fewer trees and rows, for a fast check")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
