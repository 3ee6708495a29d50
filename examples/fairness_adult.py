"""Adult census income: which features make up the gap in the predicted chance of earning >50K between men and women?

Fits a random forest on the UCI Adult training file from every feature *but sex* (categorical columns
as category codes, a missing category as -1), explains the predicted probability of >50K of test rows
with interventional TreeSHAP over one background sample (exact Shapley values of the probability, which
is additive over a forest's trees; one base value for all rows), and attributes the gap in mean predicted
probability between men and women to the features with ``attribute_gap``: the attributions add up to the
gap exactly, with bootstrap intervals (rows resampled within each group).

Run::

    python examples/fairness_adult.py [--quick]
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier

import xaikit as xk
from xaikit.datasets import load_adult
from xaikit.fairness.gap import attribute_gap

BETWEEN = ("Male", "Female")


def _features(ds: Any) -> tuple[np.ndarray, list[str]]:
    X, names = ds.codes()
    keep = [j for j, name in enumerate(names) if name != "sex"]
    X = X[:, keep]
    return np.where(np.isnan(X), -1.0, X), [names[j] for j in keep]


def main(out_dir: str | os.PathLike[str] | None = None, *, quick: bool = False) -> dict[str, Any]:
    """Fit, explain, attribute the gap, print; return ``gap`` (the Attribution), ``printed_gap``, ``mean_a``,
    ``mean_b``, ``top`` ([(feature, value, lower, upper)] by |value|), ``gap_interval``, ``groups`` and
    ``probabilities`` (the model's predicted probability of >50K per explained row)."""
    train, test = load_adult("train"), load_adult("test")
    X_train, names = _features(train)
    X_test, _ = _features(test)
    rng = np.random.default_rng(0)
    if quick:
        fit_rows = rng.choice(len(X_train), size=8000, replace=False)
        rows = np.sort(rng.choice(len(X_test), size=3000, replace=False))
    else:
        fit_rows, rows = np.arange(len(X_train)), np.arange(len(X_test))
    model = RandomForestClassifier(
        n_estimators=20 if quick else 100, max_depth=8, min_samples_leaf=20, random_state=0, n_jobs=1
    ).fit(X_train[fit_rows], train.target[fit_rows])
    X = X_test[rows]
    sex = test.frame["sex"].iloc[rows].reset_index(drop=True)
    probabilities = model.predict_proba(X)[:, 1]

    background = X_train[rng.choice(len(X_train), size=50 if quick else 200, replace=False)]
    exp = xk.TreeShap(model, background=background, output="probability", feature_names=names).explain(X, target=1)
    gap = attribute_gap(exp, sex, BETWEEN, predictions=probabilities, n_boot=200 if quick else 1000, random_state=0)

    d = gap.diagnostics
    mean_a, mean_b, value = float(d["mean_a"][0, 0]), float(d["mean_b"][0, 0]), float(d["gap"][0, 0])
    low, high = float(d["gap_ci_lower"][0, 0]), float(d["gap_ci_upper"][0, 0])
    print(f"Adult: random forest of {model.n_estimators} trees without sex, fitted on {len(fit_rows)} rows; "
          f"{len(rows)} test rows explained")
    print(f"Mean predicted probability of >50K: {BETWEEN[0]} {mean_a:.4f} (n={d['n_a']}), {BETWEEN[1]} {mean_b:.4f} (n={d['n_b']})")
    print(f"Gap: {value:+.4f}, 95% bootstrap interval [{low:+.4f}, {high:+.4f}]")
    print("Shapley values of the gap (interventional TreeSHAP of the probability; they add up to the gap), top 8:")
    order = np.argsort(-np.abs(gap.values[0, :, 0]), kind="stable")
    top = []
    for j in order:
        v, lo, hi = float(gap.values[0, j, 0]), float(d["ci_lower"][0, j, 0]), float(d["ci_upper"][0, j, 0])
        top.append((names[j], v, lo, hi))
    for name, v, lo, hi in top[:8]:
        print(f"  {name:<16} {v:+.4f}  [{lo:+.4f}, {hi:+.4f}]")
    total = float(gap.values.sum())
    print(f"Sum of the attributions: {total:+.4f} (differs from the gap by {abs(total - value):.1e})")
    if out_dir is not None:
        path = os.path.join(os.fspath(out_dir), "adult_gap.xai")
        gap.save(path)
        print(f"Saved the gap attribution to {path}")
    return {
        "gap": gap, "printed_gap": value, "mean_a": mean_a, "mean_b": mean_b, "top": top, "gap_interval": (low, high),
        "groups": sex.to_numpy(dtype=object), "probabilities": probabilities,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder to save the gap attribution in (adult_gap.xai)")
    parser.add_argument("--quick", action="store_true", help="a smaller forest, fewer rows and resamples")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
