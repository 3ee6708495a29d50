"""Permutation importance: xaikit.PermutationImportance next to sklearn.inspection.permutation_importance.

The case: a scikit-learn ``RandomForestClassifier`` (100 trees, ``max_depth=12``, ``n_jobs=1``,
``random_state=0``) fitted on a synthetic ``make_classification`` table (10 informative features of
50), and the permutation importance of its accuracy on 10,000 other rows of the same table, 5
repeats, ``random_state=0`` (``--quick``: 2,000 rows x 20 features, 20 trees). Both libraries score
the estimator with scikit-learn's accuracy scorer, so they make the same model calls
(1 + 50 x 5 predictions of 10,000 rows).

Timed: each library serial, then on 2 workers (xaikit ``executor="processes:2"``, scikit-learn
``n_jobs=2``; both on loky processes, each started once before timing; scikit-learn's first, as
joblib cannot use loky's reusable pool once xaikit has started it); the best of ``--runs``
(default 1) after a garbage collection. Every process runs one native thread (``OMP_NUM_THREADS=1``).
Printed: the seconds of each and the ratio scikit-learn / xaikit (above 1: xaikit faster), and
xaikit's speed-up from 1 to 2 workers. The bar, printed, not asserted: never slower than
scikit-learn, 2 workers at least 1.6 times faster than 1.

Run:  python benchmarks/_global_importance.py [--quick] [--runs 3]
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


def _best(call: Callable[[], Any], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def run(quick: bool, runs: int = 1) -> list[dict[str, Any]]:
    """Time both libraries; one dict per line of the table (task, xaikit s, sklearn s, ratio)."""
    import numpy as np
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.inspection import permutation_importance

    from xaikit.explainers.global_.permutation_importance import PermutationImportance

    n, d, trees = (2_000, 20, 20) if quick else (10_000, 50, 100)
    X, y = make_classification(n_samples=2 * n, n_features=d, n_informative=10, random_state=0)
    X_fit, y_fit, X, y = X[:n], y[:n], X[n:], y[n:]
    model = RandomForestClassifier(n_estimators=trees, max_depth=12, n_jobs=1, random_state=0).fit(X_fit, y_fit)
    repeats = 5

    def ours(executor: str) -> Any:
        return PermutationImportance(model, n_repeats=repeats).explain(X, y, executor=executor, random_state=0)

    def theirs(n_jobs: int | None) -> Any:
        return permutation_importance(model, X, y, n_repeats=repeats, n_jobs=n_jobs, random_state=0)

    a, b = ours("serial"), theirs(None)
    se = np.sqrt(a.std()[:, 0] ** 2 / repeats + b.importances.std(axis=1, ddof=1) ** 2 / repeats)
    within = float(np.mean(np.abs(a.mean()[:, 0] - b.importances_mean) <= 3 * se + 1e-12))
    xs, ss = _best(lambda: ours("serial"), runs), _best(lambda: theirs(None), runs)
    # scikit-learn's pool first: once xaikit's loky pool exists, joblib's Parallel(n_jobs=2) in the same
    # process fails (both take loky's one reusable executor; joblib expects its own subclass of it)
    permutation_importance(model, X[:50], y[:50], n_repeats=1, n_jobs=2, random_state=0)  # start the pool
    sp = _best(lambda: theirs(2), runs)
    PermutationImportance(model, n_repeats=1).explain(X[:50], y[:50], executor="processes:2", random_state=0)
    xp = _best(lambda: ours("processes:2"), runs)
    shape = f"{n:,} x {d}, {trees} trees, {repeats} repeats"
    return [
        {"task": f"serial ({shape})", "xaikit s": xs, "sklearn s": ss, "ratio": ss / xs},
        {"task": "2 workers (processes:2 / n_jobs=2)", "xaikit s": xp, "sklearn s": sp, "ratio": sp / xp},
        {"task": "speed-up 2 workers / 1", "xaikit s": xs / xp, "sklearn s": ss / sp, "ratio": None},
        {"task": "features whose means agree within 3 SE", "xaikit s": within, "sklearn s": None, "ratio": None},
    ]


def _cell(value: Any) -> str:
    return "" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 rows x 20 features, 20 trees")
    parser.add_argument("--runs", type=int, default=1, help="timed runs of each cell (the best is kept)")
    args = parser.parse_args()
    rows = run(args.quick, args.runs)
    print(f"{'task':<48} {'xaikit s':>10} {'sklearn s':>10} {'ratio':>8}")
    for row in rows:
        print(f"{row['task']:<48} {_cell(row['xaikit s']):>10} {_cell(row['sklearn s']):>10} {_cell(row['ratio']):>8}")
    print("ratio: scikit-learn / xaikit (above 1: xaikit faster). Bar: ratio >= 1; xaikit speed-up 2 workers / 1 >= 1.6.")


if __name__ == "__main__":
    main()
