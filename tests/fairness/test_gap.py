"""attribute_gap: the Shapley values of a gap between two groups' mean outputs, and GapDisplay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import CompletenessError, InvalidParameterError
from xaikit.fairness.gap import attribute_gap
from xaikit.results import Attribution


@pytest.fixture(scope="module")
def linear() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    n, d = 60, 4
    groups = np.array(["A", "B", "C"], dtype=object)[rng.integers(0, 3, n)]
    X = rng.normal(size=(n, d)) + np.where(groups == "A", 1.0, 0.0)[:, None] * np.array([1.0, 0.5, 0.0, -1.0])
    W = np.array([[2.0, 0.5], [-1.0, 1.0], [0.5, -2.0], [3.0, 0.0]])
    bg = rng.normal(size=(5, d))
    exp = xk.ExactShapley(lambda Z: Z @ W + 1.0, background=bg).explain(X)
    return {"X": X, "W": W, "groups": groups, "exp": exp, "f": X @ W + 1.0}


@pytest.fixture(scope="module")
def boosted() -> dict[str, Any]:
    from sklearn.ensemble import GradientBoostingClassifier

    rng = np.random.default_rng(1)
    n = 200
    sex = rng.integers(0, 2, n)
    X = np.column_stack([rng.normal(size=n) + sex, rng.normal(size=n), rng.uniform(size=n) - 0.3 * sex])
    y = (X[:, 0] + X[:, 1] + rng.normal(scale=0.5, size=n) > 0.5).astype(int)
    model = GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0).fit(X, y)
    return {"X": X, "y": y, "model": model, "groups": np.where(sex == 1, "m", "f"), "bg": X[:30]}


def test_linear_gap_is_w_times_difference_of_means(linear: dict[str, Any]) -> None:
    X, W, g = linear["X"], linear["W"], linear["groups"]
    gap = attribute_gap(linear["exp"], g, ("A", "B"), random_state=0)
    assert gap.shape == (1, 4, 2)
    expected = W * (X[g == "A"].mean(axis=0) - X[g == "B"].mean(axis=0))[:, None]
    np.testing.assert_allclose(gap.values[0], expected, rtol=0, atol=1e-12)
    direct = linear["f"][g == "A"].mean(axis=0) - linear["f"][g == "B"].mean(axis=0)
    np.testing.assert_allclose(gap.values.sum(axis=1)[0] + 0.0, direct, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(gap.base_values, 0.0)
    np.testing.assert_allclose(gap.diagnostics["gap"][0], direct, rtol=0, atol=1e-12)
    assert gap.params["between"] == ["A", "B"] and gap.diagnostics["n_a"] == int((g == "A").sum())
    # the other way round is the opposite gap; group C takes no part
    back = attribute_gap(linear["exp"], g, ("B", "A"), n_boot=0)
    np.testing.assert_allclose(back.values, -gap.values, atol=1e-13)


def test_target_selects_outputs_and_groups_from_pandas(linear: dict[str, Any]) -> None:
    pd = pytest.importorskip("pandas")
    g = pd.Series(linear["groups"], dtype="category", name="race")
    g_missing = g.copy()
    g_missing.iloc[:5] = np.nan  # rows without a group take no part
    full = attribute_gap(linear["exp"], g, ("A", "B"), n_boot=0)
    one = attribute_gap(linear["exp"], g, ("A", "B"), target="output1", n_boot=0)
    assert one.output_names == ["output1"] and one.params["groups_name"] == "race"
    np.testing.assert_array_equal(one.values[0, :, 0], full.values[0, :, 1])
    partial = attribute_gap(linear["exp"], g_missing, ("A", "B"), n_boot=0)
    keep = np.arange(len(g)) >= 5
    expected = attribute_gap(linear["exp"][keep], linear["groups"][keep], ("A", "B"), n_boot=0)
    np.testing.assert_allclose(partial.values, expected.values, atol=1e-14)


def test_interventional_tree_shap_gap_sums_to_the_model_gap(boosted: dict[str, Any]) -> None:
    model, X, g = boosted["model"], boosted["X"], boosted["groups"]
    exp = xk.TreeShap(model, background=boosted["bg"]).explain(X)  # log-odds, one base value
    margin = model.decision_function(X)
    gap = attribute_gap(exp, g, ("m", "f"), predictions=margin, n_boot=200, random_state=0)
    direct = margin[g == "m"].mean() - margin[g == "f"].mean()
    assert abs(gap.values.sum() - direct) < 1e-12 * max(1.0, abs(direct))
    assert abs(gap.completeness()[0, 0] - direct) < 1e-12
    # predictions that the attributions do not add up to are refused
    with pytest.raises(CompletenessError, match="predictions"):
        attribute_gap(exp, g, ("m", "f"), predictions=margin + 0.01, n_boot=0)


def test_loss_gap_with_per_row_base_values(boosted: dict[str, Any]) -> None:
    model, X, y, g = boosted["model"], boosted["X"], boosted["y"], boosted["groups"]
    exp = xk.TreeShap(model, background=boosted["bg"], output="log_loss").explain(X, y)
    assert np.ptp(exp.base_values) > 1e-3  # the base value is a loss against each row's own label
    with pytest.raises(InvalidParameterError, match="unequal_base='keep'"):
        attribute_gap(exp, g, ("m", "f"), n_boot=0)
    gap = attribute_gap(exp, g, ("m", "f"), unequal_base="keep", n_boot=0)
    p = np.clip(model.predict_proba(X)[:, 1], 1e-300, 1.0)
    loss = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    direct = loss[g == "m"].mean() - loss[g == "f"].mean()
    assert abs(gap.completeness()[0, 0] - direct) < 1e-10
    base_gap = exp.base_values[g == "m", 0].mean() - exp.base_values[g == "f", 0].mean()
    assert abs(gap.base_values[0, 0] - base_gap) < 1e-14 and abs(base_gap) > 0


def test_bootstrap_is_deterministic_and_holds_the_point(linear: dict[str, Any]) -> None:
    a = attribute_gap(linear["exp"], linear["groups"], ("A", "B"), n_boot=300, random_state=3)
    b = attribute_gap(linear["exp"], linear["groups"], ("A", "B"), n_boot=300, random_state=3)
    c = attribute_gap(linear["exp"], linear["groups"], ("A", "B"), n_boot=300, random_state=4)
    for key in ("ci_lower", "ci_upper", "gap_ci_lower", "gap_ci_upper", "boot_std_err"):
        np.testing.assert_array_equal(a.diagnostics[key], b.diagnostics[key])
    assert not np.array_equal(a.diagnostics["ci_lower"], c.diagnostics["ci_lower"])
    assert (a.diagnostics["ci_lower"] <= a.values).all() and (a.values <= a.diagnostics["ci_upper"]).all()
    assert (a.diagnostics["ci_upper"] - a.diagnostics["ci_lower"] > 0).all()


def test_bootstrap_intervals_cover_the_true_gap_attribution() -> None:
    """Simulated data with a known population gap attribution ``w_j (mu_A_j - mu_B_j)``: 90% intervals
    cover it in about 90% of datasets."""
    rng = np.random.default_rng(7)
    w = np.array([1.0, -2.0])
    mu_a, mu_b = np.array([1.0, 0.0]), np.array([0.0, 0.5])
    truth = w * (mu_a - mu_b)
    n_sim, n = 200, 80
    hits = np.zeros(2)
    for _ in range(n_sim):
        X = np.vstack([rng.normal(mu_a, 1.0, size=(n, 2)), rng.exponential(1.0, size=(n, 2)) - 1.0 + mu_b])
        phi = (X - 0.3) * w  # Shapley values of a linear model over a one-row background
        exp = Attribution(values=phi[:, :, None], base_values=np.ones((2 * n, 1)), method="demo")
        gap = attribute_gap(exp, ["a"] * n + ["b"] * n, ("a", "b"), n_boot=200, level=0.9, random_state=int(rng.integers(1 << 30)))
        lo, hi = gap.diagnostics["ci_lower"][0, :, 0], gap.diagnostics["ci_upper"][0, :, 0]
        hits += (lo <= truth) & (truth <= hi)
    coverage = hits / n_sim
    assert ((coverage > 0.82) & (coverage < 0.97)).all(), coverage


def test_std_err_of_a_sampled_explanation_propagates(linear: dict[str, Any]) -> None:
    values = np.asarray(linear["exp"].values)
    se = np.full(values.shape, 0.1)
    exp = Attribution(values=values, base_values=linear["exp"].base_values, method="sampled", diagnostics={"std_err": se})
    g = linear["groups"]
    gap = attribute_gap(exp, g, ("A", "B"), n_boot=0)
    n_a, n_b = int((g == "A").sum()), int((g == "B").sum())
    np.testing.assert_allclose(gap.diagnostics["std_err"], np.full((1, 4, 2), 0.1 * np.sqrt(1 / n_a + 1 / n_b)), rtol=1e-12)


def test_slicing_and_saving_keep_the_intervals(linear: dict[str, Any], tmp_path: Path) -> None:
    gap = attribute_gap(linear["exp"], linear["groups"], ("A", "B"), n_boot=100, random_state=0)
    one = gap[:, "x2"]
    assert one.diagnostics["ci_lower"].shape == (1, 1, 2)
    np.testing.assert_array_equal(one.diagnostics["ci_lower"][0, 0], gap.diagnostics["ci_lower"][0, 2])
    path = tmp_path / "gap.xai"
    gap.save(path)
    back = Attribution.load(path)
    np.testing.assert_array_equal(back.values, gap.values)
    np.testing.assert_array_equal(back.diagnostics["gap_ci_upper"], gap.diagnostics["gap_ci_upper"])
    assert back.params["between"] == ["A", "B"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"between": ("A", "Z")}, "between: expected group labels among"),
        ({"between": None}, "between: expected the two groups to compare"),
        ({"between": "AB"}, "between: expected a pair"),
        ({"between": ("A", "A")}, "two different groups"),
        ({"between": ("A", "B"), "n_boot": -1}, "n_boot"),
        ({"between": ("A", "B"), "level": 1.5}, "level"),
        ({"between": ("A", "B"), "unequal_base": "ignore"}, "unequal_base"),
        ({"between": ("A", "B"), "target": 5}, "target"),
        ({"between": ("A", "B"), "predictions": np.zeros(3)}, "predictions: expected shape"),
    ],
)
def test_bad_parameters_are_named(linear: dict[str, Any], kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        attribute_gap(linear["exp"], linear["groups"], **kwargs)


def test_bad_explanation_and_groups_are_named(linear: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameterError, match="exp: expected an Attribution"):
        attribute_gap(np.zeros((3, 2)), ["a", "b", "a"], ("a", "b"))  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="groups: expected one group label per row"):
        attribute_gap(linear["exp"], ["A", "B"], ("A", "B"))


def test_gap_display_draws_the_waterfall(linear: dict[str, Any]) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from xaikit.plots.gap import GapDisplay

    gap = attribute_gap(linear["exp"], linear["groups"], ("A", "B"), n_boot=100, random_state=0)
    disp = GapDisplay.from_explanation(gap, target=1, max_display=3)
    mean_a, mean_b = gap.diagnostics["mean_a"][0, 1], gap.diagnostics["mean_b"][0, 1]
    assert disp.start == pytest.approx(mean_b, abs=1e-12) and disp.end == pytest.approx(mean_a, abs=1e-12)
    assert len(disp.bars_) == 3 and disp.labels[-1] == "2 other features"
    assert disp.errorbars_ is not None
    order = np.argsort(-np.abs(gap.values[0, :, 1]), kind="stable")
    assert disp.labels[:2] == [gap.feature_names[i] for i in order[:2]]
    plt.close(disp.figure_)
    with pytest.raises(InvalidParameterError, match="target"):
        GapDisplay.from_explanation(gap)
    with pytest.raises(InvalidParameterError, match="exp: expected the gap attribution"):
        GapDisplay.from_explanation(linear["exp"], target=0)
    plt.close("all")
