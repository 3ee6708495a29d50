"""Chunked, resumable dataset jobs: :func:`explain_dataset` explains a table of any length chunk by
chunk into a folder, and :func:`~xaikit.results.dataset.open_dataset` reads the result lazily.

How a job runs
--------------
The data (a CSV or Parquet file read in streaming, or an array or DataFrame) is cut into chunks of
``chunk_rows`` rows: chunk ``k`` holds rows ``k * chunk_rows`` to ``(k + 1) * chunk_rows - 1``. Each
chunk is one ``explainer.explain(chunk, target=..., executor=..., random_state=seed_k, ...)`` call,
whose executor (opened once for the whole job) spreads the chunk's rows over its workers. When a
chunk is done, its Parquet file (``chunk-000123.parquet``, columns in
:mod:`xaikit.results.dataset`) is written under a temporary name and moved into place
(``os.replace``), and then ``manifest.json`` is rewritten the same way with the chunk's id, first
row, rows, SHA-256, seed and runtime. The driver holds one chunk at a time, so its memory does not
grow with the number of rows.

Seeds
-----
Row ``i`` of the data draws from the seed it would get in one ``explain`` call over all the rows:
chunk ``k`` is explained with :class:`~xaikit._validation.RowSeeds` ``(random_state, its row ids)``
(recorded in the manifest), so a row's values depend on ``(random_state, its row id)`` only: not on
``chunk_rows``, the executor, or a crash and resume. The whole job equals
``explainer.explain(all_rows, random_state=random_state)``.

Resuming
--------
The manifest records the job's parameters (the method, the explainer's settings with a hash of the
arrays they hold, the ``explain`` parameters, ``target``, ``random_state``, ``chunk_rows``) and a
fingerprint of the input (for a file: its size, SHA-256 and schema; for an array or DataFrame: a
hash of its content). A rerun with ``resume=True`` skips every chunk of the manifest whose file is
there with the recorded SHA-256 and redoes the others (a missing or corrupt file, a chunk the crash
interrupted), so a job killed at any point (``kill -9`` included) and resumed writes exactly the
files of an uninterrupted run. A folder holding a job of other parameters or other data is refused,
naming ``out``; so is a non-empty folder with ``resume=False``, unless ``overwrite=True``. A job
holds ``out/.lock`` while it runs, so two jobs never write one folder at once (the lock of a
process of this host that no longer runs, such as a killed job, is taken over).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xaikit._validation import RowSeeds, check_int, describe
from xaikit.errors import InvalidParameterError
from xaikit.results.dataset import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    DatasetExplanation,
    base_columns,
    chunk_file,
    data_columns,
    manifest_bytes,
    read_manifest,
    sha256_file,
    std_err_columns,
    table_bytes,
    value_columns,
    write_bytes_atomic,
)

__all__ = ["explain_dataset", "fingerprint"]

_TABLE_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


# -- fingerprints ------------------------------------------------------------------------------


def _hash_array(arr: np.ndarray) -> str:
    digest = hashlib.sha256(f"{arr.shape}{arr.dtype}".encode())
    if arr.dtype == object:
        digest.update(repr(arr.tolist()).encode())
    else:
        digest.update(np.ascontiguousarray(arr).tobytes())
    return digest.hexdigest()[:32]


def fingerprint(value: Any, depth: int = 0) -> Any:
    """A JSON-able description of a setting that changes when it does: scalars and strings as they
    are, arrays and frames by a hash of their content, objects by their type and public attributes
    (two levels deep), functions by their qualified name.

    >>> fingerprint({"n": 3, "w": [1.0, "a"]})
    {'n': 3, 'w': [1.0, 'a']}
    >>> fingerprint(np.zeros(2))["shape"]
    [2]
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else repr(value)
    if isinstance(value, np.generic):
        return fingerprint(value.item(), depth)
    if isinstance(value, np.ndarray):
        return {"array": _hash_array(value), "shape": list(value.shape), "dtype": str(value.dtype)}
    if type(value).__name__ in ("DataFrame", "Series") and hasattr(value, "to_numpy"):
        columns = [str(c) for c in getattr(value, "columns", [getattr(value, "name", "")])]
        return {"frame": _hash_array(np.asarray(value.to_numpy(), dtype=object)), "columns": columns}
    if isinstance(value, (list, tuple)):
        return [fingerprint(v, depth) for v in value]
    if isinstance(value, dict):
        return {str(k): fingerprint(v, depth) for k, v in value.items()}
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    if type(value).__name__ in ("function", "builtin_function_or_method", "method", "partial"):
        return {"callable": f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', kind)}"}
    attrs = getattr(value, "__dict__", None)
    if depth >= 2 or not isinstance(attrs, dict):
        return {"type": kind}
    return {"type": kind, "attrs": {k: fingerprint(v, depth + 1) for k, v in attrs.items() if not k.startswith("_")}}


# -- sources -----------------------------------------------------------------------------------


@dataclass
class _Source:
    """Rows to explain, read chunk by chunk."""

    data: Any
    kind: str  # "parquet", "csv", "array" or "frame"
    columns: list[str] | None
    n_rows: int | None  # None for CSV until read

    def fingerprint(self) -> dict[str, Any]:
        if self.kind in ("parquet", "csv"):
            path = Path(self.data)
            stat = path.stat()
            return {
                "kind": self.kind,
                "path": str(path.resolve()),
                "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
                "sha256": sha256_file(path),
                "schema": self._schema(),
                "columns": self.columns,
            }
        digest = hashlib.sha256()
        if self.kind == "array":
            arr = self.data
            digest.update(f"{arr.shape}{arr.dtype}".encode())
            for start in range(0, len(arr), 65_536):
                part = arr[start : start + 65_536]
                digest.update(repr(part.tolist()).encode() if arr.dtype == object else np.ascontiguousarray(part).tobytes())
            shape = list(arr.shape)
        else:
            import pandas as pd

            frame = self.data
            digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
            for start in range(0, len(frame), 65_536):
                digest.update(pd.util.hash_pandas_object(frame.iloc[start : start + 65_536], index=False).to_numpy().tobytes())
            shape = list(frame.shape)
        return {"kind": self.kind, "shape": shape, "sha256": digest.hexdigest(), "columns": self.columns}

    def _schema(self) -> str:
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            return str(pq.ParquetFile(self.data).schema_arrow)
        with open(self.data, "rb") as fh:
            return fh.readline().decode("utf-8", "replace").strip()

    def chunks(self, chunk_rows: int, skip: set[int]) -> Iterator[tuple[int, int, Any]]:
        """``(chunk id, first row, rows to explain or None when skipped)``; a skipped chunk's rows are
        read (files are streamed) but not converted."""
        if self.kind in ("array", "frame"):
            n = len(self.data)
            for k, start in enumerate(range(0, n, chunk_rows)):
                part = None
                if k not in skip:
                    part = self.data[start : start + chunk_rows] if self.kind == "array" else self.data.iloc[start : start + chunk_rows]
                yield k, start, (part, min(chunk_rows, n - start))
            return
        first = 0
        for k, table in enumerate(_rechunk(self._batches(chunk_rows), chunk_rows)):
            yield k, first, (None if k in skip else table.to_pandas(), table.num_rows)
            first += table.num_rows

    def _batches(self, chunk_rows: int) -> Iterator[Any]:
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            yield from pq.ParquetFile(self.data).iter_batches(batch_size=min(chunk_rows, 65_536), columns=self.columns)
            return
        import pyarrow as pa
        import pyarrow.csv as pcsv

        with pcsv.open_csv(self.data) as probe:  # the types of the first block; integers read as floats in every block
            schema = probe.schema
        types = {f.name: pa.float64() for f in schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_null(f.type)}
        convert = pcsv.ConvertOptions(column_types=types, include_columns=self.columns)
        reader = pcsv.open_csv(self.data, convert_options=convert)
        try:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except pa.ArrowInvalid as exc:
                    raise InvalidParameterError(f"data: expected a CSV file whose columns keep their type, got {str(self.data)!r}: {exc}") from None
                yield batch
        finally:
            reader.close()


def _rechunk(batches: Iterator[Any], chunk_rows: int) -> Iterator[Any]:
    """Record batches regrouped as tables of exactly ``chunk_rows`` rows (the last one fewer)."""
    import pyarrow as pa

    pending: list[Any] = []
    count = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        count += batch.num_rows
        while count >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, chunk_rows).combine_chunks()
            rest = table.slice(chunk_rows)
            pending = rest.to_batches() if rest.num_rows else []
            count = rest.num_rows
    if count:
        yield pa.Table.from_batches(pending).combine_chunks()


