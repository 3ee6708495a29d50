"""Adapter for Keras 3 models: predictions, input gradients and layer gradients.

This is the only xaikit module that imports :mod:`keras` (and, on the TensorFlow backend,
:mod:`tensorflow`); :func:`xaikit.models.adapt` imports it when it is given a Keras layer or model.
Two Keras backends are supported, each through its public automatic differentiation:

* ``"tensorflow"``: :class:`tf.GradientTape`;
* ``"torch"``: :func:`torch.autograd.grad` (Keras layers are then ``torch.nn.Module`` s).

The backend is the one Keras was imported with (``KERAS_BACKEND``); it is fixed for the process.
JAX and NumPy backends are refused with :class:`~xaikit.errors.UnsupportedModelError`. The
explainers built on this adapter see numpy arrays only.

Layers
------
:meth:`KerasModel.layer_gradients` splits the model at the layer into two models that share its
layers and weights: ``keras.Model(input, layer.output)`` and ``keras.Model([input, layer.output],
output)``; the gradient is taken with respect to the output of the first, fed to the second. This
needs the model's layer graph: a ``Sequential`` or functional model (subclassed models offer input
gradients only). Keras layers are channels-last by default (``keras.config.image_data_format()``);
:attr:`KerasModel.channels_last` says which layout the model's images use.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import numpy as np

from xaikit._optional import import_optional
from xaikit._validation import check_choice, check_one_input, describe
from xaikit.errors import (
    ApproximationWarning,
    InvalidParameterError,
    MissingDependencyError,
    ModelOutputError,
    UnsupportedModelError,
)
from xaikit.models.base import BatchedModel, are_logits

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported, through Keras or not
keras = import_optional("keras", "tensorflow")
if not keras.__version__.startswith("3."):
    raise MissingDependencyError(
        f"xaikit's Keras adapter needs Keras 3, found keras {keras.__version__}; "
        'install it with: pip install "xaikit[tensorflow]"'
    )

__all__ = ["SUPPORTED_BACKENDS", "KerasModel"]

#: The Keras backends this adapter computes gradients with.
SUPPORTED_BACKENDS = ("tensorflow", "torch")

#: The ways :meth:`KerasModel.gradient` can propagate through ReLUs.
RELU_RULES = ("standard", "guided")

_MAX_LISTED_LAYERS = 12


# --------------------------------------------------------------------------------------
# backend-specific automatic differentiation
# --------------------------------------------------------------------------------------


class _TensorFlowAutodiff:
    """Gradients with :class:`tf.GradientTape`."""

    def __init__(self) -> None:
        import tensorflow as tf

        self.tf = tf

    def no_grad(self) -> Any:
        return nullcontext()  # nothing is recorded outside a tape

    def gradient(self, objective: Callable[[Any], Any], source: Any) -> Any:
        """d objective(source) / d source, or None when the objective does not depend on it."""
        with self.tf.GradientTape() as tape:
            tape.watch(source)
            value = objective(source)
        return tape.gradient(value, source)


class _TorchAutodiff:
    """Gradients with :func:`torch.autograd.grad` (Keras' torch backend)."""

    def __init__(self) -> None:
        import torch

        self.torch = torch

    def no_grad(self) -> Any:
        return self.torch.no_grad()

    def gradient(self, objective: Callable[[Any], Any], source: Any) -> Any:
        with self.torch.enable_grad():
            leaf = source.detach().requires_grad_(True)
            (g,) = self.torch.autograd.grad(objective(leaf), leaf, allow_unused=True)
        return g


def _autodiff(backend: str) -> Any:
    return _TensorFlowAutodiff() if backend == "tensorflow" else _TorchAutodiff()


# --------------------------------------------------------------------------------------
# guided ReLU
# --------------------------------------------------------------------------------------


@keras.ops.custom_gradient
def guided_relu(x: Any) -> Any:
    """``relu(x)`` whose gradient passes back only positive gradients where ``x > 0``
    (Springenberg et al. 2015): ``relu(upstream) * (x > 0)``."""
    y = keras.ops.relu(x)

    def grad(*args: Any, upstream: Any = None) -> Any:
        if upstream is None:
            (upstream,) = args
        return keras.ops.relu(upstream) * keras.ops.cast(x > 0, upstream.dtype)

    return y, grad


def _is_plain_relu_layer(layer: Any) -> bool:
    """A ``keras.layers.ReLU`` with its default parameters (not ReLU6, leaky or thresholded)."""
    if not isinstance(layer, keras.layers.ReLU):
        return False
    config = layer.get_config()
    return (
        config.get("max_value") is None
        and not config.get("negative_slope")
        and not config.get("threshold")
    )


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _first_tensor(out: Any) -> Any:
    """The prediction tensor in what a model returned: a tensor, the only item of a list or tuple,
    or the ``"logits"`` entry of a dict. Several tensors (several heads) are refused."""
    if keras.ops.is_tensor(out):
        return out
    if isinstance(out, dict) and "logits" in out:
        return _first_tensor(out["logits"])
    if isinstance(out, (tuple, list)) and len(out) > 1:
        shapes = ", ".join(str(tuple(getattr(t, "shape", ()))) for t in out[:_MAX_LISTED_LAYERS])
        raise UnsupportedModelError(
            f"model: the Keras model returned {len(out)} outputs (shapes {shapes}); xaikit explains models "
            "with one output: wrap the head to explain, e.g. keras.Model(model.inputs, model.outputs[0])"
        )
    if isinstance(out, (tuple, list)) and out:
        return _first_tensor(out[0])
    raise ModelOutputError(
        f"the model returned {describe(out)}; expected a tensor, a list or tuple of one, "
        "or a dict with a 'logits' tensor"
    )


def _as_numpy(X: Any) -> np.ndarray:
    if hasattr(X, "detach") and hasattr(X, "numpy"):  # a torch tensor
        return X.detach().cpu().numpy()
    return np.asarray(X)


#: Final functions whose output is already a probability, by name (Keras', TensorFlow's, torch's).
_PROBABILITY_FUNCTIONS = {
    "softmax": "softmax",
    "softmax_v2": "softmax",
    "sparsemax": "softmax",
    "sigmoid": "sigmoid",
    "hard_sigmoid": "sigmoid",
}
#: Final functions known not to give probabilities: their output is taken as logits.
_LOGIT_FUNCTIONS = frozenset(
    {
        "linear", "relu", "relu6", "tanh", "elu", "selu", "gelu", "silu", "swish", "softplus", "softsign",
        "exponential", "leaky_relu", "log_softmax", "log_softmax_v2", "log_sigmoid", "mish", "celu", "glu",
        "hard_silu", "hard_swish", "hard_tanh", "squareplus", "sparse_plus", "soft_shrink", "hard_shrink",
        "tanh_shrink", "identity",
    }
)
#: Keras operations applied as functions in a functional model (``keras.ops.softmax(x)``), by class name.
_PROBABILITY_OPERATIONS = {"Softmax": "softmax", "Sigmoid": "sigmoid", "HardSigmoid": "sigmoid", "Sparsemax": "softmax"}


def _function_kind(function: Any) -> str | None:
    """``"softmax"``, ``"sigmoid"``, ``"logits"`` (a known function that does not give
    probabilities) or None (not identified) for an activation function."""
    if isinstance(function, str):
        name = function
    else:
        name = getattr(function, "__name__", "")
    name = name.lower()
    if name in _PROBABILITY_FUNCTIONS:
        return _PROBABILITY_FUNCTIONS[name]
    return "logits" if name in _LOGIT_FUNCTIONS else None


def _pass_through(layer: Any) -> bool:
    """Layers that leave a row's values as they are at inference (dropout, noise, flattening)."""
    kinds = tuple(
        getattr(keras.layers, name)
        for name in (
            "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout",
            "GaussianNoise", "AlphaDropout", "ActivityRegularization", "Flatten", "Identity",
        )
        if hasattr(keras.layers, name)
    )
    return isinstance(layer, kinds)


def _operation_kind(operation: Any) -> str | None:
    """The kind (see :func:`_function_kind`) of the output of one layer or operation."""
    if isinstance(operation, keras.Model):
        return _final_activation(operation)
    if isinstance(operation, keras.layers.Softmax):
        return "softmax"
    if isinstance(operation, keras.layers.Lambda):
        return _function_kind(getattr(operation, "function", None))
    if hasattr(operation, "activation"):
        return _function_kind(operation.activation)
    if not isinstance(operation, keras.Layer):  # an operation of keras.ops applied in a functional model
        return _PROBABILITY_OPERATIONS.get(type(operation).__name__)
    return None


def _final_activation(model: Any) -> str | None:
    """``"softmax"`` or ``"sigmoid"`` when the model's output is produced by one (a probability),
    ``"logits"`` when it is produced by a known function that does not give probabilities (a
    linear ``Dense``, ``tanh``, ...), else None (not identified).

    Read from the operation that produces the output of a Sequential or single-output functional
    model, through layers that leave values unchanged at inference (dropout, flatten) and into
    nested models. The function is recognised by identity of name (``"softmax"``,
    ``keras.activations.softmax``, ``tf.nn.softmax``, ``keras.ops.softmax``, ``Activation``,
    ``Lambda(tf.nn.softmax)``, the ``Softmax`` layer...). A subclassed model, or a ``Lambda`` of
    an anonymous function, is not identified.
    """
    if not isinstance(model, keras.Model):
        return _operation_kind(model) if isinstance(model, keras.Layer) else None
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):
        outputs = None
    if not outputs:
        layers = getattr(model, "layers", None)
        if isinstance(model, keras.Sequential) and layers:
            for layer in reversed(layers):
                if not _pass_through(layer):
                    return _operation_kind(layer)
        return None
    if len(outputs) != 1:
        return None
    tensor = outputs[0]
    for _ in range(64):  # through pass-through layers; a bound rather than a loop on a malformed graph
        history = getattr(tensor, "_keras_history", None)
        operation = getattr(history, "operation", None)
        if operation is None:
            return None
        if not _pass_through(operation):
            return _operation_kind(operation)
        try:
            inputs = operation._inbound_nodes[history.node_index].input_tensors  # type: ignore[union-attr]
        except (AttributeError, IndexError):
            return None
        if len(inputs) != 1:
            return None
        tensor = inputs[0]
    return None


