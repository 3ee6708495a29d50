"""Faithfulness of attributions: does the model's output move the way the attribution says?

Every function returns a :class:`~xaikit.results.metric_scores.MetricScores`: the metric of each explained
row, its noise floor (the mean of the same metric over ``n_random`` random attributions of that row) and,
for the curve metrics, each row's curve.

- :func:`deletion` and :func:`insertion` (Petsiuk, Das and Saenko 2018, RISE): features removed (added) in
  order of decreasing attribution; the area under the output curve;
- :func:`road` (Rong, Leemann, Borisov, Kasneci and Kasneci 2022, ROAD): the deletion curve with removed
  features imputed from the kept ones instead of a fixed baseline, in the MoRF or LeRF order;
- :func:`infidelity` (Yeh, Hsieh, Suggala, Inouye and Ravikumar 2019);
- :func:`faithfulness_correlation` (Bhatt, Weller and Moura 2020);
- :func:`monotonicity` (Arya et al. 2019, AIX360's ``monotonicity_metric``).

The explanation is an :class:`~xaikit.results.Attribution`, a :class:`~xaikit.results.RaggedAttribution`
(documents, images) or an array ``(n, d)``. ``target`` picks the output explained, by position or name
among the explanation's outputs (for an array, among the model's), or one per row; by default the single
output, else for each row the output with the largest prediction (the class the row is predicted as). ``baseline``
says what a removed feature becomes (see :mod:`xaikit.metrics._perturb`): for tables a number,
``"mean"`` of ``data`` or an array (default the mean of ``data`` when given, else 0); for documents
``None`` (remove the words) or a mask token; for images ``"blur"`` (default), ``"mean"`` or a number,
over the segments of a RaggedAttribution or square patches of ``patch_size`` pixels.

The noise floor: a random attribution of a row is a random permutation of that row's own values
across its features (same magnitudes, no information about which feature matters). For the curve
metrics each random curve is evaluated at a systematic sample of its steps (``floor_steps``), an
unbiased estimate of its area that keeps the floor's cost at about half a curve per row.

All perturbed inputs of all rows go to the model in one call (or in calls of ``batch_size`` inputs),
after one call on the rows themselves. ``random_state`` makes every draw reproducible; row ``i``
draws from its own stream, so a row's scores do not depend on the other rows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from xaikit._validation import check_float, check_int, check_random_state, describe
from xaikit.errors import InvalidParameterError
from xaikit.metrics._perturb import Rows, check_batch_size, explained_rows, predict_all
from xaikit.results.metric_scores import MetricScores

__all__ = ["deletion", "faithfulness_correlation", "infidelity", "insertion", "monotonicity", "road"]


# ----------------------------------------------------------------------------- shared steps


def _rngs(random_state: Any, n: int) -> list[np.random.Generator]:
    from xaikit.explainers.pipeline import row_seeds

    root = check_random_state(random_state)
    return [np.random.default_rng(s) for s in row_seeds(root, range(n))]


def _evaluate(model: Any, rows: Rows, masks: list[np.ndarray], batch_size: int | None, counter: list[int],
              render: Callable[[int, np.ndarray], Any] | None = None) -> list[np.ndarray]:
    """The model's output (each row's column) at every mask of every row, in one batch."""
    draw = rows.render if render is None else render
    parts = [draw(i, m) for i, m in enumerate(masks)]
    cols = np.concatenate([np.full(len(m), rows.columns[i], dtype=np.intp) for i, m in enumerate(masks)])
    out = predict_all(model, rows.concat(parts), cols, batch_size, counter)
    return np.split(out, np.cumsum([len(m) for m in masks])[:-1])


def _permutations(a: np.ndarray, n_random: int, rng: np.random.Generator) -> np.ndarray:
    """``n_random`` random permutations of ``a`` across its features, ``(n_random, d)``."""
    return rng.permuted(np.tile(a, (n_random, 1)), axis=1)


def _common(model: Any, n_random: Any, batch_size: Any) -> tuple[Any, int, int | None]:
    from xaikit.models import adapt

    return adapt(model), check_int(n_random, "n_random", minimum=1), check_batch_size(batch_size)


def _scores(metric: str, higher: bool, values: np.ndarray, floor: np.ndarray, settings: dict[str, Any], counter: list[int],
            start: float, curves: np.ndarray | None = None, **diagnostics: Any) -> MetricScores:
    return MetricScores(
        values=values, floor=floor, curves=curves, method=metric,
        params={"metric": metric, "higher_is_better": higher, **settings},
        diagnostics={"n_model_calls": counter[0], "runtime_s": time.perf_counter() - start, **diagnostics},
    )


def _steps(n_steps: Any, rows: Rows) -> np.ndarray:
    if n_steps is None:
        widest = max(a.size for a in rows.attributions)
        return np.linspace(0.0, 1.0, min(widest + 1, 101))
    return np.linspace(0.0, 1.0, check_int(n_steps, "n_steps", minimum=2))


def _curve_masks(a: np.ndarray, fractions: np.ndarray, adding: bool) -> np.ndarray:
    """Keep-masks ``(n_steps, d)``: ``round(t d)`` features of largest attribution removed (``adding``: kept only).
    ``a`` may be a stack ``(r, d)`` of attributions with ``fractions`` ``(r, n_steps)``: masks ``(r, n_steps, d)``."""
    d = a.shape[-1]
    order = np.argsort(-a, axis=-1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(d), order.shape), axis=-1)
    ks = np.floor(fractions * d + 0.5).astype(np.intp)
    first = rank[..., None, :] < ks[..., :, None]
    return first if adding else ~first


def _auc(curves: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    widths = np.diff(fractions)
    return ((curves[..., 1:] + curves[..., :-1]) * 0.5 * widths).sum(axis=-1)


def _trapezoid_weights(fractions: np.ndarray) -> np.ndarray:
    """Weights ``w`` with ``w @ curve`` the trapezoid area of a curve over ``fractions``; they sum to 1 on ``[0, 1]``."""
    widths = np.diff(fractions)
    w = np.zeros(fractions.size)
    w[:-1] += widths / 2
    w[1:] += widths / 2
    return w


def _floor_points(weights: np.ndarray, m: int, n_draws: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Steps ``(n_draws, m)`` of each random attribution's curve and their coefficients: every step when
    ``m`` covers them (coefficients the trapezoid weights, the exact area), else a systematic sample of
    ``m`` steps drawn with probabilities ``weights`` (coefficients ``1 / m``, an unbiased estimate of the area)."""
    k = weights.size
    if m >= k:
        return np.tile(np.arange(k), (n_draws, 1)), np.tile(weights, (n_draws, 1))
    points = (rng.random((n_draws, 1)) + np.arange(m)) / m
    steps = np.minimum(np.searchsorted(np.cumsum(weights), points, side="right"), k - 1)
    return steps, np.full((n_draws, m), 1.0 / m)


