"""The ``.xai`` file format: one ZIP archive per result, written and read without pickle.

File format, version 1
----------------------
A saved result is one ZIP archive (deflate compression). The file name is used as given; no
extension is added or changed. The archive holds:

``meta.json``
    A UTF-8 JSON object with the keys

    ``format``
        Always ``"xaikit-explanation"``.
    ``format_version``
        The integer ``1``. Readers refuse files with a newer version.
    ``kind``
        The result kind, e.g. ``"attribution"``; :meth:`~xaikit.results.Result.load` picks the
        class declared with this ``kind``.
    ``method``
        The name of the method that produced the result (str).
    ``params``, ``provenance``
        JSON objects (hyper-parameters; library versions, background summary, seed...).
    ``diagnostics``
        The diagnostics that are not numpy arrays (scalars, lists, objects).
    ``diagnostic_axes``
        Object mapping a diagnostic key to its axis letters (``"ndo"``, ``"no"``, ...).
    ``arrays``
        A list of array entries, one per array field the kind declares (``values``,
        ``base_values``, ``data``, ``segments``...) and per array diagnostic, each a JSON object
        with ``"field"`` (the field's name, or ``"diagnostics"``), ``"key"`` (only for
        diagnostics: the diagnostic key) and ``"storage"``:

        - ``"npy"``: the array is the archive member named by ``"file"``, an NPY file
          written without pickle;
        - ``"json-columns"``: a 2-D object array (e.g. mixed strings and numbers) stored
          inline: ``"shape"`` is ``[n_rows, n_columns]`` and ``"columns"`` a list of
          columns, each a list of JSON scalars; ``null`` stands for a missing value and
          is read back as NaN.

        Optional fields without an entry are absent (e.g. ``data`` when it was not recorded).
    the kind's names and JSON fields
        One key per named axis (``feature_names``, ``output_names``: lists of str) and per JSON
        field the kind declares, ``null`` when absent. For ``"attribution"``: ``input_shape``
        (the per-row shape of the values, a list of int). For ``"ragged-attribution"``:
        ``row_feature_names`` (a list of lists of str), ``spans`` (per row, per feature, a list
        of ``[start, end]``), ``texts`` (list of str) and ``input_shape``; ``segments`` is an
        NPY array entry.

``*.npy``
    One NPY file per numeric array (``values``, ``base_values``, numeric ``data``,
    array diagnostics).

Non-finite floats inside ``meta.json`` (e.g. a NaN diagnostic) are written as the
``NaN`` / ``Infinity`` / ``-Infinity`` tokens understood by Python's :mod:`json`. Tuples are
written as lists and numpy scalars and arrays as plain JSON numbers and lists. Fields a kind
declares finite (``values``, ``base_values``) hold finite numbers only.

The layout is the one xaikit 0.1 wrote, so files written now are read by xaikit 0.1 (which
ignores the JSON keys it does not know) and 0.1's files are read now; a 0.1 Attribution's
``diagnostics["attribution_shape"]`` becomes its ``input_shape`` field when loaded.

Reading is bounded
------------------
Loading reads regular files only (never a folder, device or pipe) of at most
:data:`MAX_FILE_BYTES`. Before decompressing anything it checks the sizes the archive declares: all
members together at most the larger of :data:`UNCOMPRESSED_ALLOWANCE` and
:data:`MAX_COMPRESSION_RATIO` times the file's size, ``meta.json`` at most :data:`MAX_META_BYTES`
(also while reading, as a declared size can lie), and each NPY member exactly the size its header
claims. Complex, object and structured arrays are refused. A truncated or corrupt file (a missing
ZIP directory, a bad CRC) raises :class:`~xaikit.errors.FormatError` naming the file.

Examples
--------
>>> import numpy as np
>>> from xaikit.results import Attribution, Result
>>> exp = Attribution(values=np.ones((2, 3, 1)), base_values=np.zeros((2, 1)), method="demo")
>>> Result.from_bytes(exp.to_bytes()).feature_names
['x0', 'x1', 'x2']
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import numbers
import os
import re
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO

import numpy as np
from numpy.lib import format as npy_format

from xaikit._validation import describe
from xaikit.errors import FormatError, InvalidParameterError

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_COMPRESSION_RATIO",
    "MAX_FILE_BYTES",
    "MAX_META_BYTES",
    "UNCOMPRESSED_ALLOWANCE",
]

FORMAT_NAME = "xaikit-explanation"
"""The value of ``format`` in ``meta.json``."""

FORMAT_VERSION = 1
"""The file-format version written (and the newest one read)."""

MAX_FILE_BYTES: int = 16 * 1024**3
"""Largest file loading reads, in bytes (16 GiB)."""

MAX_META_BYTES: int = 64 * 1024**2
"""Largest ``meta.json`` read, in bytes once decompressed (64 MiB)."""

MAX_COMPRESSION_RATIO: int = 200
"""The members of one file may decompress to at most the larger of :data:`UNCOMPRESSED_ALLOWANCE`
and this many times the file's size."""