def _source(data: Any, columns: Sequence[str] | None) -> _Source:
    names = None if columns is None else [str(c) for c in columns]
    if columns is not None and (isinstance(columns, str) or not names or len(set(names)) != len(names)):
        raise InvalidParameterError(f"columns: expected a list of distinct column names, got {describe(columns)}")
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        kind = _TABLE_SUFFIXES.get(path.suffix.lower())
        if kind is None:
            raise InvalidParameterError(f"data: expected a .csv or .parquet file, an array or a DataFrame, got {str(data)!r}")
        if not path.is_file():
            raise InvalidParameterError(f"data: expected an existing {kind} file, got {str(data)!r}, which does not exist")
        n_rows = None
        if kind == "parquet":
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(path)
            n_rows = pf.metadata.num_rows
            have = pf.schema_arrow.names
        else:
            import pyarrow.csv as pcsv

            with pcsv.open_csv(path) as probe:
                have = probe.schema.names
        missing = [c for c in names or [] if c not in have]
        if missing:
            raise InvalidParameterError(f"columns: expected columns of {str(data)!r} ({', '.join(have[:20])}), got unknown {missing[:10]}")
        return _Source(path, kind, names, n_rows)
    if type(data).__name__ == "DataFrame" and hasattr(data, "iloc"):
        if names is not None:
            missing = [c for c in names if c not in data.columns]
            if missing:
                raise InvalidParameterError(f"columns: expected columns of data, got unknown {missing[:10]}")
            data = data[names]
        return _Source(data, "frame", names, len(data))
    if names is not None:
        raise InvalidParameterError(f"columns: selects columns of a file or DataFrame by name; data is {describe(data)}, leave columns out")
    try:
        arr = np.asarray(data)
    except (TypeError, ValueError):
        arr = np.empty(0)
    if arr.ndim < 2 or arr.dtype.kind not in "biufO":
        raise InvalidParameterError(f"data: expected a .csv or .parquet path, a DataFrame or an array of rows (2-D or more), got {describe(data)}")
    return _Source(arr, "array", None, len(arr))


