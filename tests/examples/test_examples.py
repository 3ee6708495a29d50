"""Run the example scripts in ``examples/`` in quick mode and check what they report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from example_loader import EXAMPLES
from example_loader import load_example as _load

import xaikit as xk


def _check_saved(path: str | None, exp: xk.Attribution) -> None:
    assert path is not None and Path(path).is_file()
    loaded = xk.Explanation.load(path)
    assert isinstance(loaded, xk.Attribution)
    np.testing.assert_array_equal(loaded.values, exp.values)
    np.testing.assert_array_equal(loaded.base_values, exp.base_values)
    assert loaded.feature_names == exp.feature_names
    assert loaded.output_names == exp.output_names


def test_iris_random_forest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sklearn")
    result = _load("iris_random_forest").main(tmp_path, quick=True)
    out = capsys.readouterr().out
    assert "Mean |SHAP|" in out and "completeness gap" in out

    assert result["n_trees"] == 30
    assert result["accuracy"] > 0.9
    assert result["max_completeness_gap"] < 1e-6
    assert result["max_prediction_gap"] < 1e-6  # SHAP values + base = predict_proba
    exp = result["explanation"]
    assert exp.shape == (45, 4, 3)
    assert exp.output_names == ["setosa", "versicolor", "virginica"]
    # the petals separate the species; the sepals matter much less
    for cls, ranking in result["rankings"].items():
        assert {name for name, _ in ranking[:2]} == {"petal length (cm)", "petal width (cm)"}, cls
        assert result["top_features"][cls].startswith("petal")
    _check_saved(result["saved_path"], exp)


def test_german_credit_lightgbm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("lightgbm")
    pytest.importorskip("pandas")
    result = _load("german_credit_lightgbm").main(tmp_path, quick=True)
    out = capsys.readouterr().out
    assert "Test AUC" in out and "Top 5 reasons" in out

    assert result["auc"] > 0.7
    for key in ("max_completeness_gap_raw", "max_completeness_gap_probability", "max_prediction_gap_raw",
                "max_prediction_gap_probability"):
        assert result[key] < 1e-6, key
    # the status of the checking account is the strongest single predictor in this data
    top_raw = [name for name, _ in result["ranking_raw"][:3]]
    top_prob = [name for name, _ in result["ranking_probability"][:3]]
    assert result["ranking_raw"][0][0] in {"checking_status", "duration", "credit_amount"}
    assert "checking_status" in top_raw and "checking_status" in top_prob

    raw, prob = result["explanation_raw"], result["explanation_probability"]
    assert raw.shape == prob.shape == (300, 20, 1)
    k = int(np.argmax(prob.completeness()[:, 0]))
    assert result["applicant_risk"] == pytest.approx(prob.completeness()[k, 0], abs=1e-9)
    assert 0.5 < result["applicant_risk"] <= 1.0
    reasons = result["reasons"]
    assert len(reasons) == 5
    shap_prob = [r[2] for r in reasons]
    assert shap_prob == sorted(shap_prob, reverse=True) and shap_prob[0] > 0
    assert shap_prob[0] == pytest.approx(prob.values[k, :, 0].max())
    for name, shown, _, lo in reasons:
        j = raw.feature_names.index(name)
        assert lo == pytest.approx(raw.values[k, j, 0])
        if name in ("checking_status", "savings", "credit_history", "purpose", "other_debtors"):
            assert shown.startswith("A") and "(" in shown  # an attribute code with its meaning
    _check_saved(result["saved_path"], prob)


def test_adult_xgboost(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("xgboost")
    pytest.importorskip("pandas")
    result = _load("adult_xgboost").main(tmp_path, quick=True)
    out = capsys.readouterr().out
    assert "pred_contribs" in out and "interaction" in out

    assert result["auc"] > 0.85
    assert result["max_completeness_gap"] < 1e-6
    assert result["max_interaction_gap"] < 1e-6
    scale = max(1.0, result["margin_scale"])
    # XGBoost works in float32: its margin and its own SHAP values agree with ours to float32 rounding
    assert result["max_prediction_gap"] < 1e-5 * scale
    assert result["max_contrib_diff"] < 1e-5 * scale
    assert result["max_bias_diff"] < 1e-5 * scale

    exp = result["explanation"]
    assert exp.shape == (200, 14, 1)
    assert result["interactions"].shape == (20, 14, 14, 1)
    # marital status / relationship (being married), capital gains and age dominate income in this census
    assert result["ranking"][0][0] in {"marital_status", "relationship", "capital_gain", "age"}
    a, b, strength = result["strongest_pair"]
    assert a != b and a in exp.feature_names and b in exp.feature_names and strength > 0
    _check_saved(result["saved_path"], exp)


def test_example_command_line(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "iris_random_forest.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Mean |SHAP|" in proc.stdout
    assert (tmp_path / "iris_rf.xai").is_file()
