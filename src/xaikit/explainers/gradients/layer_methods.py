"""Layer and neuron methods: attributions to a layer's units, and to the inputs of one unit.

Every layer method is written over two model capabilities, ``model.layer_gradients(X, layer,
target, values=None, at="output")`` (a layer's output, or with ``at="input"`` its first input, and
the gradient of the explained output with respect to it, the layer's values optionally replaced row
by row) and ``model.layer_activations(X, layer, at=...)``; the neuron methods differentiate one unit
of a layer (``model.gradients(X, None, neuron=(layer, index))``, torch).

Inputs reach the model as it takes them: one array, several (a tuple or list in the order of
``forward``'s arguments, or a dict of keyword arguments), integer and boolean arrays untouched (token
ids, attention masks). ``additional_forward_args`` (a tuple) are appended after the inputs and held
fixed: arrays are per-row (one row per explained row, repeated with the rows of path steps), other
values are passed as they are, as in Captum.

The result of a layer method is an :class:`~xaikit.results.Attribution` with ``values`` (n, d, 1),
``d`` the layer's per-row shape flattened (its ``input_shape``); ``summed="last"`` sums the last axis
(the embedding dimension of a token model: one value per token).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import numpy as np

from xaikit._validation import check_gradient_budget, check_int, describe
from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.explainers.gradients.base import (
    BATCH_SIZE,
    FORWARD_ARGS,
    ArrayExplainer,
    Computed,
    GradientPlan,
    _accumulate,
    _adapt,
    _batch_size,
    resolve_target,
)
from xaikit.explainers.gradients.inputs import InputLayout, PackedModel, Rows
from xaikit.explainers.gradients.integrated_gradients import INTEGRATION_METHODS, integration_rule
from xaikit.explainers.pipeline import REQUIRED, Parameter, choice, integer

__all__ = [
    "InternalInfluence",
    "LayerActivation",
    "LayerConductance",
    "LayerExplainer",
    "LayerGradientXActivation",
    "LayerIntegratedGradients",
    "NeuronGradient",
    "NeuronIntegratedGradients",
    "embedding_layer",
]

#: The values of ``summed``: None keeps the layer's shape, ``"last"`` sums its last axis.
SUMMED = (None, "last")


# --------------------------------------------------------------------------------------
# the embedding that takes an input
# --------------------------------------------------------------------------------------


def embedding_layer(model: Any, X: Any, input: int | str = 0) -> str:
    """The name of the ``torch.nn.Embedding`` that receives input ``input`` of ``X`` (torch models).

    The adapter's ``embedding_of`` runs the first row and tells which embedding is given that input
    tensor itself (token ids, also reshaped): that layer's output is where Integrated Gradients of
    token ids runs (:class:`LayerIntegratedGradients`).

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Embedding(5, 3), torch.nn.Flatten(), torch.nn.Linear(6, 1))
    >>> embedding_layer(net, np.array([[1, 2]]))
    '0'
    """
    adapted = _adapt(model, "auto", frozenset({"layer_gradients"}), "embedding_layer")
    if not callable(getattr(adapted, "embedding_of", None)):
        raise UnsupportedModelError(f"model: embedding_layer needs a torch.nn.Module, got {adapted.describe()}")
    layout = InputLayout(X)
    k = layout.position(input)
    if not layout.rowwise(k):
        raise InvalidParameterError(f"input: {layout.labels[k]} is not an array of inputs, got {describe(layout.items[k])}")
    found = cast(Any, adapted).embedding_of(layout.rows(np.arange(1)), k)
    if found is None:
        raise InvalidParameterError(
            f"input: no torch.nn.Embedding of the model receives {layout.labels[k]} itself; give the layer by name"
        )
    return str(found)


# --------------------------------------------------------------------------------------
# the base
# --------------------------------------------------------------------------------------

_BASELINE = Parameter("baseline", None, "float, array or tuple, default 0", """
    The reference input: a number (for integer inputs, a token id such as the padding id), an
    array shaped like one row of the input or one per row, or one of those per input (a tuple, a
    dict for dict inputs).""")
_N_STEPS = Parameter("n_steps", 50, "int", "Quadrature nodes.", integer(minimum=1))
_METHOD = Parameter("method", "gausslegendre", "{" + ", ".join(f'"{m}"' for m in INTEGRATION_METHODS) + "}",
                    "The quadrature rule (:func:`~xaikit.explainers.gradients.integrated_gradients.integration_rule`).",
                    choice(INTEGRATION_METHODS))



@dataclass
class LayerPlan(GradientPlan):
    """A :class:`GradientPlan` whose rows are :class:`~xaikit.explainers.gradients.inputs.InputLayout` (``X`` is the attributed input, when one)."""

    inputs: Any = None
    baseline: Any = None


def _describe_args(args: Any) -> Any:
    return None if args is None else describe(args)


class LayerExplainer(ArrayExplainer):
    """Base of the layer methods: inputs as the model takes them (:class:`~xaikit.explainers.gradients.inputs.InputLayout`), a ``layer``, its
    output or input (``attribute_to_layer_input``), ``additional_forward_args``, and ``summed``.

    A method defines ``_values(plan) -> Computed`` with values ``(n, *layer_shape)``.
    """

    requires = frozenset({"layer_gradients"})
    exact = True
    input_doc = "X : array or tensor (n, ...), a tuple or list of them, or a dict"
    explain_parameters: ClassVar[tuple[Parameter, ...]] = (FORWARD_ARGS, BATCH_SIZE)
    #: Whether the method explains a model output (``target``); False: ``target`` must be None.
    uses_target: ClassVar[bool] = True

    def __init__(self, model: Any, /, *, layer: Any, attribute_to_layer_input: bool = False, summed: str | None = None,
                 output: str = "auto") -> None:
        self.model = _adapt(model, output, self.requires, type(self).__name__)
        resolve = getattr(self.model, "resolve_layer", None)
        self.layer_name: str
        self.layer_name, self.layer = resolve(layer) if resolve is not None else (str(layer), layer)
        if not isinstance(attribute_to_layer_input, (bool, np.bool_)):
            raise InvalidParameterError(f"attribute_to_layer_input: expected True or False, got {describe(attribute_to_layer_input)}")
        self.attribute_to_layer_input = bool(attribute_to_layer_input)
        self.at = "input" if self.attribute_to_layer_input else "output"
        if summed not in SUMMED:
            raise InvalidParameterError(
                f"summed: expected None (the layer's shape) or 'last' (its last axis summed, e.g. one value per token), "
                f"got {describe(summed)}"
            )
        self.summed = summed

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model.describe()}, layer={self.layer_name!r})"

    def _params(self) -> dict[str, Any]:
        return {"layer": self.layer_name, "attribute_to_layer_input": self.attribute_to_layer_input, "summed": self.summed}

    # ---------------------------------------------------------------- the pipeline's steps
    def _start(self, X: Any, target: Any, params: dict[str, Any]) -> LayerPlan:
        inputs = InputLayout(X, params["additional_forward_args"])
        bs = _batch_size(params["batch_size"], PackedModel(self.model, inputs), Rows(inputs))
        resolved = self._check_inputs(inputs, {**params, "batch_size": bs})
        resolved["additional_forward_args"] = _describe_args(params["additional_forward_args"])
        if self.uses_target:
            idx, name = resolve_target(cast(Any, PackedModel(self.model, inputs)), cast(Any, Rows(inputs)), target, batch_size=bs)
        else:
            if target is not None:
                raise InvalidParameterError(
                    f"target: {type(self).__name__} explains {self._explained()} and takes no target; got {describe(target)}"
                )
            idx, name = np.zeros(inputs.n, dtype=np.int64), self._explained()
        plan = LayerPlan(inputs.n, split=0, params=resolved, X=None, target=idx, output_name=name, batch_size=bs,
                         inputs=inputs)
        plan.baseline = params.get("baseline")
        plan.job = lambda rows, seed: lambda method: method._compute(plan, seed)
        return plan

    def _explained(self) -> str:
        return "the layer's activations"

    def _check_inputs(self, inputs: InputLayout, params: dict[str, Any]) -> dict[str, Any]:
        """The parameters checked before the model is called (by default as given)."""
        return params

    def _compute(self, plan: GradientPlan, seed: np.random.SeedSequence) -> Computed:
        c = self._values(cast(LayerPlan, plan))
        values = np.asarray(c.values, dtype=np.float64)
        diagnostics = {**c.diagnostics, "layer_shape": list(values.shape[1:])}
        if self.summed == "last":
            if values.ndim < 2:
                raise InvalidParameterError(f"summed: the values have no axis to sum (shape {values.shape})")
            values = values.sum(axis=-1)
        described: dict[str, Any] = {k: plan.params[k] for k in ("baseline", "additional_forward_args") if k in plan.params}
        return Computed(values, c.base_values, diagnostics, {**described, **c.params}, c.keep_data)

    #: ``_values(plan) -> Computed``: the attributions ``(n, *shape)`` (each method's own).
    _values: Callable[[LayerPlan], Computed]

    # ---------------------------------------------------------------- model calls
    def _dtype(self) -> np.dtype:
        return np.dtype(getattr(self.model, "input_dtype", np.float64))

    def _layer_gradients(self, model_input: Any, target: np.ndarray, values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        kwargs: dict[str, Any] = {}
        if values is not None:
            kwargs["values"] = values
        if self.at != "output":
            kwargs["at"] = self.at
        acts, grads = self.model.layer_gradients(model_input, self.layer, target, **kwargs)  # type: ignore[attr-defined]
        return np.asarray(acts), np.asarray(grads)

    def _activations(self, plan: LayerPlan, items: list[Any] | None = None, layer: Any = None, at: str | None = None) -> np.ndarray:
        inp = plan.inputs
        at = self.at if at is None else at
        kwargs: dict[str, Any] = {"batch_size": plan.batch_size}
        if at != "output":
            kwargs["at"] = at
        mi = inp.rows(np.arange(inp.n), items)
        return np.asarray(self.model.layer_activations(mi, self.layer if layer is None else layer, **kwargs))  # type: ignore[attr-defined]

    def _predict_target(self, plan: LayerPlan, items: list[Any] | None = None) -> np.ndarray:
        inp, bs = plan.inputs, plan.batch_size
        parts = [np.asarray(self.model.predict(inp.rows(np.arange(i, min(i + bs, inp.n)), items)), dtype=np.float64)
                 for i in range(0, inp.n, bs)]
        fx = np.concatenate(parts)
        return fx[np.arange(inp.n), plan.target]

    def _path_input(self, plan: LayerPlan, base: list[Any], r: np.ndarray, a: np.ndarray) -> Any:
        """The model input of the points ``b + a (x - b)`` of rows ``r`` (floating-point inputs; others as they are)."""
        inp = plan.inputs
        dt = self._dtype()
        path = {}
        for k in range(inp.n_inputs):
            if inp.floating(k):
                x, b = inp.items[k][r].astype(dt, copy=False), base[k][r].astype(dt, copy=False)
                path[k] = b + a.astype(dt).reshape(-1, *(1,) * (x.ndim - 1)) * (x - b)
        return inp.arguments(None, r, replace=path)


def _check_steps(params: dict[str, Any], inputs: InputLayout, extra: int = 0) -> dict[str, Any]:
    method = params["method"]
    steps = check_int(params["n_steps"], "n_steps", minimum=2 if method == "riemann_trapezoid" else 1)
    size = sum(int(np.prod(v.shape[1:])) for v in inputs.items if isinstance(v, np.ndarray))
    check_gradient_budget("n_steps", steps + extra, per_row=steps + extra, input_size=max(size, 1),
                          what=f"{steps + extra} steps", method=method)
    baseline = params["baseline"]
    return {**params, "n_steps": steps, "baseline": 0.0 if baseline is None else baseline if isinstance(baseline, numbers.Number)
            else describe(baseline)}


def _check_multiply(multiply_by_inputs: Any) -> bool:
    if not isinstance(multiply_by_inputs, (bool, np.bool_)):
        raise InvalidParameterError(f"multiply_by_inputs: expected True or False, got {describe(multiply_by_inputs)}")
    return bool(multiply_by_inputs)


# --------------------------------------------------------------------------------------
# layer methods
# --------------------------------------------------------------------------------------


class LayerActivation(LayerExplainer):
    """A layer's activations (its output, or with ``attribute_to_layer_input=True`` its input), as Captum's
    ``LayerActivation``; no target.

    Parameters
    ----------
    model : torch.nn.Module or a model with the ``"layer_gradients"`` capability
    layer : str or module
        The layer, by name (``dict(module.named_modules())``) or the submodule itself.
    attribute_to_layer_input : bool
        The layer's first input instead of its output.
    summed : {None, "last"}
        ``"last"`` sums the last axis (one value per token of an embedding).
    output : str

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU()).double()
    >>> _ = net[0].weight.data.copy_(torch.eye(2)); _ = net[0].bias.data.zero_()
    >>> LayerActivation(net, layer="1").explain(np.array([[1.0, -2.0]])).values[0, :, 0].tolist()
    [1.0, 0.0]
    """

    name = "layer_activation"
    uses_target = False
    summary = "A layer's activations for every row of ``X``."
    target_doc = "target : None\n    Not taken: activations do not depend on an output."
    returns_doc = """Attribution
        ``values`` (n, d, 1): the layer's values per row flattened, ``input_shape`` their shape."""

    def _values(self, plan: LayerPlan) -> Computed:
        return Computed(self._activations(plan), keep_data=False)


