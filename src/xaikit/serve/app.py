"""The HTTP service: a FastAPI application over one explainer bundle.

Routes
------
``POST /explain``   explain rows (JSON in, the explanation out)
``POST /predict``   the model's predictions of rows (the output explained)
``POST /jobs``      the same request as ``/explain``, run in a worker thread (for large requests);
                    ``GET /jobs/{id}`` its status and, once done, its result
``POST /reload``    read the model file (or bundle) again now
``GET /methods``    the methods the service can run on this model
``GET /health``     status, model version and counters (requests, cache hits, joined batches)

Requests name features by name (``{"age": 39, ...}``) or give them in the model's order
(``[39, ...]``); each bad field gets a 4xx whose ``detail`` names it (``loc``). Concurrent
``/explain`` requests with the same method, output, target and parameters are joined into one
explain call (their rows concatenated, the result split back): when no call is running, a request
starts at once with whatever arrived in the same turn of the event loop; while calls run, a request
waits up to ``batch_window_ms`` for others to join it. Joining never changes a value: a deterministic
method's row does not depend on the other rows of the call, and a sampled method's rows are seeded
with :class:`~xaikit.RowSeeds` so that each request's rows draw as they would in a call of their own
(with the request's ``random_state``; unseeded requests draw fresh entropy, as alone).

Results are cached (LRU) by model version, method, output, target, parameters, budget and the
rows; the model file's (and bundle's) size and modification time are checked on every request
and a change reloads the model, giving a new version, so a cached answer is never served for
another model. Answers a time budget cut short are not cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import math
import os
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from xaikit.errors import InvalidParameterError, XaikitError
from xaikit.serve.bundle import Bundle, load_bundle, make_bundle

__all__ = ["SERVED_METHODS", "ExplainRequest", "ExplainResponse", "Service", "create_app"]

#: The methods the service runs: local attributions over the bundle's background.
SERVED_METHODS = ("tree_shap", "exact_shapley", "kernel_shap", "leverage_shap", "permutation_shap")
#: Parameters a request may set (besides ``target``, ``output`` and ``budget_ms``).
_REQUEST_PARAMETERS = ("n_samples", "tol", "random_state")
_OUTPUTS = ("auto", "probability", "log_odds", "raw")
_MAX_BUDGET_MS = 600_000.0

log = logging.getLogger("xaikit.serve")

Value = float | int | str | bool | None


class ExplainRequest(BaseModel):
    """The body of ``POST /explain``, ``POST /predict`` and ``POST /jobs``."""

    model_config = ConfigDict(extra="forbid")

    instances: list[dict[str, Value] | list[Value]] = Field(
        ..., min_length=1, description="rows: objects naming every feature, or lists in the model's feature order")
    method: str | None = Field(None, description="a method of GET /methods, or auto (default: the bundle's)")
    output: str | None = Field(None, description="auto, probability, log_odds or raw (default: the bundle's)")
    target: int | str | list[int | str] | None = Field(None, description="the outputs explained (default: all)")
    budget_ms: float | None = Field(None, description="time budget of a sampled method, in milliseconds (exact methods ignore it)")
    parameters: dict[str, int | float | None] = Field(default_factory=dict, description="n_samples, tol, random_state")


class ExplainResponse(BaseModel):
    """The answer of ``POST /explain``: one entry per row of the request."""

    values: list[Any] = Field(..., description="(rows, features, outputs)")
    base_values: list[Any] = Field(..., description="(rows, outputs)")
    feature_names: list[str]
    output_names: list[str]
    method: str
    value_definition: Any = None
    std_err: list[Any] | None = Field(None, description="(rows, features, outputs); null when exact")
    model_version: str
    exact: bool
    n_samples: int | None = Field(None, description="coalitions per row the method was given (null for exact methods)")
    n_model_calls: list[int] | None = None
    budget_stopped: list[bool] | None = Field(None, description="rows the time budget stopped (null without a budget)")
    budget: str | None = Field(None, description="what was done with budget_ms")
    cached: bool = False
    batch_rows: int = Field(1, description="rows of the explain call this request was part of")


class PredictResponse(BaseModel):
    """The answer of ``POST /predict``."""

    predictions: list[list[float | None]]
    output_names: list[str]
    output: str
    model_version: str


class JobStatus(BaseModel):
    """A job of ``POST /jobs``."""

    id: str
    status: Literal["queued", "running", "done", "failed"]
    rows: int
    result: ExplainResponse | None = None
    error: Any = None


class MethodEntry(BaseModel):
    name: str
    applies: bool
    exact: bool
    stochastic: bool
    reason: str


class MethodsResponse(BaseModel):
    default: str
    resolved: str
    methods: list[MethodEntry]


class HealthResponse(BaseModel):
    status: str
    model_version: str
    method: str
    feature_names: list[str]
    requests: int
    cache_hits: int
    cache_entries: int
    batches: int
    joined_batches: int
    largest_batch: int
    reloads: int


class _Fail(Exception):
    """A request refused: HTTP ``status`` and the field ``loc`` it is about."""

    def __init__(self, status: int, loc: list[Any], msg: str) -> None:
        super().__init__(msg)
        self.status, self.loc, self.msg = status, loc, msg


def _detail(loc: list[Any], msg: str) -> list[dict[str, Any]]:
    return [{"loc": loc, "msg": msg, "type": "value_error"}]


@dataclass
class _Call:
    """A request checked: what to run and on which rows."""

    method: str
    output: str
    target: Any
    params: dict[str, Any]
    budget_note: str | None
    X: Any
    n_rows: int
    key: str  # the cache key
    group: str  # requests with the same group may be joined
    stochastic: bool = False  # a sampled method: joined calls seed each request's rows as if alone


@dataclass
class _Job:
    id: str
    rows: int
    status: str = "queued"
    result: dict[str, Any] | None = None
    error: Any = None


@dataclass
class _Stats:
    requests: int = 0
    cache_hits: int = 0
    batches: int = 0
    joined_batches: int = 0
    largest_batch: int = 0
    reloads: int = 0
    batch_sizes: Counter[int] = field(default_factory=Counter)


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


class Service:
    """The state behind the routes: the bundle, the explainers built from it, the cache and the jobs.

    Parameters
    ----------
    source : Bundle or str
        A :class:`~xaikit.serve.bundle.Bundle`, or the path of a bundle folder.
    max_rows, max_job_rows : int
        Rows per ``/explain`` request, and per ``/jobs`` request.
    cache_size : int
        Answers kept (least recently used dropped first); 0 turns the cache off.
    micro_batch : bool
        Join concurrent requests of one method, output, target and parameters into one call.
    batch_window_ms, max_batch_rows : float, int
        How long the first request of a batch waits for others while explain calls are running
        (an idle service starts at once), and the most rows a batch holds.
    max_jobs : int
        Jobs kept (queued, running and finished; the oldest finished dropped first).
    trust_pickle : bool
        Allow a pickled model file when reloading.
    """

    def __init__(
        self,
        source: Bundle | str | os.PathLike[str],
        *,
        max_rows: int = 1000,
        max_job_rows: int = 100_000,
        cache_size: int = 4096,
        micro_batch: bool = True,
        batch_window_ms: float = 2.0,
        max_batch_rows: int = 512,
        max_jobs: int = 64,
        trust_pickle: bool = False,
    ) -> None:
        for name, value in (("max_rows", max_rows), ("max_job_rows", max_job_rows), ("max_batch_rows", max_batch_rows),
                            ("max_jobs", max_jobs)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidParameterError(f"{name}: expected an int >= 1, got {value!r}")
        if not isinstance(cache_size, int) or cache_size < 0:
            raise InvalidParameterError(f"cache_size: expected an int >= 0, got {cache_size!r}")
        if not isinstance(batch_window_ms, (int, float)) or not 0 <= batch_window_ms <= 1000:
            raise InvalidParameterError(f"batch_window_ms: expected a number of milliseconds in [0, 1000], got {batch_window_ms!r}")
        self.trust_pickle = trust_pickle
        self.bundle = load_bundle(source, trust_pickle=trust_pickle) if not isinstance(source, Bundle) else source
        self.max_rows, self.max_job_rows, self.cache_size = max_rows, max_job_rows, cache_size
        self.micro_batch, self.batch_window = micro_batch, batch_window_ms / 1000.0
        self.max_batch_rows, self.max_jobs = max_batch_rows, max_jobs
        self.stats = _Stats()
        self._lock = threading.RLock()
        self._cache: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._explainers: dict[tuple[str, str], Any] = {}
        self._routes: dict[str, tuple[str, str]] = {}  # the method and output "auto" stands for, per output
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xaikit-job")
        self._pending: dict[str, tuple[list[tuple[_Call, asyncio.Future[Any]]], int]] = {}
        self._in_flight = 0  # explain calls running (micro-batching waits for company only while busy)
        self._stamp = self._file_stamp()
        self.resolved_method, self.resolved_output = self._resolve(self.bundle.method, self.bundle.output)

    # ------------------------------------------------------------------ the model and its version
    def _watched(self) -> list[str]:
        b = self.bundle
        paths = [b.model_path]
        if b.path is not None:
            paths += [os.path.join(b.path, "bundle.json")]
        return paths

    def _file_stamp(self) -> tuple[Any, ...]:
        stamps: list[tuple[str, int | None, int | None, int | None]] = []
        for p in self._watched():
            try:
                st = os.stat(p)
                stamps.append((p, st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                stamps.append((p, None, None, None))
        return tuple(stamps)

    def refresh(self, force: bool = False) -> bool:
        """Reload the model when its file (or the bundle) changed, or when ``force``; True when reloaded.
        A model file that cannot be read refuses requests (503) until it can."""
        stamp = self._file_stamp()
        if not force and stamp == self._stamp:
            return False
        with self._lock:
            stamp = self._file_stamp()
            if not force and stamp == self._stamp:
                return False
            b = self.bundle
            try:
                if b.path is not None:
                    new = load_bundle(b.path, trust_pickle=self.trust_pickle)
                else:
                    new = make_bundle(b.model_path, b.background, method=b.method, output=b.output, parameters=b.parameters,
                                      feature_names=None if hasattr(b.background, "columns") else b.feature_names,
                                      trust_pickle=self.trust_pickle)
            except Exception as exc:  # a half-written file: refuse until it reads
                self._stamp = ()
                raise _Fail(503, ["model"], f"the model file changed and could not be read again: {type(exc).__name__}: {exc}") from None
            self.bundle = new
            self._explainers.clear()
            self._routes.clear()
            self._cache.clear()
            self.resolved_method, self.resolved_output = self._resolve(new.method, new.output)
            self._stamp = stamp
            self.stats.reloads += 1
            return True

    def _resolve(self, method: str, output: str) -> tuple[str, str]:
        """The method and output ``auto`` stands for on this model (as :func:`xaikit.explain` chooses)."""
        from xaikit.explainers.auto import _tree_route, choose_method, shared_values

        if method != "auto":
            return method, output
        background = None if self._path_dependent else self.bundle.background
        tree_output, _ = _tree_route(self.bundle.model, {"output": output, "background": background})
        if tree_output is not None:
            return "tree_shap", tree_output
        return choose_method(len(self.bundle.feature_names), self.bundle.parameters.get("n_samples"),
                             n_background=len(self.bundle.background),
                             shared=shared_values(self.bundle.background)), output

    def predictor(self, output: str) -> Any:
        """The model adapted to ``output`` (what ``/predict`` answers), built once per model version."""
        key = ("predict", output)
        with self._lock:
            found = self._explainers.get(key)
            if found is None:
                from xaikit.models import adapt

                try:
                    found = adapt(self.bundle.model, output=output)
                except InvalidParameterError as exc:
                    raise _Fail(422, ["body", "output"], str(exc)) from None
                self._explainers[key] = found
            return found

    @property
    def _path_dependent(self) -> bool:
        return self.bundle.parameters.get("tree_algorithm") == "path_dependent"

    def explainer(self, method: str, output: str) -> Any:
        """The explainer of ``method`` on ``output``, built once per model version."""
        key = (method, output)
        with self._lock:
            found = self._explainers.get(key)
            if found is not None:
                return found
            from xaikit.explainers.base import get_explainer_class

            cls = get_explainer_class(method)
            b = self.bundle
            names = None if hasattr(b.background, "columns") else b.feature_names
            kwargs: dict[str, Any] = {"background": b.background, "output": output}
            if method == "tree_shap" and self._path_dependent:
                kwargs = {"algorithm": "path_dependent", "output": output}
            if names is not None:
                kwargs["feature_names"] = names
            made = cls(b.model, **kwargs)
            self._explainers[key] = made
            return made

    # ------------------------------------------------------------------ requests
    def check(self, req: ExplainRequest, *, max_rows: int | None = None) -> _Call:
        """Check a request and turn its rows into the model's input; refusals name the field."""
        from xaikit.explainers.base import REGISTRY

        limit = self.max_rows if max_rows is None else max_rows
        n = len(req.instances)
        if n > limit:
            raise _Fail(413, ["body", "instances"], f"expected at most {limit} rows per request, got {n}")
        method = self.bundle.method if req.method is None else req.method.strip().lower().replace("-", "_")
        output = self.bundle.output if req.output is None else req.output
        if output not in _OUTPUTS:
            raise _Fail(422, ["body", "output"], f"expected one of {list(_OUTPUTS)}, got {req.output!r}")
        if method == "auto":
            with self._lock:
                if output not in self._routes:  # the tree parse of the route, once per output and version
                    self._routes[output] = self._resolve("auto", output)
                method, output = self._routes[output]
        if method not in SERVED_METHODS:
            raise _Fail(422, ["body", "method"], f"expected auto or one of {list(SERVED_METHODS)}, got {req.method!r}")
        import xaikit.explainers  # noqa: F401  (fills the registry)

        cls = REGISTRY[method]
        params: dict[str, Any] = {k: v for k, v in self.bundle.parameters.items() if k in _REQUEST_PARAMETERS}
        for key, value in req.parameters.items():
            if key not in _REQUEST_PARAMETERS:
                raise _Fail(422, ["body", "parameters", key], f"expected one of {list(_REQUEST_PARAMETERS)}, got {key!r}")
            if value is None:
                params.pop(key, None)
                continue
            if key in ("n_samples", "random_state") and (not isinstance(value, int) or isinstance(value, bool) or value < (1 if key == "n_samples" else 0)):
                raise _Fail(422, ["body", "parameters", key], f"expected an int >= {1 if key == 'n_samples' else 0}, got {value!r}")
            if key == "tol" and (not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0):
                raise _Fail(422, ["body", "parameters", key], f"expected a number > 0, got {value!r}")
            params[key] = value
        declared = {p.name for p in getattr(cls, "explain_parameters", ())} | {"random_state"}
        sampled = bool(cls.stochastic) and "max_seconds" in declared
        for key in list(params):
            if key not in declared:
                if key in req.parameters:
                    raise _Fail(422, ["body", "parameters", key], f"method {method!r} takes no {key}")
                params.pop(key)
        if method == "exact_shapley":
            params.pop("n_samples", None)
        budget_note = None
        if req.budget_ms is not None:
            b = req.budget_ms
            if not math.isfinite(b) or b <= 0 or b > _MAX_BUDGET_MS:
                raise _Fail(422, ["body", "budget_ms"], f"expected milliseconds in (0, {_MAX_BUDGET_MS:g}], got {b!r}")
            if sampled:
                params["max_seconds"] = b / 1000.0
                budget_note = f"the sampled estimate stops at {b:g} ms (see budget_stopped and std_err)"
            else:
                budget_note = f"ignored: {method} is exact"
        target = req.target
        X = self._rows(req.instances)
        dump = {"v": self.bundle.model_version, "m": method, "o": output, "t": target, "p": params, "x": req.instances}
        key = hashlib.sha256(_canonical(dump).encode()).hexdigest()
        group = _canonical({"m": method, "o": output, "t": target, "p": params})
        return _Call(method, output, target, params, budget_note, X, n, key, group, bool(cls.stochastic))

    def _rows(self, instances: list[Any]) -> Any:
        """The rows as the model takes them: a DataFrame like the background, or a float64 array."""
        import numpy as np

        names, dtypes = self.bundle.feature_names, self.bundle.dtypes
        d = len(names)
        columns: list[list[Any]] = [[] for _ in range(d)]
        index = {name: j for j, name in enumerate(names)}
        for i, row in enumerate(instances):
            if isinstance(row, dict):
                missing = [nm for nm in names if nm not in row]
                if missing:
                    raise _Fail(422, ["body", "instances", i, missing[0]], f"missing feature {missing[0]!r} "
                                f"({len(missing)} missing; the model's features are {names[:20]})")
                unknown = [k for k in row if k not in index]
                if unknown:
                    raise _Fail(422, ["body", "instances", i, unknown[0]], f"unknown feature {unknown[0]!r}; the model's features are {names[:20]}")
                values = [row[nm] for nm in names]
            else:
                if len(row) != d:
                    raise _Fail(422, ["body", "instances", i], f"expected {d} values (the features {names[:20]}), got {len(row)}")
                values = list(row)
            for j, v in enumerate(values):
                name = names[j]
                loc = ["body", "instances", i, name if isinstance(row, dict) else j]
                if dtypes.get(name) == "category":
                    if v is not None and not isinstance(v, str):
                        raise _Fail(422, loc, f"expected a category (a string) of feature {name!r}, got {v!r}")
                    columns[j].append(v)
                else:
                    if v is None:
                        columns[j].append(math.nan)
                        continue
                    if isinstance(v, bool) or not isinstance(v, (int, float)):
                        raise _Fail(422, loc, f"expected a number for feature {name!r}, got {v!r}")
                    if not math.isfinite(v) or abs(v) > 1e300:
                        raise _Fail(422, loc, f"expected a finite number for feature {name!r}, got {v!r}")
                    columns[j].append(float(v))
        bg = self.bundle.background
        if hasattr(bg, "columns"):
            import pandas as pd

            frame = pd.DataFrame({name: columns[j] for j, name in enumerate(names)})
            for name in names:
                if dtypes.get(name) == "number":
                    frame[name] = frame[name].astype(bg[name].dtype if bg[name].dtype.kind == "f" else np.float64)
                else:
                    frame[name] = frame[name].astype(bg[name].dtype) if str(bg[name].dtype) == "category" else frame[name].astype(object)
            return frame
        return np.asarray(columns, dtype=np.float64).T.reshape(len(instances), d)

    def run(self, call: _Call, executor: str = "serial") -> tuple[Any, dict[str, Any]]:
        """Explain ``call``'s rows: ``(result, the response fields shared by its rows)``; requests run
        serially (the server's concurrency is its requests), jobs on ``executor="auto"``."""
        explainer = self.explainer(call.method, call.output)
        try:
            result = explainer.explain(call.X, target=call.target, executor=executor, **call.params)
        except InvalidParameterError as exc:
            text = str(exc)
            field_name = text.split(":", 1)[0].strip()
            loc = ["body", "target"] if field_name == "target" else ["body", "parameters", field_name] if field_name in call.params else ["body", "instances"]
            raise _Fail(422, loc, text) from None
        return result, self._shared(result, call)

    def _shared(self, result: Any, call: _Call) -> dict[str, Any]:
        d = result.diagnostics
        exact = bool(d.get("exact", call.method == "tree_shap"))
        note = call.budget_note
        if exact and note is not None and not note.startswith("ignored"):
            note = f"ignored: the answer is exact ({call.method} evaluated every coalition within n_samples)"
        return {"feature_names": list(result.feature_names), "output_names": list(result.output_names), "method": result.method,
                "value_definition": d.get("value_definition"), "model_version": self.bundle.model_version,
                "exact": exact, "n_samples": result.params.get("n_samples"), "budget": note}

    @staticmethod
    def rows_of(result: Any, shared: Mapping[str, Any], a: int, b: int, batch_rows: int) -> dict[str, Any]:
        """The response for rows ``a:b`` of ``result``."""
        import numpy as np

        def js(arr: Any) -> Any:
            arr = np.asarray(arr, dtype=np.float64)[a:b]
            return [None if not math.isfinite(x) else x for x in arr.ravel().tolist()] if arr.ndim == 1 else [js_row(r) for r in arr]

        def js_row(arr: Any) -> Any:
            if arr.ndim == 1:
                return [x if math.isfinite(x) else None for x in arr.tolist()]
            return [js_row(r) for r in arr]

        d = result.diagnostics
        std = d.get("std_err")
        calls = d.get("n_model_calls")
        stopped = d.get("budget_stopped")
        return {**shared, "values": js(result.values), "base_values": js(result.base_values),
                "std_err": None if std is None else js(std),
                "n_model_calls": None if calls is None else [int(x) for x in calls[a:b]],
                "budget_stopped": None if stopped is None else [bool(x) for x in stopped[a:b]],
                "cached": False, "batch_rows": batch_rows}

    # ------------------------------------------------------------------ cache
    def cached(self, key: str) -> dict[str, Any] | None:
        if self.cache_size == 0:
            return None
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                self.stats.cache_hits += 1
            return found

    def remember(self, key: str, answer: dict[str, Any], version: str) -> None:
        if self.cache_size == 0 or any(answer.get("budget_stopped") or ()) or version != self.bundle.model_version:
            return
        with self._lock:
            self._cache[key] = answer
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    # ------------------------------------------------------------------ micro-batching
    async def explain(self, call: _Call) -> dict[str, Any]:
        """Explain one request, joined with others of its group when micro-batching is on."""
        version = self.bundle.model_version
        if not self.micro_batch or not call.group or call.n_rows >= self.max_batch_rows:
            result, shared = await asyncio.to_thread(self.run, call)
            self._count_batch(1)
            answer = self.rows_of(result, shared, 0, call.n_rows, call.n_rows)
        else:
            loop = asyncio.get_running_loop()
            future: asyncio.Future[Any] = loop.create_future()
            entry = self._pending.get(call.group)
            if entry is None:
                self._pending[call.group] = ([(call, future)], call.n_rows)
                if self._in_flight == 0:  # idle: run at the next turn of the loop (with what arrived meanwhile)
                    loop.call_soon(self._flush, call.group)
                else:  # busy: wait for more requests to join
                    loop.call_later(self.batch_window, self._flush, call.group)
            else:
                members, rows = entry
                members.append((call, future))
                self._pending[call.group] = (members, rows + call.n_rows)
                if rows + call.n_rows >= self.max_batch_rows:
                    self._flush(call.group)
            answer = await future
        self.remember(call.key, answer, version)
        return answer

    def _flush(self, group: str) -> None:
        entry = self._pending.pop(group, None)
        if entry is not None:
            asyncio.ensure_future(self._run_batch(entry[0]))

    async def _run_batch(self, members: list[tuple[_Call, asyncio.Future[Any]]]) -> None:
        self._in_flight += 1
        try:
            await self._run_joined(members)
        finally:
            self._in_flight -= 1

    async def _run_joined(self, members: list[tuple[_Call, asyncio.Future[Any]]]) -> None:
        calls = [c for c, _ in members]
        try:
            if len(calls) == 1:
                joined = calls[0]
            else:
                X = _concat([c.X for c in calls])
                first = calls[0]
                joined = _Call(first.method, first.output, first.target, _joined_params(calls), first.budget_note, X,
                               sum(c.n_rows for c in calls), "", first.group, first.stochastic)
            result, shared = await asyncio.to_thread(self.run, joined)
        except BaseException as exc:  # every member gets the error
            for _, fut in members:
                if not fut.done():
                    fut.set_exception(exc)
            return
        self._count_batch(len(calls))
        a = 0
        for c, fut in members:
            if not fut.done():
                fut.set_result(self.rows_of(result, shared, a, a + c.n_rows, joined.n_rows))
            a += c.n_rows

    def _count_batch(self, size: int) -> None:
        with self._lock:
            self.stats.batches += 1
            self.stats.batch_sizes[size] += 1
            self.stats.largest_batch = max(self.stats.largest_batch, size)
            if size > 1:
                self.stats.joined_batches += 1

    # ------------------------------------------------------------------ jobs
    def submit(self, call: _Call) -> _Job:
        with self._lock:
            if len(self._jobs) >= self.max_jobs:
                done = [k for k, j in self._jobs.items() if j.status in ("done", "failed")]
                if not done:
                    raise _Fail(429, ["jobs"], f"expected at most {self.max_jobs} unfinished jobs, got {len(self._jobs)} already; retry later")
                del self._jobs[done[0]]
            job = _Job(uuid.uuid4().hex, call.n_rows)
            self._jobs[job.id] = job
        self._pool.submit(self._work, job, call)
        return job

    def _work(self, job: _Job, call: _Call) -> None:
        job.status = "running"
        try:
            found = self.cached(call.key)
            if found is None:
                result, shared = self.run(call, executor="auto")
                found = self.rows_of(result, shared, 0, call.n_rows, call.n_rows)
                self.remember(call.key, found, shared["model_version"])
            job.result, job.status = found, "done"
        except _Fail as exc:
            job.error, job.status = _detail(exc.loc, exc.msg), "failed"
        except Exception as exc:
            job.error, job.status = f"{type(exc).__name__}: {exc}", "failed"

    def job(self, job_id: str) -> _Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _joined_params(calls: list[_Call]) -> dict[str, Any]:
    """The parameters of one call joining ``calls`` (same group): for a sampled method, ``RowSeeds`` that give
    each request's rows the seeds they would have in a call of their own (with its ``random_state``); without
    one, fresh entropy and the rows' positions, as unseeded requests alone."""
    import numpy as np

    from xaikit._validation import RowSeeds

    first = calls[0]
    if not first.stochastic:
        return first.params
    seed = first.params.get("random_state")
    if seed is None:
        entropy, ids = int(np.random.SeedSequence().generate_state(2, np.uint64)[0]), np.arange(sum(c.n_rows for c in calls))
    else:
        entropy, ids = seed, np.concatenate([np.arange(c.n_rows) for c in calls])
    return {**first.params, "random_state": RowSeeds(int(entropy), ids)}  # entropy: an int either way


