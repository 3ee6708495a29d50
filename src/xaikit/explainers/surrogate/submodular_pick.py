"""Submodular pick: a few explanations that together cover the features that matter most.

SP-LIME (Ribeiro, Singh & Guestrin, 2016) shows a reader a small set of rows instead of all of
them. With ``W[i, j] = |value|`` of feature ``j`` in row ``i``'s explanation, feature ``j``'s
global importance is ``I_j = sqrt(sum_i W[i, j])``; a set of rows *covers* the features that have a
non-zero value in at least one of them, and its coverage is the sum of their importances. The
coverage is monotone submodular, so adding, ``k`` times, the row with the largest gain is within
``1 - 1/e`` of the best set of ``k`` rows.

Rows of a :class:`~xaikit.results.RaggedAttribution` (documents, images) are matched by
feature name: a word is one column whatever the document.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xaikit._validation import check_float, check_int, describe
from xaikit.errors import InvalidParameterError
from xaikit.results import Attribution, RaggedAttribution

__all__ = ["SubmodularPick", "submodular_pick"]


@dataclass(frozen=True)
class SubmodularPick:
    """The rows picked, best first.

    Attributes
    ----------
    rows : list of int
        Indices into the explanation, in the order picked.
    coverage : list of float
        Share of the total importance covered after each pick (increasing, at most 1).
    feature_names : list of str
        The columns of the importance (feature names; for ragged results the union of the rows' names).
    importance : ndarray (n_columns,)
        ``sqrt(sum_i |W[i, j]|)`` per column.
    """

    rows: list[int]
    coverage: list[float]
    feature_names: list[str]
    importance: np.ndarray


def _weight_matrix(exp: Attribution, output: int | str | None) -> tuple[np.ndarray, list[str]]:
    """``|W|`` (n, columns) for one output (or summed over all when ``output`` is None)."""
    values = np.abs(exp.values)
    if output is None:
        W = values.sum(axis=2)
    else:
        W = values[:, :, exp._output_position(output)]
    if not isinstance(exp, RaggedAttribution):
        return W, exp.feature_names
    names: dict[str, int] = {}
    for row in exp.row_feature_names:
        for name in row:
            names.setdefault(name, len(names))
    out = np.zeros((exp.n_rows, len(names)))
    for i, row in enumerate(exp.row_feature_names):
        for f, name in enumerate(row):
            out[i, names[name]] += W[i, f]
    return out, list(names)


def submodular_pick(
    exp: Attribution, k: int = 5, *, output: int | str | None = None, threshold: float = 0.0
) -> SubmodularPick:
    """Greedy submodular pick of ``k`` rows of ``exp`` that cover the most important features.

    Parameters
    ----------
    exp : Attribution or RaggedAttribution
        Explanations of many rows (e.g. LIME on a sample of the data).
    k : int
        Rows to pick (at most the number of rows).
    output : int or str, optional
        The output whose weights count; by default the sum of |value| over the outputs.
    threshold : float
        A feature is covered by a row when its |value| there is above this (LIME: 0).

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> values = np.array([[[1.0], [0.0], [0.0]], [[1.0], [0.0], [0.0]], [[0.0], [0.5], [0.5]]])
    >>> exp = xk.Attribution(values=values, base_values=np.zeros((3, 1)), feature_names=["a", "b", "c"], method="lime")
    >>> pick = submodular_pick(exp, 2)
    >>> pick.rows, [round(c, 3) for c in pick.coverage]
    ([0, 2], [0.5, 1.0])
    """
    if not isinstance(exp, (Attribution, RaggedAttribution)):
        raise InvalidParameterError(
            f"exp: expected an Attribution or RaggedAttribution (e.g. from xk.Lime), got {describe(exp)}"
        )
    n = exp.n_rows
    k = check_int(k, "k", minimum=1, maximum=max(n, 1))
    threshold = check_float(threshold, "threshold", minimum=0.0)
    W, names = _weight_matrix(exp, output)
    importance = np.sqrt(W.sum(axis=0))
    total = float(importance.sum())
    covers = W > threshold
    covered = np.zeros(W.shape[1], dtype=bool)
    rows: list[int] = []
    coverage: list[float] = []
    for _ in range(min(k, n)):
        gains = (covers & ~covered) @ importance
        gains[rows] = -1.0
        best = int(np.argmax(gains))  # ties: the first row
        rows.append(best)
        covered |= covers[best]
        coverage.append(float(importance[covered].sum()) / total if total > 0 else 0.0)
    return SubmodularPick(rows, coverage, names, importance)
