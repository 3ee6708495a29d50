"""Parse CatBoost tree models into a :class:`~xaikit.models.trees.TreeEnsemble`.

Accepted models: ``CatBoostRegressor``, ``CatBoostClassifier`` and their base ``CatBoost`` (whose
response is decided by its loss function), read through CatBoost's public JSON export
(``save_model(path, format="json")`` into a temporary folder). Symmetric (oblivious) trees, the
default, and the non-symmetric trees of ``grow_policy="Depthwise"`` or ``"Lossguide"`` are both read.

Loss functions and the transform from the raw score (``RawFormulaVal``) to the response scale:

* identity: ``RMSE``, ``MAE``, ``Quantile``, ``Expectile``, ``MAPE``, ``Huber``, ``Lq``, ``LogCosh``,
  ``MultiRMSE`` (one output per target);
* logistic: ``Logloss`` and ``CrossEntropy`` (one output: the positive class), ``MultiClassOneVsAll``
  (one output per class);
* softmax: ``MultiClass`` (one output per class);
* exp: ``Poisson``, ``Tweedie``.

Any other loss (ranking, ``RMSEWithUncertainty``, user-defined) is refused by name with
:class:`~xaikit.errors.UnsupportedModelError`.

What is read:

* an oblivious tree of depth ``k`` has one split per level shared by all nodes of the level; the
  leaf a row reaches is ``sum_i [x_(f_i) > border_i] * 2**i`` over its ``splits`` (the last split is
  the root). It is expanded to a complete binary tree of ``2**(k + 1) - 1`` nodes;
* ``leaf_values`` (leaf-major, ``n_outputs`` per leaf) times the model's scale into ``value``; the
  model's bias (``scale_and_bias``) into ``base_offset``;
* ``leaf_weights`` (training weight reaching each leaf) into ``cover``, summed up the tree.

Routing, as CatBoost predicts (checked against ``predict(prediction_type="RawFormulaVal")``): features
are stored as float32 and a row goes right iff ``float32(x) > border``, so the ensemble has
``strict=False`` and ``input_float32=True``. Missing values follow the feature's
``nan_value_treatment``: ``AsFalse`` (``nan_mode="Min"``, the default) and ``AsIs``
(``nan_mode="Forbidden"``: ``NaN > border`` is false) send NaN left, ``AsTrue`` (``nan_mode="Max"``)
sends it right.

Categorical features are refused by name when the model splits on them: CatBoost hashes category
values for one-hot splits (the hash is not reachable through a public API) and builds target statistics
(``OnlineCtr``) from them, neither of which is a function of one numeric column. Splits on text and
embedding features are refused the same way.

Examples
--------
>>> import numpy as np, pytest
>>> cb = pytest.importorskip("catboost")
>>> X = np.arange(40.0).reshape(20, 2)
>>> model = cb.CatBoostRegressor(iterations=3, depth=2, verbose=0, thread_count=1, allow_writing_files=False).fit(X, X[:, 0])
>>> ens = from_catboost(model)
>>> ens.n_trees, ens.max_depth, ens.strict, ens.input_float32
(3, 2, False, True)
>>> raw = model.predict(X, prediction_type="RawFormulaVal")
>>> bool(np.allclose(ens.predict_raw(X)[:, 0], raw, rtol=1e-9, atol=1e-9))
True
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import numpy as np

from xaikit._optional import import_optional
from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.models.trees import MISSING_NAN, TreeEnsemble

__all__ = ["LOSSES", "from_catboost"]

#: Supported loss functions -> transform from the raw score to the response scale.
LOSSES: dict[str, str] = {
    "RMSE": "identity",
    "MAE": "identity",
    "Quantile": "identity",
    "Expectile": "identity",
    "MAPE": "identity",
    "Huber": "identity",
    "Lq": "identity",
    "LogCosh": "identity",
    "MultiRMSE": "identity",
    "Logloss": "logistic",
    "CrossEntropy": "logistic",
    "MultiClassOneVsAll": "logistic",
    "MultiClass": "softmax",
    "Poisson": "exp",
    "Tweedie": "exp",
}

#: ``nan_value_treatment`` -> whether NaN goes left (the side of ``x <= border``).
_NAN_LEFT = {"AsFalse": True, "AsIs": True, "AsTrue": False}


def from_catboost(model: Any) -> TreeEnsemble:
    """Parse a fitted ``CatBoost``, ``CatBoostRegressor`` or ``CatBoostClassifier`` into a :class:`TreeEnsemble`.

    Raises :class:`UnsupportedModelError` for an unsupported loss function or a model that splits on
    categorical, text or embedding features, and :class:`InvalidParameterError` for an unfitted model.
    """
    cb = import_optional("catboost", "trees")
    name = type(model).__name__
    if not isinstance(model, cb.CatBoost):
        raise UnsupportedModelError(f"model: expected a CatBoost, CatBoostRegressor or CatBoostClassifier, got {name}")
    if not model.is_fitted():
        raise InvalidParameterError(f"model: expected a fitted {name}, got an unfitted one: call fit first")
    dump = _export(model)
    info = dump.get("features_info", {})
    loss = str(dump.get("model_info", {}).get("params", {}).get("loss_function", {}).get("type", ""))
    if loss not in LOSSES:
        raise UnsupportedModelError(
            f"model: expected a CatBoost loss function among {sorted(LOSSES)}, got loss_function {loss!r} ({name})"
        )
    scale, bias = dump.get("scale_and_bias", [1.0, [0.0]])
    base_offset = np.atleast_1d(np.asarray(bias, dtype=np.float64))
    n_outputs = base_offset.shape[0]
    columns, nan_left = _float_columns(info)
    n_features = _n_features(info)
    split_of = _SplitReader(info, columns, nan_left, name)
    if "oblivious_trees" in dump:
        trees = dump["oblivious_trees"]
        arrays = _flatten_oblivious(trees, n_outputs, float(scale), split_of)
    else:
        trees = dump.get("trees", [])
        arrays = _flatten_nested(trees, n_outputs, float(scale), split_of)
    if not trees:
        raise UnsupportedModelError(f"model: expected a CatBoost model with at least one tree, got none ({name})")
    return TreeEnsemble.from_arrays(
        **arrays,
        n_features=n_features,
        base_offset=base_offset,
        strict=False,
        input_float32=True,
        transform=LOSSES[loss],
        library=f"catboost.{name}",
        output_names=_output_names(model, n_outputs),
    )


# ---------------------------------------------------------------------- helpers
def _export(model: Any) -> dict[str, Any]:
    """The model's JSON export, written to and read back from a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="xaikit-catboost-") as folder:
        path = os.path.join(folder, "model.json")
        model.save_model(path, format="json")
        with open(path, encoding="utf-8") as fh:
            return dict(json.load(fh))


