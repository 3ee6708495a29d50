"""The ONNX adapter (xaikit.models.onnx) and load_model (xaikit.models.files) on their own."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.models import adapt
from xaikit.models.files import feature_names_of, load_model
from xaikit.models.onnx import OnnxModel

ort = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")


def session(proto: object) -> object:
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])  # type: ignore[attr-defined]


@pytest.mark.parametrize("zipmap", [True, False], ids=["zipmap", "tensor"])
def test_probabilities_equal_the_sklearn_model(logistic, train, zipmap):
    X = train[0]
    proto = skl2onnx.to_onnx(logistic, X[:1].astype(np.float32), options=None if zipmap else {"zipmap": False})
    for model, names in ((proto, ["no", "yes"]), (session(proto), ["no", "yes"] if zipmap else None)):
        m = adapt(model)
        assert isinstance(m, OnnxModel) and m.output == "probability"
        p = m.predict(X)
        assert p.dtype == np.float64 and p.shape == (len(X), 2)
        np.testing.assert_allclose(p, logistic.predict_proba(X), rtol=0, atol=1e-6)
        assert m.output_names == names  # from the graph, or the ZipMap keys once predicted; a session has no graph


def test_log_odds_of_a_binary_classifier_is_one_output(logistic, train):
    X = train[0]
    m = adapt(skl2onnx.to_onnx(logistic, X[:1], options={"zipmap": False}), output="log_odds")  # double: no float32 rounding
    p = logistic.predict_proba(X)[:, 1]
    assert m.output_names == ["yes"]
    np.testing.assert_allclose(m.predict(X)[:, 0], np.log(p / (1 - p)), rtol=0, atol=1e-8)


def test_regressor_explained_as_raw(train):
    from sklearn.linear_model import LinearRegression

    X = train[0]
    reg = LinearRegression().fit(X, X @ np.array([1.0, -2.0, 0.5, 3.0]) + 1.0)
    m = adapt(session(skl2onnx.to_onnx(reg, X[:1].astype(np.float32))))
    assert m.output == "raw" and m.output_names is None and m.n_features_in == 4
    np.testing.assert_allclose(m.predict(X)[:, 0], reg.predict(X), rtol=1e-5, atol=1e-5)
    with pytest.raises(InvalidParameterError, match="output: 'probability' needs a probability output"):
        adapt(session(skl2onnx.to_onnx(reg, X[:1].astype(np.float32))), output="probability")


def test_double_inputs_are_fed_as_double(logistic, train):
    X = train[0]
    m = adapt(skl2onnx.to_onnx(logistic, X[:1], options={"zipmap": False}))
    np.testing.assert_allclose(m.predict(X), logistic.predict_proba(X), rtol=0, atol=1e-12)


def test_width_is_checked(logistic, train):
    m = adapt(skl2onnx.to_onnx(logistic, train[0][:1].astype(np.float32)))
    with pytest.raises(InvalidParameterError, match="X: expected 4 columns"):
        m.predict(np.zeros((2, 3)))


def test_every_model_agnostic_method_can_use_it(forest, train):
    X = train[0]
    m = skl2onnx.to_onnx(forest, X[:1].astype(np.float32), options={"zipmap": False})
    got = xk.explain(m, X[:3], method="kernel_shap", background=X[:6], n_samples=30, random_state=1)
    expected = xk.explain(forest, X[:3], method="kernel_shap", background=X[:6], n_samples=30, random_state=1)
    np.testing.assert_allclose(got.values, expected.values, rtol=0, atol=1e-6)
    table = {info.name: info.applies for info in xk.methods(m)}
    assert table["kernel_shap"] and table["lime"] and not table["saliency"] and not table["tree_shap"]


def test_one_input_per_column_names_the_features(train):
    import onnx
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info(c, TensorProto.FLOAT, [None, 1]) for c in "abcd"]
    weights = helper.make_tensor("w", TensorProto.FLOAT, [4, 1], [1.0, 2.0, 3.0, 4.0])
    graph = helper.make_graph(
        [helper.make_node("Concat", list("abcd"), ["x"], axis=1), helper.make_node("MatMul", ["x", "w"], ["y"])],
        "columns", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])], [weights],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(proto)
    m = adapt(proto)
    assert m.feature_names_in == ["a", "b", "c", "d"] and feature_names_of(proto) == ["a", "b", "c", "d"]
    X = train[0][:5]
    np.testing.assert_allclose(m.predict(X)[:, 0], X @ np.array([1.0, 2.0, 3.0, 4.0]), rtol=1e-5, atol=1e-5)
    import pandas as pd

    frame = pd.DataFrame(X[:, ::-1], columns=list("dcba"))  # matched by name, not position
    np.testing.assert_allclose(m.predict(frame), m.predict(X), rtol=0, atol=0)


def test_a_string_input_is_refused():
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["s"], ["t"])], "strings",
        [helper.make_tensor_value_info("s", TensorProto.STRING, [None, 1])],
        [helper.make_tensor_value_info("t", TensorProto.STRING, [None, 1])],
    )
    with pytest.raises(UnsupportedModelError, match="input 's' has type tensor\\(string\\)"):
        adapt(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))


def test_import_xaikit_does_not_import_onnxruntime():
    code = (
        "import sys, xaikit, xaikit.models, xaikit.models.files\n"
        "xaikit.adapt(lambda X: X)\n"
        "print([m for m in ('onnxruntime', 'onnx', 'skops', 'xgboost', 'lightgbm') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_load_model_refusals(tmp_path):
    (tmp_path / "m.bin").write_bytes(b"x")
    with pytest.raises(InvalidParameterError, match="path: expected a model file with one of the extensions"):
        load_model(tmp_path / "m.bin")
    with pytest.raises(InvalidParameterError, match="which does not exist"):
        load_model(tmp_path / "none.onnx")
    (tmp_path / "m.onnx").write_bytes(b"not a graph")
    with pytest.raises(InvalidParameterError, match="path: onnxruntime cannot load"):
        load_model(tmp_path / "m.onnx")
    (tmp_path / "m.json").write_text("{}")
    with pytest.raises(InvalidParameterError, match="path: .* is not an XGBoost model file"):
        load_model(tmp_path / "m.json")
    with pytest.raises(InvalidParameterError, match="trust_pickle: expected a bool"):
        load_model(tmp_path / "m.json", trust_pickle=1)  # type: ignore[arg-type]


def test_load_model_reads_class_names_of_an_onnx_file(onnx_files, logistic, train):
    m = adapt(load_model(onnx_files["logistic"]))
    assert m.output_names == ["no", "yes"]
    np.testing.assert_allclose(m.predict(train[0]), logistic.predict_proba(train[0]), rtol=0, atol=1e-6)
