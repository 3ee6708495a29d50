"""DeepLIFT multipliers (rescale rule) for PyTorch modules.

Each row ``x`` is run through the network together with its reference ``r`` (one batch
``[x; r]``), and the backward pass is changed at the nonlinear *modules* so that each passes
back a multiplier ``(f(x) - f(r)) / (x - r)`` instead of its derivative (Shrikumar et al. 2017,
the rescale rule). Linear layers, convolutions, average pools, batch norm in evaluation mode and
reshapes pass their ordinary gradient, which is their exact multiplier. The product of the
multipliers with ``x - r`` then sums, over the input, to ``f(x) - f(r)`` (summation-to-delta).

The rules follow Captum's ``DeepLift`` (``captum.attr._core.deep_lift``):

* elementwise nonlinearities (:data:`ELEMENTWISE`: ReLU, Sigmoid, Tanh, Softplus, ELU,
  LeakyReLU, GELU, SiLU, ...): ``grad_out * (f(x) - f(r)) / (x - r)``, and the ordinary gradient
  where ``|x - r| < eps`` (default ``1e-10``);
* max pools (:data:`MAX_POOLS`): the gradient ``g`` at the pooled outputs is sent back to the
  positions of the maxima of ``x`` times ``max(f(x), f(r)) - f(r)`` and to the positions of the
  maxima of ``r`` times ``f(x) - max(f(x), f(r))``; their sum, divided by ``x - r``, is the
  multiplier (the ordinary gradient where ``|x - r| < eps``). Overlapping windows that pick the
  same position add up (Captum's unpooling keeps one of them);
* ``torch.nn.Softmax``: the rescale rule, then the mean of the row's values (over the row and its
  reference) subtracted, as Captum does for a batch of one row (Captum subtracts one mean over its
  whole batch). Summation-to-delta does not hold through a softmax treated this way.

Functional calls (``torch.relu``, ``torch.nn.functional.softmax``...) in a module's ``forward``
are not modules: they keep their ordinary gradient, as in Captum, and summation-to-delta then
holds only approximately. A model with no module of the kinds above gets an
:class:`~xaikit.errors.ApproximationWarning`. The probability transform of
``TorchModel(output="probability")`` is given the rule of its kind (sigmoid or softmax).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from xaikit._validation import describe
from xaikit.errors import ApproximationWarning, InvalidParameterError, ModelOutputError, UnsupportedModelError

__all__ = ["ELEMENTWISE", "EPS", "MAX_POOLS", "deeplift_gradients", "deeplift_multipliers", "rescaled_modules"]

#: Below this ``|x - r|`` a nonlinearity passes its ordinary gradient (Captum's default).
EPS = 1e-10

nn = torch.nn

#: Elementwise nonlinear modules given the rescale rule.
ELEMENTWISE: tuple[type[torch.nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.ELU, nn.CELU, nn.SELU, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.Sigmoid, nn.Tanh,
    nn.Softplus, nn.GELU, nn.SiLU, nn.Mish, nn.Hardtanh, nn.Hardsigmoid, nn.Hardswish, nn.LogSigmoid,
    nn.Softsign, nn.Tanhshrink, nn.Softshrink, nn.Hardshrink, nn.Threshold,
)

#: Max pools given Captum's max-pool rule.
MAX_POOLS: tuple[type[torch.nn.Module], ...] = (
    nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
)

Local = Callable[[torch.Tensor], torch.Tensor]
Rule = Callable[[torch.Tensor], torch.Tensor]


def _kind(module: torch.nn.Module) -> str | None:
    """``"elementwise"``, ``"max_pool"``, ``"softmax"`` or None (the module keeps its gradient)."""
    if isinstance(module, nn.Softmax):
        return "softmax"
    if isinstance(module, MAX_POOLS):
        return None if getattr(module, "return_indices", False) else "max_pool"
    if isinstance(module, ELEMENTWISE):
        return "elementwise"
    return None


def rescaled_modules(module: torch.nn.Module) -> list[str]:
    """The names of the submodules DeepLIFT gives a rule (the others pass their ordinary gradient).

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1), torch.nn.Sigmoid())
    >>> rescaled_modules(net)
    ['1', '3']
    """
    return [name or type(m).__name__ for name, m in module.named_modules() if _kind(m) is not None]


class _Rescaled(torch.autograd.Function):
    """The output ``out`` of a nonlinearity with input ``inp``; the backward pass is ``rule(grad_out)``."""

    @staticmethod
    def forward(ctx: Any, inp: torch.Tensor, out: torch.Tensor, rule: Rule) -> torch.Tensor:
        ctx.rule = rule
        return out.clone()

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        return ctx.rule(grad_out), None, None


def _vjp(local: Local, inp: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """The ordinary gradient: ``grad`` times the Jacobian of ``local`` at ``inp``."""
    with torch.enable_grad():
        x = inp.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(local(x.clone()), x, grad)
    return g


def _rule(kind: str, local: Local, inp: torch.Tensor, out: torch.Tensor, eps: float) -> Rule:
    """The backward rule of a nonlinearity run on ``inp = [x; r]`` giving ``out = [f(x); f(r)]``."""
    inp, out = inp.detach(), out.detach()
    x_in, r_in = inp.chunk(2)
    x_out, r_out = out.chunk(2)
    d_in = torch.cat([x_in - r_in] * 2)
    small = d_in.abs() < eps
    safe = torch.where(small, torch.ones_like(d_in), d_in)

    def with_fallback(rescaled: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        if bool(small.any()):
            return torch.where(small, _vjp(local, inp, grad), rescaled)
        return rescaled

    if kind == "max_pool":

        def max_pool(grad: torch.Tensor) -> torch.Tensor:
            g_x, g_r = grad.chunk(2)
            top = torch.maximum(x_out, r_out)
            routed = _vjp(local, inp, torch.cat([g_x * (top - r_out), g_r * (x_out - top)]))
            u_x, u_r = routed.chunk(2)
            return with_fallback(torch.cat([u_x + u_r] * 2) / safe, grad)

        return max_pool

    d_out = torch.cat([x_out - r_out] * 2)

    def elementwise(grad: torch.Tensor) -> torch.Tensor:
        return with_fallback(grad * d_out / safe, grad)

    if kind == "elementwise":
        return elementwise

    def softmax(grad: torch.Tensor) -> torch.Tensor:
        u = elementwise(grad)
        u_x, u_r = u.chunk(2)
        k = u_x[0].numel() if u_x.shape[0] else 1
        mean = (u_x.reshape(u_x.shape[0], -1).sum(1) + u_r.reshape(u_r.shape[0], -1).sum(1)) / (2 * k)
        return u - torch.cat([mean] * 2).reshape(-1, *(1,) * (u.ndim - 1))

    return softmax


class _Hooks:
    """Forward hooks giving every rescaled module of ``module`` its rule, for batches ``[x; r]``."""

    def __init__(self, module: torch.nn.Module, eps: float) -> None:
        self.eps = eps
        self.rows = 0  # rows of the batch [x; r] being run
        self.kept: dict[int, list[torch.Tensor]] = {}
        self.handles: list[Any] = []
        for name, m in module.named_modules():
            kind = _kind(m)
            if kind is not None:
                self.handles.append(m.register_forward_pre_hook(self._keep_input))
                self.handles.append(m.register_forward_hook(self._replace_output(kind, name)))

    def _keep_input(self, module: torch.nn.Module, inputs: Any) -> Any:
        x = inputs[0] if inputs else None
        if not (isinstance(x, torch.Tensor) and x.requires_grad):
            return None
        self.kept.setdefault(id(module), []).append(x)
        # an in-place module overwrites its input: it works on a copy, so the input stays known
        return (x.clone(), *inputs[1:]) if getattr(module, "inplace", False) else None

    def _replace_output(self, kind: str, name: str) -> Callable[..., Any]:
        def hook(module: torch.nn.Module, inputs: Any, output: Any) -> Any:
            stack = self.kept.get(id(module))
            if not stack or not isinstance(output, torch.Tensor):
                return None
            inp = stack.pop()
            if inp.shape[0] != self.rows or output.shape[0] != self.rows:
                raise UnsupportedModelError(
                    f"model: DeepLIFT runs each row with its reference in one batch of {self.rows} rows, but the "
                    f"module {name!r} ({type(module).__name__}) got {inp.shape[0]} rows and returned "
                    f"{output.shape[0]}; its rows must be the batch's rows"
                )
            return _Rescaled.apply(inp, output.detach(), _rule(kind, module.forward, inp, output, self.eps))

        return hook

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.kept.clear()


def _output(model: Any, x: Any, eps: float) -> torch.Tensor:
    """The model's output for the batch ``x = [x; r]`` (a tensor or the adapter's batch of several
    inputs), its probability transform (if any) given the rescale rule.

    ``model._to_probability`` is settled before the hooks are set (see :func:`deeplift_multipliers`).
    """
    if not (model.output == "probability" and model._to_probability):
        return model._forward(x)  # type: ignore[no-any-return]
    from xaikit.models.torch import _first_tensor

    called = model.module(x) if isinstance(x, torch.Tensor) else x.call(model.module)
    raw = _first_tensor(called, getattr(model, "head", None))
    raw = raw.reshape(raw.shape[0], -1).to(model.dtype)
    if raw.shape[1] == 1:
        local: Local = torch.sigmoid
        kind = "elementwise"
    else:
        local, kind = (lambda z: torch.softmax(z, dim=1)), "softmax"
    out = local(raw.detach())
    if not raw.requires_grad:
        return out
    return _Rescaled.apply(raw, out, _rule(kind, local, raw, out, eps))  # type: ignore[no-any-return]


def deeplift_gradients(
    model: Any,
    X: Any,
    reference: Any,
    target: Any,
    *,
    batch_size: int | None = None,
    eps: float = EPS,
) -> np.ndarray:
    """DeepLIFT multipliers (rescale rule) of ``output[i, target[i]]`` for each row ``X[i]`` against ``reference[i]``.

    The attributions are ``(X - reference) * multipliers``; they sum over a row to
    ``f(X[i]) - f(reference[i])`` when every nonlinearity of the network is a module with a rule
    (see the module's notes).

    Parameters
    ----------
    model : TorchModel
    X, reference : arrays or tensors (n, ...)
        Floating-point inputs and one reference per row, of the same shape.
    target : int or array of n ints
        Output index per row (of the flattened output).
    batch_size : int, optional
        Model rows per call (each row goes with its reference: ``batch_size // 2`` rows, at least
        one, per call); default all at once.
    eps : float
        Below this ``|x - r|`` a nonlinearity passes its ordinary gradient.

    Returns
    -------
    ndarray like ``X``, in the parameter dtype.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from xaikit.models.torch import TorchModel
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.ReLU()).double()
    >>> _ = net[0].weight.data.copy_(torch.tensor([[1.0, 1.0]])); _ = net[0].bias.data.fill_(-1.0)
    >>> m = deeplift_gradients(TorchModel(net), np.array([[2.0, 1.0]]), np.zeros((1, 2)), 0)
    >>> m.tolist()  # relu(2) - relu(-1) = 2 over an input change of 3: the multiplier 2/3
    [[0.6666666666666666, 0.6666666666666666]]
    """
    model.require_hooks("DeepLIFT")
    model._n_rows(X)
    x_all = model._tensor(X)
    r_all = model._tensor(reference, "reference")
    if not x_all.is_floating_point():
        raise InvalidParameterError(f"X: DeepLIFT needs floating-point inputs, got {describe(X)}")
    if tuple(r_all.shape) != tuple(x_all.shape):
        raise InvalidParameterError(
            f"reference: expected one reference per row, shaped like X {tuple(x_all.shape)}, got {describe(reference)}"
        )
    grads, _ = deeplift_multipliers(model, x_all, r_all, target, batch_size=batch_size, eps=eps, _stacklevel=4)
    if grads[0] is None:
        raise ModelOutputError(
            f"X: the output of the model ({model.describe()}) does not depend on its input through "
            "differentiable operations, so DeepLIFT multipliers are undefined"
        )
    return grads[0]


def _check_reference(x_batch: Any, r_batch: Any) -> None:
    """The reference batch must hold the same inputs as ``X``: per-row tensors of the same shapes."""
    if r_batch.n != x_batch.n or len(r_batch.items) != len(x_batch.items):
        raise InvalidParameterError(
            f"reference: expected the inputs of X ({len(x_batch.items)} item(s) of {x_batch.n} rows), one reference per "
            f"row, got {len(r_batch.items)} item(s) of {r_batch.n} rows"
        )
    for k, (a, b) in enumerate(zip(x_batch.items, r_batch.items)):
        if isinstance(a, torch.Tensor) != isinstance(b, torch.Tensor) or (
            isinstance(a, torch.Tensor) and (tuple(a.shape) != tuple(b.shape) or a.dtype != b.dtype)
        ):
            raise InvalidParameterError(
                f"reference: expected item {k} like X's ({describe(a)}), got {describe(b)}"
            )


def _layer_hook(module: torch.nn.Module, name: str, values: torch.Tensor, store: list[torch.Tensor]) -> Any:
    """A forward hook replacing ``module``'s output by ``values`` (``[x; r]`` rows), kept in ``store`` as
    the leaf whose gradient is the layer's multiplier."""

    def hook(m: torch.nn.Module, inputs: Any, output: Any) -> Any:
        first = output if isinstance(output, torch.Tensor) else output[0] if isinstance(output, tuple) and output else None
        if not isinstance(first, torch.Tensor) or tuple(first.shape) != tuple(values.shape):
            raise InvalidParameterError(
                f"layers: expected the output of layer {name!r} to be a tensor of shape {tuple(values.shape)} (the "
                f"rows with their references), got {describe(first if first is not None else output)}"
            )
        leaf = values.to(dtype=first.dtype).requires_grad_(True)
        store.append(leaf)
        passed_on = leaf.clone()  # later in-place operations must not touch the leaf
        return passed_on if isinstance(output, torch.Tensor) else (passed_on, *output[1:])

    return module.register_forward_hook(hook)


