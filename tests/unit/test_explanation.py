"""Tests of xaikit.results (Attribution, Ragged kinds and the file format): validation, slicing, summaries and the file format."""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import xaikit as xk
from xaikit.errors import FormatError, InvalidParameterError
from xaikit.results import DIAGNOSTIC_AXES, Attribution, Explanation
from xaikit.results import base as base_module
from xaikit.results import format as explanation_module

N, D, O = 5, 4, 2


def make(**overrides: Any) -> Attribution:
    rng = np.random.default_rng(0)
    kwargs: dict[str, Any] = {
        "values": rng.normal(size=(N, D, O)),
        "base_values": rng.normal(size=(N, O)),
        "data": rng.normal(size=(N, D)),
        "feature_names": ["age", "income", "city", "score"],
        "output_names": ["no", "yes"],
        "method": "kernel_shap",
        "params": {"n_samples": 100, "nested": {"link": "identity", "grid": [1, 2.5, None]}},
        "diagnostics": {
            "std_err": rng.uniform(size=(N, D, O)),
            "completeness_gap": rng.normal(size=(N, O)),
            "n_model_calls": np.arange(N) * 10 + 3,
            "runtime_s": 0.25,
            "seed": 7,
        },
        "provenance": {"xaikit": "0.1", "background": {"n": 50}},
    }
    kwargs.update(overrides)
    return Attribution(**kwargs)


def assert_same(a: Attribution, b: Attribution, *, normalise_params: bool = False) -> None:
    """Exact equality of two attributions (arrays bitwise, NaN == NaN in object data).

    With ``normalise_params``, ``a.params`` and ``a.provenance`` are compared in their JSON
    form (tuples as lists, numpy values as Python values), as they are written to files.
    """
    assert type(a) is type(b)
    assert a.method == b.method
    assert a.values.dtype == b.values.dtype and a.values.shape == b.values.shape
    assert a.values.tobytes() == b.values.tobytes()
    assert a.base_values.tobytes() == b.base_values.tobytes()
    assert a.feature_names == b.feature_names
    assert a.output_names == b.output_names
    if normalise_params:
        assert explanation_module._to_json(a.params, "params") == b.params
        assert explanation_module._to_json(a.provenance, "provenance") == b.provenance
    else:
        assert a.params == b.params
        assert a.provenance == b.provenance
    assert a.diagnostic_axes == b.diagnostic_axes
    assert set(a.diagnostics) == set(b.diagnostics)
    for key, va in a.diagnostics.items():
        vb = b.diagnostics[key]
        if isinstance(va, np.ndarray):
            assert isinstance(vb, np.ndarray), key
            assert va.dtype == vb.dtype and va.shape == vb.shape, key
            assert va.tobytes() == vb.tobytes(), key
        elif isinstance(va, float) and math.isnan(va):
            assert isinstance(vb, float) and math.isnan(vb), key
        else:
            assert va == vb and type(va) is type(vb), key
    if a.data is None:
        assert b.data is None
    else:
        assert b.data is not None
        assert a.data.dtype == b.data.dtype and a.data.shape == b.data.shape
        if a.data.dtype == object:
            for x, y in zip(a.data.ravel().tolist(), b.data.ravel().tolist()):
                if isinstance(x, float) and math.isnan(x):
                    assert isinstance(y, float) and math.isnan(y)
                else:
                    assert x == y and type(x) is type(y)
        else:
            assert a.data.tobytes() == b.data.tobytes()


# --------------------------------------------------------------------------------------
# construction and validation
# --------------------------------------------------------------------------------------


def test_basic_properties_and_defaults() -> None:
    exp = Attribution(values=np.zeros((3, 2, 1)), base_values=np.zeros((3, 1)), method="m")
    assert exp.shape == (3, 2, 1)
    assert (exp.n_rows, exp.n_features, exp.n_outputs) == (3, 2, 1)
    assert len(exp) == 3
    assert exp.feature_names == ["x0", "x1"]
    assert exp.output_names == ["output0"]
    assert exp.data is None
    assert exp.params == {} and exp.diagnostics == {} and exp.provenance == {}
    assert exp.values.dtype == np.float64 and exp.base_values.dtype == np.float64
    assert exp.diagnostic_axes == DIAGNOSTIC_AXES
    assert repr(exp) == "Attribution(method='m', n_rows=3, n_features=2, n_outputs=1)"


def test_int_input_converted_to_float64_and_copied() -> None:
    values = np.ones((1, 2, 1), dtype=int)
    exp = Attribution(values=values, base_values=[[0]], data=[[1, 2]], method="m")
    assert exp.values.dtype == np.float64
    assert exp.data is not None and exp.data.dtype == np.float64
    values[0, 0, 0] = 5
    assert exp.values[0, 0, 0] == 1.0