UNCOMPRESSED_ALLOWANCE: int = 512 * 1024**2
"""Bytes the members of any file may decompress to, whatever the file's size (512 MiB)."""

_META_NAME = "meta.json"
_NPY_KINDS = "biufSU"
"""dtype kinds read from NPY members: no complex, object, structured or time arrays."""
_READ_CHUNK_BYTES = 16 * 1024**2
_TEMP_NAME_CHARS = 64
_ARCHIVE_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    EOFError,
    OSError,
    ValueError,
    TypeError,
    OverflowError,
    NotImplementedError,
    RuntimeError,
)
"""What the standard library raises on a damaged archive or NPY member."""
_MAX_LISTED_NAMES = 10


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _to_json(value: Any, key: str) -> Any:
    """Convert ``value`` to plain JSON types, or raise naming ``key``.

    Numpy scalars become Python numbers, numpy arrays and tuples become lists. Mapping keys
    must be str (JSON would silently turn other keys into strings).

    >>> _to_json({"a": np.float64(0.5), "b": (1, np.int32(2)), "c": np.arange(2)}, "params")
    {'a': 0.5, 'b': [1, 2], 'c': [0, 1]}
    >>> _to_json({"f": print}, "params")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: params['f']: expected a JSON-serialisable value ..., got <built-in function print> (...)
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidParameterError(f"{key}: expected str keys (JSON objects have text keys), got the key {describe(k)}")
            out[str(k)] = _to_json(v, f"{key}[{k!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [_to_json(v, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return _to_json(value.tolist(), key)
    raise InvalidParameterError(
        f"{key}: expected a JSON-serialisable value (None, bool, int, float, str, list, "
        f"dict with str keys or a numpy array of those), got {describe(value)}"
    )


def _is_pandas_missing(value: Any) -> bool:
    """Whether ``value`` is ``pandas.NA`` or ``pandas.NaT`` (checked without importing pandas)."""
    kind = type(value)
    return kind.__module__.startswith("pandas") and kind.__name__ in {"NAType", "NaTType"}


def _cell_to_json(value: Any, where: str) -> Any:
    """Convert one cell of an object array to a JSON scalar; NaN and missing values become None."""
    if value is None or _is_pandas_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        as_float = float(value)
        return None if np.isnan(as_float) else as_float
    raise InvalidParameterError(
        f"{where}: expected a JSON scalar (str, int, float, bool or None) to store object data, "
        f"got {describe(value)}; convert the column to str or numbers before saving"
    )


def _list_names(names: Sequence[str]) -> str:
    """``'a', 'b', ... (and 12 more)`` for error messages."""
    shown = ", ".join(repr(n) for n in names[:_MAX_LISTED_NAMES])
    if len(names) > _MAX_LISTED_NAMES:
        shown += f", ... (and {len(names) - _MAX_LISTED_NAMES} more)"
    return shown


def _default_file_mode() -> int:
    """Permissions for a new file: 0o666 masked by the process umask (0o644 if unknown)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o644


