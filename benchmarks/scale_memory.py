"""Driver memory and throughput of resumable dataset jobs (``xaikit.execution.dataset.explain_dataset``).

A scikit-learn GradientBoostingClassifier (100 trees of depth 4) is fitted on the six numeric
features of UCI Adult (``xk.datasets.load_adult()``: age, fnlwgt, education_num, capital_gain,
capital_loss, hours_per_week). Its rows, repeated, make Parquet files of 1e4, 1e5 and 1e6 rows
(written in row groups of 65,536, never held whole). Each size is then explained with path-dependent
TreeSHAP by ``explain_dataset(..., chunk_rows=50_000)`` in a fresh Python process, one after the
other, which reports:

- ``tracemalloc peak``: the most memory Python and numpy held at once during the job;
- ``RSS added``: the resident set's high-water mark during the job (``VmHWM``, reset before it by
  writing 5 to ``/proc/self/clear_refs``) minus the RSS before it; it counts Arrow's buffers too;
- ``rows/s``: rows explained per second, the whole job (reading, explaining, writing, hashing).

Flat memory means the driver holds one chunk at a time whatever the number of rows. The
executor is ``serial`` by default (everything in the measured process); ``--executor processes:2``
measures the driver alone, the work on its workers.

Run: ``python benchmarks/scale_memory.py`` (``--sizes 10000,100000`` for a quick run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _proc_memory import reset_peak_rss, status_bytes  # noqa: E402

NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]


def prepare(folder: Path, sizes: list[int]) -> Path:
    """Fit the model (saved with skops) and write one Parquet file per size."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import skops.io as sio
    from sklearn.ensemble import GradientBoostingClassifier

    import xaikit as xk

    adult = xk.datasets.load_adult()
    frame = adult.frame[NUMERIC].astype("float64")
    model = GradientBoostingClassifier(n_estimators=100, max_depth=4, random_state=0).fit(frame, adult.target)
    sio.dump(model, folder / "model.skops")
    base = pa.Table.from_pandas(frame, preserve_index=False)
    for n in sizes:
        with pq.ParquetWriter(folder / f"rows-{n}.parquet", base.schema) as writer:
            done = 0
            while done < n:
                take = min(n - done, 65_536)
                start = done % len(frame)
                rows = np.arange(start, start + take) % len(frame)
                writer.write_table(base.take(rows))
                done += take
    return folder


def measure(folder: Path, n: int, executor: str, chunk_rows: int) -> dict[str, float]:
    """One job in this process (called in a fresh process per size)."""
    import tracemalloc

    import skops.io as sio

    import xaikit as xk
    from xaikit.execution.dataset import explain_dataset

    model = sio.load(folder / "model.skops", trusted=sio.get_untrusted_types(file=folder / "model.skops"))
    explainer = xk.TreeShap(model)
    explainer.explain(xk.datasets.load_adult().frame[NUMERIC].astype("float64").iloc[:50], executor="serial")  # warm-up
    out = folder / f"out-{n}"
    rss_before = status_bytes("VmRSS")
    exact_hwm = reset_peak_rss()
    tracemalloc.start()
    start = time.perf_counter()
    ds = explain_dataset(explainer, folder / f"rows-{n}.parquet", out=out, chunk_rows=chunk_rows, executor=executor,
                         overwrite=True, progress=False)
    took = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"rows": ds.n_rows, "seconds": took, "rows_per_s": ds.n_rows / took, "tracemalloc_peak": peak,
            "rss_added": status_bytes("VmHWM") - rss_before, "exact_hwm": exact_hwm, "chunks": len(ds.chunks)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="rows of each job, comma separated")
    parser.add_argument("--executor", default="serial")
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(Path(args.folder), args.one, args.executor, args.chunk_rows)))
        return
    import numpy as np

    import xaikit as xk

    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, xaikit {xk.__version__}, {os.cpu_count()} CPUs; "
          f"executor {args.executor}, chunk_rows {args.chunk_rows}")
    with tempfile.TemporaryDirectory() as tmp:
        prepare(Path(tmp), sizes)
        print(f"{'rows':>10} {'chunks':>7} {'seconds':>9} {'rows/s':>10} {'tracemalloc peak':>17} {'RSS added':>10}")
        for n in sizes:
            env = {**os.environ, "OMP_NUM_THREADS": "1"}
            done = subprocess.run([sys.executable, __file__, "--one", str(n), "--folder", tmp, "--executor", args.executor,
                                   "--chunk-rows", str(args.chunk_rows)], capture_output=True, text=True, env=env, check=False)
            if done.returncode != 0:
                print(f"{n:>10} failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            note = "" if r["exact_hwm"] else " (ru_maxrss: HWM not resettable)"
            print(f"{n:>10} {r['chunks']:>7} {r['seconds']:>9.2f} {r['rows_per_s']:>10.0f} {r['tracemalloc_peak'] / 2**20:>14.1f} MB "
                  f"{r['rss_added'] / 2**20:>7.1f} MB{note}")


if __name__ == "__main__":
    main()
