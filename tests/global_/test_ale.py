"""Accumulated local effects: the paper's estimator on models whose ALE is known in closed form,
ALE against partial dependence off the data, second-order effects, the order of categories, the
bootstrap band, executors and the explainer contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xaikit.errors import InvalidParameterError
from xaikit.explainers.global_.ale import Ale, accumulate_2d, bin_index, category_order, quantile_edges
from xaikit.results.effects import Effects
from xaikit.testing import check_explainer
from xaikit.testing.contract import CHECKS


def _kinked(x: np.ndarray) -> np.ndarray:
    """Piecewise linear with kinks at -0.5 and 0.5 (slopes 2, -1, 3)."""
    return np.where(x < -0.5, 2 * (x + 0.5), np.where(x < 0.5, -(x + 0.5), -1 + 3 * (x - 0.5)))


def _additive(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return _kinked(X[:, 0]) + X[:, 1] ** 2


def _product(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return X[:, 0] * X[:, 1]


def _off_manifold(X: np.ndarray) -> np.ndarray:
    """x1 + x2 on the data (|x1 - x2| < 0.5), and 100 x1 more far from it."""
    X = np.asarray(X, dtype=np.float64)
    return X[:, 0] + X[:, 1] + 100 * X[:, 0] * (np.abs(X[:, 0] - X[:, 1]) > 0.5)


def _expected_1d(g: np.ndarray, x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The paper's centred estimate for an additive component g (values at the edges): g(z_k) - g(z_0),
    centred so that the mean over the rows, each at its bin's upper edge, is 0."""
    steps = g - g[0]
    k = np.clip(np.searchsorted(edges, x, side="left"), 1, len(edges) - 1)
    return steps - steps[k].mean()


@pytest.fixture(scope="module")
def correlated():
    rng = np.random.default_rng(3)
    x1 = rng.uniform(-2, 2, 600)
    x2 = x1 + rng.uniform(-0.1, 0.1, 600)
    return np.column_stack([x1, x2])


def test_additive_model_recovers_each_component_up_to_centring(correlated):
    X = correlated
    eff = Ale(_additive, bins=16, n_bootstrap=0).explain(X)
    for j, g in ((0, _kinked), (1, np.square)):
        t = eff.term(j)
        z = t["grid_values"][0]
        np.testing.assert_array_equal(z, quantile_edges(X[:, j], 16))
        got = t["average"][:, 0]
        np.testing.assert_allclose(got, _expected_1d(g(z), X[:, j], z), atol=1e-12)
        # up to centring, the component itself; the paper's centring is within a bin's change of g's data mean
        slope = 3.0 if j == 0 else 2 * np.abs(z).max()
        shift = got - (g(z) - g(X[:, j]).mean())
        assert np.ptp(shift) < 1e-12
        assert abs(shift[0]) <= slope * np.diff(z).max()


def test_centring_is_the_papers_by_bin_counts():
    X = np.random.default_rng(0).exponential(size=(300, 1))
    eff = Ale(lambda X: np.sin(3 * X[:, 0]), bins=7, n_bootstrap=0).explain(X)
    t = eff.term(0)
    z, curve = t["grid_values"][0], t["average"][:, 0]
    counts = np.bincount(bin_index(X[:, 0], z), minlength=len(z))  # rows at each upper edge
    assert abs(counts @ curve) < 1e-10
    assert counts[0] == 0 and counts[1:].min() >= 1  # no empty bin
    assert abs(curve.mean()) > 1e-3  # not the plain mean of the grid values


def test_ale_stays_on_the_data_where_partial_dependence_extrapolates(correlated):
    X = correlated
    eff = Ale(_off_manifold, bins=20, n_bootstrap=0).explain(X)
    t = eff.term("x0")
    z, ale = t["grid_values"][0], t["average"][:, 0]
    np.testing.assert_allclose(np.diff(ale), np.diff(z), atol=1e-12)  # the slope on the data: 1
    # partial dependence of x0: every row's x1 with x0 set to each grid value
    pd_curve = np.array([_off_manifold(np.column_stack([np.full(len(X), v), X[:, 1]])).mean() for v in z])
    pd_slopes = np.diff(pd_curve) / np.diff(z)
    assert np.abs(pd_slopes - 1).max() > 50  # moved by the model's values off the data


