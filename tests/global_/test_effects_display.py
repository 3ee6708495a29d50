"""EffectsDisplay: the lines, ICE curves, band, bars, heat map and rug it draws."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import xaikit as xk  # noqa: E402
from xaikit.explainers.global_.partial_dependence import PartialDependence  # noqa: E402
from xaikit.plots import style  # noqa: E402
from xaikit.plots.effects import EffectsDisplay  # noqa: E402
from xaikit.results.effects import Effects  # noqa: E402


@pytest.fixture(scope="module")
def effects():
    import pandas as pd

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40), "c": rng.choice(["red", "green", "blue"], size=40)})

    def f(F):
        return np.c_[np.asarray(F["a"]) ** 2 + np.asarray(F["b"]) + 2.0 * (np.asarray(F["c"]) == "red"), np.asarray(F["b"])]

    return PartialDependence(f, features=["a", "c"], pairs=[("a", "b")], grid_resolution=8, kind="both").explain(X)


def test_lines_ice_bars_heatmap_and_rug(effects):
    disp = EffectsDisplay.from_explanation(effects, target=0, max_ice=7)
    try:
        assert len(disp.axes_) == 3 and disp.ax_ is disp.axes_[0]
        line = disp.lines_["a"]
        part = effects.term("a")
        np.testing.assert_allclose(line.get_xdata(), part["grid_values"][0])
        np.testing.assert_allclose(line.get_ydata(), part["average"][:, 0])
        assert line.get_color().upper() == style.POSITIVE
        assert len(disp.ice_["a"].get_segments()) == 7
        heights = [b.get_height() for b in disp.bars_["c"]]
        np.testing.assert_allclose(heights, effects.term("c")["average"][:, 0])
        assert [t.get_text() for t in disp.axes_[1].get_xticklabels()] == ["blue", "green", "red"]
        assert heights[2] - heights[0] == pytest.approx(2.0)
        mesh = disp.meshes_["a x b"]
        assert mesh.get_array().size == 8 * 8
        assert len(disp.rugs_["a"].get_segments()) == 9
        assert disp.axes_[2].get_xlabel() == "a" and disp.axes_[2].get_ylabel() == "b"
    finally:
        plt.close(disp.figure_)


def test_band_terms_axes_and_refusals(effects):
    grid = np.full((1, 3, 2), np.nan)
    grid[0, :, 0] = [0.0, 1.0, 2.0]
    avg = np.array([[[0.0], [1.0], [0.5]]])
    ale = Effects(grid=grid, average=avg, lower=avg - 0.2, upper=avg + 0.3, term_features=[["z"]], grid_shape=[[3]], method="ale")
    fig, ax = plt.subplots()
    try:
        disp = EffectsDisplay.from_explanation(ale, ax=ax)
        assert disp.ax_ is ax and not disp.ice_
        band = disp.bands_["z"].get_paths()[0].vertices
        assert band[:, 1].min() == pytest.approx(-0.2) and band[:, 1].max() == pytest.approx(1.3)
        assert "ALE" in ax.get_ylabel()
    finally:
        plt.close(fig)
    only = EffectsDisplay.from_explanation(effects, terms="a", target=1, ice=False)
    try:
        assert len(only.axes_) == 1 and not only.ice_
        np.testing.assert_allclose(only.lines_["a"].get_ydata(), effects.term("a")["average"][:, 1])
    finally:
        plt.close(only.figure_)
    with pytest.raises(xk.InvalidParameterError, match="^target: "):
        EffectsDisplay.from_explanation(effects)
    with pytest.raises(xk.InvalidParameterError, match="^terms: unknown term 'zz'"):
        EffectsDisplay.from_explanation(effects, terms=["zz"], target=0)
    with pytest.raises(xk.InvalidParameterError, match="^ax: expected 3 matplotlib Axes"):
        EffectsDisplay.from_explanation(effects, target=0, ax=plt.gca())
    with pytest.raises(xk.InvalidParameterError, match="^exp: expected an Effects"):
        EffectsDisplay.from_explanation(np.zeros(3))
    plt.close("all")
