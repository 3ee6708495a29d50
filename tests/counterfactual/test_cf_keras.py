"""Counterfactuals by gradient search on a Keras model: the closed form of a linear decision boundary."""

from __future__ import annotations

import numpy as np
import pytest

from xaikit.explainers.counterfactual import Counterfactuals


def test_gradient_on_keras_matches_the_closed_form() -> None:
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 3)) * np.array([2.0, 1.0, 0.5])
    w, b = np.array([0.5, -1.5, 3.0]), 0.2
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.layers[-1].set_weights([np.stack([np.zeros(3), w], axis=1).astype("float32"), np.array([0.0, b], dtype="float32")])
    rows = X[:4]
    cf = Counterfactuals(model, data=X, n=2, plausibility_weight=0.0, method="gradient").explain(rows, random_state=0)
    mad = np.median(np.abs(X - np.median(X, axis=0)), axis=0)
    closed = np.abs(rows @ w + b) / np.max(np.abs(w) * mad)
    best = np.where(cf.valid, cf.distance, np.inf).min(axis=1)
    # float32 weights: the boundary itself is known to about 1e-6 relative, the search finds it to 2**-20 of the move
    np.testing.assert_allclose(best, closed, rtol=1e-4)
    assert cf.valid.any(axis=1).all()
