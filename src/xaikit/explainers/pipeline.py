"""The one explain pipeline every method runs, and the parameters a method declares.

``explain(X, /, *, target=None, executor="auto", random_state=None, **parameters)`` is written once
(:meth:`xaikit.explainers.base.Explainer.explain` calls :func:`run`). A method writes no
``explain``: it declares its ``explain_parameters`` (:class:`Parameter`) and supplies three steps.

The pipeline, in order:

1. the clock starts; ``parameters`` are checked against the declaration (an unknown name is
   refused with the names the method takes, defaults are filled in, each value goes through its
   :class:`Parameter`'s check); ``random_state`` becomes the seed (a ``SeedSequence``);
2. the executor is opened; it is closed on leaving, errors included, when it was made here;
3. ``method._start(X, target, params) -> Plan``: the rows checked and prepared, the outputs
   chosen, the parameters that depend on the data checked, and what every chunk of rows needs;
4. ``method._run(plan, executor, seed) -> parts``: by default the rows are split into
   ``plan.split`` chunks per worker (``0``: one chunk, computed in this process, for methods
   whose model runs here, such as a network), each chunk's job made by ``plan.job(rows, seed)``
   and run on the executor, the method itself sent to each worker once; row ``i`` always draws from :func:`row_seeds` ``(seed, [i])``, so the
   split never changes a result. A method with a split of its own (TreeSHAP's tree groups)
   overrides ``_run``;
5. ``method._finish(plan, parts) -> Answer``: the result's fields and the method's diagnostics;
6. the result: ``method`` (the registry name), ``params`` (the checked parameters, the answer's
   own, and the ``output``), diagnostics (the answer's, ``exact`` unless it says, ``runtime_s``
   and ``seed``) and provenance (versions, model, output, seed and the answer's).

Examples
--------
A method in full: the values of a linear model ``f(x) = w . x`` against a reference point.

>>> import numpy as np, xaikit as xk
>>> from xaikit.explainers.base import Explainer
>>> from xaikit.explainers.pipeline import Answer, Parameter, Plan, integer
>>> class LinearDiff(Explainer[xk.Attribution]):
...     name = "doc_linear_diff"
...     exact = True
...     explain_parameters = (Parameter("decimals", 6, "int", "Digits kept.", integer(minimum=0)),)
...     def __init__(self, w, /, *, reference):
...         self.w, self.reference = np.asarray(w, float), np.asarray(reference, float)
...     def _start(self, X, target, params):
...         X = np.asarray(X, float)
...         return Plan(len(X), split=0, job=lambda rows, seed: lambda me: me.w * (X[rows] - me.reference))
...     def _finish(self, plan, parts):
...         values = np.round(np.concatenate(parts), plan.params["decimals"])[:, :, None]
...         base = np.full((plan.n_rows, 1), self.w @ self.reference)
...         return Answer({"values": values, "base_values": base}, {})
...     def _model(self):
...         return "linear model", "raw"
>>> exp = LinearDiff([1.0, 2.0], reference=[0.0, 0.0]).explain([[1.0, 1.0]], decimals=2)
>>> exp.values[0, :, 0].tolist(), exp.params["decimals"], exp.diagnostics["exact"]
([1.0, 2.0], 2, True)
>>> LinearDiff([1.0], reference=[0.0]).explain([[1.0]], decimal=2)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
xaikit.errors.InvalidParameterError: decimal: not a parameter of LinearDiff.explain; expected one of [...] (did you mean 'decimals'?)
>>> from xaikit.explainers.base import REGISTRY; _ = REGISTRY.pop("doc_linear_diff")
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import inspect
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from xaikit._validation import check_choice, check_float, check_int, check_random_state
from xaikit.errors import InvalidParameterError
from xaikit.execution.shared import Shared

if TYPE_CHECKING:
    from xaikit.execution.base import Executor
    from xaikit.explainers.base import Explainer
    from xaikit.results import Explanation

__all__ = [
    "Answer",
    "Parameter",
    "Plan",
    "REQUIRED",
    "SHARED_DOCS",
    "choice",
    "integer",
    "on_progress",
    "real",
    "row_seeds",
    "rows_of",
    "run",
]

Check = Callable[[Any, str], Any]
"""``check(value, name) -> the value to use``, raising :class:`~xaikit.errors.InvalidParameterError`."""


class _Required:
    """The default of a parameter that must be given."""

    def __repr__(self) -> str:
        return "REQUIRED"


#: The ``default`` of a :class:`Parameter` that every call must give (e.g. the labels ``y``).
REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Parameter:
    """One ``explain`` parameter a method declares: keyword-only, or ``positional`` (data that comes
    after ``X``, such as the labels ``y``, given by position or by name).

    ``type`` and ``doc`` make its entry in the generated docstring (numpydoc); ``check`` validates
    a value given (``None`` defaults pass unchecked when ``optional``); a ``default`` of
    :data:`REQUIRED` must be given.
    """

    name: str
    default: Any
    type: str
    doc: str
    check: Check | None = None
    optional: bool = False
    positional: bool = False

    def validate(self, value: Any) -> Any:
        """The value to use for ``value`` as given."""
        if self.check is None or (value is None and (self.optional or self.default is None)):
            return value
        return self.check(value, self.name)

    def docs(self) -> str:
        """Its numpydoc entry."""
        body = "\n".join("    " + line if line else "" for line in inspect.cleandoc(self.doc).splitlines())
        return f"{self.name} : {self.type}\n{body}"


def integer(*, minimum: int | None = None, maximum: int | None = None) -> Check:
    """A check of an int in ``[minimum, maximum]``.

    >>> integer(minimum=1)(3, "n_steps")
    3
    >>> integer(minimum=1)(0, "n_steps")
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: n_steps: expected an integer >= 1, got 0 (int)
    """
    return lambda value, name: check_int(value, name, minimum=minimum, maximum=maximum)


def real(*, minimum: float | None = None, strict: bool = False) -> Check:
    """A check of a finite float at least (or, ``strict``, above) ``minimum``.

    >>> real(minimum=0.0, strict=True)(0.5, "tol")
    0.5
    """
    return lambda value, name: check_float(value, name, minimum=minimum, strict_minimum=strict)


def choice(options: Sequence[str]) -> Check:
    """A check of one of ``options``.

    >>> choice(["a", "b"])("b", "mode")
    'b'
    """
    return lambda value, name: check_choice(value, name, list(options))


#: The docstring entries of the parameters every method takes, written once.
SHARED_DOCS: dict[str, str] = {
    "executor": (
        'executor : "auto", "serial", "threads[:N]", "processes[:N]", "dask://host:port", "dask-local[:N]", distributed.Client or Executor\n'
        "    Where the chunks of rows run (see ``docs/api.md``); every executor gives the same values.\n"
        '    Methods whose model runs in this process (networks) accept it and run here; "auto" picks\n'
        "    serial when a pool would cost more than it saves."
    ),
    "random_state": (
        "random_state : None, int, Generator or SeedSequence\n"
        "    The seed; each row draws from a stream of its own, so results do not depend on the executor\n"
        "    or the split. Recorded (``diagnostics['seed']``) and ignored by methods that draw nothing."
    ),
}


@dataclass
class Plan:
    """What a method's ``_start`` hands the pipeline: ``n_rows`` rows, ``job(rows, seed)`` making the
    picklable job of one chunk (called with the method, sent to each worker once, it returns that
    chunk's part), ``split`` chunks per worker (``0``: one chunk computed in this process), and
    ``params``: the checked parameters, completed by the pipeline (what ``_start`` put there, values
    it resolved, wins). Methods subclass it to carry what ``_finish`` needs."""

    n_rows: int
    job: Callable[[range, np.random.SeedSequence], Callable[[Any], Any]] | None = None
    split: int = 4
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Answer:
    """What a method's ``_finish`` hands back: the result's ``fields`` (``values``, ``base_values``,
    names, ``data``...), its ``diagnostics``, the ``kind`` of result (default: the first the
    method declares), the ``params`` it resolved (added to the checked ones, replacing them where
    they share a name) and ``provenance`` to add."""

    fields: dict[str, Any]
    diagnostics: dict[str, Any]
    kind: type[Explanation] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)


def row_seeds(seed: np.random.SeedSequence, rows: Sequence[int]) -> list[np.random.SeedSequence]:
    """The seeds of ``rows``: row ``i`` gets the ``i``-th child of ``seed`` whatever chunk it is in.

    >>> root = np.random.SeedSequence(0)
    >>> row_seeds(root, range(2, 4))[0].generate_state(1) == row_seeds(root, [2])[0].generate_state(1)
    array([ True])
    """
    from xaikit._validation import child_seed

    return [child_seed(seed, int(i)) for i in rows]


def rows_of(parts: Sequence[Sequence[Any]]) -> list[Any]:
    """The per-row results of chunks, in row order.

    >>> rows_of([[1, 2], [3]])
    [1, 2, 3]
    """
    return [r for part in parts for r in part]


def check_parameters(method: Explainer, given: dict[str, Any], inputs: Sequence[Any] = ()) -> dict[str, Any]:
    """``given`` (and ``inputs``, the data given by position after ``X``) checked against ``method``'s
    declared parameters, defaults filled in."""
    declared = {p.name: p for p in method._parameters()}
    positional = [p.name for p in declared.values() if p.positional]
    who = f"{type(method).__name__}.explain"
    if len(inputs) > len(positional):
        raise InvalidParameterError(
            f"X: {who} takes {len(positional)} input(s) after X by position ({positional}), got {len(inputs)}; "
            "pass the other parameters by name"
        )
    for name, value in zip(positional, inputs):
        if name in given:
            raise InvalidParameterError(f"{name}: given twice, by position and by name")
        given = {**given, name: value}
    unknown = [name for name in given if name not in declared]
    if unknown:
        allowed = ["target", *declared, "executor", "random_state"]
        near = difflib.get_close_matches(unknown[0], allowed, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise InvalidParameterError(f"{unknown[0]}: not a parameter of {who}; expected one of {allowed}{hint}")
    missing = [name for name, p in declared.items() if p.default is REQUIRED and name not in given]
    if missing:
        p = declared[missing[0]]
        raise InvalidParameterError(f"{p.name}: {who} needs it ({p.type}), got nothing")
    return {name: p.validate(given[name]) if name in given else p.default for name, p in declared.items()}


_PROGRESS: contextvars.ContextVar[Callable[[int, int], None] | None] = contextvars.ContextVar("progress", default=None)

#: Chunks at least (up to one per row) when progress is reported, so that it moves in steps.
PROGRESS_CHUNKS = 20


@contextlib.contextmanager
def on_progress(callback: Callable[[int, int], None]) -> Iterator[None]:
    """Call ``callback(rows_done, rows_total)`` as the chunks of rows of every ``explain`` in this
    block finish (in this thread; from the caller's thread whatever the executor). Results are the
    same as without it: the rows are then split into more chunks, and the split never changes them.

    >>> import numpy as np, xaikit as xk
    >>> seen = []
    >>> with on_progress(lambda done, total: seen.append((done, total))):
    ...     _ = xk.KernelShap(lambda X: X.sum(axis=1), background=np.zeros((1, 2))).explain(np.ones((3, 2)), executor="serial")
    >>> seen
    [(1, 3), (2, 3), (3, 3)]
    """
    token = _PROGRESS.set(callback)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def _call(item: tuple[Shared[Explainer], Callable[[Explainer], Any]]) -> Any:
    method, job = item
    return job(method.get())


def run_chunks(method: Explainer, plan: Plan, executor: Executor, seed: np.random.SeedSequence) -> list[Any]:
    """The parts of ``plan``'s chunks, in row order (the default ``_run``). The method (its model
    included) is sent to each worker once (``executor.scatter``); the jobs carry only their rows."""
    from xaikit.execution import chunk_indices

    report = _PROGRESS.get()
    if plan.job is None:
        return []
    if plan.split == 0:
        parts = [plan.job(range(plan.n_rows), seed)(method)]
        if report is not None:
            report(plan.n_rows, plan.n_rows)
        return parts
    n_chunks = plan.split * executor.n_workers if executor.n_workers > 1 else 1
    if report is not None:
        n_chunks = max(n_chunks, min(plan.n_rows, PROGRESS_CHUNKS))
    chunks = chunk_indices(plan.n_rows, n_chunks)
    shared = executor.scatter(method) if executor.n_workers > 1 and len(chunks) > 1 else Shared(method)
    items = [(shared, plan.job(c, seed)) for c in chunks]
    if report is None:
        return list(executor.map(_call, items))
    return _reporting(executor, items, [len(c) for c in chunks], plan.n_rows, report)


def _reporting(executor: Executor, items: list[Any], sizes: list[int], total: int,
               report: Callable[[int, int], None]) -> list[Any]:
    """``executor.map(_call, items)``, calling ``report(rows_done, total)`` as each chunk finishes."""
    done = 0
    if executor.n_workers == 1:  # one after the other, each reported when it ends
        parts = []
        for item, size in zip(items, sizes):
            parts.append(_call(item))
            done += size
            report(done, total)
        return parts
    futures = [executor.submit(_call, item) for item in items]
    size_of = {id(f): size for f, size in zip(futures, sizes)}
    for future in executor.as_completed(futures):
        error = future.exception()
        if error is not None:  # the first failure ends the call; the chunks not started are cancelled
            for f in futures:
                f.cancel()
            raise error
        done += size_of[id(future)]
        report(done, total)
    return [f.result() for f in futures]


def _settings(method: Explainer, params: dict[str, Any]) -> dict[str, Any]:
    """The checked parameters a result records: the settings, not the data given by position after
    ``X`` (labels), which a method records as it sees fit (their shape)."""
    positional = {p.name for p in method._parameters() if p.positional}
    return {k: v for k, v in params.items() if k not in positional}


def run(method: Explainer, X: Any, target: Any, executor: Any, random_state: Any, given: dict[str, Any],
        inputs: Sequence[Any] = ()) -> Explanation:
    """Explain ``X`` (and ``inputs``, the data given by position after it) with ``method``: the
    pipeline described in the module docstring."""
    from xaikit.explainers.base import executor_scope, provenance, result_kinds

    start = time.perf_counter()
    params = check_parameters(method, given, inputs)
    if random_state is None:  # the constructor's default, for the methods that take one (Counterfactuals, Anchors)
        random_state = getattr(method, "random_state", None)
    seed = check_random_state(random_state)
    with executor_scope(executor) as ex:
        plan = method._start(X, target, params)
        plan.params = {**params, **plan.params}  # what _start resolved (e.g. after _check) wins
        if getattr(seed, "row_ids", None) is not None and method.kind != "local":
            raise InvalidParameterError(
                f"random_state: RowSeeds give each row of X the seed of a row of a larger set, for local methods (one id per "
                f"row); {type(method).__name__} is a {method.kind} method"
            )
        parts = method._run(plan, ex, seed)
        answer = method._finish(plan, parts)
    description, output = method._model()
    seed_value = int(seed.entropy) if isinstance(seed.entropy, int) else None
    diagnostics = {"exact": bool(method.exact), **answer.diagnostics}
    diagnostics["runtime_s"] = time.perf_counter() - start
    diagnostics["seed"] = seed_value
    kind = answer.kind or result_kinds(type(method))[0]
    return kind(
        **answer.fields,
        method=method.name,
        params={**_settings(method, params), **answer.params, "output": output},
        diagnostics=diagnostics,
        provenance=provenance(description, output, seed_value, **answer.provenance),
    )