def test_second_order_effect_of_an_additive_model_is_zero(correlated):
    eff = Ale(_additive, features=[], pairs=[(0, 1)], bins=10, n_bootstrap=0).explain(correlated)
    t = eff.term("x0 x x1")
    assert t["average"].shape == (11, 11, 1)
    assert np.abs(t["average"]).max() < 1e-12


def test_second_order_effect_of_a_product_is_the_known_one():
    a, b = np.meshgrid(np.linspace(-1, 2, 8), np.array([0.0, 0.5, 2.0, 3.0, 5.0]), indexing="ij")
    X = np.tile(np.column_stack([a.ravel(), b.ravel()]), (3, 1))  # a full factorial design
    eff = Ale(_product, features=[0], pairs=[("x0", "x1")], bins=20, n_bootstrap=0).explain(X)
    t = eff.term(1)
    z, w = t["grid_values"]
    np.testing.assert_array_equal(z, np.unique(X[:, 0]))
    # each row at its cell's upper corner: x1 x2's pure interaction is (z - mean z~)(w - mean w~)
    mu1 = z[bin_index(X[:, 0], z)].mean()
    mu2 = w[bin_index(X[:, 1], w)].mean()
    np.testing.assert_allclose(t["average"][..., 0], np.outer(z - mu1, w - mu2), atol=1e-12)
    assert t["grid"].shape == (8, 5, 2) and t["grid"][2, 3].tolist() == [z[2], w[3]]


def test_an_empty_cell_takes_the_mean_of_the_nearest_cell():
    z = np.array([0.0, 1.0, 2.0, 3.0])
    w = np.array([0.0, 1.0, 2.0])
    first = np.array([0, 0, 1, 1, 2])
    second = np.array([0, 1, 0, 1, 0])  # cell (2, 1) is empty; its nearest cell is (1, 1)
    deltas = np.array([[0.5], [1.0], [-2.0], [4.0], [0.25]])
    without = accumulate_2d(deltas, first, second, np.ones(5), (z, w))
    filled = accumulate_2d(np.vstack([deltas, [[4.0]]]), np.append(first, 2), np.append(second, 1),
                           np.append(np.ones(5), 1e-300), (z, w))
    np.testing.assert_allclose(without, filled, atol=1e-12)
    other = accumulate_2d(np.vstack([deltas, [[1.0]]]), np.append(first, 2), np.append(second, 1),
                          np.append(np.ones(5), 1e-300), (z, w))
    assert np.abs(without - other).max() > 1  # the fill matters


