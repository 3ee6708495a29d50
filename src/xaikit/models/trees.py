"""One array representation of tree ensembles, and a small parser per library.

A :class:`TreeEnsemble` holds every node of every tree in flat arrays (children as absolute
node indices, ``-1`` at leaves), so the compiled TreeSHAP kernels need to know nothing about
the library the trees came from. The ensemble's raw output (the margin) for a row is
``base_offset + sum over trees of the value of the leaf the row reaches``; parsers fold learning
rates, tree averaging (random forests) and initial scores into ``value`` and ``base_offset``.

Routing a value ``x`` at an internal node (see :func:`_go_left`):

* missing values: ``missing_kind`` 0 sends NaN to ``missing_left``; 1 (LightGBM ``Zero``) also
  sends zeros (``|x| <= 1e-35``) there; 2 (LightGBM ``None``) treats NaN as 0.0 and compares it;
* numeric splits: left iff ``x <= threshold`` (``x < threshold`` when ``strict``), after
  rounding ``x`` to float32 when ``input_float32`` (libraries that compare in float32; rounded
  value by value as it is routed, so the rows are never copied);
* categorical splits, by ``cat_mode``: the node's bitset is ``cat_bits[cat_offset : cat_offset +
  cat_len]`` (category ``c`` is bit ``c % 32`` of word ``c // 32``);

  - 0 (scikit-learn): left iff ``x`` is a set category; a negative or non-integral value goes
    where missing values go when ``cat_invalid_missing``, else right;
  - 1 (LightGBM): the category is ``x`` truncated toward zero; left iff it is set; ``x <= -1``
    goes right;
  - 2 (XGBoost): the set holds the categories going *right*; ``x`` is truncated; a negative
    value, one from 2**24 up, or one past the bitset goes left.

  NaN at a categorical node follows ``missing_left`` (``missing_kind`` must not be 2 there).

Parsers: :func:`tree_ensemble` dispatches on the model's dotted type name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from typing import Any

import numba
import numpy as np

from xaikit._validation import check_array, check_choice
from xaikit.errors import InvalidParameterError, UnsupportedModelError

__all__ = ["TRANSFORMS", "TreeEnsemble", "is_tree_model", "tree_ensemble"]

#: Maps from the raw margin to the model's probability scale.
TRANSFORMS = ("identity", "logistic", "softmax", "exp")

MISSING_NAN = 0
MISSING_ZERO = 1
MISSING_NONE = 2

#: LightGBM's zero band for ``missing_type=Zero``: |x| <= float32(1e-35).
_ZERO_BAND = float(np.float32(1e-35))


@dataclass(frozen=True, eq=False)
class TreeEnsemble:
    """Flat arrays of every node of every tree (see the module docstring for routing rules).

    Attributes
    ----------
    roots : int64 (n_trees,)        index of each tree's root node
    left, right : int64 (n_nodes,)  absolute index of the children, ``-1`` at leaves
    feature : int64 (n_nodes,)      feature split on, ``-1`` at leaves
    threshold : float64 (n_nodes,)
    missing_left : bool (n_nodes,)  whether missing values go left
    missing_kind : uint8 (n_nodes,) 0 NaN, 1 NaN-or-zero, 2 NaN-as-zero (see module docstring)
    categorical : bool (n_nodes,)
    cat_offset, cat_len : int64 (n_nodes,)   slice of ``cat_bits`` holding the node's left set
    cat_bits : uint32 (n_words,)
    value : float64 (n_nodes, n_outputs)     leaf values (internal nodes: anything, unused)
    cover : float64 (n_nodes,)      training weight reaching the node (path-dependent TreeSHAP)
    base_offset : float64 (n_outputs,)
    strict : bool                   ``x < threshold`` goes left (XGBoost) rather than ``<=``
    input_float32 : bool            inputs are rounded to float32 when routed
    cat_invalid_missing : bool      (cat_mode 0) invalid categories follow the missing direction
    cat_mode : int                  0 scikit-learn, 1 LightGBM, 2 XGBoost categorical semantics
    n_features : int
    transform : {"identity", "logistic", "softmax", "exp"}   raw margin -> the model's response scale
    library : str                   the model type parsed, e.g. ``"xgboost.XGBRegressor"``
    output_names : list of str or None
    scale : str                     what the raw output is, in words, where it is not the library's own raw
                                    output (or not what shap explains); ``""`` where it is

    Examples
    --------
    A stump on feature 0 at 0.5 with leaves -1 and 2:

    >>> import numpy as np
    >>> stump = TreeEnsemble.from_arrays(
    ...     roots=[0], left=[1, -1, -1], right=[2, -1, -1], feature=[0, -1, -1],
    ...     threshold=[0.5, 0, 0], value=[[0.0], [-1.0], [2.0]], cover=[4.0, 3.0, 1.0],
    ...     n_features=2)
    >>> stump.predict_raw(np.array([[0.0, 9.0], [1.0, 9.0]]))
    array([[-1.],
           [ 2.]])
    """

    roots: np.ndarray
    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    missing_kind: np.ndarray
    categorical: np.ndarray
    cat_offset: np.ndarray
    cat_len: np.ndarray
    cat_bits: np.ndarray
    value: np.ndarray
    cover: np.ndarray
    base_offset: np.ndarray
    n_features: int
    strict: bool = False
    input_float32: bool = False
    cat_invalid_missing: bool = False
    cat_mode: int = 0
    transform: str = "identity"
    library: str = ""
    output_names: list[str] | None = None
    scale: str = ""
    _depths: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment,arg-type]

    @classmethod
    def from_arrays(
        cls,
        *,
        roots: Any,
        left: Any,
        right: Any,
        feature: Any,
        threshold: Any,
        value: Any,
        cover: Any,
        n_features: int,
        missing_left: Any = None,
        missing_kind: Any = None,
        categorical: Any = None,
        cat_offset: Any = None,
        cat_len: Any = None,
        cat_bits: Any = None,
        base_offset: Any = None,
        **options: Any,
    ) -> TreeEnsemble:
        """Build and validate an ensemble; optional arrays default to "no missing, no categories"."""
        left = np.ascontiguousarray(left, dtype=np.int64)
        n = left.shape[0]
        value = np.asarray(value, dtype=np.float64)
        if value.ndim == 1:
            value = value[:, None]
        value = np.ascontiguousarray(value)
        ens = cls(
            roots=np.ascontiguousarray(roots, dtype=np.int64),
            left=left,
            right=np.ascontiguousarray(right, dtype=np.int64),
            feature=np.ascontiguousarray(feature, dtype=np.int64),
            threshold=np.ascontiguousarray(threshold, dtype=np.float64),
            missing_left=np.ascontiguousarray(
                np.zeros(n, dtype=bool) if missing_left is None else missing_left, dtype=np.bool_
            ),
            missing_kind=np.ascontiguousarray(
                np.zeros(n, dtype=np.uint8) if missing_kind is None else missing_kind, dtype=np.uint8
            ),
            categorical=np.ascontiguousarray(
                np.zeros(n, dtype=bool) if categorical is None else categorical, dtype=np.bool_
            ),
            cat_offset=np.ascontiguousarray(np.zeros(n) if cat_offset is None else cat_offset, dtype=np.int64),
            cat_len=np.ascontiguousarray(np.zeros(n) if cat_len is None else cat_len, dtype=np.int64),
            cat_bits=np.ascontiguousarray(np.zeros(0) if cat_bits is None else cat_bits, dtype=np.uint32),
            value=value,
            cover=np.ascontiguousarray(cover, dtype=np.float64),
            base_offset=np.ascontiguousarray(
                np.zeros(value.shape[1]) if base_offset is None else np.atleast_1d(base_offset), dtype=np.float64
            ),
            n_features=int(n_features),
            **options,
        )
        ens.validate()
        return ens

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise :class:`InvalidParameterError` if the arrays are not a well-formed ensemble."""
        n = self.left.shape[0]
        for name in ("right", "feature", "threshold", "missing_left", "missing_kind", "categorical",
                     "cat_offset", "cat_len", "cover"):
            if getattr(self, name).shape != (n,):
                raise InvalidParameterError(
                    f"{name}: expected shape ({n},) like `left`, got {getattr(self, name).shape}"
                )
        if self.value.ndim != 2 or self.value.shape[0] != n:
            raise InvalidParameterError(f"value: expected shape ({n}, n_outputs), got {self.value.shape}")
        if self.base_offset.shape != (self.value.shape[1],):
            raise InvalidParameterError(
                f"base_offset: expected shape ({self.value.shape[1]},), got {self.base_offset.shape}"
            )
        check_choice(self.transform, "transform", TRANSFORMS)
        check_choice(self.cat_mode, "cat_mode", (0, 1, 2))
        leaf = self.left < 0
        if np.any((self.right < 0) != leaf):
            raise InvalidParameterError("left/right: a node has exactly one child")
        inner = ~leaf
        if np.any(self.left[inner] >= n) or np.any(self.right[inner] >= n):
            raise InvalidParameterError("left/right: a child index is out of range")
        if np.any(self.feature[inner] < 0) or np.any(self.feature[inner] >= self.n_features):
            raise InvalidParameterError(
                f"feature: expected split features in [0, {self.n_features}), got "
                f"{self.feature[inner].min() if inner.any() else 0}..{self.feature[inner].max() if inner.any() else 0}"
            )
        if np.any(~np.isfinite(self.value[leaf])):
            raise InvalidParameterError("value: leaf values must be finite")
        if np.any(~(self.cover >= 0)):
            raise InvalidParameterError("cover: expected non-negative node covers")
        if self.roots.size == 0:
            raise InvalidParameterError("roots: the ensemble has no trees")
        cats = self.categorical & inner
        if np.any(self.cat_offset[cats] + self.cat_len[cats] > self.cat_bits.shape[0]):
            raise InvalidParameterError("cat_offset/cat_len: a categorical bitset runs past cat_bits")

    # ------------------------------------------------------------------ facts
    @property
    def n_trees(self) -> int:
        return int(self.roots.shape[0])

    @property
    def n_nodes(self) -> int:
        return int(self.left.shape[0])

    @property
    def n_outputs(self) -> int:
        return int(self.value.shape[1])

    @property
    def depths(self) -> np.ndarray:
        """Maximum depth (edges from root to deepest leaf) of each tree."""
        if self._depths is None:
            object.__setattr__(self, "_depths", _tree_depths(self.roots, self.left, self.right))
        return self._depths

    @property
    def max_depth(self) -> int:
        return int(self.depths.max())

    def tree_sizes(self) -> np.ndarray:
        """Number of nodes of each tree (trees are stored as contiguous node ranges or not; counted by walk)."""
        return _tree_sizes(self.roots, self.left, self.right)

    def expected_value(self) -> np.ndarray:
        """Cover-weighted mean output, ``(n_outputs,)``: the base value of path-dependent TreeSHAP."""
        return self.base_offset + _expected_values(self.roots, self.left, self.right, self.cover, self.value)

    def first_trees(self, k: int) -> TreeEnsemble:
        """The ensemble of the first ``k`` trees (in the order of ``roots``), the base offset kept.

        Boosting adds its trees round by round, so the first ``k`` trees are the model after its
        first rounds (``k`` = rounds x trees per round: one per class for a multi-class booster).
        The nodes are renumbered; categorical bitsets are kept whole.

        >>> import numpy as np
        >>> two = TreeEnsemble.from_arrays(roots=[0, 3], left=[1, -1, -1, -1], right=[2, -1, -1, -1],
        ...                                feature=[0, -1, -1, -1], threshold=[0.5, 0, 0, 0],
        ...                                value=[[0.0], [-1.0], [2.0], [10.0]], cover=[2.0, 1.0, 1.0, 2.0],
        ...                                n_features=1)
        >>> two.first_trees(1).predict_raw(np.array([[0.0], [1.0]])).ravel().tolist()
        [-1.0, 2.0]
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= self.n_trees:
            raise InvalidParameterError(f"k: expected a number of trees in [1, {self.n_trees}], got {k!r}")
        k = int(k)
        if k == self.n_trees:
            return self
        # every node of the first k trees, tree by tree (each tree's nodes in index order)
        keep: list[np.ndarray] = []
        for root in self.roots[:k]:
            level = np.array([root])
            nodes = [level]
            while level.size:
                inner = level[self.left[level] >= 0]
                level = np.concatenate([self.left[inner], self.right[inner]])
                nodes.append(level)
            keep.append(np.sort(np.concatenate(nodes)))
        old = np.concatenate(keep)
        new_index = np.full(self.n_nodes, -1, dtype=np.int64)
        new_index[old] = np.arange(old.size)

        def child(a: np.ndarray) -> np.ndarray:
            c = a[old]
            return np.where(c >= 0, new_index[np.maximum(c, 0)], -1)

        per_node = {f.name: getattr(self, f.name)[old] for f in fields(self)
                    if f.name in ("feature", "threshold", "missing_left", "missing_kind", "categorical",
                                  "cat_offset", "cat_len", "value", "cover")}
        options = {f.name: getattr(self, f.name) for f in fields(self)
                   if f.name in ("strict", "input_float32", "cat_invalid_missing", "cat_mode", "transform",
                                 "library", "output_names", "scale")}
        return TreeEnsemble.from_arrays(roots=new_index[self.roots[:k]], left=child(self.left),
                                        right=child(self.right), cat_bits=self.cat_bits,
                                        base_offset=self.base_offset, n_features=self.n_features,
                                        **per_node, **options)

    # ------------------------------------------------------------------ prediction
    def prepare(self, X: Any, name: str = "X") -> np.ndarray:
        """``X`` checked, as a C-contiguous float64 matrix with ``n_features`` columns: the caller's own
        array (no copy) when it already is one. NaN is allowed: it is a missing value. Libraries that
        compare in float32 (``input_float32``) have each value rounded as it is routed, not here.

        >>> import numpy as np
        >>> ens = TreeEnsemble.from_arrays(roots=[0], left=[-1], right=[-1], feature=[-1], threshold=[0.0],
        ...                                value=[[1.0]], cover=[1.0], n_features=2)
        >>> X = np.zeros((3, 2))
        >>> ens.prepare(X) is X
        True
        """
        X = check_array(X, name, ndim=2, allow_nan=True)
        if X.shape[1] != self.n_features:
            raise InvalidParameterError(
                f"{name}: expected {self.n_features} feature columns (as the model was trained), got {X.shape[1]}"
            )
        return np.ascontiguousarray(X, dtype=np.float64)

    def decision_paths(self, X: Any) -> np.ndarray:
        """Whether each row goes left at each node, ``bool (n_rows, n_nodes)`` (leaves: False)."""
        X = self.prepare(X)
        return _directions(X, *self._routing())

    def predict_raw(self, X: Any) -> np.ndarray:
        """The ensemble's raw output (margin), ``(n_rows, n_outputs)``."""
        X = self.prepare(X)
        return _predict(X, self.roots, self.value, self.base_offset, *self._routing())

    def predict(self, X: Any) -> np.ndarray:
        """The output on the response scale (``transform`` applied to :meth:`predict_raw`)."""
        return apply_transform(self.predict_raw(X), self.transform)

    def content_key(self) -> str:
        """A SHA-256 digest of every array and setting (a few milliseconds per 10 MB): worker
        processes keep a scattered ensemble under it between jobs (see :mod:`xaikit.execution.shared`)."""
        digest = hashlib.sha256()
        for f in fields(self):
            if f.name == "_depths":  # derived from the arrays
                continue
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                digest.update(f"{f.name}:{v.dtype.str}:{v.shape};".encode())
                digest.update(np.ascontiguousarray(v).data)
            else:
                digest.update(f"{f.name}={v!r};".encode())
        return digest.hexdigest()

    def _routing(self) -> tuple[Any, ...]:
        return (
            self.left, self.right, self.feature, self.threshold, self.missing_left, self.missing_kind,
            self.categorical, self.cat_offset, self.cat_len, self.cat_bits, self.strict,
            self.cat_invalid_missing + 2 * self.cat_mode + 8 * self.input_float32,
        )

    def __repr__(self) -> str:
        return (
            f"TreeEnsemble({self.library or 'custom'}: {self.n_trees} trees, {self.n_nodes} nodes, "
            f"max depth {self.max_depth}, {self.n_features} features, {self.n_outputs} outputs)"
        )


