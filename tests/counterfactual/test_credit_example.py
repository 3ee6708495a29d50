"""Run ``examples/credit_counterfactuals.py`` in quick mode and check what it prints against the objects:
every printed counterfactual changes the model's decision and keeps age and sex, the printed reasons are
the reason codes of the attributions, and the applicants were declined."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from xaikit.metrics.counterfactual import counterfactual_metrics

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "credit_counterfactuals.py"
DATASETS = ("german_credit", "adult")


@pytest.fixture(scope="module")
def example() -> tuple[dict[str, Any], str]:
    spec = importlib.util.spec_from_file_location("xaikit_example_credit_counterfactuals", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = module.main(quick=True)
    return result, out.getvalue()


def _blocks(text: str) -> list[str]:
    """The printed block of each applicant."""
    return text.split("-- applicant ")[1:]


@pytest.mark.parametrize("name", DATASETS)
def test_printed_what_was_computed(example: tuple[dict[str, Any], str], name: str) -> None:
    result, printed = example
    r = result[name]
    assert r["text"] in printed
    assert len(_blocks(r["text"])) == len(r["applicants"]) == 3
    assert r["accuracy"] > 0.7  # German credit 0.77, Adult 0.85 measured


@pytest.mark.parametrize("name", DATASETS)
def test_applicants_were_declined(example: tuple[dict[str, Any], str], name: str) -> None:
    r = example[0][name]
    assert (r["model"].predict(r["applicants"]) == r["adverse_class"]).all()


@pytest.mark.parametrize("name", DATASETS)
def test_every_printed_counterfactual_changes_the_decision_and_keeps_age_and_sex(
    example: tuple[dict[str, Any], str], name: str
) -> None:
    r = example[0][name]
    model, cf, applicants = r["model"], r["counterfactuals"], r["applicants"]
    checked = 0
    for i, block in enumerate(_blocks(r["text"])):
        printed = [int(k) for k in re.findall(r"^    counterfactual (\d+): ", block, flags=re.M)]
        assert printed == np.flatnonzero(cf.valid[i]).tolist()
        frame = cf.counterfactuals(i)[list(applicants.columns)]
        for k in printed:
            assert f"counterfactual {k}: {cf.text(i, k)}" in block
            row = frame.iloc[[k]].astype(applicants.dtypes.to_dict())
            assert model.predict(row)[0] != r["adverse_class"]  # the model itself: the decision changes
            for feature in r["immutable"]:
                assert row[feature].iloc[0] == applicants[feature].iloc[i]
            checked += 1
    assert checked >= 3
    # the same by the metrics, over every counterfactual printed as valid
    m = counterfactual_metrics(model, applicants, cf, constraints=r["constraints"])
    printed_valid = cf.valid
    assert (m.valid[printed_valid] == 1.0).all()
    assert (m.violations[printed_valid] == 0).all()  # type: ignore[index]


@pytest.mark.parametrize("name", DATASETS)
def test_printed_reasons_are_the_reason_codes(example: tuple[dict[str, Any], str], name: str) -> None:
    r = example[0][name]
    codes, shap, cf = r["reasons"], r["attribution"], r["counterfactuals"]
    j = shap.output_names.index(r["score"])
    sign = 1.0 if name == "german_credit" else -1.0  # P(bad) adverse when high; P(>50K) adverse when low
    for i, block in enumerate(_blocks(r["text"])):
        printed = re.findall(r"^  (\d)\. (\S+) = ", block, flags=re.M)
        reasons = codes.of(i)
        assert [(int(a), b) for a, b in printed] == [(x.rank, x.feature) for x in reasons]
        weights = shap.values[i, :, j]
        top = [shap.feature_names[f] for f in np.argsort(-sign * weights, kind="stable")[: len(reasons)]]
        assert [x.feature for x in reasons] == top
        assert all(sign * x.weight > 0 for x in reasons)
        assert f"what would change the decision: {cf.text(i)}" in block
