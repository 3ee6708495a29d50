"""``xaikit explain MODEL DATA --out dir/ --chunk-rows N --executor X --resume/--no-resume``: dataset jobs
from the command line equal the library's, resume, and refuse what does not apply (exit code 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import xaikit as xk
from xaikit.cli.main import main
from xaikit.execution.dataset import explain_dataset
from xaikit.results.dataset import open_dataset

FEATURES = ["a", "b", "c", "d"]


def cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def job_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, object, object]:
    """A boosted classifier and a logistic regression fitted on a DataFrame (saved with skops), and
    DATA with an extra column, its columns in another order (Parquet and CSV)."""
    import skops.io as sio
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path_factory.mktemp("jobs")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(150, 4)), columns=FEATURES)
    y = (frame["a"] - frame["c"] + 0.3 * rng.normal(size=150) > 0).astype(int)
    trees = GradientBoostingClassifier(n_estimators=10, max_depth=2, random_state=0).fit(frame, y)
    logistic = LogisticRegression().fit(frame, y)
    sio.dump(trees, folder / "trees.skops")
    sio.dump(logistic, folder / "logistic.skops")
    data = frame.assign(id=np.arange(150.0))[["id", "d", "c", "b", "a"]]
    data.to_parquet(folder / "rows.parquet")
    data.to_csv(folder / "rows.csv", index=False)
    frame.iloc[:6].to_csv(folder / "bg.csv", index=False)
    return folder, frame, trees, logistic


def test_a_job_equals_the_library_and_resumes(capsys, tmp_path, job_files):
    folder, frame, trees, _ = job_files
    out = tmp_path / "job"
    args = ("explain", folder / "trees.skops", "--trust-pickle", folder / "rows.parquet", "--out", out, "--chunk-rows", 40, "--executor", "serial", "--quiet")
    code, printed, err = cli(capsys, *args)
    assert code == 0, err
    line = printed.strip()
    assert line.startswith("tree_shap: 150 rows, 1 output(s) (1) in ") and line.endswith(f" s; 4 chunk(s) in {out}"), line
    ds = open_dataset(out)
    assert ds.feature_names == FEATURES and [c["rows"] for c in ds.chunks] == [40, 40, 40, 30]
    np.testing.assert_array_equal(ds.to_attribution().values, xk.TreeShap(trees).explain(frame, executor="serial").values)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("chunk-*.parquet")}
    code, _, err = cli(capsys, *args, "--resume")  # nothing to redo
    assert code == 0, err
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("chunk-*.parquet")} == stamps
    code, _, err = cli(capsys, *args, "--no-resume")
    assert code == 2 and "xaikit: error: --out: expected an empty folder" in err
    code, _, err = cli(capsys, *args[:6], "--chunk-rows", 41, "--executor", "serial", "--quiet")
    assert code == 2 and "--out:" in err and "other parameters" in err and "chunk_rows" in err
    code, _, err = cli(capsys, *args[:6], "--chunk-rows", 41, "--executor", "serial", "--quiet", "--overwrite")
    assert code == 0, err
    assert [c["rows"] for c in open_dataset(out).chunks] == [41, 41, 41, 27]


def test_a_sampled_method_on_csv_equals_explain_dataset(capsys, tmp_path, job_files):
    folder, frame, _, logistic = job_files
    out = tmp_path / "kernel"
    code, _, err = cli(capsys, "explain", folder / "logistic.skops", folder / "rows.csv", "--out", f"{out}/", "--method", "kernel-shap",
                       "--background", folder / "bg.csv", "--n-samples", 20, "--random-state", 3, "--executor", "serial", "--quiet")
    assert code == 0, err
    got = open_dataset(out)
    explainer = xk.KernelShap(logistic, background=frame.iloc[:6])
    expected = explain_dataset(explainer, frame, out=tmp_path / "library", executor="serial", random_state=3, n_samples=20)
    assert got.params["explain"] == {"n_samples": 20} and got.params["random_state"] == 3
    np.testing.assert_array_equal(got.to_attribution().values, expected.to_attribution().values)
    assert got.output_names == expected.output_names


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--rows", "0:10"), "--rows: does not apply to a dataset job"),
        (("--method", "permutation-importance"), "--method: a dataset job (--out folder) explains rows with a local method"),
        (("--chunk-rows", "0"), "--chunk-rows: expected a positive number of rows, got 0"),
        (("--executor", "nonsense"), "--executor: expected"),
    ],
)
def test_refusals_name_the_option(capsys, tmp_path, job_files, extra, message):
    folder, *_ = job_files
    code, _, err = cli(capsys, "explain", folder / "trees.skops", "--trust-pickle", folder / "rows.parquet", "--out", f"{tmp_path}/job/", "--quiet", *extra)
    assert code == 2, err
    assert message in err


def test_auto_needs_a_named_method_for_other_models(capsys, tmp_path, job_files):
    folder, *_ = job_files
    code, _, err = cli(capsys, "explain", folder / "logistic.skops", folder / "rows.csv", "--out", tmp_path / "job", "--chunk-rows", 50, "--quiet")
    assert code == 2 and "--method: a dataset job (--out folder) needs the method named" in err


def test_a_file_out_still_saves_one_result(capsys, tmp_path, job_files):
    folder, frame, trees, _ = job_files
    out = tmp_path / "result.xai"
    code, _, err = cli(capsys, "explain", folder / "trees.skops", "--trust-pickle", folder / "rows.csv", "--out", out, "--executor", "serial", "--quiet")
    assert code == 0, err
    np.testing.assert_array_equal(xk.Result.load(out).values, xk.TreeShap(trees).explain(frame, executor="serial").values)
