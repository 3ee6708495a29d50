"""``xaikit demo``: explain a gradient-boosting classifier on bundled real data.

It trains a gradient-boosting classifier on the bundled breast-cancer data, explains 100 test rows
with interventional TreeSHAP (``xaikit.explain`` picks it for the trees: exact Shapley values of the
log-odds of the second class, malignant: the model is fitted on the class names), prints the top features of a few rows and the global ranking,
saves the explanation, and writes its HTML report and its plots (PNG).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from xaikit.cli._common import EXIT_OK, format_table

__all__ = ["register", "run", "run_demo", "write_pictures"]


def register(sub: Any) -> argparse.ArgumentParser:
    """Add the ``demo`` subcommand to ``sub`` (the main parser's subparsers)."""
    demo = sub.add_parser(
        "demo",
        help="explain a gradient-boosting classifier on bundled real data",
        description="Train a gradient-boosting classifier on the bundled breast-cancer data, explain test rows with "
        "TreeSHAP, print the top features and the global ranking, save the result, and write its report and plots.",
    )
    demo.add_argument("--out", default="demo-output", help="folder for the results (default: demo-output)")
    demo.add_argument("--rows", type=int, default=100, help="rows to explain (default: 100)")
    demo.add_argument("--background", type=int, default=100, help="background rows (default: 100)")
    demo.add_argument(
        "--executor", default="auto", help="auto, serial, threads:N or processes:N (default: auto, serial when the job is small)"
    )
    demo.add_argument("--seed", type=int, default=0, help="seed of the split, the model and the background (default: 0)")
    demo.set_defaults(run=run)
    return demo


def run(args: argparse.Namespace) -> int:
    """Run ``xaikit demo`` with parsed arguments."""
    run_demo(args.out, n_rows=args.rows, n_background=args.background, executor=args.executor, seed=args.seed)
    return EXIT_OK


def run_demo(out_dir: str, *, n_rows: int = 100, n_background: int = 100, executor: str = "auto", seed: int = 0) -> str:
    """Run the demo; returns the path of the saved explanation."""
    import numpy as np

    from xaikit._optional import import_optional

    import_optional("sklearn", "sklearn")
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.model_selection import train_test_split

    import xaikit as xk
    from xaikit.datasets import load_breast_cancer

    ds = load_breast_cancer()
    X_train, X_test, y_train, y_test = train_test_split(
        ds.data, ds.target, test_size=0.3, random_state=seed, stratify=ds.target
    )
    names = np.asarray(ds.target_names)  # the model is fitted on class names: they name its outputs
    model = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=seed).fit(X_train, names[y_train])
    print(f"Breast Cancer Wisconsin: {ds.data.shape[0]} rows, {ds.data.shape[1]} features")
    print(f"GradientBoostingClassifier test accuracy: {model.score(X_test, names[y_test]):.3f}")
    rng = np.random.default_rng(seed)
    background = X_train[rng.choice(len(X_train), size=min(n_background, len(X_train)), replace=False)]
    rows = X_test[:n_rows]
    start = time.perf_counter()
    exp: Any = xk.explain(  # an Attribution (the tree route)
        model, rows, background=background, feature_names=ds.feature_names, executor=executor, random_state=seed
    )
    took = time.perf_counter() - start
    if exp.n_outputs > 1:  # one output per class: keep the second class (malignant)
        exp = exp[:, :, exp.n_outputs - 1]
    definition = exp.diagnostics.get("value_definition")
    log_odds = isinstance(definition, dict) and definition.get("output") == "log_odds"
    positive = exp.output_names[0]
    quantity = f"the log-odds of {positive}" if log_odds else f"P({positive})"
    calls = np.asarray(exp.diagnostics.get("n_model_calls", 0))
    gap = np.abs(exp.diagnostics["completeness_gap"]).max()
    std_err = exp.diagnostics.get("std_err")
    if calls.sum() > 0:
        how = f"{int(calls.mean())} coalitions x {len(background)} background rows per row"
        if isinstance(std_err, np.ndarray):
            how += f"; median std. error {np.median(std_err):.1e}"
    else:
        how = f"read from the trees, over {len(background)} background rows, no model calls"
    print(
        f"\nExplained {quantity} for {len(rows)} test rows with {exp.method} in {took:.1f} s "
        f"({how}; max |completeness gap| {gap:.1e})"
    )
    for i in range(min(3, len(rows))):
        row = exp[i]
        order = np.argsort(-np.abs(row.values[0, :, 0]))[:5]
        base = float(row.base_values[0, 0])
        total = base + float(row.values[0, :, 0].sum())
        if log_odds:
            said = f"log-odds {total:+.3f} (base {base:+.3f}), P({positive}) = {1.0 / (1.0 + np.exp(-total)):.3f}"
        else:
            said = f"P({positive}) = {total:.3f} (base {base:.3f})"
        print(f"\nRow {i}: {said}, true: {ds.target_names[y_test[i]]}")
        row_err = row.diagnostics.get("std_err")
        table = [
            (row.feature_names[j], f"{row.data[0, j]:.4g}", f"{row.values[0, j, 0]:+.4f}")
            + ((f"{row_err[0, j, 0]:.1e}",) if isinstance(row_err, np.ndarray) else ())
            for j in order
        ]
        header = ["feature", "value", "shapley"] + (["std_err"] if isinstance(row_err, np.ndarray) else [])
        print(format_table(table, header))
    ranking = exp.ranking()
    print("\nGlobal importance: mean |Shapley value| over the explained rows")
    print(format_table([(name, f"{v:.4f}") for name, v in ranking[:15]], ["feature", "mean |value|"]))
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "breast_cancer_gbm.xai")
    exp.save(path)
    again: Any = xk.Explanation.load(path)
    same = np.array_equal(again.values, exp.values)
    with open(os.path.join(out_dir, "ranking.csv.tmp"), "w", encoding="utf-8") as fh:
        fh.write("feature,mean_abs_value\n")
        fh.writelines(f"{name},{v:.10g}\n" for name, v in ranking)
    os.replace(os.path.join(out_dir, "ranking.csv.tmp"), os.path.join(out_dir, "ranking.csv"))
    print(f"\nSaved {path} (reloaded identical: {same}) and {os.path.join(out_dir, 'ranking.csv')}")
    report = xk.Report("Breast cancer: a gradient-boosting classifier, explained").add(
        exp, name=f"TreeSHAP: {quantity}", model=model,
        data_summary=f"Breast Cancer Wisconsin (Diagnostic), {ds.data.shape[0]} rows, {ds.data.shape[1]} features "
        f"(CC BY 4.0); {len(rows)} test rows explained over {len(background)} training rows as background",
    ).to_html(os.path.join(out_dir, "report.html"), include_data=True)
    pictures = write_pictures(exp, out_dir)
    print(f"Report: {report}")
    print("Plots: " + ", ".join(pictures))
    return path


def write_pictures(exp: Any, out_dir: str) -> list[str]:
    """The demo's plots as PNG files in ``out_dir`` (each written to a temporary name, then renamed):
    global importance, the beeswarm, the first row's waterfall and the dependence of the top feature."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no window, whatever the environment
    import matplotlib.pyplot as plt

    top = exp.ranking()[0][0]
    drawings = {
        "importance.png": exp.plot("bar"),
        "beeswarm.png": exp.plot("beeswarm"),
        "waterfall_row0.png": exp.plot("waterfall", row=0),
        f"dependence_{top}.png".replace(" ", "_"): exp.plot("scatter", feature=top),
    }
    paths = []
    for name, display in drawings.items():
        path = os.path.join(out_dir, name)
        with open(path + ".tmp", "wb") as fh:
            display.figure_.savefig(fh, format="png", dpi=120, bbox_inches="tight")
        os.replace(path + ".tmp", path)
        plt.close(display.figure_)
        paths.append(path)
    return paths
