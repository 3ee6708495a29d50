"""CounterfactualSet: per row, ``n`` counterfactuals with their validity, distance, changes and binding constraints.

Rows are stored encoded as numbers (a categorical feature as the index of its value in
``domains``), so that a set saves without pickle whatever the column types;
:meth:`CounterfactualSet.counterfactuals` gives them back as the user's values.
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.results.attribution import FEATURES, OUTPUTS, ROWS
from xaikit.results.base import Axis, Field, JsonField, Result

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CounterfactualSet"]

COUNTERFACTUALS = Axis("counterfactuals", prefix="cf", repr_name="n_counterfactuals")
_TYPES = ("numeric", "integer", "categorical")


def _check_types(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int]) -> tuple[str, ...]:
    d = lengths["d"]
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != d or any(v not in _TYPES for v in value):
        raise InvalidParameterError(f"feature_types: expected {d} of {list(_TYPES)} (one per feature), got {describe(value)}")
    return tuple(value)


def _scalar(v: Any, where: str) -> Any:
    if v is None or isinstance(v, (str, bool)):
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return None if math.isnan(float(v)) else float(v)
    raise InvalidParameterError(f"{where}: expected str, int, float, bool or None categories, got {describe(v)}")


def _check_domains(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int]) -> tuple[Any, ...]:
    d = lengths["d"]
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != d:
        raise InvalidParameterError(f"domains: expected {d} entries (a list of categories or None per feature), got {describe(value)}")
    return tuple(None if v is None else tuple(_scalar(c, f"domains[{j}]") for c in v) for j, v in enumerate(value))


def _check_binding(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int]) -> tuple[Any, ...]:
    n, c = lengths["n"], lengths["c"]
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != n:
        raise InvalidParameterError(f"binding: expected {n} lists (one per row) of {c} lists of str, got {describe(value)}")
    out = []
    for i, row in enumerate(value):
        if isinstance(row, str) or not isinstance(row, Sequence) or len(row) != c:
            raise InvalidParameterError(f"binding[{i}]: expected {c} lists of str, got {describe(row)}")
        for k, names in enumerate(row):
            if isinstance(names, str) or not isinstance(names, Sequence) or not all(isinstance(s, str) for s in names):
                raise InvalidParameterError(f"binding[{i}][{k}]: expected a list of str, got {describe(names)}")
        out.append(tuple(tuple(names) for names in row))
    return tuple(out)


class CounterfactualSet(Result):
    """Counterfactuals of each row: what would change the model's decision (:class:`~xaikit.Counterfactuals`).

    Parameters
    ----------
    values : array-like (n_rows, n_counterfactuals, n_features)
        The counterfactual rows, encoded: numbers as they are, a categorical feature as the index
        of its value in ``domains``.
    data : array-like (n_rows, n_features)
        The explained rows, encoded alike.
    valid : array-like of int (n_rows, n_counterfactuals)
        1 when the model's own prediction on the returned row meets the desired outcome.
    distance : array-like (n_rows, n_counterfactuals)
        MAD-scaled L1 distance to the row (1 per categorical feature changed).
    changed : array-like of int (n_rows, n_counterfactuals, n_features)
        1 where the counterfactual changes the feature.
    plausibility : array-like (n_rows, n_counterfactuals)
        Mean distance to the nearest rows of the data with the desired outcome (NaN when none).
    predictions : array-like (n_rows, n_counterfactuals, n_outputs)
        The model's outputs on the counterfactuals; ``original_predictions`` (n_rows, n_outputs) on the rows.
    feature_types : list of {"numeric", "integer", "categorical"}
    domains : list of (list or None)
        The categories of each categorical feature (None for numeric ones).
    binding : list (rows) of list (counterfactuals) of list of str
        The constraints that hold each counterfactual: at a range bound, at ``max_changed``, a relation tight.
    feature_names, output_names, method, params, diagnostics, provenance, diagnostic_axes
        As for every result. ``cfs[rows, counterfactuals, features]`` selects.

    Examples
    --------
    >>> cfs = CounterfactualSet(values=[[[1.0, 1.0]]], data=[[0.0, 1.0]], valid=[[1]], distance=[[2.0]],
    ...                         changed=[[[1, 0]]], plausibility=[[0.5]], predictions=[[[0.8]]],
    ...                         original_predictions=[[0.3]], feature_types=["numeric", "categorical"],
    ...                         domains=[None, ["no", "yes"]], feature_names=["income", "owner"], method="demo")
    >>> cfs.counterfactuals(0)[["income", "owner", "valid", "distance", "changed"]].values.tolist()
    [[1.0, 'yes', True, 2.0, 1]]
    >>> cfs.text(0)
    'change income from 0 to 1'
    """

    kind = "counterfactuals"
    plot_kind = "counterfactuals"
    fields = (
        Field("values", "ncd", finite=True, doc="The counterfactual rows, encoded (n_rows, n_counterfactuals, n_features)."),
        Field("data", "nd", finite=True, column=None, doc="The explained rows, encoded (n_rows, n_features)."),
        Field("valid", "nc", dtype="int", doc="1 where the model's prediction meets the desired outcome."),
        Field("distance", "nc", finite=True, doc="MAD-scaled L1 distance to the row."),
        Field("changed", "ncd", dtype="int", doc="1 where a counterfactual changes a feature."),
        Field("plausibility", "nc", doc="Mean distance to the nearest data rows of the desired outcome."),
        Field("predictions", "nco", finite=True, column=None, doc="The model's outputs on the counterfactuals."),
        Field("original_predictions", "no", finite=True, column=None, doc="The model's outputs on the rows."),
        JsonField("feature_types", axis="d", check=_check_types, optional=False, doc="numeric, integer or categorical, per feature."),
        JsonField("domains", axis="d", check=_check_domains, optional=False, doc="Each categorical feature's values (None: numeric)."),
        JsonField("binding", axis="n", check=_check_binding, doc="Per row and counterfactual, the constraints that bind."),
    )
    axes = {"n": ROWS, "c": COUNTERFACTUALS, "d": FEATURES, "o": OUTPUTS}
    default_diagnostic_axes: ClassVar[Mapping[str, str]] = {"n_valid": "n", "diversity": "n"}

    values: np.ndarray
    data: np.ndarray
    distance: np.ndarray
    changed: np.ndarray
    plausibility: np.ndarray
    predictions: np.ndarray
    original_predictions: np.ndarray
    feature_names: list[str]
    output_names: list[str]
    n_rows: int
    n_counterfactuals: int

    def _validate(self) -> None:
        valid, changed = self._store["valid"], self._store["changed"]
        for name, arr in (("valid", valid), ("changed", changed)):
            if arr.size and not np.isin(arr, (0, 1)).all():
                raise InvalidParameterError(f"{name}: expected 0 or 1 values, got {describe(arr)} with other values")
        domains = self._store["domains"]
        codes = self._store["values"]
        for j, domain in enumerate(domains):
            if domain is None:
                continue
            col = np.concatenate([codes[:, :, j].ravel(), self._store["data"][:, j]])
            if col.size and ((col < 0) | (col >= len(domain)) | (col != np.rint(col))).any():
                raise InvalidParameterError(f"values: feature {j} is categorical with {len(domain)} categories; got codes outside 0..{len(domain) - 1}")

    @property
    def valid(self) -> np.ndarray:
        """Whether each counterfactual meets the desired outcome, bool (n_rows, n_counterfactuals)."""
        return self._store["valid"].astype(bool)  # type: ignore[no-any-return]

    @property
    def n_changed(self) -> np.ndarray:
        """The number of features each counterfactual changes (its sparsity), (n_rows, n_counterfactuals)."""
        return self._store["changed"].sum(axis=2)  # type: ignore[no-any-return]

    def _decoded(self, codes: np.ndarray) -> list[list[Any]]:
        types, domains = self._store["feature_types"], self._store["domains"]
        out = []
        for row in np.atleast_2d(codes):
            cells: list[Any] = []
            for j, v in enumerate(row):
                if domains[j] is not None:
                    cells.append(domains[j][int(round(v))])
                elif types[j] == "integer":
                    cells.append(int(round(v)))
                else:
                    cells.append(float(v))
            out.append(cells)
        return out

    def rows(self) -> pd.DataFrame:
        """The explained rows as the user's values."""
        import pandas as pd

        return pd.DataFrame(self._decoded(self._store["data"]), columns=self.feature_names)

    def counterfactuals(self, row: int = 0) -> pd.DataFrame:
        """Row ``row``'s counterfactuals: the features (the user's values), then ``valid``, ``distance``,
        ``changed`` (how many features change), ``plausibility`` and ``binding`` (the constraints that bind)."""
        import pandas as pd

        i = self._one_position(row, "n", "row")
        frame = pd.DataFrame(self._decoded(self._store["values"][i]), columns=self.feature_names)
        frame["valid"] = self.valid[i]
        frame["distance"] = self._store["distance"][i]
        frame["changed"] = self.n_changed[i]
        frame["plausibility"] = self._store["plausibility"][i]
        binding = self._store["binding"]
        frame["binding"] = ["; ".join(b) for b in binding[i]] if binding is not None else ""
        return frame

    def changes(self, row: int = 0, counterfactual: int = 0) -> list[tuple[str, Any, Any]]:
        """``(feature, from, to)`` of each feature one counterfactual changes."""
        i = self._one_position(row, "n", "row")
        k = self._one_position(counterfactual, "c", "counterfactual")
        x = self._decoded(self._store["data"][i])[0]
        z = self._decoded(self._store["values"][i, k])[0]
        names = self.feature_names
        return [(names[j], x[j], z[j]) for j in np.flatnonzero(self._store["changed"][i, k])]

    def text(self, row: int = 0, counterfactual: int | None = None) -> str:
        """A readable ``"change A from x to y and B from u to v"`` of the best valid counterfactual of
        ``row`` (or of the one given); says so when no counterfactual was found."""
        i = self._one_position(row, "n", "row")
        if counterfactual is None:
            valid = np.flatnonzero(self.valid[i])
            if not len(valid):
                return f"no counterfactual found for row {i}: none of the {self.n_counterfactuals} candidates changes the decision"
            k = int(valid[np.argmin(self._store["distance"][i, valid])])
        else:
            k = self._one_position(counterfactual, "c", "counterfactual")
        parts = [f"{f} from {_show(a)} to {_show(b)}" for f, a, b in self.changes(i, k)]
        if not parts:
            text = "no change"
        else:
            text = "change " + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0])
        if counterfactual is not None and not self.valid[i, k]:
            text += " (does not change the decision)"
        return text

    def to_frame(self) -> pd.DataFrame:
        """One line per (row, counterfactual): ``row``, ``counterfactual``, the features, ``valid``,
        ``distance``, ``changed``, ``plausibility``, ``binding``."""
        import pandas as pd

        parts = []
        for i in range(self.n_rows):
            frame = self.counterfactuals(i)
            frame.insert(0, "counterfactual", np.arange(len(frame)))
            frame.insert(0, "row", i)
            parts.append(frame)
        if not parts:
            return pd.DataFrame(columns=["row", "counterfactual", *self.feature_names, "valid", "distance", "changed"])
        return pd.concat(parts, ignore_index=True)

    def _repr_html_(self) -> str:
        """A short table of the first rows' best counterfactuals (bounded size, escaped)."""
        lines = []
        for i in range(min(self.n_rows, 10)):
            lines.append(f"<tr><td>{i}</td><td>{int(self.valid[i].sum())}/{self.n_counterfactuals}</td>"
                         f"<td>{html.escape(self.text(i)[:300])}</td></tr>")
        more = f"<p>... {self.n_rows - 10} more rows</p>" if self.n_rows > 10 else ""
        return (f'<div class="xaikit-counterfactuals"><p><b>CounterfactualSet</b> method={html.escape(repr(self.method))}, '
                f"n_rows={self.n_rows}, n_counterfactuals={self.n_counterfactuals}</p><table><thead><tr><th>row</th>"
                f"<th>valid</th><th>best change</th></tr></thead><tbody>{''.join(lines)}</tbody></table>{more}</div>")


def _show(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)
