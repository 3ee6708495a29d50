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
:meth:`KerasModel.layer_gradients` and :meth:`KerasModel.layer_activations` read a layer's output
(or input) during the model's own forward pass: the layer's ``call`` is wrapped for the duration of
the pass, and restored after it, so the user's model is never left modified. The gradient is taken
with respect to that tensor (or to ``values`` put in its place). This works for Sequential,
functional and subclassed models, and reaches layers inside nested models by path
(``"base/conv1"``, as transfer learning nests a ``keras.applications`` base model). Keras layers
are channels-last by default (``keras.config.image_data_format()``); :attr:`KerasModel.channels_last`
says which layout the model's images use.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
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

    def gradients(self, run: Callable[[Callable[[Any], Any]], Any]) -> list[Any]:
        """Gradients of ``run(make)`` with respect to every tensor ``make`` was given (in order), None
        for a tensor the value does not depend on. ``make(a)`` returns the differentiable stand-in of
        ``a`` to compute with; nothing before it is recorded."""
        sources: list[Any] = []
        with self.tf.GradientTape(watch_accessed_variables=False) as tape:

            def make(a: Any) -> Any:
                source = self.tf.stop_gradient(a)
                tape.watch(source)
                sources.append(source)
                return source

            value = run(make)
        return list(tape.gradient(value, sources)) if sources else []


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

    def gradients(self, run: Callable[[Callable[[Any], Any]], Any]) -> list[Any]:
        """As :meth:`_TensorFlowAutodiff.gradients`."""
        sources: list[Any] = []

        def make(a: Any) -> Any:
            leaf = a.detach().requires_grad_(True)
            sources.append(leaf)
            return leaf

        with self.torch.enable_grad():
            value = run(make)
            if not sources:
                return []
            if not value.requires_grad:
                return [None] * len(sources)
            return list(self.torch.autograd.grad(value, sources, allow_unused=True))


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



def _final_operation(model: Any) -> Any:
    """The layer or operation that produces the output of a Sequential or single-output functional
    model (through pass-through layers, into nested models), or None when it cannot be read."""
    if not isinstance(model, keras.Model):
        return model if isinstance(model, keras.Layer) else None
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):
        outputs = None
    operation: Any = None
    if not outputs:
        layers = getattr(model, "layers", None)
        if isinstance(model, keras.Sequential) and layers:
            operation = next((layer for layer in reversed(layers) if not _pass_through(layer)), None)
    elif len(outputs) == 1:
        tensor = outputs[0]
        for _ in range(64):
            history = getattr(tensor, "_keras_history", None)
            operation = getattr(history, "operation", None)
            if operation is None or not _pass_through(operation):
                break
            try:
                inputs = operation._inbound_nodes[history.node_index].input_tensors  # type: ignore[union-attr]
            except (AttributeError, IndexError):
                return None
            if len(inputs) != 1:
                return None
            tensor = inputs[0]
    if isinstance(operation, keras.Model):
        return _final_operation(operation)
    return operation


def _children(layer: Any) -> list[Any]:
    """The layers directly inside ``layer``: a nested model's layers, a custom layer's sub-layers."""
    if isinstance(layer, keras.Model):
        return list(getattr(layer, "layers", []))
    flatten = getattr(layer, "_flatten_layers", None)
    if flatten is None:
        return []
    try:
        return list(flatten(include_self=False, recursive=False))
    except TypeError:
        return []


def _dtype_name(tensor: Any) -> str:
    return str(keras.backend.standardize_dtype(tensor.dtype))


def _to_numpy(tensor: Any) -> np.ndarray:
    if hasattr(tensor, "detach"):  # a torch tensor that may require gradients
        tensor = tensor.detach()
    return np.asarray(keras.ops.convert_to_numpy(tensor))


_MISSING = object()


@contextmanager
def _replaced_attribute(obj: Any, name: str, value: Any) -> Iterator[None]:
    """``obj.name = value`` for the duration of the block, restored afterwards (also on errors). Set
    with ``object.__setattr__``: Keras' attribute tracking is not involved."""
    own = obj.__dict__.get(name, _MISSING)
    object.__setattr__(obj, name, value)
    try:
        yield
    finally:
        if own is _MISSING:
            object.__delattr__(obj, name)
        else:
            object.__setattr__(obj, name, own)