def _safe_member_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)[:40]


def _check_path(path: Any, *, reading: bool = False) -> str:
    """``path`` as a str, or an error naming ``path``."""
    hint = "; to read a file's content held in memory use Result.from_bytes" if reading else ""
    if isinstance(path, (bytes, bytearray, memoryview)):
        raise InvalidParameterError(f"path: expected a str or os.PathLike path, got {describe(path)}{hint}")
    try:
        target = os.fspath(path)
    except TypeError:
        raise InvalidParameterError(f"path: expected a str or os.PathLike path, got {describe(path)}") from None
    if not isinstance(target, str):
        raise InvalidParameterError(
            f"path: expected a str or os.PathLike path that gives a str, got {describe(path)} giving {describe(target)}"
        )
    if not target:
        raise InvalidParameterError("path: expected the path of a file, got an empty str")
    if "\x00" in target:
        raise InvalidParameterError(f"path: expected a path without NUL characters, got {target!r}")
    return target


def _file_type(mode: int) -> str:
    """What kind of file ``st_mode`` describes, for messages."""
    for check, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if check(mode):
            return name
    return "not a regular file"


def _open_regular_file(source: str) -> tuple[BinaryIO, int]:
    """Open ``source`` for reading if it is a regular file (never blocking on a pipe or device)."""

    def refuse(exc: OSError) -> InvalidParameterError:
        if isinstance(exc, FileNotFoundError):
            return InvalidParameterError(f"path: expected an existing file, got {source!r}, which does not exist")
        return InvalidParameterError(f"path: cannot read {source!r} ({exc.strerror or type(exc).__name__})")

    try:
        before = os.stat(source)
    except OSError as exc:
        raise refuse(exc) from None
    if not stat.S_ISREG(before.st_mode):
        raise InvalidParameterError(f"path: expected a regular file, got {source!r}, which is {_file_type(before.st_mode)}")
    try:
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise refuse(exc) from None
    try:
        info = os.fstat(fd)  # the file opened may not be the one checked above
        if not stat.S_ISREG(info.st_mode):
            raise InvalidParameterError(f"path: expected a regular file, got {source!r}, which is {_file_type(info.st_mode)}")
        return os.fdopen(fd, "rb"), int(info.st_size)
    except BaseException:
        os.close(fd)
        raise


def _open_archive(fh: BinaryIO, size: int, source: str) -> zipfile.ZipFile:
    """The ZIP archive in ``fh`` after the size checks, or a FormatError saying what is wrong."""
    if size > MAX_FILE_BYTES:
        raise FormatError(
            f"{source}: the file holds {size} bytes, more than the {MAX_FILE_BYTES} bytes "
            f"xaikit reads (xaikit.results.format.MAX_FILE_BYTES)"
        )
    try:
        zf = zipfile.ZipFile(fh, "r")
    except _ARCHIVE_ERRORS as exc:
        fh.seek(0)
        head = fh.read(16)
        if head.startswith(b"PK"):
            raise FormatError(
                f"{source}: truncated or corrupt .xai file: it starts as a ZIP archive but its end "
                f"(the ZIP directory) is missing or damaged ({size} bytes; {exc})"
            ) from None
        raise FormatError(
            f"{source}: not an xaikit explanation file: expected a ZIP archive, found a file starting with {head!r}"
        ) from None
    infos = zf.infolist()
    declared = sum(info.file_size for info in infos)
    allowed = max(UNCOMPRESSED_ALLOWANCE, MAX_COMPRESSION_RATIO * size)
    if declared > allowed:
        zf.close()
        raise FormatError(
            f"{source}: the archive declares {declared} bytes once decompressed, more than the {allowed} "
            f"allowed for a file of {size} bytes (the larger of xaikit.results.format.UNCOMPRESSED_ALLOWANCE and "
            f"MAX_COMPRESSION_RATIO = {MAX_COMPRESSION_RATIO} times the file size)"
        )
    return zf


