"""``xaikit show RESULT``: a saved result as a table in the terminal.

Attributions: without ``--row``, the global ranking: features by mean absolute value over the rows
(with the mean standard error when the result was sampled); with ``--row I``, that row's values
sorted by absolute size, with the feature's value when the result holds the data, the base value and
the total. Importance: features by mean importance, with its standard error and 95 % interval.
Effects (partial dependence, ALE): per term, its grid and average (the first and last points of a
long grid), with the band when there is one. Rules: the rule texts, with the surrogate's fidelity.
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
    p.add_argument("--row", type=int, metavar="I", help="show row I's values of an attribution (default: the global ranking)")
    p.add_argument("--target", metavar="T", help="the output, by position or name (default: 0; rules: every output)")
    p.add_argument("--top", type=int, default=20, metavar="K", help="features, terms or rules shown (default: 20; 0 for all)")
    p.set_defaults(run=run)
    return p


def _fmt(x: float) -> str:
    return f"{x:+.4g}"


def _number(x: float) -> str:
    return "-" if x != x else f"{x:.4g}"


def _output(result: Any, target: int | str | None) -> tuple[int, str]:
    """The position and name of the output ``--target`` names (the first by default)."""
    from xaikit.errors import InvalidParameterError

    if isinstance(target, str) and target.lstrip("-").isdigit():
        target = int(target)
    try:
        j = result._output_position(0 if target is None else target)
    except InvalidParameterError as exc:
        text = " ".join(str(exc).split())
        raise BadInput(f"--target: {text.split(': ', 1)[-1]}") from exc
    return j, str(result.output_names[j])


def _more(shown: int, total: int, what: str) -> str:
    return f"\n... {total - shown} more {what} (--top 0 for all)" if shown < total else ""


def render_importance(result: Any, *, target: int | str | None = None, top: int = 20) -> str:
    """Features by mean importance for one output, with its standard error and 95 % interval.

    >>> import xaikit.results.importance as imp
    >>> r = imp.Importance(values=[[[0.2, 0.4]], [[0.0, 0.0]]], feature_names=["a", "b"], output_names=["accuracy"], method="demo")
    >>> print(render_importance(r))
    demo, output 'accuracy': features by mean importance over 2 repeat(s)
    feature  mean  std. error  95% CI low  95% CI high
    -------  ----  ----------  ----------  -----------
    a         0.3         0.1     -0.9706        1.571
    b           0           0           0            0
    """
    import numpy as np

    j, out_name = _output(result, target)
    mean, se = result.mean()[:, j], result.standard_error()[:, j]
    lower, upper = (bound[:, j] for bound in result.ci(0.95))
    names = list(result.feature_names)
    order = np.argsort(-mean, kind="stable")
    shown = order if top == 0 else order[:top]
    rows = [(names[i], _number(mean[i]), _number(se[i]), _number(lower[i]), _number(upper[i])) for i in shown]
    baseline = result.diagnostics.get("baseline_score")
    base = f" (score on the data {_number(float(np.asarray(baseline)[j]))})" if baseline is not None else ""
    title = f"{result.method}, output {out_name!r}{base}: features by mean importance over {result.n_repeats} repeat(s)"
    table = format_table(rows, ["feature", "mean", "std. error", "95% CI low", "95% CI high"])
    return title + "\n" + table + _more(len(shown), len(names), "features")


def _points(size: int, edge: int = 3) -> list[int | None]:
    """Grid positions shown: all, or the first and last ``edge`` with None between."""
    if size <= 2 * edge + 1:
        return list(range(size))
    return [*range(edge), None, *range(size - edge, size)]


def render_effects(result: Any, *, target: int | str | None = None, top: int = 20) -> str:
    """Per term, its grid points and average for one output (a long grid's first and last points),
    with the band when there is one.

    >>> import numpy as np
    >>> from xaikit.results.effects import Effects
    >>> eff = Effects(grid=[[[0.0, np.nan], [1.0, np.nan]]], average=[[[2.0], [3.0]]],
    ...               term_features=[["a"]], grid_shape=[[2]], method="demo")
    >>> print(render_effects(eff))
    demo, output 'output0': 1 term(s)
    <BLANKLINE>
    term 'a' (2 grid points)
    a  average
    -  -------
    0        2
    1        3
    """
    j, out_name = _output(result, target)
    n = result.n_terms
    shown = n if top == 0 else min(top, n)
    how = result.params.get("method")
    title = f"{result.method}{f' ({how})' if isinstance(how, str) else ''}, output {out_name!r}: {n} term(s)"
    title += ", centred" if result.centered else ""
    parts = [title]
    for t in range(shown):
        term = result.term(t)
        features, shape, labels = term["features"], term["grid_shape"], term["labels"]
        size = 1
        for g in shape:
            size *= g
        grid = term["grid"].reshape(size, len(features))
        average = term["average"].reshape(size, -1)[:, j]
        bands = [term[b].reshape(size, -1)[:, j] if term[b] is not None else None for b in ("lower", "upper")]
        header = [*features, "average"] + [b for b, arr in zip(("lower", "upper"), bands) if arr is not None]
        rows: list[list[str]] = []
        for i in _points(size):
            if i is None:
                rows.append(["..."] * len(header))
                continue
            cells = []
            for k, x in enumerate(grid[i]):
                lab = labels[k]
                cells.append(str(lab[int(x)]) if lab is not None else _number(float(x)))
            cells.append(_number(float(average[i])))
            cells += [_number(float(arr[i])) for arr in bands if arr is not None]
            rows.append(cells)
        points = " x ".join(map(str, shape))
        ice = f", ICE curves of {result.n_rows} rows" if result.n_rows is not None else ""
        parts.append(f"\nterm {term['name']!r} ({points} grid points{ice})\n" + format_table(rows, header, left=0))
    return "\n".join(parts) + _more(shown, n, "terms")


def render_rules(result: Any, *, target: int | str | None = None, top: int = 20) -> str:
    """The rules as sentences, with the surrogate's fidelity on the rows it did not see.

    >>> from xaikit.results.rules import Rules
    >>> r = Rules(prediction=[[0.2], [0.7]], support=[30, 10], support_fraction=[0.75, 0.25], importance=[1.0],
    ...           feature_names=["age"], output_names=["disease"], task="regression", method="demo",
    ...           conditions=[[{"feature": "age", "operator": "<=", "threshold": 54.5}],
    ...                       [{"feature": "age", "operator": ">", "threshold": 54.5}]])
    >>> print(render_rules(r))
    demo: 2 rule(s)
    1. if age <= 54.5 then disease = 0.2 (support 75%)
    2. if age > 54.5 then disease = 0.7 (support 25%)
    """
    import numpy as np

    if target is not None:
        j, _ = _output(result, target)
        result = result[:, [j]]
    diag = result.diagnostics
    title = f"{result.method}: {result.n_rules} rule(s)"
    if "fidelity" in diag:
        metric = diag.get("fidelity_metric", "fidelity")

        def per_output(values: Any) -> str:
            arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
            if arr.size == 1:
                return _number(float(arr[0]))
            return ", ".join(f"{name} {_number(float(v))}" for name, v in zip(result.output_names, arr))

        title += f", fidelity ({metric}) on held-out rows: {per_output(diag['fidelity'])}"
        if "fidelity_train" in diag:
            title += f"; on fit rows: {per_output(diag['fidelity_train'])}"
    texts = result.rules()
    shown = texts if top == 0 else texts[:top]
    lines = [f"{i + 1}. {text}" for i, text in enumerate(shown)]
    return "\n".join([title, *lines]) + _more(len(shown), len(texts), "rules")


_RENDERERS = {"importance": render_importance, "effects": render_effects, "rules": render_rules}


def render(result: Any, *, row: int | None = None, target: int | str | None = None, top: int = 20) -> str:
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

    if top < 0:
        raise BadInput(f"--top: expected a count >= 0, got {top}")
    kind = getattr(result, "kind", None)
    if kind in _RENDERERS:
        if row is not None:
            raise BadInput(f"--row: expected no row: a result of kind {kind!r} describes the model as a whole, got --row {row}")
        return _RENDERERS[kind](result, target=target, top=top)
    if isinstance(result, Interaction):
        result = result.to_attribution()
    values = getattr(result, "values", None)
    if values is None or np.ndim(values) != 3 or not hasattr(result, "ranking"):
        raise BadInput(f"RESULT: expected an attribution, importance, effects or rules result, got a {type(result).__name__}")
    j, out_name = _output(result, target)
    n = values.shape[0]
    std_err = result.diagnostics.get("std_err")
    limit = None if top == 0 else top
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
    from xaikit.cli._common import load_result

    result = load_result(args.result)
    print(render(result, row=args.row, target=args.target, top=args.top))
    return EXIT_OK