def apply_transform(margin: np.ndarray, transform: str) -> np.ndarray:
    """Map raw margins ``(n, o)`` to probabilities."""
    if transform == "identity":
        return margin
    if transform == "logistic":
        return 1.0 / (1.0 + np.exp(-margin))
    if transform == "exp":
        return np.exp(margin)
    z = margin - margin.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------------- compiled helpers
@numba.njit(cache=True, nogil=True)
def _go_left(x, node, threshold, missing_left, missing_kind, categorical, cat_offset, cat_len, cat_bits,
             strict, cat_flags):  # pragma: no cover - compiled
    """Whether ``x`` goes left at ``node``; ``cat_flags`` = ``cat_invalid_missing + 2 * cat_mode +
    8 * input_float32``."""
    if cat_flags & 8:
        x = np.float64(np.float32(x))  # the library compares in float32
    kind = missing_kind[node]
    if np.isnan(x):
        if kind == MISSING_NONE:
            x = 0.0
        else:
            return missing_left[node]
    elif kind == MISSING_ZERO and abs(x) <= _ZERO_BAND:
        return missing_left[node]
    if categorical[node]:
        mode = (cat_flags >> 1) & 3
        if mode == 0:
            if x < 0.0 or x != np.floor(x):
                if cat_flags & 1:
                    return missing_left[node]
                return False
        elif mode == 1:
            if x <= -1.0:
                return False
            x = abs(x)  # truncation toward zero: -0.5 is category 0
        else:
            if x < 0.0 or x >= 16777216.0:
                return True
        if x >= 32.0 * cat_len[node]:  # past the bitset (checked before the cast, which could overflow)
            return mode == 2
        c = np.int64(x)
        word = c >> 5
        hit = (cat_bits[cat_offset[node] + word] >> np.uint32(c & 31)) & np.uint32(1) == np.uint32(1)
        return (not hit) if mode == 2 else hit
    if strict:
        return x < threshold[node]
    return x <= threshold[node]


