"""``xaikit show RESULT``: a saved result as a table in the terminal.

Without ``--row``, the global ranking: features by mean absolute value over the rows (with the mean
standard error when the result was sampled). With ``--row I``, that row's values sorted by absolute
size, with the feature's value when the result holds the data, the base value and the total.
"""

from __future__ import annotations

import argparse
from typing import Any

from xaikit.cli._common import EXIT_OK, BadInput, format_table

__all__ = ["register", "render", "run"]


def register(sub: Any) -> argparse.ArgumentParser:
    """Add the ``show`` subcommand to ``sub`` (the main parser's subparsers)."""
    p = sub.add_parser(
        "show",
        help="print a saved result as a table",
        description="Print RESULT (.xai) as a table: the global ranking of features, or one row's values (--row).",
    )
    p.add_argument("result", metavar="RESULT", help="a result saved by 'xaikit explain' or result.save()")
    p.add_argument("--row", type=int, metavar="I", help="show row I's values (default: the global ranking)")
    p.add_argument("--target", metavar="T", default="0", help="the output, by position or name (default: 0)")
    p.add_argument("--top", type=int, default=20, metavar="K", help="features shown (default: 20; 0 for all)")
    p.set_defaults(run=run)
    return p


def _fmt(x: float) -> str:
    return f"{x:+.4g}"


def render(result: Any, *, row: int | None = None, target: int | str = 0, top: int = 20) -> str:
    """The table ``xaikit show`` prints for ``result``.

    >>> import numpy as np, xaikit as xk
    >>> exp = xk.Attribution(values=[[[1.0], [-2.0]]], base_values=[[0.5]], feature_names=["a", "b"], method="demo")
    >>> print(render(exp, row=0))
    demo, row 0 of 1, output 'output0': base value +0.5 + sum of values -1 = -0.5
    feature  value
    -------  -----
    b           -2
    a           +1
    """
    import numpy as np

    from xaikit.results import Interaction

    if isinstance(result, Interaction):
        result = result.to_attribution()
    values = getattr(result, "values", None)
    if values is None or np.ndim(values) != 3 or not hasattr(result, "ranking"):
        raise BadInput(f"RESULT: expected an attribution result, got a {type(result).__name__}")
    if isinstance(target, str) and target.lstrip("-").isdigit():
        target = int(target)
    j = result._output_position(target)
    out_name = result.output_names[j]
    n = values.shape[0]
    std_err = result.diagnostics.get("std_err")
    limit = None if top == 0 else top
    if top < 0:
        raise BadInput(f"--top: expected a count of features >= 0, got {top}")
    if row is None:
        ranking = result.ranking(j)[:limit]
        header = ["feature", "mean |value|"]
        table: list[tuple[str, ...]] = []
        names = list(result.feature_names)
        mean_err = np.abs(std_err[:, :, j]).mean(axis=0) if isinstance(std_err, np.ndarray) else None
        for name, score in ranking:
            cells: tuple[str, ...] = (name, f"{score:.4g}")
            if mean_err is not None:
                cells += (f"{mean_err[names.index(name)]:.2g}",)
            table.append(cells)
        if mean_err is not None:
            header.append("mean std. error")
        title = f"{result.method}, {n} row(s), output {out_name!r}: features by mean |value|"
        return title + "\n" + format_table(table, header)
    if not -n <= row < n:
        raise BadInput(f"--row: expected a row in [{-n}, {n}), got {row}")
    one = result[row]
    vals = np.asarray(one.values)[0, :, j]
    names = list(one.feature_names)
    order = np.argsort(-np.abs(vals), kind="stable")[:limit]
    data = getattr(one, "data", None)
    err = one.diagnostics.get("std_err")
    header = ["feature"] + (["data"] if data is not None else []) + ["value"] + (["std. error"] if isinstance(err, np.ndarray) else [])
    rows = []
    for i in order:
        line = [names[i]]
        if data is not None:
            x = data[0, i]
            line.append(f"{x:.4g}" if isinstance(x, (float, int, np.floating, np.integer)) else str(x))
        line.append(_fmt(float(vals[i])))
        if isinstance(err, np.ndarray):
            line.append(f"{err[0, i, j]:.2g}")
        rows.append(line)
    base = float(np.asarray(one.base_values)[0, j])
    total = float(vals.sum())
    title = (
        f"{result.method}, row {row} of {n}, output {out_name!r}: base value {_fmt(base)} + sum of values "
        f"{_fmt(total)} = {_fmt(base + total)}"
    )
    return title + "\n" + format_table(rows, header)


def run(args: argparse.Namespace) -> int:
    """Run ``xaikit show`` with parsed arguments."""
    from xaikit.results import Result

    result = Result.load(args.result)
    print(render(result, row=args.row, target=args.target, top=args.top))
    return EXIT_OK
