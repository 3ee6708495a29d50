"""What a gradient-boosting model of heart disease relies on overall: rules, importance, dependence.

Trains a scikit-learn ``GradientBoostingClassifier`` on the UCI Cleveland heart disease data (the 297
complete rows, stratified 70/30 split; categorical columns as their category codes) and explains it
globally:

* a surrogate tree of depth 3 fitted to the model's probability of disease on 3/4 of the patients,
  read as rules, with its fidelity (R^2) on the other 1/4, which the tree did not see; the surrogate sees
  the categorical columns as categories, so its rules read ``cp in {'asymptomatic'}``;
* the features ranked by mean |SHAP| (exact TreeSHAP, log-odds of disease);
* the features ranked by permutation importance (accuracy, 5 repeats);
* the partial dependence of the probability of disease on the maximum heart rate (``thalach``);
* its accumulated local effect (ALE, which stays on the data where the features are correlated), with a
  95% bootstrap band.

Run::

    python examples/heart_disease_global.py [--out FOLDER] [--quick]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.model_selection import train_test_split

import xaikit as xk
from xaikit.datasets import load_heart_disease
from xaikit.explainers.global_.ale import Ale
from xaikit.explainers.global_.partial_dependence import PartialDependence
from xaikit.explainers.global_.permutation_importance import PermutationImportance
from xaikit.explainers.global_.surrogate_tree import SurrogateTree
from xaikit.models.function import FunctionModel


class OnCategories:
    """The model seen through a DataFrame with categorical columns: the columns become their codes."""

    def __init__(self, model: Any, categorical: list[str]) -> None:
        self.model, self.categorical = model, categorical

    def __call__(self, frame: Any) -> np.ndarray:
        X = frame.copy()
        for name in self.categorical:
            X[name] = X[name].cat.codes
        return self.model.predict_proba(X.to_numpy(dtype=np.float64))[:, 1:]  # type: ignore[no-any-return]


def main(out_dir: str | os.PathLike[str] | None = None, *, quick: bool = False) -> dict[str, Any]:
    """Train, explain, print the summary; return the key results.

    Returns a dict with ``accuracy``, ``rules`` (the Rules result), ``fidelity`` and
    ``fidelity_train`` (R^2), ``shap_ranking`` and ``permutation_ranking`` (lists of (feature,
    score)), ``pd_grid`` and ``pd_average`` (thalach), the complete patients ``frame`` (the
    surrogate's data) and codes ``X``, the test rows' codes ``X_test`` and labels ``y_test``, the
    fitted ``model`` and ``saved_path`` (the rules saved when ``out_dir`` is given).
    """
    ds = load_heart_disease()
    complete = ~ds.frame.isna().any(axis=1).to_numpy()
    frame = ds.frame[complete].reset_index(drop=True)
    y = ds.target[complete]
    codes = frame.copy()
    for name in ds.categorical_features:
        codes[name] = codes[name].cat.codes
    X = codes.to_numpy(dtype=np.float64)
    names = list(frame.columns)
    idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=0.3, stratify=y, random_state=0)
    model = GradientBoostingClassifier(n_estimators=50 if quick else 200, max_depth=2, random_state=0)
    model.fit(X[idx_train], y[idx_train])
    X_test, y_test = X[idx_test], y[idx_test]
    accuracy = float(model.score(X_test, y_test))
    print(f"Heart disease (Cleveland): {len(y)} complete patients, {len(idx_test)} in the test set")
    print(f"GradientBoostingClassifier test accuracy: {accuracy:.4f}")

    on_categories = FunctionModel(OnCategories(model, ds.categorical_features), output_names=["disease"], output="probability")
    surrogate = SurrogateTree(on_categories, max_depth=3, min_samples_leaf=5, test_size=0.25)
    rules = surrogate.explain(frame, executor="serial", random_state=0)
    fidelity = float(rules.diagnostics["fidelity"][0])
    fidelity_train = float(rules.diagnostics["fidelity_train"][0])
    print(f"\nSurrogate tree (depth 3): {rules.n_rules} rules; fidelity R^2 {fidelity:.4f} on "
          f"{len(rules.diagnostics['test_rows'])} held-out patients ({fidelity_train:.4f} on the "
          f"{len(rules.diagnostics['train_rows'])} it was fitted on)")
    for text in rules.rules():
        print("  " + text)

    shap = xk.TreeShap(model).explain(X_test, executor="serial")
    shap = xk.Attribution(values=shap.values, base_values=shap.base_values, feature_names=names,
                          output_names=shap.output_names, method=shap.method)
    shap_ranking = [(n, float(s)) for n, s in shap.ranking()]
    print("\nMean |SHAP| (log-odds of disease), top 5:")
    for n, s in shap_ranking[:5]:
        print(f"  {n:<10} {s:.4f}")

    importance = PermutationImportance(model, scoring="accuracy", n_repeats=5).explain(X_test, y_test, executor="serial", random_state=0)
    mean = importance.mean()[:, 0]
    order = np.argsort(-mean, kind="stable")
    permutation_ranking = [(names[i], float(mean[i])) for i in order]
    print("\nPermutation importance (drop in accuracy, 5 repeats), top 5:")
    for n, s in permutation_ranking[:5]:
        print(f"  {n:<10} {s:.4f}")

    pd_result = PartialDependence(model, features=[names.index("thalach")], grid_resolution=5).explain(X_test, executor="serial")
    term = pd_result.term(0)
    pd_grid = np.asarray(term["grid_values"][0], dtype=np.float64)
    pd_average = np.asarray(term["average"][:, -1], dtype=np.float64)
    print("\nPartial dependence of P(disease) on thalach (maximum heart rate):")
    for g, a in zip(pd_grid, pd_average):
        print(f"  thalach = {g:6.1f}: {a:.4f}")

    ale = Ale(model, features=[names.index("thalach")], bins=5, n_bootstrap=50).explain(X, executor="serial", random_state=0)
    ale_term = ale.term(0)
    ale_grid = np.asarray(ale_term["grid_values"][0], dtype=np.float64)
    ale_average = np.asarray(ale_term["average"][:, -1], dtype=np.float64)
    ale_lower, ale_upper = ale_term["lower"][:, -1], ale_term["upper"][:, -1]
    print("\nAccumulated local effect of thalach on P(disease), centred, with a 95% bootstrap band:")
    for g, a, lo, hi in zip(ale_grid, ale_average, ale_lower, ale_upper):
        print(f"  thalach = {g:6.1f}: {a:+.4f} [{lo:+.4f}, {hi:+.4f}]")

    saved_path = None
    if out_dir is not None:
        saved_path = str(Path(out_dir) / "heart_disease_rules.xai")
        rules.save(saved_path)
    return {
        "accuracy": accuracy, "rules": rules, "fidelity": fidelity, "fidelity_train": fidelity_train,
        "shap_ranking": shap_ranking, "permutation_ranking": permutation_ranking, "pd_grid": pd_grid,
        "pd_average": pd_average, "ale_grid": ale_grid, "ale_average": ale_average, "frame": frame, "X": X, "X_test": X_test, "y_test": y_test, "model": model,
        "surrogate_model": surrogate.model, "saved_path": saved_path,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder to save the rules in")
    parser.add_argument("--quick", action="store_true", help="fewer boosting rounds")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
