"""``executor="auto"``: this process for small jobs, worker processes for large ones.

A pool of processes costs time before it saves any: starting the workers and their first imports
and compilations (1 to 3 s measured on two loaded CPUs), then sending the work.
:class:`AutoExecutor` decides at each :meth:`~AutoExecutor.map` call:

1. one item, or one CPU: everything runs in this process;
2. otherwise the first item runs in this process, timed (``t``); with ``m`` items left and ``k``
   workers, a pool would save ``t * (m - ceil(m / k))`` seconds (the rest runs in
   ``ceil(m / k)`` rounds instead of ``m``);
3. the rest goes to ``k`` worker processes (:class:`~xaikit.execution.LocalExecutor`) when that
   saving exceeds ``min_gain_s`` (1 s), plus ``start_s`` (:data:`START_S`, 2 s) when no workers
   of this process are up; it runs in this process otherwise.

So a job that takes less than ``min_gain_s`` run serially never starts a pool. Every item carries
its own seed, so the results are identical whichever way it went.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from xaikit._validation import check_float, check_int
from xaikit.execution.base import Executor, SerialExecutor

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["MIN_GAIN_S", "START_S", "AutoExecutor", "available_cpus", "worth_a_pool"]

#: Seconds a pool must save, by the estimate, before ``"auto"`` uses one.
MIN_GAIN_S = 1.0
#: Seconds fresh workers take to start, import and compile before their first job (estimate).
START_S = 2.0


def available_cpus() -> int:
    """CPUs this process may run on.

    >>> available_cpus() >= 1
    True
    """
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def worth_a_pool(item_s: float, n_items: int, n_workers: int, min_gain_s: float = MIN_GAIN_S) -> bool:
    """Whether ``n_items`` jobs of ``item_s`` seconds each finish at least ``min_gain_s`` sooner
    on ``n_workers`` workers than one after the other (the rule of :mod:`xaikit.execution.auto`).

    >>> worth_a_pool(0.01, 100, 2)  # 1 s of work: 0.5 s saved at best
    False
    >>> worth_a_pool(0.5, 8, 2)  # 4 s of work, 2 s saved
    True
    >>> worth_a_pool(5.0, 1, 2)  # one job cannot be split
    False
    """
    if n_items <= 1 or n_workers <= 1:
        return False
    saved = item_s * (n_items - math.ceil(n_items / n_workers))
    return saved > min_gain_s


class AutoExecutor(Executor):
    """Runs small jobs in this process and large ones on worker processes (the rule is in
    :mod:`xaikit.execution.auto`); what ``executor="auto"`` gives.

    Parameters
    ----------
    n_workers : int, optional
        Worker processes when a pool pays; defaults to the CPUs this process may use.
    min_gain_s : float, default 1.0
        Seconds a pool must save, by the estimate, before one is used (plus :data:`START_S` when
        its workers must be started).

    Attributes
    ----------
    last_choice : {"serial", "processes"} or None
        Where the last :meth:`map` ran its items after the first.

    Examples
    --------
    >>> with AutoExecutor(2) as ex:
    ...     ex.map(abs, [-1, -2, 3])
    [1, 2, 3]
    >>> ex.last_choice
    'serial'
    """

    def __init__(self, n_workers: int | None = None, *, min_gain_s: float = MIN_GAIN_S) -> None:
        self.n_workers = available_cpus() if n_workers is None else check_int(n_workers, "n_workers", minimum=1)
        self.min_gain_s = check_float(min_gain_s, "min_gain_s", minimum=0.0)
        self.last_choice: str | None = None
        self._processes: Executor | None = None

    def _pool(self) -> Executor:
        if self._processes is None:
            from xaikit.execution.local import LocalExecutor

            self._processes = LocalExecutor(self.n_workers)
        return self._processes

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        items = list(items)
        if len(items) <= 1 or self.n_workers == 1:
            self.last_choice = "serial"
            return [fn(item) for item in items]
        start = time.perf_counter()
        first = fn(items[0])
        item_s = time.perf_counter() - start
        rest = items[1:]
        from xaikit.execution.local import workers_ready

        start_s = 0.0 if workers_ready(self.n_workers) else START_S
        if worth_a_pool(item_s, len(rest), self.n_workers, self.min_gain_s + start_s):
            self.last_choice = "processes"
            return [first, *self._pool().map(fn, rest)]
        self.last_choice = "serial"
        return [first, *(fn(item) for item in rest)]

    def submit(self, fn: Callable[..., R], /, *args: Any) -> Future[R]:
        """Runs ``fn(*args)`` in this process (one job gives nothing to measure against a pool);
        ask for ``"processes:N"`` to run submitted jobs on workers."""
        return SerialExecutor().submit(fn, *args)

    def close(self) -> None:
        if self._processes is not None:
            self._processes.close()
            self._processes = None

    def __repr__(self) -> str:
        return f"AutoExecutor(n_workers={self.n_workers})"