class LayerGradientXActivation(LayerExplainer):
    """A layer's activations times the gradient of the target output with respect to them, as Captum's
    ``LayerGradientXActivation``; ``multiply_by_inputs=False`` gives the gradient alone.

    Parameters as :class:`LayerActivation`, and ``multiply_by_inputs : bool``.

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> net = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Linear(2, 1, bias=False)).double()
    >>> _ = net[1].weight.data.copy_(torch.tensor([[3.0, -1.0]]))
    >>> LayerGradientXActivation(net, layer="0").explain(np.array([[1.0, 2.0]])).values[0, :, 0].tolist()
    [3.0, -2.0]
    """

    name = "layer_gradient_x_activation"
    summary = "Gradient times activation of a layer for every row of ``X``."
    returns_doc = """Attribution
        ``values`` (n, d, 1) on the layer's units (``input_shape`` their shape); diagnostics ``target``."""

    def __init__(self, model: Any, /, *, layer: Any, attribute_to_layer_input: bool = False, summed: str | None = None,
                 multiply_by_inputs: bool = True, output: str = "auto") -> None:
        super().__init__(model, layer=layer, attribute_to_layer_input=attribute_to_layer_input, summed=summed, output=output)
        self.multiply_by_inputs = _check_multiply(multiply_by_inputs)

    def _params(self) -> dict[str, Any]:
        return {**super()._params(), "multiply_by_inputs": self.multiply_by_inputs}

    def _values(self, plan: LayerPlan) -> Computed:
        inp, bs = plan.inputs, plan.batch_size
        parts = []
        for i in range(0, inp.n, bs):
            r = np.arange(i, min(i + bs, inp.n))
            acts, grads = self._layer_gradients(inp.rows(r), plan.target[r])
            g = grads.astype(np.float64)
            parts.append(g * acts if self.multiply_by_inputs else g)
        return Computed(np.concatenate(parts), keep_data=False)


