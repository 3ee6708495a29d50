"""SurrogateTree: a shallow decision tree fitted to a model's outputs, read as rules.

The rows of ``X`` are split at random (``test_size``, seeded by ``random_state``) into fit rows
and held-out rows. The model predicts every row (in chunks over the executor); a scikit-learn tree
of depth at most ``max_depth`` is fitted to those predictions on the fit rows, and each of its
leaves becomes a rule (:class:`~xaikit.results.rules.Rules`).

Two surrogates, one per ``output``:

* ``"auto"``, ``"probability"``, ``"log_odds"``, ``"raw"`` (regression): a
  ``DecisionTreeRegressor`` (squared error, several outputs at once) fitted to the model's
  response as :func:`xaikit.models.adapt` defines it: probabilities for classifiers, the prediction
  of regressors. A rule predicts the mean response of its fit rows; fidelity is R^2 per output.
* ``"label"`` (classification): a ``DecisionTreeClassifier`` (Gini) fitted to the model's predicted
  class (the output with the largest value, the first on ties). A rule predicts the share of its
  fit rows predicted as each class (the outputs ``target`` chooses), and its most frequent class
  (``labels``); fidelity is the accuracy of that class.

Categorical columns (a DataFrame's ``category``, ``object``, ``string`` columns, or array columns
holding non-numbers) are ordered by the mean first target of their categories over the fit rows
(Breiman's ordering; for labels, the share of the first class) and split as that order; a split
reads ``feature in {...}`` / ``feature not in {...}``. A category the tree never saw passes every
``not in``. Rows must be complete (no missing value).

The surrogate is the rule set. scikit-learn fits on float32 copies of the data; each numeric
threshold is put back in float64 as the midpoint of the fit values either side of the split (as
the tree does in float32), so the rules separate the fit rows exactly as the tree did, and
``Rules.predict`` is the surrogate's prediction on any row.

Diagnostics
-----------
``fidelity`` (o,) for regression, a float for labels
    R^2 of the rules' predictions against the model's (or accuracy of their class) on the
    held-out rows, which the tree never saw. R^2 follows scikit-learn when the model is constant
    on those rows: 1 if the rules match it exactly, else 0.
``fidelity_train``
    The same on the fit rows.
``fidelity_metric``
    ``"r2"`` or ``"accuracy"``.
``train_rows``, ``test_rows`` (int arrays)
    The positions in ``X`` of the fit rows and of the held-out rows (sorted; disjoint; together every row).
``n_model_calls``
    Rows the model predicted (every row of ``X`` once).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from xaikit._validation import check_choice, check_float, check_int, describe
from xaikit.errors import InvalidParameterError
from xaikit.explainers.base import Explainer, output_names, select_outputs
from xaikit.explainers.pipeline import Answer, Plan, row_seeds, run_chunks
from xaikit.results.rules import Rules

__all__ = ["SurrogateTree"]

_OUTPUTS = ("auto", "probability", "log_odds", "raw", "label")


@dataclass
class _Table:
    """The columns of ``X``: names, values (float64 or object), and which are categorical."""

    names: list[str]
    columns: list[np.ndarray]
    categorical: list[bool]
    model_input: Any

    @property
    def n_rows(self) -> int:
        return len(self.columns[0])

    def rows(self, idx: np.ndarray) -> np.ndarray:
        """Rows ``idx`` as an object array (n, d), as :meth:`Rules.predict` takes them."""
        out = np.empty((len(idx), len(self.columns)), dtype=object)
        for j, col in enumerate(self.columns):
            out[:, j] = col[idx]
        return out


@dataclass
class _SurrogatePlan(Plan):
    table: Any = None
    seed: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _PredictRows:
    """The job of one chunk: the model's predictions for its rows (called with the explainer)."""

    X: Any

    def __call__(self, method: Any) -> np.ndarray:
        return method.model.predict(self.X)  # type: ignore[no-any-return]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and math.isnan(v))