# -- the job -----------------------------------------------------------------------------------


def _parameters(explainer: Any, explain_params: dict[str, Any], target: Any, random_state: int, chunk_rows: int) -> dict[str, Any]:
    settings = {k: fingerprint(v) for k, v in vars(explainer).items() if not k.startswith("_") and k != "model"}
    description, output = explainer._model()
    return json.loads(json.dumps({
        "class": f"{type(explainer).__module__}.{type(explainer).__qualname__}",
        "model": {"description": description, "output": output},
        "settings": settings,
        "explain": {k: fingerprint(v) for k, v in sorted(explain_params.items())},
        "target": fingerprint(target),
        "random_state": random_state,
        "chunk_rows": chunk_rows,
    }))


def _differences(old: Any, new: Any, where: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in list(old) + [k for k in new if k not in old]:
            out += _differences(old.get(key), new.get(key), f"{where}.{key}" if where else str(key))
        return out
    return [] if old == new else [where or "(the whole)"]


def _check_folder(out: Any) -> Path:
    if not isinstance(out, (str, os.PathLike)):
        raise InvalidParameterError(f"out: expected the path of a folder, got {describe(out)}")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise InvalidParameterError(f"out: expected a folder, got {str(out)!r}, which is a file")
    if not path.parent.is_dir():
        raise InvalidParameterError(f"out: expected a folder whose parent exists, got {str(out)!r}")
    path.mkdir(exist_ok=True)
    return path


def _check_out(path: Path, resume: bool, overwrite: bool) -> dict[str, Any] | None:
    out = str(path)
    entries = [p for p in path.iterdir() if not p.name.startswith(".")]
    if overwrite:
        for p in path.iterdir():
            if p.name == MANIFEST or (p.name.startswith("chunk-") and p.name.endswith(".parquet")) or ".tmp-" in p.name:
                p.unlink()
        return None
    for p in path.iterdir():  # what a killed run left under a temporary name
        if p.name.startswith((".chunk-", f".{MANIFEST}")) and ".tmp-" in p.name:
            p.unlink(missing_ok=True)
    manifest = read_manifest(path)
    if entries and (manifest is None or not resume):
        what = "the folder of a dataset job" if manifest is not None else f"{len(entries)} file(s) that are not a dataset job's"
        raise InvalidParameterError(
            f"out: expected an empty folder (or a job to resume with resume=True), got {str(out)!r}, which holds {what}; "
            "pass overwrite=True to replace the job's files, or choose another folder"
        )
    return manifest


LOCK = ".lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user
        return True
    return True


def _lock(path: Path) -> Path:
    """Take ``path/.lock`` (this host and process) so that two jobs never write one folder at once; a
    lock left by a process of this host that no longer runs (a killed job) is taken over."""
    import socket

    lock = path / LOCK
    mine = json.dumps({"host": socket.gethostname(), "pid": os.getpid()})
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                holder = json.loads(lock.read_text())
                host, pid = str(holder["host"]), int(holder["pid"])
            except (OSError, ValueError, KeyError, TypeError):
                host, pid = socket.gethostname(), -1  # unreadable: left half-written by a killed job
            if host == socket.gethostname() and (pid < 0 or not _alive(pid)):
                lock.unlink(missing_ok=True)
                continue
            raise InvalidParameterError(
                f"out: {str(path)!r} is being written by another job (process {pid} on {host}); wait for it, or delete "
                f"{str(lock)!r} if that job no longer runs"
            ) from None
        with os.fdopen(fd, "w") as fh:
            fh.write(mine)
        return lock
    raise InvalidParameterError(f"out: could not take the lock {str(lock)!r}; delete it if no job runs")


def _progress(enabled: bool | None, total: int | None) -> Any:
    if enabled is None:
        enabled = bool(getattr(sys.stderr, "isatty", lambda: False)())
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="rows", file=sys.stderr, desc="explaining", dynamic_ncols=True)


