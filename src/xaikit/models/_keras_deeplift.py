"""DeepLIFT multipliers (rescale rule) for Keras models: the twin of :mod:`xaikit.models._torch_deeplift`.

Each row ``x`` is run together with its reference ``r`` (one batch ``[x; r]``) while, for the
duration of the call, the model's nonlinearities are replaced by the same functions with a
custom gradient:

* elementwise activations (``activation="relu"``, ``"sigmoid"``, ``"tanh"``, ``"softplus"``,
  ``"elu"``, ``"gelu"``, ``"silu"``... of any layer, ``Activation`` layers, and the ``ReLU``,
  ``LeakyReLU``, ``ELU`` and ``PReLU`` layers): ``upstream * (f(x) - f(r)) / (x - r)``, the ordinary
  gradient where ``|x - r| < eps``;
* max pools (``MaxPooling1D/2D/3D``): Captum's max-pool rule, as for torch.

Several inputs (:func:`deeplift_multipliers`) run as one batch ``[x; r]`` per input. Token ids
explained on their embedding (a replaced layer) are refused: that is implemented for torch.

Other functions (``tf.nn.relu``, ``keras.ops.*`` inside a ``call``, a softmax, the probability
transform of ``output="probability"``) keep their ordinary gradient; a model with none of the above
gets an :class:`~xaikit.errors.ApproximationWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import keras
import numpy as np

from xaikit._validation import describe
from xaikit.errors import ApproximationWarning, InvalidParameterError, ModelOutputError, UnsupportedModelError
from xaikit.models.keras import _first_argument, _replaced_attribute, _to_numpy

__all__ = ["EPS", "deeplift_gradients", "deeplift_multipliers"]

#: Below this ``|x - r|`` a nonlinearity passes its ordinary gradient (Captum's default).
EPS = 1e-10

ops = keras.ops

_ACTIVATIONS = tuple(
    getattr(keras.activations, name)
    for name in ("relu", "sigmoid", "tanh", "softplus", "elu", "gelu", "silu", "swish", "selu", "leaky_relu",
                 "relu6", "mish", "softsign", "hard_sigmoid", "hard_silu", "celu", "log_sigmoid", "tanh_shrink")
    if hasattr(keras.activations, name)
)
_ELEMENTWISE_LAYERS = tuple(getattr(keras.layers, n) for n in ("ReLU", "LeakyReLU", "ELU", "PReLU") if hasattr(keras.layers, n))
_MAX_POOLS = tuple(getattr(keras.layers, n) for n in ("MaxPooling1D", "MaxPooling2D", "MaxPooling3D") if hasattr(keras.layers, n))


def _halves(t: Any) -> tuple[Any, Any]:
    a, b = ops.split(t, 2, axis=0)
    return a, b


def _twice(t: Any) -> Any:
    return ops.concatenate([t, t], axis=0)


def _vjp(autodiff: Any, f: Callable[[Any], Any], z: Any, v: Any) -> Any:
    """``v`` times the Jacobian of ``f`` at ``z``."""
    return autodiff.gradient(lambda t: ops.sum(f(t) * ops.stop_gradient(v)), ops.stop_gradient(z))


def _rescaled(f: Callable[[Any], Any], autodiff: Any, eps: float) -> Callable[[Any], Any]:
    """``f`` (elementwise) with the rescale rule as its gradient, on a batch ``[x; r]``."""

    @ops.custom_gradient
    def rescaled(z: Any) -> Any:
        y = f(z)

        def grad(*args: Any, upstream: Any = None) -> Any:
            if upstream is None:
                (upstream,) = args
            z_x, z_r = _halves(z)
            y_x, y_r = _halves(y)
            d_in = z_x - z_r
            small = _twice(ops.abs(d_in) < eps)
            ratio = _twice((y_x - y_r) / ops.where(ops.abs(d_in) < eps, ops.ones_like(d_in), d_in))
            return ops.where(small, _vjp(autodiff, f, z, upstream), upstream * ratio)

        return y, grad

    return rescaled


def _max_pool(call: Callable[[Any], Any], autodiff: Any, eps: float) -> Callable[[Any], Any]:
    """A max pool with Captum's max-pool rule as its gradient, on a batch ``[x; r]``."""

    @ops.custom_gradient
    def pooled(z: Any) -> Any:
        y = call(z)

        def grad(*args: Any, upstream: Any = None) -> Any:
            if upstream is None:
                (upstream,) = args
            g_x, g_r = _halves(upstream)
            y_x, y_r = _halves(y)
            top = ops.maximum(y_x, y_r)
            routed = _vjp(autodiff, call, z, ops.concatenate([g_x * (top - y_r), g_r * (y_x - top)], axis=0))
            u_x, u_r = _halves(routed)
            z_x, z_r = _halves(z)
            d_in = z_x - z_r
            small = ops.abs(d_in) < eps
            ratio = _twice((u_x + u_r) / ops.where(small, ops.ones_like(d_in), d_in))
            return ops.where(_twice(small), _vjp(autodiff, call, z, upstream), ratio)

        return y, grad

    return pooled


