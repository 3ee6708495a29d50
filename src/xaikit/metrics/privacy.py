"""Privacy of explanations: whether a result, a saved ``.xai`` file or an HTML report carries raw rows.

An explanation can carry the data it was computed on: an :class:`~xaikit.results.Attribution`'s
``data`` (the explained rows), a counterfactual set's rows, the texts of explained documents; an HTML
report made with ``include_data=True`` holds the explained rows, the images and the background rows.
:func:`raw_rows` says what exactly, so that a file is not shared by mistake.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError

__all__ = ["RawRows", "raw_rows"]

#: The largest HTML file read (bytes); a report is far smaller.
_MAX_HTML_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class RawRows:
    """What raw rows an explanation or a report carries.

    Attributes
    ----------
    carries : bool
        Whether any raw row of data is in it.
    n_rows : int
        The largest number of raw rows found in one place (0 when none).
    findings : tuple of str
        One line per place, e.g. ``"120 rows of X in .data"``.
    """

    carries: bool
    n_rows: int
    findings: tuple[str, ...]

    def __str__(self) -> str:
        return "; ".join(self.findings) if self.carries else "no raw rows"


def raw_rows(result_or_path: Any) -> RawRows:
    """Whether a result, a saved result (``.xai``) or an HTML report carries raw rows of data, and which.

    Parameters
    ----------
    result_or_path : Result, str or path
        A result in memory, the path of a saved result, or the path of an HTML report
        (``.html``/``.htm``) made by :class:`xaikit.Report`.

    Returns
    -------
    RawRows

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> exp = xk.Attribution(values=np.zeros((3, 2, 1)), base_values=np.zeros((3, 1)), data=np.ones((3, 2)), method="demo")
    >>> raw_rows(exp)
    RawRows(carries=True, n_rows=3, findings=('3 rows of X (2 features) in .data',))
    >>> raw_rows(xk.Attribution(values=np.zeros((3, 2, 1)), base_values=np.zeros((3, 1)), method="demo")).carries
    False
    """
    from xaikit.results.base import Result

    if isinstance(result_or_path, Result):
        return _of_result(result_or_path)
    if not isinstance(result_or_path, (str, os.PathLike)):
        raise InvalidParameterError(f"result_or_path: expected a result or the path of a .xai file or an HTML report, got {describe(result_or_path)}")
    path = Path(result_or_path)
    if not path.is_file():
        raise InvalidParameterError(f"result_or_path: expected an existing file, got {str(path)!r} (not found)")
    if path.suffix.lower() in (".html", ".htm"):
        size = path.stat().st_size
        if size > _MAX_HTML_BYTES:
            raise InvalidParameterError(f"result_or_path: expected an HTML report under {_MAX_HTML_BYTES} bytes, got {size} bytes")
        return _of_html(path.read_text(encoding="utf-8", errors="replace"))
    return _of_result(Result.load(path))


def _of_result(result: Any) -> RawRows:
    findings: list[tuple[int, str]] = []
    store = result._store
    for f in type(result)._array_fields:
        arr = store.get(f.name)
        if arr is None:
            continue
        if f.name == "data":
            n = int(arr.shape[0])
            extra = f" ({arr.shape[1]} features)" if arr.ndim == 2 else f" (each {arr.shape[1:]})"
            findings.append((n, f"{n} rows of X{extra} in .data"))
        elif result.kind == "counterfactual-set" and f.name == "values":
            n = int(arr.shape[0] * arr.shape[1])
            findings.append((n, f"{n} synthetic rows near the data (counterfactuals) in .values"))
    texts = store.get("texts")
    if texts is not None:
        findings.append((len(texts), f"{len(texts)} documents' texts in .texts"))
    for where, mapping in (("params", result.params), ("provenance", result.provenance)):
        for key, value in mapping.items():
            n = _row_count(value)
            if n:
                findings.append((n, f"{n} rows in .{where}[{key!r}]"))
    return _assemble(findings)


def _row_count(value: Any) -> int:
    """The number of rows of a nested list of numbers or strings (a table), else 0."""
    if isinstance(value, (list, tuple)) and len(value) >= 1 and all(isinstance(v, (list, tuple)) and len(v) >= 1 for v in value):
        widths = {len(v) for v in value}
        if len(widths) == 1 and all(isinstance(x, (int, float, str)) for v in value for x in v):
            return len(value)
    return 0


def _assemble(findings: list[tuple[int, str]]) -> RawRows:
    return RawRows(carries=bool(findings), n_rows=max((n for n, _ in findings), default=0), findings=tuple(t for _, t in findings))


_BACKGROUND = re.compile(r'<table class="xk-background">.*?<tbody>(.*?)</tbody>', re.S)
_PAYLOAD = re.compile(r'<script type="application/json" id="xk-data-(\d+)">(.*?)</script>', re.S)


def _of_html(text: str) -> RawRows:
    findings: list[tuple[int, str]] = []
    for k, match in enumerate(_BACKGROUND.finditer(text)):
        n = match.group(1).count("<tr")
        findings.append((n, f"{n} background rows listed (table {k + 1})"))
    for match in _PAYLOAD.finditer(text):
        try:
            payload = json.loads(match.group(2).replace("<\\/", "</"))
        except ValueError:
            continue
        if not isinstance(payload, dict):
            continue
        data = payload.get("data")
        if data:
            rows = payload.get("rows")
            n = len(rows) if isinstance(rows, list) else 0
            findings.append((n, f"{n} rows of X in result {int(match.group(1)) + 1}"))
        texts = payload.get("texts")
        if texts:
            findings.append((len(texts), f"{len(texts)} documents' texts in result {int(match.group(1)) + 1}"))
    images = text.count('class="xk-image"')
    if images:
        findings.append((images, f"{images} input images"))
    return _assemble(findings)


