"""Parse fitted scikit-learn tree models into a :class:`~xaikit.models.trees.TreeEnsemble`.

Supported models and their raw output (``TreeEnsemble.predict_raw``), found by the first class of the
model's type hierarchy that is one of them (a user's subclass of ``RandomForestRegressor`` is parsed as
a ``RandomForestRegressor``; ``library`` names that class, and the subclass's own prediction is
checked against its trees' on rows either side of their thresholds: one that overrides it with something
else is refused):

* ``DecisionTree*``, ``ExtraTree*``, ``RandomForest*``, ``ExtraTrees*``: ``predict`` for regressors,
  ``predict_proba`` (one output per class, ``transform="identity"``) for classifiers; forests average
  their trees. Inputs are compared in float32, ``x <= threshold`` goes left, and NaN follows each
  node's ``missing_go_to_left`` (where no training sample reaching the node lacked the split feature,
  scikit-learn stores ``n_left > n_right``, unweighted sample counts: the larger child, ties right).
  Fitted on ``y`` of shape ``(n, k)``: a regressor has the ``k`` columns of ``predict`` as outputs; a
  classifier has the columns of every target's ``predict_proba`` side by side (target ``j``'s class
  ``c`` is the output named ``"output{j}={c}"``): probabilities are additive over the trees, so no
  softmax group is needed.
* ``GradientBoosting*``: ``_raw_predict`` (``decision_function`` of classifiers), float32 inputs.
  scikit-learn's boosting prediction routine ignores ``missing_go_to_left`` and compares NaN with
  ``<=``, so NaN always goes right (``fit`` and ``predict`` reject NaN anyway). With
  ``loss="exponential"`` scikit-learn's probability is ``expit(2 * decision_function)``: the raw
  output is the log-odds ``2 * decision_function`` (so that the logistic transform gives
  ``predict_proba``), twice the scale of the model's own ``decision_function`` (and of shap's
  values); :func:`decision_function_scale` gives that factor for any model.
* ``HistGradientBoosting*``: ``_raw_predict`` (``decision_function`` of classifiers), float64 inputs.
  NaN follows ``missing_go_to_left`` (for a feature without NaN in the training data, the grower sets
  it to the child with more samples, ties right).
  Native categorical features given as indices or a mask on numeric input must have been trained
  on non-negative integer category values. scikit-learn ordinal-encodes them: a value seen in
  training goes to the side its code was assigned to; NaN, a negative, non-integral or unseen value
  goes where missing values go. The parser rewrites each categorical split on the raw values (and
  swaps the children where missing values go left) so that this holds with ``cat_invalid_missing``.
  Fitted on pandas ``category`` columns (``categorical_features="from_dtype"``), the model's
  preprocessor moves the categorical columns first; the parser maps every split back to the input
  column, and a categorical value is its position in the training categories
  (:func:`training_categories`; TreeShap converts ``category`` columns of a DataFrame to them).
* ``IsolationForest``: the average path length ``E[h(x)]`` over the trees (leaf depth plus the
  average-path-length correction of the leaf's training sample count); ``score_samples`` is
  ``-2 ** (-E[h(x)] / c(max_samples))``, a monotone function of it.

Examples
--------
>>> import numpy as np
>>> from sklearn.tree import DecisionTreeRegressor
>>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0.0, 0.0, 1.0, 3.0])
>>> model = DecisionTreeRegressor(max_depth=1).fit(X, y)
>>> ens = from_sklearn(model)
>>> ens.library, ens.n_trees, ens.n_outputs
('sklearn.tree.DecisionTreeRegressor', 1, 1)
>>> bool(np.allclose(ens.predict_raw(X)[:, 0], model.predict(X)))
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.models.trees import TreeEnsemble

__all__ = ["decision_function_scale", "from_sklearn", "is_tree_type", "training_categories"]

#: Largest raw category value a HistGradientBoosting categorical split may use (bitset size bound).
MAX_CATEGORY = 2**20

_Parser = Callable[[Any, str], TreeEnsemble]


def _dotted_name(obj: Any) -> str:
    """The public dotted type name (private submodules such as ``_forest`` dropped)."""
    t = type(obj)
    parts = [p for p in t.__module__.split(".") if not p.startswith("_")]
    return ".".join([*parts, t.__qualname__])


def _parsers() -> dict[type, tuple[str, _Parser]]:
    """Exact scikit-learn types -> (public dotted name, parser)."""
    from sklearn import ensemble, tree

    table: dict[type, tuple[str, _Parser]] = {}
    for cls in (tree.DecisionTreeRegressor, tree.DecisionTreeClassifier, tree.ExtraTreeRegressor,
                tree.ExtraTreeClassifier):
        table[cls] = (f"sklearn.tree.{cls.__name__}", _from_decision_trees)
    for cls in (ensemble.RandomForestRegressor, ensemble.RandomForestClassifier, ensemble.ExtraTreesRegressor,
                ensemble.ExtraTreesClassifier):
        table[cls] = (f"sklearn.ensemble.{cls.__name__}", _from_decision_trees)
    for cls in (ensemble.GradientBoostingRegressor, ensemble.GradientBoostingClassifier):
        table[cls] = (f"sklearn.ensemble.{cls.__name__}", _from_gradient_boosting)
    for cls in (ensemble.HistGradientBoostingRegressor, ensemble.HistGradientBoostingClassifier):
        table[cls] = (f"sklearn.ensemble.{cls.__name__}", _from_hist_gradient_boosting)
    table[ensemble.IsolationForest] = ("sklearn.ensemble.IsolationForest", _from_isolation_forest)
    return table


def _entry(model: Any) -> tuple[str, _Parser] | None:
    """The (name, parser) of the first class of ``type(model)``'s method resolution order that the parser
    knows (the type itself, or the supported base of a subclass)."""
    table = _parsers()
    for cls in type(model).__mro__:
        if cls in table:
            return table[cls]
    return None


def _probe_rows(ens: TreeEnsemble, n_rows: int = 32) -> np.ndarray:
    """Rows just either side of the ensemble's split thresholds (0.0 for features never split on)."""
    rng = np.random.default_rng(0)
    X = np.zeros((n_rows, ens.n_features))
    inner = ens.left >= 0
    for f in range(ens.n_features):
        t = ens.threshold[inner & (ens.feature == f)]
        if t.size:
            pick = rng.choice(t, size=n_rows)
            X[:, f] = pick + rng.choice([-1.0, 1.0], size=n_rows) * 1e-3 * np.maximum(1.0, np.abs(pick))
    return X


