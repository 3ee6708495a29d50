"""raw_rows: which raw rows a result, a saved .xai file or an HTML report carries."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.metrics.privacy import raw_rows


@pytest.fixture(scope="module")
def exp():
    w = np.array([1.0, -2.0, 0.5])
    return xk.ExactShapley(lambda X: X @ w, background=np.zeros((4, 3))).explain(np.arange(15.0).reshape(5, 3))


def test_attribution_with_and_without_data(exp, tmp_path):
    found = raw_rows(exp)
    assert found.carries and found.n_rows == 5
    assert found.findings == ("5 rows of X (3 features) in .data",)
    bare = xk.Attribution(values=exp.values, base_values=exp.base_values, method="demo")
    assert raw_rows(bare).carries is False and str(raw_rows(bare)) == "no raw rows"
    path = tmp_path / "e.xai"
    exp.save(path)
    assert raw_rows(path) == found
    bare.save(tmp_path / "bare.xai")
    assert not raw_rows(str(tmp_path / "bare.xai")).carries


def test_report_with_and_without_data(exp, tmp_path):
    report = xk.Report("privacy").add(exp, background=np.ones((4, 3)))
    closed = report.to_html(tmp_path / "closed.html", include_data=False)
    assert not raw_rows(closed).carries
    opened = report.to_html(tmp_path / "open.html", include_data=True)
    found = raw_rows(opened)
    assert found.carries
    assert any("4 background rows" in f for f in found.findings)
    assert any("5 rows of X" in f for f in found.findings)


def test_documents_carry_their_texts():
    exp = xk.RaggedAttribution(values=[[[0.1], [0.2]], [[0.3], [0.0]]], base_values=[[0.0], [0.0]], row_feature_names=[["a", "b"], ["c"]],
                               texts=["a b", "c"], spans=[[[(0, 1)], [(2, 3)]], [[(0, 1)]]], method="demo")
    found = raw_rows(exp)
    assert found.carries and "2 documents' texts in .texts" in found.findings


def test_bad_argument_is_named(tmp_path):
    with pytest.raises(InvalidParameterError, match="result_or_path: expected a result or the path"):
        raw_rows(3)
    with pytest.raises(InvalidParameterError, match="result_or_path: expected an existing file"):
        raw_rows(tmp_path / "missing.xai")
