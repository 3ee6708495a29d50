"""Report sections of counterfactuals, anchors and accuracy under attack: what they list, what they leave out
without ``include_data``, and the report with all three opened in headless Chromium."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import xaikit as xk


@pytest.fixture(scope="module")
def decisions() -> dict[str, Any]:
    """A counterfactual set, anchors and a robustness curve made by the real methods on small models."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    cf = xk.Counterfactuals(model, data=X, n=2, constraints=xk.Constraints(immutable=["x2"]), random_state=0).explain(X[:4])
    anchors = xk.Anchors(model, data=X, coverage_samples=150, random_state=0).explain(X[:3])
    robust = xk.robustness(model, X[:30], y[:30], epsilons=[0.0, 0.5, 1.0], attack="boundary", random_state=0)
    return {"cf": cf, "anchors": anchors, "robust": robust}


def _report(decisions: dict[str, Any]) -> Any:
    report = xk.Report("decisions")
    for name in ("cf", "anchors", "robust"):
        report.add(decisions[name], name=name)
    return report


def test_counterfactual_section_lists_the_closest_valid_change_of_each_row(decisions: dict[str, Any]) -> None:
    cf = decisions["cf"]
    page = _report(decisions).to_html_string(include_data=True)
    section = page[page.index('class="xk-part xk-counterfactuals"'):]
    rows = re.findall(r'<tr class="xk-cf-row"><td class="xk-r">(\d+)</td><td class="xk-r">(\d+)/2</td><td class="xk-cf-change">([^<]*)</td>', section)
    assert [int(r[0]) for r in rows] == list(range(cf.n_rows))
    for i, valid, change in rows:
        row = int(i)
        assert int(valid) == int(cf.valid[row].sum())
        ok = np.flatnonzero(cf.valid[row])
        best = int(ok[np.argmin(cf.distance[row, ok])])
        assert html.unescape(change) == cf.text(row, best)


def test_without_data_the_sections_name_features_but_not_values(decisions: dict[str, Any]) -> None:
    cf, anchors = decisions["cf"], decisions["anchors"]
    page = _report(decisions).to_html_string(include_data=False)
    changes = re.findall(r'<td class="xk-cf-change">([^<]*)</td>', page)
    assert changes and all(c.startswith("changes ") and " from " not in c for c in changes)
    for row, change in enumerate(changes):
        ok = np.flatnonzero(cf.valid[row])
        best = int(ok[np.argmin(cf.distance[row, ok])])
        assert html.unescape(change) == "changes " + ", ".join(f for f, _, _ in cf.changes(row, best))
    texts = re.findall(r'<tr class="xk-anchor">.*?<td class="xk-rule-text">([^<]*)</td>', page)
    assert len(texts) == anchors.n_rules and all(t.startswith("anchored on ") for t in texts)
    assert all(html.escape(anchors.rule_text(i)) not in page for i in range(anchors.n_rules))
    with_data = _report(decisions).to_html_string(include_data=True)
    assert all(html.escape(anchors.rule_text(i)) in with_data for i in range(anchors.n_rules))


def test_anchor_and_robustness_numbers_are_the_results(decisions: dict[str, Any]) -> None:
    anchors, robust = decisions["anchors"], decisions["robust"]
    page = _report(decisions).to_html_string(include_data=True)
    cells = re.findall(r'<tr class="xk-anchor"><td class="xk-r">(\d+)</td>.*?<td class="xk-r">([^<]*)</td><td class="xk-r">([^<]*)</td>'
                       r'<td class="xk-r">([^<]*)%</td></tr>', page)
    assert [int(c[0]) for c in cells] == anchors.row.tolist()
    np.testing.assert_allclose([float(c[1]) for c in cells], anchors.precision, atol=5e-4)
    np.testing.assert_allclose([float(c[3]) for c in cells], 100 * anchors.support_fraction, rtol=5e-3)  # 3 significant digits
    line = re.search(r'<tr class="xk-attack"><td>boundary</td>(.*?)</tr>', page)
    assert line is not None
    values = [float(v) for v in re.findall(r'<td class="xk-r">([^<]*)</td>', line.group(1))]
    np.testing.assert_allclose(values, robust.accuracy[0], atol=5e-4)
    assert page.count('<svg class="xk-chart xk-effect xk-line"') == 1  # one accuracy curve per attack


def test_the_report_of_decisions_opens_clean(tmp_path: Path, open_report: Any, decisions: dict[str, Any]) -> None:
    path = _report(decisions).to_html(tmp_path / "decisions.html", include_data=True)
    opened = open_report(path)
    opened.check_clean()
    page = opened.page
    assert page.locator("tr.xk-cf-row").count() == decisions["cf"].n_rows
    assert page.locator("tr.xk-anchor").count() == decisions["anchors"].n_rules
    assert page.locator("section.xk-robustness svg").count() == 1
    assert page.locator("section.xk-result h2").all_inner_texts() == ["cf", "anchors", "robust"]
