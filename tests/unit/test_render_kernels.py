"""The compiled rendering of perturbed images and documents equals the plain numpy / Python one."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from xaikit.maskers import _render
from xaikit.maskers.image import ImageItem, ImageMasker, _render_numpy
from xaikit.maskers.text import TextItem, TextMasker
from xaikit.testing import assert_raises_naming as raises_naming


# ---------------------------------------------------------------- references
def reference_image(item: ImageItem, S: np.ndarray) -> np.ndarray:
    """Pixels of kept segments from the image, the others from the fill (numpy's copyto)."""
    S = np.atleast_2d(np.asarray(S))
    keep = (S != 0)[:, item.segments]
    if item.image.ndim == 3:
        keep = keep[:, None] if item.channels_first else keep[..., None]
    out = np.empty((len(S), *item.image.shape), dtype=np.result_type(item.image, item.fill))
    out[...] = item.fill
    np.copyto(out, item.image, where=keep)
    return out


def reference_text(masker: TextMasker, item: TextItem, S: np.ndarray) -> list[str]:
    """Join the document's pieces, each token kept or hidden (removed, or replaced by the mask)."""
    pieces = item._pieces
    rows = []
    for s in np.atleast_2d(np.asarray(S, dtype=np.float64)):
        parts = [pieces[0]]
        for j, f in enumerate(item._occurrence_feature):
            if s[f] > 0.5:
                parts.append(pieces[2 * j + 1])
            elif masker.mode == "mask":
                parts.append(masker.mask_token)
            parts.append(pieces[2 * j + 2])
        rows.append("".join(parts))
    return rows


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# ---------------------------------------------------------------- images
LAYOUTS = {"gray": (9, 7), "channels_last": (9, 7, 3), "channels_last_4": (9, 7, 4), "channels_first": (3, 9, 7)}
DTYPES = [np.uint8, np.float32, np.float64, np.int16, np.bool_]


def make_images(layout: str, dtype: type, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = LAYOUTS[layout]
    if np.dtype(dtype).kind == "b":
        return rng.random((2, *shape)) < 0.5
    if np.dtype(dtype).kind in "ui":
        return rng.integers(0, 200, size=(2, *shape)).astype(dtype)
    values = rng.normal(size=(2, *shape)).astype(dtype)
    values[0, 0, 0] = -0.0  # signed zeros copied bit for bit
    return values


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("fill", ["constant", "mean", "blur"])
def test_image_render_equals_copyto(layout, dtype, fill):
    if fill == "blur" and np.dtype(dtype).kind == "b":
        fill = "mean"
    rng = np.random.default_rng(zlib.crc32(f"{layout} {np.dtype(dtype).name} {fill}".encode()))
    d = 6
    segments = rng.integers(0, d, size=(9, 7))
    segments[0, :d] = np.arange(d)  # every label present
    masker = ImageMasker(segments, fill=fill, fill_value=1.0, channels_last=layout != "channels_first")
    images = make_images(layout, dtype, int(rng.integers(1 << 30)))
    for item in masker.prepare(list(images)):
        assert item.channels_first == (layout == "channels_first")
        S = rng.integers(0, 2, size=(13, d)).astype(np.float64)
        S[0] = 1
        S[1] = 0
        out = masker.render(item, S)
        assert same_bits(out, reference_image(item, S))
        assert same_bits(out[0], item.image) and same_bits(out[1], item.fill)


def test_image_render_mixed_dtypes_and_odd_rows():
    """An item whose fill has another dtype renders in the result dtype; S may be int, bool or 1-D."""
    rng = np.random.default_rng(3)
    segments = rng.integers(0, 4, size=(5, 6))
    segments[0, :4] = np.arange(4)
    image = rng.integers(0, 255, size=(5, 6, 3)).astype(np.uint8)
    masker = ImageMasker(segments, fill="constant")
    for fill in (np.full(image.shape, 0.5, dtype=np.float32), np.full(image.shape, 7, dtype=np.int64)):
        item = ImageItem(image, segments, fill, tuple(f"segment {j}" for j in range(4)))
        for S in (rng.integers(0, 3, size=(7, 4)), rng.random((7, 4)) < 0.5, np.array([1.0, 0.0, 2.0, 0.0]), np.zeros((0, 4))):
            out = masker.render(item, S)
            assert out.dtype == np.result_type(image, fill)
            assert same_bits(out, reference_image(item, S))
    nan_image = rng.normal(size=(5, 6, 3))
    nan_image[0, 0] = np.nan
    nan_image[1, 1] = -0.0
    item = ImageItem(nan_image, segments, np.full(nan_image.shape, -np.inf), tuple(f"segment {j}" for j in range(4)))
    S = rng.integers(0, 2, size=(9, 4))
    assert same_bits(masker.render(item, S), reference_image(item, S))


def test_image_render_object_dtype_takes_the_numpy_path():
    segments = np.array([[0, 1], [1, 2]])
    image = np.array([[1, "a"], [None, 2.5]], dtype=object)
    item = ImageItem(image, segments, np.full((2, 2), "x", dtype=object), ("s0", "s1", "s2"))
    S = np.array([[1, 0, 1], [0, 1, 0]])
    out = ImageMasker(segments).render(item, S)
    expected = reference_image(item, S)
    assert out.dtype == object and out.tolist() == expected.tolist()
    # the numpy fallback agrees with the compiled loop on a dtype both handle
    numeric = ImageItem(np.arange(4.0).reshape(2, 2), segments, -np.ones((2, 2)), ("s0", "s1", "s2"))
    assert same_bits(_render_numpy(numeric, S, np.dtype(np.float64)), ImageMasker(segments).render(numeric, S))


def test_image_render_rejects_labels_outside_the_features():
    segments = np.array([[0, 1], [1, 5]])
    item = ImageItem(np.zeros((2, 2)), segments, np.zeros((2, 2)), ("s0", "s1"))
    with raises_naming("item"):
        ImageMasker(np.zeros((2, 2), dtype=int)).render(item, np.ones((1, 2)))
    bad_shape = ImageItem(np.zeros((3, 2)), np.zeros((2, 2), dtype=np.int64), np.zeros((3, 2)), ("s0",))
    with raises_naming("item"):
        ImageMasker(np.zeros((2, 2), dtype=int)).render(bad_shape, np.ones((1, 1)))


def test_gather_pixels_kernel_directly():
    rng = np.random.default_rng(5)
    kept = (rng.random((4, 3)) < 0.5).astype(np.uint8)
    segments = rng.integers(0, 3, size=10).astype(np.intp)
    src = rng.integers(0, 2**32, size=(2, 2, 10, 3), dtype=np.uint32)
    out = _render.gather_pixels(kept, segments, src, np.empty((4, 2, 10, 3), dtype=np.uint32))
    expected = np.where(kept[:, segments].astype(bool)[:, None, :, None], src[1], src[0])
    assert np.array_equal(out, expected)
    assert [_render.unit_dtype(b).itemsize for b in (1, 2, 3, 4, 6, 8, 12, 24)] == [1, 2, 1, 4, 2, 8, 4, 8]


# ---------------------------------------------------------------- documents
DOCUMENTS = [
    "the cat saw the dog",
    "  Nice, warm day.  Nice!",
    "héllo wörld, ça va? 日本語 テキスト 日本語 — ok",
    "emoji 😀 and 😀 again 🎉",
    "lone \ud83d surrogate \udc00 here",
    "",
    "... !!! ---",
    "word",
    "a" * 40 + " " + "b" * 17 + ", " + "a" * 40,
]


@pytest.mark.parametrize("mode, mask_token", [("remove", "UNKWORDZ"), ("mask", "UNKWORDZ"), ("mask", "█▒ ünï"), ("mask", "")])
@pytest.mark.parametrize("features", ["bag_of_words", "positional"])
def test_text_render_equals_joining_pieces(mode, features, mask_token):
    masker = TextMasker(mode=mode, features=features, mask_token=mask_token)
    rng = np.random.default_rng(len(mode) * 7 + len(features) + len(mask_token))
    for item in masker.prepare(DOCUMENTS):
        d = item.n_features
        S = rng.integers(0, 2, size=(17, d)).astype(np.float64)
        if d:
            S[0] = 1
            S[1] = 0
            S[2] = rng.random(d)  # values between 0 and 1: kept above 1/2
        rendered = masker.render(item, S)
        assert rendered == reference_text(masker, item, S)
        if d:
            assert rendered[0] == item.text
        assert masker.render(item, S[:0]) == []


def test_text_render_long_documents_and_one_row():
    rng = np.random.default_rng(11)
    vocabulary = ["".join(rng.choice(list("abcdéfghijklmnop€"), size=int(rng.integers(1, 30)))) for _ in range(80)]
    text = " ".join(rng.choice(vocabulary, size=400)) + " \t\n."
    for masker in (TextMasker(), TextMasker(mode="mask", mask_token="<" * 21)):
        item = masker.prepare(text)[0]
        S = rng.integers(0, 2, size=(50, item.n_features))
        assert masker.render(item, S) == reference_text(masker, item, S)
        assert masker.render(item, S[3]) == reference_text(masker, item, S[3])


def test_text_render_rejects_inconsistent_items():
    masker = TextMasker()
    item = masker.prepare("one two one")[0]
    bad = TextItem(item.text, item.feature_names, item.tokens, item.spans, _pieces=item._pieces, _occurrence_feature=(0, 1, 2))
    with raises_naming("item"):
        masker.render(bad, np.ones((1, 2)))
    short = TextItem(item.text, item.feature_names, item.tokens, item.spans, _pieces=item._pieces[:3], _occurrence_feature=(0, 1, 0))
    with raises_naming("item"):
        masker.render(short, np.ones((1, 2)))


def test_write_text_rows_kernel_directly():
    source = np.frombuffer(b"ab-cd-" + bytes(16), dtype=np.uint8)
    # occurrence 0: hidden "-" (0 at 2) or kept "ab-"; occurrence 1: hidden "-" or kept "cd-"
    piece_start = np.array([2, 0, 5, 3])
    piece_length = np.array([1, 3, 1, 3])
    S = np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    buffer, ends = _render.write_text_rows(S, np.array([0, 1], dtype=np.intp), piece_start, piece_length, 0, source, 6)
    rows = [bytes(buffer[i * 6 : e]) for i, e in enumerate(ends.tolist())]
    assert rows == [b"ab-cd-", b"-cd-", b"ab--", b"--"]
