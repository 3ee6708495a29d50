"""counterfactual_metrics: each CARLA measure on a hand-made case computed by hand, the inputs it takes
(arrays, lists of DataFrames, another library's output), and its errors."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from xaikit.errors import InvalidParameterError
from xaikit.metrics.counterfactual import CounterfactualMetrics, counterfactual_metrics, metrics_frame
from xaikit.results.base import Result

NAN = math.nan


def approve(X: np.ndarray) -> np.ndarray:
    """Approve (1) when x0 + x1 > 1."""
    X = np.asarray(X, dtype=np.float64)
    return (X[:, 0] + X[:, 1] > 1.0).astype(np.float64)


# x0 has MAD 2 in DATA (median 2, deviations 2 0 2 2 4); x1 has MAD 1 (median 1, deviations 1 0 1 1 2).
DATA = np.array([[0.0, 0.0], [2.0, 1.0], [4.0, 0.0], [0.0, 2.0], [6.0, 3.0]])
X = np.array([[0.0, 0.0], [3.0, 0.0]])
CFS = np.array(
    [
        [[4.0, 0.0], [2.0, 3.0], [0.5, 0.2], [NAN, NAN]],  # valid, valid, invalid, none found
        [[0.5, 0.0], [NAN, NAN], [NAN, NAN], [NAN, NAN]],  # flips an approval: valid
    ]
)


@pytest.fixture(scope="module")
def hand() -> CounterfactualMetrics:
    return counterfactual_metrics(approve, X, CFS, data=DATA, n_neighbors=2)


def _row(arr: np.ndarray | None, i: int) -> list[float]:
    assert arr is not None
    return [round(float(v), 6) if not math.isnan(v) else -1.0 for v in arr[i]]


def test_validity_and_found(hand: CounterfactualMetrics) -> None:
    assert hand.found.tolist() == [[1, 1, 1, 0], [1, 0, 0, 0]]
    assert _row(hand.valid, 0) == [1.0, 1.0, 0.0, -1.0]
    assert _row(hand.valid, 1) == [1.0, -1.0, -1.0, -1.0]


def test_distances_are_mad_scaled(hand: CounterfactualMetrics) -> None:
    # cf [4, 0]: change (4/2, 0); cf [2, 3]: (2/2, 3/1); cf [0.5, 0.2]: (0.25, 0.2); row 1 cf [0.5, 0]: (2.5/2, 0)
    assert _row(hand.l0, 0) == [1.0, 2.0, 2.0, -1.0]
    assert _row(hand.l1, 0) == [2.0, 4.0, 0.45, -1.0]
    assert _row(hand.l2, 0) == [2.0, round(math.sqrt(10.0), 6), round(math.sqrt(0.25**2 + 0.2**2), 6), -1.0]
    assert _row(hand.linf, 0) == [2.0, 3.0, 0.25, -1.0]
    assert _row(hand.l1, 1)[0] == 1.25
    assert hand.params["scale"] == "mad"


def test_distances_unscaled_without_data() -> None:
    m = counterfactual_metrics(approve, X, CFS)
    assert _row(m.l1, 0)[:3] == [4.0, 5.0, 0.7]
    assert m.params["scale"] == "none"
    assert np.isnan(m.ynn).all()  # type: ignore[arg-type]


def test_redundancy(hand: CounterfactualMetrics) -> None:
    # [4, 0]: setting x0 back to 0 loses validity -> 0; [2, 3]: [0, 3] and [2, 0] are both still approved -> 2;
    # the invalid one has none
    assert _row(hand.redundancy, 0) == [0.0, 2.0, -1.0, -1.0]
    assert _row(hand.redundancy, 1)[0] == 0.0


def test_ynn(hand: CounterfactualMetrics) -> None:
    # DATA's decisions: 0 1 1 1 1. The 2 nearest rows (scaled Euclidean) of [4, 0]: [4, 0] and [2, 1] (both 1);
    # of [2, 3]: [0, 2], then [2, 1] and [6, 3] at equal distance (all 1); of [0.5, 0.2] (class 0): [0, 0] (0) and [2, 1] (1)
    assert _row(hand.ynn, 0) == [1.0, 1.0, 0.5, -1.0]


def test_diversity(hand: CounterfactualMetrics) -> None:
    # row 0's valid pair [4, 0] / [2, 3]: scaled L1 2/2 + 3 = 4; both features differ
    assert hand.diversity is not None and hand.count_diversity is not None
    assert hand.diversity[0] == 4.0 and hand.count_diversity[0] == 1.0
    assert np.isnan(hand.diversity[1])  # one counterfactual: no pair


def test_summary(hand: CounterfactualMetrics) -> None:
    s = hand.summary()
    assert s["found_rate"] == 1.0 and s["coverage"] == 1.0
    assert s["validity"] == 0.75
    assert s["l0"] == pytest.approx(4 / 3)  # valid ones: 1, 2, 1
    assert s["redundancy"] == pytest.approx(2 / 3)
    assert math.isnan(s["violations"]) and math.isnan(s["time"])


def test_desired_class_and_range() -> None:
    m = counterfactual_metrics(approve, X, CFS, desired=1)
    assert _row(m.valid, 1)[0] == 0.0  # row 1's counterfactual is declined, not approved
    assert _row(m.valid, 0)[:3] == [1.0, 1.0, 0.0]

    def score(Z: np.ndarray) -> np.ndarray:
        return np.asarray(Z, dtype=np.float64).sum(axis=1)

    r = counterfactual_metrics(score, X, CFS, desired=(1.5, 4.5))
    assert _row(r.valid, 0)[:3] == [1.0, 0.0, 0.0]  # sums 4, 5, 0.7
    with pytest.raises(InvalidParameterError, match="desired"):
        counterfactual_metrics(score, X, CFS, desired=(2.0, 1.0))
    with pytest.raises(InvalidParameterError, match="desired"):
        counterfactual_metrics(approve, X, CFS, desired="approve")


def test_constraints_counted() -> None:
    cons = SimpleNamespace(immutable=["x1"], ranges={"x0": (0.0, 3.0)}, monotone={}, max_changed=None)
    m = counterfactual_metrics(approve, X, CFS, constraints=cons)
    # [4, 0]: x0 out of its range; [2, 3]: x1 changed; [0.5, 0.2]: x1 changed; row 1 [0.5, 0]: fine
    assert _row(m.violations, 0) == [1.0, 1.0, 1.0, -1.0]
    assert _row(m.violations, 1)[0] == 0.0
    s = m.summary()
    assert s["violations"] == 3.0 and s["violation_rate"] == 0.75


def test_time_given() -> None:
    m = counterfactual_metrics(approve, X, CFS, time=[0.5, 1.5])
    assert m.time is not None and m.time.tolist() == [0.5, 1.5]
    assert m.summary()["time"] == 1.0
    with pytest.raises(InvalidParameterError, match="time"):
        counterfactual_metrics(approve, X, CFS, time=[1.0])


def test_list_of_frames_equals_array(hand: CounterfactualMetrics) -> None:
    frame = pd.DataFrame(X, columns=["a", "b"])
    per_row = [
        pd.DataFrame(CFS[0, :3], columns=["a", "b"]).assign(valid=True, distance=0.0),  # extra columns are ignored
        pd.DataFrame(CFS[1, :1], columns=["b", "a"][::-1]),
    ]
    m = counterfactual_metrics(approve, frame, per_row, data=pd.DataFrame(DATA, columns=["a", "b"]), n_neighbors=2)
    for name in ("valid", "l0", "l1", "l2", "linf", "redundancy", "ynn"):
        ours, theirs = getattr(m, name), getattr(hand, name)[:, :3]
        np.testing.assert_array_equal(ours, theirs, err_msg=name)
    assert len(metrics_frame(m)) == 4


def test_categorical_frame_with_pipeline() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    colour = rng.choice(["red", "blue"], size=200)
    size = rng.normal(size=200)
    y = ((colour == "red") & (size > -0.5)).astype(int)
    frame = pd.DataFrame({"colour": colour, "size": size})
    enc = ColumnTransformer([("c", OneHotEncoder(), ["colour"])], remainder="passthrough")
    model = make_pipeline(enc, LogisticRegression(C=100.0)).fit(frame, y)
    x = pd.DataFrame({"colour": ["blue"], "size": [1.0]})
    assert model.predict(x)[0] == 0
    cfs = [pd.DataFrame({"colour": ["red", "blue"], "size": [1.0, 3.0]})]
    m = counterfactual_metrics(model, x, cfs, data=frame)
    assert _row(m.valid, 0) == [1.0, float(model.predict(cfs[0].iloc[[1]])[0] == 1)]
    assert _row(m.l0, 0) == [1.0, 1.0]
    assert _row(m.l1, 0)[0] == 1.0  # a changed category counts 1


def test_result_like_object_and_recorded_time(hand: CounterfactualMetrics) -> None:
    class Other:  # another library's result with the same calls as ours
        n_rows = 2
        diagnostics: dict[str, Any] = {"runtime": 3.0}

        def counterfactuals(self, i: int) -> pd.DataFrame:
            rows = CFS[i][~np.isnan(CFS[i]).all(axis=1)]
            return pd.DataFrame(rows, columns=["x0", "x1"])

    m = counterfactual_metrics(approve, X, Other(), data=DATA, n_neighbors=2)
    np.testing.assert_array_equal(m.l2, hand.l2[:, :3])  # type: ignore[index]
    assert m.time is not None and m.time.tolist() == [1.5, 1.5]


def test_save_load_round_trip(hand: CounterfactualMetrics, tmp_path: Any) -> None:
    path = tmp_path / "m.xai"
    hand.save(path)
    back = Result.load(path)
    assert isinstance(back, CounterfactualMetrics)
    np.testing.assert_array_equal(back.redundancy, hand.redundancy)  # type: ignore[arg-type]
    assert back.summary() == pytest.approx(hand.summary(), nan_ok=True)
    assert hand[1].n_rows == 1 and hand[1].valid[0, 0] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"counterfactuals": np.zeros((2, 3))}, "counterfactuals"),
        ({"counterfactuals": np.zeros((3, 1, 2))}, "counterfactuals"),
        ({"counterfactuals": [np.zeros((1, 3)), None]}, r"counterfactuals\[0\]"),
        ({"counterfactuals": "abc"}, "counterfactuals"),
        ({"n_neighbors": 0}, "n_neighbors"),
        ({"data": np.zeros((0, 2))}, "data"),
        ({"X": np.zeros(3)}, "X"),
        ({"decision_threshold": float("nan")}, "decision_threshold"),
    ],
)
def test_errors_name_the_parameter(kwargs: dict[str, Any], word: str) -> None:
    args: dict[str, Any] = {"X": X, "counterfactuals": CFS}
    args.update(kwargs)
    X_, cfs = args.pop("X"), args.pop("counterfactuals")
    with pytest.raises(InvalidParameterError, match=word):
        counterfactual_metrics(approve, X_, cfs, **args)


def test_result_refuses_inconsistent_fields() -> None:
    with pytest.raises(InvalidParameterError, match="valid"):
        CounterfactualMetrics(valid=[[1.0]], found=[[0]], method="demo")


def test_constraints_object_counts_every_constraint() -> None:
    from xaikit.explainers.counterfactual.constraints import Constraints

    data = np.array([[0.1, 0.0], [2.5, 1.5], [4.2, 0.3]])  # not whole numbers: both features are continuous
    cons = Constraints(immutable=["x1"], ranges={"x0": (0, 3)}, relations=["x0 >= x1"])
    m = counterfactual_metrics(approve, X, CFS, data=data, constraints=cons)
    # [4, 0]: range of x0; [2, 3]: x1 changed and 2 < 3; [0.5, 0.2]: x1 changed; row 1's [0.5, 0]: none
    assert _row(m.violations, 0) == [1.0, 2.0, 1.0, -1.0]
    assert _row(m.violations, 1)[0] == 0.0


def test_constraints_object_on_categories() -> None:
    from xaikit.explainers.counterfactual.constraints import Constraints

    frame = pd.DataFrame({"colour": ["red", "blue", "red"], "size": [0.5, 1.5, 2.5]})

    def model(F: pd.DataFrame) -> np.ndarray:
        return ((F["colour"] == "red").to_numpy() & (F["size"].to_numpy() > 1.0)).astype(np.float64)

    x = frame.iloc[[0]]
    cfs = [pd.DataFrame({"colour": ["red", "green", "blue"], "size": [1.5, 2.0, 0.5]})]
    m = counterfactual_metrics(model, x, cfs, data=frame, constraints=Constraints(immutable=["colour"]))
    # green is outside colour's domain and changes an immutable feature: 2; blue changes it: 1
    assert _row(m.violations, 0) == [0.0, 2.0, 1.0]
    assert _row(m.valid, 0) == [1.0, 0.0, 0.0]


def test_carla_definitions_on_random_counterfactuals() -> None:
    """CARLA's loops written out (yNN with scikit-learn's NearestNeighbors, redundancy one feature at a time)."""
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(5)
    data = rng.normal(size=(60, 3)) * [1.0, 3.0, 0.5]
    w = np.array([1.0, -0.5, 2.0])

    def model(Z: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-(np.asarray(Z, dtype=np.float64) @ w)))
        return np.stack([1.0 - p, p], axis=1)

    X = rng.normal(size=(5, 3))
    cfs = X[:, None, :] + rng.normal(size=(5, 3, 3)) * (rng.uniform(size=(5, 3, 3)) < 0.6)
    m = counterfactual_metrics(model, X, cfs, data=data, n_neighbors=5)

    mad = np.median(np.abs(data - np.median(data, axis=0)), axis=0)
    label = lambda Z: np.argmax(model(Z), axis=1)  # noqa: E731
    nbrs = NearestNeighbors(n_neighbors=5).fit(data / mad)
    data_labels = label(data)
    for i in range(5):
        for j in range(3):
            cf, x = cfs[i, j], X[i]
            delta = np.abs(cf - x) / mad
            valid = label(cf[None])[0] != label(x[None])[0]
            assert m.valid[i, j] == float(valid)
            assert m.l0[i, j] == np.count_nonzero(cf != x)  # type: ignore[index]
            assert m.l1[i, j] == pytest.approx(delta.sum())  # type: ignore[index]
            assert m.l2[i, j] == pytest.approx(np.sqrt((delta**2).sum()))  # type: ignore[index]
            assert m.linf[i, j] == pytest.approx(delta.max())  # type: ignore[index]
            knn = nbrs.kneighbors((cf / mad)[None], 5, return_distance=False)[0]
            assert m.ynn[i, j] == pytest.approx(1.0 - np.abs(data_labels[knn] - label(cf[None])[0]).sum() / 5)  # type: ignore[index]
            if valid:
                red = 0
                for f in np.flatnonzero(cf != x):
                    back = cf.copy()
                    back[f] = x[f]
                    red += int(label(back[None])[0] == label(cf[None])[0])
                assert m.redundancy[i, j] == red  # type: ignore[index]
            else:
                assert np.isnan(m.redundancy[i, j])  # type: ignore[index]
    assert np.nanmax(m.valid) == 1.0 and np.nanmin(m.valid) == 0.0  # both kinds were checked


def test_zero_mad_falls_back_to_the_standard_deviation() -> None:
    data = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 2.0], [0.0, 3.0], [4.0, 4.0]])  # x0: MAD 0, std 1.6
    m = counterfactual_metrics(approve, X[:1], np.array([[[2.0, 0.0]]]), data=data)
    assert m.l1 is not None and m.l1[0, 0] == pytest.approx(2.0 / 1.6)
    flat = np.zeros((5, 2))  # no spread at all: unscaled
    assert counterfactual_metrics(approve, X[:1], np.array([[[2.0, 0.0]]]), data=flat).l1[0, 0] == 2.0  # type: ignore[index]
