"""GroupFairness: save/load, slicing, frames; FairnessDisplay; the report section."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from xaikit.errors import InvalidParameterError
from xaikit.fairness import FairnessReport
from xaikit.plots.fairness import FairnessDisplay
from xaikit.report._fairness import MAX_CHART_GROUPS, MAX_GROUP_ROWS, fairness_section
from xaikit.results import Result
from xaikit.results.fairness import GroupFairness

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def report() -> FairnessReport:
    rng = np.random.default_rng(0)
    n = 500
    sf = pd.DataFrame({"race": rng.choice(["Black", "White", "Asian"], n), "sex": rng.choice(["Female", "Male"], n)})
    y = rng.integers(0, 2, n)
    score = rng.random(n)
    return FairnessReport(y, (score > 0.5).astype(int), sensitive_features=sf, y_score=score, sample_weight=rng.uniform(0.5, 2, n))


@pytest.fixture(scope="module")
def with_intervals(report: FairnessReport) -> GroupFairness:
    return report.intervals(100, random_state=0)


def test_save_and_load_keep_every_answer(tmp_path: Path, report: FairnessReport, with_intervals: GroupFairness) -> None:
    for res in (report.result, with_intervals):
        path = tmp_path / "fair.xai"
        res.save(path)
        back = Result.load(path)
        assert isinstance(back, GroupFairness)
        pd.testing.assert_frame_equal(back.by_group, res.by_group)
        pd.testing.assert_frame_equal(back.disparities(), res.disparities())
        pd.testing.assert_frame_equal(back.calibration_frame(), res.calibration_frame())
        assert back.params == res.params
        assert Result.from_bytes(res.to_bytes()).difference("equalized_odds") == res.difference("equalized_odds")
    back = Result.load(path)
    pd.testing.assert_frame_equal(back.by_group_intervals(), with_intervals.by_group_intervals())
    assert back.diagnostics["missing_resamples"].tolist() == [0] * 6


def test_result_equals_the_report(report: FairnessReport) -> None:
    res = report.result
    pd.testing.assert_frame_equal(res.by_group, report.by_group)
    for name in ("demographic_parity", "equalized_odds", "equal_opportunity", "predictive_parity", "accuracy", "calibration"):
        assert res.difference(name) == report.difference(name)
        assert res.ratio(name, method="to_overall") == report.ratio(name, method="to_overall")
    assert res.to_dict()["kind"] == "group-fairness"
    frame = res.to_frame()
    assert list(frame.columns[:3]) == ["group", "race", "sex"] and frame["group"].tolist()[0] == "Asian, Female"
    np.testing.assert_array_equal(frame["selection_rate"].to_numpy(), res.by_group["selection_rate"].to_numpy())


def test_slicing_groups(report: FairnessReport, with_intervals: GroupFairness) -> None:
    two = with_intervals[["Asian, Female", "White, Male"]]
    assert two.group_names == ["Asian, Female", "White, Male"]
    full = with_intervals.by_group
    sel = two.by_group
    np.testing.assert_array_equal(sel["selection_rate"].to_numpy(), full["selection_rate"].to_numpy()[[0, 5]])
    rates = sel["selection_rate"].to_numpy()
    assert abs(two.difference("demographic_parity") - (rates.max() - rates.min())) <= 1e-15
    assert two.disparity_intervals is None  # intervals of all groups do not hold for two
    assert two.lower is not None and two.lower.shape == (2, 6)


def test_intervals_hold_the_estimates(report: FairnessReport, with_intervals: GroupFairness) -> None:
    frame = with_intervals.disparities()
    assert list(frame.columns) == ["value", "lower", "upper", "undefined"]
    assert (frame["lower"] <= frame["upper"]).all() and (frame["undefined"] == 0).all()
    assert frame.loc["demographic_parity_difference", "value"] == report.difference("demographic_parity")
    groups = with_intervals.by_group_intervals()
    assert (groups["selection_rate_lower"] <= groups["selection_rate"]).all()
    with pytest.raises(InvalidParameterError, match="intervals: this result holds no intervals"):
        report.result.by_group_intervals()


def test_bad_stored_fields_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match=r"counts: expected shape \(n_groups, 4\)"):
        GroupFairness(counts=[[1.0, 2.0]], n_rows=[3], sensitive_names=["g"], group_labels=[["a"]], method="x")
    with pytest.raises(InvalidParameterError, match="group_labels\\[0\\]: expected 1 values"):
        GroupFairness(counts=[[1.0, 2.0, 0.0, 1.0]], n_rows=[4], sensitive_names=["g"], group_labels=[["a", "b"]], method="x")


def test_display_draws_the_metric_with_intervals(with_intervals: GroupFairness) -> None:
    import matplotlib.pyplot as plt

    disp = FairnessDisplay.from_explanation(with_intervals, metric="true_positive_rate")
    widths = [b.get_width() for b in disp.bars_]
    np.testing.assert_allclose(widths, with_intervals.values[:, 1])
    assert disp.errorbar_ is not None and disp.overall_line_ is not None
    assert disp.overall_line_.get_xdata()[0] == pytest.approx(with_intervals.overall["true_positive_rate"])
    labels = [t.get_text() for t in disp.ax_.get_yticklabels()]
    assert labels[0].startswith("Asian, Female (n=")
    assert "95% bootstrap intervals" in disp.ax_.get_title()
    fig, ax = plt.subplots()
    assert FairnessDisplay.from_explanation(with_intervals, ax=ax, max_groups=2).ax_ is ax
    assert len(ax.patches) == 2
    plt.close("all")
    with pytest.raises(InvalidParameterError, match="metric: expected one of 'selection_rate'"):
        FairnessDisplay.from_explanation(with_intervals, metric="equalized_odds")
    with pytest.raises(InvalidParameterError, match="exp: expected an GroupFairness for FairnessDisplay"):
        FairnessDisplay.from_explanation(np.zeros(3))


def test_report_section_is_escaped_and_bounded() -> None:
    rng = np.random.default_rng(1)
    n = 3000
    groups = np.array([f"<g{i}>" for i in range(300)])[rng.integers(0, 300, n)]
    fr = FairnessReport(rng.integers(0, 2, n), rng.integers(0, 2, n), sensitive_features=groups)
    html = fairness_section(fr.intervals(20, random_state=0), include_data=False)
    assert re.search(r"<g\d", html) is None and re.search(r"&lt;g\d+&gt;", html) is not None
    assert html.count('class="xk-ibar"') == 2 * MAX_CHART_GROUPS
    assert html.count('class="xk-fair-group"') == MAX_GROUP_ROWS
    assert "200 smaller groups not listed" in html
    assert len(html) < 200_000


def test_report_section_hides_small_counts_without_include_data(report: FairnessReport) -> None:
    y = [1, 0, 1, 1, 0, 0] * 3 + [1, 0]
    p = [1, 0, 0, 1, 1, 0] * 3 + [1, 1]
    g = ["a"] * 18 + ["b"] * 2
    res = FairnessReport(y, p, sensitive_features=g).result
    hidden = fairness_section(res, include_data=False)
    shown = fairness_section(res, include_data=True)
    count_cells = re.compile(r'<tr class="xk-fair-group"><td>b \(small group\)</td><td class="xk-r">([^<]*)</td>')
    assert count_cells.search(hidden).group(1) == "&lt;10"
    assert count_cells.search(shown).group(1) == "2"
    with_scores = fairness_section(report.intervals(20, random_state=0), include_data=False)
    assert "calibration_difference" in with_scores and "95% bootstrap percentile intervals over 20 resamples" in with_scores