def test_two_dimensional_values_rejected() -> None:
    with pytest.raises(InvalidParameterError, match=r"values: expected an array with 3 dimensions"):
        Attribution(values=np.zeros((3, 2)), base_values=np.zeros((3, 1)), method="m")


def test_non_numeric_values_rejected() -> None:
    with pytest.raises(InvalidParameterError, match="values"):
        Attribution(values=np.array([[["a"]]]), base_values=np.zeros((1, 1)), method="m")


def test_mismatched_base_values_rejected() -> None:
    with pytest.raises(InvalidParameterError, match=r"base_values: expected shape .* \(3, 1\)"):
        Attribution(values=np.zeros((3, 2, 1)), base_values=np.zeros((2, 1)), method="m")
    with pytest.raises(InvalidParameterError, match="base_values: expected an array with 2 dimensions"):
        Attribution(values=np.zeros((3, 2, 1)), base_values=np.zeros(3), method="m")


def test_mismatched_data_rejected() -> None:
    with pytest.raises(InvalidParameterError, match=r"data: expected shape .* \(3, 2\)"):
        Attribution(values=np.zeros((3, 2, 1)), base_values=np.zeros((3, 1)), data=np.zeros((3, 3)), method="m")


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"feature_names": ["a"]}, r"feature_names: expected a list of 2 str, got 1"),
        ({"feature_names": ["a", "b", "c"]}, r"feature_names: expected a list of 2 str, got 3"),
        ({"output_names": ["p", "q"]}, r"output_names: expected a list of 1 str, got 2"),
        ({"feature_names": ["a", "a"]}, r"feature_names: expected unique names, got 'a'"),
        ({"feature_names": ["a", 1]}, r"feature_names\[1\]: expected a str"),
        ({"feature_names": "ab"}, r"feature_names: expected a list of 2 str"),
    ],
)
def test_bad_names_rejected(kwargs: dict[str, Any], pattern: str) -> None:
    with pytest.raises(InvalidParameterError, match=pattern):
        Attribution(values=np.zeros((3, 2, 1)), base_values=np.zeros((3, 1)), method="m", **kwargs)


def test_bad_method_rejected() -> None:
    with pytest.raises(InvalidParameterError, match="method: expected a non-empty str"):
        Attribution(values=np.zeros((1, 1, 1)), base_values=np.zeros((1, 1)), method="")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("std_err", np.zeros((N, D))),
        ("std_err", np.zeros((N, D, O + 1))),
        ("completeness_gap", np.zeros((N, O, 1))),
        ("n_model_calls", np.zeros(N + 1)),
        ("local_fidelity", [1.0, 2.0]),
    ],
)
def test_bad_diagnostic_shape_rejected(key: str, value: Any) -> None:
    with pytest.raises(InvalidParameterError, match=rf"diagnostics\['{key}'\]: expected shape"):
        make(diagnostics={key: value})


def test_object_array_diagnostic_rejected() -> None:
    with pytest.raises(InvalidParameterError, match=r"diagnostics\['odd'\]"):
        make(diagnostics={"odd": np.array([1, "a"], dtype=object)})


def test_unsupported_diagnostic_value_rejected() -> None:
    with pytest.raises(InvalidParameterError, match=r"diagnostics\['fn'\]"):
        make(diagnostics={"fn": print})


def test_n_model_calls_scalar_kept() -> None:
    exp = make(diagnostics={"n_model_calls": 1234, "flag": np.bool_(True), "rate": np.float32(0.5)})
    diag = exp.diagnostics
    assert diag["n_model_calls"] == 1234 and type(diag["n_model_calls"]) is int
    assert diag["flag"] is True
    assert diag["rate"] == 0.5 and type(diag["rate"]) is float
    assert exp[1:3].diagnostics["n_model_calls"] == 1234


def test_declared_list_diagnostic_becomes_array() -> None:
    exp = make(diagnostics={"n_model_calls": [1, 2, 3, 4, 5]})
    calls = exp.diagnostics["n_model_calls"]
    assert isinstance(calls, np.ndarray) and calls.tolist() == [1, 2, 3, 4, 5]
    assert exp[[4, 0]].diagnostics["n_model_calls"].tolist() == [5, 1]


def test_extra_diagnostic_axes() -> None:
    weights = np.arange(N * D, dtype=float).reshape(N, D)
    exp = make(diagnostics={"weights": weights}, diagnostic_axes={"weights": "nd"})
    assert exp.diagnostic_axes["weights"] == "nd"
    sub = exp[[1, 3], ["city", "age"]]
    np.testing.assert_array_equal(sub.diagnostics["weights"], weights[np.ix_([1, 3], [2, 0])])
    with pytest.raises(InvalidParameterError, match=r"diagnostics\['weights'\]: expected shape"):
        make(diagnostics={"weights": weights.T}, diagnostic_axes={"weights": "nd"})


