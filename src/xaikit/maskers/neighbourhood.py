"""LIME's neighbourhood of a table row: perturbations drawn from the background's statistics.

This is not a coalition masker (which hides features by background rows and feeds the
:class:`~xaikit.maskers.ValueFunction`): LIME samples each feature independently, from training
frequencies (categories and bins of discretised features) or a normal around the training mean,
and fits its surrogate on an interpretable representation of the draws. A
:class:`~xaikit.maskers.TabularMasker` builds one on its background (``masker.neighbourhood``), with
the LIME options given to the masker (``discretize``, ``categorical_features``, ``training_labels``,
``sample_around_instance``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from xaikit._validation import check_bool, check_choice, describe
from xaikit.errors import InvalidParameterError
from xaikit.maskers.discretize import DISCRETIZERS, Discretizer

if TYPE_CHECKING:
    from xaikit.maskers.tabular import TabularMasker

__all__ = ["SAMPLINGS", "TabularNeighbourhood", "draw_counts", "uniforms"]

#: How LIME's samplers draw: independently, or stratified (quasi-random uniforms, stratified counts).
SAMPLINGS: tuple[str, ...] = ("stratified", "iid")


def uniforms(rng: np.random.Generator, n: int, d: int, sampling: str = "iid") -> np.ndarray:
    """``(n, d)`` uniforms on [0, 1): independent (``"iid"``) or quasi-random (``"stratified"``).

    ``"stratified"`` takes the first ``n`` points of a scrambled Sobol sequence (a random linear
    matrix scramble and a random digital shift of the 32-bit points, drawn from ``rng``, plus 21
    uniform bits below them): each point on its own is ``d`` independent uniforms, as with
    ``"iid"``, while together they fill [0, 1)^d evenly (every dyadic box of the sequence's first
    ``2^k`` points holds its exact share). Above 1,000 columns it falls back to a Latin hypercube
    (one value in each of the ``n`` slices of [0, 1) per column, in an independent random order
    per column), which has the same property per column.

    >>> u = uniforms(np.random.default_rng(0), 4, 2, "stratified")
    >>> np.sort(np.floor(u * 4), axis=0).T.tolist()
    [[0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0]]
    """
    if sampling == "iid" or n == 0 or d == 0:
        return rng.random((n, d))
    if d <= 1000:
        directions = _sobol_directions(d)
        if directions is None:  # a scipy without the direction table: its own scrambled Sobol points
            import inspect

            from scipy.stats import qmc

            seeding = {"rng": rng} if "rng" in inspect.signature(qmc.Sobol).parameters else {"seed": rng}
            points = qmc.Sobol(d, scramble=True, **seeding).random_base2(max(0, int(np.ceil(np.log2(n)))))
            return np.ascontiguousarray(points[:n])
        from xaikit.maskers._draws import scrambled_sobol

        k = max(1, (int(n) - 1).bit_length())
        bits = rng.integers(0, 2**32, size=(d, 33), dtype=np.uint32)
        place = np.uint32(1) << np.arange(32, dtype=np.uint32)
        columns = (bits[:, :32] & (place - np.uint32(1))) | place  # column p: random bits below p, bit p set
        seed = int(rng.integers(0, 2**63 - 1))
        return scrambled_sobol(np.ascontiguousarray(directions[:, :k]), columns, bits[:, 32].copy(), int(n), seed)
    slices = rng.permuted(np.broadcast_to(np.arange(n, dtype=np.float64), (d, n)), axis=1).T
    return (slices + rng.random((n, d))) / n


_SOBOL_DIRECTIONS: list[np.ndarray] = []


def _sobol_directions(d: int) -> np.ndarray | None:
    """The unscrambled 32-bit direction numbers of the first ``d`` Sobol dimensions, ``(d, 32)`` uint32
    (scipy's Joe and Kuo numbers; the first ``d`` dimensions of a sequence do not depend on how many
    it has, so one table grown as needed serves every ``d``), or None where scipy does not expose them."""
    cached = _SOBOL_DIRECTIONS[-1] if _SOBOL_DIRECTIONS else None  # one read: other threads may grow it
    if cached is not None and cached.shape[0] >= d:
        return cached[:d]
    from scipy.stats import qmc

    table = getattr(qmc.Sobol(d, scramble=False, bits=32), "_sv", None)
    if not (isinstance(table, np.ndarray) and table.shape == (d, 32) and table.dtype == np.uint32):
        return None
    table = np.ascontiguousarray(table)
    table.flags.writeable = False
    _SOBOL_DIRECTIONS[:] = [table]
    return table


def draw_counts(rng: np.random.Generator, n: int, probabilities: np.ndarray, sampling: str = "iid") -> np.ndarray:
    """``n`` draws of ``0..len(probabilities) - 1`` with these probabilities, by the inverse CDF of
    uniforms: independent (``"iid"``), or stratified (``"stratified"``: one uniform in each of the
    ``n`` slices of [0, 1), in random order, so that every value comes up in its exact share to
    within one draw while each draw, on its own, has the same distribution).

    >>> np.bincount(draw_counts(np.random.default_rng(0), 8, np.array([0.25, 0.75]), "stratified")).tolist()
    [2, 6]
    """
    u = rng.random(n) if sampling == "iid" else (rng.permutation(n) + rng.random(n)) / n
    cdf = np.cumsum(probabilities, dtype=np.float64)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)


def _ndtri(p: np.ndarray) -> np.ndarray:
    """The standard normal quantile of every entry of a 2-d array (compiled AS 241)."""
    from xaikit.maskers._draws import ndtri_array

    return np.asarray(ndtri_array(np.ascontiguousarray(p, dtype=np.float64)))


def _bin_quantiles(bins: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per bin, what the truncated normal draw (:func:`xaikit.maskers._draws.discrete_draws`) needs:
    the normal's probabilities at the bin's ends (in the lower tail, where the CDF keeps its relative precision: a bin above the mean is
    mirrored), the bounds, and which bins have room between them."""
    from scipy.special import ndtr

    low, high, mean, std = bins["lows"], bins["highs"], bins["means"], bins["stds"]
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = (low - mean) / std, (high - mean) / std
    flip = a > 0
    p_lo, p_hi = ndtr(np.where(flip, -b, a)), ndtr(np.where(flip, -a, b))
    # quantile u of the truncated law: mean + sign * std * ndtri(start + u * span)
    start = np.where(flip, p_hi, p_lo)
    span = np.where(flip, p_lo - p_hi, p_hi - p_lo)
    # a bin without room, or so deep in the tail that its probability underflows: its nearer end
    fixed = ~(a < b) | ~(p_hi > p_lo)
    nearer = np.where(a < b, np.where(flip, low, high), low)
    return {"bin_start": start, "bin_span": span, "bin_mean": mean, "bin_scale": np.where(flip, -std, std),
            "bin_low": low, "bin_high": high, "bin_fixed": fixed, "bin_nearer": nearer}


