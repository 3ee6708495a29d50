"""Executors run independent chunks of work and return their results in order.

Randomness never depends on the executor: every unit of work (an explained row) gets its own
seed from :func:`xaikit._validation.spawn_seeds`, so serial, process and cluster runs give
identical results.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["Executor", "SerialExecutor", "chunk_indices"]


class Executor(ABC):
    """Maps a function over chunks of work. Use as a context manager to release workers."""

    #: Number of chunks worth running at once.
    n_workers: int = 1

    @abstractmethod
    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``[fn(item) for item in items]``, in order."""

    def close(self) -> None:
        """Release workers (no-op for executors without any)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class SerialExecutor(Executor):
    """Runs every chunk in this process, one after the other.

    >>> SerialExecutor().map(abs, [-1, 2])
    [1, 2]
    """

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        return [fn(item) for item in items]

    def __repr__(self) -> str:
        return "SerialExecutor()"


def chunk_indices(n: int, n_chunks: int) -> list[range]:
    """Split ``range(n)`` into at most ``n_chunks`` contiguous, nearly equal ranges.

    >>> chunk_indices(5, 2)
    [range(0, 3), range(3, 5)]
    """
    n_chunks = max(1, min(n, n_chunks))
    size, extra = divmod(n, n_chunks)
    out, start = [], 0
    for i in range(n_chunks):
        stop = start + size + (1 if i < extra else 0)
        if stop > start:
            out.append(range(start, stop))
        start = stop
    return out
