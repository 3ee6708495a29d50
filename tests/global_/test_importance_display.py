"""ImportanceDisplay: sorted bars of mean importance with confidence intervals as error bars."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import xaikit as xk  # noqa: E402
from xaikit.plots.importance import ImportanceDisplay  # noqa: E402
from xaikit.results.importance import Importance  # noqa: E402


@pytest.fixture
def imp():
    rng = np.random.default_rng(0)
    centres = np.array([0.1, 0.5, 0.0, 0.3])
    values = centres[:, None, None] + rng.normal(scale=0.02, size=(4, 2, 6))
    yield Importance(values=values, feature_names=list("abcd"), output_names=["r2", "mse"], method="demo")
    plt.close("all")


def test_bars_are_sorted_means_with_interval_error_bars(imp):
    disp = ImportanceDisplay.from_explanation(imp, target="mse", ci=0.9)
    order = np.argsort(-imp.mean()[:, 1], kind="stable")
    assert disp.feature_names == [imp.feature_names[i] for i in order] == ["b", "d", "a", "c"]
    widths = [bar.get_width() for bar in disp.bars_]
    np.testing.assert_allclose(widths, imp.mean()[order, 1])
    assert [t.get_text() for t in disp.ax_.get_yticklabels()] == ["b", "d", "a", "c"]
    assert disp.errorbars_ is not None
    segments = disp.errorbars_.lines[2][0].get_segments()  # one horizontal segment per bar: the interval
    lower, upper = imp.ci(0.9)
    np.testing.assert_allclose(sorted(s[0][0] for s in segments), sorted(lower[order, 1]), rtol=1e-9)
    np.testing.assert_allclose(sorted(s[1][0] for s in segments), sorted(upper[order, 1]), rtol=1e-9)
    assert "90% interval" in disp.ax_.get_xlabel() and disp.ax_.get_title() == "demo: mse"


def test_max_display_no_ci_and_a_given_axes(imp):
    fig, ax = plt.subplots()
    disp = ImportanceDisplay.from_explanation(imp, target=0, max_display=2, ci=None, ax=ax)
    assert disp.ax_ is ax and len(disp.bars_) == 2 and disp.errorbars_ is None
    assert "(2 features not shown)" in ax.get_title()
    assert imp.plot(target=0).errorbars_ is not None  # the result draws itself


def test_one_repeat_without_standard_errors_draws_no_error_bars():
    one = Importance(values=[[[0.2]], [[0.1]]], method="demo")
    assert ImportanceDisplay.from_explanation(one).errorbars_ is None
    plt.close("all")


@pytest.mark.parametrize(("kwargs", "name"), [(dict(target=None), "target"), (dict(ci=1.5), "ci"), (dict(max_display=0), "max_display")])
def test_bad_arguments_are_named(imp, kwargs, name):
    with pytest.raises(xk.InvalidParameterError, match=f"^{name}:"):
        ImportanceDisplay.from_explanation(imp, **kwargs)


def test_other_results_are_refused():
    exp = xk.Attribution(values=np.ones((2, 2, 1)), base_values=np.zeros((2, 1)), method="demo")
    with pytest.raises(xk.InvalidParameterError, match="^exp: expected an Importance"):
        ImportanceDisplay.from_explanation(exp)
