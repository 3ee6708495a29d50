"""Shared helpers of the internals: which framework a model is, channel axes, activation kinds."""

from __future__ import annotations

from typing import Any

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError

__all__ = ["adapt_network", "framework_of", "keras_activation_kind", "network_of", "torch_activation_kind"]


def framework_of(adapted: Any) -> str:
    """``"torch"`` or ``"keras"`` for an adapted network; refuses other models."""
    module = type(adapted).__module__
    if module.endswith("models.torch"):
        return "torch"
    if module.endswith("models.keras"):
        return "keras"
    raise InvalidParameterError(f"model: expected a torch module or a Keras model (raw or adapted), got {describe(adapted)}")


def adapt_network(model: Any) -> tuple[Any, str]:
    """The adapted model (``output="raw"``) and its framework (``"torch"`` or ``"keras"``)."""
    from xaikit.models import adapt
    from xaikit.models.base import AdaptedModel

    if isinstance(model, AdaptedModel):
        return model, framework_of(model)
    kind = ".".join(b.__module__ for b in type(model).__mro__)
    if "torch" not in kind and "keras" not in kind:
        raise InvalidParameterError(f"model: expected a torch module or a Keras model (raw or adapted), got {describe(model)}")
    adapted = adapt(model, output="raw")
    return adapted, framework_of(adapted)


def network_of(adapted: Any, framework: str) -> Any:
    """The torch module or Keras model inside an adapted network."""
    return adapted.module if framework == "torch" else adapted.model


_TORCH_KINDS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "ReLU": "relu", "Hardsigmoid": "sigmoid", "Hardtanh": "tanh"}


def torch_activation_kind(module: Any) -> str | None:
    """``"sigmoid"``, ``"tanh"``, ``"relu"`` or None for a torch module."""
    return _TORCH_KINDS.get(type(module).__name__)


def keras_activation_kind(layer: Any) -> str | None:
    """The activation of a Keras layer (``Activation``, ``ReLU`` or a layer's ``activation=``)."""
    if type(layer).__name__ == "ReLU":
        return "relu"
    fn = getattr(layer, "activation", None)
    name = getattr(fn, "__name__", None)
    return name if name in ("sigmoid", "tanh", "relu") else None
