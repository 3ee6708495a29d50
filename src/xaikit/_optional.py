"""Import optional dependencies with a clear error naming the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from xaikit.errors import MissingDependencyError

__all__ = ["import_optional"]


def import_optional(name: str, extra: str) -> ModuleType:
    """Import module ``name`` or raise :class:`MissingDependencyError` naming ``xaikit[extra]``.

    Examples
    --------
    >>> import_optional("json", "core").__name__
    'json'
    >>> import_optional("no_such_module_xyz", "plot")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xaikit.errors.MissingDependencyError: this feature needs the package 'no_such_module_xyz', ... pip install "xaikit[plot]"
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        top = name.split(".")[0]
        raise MissingDependencyError(
            f"this feature needs the package {top!r}, which is not installed; "
            f'install it with: pip install "xaikit[{extra}]"'
        ) from exc
