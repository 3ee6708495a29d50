"""Missing values of categorical columns (Adult's workclass and occupation have them): a row keeps its own
missing value, no counterfactual changes a known category to "missing", the metrics do not count a kept
missing value as a violation, and anchors read a missing value as a category of its own."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import xaikit as xk
from xaikit.explainers.rules.anchors import MISSING_CATEGORY


@pytest.fixture(scope="module")
def credit() -> dict[str, Any]:
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(4)
    n = 300
    job = rng.choice(["clerk", "manager", "sales"], n).astype(object)
    job[rng.random(n) < 0.15] = np.nan
    frame = pd.DataFrame({"income": rng.normal(size=n), "job": job, "years": rng.integers(0, 30, n)})
    y = (frame["income"] + (frame["job"] == "manager") + 0.05 * frame["years"] > 1.0).astype(int)
    encode = make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["job"]), remainder="passthrough")
    model = make_pipeline(encode, LogisticRegression()).fit(frame, y)
    return {"frame": frame, "model": model, "y": y}


def test_counterfactuals_keep_a_missing_category_and_never_move_to_one(credit: dict[str, Any]) -> None:
    frame, model = credit["frame"], credit["model"]
    rows = frame[model.predict(frame) == 0].iloc[:12]
    assert rows["job"].isna().any() and rows["job"].notna().any()
    cons = xk.Constraints(immutable=["years"])
    cf = xk.Counterfactuals(model, data=frame, n=3, constraints=cons, random_state=0).explain(rows)
    for i in range(len(rows)):
        jobs = cf.counterfactuals(i)["job"]
        if pd.isna(rows["job"].iloc[i]):
            continue  # a missing value may stay missing or become a known category
        assert jobs.notna().all(), (i, jobs.tolist())  # a known category is never changed to "missing"
    metrics = xk.counterfactual_metrics(model, rows, cf, data=frame, constraints=cons)
    assert np.nansum(metrics.violations) == 0


def test_a_move_to_missing_is_a_violation_and_a_kept_one_is_not(credit: dict[str, Any]) -> None:
    from xaikit.explainers.counterfactual.constraints import schema_of

    schema = schema_of(credit["frame"], None)
    bound = xk.Constraints().bind(schema)
    missing = [k for k, v in enumerate(schema.domains[1]) if not isinstance(v, str)][0]
    known = 0 if missing != 0 else 1
    X0 = np.array([[0.0, known, 3.0], [0.0, missing, 3.0]])
    Z = np.array([[0.0, missing, 3.0], [0.0, missing, 3.0]])  # row 0 moved to missing, row 1 kept its own
    assert bound.violated(Z, X0) == [["categories of job"], []]
    np.testing.assert_array_equal(bound.violations(Z, X0), [True, False])
    np.testing.assert_array_equal(bound.repair(Z, X0)[:, 1], [known, missing])  # repaired back to the row's own


def test_anchors_read_a_missing_category_as_its_own(credit: dict[str, Any]) -> None:
    frame, model = credit["frame"], credit["model"]
    i = int(np.flatnonzero(frame["job"].isna().to_numpy())[0])
    rules = xk.Anchors(model, data=frame, coverage_samples=200, random_state=0).explain(frame.iloc[[i]])
    for cond in rules.conditions[0]:
        if cond["feature"] == "job":
            assert list(cond["categories"]) == [MISSING_CATEGORY]
    rule = [{"feature": "job", "operator": "in", "categories": [MISSING_CATEGORY]}]
    evaluation = xk.evaluate_rule(model, rule, data=frame)
    assert evaluation.n_covered == int(frame["job"].isna().sum())
