"""RowSeeds: rows explained in parts draw exactly as in one call over all of them (row-seeded local methods)."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError

W = np.array([1.0, 2.0, -1.0, 0.5, 0.3, -0.7])


def model(Z):
    return np.tanh(Z @ W)


@pytest.mark.parametrize("make, params", [
    (lambda bg: xk.KernelShap(model, background=bg), {"n_samples": 24}),
    (lambda bg: xk.PermutationShap(model, background=bg), {"n_samples": 24}),
    (lambda bg: xk.Lime(model, masker=xk.TabularMasker(bg)), {"n_samples": 200}),
])
def test_parts_with_row_seeds_equal_one_call(make, params) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 6))
    explainer = make(X[:5])
    whole = explainer.explain(X, random_state=3, executor="serial", **params).values
    parts = [explainer.explain(X[a:b], random_state=xk.RowSeeds(3, range(a, b)), executor="serial", **params).values
             for a, b in ((0, 4), (4, 7), (7, 10))]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    # the same rows in another order, each with its own id: each row's values follow it
    order = np.array([9, 2, 5])
    shuffled = explainer.explain(X[order], random_state=xk.RowSeeds(3, order), executor="serial", **params).values
    np.testing.assert_array_equal(shuffled, whole[order])
    plain = explainer.explain(X[4:7], random_state=3, executor="serial", **params).values
    assert not np.array_equal(plain, whole[4:7])  # without them, the part's rows draw as rows 0..2


def test_row_seeds_are_checked() -> None:
    X = np.zeros((3, 6))
    with pytest.raises(InvalidParameterError, match="random_state: the RowSeeds hold 2 row ids, got row 2"):
        xk.KernelShap(model, background=np.ones((2, 6))).explain(X, random_state=xk.RowSeeds(0, [0, 1]))
    with pytest.raises(InvalidParameterError, match="row_ids: expected a 1-D sequence of non-negative integers"):
        xk.RowSeeds(0, [-1])
    with pytest.raises(InvalidParameterError, match="random_state: RowSeeds .* PermutationImportance is a global method"):
        xk.PermutationImportance(model).explain(X, np.zeros(3), random_state=xk.RowSeeds(0, [0, 1, 2]))