def _check_subclass(model: Any, ens: TreeEnsemble, library: str) -> None:
    """Raise if a subclass's own prediction differs from its parsed trees' (it overrides ``predict``
    with something else than its base's prediction): checked on rows either side of the thresholds."""
    got_name = _dotted_name(model)
    rows = _probe_rows(ens)
    try:
        if library == "sklearn.ensemble.IsolationForest":
            from sklearn.ensemble._iforest import _average_path_length

            method = "score_samples"
            expected = np.asarray(model.score_samples(rows), dtype=np.float64)[:, None]
            c = float(_average_path_length([model._max_samples])[0])
            got = -(2.0 ** (-ens.predict_raw(rows) / c)) if c > 0 else -np.ones((len(rows), 1))
        elif getattr(model, "classes_", None) is not None:
            method = "predict_proba"
            proba = model.predict_proba(rows)
            expected = np.hstack(proba) if isinstance(proba, list) else np.asarray(proba, dtype=np.float64)
            got = ens.predict(rows)
            if got.shape[1] == 1 and expected.shape[1] == 2:
                expected = expected[:, 1:]
        else:
            method = "predict"
            expected = np.asarray(model.predict(rows), dtype=np.float64).reshape(len(rows), -1)
            got = ens.predict(rows)
    except Exception as exc:  # the subclass's own prediction code failed on plain numeric rows
        raise UnsupportedModelError(
            f"model: expected a subclass of {library} whose prediction can be checked on numeric rows, got "
            f"{got_name}, whose prediction raised {type(exc).__name__}: {exc}"
        ) from None
    expected = np.asarray(expected, dtype=np.float64)
    if expected.shape != got.shape or not np.allclose(got, expected, rtol=1e-7, atol=1e-9):
        raise UnsupportedModelError(
            f"model: expected a subclass of {library} that predicts with its base's trees, got {got_name}, "
            f"whose {method} differs from its trees' (it overrides the prediction); explain it with a "
            "model-agnostic method"
        )


