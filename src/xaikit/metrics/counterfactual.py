"""The CARLA measures of counterfactuals, for any set of them: ours or another library's.

:func:`counterfactual_metrics` measures counterfactuals against the model itself (it predicts
them again; what a method says about its own output is not trusted) and returns a
:class:`CounterfactualMetrics` result: one value per (row, counterfactual) and per row, and
:meth:`CounterfactualMetrics.summary` for the aggregates.

The definitions follow CARLA (Pawelczyk, Bielawski, van den Heuvel, Richter and Kasneci, "CARLA: A
Python Library to Benchmark Algorithmic Recourse and Counterfactual Explanation Algorithms",
NeurIPS Datasets and Benchmarks 2021, section 4 and ``carla/evaluation``):

- validity: the model's decision for the counterfactual is the one desired (CARLA's success rate
  is the share of rows with a counterfactual found);
- distances ``d1 .. d4``: L0 (number of changed features), L1, L2 and L-inf of the change. CARLA
  measures them on min-max normalised, one-hot encoded features and its ``d3`` is the *squared*
  L2; here numeric features are divided by their median absolute deviation in ``data`` (MAD, as
  DiCE and Wachter et al. do; the standard deviation where the MAD is 0, as
  :class:`~xaikit.Counterfactuals` does; unscaled without ``data``), a changed categorical feature counts 1,
  and L2 is the Euclidean norm (its square is CARLA's ``d3``);
- redundancy: the number of changed features that can be set back to the original value one at
  a time while the counterfactual stays valid (0 is best);
- yNN: the share of the ``n_neighbors`` (CARLA's ``y``, 5) nearest rows of ``data`` (Euclidean,
  in the scaled space) to which the model gives the counterfactual's class (1 is best);
- constraint violations: the number of constraints a counterfactual breaks (CARLA counts changed
  immutable features; here every constraint of a :class:`~xaikit.Constraints` object);
- time: seconds per row, when the counterfactuals record it or ``time`` is given.

Diversity (DiCE, Mothilal, Sharma and Tan 2020) is measured per row over its valid
counterfactuals: the mean pairwise scaled L1 distance, and the mean share of features on which two
of them differ.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.results.counterfactual_metrics import PER_COUNTERFACTUAL, CounterfactualMetrics

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CounterfactualMetrics", "counterfactual_metrics"]

# ----------------------------------------------------------------------------- tables


def _is_frame(obj: Any) -> bool:
    return hasattr(obj, "columns") and hasattr(obj, "iloc") and hasattr(obj, "dtypes")


def _missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, (float, np.floating)):
        return bool(np.isnan(v))
    try:
        import pandas as pd

        return v is pd.NA or v is pd.NaT
    except ImportError:  # pragma: no cover - pandas is there whenever a frame is
        return False


def _isna(col: np.ndarray) -> np.ndarray:
    """Which values of an object column are missing (None, NaN, pandas' NA), as a bool array."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - without pandas, one value at a time
        return np.fromiter((_missing(v) for v in col), dtype=bool, count=len(col))
    return np.asarray(pd.isna(col), dtype=bool)


class _Table:
    """The features of X: names, which are numeric, and how to turn rows back into model inputs."""

    def __init__(self, X: Any, feature_names: Sequence[str] | None) -> None:
        if _is_frame(X):
            import pandas as pd

            self.frame: pd.DataFrame | None = X
            self.names = [str(c) for c in X.columns]
            self.numeric = np.array(
                [pd.api.types.is_numeric_dtype(X[c].dtype) and not isinstance(X[c].dtype, pd.CategoricalDtype) for c in X.columns]
            )
            self.rows = X.to_numpy(dtype=object)
            return
        self.frame = None
        if isinstance(X, (str, bytes)) or X is None:
            raise InvalidParameterError(f"X: expected an array (n_rows, n_features) or a DataFrame, got {describe(X)}")
        try:
            arr = np.asarray(X)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"X: expected an array (n_rows, n_features) or a DataFrame, got {describe(X)}") from None
        if arr.ndim != 2 or arr.shape[1] == 0:
            raise InvalidParameterError(f"X: expected an array (n_rows, n_features) or a DataFrame, got {describe(arr)}")
        d = arr.shape[1]
        if feature_names is None:
            self.names = [f"x{j}" for j in range(d)]
        else:
            self.names = [str(f) for f in feature_names]
            if len(self.names) != d:
                raise InvalidParameterError(f"feature_names: expected {d} names (one per column of X), got {len(self.names)}")
        self.rows = arr.astype(object)
        self.numeric = np.array([_numeric_column(arr[:, j]) for j in range(d)]) if arr.dtype.kind not in "biuf" else np.ones(d, dtype=bool)
        self.all_numeric = arr.dtype.kind in "biuf"

    @property
    def d(self) -> int:
        return len(self.names)

    def rows_of(self, obj: Any, name: str) -> np.ndarray:
        """``obj`` (a DataFrame with the feature columns, or an array (m, d)) as an object array (m, d)."""
        if _is_frame(obj):
            missing = [c for c in self.names if c not in [str(k) for k in obj.columns]]
            if missing:
                raise InvalidParameterError(f"{name}: expected the feature columns {self.names}, got a DataFrame without {missing}")
            cols = {str(k): k for k in obj.columns}
            return np.column_stack([obj[cols[c]].to_numpy(dtype=object) for c in self.names]) if len(obj) else np.empty((0, self.d), dtype=object)
        if obj is None:
            return np.empty((0, self.d), dtype=object)
        try:
            arr = np.asarray(obj, dtype=object)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"{name}: expected an array (k, {self.d}) or a DataFrame, got {describe(obj)}") from None
        if arr.size == 0:
            return np.empty((0, self.d), dtype=object)
        if arr.ndim == 1 and arr.shape[0] == self.d:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.d:
            raise InvalidParameterError(f"{name}: expected an array (k, {self.d}) (one column per feature of X), got {describe(obj)}")
        return arr

    def inputs(self, rows: np.ndarray, name: str) -> Any:
        """Rows (m, d) of objects as the model takes them: a DataFrame shaped like X, or an array."""
        if self.frame is None:
            if getattr(self, "all_numeric", False):
                try:
                    return rows.astype(np.float64)
                except (TypeError, ValueError):
                    raise InvalidParameterError(f"{name}: expected numbers (X is numeric), got non-numeric values") from None
            return rows
        import pandas as pd

        out = {}
        for j, c in enumerate(self.frame.columns):
            dtype = self.frame[c].dtype
            col = rows[:, j]
            try:
                if isinstance(dtype, pd.CategoricalDtype):
                    out[c] = pd.Categorical(col, categories=dtype.categories, ordered=dtype.ordered)
                elif self.numeric[j]:
                    series = pd.Series(col.astype(np.float64))
                    out[c] = series.astype(dtype) if dtype.kind in "iub" and not series.isna().any() else series
                else:
                    out[c] = pd.Series(col, dtype=dtype)
            except (TypeError, ValueError) as exc:
                raise InvalidParameterError(f"{name}: column {c!r}: expected values of X's dtype {dtype}, got {describe(col)} ({exc})") from None
        return pd.DataFrame(out)


