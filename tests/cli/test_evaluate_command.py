"""``xaikit evaluate``: the saved QualityReport equals the library call; refusals are one line and exit code 2."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import xaikit as xk
from xaikit.cli import evaluate as command
from xaikit.cli._common import Parser, add_common_options, run_command
from xaikit.metrics.evaluate import evaluate
from xaikit.results.quality import QualityReport

COLS = ["a", "b", "c", "d"]


def cli(capsys, *args):
    parser = Parser(prog="xaikit")
    add_common_options(parser)
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    add_common_options(command.register(sub), suppress=True)
    parsed = parser.parse_args([str(a) for a in args])
    code = run_command(parsed.run, parsed)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import skops.io
    from sklearn.linear_model import Ridge

    folder = tmp_path_factory.mktemp("evaluate")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 4)), columns=COLS)
    model = Ridge(alpha=1e-3).fit(frame, frame.to_numpy() @ np.array([3.0, -2.0, 1.0, 0.0]))
    skops.io.dump(model, folder / "model.skops")
    frame.to_csv(folder / "rows.csv", index=False)
    rows = frame.iloc[:12]
    exact = xk.ExactShapley(model, background=frame.iloc[20:28]).explain(rows)
    noise = xk.Attribution(values=rng.normal(size=(12, 4, 1)), base_values=np.zeros((12, 1)), feature_names=COLS, method="noise")
    exact.save(folder / "shap.xai")
    noise.save(folder / "noise.xai")
    return folder, model, rows, exact, noise


def test_saved_report_equals_the_library_call(capsys, files):
    folder, model, rows, exact, noise = files
    out = folder / "quality.xai"
    code, printed, err = cli(capsys, "evaluate", folder / "model.skops", folder / "rows.csv", "--explanations",
                             f"{folder / 'shap.xai'},{folder / 'noise.xai'}", "--metrics", "sparseness,entropy", "--rows", "0:12",
                             "--random-state", "0", "--k", "2", "--out", out, "--quiet")
    assert code == 0, err
    got = QualityReport.load(out)
    expected = evaluate(model, rows, {"shap": exact, "noise": noise}, metrics=["sparseness", "entropy"], k=2, random_state=0)
    assert got.method_names == ["shap", "noise"] and got.metric_names == ["sparseness", "entropy"]
    np.testing.assert_array_equal(got.values, expected.values)
    np.testing.assert_array_equal(got.floor, expected.floor)
    np.testing.assert_array_equal(got.top_k_overlap, expected.top_k_overlap)
    assert "overall: " in printed and "privacy: shap carries 12 rows of X" in printed and str(out) in printed
    assert "sparseness" in printed.splitlines()[2]


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--metrics", "max_sensitivity"], "explainers: the metric 'max_sensitivity'"),
        (["--metrics", "nope"], "metrics: expected one of"),
        (["--names", "x"], "--names: expected one name per explanation"),
        (["--rows", "0:5"], "explains 12 rows, DATA gives 5"),
    ],
)
def test_refusals_are_one_line(capsys, files, extra, match):
    folder = files[0]
    code, _, err = cli(capsys, "evaluate", folder / "model.skops", folder / "rows.csv", "--explanations",
                       f"{folder / 'shap.xai'},{folder / 'noise.xai'}", "--rows", "0:12", "--out", folder / "q.xai", "--quiet", *extra)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("xaikit: error: ") and match in err


def test_missing_explanation_file(capsys, files):
    folder = files[0]
    code, _, err = cli(capsys, "evaluate", folder / "model.skops", folder / "rows.csv", "--explanations", folder / "none.xai",
                       "--out", folder / "q.xai", "--quiet")
    assert code == 2 and "--explanations:" in err and "none.xai" in err