def from_sklearn(model: Any) -> TreeEnsemble:
    """Parse a fitted scikit-learn tree model (see the module docstring for what is supported).

    Raises :class:`UnsupportedModelError` for other types and features that cannot be represented,
    and :class:`InvalidParameterError` for an unfitted model.
    """
    entry = _entry(model)
    if entry is None:
        got = _dotted_name(model)
        if got in ("sklearn.pipeline.Pipeline", "sklearn.compose.ColumnTransformer"):
            raise UnsupportedModelError(
                f"model: TreeShap does not support a {type(model).__name__}; expected a fitted scikit-learn tree "
                f"model, got {got}. Pass the final estimator (pipeline[-1]) and explain data transformed by the "
                "preceding steps (pipeline[:-1].transform(X)), or use a model-agnostic explainer"
            )
        raise UnsupportedModelError(
            "model: expected a fitted scikit-learn DecisionTree*, ExtraTree*, RandomForest*, ExtraTrees*, "
            f"GradientBoosting*, HistGradientBoosting* or IsolationForest model, got {got}"
        )
    library, parser = entry
    _check_fitted(model, library)
    ens = parser(model, library)
    if _parsers().get(type(model)) is None:
        _check_subclass(model, ens, library)
    return ens


def is_tree_type(model: Any) -> bool:
    """Whether ``model`` is of a scikit-learn tree model type the parser knows (fitted or not, supported
    in every detail or not), or of a subclass of one."""
    return _entry(model) is not None


def decision_function_scale(model: Any) -> float:
    """How many times the model's own raw score (``decision_function`` of a classifier, ``predict`` of a
    regressor) the parsed ensemble's raw output is: 2.0 for ``GradientBoostingClassifier(loss="exponential")``
    (whose log-odds are ``2 * decision_function``), 1.0 for every other model.

    >>> import numpy as np
    >>> from sklearn.ensemble import GradientBoostingClassifier
    >>> X = np.arange(8.0)[:, None]; y = np.array([0, 0, 1, 0, 1, 1, 0, 1])
    >>> model = GradientBoostingClassifier(loss="exponential", n_estimators=3).fit(X, y)
    >>> decision_function_scale(model)
    2.0
    >>> bool(np.allclose(from_sklearn(model).predict_raw(X)[:, 0], 2.0 * model.decision_function(X)))
    True
    """
    entry = _entry(model)
    if entry is None or entry[1] is not _from_gradient_boosting:
        return 1.0
    return _link_transform(model, entry[0])[1]


def _check_fitted(model: Any, library: str) -> None:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(model)
    except NotFittedError:
        raise InvalidParameterError(
            f"model: expected a fitted {library}, got an unfitted one: it is not fitted; call fit first"
        ) from None