class LayerIntegratedGradients(LayerExplainer):
    """Integrated Gradients in a layer's space (Captum's ``LayerIntegratedGradients``).

    The layer's values at the baseline inputs ``a_b`` and at the inputs ``a_x`` are computed; the
    path ``a_b + alpha (a_x - a_b)`` replaces the layer's values (the model's inputs stay the rows'
    own), and ``(a_x - a_b) * integral grad`` is the attribution of every unit. For token ids the
    layer is their embedding and the baseline a token id (the padding id): baselines are inputs
    as the model takes them. The attributions of a row sum to ``f(x) - f(b)`` up to the quadrature
    error when the output depends on the inputs through the layer only, reported as
    ``diagnostics["completeness_gap"]``; ``base_values`` are ``f(b)``.

    Parameters
    ----------
    model : torch.nn.Module or a model with the ``"layer_gradients"`` capability
    layer : str or module
    attribute_to_layer_input : bool
        The path runs through the layer's first input instead of its output.
    summed : {None, "last"}
        ``"last"`` sums the last axis (an embedding's: one value per token).
    multiply_by_inputs : bool
        False: the integrated gradient alone (no completeness gap).
    output : str

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Embedding(5, 3), torch.nn.Flatten(), torch.nn.Linear(6, 2)).double()
    >>> exp = LayerIntegratedGradients(net, layer="0", summed="last").explain(np.array([[1, 2]]), target=1, baseline=0)
    >>> exp.shape, exp.input_shape, bool(abs(exp.diagnostics["completeness_gap"][0, 0]) < 1e-10)
    ((1, 2, 1), (2,), True)
    """

    name = "layer_integrated_gradients"
    exact = False
    axioms = frozenset({"dummy", "linearity"})
    summary = "Layer Integrated Gradients of every row of ``X``."
    returns_doc = """Attribution
        ``values`` (n, d, 1) on the layer's units (``input_shape`` their shape), ``base_values`` ``f(b)``;
        diagnostics ``completeness_gap`` (n, 1), ``prediction`` (n, 1), ``target`` (n,), ``layer_shape``."""
    explain_parameters = (_BASELINE, _N_STEPS, _METHOD, FORWARD_ARGS, BATCH_SIZE)

    def __init__(self, model: Any, /, *, layer: Any, attribute_to_layer_input: bool = False, summed: str | None = None,
                 multiply_by_inputs: bool = True, output: str = "auto") -> None:
        super().__init__(model, layer=layer, attribute_to_layer_input=attribute_to_layer_input, summed=summed, output=output)
        self.multiply_by_inputs = _check_multiply(multiply_by_inputs)

    def _params(self) -> dict[str, Any]:
        return {**super()._params(), "multiply_by_inputs": self.multiply_by_inputs}

    def _check_inputs(self, inputs: InputLayout, params: dict[str, Any]) -> dict[str, Any]:
        return _check_steps(params, inputs)

    def _values(self, plan: LayerPlan) -> Computed:
        inp, idx, bs, p = plan.inputs, plan.target, plan.batch_size, plan.params
        n = inp.n
        base = inp.baseline_items(plan.baseline, path=False)
        A = self._activations(plan)
        Ab = self._activations(plan, base)
        dt = A.dtype if A.dtype.kind == "f" else np.dtype(np.float64)
        diff = (A - Ab).astype(dt)
        alphas, weights = integration_rule(p["method"], p["n_steps"])
        k = alphas.shape[0]
        ad = alphas.astype(dt)
        pad = (1,) * (A.ndim - 1)
        out = np.zeros(A.shape)
        total = n * k
        for lo in range(0, total, bs):
            flat = np.arange(lo, min(lo + bs, total))
            r, s = flat // k, flat % k
            values = Ab[r] + ad[s].reshape(-1, *pad) * diff[r]
            _, g = self._layer_gradients(inp.rows(r), idx[r], values)
            _accumulate(out, r, g, weights[s])
        if self.multiply_by_inputs:  # the same difference all along a row's path: once, after the integral
            out *= diff
        fx = self._predict_target(plan)
        fb = self._predict_target(plan, base)
        diagnostics: dict[str, Any] = {"prediction": fx[:, None], "n_steps": np.full(n, k, dtype=np.int64)}
        if self.multiply_by_inputs:
            diagnostics["completeness_gap"] = (out.reshape(n, -1).sum(axis=1) - (fx - fb))[:, None]
        return Computed(out, fb, diagnostics, keep_data=False)


