"""Submodular pick: greedy coverage against brute force, ragged results by name, bad input."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError


def _coverage(W: np.ndarray, rows: tuple[int, ...]) -> float:
    importance = np.sqrt(W.sum(axis=0))
    covered = (W[list(rows)] > 0).any(axis=0)
    return float(importance[covered].sum() / importance.sum())


@pytest.mark.parametrize("seed", range(5))
def test_greedy_is_within_the_submodular_bound_of_the_best_set(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(12, 9, 1)) * (rng.uniform(size=(12, 9, 1)) < 0.3)
    exp = xk.Attribution(values=values, base_values=np.zeros((12, 1)), method="lime")
    W = np.abs(values[:, :, 0])
    for k in (1, 2, 3):
        pick = xk.submodular_pick(exp, k)
        best = max(_coverage(W, rows) for rows in combinations(range(12), k))
        assert pick.coverage[-1] == pytest.approx(_coverage(W, tuple(pick.rows)))
        assert pick.coverage[-1] >= (1 - 1 / np.e) * best - 1e-12
        assert len(set(pick.rows)) == k and pick.coverage == sorted(pick.coverage)
    # k = 1 is exactly the best single row
    assert xk.submodular_pick(exp, 1).coverage[0] == pytest.approx(max(_coverage(W, (i,)) for i in range(12)))


def test_ragged_rows_are_matched_by_feature_name() -> None:
    values = np.zeros((3, 2, 1))
    values[0, :2, 0] = [0.9, 0.1]
    values[1, :1, 0] = [0.8]
    values[2, :2, 0] = [0.2, 0.7]
    exp = xk.RaggedAttribution(values=values, base_values=np.zeros((3, 1)),
                               row_feature_names=[["god", "the"], ["god"], ["jesus", "the"]], method="lime")
    pick = xk.submodular_pick(exp, 2)
    assert pick.feature_names == ["god", "the", "jesus"]
    np.testing.assert_allclose(pick.importance, np.sqrt([1.7, 0.8, 0.2]))
    assert pick.rows == [0, 2] and pick.coverage[-1] == pytest.approx(1.0)


def test_output_choice_and_bad_input() -> None:
    values = np.zeros((2, 2, 2))
    values[0, 0, 0] = values[1, 1, 1] = 1.0
    values[1, 0, 0] = 0.5
    exp = xk.Attribution(values=values, base_values=np.zeros((2, 2)), output_names=["a", "b"], method="lime")
    assert xk.submodular_pick(exp, 1, output="b").rows == [1]
    assert xk.submodular_pick(exp, 1, output="a").rows == [0]
    with pytest.raises(InvalidParameterError, match="k: expected an integer in"):
        xk.submodular_pick(exp, 3)
    with pytest.raises(InvalidParameterError, match="exp: expected an Attribution"):
        xk.submodular_pick(values, 1)
