"""The executor protocol, and the serial executor.

An executor runs independent jobs and hands back their results: :meth:`Executor.map` runs a
function over items and returns the results in order; :meth:`Executor.submit` starts one job and
returns a :class:`concurrent.futures.Future`, and :meth:`Executor.as_completed` yields futures as
they finish; :meth:`Executor.scatter` wraps a large read-only object in a
:class:`~xaikit.execution.shared.Shared` handle that jobs carry instead of the object, so that
executors with worker processes send it to each worker once. Executors are context managers:
leaving the ``with`` block releases their workers.

Randomness never depends on the executor: every unit of work (an explained row) gets its own
seed from :func:`xaikit._validation.spawn_seeds`, so serial, thread, process and cluster runs give
identical results.
"""

from __future__ import annotations

import concurrent.futures
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from xaikit.execution.shared import Shared

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["Executor", "SerialExecutor", "chunk_indices", "gather"]


class Executor(ABC):
    """Runs jobs, in this process or on workers. Use as a context manager to release the workers.

    Subclasses implement :meth:`submit`, and :meth:`map` where a batch can be sent better than
    job by job; :meth:`scatter` where objects can be kept on the workers.
    """

    #: Number of jobs worth running at once (explainers split their work in as many chunks or more).
    n_workers: int = 1

    @abstractmethod
    def submit(self, fn: Callable[..., R], /, *args: Any) -> Future[R]:
        """Start ``fn(*args)``; its result (or exception) comes through the future returned."""

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``[fn(item) for item in items]``, in order. The first exception raised by a job is raised
        here, the jobs not yet started are cancelled."""
        return gather([self.submit(fn, item) for item in items])

    def as_completed(self, futures: Iterable[Future[R]], timeout: float | None = None) -> Iterator[Future[R]]:
        """The ``futures`` (from :meth:`submit`) as they finish, the first finished first."""
        return concurrent.futures.as_completed(list(futures), timeout=timeout)

    def scatter(self, obj: T) -> Shared[T]:
        """A handle on ``obj`` for jobs to carry instead of the object itself (jobs call
        ``handle.get()``). Executors with worker processes send the object to each worker once and
        keep it there; the others hand back a handle on the object as it is."""
        return Shared(obj)

    def close(self) -> None:
        """Release workers (no-op for executors without any)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def settle(future: Future[Any], *, result: Any = None, exc: BaseException | None = None) -> None:
    """Give ``future`` its result (or ``exc``) unless it is done already (cancelled meanwhile, or settled twice).

    >>> f = Future(); settle(f, result=1); settle(f, result=2); f.result()
    1
    """
    if future.done():
        return
    try:
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
    except Exception:  # noqa: BLE001 - cancelled or settled between the check and the call
        pass


def gather(futures: Sequence[Future[R]]) -> list[R]:
    """The results of ``futures`` in order; on the first exception the others are cancelled and the
    exception raised.

    >>> from concurrent.futures import Future
    >>> f = Future(); f.set_result(3)
    >>> gather([f])
    [3]
    """
    try:
        return [future.result() for future in futures]
    except BaseException:
        for future in futures:
            future.cancel()
        raise


class SerialExecutor(Executor):
    """Runs every job in this process, one after the other.

    :meth:`submit` runs the job at once and returns a finished future (an exception raised by the
    job is raised by ``future.result()``, as with the other executors).

    >>> SerialExecutor().map(abs, [-1, 2])
    [1, 2]
    >>> SerialExecutor().submit(pow, 2, 5).result()
    32
    """

    def submit(self, fn: Callable[..., R], /, *args: Any) -> Future[R]:
        future: Future[R] = Future()
        try:
            result = fn(*args)
        except Exception as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future

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
