"""Load a model from a file, by its extension, refusing pickles unless they are trusted.

===========================  ==========================================================================
extension                    loaded as
===========================  ==========================================================================
``.skops``                   skops (``skops.io.load``); types skops does not trust are refused, named,
                             unless ``trust_pickle=True``
``.onnx``                    an ``onnxruntime.InferenceSession`` on the CPU (see :mod:`xaikit.models.onnx`)
``.json``, ``.ubj``          XGBoost: the scikit-learn wrapper the file was saved from (or, for a file
                             saved by ``xgboost.train``, the wrapper its objective implies:
                             ``XGBClassifier`` for ``binary:*``/``multi:*``, ``XGBRegressor`` for
                             ``reg:*``, ``count:*``, ``survival:*``); a bare ``xgboost.Booster`` otherwise
``.txt``                     a LightGBM model file (``lightgbm.Booster``)
``.pt``, ``.pth``            TorchScript (``torch.jit.load``, on the CPU)
``.keras``                   Keras 3 (``keras.models.load_model``, ``safe_mode`` unless ``trust_pickle=True``)
``.pkl``, ``.pickle``,       pickle / joblib, only with ``trust_pickle=True``: loading a pickle runs
``.joblib``                  whatever code the file holds
===========================  ==========================================================================
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from typing import Any

from xaikit._optional import import_optional
from xaikit.errors import InvalidParameterError, UnsupportedModelError

__all__ = ["MODEL_EXTENSIONS", "PICKLE_EXTENSIONS", "feature_names_of", "load_model"]

#: Extensions of model files xaikit reads, with what they are read as.
MODEL_EXTENSIONS: dict[str, str] = {
    ".skops": "skops",
    ".onnx": "ONNX (onnxruntime)",
    ".json": "XGBoost JSON",
    ".ubj": "XGBoost UBJSON",
    ".txt": "LightGBM text",
    ".pt": "TorchScript",
    ".pth": "TorchScript",
    ".keras": "Keras",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".joblib": "joblib",
}
#: Extensions of files loaded with pickle (only when trusted).
PICKLE_EXTENSIONS = (".pkl", ".pickle", ".joblib")

_CLASSIFIER_OBJECTIVES = ("binary:", "multi:")
_REGRESSOR_OBJECTIVES = ("reg:", "count:", "survival:")


def _check_path(path: Any) -> tuple[str, str]:
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidParameterError(f"path: expected a str or os.PathLike, got {type(path).__name__}")
    text = os.fspath(path)
    if not os.path.exists(text):
        raise InvalidParameterError(f"path: expected a model file, got {text!r}, which does not exist")
    if not os.path.isfile(text):
        raise InvalidParameterError(f"path: expected a model file, got {text!r}, which is not a regular file")
    ext = os.path.splitext(text)[1].lower()
    if ext not in MODEL_EXTENSIONS:
        known = ", ".join(MODEL_EXTENSIONS)
        raise InvalidParameterError(f"path: expected a model file with one of the extensions {known}; got {text!r}")
    return text, ext


def _load_skops(path: str, trust_pickle: bool) -> Any:
    sio = import_optional("skops.io", "skops")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises zipfile / json errors for a file that is not its format
        raise InvalidParameterError(f"path: {path!r} is not a skops file that can be read: {str(exc)[:200]}") from exc
    if untrusted and not trust_pickle:
        raise InvalidParameterError(
            f"trust_pickle: {path!r} holds types skops does not trust: {', '.join(untrusted)}; loading them runs "
            "their code. Check them, then pass trust_pickle=True (xaikit explain --trust-pickle)"
        )
    return sio.load(path, trusted=list(untrusted))


def _load_onnx(path: str, trust_pickle: bool) -> Any:
    ort = import_optional("onnxruntime", "onnx")
    try:
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise InvalidParameterError(f"path: onnxruntime cannot load {path!r}: {str(exc)[:300]}") from exc
    try:  # the graph itself, when the onnx package can read it: it names a classifier's classes
        import onnx
    except ImportError:
        return session
    try:
        return onnx.load(path, load_external_data=False)
    except Exception:  # noqa: BLE001 - onnxruntime reads it: the session will do
        return session


def _xgboost_objective(booster: Any) -> tuple[str, str | None]:
    """The objective's name and the scikit-learn estimator type the file was saved from (None when bare)."""
    config = json.loads(booster.save_config())
    objective = str(config.get("learner", {}).get("objective", {}).get("name", ""))
    attr = booster.attr("scikit_learn")
    kind = None
    if attr:
        try:
            kind = json.loads(attr).get("_estimator_type")
        except (ValueError, AttributeError):
            kind = None
    return objective, kind


def _load_xgboost(path: str, trust_pickle: bool) -> Any:
    xgb = import_optional("xgboost", "trees")
    booster = xgb.Booster()
    try:
        booster.load_model(path)
    except xgb.core.XGBoostError as exc:
        raise InvalidParameterError(f"path: {path!r} is not an XGBoost model file: {str(exc).splitlines()[0][:200]}") from exc
    objective, kind = _xgboost_objective(booster)
    if kind is None:
        if objective.startswith(_CLASSIFIER_OBJECTIVES):
            kind = "classifier"
        elif objective.startswith(_REGRESSOR_OBJECTIVES):
            kind = "regressor"
    wrapper = {"classifier": xgb.XGBClassifier, "regressor": xgb.XGBRegressor}.get(str(kind))
    if wrapper is None:
        return booster
    model = wrapper()
    model.load_model(path)
    return model


