"""Anchors: the anchor of a one-feature decision is that feature's bin, the reported precision holds on
fresh samples within its bound, coverage is a direct count, documents, the contract."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from xaikit.errors import InvalidParameterError
from xaikit.explainers.rules.anchors import Anchors, quantile_edges
from xaikit.explainers.rules.evaluate import evaluate_rule
from xaikit.results.rules import Rules
from xaikit.testing import check_explainer
from xaikit.testing._anchors_case import anchors_case, threshold_classifier


def two_feature(X: Any) -> np.ndarray:
    """Class 1 when x0 + 0.5 x1 > 0.75: precision of a bin of x0 alone is below 1 near the border."""
    X = np.asarray(X, dtype=np.float64)
    s = (X[:, 0] + 0.5 * X[:, 1] > 0.75).astype(np.float64)
    return np.stack([1 - s, s], axis=1)


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return np.random.default_rng(0).random((1500, 3))


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return np.random.default_rng(1).random((4, 3))


@pytest.fixture(scope="module")
def one_feature(data: np.ndarray, rows: np.ndarray) -> Rules:
    return Anchors(threshold_classifier, data=data).explain(rows, random_state=0)


@pytest.fixture(scope="module")
def mixed(data: np.ndarray, rows: np.ndarray) -> Rules:
    return Anchors(two_feature, data=data, coverage_samples=500).explain(rows, random_state=0)


def test_one_feature_decision_is_anchored_by_its_bin(one_feature: Rules, data: np.ndarray, rows: np.ndarray) -> None:
    edges = quantile_edges(data[:, 0], "quartile")
    for i, x in enumerate(rows):
        k = int(np.searchsorted(edges, x[0], side="left"))
        expected = ([{"feature": "x0", "operator": ">", "threshold": float(edges[k - 1])}] if k > 0 else []) + (
            [{"feature": "x0", "operator": "<=", "threshold": float(edges[k])}] if k < len(edges) else [])
        assert one_feature.conditions[i] == expected
        assert one_feature.labels[i] == ("output1" if x[0] > 0.5 else "output0")
        assert one_feature.precision[i] >= 0.95  # the bin edge is a quantile of data, near 0.5
    assert one_feature.diagnostics["satisfied"].all()
    assert one_feature.importance.tolist() == [1.0, 0.0, 0.0]


def test_each_row_satisfies_its_own_anchor(mixed: Rules, rows: np.ndarray) -> None:
    hits = mixed.matches(rows)
    assert hits[np.arange(len(rows)), mixed.row].all()
    assert [r.row for i in range(len(rows)) for r in mixed.rules(i)] == list(range(len(rows)))


def test_reported_precision_holds_on_fresh_samples(mixed: Rules, data: np.ndarray) -> None:
    """Fresh draws (another seed) from the anchor's distribution: rows of data satisfying it."""
    rng = np.random.default_rng(123)
    hits = mixed.matches(data)
    for i in range(mixed.n_rules):
        pool = np.flatnonzero(hits[:, i])
        fresh = data[rng.choice(pool, size=5000)]
        label = int(mixed.labels[i][-1])
        empirical = float(np.mean(np.argmax(two_feature(fresh), axis=1) == label))
        assert empirical >= mixed.precision_lower[i] - 0.01  # 0.01: the sampling error of 5000 fresh draws
        assert mixed.precision_lower[i] <= mixed.precision[i] <= mixed.precision_upper[i]
        if mixed.diagnostics["satisfied"][i]:
            assert mixed.precision[i] >= 0.95
            assert mixed.precision_lower[i] > 0.95 - 0.15
        population = evaluate_rule(two_feature, mixed.rules(i)[0], data)
        assert population.precision >= mixed.precision_lower[i]


def test_coverage_is_a_direct_count(mixed: Rules, one_feature: Rules, data: np.ndarray) -> None:
    sample = Anchors(two_feature, data=data, coverage_samples=500).coverage_rows(0)
    assert len(sample) == 500 and mixed.diagnostics["coverage_sample_size"] == 500
    counted = mixed.matches(data[sample]).sum(axis=0)
    assert mixed.support.tolist() == counted.tolist()
    for i in range(mixed.n_rules):
        assert mixed.coverage[i] == evaluate_rule(two_feature, mixed.rules(i)[0], data[sample]).coverage
    # data smaller than the coverage sample: the coverage is over all of data
    for i in range(one_feature.n_rules):
        assert one_feature.coverage[i] == evaluate_rule(threshold_classifier, one_feature.rules(i)[0], data).coverage


def test_categorical_columns_of_a_frame() -> None:
    import pandas as pd

    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"colour": rng.choice(["red", "blue", "green"], size=600), "size": rng.random(600)})

    def model(X: Any) -> np.ndarray:
        red = (np.asarray(X["colour"]) == "red").astype(float)
        return np.stack([1 - red, red], axis=1)

    rules = Anchors(model, data=frame).explain(frame.iloc[[0, 1, 2]], random_state=0)
    for i in range(3):
        assert rules.conditions[i] == [{"feature": "colour", "operator": "in", "categories": [frame["colour"].iloc[i]]}]
        assert rules.precision[i] == 1.0
        assert rules.coverage[i] == pytest.approx(np.mean(frame["colour"] == frame["colour"].iloc[i]))


def _keyword(docs: list[str]) -> np.ndarray:
    return np.array([float("good" in re.findall(r"\w+", d)) for d in docs])


def test_text_anchor_is_the_keyword() -> None:
    docs = ["the plot was good and the cast was fine", "a good film with a slow start"]
    rules = Anchors(_keyword).explain(docs, random_state=0)
    for i in range(2):
        assert rules.conditions[i] == [{"feature": "text", "operator": "contains", "words": ["good"]}]
        assert rules.labels[i] == "output > 0.5" and rules.precision[i] == 1.0
        assert rules.coverage[i] == pytest.approx(0.5, abs=0.03)  # each word is kept with probability 1/2
    assert rules.matches(np.array(docs, dtype=object)[:, None]).all()


def test_contract() -> None:
    report = check_explainer(Anchors, anchors_case(Anchors))
    assert "executor:processes" in report.passed and "save_load" in report.passed and "frame" in report.passed


def test_errors_name_the_parameter(data: np.ndarray) -> None:
    with pytest.raises(InvalidParameterError, match="^data:"):
        Anchors(threshold_classifier).explain(data[:2])
    with pytest.raises(InvalidParameterError, match="^threshold:"):
        Anchors(threshold_classifier, data=data, threshold=1.0)
    with pytest.raises(InvalidParameterError, match="^X:"):
        Anchors(threshold_classifier, data=data).explain(np.zeros((2, 4)))
    surrogate_like = Rules(prediction=[[1.0]], support=[4], support_fraction=[1.0], importance=[0.0],
                           conditions=[[]], task="regression", method="demo")
    with pytest.raises(InvalidParameterError, match="^row:"):
        surrogate_like.rules(0)


def test_display_draws_precision(mixed: Rules) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from xaikit.plots.rules import RulesDisplay

    disp = RulesDisplay.from_explanation(mixed)
    assert np.allclose(sorted(disp.predictions.tolist()), sorted(mixed.precision.tolist()))
    assert all(t.startswith("row ") for t in disp.texts)
    plt.close(disp.figure_)