def _chunk_table(exp: Any, first: int, feature_names: list[str], output_names: list[str], with_std_err: bool, keep_data: bool) -> Any:
    import pyarrow as pa

    n, d, o = exp.values.shape
    columns: dict[str, Any] = {"row_id": pa.array(np.arange(first, first + n, dtype=np.int64))}
    flat = np.asarray(exp.values, dtype=np.float64).reshape(n, d * o)
    names = value_columns(feature_names, output_names) + base_columns(output_names)
    arrays = [flat[:, i] for i in range(d * o)] + [np.asarray(exp.base_values, dtype=np.float64)[:, j] for j in range(o)]
    if with_std_err:
        err = np.asarray(exp.diagnostics["std_err"], dtype=np.float64).reshape(n, d * o)
        names += std_err_columns(feature_names, output_names)
        arrays += [err[:, i] for i in range(d * o)]
    if keep_data:
        inputs = None if exp.data is None else np.asarray(exp.data)
        if inputs is None or inputs.dtype.kind not in "biuf":
            kind = "none" if inputs is None else f"{inputs.dtype} values"
            raise InvalidParameterError(f"keep_data: expected numeric inputs to keep (float64 columns), got {kind} from {exp.method!r}")
        names += data_columns(feature_names)
        arrays += [np.asarray(inputs[:, i], dtype=np.float64) for i in range(d)]
    if len(set(names)) != len(names) or "row_id" in names:
        raise InvalidParameterError(
            f"feature_names: expected names whose chunk columns are distinct (see xaikit.results.dataset), got {feature_names[:20]} "
            f"with outputs {output_names}"
        )
    columns.update({name: pa.array(a) for name, a in zip(names, arrays)})
    return pa.table(columns)


