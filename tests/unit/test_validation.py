"""Tests of xaikit._validation: the checks every public entry point relies on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xaikit._validation import (
    check_array,
    check_choice,
    check_float,
    check_int,
    check_random_state,
    describe,
    spawn_seeds,
)
from xaikit.testing import assert_raises_naming as raises_naming


# ---------------------------------------------------------------- check_array
class TestCheckArray:
    def test_converts_to_float64(self):
        arr = check_array([[1, 2], [3, 4]], "X")
        assert arr.dtype == np.float64
        np.testing.assert_array_equal(arr, np.array([[1.0, 2.0], [3.0, 4.0]]))

    def test_dtype_none_keeps_numeric_dtype(self):
        arr = check_array(np.array([[1, 2]], dtype=np.int32), "X", dtype=None)
        assert arr.dtype == np.int32

    def test_accepts_dataframe(self):
        df = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4]})
        np.testing.assert_array_equal(check_array(df, "X"), df.to_numpy(dtype=float))

    def test_string_rejected(self):
        with raises_naming("X", "numeric", "'abc'"):
            check_array("abc", "X")

    def test_non_numeric_content_rejected(self):
        with raises_naming("data", "numeric", "cannot be converted"):
            check_array([["a", "b"]], "data")

    def test_object_array_rejected_without_conversion(self):
        with raises_naming("X", "numeric", "dtype object"):
            check_array(np.array([[1, "a"]], dtype=object), "X", dtype=None)

    def test_complex_rejected(self):
        with raises_naming("X", "numeric", "complex"):
            check_array(np.ones((2, 2), dtype=complex), "X", dtype=None)

    def test_wrong_ndim(self):
        with raises_naming("X", "2 dimensions", "shape (3,)"):
            check_array([1.0, 2.0, 3.0], "X")

    def test_ndim_tuple_accepts_both_and_lists_them(self):
        assert check_array([1.0, 2.0], "x", ndim=(1, 2)).shape == (2,)
        assert check_array([[1.0, 2.0]], "x", ndim=(1, 2)).shape == (1, 2)
        with raises_naming("x", "1 or 2 dimensions", "shape (1, 1, 1)"):
            check_array(np.zeros((1, 1, 1)), "x", ndim=(1, 2))

    def test_min_rows(self):
        with raises_naming("background", "at least 1 row", "shape (0, 3)"):
            check_array(np.zeros((0, 3)), "background")
        with raises_naming("background", "at least 3 row", "shape (2, 3)"):
            check_array(np.zeros((2, 3)), "background", min_rows=3)

    def test_n_features(self):
        with raises_naming("X", "expected 3 features", "got 2"):
            check_array([[1.0, 2.0]], "X", n_features=3)

    def test_nan_rejected_by_default(self):
        X = np.zeros((3, 2))
        X[1, 0] = np.nan
        with raises_naming("X", "finite", "NaN", "(1, 0)"):
            check_array(X, "X")

    def test_nan_allowed(self):
        X = np.array([[np.nan, 1.0]])
        out = check_array(X, "X", allow_nan=True)
        assert np.isnan(out[0, 0]) and out[0, 1] == 1.0

    @pytest.mark.parametrize("allow_nan", [False, True])
    def test_infinity_always_rejected(self, allow_nan):
        X = np.zeros((2, 2))
        X[0, 1] = -np.inf
        with raises_naming("X", "finite", "infinite", "(0, 1)"):
            check_array(X, "X", allow_nan=allow_nan)

    def test_counts_bad_values(self):
        X = np.array([[np.inf, np.inf, 1.0]])
        with raises_naming("X", "2 of them"):
            check_array(X, "X", allow_nan=True)


# ---------------------------------------------------------------- check_int
class TestCheckInt:
    @pytest.mark.parametrize("value", [0, 5, np.int64(7), np.uint8(3)])
    def test_accepts_integers(self, value):
        out = check_int(value, "n")
        assert out == int(value) and type(out) is int

    @pytest.mark.parametrize("value", [True, False, 1.0, 2.5, "3", None, [1]])
    def test_rejects_non_integers(self, value):
        with raises_naming("n_samples", "an integer", type(value).__name__):
            check_int(value, "n_samples", minimum=1)

    def test_minimum(self):
        assert check_int(1, "n_samples", minimum=1) == 1
        with raises_naming("n_samples", ">= 1", "0 (int)"):
            check_int(0, "n_samples", minimum=1)

    def test_maximum(self):
        assert check_int(10, "k", maximum=10) == 10
        with raises_naming("k", "<= 10", "11"):
            check_int(11, "k", maximum=10)

    def test_both_bounds(self):
        with raises_naming("k", "in [2, 4]", "5"):
            check_int(5, "k", minimum=2, maximum=4)
        with raises_naming("k", "in [2, 4]", "1"):
            check_int(1, "k", minimum=2, maximum=4)


# ---------------------------------------------------------------- check_float
class TestCheckFloat:
    @pytest.mark.parametrize("value", [0.5, 1, np.float32(0.25), np.int64(2)])
    def test_accepts_reals(self, value):
        out = check_float(value, "tol")
        assert out == float(value) and type(out) is float

    @pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, "0.1", None, True, 1j])
    def test_rejects_non_finite_or_non_real(self, value):
        with raises_naming("tol", "finite number"):
            check_float(value, "tol")

    def test_strict_minimum(self):
        with raises_naming("tol", "> 0", "0.0"):
            check_float(0.0, "tol", minimum=0.0, strict_minimum=True)
        with raises_naming("tol", "> 0", "-1.0"):
            check_float(-1.0, "tol", minimum=0.0, strict_minimum=True)
        assert check_float(1e-12, "tol", minimum=0.0, strict_minimum=True) == 1e-12

    def test_inclusive_minimum_and_maximum(self):
        assert check_float(0.0, "a", minimum=0.0) == 0.0
        with raises_naming("a", ">= 0", "-0.5"):
            check_float(-0.5, "a", minimum=0.0)
        assert check_float(1.0, "a", maximum=1.0) == 1.0
        with raises_naming("a", "<= 1", "1.5"):
            check_float(1.5, "a", maximum=1.0)


# ---------------------------------------------------------------- check_choice
class TestCheckChoice:
    def test_accepts_member(self):
        assert check_choice("raw", "output", ("raw", "probability")) == "raw"

    def test_accepts_generator_of_choices(self):
        assert check_choice(2, "k", (i for i in range(3))) == 2

    def test_rejects_and_lists_choices(self):
        with raises_naming("output", "'raw'", "'probability'", "'prob' (str)"):
            check_choice("prob", "output", ["raw", "probability"])


# ---------------------------------------------------------------- seeds
class TestRandomState:
    def test_int_is_reproducible(self):
        a = check_random_state(3)
        b = check_random_state(3)
        assert a.entropy == 3
        np.testing.assert_array_equal(a.generate_state(4), b.generate_state(4))

    def test_none_is_fresh(self):
        a = check_random_state(None).generate_state(4)
        b = check_random_state(None).generate_state(4)
        assert not np.array_equal(a, b)

    def test_seed_sequence_passes_through(self):
        ss = np.random.SeedSequence(11)
        assert check_random_state(ss) is ss

    def test_generator_is_used_to_draw_a_seed(self):
        a = check_random_state(np.random.default_rng(5))
        b = check_random_state(np.random.default_rng(5))
        assert isinstance(a, np.random.SeedSequence)
        assert a.entropy == b.entropy

    @pytest.mark.parametrize("value", [-1, -(2**40)])
    def test_negative_rejected(self, value):
        with raises_naming("random_state", "non-negative", str(value)):
            check_random_state(value)

    @pytest.mark.parametrize("value", ["seed", 1.5, True, [1]])
    def test_wrong_type_rejected(self, value):
        with raises_naming("random_state", "Generator", repr(value)[:10]):
            check_random_state(value)

    def test_name_is_used(self):
        with raises_naming("seed", "non-negative"):
            check_random_state(-3, name="seed")


def _states(seqs):
    return [tuple(s.generate_state(4).tolist()) for s in seqs]


class TestSpawnSeeds:
    def test_same_seed_same_children(self):
        assert _states(spawn_seeds(0, 4)) == _states(spawn_seeds(0, 4))

    def test_children_do_not_depend_on_how_many(self):
        assert _states(spawn_seeds(0, 3)[:2]) == _states(spawn_seeds(0, 5)[:2])
        assert _states(spawn_seeds(7, 1)) == _states(spawn_seeds(7, 10)[:1])

    def test_children_are_distinct_and_differ_from_root(self):
        states = _states(spawn_seeds(0, 20))
        assert len(set(states)) == 20
        root = tuple(np.random.SeedSequence(0).generate_state(4).tolist())
        assert root not in states

    def test_different_seeds_different_children(self):
        assert _states(spawn_seeds(0, 3)) != _states(spawn_seeds(1, 3))

    def test_matches_seed_sequence_spawn(self):
        # numpy's own spawning of a fresh SeedSequence gives the i-th child the key (i,)
        expected = np.random.SeedSequence(42).spawn(3)
        assert _states(spawn_seeds(42, 3)) == _states(expected)

    def test_seed_sequence_input_extends_its_key(self):
        parent = np.random.SeedSequence(9, spawn_key=(2,))
        children = spawn_seeds(parent, 2)
        assert [c.spawn_key for c in children] == [(2, 0), (2, 1)]
        assert all(c.entropy == 9 for c in children)

    def test_zero_children(self):
        assert spawn_seeds(0, 0) == []

    def test_invalid_seed_rejected(self):
        with raises_naming("random_state"):
            spawn_seeds(-1, 2)


# ---------------------------------------------------------------- describe
class TestDescribe:
    def test_array(self):
        assert describe(np.zeros((2, 3), dtype=np.int32)) == "an array of shape (2, 3) and dtype int32"

    def test_frame(self):
        assert describe(pd.DataFrame({"a": [1, 2]})) == "a DataFrame of shape (2, 1)"

    def test_scalars(self):
        assert describe("abc") == "'abc' (str)"
        assert describe(3) == "3 (int)"
        assert describe(None) == "None (NoneType)"
        text = describe(np.float64(1.5))
        assert "1.5" in text and text.endswith("(float64)")

    def test_long_values_are_shortened(self):
        text = describe("x" * 200)
        assert text.endswith("... (str)")
        assert len(text) == 60 + len(" (str)")