def _called_with(rule: Callable[[Any], Any]) -> Callable[..., Any]:
    """A layer ``call`` applying ``rule`` to its first argument."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return rule(_first_argument(args, kwargs))

    return call


@contextmanager
def _rules(model: Any, eps: float) -> Iterator[int]:
    """The model's nonlinearities with the DeepLIFT rules for the block; yields how many were replaced."""
    autodiff = model._autodiff
    with ExitStack() as stack:
        replaced = 0
        for layer in model._all_layers():
            if isinstance(layer, _ELEMENTWISE_LAYERS + _MAX_POOLS):
                make = _max_pool if isinstance(layer, _MAX_POOLS) else _rescaled
                rule = make(layer.call, autodiff, eps)
                stack.enter_context(_replaced_attribute(layer, "call", _called_with(rule)))
                replaced += 1
            elif any(getattr(layer, "activation", None) is f for f in _ACTIVATIONS):
                stack.enter_context(_replaced_attribute(layer, "activation", _rescaled(layer.activation, autodiff, eps)))
                replaced += 1
        yield replaced


def deeplift_gradients(
    model: Any,
    X: Any,
    reference: Any,
    target: Any,
    *,
    batch_size: int | None = None,
    eps: float = EPS,
) -> np.ndarray:
    """DeepLIFT multipliers of ``output[i, target[i]]`` for each row ``X[i]`` against ``reference[i]``.

    As :func:`xaikit.models._torch_deeplift.deeplift_gradients`, for a
    :class:`~xaikit.models.keras.KerasModel` with one input.

    Examples
    --------
    >>> import numpy as np, keras
    >>> from xaikit.models.keras import KerasModel
    >>> net = keras.Sequential([keras.Input((2,), dtype="float64"), keras.layers.Dense(1, activation="relu", dtype="float64")])
    >>> net.layers[0].set_weights([np.ones((2, 1)), np.array([-1.0])])
    >>> deeplift_gradients(KerasModel(net), np.array([[2.0, 1.0]]), np.zeros((1, 2)), 0).round(6).tolist()
    [[0.666667, 0.666667]]
    """
    n = model._n_rows(X)
    x_all = model._tensor(X)
    r_all = model._tensor(reference, "reference")
    if "float" not in str(x_all.dtype):
        raise InvalidParameterError(f"X: DeepLIFT needs floating-point inputs, got {describe(X)}")
    if tuple(r_all.shape) != tuple(x_all.shape):
        raise InvalidParameterError(
            f"reference: expected one reference per row, shaped like X {tuple(x_all.shape)}, got {describe(reference)}"
        )
    model._ensure_built([x_all])
    chunk = None if batch_size is None else max(1, int(batch_size) // 2)
    grads = []
    counted: list[int] = []
    for s in model._chunks(n, chunk):

        def run(make: Callable[[Any], Any], rows: slice = s) -> Any:
            x = make(x_all[rows])
            with _rules(model, eps) as replaced:
                counted.append(replaced)
                out = model._call([ops.concatenate([x, r_all[rows]], axis=0)])
            t = model._targets(target, n, out.shape[1])[rows]
            return model._selected(out, np.concatenate([t, t]))

        (g,) = model._autodiff.gradients(run)
        if g is None:
            raise ModelOutputError(
                f"X: the output of the model ({model.describe()}) does not depend on its input through "
                "differentiable operations, so DeepLIFT multipliers are undefined"
            )
        grads.append(_to_numpy(g))
    if counted and not counted[0]:
        warnings.warn(
            f"model: the model ({model.describe()}) has no nonlinearity DeepLIFT rescales (activations, ReLU or "
            "max-pool layers); other functions keep their ordinary gradient, so the multipliers are plain "
            "gradients and need not sum to f(x) - f(reference)",
            ApproximationWarning,
            stacklevel=3,
        )
    return np.concatenate(grads, axis=0)


def _warn_unrescaled(model: Any, counted: list[int]) -> None:
    if counted and not counted[0]:
        warnings.warn(
            f"model: the model ({model.describe()}) has no nonlinearity DeepLIFT rescales (activations, ReLU or "
            "max-pool layers); other functions keep their ordinary gradient, so the multipliers are plain "
            "gradients and need not sum to f(x) - f(reference)",
            ApproximationWarning,
            stacklevel=4,
        )


def deeplift_multipliers(
    model: Any,
    X: Any,
    reference: Any,
    target: Any,
    *,
    layers: Any = (),
    batch_size: int | None = None,
    eps: float = EPS,
) -> tuple[list[np.ndarray | None], list[np.ndarray]]:
    """DeepLIFT multipliers of ``output[i, target[i]]`` with respect to every input of a Keras model,
    for the model's inputs ``X`` (one, a tuple or list, or a dict) against ``reference`` (the same
    inputs, floating-point ones replaced by their references).

    As :func:`xaikit.models._torch_deeplift.deeplift_multipliers`; ``layers`` (token ids explained on
    their embedding) are refused for Keras models.

    Examples
    --------
    >>> import numpy as np, keras
    >>> from xaikit.models.keras import KerasModel
    >>> a, b = keras.Input((1,), dtype="float64"), keras.Input((1,), dtype="float64")
    >>> out = keras.layers.ReLU(dtype="float64")(keras.layers.Subtract(dtype="float64")([a, b]))
    >>> (ga, gb), _ = deeplift_multipliers(KerasModel(keras.Model([a, b], out)), (np.array([[2.0]]), np.array([[-1.0]])),
    ...                                    (np.zeros((1, 1)), np.zeros((1, 1))), 0)
    >>> ga.tolist(), gb.tolist()  # relu(3) - relu(0) = 3 over an input change of 3 - 0
    ([[1.0]], [[-1.0]])
    """
    if layers:
        raise UnsupportedModelError(
            f"model: DeepLIFT of token ids on their embedding is implemented for torch models; for the Keras model "
            f"({model.describe()}) give floating-point inputs (e.g. the embedding's output to a model that starts after it)"
        )
    rows, ref_rows = model._rows(X), model._rows(reference)
    n = model._n_rows(rows)
    xs, rs = model._tensors(rows), model._tensors(ref_rows)
    if len(xs) != len(rs) or any(tuple(x.shape) != tuple(r.shape) for x, r in zip(xs, rs)):
        raise InvalidParameterError(
            f"reference: expected the inputs of X, one reference per row, shaped {[tuple(x.shape) for x in xs]}, "
            f"got {[tuple(r.shape) for r in rs]}"
        )
    floats = model._floating(xs)
    if not any(floats):
        raise InvalidParameterError(f"X: DeepLIFT needs floating-point inputs, got {describe(X)}")
    model._remember_call_form(rows)
    model._ensure_built(xs)
    chunk = None if batch_size is None else max(1, int(batch_size) // 2)
    parts: list[list[np.ndarray | None]] = [[] for _ in xs]
    counted: list[int] = []
    for s in model._chunks(n, chunk):

        def run(make: Callable[[Any], Any], rows: slice = s) -> Any:
            items = [ops.concatenate([make(x[rows]) if f else x[rows], r[rows]], axis=0) for x, r, f in zip(xs, rs, floats)]
            with _rules(model, eps) as replaced:
                counted.append(replaced)
                out = model._call(items)
            t = model._targets(target, n, out.shape[1])[rows]
            return model._selected(out, np.concatenate([t, t]))

        found = iter(model._autodiff.gradients(run))
        for k, f in enumerate(floats):
            if f:
                g = next(found)
                parts[k].append(None if g is None else _to_numpy(g))
    if all(p is None for k, f in enumerate(floats) if f for p in parts[k]):
        raise ModelOutputError(
            f"X: the output of the model ({model.describe()}) does not depend on its inputs through "
            "differentiable operations, so DeepLIFT multipliers are undefined"
        )
    _warn_unrescaled(model, counted)
    inputs: list[np.ndarray | None] = [
        None if not p or any(g is None for g in p) else np.concatenate([g for g in p if g is not None], axis=0) for p in parts
    ]
    return inputs, []
