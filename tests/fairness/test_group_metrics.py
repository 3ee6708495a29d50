"""Group metrics of FairnessReport against fairlearn (the oracle), to 1e-12."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from xaikit.errors import InvalidParameterError
from xaikit.fairness import group_metrics as gm
from xaikit.fairness.group_metrics import FairnessReport

fm = pytest.importorskip("fairlearn.metrics")
skm = pytest.importorskip("sklearn.metrics")

TOL = 1e-12


def _data(seed: int, n: int = 600, weighted: bool = False) -> dict:
    rng = np.random.default_rng(seed)
    race = rng.choice(["Black", "White", "Asian"], n, p=[0.3, 0.5, 0.2])
    sex = rng.choice(["Female", "Male"], n)
    y_true = rng.integers(0, 2, n)
    bias = (race == "White") * 0.2 + (sex == "Male") * 0.1
    y_pred = (rng.random(n) < 0.3 + bias).astype(int)
    weight = rng.uniform(0.2, 3.0, n) if weighted else None
    return {"y_true": y_true, "y_pred": y_pred, "sf": pd.DataFrame({"race": race, "sex": sex}), "w": weight}


FAIRLEARN_METRICS = {
    "selection_rate": fm.selection_rate,
    "true_positive_rate": fm.true_positive_rate,
    "false_positive_rate": fm.false_positive_rate,
    "precision": skm.precision_score,
    "accuracy": skm.accuracy_score,
}


def _frame(d: dict, columns: list[str]) -> fm.MetricFrame:
    sample_params = None
    if d["w"] is not None:
        sample_params = {k: {"sample_weight": d["w"]} for k in FAIRLEARN_METRICS}
    return fm.MetricFrame(metrics=FAIRLEARN_METRICS, y_true=d["y_true"], y_pred=d["y_pred"],
                          sensitive_features=d["sf"][columns], sample_params=sample_params)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("columns", [["race"], ["sex"], ["race", "sex"]])
def test_by_group_equals_metric_frame(columns: list[str], weighted: bool) -> None:
    d = _data(1, weighted=weighted)
    fr = FairnessReport(d["y_true"], d["y_pred"], sensitive_features=d["sf"][columns], sample_weight=d["w"])
    mf = _frame(d, columns)
    expected = mf.by_group.dropna(how="all")
    got = fr.by_group
    assert list(got.index) == list(expected.index)
    assert got.index.names == expected.index.names
    for name in FAIRLEARN_METRICS:
        np.testing.assert_allclose(got[name].to_numpy(), expected[name].to_numpy(dtype=float), rtol=0, atol=TOL, err_msg=name)
        assert abs(fr.overall[name] - float(mf.overall[name])) <= TOL
    counts = d["sf"][columns].value_counts().sort_index()
    np.testing.assert_array_equal(got["count"].to_numpy(), counts.to_numpy())
    for name in FAIRLEARN_METRICS:  # MetricFrame.difference / ratio, both methods
        for method in ("between_groups", "to_overall"):
            assert abs(fr.difference(name, method=method) - float(mf.difference(method=method)[name])) <= TOL
            assert abs(fr.ratio(name, method=method) - float(mf.ratio(method=method)[name])) <= TOL


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("method", ["between_groups", "to_overall"])
@pytest.mark.parametrize("seed", [2, 3])
def test_disparities_equal_fairlearn_functions(seed: int, method: str, weighted: bool) -> None:
    d = _data(seed, n=400, weighted=weighted)
    sf = d["sf"][["race", "sex"]]
    args = (d["y_true"], d["y_pred"])
    kw = {"sensitive_features": sf, "method": method, "sample_weight": d["w"]}
    fr = FairnessReport(*args, sensitive_features=sf, sample_weight=d["w"])
    pairs = [
        (fr.difference("demographic_parity", method=method), fm.demographic_parity_difference(*args, **kw)),
        (fr.ratio("demographic_parity", method=method), fm.demographic_parity_ratio(*args, **kw)),
        (fr.difference("equalized_odds", method=method), fm.equalized_odds_difference(*args, **kw)),
        (fr.ratio("equalized_odds", method=method), fm.equalized_odds_ratio(*args, **kw)),
        (fr.difference("equal_opportunity", method=method), fm.equal_opportunity_difference(*args, **kw)),
        (fr.ratio("equal_opportunity", method=method), fm.equal_opportunity_ratio(*args, **kw)),
        (gm.demographic_parity_difference(*args, **kw), fm.demographic_parity_difference(*args, **kw)),
        (gm.demographic_parity_ratio(*args, **kw), fm.demographic_parity_ratio(*args, **kw)),
        (gm.equalized_odds_difference(*args, **kw), fm.equalized_odds_difference(*args, **kw)),
        (gm.equalized_odds_ratio(*args, **kw), fm.equalized_odds_ratio(*args, **kw)),
        (gm.equal_opportunity_difference(*args, **kw), fm.equal_opportunity_difference(*args, **kw)),
    ]
    for k, (ours, theirs) in enumerate(pairs):
        assert abs(ours - theirs) <= TOL, (k, ours, theirs)
    # predictive parity is precision's MetricFrame difference
    mf = fm.MetricFrame(metrics=skm.precision_score, y_true=d["y_true"], y_pred=d["y_pred"], sensitive_features=sf,
                        sample_params=None if d["w"] is None else {"sample_weight": d["w"]})
    assert abs(fr.difference("predictive_parity", method=method) - float(mf.difference(method=method))) <= TOL
    assert abs(gm.predictive_parity_difference(*args, **kw) - float(mf.difference(method=method))) <= TOL


def test_string_labels_and_pos_label() -> None:
    d = _data(4, n=300)
    names = np.array(["<=50K", ">50K"])
    fr = FairnessReport(names[d["y_true"]], names[d["y_pred"]], sensitive_features=d["sf"]["race"], pos_label=">50K")
    ref = FairnessReport(d["y_true"], d["y_pred"], sensitive_features=d["sf"]["race"])
    pd.testing.assert_frame_equal(fr.by_group, ref.by_group)
    flipped = FairnessReport(d["y_true"], d["y_pred"], sensitive_features=d["sf"]["race"], pos_label=0)
    np.testing.assert_allclose(flipped.by_group["selection_rate"], 1 - ref.by_group["selection_rate"], atol=TOL)


def test_array_and_series_groups_and_intersection_names() -> None:
    d = _data(5, n=200)
    sf = d["sf"]
    by_array = FairnessReport(d["y_true"], d["y_pred"], sensitive_features=sf.to_numpy())
    by_frame = FairnessReport(d["y_true"], d["y_pred"], sensitive_features=sf)
    np.testing.assert_array_equal(by_array.by_group.to_numpy(), by_frame.by_group.to_numpy())
    assert by_frame.result.group_names[0] == "Asian, Female"
    assert by_frame.by_group.index.names == ["race", "sex"]
    series = FairnessReport(d["y_true"], d["y_pred"], sensitive_features=sf["sex"])
    assert series.by_group.index.name == "sex" and list(series.by_group.index) == ["Female", "Male"]


def test_calibration_by_group() -> None:
    rng = np.random.default_rng(6)
    n = 2000
    g = rng.choice(["a", "b"], n)
    score = rng.random(n)
    # group a calibrated, group b's scores twice too high
    p_true = np.where(g == "a", score, score / 2)
    y = (rng.random(n) < p_true).astype(int)
    fr = FairnessReport(y, (score > 0.5).astype(int), sensitive_features=g, y_score=score, bins=5)
    cal = fr.calibration()
    a, b = cal[cal.group == "a"], cal[cal.group == "b"]
    assert len(a) == 5 and len(b) == 5
    np.testing.assert_allclose(a["observed_rate"], a["mean_score"], atol=0.08)
    np.testing.assert_allclose(b["observed_rate"], b["mean_score"] / 2, atol=0.08)
    errors = fr.by_group["calibration_error"]
    assert errors["a"] < 0.05 < 0.15 < errors["b"]
    # the calibration error, by hand from the bins
    bins = np.clip((score * 5).astype(int), 0, 4)
    mask = g == "b"
    expected = sum(
        (bins[mask] == k).sum() * abs(score[mask][bins[mask] == k].mean() - y[mask][bins[mask] == k].mean()) for k in range(5)
    ) / mask.sum()
    assert abs(errors["b"] - expected) <= TOL
    assert abs(fr.difference("calibration") - (errors["b"] - errors["a"])) <= TOL


def test_undefined_rate_is_nan_and_warned() -> None:
    # group b has no positive label: its true positive rate is undefined (fairlearn says 0)
    y_true = [1, 0, 1, 0, 0, 0]
    y_pred = [1, 0, 0, 1, 1, 0]
    fr = FairnessReport(y_true, y_pred, sensitive_features=["a", "a", "a", "b", "b", "b"])
    assert np.isnan(fr.by_group.loc["b", "true_positive_rate"])
    with pytest.warns(UserWarning, match="true_positive_rate is undefined.*'b'"):
        assert np.isnan(fr.difference("equal_opportunity"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert abs(fr.difference("demographic_parity") - (2 / 3 - 1 / 3)) <= TOL


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"y_pred": [1, 0, 1]}, "y_pred: expected 4 labels"),
        ({"y_true": [0, 1, 2, 1]}, "y_true: expected binary labels"),
        ({"sensitive_features": ["a", None, "b", "b"]}, "column 'sensitive_feature_0' has 1 missing"),
        ({"sensitive_features": ["a", "b"]}, "sensitive_features: expected 4 rows"),
        ({"sample_weight": [1.0, -1.0, 1.0, 1.0]}, "sample_weight: expected finite numbers >= 0"),
        ({"y_score": [0.1, float("nan"), 0.3, 0.4]}, "y_score: expected finite numbers"),
        ({"pos_label": "yes"}, "pos_label: expected a label of y_true or y_pred"),
        ({"bins": [0.5, 0.2]}, "bins: expected a number of bins or at least two increasing"),
        ({"sensitive_features": 3}, "sensitive_features: expected a DataFrame"),
    ],
)
def test_bad_input_is_named(kwargs: dict, message: str) -> None:
    args = {"y_true": [0, 1, 1, 0], "y_pred": [1, 1, 0, 0], "sensitive_features": ["a", "a", "b", "b"]} | kwargs
    with pytest.raises(InvalidParameterError, match=message):
        FairnessReport(args.pop("y_true"), args.pop("y_pred"), **args)


def test_unknown_metric_and_method_are_named() -> None:
    fr = FairnessReport([0, 1, 1, 0], [1, 1, 0, 0], sensitive_features=["a", "a", "b", "b"])
    with pytest.raises(InvalidParameterError, match="metric: expected one of 'demographic_parity'"):
        fr.difference("parity")
    with pytest.raises(InvalidParameterError, match="method: expected one of 'between_groups', 'to_overall'"):
        fr.ratio("demographic_parity", method="pairwise")
    with pytest.raises(InvalidParameterError, match="needs scores"):
        fr.difference("calibration")
