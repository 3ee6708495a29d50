"""Binning continuous features into intervals, and drawing values back from the intervals.

LIME's tabular explanations speak of intervals ("1.60 < petal length (cm) <= 4.35") rather than
raw values. A :class:`Discretizer` learns, per continuous column of the training data, the bin
edges and, per bin, the training mean, standard deviation, lower and upper bound, and frequency.
A sampled bin is turned back into a value by a draw from the normal with the bin's mean and
standard deviation, truncated to the bin.

Three ways to place the edges:

``"quartile"``
    the 25th, 50th and 75th training percentiles (:func:`quartile_edges`);
``"decile"``
    the 10th, 20th, ..., 90th percentiles (:func:`decile_edges`);
``"entropy"``
    the split thresholds of a depth-3 decision tree (entropy criterion) that predicts the
    training labels from that one feature (:func:`entropy_edges`; needs scikit-learn).

A value ``v`` falls in bin ``i`` when ``edges[i - 1] < v <= edges[i]`` (bin 0 is ``v <= edges[0]``,
the last bin ``v > edges[-1]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xaikit._optional import import_optional
from xaikit._validation import check_choice
from xaikit.errors import InvalidParameterError

__all__ = [
    "DISCRETIZERS",
    "BinnedFeature",
    "Discretizer",
    "decile_edges",
    "entropy_edges",
    "quartile_edges",
    "truncated_standard_normal",
]

#: The accepted values of ``discretize``.
DISCRETIZERS: tuple[str, ...] = ("quartile", "decile", "entropy")

_STD_FLOOR = 1e-11


def quartile_edges(column: np.ndarray) -> np.ndarray:
    """Sorted unique quartiles of ``column`` (NaN ignored).

    >>> quartile_edges(np.arange(9.0)).tolist()
    [2.0, 4.0, 6.0]
    """
    return np.unique(np.nanpercentile(np.asarray(column, dtype=np.float64), [25, 50, 75]))


def decile_edges(column: np.ndarray) -> np.ndarray:
    """Sorted unique deciles of ``column`` (NaN ignored).

    >>> decile_edges(np.arange(11.0)).tolist()
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    >>> decile_edges(np.zeros(5)).tolist()
    [0.0]
    """
    return np.unique(np.nanpercentile(np.asarray(column, dtype=np.float64), np.arange(10, 100, 10)))


def entropy_edges(column: np.ndarray, labels: np.ndarray, *, random_state: int = 0) -> np.ndarray:
    """Split thresholds of a depth-3 entropy decision tree of ``labels`` on ``column``.

    At most 7 edges (8 bins); the median when the tree makes no split.

    >>> x = np.arange(8.0); y = (x > 4.5).astype(int)
    >>> entropy_edges(x, y).tolist()
    [4.5]
    >>> entropy_edges(x, np.zeros(8)).tolist()
    [3.5]
    """
    tree_mod = import_optional("sklearn.tree", "sklearn")
    col = np.asarray(column, dtype=np.float64)
    keep = ~np.isnan(col)
    tree = tree_mod.DecisionTreeClassifier(criterion="entropy", max_depth=3, random_state=random_state)
    tree.fit(col[keep, None], np.asarray(labels)[keep])
    internal = tree.tree_.children_left > -1
    edges = np.sort(tree.tree_.threshold[internal])
    if edges.size == 0:
        edges = np.array([np.nanmedian(col)])
    return np.unique(edges)


@dataclass(frozen=True)
class BinnedFeature:
    """Bins of one continuous feature and the training statistics inside each bin.

    Attributes
    ----------
    edges : ndarray (k,)
        Sorted inner edges; ``k + 1`` bins.
    means, stds, lows, highs, frequencies : ndarray (k + 1,)
        Per bin: training mean, standard deviation (floored at 1e-11), lower and upper bound
        (the training minimum and maximum close the outer bins), and the share of training rows.

    Examples
    --------
    >>> f = BinnedFeature.fit(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.5]))
    >>> f.bin_of(np.array([0.0, 2.5, 3.0])).tolist()
    [0, 0, 1]
    >>> f.names("age")
    ['age <= 2.50', 'age > 2.50']
    >>> v = f.sample(np.array([0, 1, 1]), np.random.default_rng(0))
    >>> bool((v[:1] <= 2.5).all() and (v[1:] > 2.5).all())
    True
    """

    edges: np.ndarray
    means: np.ndarray
    stds: np.ndarray
    lows: np.ndarray
    highs: np.ndarray
    frequencies: np.ndarray

    @classmethod
    def fit(cls, column: np.ndarray, edges: np.ndarray) -> BinnedFeature:
        """Statistics of ``column`` (NaN ignored) in the bins that ``edges`` define."""
        col = np.asarray(column, dtype=np.float64)
        col = col[~np.isnan(col)]
        edges = np.unique(np.asarray(edges, dtype=np.float64))
        bins = np.searchsorted(edges, col, side="left")
        k = edges.size + 1
        counts = np.bincount(bins, minlength=k).astype(np.float64)
        sums = np.bincount(bins, weights=col, minlength=k)
        means = np.divide(sums, counts, out=np.zeros(k), where=counts > 0)
        sq = np.bincount(bins, weights=(col - means[bins]) ** 2, minlength=k)
        stds = np.sqrt(np.divide(sq, counts, out=np.zeros(k), where=counts > 0)) + _STD_FLOOR
        lows = np.concatenate([[col.min()], edges])
        highs = np.concatenate([edges, [col.max()]])
        return cls(edges, means, stds, lows, highs, counts / counts.sum())

    @property
    def n_bins(self) -> int:
        """Number of bins."""
        return int(self.edges.size + 1)

    def bin_of(self, values: np.ndarray) -> np.ndarray:
        """Bin index of each value."""
        return np.searchsorted(self.edges, np.asarray(values, dtype=np.float64), side="left")

    def names(self, name: str) -> list[str]:
        """Readable interval of each bin for the feature called ``name``."""
        e = self.edges
        out = [f"{name} <= {e[0]:.2f}"]
        out += [f"{e[i]:.2f} < {name} <= {e[i + 1]:.2f}" for i in range(e.size - 1)]
        out.append(f"{name} > {e[-1]:.2f}")
        return out

    def sample(self, bins: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One value per entry of ``bins``: normal(mean, std) of the bin, truncated to the bin."""
        bins = np.asarray(bins, dtype=np.int64)
        low, high = self.lows[bins], self.highs[bins]
        mean, std = self.means[bins], self.stds[bins]
        a, b = (low - mean) / std, (high - mean) / std
        out = low.copy()
        open_ = a < b
        if open_.any():
            z = truncated_standard_normal(a[open_], b[open_], rng)
            out[open_] = np.clip(mean[open_] + std[open_] * z, low[open_], high[open_])
        return out


