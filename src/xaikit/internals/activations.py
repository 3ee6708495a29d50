"""Layer activations over a data set: per-channel statistics computed batch by batch, or the full maps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.internals._common import adapt_network, keras_activation_kind, torch_activation_kind
from xaikit.results.layer_activations import LayerActivations

__all__ = ["layer_activations"]

#: Rows per forward pass when ``batch_size`` is None.
DEFAULT_BATCH = 256
#: A sigmoid or tanh value within this share of its range from a bound counts as saturated.
SATURATION_MARGIN = 0.01
_BOUNDS = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def check_rows(X: Any, name: str = "X") -> np.ndarray:
    """``X`` as a numeric array with at least one row."""
    if hasattr(X, "to_numpy"):
        X = X.to_numpy()
    try:
        arr = np.asarray(X)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name}: expected a numeric array (n, ...), got {describe(X)}") from None
    if arr.dtype.kind not in "biuf" or arr.ndim < 2 or arr.shape[0] == 0:
        raise InvalidParameterError(f"{name}: expected a numeric array (n, ...) with at least one row, got {describe(arr)}")
    return arr


def check_int(value: Any, name: str, low: int = 1, *, none: bool = False) -> int | None:
    """An int >= ``low`` (or None when ``none``)."""
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < low:
        allowed = " or None" if none else ""
        raise InvalidParameterError(f"{name}: expected an int >= {low}{allowed}, got {describe(value)}")
    return int(value)


def _layer_list(layers: Any) -> list[Any]:
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or len(layers) == 0:
        raise InvalidParameterError(f"layers: expected a non-empty list of layer names, got {describe(layers)}")
    return list(layers)


def _torch_outputs(adapted: Any, batch: np.ndarray, resolved: list[tuple[str, Any]]) -> list[np.ndarray] | None:
    """Every chosen layer's output in one forward pass (forward hooks; a layer run several times gives
    its last call, as the adapter's ``layer_activations``), or None when a layer did not run (the
    adapter then names it)."""
    import torch

    captured: list[list[np.ndarray]] = [[] for _ in resolved]

    def hook(i: int) -> Any:
        def record(module: Any, args: Any, out: Any) -> None:
            if isinstance(out, torch.Tensor):
                captured[i].append(out.detach().cpu().numpy())

        return record

    handles = [module.register_forward_hook(hook(i)) for i, (_, module) in enumerate(resolved)]
    try:
        adapted.predict(batch)
    finally:
        for handle in handles:
            handle.remove()
    if any(not c for c in captured):
        return None
    return [c[-1] for c in captured]


def _as_channels(a: np.ndarray, framework: str) -> np.ndarray:
    """Activations (b, ...) as float64 (b, C, positions): torch's axis 1, Keras's last axis."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if framework == "keras" and a.ndim > 2:
        a = np.moveaxis(a, -1, 1)
    return a.reshape(a.shape[0], a.shape[1], -1)


class _Stream:
    """Running statistics of one layer's channels."""

    def __init__(self, n_channels: int, top_k: int, kind: str | None) -> None:
        self.count = 0
        self.total = np.zeros(n_channels)
        self.squares = np.zeros(n_channels)
        self.shift: np.ndarray | None = None  # the first batch's means: sums of squares about it stay accurate
        self.max = np.full(n_channels, -np.inf)
        self.min = np.full(n_channels, np.inf)
        self.zeros = np.zeros(n_channels)
        self.saturated = np.zeros(n_channels)
        self.kind = kind
        self.top_k = top_k
        self.top_rows = np.zeros((n_channels, 0), dtype=np.int64)
        self.top_values = np.zeros((n_channels, 0))

    def add(self, a: np.ndarray, first_row: int) -> None:
        b, _, p = a.shape
        if self.shift is None:
            self.shift = a.mean(axis=(0, 2))
        centred = a - self.shift[None, :, None]
        self.count += b * p
        self.total += centred.sum(axis=(0, 2))
        self.squares += (centred**2).sum(axis=(0, 2))
        self.max = np.maximum(self.max, a.max(axis=(0, 2)))
        self.min = np.minimum(self.min, a.min(axis=(0, 2)))
        self.zeros += (a == 0).sum(axis=(0, 2))
        if self.kind in _BOUNDS:
            lo, hi = _BOUNDS[self.kind]
            margin = SATURATION_MARGIN * (hi - lo)
            self.saturated += ((a <= lo + margin) | (a >= hi - margin)).sum(axis=(0, 2))
        row_means = a.mean(axis=2).T  # (C, b)
        rows = np.broadcast_to(np.arange(first_row, first_row + b, dtype=np.int64), row_means.shape)
        values = np.concatenate([self.top_values, row_means], axis=1)
        index = np.concatenate([self.top_rows, rows], axis=1)
        order = np.lexsort((index, -values), axis=1)[:, : self.top_k]  # largest first, earlier row on ties
        self.top_values = np.take_along_axis(values, order, axis=1)
        self.top_rows = np.take_along_axis(index, order, axis=1)

    def finish(self) -> dict[str, np.ndarray]:
        shift = self.shift if self.shift is not None else np.zeros_like(self.total)
        mean_c = self.total / self.count
        var = np.maximum(self.squares / self.count - mean_c**2, 0.0)
        saturated = self.saturated / self.count if self.kind in _BOUNDS else np.full_like(self.total, np.nan)
        return {
            "mean": shift + mean_c,
            "std": np.sqrt(var),
            "max": self.max,
            "min": self.min,
            "zero_share": self.zeros / self.count,
            "saturated_share": saturated,
            "top_rows": self.top_rows,
            "top_values": self.top_values,
        }


