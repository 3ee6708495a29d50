"""Counterfactuals: the contract, closed forms on linear models, tables as users have them, validity, the result kind."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from xaikit.errors import InvalidParameterError
from xaikit.explainers.counterfactual import Constraints, Counterfactuals
from xaikit.results.counterfactuals import CounterfactualSet
from xaikit.testing import check_explainer

# ------------------------------------------------------------------ linear model and its closed form


@pytest.fixture(scope="module")
def linear():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4)) * np.array([1.0, 3.0, 0.5, 2.0])
    y = (X @ np.array([1.0, 0.4, 2.0, -0.3]) + rng.normal(size=300) * 0.5 > 0).astype(int)
    model = LogisticRegression(C=10).fit(X, y)
    return X, model


def _closed_form(X: np.ndarray, model: LogisticRegression, rows: np.ndarray) -> np.ndarray:
    """The smallest MAD-weighted L1 distance to the boundary w.x + b = 0: |w.x + b| / max_j |w_j| MAD_j,
    reached by changing only the feature with the largest |w_j| * MAD_j (distance |margin| / (|w_j| MAD_j))."""
    w, b = model.coef_[0], model.intercept_[0]
    mad = np.median(np.abs(X - np.median(X, axis=0)), axis=0)
    return np.abs(rows @ w + b) / np.max(np.abs(w) * mad)  # type: ignore[no-any-return]


# Tolerance: the search ends by narrowing the move towards the row 32 times per model call for 4 calls, so
# its distance exceeds the boundary's by at most 32**-4 = 2**-20 (about 1e-6) of the move it started from; starts
# lie within the data's span plus 3 MAD, under 100 times the closest distance on these rows: 1e-4 relative. It can never be
# below the closed form (a valid counterfactual is on the other side of the boundary).
RTOL = 1e-4


@pytest.mark.parametrize("method", ["genetic", "random"])
def test_black_box_matches_the_closed_form(linear, method: str) -> None:
    X, model = linear
    rows = X[:6]
    cf = Counterfactuals(model, data=X, n=3, plausibility_weight=0.0, method=method).explain(rows, random_state=0)
    best = np.where(cf.valid, cf.distance, np.inf).min(axis=1)
    closed = _closed_form(X, model, rows)
    assert (best >= closed * (1 - 1e-9)).all()
    np.testing.assert_allclose(best, closed, rtol=RTOL)
    j_star = int(np.argmax(np.abs(model.coef_[0]) * np.median(np.abs(X - np.median(X, axis=0)), axis=0)))
    first = np.argmin(np.where(cf.valid, cf.distance, np.inf), axis=1)
    assert (cf.changed[np.arange(6), first] == np.eye(4, dtype=int)[j_star]).all()


def test_gradient_on_torch_matches_the_closed_form(linear) -> None:
    torch = pytest.importorskip("torch")
    X, model = linear
    net = torch.nn.Linear(4, 2).double()
    with torch.no_grad():  # logits (0, w.x + b): the same decision boundary as the logistic regression
        net.weight[:] = torch.tensor(np.stack([np.zeros(4), model.coef_[0]]))
        net.bias[:] = torch.tensor([0.0, model.intercept_[0]])
    rows = X[:6]
    cf = Counterfactuals(net, data=X, n=3, plausibility_weight=0.0, method="gradient").explain(rows, random_state=0)
    assert cf.params["method"] == "gradient"
    best = np.where(cf.valid, cf.distance, np.inf).min(axis=1)
    closed = _closed_form(X, model, rows)
    assert (best >= closed * (1 - 1e-9)).all()
    np.testing.assert_allclose(best, closed, rtol=RTOL)


def test_auto_picks_gradient_for_a_torch_model_and_genetic_otherwise(linear) -> None:
    torch = pytest.importorskip("torch")
    X, model = linear
    net = torch.nn.Sequential(torch.nn.Linear(4, 2)).double()
    assert Counterfactuals(net, data=X, n=1).explain(X[:2], random_state=0).params["method"] == "gradient"
    assert Counterfactuals(model, data=X, n=1).explain(X[:2], random_state=0).params["method"] == "genetic"


# ------------------------------------------------------------------ the contract


def test_check_explainer() -> None:
    report = check_explainer(Counterfactuals)
    assert "executor:processes" in report.passed and "save_load" in report.passed and "frame" in report.passed


# ------------------------------------------------------------------ tables as users have them


@pytest.fixture(scope="module")
def credit():
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({
        "age": rng.integers(20, 70, n),
        "income": rng.normal(40.0, 12.0, n).round(1),
        "hours": rng.integers(10, 60, n),
        "job": pd.Categorical(rng.choice(["clerk", "manager", "sales"], n)),
        "owner": rng.choice(["no", "yes"], n).astype(object),
    })
    score = 0.08 * (frame["income"] - 40) + 0.05 * (frame["hours"] - 35) + 1.2 * (frame["job"] == "manager") + 0.8 * (frame["owner"] == "yes") - 0.5
    y = (score + rng.normal(0, 0.3, n) > 0).astype(int)
    model = make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["job", "owner"]), remainder="passthrough"),
                          LogisticRegression(max_iter=1000)).fit(frame, y)
    return frame, model


def test_dataframe_with_categories_through_a_pipeline(credit) -> None:
    frame, model = credit
    declined = frame[model.predict(frame) == 0].iloc[:5]
    cons = Constraints(immutable=["age"], ranges={"hours": (10, 60)}, max_changed=2)
    cf = Counterfactuals(model, data=frame, n=3, constraints=cons, random_state=0).explain(declined)
    assert cf.valid.all()
    table = cf.counterfactuals(0)
    assert list(table.columns[:5]) == list(frame.columns)
    assert {"valid", "distance", "changed"} <= set(table.columns)
    assert table["age"].dtype.kind == "i" and table["hours"].dtype.kind == "i"  # integer columns stay integers
    assert set(table["job"]) <= {"clerk", "manager", "sales"} and set(table["owner"]) <= {"no", "yes"}
    for i in range(5):
        rows = cf.counterfactuals(i)[list(frame.columns)]
        rows = rows.astype({"job": frame["job"].dtype, "owner": object})
        assert (model.predict(rows) == 1).all()  # re-predicted by the model itself, in the user's format
        assert (rows["age"] == declined["age"].iloc[i]).all()
        assert (cf.n_changed[i] <= 2).all()
    text = cf.text(0)
    assert text.startswith("change ") and " from " in text and " to " in text


def test_desired_class_label_and_index_agree(credit) -> None:
    frame, model = credit
    rows = frame[model.predict(frame) == 0].iloc[:3]
    by_label = Counterfactuals(model, data=frame, n=2, desired="1").explain(rows, random_state=0)
    by_index = Counterfactuals(model, data=frame, n=2, desired=1).explain(rows, random_state=0)
    np.testing.assert_array_equal(by_label.values, by_index.values)
    assert by_label.valid.all()
    with pytest.raises(InvalidParameterError, match=r"^desired: "):
        Counterfactuals(model, data=frame, desired="maybe").explain(rows)


def test_interval_of_a_regressor() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    model = LinearRegression().fit(X, X @ np.array([2.0, -1.0, 0.5]))
    cf = Counterfactuals(model, data=X, n=2, desired=(3.0, 4.0)).explain(X[:4], random_state=0)
    y = model.predict(cf.values.reshape(-1, 3)).reshape(4, 2)
    assert cf.valid.all() and ((y >= 3.0) & (y <= 4.0)).all()
    with pytest.raises(InvalidParameterError, match=r"^desired: "):
        Counterfactuals(model, data=X, desired="flip").explain(X[:1])


def test_no_counterfactual_is_said_so() -> None:
    X = np.random.default_rng(2).normal(size=(100, 2))
    # the decision depends on x0 only, and x0 may not change: nothing can flip it
    cf = Counterfactuals(lambda Z: np.stack([Z[:, 0], -Z[:, 0]], axis=1), data=X, n=2,
                         constraints=Constraints(immutable=["x0"])).explain(X[:3], random_state=0)
    assert not cf.valid.any()
    assert (cf.diagnostics["n_valid"] == 0).all() and cf.diagnostics["rows_without_counterfactual"] == 3
    assert cf.text(1).startswith("no counterfactual found for row 1")


# ------------------------------------------------------------------ the result kind


@pytest.fixture(scope="module")
def result(credit) -> CounterfactualSet:
    frame, model = credit
    return Counterfactuals(model, data=frame, n=3, random_state=0).explain(frame.iloc[:4])


def test_save_load_slice_and_frame(result: CounterfactualSet) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "cf.xai")
        result.save(path)
        loaded = CounterfactualSet.load(path)
    assert loaded.to_dict() == result.to_dict()
    pd.testing.assert_frame_equal(loaded.counterfactuals(2), result.counterfactuals(2))
    part = result[1:3]
    assert part.n_rows == 2
    pd.testing.assert_frame_equal(part.counterfactuals(0), result.counterfactuals(1))
    assert part.diagnostics["n_valid"].tolist() == result.diagnostics["n_valid"][1:3].tolist()
    tidy = result.to_frame()
    assert len(tidy) == 4 * 3 and tidy["row"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert tidy["valid"].tolist() == result.valid.ravel().tolist()


def test_changes_agree_with_the_changed_mask(result: CounterfactualSet) -> None:
    for i in range(result.n_rows):
        for k in range(result.n_counterfactuals):
            names = [f for f, _, _ in result.changes(i, k)]
            assert names == [result.feature_names[j] for j in np.flatnonzero(result.changed[i, k])]
            assert all(a != b for _, a, b in result.changes(i, k))


def test_bad_parameters_are_named(credit) -> None:
    frame, model = credit
    for kwargs, name in [({"n": 0}, "n"), ({"method": "magic"}, "method"), ({"constraints": {"immutable": ["age"]}}, "constraints"),
                         ({"method": "gradient"}, "method"), ({"sparsity_weight": -1.0}, "sparsity_weight")]:
        with pytest.raises(InvalidParameterError) as info:
            Counterfactuals(model, data=frame, **kwargs)
        assert str(info.value).startswith(name + ":")
    with pytest.raises(InvalidParameterError, match=r"^immutable: unknown feature 'wage'"):
        Counterfactuals(model, data=frame, constraints=Constraints(immutable=["wage"])).explain(frame.iloc[:1])
    with pytest.raises(InvalidParameterError, match=r"^X: column 'job', row 0: the category 'pilot'"):
        bad = frame.iloc[:1].copy()
        bad["job"] = pd.Categorical(["pilot"])
        Counterfactuals(model, data=frame).explain(bad)


def test_display_highlights_the_changed_cells(result: CounterfactualSet) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from xaikit.plots.counterfactuals import CounterfactualDisplay

    disp = CounterfactualDisplay.from_explanation(result, row=1)
    expected = [(j, k) for k in range(3) for j in range(len(result.feature_names)) if result.changed[1, k, j]]
    assert sorted(disp.highlighted_) == sorted(expected)
    assert disp.figure_ is not None and disp.ax_ is not None
    with pytest.raises(InvalidParameterError, match=r"^row: "):
        CounterfactualDisplay.from_explanation(result, row=9)
    plt.close("all")
