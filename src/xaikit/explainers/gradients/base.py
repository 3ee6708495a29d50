"""What the gradient methods share: the base class, targets, batching and the result.

Each method is written once over two model capabilities: ``model.gradient(X, target)`` (the
gradient of ``output[i, target[i]]`` with respect to input row ``i``) and ``model.predict(X)``.
Any model offering them works; :class:`xaikit.models.torch.TorchModel` does, for every
``torch.nn.Module``. The explainers see numpy arrays only.

Shapes
------
Inputs have any shape ``(n, *input_shape)`` (images ``(n, C, H, W)``, sequences, tables). The
:class:`~xaikit.results.Attribution` holds ``values`` of shape ``(n, d, 1)`` with ``d`` the
flattened per-row shape; the result's ``input_shape`` field gives that shape, so :func:`as_input_shape` (or
``values[..., 0].reshape(n, *shape)``) restores it. The single output is the explained target.

Targets
-------
``target`` chooses the output explained for each row: an output index for every row (an int, or
an output name the model knows), one index per row (an array of ``n`` ints), ``"predicted"``
(the arg-max of the model's prediction), or a callable ``f(outputs (n, o)) -> n indices``. ``None``
is accepted for a model with a single output.

Memory
------
Every method evaluates the model at most ``batch_size`` rows at a time (by default the rows that fit
a memory budget, at most :data:`DEFAULT_BATCH_SIZE`: :mod:`~xaikit.explainers.gradients.memory`),
including the rows made by path steps and noise samples, which are
generated chunk by chunk.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, cast

import numpy as np

from xaikit._validation import (
    RandomState,
    check_float,
    check_int,
    describe,
    several_inputs,
    spawn_seeds,
)
from xaikit._validation import check_batch as _as_input
from xaikit.errors import (
    InvalidParameterError,
    UnsupportedModelError,
)
from xaikit.explainers.base import Explainer, output_names
from xaikit.explainers.gradients.inputs import InputLayout, PackedModel, id_baseline, integer_input, needs_layout
from xaikit.explainers.pipeline import Answer, Parameter, Plan, integer
from xaikit.models import adapt
from xaikit.models.base import AdaptedModel
from xaikit.results import Attribution

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "FORWARD_ARGS",
    "ArrayExplainer",
    "BATCH_SIZE",
    "Computed",
    "GradientExplainer",
    "GradientPlan",
    "PlainGradientExplainer",
    "ReluRuleExplainer",
    "SIGMA",
    "as_input_shape",
    "resolve_target",
]

#: The blur of ``baseline="blur"``, taken by every method with baselines (IG, occlusion, feature ablation).
SIGMA = Parameter("sigma", 5.0, "float", 'Standard deviation of the blur (in elements) for ``baseline="blur"``.')

#: Rows per model call when ``batch_size`` is not given.
DEFAULT_BATCH_SIZE = 64

#: The ``batch_size`` every gradient-family method takes.
BATCH_SIZE = Parameter(
    "batch_size", None, "int, optional",
    f"Model rows per call; by default the rows that fit a memory budget, at most {DEFAULT_BATCH_SIZE} (the budget:\n"
    "``XAIKIT_MEMORY_BUDGET``, e.g. ``2GB``, else the least of a quarter of the available memory, half of\n"
    "what the process holds and 512 MiB; see\n"
    ":mod:`xaikit.explainers.gradients.memory`). The rows made by path steps and noise samples of several rows\n"
    "are batched together.", integer(minimum=1),
)

#: The fixed arguments of the methods that take several inputs.
FORWARD_ARGS = Parameter(
    "additional_forward_args", None, "tuple, optional",
    "Arguments passed to the model after the inputs, held fixed (not attributed), as in Captum: arrays and\n"
    "tensors are per row (their first axis has the n rows), other values are passed as they are.",
)

#: Diagnostics sliced with the rows of an explanation.
_ROW_DIAGNOSTICS = {"target": "n", "n_steps": "n", "prediction": "no"}


# --------------------------------------------------------------------------------------
# public helpers
# --------------------------------------------------------------------------------------


def as_input_shape(exp: Attribution, output: int | str = 0, *, input: int | str | None = 0) -> Any:
    """The attributions of one output reshaped to ``(n, *exp.input_shape)``.

    Gradient, CAM and occlusion explanations store ``values`` flattened to ``(n, d, o)``; this
    undoes the flattening (for an image explained by Saliency, ``(n, C, H, W)``; for Grad-CAM,
    the map's ``(n, H, W)``). For a model of several inputs (``exp.inputs``), ``input`` picks one
    by position or name, and None gives the list of all.

    Examples
    --------
    >>> import numpy as np
    >>> exp = Attribution(values=np.arange(8.0).reshape(2, 4, 1), base_values=np.zeros((2, 1)),
    ...                   method="demo", input_shape=(2, 2))
    >>> as_input_shape(exp).shape
    (2, 2, 2)
    >>> two = Attribution(values=np.arange(10.0).reshape(2, 5, 1), base_values=np.zeros((2, 1)),
    ...                   method="demo", inputs=[("image", (2, 2)), ("age", (1,))])
    >>> [a.shape for a in as_input_shape(two, input=None)], as_input_shape(two, input="age").ravel().tolist()
    ([(2, 2, 2), (2, 1)], [4.0, 9.0])
    """
    names = exp.output_names
    if isinstance(output, str):
        if output not in names:
            raise InvalidParameterError(f"output: expected one of {names}, got {describe(output)}")
        j = names.index(output)
    else:
        j = check_int(output, "output", minimum=-len(names), maximum=len(names) - 1) % len(names)
    values = np.asarray(exp.values[:, :, j])
    listed = getattr(exp, "inputs", None)
    if listed:
        ends = np.cumsum([0, *(int(np.prod(shape)) for _, shape in listed)])
        parts = [values[:, a:b].reshape(exp.n_rows, *shape) for (_, shape), a, b in zip(listed, ends[:-1], ends[1:])]
        if input is None:
            return parts
        labels = [name for name, _ in listed]
        if isinstance(input, str):
            if input not in labels:
                raise InvalidParameterError(f"input: expected one of {labels}, got {describe(input)}")
            return parts[labels.index(input)]
        return parts[check_int(input, "input", minimum=0, maximum=len(parts) - 1)]
    shape = getattr(exp, "input_shape", None)
    if shape is None:
        raise InvalidParameterError(
            "exp: expected an Attribution with an input_shape (from a gradient, CAM or occlusion explainer, "
            f"and not sliced by features), got {describe(exp)} without one"
        )
    reshaped = values.reshape(exp.n_rows, *shape)
    return [reshaped] if input is None else reshaped


def resolve_target(
    model: AdaptedModel, X: np.ndarray, target: Any, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> tuple[np.ndarray, str]:
    """One output index per row of ``X``, and a name for the explained output.

    ``target`` is None (models with one output), an int (negative counts from the end) or an
    output name for every row, a list or 1-D array of one int per row, ``"predicted"`` (the
    arg-max of the prediction; models with several outputs) or a callable
    ``f(outputs (n, o)) -> (n,) ints``.

    A tuple is refused: other libraries (Captum) read a tuple as one index into a
    multi-dimensional output, which xaikit does not support (outputs are flattened to
    ``(n, n_outputs)``), and reading it as one index per row instead would change the meaning
    silently whenever its length equals the number of rows. ``"predicted"`` is refused for a model
    with a single output: its arg-max is always that output, so for a one-output classifier
    (``P(y=1)``) it would explain ``P(y=1)`` also for the rows predicted 0; pass ``target=0`` to
    explain the single output on every row.

    Examples
    --------
    >>> import numpy as np
    >>> model = adapt(lambda X: X)
    >>> idx, name = resolve_target(model, np.array([[0.0, 2.0], [3.0, 1.0]]), "predicted")
    >>> idx.tolist(), name
    ([1, 0], 'predicted')
    >>> resolve_target(model, np.zeros((2, 2)), 5)
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: target: expected an output index in [-2, 2) (negative counts from the end), got 5 (int)
    >>> resolve_target(model, np.zeros((2, 2)), [1, 0])[0].tolist()  # one index per row: a list
    [1, 0]
    >>> resolve_target(model, np.zeros((2, 2)), np.array(1))[0].tolist()  # a 0-d array or tensor: every row
    [1, 1]
    """
    n = X.shape[0]
    if hasattr(target, "detach") and hasattr(target, "numpy"):  # a torch tensor
        target = target.detach().cpu().numpy()
    elif hasattr(target, "__array__") and not isinstance(target, (np.ndarray, numbers.Number, str, tuple, list)):
        target = np.asarray(target)  # a TensorFlow tensor, an array-like
    if isinstance(target, np.ndarray) and target.dtype.kind in "iu" and (target.ndim == 0 or (target.shape == (1,) and n != 1)):
        target = int(target.reshape(-1)[0])  # a 0-d or one-element tensor: one output for every row, as Captum reads it
    if isinstance(target, tuple):
        raise InvalidParameterError(
            f"target: got a tuple {describe(target)}; a tuple is read elsewhere (Captum) as one index into a "
            "multi-dimensional output, which xaikit does not support (outputs are flattened to (n, n_outputs)); "
            f"for one output index per row pass a list or a 1-D array of {n} ints, for the same output on "
            "every row an int"
        )
    if isinstance(target, str) and target == "predicted":
        fx = _predict(model, X, batch_size)
        if fx.shape[1] == 1:
            raise InvalidParameterError(
                "target: 'predicted' picks the output with the largest prediction, but the model has a single "
                "output, which it would pick on every row: for a one-output classifier (a sigmoid, P(y=1)) the "
                "predicted class is 0 on the rows where P(y=1) < 0.5, and no output of the model is that class's "
                "score; pass target=0 (or None) to explain the single output on every row"
            )
        idx = fx.argmax(axis=1)
        return idx.astype(np.int64), "predicted"
    if callable(target):
        fx = _predict(model, X, batch_size)
        chosen = target(fx)
        idx = _check_indices(chosen, n, fx.shape[1], "target (the indices returned by the callable)")
        return idx, "target"
    o = _predict(model, X[:1], batch_size).shape[1]
    names = output_names(model.output_names, o)
    if target is None:
        if o != 1:
            raise InvalidParameterError(
                f"target: the model has {o} outputs; expected an output index, one index per row, "
                "'predicted' or a callable, got None"
            )
        return np.zeros(n, dtype=np.int64), names[0]
    if isinstance(target, str):
        if target not in names:
            raise InvalidParameterError(
                f"target: expected an output index, one per row, 'predicted', a callable or one of "
                f"{names[:10]}, got {describe(target)}"
            )
        j = names.index(target)
        return np.full(n, j, dtype=np.int64), names[j]
    if isinstance(target, numbers.Integral) and not isinstance(target, bool):
        if not -o <= int(target) < o:
            raise InvalidParameterError(
                f"target: expected an output index in [{-o}, {o}) (negative counts from the end), got {describe(target)}"
            )
        j = int(target) % o
        return np.full(n, j, dtype=np.int64), names[j]
    idx = _check_indices(target, n, o, "target")
    return idx, names[int(idx[0])] if (idx == idx[0]).all() else "target"


# --------------------------------------------------------------------------------------
# private helpers shared by the gradient, CAM and occlusion explainers
# --------------------------------------------------------------------------------------


def _check_indices(value: Any, n: int, o: int, name: str) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        arr = np.asarray([None], dtype=object)
    if arr.dtype.kind not in "iu" or arr.shape != (n,):
        raise InvalidParameterError(
            f"{name}: expected an output index, {n} indices (one per row), 'predicted' or a callable, "
            f"got {describe(value)}"
        )
    bad = (arr < -o) | (arr >= o)
    if bad.any():
        raise InvalidParameterError(
            f"{name}: expected output indices in [{-o}, {o}) (negative counts from the end), got {int(arr[bad][0])} "
            f"at row {int(np.flatnonzero(bad)[0])}"
        )
    return arr.astype(np.int64) % o  # numpy's meaning of a negative index, as for a single target


def _predict(model: AdaptedModel, X: np.ndarray, batch_size: int, rows: np.ndarray | None = None) -> np.ndarray:
    """``model.predict`` over chunks of at most ``batch_size`` rows; ``rows`` (the explained row each
    row of ``X`` is made from; the identity by default) for a model of several inputs."""
    if isinstance(model, PackedModel):
        idx = np.arange(X.shape[0]) if rows is None else np.asarray(rows)
        parts = [model.predict(X[i : i + batch_size], idx[i : i + batch_size]) for i in range(0, X.shape[0], batch_size)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
    parts = [model.predict(X[i : i + batch_size]) for i in range(0, X.shape[0], batch_size)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)


#: The baseline of token ids (kept under this name for the methods that import it).


def _integer_rows(X: Any) -> np.ndarray:
    """One array of integer inputs (token ids) as it is, checked to be a batch ``(n, ...)`` of rows."""
    arr = np.asarray(X.detach().cpu().numpy() if hasattr(X, "detach") else X)
    if arr.ndim < 2 or arr.shape[0] == 0:
        raise InvalidParameterError(f"X: expected a batch of rows of token ids (n, ...) with n >= 1, got {describe(X)}")
    return arr


def _batch_size(batch_size: int | None, model: Any = None, X: Any = None, *, backward: bool = True) -> int:
    """``batch_size`` checked, or when None the rows that fit the memory budget
    (:func:`~xaikit.explainers.gradients.memory.auto_batch_size`, at most :data:`DEFAULT_BATCH_SIZE`)."""
    if batch_size is not None:
        return check_int(batch_size, "batch_size", minimum=1)
    if model is None or X is None:
        return DEFAULT_BATCH_SIZE
    from xaikit.explainers.gradients.memory import auto_batch_size

    return auto_batch_size(model, X, backward=backward)


def _adapt(model: Any, output: str, requires: frozenset[str], who: str) -> AdaptedModel:
    adapted = adapt(model, output=output)
    missing = requires - adapted.capabilities
    if missing:
        raise UnsupportedModelError(
            f"model: {who} needs a model that offers {sorted(missing)} (e.g. a torch.nn.Module), "
            f"got {adapted.describe()} which offers {sorted(adapted.capabilities) or 'predictions only'}"
        )
    return adapted


def _row_rngs(random_state: RandomState, n: int, stream: int | None = None) -> list[np.random.Generator]:
    """One generator per row, from ``spawn_seeds(random_state, n)`` (child ``stream`` of each when given)."""
    seeds = spawn_seeds(random_state, n)
    if stream is not None:
        seeds = [np.random.SeedSequence(s.entropy, spawn_key=(*s.spawn_key, stream)) for s in seeds]
    return [np.random.default_rng(s) for s in seeds]


def _noise_scales(X: np.ndarray, noise: float | None, noise_abs: float | None, default: float) -> np.ndarray:
    """Standard deviation of the noise for each row: ``noise`` times the row's value range, or ``noise_abs``."""
    if noise is not None and noise_abs is not None:
        raise InvalidParameterError(
            f"noise_abs: give either noise= (a fraction of each input's range) or noise_abs= (a standard "
            f"deviation), not both; got noise={noise!r} and noise_abs={noise_abs!r}"
        )
    if noise_abs is not None:
        return np.full(X.shape[0], check_float(noise_abs, "noise_abs", minimum=0.0))
    frac = default if noise is None else check_float(noise, "noise", minimum=0.0)
    flat = X.reshape(X.shape[0], -1)
    return frac * (flat.max(axis=1) - flat.min(axis=1))


def _accumulate(out: np.ndarray, rows: np.ndarray, contrib: np.ndarray, weights: np.ndarray | None = None) -> None:
    """``out[rows[k]] += contrib[k]`` (times ``weights[k]`` when given) for ``rows`` sorted ascending:
    one reduction per distinct row, or with weights one matrix product (the weighted sums of a
    quadrature in float64, whatever the dtype of ``contrib``)."""
    if weights is None:
        uniq, starts = np.unique(rows, return_index=True)
        out[uniq] += np.add.reduceat(contrib, starts, axis=0)
        return
    uniq, inverse = np.unique(rows, return_inverse=True)
    W = np.zeros((uniq.size, rows.size))
    W[inverse, np.arange(rows.size)] = weights
    out[uniq] += (W @ contrib.reshape(rows.size, -1)).reshape(uniq.size, *contrib.shape[1:])


class Computed(NamedTuple):
    """What a gradient-family method computes for its rows: attributions ``values (n, *shape)``, the
    ``base_values`` (n,) when it has them, its diagnostics and the parameters it resolved, and
    whether the inputs are the result's ``data`` (``keep_data``: when they are shaped like the values)."""

    values: np.ndarray
    base_values: np.ndarray | None = None
    diagnostics: dict[str, Any] = {}
    params: dict[str, Any] = {}
    keep_data: bool = True


@dataclass
class GradientPlan(Plan):
    """The rows as an array, the output explained for each (``target``) and its name, the batch size."""

    X: Any = None
    target: Any = None
    output_name: str = ""
    batch_size: int = DEFAULT_BATCH_SIZE
    view: PackedModel | None = None


# --------------------------------------------------------------------------------------
# explainers
# --------------------------------------------------------------------------------------


class ArrayExplainer(Explainer[Attribution]):
    """Base of the methods of networks and other models of arrays (gradients, CAM, occlusion): inputs
    of any shape, one output explained per row (``target``), the rows computed in this process in one
    chunk. A method defines ``_compute(plan, seed) -> Computed`` and, for checks that need no model
    call, ``_check``.
    """

    summary = "Attributions of every row of ``X``."
    input_doc = "X : array or tensor (n, ...)"
    target_doc = """target : int, str, array of n ints, "predicted" or callable, optional
        The output explained for each row (see :mod:`xaikit.explainers.gradients.base`): an output
        index or name for every row, one index per row (a list or 1-D array), ``"predicted"`` or
        a callable ``f(outputs) -> indices``; None for a model with one output."""
    returns_doc = """Attribution
        ``values`` (n, d, 1) with ``input_shape`` the per-row shape; diagnostics ``target`` (n,)."""
    explain_parameters: ClassVar[tuple[Parameter, ...]] = (BATCH_SIZE,)
    model: AdaptedModel

    def _start(self, X: Any, target: Any, params: dict[str, Any]) -> GradientPlan:
        """The rows as an array, the parameters that need no model call checked (``_check``, e.g.
        budgets), then the target resolved; the rows are computed in this process in one chunk.
        Several inputs, integer inputs and fixed arguments go through an :class:`InputLayout` (methods
        with ``packs_inputs``)."""
        extra = params.get("additional_forward_args")
        view = None
        if self.integer_rows and extra is None and not several_inputs(X) and integer_input(X):
            Xa = _integer_rows(X)  # token ids to a method that reads layers only: untouched
        elif needs_layout(X, extra):
            layout = self._layout(X, extra)
            view = PackedModel(self.model, layout)
            Xa = layout.packed()
        else:
            Xa = _as_input(X)
        bs = _batch_size(params["batch_size"], view or self.model, Xa,
                         backward=bool(frozenset(getattr(self, "requires", ())) & {"gradient", "layer_gradients"}))
        resolved = self._check(Xa, {**params, "batch_size": bs}, view.layout if view is not None else None)
        idx, out_name = resolve_target(view or self.model, Xa, target, batch_size=bs)  # type: ignore[arg-type]
        plan = GradientPlan(Xa.shape[0], split=0, params=resolved, X=Xa, target=idx, output_name=out_name,
                            batch_size=bs, view=view)
        plan.job = lambda rows, seed: lambda method: method._compute_through(plan, seed)
        return plan

    #: Whether the method takes several inputs, integer inputs and ``additional_forward_args``.
    packs_inputs: ClassVar[bool] = False
    #: Whether one array of integers (token ids) is passed to the model as it is (methods that read
    #: layers only, such as Grad-CAM on a text CNN's convolution).
    integer_rows: ClassVar[bool] = False

    def _layout(self, X: Any, extra: Any) -> InputLayout:
        """The inputs of ``X`` (one or several) and the fixed arguments, checked for this method."""
        if not self.packs_inputs:
            raise InvalidParameterError(
                f"X: {type(self).__name__} explains one floating-point input (n, ...), got {describe(X)}"
                + ("" if extra is None else " with additional_forward_args")
                + "; the methods of inputs (Saliency, InputXGradient, IntegratedGradients, SmoothGrad, GuidedBackprop, "
                "Deconvolution, GradientShap, DeepLift, DeepLiftShap, Occlusion, FeatureAblation) and of layers take "
                "several inputs and fixed arguments"
            )
        layout = InputLayout(X, extra, self.model)
        if not layout.attributed:
            raise InvalidParameterError(
                f"X: no input is floating point and no integer input goes to an embedding ({describe(X)}): integer inputs "
                "have no gradient and are explained on a layer; use a layer method (LayerIntegratedGradients) on the "
                "layer that takes them"
            )
        return layout

    def _compute_through(self, plan: GradientPlan, seed: np.random.SeedSequence) -> Computed:
        """``_compute`` with the model seen through the plan's view of several inputs, when it has one."""
        if plan.view is None:
            return self._compute(plan, seed)
        seen = [m for m in (self, getattr(self, "explainer", None)) if isinstance(m, ArrayExplainer)]  # SmoothGrad's inner
        models = [m.model for m in seen]
        for m in seen:
            m.model = plan.view  # type: ignore[assignment]
        try:
            return self._compute(plan, seed)
        finally:
            for m, model in zip(seen, models):
                m.model = model

    def _check(self, X: np.ndarray, params: dict[str, Any], layout: InputLayout | None = None) -> dict[str, Any]:
        """The parameters checked against the rows (and the layout of several inputs, when there is one)
        before the model is called (by default as given)."""
        return params

    #: ``_compute(plan, seed) -> Computed``: the attributions of the plan's rows (each method's own).
    _compute: Callable[[GradientPlan, np.random.SeedSequence], Computed]

    def _finish(self, plan: Plan, parts: list[Any]) -> Answer:
        """The Attribution of the per-row attribution arrays ``values (n, *shape)``; for several inputs
        their ``inputs`` (name, shape), and one value per token for token ids explained on their embedding."""
        p = cast(GradientPlan, plan)
        c: Computed = parts[0]
        n = c.values.shape[0]
        shape: list[int] | None = list(c.values.shape[1:])
        values = c.values.reshape(n, -1)
        data = p.X.reshape(n, -1) if c.keep_data and list(p.X.shape[1:]) == shape else None
        inputs = None
        if p.view is not None and c.keep_data:
            layout = p.view.layout
            shapes = layout.shapes
            if layout.layers:  # token ids: one value per token, the ids as the data
                values, shapes = layout.token_values(values)
                data = np.concatenate([np.asarray(layout.items[k], dtype=np.float64).reshape(n, -1) if k in layout.layers
                                       else part.reshape(n, -1) for k, part in zip(layout.attributed, layout.unpack(p.X))], axis=1)
            shape = list(shapes[0]) if len(shapes) == 1 else None
            inputs = list(zip(layout.names, shapes)) if len(shapes) > 1 else None
        feature_names = None
        if inputs is not None:  # each input's elements named after it: "image[0]", ..., "age[0]"
            feature_names = [f"{name}[{j}]" for name, sh in inputs for j in range(int(np.prod(sh, dtype=np.int64)))]
        diagnostics = {"target": p.target, **c.diagnostics}
        base = np.zeros((n, 1)) if c.base_values is None else np.asarray(c.base_values).reshape(n, 1)
        fields = {
            "values": values.reshape(n, -1, 1),
            "base_values": base,
            "data": data,
            "output_names": [p.output_name],
            "input_shape": shape,
            "inputs": inputs,
            "feature_names": feature_names,
            "diagnostic_axes": {k: v for k, v in _ROW_DIAGNOSTICS.items() if k in diagnostics},
        }
        return Answer(fields, diagnostics, Attribution, {**c.params, **self._params()})

    def _params(self) -> dict[str, Any]:
        """The hyperparameters recorded in every result's ``params``."""
        return {}


class GradientExplainer(ArrayExplainer):
    """Base of the explainers computed from input gradients.

    Subclasses implement ``_attribute(X, target, *, batch_size, rows, **prepared)``, which returns
    float64 attributions shaped like ``X``; ``rows`` maps each row of ``X`` to the explained row
    whose per-row parameters it uses (the identity, except inside :class:`SmoothGrad`).
    ``_prepare`` validates and materialises the ``explain`` parameters once.
    """

    requires = frozenset({"gradient"})

    def __init__(self, model: Any, /, *, output: str = "auto") -> None:
        self.model = _adapt(model, output, self.requires, type(self).__name__)

    def _prepare(
        self, X: np.ndarray, target: np.ndarray, rngs: list[np.random.Generator] | None, batch_size: int
    ) -> dict[str, Any]:
        """Checked ``explain`` parameters (keyword-only in overrides) as ``_attribute`` takes them."""
        return {}

    def _baselines(
        self, X: np.ndarray, baseline: Any, background: Any, sigma: float, rngs: list[np.random.Generator] | None
    ) -> tuple[np.ndarray, str]:
        """:func:`~xaikit.maskers.baselines.baselines` of the rows; for several inputs, each input's own
        (``baseline`` one for all or a tuple of one per input), packed side by side, one per row."""
        from xaikit.maskers.baselines import baselines

        channels_last = bool(getattr(self.model, "channels_last", False))
        if not isinstance(self.model, PackedModel):
            return baselines(X, baseline, background, sigma, rngs, channels_last=channels_last)
        if background is not None:
            raise InvalidParameterError(
                "background: a background of baselines takes one input; for a model of several inputs give "
                "baseline= (one for all inputs or a tuple of one per input)"
            )
        layout = self.model.layout
        per = layout.split(baseline, "baseline")
        parts, described = [], []
        for k, (position, Xk) in enumerate(zip(layout.attributed, layout.unpack(X))):
            given = per[position]
            if position in layout.layers:  # token ids: the baseline is token ids, embedded
                ids = id_baseline(given, layout.items[position], layout.names[k])
                parts.append(layout.embedded(position, ids)[:, None])
                described.append(f"{layout.names[k]}: token ids {given if np.ndim(given) == 0 else 'given'}")
                continue
            Bk, text = baselines(Xk, given, None, sigma, rngs, channels_last=channels_last)
            parts.append(np.broadcast_to(Bk, (X.shape[0], *Bk.shape[1:])))
            described.append(f"{layout.names[k]}: {text}")
        return layout.pack(parts), "; ".join(described)

    #: ``_attribute(X, target, *, batch_size, rows, **prepared) -> (n, *input_shape)``, defined by each
    #: method with the keyword arguments its ``_prepare`` returns.
    _attribute: Callable[..., np.ndarray]

    def _gradient(
        self, X: np.ndarray, target: np.ndarray, batch_size: int, relu: str = "standard", rows: np.ndarray | None = None
    ) -> np.ndarray:
        """The model's gradient at the rows of ``X``, ``batch_size`` at a time; ``rows`` the explained row
        each comes from (for several inputs; the identity by default)."""
        parts = []
        kwargs = {"relu": relu} if relu != "standard" else {}
        idx = np.arange(X.shape[0]) if rows is None else rows
        for i in range(0, X.shape[0], batch_size):
            chunk = slice(i, i + batch_size)
            parts.append(self._model_gradient(X[chunk], target[chunk], idx[chunk], **kwargs))
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)

    def _model_gradient(self, points: np.ndarray, target: np.ndarray, rows: np.ndarray, **kwargs: Any) -> np.ndarray:
        """``model.gradient(points, target)`` as float64, the points made from explained ``rows``."""
        if isinstance(self.model, PackedModel):
            kwargs["rows"] = rows
        return np.asarray(self.model.gradient(points, target, **kwargs), dtype=np.float64)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model.describe()})"  # type: ignore[attr-defined]


class PlainGradientExplainer(GradientExplainer):
    """The methods read off the gradient at the input itself, one pass per row (Saliency,
    InputXGradient, GuidedBackprop)."""

    packs_inputs = True
    explain_parameters: ClassVar[tuple[Parameter, ...]] = (BATCH_SIZE, FORWARD_ARGS)

    def _compute(self, plan: GradientPlan, seed: np.random.SeedSequence) -> Computed:
        prepared = self._prepare(plan.X, plan.target, None, plan.batch_size)
        rows = np.arange(plan.n_rows)
        return Computed(self._attribute(plan.X, plan.target, batch_size=plan.batch_size, rows=rows, **prepared))


class ReluRuleExplainer(PlainGradientExplainer):
    """The gradient with the model's ReLUs passing gradients back by another rule (``relu_rule``, a rule
    of ``model.gradient(X, target, relu=...)``): guided backpropagation, deconvolution."""

    relu_rule: ClassVar[str] = "standard"

    def _attribute(
        self, X: np.ndarray, target: np.ndarray, *, batch_size: int, rows: np.ndarray, **prepared: Any
    ) -> np.ndarray:
        return self._gradient(X, target, batch_size, relu=self.relu_rule, rows=rows)
