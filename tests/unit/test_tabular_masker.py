"""Tests of xaikit.maskers.tabular: the DataFrame codec and the background masker."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from xaikit.errors import InvalidParameterError
from xaikit.maskers import TabularCodec, TabularMasker
from xaikit.testing import assert_raises_naming as raises_naming


def mixed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "count": pd.Series([3, 1, 4, 1, 5], dtype="int64"),
            "small": pd.Series([1, 2, 3, 4, 5], dtype="int8"),
            "score": [0.5, np.nan, 2.25, -1.0, np.nan],
            "flag": [True, False, False, True, True],
            "city": ["paris", "lyon", "paris", "nice", "lyon"],
            "plan": pd.Categorical(["pro", None, "basic", "pro", "max"], categories=["basic", "pro", "max"]),
            "size": pd.Categorical(["S", "L", None, "M", "S"], categories=["S", "M", "L"], ordered=True),
        }
    )


# ================================================================ TabularCodec
class TestCodec:
    def test_round_trip_keeps_values_and_dtypes(self):
        df = mixed_frame()
        codec = TabularCodec.from_frame(df)
        out = codec.decode(codec.encode(df))
        pd.testing.assert_frame_equal(out, df, check_dtype=True, check_categorical=True)
        assert out["size"].cat.ordered and not out["plan"].cat.ordered

    def test_encoding_is_codes_into_categories(self):
        df = mixed_frame()
        codec = TabularCodec.from_frame(df)
        Z = codec.encode(df)
        assert Z.dtype == np.float64 and Z.shape == (5, 7)
        np.testing.assert_array_equal(Z[:, 0], [3, 1, 4, 1, 5])
        np.testing.assert_array_equal(Z[:, 2], df["score"].to_numpy())  # NaN in the same places
        np.testing.assert_array_equal(Z[:, 3], [1, 0, 0, 1, 1])
        # string columns: codes into the sorted distinct values
        np.testing.assert_array_equal(Z[:, 4], [2, 0, 2, 1, 0])  # lyon=0, nice=1, paris=2
        # categorical columns: codes into the dtype's categories, NaN for missing
        np.testing.assert_array_equal(Z[:, 5], [1, np.nan, 0, 1, 2])
        np.testing.assert_array_equal(Z[:, 6], [0, 2, np.nan, 1, 0])

    def test_decode_of_a_recombined_matrix(self):
        df = mixed_frame()
        codec = TabularCodec.from_frame(df)
        Z = codec.encode(df)
        mixed = np.where(np.arange(7) % 2 == 0, Z[0], Z[1])[None, :]
        out = codec.decode(mixed)
        expected = pd.DataFrame({c: (df[c].iloc[[0]] if j % 2 == 0 else df[c].iloc[[1]]).reset_index(drop=True)
                                 for j, c in enumerate(df.columns)})
        pd.testing.assert_frame_equal(out, expected)

    def test_names_are_strings(self):
        df = pd.DataFrame({0: [1.0], "b": [2.0]})
        assert TabularCodec.from_frame(df).names == ["0", "b"]

    def test_all_numeric_flag(self):
        assert TabularCodec.from_frame(pd.DataFrame({"a": [1.0], "b": [2]})).is_numeric
        assert not TabularCodec.from_frame(mixed_frame()).is_numeric

    def test_union_keeps_codes_and_appends_new_categories(self):
        a = pd.DataFrame({"city": ["paris", "lyon"], "x": [1.0, 2.0],
                          "plan": pd.Categorical(["pro", "basic"], categories=["pro", "basic"])})
        b = pd.DataFrame({"city": ["rome", "lyon", "berlin"], "x": [3.0, 4.0, 5.0],
                          "plan": pd.Categorical(["gold", "pro", "basic"], categories=["gold", "pro", "basic"])})
        ca = TabularCodec.from_frame(a)
        cu = ca.union(TabularCodec.from_frame(b))
        assert cu.columns[0].categories == ("lyon", "paris", "berlin", "rome")
        assert cu.columns[2].categories == ("pro", "basic", "gold")
        # codes the first codec gave are unchanged
        np.testing.assert_array_equal(cu.encode(a), ca.encode(a))
        # and the new values are encodable and decodable
        Zb = cu.encode(b)
        np.testing.assert_array_equal(Zb[:, 0], [3, 0, 2])
        np.testing.assert_array_equal(Zb[:, 2], [2, 0, 1])
        out = cu.decode(Zb)
        assert out["city"].tolist() == ["rome", "lyon", "berlin"]
        assert out["plan"].tolist() == ["gold", "pro", "basic"]
        # the original codec is left alone
        assert ca.columns[0].categories == ("lyon", "paris")

    def test_union_with_nothing_new(self):
        df = mixed_frame()
        ca = TabularCodec.from_frame(df)
        cu = ca.union(TabularCodec.from_frame(df.iloc[:2]))
        assert [c.categories for c in cu.columns] == [c.categories for c in ca.columns]

    @pytest.mark.filterwarnings("ignore::DeprecationWarning")
    @pytest.mark.parametrize("column, value", [("city", "rome"), ("plan", "gold")])
    def test_unknown_category_rejected(self, column, value):
        df = mixed_frame()
        codec = TabularCodec.from_frame(df)
        other = df.copy()
        if column == "plan":
            other["plan"] = pd.Categorical(["gold"] * 5)
        else:
            other[column] = [value] * 5
        with raises_naming("X", repr(column), repr(value)):
            codec.encode(other)

    def test_unknown_category_detection_does_not_rely_on_deprecated_pandas(self):
        codec = TabularCodec.from_frame(pd.DataFrame({"city": ["paris", "lyon"]}))
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            with raises_naming("X", "'city'", "'rome'"):
                codec.encode(pd.DataFrame({"city": ["rome", "paris"]}))

    def test_to_objects(self):
        df = mixed_frame()
        codec = TabularCodec.from_frame(df)
        obj = codec.to_objects(codec.encode(df))
        assert obj.dtype == object
        assert obj[:, 4].tolist() == df["city"].tolist()
        assert obj[1, 5] is None and obj[0, 5] == "pro"
        numeric = TabularCodec.from_frame(pd.DataFrame({"a": [1.0, 2.0]}))
        Z = np.array([[1.0], [2.0]])
        assert numeric.to_objects(Z) is Z

    def test_round_trip_object_dtype(self):
        df = pd.DataFrame({"s": pd.Series(["a", "b", "a"], dtype=object)})
        codec = TabularCodec.from_frame(df)
        pd.testing.assert_frame_equal(codec.decode(codec.encode(df)), df)

    def test_round_trip_float32(self):
        df = pd.DataFrame({"f": pd.Series([1.5, np.nan, -2.0], dtype="float32")})
        codec = TabularCodec.from_frame(df)
        pd.testing.assert_frame_equal(codec.decode(codec.encode(df)), df)

    def test_round_trip_nullable_boolean_keeps_missing(self):
        df = pd.DataFrame({"b": pd.Series([True, None, False], dtype="boolean")})
        codec = TabularCodec.from_frame(df)
        out = codec.decode(codec.encode(df))
        assert out["b"].isna().tolist() == [False, True, False]

    def test_round_trip_nullable_int(self):
        df = pd.DataFrame({"i": pd.Series([1, None, 3], dtype="Int64")})
        codec = TabularCodec.from_frame(df)
        pd.testing.assert_frame_equal(codec.decode(codec.encode(df)), df)


@settings(max_examples=40, deadline=None)
@given(
    ints=hnp.arrays(np.int64, 6, elements=st.integers(-1000, 1000)),
    floats=hnp.arrays(np.float64, 6, elements=st.floats(-1e6, 1e6) | st.just(np.nan)),
    bools=hnp.arrays(bool, 6),
    strs=st.lists(st.sampled_from(["a", "b", "c", "zz"]), min_size=6, max_size=6),
    cats=st.lists(st.sampled_from(["lo", "mid", "hi", None]), min_size=6, max_size=6),
)
def test_codec_round_trip_property(ints, floats, bools, strs, cats):
    df = pd.DataFrame(
        {
            "i": ints,
            "f": floats,
            "b": bools,
            "s": strs,
            "c": pd.Categorical(cats, categories=["lo", "mid", "hi"], ordered=True),
        }
    )
    codec = TabularCodec.from_frame(df)
    pd.testing.assert_frame_equal(codec.decode(codec.encode(df)), df)


# ================================================================ TabularMasker
def expected_hybrids(x: np.ndarray, bg: np.ndarray, feature_masks: np.ndarray) -> np.ndarray:
    """For each mask and each background row: x where the mask is on, the row elsewhere."""
    rows = []
    for fm in feature_masks:
        for b in bg:
            rows.append(np.where(fm, x, b))
    return np.array(rows)


class TestMaskerHybrids:
    def test_synthesize_matches_direct_construction(self):
        rng = np.random.default_rng(3)
        bg = rng.normal(size=(5, 4))
        x = rng.normal(size=4)
        masks = rng.random((7, 4)) < 0.5
        masker = TabularMasker(bg)
        out = masker.synthesize(x, masks)
        assert out.shape == (35, 4)
        np.testing.assert_array_equal(out, expected_hybrids(x, bg, masks))
        np.testing.assert_array_equal(masker(x, masks), out)

    def test_all_and_none(self):
        bg = np.arange(6.0).reshape(3, 2)
        masker = TabularMasker(bg)
        x = np.array([10.0, 20.0])
        np.testing.assert_array_equal(masker(x, np.array([[False, False]])), bg)
        np.testing.assert_array_equal(masker(x, np.array([[True, True]])), np.tile(x, (3, 1)))

    def test_call_on_dataframe_background_decodes(self):
        df = mixed_frame()
        masker = TabularMasker(df.iloc[:3])
        Z, m2 = masker.encode(df.iloc[[4]])
        masks = np.zeros((1, 7), dtype=bool)
        masks[0, [4, 5]] = True  # city and plan from the row
        out = m2(Z[0], masks)
        assert isinstance(out, pd.DataFrame) and len(out) == 3
        expected = df.iloc[:3].copy()
        expected["city"] = df["city"].iloc[4]
        expected["plan"] = pd.Categorical([df["plan"].iloc[4]] * 3, categories=df["plan"].cat.categories)
        pd.testing.assert_frame_equal(out, expected.reset_index(drop=True))

    @settings(max_examples=30, deadline=None)
    @given(
        data=st.data(),
        m=st.integers(1, 4),
        d=st.integers(1, 5),
        s=st.integers(0, 6),
    )
    def test_synthesize_property(self, data, m, d, s):
        el = st.floats(-100, 100)
        bg = data.draw(hnp.arrays(np.float64, (m, d), elements=el))
        x = data.draw(hnp.arrays(np.float64, d, elements=el))
        masks = data.draw(hnp.arrays(bool, (s, d)))
        out = TabularMasker(bg).synthesize(x, masks)
        assert out.shape == (s * m, d)
        if s:
            np.testing.assert_array_equal(out, expected_hybrids(x, bg, masks))


class TestMaskerGroups:
    def test_groups_by_index(self):
        bg = np.zeros((2, 5))
        masker = TabularMasker(bg, groups={"g": [3, 1]})
        assert masker.group_names == ["x0", "g", "x2", "x4"]
        assert masker.n_groups == 4 and masker.n_features == 5
        expected = np.array(
            [[1, 0, 0, 0, 0], [0, 1, 0, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 1]], dtype=bool
        )
        np.testing.assert_array_equal(masker.group_matrix, expected)
        fm = masker.feature_masks(np.array([[False, True, False, True], [True, False, True, False]]))
        np.testing.assert_array_equal(fm, [[0, 1, 0, 1, 1], [1, 0, 1, 0, 0]])

    def test_groups_by_name_and_hybrids(self):
        rng = np.random.default_rng(1)
        bg = rng.normal(size=(3, 4))
        names = ["a", "b", "c", "d"]
        masker = TabularMasker(bg, feature_names=names, groups={"cd": ["c", "d"], "ab": ["a", "b"]})
        assert masker.group_names == ["ab", "cd"]
        x = rng.normal(size=4)
        masks = np.array([[True, False], [False, True]])
        fm = np.array([[1, 1, 0, 0], [0, 0, 1, 1]], dtype=bool)
        np.testing.assert_array_equal(masker.feature_masks(masks), fm)
        np.testing.assert_array_equal(masker(x, masks), expected_hybrids(x, bg, fm))

    def test_single_member_as_scalar(self):
        masker = TabularMasker(np.zeros((1, 3)), groups={"only": "x2"})
        assert masker.group_names == ["x0", "x1", "only"]

    def test_mixed_names_and_indices(self):
        masker = TabularMasker(np.zeros((1, 3)), groups={"g": ["x0", 2]})
        np.testing.assert_array_equal(masker.group_matrix, [[1, 0, 1], [0, 1, 0]])

    def test_no_groups_is_identity(self):
        masker = TabularMasker(np.zeros((1, 3)))
        masks = np.array([[True, False, True]])
        np.testing.assert_array_equal(masker.feature_masks(masks), masks)
        assert masker.group_names == masker.feature_names == ["x0", "x1", "x2"]

    def test_overlapping_groups_rejected(self):
        with raises_naming("groups", "'x1'", "more than one group"):
            TabularMasker(np.zeros((1, 3)), groups={"a": [0, 1], "b": [1, 2]})

    def test_unknown_name_rejected(self):
        with raises_naming("groups", "'g'", "'nope'"):
            TabularMasker(np.zeros((1, 3)), groups={"g": ["x0", "nope"]})

    @pytest.mark.parametrize("bad", [3, -1, 1.0, None])
    def test_bad_index_rejected(self, bad):
        with raises_naming("groups", "'g'", repr(bad)):
            TabularMasker(np.zeros((1, 3)), groups={"g": [bad]})

    def test_empty_group_rejected(self):
        with raises_naming("groups", "'g'", "empty"):
            TabularMasker(np.zeros((1, 3)), groups={"g": []})

    def test_group_name_clashing_with_single_feature_rejected(self):
        with raises_naming("groups", "differ"):
            TabularMasker(np.zeros((1, 3)), groups={"x2": ["x0", "x1"]})


class TestMaskerConstruction:
    def test_default_names_and_sizes(self):
        masker = TabularMasker(np.zeros((4, 3)))
        assert masker.feature_names == ["x0", "x1", "x2"]
        assert (masker.n_background, masker.n_features) == (4, 3)
        np.testing.assert_allclose(masker.weights, [0.25] * 4)
        assert not masker.is_frame and masker.codec is None

    def test_dataframe_names(self):
        masker = TabularMasker(mixed_frame())
        assert masker.feature_names == list(mixed_frame().columns)
        assert masker.is_frame

    def test_weights_normalised(self):
        masker = TabularMasker(np.zeros((3, 2)), weights=[1, 3, 0])
        np.testing.assert_allclose(masker.weights, [0.25, 0.75, 0.0])
        assert masker.weights.sum() == pytest.approx(1.0)

    @pytest.mark.parametrize(
        "weights", [[1.0, -1.0, 2.0], [1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    )
    def test_invalid_weights_rejected(self, weights):
        with raises_naming("weights", "non-negative", "3"):
            TabularMasker(np.zeros((3, 2)), weights=weights)

    @pytest.mark.parametrize("weights", [[1.0, np.nan, 1.0], [1.0, np.inf, 1.0], [[1.0, 1.0, 1.0]], "abc"])
    def test_non_numeric_or_non_finite_weights_rejected(self, weights):
        with raises_naming("weights"):
            TabularMasker(np.zeros((3, 2)), weights=weights)

    def test_empty_background_rejected(self):
        with raises_naming("background", "at least 1 row"):
            TabularMasker(np.zeros((0, 3)))
        with raises_naming("background", "at least 1 row"):
            TabularMasker(mixed_frame().iloc[:0])

    def test_none_background_rejected(self):
        with raises_naming("background", "None"):
            TabularMasker(None)

    def test_feature_names_length_mismatch(self):
        with raises_naming("feature_names", "expected 3", "got 2"):
            TabularMasker(np.zeros((2, 3)), feature_names=["a", "b"])

    def test_feature_names_must_match_frame(self):
        with raises_naming("feature_names", "count"):
            TabularMasker(mixed_frame(), feature_names=["a"] * 7)

    def test_duplicate_names_rejected(self):
        with raises_naming("feature_names", "unique", "'a'"):
            TabularMasker(np.zeros((2, 3)), feature_names=["a", "b", "a"])

    def test_infinite_background_rejected(self):
        bg = np.zeros((2, 2))
        bg[1, 1] = np.inf
        with raises_naming("background", "infinite"):
            TabularMasker(bg)
        df = pd.DataFrame({"a": [1.0, -np.inf], "s": ["u", "v"]})
        with raises_naming("background", "infinity", "(1, 0)"):
            TabularMasker(df)

    def test_nan_background_accepted(self):
        bg = np.array([[np.nan, 1.0], [2.0, 3.0]])
        masker = TabularMasker(bg)
        assert np.isnan(masker.data[0, 0])

    def test_summary(self):
        s = TabularMasker(np.zeros((3, 2)), weights=[1, 2, 3], groups={"g": [0, 1]}).summary()
        assert s["n_background"] == 3 and s["n_features"] == 2
        assert s["weighted"] is True and s["dataframe"] is False
        assert s["groups"] == {"g": ["0", "1"]}
        assert TabularMasker(np.zeros((3, 2))).summary()["weighted"] is False


class TestMaskerEncode:
    def test_numpy_rows(self):
        masker = TabularMasker(np.zeros((2, 3)))
        Z, m2 = masker.encode([[1, 2, 3]])
        assert m2 is masker
        np.testing.assert_array_equal(Z, [[1.0, 2.0, 3.0]])
        Z1, _ = masker.encode(np.array([4.0, 5.0, 6.0]))  # a single row
        assert Z1.shape == (1, 3)

    def test_numpy_wrong_number_of_columns(self):
        masker = TabularMasker(np.zeros((2, 3)))
        with raises_naming("X", "expected 3 features", "got 4"):
            masker.encode(np.zeros((1, 4)))

    def test_name_used_in_messages(self):
        masker = TabularMasker(np.zeros((2, 3)))
        with raises_naming("rows", "expected 3", "got 2"):
            masker.encode(np.zeros((1, 2)), "rows")

    def test_numpy_x_with_string_background_rejected(self):
        masker = TabularMasker(mixed_frame())
        with raises_naming("X", "DataFrame", "non-numeric"):
            masker.encode(np.zeros((1, 7)))

    def test_numpy_x_with_numeric_frame_background(self):
        bg = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4]})
        masker = TabularMasker(bg)
        Z, _ = masker.encode(np.array([[5.0, 6.0]]))
        np.testing.assert_array_equal(Z, [[5.0, 6.0]])
        out = masker.decode(Z)
        pd.testing.assert_frame_equal(out, pd.DataFrame({"a": [5.0], "b": [6]}))

    def test_frame_columns_checked(self):
        df = mixed_frame()
        masker = TabularMasker(df)
        bad = df.drop(columns=["city"]).assign(town=df["city"])
        with raises_naming("X", "missing: ['city']", "unexpected: ['town']"):
            masker.encode(bad)

    def test_frame_column_order_checked(self):
        df = mixed_frame()
        masker = TabularMasker(df)
        with raises_naming("X", "in this order", "missing: []", "unexpected: []"):
            masker.encode(df[list(reversed(df.columns))])

    def test_frame_for_numpy_background(self):
        masker = TabularMasker(np.zeros((2, 2)), feature_names=["a", "b"])
        Z, _ = masker.encode(pd.DataFrame({"a": [1.0], "b": [2.0]}))
        np.testing.assert_array_equal(Z, [[1.0, 2.0]])
        with raises_naming("X", "missing: ['b']"):
            masker.encode(pd.DataFrame({"a": [1.0], "c": [2.0]}))

    def test_empty_frame_rejected(self):
        df = mixed_frame()
        with raises_naming("X", "at least 1 row"):
            TabularMasker(df).encode(df.iloc[:0])

    def test_infinite_x_rejected(self):
        masker = TabularMasker(np.zeros((2, 2)))
        with raises_naming("X", "infinite"):
            masker.encode(np.array([[1.0, np.inf]]))
        fm = TabularMasker(pd.DataFrame({"a": [1.0], "s": ["u"]}))
        with raises_naming("X", "infinity"):
            fm.encode(pd.DataFrame({"a": [np.inf], "s": ["u"]}))

    def test_new_category_extends_codec_without_changing_original(self):
        df = mixed_frame()
        masker = TabularMasker(df.iloc[:2])  # cities: paris, lyon
        X = df.iloc[[3]]  # nice
        Z, m2 = masker.encode(X)
        assert m2 is not masker
        assert "nice" in m2.codec.columns[4].categories
        assert "nice" not in masker.codec.columns[4].categories
        # the background's encoding is unchanged and the new masker decodes the row
        np.testing.assert_array_equal(m2.data, masker.data)
        pd.testing.assert_frame_equal(m2.decode(Z), X.reset_index(drop=True))

    def test_string_in_numeric_column_rejected(self):
        masker = TabularMasker(pd.DataFrame({"age": [30, 40], "city": ["a", "b"]}))
        with raises_naming("X", "'age'"):
            masker.encode(pd.DataFrame({"age": ["thirty", "x"], "city": ["a", "b"]}))


def test_sample_around_instance_centres_continuous_features_on_the_row() -> None:
    rng = np.random.default_rng(0)
    bg = rng.normal(size=(500, 3)) * [1.0, 2.0, 3.0]
    x = np.array([5.0, -4.0, 0.5])
    around = TabularMasker(bg, sample_around_instance=True)
    S, Z = around.neighbourhood.sample(x, 4000, np.random.default_rng(1))
    np.testing.assert_allclose(Z[1:].mean(axis=0), x, atol=0.15)
    np.testing.assert_allclose(Z[1:].std(axis=0), bg.std(axis=0), rtol=0.05)
    np.testing.assert_allclose(S, (Z - bg.mean(axis=0)) / bg.std(axis=0), atol=1e-12)  # standardised on training
    _, Z_mean = TabularMasker(bg).neighbourhood.sample(x, 4000, np.random.default_rng(1))
    np.testing.assert_allclose(Z_mean[1:].mean(axis=0), bg.mean(axis=0), atol=0.15)
    with pytest.raises(InvalidParameterError, match="sample_around_instance"):
        TabularMasker(bg, sample_around_instance="yes")


@pytest.mark.parametrize("a, b", [(-0.5, 0.3), (1.0, np.inf), (-np.inf, -6.0), (7.0, 7.5), (-np.inf, np.inf), (-40.0, -39.0)])
def test_truncated_normal_draws_follow_scipy_truncnorm(a: float, b: float) -> None:
    from scipy import stats

    from xaikit.maskers.discretize import truncated_standard_normal

    z = truncated_standard_normal(np.full(4000, a), np.full(4000, b), np.random.default_rng(0))
    assert np.isfinite(z).all() and (z >= a).all() and (z <= b).all()
    if a > -30:  # the last interval's probability underflows: only the bounds are checked
        assert stats.kstest(z, stats.truncnorm(a, b).cdf).pvalue > 1e-3
