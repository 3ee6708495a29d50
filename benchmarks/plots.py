"""Displays: xaikit.plots against shap.plots on the same values, draw + save as PNG, in one run.

Both libraries draw the same attributions: ``--features`` 20 columns of seeded normal data ``X``
and values ``X * w + 0.3 * X[:, 0:1] * X`` (so that the scatter has an interaction to colour by),
base value 0. For each size in ``--sizes`` (rows; default 10,000, 100,000 and 500,000):

* **beeswarm**: ``BeeswarmDisplay.from_explanation(exp)`` (above 50,000 rows xaikit draws its
  density mode) against ``shap.plots.beeswarm(explanation, show=False)``;
* **bar**: global mean |value|, ``BarDisplay`` against ``shap.plots.bar``;
* **scatter**: feature 0 coloured by its strongest interaction, ``ScatterDisplay(colour_by="auto")``
  against ``shap.plots.scatter(explanation[:, 0], color=explanation)``;

and once, **waterfall** of row 0 (``WaterfallDisplay`` against ``shap.plots.waterfall``).

Each timing is end to end: building the library's explanation object from the arrays, drawing,
and ``savefig`` to an in-memory PNG at 100 dpi with the Agg backend, then closing the figure; the
best of ``--repeats`` runs (default 3; one run for beeswarms of 100,000 rows or more, as shap's of
500,000 rows takes from half a minute to a minute), after a garbage collection. The
table prints seconds for each and the ratio shap / xaikit (above 1: xaikit is faster).

    python benchmarks/plots.py                       # 10k, 100k, 500k rows
    python benchmarks/plots.py --sizes 2000 20000    # a quick run
"""

from __future__ import annotations

import argparse
import gc
import io
import time
import warnings
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def make_values(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = np.linspace(2.0, 0.1, d)
    values = X * w + 0.3 * X[:, :1] * X
    return X, values


def save_png() -> None:
    buf = io.BytesIO()
    plt.gcf().savefig(buf, format="png", dpi=100)
    plt.close("all")


def timed(fn: Callable[[], None], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        plt.close("all")
        gc.collect()
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def xaikit_calls(X: np.ndarray, values: np.ndarray) -> dict[str, Callable[[], None]]:
    import xaikit as xk

    names = [f"f{i}" for i in range(X.shape[1])]

    def exp() -> xk.Attribution:
        return xk.Attribution(values=values[:, :, None], base_values=np.zeros((len(X), 1)), data=X, feature_names=names, method="bench")

    def run(kind: str, **kw: object) -> Callable[[], None]:
        def go() -> None:
            disp = exp().plot(kind, **kw)
            buf = io.BytesIO()
            disp.figure_.savefig(buf, format="png", dpi=100)
            plt.close(disp.figure_)

        return go

    return {
        "beeswarm": run("beeswarm"),
        "bar": run("bar"),
        "scatter": run("scatter", feature=0, colour_by="auto"),
        "waterfall": run("waterfall", row=0),
    }


def shap_calls(X: np.ndarray, values: np.ndarray) -> dict[str, Callable[[], None]]:
    import shap

    names = [f"f{i}" for i in range(X.shape[1])]

    def exp() -> shap.Explanation:
        return shap.Explanation(values=values, base_values=np.zeros(len(X)), data=X, feature_names=names)

    def beeswarm() -> None:
        shap.plots.beeswarm(exp(), show=False)
        save_png()

    def bar() -> None:
        shap.plots.bar(exp(), show=False)
        save_png()

    def scatter() -> None:
        e = exp()
        shap.plots.scatter(e[:, 0], color=e, show=False)
        save_png()

    def waterfall() -> None:
        shap.plots.waterfall(exp()[0], show=False)
        save_png()

    return {"beeswarm": beeswarm, "bar": bar, "scatter": scatter, "waterfall": waterfall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 500_000], help="rows to draw")
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="best of; beeswarms of 100,000 rows or more run once")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    # warm up both libraries (imports, font cache) on a small case
    X, v = make_values(200, args.features)
    for calls in (xaikit_calls(X, v), shap_calls(X, v)):
        for fn in calls.values():
            fn()
    rows: list[tuple[str, int, float, float]] = []
    for n in args.sizes:
        X, v = make_values(n, args.features)
        ours, theirs = xaikit_calls(X, v), shap_calls(X, v)
        plots = ["beeswarm", "bar", "scatter"] + (["waterfall"] if n == max(args.sizes) else [])
        for name in plots:
            repeats = 1 if name == "beeswarm" and n >= 100_000 else args.repeats
            t_x = timed(ours[name], repeats)
            t_s = timed(theirs[name], repeats)
            rows.append((name, n, t_x, t_s))
            print(f"  {name:<10} {n:>9,} rows: xaikit {t_x:8.3f} s   shap {t_s:8.3f} s", flush=True)
    print()
    print(f"{'plot':<10} {'rows':>9}  {'xaikit s':>9}  {'shap s':>9}  {'shap/xaikit':>11}")
    for name, n, t_x, t_s in rows:
        print(f"{name:<10} {n:>9,}  {t_x:9.3f}  {t_s:9.3f}  {t_s / t_x:10.1f}x")


if __name__ == "__main__":
    main()
