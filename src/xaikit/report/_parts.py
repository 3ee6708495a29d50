"""Small HTML pieces shared by every section of the report: escaped cells and key-value tables.

>>> cell({"a": "<b>"})
'{&quot;a&quot;: &quot;&lt;b&gt;&quot;}'
>>> kv_table([("seed", "0")])
'<table class="xk-kv"><tbody><tr><th>seed</th><td>0</td></tr></tbody></table>'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from xaikit.report._encode import esc, fmt
from xaikit.report._svg import short

__all__ = ["MAX_CELL", "cell", "kv_table", "made_rows"]

#: Most characters of one value in a key-value table.
MAX_CELL = 300


def cell(value: Any) -> str:
    """A value of params, provenance or diagnostics as escaped text (JSON for containers, cut to a few hundred characters)."""
    if isinstance(value, np.ndarray):
        if value.size and value.dtype.kind in "biuf":
            finite = value[np.isfinite(value)] if value.dtype.kind == "f" else value
            if finite.size:
                return esc(f"array {value.shape}: min {fmt(finite.min())}, mean {fmt(finite.mean())}, max {fmt(finite.max())}")
        return esc(f"array {value.shape}")
    if isinstance(value, float):
        return esc(fmt(value, 6))
    if isinstance(value, str):
        return esc(short(value, MAX_CELL))
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = str(value)
    return esc(short(text, MAX_CELL))


def kv_table(rows: list[tuple[str, str]]) -> str:
    """A two-column table; keys are escaped here, values must already be escaped HTML."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="xk-kv"><tbody>{body}</tbody></table>'


def made_rows(provenance: Mapping[str, Any], diagnostics: Mapping[str, Any]) -> list[tuple[str, str]]:
    """How a result was made, as key-value rows of escaped HTML: the seed, the run time, the library
    versions and the rest of the provenance (model and output have rows of their own).

    >>> [k for k, _ in made_rows({"seed": 0, "numpy_version": "2", "model": "m", "background": 3}, {"runtime_s": 0.5})]
    ['seed', 'runtime', 'versions', 'background']
    """
    seed = provenance.get("seed", diagnostics.get("seed"))
    runtime = diagnostics.get("runtime_s")
    versions = [f"{key[: -len('_version')]} {value}" for key, value in provenance.items() if key.endswith("_version")]
    rows = [
        ("seed", esc(seed if seed is not None else "not recorded")),
        ("runtime", esc(f"{fmt(runtime)} s" if isinstance(runtime, (int, float)) else "not recorded")),
        ("versions", esc(", ".join(versions) or "not recorded")),
    ]
    rows += [(key, cell(value)) for key, value in provenance.items()
             if not key.endswith("_version") and key not in ("model", "output", "seed")]
    return rows
