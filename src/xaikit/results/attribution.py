"""Attribution: one value per (row, feature, output), e.g. Shapley values."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.results.base import Axis, Field, JsonField, Result

__all__ = ["DIAGNOSTIC_AXES", "Attribution"]

DIAGNOSTIC_AXES: dict[str, str] = {
    "std_err": "ndo",
    "completeness_gap": "no",
    "n_model_calls": "n",
    "local_fidelity": "no",
}
"""Axes of the diagnostics that are sliced with the values: ``n`` rows, ``d`` features,
``o`` outputs. More can be declared per result with ``diagnostic_axes=``."""

ROWS = Axis("rows")
FEATURES = Axis("features", names="feature_names", prefix="x")
OUTPUTS = Axis("outputs", names="output_names", prefix="output")


def check_input_shape(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int], axis: str = "d") -> tuple[int, ...]:
    """``value`` as a tuple of positive ints whose product is the length of ``axis``."""
    d = lengths[axis]
    try:
        shape = tuple(int(s) for s in value)
        ok = all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in value)
    except (TypeError, ValueError):
        shape, ok = (), False
    if not ok or any(s < 1 for s in shape) or math.prod(shape) != d:
        raise InvalidParameterError(
            f"input_shape: expected positive ints whose product is the {d} features of values (the per-row "
            f"shape the values were flattened from), got {value!r}"
        )
    return shape


def check_inputs(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int], axis: str = "d") -> tuple[tuple[str, tuple[int, ...]], ...]:
    """``value`` as ``((name, shape), ...)``, one per input of a model with several, whose sizes add up to
    the length of ``axis`` (the inputs' features side by side, in order)."""
    d = lengths[axis]
    try:
        parsed = tuple((str(name), tuple(int(s) for s in shape)) for name, shape in value)
        ok = all(s >= 1 for _, shape in parsed for s in shape) and sum(math.prod(sh) for _, sh in parsed) == d
    except (TypeError, ValueError):
        parsed, ok = (), False
    if not ok or not parsed:
        raise InvalidParameterError(
            f"inputs: expected (name, shape) pairs, one per input, whose sizes add up to the {d} features of values, "
            f"got {value!r}"
        )
    return parsed


class FeatureSummary:
    """``ranking`` and the HTML table, for results whose ``mean_abs()`` is aligned with ``feature_names``."""

    if TYPE_CHECKING:

        @property
        def feature_names(self) -> list[str]: ...

        @property
        def output_names(self) -> list[str]: ...

        def mean_abs(self) -> np.ndarray: ...

        def _output_position(self, output: int | str) -> int: ...

        def _repr_fields(self) -> list[tuple[str, Any]]: ...

    def ranking(self, target: int | str = 0) -> list[tuple[str, float]]:
        """Features sorted by decreasing mean absolute attribution for one output (ties: first first).

        Parameters
        ----------
        target : int or str
            The output, by position or name.

        Examples
        --------
        >>> import numpy as np
        >>> exp = Attribution(values=[[[1.0], [-2.0]], [[-3.0], [0.0]]], base_values=np.zeros((2, 1)),
        ...                   feature_names=["a", "b"], method="demo")
        >>> exp.ranking()
        [('a', 2.0), ('b', 1.0)]
        """
        j = self._output_position(target)
        scores = self.mean_abs()[:, j]
        names = self.feature_names
        order = np.argsort(-scores, kind="stable")
        return [(names[i], float(scores[i])) for i in order]

    def as_list(self, row: int | None = None, target: int | str | None = None) -> list[tuple[str, float]]:
        """One row's ``(feature, value)`` pairs sorted by decreasing |value| (ties: first first), as LIME's ``as_list``.

        Parameters
        ----------
        row : int, optional
            The row; may be left out when the result has one row (e.g. ``exp[0].as_list()``).
        target : int or str, optional
            The output, by position or name; may be left out when the result has one output.

        Examples
        --------
        >>> import numpy as np
        >>> exp = Attribution(values=[[[1.0], [-2.0]], [[-3.0], [0.5]]], base_values=np.zeros((2, 1)),
        ...                   feature_names=["a", "b"], method="demo")
        >>> exp[0].as_list()
        [('b', -2.0), ('a', 1.0)]
        >>> exp.as_list(row=1)
        [('a', -3.0), ('b', 0.5)]
        """
        from xaikit.plots._common import resolve_row, resolve_target

        n = self.n_rows  # type: ignore[attr-defined]
        if row is None:
            if n != 1:
                raise InvalidParameterError(f"row: expected the row to list (an int) since the result has {n} rows, got None")
            row = 0
        r = resolve_row(row, n)
        j = resolve_target(self, target)  # type: ignore[arg-type]
        own = self._store["row_feature_names"][r] if "row_feature_names" in self._store else self.feature_names  # type: ignore[attr-defined]
        values = np.asarray(self.values[r, : len(own), j], dtype=np.float64)  # type: ignore[attr-defined]
        order = np.argsort(-np.abs(values), kind="stable")
        return [(str(own[i]), float(values[i])) for i in order]

    def _repr_html_(self) -> str:
        """The notebook view: top features, the first rows, documents highlighted (bounded size, escaped)."""
        from xaikit.plots.notebook import result_html

        return result_html(self)


class Attribution(FeatureSummary, Result):
    """Per-row, per-feature, per-output attributions (e.g. Shapley values).

    Parameters
    ----------
    values : array-like of shape (n_rows, n_features, n_outputs)
        The attributions, finite, always 3-D (a single-output model has ``n_outputs == 1``).
    base_values : array-like of shape (n_rows, n_outputs)
        The reference output each row's attributions start from (finite).
    data : array-like of shape (n_rows, n_features), optional
        The explained inputs: numeric data is float64 (a float64 array is referenced through a
        read-only view, not copied), anything else (e.g. mixed strings and numbers from a
        DataFrame) an object array.
    feature_names : list of str, optional
        ``n_features`` unique names; default the DataFrame columns of ``data`` if it has any,
        else ``x0``, ``x1``, ...
    output_names : list of str, optional
        ``n_outputs`` unique names; default ``output0``, ``output1``, ...
    input_shape : tuple of int, optional
        The per-row shape the values were flattened from (an image's ``(C, H, W)``, a CAM grid):
        its product is ``n_features``. Dropped when features are selected.
    inputs : list of (str, tuple of int), optional
        For a model of several inputs: the name and per-row shape of each, whose features lie side by
        side in ``values`` in this order. Dropped when features are selected.
    method : str
        Name of the method, e.g. ``"kernel_shap"``.
    params, provenance : dict, optional
        JSON-serialisable hyper-parameters and provenance (checked when saving).
    diagnostics : dict, optional
        str -> scalar, list or numpy array. Arrays whose key has declared axes (see
        :data:`DIAGNOSTIC_AXES`) must have the matching shape and are sliced with the values.
    diagnostic_axes : dict of str to str, optional
        More diagnostic axes, e.g. ``{"weights": "nd"}``; letters among ``"ndo"``.

    Examples
    --------
    >>> import numpy as np
    >>> values = np.arange(12.0).reshape(2, 3, 2)
    >>> exp = Attribution(values=values, base_values=np.zeros((2, 2)),
    ...                   feature_names=["age", "income", "city"], method="demo")
    >>> exp
    Attribution(method='demo', n_rows=2, n_features=3, n_outputs=2)
    >>> exp[0].shape
    (1, 3, 2)
    >>> exp[:, "income", 1].values.ravel().tolist()
    [3.0, 9.0]
    >>> exp.completeness().tolist()
    [[6.0, 9.0], [24.0, 27.0]]
    """

    kind = "attribution"
    fields = (
        Field("values", "ndo", finite=True, column="value", doc="Read-only float64 array (n_rows, n_features, n_outputs)."),
        Field("base_values", "no", finite=True, column=None, doc="Read-only float64 array (n_rows, n_outputs)."),
        Field(
            "data",
            "nd",
            dtype="data",
            optional=True,
            copy=False,
            doc="The explained inputs, (n_rows, n_features) float64 or object array, or None.",
        ),
        JsonField(
            "input_shape", check=check_input_shape, whole="d", doc="The per-row shape the values were flattened from, or None."
        ),
        JsonField(
            "inputs", check=check_inputs, whole="d",
            doc="For a model of several inputs: (name, per-row shape) of each, their features side by side, or None.",
        ),
    )
    axes = {"n": ROWS, "d": FEATURES, "o": OUTPUTS}
    default_diagnostic_axes: ClassVar[Mapping[str, str]] = DIAGNOSTIC_AXES

    values: np.ndarray
    base_values: np.ndarray
    data: np.ndarray | None
    n_rows: int
    n_features: int
    n_outputs: int

    def _prepare(self, values: dict[str, Any]) -> dict[str, Any]:
        data = values.get("data")
        if values.get("feature_names") is None and data is not None:
            columns = getattr(data, "columns", None)
            raw: Any = values.get("values")
            try:
                d = np.shape(raw)[1]
            except (IndexError, TypeError, ValueError):
                d = None
            if columns is not None and len(columns) == d:
                values["feature_names"] = [str(c) for c in columns]
        return values

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        """The per-row shape the values were flattened from (``values[:, :, j].reshape(n, *input_shape)``), or None."""
        shape = self._store["input_shape"]
        return None if shape is None else tuple(shape)

    @property
    def inputs(self) -> list[tuple[str, tuple[int, ...]]] | None:
        """For a model of several inputs, ``(name, per-row shape)`` of each, their features side by side
        in ``values`` (see :func:`xaikit.as_input_shape`); None otherwise."""
        listed = self._store["inputs"]
        return None if listed is None else [(name, tuple(shape)) for name, shape in listed]

    @property
    def shape(self) -> tuple[int, int, int]:
        """``values.shape``: (n_rows, n_features, n_outputs)."""
        n, d, o = self._store["values"].shape
        return int(n), int(d), int(o)

    @classmethod
    def _upgrade(cls, args: dict[str, Any]) -> dict[str, Any]:
        """xaikit 0.1 kept the flattened shape in ``diagnostics["attribution_shape"]`` (and the input's in
        ``["input_shape"]``): they become the ``input_shape`` field."""
        diagnostics = args.get("diagnostics") or {}
        if args.get("input_shape") is None and "attribution_shape" in diagnostics:
            args["input_shape"] = diagnostics.pop("attribution_shape")
            diagnostics.pop("input_shape", None)
        return args

    # -- summaries ---------------------------------------------------------------------

    def mean_abs(self) -> np.ndarray:
        """Mean absolute attribution over rows, shape (n_features, n_outputs); NaN when there are no rows.

        Examples
        --------
        >>> import numpy as np
        >>> Attribution(values=[[[1.0], [-2.0]], [[-3.0], [0.0]]], base_values=np.zeros((2, 1)),
        ...             method="demo").mean_abs().tolist()
        [[2.0], [1.0]]
        """
        if self.n_rows == 0:
            return np.full((self.n_features, self.n_outputs), np.nan)
        return np.abs(self.values).mean(axis=0)  # type: ignore[no-any-return]

    def importance(self, *, cohort: Any = None, signed: bool = False) -> Any:
        """The global summary of these values: mean |value| (or the signed mean) per feature and output,
        with its standard error, over all rows or per cohort (a boolean mask, or a column of ``data``);
        an :class:`~xaikit.results.Importance`. See :func:`xaikit.shapley_importance`.

        >>> import numpy as np
        >>> exp = Attribution(values=[[[1.0], [-2.0]], [[-3.0], [0.0]]], base_values=np.zeros((2, 1)),
        ...                   feature_names=["a", "b"], method="demo")
        >>> exp.importance().mean()[:, 0].tolist()
        [2.0, 1.0]
        """
        from xaikit.explainers.global_.summaries import shapley_importance

        return shapley_importance(self, cohort=cohort, signed=signed)

    def completeness(self) -> np.ndarray:
        """The prediction reconstructed from the attributions: ``values.sum(axis=1) + base_values``, (n_rows, n_outputs).

        Examples
        --------
        >>> import numpy as np
        >>> Attribution(values=np.ones((1, 3, 1)), base_values=[[0.5]], method="demo").completeness().tolist()
        [[3.5]]
        """
        return self.values.sum(axis=1) + self.base_values  # type: ignore[no-any-return]
