"""Peak memory of exact TreeSHAP: xaikit.TreeShap against shap.TreeExplainer, side by side.

Models (trained on 10,000 rows of 30 synthetic features, so training stays short):

- ``xgboost``: XGBoost regressor, 150 trees of depth 6;
- ``forest``: scikit-learn RandomForestRegressor, 100 trees, max_depth 6 (a library that compares
  in float32).

Each model is explained on ``--rows`` rows (400,000 by default) x 30 features, float64, with
path-dependent values (no background) and interventional values (``--background`` rows,
``--interventional-rows`` explained rows: shap's interventional algorithm costs rows x background
x leaves). Each measurement runs in a fresh Python process, one after the other (never two at once):
the model and the data are built and a 50-row warm-up call is made (imports, compiled code), then
the peak is reset and the call measured.

What is measured: the resident set size (RSS) the call adds at its highest point, read from
``/proc/self/status``: ``VmHWM`` (the high-water mark, reset before the call by writing 5 to
``/proc/self/clear_refs``) minus ``VmRSS`` just before the call. It counts every allocation
(numpy, numba and shap's C++), not only Python's. Where the high-water mark cannot be reset, the
script says so and falls back to ``ru_maxrss`` after minus before, which under-counts when setup
went higher than the call. The values alone of ``n x 30 x 1`` float64 take ``n * 240`` bytes
(96 MB at 400,000 rows): the floor for any method that returns them.

xaikit runs with ``executor="serial"`` (one process: its memory is all in the measured process;
shap's C++ is single-threaded too); ``--executor`` changes it.

Run: ``python benchmarks/tree_shap_memory.py`` (``--rows 50000`` for a quick run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _proc_memory import reset_peak_rss, status_bytes  # noqa: E402

D = 30
TRAIN_ROWS = 10_000


def make_data(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, D))


def target(X: np.ndarray) -> np.ndarray:
    w = np.random.default_rng(99).normal(size=10)
    return X[:, 0] * X[:, 1] + np.sin(2 * X[:, 2]) + 0.5 * np.abs(X[:, 3]) * X[:, 4] + X[:, 5:15] @ w * 0.3


def build_model(name: str) -> Any:
    X = make_data(TRAIN_ROWS, 0)
    y = target(X)
    if name == "xgboost":
        import xgboost as xgb

        return xgb.XGBRegressor(n_estimators=150, max_depth=6, learning_rate=0.1, n_jobs=1,
                                random_state=0).fit(X, y)
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(n_estimators=100, max_depth=6, n_jobs=1, random_state=0).fit(X, y)


def child(args: argparse.Namespace) -> dict[str, Any]:
    """One measurement in this (fresh) process."""
    model = build_model(args.model)
    interventional = args.algorithm == "interventional"
    n = args.interventional_rows if interventional else args.rows
    X = make_data(n, 1)
    background = make_data(args.background, 2) if interventional else None
    if args.library == "xaikit":
        import xaikit as xk

        explainer = xk.TreeShap(model, background=background)

        def call(rows: np.ndarray) -> Any:
            return explainer.explain(rows, executor=args.executor)
    else:
        import shap

        if interventional:
            explainer = shap.TreeExplainer(model, data=background, feature_perturbation="interventional")
        else:
            explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")

        def call(rows: np.ndarray) -> Any:
            return explainer.shap_values(rows)

    call(X[:50])  # warm-up: imports, compiled code
    before_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    reset = reset_peak_rss()
    rss_before = status_bytes("VmRSS")
    start = time.perf_counter()
    out = call(X)
    seconds = time.perf_counter() - start
    if reset:
        peak = status_bytes("VmHWM") - rss_before
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - max(before_max, rss_before)
    values = out.values if hasattr(out, "values") and not isinstance(out, np.ndarray) else np.asarray(out)
    return {"peak": peak, "held": status_bytes("VmRSS") - rss_before, "seconds": seconds, "reset": reset,
            "shape": list(values.shape), "checksum": float(np.abs(values).sum())}


def run_child(library: str, model: str, algorithm: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", "--library", library, "--model", model, "--algorithm", algorithm,
           "--rows", str(args.rows), "--interventional-rows", str(args.interventional_rows),
           "--background", str(args.background), "--executor", args.executor]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{library} {model} {algorithm} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def mb(x: float) -> str:
    return f"{x / 1e6:8.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000, help="rows explained (path-dependent)")
    parser.add_argument("--interventional-rows", type=int, default=None,
                        help="rows explained with a background (default: --rows)")
    parser.add_argument("--background", type=int, default=20, help="background rows (interventional)")
    parser.add_argument("--models", default="xgboost,forest")
    parser.add_argument("--algorithms", default="path_dependent,interventional")
    parser.add_argument("--executor", default="serial", help="xaikit's executor")
    parser.add_argument("--libraries", default="xaikit,shap", help="measure only these (the other's columns: -)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--library", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--algorithm", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.interventional_rows is None:
        args.interventional_rows = args.rows
    if args.child:
        print(json.dumps(child(args)))
        return
    import shap

    import xaikit

    libraries = set(args.libraries.split(","))
    print(f"# {' '.join(sys.argv)}")
    print(f"# python {platform.python_version()}, numpy {np.__version__}, shap {shap.__version__}, "
          f"xaikit {xaikit.__version__}; {os.cpu_count()} CPUs; xaikit executor={args.executor!r}")
    print("# peak: RSS high-water mark the call adds (MB); held: RSS still added after it (the result);")
    print(f"# values alone: rows x {D} x 1 float64 = rows * 240 bytes")
    print(f"{'model':8} {'algorithm':15} {'rows':>8} {'xaikit MB':>10} {'shap MB':>9} {'ratio':>6} "
          f"{'xk held':>8} {'shap held':>9} {'xaikit s':>9} {'shap s':>8} {'values MB':>10}")
    for model in args.models.split(","):
        for algorithm in args.algorithms.split(","):
            # one after the other, never in parallel
            r = {lib: run_child(lib, model, algorithm, args) if lib in libraries else None
                 for lib in ("xaikit", "shap")}
            n = args.interventional_rows if algorithm == "interventional" else args.rows
            note = "" if all(v["reset"] for v in r.values() if v) else "  (peak not reset: ru_maxrss difference)"

            def col(lib: str, key: str, width: int, r: dict[str, Any] = r) -> str:
                v = r[lib]
                if v is None:
                    return f"{'-':>{width}}"
                return f"{v[key]:{width}.2f}" if key == "seconds" else f"{mb(v[key]):>{width}}"

            xk_r, sh_r = r["xaikit"], r["shap"]
            ratio = f"{xk_r['peak'] / max(sh_r['peak'], 1):6.2f}" if xk_r and sh_r else f"{'-':>6}"
            print(f"{model:8} {algorithm:15} {n:>8} {col('xaikit', 'peak', 10)} {col('shap', 'peak', 9)} {ratio} "
                  f"{col('xaikit', 'held', 8)} {col('shap', 'held', 9)} {col('xaikit', 'seconds', 9)} "
                  f"{col('shap', 'seconds', 8)} {mb(n * D * 8):>10}{note}", flush=True)


if __name__ == "__main__":
    main()
