"""Typed, immutable explanation results and their file format.

Every explainer returns an :class:`Explanation`. The kinds so far: :class:`Attribution`, one
value per (row, feature, output), e.g. Shapley values; :class:`Interaction`, one value per (row,
feature, feature, output), e.g. SHAP interaction values; :class:`RaggedAttribution`, an Attribution whose
rows have their own features (LIME on documents and images).

Results are frozen: attributes cannot be set after construction and every stored array is
read-only. They can be sliced (:meth:`Attribution.__getitem__`), turned into a tidy table
(:meth:`Attribution.to_frame`), and saved to / loaded from a single file
(:meth:`Explanation.save`, :meth:`Explanation.load`).

File format, version 1
----------------------
A saved explanation is one ZIP archive (deflate compression). The file name is used as
given; no extension is added or changed. The archive holds:

``meta.json``
    A UTF-8 JSON object with the keys

    ``format``
        Always ``"xaikit-explanation"``.
    ``format_version``
        The integer ``1``. Readers refuse files with a newer version.
    ``kind``
        The result type, e.g. ``"attribution"``; :meth:`Explanation.load` picks the class
        registered under this name.
    ``method``
        The name of the method that produced the result (str).
    ``params``, ``provenance``
        JSON objects (hyper-parameters; library versions, background summary, seed...).
    ``diagnostics``
        The diagnostics that are not numpy arrays (scalars, lists, objects).
    ``diagnostic_axes``
        Object mapping a diagnostic key to its axis letters (``"ndo"``, ``"no"``, ...).
    ``arrays``
        A list of array entries, each a JSON object with ``"field"`` (e.g. ``"values"``,
        ``"data"`` or ``"diagnostics"``), ``"key"`` (only for diagnostics: the diagnostic
        key) and ``"storage"``:

        - ``"npy"``: the array is the archive member named by ``"file"``, an NPY file
          written without pickle;
        - ``"json-columns"``: a 2-D object array (e.g. mixed strings and numbers) stored
          inline: ``"shape"`` is ``[n_rows, n_columns]`` and ``"columns"`` a list of
          columns, each a list of JSON scalars; ``null`` stands for a missing value and
          is read back as NaN.

        Fields without an entry are ``None`` (e.g. ``data`` when it was not recorded).
    kind-specific fields
        For ``"attribution"``: ``feature_names`` and ``output_names`` (lists of str).
        For ``"ragged-attribution"``: ``output_names``, ``row_feature_names`` (a list of lists
        of str), ``spans`` (per row, per feature, a list of ``[start, end]``) and ``texts``
        (list of str), each ``null`` when absent; ``segments`` is an NPY array entry.

``*.npy``
    One NPY file per numeric array (``values``, ``base_values``, numeric ``data``,
    array diagnostics).

Non-finite floats inside ``meta.json`` (e.g. a NaN diagnostic) are written as the
``NaN`` / ``Infinity`` / ``-Infinity`` tokens understood by Python's :mod:`json`. Tuples are
written as lists and numpy scalars and arrays as plain JSON numbers and lists.

``values`` and ``base_values`` hold finite numbers only. :meth:`Explanation.to_bytes` gives the same
content as bytes, and :meth:`Explanation.from_bytes` reads it back.

Reading is bounded
------------------
:meth:`Explanation.load` reads regular files only (never a folder, device or pipe) of at most
:data:`MAX_FILE_BYTES`. Before decompressing anything it checks the sizes the archive declares: all
members together at most the larger of :data:`UNCOMPRESSED_ALLOWANCE` and
:data:`MAX_COMPRESSION_RATIO` times the file's size, ``meta.json`` at most :data:`MAX_META_BYTES`
(also while reading, as a declared size can lie), and each NPY member exactly the size its header
claims. Complex, object and structured arrays are refused. A truncated or corrupt file (a missing
ZIP directory, a bad CRC) raises :class:`~xaikit.errors.FormatError` naming the file.

Examples
--------
>>> import numpy as np
>>> exp = Attribution(values=np.ones((2, 3, 1)), base_values=np.zeros((2, 1)), method="demo")
>>> exp
Attribution(method='demo', n_rows=2, n_features=3, n_outputs=1)
>>> exp[:, ["x0", "x2"]].shape
(2, 2, 1)
"""

from __future__ import annotations

import contextlib
import copy
import html
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
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, TypeVar

import numpy as np
from numpy.lib import format as npy_format

from xaikit._validation import describe
from xaikit.errors import FormatError, InvalidParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DIAGNOSTIC_AXES",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_COMPRESSION_RATIO",
    "MAX_FILE_BYTES",
    "MAX_META_BYTES",
    "UNCOMPRESSED_ALLOWANCE",
    "Explanation",
    "Attribution",
    "Interaction",
    "RaggedAttribution",
]

FORMAT_NAME = "xaikit-explanation"
"""The value of ``format`` in ``meta.json``."""

FORMAT_VERSION = 1
"""The file-format version written by :meth:`Explanation.save` (and the newest one read)."""

DIAGNOSTIC_AXES: dict[str, str] = {
    "std_err": "ndo",
    "completeness_gap": "no",
    "n_model_calls": "n",
    "local_fidelity": "no",
}
"""Axes of the diagnostics that are sliced with the values: ``n`` rows, ``d`` features,
``o`` outputs. More can be declared per result with ``diagnostic_axes=``."""

_KINDS: dict[str, type[Explanation]] = {}
"""Registry of result classes by their ``kind_name``, used by :meth:`Explanation.load`."""

