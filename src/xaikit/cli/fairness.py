"""``xaikit fairness MODEL DATA --labels COLUMN --groups race,sex --out fairness.xai``: group fairness of a classifier.

The model (read as ``xaikit explain`` reads it) decides on the rows of DATA; its decisions are compared
with the labels of ``--labels COLUMN`` across the groups of ``--groups`` (several columns: their
intersections) by :class:`xaikit.fairness.FairnessReport`, with bootstrap intervals (``--n-boot``,
0 for none). The model reads the columns it was fitted on when it knows them (the group columns too,
if they are among them); a model that does not know its columns reads every column but the labels
and the groups. The decision is the most probable class; with two classes, the probability of the
positive class (``--pos-label``, default 1) is the score of the calibration by group. The result
(:class:`~xaikit.results.fairness.GroupFairness`: per-group sums, no row of the data) is saved atomically.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from xaikit.cli._common import EXIT_OK, BadInput, Progress, check_out, format_table, load_model_file, read_table

__all__ = ["predict_labels", "register", "run"]


def register(sub: Any) -> argparse.ArgumentParser:
    """Add the ``fairness`` subcommand to ``sub`` (the main parser's subparsers)."""
    p = sub.add_parser(
        "fairness",
        help="compare a classifier's decisions across groups (demographic parity, equalized odds...)",
        description="Compare the decisions of MODEL on the rows of DATA with the labels across groups: per-group rates, "
        "gaps and ratios with bootstrap intervals; save the result (.xai). MODEL: as for 'xaikit explain'. DATA: CSV or "
        "Parquet with a header row, holding the labels and the group columns.",
        epilog="Example: xaikit fairness model.skops adult.csv --labels income --groups race,sex --pos-label '>50K' --out fairness.xai",
    )
    p.add_argument("model", metavar="MODEL", help="the model file (a classifier)")
    p.add_argument("data", metavar="DATA", help="rows: a CSV or Parquet file with a header row")
    p.add_argument("--labels", required=True, metavar="COLUMN", help="the column of DATA holding the true labels")
    p.add_argument("--groups", required=True, metavar="A,B,...", help="the sensitive columns of DATA; several: their intersections")
    p.add_argument("--out", required=True, metavar="PATH", help="where to save the result (.xai); its folder must exist")
    p.add_argument("--pos-label", metavar="L", help="the positive label (default: 1)")
    p.add_argument("--n-boot", type=int, default=1000, metavar="N", help="bootstrap resamples of the intervals; 0 for none (default: 1000)")
    p.add_argument("--level", type=float, default=0.95, metavar="P", help="coverage of the intervals (default: 0.95)")
    p.add_argument("--no-stratify", action="store_true",
                   help="resample all rows at once rather than within each group (a resample may then miss a small group)")
    p.add_argument("--random-state", type=int, default=0, metavar="S", help="seed of the bootstrap (default: 0)")
    p.add_argument("--bins", type=int, default=10, metavar="N", help="score bins of the calibration by group (default: 10)")
    p.add_argument("--trust-pickle", action="store_true",
                   help="load pickles, skops types skops does not trust and Keras lambdas: runs code from the file")
    p.set_defaults(run=run)
    return p


def _names(text: str, option: str) -> list[str]:
    items = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in items):
        raise BadInput(f"{option}: expected column names separated by commas (e.g. race,sex), got {text!r}")
    return items


def _label_text(values: Any) -> Any:
    """Labels as str, integral numbers without a decimal point (so that 1.0 and the class '1' agree)."""
    import numpy as np

    arr = np.asarray(values)
    if arr.dtype.kind == "f" and np.isfinite(arr).all() and (arr == np.round(arr)).all():
        arr = arr.astype(np.int64)
    if arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    return arr.astype(str).astype(object)


def predict_labels(model: Any, X: Any, pos_label: str, negative: str) -> tuple[Any, Any]:
    """``(decisions as str, score of the positive label or None)`` of a classifier on ``X``.

    Several outputs: the decision is the class of the largest probability and, with two classes, the
    score is the positive class's probability. One output: it is the positive label's probability, the
    decision is ``pos_label`` from 0.5 and ``negative`` below.
    """
    import numpy as np

    from xaikit.errors import XaikitError
    from xaikit.models import adapt

    try:
        adapted = adapt(model, output="probability")
        scores = adapted.predict(X)
    except XaikitError as exc:
        raise BadInput(f"MODEL: expected a classifier whose class probabilities xaikit can read: {' '.join(str(exc).split())}") from exc
    names = adapted.output_names or [str(j) for j in range(scores.shape[1])]
    if scores.shape[1] == 1:
        score = scores[:, 0]
        return np.where(score >= 0.5, pos_label, negative).astype(object), score
    decisions = np.asarray(names, dtype=object)[np.argmax(scores, axis=1)]
    if scores.shape[1] == 2:
        if pos_label not in names:
            raise BadInput(f"--pos-label: expected one of the model's classes ({', '.join(names)}), got {pos_label!r}")
        return decisions, scores[:, names.index(pos_label)]
    return decisions, None


