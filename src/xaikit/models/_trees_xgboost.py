"""Parse XGBoost tree models into a :class:`~xaikit.models.trees.TreeEnsemble`.

Accepted models: :class:`xgboost.Booster` and the scikit-learn wrappers (``XGBRegressor``,
``XGBClassifier``, ``XGBRanker``, ``XGBRFRegressor``, ``XGBRFClassifier``), with the ``gbtree`` or
``dart`` booster; ``gblinear`` (no trees) raises :class:`~xaikit.errors.UnsupportedModelError`. The
model is read from its full JSON document (``Booster.save_raw("json")``), as saved by the installed
xgboost.

Objectives and the transform from the margin (``predict(output_margin=True)``, additive over the
trees) to the response scale:

* identity: ``reg:squarederror``, ``reg:squaredlogerror``, ``reg:pseudohubererror``,
  ``reg:absoluteerror``, ``reg:quantileerror`` (one output per quantile), ``binary:logitraw``, the
  ranking objectives ``rank:pairwise``, ``rank:ndcg``, ``rank:map`` (the margin is the ranking score
  ``predict`` gives), and ``binary:hinge``: its prediction is the 0/1 step of the margin (1 where the
  margin is positive), which is not differentiable, so the margin is explained and the ensemble's
  ``predict`` is the margin, not the 0/1 label (see :data:`MARGIN_ONLY`);
* logistic: ``binary:logistic``, ``reg:logistic`` (also multi-label: one output per target);
* softmax: ``multi:softprob``, ``multi:softmax`` (for ``multi:softmax`` the model predicts the arg-max
  label; the ensemble explains the per-class margins and ``predict`` gives the softmax of them);
* exp: ``count:poisson``, ``reg:gamma``, ``reg:tweedie``, ``survival:cox`` (the hazard ratio),
  ``survival:aft`` (the predicted survival time), as XGBoost's ``predict`` does.

Refused (:class:`~xaikit.errors.UnsupportedModelError` naming the objective): any other objective, and
vector-leaf trees (``multi_strategy="multi_output_tree"``).

What is read:

* leaf values (learning rate already folded in) into ``value``, in the column of the output the
  tree belongs to (``tree_info``: the class or target); random-forest trees (``num_parallel_tree``)
  are summed, as XGBoost does (their leaf values are already scaled); DART trees have their weight
  (``weight_drop``, applied by XGBoost at prediction time) folded into their leaf values;
* ``sum_hessian`` (XGBoost's "cover") into ``cover``;
* ``base_score`` (a vector per output in xgboost 3.x, stored on the response scale) converted to
  the margin into ``base_offset``: logit for ``binary:logistic``/``reg:logistic``, log for
  ``count:poisson``/``reg:gamma``/``reg:tweedie``/``survival:*``, unchanged for the others (``binary:logitraw`` and
  the ``multi:*`` objectives store it as a margin already);
* a scikit-learn wrapper fitted with early stopping keeps the rounds up to ``best_iteration``, as its
  ``predict`` does; a bare ``Booster`` keeps every round, as ``Booster.predict`` does, and is taken to
  mark missing values with NaN (the ``DMatrix`` default).

Routing, as XGBoost predicts (checked against its predictions):

* inputs and thresholds are float32 and a row goes left iff ``x < threshold`` (``strict``,
  ``input_float32``); NaN goes to the node's ``default_left`` side. A scikit-learn wrapper built with
  ``missing=0`` also sends zeros there (``missing_kind`` 1); other ``missing`` values are refused.
* categorical splits store the categories that go RIGHT; every other category goes left: unseen
  categories, categories past the largest one seen, and invalid values (negative, or ``>= 2**24``),
  whatever ``default_left`` says. A non-integral value is truncated to its integer category.
  NaN goes to the ``default_left`` side. Categorical inputs are category codes: for a model trained on
  pandas data, the codes of the training categories (``Series.cat.codes``, with NaN for missing), which is
  what xgboost re-codes a DataFrame to before predicting.

The :class:`TreeEnsemble` stores XGBoost's own sets (categories going right) with ``cat_mode=2``,
which routes exactly these rules (see ``trees._go_left``).

Examples
--------
>>> import numpy as np, pytest
>>> xgb = pytest.importorskip("xgboost")
>>> X = np.arange(20.0).reshape(10, 2)
>>> model = xgb.XGBRegressor(n_estimators=3, max_depth=2).fit(X, X[:, 0])
>>> ens = from_xgboost(model)
>>> ens.n_trees, ens.strict, ens.input_float32
(3, True, True)
>>> bool(np.allclose(ens.predict(X)[:, 0], model.predict(X), rtol=1e-5, atol=1e-5))
True
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from xaikit._optional import import_optional
from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.models.trees import MISSING_NAN, MISSING_ZERO, TreeEnsemble

__all__ = ["MARGIN_ONLY", "OBJECTIVES", "MarkedTreeEnsemble", "from_xgboost"]

#: Supported objectives -> (link from base_score to the margin, transform from the margin to the response).
OBJECTIVES: dict[str, tuple[str, str]] = {
    "reg:squarederror": ("identity", "identity"),
    "reg:linear": ("identity", "identity"),
    "reg:squaredlogerror": ("identity", "identity"),
    "reg:pseudohubererror": ("identity", "identity"),
    "reg:absoluteerror": ("identity", "identity"),
    "reg:quantileerror": ("identity", "identity"),
    "binary:logitraw": ("identity", "identity"),
    "binary:logistic": ("logit", "logistic"),
    "reg:logistic": ("logit", "logistic"),
    "multi:softprob": ("identity", "softmax"),
    "multi:softmax": ("identity", "softmax"),
    "count:poisson": ("log", "exp"),
    "reg:gamma": ("log", "exp"),
    "reg:tweedie": ("log", "exp"),
    "survival:cox": ("log", "exp"),
    "survival:aft": ("log", "exp"),
    "binary:hinge": ("identity", "identity"),
    "rank:pairwise": ("identity", "identity"),
    "rank:ndcg": ("identity", "identity"),
    "rank:map": ("identity", "identity"),
}

#: Objectives whose prediction is not the transform of the margin: the ensemble explains the margin.
MARGIN_ONLY: dict[str, str] = {
    "binary:hinge": "its prediction is the 0/1 step of the margin (1 where the margin is > 0), which is not "
    "differentiable: the margin is explained",
    "rank:pairwise": "a ranking score: the margin is explained",
    "rank:ndcg": "a ranking score: the margin is explained",
    "rank:map": "a ranking score: the margin is explained",
}

@dataclass(frozen=True, eq=False)
class MarkedTreeEnsemble(TreeEnsemble):
    """A :class:`TreeEnsemble` of a model whose missing values are marked by a number other than 0
    (XGBoost's ``missing`` parameter): :meth:`prepare` turns every value equal to ``missing_value``
    (compared in float32, as XGBoost does) into NaN, which routes it to the missing side of each split.

    Examples
    --------
    >>> import numpy as np
    >>> stump = MarkedTreeEnsemble.from_arrays(
    ...     roots=[0], left=[1, -1, -1], right=[2, -1, -1], feature=[0, -1, -1], threshold=[0.5, 0, 0],
    ...     value=[[0.0], [-1.0], [2.0]], cover=[4.0, 3.0, 1.0], missing_left=[True, False, False],
    ...     n_features=1, missing_value=-999.0)
    >>> stump.predict_raw(np.array([[-999.0], [-998.0], [1.0]]))[:, 0]
    array([-1., -1.,  2.])
    """

    missing_value: float = float("nan")

    def prepare(self, X: Any, name: str = "X") -> np.ndarray:
        """As :meth:`TreeEnsemble.prepare`, with the marker's values replaced by NaN (a copy only when
        ``X`` holds the marker)."""
        X = super().prepare(X, name)
        hit = X.astype(np.float32) == np.float32(self.missing_value)
        if hit.any():
            X = np.where(hit, np.nan, X)
        return X

    def first_trees(self, k: int) -> TreeEnsemble:
        """As :meth:`TreeEnsemble.first_trees`, the marker kept."""
        first = super().first_trees(k)
        if first is self:
            return self
        return MarkedTreeEnsemble(**{f.name: getattr(first, f.name) for f in fields(first)},
                                  missing_value=self.missing_value)


_WRAPPERS = ("XGBModel", "XGBRegressor", "XGBClassifier", "XGBRFRegressor", "XGBRFClassifier", "XGBRanker")


def from_xgboost(model: Any) -> TreeEnsemble:
    """Parse an XGBoost ``Booster`` or scikit-learn wrapper into a :class:`TreeEnsemble`.

    Raises :class:`UnsupportedModelError` for a booster other than ``gbtree``, an unsupported objective
    or vector-leaf trees, and :class:`InvalidParameterError` for an unfitted wrapper.
    """
    xgb = import_optional("xgboost", "trees")
    booster, best_iteration, missing = _unwrap(model, xgb)
    doc = json.loads(bytes(booster.save_raw("json")))
    learner = doc["learner"]
    name = type(model).__name__
    gbm = learner["gradient_booster"]
    kind = gbm.get("name", "?")
    if kind not in ("gbtree", "dart"):
        raise UnsupportedModelError(
            f"model: expected an XGBoost model with booster 'gbtree' or 'dart', got booster {kind!r} ({name}); "
            "'gblinear' has no trees"
        )
    objective = learner["objective"]["name"]
    if objective not in OBJECTIVES:
        raise UnsupportedModelError(
            f"model: expected an XGBoost objective among {sorted(OBJECTIVES)}, got objective {objective!r} ({name})"
        )
    link, transform = OBJECTIVES[objective]

    params = learner["learner_model_param"]
    num_class = int(params.get("num_class", 0))
    n_outputs = num_class if num_class > 0 else max(int(params.get("num_target", 1)), 1)
    n_features = int(params["num_feature"])
    base_offset = _base_margin(params.get("base_score", "0.5"), link, n_outputs)

    body = gbm["gbtree"]["model"] if kind == "dart" else gbm["model"]
    trees = body["trees"]
    tree_info = [int(t) for t in body.get("tree_info", [0] * len(trees))]
    # DART weighs each tree at prediction time (``weight_drop``): folded into its leaf values
    weights = [float(np.float32(w)) for w in gbm.get("weight_drop", [])] if kind == "dart" else []
    if kind == "dart" and len(weights) != len(trees):
        raise UnsupportedModelError(
            f"model: expected one DART weight per tree, got {len(weights)} weights for {len(trees)} trees ({name})"
        )
    if best_iteration is not None:
        trees, tree_info = _first_rounds(body, trees, tree_info, best_iteration + 1, n_outputs)
        weights = weights[: len(trees)]
    if not trees:
        raise UnsupportedModelError(f"model: expected an XGBoost model with at least one tree, got none ({name})")
    for t in trees:
        leaf_size = int(t["tree_param"].get("size_leaf_vector", "1"))
        if leaf_size > 1:
            raise UnsupportedModelError(
                f"model: expected trees with one value per leaf, got vector leaves of size {leaf_size} "
                f"(multi_strategy='multi_output_tree', objective {objective!r}); train with "
                "multi_strategy='one_output_per_tree'"
            )
    if max(tree_info) >= n_outputs or min(tree_info) < 0:
        raise UnsupportedModelError(
            f"model: expected tree_info entries in [0, {n_outputs}), got {min(tree_info)}..{max(tree_info)}"
        )

    missing_kind = MISSING_NAN
    marker = _marker(missing, name)
    if marker == 0.0:
        missing_kind = MISSING_ZERO

    arrays = _flatten(trees, tree_info, n_outputs, weights or None)
    cls: type[TreeEnsemble] = TreeEnsemble
    options: dict[str, Any] = {}
    if not (math.isnan(marker) or marker == 0.0):
        cls, options = MarkedTreeEnsemble, {"missing_value": marker}
    return cls.from_arrays(
        **arrays,
        **options,
        missing_kind=np.where(arrays["left"] >= 0, missing_kind, MISSING_NAN).astype(np.uint8),
        n_features=n_features,
        base_offset=base_offset,
        strict=True,
        input_float32=True,
        cat_mode=2,
        transform=transform,
        library=f"xgboost.{name}",
        output_names=_output_names(model, n_outputs, learner["objective"]),
    )


# ---------------------------------------------------------------------- helpers
def _unwrap(model: Any, xgb: Any) -> tuple[Any, int | None, Any]:
    """The booster, the best iteration the model predicts with (or None for all) and its missing marker."""
    if isinstance(model, xgb.Booster):
        return model, None, None
    if isinstance(model, xgb.XGBModel) or type(model).__name__ in _WRAPPERS:
        try:
            booster = model.get_booster()
        except Exception as exc:  # sklearn's NotFittedError or xgboost's own error
            raise InvalidParameterError(
                f"model: expected a fitted {type(model).__name__}, got an unfitted one: it is not fitted; "
                "call fit first"
            ) from exc
        try:
            best = int(model.best_iteration)
        except (AttributeError, TypeError, ValueError):
            best = None
        return booster, best, getattr(model, "missing", None)
    raise UnsupportedModelError(
        f"model: expected an xgboost.Booster or an XGBoost scikit-learn estimator, got {type(model).__name__}"
    )


def _base_margin(raw: Any, link: str, n_outputs: int) -> np.ndarray:
    """``base_score`` (a scalar or ``"[a,b,...]"`` string on the response scale) as margins, ``(n_outputs,)``."""
    text = str(raw).strip().strip("[]")
    values = np.array([np.float32(v) for v in text.split(",") if v.strip()], dtype=np.float64)
    if values.size == 1:
        values = np.repeat(values, n_outputs)
    if values.size != n_outputs:
        raise UnsupportedModelError(
            f"model: expected base_score with 1 or {n_outputs} values, got {values.size} ({raw!r})"
        )
    with np.errstate(divide="ignore"):
        if link == "logit":
            values = np.log(values) - np.log1p(-values)
        elif link == "log":
            values = np.log(values)
    if not np.all(np.isfinite(values)):
        raise UnsupportedModelError(f"model: expected a base_score inside the objective's range, got {raw!r}")
    return values


def _first_rounds(
    body: dict[str, Any], trees: list[Any], tree_info: list[int], n_rounds: int, n_outputs: int
) -> tuple[list[Any], list[int]]:
    """The trees of the first ``n_rounds`` boosting rounds."""
    indptr = body.get("iteration_indptr")
    if indptr:
        stop = int(indptr[min(n_rounds, len(indptr) - 1)])
    else:
        per_round = int(body.get("gbtree_model_param", {}).get("num_parallel_tree", "1")) * n_outputs
        stop = n_rounds * per_round
    return trees[:stop], tree_info[:stop]


def _marker(missing: Any, name: str) -> float:
    """The ``missing`` parameter as a float (NaN when unset)."""
    if missing is None:
        return float("nan")
    try:
        marker = float(missing)
    except (TypeError, ValueError):
        raise UnsupportedModelError(
            f"model: expected a number as the missing-value marker (the 'missing' parameter), got {missing!r} ({name})"
        ) from None
    if math.isinf(marker):
        raise UnsupportedModelError(
            f"model: expected a finite missing-value marker (the 'missing' parameter), got {missing!r} ({name})"
        )
    return float(np.float32(marker))


def _flatten(
    trees: list[Any], tree_info: list[int], n_outputs: int, weights: list[float] | None = None
) -> dict[str, Any]:
    """Concatenate the trees' node arrays (children made absolute) and build the categorical bitsets;
    ``weights`` (DART) multiply each tree's leaf values."""
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("left", "right", "feature", "threshold", "missing_left",
                                                          "categorical", "cover", "leaf", "out")}
    roots = np.zeros(len(trees), dtype=np.int64)
    cat_nodes: list[tuple[int, int, list[int]]] = []  # (absolute node, feature, categories going right)
    offset = 0
    for i, t in enumerate(trees):
        left = np.asarray(t["left_children"], dtype=np.int64)
        right = np.asarray(t["right_children"], dtype=np.int64)
        n = left.shape[0]
        is_leaf = left < 0
        cond = np.asarray(t["split_conditions"], dtype=np.float32).astype(np.float64)
        feature = np.where(is_leaf, -1, np.asarray(t["split_indices"], dtype=np.int64))
        cover = np.asarray(t["sum_hessian"], dtype=np.float32).astype(np.float64)
        leaf_value = np.where(is_leaf, cond, 0.0)
        if weights is not None:
            leaf_value = leaf_value * weights[i]
        if int(t["tree_param"].get("num_deleted", "0")) > 0:
            reach = _reachable(left, right)
            is_leaf = is_leaf | ~reach
            left = np.where(reach, left, -1)
            right = np.where(reach, right, -1)
            feature = np.where(is_leaf, -1, feature)
            leaf_value = np.where(reach, leaf_value, 0.0)
            cover = np.where(reach, cover, 0.0)
        split_type = np.asarray(t.get("split_type", [0] * n), dtype=np.int64)
        roots[i] = offset
        parts["left"].append(np.where(is_leaf, -1, left + offset))
        parts["right"].append(np.where(is_leaf, -1, right + offset))
        parts["feature"].append(feature)
        parts["threshold"].append(np.where(is_leaf, 0.0, cond))
        parts["missing_left"].append(np.asarray(t["default_left"], dtype=bool) & ~is_leaf)
        parts["categorical"].append((split_type == 1) & ~is_leaf)
        parts["cover"].append(cover)
        parts["leaf"].append(leaf_value)
        parts["out"].append(np.full(n, tree_info[i], dtype=np.int64))
        cats = t.get("categories", [])
        for k, node in enumerate(t.get("categories_nodes", [])):
            node = int(node)
            if is_leaf[node]:
                continue
            beg, size = int(t["categories_segments"][k]), int(t["categories_sizes"][k])
            cat_nodes.append((offset + node, int(feature[node]), [int(c) for c in cats[beg : beg + size]]))
        offset += n
    flat = {k: np.concatenate(v) for k, v in parts.items()}
    value = np.zeros((offset, n_outputs))
    value[np.arange(offset), flat.pop("out")] = flat.pop("leaf")

    cat_offset = np.zeros(offset, dtype=np.int64)
    cat_len = np.zeros(offset, dtype=np.int64)
    words: list[np.ndarray] = []
    n_words = 0
    # the sets of categories going right, as XGBoost stores them (cat_mode 2); a categorical node
    # without a listed set keeps an empty bitset and sends every category left
    for node, _, right_set in cat_nodes:
        valid = [c for c in right_set if 0 <= c < 2**24]
        bits = np.zeros(-(-(max(valid, default=0) + 1) // 32) * 32, dtype=bool)
        bits[valid] = True
        packed = np.packbits(bits, bitorder="little").view("<u4").astype(np.uint32)
        cat_offset[node], cat_len[node] = n_words, packed.size
        words.append(packed)
        n_words += packed.size
    flat.update(
        roots=roots,
        value=value,
        cat_offset=cat_offset,
        cat_len=cat_len,
        cat_bits=np.concatenate(words) if words else np.zeros(0, dtype=np.uint32),
    )
    return flat


def _reachable(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Nodes reachable from the root (XGBoost keeps pruned nodes in its arrays)."""
    reach = np.zeros(left.shape[0], dtype=bool)
    stack = [0]
    while stack:
        node = stack.pop()
        reach[node] = True
        if left[node] >= 0:
            stack.extend((int(left[node]), int(right[node])))
    return reach


def _output_names(model: Any, n_outputs: int, objective: dict[str, Any]) -> list[str] | None:
    """Class labels for classifiers (the positive class for binary), quantiles for multi-quantile models."""
    classes = getattr(model, "classes_", None)
    if classes is not None:
        labels = [str(c) for c in np.asarray(classes).tolist()]
        if n_outputs == 1 and len(labels) == 2:
            return labels[1:]
        if len(labels) == n_outputs:
            return labels
    alphas = objective.get("quantile_loss_param", {}).get("quantile_alpha")
    if objective.get("name") == "reg:quantileerror" and alphas and n_outputs > 1:
        values = [v for v in str(alphas).strip("[]").split(",") if v.strip()]
        if len(values) == n_outputs:
            return [f"quantile={float(v):g}" for v in values]
    return None
