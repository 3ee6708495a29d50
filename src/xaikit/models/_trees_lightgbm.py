"""Parse LightGBM tree models into a :class:`~xaikit.models.trees.TreeEnsemble`.

Accepted models: :class:`lightgbm.Booster` and the scikit-learn wrappers (``LGBMRegressor``,
``LGBMClassifier``, ``LGBMRanker``). The model is read from ``Booster.dump_model()``, which, like
``Booster.predict``, keeps the trees up to ``best_iteration`` when the model was trained with early
stopping (all trees otherwise).

Objectives (the first word of the dumped ``objective``) and the transform from the ensemble's margin
to the response scale:

* identity: ``regression``, ``regression_l1``, ``huber``, ``fair``, ``quantile``, ``mape``, the ranking
  objectives ``lambdarank`` and ``rank_xendcg`` (the margin is the ranking score ``predict`` gives), and a
  custom (callable) objective, for which LightGBM itself predicts the raw score;
* logistic: ``binary`` and ``multiclassova`` (one output per class), ``cross_entropy``. LightGBM's
  probability is ``1 / (1 + exp(-sigmoid * raw_score))``: the ensemble's margin is the log-odds
  ``sigmoid * raw_score`` (the ``sigmoid`` parameter folded into the leaf values), which is
  ``raw_score`` itself for the default ``sigmoid=1``;
* softmax: ``multiclass``;
* exp: ``poisson``, ``gamma``, ``tweedie``.

Refused (:class:`~xaikit.errors.UnsupportedModelError` naming the objective): ``regression`` with
``reg_sqrt`` (its response is ``sign(s) * s**2``), ``cross_entropy_lambda`` and any other; linear trees
(``linear_tree=True``), whose leaves are linear models rather than constants.

What is read:

* ``leaf_value`` into ``value`` (shrinkage and the initial score are already folded into it by
  LightGBM), in column ``tree_index % num_tree_per_iteration`` (the class, for multi-class models);
  ``base_offset`` is zero;
* random forests (``boosting="rf"``, dumped with ``average_output``): the leaf values are divided by
  the number of iterations, so the margin is the trees' *average*, the scale of ``predict`` (and of
  ``predict_proba``, the logistic of the average). LightGBM's ``predict(raw_score=True)`` returns the
  trees' *sum* instead (n_iterations times larger), which is the scale shap explains;
* ``internal_count`` / ``leaf_count`` (training rows reaching the node) into ``cover``;
* feature names: LightGBM stores a DataFrame's column names with spaces made underscores
  (:func:`clean_feature_name`); :func:`matches_cleaned_names` tells the frame's own names from others.

Routing, as LightGBM predicts (checked against its predictions; values are compared as float64):

* numeric splits (``decision_type "<="``): left iff ``x <= threshold``. ``missing_type "NaN"``: NaN goes to
  the ``default_left`` side; ``"Zero"`` (``zero_as_missing=True``): NaN and zeros (``|x| <= 1e-35``) go to the
  ``default_left`` side; ``"None"`` (``use_missing=False``, or no missing value seen in training): NaN is
  compared as 0.0. These are ``missing_kind`` 0, 1 and 2 of :class:`TreeEnsemble`.
* categorical splits (``decision_type "=="``, threshold ``"a||b||c"``): the listed categories go LEFT,
  anything else goes right: unseen categories, NaN (whatever ``missing_type`` and ``default_left`` say) and
  values whose integer part is negative. A non-integral value is truncated toward zero first (``2.7`` is
  category 2, ``-0.5`` is category 0). The parser stores categorical nodes with ``missing_kind`` 0 and
  ``missing_left`` False so that NaN goes right, and ``cat_mode=1`` (truncation toward zero).
  Categorical inputs are the values LightGBM was trained on: the integers of ``categorical_feature``
  columns, or for pandas data the codes of the training categories (``Series.cat.codes``).

Examples
--------
>>> import numpy as np, pytest
>>> lgb = pytest.importorskip("lightgbm")
>>> X = np.arange(40.0).reshape(20, 2)
>>> model = lgb.LGBMRegressor(n_estimators=3, min_child_samples=2, verbose=-1).fit(X, X[:, 0])
>>> ens = from_lightgbm(model)
>>> ens.n_trees, ens.strict, ens.input_float32
(3, False, False)
>>> bool(np.allclose(ens.predict(X)[:, 0], model.predict(X), rtol=0, atol=1e-10))
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from xaikit._optional import import_optional
from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.models.trees import MISSING_NAN, MISSING_NONE, MISSING_ZERO, TreeEnsemble

__all__ = ["OBJECTIVES", "clean_feature_name", "from_dump", "from_lightgbm", "matches_cleaned_names"]

#: Supported objectives -> transform from the raw score to the response scale.
OBJECTIVES: dict[str, str] = {
    "regression": "identity",
    "regression_l1": "identity",
    "huber": "identity",
    "fair": "identity",
    "quantile": "identity",
    "mape": "identity",
    "custom": "identity",
    "binary": "logistic",
    "cross_entropy": "logistic",
    "multiclassova": "logistic",
    "multiclass": "softmax",
    "poisson": "exp",
    "gamma": "exp",
    "tweedie": "exp",
    "lambdarank": "identity",
    "rank_xendcg": "identity",
}

_MISSING_KINDS = {"NaN": MISSING_NAN, "Zero": MISSING_ZERO, "None": MISSING_NONE}


def from_lightgbm(model: Any) -> TreeEnsemble:
    """Parse a LightGBM ``Booster`` or scikit-learn wrapper into a :class:`TreeEnsemble`.

    Raises :class:`UnsupportedModelError` for an unsupported objective or linear trees, and
    :class:`InvalidParameterError` for an unfitted wrapper.
    """
    lgb = import_optional("lightgbm", "trees")
    booster = _unwrap(model, lgb)
    name = type(model).__name__
    classes = getattr(model, "classes_", None) if hasattr(model, "booster_") else None
    return from_dump(booster.dump_model(), name=name, library=f"lightgbm.{name}", classes=classes)


def from_dump(dump: dict[str, Any], *, name: str, library: str, classes: Any = None, scale: str = "") -> TreeEnsemble:
    """The ensemble of a ``dump_model()`` dictionary (LightGBM's format, which GPBoost shares); ``classes`` name
    a classifier's outputs and ``scale`` is prepended to the scale notes of the objective."""
    transform, sigmoid = _objective(dump.get("objective"), name)
    n_outputs = int(dump.get("num_tree_per_iteration", 1))
    trees = dump["tree_info"]
    if not trees:
        raise UnsupportedModelError(f"model: expected a {library.split('.')[0]} model with at least one tree, got none ({name})")
    # the log-odds of a sigmoid-scaled objective are sigmoid * raw score: folded into the leaves
    factor = sigmoid
    notes = [scale] if scale else []
    if sigmoid != 1.0:
        notes.append(f"the log-odds, sigmoid x raw_score (sigmoid={sigmoid:g}): LightGBM's raw_score and shap's values "
                     f"are these divided by {sigmoid:g}")
    if dump.get("average_output"):
        rounds = len(trees) // n_outputs
        factor /= rounds
        notes.append(f"the trees' average, the scale of predict (boosting='rf'): LightGBM's raw_score and shap's "
                     f"values are the trees' sum, {rounds} x these")
    arrays = _flatten(trees, n_outputs, factor, name)
    return TreeEnsemble.from_arrays(
        **arrays,
        n_features=int(dump["max_feature_idx"]) + 1,
        strict=False,
        input_float32=False,
        cat_invalid_missing=False,
        cat_mode=1,
        transform=transform,
        library=library,
        output_names=_output_names(classes, n_outputs),
        scale="; ".join(notes),
    )


# ---------------------------------------------------------------------- helpers
def _unwrap(model: Any, lgb: Any) -> Any:
    """The model's :class:`lightgbm.Booster`."""
    if isinstance(model, lgb.Booster):
        return model
    if isinstance(model, lgb.LGBMModel):
        try:
            return model.booster_
        except Exception as exc:  # LGBMNotFittedError
            raise InvalidParameterError(
                f"model: expected a fitted {type(model).__name__}, got an unfitted one: it is not fitted; "
                "call fit first"
            ) from exc
    raise UnsupportedModelError(
        f"model: expected a lightgbm.Booster or a LightGBM scikit-learn estimator, got {type(model).__name__}"
    )


def _objective(text: str | None, name: str) -> tuple[str, float]:
    """The objective's transform and ``sigmoid`` parameter (1 where it has none), from the dumped
    ``"binary sigmoid:1"``-style string."""
    words = (text or "custom").split()
    objective = words[0]
    options = dict(w.split(":", 1) for w in words[1:] if ":" in w)
    if objective not in OBJECTIVES:
        raise UnsupportedModelError(
            f"model: expected a LightGBM objective among {sorted(OBJECTIVES)}, got objective {objective!r} ({name})"
        )
    if "sqrt" in words[1:]:
        raise UnsupportedModelError(
            f"model: expected objective {objective!r} without reg_sqrt, got {text!r} ({name}); its response is "
            "sign(s) * s**2 of the raw score, which is not a supported transform"
        )
    # the sigmoid of a ranking objective shapes its gradients only: its score is the raw score
    sigmoid = float(options.get("sigmoid", 1.0)) if OBJECTIVES[objective] == "logistic" else 1.0
    if not (math.isfinite(sigmoid) and sigmoid > 0.0):
        raise UnsupportedModelError(
            f"model: expected objective {objective!r} with a positive finite sigmoid, got {text!r} ({name})"
        )
    return OBJECTIVES[objective], sigmoid


def clean_feature_name(name: Any) -> str:
    """A column name as LightGBM stores it: spaces become underscores.

    >>> clean_feature_name("petal length")
    'petal_length'
    """
    return str(name).replace(" ", "_")


def matches_cleaned_names(columns: Sequence[Any], names: Sequence[str]) -> bool:
    """Whether ``columns`` (a DataFrame's) are the feature ``names`` a LightGBM model stored once cleaned
    (LightGBM accepts that very DataFrame).

    >>> matches_cleaned_names(["petal length", "width"], ["petal_length", "width"])
    True
    >>> matches_cleaned_names(["width", "petal length"], ["petal_length", "width"])
    False
    """
    return len(columns) == len(names) and all(clean_feature_name(c) == str(n) for c, n in zip(columns, names))


def _flatten(trees: list[dict[str, Any]], n_outputs: int, scale: float, name: str) -> dict[str, Any]:
    """Walk every dumped tree (iteratively: trees can be deep) into flat node arrays."""
    left: list[int] = []
    right: list[int] = []
    feature: list[int] = []
    threshold: list[float] = []
    missing_left: list[bool] = []
    missing_kind: list[int] = []
    categorical: list[bool] = []
    cover: list[float] = []
    leaf_out: list[tuple[int, int, float]] = []  # (node, output, value)
    cat_sets: dict[int, list[int]] = {}
    roots = np.zeros(len(trees), dtype=np.int64)
    for t, tree in enumerate(trees):
        out = int(tree.get("tree_index", t)) % n_outputs
        stack: list[tuple[dict[str, Any], int, bool]] = [(tree["tree_structure"], -1, False)]
        roots[t] = len(left)
        while stack:
            node, parent, is_left = stack.pop()
            idx = len(left)
            if parent >= 0:
                (left if is_left else right)[parent] = idx
            left.append(-1)
            right.append(-1)
            if "leaf_value" in node:
                if "leaf_coeff" in node or "leaf_const" in node:
                    raise UnsupportedModelError(
                        f"model: expected constant leaves, got linear trees (linear_tree=True) ({name})"
                    )
                feature.append(-1)
                threshold.append(0.0)
                missing_left.append(False)
                missing_kind.append(MISSING_NAN)
                categorical.append(False)
                cover.append(float(node.get("leaf_count", 0)))
                leaf_out.append((idx, out, float(node["leaf_value"]) * scale))
                continue
            feature.append(int(node["split_feature"]))
            cover.append(float(node.get("internal_count", 0)))
            if node.get("decision_type", "<=") == "==":
                # categorical: listed categories go left; NaN and anything else go right
                cat_sets[idx] = [int(c) for c in str(node["threshold"]).split("||") if c != ""]
                threshold.append(0.0)
                missing_left.append(False)
                missing_kind.append(MISSING_NAN)
                categorical.append(True)
            elif node.get("decision_type", "<=") == "<=":
                threshold.append(float(node["threshold"]))
                missing_left.append(bool(node.get("default_left", False)))
                missing_kind.append(_MISSING_KINDS[str(node.get("missing_type", "None"))])
                categorical.append(False)
            else:
                raise UnsupportedModelError(
                    f"model: expected split decision types '<=' or '==', got {node.get('decision_type')!r} ({name})"
                )
            stack.append((node["right_child"], idx, False))
            stack.append((node["left_child"], idx, True))
    n = len(left)
    value = np.zeros((n, n_outputs))
    for idx, out, v in leaf_out:
        value[idx, out] = v
    cat_offset = np.zeros(n, dtype=np.int64)
    cat_len = np.zeros(n, dtype=np.int64)
    words: list[np.ndarray] = []
    n_words = 0
    for idx, cats in cat_sets.items():
        cats = [c for c in cats if c >= 0]
        size = (max(cats) // 32 + 1) if cats else 0
        packed = np.zeros(size, dtype=np.uint32)
        for c in cats:
            packed[c >> 5] |= np.uint32(1) << np.uint32(c & 31)
        cat_offset[idx], cat_len[idx] = n_words, size
        words.append(packed)
        n_words += size
    return {
        "roots": roots,
        "left": left,
        "right": right,
        "feature": feature,
        "threshold": threshold,
        "missing_left": missing_left,
        "missing_kind": missing_kind,
        "categorical": categorical,
        "cover": cover,
        "value": value,
        "cat_offset": cat_offset,
        "cat_len": cat_len,
        "cat_bits": np.concatenate(words) if words else np.zeros(0, dtype=np.uint32),
    }


def _output_names(classes: Any, n_outputs: int) -> list[str] | None:
    """Class labels for classifiers (the positive class for binary), else None."""
    if classes is None:
        return None
    labels = [str(c) for c in np.asarray(classes).tolist()]
    if n_outputs == 1 and len(labels) == 2:
        return labels[1:]
    return labels if len(labels) == n_outputs else None
