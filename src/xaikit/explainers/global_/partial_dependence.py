"""Partial dependence and individual conditional expectation (ICE) curves.

The partial dependence of the model ``f`` on a feature set ``S`` at a value ``v`` is the mean over
the rows of ``X`` of ``f`` with the columns ``S`` set to ``v`` (Friedman 2001); the ICE curve of a
row is that prediction for the row alone. Grids are built as scikit-learn builds them
(``sklearn.inspection.partial_dependence``): the distinct values of a feature when it has fewer than
``grid_resolution`` of them or is categorical, else ``grid_resolution`` evenly spaced values between
the ``percentiles`` (Hyndman-Fan type 7 with ``alphap = betap = 0.4``, as ``scipy.stats.mstats.mquantiles``).

Two ways to compute it (``method``):

``"brute"``
    The model is called on stacked copies of ``X``: one call takes several grid values' copies at
    once (at most ``batch_size`` rows per call, so memory stays bounded). The grid values of a term
    are split into fixed blocks before the work is spread over the executor, so every executor makes
    the same model calls and returns identical results.
``"recursion"``
    For a tree ensemble xaikit reads (:func:`xaikit.models.trees.tree_ensemble`) whose output is the
    ensemble's additive margin (a regressor, or a classifier's ``decision_function`` with
    ``output="raw"``): Friedman's weighted tree traversal with the node covers (the training data
    reaching each node). Unlike scikit-learn, which leaves it out, the constant initial prediction
    is included, so recursion and brute values are on the same scale. It averages over the training
    data, not over ``X``, and gives no ICE curves.

``"auto"`` uses recursion where it applies and ``kind="average"``, brute otherwise.

What is shared with :func:`~xaikit.explainers.global_.h_statistic.h_statistic`: the brute model
calls of one feature over one grid on one data set (its ICE curves, all outputs) are kept in a
bounded in-process cache keyed by the model's identity (with its prediction of the first row),
a digest of the data and the grid, so asking for partial dependence and then Friedman's H on the
same rows costs no second pass (see :func:`ice_cache_info`).
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xaikit._validation import check_choice, check_int, describe
from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.explainers.base import Explainer, output_names, select_outputs
from xaikit.explainers.pipeline import Answer, Parameter, Plan, integer
from xaikit.models import adapt
from xaikit.models.base import evaluating
from xaikit.results.effects import N_DECILES, Effects

__all__ = ["METHODS", "PartialDependence", "clear_ice_cache", "grid_from_values", "ice_cache_info", "mquantiles"]

#: Accepted values of ``method``.
METHODS = ("auto", "brute", "recursion")
KINDS = ("average", "individual", "both")
#: Model input rows per call when ``batch_size`` is not given.
DEFAULT_BATCH_ROWS = 1 << 16
#: Rows per block of the tree evaluation of ICE curves (fixed, so every executor splits alike).
TREE_ROWS = 256
#: The most bytes the ICE cache holds (oldest entries are dropped first).
CACHE_BYTES = 256 * 1024 * 1024


# ----------------------------------------------------------------------------- grids


def mquantiles(values: np.ndarray, probs: Sequence[float] | np.ndarray) -> np.ndarray:
    """Quantiles as ``scipy.stats.mstats.mquantiles`` computes them by default (``alphap = betap = 0.4``).

    >>> mquantiles(np.arange(10.0), [0.05, 0.95]).round(6).tolist()
    [0.0, 9.0]
    >>> mquantiles(np.arange(101.0), [0.5]).tolist()
    [50.0]
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = x.shape[0]
    p = np.asarray(probs, dtype=np.float64)
    m = 0.4 + p * (1.0 - 0.4 - 0.4)
    aleph = n * p + m
    k = np.floor(np.clip(aleph, 1, n - 1)).astype(np.intp)
    gamma = np.clip(aleph - k, 0.0, 1.0)
    return (1.0 - gamma) * x[k - 1] + gamma * x[k]  # type: ignore[no-any-return]


def grid_from_values(column: np.ndarray, *, categorical: bool, grid_resolution: int, percentiles: tuple[float, float],
                     name: str = "feature") -> np.ndarray:
    """The grid of one feature, as scikit-learn builds it: its distinct values (sorted) when it is
    categorical or has fewer than ``grid_resolution`` of them, else evenly spaced values between the
    percentiles.

    >>> grid_from_values(np.array([3.0, 1.0, 3.0]), categorical=False, grid_resolution=100, percentiles=(0.05, 0.95)).tolist()
    [1.0, 3.0]
    >>> grid_from_values(np.arange(100.0), categorical=False, grid_resolution=3, percentiles=(0.0, 1.0)).tolist()
    [0.0, 49.5, 99.0]
    """
    try:
        uniques = np.unique(column)
    except TypeError:
        raise InvalidParameterError(
            f"X: the column {name!r} mixes values that cannot be sorted (e.g. strings and numbers); expected one type per column"
        ) from None
    if categorical or uniques.shape[0] < grid_resolution:
        return uniques
    low, high = mquantiles(column, percentiles)
    if np.allclose(low, high):
        raise InvalidParameterError(
            f"percentiles: the {percentiles[0]} and {percentiles[1]} quantiles of {name!r} are equal ({low:.6g}); "
            "expected percentiles further apart"
        )
    return np.linspace(low, high, num=grid_resolution, endpoint=True)


# ----------------------------------------------------------------------------- the data


