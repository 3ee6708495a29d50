"""Layer-wise relevance propagation (Bach et al. 2015): rules, composites and the explainer.

LRP sends the explained score back through the network layer by layer; each layer splits the
relevance it receives among its inputs by a *rule*. A *composite* says which rule each layer
takes. The rules and the named composites are those of Zennit (Anders et al. 2021), and the
attributions equal Zennit's on the same network (checked to 1e-5 in the tests).

The rules are plain descriptions (no framework is imported here); the torch mechanism that
applies them is :mod:`xaikit.models._torch_lrp`.

Rules
-----
For a layer ``z = W x + b`` (a dense layer or a convolution), relevance ``R`` of its outputs and
``s(z) = z + eps * sign(z)`` (``sign(0) = 1``):

- :class:`Epsilon`: ``R_in = x * W^T (R / s(z))``.
- :class:`ZPlus`: the positive contributions only: ``z+ = W+ x+ + b+ + W- x-``,
  ``R_in = x+ * W+^T (R / s(z+)) + x- * W-^T (R / s(z+))``.
- :class:`AlphaBeta`: ``alpha`` times the positive share minus ``beta`` times the negative one
  (``alpha - beta = 1``).
- :class:`Gamma`: the positive weights raised by ``gamma`` (generalised to negative inputs and
  outputs as Zennit does).
- :class:`ZBox`: for the first layer on inputs bounded by ``[low, high]``.
- :class:`Flat` and :class:`WSquare`: relevance spread by ones or squared weights, whatever the
  input.
- :class:`Norm`: the epsilon rule of a layer without parameters (average pooling, by default).
- :class:`Pass`: the relevance passes unchanged (activations, and merged batch norms).

Layers without a rule pass the ordinary gradient: max pooling sends the relevance to the winner
of each window, flattening and dropout (in evaluation mode) leave it as it is, and a sum in
``forward`` (a residual connection ``block(x) + x``) gives each of its terms the whole relevance
of the sum, as Zennit does without its residual canonizers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.explainers.gradients.base import BATCH_SIZE, Computed, GradientExplainer, GradientPlan, _predict
from xaikit.explainers.pipeline import Answer, Plan

__all__ = [
    "COMPOSITES",
    "AlphaBeta",
    "Composite",
    "Epsilon",
    "Flat",
    "Gamma",
    "Lrp",
    "Norm",
    "Pass",
    "Rule",
    "WSquare",
    "ZBox",
    "ZPlus",
    "resolve_composite",
]

#: The layer groups a composite maps to rules (matched by module type, see :class:`Composite`).
LAYER_GROUPS = ("activation", "avgpool", "batchnorm", "conv", "dense", "linear")


def _number(value: Any, name: str, *, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not np.isfinite(value):
        raise InvalidParameterError(f"{name}: expected a finite number, got {describe(value)}")
    if minimum is not None and value < minimum:
        raise InvalidParameterError(f"{name}: expected a number >= {minimum}, got {describe(value)}")
    return float(value)


@dataclass(frozen=True)
class Rule:
    """Base of the LRP rules: how a layer splits the relevance of its outputs among its inputs. Every
    ``float`` field (``epsilon``, ``gamma``, ``stabilizer``...) is checked to be a finite number >= 0."""

    #: Whether the rule reads the layer's weights (dense layers, convolutions, batch norms).
    needs_parameters: ClassVar[bool] = True

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.type in ("float", float):
                _number(getattr(self, f.name), f.name, minimum=0.0)


@dataclass(frozen=True)
class Epsilon(Rule):
    """The epsilon rule: ``R_in = x * W^T (R / (z + epsilon * sign(z)))``; ``epsilon=0`` is LRP-0.

    ``zero_bias=True`` computes ``z`` without the layer's bias.

    Examples
    --------
    >>> Epsilon(1e-6)
    Epsilon(epsilon=1e-06, zero_bias=False)
    """

    epsilon: float = 1e-6
    zero_bias: bool = False



@dataclass(frozen=True)
class Gamma(Rule):
    """The (generalised) gamma rule: positive weights (negative ones for negative outputs) raised by ``gamma``.

    Examples
    --------
    >>> Gamma(0.25).gamma
    0.25
    """

    gamma: float = 0.25
    stabilizer: float = 1e-6
    zero_bias: bool = False



@dataclass(frozen=True)
class ZPlus(Rule):
    """The z+ rule (alpha=1, beta=0): only positive contributions ``W+ x+`` and ``W- x-`` (plus ``b+``).

    Examples
    --------
    >>> ZPlus().stabilizer
    1e-06
    """

    stabilizer: float = 1e-6
    zero_bias: bool = False



@dataclass(frozen=True)
class AlphaBeta(Rule):
    """The alpha-beta rule: ``alpha`` times the positive contributions' share minus ``beta`` times the negative.

    ``alpha - beta`` must be 1 (so the rule conserves relevance), both non-negative.

    Examples
    --------
    >>> AlphaBeta(2.0, 1.0).alpha
    2.0
    >>> AlphaBeta(1.0, 1.0)
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: beta: expected alpha - beta = 1 with both >= 0, got alpha=1.0 and beta=1.0
    """

    alpha: float = 2.0
    beta: float = 1.0
    stabilizer: float = 1e-6
    zero_bias: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if abs(self.alpha - self.beta - 1.0) > 1e-12:
            raise InvalidParameterError(
                f"beta: expected alpha - beta = 1 with both >= 0, got alpha={self.alpha} and beta={self.beta}"
            )


@dataclass(frozen=True)
class ZBox(Rule):
    """The z-box rule for a first layer whose inputs lie in ``[low, high]``.

    ``low`` and ``high`` are numbers or arrays broadcastable to one input (e.g. ``(C, 1, 1)`` for
    per-channel bounds of images), with an optional leading axis of length 1.

    Examples
    --------
    >>> ZBox(0.0, 1.0).high
    1.0
    """

    low: Any = 0.0
    high: Any = 1.0
    stabilizer: float = 1e-6
    zero_bias: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("low", "high"):
            arr = np.asarray(getattr(self, name)) if not hasattr(getattr(self, name), "detach") else None
            if arr is not None and (arr.dtype.kind not in "biuf" or not np.isfinite(arr).all()):
                raise InvalidParameterError(f"{name}: expected a finite number or array of bounds, got {describe(getattr(self, name))}")


@dataclass(frozen=True)
class Flat(Rule):
    """The flat rule: relevance spread uniformly over each output's receptive field (weights and inputs set to 1).

    Examples
    --------
    >>> Flat().stabilizer
    1e-06
    """

    stabilizer: float = 1e-6
    needs_parameters: ClassVar[bool] = False



@dataclass(frozen=True)
class WSquare(Rule):
    """The w-square rule: relevance spread in proportion to the squared weights (bias squared too unless ``zero_bias``).

    Examples
    --------
    >>> WSquare().zero_bias
    False
    """

    stabilizer: float = 1e-6
    zero_bias: bool = False



@dataclass(frozen=True)
class Norm(Rule):
    """The epsilon rule of a layer without parameters (``R_in = x * J^T (R / s(z))``): average pooling.

    Examples
    --------
    >>> Norm()
    Norm(stabilizer=1e-06)
    """

    stabilizer: float = 1e-6
    needs_parameters: ClassVar[bool] = False



@dataclass(frozen=True)
class Pass(Rule):
    """The relevance of the layer's output passes to its input unchanged (activations, merged batch norms).

    Examples
    --------
    >>> Pass()
    Pass()
    """

    needs_parameters: ClassVar[bool] = False


@dataclass(frozen=True)
class Composite:
    """Which rule each layer takes.

    ``names`` (module name -> rule, from ``dict(module.named_modules())``) is matched first; then,
    for the first module (in ``named_modules()`` order) of a group of ``first``, that rule; then
    ``layers``, a list of ``(key, rule)`` whose key is a layer group of :data:`LAYER_GROUPS`
    (``"dense"``: ``nn.Linear``; ``"conv"``: ``nn.Conv1d/2d/3d``; ``"linear"``: both;
    ``"activation"``, ``"avgpool"``, ``"batchnorm"``) or a module class (``isinstance``); the
    first match wins. Modules matching nothing pass the ordinary gradient. ``merge_batch_norm``
    merges every batch norm that directly follows a dense layer or convolution into it (as
    Zennit's ``SequentialMergeBatchNorm``), on copies of the weights.
    """

    name: str
    layers: tuple[tuple[Any, Rule], ...]
    first: tuple[tuple[Any, Rule], ...] = ()
    names: Mapping[str, Rule] = field(default_factory=dict)
    merge_batch_norm: bool = True


def _base(stabilizer: float) -> tuple[tuple[Any, Rule], ...]:
    return (("activation", Pass()), ("avgpool", Norm(stabilizer)), ("batchnorm", Pass()))


def _epsilon_plus(epsilon: float, gamma: float, stabilizer: float, low: Any, high: Any) -> Composite:
    return Composite("epsilon_plus", (*_base(stabilizer), ("conv", ZPlus(stabilizer)), ("dense", Epsilon(epsilon))))


def _epsilon_gamma_box(epsilon: float, gamma: float, stabilizer: float, low: Any, high: Any) -> Composite:
    if low is None or high is None:
        raise InvalidParameterError(
            "low: the composite 'epsilon_gamma_box' applies the z-box rule to the first convolution, which needs "
            f"the lowest and highest possible input values (low= and high=, e.g. 0.0 and 1.0 for pixels in [0, 1]); "
            f"got low={describe(low)} and high={describe(high)}"
        )
    return Composite(
        "epsilon_gamma_box",
        (*_base(stabilizer), ("conv", Gamma(gamma, stabilizer)), ("dense", Epsilon(epsilon))),
        first=(("conv", ZBox(low, high, stabilizer)),),
    )


def _epsilon_alpha2_beta1(epsilon: float, gamma: float, stabilizer: float, low: Any, high: Any) -> Composite:
    return Composite(
        "epsilon_alpha2_beta1",
        (*_base(stabilizer), ("conv", AlphaBeta(2.0, 1.0, stabilizer)), ("dense", Epsilon(epsilon))),
    )


def _epsilon_plus_flat(epsilon: float, gamma: float, stabilizer: float, low: Any, high: Any) -> Composite:
    return Composite(
        "epsilon_plus_flat",
        (*_base(stabilizer), ("conv", ZPlus(stabilizer)), ("dense", Epsilon(epsilon))),
        first=(("linear", Flat(stabilizer)),),
    )


def _epsilon_alpha2_beta1_flat(epsilon: float, gamma: float, stabilizer: float, low: Any, high: Any) -> Composite:
    return Composite(
        "epsilon_alpha2_beta1_flat",
        (*_base(stabilizer), ("conv", AlphaBeta(2.0, 1.0, stabilizer)), ("dense", Epsilon(epsilon))),
        first=(("linear", Flat(stabilizer)),),
    )


def _epsilon(epsilon: float, gamma: float, stabilizer: float, low: Any, high: Any) -> Composite:
    return Composite("epsilon", (*_base(stabilizer), ("linear", Epsilon(epsilon))))


#: The named composites (Zennit's, same names and rules; ``"epsilon"``: the epsilon rule everywhere).
COMPOSITES = {
    "epsilon_plus": _epsilon_plus,
    "epsilon_gamma_box": _epsilon_gamma_box,
    "epsilon_alpha2_beta1": _epsilon_alpha2_beta1,
    "epsilon_plus_flat": _epsilon_plus_flat,
    "epsilon_alpha2_beta1_flat": _epsilon_alpha2_beta1_flat,
    "epsilon": _epsilon,
}


def resolve_composite(
    spec: Any = "epsilon_plus",
    *,
    epsilon: float = 1e-6,
    gamma: float = 0.25,
    stabilizer: float = 1e-6,
    low: Any = None,
    high: Any = None,
    merge_batch_norm: bool = True,
) -> Composite:
    """The :class:`Composite` of a name of :data:`COMPOSITES` or of a mapping to rules.

    A mapping's keys are module names (str, as in ``dict(module.named_modules())``), layer groups
    (:data:`LAYER_GROUPS`, written ``"group:conv"`` etc. to tell them from names) or module
    classes; its values are :class:`Rule` objects. Its entries come before the base rules that
    every named composite has (activations :class:`Pass`, average pools :class:`Norm`, batch norms
    :class:`Pass`).

    Examples
    --------
    >>> resolve_composite("epsilon_plus").layers[-1]
    ('dense', Epsilon(epsilon=1e-06, zero_bias=False))
    >>> resolve_composite({"group:conv": ZPlus(), "fc": Epsilon(0.1)}).names
    {'fc': Epsilon(epsilon=0.1, zero_bias=False)}
    >>> resolve_composite("plus")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: composite: expected one of 'epsilon_plus', 'epsilon_gamma_box', ..., got 'plus' (str)
    """
    eps = _number(epsilon, "epsilon", minimum=0.0)
    gam = _number(gamma, "gamma", minimum=0.0)
    stab = _number(stabilizer, "stabilizer", minimum=0.0)
    if not isinstance(merge_batch_norm, (bool, np.bool_)):
        raise InvalidParameterError(f"merge_batch_norm: expected True or False, got {describe(merge_batch_norm)}")
    if isinstance(spec, Composite):
        return spec
    if isinstance(spec, str) and spec in COMPOSITES:
        made = COMPOSITES[spec](eps, gam, stab, low, high)
        return Composite(made.name, made.layers, made.first, made.names, bool(merge_batch_norm))
    if isinstance(spec, Mapping) and spec:
        names: dict[str, Rule] = {}
        layers: list[tuple[Any, Rule]] = []
        for key, rule in spec.items():
            if not isinstance(rule, Rule):
                raise InvalidParameterError(
                    f"composite: expected rules (xaikit LRP rules such as Epsilon(1e-6), ZPlus()) as the mapping's "
                    f"values, got {describe(rule)} for {key!r}"
                )
            if isinstance(key, str) and key.startswith("group:"):
                group = key[len("group:"):]
                if group not in LAYER_GROUPS:
                    raise InvalidParameterError(
                        f"composite: expected a layer group of {LAYER_GROUPS} after 'group:', got {key!r}"
                    )
                layers.append((group, rule))
            elif isinstance(key, str):
                names[key] = rule
            elif isinstance(key, type):
                layers.append((key, rule))
            else:
                raise InvalidParameterError(
                    f"composite: expected module names, 'group:<group>' or module classes as the mapping's keys, "
                    f"got {describe(key)}"
                )
        return Composite("custom", (*layers, *_base(stab)), (), names, bool(merge_batch_norm))
    shown = ", ".join(repr(n) for n in COMPOSITES)
    raise InvalidParameterError(
        f"composite: expected one of {shown}, or a mapping of layer names, groups or classes to rules, got {describe(spec)}"
    )


class Lrp(GradientExplainer):
    """Layer-wise relevance propagation with rules and composites (Bach et al. 2015; Montavon et al. 2019).

    The relevance of the explained output starts as its value ``f(x)[target]`` and is sent back
    layer by layer with each layer's rule (see :mod:`xaikit.explainers.gradients.lrp`); the
    attribution of an input element is the relevance that reaches it. The named composites are
    Zennit's and give its attributions (with batch norms merged into the layer before them, as its
    ``SequentialMergeBatchNorm`` canonizer does): ``"epsilon_plus"`` (z+ on convolutions, epsilon on
    dense layers), ``"epsilon_gamma_box"`` (z-box on the first convolution, gamma on the others,
    epsilon on dense layers; needs ``low`` and ``high``), ``"epsilon_alpha2_beta1"``,
    ``"epsilon_plus_flat"`` and ``"epsilon_alpha2_beta1_flat"`` (the flat rule on the first dense
    layer or convolution) and ``"epsilon"``. The first layer is the first matching module in
    ``named_modules()`` order (the order of definition), as in Zennit.

    Conservation: each rule passes on the relevance it receives, except the share the biases and
    the stabilisers take: ``diagnostics["conservation_gap"]`` = ``|sum(values) - f(x)[target]|``
    per row. Without biases, with the epsilon rule and a tiny ``epsilon``, the gap is at rounding
    level (measured: 8e-10 of ``|f(x)|`` for a bias-free ReLU network with ``epsilon=1e-12`` in
    float64). A bias is an input of its layer that takes its share of the relevance and has no
    attribution, so with biases (and batch norms, whose shifts become biases when merged) the gap
    is of the order of the biases' share of the pre-activations, and can exceed ``|f(x)|`` when
    the output is small next to them: measured 0.96 to 1.2 ``|f(x)|`` on a small randomly
    initialised VGG-like network (every named composite). A residual sum gives each of its two
    terms the whole relevance of the sum, so skip connections add relevance (as in Zennit without
    its residual canonizer): measured 1.6 to 72 ``|f(x)|`` on a ResNet-like network with two
    residual blocks.

    Parameters
    ----------
    model : torch.nn.Module
        Evaluated in evaluation mode; never modified (hooks are added for each call and removed
        after it; merged batch-norm weights are computed on copies).
    composite : str or mapping
        A name of :data:`COMPOSITES`, or a mapping of module names, ``"group:<group>"`` keys or
        module classes to rules (:func:`resolve_composite`), e.g. ``{"group:conv": ZPlus(), "fc":
        Epsilon(0.1)}``.
    epsilon, gamma, stabilizer : float
        The named composites' epsilon (dense layers), gamma, and the stabiliser of the other rules.
    low, high : float or array, optional
        Bounds of the inputs for the z-box rule (``"epsilon_gamma_box"``).
    merge_batch_norm : bool
        Merge each batch norm into the dense layer or convolution right before it.
    output : {"auto", "raw"}
        LRP explains a score as the network computes it; ``"probability"`` is refused.

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> from xaikit.explainers.gradients.lrp import Lrp
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False), torch.nn.ReLU(),
    ...                           torch.nn.Linear(2, 1, bias=False)).double()
    >>> _ = net[0].weight.data.copy_(torch.tensor([[1.0, 1.0], [1.0, -1.0]])); _ = net[2].weight.data.fill_(1.0)
    >>> exp = Lrp(net, composite="epsilon", epsilon=0.0).explain(np.array([[3.0, 1.0]]))
    >>> exp.values[0, :, 0].tolist(), float(exp.diagnostics["conservation_gap"][0])
    ([6.0, 0.0], 0.0)
    """

    name = "lrp"
    exact = True

    def __init__(
        self,
        model: Any,
        /,
        *,
        composite: Any = "epsilon_plus",
        epsilon: float = 1e-6,
        gamma: float = 0.25,
        stabilizer: float = 1e-6,
        low: Any = None,
        high: Any = None,
        merge_batch_norm: bool = True,
        output: str = "auto",
    ) -> None:
        if output == "probability":
            raise InvalidParameterError(
                "output: LRP propagates a score of the network back through its layers; a softmax or sigmoid added "
                "on top has no relevance rule, so expected 'auto' or 'raw', got 'probability'"
            )
        super().__init__(model, output=output)
        from xaikit.models.torch import TorchModel

        if not isinstance(self.model, TorchModel):
            raise UnsupportedModelError(
                f"model: LRP needs a torch.nn.Module (its layers carry the rules), got {self.model.describe()}"
            )
        self.composite = resolve_composite(
            composite, epsilon=epsilon, gamma=gamma, stabilizer=stabilizer, low=low, high=high,
            merge_batch_norm=merge_batch_norm,
        )
        self.composite_spec = composite if isinstance(composite, str) else "custom"

    def __repr__(self) -> str:
        return f"Lrp({self.model.describe()}, composite={self.composite.name!r})"

    def _params(self) -> dict[str, Any]:
        return {"composite": self.composite.name, "merge_batch_norm": self.composite.merge_batch_norm}

    summary = "Layer-wise relevance propagation of every row of ``X``."
    returns_doc = """Attribution
        ``values`` (n, d, 1) with ``input_shape`` the per-row shape: the relevance reaching each
        input element; diagnostics ``conservation_gap`` (n,) ``= |sum(values) - f(x)[target]|``,
        ``prediction`` (n, 1), ``target`` (n,)."""
    explain_parameters = (BATCH_SIZE,)

    def _compute(self, plan: GradientPlan, seed: np.random.SeedSequence) -> Computed:
        from xaikit.models._torch_lrp import lrp_relevance

        X, idx, bs = plan.X, plan.target, plan.batch_size
        values = lrp_relevance(self.model, X, idx, self.composite, bs)  # type: ignore[arg-type]
        n = X.shape[0]
        fx = _predict(self.model, X, bs)[np.arange(n), idx]
        gap = np.abs(values.reshape(n, -1).sum(axis=1) - fx)
        return Computed(values, None, {"conservation_gap": gap, "prediction": fx[:, None]}, {})

    def _finish(self, plan: Plan, parts: list[Any]) -> Answer:
        answer = super()._finish(plan, parts)
        answer.fields["diagnostic_axes"] = {**answer.fields["diagnostic_axes"], "conservation_gap": "n"}
        return answer
