"""ALE against alibi's ALE (``alibi.explainers.ALE``) on the same numeric features and bins of one model.

alibi is not a dependency of xaikit. When it is importable the comparison runs; else the script
prints ``alibi not installed: skipped``. Only ``alibi.explainers.ale`` is loaded (its package
``__init__`` pulls in spaCy and transformers, which ALE does not use); it needs ``attrs`` and
``dill`` besides numpy and pandas, and its ``get_quantiles`` is given numpy's ``method=`` in place of
the ``interpolation=`` that numpy 2.4 no longer takes (the only change). One way, leaving every environment of the project as it is::

    pip install --no-deps --target /tmp/alibi_pkgs alibi==0.9.6 attrs dill
    PYTHONPATH=/tmp/alibi_pkgs python benchmarks/_global_ale.py [--quick]

Both get the same grid (xaikit's quantile edges, passed to alibi as ``grid_points``). The curves
are compared after removing each one's mean over the grid: alibi centres with the mean of each
bin's two ends (R's ALEPlot), xaikit with the paper's upper ends, a constant apart. Times are the
best of 3 (serial, no bootstrap for the comparison; the default 100 resamples timed apart).
"""

from __future__ import annotations

import gc
import importlib
import sys
import time
import types
from pathlib import Path
from typing import Any

import numpy as np


def _alibi_ale() -> Any:
    """alibi's ALE class, loading only its ALE module; None when alibi is not installed."""
    try:
        spec = importlib.util.find_spec("alibi")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0])
    for name, folder in (("alibi", root), ("alibi.explainers", root / "explainers")):
        if name not in sys.modules:
            stub = types.ModuleType(name)
            stub.__path__ = [str(folder)]
            sys.modules[name] = stub
    try:
        module = importlib.import_module("alibi.explainers.ale")
    except ImportError as exc:
        print(f"alibi not installed: skipped ({exc})")
        return None

    def get_quantiles(values: np.ndarray, num_quantiles: int = 11, interpolation: str = "linear") -> np.ndarray:
        # alibi 0.9.6 passes numpy's `interpolation=`, which numpy 2.4 no longer takes (renamed `method=`)
        return np.percentile(values, np.linspace(0, 100, num=num_quantiles), axis=0, method=interpolation)

    module.get_quantiles = get_quantiles
    return module.ALE


def _best(fn: Any, repeat: int = 3) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Time and compare xaikit's ALE and alibi's on a random forest; one dict per measure."""
    from sklearn.ensemble import RandomForestRegressor

    from xaikit.explainers.global_.ale import Ale

    ALE = _alibi_ale()
    if ALE is None:
        print("alibi not installed: skipped")
        return []
    n, d, bins = (2_000, 5, 20) if quick else (10_000, 10, 20)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    X[:, 1] = X[:, 0] + 0.3 * rng.normal(size=n)  # correlated, where ALE matters
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + X[:, 3] ** 2 + 0.1 * rng.normal(size=n)
    model = RandomForestRegressor(n_estimators=30, max_depth=8, n_jobs=1, random_state=0).fit(X, y)
    features = list(range(d))

    explainer = Ale(model, features=features, bins=bins, n_bootstrap=0)
    t_ours, ours = _best(lambda: explainer.explain(X, executor="serial"))
    t_boot, _ = _best(lambda: Ale(model, features=features, bins=bins).explain(X, executor="serial", random_state=0), repeat=1)
    t_two, _ = _best(lambda: explainer.explain(X, executor="processes:2"))
    grids = {j: ours.term(j)["grid_values"][0] for j in features}
    theirs_explainer = ALE(lambda Z: model.predict(Z), feature_names=[f"x{j}" for j in features], target_names=["y"])
    t_alibi, theirs = _best(lambda: theirs_explainer.explain(X, features=features, grid_points=grids))

    worst, grid_ok = 0.0, True
    for j in features:
        a = ours.term(j)["average"][:, 0]
        b = np.asarray(theirs.ale_values[j]).reshape(-1)
        grid_ok &= np.array_equal(np.asarray(theirs.feature_values[j]), grids[j])
        if a.shape == b.shape:
            worst = max(worst, float(np.abs((a - a.mean()) - (b - b.mean())).max()))
        else:
            grid_ok = False
    scale = float(np.ptp(ours.average[np.isfinite(ours.average)]))
    rows = [
        {"measure": "ALE values vs alibi (max |diff| after removing means)", "rows": n, "features": d,
         "value": worst, "relative_to_range": worst / scale if scale else worst, "same_grid": bool(grid_ok)},
        {"measure": "ALE time, serial (s)", "rows": n, "features": d, "xaikit": t_ours, "alibi": t_alibi,
         "ratio_alibi_over_xaikit": t_alibi / t_ours},
        {"measure": "ALE time, processes:2 (s)", "rows": n, "features": d, "xaikit": t_two, "ratio_serial_over_2": t_ours / t_two},
        {"measure": "ALE time with 100 bootstrap resamples, serial (s)", "rows": n, "features": d, "xaikit": t_boot},
    ]
    return rows


def main() -> None:
    for row in run(quick="--quick" in sys.argv):
        print(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