@numba.njit(cache=True, nogil=True)
def _directions(X, left, right, feature, threshold, missing_left, missing_kind, categorical, cat_offset,
                cat_len, cat_bits, strict, cat_flags):  # pragma: no cover - compiled
    n = X.shape[0]
    m = left.shape[0]
    out = np.zeros((n, m), dtype=np.bool_)
    for r in range(n):
        for node in range(m):
            if left[node] >= 0:
                out[r, node] = _go_left(X[r, feature[node]], node, threshold, missing_left, missing_kind,
                                        categorical, cat_offset, cat_len, cat_bits, strict, cat_flags)
    return out


@numba.njit(cache=True, nogil=True)
def _predict(X, roots, value, base_offset, left, right, feature, threshold, missing_left, missing_kind,
             categorical, cat_offset, cat_len, cat_bits, strict, cat_flags):  # pragma: no cover
    n = X.shape[0]
    o = value.shape[1]
    out = np.empty((n, o))
    for r in range(n):
        for k in range(o):
            out[r, k] = base_offset[k]
        for t in range(roots.shape[0]):
            node = roots[t]
            while left[node] >= 0:
                if _go_left(X[r, feature[node]], node, threshold, missing_left, missing_kind, categorical,
                            cat_offset, cat_len, cat_bits, strict, cat_flags):
                    node = left[node]
                else:
                    node = right[node]
            for k in range(o):
                out[r, k] += value[node, k]
    return out


