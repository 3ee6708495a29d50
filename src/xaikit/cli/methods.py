"""``xaikit methods MODEL``: the methods that apply to a model file, and why the others do not."""

from __future__ import annotations

import argparse
from typing import Any

from xaikit.cli._common import EXIT_OK, format_table, load_global_methods, load_model_file

__all__ = ["register", "run"]


def register(sub: Any) -> argparse.ArgumentParser:
    """Add the ``methods`` subcommand to ``sub`` (the main parser's subparsers)."""
    p = sub.add_parser(
        "methods",
        help="list the methods that apply to a model file, and why",
        description="List every registered method: whether it applies to MODEL and why (xaikit.methods(model)).",
    )
    p.add_argument("model", metavar="MODEL", help="the model file (the formats of 'xaikit explain')")
    p.add_argument("--trust-pickle", action="store_true", help="load pickles: runs code from the file")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``xaikit methods`` with parsed arguments."""
    import xaikit as xk

    model = load_model_file(args.model, trust_pickle=args.trust_pickle)
    load_global_methods()
    infos = xk.methods(model)
    rows = [(m.name, "yes" if m.applies else "no", m.kind, m.reason) for m in infos]
    print(f"{args.model}: {type(model).__name__}; {sum(m.applies for m in infos)} of {len(infos)} methods apply")
    print(format_table(rows, ["method", "applies", "kind", "why"], left=4))
    return EXIT_OK
