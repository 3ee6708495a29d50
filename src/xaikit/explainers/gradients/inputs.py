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
* Baselines are given for all inputs (a number or an array), or per input (a tuple or list in the
  order of the inputs, or of the attributed inputs; a dict for inputs by name); the baseline of
  integer and boolean inputs is token ids (:func:`id_baseline`).

The layer methods (:mod:`~xaikit.explainers.gradients.layer_methods`) read their inputs with the
same :class:`InputLayout` (without packing: ``layout.rows(rows, items)`` calls the model on the
explained rows, :class:`Rows` shows them to :func:`~xaikit.explainers.gradients.base.resolve_target`).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, cast

import numpy as np

from xaikit._validation import check_array, check_choice, check_int, describe, several_inputs
from xaikit.errors import InvalidParameterError

__all__ = ["InputLayout", "PackedModel", "Rows", "id_baseline", "integer_input", "needs_layout", "per_input"]


def integer_input(X: Any) -> bool:
    """Whether ``X`` is one array or tensor of integers or booleans (token ids, a mask)."""
    dtype = getattr(X, "dtype", None)
    if dtype is None or not hasattr(X, "ndim"):
        return False
    try:
        kind = np.dtype(str(dtype).removeprefix("torch.")).kind
    except TypeError:  # a dtype numpy does not know (bfloat16): floating point
        return False
    return kind in "biu"


def needs_layout(X: Any, additional_forward_args: Any = None) -> bool:
    """Whether ``X`` must be read through an :class:`InputLayout`: several inputs, fixed arguments, or
    one array of integers or booleans (token ids, a mask).

    >>> needs_layout(np.zeros((2, 3))), needs_layout(np.zeros((2, 3), dtype=int)), needs_layout(np.zeros((2, 3)), (1.0,))
    (False, True, True)
    """
    return several_inputs(X) or additional_forward_args is not None or integer_input(X)


def _as_array(item: Any, name: str, *, array: bool = False) -> Any:
    """A per-row array (numpy) of ``item`` (an array or tensor; anything array-like when ``array``), or
    ``item`` itself when it is a constant. Floating-point arrays keep their dtype."""
    if hasattr(item, "detach") and hasattr(item, "numpy"):
        item = item.detach().cpu().numpy()
    elif (array or hasattr(item, "__array__") and getattr(item, "ndim", 0) >= 1) and not isinstance(item, np.ndarray):
        try:
            item = np.asarray(item)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(f"{name}: expected a numeric array or tensor (n, ...), got {describe(item)}") from exc
    if isinstance(item, np.ndarray):
        if item.ndim == 0:
            if array:
                raise InvalidParameterError(f"{name}: expected a batch (n, ...) of inputs, got a scalar")
            return item.item()
        if item.dtype.kind not in "biuf":
            raise InvalidParameterError(f"{name}: expected a numeric array or tensor (n, ...), got {describe(item)}")
        if item.dtype.kind == "f":
            return check_array(item, name, ndim=tuple(range(1, 9)), dtype=None)
    return item


def _split(value: Any, n_inputs: int, name: str, keys: list[str] | None = None, attributed: list[int] | None = None) -> list[Any]:
    """A parameter given per input as one item per input (None where not given); see :func:`per_input`."""
    if isinstance(value, dict):
        if keys is None:
            raise InvalidParameterError(f"{name}: a dict gives one item per input by name, for inputs given as a dict; got {describe(value)}")
        unknown = sorted(set(map(str, value)) - set(keys))
        if unknown:
            raise InvalidParameterError(f"{name}: expected items for the inputs {keys}, got unknown input(s) {unknown}")
        return [value.get(key) for key in keys]
    if isinstance(value, (tuple, list)) and n_inputs > 1 and (several_inputs(value) or all(not isinstance(v, (tuple, list)) for v in value)):
        if len(value) == n_inputs:
            return list(value)
        if attributed is not None and len(value) == len(attributed):
            given: list[Any] = [None] * n_inputs
            for k, v in zip(attributed, value):
                given[k] = v
            return given
        if several_inputs(value) or isinstance(value, tuple):
            expected = f"{n_inputs}" + ("" if attributed is None or len(attributed) == n_inputs else f", or {len(attributed)}, one per attributed input")
            raise InvalidParameterError(
                f"{name}: expected one item per input ({expected}) or one for all, got a {type(value).__name__} of {len(value)}"
            )
    return [value] * n_inputs


