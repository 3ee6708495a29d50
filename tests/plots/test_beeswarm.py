import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from plot_helpers import assert_unchanged, png_variance, snapshot

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.plots import BeeswarmDisplay, beeswarm_offsets


def test_layout_no_overlap_within_bins_and_bounded():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(3000, 4)) * [1.0, 2.0, 0.1, 5.0]
    off = beeswarm_offsets(v, n_bins=50, width=0.4, max_spacing=0.05)
    assert off.shape == v.shape
    assert np.abs(off).max() <= 0.4 + 1e-12
    lo, hi = v.min(), v.max()
    bins = np.clip(((v - lo) / (hi - lo) * 50).astype(int), 0, 49)
    for f in range(4):
        for b in np.unique(bins[:, f]):
            o = np.sort(off[bins[:, f] == b, f])
            if len(o) > 1:
                gaps = np.diff(o)
                # all dots of a bin have distinct places, evenly spaced
                assert gaps.min() > 0
                np.testing.assert_allclose(gaps, gaps[0], rtol=1e-9)


def test_layout_deterministic_and_one_dimensional():
    rng = np.random.default_rng(1)
    v = rng.normal(size=(500, 2))
    np.testing.assert_array_equal(beeswarm_offsets(v), beeswarm_offsets(v.copy()))
    np.testing.assert_array_equal(beeswarm_offsets(v[:, 0]), beeswarm_offsets(v[:, :1])[:, 0])
    assert beeswarm_offsets([1.0, 1.0, 1.0], max_spacing=0.1).tolist() == [0.0, 0.1, -0.1]
    with pytest.raises(InvalidParameterError, match="values"):
        beeswarm_offsets(np.zeros((2, 2, 2)))


def test_layout_is_vectorised_over_a_million_dots():
    # a Python loop over dots would take tens of seconds here; the vectorised layout takes well under one
    v = np.random.default_rng(2).normal(size=(100_000, 10))
    off = beeswarm_offsets(v)
    assert off.shape == v.shape and np.isfinite(off).all()


def test_beeswarm_dots_positions_and_colours(known):
    before = snapshot(known)
    disp = BeeswarmDisplay.from_explanation(known)
    assert disp.mode_ == "dots" and disp.image_ is None
    assert disp.feature_names == ["age", "income", "city"]
    offsets = np.concatenate([line.get_xydata() for line in disp.dots_])
    assert len(offsets) == 12
    # x of the dots are the values
    np.testing.assert_allclose(np.sort(offsets[:, 0]), np.sort(known.values[:, :, 0].ravel()))
    # the NaN feature value (row 1, city) is grey, the others are coloured by level
    grey = [line for line in disp.dots_ if np.allclose(matplotlib.colors.to_rgba(line.get_color()), (0.6, 0.6, 0.6, 1.0), atol=0.01)]
    assert len(grey) == 1 and len(grey[0].get_xdata()) == 1
    assert grey[0].get_xdata()[0] == 0.0  # row 1's value of city
    # age's lowest feature value (1.0, row 0) gets the low colour, its highest (7.0, row 2) the high colour
    by_x = {float(x): line.get_color() for line in disp.dots_ for x in line.get_xdata()}
    assert np.allclose(matplotlib.colors.to_rgba(by_x[3.0]), matplotlib.colors.to_rgba(xk.plots.style.NEGATIVE), atol=0.01)
    assert np.allclose(matplotlib.colors.to_rgba(by_x[1.0]), matplotlib.colors.to_rgba(xk.plots.style.POSITIVE), atol=0.01)
    assert disp.colorbar_ is not None and disp.uncertainty_ is None
    assert png_variance(disp.figure_) > 1e-4
    assert_unchanged(before, known)


def test_beeswarm_uncertainty_band(sampled):
    before = snapshot(sampled)
    disp = BeeswarmDisplay.from_explanation(sampled, max_display=5)
    assert disp.feature_names[-1] == "8 other features"
    assert disp.uncertainty_ is not None and len(disp.uncertainty_) == 5
    se = sampled.diagnostics["std_err"][:, :, 0]
    first = sampled.feature_names.index(disp.feature_names[0])
    assert disp.uncertainty_[0].get_width() == pytest.approx(2 * se[:, first].mean())
    assert disp.uncertainty_[0].get_hatch() == "///"
    assert disp.colorbar_ is not None
    assert BeeswarmDisplay.from_explanation(sampled, show_uncertainty=False).uncertainty_ is None
    assert_unchanged(before, sampled)


def test_density_mode_switches_on_above_threshold():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2000, 3))
    exp = xk.Attribution(values=(X * [1.0, 2.0, 3.0])[:, :, None], base_values=np.zeros((2000, 1)), data=X, method="demo")
    below = BeeswarmDisplay.from_explanation(exp, density_threshold=2000)
    assert below.mode_ == "dots" and sum(len(line.get_xdata()) for line in below.dots_) == 6000
    above = BeeswarmDisplay.from_explanation(exp, density_threshold=1999)
    assert above.mode_ == "density" and above.dots_ == [] and above.image_ is not None
    img = above.image_.get_array()
    assert img.shape[0] == 3 * 24 and img.shape[-1] == 4
    # the widest feature (x2) spreads over more x bins than the narrowest (x0)
    filled = np.asarray(img[..., 3]) > 0
    assert filled[:24].any(axis=0).sum() > filled[48:].any(axis=0).sum()
    assert png_variance(above.figure_) > 1e-4


def test_beeswarm_without_data_is_grey_and_accepts_ax(known):
    exp = xk.Attribution(values=known.values, base_values=known.base_values, feature_names=known.feature_names, method="demo")
    fig, ax = plt.subplots()
    disp = BeeswarmDisplay.from_explanation(exp, ax=ax)
    assert disp.ax_ is ax and disp.colorbar_ is None
    assert len(disp.dots_) == 1 and np.allclose(matplotlib.colors.to_rgba(disp.dots_[0].get_color())[:3], 0.6, atol=0.01)


def test_beeswarm_bad_parameters(known, two_outputs, documents):
    with pytest.raises(InvalidParameterError, match="mode: expected one of 'auto', 'dots', 'density'"):
        BeeswarmDisplay.from_explanation(known, mode="violin")
    with pytest.raises(InvalidParameterError, match="target"):
        BeeswarmDisplay.from_explanation(two_outputs)
    with pytest.raises(InvalidParameterError, match="exp: expected an Attribution or Interaction for BeeswarmDisplay, got RaggedAttribution"):
        BeeswarmDisplay.from_explanation(documents)
