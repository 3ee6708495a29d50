"""``xaikit``: the command line, one entry point with subcommands.

=============  =============================================================================
``explain``    explain a model file on the rows of a CSV or Parquet file, save the result (.xai)
``report``     write one self-contained HTML report of saved results
``show``       print a saved result as a table: the global ranking, or one row's values
``methods``    list the methods that apply to a model file, and why the others do not
``evaluate``   score saved explanations of a model: metrics with noise floors, ranking, disagreement
``fairness``   group fairness metrics of a model's decisions, with bootstrap intervals
``serve``      an HTTP explanation service (FastAPI) for a model file and background, or a bundle
``demo``       explain a gradient-boosting classifier on bundled real data
=============  =============================================================================

Exit codes: 0 done, 1 failure, 2 bad input. Each error is one line on stderr (``xaikit: error:
...``); ``--debug`` prints its traceback first. Building the parser imports nothing heavy (each
subcommand imports what it needs when it runs), so ``xaikit --help`` answers at once.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from xaikit.cli import demo, evaluate, explain, fairness, methods, report, serve, show
from xaikit.cli._common import EXIT_BAD_INPUT, Parser, UsageError, add_common_options, run_command

__all__ = ["build_parser", "main"]

_SUBCOMMANDS = (explain, report, show, methods, evaluate, fairness, serve, demo)


def build_parser() -> Parser:
    """The ``xaikit`` parser with its subcommands.

    >>> sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    ['demo', 'evaluate', 'explain', 'fairness', 'methods', 'report', 'serve', 'show']
    """
    from xaikit import __version__

    parser = Parser(
        prog="xaikit",
        description="Explain machine-learning models from the command line.",
        epilog="Exit codes: 0 done, 1 failure, 2 bad input. Run 'xaikit COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"xaikit {__version__}")
    add_common_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for module in _SUBCOMMANDS:
        command = module.register(sub)
        add_common_options(command, suppress=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xaikit`` command; returns the exit code.

    >>> main(["show"])
    2
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"xaikit: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    if args.command is None:
        parser.print_help()
        return 1
    return run_command(args.run, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
