"""Chunked, resumable dataset jobs: explain_dataset and open_dataset (xaikit.execution.dataset)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import xaikit as xk
from xaikit.errors import FormatError, InvalidParameterError
from xaikit.execution.dataset import explain_dataset
from xaikit.results.dataset import open_dataset

# One job, written once: run in a subprocess (killed with SIGKILL) and in this process.
JOB = """
import os, time
import numpy as np
import xaikit as xk
from xaikit.execution.dataset import explain_dataset

DELAY = float(os.environ.get("XK_TEST_DELAY", "0"))
W = np.linspace(-1.0, 1.0, 6)
X = np.random.default_rng(0).normal(size=(120, 6))
BG = np.random.default_rng(1).normal(size=(4, 6))


def model(X):
    time.sleep(DELAY)
    return np.tanh(X @ W)


def job(out, executor="serial", **kw):
    explainer = xk.KernelShap(model, background=BG)
    return explain_dataset(explainer, X, out=out, chunk_rows=12, executor=executor, n_samples=40, random_state=7, **kw)
"""


def _job_namespace() -> dict:
    ns: dict = {"__name__": "dataset_job"}
    exec(JOB, ns)  # noqa: S102 - the job's code, shared with the subprocess
    return ns


@pytest.fixture(scope="module")
def job_ns():
    return _job_namespace()


@pytest.fixture(scope="module")
def clean_run(job_ns, tmp_path_factory):
    """The uninterrupted run of JOB."""
    out = tmp_path_factory.mktemp("clean") / "out"
    return job_ns["job"](out)


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """A small boosted classifier and its rows, as a DataFrame, Parquet and CSV."""
    from sklearn.ensemble import GradientBoostingClassifier

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(700, 4)), columns=["age", "income", "debt", "score"])
    y = (frame["age"] + frame["income"] ** 2 > 1).to_numpy().astype(int)
    model = GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=0).fit(frame, y)
    folder = tmp_path_factory.mktemp("trees")
    frame.to_parquet(folder / "rows.parquet", row_group_size=128)  # row groups that do not fall on chunk bounds
    frame.to_csv(folder / "rows.csv", index=False)
    return model, frame, folder


def _tables(out: Path) -> dict[str, object]:
    return {p.name: pq.read_table(p) for p in sorted(out.glob("chunk-*.parquet"))}


# -- inputs, layout, reading ------------------------------------------------------------------


def test_csv_parquet_dataframe_and_one_call_agree(trees, tmp_path):
    model, frame, folder = trees
    direct = xk.TreeShap(model).explain(frame, executor="serial")
    results = {}
    for name, data in (("parquet", folder / "rows.parquet"), ("csv", folder / "rows.csv"), ("frame", frame)):
        ds = explain_dataset(xk.TreeShap(model), data, out=tmp_path / name, chunk_rows=300, executor="serial")
        assert [c["rows"] for c in ds.chunks] == [300, 300, 100]
        results[name] = ds.to_attribution()
    for exp in results.values():
        np.testing.assert_array_equal(exp.values, direct.values)
        np.testing.assert_array_equal(exp.base_values, direct.base_values)
        assert exp.feature_names == direct.feature_names


def test_chunk_files_and_manifest(trees, tmp_path):
    model, frame, folder = trees
    ds = explain_dataset(xk.TreeShap(model), folder / "rows.parquet", out=tmp_path / "out", chunk_rows=256, executor="serial")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["complete"] and manifest["n_rows"] == 700 and manifest["method"] == "tree_shap"
    assert manifest["parameters"]["chunk_rows"] == 256 and manifest["parameters"]["random_state"] == 0
    assert manifest["input"]["sha256"] == hashlib.sha256((folder / "rows.parquet").read_bytes()).hexdigest()
    ids = []
    for chunk in manifest["chunks"]:
        path = tmp_path / "out" / chunk["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == chunk["sha256"]
        assert chunk["seed"] == {"entropy": 0, "row_ids": [chunk["first_row"], chunk["first_row"] + chunk["rows"]]}
        table = pq.read_table(path)
        assert table.column_names == ["row_id", "age", "income", "debt", "score", "@base_value"]
        ids += table.column("row_id").to_pylist()
    assert ids == list(range(700))
    assert not [p for p in (tmp_path / "out").iterdir() if ".tmp-" in p.name]
    # rows picked across chunks, in the order asked
    full = ds.to_attribution()
    picked = ds.to_attribution([699, 0, 300, 255, 256])
    np.testing.assert_array_equal(picked.values, full.values[[699, 0, 300, 255, 256]])
    np.testing.assert_array_equal(ds.to_attribution(slice(250, 260)).values, full.values[250:260])
    sample = ds.sample(50, random_state=3)
    assert sample.n_rows == 50
    assert ds.sample(50, random_state=3).values.tobytes() == sample.values.tobytes()
    with pytest.raises(InvalidParameterError, match="max_rows"):
        ds.to_attribution(max_rows=100)
    with pytest.raises(InvalidParameterError, match=r"rows: expected row ids in \[0, 700\), got 700"):
        ds.to_attribution([700])
    assert sum(a.n_rows for a in ds.iter_chunks()) == 700


@pytest.mark.parametrize("n_features, n_outputs", [(5, 2), (1, 1), (3, 1)])
def test_streamed_ranking_equals_the_materialised_one(tmp_path, n_features, n_outputs):
    rng = np.random.default_rng(n_features)
    W = rng.normal(size=(n_features, n_outputs))
    X = rng.normal(size=(1003, n_features)) * 1e3
    explainer = xk.ExactShapley(lambda X: X @ W, background=rng.normal(size=(2, n_features)))
    ds = explain_dataset(explainer, X, out=tmp_path / "out", chunk_rows=97, executor="serial")
    exp = ds.to_attribution()
    np.testing.assert_array_equal(ds.mean_abs(), exp.mean_abs())  # to the bit
    for j in range(n_outputs):
        assert ds.ranking(j) == exp.ranking(j)
    with pytest.raises(InvalidParameterError, match="target"):
        ds.ranking(n_outputs)


def test_rows_do_not_depend_on_chunk_rows_for_a_deterministic_method(trees, tmp_path):
    model, frame, _ = trees
    a = explain_dataset(xk.TreeShap(model), frame, out=tmp_path / "a", chunk_rows=700, executor="serial").to_attribution()
    b = explain_dataset(xk.TreeShap(model), frame, out=tmp_path / "b", chunk_rows=33, executor="serial").to_attribution()
    np.testing.assert_array_equal(a.values, b.values)


# -- crash safety -----------------------------------------------------------------------------


def _run_job(out: Path, delay: float) -> subprocess.Popen:
    env = {**os.environ, "XK_TEST_DELAY": str(delay), "OMP_NUM_THREADS": "1"}
    code = JOB + "\nimport sys\njob(sys.argv[1])\n"
    return subprocess.Popen([sys.executable, "-c", code, str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _chunks_done(out: Path) -> int:
    try:
        return len(json.loads((out / "manifest.json").read_text())["chunks"])
    except (OSError, ValueError, KeyError):
        return 0


def test_kill_9_then_resume_gives_the_uninterrupted_files(clean_run, tmp_path):
    out = tmp_path / "out"
    proc = _run_job(out, delay=0.03)  # 10 chunks of 12 rows, about 0.4 s each
    deadline = time.monotonic() + 60
    while _chunks_done(out) < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL  # killed, not ended on its own
    done = _chunks_done(out)
    assert done >= 1  # some chunks were finished before the kill ...
    manifest = json.loads((out / "manifest.json").read_text())
    assert not manifest["complete"] and len(manifest["chunks"]) == done < 10  # ... and the job was not
    with pytest.raises(InvalidParameterError, match="not finished|finished dataset job"):
        open_dataset(out)
    assert open_dataset(out, partial=True).n_rows == 12 * done
    rerun = _run_job(out, delay=0.0)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err.decode()[-2000:]
    resumed = open_dataset(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert [c["id"] for c in manifest["chunks"]] == list(range(10))
    clean, again = _tables(clean_run.out), _tables(out)
    assert list(again) == list(clean)
    for name, table in clean.items():
        assert again[name].equals(table), name
        assert (out / name).read_bytes() == (clean_run.out / name).read_bytes()
    ids = np.concatenate([t.column("row_id").to_numpy() for t in again.values()])
    np.testing.assert_array_equal(ids, np.arange(120))
    assert resumed.has_std_err and "@std_err|x0" in again["chunk-000000.parquet"].column_names
    np.testing.assert_array_equal(resumed.to_attribution().diagnostics["std_err"], clean_run.to_attribution().diagnostics["std_err"])


def test_a_corrupt_or_missing_chunk_is_redone(job_ns, clean_run, tmp_path):
    out = tmp_path / "out"
    job_ns["job"](out)
    chunk = out / "chunk-000003.parquet"
    raw = bytearray(chunk.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    chunk.write_bytes(bytes(raw))
    (out / "chunk-000007.parquet").unlink()
    stale = out / ".chunk-000007.parquet.tmp-99999"  # as a run killed while writing leaves it
    stale.write_bytes(b"half a file")
    with pytest.raises(FormatError, match="chunk 3 .*SHA-256"):
        open_dataset(out).to_attribution()
    with pytest.raises(FormatError, match="chunk 7 .*missing"):
        open_dataset(out).to_attribution(rows=[84])
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("chunk-*.parquet")}
    job_ns["job"](out)
    for name in ("chunk-000003.parquet", "chunk-000007.parquet"):
        assert (out / name).read_bytes() == (clean_run.out / name).read_bytes()
    assert not stale.exists()
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("chunk-*.parquet")}
    assert after["chunk-000000.parquet"] == before["chunk-000000.parquet"]  # the good ones were kept
    open_dataset(out).verify()


def test_other_parameters_or_data_are_refused_not_mixed(job_ns, tmp_path):
    out = tmp_path / "out"
    job_ns["job"](out)
    explainer = xk.KernelShap(job_ns["model"], background=job_ns["BG"])
    X = job_ns["X"]
    base = dict(out=out, chunk_rows=12, executor="serial", n_samples=40, random_state=7)
    for change in ({"n_samples": 41}, {"random_state": 8}, {"chunk_rows": 13}, {"target": 0}):
        with pytest.raises(InvalidParameterError, match=f"out: '{out}' holds a job of other parameters"):
            explain_dataset(explainer, X, **{**base, **change})
    with pytest.raises(InvalidParameterError, match="input"):
        explain_dataset(explainer, X + 1e-9, **base)
    other = xk.KernelShap(job_ns["model"], background=job_ns["BG"] + 1.0)
    with pytest.raises(InvalidParameterError, match="settings.masker"):
        explain_dataset(other, X, **base)
    with pytest.raises(InvalidParameterError, match="out: expected an empty folder"):
        explain_dataset(explainer, X, **base, resume=False)
    ds = explain_dataset(explainer, X, **{**base, "random_state": 8}, resume=False, overwrite=True)
    assert ds.params["random_state"] == 8 and ds.n_rows == 120
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    with pytest.raises(InvalidParameterError, match="1 file"):
        explain_dataset(explainer, X, **{**base, "out": stranger})


def test_executors_give_the_same_files(job_ns, clean_run, tmp_path):
    job_ns["job"](tmp_path / "processes", executor="processes:2")
    assert _tables(tmp_path / "processes").keys() == _tables(clean_run.out).keys()
    for name in _tables(clean_run.out):
        assert (tmp_path / "processes" / name).read_bytes() == (clean_run.out / name).read_bytes()


def test_driver_memory_is_flat_in_the_rows(tmp_path):
    from sklearn.ensemble import GradientBoostingRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 4))
    model = GradientBoostingRegressor(n_estimators=10, max_depth=3, random_state=0).fit(X, X[:, 0] + X[:, 1] ** 2)
    warm = tmp_path / "warm.parquet"
    pd.DataFrame(rng.normal(size=(100, 4)), columns=list("abcd")).to_parquet(warm)
    explain_dataset(xk.TreeShap(model), warm, out=tmp_path / "warm", chunk_rows=50, executor="serial")  # imports done before measuring
    peaks = {}
    for n in (10_000, 100_000):
        path = tmp_path / f"rows{n}.parquet"
        pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd")).to_parquet(path)
        tracemalloc.start()
        ds = explain_dataset(xk.TreeShap(model), path, out=tmp_path / f"out{n}", chunk_rows=5000, executor="serial")
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert ds.n_rows == n
    assert peaks[100_000] <= 1.5 * peaks[10_000], peaks
    assert peaks[10_000] < 20 * 2**20, peaks  # one chunk of 5000 rows, not the imports


# -- bad input --------------------------------------------------------------------------------


def test_bad_input_is_named(trees, tmp_path):
    model, frame, folder = trees
    tree = xk.TreeShap(model)
    cases = [
        (dict(explainer=model, data=frame), "explainer: expected an xaikit explainer"),
        (dict(explainer=xk.PermutationImportance(model), data=frame), "explainer: expected a local method"),
        (dict(chunk_rows=0), "chunk_rows"),
        (dict(random_state=None), "random_state: expected a non-negative int"),
        (dict(data=folder / "rows.txt"), "data: expected a .csv or .parquet file"),
        (dict(data=folder / "none.parquet"), "does not exist"),
        (dict(data=[1.0, 2.0]), "data: expected"),
        (dict(data=folder / "rows.csv", columns=["age", "height"]), r"columns: .*'height'"),
        (dict(data=frame.to_numpy(), columns=["age"]), "columns: selects columns"),
        (dict(resume="yes"), "resume: expected True or False"),
        (dict(out=folder / "rows.csv"), "out: expected a folder"),
    ]
    for i, (change, message) in enumerate(cases):
        kwargs = {**dict(explainer=tree, data=frame, out=tmp_path / f"out{i}", chunk_rows=500, executor="serial"), **change}
        with pytest.raises(InvalidParameterError, match=message):
            explain_dataset(kwargs.pop("explainer"), kwargs.pop("data"), **kwargs)
    with pytest.raises(InvalidParameterError, match="out: expected the folder of a dataset job"):
        open_dataset(tmp_path)


def test_columns_select_and_order_the_features(trees, tmp_path):
    model, frame, folder = trees
    extra = frame.assign(label=1.0)[["label", "score", "debt", "income", "age"]]
    extra.to_parquet(tmp_path / "wide.parquet")
    ds = explain_dataset(xk.TreeShap(model), tmp_path / "wide.parquet", out=tmp_path / "out", chunk_rows=400, executor="serial",
                         columns=["age", "income", "debt", "score"])
    direct = xk.TreeShap(model).explain(frame, executor="serial")
    assert ds.feature_names == ["age", "income", "debt", "score"]
    np.testing.assert_array_equal(ds.to_attribution().values, direct.values)


def test_rows_draw_as_in_one_call_whatever_the_chunks(job_ns, clean_run, tmp_path):
    """Chunk k is the call with RowSeeds(random_state, its row ids): recorded, and the whole job equals one explain
    call over all rows, whatever chunk_rows (a sampled method: KernelShap)."""
    from xaikit._validation import RowSeeds

    explainer = xk.KernelShap(job_ns["model"], background=job_ns["BG"])
    X = job_ns["X"]
    chunks = list(clean_run.iter_chunks())
    for k in (0, 5):
        seed = clean_run.chunks[k]["seed"]
        assert seed == {"entropy": 7, "row_ids": [12 * k, 12 * (k + 1)]}
        again = explainer.explain(X[12 * k : 12 * (k + 1)], executor="serial", n_samples=40,
                                  random_state=RowSeeds(seed["entropy"], range(*seed["row_ids"])))
        np.testing.assert_array_equal(again.values, chunks[k].values)
    whole = explainer.explain(X, executor="serial", n_samples=40, random_state=7)
    np.testing.assert_array_equal(clean_run.to_attribution().values, whole.values)
    other = explain_dataset(explainer, X, out=tmp_path / "other", chunk_rows=5, executor="serial", n_samples=40, random_state=7)
    np.testing.assert_array_equal(other.to_attribution().values, whole.values)
    same_rows = np.repeat(X[:1], 2, axis=0)
    ds = explain_dataset(explainer, same_rows, out=clean_run.out.parent / "same", chunk_rows=1, executor="serial", n_samples=40)
    first, second = ds.iter_chunks()
    assert not np.array_equal(first.diagnostics["std_err"], second.diagnostics["std_err"])  # one stream per row


def test_one_job_at_a_time_per_folder(trees, tmp_path):
    import socket

    model, frame, _ = trees
    out = tmp_path / "out"
    out.mkdir()
    (out / ".lock").write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}))  # a live job
    with pytest.raises(InvalidParameterError, match=f"out: '{out}' is being written by another job \\(process {os.getpid()}"):
        explain_dataset(xk.TreeShap(model), frame, out=out, chunk_rows=500, executor="serial")
    assert not (out / "manifest.json").exists()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    (out / ".lock").write_text(json.dumps({"host": socket.gethostname(), "pid": int(gone.stdout)}))  # a killed job's
    assert explain_dataset(xk.TreeShap(model), frame, out=out, chunk_rows=500, executor="serial").n_rows == 700
    assert not (out / ".lock").exists()


def test_keep_data_keeps_the_inputs(trees, tmp_path):
    model, frame, folder = trees
    ds = explain_dataset(xk.TreeShap(model), folder / "rows.csv", out=tmp_path / "out", chunk_rows=300, executor="serial", keep_data=True)
    assert ds.has_data and "@data|age" in pq.read_table(tmp_path / "out" / "chunk-000000.parquet").column_names
    exp = ds.to_attribution()
    np.testing.assert_allclose(exp.data, frame.to_numpy(), rtol=1e-15)  # through the CSV text
    np.testing.assert_array_equal(ds.to_attribution([650, 3]).data, exp.data[[650, 3]])
    with pytest.raises(InvalidParameterError, match="keep_data"):
        explain_dataset(xk.TreeShap(model), folder / "rows.csv", out=tmp_path / "out", chunk_rows=300, executor="serial")
    plain = explain_dataset(xk.TreeShap(model), frame, out=tmp_path / "plain", chunk_rows=300, executor="serial")
    assert not plain.has_data and plain.to_attribution().data is None
