"""Accuracy under attack (:func:`robustness`) and the sensitivity of explanations (:func:`explanation_robustness`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from xaikit._validation import check_batch, check_bool, check_float, check_int, check_random_state, describe
from xaikit.errors import InvalidParameterError
from xaikit.explainers.adversarial.attacks import (
    LossGradient,
    _clip,
    _pgd,
    _step,
    check_bounds,
    check_norm,
    class_indices,
)
from xaikit.explainers.adversarial.boundary import boundary_search, decisions

__all__ = ["ATTACK_NAMES", "check_explain_params", "check_explainer", "decision_attributions", "explanation_robustness",
           "perturbation_samples", "robustness"]

#: The attacks :func:`robustness` runs.
ATTACK_NAMES = ("fgsm", "pgd", "boundary")


def _epsilons(epsilons: Any) -> np.ndarray:
    try:
        eps = np.asarray(epsilons, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"epsilons: expected increasing numbers >= 0, got {describe(epsilons)}") from exc
    if eps.ndim != 1 or not len(eps) or not np.isfinite(eps).all() or bool((eps < 0).any()) or bool((np.diff(eps) <= 0).any()):
        raise InvalidParameterError(f"epsilons: expected a list of increasing finite numbers >= 0, got {describe(epsilons)}")
    return eps


def robustness(
    model: Any,
    X: Any,
    y: Any,
    *,
    epsilons: Sequence[float],
    attack: str | Sequence[str] = "pgd",
    norm: str | float = "inf",
    n_steps: int = 10,
    step_size: float | None = None,
    random_start: bool = True,
    bounds: Sequence[Any] | None = None,
    scales: Any = None,
    outputs: str = "auto",
    keep_examples: bool = True,
    batch_size: int | None = None,
    random_state: Any = None,
) -> Any:
    """The accuracy of a classifier under attack, per attack and perturbation size.

    For each attack and each ``epsilon``, every row gets an adversarial example within ``epsilon``
    of it (in ``norm``) and the class the model predicts there is recorded. The example of a row at
    ``epsilon`` is the attack's own at that epsilon unless it fails and the attack succeeded at a
    smaller epsilon, whose example (inside the larger ball too) is kept: the accuracy is then
    non-increasing in epsilon by construction, as the strongest example found within each ball.
    A row the model misclassifies already is its own example.

    Parameters
    ----------
    model : a classifier: torch or Keras model for ``"fgsm"`` and ``"pgd"``; any model with ``predict`` for ``"boundary"``
        Its decision is the arg-max output (one output: class 1 above 0.5 for probabilities, above 0 for logits).
    X : array-like (n, ...)
    y : array-like (n,)
        The true classes (indices of the outputs, or names when the model names them).
    epsilons : list of float
        Increasing perturbation sizes (>= 0); epsilon 0 gives the clean accuracy.
    attack : {"pgd", "fgsm", "boundary"} or a list of them
        ``"boundary"`` is :func:`boundary_search` (black-box, tabular; ``scales`` per feature): a row is
        fooled at every epsilon at least its distance to the boundary found.
    norm : {"inf", 2}
    n_steps, step_size, random_start
        For PGD (see :func:`pgd`); ``step_size`` default ``2.5 * epsilon / n_steps`` at each epsilon.
    bounds : (low, high), optional
        The valid input range of the gradient attacks.
    scales : array-like (d,), optional
        Per-feature scales of the boundary search.
    outputs : {"auto", "logits", "probabilities"}
        What the model's outputs are, for the loss of the gradient attacks.
    keep_examples : bool
        Keep the adversarial examples in the result (n_attacks * n_epsilons copies of X).
    batch_size : int, optional
    random_state : int, numpy Generator or SeedSequence, optional

    Returns
    -------
    Robustness

    Examples
    --------
    >>> import numpy as np, torch
    >>> from xaikit.explainers.adversarial import robustness
    >>> net = torch.nn.Linear(2, 2).double()
    >>> _ = net.weight.data.copy_(torch.tensor([[1.0, -1.0], [-1.0, 1.0]])); _ = net.bias.data.zero_()
    >>> X = np.array([[0.5, 0.0], [0.0, 0.05]]); y = [0, 1]
    >>> rob = robustness(net, X, y, epsilons=[0.0, 0.1, 0.3], attack=["fgsm", "pgd"], random_state=0)
    >>> rob.accuracy.tolist()
    [[1.0, 0.5, 0.0], [1.0, 0.5, 0.0]]
    """
    from xaikit.models import adapt
    from xaikit.results.robustness import Robustness

    attacks = [attack] if isinstance(attack, str) else list(attack) if isinstance(attack, (list, tuple)) else None
    if not attacks or any(a not in ATTACK_NAMES for a in attacks) or len(set(attacks)) != len(attacks):
        raise InvalidParameterError(f"attack: expected one of {list(ATTACK_NAMES)} or a list of distinct ones, got {describe(attack)}")
    eps = _epsilons(epsilons)
    norm = check_norm(norm)
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    if step_size is not None:
        step_size = check_float(step_size, "step_size", minimum=0.0)
    start = check_bool(random_start, "random_start")
    keep = check_bool(keep_examples, "keep_examples")
    seed = check_random_state(random_state)
    X0 = check_batch(X, "X")
    n = len(X0)
    box = check_bounds(bounds, X0.shape[1:])
    adapted = adapt(model)
    gradient = any(a != "boundary" for a in attacks)
    loss = LossGradient(adapted, outputs=outputs, batch_size=batch_size) if gradient else None
    labels = class_indices(adapted, y, n)
    P0 = adapted.predict(X0)
    threshold: float | None = None
    if loss is not None:
        threshold = 0.5 if loss.resolve(P0) == "probabilities" else 0.0
    clean = decisions(adapted, X0, threshold)
    wrong = clean != labels
    predicted = np.empty((len(attacks), len(eps), n), dtype=np.int64)
    min_eps = np.full((len(attacks), n), np.inf)
    examples = np.empty((len(attacks), len(eps), *X0.shape)) if keep else None
    children = seed.spawn(len(attacks))
    for a, name in enumerate(attacks):
        min_eps[a, wrong] = 0.0
        if name == "boundary":
            found = boundary_search(adapted, X0.reshape(n, -1), norm=2 if norm == "2" else "inf", scales=scales,
                                    threshold=threshold, batch_size=batch_size, random_state=children[a])
            dist = np.where(wrong, 0.0, found.distance)
            min_eps[a] = dist
            points = found.adversarial.reshape(X0.shape)
            for e, epsilon in enumerate(eps):
                fooled = ~wrong & (dist <= epsilon)
                adv = np.where(fooled.reshape((n,) + (1,) * (X0.ndim - 1)), np.nan_to_num(points), X0)
                predicted[a, e] = decisions(adapted, adv, threshold)
                if examples is not None:
                    examples[a, e] = adv
            continue
        best = X0.copy()
        best_wrong = wrong.copy()
        seeds = children[a].spawn(len(eps))
        for e, epsilon in enumerate(eps):
            if loss is None:  # pragma: no cover - a gradient attack always has its loss
                raise InvalidParameterError("attack: internal error")
            if name == "fgsm":
                adv = X0.copy() if epsilon == 0 else _clip(_step(X0, loss(X0, labels), float(epsilon), norm, False), box)
            else:
                size = 2.5 * epsilon / max(n_steps, 1) if step_size is None else step_size
                adv = _pgd(loss, X0, labels, float(epsilon), size, n_steps, norm, False, start, box, seeds[e])
            adv = np.where(wrong.reshape((n,) + (1,) * (X0.ndim - 1)), X0, adv)
            pred = decisions(adapted, adv, threshold)
            fooled = pred != labels
            # keep the example of a smaller epsilon that fooled the model when this one does not
            take = fooled | ~best_wrong
            best = np.where(take.reshape((n,) + (1,) * (X0.ndim - 1)), adv, best)
            best_pred = np.where(take, pred, predicted[a, e - 1] if e else clean)
            newly = fooled & ~best_wrong
            min_eps[a, newly] = epsilon
            best_wrong = best_wrong | fooled
            predicted[a, e] = best_pred
            if examples is not None:
                examples[a, e] = best
    return Robustness(
        predicted=predicted,
        epsilons=eps,
        labels=labels,
        clean_predicted=clean,
        min_epsilon=min_eps,
        adversarial=None if examples is None else examples.reshape(len(attacks), len(eps), n, -1),
        input_shape=list(X0.shape[1:]) if keep else None,
        attack_names=attacks,
        method="robustness",
        params={"attack": attacks, "norm": norm, "n_steps": n_steps, "step_size": step_size, "random_start": start,
                "bounds": None if box is None else [float(box[0].min()), float(box[1].max())]},
        diagnostics={"seed": str(seed.entropy)},
    )


def perturbation_samples(X: Any, *, epsilon: float, n_samples: int, norm: str | float = "inf", random_state: Any = None) -> np.ndarray:
    """The perturbed copies :func:`explanation_robustness` draws: ``(n_samples, n, ...)``, uniform in the
    ``epsilon`` ball around each row (all the samples of row ``i`` drawn by its own generator, seeded by
    :func:`~xaikit.explainers.pipeline.row_seeds`, so a row's samples do not depend on the other rows).

    >>> Z = perturbation_samples(np.zeros((2, 3)), epsilon=0.1, n_samples=4, random_state=0)
    >>> Z.shape, bool((np.abs(Z) <= 0.1).all())
    ((4, 2, 3), True)
    """
    from xaikit.explainers.pipeline import row_seeds

    X0 = check_batch(X, "X")
    epsilon = check_float(epsilon, "epsilon", minimum=0.0)
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    norm = check_norm(norm)
    n, d = len(X0), int(np.prod(X0.shape[1:]))
    noise = np.empty((n_samples, n, d), dtype=np.float64)
    for i, s in enumerate(row_seeds(check_random_state(random_state), range(n))):
        rng = np.random.default_rng(s)
        if norm == "inf":
            noise[:, i] = rng.uniform(-epsilon, epsilon, size=(n_samples, d))
        else:
            u = rng.standard_normal((n_samples, d))
            lengths = np.linalg.norm(u, axis=1, keepdims=True)
            radius = epsilon * rng.uniform(size=(n_samples, 1)) ** (1.0 / d)
            noise[:, i] = np.where(lengths > 0, u / np.where(lengths > 0, lengths, 1.0), u) * radius
    return X0[None] + noise.reshape((n_samples, *X0.shape))


def check_explainer(explainer: Any) -> Any:
    """The adapted model of an xaikit explainer (refused, by name, when it is not one)."""
    model = getattr(explainer, "model", None)
    if model is None or not callable(getattr(explainer, "explain", None)):
        raise InvalidParameterError(f"explainer: expected an xaikit explainer (with explain and model), got {describe(explainer)}")
    return model


def check_explain_params(explain_params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The extra ``explain`` arguments of a function that re-explains (no ``target`` nor ``random_state``: it sets them)."""
    if explain_params is not None and not isinstance(explain_params, Mapping):
        raise InvalidParameterError(f"explain_params: expected a dict of explain arguments or None, got {describe(explain_params)}")
    extra = dict(explain_params or {})
    clash = sorted({"target", "random_state"} & set(extra))
    if clash:
        raise InvalidParameterError(f"explain_params: expected no {clash[0]!r} (set by the function), got {sorted(extra)}")
    return extra


def decision_attributions(explainer: Any, model: Any, X0: np.ndarray, target: Any, extra: dict[str, Any]) -> Any:
    """A function ``(Z, random_state) -> (len(Z), d)``: the attribution of the output each row's decision is
    about (``target``, else the class the model gives the row of ``X0``); ``Z`` holds whole copies of ``X0``
    stacked. Gradient methods are asked for that output per row; the others explain every output."""
    from xaikit.explainers.gradients.base import GradientExplainer
    from xaikit.results.attribution import Attribution

    P = model.predict(X0)
    threshold = 0.5 if model.output == "probability" else 0.0
    cols = decisions(model, X0, threshold) if P.shape[1] > 1 else np.zeros(len(X0), dtype=np.int64)
    per_row = target is None and isinstance(explainer, GradientExplainer)

    def phi(Z: np.ndarray, random_state: Any) -> np.ndarray:
        c = np.tile(cols, len(Z) // len(X0))
        exp = explainer.explain(Z, target=c if per_row else target, random_state=random_state, **extra)
        if not isinstance(exp, Attribution):
            raise InvalidParameterError(f"explainer: expected an explainer returning an Attribution, got {type(exp).__name__}")
        if target is not None or per_row:
            return np.asarray(exp.values[:, :, 0])
        return np.asarray(exp.values[np.arange(len(Z)), :, c])

    return phi


def explanation_robustness(
    explainer: Any,
    X: Any,
    *,
    epsilon: float,
    n_samples: int = 10,
    norm: str | float = "inf",
    target: int | str | None = None,
    bounds: Sequence[Any] | None = None,
    explain_params: Mapping[str, Any] | None = None,
    random_state: Any = None,
) -> Any:
    """The max-sensitivity of an explainer (Yeh et al. 2019) under perturbations that keep the prediction.

    For each row ``x``, ``n_samples`` points ``x'`` are drawn uniformly in the ``epsilon`` ball around
    it (clipped to ``bounds``); among those where the model predicts the same class as at ``x``, the
    sensitivity is ``max ||phi(x') - phi(x)||_2 / ||phi(x)||_2`` (over every feature), and the ``x'``
    reaching it is returned. ``phi`` is the attribution of the output ``target``, by default each
    row's predicted class (the output itself for a model with one output). Every ``explain`` call
    uses the same ``random_state``, so a sampling explainer's own noise is common to ``x`` and ``x'``
    (row ``i`` of each call gets the same seed) and is not counted as sensitivity.

    Parameters
    ----------
    explainer : an xaikit explainer (gradients, Shapley, LIME, ...) whose ``explain`` returns an Attribution
    X : array-like (n, ...)
    epsilon : float
        The radius of the ball (>= 0).
    n_samples : int
        Perturbed copies per row (one ``explain`` call of ``n`` rows each).
    norm : {"inf", 2}
    target : int or str, optional
        The output explained; default the predicted class of each row.
    bounds : (low, high), optional
        The valid input range.
    explain_params : dict, optional
        Further arguments of every ``explain`` call (e.g. ``{"baseline": 0.0}``, ``{"n_samples": 500}``).
    random_state : int, numpy Generator or SeedSequence, optional

    Returns
    -------
    ExplanationRobustness

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> from xaikit.explainers.adversarial import explanation_robustness
    >>> net = torch.nn.Linear(3, 2).double()
    >>> res = explanation_robustness(xk.Saliency(net, abs=False), np.ones((2, 3)), epsilon=0.1, n_samples=5, random_state=0)
    >>> res.sensitivity.tolist()     # a linear model's gradient does not change
    [0.0, 0.0]
    """
    from xaikit.results.robustness import ExplanationRobustness

    model = check_explainer(explainer)
    extra = check_explain_params(explain_params)
    X0 = check_batch(X, "X")
    n = len(X0)
    box = check_bounds(bounds, X0.shape[1:])
    seed = check_random_state(random_state)
    entropy = seed.entropy if isinstance(seed.entropy, int) else int(seed.generate_state(1)[0])
    samples = _clip(perturbation_samples(X0, epsilon=epsilon, n_samples=n_samples, norm=norm, random_state=seed.spawn(1)[0]), box)
    threshold = 0.5 if model.output == "probability" else 0.0
    classes = decisions(model, X0, threshold)
    attributions = decision_attributions(explainer, model, X0, target, extra)

    base = attributions(X0, entropy)
    base_norm = np.linalg.norm(base, axis=1)
    sens = np.zeros(n)
    worst = X0.reshape(n, -1).copy()
    kept = np.zeros(n, dtype=np.int64)
    stacked = np.concatenate(list(samples), axis=0)  # every sample of every row: one prediction
    same_all = (decisions(model, stacked, threshold) == np.tile(classes, len(samples))).reshape(len(samples), n)
    # a deterministic explainer explains every kept sample in one call; a sampling one, sample by sample with the
    # seed of the rows' own explanation, so that its sampling noise is not counted as sensitivity
    phis = None if getattr(explainer, "stochastic", True) else attributions(stacked, entropy).reshape(len(samples), n, -1)
    for s, Z in enumerate(samples):
        same = same_all[s]
        if not same.any():
            continue
        change = np.linalg.norm((attributions(Z, entropy) if phis is None else phis[s]) - base, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(base_norm > 0, change / np.where(base_norm > 0, base_norm, 1.0), np.where(change > 0, np.nan, 0.0))
        kept += same
        better = same & ((ratio > sens) | (np.isnan(ratio) & ~np.isnan(sens)))
        sens = np.where(better, ratio, sens)
        worst[better] = Z.reshape(n, -1)[better]
    return ExplanationRobustness(
        sensitivity=sens,
        worst=worst,
        n_kept=kept,
        data=X0.reshape(n, -1),
        input_shape=list(X0.shape[1:]) if X0.ndim > 2 else None,
        method="explanation_robustness",
        params={"explainer": type(explainer).__name__, "epsilon": float(epsilon), "n_samples": int(n_samples),
                "norm": check_norm(norm), "target": target},
        diagnostics={"seed": entropy},
    )
