"""Large read-only objects that local worker processes keep between jobs.

A job sent to a worker process is pickled whole. When every job carries the same large object (a
tree ensemble of tens of megabytes), sending it again with each job costs more than the work of a
short job. An object that derives from :class:`WorkerCached` is instead sent once to each worker,
which keeps it under its :meth:`~WorkerCached.content_key`; later jobs carry the key alone. The key
is a digest of the content, worked out again at every ``map`` call, so an object changed in place
gets a new key and is sent again: a worker never runs on stale content.

>>> class Table(WorkerCached):
...     def __init__(self, rows): self.rows = rows
...     def content_key(self): return repr(self.rows)
>>> shared = {}
>>> payload = by_reference(("job", Table([1, 2])), shared)
>>> list(shared)
['[1, 2]']
>>> resolve(payload, shared)[1].rows  # a worker resolves the key with what it was sent or keeps
[1, 2]
"""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from typing import Any

__all__ = ["MissingShared", "WorkerCached", "by_reference", "forget_all", "remember", "resolve"]

#: How many shared objects a worker keeps (least recently used dropped first).
CACHE_SIZE = 4

_cache: OrderedDict[str, Any] = OrderedDict()
_TAG = "xaikit.shared"


class WorkerCached:
    """Base of objects sent once to each local worker process and kept there between jobs.

    Subclasses define :meth:`content_key`: a string that changes whenever the content does (a
    digest of it). Objects with equal keys must be interchangeable.
    """

    def content_key(self) -> str:
        raise NotImplementedError


class MissingShared(Exception):
    """A job referred to a shared object this process does not hold (``key``)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _reference_pickler(base: type[pickle.Pickler]) -> type[pickle.Pickler]:
    class ReferencePickler(base):  # type: ignore[misc, valid-type]
        def __init__(self, file: Any, shared: dict[str, Any], keys: dict[int, str]) -> None:
            super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
            self._shared = shared
            self._keys = keys

        def persistent_id(self, obj: Any) -> Any:
            if not isinstance(obj, WorkerCached):
                return None
            key = self._keys.get(id(obj))
            if key is None:
                key = self._keys[id(obj)] = obj.content_key()
            self._shared[key] = obj
            return (_TAG, key)

    return ReferencePickler


_StdReferencePickler = _reference_pickler(pickle.Pickler)


def by_reference(obj: Any, shared: dict[str, Any], keys: dict[int, str] | None = None) -> bytes:
    """Pickle ``obj`` with every :class:`WorkerCached` inside it replaced by its key; the objects
    replaced are added to ``shared`` (key -> object). ``keys`` (``id`` -> key) lets several calls
    in one ``map`` share the digests; the objects must stay alive meanwhile. Falls back to
    cloudpickle (when installed) for lambdas and closures; raises what pickle raised otherwise."""
    keys = {} if keys is None else keys
    buffer = io.BytesIO()
    try:
        _StdReferencePickler(buffer, shared, keys).dump(obj)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        try:
            import cloudpickle
        except ImportError:
            raise exc from None
        buffer = io.BytesIO()
        _reference_pickler(cloudpickle.Pickler)(buffer, shared, keys).dump(obj)
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
            return self._given[key]
        try:
            obj = _cache[key]
        except KeyError:
            raise MissingShared(key) from None
        _cache.move_to_end(key)
        return obj


def resolve(payload: bytes, given: dict[str, Any] | None = None) -> Any:
    """Unpickle a :func:`by_reference` payload with the shared objects ``given`` (key -> object)
    and those this process holds; raises :class:`MissingShared` naming a key found in neither."""
    return _ReferenceUnpickler(io.BytesIO(payload), given or {}).load()


def remember(objects: dict[str, Any]) -> None:
    """Keep ``objects`` (key -> object) in this process, dropping the least recently used beyond
    :data:`CACHE_SIZE`."""
    for key, obj in objects.items():
        _cache[key] = obj
        _cache.move_to_end(key)
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)


def forget_all() -> None:
    """Drop every shared object this process holds."""
    _cache.clear()