def per_input(value: Any, k: int, n_inputs: int, name: str, keys: list[str] | None = None) -> Any:
    """Input ``k``'s part of a parameter given per input (a tuple or list of ``n_inputs`` items, a dict
    by the names ``keys``; None where not given) or shared (anything else).

    >>> per_input((0.0, 1.0), 1, 2, "baseline"), per_input(0.5, 1, 2, "baseline"), per_input({"b": 2}, 0, 2, "baseline", ["a", "b"])
    (1.0, 0.5, None)
    """
    return _split(value, n_inputs, name, keys)[k]


def id_baseline(given: Any, ids: np.ndarray, label: str, name: str = "baseline") -> np.ndarray:
    """The baseline of integer or boolean input ``label`` holding ``ids`` (n, ...): token ids, one id for
    all (default 0, e.g. the padding id), one row or one per row, as ``ids``'s dtype.

    >>> id_baseline(None, np.array([[3, 4]]), "X").tolist(), id_baseline(1.0, np.array([[3, 4]]), "X").tolist()
    ([[0, 0]], [[1, 1]])
    """
    if given is None:
        given = 0
    arr = np.asarray(given.detach().cpu().numpy() if hasattr(given, "detach") else given)
    if arr.dtype.kind == "f" and arr.size and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)
    kinds = "biu" if ids.dtype.kind == "b" else "iu"
    if arr.dtype.kind not in kinds or arr.shape not in ((), ids.shape[1:], ids.shape):
        raise InvalidParameterError(
            f"{name}: the input {label} holds token ids ({ids.dtype}), so its baseline is token ids: expected an "
            f"integer baseline (a pad or mask token id), one row {ids.shape[1:]} or one per row {ids.shape}, got {describe(given)}"
        )
    return np.ascontiguousarray(np.broadcast_to(arr, ids.shape).astype(ids.dtype))


