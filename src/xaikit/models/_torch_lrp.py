"""Layer-wise relevance propagation through a ``torch.nn.Module``: the rules of
:mod:`xaikit.explainers.gradients.lrp` applied layer by layer.

Mechanism: for one call, every module given a rule gets a forward pre-hook and a forward hook.
The pre-hook hands the module a detached copy of its input; the forward hook replaces the
module's output by the same values computed by an autograd function whose backward pass maps
the relevance of the output to the relevance of the input by the rule. The relevance starts as
``f(x)[target]`` on the explained output (zero elsewhere) and is pulled back to the input with
:func:`torch.autograd.grad`; modules without a rule pass the ordinary gradient (max pooling to the
winner, sums to every term). Batch norms right after a dense layer or convolution (in the order of
the modules' leaves) are merged into it: the rule reads merged weights computed on copies, and the
batch norm passes the relevance unchanged. The hooks are removed before the call returns; the
module's parameters are never written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError, ModelOutputError, UnsupportedModelError
from xaikit.explainers.gradients.lrp import (
    AlphaBeta,
    Composite,
    Epsilon,
    Flat,
    Gamma,
    Norm,
    Pass,
    Rule,
    WSquare,
    ZBox,
    ZPlus,
    resolve_composite,
)
from xaikit.models.torch import TorchModel

__all__ = ["lrp_relevance"]

_ACTIVATIONS = tuple(
    getattr(torch.nn, name)
    for name in (
        "ELU", "Hardshrink", "Hardsigmoid", "Hardtanh", "Hardswish", "LeakyReLU", "LogSigmoid", "PReLU", "ReLU",
        "ReLU6", "RReLU", "SELU", "CELU", "GELU", "Sigmoid", "SiLU", "Softplus", "Softshrink", "Softsign", "Tanh",
        "Tanhshrink", "Threshold",
    )
    if hasattr(torch.nn, name)
)
_CONV = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)
_BATCHNORM = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)
_GROUPS: dict[str, tuple[type, ...]] = {
    "activation": _ACTIVATIONS,
    "avgpool": (
        torch.nn.AvgPool1d, torch.nn.AvgPool2d, torch.nn.AvgPool3d,
        torch.nn.AdaptiveAvgPool1d, torch.nn.AdaptiveAvgPool2d, torch.nn.AdaptiveAvgPool3d,
    ),
    "batchnorm": _BATCHNORM,
    "conv": _CONV,
    "dense": (torch.nn.Linear,),
    "linear": (torch.nn.Linear, *_CONV),
}


def _matches(key: Any, module: torch.nn.Module) -> bool:
    types = _GROUPS[key] if isinstance(key, str) else key
    return isinstance(module, types)


def _assign(root: torch.nn.Module, comp: Composite) -> dict[str, tuple[torch.nn.Module, Rule]]:
    """The rule of each module (by name), in ``named_modules()`` order, as the composite says."""
    modules = dict(root.named_modules())
    unknown = [name for name in comp.names if name not in modules]
    if unknown:
        shown = ", ".join(repr(n) for n in list(modules)[1:13])
        raise InvalidParameterError(f"composite: unknown layer name {unknown[0]!r}; available: {shown}")
    first_done = False
    out: dict[str, tuple[torch.nn.Module, Rule]] = {}
    for name, module in modules.items():
        rule = comp.names.get(name)
        if rule is None and not first_done:
            rule = next((r for key, r in comp.first if _matches(key, module)), None)
            first_done = rule is not None
        if rule is None:
            rule = next((r for key, r in comp.layers if _matches(key, module)), None)
        if rule is not None:
            out[name] = (module, rule)
    return out


def _leaves(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    children = list(module.children())
    if not children:
        yield module
    for child in children:
        yield from _leaves(child)


def _merged(root: torch.nn.Module) -> list[tuple[torch.nn.Module, torch.nn.Module, dict[str, torch.Tensor]]]:
    """Every dense layer or convolution directly followed by a batch norm (in the order of the leaves),
    with its weights merged with the batch norm's (copies)."""
    pairs: list[tuple[torch.nn.Module, torch.nn.Module, dict[str, torch.Tensor]]] = []
    last: torch.nn.Module | None = None
    for leaf in _leaves(root):
        if isinstance(last, (torch.nn.Linear, *_CONV)) and isinstance(leaf, _BATCHNORM):
            if leaf.running_mean is None or leaf.running_var is None:
                raise UnsupportedModelError(
                    f"model: the batch norm {leaf} keeps no running statistics (track_running_stats=False), so it "
                    "normalises each batch by its own statistics and cannot be merged into the layer before it; "
                    "pass merge_batch_norm=False to let it pass the relevance unchanged"
                )
            with torch.no_grad():
                w = last.weight.detach().clone()
                b = last.bias.detach().clone() if last.bias is not None else torch.zeros(w.shape[0], dtype=w.dtype, device=w.device)
                scale = (leaf.running_var.detach() + leaf.eps) ** 0.5
                scale = (leaf.weight.detach() if leaf.weight is not None else torch.ones_like(scale)) / scale
                shift = leaf.bias.detach() if leaf.bias is not None else torch.zeros_like(scale)
                index = (slice(None), *((None,) * (w.ndim - 1)))
                pairs.append((last, leaf, {"weight": w * scale[index], "bias": (b - leaf.running_mean.detach()) * scale + shift}))
        last = leaf
    return pairs


