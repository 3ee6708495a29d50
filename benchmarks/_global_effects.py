"""Partial dependence and Friedman's H: xaikit next to sklearn.inspection.partial_dependence.

The case: a scikit-learn ``HistGradientBoostingRegressor`` (100 iterations, ``random_state=0``)
fitted on 5,000 rows of 10 standard normal features (``y = x0 x1 + sin(x2) + x3 + ... + x9`` plus
noise); the partial dependence of each of the 10 features on those 5,000 rows with a 50-point grid
(``--quick``: 1,000 rows, 30 iterations).

Timed, each the best of ``--runs`` (default 1) after a garbage collection, with xaikit's ICE cache
emptied before every xaikit run (so no run reuses another's model calls):

* scikit-learn: ``partial_dependence(model, X, [j], method="brute", grid_resolution=50)`` for each
  feature (one model call of 5,000 rows per grid value);
* xaikit, serial: ``PartialDependence(model, grid_resolution=50, method="brute")`` (the model is a
  tree ensemble xaikit reads, so each row is routed once per tree with the feature left open:
  exact brute-force values without the 5,000 x 50 predictions per feature), then on 2 worker
  processes (``executor="processes:2"``);
* xaikit calling the model (``lambda X: model.predict(X)``, which hides the trees): the stacked,
  batched model calls alone;
* ``h_statistic`` on all 45 pairs of the 10 features, ``n_max=200`` rows (``--quick``: 100),
  serial: every partial dependence at the data points (10 x 200^2 rows for the features, routed
  through the trees; 45 x 200^2 model rows for the pairs).

Printed: seconds, the ratio scikit-learn / xaikit (above 1: xaikit faster) and the largest
difference between the two libraries' values. The bar, printed, not asserted: partial dependence
at least 5 times faster than scikit-learn's brute path.

Run:  python benchmarks/_global_effects.py [--quick] [--runs 3]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402


def _best(call: Callable[[], Any], runs: int, before: Callable[[], None] | None = None) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(runs):
        if before is not None:
            before()
        gc.collect()
        start = time.perf_counter()
        out = call()
        best = min(best, time.perf_counter() - start)
    return best, out


def run(quick: bool, runs: int = 1) -> list[dict[str, Any]]:
    """Time both libraries; one dict per line of the table (task, xaikit s, sklearn s, ratio, max diff)."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.inspection import partial_dependence

    from xaikit.explainers.global_.h_statistic import h_statistic
    from xaikit.explainers.global_.partial_dependence import PartialDependence, clear_ice_cache

    n, iters, n_max = (1_000, 30, 100) if quick else (5_000, 100, 200)
    d, grid = 10, 50
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    y = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + X[:, 3:].sum(axis=1) + 0.1 * rng.normal(size=n)
    model = HistGradientBoostingRegressor(max_iter=iters, random_state=0).fit(X, y)

    # warm-ups: compile the kernels, start the worker pool
    for executor in ("processes:2", "processes:2", "serial"):  # every worker compiles (or loads) the kernels once
        clear_ice_cache()
        PartialDependence(model, grid_resolution=5, method="brute").explain(X[:50], executor=executor)
    clear_ice_cache()

    def sklearn_pd() -> Any:
        return np.stack([partial_dependence(model, X, [j], method="brute", grid_resolution=grid)["average"][0] for j in range(d)])

    t_sk, ref = _best(sklearn_pd, runs)
    rows: list[dict[str, Any]] = []
    for label, maker, executor in (
        ("partial dependence, serial", lambda: PartialDependence(model, grid_resolution=grid, method="brute"), "serial"),
        ("partial dependence, 2 processes", lambda: PartialDependence(model, grid_resolution=grid, method="brute"), "processes:2"),
        ("partial dependence, model calls", lambda: PartialDependence(lambda A: model.predict(A), grid_resolution=grid), "serial"),
    ):
        t_xk, eff = _best(lambda maker=maker, executor=executor: maker().explain(X, executor=executor), runs, clear_ice_cache)
        diff = float(np.abs(eff.average[:, :, 0] - ref).max())
        rows.append({"task": f"{label} ({d} features x {grid} points, {n} rows)", "xaikit_s": t_xk, "sklearn_s": t_sk,
                     "ratio": t_sk / t_xk, "max_abs_diff": diff})
    t_h, h = _best(lambda: h_statistic(model, X, n_max=n_max, random_state=0, executor="serial"), runs, clear_ice_cache)
    rows.append({"task": f"H-statistic, all {len(h['pairs'])} pairs of {d} features, {n_max} rows", "xaikit_s": t_h,
                 "sklearn_s": float("nan"), "ratio": float("nan"), "max_abs_diff": float("nan")})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller case (seconds)")
    parser.add_argument("--runs", type=int, default=1, help="best of this many runs")
    args = parser.parse_args()
    rows = run(args.quick, args.runs)
    print(f"{'task':<72} {'xaikit s':>9} {'sklearn s':>10} {'ratio':>7} {'max diff':>9}")
    for r in rows:
        print(f"{r['task']:<72} {r['xaikit_s']:>9.3f} {r['sklearn_s']:>10.3f} {r['ratio']:>7.2f} {r['max_abs_diff']:>9.2g}")
    pd_serial = rows[0]["ratio"]
    print(f"bar: partial dependence at least 5x faster than scikit-learn's brute path: {pd_serial:.1f}x "
          f"({'met' if pd_serial >= 5 else 'NOT met'})")


if __name__ == "__main__":
    main()