@dataclass
class Table:
    """The rows of ``X`` as columns, whatever their container (array or DataFrame), and how to
    build model inputs with some columns set to given values."""

    data: Any  # float64 array, object array or DataFrame
    names: list[str]
    numeric: list[bool]

    @property
    def n_rows(self) -> int:
        return int(self.data.shape[0])

    @property
    def n_features(self) -> int:
        return len(self.names)

    @property
    def is_frame(self) -> bool:
        return not isinstance(self.data, np.ndarray)

    def column(self, j: int) -> np.ndarray:
        """The values of column ``j`` (numeric columns as float64)."""
        col = self.data.iloc[:, j].to_numpy() if self.is_frame else self.data[:, j]
        return np.asarray(col, dtype=np.float64) if self.numeric[j] else np.asarray(col, dtype=object)

    def rows(self, index: np.ndarray) -> Table:
        """A table of some rows."""
        data = self.data.iloc[index].reset_index(drop=True) if self.is_frame else self.data[index]
        return Table(data, self.names, self.numeric)

    def stacked(self, columns: Sequence[int], values: Sequence[np.ndarray]) -> Any:
        """``m`` copies of the rows, copy ``p`` with column ``columns[k]`` set to ``values[k][p]``."""
        m, n = len(values[0]), self.n_rows
        if not self.is_frame:
            out = np.tile(self.data, (m, 1))
            for c, v in zip(columns, values):
                out[:, c] = np.repeat(np.asarray(v, dtype=out.dtype), n)
            return out
        import pandas as pd

        frame = self.data
        parts: dict[Any, Any] = {}
        for k, name in enumerate(frame.columns):
            series = frame.iloc[:, k]
            if k in columns:
                vals = np.repeat(np.asarray(values[list(columns).index(k)], dtype=object if not self.numeric[k] else np.float64), n)
                if isinstance(series.dtype, pd.CategoricalDtype):
                    parts[name] = pd.Categorical(vals, categories=series.cat.categories, ordered=series.cat.ordered)
                else:
                    parts[name] = vals
            elif isinstance(series.dtype, pd.CategoricalDtype):
                parts[name] = pd.Categorical(np.tile(np.asarray(series), m), categories=series.cat.categories, ordered=series.cat.ordered)
            else:
                parts[name] = np.tile(series.to_numpy(), m)
        return pd.DataFrame(parts, columns=frame.columns)

    def digest(self) -> str:
        """A SHA-256 digest of the values (and column names)."""
        h = hashlib.sha256("\x1f".join(self.names).encode())
        for j in range(self.n_features):
            col = self.column(j)
            if col.dtype.kind == "f":
                h.update(np.ascontiguousarray(col).tobytes())
            else:
                h.update("\x1f".join(repr(v) for v in col.tolist()).encode())
        return h.hexdigest()


def _is_numeric_dtype(dtype: Any) -> bool:
    return getattr(dtype, "kind", "O") in "biuf"


def make_table(X: Any, model: Any, name: str = "X") -> Table:
    """``X`` (array-like or DataFrame) checked: 2-D, at least one row, finite numbers in numeric columns."""
    if isinstance(X, (str, bytes)) or X is None:
        raise InvalidParameterError(f"{name}: expected an array-like (n, d) or a DataFrame, got {describe(X)}")
    columns = getattr(X, "columns", None)
    if columns is not None and hasattr(X, "iloc"):
        names = [str(c) for c in columns]
        numeric = [_is_numeric_dtype(X.dtypes.iloc[j]) for j in range(len(names))]
        data: Any = X.reset_index(drop=True)
        shape = X.shape
    else:
        try:
            arr = np.asarray(X)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"{name}: expected an array-like (n, d), got {describe(X)}") from None
        if arr.ndim != 2:
            raise InvalidParameterError(f"{name}: expected a 2-D array (n, d), got {describe(arr)}")
        if arr.dtype.kind in "biuf":
            data = arr.astype(np.float64)
            numeric = [True] * arr.shape[1]
        elif arr.dtype.kind in "OUS":
            data = arr.astype(object)
            numeric = []
            for j in range(arr.shape[1]):
                try:
                    np.asarray(data[:, j], dtype=np.float64)
                    numeric.append(all(not isinstance(v, (str, bytes)) for v in data[:, j]))
                except (TypeError, ValueError):
                    numeric.append(False)
        else:
            raise InvalidParameterError(f"{name}: expected real numbers or categories, got {describe(arr)}")
        shape = arr.shape
        names = list(getattr(model, "feature_names_in", None) or [f"x{j}" for j in range(arr.shape[1])])
        if len(names) != arr.shape[1]:
            names = [f"x{j}" for j in range(arr.shape[1])]
    if shape[0] < 1 or shape[1] < 1:
        raise InvalidParameterError(f"{name}: expected at least one row and one column, got shape {tuple(shape)}")
    table = Table(data, names, numeric)
    for j in range(table.n_features):
        if numeric[j]:
            col = table.column(j)
            if not np.isfinite(col).all():
                raise InvalidParameterError(f"{name}: column {names[j]!r} holds NaN or infinite values; expected finite numbers")
    model.check_width(np.empty((0, table.n_features)), name)
    return table


# ----------------------------------------------------------------------------- the ICE cache

_CACHE: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_STATS = {"hits": 0, "misses": 0}
_WATCHED: set[int] = set()


def _forget(model_id: int) -> None:
    with _CACHE_LOCK:
        for key in [k for k in _CACHE if k[0] == model_id]:
            del _CACHE[key]
        _WATCHED.discard(model_id)


#: Rows of the data (spread over it) whose predictions identify a model in the cache's keys.
PROBE_ROWS = 32