# ---------------------------------------------------------------------- assembling
class _Builder:
    """Collects trees with local node indices and concatenates them into one TreeEnsemble."""

    def __init__(self, n_outputs: int) -> None:
        self.n_outputs = n_outputs
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in (
            "left", "right", "feature", "threshold", "missing_left", "categorical", "cat_offset", "cat_len",
            "value", "cover")}
        self.roots: list[int] = []
        self.cat_words: list[np.ndarray] = []
        self.n_nodes = 0
        self.n_words = 0

    def add_bitset(self, words: np.ndarray) -> int:
        """Append a bitset to ``cat_bits``; return its offset."""
        offset = self.n_words
        self.cat_words.append(np.asarray(words, dtype=np.uint32))
        self.n_words += len(words)
        return offset

    def add_tree(self, *, left: np.ndarray, right: np.ndarray, feature: np.ndarray, threshold: np.ndarray,
                 missing_left: np.ndarray, value: np.ndarray, cover: np.ndarray,
                 categorical: np.ndarray | None = None, cat_offset: np.ndarray | None = None,
                 cat_len: np.ndarray | None = None) -> None:
        """Add one tree whose children are local indices (``-1`` at leaves) and root is node 0."""
        n = len(left)
        leaf = np.asarray(left) < 0
        self.roots.append(self.n_nodes)
        self.parts["left"].append(np.where(leaf, -1, np.asarray(left, dtype=np.int64) + self.n_nodes))
        self.parts["right"].append(np.where(leaf, -1, np.asarray(right, dtype=np.int64) + self.n_nodes))
        self.parts["feature"].append(np.where(leaf, -1, np.asarray(feature, dtype=np.int64)))
        self.parts["threshold"].append(np.where(leaf, 0.0, np.asarray(threshold, dtype=np.float64)))
        self.parts["missing_left"].append(np.asarray(missing_left, dtype=bool) & ~leaf)
        self.parts["categorical"].append(np.zeros(n, dtype=bool) if categorical is None else categorical & ~leaf)
        self.parts["cat_offset"].append(np.zeros(n, dtype=np.int64) if cat_offset is None else cat_offset)
        self.parts["cat_len"].append(np.zeros(n, dtype=np.int64) if cat_len is None else cat_len)
        self.parts["value"].append(np.asarray(value, dtype=np.float64).reshape(n, self.n_outputs))
        self.parts["cover"].append(np.asarray(cover, dtype=np.float64))
        self.n_nodes += n

    def build(self, **options: Any) -> TreeEnsemble:
        """The concatenated ensemble; ``options`` go to :meth:`TreeEnsemble.from_arrays`."""
        arrays: dict[str, Any] = {k: np.concatenate(v) for k, v in self.parts.items()}
        cat_bits = np.concatenate(self.cat_words) if self.cat_words else np.zeros(0, dtype=np.uint32)
        return TreeEnsemble.from_arrays(roots=np.asarray(self.roots, dtype=np.int64), cat_bits=cat_bits,
                                        **arrays, **options)


def _sklearn_tree(builder: _Builder, tree: Any, value: np.ndarray, *, feature_map: np.ndarray | None = None,
                  honour_missing: bool = True) -> None:
    """Add a ``sklearn.tree._tree.Tree`` with the given per-node ``value`` ``(n_nodes, n_outputs)``."""
    feature = np.asarray(tree.feature, dtype=np.int64)
    if feature_map is not None:
        feature = np.where(feature >= 0, np.asarray(feature_map, dtype=np.int64)[np.maximum(feature, 0)], -1)
    missing = np.asarray(tree.missing_go_to_left, dtype=bool) if honour_missing else np.zeros(tree.node_count, bool)
    builder.add_tree(left=tree.children_left, right=tree.children_right, feature=feature, threshold=tree.threshold,
                     missing_left=missing, value=value, cover=tree.weighted_n_node_samples)


# ---------------------------------------------------------------------- decision trees and forests
def _target_classes(model: Any) -> list[np.ndarray] | None:
    """The classes of each target of a classifier (one list per column of ``y``); None for a regressor."""
    classes = getattr(model, "classes_", None)
    if classes is None:
        return None
    if int(getattr(model, "n_outputs_", 1)) == 1:
        return [np.asarray(classes)]
    return [np.asarray(c) for c in classes]


def _from_decision_trees(model: Any, library: str) -> TreeEnsemble:
    """Single trees and random / extra-trees forests: probabilities or means, averaged over trees; one
    output per target of a regressor, one per class of each target of a classifier."""
    trees = [model] if hasattr(model, "tree_") else list(model.estimators_)
    n_targets = int(getattr(model, "n_outputs_", 1))
    classes = _target_classes(model)
    if classes is None:
        names = None
        sizes = [1] * n_targets
    elif n_targets == 1:
        names = [str(c) for c in classes[0]]
        sizes = [len(classes[0])]
    else:
        names = [f"output{j}={c}" for j, cls in enumerate(classes) for c in cls]
        sizes = [len(c) for c in classes]
    builder = _Builder(sum(sizes))
    for est in trees:
        tree = est.tree_
        stored = np.asarray(tree.value, dtype=np.float64)  # (n_nodes, n_targets, max_n_classes)
        parts = []
        for j, size in enumerate(sizes):
            value = stored[:, j, :size]
            if classes is not None:  # class fractions (scikit-learn >= 1.4 already stores fractions)
                total = value.sum(axis=1, keepdims=True)
                value = np.divide(value, total, out=np.zeros_like(value), where=total > 0)
            parts.append(value)
        _sklearn_tree(builder, tree, np.concatenate(parts, axis=1) / len(trees))
    return builder.build(n_features=model.n_features_in_, input_float32=True, strict=False, transform="identity",
                         library=library, output_names=names)