@pytest.mark.parametrize("axes", ["nx", "nn", "", 3])
def test_bad_diagnostic_axes_rejected(axes: Any) -> None:
    with pytest.raises(InvalidParameterError, match=r"diagnostic_axes\['w'\]"):
        make(diagnostic_axes={"w": axes})


def test_undeclared_diagnostics_not_sliced() -> None:
    trace = np.arange(7.0)
    exp = make(diagnostics={"trace": trace, "history": [1, (2, 3)]})
    sub = exp[0]
    np.testing.assert_array_equal(sub.diagnostics["trace"], trace)
    assert sub.diagnostics["history"] == [1, [2, 3]]


def test_feature_names_from_dataframe_columns() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["u", "v"]})
    exp = Attribution(values=np.zeros((2, 2, 1)), base_values=np.zeros((2, 1)), data=frame, method="m")
    assert exp.feature_names == ["a", "b"]
    assert exp.data is not None and exp.data.dtype == object
    assert exp.data[1, 1] == "v"


def test_base_class_cannot_be_instantiated() -> None:
    with pytest.raises(TypeError, match="base class"):
        Explanation(method="m")


def test_kind_registry() -> None:
    assert base_module._KINDS["attribution"] is Attribution
    with pytest.raises(TypeError, match="already registered"):

        class Clash(Explanation):
            kind = "attribution"
            fields = Attribution.fields
            axes = Attribution.axes


# --------------------------------------------------------------------------------------
# immutability
# --------------------------------------------------------------------------------------


def test_attribute_assignment_raises() -> None:
    exp = make()
    with pytest.raises(AttributeError):
        exp.values = np.zeros((N, D, O))  # type: ignore[misc]
    with pytest.raises(AttributeError):
        exp.method = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        exp.anything = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        del exp._values


def test_arrays_read_only() -> None:
    exp = make()
    for arr in (exp.values, exp.base_values, exp.data, exp.diagnostics["std_err"]):
        assert arr is not None
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0] = 0.0
        with pytest.raises(ValueError):
            arr.setflags(write=True)


def test_input_arrays_copied() -> None:
    values = np.zeros((N, D, O))
    std_err = np.zeros((N, D, O))
    exp = make(values=values, diagnostics={"std_err": std_err})
    values[:] = 1.0
    std_err[:] = 1.0
    assert exp.values.sum() == 0.0
    assert exp.diagnostics["std_err"].sum() == 0.0
    assert values.flags.writeable


def test_returned_containers_are_copies() -> None:
    exp = make()
    exp.feature_names.append("zzz")
    exp.params["n_samples"] = -1
    exp.diagnostics["seed"] = -1
    exp.provenance["xaikit"] = "?"
    assert exp.feature_names == ["age", "income", "city", "score"]
    assert exp.params["n_samples"] == 100
    assert exp.diagnostics["seed"] == 7
    assert exp.provenance["xaikit"] == "0.1"


# --------------------------------------------------------------------------------------
# slicing
# --------------------------------------------------------------------------------------

SLICE_CASES: list[tuple[Any, tuple[Any, Any, Any]]] = [
    (0, ([0], slice(None), slice(None))),
    (-1, ([N - 1], slice(None), slice(None))),
    (slice(1, 4), (slice(1, 4), slice(None), slice(None))),
    (slice(None, None, -2), (slice(None, None, -2), slice(None), slice(None))),
    ([3, 0, 3], ([3, 0, 3], slice(None), slice(None))),
    (np.array([4, 1]), ([4, 1], slice(None), slice(None))),
    (np.array([True, False, True, False, True]), ([0, 2, 4], slice(None), slice(None))),
    ((slice(None), "income"), (slice(None), [1], slice(None))),
    ((slice(None), ["score", "age"]), (slice(None), [3, 0], slice(None))),
    ((2, 1, "yes"), ([2], [1], [1])),
    ((slice(0, 2), [True, False, True, True], 0), (slice(0, 2), [0, 2, 3], [0])),
    ((np.int64(1), np.array([2]), ["yes", "no"]), ([1], [2], [1, 0])),
    (([], slice(None)), ([], slice(None), slice(None))),
    ((1,), ([1], slice(None), slice(None))),
]


