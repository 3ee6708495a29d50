"""Import an example script by path (``examples/`` is not a package): shared by the example tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` as the module ``xaikit_example_<name>``."""
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"xaikit_example_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import the example {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_example(name: str, tmp_path_factory: Any, missing: str) -> tuple[ModuleType, dict[str, Any], Path]:
    """Run ``examples/<name>.py``'s ``main(out, quick=True)`` in a fresh temporary folder.

    The test is skipped, saying ``missing``, when the example's data cannot be found
    (:class:`~xaikit.errors.DataNotFoundError`). Returns the module, its result and the folder.
    """
    import pytest

    from xaikit.errors import DataNotFoundError

    module = load_example(name)
    out = tmp_path_factory.mktemp(name)
    try:
        result = module.main(out, quick=True)
    except DataNotFoundError as exc:
        pytest.skip(f"{missing} not available (set $XAIKIT_DATA): {exc}")
    return module, result, out
