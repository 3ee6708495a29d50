"""Parse NGBoost models into a :class:`~xaikit.models.trees.TreeEnsemble`: one output per distribution parameter.

NGBoost (``NGBRegressor``, ``NGBClassifier``, ``NGBSurvival`` and its base ``NGBoost``) boosts the parameters of a
distribution: for each iteration ``i`` and parameter ``k`` it fits a base learner ``base_models[i][k]`` on the
columns ``col_idxs[i]``, and its ``pred_param(X)`` is ``init_params[k] - learning_rate * sum_i scalings[i] *
base_models[i][k].predict(X[:, col_idxs[i]])``. With scikit-learn regression trees as base learners (NGBoost's
default, ``DecisionTreeRegressor(max_depth=3)``) that sum is a tree ensemble: the parser folds ``-learning_rate *
scalings[i]`` into the leaves, ``init_params`` into ``base_offset`` and ``col_idxs`` into the split features. Other
base learners (linear models, ...) are refused by name.

The outputs are the distribution's *internal* parameters, as ``pred_param`` gives them (the ensemble's ``scale``
says so): for ``Normal`` the mean and the log of the standard deviation (``"loc"``, ``"log_scale"``), for a
``k_categorical`` classifier the logits of classes 1..K-1 against class 0 (named ``"logit(c)"``; a binary
classifier's one logit has the logistic transform, so its response is ``predict_proba[:, 1]``), ``"param{k}"``
otherwise. This is what shap's ``TreeExplainer(model, model_output=k)`` explains for parameter ``k``.

Trees compare in float32 and route NaN as scikit-learn's trees do (see :mod:`xaikit.models._trees_sklearn`).

Examples
--------
>>> import numpy as np, pytest
>>> ngboost = pytest.importorskip("ngboost")
>>> X = np.random.default_rng(0).normal(size=(60, 2)); y = X[:, 0] + 0.1 * X[:, 1]
>>> model = ngboost.NGBRegressor(n_estimators=5, verbose=False).fit(X, y)
>>> ens = from_ngboost(model)
>>> ens.n_trees, ens.output_names
(10, ['loc', 'log_scale'])
>>> bool(np.allclose(ens.predict_raw(X), model.pred_param(X), rtol=0, atol=1e-12))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.models._trees_sklearn import _Builder, _sklearn_tree
from xaikit.models.trees import TreeEnsemble

__all__ = ["from_ngboost"]

#: Names of the internal parameters of NGBoost's distributions whose parametrisation is known.
_PARAMETER_NAMES = {"Normal": ["loc", "log_scale"], "Laplace": ["loc", "log_scale"], "Cauchy": ["loc", "log_scale"],
                    "Exponential": ["log_scale"], "Poisson": ["log_mu"]}


def _type_name(obj: Any) -> str:
    return f"{type(obj).__module__.split('.')[0]}.{type(obj).__qualname__}"


def from_ngboost(model: Any) -> TreeEnsemble:
    """Parse a fitted NGBoost model whose base learners are scikit-learn regression trees."""
    name = type(model).__qualname__
    base_models = getattr(model, "base_models", None)
    if not base_models:
        raise InvalidParameterError(f"model: expected a fitted {name}, got an unfitted one; call fit first")
    from sklearn.tree import DecisionTreeRegressor, ExtraTreeRegressor

    n_params = len(base_models[0])
    builder = _Builder(n_params)
    lr = float(model.learning_rate)
    n_features = getattr(model, "n_features", None)
    if not isinstance(n_features, (int, np.integer)) or n_features < 1:
        raise InvalidParameterError(f"model: expected an {name} that records its number of features, got {n_features!r}")
    for i, (learners, s, cols) in enumerate(zip(base_models, model.scalings, model.col_idxs, strict=True)):
        for k, learner in enumerate(learners):
            if not isinstance(learner, (DecisionTreeRegressor, ExtraTreeRegressor)):
                raise UnsupportedModelError(
                    f"model: expected an {name} whose base learners are scikit-learn regression trees, got "
                    f"{_type_name(learner)} (iteration {i}, parameter {k}): only tree base learners make a tree ensemble"
                )
            tree = learner.tree_
            value = np.zeros((tree.node_count, n_params))
            value[:, k] = -lr * float(s) * np.asarray(tree.value, dtype=np.float64)[:, 0, 0]
            _sklearn_tree(builder, tree, value, feature_map=np.asarray(cols, dtype=np.int64))
    dist = getattr(model, "Dist", None)
    dist_name = getattr(dist, "__name__", "")
    classes = getattr(model, "classes_", None)
    transform = "identity"
    if classes is not None and hasattr(dist, "class_probs"):
        labels = [str(c) for c in np.asarray(classes).tolist()]
        names = [f"logit({c})" for c in labels[1:]]
        if n_params == 1:
            transform, names = "logistic", labels[1:]
    else:
        names = _PARAMETER_NAMES.get(dist_name, [f"param{k}" for k in range(n_params)])
        if len(names) != n_params:
            names = [f"param{k}" for k in range(n_params)]
    scale = (f"the internal parameters of NGBoost's {dist_name or 'distribution'} (pred_param), one output per "
             f"parameter: {', '.join(names)}")
    if transform == "logistic":
        scale = f"the log-odds of class {names[0]} (NGBoost's Bernoulli logit, pred_param)"
    return builder.build(n_features=int(n_features), base_offset=np.asarray(model.init_params, dtype=np.float64),
                         input_float32=True, strict=False, transform=transform, library=f"ngboost.{name}",
                         output_names=names, scale=scale)