def _table(X: Any, model_names: list[str] | None, *, missing_category: str | None = None) -> _Table:
    """Check ``X`` (a DataFrame or an array (n, d), numbers or categories) and read its columns. With
    ``missing_category``, a missing value of a categorical column is read as that category (the model's
    inputs keep it as it is) instead of being refused."""
    if hasattr(X, "columns") and hasattr(X, "iloc") and hasattr(X, "dtypes"):
        names = [str(c) for c in X.columns]
        columns, categorical = [], []
        for c in X.columns:
            col = X[c]
            kind = getattr(col.dtype, "kind", "O")
            if kind in "biuf" and str(col.dtype) != "category":
                columns.append(col.to_numpy(dtype=np.float64, na_value=np.nan))
                categorical.append(False)
            else:
                columns.append(np.asarray(col.to_numpy(dtype=object)))
                categorical.append(True)
        model_input = X
    else:
        if isinstance(X, (str, bytes)) or X is None:
            raise InvalidParameterError(f"X: expected an array (n, d) or a DataFrame, got {describe(X)}")
        try:
            arr = np.asarray(X)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"X: expected an array (n, d) or a DataFrame, got {describe(X)}") from None
        if arr.ndim != 2:
            raise InvalidParameterError(f"X: expected an array of shape (n, d), got {describe(arr)}")
        if arr.dtype.kind == "c":
            raise InvalidParameterError(f"X: expected real numbers or categories, got {describe(arr)}")
        names = list(model_names) if model_names is not None and len(model_names) == arr.shape[1] else [f"x{j}" for j in range(arr.shape[1])]
        columns, categorical = [], []
        for j in range(arr.shape[1]):
            col = arr[:, j]
            if arr.dtype.kind in "biuf" or all(_is_number(v) for v in col.tolist()):
                columns.append(col.astype(np.float64))
                categorical.append(False)
            else:
                columns.append(col.astype(object))
                categorical.append(True)
        model_input = arr
    if not columns:
        raise InvalidParameterError("X: expected at least one feature (column), got none")
    for j, (name, col, cat) in enumerate(zip(names, columns, categorical)):
        if cat and missing_category is not None:
            gone = np.array([_missing(v) for v in col.tolist()], dtype=bool)
            if gone.any():
                col = col.copy()
                col[gone] = missing_category
                columns[j] = col
            continue
        bad = np.flatnonzero([_missing(v) for v in col.tolist()]) if cat else np.flatnonzero(~np.isfinite(col))
        if bad.size:
            raise InvalidParameterError(
                f"X: expected complete rows of finite values, got {describe(col[bad[0]])} in column {name!r}, row {int(bad[0])}"
            )
    return _Table(names, columns, categorical, model_input)