def layer_activations(
    model: Any,
    X: Any,
    layers: Sequence[Any],
    *,
    summary: bool = True,
    batch_size: int | None = None,
    top_k: int = 9,
) -> LayerActivations:
    """Activations of chosen layers of a torch module or Keras model over a data set.

    Parameters
    ----------
    model : torch.nn.Module or keras.Model, raw or adapted (:func:`xaikit.models.adapt`)
    X : array-like of shape (n, ...)
        The inputs, as the model takes them (channels first for torch, last for Keras images).
    layers : list of str or layer objects
        Layer names (``dict(module.named_modules())`` keys for torch, layer names or paths for Keras).
    summary : bool
        True: only per-channel statistics and the top-activating rows, computed batch by batch
        (memory bounded by one batch, whatever the number of rows). False: the full maps too
        (``acts["conv1"]`` is ``(n, C, H, W)`` for torch, ``(n, H, W, C)`` for Keras).
    batch_size : int, optional
        Rows per forward pass (default 256).
    top_k : int
        Top-activating rows kept per channel.

    Returns
    -------
    LayerActivations
        Statistics per channel: the channel axis is axis 1 for torch (channels first) and the last
        axis for Keras (channels last); the values of a channel over rows and positions are pooled.

    Examples
    --------
    >>> import torch, numpy as np
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())
    >>> _ = net[0].weight.data.copy_(torch.tensor([[1.0, 0.0], [0.0, -1.0]])); _ = net[0].bias.data.zero_()
    >>> acts = layer_activations(net, np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32), layers=["1"], top_k=2)
    >>> acts.summary("1")["mean"].tolist(), acts.dead_channels("1").tolist(), acts.top_examples("1", 0).tolist()
    ([2.0, 0.0], [1], [1, 0])
    """
    adapted, framework = adapt_network(model)
    arr = check_rows(X)
    chosen = _layer_list(layers)
    if not isinstance(summary, (bool, np.bool_)):
        raise InvalidParameterError(f"summary: expected a bool, got {describe(summary)}")
    step = check_int(batch_size, "batch_size", none=True) or DEFAULT_BATCH
    k = check_int(top_k, "top_k")
    assert_k = min(int(k or 1), arr.shape[0])
    resolved = [adapted.resolve_layer(layer) for layer in chosen]
    names = [name for name, _ in resolved]
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"layers: expected each layer once, got {names}")
    kinds = [torch_activation_kind(obj) if framework == "torch" else keras_activation_kind(obj) for _, obj in resolved]
    streams: list[_Stream] = []
    shapes: list[tuple[int, ...]] = []
    maps: list[list[np.ndarray]] = [[] for _ in names]
    n = arr.shape[0]
    for start in range(0, n, step):
        batch = arr[start : start + step]
        outputs = _torch_outputs(adapted, batch, resolved) if framework == "torch" else None
        for i, name in enumerate(names):
            raw = outputs[i] if outputs is not None else np.asarray(adapted.layer_activations(batch, name))
            a = _as_channels(raw, framework)
            if not streams or len(streams) <= i:
                shapes.append(tuple(raw.shape[1:]))
                streams.append(_Stream(a.shape[1], assert_k, kinds[i]))
            streams[i].add(a, start)
            if not summary:
                maps[i].append(raw.reshape(raw.shape[0], -1).astype(np.float64))
    parts = [s.finish() for s in streams]
    fields: dict[str, Any] = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    table = [
        {
            "name": name,
            "shape": list(shape),
            "channel_axis": (len(shape) if framework == "keras" else 1) if len(shape) > 1 else 1,
            "n_channels": int(p["mean"].shape[0]),
            "activation": kind,
        }
        for name, shape, p, kind in zip(names, shapes, parts, kinds)
    ]
    channel_names = [f"{name}:{c}" for name, p in zip(names, parts) for c in range(p["mean"].shape[0])]
    full = None if summary else np.concatenate([np.concatenate(m) for m in maps], axis=1)
    return LayerActivations(
        **fields,
        maps=full,
        layers=table,
        channel_names=channel_names,
        method="layer_activations",
        params={"layers": names, "summary": bool(summary), "batch_size": step, "top_k": k},
        provenance={"framework": framework, "n_rows": int(n), "channels": "first" if framework == "torch" else "last"},
    )