def _concat(parts: list[Any]) -> Any:
    if hasattr(parts[0], "columns"):
        import pandas as pd

        return pd.concat(parts, ignore_index=True)
    import numpy as np

    return np.concatenate(parts, axis=0)


class _Guard:
    """ASGI middleware: the API key (401 naming ``X-API-Key``), the body size (413 naming the body),
    a request id (``X-Request-Id``) and one JSON log line per request."""

    def __init__(self, app: Any, limit: int, api_key: str | None, log_requests: bool) -> None:
        self.app, self.limit, self.api_key, self.log_requests = app, limit, api_key, log_requests

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid = uuid.uuid4().hex[:12]
        info: dict[str, Any] = {"rows": None, "cache": None, "batch_rows": None, "status": 500}
        scope.setdefault("state", {})["info"] = info
        headers = dict(scope.get("headers") or [])
        try:
            if self.api_key is not None and scope.get("path") != "/health":
                given = headers.get(b"x-api-key")
                if given is None or not hmac.compare_digest(given, self.api_key.encode()):
                    got = "none" if given is None else "another key"
                    await self._refuse(401, ["header", "X-API-Key"], f"expected the service's API key in the X-API-Key header, got {got}",
                                       scope, receive, send, info)
                    return
            length = headers.get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.limit:
                await self._refuse(413, ["body"], f"expected at most {self.limit} bytes, got {int(length)}", scope, receive, send, info)
                return
            seen = 0

            async def limited() -> Any:
                nonlocal seen
                message = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > self.limit:
                        raise _TooBig
                return message

            async def sending(message: Any) -> None:
                if message["type"] == "http.response.start":
                    info["status"] = message["status"]
                    message.setdefault("headers", [])
                    message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
                await send(message)

            try:
                await self.app(scope, limited, sending)
            except _TooBig:
                await self._refuse(413, ["body"], f"expected at most {self.limit} bytes", scope, receive, send, info)
        finally:
            if self.log_requests and log.isEnabledFor(logging.INFO):
                log.info(json.dumps({"id": rid, "route": f"{scope.get('method')} {scope.get('path')}", "rows": info["rows"],
                                     "status": info["status"], "ms": round((time.perf_counter() - start) * 1000.0, 3),
                                     "cache_hit": info["cache"], "batch_rows": info["batch_rows"]}))

    @staticmethod
    async def _refuse(status: int, loc: list[Any], msg: str, scope: Any, receive: Any, send: Any, info: dict[str, Any]) -> None:
        info["status"] = status
        await JSONResponse(status_code=status, content={"detail": _detail(loc, msg)})(scope, receive, send)


