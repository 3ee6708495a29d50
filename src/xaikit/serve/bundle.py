"""A saved explainer bundle: the model file, the background rows and the settings, in one folder.

Layout
------
A bundle is a folder::

    bundle/
        bundle.json            the settings (UTF-8 JSON, below)
        model.<ext>            the model file, copied byte for byte (any format
                               :func:`xaikit.models.files.load_model` reads: .json/.ubj XGBoost,
                               .txt LightGBM, .onnx, .skops, .keras, .pt; pickles only when trusted)
        background.parquet     the background rows of a DataFrame (columns and dtypes kept), or
        background.npy         those of an array (``numpy.save``, ``allow_pickle=False``)

``bundle.json`` holds ``format`` (``"xaikit-bundle"``), ``format_version`` (1), ``model_file`` and
``background_file`` (names inside the folder), ``method`` (a registry name or ``"auto"``),
``output``, ``parameters`` (the explain parameters every request starts from, e.g.
``{"n_samples": 256, "random_state": 0}``, and ``tree_algorithm``: see :data:`BUNDLE_PARAMETERS`), ``feature_names``, ``dtypes`` (one per feature:
``"number"`` or ``"category"``), ``categories`` (the levels seen in the background, per categorical
feature), ``model_sha256`` (of the model file) and ``model_version``: the sha256 of the model
file's digest, the background file's digest and the settings, so it changes whenever any of them
does.

The folder is written under a temporary name beside its destination and renamed into place
(``os.replace``); a bundle being replaced is first renamed aside, then removed. Nothing in a
bundle is a pickle unless the model file itself is one, and :func:`load_bundle` refuses that
unless ``trust_pickle=True``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from xaikit.errors import FormatError, InvalidParameterError

__all__ = ["BUNDLE_FORMAT", "BUNDLE_PARAMETERS", "Bundle", "file_sha256", "load_bundle", "make_bundle", "model_version", "save_bundle"]

BUNDLE_FORMAT = "xaikit-bundle"
#: The settings ``parameters`` may hold: the explain parameters every request starts from, and
#: ``tree_algorithm`` (TreeSHAP's ``"interventional"`` over the background, the default, or
#: ``"path_dependent"`` over the trees' cover, which is faster and ignores the background).
BUNDLE_PARAMETERS = ("n_samples", "tol", "random_state", "tree_algorithm")
_FORMAT_VERSION = 1
_SETTINGS = "bundle.json"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file's bytes, in hex.

    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "a")
    ...     _ = open(p, "wb").write(b"abc")
    ...     file_sha256(p)[:12]
    'ba7816bf8f01'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_version(model_sha256: str, background_sha256: str, settings: Mapping[str, Any]) -> str:
    """The version of an explainer: the sha256 of the model's and background's digests and the settings.

    >>> model_version("a", "b", {"method": "auto"}) == model_version("a", "b", {"method": "auto"})
    True
    >>> model_version("a", "b", {"method": "auto"}) == model_version("c", "b", {"method": "auto"})
    False
    """
    text = json.dumps({"model": model_sha256, "background": background_sha256, "settings": dict(settings)},
                      sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Bundle:
    """A model with its background and settings, ready to serve.

    ``model`` is the loaded model, ``background`` a DataFrame or float64 array, ``path`` the
    bundle's folder (None for a bundle made in memory by :func:`make_bundle`), ``model_path`` the
    model file the version was computed from.
    """

    model: Any
    background: Any
    model_path: str
    method: str = "auto"
    output: str = "auto"
    parameters: dict[str, Any] = field(default_factory=dict)
    feature_names: list[str] = field(default_factory=list)
    dtypes: dict[str, str] = field(default_factory=dict)
    categories: dict[str, list[str]] = field(default_factory=dict)
    model_sha256: str = ""
    background_sha256: str = ""
    model_version: str = ""
    path: str | None = None

    def settings(self) -> dict[str, Any]:
        """The settings recorded in ``bundle.json`` (and hashed into the version)."""
        return {"method": self.method, "output": self.output, "parameters": dict(self.parameters),
                "feature_names": list(self.feature_names), "dtypes": dict(self.dtypes),
                "categories": {k: list(v) for k, v in self.categories.items()}}


def _describe_background(background: Any, feature_names: Sequence[str] | None) -> tuple[Any, list[str], dict[str, str], dict[str, list[str]]]:
    """The background as a DataFrame or float64 array, with its feature names, kinds and levels."""
    import numpy as np

    if hasattr(background, "columns") and hasattr(background, "dtypes"):
        names = [str(c) for c in background.columns]
        if feature_names is not None and list(feature_names) != names:
            raise InvalidParameterError(f"feature_names: expected the background's columns {names[:20]}, got {list(feature_names)[:20]}")
        dtypes: dict[str, str] = {}
        categories: dict[str, list[str]] = {}
        for name, dtype in zip(names, background.dtypes):
            if getattr(dtype, "kind", "O") in "biuf":
                dtypes[name] = "number"
            else:
                dtypes[name] = "category"
                categories[name] = sorted({str(v) for v in background[name].dropna().unique()})
        return background.reset_index(drop=True), names, dtypes, categories
    try:
        arr = np.asarray(background, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"background: expected a DataFrame or a numeric array (m, d), got {type(background).__name__}: {exc}") from None
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidParameterError(f"background: expected rows (m, d) with m, d >= 1, got shape {arr.shape}")
    names = [f"x{i}" for i in range(arr.shape[1])] if feature_names is None else [str(n) for n in feature_names]
    if len(names) != arr.shape[1]:
        raise InvalidParameterError(f"feature_names: expected {arr.shape[1]} names (the background's columns), got {len(names)}")
    return arr, names, dict.fromkeys(names, "number"), {}


def _background_digest(background: Any) -> str:
    """A digest of the background's values (and columns), independent of how it is stored."""
    import numpy as np

    h = hashlib.sha256()
    if hasattr(background, "columns"):
        h.update(json.dumps([str(c) for c in background.columns]).encode())
        for col in background.columns:
            values = background[col]
            h.update(str(values.dtype).encode())
            h.update(json.dumps([None if v is None or v != v else (v if isinstance(v, str) else float(v)) for v in values.tolist()]).encode())
    else:
        arr = np.ascontiguousarray(background, dtype=np.float64)
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def make_bundle(
    model_path: str | os.PathLike[str],
    background: Any,
    *,
    method: str = "auto",
    output: str = "auto",
    parameters: Mapping[str, Any] | None = None,
    feature_names: Sequence[str] | None = None,
    trust_pickle: bool = False,
) -> Bundle:
    """A bundle in memory: the model read from ``model_path`` (by
    :func:`~xaikit.models.files.load_model`), ``background`` rows, the settings and the version.

    Examples
    --------
    >>> import os, tempfile, numpy as np, xgboost
    >>> d = tempfile.mkdtemp()
    >>> X = np.random.default_rng(0).normal(size=(50, 3))
    >>> xgboost.XGBRegressor(n_estimators=3).fit(X, X[:, 0]).save_model(os.path.join(d, "m.json"))
    >>> b = make_bundle(os.path.join(d, "m.json"), X[:10], parameters={"random_state": 0})
    >>> b.feature_names, len(b.model_version)
    (['x0', 'x1', 'x2'], 64)
    """
    from xaikit.models.files import load_model

    model_path = os.fspath(model_path)
    model = load_model(model_path, trust_pickle=trust_pickle)
    if feature_names is None and not hasattr(background, "columns"):
        from xaikit.models.files import feature_names_of

        feature_names = feature_names_of(model)
    bg, names, dtypes, categories = _describe_background(background, feature_names)
    params = dict(parameters or {})
    unknown = sorted(set(params) - set(BUNDLE_PARAMETERS))
    if unknown:
        raise InvalidParameterError(f"parameters: expected keys among {list(BUNDLE_PARAMETERS)}, got {unknown[0]!r}")
    if params.get("tree_algorithm", "interventional") not in ("interventional", "path_dependent"):
        raise InvalidParameterError(f"parameters['tree_algorithm']: expected 'interventional' or 'path_dependent', got {params['tree_algorithm']!r}")
    try:
        json.dumps(params, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"parameters: expected JSON values (numbers, strings, lists), got {params!r}: {exc}") from None
    bundle = Bundle(model=model, background=bg, model_path=model_path, method=str(method), output=str(output),
                    parameters=params, feature_names=names, dtypes=dtypes, categories=categories,
                    model_sha256=file_sha256(model_path), background_sha256=_background_digest(bg))
    bundle.model_version = model_version(bundle.model_sha256, bundle.background_sha256, bundle.settings())
    return bundle