def probe_index(n_rows: int) -> np.ndarray:
    """The rows whose predictions go into a model's cache key: up to :data:`PROBE_ROWS`, spread over the data.

    >>> probe_index(5).tolist(), len(probe_index(1000))
    ([0, 1, 2, 3, 4], 32)
    """
    return np.unique(np.linspace(0, n_rows - 1, min(n_rows, PROBE_ROWS)).astype(np.int64))


def model_key(model: Any, probe: np.ndarray) -> tuple[int, bytes] | None:
    """The cache key of a model: its identity (entries are dropped when it is garbage collected)
    and its predictions of the probe rows (:func:`probe_index`), so that a model refitted in place
    misses: one row could keep its prediction (a forest's unanimous vote), spread rows all at once
    hardly do."""
    try:
        if id(model) not in _WATCHED:
            weakref.finalize(model, _forget, id(model))
            _WATCHED.add(id(model))
    except TypeError:  # cannot be watched: not cached
        return None
    return id(model), np.ascontiguousarray(probe, dtype=np.float64).tobytes()


def _grid_digest(points: np.ndarray) -> str:
    return hashlib.sha256(np.asarray(points, dtype=object).astype(str).tobytes()).hexdigest()


def cache_get(key: tuple[Any, ...] | None) -> np.ndarray | None:
    """The ICE curves stored under ``key`` (read-only), or None."""
    if key is None:
        return None
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is None:
            _CACHE_STATS["misses"] += 1
            return None
        _CACHE.move_to_end(key)
        _CACHE_STATS["hits"] += 1
        return found


def cache_put(key: tuple[Any, ...] | None, curves: np.ndarray) -> None:
    """Keep ``curves`` under ``key``, dropping the oldest entries beyond :data:`CACHE_BYTES`."""
    if key is None or curves.nbytes > CACHE_BYTES:
        return
    curves = np.array(curves, dtype=np.float64, copy=True)
    curves.setflags(write=False)
    with _CACHE_LOCK:
        _CACHE[key] = curves
        _CACHE.move_to_end(key)
        total = sum(a.nbytes for a in _CACHE.values())
        while total > CACHE_BYTES and _CACHE:
            _, old = _CACHE.popitem(last=False)
            total -= old.nbytes


def ice_cache_info() -> dict[str, int]:
    """Entries, bytes, hits and misses of the in-process ICE cache.

    >>> sorted(ice_cache_info())
    ['bytes', 'entries', 'hits', 'misses']
    """
    with _CACHE_LOCK:
        return {"entries": len(_CACHE), "bytes": sum(a.nbytes for a in _CACHE.values()), **_CACHE_STATS}


def clear_ice_cache() -> None:
    """Empty the ICE cache (and reset its counters).

    >>> clear_ice_cache(); ice_cache_info()["entries"]
    0
    """
    with _CACHE_LOCK:
        _CACHE.clear()
        _CACHE_STATS.update(hits=0, misses=0)


def ice_key(mkey: tuple[int, bytes] | None, data_digest: str, columns: Sequence[int], points: np.ndarray) -> tuple[Any, ...] | None:
    """The cache key of the ICE curves of ``columns`` over ``points`` (values, ``(g, k)``) on one data set."""
    if mkey is None:
        return None
    return (mkey[0], mkey[1], data_digest, tuple(int(c) for c in columns), _grid_digest(points))


# ----------------------------------------------------------------------------- model calls


@dataclass
class Block:
    """Grid points ``start:stop`` of one term, evaluated in one stacked build."""

    term: int
    start: int
    stop: int


def predict_stacked(model: Any, table: Table, columns: Sequence[int], values: Sequence[np.ndarray], batch_rows: int) -> np.ndarray:
    """ICE curves ``(n_rows, m, n_outputs)`` of the ``m`` points given by ``values`` (one array per column)."""
    n, m = table.n_rows, len(values[0])
    stacked = table.stacked(columns, values)
    parts = []
    for start in range(0, n * m, batch_rows):
        stop = min(n * m, start + batch_rows)
        chunk = stacked.iloc[start:stop] if table.is_frame else stacked[start:stop]
        parts.append(model.predict(chunk))
    out = np.concatenate(parts, axis=0)
    return out.reshape(m, n, -1).transpose(1, 0, 2)


@dataclass
class _BruteJob:
    """Blocks of grid points to evaluate on the rows (run by a worker with the explainer)."""

    table: Table
    blocks: list[Block]
    columns: list[list[int]]
    values: list[list[np.ndarray]]
    batch_rows: int

    def __call__(self, explainer: Any) -> list[np.ndarray]:
        out = []
        for b in self.blocks:
            vals = [v[b.start:b.stop] for v in self.values[b.term]]
            with evaluating(f"copies of X with {'/'.join(self.table.names[c] for c in self.columns[b.term])} set to grid values"):
                out.append(predict_stacked(explainer.model, self.table, self.columns[b.term], vals, self.batch_rows))
        return out


@dataclass
class _Both:
    """A chunk holding blocks of grid points and blocks of rows: their parts in block order."""

    brute: Any
    trees: Any

    def __call__(self, explainer: Any) -> list[Any]:
        return [*self.brute(explainer), *self.trees(explainer)]


@dataclass
class _RecursionJob:
    """Blocks of grid points evaluated by the weighted tree traversal."""

    ensemble: Any
    blocks: list[Block]
    columns: list[list[int]]
    values: list[list[np.ndarray]]

    def __call__(self, explainer: Any) -> list[np.ndarray]:
        out = []
        for b in self.blocks:
            grid = np.stack([np.asarray(v[b.start:b.stop], dtype=np.float64) for v in self.values[b.term]], axis=1)
            out.append(recursion_pd(self.ensemble, grid, self.columns[b.term]))
        return out


