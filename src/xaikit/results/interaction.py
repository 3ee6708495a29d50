"""Interaction: one value per (row, feature, feature, output), e.g. SHAP interaction values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from xaikit.results.attribution import FEATURES, OUTPUTS, ROWS, Attribution
from xaikit.results.base import Field, Result

__all__ = ["Interaction"]


class Interaction(Result):
    """Pairwise interaction attributions (e.g. SHAP interaction values).

    Parameters
    ----------
    values : array-like of shape (n_rows, n_features, n_features, n_outputs)
        ``values[r, i, j]`` for ``i != j`` is half the interaction of features ``i`` and ``j``
        (the matrix is symmetric); ``values[r, i, i]`` is the main effect of ``i``. Summing over
        the last feature axis gives per-feature attributions.
    base_values : array-like of shape (n_rows, n_outputs)
    data, feature_names, output_names, method, params, diagnostics, provenance, diagnostic_axes
        As for :class:`~xaikit.results.Attribution`. ``inter[rows, features, outputs]`` selects
        the features on both feature axes.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.zeros((1, 2, 2, 1)); v[0, 0, 0, 0] = 1.0; v[0, 0, 1, 0] = v[0, 1, 0, 0] = 0.5
    >>> inter = Interaction(values=v, base_values=[[0.0]], feature_names=["a", "b"], method="demo")
    >>> inter.to_attribution().values[0, :, 0].tolist()
    [1.5, 0.5]
    >>> inter.main_effects()[0, :, 0].tolist()
    [1.0, 0.0]
    >>> inter[:, "b"].shape
    (1, 1, 1, 1)
    """

    kind = "interaction"
    fields = (
        Field(
            "values",
            "nddo",
            finite=True,
            column="value",
            doc="Read-only float64 array (n_rows, n_features, n_features, n_outputs).",
        ),
        Field("base_values", "no", finite=True, column=None, doc="Read-only float64 array (n_rows, n_outputs)."),
        Field("data", "nd", dtype="data", optional=True, copy=False, doc="The explained inputs, (n_rows, n_features), or None."),
    )
    axes = {"n": ROWS, "d": FEATURES, "o": OUTPUTS}
    default_diagnostic_axes: ClassVar[Mapping[str, str]] = {"completeness_gap": "no"}

    values: np.ndarray
    base_values: np.ndarray
    data: np.ndarray | None
    feature_names: list[str]
    output_names: list[str]

    def main_effects(self) -> np.ndarray:
        """The diagonal, shape (n_rows, n_features, n_outputs)."""
        d = self.values.shape[1]
        return self.values[:, np.arange(d), np.arange(d), :]  # type: ignore[no-any-return]

    def mean_abs(self) -> np.ndarray:
        """Mean absolute interaction over rows, shape (n_features, n_features, n_outputs)."""
        return np.abs(self.values).mean(axis=0)  # type: ignore[no-any-return]

    def pair_ranking(self, target: int | str = 0) -> list[tuple[str, str, float]]:
        """The pairs of features by mean |interaction| (both halves counted), strongest first; see
        :func:`xaikit.interaction_ranking`."""
        from xaikit.explainers.global_.summaries import interaction_ranking

        return interaction_ranking(self, target)

    def _repr_html_(self) -> str:
        """The notebook view: top main effects and pairs (bounded size, escaped)."""
        from xaikit.plots.notebook import result_html

        return result_html(self)

    def to_attribution(self) -> Attribution:
        """Per-feature attributions: the sum over the last feature axis."""
        return Attribution(
            values=self.values.sum(axis=2),
            base_values=self.base_values,
            data=self.data,
            feature_names=self.feature_names,
            output_names=self.output_names,
            method=self.method,
            params=self.params,
            provenance=self.provenance,
        )