def _float_columns(info: dict[str, Any]) -> tuple[dict[int, int], dict[int, bool]]:
    """Column of each float feature (by its index among float features), and whether its NaN goes left."""
    columns: dict[int, int] = {}
    nan_left: dict[int, bool] = {}
    for f in info.get("float_features", []):
        idx = int(f["feature_index"])
        columns[idx] = int(f["flat_feature_index"])
        nan_left[idx] = _NAN_LEFT.get(str(f.get("nan_value_treatment", "AsFalse")), True)
    return columns, nan_left


def _n_features(info: dict[str, Any]) -> int:
    """Number of input columns: one past the largest flat index of any kind of feature."""
    flat = [
        int(f["flat_feature_index"])
        for kind in ("float_features", "categorical_features", "text_features", "embedding_features")
        for f in info.get(kind, [])
    ]
    return max(flat) + 1 if flat else 0


class _SplitReader:
    """Turns one exported split into ``(column, border, nan_left)``, or refuses it by the feature's name."""

    def __init__(self, info: dict[str, Any], columns: dict[int, int], nan_left: dict[int, bool], name: str) -> None:
        self.info = info
        self.columns = columns
        self.nan_left = nan_left
        self.name = name
        self.n_float_borders = sum(len(f.get("borders", []) or []) for f in info.get("float_features", []))

    def __call__(self, split: dict[str, Any]) -> tuple[int, float, bool]:
        kind = split.get("split_type")
        if kind == "FloatFeature":
            idx = int(split["float_feature_index"])
            return self.columns[idx], float(split["border"]), self.nan_left[idx]
        if kind == "OneHotFeature":
            feature = self._categorical_name(int(split["cat_feature_index"]))
            raise UnsupportedModelError(
                f"model: the CatBoost model splits on categorical feature {feature} (a one-hot split on a hashed "
                f"category value, which has no public mapping from the value); expected splits on numeric features "
                f"only ({self.name}): encode the feature as numbers before training"
            )
        if kind == "OnlineCtr":
            features = self._ctr_features(int(split.get("split_index", -1)))
            raise UnsupportedModelError(
                f"model: the CatBoost model splits on target statistics (ctr) of categorical feature(s) {features}; "
                f"expected splits on numeric features only ({self.name}): encode the feature(s) as numbers before "
                "training"
            )
        raise UnsupportedModelError(
            f"model: expected splits on numeric features, got a split of type {kind!r} (text or embedding "
            f"features are not supported) ({self.name})"
        )

    def _categorical_name(self, cat_index: int) -> str:
        for f in self.info.get("categorical_features", []):
            if int(f["feature_index"]) == cat_index:
                return repr(f.get("feature_id") or f"column {f['flat_feature_index']}")
        return repr(f"categorical feature {cat_index}")

    def _ctr_features(self, split_index: int) -> str:
        """Names of the categorical features a ctr split combines: ctr borders are numbered after the float
        borders, in the order of ``features_info["ctrs"]``; all categorical features when that fails."""
        position = split_index - self.n_float_borders
        for ctr in self.info.get("ctrs", []):
            n = len(ctr.get("borders", []) or [])
            if 0 <= position < n:
                cats = [int(e["cat_feature_index"]) for e in ctr.get("elements", []) if "cat_feature_index" in e]
                if cats:
                    return ", ".join(self._categorical_name(c) for c in cats)
                break
            position -= n
        return ", ".join(self._categorical_name(int(f["feature_index"])) for f in self.info.get("categorical_features", []))


