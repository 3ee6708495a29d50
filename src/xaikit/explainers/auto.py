"""``xaikit.explain``: one call that picks the right explainer."""

from __future__ import annotations

import inspect
from typing import Any

from xaikit.errors import InvalidParameterError
from xaikit.explainers.base import REGISTRY, get_explainer_class

__all__ = ["explain", "choose_method"]

#: Below this many coalitions per feature, antithetic permutations per background row have the
#: lowest error per model evaluation in ``benchmarks/shapley_accuracy.py``; from it up, Leverage
#: SHAP with one regression per background row.
PERMUTATION_BELOW = 5


def choose_method(n_players: int, n_samples: int | None = None) -> str:
    """The method ``"auto"`` stands for, given the number of features and the budget.

    Exact enumeration when all ``2**d - 2`` coalitions fit in the budget (default
    ``2 d + 2048``), else the sampled estimator with the lowest error per model evaluation:
    ``permutation_shap`` below ``5 d`` coalitions per row, ``leverage_shap`` from there on.

    >>> choose_method(8), choose_method(30), choose_method(30, n_samples=120)
    ('exact_shapley', 'leverage_shap', 'permutation_shap')
    """
    budget = 2 * n_players + 2048 if n_samples is None else n_samples
    if 2**n_players - 2 <= budget:
        return "exact_shapley"
    if budget < PERMUTATION_BELOW * n_players and budget >= 2 * (n_players - 1):
        return "permutation_shap"
    return "leverage_shap"


_SAMPLING_PARAMS = ("n_samples", "tol", "batch_size")


def _tree_route(model: Any, params: dict[str, Any]) -> tuple[Any, str] | None:
    """The parsed ensemble and ``"raw"`` or ``"probability"`` when TreeShap should explain ``model``.

    TreeShap is exact for the margin and for models whose margin already is the response
    (forests of classification trees, regressors). For a logistic or exp link on the probability
    scale it rescales margin values, so exact enumeration is preferred while it is affordable.
    """
    from xaikit.errors import UnsupportedModelError
    from xaikit.models.trees import tree_ensemble

    if params.get("masker") is not None or params.get("groups") is not None:
        return None
    try:
        ens = tree_ensemble(model)
    except (UnsupportedModelError, InvalidParameterError):
        return None
    output = params.get("output", "auto")
    if output == "log_odds":  # the margin is the log-odds only for a logistic link
        return (ens, "raw") if ens.transform == "logistic" else None
    if ens.transform == "identity" or output == "raw":
        return ens, "raw"
    if output not in ("auto", "probability") or ens.transform == "softmax" or params.get("background") is None:
        return None
    if 2**ens.n_features - 2 <= (params.get("n_samples") or 2 * ens.n_features + 2048):
        return None  # exact enumeration of the probability game is affordable
    return ens, "probability"


def _split(cls: type, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    init_names = set(inspect.signature(cls.__init__).parameters) - {"self", "model"}
    call_names = set(inspect.signature(cls.explain).parameters) - {"self", "X"}
    unknown = set(params) - init_names - call_names
    if unknown:
        raise InvalidParameterError(
            f"{sorted(unknown)[0]}: not a parameter of {cls.__name__}; expected one of {sorted(init_names | call_names)}"
        )
    return {k: v for k, v in params.items() if k in init_names}, {k: v for k, v in params.items() if k in call_names}


def explain(model: Any, X: Any, /, *, method: str = "auto", **params: Any) -> Any:
    """Explain ``model`` on the rows of ``X``.

    Parameters
    ----------
    model : estimator, Pipeline, callable or adapted model
    X : array-like or DataFrame
    method : str
        ``"auto"`` or a registered method (``"exact_shapley"``, ``"kernel_shap"``,
        ``"leverage_shap"``, ``"permutation_shap"``, ``"tree_shap"``...). ``"auto"`` uses
        :class:`TreeShap` for tree ensembles of scikit-learn, XGBoost and LightGBM (interventional
        with a background, path-dependent without), except for a probability output of a
        boosted classifier with few features, which is enumerated exactly; for other models it
        enumerates exactly when the budget allows, else uses the most accurate sampled estimator.
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

    route = _tree_route(model, params) if method == "auto" else None
    if route is not None:
        params["output"] = route[1]
        method = "tree_shap"
        for name in _SAMPLING_PARAMS:
            params.pop(name, None)
    elif method == "auto":
        # build the masker once, here, and hand it to the explainer chosen
        from xaikit.explainers._shapley_base import make_masker
        from xaikit.models import adapt

        model = adapt(model, output=params.pop("output", "auto"))
        params["masker"] = make_masker(
            model,
            background=params.pop("background", None),
            masker=params.get("masker"),
            feature_names=params.pop("feature_names", None),
            groups=params.pop("groups", None),
        )
        method = choose_method(params["masker"].n_groups, params.get("n_samples"))
        if method == "exact_shapley":
            params.pop("n_samples", None)
    elif method not in REGISTRY:
        get_explainer_class(method)  # raises with the list of methods
    cls = get_explainer_class(method)
    init_params, call_params = _split(cls, params)
    return cls(model, **init_params).explain(X, **call_params)
