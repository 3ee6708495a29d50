"""Importance: one score per (feature or group, output, repeat), e.g. permutation importance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from xaikit._validation import check_level
from xaikit.errors import InvalidParameterError
from xaikit.results.attribution import FEATURES, OUTPUTS
from xaikit.results.base import Axis, Field, Result

__all__ = ["Importance", "REPEATS"]

REPEATS = Axis("repeats", prefix="repeat")


class Importance(Result):
    """The importance of each feature (or group of features) for each output, once per repeat.

    Parameters
    ----------
    values : array-like of shape (n_features, n_outputs, n_repeats)
        ``values[j, k, r]``: the importance of feature ``j`` for output ``k`` in repeat ``r`` (for
        permutation importance, the score of the model on the data minus its score with feature
        ``j`` permuted; for Shapley summaries, one "repeat" holding the mean |value|).
    std_err : array-like of shape (n_features, n_outputs), optional
        The standard error of the mean importance when it is known otherwise than from the repeats
        (Shapley summaries: from the spread over the rows). Absent, it is ``std() / sqrt(n_repeats)``.
    feature_names, output_names : list of str, optional
        Names of the features (or groups) and of the outputs (for permutation importance, the
        scorings, or a scoring of one model output).
    method, params, diagnostics, provenance, diagnostic_axes
        As for every result; ``params["scoring"]`` records the scorings, ``diagnostics["baseline_score"]``
        (n_outputs,) the score of the model on the data unchanged, when there is one.

    Examples
    --------
    >>> imp = Importance(values=[[[0.2, 0.4]], [[0.0, 0.0]]], feature_names=["a", "b"],
    ...                  output_names=["accuracy"], method="demo")
    >>> imp
    Importance(method='demo', n_features=2, n_outputs=1, n_repeats=2)
    >>> imp.mean().tolist(), imp.std().round(4).tolist()
    ([[0.30000000000000004], [0.0]], [[0.1414], [0.0]])
    >>> imp.ranking()
    [('a', 0.30000000000000004), ('b', 0.0)]
    >>> lower, upper = imp.ci(0.95); lower.round(3).tolist(), upper.round(3).tolist()
    ([[-0.971], [0.0]], [[1.571], [0.0]])
    >>> imp["b"].values.shape
    (1, 1, 2)
    """

    kind = "importance"
    plot_kind = "importance"
    fields = (
        Field("values", "dor", finite=True, column="value", doc="Read-only float64 array (n_features, n_outputs, n_repeats)."),
        Field("std_err", "do", finite=True, optional=True, column=None,
              doc="Standard errors of the mean importance (n_features, n_outputs) when not taken from the repeats, or None."),
    )
    axes = {"d": FEATURES, "o": OUTPUTS, "r": REPEATS}
    default_diagnostic_axes: ClassVar[Mapping[str, str]] = {"baseline_score": "o"}

    values: np.ndarray
    std_err: np.ndarray | None
    feature_names: list[str]
    output_names: list[str]
    n_features: int
    n_outputs: int
    n_repeats: int

    def _validate(self) -> None:
        se = self._store["std_err"]
        if se is not None and bool((se < 0).any()):
            raise InvalidParameterError(f"std_err: expected standard errors >= 0, got a minimum of {float(se.min())}")

    def mean(self) -> np.ndarray:
        """The mean importance over the repeats, shape (n_features, n_outputs)."""
        return np.asarray(self.values.mean(axis=2))

    def std(self) -> np.ndarray:
        """The standard deviation over the repeats (ddof=1), shape (n_features, n_outputs); NaN with one repeat."""
        if self.n_repeats < 2:
            return np.full(self.values.shape[:2], np.nan)
        return np.asarray(self.values.std(axis=2, ddof=1))

    def standard_error(self) -> np.ndarray:
        """The standard error of :meth:`mean`, shape (n_features, n_outputs): the ``std_err`` field when
        the result has one, else ``std() / sqrt(n_repeats)`` (NaN with one repeat)."""
        se = self._store["std_err"]
        if se is not None:
            return np.array(se)
        return np.asarray(self.std() / np.sqrt(self.n_repeats))

    def ci(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """A confidence interval of the mean importance: ``(lower, upper)``, each (n_features, n_outputs).

        Over the repeats, Student's t-interval ``mean +- t(1 - (1 - level) / 2, n_repeats - 1) * std / sqrt(n_repeats)``
        (it assumes the repeats are independent draws around the mean; NaN with one repeat). When the
        result carries its own ``std_err`` (Shapley summaries, a mean over many rows), the normal
        interval ``mean +- z * std_err``.

        Parameters
        ----------
        level : float
            The coverage, in (0, 1).
        """
        level = check_level(level)
        from scipy import stats

        q = 0.5 + level / 2.0
        if self._store["std_err"] is not None:
            factor = float(stats.norm.ppf(q))
        elif self.n_repeats < 2:
            nan = np.full(self.values.shape[:2], np.nan)
            return nan, nan.copy()
        else:
            factor = float(stats.t.ppf(q, self.n_repeats - 1))
        mean, half = self.mean(), factor * self.standard_error()
        return mean - half, mean + half

    def ranking(self, target: int | str = 0) -> list[tuple[str, float]]:
        """Features sorted by decreasing mean importance for one output (ties: first first).

        Parameters
        ----------
        target : int or str
            The output, by position or name.
        """
        j = self._output_position(target)
        scores = self.mean()[:, j]
        order = np.argsort(-scores, kind="stable")
        return [(self.feature_names[i], float(scores[i])) for i in order]