MAX_FILE_BYTES: int = 16 * 1024**3
"""Largest file :meth:`Explanation.load` reads, in bytes (16 GiB)."""

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
_FINITE_FIELDS = ("values", "base_values")
"""Array fields whose numbers must be finite in a file."""
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
_T = TypeVar("_T", bound="Explanation")


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _to_json(value: Any, key: str) -> Any:
    """Convert ``value`` to plain JSON types, or raise naming ``key``.

    Numpy scalars become Python numbers, numpy arrays and tuples become lists. Mapping keys
    must be str (JSON would silently turn other keys into strings).

    >>> _to_json({"a": np.float64(0.5), "b": (1, np.int32(2)), "c": np.arange(2)}, "params")
    {'a': 0.5, 'b': [1, 2], 'c': [0, 1]}
    >>> _to_json({"f": print}, "params")
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: params['f']: expected a JSON-serialisable value (None, bool, int, float, str, list, dict with str keys or a numpy array of those), got <built-in function print> (builtin_function_or_method)
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
                raise InvalidParameterError(
                    f"{key}: expected str keys (JSON objects have text keys), got the key {describe(k)}"
                )
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


def _readonly(arr: np.ndarray) -> np.ndarray:
    """A read-only view of ``arr`` whose base is read-only too, so the flag cannot be reset."""
    arr.setflags(write=False)
    view = arr.view()
    view.setflags(write=False)
    return view


def _as_float_array(value: Any, name: str, ndim: int, expected: str) -> np.ndarray:
    """Copy ``value`` into a read-only float64 array with ``ndim`` dimensions."""
    if isinstance(value, (str, bytes)) or value is None:
        raise InvalidParameterError(f"{name}: expected a numeric array of shape {expected}, got {describe(value)}")
    try:
        arr = np.asarray(value)
        if arr.dtype.kind not in "biufO":
            raise TypeError(f"dtype {arr.dtype} is not numeric")
        arr = np.array(arr, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"{name}: expected a numeric array of shape {expected}, got {describe(value)} "
            f"that cannot be converted to float64 ({exc})"
        ) from None
    if arr.ndim != ndim:
        raise InvalidParameterError(
            f"{name}: expected an array with {ndim} dimensions {expected}, got {describe(arr)}"
        )
    return _readonly(arr)


def _check_names(names: Any, name: str, length: int, prefix: str) -> tuple[str, ...]:
    """Validate a list of ``length`` unique str names (default ``prefix0``, ``prefix1``, ...)."""
    if names is None:
        return tuple(f"{prefix}{i}" for i in range(length))
    if isinstance(names, (str, bytes, Mapping)) or not hasattr(names, "__iter__"):
        raise InvalidParameterError(f"{name}: expected a list of {length} str, got {describe(names)}")
    items = list(names)
    if len(items) != length:
        raise InvalidParameterError(f"{name}: expected a list of {length} str, got {len(items)} names")
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise InvalidParameterError(f"{name}[{i}]: expected a str, got {describe(item)}")
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise InvalidParameterError(f"{name}: expected unique names, got {item!r} more than once")
        seen.add(item)
    return tuple(str(item) for item in items)


def _list_names(names: Sequence[str]) -> str:
    """``'a', 'b', ... (and 12 more)`` for error messages."""
    shown = ", ".join(repr(n) for n in names[:_MAX_LISTED_NAMES])
    if len(names) > _MAX_LISTED_NAMES:
        shown += f", ... (and {len(names) - _MAX_LISTED_NAMES} more)"
    return shown


_AXIS_SINGULAR = {"rows": "row", "features": "feature", "outputs": "output"}


def _resolve_index(key: Any, axis: str, length: int, names: Sequence[str] | None) -> np.ndarray:
    """Turn one part of an index into a 1-D array of non-negative positions.

    ``key`` may be an int, a slice, a list or array of ints, a boolean mask or, when
    ``names`` is given, a str name or a list of names.
    """
    singular = _AXIS_SINGULAR.get(axis, axis)
    accepted = "an int, a slice, a list or array of ints or a boolean mask"
    if names is not None:
        accepted += f", a {singular} name or a list of names"
    if isinstance(key, slice):
        return np.arange(length, dtype=np.intp)[key]
    if isinstance(key, (bool, np.bool_)):
        raise InvalidParameterError(f"{axis}: expected {accepted}, got {describe(key)}")
    if isinstance(key, numbers.Integral):
        pos = int(key)
        if not -length <= pos < length:
            raise InvalidParameterError(
                f"{axis}: index {pos} is out of range for {length} {axis} (valid: {-length} to {length - 1})"
            )
        return np.array([pos % length], dtype=np.intp)
    if isinstance(key, str):
        if names is None:
            raise InvalidParameterError(f"{axis}: cannot be selected by name; expected {accepted}, got {key!r}")
        return np.array([_position_of(key, axis, names)], dtype=np.intp)
    if isinstance(key, (list, tuple, np.ndarray)) or hasattr(key, "__array__"):
        items = list(key) if isinstance(key, (list, tuple)) else None
        if items is not None and items and all(isinstance(k, str) for k in items):
            if names is None:
                raise InvalidParameterError(f"{axis}: cannot be selected by name; expected {accepted}, got {key!r}")
            return np.array([_position_of(k, axis, names) for k in items], dtype=np.intp)
        try:
            arr = np.asarray(key)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"{axis}: expected {accepted}, got {describe(key)}") from None
        if arr.ndim != 1:
            raise InvalidParameterError(f"{axis}: expected a 1-D index, got {describe(arr)}")
        if arr.size == 0:
            return np.zeros(0, dtype=np.intp)
        if arr.dtype.kind == "b":
            if arr.shape[0] != length:
                raise InvalidParameterError(
                    f"{axis}: expected a boolean mask of length {length}, got one of length {arr.shape[0]}"
                )
            return np.flatnonzero(arr).astype(np.intp)
        if arr.dtype.kind in "iu":
            bad = (arr < -length) | (arr >= length)
            if bad.any():
                raise InvalidParameterError(
                    f"{axis}: index {int(arr[bad][0])} is out of range for {length} {axis} "
                    f"(valid: {-length} to {length - 1})"
                )
            return (arr % length).astype(np.intp)
        if arr.dtype.kind in "UO" and all(isinstance(k, str) for k in arr.tolist()):
            if names is None:
                raise InvalidParameterError(
                    f"{axis}: cannot be selected by name; expected {accepted}, got {describe(key)}"
                )
            return np.array([_position_of(k, axis, names) for k in arr.tolist()], dtype=np.intp)
    raise InvalidParameterError(f"{axis}: expected {accepted}, got {describe(key)}")


def _position_of(name: str, axis: str, names: Sequence[str]) -> int:
    try:
        return list(names).index(name)
    except ValueError:
        singular = _AXIS_SINGULAR.get(axis, axis)
        raise InvalidParameterError(
            f"{axis}: unknown {singular} name {name!r}; available: {_list_names(list(names))}"
        ) from None


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


# --------------------------------------------------------------------------------------
# base class
# --------------------------------------------------------------------------------------


class Explanation:
    """Base class of every xaikit result.

    Subclasses set ``kind_name`` (the ``kind`` recorded in saved files, which registers the
    class for :meth:`load`), ``_array_fields`` (constructor arguments holding arrays or
    ``None``), ``_json_fields`` (constructor arguments holding JSON values) and
    ``_axis_letters`` (the axes that diagnostics may be declared along), and implement
    ``_axis_lengths``.

    Attributes
    ----------
    method : str
        Name of the method that produced the result.
    params : dict
        Hyper-parameters of the method (JSON-serialisable to be saved).
    diagnostics : dict
        Scalars, lists and arrays describing the run (standard errors, model calls...).
    provenance : dict
        Where the result comes from: library versions, background summary, output, seed...
    diagnostic_axes : dict
        Axis letters of the diagnostics that are sliced with the result.
    """

    kind_name: ClassVar[str] = ""
    _array_fields: ClassVar[tuple[str, ...]] = ()
    _json_fields: ClassVar[tuple[str, ...]] = ()
    _axis_letters: ClassVar[str] = ""
    _default_diagnostic_axes: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind_name")
        if not kind:
            return
        if not isinstance(kind, str):
            raise TypeError(f"{cls.__qualname__}.kind_name: expected a str, got {describe(kind)}")
        previous = _KINDS.get(kind)
        if previous is not None and (previous.__module__, previous.__qualname__) != (
            cls.__module__,
            cls.__qualname__,
        ):
            raise TypeError(
                f"{cls.__qualname__}.kind_name: the kind {kind!r} is already registered by "
                f"{previous.__module__}.{previous.__qualname__}"
            )
        _KINDS[kind] = cls

    def __init__(
        self,
        *,
        method: str,
        params: Mapping[str, Any] | None = None,
        diagnostics: Mapping[str, Any] | None = None,
        provenance: Mapping[str, Any] | None = None,
        diagnostic_axes: Mapping[str, str] | None = None,
    ) -> None:
        if not type(self).kind_name:
            raise TypeError(
                f"{type(self).__name__} is a base class; create a result type such as Attribution instead"
            )
        if not isinstance(method, str) or not method:
            raise InvalidParameterError(f"method: expected a non-empty str, got {describe(method)}")
        self._set("_method", str(method))
        self._set("_params", self._check_mapping(params, "params"))
        self._set("_provenance", self._check_mapping(provenance, "provenance"))
        axes = self._check_axes(diagnostic_axes)
        self._set("_diagnostic_axes", axes)
        self._set("_diagnostics", self._check_diagnostics(diagnostics, axes))

    # -- immutability ------------------------------------------------------------------

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot set attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot delete attribute {name!r}")

    # -- public attributes -------------------------------------------------------------

    @property
    def method(self) -> str:
        """Name of the method that produced the result."""
        return self._method  # type: ignore[no-any-return]

    @property
    def params(self) -> dict[str, Any]:
        """Hyper-parameters of the method (a copy)."""
        return dict(self._params)

    @property
    def provenance(self) -> dict[str, Any]:
        """Library versions, background summary, output/link, seed... (a copy)."""
        return dict(self._provenance)

    @property
    def diagnostics(self) -> dict[str, Any]:
        """Diagnostics of the run (a copy; arrays are read-only)."""
        return {k: v if isinstance(v, np.ndarray) else copy.deepcopy(v) for k, v in self._diagnostics.items()}

    @property
    def diagnostic_axes(self) -> dict[str, str]:
        """Axis letters of the diagnostics that are sliced with the result."""
        return dict(self._diagnostic_axes)

    # -- validation --------------------------------------------------------------------

    def _axis_lengths(self) -> dict[str, int]:
        """Length of each axis letter; implemented by subclasses."""
        return {}

    @staticmethod
    def _check_mapping(value: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise InvalidParameterError(f"{name}: expected a dict or None, got {describe(value)}")
        for key in value:
            if not isinstance(key, str):
                raise InvalidParameterError(f"{name}: expected str keys, got the key {describe(key)}")
        return dict(value)

    def _check_axes(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        axes = dict(self._default_diagnostic_axes)
        if extra is None:
            return axes
        if not isinstance(extra, Mapping):
            raise InvalidParameterError(
                f"diagnostic_axes: expected a dict of diagnostic key -> axis letters, got {describe(extra)}"
            )
        letters = self._axis_letters
        for key, spec in extra.items():
            if not isinstance(key, str):
                raise InvalidParameterError(f"diagnostic_axes: expected str keys, got the key {describe(key)}")
            if (
                not isinstance(spec, str)
                or not spec
                or any(ch not in letters for ch in spec)
                or len(set(spec)) != len(spec)
            ):
                raise InvalidParameterError(
                    f"diagnostic_axes[{key!r}]: expected distinct axis letters among {letters!r} "
                    f"(e.g. {letters!r}), got {describe(spec)}"
                )
            axes[key] = spec
        return axes

    def _check_diagnostics(self, diagnostics: Mapping[str, Any] | None, axes: Mapping[str, str]) -> dict[str, Any]:
        if diagnostics is None:
            return {}
        if not isinstance(diagnostics, Mapping):
            raise InvalidParameterError(f"diagnostics: expected a dict or None, got {describe(diagnostics)}")
        lengths = self._axis_lengths()
        out: dict[str, Any] = {}
        for key, value in diagnostics.items():
            if not isinstance(key, str):
                raise InvalidParameterError(f"diagnostics: expected str keys, got the key {describe(key)}")
            where = f"diagnostics[{key!r}]"
            declared = axes.get(key)
            if isinstance(value, (list, tuple)) and declared is not None:
                try:
                    value = np.asarray(value)
                except (TypeError, ValueError):
                    raise InvalidParameterError(
                        f"{where}: expected an array with axes {declared!r}, got {describe(value)}"
                    ) from None
            if isinstance(value, np.ndarray):
                if value.dtype.hasobject:
                    raise InvalidParameterError(
                        f"{where}: expected a numeric, boolean or str array (object arrays cannot be "
                        f"saved without pickle), got {describe(value)}; use a list instead"
                    )
                if declared is not None:
                    expected = tuple(lengths[a] for a in declared)
                    if value.shape != expected:
                        letters = ", ".join(declared)
                        raise InvalidParameterError(
                            f"{where}: expected shape ({letters}) = {expected}, got {describe(value)}"
                        )
                out[key] = _readonly(np.array(value, copy=True))
            elif value is None or isinstance(value, (bool, str, np.bool_, numbers.Integral, numbers.Real)):
                out[key] = _to_json(value, where)
            elif isinstance(value, (list, tuple, Mapping)) and declared is None:
                out[key] = _to_json(value, where)
            else:
                raise InvalidParameterError(
                    f"{where}: expected a scalar (int, float, str, bool or None), a list or a numpy array, "
                    f"got {describe(value)}"
                )
        return out

    def _sliced_diagnostics(self, selection: Mapping[str, np.ndarray]) -> dict[str, Any]:
        """Diagnostics with every array of declared axes indexed by ``selection[letter]``."""
        out: dict[str, Any] = {}
        for key, value in self._diagnostics.items():
            declared = self._diagnostic_axes.get(key)
            if isinstance(value, np.ndarray) and declared is not None:
                out[key] = value[np.ix_(*(selection[a] for a in declared))]
            else:
                out[key] = value
        return out

    # -- save / load -------------------------------------------------------------------

    def _meta_and_arrays(self) -> tuple[dict[str, Any], list[tuple[str, np.ndarray]]]:
        """The content of ``meta.json`` and the (member name, array) pairs to write."""
        entries: list[dict[str, Any]] = []
        members: list[tuple[str, np.ndarray]] = []
        for field in self._array_fields:
            arr = getattr(self, field)
            if arr is None:
                continue
            if arr.dtype.hasobject:
                entries.append(self._object_entry(field, arr))
            else:
                member = f"{field}.npy"
                entries.append({"field": field, "storage": "npy", "file": member})
                members.append((member, arr))
        scalars: dict[str, Any] = {}
        for i, (key, value) in enumerate(self._diagnostics.items()):
            if isinstance(value, np.ndarray):
                member = f"diagnostics/{i:03d}_{_safe_member_name(key)}.npy"
                entries.append({"field": "diagnostics", "key": key, "storage": "npy", "file": member})
                members.append((member, value))
            else:
                scalars[key] = _to_json(value, f"diagnostics[{key!r}]")
        meta: dict[str, Any] = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "kind": self.kind_name,
            "method": self._method,
            "params": _to_json(self._params, "params"),
            "provenance": _to_json(self._provenance, "provenance"),
            "diagnostics": scalars,
            "diagnostic_axes": dict(self._diagnostic_axes),
            "arrays": entries,
        }
        for field in self._json_fields:
            meta[field] = _to_json(getattr(self, field), field)
        return meta, members

    @staticmethod
    def _object_entry(field: str, arr: np.ndarray) -> dict[str, Any]:
        if arr.ndim != 2:
            raise InvalidParameterError(
                f"{field}: an object array can only be saved when it has 2 dimensions, got {describe(arr)}"
            )
        columns = [
            [_cell_to_json(arr[i, j], f"{field}[{i}, {j}]") for i in range(arr.shape[0])]
            for j in range(arr.shape[1])
        ]
        return {"field": field, "storage": "json-columns", "shape": list(arr.shape), "columns": columns}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the result to ``path`` (one ZIP archive; see the module docstring).

        The file is written atomically: the content goes to a temporary file in the same
        folder, which then replaces ``path``. If anything fails, ``path`` is left as it
        was and the temporary file is removed.

        Parameters
        ----------
        path : str or os.PathLike
            Destination file, used as given (no extension is added). Its folder must exist.

        Raises
        ------
        InvalidParameterError
            If ``path`` is not a str or os.PathLike, is a folder, its folder does not exist or
            cannot be written to; or if ``params``, ``provenance``, ``diagnostics`` or object
            ``data`` hold values that cannot be written as JSON (the message names the key).

        Examples
        --------
        >>> import os, tempfile, numpy as np
        >>> exp = Attribution(values=np.ones((1, 2, 1)), base_values=np.zeros((1, 1)), method="demo")
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     target = os.path.join(tmp, "result.xai")
        ...     exp.save(target)
        ...     Explanation.load(target).feature_names
        ['x0', 'x1']
        >>> exp.save(os.path.join(tempfile.gettempdir(), "xaikit-no-such-folder", "result.xai"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        xaikit.errors.InvalidParameterError: path: cannot save to '...result.xai': the folder '...xaikit-no-such-folder' does not exist; create it first
        """
        target = _check_path(path)
        if target.endswith(os.sep) or (os.altsep is not None and target.endswith(os.altsep)):
            raise InvalidParameterError(
                f"path: expected the path of a file, got {target!r}, which ends with a path separator"
            )
        if os.path.isdir(target):
            raise InvalidParameterError(f"path: expected the path of a file, got {target!r}, which is a folder")
        directory = os.path.dirname(os.path.abspath(target))
        if not os.path.isdir(directory):
            problem = "is not a folder" if os.path.exists(directory) else "does not exist"
            raise InvalidParameterError(
                f"path: cannot save to {target!r}: the folder {directory!r} {problem}; create it first"
            )
        meta_bytes, members = self._serialised()
        try:
            mode = os.stat(target).st_mode & 0o7777
        except OSError:
            mode = _default_file_mode()
        try:
            fd, tmp_path = tempfile.mkstemp(
                prefix=f".{os.path.basename(target)[:_TEMP_NAME_CHARS]}.", suffix=".tmp", dir=directory
            )
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

    def to_bytes(self) -> bytes:
        """The content :meth:`save` would write, as bytes (read back with :meth:`from_bytes`).

        Examples
        --------
        >>> import numpy as np
        >>> exp = Attribution(values=np.ones((1, 2, 1)), base_values=np.zeros((1, 1)), method="demo")
        >>> Explanation.from_bytes(exp.to_bytes()).values.ravel().tolist()
        [1.0, 1.0]
        """
        meta_bytes, members = self._serialised()
        buffer = io.BytesIO()
        _write_archive(buffer, meta_bytes, members)
        return buffer.getvalue()

    def _serialised(self) -> tuple[bytes, list[tuple[str, np.ndarray]]]:
        """``meta.json`` as bytes and the (member name, array) pairs to write."""
        for name in _FINITE_FIELDS:
            found = _non_finite(getattr(self, name, None))
            if found is not None:
                raise InvalidParameterError(
                    f"{name}: expected finite numbers to save the result (files hold finite values only), {found}"
                )
        meta, members = self._meta_and_arrays()
        return json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8"), members

    @classmethod
    def load(cls: type[_T], path: str | os.PathLike[str]) -> _T:
        """Read a result written by :meth:`save`.

        ``Explanation.load`` returns whatever kind the file holds; ``Attribution.load``
        (or any subclass) also checks that the file holds that kind. Sizes are checked before
        anything is allocated (see the module docstring): a file cannot make the reader use
        more memory than its arrays need.

        Parameters
        ----------
        path : str or os.PathLike
            A regular file (not a folder, device or pipe).

        Returns
        -------
        Explanation
            An instance of the class registered under the file's ``kind``.

        Raises
        ------
        InvalidParameterError
            If ``path`` is not a str or os.PathLike, does not exist, is not a regular file or
            cannot be read.
        FormatError
            If the file is not a ZIP archive, is truncated or corrupt, has no ``meta.json``, is
            not an xaikit explanation, was written by a newer format version, has an unknown or
            unexpected kind, exceeds a size bound, holds non-finite values or is otherwise
            inconsistent. The message starts with the path.

        Examples
        --------
        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     bad = os.path.join(tmp, "bad.xai")
        ...     with open(bad, "w") as fh:
        ...         _ = fh.write("hello")
        ...     Explanation.load(bad)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        xaikit.errors.FormatError: ...bad.xai: not an xaikit explanation file: expected a ZIP archive, found a file starting with b'hello'
        """
        source = _check_path(path, reading=True)
        fh, size = _open_regular_file(source)
        with fh:
            return cls._from_archive(fh, size, source)

    @classmethod
    def from_bytes(cls: type[_T], data: bytes | bytearray | memoryview) -> _T:
        """Read a result from the content of a file written by :meth:`save` (or :meth:`to_bytes`).

        The same checks as :meth:`load` apply; messages name ``data`` instead of a path.

        Parameters
        ----------
        data : bytes, bytearray or memoryview

        Returns
        -------
        Explanation

        Examples
        --------
        >>> Explanation.from_bytes(b"PK\\x03\\x04 cut short")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        xaikit.errors.FormatError: data: truncated or corrupt .xai file: ...
        """
        if isinstance(data, memoryview):
            data = data.tobytes()
        if not isinstance(data, (bytes, bytearray)):
            raise InvalidParameterError(
                f"data: expected bytes (the content of an .xai file), got {describe(data)}"
            )
        return cls._from_archive(io.BytesIO(data), len(data), "data")

    @classmethod
    def _from_archive(cls: type[_T], fh: BinaryIO, size: int, source: str) -> _T:
        """Read the archive in the seekable binary stream ``fh`` of ``size`` bytes."""
        zf = _open_archive(fh, size, source)
        with zf:
            meta = _read_meta(zf, source)
            kind = meta.get("kind")
            target = _KINDS.get(kind) if isinstance(kind, str) else None
            if target is None:
                raise FormatError(
                    f"{source}: unknown explanation kind {kind!r}; this version of xaikit knows "
                    f"{_list_names(sorted(_KINDS))}"
                )
            if not issubclass(target, cls):
                raise FormatError(
                    f"{source}: expected an explanation of kind {cls.kind_name!r}, found {kind!r}; "
                    f"use Explanation.load to read any kind"
                )
            fields = target._fields_from_archive(zf, meta, source)
        _check_finite_fields(fields, source)
        try:
            return target._from_fields(fields)  # type: ignore[return-value]
        except InvalidParameterError as exc:
            raise FormatError(f"{source}: the stored {kind} is not valid: {exc}") from exc

    @classmethod
    def _fields_from_archive(cls, zf: zipfile.ZipFile, meta: dict[str, Any], source: str) -> dict[str, Any]:
        """Constructor arguments rebuilt from ``meta.json`` and the NPY members."""
        method = meta.get("method")
        if not isinstance(method, str):
            raise FormatError(f"{source}: meta.json: expected 'method' to be a str, found {describe(method)}")
        fields: dict[str, Any] = {"method": method}
        for key in ("params", "provenance", "diagnostics", "diagnostic_axes"):
            value = meta.get(key, {})
            if not isinstance(value, dict):
                raise FormatError(f"{source}: meta.json: expected {key!r} to be an object, found {describe(value)}")
            fields[key] = dict(value)
        for field in cls._array_fields:
            fields[field] = None
        for field in cls._json_fields:
            fields[field] = meta.get(field)
        entries = meta.get("arrays", [])
        if not isinstance(entries, list):
            raise FormatError(f"{source}: meta.json: expected 'arrays' to be a list, found {describe(entries)}")
        members = [e.get("file") for e in entries if isinstance(e, dict) and e.get("storage") == "npy"]
        repeated = [m for i, m in enumerate(members) if m in members[:i]]
        if repeated:  # each read allocates the member's size: a repeated member would escape the size bounds
            raise FormatError(f"{source}: meta.json: the array member {repeated[0]!r} is listed more than once")
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("field"), str):
                raise FormatError(f"{source}: meta.json: malformed array entry {describe(entry)}")
            field = entry["field"]
            if field == "diagnostics":
                key = entry.get("key")
                if not isinstance(key, str):
                    raise FormatError(f"{source}: meta.json: diagnostics array entry without a str 'key': {entry!r}")
                fields["diagnostics"][key] = _read_entry(zf, entry, source)
            elif field in cls._array_fields:
                fields[field] = _read_entry(zf, entry, source)
            else:
                raise FormatError(
                    f"{source}: meta.json: unknown array field {field!r} for kind {cls.kind_name!r}"
                )
        return fields

    @classmethod
    def _from_fields(cls: type[_T], fields: dict[str, Any]) -> _T:
        """Build an instance from the fields read from a file."""
        return cls(**fields)

    # -- display -----------------------------------------------------------------------

    def _repr_fields(self) -> list[tuple[str, Any]]:
        return []

    def __repr__(self) -> str:
        parts = [f"method={self._method!r}"] + [f"{k}={v}" for k, v in self._repr_fields()]
        return f"{type(self).__name__}({', '.join(parts)})"


