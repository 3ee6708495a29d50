"""A result kind declared in a few lines gets validation, slicing, save/load, to_dict, to_frame and repr;
the built-in kinds' declarations (input_shape, ragged rows, read-only references)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import FormatError, InvalidParameterError
from xaikit.results import Attribution, Axis, Field, Interaction, RaggedAttribution, Result


# ----------------------------------------------------------------------------- a new kind, declared here
class Importance(Result):
    """Global importance of each feature for each output, with its standard deviation."""

    kind = "test-importance"
    fields = (Field("values", "fo", finite=True), Field("std", "fo", optional=True))
    axes = {
        "f": Axis("features", names="feature_names"),
        "o": Axis("outputs", names="output_names", prefix="output"),
    }
    default_diagnostic_axes = {"n_repeats": "f"}


def importance(**overrides: Any) -> Importance:
    kwargs: dict[str, Any] = {
        "values": [[0.5, 0.1], [0.2, 0.4], [0.0, 0.3]],
        "std": [[0.01, 0.02], [0.03, 0.04], [0.05, 0.06]],
        "feature_names": ["age", "income", "city"],
        "output_names": ["no", "yes"],
        "method": "permutation_importance",
        "params": {"n_repeats": 5},
        "diagnostics": {"n_repeats": [5, 5, 4], "runtime_s": 0.5},
    }
    kwargs.update(overrides)
    return Importance(**kwargs)


def test_new_kind_slices_by_name_and_position() -> None:
    imp = importance()
    sub = imp[["city", "age"], "yes"]
    assert isinstance(sub, Importance)
    assert sub.values.tolist() == [[0.3], [0.1]] and sub.std.tolist() == [[0.06], [0.02]]
    assert sub.feature_names == ["city", "age"] and sub.output_names == ["yes"]
    assert sub.diagnostics["n_repeats"].tolist() == [4, 5] and sub.diagnostics["runtime_s"] == 0.5
    assert imp[np.array([False, True, False])].feature_names == ["income"]
    assert imp[-1, 0].values.tolist() == [[0.0]]
    assert (imp.n_features, imp.n_outputs, len(imp)) == (3, 2, 3)
    assert [row.feature_names for row in imp] == [["age"], ["income"], ["city"]]
    with pytest.raises(InvalidParameterError, match=r"^features: unknown feature name 'height'; available: 'age'"):
        imp["height"]
    with pytest.raises(InvalidParameterError, match=r"^key: expected at most 2 parts \(features, outputs\), got 3"):
        imp[0, 0, 0]
    with pytest.raises(InvalidParameterError, match=r"^outputs: expected each output at most once, got 'no'"):
        imp[:, ["no", "no"]]


def test_new_kind_is_frozen_and_read_only() -> None:
    imp = importance()
    with pytest.raises(AttributeError, match="immutable"):
        imp.values = np.zeros((3, 2))  # type: ignore[misc]
    with pytest.raises(ValueError):
        imp.values[0, 0] = 1.0
    with pytest.raises(ValueError):
        imp.std.setflags(write=True)


def test_new_kind_round_trips_through_a_file_and_bytes(tmp_path: Path) -> None:
    imp = importance()
    path = tmp_path / "imp.xai"
    imp.save(path)
    for back in (Result.load(path), Importance.load(path), Result.from_bytes(imp.to_bytes())):
        assert type(back) is Importance
        np.testing.assert_array_equal(back.values, imp.values)
        np.testing.assert_array_equal(back.std, imp.std)
        assert back.feature_names == imp.feature_names and back.output_names == imp.output_names
        assert back.params == imp.params and back.diagnostics["n_repeats"].tolist() == [5, 5, 4]
    without = importance(std=None)
    assert Result.from_bytes(without.to_bytes()).std is None
    with pytest.raises(FormatError, match=r"expected an explanation of kind 'attribution', found 'test-importance'"):
        Attribution.load(path)


def test_new_kind_to_dict_is_strict_json() -> None:
    d = importance(std=[[np.nan, 0.0], [0.0, 0.0], [0.0, np.inf]]).to_dict()
    assert d["kind"] == "test-importance" and d["method"] == "permutation_importance"
    assert d["values"] == [[0.5, 0.1], [0.2, 0.4], [0.0, 0.3]]
    assert d["std"][0][0] is None and d["std"][2][1] is None  # non-finite numbers become null
    assert d["feature_names"] == ["age", "income", "city"] and d["output_names"] == ["no", "yes"]
    assert d["diagnostics"] == {"n_repeats": [5, 5, 4], "runtime_s": 0.5}
    assert d["axes"] == {"values": "fo", "std": "fo"}
    assert json.loads(json.dumps(d, allow_nan=False)) == d


def test_new_kind_to_frame_is_long_over_its_axes() -> None:
    frame = importance().to_frame()
    assert list(frame.columns) == ["feature", "output", "value", "std"]
    assert frame["feature"].tolist() == ["age", "age", "income", "income", "city", "city"]
    assert frame["output"].tolist() == ["no", "yes"] * 3
    assert frame["value"].tolist() == [0.5, 0.1, 0.2, 0.4, 0.0, 0.3]
    assert frame["std"].tolist() == [0.01, 0.02, 0.03, 0.04, 0.05, 0.06]
    assert importance(std=None).to_frame()["std"].isna().all()


def test_new_kind_repr() -> None:
    imp = importance()
    assert repr(imp) == "Importance(method='permutation_importance', n_features=3, n_outputs=2)"
    assert "<b>Importance</b>" in imp._repr_html_() and "std" in imp._repr_html_()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"std": np.zeros((2, 2))},
            r"^std: expected shape \(features, outputs\) = \(3, 2\) to match values, got an array of shape \(2, 2\)",
        ),
        ({"values": np.zeros(3)}, r"^values: expected an array with 2 dimensions \(features, outputs\)"),
        ({"values": np.full((3, 2), np.nan)}, r"^values: expected finite numbers .*found 6 NaN and 0 infinite among 6"),
        ({"values": [[1.0, np.inf], [0, 0], [0, 0]]}, r"^values: expected finite numbers .*0 NaN and 1 infinite"),
        ({"values": [[1j, 0], [0, 0], [0, 0]]}, r"^values: expected a numeric array"),
        ({"feature_names": ["a", "a", "b"]}, r"^feature_names: expected unique names, got 'a' more than once"),
        ({"feature_names": "abc"}, r"^feature_names: expected a list of 3 str"),
        ({"output_names": ["p"]}, r"^output_names: expected a list of 2 str, got 1 names"),
        ({"diagnostics": {"n_repeats": [5, 5]}}, r"^diagnostics\['n_repeats'\]: expected shape \(features\) = \(3,\)"),
        ({"diagnostic_axes": {"w": "n"}}, r"^diagnostic_axes\['w'\]: expected distinct axis letters among 'fo'"),
        ({"method": ""}, r"^method: expected a non-empty str"),
    ],
)
def test_new_kind_validation_names_the_field_and_the_axes(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        importance(**overrides)


def test_a_bad_declaration_is_refused_when_the_class_is_created() -> None:
    with pytest.raises(TypeError, match=r"undeclared axis 'z'"):

        class Broken(Result):
            kind = "test-broken"
            fields = (Field("values", "z"),)
            axes = {"f": Axis("features")}

    with pytest.raises(TypeError, match="got an unexpected argument 'colour'"):
        importance(colour="red")


def test_built_in_kinds_refuse_non_finite_values_at_construction() -> None:
    for bad in (np.full((2, 3, 1), np.nan), np.array([[[1.0], [np.inf], [0.0]]] * 2)):
        with pytest.raises(InvalidParameterError, match=r"^values: expected finite numbers"):
            Attribution(values=bad, base_values=np.zeros((2, 1)), method="m")
    with pytest.raises(InvalidParameterError, match=r"^base_values: expected finite numbers"):
        Interaction(values=np.zeros((1, 2, 2, 1)), base_values=[[np.nan]], method="m")
    with pytest.raises(InvalidParameterError, match=r"^values: expected finite numbers"):
        RaggedAttribution(values=[[[np.nan]]], base_values=[[0.0]], row_feature_names=[["a"]], method="m")
    with pytest.raises(
        InvalidParameterError,
        match=r"^base_values: expected shape \(rows, outputs\) = \(2, 1\) to match values, got an array of shape \(3, 1\)",
    ):
        Attribution(values=np.zeros((2, 3, 1)), base_values=np.zeros((3, 1)), method="m")


# ----------------------------------------------------------------------------- built-in kinds
def test_float_data_is_referenced_read_only_not_copied() -> None:
    X = np.arange(6.0).reshape(2, 3)
    exp = Attribution(values=np.zeros((2, 3, 1)), base_values=np.zeros((2, 1)), data=X, method="m")
    assert exp.data is not None and np.shares_memory(exp.data, X)
    assert X.flags.writeable and not exp.data.flags.writeable  # the caller's array keeps its flags
    with pytest.raises(ValueError):
        exp.data.setflags(write=True)
    ints = np.arange(6).reshape(2, 3)
    converted = Attribution(values=np.zeros((2, 3, 1)), base_values=np.zeros((2, 1)), data=ints, method="m")
    assert converted.data is not None and converted.data.dtype == np.float64 and not np.shares_memory(converted.data, ints)


def test_input_shape_is_a_field_kept_by_row_slicing_and_dropped_by_feature_selection() -> None:
    exp = Attribution(values=np.arange(12.0).reshape(2, 6, 1), base_values=np.zeros((2, 1)), input_shape=(2, 3), method="m")
    assert exp.input_shape == (2, 3) and exp[1].input_shape == (2, 3)
    assert xk.as_input_shape(exp[1]).tolist() == [[[6.0, 7.0, 8.0], [9.0, 10.0, 11.0]]]
    assert exp[:, [0, 1]].input_shape is None
    assert Result.from_bytes(exp.to_bytes()).input_shape == (2, 3)  # type: ignore[attr-defined]
    with pytest.raises(InvalidParameterError, match=r"^input_shape: expected positive ints whose product is the 6 features"):
        Attribution(values=np.zeros((2, 6, 1)), base_values=np.zeros((2, 1)), input_shape=(4, 2), method="m")
    with pytest.raises(InvalidParameterError, match=r"^exp: expected an Attribution with an input_shape"):
        xk.as_input_shape(exp[:, [0, 1]])


def test_attribution_shape_of_a_0_1_file_becomes_the_input_shape(tmp_path: Path) -> None:
    exp = Attribution(values=np.zeros((1, 4, 1)), base_values=[[0.0]], method="saliency", diagnostics={"seed": 1})
    path = tmp_path / "old.xai"
    exp.save(path)
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    meta = json.loads(members["meta.json"])
    del meta["input_shape"]
    meta["diagnostics"].update({"attribution_shape": [2, 2], "input_shape": [2, 2]})  # what 0.1's gradient methods wrote
    members["meta.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    back = Attribution.load(path)
    assert back.input_shape == (2, 2) and back.diagnostics == {"seed": 1}


def test_ragged_is_a_sibling_kind_with_typed_rows() -> None:
    seg = np.zeros((2, 4, 5), dtype=np.int32)
    seg[:, :, 2:] = 1
    exp = RaggedAttribution(
        values=[[[0.5], [-1.0]], [[2.0], [0.0]]],
        base_values=[[0.0], [1.0]],
        row_feature_names=[["sky", "dog"], ["cat"]],
        segments=seg,
        method="lime",
    )
    assert not isinstance(exp, Attribution)
    assert exp.input_shape == (4, 5) and exp.segments is not None and exp.segments.dtype == np.int64
    assert exp.lengths.tolist() == [2, 1] and exp.feature_names == ["sky", "dog", "cat"]
    np.testing.assert_array_equal(exp.mean_abs(), [[0.5], [1.0], [2.0]])
    assert exp.ranking(target=0) == [("cat", 2.0), ("dog", 1.0), ("sky", 0.5)]
    row = exp[1]
    assert row.feature_names == ["cat"] and row.values.shape == (1, 1, 1) and row.segments.shape == (1, 4, 5)
    assert repr(exp) == "RaggedAttribution(method='lime', n_rows=2, max_features=2, n_outputs=1)"
    assert exp.to_dict()["row_feature_names"] == [["sky", "dog"], ["cat"]]
    back = Result.from_bytes(exp.to_bytes())
    assert type(back) is RaggedAttribution and back.input_shape == (4, 5)
    np.testing.assert_array_equal(back.segments, exp.segments)
    pick = xk.submodular_pick(exp, 1)  # reads the sibling kind: sqrt(0.5) + sqrt(1) for row 0 > sqrt(2) for row 1
    assert pick.rows == [0] and pick.feature_names == ["sky", "dog", "cat"]


def test_interaction_slices_both_feature_axes() -> None:
    values = np.arange(2 * 3 * 3 * 1, dtype=float).reshape(2, 3, 3, 1)
    inter = Interaction(
        values=values,
        base_values=np.zeros((2, 1)),
        feature_names=["a", "b", "c"],
        diagnostics={"completeness_gap": np.zeros((2, 1))},
        method="m",
    )
    sub = inter[1, ["c", "a"]]
    np.testing.assert_array_equal(sub.values[0, :, :, 0], values[1][np.ix_([2, 0], [2, 0])][:, :, 0])
    assert sub.feature_names == ["c", "a"] and sub.diagnostics["completeness_gap"].shape == (1, 1)
    assert list(inter.to_frame().columns) == ["row", "feature", "feature_2", "output", "value", "data"]
    assert repr(inter) == "Interaction(method='m', n_rows=2, n_features=3, n_outputs=1)"


def test_an_array_nobody_can_write_is_taken_without_a_copy():
    """A producer hands its values over by marking them read-only: the result adds no copy; a
    writable array, or a read-only view of a writable one, is copied (the caller could change it)."""
    values = np.arange(6.0).reshape(2, 3, 1)
    from xaikit.results.base import hand_over

    hand_over(values)  # the reshape's base too
    base = np.zeros((2, 1))
    exp = Attribution(values=values, base_values=base, method="demo")
    assert exp.values is values or np.shares_memory(exp.values, values)
    assert not np.shares_memory(exp.base_values, base)  # writable: copied
    writable = np.arange(6.0).reshape(2, 3, 1)
    view = writable.view()
    view.setflags(write=False)
    again = Attribution(values=view, base_values=base, method="demo")
    assert not np.shares_memory(again.values, writable)
    writable[0, 0, 0] = 99.0
    assert again.values[0, 0, 0] == 0.0
