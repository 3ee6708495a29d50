"""Small HTML pieces shared by every section of the report: escaped cells and key-value tables.

>>> cell({"a": "<b>"})
'{&quot;a&quot;: &quot;&lt;b&gt;&quot;}'
>>> kv_table([("seed", "0")])
'<table class="xk-kv"><tbody><tr><th>seed</th><td>0</td></tr></tbody></table>'
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from xaikit.report._encode import esc, fmt
from xaikit.report._svg import short

__all__ = ["MAX_CELL", "cell", "kv_table"]

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