def _check_path(path: Any, *, reading: bool = False) -> str:
    """``path`` as a str, or an error naming ``path``."""
    hint = "; to read a file's content held in memory use Explanation.from_bytes" if reading else ""
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
        raise InvalidParameterError(
            f"path: expected a regular file, got {source!r}, which is {_file_type(before.st_mode)}"
        )
    try:
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise refuse(exc) from None
    try:
        info = os.fstat(fd)  # the file opened may not be the one checked above
        if not stat.S_ISREG(info.st_mode):
            raise InvalidParameterError(
                f"path: expected a regular file, got {source!r}, which is {_file_type(info.st_mode)}"
            )
        return os.fdopen(fd, "rb"), int(info.st_size)
    except BaseException:
        os.close(fd)
        raise


def _open_archive(fh: BinaryIO, size: int, source: str) -> zipfile.ZipFile:
    """The ZIP archive in ``fh`` after the size checks, or a FormatError saying what is wrong."""
    if size > MAX_FILE_BYTES:
        raise FormatError(
            f"{source}: the file holds {size} bytes, more than the {MAX_FILE_BYTES} bytes "
            f"xaikit reads (xaikit.explanation.MAX_FILE_BYTES)"
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
            f"allowed for a file of {size} bytes (the larger of xaikit.explanation.UNCOMPRESSED_ALLOWANCE and "
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
        f"{source}: {_META_NAME} holds more than the {MAX_META_BYTES} bytes xaikit reads "
        f"(xaikit.explanation.MAX_META_BYTES)"
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
            f"{source}: not an xaikit explanation file: expected format {FORMAT_NAME!r} in {_META_NAME}, "
            f"found {found!r}"
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
                raise FormatError(
                    f"{source}: the array member {member!r} has NPY version {version}, expected 1.0 or 2.0"
                )
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


def _non_finite(arr: Any) -> str | None:
    """How many NaN and infinite numbers a float array holds, or None when all are finite."""
    if not isinstance(arr, np.ndarray) or arr.dtype.kind != "f":
        return None
    finite = np.isfinite(arr)
    if finite.all():
        return None
    n_nan = int(np.isnan(arr).sum())
    n_inf = int(arr.size - finite.sum()) - n_nan
    return f"found {n_nan} NaN and {n_inf} infinite among {arr.size} values"


def _check_finite_fields(fields: Mapping[str, Any], source: str) -> None:
    """Refuse NaN or infinite numbers in the fields read from a file that must be finite."""
    for name in _FINITE_FIELDS:
        found = _non_finite(fields.get(name))
        if found is not None:
            raise FormatError(f"{source}: {name}: expected finite numbers, {found}")


def _write_archive(fh: BinaryIO, meta_bytes: bytes, members: Sequence[tuple[str, np.ndarray]]) -> None:
    """Write ``meta.json`` and the NPY members as one ZIP archive to ``fh``."""
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_META_NAME, meta_bytes)
        for member, arr in members:
            with zf.open(member, "w", force_zip64=True) as out:
                npy_format.write_array(out, arr, allow_pickle=False)



