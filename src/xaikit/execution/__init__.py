"""Executors: where jobs run. Every executor returns identical results.

The protocol (:class:`Executor`):

- ``map(fn, items)``: ``[fn(item) for item in items]``, in order;
- ``submit(fn, *args)``: a :class:`concurrent.futures.Future` of ``fn(*args)``, and
  ``as_completed(futures)``: the futures as they finish;
- ``scatter(obj)``: a :class:`Shared` handle on a large read-only object. Jobs carry the handle
  and call ``handle.get()``; an executor with worker processes sends the object to each worker
  once and keeps it there (a worker that lacks it gets it), so later jobs carry a key alone;
- ``close()``, and ``with``: release the workers.

:func:`get_executor` resolves a specification through one table of schemes
(:mod:`xaikit.execution.schemes`): ``"auto"`` (the default of explainers: serial for small jobs,
worker processes for large ones, see :mod:`xaikit.execution.auto`), ``"serial"``,
``"threads[:N]"``, ``"processes[:N]"`` (joblib's loky: works from scripts and notebooks; each
worker runs BLAS and OpenMP on one thread), or an :class:`Executor`. Each job carries its own
seeds (:func:`xaikit._validation.spawn_seeds`), so the executor never changes a result.

>>> from xaikit.execution import get_executor
>>> def weighted_total(job):
...     table, weight = job
...     return weight * sum(table.get())
>>> with get_executor("threads:2") as ex:
...     table = ex.scatter(list(range(10)))
...     ex.map(weighted_total, [(table, 1), (table, 2)])
[45, 90]
>>> with get_executor("serial") as ex:
...     futures = [ex.submit(pow, 2, k) for k in range(3)]
...     sorted(f.result() for f in ex.as_completed(futures))
[1, 2, 4]
"""

from __future__ import annotations

from xaikit.execution import shared
from xaikit.execution.auto import AutoExecutor
from xaikit.execution.base import Executor, SerialExecutor, chunk_indices, gather
from xaikit.execution.dask import DaskExecutor
from xaikit.execution.local import LocalExecutor
from xaikit.execution.schemes import get_executor, register_executor, register_executor_type, unregister_executor
from xaikit.execution.shared import Shared
from xaikit.execution.threads import ThreadExecutor

__all__ = [
    "DaskExecutor",
    "AutoExecutor",
    "Executor",
    "LocalExecutor",
    "SerialExecutor",
    "Shared",
    "ThreadExecutor",
    "chunk_indices",
    "gather",
    "get_executor",
    "register_executor",
    "register_executor_type",
    "shared",
    "unregister_executor",
]
