"""Run the LIME examples (``iris_lime``, ``newsgroups_lime``) in quick mode and check what they report."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from example_loader import EXAMPLES, run_example
from example_loader import load_example as _load

import xaikit as xk

pytest.importorskip("sklearn")
pytest.importorskip("pandas")

PETALS = {"petal length (cm)", "petal width (cm)"}




# ---------------------------------------------------------------------------------------- iris


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, dict[str, Any], Path]:
    module = _load("iris_lime")
    out = tmp_path_factory.mktemp("iris_lime")
    return module, module.main(out, quick=True), out


def test_iris_lime_report(iris: tuple[ModuleType, dict[str, Any], Path]) -> None:
    _, result, _ = iris
    assert result["accuracy"] > 0.9
    assert result["n_samples"] == 1000
    exp, exp_cont = result["explanation"], result["explanation_continuous"]
    assert exp.shape == exp_cont.shape == (5, 4, 3)  # top_labels=1: the union of the rows' top classes
    assert result["predicted"] == result["true"]  # these five flowers are classified correctly
    for i, cls in enumerate(result["predicted"]):
        # the top_labels diagnostic names each row's top outputs, best first
        assert exp.diagnostics["top_labels"][i][0] == cls
        assert result["reports"][i]["output"] == result["reports_continuous"][i]["output"] == cls


def test_iris_lime_uses_the_petals(iris: tuple[ModuleType, dict[str, Any], Path]) -> None:
    _, result, _ = iris
    for reports in (result["reports"], result["reports_continuous"]):
        for i, rep in enumerate(reports):
            names = [name for name, *_ in rep["features"]]
            assert sorted(names) == sorted(result["X_train"].columns), i  # d = 4 <= n_features: all used
            assert names[0] in PETALS, (i, rep["features"])
            weights = [w for *_, w, _ in rep["features"]]
            assert weights == sorted(weights, key=abs, reverse=True)
            _, _, top_weight, top_se = rep["features"][0]
            assert 0 < top_se and abs(top_weight) > 5 * top_se, (i, rep["features"][0])
    # without bins a weight is d P(class) / d (standardised measurement): longer, wider petals make
    # virginica more likely and setosa less likely
    for cls, rep in zip(result["predicted"], result["reports_continuous"]):
        petal = [w for name, _, w, _ in rep["features"] if name in PETALS]
        if cls == "virginica":
            assert all(w > 0.1 for w in petal), rep
        elif cls == "setosa":
            assert all(w < -0.1 for w in petal), rep


def test_iris_lime_readable_names_and_fidelity(iris: tuple[ModuleType, dict[str, Any], Path]) -> None:
    _, result, _ = iris
    exp, exp_cont = result["explanation"], result["explanation_continuous"]
    rows = result["rows"].to_numpy()
    for i, rep in enumerate(result["reports"]):
        for name, readable, _, _ in rep["features"]:
            assert name in readable and ("<=" in readable or ">" in readable), readable
            # the condition holds for the explained flower itself
            value = rows[i, list(exp.feature_names).index(name)]
            bounds = readable.replace(name, "x").split()
            if bounds[0] == "x":
                op, edge = bounds[1], float(bounds[2])
                assert value <= edge if op == "<=" else value > edge, (readable, value)
            else:  # "a < x <= b"
                assert float(bounds[0]) < value <= float(bounds[4]), (readable, value)
    assert exp_cont.diagnostics["interpretable_features"][0].tolist() == list(exp_cont.feature_names)

    fid = np.array([r["local_fidelity"] for r in result["reports"]])
    fid_cont = np.array([r["local_fidelity"] for r in result["reports_continuous"]])
    assert np.isfinite(exp.diagnostics["local_fidelity"]).all()
    assert np.isfinite(exp_cont.diagnostics["local_fidelity"]).all()
    assert (fid <= 1).all() and (fid_cont <= 1).all()
    # observed: no bins 0.61-0.66 for four flowers, about 0 for the versicolor (a bump, not a slope);
    # quartile bins 0.74 and 0.82 for the clear virginica and setosa, 0.47 for the other virginica
    # (p = 0.91), and low for the setosa whose petal-length bin also holds versicolors
    assert (fid_cont > 0.5).sum() >= 3, fid_cont
    assert (fid > 0.5).sum() >= 2, fid
    assert fid[[0, 2]].min() > 0.6, fid


def test_iris_lime_saved_and_deterministic(iris: tuple[ModuleType, dict[str, Any], Path]) -> None:
    module, result, out = iris
    for key, exp in (("saved_path", result["explanation"]), ("saved_path_continuous", result["explanation_continuous"])):
        path = result[key]
        assert path is not None and Path(path).is_file() and Path(path).parent == out
        loaded = xk.Explanation.load(path)
        assert isinstance(loaded, xk.Attribution)
        np.testing.assert_array_equal(loaded.values, exp.values)
        np.testing.assert_array_equal(loaded.base_values, exp.base_values)
        assert loaded.feature_names == exp.feature_names and loaded.output_names == exp.output_names
        np.testing.assert_array_equal(loaded.diagnostics["interpretable_features"],
                                      exp.diagnostics["interpretable_features"])
    summary = Path(result["summary_path"]).read_text(encoding="utf-8").splitlines()
    assert summary[0].startswith("row,discretize,predicted,local_fidelity,rank,feature,condition,weight,std_err")
    assert len(summary) == 1 + 2 * 5 * 4
    again = module.explain_rows(result["model"], result["X_train"], result["rows"], discretize="quartile",
                                n_samples=1000, random_state=0)
    np.testing.assert_array_equal(again.values, result["explanation"].values)
    other = module.explain_rows(result["model"], result["X_train"], result["rows"], discretize="quartile",
                                n_samples=1000, random_state=1)
    assert not np.array_equal(other.values, result["explanation"].values)


def test_iris_lime_command_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "iris_lime.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "local fidelity" in proc.stdout and "petal width (cm) > 1.80" in proc.stdout
    assert {p.name for p in tmp_path.iterdir()} == {"iris_lime.xai", "iris_lime_continuous.xai", "iris_lime.csv"}


# ---------------------------------------------------------------------------------- newsgroups


@pytest.fixture(scope="module")
def newsgroups(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, dict[str, Any], Path]:
    return run_example("newsgroups_lime", tmp_path_factory, "20 Newsgroups posts")


@pytest.mark.slow
def test_newsgroups_lime_words(newsgroups: tuple[ModuleType, dict[str, Any], Path]) -> None:
    _, result, _ = newsgroups
    assert result["accuracy"] > 0.8
    assert (result["n_trees"], result["n_samples"], result["doc_index"]) == (100, 1000, 83)
    exp = result["explanation"]
    assert isinstance(exp, xk.RaggedAttribution)
    assert exp.n_rows == 1 and exp.output_names == ["soc.religion.christian"]
    assert result["true_class"] == "alt.atheism" and result["probability"] < 0.5
    text = exp.texts[0]
    assert text == result["document"]
    # exactly 6 words in the surrogate, as asked
    assert np.count_nonzero(exp.values[0, :, 0]) == 6
    words = result["words"]
    assert len(words) == 6 and len({w for w, *_ in words}) == 6
    row_names = exp[0].feature_names
    for word, weight, se, spans in words:
        assert word in row_names
        assert exp.values[0, row_names.index(word), 0] == weight != 0
        assert 0 < se and abs(weight) > 3 * se, (word, weight, se)
        assert spans and all(text[s:e] == word for s, e in spans), (word, spans)
        # bag of words: one span per occurrence of the token (the default tokens are runs of \w)
        assert len(spans) == re.findall(r"\w+", text).count(word), (word, spans)
    assert math.isfinite(result["local_fidelity"]) and 0.5 < result["local_fidelity"] <= 1
    assert 0.3 < result["stability"] <= 1


@pytest.mark.slow
def test_newsgroups_lime_header_words(newsgroups: tuple[ModuleType, dict[str, Any], Path]) -> None:
    module, result, _ = newsgroups
    text = result["document"]
    end = text.index("\n\n")
    assert module.header_end(text) == end
    header_only = [w for w, _, _, spans in result["words"] if all(e <= end for _, e in spans)]
    assert result["header_words"] == header_only
    assert result["n_header_words"] == len(header_only)
    # the classic finding: the forest leans on e-mail header artefacts, not on what the post says
    assert len(header_only) >= 2, result["words"]
    assert {"NNTP", "Posting", "Host"} & set(header_only)
    for word in header_only:
        assert word in text[:end]
    # removing these header words would raise P(christian): the artefacts point to atheism here
    assert all(w < 0 for word, w, _, _ in result["words"] if word in header_only)


@pytest.mark.slow
def test_newsgroups_lime_saved_and_deterministic(newsgroups: tuple[ModuleType, dict[str, Any], Path]) -> None:
    module, result, out = newsgroups
    exp = result["explanation"]
    path = result["saved_path"]
    assert path is not None and Path(path).is_file() and Path(path).parent == out
    loaded = xk.Explanation.load(path)
    assert isinstance(loaded, xk.RaggedAttribution)
    np.testing.assert_array_equal(loaded.values, exp.values)
    np.testing.assert_array_equal(loaded.base_values, exp.base_values)
    assert loaded.row_feature_names == exp.row_feature_names
    assert loaded.spans == exp.spans and loaded.texts == exp.texts
    np.testing.assert_array_equal(loaded.diagnostics["local_fidelity"], exp.diagnostics["local_fidelity"])
    summary = Path(result["summary_path"]).read_text(encoding="utf-8")
    assert "Test accuracy" in summary and all(f"`{w}`" in summary for w, *_ in result["words"])

    again = module.explain_document(result["model"], result["document"], n_samples=1000, random_state=0)
    np.testing.assert_array_equal(again.values, exp.values)
    other = module.explain_document(result["model"], result["document"], n_samples=1000, random_state=1)
    assert not np.array_equal(other.values, exp.values)
