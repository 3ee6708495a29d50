"""The COMPAS and Adult gap examples, checked against the objects they print, and the COMPAS loader."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from xaikit.errors import DataNotFoundError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"xaikit_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(name: str, tmp_path_factory: pytest.TempPathFactory, capsys: Any) -> tuple[dict[str, Any], str, Path]:
    pytest.importorskip("sklearn")
    pytest.importorskip("pandas")
    out = tmp_path_factory.mktemp(name)
    try:
        result = _load(name).main(out, quick=True)
    except DataNotFoundError as exc:
        pytest.skip(f"the example's data are not on this machine (set $XAIKIT_DATA): {exc}")
    return result, capsys.readouterr().out, out


def _check_printed(result: dict[str, Any], printed: str, between: tuple[str, str]) -> None:
    gap = result["gap"]
    value = result["printed_gap"]
    # the gap is the difference of the groups' mean predictions, computed here from the rows
    groups, p = result["groups"], result["probabilities"]
    direct = p[groups == between[0]].mean() - p[groups == between[1]].mean()
    assert abs(value - direct) < 1e-12
    # the attributions add up to it exactly (a common base value: the result's base value is 0)
    assert gap.base_values[0, 0] == 0.0
    assert abs(gap.values.sum() - direct) < 1e-12
    # what is printed is what the objects hold
    shown = float(re.search(r"Gap: ([+-][0-9.]+), 95% bootstrap interval \[([+-][0-9.]+), ([+-][0-9.]+)\]", printed).group(1))  # type: ignore[union-attr]
    assert shown == round(value, 4)
    total = float(re.search(r"Sum of the attributions: ([+-][0-9.]+)", printed).group(1))  # type: ignore[union-attr]
    assert total == round(float(gap.values.sum()), 4) == shown
    for name, v, lo, hi in result["top"][:5]:
        line = re.search(rf"^  {re.escape(name)}\s+([+-][0-9.]+)  \[([+-][0-9.]+), ([+-][0-9.]+)\]$", printed, re.M)
        assert line is not None, name
        assert float(line.group(1)) == round(v, 4) and float(line.group(2)) == round(lo, 4) and float(line.group(3)) == round(hi, 4)
        assert v == gap.values[0, gap.feature_names.index(name), 0]
    low, high = result["gap_interval"]
    assert low < value < high
    magnitudes = [abs(v) for _, v, _, _ in result["top"]]
    assert magnitudes == sorted(magnitudes, reverse=True)


def test_compas_example(tmp_path_factory: pytest.TempPathFactory, capsys: Any) -> None:
    result, printed, out = _run("fairness_compas", tmp_path_factory, capsys)
    _check_printed(result, printed, ("African-American", "Caucasian"))
    assert result["gap"].diagnostics["n_a"] == 3175 and result["gap"].diagnostics["n_b"] == 2103
    # measured: the predicted risk is about 0.12 higher for African-American defendants, most of it through
    # the number of prior offences and age (younger defendants), both with intervals away from 0
    assert 0.08 < result["printed_gap"] < 0.16
    assert {result["top"][0][0], result["top"][1][0]} == {"priors_count", "age"}
    assert all(lo > 0 for _, _, lo, _ in result["top"][:2])
    assert (out / "compas_gap.xai").is_file()


def test_adult_example(tmp_path_factory: pytest.TempPathFactory, capsys: Any) -> None:
    result, printed, out = _run("fairness_adult", tmp_path_factory, capsys)
    _check_printed(result, printed, ("Male", "Female"))
    assert "sex" not in result["gap"].feature_names
    # measured: about 0.2 higher for men, relationship (husband / wife) the largest part
    assert 0.1 < result["printed_gap"] < 0.3
    assert result["top"][0][0] == "relationship"
    assert (out / "adult_gap.xai").is_file()


def test_load_compas_applies_propublicas_filter() -> None:
    pytest.importorskip("pandas")
    from xaikit.datasets.compas import COMPAS_CATEGORIES, load_compas

    try:
        ds = load_compas()
    except DataNotFoundError as exc:
        pytest.skip(f"COMPAS is not on this machine (set $XAIKIT_DATA): {exc}")
    assert ds.shape == (6172, 9) and int(ds.target.sum()) == 2809
    assert int((ds.frame["race"] == "African-American").sum()) == 3175
    assert int((ds.frame["race"] == "Caucasian").sum()) == 2103
    assert list(ds.frame["race"].cat.categories) == COMPAS_CATEGORIES["race"]
    assert "decile_score" not in ds.frame and ds.categorical_features == ["sex", "age_cat", "race", "c_charge_degree"]
    X, names = ds.codes()
    assert X.shape == (6172, 9) and not np.isnan(X).any()
    scored = load_compas(include_scores=True)
    assert scored.frame["decile_score"].between(1, 10).all()
    assert list(scored.frame["score_text"].cat.categories) == ["Low", "Medium", "High"]


def test_load_compas_without_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xaikit.datasets.compas import load_compas

    monkeypatch.setenv("XAIKIT_DATA", str(tmp_path))
    with pytest.raises(DataNotFoundError, match="compas-scores-two-years.csv.*XAIKIT_DATA"):
        load_compas()
    with pytest.raises(ValueError, match="include_scores: expected True or False"):
        load_compas(include_scores="yes")  # type: ignore[arg-type]
