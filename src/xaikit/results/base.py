"""Result kinds declared, not hand-written: :class:`Result`, :class:`Field`, :class:`JsonField`, :class:`Axis`.

A result kind declares its fields and the axes each one has; construction with validation,
slicing (by position and by name), ``save``/``load`` (to a path and to bytes), ``to_dict``,
``to_frame``, ``repr`` and ``_repr_html_`` follow from the declaration. Every result is frozen:
attributes cannot be set and every stored array is read-only.

Examples
--------
>>> import numpy as np
>>> class Scores(Result):
...     kind = "doc-scores"
...     fields = (Field("values", "fo", finite=True),)
...     axes = {"f": Axis("features", names="feature_names"), "o": Axis("outputs", names="output_names")}
>>> s = Scores(values=[[1.0], [2.0]], feature_names=["a", "b"], method="demo")
>>> s
Scores(method='demo', n_features=2, n_outputs=1)
>>> s["b"].values.tolist()
[[2.0]]
"""

from __future__ import annotations

import copy
import html
import math
import numbers
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, TypeVar

import numpy as np

from xaikit._validation import describe
from xaikit.errors import FormatError, InvalidParameterError
from xaikit.results import format as fmt

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Axis", "Field", "JsonField", "Result"]

_KINDS: dict[str, type[Result]] = {}
"""Result classes by their ``kind``, used by :meth:`Result.load`."""

_R = TypeVar("_R", bound="Result")
_FREE = "."
"""Axis letter of a dimension that is neither checked across fields nor sliced (e.g. image height)."""


@dataclass(frozen=True)
class Axis:
    """One axis of a result kind.

    Parameters
    ----------
    name : str
        Plural name used in messages, columns and ``n_<name>`` (``"rows"``, ``"features"``).
    names : str, optional
        Attribute holding one unique str name per position (``"feature_names"``): the axis can then
        be indexed by name, and its names are validated, saved and shown.
    prefix : str
        Default names are ``prefix0``, ``prefix1``, ...
    singular : str, optional
        Singular name (default: ``name`` without its final ``s``).
    repr_name : str, optional
        The name of its length in ``repr`` (default ``n_<name>``).
    """

    name: str
    names: str | None = None
    prefix: str = "x"
    singular: str | None = None
    repr_name: str | None = None

    @property
    def one(self) -> str:
        """The singular name."""
        return self.singular or (self.name[:-1] if self.name.endswith("s") else self.name)


@dataclass(frozen=True)
class Field:
    """An array field: its name, one axis letter per dimension (``"."`` for a free dimension).

    Parameters
    ----------
    name : str
    axes : str
        e.g. ``"ndo"``; a letter repeated (``"nddo"``) means the same axis twice, sliced on both.
    dtype : {"float", "int", "data"}
        float64; int64; or ``"data"``: float64 when numeric, else an object array.
    finite : bool
        NaN and infinite numbers are refused (at construction and when loading).
    optional : bool
        ``None`` is allowed (the field is then absent).
    copy : bool
        False: a float64 array given by the caller is referenced through a read-only view (the
        caller's own array keeps its flags) instead of copied. Whatever ``copy`` says, an array
        nobody can write (read-only, over read-only memory) is taken as it is: a producer hands its
        result arrays over by marking them read-only, so a result adds no copy of its values.
    column : str or None
        Column name in :meth:`Result.to_frame` (default: the field's name); None leaves it out.
    doc : str
        One line for the generated property's docstring.
    """

    name: str
    axes: str
    dtype: str = "float"
    finite: bool = False
    optional: bool = False
    copy: bool = True
    column: str | None = ""
    doc: str = ""


@dataclass(frozen=True)
class JsonField:
    """A field of JSON values (stored in ``meta.json``), e.g. the texts of documents.

    Parameters
    ----------
    name : str
    axis : str
        ``""``: not sliced; an axis letter: a sequence with one item per position of that axis,
        sliced with it.
    check : callable, optional
        ``check(value, store, lengths) -> value``: validates (raising InvalidParameterError naming
        the field) and returns an immutable form (tuples); ``store`` holds the fields checked before.
    optional : bool
    whole : str
        Axis letters the value describes as a whole: slicing one of them (other than taking every
        position in order) drops the value (e.g. an input shape once features are selected).
    doc : str
    """

    name: str
    axis: str = ""
    check: Callable[[Any, Mapping[str, Any], Mapping[str, int]], Any] | None = None
    optional: bool = True
    whole: str = ""
    doc: str = ""


# ----------------------------------------------------------------------------- helpers


def _readonly(arr: np.ndarray) -> np.ndarray:
    """A read-only view of an array this module created, whose base is read-only too."""
    arr.setflags(write=False)
    view = arr.view()
    view.setflags(write=False)
    return view


def _frozen(arr: np.ndarray) -> bool:
    """Whether nobody can write ``arr``: it and every array it views are read-only, and the memory
    at the bottom is owned by one of them (a producer hands its result arrays over this way).

    >>> a = np.zeros(3); _frozen(a)
    False
    >>> a.setflags(write=False); _frozen(a), _frozen(a[1:])
    (True, True)
    >>> b = np.zeros(3); _frozen(np.asarray(memoryview(b).toreadonly()))  # a view of a writable array
    False
    """
    link: Any = arr
    while isinstance(link, np.ndarray):
        if link.flags.writeable:
            return False
        if link.base is None:
            return True
        link = link.base
    return False