def save_bundle(bundle: Bundle, path: str | os.PathLike[str], *, overwrite: bool = False) -> str:
    """Write ``bundle`` to the folder ``path`` (see the module docstring), atomically; returns the path.

    Examples
    --------
    >>> import os, tempfile, numpy as np, xgboost
    >>> d = tempfile.mkdtemp()
    >>> X = np.random.default_rng(0).normal(size=(50, 3))
    >>> xgboost.XGBRegressor(n_estimators=3).fit(X, X[:, 0]).save_model(os.path.join(d, "m.json"))
    >>> out = save_bundle(make_bundle(os.path.join(d, "m.json"), X[:10]), os.path.join(d, "bundle"))
    >>> sorted(os.listdir(out))
    ['background.npy', 'bundle.json', 'model.json']
    >>> load_bundle(out).model_version == make_bundle(os.path.join(d, "m.json"), X[:10]).model_version
    True
    """
    import numpy as np

    path = os.path.abspath(os.fspath(path))
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        raise InvalidParameterError(f"path: expected a path in an existing folder, got {path!r}")
    if os.path.exists(path) and not overwrite:
        raise InvalidParameterError(f"path: expected a path that does not exist (or overwrite=True), got {path!r}, which exists")
    ext = os.path.splitext(bundle.model_path)[1].lower()
    model_file = "model" + ext
    is_frame = hasattr(bundle.background, "columns")
    background_file = "background.parquet" if is_frame else "background.npy"
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=parent)
    try:
        shutil.copyfile(bundle.model_path, os.path.join(tmp, model_file))
        if is_frame:
            bundle.background.to_parquet(os.path.join(tmp, background_file), index=False)
        else:
            np.save(os.path.join(tmp, background_file), np.asarray(bundle.background, dtype=np.float64), allow_pickle=False)
        settings = {"format": BUNDLE_FORMAT, "format_version": _FORMAT_VERSION, "model_file": model_file,
                    "background_file": background_file, **bundle.settings(),
                    "model_sha256": bundle.model_sha256, "model_version": bundle.model_version}
        with open(os.path.join(tmp, _SETTINGS), "w", encoding="utf-8") as fh:
            json.dump(settings, fh, indent=1, sort_keys=True)
        aside = None
        if os.path.exists(path):
            aside = os.path.join(parent, f".{os.path.basename(path)}.{uuid.uuid4().hex}.old")
            os.replace(path, aside)
        os.replace(tmp, path)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load_bundle(path: str | os.PathLike[str], *, trust_pickle: bool = False) -> Bundle:
    """Read a bundle folder written by :func:`save_bundle`; the version is recomputed from the files,
    so a model file replaced in the folder gives a new version. See :func:`save_bundle` for an example."""
    import numpy as np

    path = os.path.abspath(os.fspath(path))
    settings_path = os.path.join(path, _SETTINGS)
    if not os.path.isfile(settings_path):
        raise InvalidParameterError(f"path: expected a bundle folder holding {_SETTINGS}, got {path!r}")
    try:
        with open(settings_path, encoding="utf-8") as fh:
            settings = json.load(fh)
    except (OSError, ValueError) as exc:
        raise FormatError(f"path: {settings_path!r} is not valid JSON: {exc}") from None
    if not isinstance(settings, dict) or settings.get("format") != BUNDLE_FORMAT:
        raise FormatError(f"path: expected {_SETTINGS} of format {BUNDLE_FORMAT!r}, got {str(settings)[:80]!r}")
    if settings.get("format_version") != _FORMAT_VERSION:
        raise FormatError(f"path: expected bundle format_version {_FORMAT_VERSION}, got {settings.get('format_version')!r}")
    for key in ("model_file", "background_file"):
        value = settings.get(key)
        if not isinstance(value, str) or os.path.basename(value) != value or not os.path.isfile(os.path.join(path, value)):
            raise FormatError(f"{key}: expected the name of a file in the bundle folder, got {value!r}")
    bg_path = os.path.join(path, settings["background_file"])
    if bg_path.endswith(".parquet"):
        import pandas as pd

        background: Any = pd.read_parquet(bg_path)
    elif bg_path.endswith(".npy"):
        background = np.load(bg_path, allow_pickle=False)
    else:
        raise FormatError(f"background_file: expected a .parquet or .npy file, got {settings['background_file']!r}")
    bundle = make_bundle(os.path.join(path, settings["model_file"]), background, method=settings.get("method", "auto"),
                         output=settings.get("output", "auto"), parameters=settings.get("parameters") or {},
                         feature_names=None if hasattr(background, "columns") else settings.get("feature_names"),
                         trust_pickle=trust_pickle)
    bundle.path = path
    return bundle
