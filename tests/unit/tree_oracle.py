"""The exact-enumeration helpers of ``tests/oracles/test_tree_shap_bruteforce.py`` (games, Shapley values by
enumeration, the check of a parsed ensemble), loaded once for the parser tests of every tree library."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any


def _load() -> Any:
    path = Path(__file__).resolve().parents[1] / "oracles" / "test_tree_shap_bruteforce.py"
    spec = importlib.util.spec_from_file_location("_tree_shap_bruteforce_helpers", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


ORACLE = _load()