def hand_over(*arrays: np.ndarray) -> None:
    """Make arrays a producer owns read-only, with every array they view, so that a result takes
    them as they are (no copy). Only for arrays nobody else holds.

    >>> buf = np.zeros(6); values = buf.reshape(2, 3, 1)
    >>> hand_over(values); _frozen(values), buf.flags.writeable
    (True, False)
    """
    for arr in arrays:
        link: Any = arr
        while isinstance(link, np.ndarray):
            link.setflags(write=False)
            link = link.base


def _readonly_reference(arr: np.ndarray) -> np.ndarray:
    """A read-only view of a caller's array, without copying and without changing the caller's flags."""
    try:
        return np.asarray(memoryview(arr).toreadonly())  # type: ignore[arg-type]
    except (TypeError, ValueError, BufferError):
        return _readonly(np.array(arr, copy=True))


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


def _position_of(name: str, axis: Axis, names: Sequence[str]) -> int:
    try:
        return list(names).index(name)
    except ValueError:
        raise InvalidParameterError(
            f"{axis.name}: unknown {axis.one} name {name!r}; available: {fmt._list_names(list(names))}"
        ) from None


def resolve_index(key: Any, axis: Axis, length: int, names: Sequence[str] | None) -> np.ndarray:
    """Turn one part of an index into a 1-D array of non-negative positions.

    ``key`` may be an int, a slice, a list or array of ints, a boolean mask or, when ``names``
    is given, a str name or a list of names.

    >>> resolve_index(["b", "a"], Axis("features"), 2, ["a", "b"]).tolist()
    [1, 0]
    """
    where = axis.name
    accepted = "an int, a slice, a list or array of ints or a boolean mask"
    if names is not None:
        accepted += f", a {axis.one} name or a list of names"
    if isinstance(key, slice):
        return np.arange(length, dtype=np.intp)[key]
    if isinstance(key, (bool, np.bool_)):
        raise InvalidParameterError(f"{where}: expected {accepted}, got {describe(key)}")
    if isinstance(key, numbers.Integral):
        pos = int(key)
        if not -length <= pos < length:
            raise InvalidParameterError(
                f"{where}: index {pos} is out of range for {length} {where} (valid: {-length} to {length - 1})"
            )
        return np.array([pos % length], dtype=np.intp)
    if isinstance(key, str):
        if names is None:
            raise InvalidParameterError(f"{where}: cannot be selected by name; expected {accepted}, got {key!r}")
        return np.array([_position_of(key, axis, names)], dtype=np.intp)
    if isinstance(key, (list, tuple, np.ndarray)) or hasattr(key, "__array__"):
        items = list(key) if isinstance(key, (list, tuple)) else None
        if items is not None and items and all(isinstance(k, str) for k in items):
            if names is None:
                raise InvalidParameterError(f"{where}: cannot be selected by name; expected {accepted}, got {key!r}")
            return np.array([_position_of(k, axis, names) for k in items], dtype=np.intp)
        try:
            arr = np.asarray(key)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"{where}: expected {accepted}, got {describe(key)}") from None
        if arr.ndim != 1:
            raise InvalidParameterError(f"{where}: expected a 1-D index, got {describe(arr)}")
        if arr.size == 0:
            return np.zeros(0, dtype=np.intp)
        if arr.dtype.kind == "b":
            if arr.shape[0] != length:
                raise InvalidParameterError(
                    f"{where}: expected a boolean mask of length {length}, got one of length {arr.shape[0]}"
                )
            return np.flatnonzero(arr).astype(np.intp)
        if arr.dtype.kind in "iu":
            bad = (arr < -length) | (arr >= length)
            if bad.any():
                raise InvalidParameterError(
                    f"{where}: index {int(arr[bad][0])} is out of range for {length} {where} (valid: {-length} to {length - 1})"
                )
            return (arr % length).astype(np.intp)
        if arr.dtype.kind in "UO" and all(isinstance(k, str) for k in arr.tolist()):
            if names is None:
                raise InvalidParameterError(f"{where}: cannot be selected by name; expected {accepted}, got {describe(key)}")
            return np.array([_position_of(k, axis, names) for k in arr.tolist()], dtype=np.intp)
    raise InvalidParameterError(f"{where}: expected {accepted}, got {describe(key)}")


def _refuse_repeats(sel: np.ndarray, axis: Axis, names: Sequence[str]) -> None:
    unique, counts = np.unique(sel, return_counts=True)
    if (counts > 1).any():
        repeated = names[int(unique[counts > 1][0])]
        raise InvalidParameterError(f"{axis.name}: expected each {axis.one} at most once, got {repeated!r} more than once")


def _is_identity(sel: np.ndarray, length: int) -> bool:
    return len(sel) == length and bool((sel == np.arange(length)).all())


