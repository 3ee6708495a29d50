import matplotlib.pyplot as plt
import numpy as np
import pytest
from plot_helpers import assert_unchanged, png_variance, snapshot

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.plots import BarDisplay, ForceDisplay, WaterfallDisplay, style


def _hex(rgba):
    import matplotlib.colors as mc

    return mc.to_hex(rgba).upper()


def test_bar_global_order_lengths_and_no_errorbars(known):
    before = snapshot(known)
    disp = BarDisplay.from_explanation(known)
    # mean |value|: age (3+2+1+2)/4=2, income (1+.5+2+.5)/4=1, city (.5+0+.25+.25)/4=.25
    assert disp.feature_names == ["age", "income", "city"]
    widths = [b.get_width() for b in disp.bars_]
    np.testing.assert_allclose(widths, [2.0, 1.0, 0.25])
    ys = [b.get_y() for b in disp.bars_]
    assert ys[0] > ys[1] > ys[2]  # largest at the top
    assert [t.get_text() for t in disp.ax_.get_yticklabels()] == ["age", "income", "city"]
    assert disp.errorbars_ is None
    assert png_variance(disp.figure_) > 1e-4
    assert_unchanged(before, known)


def test_bar_one_row_colours_by_sign_and_other_features(known):
    disp = BarDisplay.from_explanation(known, row=2, max_display=2)
    assert disp.feature_names == ["income", "2 other features"]
    np.testing.assert_allclose(disp.values, [-2.0, 1.25])
    assert [_hex(b.get_facecolor()) for b in disp.bars_] == [style.NEGATIVE, style.POSITIVE]


def test_bar_error_bars_from_std_err(sampled):
    before = snapshot(sampled)
    se = sampled.diagnostics["std_err"][:, :, 0]
    disp = BarDisplay.from_explanation(sampled, max_display=20)
    assert disp.errorbars_ is not None
    order = [sampled.feature_names.index(n) for n in disp.feature_names]
    np.testing.assert_allclose(disp.errors, se.mean(axis=0)[order])
    segs = disp.errorbars_.lines[2][0].get_segments()
    assert len(segs) == 12
    np.testing.assert_allclose([s[1, 0] - s[0, 0] for s in segs], 2 * disp.errors)
    assert BarDisplay.from_explanation(sampled, show_uncertainty=False).errorbars_ is None
    row = BarDisplay.from_explanation(sampled, row=3, max_display=20)
    order = [sampled.feature_names.index(n) for n in row.feature_names]
    np.testing.assert_allclose(row.errors, se[3, order])
    assert_unchanged(before, sampled)


def test_bar_draws_into_given_axes(known):
    fig, ax = plt.subplots()
    disp = BarDisplay.from_explanation(known, ax=ax)
    assert disp.ax_ is ax and disp.figure_ is fig and len(ax.patches) == 3


def test_bar_bad_parameters(known, two_outputs, interaction):
    with pytest.raises(InvalidParameterError, match=r"row: expected an int in \[-4, 3\].*got 4"):
        BarDisplay.from_explanation(known, row=4)
    with pytest.raises(InvalidParameterError, match="target: expected the output.*2 outputs, got None"):
        BarDisplay.from_explanation(two_outputs)
    with pytest.raises(InvalidParameterError, match="target: expected an output name among 'no', 'yes', got 'maybe'"):
        BarDisplay.from_explanation(two_outputs, target="maybe")
    with pytest.raises(InvalidParameterError, match="max_display"):
        BarDisplay.from_explanation(known, max_display=0)
    with pytest.raises(InvalidParameterError, match="exp: expected an Attribution.*got an array of shape"):
        BarDisplay.from_explanation(np.zeros((2, 2)))
    assert BarDisplay.from_explanation(two_outputs, target="yes").title.endswith("yes")
    # an Interaction is drawn through its per-feature sums
    assert BarDisplay.from_explanation(interaction).feature_names[0] == "a"