@pytest.mark.parametrize(("key", "expected"), SLICE_CASES)
def test_getitem_matches_numpy(key: Any, expected: tuple[Any, Any, Any]) -> None:
    exp = make()
    sub = exp[key]
    rows, feats, outs = (np.arange(size)[part] for size, part in zip((N, D, O), expected))
    assert isinstance(sub, Attribution)
    assert sub.values.ndim == 3
    np.testing.assert_array_equal(sub.values, exp.values[np.ix_(rows, feats, outs)])
    np.testing.assert_array_equal(sub.base_values, exp.base_values[np.ix_(rows, outs)])
    assert sub.data is not None and exp.data is not None
    np.testing.assert_array_equal(sub.data, exp.data[np.ix_(rows, feats)])
    assert sub.feature_names == [exp.feature_names[i] for i in feats]
    assert sub.output_names == [exp.output_names[i] for i in outs]
    diag, sub_diag = exp.diagnostics, sub.diagnostics
    np.testing.assert_array_equal(sub_diag["std_err"], diag["std_err"][np.ix_(rows, feats, outs)])
    np.testing.assert_array_equal(sub_diag["completeness_gap"], diag["completeness_gap"][np.ix_(rows, outs)])
    np.testing.assert_array_equal(sub_diag["n_model_calls"], diag["n_model_calls"][rows])
    assert sub_diag["runtime_s"] == 0.25 and sub_diag["seed"] == 7
    assert sub.method == exp.method and sub.params == exp.params and sub.provenance == exp.provenance
    assert not sub.values.flags.writeable


def test_integer_index_keeps_axis() -> None:
    exp = make()
    assert exp[0].values.shape == (1, D, O)
    assert exp[0, 0, 0].values.shape == (1, 1, 1)
    assert exp[:, "city"].shape == (N, 1, O)


def test_slicing_object_data() -> None:
    data = np.array([[i, f"s{i}", float(i) / 2, None] for i in range(N)], dtype=object)
    exp = make(data=data)
    sub = exp[[2, 4], ["income", "city"]]
    assert sub.data is not None and sub.data.dtype == object
    assert sub.data.tolist() == [["s2", 1.0], ["s4", 2.0]]


def test_iteration_yields_rows() -> None:
    exp = make()
    rows = list(exp)
    assert len(rows) == N
    np.testing.assert_array_equal(rows[3].values[0], exp.values[3])


def test_unknown_feature_name_message() -> None:
    exp = make()
    with pytest.raises(InvalidParameterError, match=r"unknown feature name 'height'.*'age', 'income'") as info:
        exp[:, "height"]
    assert "height" in str(info.value)
    with pytest.raises(InvalidParameterError, match="unknown output name 'maybe'"):
        exp[:, :, ["yes", "maybe"]]


def test_unknown_name_list_truncated() -> None:
    names = [f"feat{i}" for i in range(30)]
    exp = Attribution(values=np.zeros((1, 30, 1)), base_values=np.zeros((1, 1)), feature_names=names, method="m")
    with pytest.raises(InvalidParameterError, match=r"and 20 more") as info:
        exp[:, "nope"]
    assert "feat29" not in str(info.value)


@pytest.mark.parametrize(
    ("key", "pattern"),
    [
        (N, r"rows: index 5 is out of range for 5 rows"),
        (-N - 1, r"rows: index -6 is out of range"),
        ([0, 9], r"rows: index 9 is out of range"),
        ((slice(None), D), r"features: index 4 is out of range for 4 features"),
        ((slice(None), slice(None), [2]), r"outputs: index 2 is out of range"),
        ("age", r"rows: cannot be selected by name"),
        ([True, False], r"rows: expected a boolean mask of length 5, got one of length 2"),
        (1.5, r"rows: expected an int"),
        (True, r"rows: expected an int"),
        ((0, 0, 0, 0), r"at most 3 parts"),
        ((slice(None), ["age", "age"]), r"features: expected each feature at most once, got 'age'"),
        (np.zeros((2, 2), dtype=int), r"rows: expected a 1-D index"),
    ],
)
def test_bad_index_rejected(key: Any, pattern: str) -> None:
    with pytest.raises(InvalidParameterError, match=pattern):
        make()[key]


# --------------------------------------------------------------------------------------
# summaries
# --------------------------------------------------------------------------------------


def test_to_frame_columns_and_values() -> None:
    exp = make()
    frame = exp.to_frame()
    assert list(frame.columns) == ["row", "feature", "output", "value", "data", "std_err"]
    assert len(frame) == N * D * O
    # row-major: (row 0, age, no), (row 0, age, yes), (row 0, income, no), ...
    assert frame["row"].tolist()[: D * O + 1] == [0] * (D * O) + [1]
    assert frame["feature"].tolist()[:4] == ["age", "age", "income", "income"]
    assert frame["output"].tolist()[:3] == ["no", "yes", "no"]
    line = frame.iloc[(3 * D + 2) * O + 1]
    assert (line["row"], line["feature"], line["output"]) == (3, "city", "yes")
    assert line["value"] == exp.values[3, 2, 1]
    assert exp.data is not None and line["data"] == exp.data[3, 2]
    assert line["std_err"] == exp.diagnostics["std_err"][3, 2, 1]
    np.testing.assert_array_equal(frame["value"].to_numpy(), exp.values.ravel())


