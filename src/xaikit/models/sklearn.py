"""Adapter for scikit-learn estimators and anything that follows their API.

Pipelines and ColumnTransformers fitted on pandas DataFrames (with categorical columns)
receive DataFrames with the same columns and dtypes; see :mod:`xaikit.maskers.tabular`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import check_choice
from xaikit.errors import InvalidParameterError, ModelOutputError, UnsupportedModelError
from xaikit.models.base import OUTPUTS, AdaptedModel

__all__ = ["SklearnModel", "is_sklearn_like"]


def is_sklearn_like(model: Any) -> bool:
    """Whether ``model`` offers the scikit-learn prediction API (``predict`` or ``predict_proba``)."""
    return callable(getattr(model, "predict_proba", None)) or callable(getattr(model, "predict", None))


def _is_classifier(model: Any) -> bool:
    has_scores = callable(getattr(model, "predict_proba", None)) or callable(getattr(model, "decision_function", None))
    return has_scores and hasattr(model, "classes_")


class SklearnModel(AdaptedModel):
    """A fitted scikit-learn style estimator (classifier, regressor or Pipeline).

    Parameters
    ----------
    estimator : fitted estimator
    output : {"auto", "probability", "log_odds", "raw"}
        For a classifier, ``"auto"`` means ``"probability"`` (``predict_proba``, one output per
        class); ``"log_odds"`` is ``log(p / (1 - p))`` per class; ``"raw"`` is
        ``decision_function`` (one output for a binary classifier). For a regressor only
        ``"raw"`` (``predict``) applies.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> m = SklearnModel(LogisticRegression().fit(X, y))
    >>> m.predict(X).shape, m.output, m.output_names
    ((4, 2), 'probability', ['0', '1'])
    """

    def __init__(self, estimator: Any, *, output: str = "auto") -> None:
        super().__init__()
        check_choice(output, "output", OUTPUTS)
        if not is_sklearn_like(estimator):
            raise UnsupportedModelError(
                f"model: expected an estimator with predict or predict_proba, got {type(estimator).__name__}"
            )
        self.estimator = estimator
        self.is_classifier = _is_classifier(estimator)
        names = getattr(estimator, "feature_names_in_", None)
        self.feature_names_in = [str(c) for c in names] if names is not None else None
        self.wants_frame = self.feature_names_in is not None
        classes = [str(c) for c in getattr(estimator, "classes_", [])]
        if self.is_classifier:
            has_proba = callable(getattr(estimator, "predict_proba", None))
            if output == "auto":
                output = "probability" if has_proba else "raw"
            if output in ("probability", "log_odds") and not has_proba:
                raise InvalidParameterError(
                    f"output: {output!r} needs predict_proba, which {type(estimator).__name__} lacks; use output='raw'"
                )
            self.output = output
            if self.output == "raw":
                if not callable(getattr(estimator, "decision_function", None)):
                    raise InvalidParameterError(
                        f"output: 'raw' needs decision_function, which {type(estimator).__name__} lacks; "
                        "use output='probability' or 'log_odds'"
                    )
                self._output_names = classes[1:] if len(classes) == 2 else classes
            else:
                self._output_names = classes
        else:
            if output in ("probability", "log_odds"):
                raise InvalidParameterError(
                    f"output: {output!r} needs a classifier with predict_proba and classes_, "
                    f"but {type(estimator).__name__} is a regressor; use output='raw'"
                )
            self.output = "raw"
            self._output_names = None

    def _predict(self, X: Any) -> Any:
        est = self.estimator
        if not self.is_classifier:
            return est.predict(X)
        if self.output == "raw":
            return est.decision_function(X)
        p = np.asarray(est.predict_proba(X), dtype=np.float64)
        if self.output == "probability":
            return p
        with np.errstate(divide="ignore"):
            logit = np.log(p) - np.log1p(-p)
        if not np.isfinite(logit).all():
            raise ModelOutputError(
                "the model returned probabilities of exactly 0 or 1, whose log-odds are infinite; "
                "use output='probability', or output='raw' when the model has decision_function"
            )
        return logit

    def describe(self) -> str:
        return type(self.estimator).__name__
