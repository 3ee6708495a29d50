"""The contract case of :class:`~xaikit.explainers.rules.anchors.Anchors`: a classifier of five features
(its decision is whether feature 0 is above 0.5), 300 training rows, three rows explained."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit.testing.cases import Case

__all__ = ["anchors_case", "threshold_classifier"]


def threshold_classifier(X: Any) -> np.ndarray:
    """Two class scores of five features: class 1 when feature 0 is above 0.5 (picklable).

    >>> threshold_classifier(np.array([[0.7, 0, 0, 0, 0]])).tolist()
    [[0.0, 1.0]]
    """
    X = np.asarray(X, dtype=np.float64)
    above = (X[:, 0] > 0.5).astype(np.float64)
    return np.stack([1.0 - above, above], axis=1)


def anchors_case(cls: Any) -> Case:
    """A case for ``cls`` (Anchors): ``cls(model, data=train)`` on three rows, five named features."""
    rng = np.random.default_rng(3)
    train = rng.random((300, 5))
    X = rng.random((3, 5))
    return Case(
        make=lambda model: cls(model, data=train, coverage_samples=200), model=threshold_classifier, X=X,
        feature_names=[f"x{j}" for j in range(5)], fixed_width=True, n_features=5,
    )