def _stabilize(z: torch.Tensor, eps: float) -> torch.Tensor:
    """``z + eps * sign(z)`` with ``sign(0) = 1``."""
    return z + ((z == 0).to(z) + z.sign()) * eps


class _Layer:
    """A module's operation with given parameters: ``op(x, weight, bias)``."""

    def __init__(self, module: torch.nn.Module, params: dict[str, torch.Tensor] | None) -> None:
        self.module = module
        if params is not None:
            self.params: dict[str, torch.Tensor | None] = dict(params)
        elif isinstance(module, (torch.nn.Linear, *_CONV, *_BATCHNORM)):
            bias = getattr(module, "bias", None)
            weight = getattr(module, "weight", None)
            self.params = {
                "weight": None if weight is None else weight.detach(),
                "bias": None if bias is None else bias.detach(),
            }
        else:
            self.params = {}

    def op(self, x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None) -> torch.Tensor:
        m = self.module
        if isinstance(m, torch.nn.Linear):
            return F.linear(x, weight, bias)  # type: ignore[arg-type]
        if isinstance(m, _CONV):
            return m._conv_forward(x, weight, bias)  # type: ignore[arg-type]
        if isinstance(m, _BATCHNORM):
            return F.batch_norm(x, m.running_mean, m.running_var, weight, bias, False, 0.0, m.eps)
        return m.forward(x)  # no parameters read: calling forward (not the module) bypasses the hooks

    def run(self, x: torch.Tensor, modify: Callable[[torch.Tensor], torch.Tensor] | None, bias: str) -> torch.Tensor:
        """The layer on ``x`` with its weight modified by ``modify`` and its bias ``"same"``, ``"modified"`` or ``"zero"``."""
        w, b = self.params.get("weight"), self.params.get("bias")
        if modify is not None and w is not None:
            w = modify(w)
        if b is not None:
            b = torch.zeros_like(b) if bias == "zero" else (modify(b) if bias == "modified" and modify is not None else b)
        return self.op(x, w, b)


def _pos(t: torch.Tensor) -> torch.Tensor:
    return t.clamp(min=0)


def _neg(t: torch.Tensor) -> torch.Tensor:
    return t.clamp(max=0)