def test_to_frame_without_data_or_std_err() -> None:
    exp = Attribution(values=np.ones((2, 2, 1)), base_values=np.zeros((2, 1)), method="m")
    frame = exp.to_frame()
    assert list(frame.columns) == ["row", "feature", "output", "value", "data"]
    assert frame["data"].isna().all()


def test_to_frame_object_data() -> None:
    data = np.array([["a", 1.5], ["b", 2.5]], dtype=object)
    exp = Attribution(values=np.ones((2, 2, 1)), base_values=np.zeros((2, 1)), data=data, method="m")
    assert exp.to_frame()["data"].tolist() == ["a", 1.5, "b", 2.5]


def test_mean_abs_and_ranking() -> None:
    values = np.array(
        [
            [[1.0, 0.0], [-4.0, 1.0], [2.0, -3.0]],
            [[-3.0, 0.0], [0.0, 1.0], [2.0, 3.0]],
        ]
    )
    exp = Attribution(
        values=values, base_values=np.zeros((2, 2)), feature_names=["a", "b", "c"], output_names=["p", "q"], method="m"
    )
    np.testing.assert_array_equal(exp.mean_abs(), [[2.0, 0.0], [2.0, 1.0], [2.0, 3.0]])
    assert exp.ranking() == [("a", 2.0), ("b", 2.0), ("c", 2.0)]
    assert exp.ranking(1) == [("c", 3.0), ("b", 1.0), ("a", 0.0)]
    assert exp.ranking("q") == exp.ranking(1)
    assert exp.ranking(-1) == exp.ranking(1)
    with pytest.raises(InvalidParameterError, match="unknown output name 'r'"):
        exp.ranking("r")
    with pytest.raises(InvalidParameterError, match="outputs: index 2 is out of range"):
        exp.ranking(2)


def test_completeness() -> None:
    exp = make()
    np.testing.assert_allclose(exp.completeness(), exp.values.sum(axis=1) + exp.base_values)
    assert exp.completeness().shape == (N, O)


def test_repr_html_escapes_and_limits() -> None:
    names = ["<b>"] + [f"f{i}" for i in range(14)]
    values = np.zeros((2, 15, 1))
    values[:, 0, 0] = 100.0
    exp = Attribution(
        values=values, base_values=np.zeros((2, 1)), feature_names=names, output_names=["o&k"], method="m"
    )
    text = exp._repr_html_()
    assert "&lt;b&gt;" in text
    assert "<b>" not in text.replace("<b>Attribution</b>", "")
    assert "o&amp;k" in text
    assert text.count("<tr><td>") == 10


# --------------------------------------------------------------------------------------
# save / load
# --------------------------------------------------------------------------------------


def test_round_trip_float_data(tmp_path: Path) -> None:
    exp = make()
    target = tmp_path / "result.xai"
    exp.save(target)
    assert sorted(os.listdir(tmp_path)) == ["result.xai"]
    loaded = Explanation.load(target)
    assert isinstance(loaded, Attribution)
    assert_same(exp, loaded)
    assert_same(exp, Attribution.load(str(target)))


def test_round_trip_object_data(tmp_path: Path) -> None:
    data = np.array(
        [
            ["red", 1.5, 3, True],
            ["blue", float("nan"), -2, False],
            ["", np.float64(2.25), np.int64(10), np.bool_(True)],
        ],
        dtype=object,
    )
    exp = Attribution(values=np.zeros((3, 4, 1)), base_values=np.zeros((3, 1)), data=data, method="m")
    target = tmp_path / "obj"
    exp.save(target)
    loaded = Attribution.load(target)
    assert loaded.data is not None and loaded.data.dtype == object
    assert loaded.data[0].tolist() == ["red", 1.5, 3, True]
    assert math.isnan(loaded.data[1, 1])
    assert loaded.data[2].tolist() == ["", 2.25, 10, True]
    assert type(loaded.data[2, 2]) is int and type(loaded.data[2, 3]) is bool
    with zipfile.ZipFile(target) as zf:
        meta = json.loads(zf.read("meta.json"))
    (entry,) = [e for e in meta["arrays"] if e["field"] == "data"]
    assert entry["storage"] == "json-columns"
    assert entry["columns"][1] == [1.5, None, 2.25]