def _split(n: int, test_size: float, seed: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """Fit rows and held-out rows: ``ceil(test_size * n)`` rows drawn at random are held out."""
    n_test = math.ceil(test_size * n)
    if n_test < 1 or n - n_test < 2:
        raise InvalidParameterError(
            f"X: expected enough rows for test_size={test_size} to leave at least 1 held-out row and 2 fit rows, got {n} rows"
        )
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def _r2(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """R^2 per column (scikit-learn's convention for a constant column: 1 when matched exactly, else 0)."""
    ss_res = ((y - p) ** 2).sum(axis=0)
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - ss_res / ss_tot
    return np.where(ss_tot > 0, r2, np.where(ss_res == 0, 1.0, 0.0))


class SurrogateTree(Explainer[Rules]):
    """A shallow decision tree fitted to a model's outputs, as rules with their fidelity.

    Parameters
    ----------
    model : estimator, callable or adapted model
    max_depth : int, default 4
        Depth of the tree (at most ``2 ** max_depth`` rules).
    min_samples_leaf : int, default 5
        Fit rows every rule keeps at least.
    output : {"auto", "probability", "log_odds", "raw", "label"}, default "auto"
        The response the tree imitates: the model's outputs (a regression tree; see
        :func:`xaikit.models.adapt`) or ``"label"``, its predicted class (a classification tree).
    test_size : float in (0, 1), default 0.25
        Share of the rows of ``X`` held out to measure fidelity.

    Examples
    --------
    >>> import numpy as np
    >>> from xaikit.explainers.global_.surrogate_tree import SurrogateTree
    >>> X = np.column_stack([np.arange(100) % 10, np.arange(100) // 10]).astype(float)
    >>> rules = SurrogateTree(lambda X: (X[:, 0] > 4) * 1.0, max_depth=1).explain(X, random_state=0)
    >>> rules.rules()  # doctest: +ELLIPSIS
    ['if x0 <= 4.5 then output = 0 (support ...%)', 'if x0 > 4.5 then output = 1 (support ...%)']
    >>> rules.predict([[4.5, 0.0], [4.6, 0.0]]).ravel().tolist()
    [0.0, 1.0]
    >>> float(rules.diagnostics["fidelity"][0])
    1.0
    """

    name = "surrogate_tree"
    kind = "global"
    result = Rules
    exact = False
    stochastic = True
    summary = """A shallow decision tree fitted to the model's outputs on a random part of ``X``, read as rules.

    Fidelity on the held-out rows is in ``diagnostics["fidelity"]``."""
    returns_doc = "Rules\n    One rule per leaf, with its conditions, prediction and support."

    def __init__(self, model: Any, /, *, max_depth: int = 4, min_samples_leaf: int = 5, output: str = "auto",
                 test_size: float = 0.25) -> None:
        from xaikit.models import adapt

        self.max_depth = check_int(max_depth, "max_depth", minimum=1)
        self.min_samples_leaf = check_int(min_samples_leaf, "min_samples_leaf", minimum=1)
        self.output = check_choice(output, "output", list(_OUTPUTS))
        self.test_size = check_float(test_size, "test_size", minimum=0.0, strict_minimum=True)
        if self.test_size >= 1.0:
            raise InvalidParameterError(f"test_size: expected a float in (0, 1), got {describe(test_size)}")
        self.model = adapt(model, output="auto" if output == "label" else output)

    def __repr__(self) -> str:
        return (f"SurrogateTree(max_depth={self.max_depth}, min_samples_leaf={self.min_samples_leaf}, "
                f"output={self.output!r}, test_size={self.test_size})")

    def _model(self) -> tuple[str, str]:
        return self.model.describe(), "label" if self.output == "label" else self.model.output

    def _start(self, X: Any, target: Any, params: dict[str, Any]) -> Plan:
        table = _table(X, self.model.feature_names_in)
        self.model.check_width(table.model_input, "X")
        data = table.model_input

        def job(rows: range, seed: np.random.SeedSequence) -> _PredictRows:
            iloc = getattr(data, "iloc", None)
            return _PredictRows(iloc[rows.start:rows.stop] if iloc is not None else data[rows.start:rows.stop])

        return _SurrogatePlan(table.n_rows, job, table=table, extra={"target": target})

    def _run(self, plan: Plan, executor: Any, seed: np.random.SeedSequence) -> list[Any]:
        cast(_SurrogatePlan, plan).seed = seed
        return run_chunks(self, plan, executor, seed)

    def _finish(self, plan: Plan, parts: list[Any]) -> Answer:
        plan = cast(_SurrogatePlan, plan)
        table: _Table = plan.table
        Y = np.concatenate(parts, axis=0)
        names = output_names(self.model.output_names, Y.shape[1])
        idx, chosen = select_outputs(plan.extra["target"], names)
        split_seed, tree_seed = row_seeds(plan.seed, [0, 1])
        train, test = _split(table.n_rows, self.test_size, split_seed)
        tree_state = int(tree_seed.generate_state(1)[0] % (2**31 - 1))
        label = self.output == "label"
        y = np.argmax(Y, axis=1) if label else Y[:, idx]
        order_by = (y == np.min(y[train])).astype(np.float64) if label else y[:, 0]
        encoded, orders = _encode(table, train, order_by)
        tree = self._fit(encoded[train], y[train], tree_state)
        fields = _read_tree(tree, table, encoded[train], orders, label, idx, names)
        classes = fields.pop("_classes")
        rules = Rules(**fields, feature_names=table.names, output_names=chosen, method=self.name)
        diagnostics: dict[str, Any] = {"fidelity_metric": "accuracy" if label else "r2"}
        for key, rows in (("fidelity", test), ("fidelity_train", train)):
            leaf = rules.apply(table.rows(rows))
            if label:
                diagnostics[key] = float(np.mean(classes[leaf] == y[rows]))
            else:
                diagnostics[key] = _r2(y[rows], rules.prediction[leaf])
        diagnostics["train_rows"] = train.astype(np.int64)
        diagnostics["test_rows"] = test.astype(np.int64)
        diagnostics["n_model_calls"] = int(table.n_rows)
        fields.update(feature_names=table.names, output_names=chosen, diagnostic_axes={} if label else {"fidelity": "o", "fidelity_train": "o"})
        params = {"max_depth": self.max_depth, "min_samples_leaf": self.min_samples_leaf, "test_size": self.test_size,
                  "tree_random_state": tree_state,
                  "categorical_features": [n for n, c in zip(table.names, table.categorical) if c]}
        surrogate = "DecisionTreeClassifier (gini) on the predicted class" if label else "DecisionTreeRegressor (squared error)"
        return Answer(fields, diagnostics, params=params, provenance={"surrogate": surrogate})

    def _fit(self, X: np.ndarray, y: np.ndarray, random_state: int) -> Any:
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        kind = DecisionTreeClassifier if self.output == "label" else DecisionTreeRegressor
        tree = kind(max_depth=self.max_depth, min_samples_leaf=self.min_samples_leaf, random_state=random_state)
        return tree.fit(X, y)


def _encode(table: _Table, train: np.ndarray, order_by: np.ndarray) -> tuple[np.ndarray, list[list[Any] | None]]:
    """X as float64 (categories as their rank in the order of their mean ``order_by`` over the fit
    rows, ties by their text), and each categorical column's categories in that order."""
    n = table.n_rows
    out = np.empty((n, len(table.columns)), dtype=np.float64)
    orders: list[list[Any] | None] = []
    for j, (col, cat) in enumerate(zip(table.columns, table.categorical)):
        if not cat:
            out[:, j] = col
            orders.append(None)
            continue
        values = [v.item() if isinstance(v, np.generic) else v for v in col.tolist()]
        seen: dict[Any, list[float]] = {}
        for i in train.tolist():
            seen.setdefault(values[i], []).append(float(order_by[i]))
        order = sorted(seen, key=lambda c: (float(np.mean(seen[c])), repr(c)))
        rank = {c: float(k) for k, c in enumerate(order)}
        out[:, j] = [rank.get(v, float(len(order))) for v in values]  # unseen: past every fit category
        orders.append(order)
    return out, orders


def _read_tree(tree: Any, table: _Table, X_fit: np.ndarray, orders: list[list[Any] | None], label: bool,
               idx: list[int], names: list[str]) -> dict[str, Any]:
    """The rules of a fitted tree: per leaf (left to right) its merged conditions, prediction and support."""
    t = tree.tree_
    paths = tree.decision_path(X_fit).tocsc()
    reach = [paths.indices[paths.indptr[k]:paths.indptr[k + 1]] for k in range(t.node_count)]
    n_fit = len(X_fit)
    leaves: list[tuple[int, list[dict[str, Any]]]] = []

    def threshold64(node: int) -> float:
        f, t32 = int(t.feature[node]), float(t.threshold[node])
        x = X_fit[reach[node], f]
        left = x.astype(np.float32).astype(np.float64) <= t32  # as the tree compares: float32 data, float64 threshold
        a, b = float(x[left].max()), float(x[~left].min())
        mid = a / 2.0 + b / 2.0
        return a if not a <= mid < b else mid

    def walk(node: int, bounds: dict[int, Any]) -> None:
        if t.children_left[node] == -1:
            leaves.append((node, _conditions(bounds, table.names, orders)))
            return
        f = int(t.feature[node])
        for child, side in ((t.children_left[node], "left"), (t.children_right[node], "right")):
            merged = dict(bounds)
            if orders[f] is None:
                lo, hi = merged.get(f, (-math.inf, math.inf))
                thr = threshold64(node)
                merged[f] = (lo, min(hi, thr)) if side == "left" else (max(lo, thr), hi)
            else:
                cats = cast(list[Any], orders[f])
                left = {c for k, c in enumerate(cats) if k <= float(t.threshold[node])}
                merged[f] = _merge_set(merged.get(f), left, side == "left")
            walk(int(child), merged)

    walk(0, {})
    support = np.array([len(reach[node]) for node, _ in leaves], dtype=np.int64)
    raw = np.array([t.value[node] for node, _ in leaves], dtype=np.float64)  # (r, outputs, classes)
    out: dict[str, Any] = {"support": support, "support_fraction": support / n_fit,
                           "importance": np.asarray(tree.feature_importances_, dtype=np.float64),
                           "conditions": [c for _, c in leaves]}
    if label:
        dist = raw[:, 0, :] / raw[:, 0, :].sum(axis=1, keepdims=True)
        full = np.zeros((len(leaves), len(names)))
        full[:, tree.classes_.astype(np.int64)] = dist
        classes = tree.classes_.astype(np.int64)[np.argmax(dist, axis=1)]
        out.update(prediction=full[:, idx], task="classification", labels=[names[c] for c in classes], _classes=classes)
    else:
        out.update(prediction=raw[:, :, 0], task="regression", _classes=None)
    return out


def _merge_set(current: Any, left: set[Any], go_left: bool) -> tuple[str, set[Any]]:
    """A categorical constraint ("in" S or "not in" S) and one more split (into ``left`` or not)."""
    if current is None:
        return ("in", set(left)) if go_left else ("not in", set(left))
    op, s = current
    if op == "in":
        return ("in", s & left) if go_left else ("in", s - left)
    return ("in", left - s) if go_left else ("not in", s | left)


def _conditions(bounds: dict[int, Any], names: list[str], orders: list[list[Any] | None]) -> list[dict[str, Any]]:
    """The conditions of one leaf, by feature in column order."""
    out: list[dict[str, Any]] = []
    for f in sorted(bounds):
        if orders[f] is None:
            lo, hi = bounds[f]
            if lo > -math.inf:
                out.append({"feature": names[f], "operator": ">", "threshold": lo})
            if hi < math.inf:
                out.append({"feature": names[f], "operator": "<=", "threshold": hi})
        else:
            op, s = bounds[f]
            order = cast(list[Any], orders[f])
            out.append({"feature": names[f], "operator": op, "categories": [c for c in order if c in s]})
    return out
