"""Complexity of explanations: how concentrated an attribution is on few features.

:func:`sparseness` (the Gini index of ``|phi|``, Chalasani et al. 2020), :func:`entropy` (of the
distribution ``|phi| / sum |phi|``, Bhatt et al. 2020) and :func:`effective_features` (how many
features carry the attribution). They need no model: ``model`` and ``X`` may be None (the model is
only read to choose the output each row's prediction is about when the explanation has several
outputs and ``target`` is None).

The noise floor of a complexity metric is its value for i.i.d. standard normal attributions of the
same number of features (a permutation of the row's own values would have the same complexity).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from xaikit._validation import check_float, check_int, check_random_state, describe
from xaikit.errors import InvalidParameterError

__all__ = ["effective_features", "entropy", "sparseness"]


def explained_values(explanation: Any, *, target: Any = None, model: Any = None, X: Any = None) -> tuple[np.ndarray, np.ndarray, Any]:
    """The attribution of one output per row, padded: ``(values (n, d), mask (n, d), target)``.

    ``explanation`` is an :class:`~xaikit.Attribution`, a :class:`~xaikit.RaggedAttribution` (row ``i``
    keeps its first ``lengths[i]`` features, ``mask`` says which) or an array ``(n, d)``. ``target``
    picks the output as in every metric (:func:`xaikit.metrics._outputs.row_outputs`: one output, one per
    row, or None: the single output, else each row's predicted output, for which ``model`` predicts
    ``X``). The third item is the target as recorded in the metric's params.

    >>> v, mask, t = explained_values(np.array([[1.0, -2.0]]))
    >>> v.tolist(), mask.tolist(), t
    ([[1.0, -2.0]], [[True, True]], None)
    """
    from xaikit.metrics._outputs import row_outputs
    from xaikit.results.attribution import Attribution
    from xaikit.results.ragged import RaggedAttribution

    if isinstance(explanation, (Attribution, RaggedAttribution)):
        V = np.asarray(explanation.values, dtype=np.float64)
        n, d, o = V.shape
        mask = np.ones((n, d), dtype=bool)
        if isinstance(explanation, RaggedAttribution):
            mask = np.arange(d)[None, :] < np.asarray(explanation.lengths)[:, None]

        def predict() -> np.ndarray:
            from xaikit.models import adapt

            return adapt(model).predict(X)

        cols, chosen = row_outputs(target, list(explanation.output_names), n, None if model is None or X is None else predict)
        return V[np.arange(n), :, cols], mask, chosen
    try:
        V = np.asarray(explanation, dtype=np.float64)
    except (TypeError, ValueError):
        V = np.empty(0)
    if V.ndim != 2 or V.shape[0] == 0 or V.shape[1] == 0:
        raise InvalidParameterError(
            f"explanation: expected an Attribution, a RaggedAttribution or an array (n_rows, n_features) of attributions, got {describe(explanation)}"
        )
    if not np.isfinite(V).all():
        raise InvalidParameterError("explanation: expected finite attribution values, got NaN or infinity")
    if target is not None:
        raise InvalidParameterError(f"target: expected None for an array of attributions (one output), got {describe(target)}")
    return V, np.ones(V.shape, dtype=bool), None


def floor_draws(seed: np.random.SeedSequence, n_features: int, n_random: int) -> np.ndarray:
    """``(n_random, n_features)`` standard normal values, drawn from a stream of ``seed`` of their own for
    ``n_features`` (so the floor of rows of the same length is one value, whatever the other rows).

    >>> floor_draws(np.random.SeedSequence(0), 3, 4).shape
    (4, 3)
    """
    from xaikit.explainers.pipeline import row_seeds

    return np.random.default_rng(row_seeds(seed, [n_features])[0]).standard_normal((n_random, n_features))


def _gini(A: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Gini index of each row of ``|A|`` over its masked features (NaN where they sum to 0)."""
    d = A.shape[-1]
    if mask.all():  # every row over all d features: one coefficient vector
        x = np.sort(np.abs(A), axis=-1)
        total = x.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, (x @ (2.0 * np.arange(1, d + 1) - d - 1)) / (d * total), np.nan)
    k = mask.sum(axis=-1)
    S = np.sort(np.where(mask, np.abs(A), -1.0), axis=-1)  # the padding first
    x = np.where(S < 0, 0.0, S)
    r = np.arange(1, d + 1) - (d - k)[..., None]
    total = x.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = ((2 * r - k[..., None] - 1) * x).sum(axis=-1) / (k * total)
    return np.where(total > 0, g, np.nan)


def _entropy(A: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) of ``|A| / sum |A|`` over the masked features of each row (NaN where they sum to 0)."""
    a = np.where(mask, np.abs(A), 0.0)
    total = a.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = a / total
        h = 0.0 - np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(axis=-1)
    return np.where(total[..., 0] > 0, h, np.nan)


def _mass_count(A: np.ndarray, mask: np.ndarray, mass: float) -> np.ndarray:
    """The fewest features whose ``|A|`` reach ``mass`` of the row's total (NaN where it is 0)."""
    a = np.where(mask, np.abs(A), 0.0)
    total = a.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.cumsum(-np.sort(-a, axis=-1), axis=-1) / total
    count = (frac < mass * (1.0 - 1e-12)).sum(axis=-1) + 1.0
    return np.where(total[..., 0] > 0, count, np.nan)