def _numeric_column(col: np.ndarray) -> bool:
    try:
        np.asarray(col, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True


def _stack_counterfactuals(cfs: Any, table: _Table, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Counterfactuals as an object array (n, k, d), the found mask (n, k) and the seconds per row when recorded."""
    time = None
    if hasattr(cfs, "counterfactuals") and callable(cfs.counterfactuals) and hasattr(cfs, "n_rows"):
        if int(cfs.n_rows) != n:
            raise InvalidParameterError(f"counterfactuals: expected a result for the {n} rows of X, got one for {cfs.n_rows} rows")
        per_row = [cfs.counterfactuals(i) for i in range(n)]
        time = _recorded_time(cfs, n)
    elif isinstance(cfs, np.ndarray) and cfs.dtype != object or (isinstance(cfs, np.ndarray) and cfs.ndim == 3):
        if cfs.ndim != 3 or cfs.shape[0] != n or cfs.shape[2] != table.d:
            raise InvalidParameterError(
                f"counterfactuals: expected an array (n_rows, k, n_features) = ({n}, k, {table.d}), got {describe(cfs)}"
            )
        per_row = list(cfs)
    elif isinstance(cfs, Sequence) and not isinstance(cfs, (str, bytes)):
        if len(cfs) != n:
            raise InvalidParameterError(f"counterfactuals: expected one entry per row of X ({n}), got {len(cfs)}")
        per_row = list(cfs)
    else:
        raise InvalidParameterError(
            "counterfactuals: expected a Counterfactuals result, an array (n_rows, k, n_features) or a list (one per row) "
            f"of DataFrames or arrays (k, n_features), got {describe(cfs)}"
        )
    blocks = [table.rows_of(r, f"counterfactuals[{i}]") for i, r in enumerate(per_row)]
    k = max((len(b) for b in blocks), default=0)
    out = np.full((n, max(k, 1), table.d), np.nan, dtype=object)
    for i, b in enumerate(blocks):
        out[i, : len(b)] = b
    found = np.array([[not all(_missing(v) for v in out[i, j]) for j in range(out.shape[1])] for i in range(n)], dtype=bool).reshape(n, -1)
    return out, found, time


def _recorded_time(result: Any, n: int) -> np.ndarray | None:
    diagnostics = getattr(result, "diagnostics", None)
    if not isinstance(diagnostics, Mapping):
        return None
    for key in ("time", "seconds", "runtime_per_row"):  # seconds per row
        value = diagnostics.get(key)
        if isinstance(value, np.ndarray) and value.shape == (n,):
            return value.astype(np.float64)
    for key in ("runtime_s", "runtime"):  # seconds for all the rows
        runtime = diagnostics.get(key)
        if isinstance(runtime, numbers.Real) and not isinstance(runtime, bool) and n:
            return np.full(n, float(runtime) / n)
    return None


# ----------------------------------------------------------------------------- decisions


class _Decision:
    """The model's decision on rows and the validity rule ``desired`` sets."""

    def __init__(self, model: Any, table: _Table, desired: Any, target: Any, threshold: float) -> None:
        from xaikit.explainers.base import output_names
        from xaikit.models import adapt

        self.model = adapt(model)
        self.table = table
        self.threshold = threshold
        self.calls = 0
        self.desired = desired
        self.target = target
        self.mode = ""
        self.klass = -1
        self._names: list[str] | None = None
        self._output_names = output_names

    def _setup(self, n_outputs: int) -> None:
        if self.mode:
            return
        names = self._output_names(getattr(self.model, "_output_names", None), n_outputs)
        self._names = names
        desired = self.desired
        if isinstance(desired, str) and desired == "flip":
            self.mode = "flip"
        elif isinstance(desired, tuple) and len(desired) == 2 and all(isinstance(v, numbers.Real) for v in desired):
            low, high = float(desired[0]), float(desired[1])
            if not low <= high:
                raise InvalidParameterError(f"desired: expected a range (low, high) with low <= high, got {desired!r}")
            self.low, self.high = low, high
            if self.target is None:
                if n_outputs != 1:
                    raise InvalidParameterError(
                        f"target: expected the output the range desired={desired!r} applies to (the model has {n_outputs} outputs: {names}), got None"
                    )
                self.column = 0
            else:
                from xaikit.explainers.base import select_outputs

                idx, _ = select_outputs(self.target, names)
                if len(idx) != 1:
                    raise InvalidParameterError(f"target: expected one output, got {self.target!r}")
                self.column = idx[0]
            self.mode = "range"
        else:
            classes = names if n_outputs > 1 else ["0", "1"]
            if isinstance(desired, str) and desired in classes:
                self.klass = classes.index(desired)
            elif isinstance(desired, (int, np.integer)) and not isinstance(desired, bool) and str(int(desired)) in classes:
                self.klass = classes.index(str(int(desired)))
            elif isinstance(desired, (int, np.integer)) and not isinstance(desired, bool) and 0 <= int(desired) < len(classes):
                self.klass = int(desired)
            else:
                raise InvalidParameterError(
                    f"desired: expected 'flip', a class (one of {classes}, or its position) or a range (low, high), got {desired!r}"
                )
            self.mode = "class"

    def predict(self, rows: np.ndarray, name: str) -> np.ndarray:
        """The decision label of each row (int): its class, or 1 when in the desired range."""
        if len(rows) == 0:
            return np.zeros(0, dtype=np.int64)
        pred = np.asarray(self.model.predict(self.table.inputs(rows, name)), dtype=np.float64)
        self.calls += len(rows)
        self._setup(pred.shape[1])
        if self.mode == "range":
            p = pred[:, self.column]
            return ((p >= self.low) & (p <= self.high)).astype(np.int64)
        if pred.shape[1] == 1:
            return (pred[:, 0] > self.threshold).astype(np.int64)
        return np.argmax(pred, axis=1).astype(np.int64)

    def valid(self, labels: np.ndarray, original: np.ndarray) -> np.ndarray:
        if self.mode == "flip":
            return labels != original
        if self.mode == "class":
            return labels == self.klass
        return labels == 1


# ----------------------------------------------------------------------------- distances


def _scales(table: _Table, data_rows: np.ndarray | None) -> np.ndarray:
    """Per numeric feature: its MAD in ``data``; where that is 0 (a feature mostly at one value, such as
    a capital gain), its standard deviation; then 1 (as :class:`~xaikit.Counterfactuals` scales). 1 for
    categorical features."""
    scale = np.ones(table.d)
    if data_rows is None:
        return scale
    for j in np.flatnonzero(table.numeric):
        col = np.asarray(data_rows[:, j], dtype=np.float64)
        col = col[~np.isnan(col)]
        if col.size:
            spread = float(np.median(np.abs(col - np.median(col))))
            if not spread > 0:
                spread = float(col.std())
            scale[j] = spread if spread > 0 else 1.0
    return scale


def _deltas(a: np.ndarray, b: np.ndarray, numeric: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Scaled per-feature change between rows ``a`` and ``b`` (both (m, d) objects, or ``b`` one row).

    Numeric: |a - b| / scale (both missing: 0; one missing: 1); categorical: 0 when equal (or both
    missing), else 1.
    """
    b = np.broadcast_to(b, a.shape)
    out = np.zeros(a.shape, dtype=np.float64)
    for j in range(a.shape[1]):
        if numeric[j]:
            x = np.asarray(a[:, j], dtype=np.float64)
            y = np.asarray(b[:, j], dtype=np.float64)
            nx, ny = np.isnan(x), np.isnan(y)
            diff = np.abs(np.where(nx | ny, 0.0, x - y)) / scale[j]
            out[:, j] = np.where(nx & ny, 0.0, np.where(nx | ny, 1.0, diff))
        else:
            mx, my = _isna(a[:, j]), _isna(b[:, j])
            same = np.asarray(a[:, j] == b[:, j], dtype=bool)
            out[:, j] = np.where(mx & my, 0.0, np.where(mx | my, 1.0, (~same).astype(np.float64)))
    return out


# ----------------------------------------------------------------------------- constraints


def _violations(constraints: Any, table: _Table, x: np.ndarray, cfs: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Number of constraints each counterfactual (m, d) of the row ``x`` (d,) breaks.

    A :class:`~xaikit.Constraints` is bound to the table's schema (read from ``reference``: the
    data, else X; the domain of a categorical feature: the constraints' ``categories``, else the
    categories of X's pandas categorical column, else the values in ``reference``) and every
    constraint it declares is checked (a category outside a feature's domain breaks its
    categorical domain); any other object is read through its ``immutable``,
    ``ranges``, ``monotone`` and ``max_changed`` attributes.
    """
    if hasattr(constraints, "bind") and callable(constraints.bind):
        from xaikit.explainers.counterfactual.constraints import schema_of

        ref = table.inputs(reference, "data") if table.frame is not None else _plain_rows(reference)
        frame = hasattr(ref, "columns")
        if not frame:
            import pandas as pd

            ref = pd.DataFrame({name: ref[:, j] for j, name in enumerate(table.names)})
        # a categorical column of X declares its domain; the constraints' own categories come first
        categories = _declared_categories(table)
        categories.update(getattr(constraints, "categories", None) or {})
        schema = schema_of(ref, categories)
        bound = constraints.bind(schema)
        Z, X0 = _encode(schema, cfs), _encode(schema, np.broadcast_to(x, cfs.shape))
        # a changed immutable feature is also outside its (frozen) bounds: count it once
        return np.array(
            [float(len({w.replace("range/direction of ", "immutable ") if w.replace("range/direction of ", "immutable ") in v else w for w in v}))
             for v in bound.violated(Z, X0)]
        )
    names = table.names
    changed = _deltas(cfs, x, table.numeric, np.ones(table.d)) > 0
    count = np.zeros(len(cfs))
    for f in getattr(constraints, "immutable", None) or ():
        count += changed[:, _feature(f, names)]
    for f, (low, high) in dict(getattr(constraints, "ranges", None) or {}).items():
        col = np.asarray(cfs[:, _feature(f, names)], dtype=np.float64)
        count += (col < low) | (col > high)
    for f, way in dict(getattr(constraints, "monotone", None) or {}).items():
        j = _feature(f, names)
        step = np.asarray(cfs[:, j], dtype=np.float64) - float(x[j])
        count += (step < 0) if way == "increase" else (step > 0)
    most = getattr(constraints, "max_changed", None)
    if most is not None:
        count += changed.sum(axis=1) > int(most)
    return count


def _declared_categories(table: _Table) -> dict[str, list[Any]]:
    """The categories of X's pandas categorical columns."""
    if table.frame is None:
        return {}
    import pandas as pd

    return {str(c): list(t.categories) for c, t in table.frame.dtypes.items() if isinstance(t, pd.CategoricalDtype)}


def _plain_rows(rows: np.ndarray) -> np.ndarray:
    """Rows as float64 when every value is a number, else as they are."""
    try:
        return np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError):
        return rows


def _encode(schema: Any, rows: np.ndarray) -> np.ndarray:
    """Rows (m, d) of objects in a schema's float coding: categories as their code (-1 when outside the
    domain), numbers as floats (NaN when missing or not a number)."""
    from xaikit.explainers.counterfactual.constraints import _key

    Z = np.full(rows.shape, np.nan)
    for j, domain in enumerate(schema.domains):
        if domain is None:
            for i, v in enumerate(rows[:, j]):
                try:
                    Z[i, j] = float(v)
                except (TypeError, ValueError):
                    Z[i, j] = np.nan
        else:
            lookup = {_key(v): k for k, v in enumerate(domain)}
            Z[:, j] = [lookup.get(_key(v), -1) for v in rows[:, j]]
    return Z


def _feature(name: Any, names: list[str]) -> int:
    if name not in names:
        raise InvalidParameterError(f"constraints: expected features among {names}, got {name!r}")
    return names.index(name)


# ----------------------------------------------------------------------------- the function


def counterfactual_metrics(
    model: Any,
    X: Any,
    counterfactuals: Any,
    *,
    data: Any = None,
    desired: Any = "flip",
    constraints: Any = None,
    target: Any = None,
    n_neighbors: int = 5,
    decision_threshold: float = 0.5,
    time: Any = None,
    feature_names: Sequence[str] | None = None,
) -> CounterfactualMetrics:
    """The CARLA measures of counterfactuals of the rows of ``X``, ours or another library's.

    The model predicts every counterfactual again: a counterfactual is valid when the model's
    decision for it is the one desired, whatever the method that made it says. Definitions and
    their sources: see :mod:`xaikit.metrics.counterfactual`.

    Parameters
    ----------
    model : model
        Anything :func:`xaikit.models.adapt` takes. The decision is the class of largest output
        (a classifier's class), or, for a model with one output, ``output > decision_threshold`` (as :class:`~xaikit.Counterfactuals` decides).
    X : DataFrame or array-like (n_rows, n_features)
        The original rows (the "factuals").
    counterfactuals : Counterfactuals, array-like (n_rows, k, n_features) or list of DataFrames
        A :class:`~xaikit.Counterfactuals` result; an array whose all-NaN rows are "none found";
        or one DataFrame (the feature columns; other columns are ignored) or array (k_i,
        n_features) per row, possibly empty or None, padded with "none found" to the longest.
    data : DataFrame or array-like (n, n_features), optional
        Reference data (e.g. the training rows): numeric features are scaled by their median
        absolute deviation in it, and yNN looks for neighbours in it. Without it distances are
        unscaled and yNN is NaN. ``params["scale"]`` records which.
    desired : "flip", class or (low, high)
        Valid means: another class than the original's (``"flip"``), this class (a name among the
        output names, or a position), or the output ``target`` within ``[low, high]``.
    constraints : Constraints, optional
        Counted per counterfactual in ``violations``.
    target : int or str, optional
        The output a range ``desired`` applies to (needed when the model has several outputs).
    n_neighbors : int
        yNN's number of neighbours (CARLA's ``y``).
    decision_threshold : float
        The decision threshold of a model with one output.
    time : float or array-like (n_rows,), optional
        Seconds spent per row, for counterfactuals that do not record it.
    feature_names : list of str, optional
        Names of the columns of an array ``X``.

    Returns
    -------
    CounterfactualMetrics
        A declared result (``to_frame()``: one line per (row, counterfactual); ``summary()``: the
        aggregates as a dict).

    Examples
    --------
    >>> import numpy as np
    >>> model = lambda X: (X[:, 0] + X[:, 1] > 1.0).astype(float)   # approve when x0 + x1 > 1
    >>> X = np.array([[0.0, 0.0]])
    >>> cfs = np.array([[[2.0, 0.0], [0.5, 0.7], [np.nan, np.nan]]])  # the third: none found
    >>> m = counterfactual_metrics(model, X, cfs)
    >>> m.valid.tolist(), m.l0.tolist()[0][:2], m.redundancy.tolist()[0][:2]
    ([[1.0, 1.0, nan]], [1.0, 2.0], [0.0, 0.0])
    >>> round(m.summary()["l1"], 3)
    1.6
    """
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, numbers.Integral) or n_neighbors < 1:
        raise InvalidParameterError(f"n_neighbors: expected an int >= 1, got {describe(n_neighbors)}")
    if isinstance(decision_threshold, bool) or not isinstance(decision_threshold, numbers.Real) or not math.isfinite(float(decision_threshold)):
        raise InvalidParameterError(f"decision_threshold: expected a finite number, got {describe(decision_threshold)}")
    table = _Table(X, feature_names)
    n, d = table.rows.shape
    cf, found, recorded = _stack_counterfactuals(counterfactuals, table, n)
    k = cf.shape[1]
    data_rows = None
    if data is not None:
        data_rows = table.rows_of(data, "data")
        if len(data_rows) == 0:
            raise InvalidParameterError(f"data: expected at least one row, got {describe(data)}")
    scale = _scales(table, data_rows)
    decision = _Decision(model, table, desired, target, float(decision_threshold))

    original = decision.predict(table.rows, "X")
    fi, fj = np.nonzero(found)
    flat = cf[fi, fj] if len(fi) else np.empty((0, d), dtype=object)
    labels = decision.predict(flat, "counterfactuals")
    ok = decision.valid(labels, original[fi]) if len(fi) else np.zeros(0, dtype=bool)

    nan = np.full((n, k), np.nan)
    valid = nan.copy()
    valid[fi, fj] = ok
    delta = _deltas(flat, table.rows[fi], table.numeric, scale) if len(fi) else np.zeros((0, d))
    changed = _deltas(flat, table.rows[fi], table.numeric, np.ones(d)) > 0 if len(fi) else np.zeros((0, d), dtype=bool)
    per: dict[str, np.ndarray] = {name: nan.copy() for name, _ in PER_COUNTERFACTUAL}
    per["l0"][fi, fj] = changed.sum(axis=1)
    per["l1"][fi, fj] = delta.sum(axis=1)
    per["l2"][fi, fj] = np.sqrt((delta**2).sum(axis=1))
    per["linf"][fi, fj] = delta.max(axis=1, initial=0.0)

    # redundancy: revert each changed feature of each valid counterfactual, one at a time
    owners, features = np.nonzero(changed & ok[:, None])
    if len(owners):
        reverted = flat[owners].copy()
        reverted[np.arange(len(owners)), features] = table.rows[fi[owners], features]
        still = decision.valid(decision.predict(reverted, "counterfactuals"), original[fi[owners]])
        counts = np.bincount(owners[still], minlength=len(fi)).astype(np.float64)
    else:
        counts = np.zeros(len(fi))
    per["redundancy"][fi, fj] = np.where(ok, counts, np.nan)

    if data_rows is not None and len(fi):
        data_labels = decision.predict(data_rows, "data")
        m = min(int(n_neighbors), len(data_rows))
        share = np.empty(len(fi))
        for c in range(len(fi)):
            dist = np.sqrt((_deltas(data_rows, flat[c], table.numeric, scale) ** 2).sum(axis=1))
            nearest = np.argsort(dist, kind="stable")[:m]
            share[c] = float((data_labels[nearest] == labels[c]).mean())
        per["ynn"][fi, fj] = share

    if constraints is not None:
        for i in np.unique(fi):
            rows_i = fi == i
            per["violations"][i, fj[rows_i]] = _violations(
                constraints, table, table.rows[i], flat[rows_i], data_rows if data_rows is not None else table.rows
            )

    diversity = np.full(n, np.nan)
    count_div = np.full(n, np.nan)
    for i in range(n):
        mine = flat[(fi == i) & ok]
        if len(mine) >= 2:
            pair_l1, pair_count = [], []
            for a in range(len(mine)):
                dl = _deltas(mine[a + 1 :], mine[a], table.numeric, scale)
                ch = _deltas(mine[a + 1 :], mine[a], table.numeric, np.ones(d)) > 0
                pair_l1.extend(dl.sum(axis=1).tolist())
                pair_count.extend((ch.sum(axis=1) / d).tolist())
            diversity[i] = float(np.mean(pair_l1))
            count_div[i] = float(np.mean(pair_count))

    seconds = _check_time(time, n) if time is not None else recorded
    return CounterfactualMetrics(
        valid=valid,
        found=found.astype(np.int64),
        **per,
        diversity=diversity,
        count_diversity=count_div,
        time=seconds if seconds is not None else np.full(n, np.nan),
        method="counterfactual_metrics",
        params={
            "desired": desired if isinstance(desired, (str, int)) else list(desired) if isinstance(desired, tuple) else repr(desired),
            "scale": "mad" if data_rows is not None else "none",
            "n_neighbors": int(n_neighbors),
            "decision_threshold": float(decision_threshold),
            "constraints": constraints is not None,
        },
        diagnostics={"n_model_rows": decision.calls},
        provenance={"feature_names": list(table.names), "counterfactuals": type(counterfactuals).__name__},
    )


def _check_time(time: Any, n: int) -> np.ndarray:
    if isinstance(time, numbers.Real) and not isinstance(time, bool):
        return np.full(n, float(time))
    try:
        arr = np.asarray(time, dtype=np.float64)
    except (TypeError, ValueError):
        arr = np.zeros(0)
    if arr.shape != (n,):
        raise InvalidParameterError(f"time: expected seconds per row, a number or an array ({n},), got {describe(time)}")
    return arr


def metrics_frame(metrics: CounterfactualMetrics) -> pd.DataFrame:
    """One line per (row, counterfactual) found, with every measure (a shortcut for ``to_frame()`` without the missing ones).

    >>> import numpy as np
    >>> m = counterfactual_metrics(lambda X: X[:, :1], np.array([[0.0]]), np.array([[[1.0], [np.nan]]]))
    >>> metrics_frame(m)[["row", "valid", "l1"]].to_dict("records")
    [{'row': 0, 'valid': 1.0, 'l1': 1.0}]
    """
    frame = metrics.to_frame()
    return frame[frame["found"] == 1].reset_index(drop=True)
