"""What every subcommand shares: exit codes, one line per error, a progress line, tables and data files.

Only the standard library is imported here, so that ``xaikit --help`` stays fast.

Exit codes
----------
0: done. 1: the work failed (the model raised, a result did not add up, an unexpected error).
2: bad input (a missing file, a bad option, a missing column, an unknown method, a pickle not trusted).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import IO, Any

__all__ = [
    "parse_target",
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "EXIT_OK",
    "BadInput",
    "Parser",
    "Progress",
    "add_common_options",
    "check_out",
    "exit_code",
    "format_table",
    "load_global_methods",
    "load_model_file",
    "load_result",
    "read_table",
    "run_command",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class BadInput(Exception):
    """Input the command cannot use (exit code 2): the message names the argument or option."""


class UsageError(BadInput):
    """A command line argparse refuses (unknown option, missing argument, bad choice)."""


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are raised (one line, exit code 2) rather than printed
    with the usage and ``sys.exit``."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        command = self.prog.partition(" ")[2]
        raise UsageError(f"{command + ': ' if command else ''}{message} (see '{self.prog} --help')")


def add_common_options(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """``--debug`` and ``--quiet``, on the main parser and on every subcommand (``suppress`` keeps a
    subcommand's unset options from hiding the main parser's)."""
    default: Any = argparse.SUPPRESS if suppress else False
    parser.add_argument("--debug", action="store_true", default=default, help="show the traceback of an error")
    parser.add_argument("--quiet", action="store_true", default=default, help="no progress line on stderr")


_BAD_INPUT_ERRORS = ("InvalidParameterError", "UnsupportedModelError", "FormatError", "MissingDependencyError")


def exit_code(exc: BaseException) -> int:
    """The exit code for an error: 2 for bad input, 1 for anything else.

    >>> exit_code(BadInput("DATA: no such file")), exit_code(RuntimeError("boom"))
    (2, 1)
    """
    if isinstance(exc, (BadInput, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)):
        return EXIT_BAD_INPUT
    names = {c.__name__ for c in type(exc).__mro__ if c.__module__.startswith("xaikit.")}
    return EXIT_BAD_INPUT if names & set(_BAD_INPUT_ERRORS) else EXIT_FAILURE


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, BadInput) or type(exc).__module__.startswith("xaikit."):
        return text or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or type(exc).__name__}: {exc.filename!r}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_command(command: Callable[[argparse.Namespace], int], args: argparse.Namespace, *, err: IO[str] | None = None) -> int:
    """Run ``command(args)``: its exit code, or that of its error, reported as one line on stderr
    (``xaikit: error: ...``) after the traceback when ``args.debug``. Warnings are one line each too."""
    stream = err if err is not None else sys.stderr
    debug = bool(getattr(args, "debug", False))

    def show(message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        print(f"xaikit: warning: {' '.join(str(message).split())}", file=stream)

    with warnings.catch_warnings():
        if not debug:
            warnings.showwarning = show
        try:
            return command(args)
        except KeyboardInterrupt:
            print("xaikit: error: interrupted", file=stream)
            return EXIT_FAILURE
        except Exception as exc:  # noqa: BLE001 - every error becomes one line and an exit code
            if debug:
                traceback.print_exc(file=stream)
            print(f"xaikit: error: {_one_line(exc)}", file=stream)
            return exit_code(exc)


class Progress:
    """A progress line on stderr while work runs, cleared when it ends; nothing when stderr is not a
    terminal or ``quiet``. A spinner with the elapsed time until :meth:`update` says how far the work
    is (``xaikit.explainers.pipeline.on_progress(progress.update)`` passes the rows done as the
    chunks of one library call finish); then a bar with the rows done.

    >>> with Progress("explaining", quiet=True) as p:
    ...     p.active
    False
    """

    _FRAMES = "|/-\\"

    def __init__(self, label: str, *, quiet: bool = False, stream: IO[str] | None = None, interval: float = 0.2) -> None:
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.active = not quiet and bool(isatty is not None and isatty())
        self.label = label
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = time.perf_counter()
        self._done: tuple[int, int] | None = None

    def update(self, done: int, total: int) -> None:
        """Record that ``done`` of ``total`` rows are done (drawn at the next tick)."""
        self._done = (done, total)

    def line(self, tick: int) -> str:
        """The progress line at the ``tick``-th redraw.

        >>> p = Progress("explaining 8 rows", quiet=True)
        >>> p.update(2, 8); p.line(0).split(" s")[0].rsplit(" ", 1)[0]
        '[#####               ] 2/8 rows'
        """
        elapsed = time.perf_counter() - self._start
        if self._done is None:
            return f"{self._FRAMES[tick % 4]} {self.label} {elapsed:.0f} s"
        done, total = self._done
        filled = round(20 * done / total) if total else 20
        return f"[{'#' * filled}{' ' * (20 - filled)}] {done}/{total} rows {elapsed:.0f} s"

    def _run(self) -> None:
        i = 0
        while not self._stop.wait(self.interval):
            self.stream.write("\r" + self.line(i) + "\033[K")
            self.stream.flush()
            i += 1

    def __enter__(self) -> Progress:
        self._start = time.perf_counter()
        if self.active:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.stream.write("\r\033[K")
            self.stream.flush()


def format_table(rows: Sequence[Sequence[Any]], header: Sequence[str], *, left: int = 1) -> str:
    """A plain-text table: the first ``left`` columns left-aligned, the others (numbers) right-aligned.

    >>> print(format_table([("a", "1.5"), ("bb", "-2")], ["name", "value"]))
    name  value
    ----  -----
    a       1.5
    bb       -2
    """
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]

    def line(row: Sequence[Any]) -> str:
        cells = (str(x).ljust(w) if i < left else str(x).rjust(w) for i, (x, w) in enumerate(zip(row, widths)))
        return "  ".join(cells).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


@contextmanager
def _reading(path: str, what: str) -> Iterator[None]:
    try:
        yield
    except (BadInput, ImportError):
        raise
    except Exception as exc:  # pandas and pyarrow raise many kinds of parse errors
        raise BadInput(f"{what}: cannot read {path!r}: {' '.join(str(exc).split())[:300]}") from exc


def read_table(path: str, what: str) -> Any:
    """Read a CSV (``.csv``, ``.csv.gz``, anything not Parquet) or Parquet (``.parquet``, ``.pq``) file
    into a pandas DataFrame; ``what`` names the argument in errors (``DATA``, ``--background``)."""
    if not os.path.exists(path):
        raise BadInput(f"{what}: {path!r} does not exist")
    if not os.path.isfile(path):
        raise BadInput(f"{what}: {path!r} is not a file")
    from xaikit._optional import import_optional

    pd = import_optional("pandas", "pandas")
    if path.lower().endswith((".parquet", ".pq")):
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            try:
                import fastparquet  # noqa: F401
            except ImportError:
                raise BadInput(
                    f"{what}: reading Parquet ({path!r}) needs pyarrow, which is not installed "
                    "(pip install pyarrow), or give a CSV file"
                ) from None
        with _reading(path, what):
            frame = pd.read_parquet(path)
    else:
        with _reading(path, what):
            frame = pd.read_csv(path)
    if len(frame) == 0:
        raise BadInput(f"{what}: expected at least one row, got none in {path!r}")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def load_model_file(path: str, *, trust_pickle: bool) -> Any:
    """:func:`xaikit.models.files.load_model`, its errors naming the command line's ``MODEL`` and ``--trust-pickle``."""
    from xaikit.errors import InvalidParameterError
    from xaikit.models.files import load_model

    try:
        return load_model(path, trust_pickle=trust_pickle)
    except InvalidParameterError as exc:
        text = str(exc)
        for name, option in (("path: ", "MODEL: "), ("trust_pickle: ", "--trust-pickle: ")):
            if text.startswith(name):
                text = option + text[len(name):]
        raise BadInput(text.replace("trust_pickle=True (xaikit explain --trust-pickle)", "--trust-pickle")) from exc


