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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from xaikit._validation import check_choice, describe, several_inputs
from xaikit.errors import ApproximationWarning, InvalidParameterError, ModelOutputError, UnsupportedModelError
from xaikit.models.base import BatchedModel, are_logits

__all__ = ["TorchModel"]

#: The ways :meth:`TorchModel.gradient` can propagate through ``torch.nn.ReLU`` modules.
RELU_RULES = ("standard", "guided", "deconv")

_MAX_LISTED_LAYERS = 12


def _first_tensor(out: Any, head: str | int | None = None) -> torch.Tensor:
    """The prediction tensor in what a module returned: a tensor, the first item of a tuple or
    list, or the ``logits`` of an output object or dict (as in Hugging Face models); with ``head``,
    the dict entry (or attribute) of that name, or the tuple item at that position. A dict of
    several tensors without ``logits`` needs ``head``."""
    if head is not None:
        return _first_tensor(_head(out, head))
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, dict):
        if "logits" in out:
            return _first_tensor(out["logits"])
        tensors = [k for k, v in out.items() if isinstance(v, torch.Tensor)]
        if len(tensors) == 1:
            return out[tensors[0]]
        if tensors:
            raise ModelOutputError(
                f"the module returned a dict of {len(tensors)} tensors ({', '.join(map(repr, tensors[:8]))}) and no 'logits'; "
                "choose the output to explain with head= (its key)"
            )
    logits = getattr(out, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    if isinstance(out, (tuple, list)) and out:
        return _first_tensor(out[0])
    raise ModelOutputError(
        f"the module returned {describe(out)}; expected a tensor, a tuple whose first item is one, "
        "or an object with a 'logits' tensor"
    )


def _head(out: Any, head: str | int) -> Any:
    """The output ``head`` names in what the module returned (a dict key or attribute, a tuple position)."""
    if isinstance(head, str):
        if isinstance(out, dict) and head in out:
            return out[head]
        if not isinstance(out, dict) and isinstance(getattr(out, head, None), torch.Tensor):
            return getattr(out, head)
        keys = list(out) if isinstance(out, dict) else [k for k in dir(out) if isinstance(getattr(out, k, None), torch.Tensor)]
        raise InvalidParameterError(f"head: expected one of the module's outputs {keys[:12]}, got {head!r}")
    if isinstance(out, (tuple, list)) and -len(out) <= head < len(out):
        return out[head]
    raise InvalidParameterError(
        f"head: position {head} needs a tuple or list output with more items, got {describe(out)}"
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


def _is_rowwise(item: Any) -> bool:
    """An array or tensor with a row axis (a per-row input); anything else is passed to the module as it is."""
    return isinstance(item, (np.ndarray, torch.Tensor)) and item.ndim >= 1 or (
        hasattr(item, "__array__") and getattr(item, "ndim", 0) >= 1
    )


class _Batch:
    """The arguments of one forward call: per-row tensors (sliced by rows) and constants passed as
    they are, positionally or by keyword."""

    def __init__(self, items: list[Any], names: list[str] | None, n: int) -> None:
        self.items, self.names, self.n = items, names, n

    def take(self, rows: slice | torch.Tensor) -> _Batch:
        items = [t[rows] if isinstance(t, torch.Tensor) else t for t in self.items]
        n = next(t.shape[0] for t in items if isinstance(t, torch.Tensor))
        return _Batch(items, self.names, n)

    def replaced(self, position: int, tensor: torch.Tensor) -> _Batch:
        items = list(self.items)
        items[position] = tensor
        return _Batch(items, self.names, self.n)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, rows: slice) -> _Batch:
        return self.take(rows)

    @property
    def first(self) -> torch.Tensor:
        return next(t for t in self.items if isinstance(t, torch.Tensor))

    def call(self, module: torch.nn.Module) -> Any:
        if self.names is None:
            return module(*self.items)
        return module(**dict(zip(self.names, self.items)))


#: Input values per forward pass on the CPU when no ``batch_size`` is given (see :meth:`TorchModel.cpu_batch_size`).
CPU_CHUNK_VALUES = 1 << 16


class TorchModel(BatchedModel):
    """A ``torch.nn.Module`` as an xaikit model, with gradients.

    Parameters
    ----------
    module : torch.nn.Module
        Called on a batch ``(n, ...)``; its output is flattened to ``(n, n_outputs)``. The module is
        never moved, copied or modified: inputs go to its device and parameter dtype.
    output : {"auto", "raw", "probability", "logits"}
        ``"auto"`` and ``"raw"`` explain the module's output as it is (e.g. logits); ``"logits"`` the
        score before the final ``nn.Softmax`` or ``nn.Sigmoid`` of an ``nn.Sequential`` (the module's
        output when it ends with a layer known not to give probabilities; refused when the last layer
        cannot be identified);
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
    head : str or int, optional
        The output explained when the module returns several: a key of its dict (or an attribute of
        its output object), or a position in its tuple. By default a tensor, the ``logits`` of a dict
        or output object, the only tensor of a dict, or the first item of a tuple.
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
        head: str | int | None = None,
    ) -> None:
        super().__init__()
        if head is not None and (isinstance(head, bool) or not isinstance(head, (str, int))):
            raise InvalidParameterError(f"head: expected a key of the module's dict output or a tuple position, got {describe(head)}")
        self.head = head
        if not isinstance(module, torch.nn.Module):
            raise InvalidParameterError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
        check_choice(output, "output", ("auto", "raw", "probability", "logits"))
        self.module = module
        self.output = "raw" if output == "auto" else output
        final = _final_activation(module)
        #: The final softmax or sigmoid skipped for ``output="logits"`` (None when the output is the score already).
        self._skipped: torch.nn.Module | None = None
        if output == "logits":
            if final is None:
                raise InvalidParameterError(
                    f"output: 'logits' explains the score before a final softmax or sigmoid, found as the last layer of an "
                    f"nn.Sequential (past dropout and identity layers); the last layer of {type(module).__name__} could "
                    "not be identified; give the module without its final activation and output='raw'"
                )
            self._skipped = _final_layer(module) if final in ("softmax", "sigmoid") else None
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
        #: Whether the module is TorchScript, which takes no hooks: no layers, no modified backward rules.
        self.scripted = isinstance(module, torch.jit.ScriptModule)
        if self.scripted:
            self.capabilities = frozenset({"gradient"})
        #: The numpy dtype inputs are computed in (the parameters' float64, else float32).
        self.input_dtype = np.dtype(np.float64) if self.dtype == torch.float64 else np.dtype(np.float32)

    # ---------------------------------------------------------------- helpers
    def describe(self) -> str:
        return f"torch {type(self.module).__name__}"

    def require_hooks(self, what: str) -> None:
        """Refuse a TorchScript module for ``what``, a method that reads layers or changes how they pass
        gradients back (through module hooks, which TorchScript does not take)."""
        if self.scripted:
            raise UnsupportedModelError(
                f"model: {what} reads the network's layers or changes how they pass gradients back, through module "
                f"hooks, which a TorchScript module ({self.describe()}) does not take; explain the Python module "
                "(before torch.jit.script or torch.jit.save), or use a method of input gradients (Saliency, "
                "IntegratedGradients, SmoothGrad, GradientShap) or of perturbations (Occlusion, FeatureAblation)"
            )

    @contextmanager
    def _mode(self) -> Iterator[None]:
        """Evaluation mode for the duration of a call; every submodule's flag restored after."""
        if not self.eval_mode:
            yield
            return
        flags = [(m, m.training) for m in self.module.modules()]
        if not any(flag for _, flag in flags):  # in evaluation mode already: nothing to set or restore
            yield
            return
        self.module.eval()
        try:
            yield
        finally:
            for m, flag in flags:
                m.training = flag

    def _tensor(self, X: Any, name: str = "X") -> torch.Tensor:
        """``X`` as a tensor on the model's device: floating point in the parameter dtype, integers
        (token ids) as int64, booleans as they are."""
        if isinstance(X, torch.Tensor):
            t = X.detach()
        else:
            try:
                arr = np.asarray(X)
            except (TypeError, ValueError) as exc:
                raise InvalidParameterError(f"{name}: expected a numeric array or tensor, got {describe(X)}") from exc
            if arr.dtype.kind not in "biuf":
                raise InvalidParameterError(f"{name}: expected a numeric array or tensor, got {describe(arr)}")
            t = torch.from_numpy(np.ascontiguousarray(arr))
        if t.ndim == 0:
            raise InvalidParameterError(f"{name}: expected a batch (n, ...) of inputs, got a scalar")
        if t.is_floating_point():
            return t.to(device=self.device, dtype=self.dtype)
        if t.dtype == torch.bool:
            return t.to(device=self.device)
        return t.to(device=self.device, dtype=torch.int64)

    def _batch(self, X: Any) -> _Batch:
        """The inputs of a call: one array or tensor, several (a tuple or list, in the order of
        ``forward``'s arguments), or a dict of keyword arguments. Arrays and tensors are per-row inputs
        (all with the same number of rows); other items (None, numbers, strings) are passed as they are."""
        if isinstance(X, _Batch):
            return X
        if not several_inputs(X):
            t = self._tensor(X)
            return _Batch([t], None, int(t.shape[0]))
        names = [str(k) for k in X] if isinstance(X, dict) else None
        values = list(X.values()) if isinstance(X, dict) else list(X)
        items: list[Any] = []
        n: int | None = None
        for k, item in enumerate(values):
            label = f"X[{names[k]!r}]" if names else f"X[{k}]"
            if not _is_rowwise(item):
                items.append(item)
                continue
            t = self._tensor(item, label)
            if n is None:
                n = int(t.shape[0])
            elif t.shape[0] != n:
                raise InvalidParameterError(
                    f"{label}: every input must have one row per explained row ({n}, the rows of the first input), "
                    f"got {t.shape[0]} rows (shape {tuple(t.shape)})"
                )
            items.append(t)
        if n is None:
            raise InvalidParameterError(f"X: expected at least one array or tensor of inputs (n, ...), got {describe(X)}")
        return _Batch(items, names, n)

    def _n_rows(self, X: Any) -> int:  # type: ignore[override]
        n = self._batch(X).n if several_inputs(X) else len(X)
        if n == 0:
            raise InvalidParameterError("X: expected at least 1 row, got 0")
        return n

    def predict(self, X: Any, *, batch_size: int | None = None) -> np.ndarray:  # type: ignore[override]
        """Predictions ``(n, n_outputs)`` float64 of one input or several (see :meth:`gradients`),
        ``batch_size`` rows at a time. By default all rows at once on an accelerator, and on the CPU
        in chunks of about ``CPU_CHUNK_VALUES`` input values (:meth:`cpu_batch_size`)."""
        if not several_inputs(X):
            return super().predict(X, batch_size=self.cpu_batch_size(np.shape(X) if hasattr(X, "shape") else None)
                                   if batch_size is None else batch_size)
        batch = self._batch(X)
        if batch_size is None:
            batch_size = self.cpu_batch_size(*[tuple(t.shape) for t in batch.items if isinstance(t, torch.Tensor)])
        parts = [self._predict_rows(batch.take(s), s.start) for s in self._chunks(batch.n, batch_size)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)

    def cpu_batch_size(self, *shapes: tuple[int, ...] | None) -> int | None:
        """Rows per forward pass when none is asked for: on the CPU, as many rows as hold about
        ``CPU_CHUNK_VALUES`` input values in all (at least 1), so that a pass's activations stay in the
        caches (measured here: a small CNN's pass over 26,000 digits took 7.3 us per image at once,
        3.1 us in chunks of 1,024); ``None`` (all rows at once) on an accelerator or for inputs
        without a shape.

        >>> import torch
        >>> TorchModel(torch.nn.Linear(64, 2)).cpu_batch_size((5000, 64))
        1024
        """
        if self.device.type != "cpu" or not shapes or any(s is None or len(s) == 0 for s in shapes):
            return None
        per_row = sum(int(np.prod(s[1:], dtype=np.int64)) for s in shapes if s is not None)
        return max(1, CPU_CHUNK_VALUES // max(per_row, 1))

    def _call(self, batch: _Batch) -> Any:
        """The module called on the batch; a torch error that says the inputs do not fit the module
        becomes an :class:`~xaikit.errors.InvalidParameterError` naming ``X``, the torch error chained."""
        try:
            return batch.call(self.module)
        except (RuntimeError, IndexError, TypeError) as exc:
            error = self._input_error(batch, exc)
            if error is None:
                raise
            raise error from exc

    def _input_error(self, batch: _Batch, exc: Exception) -> InvalidParameterError | None:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        x = batch.first
        several = len(batch.items) > 1
        given = (
            "inputs " + ", ".join(f"{tuple(t.shape)} {t.dtype}" if isinstance(t, torch.Tensor) else describe(t) for t in batch.items)
            if several else f"rows of shape {tuple(x.shape[1:])} (n, ...) and dtype {x.dtype}"
        )
        expected = None if several else _expected_input(self.module)
        wanted = f"; it expects {expected}" if expected else ""
        if isinstance(exc, TypeError):
            if "positional argument" in text or "keyword argument" in text:
                return InvalidParameterError(
                    f"X: the model's forward ({self.describe()}) does not take the {len(batch.items)} input(s) given "
                    f"({given}); give several inputs as a tuple in the order of forward's arguments or as a dict of "
                    f"keyword arguments, and fixed arguments as additional_forward_args [torch: {text}]"
                )
            return None
        if "'indices'" in text or ("indices" in text and "Long" in text):
            return InvalidParameterError(
                f"X: the model ({self.describe()}) takes integer inputs (token ids, e.g. for an nn.Embedding), "
                f"got floating-point {given}{wanted}; pass the token ids as integers: they reach the model "
                f"untouched and are explained on the embedding's output [torch: {text}]"
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

    def _forward(self, batch: _Batch | torch.Tensor) -> torch.Tensor:
        """The module's output for the batch as ``(n, n_outputs)``, transformed per ``output``."""
        if isinstance(batch, torch.Tensor):
            batch = _Batch([batch], None, int(batch.shape[0]))
        if self._skipped is not None:  # output="logits": the final softmax or sigmoid passes its input on
            handle = self._skipped.register_forward_hook(lambda m, inputs, output: inputs[0])
            try:
                out = _first_tensor(self._call(batch), self.head)
            finally:
                handle.remove()
        else:
            out = _first_tensor(self._call(batch), self.head)
        if out.ndim == 0 or out.shape[0] != batch.n:
            raise ModelOutputError(
                f"the model ({self.describe()}) returned a tensor of shape {tuple(out.shape)} for "
                f"{batch.n} input rows; expected ({batch.n}, ...)"
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
        batch = self._batch(X)
        with self._mode(), torch.no_grad():
            out = self._forward(batch)
        return out.detach().to("cpu", torch.float64).numpy()

    # ---------------------------------------------------------------- gradients
    def gradient(
        self, X: Any, target: Any, *, batch_size: int | None = None, relu: str = "standard"
    ) -> Any:
        """Gradient of ``output[i, target[i]]`` with respect to input row ``i``, for every row.

        Parameters
        ----------
        X : array or tensor (n, ...), or several inputs
            Floating-point inputs; several inputs as a tuple (the order of ``forward``'s arguments)
            or a dict (keyword arguments), see :meth:`gradients`.
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
        ndarray like ``X``, in the parameter dtype; for several inputs a tuple (a dict for a dict)
        with one gradient per input, None for an input that has none (integers, constants).

        Notes
        -----
        One backward pass per chunk, of the sum over its rows of ``output[i, target[i]]``: each
        row's gradient is exact because rows do not interact in evaluation mode (batch norm uses
        its running statistics). With ``eval_mode=False`` and a module in training mode they may.
        """
        if not several_inputs(X):
            t = self._tensor(X)
            if not t.is_floating_point():
                raise InvalidParameterError(
                    f"X: gradients need floating-point inputs, got {describe(X)}; for token ids, explain a "
                    "layer (e.g. the embedding) with layer_gradients"
                )
            X = t
        grads, _ = self.gradients(X, target, batch_size=batch_size, relu=relu)
        if not several_inputs(X):
            if grads[0] is None:
                raise ModelOutputError(
                    f"X: the output of the model ({self.describe()}) does not depend on its input "
                    "through differentiable operations (the input is converted to integers, e.g. for "
                    "an nn.Embedding, or detached), so its input gradient is undefined; explain a "
                    "layer (e.g. the embedding) with a layer method (layer_gradients, GradCam, ...)"
                )
            return grads[0]
        if isinstance(X, dict):
            return dict(zip(X, grads))
        return tuple(grads)

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
        X : array or tensor (n, ...), tuple or list of them, or dict
            One input, or several: a tuple or list in the order of ``forward``'s positional
            arguments, or a dict of keyword arguments. Arrays and tensors are per-row inputs (the
            same ``n`` rows each): floating point ones in the parameter dtype, integers (token ids)
            as int64 and booleans as they are, reaching the module untouched. Other items (None,
            numbers, strings) are passed to every call as they are.
        target : int or array of n ints
            Output index per row; ignored when ``neuron`` is given.
        layers : sequence of (layer, at, values)
            Layers whose gradient is wanted: ``at`` is ``"output"`` (what the layer returns; its
            first tensor for a tuple) or ``"input"`` (its first positional input); ``values`` None
            takes the layer's own values, an array ``(n, *shape)`` replaces them, row by row (the
            gradient is then taken at those values: layer Integrated Gradients).
        neuron : (layer, index), optional
            Differentiate one unit of a layer's output instead of a model output: ``index`` into the
            layer's output flattened per row, an int for every row or one per row.
        batch_size : int, optional
        relu : {"standard", "guided", "deconv"}
            See :meth:`gradient`.
        inputs : bool
            Whether input gradients are wanted (False for layer gradients alone).

        Returns
        -------
        (input_gradients, layer_results)
            One gradient per input (None for integer, boolean and constant inputs, for an input the
            output does not depend on through differentiable operations, and when ``inputs`` is
            False); for each layer ``(values, gradients)`` shaped ``(n, *layer_shape)``.
        """
        check_choice(relu, "relu", RELU_RULES)
        if relu != "standard" or layers or neuron is not None:
            self.require_hooks("guided backpropagation" if relu == "guided" else "deconvolution" if relu == "deconv"
                               else "a layer method")
        batch_all = self._batch(X)
        n = batch_all.n
        if n == 0:
            raise InvalidParameterError("X: expected at least 1 row, got 0")
        specs = [(*self.resolve_layer(layer), check_choice(at, "at", ("output", "input")), values)
                 for layer, at, values in layers]
        for name, _, at, values in specs:
            if values is not None and np.shape(values)[0] != n:
                raise InvalidParameterError(
                    f"values: expected one row of {at} values of layer {name!r} per input row ({n}), "
                    f"got an array of shape {np.shape(values)}"
                )
        neuron_spec = None
        if neuron is not None:
            neuron_spec = (*self.resolve_layer(neuron[0]), neuron[1])
        handles = self._guided_hooks() if relu == "guided" else self._deconv_hooks() if relu == "deconv" else []
        wanted = [inputs and isinstance(t, torch.Tensor) and t.is_floating_point() for t in batch_all.items]
        in_grads: list[list[torch.Tensor]] = [[] for _ in batch_all.items]
        layer_parts: list[tuple[list[torch.Tensor], list[torch.Tensor]]] = [([], []) for _ in specs]
        try:
            with self._mode(), torch.enable_grad():
                for s in self._chunks(n, batch_size):
                    batch = batch_all.take(s)
                    for k, want in enumerate(wanted):
                        if want:
                            batch = batch.replaced(k, batch.items[k].clone().requires_grad_(True))
                    captured: list[list[torch.Tensor]] = [[] for _ in specs]
                    hooks = [self._layer_hook(module, at, None if values is None else self._tensor(values[s], "values"), captured[j])
                             for j, (_, module, at, values) in enumerate(specs)]
                    neuron_out: list[torch.Tensor] = []
                    if neuron_spec is not None:
                        hooks.append(self._layer_hook(neuron_spec[1], "output", None, neuron_out, leaf=False))
                    try:
                        out = self._forward(batch)
                    finally:
                        for h in hooks:
                            h.remove()
                    for j, (name, _, _at, values) in enumerate(specs):
                        self._check_calls(name, len(captured[j]), values is not None)
                    if neuron_spec is not None:
                        self._check_calls(neuron_spec[0], len(neuron_out), False)
                        unit = neuron_out[-1].reshape(neuron_out[-1].shape[0], -1)
                        objective = self._selected(unit, self._targets(neuron_spec[2], n, unit.shape[1])[s])
                        if not objective.requires_grad:
                            self._differentiable(unit)
                    else:
                        self._differentiable(out)
                        objective = self._selected(out, self._targets(target, n, out.shape[1])[s])
                    sources = [t for k, t in enumerate(batch.items) if wanted[k]] + [c[-1] for c in captured]
                    found = torch.autograd.grad(objective, sources, allow_unused=True) if sources else ()
                    pos = 0
                    for k, want in enumerate(wanted):
                        if want:
                            g = found[pos]
                            pos += 1
                            in_grads[k].append(None if g is None else g.detach())  # type: ignore[arg-type]
                    for j in range(len(specs)):
                        g = found[pos + j]
                        a = captured[j][-1].detach()
                        layer_parts[j][0].append(a)
                        layer_parts[j][1].append(torch.zeros_like(a) if g is None else g.detach())
        finally:
            for h in handles:
                h.remove()
        input_results: list[np.ndarray | None] = []
        for k, parts in enumerate(in_grads):
            if not wanted[k] or any(g is None for g in parts):
                input_results.append(None)
            else:
                input_results.append(torch.cat(parts).cpu().numpy())
        layer_results = [(torch.cat(a).cpu().numpy(), torch.cat(g).cpu().numpy()) for a, g in layer_parts]
        return input_results, layer_results

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
        self, X: Any, layer: Any, target: Any, *, batch_size: int | None = None, values: Any = None,
        at: str = "output",
    ) -> tuple[np.ndarray, np.ndarray]:
        """A layer's output (or input) and the gradient of ``output[i, target[i]]`` with respect to it, per row.

        Parameters
        ----------
        X : array or tensor (n, ...), or several inputs (see :meth:`gradients`)
            Integer inputs (token ids) reach the module untouched.
        layer : str or torch.nn.Module
            A name from :meth:`layer_names` (e.g. ``"features.6"``) or the submodule itself. It must
            run once per forward pass; when it returns a tuple, its first tensor is used.
        target : int or array of n ints
        batch_size : int, optional
        values : array (n, ...), optional
            Values that replace the layer's output (input) row by row; the gradient is taken there.
        at : {"output", "input"}
            The layer's output, or its first positional input.

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
        _, results = self.gradients(X, target, layers=[(layer, at, values)], batch_size=batch_size, inputs=False)
        return results[0]

    def layer_activations(self, X: Any, layer: Any, *, batch_size: int | None = None, at: str = "output") -> np.ndarray:
        """A layer's output (or first input) for every row, without gradients.

        Examples
        --------
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Linear(1, 2, bias=False), torch.nn.ReLU()).double()
        >>> _ = net[0].weight.data.copy_(torch.tensor([[1.0], [-1.0]]))
        >>> TorchModel(net).layer_activations([[2.0]], "1").tolist()
        [[2.0, 0.0]]
        """
        self.require_hooks("a layer method")
        name, module = self.resolve_layer(layer)
        check_choice(at, "at", ("output", "input"))
        batch_all = self._batch(X)
        parts = []
        for s in self._chunks(batch_all.n, batch_size):
            captured: list[torch.Tensor] = []
            handle = self._layer_hook(module, at, None, captured, leaf=False)
            try:
                with self._mode(), torch.no_grad():
                    self._forward(batch_all.take(s))
            finally:
                handle.remove()
            self._check_calls(name, len(captured), False)
            parts.append(captured[-1].detach())
        return torch.cat(parts).cpu().numpy()

    def predict_replaced(self, X: Any, layers: Sequence[tuple[Any, str, Any]], *, batch_size: int | None = None) -> np.ndarray:
        """Predictions ``(n, n_outputs)`` with layers' outputs (inputs) replaced by ``values``, row by row
        (``layers`` as in :meth:`gradients`)."""
        self.require_hooks("a layer method")
        specs = [(self.resolve_layer(layer)[1], check_choice(at, "at", ("output", "input")), values) for layer, at, values in layers]
        batch_all = self._batch(X)
        parts = []
        for s in self._chunks(batch_all.n, batch_size):
            captured: list[list[torch.Tensor]] = [[] for _ in specs]
            hooks = [self._layer_hook(module, at, self._tensor(values[s], "values"), captured[j])
                     for j, (module, at, values) in enumerate(specs)]
            try:
                with self._mode(), torch.no_grad():
                    parts.append(self._forward(batch_all.take(s)).detach().to("cpu", torch.float64).numpy())
            finally:
                for h in hooks:
                    h.remove()
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)

    def embedding_of(self, X: Any, position: int) -> str | None:
        """The name of the ``nn.Embedding`` that receives input ``position`` of ``X`` as it is (token ids,
        also reshaped: a view of the same memory), found by running the first row; None when no
        embedding does.

        Examples
        --------
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Embedding(5, 2), torch.nn.Flatten(), torch.nn.Linear(4, 1))
        >>> TorchModel(net).embedding_of(np.array([[1, 2]]), 0)
        '0'
        """
        self.require_hooks("explaining token ids on the embedding that takes them")
        batch = self._batch(X).take(slice(0, 1))
        wanted = batch.items[position]
        found: list[str] = []

        def receives(given: Any) -> bool:  # the ids themselves, or the same ids reshaped (a view of them)
            return given is wanted or (isinstance(given, torch.Tensor) and isinstance(wanted, torch.Tensor)
                                       and given.numel() == wanted.numel() and given.data_ptr() == wanted.data_ptr())

        hooks = [m.register_forward_pre_hook(lambda m, inputs, name=name: found.append(name) if inputs and receives(inputs[0]) else None)
                 for name, m in self.module.named_modules() if isinstance(m, torch.nn.Embedding)]
        try:
            with self._mode(), torch.no_grad():
                self._forward(batch)
        finally:
            for h in hooks:
                h.remove()
        return found[0] if found else None

    @staticmethod
    def _check_calls(name: str, calls: int, replaced: bool) -> None:
        """A layer must run in the forward pass; run several times, its last call is the one explained
        (as Captum), except when its values are replaced (which call would they replace?)."""
        if calls == 0:
            raise InvalidParameterError(f"layer: {name!r} did not run in the forward pass; choose a layer the model uses")
        if calls > 1 and replaced:
            raise InvalidParameterError(
                f"layer: {name!r} ran {calls} times in one forward pass, and its values are replaced (a path through "
                "the layer, as in layer Integrated Gradients), which would replace every call by the same values; "
                "choose a layer that runs once"
            )

    def _layer_hook(
        self, module: torch.nn.Module, at: str, values: torch.Tensor | None, store: list[torch.Tensor], *, leaf: bool = True
    ) -> Any:
        """A hook on ``module`` that puts what it gives (``at="output"``) or receives (``"input"``) in
        ``store``: ``values`` when given (they replace it), else the layer's own values, as a leaf
        tensor whose gradient is the layer gradient (``leaf``), or as they are."""

        def swap(value: Any) -> Any:
            first = _first_tensor(value) if not isinstance(value, torch.Tensor) else value
            if not first.is_floating_point():
                raise InvalidParameterError(
                    f"layer: its {at} has dtype {first.dtype}; choose a layer with a floating-point {at}"
                )
            if values is not None:
                if tuple(values.shape) != tuple(first.shape):
                    raise InvalidParameterError(
                        f"values: expected the layer's {at} shape {tuple(first.shape)} per chunk, got {tuple(values.shape)}"
                    )
                new = values.to(dtype=first.dtype).requires_grad_(True)
            elif leaf:
                # an identical leaf tensor: the gradient with respect to it is the layer gradient,
                # whether or not the layers before it need gradients
                new = first.detach().requires_grad_(True)
            else:
                new = first
            store.append(new)
            passed_on = new.clone()  # later in-place operations (ReLU(inplace=True)) must not touch it
            if isinstance(value, torch.Tensor):
                return passed_on
            if isinstance(value, tuple) and value and value[0] is first:
                return (passed_on, *value[1:])
            raise InvalidParameterError(
                f"layer: its {at} is {type(value).__name__}; choose a layer whose {at} is a tensor "
                "or a tuple whose first item is one"
            )

        if at == "output":
            return module.register_forward_hook(lambda m, inputs, output: swap(output))

        def pre_hook(m: torch.nn.Module, inputs: Any) -> Any:
            if not inputs:
                raise InvalidParameterError("at: the layer takes no positional input; use at='output'")
            return (swap(inputs[0]), *inputs[1:])

        return module.register_forward_pre_hook(pre_hook)
