"""``xaikit report RESULT... --out report.html``: one self-contained HTML report of saved results."""

from __future__ import annotations

import argparse
from typing import Any

from xaikit.cli._common import EXIT_OK, check_out

__all__ = ["register", "run"]


def register(sub: Any) -> argparse.ArgumentParser:
    """Add the ``report`` subcommand to ``sub`` (the main parser's subparsers)."""
    p = sub.add_parser(
        "report",
        help="write one self-contained HTML report of saved results",
        description="Write one HTML file (no network request, works offline) presenting each RESULT (.xai). Raw "
        "feature values go in only with --include-data, so the report can be sent without the data behind it.",
    )
    p.add_argument("results", metavar="RESULT", nargs="+", help="results saved by 'xaikit explain' or result.save()")
    p.add_argument("--out", required=True, metavar="PATH", help="where to write the report (.html)")
    p.add_argument("--title", default="xaikit report", help="the report's title (default: 'xaikit report')")
    p.add_argument("--include-data", action="store_true", help="include the explained rows' feature values")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``xaikit report`` with parsed arguments."""
    import importlib

    from xaikit.cli._common import load_result

    check_out(args.out)
    results = [load_result(path) for path in args.results]
    try:
        report_class = importlib.import_module("xaikit.report").Report
    except (ImportError, AttributeError) as exc:
        raise RuntimeError(f"the report module cannot be used in this installation ({exc})") from exc
    report = report_class(args.title)
    for result in results:
        report.add(result)
    report.to_html(args.out, include_data=args.include_data)
    print(f"wrote {args.out} ({len(results)} result(s))")
    return EXIT_OK
