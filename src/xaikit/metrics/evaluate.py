"""``xk.evaluate``: several quality metrics of several explanations of the same rows, in one report.

Each metric of :mod:`xaikit.metrics` (faithfulness, robustness, complexity) is run on each
explanation; the :class:`~xaikit.results.quality.QualityReport` keeps the per-row values and noise
floors, the disagreement between the methods (rank correlation of ``|phi|`` and top-k overlap, per row
and overall) and, per explanation, the raw rows it carries (:func:`xaikit.metrics.privacy.raw_rows`).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from xaikit._validation import check_int, check_level, check_random_state, describe
from xaikit.errors import InvalidParameterError

__all__ = ["METRICS", "evaluate", "resolve_metric"]

#: The metrics known by name, and the module of :mod:`xaikit.metrics` each one is in.
METRICS: dict[str, str] = {
    "deletion": "faithfulness",
    "insertion": "faithfulness",
    "road": "faithfulness",
    "infidelity": "faithfulness",
    "faithfulness_correlation": "faithfulness",
    "monotonicity": "faithfulness",
    "max_sensitivity": "robustness",
    "local_lipschitz": "robustness",
    "seed_stability": "robustness",
    "sparseness": "complexity",
    "entropy": "complexity",
    "effective_features": "complexity",
}

#: The parameters ``evaluate`` passes to every metric itself (``metric_params`` may not set them).
_OWN = ("target", "n_random", "batch_size", "random_state", "explainer")


def resolve_metric(metric: str | Callable[..., Any]) -> tuple[str, Callable[..., Any]]:
    """The name and function of a metric given by name (a key of :data:`METRICS`, kebab or snake case)
    or as a function with the metric contract's signature.

    >>> name, fn = resolve_metric("sparseness"); name, fn.__module__
    ('sparseness', 'xaikit.metrics.complexity')
    """
    import importlib

    if callable(metric):
        name = getattr(metric, "__name__", None)
        if not isinstance(name, str) or not name or name == "<lambda>":
            raise InvalidParameterError(f"metrics: expected named functions (a def with a __name__), got {describe(metric)}")
        return name, metric
    if not isinstance(metric, str):
        raise InvalidParameterError(f"metrics: expected metric names or functions, got {describe(metric)}")
    key = metric.replace("-", "_")
    if key not in METRICS:
        raise InvalidParameterError(f"metrics: expected one of {sorted(METRICS)} or a function, got {metric!r}")
    module = importlib.import_module(f"xaikit.metrics.{METRICS[key]}")
    return key, getattr(module, key)


def _takes(fn: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _needs_explainer(fn: Callable[..., Any]) -> bool:
    try:
        param = inspect.signature(fn).parameters.get("explainer")
    except (TypeError, ValueError):
        return False
    return param is not None and param.default is inspect.Parameter.empty


def evaluate(
    model: Any,
    X: Any,
    explanations: Mapping[str, Any],
    *,
    metrics: Sequence[str | Callable[..., Any]] = ("deletion", "insertion", "sparseness"),
    explainers: Mapping[str, Any] | None = None,
    target: int | str | None = None,
    n_random: int = 10,
    batch_size: int | None = None,
    k: int = 5,
    level: float = 0.95,
    metric_params: Mapping[str, Mapping[str, Any]] | None = None,
    random_state: Any = None,
) -> Any:
    """Score several explanations of the same rows with several metrics; see how far the methods agree.

    Parameters
    ----------
    model : any model :func:`xaikit.models.adapt` takes
    X : array-like (n, d) or DataFrame
        The explained rows (the rows of every explanation, in the same order).
    explanations : dict of str to Attribution, RaggedAttribution or array (n, d)
        The explanations to compare, by method name.
    metrics : list of str or callables
        Names of :data:`METRICS` (``"deletion"``, ``"sparseness"``...) or functions with the metric
        signature ``fn(model, X, explanation, *, target, n_random, batch_size, random_state, ...) ->
        MetricScores``.
    explainers : dict of str to explainer, optional
        The explainer behind each explanation (same names), which the robustness metrics
        (``max_sensitivity``, ``local_lipschitz``, ``seed_stability``) re-run; without it those metrics
        are refused by name.
    target : int or str, optional
        The output explained (see the metrics); None: the single output, or each row's predicted one.
    n_random : int
        Random attributions per row for the noise floor.
    batch_size : int, optional
        Rows per model call, passed to every metric.
    k : int
        The number of top features compared between methods (top-k overlap).
    level : float
        Coverage of the intervals of the table.
    metric_params : dict of metric name to dict, optional
        The metrics' own settings, e.g. ``{"deletion": {"n_steps": 10}}``.
    random_state : int, Generator or SeedSequence, optional
        Each metric gets its own seed, and the same seed for every method: all methods are scored on the
        same random draws, so a difference between them comes from the explanations.

    Returns
    -------
    QualityReport
        ``q.table`` (a DataFrame per metric and method), ``q.ranking()``, ``q.disagreement()``.

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> X = np.random.default_rng(0).normal(size=(20, 4)); w = np.array([3.0, -2.0, 1.0, 0.0])
    >>> good = xk.Attribution(values=(X * w)[:, :, None], base_values=np.zeros((20, 1)), method="good")
    >>> flat = xk.Attribution(values=np.ones((20, 4, 1)), base_values=np.zeros((20, 1)), method="flat")
    >>> q = evaluate(lambda Z: Z @ w, X, {"good": good, "flat": flat}, metrics=["sparseness"], random_state=0)
    >>> q.ranking().index.tolist()
    ['good', 'flat']
    >>> q.pair_names
    ['good vs flat']
    """
    from xaikit.results.quality import QualityReport

    if not isinstance(explanations, Mapping) or not explanations:
        raise InvalidParameterError(f"explanations: expected a dict of method name to explanation, got {describe(explanations)}")
    names = list(explanations)
    for name in names:
        if not isinstance(name, str) or not name:
            raise InvalidParameterError(f"explanations: expected non-empty str method names, got {name!r}")
    if isinstance(metrics, (str, bytes)) or callable(metrics) or not isinstance(metrics, Sequence) or not metrics:
        raise InvalidParameterError(f"metrics: expected a non-empty list of metric names or functions, got {describe(metrics)}")
    resolved = [resolve_metric(m) for m in metrics]
    metric_names = [m for m, _ in resolved]
    if len(set(metric_names)) != len(metric_names):
        raise InvalidParameterError(f"metrics: expected each metric once, got {metric_names}")
    if explainers is None:
        explainers = {}
    if not isinstance(explainers, Mapping):
        raise InvalidParameterError(f"explainers: expected a dict of method name to explainer, got {describe(explainers)}")
    unknown = [e for e in explainers if e not in explanations]
    if unknown:
        raise InvalidParameterError(f"explainers: expected names of explanations {names}, got {unknown[0]!r}")
    extra = dict(metric_params or {})
    for key, value in extra.items():
        if key not in metric_names:
            raise InvalidParameterError(f"metric_params: expected names of the metrics evaluated {metric_names}, got {key!r}")
        if not isinstance(value, Mapping):
            raise InvalidParameterError(f"metric_params[{key!r}]: expected a dict of the metric's settings, got {describe(value)}")
        clash = [p for p in value if p in _OWN]
        if clash:
            raise InvalidParameterError(f"metric_params[{key!r}]: {clash[0]!r} is set by evaluate itself; pass it to evaluate")
    for name, fn in resolved:
        if _needs_explainer(fn):
            missing = [m for m in names if m not in explainers]
            if missing:
                raise InvalidParameterError(
                    f"explainers: the metric {name!r} re-runs the explainer of each explanation; expected an explainer for "
                    f"{missing}, got {sorted(explainers) or 'none'} (pass explainers={{{missing[0]!r}: ...}})"
                )
    n_random = check_int(n_random, "n_random", minimum=1)
    k = check_int(k, "k", minimum=1)
    level = check_level(level)
    root = check_random_state(random_state)
    seeds = root.spawn(len(resolved))

    n_rows = _n_rows(X)
    m_count, k_count = len(resolved), len(names)
    values = np.full((m_count, k_count, n_rows), np.nan)
    floor = np.full((m_count, k_count, n_rows), np.nan)
    runtime = np.zeros((m_count, k_count))
    calls = np.full((m_count, k_count), np.nan)
    directions: list[bool] = []
    for i, (metric, fn) in enumerate(resolved):
        direction: bool | None = None
        for j, method in enumerate(names):
            kwargs: dict[str, Any] = {"target": target, "n_random": n_random, "random_state": seeds[i]}
            if _takes(fn, "batch_size"):
                kwargs["batch_size"] = batch_size
            if method in explainers and _takes(fn, "explainer"):
                kwargs["explainer"] = explainers[method]
            kwargs.update(extra.get(metric, {}))
            start = time.perf_counter()
            scores = fn(model, X, explanations[method], **kwargs)
            runtime[i, j] = time.perf_counter() - start
            _check_scores(scores, metric, method, n_rows)
            values[i, j], floor[i, j] = scores.values, scores.floor
            if isinstance(scores.diagnostics.get("n_model_calls"), (int, np.integer)):
                calls[i, j] = float(scores.diagnostics["n_model_calls"])
            hib = scores.higher_is_better
            if direction is not None and hib != direction:
                raise InvalidParameterError(f"metrics: {metric!r} says higher_is_better={hib} for {method!r} but {direction} before")
            direction = hib
        directions.append(bool(direction))

    pair_names, rho, top = _disagreement(model, X, explanations, target, k, n_rows)
    privacy = [_privacy(explanations[m]) for m in names]
    return QualityReport(
        values=values,
        floor=floor,
        rank_correlation=rho,
        top_k_overlap=top,
        higher_is_better=directions,
        privacy=privacy,
        metric_names=metric_names,
        method_names=names,
        pair_names=pair_names,
        method="evaluate",
        params={"metrics": metric_names, "target": target if target is None or isinstance(target, (int, str)) else str(target),
                "n_random": n_random, "k": k, "level": level,
                "metric_params": {m: {p: _jsonable(v) for p, v in s.items()} for m, s in extra.items()}},
        diagnostics={"runtime_s": runtime, "n_model_calls": calls},
        diagnostic_axes={"runtime_s": "mk", "n_model_calls": "mk"},
    )


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool, type(None))) else repr(value)


def _n_rows(X: Any) -> int:
    from xaikit.explainers.auto import _n_rows as rows_of

    n = rows_of(X)
    if n is None:
        raise InvalidParameterError(f"X: expected the explained rows (an array or DataFrame), got {describe(X)}")
    return n


def _check_scores(scores: Any, metric: str, method: str, n_rows: int) -> None:
    from xaikit.results.metric_scores import MetricScores

    if not isinstance(scores, MetricScores):
        raise InvalidParameterError(f"metrics: expected {metric!r} to return MetricScores, got {describe(scores)} for {method!r}")
    if scores.n_rows != n_rows:
        raise InvalidParameterError(
            f"explanations[{method!r}]: expected one row per row of X ({n_rows}), but {metric!r} scored {scores.n_rows} rows"
        )


def _privacy(explanation: Any) -> str:
    from xaikit.metrics.privacy import raw_rows
    from xaikit.results.base import Result

    if not isinstance(explanation, Result):
        return ""
    found = raw_rows(explanation)
    return "carries " + "; ".join(found.findings) if found.carries else ""


def _disagreement(model: Any, X: Any, explanations: Mapping[str, Any], target: Any, k: int, n_rows: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Disagreement of every pair; NaN for explanations whose rows have their own features (documents, images)."""
    from xaikit.metrics.disagreement import disagreement
    from xaikit.results.ragged import RaggedAttribution

    names = list(explanations)
    pairs = [f"{a} vs {b}" for i, a in enumerate(names) for b in names[i + 1:]]
    if len(names) < 2 or any(isinstance(e, RaggedAttribution) for e in explanations.values()):
        return pairs, np.full((len(pairs), n_rows), np.nan), np.full((len(pairs), n_rows), np.nan)
    predictions = None
    if target is None and any(np.ndim(getattr(e, "values", e)) == 3 and np.shape(getattr(e, "values", e))[2] > 1 for e in explanations.values()):
        from xaikit.models import adapt

        predictions = adapt(model).predict(X)
    pair_names, rho, top = disagreement(explanations, k=k, target=target, predictions=predictions)
    if rho.shape[1] != n_rows:
        raise InvalidParameterError(f"explanations: expected one row per row of X ({n_rows}), got {rho.shape[1]}")
    return pair_names, rho, top