# ---------------------------------------------------------------------- gradient boosting
def _link_transform(model: Any, library: str) -> tuple[str, float]:
    """``(transform, scale)`` from the model's loss link; raw margins are multiplied by ``scale``."""
    link = type(model._loss.link).__name__
    table = {"IdentityLink": ("identity", 1.0), "LogLink": ("exp", 1.0), "LogitLink": ("logistic", 1.0),
             "HalfLogitLink": ("logistic", 2.0), "MultinomialLogit": ("softmax", 1.0)}
    if link not in table:
        raise UnsupportedModelError(
            f"model: expected a {library} whose loss has an identity, log, logit or multinomial link, got loss "
            f"{type(model._loss).__name__} with link {link}"
        )
    return table[link]


def _output_names(model: Any) -> list[str] | None:
    classes = getattr(model, "classes_", None)
    if classes is None:
        return None
    names = [str(c) for c in classes]
    return names[1:] if len(names) == 2 else names


def _constant_init(model: Any, library: str) -> np.ndarray:
    """The initial raw prediction, ``(K,)``; raises if the ``init`` estimator's prediction depends on X."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    init = model.init_
    constant = (
        (isinstance(init, str) and init == "zero")
        or type(init) is DummyRegressor
        or (type(init) is DummyClassifier and init.strategy != "stratified")
    )
    if not constant:
        raise UnsupportedModelError(
            f"model: expected a {library} with init=None, 'zero' or a DummyRegressor/DummyClassifier (a constant "
            f"initial prediction), got init={_dotted_name(init)} whose prediction depends on X"
        )
    row = np.zeros((1, model.n_features_in_), dtype=np.float32)
    return np.asarray(model._raw_predict_init(row), dtype=np.float64)[0]


def _from_gradient_boosting(model: Any, library: str) -> TreeEnsemble:
    """GradientBoosting*: ``learning_rate`` folded into the leaves, the init prediction into ``base_offset``."""
    transform, scale = _link_transform(model, library)
    estimators = model.estimators_
    n_iter, k_trees = estimators.shape
    base = _constant_init(model, library)
    builder = _Builder(k_trees)
    lr = float(model.learning_rate)
    for i in range(n_iter):
        for k in range(k_trees):
            tree = estimators[i, k].tree_
            value = np.zeros((tree.node_count, k_trees))
            value[:, k] = lr * np.asarray(tree.value, dtype=np.float64)[:, 0, 0]
            # scikit-learn's boosting predictor compares NaN with <=, so NaN goes right at every node
            _sklearn_tree(builder, tree, value * scale, honour_missing=False)
    note = ("the log-odds, 2 x decision_function (loss='exponential'): twice the values of the model's own "
            "decision_function, which shap explains") if scale != 1.0 else ""
    return builder.build(n_features=model.n_features_in_, base_offset=base * scale, input_float32=True, strict=False,
                         transform=transform, library=library, output_names=_output_names(model), scale=note)


# ---------------------------------------------------------------------- histogram gradient boosting
def _hgb_columns(model: Any, library: str) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Map from the predictors' feature index to the input column, and the raw category values of each
    categorical input column (index = ordinal code)."""
    n_features = int(model.n_features_in_)
    pre = model._preprocessor
    if pre is None:
        return np.arange(n_features), {}
    by_position = _categories_by_position(model)
    columns = np.full(n_features, -1, dtype=np.int64)
    categories: dict[int, np.ndarray] = {}
    for name, transformer, selected in pre.transformers_:
        if name not in pre.output_indices_ or isinstance(transformer, str):
            continue
        orig = np.arange(n_features)[selected]
        out = np.arange(n_features)[pre.output_indices_[name]]
        if len(orig) != len(out):
            raise UnsupportedModelError(
                f"model: expected the {library} preprocessor to keep every column, got {len(out)} outputs from "
                f"{len(orig)} inputs in its {name!r} step"
            )
        columns[out] = orig
        if name == "encoder":
            for col, cats in zip(out, transformer.categories_, strict=True):
                if by_position:  # the input holds positions in the training categories (see training_categories)
                    categories[int(col)] = np.arange(len(_known(cats)), dtype=np.int64)
                else:
                    categories[int(col)] = _integer_categories(np.asarray(cats), int(columns[col]), library)
    if np.any(columns < 0):
        raise UnsupportedModelError(f"model: expected every {library} feature to come from one input column, got "
                                    f"an unmapped column layout {columns.tolist()}")
    return columns, categories