class InternalInfluence(LayerExplainer):
    """Internal influence (Leino et al. 2018), as Captum's ``InternalInfluence``: the gradient of the
    target output with respect to a layer, integrated along the input path ``b + alpha (x - b)``
    (not multiplied by anything). Integer and boolean inputs keep their values along the path.

    Parameters as :class:`LayerActivation`.

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)).double()
    >>> exp = InternalInfluence(net, layer="0").explain(np.ones((1, 2)), n_steps=4)
    >>> np.allclose(exp.values[0, :, 0], net[1].weight.detach().numpy()[0])
    True
    """

    name = "internal_influence"
    summary = "Internal influence of a layer for every row of ``X``."
    returns_doc = """Attribution
        ``values`` (n, d, 1) on the layer's units (``input_shape`` their shape); diagnostics ``target``."""
    explain_parameters = (_BASELINE, _N_STEPS, _METHOD, FORWARD_ARGS, BATCH_SIZE)

    def _check_inputs(self, inputs: InputLayout, params: dict[str, Any]) -> dict[str, Any]:
        inputs.baseline_items(params["baseline"], path=True)  # refused early when wrong
        return _check_steps(params, inputs)

    def _values(self, plan: LayerPlan) -> Computed:
        inp, idx, bs, p = plan.inputs, plan.target, plan.batch_size, plan.params
        base = inp.baseline_items(plan.baseline, path=True)
        alphas, weights = integration_rule(p["method"], p["n_steps"])
        k = alphas.shape[0]
        out: np.ndarray | None = None
        total = inp.n * k
        for lo in range(0, total, bs):
            flat = np.arange(lo, min(lo + bs, total))
            r, s = flat // k, flat % k
            _, g = self._layer_gradients(self._path_input(plan, base, r, alphas[s]), idx[r])
            if out is None:
                out = np.zeros((inp.n, *g.shape[1:]))
            _accumulate(out, r, g, weights[s])
        return Computed(cast(np.ndarray, out), keep_data=False)


