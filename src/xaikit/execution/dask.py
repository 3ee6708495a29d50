"""Run jobs on a Dask cluster (``distributed``).

:class:`DaskExecutor` follows the executor protocol over a ``distributed.Client``:

- ``get_executor("dask://host:8786")`` connects to a running scheduler (and closes the client it
  made when the executor closes); an address that cannot be reached within ``timeout`` seconds
  is an :class:`~xaikit.errors.InvalidParameterError` naming ``executor``;
- ``get_executor("dask-local:N")`` (or ``"dask-local"``) starts a ``LocalCluster`` of N worker
  processes of one thread each (native thread pools limited to one thread, as
  :data:`~xaikit.execution.local.WORKER_ENV`), no dashboard, quiet logs; closed with the executor;
- a ``distributed.Client`` passed as ``executor=`` is used as it is and never closed here.

Jobs are pickled as :mod:`xaikit.execution.local` does (cloudpickle), each
:class:`~xaikit.execution.shared.Shared` handle inside a job replaced by the key of its object.
:meth:`DaskExecutor.scatter` sends the object to every worker once (``client.scatter(...,
broadcast=True)``); jobs carry their rows and a reference to the scattered data, which Dask hands to
the task on its worker. A worker lost in the middle of a job: Dask runs its tasks again on the
others (the scattered data has a copy on every worker, and a restarted worker fetches it from a
peer); when every copy of a scattered object is lost, the object is sent again from this process
and the jobs that needed it run again. Every job draws from its own seeds, so the results are
those of any other executor.

``distributed`` is imported when an executor is made, never by ``import xaikit``.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from xaikit._optional import import_optional
from xaikit._validation import check_float, check_int, describe
from xaikit.errors import InvalidParameterError, XaikitError
from xaikit.execution.base import Executor, gather, settle
from xaikit.execution.local import WORKER_ENV
from xaikit.execution.shared import Shared, by_reference, content_key, resolve

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["CONNECT_TIMEOUT_S", "DaskExecutor", "INLINE_BYTES", "RESUBMITS"]

#: Seconds to wait for a scheduler given by address before giving up.
CONNECT_TIMEOUT_S = 10.0

#: Jobs larger than this (bytes pickled: their rows, mostly) are sent to a worker as data
#: (``client.scatter``) ahead of their task, rather than inside the task graph.
INLINE_BYTES = 1 << 20

#: Times a job runs again after the scattered data it needed was lost with every worker holding it.
RESUBMITS = 2
#: Dask settings of the workers of ``"dask-local:N"``: no statistical profiler (a thread that samples each
#: task's stack every 10 ms and holds the GIL while it does, which slows Python-heavy chunks such as
#: KernelSHAP's rows). A cluster of one's own takes it from its workers' Dask configuration
#: (``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False``).
QUIET_WORKER_CONFIG = {"distributed.worker.profile.enabled": False}


def _run_payload(payload: bytes, keys: tuple[str, ...], *objects: Any) -> Any:
    """Run one job on a Dask worker: the shared objects arrive as the task's data (``objects``,
    in the order of ``keys``), the job is ``fn(*args)`` unpickled from ``payload``."""
    fn, args = resolve(payload, dict(zip(keys, objects)))
    return fn(*args)


def _cannot_send(exc: BaseException) -> InvalidParameterError:
    return InvalidParameterError(
        "executor: the model or function cannot be sent to the Dask workers "
        f"({type(exc).__name__}: {exc}); use executor='threads' or 'serial'"
    )


class _Job(Future[Any]):
    """The future of one job, settled from the Dask future that runs it."""

    def __init__(self) -> None:
        super().__init__()
        self.inner: Any = None

    def cancel(self) -> bool:
        if self.done():
            return self.cancelled()
        inner = self.inner
        if inner is not None:
            try:
                inner.cancel()
            except Exception:  # noqa: BLE001 - the client is closing: nothing left to cancel
                pass
        if not super().cancel():
            return False
        try:  # no executor will: mark it so that wait() and as_completed() count it as done
            self.set_running_or_notify_cancel()
        except RuntimeError:
            pass
        return True


class DaskExecutor(Executor):
    """Runs jobs on the workers of a Dask cluster.

    Parameters
    ----------
    client : distributed.Client or str
        A client (used as it is, left open by :meth:`close`) or a scheduler's address
        (``"tcp://host:8786"`` or ``"host:8786"``: a client is made, and closed by :meth:`close`).
    timeout : float, optional
        Seconds to wait for the scheduler of an address (default :data:`CONNECT_TIMEOUT_S`).

    Use :meth:`local` for a cluster of worker processes on this machine. ``n_workers`` is the
    number of worker threads of the cluster when the executor is made (at least 1).

    Examples
    --------
    >>> with DaskExecutor.local(1) as ex:
    ...     table = ex.scatter([1, 2, 3])
    ...     ex.map(abs, [-1, 2]), ex.submit(sum, [4, 5]).result(), ex.n_workers
    ([1, 2], 9, 1)
    """

    def __init__(self, client: Any, *, timeout: float | None = None) -> None:
        distributed = import_optional("distributed", "dask")
        wait_s = check_float(CONNECT_TIMEOUT_S if timeout is None else timeout, "timeout", minimum=0.0, strict_minimum=True)
        self._cluster: Any = None
        self._owns_client = isinstance(client, str)
        if isinstance(client, str):
            address = client if "://" in client else f"tcp://{client}"
            try:
                client = distributed.Client(address, timeout=wait_s, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise InvalidParameterError(
                    f"executor: expected the address of a running Dask scheduler, got {address!r}, "
                    f"which could not be reached within {wait_s:g} s ({type(exc).__name__}: {exc})"
                ) from None
        elif not isinstance(client, distributed.Client):
            raise InvalidParameterError(
                f"executor: expected a distributed.Client or a Dask scheduler's address, got {describe(client)}"
            )
        self.client = client
        self._lock = threading.Lock()
        self._scattered: dict[str, Any] = {}  # content key -> Dask future of the object on the workers
        self._objects: dict[str, Any] = {}  # content key -> the object (kept: sent again if every copy is lost)
        self._keys: dict[int, str] = {}  # id of an object -> its content key
        self._jobs: set[_Job] = set()
        self._finished: queue.SimpleQueue[tuple[_Job, Any]] = queue.SimpleQueue()
        self._fetcher: threading.Thread | None = None
        self._tag = uuid.uuid4().hex[:12]
        self.scatter_calls = 0  # objects this executor sent to the workers by scatter()
        self.n_workers = self._count_workers()

    @classmethod
    def local(cls, n_workers: int | None = None) -> DaskExecutor:
        """A :class:`DaskExecutor` on a new ``LocalCluster`` of ``n_workers`` worker processes (default:
        the number of CPUs), one thread each, closed with the executor."""
        distributed = import_optional("distributed", "dask")
        n = check_int(n_workers, "n_workers", minimum=1) if n_workers is not None else (os.cpu_count() or 1)
        import dask

        try:
            with dask.config.set(QUIET_WORKER_CONFIG):  # handed to the worker processes by their nannies
                cluster = distributed.LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                    worker_dashboard_address=None, silence_logs=logging.ERROR, env=dict(WORKER_ENV),
                )
        except (RuntimeError, OSError, TimeoutError) as exc:
            raise XaikitError(
                f"executor: the {n} Dask worker processes of 'dask-local:{n}' failed to start ({type(exc).__name__}: {exc}); "
                "a script that starts a local Dask cluster must guard its entry point with "
                "if __name__ == '__main__': (the workers start by importing it)"
            ) from None
        try:
            client = distributed.Client(cluster, set_as_default=False)
        except BaseException:
            cluster.close()
            raise
        ex = cls(client)
        ex._owns_client = True
        ex._cluster = cluster
        return ex

    def _count_workers(self) -> int:
        try:
            threads = self.client.nthreads()
        except Exception:  # noqa: BLE001 - a client not connected yet
            return 1
        return max(1, sum(int(t) for t in threads.values()))

    # ------------------------------------------------------------------ shared objects
    def _key(self, obj: Any) -> str:
        key = self._keys.get(id(obj))
        if key is None:
            key = self._keys[id(obj)] = content_key(obj)
        return key

    def _send(self, key: str, obj: Any, *, broadcast: bool) -> Any:
        """The Dask future of ``obj`` on the workers, sent now unless sent already."""
        with self._lock:
            future = self._scattered.get(key)
            if future is not None and future.status != "lost":
                return future
            self._objects[key] = obj
        future = self._scatter(obj, broadcast=broadcast)
        with self._lock:
            self._scattered[key] = future
        return future

    def _scatter(self, obj: Any, *, broadcast: bool) -> Any:
        """``client.scatter``, tried again (up to :data:`RESUBMITS` times) when the worker chosen to
        receive the object dies meanwhile."""
        attempt = 0
        while True:
            try:
                (future,) = self.client.scatter([obj], broadcast=broadcast, hash=False)
                return future
            except (pickle.PicklingError, AttributeError, TypeError) as exc:
                raise _cannot_send(exc) from None
            except OSError:  # the connection to a worker closed: it died, another one takes the object
                if attempt >= RESUBMITS:
                    raise
                attempt += 1
                time.sleep(0.2 * attempt)

    def scatter(self, obj: T) -> Shared[T]:
        """A handle on ``obj``, which is sent to every worker now (once); the jobs carrying the handle
        get the worker's copy."""
        self._send(self._key(obj), obj, broadcast=True)
        self.scatter_calls += 1
        return Shared(obj)

    # ------------------------------------------------------------------ jobs
    def _payload(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[bytes, tuple[str, ...], list[Any]]:
        shared: dict[str, Any] = {}
        try:
            payload = by_reference((fn, args), shared, self._keys)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise _cannot_send(exc) from None
        keys = tuple(shared)
        return payload, keys, [self._send(key, shared[key], broadcast=False) for key in keys]

    def _launch(self, job: _Job, payload: bytes, keys: tuple[str, ...], data: list[Any], tries: int) -> None:
        try:
            # a large job (its rows) goes to a worker as data ahead of the task, not inside the task graph
            sent = self._scatter(payload, broadcast=False) if len(payload) > INLINE_BYTES else payload
            inner = self.client.submit(_run_payload, sent, keys, *data, pure=False,
                                       key=f"xaikit-job-{self._tag}-{uuid.uuid4().hex}")
        except BaseException as exc:
            self._settle(job, exc=exc)
            return
        job.inner = inner
        with self._lock:
            self._jobs.add(job)

        def done(f: Any) -> None:
            if job.cancelled():
                self._forget(job)
                return
            try:
                status = f.status
                if status == "finished":
                    self._fetch(job, f)
                elif status == "error":
                    self._settle(job, exc=f.exception())
                elif tries < RESUBMITS and self._owned(job):  # lost: its data (or the task) went with every worker holding it
                    threading.Thread(target=self._again, args=(job, payload, keys, tries), daemon=True).start()
                else:
                    self._settle(job, exc=XaikitError(f"executor: a Dask job was lost ({status}) and could not be run again"))
            except BaseException as exc:  # noqa: BLE001 - the job's outcome, whatever it is
                self._settle(job, exc=exc)

        inner.add_done_callback(done)

    def _fetch(self, job: _Job, inner: Any) -> None:
        """Hand the result of the finished ``inner`` to ``job`` (results fetched in batches: one
        ``gather`` for the jobs finished meanwhile, on one thread of this executor)."""
        self._finished.put((job, inner))
        with self._lock:
            if self._fetcher is None or not self._fetcher.is_alive():
                self._fetcher = threading.Thread(target=self._fetch_loop, name="xaikit-dask-fetch", daemon=True)
                self._fetcher.start()

    def _fetch_loop(self) -> None:
        while True:
            try:
                batch = [self._finished.get(timeout=1.0)]
            except queue.Empty:
                with self._lock:  # idle: the thread ends (a later result starts another)
                    if self._finished.empty():
                        self._fetcher = None
                        return
                continue
            while True:
                try:
                    batch.append(self._finished.get_nowait())
                except queue.Empty:
                    break
            try:
                results = self.client.gather([inner for _, inner in batch])
            except BaseException:  # noqa: BLE001 - one of them failed meanwhile: each on its own
                for job, inner in batch:
                    try:
                        self._settle(job, result=inner.result())
                    except BaseException as exc:  # noqa: BLE001 - reported through the job
                        self._settle(job, exc=exc)
                continue
            for (job, _), result in zip(batch, results):
                self._settle(job, result=result)

    def _owned(self, job: _Job) -> bool:
        with self._lock:
            return job in self._jobs

    def _again(self, job: _Job, payload: bytes, keys: tuple[str, ...], tries: int) -> None:
        """Send again the objects of ``keys`` whose every copy was lost, then the job."""
        try:
            with self._lock:
                for key in keys:
                    future = self._scattered.get(key)
                    if future is not None and future.status != "finished":
                        del self._scattered[key]
            data = [self._send(key, self._objects[key], broadcast=True) for key in keys]
        except BaseException as exc:  # noqa: BLE001 - reported through the job
            self._settle(job, exc=exc)
            return
        self._launch(job, payload, keys, data, tries + 1)

    def _settle(self, job: _Job, *, result: Any = None, exc: BaseException | None = None) -> None:
        self._forget(job)
        settle(job, result=result, exc=exc)

    def _forget(self, job: _Job) -> None:
        with self._lock:
            self._jobs.discard(job)

    def submit(self, fn: Callable[..., R], /, *args: Any) -> Future[R]:
        payload, keys, data = self._payload(fn, args)
        job = _Job()
        self._launch(job, payload, keys, data, 0)
        return job

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        return gather([self.submit(fn, item) for item in items])

    def close(self) -> None:
        """Cancel the jobs not finished and release the scattered objects; close the client and the
        cluster this executor made (a client passed in stays open)."""
        with self._lock:
            jobs = list(self._jobs)
            scattered = list(self._scattered.values())
            self._scattered.clear()
            self._objects.clear()
            self._keys.clear()
        for job in jobs:
            job.cancel()
        for future in scattered:
            try:
                future.release()
            except Exception:  # noqa: BLE001 - the client is gone already
                pass
        if self._owns_client:
            self._owns_client = False
            try:
                self.client.close()
            finally:
                if self._cluster is not None:
                    cluster, self._cluster = self._cluster, None
                    cluster.close()

    def __repr__(self) -> str:
        scheduler = getattr(getattr(self.client, "scheduler", None), "address", None)
        return f"DaskExecutor(scheduler={scheduler!r}, n_workers={self.n_workers})"


def dask_executor(spec: Any) -> DaskExecutor:
    """The executor of a specification: ``"dask://ADDRESS"``, ``"dask-local[:N]"`` or a
    ``distributed.Client`` (see :func:`xaikit.execution.get_executor`)."""
    if isinstance(spec, str) and spec.startswith("dask://"):
        address = spec[len("dask://"):]
        host, _, port = address.rpartition("://")[2].rpartition(":")
        if not host or not (port.isascii() and port.isdigit()):
            raise InvalidParameterError(f"executor: expected 'dask://host:port', got {spec!r}")
        return DaskExecutor(address)
    if isinstance(spec, str):
        name, _, arg = spec.partition(":")
        if name != "dask-local" or (arg and not (arg.isascii() and arg.isdigit() and int(arg) > 0)):
            raise InvalidParameterError(f"executor: expected 'dask-local' or 'dask-local:N' with N a positive integer, got {spec!r}")
        return DaskExecutor.local(int(arg) if arg else None)
    return DaskExecutor(spec)