# --------------------------------------------------------------------------------------
# Attribution
# --------------------------------------------------------------------------------------


class _PerFeatureResult:
    """The fields shared by results with rows, features and outputs (Attribution, Interaction)."""

    _values: np.ndarray
    _base_values: np.ndarray
    _data: np.ndarray | None
    _feature_names: tuple[str, ...]
    _output_names: tuple[str, ...]

    @property
    def values(self) -> np.ndarray:
        """Read-only float64 array: (n_rows, n_features, n_outputs) for an Attribution,
        (n_rows, n_features, n_features, n_outputs) for an Interaction."""
        return self._values

    @property
    def base_values(self) -> np.ndarray:
        """Read-only float64 array of shape (n_rows, n_outputs)."""
        return self._base_values

    @property
    def data(self) -> np.ndarray | None:
        """The explained inputs, (n_rows, n_features) float64 or object array, or None."""
        return self._data

    @property
    def feature_names(self) -> list[str]:
        """Names of the features (a copy)."""
        return list(self._feature_names)

    @property
    def output_names(self) -> list[str]:
        """Names of the outputs (a copy)."""
        return list(self._output_names)

    def _store(self, vals: np.ndarray, base_values: Any, data: Any, feature_names: Any, output_names: Any) -> None:
        """Check the arguments shared by every such result against ``vals`` (rows first, outputs last,
        features second) and store them."""
        n, d, o = vals.shape[0], vals.shape[1], vals.shape[-1]
        base = _as_float_array(base_values, "base_values", 2, "(n_rows, n_outputs)")
        if base.shape != (n, o):
            raise InvalidParameterError(
                f"base_values: expected shape (n_rows, n_outputs) = {(n, o)} to match values, got {describe(base)}"
            )
        if feature_names is None and data is not None:
            columns = getattr(data, "columns", None)
            if columns is not None and len(columns) == d:
                feature_names = [str(c) for c in columns]
        object.__setattr__(self, "_values", vals)
        object.__setattr__(self, "_base_values", base)
        object.__setattr__(self, "_data", self._check_data(data, n, d))
        object.__setattr__(self, "_feature_names", _check_names(feature_names, "feature_names", d, "x"))
        object.__setattr__(self, "_output_names", _check_names(output_names, "output_names", o, "output"))

    @staticmethod
    def _check_data(data: Any, n: int, d: int) -> np.ndarray | None:
        if data is None:
            return None
        if isinstance(data, (str, bytes)):
            raise InvalidParameterError(f"data: expected an array of shape (n_rows, n_features), got {describe(data)}")
        try:
            arr = np.asarray(data)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(
                f"data: expected an array of shape (n_rows, n_features), got {describe(data)} ({exc})"
            ) from None
        if arr.dtype.kind in "biuf":
            arr = np.array(arr, dtype=np.float64, copy=True)
        else:
            arr = np.array(arr, dtype=object, copy=True)
        if arr.shape != (n, d):
            raise InvalidParameterError(
                f"data: expected shape (n_rows, n_features) = {(n, d)} to match values, got {describe(arr)}"
            )
        return _readonly(arr)


