"""Accumulated local effects (ALE): how the prediction moves with a feature, measured on the data.

Apley, D. W. and Zhu, J. (2020), *Visualizing the effects of predictor variables in black box
supervised learning models*, JRSS-B 82(4). Partial dependence moves a feature over its whole range
in every row, and so asks the model about points far from the data when features are correlated;
ALE only moves each row within the small bin it lies in, and adds up those local changes.

Numeric features (1-D)
    The bin edges ``z_0 < z_1 < ... < z_K`` are the empirical quantiles of the feature at levels
    ``0, 1/bins, ..., 1`` (``numpy.quantile(..., method="inverted_cdf")``: each edge is a value of
    the data), ties merged, so a feature with fewer distinct values than ``bins + 1`` gets one edge
    per value. Bin ``k`` is ``(z_{k-1}, z_k]``, the first one closed (it holds the minimum), so no
    bin is empty. A row in bin ``k`` contributes ``f(x with x_j = z_k) - f(x with x_j = z_{k-1})``;
    these are averaged per bin and accumulated: ``g(z_0) = 0``, ``g(z_k) = sum of the bin means up to
    k``. The curve is centred as in the paper (eq. 16): each row stands at its bin's upper edge, and
    ``sum_k n_k g(z_k) / n`` (``n_k`` rows in bin ``k``) is subtracted, so the mean effect over the
    data is 0. The grid is the edges.
Pairs of numeric features (2-D)
    The cells are the products of the two features' bins. A row in cell ``(k, m)`` contributes the
    double difference ``f(z_k, w_m) - f(z_{k-1}, w_m) - f(z_k, w_{m-1}) + f(z_{k-1}, w_{m-1})``
    (both features replaced). The cell means are accumulated over both axes into ``h``; a cell
    without rows takes the mean of the nearest cell with rows (distance between cell centres, each
    feature scaled by its range; ties to the first in row-major order), as the authors' ``ALEPlot``
    does. Then the first-order effects of ``h`` are removed (eq. 14: along each axis, the mean over
    the rows of each bin of ``h``'s step at their cell's upper corner, accumulated) and the surface
    centred by cell counts (eq. 15). The result is the pure second-order effect: 0 for an additive
    model. The grid is the product of the edges, flattened row-major.
Categorical features
    Categories are ordered by how alike the rest of the data is within them: the distance between
    two categories sums, over every other feature, the Kolmogorov-Smirnov distance between that
    feature's distributions in the two categories (numeric features) or half the sum of the absolute
    differences of its category frequencies (categorical ones); the order is that of the first
    coordinate of classical multidimensional scaling of those distances (the direction that puts
    the first category, in the data's order, at or below the middle; ties in the order of the data).
    Between neighbours ``c_k`` and ``c_{k+1}`` in that order, the rows of ``c_k`` contribute
    ``f(x with c_{k+1}) - f(x)`` and those of ``c_{k+1}`` contribute ``f(x) - f(x with c_k)``; the
    means are accumulated from ``g(c_1) = 0`` and centred by category frequencies (the authors'
    ``ALEPlot``). The grid holds the positions ``0, 1, ...`` in that order; ``grid_labels`` the
    categories. Features of a DataFrame's category and text columns are categorical; numeric ones
    are when named in ``categorical_features``. Pairs with a categorical feature are refused.
Bootstrap bands
    ``n_bootstrap`` resamples of the rows (with replacement; resample ``b`` draws from the ``b``-th
    child of the seed, so every executor gives the same band) on the same bins and category order.
    The local effects of a row do not depend on the others, so a resample re-weights the rows'
    contributions and calls the model no more. A bin (or cell) that a resample leaves empty takes
    the mean of the nearest bin with rows. ``lower`` and ``upper`` are the percentile interval at
    level ``ci`` of the resampled curves, pointwise.

The model is called on the stacked copies of a block of rows with every edge pair at once (in
calls of ``batch_size`` rows), and the work is split into (term, block of rows) jobs, a split that
does not depend on the executor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xaikit._validation import check_array, check_float, check_int, describe
from xaikit.errors import InvalidParameterError
from xaikit.execution.shared import Shared
from xaikit.explainers.base import Explainer, output_names, select_outputs
from xaikit.explainers.pipeline import Answer, Parameter, Plan, integer, row_seeds
from xaikit.maskers.tabular import TabularCodec, is_frame
from xaikit.models import adapt
from xaikit.models.base import evaluating
from xaikit.results.effects import N_DECILES, Effects

__all__ = ["Ale", "quantile_edges", "category_order", "accumulate", "accumulate_2d"]

#: Rows of the data per job: each job predicts 2 (1-D), 3 (categorical) or 4 (pairs) copies of them.
BLOCK_ROWS = 4096


# ----------------------------------------------------------------------------- the estimator on arrays


def quantile_edges(x: np.ndarray, bins: int) -> np.ndarray:
    """Bin edges of a numeric feature: its empirical quantiles at ``0, 1/bins, ..., 1``, ties merged.

    Each edge is a value of ``x`` (the inverse of the empirical distribution function), so every
    bin ``(z_{k-1}, z_k]`` holds at least the rows equal to ``z_k``.

    >>> quantile_edges(np.array([0.0, 1.0, 2.0, 3.0, 4.0]), 4).tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0]
    >>> quantile_edges(np.array([0.0, 0.0, 0.0, 1.0]), 10).tolist()
    [0.0, 1.0]
    """
    levels = np.linspace(0.0, 1.0, bins + 1)
    return np.unique(np.quantile(x, levels, method="inverted_cdf"))


def bin_index(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin ``k`` (1..K) of each value: ``z_{k-1} < x <= z_k``, the minimum in bin 1.

    >>> bin_index(np.array([0.0, 0.5, 1.0, 2.0]), np.array([0.0, 1.0, 2.0])).tolist()
    [1, 1, 1, 2]
    """
    k = np.searchsorted(edges, x, side="left")
    return np.clip(k, 1, max(len(edges) - 1, 1)).astype(np.intp)