def _take(arr: np.ndarray, letters: str, selection: Mapping[str, np.ndarray]) -> np.ndarray:
    """``arr`` indexed by ``selection[letter]`` along each of its lettered dimensions."""
    out = arr
    for k, letter in enumerate(letters):
        sel = selection.get(letter)
        if sel is not None and not _is_identity(sel, out.shape[k]):
            out = np.take(out, sel, axis=k)
    return out if out is arr else _readonly(out)


def _json_safe(value: Any) -> Any:
    """Plain JSON types with non-finite floats as None (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _array_to_json(arr: np.ndarray, where: str) -> Any:
    if arr.dtype.hasobject:
        flat = [fmt._cell_to_json(v, where) for v in arr.ravel().tolist()]
        return np.array(flat, dtype=object).reshape(arr.shape).tolist() if arr.size else np.empty(arr.shape).tolist()
    return _json_safe(fmt._to_json(arr, where))


def _thaw(value: Any) -> Any:
    """Tuples to lists, recursively (a mutable copy of a stored JSON value)."""
    if isinstance(value, (tuple, list)):
        return [_thaw(v) for v in value]
    return copy.deepcopy(value)


# ----------------------------------------------------------------------------- conversions


def _convert(field: Field, value: Any, axis_names: str) -> np.ndarray:
    """``value`` as a read-only array of ``field``'s dtype and number of dimensions."""
    name, ndim = field.name, len(field.axes)
    expected = f"({axis_names})"
    if isinstance(value, (str, bytes)) or value is None:
        raise InvalidParameterError(f"{name}: expected an array of shape {expected}, got {describe(value)}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"{name}: expected an array of shape {expected}, got {describe(value)} ({exc})") from None
    if arr.ndim != ndim:
        raise InvalidParameterError(f"{name}: expected an array with {ndim} dimensions {expected}, got {describe(arr)}")
    if field.dtype == "int":
        if arr.dtype.kind not in "iu":
            raise InvalidParameterError(f"{name}: expected an integer array of shape {expected}, got {describe(arr)}")
        target: np.dtype[Any] = np.dtype(np.int64)
    elif field.dtype == "data" and arr.dtype.kind not in "biuf":
        if arr.dtype.kind == "c":
            raise InvalidParameterError(f"{name}: expected real numbers or objects, got {describe(arr)}")
        return _readonly(np.array(arr, dtype=object, copy=True))
    else:
        if arr.dtype.kind not in "biufO":
            raise InvalidParameterError(
                f"{name}: expected a numeric array of shape {expected}, got {describe(value)} "
                f"that cannot be converted to float64 (dtype {arr.dtype} is not numeric)"
            )
        target = np.dtype(np.float64)
    if isinstance(value, np.ndarray) and arr.dtype == target and _frozen(value):
        return value  # handed over: nobody can write it, so there is nothing to copy
    if not field.copy and arr.dtype == target and isinstance(value, np.ndarray):
        return _readonly_reference(arr)
    try:
        return _readonly(np.array(arr, dtype=target, copy=True))
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"{name}: expected a numeric array of shape {expected}, got {describe(value)} "
            f"that cannot be converted to {target} ({exc})"
        ) from None