class Attribution(_PerFeatureResult, Explanation):
    """Per-row, per-feature, per-output attributions (e.g. Shapley values).

    Parameters
    ----------
    values : array-like of shape (n_rows, n_features, n_outputs)
        The attributions, always 3-D (a single-output model has ``n_outputs == 1``).
    base_values : array-like of shape (n_rows, n_outputs)
        The reference output each row's attributions start from.
    data : array-like of shape (n_rows, n_features), optional
        The explained inputs: numeric data is stored as float64, anything else (e.g. mixed
        strings and numbers from a DataFrame) as an object array.
    feature_names : list of str, optional
        ``n_features`` unique names; default the DataFrame columns of ``data`` if it has
        any, else ``x0``, ``x1``, ...
    output_names : list of str, optional
        ``n_outputs`` unique names; default ``output0``, ``output1``, ...
    method : str
        Name of the method, e.g. ``"kernel_shap"``.
    params, provenance : dict, optional
        JSON-serialisable hyper-parameters and provenance (checked when saving).
    diagnostics : dict, optional
        str -> scalar, list or numpy array. Arrays whose key has declared axes (see
        :data:`DIAGNOSTIC_AXES`) must have the matching shape and are sliced with the
        values; a scalar under such a key is kept as is.
    diagnostic_axes : dict of str to str, optional
        More diagnostic axes, e.g. ``{"weights": "nd"}``; letters among ``"ndo"``.

    Examples
    --------
    >>> import numpy as np
    >>> values = np.arange(12.0).reshape(2, 3, 2)
    >>> exp = Attribution(values=values, base_values=np.zeros((2, 2)),
    ...                   feature_names=["age", "income", "city"], method="demo")
    >>> exp[0].shape
    (1, 3, 2)
    >>> exp[:, "income", 1].values.ravel().tolist()
    [3.0, 9.0]
    >>> exp.completeness().tolist()
    [[6.0, 9.0], [24.0, 27.0]]
    """

    kind_name: ClassVar[str] = "attribution"
    _array_fields: ClassVar[tuple[str, ...]] = ("values", "base_values", "data")
    _json_fields: ClassVar[tuple[str, ...]] = ("feature_names", "output_names")
    _axis_letters: ClassVar[str] = "ndo"
    _default_diagnostic_axes: ClassVar[Mapping[str, str]] = DIAGNOSTIC_AXES

    def __init__(
        self,
        *,
        values: Any,
        base_values: Any,
        data: Any = None,
        feature_names: Sequence[str] | None = None,
        output_names: Sequence[str] | None = None,
        method: str,
        params: Mapping[str, Any] | None = None,
        diagnostics: Mapping[str, Any] | None = None,
        provenance: Mapping[str, Any] | None = None,
        diagnostic_axes: Mapping[str, str] | None = None,
    ) -> None:
        vals = _as_float_array(values, "values", 3, "(n_rows, n_features, n_outputs)")
        self._store(vals, base_values, data, feature_names, output_names)
        super().__init__(
            method=method,
            params=params,
            diagnostics=diagnostics,
            provenance=provenance,
            diagnostic_axes=diagnostic_axes,
        )


    # -- attributes --------------------------------------------------------------------


    @property
    def n_rows(self) -> int:
        """Number of explained rows."""
        return int(self._values.shape[0])

    @property
    def n_features(self) -> int:
        """Number of features."""
        return int(self._values.shape[1])

    @property
    def n_outputs(self) -> int:
        """Number of model outputs."""
        return int(self._values.shape[2])

    @property
    def shape(self) -> tuple[int, int, int]:
        """``values.shape``: (n_rows, n_features, n_outputs)."""
        return self.n_rows, self.n_features, self.n_outputs

    def _axis_lengths(self) -> dict[str, int]:
        n, d, o = self._values.shape
        return {"n": n, "d": d, "o": o}

    def __len__(self) -> int:
        return self.n_rows

    def __iter__(self) -> Iterator[Attribution]:
        for i in range(self.n_rows):
            yield self[i]

    # -- slicing -----------------------------------------------------------------------

    def __getitem__(self, key: Any) -> Attribution:
        """Select rows, features and outputs; the result keeps 3-D values.

        ``key`` is a row index or a tuple ``(rows, features, outputs)`` (trailing parts may
        be left out). Each part is an int, a slice, a list or array of ints or a boolean
        mask; features and outputs may also be given by name (a str or a list of str).
        An int keeps a length-1 axis. Features and outputs may not be repeated.

        Examples
        --------
        >>> import numpy as np
        >>> exp = Attribution(values=np.zeros((4, 3, 2)), base_values=np.zeros((4, 2)), method="demo")
        >>> exp[1:3, ["x2", "x0"], "output1"].feature_names
        ['x2', 'x0']
        >>> exp[:, "age"]
        Traceback (most recent call last):
        ...
        xaikit.errors.InvalidParameterError: features: unknown feature name 'age'; available: 'x0', 'x1', 'x2'
        """
        parts = key if isinstance(key, tuple) else (key,)
        if len(parts) > 3:
            raise InvalidParameterError(
                f"key: expected at most 3 parts (rows, features, outputs), got {len(parts)}"
            )
        parts = tuple(parts) + (slice(None),) * (3 - len(parts))
        n, d, o = self._values.shape
        rows = _resolve_index(parts[0], "rows", n, None)
        feats = _resolve_index(parts[1], "features", d, self._feature_names)
        outs = _resolve_index(parts[2], "outputs", o, self._output_names)
        for axis, sel, names in (("features", feats, self._feature_names), ("outputs", outs, self._output_names)):
            unique, counts = np.unique(sel, return_counts=True)
            if (counts > 1).any():
                repeated = names[int(unique[counts > 1][0])]
                raise InvalidParameterError(
                    f"{axis}: expected each {_AXIS_SINGULAR[axis]} at most once, got {repeated!r} more than once"
                )
        data = None if self._data is None else self._data[np.ix_(rows, feats)]
        return Attribution(
            values=self._values[np.ix_(rows, feats, outs)],
            base_values=self._base_values[np.ix_(rows, outs)],
            data=data,
            feature_names=[self._feature_names[i] for i in feats],
            output_names=[self._output_names[i] for i in outs],
            method=self._method,
            params=self._params,
            diagnostics=self._sliced_diagnostics({"n": rows, "d": feats, "o": outs}),
            provenance=self._provenance,
            diagnostic_axes=self._diagnostic_axes,
        )

    def _output_position(self, output: int | str) -> int:
        if isinstance(output, (list, tuple, slice, np.ndarray)):
            raise InvalidParameterError(f"output: expected one output (an int or a name), got {describe(output)}")
        return int(_resolve_index(output, "outputs", self.n_outputs, self._output_names)[0])

    # -- summaries ---------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """A tidy DataFrame with one line per (row, feature, output), row-major.

        Columns are ``row``, ``feature``, ``output``, ``value``, ``data`` (the feature value,
        NaN when no data was recorded) and ``std_err`` when the diagnostics hold it.

        Examples
        --------
        >>> import numpy as np
        >>> exp = Attribution(values=np.arange(4.0).reshape(2, 2, 1), base_values=np.zeros((2, 1)),
        ...                   data=[[1.0, 2.0], [3.0, 4.0]], method="demo")
        >>> exp.to_frame().columns.tolist()
        ['row', 'feature', 'output', 'value', 'data']
        >>> exp.to_frame()["value"].tolist()
        [0.0, 1.0, 2.0, 3.0]
        """
        import pandas as pd

        n, d, o = self._values.shape
        frame: dict[str, Any] = {
            "row": np.repeat(np.arange(n), d * o),
            "feature": np.tile(np.repeat(np.array(self._feature_names, dtype=object), o), n),
            "output": np.tile(np.array(self._output_names, dtype=object), n * d),
            "value": self._values.reshape(-1).copy(),
        }
        if self._data is None:
            frame["data"] = np.full(n * d * o, np.nan)
        else:
            frame["data"] = np.repeat(self._data.reshape(-1), o)
        std_err = self._diagnostics.get("std_err")
        if isinstance(std_err, np.ndarray) and std_err.shape == (n, d, o):
            frame["std_err"] = std_err.reshape(-1).copy()
        elif std_err is not None and not isinstance(std_err, (np.ndarray, bool, str)):
            frame["std_err"] = np.full(n * d * o, std_err, dtype=np.float64)
        return pd.DataFrame(frame)

    def mean_abs(self) -> np.ndarray:
        """Mean absolute attribution over rows, shape (n_features, n_outputs).

        NaN when there are no rows.

        Examples
        --------
        >>> import numpy as np
        >>> Attribution(values=[[[1.0], [-2.0]], [[-3.0], [0.0]]], base_values=np.zeros((2, 1)),
        ...             method="demo").mean_abs().tolist()
        [[2.0], [1.0]]
        """
        if self.n_rows == 0:
            return np.full((self.n_features, self.n_outputs), np.nan)
        return np.abs(self._values).mean(axis=0)

    def ranking(self, output: int | str = 0) -> list[tuple[str, float]]:
        """Features sorted by decreasing mean absolute attribution for one output.

        Ties keep the feature order.

        Parameters
        ----------
        output : int or str
            The output, by position or name.

        Examples
        --------
        >>> import numpy as np
        >>> exp = Attribution(values=[[[1.0], [-2.0]], [[-3.0], [0.0]]], base_values=np.zeros((2, 1)),
        ...                   feature_names=["a", "b"], method="demo")
        >>> exp.ranking()
        [('a', 2.0), ('b', 1.0)]
        """
        j = self._output_position(output)
        scores = self.mean_abs()[:, j]
        order = np.argsort(-scores, kind="stable")
        return [(self._feature_names[i], float(scores[i])) for i in order]

    def completeness(self) -> np.ndarray:
        """The prediction reconstructed from the attributions: ``values.sum(axis=1) + base_values``.

        Returns
        -------
        ndarray of shape (n_rows, n_outputs)

        Examples
        --------
        >>> import numpy as np
        >>> Attribution(values=np.ones((1, 3, 1)), base_values=[[0.5]], method="demo").completeness().tolist()
        [[3.5]]
        """
        return self._values.sum(axis=1) + self._base_values  # type: ignore[no-any-return]

    # -- display -----------------------------------------------------------------------

    def _repr_fields(self) -> list[tuple[str, Any]]:
        return [("n_rows", self.n_rows), ("n_features", self.n_features), ("n_outputs", self.n_outputs)]

    def _repr_html_(self) -> str:
        """A small HTML table of the top 10 features by mean |value| for each output."""
        fields = ", ".join(f"{k}={v}" for k, v in self._repr_fields())
        head = f"<p><b>{type(self).__name__}</b> method={html.escape(repr(self._method))}, {fields}</p>"
        tables = []
        for j, out_name in enumerate(self._output_names):
            rows = "".join(
                f"<tr><td>{rank}</td><td>{html.escape(name)}</td><td style=\"text-align:right\">{score:.4g}</td></tr>"
                for rank, (name, score) in enumerate(self.ranking(j)[:10], start=1)
            )
            tables.append(
                "<table style=\"border-collapse:collapse;margin-bottom:0.5em\">"
                f"<caption>{html.escape(out_name)}: top features by mean |value|</caption>"
                "<thead><tr><th>#</th><th>feature</th><th>mean |value|</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>"
            )
        return f"<div class=\"xaikit-attribution\">{head}{''.join(tables)}</div>"


class Interaction(_PerFeatureResult, Explanation):
    """Pairwise interaction attributions (e.g. SHAP interaction values).

    Parameters
    ----------
    values : array-like of shape (n_rows, n_features, n_features, n_outputs)
        ``values[r, i, j]`` for ``i != j`` is half the interaction of features ``i`` and ``j``
        (the matrix is symmetric); ``values[r, i, i]`` is the main effect of ``i``. Summing over
        the last feature axis gives per-feature attributions.
    base_values : array-like of shape (n_rows, n_outputs)
    data, feature_names, output_names, method, params, diagnostics, provenance
        As for :class:`Attribution`; diagnostics may be declared along the axes ``n`` and ``o``.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.zeros((1, 2, 2, 1)); v[0, 0, 0, 0] = 1.0; v[0, 0, 1, 0] = v[0, 1, 0, 0] = 0.5
    >>> inter = Interaction(values=v, base_values=[[0.0]], feature_names=["a", "b"], method="demo")
    >>> inter.to_attribution().values[0, :, 0].tolist()
    [1.5, 0.5]
    >>> inter.main_effects()[0, :, 0].tolist()
    [1.0, 0.0]
    """

    kind_name: ClassVar[str] = "interaction"
    _array_fields: ClassVar[tuple[str, ...]] = ("values", "base_values", "data")
    _json_fields: ClassVar[tuple[str, ...]] = ("feature_names", "output_names")
    _axis_letters: ClassVar[str] = "no"
    _default_diagnostic_axes: ClassVar[Mapping[str, str]] = {"completeness_gap": "no"}

    def __init__(
        self,
        *,
        values: Any,
        base_values: Any,
        data: Any = None,
        feature_names: Sequence[str] | None = None,
        output_names: Sequence[str] | None = None,
        method: str,
        params: Mapping[str, Any] | None = None,
        diagnostics: Mapping[str, Any] | None = None,
        provenance: Mapping[str, Any] | None = None,
        diagnostic_axes: Mapping[str, str] | None = None,
    ) -> None:
        vals = _as_float_array(values, "values", 4, "(n_rows, n_features, n_features, n_outputs)")
        if vals.shape[1] != vals.shape[2]:
            raise InvalidParameterError(
                f"values: expected shape (n_rows, n_features, n_features, n_outputs), got {describe(vals)}"
            )
        self._store(vals, base_values, data, feature_names, output_names)
        super().__init__(
            method=method, params=params, diagnostics=diagnostics, provenance=provenance,
            diagnostic_axes=diagnostic_axes,
        )


    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``values.shape``."""
        return self._values.shape  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return int(self._values.shape[0])

    def _axis_lengths(self) -> dict[str, int]:
        n, _, _, o = self._values.shape
        return {"n": n, "o": o}

    def __getitem__(self, rows: Any) -> Interaction:
        """Select rows (an int keeps a length-1 axis)."""
        sel = _resolve_index(rows, "rows", len(self), None)
        return Interaction(
            values=self._values[sel],
            base_values=self._base_values[sel],
            data=None if self._data is None else self._data[sel],
            feature_names=self._feature_names,
            output_names=self._output_names,
            method=self._method,
            params=self._params,
            diagnostics=self._sliced_diagnostics({"n": sel, "o": np.arange(self._values.shape[3])}),
            provenance=self._provenance,
            diagnostic_axes=self._diagnostic_axes,
        )

    def main_effects(self) -> np.ndarray:
        """The diagonal, shape (n_rows, n_features, n_outputs)."""
        d = self._values.shape[1]
        return self._values[:, np.arange(d), np.arange(d), :]  # type: ignore[no-any-return]

    def mean_abs(self) -> np.ndarray:
        """Mean absolute interaction over rows, shape (n_features, n_features, n_outputs)."""
        return np.abs(self._values).mean(axis=0)  # type: ignore[no-any-return]

    def to_attribution(self) -> Attribution:
        """Per-feature attributions: the sum over the last feature axis."""
        return Attribution(
            values=self._values.sum(axis=2),
            base_values=self._base_values,
            data=self._data,
            feature_names=self._feature_names,
            output_names=self._output_names,
            method=self._method,
            params=self._params,
            provenance=self._provenance,
        )

    def _repr_fields(self) -> list[tuple[str, Any]]:
        n, d, _, o = self._values.shape
        return [("n_rows", n), ("n_features", d), ("n_outputs", o)]