def _fill_nearest(means: np.ndarray, counts: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """``means`` (m, o) where ``counts > 0``; elsewhere the mean of the nearest position with
    ``counts > 0`` (``centres`` (m, k): positions; ties to the first)."""
    empty = counts <= 0
    if not empty.any() or empty.all():
        return np.where(empty[:, None], 0.0, means)
    full = np.flatnonzero(~empty)
    gaps = np.flatnonzero(empty)
    dist = ((centres[gaps, None, :] - centres[None, full, :]) ** 2).sum(axis=2)
    out = means.copy()
    out[gaps] = means[full[np.argmin(dist, axis=1)]]
    return out


def _weighted_means(deltas: np.ndarray, slots: np.ndarray, weights: np.ndarray, n_slots: int) -> tuple[np.ndarray, np.ndarray]:
    """Per slot: the weighted mean of the ``deltas`` (m,) in it, and the total weight (sequential sums)."""
    counts = np.bincount(slots, weights=weights, minlength=n_slots)[:n_slots]
    sums = np.bincount(slots, weights=weights * deltas, minlength=n_slots)[:n_slots]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    return means, counts


def _weighted_total(values: np.ndarray, weights: np.ndarray) -> float:
    """``sum(weights * values) / sum(weights)``, correctly rounded (0 without weight)."""
    total = math.fsum(weights.ravel().tolist())
    return math.fsum((weights * values).ravel().tolist()) / total if total > 0 else 0.0


def accumulate(deltas: np.ndarray, slots: np.ndarray, weights: np.ndarray, positions: np.ndarray,
               row_weights: np.ndarray, n_points: int) -> np.ndarray:
    """A centred 1-D ALE curve ``(n_points, o)`` from local effects.

    Parameters
    ----------
    deltas : (m, o)
        The local effects (one per row of a bin, two per row of an inner category).
    slots : (m,)
        The step ``0..n_points-2`` each one measures (between grid points ``s`` and ``s + 1``).
    weights : (m,)
        Their weights (1, or how often a resample draws the row).
    positions : (n,)
        The grid point each row stands at, for the centring.
    row_weights : (n,)
        The rows' weights.
    n_points : int

    A step no local effect measures takes the mean of the nearest step that has one. Each output is
    computed on its own, so that choosing outputs changes no bit of the others.

    >>> accumulate(np.array([[1.0], [3.0]]), np.array([0, 1]), np.ones(2), np.array([1, 2]), np.ones(2), 3)[:, 0].tolist()
    [-2.5, -1.5, 1.5]
    """
    o = deltas.shape[1]
    out = np.zeros((max(n_points, 1), o))
    if n_points <= 1:
        return out
    at = np.bincount(positions, weights=row_weights, minlength=n_points)[:n_points]  # the rows' weight at each point
    steps = np.arange(n_points - 1, dtype=np.float64)[:, None]
    for q in range(o):
        means, counts = _weighted_means(np.ascontiguousarray(deltas[:, q]), slots, weights, n_points - 1)
        means = _fill_nearest(means[:, None], counts, steps)[:, 0]
        g = np.zeros(n_points)
        g[1:] = np.cumsum(means)
        out[:, q] = g - _weighted_total(g, at)
    return out


def accumulate_2d(deltas: np.ndarray, first: np.ndarray, second: np.ndarray, weights: np.ndarray,
                  edges: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The centred second-order ALE ``(K1 + 1, K2 + 1, o)`` of a pair from the rows' double differences.

    ``first`` and ``second`` are the rows' cells ``0..K1-1`` and ``0..K2-1`` (bin index minus one),
    ``weights`` theirs, ``edges`` the two features' bin edges.

    >>> z = np.array([0.0, 1.0, 2.0])
    >>> d = np.ones((4, 1)); a = np.array([0, 0, 1, 1]); b = np.array([0, 1, 0, 1])
    >>> accumulate_2d(d, a, b, np.ones(4), (z, z))[..., 0].tolist()  # x y: (x - 1.5)(y - 1.5), rows at upper corners
    [[2.25, 0.75, -0.75], [0.75, 0.25, -0.25], [-0.75, -0.25, 0.25]]
    """
    z1, z2 = edges
    k1, k2, o = len(z1) - 1, len(z2) - 1, deltas.shape[1]
    out = np.zeros((k1 + 1, k2 + 1, o))
    if k1 < 1 or k2 < 1:
        return out
    cells = first * k2 + second
    span1 = float(z1[-1] - z1[0]) or 1.0
    span2 = float(z2[-1] - z2[0]) or 1.0
    c1 = (z1[:-1] + z1[1:]) / 2 / span1
    c2 = (z2[:-1] + z2[1:]) / 2 / span2
    centres = np.stack(np.meshgrid(c1, c2, indexing="ij"), axis=-1).reshape(-1, 2)
    for q in range(o):
        means, counts = _weighted_means(np.ascontiguousarray(deltas[:, q]), cells, weights, k1 * k2)
        means = _fill_nearest(means[:, None], counts, centres)[:, 0].reshape(k1, k2)
        n = counts.reshape(k1, k2)
        h = np.zeros((k1 + 1, k2 + 1))
        h[1:, 1:] = np.cumsum(np.cumsum(means, axis=0), axis=1)
        # first-order effects of h (eq. 14): each row's step of h along one axis, at its cell's upper corner
        n1, n2 = n.sum(axis=1), n.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            d1 = ((h[1:, 1:] - h[:-1, 1:]) * n).sum(axis=1) / n1
            d2 = ((h[1:, 1:] - h[1:, :-1]) * n).sum(axis=0) / n2
        d1 = _fill_nearest(d1[:, None], n1, np.arange(k1, dtype=np.float64)[:, None])[:, 0]
        d2 = _fill_nearest(d2[:, None], n2, np.arange(k2, dtype=np.float64)[:, None])[:, 0]
        h = h - np.concatenate([[0.0], np.cumsum(d1)])[:, None] - np.concatenate([[0.0], np.cumsum(d2)])[None, :]
        out[..., q] = h - _weighted_total(h[1:, 1:], n)
    return out


def _ks_distances(x: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Kolmogorov-Smirnov distances (k, k) between the distributions of ``x`` in each category."""
    points = np.unique(x)
    cdf = np.zeros((k, len(points)))
    for c in range(k):
        values = np.sort(x[codes == c])
        if values.size:
            cdf[c] = np.searchsorted(values, points, side="right") / values.size
    return np.abs(cdf[:, None, :] - cdf[None, :, :]).max(axis=2)  # type: ignore[no-any-return]


def _frequency_distances(x: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Half the L1 distances (k, k) between the category frequencies of ``x`` in each category."""
    levels, other = np.unique(x, return_inverse=True)
    table = np.zeros((k, len(levels)))
    np.add.at(table, (codes, other.reshape(-1)), 1.0)
    sizes = table.sum(axis=1, keepdims=True)
    freq = np.divide(table, sizes, out=np.zeros_like(table), where=sizes > 0)
    return np.abs(freq[:, None, :] - freq[None, :, :]).sum(axis=2) / 2  # type: ignore[no-any-return]


def category_order(Z: np.ndarray, j: int, categorical: Sequence[bool]) -> np.ndarray:
    """The categories of column ``j`` of ``Z`` (its distinct values, ascending) in ALE's order.

    Distances between categories add, over the other columns, the Kolmogorov-Smirnov distance
    (numeric columns) or half the L1 distance between category frequencies (``categorical``
    columns); the order is that of the first coordinate of classical multidimensional scaling,
    signed so that the first category lies at or below the middle (ties: ascending values).
    Returns the positions, into the distinct values, in that order.

    >>> Z = np.array([[0, 0.0], [0, 1], [0, 2], [1, 2], [1, 3], [1, 4], [2, 1], [2, 2], [2, 3]])
    >>> category_order(Z, 0, [True, False]).tolist()  # 0 and 1 are furthest apart; 2 lies between
    [0, 2, 1]
    """
    values, codes = np.unique(Z[:, j], return_inverse=True)
    codes = codes.reshape(-1)
    k = len(values)
    if k <= 2:
        return np.arange(k)
    dist = np.zeros((k, k))
    for other in range(Z.shape[1]):
        if other == j:
            continue
        measure = _frequency_distances if categorical[other] else _ks_distances
        dist += measure(Z[:, other], codes, k)
    # classical MDS: the leading eigenvector of the double-centred squared distances
    centre = np.eye(k) - 1.0 / k
    b = -0.5 * centre @ (dist**2) @ centre
    eigvals, eigvecs = np.linalg.eigh((b + b.T) / 2)
    coord = eigvecs[:, -1] * np.sqrt(max(float(eigvals[-1]), 0.0))
    coord = np.round(coord, 12)  # ties (and their order) not left to the last bits
    if coord[0] > 0:
        coord = -coord
    return np.argsort(coord, kind="stable")


# ----------------------------------------------------------------------------- terms and jobs


@dataclass(frozen=True)
class _Term:
    """One term: its features (column indices) and kind, with what the jobs need."""

    kind: str  # "numeric", "categorical" or "pair"
    features: tuple[int, ...]
    edges: tuple[np.ndarray, ...]  # numeric: the edges of each feature; categorical: the values in ALE's order
    labels: tuple[str, ...] = ()  # categorical: the categories in ALE's order
    cells: tuple[np.ndarray, ...] = ()  # per feature, each row's bin (1..K) or category position (0..K-1)

    @property
    def copies(self) -> int:
        """Model rows per data row."""
        return {"numeric": 2, "categorical": 3, "pair": 4}[self.kind]


@dataclass
class _Data:
    """What every job reads (sent to each worker once): the encoded rows, how the model takes them, the terms."""

    Z: np.ndarray
    codec: TabularCodec | None
    frame: bool
    names: list[str]
    terms: list[_Term]
    outputs: list[int]

    def inputs(self, Z: np.ndarray) -> Any:
        if self.codec is not None:
            return self.codec.decode(Z)
        if self.frame:
            import pandas as pd

            return pd.DataFrame(Z, columns=self.names)
        return Z


def _copies(data: _Data, term: _Term, rows: slice) -> tuple[np.ndarray, np.ndarray]:
    """The model rows of a block (copies of the rows with the term's features moved) and which are needed."""
    base = data.Z[rows]
    r = base.shape[0]
    need = np.ones(term.copies * r, dtype=bool)
    stacked = np.tile(base, (term.copies, 1))
    if term.kind != "categorical" and min(len(z) for z in term.edges) < 2:  # a constant feature: nothing moves
        need[:] = False
    elif term.kind == "numeric":
        (j,), (z,), (k,) = term.features, term.edges, term.cells
        k = k[rows]
        stacked[:r, j] = z[k]
        stacked[r:, j] = z[k - 1]
    elif term.kind == "pair":
        (j, i), (z, w), (k, m) = term.features, term.edges, term.cells
        k, m = k[rows], m[rows]
        for c, (dk, dm) in enumerate(((0, 0), (1, 0), (0, 1), (1, 1))):
            stacked[c * r:(c + 1) * r, j] = z[k - dk]
            stacked[c * r:(c + 1) * r, i] = w[m - dm]
    else:
        (j,), (values,), (pos,) = term.features, term.edges, term.cells
        pos = pos[rows]
        last = len(values) - 1
        up, down = pos < last, pos > 0
        stacked[:r, j] = values[np.minimum(pos + 1, last)]
        stacked[2 * r:, j] = values[np.maximum(pos - 1, 0)]
        need[:r] = up
        need[r:2 * r] = up | down
        need[2 * r:] = down
    return stacked[need], need


@dataclass
class _AleJob:
    """Local effects of some (term, block of rows) units, run by a worker with the explainer."""

    data: Shared[_Data]
    units: list[tuple[int, int, int]]  # (term, first row, end row)
    batch_size: int | None

    def __call__(self, explainer: Ale) -> list[tuple[np.ndarray, int]]:
        data = self.data.get()
        return [self._unit(explainer, data, *unit) for unit in self.units]

    def _unit(self, explainer: Ale, data: _Data, t: int, start: int, stop: int) -> tuple[np.ndarray, int]:
        term = data.terms[t]
        rows = slice(start, stop)
        stacked, need = _copies(data, term, rows)
        m = stacked.shape[0]
        size = m if self.batch_size is None else self.batch_size
        what = f"copies of rows {start}..{stop - 1} of X with {' and '.join(data.names[j] for j in term.features)} moved"
        with evaluating(what):
            parts = [explainer.model.predict(data.inputs(stacked[s:s + size])) for s in range(0, m, max(size, 1))]
        pred = np.concatenate(parts)[:, data.outputs] if parts else np.zeros((0, len(data.outputs)))
        full = np.full((need.size, len(data.outputs)), np.nan)
        full[need] = pred
        r = stop - start
        blocks = full.reshape(term.copies, r, -1)
        with np.errstate(over="ignore", invalid="ignore"):
            if term.kind == "numeric":
                deltas = blocks[0] - blocks[1]
            elif term.kind == "pair":
                deltas = blocks[0] - blocks[1] - blocks[2] + blocks[3]
            else:  # up moves, then down moves (NaN where the row has no such neighbour)
                deltas = np.concatenate([blocks[0] - blocks[1], blocks[1] - blocks[2]], axis=1)
        return deltas, m


@dataclass
class _AlePlan(Plan):
    data: _Data | None = None
    shared: Shared[_Data] | None = None
    units: list[tuple[int, int, int]] = field(default_factory=list)
    out_names: list[str] = field(default_factory=list)
    seed: np.random.SeedSequence | None = None


# ----------------------------------------------------------------------------- the method


def _feature_index(item: Any, names: list[str], name: str) -> int:
    if isinstance(item, str):
        if item not in names:
            raise InvalidParameterError(f"{name}: expected feature names from {names[:20]} or indices, got {item!r}")
        return names.index(item)
    if isinstance(item, (int, np.integer)) and not isinstance(item, bool) and -len(names) <= int(item) < len(names):
        return int(item) % len(names)
    raise InvalidParameterError(
        f"{name}: expected feature indices in [{-len(names)}, {len(names)}) or names from {names[:20]}, got {describe(item)}"
    )


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray, range))


def _label(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


class Ale(Explainer[Effects]):
    """Accumulated local effects (Apley & Zhu 2020) of numeric and categorical features and pairs.

    See :mod:`xaikit.explainers.global_.ale` for the estimator (bins, centring, the categories'
    order, empty cells and the bootstrap).

    Parameters
    ----------
    model : estimator, Pipeline, callable or adapted model
    features : list of int or str, optional
        The features with a 1-D curve (all by default; ``[]`` for pairs only).
    pairs : list of (int or str, int or str)
        Pairs of numeric features with a second-order (2-D) effect.
    bins : int
        Quantile bins per numeric feature (fewer when values tie).
    categorical_features : list of int or str, optional
        Numeric columns to treat as categories (a DataFrame's category and text columns always are).
    ci : float
        Level of the bootstrap band, in (0, 1).
    n_bootstrap : int
        Resamples of the rows for the band; 0 for no band.
    output : {"auto", "probability", "log_odds", "raw"}
        The response explained (see :func:`xaikit.models.adapt`).

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> from xaikit.explainers.global_.ale import Ale
    >>> X = np.random.default_rng(0).uniform(-1, 1, size=(200, 2))
    >>> eff = Ale(lambda X: X[:, 0] ** 2 + 3 * X[:, 1], bins=4, n_bootstrap=0).explain(X)
    >>> t = eff.term("x1")
    >>> np.allclose(np.diff(t["average"][:, 0]), 3 * np.diff(t["grid_values"][0]))
    True
    >>> eff.term_names, eff.lower is None
    (['x0', 'x1'], True)
    """

    name = "ale"
    kind = "global"
    result = Effects
    exact = False
    stochastic = True
    explain_parameters = (
        Parameter("batch_size", None, "int, optional", "Model rows per call (all copies of a block of rows at once by default).",
                  integer(minimum=1), optional=True),
    )
    summary = "Accumulated local effects of the features and pairs on the model's outputs, over the rows of ``X``."
    input_doc = "X : array-like (n, d) or DataFrame\n    The data: where the bins, the cells and the local effects come from."
    returns_doc = (
        "Effects\n    One term per feature, then per pair: ``grid`` (bin edges; category positions), ``average`` "
        "(the centred ALE), ``lower``/``upper`` (the bootstrap band), ``grid_labels`` (categories in ALE's order)."
    )

    def __init__(self, model: Any, /, *, features: Sequence[int | str] | None = None, pairs: Sequence[Sequence[int | str]] = (),
                 bins: int = 20, categorical_features: Sequence[int | str] | None = None, ci: float = 0.95,
                 n_bootstrap: int = 100, output: str = "auto") -> None:
        if features is not None and not _is_list(features):
            raise InvalidParameterError(f"features: expected a list of feature indices or names, or None, got {describe(features)}")
        if not _is_list(pairs) or not all(_is_list(p) and len(p) == 2 for p in pairs):
            raise InvalidParameterError(f"pairs: expected a list of (feature, feature) pairs, got {describe(pairs)}")
        if categorical_features is not None and not _is_list(categorical_features):
            raise InvalidParameterError(
                f"categorical_features: expected a list of feature indices or names, or None, got {describe(categorical_features)}"
            )
        self.features = None if features is None else list(features)
        self.pairs = [tuple(p) for p in pairs]
        self.bins = check_int(bins, "bins", minimum=1)
        self.categorical_features = [] if categorical_features is None else list(categorical_features)
        self.ci = check_float(ci, "ci", minimum=0.0, strict_minimum=True)
        if self.ci >= 1.0:
            raise InvalidParameterError(f"ci: expected a level in (0, 1), got {describe(ci)}")
        self.n_bootstrap = check_int(n_bootstrap, "n_bootstrap", minimum=0)
        self.model = adapt(model, output=output)

    def __repr__(self) -> str:
        return f"Ale(bins={self.bins}, n_bootstrap={self.n_bootstrap}, ci={self.ci})"

    # ---------------------------------------------------------------- steps
    def _encode(self, X: Any) -> tuple[np.ndarray, TabularCodec | None, list[str], bool, set[int]]:
        """The rows as a float matrix, the codec of a DataFrame with categories, the feature names,
        whether the model takes a DataFrame, and the categorical columns."""
        model = self.model
        if is_frame(X):
            if len(X) == 0 or X.shape[1] == 0:
                raise InvalidParameterError(f"X: expected at least 1 row and 1 column, got {describe(X)}")
            codec = TabularCodec.from_frame(X)
            Z = codec.encode(X)
            names = codec.names
            categorical = {j for j, c in enumerate(codec.columns) if c.kind in ("category", "object")}
            codec_used: TabularCodec | None = codec  # the model gets the columns' own dtypes back
            if not np.isfinite(Z).all():
                bad = tuple(int(i) for i in np.argwhere(~np.isfinite(Z))[0])
                raise InvalidParameterError(f"X: expected no missing or infinite values, got one at (row, column) {bad}; impute them first")
            frame = True
        else:
            Z = check_array(X, "X")
            names = list(model.feature_names_in) if model.feature_names_in is not None else [f"x{j}" for j in range(Z.shape[1])]
            codec_used, categorical, frame = None, set(), model.wants_frame
        model.check_width(Z, "X")
        if len(names) != Z.shape[1]:
            raise InvalidParameterError(f"X: expected {len(names)} columns (the model's features {names[:20]}), got {Z.shape[1]}")
        for item in self.categorical_features:
            categorical.add(_feature_index(item, names, "categorical_features"))
        return Z, codec_used, names, frame, categorical

    def _terms(self, Z: np.ndarray, names: list[str], codec: TabularCodec | None, categorical: set[int]) -> list[_Term]:
        d = Z.shape[1]
        chosen = list(range(d)) if self.features is None else [_feature_index(f, names, "features") for f in self.features]
        if len(set(chosen)) != len(chosen):
            raise InvalidParameterError(f"features: expected each feature once, got {self.features}")
        is_cat = [j in categorical for j in range(d)]
        terms: list[_Term] = []
        for j in chosen:
            x = Z[:, j]
            if is_cat[j]:
                values = np.unique(x)
                order = category_order(Z, j, is_cat)
                if codec is not None and codec.columns[j].kind in ("category", "object"):
                    labels = tuple(_label(codec.columns[j].categories[int(v)]) for v in values[order])
                else:
                    labels = tuple(_label(v) for v in values[order])
                rank = np.empty(len(values), dtype=np.intp)
                rank[order] = np.arange(len(values))
                pos = rank[np.searchsorted(values, x)]
                terms.append(_Term("categorical", (j,), (values[order],), labels, (pos,)))
            else:
                edges = quantile_edges(x, self.bins)
                terms.append(_Term("numeric", (j,), (edges,), (), (bin_index(x, edges),)))
        seen: set[tuple[int, int]] = set()
        for pair in self.pairs:
            j, i = (_feature_index(p, names, "pairs") for p in pair)
            if j == i or (j, i) in seen:
                raise InvalidParameterError(f"pairs: expected pairs of two distinct features, each pair once, got {list(pair)}")
            bad = [names[c] for c in (j, i) if is_cat[c]]
            if bad:
                raise InvalidParameterError(
                    f"pairs: expected pairs of numeric features (second-order ALE), got {list(pair)} with the categorical {bad}"
                )
            seen.add((j, i))
            z, w = quantile_edges(Z[:, j], self.bins), quantile_edges(Z[:, i], self.bins)
            terms.append(_Term("pair", (j, i), (z, w), (), (bin_index(Z[:, j], z), bin_index(Z[:, i], w))))
        if not terms:
            raise InvalidParameterError("features: expected at least one feature or pair to explain, got none (features=[] and no pairs)")
        return terms

    def _start(self, X: Any, target: Any, params: dict[str, Any]) -> Plan:
        Z, codec, names, frame, categorical = self._encode(X)
        terms = self._terms(Z, names, codec, categorical)
        probe = _Data(Z, codec, frame, names, terms, [])
        with evaluating("row 0 of X"):
            first = self.model.predict(probe.inputs(Z[:1]))
        out_idx, out_names = select_outputs(target, output_names(self.model.output_names, first.shape[1]))
        data = _Data(Z, codec, frame, names, terms, out_idx)
        n = Z.shape[0]
        units = [(t, s, min(s + BLOCK_ROWS, n)) for t in range(len(terms)) for s in range(0, n, BLOCK_ROWS)]
        plan = _AlePlan(len(units), data=data, units=units, out_names=out_names)
        plan.job = lambda rows, seed: _AleJob(plan.shared or Shared(data), [plan.units[i] for i in rows],
                                              plan.params.get("batch_size"))
        return plan

    def _run(self, plan: Plan, executor: Any, seed: np.random.SeedSequence) -> list[Any]:
        from xaikit.explainers.pipeline import run_chunks

        if not isinstance(plan, _AlePlan) or plan.data is None:  # pragma: no cover - _start makes one
            return []
        plan.seed = seed
        plan.shared = executor.scatter(plan.data) if executor.n_workers > 1 else Shared(plan.data)
        return run_chunks(self, plan, executor, seed)

    def _finish(self, plan: Plan, parts: list[Any]) -> Answer:
        if not isinstance(plan, _AlePlan) or plan.data is None or plan.seed is None:  # pragma: no cover
            raise InvalidParameterError("X: nothing to explain")
        data = plan.data
        units = [u for part in parts for u in part]
        n, o = data.Z.shape[0], len(plan.out_names)
        per_term: list[list[np.ndarray]] = [[] for _ in data.terms]
        for (t, _, _), (deltas, _) in zip(plan.units, units):
            per_term[t].append(deltas)
        deltas = [np.concatenate(p) if p else np.zeros((0, o)) for p in per_term]
        n_rows_predicted = int(sum(m for _, m in units)) + 1
        ones = np.ones(n)
        curves = [self._curve(term, d, ones) for term, d in zip(data.terms, deltas)]
        sizes = [c.shape[0] for c in curves]
        g = max(sizes)
        average = np.full((len(curves), g, o), np.nan)
        for t, c in enumerate(curves):
            average[t, : len(c)] = c
        lower = upper = None
        if self.n_bootstrap > 0:
            reps = np.full((self.n_bootstrap, len(curves), g, o), np.nan)
            for b, s in enumerate(row_seeds(plan.seed, range(self.n_bootstrap))):
                w = np.bincount(np.random.default_rng(s).integers(0, n, size=n), minlength=n).astype(np.float64)
                for t, (term, d) in enumerate(zip(data.terms, deltas)):
                    c = self._curve(term, d, w)
                    reps[b, t, : len(c)] = c
            alpha = (1.0 - self.ci) / 2
            lower = np.quantile(reps, alpha, axis=0)
            upper = np.quantile(reps, 1.0 - alpha, axis=0)
        fields = {
            "average": average,
            "grid": self._grid(data.terms, g),
            "lower": lower,
            "upper": upper,
            "deciles": self._deciles(data),
            "term_features": [[data.names[j] for j in term.features] for term in data.terms],
            "grid_shape": [[len(e) for e in term.edges] for term in data.terms],
            "grid_labels": [[list(term.labels)] if term.kind == "categorical" else None for term in data.terms],
            "feature_names": list(data.names),
            "output_names": plan.out_names,
        }
        diagnostics = {"n_model_rows": n_rows_predicted, "n_bootstrap": self.n_bootstrap}
        answer_params = {"features": [[data.names[j] for j in term.features] for term in data.terms],
                         "bins": self.bins, "ci": self.ci, "n_bootstrap": self.n_bootstrap,
                         "centering": "mean over the rows 0 (Apley & Zhu, by bin counts)"}
        return Answer(fields, diagnostics, params=answer_params)

    @staticmethod
    def _curve(term: _Term, deltas: np.ndarray, w: np.ndarray) -> np.ndarray:
        """A term's centred curve (flattened for a pair) from its local effects and row weights ``w``."""
        o = deltas.shape[1] // 2 if term.kind == "categorical" else deltas.shape[1]
        if term.kind == "numeric":
            (k,) = term.cells
            return accumulate(deltas, k - 1, w, k, w, len(term.edges[0]))
        if term.kind == "pair":
            k, m = term.cells
            surface = accumulate_2d(deltas, k - 1, m - 1, w, (term.edges[0], term.edges[1]))
            return surface.reshape(-1, o)
        (pos,) = term.cells
        up, down = deltas[:, :o], deltas[:, o:]
        last = len(term.edges[0]) - 1
        has_up, has_down = pos < last, pos > 0
        both = np.concatenate([up[has_up], down[has_down]])
        slots = np.concatenate([pos[has_up], pos[has_down] - 1])
        weights = np.concatenate([w[has_up], w[has_down]])
        return accumulate(both, slots, weights, pos, w, last + 1)

    @staticmethod
    def _grid(terms: list[_Term], g: int) -> np.ndarray:
        grid = np.full((len(terms), g, 2), np.nan)
        for t, term in enumerate(terms):
            if term.kind == "numeric":
                grid[t, : len(term.edges[0]), 0] = term.edges[0]
            elif term.kind == "categorical":
                grid[t, : len(term.edges[0]), 0] = np.arange(len(term.edges[0]))
            else:
                z, w = term.edges
                a, b = np.meshgrid(z, w, indexing="ij")
                grid[t, : a.size, 0] = a.reshape(-1)
                grid[t, : a.size, 1] = b.reshape(-1)
        return grid

    @staticmethod
    def _deciles(data: _Data) -> np.ndarray:
        levels = np.arange(1, N_DECILES + 1) / (N_DECILES + 1)
        out = np.full((len(data.terms), N_DECILES, 2), np.nan)
        for t, term in enumerate(data.terms):
            if term.kind == "categorical":
                continue
            for c, j in enumerate(term.features):
                out[t, :, c] = np.quantile(data.Z[:, j], levels)
        return out
