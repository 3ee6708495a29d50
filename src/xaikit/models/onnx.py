"""Adapter for ONNX models, run with onnxruntime.

This is the only xaikit module that imports :mod:`onnxruntime`; :func:`xaikit.models.adapt` imports it
when it is given an ``onnxruntime.InferenceSession`` or an ``onnx.ModelProto``. The adapter offers
predictions only, so every model-agnostic method (Shapley estimators, LIME, occlusion) can explain an
ONNX graph.

Inputs
------
Either one input of shape ``(batch, d)`` (what skl2onnx writes by default), fed the rows cast to its
element type, or one input of shape ``(batch, 1)`` per column (named columns: the input names are then
the model's feature names, and a DataFrame's columns are matched by name).

Outputs
-------
A classifier's probabilities are the output whose name contains ``"prob"`` (skl2onnx's
``output_probability`` or ``probabilities``): a tensor ``(batch, n_classes)``, or a list of one
``{class: probability}`` dict per row when the graph ends with a ``ZipMap`` (the skl2onnx default;
``options={"zipmap": False}`` gives the tensor). Without one, the first output of floating-point type
is the prediction. Class names come from the graph's classifier node (when the model is given as an
``onnx.ModelProto`` or a file), else from the ``ZipMap`` keys of the first prediction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._optional import import_optional
from xaikit._validation import check_choice
from xaikit.errors import InvalidParameterError, ModelOutputError, UnsupportedModelError
from xaikit.models.base import OUTPUTS, AdaptedModel, _current_context

__all__ = ["OnnxModel", "class_labels"]

#: ONNX element types the adapter feeds, as numpy dtypes.
_INPUT_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
}
_FLOAT_OUTPUTS = ("tensor(float)", "tensor(double)", "tensor(float16)")
#: Node types whose attributes list a classifier's classes (ai.onnx.ml).
_CLASSIFIER_OPS = ("ZipMap", "LinearClassifier", "TreeEnsembleClassifier", "SVMClassifier")


def class_labels(model_proto: Any) -> list[str] | None:
    """The class labels of a classifier graph (``classlabels_strings`` or ``classlabels_int64s`` of its
    ``ZipMap`` or classifier node, or its ``classes`` constant), None when the graph has none.

    >>> class_labels(None) is None
    True
    """
    graph = getattr(model_proto, "graph", None)
    if graph is None:
        return None
    for op in _CLASSIFIER_OPS:
        for node in graph.node:
            if node.op_type != op:
                continue
            for attr in node.attribute:
                if attr.name == "classlabels_strings" and attr.strings:
                    return [s.decode("utf-8") for s in attr.strings]
                if attr.name in ("classlabels_int64s", "classlabels_ints") and attr.ints:
                    return [str(i) for i in attr.ints]
    for init in graph.initializer:  # skl2onnx's graphs of double inputs keep them in a "classes" constant
        if init.name == "classes":
            try:
                from onnx import numpy_helper

                return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in numpy_helper.to_array(init).ravel()]
            except Exception:  # noqa: BLE001 - names are a nicety: without them outputs are numbered
                return None
    return None


def _session(model: Any) -> tuple[Any, list[str] | None]:
    """An ``InferenceSession`` for ``model`` (a session, or a ModelProto run on the CPU) and the class labels
    read from the graph when there is one."""
    if hasattr(model, "get_inputs") and hasattr(model, "run"):
        return model, None
    if hasattr(model, "SerializeToString") and hasattr(model, "graph"):
        ort = import_optional("onnxruntime", "onnx")
        try:
            session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise UnsupportedModelError(f"model: onnxruntime cannot load this ONNX graph: {str(exc)[:300]}") from exc
        return session, class_labels(model)
    raise UnsupportedModelError(
        f"model: expected an onnxruntime.InferenceSession or an onnx.ModelProto, got {type(model).__name__}"
    )


def _static(dim: Any) -> int | None:
    return int(dim) if isinstance(dim, (int, np.integer)) and dim > 0 else None


class OnnxModel(AdaptedModel):
    """An ONNX graph run with onnxruntime: predictions (float64, ``(n, n_outputs)``), nothing else.

    Parameters
    ----------
    model : onnxruntime.InferenceSession or onnx.ModelProto
    output : {"auto", "probability", "log_odds", "raw"}
        ``"auto"`` is the probabilities when the graph has a probability output, else its first
        floating-point output. ``"log_odds"`` is ``log(p / (1 - p))`` per class (a binary classifier's
        is one output, named after its second class), as for scikit-learn classifiers. ``"raw"`` is the
        first floating-point output that is not the probabilities (refused when there is none).
    class_names : list of str, optional
        Names of the classes when the graph does not say them.

    Examples
    --------
    >>> import pytest; _ = pytest.importorskip("skl2onnx")
    >>> from skl2onnx import to_onnx
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array(["no", "no", "yes", "yes"])
    >>> clf = LogisticRegression().fit(X, y)
    >>> m = OnnxModel(to_onnx(clf, X.astype(np.float32)))
    >>> m.output, m.output_names, m.predict(X).shape
    ('probability', ['no', 'yes'], (4, 2))
    >>> bool(np.allclose(m.predict(X), clf.predict_proba(X), atol=1e-6))
    True
    """

    def __init__(self, model: Any, *, output: str = "auto", class_names: list[str] | None = None) -> None:
        super().__init__()
        check_choice(output, "output", OUTPUTS)
        self.session, labels = _session(model)
        self.model = model
        inputs = list(self.session.get_inputs())
        outputs = list(self.session.get_outputs())
        if not inputs or not outputs:
            raise UnsupportedModelError(
                f"model: expected an ONNX graph with inputs and outputs, got {len(inputs)} input(s) and "
                f"{len(outputs)} output(s)"
            )
        for inp in inputs:
            if inp.type not in _INPUT_DTYPES:
                raise UnsupportedModelError(
                    f"model: the ONNX input {inp.name!r} has type {inp.type}; xaikit feeds numeric tensors "
                    f"({', '.join(_INPUT_DTYPES)})"
                )
        self._inputs = [(inp.name, _INPUT_DTYPES[inp.type]) for inp in inputs]
        if len(inputs) == 1:
            shape = list(inputs[0].shape or [])
            if len(shape) != 2:
                raise UnsupportedModelError(
                    f"model: expected the ONNX input {inputs[0].name!r} to be a table (batch, features), "
                    f"got shape {shape}"
                )
            self.n_features_in = _static(shape[1])
            self._per_column = False
        else:  # one input per column: the input names are the feature names
            bad = [inp.name for inp in inputs if len(inp.shape or []) != 2 or _static(inp.shape[1]) != 1]
            if bad:
                raise UnsupportedModelError(
                    f"model: an ONNX graph with several inputs is read as one input (batch, 1) per column; "
                    f"input(s) {bad} have other shapes"
                )
            self.feature_names_in = [inp.name for inp in inputs]
            self.n_features_in = len(inputs)
            self._per_column = True
        prob = [o for o in outputs if "prob" in o.name.lower() and (o.type in _FLOAT_OUTPUTS or o.type.startswith("seq(map("))]
        floats = [o for o in outputs if o.type in _FLOAT_OUTPUTS and (not prob or o.name != prob[0].name)]
        self._zipmap = bool(prob) and prob[0].type.startswith("seq(map(")
        self.is_classifier = bool(prob)
        if output == "auto":
            output = "probability" if prob else "raw"
        if output in ("probability", "log_odds") and not prob:
            raise InvalidParameterError(
                f"output: {output!r} needs a probability output, which this ONNX graph lacks (its outputs: "
                f"{[o.name for o in outputs]}); use output='raw'"
            )
        if output == "raw" and not floats:
            raise InvalidParameterError(
                f"output: 'raw' needs a floating-point output other than the probabilities, which this ONNX graph "
                f"lacks (its outputs: {[(o.name, o.type) for o in outputs]}); use output='probability' or 'log_odds'"
            )
        self.output = output
        self._read = prob[0].name if output in ("probability", "log_odds") else floats[0].name
        self._classes = list(class_names) if class_names is not None else labels
        self._binary_margin = output == "log_odds" and self._classes is not None and len(self._classes) == 2
        self._set_names()

    def _set_names(self) -> None:
        if not self.is_classifier or self.output == "raw" or self._classes is None:
            return
        self._output_names = self._classes[1:] if self._binary_margin else list(self._classes)

    def _feed(self, X: Any) -> dict[str, np.ndarray]:
        if self._per_column and hasattr(X, "columns"):
            missing = [name for name, _ in self._inputs if name not in X.columns]
            if missing:
                raise InvalidParameterError(f"X: the ONNX model's input column(s) {missing} are not in the data")
            return {name: np.asarray(X[name]).astype(dtype).reshape(-1, 1) for name, dtype in self._inputs}
        arr = np.asarray(X)
        if arr.ndim != 2:
            raise InvalidParameterError(f"X: expected a 2-D table of rows, got an array of shape {arr.shape}")
        if self._per_column:
            return {name: arr[:, j].astype(dtype).reshape(-1, 1) for j, (name, dtype) in enumerate(self._inputs)}
        return {self._inputs[0][0]: arr.astype(self._inputs[0][1])}

    def _predict(self, X: Any) -> Any:
        self.check_width(X, _current_context() or "X")
        (out,) = self.session.run([self._read], self._feed(X))
        if self._zipmap:  # a list of {class: probability} dicts, one per row
            if not isinstance(out, list) or (out and not isinstance(out[0], dict)):
                raise ModelOutputError(f"the ONNX output {self._read!r} is not a list of per-row dicts")
            keys = list(out[0]) if out else list(self._classes or [])
            if self._classes is None:
                self._classes = [str(k) for k in keys]
                self._binary_margin = self.output == "log_odds" and len(keys) == 2
                self._set_names()
            out = np.array([[row[k] for k in keys] for row in out], dtype=np.float64).reshape(len(out), len(keys))
        if self.output != "log_odds":
            return out
        p = np.asarray(out, dtype=np.float64)
        if p.ndim == 2 and p.shape[1] == 2 and (self._binary_margin or self._classes is None):
            p = p[:, 1:]
        with np.errstate(divide="ignore"):
            logit = np.log(p) - np.log1p(-p)
        if not np.isfinite(logit).all():
            raise ModelOutputError(
                "the model returned probabilities of exactly 0 or 1, whose log-odds are infinite; use output='probability'"
            )
        return logit

    def describe(self) -> str:
        return f"ONNX graph, output {self._read!r}"
