"""``xaikit explain --method permutation-importance | partial-dependence | ale | surrogate-tree`` on model
files: each result equals the library call on the in-memory model with the same parameters; options a
method does not take, and a missing ``--labels``, are one line and exit code 2; ``xaikit show`` prints
importance, effects and rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cli_models import COLUMNS

import xaikit as xk
from xaikit.cli.main import main
from xaikit.explainers.global_.ale import Ale
from xaikit.explainers.global_.partial_dependence import PartialDependence
from xaikit.explainers.global_.permutation_importance import PermutationImportance
from xaikit.explainers.global_.surrogate_tree import SurrogateTree


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``data.csv`` (features a, b, c, d and a ``label`` column, 80 rows), ``x.csv`` (the features
    only), a skops pipeline fitted on the DataFrame, and a joblib regressor fitted on the array."""
    import joblib
    import skops.io as sio
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folder = tmp_path_factory.mktemp("global")
    rng = np.random.default_rng(7)
    X = rng.normal(size=(80, 4))
    y = np.array(["no", "yes"])[(X[:, 0] + 0.5 * X[:, 1] - X[:, 2] + 0.3 * rng.normal(size=80) > 0).astype(int)]
    frame = pd.DataFrame(X, columns=COLUMNS)
    frame.assign(label=y).to_csv(folder / "data.csv", index=False)
    frame.to_csv(folder / "x.csv", index=False)
    read = pd.read_csv(folder / "data.csv")  # the values as the command reads them
    classifier = make_pipeline(StandardScaler(), LogisticRegression()).fit(read[COLUMNS], read["label"])
    sio.dump(classifier, folder / "classifier.skops")
    regressor = GradientBoostingRegressor(n_estimators=10, max_depth=2, random_state=0)
    regressor.fit(read[COLUMNS].to_numpy(), X[:, 0] * X[:, 1] + X[:, 2])
    joblib.dump(regressor, folder / "regressor.joblib")
    return {"folder": folder, "X": read[COLUMNS], "y": read["label"].to_numpy(), "classifier": classifier, "regressor": regressor}


def cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def explain(capsys: pytest.CaptureFixture[str], tmp_path: Path, model: Path, data: Path, *extra: object) -> Any:
    out = tmp_path / "result.xai"
    code, printed, err = cli(capsys, "explain", model, data, "--out", out, "--quiet", *extra)
    assert code == 0, err
    assert len(printed.strip().splitlines()) == 1 and str(out) in printed
    return xk.Result.load(out)


def refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: object) -> str:
    """Run a command that must be refused: exit 2, nothing printed or written, one line on stderr."""
    out = tmp_path / "refused.xai"
    code, printed, err = cli(capsys, *args, "--out", out)
    assert code == 2 and printed == "" and not out.exists()
    assert err.count("\n") == 1 and err.startswith("xaikit: error: ")
    return err[len("xaikit: error: "):]


@pytest.mark.parametrize("method", ["permutation-importance", "permutation_importance"])
def test_permutation_importance_equals_the_library_call(capsys, tmp_path, labelled, method):
    folder = labelled["folder"]
    got = explain(capsys, tmp_path, folder / "classifier.skops", folder / "data.csv", "--method", method, "--labels", "label",
                  "--scoring", "accuracy", "--scoring", "neg_log_loss", "--n-repeats", "3", "--random-state", "4")
    expected = PermutationImportance(labelled["classifier"], scoring=["accuracy", "neg_log_loss"], n_repeats=3).explain(
        labelled["X"], labelled["y"], random_state=4
    )
    assert got.method == "permutation_importance" and got.kind == "importance"
    assert got.feature_names == COLUMNS and got.output_names == ["accuracy", "neg_log_loss"]
    assert got.values.shape == (4, 2, 3)
    np.testing.assert_array_equal(got.values, expected.values)
    assert got.mean()[0, 0] > 0.05  # the model leans on a: the result is not a zero array


def test_labels_and_rows_select_the_same_rows(capsys, tmp_path, labelled):
    folder = labelled["folder"]
    got = explain(capsys, tmp_path, folder / "classifier.skops", folder / "data.csv", "--method", "permutation-importance",
                  "--labels", "label", "--rows", "10:70", "--target", "accuracy", "--random-state", "0")
    expected = PermutationImportance(labelled["classifier"]).explain(labelled["X"].iloc[10:70], labelled["y"][10:70], random_state=0)
    np.testing.assert_array_equal(got.values, expected.values)


def test_partial_dependence_equals_the_library_call(capsys, tmp_path, labelled):
    folder = labelled["folder"]
    got = explain(capsys, tmp_path, folder / "classifier.skops", folder / "data.csv", "--method", "partial-dependence",
                  "--features", "a,b", "--pairs", "a:c", "--grid-resolution", "6", "--kind", "both")
    expected = PartialDependence(labelled["classifier"], features=["a", "b"], pairs=[("a", "c")], grid_resolution=6, kind="both").explain(
        labelled["X"]
    )
    assert got.term_names == ["a", "b", "a x c"] and got.output_names == ["no", "yes"]
    for name in ("grid", "average", "individual"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))
    assert got.individual.shape[0] == 80