def _categories_by_position(model: Any) -> bool:
    """Whether a HistGradientBoosting model's categorical columns are read as positions in its training
    categories: those fitted on pandas ``category`` columns (``categorical_features="from_dtype"``)."""
    cf = getattr(model, "categorical_features", None)
    return isinstance(cf, str) and cf == "from_dtype" and getattr(model, "_preprocessor", None) is not None


def _known(cats: Any) -> list[Any]:
    """Training categories of one column without the missing-value category (NaN or None, always last)."""
    out = list(np.asarray(cats, dtype=object).tolist())
    while out and (out[-1] is None or (isinstance(out[-1], float) and np.isnan(out[-1]))):
        out.pop()
    return out


def training_categories(model: Any) -> list[list[Any]] | None:
    """The categories of each pandas ``category`` column, in column order, of a HistGradientBoosting model
    fitted with ``categorical_features="from_dtype"`` (None for any other model).

    Such a model's internal preprocessor puts the categorical columns first and ordinal-encodes them by
    their position in these lists; the parsed ensemble reads its input columns in the model's own order
    with each categorical value given as that position (NaN or an unseen category: missing).

    >>> import pandas as pd
    >>> from sklearn.ensemble import HistGradientBoostingRegressor
    >>> frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0] * 5, "c": pd.Categorical(list("abba") * 5)})
    >>> model = HistGradientBoostingRegressor(max_iter=2).fit(frame, frame["x"])
    >>> training_categories(model)
    [['a', 'b']]
    """
    if not _categories_by_position(model):
        return None
    encoder = model._preprocessor.named_transformers_["encoder"]
    return [_known(c) for c in encoder.categories_] or None


def _integer_categories(cats: np.ndarray, column: int, library: str) -> np.ndarray:
    """The training categories of ``column`` (NaN dropped) as non-negative integers."""
    if cats.dtype.kind not in "biuf":
        raise UnsupportedModelError(
            f"model: expected the {library} categorical feature {column} to have numeric categories, got "
            f"{cats.dtype} categories; ordinal-encode them as 0..k-1 and pass numeric input"
        )
    cats = cats.astype(np.float64)
    cats = cats[~np.isnan(cats)]
    if np.any(cats < 0) or np.any(cats != np.floor(cats)) or np.any(cats > MAX_CATEGORY):
        raise UnsupportedModelError(
            f"model: expected the {library} categorical feature {column} to be coded as integers in "
            f"[0, {MAX_CATEGORY}], got categories {cats[:8].tolist()}{' ...' if cats.size > 8 else ''}; "
            "ordinal-encode them as 0..k-1"
        )
    return cats.astype(np.int64)


def _bitset_words(values: np.ndarray) -> np.ndarray:
    """uint32 words with bit ``c % 32`` of word ``c // 32`` set for each ``c`` in ``values``."""
    n_words = int(values.max()) // 32 + 1 if values.size else 1
    words = np.zeros(n_words, dtype=np.uint32)
    for c in values:
        words[c >> 5] |= np.uint32(1) << np.uint32(c & 31)
    return words


def _in_bitset(words: np.ndarray, codes: np.ndarray) -> np.ndarray:
    words = np.asarray(words, dtype=np.uint32)
    return ((words[codes >> 5] >> (codes & 31).astype(np.uint32)) & 1).astype(bool)


