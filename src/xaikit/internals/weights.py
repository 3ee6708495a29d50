"""Weight statistics per layer of a torch module or Keras model, as it is."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.internals._common import adapt_network, network_of
from xaikit.internals.activations import check_int
from xaikit.results.weight_statistics import WeightStatistics

__all__ = ["weight_statistics"]


def _torch_kernels(net: Any) -> list[tuple[str, np.ndarray, bool]]:
    """(name, weight as float64 in torch layout, is a 2-D convolution) of each module with a ``weight``."""
    import torch

    out = []
    for name, module in net.named_modules():
        weight = getattr(module, "weight", None)
        if isinstance(weight, torch.nn.Parameter) and name:
            out.append((name, weight.detach().cpu().double().numpy(), isinstance(module, torch.nn.Conv2d)))
    return out


def _keras_kernels(net: Any) -> list[tuple[str, np.ndarray, bool]]:
    """The same for Keras (a convolution's kernel (kh, kw, in, out) turned to (out, in, kh, kw))."""
    out = []
    for layer in net.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        arr = np.asarray(kernel.numpy(), dtype=np.float64)
        conv = type(layer).__name__ == "Conv2D" and arr.ndim == 4
        out.append((layer.name, arr.transpose(3, 2, 0, 1) if conv else arr, conv))
    return out


def weight_statistics(model: Any, *, bins: int = 30, tol: float = 1e-3) -> WeightStatistics:
    """Per-layer statistics of the weights (kernels; biases apart) of a torch module or Keras model.

    Parameters
    ----------
    model : torch.nn.Module or keras.Model (raw or adapted)
    bins : int
        Histogram bins per layer.
    tol : float
        A weight with ``|w| < tol * max |w|`` of its layer counts as near zero.

    Returns
    -------
    WeightStatistics
        With the first 2-D convolution's kernels as ``filters`` (out, in, kh, kw).

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False))
    >>> _ = net[0].weight.data.copy_(torch.tensor([[3.0, 0.0], [0.0, 4.0]]))
    >>> ws = weight_statistics(net, bins=2)
    >>> ws.layer_names, ws.norm.tolist(), ws.near_zero.tolist(), ws.hist_counts.tolist()
    (['0'], [5.0], [0.5], [[2, 2]])
    """
    adapted, framework = adapt_network(model)
    net = network_of(adapted, framework)
    n_bins = int(check_int(bins, "bins") or 1)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < 1:
        raise InvalidParameterError(f"tol: expected a number in [0, 1), got {describe(tol)}")
    kernels = _torch_kernels(net) if framework == "torch" else _keras_kernels(net)
    if not kernels:
        raise InvalidParameterError(f"model: expected a network with weights, got {type(net).__name__} without any")
    counts, edges = [], []
    for _, w, _ in kernels:
        lo, hi = float(w.min()), float(w.max())
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        c, e = np.histogram(w, bins=n_bins, range=(lo, hi))
        counts.append(c.astype(np.int64))
        edges.append(e)
    first_conv = next((w for _, w, conv in kernels if conv), None)
    return WeightStatistics(
        norm=[float(np.sqrt(np.sum(w**2))) for _, w, _ in kernels],
        mean=[float(w.mean()) for _, w, _ in kernels],
        std=[float(w.std()) for _, w, _ in kernels],
        near_zero=[float((np.abs(w) < tol * np.abs(w).max()).mean()) if np.abs(w).max() > 0 else 1.0 for _, w, _ in kernels],
        size=np.array([w.size for _, w, _ in kernels], dtype=np.int64),
        hist_counts=np.stack(counts),
        hist_edges=np.stack(edges),
        filters=first_conv,
        layer_names=[name for name, _, _ in kernels],
        method="weight_statistics",
        params={"bins": n_bins, "tol": float(tol)},
        provenance={"framework": framework},
    )
