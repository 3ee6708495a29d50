"""Large read-only objects scattered to worker processes and kept there between jobs.

A job sent to a worker process is pickled whole. When every job carries the same large object (a
tree ensemble of tens of megabytes), sending it again with each job costs more than the work of a
short job. :meth:`Executor.scatter <xaikit.execution.Executor.scatter>` wraps such an object in a
:class:`Shared` handle; jobs carry the handle and call :meth:`Shared.get` where they need the
object. When a job goes to a worker process, each handle in it is replaced by a key, a digest of
the object's content (:func:`content_key`), and the object itself goes to each worker once, which
keeps the :data:`CACHE_SIZE` most recently used. The key is worked out again for every batch of
jobs, so an object changed in place gets a new key and is sent again: a worker never runs on stale
content.

>>> table = Shared([1, 2])
>>> objects = {}
>>> payload = by_reference(("job", table), objects)  # what a worker receives
>>> [obj for obj in objects.values()]
[[1, 2]]
>>> name, handle = resolve(payload, objects)  # a worker resolves the key with what it was sent or keeps
>>> handle.get()
[1, 2]
"""

from __future__ import annotations

import hashlib
import io
import pickle
import threading
from collections import OrderedDict
from typing import Any, Generic, TypeVar

__all__ = ["CACHE_SIZE", "MissingShared", "Shared", "by_reference", "content_key", "forget_all", "remember", "resolve"]

T = TypeVar("T")

#: How many shared objects a worker keeps (least recently used dropped first).
CACHE_SIZE = 4

_cache: OrderedDict[str, Any] = OrderedDict()
_cache_lock = threading.Lock()
_TAG = "xaikit.shared"


class Shared(Generic[T]):
    """A handle on an object sent to an executor's workers once and kept there.

    Returned by :meth:`Executor.scatter <xaikit.execution.Executor.scatter>`. Put the handle in jobs
    in place of the object and call :meth:`get` in the job. Treat the object as read-only: workers
    may hold a copy.

    Examples
    --------
    >>> Shared({"a": 1}).get()
    {'a': 1}
    """

    __slots__ = ("_obj",)

    def __init__(self, obj: T) -> None:
        self._obj = obj

    def get(self) -> T:
        """The object."""
        return self._obj

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled by anything but an executor's reference pickler: the object travels with the handle
        return (Shared, (self._obj,))

    def __repr__(self) -> str:
        return f"Shared({type(self._obj).__name__})"


def content_key(obj: Any) -> str:
    """A string that changes whenever the content of ``obj`` does: ``obj.content_key()`` where the
    object defines it (a digest of its arrays, cheaper than pickling them), else a SHA-256 of its
    pickle. Objects with equal keys must be interchangeable.

    >>> content_key([1, 2]) == content_key([1, 2]) != content_key([1, 3])
    True
    """
    own = getattr(obj, "content_key", None)
    if callable(own):
        return str(own())
    import cloudpickle

    return "sha256:" + hashlib.sha256(cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest()


class MissingShared(Exception):
    """A job referred to a shared object this process does not hold (``key``)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


_pickler_class: Any = None


def _reference_pickler() -> Any:
    """The pickler class of :func:`by_reference` (made once: cloudpickle is imported on first use)."""
    global _pickler_class
    if _pickler_class is not None:
        return _pickler_class
    import cloudpickle

    class ReferencePickler(cloudpickle.Pickler):  # type: ignore[misc]
        def __init__(self, file: Any, shared: dict[str, Any], keys: dict[int, str]) -> None:
            super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
            self._shared = shared
            self._keys = keys

        def persistent_id(self, obj: Any) -> Any:
            if not isinstance(obj, Shared):
                return None
            target = obj.get()
            key = self._keys.get(id(target))
            if key is None:
                key = self._keys[id(target)] = content_key(target)
            self._shared[key] = target
            return (_TAG, key)

    _pickler_class = ReferencePickler
    return ReferencePickler


def by_reference(obj: Any, shared: dict[str, Any], keys: dict[int, str] | None = None) -> bytes:
    """Pickle ``obj`` with every :class:`Shared` handle inside it replaced by the key of its object;
    the objects are added to ``shared`` (key -> object). ``keys`` (``id`` of an object -> key) lets
    several calls in one batch share the digests; the objects must stay alive meanwhile.

    Pickled with cloudpickle: functions and classes defined in a script or a notebook travel by
    value, so workers need not import the caller's main module. Raises what pickling raised."""
    keys = {} if keys is None else keys
    buffer = io.BytesIO()
    _reference_pickler()(buffer, shared, keys).dump(obj)
    return buffer.getvalue()


class _ReferenceUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, given: dict[str, Any]) -> None:
        super().__init__(file)
        self._given = given

    def persistent_load(self, pid: Any) -> Any:
        tag, key = pid
        if tag != _TAG:
            raise pickle.UnpicklingError(f"unknown persistent reference {tag!r}")
        if key in self._given:
            return Shared(self._given[key])
        with _cache_lock:
            try:
                obj = _cache[key]
            except KeyError:
                raise MissingShared(key) from None
            _cache.move_to_end(key)
        return Shared(obj)


def resolve(payload: bytes, given: dict[str, Any] | None = None) -> Any:
    """Unpickle a :func:`by_reference` payload, each key becoming a :class:`Shared` handle on the
    object ``given`` (key -> object) or held by this process; raises :class:`MissingShared` naming
    a key found in neither."""
    return _ReferenceUnpickler(io.BytesIO(payload), given or {}).load()


def remember(objects: dict[str, Any]) -> None:
    """Keep ``objects`` (key -> object) in this process, dropping the least recently used beyond
    :data:`CACHE_SIZE`."""
    with _cache_lock:
        for key, obj in objects.items():
            _cache[key] = obj
            _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def forget_all() -> None:
    """Drop every shared object this process holds."""
    with _cache_lock:
        _cache.clear()
