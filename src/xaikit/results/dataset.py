"""A lazy explanation over the chunks of a dataset job (:func:`xaikit.execution.dataset.explain_dataset`).

A job's folder holds ``manifest.json`` and one Parquet file per chunk of rows,
``chunk-000000.parquet``, ``chunk-000001.parquet``... Each chunk file has the columns:

- ``row_id``: the row's position in the data explained (int64);
- the values: ``<feature>`` for a single output, ``<feature>|<output>`` otherwise (features in
  order, the outputs of each feature side by side);
- the base values: ``@base_value`` for a single output, ``@base_value|<output>`` otherwise;
- for sampled methods, the standard errors: ``@std_err|<feature>`` or ``@std_err|<feature>|<output>``;
- with ``keep_data=True``, the explained inputs: ``@data|<feature>`` (float64).

:func:`open_dataset` reads the manifest; the chunks are read (and their SHA-256 checked against the
manifest) only when asked for: :meth:`DatasetExplanation.iter_chunks`, :meth:`~DatasetExplanation.ranking`
and :meth:`~DatasetExplanation.mean_abs` stream over them, :meth:`~DatasetExplanation.to_attribution`
and :meth:`~DatasetExplanation.sample` materialise rows as an :class:`~xaikit.results.Attribution`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xaikit._validation import check_int, describe
from xaikit.errors import FormatError, InvalidParameterError
from xaikit.results.attribution import Attribution

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "DatasetExplanation",
    "base_columns",
    "chunk_file",
    "open_dataset",
    "data_columns",
    "std_err_columns",
    "value_columns",
]

FORMAT = "xaikit-dataset"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"

#: The most rows :meth:`DatasetExplanation.to_attribution` materialises unless told otherwise.
MAX_ROWS = 1_000_000


def chunk_file(chunk_id: int) -> str:
    """The file name of chunk ``chunk_id``.

    >>> chunk_file(123)
    'chunk-000123.parquet'
    """
    return f"chunk-{chunk_id:06d}.parquet"


def value_columns(feature_names: Sequence[str], output_names: Sequence[str]) -> list[str]:
    """The value columns of a chunk file, feature by feature, the outputs of each side by side.

    >>> value_columns(["a", "b"], ["y"]), value_columns(["a"], ["no", "yes"])
    (['a', 'b'], ['a|no', 'a|yes'])
    """
    if len(output_names) == 1:
        return [str(f) for f in feature_names]
    return [f"{f}|{o}" for f in feature_names for o in output_names]


def base_columns(output_names: Sequence[str]) -> list[str]:
    """The base value columns of a chunk file.

    >>> base_columns(["y"]), base_columns(["no", "yes"])
    (['@base_value'], ['@base_value|no', '@base_value|yes'])
    """
    if len(output_names) == 1:
        return ["@base_value"]
    return [f"@base_value|{o}" for o in output_names]


def std_err_columns(feature_names: Sequence[str], output_names: Sequence[str]) -> list[str]:
    """The standard error columns of a chunk file (sampled methods).

    >>> std_err_columns(["a"], ["y"])
    ['@std_err|a']
    """
    return [f"@std_err|{c}" for c in value_columns(feature_names, output_names)]


def data_columns(feature_names: Sequence[str]) -> list[str]:
    """The input columns of a chunk file (``keep_data=True``).

    >>> data_columns(["a", "b"])
    ['@data|a', '@data|b']
    """
    return [f"@data|{f}" for f in feature_names]


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(out: Path) -> dict[str, Any] | None:
    """The manifest of the job in ``out``, or None when there is none. A manifest that cannot be read
    is refused (:class:`~xaikit.errors.FormatError` naming ``out``)."""
    path = out / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FormatError(f"out: expected a readable {MANIFEST} in {str(out)!r}, got one that is not JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise FormatError(f"out: expected the {MANIFEST} of an xaikit dataset job in {str(out)!r}, got another JSON file")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise FormatError(
            f"out: expected a dataset job of format version {FORMAT_VERSION} in {str(out)!r}, got version {manifest.get('format_version')!r}"
        )
    return manifest


class DatasetExplanation:
    """The attributions of a dataset job, read lazily from its folder (see :func:`open_dataset`).

    Attributes
    ----------
    out : pathlib.Path
        The job's folder.
    n_rows, n_features, n_outputs : int
    feature_names, output_names : list of str
    method : str
        The registry name of the method.
    params : dict
        The job's parameters, as the manifest records them.
    chunks : list of dict
        Per chunk: ``id``, ``first_row``, ``rows``, ``file``, ``sha256``, ``seed``, ``runtime_s``.
    """

    def __init__(self, out: str | os.PathLike[str], *, partial: bool = False) -> None:
        self.out = Path(out)
        if not self.out.is_dir():
            raise InvalidParameterError(f"out: expected the folder of a dataset job, got {str(out)!r}, which is not a folder")
        manifest = read_manifest(self.out)
        if manifest is None:
            raise InvalidParameterError(f"out: expected the folder of a dataset job (with {MANIFEST}), got {str(out)!r}, which has none")
        if not manifest.get("complete") and not partial:
            raise InvalidParameterError(
                f"out: expected a finished dataset job, got {str(out)!r} with {len(manifest.get('chunks', []))} chunk(s) done "
                "and more to do; rerun explain_dataset with resume=True, or pass partial=True to read the chunks done"
            )
        self.manifest = manifest
        self.chunks: list[dict[str, Any]] = sorted(manifest.get("chunks", []), key=lambda c: int(c["first_row"]))
        self.feature_names: list[str] = list(manifest.get("feature_names") or [])
        self.output_names: list[str] = list(manifest.get("output_names") or [])
        self.method: str = str(manifest["method"])
        self.params: dict[str, Any] = dict(manifest.get("parameters", {}))
        self.has_std_err = bool(manifest.get("has_std_err"))
        self.has_data = bool(manifest.get("has_data"))
        self.n_rows = int(sum(int(c["rows"]) for c in self.chunks))
        self.n_features = len(self.feature_names)
        self.n_outputs = len(self.output_names)
        self._starts = np.array([int(c["first_row"]) for c in self.chunks], dtype=np.int64)

    def __repr__(self) -> str:
        return (f"DatasetExplanation(method={self.method!r}, n_rows={self.n_rows}, n_features={self.n_features}, "
                f"n_outputs={self.n_outputs}, n_chunks={len(self.chunks)})")

    def __len__(self) -> int:
        return self.n_rows

    @property
    def shape(self) -> tuple[int, int, int]:
        """(n_rows, n_features, n_outputs), as an Attribution's."""
        return self.n_rows, self.n_features, self.n_outputs

    # -- reading ---------------------------------------------------------------------

    def _read(self, chunk: dict[str, Any]) -> Any:
        """The Parquet table of ``chunk``, its bytes checked against the manifest."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self.out / str(chunk["file"])
        try:
            raw = path.read_bytes()
        except OSError:
            raise FormatError(f"out: chunk {chunk['id']} of {str(self.out)!r} is missing ({path.name}); rerun explain_dataset with resume=True") from None
        if hashlib.sha256(raw).hexdigest() != chunk["sha256"]:
            raise FormatError(
                f"out: chunk {chunk['id']} of {str(self.out)!r} ({path.name}) does not match the SHA-256 the manifest records "
                "(changed or corrupt); rerun explain_dataset with resume=True to redo it"
            )
        table = pq.read_table(pa.BufferReader(raw))
        row_id = table.column("row_id").to_numpy()
        first, rows = int(chunk["first_row"]), int(chunk["rows"])
        if len(row_id) != rows or not np.array_equal(row_id, np.arange(first, first + rows)):
            raise FormatError(f"out: chunk {chunk['id']} of {str(self.out)!r} does not hold rows {first} to {first + rows - 1}")
        return table

    def _arrays(self, table: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        n, d, o = table.num_rows, self.n_features, self.n_outputs

        def stack(columns: list[str], shape: tuple[int, ...]) -> np.ndarray:
            if not columns:
                return np.zeros(shape)
            cols = [np.asarray(table.column(c).to_numpy(), dtype=np.float64) for c in columns]
            return np.stack(cols, axis=1).reshape(shape)

        values = stack(value_columns(self.feature_names, self.output_names), (n, d, o))
        base = stack(base_columns(self.output_names), (n, o))
        std_err = stack(std_err_columns(self.feature_names, self.output_names), (n, d, o)) if self.has_std_err else None
        data = stack(data_columns(self.feature_names), (n, d)) if self.has_data else None
        return values, base, std_err, data

    def _attribution(self, values: np.ndarray, base: np.ndarray, std_err: np.ndarray | None, data: np.ndarray | None = None) -> Attribution:
        diagnostics: dict[str, Any] = {} if std_err is None else {"std_err": std_err}
        params = {k: v for k, v in self.params.items() if k in ("explain", "target", "random_state")}
        return Attribution(
            values=values,
            base_values=base,
            data=data,
            feature_names=self.feature_names,
            output_names=self.output_names,
            method=self.method,
            params=params,
            diagnostics=diagnostics,
            provenance={"dataset": str(self.out)},
        )

    def iter_chunks(self) -> Iterator[Attribution]:
        """The chunks in row order, one :class:`~xaikit.results.Attribution` each (each file's
        SHA-256 checked as it is read)."""
        for chunk in self.chunks:
            yield self._attribution(*self._arrays(self._read(chunk)))

    def verify(self) -> None:
        """Check every chunk file against the manifest's SHA-256 (raises :class:`~xaikit.errors.FormatError`)."""
        for chunk in self.chunks:
            self._read(chunk)

    def to_attribution(self, rows: Any = None, *, max_rows: int | None = MAX_ROWS) -> Attribution:
        """Rows of the job as one :class:`~xaikit.results.Attribution` (all of them by default).

        Parameters
        ----------
        rows : None, slice or sequence of int
            The rows (their ``row_id``), in the order given; None: every row.
        max_rows : int or None
            Refuse to materialise more rows than this (None: no limit).
        """
        if rows is None:
            ids = np.arange(self.n_rows, dtype=np.int64)
        elif isinstance(rows, slice):
            ids = np.arange(self.n_rows, dtype=np.int64)[rows]
        else:
            ids = np.asarray(rows)
            if ids.ndim != 1 or not (ids.size == 0 or np.issubdtype(ids.dtype, np.integer)):
                raise InvalidParameterError(f"rows: expected None, a slice or a 1-D sequence of row ids (ints), got {describe(rows)}")
            ids = ids.astype(np.int64)
            bad = ids[(ids < 0) | (ids >= self.n_rows)]
            if bad.size:
                raise InvalidParameterError(f"rows: expected row ids in [0, {self.n_rows}), got {int(bad[0])}")
        if max_rows is not None and len(ids) > check_int(max_rows, "max_rows", minimum=0):
            raise InvalidParameterError(
                f"rows: expected at most max_rows={max_rows} rows to materialise, got {len(ids)}; pass max_rows=None to "
                "load them all, or use sample(), ranking() and iter_chunks(), which stream"
            )
        d, o = self.n_features, self.n_outputs
        values = np.empty((len(ids), d, o))
        base = np.empty((len(ids), o))
        std_err = np.empty((len(ids), d, o)) if self.has_std_err else None
        data = np.empty((len(ids), d)) if self.has_data else None
        owner = np.searchsorted(self._starts, ids, side="right") - 1
        for k in np.unique(owner):
            at = np.flatnonzero(owner == k)
            chunk_values, chunk_base, chunk_err, chunk_data = self._arrays(self._read(self.chunks[int(k)]))
            local = ids[at] - self._starts[k]
            values[at], base[at] = chunk_values[local], chunk_base[local]
            if std_err is not None and chunk_err is not None:
                std_err[at] = chunk_err[local]
            if data is not None and chunk_data is not None:
                data[at] = chunk_data[local]
        return self._attribution(values, base, std_err, data)

    def sample(self, n: int, random_state: Any = 0) -> Attribution:
        """``n`` rows drawn without replacement (all of them when there are fewer), in row order, as
        an :class:`~xaikit.results.Attribution`: what plots that draw rows read."""
        from xaikit._validation import check_random_state

        n = check_int(n, "n", minimum=0)
        rng = np.random.default_rng(check_random_state(random_state))
        ids = np.sort(rng.choice(self.n_rows, size=min(n, self.n_rows), replace=False)) if n < self.n_rows else np.arange(self.n_rows)
        return self.to_attribution(ids, max_rows=None)

    # -- summaries, streamed -------------------------------------------------------------

    def mean_abs(self) -> np.ndarray:
        """Mean absolute attribution per feature and output, (n_features, n_outputs), streamed over
        the chunks; equal to the bit to ``to_attribution().mean_abs()``. NaN when there are no rows."""
        d, o = self.n_features, self.n_outputs
        if self.n_rows == 0:
            return np.full((d, o), np.nan)
        if d * o == 1:  # numpy sums one column pairwise: the column is read whole (8 bytes a row)
            column = np.concatenate([a.values for a in self.iter_chunks()])
            return np.abs(column).mean(axis=0)  # type: ignore[no-any-return]
        total = np.zeros((1, d, o))
        for part in self.iter_chunks():  # row after row, as numpy sums the rows of a (n, d, o) array
            total = np.add.reduce(np.concatenate([total, np.abs(part.values)]), axis=0, keepdims=True)
        return total[0] / self.n_rows  # type: ignore[no-any-return]

    def ranking(self, target: int | str = 0) -> list[tuple[str, float]]:
        """Features sorted by decreasing mean absolute attribution for one output (ties: first first),
        streamed over the chunks; as ``to_attribution().ranking(target)``."""
        if isinstance(target, str) and target in self.output_names:
            j = self.output_names.index(target)
        elif isinstance(target, (int, np.integer)) and not isinstance(target, bool) and -self.n_outputs <= target < self.n_outputs:
            j = int(target) % self.n_outputs
        else:
            raise InvalidParameterError(f"target: expected an output position in [0, {self.n_outputs}) or one of {self.output_names}, got {describe(target)}")
        scores = self.mean_abs()[:, j]
        order = np.argsort(-scores, kind="stable")
        return [(self.feature_names[i], float(scores[i])) for i in order]

    def plot(self, kind: str | None = None, *, n: int = 1000, random_state: Any = 0, **kwargs: Any) -> Any:
        """Draw a sample of ``n`` rows (:meth:`sample`) with ``Attribution.plot(kind, **kwargs)``."""
        return self.sample(n, random_state).plot(kind, **kwargs)