class _TooBig(Exception):
    pass


def create_app(
    source: Bundle | str | os.PathLike[str],
    background: Any = None,
    *,
    method: str = "auto",
    output: str = "auto",
    parameters: Mapping[str, Any] | None = None,
    max_rows: int = 1000,
    max_job_rows: int = 100_000,
    max_body_bytes: int = 10_000_000,
    api_key: str | None = None,
    micro_batch: bool = True,
    batch_window_ms: float = 2.0,
    max_batch_rows: int = 512,
    cache_size: int = 4096,
    max_jobs: int = 64,
    trust_pickle: bool = False,
    log_requests: bool = True,
) -> FastAPI:
    """The FastAPI application serving a bundle (or a model file with its background).

    Parameters
    ----------
    source : Bundle, or a path
        A bundle, a bundle folder, or a model file (then ``background`` is required, and
        ``method``, ``output``, ``parameters`` make the settings).
    api_key : str, optional
        When given, every route but ``/health`` needs the header ``X-API-Key`` with this key.
    max_body_bytes : int
        Largest request body (413 above it).
    log_requests : bool
        One JSON line per request on the ``xaikit.serve`` logger (id, route, rows, status, ms,
        cache hit, batch rows).

    The other parameters are those of :class:`Service`.

    Examples
    --------
    >>> import os, tempfile, numpy as np, xgboost
    >>> from fastapi.testclient import TestClient
    >>> d = tempfile.mkdtemp()
    >>> X = np.random.default_rng(0).normal(size=(50, 3))
    >>> xgboost.XGBRegressor(n_estimators=3).fit(X, X[:, 0]).save_model(os.path.join(d, "m.json"))
    >>> app = create_app(os.path.join(d, "m.json"), X[:10])
    >>> r = TestClient(app).post("/explain", json={"instances": [[0.5, 0.0, 1.0]]})
    >>> r.status_code, r.json()["method"], r.json()["exact"]
    (200, 'tree_shap', True)
    """
    if isinstance(source, Bundle):
        bundle_or_path: Bundle | str = source
    else:
        path = os.fspath(source)
        if os.path.isdir(path):
            bundle_or_path = path
        else:
            if background is None:
                raise InvalidParameterError(f"background: expected rows (array or DataFrame) to serve the model file {path!r}, got None")
            bundle_or_path = make_bundle(path, background, method=method, output=output, parameters=parameters, trust_pickle=trust_pickle)
    if not isinstance(max_body_bytes, int) or max_body_bytes < 1:
        raise InvalidParameterError(f"max_body_bytes: expected an int >= 1, got {max_body_bytes!r}")
    if api_key is not None and (not isinstance(api_key, str) or not api_key):
        raise InvalidParameterError("api_key: expected a non-empty str or None, got an empty or non-str value")
    service = Service(bundle_or_path, max_rows=max_rows, max_job_rows=max_job_rows, cache_size=cache_size, micro_batch=micro_batch,
                      batch_window_ms=batch_window_ms, max_batch_rows=max_batch_rows, max_jobs=max_jobs, trust_pickle=trust_pickle)
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(title="xaikit explanation service", version="1", lifespan=lifespan,
                  description="Explanations of one model over HTTP (see docs/service.md).")
    app.state.service = service
    app.add_middleware(_Guard, limit=max_body_bytes, api_key=api_key, log_requests=log_requests)

    @app.exception_handler(_Fail)
    async def _failed(request: Request, exc: _Fail) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content={"detail": _detail(exc.loc, exc.msg)})

    @app.exception_handler(XaikitError)
    async def _library_error(request: Request, exc: XaikitError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": _detail(["body"], str(exc))})

    async def _checked(req: ExplainRequest, request: Request, max_rows: int | None = None) -> _Call:
        if service._file_stamp() != service._stamp:
            await asyncio.to_thread(service.refresh)
        service.stats.requests += 1
        call = service.check(req, max_rows=max_rows)
        request.state.info["rows"] = call.n_rows
        return call

    @app.post("/explain", response_model=ExplainResponse, responses={413: {}, 422: {}, 401: {}, 503: {}})
    async def explain(req: ExplainRequest, request: Request) -> Any:
        """Explain the rows of ``instances``."""
        call = await _checked(req, request)
        found = service.cached(call.key)
        if found is not None:
            request.state.info.update(cache=True, batch_rows=0)
            return JSONResponse({**found, "cached": True})
        answer = await service.explain(call)
        request.state.info.update(cache=False, batch_rows=answer["batch_rows"])
        return JSONResponse(answer)  # already JSON types (ExplainResponse documents them)

    @app.post("/predict", response_model=PredictResponse, responses={413: {}, 422: {}, 401: {}, 503: {}})
    async def predict(req: ExplainRequest, request: Request) -> Any:
        """The model's predictions of ``instances`` (on ``output``)."""
        call = await _checked(req, request)

        def go() -> dict[str, Any]:
            import numpy as np

            model = service.predictor(call.output)
            pred = np.asarray(model.predict(call.X), dtype=np.float64)
            names = list(getattr(model, "output_names", None) or [f"output_{i}" for i in range(pred.shape[1])])
            return {"predictions": [[x if math.isfinite(x) else None for x in row] for row in pred.tolist()],
                    "output_names": names, "output": str(getattr(model, "output", call.output)),
                    "model_version": service.bundle.model_version}

        return await asyncio.to_thread(go)

    @app.post("/jobs", response_model=JobStatus, status_code=202, responses={413: {}, 422: {}, 429: {}, 401: {}})
    async def submit(req: ExplainRequest, request: Request) -> Any:
        """Start an explanation in the background (up to ``max_job_rows`` rows); poll ``GET /jobs/{id}``."""
        call = await _checked(req, request, max_rows=service.max_job_rows)
        job = service.submit(call)
        return {"id": job.id, "status": job.status, "rows": job.rows}

    @app.get("/jobs/{job_id}", response_model=JobStatus, responses={404: {}, 401: {}})
    async def job(job_id: str) -> Any:
        """A job's status, and its result once done."""
        found = service.job(job_id)
        if found is None:
            raise _Fail(404, ["path", "job_id"], f"expected the id of a job kept by this service, got {job_id[:80]!r}")
        return {"id": found.id, "status": found.status, "rows": found.rows, "result": found.result, "error": found.error}

    @app.post("/reload", response_model=HealthResponse, responses={401: {}, 503: {}})
    async def reload() -> Any:
        """Read the model file (or bundle) again now."""
        await asyncio.to_thread(service.refresh, True)
        return _health(service)

    @app.get("/methods", response_model=MethodsResponse, responses={401: {}})
    async def methods() -> Any:
        """The methods this service can run on the model."""
        import xaikit as xk

        infos = {m.name: m for m in xk.methods(service.bundle.model)}
        from xaikit.explainers.base import REGISTRY

        out = []
        for name in SERVED_METHODS:
            cls = REGISTRY[name]
            info = infos.get(name)
            out.append({"name": name, "applies": bool(info.applies) if info else False, "exact": bool(cls.exact),
                        "stochastic": bool(cls.stochastic), "reason": info.reason if info else ""})
        return {"default": service.bundle.method, "resolved": service.resolved_method, "methods": out}

    @app.get("/health", response_model=HealthResponse)
    async def health() -> Any:
        """Whether the service runs, and its model version and counters."""
        return _health(service)

    return app


def _health(service: Service) -> dict[str, Any]:
    s = service.stats
    return {"status": "ok", "model_version": service.bundle.model_version, "method": service.resolved_method,
            "feature_names": list(service.bundle.feature_names), "requests": s.requests, "cache_hits": s.cache_hits,
            "cache_entries": len(service._cache), "batches": s.batches, "joined_batches": s.joined_batches,
            "largest_batch": s.largest_batch, "reloads": s.reloads}