def test_round_trip_diagnostics_and_nested_params(tmp_path: Path) -> None:
    exp = make(
        params={"a": {"b": [1, {"c": None}], "d": np.float32(0.5)}, "t": (1, 2), "arr": np.arange(3)},
        diagnostics={
            "std_err": np.full((N, D, O), 0.1),
            "n_model_calls": np.arange(N, dtype=np.int32),
            "weights/odd key": np.arange(6).reshape(2, 3),
            "labels": np.array(["u", "v"]),
            "converged": True,
            "fidelity": float("nan"),
            "note": None,
            "trace": [0.5, 0.25],
        },
        diagnostic_axes={"extra": "d"},
        provenance={"numpy": np.__version__, "seed": np.int64(3), "output": "raw"},
    )
    target = tmp_path / "diag.bin"
    exp.save(target)
    loaded = Attribution.load(target)
    assert_same(exp, loaded, normalise_params=True)
    assert loaded.params == {"a": {"b": [1, {"c": None}], "d": 0.5}, "t": [1, 2], "arr": [0, 1, 2]}
    assert loaded.diagnostics["n_model_calls"].dtype == np.int32
    assert loaded.diagnostics["labels"].tolist() == ["u", "v"]
    assert loaded.diagnostic_axes["extra"] == "d"
    assert loaded.provenance["seed"] == 3 and type(loaded.provenance["seed"]) is int


def test_round_trip_without_data_and_empty_rows(tmp_path: Path) -> None:
    exp = make(data=None)[[]]
    assert exp.shape == (0, D, O)
    target = tmp_path / "empty"
    exp.save(target)
    assert_same(exp, Explanation.load(target))


def test_saved_file_layout(tmp_path: Path) -> None:
    target = tmp_path / "layout.zip"
    make().save(target)
    with zipfile.ZipFile(target) as zf:
        names = zf.namelist()
        meta = json.loads(zf.read("meta.json"))
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in zf.infolist())
    assert "meta.json" in names and "values.npy" in names and "base_values.npy" in names
    assert meta["format"] == "xaikit-explanation"
    assert meta["format_version"] == 1
    assert meta["kind"] == "attribution"
    assert meta["method"] == "kernel_shap"
    assert meta["feature_names"] == ["age", "income", "city", "score"]
    assert meta["diagnostics"] == {"runtime_s": 0.25, "seed": 7}
    assert {e["key"] for e in meta["arrays"] if e["field"] == "diagnostics"} == {
        "std_err",
        "completeness_gap",
        "n_model_calls",
    }


def test_save_does_not_change_extension(tmp_path: Path) -> None:
    target = tmp_path / "noext"
    make().save(str(target))
    assert sorted(os.listdir(tmp_path)) == ["noext"]


def test_failed_save_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "keep.xai"
    make().save(target)
    before = target.read_bytes()
    bad = make(params={"model": object()})
    with pytest.raises(InvalidParameterError, match=r"params\['model'\]: expected a JSON-serialisable"):
        bad.save(target)
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keep.xai"]


def test_failed_save_in_provenance_names_key(tmp_path: Path) -> None:
    bad = make(provenance={"versions": {"x": {1, 2}}})
    with pytest.raises(InvalidParameterError, match=r"provenance\['versions'\]\['x'\]"):
        bad.save(tmp_path / "p")
    assert os.listdir(tmp_path) == []


def test_non_str_param_keys_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match=r"params\['grid'\]: expected str keys"):
        make(params={"grid": {1: "a"}}).save(tmp_path / "k")


def test_unsavable_object_data_rejected(tmp_path: Path) -> None:
    exp = Attribution(
        values=np.zeros((1, 1, 1)), base_values=np.zeros((1, 1)), data=np.array([[object()]], dtype=object), method="m"
    )
    with pytest.raises(InvalidParameterError, match=r"data\[0, 0\]: expected a JSON scalar"):
        exp.save(tmp_path / "o")
    assert os.listdir(tmp_path) == []


