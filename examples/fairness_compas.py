"""COMPAS: which features make up the gap in predicted risk between African-American and Caucasian defendants?

Fits a logistic regression of two-year recidivism on ProPublica's COMPAS data (their standard filter,
6,172 defendants) from features *without race* (sex, age, prior and juvenile counts, charge degree),
explains the predicted probability of every defendant with exact Shapley values over one background
sample (``ExactShapley``: one base value for all rows), and attributes the gap in mean predicted risk
between African-American and Caucasian defendants to the features with ``attribute_gap``: the
attributions add up to the gap exactly, and come with bootstrap intervals (rows resampled within
each group).

The data are read from ``$XAIKIT_DATA/compas`` (default ``../shared/data``); they are not shipped
with xaikit (no stated licence).

Run::

    python examples/fairness_compas.py [--quick]
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

import xaikit as xk
from xaikit.datasets.compas import load_compas
from xaikit.fairness.gap import attribute_gap

FEATURES = ["male", "age", "priors_count", "juv_fel_count", "juv_misd_count", "juv_other_count", "felony"]
BETWEEN = ("African-American", "Caucasian")


def main(out_dir: str | os.PathLike[str] | None = None, *, quick: bool = False) -> dict[str, Any]:
    """Fit, explain, attribute the gap, print; return ``gap`` (the Attribution), ``printed_gap``,
    ``mean_a``, ``mean_b``, ``top`` ([(feature, value, lower, upper)] by |value|), ``gap_interval``,
    ``groups`` and ``probabilities`` (the model's predicted risk per row)."""
    ds = load_compas()
    frame = ds.frame
    X = np.column_stack([
        (frame["sex"] == "Male").to_numpy(dtype=np.float64),
        frame["age"].to_numpy(dtype=np.float64),
        frame["priors_count"].to_numpy(dtype=np.float64),
        frame["juv_fel_count"].to_numpy(dtype=np.float64),
        frame["juv_misd_count"].to_numpy(dtype=np.float64),
        frame["juv_other_count"].to_numpy(dtype=np.float64),
        (frame["c_charge_degree"] == "F").to_numpy(dtype=np.float64),
    ])
    race = frame["race"]
    model = LogisticRegression(max_iter=2000).fit(X, ds.target)
    probabilities = model.predict_proba(X)[:, 1]

    rng = np.random.default_rng(0)
    background = X[rng.choice(len(X), size=10 if quick else 100, replace=False)]
    explainer = xk.ExactShapley(lambda Z: model.predict_proba(Z)[:, 1:], background=background, feature_names=FEATURES)
    exp = explainer.explain(X)
    gap = attribute_gap(exp, race, BETWEEN, predictions=probabilities, n_boot=200 if quick else 1000, random_state=0)

    d = gap.diagnostics
    mean_a, mean_b, value = float(d["mean_a"][0, 0]), float(d["mean_b"][0, 0]), float(d["gap"][0, 0])
    low, high = float(d["gap_ci_lower"][0, 0]), float(d["gap_ci_upper"][0, 0])
    print(f"COMPAS, ProPublica's filter: {ds.shape[0]} defendants; logistic regression without race on {', '.join(FEATURES)}")
    print(f"Mean predicted two-year risk: {BETWEEN[0]} {mean_a:.4f} (n={d['n_a']}), {BETWEEN[1]} {mean_b:.4f} (n={d['n_b']})")
    print(f"Gap: {value:+.4f}, 95% bootstrap interval [{low:+.4f}, {high:+.4f}]")
    print("Shapley values of the gap (exact, interventional over one background; they add up to the gap):")
    order = np.argsort(-np.abs(gap.values[0, :, 0]), kind="stable")
    top = []
    for j in order:
        v, lo, hi = float(gap.values[0, j, 0]), float(d["ci_lower"][0, j, 0]), float(d["ci_upper"][0, j, 0])
        top.append((FEATURES[j], v, lo, hi))
        print(f"  {FEATURES[j]:<16} {v:+.4f}  [{lo:+.4f}, {hi:+.4f}]")
    total = float(gap.values.sum())
    print(f"Sum of the attributions: {total:+.4f} (differs from the gap by {abs(total - value):.1e})")
    if out_dir is not None:
        path = os.path.join(os.fspath(out_dir), "compas_gap.xai")
        gap.save(path)
        print(f"Saved the gap attribution to {path}")
    return {
        "gap": gap, "printed_gap": value, "mean_a": mean_a, "mean_b": mean_b, "top": top, "gap_interval": (low, high),
        "groups": race.to_numpy(dtype=object), "probabilities": probabilities,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder to save the gap attribution in (compas_gap.xai)")
    parser.add_argument("--quick", action="store_true", help="a smaller background and fewer bootstrap resamples")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
