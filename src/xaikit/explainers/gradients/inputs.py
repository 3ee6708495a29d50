"""Several inputs, integer inputs and fixed arguments, seen by the methods of arrays as one array.

A model may take several inputs (``forward(image, table)``, a dict of keyword inputs), integer
inputs that must reach it untouched (token ids, attention masks), and arguments held fixed
(Captum's ``additional_forward_args``). The methods of :mod:`xaikit.explainers.gradients` are
written over one float array per row; :class:`InputLayout` packs the floating-point inputs of a
row, flattened, side by side into that array, and :class:`PackedModel` unpacks it for each model
call, putting back the other inputs of the same rows (``rows``) and the fixed arguments. The
attributions of input ``k`` are then the slice :meth:`InputLayout.slices` ``[k]`` of the result's
features, of shape ``input_shapes[k]``.

Rules
-----
* Floating-point arrays are attributed; integer and boolean arrays reach the model untouched, taken
  row by row with the explained rows (their attributions are those of a layer: the embedding);
  other items (None, numbers, strings) are passed as they are.
* ``additional_forward_args`` come after the inputs, positionally: arrays are per row (their first
  axis has the ``n`` rows), other values are passed as they are, as in Captum.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from xaikit._validation import check_array, describe
from xaikit.errors import InvalidParameterError

__all__ = ["InputLayout", "PackedModel", "is_several", "per_input"]


def is_several(X: Any) -> bool:
    """Whether ``X`` holds several inputs: a dict, or a tuple or list with an array or tensor in it (a
    list of lists of numbers is one array).

    >>> is_several((np.zeros((2, 3)), np.zeros((2, 1)))), is_several([[1.0, 2.0]]), is_several({"a": np.zeros(2)})
    (True, False, True)
    """
    if isinstance(X, dict):
        return True
    return isinstance(X, (tuple, list)) and any(
        not isinstance(item, (tuple, list)) and getattr(item, "ndim", 0) >= 1 for item in X
    )


def _as_array(item: Any, name: str) -> Any:
    """A per-row array (numpy) of ``item`` (an array or tensor), or ``item`` itself when it is a constant."""
    if hasattr(item, "detach") and hasattr(item, "numpy"):
        item = item.detach().cpu().numpy()
    elif hasattr(item, "__array__") and getattr(item, "ndim", 0) >= 1 and not isinstance(item, np.ndarray):
        item = np.asarray(item)
    if isinstance(item, np.ndarray):
        if item.ndim == 0:
            return item.item()
        if item.dtype.kind not in "biuf":
            raise InvalidParameterError(f"{name}: expected a numeric array or tensor, got {describe(item)}")
        if item.dtype.kind == "f":
            return check_array(item, name, ndim=tuple(range(1, 9)))
    return item


def per_input(value: Any, k: int, n_inputs: int, name: str) -> Any:
    """Input ``k``'s part of a parameter given per input (a tuple or list of ``n_inputs`` items) or
    shared (anything else).

    >>> per_input((0.0, 1.0), 1, 2, "baseline"), per_input(0.5, 1, 2, "baseline")
    (1.0, 0.5)
    """
    if isinstance(value, (tuple, list)) and len(value) == n_inputs and n_inputs > 1 and is_several(value) | all(
        not isinstance(v, (tuple, list)) for v in value
    ):
        return value[k]
    if isinstance(value, (tuple, list)) and is_several(value):
        raise InvalidParameterError(
            f"{name}: expected one item per attributed input ({n_inputs}) or one for all, got a "
            f"{type(value).__name__} of {len(value)}"
        )
    return value


class InputLayout:
    """The inputs of the explained rows: which are attributed (floating point), their shapes, and how
    they pack into one float64 array ``(n, sum of sizes)``.

    Examples
    --------
    >>> layout = InputLayout((np.ones((2, 2, 2)), np.array([[3], [4]]), np.zeros((2, 3))))
    >>> layout.names, layout.shapes, layout.packed().shape
    (['X[0]', 'X[2]'], [(2, 2), (3,)], (2, 7))
    >>> [a.shape for a in layout.unpack(layout.packed())]
    [(2, 2, 2), (2, 3)]
    """

    def __init__(self, X: Any, additional_forward_args: Any = None, model: Any = None) -> None:
        self.keys: list[str] | None = [str(k) for k in X] if isinstance(X, dict) else None
        given = list(X.values()) if isinstance(X, dict) else list(X) if is_several(X) else [X]
        labels = [f"X[{k!r}]" for k in self.keys] if self.keys else ([f"X[{k}]" for k in range(len(given))] if is_several(X) else ["X"])
        self.items: list[Any] = [_as_array(item, label) for item, label in zip(given, labels)]
        extra = additional_forward_args
        if extra is not None and not isinstance(extra, tuple):
            extra = (extra,)
        self.extra: list[Any] = [_as_array(a, f"additional_forward_args[{k}]") for k, a in enumerate(extra or ())]
        rowwise = [(lbl, a) for lbl, a in zip(labels, self.items) if isinstance(a, np.ndarray)]
        if not rowwise:
            raise InvalidParameterError(f"X: expected at least one array or tensor of inputs (n, ...), got {describe(X)}")
        self.n = int(rowwise[0][1].shape[0])
        if self.n == 0:
            raise InvalidParameterError("X: expected at least 1 row, got 0")
        for label, a in [*rowwise, *((f"additional_forward_args[{k}]", a) for k, a in enumerate(self.extra))]:
            if isinstance(a, np.ndarray) and a.shape[0] != self.n:
                raise InvalidParameterError(
                    f"{label}: expected one row per explained row ({self.n}, the rows of the first input), got "
                    f"{a.shape[0]} rows (shape {a.shape}); arrays are taken row by row"
                )
        floats = [k for k, a in enumerate(self.items) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
        #: Integer inputs explained on the embedding that takes them: position -> layer name.
        self.layers: dict[int, str] = {}
        if model is not None and hasattr(model, "embedding_of"):
            for k, a in enumerate(self.items):
                if isinstance(a, np.ndarray) and a.dtype.kind in "iu":
                    name = model.embedding_of(self.arguments(None, np.arange(self.n)), k)
                    if name is not None:
                        self.layers[k] = name
        #: Positions of the attributed inputs: floating point ones, and integer ones through their embedding.
        self.attributed = sorted([*floats, *self.layers])
        self.names = [labels[k] if self.keys is None else self.keys[k] for k in self.attributed]
        self.model = model
        self.values = [self.items[k] if k not in self.layers else self.embedded(k, self.items[k]) for k in self.attributed]
        self.shapes: list[tuple[int, ...]] = [tuple(v.shape[1:]) for v in self.values]
        self.sizes = [math.prod(s) for s in self.shapes]

    def embedded(self, position: int, ids: np.ndarray) -> np.ndarray:
        """The output of the embedding of input ``position`` for token ids ``ids`` (n, ...) (the other
        inputs those of the explained rows), float64."""
        args = self.arguments(None, np.arange(self.n), replace={position: ids})
        return np.asarray(self.model.layer_activations(args, self.layers[position]), dtype=np.float64)  # type: ignore[union-attr]

    def token_values(self, values: np.ndarray) -> tuple[np.ndarray, list[tuple[int, ...]]]:
        """Packed attributions ``(n, sum of sizes)`` with each embedded input's summed over the embedding
        axis (one value per token), and the resulting per-input shapes."""
        parts, shapes = [], []
        for k, part in zip(self.attributed, self.unpack(values)):
            if k in self.layers:
                part = part.sum(axis=-1)
            parts.append(part.reshape(part.shape[0], -1))
            shapes.append(tuple(part.shape[1:]))
        return np.concatenate(parts, axis=1), shapes

    @property
    def several(self) -> bool:
        """Whether the model is called with anything but one attributed array."""
        return len(self.items) > 1 or bool(self.extra) or not self.attributed

    def slices(self) -> list[slice]:
        """Where each attributed input lies among the packed features."""
        ends = np.cumsum([0, *self.sizes])
        return [slice(int(a), int(b)) for a, b in zip(ends[:-1], ends[1:])]

    def pack(self, parts: list[np.ndarray]) -> np.ndarray:
        """Arrays ``(..., *shape_k)`` of the attributed inputs as one ``(..., sum of sizes)`` array."""
        lead = parts[0].shape[: parts[0].ndim - len(self.shapes[0])]
        return np.concatenate([np.asarray(p, dtype=np.float64).reshape(*lead, -1) for p in parts], axis=-1)

    def packed(self) -> np.ndarray:
        """The attributed inputs of the explained rows (embedded, for token ids), packed."""
        return self.pack(self.values)

    def unpack(self, P: np.ndarray) -> list[np.ndarray]:
        """The packed array ``(m, sum of sizes)`` as one array ``(m, *shape_k)`` per attributed input."""
        return [P[:, s].reshape(P.shape[0], *shape) for s, shape in zip(self.slices(), self.shapes)]

    def arguments(self, P: np.ndarray | None, rows: np.ndarray, dtype: Any = None, replace: dict[int, Any] | None = None) -> Any:
        """What the model is called with for packed rows ``P`` made from explained ``rows``: the
        floating-point inputs from ``P`` (None: the explained rows' own), the other per-row inputs and
        arguments taken at ``rows`` (or ``replace[k]`` for input ``k``), constants as they are; a tuple,
        or a dict for keyword inputs (fixed arguments then refused)."""
        unpacked = dict(zip(self.attributed, self.unpack(P))) if P is not None else {}
        items = []
        for k, item in enumerate(self.items):
            if replace is not None and k in replace:
                items.append(replace[k])
            elif k in unpacked and k not in self.layers:
                a = unpacked[k]
                items.append(a if dtype is None else a.astype(dtype, copy=False))
            else:
                items.append(item[rows] if isinstance(item, np.ndarray) else item)
        extra = [a[rows] if isinstance(a, np.ndarray) else a for a in self.extra]
        if self.keys is not None:
            if extra:
                raise InvalidParameterError(
                    "additional_forward_args: the inputs are given by name (a dict), so arguments by position cannot "
                    "follow them; add them to the dict by the name forward gives them"
                )
            return dict(zip(self.keys, items))
        return (*items, *extra) if (len(items) > 1 or extra) else items[0]

    def replaced_layers(self, P: np.ndarray) -> list[tuple[str, str, np.ndarray]]:
        """The embedding outputs in ``P`` as ``(layer, "output", values)`` for the model's ``layers=``."""
        unpacked = dict(zip(self.attributed, self.unpack(P)))
        return [(name, "output", unpacked[k]) for k, name in self.layers.items()]


class PackedModel:
    """The model seen through an :class:`InputLayout`: ``predict(P, rows)`` and ``gradient(P, target,
    rows)`` of packed rows ``P`` made from the explained ``rows`` (the identity when None)."""

    def __init__(self, model: Any, layout: InputLayout) -> None:
        self.model, self.layout = model, layout
        self.capabilities = frozenset(model.capabilities) & frozenset({"gradient"})
        self.input_dtype = getattr(model, "input_dtype", np.dtype(np.float64))
        self.output_names = model.output_names

    def describe(self) -> str:
        return str(self.model.describe())

    def _rows(self, P: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        return np.arange(P.shape[0]) if rows is None else np.asarray(rows)

    def predict(self, P: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        args = self.layout.arguments(P, self._rows(P, rows))
        if self.layout.layers:
            return np.asarray(self.model.predict_replaced(args, self.layout.replaced_layers(P)))
        return np.asarray(self.model.predict(args))

    def gradient(self, P: np.ndarray, target: Any, rows: np.ndarray | None = None, **kwargs: Any) -> np.ndarray:
        args = self.layout.arguments(P, self._rows(P, rows))
        layout = self.layout
        if layout.layers:
            grads, layer_results = self.model.gradients(args, target, layers=layout.replaced_layers(P), **kwargs)
            by_layer = dict(zip(layout.layers, (g for _, g in layer_results)))
            listed = [by_layer[k] if k in by_layer else grads[k] for k in range(len(grads))]
        else:
            found = self.model.gradient(args, target, **kwargs)
            listed = list(found.values()) if isinstance(found, dict) else list(found) if isinstance(found, tuple) else [found]
        parts = [np.zeros((P.shape[0], *shape)) if listed[k] is None else np.asarray(listed[k], dtype=np.float64)
                 for k, shape in zip(layout.attributed, layout.shapes)]
        return layout.pack(parts)