_KERNEL: Any = None
_go_left: Any = None  # xaikit.models.trees._go_left, bound on first use (the kernels below call it)


def _bind_routing() -> None:
    """Bind the compiled routing of :mod:`xaikit.models.trees` (imports numba) for the kernels."""
    global _go_left
    if _go_left is None:
        from xaikit.models.trees import _go_left as routing

        _go_left = routing


def _recursion_py(
    grid: Any,
    target: Any,
    roots: Any,
    value: Any,
    cover: Any,
    left: Any,
    right: Any,
    feature: Any,
    threshold: Any,
    missing_left: Any,
    missing_kind: Any,
    categorical: Any,
    cat_offset: Any,
    cat_len: Any,
    cat_bits: Any,
    strict: Any,
    cat_flags: Any,
) -> Any:  # pragma: no cover - compiled
    n_points, n_out = grid.shape[0], value.shape[1]
    out = np.zeros((n_points, n_out))
    stack_node = np.empty(left.shape[0] + 1, dtype=np.int64)
    stack_w = np.empty(left.shape[0] + 1)
    for p in range(n_points):
        for t in range(roots.shape[0]):
            top = 0
            stack_node[0] = roots[t]
            stack_w[0] = 1.0
            top = 1
            while top > 0:
                top -= 1
                node = stack_node[top]
                w = stack_w[top]
                if left[node] < 0:
                    for k in range(n_out):
                        out[p, k] += w * value[node, k]
                    continue
                pos = -1
                for q in range(target.shape[0]):
                    if target[q] == feature[node]:
                        pos = q
                if pos >= 0:
                    if _go_left(grid[p, pos], node, threshold, missing_left, missing_kind, categorical, cat_offset,
                               cat_len, cat_bits, strict, cat_flags):
                        stack_node[top] = left[node]
                    else:
                        stack_node[top] = right[node]
                    stack_w[top] = w
                    top += 1
                else:
                    c = cover[node]
                    frac = cover[left[node]] / c if c > 0 else 0.5
                    stack_node[top] = left[node]
                    stack_w[top] = w * frac
                    stack_node[top + 1] = right[node]
                    stack_w[top + 1] = w * (1.0 - frac)
                    top += 2
    return out


def _recursion_kernel() -> Any:
    """The compiled weighted traversal (numba is imported on first use only)."""
    global _KERNEL
    if _KERNEL is None:
        import numba

        _bind_routing()
        _KERNEL = numba.njit(nogil=True, cache=True)(_recursion_py)
    return _KERNEL


def recursion_pd(ensemble: Any, grid: np.ndarray, columns: Sequence[int]) -> np.ndarray:
    """Friedman's weighted traversal: the partial dependence ``(g, n_outputs)`` of the ensemble's margin
    (its constant included) at the points ``grid`` ``(g, k)`` of the features ``columns``.

    >>> from xaikit.models.trees import TreeEnsemble
    >>> stump = TreeEnsemble.from_arrays(roots=[0], left=[1, -1, -1], right=[2, -1, -1], feature=[0, -1, -1],
    ...     threshold=[0.5, 0, 0], value=[[0.0], [-1.0], [2.0]], cover=[4.0, 3.0, 1.0], n_features=2)
    >>> recursion_pd(stump, np.array([[0.0], [1.0]]), [0]).ravel().tolist(), recursion_pd(stump, np.array([[0.0]]), [1]).ravel().tolist()
    ([-1.0, 2.0], [-0.25])
    """
    kernel = _recursion_kernel()
    target = np.asarray(columns, dtype=np.int64)
    routing = ensemble._routing()
    out = kernel(np.ascontiguousarray(grid, dtype=np.float64), target, ensemble.roots, ensemble.value, ensemble.cover, *routing)
    return out + ensemble.base_offset[None, :]  # type: ignore[no-any-return]


_ICE_KERNEL: Any = None


def _ice_py(
    dirs: Any,
    grid: Any,
    col: Any,
    roots: Any,
    value: Any,
    left: Any,
    right: Any,
    feature: Any,
    threshold: Any,
    missing_left: Any,
    missing_kind: Any,
    categorical: Any,
    cat_offset: Any,
    cat_len: Any,
    cat_bits: Any,
    strict: Any,
    cat_flags: Any,
) -> Any:  # pragma: no cover - compiled
    n, g, n_out = dirs.shape[0], grid.shape[0], value.shape[1]
    diff = np.zeros((n, g + 1, n_out))
    s_node = np.empty(g + 2, dtype=np.int64)
    s_lo = np.empty(g + 2, dtype=np.int64)
    s_hi = np.empty(g + 2, dtype=np.int64)
    for i in range(n):
        for t in range(roots.shape[0]):
            s_node[0], s_lo[0], s_hi[0] = roots[t], 0, g
            top = 1
            while top > 0:
                top -= 1
                node, lo, hi = s_node[top], s_lo[top], s_hi[top]
                while left[node] >= 0:
                    if feature[node] != col:
                        node = left[node] if dirs[i, node] else right[node]
                    elif categorical[node] or missing_kind[node] == 1:
                        start = lo
                        cur = _go_left(grid[lo], node, threshold, missing_left, missing_kind, categorical, cat_offset,
                                      cat_len, cat_bits, strict, cat_flags)
                        for p in range(lo + 1, hi):
                            d = _go_left(grid[p], node, threshold, missing_left, missing_kind, categorical, cat_offset,
                                        cat_len, cat_bits, strict, cat_flags)
                            if d != cur:
                                s_node[top] = left[node] if cur else right[node]
                                s_lo[top], s_hi[top] = start, p
                                top += 1
                                start, cur = p, d
                        lo = start
                        node = left[node] if cur else right[node]
                    else:
                        a, b = lo, hi
                        while a < b:
                            mid = (a + b) // 2
                            if _go_left(grid[mid], node, threshold, missing_left, missing_kind, categorical, cat_offset,
                                       cat_len, cat_bits, strict, cat_flags):
                                a = mid + 1
                            else:
                                b = mid
                        if a >= hi:
                            node = left[node]
                        elif a <= lo:
                            node = right[node]
                        else:
                            s_node[top], s_lo[top], s_hi[top] = right[node], a, hi
                            top += 1
                            node, hi = left[node], a
                for k in range(n_out):
                    diff[i, lo, k] += value[node, k]
                    diff[i, hi, k] -= value[node, k]
    return diff