@numba.njit(cache=True, nogil=True)
def _tree_depths(roots, left, right):  # pragma: no cover - compiled
    depths = np.zeros(roots.shape[0], dtype=np.int64)
    stack = np.empty(left.shape[0] + 1, dtype=np.int64)
    level = np.empty(left.shape[0] + 1, dtype=np.int64)
    for t in range(roots.shape[0]):
        top = 0
        stack[0] = roots[t]
        level[0] = 0
        best = 0
        while top >= 0:
            node = stack[top]
            lv = level[top]
            top -= 1
            best = max(best, lv)
            if left[node] >= 0:
                top += 1
                stack[top] = left[node]
                level[top] = lv + 1
                top += 1
                stack[top] = right[node]
                level[top] = lv + 1
        depths[t] = best
    return depths


@numba.njit(cache=True, nogil=True)
def _tree_sizes(roots, left, right):  # pragma: no cover - compiled
    sizes = np.zeros(roots.shape[0], dtype=np.int64)
    stack = np.empty(left.shape[0] + 1, dtype=np.int64)
    for t in range(roots.shape[0]):
        top = 0
        stack[0] = roots[t]
        count = 0
        while top >= 0:
            node = stack[top]
            top -= 1
            count += 1
            if left[node] >= 0:
                top += 1
                stack[top] = left[node]
                top += 1
                stack[top] = right[node]
        sizes[t] = count
    return sizes