def test_waterfall_steps_sum_from_base_to_prediction(known):
    before = snapshot(known)
    disp = WaterfallDisplay.from_explanation(known, row=0)
    assert disp.labels == ["age = 1", "income = 2", "city = 3"]
    assert disp.base_value == 10.0 and disp.prediction == pytest.approx(12.5)
    bars = list(disp.bars_)
    assert [_hex(b.get_facecolor()) for b in bars] == [style.POSITIVE, style.NEGATIVE, style.POSITIVE]
    # the bottom step starts at the base value, the top one ends at the prediction
    assert bars[-1].get_x() == pytest.approx(10.0)
    assert bars[0].get_x() + bars[0].get_width() == pytest.approx(12.5)
    assert disp.errorbars_ is None
    assert png_variance(disp.figure_) > 1e-4
    assert_unchanged(before, known)


def test_waterfall_row_required_and_errorbars(known, sampled):
    with pytest.raises(InvalidParameterError, match="row: expected the row to draw"):
        WaterfallDisplay.from_explanation(known)
    assert WaterfallDisplay.from_explanation(known[1]).prediction == pytest.approx(8.5)
    disp = WaterfallDisplay.from_explanation(sampled, row=1, max_display=5)
    assert len(disp.bars_) == 5 and disp.labels[-1] == "8 other features"
    assert disp.errorbars_ is not None
    fig, ax = plt.subplots()
    assert WaterfallDisplay.from_explanation(sampled, row=0, ax=ax, show_uncertainty=False).errorbars_ is None


def test_force_segments_end_at_prediction(known):
    before = snapshot(known)
    disp = ForceDisplay.from_explanation(known)
    np.testing.assert_allclose(disp.predictions_, [12.5, 8.5, 9.25, 12.25])
    left, width, pred = disp.segments()
    for r in range(4):
        v = known.values[r, :, 0]
        pos, neg = v > 0, v < 0
        if pos.any():
            assert (left[r] + width[r])[pos].max() == pytest.approx(pred[r])
            assert left[r][pos].min() == pytest.approx(pred[r] - v[pos].sum())
        if neg.any():
            assert left[r][neg].min() == pytest.approx(pred[r])
    n_pos = int((known.values > 0).sum())
    assert len(disp.positive_) == n_pos and len(disp.negative_) == int((known.values < 0).sum())
    assert all(_hex(b.get_facecolor()) == style.POSITIVE for b in disp.positive_)
    assert png_variance(disp.figure_) > 1e-4
    assert_unchanged(before, known)


def test_force_rows_and_uncertainty(known, sampled):
    assert len(ForceDisplay.from_explanation(known, rows=[1]).predictions_) == 1
    with pytest.raises(InvalidParameterError, match="rows: expected 1 to max_rows=2"):
        ForceDisplay.from_explanation(known, max_rows=2)
    with pytest.raises(InvalidParameterError, match="rows: expected an int"):
        ForceDisplay.from_explanation(known, rows=[9])
    se = sampled.diagnostics["std_err"][:, :, 0]
    expect = (np.abs(sampled.values[:, :, 0]) < 2 * se) & (sampled.values[:, :, 0] != 0)
    disp = ForceDisplay.from_explanation(sampled)
    hatched = sum(len(cont) for cont in disp.uncertain_)
    assert hatched == int(expect.sum())
    assert ForceDisplay.from_explanation(sampled, show_uncertainty=False).uncertain_ == []


def test_exp_plot_shortcut(known):
    disp = known.plot()
    assert isinstance(disp, BarDisplay)
    assert isinstance(known.plot("waterfall", row=0), WaterfallDisplay)
    with pytest.raises(InvalidParameterError, match="kind: expected one of 'bar', 'beeswarm'.*got 'pie'"):
        known.plot("pie")
    with pytest.raises(InvalidParameterError, match="colour: not a parameter of BarDisplay"):
        known.plot("bar", colour="red")
    assert xk.plots.plot(known, "force").predictions_.shape == (4,)
