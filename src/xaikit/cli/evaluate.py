"""``xaikit evaluate MODEL DATA --explanations a.xai,b.xai --metrics deletion,sparseness --out quality.xai``.

Scores saved explanations of the rows of DATA with quality metrics (:func:`xaikit.metrics.evaluate.evaluate`)
and saves the :class:`~xaikit.results.quality.QualityReport` (atomically). The model and the rows are read
as ``xaikit explain`` reads them (the model's own columns by name when it knows them, else every column
of DATA); every explanation must be of those rows, in that order (``--rows A:B`` as when they were made).
The methods are named after the files (``--names`` gives other names). The robustness metrics re-run an
explainer, which a saved file does not hold: they are refused by name here (use ``xk.evaluate`` with
``explainers=``). The table, the ranking and what raw rows each explanation carries are printed.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from xaikit.cli._common import EXIT_OK, BadInput, Progress, check_out, format_table, load_model_file, load_result, parse_target, read_table

__all__ = ["register", "run"]


def register(sub: Any) -> argparse.ArgumentParser:
    """Add the ``evaluate`` subcommand to ``sub`` (the main parser's subparsers)."""
    p = sub.add_parser(
        "evaluate",
        help="score saved explanations with quality metrics (faithfulness, complexity) and compare the methods",
        description="Score the saved explanations (.xai) of the rows of DATA with quality metrics, beside their noise "
        "floors, rank the methods and measure their disagreement; save the QualityReport (.xai).",
        epilog="Example: xaikit evaluate model.skops rows.csv --explanations kernel.xai,lime.xai --metrics deletion,sparseness "
        "--out quality.xai",
    )
    p.add_argument("model", metavar="MODEL", help="the model file (as for xaikit explain)")
    p.add_argument("data", metavar="DATA", help="the explained rows: a CSV or Parquet file with a header row")
    p.add_argument("--explanations", required=True, metavar="A.xai,B.xai", help="the saved explanations, comma-separated (at least one)")
    p.add_argument("--names", metavar="A,B", help="the methods' names, one per explanation (default: the file names)")
    p.add_argument("--metrics", default="deletion,insertion,sparseness", metavar="M,N",
                   help="metric names, comma-separated (default: deletion,insertion,sparseness)")
    p.add_argument("--out", required=True, metavar="PATH", help="where to save the QualityReport (.xai); its folder must exist")
    p.add_argument("--target", metavar="T", help="the output scored, by position or name (default: the single or predicted one)")
    p.add_argument("--n-random", type=int, default=10, metavar="N", help="random attributions per row for the noise floor (default: 10)")
    p.add_argument("--k", type=int, default=5, metavar="K", help="top features compared between methods (default: 5)")
    p.add_argument("--batch-size", type=int, metavar="N", help="rows per model call")
    p.add_argument("--random-state", type=int, metavar="S", help="seed of the metrics")
    p.add_argument("--rows", metavar="A:B", help="the rows of DATA the explanations are of (Python slice, e.g. 0:100)")
    p.add_argument("--trust-pickle", action="store_true", help="load pickles and other files that run code (as for xaikit explain)")
    p.set_defaults(run=run)
    return p


def _split(text: str, option: str) -> list[str]:
    items = [t.strip() for t in text.split(",")]
    if not items or any(not t for t in items):
        raise BadInput(f"{option}: expected comma-separated names without empty items, got {text!r}")
    return items


def _method_names(paths: list[str], names: str | None) -> list[str]:
    if names is not None:
        out = _split(names, "--names")
        if len(out) != len(paths):
            raise BadInput(f"--names: expected one name per explanation ({len(paths)}), got {len(out)}")
    else:
        out = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    if len(set(out)) != len(out):
        raise BadInput(f"--names: expected distinct method names, got {out} (give --names)")
    return out


def _rows(frame: Any, model: Any, explanations: dict[str, Any], args: argparse.Namespace) -> Any:
    """The explained rows of DATA: the model's columns when it knows them, else the explanations' features, else all."""
    from xaikit.cli.explain import _as_array, _columns, parse_rows
    from xaikit.models.files import feature_names_of

    names = feature_names_of(model)
    if names is None:
        first = next(iter(explanations.values()))
        features = getattr(first, "feature_names", None)
        if features and all(f in frame.columns for f in features):
            names = list(features)
    data = _columns(frame, names, "DATA", args.data).iloc[parse_rows(args.rows, len(frame))]
    return data if hasattr(model, "feature_names_in_") else _as_array(data, "DATA")


def run(args: argparse.Namespace) -> int:
    """Run ``xaikit evaluate`` with parsed arguments."""
    from xaikit.metrics.evaluate import evaluate

    check_out(args.out)
    paths = _split(args.explanations, "--explanations")
    names = _method_names(paths, args.names)
    metrics = [m.replace("-", "_") for m in _split(args.metrics, "--metrics")]
    for path in paths:
        if not os.path.isfile(path):
            raise BadInput(f"--explanations: {path!r} does not exist or is not a file")
    explanations = {name: load_result(path) for name, path in zip(names, paths)}
    model = load_model_file(args.model, trust_pickle=args.trust_pickle)
    X = _rows(read_table(args.data, "DATA"), model, explanations, args)
    for name, exp in explanations.items():
        if len(exp) != len(X):
            raise BadInput(f"--explanations: {name!r} explains {len(exp)} rows, DATA gives {len(X)} (use --rows as when it was made)")
    with Progress(f"evaluating {len(names)} explanation(s) with {len(metrics)} metric(s)", quiet=getattr(args, "quiet", False)):
        q = evaluate(model, X, explanations, metrics=metrics, target=parse_target(args.target), n_random=args.n_random, k=args.k,
                     batch_size=args.batch_size, random_state=args.random_state)
    q.save(args.out)
    table = q.table
    rows = [
        (r["metric"], r["method"], f"{r['mean']:.4g}", f"{r['lower']:.4g} to {r['upper']:.4g}", f"{r['floor']:.4g}",
         f"{r['above_floor']:+.4g}" + (" *" if r["above_floor_significant"] else ""), f"{r['rank']:g}")
        for _, r in table.iterrows()
    ]
    print(format_table(rows, ["metric", "method", "mean", f"{q.level:.0%} interval", "floor", "above floor", "rank"], left=2))
    ranking = q.ranking()
    print("overall: " + ", ".join(f"{i + 1}. {name}" for i, name in enumerate(ranking.index)))
    if q.n_pairs:
        dis = q.disagreement_table()
        print("disagreement: " + "; ".join(
            f"{r['pair']}: rank correlation {r['rank_correlation']:.3g}, top-{q.params['k']} overlap {r['top_k_overlap']:.3g}"
            for _, r in dis.iterrows()))
    for name, note in zip(q.method_names, q.privacy):
        if note:
            print(f"privacy: {name} {note}")
    print(f"saved {args.out}")
    return EXIT_OK
