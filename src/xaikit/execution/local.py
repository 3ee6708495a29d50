"""Run chunks of work on local worker processes."""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from xaikit._validation import check_choice, check_int
from xaikit.errors import InvalidParameterError
from xaikit.execution.base import Executor
from xaikit.execution.shared import (
    CACHE_SIZE,
    MissingShared,
    by_reference,
    remember,
    resolve,
)

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["LocalExecutor"]


@dataclass(frozen=True)
class _Missing:
    """A worker's answer to a job that referred to a shared object it does not hold."""

    key: str


def _run_job(objects: bytes | None, payload: bytes) -> Any:
    """Run one job in a worker: keep the shared objects sent with it, then call ``fn(item)``."""
    given = pickle.loads(objects) if objects is not None else {}
    remember(given)
    try:
        fn, item = resolve(payload, given)
    except MissingShared as missing:
        return _Missing(missing.key)
    return fn(item)


def _cannot_send(exc: BaseException) -> InvalidParameterError:
    return InvalidParameterError(
        "executor: the model or function cannot be sent to worker processes "
        f"({exc}); define it at module level, install cloudpickle, or use executor='serial'"
    )


def _dumps(obj: Any) -> bytes:
    """Pickle for transport to a worker; falls back to cloudpickle for lambdas and closures."""
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        try:
            import cloudpickle
        except ImportError:
            raise _cannot_send(exc) from None
        return cloudpickle.dumps(obj)


class LocalExecutor(Executor):
    """Runs chunks on ``n_workers`` local processes.

    Work is sent to the workers with pickle (cloudpickle when installed, for lambdas); this is
    transport between this program's own processes only, nothing is saved. Large read-only objects
    that derive from :class:`~xaikit.execution.shared.WorkerCached` (tree ensembles) are sent once
    to each worker and kept there (the few most recent), so later jobs carry only their key.

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
        self._sent: OrderedDict[str, None] = OrderedDict()  # keys of shared objects sent to the workers

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context(self.start_method)
            self._pool = ProcessPoolExecutor(max_workers=self.n_workers, mp_context=ctx)
        return self._pool

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if len(items) <= 1 or self.n_workers == 1:
            return [fn(item) for item in items]
        shared: dict[str, Any] = {}
        keys: dict[int, str] = {}
        try:
            payloads = [by_reference((fn, item), shared, keys) for item in items]
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise _cannot_send(exc) from None
        pool = self._get_pool()
        # objects not sent in an earlier call go with every job; a worker that missed them answers
        # _Missing and gets the job again with them
        fresh = {key: obj for key, obj in shared.items() if key not in self._sent}
        results = self._submit(pool, payloads, _dumps(fresh) if fresh else None)
        for key in shared:  # most recently used last, as the workers keep them
            self._sent[key] = None
            self._sent.move_to_end(key)
        while len(self._sent) > CACHE_SIZE:
            self._sent.popitem(last=False)
        missed = [i for i, res in enumerate(results) if isinstance(res, _Missing)]
        if missed:
            again = self._submit(pool, [payloads[i] for i in missed], _dumps(shared))
            for i, res in zip(missed, again, strict=True):
                results[i] = res
        return results

    @staticmethod
    def _submit(pool: ProcessPoolExecutor, payloads: list[bytes], objects: bytes | None) -> list[Any]:
        futures = [pool.submit(_run_job, objects, payload) for payload in payloads]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._sent.clear()

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"LocalExecutor(n_workers={self.n_workers}, start_method={self.start_method!r})"