def _member_error(source: str, member: str, exc: BaseException) -> FormatError:
    return FormatError(f"{source}: truncated or corrupt .xai file: cannot read the member {member!r} ({exc})")


def _read_meta(zf: zipfile.ZipFile, source: str) -> dict[str, Any]:
    names = zf.namelist()
    if _META_NAME not in names:
        raise FormatError(
            f"{source}: not an xaikit explanation file: the ZIP archive has no {_META_NAME} "
            f"(found {_list_names(names) or 'no entries'})"
        )
    info = zf.getinfo(_META_NAME)
    too_large = (
        f"{source}: {_META_NAME} holds more than the {MAX_META_BYTES} bytes xaikit reads (xaikit.results.format.MAX_META_BYTES)"
    )
    if info.file_size > MAX_META_BYTES:
        raise FormatError(f"{too_large}: it declares {info.file_size} bytes")
    try:
        with zf.open(info) as fh:
            raw = fh.read(MAX_META_BYTES + 1)  # the declared size may lie: read no more than the bound
            if len(raw) <= MAX_META_BYTES:
                fh.read(1)  # reach the end, where the CRC is checked
    except _ARCHIVE_ERRORS as exc:
        raise _member_error(source, _META_NAME, exc) from None
    if len(raw) > MAX_META_BYTES:
        raise FormatError(too_large)
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise FormatError(f"{source}: {_META_NAME} is not valid UTF-8 JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise FormatError(f"{source}: {_META_NAME}: expected a JSON object, found {describe(meta)}")
    found = meta.get("format")
    if found != FORMAT_NAME:
        raise FormatError(
            f"{source}: not an xaikit explanation file: expected format {FORMAT_NAME!r} in {_META_NAME}, found {found!r}"
        )
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise FormatError(f"{source}: expected a positive integer format_version, found {version!r}")
    if version > FORMAT_VERSION:
        raise FormatError(
            f"{source}: written with format_version {version}, but this version of xaikit reads "
            f"format versions up to {FORMAT_VERSION}; upgrade xaikit to read it"
        )
    return meta


def _read_npy(zf: zipfile.ZipFile, member: str, source: str) -> np.ndarray:
    """Read one NPY member, checking what its header claims against what the member holds
    before allocating."""
    try:
        info = zf.getinfo(member)
    except KeyError:
        raise FormatError(f"{source}: the archive lacks the array member {member!r}") from None
    try:
        with zf.open(info) as fh:
            version = npy_format.read_magic(fh)
            if version == (1, 0):
                shape, fortran_order, dtype = npy_format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, fortran_order, dtype = npy_format.read_array_header_2_0(fh)
            else:
                raise FormatError(f"{source}: the array member {member!r} has NPY version {version}, expected 1.0 or 2.0")
            if any(length < 0 for length in shape):
                raise FormatError(f"{source}: the array member {member!r} claims the negative shape {tuple(shape)}")
            if dtype.hasobject or dtype.kind not in _NPY_KINDS:
                raise FormatError(
                    f"{source}: the array member {member!r} has dtype {dtype}; expected a real number, "
                    f"integer, boolean or string dtype (complex, object and structured arrays are refused)"
                )
            count = math.prod(shape)
            nbytes = count * dtype.itemsize
            held = info.file_size - fh.tell()
            if nbytes != held:
                raise FormatError(
                    f"{source}: the array member {member!r} is not valid: its header claims shape "
                    f"{tuple(shape)} of {dtype} ({count} values, {nbytes} bytes) but the member holds {held} bytes"
                )
            flat = np.empty(count, dtype=dtype)
            if nbytes:
                buffer = flat.view(np.uint8)
                done = 0
                while done < nbytes:
                    chunk = fh.read(min(_READ_CHUNK_BYTES, nbytes - done))
                    if not chunk:
                        raise EOFError(f"the data ends after {done} of {nbytes} bytes")
                    buffer[done : done + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
                    done += len(chunk)
            if fh.read(1):  # also reaches the end, where the CRC is checked
                raise ValueError("more data than its header declares")
    except FormatError:
        raise
    except _ARCHIVE_ERRORS as exc:
        raise _member_error(source, member, exc) from None
    if fortran_order:
        return flat.reshape(shape[::-1]).transpose()
    return flat.reshape(shape)


def _read_entry(zf: zipfile.ZipFile, entry: dict[str, Any], source: str) -> np.ndarray:
    storage = entry.get("storage")
    if storage == "npy":
        member = entry.get("file")
        if not isinstance(member, str):
            raise FormatError(f"{source}: meta.json: npy array entry without a str 'file': {entry!r}")
        return _read_npy(zf, member, source)
    if storage == "json-columns":
        shape = entry.get("shape")
        columns = entry.get("columns")
        if (
            not isinstance(shape, list)
            or len(shape) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
            or not isinstance(columns, list)
            or len(columns) != shape[1]
            or not all(isinstance(c, list) and len(c) == shape[0] for c in columns)
        ):
            raise FormatError(
                f"{source}: meta.json: malformed json-columns entry for {entry.get('field')!r} "
                f"(expected 'shape' [n, m] and m columns of n values)"
            )
        arr = np.empty(tuple(shape), dtype=object)
        for j, column in enumerate(columns):
            for i, cell in enumerate(column):
                if cell is not None and not isinstance(cell, (bool, int, float, str)):
                    raise FormatError(
                        f"{source}: meta.json: {entry.get('field')}[{i}, {j}] is not a JSON scalar: {describe(cell)}"
                    )
                arr[i, j] = float("nan") if cell is None else cell
        return arr
    raise FormatError(f"{source}: meta.json: unknown array storage {storage!r} (expected 'npy' or 'json-columns')")


def non_finite(arr: Any) -> str | None:
    """How many NaN and infinite numbers a float array holds, or None when all are finite."""
    if not isinstance(arr, np.ndarray) or arr.dtype.kind != "f":
        return None
    finite = np.isfinite(arr)
    if finite.all():
        return None
    n_nan = int(np.isnan(arr).sum())
    n_inf = int(arr.size - finite.sum()) - n_nan
    return f"found {n_nan} NaN and {n_inf} infinite among {arr.size} values"


def _write_archive(fh: BinaryIO, meta_bytes: bytes, members: Sequence[tuple[str, np.ndarray]]) -> None:
    """Write ``meta.json`` and the NPY members as one ZIP archive to ``fh``."""
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_META_NAME, meta_bytes)
        for member, arr in members:
            with zf.open(member, "w", force_zip64=True) as out:
                npy_format.write_array(out, arr, allow_pickle=False)


def object_entry(field: str, arr: np.ndarray) -> dict[str, Any]:
    """The ``json-columns`` entry of a 2-D object array (cells as JSON scalars, NaN as null)."""
    if arr.ndim != 2:
        raise InvalidParameterError(f"{field}: an object array can only be saved when it has 2 dimensions, got {describe(arr)}")
    columns = [[_cell_to_json(arr[i, j], f"{field}[{i}, {j}]") for i in range(arr.shape[0])] for j in range(arr.shape[1])]
    return {"field": field, "storage": "json-columns", "shape": list(arr.shape), "columns": columns}


def encode(meta: Mapping[str, Any]) -> bytes:
    """``meta.json``'s bytes."""
    return json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8")


def archive_bytes(meta_bytes: bytes, members: Sequence[tuple[str, np.ndarray]]) -> bytes:
    """The archive of ``meta.json`` and the NPY members, as bytes."""
    buffer = io.BytesIO()
    _write_archive(buffer, meta_bytes, members)
    return buffer.getvalue()


def check_save_path(path: Any) -> tuple[str, str]:
    """The target file and its folder, or an InvalidParameterError naming ``path``."""
    target = _check_path(path)
    if target.endswith(os.sep) or (os.altsep is not None and target.endswith(os.altsep)):
        raise InvalidParameterError(f"path: expected the path of a file, got {target!r}, which ends with a path separator")
    if os.path.isdir(target):
        raise InvalidParameterError(f"path: expected the path of a file, got {target!r}, which is a folder")
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        problem = "is not a folder" if os.path.exists(directory) else "does not exist"
        raise InvalidParameterError(f"path: cannot save to {target!r}: the folder {directory!r} {problem}; create it first")
    return target, directory


def write_file(target: str, directory: str, meta_bytes: bytes, members: Sequence[tuple[str, np.ndarray]]) -> None:
    """Write the archive to ``target`` atomically (a temporary file in the same folder, then renamed)."""
    try:
        mode = os.stat(target).st_mode & 0o7777
    except OSError:
        mode = _default_file_mode()
    try:
        fd, tmp_path = tempfile.mkstemp(prefix=f".{os.path.basename(target)[:_TEMP_NAME_CHARS]}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InvalidParameterError(
            f"path: cannot save to {target!r}: cannot create a file in the folder {directory!r} "
            f"({exc.strerror or type(exc).__name__})"
        ) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_archive(fh, meta_bytes, members)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp_path, mode)
        try:
            os.replace(tmp_path, target)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise InvalidParameterError(f"path: cannot write {target!r} ({reason})") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_path)
        raise
    if hasattr(os, "O_DIRECTORY"):
        with contextlib.suppress(OSError):
            dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def open_path(path: Any) -> tuple[BinaryIO, int, str]:
    """The open regular file at ``path``, its size and its name for messages."""
    source = _check_path(path, reading=True)
    fh, size = _open_regular_file(source)
    return fh, size, source