#: Modules of the global methods, which register themselves when imported.
_GLOBAL_METHOD_MODULES = (
    "xaikit.explainers.global_.permutation_importance",
    "xaikit.explainers.global_.partial_dependence",
    "xaikit.explainers.global_.ale",
    "xaikit.explainers.global_.surrogate_tree",
)


def load_global_methods() -> None:
    """Import the built-in explainers and the global methods, so that the registry holds them all."""
    import importlib

    importlib.import_module("xaikit.explainers")
    importlib.import_module("xaikit.explainers.global_")
    for module in _GLOBAL_METHOD_MODULES:
        importlib.import_module(module)


#: Modules declaring result kinds that ``xaikit.results`` may not import itself.
_RESULT_MODULES = ("xaikit.results.importance", "xaikit.results.effects", "xaikit.results.rules")


def load_result(path: str) -> Any:
    """:meth:`xaikit.results.Result.load` of a saved result of any kind (the modules declaring the
    global results' kinds are imported first, so their files are known)."""
    import importlib

    from xaikit.results import Result

    for module in _RESULT_MODULES:
        importlib.import_module(module)
    return Result.load(path)


def parse_target(text: str | None) -> int | str | None:
    """``--target`` as the library takes it: an output position when it reads as an int, else a name.

    >>> parse_target("1"), parse_target("yes"), parse_target(None)
    (1, 'yes', None)
    """
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def check_out(path: str, option: str = "--out") -> str:
    """Check, before any work, that ``path`` can be written: not a folder, in a folder that exists and
    can be written to.

    >>> check_out(os.path.join("no-such-folder-7f3a", "r.xai"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xaikit.cli._common.BadInput: --out: cannot write 'no-such-folder-7f3a...r.xai': the folder '...no-such-folder-7f3a' does not exist; create it first
    """
    if os.path.isdir(path):
        raise BadInput(f"{option}: expected the path of a file, got {path!r}, which is a folder")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise BadInput(f"{option}: cannot write {path!r}: the folder {folder!r} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise BadInput(f"{option}: cannot write {path!r}: the folder {folder!r} is not writable")
    return path
