"""Safe text for the report: HTML escaping, JSON that cannot leave its ``<script>``, rounded numbers, PNG data URIs.

>>> esc("<b>&")
'&lt;b&gt;&amp;'
>>> script_json({"name": "</script>"})
'{"name": "\\\\u003c/script\\\\u003e"}'
>>> number_list(np.array([1234567.0, 0.000123456, -2.0]))
'[1.235e+06,0.0001235,-2]'
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Raw", "atomic_write_bytes", "esc", "fmt", "number_list", "png_data_uri", "script_json"]

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def esc(text: Any) -> str:
    """``str(text)`` escaped for HTML text and attribute values (quotes included)."""
    return html.escape(str(text), quote=True)


def fmt(value: Any, digits: int = 4) -> str:
    """A number with ``digits`` significant digits (``"n/a"`` for NaN or None).

    >>> fmt(3.14159), fmt(float("nan")), fmt(12)
    ('3.142', 'n/a', '12')
    """
    if value is None:
        return "n/a"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(number):
        return "n/a"
    return f"{number:.{digits}g}"


class Raw:
    """A piece of JSON text inserted as it is by :func:`script_json` (e.g. a long rounded number list)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def number_list(values: np.ndarray, digits: int = 4) -> str:
    """A JSON list of the numbers of ``values`` (flattened in C order) with ``digits`` significant digits; NaN and infinities are null."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    if flat.size == 0:
        return "[]"
    text = np.char.mod(f"%.{digits}g", flat)
    bad = ~np.isfinite(flat)
    if bad.any():
        text = text.astype(object)
        text[bad] = "null"
    return "[" + ",".join(text.tolist()) + "]"


def script_json(payload: Any) -> str:
    """JSON of ``payload`` to embed in ``<script type="application/json">``: ``<``, ``>`` and ``&`` are
    written ``\\u003c``, ``\\u003e``, ``\\u0026``, so no text inside can close the element. :class:`Raw`
    parts (already JSON, numbers only) are inserted as they are."""
    raws: list[str] = []

    def default(obj: Any) -> Any:
        if isinstance(obj, Raw):
            raws.append(obj.text)
            return f"\x00raw{len(raws) - 1}\x00"
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        return str(obj)

    text = json.dumps(payload, ensure_ascii=False, default=default, allow_nan=False)
    for char, escaped in _JSON_ESCAPES.items():
        text = text.replace(char, escaped)
    for i, raw in enumerate(raws):
        text = text.replace(f'"\\u0000raw{i}\\u0000"', raw, 1)
    return text


def png_data_uri(rgb: np.ndarray) -> str:
    """A ``data:image/png;base64,...`` URI of a uint8 ``(h, w, 3)`` image (matplotlib encodes the PNG)."""
    from matplotlib import image as mpimg

    buffer = io.BytesIO()
    mpimg.imsave(buffer, np.ascontiguousarray(rgb), format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path``, then move it over ``path`` in one step."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
