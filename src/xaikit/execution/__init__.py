"""Executors: where chunks of work run. Every executor returns identical results."""

from __future__ import annotations

from typing import Any

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.execution.base import Executor, SerialExecutor, chunk_indices
from xaikit.execution.local import LocalExecutor
from xaikit.execution.threads import ThreadExecutor

__all__ = ["Executor", "SerialExecutor", "LocalExecutor", "ThreadExecutor", "get_executor", "chunk_indices"]


def get_executor(spec: Any = None) -> Executor:
    """An executor from a specification.

    ``None`` or ``"serial"``: this process. ``"processes"`` or ``"processes:N"``: N local
    processes. ``"threads"`` or ``"threads:N"``: N threads (for work that releases the GIL,
    such as TreeSHAP). An :class:`Executor` is returned as it is.

    >>> get_executor("serial")
    SerialExecutor()
    >>> get_executor("processes:2").n_workers
    2
    >>> get_executor("threads:2")
    ThreadExecutor(n_workers=2)
    """
    if spec is None or spec == "serial":
        return SerialExecutor()
    if isinstance(spec, Executor):
        return spec
    for kind, cls in (("processes", LocalExecutor), ("threads", ThreadExecutor)):
        if isinstance(spec, str) and (spec == kind or spec.startswith(kind + ":")):
            _, _, count = spec.partition(":")
            if count and not (count.isascii() and count.isdigit() and int(count) > 0):
                raise InvalidParameterError(f"executor: expected '{kind}:N' with N a positive integer, got {spec!r}")
            return cls(int(count) if count else None)
    raise InvalidParameterError(
        f"executor: expected None, 'serial', 'processes[:N]', 'threads[:N]' or an Executor, got {describe(spec)}"
    )
