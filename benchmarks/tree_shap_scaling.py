"""How much 2 workers speed up xaikit's path-dependent TreeSHAP, timed alone in a fresh process.

Case (a) of ``tree_shap.py`` (XGBoost regressor, 500 trees of depth 6, 10,000 x 50 training rows,
1,000 explained rows), five alternated runs of each: single-threaded, ``executor="threads:2"``, and a
started ``LocalExecutor(2)``. Prints every timing, the best and the median ratios.

Run: ``python benchmarks/tree_shap_scaling.py``
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

import xaikit as xk

sys.path.insert(0, os.path.dirname(__file__))
from tree_shap import make_data


def main(repeats: int = 5) -> None:
    import xgboost as xgb

    X, y = make_data(10_000, 50)
    model = xgb.XGBRegressor(n_estimators=500, max_depth=6, n_jobs=2, random_state=0).fit(X, y)
    rows = make_data(1100, 50, seed=1)[0][:1000]
    explainer = xk.TreeShap(model)
    with xk.LocalExecutor(2) as pool:
        for ex in (None, "threads:2", pool):  # compiled kernels loaded in every worker
            explainer.explain(rows[:64], executor=ex)
        times: dict[str, list[float]] = {"single": [], "threads:2": [], "processes:2": []}
        for _ in range(repeats):
            for name, ex in (("single", None), ("threads:2", "threads:2"), ("processes:2", pool)):
                start = time.perf_counter()
                explainer.explain(rows, executor=ex)
                times[name].append(time.perf_counter() - start)
    for name, values in times.items():
        print(f"{name:<12} " + " ".join(f"{v:.2f}" for v in values))
    for stat in (min, np.median):
        s = stat(times["single"])
        print(f"{stat.__name__:<6}: single {s:.2f} s, 2 threads {stat(times['threads:2']):.2f} s "
              f"({s / stat(times['threads:2']):.2f}x), 2 processes {stat(times['processes:2']):.2f} s "
              f"({s / stat(times['processes:2']):.2f}x)")


if __name__ == "__main__":
    main()
