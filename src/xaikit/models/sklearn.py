"""Adapter for scikit-learn estimators and anything that follows their API.

Pipelines and ColumnTransformers fitted on pandas DataFrames (with categorical columns)
receive DataFrames with the same columns and dtypes; see :mod:`xaikit.maskers.tabular`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import check_choice
from xaikit.errors import InvalidParameterError, ModelOutputError, UnsupportedModelError
from xaikit.models.base import OUTPUTS, AdaptedModel, _current_context

__all__ = ["BoosterModel", "SklearnModel", "is_booster", "is_sklearn_like"]


def is_sklearn_like(model: Any) -> bool:
    """Whether ``model`` offers the scikit-learn prediction API (``predict`` or ``predict_proba``)."""
    return callable(getattr(model, "predict_proba", None)) or callable(getattr(model, "predict", None))


def _check_fitted(estimator: Any) -> None:
    """Raise :class:`InvalidParameterError` naming ``model`` when scikit-learn says ``estimator`` is not
    fitted (checked for scikit-learn, XGBoost and LightGBM estimators and pipelines, and for anything that
    answers ``__sklearn_is_fitted__``; scikit-learn is imported only then)."""
    library = type(estimator).__module__.split(".")[0]
    if library not in ("sklearn", "xgboost", "lightgbm") and not hasattr(estimator, "__sklearn_is_fitted__"):
        return
    if not callable(getattr(estimator, "fit", None)):
        return
    try:
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted
    except ImportError:  # pragma: no cover - an estimator of these libraries comes with scikit-learn
        return
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise InvalidParameterError(
            f"model: expected a fitted {type(estimator).__name__}, got an unfitted one: it is not fitted; "
            "call fit first"
        ) from None
    except (TypeError, AttributeError, ValueError):  # not an estimator scikit-learn can judge
        return


def _n_features_in(estimator: Any) -> int | None:
    try:
        n = getattr(estimator, "n_features_in_", None)
    except (AttributeError, TypeError, ValueError):  # a Pipeline whose first step does not know it
        return None
    return int(n) if isinstance(n, (int, np.integer)) and not isinstance(n, bool) else None


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
        ``decision_function``. A binary classifier's log-odds and raw score are one output,
        named after the positive class (``classes_[1]``). For a regressor only ``"raw"``
        (``predict``) applies. Output names are the classifier's ``classes_``.

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
        _check_fitted(estimator)
        self.estimator = estimator
        self.n_features_in = _n_features_in(estimator)
        self.is_classifier = _is_classifier(estimator)
        self._binary_margin = False
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
            if self.output == "raw" and not callable(getattr(estimator, "decision_function", None)):
                raise InvalidParameterError(
                    f"output: 'raw' needs decision_function, which {type(estimator).__name__} lacks; "
                    "use output='probability' or 'log_odds'"
                )
            # a binary classifier's raw score and log-odds are one output, named after the positive class
            self._binary_margin = self.output != "probability" and len(classes) == 2
            self._output_names = classes[1:] if self._binary_margin else classes
        else:
            if output in ("probability", "log_odds"):
                raise InvalidParameterError(
                    f"output: {output!r} needs a classifier with predict_proba and classes_, "
                    f"but {type(estimator).__name__} is a regressor; use output='raw'"
                )
            self.output = "raw"
            self._output_names = None

    def _predict(self, X: Any) -> Any:
        self.check_width(X, _current_context() or "X")
        est = self.estimator
        if not self.is_classifier:
            return est.predict(X)
        if self.output == "raw":
            return est.decision_function(X)
        p = np.asarray(est.predict_proba(X), dtype=np.float64)
        if self.output == "probability":
            return p
        if self._binary_margin and p.ndim == 2 and p.shape[1] == 2:
            p = p[:, 1:]
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


# ---------------------------------------------------------------------- bare boosters
#: Objectives whose ``Booster.predict`` gives class probabilities -> number of classes (0: ``num_class``).
_XGB_CLASSIFIERS = {"binary:logistic": 2, "multi:softprob": 0, "multi:softmax": 0}
_LGB_CLASSIFIERS = {"binary": 2, "multiclass": 0, "multiclassova": 0}


def is_booster(model: Any) -> bool:
    """Whether ``model`` is an ``xgboost.Booster`` or a ``lightgbm.Booster`` (judged by its type's names;
    neither library is imported)."""
    return any(
        c.__qualname__ == "Booster" and c.__module__.split(".")[0] in ("xgboost", "lightgbm") for c in type(model).__mro__
    )


class BoosterModel(AdaptedModel):
    """A bare ``xgboost.Booster`` or ``lightgbm.Booster`` (not a scikit-learn wrapper).

    The booster's objective says what it predicts. Classifiers (XGBoost ``binary:logistic``,
    ``multi:softprob``, ``multi:softmax``; LightGBM ``binary``, ``multiclass``, ``multiclassova``):
    ``"auto"`` is ``"probability"``, one output per class (both classes for a binary model), named
    ``"0"``, ``"1"``, ...; ``"log_odds"`` is ``log(p / (1 - p))`` (one output, ``"1"``, for a binary model);
    ``"raw"`` is the margin (``output_margin=True`` / ``raw_score=True``). Other objectives have one
    output, ``"raw"``: the booster's prediction. Rows are numbers (NaN = missing); an XGBoost booster
    is given them as a ``DMatrix`` with its own feature names and types.

    Examples
    --------
    >>> import numpy as np, pytest
    >>> lgb = pytest.importorskip("lightgbm")
    >>> X = np.arange(40.0).reshape(20, 2); y = (X[:, 0] > 19).astype(float)
    >>> booster = lgb.train({"objective": "binary", "min_data_in_leaf": 2, "verbose": -1}, lgb.Dataset(X, y), 2)
    >>> m = BoosterModel(booster)
    >>> m.output, m.output_names, m.predict(X[:1]).shape
    ('probability', ['0', '1'], (1, 2))
    >>> BoosterModel(booster, output="raw").output_names
    ['1']
    """

    def __init__(self, booster: Any, *, output: str = "auto") -> None:
        super().__init__()
        check_choice(output, "output", OUTPUTS)
        if not is_booster(booster):
            raise UnsupportedModelError(
                f"model: expected an xgboost.Booster or a lightgbm.Booster, got {type(booster).__name__}"
            )
        self.estimator = booster
        self.library = type(booster).__module__.split(".")[0]
        if self.library == "xgboost":
            import json

            objective = str(json.loads(booster.save_config())["learner"]["objective"]["name"])
            self.n_features_in = int(booster.num_features())
            n_classes = _XGB_CLASSIFIERS.get(objective)
            if n_classes == 0:
                n_classes = int(json.loads(booster.save_config())["learner"]["learner_model_param"]["num_class"])
        else:
            objective = str(booster.dump_model(num_iteration=1).get("objective") or "custom").split()[0]
            self.n_features_in = int(booster.num_feature())
            n_classes = _LGB_CLASSIFIERS.get(objective)
            if n_classes == 0:
                n_classes = int(booster.num_model_per_iteration())
        self.objective = objective
        self.n_classes = n_classes
        self.is_classifier = n_classes is not None
        if self.is_classifier:
            self.output = "probability" if output == "auto" else output
            classes = [str(c) for c in range(int(n_classes or 0))]
            self._binary_margin = self.output != "probability" and len(classes) == 2
            self._output_names = classes[1:] if self._binary_margin else classes
        else:
            if output in ("probability", "log_odds"):
                raise InvalidParameterError(
                    f"output: {output!r} needs a classifier's probabilities, but the {self.library}.Booster's "
                    f"objective {objective!r} does not predict classes; use output='raw'"
                )
            self.output = "raw"
            self._binary_margin = False
            self._output_names = None

    def _booster_predict(self, X: Any, margin: bool) -> np.ndarray:
        booster = self.estimator
        if self.library == "xgboost":
            import xgboost as xgb

            if isinstance(X, xgb.DMatrix):
                data = X
            else:
                types = booster.feature_types
                data = xgb.DMatrix(
                    X,
                    feature_names=booster.feature_names if not hasattr(X, "columns") else None,
                    feature_types=types if not hasattr(X, "columns") else None,
                    enable_categorical=True,
                )
            out = booster.predict(data, output_margin=margin)
        else:
            out = booster.predict(X, raw_score=margin)
        out = np.asarray(out, dtype=np.float64)
        return out.reshape(out.shape[0], -1)

    def _predict(self, X: Any) -> Any:
        self.check_width(X, _current_context() or "X")
        if not self.is_classifier or self.output == "raw":
            return self._booster_predict(X, margin=self.output == "raw" and self.is_classifier)
        if self.library == "xgboost" and self.objective == "multi:softmax":
            z = self._booster_predict(X, margin=True)  # its predict gives labels: the softmax of the margins
            z = np.exp(z - z.max(axis=1, keepdims=True))
            p = z / z.sum(axis=1, keepdims=True)
        else:
            p = self._booster_predict(X, margin=False)
        if self.n_classes == 2 and p.shape[1] == 1:
            p = np.concatenate([1.0 - p, p], axis=1)
        if self.output == "probability":
            return p
        if self._binary_margin:
            p = p[:, 1:]
        with np.errstate(divide="ignore"):
            logit = np.log(p) - np.log1p(-p)
        if not np.isfinite(logit).all():
            raise ModelOutputError(
                "the model returned probabilities of exactly 0 or 1, whose log-odds are infinite; use "
                "output='probability' or output='raw'"
            )
        return logit

    def describe(self) -> str:
        return f"{self.library}.Booster ({self.objective})"
