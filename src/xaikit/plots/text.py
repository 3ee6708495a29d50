"""Documents with their tokens highlighted: HTML (:func:`text_html`) and terminal (:func:`text_ansi`)."""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.plots import _common as c
from xaikit.plots import style

__all__ = ["TextDisplay", "text_html", "text_ansi", "document_pieces"]


Piece = tuple[str, float | None, str | None]


def document_pieces(exp: Any, row: int | None = None, target: int | str | None = None, *, max_chars: int | None = None) -> list[Piece]:
    """The row's document cut into pieces: ``(text, value or None, feature name or None)``.

    Tokens are placed at their spans in the original document when the result has texts and
    spans (text between tokens is kept as is; an occurrence overlapping an earlier one is skipped);
    otherwise the tokens are joined with spaces. ``max_chars`` cuts the document (an ellipsis marks it).

    >>> import xaikit as xk
    >>> exp = xk.RaggedAttribution(values=[[[0.5], [-0.2]]], base_values=[[0.0]], row_feature_names=[["good", "film"]],
    ...                            spans=[[[[0, 4]], [[5, 9]]]], texts=["good film!"], method="demo")
    >>> document_pieces(exp, 0)
    [('good', 0.5, 'good'), (' ', None, None), ('film', -0.2, 'film'), ('!', None, None)]
    """
    c.check_result(exp, ("RaggedAttribution",), "a text view")
    if row is None:
        if exp.n_rows != 1:
            raise InvalidParameterError(f"row: expected the row to show (an int) since the result has {exp.n_rows} rows, got None")
        row = 0
    r = c.resolve_row(row, exp.n_rows)
    j = c.resolve_target(exp, target)
    names = exp.row_feature_names[r]
    values = np.asarray(exp.values[r, : len(names), j], dtype=np.float64)
    texts = exp.texts
    spans = exp.spans
    pieces: list[tuple[str, float | None, str | None]] = []
    if texts is None or spans is None:
        for k, (name, v) in enumerate(zip(names, values)):
            if k:
                pieces.append((" ", None, None))
            pieces.append((name, float(v), name))
        return _cut(pieces, max_chars)
    doc = texts[r]
    occurrences = sorted((int(s), int(e), k) for k, occ in enumerate(spans[r]) for s, e in occ)
    pos = 0
    for s, e, k in occurrences:
        if s < pos or e <= s or e > len(doc):
            continue
        if s > pos:
            pieces.append((doc[pos:s], None, None))
        pieces.append((doc[s:e], float(values[k]), names[k]))
        pos = e
    if pos < len(doc):
        pieces.append((doc[pos:], None, None))
    return _cut(pieces, max_chars)


def _cut(pieces: list[tuple[str, float | None, str | None]], max_chars: int | None) -> list[tuple[str, float | None, str | None]]:
    if max_chars is None:
        return pieces
    out: list[tuple[str, float | None, str | None]] = []
    used = 0
    for text, v, name in pieces:
        if used + len(text) > max_chars:
            out.append((text[: max(max_chars - used, 0)] + "\u2026", v, name))
            return out
        out.append((text, v, name))
        used += len(text)
    return out


def _vmax(pieces: list[tuple[str, float | None, str | None]]) -> float:
    vals = [abs(v) for _, v, _ in pieces if v is not None]
    top = max(vals) if vals else 0.0
    return top if top > 0 else 1.0


def _background(v: float, vmax: float) -> tuple[int, int, int, float]:
    r, g, b, a = style.diverging_rgba([v], vmax=vmax)[0]
    return int(round(r * 255)), int(round(g * 255)), int(round(b * 255)), float(a)


def text_html(exp: Any, row: int | None = None, target: int | str | None = None, *, max_chars: int | None = None) -> str:
    """The row's document as HTML, each token's background coloured by the sign and strength of its value.

    Every piece of text is HTML-escaped; each token carries a tooltip (``title``) with its name and value.

    Parameters
    ----------
    exp : RaggedAttribution of documents
    row : int, optional
        Required when the result has several rows.
    target : int or str, optional
        Required when the result has several outputs.
    max_chars : int, optional
        Show at most this many characters of the document.

    Examples
    --------
    >>> import xaikit as xk
    >>> exp = xk.RaggedAttribution(values=[[[1.0]]], base_values=[[0.0]], row_feature_names=[["<b>"]], method="demo")
    >>> text_html(exp)
    '<div class="xaikit-text"><span style="background-color:rgba(213,94,0,0.80)" title="&lt;b&gt;: +1">&lt;b&gt;</span></div>'
    """
    pieces = document_pieces(exp, row, target, max_chars=max_chars)
    vmax = _vmax(pieces)
    parts = []
    for text, v, name in pieces:
        escaped = html.escape(text)
        if v is None:
            parts.append(escaped)
            continue
        r, g, b, a = _background(v, vmax)
        tip = html.escape(f"{name}: {v:+.4g}")
        parts.append(f'<span style="background-color:rgba({r},{g},{b},{0.8 * a:.2f})" title="{tip}">{escaped}</span>')
    return '<div class="xaikit-text">' + "".join(parts) + "</div>"


def text_ansi(exp: Any, row: int | None = None, target: int | str | None = None, *, max_chars: int | None = None) -> str:
    """The row's document for a terminal: tokens on a 24-bit ANSI background coloured by their value.

    The background is the style's colour blended over white by the value's strength, with black
    text; control characters of the document are replaced by spaces so they cannot drive the terminal.

    >>> import xaikit as xk
    >>> exp = xk.RaggedAttribution(values=[[[-1.0]]], base_values=[[0.0]], row_feature_names=[["bad"]], method="demo")
    >>> text_ansi(exp)
    '\\x1b[48;2;0;114;178m\\x1b[38;2;0;0;0mbad\\x1b[0m'
    """
    pieces = document_pieces(exp, row, target, max_chars=max_chars)
    vmax = _vmax(pieces)
    parts = []
    for text, v, _ in pieces:
        clean = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
        if v is None:
            parts.append(clean)
            continue
        r, g, b, a = _background(v, vmax)
        # blend over white so weak values are pale
        rr, gg, bb = (int(round(255 + a * (x - 255))) for x in (r, g, b))
        parts.append(f"\x1b[48;2;{rr};{gg};{bb}m\x1b[38;2;0;0;0m{clean}\x1b[0m")
    return "".join(parts)


class TextDisplay:
    """A highlighted document, for a notebook (``_repr_html_``) or a terminal (``str(display)``).

    Attributes
    ----------
    html_ : str, from :func:`text_html`
    ansi_ : str, from :func:`text_ansi`

    Examples
    --------
    >>> import xaikit as xk
    >>> exp = xk.RaggedAttribution(values=[[[1.0]]], base_values=[[0.0]], row_feature_names=[["good"]], method="demo")
    >>> disp = xk.plots.TextDisplay.from_explanation(exp)
    >>> "good" in disp._repr_html_()
    True
    """

    def __init__(self, html_text: str, ansi_text: str) -> None:
        self.html_ = html_text
        self.ansi_ = ansi_text

    @classmethod
    def from_explanation(
        cls, exp: Any, *, row: int | None = None, target: int | str | None = None, max_chars: int | None = None
    ) -> TextDisplay:
        """Highlight one row of a RaggedAttribution of documents."""
        return cls(text_html(exp, row, target, max_chars=max_chars), text_ansi(exp, row, target, max_chars=max_chars))

    def _repr_html_(self) -> str:
        return self.html_

    def __str__(self) -> str:
        return self.ansi_