def _pull(outputs: list[torch.Tensor], inputs: list[torch.Tensor], grads: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    return torch.autograd.grad(outputs, inputs, grad_outputs=grads)


def _relevance(rule: Rule, layer: _Layer, x: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """The relevance of the layer's input ``x`` from the relevance ``R`` of its output, by ``rule``."""
    if isinstance(rule, Pass):
        return R
    zb = "zero" if getattr(rule, "zero_bias", False) else "modified"
    with torch.enable_grad():
        if isinstance(rule, (Epsilon, Norm)):
            eps = rule.epsilon if isinstance(rule, Epsilon) else rule.stabilizer
            xi = x.detach().requires_grad_(True)
            z = layer.run(xi, None, "zero" if getattr(rule, "zero_bias", False) else "same")
            (g,) = _pull([z], [xi], [R / _stabilize(z, eps)])
            return x * g
        if isinstance(rule, (ZPlus, AlphaBeta)):
            xp, xn = _pos(x).requires_grad_(True), _neg(x).requires_grad_(True)
            z1 = layer.run(xp, _pos, zb)
            z2 = layer.run(xn, _neg, "zero")
            s = R / _stabilize(z1 + z2, rule.stabilizer)
            g1, g2 = _pull([z1, z2], [xp, xn], [s, s])
            positive = xp * g1 + xn * g2
            if isinstance(rule, ZPlus):
                return positive
            xp2, xn2 = _pos(x).requires_grad_(True), _neg(x).requires_grad_(True)
            z3 = layer.run(xp2, _neg, zb)
            z4 = layer.run(xn2, _pos, "zero")
            t = R / _stabilize(z3 + z4, rule.stabilizer)
            g3, g4 = _pull([z3, z4], [xp2, xn2], [t, t])
            return rule.alpha * positive - rule.beta * (xp2 * g3 + xn2 * g4)
        if isinstance(rule, Gamma):
            gam = rule.gamma

            def up(t: torch.Tensor) -> torch.Tensor:
                return t + gam * t.clamp(min=0)

            def down(t: torch.Tensor) -> torch.Tensor:
                return t + gam * t.clamp(max=0)

            ins = [_pos(x), _neg(x), _pos(x), _neg(x)]
            ins = [t.detach().requires_grad_(True) for t in ins]
            z1 = layer.run(ins[0], up, zb)
            z2 = layer.run(ins[1], down, "zero")
            z3 = layer.run(ins[2], down, zb)
            z4 = layer.run(ins[3], up, "zero")
            z = layer.run(x.detach(), None, "same")
            sp = (z > 0).to(R) * R / _stabilize(z1 + z2, rule.stabilizer)
            sn = (z < 0).to(R) * R / _stabilize(z3 + z4, rule.stabilizer)
            grads = _pull([z1, z2, z3, z4], ins, [sp, sp, sn, sn])
            return sum((i * g for i, g in zip(ins, grads)), torch.zeros_like(x))
        if isinstance(rule, ZBox):
            low = _bound(rule.low, x, "low")
            high = _bound(rule.high, x, "high")
            xi, lo, hi = x.detach().requires_grad_(True), low.requires_grad_(True), high.requires_grad_(True)
            z1 = layer.run(xi, None, "zero" if rule.zero_bias else "same")
            z2 = layer.run(lo, _pos, zb)
            z3 = layer.run(hi, _neg, zb)
            s = R / _stabilize(z1 - z2 - z3, rule.stabilizer)
            g1, g2, g3 = _pull([z1, z2, z3], [xi, lo, hi], [s, s, s])
            return xi * g1 - lo * g2 - hi * g3
        if isinstance(rule, (Flat, WSquare)):
            ones = torch.ones_like(x).requires_grad_(True)
            if isinstance(rule, Flat):
                z = layer.run(ones, torch.ones_like, "zero")
            else:
                z = layer.run(ones, torch.square, "zero" if rule.zero_bias else "modified")
            (g,) = _pull([z], [ones], [R / _stabilize(z, rule.stabilizer)])
            return g
    raise InvalidParameterError(f"composite: expected xaikit LRP rules, got {describe(rule)}")  # pragma: no cover


def _bound(value: Any, x: torch.Tensor, name: str) -> torch.Tensor:
    """A z-box bound broadcast to ``x`` (n, *shape), as a fresh tensor."""
    t = value.detach() if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value, dtype=np.float64))
    t = t.to(device=x.device, dtype=x.dtype)
    if t.ndim == x.ndim and t.shape[0] == 1:
        t = t[0]
    if 0 < t.ndim < x.ndim - 1 and all(a in (1, b) for a, b in zip(t.shape, x.shape[1:])):
        t = t.reshape(*t.shape, *((1,) * (x.ndim - 1 - t.ndim)))  # per-channel bounds (C,) -> (C, 1, 1)
    try:
        return torch.broadcast_to(t, x.shape[1:]).expand(x.shape).clone()
    except RuntimeError:
        raise InvalidParameterError(
            f"{name}: expected a number or an array broadcastable to one input of shape {tuple(x.shape[1:])}, "
            f"got an array of shape {tuple(np.shape(value))}"
        ) from None


