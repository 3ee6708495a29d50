"""``xaikit explain MODEL DATA --out result.xai``: explain a model file on the rows of a table.

The model is read by :func:`xaikit.models.files.load_model` (skops, ONNX, XGBoost JSON/UBJ, LightGBM
text, TorchScript, Keras; pickles only with ``--trust-pickle``), the rows and the background from CSV
or Parquet. When the model knows the columns it was fitted on, those columns are taken from the
files, by name and in the model's order (a file lacking one is refused, naming it); otherwise every
column is a feature, in the file's order. The result is one :func:`xaikit.explain` call, as in
Python with the same arguments, saved with ``result.save`` (atomically).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from xaikit.cli._common import EXIT_OK, BadInput, Progress, check_out, load_model_file, read_table

__all__ = ["parse_rows", "register", "run"]

_OUTPUTS = ("auto", "probability", "log_odds", "raw")


def register(sub: Any) -> argparse.ArgumentParser:
    """Add the ``explain`` subcommand to ``sub`` (the main parser's subparsers)."""
    p = sub.add_parser(
        "explain",
        help="explain a model file on the rows of a CSV or Parquet file",
        description="Explain MODEL on the rows of DATA and save the result (.xai). MODEL: .skops, .onnx, XGBoost "
        ".json/.ubj, LightGBM .txt, TorchScript .pt/.pth, Keras .keras; .pkl/.pickle/.joblib only with "
        "--trust-pickle. DATA and --background: CSV or Parquet, with a header row.",
        epilog="Example: xaikit explain model.json rows.csv --background bg.csv --out result.xai",
    )
    p.add_argument("model", metavar="MODEL", help="the model file")
    p.add_argument("data", metavar="DATA", help="rows to explain: a CSV or Parquet file with a header row")
    p.add_argument("--out", required=True, metavar="PATH", help="where to save the result (.xai); its folder must exist")
    p.add_argument("--method", default="auto", help="a method of 'xaikit methods MODEL', or auto (default: auto)")
    p.add_argument("--background", metavar="FILE", help="background rows (CSV or Parquet) for the methods that need them")
    p.add_argument("--target", metavar="T", help="the output to explain, by position or name (default: every output)")
    p.add_argument("--output", choices=_OUTPUTS, default="auto", help="the response explained (default: auto)")
    p.add_argument("--n-samples", type=int, metavar="N", help="budget of sampled methods (coalitions per row)")
    p.add_argument("--random-state", type=int, metavar="S", help="seed of sampled methods")
    p.add_argument("--executor", default="auto", help="auto, serial, threads:N or processes:N (default: auto)")
    p.add_argument("--rows", metavar="A:B", help="explain rows A to B-1 of DATA only (Python slice, e.g. 0:100)")
    p.add_argument(
        "--trust-pickle",
        action="store_true",
        help="load pickles, skops types skops does not trust and Keras lambdas: runs code from the file",
    )
    p.set_defaults(run=run)
    return p


def parse_rows(text: str | None, n: int) -> slice:
    """``--rows A:B`` as a slice of ``range(n)`` (either end may be left out; negative counts from the end).

    >>> parse_rows("2:5", 10), parse_rows(None, 10), parse_rows(":-1", 10)
    (slice(2, 5, None), slice(0, 10, None), slice(0, 9, None))
    >>> parse_rows("5", 10)
    Traceback (most recent call last):
    ...
    xaikit.cli._common.BadInput: --rows: expected A:B (e.g. 0:100), got '5'
    """
    if text is None:
        return slice(0, n)
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        start = int(parts[0]) if parts[0].strip() else None
        stop = int(parts[1]) if parts[1].strip() else None
    except ValueError:
        raise BadInput(f"--rows: expected A:B (e.g. 0:100), got {text!r}") from None
    a, b, _ = slice(start, stop).indices(n)
    if b <= a:
        raise BadInput(f"--rows: expected a range holding rows of DATA ({n} rows), got {text!r}, which selects none")
    return slice(a, b)


def _columns(frame: Any, names: list[str] | None, what: str, path: str) -> Any:
    """The model's columns of ``frame`` in its order (refusing a file that lacks one), or every column."""
    if names is None:
        return frame
    missing = [c for c in names if c not in frame.columns]
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise BadInput(f"{what}: {path!r} lacks {len(missing)} column(s) the model was fitted on: {shown}")
    return frame[names]


def _as_array(frame: Any, what: str) -> Any:
    """A numeric DataFrame as a float64 array (strings are refused, naming the columns)."""
    import numpy as np

    bad = [str(c) for c, dtype in frame.dtypes.items() if dtype.kind not in "biuf"]
    if bad:
        raise BadInput(
            f"{what}: expected numeric columns for this model, got non-numeric column(s) {', '.join(bad[:10])}"
        )
    return frame.to_numpy(dtype=np.float64)


def _target(text: str | None) -> int | str | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def build_call(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    """Load the model and the tables named by ``args``: ``(model, X, params)`` for
    ``xaikit.explain(model, X, **params)``."""
    import xaikit as xk
    from xaikit.models.files import feature_names_of

    model = load_model_file(args.model, trust_pickle=args.trust_pickle)
    names = feature_names_of(model)
    data = _columns(read_table(args.data, "DATA"), names, "DATA", args.data)
    data = data.iloc[parse_rows(args.rows, len(data))]
    background = None
    if args.background is not None:
        background = _columns(read_table(args.background, "--background"), names, "--background", args.background)
        if names is None and list(background.columns) != list(data.columns):
            raise BadInput(
                f"--background: expected the columns of DATA ({', '.join(map(str, data.columns[:10]))}), "
                f"got {', '.join(map(str, background.columns[:10]))}"
            )
    wants_frame = hasattr(model, "feature_names_in_")
    X = data if wants_frame else _as_array(data, "DATA")
    params: dict[str, Any] = {"method": args.method, "output": args.output, "executor": args.executor}
    for key, value in (("n_samples", args.n_samples), ("random_state", args.random_state), ("target", _target(args.target))):
        if value is not None:
            params[key] = value
    feature_names = None if wants_frame else [str(c) for c in data.columns]
    bg = None if background is None else (background if wants_frame else _as_array(background, "--background"))
    cls = xk.REGISTRY.get(args.method)
    accepted = set() if cls is None else _parameters(cls)
    if cls is None or "background" in accepted:  # auto, a Shapley method, TreeShap
        if bg is not None:
            params["background"] = bg
        if feature_names is not None:
            params["feature_names"] = feature_names
    elif "masker" in accepted:  # LIME, occlusion: a tabular masker on the background
        if bg is None:
            raise BadInput(f"--background: method {args.method!r} needs background rows (--background FILE)")
        params["masker"] = xk.TabularMasker(bg, feature_names=feature_names)
    elif bg is not None:
        raise BadInput(f"--background: method {args.method!r} takes no background rows; leave --background out")
    return model, X, params


def _parameters(cls: Any) -> set[str]:
    import inspect

    return set(inspect.signature(cls).parameters) | set(inspect.signature(cls.explain).parameters)


def run(args: argparse.Namespace) -> int:
    """Run ``xaikit explain`` with parsed arguments."""
    import xaikit as xk
    from xaikit.explainers.pipeline import on_progress

    check_out(args.out)
    model, X, params = build_call(args)
    start = time.perf_counter()
    with Progress(f"explaining {len(X)} rows", quiet=args.quiet) as progress, on_progress(progress.update):
        result = xk.explain(model, X, **params)
    took = time.perf_counter() - start
    result.save(args.out)
    outputs = getattr(result, "output_names", None) or []
    shown = ", ".join(map(str, outputs[:5])) + (", ..." if len(outputs) > 5 else "")
    print(
        f"{result.method}: {len(X)} rows, {len(outputs)} output(s) ({shown}) in {took:.2f} s; saved {args.out}"
    )
    return EXIT_OK
