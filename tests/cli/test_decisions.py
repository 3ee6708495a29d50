"""``xaikit explain --method counterfactuals | anchors`` on a model file: the result equals the library call on
the in-memory model with the same parameters (``--reference`` as ``data``, ``--immutable`` as constraints,
``--threshold``); options they do not take, and the others' options given to them, are refused by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cli_models import COLUMNS

import xaikit as xk
from xaikit.cli.main import main


@pytest.fixture(scope="module")
def credit(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``rows.csv`` (6 rows to explain), ``train.csv`` (120 reference rows), a skops pipeline fitted on the frame."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folder = tmp_path_factory.mktemp("decisions")
    rng = np.random.default_rng(11)
    X = pd.DataFrame(rng.normal(size=(126, 4)), columns=COLUMNS)
    y = (X[COLUMNS[0]] + 0.5 * X[COLUMNS[1]] - X[COLUMNS[2]] > 0).astype(int)
    X.iloc[:6].to_csv(folder / "rows.csv", index=False)
    X.iloc[6:].to_csv(folder / "train.csv", index=False)
    rows, train = pd.read_csv(folder / "rows.csv"), pd.read_csv(folder / "train.csv")  # as the command reads them
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(pd.concat([rows, train]), y)
    sio.dump(model, folder / "model.skops")
    return {"folder": folder, "rows": rows, "train": train, "model": model}


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_counterfactuals_from_the_command_line_equal_the_library_call(capsys: Any, tmp_path: Path, credit: dict[str, Any]) -> None:
    f = credit["folder"]
    out = tmp_path / "cf.xai"
    code, printed, err = run(capsys, "explain", f / "model.skops", f / "rows.csv", "--out", out, "--quiet", "--method", "counterfactuals",
                             "--reference", f / "train.csv", "--n-counterfactuals", 2, "--immutable", COLUMNS[2], "--random-state", 3)
    assert code == 0, err
    got = xk.Result.load(out)
    want = xk.Counterfactuals(credit["model"], data=credit["train"], n=2, constraints=xk.Constraints(immutable=[COLUMNS[2]]),
                              random_state=3).explain(credit["rows"])
    np.testing.assert_array_equal(got.values, want.values)
    np.testing.assert_array_equal(got.valid, want.valid)
    assert (got.values[:, :, 2] == got.data[:, None, 2]).all()  # the immutable feature never changes
    assert f"a valid counterfactual for {int(want.valid.any(axis=1).sum())} of 6 rows" in printed


def test_anchors_from_the_command_line_equal_the_library_call(capsys: Any, tmp_path: Path, credit: dict[str, Any]) -> None:
    f = credit["folder"]
    out = tmp_path / "anchors.xai"
    code, _, err = run(capsys, "explain", f / "model.skops", f / "rows.csv", "--out", out, "--quiet", "--method", "anchors",
                       "--reference", f / "train.csv", "--threshold", 0.9, "--random-state", 1, "--rows", "0:3")
    assert code == 0, err
    got = xk.Result.load(out)
    want = xk.Anchors(credit["model"], data=credit["train"], threshold=0.9, random_state=1).explain(credit["rows"].iloc[:3])
    assert [got.rule_text(i) for i in range(3)] == [want.rule_text(i) for i in range(3)]
    np.testing.assert_array_equal(got.precision, want.precision)


@pytest.mark.parametrize(("method", "extra", "message"), [
    ("anchors", ("--n-counterfactuals", 2), "--n-counterfactuals: method 'anchors' takes no such option"),
    ("counterfactuals", ("--threshold", 0.9), "--threshold: method 'counterfactuals' takes no such option"),
    ("kernel-shap", ("--reference", "x.csv"), "--reference: method 'kernel-shap' takes no such option"),
    ("counterfactuals", ("--immutable", "nope"), "--immutable: expected features of DATA"),
    ("anchors", ("--background", "x.csv"), "--background: method 'anchors' takes no background rows"),
])
def test_options_they_do_not_take_are_refused_by_name(capsys: Any, tmp_path: Path, credit: dict[str, Any], method: str,
                                                      extra: tuple[object, ...], message: str) -> None:
    f = credit["folder"]
    code, _, err = run(capsys, "explain", f / "model.skops", f / "rows.csv", "--out", tmp_path / "r.xai", "--quiet",
                       "--method", method, *extra)
    assert code == 2 and message in err, err