def truncated_standard_normal(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draws of N(0, 1) truncated to ``[a, b]`` (``a < b``, either may be infinite), by the inverse CDF.

    Intervals in the upper tail are mirrored into the lower tail, where the CDF keeps its relative
    precision, so the draws stay exact far from 0.

    >>> z = truncated_standard_normal(np.full(20000, 1.0), np.full(20000, np.inf), np.random.default_rng(0))
    >>> bool(z.min() >= 1.0), bool(abs(z.mean() - 1.525) < 0.02)  # E = pdf(1) / (1 - cdf(1)) = 1.525
    (True, True)
    """
    from scipy.special import ndtr, ndtri

    flip = a > 0
    lo = np.where(flip, -b, a)
    hi = np.where(flip, -a, b)
    p_lo, p_hi = ndtr(lo), ndtr(hi)
    u = p_lo + rng.random(lo.shape) * (p_hi - p_lo)
    with np.errstate(divide="ignore"):
        z = ndtri(u)
    # an interval so deep in the tail that its probability underflows: its nearer end
    z = np.where(p_hi > p_lo, z, hi)
    z = np.clip(z, lo, hi)
    return np.where(flip, -z, z)


class Discretizer:
    """Bins for the continuous columns of a training matrix.

    Parameters
    ----------
    data : ndarray (m, d)
        Training rows (encoded floats).
    columns : sequence of int
        The columns to bin (the continuous ones).
    method : {"quartile", "decile", "entropy"}
    labels : array-like (m,), optional
        Training labels; required by ``"entropy"``.

    Examples
    --------
    >>> X = np.column_stack([np.arange(8.0), np.zeros(8)])
    >>> disc = Discretizer(X, [0], "quartile")
    >>> disc.features[0].edges.tolist()
    [1.75, 3.5, 5.25]
    >>> disc.transform(np.array([[0.0, 0.0], [6.0, 0.0]])).tolist()
    [[0.0, 0.0], [3.0, 0.0]]
    """

    def __init__(self, data: np.ndarray, columns: Sequence[int], method: str, *, labels: Any = None) -> None:
        check_choice(method, "discretize", DISCRETIZERS)
        data = np.asarray(data, dtype=np.float64)
        if method == "entropy":
            if labels is None:
                raise InvalidParameterError(
                    "discretize: 'entropy' places the bin edges with the training labels; pass training_labels="
                )
            labels = np.asarray(labels)
            if labels.ndim != 1 or labels.shape[0] != data.shape[0]:
                raise InvalidParameterError(
                    f"training_labels: expected {data.shape[0]} labels (one per training row), got shape {labels.shape}"
                )
        self.method = method
        self.features: dict[int, BinnedFeature] = {}
        for j in columns:
            col = data[:, j]
            if method == "quartile":
                edges = quartile_edges(col)
            elif method == "decile":
                edges = decile_edges(col)
            else:
                edges = entropy_edges(col, labels)
            self.features[int(j)] = BinnedFeature.fit(col, edges)

    def transform(self, Z: np.ndarray) -> np.ndarray:
        """``Z`` with every binned column replaced by its bin index."""
        out = np.array(Z, dtype=np.float64, copy=True)
        for j, feat in self.features.items():
            out[..., j] = feat.bin_of(out[..., j])
        return out
