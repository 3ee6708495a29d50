"""``xaikit.explain``: one call that picks the right explainer."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.explainers.base import REGISTRY, Explainer, get_explainer_class
from xaikit.results import Result

__all__ = ["explain", "choose_method", "shared_values"]

#: Below this many coalitions per feature, antithetic permutations per background row have the
#: lowest error per model evaluation in ``benchmarks/shapley_accuracy.py``; from it up, Leverage
#: SHAP with one regression per background row.
PERMUTATION_BELOW = 5
#: Backgrounds of at most this many rows: Leverage SHAP at every budget from ``2 d`` coalitions.
SMALL_BACKGROUND = 16
#: Backgrounds whose rows agree on at least this share of their feature values (:func:`shared_values`):
#: Leverage SHAP at every budget from ``2 d`` coalitions, whatever their size. A background row's game
#: leaves out the features it shares with the explained row, which regressions per background row
#: exploit and permutations do not. Measured at ``4 d`` coalitions: on the heart-disease data of
#: ``benchmarks/shapley_accuracy.py`` (rows share about a third of their values) Leverage SHAP's error
#: is half the permutations' with 50 and 100 background rows, on German credit (0.43) 0.50x; on the
#: continuous breast-cancer cases (nothing shared) the permutations' is 0.34-0.82x Leverage SHAP's.
SHARED_VALUES = 0.2
#: Coalitions per feature from which ``regression_adjusted_shap`` is taken on a background of fewer
#: than ``CROSS_FIT_REFERENCES`` (32) rows: a surrogate for each background row's game. Measured in
#: ``benchmarks/shapley_accuracy.py`` on 8 and 16 background rows, it has the lowest error from about
#: 11 d coalitions (probability case, 12 features; 5 d on 16 rows) and 17 d (margin case, 30
#: features; 8.5 d on 16 rows), and the heart-disease case from 10 d (8 rows) and 20 d (16 rows); at
#: 43 d on the probability case its error is 4.4 (8 rows) and 2.9 (16 rows) times below Leverage
#: SHAP's (the default budget is 2 d + 2048 coalitions).
SURROGATE_FROM = 16
#: Rows of a background that :func:`shared_values` compares (the first ones).
SHARED_ROWS = 200


def shared_values(data: Any) -> float:
    """The mean share of features on which two distinct rows of ``data`` (an array or DataFrame; its
    first :data:`SHARED_ROWS` rows) hold the same value, missing values counting as equal: 0 for
    continuous features, about a third on the heart-disease data. 0 for fewer than two rows.

    >>> shared_values(np.array([[0.0, 1.0], [0.0, 2.0], [1.0, 3.0]]))  # column 0 agrees in 1 of 3 pairs
    0.16666666666666666
    """
    rows = data.iloc[:SHARED_ROWS] if hasattr(data, "iloc") else data[:SHARED_ROWS]
    table = rows.to_numpy() if hasattr(rows, "to_numpy") else np.asarray(rows)
    if table.ndim != 2 or table.shape[0] < 2 or table.shape[1] == 0:
        return 0.0
    m, d = table.shape
    if table.dtype.kind in "biuf":  # numbers: equal values are neighbours once each column is sorted (NaN last)
        ordered = np.sort(table.astype(np.float64), axis=0)
        new_value = ~((ordered[1:] == ordered[:-1]) | (np.isnan(ordered[1:]) & np.isnan(ordered[:-1])))
        codes = np.cumsum(np.vstack([np.ones((1, d), dtype=bool), new_value]), axis=0) - 1  # each column's value ranks
    else:
        codes = np.empty((m, d), dtype=np.int64)
        for j in range(d):  # each column's values as codes; NaN is one value, as masking treats it
            seen: dict[Any, int] = {}
            for i, value in enumerate(table[:, j]):
                key = "nan" if isinstance(value, float) and value != value else value
                codes[i, j] = seen.setdefault(key, len(seen))
    counts = np.bincount((codes + m * np.arange(d)).ravel())  # rows per value, column after column
    agree = int((counts.astype(np.int64) ** 2).sum()) - m * d  # ordered pairs of distinct rows that agree
    return agree / (m * (m - 1) * d)


def choose_method(n_players: int, n_samples: int | None = None, n_background: int | None = None,
                  shared: float | None = None) -> str:
    """The method ``"auto"`` stands for, given the number of features, the budget, the background size
    and the share of feature values its rows have in common (:func:`shared_values`).

    Exact enumeration when all ``2**d - 2`` coalitions fit in the budget (default
    ``2 d + 2048``) and ``d`` is at most ExactShapley's limit, else the sampled estimator with the
    lowest error per model evaluation in ``benchmarks/shapley_accuracy.py``: on a background of
    fewer than 32 rows, ``regression_adjusted_shap`` from :data:`SURROGATE_FROM` ``d`` coalitions
    per row (a surrogate for each background row's game); on a background of at most
    :data:`SMALL_BACKGROUND` rows, or one whose rows share at least :data:`SHARED_VALUES` of their
    values, ``leverage_shap`` from ``2 d`` coalitions per row (background rows' games, each solved
    with its own efficiency constraint and without the features the row shares with it, beat
    permutations at every budget); otherwise ``permutation_shap`` below ``5 d`` coalitions per row
    and ``leverage_shap`` from there on.

    >>> choose_method(8), choose_method(30), choose_method(30, n_samples=120), choose_method(30, n_samples=10**12)
    ('exact_shapley', 'leverage_shap', 'permutation_shap', 'leverage_shap')
    >>> choose_method(30, n_samples=120, n_background=10), choose_method(30, n_samples=120, n_background=50, shared=0.3)
    ('leverage_shap', 'leverage_shap')
    >>> choose_method(30, n_background=10), choose_method(30, n_background=50)
    ('regression_adjusted_shap', 'leverage_shap')
    """
    from xaikit.explainers.shapley.exact import MAX_EXACT_PLAYERS
    from xaikit.explainers.shapley.kernel import CROSS_FIT_REFERENCES

    if n_background is not None and (isinstance(n_background, bool) or not isinstance(n_background, int) or n_background < 1):
        raise InvalidParameterError(f"n_background: expected a number of background rows (an int >= 1), got {n_background!r}")
    if shared is not None and (isinstance(shared, bool) or not isinstance(shared, (int, float)) or not 0.0 <= shared <= 1.0):
        raise InvalidParameterError(f"shared: expected the share of feature values background rows have in common "
                                    f"(a number in [0, 1]), got {shared!r}")
    budget = 2 * n_players + 2048 if n_samples is None else n_samples
    if n_players <= MAX_EXACT_PLAYERS and 2**n_players - 2 <= budget:
        return "exact_shapley"
    if n_background is not None and n_background < CROSS_FIT_REFERENCES and budget >= SURROGATE_FROM * n_players:
        return "regression_adjusted_shap"
    small = n_background is not None and n_background <= SMALL_BACKGROUND
    if budget >= 2 * n_players and (small or (shared is not None and shared >= SHARED_VALUES)):
        return "leverage_shap"
    if budget < PERMUTATION_BELOW * n_players and budget >= 2 * (n_players - 1):
        return "permutation_shap"
    return "leverage_shap"


_SAMPLING_PARAMS = ("n_samples", "tol", "batch_size")


def _tree_route(model: Any, params: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(output, None)`` when TreeShap explains ``model`` (the output it explains), or ``(None, reason)``
    when a tree model goes the model-agnostic way (``reason`` says why), or ``(None, None)`` for a
    model that is not a tree model.

    TreeShap is exact for a tree model's additive output (its margin): the log-odds of a boosted
    classifier, the probabilities of a forest, the response of a regressor. Other outputs of a
    tree model (the probability of a boosted classifier, the log-odds of a forest) are not additive
    over the trees and go to the model-agnostic estimators.
    """
    from xaikit.errors import UnsupportedModelError
    from xaikit.explainers.trees.tree_shap import resolve_output
    from xaikit.models.trees import tree_ensemble

    try:
        ens = tree_ensemble(model)
    except UnsupportedModelError as exc:
        return None, (f"TreeShap cannot parse this model ({str(exc).removeprefix('model: ')})"
                      if _is_tree_type(model) else None)
    except InvalidParameterError:  # e.g. not fitted: the model adapter says so
        return None, None
    if params.get("masker") is not None or params.get("groups") is not None:
        return None, "TreeShap explains single features; masker= or groups= needs a model-agnostic method"
    output = params.get("output", "auto")
    algorithm = "path_dependent" if params.get("background") is None else "interventional"
    if output == "raw" and ens.transform == "exp":
        return None, ("the model's raw output (its response) is not additive over its trees (exp link); "
                      "TreeShap is exact for its log: output='auto'")
    if output == "raw" and getattr(model, "loss", None) == "exponential":
        return None, ("decision_function of loss='exponential' is half the log-odds; TreeShap is exact for "
                      "the log-odds: output='log_odds'")
    try:
        return resolve_output(output, ens, model, algorithm), None
    except InvalidParameterError:
        reason = _not_additive(output, ens.transform, model)
        if reason is None:
            raise
        return None, reason


def _not_additive(output: str, link: str, model: Any) -> str | None:
    """Why ``output`` of a tree model is not additive over its trees (None: not an output it has)."""
    forest = link == "identity" and getattr(model, "classes_", None) is not None
    if output == "probability" and link == "logistic":
        return ("the probability of a boosted classifier is not additive over its trees (TreeShap is exact for "
                "its log-odds: output='log_odds', the default)")
    if output == "probability" and link == "softmax":
        return ("the class probabilities of a multi-class booster are not additive over its trees (TreeShap is "
                "exact for its per-class margins: output='auto')")
    if output == "log_odds" and forest:
        return ("the log-odds of a forest of classification trees are not additive over its trees (TreeShap is "
                "exact for its probabilities: output='auto')")
    if output == "log_odds" and link == "softmax":
        return ("the per-class log-odds of a multi-class booster are not its margins (TreeShap is exact for the "
                "margins: output='auto')")
    return None


def _is_tree_type(model: Any) -> bool:
    """Whether ``model`` is of a tree model type (of a tree library the parsers know, or a scikit-learn tree
    model), or of a subclass of one: read from the modules of its type's classes, no library imported."""
    from xaikit.models.trees import _PARSERS, _UNREACHABLE

    libraries = {prefix.rstrip(".") for prefix in (*_PARSERS, *_UNREACHABLE)} - {"sklearn"}
    for cls in type(model).__mro__:
        root = cls.__module__.split(".")[0]
        if root in libraries:
            return True
        if root == "sklearn":
            from xaikit.models._trees_sklearn import is_tree_type

            return is_tree_type(model)
    return False


def _n_rows(X: Any) -> int | None:
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 1:
        return int(shape[0])
    try:
        return len(X)
    except TypeError:
        return None


def _warn_fallback(reason: str, method: str, explainer: Any, X: Any, n_samples: int | None) -> None:
    """Warn that a tree model goes the model-agnostic way: why, how and what it costs."""
    import warnings

    from xaikit.errors import ApproximationWarning, XaikitWarning

    k = explainer.masker.n_groups
    m = int(explainer.masker.n_background)
    n = _n_rows(X)
    exact = method == "exact_shapley"
    coalitions = 2**k - 2 if exact else (n_samples if n_samples is not None else explainer._default_n_samples(k))
    rows = "?" if n is None else f"{n:,}"
    total = "" if n is None else f"about {n * coalitions * m:,} model rows: "
    how = ("exact enumeration" if exact else
           "sampled estimates with standard errors (pass n_samples= to trade accuracy for time)")
    warnings.warn(
        f"model: {reason}; explaining it with {method} instead of TreeShap ({how}); expected cost {total}"
        f"{rows} rows x {coalitions:,} coalitions x {m:,} background rows",
        ApproximationWarning if not exact else XaikitWarning,
        stacklevel=3,
    )


def _check_widths(model: Any, X: Any, background: Any) -> None:
    """``X`` and ``background`` against the number of columns the model was fitted on (both named
    when both are wrong: they then agree with each other)."""
    problems = []
    for name, value in (("X", X), ("background", background)):
        if value is None:
            continue
        try:
            model.check_width(value, name)
        except InvalidParameterError as exc:
            problems.append(str(exc))
    if len(problems) == 2:
        raise InvalidParameterError(f"{problems[0]}; {problems[1]}")
    if problems:
        raise InvalidParameterError(problems[0])


def _probe(model: Any, masker: Any, X: Any) -> None:
    """Predict the rows of ``X`` and the background once, as the explainer will, so that a model's own
    exception names the rows of the argument it came from (rows with NaN are left to the explainer,
    which says when the model cannot take missing values)."""
    import numpy as np

    from xaikit.models.base import evaluating

    as_frame = masker.is_frame or model.wants_frame
    Z, encoded = masker.encode(X, "X")
    for name, rows in (("X", Z), ("background", encoded.data)):
        if rows.shape[0] and not np.isnan(rows).any():
            with evaluating(name):
                model.predict(encoded.decode(rows, as_frame=as_frame))


def _split(cls: type[Explainer], params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    init_names = set(inspect.signature(cls).parameters) - {"model"}
    call_names = set(inspect.signature(cls.explain).parameters) - {"self", "X"}
    unknown = set(params) - init_names - call_names
    if unknown:
        raise InvalidParameterError(
            f"{sorted(unknown)[0]}: not a parameter of {cls.__name__}; expected one of {sorted(init_names | call_names)}"
        )
    return {k: v for k, v in params.items() if k in init_names}, {k: v for k, v in params.items() if k in call_names}


def explain(model: Any, X: Any, /, *, method: str = "auto", **params: Any) -> Result:
    """Explain ``model`` on the rows of ``X``.

    Parameters
    ----------
    model : estimator, Pipeline, callable or adapted model
    X : array-like or DataFrame
    method : str
        ``"auto"`` or a registered method (``"exact_shapley"``, ``"kernel_shap"``,
        ``"leverage_shap"``, ``"permutation_shap"``, ``"tree_shap"``...). ``"auto"`` uses
        :class:`TreeShap` for tree ensembles of scikit-learn, XGBoost and LightGBM (interventional
        with a background, path-dependent without) on their additive output: by default the
        log-odds of boosted classifiers, the probabilities of forests, the response of regressors,
        as ``TreeShap(model)``. Other outputs of a tree model (``output="probability"`` of a
        boosted classifier) and other models: exact enumeration when the ``2**d - 2`` coalitions
        fit the budget, else the most accurate sampled estimator; a tree model sent that way gets a
        warning with the reason and the cost. ``diagnostics["value_definition"]`` says which game
        the values belong to, whatever the route.
    **params
        Constructor parameters (``background``, ``output``, ``groups``...) and ``explain``
        parameters (``n_samples``, ``tol``, ``random_state``, ``executor``...).

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> exp = xk.explain(lambda X: X.sum(axis=1), np.ones((2, 3)), background=np.zeros((5, 3)))
    >>> exp.method, exp.values[0, :, 0].tolist()
    ('exact_shapley', [1.0, 1.0, 1.0])
    """
    import xaikit.explainers  # noqa: F401  (fills the registry)

    fallback: str | None = None
    if method == "auto":
        tree_output, fallback = _tree_route(model, params)
        if tree_output is not None:
            params["output"] = tree_output
            method = "tree_shap"
            for name in _SAMPLING_PARAMS:
                params.pop(name, None)
    if method == "auto":
        # build the masker once, here, and hand it to the explainer chosen
        from xaikit.explainers.shapley.base import make_masker
        from xaikit.models import adapt

        model = adapt(model, output=params.pop("output", "auto"))
        _check_widths(model, X, params.get("background"))
        params["masker"] = make_masker(
            model,
            background=params.pop("background", None),
            masker=params.get("masker"),
            feature_names=params.pop("feature_names", None),
            groups=params.pop("groups", None),
        )
        _probe(model, params["masker"], X)
        n_background = getattr(params["masker"], "n_background", None)
        method = choose_method(params["masker"].n_groups, params.get("n_samples"),
                               n_background=None if n_background is None else int(n_background),
                               shared=shared_values(params["masker"].data))
        if method == "exact_shapley":
            params.pop("n_samples", None)
    elif method not in REGISTRY:
        get_explainer_class(method)  # raises with the list of methods
    cls = get_explainer_class(method)
    init_params, call_params = _split(cls, params)
    explainer = cls(model, **init_params)
    if fallback is not None:
        _warn_fallback(fallback, method, explainer, X, call_params.get("n_samples"))
    return explainer.explain(X, **call_params)