def test_failure_mid_write_removes_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "keep.xai"
    make().save(target)
    before = target.read_bytes()

    def broken_write_array(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(explanation_module.npy_format, "write_array", broken_write_array)
    with pytest.raises(OSError, match="disk full"):
        make(values=np.ones((N, D, O))).save(target)
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keep.xai"]


def test_save_replaces_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "r.xai"
    make().save(target)
    make(method="other").save(target)
    assert Explanation.load(target).method == "other"
    assert sorted(os.listdir(tmp_path)) == ["r.xai"]


def _write_zip(path: Path, meta: Any | None, extra: dict[str, bytes] | None = None) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        if meta is not None:
            zf.writestr("meta.json", json.dumps(meta))
        for name, content in (extra or {}).items():
            zf.writestr(name, content)


def _good_meta(tmp_path: Path) -> dict[str, Any]:
    target = tmp_path / "good.xai"
    make().save(target)
    with zipfile.ZipFile(target) as zf:
        meta: dict[str, Any] = json.loads(zf.read("meta.json"))
    return meta


def test_load_not_a_zip(tmp_path: Path) -> None:
    target = tmp_path / "plain.txt"
    target.write_text("not an archive")
    with pytest.raises(FormatError, match=r"plain\.txt: not an xaikit explanation file: expected a ZIP archive"):
        Explanation.load(target)


def test_load_without_meta(tmp_path: Path) -> None:
    target = tmp_path / "nometa.zip"
    _write_zip(target, None, {"other.txt": b"x"})
    with pytest.raises(FormatError, match=r"no meta\.json \(found 'other\.txt'\)"):
        Explanation.load(target)


def test_load_wrong_format_string(tmp_path: Path) -> None:
    meta = _good_meta(tmp_path)
    meta["format"] = "something-else"
    target = tmp_path / "wrong.zip"
    _write_zip(target, meta)
    with pytest.raises(FormatError, match=r"expected format 'xaikit-explanation'.*found 'something-else'"):
        Explanation.load(target)


def test_load_future_version(tmp_path: Path) -> None:
    meta = _good_meta(tmp_path)
    meta["format_version"] = 2
    target = tmp_path / "future.zip"
    _write_zip(target, meta)
    with pytest.raises(FormatError, match=r"future\.zip: written with format_version 2.*up to 1"):
        Explanation.load(target)


def test_load_invalid_json(tmp_path: Path) -> None:
    target = tmp_path / "badjson.zip"
    with zipfile.ZipFile(target, "w") as zf:
        zf.writestr("meta.json", "{not json")
    with pytest.raises(FormatError, match="not valid UTF-8 JSON"):
        Explanation.load(target)


def test_load_unknown_kind(tmp_path: Path) -> None:
    meta = _good_meta(tmp_path)
    meta["kind"] = "hologram"
    target = tmp_path / "kind.zip"
    _write_zip(target, meta)
    with pytest.raises(FormatError, match=r"unknown explanation kind 'hologram'.*'attribution'"):
        Explanation.load(target)


def test_load_missing_member(tmp_path: Path) -> None:
    meta = _good_meta(tmp_path)
    target = tmp_path / "missing.zip"
    _write_zip(target, meta)
    with pytest.raises(FormatError, match="lacks the array member"):
        Explanation.load(target)


def test_load_inconsistent_content(tmp_path: Path) -> None:
    meta = _good_meta(tmp_path)
    meta["feature_names"] = ["only_one"]
    source = tmp_path / "good.xai"
    target = tmp_path / "inconsistent.zip"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for name in src.namelist():
            if name != "meta.json":
                dst.writestr(name, src.read(name))
        dst.writestr("meta.json", json.dumps(meta))
    with pytest.raises(FormatError, match=r"stored attribution is not valid: feature_names"):
        Explanation.load(target)


def test_load_refuses_pickled_arrays(tmp_path: Path) -> None:
    meta = _good_meta(tmp_path)
    source = tmp_path / "good.xai"
    target = tmp_path / "pickled.zip"
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for name in src.namelist():
            if name not in ("meta.json", "values.npy"):
                dst.writestr(name, src.read(name))
        dst.writestr("values.npy", buffer.getvalue())
        dst.writestr("meta.json", json.dumps(meta))
    with pytest.raises(FormatError, match="values.npy"):
        Explanation.load(target)


# --------------------------------------------------------------------------------------
# property: random shapes round-trip exactly
# --------------------------------------------------------------------------------------

_floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
_finite = st.floats(allow_nan=False, allow_infinity=False, width=64)  # values and base values are finite
_names = st.text(min_size=1, max_size=8)


@st.composite
def attributions(draw: st.DrawFn) -> Attribution:
    n = draw(st.integers(1, 4))
    d = draw(st.integers(1, 4))
    o = draw(st.integers(1, 4))
    values = draw(hnp.arrays(np.float64, (n, d, o), elements=_finite))
    base_values = draw(hnp.arrays(np.float64, (n, o), elements=_finite))
    data_kind = draw(st.sampled_from(["none", "float", "object"]))
    data: Any = None
    if data_kind == "float":
        data = draw(hnp.arrays(np.float64, (n, d), elements=_floats))
    elif data_kind == "object":
        cell = st.one_of(
            st.text(max_size=5),
            st.floats(allow_nan=False, allow_infinity=False),
            st.integers(-(10**6), 10**6),
            st.booleans(),
        )
        data = np.empty((n, d), dtype=object)
        for i in range(n):
            for j in range(d):
                data[i, j] = draw(cell)
    feature_names = draw(st.lists(_names, min_size=d, max_size=d, unique=True))
    output_names = draw(st.lists(_names, min_size=o, max_size=o, unique=True))
    diagnostics: dict[str, Any] = {"seed": draw(st.integers(0, 2**32))}
    if draw(st.booleans()):
        diagnostics["std_err"] = draw(hnp.arrays(np.float64, (n, d, o), elements=_floats))
    if draw(st.booleans()):
        diagnostics["n_model_calls"] = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, 10**9)))
    params = draw(
        st.dictionaries(
            st.text(max_size=5),
            st.recursive(
                st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
                lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                max_leaves=6,
            ),
            max_size=4,
        )
    )
    return Attribution(
        values=values,
        base_values=base_values,
        data=data,
        feature_names=feature_names,
        output_names=output_names,
        method=draw(st.sampled_from(["kernel_shap", "exact", "permutation"])),
        params=params,
        diagnostics=diagnostics,
        provenance={"numpy": np.__version__},
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exp=attributions())
def test_random_round_trip_is_exact(exp: Attribution) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, "random.xai")
        exp.save(target)
        loaded = Explanation.load(target)
        assert os.listdir(tmp) == ["random.xai"]
    assert isinstance(loaded, Attribution)
    assert_same(exp, loaded)