class LayerConductance(LayerExplainer):
    """Conductance of a layer's units (Dhamdhere et al. 2018), as Captum's ``LayerConductance``.

    Along the input path ``b + alpha (x - b)`` at the ``n_steps + 1`` nodes of the quadrature rule
    ``method`` (Captum's choice of nodes), ``sum_s grad_s * (a_{s+1} - a_s)``: the gradient of the
    target output with respect to the layer times the change of the layer's values. Integer and boolean
    inputs keep their values along the path.

    Parameters as :class:`LayerActivation`.

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1)).double()
    >>> exp = LayerConductance(net, layer="1").explain(np.ones((1, 2)), n_steps=200, method="riemann_trapezoid")
    >>> f = lambda x: float(net(torch.tensor(x, dtype=torch.float64)).sum().detach())
    >>> bool(abs(exp.values.sum() - (f([[1.0, 1.0]]) - f([[0.0, 0.0]]))) < 1e-4)
    True
    """

    name = "layer_conductance"
    summary = "Layer conductance of every row of ``X``."
    returns_doc = """Attribution
        ``values`` (n, d, 1) on the layer's units (``input_shape`` their shape); diagnostics ``target``."""
    explain_parameters = (_BASELINE, _N_STEPS, _METHOD, FORWARD_ARGS, BATCH_SIZE)

    def _check_inputs(self, inputs: InputLayout, params: dict[str, Any]) -> dict[str, Any]:
        inputs.baseline_items(params["baseline"], path=True)
        return _check_steps(params, inputs, extra=1)

    def _values(self, plan: LayerPlan) -> Computed:
        inp, idx, bs, p = plan.inputs, plan.target, plan.batch_size, plan.params
        base = inp.baseline_items(plan.baseline, path=True)
        steps = p["n_steps"]
        alphas, _ = integration_rule(p["method"], steps + 1)
        k = steps + 1
        block = max(1, bs // k)
        parts = []
        for lo in range(0, inp.n, block):
            rows = np.arange(lo, min(lo + block, inp.n))
            flat = np.arange(rows.size * k)
            acts, grads = [], []
            for c in range(0, flat.size, bs):
                f = flat[c : c + bs]
                r, s = rows[f // k], f % k
                a, g = self._layer_gradients(self._path_input(plan, base, r, alphas[s]), idx[r])
                acts.append(a.astype(np.float64))
                grads.append(g.astype(np.float64))
            A = np.concatenate(acts).reshape(rows.size, k, *acts[0].shape[1:])
            G = np.concatenate(grads).reshape(A.shape)
            parts.append((G[:, :-1] * (A[:, 1:] - A[:, :-1])).sum(axis=1))
        return Computed(np.concatenate(parts), keep_data=False)


# --------------------------------------------------------------------------------------
# neuron methods
# --------------------------------------------------------------------------------------

_NEURON = Parameter("neuron", REQUIRED, "int, tuple of ints or array of n ints", """
    The unit explained: an index into the layer's output flattened per row, a tuple indexing its
    per-row shape, or one flat index per row.""")


class NeuronExplainer(LayerExplainer):
    """Base of the neuron methods: attributions to the floating-point input of one unit of ``layer``'s
    output (``neuron``) instead of a model output."""

    requires = frozenset({"gradient", "layer_gradients"})
    uses_target = False
    input_doc = "X : array or tensor (n, ...), or several inputs of which one is floating point"
    target_doc = "target : None\n    Not taken: the unit explained is ``neuron``."

    def __init__(self, model: Any, /, *, layer: Any, summed: str | None = None, output: str = "auto") -> None:
        super().__init__(model, layer=layer, summed=summed, output=output)
        if not callable(getattr(self.model, "gradients", None)):
            raise UnsupportedModelError(
                f"model: {type(self).__name__} needs a model offering gradients(X, target, neuron=...) (a torch.nn.Module), "
                f"got {self.model.describe()}"
            )

    def _params(self) -> dict[str, Any]:
        return {"layer": self.layer_name, "summed": self.summed}

    def _explained(self) -> str:
        return f"a unit of layer {self.layer_name!r}"

    def _attributed(self, inputs: InputLayout) -> int:
        floats = [k for k in range(inputs.n_inputs) if inputs.floating(k)]
        if len(floats) != 1:
            raise InvalidParameterError(
                f"X: {type(self).__name__} attributes to one floating-point input, got {len(floats)} among "
                f"{[inputs.labels[k] for k in range(inputs.n_inputs)]}; hold the others as additional_forward_args"
            )
        return floats[0]

    def _neuron(self, plan: LayerPlan, neuron: Any) -> np.ndarray:
        """One flat unit index per row."""
        shape = self._first_shape(plan)
        size = int(np.prod(shape))
        n = plan.inputs.n
        if isinstance(neuron, tuple):
            if len(neuron) != len(shape) or not all(isinstance(i, numbers.Integral) for i in neuron) or not all(
                    -d <= int(i) < d for i, d in zip(neuron, shape)):
                raise InvalidParameterError(
                    f"neuron: expected a tuple of {len(shape)} indices into the layer's per-row shape {tuple(shape)}, got {describe(neuron)}"
                )
            return np.full(n, np.ravel_multi_index(tuple(int(i) % d for i, d in zip(neuron, shape)), shape), dtype=np.int64)
        if isinstance(neuron, numbers.Integral) and not isinstance(neuron, bool):
            if not -size <= int(neuron) < size:
                raise InvalidParameterError(f"neuron: expected an index in [{-size}, {size}) of the layer's {size} units, got {describe(neuron)}")
            return np.full(n, int(neuron) % size, dtype=np.int64)
        arr = np.asarray(neuron) if isinstance(neuron, (list, np.ndarray)) else np.asarray([None], dtype=object)
        if arr.dtype.kind not in "iu" or arr.shape != (n,) or ((arr < -size) | (arr >= size)).any():
            raise InvalidParameterError(
                f"neuron: expected a unit index in [{-size}, {size}), a tuple into the layer's shape {tuple(shape)} "
                f"or {n} indices (one per row), got {describe(neuron)}"
            )
        return arr.astype(np.int64) % size

    def _first_shape(self, plan: LayerPlan) -> tuple[int, ...]:
        inp = plan.inputs
        a = self.model.layer_activations(inp.rows(np.arange(1)), self.layer)  # type: ignore[attr-defined]
        return tuple(np.shape(a)[1:])

    def _neuron_gradient(self, model_input: Any, q: int, units: np.ndarray) -> np.ndarray:
        grads, _ = self.model.gradients(model_input, None, neuron=(self.layer, units))  # type: ignore[attr-defined]
        g = grads[q]
        if g is None:
            raise InvalidParameterError(
                f"neuron: the unit of layer {self.layer_name!r} does not depend on the input through differentiable operations"
            )
        return np.asarray(g, dtype=np.float64)


class NeuronGradient(NeuronExplainer):
    """The gradient of one unit of a layer with respect to the input (Captum's ``NeuronGradient``).

    Parameters
    ----------
    model : torch.nn.Module
    layer : str or module
        The layer whose unit is explained (its output).
    summed : {None, "last"}
    output : str

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1)).double()
    >>> exp = NeuronGradient(net, layer="0").explain(np.ones((1, 2)), neuron=1)
    >>> np.allclose(exp.values[0, :, 0], net[0].weight.detach().numpy()[1])
    True
    """

    name = "neuron_gradient"
    summary = "Input gradients of one unit of a layer for every row of ``X``."
    returns_doc = """Attribution
        ``values`` (n, d, 1) shaped like the attributed input (``input_shape``)."""
    explain_parameters = (_NEURON, FORWARD_ARGS, BATCH_SIZE)

    def _values(self, plan: LayerPlan) -> Computed:
        inp, bs = plan.inputs, plan.batch_size
        q = self._attributed(inp)
        units = self._neuron(plan, plan.params["neuron"])
        plan.X = inp.items[q]
        parts = [self._neuron_gradient(inp.rows(r), q, units[r])
                 for r in (np.arange(i, min(i + bs, inp.n)) for i in range(0, inp.n, bs))]
        return Computed(np.concatenate(parts), params={"neuron": describe(plan.params["neuron"])}, keep_data=self.summed is None)


class NeuronIntegratedGradients(NeuronExplainer):
    """Integrated Gradients of one unit of a layer (Captum's ``NeuronIntegratedGradients``): the path
    ``b + alpha (x - b)`` runs through the floating-point input; the attributions of a row sum to the
    unit's value at ``x`` minus at ``b`` up to the quadrature error (``diagnostics["completeness_gap"]``).

    Parameters as :class:`NeuronGradient`, and ``multiply_by_inputs : bool``.

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1)).double()
    >>> exp = NeuronIntegratedGradients(net, layer="1").explain(np.ones((2, 2)), neuron=(0,))
    >>> bool(np.abs(exp.diagnostics["completeness_gap"]).max() < 1e-8)
    True
    """

    name = "neuron_integrated_gradients"
    exact = False
    summary = "Integrated Gradients of one unit of a layer for every row of ``X``."
    returns_doc = """Attribution
        ``values`` (n, d, 1) shaped like the attributed input (``input_shape``), ``base_values`` the
        unit's value at the baseline; diagnostics ``completeness_gap`` (n, 1)."""
    explain_parameters = (_NEURON, _BASELINE, _N_STEPS, _METHOD, FORWARD_ARGS, BATCH_SIZE)

    def __init__(self, model: Any, /, *, layer: Any, summed: str | None = None, multiply_by_inputs: bool = True,
                 output: str = "auto") -> None:
        super().__init__(model, layer=layer, summed=summed, output=output)
        self.multiply_by_inputs = _check_multiply(multiply_by_inputs)

    def _params(self) -> dict[str, Any]:
        return {**super()._params(), "multiply_by_inputs": self.multiply_by_inputs}

    def _check_inputs(self, inputs: InputLayout, params: dict[str, Any]) -> dict[str, Any]:
        inputs.baseline_items(params["baseline"], path=True)
        return _check_steps(params, inputs)

    def _values(self, plan: LayerPlan) -> Computed:
        inp, bs, p = plan.inputs, plan.batch_size, plan.params
        q = self._attributed(inp)
        units = self._neuron(plan, p["neuron"])
        base = inp.baseline_items(plan.baseline, path=True)
        alphas, weights = integration_rule(p["method"], p["n_steps"])
        k = alphas.shape[0]
        x = inp.items[q]
        diff = x.astype(np.float64) - base[q].astype(np.float64)
        out = np.zeros(x.shape)
        pad = (1,) * (x.ndim - 1)
        total = inp.n * k
        for lo in range(0, total, bs):
            flat = np.arange(lo, min(lo + bs, total))
            r, s = flat // k, flat % k
            g = self._neuron_gradient(self._path_input(plan, base, r, alphas[s]), q, units[r])
            g *= weights[s].reshape(-1, *pad)
            if self.multiply_by_inputs:
                g *= diff[r]
            _accumulate(out, r, g)
        rows = np.arange(inp.n)
        ux = self._activations(plan, at="output").reshape(inp.n, -1)[rows, units].astype(np.float64)
        ub = self._activations(plan, base, at="output").reshape(inp.n, -1)[rows, units].astype(np.float64)
        plan.X = x
        diagnostics: dict[str, Any] = {"prediction": ux[:, None]}
        if self.multiply_by_inputs:
            diagnostics["completeness_gap"] = (out.reshape(inp.n, -1).sum(axis=1) - (ux - ub))[:, None]
        return Computed(out, ub, diagnostics, params={"neuron": describe(p["neuron"])}, keep_data=self.summed is None)