def _category_data(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    cat = rng.integers(0, 4, n)
    centre = np.array([2.0, 0.0, 3.0, 1.0])  # the other feature sorts the categories 1, 3, 0, 2
    other = centre[cat] + rng.normal(scale=0.5, size=n)  # overlapping: KS distances grow with the gap
    return np.column_stack([cat, other]).astype(np.float64), cat


_CAT_EFFECT = np.array([5.0, -1.0, 2.0, 0.5])


def _category_model(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return _CAT_EFFECT[X[:, 0].astype(int)] + np.sin(X[:, 1])


def test_categories_are_ordered_by_similarity_and_accumulated_along_that_order():
    X, cat = _category_data()
    order = category_order(X, 0, [True, False])
    assert order.tolist() == [2, 0, 3, 1]  # 1, 3, 0, 2 reversed: category 0 at or below the middle
    eff = Ale(_category_model, categorical_features=[0], n_bootstrap=0).explain(X)
    t = eff.term("x0")
    assert t["labels"] == [["2", "0", "3", "1"]]
    assert t["grid_values"][0].tolist() == [0.0, 1.0, 2.0, 3.0]
    curve = t["average"][:, 0]
    np.testing.assert_allclose(np.diff(curve), np.diff(_CAT_EFFECT[order]), atol=1e-12)
    freq = np.bincount(cat, minlength=4)[order] / len(cat)
    assert abs(freq @ curve) < 1e-12  # centred by the categories' frequencies


def test_a_dataframe_with_text_categories_gives_the_same_order_and_the_model_its_own_dtypes():
    X, cat = _category_data()
    names = np.array(["red", "green", "blue", "grey"])
    size = np.where(np.isin(cat, [1, 3]), "small", "large")  # categorical neighbour: frequencies differ
    frame = pd.DataFrame({"colour": names[cat], "other": X[:, 1], "size": size, "count": np.arange(len(cat)) % 5})
    seen: list[dict] = []

    def model(df: pd.DataFrame) -> np.ndarray:
        seen.append(dict(df.dtypes.astype(str)))
        assert set(df["colour"]) <= set(names) and set(df["size"]) <= {"small", "large"}
        code = pd.Series(df["colour"]).map({n: i for i, n in enumerate(names)}).to_numpy()
        return _CAT_EFFECT[code] + np.sin(df["other"].to_numpy()) + df["count"].to_numpy() * (df["size"] == "small")

    eff = Ale(model, n_bootstrap=0).explain(frame)
    assert eff.term("colour")["labels"] == [["blue", "red", "grey", "green"]]  # categories 2, 0, 3, 1
    assert eff.term("size")["labels"] == [["large", "small"]]
    assert seen and all(s == dict(frame.dtypes.astype(str)) for s in seen)  # ints stay ints, text stays text
    count = eff.term("count")
    assert count["grid_values"][0].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]  # edges are values of the data


def test_bootstrap_band_contains_the_curve_and_narrows_with_more_rows():
    def model(X):
        return np.sin(2 * X[:, 0]) * (1 + X[:, 1]) + X[:, 1]

    def width(n):
        X = np.random.default_rng(n).uniform(-1, 1, size=(n, 2))
        eff = Ale(model, features=[0], bins=8, n_bootstrap=60, ci=0.9).explain(X, random_state=1)
        t = eff.term(0)
        lo, hi, avg = t["lower"][:, 0], t["upper"][:, 0], t["average"][:, 0]
        assert (lo <= avg + 1e-12).all() and (avg <= hi + 1e-12).all()
        assert (hi - lo).max() > 0
        return float((hi - lo).mean())

    assert width(4000) < 0.6 * width(200)


def test_bootstrap_depends_on_the_seed_only_through_the_band():
    X = np.random.default_rng(0).normal(size=(80, 2))
    model = Ale(lambda X: X[:, 0] * X[:, 1] + X[:, 0] ** 3, n_bootstrap=20)
    a, b, c = model.explain(X, random_state=0), model.explain(X, random_state=0), model.explain(X, random_state=1)
    np.testing.assert_array_equal(a.lower, b.lower)
    np.testing.assert_array_equal(a.average, c.average)
    assert not np.array_equal(a.lower, c.lower, equal_nan=True)
    assert Ale(lambda X: X[:, 0], n_bootstrap=0).explain(X).upper is None


def test_every_executor_and_batch_size_gives_the_same_result():
    X, _ = _category_data(300)
    X = np.column_stack([X, np.random.default_rng(1).normal(size=300)])
    explainer = Ale(_mixed, categorical_features=[0], pairs=[(1, 2)], bins=6, n_bootstrap=10)
    serial = explainer.explain(X, random_state=5, executor="serial")
    for other in (explainer.explain(X, random_state=5, executor="processes:2"),
                  explainer.explain(X, random_state=5, executor="threads:2", batch_size=7)):
        for name in ("average", "grid", "lower", "upper", "deciles"):
            np.testing.assert_array_equal(getattr(serial, name), getattr(other, name))


def _mixed(X):
    X = np.asarray(X, dtype=np.float64)
    return np.column_stack([_category_model(X[:, :2]) + X[:, 1] * X[:, 2], X[:, 2] ** 2])


def test_batch_size_bounds_each_model_call():
    calls: list[int] = []

    def model(X):
        calls.append(len(X))
        return X.sum(axis=1)

    X = np.random.default_rng(0).normal(size=(50, 2))
    Ale(model, features=[0], pairs=[(0, 1)], n_bootstrap=0).explain(X, batch_size=16)
    assert max(calls) == 16 and sum(calls) == 1 + 2 * 50 + 4 * 50
    calls.clear()
    Ale(model, features=[0], n_bootstrap=0).explain(X)
    assert calls == [1, 100]  # the outputs, then all the copies of a term stacked in one call


def test_target_selects_outputs_by_index_and_name():
    X = np.random.default_rng(0).normal(size=(40, 2))
    full = Ale(_mixed_two, n_bootstrap=0).explain(X)
    one = Ale(_mixed_two, n_bootstrap=0).explain(X, target="output1")
    assert one.output_names == ["output1"]
    np.testing.assert_array_equal(one.average[..., 0], full.average[..., 1])


def _mixed_two(X):
    return np.column_stack([X[:, 0] ** 2, X[:, 0] - X[:, 1]])


@pytest.mark.parametrize(
    ("kwargs", "call", "name"),
    [
        ({"bins": 0}, {}, "bins"),
        ({"ci": 1.0}, {}, "ci"),
        ({"n_bootstrap": -1}, {}, "n_bootstrap"),
        ({"features": "x0"}, {}, "features"),
        ({"features": ["nope"]}, {}, "features"),
        ({"pairs": [(0, 0)]}, {}, "pairs"),
        ({"pairs": [(0,)]}, {}, "pairs"),
        ({"pairs": [(0, 1)], "categorical_features": [1]}, {}, "pairs"),
        ({"categorical_features": [7]}, {}, "categorical_features"),
        ({"features": [], "pairs": []}, {}, "features"),
        ({}, {"batch_size": 0}, "batch_size"),
        ({}, {"target": 3}, "target"),
    ],
)
def test_bad_parameters_are_named(kwargs, call, name):
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(InvalidParameterError, match=f"^{name}:"):
        Ale(_mixed_two, **kwargs).explain(X, **call)


def test_missing_values_are_refused_naming_X():
    X = np.random.default_rng(0).normal(size=(20, 2))
    X[3, 1] = np.nan
    with pytest.raises(InvalidParameterError, match="^X:"):
        Ale(_mixed_two).explain(X)
    with pytest.raises(InvalidParameterError, match="^X:"):
        Ale(_mixed_two).explain(pd.DataFrame(X, columns=["a", "b"]))


def test_a_constant_feature_has_a_one_point_curve():
    X = np.column_stack([np.ones(30), np.linspace(0, 1, 30)])
    eff = Ale(lambda X: X[:, 0] * X[:, 1], pairs=[(0, 1)], n_bootstrap=5).explain(X)
    assert eff.grid_shape == [[1], [21], [1, 21]]
    assert eff.term(0)["average"].tolist() == [[0.0]]
    assert isinstance(eff, Effects) and np.isfinite(eff.term(2)["average"]).all()


def test_the_contract():
    # every check but "seed", whose stochastic branch compares ``values`` (a field Effects does not
    # have); the seed's part here is tested above (the band follows the seed, the curve does not)
    report = check_explainer(Ale, only=[c for c in CHECKS if c != "seed"])
    assert {"result", "executor:threads", "executor:processes", "batch_size", "frame", "save_load",
            "bad:target", "bad:random_state", "bad:executor"} <= set(report.passed)
    assert set(report.skipped) == {"bad:X"}  # a plain function takes any width
