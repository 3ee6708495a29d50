"""Adapter for PyTorch modules: predictions, input gradients and layer gradients.

This is the only xaikit module that imports :mod:`torch`; :func:`xaikit.models.adapt` imports it
when it is given a ``torch.nn.Module``. Everything it offers goes through public autograd:
:func:`torch.autograd.grad`, :meth:`torch.nn.Module.register_forward_hook`,
:meth:`torch.nn.Module.register_forward_pre_hook`, :meth:`torch.Tensor.register_hook` and a
:class:`torch.autograd.Function` (the deconvolution ReLU). The explainers built on it (:mod:`xaikit.explainers.gradients.base`,
:mod:`~xaikit.explainers.gradients.grad_cam`) see numpy arrays only.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from xaikit._validation import check_choice, check_one_input, describe
from xaikit.errors import ApproximationWarning, InvalidParameterError, ModelOutputError
from xaikit.models.base import BatchedModel, are_logits

__all__ = ["TorchModel"]

#: The ways :meth:`TorchModel.gradient` can propagate through ``torch.nn.ReLU`` modules.
RELU_RULES = ("standard", "guided", "deconv")

_MAX_LISTED_LAYERS = 12


def _first_tensor(out: Any) -> torch.Tensor:
    """The prediction tensor in what a module returned: a tensor, the first item of a tuple or
    list, or the ``logits`` of an output object or dict (as in Hugging Face models)."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, dict) and "logits" in out:
        return _first_tensor(out["logits"])
    logits = getattr(out, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    if isinstance(out, (tuple, list)) and out:
        return _first_tensor(out[0])
    raise ModelOutputError(
        f"the module returned {describe(out)}; expected a tensor, a tuple whose first item is one, "
        "or an object with a 'logits' tensor"
    )


#: Layers that leave a row's values as they are in evaluation mode.
_PASS_THROUGH = (torch.nn.Identity, torch.nn.Dropout, torch.nn.Flatten, torch.nn.AlphaDropout)
#: Layers whose output is known not to be a probability.
_LOGIT_LAYERS = (
    torch.nn.Linear, torch.nn.Bilinear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d,
    torch.nn.LogSoftmax, torch.nn.Tanh, torch.nn.ReLU, torch.nn.LeakyReLU, torch.nn.ELU, torch.nn.GELU,
)

#: Messages of torch errors that mean the input has the wrong shape for the model.
_SHAPE_MESSAGES = re.compile(
    r"shapes cannot be multiplied|size mismatch|to have \d+ channels|expected \d+d|input size|"
    r"must match the size of tensor|should contain \d+ elements|must be equal to input_size|"
    r"kernel size can't be greater|dimension|expected input|shape '\[",
    re.IGNORECASE,
)


def _final_layer(module: torch.nn.Module) -> torch.nn.Module:
    """The last layer of a (nested) ``nn.Sequential``, past layers that leave values unchanged; the
    module itself otherwise."""
    while isinstance(module, torch.nn.Sequential) and len(module):
        layers = [m for m in module if not isinstance(m, _PASS_THROUGH)]
        if not layers:
            break
        module = layers[-1]
    return module


def _final_activation(module: torch.nn.Module) -> str | None:
    """``"softmax"`` or ``"sigmoid"`` when the module's output is a probability (it ends with
    ``nn.Softmax`` over its outputs or ``nn.Sigmoid``), ``"logits"`` when it ends with a layer known
    not to give probabilities (``nn.Linear``, a convolution, ``nn.LogSoftmax``...), else None."""
    last = _final_layer(module)
    if isinstance(last, torch.nn.Softmax) and last.dim in (None, 1, -1):
        return "softmax"
    if isinstance(last, torch.nn.Sigmoid):
        return "sigmoid"
    if isinstance(last, _LOGIT_LAYERS):
        return "logits"
    return None


def _first_layer(module: torch.nn.Module) -> torch.nn.Module:
    while isinstance(module, torch.nn.Sequential) and len(module):
        module = module[0]
    return module


def _expected_input(module: torch.nn.Module) -> str | None:
    """The input shape a ``nn.Sequential`` expects, read from its first layer (None when unknown)."""
    first = _first_layer(module)  # a custom module is not looked into: its first layer need not run first
    if isinstance(first, torch.nn.Linear):
        return f"(n, ..., {first.in_features}) (its first layer is {first})"
    for k, conv in ((1, torch.nn.Conv1d), (2, torch.nn.Conv2d), (3, torch.nn.Conv3d)):
        if isinstance(first, conv):
            grid = ", ".join(("L",) if k == 1 else ("H", "W") if k == 2 else ("D", "H", "W"))
            return f"(n, {first.in_channels}, {grid}) (its first layer is {first})"
    if isinstance(first, torch.nn.Embedding):
        return f"integer token ids in [0, {first.num_embeddings}) (its first layer is {first})"
    if isinstance(first, torch.nn.RNNBase):
        return f"(n, T, {first.input_size}) (its first layer is {first})" if first.batch_first else None
    return None


class _DeconvReLU(torch.autograd.Function):
    """``relu(x)`` whose backward pass is ``relu(grad_out)`` (the deconvolution rule)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> torch.Tensor:
        return grad_out.clamp(min=0)


class TorchModel(BatchedModel):
    """A ``torch.nn.Module`` as an xaikit model, with gradients.

    Parameters
    ----------
    module : torch.nn.Module
        Called on a batch ``(n, ...)``; its output is flattened to ``(n, n_outputs)``. The module is
        never moved, copied or modified: inputs go to its device and parameter dtype.
    output : {"auto", "raw", "probability"}
        ``"auto"`` and ``"raw"`` explain the module's output as it is (e.g. logits);
        ``"probability"`` explains probabilities: a softmax over the outputs (a sigmoid when there
        is one output) is applied before predictions and gradients, except when the module's
        output is one already. A ``nn.Sequential`` ending with ``nn.Softmax`` or ``nn.Sigmoid`` is
        explained as it is; one ending with ``nn.Linear``, a convolution or another known layer is
        transformed. For other modules the outputs of the first call decide: rows of non-negative
        values summing to 1 (within 1e-6) are probabilities already; other rows are logits; a
        single output whose values all lie in [0, 1] could be either, and is refused with
        :class:`~xaikit.errors.InvalidParameterError`.
    output_names : list of str, optional
    device : str or torch.device, optional
        Where inputs are sent; default the device of the module's first parameter or buffer
        (the CPU for a module without any).
    eval_mode : bool
        Run every call with the module in evaluation mode (dropout off, batch norm on its running
        statistics), so that rows are independent and results deterministic. The train/eval flag of
        every submodule is restored after each call. ``False`` runs the module in the mode it is in.

    Notes
    -----
    Inputs may be numpy arrays or tensors (one input; a tuple of arrays is refused).
    Floating-point inputs are converted to the module's parameter dtype; integer inputs (token ids)
    are passed as ``int64`` and can be predicted and explained at a layer, but have no input
    gradient. Torch errors that say the input has the wrong shape or dtype for the module are
    raised as :class:`~xaikit.errors.InvalidParameterError` naming ``X`` (the torch error chained);
    an output without a gradient as :class:`~xaikit.errors.ModelOutputError`. Predictions are returned as float64;
    gradients in the parameter dtype (float32 or float64).

    Examples
    --------
    >>> import numpy as np, torch
    >>> net = torch.nn.Linear(3, 2).double()
    >>> _ = torch.nn.init.constant_(net.weight, 1.0); _ = torch.nn.init.zeros_(net.bias)
    >>> model = TorchModel(net)
    >>> model.predict(np.ones((1, 3)))
    array([[3., 3.]])
    >>> model.gradient(np.ones((2, 3)), [0, 1])
    array([[1., 1., 1.],
           [1., 1., 1.]])
    """

    capabilities = frozenset({"gradient", "layer_gradients"})

    def __init__(
        self,
        module: Any,
        *,
        output: str = "auto",
        output_names: list[str] | None = None,
        device: Any = None,
        eval_mode: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(module, torch.nn.Module):
            raise InvalidParameterError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
        check_choice(output, "output", ("auto", "raw", "probability"))
        self.module = module
        self.output = "raw" if output == "auto" else output
        final = _final_activation(module)
        # a softmax (sigmoid for one output) on the module's output: not when it is one already;
        # None until the first outputs decide, for a module whose final layer is not identified
        self._to_probability: bool | None = (
            False if self.output != "probability" else (None if final is None else final == "logits")
        )
        self._output_names = list(output_names) if output_names is not None else None
        tensors = [*module.parameters(), *module.buffers()]
        floating = [t for t in tensors if t.is_floating_point()]
        self.dtype: torch.dtype = floating[0].dtype if floating else torch.get_default_dtype()
        if device is None:
            device = tensors[0].device if tensors else torch.device("cpu")
        self.device = torch.device(device)
        self.eval_mode = bool(eval_mode)
        #: The numpy dtype inputs are computed in (the parameters' float64, else float32).
        self.input_dtype = np.dtype(np.float64) if self.dtype == torch.float64 else np.dtype(np.float32)

    # ---------------------------------------------------------------- helpers
    def describe(self) -> str:
        return f"torch {type(self.module).__name__}"

    @contextmanager
    def _mode(self) -> Iterator[None]:
        """Evaluation mode for the duration of a call; every submodule's flag restored after."""
        if not self.eval_mode:
            yield
            return
        flags = [(m, m.training) for m in self.module.modules()]
        self.module.eval()
        try:
            yield
        finally:
            for m, flag in flags:
                m.training = flag

    def _tensor(self, X: Any, name: str = "X") -> torch.Tensor:
        """``X`` as a tensor on the model's device: floating point in the parameter dtype, integers as int64."""
        check_one_input(X, name)
        if isinstance(X, torch.Tensor):
            t = X.detach()
        else:
            arr = np.asarray(X)
            if arr.dtype.kind not in "biuf":
                raise InvalidParameterError(f"{name}: expected a numeric array or tensor, got {describe(arr)}")
            t = torch.from_numpy(np.ascontiguousarray(arr))
        if t.ndim == 0:
            raise InvalidParameterError(f"{name}: expected a batch (n, ...) of inputs, got a scalar")
        if t.is_floating_point() or t.dtype == torch.bool:
            t = t.to(device=self.device, dtype=self.dtype)
        else:
            t = t.to(device=self.device, dtype=torch.int64)
        return t

    def _call(self, x: torch.Tensor) -> Any:
        """``module(x)``; a torch error that says ``x`` does not fit the module becomes an
        :class:`~xaikit.errors.InvalidParameterError` naming ``X``, the torch error chained."""
        try:
            return self.module(x)
        except (RuntimeError, IndexError) as exc:
            error = self._input_error(x, exc)
            if error is None:
                raise
            raise error from exc

    def _input_error(self, x: torch.Tensor, exc: Exception) -> InvalidParameterError | None:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        given = f"rows of shape {tuple(x.shape[1:])} (n, ...) and dtype {x.dtype}"
        expected = _expected_input(self.module)
        wanted = f"; it expects {expected}" if expected else ""
        if "'indices'" in text or ("indices" in text and "Long" in text):
            return InvalidParameterError(
                f"X: the model ({self.describe()}) takes integer inputs (token ids, e.g. for an nn.Embedding), "
                f"got floating-point {given}{wanted}; gradients with respect to integer inputs are undefined: "
                f"explain a layer (e.g. the embedding) with a layer method (layer_gradients, GradCam, ...) "
                f"[torch: {text}]"
            )
        if isinstance(exc, IndexError) and "index out of range" in text:
            return InvalidParameterError(
                f"X: a value of X is out of the range of the model's lookup table ({self.describe()}, "
                f"{given}{wanted}) [torch: {text}]"
            )
        if isinstance(exc, RuntimeError) and _SHAPE_MESSAGES.search(text):
            return InvalidParameterError(
                f"X: the model ({self.describe()}) cannot take {given}{wanted} [torch: {text}]"
            )
        return None

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """The module's output for ``x`` as ``(n, n_outputs)``, transformed per ``output``."""
        out = _first_tensor(self._call(x))
        if out.ndim == 0 or out.shape[0] != x.shape[0]:
            raise ModelOutputError(
                f"the model ({self.describe()}) returned a tensor of shape {tuple(out.shape)} for "
                f"{x.shape[0]} input rows; expected ({x.shape[0]}, ...)"
            )
        out = out.reshape(out.shape[0], -1)
        if self.output == "probability":
            if not out.is_floating_point():
                out = out.to(self.dtype)
            if self._to_probability is None:
                self._to_probability = self._are_logits(out)
            if self._to_probability:
                out = torch.sigmoid(out) if out.shape[1] == 1 else torch.softmax(out, dim=1)
        return out

    def _are_logits(self, out: torch.Tensor) -> bool:
        values = out.detach().to("cpu", torch.float64).numpy()
        return are_logits(values, self.describe(), "torch.nn.Sequential(model, torch.nn.Sigmoid())")

    def _differentiable(self, out: torch.Tensor) -> None:
        """Refuse an output that has no gradient (detached, or integer)."""
        if out.requires_grad:
            return
        why = (
            f"is an integer tensor ({out.dtype})"
            if not out.is_floating_point()
            else "does not require grad (the forward pass detaches it, or computes it without autograd)"
        )
        raise ModelOutputError(
            f"the output of the model ({self.describe()}) {why}, so it has no gradient with respect to X; "
            "gradient methods need an output computed from X by differentiable torch operations"
        )

    def _targets(self, target: Any, n: int, n_outputs: int) -> torch.Tensor:
        """``target`` (an int or one int per row) as an int64 tensor of ``n`` indices in ``[0, n_outputs)``."""
        if isinstance(target, torch.Tensor):
            target = target.detach().cpu().numpy()
        arr = self._target_indices(target, n, n_outputs)
        return torch.from_numpy(np.ascontiguousarray(arr)).to(self.device)

    def _selected(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Sum over the rows of ``out[i, target[i]]``; each row's gradient is its own because rows are independent."""
        picked = out.gather(1, target[:, None])
        if not torch.isfinite(picked).all():
            raise ModelOutputError(f"the model ({self.describe()}) returned NaN or infinite outputs for the target")
        return picked.sum()

    # ---------------------------------------------------------------- predictions
    def _predict(self, X: Any) -> np.ndarray:
        x = self._tensor(X)
        with self._mode(), torch.no_grad():
            out = self._forward(x)
        return out.detach().to("cpu", torch.float64).numpy()

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
        relu : {"standard", "guided", "deconv"}
            ``"guided"`` applies guided backpropagation (Springenberg et al. 2015): while the
            gradient is computed, the gradient flowing back through every ``torch.nn.ReLU``
            *module* is clipped to its positive part (so only positive signals pass, and only where
            the ReLU input was positive). ``"deconv"`` applies the deconvolution rule (Zeiler &
            Fergus 2014): every ``torch.nn.ReLU`` module passes back the positive part of the
            gradient it receives, whatever the sign of its input. ``torch.nn.functional.relu`` /
            ``torch.relu`` calls in ``forward`` are not modules and keep their ordinary gradient,
            as in Captum. The hooks that do this are removed before the call returns.

        Returns
        -------
        ndarray like ``X``, in the parameter dtype.

        Notes
        -----
        One backward pass per chunk, of the sum over its rows of ``output[i, target[i]]``: each
        row's gradient is exact because rows do not interact in evaluation mode (batch norm uses
        its running statistics). With ``eval_mode=False`` and a module in training mode they may.
        """
        check_choice(relu, "relu", RELU_RULES)
        n = self._n_rows(X)
        x_all = self._tensor(X)
        if not x_all.is_floating_point():
            raise InvalidParameterError(
                f"X: gradients need floating-point inputs, got {describe(X)}; for token ids, explain a "
                "layer (e.g. the embedding) with layer_gradients"
            )
        handles = self._guided_hooks() if relu == "guided" else self._deconv_hooks() if relu == "deconv" else []
        grads = []
        try:
            with self._mode(), torch.enable_grad():
                for s in self._chunks(n, batch_size):
                    x = x_all[s].clone().requires_grad_(True)
                    out = self._forward(x)
                    self._differentiable(out)
                    t = self._targets(target, n, out.shape[1])[s]
                    (g,) = torch.autograd.grad(self._selected(out, t), x, allow_unused=True)
                    if g is None:
                        raise ModelOutputError(
                            f"X: the output of the model ({self.describe()}) does not depend on its input "
                            "through differentiable operations (the input is converted to integers, e.g. for "
                            "an nn.Embedding, or detached), so its input gradient is undefined; explain a "
                            "layer (e.g. the embedding) with a layer method (layer_gradients, GradCam, ...)"
                        )
                    grads.append(g.detach())
        finally:
            for h in handles:
                h.remove()
        return torch.cat(grads).cpu().numpy()

    def _guided_hooks(self) -> list[Any]:
        relus = self._relu_modules("guided backpropagation")

        def clip_gradient(grad: torch.Tensor) -> torch.Tensor:
            return grad.clamp(min=0)

        def hook(module: torch.nn.Module, inputs: Any, output: Any) -> None:
            # The ReLU's own backward multiplies by (input > 0); clipping the incoming gradient first
            # gives relu(grad_out) * (input > 0) = relu(grad_out * (input > 0)).
            if isinstance(output, torch.Tensor) and output.requires_grad:
                output.register_hook(clip_gradient)

        return [m.register_forward_hook(hook) for m in relus]

    def _relu_modules(self, rule: str) -> list[Any]:
        relus = [m for m in self.module.modules() if isinstance(m, torch.nn.ReLU)]
        if not relus:
            warnings.warn(
                f"relu: the model ({self.describe()}) has no torch.nn.ReLU modules, so {rule} "
                "equals the plain gradient (functional relu calls are not modified)",
                ApproximationWarning,
                stacklevel=4,
            )
        return relus

    def _deconv_hooks(self) -> list[Any]:
        """Hooks giving every ``torch.nn.ReLU`` module the deconvolution backward rule ``relu(grad_out)``.

        A forward pre-hook keeps the module's input (and gives an in-place ReLU a copy to work on);
        the forward hook replaces the module's output by :class:`_DeconvReLU` of that input: the same
        values, with the gradient passed back as ``relu(grad_out)``.
        """
        relus = self._relu_modules("deconvolution")
        kept: dict[int, list[torch.Tensor]] = {}

        def keep_input(module: torch.nn.Module, inputs: Any) -> Any:
            x = inputs[0]
            if not (isinstance(x, torch.Tensor) and x.requires_grad):
                return None
            kept.setdefault(id(module), []).append(x)
            return (x.clone(), *inputs[1:]) if getattr(module, "inplace", False) else None

        def replace_output(module: torch.nn.Module, inputs: Any, output: Any) -> Any:
            stack = kept.get(id(module))
            if not stack:
                return None
            return _DeconvReLU.apply(stack.pop())

        handles = [m.register_forward_pre_hook(keep_input) for m in relus]
        handles += [m.register_forward_hook(replace_output) for m in relus]
        return handles

    # ---------------------------------------------------------------- layers
    def layer_names(self) -> list[str]:
        """Names of the submodules, as accepted by ``layer=`` (``dict(module.named_modules())``)."""
        return [name for name, _ in self.module.named_modules() if name]

    def resolve_layer(self, layer: Any) -> tuple[str, Any]:
        """The ``(name, module)`` of ``layer``: a name from :meth:`layer_names` or a submodule.

        Examples
        --------
        >>> import torch
        >>> m = TorchModel(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU()))
        >>> m.resolve_layer("1")[0]
        '1'
        >>> m.resolve_layer("fc")
        Traceback (most recent call last):
        ...
        xaikit.errors.InvalidParameterError: layer: unknown layer 'fc' (str); available: '0', '1'
        """
        modules = dict(self.module.named_modules())
        if isinstance(layer, str) and layer in modules:
            return layer, modules[layer]
        if isinstance(layer, torch.nn.Module):
            for name, m in modules.items():
                if m is layer:
                    return name, m
            raise InvalidParameterError(
                f"layer: the module {type(layer).__name__} is not part of the model ({self.describe()})"
            )
        names = self.layer_names()
        shown = ", ".join(repr(nm) for nm in names[:_MAX_LISTED_LAYERS])
        if len(names) > _MAX_LISTED_LAYERS:
            shown += f", ... (and {len(names) - _MAX_LISTED_LAYERS} more)"
        raise InvalidParameterError(f"layer: unknown layer {describe(layer)}; available: {shown}")

    def layer_gradients(
        self, X: Any, layer: Any, target: Any, *, batch_size: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """A layer's output and the gradient of ``output[i, target[i]]`` with respect to it, per row.

        Parameters
        ----------
        X : array or tensor (n, ...)
        layer : str or torch.nn.Module
            A name from :meth:`layer_names` (e.g. ``"features.6"``) or the submodule itself. It must
            run once per forward pass; when it returns a tuple, its first tensor is used.
        target : int or array of n ints
        batch_size : int, optional

        Returns
        -------
        (activations, gradients) : ndarrays of the layer's output shape ``(n, ...)``.

        Examples
        --------
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Linear(2, 1, bias=False)).double()
        >>> _ = net[1].weight.data.fill_(3.0)
        >>> acts, grads = TorchModel(net).layer_gradients([[1.0, 2.0]], "0", 0)
        >>> acts.tolist(), grads.tolist()
        ([[1.0, 2.0]], [[3.0, 3.0]])
        """
        name, module = self.resolve_layer(layer)
        n = self._n_rows(X)
        x_all = self._tensor(X)
        acts, grads = [], []
        for s in self._chunks(n, batch_size):
            captured: list[torch.Tensor] = []
            handle = module.register_forward_hook(self._capture(captured))
            try:
                with self._mode(), torch.enable_grad():
                    out = self._forward(x_all[s])
                    self._differentiable(out)
                    if len(captured) != 1:
                        raise InvalidParameterError(
                            f"layer: {name!r} ran {len(captured)} times in one forward pass; "
                            "choose a layer that runs exactly once"
                        )
                    t = self._targets(target, n, out.shape[1])[s]
                    (g,) = torch.autograd.grad(self._selected(out, t), captured[0], allow_unused=True)
            finally:
                handle.remove()
            a = captured[0].detach()
            acts.append(a)
            grads.append(torch.zeros_like(a) if g is None else g.detach())
        return torch.cat(acts).cpu().numpy(), torch.cat(grads).cpu().numpy()

    @staticmethod
    def _capture(store: list[Any]) -> Callable[..., Any]:
        def hook(module: torch.nn.Module, inputs: Any, output: Any) -> Any:
            # Replace the layer's output by an identical leaf tensor: the gradient with respect to
            # it is the layer gradient, whether or not the layers before it need gradients.
            first = _first_tensor(output) if not isinstance(output, torch.Tensor) else output
            if not first.is_floating_point():
                raise InvalidParameterError(
                    f"layer: its output has dtype {first.dtype}; choose a layer with floating-point output"
                )
            leaf = first.detach().requires_grad_(True)
            store.append(leaf)
            passed_on = leaf.clone()  # later in-place operations (ReLU(inplace=True)) must not touch the leaf
            if isinstance(output, torch.Tensor):
                return passed_on
            if isinstance(output, tuple) and output and output[0] is first:
                return (passed_on, *output[1:])
            raise InvalidParameterError(
                f"layer: its output is {type(output).__name__}; choose a layer that returns a tensor "
                "or a tuple whose first item is one"
            )

        return hook
