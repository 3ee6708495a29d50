"""QualityDisplay, DisagreementDisplay and the report section of a QualityReport."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.metrics.evaluate import evaluate
from xaikit.plots.quality import DisagreementDisplay, QualityDisplay
from xaikit.report._quality import MAX_METHODS, quality_section


@pytest.fixture(scope="module")
def report():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(15, 4))
    w = np.array([2.0, -1.0, 0.5, 0.0])
    exact = xk.ExactShapley(lambda Z: Z @ w, background=np.zeros((2, 4))).explain(X)
    noise = xk.Attribution(values=rng.normal(size=(15, 4, 1)), base_values=np.zeros((15, 1)), method="noise")
    return evaluate(lambda Z: Z @ w, X, {"shap": exact, "<noise>": noise}, metrics=["sparseness", "entropy"], k=2, random_state=0)


def test_quality_display_draws_the_table(report):
    import matplotlib.pyplot as plt

    disp = QualityDisplay.from_explanation(report, metric="entropy")
    table = report.table[report.table.metric == "entropy"]
    np.testing.assert_allclose(disp.points_.get_offsets()[:, 0], table["mean"])
    np.testing.assert_allclose(disp.floor_points_.get_offsets()[:, 0], table["floor"])
    assert [t.get_text() for t in disp.ax_.get_yticklabels()] == ["shap", "<noise>"]
    assert disp.ax_.get_xlabel() == "entropy (lower is better)"
    plt.close(disp.figure_)
    with pytest.raises(InvalidParameterError, match=r"metric: expected one of \['sparseness', 'entropy'\], got 'x'"):
        QualityDisplay.from_explanation(report, metric="x")
    with pytest.raises(InvalidParameterError, match="exp: expected an QualityReport"):
        QualityDisplay.from_explanation(np.zeros(3))


def test_disagreement_display(report):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    disp = DisagreementDisplay.from_explanation(report, statistic="top_k_overlap", ax=ax)
    assert disp.ax_ is ax
    matrix = np.asarray(disp.image_.get_array())
    assert matrix[0, 1] == pytest.approx(report.top_k_overlap[0].mean()) and matrix[0, 0] == 1.0
    plt.close(fig)
    with pytest.raises(InvalidParameterError, match="statistic: expected 'rank_correlation' or 'top_k_overlap'"):
        DisagreementDisplay.from_explanation(report, statistic="kendall")


def test_report_section_is_escaped_and_complete(report):
    html = quality_section(report, include_data=False)
    assert "&lt;noise&gt;" in html and "<noise>" not in html
    assert html.count('class="xk-quality-row"') == 4
    assert "shap: carries 15 rows of X" in html
    assert "Rank correlation of the first" not in html
    assert "Rank correlation of the first 15 rows" in quality_section(report, include_data=True)
    with pytest.raises(InvalidParameterError, match="report_result: expected a QualityReport"):
        quality_section(object(), False)


def test_report_section_is_bounded():
    k = MAX_METHODS + 5
    pairs = k * (k - 1) // 2
    from xaikit.results.quality import QualityReport

    q = QualityReport(values=np.zeros((1, k, 3)), floor=np.zeros((1, k, 3)), rank_correlation=np.zeros((pairs, 3)),
                      top_k_overlap=np.zeros((pairs, 3)), pair_names=[f"p{i}" for i in range(pairs)], higher_is_better=[True],
                      privacy=[""] * k, metric_names=["m"], method_names=[f"m{i}" for i in range(k)], method="evaluate")
    html = quality_section(q, include_data=True)
    assert html.count('class="xk-quality-row"') == MAX_METHODS
    assert "5 more methods" in html
    assert len(html) < 60_000