@numba.njit(cache=True, nogil=True)
def _expected_values(roots, left, right, cover, value):  # pragma: no cover - compiled
    o = value.shape[1]
    out = np.zeros(o)
    stack = np.empty(left.shape[0] + 1, dtype=np.int64)
    weight = np.empty(left.shape[0] + 1)
    for t in range(roots.shape[0]):
        top = 0
        stack[0] = roots[t]
        weight[0] = 1.0
        while top >= 0:
            node = stack[top]
            w = weight[top]
            top -= 1
            if left[node] < 0:
                for k in range(o):
                    out[k] += w * value[node, k]
            else:
                c = cover[node]
                for child in (left[node], right[node]):
                    top += 1
                    stack[top] = child
                    weight[top] = w * (cover[child] / c if c > 0 else 0.0)
    return out


# ---------------------------------------------------------------------- dispatch
_PARSERS: dict[str, str] = {
    # dotted type name prefix -> parser function in xaikit.models.trees_<library>
    "sklearn.": "xaikit.models._trees_sklearn:from_sklearn",
    "xgboost.": "xaikit.models._trees_xgboost:from_xgboost",
    "lightgbm.": "xaikit.models._trees_lightgbm:from_lightgbm",
    "catboost.": "xaikit.models._trees_catboost:from_catboost",
    "ngboost.": "xaikit.models._trees_ngboost:from_ngboost",
    "gpboost.": "xaikit.models._trees_gpboost:from_gpboost",
    "pyod.": "xaikit.models._trees_pyod:from_pyod",
}