class InputLayout:
    """The inputs of the explained rows: which are attributed (floating point), their shapes, and how
    they pack into one float64 array ``(n, sum of sizes)``.

    ``X`` is one array or tensor, several (a tuple or list in the order of ``forward``'s arguments) or
    a dict of keyword inputs; ``additional_forward_args`` (a tuple, or one value) follow the inputs.
    Integer inputs (token ids) are attributed, with ``integers="embedding"``, on the output of the
    embedding that takes them, found by a ``model`` offering ``embedding_of`` (``layers``); with
    ``integers="as_is"`` (perturbation methods: occlusion, ablation), as they are: packed as float64
    (exact up to 2**53) and cast back to their dtype for each model call (``ids``). Boolean inputs
    (masks) always reach the model untouched.

    Examples
    --------
    >>> layout = InputLayout((np.ones((2, 2, 2)), np.array([[3], [4]]), np.zeros((2, 3))))
    >>> layout.names, layout.shapes, layout.packed().shape
    (['X[0]', 'X[2]'], [(2, 2), (3,)], (2, 7))
    >>> [a.shape for a in layout.unpack(layout.packed())]
    [(2, 2, 2), (2, 3)]
    >>> [getattr(a, "shape", a) for a in InputLayout(np.zeros((3, 2)), (None, np.ones(3))).rows(np.array([0, 2]))]
    [(2, 2), None, (2,)]
    >>> ids = InputLayout((np.array([[3, 4]]), np.ones((1, 1)), np.array([[True]])), integers="as_is")
    >>> ids.names, ids.shapes, ids.arguments(ids.packed() * 0, np.array([0]))[0].tolist()
    (['X[0]', 'X[1]'], [(2,), (1,)], [[0, 0]])
    """

    def __init__(self, X: Any, additional_forward_args: Any = None, model: Any = None, *, integers: str = "embedding") -> None:
        check_choice(integers, "integers", ("embedding", "as_is"))
        several = several_inputs(X)
        self.keys: list[str] | None = [str(k) for k in X] if isinstance(X, dict) else None
        given = list(X.values()) if isinstance(X, dict) else list(X) if several else [X]
        #: How each input is named in messages: ``X``, ``X[k]`` or ``X['name']``.
        self.labels: list[str] = [f"X[{k!r}]" for k in self.keys] if self.keys else ([f"X[{k}]" for k in range(len(given))] if several else ["X"])
        self.items: list[Any] = [_as_array(item, label, array=not several) for item, label in zip(given, self.labels)]
        extra = additional_forward_args
        if extra is not None and not isinstance(extra, tuple):
            extra = (extra,)
        if extra and self.keys is not None:
            raise InvalidParameterError(
                "additional_forward_args: the inputs are given by name (a dict), so arguments by position cannot "
                f"follow them; add them to the dict by the name forward gives them, got {describe(additional_forward_args)}"
            )
        self.extra: list[Any] = [_as_array(a, f"additional_forward_args[{k}]") for k, a in enumerate(extra or ())]
        rowwise = [(lbl, a) for lbl, a in zip(self.labels, self.items) if isinstance(a, np.ndarray)]
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
        floats = [k for k in range(self.n_inputs) if self.floating(k)]
        integer = [k for k, a in enumerate(self.items) if isinstance(a, np.ndarray) and a.dtype.kind in "iu"]
        #: Integer inputs attributed as they are (``integers="as_is"``).
        self.ids: list[int] = integer if integers == "as_is" else []
        #: Integer inputs explained on the embedding that takes them: position -> layer name.
        self.layers: dict[int, str] = {}
        if integers == "embedding" and model is not None and hasattr(model, "embedding_of"):
            for k, a in enumerate(self.items):
                if isinstance(a, np.ndarray) and a.dtype.kind in "iu":
                    name = model.embedding_of(self.rows(np.arange(self.n)), k)
                    if name is not None:
                        self.layers[k] = name
        #: Positions of the attributed inputs: floating point ones, and integer ones through their embedding.
        self.attributed = sorted([*floats, *self.layers, *self.ids])
        self.names = [self.labels[k] if self.keys is None else self.keys[k] for k in self.attributed]
        self.model = model
        self.values = [self.items[k] if k not in self.layers else self.embedded(k, self.items[k]) for k in self.attributed]
        self.shapes: list[tuple[int, ...]] = [tuple(v.shape[1:]) for v in self.values]
        self.sizes = [math.prod(s) for s in self.shapes]

    @property
    def n_inputs(self) -> int:
        """How many inputs ``X`` holds (arrays and constants, not counting ``additional_forward_args``)."""
        return len(self.items)

    def rowwise(self, k: int) -> bool:
        """Whether input ``k`` is an array of rows (else a constant passed as it is)."""
        return isinstance(self.items[k], np.ndarray)

    def floating(self, k: int) -> bool:
        """Whether input ``k`` is a floating-point array (attributed; integer and boolean ones are not)."""
        return self.rowwise(k) and self.items[k].dtype.kind == "f"

    def position(self, input: int | str, name: str = "input") -> int:
        """The position of an input given by position or, for inputs by name, by name."""
        if isinstance(input, str):
            if self.keys is None or input not in self.keys:
                raise InvalidParameterError(f"{name}: expected the name of an input of X ({self.keys}), got {describe(input)}")
            return self.keys.index(input)
        return check_int(input, name, minimum=0, maximum=self.n_inputs - 1)

    def split(self, value: Any, name: str) -> list[Any]:
        """A parameter given for all inputs or per input (see :func:`per_input`; a tuple may also hold one
        item per attributed input) as one item per input, None where not given."""
        return _split(value, self.n_inputs, name, self.keys, self.attributed)

    def rows(self, rows: np.ndarray, items: list[Any] | None = None) -> Any:
        """What the model is called with for explained ``rows``: the inputs ``items`` (one per input, of
        ``n`` rows; by default the explained ones) and the fixed arguments taken at ``rows``, constants
        as they are."""
        source = self.items if items is None else items
        return self._call([v[rows] if isinstance(v, np.ndarray) else v for v in source], rows)

    def _call(self, items: list[Any], rows: np.ndarray) -> Any:
        """The model's arguments of ``items`` (the inputs, already at ``rows``): a tuple with the fixed
        arguments after them, a dict for keyword inputs, or the single input."""
        extra = [a[rows] if isinstance(a, np.ndarray) else a for a in self.extra]
        if self.keys is not None:
            return dict(zip(self.keys, items))
        return (*items, *extra) if (len(items) > 1 or extra) else items[0]

    def baseline_items(self, baseline: Any, *, path: bool, name: str = "baseline") -> list[Any]:
        """The inputs with each array replaced by its baseline ``(n, *shape)``, for the layer methods.

        ``baseline``: a number (every float input; every integer input too when ``path`` is False, as a
        token id), an array like one row of the input or one per row, or one of those per input (see
        :func:`per_input`; None keeps that input as it is, except a float input's, 0). With ``path``
        True (the path runs through the inputs) integer and boolean inputs keep their values.
        """
        per = self.split(baseline, name)
        out = list(self.items)
        for k, (x, b) in enumerate(zip(self.items, per)):
            if not self.rowwise(k):
                continue
            label = name if self.n_inputs == 1 else f"{name}[{k if self.keys is None else self.keys[k]!r}]"
            if b is None:
                b = 0.0 if (self.floating(k) or (self.n_inputs == 1 and not path)) else None
            if b is None or (path and not self.floating(k)):
                if b is not None and not (isinstance(b, numbers.Number) and np.all(x == b)):
                    raise InvalidParameterError(
                        f"{label}: the path runs through the inputs, and {self.labels[k]} holds {x.dtype} values, which "
                        "stay as they are along it; pass None as its baseline (explain token ids with "
                        f"LayerIntegratedGradients on their embedding), got {describe(b)}"
                    )
                continue
            if not self.floating(k):
                out[k] = id_baseline(b, x, self.labels[k], label)
                continue
            if isinstance(b, numbers.Number) and not isinstance(b, bool):
                out[k] = np.full_like(x, cast(Any, b))
                continue
            arr = _as_array(b, label, array=True) if not isinstance(b, numbers.Number) else np.asarray(b)
            if arr.shape == x.shape[1:]:
                arr = np.broadcast_to(arr, x.shape)
            elif arr.shape != x.shape:
                raise InvalidParameterError(
                    f"{label}: expected a number, an array shaped like one row of {self.labels[k]} {x.shape[1:]} or one per "
                    f"row {x.shape}, got {describe(b)}"
                )
            out[k] = np.ascontiguousarray(arr.astype(x.dtype, copy=False))
        return out

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
        or a dict for keyword inputs."""
        unpacked = dict(zip(self.attributed, self.unpack(P))) if P is not None else {}
        items = []
        for k, item in enumerate(self.items):
            if replace is not None and k in replace:
                items.append(replace[k])
            elif k in unpacked and k in self.ids:  # token ids attributed as they are: back to their dtype
                items.append(np.rint(unpacked[k]).astype(item.dtype))
            elif k in unpacked and k not in self.layers:
                a = unpacked[k]
                items.append(a if dtype is None else a.astype(dtype, copy=False))
            else:
                items.append(item[rows] if isinstance(item, np.ndarray) else item)
        return self._call(items, rows)

    def replaced_layers(self, P: np.ndarray) -> list[tuple[str, str, np.ndarray]]:
        """The embedding outputs in ``P`` as ``(layer, "output", values)`` for the model's ``layers=``."""
        unpacked = dict(zip(self.attributed, self.unpack(P)))
        return [(name, "output", unpacked[k]) for k, name in self.layers.items()]


