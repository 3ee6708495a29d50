"""Compiled loops that turn coalitions back into model inputs: images and documents.

Images: every pixel of a perturbed image is either the image's or the fill's, chosen by whether
its segment is kept. The pixels are copied as raw bits (the arrays are viewed as unsigned integers
of the widest size that divides a pixel), so the result is bit-identical to a numpy
``np.copyto(out, image, where=keep)`` over the fill, whatever the dtype, and one compiled loop
serves every dtype.

Documents: a document is ``head, token_0, sep_0, ..., token_{m-1}, sep_{m-1}`` (UTF-8 bytes); a
row takes ``token_j sep_j`` or ``hidden sep_j`` for each occurrence, both precomputed pieces of
one source buffer, copied 16 bytes at a time into one buffer of all rows.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["unit_dtype", "gather_pixels", "write_text_rows"]


def unit_dtype(n_bytes: int) -> np.dtype:
    """The widest unsigned integer dtype (8, 4, 2 or 1 bytes) whose size divides ``n_bytes``.

    >>> unit_dtype(12), unit_dtype(3), unit_dtype(8)
    (dtype('uint32'), dtype('uint8'), dtype('uint64'))
    """
    for size, dtype in ((8, np.uint64), (4, np.uint32), (2, np.uint16)):
        if n_bytes % size == 0:
            return np.dtype(dtype)
    return np.dtype(np.uint8)


@njit(cache=True, nogil=True)
def gather_pixels(kept: np.ndarray, segments: np.ndarray, src: np.ndarray, out: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """``out[i, a, p, k] = src[kept[i, segments[p]], a, p, k]``.

    ``kept`` (n, d) uint8 0/1 (1 = segment kept), ``segments`` (P,) labels in ``0 .. d-1``,
    ``src`` (2, A, P, K): the fill (0) and the image (1) as ``A`` planes of ``P`` pixels of ``K``
    units, ``out`` (n, A, P, K) of the same dtype.
    """
    n = kept.shape[0]
    planes = src.shape[1]
    n_pixels = src.shape[2]
    units = src.shape[3]
    for i in range(n):
        row = kept[i]
        for a in range(planes):
            if units == 1:  # one unit a pixel (gray, channels-first, 4 channels of 1 or 2 bytes, ...)
                for p in range(n_pixels):
                    out[i, a, p, 0] = src[row[segments[p]], a, p, 0]
            elif units == 3:  # three channels of 4 or 8 bytes, or of 1 byte
                for p in range(n_pixels):
                    s = row[segments[p]]
                    out[i, a, p, 0] = src[s, a, p, 0]
                    out[i, a, p, 1] = src[s, a, p, 1]
                    out[i, a, p, 2] = src[s, a, p, 2]
            else:
                for p in range(n_pixels):
                    s = row[segments[p]]
                    for k in range(units):
                        out[i, a, p, k] = src[s, a, p, k]
    return out


@intrinsic
def _copy16(typingctx, dst, dst_pos, src, src_pos):  # type: ignore[no-untyped-def]
    """Copy the 16 bytes ``src[src_pos : src_pos + 16]`` to ``dst[dst_pos : dst_pos + 16]`` (one
    unaligned vector move; no bounds check: both arrays must hold the 16 bytes)."""
    sig = types.void(dst, types.intp, src, types.intp)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        out = context.make_array(signature.args[0])(context, builder, args[0])
        source = context.make_array(signature.args[2])(context, builder, args[2])
        to = builder.gep(out.data, [args[1]])
        frm = builder.gep(source.data, [args[3]])
        cgutils.raw_memcpy(builder, to, frm, context.get_constant(types.intp, 16), 1, align=1)
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, nogil=True)
def write_text_rows(
    S: np.ndarray, occurrence_feature: np.ndarray, piece_start: np.ndarray, piece_length: np.ndarray, head: int, source: np.ndarray, stride: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """The UTF-8 bytes of every row: row ``i`` is ``buffer[i * stride : ends[i]]``; ``(buffer, ends)``.

    A row is ``source[:head]`` then, for each occurrence ``j``, piece ``2 j + 1`` where it is kept
    (``S[i, occurrence_feature[j]] > 0.5``) or piece ``2 j`` where it is hidden, piece ``q`` being
    ``source[piece_start[q] : piece_start[q] + piece_length[q]]``. ``stride`` is at least the
    longest row, and ``source`` ends with 16 spare bytes: pieces are copied 16 bytes at a time,
    the bytes written past a piece's end being overwritten by the next one.
    """
    n = S.shape[0]
    m = occurrence_feature.shape[0]
    d = S.shape[1]
    out = np.empty(n * stride + 16, dtype=np.uint8)
    ends = np.empty(n, dtype=np.int64)
    kept = np.empty(d, dtype=np.intp)
    for i in range(n):
        for f in range(d):
            kept[f] = 1 if S[i, f] > 0.5 else 0
        pos = i * stride
        for t in range(0, head, 16):
            _copy16(out, pos + t, source, t)
        pos += head
        for j in range(m):
            q = 2 * j + kept[occurrence_feature[j]]
            a = piece_start[q]
            length = piece_length[q]
            _copy16(out, pos, source, a)
            for t in range(16, length, 16):
                _copy16(out, pos + t, source, a + t)
            pos += length
        ends[i] = pos
    return out, ends