def _ice_kernel() -> Any:
    """The compiled exact ICE curves of tree ensembles (numba is imported on first use only).

    For each row and tree, the row is routed (by its decision path, computed once for every term)
    with the term's feature left open: at a node that
    splits on it, the (sorted) grid range is cut where the grid values change direction (a binary
    search for numeric splits, a scan for categorical and zero-as-missing ones), and each leaf
    reached adds its value to its grid range through a difference array. The cost per row and tree
    is the number of leaves reachable, instead of one traversal per grid value.
    """
    global _ICE_KERNEL
    if _ICE_KERNEL is None:
        import numba

        _bind_routing()
        _ICE_KERNEL = numba.njit(nogil=True, cache=True)(_ice_py)
    return _ICE_KERNEL


#: The most decision-path entries (rows x nodes) held at once by :func:`tree_ice`.
PATH_CELLS = 1 << 25


def tree_ice(ensemble: Any, X: np.ndarray, grids: Sequence[np.ndarray], columns: Sequence[int]) -> list[np.ndarray]:
    """Exact ICE curves ``(n_rows, g, n_outputs)`` of a tree ensemble on the model's scale (its
    transform applied), one array per 1-D term: the predictions of the rows of ``X`` with
    ``columns[t]`` set to each value of the sorted ``grids[t]``, computed without predicting the
    ``n * g`` copies. The rows' decision paths are computed once (in chunks of bounded size) for all terms.

    >>> from xaikit.models.trees import TreeEnsemble
    >>> stump = TreeEnsemble.from_arrays(roots=[0], left=[1, -1, -1], right=[2, -1, -1], feature=[0, -1, -1],
    ...     threshold=[0.5, 0, 0], value=[[0.0], [-1.0], [2.0]], cover=[4.0, 3.0, 1.0], n_features=2)
    >>> tree_ice(stump, np.zeros((1, 2)), [np.array([0.0, 0.5, 1.0])], [0])[0][0, :, 0].tolist()
    [-1.0, -1.0, 2.0]
    """
    from xaikit.models.trees import apply_transform

    kernel = _ice_kernel()
    X = np.ascontiguousarray(X, dtype=np.float64)
    n = X.shape[0]
    step = max(1, PATH_CELLS // max(1, ensemble.n_nodes))
    parts: list[list[np.ndarray]] = [[] for _ in columns]
    for start in range(0, n, step):
        dirs = ensemble.decision_paths(X[start:start + step])
        for t, (grid, column) in enumerate(zip(grids, columns)):
            diff = kernel(dirs, np.ascontiguousarray(grid, dtype=np.float64), int(column), ensemble.roots, ensemble.value,
                          *ensemble._routing())
            parts[t].append(np.cumsum(diff[:, :-1], axis=1) + ensemble.base_offset)
    out = []
    for chunks in parts:
        margin = np.concatenate(chunks, axis=0)
        m, g, o = margin.shape
        out.append(apply_transform(margin.reshape(m * g, o), ensemble.transform).reshape(m, g, -1))
    return out


@dataclass
class _TreeJob:
    """Blocks of rows whose ICE curves over every tree-evaluated 1-D term come from the trees (:func:`tree_ice`)."""

    ensemble: Any
    X: np.ndarray
    blocks: list[Block]
    grids: list[np.ndarray]
    columns: list[int]

    def __call__(self, explainer: Any) -> list[list[np.ndarray]]:
        return [tree_ice(self.ensemble, self.X[b.start:b.stop], self.grids, self.columns) for b in self.blocks]


# ----------------------------------------------------------------------------- the method


@dataclass
class _Term:
    columns: list[int]
    shape: list[int]
    coords: np.ndarray  # (g, k) grid coordinates: values, or category codes
    values: list[np.ndarray]  # one per column: the value put in X at each flattened point
    labels: list[list[str] | None]


@dataclass
class _PDPlan(Plan):
    table: Any = None
    terms: list[_Term] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    out_names: list[str] = field(default_factory=list)
    method: str = "brute"
    ensemble: Any = None
    cached: dict[int, np.ndarray] = field(default_factory=dict)
    keys: dict[int, Any] = field(default_factory=dict)
    batch_rows: int = DEFAULT_BATCH_ROWS
    trees: Any = None  # an ensemble whose predictions are the model's: 1-D terms from tree_ice
    tree_terms: list[int] = field(default_factory=list)


def _resolve_feature(f: Any, names: Sequence[str], name: str) -> int:
    d = len(names)
    if isinstance(f, str):
        if f not in names:
            raise InvalidParameterError(f"{name}: unknown feature {f!r}; expected one of {list(names)[:20]}")
        return list(names).index(f)
    if isinstance(f, (int, np.integer)) and not isinstance(f, bool):
        if not -d <= int(f) < d:
            raise InvalidParameterError(f"{name}: feature index {int(f)} is out of range for {d} features")
        return int(f) % d
    raise InvalidParameterError(f"{name}: expected a feature index (int) or name (str), got {describe(f)}")


def _label(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


class PartialDependence(Explainer[Effects]):
    """Partial dependence (PD) and ICE curves of a model: how its prediction moves with one feature or a pair.

    Parameters
    ----------
    model : estimator, Pipeline, callable or adapted model
    features : list of int or str, optional
        Features with a 1-D curve each; default every feature (none when only ``pairs`` are given).
    pairs : list of (feature, feature)
        Pairs with a 2-D surface each.
    grid_resolution : int
        Grid points of a numeric feature with at least that many distinct values (at least 2).
    percentiles : (float, float)
        Where such a grid starts and ends, as quantiles of the feature.
    kind : {"average", "individual", "both"}
        The PD only, the ICE curves only (``average`` is still their mean), or both.
    centered : bool
        Shift each curve (and the PD) so that it starts at 0 at the first grid point.
    categorical_features : list of int or str, or boolean mask, optional
        Features whose grid is their categories; columns that are not numbers always are.
    method : {"auto", "brute", "recursion"}
        See the module docstring.
    output : {"auto", "probability", "log_odds", "raw"}

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> from xaikit.explainers.global_.partial_dependence import PartialDependence
    >>> X = np.random.default_rng(0).normal(size=(50, 2))
    >>> eff = PartialDependence(lambda X: 2 * X[:, 0] + X[:, 1] ** 2, grid_resolution=5).explain(X)
    >>> eff.term_names, eff.term("x0")["grid_shape"]
    (['x0', 'x1'], [5])
    >>> slope = np.diff(eff.term("x0")["average"][:, 0]) / np.diff(eff.term("x0")["grid_values"][0])
    >>> np.allclose(slope, 2.0)
    True
    """

    name = "partial_dependence"
    kind = "global"
    result = Effects
    exact = True
    stochastic = False
    summary = "Partial dependence (and ICE curves) of each feature and pair on the rows of ``X``."
    input_doc = "X : array-like (n, d) or DataFrame\n    The rows the model's predictions are averaged over."
    target_doc = "target : int, str or list, optional\n    Outputs to return (index or name); all by default."
    returns_doc = """Effects
        ``grid`` and ``average`` per term (a feature or a pair), ``individual`` ICE curves with
        ``kind="individual"`` or ``"both"``, the data's ``deciles``; ``params["method"]`` says brute or recursion."""
    explain_parameters = (
        Parameter("batch_size", None, "int, optional", "The most model input rows per model call (default 65,536).", integer(minimum=1)),
    )

    def __init__(
        self,
        model: Any,
        /,
        *,
        features: Sequence[int | str] | None = None,
        pairs: Sequence[tuple[int | str, int | str]] = (),
        grid_resolution: int = 100,
        percentiles: tuple[float, float] = (0.05, 0.95),
        kind: str = "average",
        centered: bool = False,
        categorical_features: Sequence[int | str] | Sequence[bool] | None = None,
        method: str = "auto",
        output: str = "auto",
    ) -> None:
        self._raw_model = model
        self.model = adapt(model, output=output)
        if features is not None and (isinstance(features, (str, bytes)) or not isinstance(features, Sequence)):
            raise InvalidParameterError(f"features: expected a list of feature indices or names, or None, got {describe(features)}")
        self.features = None if features is None else list(features)
        if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence):
            raise InvalidParameterError(f"pairs: expected a list of (feature, feature) pairs, got {describe(pairs)}")
        for i, pair in enumerate(pairs):
            if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
                raise InvalidParameterError(f"pairs[{i}]: expected a (feature, feature) pair, got {describe(pair)}")
        self.pairs = [tuple(p) for p in pairs]
        self.grid_resolution = check_int(grid_resolution, "grid_resolution", minimum=2)
        ok = isinstance(percentiles, Sequence) and len(percentiles) == 2 and all(
            isinstance(p, (int, float, np.floating)) and not isinstance(p, bool) for p in percentiles
        )
        if not ok or not 0 <= percentiles[0] < percentiles[1] <= 1:
            raise InvalidParameterError(f"percentiles: expected two increasing numbers in [0, 1], got {percentiles!r}")
        self.percentiles = (float(percentiles[0]), float(percentiles[1]))
        self.kind_of_curves = check_choice(kind, "kind", KINDS)
        if not isinstance(centered, (bool, np.bool_)):
            raise InvalidParameterError(f"centered: expected a bool, got {describe(centered)}")
        self.centered = bool(centered)
        self.categorical_features = None if categorical_features is None else list(categorical_features)
        self.method = check_choice(method, "method", METHODS)
        if self.method == "recursion" and self.kind_of_curves != "average":
            raise InvalidParameterError(
                f"method: 'recursion' computes the average only (no ICE curves); got kind={kind!r}: use method='brute' or kind='average'"
            )

    # ---------------------------------------------------------------- the pipeline's steps

    def _categorical(self, table: Table) -> list[bool]:
        d = table.n_features
        flags = [not num for num in table.numeric]
        given = self.categorical_features
        if given is None:
            return flags
        if len(given) == d and all(isinstance(g, (bool, np.bool_)) for g in given):
            return [bool(g) or f for g, f in zip(given, flags)]
        for g in given:
            flags[_resolve_feature(g, table.names, "categorical_features")] = True
        return flags

    def _terms_of(self, table: Table) -> list[list[int]]:
        names = table.names
        if self.features is None:
            singles = [] if self.pairs else list(range(table.n_features))
        else:
            singles = [_resolve_feature(f, names, "features") for f in self.features]
        terms = [[j] for j in dict.fromkeys(singles)]
        for i, (a, b) in enumerate(self.pairs):
            ja, jb = _resolve_feature(a, names, f"pairs[{i}]"), _resolve_feature(b, names, f"pairs[{i}]")
            if ja == jb:
                raise InvalidParameterError(f"pairs[{i}]: expected two different features, got {names[ja]!r} twice")
            terms.append([ja, jb])
        if not terms:
            raise InvalidParameterError("features: expected at least one feature or pair, got none")
        return terms

    def _build_terms(self, table: Table, columns: list[list[int]], categorical: list[bool]) -> list[_Term]:
        axes: dict[int, tuple[np.ndarray, np.ndarray, list[str] | None]] = {}
        for j in sorted({c for cols in columns for c in cols}):
            col = table.column(j)
            grid = grid_from_values(col, categorical=categorical[j], grid_resolution=self.grid_resolution,
                                    percentiles=self.percentiles, name=table.names[j])
            if categorical[j]:
                axes[j] = (np.arange(len(grid), dtype=np.float64), grid, [_label(v) for v in grid.tolist()])
            else:
                axes[j] = (np.asarray(grid, dtype=np.float64), np.asarray(grid, dtype=np.float64), None)
        terms = []
        for cols in columns:
            coords = [axes[c][0] for c in cols]
            shape = [len(c) for c in coords]
            mesh = np.indices(shape).reshape(len(cols), -1)  # row-major: first feature slowest
            terms.append(_Term(
                columns=cols, shape=shape,
                coords=np.stack([coords[k][mesh[k]] for k in range(len(cols))], axis=1),
                values=[axes[c][1][mesh[k]] for k, c in enumerate(cols)],
                labels=[axes[c][2] for c in cols],
            ))
        return terms

    def _choose_method(self, table: Table, first: np.ndarray, categorical: list[bool]) -> tuple[str, Any]:
        if self.method == "brute" or (self.method == "auto" and self.kind_of_curves != "average"):
            return "brute", None
        why = ""
        ensemble = None
        try:
            from xaikit.models.trees import tree_ensemble

            ensemble = tree_ensemble(self._raw_model)
        except (UnsupportedModelError, InvalidParameterError) as exc:
            why = f"the model is not a tree ensemble xaikit reads ({exc})"
        if ensemble is not None and not all(table.numeric):
            why, ensemble = "X has non-numeric columns", None
        if ensemble is not None:
            rows = table.rows(np.arange(min(table.n_rows, 16)))
            X = np.asarray(rows.data, dtype=np.float64)
            with evaluating("rows of X (to check that the output is the trees' margin)"):
                got = self.model.predict(rows.data)  # as the model takes them (a frame stays one)
            margin = ensemble.predict_raw(X)
            if margin.shape != got.shape or not np.allclose(margin, got, rtol=1e-9, atol=1e-12):
                why, ensemble = (f"the output explained ({self.model.output!r}) is not the trees' additive margin "
                                 "(use output='raw' for a classifier's decision function)"), None
        if ensemble is not None:
            return "recursion", ensemble
        if self.method == "recursion":
            raise InvalidParameterError(f"method: 'recursion' does not apply: {why}; use method='brute' or 'auto'")
        return "brute", None

    def _brute_trees(self, table: Table) -> Any:
        """The tree ensemble behind the model when its predictions are the ensemble's (checked on rows of X), else None."""
        if not all(table.numeric):
            return None
        try:
            from xaikit.models.trees import tree_ensemble

            ensemble = tree_ensemble(self._raw_model)
        except (UnsupportedModelError, InvalidParameterError, ImportError):
            return None
        rows = table.rows(np.arange(min(table.n_rows, 16))).data  # as the model takes them (a frame stays one)
        X = np.asarray(rows, dtype=np.float64)
        with evaluating("rows of X (to check that the trees give the model's predictions)"):
            got = self.model.predict(rows)
        mine = ensemble.predict(X)
        if mine.shape != got.shape or not np.allclose(mine, got, rtol=1e-9, atol=1e-12):
            return None
        return ensemble

    def _start(self, X: Any, target: Any, params: dict[str, Any]) -> _PDPlan:
        table = make_table(X, self.model)
        categorical = self._categorical(table)
        columns = self._terms_of(table)
        terms = self._build_terms(table, columns, categorical)
        with evaluating("rows of X (the first, and those that identify the model in the cache)"):
            probe = self.model.predict(table.rows(probe_index(table.n_rows)).data)
        first = probe[:1]
        outputs, out_names = select_outputs(target, output_names(self.model.output_names, first.shape[1]))
        method, ensemble = self._choose_method(table, first, categorical)
        batch_rows = DEFAULT_BATCH_ROWS if params["batch_size"] is None else int(params["batch_size"])
        plan = _PDPlan(0, table=table, terms=terms, outputs=outputs, out_names=out_names, method=method,
                       ensemble=ensemble, batch_rows=batch_rows)
        if method == "brute":
            plan.trees = self._brute_trees(table)
            mkey = model_key(self._raw_model, probe)
            digest = table.digest()
            for t, term in enumerate(terms):
                key = ice_key(mkey, digest, term.columns, np.stack([np.asarray(v, dtype=object) for v in term.values], axis=1))
                plan.keys[t] = key
                hit = cache_get(key)
                if hit is not None:
                    plan.cached[t] = hit
        per_block = max(1, batch_rows // table.n_rows) if method == "brute" else 64
        for t, term in enumerate(terms):
            if t in plan.cached:
                continue
            size = int(np.prod(term.shape))
            if plan.trees is not None and len(term.columns) == 1:
                plan.tree_terms.append(t)
                continue
            plan.blocks.extend(Block(t, s, min(size, s + per_block)) for s in range(0, size, per_block))
        if plan.tree_terms:  # fixed blocks of rows, each routed through the trees for every such term
            n = table.n_rows
            plan.blocks.extend(Block(-1, s, min(n, s + TREE_ROWS)) for s in range(0, n, TREE_ROWS))
        plan.n_rows = len(plan.blocks)
        plan.job = self._job(plan)
        plan.split = 4 if plan.blocks else 0
        return plan

    def _job(self, plan: _PDPlan) -> Any:
        columns = [t.columns for t in plan.terms]
        values = [t.values for t in plan.terms]
        X = np.asarray(plan.table.data, dtype=np.float64) if plan.tree_terms else np.zeros((0, 0))
        grids = [np.asarray(plan.terms[t].values[0], dtype=np.float64) for t in plan.tree_terms]
        cols = [plan.terms[t].columns[0] for t in plan.tree_terms]

        def job(rows: range, seed: np.random.SeedSequence) -> Any:
            blocks = [plan.blocks[i] for i in rows]
            if plan.method == "recursion":
                return _RecursionJob(plan.ensemble, blocks, columns, values)
            if blocks and all(b.term < 0 for b in blocks):
                return _TreeJob(plan.trees, X, blocks, grids, cols)
            if any(b.term < 0 for b in blocks):  # blocks of rows come after every block of grid points
                return _Both(_BruteJob(plan.table, [b for b in blocks if b.term >= 0], columns, values, plan.batch_rows),
                             _TreeJob(plan.trees, X, [b for b in blocks if b.term < 0], grids, cols))
            return _BruteJob(plan.table, blocks, columns, values, plan.batch_rows)

        return job

    def _finish(self, plan: Plan, parts: list[Any]) -> Answer:
        if not isinstance(plan, _PDPlan):  # pragma: no cover - the pipeline hands back our own plan
            raise TypeError(f"plan: expected the plan of PartialDependence, got {describe(plan)}")
        results = [r for part in parts for r in part]
        terms, outputs = plan.terms, plan.outputs
        n, t_count, o = plan.table.n_rows, len(terms), len(outputs)
        sizes = [int(np.prod(t.shape)) for t in terms]
        g = max(sizes)
        grid = np.full((t_count, g, 2), np.nan)
        average = np.full((t_count, g, o), np.nan)
        want_ice = self.kind_of_curves != "average"
        individual = np.full((n, t_count, g, o), np.nan) if want_ice else None
        curves: dict[int, list[np.ndarray]] = {}
        for block, res in zip(plan.blocks, results):
            if block.term < 0:  # rows of every tree-evaluated term
                for t, ice_rows in zip(plan.tree_terms, res):
                    curves.setdefault(t, []).append(ice_rows)
            else:
                curves.setdefault(block.term, []).append(res)
        model_rows = 0
        for t, term in enumerate(terms):
            k = len(term.columns)
            grid[t, : sizes[t], :k] = term.coords
            if plan.method == "recursion":
                avg = np.concatenate(curves[t], axis=0)[:, outputs]
                ice = None
            else:
                if t in plan.cached:
                    full = plan.cached[t]
                else:
                    if t in plan.tree_terms:
                        full = np.concatenate(curves[t], axis=0)
                    else:
                        full = np.concatenate(curves[t], axis=1)
                        model_rows += full.shape[0] * full.shape[1]
                    cache_put(plan.keys.get(t), full)
                ice = full[:, :, outputs]
                avg = ice.mean(axis=0)
            if self.centered:
                avg = avg - avg[:1]
                if ice is not None:
                    ice = ice - ice[:, :1]
            average[t, : sizes[t]] = avg
            if individual is not None and ice is not None:
                individual[:, t, : sizes[t]] = ice
        deciles = np.full((t_count, N_DECILES, 2), np.nan)
        for t, term in enumerate(terms):
            for k, c in enumerate(term.columns):
                if term.labels[k] is None:
                    deciles[t, :, k] = mquantiles(plan.table.column(c), np.arange(1, 10) / 10.0)
        fields = {
            "grid": grid, "average": average, "individual": individual, "deciles": deciles,
            "term_features": [[plan.table.names[c] for c in term.columns] for term in terms],
            "grid_shape": [term.shape for term in terms],
            "grid_labels": [None if all(lb is None for lb in term.labels) else term.labels for term in terms],
            "feature_names": plan.table.names,
            "output_names": plan.out_names,
        }
        params = {
            "method": plan.method, "kind": self.kind_of_curves, "centered": self.centered,
            "grid_resolution": self.grid_resolution, "percentiles": list(self.percentiles),
        }
        diagnostics = {"n_model_calls": int(model_rows), "cached_terms": len(plan.cached),
                       "evaluation": "trees" if plan.tree_terms else "model"}
        return Answer(fields, diagnostics, params=params)
