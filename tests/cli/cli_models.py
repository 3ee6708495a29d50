"""Shared names of the CLI tests, and model classes defined outside any library (so skops does not trust
them, and pickles refer to this module)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LinearRegression

COLUMNS = ["a", "b", "c", "d"]


class ShiftedRegression(LinearRegression):
    """A LinearRegression whose type skops does not know."""


class Exploding:
    """A scikit-learn style regressor whose predict raises."""

    def fit(self, X: Any, y: Any) -> Exploding:
        self.n_features_in_ = np.shape(X)[1]
        return self

    def predict(self, X: Any) -> np.ndarray:
        raise RuntimeError("boom")
