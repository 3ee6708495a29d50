"""RaggedAttribution: attributions of rows that each have their own features (documents, images)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.results.attribution import DIAGNOSTIC_AXES, OUTPUTS, ROWS, FeatureSummary
from xaikit.results.base import Axis, Field, JsonField, Result, _check_names, _readonly, resolve_index

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RaggedAttribution"]

POSITIONS = Axis("features", repr_name="max_features")


def _check_row_names(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int]) -> tuple[tuple[str, ...], ...]:
    n, width = lengths["n"], lengths["d"]
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != n:
        raise InvalidParameterError(f"row_feature_names: expected {n} lists of names (one per row), got {describe(value)}")
    rows = []
    for i, names in enumerate(value):
        if isinstance(names, (str, bytes)) or not isinstance(names, Sequence):
            raise InvalidParameterError(f"row_feature_names[{i}]: expected a list of str, got {describe(names)}")
        rows.append(_check_names(names, f"row_feature_names[{i}]", len(names), "x"))
        if len(rows[-1]) > width:
            raise InvalidParameterError(
                f"row_feature_names: row {i} has {len(rows[-1])} names, more than the {width} feature columns of values"
            )
    return tuple(rows)


def _check_spans(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int]) -> tuple[Any, ...]:
    rows = store["row_feature_names"]
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != len(rows):
        raise InvalidParameterError(f"spans: expected {len(rows)} lists (one per row), got {describe(value)}")
    out = []
    for i, (row, names) in enumerate(zip(value, rows)):
        if len(row) != len(names):
            raise InvalidParameterError(f"spans[{i}]: expected {len(names)} lists of spans (one per feature), got {len(row)}")
        try:
            out.append(tuple(tuple((int(s), int(e)) for s, e in feature) for feature in row))
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"spans[{i}]: expected lists of [start, end] integer pairs, got {describe(row)}"
            ) from None
    return tuple(out)


def _check_texts(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int]) -> tuple[str, ...]:
    n = lengths["n"]
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != n or not all(isinstance(t, str) for t in value):
        raise InvalidParameterError(f"texts: expected {n} strings (one per row), got {describe(value)}")
    return tuple(value)


def _check_shape(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int]) -> tuple[int, ...]:
    try:
        shape = tuple(int(s) for s in value)
    except (TypeError, ValueError):
        shape = ()
    if not shape or any(s < 1 for s in shape) or any(isinstance(s, bool) for s in value):
        raise InvalidParameterError(f"input_shape: expected a tuple of positive ints (one input's shape), got {value!r}")
    return shape


class RaggedAttribution(FeatureSummary, Result):
    """Attributions of rows that each have their own features: the tokens of each document, the
    segments of each image.

    Stored padded: ``values`` is ``(n_rows, max_features, n_outputs)`` with zeros after each row's
    ``lengths[i]`` features. One row, ``exp[i]``, is trimmed to its own features
    (``exp[i].feature_names`` are document ``i``'s tokens, ``exp[i].values`` their weights); several
    rows keep the padding, and features are selected one row at a time (``exp[i, ["good"]]``).

    ``feature_names`` are the distinct feature names over the rows, in order of first appearance,
    and :meth:`mean_abs` is aligned with them: the mean |value| of each name over the rows that
    have it. For one row they are its own features.

    Parameters
    ----------
    values, base_values, output_names, method, params, diagnostics, provenance, diagnostic_axes
        As for :class:`~xaikit.results.Attribution` (``values`` padded with zeros).
    row_feature_names : list of list of str
        Each row's feature names (unique within the row); their lengths are the rows' lengths.
    spans : list (per row) of list (per feature) of ``[start, end]`` pairs, optional
        Text: where each feature occurs in the row's document (``texts[i][start:end]``).
    texts : list of str, optional
        Text: the explained documents.
    segments : array-like of int, shape (n_rows, height, width), optional
        Images: each pixel's feature (segment) index.
    input_shape : tuple of int, optional
        Images: one input's shape; default the segments' ``(height, width)``.

    Examples
    --------
    >>> import numpy as np
    >>> exp = RaggedAttribution(values=[[[0.5], [-0.2]], [[0.9], [0.0]]], base_values=[[0.1], [0.2]],
    ...                         row_feature_names=[["good", "film"], ["bad"]], method="demo")
    >>> exp.shape, exp.lengths.tolist()
    ((2, 2, 1), [2, 1])
    >>> exp[1].feature_names, exp[1].values.ravel().tolist()
    (['bad'], [0.9])
    >>> exp.ranking()
    [('bad', 0.9), ('good', 0.5), ('film', 0.2)]
    """

    kind = "ragged-attribution"
    fields = (
        Field(
            "values",
            "ndo",
            finite=True,
            column="value",
            doc="Read-only float64 array (n_rows, max_features, n_outputs), padded with zeros.",
        ),
        Field("base_values", "no", finite=True, column=None, doc="Read-only float64 array (n_rows, n_outputs)."),
        Field(
            "segments",
            "n..",
            dtype="int",
            optional=True,
            column=None,
            doc="Images: the segment map of each row, (n_rows, height, width), or None.",
        ),
        JsonField("row_feature_names", axis="n", check=_check_row_names, optional=False),
        JsonField("spans", axis="n", check=_check_spans),
        JsonField("texts", axis="n", check=_check_texts, doc="Text: the explained documents, or None."),
        JsonField("input_shape", check=_check_shape),
    )
    axes = {"n": ROWS, "d": POSITIONS, "o": OUTPUTS}
    default_diagnostic_axes: ClassVar[Mapping[str, str]] = DIAGNOSTIC_AXES

    values: np.ndarray
    base_values: np.ndarray
    segments: np.ndarray | None
    output_names: list[str]
    n_rows: int
    n_features: int
    n_outputs: int

    def _prepare(self, values: dict[str, Any]) -> dict[str, Any]:
        segments = values.get("segments")
        if values.get("input_shape") is None and segments is not None and np.ndim(segments) == 3:
            values["input_shape"] = tuple(np.shape(segments)[1:])
        return values

    def _validate(self) -> None:
        lengths = self.lengths
        padding = np.arange(self._lengths["d"])[None, :] >= lengths[:, None]
        if (self._store["values"][padding] != 0).any():
            raise InvalidParameterError("values: expected zeros after each row's features (the padding)")

    # -- attributes --------------------------------------------------------------------

    @property
    def lengths(self) -> np.ndarray:
        """Number of features of each row, shape (n_rows,)."""
        return _readonly(np.array([len(r) for r in self._store["row_feature_names"]], dtype=np.int64))

    @property
    def row_feature_names(self) -> list[list[str]]:
        """Each row's feature names (a copy)."""
        return [list(r) for r in self._store["row_feature_names"]]

    @property
    def feature_names(self) -> list[str]:
        """The distinct feature names over the rows, in order of first appearance (one row: its features)."""
        return list(dict.fromkeys(name for row in self._store["row_feature_names"] for name in row))

    @property
    def spans(self) -> list[list[list[tuple[int, int]]]] | None:
        """Text: per row and feature the ``(start, end)`` character spans of its occurrences, or None."""
        spans = self._store["spans"]
        return None if spans is None else [[list(f) for f in row] for row in spans]

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        """Images: one input's shape, or None."""
        shape = self._store["input_shape"]
        return None if shape is None else tuple(shape)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``values.shape``: (n_rows, max_features, n_outputs)."""
        n, d, o = self._store["values"].shape
        return int(n), int(d), int(o)

    # -- slicing -----------------------------------------------------------------------

    def __getitem__(self, key: Any) -> RaggedAttribution:
        """``exp[i]``: row ``i`` with its own features; ``exp[rows]`` or ``exp[rows, :, outputs]``:
        several rows, padded; ``exp[i, features, outputs]``: features of one row, by position or name.
        """
        parts = key if isinstance(key, tuple) else (key,)
        if len(parts) > 3:
            raise InvalidParameterError(f"key: expected at most 3 parts (rows, features, outputs), got {len(parts)}")
        parts = tuple(parts) + (slice(None),) * (3 - len(parts))
        rows = self._resolve(parts[0], "n")
        outs = self._resolve(parts[2], "o")
        if len(np.unique(outs)) != len(outs):
            raise InvalidParameterError("outputs: expected each output at most once, got a repeated output")
        lengths = self.lengths
        feats = np.arange(int(lengths[rows].max()) if len(rows) else 0)
        replace: dict[str, Any] = {}
        if not (isinstance(parts[1], slice) and parts[1] == slice(None)):
            if len(rows) != 1:
                raise InvalidParameterError(
                    "features: rows have their own features here, so features can be selected for one row "
                    f"at a time (e.g. exp[i, features]); got {len(rows)} rows"
                )
            own = self._store["row_feature_names"][int(rows[0])]
            feats = resolve_index(parts[1], POSITIONS, len(own), own)
            if len(np.unique(feats)) != len(feats):
                raise InvalidParameterError("features: expected each feature at most once, got a repeated feature")
            replace["row_feature_names"] = (tuple(own[j] for j in feats),)
            spans = self._store["spans"]
            if spans is not None:
                replace["spans"] = (tuple(spans[int(rows[0])][j] for j in feats),)
        return self._take({"n": rows, "d": feats, "o": outs}, **replace)

    # -- summaries ---------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """A tidy DataFrame with one line per (row, own feature, output): columns ``row``,
        ``feature``, ``output``, ``value`` and ``std_err`` when the diagnostics hold it.

        >>> import numpy as np
        >>> RaggedAttribution(values=[[[1.0], [2.0]], [[3.0], [0.0]]], base_values=np.zeros((2, 1)),
        ...                   row_feature_names=[["a", "b"], ["c"]], method="demo").to_frame()["feature"].tolist()
        ['a', 'b', 'c']
        """
        import pandas as pd

        values, names = self._store["values"], self._store["row_feature_names"]
        n, width, o = values.shape
        real = np.arange(width)[None, :] < self.lengths[:, None]
        r_idx, f_idx = np.nonzero(real)
        frame: dict[str, Any] = {
            "row": np.repeat(r_idx, o),
            "feature": np.repeat(np.array([names[r][f] for r, f in zip(r_idx, f_idx)], dtype=object), o),
            "output": np.tile(np.array(self._store["output_names"], dtype=object), len(r_idx)),
            "value": values[r_idx, f_idx].reshape(-1).copy(),
        }
        std_err = self._diagnostics.get("std_err")
        if isinstance(std_err, np.ndarray) and std_err.shape == values.shape:
            frame["std_err"] = std_err[r_idx, f_idx].reshape(-1).copy()
        return pd.DataFrame(frame)

    def mean_abs(self) -> np.ndarray:
        """Mean |value| of each feature name over the rows that have it, (len(feature_names), n_outputs).

        >>> import numpy as np
        >>> exp = RaggedAttribution(values=[[[1.0], [-2.0]], [[3.0], [0.0]]], base_values=np.zeros((2, 1)),
        ...                         row_feature_names=[["a", "b"], ["a"]], method="demo")
        >>> exp.feature_names, exp.mean_abs().ravel().tolist()
        (['a', 'b'], [2.0, 2.0])
        """
        names = self.feature_names
        column = {name: j for j, name in enumerate(names)}
        values = self._store["values"]
        total = np.zeros((len(names), values.shape[2]))
        count = np.zeros(len(names))
        for i, row in enumerate(self._store["row_feature_names"]):
            positions = [column[name] for name in row]
            total[positions] += np.abs(values[i, : len(row)])
            count[positions] += 1
        return total / count[:, None] if len(names) else total