def _has_layer_graph(model: Any) -> bool:
    """Whether ``model`` is a Sequential or functional model (its layers' outputs can be read)."""
    if isinstance(model, keras.Sequential):
        return True
    return isinstance(model, keras.Model) and getattr(model, "inputs", None) is not None


class KerasModel(BatchedModel):
    """A Keras 3 model (or layer) as an xaikit model, with gradients.

    Parameters
    ----------
    model : keras.Model or keras.Layer
        Called on a batch ``(n, ...)`` with ``training=False`` (dropout off, batch normalisation on
        its moving statistics); its output is flattened to ``(n, n_outputs)``. The model is never
        modified. Models with one input and one output are supported: a model with several
        outputs (heads) is refused; wrap the head to explain,
        ``keras.Model(model.inputs, model.outputs[k])``.
    output : {"auto", "raw", "probability"}
        ``"raw"`` explains the model's output as it is. ``"probability"`` explains probabilities:
        the output itself when the model ends with a softmax or sigmoid (as Keras classifiers
        usually do; every spelling is recognised: ``activation="softmax"``,
        ``keras.activations.softmax``, ``tf.nn.softmax``, ``keras.ops.softmax``, an
        ``Activation``, ``Lambda(tf.nn.softmax)`` or ``Softmax`` layer), a softmax over the outputs
        (a sigmoid when there is one output) applied before predictions and gradients when it ends
        with a known function that does not give probabilities (a linear ``Dense``, ``tanh``...).
        When the final operation cannot be identified (a subclassed model, a ``Lambda`` of an
        anonymous function), the outputs of the first call decide: rows of non-negative values
        summing to 1 (within 1e-6) are probabilities already and are explained as they are; other
        rows are logits and get the softmax; a single output whose values all lie in [0, 1] could
        be either, and is refused with :class:`~xaikit.errors.InvalidParameterError`.
        ``"auto"`` is ``"probability"`` for a model that ends with a softmax or sigmoid and
        ``"raw"`` otherwise; nothing is applied either way.
    output_names : list of str, optional
    channels_last : bool, optional
        The layout of image inputs and convolutional layers: ``(n, H, W, C)`` when True. Default:
        ``keras.config.image_data_format() == "channels_last"`` (Keras' default).

    Attributes
    ----------
    backend : str
        ``"tensorflow"`` or ``"torch"``.
    dtype : str
        The floating-point dtype inputs are given to the model in: the model input's declared
        dtype, else its first floating-point weight's, else ``keras.config.floatx()``.
    channels_last : bool

    Notes
    -----
    Inputs may be numpy arrays, nested lists or tensors of the backend. Floating-point inputs are
    converted to :attr:`dtype`; integer inputs (token ids) keep an integer dtype and can be
    predicted and explained at a layer, but have no input gradient. Predictions are returned as
    float64, gradients in :attr:`dtype`.

    Examples
    --------
    >>> import numpy as np, keras
    >>> net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_initializer="ones")])
    >>> model = KerasModel(net)
    >>> model.predict(np.ones((1, 3)))
    array([[3., 3.]])
    >>> model.gradient(np.ones((2, 3)), [0, 1])
    array([[1., 1., 1.],
           [1., 1., 1.]], dtype=float32)
    """

    def __init__(
        self,
        model: Any,
        *,
        output: str = "auto",
        output_names: list[str] | None = None,
        channels_last: bool | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(model, keras.Layer):
            raise UnsupportedModelError(
                f"model: expected a Keras 3 model or layer, got {type(model).__module__}.{type(model).__qualname__} "
                f"(keras {keras.__version__} is installed; Keras 2 and tf_keras models are not supported)"
            )
        backend = keras.backend.backend()
        if backend not in SUPPORTED_BACKENDS:
            raise UnsupportedModelError(
                f"model: Keras runs on the {backend!r} backend; xaikit computes Keras gradients on the "
                f"{' and '.join(repr(b) for b in SUPPORTED_BACKENDS)} backends only (set KERAS_BACKEND "
                "before Keras is imported)"
            )
        check_choice(output, "output", ("auto", "raw", "probability"))
        try:
            outputs = model.outputs if isinstance(model, keras.Model) else None
        except (AttributeError, ValueError):  # a Sequential without an Input, not called yet
            outputs = None
        if outputs is not None and len(outputs) > 1:
            names = [getattr(getattr(t, "_keras_history", None), "operation", t).name for t in outputs]
            listed = ", ".join(f"{nm!r} {tuple(t.shape)}" for nm, t in list(zip(names, outputs))[:_MAX_LISTED_LAYERS])
            raise UnsupportedModelError(
                f"model: the Keras model has {len(outputs)} outputs ({listed}); xaikit explains models with "
                "one output, and would otherwise drop the others without a word: wrap the head to explain, "
                "e.g. keras.Model(model.inputs, model.outputs[0])"
            )
        self.model = model
        self.backend = backend
        self._autodiff = _autodiff(backend)
        final = _final_activation(model)
        if output == "auto":
            self.output = "probability" if final in ("softmax", "sigmoid") else "raw"
        else:
            self.output = output
        # a softmax (sigmoid for one output) on the model's output: not when it is one already;
        # None until the first outputs decide, for a model whose final operation is not identified
        self._to_probability: bool | None = (
            False if self.output != "probability" else (None if final is None else final == "logits")
        )
        self._output_names = list(output_names) if output_names is not None else None
        self.channels_last = (
            keras.config.image_data_format() == "channels_last" if channels_last is None else bool(channels_last)
        )
        self.capabilities = frozenset({"gradient", "layer_gradients"} if _has_layer_graph(model) else {"gradient"})
        self.dtype, self._int_dtype = self._input_dtypes()
        self._splits: dict[str, tuple[Any, Any]] = {}
        self._guided: Any = None
        self._n_guided_relus = 0

    # ---------------------------------------------------------------- helpers
    def describe(self) -> str:
        return f"keras {type(self.model).__name__} ({self.backend} backend)"

    def _graph_input(self) -> Any:
        """The model's symbolic input (a KerasTensor), or None for a subclassed or unbuilt model."""
        inputs = getattr(self.model, "inputs", None) if isinstance(self.model, keras.Model) else None
        if not inputs:
            return None
        if len(inputs) != 1:
            raise UnsupportedModelError(
                f"model: the Keras model has {len(inputs)} inputs; xaikit explains models of one input"
            )
        return inputs[0]

    def _input_dtypes(self) -> tuple[str, str]:
        declared = self._graph_input()
        declared_dtype = str(declared.dtype) if declared is not None else ""
        weights = [str(w.dtype) for w in self.model.weights if "float" in str(w.dtype)]
        if "float" in declared_dtype:
            floating = declared_dtype
        else:
            floating = weights[0] if weights else keras.config.floatx()
        integer = declared_dtype if "int" in declared_dtype else "int64"
        return floating, integer

    def _tensor(self, X: Any, name: str = "X") -> Any:
        """``X`` as a backend tensor: floating point in :attr:`dtype`, integers in an integer dtype."""
        check_one_input(X, name)
        arr = _as_numpy(X)
        if arr.dtype.kind not in "biuf":
            raise InvalidParameterError(f"{name}: expected a numeric array or tensor, got {describe(arr)}")
        if arr.ndim == 0:
            raise InvalidParameterError(f"{name}: expected a batch (n, ...) of inputs, got a scalar")
        declared = self._graph_input()
        if declared is not None:
            expected = tuple(declared.shape[1:])
            if len(expected) != arr.ndim - 1 or any(e is not None and e != a for e, a in zip(expected, arr.shape[1:])):
                shown = "(n, " + ", ".join("?" if e is None else str(e) for e in expected) + ")"
                raise InvalidParameterError(
                    f"{name}: the model takes inputs of shape {shown}, got {describe(arr)}"
                )
        dtype = self._int_dtype if arr.dtype.kind in "iu" else self.dtype
        return keras.ops.convert_to_tensor(np.ascontiguousarray(arr, dtype=dtype), dtype=dtype)

    def _transform(self, out: Any, n: int) -> Any:
        """A model output as ``(n, n_outputs)``, transformed per ``output``."""
        out = _first_tensor(out)
        if len(out.shape) == 0 or out.shape[0] != n:
            raise ModelOutputError(
                f"the model ({self.describe()}) returned a tensor of shape {tuple(out.shape)} for "
                f"{n} input rows; expected ({n}, ...)"
            )
        out = keras.ops.reshape(out, (n, -1))
        if self._to_probability is None:
            self._to_probability = self._are_logits(out)
        if self._to_probability:
            out = keras.ops.sigmoid(out) if out.shape[1] == 1 else keras.ops.softmax(out, axis=1)
        return out

    def _are_logits(self, out: Any) -> bool:
        values = np.asarray(keras.ops.convert_to_numpy(keras.ops.stop_gradient(out)), dtype=np.float64)
        return are_logits(values, self.describe(), "keras.Sequential([model, keras.layers.Activation('sigmoid')])")

    def _ensure_built(self, x: Any) -> None:
        """Build a Sequential model given without an ``Input`` (its layer graph exists after a call)."""
        if isinstance(self.model, keras.Sequential) and self._graph_input() is None:
            with self._autodiff.no_grad():
                self._forward(x[:1])

    def _forward(self, x: Any, model: Any = None) -> Any:
        return self._transform((self.model if model is None else model)(x, training=False), x.shape[0])

    @classmethod
    def _targets(cls, target: Any, n: int, n_outputs: int) -> np.ndarray:
        """``target`` (an int or one int per row) as ``n`` indices in ``[0, n_outputs)``."""
        return cls._target_indices(_as_numpy(target), n, n_outputs)

    def _selected(self, out: Any, target: np.ndarray) -> Any:
        """Sum over the rows of ``out[i, target[i]]``; each row's gradient is its own because rows are independent."""
        chosen = np.zeros(tuple(out.shape), dtype=bool)
        chosen[np.arange(chosen.shape[0]), target] = True
        # a mask rather than a gather: much cheaper to differentiate in TensorFlow, and the other outputs
        # (even non-finite ones) get a zero gradient
        picked = keras.ops.sum(keras.ops.where(keras.ops.convert_to_tensor(chosen), out, 0.0), axis=1)
        if not bool(keras.ops.convert_to_numpy(keras.ops.all(keras.ops.isfinite(picked)))):
            raise ModelOutputError(f"the model ({self.describe()}) returned NaN or infinite outputs for the target")
        return keras.ops.sum(picked)

    # ---------------------------------------------------------------- predictions
    def _predict(self, X: Any) -> np.ndarray:
        x = self._tensor(X)
        with self._autodiff.no_grad():
            out = self._forward(x)
        return np.asarray(keras.ops.convert_to_numpy(out), dtype=np.float64)

    # ---------------------------------------------------------------- gradients
    def gradient(
        self, X: Any, target: Any, *, batch_size: int | None = None, relu: str = "standard"
    ) -> np.ndarray:
        """Gradient of ``output[i, target[i]]`` with respect to input row ``i``, for every row.

        Parameters
        ----------
        X : array or tensor (n, ...)
            Floating-point inputs.
        target : int or array of n ints
            Output index per row (of the flattened output).
        batch_size : int, optional
            Rows per backward pass; default all at once.
        relu : {"standard", "guided"}
            ``"guided"`` applies guided backpropagation (Springenberg et al. 2015): the gradient
            is computed on a copy of the model (``keras.models.clone_model``, with the model's
            current weights) in which every ReLU passes back only the positive part of the
            gradient, and only where its input was positive. The ReLUs replaced are
            ``activation="relu"`` of any layer (``keras.activations.relu``), ``Activation("relu")``
            and ``keras.layers.ReLU()`` with default parameters, in nested models too. Other
            functions (``tf.nn.relu``, ``keras.ops.relu`` inside a custom layer, ReLU6, leaky ReLUs)
            keep their ordinary gradient. Needs a Sequential or functional model.

        Returns
        -------
        ndarray like ``X``, in :attr:`dtype`.
        """
        check_choice(relu, "relu", RELU_RULES)
        n = self._n_rows(X)
        x_all = self._tensor(X)
        if "float" not in str(x_all.dtype):
            raise InvalidParameterError(
                f"X: gradients need floating-point inputs, got {describe(X)}; for token ids, explain a "
                "layer (e.g. the embedding) with layer_gradients"
            )
        declared = self._graph_input()
        if declared is not None and "float" not in str(declared.dtype):
            # the model casts any input to its declared integer dtype: the gradient would be zero
            raise InvalidParameterError(
                f"X: gradients need floating-point inputs, but the model's input is declared with dtype "
                f"{declared.dtype} (token ids or integer data), so gradients with respect to it are "
                f"undefined (got {describe(X)}); explain a layer (e.g. the embedding) with a layer method "
                "(layer_gradients, GradCam, ...)"
            )
        if relu == "guided":
            self._ensure_built(x_all)
        model = self._guided_model() if relu == "guided" else self.model
        grads = []
        for s in self._chunks(n, batch_size):

            def objective(x: Any, rows: slice = s) -> Any:
                out = self._forward(x, model)
                return self._selected(out, self._targets(target, n, out.shape[1])[rows])

            x = x_all[s]
            g = self._autodiff.gradient(objective, x)
            if g is None:
                raise ModelOutputError(
                    f"X: the output of the model ({self.describe()}) does not depend on its input through "
                    "differentiable operations (the input is cast to integers, e.g. by an Embedding layer, "
                    "or its gradient is stopped), so its input gradient is undefined; explain a layer (e.g. "
                    "the embedding) with a layer method (layer_gradients, GradCam, ...)"
                )
            grads.append(keras.ops.convert_to_numpy(g))
        return np.concatenate(grads, axis=0)

    def _guided_model(self) -> Any:
        """A copy of the model whose ReLUs have the guided gradient, holding the model's current weights."""
        if self._guided is None:
            if not _has_layer_graph(self.model):
                raise UnsupportedModelError(
                    f"relu: guided backpropagation of a Keras model rebuilds it with guided ReLUs "
                    f"(keras.models.clone_model), which needs a Sequential or functional model; got "
                    f"{self.describe()}, a subclassed model"
                )
            replaced = []

            def swap(layer: Any) -> Any:
                config = layer.get_config()
                if _is_plain_relu_layer(layer):
                    replaced.append(layer.name)
                    return keras.layers.Activation(guided_relu, name=layer.name, dtype=layer.dtype_policy)
                if getattr(layer, "activation", None) is keras.activations.relu:
                    replaced.append(layer.name)
                    config["activation"] = guided_relu
                return type(layer).from_config(config)

            try:
                clone = keras.models.clone_model(self.model, clone_function=swap, recursive=True)
            except Exception as exc:  # a custom layer without get_config/from_config, ...
                raise UnsupportedModelError(
                    f"relu: guided backpropagation could not copy the model ({self.describe()}) with "
                    f"keras.models.clone_model: {exc}"
                ) from exc
            ours, theirs = self.model.weights, clone.weights
            if len(ours) != len(theirs) or any(tuple(a.shape) != tuple(b.shape) for a, b in zip(ours, theirs)):
                raise UnsupportedModelError(
                    f"relu: the copy of the model made for guided backpropagation has other weights than "
                    f"the model ({self.describe()})"
                )
            self._guided = clone
            self._n_guided_relus = len(replaced)
        if not self._n_guided_relus:
            warnings.warn(
                f"relu: the model ({self.describe()}) has no ReLU activations or ReLU layers, so guided "
                "backpropagation equals the plain gradient",
                ApproximationWarning,
                stacklevel=3,
            )
        for dst, src in zip(self._guided.weights, self.model.weights):
            dst.assign(src.value)  # the model's weights now, even if it was trained since the copy
        return self._guided

    # ---------------------------------------------------------------- layers
    def layer_names(self) -> list[str]:
        """Names of the model's layers, as accepted by ``layer=`` (``model.get_layer(name)``)."""
        return [layer.name for layer in getattr(self.model, "layers", [])]

    def resolve_layer(self, layer: Any) -> tuple[str, Any]:
        """The ``(name, layer)`` of ``layer``: a name from :meth:`layer_names` or one of the model's layers.

        Examples
        --------
        >>> import keras
        >>> net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, name="hidden")])
        >>> KerasModel(net).resolve_layer("hidden")[0]
        'hidden'
        >>> KerasModel(net).resolve_layer("fc")
        Traceback (most recent call last):
        ...
        xaikit.errors.InvalidParameterError: layer: unknown layer 'fc' (str); available: 'hidden'
        """
        layers = list(getattr(self.model, "layers", []))
        if isinstance(layer, str):
            for candidate in layers:
                if candidate.name == layer:
                    return layer, candidate
        elif isinstance(layer, keras.Layer):
            for candidate in layers:
                if candidate is layer:
                    return candidate.name, candidate
            raise InvalidParameterError(
                f"layer: the layer {layer.name!r} ({type(layer).__name__}) is not one of the model's layers "
                f"({self.describe()}); layers inside a nested model cannot be explained from the outer model"
            )
        names = self.layer_names()
        shown = ", ".join(repr(nm) for nm in names[:_MAX_LISTED_LAYERS]) or "none (not a Keras model)"
        if len(names) > _MAX_LISTED_LAYERS:
            shown += f", ... (and {len(names) - _MAX_LISTED_LAYERS} more)"
        raise InvalidParameterError(f"layer: unknown layer {describe(layer)}; available: {shown}")

    def _split(self, name: str, layer: Any, x: Any) -> tuple[Any, Any]:
        """Two models sharing the model's layers: ``before(x)`` is the layer's output ``a``, and
        ``after([x, a])`` the model's output computed from ``a`` (and from ``x`` along paths that
        bypass the layer, such as skip connections). Built once per layer."""
        if name in self._splits:
            return self._splits[name]
        if not _has_layer_graph(self.model):
            raise UnsupportedModelError(
                f"layer: layer gradients of a Keras model read the layer's output from the model's layer "
                f"graph, which a subclassed model ({self.describe()}) does not have; build the model with "
                "the functional API or as a Sequential, or explain its input gradients"
            )
        self._ensure_built(x)
        graph_input = self._graph_input()
        if graph_input is None:
            raise UnsupportedModelError(f"layer: the model ({self.describe()}) has no layer graph after a call")
        activations = layer.output
        if not isinstance(activations, keras.KerasTensor):
            raise InvalidParameterError(
                f"layer: {name!r} returns {type(activations).__name__} of several tensors; choose a layer "
                "with one output"
            )
        output = self.model.outputs[0]
        if activations is graph_input:  # the input layer: its output is the input itself
            split = (None, keras.Model(graph_input, output))
        else:
            split = (keras.Model(graph_input, activations), keras.Model([graph_input, activations], output))
        self._splits[name] = split
        return split

    def layer_gradients(
        self, X: Any, layer: Any, target: Any, *, batch_size: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """A layer's output and the gradient of ``output[i, target[i]]`` with respect to it, per row.

        Parameters
        ----------
        X : array or tensor (n, ...)
        layer : str or keras.Layer
            A name from :meth:`layer_names` (e.g. ``"conv2"``) or one of the model's layers, with
            one output tensor. For a layer called several times in the model (a shared layer), the
            output of its first call is used (and the gradient flows through the later calls).
        target : int or array of n ints
        batch_size : int, optional

        Returns
        -------
        (activations, gradients) : ndarrays of the layer's output shape ``(n, ...)``, in the
        layer's layout (channels last for Keras' convolutions by default: see :attr:`channels_last`).

        Notes
        -----
        The model is split at the layer: the layer's output is computed first, then the rest of
        the model from it (and from the input, along paths that bypass the layer), and the gradient
        is taken with respect to that output. Nothing before the layer needs to be differentiable
        (integer inputs, frozen weights, casts).

        Examples
        --------
        >>> import keras
        >>> net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, kernel_initializer="identity",
        ...                         name="hidden"), keras.layers.Dense(1, kernel_initializer="ones")])
        >>> acts, grads = KerasModel(net).layer_gradients([[1.0, 2.0]], "hidden", 0)
        >>> acts.tolist(), grads.tolist()
        ([[1.0, 2.0]], [[1.0, 1.0]])
        """
        name, module = self.resolve_layer(layer)
        n = self._n_rows(X)
        x_all = self._tensor(X)
        before, after = self._split(name, module, x_all)
        acts, grads = [], []
        for s in self._chunks(n, batch_size):
            x = x_all[s]
            with self._autodiff.no_grad():
                a = x if before is None else before(x, training=False)
            if "float" not in str(a.dtype):
                raise InvalidParameterError(
                    f"layer: the output of {name!r} has dtype {a.dtype}; choose a layer with floating-point output"
                )

            def objective(a: Any, x: Any = x, rows: slice = s) -> Any:
                out = self._transform(after(a if before is None else [x, a], training=False), x.shape[0])
                return self._selected(out, self._targets(target, n, out.shape[1])[rows])

            g = self._autodiff.gradient(objective, a)
            acts.append(keras.ops.convert_to_numpy(a))
            grads.append(keras.ops.convert_to_numpy(keras.ops.zeros_like(a) if g is None else g))
        return np.concatenate(acts, axis=0), np.concatenate(grads, axis=0)