def _complexity(
    name: str,
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
    higher_is_better: bool,
    explanation: Any,
    model: Any,
    X: Any,
    target: Any,
    n_random: int,
    random_state: Any,
    settings: dict[str, Any],
) -> Any:
    from xaikit.results.metric_scores import MetricScores

    start = time.perf_counter()
    n_random = check_int(n_random, "n_random", minimum=1)
    seed = check_random_state(random_state)
    V, mask, chosen = explained_values(explanation, target=target, model=model, X=X)
    values = fn(V, mask)
    lengths = mask.sum(axis=1)
    floor = np.empty(len(V))
    for k in np.unique(lengths):  # the floor depends on the number of features only: one per length
        Z = floor_draws(seed, int(k), n_random)
        floor[lengths == k] = fn(Z, np.ones(Z.shape, dtype=bool)).mean() if k else np.nan
    return MetricScores(
        values=values,
        floor=floor,
        method=name,
        params={"metric": name, "higher_is_better": higher_is_better, "target": chosen, "n_random": n_random,
                "floor": "iid standard normal attributions", **settings},
        diagnostics={"seed": str(seed.entropy), "n_model_calls": 0 if chosen != "predicted" else 1,
                     "runtime_s": time.perf_counter() - start},
    )


def sparseness(
    model: Any,
    X: Any,
    explanation: Any,
    *,
    target: Any = None,
    n_random: int = 10,
    batch_size: int | None = None,
    random_state: Any = None,
) -> Any:
    """The sparseness of each row's attribution: the Gini index of ``|phi|`` (Chalasani et al. 2020).

    With the ``d`` values ``|phi|`` sorted increasingly, ``G = sum_i (2i - d - 1) |phi|_(i) / (d sum |phi|)``:
    0 when every feature has the same weight, ``1 - 1/d`` when one feature carries it all. Higher is
    sparser (better). NaN for an all-zero row. The floor: the Gini index of i.i.d. standard normal
    attributions of the same length (mean over ``n_random`` draws, the same for rows of one length).

    Parameters
    ----------
    model, X : optional
        Read only to choose each row's predicted output when ``target`` is None and the explanation has
        several outputs.
    explanation : Attribution, RaggedAttribution (each row over its own features) or array (n, d)
    target : int, str or sequence, optional
        The output scored (one, or one per row); default the single output, else each row's predicted output.
    n_random : int
        Random attributions for the floor (for each number of features).
    batch_size : int, optional
        Unused (no model call); accepted as by every metric.
    random_state : int, numpy Generator or SeedSequence, optional

    Returns
    -------
    MetricScores

    Examples
    --------
    >>> s = sparseness(None, None, np.array([[0.0, 0.0, 0.0, 2.0], [1.0, -1.0, 1.0, -1.0]]), random_state=0)
    >>> s.values.tolist(), s.higher_is_better
    ([0.75, 0.0], True)
    """
    return _complexity("sparseness", _gini, True, explanation, model, X, target, n_random, random_state, {})


def entropy(
    model: Any,
    X: Any,
    explanation: Any,
    *,
    target: Any = None,
    n_random: int = 10,
    batch_size: int | None = None,
    random_state: Any = None,
) -> Any:
    """The entropy of each row's attribution (Bhatt et al. 2020): ``-sum p log p`` with ``p = |phi| / sum |phi|``.

    In nats: 0 when one feature carries the whole attribution, ``log d`` when the ``d`` features share it
    equally. Lower is more concentrated (better). NaN for an all-zero row. The floor: the entropy of
    i.i.d. standard normal attributions of the same length (mean over ``n_random`` draws, the same for rows of one length).
    Parameters as :func:`sparseness`.

    Returns
    -------
    MetricScores

    Examples
    --------
    >>> s = entropy(None, None, np.array([[0.0, 3.0], [1.0, -1.0]]), random_state=0)
    >>> s.values.round(6).tolist(), round(float(np.log(2)), 6)
    ([0.0, 0.693147], 0.693147)
    """
    return _complexity("entropy", _entropy, False, explanation, model, X, target, n_random, random_state, {})


def effective_features(
    model: Any,
    X: Any,
    explanation: Any,
    *,
    target: Any = None,
    mass: float | None = None,
    n_random: int = 10,
    batch_size: int | None = None,
    random_state: Any = None,
) -> Any:
    """The effective number of features of each row's attribution.

    With ``mass=None`` (default) it is ``exp(entropy)`` (the perplexity of ``|phi| / sum |phi|``): ``k``
    when ``k`` features share the attribution equally and the others carry nothing, a continuous number
    in ``[1, d]`` otherwise. With ``mass`` a fraction in (0, 1], it is the fewest features whose ``|phi|``
    reach that fraction of the row's total (e.g. ``mass=0.9``: how many features carry 90 %). Lower is
    more concise (better). NaN for an all-zero row. The floor: the same for i.i.d. standard normal
    attributions of the same length. Other parameters as :func:`sparseness`.

    Returns
    -------
    MetricScores

    Examples
    --------
    >>> phi = np.array([[5.0, 3.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0]])
    >>> effective_features(None, None, phi, mass=0.9, random_state=0).values.tolist()
    [3.0, 2.0]
    >>> effective_features(None, None, phi, random_state=0).values.round(6).tolist()[1]
    2.0
    """
    if mass is None:
        def fn(A: np.ndarray, mask: np.ndarray) -> np.ndarray:
            return np.exp(_entropy(A, mask))
    else:
        share = check_float(mass, "mass", minimum=0.0)
        if not 0.0 < share <= 1.0:
            raise InvalidParameterError(f"mass: expected a fraction in (0, 1] or None, got {describe(mass)}")

        def fn(A: np.ndarray, mask: np.ndarray) -> np.ndarray:
            return _mass_count(A, mask, share)

    return _complexity("effective_features", fn, False, explanation, model, X, target, n_random, random_state, {"mass": mass})