def _curve_metric(metric: str, model: Any, X: Any, explanation: Any, *, adding: bool, target: Any, baseline: Any, data: Any,
                  n_steps: Any, normalize: bool, n_random: Any, floor_steps: Any, batch_size: Any, random_state: Any,
                  patch_size: int, road_order: str | None = None, noise: float = 0.0) -> MetricScores:
    start = time.perf_counter()
    adapted, n_random, batch_size = _common(model, n_random, batch_size)
    if not isinstance(normalize, (bool, np.bool_)):
        raise InvalidParameterError(f"normalize: expected True or False, got {describe(normalize)}")
    counter = [0]
    allow = ("table", "text", "image") if road_order is None else ("table", "image")
    rows = explained_rows(adapted, X, explanation, target=target, baseline=None if road_order else baseline, data=data,
                          patch_size=patch_size, counter=counter, allow=allow, metric=metric)
    fractions = _steps(n_steps, rows)
    k = len(fractions)
    m = -(-k // (2 * n_random)) if floor_steps is None else check_int(floor_steps, "floor_steps", minimum=1)
    weights = _trapezoid_weights(fractions)
    rngs = _rngs(random_state, rows.n)
    sign = -1.0 if road_order == "lerf" else 1.0
    points = [_floor_points(weights, m, n_random, rngs[i]) for i in range(rows.n)]
    perms = [_permutations(a, n_random, rngs[i]) for i, a in enumerate(rows.attributions)]
    # each row's random points in order of their step (outputs put back below): inputs with as many features removed
    # follow each other, which a network's pooling runs through markedly faster than the draws' order
    order = [np.argsort(s.ravel(), kind="stable") for s, _ in points]
    if len({a.size for a in rows.attributions}) == 1:  # every row over the same features: all masks at once
        d = rows.attributions[0].size
        draws = _curve_masks(sign * np.stack(perms), fractions[np.stack([s for s, _ in points])], adding).reshape(rows.n, -1, d)
        every = np.concatenate([_curve_masks(sign * np.stack(rows.attributions), fractions, adding),
                                np.take_along_axis(draws, np.stack(order)[:, :, None], axis=1)], axis=1)
        masks = list(every)
    else:
        masks = [np.concatenate([_curve_masks(sign * a, fractions, adding),
                                 _curve_masks(sign * perms[i], fractions[points[i][0]], adding).reshape(-1, a.size)[order[i]]])
                 for i, a in enumerate(rows.attributions)]
    render = None
    settings: dict[str, Any] = {"n_steps": k, "normalize": bool(normalize), "n_random": n_random, "floor_steps": min(m, k),
                                **rows.settings}
    if road_order is not None:
        from xaikit.metrics._perturb import imputer

        render = imputer(rows, data, noise, rngs)
        settings = {**settings, "order": road_order, "noise": noise,
                    "imputation": "noisy linear (neighbours)" if rows.kind == "image" else "conditional Gaussian mean"}
        settings.pop("baseline", None)
    outs = _evaluate(adapted, rows, masks, batch_size, counter, render)
    curves = np.stack([o[:k] for o in outs])  # (n, k)
    floors = np.empty((rows.n, n_random * points[0][0].shape[1]))
    for i, o in enumerate(outs):
        floors[i, order[i]] = o[k:]
    floors = floors.reshape(rows.n, n_random, -1)  # (n, n_random, m or k), in the draws' order
    if normalize:
        empty = curves[:, 0] if adding else curves[:, -1]
        span = rows.full - empty
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(span != 0, 1.0 / span, np.nan)
        curves = (curves - empty[:, None]) * scale[:, None]
        floors = (floors - empty[:, None, None]) * scale[:, None, None]
    coefs = np.stack([c for _, c in points])
    floor = (floors * coefs).sum(axis=2).mean(axis=1)
    steps = np.stack([s for s, _ in points]).ravel()
    finite = np.isfinite(floors.ravel())
    sums = np.bincount(steps[finite], weights=floors.ravel()[finite], minlength=k)
    counts = np.bincount(steps[finite], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        floor_curve = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    higher = adding if road_order is None else road_order == "lerf"
    return _scores(metric, higher, _auc(curves, fractions), floor, settings, counter, start, curves=curves,
                   fractions=fractions.tolist(), floor_curve=[float(v) for v in floor_curve])


# ----------------------------------------------------------------------------- deletion and insertion




def deletion(model: Any, X: Any, explanation: Any, *, target: Any = None, baseline: Any = None, data: Any = None,
             n_steps: int | None = None, normalize: bool = False, n_random: int = 10, floor_steps: int | None = None,
             batch_size: int | None = None, random_state: Any = None, patch_size: int = 8) -> MetricScores:
    """Deletion AUC: the model's output as features are removed in order of decreasing attribution.

    The value of a row is the area under its curve (trapezoid over the fraction axis ``[0, 1]``); lower is
    better (the output falls fast when the most important features go).

    Parameters
    ----------
    model : estimator, torch or Keras model, or callable
        Anything :func:`xaikit.models.adapt` takes.
    X : array-like (n, d), documents, or images
        The explained inputs (documents may be None: the explanation's texts).
    explanation : Attribution, RaggedAttribution or array-like (n, d)
    target : int or str, optional
        The output explained (see the module notes).
    baseline : number, "mean", array, str or None
        What a removed feature becomes (see the module notes).
    data : array-like (m, d), optional
        Rows of the data (tables), for ``baseline="mean"``.
    n_steps : int, optional
        Points of the curve, at fractions ``linspace(0, 1, n_steps)`` of the features (``round(t d)`` of a
        row's ``d`` features); default one per feature (``d + 1``, at most 101).
    normalize : bool
        False: the curve is the model's output. True: it is rescaled to ``(f - f_empty) / (f(x) - f_empty)``,
        ``f_empty`` the output with every feature removed (NaN where ``f(x) == f_empty``).
    n_random : int
        Random attributions per row for the floor.
    floor_steps : int, optional
        Points of each random attribution's curve evaluated for the floor: a systematic sample of the
        steps drawn with the trapezoid weights, whose mean is an unbiased estimate of that curve's area.
        Default ``ceil(n_steps / (2 n_random))``, so that the floor costs about half a curve per row whatever
        ``n_random``; ``n_steps`` or more evaluates every random curve whole.
    batch_size : int, optional
        Model inputs per call; None sends them all in one call (a torch model on the CPU still runs them
        in cache-sized chunks, see :meth:`xaikit.models.torch.TorchModel.cpu_batch_size`).
    random_state : None, int, Generator or SeedSequence
    patch_size : int
        Images explained per pixel: the side of the square patches removed together.

    Returns
    -------
    MetricScores
        ``curves`` (n, n_steps); ``diagnostics["fractions"]``, ``["floor_curve"]`` (the mean curve of the random
        attributions over the points evaluated, NaN at a step none of them drew), ``["n_model_calls"]``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0, 3.0]]); w = np.array([3.0, -1.0, 0.5])
    >>> s = deletion(lambda Z: Z @ w, X, X * w, random_state=0)   # exact attributions of a linear model
    >>> s.curves.round(2).tolist()                                 # remove x0, then x2, then x1
    [[2.5, -0.5, -2.0, 0.0]]
    >>> round(float(s.values[0]), 4), s.higher_is_better
    (-0.4167, False)
    """
    return _curve_metric("deletion", model, X, explanation, adding=False, target=target, baseline=baseline, data=data,
                         n_steps=n_steps, normalize=normalize, n_random=n_random, floor_steps=floor_steps, batch_size=batch_size,
                         random_state=random_state, patch_size=patch_size)


def insertion(model: Any, X: Any, explanation: Any, *, target: Any = None, baseline: Any = None, data: Any = None,
              n_steps: int | None = None, normalize: bool = False, n_random: int = 10, floor_steps: int | None = None,
              batch_size: int | None = None, random_state: Any = None, patch_size: int = 8) -> MetricScores:
    """Insertion AUC: the model's output as features are put back, from all removed, in order of decreasing attribution.

    The value of a row is the area under its curve (trapezoid over ``[0, 1]``); higher is better.

    Parameters
    ----------
    model, X, explanation, target, baseline, data, n_steps, normalize, n_random, floor_steps, batch_size, random_state, patch_size
        As for :func:`deletion`.

    Returns
    -------
    MetricScores

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0, 3.0]]); w = np.array([3.0, -1.0, 0.5])
    >>> s = insertion(lambda Z: Z @ w, X, X * w, random_state=0)
    >>> s.curves.round(2).tolist()
    [[0.0, 3.0, 4.5, 2.5]]
    >>> bool(s.values[0] > s.floor[0])
    True
    """
    return _curve_metric("insertion", model, X, explanation, adding=True, target=target, baseline=baseline, data=data,
                         n_steps=n_steps, normalize=normalize, n_random=n_random, floor_steps=floor_steps, batch_size=batch_size,
                         random_state=random_state, patch_size=patch_size)


def road(model: Any, X: Any, explanation: Any, *, target: Any = None, order: str = "morf", data: Any = None,
         noise: float = 0.01, n_steps: int | None = None, normalize: bool = False, n_random: int = 10,
         floor_steps: int | None = None, batch_size: int | None = None, random_state: Any = None,
         patch_size: int = 8) -> MetricScores:
    """ROAD (Remove And Debias): the deletion curve with removed features imputed from the kept ones.

    Removing a feature by a constant tells the model which features went (the shape of the hole leaks
    the attribution); ROAD fills the hole with what the rest of the input predicts, so the curve
    measures the information removed. Imputation:

    - images: noisy linear imputation (Rong et al. 2022): each removed pixel is the weighted mean of its
      8 neighbours (weight 1/6 for the 4 direct ones, 1/12 for the diagonals, over the neighbours inside
      the image), solved jointly for all removed pixels, plus Gaussian noise of standard deviation ``noise``;
    - tables: the conditional mean of the removed features given the kept ones under a Gaussian fitted to
      ``data`` (its mean and covariance), plus Gaussian noise of ``noise`` times each feature's standard
      deviation in ``data``.

    ``order="morf"`` removes the most relevant features first (lower AUC is better); ``"lerf"`` the least
    relevant first (higher is better). Documents are not supported (a word cannot be imputed linearly).

    Parameters
    ----------
    order : {"morf", "lerf"}
    data : array-like (m, d)
        Tables: rows of the data for the Gaussian (required).
    noise : float
        Standard deviation of the imputation noise (tables: in units of each feature's standard deviation).
    model, X, explanation, target, n_steps, normalize, n_random, floor_steps, batch_size, random_state, patch_size
        As for :func:`deletion`.

    Returns
    -------
    MetricScores

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0); data = rng.normal(size=(200, 3)); w = np.array([3.0, 0.0, 1.0])
    >>> X = data[:5]
    >>> s = road(lambda Z: Z @ w, X, X * w, data=data, noise=0.0, random_state=0)
    >>> s.params["order"], s.higher_is_better
    ('morf', False)
    """
    from xaikit._validation import check_choice

    order = check_choice(order, "order", ("morf", "lerf"))
    noise = check_float(noise, "noise", minimum=0)
    return _curve_metric("road", model, X, explanation, adding=False, target=target, baseline=None, data=data,
                         n_steps=n_steps, normalize=normalize, n_random=n_random, floor_steps=floor_steps, batch_size=batch_size,
                         random_state=random_state, patch_size=patch_size, road_order=order, noise=noise)


# ----------------------------------------------------------------------------- infidelity


def _subset_size(subset_size: Any, d: int) -> int:
    if subset_size is None:
        return max(1, d // 4)
    return min(check_int(subset_size, "subset_size", minimum=1), d)


def infidelity(model: Any, X: Any, explanation: Any, *, target: Any = None, perturbation: Any = "gaussian",
               noise_scale: float = 0.1, baseline: Any = None, data: Any = None, multiply_by_inputs: bool = True,
               normalize: bool = False, n_samples: int = 100, n_random: int = 10, batch_size: int | None = None,
               random_state: Any = None) -> MetricScores:
    """Infidelity (Yeh et al. 2019): ``E[(I . phi - (f(x) - f(x - I)))^2]`` over perturbations ``I``; lower is better.

    Parameters
    ----------
    model, X, explanation, target, data, n_random, batch_size, random_state
        As for :func:`deletion`; tables, or images explained per pixel (an Attribution with ``input_shape``).
    perturbation : {"gaussian", "subset"} or callable
        ``"gaussian"``: ``I ~ N(0, noise_scale^2)`` per feature (Yeh's noisy baseline); ``"subset"``: a random
        half of the features removed, ``I = (x - baseline) * s`` with ``s`` one 0/1 draw per feature (Yeh's
        square removal, for any features); a callable ``perturbation(x, n_samples, rng) -> I`` of shape
        ``(n_samples, d)`` for one row ``x`` (``d,``) and a numpy Generator.
    noise_scale : float
        Standard deviation of the Gaussian perturbation.
    baseline : number, "mean" or array, optional
        The reference of the attribution (default the mean of ``data`` when given, else 0): the removed
        value of ``"subset"``, and the divisor of ``multiply_by_inputs``.
    multiply_by_inputs : bool
        True (attributions that are a gradient times ``x - baseline``, whose sum is ``f(x) - f(baseline)``:
        Shapley values, Integrated Gradients, LIME on tables): the perturbation is divided by
        ``x - baseline`` (where it is not 0) before its dot product with ``phi``, as Captum's
        ``infidelity_perturb_func_decorator(True)`` does. False: ``I . phi`` as it is (gradients, saliency).
    normalize : bool
        True: ``phi`` scaled by the optimal ``beta = E[(I.phi) d] / E[(I.phi)^2]`` of each row first
        (Captum's ``infidelity(normalize=True)``).
    n_samples : int
        Perturbations per row.

    Returns
    -------
    MetricScores
        The floor uses the same perturbations and model outputs (no more model calls).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0], [0.5, -1.0]]); w = np.array([2.0, -3.0])
    >>> s = infidelity(lambda Z: Z @ w, X, X * w, random_state=0)   # exact for a linear model
    >>> float(np.abs(s.values).max()) < 1e-20, bool((s.floor > 0).all())
    (True, True)
    """
    start = time.perf_counter()
    adapted, n_random, batch_size = _common(model, n_random, batch_size)
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    noise_scale = check_float(noise_scale, "noise_scale", minimum=0)
    for flag, name in ((multiply_by_inputs, "multiply_by_inputs"), (normalize, "normalize")):
        if not isinstance(flag, (bool, np.bool_)):
            raise InvalidParameterError(f"{name}: expected True or False, got {describe(flag)}")
    if not (callable(perturbation) or perturbation in ("gaussian", "subset")):
        raise InvalidParameterError(f"perturbation: expected 'gaussian', 'subset' or a callable (x, n_samples, rng) -> I, got {describe(perturbation)}")
    counter = [0]
    rows, flat, ref = _flat_rows(adapted, X, explanation, target, baseline, data, counter, "infidelity")
    rngs = _rngs(random_state, rows.n)
    n, d = flat.shape
    perturbations = np.empty((n, n_samples, d))
    for i in range(n):
        if callable(perturbation):
            draw = np.asarray(perturbation(flat[i].copy(), n_samples, rngs[i]), dtype=np.float64)
            if draw.shape != (n_samples, d) or not np.isfinite(draw).all():
                raise InvalidParameterError(f"perturbation: expected finite values of shape ({n_samples}, {d}) for one row, got {describe(draw)}")
        elif perturbation == "gaussian":
            draw = rngs[i].normal(0.0, noise_scale, size=(n_samples, d))
        else:
            draw = (flat[i] - ref[i]) * (rngs[i].random((n_samples, d)) < 0.5)
        perturbations[i] = draw
    perturbed = (flat[:, None, :] - perturbations).reshape(n * n_samples, d)
    shape = rows.extra.get("input_shape")
    batch = perturbed if shape is None else perturbed.reshape(len(perturbed), *shape)
    cols = np.repeat(rows.columns, n_samples)
    drops = rows.full[:, None] - predict_all(adapted, batch, cols, batch_size, counter).reshape(n, n_samples)
    scaled = perturbations
    if multiply_by_inputs:
        span = flat - ref
        scaled = perturbations / np.where(span != 0, span, 1.0)[:, None, :]
    values = np.empty(n)
    floor = np.empty(n)
    for i in range(n):
        phis = np.vstack([rows.attributions[i][None, :], _permutations(rows.attributions[i], n_random, rngs[i])])
        dots = phis @ scaled[i].T  # (1 + n_random, n_samples)
        if normalize:
            denom = (dots * dots).mean(axis=1)
            beta = np.where(denom != 0, (dots * drops[i]).mean(axis=1) / np.where(denom != 0, denom, 1.0), 0.0)
            dots = beta[:, None] * dots
        errors = ((dots - drops[i]) ** 2).mean(axis=1)
        values[i], floor[i] = errors[0], errors[1:].mean()
    settings = {"perturbation": perturbation if isinstance(perturbation, str) else "callable", "noise_scale": noise_scale,
                "multiply_by_inputs": bool(multiply_by_inputs), "normalize": bool(normalize), "n_samples": n_samples,
                "n_random": n_random}
    return _scores("infidelity", False, values, floor, settings, counter, start)


def _flat_rows(adapted: Any, X: Any, explanation: Any, target: Any, baseline: Any, data: Any, counter: list[int],
               metric: str) -> tuple[Rows, np.ndarray, np.ndarray]:
    """Rows whose features are the values of the input (tables; images explained per pixel, flattened)."""
    from xaikit.metrics._perturb import _columns, _values_of, table_baseline
    from xaikit.results.ragged import RaggedAttribution

    if isinstance(explanation, RaggedAttribution):
        raise InvalidParameterError(
            f"explanation: {metric} needs one attribution per input value (tables, or images explained per pixel), got a "
            "RaggedAttribution of documents or segments"
        )
    _, values, _, out_names = _values_of(explanation)
    n, d, _ = values.shape
    shape = getattr(explanation, "input_shape", None)
    from xaikit._validation import check_array

    x = check_array(X, "X", ndim=(2, 3, 4))
    if x.shape[0] != n or int(np.prod(x.shape[1:])) != d:
        raise InvalidParameterError(f"X: expected the {n} explained rows of {d} values, got {describe(x)}")
    if x.ndim > 2 and shape is None:
        shape = tuple(x.shape[1:])
    flat = x.reshape(n, d)
    ref = table_baseline(baseline, None if data is None else np.asarray(data, dtype=np.float64).reshape(-1, d), n, d)
    from xaikit.explainers.base import output_names

    full_all = np.asarray(adapted.predict(x), dtype=np.float64)
    counter[0] += 1
    outs, cols = _columns(target, "table", out_names, output_names(adapted.output_names, full_all.shape[1]), full_all)
    attributions = [np.ascontiguousarray(values[i, :, outs[i]]) for i in range(n)]
    rows = Rows("table", attributions, cols, full_all[np.arange(n), cols], lambda i, keep: None, list, x,
                {}, {"input_shape": None if x.ndim == 2 else tuple(x.shape[1:])})
    return rows, flat, np.asarray(ref)


# ----------------------------------------------------------------------------- correlation and monotonicity


def faithfulness_correlation(model: Any, X: Any, explanation: Any, *, target: Any = None, baseline: Any = None,
                             data: Any = None, subset_size: int | None = None, n_samples: int = 50, n_random: int = 10,
                             batch_size: int | None = None, random_state: Any = None, patch_size: int = 8) -> MetricScores:
    """Faithfulness correlation (Bhatt et al. 2020): Pearson correlation, over random subsets ``S`` of a row's
    features, between ``sum(phi[S])`` and the output drop ``f(x) - f(x with S removed)``; higher is better.

    Parameters
    ----------
    subset_size : int, optional
        Features per subset (default a quarter of the row's features, at least 1; at most ``d``).
    n_samples : int
        Subsets per row (at least 2).
    model, X, explanation, target, baseline, data, n_random, batch_size, random_state, patch_size
        As for :func:`deletion` (tables, documents, images).

    Returns
    -------
    MetricScores
        NaN for a row whose sums or drops do not vary. The floor uses the same subsets and model outputs.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(4, 6)); w = np.arange(1.0, 7.0)
    >>> s = faithfulness_correlation(lambda Z: Z @ w, X, X * w, random_state=0)
    >>> np.allclose(s.values, 1.0)   # sums of exact attributions are the drops of a linear model
    True
    """
    start = time.perf_counter()
    adapted, n_random, batch_size = _common(model, n_random, batch_size)
    n_samples = check_int(n_samples, "n_samples", minimum=2)
    counter = [0]
    rows = explained_rows(adapted, X, explanation, target=target, baseline=baseline, data=data, patch_size=patch_size,
                          counter=counter, metric="faithfulness_correlation")
    rngs = _rngs(random_state, rows.n)
    masks = []
    sizes = []
    for i, a in enumerate(rows.attributions):
        k = _subset_size(subset_size, a.size)
        sizes.append(k)
        chosen = np.argsort(rngs[i].random((n_samples, a.size)), axis=1)[:, :k]
        keep = np.ones((n_samples, a.size), dtype=bool)
        np.put_along_axis(keep, chosen, False, axis=1)
        masks.append(keep)
    outs = _evaluate(adapted, rows, masks, batch_size, counter)
    values = np.empty(rows.n)
    floor = np.empty(rows.n)
    for i, a in enumerate(rows.attributions):
        drops = rows.full[i] - outs[i]
        phis = np.vstack([a[None, :], _permutations(a, n_random, rngs[i])])
        sums = phis @ (~masks[i]).T.astype(np.float64)  # (1 + n_random, n_samples)
        r = np.array([_pearson(s, drops) for s in sums])
        values[i], floor[i] = r[0], np.nanmean(r[1:]) if np.isfinite(r[1:]).any() else math.nan
    settings = {"subset_size": subset_size, "n_samples": n_samples, "n_random": n_random, **rows.settings}
    return _scores("faithfulness_correlation", True, values, floor, settings, counter, start)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denom = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b) / denom if denom > 0 else math.nan


def monotonicity(model: Any, X: Any, explanation: Any, *, target: Any = None, baseline: Any = None, data: Any = None,
                 n_random: int = 10, batch_size: int | None = None, random_state: Any = None,
                 patch_size: int = 8) -> MetricScores:
    """Monotonicity (Arya et al. 2019, AIX360's ``monotonicity_metric``): 1 when adding the features one by
    one to the all-removed input, in order of *increasing* attribution, never makes the output fall, else 0.

    The attribution claims that each feature added later matters more, so the output should only rise;
    the mean over rows is the share of monotone rows (higher is better). ``diagnostics["share_rising"]``
    holds, per row, the share of the steps that do not fall (a graded version). The definition suits
    attributions whose values are non-negative contributions (the evidence for the predicted class): a
    feature with a negative contribution lowers the output when it is added, whatever its place.

    Parameters
    ----------
    model, X, explanation, target, baseline, data, n_random, batch_size, random_state, patch_size
        As for :func:`deletion` (tables, documents, images).

    Returns
    -------
    MetricScores

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 1.0, 1.0]]); w = np.array([1.0, 3.0, 2.0])
    >>> monotonicity(lambda Z: Z @ w, X, X * w, random_state=0).values.tolist()
    [1.0]
    """
    start = time.perf_counter()
    adapted, n_random, batch_size = _common(model, n_random, batch_size)
    counter = [0]
    rows = explained_rows(adapted, X, explanation, target=target, baseline=baseline, data=data, patch_size=patch_size,
                          counter=counter, metric="monotonicity")
    rngs = _rngs(random_state, rows.n)
    masks = []
    for i, a in enumerate(rows.attributions):
        draws = np.vstack([a[None, :], _permutations(a, n_random, rngs[i])])
        d = a.size
        # step k (1..d) keeps the k features of smallest attribution (ties: first first)
        fractions = np.arange(1, d + 1) / d
        masks.append(np.concatenate([_curve_masks(-v, fractions, True) for v in draws]))
    outs = _evaluate(adapted, rows, masks, batch_size, counter)
    values = np.empty(rows.n)
    floor = np.empty(rows.n)
    share = np.empty(rows.n)
    for i, a in enumerate(rows.attributions):
        steps = outs[i].reshape(n_random + 1, a.size)
        rising = np.diff(steps, axis=1) >= 0
        mono = np.asarray(rising.all(axis=1), dtype=np.float64)
        values[i], floor[i] = mono[0], mono[1:].mean()
        share[i] = rising[0].mean() if a.size > 1 else 1.0
    settings = {"n_random": n_random, **rows.settings}
    return _scores("monotonicity", True, values, floor, settings, counter, start, share_rising=share.tolist())