def test_a_model_without_column_names_gets_those_of_data(capsys, tmp_path, labelled):
    folder = labelled["folder"]
    model = folder / "regressor.joblib"
    got = explain(capsys, tmp_path, model, folder / "x.csv", "--trust-pickle", "--method", "partial_dependence",
                  "--features", "a,c", "--grid-resolution", "5")
    expected = PartialDependence(labelled["regressor"], features=[0, 2], grid_resolution=5).explain(labelled["X"].to_numpy())
    assert got.term_names == ["a", "c"] and got.feature_names == COLUMNS
    assert got.params["method"] == expected.params["method"] == "recursion"
    np.testing.assert_array_equal(got.grid, expected.grid)
    np.testing.assert_array_equal(got.average, expected.average)
    pairs_only = explain(capsys, tmp_path, model, folder / "x.csv", "--trust-pickle", "--method", "ale", "--pairs", "a:b",
                         "--bins", "4", "--random-state", "0")
    assert pairs_only.term_names == ["a x b"]


def test_ale_equals_the_library_call(capsys, tmp_path, labelled):
    folder = labelled["folder"]
    got = explain(capsys, tmp_path, folder / "classifier.skops", folder / "data.csv", "--method", "ale",
                  "--features", "a,d", "--bins", "5", "--random-state", "1", "--target", "yes")
    expected = Ale(labelled["classifier"], features=["a", "d"], bins=5).explain(labelled["X"], random_state=1, target="yes")
    assert got.term_names == ["a", "d"] and got.output_names == ["yes"]
    for name in ("grid", "average", "lower", "upper"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))


@pytest.mark.parametrize("output", ["auto", "label"])
def test_surrogate_tree_equals_the_library_call(capsys, tmp_path, labelled, output):
    folder = labelled["folder"]
    got = explain(capsys, tmp_path, folder / "classifier.skops", folder / "data.csv", "--method", "surrogate-tree",
                  "--max-depth", "2", "--random-state", "3", "--output", output)
    expected = SurrogateTree(labelled["classifier"], max_depth=2, output=output).explain(labelled["X"], random_state=3)
    assert got.task == expected.task == ("classification" if output == "label" else "regression")
    assert got.rules() == expected.rules() and got.n_rules > 1
    np.testing.assert_array_equal(got.prediction, expected.prediction)
    np.testing.assert_array_equal(got.support, expected.support)
    np.testing.assert_array_equal(got.diagnostics["fidelity"], expected.diagnostics["fidelity"])


def test_permutation_importance_without_labels_is_refused(capsys, tmp_path, labelled):
    folder = labelled["folder"]
    err = refused(capsys, tmp_path, "explain", folder / "classifier.skops", folder / "data.csv", "--method", "permutation-importance")
    assert err.startswith("--labels:") and "COLUMN" in err


@pytest.mark.parametrize(
    "method, extra, option",
    [
        ("ale", ["--grid-resolution", "5"], "--grid-resolution"),
        ("partial-dependence", ["--bins", "4"], "--bins"),
        ("surrogate-tree", ["--kind", "both"], "--kind"),
        ("partial-dependence", ["--n-repeats", "2"], "--n-repeats"),
        ("ale", ["--n-samples", "10"], "--n-samples"),
        ("ale", ["--labels", "label"], "--labels"),
        ("auto", ["--labels", "label"], "--labels"),
        ("exact-shapley", ["--features", "a"], "--features"),
        ("permutation-importance", ["--labels", "label", "--max-depth", "2"], "--max-depth"),
        ("partial-dependence", ["--output", "label"], "--output"),
    ],
)
def test_an_option_the_method_does_not_take_is_refused(capsys, tmp_path, labelled, method, extra, option):
    folder = labelled["folder"]
    err = refused(capsys, tmp_path, "explain", folder / "classifier.skops", folder / "data.csv", "--method", method, *extra)
    assert err.startswith(f"{option}:") and method in err


@pytest.mark.parametrize(
    "extra, option, says",
    [
        (["--method", "ale", "--features", "a,zz"], "--features", "'zz'"),
        (["--method", "ale", "--pairs", "a"], "--pairs", "A:B"),
        (["--method", "partial-dependence", "--pairs", "a:nope"], "--pairs", "'nope'"),
        (["--method", "permutation-importance", "--labels", "nosuch"], "--labels", "'nosuch'"),
        (["--method", "permutation-importance", "--labels", "label", "--scoring", "nope"], "--scoring", "'nope'"),
        (["--method", "surrogate-tree", "--max-depth", "0"], "--max-depth", "0"),
        (["--method", "partial-dependence", "--grid-resolution", "1"], "--grid-resolution", "1"),
        (["--method", "no-such-method"], "--method", "'no-such-method'"),
    ],
)
def test_bad_values_are_named_as_the_options(capsys, tmp_path, labelled, extra, option, says):
    folder = labelled["folder"]
    err = refused(capsys, tmp_path, "explain", folder / "classifier.skops", folder / "data.csv", *extra)
    assert err.startswith(f"{option}:") and says in err