def open_bytes(data: Any) -> tuple[BinaryIO, int, str]:
    """A stream over ``data`` (the content of a file), its size and ``"data"`` for messages."""
    if isinstance(data, memoryview):
        data = data.tobytes()
    if not isinstance(data, (bytes, bytearray)):
        raise InvalidParameterError(f"data: expected bytes (the content of an .xai file), got {describe(data)}")
    return io.BytesIO(data), len(data), "data"


def read_arrays(
    zf: zipfile.ZipFile, meta: Mapping[str, Any], source: str, kind: str, fields: Sequence[str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The array fields (among ``fields``) and the array diagnostics listed in ``meta["arrays"]``."""
    entries = meta.get("arrays", [])
    if not isinstance(entries, list):
        raise FormatError(f"{source}: meta.json: expected 'arrays' to be a list, found {describe(entries)}")
    members = [e.get("file") for e in entries if isinstance(e, dict) and e.get("storage") == "npy"]
    repeated = [m for i, m in enumerate(members) if m in members[:i]]
    if repeated:  # each read allocates the member's size: a repeated member would escape the size bounds
        raise FormatError(f"{source}: meta.json: the array member {repeated[0]!r} is listed more than once")
    arrays: dict[str, np.ndarray] = {}
    diagnostics: dict[str, np.ndarray] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("field"), str):
            raise FormatError(f"{source}: meta.json: malformed array entry {describe(entry)}")
        field = entry["field"]
        if field == "diagnostics":
            key = entry.get("key")
            if not isinstance(key, str):
                raise FormatError(f"{source}: meta.json: diagnostics array entry without a str 'key': {entry!r}")
            diagnostics[key] = _read_entry(zf, entry, source)
        elif field in fields:
            arrays[field] = _read_entry(zf, entry, source)
        else:
            raise FormatError(f"{source}: meta.json: unknown array field {field!r} for kind {kind!r}")
    return arrays, diagnostics