def explain_dataset(
    explainer: Any,
    data: Any,
    *,
    out: str | os.PathLike[str],
    chunk_rows: int = 50_000,
    executor: Any = "auto",
    resume: bool = True,
    overwrite: bool = False,
    target: Any = None,
    random_state: int = 0,
    columns: Sequence[str] | None = None,
    keep_data: bool = False,
    progress: bool | None = None,
    **explain_params: Any,
) -> DatasetExplanation:
    """Explain every row of ``data`` chunk by chunk into the folder ``out``, resumably.

    Parameters
    ----------
    explainer : Explainer
        A local method whose result is an :class:`~xaikit.results.Attribution` (``xk.TreeShap(model)``,
        ``xk.KernelShap(model, background=bg)``...).
    data : str, path, array or DataFrame
        A ``.csv`` or ``.parquet`` file (read in streaming: the driver holds one chunk), or the rows.
    out : str or path
        The job's folder (made if missing; its parent must exist).
    chunk_rows : int
        Rows per chunk (and per Parquet file).
    executor : str, Executor or distributed.Client
        Where each chunk's rows run (see :func:`xaikit.execution.get_executor`); opened once for the job.
    resume : bool
        Skip the chunks ``out`` already holds (checked by SHA-256) when its manifest is of the same
        parameters and data; refuse it otherwise.
    overwrite : bool
        Delete the job files ``out`` holds (manifest, chunk files) and start over.
    target : None, int, str or list
        The outputs, as for ``explain``.
    random_state : int
        The job's seed; each row draws as in one call over all rows (chunk ``k`` gets
        ``RowSeeds(random_state, range(first, first + rows))``).
    columns : list of str, optional
        The columns of a file or DataFrame to explain, in this order (default: all).
    keep_data : bool
        Keep the explained inputs next to the values (``@data|<feature>`` columns, numeric inputs
        only), for the plots that colour by them.
    progress : bool, optional
        A progress bar on stderr (tqdm); default: when stderr is a terminal.
    **explain_params
        The method's other ``explain`` parameters (``n_samples``...).

    Returns
    -------
    DatasetExplanation
        The result, read lazily (as :func:`~xaikit.results.dataset.open_dataset` gives it).

    Examples
    --------
    >>> import numpy as np, tempfile, xaikit as xk
    >>> X = np.random.default_rng(0).normal(size=(10, 12))
    >>> explainer = xk.KernelShap(lambda X: np.tanh(X).sum(axis=1), background=np.zeros((1, 12)))
    >>> with tempfile.TemporaryDirectory() as out:
    ...     ds = explain_dataset(explainer, X, out=out, chunk_rows=4, executor="serial", n_samples=64)
    ...     again = explain_dataset(explainer, X, out=out, chunk_rows=4, executor="serial", n_samples=64)  # resumed: nothing to do
    ...     ds.n_rows, [c["rows"] for c in again.chunks], ds.has_std_err
    (10, [4, 4, 2], True)
    """
    from xaikit.explainers.base import Explainer

    if not isinstance(explainer, Explainer):
        raise InvalidParameterError(f"explainer: expected an xaikit explainer (e.g. xk.TreeShap(model)), got {describe(explainer)}")
    if explainer.kind != "local":
        raise InvalidParameterError(f"explainer: expected a local method (one attribution per row), got {explainer.name!r}, a {explainer.kind} method")
    chunk_rows = check_int(chunk_rows, "chunk_rows", minimum=1)
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)) or random_state < 0:
        raise InvalidParameterError(f"random_state: expected a non-negative int (a job must be reproducible to resume), got {describe(random_state)}")
    random_state = int(random_state)
    for name, flag in (("resume", resume), ("overwrite", overwrite), ("keep_data", keep_data)):
        if not isinstance(flag, bool):
            raise InvalidParameterError(f"{name}: expected True or False, got {describe(flag)}")
    if progress is not None and not isinstance(progress, bool):
        raise InvalidParameterError(f"progress: expected None, True or False, got {describe(progress)}")
    source = _source(data, columns)
    path = _check_folder(out)
    lock = _lock(path)
    try:
        return _job(explainer, source, data, path, resume, overwrite, chunk_rows, executor, target, random_state, keep_data, progress,
                    explain_params)
    finally:
        lock.unlink(missing_ok=True)


