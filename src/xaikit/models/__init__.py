"""Models: adapters that give every supported model one interface.

:func:`adapt` recognises a model by the dotted name of its type (nothing is imported to
detect it) and wraps it once; adapting an adapted model returns it unchanged.
"""

from __future__ import annotations

from typing import Any

from xaikit._validation import check_choice
from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.models.base import OUTPUTS, AdaptedModel, Model, check_model_output
from xaikit.models.function import FunctionModel

__all__ = ["Model", "AdaptedModel", "FunctionModel", "adapt", "check_model_output"]


def _type_path(obj: Any) -> str:
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def _is_torch_module(obj: Any) -> bool:
    """Whether ``obj`` is a ``torch.nn.Module``, judged by the names of its type's bases (torch is not imported)."""
    return any(f"{c.__module__}.{c.__qualname__}" == "torch.nn.modules.module.Module" for c in type(obj).__mro__)


def _is_keras_layer(obj: Any) -> bool:
    """Whether ``obj`` is a Keras layer or model (``keras.Layer``, or a tf_keras one), judged by the names of
    its type's bases (keras is not imported). Checked before torch: on Keras' torch backend, layers are modules too."""
    return any(
        c.__qualname__ == "Layer" and c.__module__.split(".")[0] in ("keras", "tf_keras") for c in type(obj).__mro__
    )


def _is_onnx(obj: Any) -> bool:
    """Whether ``obj`` is an ``onnxruntime.InferenceSession`` or an ``onnx.ModelProto``, judged by the names of its
    type's bases (neither library is imported)."""
    return any(
        (c.__module__.split(".")[0] == "onnxruntime" and c.__qualname__ == "InferenceSession")
        or (c.__module__.split(".")[0] == "onnx" and c.__qualname__ == "ModelProto")
        for c in type(obj).__mro__
    )


def adapt(model: Any, *, output: str = "auto") -> AdaptedModel:
    """Wrap ``model`` so that ``predict(X)`` returns float64 ``(n, n_outputs)``.

    Parameters
    ----------
    model : estimator, Pipeline, torch.nn.Module, keras.Model, onnxruntime.InferenceSession, onnx.ModelProto,
        callable, or an already adapted model
    output : {"auto", "probability", "log_odds", "raw"}
        The response to explain; ``"auto"`` is probabilities for classifiers, the
        prediction for regressors, and the return value for plain functions and torch
        modules (see :class:`xaikit.models.torch.TorchModel`); for Keras models, probabilities
        when the model ends with a softmax or sigmoid, else the output as it is
        (see :class:`xaikit.models.keras.KerasModel`); for ONNX graphs, the probabilities when the graph has
        a probability output, else its first floating-point output (see :class:`xaikit.models.onnx.OnnxModel`).

    Examples
    --------
    >>> import numpy as np
    >>> m = adapt(lambda X: X[:, 0] * 2)
    >>> adapt(m) is m
    True
    >>> m.predict(np.array([[1.0, 5.0]]))
    array([[2.]])
    """
    check_choice(output, "output", OUTPUTS)
    if isinstance(model, AdaptedModel):
        if output not in ("auto", model.output):
            raise UnsupportedModelError(
                f"output: the model is already adapted with output={model.output!r}, got output={output!r}; "
                "adapt the original model instead"
            )
        return model
    path = _type_path(model)
    if output == "logits" and not (_is_keras_layer(model) or _is_torch_module(model)):
        raise InvalidParameterError(
            f"output: 'logits' (the score before a final softmax or sigmoid) is read from the layers of a Keras model or "
            f"a torch module, got {type(model).__name__}; for other models explain output='raw' or output='log_odds' "
            "(scikit-learn classifiers)"
        )
    if _is_keras_layer(model):
        from xaikit.models.keras import KerasModel

        return KerasModel(model, output=output)
    if _is_onnx(model):
        from xaikit.models.onnx import OnnxModel

        return OnnxModel(model, output=output)
    if _is_torch_module(model):
        from xaikit.models.torch import TorchModel

        return TorchModel(model, output=output)
    from xaikit.models.sklearn import BoosterModel, SklearnModel, is_booster, is_sklearn_like

    if is_booster(model):
        return BoosterModel(model, output=output)
    if path.startswith("sklearn.") or is_sklearn_like(model):
        return SklearnModel(model, output=output)
    if callable(model):
        return FunctionModel(model, output=output)
    raise UnsupportedModelError(
        "model: expected a scikit-learn style estimator, a Pipeline, a torch.nn.Module, a Keras model, an ONNX "
        "model (onnxruntime.InferenceSession or onnx.ModelProto) or a "
        f"function of a batch, got {path}"
    )