class _RuleFunction(torch.autograd.Function):
    """The layer's output values (``y``) in the forward pass; the rule's relevance of ``x`` in the backward pass."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, y: torch.Tensor, kept: torch.Tensor, relevance: Any) -> torch.Tensor:
        ctx.kept, ctx.relevance = kept, relevance
        return y.clone()

    @staticmethod
    def backward(ctx: Any, R: torch.Tensor) -> Any:
        return ctx.relevance(ctx.kept, R), None, None, None


def _hooks(assigned: dict[str, tuple[torch.nn.Module, Rule]], merged: dict[int, dict[str, torch.Tensor]]) -> list[Any]:
    handles: list[Any] = []
    for name, (module, rule) in assigned.items():
        if rule.needs_parameters and not isinstance(module, (torch.nn.Linear, *_CONV, *_BATCHNORM)):
            raise UnsupportedModelError(
                f"composite: the rule {rule} reads a layer's weights, and is given to layer {name!r} "
                f"({type(module).__name__}), which is not a dense layer, convolution or batch norm; give it Pass(), "
                "Norm() or Flat()"
            )
        layer = _Layer(module, merged.get(id(module)))
        kept: dict[str, torch.Tensor] = {}

        def pre(mod: torch.nn.Module, inputs: Any, kept: dict[str, torch.Tensor] = kept) -> Any:
            if not inputs or not isinstance(inputs[0], torch.Tensor) or not inputs[0].requires_grad:
                kept.pop("x", None)
                return None
            x = inputs[0]
            kept["x"] = x
            return (x.detach().clone(), *inputs[1:])

        def post(mod: torch.nn.Module, inputs: Any, output: Any, kept: dict[str, torch.Tensor] = kept,
                 layer: _Layer = layer, rule: Rule = rule) -> Any:
            x = kept.pop("x", None)
            if x is None or not isinstance(output, torch.Tensor):
                return None

            def apply(saved: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
                return _relevance(rule, layer, saved, R)

            saved = inputs[0].detach() if not isinstance(rule, Pass) else x.detach()
            return _RuleFunction.apply(x, output.detach(), saved, apply)

        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))
    return handles


def lrp_relevance(model: TorchModel, X: Any, target: Any, composite: Any = "epsilon_plus", batch_size: int | None = None) -> np.ndarray:
    """The LRP relevance of every input element for ``output[i, target[i]]``, shaped like ``X`` (float64).

    Parameters
    ----------
    model : TorchModel
    X : array or tensor (n, ...)
        Floating-point inputs.
    target : int or array of n ints
    composite : str, mapping or Composite
        See :func:`xaikit.explainers.gradients.lrp.resolve_composite`.
    batch_size : int, optional
        Rows per pass (default all).

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 1, bias=False)).double()
    >>> _ = net[0].weight.data.copy_(torch.tensor([[2.0, -1.0]]))
    >>> lrp_relevance(TorchModel(net), np.array([[1.0, 3.0]]), 0, "epsilon").round(4).tolist()
    [[2.0, -3.0]]
    """
    model.require_hooks("LRP")
    comp = resolve_composite(composite)
    n = model._n_rows(X)
    x_all = model._tensor(X)
    if not x_all.is_floating_point():
        raise InvalidParameterError(
            f"X: LRP needs floating-point inputs, got {describe(X)}; for token ids, explain the embedding's output"
        )
    root = model.module
    parts = []
    with model._mode():
        assigned = _assign(root, comp)
        merged: dict[int, dict[str, torch.Tensor]] = {}
        names = {id(m): name for name, m in root.named_modules()}
        ruled = {id(m) for m, _ in assigned.values()}
        for linear, norm, params in _merged(root) if comp.merge_batch_norm else []:
            # merged, the batch norm is the identity: it passes the relevance, or the gradient when the layer
            # before it has no rule (then nothing is merged: the gradient through both is the same)
            if id(linear) in ruled:
                merged[id(linear)] = params
                assigned[names[id(norm)]] = (norm, Pass())
            else:
                assigned.pop(names[id(norm)], None)
        handles = _hooks(assigned, merged)
        try:
            with torch.enable_grad():
                for s in model._chunks(n, batch_size):
                    x = x_all[s].clone().requires_grad_(True)
                    out = model._forward(x)
                    model._differentiable(out)
                    t = model._targets(target, n, out.shape[1])[s]
                    model._selected(out, t)  # refuses NaN or infinite target outputs
                    start = torch.zeros_like(out)
                    start.scatter_(1, t[:, None], out.detach().gather(1, t[:, None]))
                    (r,) = torch.autograd.grad(out, x, grad_outputs=start, allow_unused=True)
                    if r is None:
                        raise ModelOutputError(
                            f"X: the output of the model ({model.describe()}) does not depend on its input through "
                            "differentiable operations, so no relevance reaches it"
                        )
                    parts.append(r.detach().to("cpu", torch.float64))
        finally:
            for h in handles:
                h.remove()
    return torch.cat(parts).numpy()