def _from_hist_gradient_boosting(model: Any, library: str) -> TreeEnsemble:
    """HistGradientBoosting*: leaves already hold shrunk values; ``_baseline_prediction`` is the offset."""
    transform, scale = _link_transform(model, library)
    columns, categories = _hgb_columns(model, library)
    k_trees = int(model.n_trees_per_iteration_)
    builder = _Builder(k_trees)
    for predictors in model._predictors:
        for k, predictor in enumerate(predictors):
            nodes = predictor.nodes
            n = len(nodes)
            leaf = nodes["is_leaf"].astype(bool)
            left = np.where(leaf, -1, nodes["left"].astype(np.int64))
            right = np.where(leaf, -1, nodes["right"].astype(np.int64))
            missing = nodes["missing_go_to_left"].astype(bool)
            feature = np.where(leaf, -1, columns[np.where(leaf, 0, nodes["feature_idx"])])
            categorical = nodes["is_categorical"].astype(bool) & ~leaf
            cat_offset = np.zeros(n, dtype=np.int64)
            cat_len = np.zeros(n, dtype=np.int64)
            for node in np.flatnonzero(categorical):
                cats = categories.get(int(nodes["feature_idx"][node]))
                if cats is None:
                    raise UnsupportedModelError(
                        f"model: expected the {library} categorical split at node {node} to use an encoded "
                        f"feature, got feature {int(nodes['feature_idx'][node])} without known categories"
                    )
                codes = np.arange(cats.size)
                goes_left = _in_bitset(predictor.raw_left_cat_bitsets[nodes["bitset_idx"][node]], codes)
                if missing[node]:
                    # unseen categories follow the missing values (left): swap the children so that they
                    # fall on the right, where every category outside the left bitset goes
                    left[node], right[node] = right[node], left[node]
                    missing[node] = False
                    goes_left = ~goes_left
                words = _bitset_words(cats[goes_left])
                cat_offset[node] = builder.add_bitset(words)
                cat_len[node] = len(words)
            value = np.zeros((n, k_trees))
            value[:, k] = nodes["value"] * scale
            builder.add_tree(left=left, right=right, feature=feature, threshold=nodes["num_threshold"],
                             missing_left=missing, value=value, cover=nodes["count"], categorical=categorical,
                             cat_offset=cat_offset, cat_len=cat_len)
    base = np.asarray(model._baseline_prediction, dtype=np.float64).reshape(-1) * scale
    return builder.build(n_features=model.n_features_in_, base_offset=base, input_float32=False, strict=False,
                         cat_invalid_missing=True, transform=transform, library=library,
                         output_names=_output_names(model))


# ---------------------------------------------------------------------- isolation forest
def _from_isolation_forest(model: Any, library: str) -> TreeEnsemble:
    """IsolationForest: leaf value = (depth + c(n_leaf_samples)) / n_trees, so the raw output is E[h(x)]."""
    from sklearn.ensemble._iforest import _average_path_length

    n_trees = len(model.estimators_)
    subsample = model._max_features != model.n_features_in_
    # the per-tree arrays IsolationForest._compute_score_samples uses (recomputed if absent)
    depths = getattr(model, "_decision_path_lengths", None)
    if depths is None:
        depths = [est.tree_.compute_node_depths() for est in model.estimators_]
    corrections = getattr(model, "_average_path_length_per_tree", None)
    if corrections is None:
        corrections = [_average_path_length(est.tree_.n_node_samples) for est in model.estimators_]
    builder = _Builder(1)
    for est, feats, depth, correction in zip(model.estimators_, model.estimators_features_, depths, corrections,
                                             strict=True):
        # root depth is 1, hence the - 1.0 (as in sklearn)
        value = (np.asarray(depth, dtype=np.float64) + np.asarray(correction, dtype=np.float64) - 1.0) / n_trees
        _sklearn_tree(builder, est.tree_, value[:, None], feature_map=feats if subsample else None)
    return builder.build(n_features=model.n_features_in_, input_float32=True, strict=False, transform="identity",
                         library=library, output_names=["average_path_length"])
