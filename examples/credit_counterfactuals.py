"""What would change a credit decision? Counterfactuals and reason codes on Adult and German credit.

For each data set a scikit-learn pipeline (one-hot encoded categories, scaled numbers, logistic
regression) makes a credit decision:

- German credit (Statlog): the model predicts bad credit risk; an applicant is declined when it
  predicts "bad". The score read by the reasons is P(bad), so a *high* score is adverse.
- Adult (census income, rows without missing values; ``fnlwgt`` and ``education``, a census weight
  and a copy of ``education_num``, left out): a stand-in for an income check; an applicant is
  declined when the model predicts an income <= 50K. The score is P(>50K), a *low* score is adverse.

Then, for the first declined applicants of the test rows:

1. ``xk.Counterfactuals`` finds 4 counterfactuals each, with age and sex immutable (German credit's
   sex is part of ``personal_status_sex``) and age allowed only to increase elsewhere;
2. ``xk.KernelShap`` attributes the score, and ``xk.reason_codes`` turns the attributions into the
   four principal reasons, paired with the closest valid counterfactual;
3. ``xk.counterfactual_metrics`` re-checks every counterfactual against the model (validity,
   sparsity, distance, violations of the constraints).

Run::

    python examples/credit_counterfactuals.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from xaikit.datasets import load_adult, load_german_credit
from xaikit.explainers.counterfactual import Constraints, Counterfactuals
from xaikit.explainers.counterfactual.reason_codes import reason_codes
from xaikit.explainers.shapley import KernelShap
from xaikit.metrics.counterfactual import counterfactual_metrics

IMMUTABLE = {"german_credit": ["age", "personal_status_sex"], "adult": ["age", "sex"]}


def load(name: str, quick: bool) -> tuple[Any, np.ndarray, list[str], str]:
    """The data set's rows (DataFrame), labels, categorical columns and the name of the adverse class."""
    if name == "german_credit":
        ds = load_german_credit()
        return ds.frame, np.asarray(ds.target), list(ds.categorical_features), "bad"
    ds = load_adult()
    frame = ds.frame.drop(columns=["fnlwgt", "education"])
    keep = ~frame.isna().any(axis=1).to_numpy()
    frame, target = frame[keep].reset_index(drop=True), np.asarray(ds.target)[keep]
    if quick:  # a stratified sample keeps the quick run short
        rows, _ = train_test_split(np.arange(len(target)), train_size=4000, stratify=target, random_state=0)
        frame, target = frame.iloc[np.sort(rows)].reset_index(drop=True), target[np.sort(rows)]
    categorical = [c for c in ds.categorical_features if c in frame.columns]
    return frame, target, categorical, "<=50K"


def fit(frame: Any, target: np.ndarray, categorical: list[str]) -> Pipeline:
    numeric = [c for c in frame.columns if c not in categorical]
    encode = ColumnTransformer([("categories", OneHotEncoder(handle_unknown="ignore"), categorical), ("numbers", StandardScaler(), numeric)])
    return make_pipeline(encode, LogisticRegression(max_iter=2000)).fit(frame, target)


def run(name: str, *, n_applicants: int, quick: bool) -> dict[str, Any]:
    """Fit, decline, explain, print; return the objects."""
    frame, codes01, categorical, adverse_class = load(name, quick)
    # class names as labels: the model's outputs (and the score the reasons read) are then named by them
    target = np.where(codes01 == 1, "bad" if name == "german_credit" else ">50K", "good" if name == "german_credit" else "<=50K")
    rows = np.arange(len(target))
    train, test = train_test_split(rows, test_size=0.25, stratify=target, random_state=0)
    X_train, X_test = frame.iloc[train].reset_index(drop=True), frame.iloc[test].reset_index(drop=True)
    model = fit(X_train, target[train], categorical)
    accuracy = float((model.predict(X_test) == target[test]).mean())
    # German credit: declined when the model predicts bad risk (the score P(bad): adverse when high);
    # Adult: declined when it predicts <=50K (the score P(>50K): adverse when low)
    score = "bad" if name == "german_credit" else ">50K"
    declined = np.flatnonzero(model.predict(X_test) == adverse_class)[:n_applicants]
    applicants = X_test.iloc[declined].reset_index(drop=True)

    immutable = IMMUTABLE[name]
    constraints = Constraints(immutable=immutable)
    data = X_train.sample(n=min(len(X_train), 2000), random_state=0)
    t0 = time.perf_counter()
    cf = Counterfactuals(model, data=data, n=4, constraints=constraints, random_state=0).explain(applicants)
    seconds = time.perf_counter() - t0

    background = X_train.sample(n=30, random_state=1)
    shap = KernelShap(model, background=background).explain(applicants, target=score, n_samples=256 if quick else 1024, random_state=0)
    codes = reason_codes(shap, k=4, adverse="high" if name == "german_credit" else "low", counterfactual=cf)
    metrics = counterfactual_metrics(model, applicants, cf, data=data, constraints=constraints)
    summary = metrics.summary()

    title = "German credit (declined: predicted bad risk)" if name == "german_credit" else "Adult (declined: predicted income <= 50K)"
    lines = [
        f"== {title}",
        f"{len(train)} training / {len(test)} test rows, accuracy {accuracy:.3f}; {len(declined)} declined applicants explained; "
        f"immutable: {', '.join(immutable)}",
        f"counterfactuals: {seconds / max(len(declined), 1):.2f} s per applicant; validity {summary['validity']:.0%}, "
        f"mean changed features {summary['l0']:.2f}, violations {summary['violations']:.0f}",
    ]
    for i in range(len(declined)):
        p = model.predict_proba(applicants.iloc[[i]])[0, list(model.classes_).index(score)]
        lines.append(f"-- applicant {i} (test row {int(declined[i])}): P({score}) = {p:.3f}, declined")
        lines.append(codes.text(i))
        for k in np.flatnonzero(cf.valid[i]):
            lines.append(f"    counterfactual {int(k)}: {cf.text(i, int(k))}")
    text = "\n".join(lines)
    print(text, flush=True)
    return {
        "model": model, "applicants": applicants, "counterfactuals": cf, "attribution": shap, "reasons": codes,
        "metrics": metrics, "constraints": constraints, "immutable": immutable, "text": text, "accuracy": accuracy,
        "adverse_class": adverse_class, "score": score, "seconds": seconds,
    }


def main(out_dir: str | os.PathLike[str] | None = None, *, quick: bool = False) -> dict[str, Any]:
    """Run both data sets; return ``{"german_credit": ..., "adult": ...}`` (see :func:`run`).

    ``out_dir`` is not used (nothing is written); it is taken for the examples' common call.
    """
    n = 3 if quick else 10
    return {name: run(name, n_applicants=n, quick=quick) for name in ("german_credit", "adult")}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 applicants per data set, a 4000-row Adult sample")
    main(quick=parser.parse_args().quick)
