import numpy as np
import pytest

from xaikit.errors import InvalidParameterError
from xaikit.plots import style


def test_sign_colours_by_sign():
    assert style.sign_colours([2.0, -1.0, 0.0, np.nan]) == [style.POSITIVE, style.NEGATIVE, style.NEUTRAL, style.NEUTRAL]


def test_diverging_rgba_white_at_zero_and_alpha_grows():
    rgba = style.diverging_rgba(np.array([[-4.0, -1.0, 0.0, 1.0, 4.0]]), vmax=4.0)
    assert rgba.shape == (1, 5, 4)
    assert np.all((rgba >= 0) & (rgba <= 1))
    np.testing.assert_allclose(rgba[0, 2], [1, 1, 1, 0])
    np.testing.assert_allclose(rgba[0, :, 3], [1, 0.25, 0, 0.25, 1])
    np.testing.assert_allclose(rgba[0, 4, :3], style.hex_to_rgb(style.POSITIVE))
    np.testing.assert_allclose(rgba[0, 0, :3], style.hex_to_rgb(style.NEGATIVE))
    with pytest.raises(InvalidParameterError, match="vmax"):
        style.diverging_rgba([1.0], vmax=0)


def test_overlay_uint8_and_float_images_agree():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(5, 6, 3), dtype=np.uint8)
    heat = rng.normal(size=(5, 6))
    a = style.overlay(img, heat, alpha=0.6)
    b = style.overlay(img / 255.0, heat, alpha=0.6)
    assert a.dtype == np.uint8 and a.shape == (5, 6, 3)
    np.testing.assert_array_equal(a, b)
    zero = style.overlay(img, np.zeros((5, 6)))
    np.testing.assert_array_equal(zero, img)
    with pytest.raises(InvalidParameterError, match="heat"):
        style.overlay(img, np.zeros((4, 6)))
    with pytest.raises(InvalidParameterError, match="image"):
        style.overlay(img * 3.0, heat)


def test_segment_outlines_marks_boundaries_only():
    seg = np.zeros((6, 6), dtype=int)
    seg[:, 3:] = 1
    out = style.segment_outlines(seg)
    assert out[:, 2].all() and out[:, 3].all()
    assert not out[:, [0, 1, 4, 5]].any()
    assert not style.segment_outlines(np.zeros((3, 3), dtype=int)).any()
    with pytest.raises(InvalidParameterError, match="segments"):
        style.segment_outlines(np.zeros((3, 3)))
