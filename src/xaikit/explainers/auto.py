"""``xaikit.explain``: one call that picks the right explainer."""

from __future__ import annotations

import inspect
from typing import Any

from xaikit.errors import InvalidParameterError
from xaikit.explainers.base import REGISTRY, get_explainer_class

__all__ = ["explain", "choose_method"]

#: The sampled Shapley estimator with the lowest error per model evaluation in
#: ``benchmarks/shapley_accuracy.py``.
BEST_SAMPLED = "regression_adjusted_shap"


def choose_method(n_players: int, n_samples: int | None = None) -> str:
    """The method ``"auto"`` stands for, given the number of features and the budget.

    Exact enumeration when all ``2**d - 2`` coalitions fit in the budget (default
    ``2 d + 2048``), else the most accurate sampled estimator.

    >>> choose_method(8), choose_method(30)
    ('exact_shapley', 'regression_adjusted_shap')
    """
    budget = 2 * n_players + 2048 if n_samples is None else n_samples
    if 2**n_players - 2 <= budget:
        return "exact_shapley"
    return BEST_SAMPLED


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
        ``"leverage_shap"``, ``"permutation_shap"``). ``"auto"`` enumerates exactly when the
        budget allows, else uses the most accurate sampled estimator.
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

    if method == "auto":
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