def _bin_affine(q: dict[str, np.ndarray], lower: np.ndarray, upper: np.ndarray) -> dict[str, np.ndarray]:
    """Per bin, ``q0`` and ``q1`` with ``q0 + u * q1 = start + span * (u - lower) / (upper - lower)``:
    from a feature's uniform ``u`` (which fell in the bin's share ``[lower, upper)``) straight to
    the normal probability of the bin's truncated normal."""
    slope = q["bin_span"] / np.maximum(upper - lower, 1e-300)
    return {"bin_q0": q["bin_start"] - lower * slope, "bin_q1": slope}


class TabularNeighbourhood:
    """LIME's perturbation sampler around a row of a table, built on a masker's background.

    Parameters
    ----------
    masker : TabularMasker
        Its background gives the training statistics; its codec the category labels.
    discretize, categorical_features, training_labels, sample_around_instance
        As for :class:`~xaikit.maskers.TabularMasker`.
    """

    def __init__(
        self,
        masker: TabularMasker,
        *,
        discretize: str | None = None,
        categorical_features: Sequence[int | str] | None = None,
        training_labels: Any = None,
        sample_around_instance: bool = False,
    ) -> None:
        if not isinstance(sample_around_instance, (bool, np.bool_)):
            raise InvalidParameterError(
                f"sample_around_instance: expected True or False, got {describe(sample_around_instance)}"
            )
        self.sample_around_instance = bool(sample_around_instance)
        self.data, self.feature_names, self.codec = masker.data, masker.feature_names, masker.codec
        self.n_features, self.n_background = masker.n_features, masker.n_background
        if discretize is not None:
            check_choice(discretize, "discretize", [None, *DISCRETIZERS])
        d = self.n_features
        index = {n: j for j, n in enumerate(self.feature_names)}
        chosen: set[int] = set()
        if categorical_features is not None:
            if isinstance(categorical_features, (str, int)):
                categorical_features = [categorical_features]
            for f in categorical_features:
                if isinstance(f, str) and f in index:
                    chosen.add(index[f])
                elif isinstance(f, (int, np.integer)) and not isinstance(f, bool) and 0 <= int(f) < d:
                    chosen.add(int(f))
                else:
                    raise InvalidParameterError(
                        f"categorical_features: expected feature names or indices in [0, {d}), got {f!r}"
                    )
        if self.codec is not None:
            chosen.update(j for j, c in enumerate(self.codec.columns) if c.kind != "numeric")
        self.categorical_features = sorted(chosen)
        self.discretize = discretize
        if training_labels is not None and (discretize != "entropy"):
            labels = np.asarray(training_labels)
            if labels.ndim != 1 or labels.shape[0] != self.n_background:
                raise InvalidParameterError(
                    f"training_labels: expected {self.n_background} labels (one per background row), "
                    f"got {describe(labels)}"
                )
        continuous = [j for j in range(d) if j not in chosen]
        self.discretizer: Discretizer | None = (
            None if discretize is None else Discretizer(self.data, continuous, discretize, labels=training_labels)
        )
        self._lime_stats: dict[str, Any] | None = None

    def _neighbourhood_stats(self) -> dict[str, Any]:
        """Training means, standard deviations and category frequencies (computed once), and the
        tables :meth:`sample` draws categories and bins from in one step for all features."""
        if self._lime_stats is None:
            data = self.data
            mean = np.nanmean(data, axis=0) if data.size else np.zeros(self.n_features)
            std = np.nanstd(data, axis=0)
            std = np.where(std > 0, std, 1.0)
            categories: dict[int, tuple[np.ndarray, np.ndarray]] = {}
            for j in self.categorical_features:
                col = data[:, j]
                values, counts = np.unique(col[~np.isnan(col)], return_counts=True)
                categories[j] = (values, counts / counts.sum())
            features = self.discretizer.features if self.discretizer is not None else {}
            binned = sorted(features)
            # one table of every category and bin, feature after feature: cumulative frequencies
            # shifted by the feature's position (feature t's in [t, t + 1]), so that one sorted
            # search finds every feature's draw
            discrete = sorted(categories) + binned
            freqs = [categories[j][1] if j in categories else features[j].frequencies for j in discrete]
            sizes = np.array([f.size for f in freqs], dtype=np.intp)
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
            cum = [np.cumsum(f) / np.sum(f) for f in freqs]
            lower = np.concatenate([np.concatenate([[0.0], c[:-1]]) for c in cum]) if cum else np.zeros(0)
            upper = np.concatenate([np.concatenate([c[:-1], [1.0]]) for c in cum]) if cum else np.zeros(0)
            for c in cum:
                c[-1] = np.inf  # every uniform in [0, 1) falls below the last category's bound
            values = np.concatenate(
                [categories[j][0] if j in categories else np.zeros(features[j].n_bins) for j in discrete]
            ) if discrete else np.zeros(0)
            bins = {name: np.concatenate([getattr(features[j], name) for j in binned]) if binned else np.zeros(0)
                    for name in ("lows", "highs", "means", "stds")}
            quantiles = _bin_quantiles(bins)
            self._lime_stats = {
                "mean": mean, "std": std, "categories": categories,
                "continuous": np.array([j for j in range(self.n_features) if j not in discrete], dtype=np.intp),
                "discrete": np.array(discrete, dtype=np.intp), "n_categorical": len(categories),
                "sizes": sizes, "starts": starts, "cum": np.concatenate(cum) if cum else np.zeros(0),
                "lower": lower, "upper": upper, "values": values, **quantiles,
                "probabilities": np.concatenate([np.asarray(f, dtype=np.float64) / np.sum(f) for f in freqs])
                if freqs else np.zeros(0),
                **_bin_affine(quantiles, lower[int(sizes[:len(categories)].sum()):],
                              upper[int(sizes[:len(categories)].sum()):]),
            }
        return self._lime_stats

    @overload
    def sample(self, x: np.ndarray, n_samples: int, rng: np.random.Generator, *, sampling: str = ...,
               bins: Literal[False] = ...) -> tuple[np.ndarray, np.ndarray]: ...

    @overload
    def sample(self, x: np.ndarray, n_samples: int, rng: np.random.Generator, *, sampling: str = ...,
               bins: Literal[True]) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def sample(
        self, x: np.ndarray, n_samples: int, rng: np.random.Generator, *, sampling: str = "iid", bins: bool = False
    ) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
        """LIME's perturbations of row ``x``: ``(interpretable, Z)``, both ``(n_samples, d)``.

        ``Z`` holds encoded rows for the model (:meth:`TabularMasker.decode` makes them model inputs);
        ``interpretable`` is the representation the surrogate is fitted on and distances are
        measured in. Row 0 is ``x`` itself. Per feature:

        * categorical: a category drawn with its training frequency; interpretable 1 when it
          equals ``x``'s, else 0;
        * binned (``discretize`` set): a bin drawn with its training frequency, the value drawn
          from the bin's truncated normal; interpretable 1 when the bin is ``x``'s, else 0;
        * continuous: ``N(0, 1) * std + mean`` with the training mean and standard deviation
          (``+ x`` instead of ``+ mean`` with ``sample_around_instance``); interpretable the
          standardised value ``(value - mean) / std``.

        Every draw is the inverse distribution function of one uniform per feature and sample
        (for a binned feature the same uniform gives the bin and, rescaled within the bin's share,
        the value in it). ``sampling="iid"`` draws the uniforms independently; ``"stratified"``
        takes them from a scrambled Sobol sequence (:func:`uniforms`). Each perturbation then has
        exactly the same distribution as an independent one (so the surrogate estimates the same
        thing) while the sample's category and bin shares, and their combinations, follow the
        training frequencies far more evenly.

        With ``bins=True`` it returns ``(interpretable, Z, K)``: ``K`` ``(n_samples, t)`` int64 holds,
        for each of the ``t`` categorical and binned features (in the order of :meth:`bin_table`'s
        ``discrete``), the index in :meth:`bin_table`'s joint table of the drawn category or bin;
        row 0 is ``x``'s own (:meth:`own_index`, -1 where the background never has it).

        Examples
        --------
        >>> from xaikit.maskers import TabularMasker
        >>> masker = TabularMasker(np.array([[0.0, 0.0], [2.0, 1.0], [4.0, 1.0]]), categorical_features=[1])
        >>> S, Z = masker.neighbourhood.sample(np.array([2.0, 1.0]), 4, np.random.default_rng(0))
        >>> S.shape, Z[0].tolist(), S[0].tolist()
        ((4, 2), [2.0, 1.0], [0.0, 1.0])
        >>> bool(((S[:, 1] == 1) == (Z[:, 1] == 1)).all())
        True
        >>> S, Z = masker.neighbourhood.sample(np.array([2.0, 1.0]), 301, np.random.default_rng(0), sampling="stratified")
        >>> int((Z[1:, 1] == 1).sum())  # two thirds of the background have category 1
        200
        >>> S, Z, K = masker.neighbourhood.sample(np.array([2.0, 1.0]), 5, np.random.default_rng(0), bins=True)
        >>> K.shape, int(K[0, 0]), bool((Z[:, 1] == masker.neighbourhood.bin_table()["values"][K[:, 0]]).all())
        ((5, 1), 1, True)
        """
        if sampling not in SAMPLINGS:
            raise InvalidParameterError(f"sampling: expected one of {list(SAMPLINGS)}, got {describe(sampling)}")
        bins = check_bool(bins, "bins")
        x = np.asarray(x, dtype=np.float64)
        stats = self._neighbourhood_stats()
        n, d = int(n_samples), self.n_features
        Z = np.empty((n, d))
        S = np.empty((n, d))
        Z[0] = x
        S[0] = 1.0
        m = n - 1
        continuous, discrete = stats["continuous"], stats["discrete"]
        if continuous.size and m > 0:
            mean, std = stats["mean"][continuous], stats["std"][continuous]
            if sampling == "iid":
                normal = rng.standard_normal((m, continuous.size))
            else:
                normal = _ndtri(np.clip(uniforms(rng, m, continuous.size, sampling), 1e-300, None))
            centre = x[continuous] if self.sample_around_instance else mean
            Z[1:, continuous] = normal * std + centre
            S[1:, continuous] = (Z[1:, continuous] - mean) / std if self.sample_around_instance else normal
        if continuous.size:
            S[0, continuous] = (x[continuous] - stats["mean"][continuous]) / stats["std"][continuous]
        t = discrete.size
        own = self.own_index(x)
        K = np.empty((n, t) if bins else (0, t), dtype=np.int64)
        if bins and n:
            K[0] = own
        if t and m > 0:
            from xaikit.maskers._draws import discrete_draws

            u = uniforms(rng, m, t, sampling)
            discrete_draws(
                np.ascontiguousarray(u, dtype=np.float64), discrete, int(stats["n_categorical"]), stats["cum"],
                stats["starts"], stats["sizes"], stats["values"], stats["bin_q0"], stats["bin_q1"],
                stats["bin_mean"], stats["bin_scale"], stats["bin_low"], stats["bin_high"], stats["bin_fixed"],
                stats["bin_nearer"], own, S, Z, K, bool(bins),
            )
        return (S, Z, K) if bins else (S, Z)

    def own_index(self, x: np.ndarray) -> np.ndarray:
        """The joint-table index (:meth:`bin_table`) of row ``x``'s own category or bin, per discrete
        feature, ``(t,)`` int64: -1 where ``x``'s category never occurs in the background.

        >>> from xaikit.maskers import TabularMasker
        >>> masker = TabularMasker(np.array([[0.0, 0.0], [2.0, 1.0], [4.0, 1.0]]), categorical_features=[1])
        >>> masker.neighbourhood.own_index(np.array([2.0, 1.0])).tolist(), masker.neighbourhood.own_index(np.array([2.0, 7.0])).tolist()
        ([1], [-1])
        """
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.n_features,):
            raise InvalidParameterError(f"x: expected one row of {self.n_features} features, got {describe(x)}")
        stats = self._neighbourhood_stats()
        discrete, starts, sizes, values = stats["discrete"], stats["starts"], stats["sizes"], stats["values"]
        nc = int(stats["n_categorical"])
        own = np.empty(discrete.size, dtype=np.int64)
        for p, j in enumerate(discrete):
            if p < nc:
                hit = np.flatnonzero(values[starts[p]:starts[p] + sizes[p]] == x[j])
                own[p] = starts[p] + hit[0] if hit.size else -1
            else:
                own[p] = starts[p] + int(self.discretizer.features[int(j)].bin_of(x[j]))  # type: ignore[union-attr]
        return own

    def bin_table(self) -> dict[str, np.ndarray]:
        """The joint table of every category and bin that :meth:`sample` draws from.

        Keys: ``discrete`` (the ``t`` feature indices, categorical ones first, then binned ones),
        ``starts`` and ``sizes`` (each feature's block of the table), ``probabilities`` (the
        training frequency of each category or bin; each block sums to 1) and ``values`` (each
        category's value; 0 for bins). With :meth:`own_index` and ``sample(..., bins=True)`` this
        gives population moments of the interpretable features: feature ``p`` is 1 with probability
        ``probabilities[own_index(x)[p]]``.

        >>> from xaikit.maskers import TabularMasker
        >>> masker = TabularMasker(np.array([[0.0, 0.0], [2.0, 1.0], [4.0, 1.0], [6.0, 1.0]]),
        ...                        categorical_features=[1], discretize="quartile")
        >>> table = masker.neighbourhood.bin_table()
        >>> table["discrete"].tolist(), table["starts"].tolist(), table["sizes"].tolist()
        ([1, 0], [0, 2], [2, 4])
        >>> table["probabilities"].tolist()
        [0.25, 0.75, 0.25, 0.25, 0.25, 0.25]
        """
        stats = self._neighbourhood_stats()
        return {name: stats[name].copy() for name in ("discrete", "starts", "sizes", "probabilities", "values")}

    def interpretable_names(self, x: np.ndarray) -> list[str]:
        """Names of the interpretable features for row ``x``, as :meth:`sample` builds them.

        >>> from xaikit.maskers import TabularMasker
        >>> masker = TabularMasker(np.arange(8.0)[:, None], feature_names=["age"], discretize="quartile")
        >>> masker.neighbourhood.interpretable_names(np.array([4.0]))
        ['3.50 < age <= 5.25']
        """
        x = np.asarray(x, dtype=np.float64)
        names = list(self.feature_names)
        for j in self.categorical_features:
            names[j] = f"{names[j]}={self._category_label(j, x[j])}"
        if self.discretizer is not None:
            for j, feat in self.discretizer.features.items():
                names[j] = feat.names(self.feature_names[j])[int(feat.bin_of(x[j]))]
        return names

    def _category_label(self, j: int, value: float) -> str:
        if np.isnan(value):
            return "nan"
        if self.codec is not None:
            col = self.codec.columns[j]
            if col.kind in ("category", "object") and 0 <= int(value) < len(col.categories):
                return str(col.categories[int(value)])
            if col.kind == "bool":
                return str(bool(value))
        return str(int(value)) if float(value).is_integer() else f"{value:g}"

    def summary(self) -> dict[str, Any]:
        """How LIME samples around a row, for provenance (empty when it uses the defaults)."""
        out: dict[str, Any] = {}
        if self.discretize is not None or self.categorical_features:
            out["discretize"] = self.discretize
            out["categorical_features"] = [self.feature_names[j] for j in self.categorical_features]
        if self.sample_around_instance:
            out["sample_around_instance"] = True
        return out
