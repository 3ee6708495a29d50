"""The one colour style of every xaikit display and of the HTML report.

Colours follow the Okabe-Ito palette, which stays distinct under the common forms of colour
blindness: a positive attribution is vermillion, a negative one blue, zero grey. Everything here is
plain numpy (no matplotlib), so the report and the notebook views use the same colours as the plots.

>>> from xaikit.plots import style
>>> style.POSITIVE, style.NEGATIVE, style.NEUTRAL
('#D55E00', '#0072B2', '#999999')
>>> style.sign_colours([1.0, -2.0, 0.0])
['#D55E00', '#0072B2', '#999999']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError

__all__ = [
    "POSITIVE",
    "NEGATIVE",
    "NEUTRAL",
    "sign_colours",
    "hex_to_rgb",
    "diverging_rgba",
    "overlay",
    "segment_outlines",
]

#: Colour of a positive value (Okabe-Ito vermillion).
POSITIVE = "#D55E00"
#: Colour of a negative value (Okabe-Ito blue).
NEGATIVE = "#0072B2"
#: Colour of a zero, missing or undecided value (grey).
NEUTRAL = "#999999"


def hex_to_rgb(colour: str) -> tuple[float, float, float]:
    """Convert ``"#RRGGBB"`` to three floats in [0, 1].

    >>> hex_to_rgb("#FF8000")
    (1.0, 0.5019607843137255, 0.0)
    """
    text = colour.lstrip("#") if isinstance(colour, str) else ""
    if len(text) != 6 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise InvalidParameterError(f"colour: expected a '#RRGGBB' string, got {colour!r}")
    return (int(text[0:2], 16) / 255.0, int(text[2:4], 16) / 255.0, int(text[4:6], 16) / 255.0)


def _as_float(values: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"{name}: expected an array of numbers, got {type(values).__name__}") from exc
    return arr


def sign_colours(values: Any) -> list[str]:
    """One hex colour per value: :data:`POSITIVE`, :data:`NEGATIVE`, or :data:`NEUTRAL` for 0 and NaN.

    Parameters
    ----------
    values : array-like of float
        Any shape; colours come back flattened in C order.

    Returns
    -------
    list of str

    >>> sign_colours([[0.5, -0.1], [float("nan"), 3]])
    ['#D55E00', '#0072B2', '#999999', '#D55E00']
    """
    arr = _as_float(values, "values").ravel()
    table = np.array([NEGATIVE, NEUTRAL, POSITIVE], dtype=object)
    sign = np.where(np.isnan(arr), 0, np.sign(np.nan_to_num(arr))).astype(np.int64)
    return [str(c) for c in table[sign + 1]]


def _vmax_of(arr: np.ndarray, vmax: float | None) -> float:
    if vmax is None:
        finite = np.abs(arr[np.isfinite(arr)])
        top = float(finite.max()) if finite.size else 0.0
        return top if top > 0 else 1.0
    if not isinstance(vmax, (int, float, np.floating, np.integer)) or not np.isfinite(vmax) or vmax <= 0:
        raise InvalidParameterError(f"vmax: expected a positive finite number or None, got {vmax!r}")
    return float(vmax)


def diverging_rgba(values: Any, vmax: float | None = None) -> np.ndarray:
    """RGBA colours of signed values: white at 0, toward :data:`POSITIVE` or :data:`NEGATIVE` with ``|v|``.

    The colour and its alpha both grow linearly with ``|v| / vmax`` (clipped at 1); NaN is transparent.

    Parameters
    ----------
    values : array-like of float
        Any shape ``(...)``.
    vmax : float, optional
        The magnitude that gets the full colour; by default the largest finite ``|v|``.

    Returns
    -------
    ndarray of float, shape ``(..., 4)``, in [0, 1]

    >>> rgba = diverging_rgba([-2.0, 0.0, 1.0])
    >>> rgba.shape, rgba[1].tolist(), float(rgba[0, 3]), float(rgba[2, 3])
    ((3, 4), [1.0, 1.0, 1.0, 0.0], 1.0, 0.5)
    >>> bool(rgba[2, 0] > rgba[2, 2])  # positive leans red
    True
    """
    arr = _as_float(values, "values")
    top = _vmax_of(arr, vmax)
    nan = np.isnan(arr)
    strength = np.clip(np.abs(np.nan_to_num(arr)) / top, 0.0, 1.0)
    pos = np.array(hex_to_rgb(POSITIVE))
    neg = np.array(hex_to_rgb(NEGATIVE))
    target = np.where((np.nan_to_num(arr) >= 0)[..., None], pos, neg)
    rgb = 1.0 + strength[..., None] * (target - 1.0)
    out = np.concatenate([rgb, strength[..., None]], axis=-1)
    out[nan] = (1.0, 1.0, 1.0, 0.0)
    return out


def _image_as_float(image: Any) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise InvalidParameterError(f"image: expected shape (h, w), (h, w, 1), (h, w, 3) or (h, w, 4), got {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise InvalidParameterError(f"image: expected numbers (uint8 or float in [0, 1]), got dtype {arr.dtype}")
    if arr.dtype == np.uint8:
        out = arr.astype(np.float64) / 255.0
    else:
        out = arr.astype(np.float64)
        finite = out[np.isfinite(out)]
        if finite.size and (finite.min() < 0 or finite.max() > 1):
            if arr.dtype.kind in "iu" and finite.min() >= 0 and finite.max() <= 255:
                out = out / 255.0
            else:
                raise InvalidParameterError(
                    f"image: expected uint8 or floats in [0, 1], got {arr.dtype} values in [{finite.min():.3g}, {finite.max():.3g}]"
                )
        out = np.nan_to_num(out)
    if out.ndim == 2:
        out = np.repeat(out[..., None], 3, axis=-1)
    return out[..., :3]


def overlay(image: Any, heat: Any, alpha: float = 0.5, vmax: float | None = None) -> np.ndarray:
    """Blend a signed heat map over an image.

    Parameters
    ----------
    image : array-like, shape ``(h, w)``, ``(h, w, 1)``, ``(h, w, 3)`` or ``(h, w, 4)``
        uint8, or floats in [0, 1]; grey images are repeated over three channels, alpha dropped.
    heat : array-like of float, shape ``(h, w)``
        Signed values per pixel, coloured by :func:`diverging_rgba`.
    alpha : float in [0, 1]
        Opacity of the heat map where it is strongest; weaker pixels are more transparent.
    vmax : float, optional
        Magnitude of the full colour (default: the largest ``|heat|``).

    Returns
    -------
    ndarray of uint8, shape ``(h, w, 3)``

    >>> import numpy as np
    >>> img = np.full((2, 2), 0.5)
    >>> out = overlay(img, np.array([[1.0, 0.0], [0.0, -1.0]]), alpha=1.0)
    >>> out.dtype, out.shape, out[0, 1].tolist(), out[0, 0].tolist()
    (dtype('uint8'), (2, 2, 3), [128, 128, 128], [213, 94, 0])
    """
    base = _image_as_float(image)
    h = _as_float(heat, "heat")
    if h.shape != base.shape[:2]:
        raise InvalidParameterError(f"heat: expected shape {base.shape[:2]} (the image's height and width), got {h.shape}")
    if not isinstance(alpha, (int, float, np.floating, np.integer)) or not 0.0 <= float(alpha) <= 1.0:
        raise InvalidParameterError(f"alpha: expected a number in [0, 1], got {alpha!r}")
    rgba = diverging_rgba(h, vmax)
    a = float(alpha) * rgba[..., 3:4]
    blended = (1.0 - a) * base + a * rgba[..., :3]
    return np.clip(np.rint(blended * 255.0), 0, 255).astype(np.uint8)


def segment_outlines(segments: Any) -> np.ndarray:
    """Pixels on a boundary between two segments.

    A pixel is on a boundary when its right or lower neighbour belongs to another segment, or when
    its left or upper one does (so a boundary is two pixels thick, one on each side).

    Parameters
    ----------
    segments : array-like of int, shape ``(h, w)``
        A segment label per pixel.

    Returns
    -------
    ndarray of bool, shape ``(h, w)``

    >>> import numpy as np
    >>> segment_outlines(np.array([[0, 0, 1], [0, 0, 1]])).astype(int).tolist()
    [[0, 1, 1], [0, 1, 1]]
    """
    seg = np.asarray(segments)
    if seg.ndim != 2 or seg.dtype.kind not in "biu":
        raise InvalidParameterError(f"segments: expected integer labels of shape (h, w), got dtype {seg.dtype} and shape {seg.shape}")
    out = np.zeros(seg.shape, dtype=bool)
    dx = seg[:, 1:] != seg[:, :-1]
    dy = seg[1:, :] != seg[:-1, :]
    out[:, 1:] |= dx
    out[:, :-1] |= dx
    out[1:, :] |= dy
    out[:-1, :] |= dy
    return out
