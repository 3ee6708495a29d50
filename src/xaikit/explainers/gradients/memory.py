"""Batch sizes chosen from a memory budget.

A gradient-family method evaluates its model ``batch_size`` rows at a time: the rows made by
IG's path steps, SmoothGrad's noise samples or Occlusion's windows. How much memory one row
costs depends on the network, not on the method: a small multilayer perceptron costs a few
kilobytes per row, an ImageNet network at 224x224 tens of megabytes for a forward pass and
several times that with a backward pass. :func:`auto_batch_size` measures the cost of one row
and chooses the largest batch that fits a budget, never more than :data:`MAX_BATCH_SIZE`.

What a row costs (:func:`row_bytes`)
------------------------------------
- torch: the module runs once on the first row with a forward hook on every submodule, and
  the bytes of the distinct tensors the submodules output are summed (their storage, each
  counted once: in-place operations and views add nothing).
- Keras: the bytes of the output of every layer of the graph (one row; layers of nested
  models included), from their declared shapes and dtypes; a subclassed model, whose layer
  outputs are known only while it runs, has no estimate.
- A backward pass keeps these activations for the gradient and makes as many gradients again:
  ``backward=True`` counts the sum :data:`BACKWARD_FACTOR` times. A forward pass alone holds
  one layer's input and output at a time, plus what skip connections keep: it is counted as
  :data:`FORWARD_FACTOR` times the sum, a bound that holds without reading the graph.
- The method's own float64 copies of the row (points on a path, gradients, the model's input)
  add :data:`COPIES` times the row's float64 size.

Models of other kinds (functions, scikit-learn) have no estimate: they keep
:data:`MAX_BATCH_SIZE`.

The budget (:func:`memory_budget`)
----------------------------------
``budget`` in bytes (or a string such as ``"2GB"``) when given; else the environment variable
``XAIKIT_MEMORY_BUDGET`` (bytes, or a number with a unit: ``"512MB"``, ``"2GiB"``); else the
least of :data:`BUDGET_FRACTION` of the memory available now, :data:`RESIDENT_FACTOR` of the
memory the process holds now (the model, its framework and the data: so a method's peak stays
within ``1 + RESIDENT_FACTOR`` times what the model's own inference needs), and
:data:`BUDGET_CAP`: beyond a few rows a batch makes a network no faster per row on a CPU, so a
larger one spends memory for nothing.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError

__all__ = [
    "BACKWARD_FACTOR",
    "BUDGET_CAP",
    "BUDGET_ENV",
    "BUDGET_FRACTION",
    "COPIES",
    "FORWARD_FACTOR",
    "MAX_BATCH_SIZE",
    "RESIDENT_FACTOR",
    "auto_batch_size",
    "available_memory",
    "memory_budget",
    "parse_bytes",
    "resident_memory",
    "row_bytes",
]

#: The largest batch chosen (the default ``batch_size`` of the gradient methods before budgets).
MAX_BATCH_SIZE = 64
#: The environment variable that sets the budget (bytes, or a number with a unit).
BUDGET_ENV = "XAIKIT_MEMORY_BUDGET"
#: The share of the available memory a batch may take by default.
BUDGET_FRACTION = 0.25
#: The largest default budget (bytes).
BUDGET_CAP = 512 * 2**20
#: The share of the memory the process holds (its resident set) a batch may take by default.
RESIDENT_FACTOR = 0.5
#: What a backward pass holds, in sums of the layer outputs of one row.
BACKWARD_FACTOR = 2.0
#: What a forward pass alone holds, in sums of the layer outputs of one row.
FORWARD_FACTOR = 0.5
#: float64 copies of the input row the method holds per row of a batch.
COPIES = 4

_UNITS = {
    "": 1, "b": 1,
    "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9, "t": 10**12, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}
_BYTES = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*$")


def parse_bytes(value: Any, name: str = BUDGET_ENV) -> int:
    """A number of bytes from an int or a string with an optional unit (B, KB, MB, GB, TB; KiB, MiB, GiB, TiB).

    Examples
    --------
    >>> parse_bytes("2GB"), parse_bytes("1.5 MiB"), parse_bytes(4096), parse_bytes("1e6")
    (2000000000, 1572864, 4096, 1000000)
    >>> parse_bytes("lots")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: XAIKIT_MEMORY_BUDGET: expected a positive number of bytes, ... got 'lots' (str)
    """
    expected = 'a positive number of bytes, optionally with a unit (e.g. 2000000000, "512MB", "2GiB")'
    if isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name}: expected {expected}, got {describe(value)}")
    if isinstance(value, (int, np.integer, float, np.floating)):
        number, unit = float(value), ""
    elif isinstance(value, str):
        match = _BYTES.match(value)
        if match is None or match.group(2).lower() not in _UNITS:
            raise InvalidParameterError(f"{name}: expected {expected}, got {describe(value)}")
        number, unit = float(match.group(1)), match.group(2).lower()
    else:
        raise InvalidParameterError(f"{name}: expected {expected}, got {describe(value)}")
    total = number * _UNITS[unit]
    if not math.isfinite(total) or total < 1:
        raise InvalidParameterError(f"{name}: expected {expected}, got {describe(value)}")
    return int(total)


def available_memory() -> int | None:
    """Bytes of memory available now: psutil's ``available`` when installed, else Linux's
    ``MemAvailable``, else the free pages ``os.sysconf`` reports; None where none is known.

    Examples
    --------
    >>> available = available_memory()
    >>> available is None or available > 0
    True
    """
    try:
        import psutil  # type: ignore[import-untyped]

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def resident_memory() -> int | None:
    """Bytes of memory this process holds now (its resident set), from ``/proc/self/statm`` or
    psutil; None where neither is there.

    Examples
    --------
    >>> held = resident_memory()
    >>> held is None or held > 0
    True
    """
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except (ImportError, OSError):
        return None


def memory_budget(budget: Any = None) -> int:
    """The bytes a batch may take: ``budget`` when given, else ``XAIKIT_MEMORY_BUDGET``, else the
    least of :data:`BUDGET_FRACTION` of :func:`available_memory`, :data:`RESIDENT_FACTOR` of
    :func:`resident_memory` and :data:`BUDGET_CAP`.

    Examples
    --------
    >>> memory_budget("1MiB")
    1048576
    >>> 0 < memory_budget() <= BUDGET_CAP or bool(os.environ.get(BUDGET_ENV))
    True
    """
    if budget is not None:
        return parse_bytes(budget, "budget")
    env = os.environ.get(BUDGET_ENV)
    if env is not None and env.strip():
        return parse_bytes(env, BUDGET_ENV)
    limits = [BUDGET_CAP]
    available, held = available_memory(), resident_memory()
    if available is not None:
        limits.append(int(available * BUDGET_FRACTION))
    if held is not None:
        limits.append(int(held * RESIDENT_FACTOR))
    return max(1, min(limits))


def row_bytes(model: Any, X: Any, *, backward: bool = True) -> int | None:
    """Estimated bytes one row of ``X`` costs ``model`` in a forward pass (with a backward pass when
    ``backward``); None for a model of a kind that has no estimate. See the module's description.

    ``model`` is an adapted model (:class:`~xaikit.models.torch.TorchModel`,
    :class:`~xaikit.models.keras.KerasModel`, or one of them seen through several inputs); ``X``
    the rows as the model takes them (only the first is used).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from xaikit.models.torch import TorchModel
    >>> net = torch.nn.Sequential(torch.nn.Linear(10, 100), torch.nn.ReLU(), torch.nn.Linear(100, 2))
    >>> model = TorchModel(net)
    >>> row_bytes(model, np.zeros((3, 10)), backward=False) < row_bytes(model, np.zeros((3, 10)))
    True
    """
    inner = getattr(model, "model", None) if hasattr(model, "layout") else None  # several inputs seen packed
    adapted = inner if inner is not None else model
    kind = type(adapted).__name__
    if kind == "TorchModel" and hasattr(adapted, "module"):
        outputs = _torch_output_bytes(model, adapted, X)
    elif kind == "KerasModel":
        outputs = _keras_output_bytes(adapted.model)
    else:
        return None
    if outputs is None:
        return None
    factor = BACKWARD_FACTOR if backward else FORWARD_FACTOR
    first = np.asarray(X[:1]) if isinstance(X, np.ndarray) else None
    own = COPIES * 8 * (int(first.size) if first is not None else 0)
    return int(factor * outputs) + own


def auto_batch_size(model: Any, X: Any, *, budget: Any = None, backward: bool = True) -> int:
    """The batch size that fits the memory budget: ``budget // row_bytes(model, X)``, clamped to
    ``[1, MAX_BATCH_SIZE]``; :data:`MAX_BATCH_SIZE` for models without an estimate.

    Parameters
    ----------
    model : adapted model
        A :class:`~xaikit.models.torch.TorchModel` or :class:`~xaikit.models.keras.KerasModel` (or
        such a model seen through several inputs); other models keep :data:`MAX_BATCH_SIZE`.
    X : array (n, ...)
        The rows, as the model takes them; the first is run once (torch) to measure.
    budget : int or str, optional
        Bytes a batch may take (``"2GB"`` is read too); by default :func:`memory_budget`.
    backward : bool
        Whether the method computes gradients (a backward pass) or predictions only.

    Returns
    -------
    int
        Between 1 and :data:`MAX_BATCH_SIZE`.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from xaikit.models.torch import TorchModel
    >>> model = TorchModel(torch.nn.Sequential(torch.nn.Linear(10, 100), torch.nn.ReLU(), torch.nn.Linear(100, 2)))
    >>> auto_batch_size(model, np.zeros((3, 10)))
    64
    >>> auto_batch_size(model, np.zeros((3, 10)), budget=4000)
    2
    """
    limit = memory_budget(budget)
    per_row = row_bytes(model, X, backward=backward)
    if per_row is None:
        return MAX_BATCH_SIZE
    return int(min(MAX_BATCH_SIZE, max(1, limit // max(1, per_row))))


# --------------------------------------------------------------------------------------
# frameworks
# --------------------------------------------------------------------------------------


def _torch_output_bytes(caller: Any, adapted: Any, X: Any) -> int | None:
    """Sum of the bytes of the distinct tensors every submodule of the torch module outputs for the first row.

    Nothing is held: a storage is known by its address while a tensor seen on it lives (in-place
    operations and views share it, and count once); an address whose tensors are all gone was
    freed, and a new tensor there counts again.
    """
    import weakref

    import torch

    seen: dict[int, Any] = {}
    total = [0]

    def visit(value: Any) -> None:
        if isinstance(value, torch.Tensor):
            storage = value.untyped_storage()
            address = int(storage.data_ptr())
            earlier = seen.get(address)
            if earlier is None or earlier() is None:
                total[0] += int(storage.nbytes())
            seen[address] = weakref.ref(value)
        elif isinstance(value, (tuple, list)):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)
        elif hasattr(value, "to_tuple"):  # model outputs of transformers
            visit(value.to_tuple())

    def hook(module: Any, inputs: Any, output: Any) -> None:
        visit(output)

    if isinstance(adapted.module, torch.jit.ScriptModule):  # TorchScript takes no hooks: no estimate
        return None
    handles = [m.register_forward_hook(hook) for m in adapted.module.modules()]
    try:
        first = X[:1]
        with torch.no_grad():
            caller.predict(first)
    finally:
        for handle in handles:
            handle.remove()
    return total[0] if total[0] > 0 else None


def _keras_output_bytes(model: Any) -> int | None:
    """Sum of the bytes of the outputs of every layer of a Keras graph for one row (nested models
    opened); None for a model whose layer outputs are not declared (subclassed)."""
    total = 0
    seen = False
    for layer in _keras_leaves(model):
        for node in getattr(layer, "_inbound_nodes", []) or []:
            for tensor in _flatten(getattr(node, "outputs", None)):
                shape = getattr(tensor, "shape", None)
                if shape is None or len(shape) == 0:
                    continue
                size = 1
                for extent in tuple(shape)[1:]:
                    size *= 1 if extent is None else int(extent)
                total += size * _itemsize(getattr(tensor, "dtype", "float32"))
                seen = True
    return total if seen else None


def _keras_leaves(layer: Any) -> list[Any]:
    """The layers of ``layer`` that hold no other layers, nested models opened (the layer itself when it has none)."""
    inner = getattr(layer, "layers", None)
    if inner:
        return [leaf for child in inner for leaf in _keras_leaves(child)]
    return [layer]


def _flatten(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _flatten(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _flatten(item)]
    return [value]


def _itemsize(dtype: Any) -> int:
    try:
        return int(np.dtype(str(dtype)).itemsize)
    except TypeError:
        return 4