def test_show_importance(capsys, tmp_path, labelled):
    folder = labelled["folder"]
    result = explain(capsys, tmp_path, folder / "classifier.skops", folder / "data.csv", "--method", "permutation-importance",
                     "--labels", "label", "--random-state", "0")
    code, out, _ = cli(capsys, "show", tmp_path / "result.xai")
    assert code == 0
    lines = out.splitlines()
    assert "permutation_importance" in lines[0] and "'accuracy'" in lines[0] and "5 repeat(s)" in lines[0]
    assert lines[1].split() == ["feature", "mean", "std.", "error", "95%", "CI", "low", "95%", "CI", "high"]
    table = [line.split() for line in lines[3:]]
    assert [row[0] for row in table] == [name for name, _ in result.ranking()]
    lower, upper = result.ci(0.95)
    first = COLUMNS.index(table[0][0])
    expected = [result.mean()[first, 0], result.standard_error()[first, 0], lower[first, 0], upper[first, 0]]
    np.testing.assert_allclose([float(x) for x in table[0][1:]], expected, rtol=1e-3)
    code, _, err = cli(capsys, "show", tmp_path / "result.xai", "--row", "0")
    assert code == 2 and err.startswith("xaikit: error: --row:")


def test_show_effects(capsys, tmp_path, labelled):
    folder = labelled["folder"]
    result = explain(capsys, tmp_path, folder / "classifier.skops", folder / "data.csv", "--method", "ale",
                     "--features", "b", "--pairs", "a:c", "--bins", "4", "--random-state", "0")
    code, out, _ = cli(capsys, "show", tmp_path / "result.xai", "--target", "yes")
    assert code == 0
    blocks = out.split("\n\n")
    assert "ale" in blocks[0] and "'yes'" in blocks[0] and "2 term(s)" in blocks[0]
    one = blocks[1].splitlines()
    b = result.term("b")
    assert one[0].startswith("term 'b'") and one[1].split() == ["b", "average", "lower", "upper"]
    rows = [[float(x) for x in line.split()] for line in one[3:]]
    assert len(rows) == len(b["grid_values"][0]) <= 7
    np.testing.assert_allclose([r[0] for r in rows], b["grid_values"][0], rtol=1e-3)
    np.testing.assert_allclose([r[1] for r in rows], b["average"][:, 1], rtol=1e-3, atol=1e-12)
    two = blocks[2].splitlines()
    size = int(np.prod(result.term("a x c")["grid_shape"]))
    assert two[0].startswith("term 'a x c'") and two[1].split() == ["a", "c", "average", "lower", "upper"]
    assert size > 7 and len(two) == 3 + 7 and two[6].split() == ["..."] * 5  # first and last 3 points
    last = result.term("a x c")
    np.testing.assert_allclose(float(two[-1].split()[2]), last["average"].reshape(size, 2)[-1, 1], rtol=1e-3, atol=1e-12)


def test_show_rules(capsys, tmp_path, labelled):
    folder = labelled["folder"]
    result = explain(capsys, tmp_path, folder / "classifier.skops", folder / "data.csv", "--method", "surrogate-tree",
                     "--max-depth", "2", "--random-state", "0")
    code, out, _ = cli(capsys, "show", tmp_path / "result.xai")
    assert code == 0
    lines = out.splitlines()
    fidelity = result.diagnostics["fidelity"]
    assert f"{result.n_rules} rule(s)" in lines[0] and "held-out" in lines[0] and f"yes {fidelity[1]:.4g}" in lines[0]
    assert lines[1:] == [f"{i + 1}. {text}" for i, text in enumerate(result.rules())]
    code, out, _ = cli(capsys, "show", tmp_path / "result.xai", "--target", "yes", "--top", "1")
    assert code == 0
    lines = out.splitlines()
    assert lines[1] == f"1. {result[:, ['yes']].rules()[0]}" and "P(no)" not in out
    assert lines[2] == f"... {result.n_rules - 1} more rules (--top 0 for all)"


def test_a_global_method_refuses_background_rows(capsys, tmp_path, labelled):
    folder = labelled["folder"]
    err = refused(capsys, tmp_path, "explain", folder / "classifier.skops", folder / "data.csv", "--method", "ale",
                  "--background", folder / "x.csv")
    assert err.startswith("--background:") and "'ale'" in err


def test_methods_lists_the_global_methods(labelled):
    import subprocess
    import sys

    # a fresh process: this module has imported the global methods already
    done = subprocess.run([sys.executable, "-m", "xaikit", "methods", str(labelled["folder"] / "classifier.skops")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    table = {line.split()[0]: line.split()[1:3] for line in out.splitlines()[3:]}
    for name in ("permutation_importance", "partial_dependence", "ale", "surrogate_tree"):
        assert table[name] == ["yes", "global"]
