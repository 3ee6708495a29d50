"""Disagreement between explanations of the same rows (Krishna et al. 2022, "The Disagreement Problem").

For two attributions of the same row, :func:`rank_correlation` is Spearman's rank correlation of the
magnitudes ``|phi|`` over the features, and :func:`top_k_overlap` is the share of the ``k`` features
with the largest ``|phi|`` that both have in common (Krishna et al.'s *feature agreement*).
:func:`disagreement` computes both for every pair of methods and every row.

:func:`attribution_matrix` turns an explanation (an :class:`~xaikit.results.Attribution`, or an array
``(n, d)``) into the ``(n, d)`` array of the output it explains; every metric of issue 19's contract
reads its ``target`` the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from xaikit._validation import check_int, describe
from xaikit.errors import InvalidParameterError

__all__ = ["attribution_matrix", "disagreement", "rank_correlation", "spearman_rows", "top_k_mask", "top_k_overlap"]


def attribution_matrix(explanation: Any, *, target: int | str | None = None, predictions: np.ndarray | None = None,
                       name: str = "explanation") -> np.ndarray:
    """The ``(n, d)`` float64 attribution values of ``explanation`` for one output per row.

    Parameters
    ----------
    explanation : Attribution or array-like (n, d) or (n, d, o)
    target : int, str or sequence, optional
        The output, by position or name, or one per row. ``None``: the single output; with several
        outputs, the output each row's prediction is about (the largest of ``predictions[i]``), which
        needs ``predictions`` (n, o).
    predictions : ndarray (n, o), optional
        The model's outputs of the explained rows.
    name : str
        The parameter named in errors.

    Examples
    --------
    >>> v = np.array([[[1.0, 5.0], [2.0, 6.0]]])
    >>> attribution_matrix(v, target=1).tolist()
    [[5.0, 6.0]]
    >>> attribution_matrix(v, predictions=np.array([[0.9, 0.1]])).tolist()
    [[1.0, 2.0]]
    """
    from xaikit.results.attribution import Attribution

    names: list[str] | None = None
    if isinstance(explanation, Attribution):
        values = np.asarray(explanation.values, dtype=np.float64)
        names = explanation.output_names
    elif hasattr(explanation, "kind") and hasattr(explanation, "values"):
        raise InvalidParameterError(
            f"{name}: expected an Attribution or an array (n, d) of attribution values, got a {type(explanation).__name__}"
        )
    else:
        try:
            values = np.asarray(explanation, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"{name}: expected an Attribution or an array (n, d) of numbers, got {describe(explanation)}") from None
        if values.ndim == 2:
            values = values[:, :, None]
        if values.ndim != 3:
            raise InvalidParameterError(f"{name}: expected an Attribution or an array (n, d) of numbers, got {describe(explanation)}")
    from xaikit.metrics._outputs import row_outputs

    n, _, o = values.shape
    cols, _ = row_outputs(target, names if names is not None else [str(j) for j in range(o)], n, predictions, who=name)
    return values[np.arange(n), :, cols].copy()


def spearman_rows(A: Any, B: Any) -> np.ndarray:
    """Spearman's rank correlation of each row of ``A`` with the same row of ``B``, along the last axis
    (average ranks for ties; NaN where a row is constant); any leading shape.

    >>> spearman_rows([[1.0, 2.0, 3.0]], [[3.0, 2.0, 1.0]]).tolist()
    [-1.0]
    """
    from scipy.stats import rankdata

    ra = np.asarray(rankdata(np.asarray(A, dtype=np.float64), axis=-1, method="average"), dtype=np.float64)
    rb = np.asarray(rankdata(np.asarray(B, dtype=np.float64), axis=-1, method="average"), dtype=np.float64)
    ra -= ra.mean(axis=-1, keepdims=True)
    rb -= rb.mean(axis=-1, keepdims=True)
    den = np.sqrt((ra * ra).sum(axis=-1) * (rb * rb).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(den > 0, (ra * rb).sum(axis=-1) / np.where(den > 0, den, 1.0), np.nan))


def rank_correlation(a: Any, b: Any) -> np.ndarray:
    """Spearman's rank correlation of ``|a|`` and ``|b|`` per row (NaN where a row is constant).

    Examples
    --------
    >>> rank_correlation([[1.0, -2.0, 3.0]], [[0.1, 0.2, -0.3]]).tolist()
    [1.0]
    """
    return spearman_rows(np.abs(np.atleast_2d(np.asarray(a, dtype=np.float64))), np.abs(np.atleast_2d(np.asarray(b, dtype=np.float64))))


def top_k_mask(a: np.ndarray, k: int) -> np.ndarray:
    """Boolean, shaped like ``a``: the ``k`` largest ``|a|`` along the last axis (ties broken by feature order)."""
    order = np.argsort(-np.abs(a), axis=-1, kind="stable")[..., :k]
    out = np.zeros(a.shape, dtype=bool)
    np.put_along_axis(out, order, True, axis=-1)
    return out


def top_k_overlap(a: Any, b: Any, k: int = 5) -> np.ndarray:
    """The share of the ``k`` largest ``|phi|`` of ``a`` and of ``b`` they have in common, per row.

    ``k`` larger than the number of features is taken as that number.

    Examples
    --------
    >>> top_k_overlap([[3.0, 2.0, 1.0, 0.0]], [[0.0, 2.0, 3.0, 1.0]], k=2).tolist()
    [0.5]
    """
    a2, b2 = np.atleast_2d(np.asarray(a, dtype=np.float64)), np.atleast_2d(np.asarray(b, dtype=np.float64))
    k = min(check_int(k, "k", minimum=1), a2.shape[1])
    return np.asarray((top_k_mask(a2, k) & top_k_mask(b2, k)).sum(axis=1) / k, dtype=np.float64)


def disagreement(explanations: Mapping[str, Any], *, k: int = 5, target: int | str | None = None,
                 predictions: np.ndarray | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Rank correlation and top-k overlap of every pair of methods, per row.

    Parameters
    ----------
    explanations : mapping of str to Attribution or array (n, d)
        At least two, of the same rows and features.
    k : int
        The number of top features compared.
    target, predictions
        The output read from each explanation (see :func:`attribution_matrix`).

    Returns
    -------
    pair_names : list of str
        ``"a vs b"`` for every pair, ``a`` before ``b`` in the mapping's order.
    rank_correlation, top_k_overlap : ndarray (n_pairs, n_rows)

    Examples
    --------
    >>> names, rho, top = disagreement({"a": [[3.0, 2.0, 1.0]], "b": [[1.0, 2.0, 3.0]]}, k=1)
    >>> names, rho.tolist(), top.tolist()
    (['a vs b'], [[-1.0]], [[0.0]])
    """
    mats = _matrices(explanations, target, predictions)
    keys = list(mats)
    names, rho, top = [], [], []
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            names.append(f"{a} vs {b}")
            rho.append(rank_correlation(mats[a], mats[b]))
            top.append(top_k_overlap(mats[a], mats[b], k))
    n = next(iter(mats.values())).shape[0] if mats else 0
    return names, np.array(rho).reshape(len(names), n), np.array(top).reshape(len(names), n)


def _matrices(explanations: Mapping[str, Any], target: int | str | None, predictions: np.ndarray | None) -> dict[str, np.ndarray]:
    if not isinstance(explanations, Mapping) or not explanations:
        raise InvalidParameterError(f"explanations: expected a dict of method name to explanation, got {describe(explanations)}")
    mats: dict[str, np.ndarray] = {}
    shape: tuple[int, ...] | None = None
    first = ""
    for key, exp in explanations.items():
        if not isinstance(key, str) or not key:
            raise InvalidParameterError(f"explanations: expected non-empty str names, got {key!r}")
        m = attribution_matrix(exp, target=target, predictions=predictions, name=f"explanations[{key!r}]")
        if shape is not None and m.shape != shape:
            raise InvalidParameterError(
                f"explanations[{key!r}]: expected the rows and features of explanations[{first!r}], {shape}, got {m.shape}"
            )
        shape, first = (m.shape, key) if shape is None else (shape, first)
        mats[key] = m
    return mats