def _check_mapping(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidParameterError(f"{name}: expected a dict or None, got {describe(value)}")
    for key in value:
        if not isinstance(key, str):
            raise InvalidParameterError(f"{name}: expected str keys, got the key {describe(key)}")
    return dict(value)


# ----------------------------------------------------------------------------- the base


class Result:
    """Base of every xaikit result: a kind declares ``kind``, ``fields`` and ``axes``.

    Class attributes
    ----------------
    kind : str
        The name recorded in saved files; registers the class for :meth:`load`.
    fields : tuple of Field and JsonField
        The first :class:`Field` is the primary one (``values``): its axes are the ones
        ``result[...]`` indexes, in order, and the rows of :meth:`to_frame`.
    axes : dict of str to Axis
        The axis of each letter used by the fields.
    default_diagnostic_axes : dict of str to str
        Axis letters of the diagnostics sliced with the result (more per result with ``diagnostic_axes=``).

    Every result has ``method`` (str), ``params``, ``provenance`` (JSON-serialisable dicts) and
    ``diagnostics`` (str -> scalar, list or array; arrays of declared axes are checked and sliced).
    """

    kind: ClassVar[str] = ""
    fields: ClassVar[tuple[Field | JsonField, ...]] = ()
    #: The display :meth:`plot` draws by default (a key of ``xaikit.plots.KINDS``).
    plot_kind: ClassVar[str] = "bar"
    axes: ClassVar[Mapping[str, Axis]] = {}
    default_diagnostic_axes: ClassVar[Mapping[str, str]] = {}

    _array_fields: ClassVar[tuple[Field, ...]] = ()
    _json_fields: ClassVar[tuple[JsonField, ...]] = ()
    _index: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if not kind:
            return
        if not isinstance(kind, str):
            raise TypeError(f"{cls.__qualname__}.kind: expected a str, got {describe(kind)}")
        arrays = tuple(f for f in cls.fields if isinstance(f, Field))
        jsons = tuple(f for f in cls.fields if isinstance(f, JsonField))
        if len(arrays) + len(jsons) != len(cls.fields) or not arrays:
            raise TypeError(f"{cls.__qualname__}.fields: expected Field and JsonField declarations, the first a Field")
        for f in arrays:
            for letter in f.axes:
                if letter != _FREE and letter not in cls.axes:
                    raise TypeError(f"{cls.__qualname__}.fields: {f.name} has the undeclared axis {letter!r}")
            if f.dtype not in ("float", "int", "data"):
                raise TypeError(f"{cls.__qualname__}.fields: {f.name} has the unknown dtype {f.dtype!r}")
        required = {letter for f in arrays if not f.optional for letter in f.axes}
        missing = [letter for letter in cls.axes if letter not in required]
        if missing:
            raise TypeError(f"{cls.__qualname__}.axes: {missing[0]!r} is not an axis of any required field")
        previous = _KINDS.get(kind)
        if previous is not None and (previous.__module__, previous.__qualname__) != (cls.__module__, cls.__qualname__):
            raise TypeError(
                f"{cls.__qualname__}.kind: the kind {kind!r} is already registered by "
                f"{previous.__module__}.{previous.__qualname__}"
            )
        cls._array_fields = arrays
        cls._json_fields = jsons
        cls._index = "".join(dict.fromkeys(letter for letter in arrays[0].axes if letter != _FREE))
        for name, doc in [(f.name, f.doc) for f in arrays] + [(j.name, j.doc) for j in jsons]:
            cls._add_property(name, doc or f"The ``{name}`` field.")
        for letter, axis in cls.axes.items():
            if axis.names:
                cls._add_property(axis.names, f"Names of the {axis.name} (a copy).", as_list=True)
            cls._add_length(f"n_{axis.name}", letter)
        _KINDS[kind] = cls

    @classmethod
    def _add_property(cls, name: str, doc: str, *, as_list: bool = False) -> None:
        if any(name in klass.__dict__ for klass in cls.__mro__):
            return

        def get(self: Result) -> Any:
            value = self._store[name]
            if as_list:
                return list(value)
            return value if value is None or isinstance(value, np.ndarray) else _thaw(value)

        setattr(cls, name, property(get, doc=doc))

    @classmethod
    def _add_length(cls, name: str, letter: str) -> None:
        if any(name in klass.__dict__ for klass in cls.__mro__):
            return
        setattr(cls, name, property(lambda self: self._lengths[letter], doc=f"Length of the axis {letter!r}."))

    # -- construction ------------------------------------------------------------------

    def __init__(
        self,
        *,
        method: str,
        params: Mapping[str, Any] | None = None,
        diagnostics: Mapping[str, Any] | None = None,
        provenance: Mapping[str, Any] | None = None,
        diagnostic_axes: Mapping[str, str] | None = None,
        **values: Any,
    ) -> None:
        cls = type(self)
        if not cls.kind:
            raise TypeError(f"{cls.__name__} is a base class; create a result kind such as Attribution instead")
        known = {f.name for f in cls.fields} | {a.names for a in cls.axes.values() if a.names}
        unknown = [k for k in values if k not in known]
        if unknown:
            raise TypeError(f"{cls.__name__}() got an unexpected argument {unknown[0]!r}; expected {sorted(known)}")
        if not isinstance(method, str) or not method:
            raise InvalidParameterError(f"method: expected a non-empty str, got {describe(method)}")
        values = self._prepare(dict(values))
        store: dict[str, Any] = {}
        lengths: dict[str, int] = {}
        origin: dict[str, str] = {}
        for f in cls._array_fields:
            value = values.get(f.name)
            if value is None:
                if not f.optional:
                    raise InvalidParameterError(f"{f.name}: expected an array of shape ({self._axis_text(f.axes)}), got None")
                store[f.name] = None
                continue
            arr = _convert(f, value, self._axis_text(f.axes))
            expected = list(arr.shape)
            sources = []
            for k, letter in enumerate(f.axes):
                if letter == _FREE:
                    continue
                if letter in lengths:
                    expected[k] = lengths[letter]
                    sources.append(origin[letter])
                else:
                    lengths[letter], origin[letter] = arr.shape[k], f.name
            if tuple(expected) != arr.shape:
                against = sorted(set(sources) - {f.name})
                match = f" to match {', '.join(against)}" if against else ""
                raise InvalidParameterError(
                    f"{f.name}: expected shape ({self._axis_text(f.axes)}) = {tuple(expected)}{match}, got {describe(arr)}"
                )
            if f.finite:
                found = fmt.non_finite(arr)
                if found is not None:
                    raise InvalidParameterError(f"{f.name}: expected finite numbers (no NaN or infinity), {found}")
            store[f.name] = arr
        for letter, axis in cls.axes.items():
            if axis.names:
                store[axis.names] = _check_names(values.get(axis.names), axis.names, lengths[letter], axis.prefix)
        for jf in cls._json_fields:
            value = values.get(jf.name)
            if value is None:
                if not jf.optional:
                    raise InvalidParameterError(f"{jf.name}: expected a value, got None")
                store[jf.name] = None
            else:
                store[jf.name] = jf.check(value, store, lengths) if jf.check is not None else fmt._to_json(value, jf.name)
        object.__setattr__(self, "_store", store)
        object.__setattr__(self, "_lengths", lengths)
        self._validate()
        axes = self._check_axes(diagnostic_axes)
        object.__setattr__(self, "_method", method)
        object.__setattr__(self, "_params", _check_mapping(params, "params"))
        object.__setattr__(self, "_provenance", _check_mapping(provenance, "provenance"))
        object.__setattr__(self, "_diagnostic_axes", axes)
        object.__setattr__(self, "_diagnostics", self._check_diagnostics(diagnostics, axes))

    def _prepare(self, values: dict[str, Any]) -> dict[str, Any]:
        """Adjust the constructor's field arguments before they are checked (e.g. default names)."""
        return values

    def _validate(self) -> None:
        """Checks across fields that the declaration cannot express; raise InvalidParameterError."""

    @classmethod
    def _axis_text(cls, letters: str) -> str:
        return ", ".join("?" if letter == _FREE else cls.axes[letter].name for letter in letters)

    @classmethod
    def _new(
        cls: type[_R],
        store: dict[str, Any],
        lengths: dict[str, int],
        method: str,
        params: dict[str, Any],
        diagnostics: dict[str, Any],
        provenance: dict[str, Any],
        diagnostic_axes: dict[str, str],
    ) -> _R:
        """An instance from parts already checked (slicing)."""
        obj = object.__new__(cls)
        for key, value in (
            ("_store", store),
            ("_lengths", lengths),
            ("_method", method),
            ("_params", params),
            ("_diagnostics", diagnostics),
            ("_provenance", provenance),
            ("_diagnostic_axes", diagnostic_axes),
        ):
            object.__setattr__(obj, key, value)
        return obj

    def _check_axes(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        axes = dict(self.default_diagnostic_axes)
        if extra is None:
            return axes
        if not isinstance(extra, Mapping):
            raise InvalidParameterError(
                f"diagnostic_axes: expected a dict of diagnostic key -> axis letters, got {describe(extra)}"
            )
        letters = "".join(self.axes)
        for key, spec in extra.items():
            if not isinstance(key, str):
                raise InvalidParameterError(f"diagnostic_axes: expected str keys, got the key {describe(key)}")
            if not isinstance(spec, str) or not spec or any(ch not in letters for ch in spec) or len(set(spec)) != len(spec):
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
                    expected = tuple(self._lengths[a] for a in declared)
                    if value.shape != expected:
                        raise InvalidParameterError(
                            f"{where}: expected shape ({self._axis_text(declared)}) = {expected}, got {describe(value)}"
                        )
                out[key] = _readonly(np.array(value, copy=True))
            elif value is None or isinstance(value, (bool, str, np.bool_, numbers.Integral, numbers.Real)):
                out[key] = fmt._to_json(value, where)
            elif isinstance(value, (list, tuple, Mapping)) and declared is None:
                out[key] = fmt._to_json(value, where)
            else:
                raise InvalidParameterError(
                    f"{where}: expected a scalar (int, float, str, bool or None), a list or a numpy array, got {describe(value)}"
                )
        return out

    # -- immutability and common attributes -----------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot set attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot delete attribute {name!r}")

    _store: dict[str, Any]
    _lengths: dict[str, int]
    _method: str
    _params: dict[str, Any]
    _provenance: dict[str, Any]
    _diagnostics: dict[str, Any]
    _diagnostic_axes: dict[str, str]

    @property
    def method(self) -> str:
        """Name of the method that produced the result."""
        return self._method

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
        """Diagnostics of the run (a copy; arrays are read-only). A key is absent when not measured."""
        return {k: v if isinstance(v, np.ndarray) else copy.deepcopy(v) for k, v in self._diagnostics.items()}

    @property
    def diagnostic_axes(self) -> dict[str, str]:
        """Axis letters of the diagnostics that are sliced with the result."""
        return dict(self._diagnostic_axes)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the primary field (``values``)."""
        return tuple(self._store[self._array_fields[0].name].shape)

    def __len__(self) -> int:
        return self._lengths[self._index[0]]

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]

    # -- slicing -----------------------------------------------------------------------

    def _names(self, letter: str) -> tuple[str, ...] | None:
        attr = self.axes[letter].names
        return None if attr is None else self._store[attr]  # type: ignore[no-any-return]

    def _resolve(self, key: Any, letter: str) -> np.ndarray:
        return resolve_index(key, self.axes[letter], self._lengths[letter], self._names(letter))

    def _one_position(self, key: Any, letter: str, param: str) -> int:
        """One position along ``letter`` (an int or a name), or an error naming ``param``."""
        if isinstance(key, (list, tuple, slice, np.ndarray)):
            raise InvalidParameterError(f"{param}: expected one {self.axes[letter].one} (an int or a name), got {describe(key)}")
        return int(self._resolve(key, letter)[0])

    def _output_position(self, output: int | str) -> int:
        return self._one_position(output, "o", "target")

    def __getitem__(self: _R, key: Any) -> _R:
        """Select along the axes of ``values`` (e.g. ``exp[rows, features, outputs]``); every field and
        declared diagnostic is sliced along the axes it has.

        Each part is an int, a slice, a list or array of ints or a boolean mask; named axes also take
        a name or a list of names. An int keeps a length-1 axis; trailing parts may be left out; a
        named axis may not repeat a position.

        Examples
        --------
        >>> import numpy as np
        >>> from xaikit.results import Attribution
        >>> exp = Attribution(values=np.zeros((4, 3, 2)), base_values=np.zeros((4, 2)), method="demo")
        >>> exp[1:3, ["x2", "x0"], "output1"].feature_names
        ['x2', 'x0']
        >>> exp[:, "age"]
        Traceback (most recent call last):
        ...
        xaikit.errors.InvalidParameterError: features: unknown feature name 'age'; available: 'x0', 'x1', 'x2'
        """
        parts = key if isinstance(key, tuple) else (key,)
        index = self._index
        if len(parts) > len(index):
            listed = ", ".join(self.axes[letter].name for letter in index)
            raise InvalidParameterError(f"key: expected at most {len(index)} parts ({listed}), got {len(parts)}")
        selection: dict[str, np.ndarray] = {}
        for letter, part in zip(index, parts):
            sel = self._resolve(part, letter)
            names = self._names(letter)
            if names is not None:
                _refuse_repeats(sel, self.axes[letter], names)
            selection[letter] = sel
        return self._take(selection)

    def _take(self: _R, selection: Mapping[str, np.ndarray], **replace: Any) -> _R:
        """A new result with every field and declared diagnostic indexed by ``selection``."""
        full = {letter: selection.get(letter, np.arange(n)) for letter, n in self._lengths.items()}
        sliced = {letter for letter, sel in full.items() if not _is_identity(sel, self._lengths[letter])}
        store: dict[str, Any] = {}
        for f in self._array_fields:
            arr = self._store[f.name]
            store[f.name] = None if arr is None else _take(arr, f.axes, full)
        for letter, axis in self.axes.items():
            if axis.names:
                names = self._store[axis.names]
                store[axis.names] = tuple(names[i] for i in full[letter])
        for jf in self._json_fields:
            value = self._store[jf.name]
            if value is not None and jf.axis:
                value = tuple(value[i] for i in full[jf.axis])
            if value is not None and set(jf.whole) & sliced:
                value = None
            store[jf.name] = value
        store.update(replace)
        lengths = {letter: len(sel) for letter, sel in full.items()}
        diagnostics = {
            key: _take(value, self._diagnostic_axes[key], full)
            if isinstance(value, np.ndarray) and key in self._diagnostic_axes
            else value
            for key, value in self._diagnostics.items()
        }
        return type(self)._new(
            store, lengths, self._method, self._params, diagnostics, self._provenance, dict(self._diagnostic_axes)
        )

    # -- save / load -------------------------------------------------------------------

    def _meta_and_members(self) -> tuple[dict[str, Any], list[tuple[str, np.ndarray]]]:
        entries: list[dict[str, Any]] = []
        members: list[tuple[str, np.ndarray]] = []
        for f in self._array_fields:
            arr = self._store[f.name]
            if arr is None:
                continue
            if arr.dtype.hasobject:
                entries.append(fmt.object_entry(f.name, arr))
            else:
                member = f"{f.name}.npy"
                entries.append({"field": f.name, "storage": "npy", "file": member})
                members.append((member, arr))
        scalars: dict[str, Any] = {}
        for i, (key, value) in enumerate(self._diagnostics.items()):
            if isinstance(value, np.ndarray):
                member = f"diagnostics/{i:03d}_{fmt._safe_member_name(key)}.npy"
                entries.append({"field": "diagnostics", "key": key, "storage": "npy", "file": member})
                members.append((member, value))
            else:
                scalars[key] = fmt._to_json(value, f"diagnostics[{key!r}]")
        meta: dict[str, Any] = {
            "format": fmt.FORMAT_NAME,
            "format_version": fmt.FORMAT_VERSION,
            "kind": self.kind,
            "method": self._method,
            "params": fmt._to_json(self._params, "params"),
            "provenance": fmt._to_json(self._provenance, "provenance"),
            "diagnostics": scalars,
            "diagnostic_axes": dict(self._diagnostic_axes),
            "arrays": entries,
        }
        for axis in self.axes.values():
            if axis.names:
                meta[axis.names] = list(self._store[axis.names])
        for jf in self._json_fields:
            meta[jf.name] = fmt._to_json(self._store[jf.name], jf.name)
        return meta, members

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the result to ``path``: one ZIP archive (see :mod:`xaikit.results.format`), written atomically.

        The content goes to a temporary file in the same folder, which then replaces ``path``;
        if anything fails, ``path`` is left as it was and the temporary file is removed.

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
        >>> from xaikit.results import Attribution
        >>> exp = Attribution(values=np.ones((1, 2, 1)), base_values=np.zeros((1, 1)), method="demo")
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     target = os.path.join(tmp, "result.xai")
        ...     exp.save(target)
        ...     Result.load(target).feature_names
        ['x0', 'x1']
        >>> exp.save(os.path.join(tempfile.gettempdir(), "xaikit-no-such-folder-7f3a", "result.xai"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        xaikit.errors.InvalidParameterError: path: cannot save to '...': the folder '...-7f3a' does not exist; create it first
        """
        target, directory = fmt.check_save_path(path)
        meta, members = self._meta_and_members()
        fmt.write_file(target, directory, fmt.encode(meta), members)

    def to_bytes(self) -> bytes:
        """The content :meth:`save` would write, as bytes (read back with :meth:`from_bytes`).

        Examples
        --------
        >>> import numpy as np
        >>> from xaikit.results import Attribution
        >>> exp = Attribution(values=np.ones((1, 2, 1)), base_values=np.zeros((1, 1)), method="demo")
        >>> Result.from_bytes(exp.to_bytes()).values.ravel().tolist()
        [1.0, 1.0]
        """
        meta, members = self._meta_and_members()
        return fmt.archive_bytes(fmt.encode(meta), members)

    @classmethod
    def load(cls: type[_R], path: str | os.PathLike[str]) -> _R:
        """Read a result written by :meth:`save`.

        ``Result.load`` returns whatever kind the file holds; ``Attribution.load`` (or any kind)
        also checks that the file holds that kind. Sizes are checked before anything is allocated
        (see :mod:`xaikit.results.format`).

        Raises
        ------
        InvalidParameterError
            If ``path`` is not a str or os.PathLike, does not exist, is not a regular file or
            cannot be read.
        FormatError
            If the file is not a ZIP archive, is truncated or corrupt, has no ``meta.json``, is
            not an xaikit result, was written by a newer format version, has an unknown or
            unexpected kind, exceeds a size bound, holds non-finite values or is otherwise
            inconsistent. The message starts with the path.

        Examples
        --------
        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     bad = os.path.join(tmp, "bad.xai")
        ...     with open(bad, "w") as fh:
        ...         _ = fh.write("hello")
        ...     Result.load(bad)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        xaikit.errors.FormatError: ...bad.xai: not an xaikit explanation file: expected a ZIP archive, found ... b'hello'
        """
        fh, size, source = fmt.open_path(path)
        with fh:
            return cls._from_archive(fh, size, source)

    @classmethod
    def from_bytes(cls: type[_R], data: bytes | bytearray | memoryview) -> _R:
        """Read a result from the content of a file written by :meth:`save` (or :meth:`to_bytes`).

        The same checks as :meth:`load` apply; messages name ``data`` instead of a path.

        Examples
        --------
        >>> Result.from_bytes(b"PK\\x03\\x04 cut short")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        xaikit.errors.FormatError: data: truncated or corrupt .xai file: ...
        """
        fh, size, source = fmt.open_bytes(data)
        return cls._from_archive(fh, size, source)

    @classmethod
    def _from_archive(cls: type[_R], fh: BinaryIO, size: int, source: str) -> _R:
        zf = fmt._open_archive(fh, size, source)
        with zf:
            meta = fmt._read_meta(zf, source)
            kind = meta.get("kind")
            target = _KINDS.get(kind) if isinstance(kind, str) else None
            if target is None:
                raise FormatError(
                    f"{source}: unknown explanation kind {kind!r}; this version of xaikit knows {fmt._list_names(sorted(_KINDS))}"
                )
            if not issubclass(target, cls):
                raise FormatError(
                    f"{source}: expected an explanation of kind {cls.kind!r}, found {kind!r}; use Result.load to read any kind"
                )
            method = meta.get("method")
            if not isinstance(method, str):
                raise FormatError(f"{source}: meta.json: expected 'method' to be a str, found {describe(method)}")
            args: dict[str, Any] = {"method": method}
            for key in ("params", "provenance", "diagnostics", "diagnostic_axes"):
                value = meta.get(key, {})
                if not isinstance(value, dict):
                    raise FormatError(f"{source}: meta.json: expected {key!r} to be an object, found {describe(value)}")
                args[key] = dict(value)
            arrays, diagnostics = fmt.read_arrays(zf, meta, source, str(kind), [f.name for f in target._array_fields])
        args["diagnostics"].update(diagnostics)
        for f in target._array_fields:
            args[f.name] = arrays.get(f.name)
            found = fmt.non_finite(args[f.name]) if f.finite else None
            if found is not None:
                raise FormatError(f"{source}: {f.name}: expected finite numbers, {found}")
        for axis in target.axes.values():
            if axis.names:
                args[axis.names] = meta.get(axis.names)
        for jf in target._json_fields:
            args[jf.name] = meta.get(jf.name)
        args = target._upgrade(args)
        try:
            return target(**args)  # type: ignore[return-value]
        except InvalidParameterError as exc:
            raise FormatError(f"{source}: the stored {kind} is not valid: {exc}") from exc

    @classmethod
    def _upgrade(cls, args: dict[str, Any]) -> dict[str, Any]:
        """Constructor arguments read from a file, adapted from what older versions wrote."""
        return args

    # -- conversions -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON types (what the HTTP service returns).

        Arrays become nested lists (non-finite numbers and missing values become ``None``); the
        dict also holds the kind, the names of the named axes, ``axes`` (the letters of each field)
        and ``diagnostic_axes``.

        Examples
        --------
        >>> import json, numpy as np
        >>> from xaikit.results import Attribution
        >>> d = Attribution(values=np.ones((1, 2, 1)), base_values=[[0.5]], method="demo").to_dict()
        >>> d["kind"], d["values"], d["feature_names"]
        ('attribution', [[[1.0], [1.0]]], ['x0', 'x1'])
        >>> _ = json.dumps(d, allow_nan=False)
        """
        out: dict[str, Any] = {"kind": self.kind, "method": self._method}
        for f in self._array_fields:
            arr = self._store[f.name]
            out[f.name] = None if arr is None else _array_to_json(arr, f.name)
        for axis in self.axes.values():
            if axis.names:
                out[axis.names] = list(self._store[axis.names])
        for jf in self._json_fields:
            out[jf.name] = _json_safe(fmt._to_json(self._store[jf.name], jf.name))
        out["params"] = _json_safe(fmt._to_json(self._params, "params"))
        out["provenance"] = _json_safe(fmt._to_json(self._provenance, "provenance"))
        out["diagnostics"] = {
            key: _array_to_json(value, f"diagnostics[{key!r}]")
            if isinstance(value, np.ndarray)
            else _json_safe(fmt._to_json(value, f"diagnostics[{key!r}]"))
            for key, value in self._diagnostics.items()
        }
        out["diagnostic_axes"] = dict(self._diagnostic_axes)
        out["axes"] = {f.name: f.axes for f in self._array_fields}
        return out

    def to_frame(self) -> pd.DataFrame:
        """A tidy table: one line per position of ``values``, row-major.

        Columns: one per axis of ``values`` (its names, else positions; a repeated axis gets
        ``<axis>_2``), ``value``, then the other fields whose axes are among those of ``values``
        (NaN when absent) and the diagnostics declared along exactly the axes of ``values``.

        Examples
        --------
        >>> import numpy as np
        >>> from xaikit.results import Attribution
        >>> exp = Attribution(values=np.arange(4.0).reshape(2, 2, 1), base_values=np.zeros((2, 1)),
        ...                   data=[[1.0, 2.0], [3.0, 4.0]], method="demo")
        >>> exp.to_frame().columns.tolist()
        ['row', 'feature', 'output', 'value', 'data']
        >>> exp.to_frame()["value"].tolist()
        [0.0, 1.0, 2.0, 3.0]
        """
        import pandas as pd

        primary = self._array_fields[0]
        values = self._store[primary.name]
        grids = np.indices(values.shape).reshape(values.ndim, -1) if values.size else np.zeros((values.ndim, 0), dtype=np.intp)
        first: dict[str, int] = {}
        frame: dict[str, Any] = {}
        for k, letter in enumerate(primary.axes):
            if letter == _FREE:
                continue
            axis = self.axes[letter]
            column = axis.one if letter not in first else f"{axis.one}_2"
            first.setdefault(letter, k)
            names = self._names(letter)
            frame[column] = np.array(names, dtype=object)[grids[k]] if names is not None else grids[k]
        frame[primary.column or "value"] = values.reshape(-1).copy()
        count = values.size
        for f in self._array_fields[1:]:
            if f.column is None or any(letter not in first for letter in f.axes):
                continue
            arr = self._store[f.name]
            column = f.column or f.name
            if arr is None:
                frame[column] = np.full(count, np.nan)
            else:
                frame[column] = arr[tuple(grids[first[letter]] for letter in f.axes)]
        for key, value in self._diagnostics.items():
            if isinstance(value, np.ndarray) and self._diagnostic_axes.get(key) == primary.axes:
                frame[key] = value.reshape(-1).copy()
        return pd.DataFrame(frame)

    # -- display -----------------------------------------------------------------------

    def _repr_fields(self) -> list[tuple[str, Any]]:
        return [(self.axes[letter].repr_name or f"n_{self.axes[letter].name}", self._lengths[letter]) for letter in self._index]

    def __repr__(self) -> str:
        parts = [f"method={self._method!r}"] + [f"{k}={v}" for k, v in self._repr_fields()]
        return f"{type(self).__name__}({', '.join(parts)})"

    def plot(self, kind: str | None = None, **kwargs: Any) -> Any:
        """Draw the result: ``xaikit.plots.plot(self, kind, **kwargs)``, a display with ``figure_`` and ``ax_``.

        ``kind`` is one of ``xaikit.plots.KINDS`` ("bar", "beeswarm", "waterfall", "force", "scatter",
        "heatmap", "decision", "interaction", "text", "image", "importance", "effects", "rules"); by
        default the result kind's own (:attr:`plot_kind`). ``kwargs`` are the display's
        ``from_explanation`` parameters (``ax``, ``target``, ``row``...).
        """
        from xaikit.plots import plot

        return plot(self, self.plot_kind if kind is None else kind, **kwargs)

    def _repr_html_(self) -> str:
        """A small HTML table of the fields and their shapes."""
        fields = ", ".join(f"{k}={v}" for k, v in self._repr_fields())
        head = f"<p><b>{type(self).__name__}</b> method={html.escape(repr(self._method))}, {fields}</p>"
        rows = "".join(
            f"<tr><td>{html.escape(f.name)}</td><td>{html.escape(self._axis_text(f.axes))}</td>"
            f"<td>{'absent' if self._store[f.name] is None else self._store[f.name].shape}</td></tr>"
            for f in self._array_fields
        )
        table = f"<table><thead><tr><th>field</th><th>axes</th><th>shape</th></tr></thead><tbody>{rows}</tbody></table>"
        return f'<div class="xaikit-{html.escape(self.kind)}">{head}{table}</div>'