#: Libraries whose tree models cannot be read, with the reason (checked before the parsers).
_UNREACHABLE: dict[str, str] = {
    "pyspark.": "Spark ML's trees live in the JVM of a Spark session, out of reach of a Python parser; explain a "
                "sample of rows with a model-agnostic method on a function that calls the model, or export the "
                "model to a library xaikit reads",
    "causalml.": "causalml's causal trees hold treatment effects estimated from both arms of each leaf, not one value "
                 "per leaf as TreeSHAP needs; explain its effect estimate (predict) with a model-agnostic method",
}


def _type_path(obj: Any) -> str:
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def _parser_for(model: Any) -> Any:
    """The parser of the library ``model``'s type comes from, or of the first base class of its type that
    comes from one (a user's subclass of ``RandomForestRegressor``); read from the dotted names of the
    classes, so that no library is imported to recognise its models. Raises for a library whose trees
    cannot be read (:data:`_UNREACHABLE`)."""
    import importlib

    for cls in type(model).__mro__:
        path = f"{cls.__module__}.{cls.__qualname__}"
        for prefix, reason in _UNREACHABLE.items():
            if path.startswith(prefix):
                raise UnsupportedModelError(f"model: expected a tree model whose trees xaikit can read, got {path}: {reason}")
        for prefix, target in _PARSERS.items():
            if path.startswith(prefix):
                module, func = target.split(":")
                return getattr(importlib.import_module(module), func)
    return None


def is_tree_model(model: Any) -> bool:
    """Whether ``model`` is a tree ensemble xaikit can parse (checked without importing its library)."""
    if isinstance(model, TreeEnsemble):
        return True
    try:
        parser = _parser_for(model)
        if parser is None:
            return False
        parser(model)
    except (UnsupportedModelError, InvalidParameterError):
        return False
    return True


def tree_ensemble(model: Any) -> TreeEnsemble:
    """Parse a fitted tree model of scikit-learn, XGBoost, LightGBM, CatBoost, NGBoost, GPBoost or pyod (``IForest``)
    into a :class:`TreeEnsemble`.

    Raises :class:`UnsupportedModelError` naming the type (or objective) when it is not supported.
    """
    if isinstance(model, TreeEnsemble):
        return model
    parser = _parser_for(model)
    if parser is None:
        raise UnsupportedModelError(
            f"model: expected a fitted tree model of scikit-learn, XGBoost, LightGBM, CatBoost, NGBoost, GPBoost or "
            f"pyod (IForest), got {_type_path(model)}"
        )
    return parser(model)