def deeplift_multipliers(
    model: Any,
    X: Any,
    reference: Any,
    target: Any,
    *,
    layers: Any = (),
    batch_size: int | None = None,
    eps: float = EPS,
    _stacklevel: int = 3,
) -> tuple[list[np.ndarray | None], list[np.ndarray]]:
    """DeepLIFT multipliers (rescale rule) of ``output[i, target[i]]`` with respect to every input and
    to replaced layer outputs, for the model's arguments ``X`` against ``reference``.

    ``X`` and ``reference`` are the model's arguments as :meth:`~xaikit.models.torch.TorchModel.gradients`
    takes them (one input, a tuple in the order of ``forward``'s arguments, or a dict), with the same
    items: the floating-point inputs of ``reference`` are the references of those of ``X``, row by row;
    other per-row items (token ids, masks, fixed arguments) are normally the same in both. Each chunk
    runs as one batch ``[X; reference]``: what takes rows goes with its reference, what is constant is
    passed once.

    Parameters
    ----------
    model : TorchModel
    X, reference : arrays or tensors (n, ...), or tuples or dicts of them
    target : int or array of n ints
    layers : sequence of (layer, values, reference_values)
        Layers (names or modules) whose outputs are replaced by ``values`` ``(n, *shape)`` for the rows
        and ``reference_values`` for the references (an embedding's output for token ids: Captum's
        ``LayerDeepLift``); their multipliers are returned.
    batch_size : int, optional
        Model rows per call (``batch_size // 2`` rows with their references); default all at once.
    eps : float

    Returns
    -------
    (input_multipliers, layer_multipliers)
        One array per item of ``X`` (None for integer, boolean and constant items, and for an input
        the output does not depend on), one ``(n, *shape)`` per layer; in the parameter dtype.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from xaikit.models.torch import TorchModel
    >>> class Two(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__(); self.relu = torch.nn.ReLU()
    ...     def forward(self, a, b, scale):
    ...         return self.relu(a.sum(1, keepdim=True) - b.sum(1, keepdim=True) - 1.0) * scale
    >>> m = TorchModel(Two())
    >>> (ga, gb, _), _ = deeplift_multipliers(m, (np.array([[2.0]]), np.array([[-1.0]]), 2.0),
    ...                                       (np.zeros((1, 1)), np.zeros((1, 1)), 2.0), 0)
    >>> round(float(ga[0, 0]), 6), round(float(gb[0, 0]), 6)  # 2 * (relu(2) - relu(-1)) = 4 over a change of 3
    (1.333333, -1.333333)
    """
    model.require_hooks("DeepLIFT")
    batch_x = model._batch(X)
    batch_r = model._batch(reference)
    _check_reference(batch_x, batch_r)
    n = batch_x.n
    specs = []
    for layer, values, ref_values in layers:
        name, module = model.resolve_layer(layer)
        vx, vr = model._tensor(values, "values"), model._tensor(ref_values, "reference values")
        if vx.shape[0] != n or tuple(vx.shape) != tuple(vr.shape):
            raise InvalidParameterError(
                f"layers: expected values of layer {name!r} for the {n} rows and reference values of the same shape, "
                f"got {tuple(vx.shape)} and {tuple(vr.shape)}"
            )
        specs.append((name, module, vx, vr))
    floats = [isinstance(t, torch.Tensor) and t.is_floating_point() for t in batch_x.items]
    if not any(floats) and not specs:
        raise InvalidParameterError(
            f"X: DeepLIFT needs floating-point inputs (or token ids explained on their embedding), got {describe(X)}"
        )
    if model.output == "probability" and model._to_probability is None:
        model._predict(batch_x.take(slice(0, 1)))  # decides whether the output is transformed, before the hooks
    hooks = _Hooks(model.module, eps)
    if not hooks.handles and model.output != "probability":
        warnings.warn(
            f"model: the model ({model.describe()}) has no nonlinear module DeepLIFT rescales (ReLU, Sigmoid, "
            "Tanh, MaxPool, Softmax, ... modules); functional calls (torch.relu, F.softmax, ...) keep their "
            "ordinary gradient, so the multipliers are plain gradients and need not sum to f(x) - f(reference)",
            ApproximationWarning,
            stacklevel=_stacklevel,
        )
    chunk = None if batch_size is None else max(1, int(batch_size) // 2)
    in_parts: list[list[torch.Tensor | None]] = [[] for _ in batch_x.items]
    layer_parts: list[list[torch.Tensor]] = [[] for _ in specs]
    try:
        with model._mode(), torch.enable_grad():
            for s in model._chunks(n, chunk):
                bx, br = batch_x.take(s), batch_r.take(s)
                c = bx.n
                leaves: list[torch.Tensor] = []
                items: list[Any] = []
                for k, (a, b) in enumerate(zip(bx.items, br.items)):
                    if floats[k]:
                        leaf = a.clone().requires_grad_(True)
                        leaves.append(leaf)
                        items.append(torch.cat([leaf, b]))
                    else:
                        items.append(torch.cat([a, b]) if isinstance(a, torch.Tensor) else a)
                batch = type(bx)(items, bx.names, 2 * c)
                captured: list[list[torch.Tensor]] = [[] for _ in specs]
                layer_hooks = [_layer_hook(module, name, torch.cat([vx[s], vr[s]]), captured[j])
                               for j, (name, module, vx, vr) in enumerate(specs)]
                hooks.rows = 2 * c
                try:
                    out = _output(model, batch, eps)
                finally:
                    for h in layer_hooks:
                        h.remove()
                for (name, *_), got in zip(specs, captured):
                    if len(got) != 1:
                        raise InvalidParameterError(
                            f"layers: layer {name!r} ran {len(got)} times in one forward pass; its output is replaced "
                            "by the rows' values, so it must run once"
                        )
                model._differentiable(out)
                t = model._targets(target, n, out.shape[1])[s]
                sources = [*leaves, *(got[0] for got in captured)]
                found = torch.autograd.grad(model._selected(out, torch.cat([t, t])), sources, allow_unused=True)
                if all(g is None for g in found):
                    raise ModelOutputError(
                        f"X: the output of the model ({model.describe()}) does not depend on its inputs through "
                        "differentiable operations, so DeepLIFT multipliers are undefined"
                    )
                pos = 0
                for k, is_float in enumerate(floats):
                    if is_float:
                        g = found[pos]
                        in_parts[k].append(None if g is None else g.detach())
                        pos += 1
                for j, (_, _, vx, _) in enumerate(specs):
                    g = found[pos + j]
                    layer_parts[j].append(torch.zeros_like(vx[s]) if g is None else g.detach()[:c])
    finally:
        hooks.remove()
    inputs: list[np.ndarray | None] = [
        None if not parts or any(g is None for g in parts) else torch.cat(parts).cpu().numpy()  # type: ignore[arg-type]
        for parts in in_parts
    ]
    return inputs, [torch.cat(parts).cpu().numpy() for parts in layer_parts]
