"""The report section of a QualityReport made by xk.evaluate: its numbers are the report's, and the page opens
clean in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import xaikit as xk


@pytest.fixture(scope="module")
def quality() -> Any:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 4))
    w = np.array([3.0, -2.0, 0.5, 0.0])
    bg = X[:10]
    exact = xk.ExactShapley(lambda Z: Z @ w, background=bg).explain(X)
    noise = xk.Attribution(values=rng.normal(size=(30, 4, 1)), base_values=exact.base_values, method="noise")
    return xk.evaluate(lambda Z: Z @ w, X, explanations={"exact": exact, "noise": noise}, metrics=["deletion", "sparseness"],
                       random_state=0)


def test_the_metric_table_holds_the_reports_means(quality: Any) -> None:
    page = xk.Report("quality").add(quality, name="quality").to_html_string()
    assert page.count('class="xk-quality-row"') == len(quality.metric_names) * len(quality.method_names)
    table = quality.table
    for method in quality.method_names:
        mean = float(table[(table["metric"] == "deletion") & (table["method"] == method)]["mean"].iloc[0])
        assert re.search(rf">{re.escape(method)}</td><td[^>]*>{re.escape(xk.report._encode.fmt(mean))}<", page), method


def test_the_page_opens_clean(tmp_path: Path, open_report: Any, quality: Any) -> None:
    path = xk.Report("quality").add(quality, name="quality").to_html(tmp_path / "q.html")
    opened = open_report(path)
    opened.check_clean()
    assert opened.page.locator("tr.xk-quality-row").count() == 4


@pytest.fixture(scope="module")
def fairness() -> Any:
    rng = np.random.default_rng(5)
    n = 400
    groups = rng.choice(["a", "b", "c"], n)
    y_true = rng.integers(0, 2, n)
    y_pred = (rng.random(n) < np.where(groups == "a", 0.6, 0.4)).astype(int)
    return xk.FairnessReport(y_true, y_pred, sensitive_features=groups).intervals(n_boot=200, random_state=0)


def test_the_fairness_section_lists_every_group_and_opens_clean(tmp_path: Path, open_report: Any, fairness: Any) -> None:
    report = xk.Report("fairness").add(fairness, name="groups")
    page = report.to_html_string()
    assert page.count('class="xk-fair-group"') == len(fairness.group_names) == 3
    assert "No row of the data is in this section" in page
    opened = open_report(report.to_html(tmp_path / "f.html"))
    opened.check_clean()
    assert opened.page.locator("tr.xk-fair-group").count() == 3


def test_one_metrics_scores_have_a_section_with_their_curve(tmp_path: Path, open_report: Any) -> None:
    from xaikit.metrics.faithfulness import deletion

    rng = np.random.default_rng(3)
    X = rng.normal(size=(25, 5))
    w = np.array([3.0, -2.0, 0.5, 0.0, 1.0])
    exp = xk.ExactShapley(lambda Z: Z @ w, background=np.zeros((1, 5))).explain(X)
    scores = deletion(lambda Z: Z @ w, X, exp, baseline=0.0, floor_steps=6, random_state=0)
    report = xk.Report("one metric").add(scores, name="deletion")
    page = report.to_html_string()
    assert page.count('class="xk-quality-row"') == 1
    assert f"<td>{xk.report._encode.fmt(scores.mean())}</td>" in page
    assert f"<td>{xk.report._encode.fmt(scores.floor_mean())}</td>" in page
    # the mean curve drawn is the rows' mean curve
    drawn = re.search(r'class="xk-avg"[^>]*data-y="([^"]+)"', page)
    assert drawn is not None
    np.testing.assert_allclose([float(v) for v in drawn.group(1).split()], scores.curves.mean(axis=0), rtol=1e-3, atol=1e-3)
    assert "faint: the mean curve of random attributions" in page  # whole random curves: every step has its floor point
    opened = open_report(report.to_html(tmp_path / "s.html"))
    opened.check_clean()
    assert opened.page.locator("svg.xk-line").count() == 1