def open_dataset(out: str | os.PathLike[str], *, partial: bool = False) -> DatasetExplanation:
    """The result of a dataset job, read lazily from its folder ``out``.

    Parameters
    ----------
    out : str or path
        The folder given to :func:`xaikit.execution.dataset.explain_dataset`.
    partial : bool
        Open a job that is not finished (its chunks done so far); refused by default.

    Examples
    --------
    >>> import numpy as np, tempfile, xaikit as xk
    >>> from xaikit.execution.dataset import explain_dataset
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> explainer = xk.ExactShapley(lambda X: X @ [1.0, 2.0], background=np.zeros((1, 2)))
    >>> with tempfile.TemporaryDirectory() as out:
    ...     _ = explain_dataset(explainer, X, out=out, chunk_rows=4, executor="serial")
    ...     ds = open_dataset(out)
    ...     ds.n_rows, len(ds.chunks), ds.ranking()
    (6, 2, [('x1', 12.0), ('x0', 5.0)])
    """
    return DatasetExplanation(out, partial=partial)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary name in the same folder (flushed to disk), then
    ``os.replace``: ``path`` is either the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def table_bytes(table: Any) -> bytes:
    """A pyarrow table as Parquet bytes."""
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest as indented JSON."""
    return (json.dumps(manifest, indent=1, sort_keys=False) + "\n").encode("utf-8")
