"""``xaikit fairness``: the saved result equals the library call; bad input is named as the options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from xaikit.cli import fairness
from xaikit.cli._common import Parser, add_common_options, run_command
from xaikit.fairness import FairnessReport
from xaikit.results import Result
from xaikit.results.fairness import GroupFairness


def _cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    parser = Parser(prog="xaikit")
    add_common_options(parser)
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    command = fairness.register(sub)
    add_common_options(command, suppress=True)
    parsed = parser.parse_args(["fairness", *map(str, args)])
    code = run_command(parsed.run, parsed)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path_factory.mktemp("fairness_cli")
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    frame["race"] = rng.choice(["Black", "White", "Other"], n)
    frame["sex"] = rng.choice(["Female", "Male"], n)
    frame["y"] = ((frame.a + 0.5 * (frame.race == "White") + rng.normal(size=n)) > 0).astype(int)
    model = LogisticRegression().fit(frame[["a", "b", "c"]], frame.y)
    sio.dump(model, folder / "model.skops")
    array_model = LogisticRegression().fit(frame[["a", "b", "c"]].to_numpy(), frame.y)
    sio.dump(array_model, folder / "array_model.skops")
    frame.to_csv(folder / "data.csv", index=False)
    return {"folder": folder, "frame": frame, "model": model}


def test_result_equals_the_library_call(capsys: pytest.CaptureFixture[str], tmp_path: Path, setup: dict[str, Any]) -> None:
    folder, frame, model = setup["folder"], setup["frame"], setup["model"]
    out = tmp_path / "fair.xai"
    code, text, err = _cli(capsys, folder / "model.skops", folder / "data.csv", "--labels", "y", "--groups", "race,sex",
                           "--n-boot", 50, "--random-state", 3, "--out", out)
    assert code == 0, err
    assert "demographic_parity_difference" in text and "6 groups of race, sex" in text
    saved = Result.load(out)
    assert isinstance(saved, GroupFairness)
    data = pd.read_csv(folder / "data.csv")
    proba = model.predict_proba(data[["a", "b", "c"]])
    fr = FairnessReport(data.y.astype(str), np.array(["0", "1"])[proba.argmax(1)], sensitive_features=data[["race", "sex"]],
                        y_score=proba[:, 1], pos_label="1")
    expected = fr.intervals(50, random_state=3)
    np.testing.assert_array_equal(saved.counts, expected.counts)
    np.testing.assert_allclose(saved.calibration, expected.calibration, rtol=1e-12)
    np.testing.assert_array_equal(saved.lower, expected.lower)
    assert saved.disparity_intervals == expected.disparity_intervals
    assert saved.group_names == expected.group_names
    assert len(frame) == int(saved.n_rows.sum())


def test_no_intervals_and_a_model_without_column_names(capsys: pytest.CaptureFixture[str], tmp_path: Path, setup: dict[str, Any]) -> None:
    folder = setup["folder"]
    out = tmp_path / "fair.xai"
    code, text, err = _cli(capsys, folder / "array_model.skops", folder / "data.csv", "--labels", "y", "--groups", "race,sex",
                           "--n-boot", 0, "--out", out)
    assert code == 0, err
    saved = Result.load(out)
    # the model reads every column but the labels and the groups
    assert saved.lower is None and saved.group_names[:2] == ["Black, Female", "Black, Male"]
    assert "interval" not in text.splitlines()[0]


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--labels", "income", "--groups", "race"], "--labels: expected a column of DATA, got 'income'"),
        (["--labels", "y", "--groups", "race,age"], "--groups: expected columns of DATA"),
        (["--labels", "y", "--groups", "race,,sex"], "--groups: expected column names separated by commas"),
        (["--labels", "y", "--groups", "y"], "--groups: expected columns other than the labels"),
        (["--labels", "y", "--groups", "race", "--n-boot", "1"], "--n-boot: expected 0 (no intervals) or an integer >= 2"),
        (["--labels", "y", "--groups", "race", "--level", "1.5"], "--level: expected a coverage in (0, 1)"),
        (["--labels", "y", "--groups", "race", "--pos-label", "yes"], "--pos-label: expected one of the model's classes"),
        (["--labels", "race", "--groups", "sex"], "--labels: expected binary labels"),
    ],
)
def test_bad_input_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path, setup: dict[str, Any], extra: list[str], says: str) -> None:
    folder = setup["folder"]
    code, _, err = _cli(capsys, folder / "model.skops", folder / "data.csv", *extra, "--out", tmp_path / "r.xai")
    assert code == 2, err
    assert says in err and "Traceback" not in err
    assert not (tmp_path / "r.xai").exists()
