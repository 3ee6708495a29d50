"""Robustness of explanations: do they change when the input barely changes, or when only the seed does?

:func:`max_sensitivity` (Yeh et al. 2019) and :func:`local_lipschitz` (Alvarez-Melis & Jaakkola 2018)
re-explain points drawn in a small ball around each row with the same explainer; :func:`seed_stability`
re-explains the rows themselves under several seeds. Lower sensitivity and Lipschitz constants, and
higher stability, are better.

The noise floor is what an explainer without information gets: one that returns a random permutation
of the row's own attribution values (same magnitudes) at every call.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from xaikit._validation import check_batch, check_float, check_int, check_random_state, spawn_seeds
from xaikit.errors import InvalidParameterError
from xaikit.explainers.adversarial.robustness import check_explain_params, check_explainer, decision_attributions
from xaikit.metrics.complexity import explained_values
from xaikit.metrics.disagreement import spearman_rows, top_k_mask

__all__ = ["local_lipschitz", "max_sensitivity", "seed_stability"]


def _permutations(seed: np.random.SeedSequence, phi: np.ndarray, n_random: int, n_draws: int) -> np.ndarray:
    """``(n, n_random, n_draws, d)``: random permutations of each row of ``phi`` (row ``i`` from its own seed)."""
    from xaikit.explainers.pipeline import row_seeds

    n, d = phi.shape
    out = np.empty((n, n_random, n_draws, d))
    for i, s in enumerate(row_seeds(seed, range(n))):
        out[i] = np.random.default_rng(s).permuted(np.broadcast_to(phi[i], (n_random, n_draws, d)), axis=-1)
    return out


def _scored(explanation: Any, X0: np.ndarray, target: Any, model: Any) -> np.ndarray:
    V, _, _ = explained_values(explanation, target=target, model=model, X=X0)
    n = len(X0)
    if V.shape[0] != n:
        raise InvalidParameterError(f"explanation: expected the attributions of the {n} rows of X, got {V.shape[0]} rows")
    return V


def max_sensitivity(
    model: Any,
    X: Any,
    explanation: Any,
    *,
    explainer: Any,
    epsilon: float = 0.1,
    n_samples: int = 10,
    norm: str | float = "inf",
    bounds: Sequence[Any] | None = None,
    explain_params: Mapping[str, Any] | None = None,
    target: Any = None,
    n_random: int = 10,
    batch_size: int | None = None,
    random_state: Any = None,
) -> Any:
    """The max-sensitivity of each row's explanation (Yeh et al. 2019; Captum's ``sensitivity_max``).

    :func:`~xaikit.explainers.adversarial.explanation_robustness` as a metric: ``n_samples`` points ``x'``
    drawn uniformly in the ``epsilon`` ball around each row ``x`` (clipped to ``bounds``), and among
    those where the model predicts the class it predicts at ``x``,
    ``max ||phi(x') - phi(x)||_2 / ||phi(x)||_2``. ``phi`` is the explainer's attribution, ``phi(x)``
    recomputed with the seed of the ``x'`` (so a sampling explainer's own noise is common to both).
    Lower is better; NaN for a row none of whose samples keeps the prediction.

    The floor: the same maximum for an explainer returning a random permutation of the row's values of
    ``explanation`` at each call, over as many samples as the row kept (mean over ``n_random`` draws).

    Parameters
    ----------
    model : any model :func:`xaikit.models.adapt` takes, or None
        Read only to choose each row's predicted output of ``explanation`` (the explainer's model is the one perturbed).
    X : array-like (n, ...)
    explanation : Attribution or array (n, d)
        The explanation of ``X`` scored: it chooses the output and gives the floor.
    explainer : an xaikit explainer returning an Attribution
    epsilon : float
        Radius of the ball.
    n_samples : int
        Perturbed copies per row (one ``explain`` call each).
    norm : {"inf", 2}
    bounds : (low, high), optional
        The valid input range.
    explain_params : dict, optional
        Further arguments of every ``explain`` call.
    target : int or str, optional
        The output explained; default the single output, else each row's predicted class.
    n_random : int
        Random explainers per row for the floor.
    batch_size : int, optional
        Unused (the explainer batches its own model calls).
    random_state : int, numpy Generator or SeedSequence, optional

    Returns
    -------
    MetricScores
        ``diagnostics["n_kept"]``: the samples of each row that kept the prediction.

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> net = torch.nn.Linear(3, 1).double()
    >>> sal = xk.Saliency(net, abs=False)
    >>> X = np.ones((2, 3))
    >>> s = max_sensitivity(net, X, sal.explain(X), explainer=sal, epsilon=0.1, n_samples=5, random_state=0)
    >>> s.values.tolist()    # a linear model's gradient does not change
    [0.0, 0.0]
    """
    from xaikit.explainers.adversarial.robustness import explanation_robustness
    from xaikit.results.metric_scores import MetricScores

    start = time.perf_counter()
    explained = check_explainer(explainer)
    n_random = check_int(n_random, "n_random", minimum=1)
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    X0 = check_batch(X, "X")
    seed = check_random_state(random_state)
    run_seed, floor_seed = spawn_seeds(seed, 2)
    phi0 = _scored(explanation, X0, target, explained if model is None else model)
    res = explanation_robustness(explainer, X0, epsilon=epsilon, n_samples=n_samples, norm=norm, target=target, bounds=bounds,
                                 explain_params=explain_params, random_state=run_seed)
    kept = np.asarray(res.n_kept)
    values = np.where(kept > 0, np.asarray(res.sensitivity, dtype=np.float64), np.nan)
    perms = _permutations(floor_seed, phi0, n_random, n_samples + 1)
    change = np.linalg.norm(perms[:, :, 1:] - perms[:, :, :1], axis=-1)  # (n, n_random, n_samples)
    base = np.linalg.norm(phi0, axis=1)[:, None, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(base > 0, change / np.where(base > 0, base, 1.0), 0.0)
    ratio = np.where(np.arange(n_samples)[None, None, :] < kept[:, None, None], ratio, -np.inf)
    floor = np.where(kept > 0, ratio.max(axis=-1).mean(axis=-1), np.nan)
    return MetricScores(
        values=values,
        floor=floor,
        method="max_sensitivity",
        params={"metric": "max_sensitivity", "higher_is_better": False, "explainer": type(explainer).__name__,
                "epsilon": float(epsilon), "n_samples": n_samples, "norm": res.params["norm"], "target": target,
                "n_random": n_random, "floor": "random permutations of the row's attribution"},
        diagnostics={"n_kept": kept, "seed": str(seed.entropy), "runtime_s": time.perf_counter() - start},
        diagnostic_axes={"n_kept": "n"},
    )


def local_lipschitz(
    model: Any,
    X: Any,
    explanation: Any,
    *,
    explainer: Any,
    epsilon: float = 0.1,
    n_samples: int = 10,
    norm: str | float = "inf",
    bounds: Sequence[Any] | None = None,
    explain_params: Mapping[str, Any] | None = None,
    target: Any = None,
    n_random: int = 10,
    batch_size: int | None = None,
    random_state: Any = None,
) -> Any:
    """The local Lipschitz estimate of each row's explanation (Alvarez-Melis & Jaakkola 2018).

    ``max ||phi(x') - phi(x)||_2 / ||x' - x||_2`` over ``n_samples`` neighbours ``x'`` drawn uniformly in
    the ``epsilon`` ball around ``x`` (clipped to ``bounds``; every neighbour counts, whatever the model
    predicts there). ``phi`` is the explainer's attribution, ``phi(x)`` recomputed with the seed of the
    neighbours (common noise of a sampling explainer cancels): a stochastic explainer is called once per
    sample on all rows, a deterministic one once on all rows and samples together. Lower is better; NaN
    for a row whose neighbours all equal it (``epsilon=0``).

    The floor: the same maximum for an explainer returning a random permutation of the row's values of
    ``explanation`` at each call, over the same neighbours (mean over ``n_random`` draws).
    Parameters as :func:`max_sensitivity`.

    Returns
    -------
    MetricScores

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> f = lambda Z: Z @ np.array([3.0, 0.0])
    >>> shap = xk.ExactShapley(f, background=np.zeros((1, 2)))
    >>> X = np.array([[1.0, 2.0]])
    >>> s = local_lipschitz(f, X, shap.explain(X), explainer=shap, epsilon=0.01, n_samples=20, random_state=0)
    >>> bool(2.5 < s.values[0] <= 3.0)   # phi = (3 x_1, 0): ||phi(x') - phi(x)|| / ||x' - x|| is at most 3
    True
    """
    from xaikit.explainers.adversarial.attacks import _clip, check_bounds
    from xaikit.explainers.adversarial.robustness import perturbation_samples
    from xaikit.results.metric_scores import MetricScores

    start = time.perf_counter()
    explained = check_explainer(explainer)
    extra = check_explain_params(explain_params)
    n_random = check_int(n_random, "n_random", minimum=1)
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    epsilon = check_float(epsilon, "epsilon", minimum=0.0)
    X0 = check_batch(X, "X")
    n = len(X0)
    box = check_bounds(bounds, X0.shape[1:])
    seed = check_random_state(random_state)
    sample_seed, explain_seed, floor_seed = spawn_seeds(seed, 3)
    phi0 = _scored(explanation, X0, target, explained if model is None else model)
    samples = _clip(perturbation_samples(X0, epsilon=epsilon, n_samples=n_samples, norm=norm, random_state=sample_seed), box)
    phi = decision_attributions(explainer, explained, X0, target, extra)
    calls = 1
    if getattr(explainer, "stochastic", True):
        base = phi(X0, explain_seed)
        near = np.stack([phi(Z, explain_seed) for Z in samples])
        calls += n_samples
    else:
        both = phi(np.concatenate([X0[None], samples]).reshape(-1, *X0.shape[1:]), explain_seed)
        both = both.reshape(n_samples + 1, n, -1)
        base, near = both[0], both[1:]
    if base.shape[1] != phi0.shape[1]:
        raise InvalidParameterError(f"explanation: expected {base.shape[1]} features per row (as the explainer), got {phi0.shape[1]}")
    dist = np.linalg.norm((samples - X0[None]).reshape(n_samples, n, -1), axis=-1)  # (n_samples, n)
    change = np.linalg.norm(near - base[None], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(dist > 0, change / np.where(dist > 0, dist, 1.0), -np.inf)
    best = ratio.max(axis=0)
    values = np.where(np.isfinite(best), best, np.nan)
    perms = _permutations(floor_seed, phi0, n_random, n_samples + 1)
    pchange = np.linalg.norm(perms[:, :, 1:] - perms[:, :, :1], axis=-1)  # (n, n_random, n_samples)
    d = dist.T[:, None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        pratio = np.where(d > 0, pchange / np.where(d > 0, d, 1.0), -np.inf)
    pbest = pratio.max(axis=-1).mean(axis=-1)
    floor = np.where(np.isfinite(pbest), pbest, np.nan)
    return MetricScores(
        values=values,
        floor=floor,
        method="local_lipschitz",
        params={"metric": "local_lipschitz", "higher_is_better": False, "explainer": type(explainer).__name__,
                "epsilon": epsilon, "n_samples": n_samples, "norm": str(norm), "target": target, "n_random": n_random,
                "floor": "random permutations of the row's attribution"},
        diagnostics={"n_explain_calls": calls, "seed": str(seed.entropy), "runtime_s": time.perf_counter() - start},
    )


def _pairwise(runs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean pairwise Spearman and top-``k`` Jaccard over axis 0 of ``runs`` (n_runs, ..., d)."""
    rho, jac = [], []
    for a, b in combinations(range(len(runs)), 2):
        rho.append(spearman_rows(runs[a], runs[b]))
        ta, tb = top_k_mask(runs[a], k), top_k_mask(runs[b], k)
        jac.append((ta & tb).sum(axis=-1) / (ta | tb).sum(axis=-1))
    return np.mean(rho, axis=0), np.mean(jac, axis=0)


def seed_stability(
    model: Any,
    X: Any,
    explanation: Any,
    *,
    explainer: Any,
    n_seeds: int = 5,
    k: int = 3,
    explain_params: Mapping[str, Any] | None = None,
    target: Any = None,
    n_random: int = 10,
    batch_size: int | None = None,
    random_state: Any = None,
) -> Any:
    """The stability of a stochastic explainer over seeds: how much each row's attribution depends on the seed alone.

    The explainer explains ``X`` under ``n_seeds`` seeds (children of ``random_state``). A row's value is
    the mean, over the pairs of seeds, of the Spearman rank correlation of its (signed) attributions;
    ``diagnostics["jaccard"]`` is the mean pairwise Jaccard index of its top-``k`` features (by ``|phi|``).
    1 (and Jaccard 1) for a deterministic explainer; higher is better. NaN for a row whose attribution is
    constant.

    The floor: the same for ``n_seeds`` random permutations of the row's values of ``explanation``
    (about 0; mean over ``n_random`` draws; ``diagnostics["jaccard_floor"]`` for the Jaccard index).

    Parameters
    ----------
    model : optional
        Read only to choose each row's predicted output of ``explanation``.
    X : array-like (n, ...)
    explanation : Attribution or array (n, d)
        Chooses the output scored and gives the floor.
    explainer : an xaikit explainer returning an Attribution
    n_seeds : int
        Seeds compared (>= 2).
    k : int
        Top features compared by the Jaccard index (at most the number of features).
    explain_params, target, n_random, batch_size, random_state
        As for :func:`max_sensitivity`.

    Returns
    -------
    MetricScores

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> f = lambda Z: Z @ np.array([3.0, -2.0, 1.0, 0.5])
    >>> bg = np.zeros((5, 4)); X = np.ones((3, 4))
    >>> ks = xk.KernelShap(f, background=bg)
    >>> s = seed_stability(f, X, ks.explain(X, random_state=0), explainer=ks, n_seeds=3, k=2, random_state=0)
    >>> bool((s.values > 0.9).all()), bool(abs(s.floor_mean()) < 0.5)
    (True, True)
    """
    from xaikit.results.metric_scores import MetricScores

    start = time.perf_counter()
    explained = check_explainer(explainer)
    extra = check_explain_params(explain_params)
    n_random = check_int(n_random, "n_random", minimum=1)
    n_seeds = check_int(n_seeds, "n_seeds", minimum=2)
    X0 = check_batch(X, "X")
    seed = check_random_state(random_state)
    phi0 = _scored(explanation, X0, target, explained if model is None else model)
    d = phi0.shape[1]
    k = check_int(k, "k", minimum=1)
    if k > d:
        raise InvalidParameterError(f"k: expected at most the {d} features of the explanation, got {k}")
    children = spawn_seeds(seed, n_seeds + 1)
    phi = decision_attributions(explainer, explained, X0, target, extra)
    runs = np.stack([phi(X0, s) for s in children[:n_seeds]])
    if runs.shape[-1] != d:
        raise InvalidParameterError(f"explanation: expected {runs.shape[-1]} features per row (as the explainer), got {d}")
    values, jaccard = _pairwise(runs, k)
    perms = _permutations(children[n_seeds], phi0, n_random, n_seeds)  # (n, n_random, n_seeds, d)
    frho, fjac = _pairwise(np.moveaxis(perms, 2, 0), k)
    return MetricScores(
        values=values,
        floor=frho.mean(axis=-1),
        method="seed_stability",
        params={"metric": "seed_stability", "higher_is_better": True, "explainer": type(explainer).__name__,
                "n_seeds": n_seeds, "k": k, "target": target, "n_random": n_random,
                "floor": "random permutations of the row's attribution"},
        diagnostics={"jaccard": jaccard, "jaccard_floor": fjac.mean(axis=-1), "seed": str(seed.entropy),
                     "runtime_s": time.perf_counter() - start},
        diagnostic_axes={"jaccard": "n", "jaccard_floor": "n"},
    )
