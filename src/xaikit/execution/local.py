"""Run chunks of work on local worker processes."""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from xaikit._validation import check_choice, check_int
from xaikit.errors import InvalidParameterError
from xaikit.execution.base import Executor

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["LocalExecutor"]


def _run_serialized(payload: bytes) -> Any:
    fn, item = pickle.loads(payload)
    return fn(item)


def _dumps(obj: Any) -> bytes:
    """Pickle for transport to a worker; falls back to cloudpickle for lambdas and closures."""
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        try:
            import cloudpickle
        except ImportError:
            raise InvalidParameterError(
                "executor: the model or function cannot be sent to worker processes "
                f"({exc}); define it at module level, install cloudpickle, or use executor='serial'"
            ) from None
        return cloudpickle.dumps(obj)


class LocalExecutor(Executor):
    """Runs chunks on ``n_workers`` local processes.

    Work is sent to the workers with pickle (cloudpickle when installed, for lambdas); this is
    transport between this program's own processes only, nothing is saved.

    Parameters
    ----------
    n_workers : int, optional
        Defaults to the number of CPUs.
    start_method : {"forkserver", "spawn", "fork"}, optional
        How workers start. ``"forkserver"`` (the default on Linux) is safe with libraries that
        use OpenMP threads; scripts must then guard their entry point with
        ``if __name__ == "__main__":``.

    Examples
    --------
    >>> with LocalExecutor(2) as ex:  # doctest: +SKIP
    ...     ex.map(abs, [-1, -2, 3])
    [1, 2, 3]
    """

    def __init__(self, n_workers: int | None = None, *, start_method: str | None = None) -> None:
        self.n_workers = check_int(n_workers, "n_workers", minimum=1) if n_workers is not None else (os.cpu_count() or 1)
        methods = multiprocessing.get_all_start_methods()
        if start_method is None:
            start_method = "forkserver" if "forkserver" in methods else "spawn"
        self.start_method = check_choice(start_method, "start_method", methods)
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context(self.start_method)
            self._pool = ProcessPoolExecutor(max_workers=self.n_workers, mp_context=ctx)
        return self._pool

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if len(items) <= 1 or self.n_workers == 1:
            return [fn(item) for item in items]
        payloads = [_dumps((fn, item)) for item in items]
        return list(self._get_pool().map(_run_serialized, payloads))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"LocalExecutor(n_workers={self.n_workers}, start_method={self.start_method!r})"
