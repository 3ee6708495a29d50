"""Rows per second of TreeSHAP and KernelSHAP on local processes and on Dask workers, the driver's
memory, and what a Dask cluster costs per task and per scattered byte.

Data: UCI Adult (``xk.datasets.load_adult()``, 32,561 rows, 14 features; categories as their integer
codes, missing as -1), repeated to the number of rows asked. Model: scikit-learn
``GradientBoostingClassifier(n_estimators=50, max_depth=3)`` fitted on the first 10,000 rows.

- TreeSHAP (interventional, 50 background rows), 1e5 and 1e6 rows;
- KernelSHAP (10 background rows, ``n_samples=512``), 2e3 rows by default: each row costs
  512 coalitions x 10 background rows = 5,120 model evaluations, about 10^4 times a TreeSHAP row,
  so 1e5 rows would take hours on two cores;

each on ``processes:1`` (the pool of one runs the chunks in this process), ``processes:2``,
``dask-local:1`` and ``dask-local:2``. Each executor is started once (its start is printed apart) and
warmed on a few rows; the timed calls use the started executor. The driver's memory is its resident
set (psutil), sampled every 10 ms during the call: the peak above the level before the call, next to
the size of the result itself (values and the data view).

Then Dask's costs: the time per task through the executor and directly (``client.map``), the time to
scatter an object to every worker (MB/s), and a simulated cluster of ``--simulate`` workers (threads
of this process, one scheduler): per-task scheduler time for the chunk count of that many workers, and
a broadcast to all of them. The multi-machine figures in ``docs/scale.md`` are extrapolated from these.

Run: ``python benchmarks/scale.py`` (about 10 minutes on two cores), ``--quick`` for a smaller run
(1e4 and 1e5 TreeSHAP rows, 500 KernelSHAP rows).
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

import xaikit as xk


def adult_rows() -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    ds = xk.datasets.load_adult()
    cols = []
    for name in ds.frame.columns:
        col = ds.frame[name]
        cols.append(col.cat.codes.to_numpy(np.float64) if isinstance(col.dtype, pd.CategoricalDtype) else col.to_numpy(np.float64))
    return np.ascontiguousarray(np.column_stack(cols)), np.asarray(ds.target)


def repeated(X: np.ndarray, n: int) -> np.ndarray:
    return np.ascontiguousarray(np.resize(X, (n, X.shape[1])))


class PeakRSS:
    """The driver's resident set, sampled every 10 ms on a thread: ``peak - before`` in MB."""

    def __init__(self) -> None:
        import psutil

        self.process = psutil.Process()
        self.before = self.peak = 0

    def __enter__(self) -> PeakRSS:
        self.before = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def mb(self) -> float:
        return (self.peak - self.before) / 2**20


def result_mb(exp: Any) -> float:
    own = exp.values.nbytes + exp.base_values.nbytes
    return own / 2**20


def timed(explainer: Any, X: np.ndarray, ex: Any, **kw: Any) -> tuple[float, float, float, Any]:
    with PeakRSS() as mem:
        start = time.perf_counter()
        exp = explainer.explain(X, executor=ex, **kw)
        elapsed = time.perf_counter() - start
    return elapsed, mem.mb, result_mb(exp), exp


def _noop(x: Any) -> Any:
    return x


