"""Run jobs on local worker processes (joblib's loky).

The workers are fresh Python processes that do not run the caller's main module, so a plain
script without ``if __name__ == "__main__":`` and a notebook both work; functions and classes
defined there travel by value (cloudpickle). One pool of workers is kept warm for this process and
shared by every :class:`LocalExecutor`: a later call skips the start-up
and finds the objects the workers keep (see :mod:`xaikit.execution.shared`). Idle workers exit
after :data:`IDLE_TIMEOUT_S` seconds.

Each worker runs one native thread per library: the variables of :data:`WORKER_ENV` are set before
the worker starts, and threadpoolctl limits the BLAS and OpenMP libraries loaded to one thread, so
that ``n_workers`` processes share the CPUs instead of each starting a thread per core.
"""

from __future__ import annotations

import atexit
import os
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor as _ThreadPool
from concurrent.futures import wait as _wait
from dataclasses import dataclass
from typing import Any, TypeVar

from xaikit._validation import check_choice, check_int
from xaikit.errors import InvalidParameterError, XaikitError
from xaikit.execution.base import Executor, gather, settle
from xaikit.execution.shared import CACHE_SIZE, MissingShared, by_reference, remember, resolve

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["IDLE_TIMEOUT_S", "LocalExecutor", "WORKER_ENV"]

#: Seconds an idle worker process waits for work before it exits.
IDLE_TIMEOUT_S = 300

#: Environment of the worker processes: one thread for each native thread pool (OpenMP, BLAS
#: libraries, numexpr, numba).
WORKER_ENV = {
    name: "1"
    for name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "BLIS_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "NUMBA_NUM_THREADS",
    )
}

_START_METHODS = ("loky", "spawn", "forkserver")
_limits: Any = None  # the worker's threadpoolctl limits, kept for the life of the worker


def _init_worker() -> None:
    """Worker initializer: BLAS and OpenMP libraries limited to one thread each."""
    global _limits
    import numpy  # noqa: F401  (loads BLAS, so that the limit reaches it)
    from threadpoolctl import threadpool_limits

    _limits = threadpool_limits(limits=1)


@dataclass(frozen=True)
class _Missing:
    """A worker's answer to a job that referred to a shared object it does not hold."""

    key: str


def _run_job(objects: bytes | None, payload: bytes) -> Any:
    """Run one job in a worker: keep the shared objects sent with it, then call ``fn(*args)``."""
    given = pickle.loads(objects) if objects is not None else {}
    remember(given)
    try:
        fn, args = resolve(payload, given)
    except MissingShared as missing:
        return _Missing(missing.key)
    return fn(*args)


def _cannot_send(exc: BaseException) -> InvalidParameterError:
    return InvalidParameterError(
        "executor: the model or function cannot be sent to worker processes "
        f"({type(exc).__name__}: {exc}); use executor='threads' or 'serial'"
    )


