"""``xaikit show``, ``methods``, ``report``, the help, and a few runs of the real command in a subprocess."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from cli_models import COLUMNS

import xaikit as xk
from xaikit.cli._common import Progress
from xaikit.cli.main import main

PYTHON = sys.executable


def cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[xk.Attribution, str]:
    """A result with exactly known values, data and standard errors, saved."""
    values = np.array([[[0.5], [-2.0], [0.1]], [[-1.5], [0.2], [0.0]]])
    exp = xk.Attribution(
        values=values,
        base_values=np.array([[1.0], [1.0]]),
        data=np.array([[3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]),
        feature_names=["age", "income", "debt"],
        output_names=["risk"],
        diagnostics={"std_err": np.full((2, 3, 1), 0.01)},
        method="demo",
    )
    path = str(tmp_path_factory.mktemp("show") / "r.xai")
    exp.save(path)
    return exp, path


def test_show_prints_the_global_ranking(capsys, saved):
    exp, path = saved
    code, out, _ = cli(capsys, "show", path)
    assert code == 0
    lines = out.splitlines()
    assert "2 row(s)" in lines[0] and "'risk'" in lines[0]
    assert lines[1].split() == ["feature", "mean", "|value|", "mean", "std.", "error"]
    shown = [line.split()[0] for line in lines[3:]]
    assert shown == [name for name, _ in exp.ranking()] == ["income", "age", "debt"]
    assert lines[3].split()[1] == "1.1"  # mean |value| of income: (2.0 + 0.2) / 2


def test_show_one_row_and_top(capsys, saved):
    code, out, _ = cli(capsys, "show", saved[1], "--row", "1", "--top", "2")
    assert code == 0
    lines = out.splitlines()
    assert "row 1 of 2" in lines[0] and "base value +1" in lines[0] and "= -0.3" in lines[0]
    assert [line.split()[:3] for line in lines[3:]] == [["age", "6", "-1.5"], ["income", "7", "+0.2"]]


@pytest.mark.parametrize("args, says", [(["--row", "5"], "--row:"), (["--target", "nope"], "nope"), (["--top", "-1"], "--top:")])
def test_show_refuses_bad_options(capsys, saved, args, says):
    code, out, err = cli(capsys, "show", saved[1], *args)
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and says in err


def test_show_a_file_that_is_not_a_result(capsys, tmp_path):
    (tmp_path / "x.xai").write_bytes(b"not a zip")
    code, _, err = cli(capsys, "show", tmp_path / "x.xai")
    assert code == 2 and len(err.splitlines()) == 1 and "x.xai" in err


def test_methods_lists_what_applies_and_why(capsys, xgb_classifier):
    code, out, _ = cli(capsys, "methods", xgb_classifier[1])
    assert code == 0
    table = {line.split()[0]: line.split()[1] for line in out.splitlines()[3:]}
    assert set(table) == set(xk.REGISTRY)
    assert table["tree_shap"] == "yes" and table["kernel_shap"] == "yes" and table["saliency"] == "no"
    assert "XGBClassifier" in out.splitlines()[0]


def test_methods_of_a_torchscript_module_offers_gradients(capsys, torch_mlp):
    code, out, _ = cli(capsys, "methods", torch_mlp[1])
    table = {line.split()[0]: line.split()[1] for line in out.splitlines()[3:]}
    assert code == 0 and table["saliency"] == "yes" and table["tree_shap"] == "no"


def test_report_writes_one_html_file(capsys, tmp_path, saved):
    import importlib

    try:
        has_report = hasattr(importlib.import_module("xaikit.report"), "Report")
    except ImportError:
        has_report = False
    if not has_report:
        pytest.skip("xaikit.report.Report is not available yet: the report subcommand cannot be exercised")
    out = tmp_path / "report.html"
    code, printed, err = cli(capsys, "report", saved[1], "--out", out, "--title", "Credit <model>")
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    assert "Credit &lt;model&gt;" in html and "income" in html
    assert str(out) in printed


def test_report_of_a_missing_result_exits_2(capsys, tmp_path):
    code, _, err = cli(capsys, "report", tmp_path / "none.xai", "--out", tmp_path / "r.html")
    assert code == 2 and len(err.splitlines()) == 1 and "none.xai" in err
    assert not (tmp_path / "r.html").exists()


def test_every_subcommand_has_help(capsys):
    for command in ("explain", "report", "show", "methods", "demo"):
        assert main([command, "--help"]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: xaikit {command}")
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(c in out for c in ("explain", "report", "show", "methods", "demo"))


def test_the_parser_imports_nothing_heavy():
    code = (
        "import sys\nfrom xaikit.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'sklearn', 'torch', 'onnxruntime', 'xaikit.results') if m in sys.modules))"
    )
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def _run(*args: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([PYTHON, "-m", "xaikit", *map(str, args)], capture_output=True, text=True, env=env, timeout=120)


def test_end_to_end_explain_then_show(tmp_path, files, xgb_classifier, rows, bg):
    out = tmp_path / "result.xai"
    done = _run("explain", xgb_classifier[1], files / "rows.csv", "--background", files / "bg.csv", "--out", out)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress line when stderr is not a terminal
    assert done.stdout.startswith("tree_shap: 5 rows, 1 output(s)")
    expected = xk.explain(xgb_classifier[0], rows, background=bg, feature_names=COLUMNS)
    np.testing.assert_allclose(xk.Result.load(out).values, expected.values, rtol=0, atol=1e-10)
    shown = _run("show", out, "--top", "1")
    assert shown.returncode == 0 and shown.stdout.splitlines()[3].split()[0] == expected.ranking()[0][0]


def test_end_to_end_missing_column_and_pickle(tmp_path, files, skops_pipeline):
    import pandas as pd

    pd.read_csv(files / "rows.csv").drop(columns=["a", "d"]).to_csv(tmp_path / "rows.csv", index=False)
    done = _run("explain", skops_pipeline[1], tmp_path / "rows.csv", "--out", tmp_path / "r.xai")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"xaikit: error: DATA: {str(tmp_path / 'rows.csv')!r} lacks 2 column(s) the model was fitted on: a, d"
    ]
    (tmp_path / "m.pkl").write_bytes(b"\x80\x04N.")
    done = _run("explain", tmp_path / "m.pkl", files / "rows.csv", "--out", tmp_path / "r.xai")
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1 and "--trust-pickle" in done.stderr


class _Terminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize("tty, quiet, shown", [(True, False, True), (True, True, False), (False, False, False)])
def test_progress_line_only_on_a_terminal_and_not_quiet(tty, quiet, shown):
    stream = _Terminal(tty)
    with Progress("explaining 3 rows", quiet=quiet, stream=stream, interval=0.01):
        time.sleep(0.1)
    text = stream.getvalue()
    assert ("explaining 3 rows 0 s" in text) is shown
    assert text.endswith("\r\033[K") is shown  # the line is cleared when the work ends


def test_progress_draws_the_rows_done_reported_by_the_library():
    from xaikit.explainers.pipeline import on_progress

    stream = _Terminal(True)
    with Progress("explaining 6 rows", stream=stream, interval=0.005) as progress, on_progress(progress.update):
        slow = lambda X: (time.sleep(0.02), X.sum(axis=1))[1]  # noqa: E731
        xk.KernelShap(slow, background=np.zeros((1, 2))).explain(np.ones((6, 2)), executor="serial")
        time.sleep(0.05)
    text = stream.getvalue()
    assert "] 6/6 rows" in text and "[" + "#" * 20 + "]" in text
    assert "] 1/6 rows" in text or "] 2/6 rows" in text  # drawn while the rows were going
