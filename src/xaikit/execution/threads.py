"""Threads in this process: for work that releases the GIL (compiled kernels, numpy)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor as _Pool
from typing import Any, TypeVar

from xaikit._validation import check_int
from xaikit.execution.base import Executor

__all__ = ["ThreadExecutor"]

T = TypeVar("T")
R = TypeVar("R")


class ThreadExecutor(Executor):
    """Runs chunks on ``n_workers`` threads of this process.

    Nothing is copied or pickled, so it starts instantly; it runs in parallel only where the work
    releases the GIL, as xaikit's compiled TreeSHAP kernels do. Results are identical to serial runs.
    :meth:`scatter` hands back a handle on the object itself (the threads share this process's
    memory).

    Examples
    --------
    >>> with ThreadExecutor(2) as ex:
    ...     ex.map(abs, [-1, -2, 3])
    [1, 2, 3]
    """

    def __init__(self, n_workers: int | None = None) -> None:
        self.n_workers = check_int(n_workers, "n_workers", minimum=1) if n_workers is not None else (os.cpu_count() or 1)
        self._pool: _Pool | None = None

    def _get_pool(self) -> _Pool:
        if self._pool is None:
            self._pool = _Pool(max_workers=self.n_workers)
        return self._pool

    def submit(self, fn: Callable[..., R], /, *args: Any) -> Future[R]:
        return self._get_pool().submit(fn, *args)

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if len(items) <= 1 or self.n_workers == 1:
            return [fn(item) for item in items]
        return list(self._get_pool().map(fn, items))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __repr__(self) -> str:
        return f"ThreadExecutor(n_workers={self.n_workers})"