def run(args: argparse.Namespace) -> int:
    """Run ``xaikit fairness`` with parsed arguments."""
    import numpy as np

    from xaikit.errors import InvalidParameterError
    from xaikit.fairness import FairnessReport
    from xaikit.models.files import feature_names_of

    check_out(args.out)
    groups = _names(args.groups, "--groups")
    if args.n_boot < 0 or args.n_boot == 1:
        raise BadInput(f"--n-boot: expected 0 (no intervals) or an integer >= 2, got {args.n_boot}")
    if not 0.0 < args.level < 1.0:
        raise BadInput(f"--level: expected a coverage in (0, 1), got {args.level}")
    if args.bins < 1:
        raise BadInput(f"--bins: expected an integer >= 1, got {args.bins}")
    model = load_model_file(args.model, trust_pickle=args.trust_pickle)
    frame = read_table(args.data, "DATA")
    columns = [str(c) for c in frame.columns]
    shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
    if args.labels not in columns:
        raise BadInput(f"--labels: expected a column of DATA, got {args.labels!r}, which {args.data!r} lacks (its columns: {shown})")
    unknown = [g for g in groups if g not in columns]
    if unknown:
        raise BadInput(f"--groups: expected columns of DATA ({shown}), got unknown name(s) {', '.join(map(repr, unknown))}")
    if args.labels in groups:
        raise BadInput(f"--groups: expected columns other than the labels, got {args.labels!r}, the --labels column")
    names = feature_names_of(model)
    if names is not None:
        missing = [c for c in names if c not in columns]
        if missing:
            raise BadInput(f"DATA: {args.data!r} lacks {len(missing)} column(s) the model was fitted on: {', '.join(missing[:10])}")
        if args.labels in names:
            raise BadInput(f"--labels: expected a column the model was not fitted on, got {args.labels!r}, one of the model's features")
        data = frame[names]
    else:
        data = frame.drop(columns=[args.labels, *groups])
    y = frame[args.labels]
    if int(y.isna().sum()):
        raise BadInput(f"--labels: expected a label in every row, got {int(y.isna().sum())} missing value(s) in column {args.labels!r}")
    y_true = _label_text(y.to_numpy())
    seen = sorted(set(y_true.tolist()))
    if len(seen) > 2:
        raise BadInput(f"--labels: expected binary labels (two values at most), got {len(seen)} values in column {args.labels!r}")
    pos = args.pos_label if args.pos_label is not None else "1"
    if pos not in seen and args.pos_label is None:
        raise BadInput(f"--pos-label: the labels are {', '.join(map(repr, seen))}: name the positive one (--pos-label L)")
    negative = next((v for v in seen if v != pos), "0")
    if hasattr(model, "feature_names_in_"):
        X = data
    else:
        bad = [str(c) for c, dtype in data.dtypes.items() if dtype.kind not in "biuf"]
        if bad:
            raise BadInput(f"DATA: expected numeric columns for this model, got non-numeric column(s) {', '.join(bad[:10])}")
        X = data.to_numpy(dtype=np.float64)
    start = time.perf_counter()
    with Progress(f"comparing {len(frame)} rows across groups", quiet=args.quiet):
        y_pred, score = predict_labels(model, X, pos, negative)
        try:
            report = FairnessReport(y_true, y_pred, sensitive_features=frame[groups], y_score=score, pos_label=pos, bins=args.bins)
            result = report.result if args.n_boot == 0 else report.intervals(
                args.n_boot, level=args.level, stratify=not args.no_stratify, random_state=args.random_state)
        except InvalidParameterError as exc:
            text = " ".join(str(exc).split())
            for name, option in (("y_true: ", "--labels: "), ("sensitive_features: ", "--groups: "), ("pos_label: ", "--pos-label: ")):
                if text.startswith(name):
                    raise BadInput(option + text[len(name):]) from exc
            raise
    took = time.perf_counter() - start
    result.save(args.out)
    table = result.disparities()
    rows = []
    for name in table.index:
        line = [name, f"{table.loc[name, 'value']:.4g}"]
        if "lower" in table.columns:
            line.append(f"[{table.loc[name, 'lower']:.4g}, {table.loc[name, 'upper']:.4g}]")
        rows.append(line)
    header = ["disparity", "value"] + (["interval"] if "lower" in table.columns else [])
    print(format_table(rows, header))
    print(f"{result.n_groups} groups of {', '.join(groups)}, {len(frame)} rows in {took:.2f} s; saved {args.out}")
    return EXIT_OK