class RaggedAttribution(Attribution):
    """Attributions of rows that each have their own features: the tokens of each document, the
    segments of each image.

    The collection is stored padded: ``values`` is ``(n_rows, max_features, n_outputs)`` with
    zeros after each row's ``lengths[i]`` features, and the collection's ``feature_names`` are
    positions (``x0``, ``x1``, ...). One row, ``exp[i]``, is trimmed to its own features and
    named by them (``exp[i].feature_names`` are document ``i``'s tokens, ``exp[i].values`` their
    weights). Slicing several rows keeps the padding; features are selected one row at a time.

    Parameters
    ----------
    values, base_values, output_names, method, params, diagnostics, provenance, diagnostic_axes
        As for :class:`Attribution` (``values`` padded with zeros).
    row_feature_names : list of list of str
        Each row's feature names (unique within the row); their lengths are the rows' lengths.
    spans : list (per row) of list (per feature) of ``[start, end]`` pairs, optional
        Text: where each feature occurs in the row's document (``texts[i][start:end]``).
    texts : list of str, optional
        Text: the explained documents.
    segments : array-like of int, shape (n_rows, height, width), optional
        Images: each pixel's feature (segment) index.

    Examples
    --------
    >>> import numpy as np
    >>> exp = RaggedAttribution(values=[[[0.5], [-0.2]], [[0.9], [0.0]]], base_values=[[0.1], [0.2]],
    ...                         row_feature_names=[["good", "film"], ["bad"]], method="demo")
    >>> exp.shape, exp.lengths.tolist()
    ((2, 2, 1), [2, 1])
    >>> exp[1].feature_names, exp[1].values.ravel().tolist()
    (['bad'], [0.9])
    >>> exp.ranking()
    [('bad', 0.9), ('good', 0.5), ('film', 0.2)]
    """

    kind_name: ClassVar[str] = "ragged-attribution"
    _array_fields: ClassVar[tuple[str, ...]] = ("values", "base_values", "segments")
    _json_fields: ClassVar[tuple[str, ...]] = ("output_names", "row_feature_names", "spans", "texts")

    def __init__(
        self,
        *,
        values: Any,
        base_values: Any,
        row_feature_names: Sequence[Sequence[str]],
        output_names: Sequence[str] | None = None,
        spans: Sequence[Sequence[Sequence[Sequence[int]]]] | None = None,
        texts: Sequence[str] | None = None,
        segments: Any = None,
        method: str,
        params: Mapping[str, Any] | None = None,
        diagnostics: Mapping[str, Any] | None = None,
        provenance: Mapping[str, Any] | None = None,
        diagnostic_axes: Mapping[str, str] | None = None,
    ) -> None:
        vals = _as_float_array(values, "values", 3, "(n_rows, max_features, n_outputs)")
        n, width = vals.shape[0], vals.shape[1]
        if not isinstance(row_feature_names, Sequence) or len(row_feature_names) != n:
            raise InvalidParameterError(
                f"row_feature_names: expected {n} lists of names (one per row), got {describe(row_feature_names)}"
            )
        for i, names in enumerate(row_feature_names):
            if isinstance(names, (str, bytes)) or not isinstance(names, Sequence):
                raise InvalidParameterError(f"row_feature_names[{i}]: expected a list of str, got {describe(names)}")
        rows = tuple(
            _check_names(names, f"row_feature_names[{i}]", len(names), "x") for i, names in enumerate(row_feature_names)
        )
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        if (lengths > width).any():
            i = int(np.argmax(lengths > width))
            raise InvalidParameterError(
                f"row_feature_names: row {i} has {lengths[i]} names, more than the {width} feature columns of values"
            )
        padding = np.arange(width)[None, :] >= lengths[:, None]
        if (vals[padding] != 0).any():
            raise InvalidParameterError("values: expected zeros after each row's features (the padding)")
        names = list(rows[0]) if n == 1 and lengths[0] == width else None
        self._store(vals, base_values, None, names, output_names)
        object.__setattr__(self, "_row_feature_names", rows)
        object.__setattr__(self, "_lengths", _readonly(lengths))
        object.__setattr__(self, "_spans", self._check_spans(spans, lengths))
        if texts is not None and (isinstance(texts, str) or len(texts) != n or not all(isinstance(t, str) for t in texts)):
            raise InvalidParameterError(f"texts: expected {n} strings (one per row), got {describe(texts)}")
        object.__setattr__(self, "_texts", None if texts is None else tuple(texts))
        seg = None
        if segments is not None:
            seg = np.asarray(segments)
            if seg.ndim != 3 or seg.shape[0] != n or seg.dtype.kind not in "iu":
                raise InvalidParameterError(
                    f"segments: expected integer labels of shape (n_rows={n}, height, width), got {describe(seg)}"
                )
            seg = _readonly(np.array(seg, dtype=np.int64))
        object.__setattr__(self, "_segments", seg)
        Explanation.__init__(
            self, method=method, params=params, diagnostics=diagnostics, provenance=provenance,
            diagnostic_axes=diagnostic_axes,
        )

    @staticmethod
    def _check_spans(spans: Any, lengths: np.ndarray) -> tuple[tuple[tuple[tuple[int, int], ...], ...], ...] | None:
        if spans is None:
            return None
        if isinstance(spans, (str, bytes)) or len(spans) != len(lengths):
            raise InvalidParameterError(f"spans: expected {len(lengths)} lists (one per row), got {describe(spans)}")
        out = []
        for i, (row, m) in enumerate(zip(spans, lengths)):
            if len(row) != m:
                raise InvalidParameterError(f"spans[{i}]: expected {m} lists of spans (one per feature), got {len(row)}")
            try:
                out.append(tuple(tuple((int(s), int(e)) for s, e in feature) for feature in row))
            except (TypeError, ValueError):
                raise InvalidParameterError(
                    f"spans[{i}]: expected lists of [start, end] integer pairs, got {describe(row)}"
                ) from None
        return tuple(out)

    # -- attributes --------------------------------------------------------------------

    @property
    def lengths(self) -> np.ndarray:
        """Number of features of each row, shape (n_rows,)."""
        return self._lengths  # type: ignore[no-any-return]

    @property
    def row_feature_names(self) -> list[list[str]]:
        """Each row's feature names (a copy)."""
        return [list(r) for r in self._row_feature_names]

    @property
    def spans(self) -> list[list[list[tuple[int, int]]]] | None:
        """Text: per row and feature the ``(start, end)`` character spans of its occurrences."""
        return None if self._spans is None else [[list(f) for f in row] for row in self._spans]

    @property
    def texts(self) -> list[str] | None:
        """Text: the explained documents."""
        return None if self._texts is None else list(self._texts)

    @property
    def segments(self) -> np.ndarray | None:
        """Images: the segment map of each row, (n_rows, height, width)."""
        return self._segments  # type: ignore[no-any-return]

    # -- slicing -----------------------------------------------------------------------

    def __getitem__(self, key: Any) -> RaggedAttribution:
        """``exp[i]``: row ``i`` with its own features; ``exp[rows]`` or ``exp[rows, :, outputs]``:
        several rows, padded; ``exp[i, features, outputs]``: features of one row, by position or name.
        """
        parts = key if isinstance(key, tuple) else (key,)
        if len(parts) > 3:
            raise InvalidParameterError(f"key: expected at most 3 parts (rows, features, outputs), got {len(parts)}")
        parts = tuple(parts) + (slice(None),) * (3 - len(parts))
        n, _, o = self._values.shape
        rows = _resolve_index(parts[0], "rows", n, None)
        outs = _resolve_index(parts[2], "outputs", o, self._output_names)
        if len(np.unique(outs)) != len(outs):
            raise InvalidParameterError("outputs: expected each output at most once, got a repeated output")
        width = int(self._lengths[rows].max()) if len(rows) else 0
        feats = np.arange(width)
        row_names = [self._row_feature_names[i] for i in rows]
        if not (isinstance(parts[1], slice) and parts[1] == slice(None)):
            if len(rows) != 1:
                raise InvalidParameterError(
                    "features: rows have their own features here, so features can be selected for one row "
                    f"at a time (e.g. exp[i, features]); got {len(rows)} rows"
                )
            feats = _resolve_index(parts[1], "features", width, row_names[0])
            if len(np.unique(feats)) != len(feats):
                raise InvalidParameterError("features: expected each feature at most once, got a repeated feature")
            row_names = [tuple(row_names[0][j] for j in feats)]
        spans = None
        if self._spans is not None:
            spans = [[self._spans[i][j] for j in (feats if len(rows) == 1 else range(self._lengths[i]))] for i in rows]
        return RaggedAttribution(
            values=self._values[np.ix_(rows, feats, outs)],
            base_values=self._base_values[np.ix_(rows, outs)],
            row_feature_names=row_names,
            output_names=[self._output_names[i] for i in outs],
            spans=spans,
            texts=None if self._texts is None else [self._texts[i] for i in rows],
            segments=None if self._segments is None else self._segments[rows],
            method=self._method,
            params=self._params,
            diagnostics=self._sliced_diagnostics({"n": rows, "d": feats, "o": outs}),
            provenance=self._provenance,
            diagnostic_axes=self._diagnostic_axes,
        )

    # -- summaries ---------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """A tidy DataFrame with one line per (row, own feature, output): columns ``row``,
        ``feature``, ``output``, ``value`` and ``std_err`` when the diagnostics hold it.

        >>> import numpy as np
        >>> RaggedAttribution(values=[[[1.0], [2.0]], [[3.0], [0.0]]], base_values=np.zeros((2, 1)),
        ...                   row_feature_names=[["a", "b"], ["c"]], method="demo").to_frame()["feature"].tolist()
        ['a', 'b', 'c']
        """
        import pandas as pd

        n, width, o = self._values.shape
        real = np.arange(width)[None, :] < self._lengths[:, None]  # (n, width)
        r_idx, f_idx = np.nonzero(real)
        frame: dict[str, Any] = {
            "row": np.repeat(r_idx, o),
            "feature": np.repeat(np.array([self._row_feature_names[r][f] for r, f in zip(r_idx, f_idx)], dtype=object), o),
            "output": np.tile(np.array(self._output_names, dtype=object), len(r_idx)),
            "value": self._values[r_idx, f_idx].reshape(-1).copy(),
        }
        std_err = self._diagnostics.get("std_err")
        if isinstance(std_err, np.ndarray) and std_err.shape == self._values.shape:
            frame["std_err"] = std_err[r_idx, f_idx].reshape(-1).copy()
        return pd.DataFrame(frame)

    def mean_abs(self) -> np.ndarray:
        """Mean absolute attribution over rows, (n_features, n_outputs); only for one row or rows
        of the same features (use :meth:`ranking` to compare features across rows)."""
        names = set(self._row_feature_names)
        if len(names) > 1:
            raise InvalidParameterError(
                "mean_abs: the rows have different features; use ranking() (mean |value| of each feature "
                "name over the rows that have it) or to_frame()"
            )
        return super().mean_abs()

    def ranking(self, output: int | str = 0) -> list[tuple[str, float]]:
        """Feature names by decreasing mean absolute value over the rows that have them (ties: first seen first)."""
        j = self._output_position(output)
        total: dict[str, float] = {}
        count: dict[str, int] = {}
        for i, names in enumerate(self._row_feature_names):
            for f, name in enumerate(names):
                total[name] = total.get(name, 0.0) + abs(float(self._values[i, f, j]))
                count[name] = count.get(name, 0) + 1
        scores = [(name, total[name] / count[name]) for name in total]
        return sorted(scores, key=lambda item: -item[1])

    def _repr_fields(self) -> list[tuple[str, Any]]:
        return [("n_rows", self.n_rows), ("max_features", self.n_features), ("n_outputs", self.n_outputs)]