def _load_lightgbm(path: str, trust_pickle: bool) -> Any:
    lgb = import_optional("lightgbm", "trees")
    try:
        return lgb.Booster(model_file=path)
    except lgb.basic.LightGBMError as exc:
        raise InvalidParameterError(f"path: {path!r} is not a LightGBM model file: {str(exc)[:200]}") from exc


def _load_torch(path: str, trust_pickle: bool) -> Any:
    torch = import_optional("torch", "torch")
    try:
        with warnings.catch_warnings():  # TorchScript is deprecated in torch, and still the file format asked for
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(path, map_location="cpu")
    except (RuntimeError, ValueError) as exc:
        raise InvalidParameterError(
            f"path: {path!r} is not a TorchScript file (save one with torch.jit.save(torch.jit.script(model), path)): "
            f"{str(exc).splitlines()[0][:200]}"
        ) from exc
    return module.eval()


def _load_keras(path: str, trust_pickle: bool) -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    keras = import_optional("keras", "tensorflow")
    try:
        return keras.models.load_model(path, safe_mode=not trust_pickle)
    except ValueError as exc:
        text = str(exc)
        if "safe_mode" in text:
            raise InvalidParameterError(
                f"trust_pickle: {path!r} holds Python code (a lambda) that Keras' safe mode does not load; if you trust "
                "it, pass trust_pickle=True (xaikit explain --trust-pickle)"
            ) from exc
        raise InvalidParameterError(f"path: Keras cannot load {path!r}: {text.splitlines()[0][:200]}") from exc


def _load_pickle(path: str, trust_pickle: bool) -> Any:
    if not trust_pickle:
        raise InvalidParameterError(
            f"trust_pickle: {path!r} is a pickle, and loading a pickle runs whatever code it holds; pass "
            "trust_pickle=True (xaikit explain --trust-pickle) only for a file you trust, or save the model with "
            "skops, ONNX or its library's own format"
        )
    if path.lower().endswith(".joblib"):
        joblib = import_optional("joblib", "sklearn")
        return joblib.load(path)
    import pickle

    with open(path, "rb") as fh:
        return pickle.load(fh)  # noqa: S301 - the caller trusts this file (trust_pickle=True)


_LOADERS: dict[str, Callable[[str, bool], Any]] = {
    ".skops": _load_skops,
    ".onnx": _load_onnx,
    ".json": _load_xgboost,
    ".ubj": _load_xgboost,
    ".txt": _load_lightgbm,
    ".pt": _load_torch,
    ".pth": _load_torch,
    ".keras": _load_keras,
    ".pkl": _load_pickle,
    ".pickle": _load_pickle,
    ".joblib": _load_pickle,
}


def load_model(path: str | os.PathLike[str], *, trust_pickle: bool = False) -> Any:
    """Load the model saved in ``path``, chosen by its extension (see the module's table).

    Parameters
    ----------
    path : str or os.PathLike
    trust_pickle : bool
        Load pickles (``.pkl``, ``.pickle``, ``.joblib``), skops files holding types skops does not
        trust, and Keras files holding Python lambdas. Each of these runs code from the file: pass it
        only for files you trust. Refused by default, naming what would run.

    Returns
    -------
    The model as its library loads it, ready for :func:`xaikit.explain` and :func:`xaikit.models.adapt`.

    Raises
    ------
    InvalidParameterError
        If the file does not exist, has an unknown extension, cannot be read by its library, or needs
        ``trust_pickle=True``.
    MissingDependencyError
        If the library that reads the file is not installed.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "model.pkl")
    >>> with open(path, "wb") as fh:
    ...     _ = fh.write(b"not read")
    >>> load_model(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: trust_pickle: '...model.pkl' is a pickle, and loading a pickle runs whatever code it holds; ...
    """
    if not isinstance(trust_pickle, bool):
        raise InvalidParameterError(f"trust_pickle: expected a bool, got {type(trust_pickle).__name__}")
    text, ext = _check_path(path)
    return _LOADERS[ext](text, trust_pickle)


def feature_names_of(model: Any) -> list[str] | None:
    """The column names ``model`` was fitted on, when it knows them: scikit-learn's ``feature_names_in_``,
    an XGBoost model's ``feature_names``, a LightGBM model's ``feature_name()`` (not its default
    ``Column_0``, ``Column_1``...), an ONNX graph's inputs when it has one per column. None otherwise.

    >>> feature_names_of(lambda X: X) is None
    True
    """
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [str(c) for c in names]
    root = type(model).__module__.split(".")[0]
    if root == "xgboost":
        booster = model.get_booster() if hasattr(model, "get_booster") else model
        try:
            names = booster.feature_names
        except Exception:  # noqa: BLE001 - an unfitted wrapper has no booster
            names = None
        return [str(c) for c in names] if names else None
    if root == "lightgbm":
        booster = getattr(model, "booster_", model)
        names = list(booster.feature_name()) if callable(getattr(booster, "feature_name", None)) else []
        if not names or names == [f"Column_{i}" for i in range(len(names))]:
            return None
        return [str(c) for c in names]
    if root in ("onnxruntime", "onnx"):
        try:
            from xaikit.models import adapt

            return adapt(model).feature_names_in
        except (UnsupportedModelError, InvalidParameterError):
            return None
    return None
