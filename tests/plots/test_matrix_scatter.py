import matplotlib.pyplot as plt
import numpy as np
import pytest
from plot_helpers import assert_unchanged, png_variance, snapshot

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.plots import DecisionDisplay, HeatmapDisplay, InteractionDisplay, ScatterDisplay


def test_scatter_points_and_auto_colour(exact):
    before = snapshot(exact)
    disp = ScatterDisplay.from_explanation(exact, feature="x0")
    np.testing.assert_array_equal(disp.collection_.get_offsets()[:, 0], exact.data[:, 0])
    np.testing.assert_array_equal(disp.collection_.get_offsets()[:, 1], exact.values[:, 0, 0])
    # x0's attribution depends on x2 (the product term), so x2 colours it
    assert disp.colour_feature == "x2" and disp.colorbar_ is not None
    assert disp.errorbars_ is None
    assert png_variance(disp.figure_) > 1e-4
    assert_unchanged(before, exact)


def test_scatter_interaction_colour_and_errors(interaction, sampled):
    disp = ScatterDisplay.from_explanation(interaction, feature="a")
    assert disp.colour_feature == "c"  # the largest mean |interaction| with a
    assert ScatterDisplay.from_explanation(interaction, feature="a", colour_by=None).colorbar_ is None
    assert ScatterDisplay.from_explanation(interaction, feature=0, colour_by="b").colour_feature == "b"
    with_data = xk.Attribution(values=sampled.values, base_values=sampled.base_values, data=np.ones((8, 12)),
                               diagnostics={"std_err": sampled.diagnostics["std_err"]}, method="kernel_shap")
    fig, ax = plt.subplots()
    disp = ScatterDisplay.from_explanation(with_data, feature=3, colour_by=None, ax=ax)
    assert disp.ax_ is ax and disp.errorbars_ is not None


def test_scatter_bad_parameters(exact, known):
    with pytest.raises(InvalidParameterError, match="feature: expected a feature name among 'x0'"):
        ScatterDisplay.from_explanation(exact, feature="age")
    with pytest.raises(InvalidParameterError, match=r"colour_by: expected a position in \[-4, 3\], got 7"):
        ScatterDisplay.from_explanation(exact, feature=0, colour_by=7)
    no_data = xk.Attribution(values=known.values, base_values=known.base_values, method="demo")
    with pytest.raises(InvalidParameterError, match="data=None"):
        ScatterDisplay.from_explanation(no_data, feature=0)


def test_heatmap_orders_and_values(known):
    before = snapshot(known)
    disp = HeatmapDisplay.from_explanation(known)
    assert disp.order_.tolist() == [0, 3, 2, 1]  # predictions 12.5, 8.5, 9.25, 12.25, largest first
    img = np.asarray(disp.image_.get_array())
    assert img.shape == (3, 4)  # features x rows
    np.testing.assert_array_equal(img[0], known.values[[0, 3, 2, 1], 0, 0])
    assert disp.uncertainty_ is None
    assert HeatmapDisplay.from_explanation(known, order="input").order_.tolist() == [0, 1, 2, 3]
    clustered = HeatmapDisplay.from_explanation(known, order="clustering").order_
    assert sorted(clustered.tolist()) == [0, 1, 2, 3]
    assert png_variance(disp.figure_) > 1e-4
    with pytest.raises(InvalidParameterError, match="order: expected one of"):
        HeatmapDisplay.from_explanation(known, order="random")
    assert_unchanged(before, known)


def test_heatmap_hatches_uncertain_cells(sampled):
    disp = HeatmapDisplay.from_explanation(sampled, max_display=20)
    assert disp.uncertain is not None and disp.uncertain.any()
    assert disp.uncertainty_ is not None
    assert HeatmapDisplay.from_explanation(sampled, show_uncertainty=False).uncertainty_ is None


def test_decision_paths(known, sampled):
    before = snapshot(known)
    disp = DecisionDisplay.from_explanation(known)
    # columns climb from the least important (city) to the most important (age)
    assert disp.feature_names == ["city", "income", "age"]
    np.testing.assert_allclose(disp.paths[:, 0], 10.0)
    np.testing.assert_allclose(disp.paths[:, -1], known.completeness()[:, 0])
    segs = disp.lines_.get_segments()
    assert len(segs) == 4 and segs[0].shape == (4, 2)
    assert disp.uncertainty_ is None
    assert png_variance(disp.figure_) > 1e-4
    assert_unchanged(before, known)
    with_se = DecisionDisplay.from_explanation(sampled, max_display=4)
    assert with_se.uncertainty_ is not None and with_se.feature_names[0] == "9 other features"
    with pytest.raises(InvalidParameterError, match="rows: expected 1 to max_rows=2"):
        DecisionDisplay.from_explanation(known, max_rows=2)
    fig, ax = plt.subplots()
    assert DecisionDisplay.from_explanation(known, rows=[0, 2], ax=ax).ax_ is ax


def test_interaction_matrix(interaction, known):
    before = snapshot(interaction)
    disp = InteractionDisplay.from_explanation(interaction)
    assert disp.feature_names == ["a", "c", "b"]
    np.testing.assert_allclose(disp.matrix, [[4 / 3, 0.5, 0.0], [0.5, 0.0, 0.0], [0.0, 0.0, 0.1]])
    np.testing.assert_allclose(np.asarray(disp.image_.get_array()), disp.matrix)
    assert len(disp.ax_.texts) == 9
    assert png_variance(disp.figure_) > 1e-4
    assert_unchanged(before, interaction)
    with pytest.raises(InvalidParameterError, match="exp: expected an Interaction for InteractionDisplay, got Attribution"):
        InteractionDisplay.from_explanation(known)
