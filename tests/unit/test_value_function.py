"""Tests of xaikit.maskers.value_function: v(S) as a weighted mean over the background."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xaikit.errors import InvalidParameterError
from xaikit.maskers import TabularMasker, ValueFunction
from xaikit.models import adapt


def nonlinear(X):
    X = np.asarray(X, dtype=float)
    return np.column_stack([X[:, 0] * X[:, 1] + np.sin(X[:, 2]), np.exp(0.1 * X.sum(axis=1))])


class Recorder:
    """A model function that remembers the number of rows of every call."""

    def __init__(self, fn=nonlinear):
        self.fn = fn
        self.sizes: list[int] = []

    def __call__(self, X):
        self.sizes.append(len(X))
        return self.fn(X)


def expected_values(fn, x, bg, weights, feature_masks):
    """sum_b w_b f(x_S, b_notS) for every mask, computed row by row."""
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    out = []
    for fm in feature_masks:
        total = 0.0
        for b, wb in zip(bg, w):
            hybrid = np.where(fm, x, b)[None, :]
            total = total + wb * np.asarray(fn(hybrid), dtype=float).reshape(-1)
        out.append(total)
    return np.array(out)


@pytest.fixture
def setup():
    rng = np.random.default_rng(0)
    bg = rng.normal(size=(6, 3))
    x = rng.normal(size=3)
    weights = rng.uniform(0.1, 2.0, size=6)
    masks = np.array(
        [[a, b, c] for a in (False, True) for b in (False, True) for c in (False, True)], dtype=bool
    )
    return bg, x, weights, masks


class TestValues:
    def test_weighted_mean_over_hybrids(self, setup):
        bg, x, weights, masks = setup
        vf = ValueFunction(adapt(nonlinear), TabularMasker(bg, weights=weights), x)
        out = vf(masks)
        assert out.shape == (8, 2)
        np.testing.assert_allclose(out, expected_values(nonlinear, x, bg, weights, masks), rtol=1e-12, atol=1e-12)

    def test_empty_and_full_coalitions(self, setup):
        bg, x, weights, _ = setup
        vf = ValueFunction(adapt(nonlinear), TabularMasker(bg), x)
        out = vf(np.array([[False] * 3, [True] * 3]))
        np.testing.assert_allclose(out[0], nonlinear(bg).mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(out[1], nonlinear(x[None, :])[0], rtol=1e-12)

    def test_groups(self, setup):
        bg, x, weights, _ = setup
        masker = TabularMasker(bg, groups={"g": [0, 2]})  # players: g, x1
        vf = ValueFunction(adapt(nonlinear), masker, x)
        player_masks = np.array([[True, False], [False, True], [True, True], [False, False]])
        feature_masks = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 1], [0, 0, 0]], dtype=bool)
        assert vf.n_players == 2
        np.testing.assert_allclose(
            vf(player_masks), expected_values(nonlinear, x, bg, np.ones(6), feature_masks), rtol=1e-12
        )

    def test_dataframe_model_input(self):
        bg = pd.DataFrame({"a": [1.0, 2.0, 4.0], "city": ["u", "v", "u"]})
        masker = TabularMasker(bg)
        seen = []

        def f(df):
            seen.append(type(df))
            return df["a"].to_numpy() * np.where(df["city"] == "v", 10.0, 1.0)

        Z, m2 = masker.encode(pd.DataFrame({"a": [3.0], "city": ["v"]}))
        vf = ValueFunction(adapt(f), m2, Z[0])
        out = vf(np.array([[False, False], [True, False], [False, True], [True, True]]))
        # a: background mean of a*city_factor; city from x -> factor 10 for all rows
        expected = [
            (1.0 + 20.0 + 4.0) / 3,
            (3.0 + 30.0 + 3.0) / 3,
            (10.0 + 20.0 + 40.0) / 3,
            30.0,
        ]
        np.testing.assert_allclose(out[:, 0], expected)
        assert all(t is pd.DataFrame for t in seen)

    def test_as_frame_for_numpy_background(self):
        bg = np.array([[1.0, 2.0], [3.0, 4.0]])
        masker = TabularMasker(bg, feature_names=["p", "q"])
        seen = []

        def f(df):
            seen.append(list(df.columns))
            return df["p"].to_numpy() - df["q"].to_numpy()

        vf = ValueFunction(adapt(f), masker, np.array([10.0, 0.0]), as_frame=True)
        np.testing.assert_allclose(vf(np.array([[True, False]]))[:, 0], [((10 - 2) + (10 - 4)) / 2])
        assert seen == [["p", "q"]]


class TestBatching:
    @pytest.mark.parametrize("batch_size", [1, 5, 6, 7, 13, 48, 10**6])
    def test_batch_size_does_not_change_values(self, setup, batch_size):
        bg, x, weights, masks = setup
        masker = TabularMasker(bg, weights=weights)
        reference = ValueFunction(adapt(nonlinear), masker, x, batch_size=10**9)(masks)
        out = ValueFunction(adapt(nonlinear), masker, x, batch_size=batch_size)(masks)
        np.testing.assert_array_equal(out, reference)

    @pytest.mark.parametrize("batch_size", [6, 7, 12, 17, 30, 48, 1000])
    def test_never_more_than_batch_size_rows(self, setup, batch_size):
        bg, x, _, masks = setup  # m = 6 background rows, 8 coalitions
        rec = Recorder()
        vf = ValueFunction(adapt(rec), TabularMasker(bg), x, batch_size=batch_size)
        vf(masks)
        assert max(rec.sizes) <= batch_size
        assert sum(rec.sizes) == 8 * 6
        assert all(s % 6 == 0 for s in rec.sizes)  # whole coalitions per call
        # as few calls as the bound allows
        per_call = batch_size // 6
        assert len(rec.sizes) == -(-8 // per_call)

    @pytest.mark.parametrize("batch_size", [1, 2, 5])
    def test_one_coalition_larger_than_batch(self, setup, batch_size):
        bg, x, _, masks = setup  # m = 6 > batch_size
        rec = Recorder()
        vf = ValueFunction(adapt(rec), TabularMasker(bg), x, batch_size=batch_size)
        vf(masks)
        assert rec.sizes == [6] * 8

    @settings(max_examples=25, deadline=None)
    @given(m=st.integers(1, 5), s=st.integers(1, 12), batch_size=st.integers(1, 40))
    def test_batching_property(self, m, s, batch_size):
        rng = np.random.default_rng(m * 1000 + s)
        bg = rng.normal(size=(m, 3))
        x = rng.normal(size=3)
        masks = rng.random((s, 3)) < 0.5
        rec = Recorder()
        out = ValueFunction(adapt(rec), TabularMasker(bg), x, batch_size=batch_size)(masks)
        assert max(rec.sizes) <= max(batch_size, m)
        if batch_size < m:
            assert set(rec.sizes) == {m}
        assert sum(rec.sizes) == s * m
        np.testing.assert_allclose(out, expected_values(nonlinear, x, bg, np.ones(m), masks), rtol=1e-12, atol=1e-12)

    @pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
    def test_invalid_batch_size(self, setup, bad):
        bg, x, _, _ = setup
        with pytest.raises(InvalidParameterError, match="^batch_size:"):
            ValueFunction(adapt(nonlinear), TabularMasker(bg), x, batch_size=bad)


class TestCounters:
    def test_counts_coalitions_and_rows(self, setup):
        bg, x, _, masks = setup
        rec = Recorder()
        vf = ValueFunction(adapt(rec), TabularMasker(bg), x, batch_size=12)
        assert (vf.n_coalitions, vf.n_rows) == (0, 0)
        vf(masks[:3])
        assert (vf.n_coalitions, vf.n_rows) == (3, 18)
        vf(masks)
        assert (vf.n_coalitions, vf.n_rows) == (11, 66)
        assert vf.n_rows == sum(rec.sizes)

    def test_empty_masks_cost_nothing(self, setup):
        bg, x, _, _ = setup
        rec = Recorder()
        vf = ValueFunction(adapt(rec), TabularMasker(bg), x)
        out = vf(np.zeros((0, 3), dtype=bool))
        assert out.shape[0] == 0
        assert rec.sizes == [] and (vf.n_coalitions, vf.n_rows) == (0, 0)
