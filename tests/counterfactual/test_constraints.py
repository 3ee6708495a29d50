"""Constraints: the relation parser, the refusals that name the constraint, and enforcement by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from xaikit.errors import InvalidParameterError
from xaikit.explainers.counterfactual.constraints import Constraints, parse_relation, schema_of
from xaikit.explainers.counterfactual.counterfactuals import Counterfactuals

NAMES = ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    ("text", "coefs", "op", "bound"),
    [
        ("a <= b", {"a": 1.0, "b": -1.0}, "<=", 0.0),
        ("x >= 0", {"x": 1.0}, ">=", 0.0),
        ("p1 + p2 == total", {"p1": 1.0, "p2": 1.0, "total": -1.0}, "==", 0.0),
        ("2*a - b <= 3", {"a": 2.0, "b": -1.0}, "<=", 3.0),
        ("-a + 0.5 * b + 1 >= c - 2", {"a": -1.0, "b": 0.5, "c": -1.0}, ">=", -3.0),
        ("`hours-per-week` <= 60", {"hours-per-week": 1.0}, "<=", 60.0),
    ],
)
def test_parse_relation(text: str, coefs: dict[str, float], op: str, bound: float) -> None:
    r = parse_relation(text)
    assert (r.coefs, r.op, r.bound) == (coefs, op, bound)


@pytest.mark.parametrize("text", ["a * b <= 1", "a <= ", "__import__('os') <= 1", "a <= b <= c", "a = b", "a < b", "1 <= 2", "a +* b <= 1"])
def test_parse_relation_refuses(text: str) -> None:
    with pytest.raises(InvalidParameterError, match=r"^relations: "):
        parse_relation(text)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"ranges": {"a": (3, 1)}}, "ranges['a']"),
        ({"immutable": ["a"], "monotone": {"a": "increase"}}, "monotone"),
        ({"monotone": {"a": "up"}}, "monotone['a']"),
        ({"max_changed": 0}, "max_changed"),
        ({"relations": "a <= b"}, "relations"),
        ({"immutable": 3}, "immutable"),
    ],
)
def test_bad_declarations_are_named(kwargs: dict, named: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        Constraints(**kwargs)
    assert str(info.value).startswith(named + ":")


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"immutable": ["zz"]}, "immutable"),
        ({"ranges": {"zz": (0, 1)}}, "ranges['zz']"),
        ({"relations": ["a <= zz"]}, "relations['a <= zz']"),
        ({"ranges": {"cat": (0, 1)}}, "ranges['cat']"),
        ({"monotone": {"cat": "increase"}}, "monotone['cat']"),
    ],
)
def test_unknown_or_wrong_feature_is_named_when_bound(kwargs: dict, named: str) -> None:
    data = np.array([[1.0, 2.0, "x"], [2.0, 3.0, "y"]], dtype=object)
    schema = schema_of(data, None)
    schema.names = ["a", "b", "cat"]
    with pytest.raises(InvalidParameterError) as info:
        Constraints(**kwargs).bind(schema)
    assert str(info.value).startswith(named + ":")


def _schema(X: np.ndarray):
    schema = schema_of(X, None)
    schema.names = list(NAMES)
    return schema


def test_repair_meets_every_kind_of_constraint() -> None:
    X = np.random.default_rng(0).normal(size=(50, 4)) * 3
    schema = _schema(X)
    cons = Constraints(immutable=["d"], ranges={"a": (-1, 1)}, monotone={"b": "increase"}, relations=["a + b == c", "a <= b"],
                       max_changed=3).bind(schema)
    X0 = np.tile(np.array([[0.5, 0.7, 1.2, 4.0]]), (200, 1))
    Z = X0 + np.random.default_rng(1).normal(size=X0.shape) * 4
    repaired = cons.repair(Z, X0)
    broken = cons.violations(repaired, X0)
    assert broken.mean() < 0.05  # nearly every candidate is projected into the allowed set
    ok = repaired[~broken]
    assert (ok[:, 3] == 4.0).all() and (np.abs(ok[:, 0]) <= 1 + 1e-9).all() and (ok[:, 1] >= 0.7 - 1e-9).all()
    assert np.allclose(ok[:, 0] + ok[:, 1], ok[:, 2]) and (ok[:, 0] <= ok[:, 1] + 1e-9).all()
    assert (cons.changed(ok, X0[: len(ok)]).sum(axis=1) <= 3).all()
    # the check sees what repair fixed: the raw candidates break them
    assert cons.violations(Z, X0).mean() > 0.9


def test_violated_names_the_constraint() -> None:
    schema = _schema(np.random.default_rng(0).normal(size=(20, 4)))
    cons = Constraints(immutable=["d"], relations=["a <= b"], max_changed=1).bind(schema)
    X0 = np.zeros((1, 4))
    assert cons.violated(np.array([[1.0, 0.0, 2.0, 3.0]]), X0) == [["immutable d", "relation 'a <= b'", "max_changed=1"]]


def _model():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 4)) * np.array([1.0, 2.0, 1.0, 3.0]), columns=NAMES)
    y = (X.to_numpy() @ np.array([1.0, -0.5, 0.8, 0.2]) > 0).astype(int)
    return X, LogisticRegression().fit(X, y)


DATA, MODEL = _model()


@st.composite
def constraint_sets(draw: st.DrawFn) -> Constraints:
    immutable = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=2))
    free = [n for n in NAMES if n not in immutable]
    ranges = {}
    for name in draw(st.lists(st.sampled_from(free), unique=True, max_size=2)) if free else []:
        low = draw(st.floats(-6, 1))
        ranges[name] = (low, low + draw(st.floats(0.5, 8)))
    monotone = {n: draw(st.sampled_from(["increase", "decrease"])) for n in draw(st.lists(st.sampled_from(free), unique=True, max_size=2))} if free else {}
    relations = draw(st.lists(st.sampled_from(["a <= b + 3", "c >= -4", "a + c <= 5", "2*b - d <= 6", "2*c == b"]), unique=True, max_size=2))
    max_changed = draw(st.one_of(st.none(), st.integers(1, 3)))
    return Constraints(immutable=immutable, ranges=ranges, monotone=monotone, relations=relations, max_changed=max_changed)


@settings(max_examples=12, deadline=None)
@given(cons=constraint_sets(), start=st.integers(0, 150))
def test_no_returned_counterfactual_breaks_a_constraint(cons: Constraints, start: int) -> None:
    X = DATA.iloc[start:start + 3]
    try:
        cf = Counterfactuals(MODEL, data=DATA, n=3, constraints=cons, generations=3, population=16).explain(X, random_state=start)
    except InvalidParameterError as exc:  # a row that cannot meet its own constraints is refused by name
        assert str(exc).startswith("constraints:")
        return
    bound = cons.bind(_schema(DATA.to_numpy()))
    Z = cf.values.reshape(-1, 4)
    X0 = np.repeat(X.to_numpy(), 3, axis=0)
    assert not bound.violations(Z, X0).any(), bound.violated(Z, X0)
    # every counterfactual labelled valid changes the model's decision, by the model's own prediction
    pred = MODEL.predict(pd.DataFrame(Z, columns=NAMES)).reshape(3, 3)
    own = MODEL.predict(X)
    assert (pred[cf.valid] != np.repeat(own[:, None], 3, axis=1)[cf.valid]).all()
    assert (pred[~cf.valid] == np.repeat(own[:, None], 3, axis=1)[~cf.valid]).all()
