"""LayerActivations: per-channel summaries of chosen layers' activations over a data set (and optionally the maps)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.results.base import Axis, Field, JsonField, Result

__all__ = ["LayerActivations"]

CHANNELS = Axis("channels", names="channel_names", prefix="c")


def _check_layers(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int]) -> tuple[Any, ...]:
    """The layer table: a list of dicts with name, shape (per row), channel_axis, n_channels, activation."""
    if not isinstance(value, (list, tuple)) or not value:
        raise InvalidParameterError(f"layers: expected a non-empty list of layer descriptions, got {describe(value)}")
    out = []
    total = 0
    for i, item in enumerate(value):
        if not isinstance(item, Mapping) or not {"name", "shape", "channel_axis", "n_channels"} <= set(item):
            raise InvalidParameterError(
                f"layers[{i}]: expected a dict with name, shape, channel_axis and n_channels, got {describe(item)}"
            )
        shape = tuple(int(s) for s in item["shape"])
        entry: dict[str, Any] = {
            "name": str(item["name"]),
            "shape": list(shape),
            "channel_axis": int(item["channel_axis"]),
            "n_channels": int(item["n_channels"]),
            "activation": None if item.get("activation") is None else str(item["activation"]),
        }
        total += int(item["n_channels"])
        out.append(entry)
    if "c" in lengths and total != lengths["c"]:
        raise InvalidParameterError(f"layers: expected {lengths['c']} channels in all, got {total}")
    return tuple(out)


class LayerActivations(Result):
    """Per-channel statistics of layers' activations over a data set, from :func:`xaikit.layer_activations`.

    The channels of all layers follow each other on one axis (``"conv1:0"``, ``"conv1:1"``, ...,
    ``"conv2:0"``...). A layer's channel is its axis 1 for torch (channels first) and its last axis
    for Keras (channels last); a dense layer's channels are its units. Statistics pool every value
    of the channel over the rows and the spatial positions.

    Parameters
    ----------
    mean, std, max, min : array-like of shape (n_channels,)
    zero_share : array-like of shape (n_channels,)
        Share of the channel's values that are exactly 0 (ReLU units off).
    saturated_share : array-like of shape (n_channels,)
        Share of values within 1% of the range's bounds for a sigmoid (0, 1) or tanh (-1, 1) layer;
        NaN for other layers.
    top_rows : int array-like of shape (n_channels, k)
        The rows of the data set with the largest mean activation of the channel (over its spatial
        positions), largest first; ties go to the earlier row.
    top_values : array-like of shape (n_channels, k)
        Those mean activations.
    maps : array-like of shape (n_rows, total), optional
        The full activations of every layer, each flattened per row and concatenated in layer order
        (``summary=False``); ``acts["conv1"]`` gives them back in the layer's shape.
    layers : list of dict
        name, shape (per row), channel_axis, n_channels and activation of each layer, in order.
    channel_names : list of str

    Examples
    --------
    >>> import numpy as np
    >>> acts = LayerActivations(mean=[1.0, 0.0], std=[0.5, 0.0], max=[2.0, 0.0], min=[0.0, 0.0],
    ...     zero_share=[0.25, 1.0], saturated_share=[np.nan, np.nan], top_rows=[[1], [0]], top_values=[[2.0], [0.0]],
    ...     layers=[{"name": "fc", "shape": [2], "channel_axis": 1, "n_channels": 2}],
    ...     channel_names=["fc:0", "fc:1"], method="layer_activations")
    >>> acts.layer_names, acts.dead_channels("fc").tolist()
    (['fc'], [1])
    >>> acts.summary("fc")["mean"].tolist()
    [1.0, 0.0]
    """

    kind = "layer_activations"
    plot_kind = "activation_stats"
    fields = (
        Field("mean", "c", doc="Mean of each channel over rows and positions."),
        Field("std", "c", doc="Standard deviation of each channel."),
        Field("max", "c", doc="Largest value of each channel."),
        Field("min", "c", doc="Smallest value of each channel."),
        Field("zero_share", "c", doc="Share of each channel's values equal to 0."),
        Field("saturated_share", "c", doc="Share of values near the bounds of a sigmoid or tanh layer (NaN otherwise)."),
        Field("top_rows", "c.", dtype="int", column=None, doc="Top-activating rows per channel, (n_channels, k)."),
        Field("top_values", "c.", column=None, doc="Their mean activations, (n_channels, k)."),
        Field("maps", "..", optional=True, column=None, doc="Full activations (n_rows, total) or None."),
        JsonField("layers", check=_check_layers, optional=False, doc="The layer table."),
    )
    axes = {"c": CHANNELS}

    mean: np.ndarray
    std: np.ndarray
    max: np.ndarray
    min: np.ndarray
    zero_share: np.ndarray
    saturated_share: np.ndarray
    top_rows: np.ndarray
    top_values: np.ndarray
    maps: np.ndarray | None
    layers: list[dict[str, Any]]
    channel_names: list[str]

    @property
    def layer_names(self) -> list[str]:
        """The layers, in order."""
        return [entry["name"] for entry in self._store["layers"]]

    def _layer(self, layer: Any) -> tuple[dict[str, Any], np.ndarray, int]:
        """(entry, positions of its channels on the channel axis, offset of its maps)."""
        names = self.layer_names
        if not isinstance(layer, str) or layer not in names:
            raise InvalidParameterError(f"layer: expected one of {names}, got {describe(layer)}")
        entries = self._store["layers"]
        i = names.index(layer)
        offset = sum(int(np.prod(e["shape"])) for e in entries[:i])
        prefix = f"{layer}:"
        positions = np.array([k for k, nm in enumerate(self._store["channel_names"]) if nm.startswith(prefix)], dtype=np.intp)
        return dict(entries[i]), positions, offset

    def __getitem__(self, key: Any) -> Any:
        """``acts["conv1"]``: the full maps of a layer, (n_rows, *layer shape); other keys slice the channels."""
        if isinstance(key, str) and key in self.layer_names:
            entry, _, offset = self._layer(key)
            maps = self._store["maps"]
            if maps is None:
                raise InvalidParameterError(
                    f"layer: the full maps of {key!r} were not recorded; call layer_activations(..., summary=False), "
                    f"or read acts.summary({key!r})"
                )
            size = int(np.prod(entry["shape"]))
            return maps[:, offset : offset + size].reshape((maps.shape[0], *entry["shape"]))
        return super().__getitem__(key)

    def summary(self, layer: str) -> dict[str, np.ndarray]:
        """The per-channel statistics of one layer (mean, std, max, min, zero_share, saturated_share)."""
        _, pos, _ = self._layer(layer)
        return {k: self._store[k][pos] for k in ("mean", "std", "max", "min", "zero_share", "saturated_share")}

    def dead_channels(self, layer: str) -> np.ndarray:
        """Channels of ``layer`` that are 0 on every value of every row (dead ReLU units)."""
        _, pos, _ = self._layer(layer)
        return np.flatnonzero(self._store["zero_share"][pos] >= 1.0)

    def top_examples(self, layer: str, channel: int, k: int | None = None) -> np.ndarray:
        """Indices of the rows with the largest mean activation of ``channel`` of ``layer``, largest first."""
        entry, pos, _ = self._layer(layer)
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)) or not 0 <= int(channel) < len(pos):
            raise InvalidParameterError(f"channel: expected an int in [0, {len(pos)}), got {describe(channel)}")
        rows = self._store["top_rows"][pos[int(channel)]]
        if k is None:
            return rows.copy()  # type: ignore[no-any-return]
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= int(k) <= len(rows):
            raise InvalidParameterError(f"k: expected an int in [1, {len(rows)}] (the k recorded), got {describe(k)}")
        return rows[: int(k)].copy()  # type: ignore[no-any-return]
