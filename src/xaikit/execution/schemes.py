"""``get_executor``: an executor from a specification, through one table of schemes.

=====================  ======================================================================
``"auto"``, ``None``   :class:`~xaikit.execution.AutoExecutor` for ``"auto"`` (serial for small
                       jobs, processes for large ones); ``None`` means ``"serial"``
``"auto:N"``           the same, with at most N worker processes
``"serial"``           :class:`~xaikit.execution.SerialExecutor`: this process
``"threads[:N]"``      :class:`~xaikit.execution.ThreadExecutor`: N threads (work that releases
                       the GIL, such as TreeSHAP); N defaults to the number of CPUs
``"processes[:N]"``    :class:`~xaikit.execution.LocalExecutor`: N local worker processes
``"dask://host:port"`` :class:`~xaikit.execution.dask.DaskExecutor` on the Dask scheduler at
                       that address (the client made is closed with the executor)
``"dask-local[:N]"``   a ``LocalCluster`` of N Dask worker processes (default: the number of
                       CPUs), one thread each, closed with the executor
a Dask ``Client``      its cluster: a ``distributed.Client`` (recognised by its type name, nothing
                       imported; the caller keeps it open)
an :class:`Executor`   returned as it is (the caller keeps it open)
=====================  ======================================================================

:func:`register_executor` adds a scheme (``"name[:N]"`` or ``"name://address"``) and
:func:`register_executor_type` a type of object, by its dotted type name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.execution.auto import MIN_GAIN_S, START_S, AutoExecutor, available_cpus, worth_a_pool
from xaikit.execution.base import Executor, SerialExecutor
from xaikit.execution.threads import ThreadExecutor

__all__ = ["get_executor", "register_executor", "register_executor_type", "unregister_executor"]


@dataclass(frozen=True)
class _Scheme:
    syntax: str  # how the specification is written, for messages
    make: Callable[[str, str], Executor]  # (argument after the scheme, whole specification) -> executor


_SCHEMES: dict[str, _Scheme] = {}
_TYPES: dict[str, Callable[[Any], Executor]] = {}


def register_executor(
    scheme: str, make: Callable[[str, str], Executor], *, syntax: str | None = None, replace: bool = False
) -> None:
    """Make ``get_executor`` answer specifications of ``scheme``.

    ``scheme`` is ``"name"`` (specifications ``"name"`` and ``"name:ARG"``) or ``"name://"``
    (``"name://ARG"``). ``make(arg, spec)`` builds the executor (``arg`` is ``""`` when absent) and
    raises :class:`~xaikit.errors.InvalidParameterError` naming ``executor`` for a bad argument.
    ``syntax`` shows the form in messages.

    >>> register_executor("inline", lambda arg, spec: SerialExecutor(), syntax="'inline'")
    >>> get_executor("inline")
    SerialExecutor()
    >>> unregister_executor("inline")
    """
    if not isinstance(scheme, str) or not scheme.rstrip("/:").replace("-", "").replace("_", "").isalnum():
        raise InvalidParameterError(f"scheme: expected a name such as 'processes' or 'dask://', got {describe(scheme)}")
    if scheme in _SCHEMES and not replace:
        raise InvalidParameterError(f"scheme: {scheme!r} is already registered; pass replace=True to replace it")
    _SCHEMES[scheme] = _Scheme(syntax or (f"'{scheme}address'" if scheme.endswith("://") else f"'{scheme}'"), make)


def unregister_executor(scheme: str) -> None:
    """Forget a scheme added by :func:`register_executor`."""
    _SCHEMES.pop(scheme, None)


def register_executor_type(type_name: str, make: Callable[[Any], Executor]) -> None:
    """Make ``get_executor(obj)`` answer ``make(obj)`` for objects whose type (or a base of it) has the
    dotted name ``type_name``, e.g. ``"distributed.client.Client"``; nothing is imported to check."""
    _TYPES[type_name] = make


def _count(arg: str, spec: str, kind: str) -> int | None:
    if not arg:
        return None
    if not (arg.isascii() and arg.isdigit() and int(arg) > 0):
        raise InvalidParameterError(f"executor: expected '{kind}:N' with N a positive integer, got {spec!r}")
    return int(arg)


def _no_argument(arg: str, spec: str, kind: str) -> None:
    if arg:
        raise InvalidParameterError(f"executor: expected {kind!r} with nothing after it, got {spec!r}")


def _serial(arg: str, spec: str) -> Executor:
    _no_argument(arg, spec, "serial")
    return SerialExecutor()


def _processes(n: int | None) -> Executor:
    from xaikit.execution.local import LocalExecutor

    return LocalExecutor(n)


def _dask(spec: Any) -> Executor:
    from xaikit.execution.dask import dask_executor

    return dask_executor(spec)


register_executor("auto", lambda arg, spec: AutoExecutor(_count(arg, spec, "auto")), syntax="'auto[:N]'")
register_executor("serial", lambda arg, spec: _serial(arg, spec), syntax="'serial'")
register_executor("threads", lambda arg, spec: ThreadExecutor(_count(arg, spec, "threads")), syntax="'threads[:N]'")
register_executor("processes", lambda arg, spec: _processes(_count(arg, spec, "processes")), syntax="'processes[:N]'")
register_executor("dask://", lambda arg, spec: _dask(spec), syntax="'dask://host:port'")
register_executor("dask-local", lambda arg, spec: _dask(spec), syntax="'dask-local[:N]'")
register_executor_type("distributed.client.Client", _dask)


def _type_names(obj: Any) -> list[str]:
    return [f"{cls.__module__}.{cls.__qualname__}" for cls in type(obj).__mro__]


def _expected() -> str:
    forms = [scheme.syntax for scheme in _SCHEMES.values()]
    return f"None, {', '.join(forms)}, a distributed.Client or an Executor"


def get_executor(spec: Any = None, *, n_items: int | None = None, cost_hint_s: float | None = None) -> Executor:
    """An executor from a specification (the table is in :mod:`xaikit.execution.schemes`).

    Parameters
    ----------
    spec : str, Executor or None
        ``"auto"``, ``"serial"``, ``"threads[:N]"``, ``"processes[:N]"``, ``"dask://host:port"``,
        ``"dask-local[:N]"``, a ``distributed.Client``, an :class:`Executor` (returned as it is), or
        ``None`` (serial).
    n_items, cost_hint_s : optional
        For ``"auto"``: the number of jobs and an estimate of their total serial run time in
        seconds. Given both, the choice is made at once by the rule of
        :mod:`xaikit.execution.auto` (a :class:`SerialExecutor` or a
        :class:`~xaikit.execution.LocalExecutor`); otherwise it is made at ``map`` time.

    Examples
    --------
    >>> get_executor("serial")
    SerialExecutor()
    >>> get_executor("processes:2").n_workers
    2
    >>> get_executor("threads:2")
    ThreadExecutor(n_workers=2)
    >>> get_executor("auto", n_items=100, cost_hint_s=0.2)
    SerialExecutor()
    """
    if spec is None:
        return SerialExecutor()
    if isinstance(spec, Executor):
        return spec
    if isinstance(spec, str):
        name, sep, arg = spec.partition("://")
        scheme = _SCHEMES.get(name + sep) if sep else None
        if scheme is None:
            name, _, arg = spec.partition(":")
            scheme = _SCHEMES.get(name)
        if scheme is not None:
            if name == "auto" and n_items is not None and cost_hint_s is not None:
                return _auto_now(_count(arg, spec, "auto"), n_items, cost_hint_s)
            return scheme.make(arg, spec)
    else:
        for type_name in _type_names(spec):
            if type_name in _TYPES:
                return _TYPES[type_name](spec)
    raise InvalidParameterError(f"executor: expected {_expected()}, got {describe(spec)}")


def _auto_now(n_workers: int | None, n_items: Any, cost_hint_s: Any) -> Executor:
    from xaikit._validation import check_float, check_int

    n = check_int(n_items, "n_items", minimum=0)
    cost = check_float(cost_hint_s, "cost_hint_s", minimum=0.0)
    k = available_cpus() if n_workers is None else n_workers
    from xaikit.execution.local import workers_ready

    if n and worth_a_pool(cost / n, n, k, MIN_GAIN_S + (0.0 if workers_ready(k) else START_S)):
        return _processes(k)
    return SerialExecutor()