# ----------------------------------------------------------------------------- ragged collections
def _ragged() -> xk.RaggedAttribution:
    values = np.zeros((3, 3, 2))
    values[0, :2] = [[0.5, -0.5], [-0.2, 0.2]]
    values[1, :3] = [[0.9, -0.9], [0.1, -0.1], [0.3, -0.3]]
    values[2, :1] = [[0.4, -0.4]]
    return xk.RaggedAttribution(
        values=values, base_values=np.ones((3, 2)),
        row_feature_names=[["good", "film"], ["bad", "film", "plot"], ["good"]],
        output_names=["neg", "pos"],
        spans=[[[[0, 4]], [[5, 9]]], [[[0, 3]], [[4, 8]], [[9, 13]]], [[[0, 4]]]],
        texts=["good film", "bad film plot", "good"],
        method="lime", diagnostics={"std_err": np.abs(values) / 10},
    )


def test_ragged_row_has_its_own_features_and_spans() -> None:
    exp = _ragged()
    row = exp[1]
    assert row.feature_names == ["bad", "film", "plot"]
    assert row.values[0, :, 1].tolist() == [-0.9, -0.1, -0.3]
    assert row.diagnostics["std_err"].shape == (1, 3, 2)
    text, spans = row.texts[0], row.spans[0]
    assert [text[s:e] for (s, e), in spans] == row.feature_names
    one = exp[1, ["plot", "bad"], "pos"]
    assert one.feature_names == ["plot", "bad"] and one.values.ravel().tolist() == [-0.3, -0.9]
    assert [one.texts[0][s:e] for (s, e), in one.spans[0]] == ["plot", "bad"]


def test_ragged_rows_keep_padding_and_refuse_feature_selection() -> None:
    exp = _ragged()
    two = exp[[0, 2]]
    assert two.shape == (2, 2, 2) and two.lengths.tolist() == [2, 1]
    assert two.values[1, 1].tolist() == [0.0, 0.0]
    with pytest.raises(InvalidParameterError, match="features: rows have their own features"):
        exp[:, "good"]
    # mean_abs: one line per distinct feature name (first seen first), the mean |value| over the rows that have it
    assert exp.feature_names == ["good", "film", "bad", "plot"]
    np.testing.assert_allclose(exp.mean_abs()[:, 0], [0.45, 0.15, 0.9, 0.3])
    assert exp.ranking("neg")[0] == ("bad", 0.9)
    assert dict(exp.ranking("neg"))["good"] == pytest.approx(0.45)  # mean over the two rows that have it
    frame = exp.to_frame()
    assert len(frame) == (2 + 3 + 1) * 2 and set(frame["feature"]) == {"good", "film", "bad", "plot"}


def test_ragged_round_trip(tmp_path) -> None:
    exp = _ragged()
    seg = np.arange(3 * 4 * 5).reshape(3, 4, 5) % 2
    img = xk.RaggedAttribution(values=exp.values, base_values=exp.base_values,
                               row_feature_names=exp.row_feature_names, segments=seg, method="lime")
    for original in (exp, img):
        path = tmp_path / "r.xai"
        original.save(path)
        back = xk.Explanation.load(path)
        assert type(back) is xk.RaggedAttribution
        np.testing.assert_array_equal(back.values, original.values)
        assert back.row_feature_names == original.row_feature_names
        assert back.spans == original.spans and back.texts == original.texts
        assert (back.segments is None) == (original.segments is None)
    np.testing.assert_array_equal(xk.Explanation.load(path).segments, seg)


def test_ragged_bad_input_names_the_parameter() -> None:
    values = np.ones((1, 2, 1))
    with pytest.raises(InvalidParameterError, match="values: expected zeros after"):
        xk.RaggedAttribution(values=values, base_values=[[0.0]], row_feature_names=[["a"]], method="m")
    with pytest.raises(InvalidParameterError, match=r"row_feature_names\[0\]: expected unique"):
        xk.RaggedAttribution(values=values, base_values=[[0.0]], row_feature_names=[["a", "a"]], method="m")
    with pytest.raises(InvalidParameterError, match=r"spans\[0\]: expected 2"):
        xk.RaggedAttribution(values=values, base_values=[[0.0]], row_feature_names=[["a", "b"]],
                             spans=[[[[0, 1]]]], method="m")