def dask_costs(n_tasks: int = 1000) -> dict[str, float]:
    """Per-task time (through the executor and through ``client.map``) and scatter bandwidth on a
    local cluster of 2 worker processes."""
    from xaikit.execution.dask import DaskExecutor

    out: dict[str, float] = {}
    with DaskExecutor.local(2) as ex:
        ex.map(_noop, list(range(20)))
        start = time.perf_counter()
        ex.map(_noop, list(range(n_tasks)))
        out["executor_ms_per_task"] = 1e3 * (time.perf_counter() - start) / n_tasks
        start = time.perf_counter()
        ex.client.gather(ex.client.map(_noop, range(n_tasks), pure=False))
        out["client_map_ms_per_task"] = 1e3 * (time.perf_counter() - start) / n_tasks
        for mb in (8, 64):
            blob = np.random.default_rng(mb).random(mb * 2**20 // 8)
            start = time.perf_counter()
            ex.scatter(blob)
            dt = time.perf_counter() - start
            out[f"scatter_{mb}MB_s"] = dt
            out[f"scatter_{mb}MB_MBps_per_worker"] = mb * ex.n_workers / dt
    return out


def simulated_cluster(n_workers: int, object_mb: int = 8) -> dict[str, float]:
    """A cluster of ``n_workers`` worker threads in this process (one scheduler, as on a real
    cluster): the time of ``4 * n_workers`` trivial tasks (the chunk count of a row-split explain on
    that many workers) and of a broadcast of ``object_mb`` MB to all of them (in-process copies:
    the scheduler's share, not the network's)."""
    import logging

    import distributed

    from xaikit.execution.dask import DaskExecutor

    out: dict[str, float] = {}
    start = time.perf_counter()
    # memory_limit=0: threads of one process all read its resident memory as their own, and with a
    # share of the machine's memory each they would pause (no task run) once the process passed it
    with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=False, dashboard_address=None,
                                  memory_limit=0, silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
        out["start_s"] = time.perf_counter() - start
        ex = DaskExecutor(client)
        ex.map(_noop, list(range(n_workers)))
        n_tasks = 4 * n_workers
        start = time.perf_counter()
        ex.map(_noop, list(range(n_tasks)))
        out["tasks"] = n_tasks
        out["ms_per_task"] = 1e3 * (time.perf_counter() - start) / n_tasks
        blob = np.random.default_rng(0).random(object_mb * 2**20 // 8)
        start = time.perf_counter()
        ex.scatter(blob)
        out[f"broadcast_{object_mb}MB_s"] = time.perf_counter() - start
        ex.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree-rows", default="1e5,1e6")
    parser.add_argument("--kernel-rows", default="2e3")
    parser.add_argument("--executors", default="processes:1,processes:2,dask-local:1,dask-local:2")
    parser.add_argument("--simulate", type=int, default=100, help="workers of the simulated cluster (0: skip)")
    parser.add_argument("--quick", action="store_true", help="1e4,1e5 TreeSHAP rows, 500 KernelSHAP rows, 50 simulated workers")
    args = parser.parse_args()
    if args.quick:
        args.tree_rows, args.kernel_rows, args.simulate = "1e4,1e5", "5e2", 50
    tree_sizes = [int(float(v)) for v in args.tree_rows.split(",") if v]
    kernel_sizes = [int(float(v)) for v in args.kernel_rows.split(",") if v]
    specs = [s for s in args.executors.split(",") if s]

    from sklearn.ensemble import GradientBoostingClassifier

    from xaikit.execution import get_executor

    X, y = adult_rows()
    model = GradientBoostingClassifier(n_estimators=50, max_depth=3, random_state=0).fit(X[:10_000], y[:10_000])
    tree = xk.TreeShap(model, background=X[:50])
    kernel = xk.KernelShap(model, background=X[:10])
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}; adult {X.shape}, GradientBoostingClassifier(50 trees, depth 3)")
    print(f"{'method':<10} {'executor':<13} {'rows':>9} {'seconds':>8} {'rows/s':>9} {'driver MB':>10} {'result MB':>10}")
    times: dict[tuple[str, str, int], float] = {}
    first: dict[tuple[str, int], Any] = {}
    for spec in specs:
        start = time.perf_counter()
        ex = get_executor(spec)
        started = time.perf_counter() - start
        try:
            tree.explain(X[:2000], executor=ex)
            kernel.explain(X[:4], executor=ex, random_state=0, n_samples=512)
            print(f"{'(start)':<10} {spec:<13} {'':>9} {started:8.2f}")
            for method, explainer, sizes, kw in (("TreeShap", tree, tree_sizes, {}),
                                                 ("KernelShap", kernel, kernel_sizes, {"random_state": 0, "n_samples": 512})):
                for n in sizes:
                    rows = repeated(X, n)
                    elapsed, mb, res_mb, exp = timed(explainer, rows, ex, **kw)
                    times[(method, spec, n)] = elapsed
                    print(f"{method:<10} {spec:<13} {n:>9} {elapsed:8.2f} {n / elapsed:9.0f} {mb:10.1f} {res_mb:10.1f}", flush=True)
                    key = (method, n)
                    if key not in first:
                        first[key] = exp.values[:5000].copy()
                    elif not np.array_equal(first[key], exp.values[:5000]):
                        print(f"  !! {method} on {spec}: values differ from {specs[0]}")
                    del exp, rows
        finally:
            ex.close()
    print("identical values on every executor (first 5000 rows of each size): checked above (a '!!' line otherwise)")
    for method, sizes in (("TreeShap", tree_sizes), ("KernelShap", kernel_sizes)):
        for n in sizes:
            one, two = times.get((method, "dask-local:1", n)), times.get((method, "dask-local:2", n))
            if one and two:
                print(f"{method} {n} rows: dask-local:2 / dask-local:1 speed-up {one / two:.2f}x (bar >= 1.8x)")
            local, dask = times.get((method, "processes:2", n)), times.get((method, "dask-local:2", n))
            if local and dask:
                print(f"{method} {n} rows: Dask overhead against processes:2 {100 * (dask / local - 1):+.1f}% (bar <= 10% on 1e6 TreeShap rows)")
    costs = dask_costs()
    print("Dask costs (2 worker processes): " + ", ".join(f"{k} {v:.3g}" for k, v in costs.items()))
    if args.simulate:
        sim = simulated_cluster(args.simulate)
        print(f"simulated cluster of {args.simulate} worker threads: " + ", ".join(f"{k} {v:.3g}" for k, v in sim.items()))


if __name__ == "__main__":
    main()