def _new_arrays() -> dict[str, list[Any]]:
    return {k: [] for k in ("left", "right", "feature", "threshold", "missing_left", "cover", "value")}


def _finish(a: dict[str, list[Any]], roots: list[int]) -> dict[str, Any]:
    n = len(a["left"])
    return {
        "roots": roots,
        "left": a["left"],
        "right": a["right"],
        "feature": a["feature"],
        "threshold": a["threshold"],
        "missing_left": a["missing_left"],
        "missing_kind": np.full(n, MISSING_NAN, dtype=np.uint8),
        "cover": a["cover"],
        "value": np.asarray(a["value"], dtype=np.float64),
    }


def _flatten_oblivious(trees: list[dict[str, Any]], n_outputs: int, scale: float, split_of: _SplitReader) -> dict[str, Any]:
    """Expand each oblivious tree into a complete binary tree, heap-ordered (children of ``i`` at ``2i+1``,
    ``2i+2``, offset by the tree's first node). Level ``L`` splits on ``splits[k - 1 - L]``, so the path bits
    of heap leaf ``2**k - 1 + j`` read from the root are the bits of ``j`` from the highest: it is CatBoost's
    leaf ``j``."""
    a = _new_arrays()
    roots: list[int] = []
    zeros = np.zeros(n_outputs)
    for tree in trees:
        splits = [split_of(s) for s in tree.get("splits", [])]
        k = len(splits)
        n_leaves = 1 << k
        values = np.asarray(tree["leaf_values"], dtype=np.float64).reshape(n_leaves, n_outputs) * scale
        weights = np.asarray(tree["leaf_weights"], dtype=np.float64)
        start = len(a["left"])
        roots.append(start)
        heap_cover = np.zeros(2 * n_leaves - 1)
        heap_cover[n_leaves - 1 :] = weights
        for i in range(n_leaves - 2, -1, -1):
            heap_cover[i] = heap_cover[2 * i + 1] + heap_cover[2 * i + 2]
        for i in range(n_leaves - 1):
            level = (i + 1).bit_length() - 1
            column, border, nan_left = splits[k - 1 - level]
            a["left"].append(start + 2 * i + 1)
            a["right"].append(start + 2 * i + 2)
            a["feature"].append(column)
            a["threshold"].append(border)
            a["missing_left"].append(nan_left)
            a["cover"].append(heap_cover[i])
            a["value"].append(zeros)
        for j in range(n_leaves):
            a["left"].append(-1)
            a["right"].append(-1)
            a["feature"].append(-1)
            a["threshold"].append(0.0)
            a["missing_left"].append(False)
            a["cover"].append(heap_cover[n_leaves - 1 + j])
            a["value"].append(values[j])
    return _finish(a, roots)


def _flatten_nested(trees: list[dict[str, Any]], n_outputs: int, scale: float, split_of: _SplitReader) -> dict[str, Any]:
    """Walk each non-symmetric tree (nodes with ``split``, ``left``, ``right``; leaves with ``value`` and
    ``weight``) into the flat arrays; covers are summed from the leaves."""
    a = _new_arrays()
    roots: list[int] = []
    zeros = np.zeros(n_outputs)
    for tree in trees:
        roots.append(len(a["left"]))
        stack: list[tuple[dict[str, Any], int, bool]] = [(tree, -1, False)]
        inner: list[int] = []
        while stack:
            node, parent, is_left = stack.pop()
            idx = len(a["left"])
            if parent >= 0:
                a["left" if is_left else "right"][parent] = idx
            a["left"].append(-1)
            a["right"].append(-1)
            if "split" not in node:
                a["feature"].append(-1)
                a["threshold"].append(0.0)
                a["missing_left"].append(False)
                a["cover"].append(float(node.get("weight", 0.0)))
                a["value"].append(np.atleast_1d(np.asarray(node["value"], dtype=np.float64)).reshape(n_outputs) * scale)
                continue
            column, border, nan_left = split_of(node["split"])
            a["feature"].append(column)
            a["threshold"].append(border)
            a["missing_left"].append(nan_left)
            a["cover"].append(0.0)
            a["value"].append(zeros)
            inner.append(idx)
            stack.append((node["right"], idx, False))
            stack.append((node["left"], idx, True))
        for idx in reversed(inner):  # children are pushed after their parent: sum bottom-up
            a["cover"][idx] = a["cover"][a["left"][idx]] + a["cover"][a["right"][idx]]
    return _finish(a, roots)


def _output_names(model: Any, n_outputs: int) -> list[str] | None:
    """Class labels for classifiers (the positive class for binary), else None."""
    classes = getattr(model, "classes_", None)
    if classes is None or len(classes) == 0:
        return None
    labels = [str(c) for c in np.asarray(classes).tolist()]
    if n_outputs == 1 and len(labels) == 2:
        return labels[1:]
    return labels if len(labels) == n_outputs else None