def _dumps(objects: dict[str, Any]) -> bytes:
    import cloudpickle

    try:
        return cloudpickle.dumps(objects, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise _cannot_send(exc) from None


# ------------------------------------------------------------------ the shared pool
_pool_lock = threading.Lock()
_sent: OrderedDict[str, None] = OrderedDict()  # keys of objects sent to the current pool's workers
_sent_pool: Any = None  # the pool _sent describes
_retrier: _ThreadPool | None = None
_last_used: tuple[float, int] | None = None  # when the pool last took jobs, and its size then


def workers_ready(n_workers: int) -> bool:
    """Whether this process's pool had ``n_workers`` workers or more at work recently enough that
    they are still up (they exit after :data:`IDLE_TIMEOUT_S` idle seconds).

    >>> workers_ready(10_000)
    False
    """
    last = _last_used
    return last is not None and last[1] >= n_workers and time.monotonic() - last[0] < 0.9 * IDLE_TIMEOUT_S


_own_pool: Any = None  # xaikit's pool: a loky executor of its own, not joblib's shared one
_own_shape: tuple[int, str] | None = None
_own_lock = threading.Lock()


def _close_own_pool() -> None:
    """Shut the pool down when the interpreter exits (before the modules loky needs are torn down)."""
    pool = _own_pool
    if pool is not None:
        try:
            pool.shutdown(wait=True)
        except Exception:  # noqa: BLE001 - exiting: nothing left to report to
            pass


atexit.register(_close_own_pool)


def _current_pool(n_workers: int, start_method: str) -> Any:
    """This process's pool, with ``n_workers`` workers (started, or replaced when the size or the
    start method changes or it broke). It is xaikit's own loky executor, not the one joblib's
    ``Parallel`` (and so scikit-learn's ``n_jobs``) reuses: sharing that one breaks joblib's calls
    made after ours, and joblib's replacing it would break ours."""
    from joblib.externals.loky import ProcessPoolExecutor
    from joblib.externals.loky.backend.context import get_context

    global _own_pool, _own_shape
    with _own_lock:
        pool = _own_pool
        flags = getattr(pool, "_flags", None)
        unusable = flags is not None and (getattr(flags, "broken", None) or getattr(flags, "shutdown", False))
        if pool is not None and _own_shape == (n_workers, start_method) and not unusable:
            return pool
        if pool is not None and not unusable:
            pool.shutdown(wait=False)  # jobs already sent finish; new ones go to the new pool
        _own_pool = ProcessPoolExecutor(
            max_workers=n_workers, context=get_context(start_method), timeout=IDLE_TIMEOUT_S, initializer=_init_worker,
            env=dict(WORKER_ENV),
        )
        _own_shape = (n_workers, start_method)
        return _own_pool


def _fresh_keys(pool: Any, keys: Sequence[str], n_workers: int) -> set[str]:
    """Which of ``keys`` were not sent to ``pool`` (of ``n_workers`` workers) before; records them
    all as sent (most recently used last, as the workers keep them)."""
    global _sent_pool, _last_used
    with _pool_lock:
        _last_used = (time.monotonic(), n_workers)
        if _sent_pool is not pool:  # a new pool: its workers hold nothing
            _sent.clear()
            _sent_pool = pool
        fresh = {key for key in keys if key not in _sent}
        for key in keys:
            _sent[key] = None
            _sent.move_to_end(key)
        while len(_sent) > CACHE_SIZE:
            _sent.popitem(last=False)
    return fresh


def _retry(fn: Callable[[], None]) -> None:
    """Run ``fn`` on a helper thread (never on the pool's own thread, which must not wait on it)."""
    global _retrier
    with _pool_lock:
        if _retrier is None:
            _retrier = _ThreadPool(max_workers=1, thread_name_prefix="xaikit-retry")
    _retrier.submit(fn)


class _Job(Future[Any]):
    """The future of one job; cancelling it cancels the pool's job if that has not started."""

    def __init__(self) -> None:
        super().__init__()
        self.inner: Future[Any] | None = None

    def cancel(self) -> bool:
        if self.cancelled():
            return True
        inner = self.inner
        if inner is not None and not inner.cancel():
            return False
        if not super().cancel():
            return False
        try:  # no executor will: mark it so that wait() and as_completed() count it as done
            self.set_running_or_notify_cancel()
        except RuntimeError:  # cancelled and notified meanwhile
            pass
        return True


@dataclass
class _Batch:
    """Jobs pickled together: their payloads and the shared objects they refer to."""

    payloads: list[bytes]
    shared: dict[str, Any]
    _all: bytes | None = None

    def all_objects(self) -> bytes:
        if self._all is None:
            self._all = _dumps(self.shared)
        return self._all


class _Lease:
    """One executor's use of the shared pool: its jobs in flight; refuses new jobs once released."""

    def __init__(self, n_workers: int, start_method: str) -> None:
        self.n_workers = n_workers
        self.start_method = start_method
        self.jobs: set[_Job] = set()
        self.released = False
        self._lock = threading.Lock()

    def pool(self) -> Any:
        if self.released:
            raise RuntimeError("cannot schedule new jobs: the executor was closed")
        return _current_pool(self.n_workers, self.start_method)

    def submit(self, fn: Callable[..., R], /, *args: Any) -> Future[R]:
        return self.pool().submit(fn, *args)  # type: ignore[no-any-return]

    def launch(self, job: _Job, batch: _Batch, payload: bytes, objects: bytes | None, *, retried: bool, pool: Any = None) -> None:
        """Send ``payload`` to the pool; a worker that lacks a shared object gets the job again
        with every object of the batch."""
        try:
            inner = (self.pool() if pool is None else pool).submit(_run_job, objects, payload)
        except BaseException as exc:
            self._settle(job, exc=exc)
            return
        job.inner = inner
        with self._lock:
            self.jobs.add(job)

        def done(f: Future[Any]) -> None:
            if f.cancelled():
                job.cancel()
                self._forget(job)
                return
            exc = f.exception()
            if exc is None and isinstance(f.result(), _Missing):
                if retried:  # every object went with the job: cannot happen
                    exc = XaikitError(f"executor: a worker lost the shared object {f.result().key}")
                else:
                    _retry(lambda: self._again(job, batch, payload))
                    return
            if exc is not None:
                self._settle(job, exc=exc)
            else:
                self._settle(job, result=f.result())

        inner.add_done_callback(done)

    def _again(self, job: _Job, batch: _Batch, payload: bytes) -> None:
        try:
            objects = batch.all_objects()
        except BaseException as exc:
            self._settle(job, exc=exc)
            return
        self.launch(job, batch, payload, objects, retried=True)

    def _settle(self, job: _Job, *, result: Any = None, exc: BaseException | None = None) -> None:
        self._forget(job)
        settle(job, result=result, exc=exc)

    def _forget(self, job: _Job) -> None:
        with self._lock:
            self.jobs.discard(job)

    def release(self) -> None:
        """Cancel this executor's jobs not yet started, wait for those running."""
        self.released = True
        with self._lock:
            jobs = list(self.jobs)
        for job in jobs:
            job.cancel()
        _wait(jobs)


class LocalExecutor(Executor):
    """Runs jobs on ``n_workers`` local processes.

    Works from scripts without a ``__main__`` guard and from notebooks. Jobs go to the workers with
    cloudpickle (transport between this program's own processes only; nothing is saved); objects
    wrapped by :meth:`scatter` go to each worker once and are kept there (the
    :data:`~xaikit.execution.shared.CACHE_SIZE` most recent), later jobs carry their key alone.
    The workers are shared with the other instances in this process and stay up between calls
    (see :mod:`xaikit.execution.local`); :meth:`close` cancels this executor's jobs not yet started
    and waits for its running ones.

    Parameters
    ----------
    n_workers : int, optional
        Defaults to the number of CPUs.
    start_method : {"loky", "spawn", "forkserver"}, optional
        How workers start. ``"loky"`` (the default) starts fresh interpreters that do not run the
        caller's main module; with ``"spawn"`` and ``"forkserver"`` scripts must guard their entry
        point with ``if __name__ == "__main__":``.

    Examples
    --------
    >>> with LocalExecutor(2) as ex:
    ...     ex.map(abs, [-1, -2, 3])
    [1, 2, 3]
    """

    def __init__(self, n_workers: int | None = None, *, start_method: str | None = None) -> None:
        self.n_workers = check_int(n_workers, "n_workers", minimum=1) if n_workers is not None else (os.cpu_count() or 1)
        self.start_method = check_choice("loky" if start_method is None else start_method, "start_method", _START_METHODS)
        self._pool: _Lease | None = None

    def _lease(self) -> _Lease:
        if self._pool is None:
            self._pool = _Lease(self.n_workers, self.start_method)
        return self._pool

    def _send(self, fn: Callable[..., Any], arg_lists: Sequence[tuple[Any, ...]]) -> list[Future[Any]]:
        """Pickle the jobs ``fn(*args)`` and send them; objects not yet sent to the pool go with
        every job of this batch."""
        shared: dict[str, Any] = {}
        keys: dict[int, str] = {}
        try:
            payloads = [by_reference((fn, args), shared, keys) for args in arg_lists]
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise _cannot_send(exc) from None
        lease = self._lease()
        batch = _Batch(payloads, shared)
        pool = lease.pool()
        fresh = _fresh_keys(pool, list(shared), lease.n_workers)
        objects = _dumps({key: shared[key] for key in shared if key in fresh}) if fresh else None
        if fresh == set(shared):
            batch._all = objects
        futures: list[Future[Any]] = []
        for payload in payloads:
            job = _Job()
            lease.launch(job, batch, payload, objects, retried=False, pool=pool)
            futures.append(job)
        return futures

    def submit(self, fn: Callable[..., R], /, *args: Any) -> Future[R]:
        return self._send(fn, [args])[0]

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if len(items) <= 1 or self.n_workers == 1:
            return [fn(item) for item in items]
        return gather(self._send(fn, [(item,) for item in items]))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.release()
            self._pool = None

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"LocalExecutor(n_workers={self.n_workers}, start_method={self.start_method!r})"