def _first_argument(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if args:
        return args[0]
    return next(iter(kwargs.values()), None)


def _with_first_argument(args: tuple[Any, ...], kwargs: dict[str, Any], value: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if args:
        return (value, *args[1:]), kwargs
    key = next(iter(kwargs))
    return args, {**kwargs, key: value}


class _Tap:
    """Reads (and may replace) the input or output tensor of one layer at its first call in a forward
    pass, by wrapping the layer's ``call`` for the duration of the pass."""

    def __init__(self, path: str, at: str, replace: Callable[[Any], Any]) -> None:
        self.path, self.at, self.replace = path, at, replace
        self.tensor: Any = None
        self.called = False
        self.error: Exception | None = None

    def take(self, tensor: Any) -> Any:
        if not keras.ops.is_tensor(tensor):
            verb = "receives" if self.at == "input" else "returns"
            self.error = InvalidParameterError(
                f"layer: {self.path!r} {verb} {describe(tensor)} at its {self.at}, not one tensor; choose a "
                "layer with one input and one output tensor"
            )
            return tensor
        try:
            self.tensor = self.replace(tensor)
        except Exception as exc:  # noqa: BLE001 - raised after the forward pass, outside Keras' wrappers
            self.error = exc
            return tensor
        return self.tensor

    def wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if self.called or self.error is not None:
                return original(*args, **kwargs)
            self.called = True
            if self.at == "input":
                args, kwargs = _with_first_argument(args, kwargs, self.take(_first_argument(args, kwargs)))
                return original(*args, **kwargs)
            return self.take(original(*args, **kwargs))

        return call


class _Rows:
    """Several inputs of the same rows, sliced together (``X[a:b]``, ``len(X)``) by the row-wise code."""

    def __init__(self, parts: list[Any], names: list[str] | None, as_dict: bool) -> None:
        self.parts, self.names, self.as_dict = parts, names, as_dict

    def __len__(self) -> int:
        return len(self.parts[0])

    def __getitem__(self, rows: slice) -> _Rows:
        return _Rows([p[rows] for p in self.parts], self.names, self.as_dict)


def _is_array_like_item(item: Any) -> bool:
    return not isinstance(item, (tuple, list)) and getattr(item, "ndim", 0) >= 1


def _head_names(model: Any, outputs: list[Any]) -> list[str]:
    """The name of each output of a functional model: its key in a dict of outputs, else the name of
    the layer producing it."""
    struct = getattr(model, "_outputs_struct", None)
    if isinstance(struct, dict) and len(struct) == len(outputs):
        return [str(k) for k in keras.tree.flatten({k: k for k in struct})]
    return [str(getattr(getattr(t, "_keras_history", None), "operation", t).name) for t in outputs]


def _resolve_head(head: Any, names: list[str], model: Any, listed: str) -> tuple[int, str | None]:
    """``(position, dict key or None)`` of the output chosen by ``head``."""
    struct = getattr(model, "_outputs_struct", None)
    keyed = isinstance(struct, dict)
    if isinstance(head, (int, np.integer)) and not isinstance(head, bool) and -len(names) <= int(head) < len(names):
        k = int(head) % len(names)
        return k, names[k] if keyed else None
    if isinstance(head, str):
        if head in names:
            k = names.index(head)
            return k, head if keyed else None
        producers = [str(getattr(getattr(t, "_keras_history", None), "operation", t).name) for t in model.outputs]
        if head in producers:
            k = producers.index(head)
            return k, names[k] if keyed else None
    raise InvalidParameterError(f"head: expected one of the model's outputs ({listed}) by name or position, got {describe(head)}")


class KerasModel(BatchedModel):
    """A Keras 3 model (or layer) as an xaikit model, with gradients.

    Parameters
    ----------
    model : keras.Model or keras.Layer
        Called on a batch ``(n, ...)`` with ``training=False`` (dropout off, batch normalisation on
        its moving statistics); its output is flattened to ``(n, n_outputs)``. The model is never
        modified (layers are wrapped only during a call, and restored after it). Sequential,
        functional (with one or several inputs) and subclassed models are supported. A model with
        several outputs (heads) is explained on the one chosen by ``head``.
    output : {"auto", "raw", "probability", "logits"}
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
        ``"logits"`` explains the score before the model's final softmax or sigmoid: the model is
        evaluated up to that activation's input (the final layer's activation is skipped, or a
        final ``Activation``/``Softmax``/``Lambda`` layer or ``keras.ops`` operation passes its
        input on), during each call only. A model ending in a known function that gives no
        probabilities (a linear ``Dense``) is explained as it is; a model whose final operation
        cannot be read (a subclassed model) is refused, naming ``output``.
        ``"auto"`` is ``"probability"`` for a model that ends with a softmax or sigmoid and
        ``"raw"`` otherwise; nothing is applied either way.
    output_names : list of str, optional
        Names of the outputs (class labels), carried into the results.
    channels_last : bool, optional
        The layout of image inputs and convolutional layers: ``(n, H, W, C)`` when True. Default:
        ``keras.config.image_data_format() == "channels_last"`` (Keras' default).
    head : str or int, optional
        The output to explain, for a model with several outputs (a list or a dict of outputs):
        its key in the model's dict of outputs, the name of the layer that produces it, or its
        position in ``model.outputs``. Required for such a model (the others would otherwise be
        dropped without a word); ``output`` then applies to that head.

    Attributes
    ----------
    backend : str
        ``"tensorflow"`` or ``"torch"``.
    dtype : str
        The floating-point dtype inputs are given to the model in: the model input's declared
        dtype, else its first floating-point weight's, else ``keras.config.floatx()``.
    channels_last : bool
    input_names : list of str or None
        The names of a functional model's inputs, in the model's order.
    head_names : list of str or None
        The names ``head`` accepts, for a functional model with several outputs.

    Notes
    -----
    Inputs may be numpy arrays, nested lists or tensors of the backend. Floating-point inputs are
    converted to :attr:`dtype`; integer inputs (token ids) keep an integer dtype and can be
    predicted and explained at a layer, but have no input gradient. Predictions are returned as
    float64, gradients in :attr:`dtype`.

    A model with several inputs takes ``X`` as a tuple or list of arrays (one per input, in the
    model's input order, all with the same rows) or as a dict keyed by the input names; its
    input gradients come back in the same form (a tuple, or a dict), ``None`` for an integer input.

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
        head: str | int | None = None,
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
        check_choice(output, "output", ("auto", "raw", "probability", "logits"))
        try:
            outputs = model.outputs if isinstance(model, keras.Model) else None
        except (AttributeError, ValueError):  # a Sequential without an Input, not called yet
            outputs = None
        self.head_names = _head_names(model, outputs) if outputs is not None and len(outputs) > 1 else None
        self._head: tuple[int | None, str | None] | None = None
        view = model
        if outputs is not None and len(outputs) > 1:
            listed = ", ".join(f"{nm!r} {tuple(t.shape)}" for nm, t in list(zip(self.head_names or [], outputs))[:_MAX_LISTED_LAYERS])
            if head is None:
                raise UnsupportedModelError(
                    f"model: the Keras model has {len(outputs)} outputs ({listed}); choose the one to explain with "
                    "head= (its name or position), so that the others are not dropped without a word"
                )
            self._head = _resolve_head(head, self.head_names or [], model, listed)
            view = keras.Model(model.inputs, outputs[self._head[0]])  # shares the model's layers; to read its head
        elif head is not None and outputs is not None:
            raise InvalidParameterError(f"head: the model has one output; head chooses among several, got {describe(head)}")
        elif head is not None:  # a subclassed model: its outputs are known when it runs
            if isinstance(head, str):
                self._head = (None, head)
            elif isinstance(head, (int, np.integer)) and not isinstance(head, bool):
                self._head = (int(head), None)
            else:
                raise InvalidParameterError(f"head: expected an output's name or position, got {describe(head)}")
        self.model = model
        self.backend = backend
        self._autodiff = _autodiff(backend)
        final = _final_activation(view)
        self._logits_site: Any = None
        if output == "logits":
            if final is None:
                raise InvalidParameterError(
                    f"output: 'logits' explains the score before the model's final softmax or sigmoid, but the final "
                    f"operation of the model (keras {type(model).__name__}) cannot be read (a subclassed model, or a "
                    "Lambda of an anonymous function); got output='logits': give a model whose logits are its "
                    "output (e.g. the model without its final activation) with output='raw'"
                )
            if final in ("softmax", "sigmoid"):
                self._logits_site = _final_operation(view)
            self.output = "logits"
        elif output == "auto":
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
        self.capabilities = frozenset({"gradient", "layer_gradients"})
        self.input_names: list[str] | None = [str(t.name) for t in self._graph_inputs()] or None
        self.dtype = self._float_dtype()

    # ---------------------------------------------------------------- helpers
    def describe(self) -> str:
        return f"keras {type(self.model).__name__} ({self.backend} backend)"

    def _graph_inputs(self) -> list[Any]:
        """The model's symbolic inputs (KerasTensors), empty for a subclassed or unbuilt model."""
        inputs = getattr(self.model, "inputs", None) if isinstance(self.model, keras.Model) else None
        return list(inputs) if inputs else []

    def _float_dtype(self) -> str:
        declared = [str(t.dtype) for t in self._graph_inputs() if "float" in str(t.dtype)]
        if declared:
            return declared[0]
        weights = [str(w.dtype) for w in self.model.weights if "float" in str(w.dtype)]
        return weights[0] if weights else keras.config.floatx()

    def _several(self, X: Any) -> bool:
        """Whether ``X`` holds several inputs (a tuple/list of arrays or a dict)."""
        if isinstance(X, (_Rows, dict)):
            return True
        if len(self._graph_inputs()) > 1:
            return True
        return isinstance(X, (tuple, list)) and len(X) > 1 and all(_is_array_like_item(item) for item in X)

    def _rows(self, X: Any) -> Any:
        """``X`` itself for one input; several inputs as a :class:`_Rows`, checked (names, count, rows)."""
        if isinstance(X, _Rows) or not self._several(X):
            return X
        specs = self._graph_inputs()
        names = [str(t.name) for t in specs]
        if isinstance(X, dict):
            keys = [str(k) for k in X]
            if specs:
                if sorted(keys) != sorted(names):
                    raise InvalidParameterError(
                        f"X: expected a dict keyed by the model's input names {names}, got keys {keys}"
                    )
                parts = [X[nm] for nm in names]
            else:
                names, parts = keys, list(X.values())
            as_dict = True
        elif isinstance(X, (tuple, list)) and all(_is_array_like_item(item) for item in X) and X:
            parts, as_dict = list(X), False
            if specs and len(parts) != len(specs):
                raise InvalidParameterError(
                    f"X: the model takes {len(specs)} inputs {names}, got a {type(X).__name__} of {len(parts)} arrays"
                )
            names = names or [f"input_{i}" for i in range(len(parts))]
        else:
            shown = ", ".join(f"{nm!r} (n, {', '.join('?' if e is None else str(e) for e in t.shape[1:])})" for nm, t in zip(names, specs))
            raise InvalidParameterError(
                f"X: the model takes {len(specs)} inputs ({shown}): give a tuple or list of {len(specs)} arrays in "
                f"this order, or a dict keyed by these names; got {describe(X)}"
            )
        lengths = [len(p) for p in parts]
        if len(set(lengths)) != 1:
            raise InvalidParameterError(f"X: the inputs must have the same number of rows, got {dict(zip(names, lengths))} rows")
        return _Rows(parts, names, as_dict)

    def _tensors(self, X: Any) -> list[Any]:
        """The backend tensors of every input of ``X`` (one or several)."""
        rows = self._rows(X)
        specs = self._graph_inputs()
        if not isinstance(rows, _Rows):
            return [self._tensor(rows, "X", specs[0] if specs else None)]
        where = (lambda i: f"X[{rows.names[i]!r}]") if rows.as_dict else (lambda i: f"X[{i}]")  # type: ignore[index]
        return [self._tensor(p, where(i), specs[i] if specs else None, several=True) for i, p in enumerate(rows.parts)]

    def _tensor(self, X: Any, name: str = "X", declared: Any = None, *, several: bool = False) -> Any:
        """``X`` as a backend tensor: floating point in :attr:`dtype` (or the input's declared one),
        integers in an integer dtype."""
        if not several:
            check_one_input(X, name)
        arr = _as_numpy(X)
        if arr.dtype.kind not in "biuf":
            raise InvalidParameterError(f"{name}: expected a numeric array or tensor, got {describe(arr)}")
        if arr.ndim == 0:
            raise InvalidParameterError(f"{name}: expected a batch (n, ...) of inputs, got a scalar")
        declared_dtype = str(declared.dtype) if declared is not None else ""
        if declared is not None:
            expected = tuple(declared.shape[1:])
            if len(expected) != arr.ndim - 1 or any(e is not None and e != a for e, a in zip(expected, arr.shape[1:])):
                shown = "(n, " + ", ".join("?" if e is None else str(e) for e in expected) + ")"
                raise InvalidParameterError(f"{name}: the model takes inputs of shape {shown}, got {describe(arr)}")
        if arr.dtype.kind in "iub":
            dtype = declared_dtype if ("int" in declared_dtype or declared_dtype == "bool") else ("bool" if arr.dtype.kind == "b" else "int64")
        else:
            dtype = declared_dtype if "float" in declared_dtype else self.dtype
        return keras.ops.convert_to_tensor(np.ascontiguousarray(arr, dtype=dtype), dtype=dtype)

    def _call(self, xs: list[Any], model: Any = None) -> Any:
        """The model on the input tensors ``xs``, its output as ``(n, n_outputs)``."""
        model = self.model if model is None else model
        specs = self._graph_inputs()
        if len(xs) == 1 and len(specs) <= 1:
            arg: Any = xs[0]
        elif not specs and self.input_names is None and self._dict_names is not None:
            arg = dict(zip(self._dict_names, xs))
        else:
            arg = list(xs)
        with ExitStack() as stack:
            if self._logits_site is not None:
                stack.enter_context(self._skip_final_activation(self._logits_site))
            out = model(arg, training=False)
        return self._transform(out, xs[0].shape[0])

    _dict_names: list[str] | None = None

    def _remember_call_form(self, X: Any) -> None:
        """A subclassed model given a dict is called with a dict (its keys), else with a list."""
        rows = self._rows(X)
        self._dict_names = rows.names if isinstance(rows, _Rows) and rows.as_dict and not self._graph_inputs() else None

    @staticmethod
    @contextmanager
    def _skip_final_activation(site: Any) -> Iterator[None]:
        """The model's final softmax or sigmoid left out for the block (``output="logits"``)."""
        if isinstance(site, (keras.layers.Activation, keras.layers.Softmax, keras.layers.Lambda)) or not isinstance(
            site, keras.Layer
        ):
            with _replaced_attribute(site, "call", lambda *args, **kwargs: _first_argument(args, kwargs)):
                yield
        else:
            with _replaced_attribute(site, "activation", keras.activations.linear):
                yield

    def _transform(self, out: Any, n: int) -> Any:
        """A model output as ``(n, n_outputs)``, transformed per ``output``."""
        if self._head is not None:
            index, key = self._head
            if isinstance(out, dict) and key is not None:
                if key not in out:
                    raise ModelOutputError(f"head: the model ({self.describe()}) returned the outputs {list(out)}, not {key!r}")
                out = out[key]
            else:
                flat = keras.tree.flatten(out)
                if index is None or not -len(flat) <= index < len(flat):
                    raise ModelOutputError(
                        f"head: the model ({self.describe()}) returned {len(flat)} outputs, not a dict with {key!r}"
                        if index is None
                        else f"head: the model ({self.describe()}) returned {len(flat)} outputs, no output {index}"
                    )
                out = flat[index]
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

    def _ensure_built(self, xs: list[Any]) -> None:
        """Build a Sequential model given without an ``Input`` (its layer graph exists after a call)."""
        if isinstance(self.model, keras.Sequential) and not self._graph_inputs():
            with self._autodiff.no_grad():
                self._call([x[:1] for x in xs])

    def _forward(self, x: Any, model: Any = None) -> Any:
        return self._call([x], model)

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
    def predict(self, X: Any, *, batch_size: int | None = None) -> np.ndarray:
        """Predictions ``(n, n_outputs)`` float64, ``batch_size`` rows at a time (all at once by default);
        ``X`` is one array or, for several inputs, a tuple, list or dict of arrays."""
        return super().predict(self._rows(X), batch_size=batch_size)

    def _predict(self, X: Any) -> np.ndarray:
        self._remember_call_form(X)
        xs = self._tensors(X)
        with self._autodiff.no_grad():
            out = self._call(xs)
        return np.asarray(keras.ops.convert_to_numpy(out), dtype=np.float64)

    # ---------------------------------------------------------------- gradients
    def gradient(self, X: Any, target: Any, *, batch_size: int | None = None, relu: str = "standard") -> Any:
        """Gradient of ``output[i, target[i]]`` with respect to input row ``i``, for every row.

        Parameters
        ----------
        X : array or tensor (n, ...), or a tuple, list or dict of them (several inputs)
            Floating-point inputs (integer inputs of a model with several inputs are passed as they
            are and get no gradient).
        target : int or array of n ints
            Output index per row (of the flattened output).
        batch_size : int, optional
            Rows per backward pass; default all at once.
        relu : {"standard", "guided"}
            ``"guided"`` applies guided backpropagation (Springenberg et al. 2015): every ReLU
            passes back only the positive part of the gradient, and only where its input was
            positive. The ReLUs replaced, during the call only, are ``activation="relu"`` of any
            layer (``keras.activations.relu``), ``Activation("relu")`` and ``keras.layers.ReLU()``
            with default parameters, in nested models, custom layers and subclassed models too.
            Other functions (``tf.nn.relu``, ``keras.ops.relu`` inside a ``call``, ReLU6, leaky
            ReLUs) keep their ordinary gradient.

        Returns
        -------
        ndarray like ``X``, in :attr:`dtype`; for several inputs a tuple (a dict when ``X`` is a
        dict) of one per input, ``None`` for an integer input.
        """
        check_choice(relu, "relu", RELU_RULES)
        rows = self._rows(X)
        n = self._n_rows(rows)
        tensors = self._tensors(rows)
        several = isinstance(rows, _Rows)
        floating = self._floating(tensors)
        if not any(floating):
            specs = self._graph_inputs()
            declared = specs[0] if len(specs) == 1 else None
            if declared is not None and "float" not in str(declared.dtype) and "float" in _dtype_name(tensors[0]):
                # the model casts any input to its declared integer dtype: the gradient would be zero
                raise InvalidParameterError(
                    f"X: gradients need floating-point inputs, but the model's input is declared with dtype "
                    f"{declared.dtype} (token ids or integer data), so gradients with respect to it are "
                    f"undefined (got {describe(X)}); explain a layer (e.g. the embedding) with a layer method "
                    "(layer_gradients, GradCam, ...)"
                )
            raise InvalidParameterError(
                f"X: gradients need floating-point inputs, got {describe(X)}; for token ids, explain a "
                "layer (e.g. the embedding) with layer_gradients"
            )
        found, _, _ = self._pass((rows, n, tensors), target, batch_size=batch_size, relu=relu)
        if not several:
            if found[0] is None:
                raise ModelOutputError(
                    f"X: the output of the model ({self.describe()}) does not depend on its input through "
                    "differentiable operations (the input is cast to integers, e.g. by an Embedding layer, "
                    "or its gradient is stopped), so its input gradient is undefined; explain a layer (e.g. "
                    "the embedding) with a layer method (layer_gradients, GradCam, ...)"
                )
            return found[0]
        # several inputs: a floating-point input the output does not depend on gets zeros
        result = [
            None if not floating[i] else np.zeros(tuple(t.shape), dtype=_dtype_name(t)) if g is None else g
            for i, (t, g) in enumerate(zip(tensors, found))
        ]
        if rows.as_dict:
            return dict(zip(rows.names or [], result))
        return tuple(result)

    def _floating(self, tensors: list[Any]) -> list[bool]:
        """Which inputs have a gradient: floating-point tensors of inputs declared floating point (a
        float array given to an input declared integer is cast to integers by the model)."""
        specs = self._graph_inputs()
        return ["float" in _dtype_name(t) and (not specs or "float" in str(specs[i].dtype)) for i, t in enumerate(tensors)]

    def gradients(
        self,
        X: Any,
        target: Any,
        *,
        layers: Sequence[tuple[Any, str, Any]] = (),
        neuron: tuple[Any, Any] | None = None,
        batch_size: int | None = None,
        relu: str = "standard",
        inputs: bool = True,
    ) -> tuple[list[np.ndarray | None], list[tuple[np.ndarray, np.ndarray]]]:
        """Gradients of the explained output with respect to the inputs and to layers, in one pass per chunk.

        Parameters
        ----------
        X : array or tensor (n, ...), or a tuple, list or dict of them (several inputs)
            Integer inputs (token ids, masks) reach the model untouched.
        target : int or array of n ints
            Output index per row; ignored when ``neuron`` is given.
        layers : sequence of (layer, at, values)
            Layers whose gradient is wanted (``layer`` as in :meth:`layer_gradients`): ``at`` is
            ``"output"`` or ``"input"`` (its first input argument); ``values`` None takes the
            layer's own values, an array ``(n, *shape)`` replaces them, row by row (the gradient is
            then taken at those values: layer Integrated Gradients). The gradient is taken with
            respect to the layer's tensor itself: what comes before it needs no gradient, and the
            input gradients do not flow through it.
        neuron : (layer, index), optional
            Differentiate one unit of a layer's output instead of a model output: ``index`` into the
            layer's output flattened per row, an int for every row or one per row.
        batch_size : int, optional
        relu : {"standard", "guided"}
            See :meth:`gradient`.
        inputs : bool
            Whether input gradients are wanted (False for layer gradients alone).

        Returns
        -------
        (input_gradients, layer_results)
            One gradient per model input, in :attr:`dtype` (None for integer inputs, for an input
            the differentiated value does not depend on through differentiable operations, and when
            ``inputs`` is False); for each layer ``(values, gradients)`` shaped ``(n, *layer_shape)``.

        Examples
        --------
        >>> import keras
        >>> net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, kernel_initializer="identity",
        ...                         name="hidden"), keras.layers.Dense(1, kernel_initializer="ones")])
        >>> grads, [(acts, g)] = KerasModel(net).gradients([[1.0, 2.0]], 0, layers=[("hidden", "output", None)])
        >>> grads, acts.tolist(), g.tolist()  # the input's gradient does not flow through the layer read
        ([None], [[1.0, 2.0]], [[1.0, 1.0]])
        >>> KerasModel(net).gradients([[1.0, 2.0]], None, neuron=("hidden", 1))[0][0].tolist()
        [[0.0, 1.0]]
        """
        check_choice(relu, "relu", RELU_RULES)
        found, results, _ = self._pass(X, target, layers=layers, neuron=neuron, batch_size=batch_size, relu=relu, inputs=inputs)
        return found, [(a, g) for a, g in results if g is not None]

    @contextmanager
    def _guided(self) -> Iterator[None]:
        """Every ReLU of the model with the guided gradient for the block (layers restored after it)."""
        with ExitStack() as stack:
            replaced = 0
            for layer in self._all_layers():
                if _is_plain_relu_layer(layer):
                    stack.enter_context(_replaced_attribute(layer, "call", lambda *a, **k: guided_relu(_first_argument(a, k))))
                    replaced += 1
                elif getattr(layer, "activation", None) is keras.activations.relu:
                    stack.enter_context(_replaced_attribute(layer, "activation", guided_relu))
                    replaced += 1
            if not replaced:
                warnings.warn(
                    f"relu: the model ({self.describe()}) has no ReLU activations or ReLU layers, so guided "
                    "backpropagation equals the plain gradient",
                    ApproximationWarning,
                    stacklevel=4,
                )
            yield

    def _all_layers(self) -> list[Any]:
        layers = [self.model]
        layers.extend(layer for _, layer, _ in self._layer_paths())
        unique: dict[int, Any] = {}
        for layer in layers:
            unique.setdefault(id(layer), layer)
        return list(unique.values())

    # ---------------------------------------------------------------- layers
    def _layer_paths(self) -> list[tuple[str, Any, Any]]:
        """``(path, layer, parent)`` for every layer, nested models and sub-layers included
        (``"base/conv1"``), depth first."""
        found: list[tuple[str, Any, Any]] = []

        def walk(parent: Any, prefix: str, depth: int) -> None:
            for layer in _children(parent):
                path = prefix + layer.name
                found.append((path, layer, parent))
                if depth < 16:
                    walk(layer, path + "/", depth + 1)

        walk(self.model, "", 0)
        return found

    def layer_names(self) -> list[str]:
        """The layers accepted by ``layer=``: the model's layers by name, and the layers inside
        nested models and custom layers by path (``"base/conv1"``)."""
        return [path for path, _, _ in self._layer_paths()]

    def resolve_layer(self, layer: Any) -> tuple[str, Any]:
        """The ``(path, layer)`` of ``layer``: a path from :meth:`layer_names`, the name of a nested layer
        found once in the model, or one of the model's layers (nested ones too).

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
        return self._resolve(layer)[:2]

    def _resolve(self, layer: Any) -> tuple[str, Any, Any]:
        paths = self._layer_paths()
        if isinstance(layer, str):
            for entry in paths:
                if entry[0] == layer:
                    return entry
            matches = [entry for entry in paths if entry[0].rsplit("/", 1)[-1] == layer]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise InvalidParameterError(
                    f"layer: the name {layer!r} is taken by {len(matches)} layers "
                    f"({', '.join(repr(e[0]) for e in matches[:_MAX_LISTED_LAYERS])}); give its path"
                )
        elif isinstance(layer, keras.Layer):
            for entry in paths:
                if entry[1] is layer:
                    return entry
            raise InvalidParameterError(
                f"layer: the layer {layer.name!r} ({type(layer).__name__}) is not one of the model's layers "
                f"({self.describe()}), nested ones included"
            )
        names = [e[0] for e in paths]
        shown = ", ".join(repr(nm) for nm in names[:_MAX_LISTED_LAYERS]) or "none (not a Keras model)"
        if len(names) > _MAX_LISTED_LAYERS:
            shown += f", ... (and {len(names) - _MAX_LISTED_LAYERS} more)"
        raise InvalidParameterError(f"layer: unknown layer {describe(layer)}; available: {shown}")

    def _site(self, layer: Any, at: str, values: Any, n: int) -> _Site:
        """Where a layer's tensor is read (or replaced): its ``call`` wrapped, or, for one of the model's
        input layers, the input itself (a nested model's input layer: the nested model's input)."""
        check_choice(at, "at", ("output", "input"))
        path, module, parent = self._resolve(layer)
        vals = None
        if values is not None:
            vals = _as_numpy(values)
            if vals.dtype.kind not in "biuf" or vals.ndim < 1 or vals.shape[0] != n:
                raise InvalidParameterError(
                    f"values: expected a numeric array (n, ...) of the layer's {at} with n = {n} rows, got {describe(vals)}"
                )
        input_index: int | None = None
        if isinstance(module, keras.layers.InputLayer):  # the input layer is not called: its output is the input itself
            own = getattr(module, "output", None)
            if parent is self.model:
                input_index = next((i for i, t in enumerate(self._graph_inputs()) if t is own), 0)
            else:
                module, at = parent, "input"
        return _Site(path, module, at, vals, input_index)

    def _pass(
        self,
        X: Any,
        target: Any,
        *,
        layers: Sequence[tuple[Any, str, Any]] = (),
        neuron: tuple[Any, Any] | None = None,
        batch_size: int | None = None,
        relu: str = "standard",
        inputs: bool = True,
        mode: str = "gradients",
    ) -> tuple[list[np.ndarray | None], list[tuple[np.ndarray, np.ndarray | None]], np.ndarray | None]:
        """The model run on ``X`` chunk by chunk with layers' tensors read (or replaced) on the way:
        ``mode="gradients"`` gives the gradients of the target outputs (or of ``neuron``) with respect
        to the floating-point inputs and to the layers' tensors; ``"activations"`` the layers' tensors
        alone; ``"predict"`` the outputs too, ``(n, n_outputs)`` float64. ``X`` may be given prepared,
        as ``(rows, n, tensors)``."""
        if isinstance(X, tuple) and len(X) == 3 and isinstance(X[2], list) and isinstance(X[1], int):
            rows, n, tensors = X
        else:
            rows = self._rows(X)
            n = self._n_rows(rows)
            tensors = self._tensors(rows)
        self._remember_call_form(rows)
        self._ensure_built(tensors)
        sites = [self._site(layer, at, values, n) for layer, at, values in layers]
        unit_site = None if neuron is None else self._site(neuron[0], "output", None, n)
        differentiate = mode == "gradients"
        wanted = [differentiate and inputs and f for f in self._floating(tensors)]
        in_parts: list[list[np.ndarray | None]] = [[] for _ in tensors]
        acts: list[list[np.ndarray]] = [[] for _ in sites]
        grads: list[list[np.ndarray]] = [[] for _ in sites]
        outputs: list[np.ndarray] = []
        for s in self._chunks(n, batch_size):
            order: list[tuple[str, int]] = []
            taps: list[_Tap] = []

            def run(make: Callable[[Any], Any] | None, rows: slice = s, order: list[tuple[str, int]] = order,
                    taps: list[_Tap] = taps) -> Any:
                xs = []
                for i, t in enumerate(tensors):
                    x = t[rows]
                    if make is not None and wanted[i]:
                        x = make(x)
                        order.append(("input", i))
                    xs.append(x)
                every = [*((j, site) for j, site in enumerate(sites)), *(() if unit_site is None else ((-1, unit_site),))]
                with ExitStack() as stack:
                    if relu == "guided":
                        stack.enter_context(self._guided())
                    for j, site in every:
                        tap = _Tap(site.path, site.at, self._replacer(site, rows, make if j >= 0 else None, order, j))
                        taps.append(tap)
                        if site.input_index is not None:
                            xs[site.input_index] = tap.take(xs[site.input_index])
                            tap.called = True
                        else:
                            stack.enter_context(_replaced_attribute(site.module, "call", tap.wrap(site.module.call)))
                    out = self._call(xs)
                for tap in taps:
                    if tap.error is not None:
                        raise tap.error
                    if tap.tensor is None:
                        raise InvalidParameterError(
                            f"layer: {tap.path!r} was not called when the model ran ({self.describe()}); choose a layer "
                            "the model's forward pass uses"
                        )
                if make is None:
                    return out
                if neuron is not None:
                    unit = keras.ops.reshape(taps[-1].tensor, (int(out.shape[0]), -1))
                    return self._selected(unit, self._targets(neuron[1], n, int(unit.shape[1]))[rows])
                return self._selected(out, self._targets(target, n, out.shape[1])[rows])

            if differentiate:
                found = dict(zip(order, self._autodiff.gradients(run)))
            else:
                with self._autodiff.no_grad():
                    out = run(None)
                if mode == "predict":
                    outputs.append(np.asarray(keras.ops.convert_to_numpy(out), dtype=np.float64))
                found = {}
            for i in range(len(tensors)):
                if wanted[i]:
                    g = found.get(("input", i))
                    in_parts[i].append(None if g is None else _to_numpy(g))
            for j in range(len(sites)):
                a = taps[j].tensor
                acts[j].append(_to_numpy(a))
                if differentiate:
                    g = found.get(("layer", j))
                    grads[j].append(_to_numpy(keras.ops.zeros_like(a) if g is None else g))
        in_grads: list[np.ndarray | None] = [
            None if not parts or any(p is None for p in parts) else np.concatenate([p for p in parts if p is not None], axis=0)
            for parts in in_parts
        ]
        results = [(np.concatenate(a, axis=0), np.concatenate(g, axis=0) if differentiate else None) for a, g in zip(acts, grads)]
        return in_grads, results, (np.concatenate(outputs, axis=0) if outputs else None)

    @staticmethod
    def _replacer(site: _Site, rows: slice, make: Callable[[Any], Any] | None, order: list[tuple[str, int]], j: int) -> Callable[[Any], Any]:
        """What a tap does with a layer's tensor: replaced by the site's values for ``rows``, then made a
        differentiable source (``make``) recorded as layer ``j``."""

        def replace(a: Any) -> Any:
            if site.values is not None:
                given = site.values[rows]
                expected = tuple(a.shape)
                if tuple(given.shape) != expected:
                    raise InvalidParameterError(
                        f"values: expected the shape of the layer's {site.at} {site.path!r}, "
                        f"(n, {', '.join(str(e) for e in expected[1:])}), got {describe(site.values)}"
                    )
                a = keras.ops.convert_to_tensor(np.ascontiguousarray(given, dtype=_dtype_name(a)))
            if make is None:
                return a
            if "float" not in _dtype_name(a):
                raise InvalidParameterError(
                    f"layer: the {site.at} of {site.path!r} has dtype {_dtype_name(a)}; choose a layer with "
                    f"floating-point {site.at}"
                )
            order.append(("layer", j))
            return make(a)

        return replace

    def layer_gradients(
        self,
        X: Any,
        layer: Any,
        target: Any,
        *,
        batch_size: int | None = None,
        values: Any = None,
        at: str = "output",
    ) -> tuple[np.ndarray, np.ndarray]:
        """A layer's output (or input) and the gradient of ``output[i, target[i]]`` with respect to it, per row.

        Parameters
        ----------
        X : array or tensor (n, ...), or a tuple, list or dict of them (several inputs)
        layer : str or keras.Layer
            A path from :meth:`layer_names` (``"conv2"``, ``"base/conv1"`` for a layer inside a
            nested model, or the nested model itself, ``"base"``), the name of a nested layer that
            is unique in the model, or one of the model's layers. For a layer called several
            times in the model (a shared layer), its first call is used (and the gradient flows
            through the later calls).
        target : int or array of n ints
        batch_size : int, optional
        values : array (n, ...), optional
            Put in place of the layer's output (or input, with ``at="input"``) for each row; the
            model's output is computed from them and the gradient taken at them (what layer
            integrated gradients needs, e.g. interpolated embeddings).
        at : {"output", "input"}
            Take the layer's output or the input it receives (its first input argument).

        Returns
        -------
        (activations, gradients) : ndarrays of the layer's output (or input) shape ``(n, ...)``,
        in the layer's layout (channels last for Keras' convolutions by default: see
        :attr:`channels_last`); the activations are ``values`` when given.

        Notes
        -----
        The layer's ``call`` is wrapped during the forward pass (restored after it): its output is
        read (or replaced), and the gradient is taken with respect to it. Nothing before the layer
        needs to be differentiable (integer inputs, frozen weights, casts). This works for
        Sequential, functional and subclassed models, and inside nested models.

        Examples
        --------
        >>> import keras
        >>> net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, kernel_initializer="identity",
        ...                         name="hidden"), keras.layers.Dense(1, kernel_initializer="ones")])
        >>> acts, grads = KerasModel(net).layer_gradients([[1.0, 2.0]], "hidden", 0)
        >>> acts.tolist(), grads.tolist()
        ([[1.0, 2.0]], [[1.0, 1.0]])
        """
        _, results = self.gradients(X, target, layers=[(layer, at, values)], batch_size=batch_size, inputs=False)
        return results[0]

    def layer_activations(self, X: Any, layer: Any, *, batch_size: int | None = None, at: str = "output") -> np.ndarray:
        """A layer's output (or, with ``at="input"``, its input) for every row, without gradients.

        Examples
        --------
        >>> import keras
        >>> net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, kernel_initializer="identity",
        ...                         name="hidden"), keras.layers.Dense(1, kernel_initializer="ones")])
        >>> KerasModel(net).layer_activations([[1.0, 2.0]], "hidden").tolist()
        [[1.0, 2.0]]
        """
        _, results, _ = self._pass(X, None, layers=[(layer, at, None)], batch_size=batch_size, mode="activations")
        return results[0][0]

    def predict_replaced(self, X: Any, layers: Sequence[tuple[Any, str, Any]], *, batch_size: int | None = None) -> np.ndarray:
        """Predictions ``(n, n_outputs)`` float64 with layers' outputs (inputs) replaced by ``values``, row
        by row (``layers`` as in :meth:`gradients`).

        Examples
        --------
        >>> import keras
        >>> net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, kernel_initializer="identity",
        ...                         name="hidden"), keras.layers.Dense(1, kernel_initializer="ones")])
        >>> KerasModel(net).predict_replaced([[1.0, 2.0]], [("hidden", "output", [[5.0, 5.0]])]).tolist()
        [[10.0]]
        """
        _, _, out = self._pass(X, None, layers=layers, batch_size=batch_size, mode="predict")
        return out  # type: ignore[return-value]

    def embedding_of(self, X: Any, position: int) -> str | None:
        """The path of the ``keras.layers.Embedding`` that receives input ``position`` of ``X`` itself
        (token ids) at its first call, found by running the first row; None when no embedding does.

        The tensor the embedding receives is that input when it is the same tensor, or, after a cast
        by the model (to its declared input dtype), when it has the same values and no other input does.

        Examples
        --------
        >>> import keras, numpy as np
        >>> net = keras.Sequential([keras.Input((2,), dtype="int32"), keras.layers.Embedding(5, 2, name="emb"),
        ...                         keras.layers.Flatten(), keras.layers.Dense(1)])
        >>> KerasModel(net).embedding_of(np.array([[1, 2]]), 0)
        'emb'
        """
        rows = self._rows(X)
        self._remember_call_form(rows)
        tensors = [t[:1] for t in self._tensors(rows)]
        if not isinstance(position, (int, np.integer)) or not 0 <= int(position) < len(tensors):
            raise InvalidParameterError(f"position: expected an input position in [0, {len(tensors)}), got {describe(position)}")
        self._ensure_built(tensors)
        wanted = tensors[int(position)]
        if "int" not in _dtype_name(wanted):
            return None
        values = [_to_numpy(t) for t in tensors]
        mine = values[int(position)]
        unique = not any(k != position and v.shape == mine.shape and np.array_equal(v, mine) for k, v in enumerate(values))
        taps = [(path, _Tap(path, "input", lambda a: a)) for path, layer, _ in self._layer_paths()
                if isinstance(layer, keras.layers.Embedding)]
        if not taps:
            return None
        modules = dict((path, layer) for path, layer, _ in self._layer_paths())
        with ExitStack() as stack, self._autodiff.no_grad():
            for path, tap in taps:
                stack.enter_context(_replaced_attribute(modules[path], "call", tap.wrap(modules[path].call)))
            self._call(tensors)
        for path, tap in taps:
            got = tap.tensor
            if got is None:
                continue
            if got is wanted:
                return path
            if unique and tuple(got.shape) == mine.shape and np.array_equal(_to_numpy(got), mine):
                return path
        return None


class _Site:
    """A layer whose tensor a forward pass reads or replaces: its path, the layer whose ``call`` is
    wrapped, ``at`` (``"output"`` or ``"input"``), the values put in its place (or None), and the
    position of the model input when the layer is one of the model's input layers."""

    def __init__(self, path: str, module: Any, at: str, values: np.ndarray | None, input_index: int | None) -> None:
        self.path, self.module, self.at, self.values, self.input_index = path, module, at, values, input_index
