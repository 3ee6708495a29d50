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

Categorical features: a one-hot split (``OneHotFeature``, the split of a feature with at most
``one_hot_max_size`` categories) sends a row right iff the hash of its category equals the split's value.
CatBoost hashes the string of a category value; the hashes of given values are read through its public
export (``save_model(format="python", pool=...)`` lists the ``cat_features_hashes`` of the pool's values:
:class:`CategoryEncoder`). The parser numbers the hash values each categorical column splits on
(``features_info["categorical_features"][i]["values"]``): code ``j`` is the ``j``-th, and the split is a
categorical node (``cat_mode`` 0) whose set is ``{j}``, with its children swapped so that the equal
side is the side CatBoost's bit 1 takes. Any other category (unseen in the splits, or unseen in training)
is the code one past them, in no split's set, so it goes the other way, as in CatBoost. :class:`CategoryEncoder` turns a table of raw
categories into these codes (TreeShap does it for the rows and background it is given).
Target statistics (``OnlineCtr``, CatBoost's encoding of features with more categories) are functions
of several rows' labels, not of one column's value: a model that splits on them is refused by name, and
so is one that splits on text or embedding features.

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

import ast
import json
import os
import re
import tempfile
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from xaikit._optional import import_optional
from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.models.trees import MISSING_NAN, TreeEnsemble

__all__ = ["LOSSES", "CategoryEncoder", "from_catboost"]

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


class _Split(NamedTuple):
    """One split: the column, the border of a numeric split, whether NaN goes left, and the code of a one-hot
    split's category (-1 for a numeric split)."""

    column: int
    border: float
    nan_left: bool
    code: int = -1


def one_hot_values(info: dict[str, Any]) -> dict[int, list[int]]:
    """The hash values each categorical column's one-hot splits compare with, by flat column index."""
    return {int(f["flat_feature_index"]): [int(v) for v in f.get("values", []) or []]
            for f in info.get("categorical_features", [])}


class _SplitReader:
    """Turns one exported split into a :class:`_Split`, or refuses it by the feature's name."""

    def __init__(self, info: dict[str, Any], columns: dict[int, int], nan_left: dict[int, bool], name: str) -> None:
        self.info = info
        self.columns = columns
        self.nan_left = nan_left
        self.name = name
        self.n_float_borders = sum(len(f.get("borders", []) or []) for f in info.get("float_features", []))
        self.cat_columns = {int(f["feature_index"]): int(f["flat_feature_index"]) for f in info.get("categorical_features", [])}
        self.values = one_hot_values(info)

    def __call__(self, split: dict[str, Any]) -> _Split:
        kind = split.get("split_type")
        if kind == "FloatFeature":
            idx = int(split["float_feature_index"])
            return _Split(self.columns[idx], float(split["border"]), self.nan_left[idx])
        if kind == "OneHotFeature":
            column = self.cat_columns[int(split["cat_feature_index"])]
            values = self.values.get(column, [])
            if int(split["value"]) not in values:
                feature = self._categorical_name(int(split["cat_feature_index"]))
                raise UnsupportedModelError(
                    f"model: expected the one-hot split values of categorical feature {feature} among its listed "
                    f"values, got {split['value']} ({self.name})"
                )
            return _Split(column, 0.0, False, values.index(int(split["value"])))
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
    return {k: [] for k in ("left", "right", "feature", "threshold", "missing_left", "cover", "value", "categorical",
                            "cat_offset", "cat_len", "cat_bits")}


def _add_split(a: dict[str, list[Any]], split: _Split, bit0: int, bit1: int, cover: float, zeros: np.ndarray) -> None:
    """Append an internal node whose bit-0 child is ``bit0`` and bit-1 child ``bit1`` (CatBoost's bit 1: the
    value is above the border, or equals the one-hot category). A one-hot node is categorical with the set
    ``{code}``: its set goes left, so its children are swapped."""
    categorical = split.code >= 0
    a["left"].append(bit1 if categorical else bit0)
    a["right"].append(bit0 if categorical else bit1)
    a["feature"].append(split.column)
    a["threshold"].append(split.border)
    a["missing_left"].append(split.nan_left)
    a["cover"].append(cover)
    a["value"].append(zeros)
    a["categorical"].append(categorical)
    a["cat_offset"].append(len(a["cat_bits"]) if categorical else 0)
    if categorical:
        words = [0] * (split.code // 32 + 1)
        words[split.code // 32] = 1 << (split.code % 32)
        a["cat_bits"].extend(words)
    a["cat_len"].append(split.code // 32 + 1 if categorical else 0)


def _add_leaf(a: dict[str, list[Any]], value: np.ndarray, cover: float) -> None:
    for key, v in (("left", -1), ("right", -1), ("feature", -1), ("threshold", 0.0), ("missing_left", False),
                   ("categorical", False), ("cat_offset", 0), ("cat_len", 0)):
        a[key].append(v)
    a["cover"].append(cover)
    a["value"].append(value)


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
        "categorical": a["categorical"],
        "cat_offset": a["cat_offset"],
        "cat_len": a["cat_len"],
        "cat_bits": np.asarray(a["cat_bits"], dtype=np.uint32),
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
            _add_split(a, splits[k - 1 - level], start + 2 * i + 1, start + 2 * i + 2, heap_cover[i], zeros)
        for j in range(n_leaves):
            _add_leaf(a, values[j], heap_cover[n_leaves - 1 + j])
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
        parent_slot: dict[int, str] = {}  # node -> array of its bit-0 child; ~node -> of its bit-1 child
        while stack:
            node, parent, is_left = stack.pop()
            idx = len(a["left"])
            if parent >= 0:  # the parent's bit-0 (exported "left") or bit-1 child, where _add_split put it
                slot = parent_slot.pop(parent) if is_left else parent_slot.pop(~parent)
                a[slot][parent] = idx
            if "split" not in node:
                _add_leaf(a, np.atleast_1d(np.asarray(node["value"], dtype=np.float64)).reshape(n_outputs) * scale,
                          float(node.get("weight", 0.0)))
                continue
            split = split_of(node["split"])
            _add_split(a, split, -1, -1, 0.0, zeros)
            swapped = split.code >= 0
            parent_slot[idx] = "right" if swapped else "left"
            parent_slot[~idx] = "left" if swapped else "right"
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


# ---------------------------------------------------------------------- categories
class CategoryEncoder:
    """Turns rows with raw categories (as the CatBoost model was fitted on) into the numbers its ensemble reads.

    Numeric columns are taken as floats; a categorical column's value becomes the code of its hash among the
    values the column's one-hot splits compare with (:func:`one_hot_values`), their number for any other. The hash
    of a value is CatBoost's own, read from ``save_model(format="python", pool=...)`` for the values not seen
    before (kept by the encoder).

    Examples
    --------
    >>> import numpy as np, pytest
    >>> cb = pytest.importorskip("catboost"); pd = pytest.importorskip("pandas")
    >>> X = pd.DataFrame({"x": np.arange(8.0), "colour": ["red", "blue"] * 4})
    >>> y = X["x"] + 3.0 * (X["colour"] == "red")
    >>> model = cb.CatBoostRegressor(iterations=4, depth=2, one_hot_max_size=4, cat_features=["colour"], verbose=0,
    ...                              allow_writing_files=False).fit(X, y)
    >>> encoder = CategoryEncoder(model)
    >>> len(encoder.values[1])  # the one value the splits on "colour" compare with: "red" or "blue"
    1
    >>> codes = encoder(pd.DataFrame({"x": [1.0, 2.0, 3.0], "colour": ["red", "blue", "green"]}), "X")
    >>> sorted(codes[:, 1].tolist())  # the split value is code 0; the two others are code 1
    [0.0, 1.0, 1.0]
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        dump = _export(model)
        info = dump.get("features_info", {})
        self.n_features = _n_features(info)
        self.values = one_hot_values(info)
        self.names = list(getattr(model, "feature_names_", None) or [])
        self._hashes: dict[str, int] = {}

    @property
    def columns(self) -> list[int]:
        """The categorical columns, by position."""
        return sorted(self.values)

    def __call__(self, X: Any, name: str) -> np.ndarray:
        """``X`` (a DataFrame, a 2-D array or a list of rows, with raw categories) as float codes ``(n, d)``."""
        frame = _as_columns(X, self.n_features, name)
        out = np.empty((len(frame[0]) if frame else 0, self.n_features), dtype=np.float64)
        cats = set(self.columns)
        for j, column in enumerate(frame):
            if j not in cats:
                try:
                    out[:, j] = np.asarray(column, dtype=np.float64)
                except (TypeError, ValueError):
                    raise InvalidParameterError(
                        f"{name}: expected numbers in column {self._label(j)} (a numeric feature of the CatBoost "
                        f"model), got values such as {column[0]!r}"
                    ) from None
        missing = {str(v) for j in cats for v in frame[j]} - set(self._hashes)
        if missing:
            self._hashes.update(self._hash(sorted(missing)))
        for j in cats:
            codes = {h: k for k, h in enumerate(self.values[j])}
            out[:, j] = [codes.get(self._hashes[str(v)], len(codes)) for v in frame[j]]
        return out

    def _label(self, j: int) -> str:
        return repr(self.names[j]) if j < len(self.names) else str(j)

    def _hash(self, values: Sequence[str]) -> dict[str, int]:
        """CatBoost's hashes of ``values``: the hash is a function of the string alone (the same for every model
        and column), so it is read from the Python export of a one-feature model with a pool of the values
        (CatBoost exports only symmetric trees to Python, so the user's model may not do)."""
        cb = import_optional("catboost", "trees")
        pool = cb.Pool([[v] for v in values], cat_features=[0])
        with tempfile.TemporaryDirectory(prefix="xaikit-catboost-") as folder:
            path = os.path.join(folder, "model.py")
            _hashing_model(cb).save_model(path, format="python", pool=pool)
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        found = re.search(r"cat_features_hashes = (\{.*?\n\})", text, flags=re.S)
        table = ast.literal_eval(found.group(1)) if found else {}
        if not isinstance(table, dict) or any(v not in table for v in values):
            raise UnsupportedModelError(
                "model: expected CatBoost's export to list the hash of every category value, got a table without "
                f"{[v for v in values if not isinstance(table, dict) or v not in table][:5]}"
            )
        return {str(k): int(v) for k, v in table.items()}


_HASHING_MODEL: list[Any] = []


def _hashing_model(cb: Any) -> Any:
    """A one-feature categorical CatBoost model (fitted once per process on two rows, writing no files)."""
    if not _HASHING_MODEL:
        model = cb.CatBoostRegressor(iterations=1, depth=1, one_hot_max_size=2, verbose=0, thread_count=1,
                                     allow_writing_files=False)
        _HASHING_MODEL.append(model.fit([["a"], ["b"]], [0.0, 1.0], cat_features=[0]))
    return _HASHING_MODEL[0]


def _as_columns(X: Any, n_features: int, name: str) -> list[list[Any]]:
    """The columns of ``X`` (a DataFrame, or a 2-D array or list of rows) as lists of their values."""
    if hasattr(X, "columns") and hasattr(X, "iloc"):
        columns = [X.iloc[:, j].tolist() for j in range(X.shape[1])]
    else:
        rows = np.asarray(X, dtype=object)
        if rows.ndim == 1:
            rows = rows[None, :]
        if rows.ndim != 2:
            raise InvalidParameterError(f"{name}: expected a 2-D table of rows, got an array of {rows.ndim} dimensions")
        columns = [rows[:, j].tolist() for j in range(rows.shape[1])]
    if len(columns) != n_features:
        raise InvalidParameterError(f"{name}: expected {n_features} feature columns (as the model was trained), got {len(columns)}")
    return columns
