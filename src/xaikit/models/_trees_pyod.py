"""Parse pyod's isolation forest (``pyod.models.iforest.IForest``) into a :class:`~xaikit.models.trees.TreeEnsemble`.

``IForest`` wraps a scikit-learn ``IsolationForest`` (its fitted ``detector_``), parsed as scikit-learn's
(:mod:`xaikit.models._trees_sklearn`): the raw output is the average path length ``E[h(x)]`` over the trees,
the quantity shap explains for isolation forests. pyod's outlier score is a decreasing function of it:
``decision_function(X) = 2 ** (-E[h(x)] / c(max_samples)) + detector_.offset_`` (higher is more abnormal),
so a feature that lowers the path length raises the score; the ensemble's ``scale`` says so. pyod's other
detectors hold no trees that TreeSHAP can read and are refused by name.

Examples
--------
>>> import numpy as np, pytest
>>> iforest = pytest.importorskip("pyod.models.iforest")
>>> X = np.random.default_rng(0).normal(size=(50, 3))
>>> model = iforest.IForest(n_estimators=5, random_state=0).fit(X)
>>> ens = from_pyod(model)
>>> ens.library, ens.n_trees
('pyod.IForest', 5)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.models._trees_sklearn import from_sklearn
from xaikit.models.trees import TreeEnsemble

__all__ = ["from_pyod"]


def from_pyod(model: Any) -> TreeEnsemble:
    """Parse a fitted ``pyod.models.iforest.IForest`` (its scikit-learn ``IsolationForest``)."""
    name = type(model).__qualname__
    if not any(c.__name__ == "IForest" and c.__module__.startswith("pyod.") for c in type(model).__mro__):
        raise UnsupportedModelError(
            f"model: expected pyod's IForest (the one pyod detector made of trees), got pyod's {name}: "
            "its trees, if any, are not reachable by TreeSHAP; explain it with a model-agnostic method "
            "(xk.explain(model.decision_function, X, background=...))"
        )
    detector = getattr(model, "detector_", None)
    if detector is None:
        raise InvalidParameterError(f"model: expected a fitted {name}, got an unfitted one; call fit first")
    ens = from_sklearn(detector)
    return dataclasses.replace(
        ens, library=f"pyod.{name}",
        scale=("the average path length E[h(x)] of the IsolationForest inside (detector_); pyod's decision_function "
               "is 2 ** (-E[h(x)] / c(max_samples)) + offset_, a decreasing function of it"),
    )
