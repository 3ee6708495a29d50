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
from typing import TYPE_CHECKING, Any

import numpy as np

from xaikit._validation import check_choice, describe
from xaikit.errors import InvalidParameterError
from xaikit.maskers.discretize import DISCRETIZERS, Discretizer

if TYPE_CHECKING:
    from xaikit.maskers.tabular import TabularMasker

__all__ = ["TabularNeighbourhood"]


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
        """Training means, standard deviations and category frequencies (computed once)."""
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
            self._lime_stats = {"mean": mean, "std": std, "categories": categories}
        return self._lime_stats

    def sample(
        self, x: np.ndarray, n_samples: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
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

        Examples
        --------
        >>> from xaikit.maskers import TabularMasker
        >>> masker = TabularMasker(np.array([[0.0, 0.0], [2.0, 1.0], [4.0, 1.0]]), categorical_features=[1])
        >>> S, Z = masker.neighbourhood.sample(np.array([2.0, 1.0]), 4, np.random.default_rng(0))
        >>> S.shape, Z[0].tolist(), S[0].tolist()
        ((4, 2), [2.0, 1.0], [0.0, 1.0])
        >>> bool(((S[:, 1] == 1) == (Z[:, 1] == 1)).all())
        True
        """
        x = np.asarray(x, dtype=np.float64)
        stats = self._neighbourhood_stats()
        n, d = int(n_samples), self.n_features
        Z = np.empty((n, d))
        S = np.empty((n, d))
        Z[0] = x
        S[0] = 1.0
        disc = self.discretizer
        continuous = [j for j in range(d) if j not in stats["categories"] and (disc is None or j not in disc.features)]
        if continuous:
            mean, std = stats["mean"][continuous], stats["std"][continuous]
            normal = rng.standard_normal((n - 1, len(continuous)))
            centre = x[continuous] if self.sample_around_instance else mean
            Z[1:, continuous] = normal * std + centre
            S[1:, continuous] = (Z[1:, continuous] - mean) / std if self.sample_around_instance else normal
            S[0, continuous] = (x[continuous] - mean) / std
        for j in range(d):
            if j in stats["categories"]:
                values, freq = stats["categories"][j]
                drawn = rng.choice(values, size=n - 1, replace=True, p=freq)
                Z[1:, j] = drawn
                S[1:, j] = drawn == x[j]
            elif disc is not None and j in disc.features:
                feat = disc.features[j]
                bins = rng.choice(feat.n_bins, size=n - 1, replace=True, p=feat.frequencies)
                Z[1:, j] = feat.sample(bins, rng)
                S[1:, j] = bins == feat.bin_of(x[j])
        return S, Z

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
