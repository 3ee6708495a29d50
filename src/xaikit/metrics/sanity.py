"""Sanity checks of explanations (Adebayo et al. 2018): does the explanation change when the model does?

Each check explains ``X`` with the model and with a randomised model (the same explainer, made by
``explainer_factory``, the same seed), and scores each row by the similarity of the two explanations:
the Spearman rank correlation of ``|phi|``. An explanation that tracks the model becomes dissimilar
(low values: lower is better); one that ignores the model (an edge detector, the input itself) stays
similar. A row passes when its similarity is below ``threshold`` (default 0.5):
``diagnostics["passed"]`` (per row) and ``diagnostics["pass_rate"]``.

* :func:`parameter_randomisation`: torch and Keras networks with their layers re-initialised
  (cascading from the top, or one at a time);
* :func:`label_randomisation`: any scikit-learn-style model, cloned and refitted on permuted labels;
* :func:`data_randomisation`: cloned and refitted on randomised features (each column permuted, or noise).

The noise floor is the similarity of the explanation with a random permutation of its own values
(about 0: what a completely different explanation gets).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from xaikit._validation import check_array, check_batch, check_choice, check_float, check_int, check_random_state, describe, spawn_seeds
from xaikit.errors import InvalidParameterError, UnsupportedModelError

__all__ = ["data_randomisation", "label_randomisation", "parameter_randomisation"]


def _explain(factory: Callable[[Any], Any], model: Any, X: Any, target: Any, seed: np.random.SeedSequence, extra: dict[str, Any],
             cols: np.ndarray | None) -> Any:
    """The explanation ``factory(model)`` gives of ``X`` (an Attribution, or an array (n, d)); a gradient
    explainer with ``target`` None explains the outputs ``cols`` (the original model's predictions)."""
    from xaikit.explainers.gradients.base import GradientExplainer

    explainer = factory(model)
    if not callable(getattr(explainer, "explain", None)):
        raise InvalidParameterError(f"explainer_factory: expected a function of a model returning an explainer, got one returning {describe(explainer)}")
    kwargs = dict(extra, random_state=seed)
    if target is not None:
        kwargs["target"] = target
    elif cols is not None and isinstance(explainer, GradientExplainer):
        kwargs["target"] = cols
    return explainer.explain(X, **kwargs)


def _columns(exp: Any, target: Any, cols: np.ndarray | None) -> np.ndarray:
    """The attribution ``(n, d)`` of the output scored: ``target`` when the explanation has it, else the
    per-row outputs ``cols`` (a single-output explanation is its own)."""
    from xaikit.metrics.complexity import explained_values
    from xaikit.results.attribution import Attribution

    if not isinstance(exp, Attribution):
        return explained_values(exp)[0]
    V = np.asarray(exp.values, dtype=np.float64)
    if V.shape[2] == 1:
        return V[:, :, 0]
    if target is not None:
        return explained_values(exp, target=target)[0]
    if cols is None or V.shape[2] <= int(cols.max()):
        raise InvalidParameterError(f"target: expected the output to compare (one of {list(exp.output_names)}), got None")
    return V[np.arange(len(V)), :, cols]


def spearman_abs(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The Spearman rank correlation of ``|A[i]|`` and ``|B[i]|`` for each row (NaN where one is constant).

    >>> spearman_abs(np.array([[1.0, -2.0, 3.0]]), np.array([[0.1, 0.2, -0.3]])).tolist()
    [1.0]
    """
    from xaikit.metrics.disagreement import spearman_rows

    return spearman_rows(np.abs(A), np.abs(B))


def _check(
    name: str,
    explain_model: Callable[[Any, np.ndarray | None], Any],
    models: list[tuple[str, Any]],
    model: Any,
    X: Any,
    target: Any,
    threshold: float,
    n_random: int,
    seed: np.random.SeedSequence,
    combine: str,
    settings: dict[str, Any],
    start: float,
) -> Any:
    """Explain with ``model`` and each randomised model, compare, and make the MetricScores."""
    from xaikit.metrics.robustness import _permutations
    from xaikit.models import adapt
    from xaikit.results.metric_scores import MetricScores

    P = adapt(model).predict(X) if target is None else None
    cols = None if P is None or P.shape[1] < 2 else np.argmax(P, axis=1)
    original = explain_model(model, cols)
    phi = _columns(original, target, cols)
    sims = []
    for _, randomised in models:
        other = _columns(explain_model(randomised, cols), target, cols)
        if other.shape != phi.shape:
            raise InvalidParameterError(f"explainer_factory: expected explanations of shape {phi.shape} for every model, got {other.shape}")
        sims.append(spearman_abs(phi, other))
    curves = np.stack(sims, axis=1)
    values = curves[:, -1] if combine == "last" else curves.max(axis=1)
    perms = _permutations(spawn_seeds(seed, 2)[1], phi, n_random, 1)[:, :, 0]  # (n, n_random, d)
    floor = spearman_abs(np.broadcast_to(phi[:, None], perms.shape), perms).mean(axis=1)
    passed = values < threshold
    defined = np.isfinite(values)
    return MetricScores(
        values=values,
        floor=floor,
        curves=curves if len(models) > 1 else None,
        method=name,
        params={"metric": name, "higher_is_better": False, "similarity": "spearman of |phi|", "threshold": threshold,
                "target": target, "n_random": n_random, "floor": "random permutations of the row's attribution", **settings},
        diagnostics={"passed": passed & defined, "pass_rate": float(passed[defined].mean()) if defined.any() else float("nan"),
                     "randomised": [m for m, _ in models], "seed": str(seed.entropy), "runtime_s": time.perf_counter() - start},
        diagnostic_axes={"passed": "n"},
    )


def _common(explainer_factory: Any, threshold: Any, n_random: Any, explain_params: Any) -> tuple[float, int, dict[str, Any]]:
    if not callable(explainer_factory):
        raise InvalidParameterError(
            f"explainer_factory: expected a function model -> explainer (e.g. lambda m: xk.TreeShap(m)), got {describe(explainer_factory)}"
        )
    threshold = check_float(threshold, "threshold")
    if not -1.0 <= threshold <= 1.0:
        raise InvalidParameterError(f"threshold: expected a similarity in [-1, 1], got {describe(threshold)}")
    from xaikit.explainers.adversarial.robustness import check_explain_params

    return threshold, check_int(n_random, "n_random", minimum=1), check_explain_params(explain_params)


def parameter_randomisation(
    model: Any,
    X: Any,
    explainer_factory: Callable[[Any], Any],
    *,
    layers: str = "cascading",
    threshold: float = 0.5,
    explain_params: Mapping[str, Any] | None = None,
    target: Any = None,
    n_random: int = 10,
    batch_size: int | None = None,
    random_state: Any = None,
) -> Any:
    """Model-parameter randomisation (Adebayo et al. 2018) of a torch or Keras network.

    The layers holding weights are re-initialised from the top (the output side) down: with
    ``layers="cascading"`` step ``k`` has the top ``k`` layers re-initialised, with ``"independent"``
    only the ``k``-th from the top. ``curves[:, k]`` is each row's similarity (Spearman of ``|phi|``)
    between the explanation of the network and that of step ``k``; the value is the similarity once
    every layer is re-initialised (cascading) or the largest over the layers (independent: the layer
    whose randomisation changes the explanation least). Lower is better; a row passes below ``threshold``.

    Parameters
    ----------
    model : torch.nn.Module or keras.Model (raw or adapted)
    X : array-like (n, ...)
    explainer_factory : callable
        ``model -> explainer``, called with the network and with each randomised copy (e.g. ``lambda m: xk.Saliency(m)``).
    layers : {"cascading", "independent"}
    threshold : float
        The similarity below which a row passes (``diagnostics["passed"]``).
    explain_params : dict, optional
        Further arguments of every ``explain`` call.
    target : int or str, optional
        The output explained (passed to ``explain``); default the single output, else each row's
        predicted output of the network.
    n_random : int
        Random permutations per row for the floor.
    batch_size : int, optional
        Unused (the explainer batches its own calls).
    random_state : int, numpy Generator or SeedSequence, optional
        Seeds the re-initialisations and every ``explain`` call.

    Returns
    -------
    MetricScores
        ``curves`` (n, n_layers) when the network has several weight layers; ``diagnostics["randomised"]``
        names the layers, from the top.

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    >>> X = np.random.default_rng(0).normal(size=(3, 6))
    >>> s = parameter_randomisation(net, X, lambda m: xk.Saliency(m), random_state=0)
    >>> s.curves.shape, s.diagnostics["randomised"]
    ((3, 2), ['2', '0'])
    """
    from xaikit.models._randomize import randomized_copies

    start = time.perf_counter()
    threshold, n_random, extra = _common(explainer_factory, threshold, n_random, explain_params)
    check_choice(layers, "layers", ("cascading", "independent"))
    seed = check_random_state(random_state)
    X0 = check_batch(X, "X")
    explain_seed, init_seed = spawn_seeds(seed, 2)
    entropy = int(init_seed.generate_state(1)[0])
    models = randomized_copies(model, layers=layers, seed=entropy)

    def explain_model(m: Any, cols: np.ndarray | None) -> Any:
        return _explain(explainer_factory, m, X0, target, explain_seed, extra, cols)

    network = getattr(model, "module", None) or getattr(model, "model", None) or model
    return _check("parameter_randomisation", explain_model, models, network, X0, target, threshold, n_random, seed,
                  "last" if layers == "cascading" else "max", {"layers": layers}, start)


def _clone(model: Any) -> Any:
    try:
        from sklearn.base import clone

        return clone(model)
    except Exception as exc:  # noqa: BLE001 - any failure to clone is the model's
        raise UnsupportedModelError(
            f"model: expected a scikit-learn-style estimator that sklearn.base.clone copies (get_params), got {describe(model)}: {exc}"
        ) from exc


def _refit_check(name: str, model: Any, X: Any, y: Any, explainer_factory: Any, X_fit: np.ndarray, y_fit: np.ndarray,
                 target: Any, threshold: float, n_random: int, extra: dict[str, Any], seed: np.random.SeedSequence,
                 settings: dict[str, Any], start: float) -> Any:
    randomised = _clone(model)
    fit = getattr(randomised, "fit", None)
    if not callable(fit):
        raise UnsupportedModelError(f"model: expected an estimator with fit, got {describe(model)}")
    try:
        import pandas as pd

        frame = X_fit if not isinstance(X, pd.DataFrame) else pd.DataFrame(X_fit, columns=X.columns, index=X.index)
    except ImportError:  # pragma: no cover - pandas comes with scikit-learn
        frame = X_fit
    fit(frame, y_fit)
    explain_seed = spawn_seeds(seed, 3)[2]

    def explain_model(m: Any, cols: np.ndarray | None) -> Any:
        return _explain(explainer_factory, m, X, target, explain_seed, extra, cols)

    return _check(name, explain_model, [("refitted", randomised)], model, X, target, threshold, n_random, seed, "last", settings, start)


def _data(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X0 = check_array(X, "X")
    y0 = np.asarray(y)
    if y0.ndim != 1 or len(y0) != len(X0):
        raise InvalidParameterError(f"y: expected {len(X0)} labels (one per row of X), got {describe(y)}")
    return X0, y0


def label_randomisation(
    model: Any,
    X: Any,
    y: Any,
    explainer_factory: Callable[[Any], Any],
    *,
    threshold: float = 0.5,
    explain_params: Mapping[str, Any] | None = None,
    target: Any = None,
    n_random: int = 10,
    batch_size: int | None = None,
    random_state: Any = None,
) -> Any:
    """Label randomisation with refitting (Adebayo et al. 2018's data randomisation test) for any
    scikit-learn-style model.

    ``model`` (fitted) is cloned (``sklearn.base.clone``) and the clone fitted on ``X`` with ``y``
    permuted at random: a model with the same hyperparameters that learnt nothing true. Both explain
    ``X`` with the same explainer and seed; a row's value is the Spearman rank correlation of the two
    ``|phi|``. Lower is better; a row passes below ``threshold``.

    Parameters
    ----------
    model : a fitted scikit-learn-style estimator (``get_params``, ``fit``)
    X : array-like or DataFrame (n, d)
        The data the clone is fitted on and the rows explained.
    y : array-like (n,)
        The labels, permuted for the clone.
    explainer_factory : callable
        ``model -> explainer`` (e.g. ``lambda m: xk.TreeShap(m)``).
    threshold, explain_params, target, n_random, batch_size, random_state
        As for :func:`parameter_randomisation`.

    Returns
    -------
    MetricScores

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> rng = np.random.default_rng(0); X = rng.normal(size=(200, 6)); y = X @ np.array([8.0, 4.0, 2.0, 1.0, 0.5, 0.0])
    >>> tree = DecisionTreeRegressor(max_depth=6, random_state=0).fit(X, y)
    >>> s = label_randomisation(tree, X[:20], y[:20], lambda m: xk.TreeShap(m), random_state=0)
    >>> s.params["threshold"], s.diagnostics["passed"].shape
    (0.5, (20,))
    """
    start = time.perf_counter()
    threshold, n_random, extra = _common(explainer_factory, threshold, n_random, explain_params)
    X0, y0 = _data(X, y)
    seed = check_random_state(random_state)
    rng = np.random.default_rng(spawn_seeds(seed, 1)[0])
    return _refit_check("label_randomisation", model, X, y0, explainer_factory, X0, y0[rng.permutation(len(y0))], target,
                        threshold, n_random, extra, seed, {}, start)


def data_randomisation(
    model: Any,
    X: Any,
    y: Any,
    explainer_factory: Callable[[Any], Any],
    *,
    how: str = "permute",
    threshold: float = 0.5,
    explain_params: Mapping[str, Any] | None = None,
    target: Any = None,
    n_random: int = 10,
    batch_size: int | None = None,
    random_state: Any = None,
) -> Any:
    """Data randomisation with refitting, for any scikit-learn-style model.

    ``model`` is cloned and the clone fitted on randomised features with the true labels:
    ``how="permute"`` permutes each column of ``X`` on its own (each feature keeps its values, none its
    relation to ``y`` or to the other features); ``how="noise"`` draws normal values with each column's mean
    and standard deviation. Both models explain the real ``X``; a row's value is the Spearman rank
    correlation of the two ``|phi|``. Lower is better; a row passes below ``threshold``. Other parameters
    as :func:`label_randomisation` (``X`` numeric).

    Returns
    -------
    MetricScores

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(0); X = rng.normal(size=(100, 5)); y = X @ np.array([5.0, 3.0, 1.0, 0.3, 0.1])
    >>> lin = LinearRegression().fit(X, y)
    >>> s = data_randomisation(lin, X[:10], y[:10], lambda m: xk.ExactShapley(m, background=X[:5]), how="noise", random_state=0)
    >>> s.metric, s.higher_is_better
    ('data_randomisation', False)
    """
    start = time.perf_counter()
    threshold, n_random, extra = _common(explainer_factory, threshold, n_random, explain_params)
    check_choice(how, "how", ("permute", "noise"))
    X0, y0 = _data(X, y)
    seed = check_random_state(random_state)
    rng = np.random.default_rng(spawn_seeds(seed, 1)[0])
    if how == "permute":
        fit = rng.permuted(X0, axis=0)
    else:
        fit = rng.normal(X0.mean(axis=0), X0.std(axis=0), size=X0.shape)
    return _refit_check("data_randomisation", model, X, y0, explainer_factory, fit, y0, target, threshold, n_random, extra,
                        seed, {"how": how}, start)
