"""Process executors from a plain script without ``if __name__ == "__main__":`` and from a
notebook-like session (code read from stdin: no main module file), each run in a fresh Python."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# A model defined in the script itself (so in __main__), explained with sampled Shapley values:
# workers must receive the model by value and never run the script again.
SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    import xaikit as xk

    WEIGHTS = np.array([1.0, -2.0, 0.5, 3.0])

    def model(X):
        X = np.asarray(X, dtype=float)
        return np.tanh(X @ WEIGHTS)[:, None] + X[:, 0:1] * X[:, 1:2]

    print("script body ran in", os.getpid(), file=sys.stderr)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 4))
    background = rng.normal(size=(8, 4))
    executor = sys.argv[1] if len(sys.argv) > 1 else os.environ["XK_EXECUTOR"]
    exp = xk.KernelShap(model, background=background).explain(
        X, n_samples=64, executor=executor, random_state=0)
    print(json.dumps(np.asarray(exp.values).round(12).tolist()))
    """
)


def run_python(args: list[str], *, stdin: str | None = None, executor: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XK_EXECUTOR": executor, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *args], input=stdin, capture_output=True, text=True, timeout=240, env=env)


@pytest.fixture(scope="module")
def serial_values(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("script") / "explain.py"
    path.write_text(SCRIPT)
    done = run_python([str(path), "serial"], executor="serial")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_script_without_main_guard(tmp_path: Path, serial_values: str) -> None:
    path = tmp_path / "explain.py"
    path.write_text(SCRIPT)
    done = run_python([str(path), "processes:2"], executor="processes:2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == serial_values
    # the script's body ran once, in this script's process: the workers did not run it again
    assert done.stderr.count("script body ran in") == 1, done.stderr[-3000:]


def test_notebook_like_session(serial_values: str) -> None:
    # code from stdin: functions live in a __main__ without a file, as in a notebook
    done = run_python(["-"], stdin=SCRIPT, executor="processes:2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == serial_values
    assert done.stderr.count("script body ran in") == 1, done.stderr[-3000:]