class Rows:
    """Explained rows of an :class:`InputLayout` seen as an array of rows (``shape[0]``, slicing), for
    :func:`~xaikit.explainers.gradients.base.resolve_target` with a :class:`PackedModel`: the rows' own
    inputs, unpacked.

    >>> rows = Rows(InputLayout(np.zeros((5, 2))))
    >>> rows.shape, rows[1:3].index.tolist()
    ((5,), [1, 2])
    """

    def __init__(self, layout: InputLayout, index: np.ndarray | None = None) -> None:
        self.layout = layout
        self.index = np.arange(layout.n) if index is None else index
        self.shape = (int(self.index.size),)

    def __getitem__(self, rows: slice) -> Rows:
        return Rows(self.layout, self.index[rows])


class PackedModel:
    """The model seen through an :class:`InputLayout`: ``predict(P, rows)`` and ``gradient(P, target,
    rows)`` of packed rows ``P`` made from the explained ``rows`` (the identity when None); ``predict``
    also of :class:`Rows` (the explained rows as they are)."""

    def __init__(self, model: Any, layout: InputLayout) -> None:
        self.model, self.layout = model, layout
        self.capabilities = frozenset(model.capabilities) & frozenset({"gradient"})
        self.input_dtype = getattr(model, "input_dtype", np.dtype(np.float64))
        self.output_names = model.output_names

    def describe(self) -> str:
        return str(self.model.describe())

    def _rows(self, P: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        return np.arange(P.shape[0]) if rows is None else np.asarray(rows)

    def predict(self, P: np.ndarray | Rows, rows: np.ndarray | None = None) -> np.ndarray:
        if isinstance(P, Rows):
            return np.asarray(self.model.predict(self.layout.rows(P.index)))
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