def _job(explainer: Any, source: _Source, data: Any, path: Path, resume: bool, overwrite: bool, chunk_rows: int, executor: Any,
         target: Any, random_state: int, keep_data: bool, progress: bool | None, explain_params: dict[str, Any]) -> DatasetExplanation:
    """The job of :func:`explain_dataset` (arguments checked, the folder locked)."""
    from xaikit import __version__
    from xaikit.execution.base import Executor
    from xaikit.execution.schemes import get_executor
    from xaikit.results.attribution import Attribution

    out = str(path)
    manifest = _check_out(path, resume, overwrite)
    identity = {
        "method": explainer.name,
        "parameters": {**_parameters(explainer, explain_params, target, random_state, chunk_rows), "keep_data": keep_data},
        "input": source.fingerprint(),
    }
    if manifest is not None:
        old = {"method": manifest.get("method"), "parameters": manifest.get("parameters"), "input": manifest.get("input")}
        diff = [d for d in _differences(old, identity) if d not in ("input.path", "input.mtime_ns")]
        if diff:
            raise InvalidParameterError(
                f"out: {str(out)!r} holds a job of other parameters or other data (differs in {', '.join(diff[:5])}); "
                "not mixed: choose another folder, or pass overwrite=True (or resume=False, overwrite=True) to start over"
            )
        manifest.update({"input": identity["input"], "xaikit_version": __version__})
    else:
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "xaikit_version": __version__,
            **identity,
            "feature_names": None,
            "output_names": None,
            "has_std_err": None,
            "has_data": keep_data,
            "chunks": [],
            "complete": False,
            "n_rows": None,
        }
    done = {int(c["id"]): c for c in manifest["chunks"] if (path / c["file"]).is_file() and sha256_file(path / c["file"]) == c["sha256"]}
    manifest["chunks"] = sorted(done.values(), key=lambda c: int(c["id"]))
    bar = _progress(progress, source.n_rows)
    own = not isinstance(executor, Executor)
    ex = get_executor(executor)
    n_rows = 0
    try:
        for k, first, (rows, n) in source.chunks(chunk_rows, set(done)):
            n_rows = first + n
            if rows is None:
                if bar is not None:
                    bar.update(n)
                continue
            start = time.perf_counter()
            seed = RowSeeds(random_state, range(first, first + n))
            exp = explainer.explain(rows, target=target, executor=ex, random_state=seed, **explain_params)
            if not isinstance(exp, Attribution) or "row_feature_names" in getattr(exp, "_store", {}):
                raise InvalidParameterError(f"explainer: expected a method whose result is an Attribution, got {type(exp).__name__} from {explainer.name!r}")
            names, outputs = list(exp.feature_names), list(exp.output_names)
            with_std_err = "std_err" in exp.diagnostics
            if manifest["feature_names"] is None:
                manifest.update(feature_names=names, output_names=outputs, has_std_err=with_std_err)
            elif (names, outputs, with_std_err) != (manifest["feature_names"], manifest["output_names"], manifest["has_std_err"]):
                raise InvalidParameterError(
                    f"data: chunk {k} gives features {names[:10]}, outputs {outputs} (std_err: {with_std_err}), the earlier chunks "
                    f"{manifest['feature_names'][:10]}, {manifest['output_names']} (std_err: {manifest['has_std_err']})"
                )
            raw = table_bytes(_chunk_table(exp, first, names, outputs, with_std_err, keep_data))
            write_bytes_atomic(path / chunk_file(k), raw)
            manifest["chunks"].append({
                "id": k,
                "first_row": first,
                "rows": n,
                "file": chunk_file(k),
                "sha256": hashlib.sha256(raw).hexdigest(),
                "seed": {"entropy": random_state, "row_ids": [first, first + n]},
                "runtime_s": round(time.perf_counter() - start, 6),
            })
            manifest["chunks"].sort(key=lambda c: int(c["id"]))
            write_bytes_atomic(path / MANIFEST, manifest_bytes(manifest))
            if bar is not None:
                bar.update(n)
    finally:
        if bar is not None:
            bar.close()
        if own:
            ex.close()
    n_chunks = -(-n_rows // chunk_rows)
    ids = [int(c["id"]) for c in manifest["chunks"]]
    if ids != list(range(n_chunks)):
        raise InvalidParameterError(f"data: expected {n_chunks} chunk(s) of {n_rows} rows, the job holds chunks {ids[:10]}")
    if manifest["feature_names"] is None:  # no rows at all
        shown = repr(str(data)) if isinstance(data, (str, os.PathLike)) else describe(data)
        raise InvalidParameterError(f"data: expected at least one row, got none in {shown}")
    manifest.update(complete=True, n_rows=n_rows)
    write_bytes_atomic(path / MANIFEST, manifest_bytes(manifest))
    return DatasetExplanation(path)
