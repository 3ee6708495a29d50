"""evaluate_rule: precision and coverage of hand-written and returned rules, as direct counts."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

from xaikit.errors import InvalidParameterError
from xaikit.explainers.rules.evaluate import evaluate_rule, parse_rule
from xaikit.results.rules import Rule


def model(X: Any) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    s = (X[:, 0] + X[:, 1] > 1.0).astype(np.float64)
    return np.stack([1 - s, s], axis=1)


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return np.random.default_rng(0).random((800, 2))


def test_hand_written_rule_is_counted(data: np.ndarray) -> None:
    ev = evaluate_rule(model, "x0 > 0.6 and x1 <= 0.9", data)
    covered = (data[:, 0] > 0.6) & (data[:, 1] <= 0.9)
    cls = (data[covered].sum(axis=1) > 1.0).astype(int)
    majority = int(np.bincount(cls).argmax())
    assert ev.coverage == covered.mean() and ev.n_covered == covered.sum() and ev.n_rows == 800
    assert ev.label == f"output{majority}"
    assert ev.precision == pytest.approx(np.mean(cls == majority), abs=1e-15)
    assert ev.precision_lower <= ev.precision <= ev.precision_upper


def test_forms_of_a_rule_agree(data: np.ndarray) -> None:
    conds = [{"feature": "x0", "operator": ">", "threshold": 0.6}]
    a = evaluate_rule(model, conds, data, label="output1")
    b = evaluate_rule(model, "x0 > 0.6", data, label=1)
    c = evaluate_rule(model, Rule(conditions=conds, label="output1"), data)
    assert a == b == c
    expected = np.mean(data[data[:, 0] > 0.6].sum(axis=1) > 1.0)
    assert a.precision == pytest.approx(expected, abs=1e-15)


def test_categories_of_a_frame() -> None:
    import pandas as pd

    frame = pd.DataFrame({"city": ["a", "b", "a", "c", "a"], "n": [1.0, 2.0, 3.0, 4.0, 5.0]})

    def f(X: Any) -> np.ndarray:
        return (np.asarray(X["n"], dtype=float) > 2.5).astype(float)

    ev = evaluate_rule(f, "city == 'a'", frame, label="output > 0.5")
    assert ev.coverage == 0.6 and ev.precision == pytest.approx(2 / 3)
    ev = evaluate_rule(f, "city in {'b', 'c'}", frame)
    assert ev.coverage == 0.4 and ev.precision == 0.5


def test_documents() -> None:
    docs = ["good film", "bad film", "good and bad", "nothing"]

    def f(d: list[str]) -> np.ndarray:
        return np.array([float("bad" not in re.findall(r"\w+", t)) for t in d])

    ev = evaluate_rule(f, "text contains 'good'", docs, label="output > 0.5")
    assert ev.coverage == 0.5 and ev.precision == 0.5


def test_nothing_covered(data: np.ndarray) -> None:
    ev = evaluate_rule(model, "x0 > 2.0", data)
    assert ev.n_covered == 0 and ev.coverage == 0.0 and math.isnan(ev.precision)


def test_errors_name_the_parameter(data: np.ndarray) -> None:
    with pytest.raises(InvalidParameterError, match="^rule:"):
        evaluate_rule(model, "age > 3", data)
    with pytest.raises(InvalidParameterError, match="^rule:"):
        evaluate_rule(model, "x0 >= 3", data)
    with pytest.raises(InvalidParameterError, match="^rule:"):
        evaluate_rule(model, 3, data)
    with pytest.raises(InvalidParameterError, match="^label:"):
        evaluate_rule(model, "x0 > 0.5", data, label="maybe")
    with pytest.raises(InvalidParameterError, match="^data:"):
        evaluate_rule(model, "x0 > 0.5", np.zeros(3))


def test_parse_rule_round_trips_sentences() -> None:
    assert parse_rule("if x0 > 0.5 and c in {'u', 'v'} then class = yes") == [
        {"feature": "x0", "operator": ">", "threshold": 0.5},
        {"feature": "c", "operator": "in", "categories": ["u", "v"]},
    ]
