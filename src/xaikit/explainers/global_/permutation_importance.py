"""Permutation importance: how much a model's score drops when a feature (or a group) is shuffled.

For each feature ``j`` (or group of columns) and each repeat ``r``, the column is permuted
among the rows (a group's columns with the same permutation, so that a one-hot block or a set of
correlated columns moves together), and the importance is the score on the data minus the score
with the column permuted (Breiman, 2001; scikit-learn's ``permutation_importance``).

Scoring
-------
* a scikit-learn scorer name (``"accuracy"``, ``"r2"``, ``"neg_mean_squared_error"``, ``"roc_auc"``,
  ``"neg_log_loss"``...) or a scorer object (``sklearn.metrics.get_scorer``, ``make_scorer``): when
  the model is a scikit-learn estimator (or follows its API: XGBoost, LightGBM), it is applied to
  the original estimator, ``scorer(estimator, X_permuted, y)``, exactly as scikit-learn does;
* for any other model, the names ``"accuracy"``, ``"r2"``, ``"neg_mean_squared_error"``,
  ``"neg_root_mean_squared_error"``, ``"neg_mean_absolute_error"``, ``"roc_auc"`` and
  ``"neg_log_loss"`` are computed from the adapted model's predictions;
* a callable ``score(y_true, y_pred) -> float`` (higher is better), for any model, applied to the
  adapted model's predictions (``xaikit.models.adapt(model, output=output).predict``): a
  classifier's are its class probabilities ``(n, n_classes)``, scored as a whole; any other
  model is scored output by output, ``y_pred`` of shape ``(n,)``. ``sample_weight=`` is passed
  when given;
* ``"auto"``: accuracy for classifiers (scikit-learn classifiers, and models explained as
  probabilities), R^2 otherwise, as scikit-learn's default ``estimator.score``;
* a list of those: one output per scoring, named after it (a callable by its ``__name__``).

A model that is not a classifier and has several outputs is scored output by output (except by
scikit-learn scorers, which score the estimator as a whole): one output per (scoring, model
output), named ``"<scoring>: <output>"``, against ``y`` of shape ``(n,)`` (the same labels for
every output) or ``(n, n_outputs)`` (one column each). ``target`` selects among these outputs.

Differences from scikit-learn
-----------------------------
The means agree (each repeat of each feature is a uniform random permutation in both), but the
draws differ: scikit-learn gives every feature the same seed, so all features share one sequence
of permutations and, with ``max_samples``, one subsample of rows for every repeat, and it takes
the baseline score on all rows. Here every (feature, repeat) draws its own permutation from a
seed of its own (so results are identical whatever the executor and the split), with
``max_samples`` each repeat draws its own rows (shared by every feature in that repeat), and the
baseline of a repeat is scored on the same rows, so that a feature the model ignores scores
exactly 0 in every repeat.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from xaikit._validation import check_int, describe
from xaikit.errors import InvalidParameterError, ModelOutputError
from xaikit.explainers.base import Explainer, output_names, select_outputs
from xaikit.explainers.pipeline import REQUIRED, Answer, Parameter, Plan, row_seeds
from xaikit.results.importance import Importance

__all__ = ["PermutationImportance"]

#: Scorings computed from the predictions of a model that is not a scikit-learn estimator.
PREDICTION_SCORINGS = (
    "accuracy",
    "r2",
    "neg_mean_squared_error",
    "neg_root_mean_squared_error",
    "neg_mean_absolute_error",
    "roc_auc",
    "neg_log_loss",
)
_CLASSIFIER_ONLY = ("accuracy", "neg_log_loss")
_REGRESSION_ONLY = ("r2", "neg_mean_squared_error", "neg_root_mean_squared_error", "neg_mean_absolute_error")


def _is_scorer_object(obj: Any) -> bool:
    """Whether ``obj`` is a scikit-learn scorer (``get_scorer``, ``make_scorer``): ``scorer(estimator, X, y)``."""
    return any(k.__module__ == "sklearn.metrics._scorer" for k in type(obj).__mro__)


def _scoring_name(item: Any) -> str:
    if isinstance(item, str):
        return item
    if _is_scorer_object(item):
        func = getattr(item, "_score_func", None)
        return str(getattr(func, "__name__", type(item).__name__))
    return str(getattr(item, "__name__", type(item).__name__))


def _check_scoring(scoring: Any) -> list[Any]:
    items = list(scoring) if isinstance(scoring, (list, tuple)) else [scoring]
    if not items:
        raise InvalidParameterError("scoring: expected at least one scoring, got an empty list")
    for item in items:
        if not (isinstance(item, str) or callable(item)):
            raise InvalidParameterError(
                f"scoring: expected 'auto', a scikit-learn scorer name, a scorer, a callable score(y_true, y_pred) "
                f"or a list of those, got {describe(item)}"
            )
    return items


def _check_groups(groups: Any) -> dict[str, list[Any]] | None:
    if groups is None:
        return None
    if not isinstance(groups, Mapping) or not groups:
        raise InvalidParameterError(f"groups: expected a non-empty dict of group name -> list of columns, got {describe(groups)}")
    out: dict[str, list[Any]] = {}
    for name, cols in groups.items():
        if not isinstance(name, str) or not name:
            raise InvalidParameterError(f"groups: expected non-empty str group names, got {describe(name)}")
        items = list(cols) if isinstance(cols, (list, tuple, range, np.ndarray)) else None
        if not items:
            raise InvalidParameterError(f"groups[{name!r}]: expected a non-empty list of column positions or names, got {describe(cols)}")
        for c in items:
            if not (isinstance(c, str) or (isinstance(c, (int, np.integer)) and not isinstance(c, bool))):
                raise InvalidParameterError(f"groups[{name!r}]: expected column positions (int) or names (str), got {describe(c)}")
        out[name] = [c if isinstance(c, str) else int(c) for c in items]
    return out


def _check_max_samples(value: Any) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return check_int(value, "max_samples", minimum=1)
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and 0.0 < float(value) <= 1.0:
        return float(value)
    raise InvalidParameterError(
        f"max_samples: expected None, an int >= 1 (rows) or a float in (0, 1] (a fraction of the rows), got {describe(value)}"
    )


def _is_frame(X: Any) -> bool:
    return hasattr(X, "iloc") and hasattr(X, "columns")


@dataclass(frozen=True)
class _Output:
    """One output of the result: scoring ``scoring`` of model output ``column`` (None: the model as a whole)."""

    scoring: int
    column: int | None
    name: str


@dataclass
class _Scorer:
    """Scores a model on (X, y): every output of the result at once (picklable; built in the workers)."""

    items: list[Any]
    outputs: list[_Output]
    sklearn_path: bool
    classifier: bool
    y: np.ndarray
    y_index: np.ndarray | None
    n_model_outputs: int
    _scorers: dict[tuple[int, ...], Any] = field(default_factory=dict, repr=False)

    def __call__(self, method: PermutationImportance, X: Any, rows: np.ndarray | None, weight: np.ndarray | None) -> np.ndarray:
        y = self.y if rows is None else self.y[rows]
        y_index = self.y_index if self.y_index is None or rows is None else self.y_index[rows]
        scores = np.empty(len(self.outputs))
        sk = {k for k, o in enumerate(self.outputs) if self.sklearn_path and not callable_item(self.items[o.scoring])}
        if sk:
            scores_by = self._sklearn_scores(method, X, y, weight, sorted({self.outputs[k].scoring for k in sk}))
            for k in sk:
                scores[k] = scores_by[self.outputs[k].scoring]
        rest = [k for k in range(len(self.outputs)) if k not in sk]
        if rest:
            pred = method.model.predict(X)
            for k in rest:
                out = self.outputs[k]
                scores[k] = self._prediction_score(self.items[out.scoring], out, pred, y, y_index, weight)
        return scores

    def _sklearn_scores(self, method: PermutationImportance, X: Any, y: np.ndarray, weight: np.ndarray | None,
                        positions: list[int]) -> dict[int, float]:
        estimator = method.model.estimator  # type: ignore[attr-defined]
        key = tuple(positions)
        multi = self._scorers.get(key)
        if multi is None:  # built once per worker and set of scorings (scikit-learn's multimetric scorer shares the predictions)
            from sklearn.metrics import check_scoring

            items = [None if self.items[i] is _ESTIMATOR_SCORE else self.items[i] for i in positions]
            scoring = items[0] if len(items) == 1 else {str(i): check_scoring(estimator, scoring=item) for i, item in zip(positions, items)}
            multi = self._scorers[key] = check_scoring(estimator, scoring=scoring)
        got = multi(estimator, X, y) if weight is None else multi(estimator, X, y, sample_weight=weight)
        if len(positions) == 1:
            return {positions[0]: float(got)}
        return {i: float(got[str(i)]) for i in positions}

    def _prediction_score(self, item: Any, out: _Output, pred: np.ndarray, y: np.ndarray, y_index: np.ndarray | None,
                          weight: np.ndarray | None) -> float:
        kw = {} if weight is None else {"sample_weight": weight}
        if out.column is None:  # a classifier, as a whole
            p = pred
        else:
            p = pred[:, out.column]
            y = y if y.ndim == 1 else y[:, out.column]
        if callable_item(item):
            return float(item(y, p, **kw))
        return _named_score(item, p, y, y_index, kw)


class _EstimatorScore:
    """The scoring ``"auto"`` of a scikit-learn estimator: its ``score`` method (scikit-learn's default scoring)."""

    def __reduce__(self) -> str:
        return "_ESTIMATOR_SCORE"


_ESTIMATOR_SCORE = _EstimatorScore()


def _default_name(estimator: Any, default: str) -> str:
    """The name of an estimator's own score: accuracy or R^2 when it inherits scikit-learn's, else ``"score"``."""
    own = getattr(type(estimator), "score", None)
    inherited = getattr(own, "__qualname__", "") in ("ClassifierMixin.score", "RegressorMixin.score", "Pipeline.score")
    return default if inherited else "score"


def callable_item(item: Any) -> bool:
    """Whether a scoring item is a callable ``score(y_true, y_pred)`` (not a name, not a scikit-learn scorer)."""
    return callable(item) and not isinstance(item, str) and not _is_scorer_object(item)


def _named_score(name: str, p: np.ndarray, y: np.ndarray, y_index: np.ndarray | None, kw: dict[str, Any]) -> float:
    """A scikit-learn scoring computed from predictions ``p``: probabilities (n, k) of a classifier, or one output (n,)."""
    from sklearn import metrics

    if p.ndim == 2:  # a classifier's probabilities; y as class positions
        labels = np.arange(p.shape[1])
        if name == "accuracy":
            return float(metrics.accuracy_score(y_index, p.argmax(axis=1), **kw))
        if name == "neg_log_loss":
            return -float(metrics.log_loss(y_index, p, labels=labels, **kw))
        if p.shape[1] == 2:
            return float(metrics.roc_auc_score(y_index, p[:, 1], **kw))
        return float(metrics.roc_auc_score(y_index, p, multi_class="ovr", labels=labels, **kw))
    if name == "r2":
        return float(metrics.r2_score(y, p, **kw))
    if name == "neg_mean_squared_error":
        return -float(metrics.mean_squared_error(y, p, **kw))
    if name == "neg_root_mean_squared_error":
        return -float(np.sqrt(metrics.mean_squared_error(y, p, **kw)))
    if name == "neg_mean_absolute_error":
        return -float(metrics.mean_absolute_error(y, p, **kw))
    return float(metrics.roc_auc_score(y, p, **kw))


@dataclass
class _Job:
    """The permuted scores of a chunk of (feature, repeat) units: ``(len(units), n_outputs)``."""

    X: Any
    units: range
    seeds: list[np.random.SeedSequence]
    columns: list[list[int]]
    n_repeats: int
    subsets: list[np.ndarray] | None
    weight: np.ndarray | None
    scorer: _Scorer

    def __call__(self, method: PermutationImportance) -> tuple[range, np.ndarray]:
        frame = _is_frame(self.X)
        out = np.empty((len(self.units), len(self.scorer.outputs)))
        work = self.X.copy() if self.subsets is None else None
        for i, (u, seed) in enumerate(zip(self.units, self.seeds)):
            g, r = divmod(u, self.n_repeats)
            cols = self.columns[g]
            rows = None if self.subsets is None else self.subsets[r]
            if rows is None:
                source, data = self.X, work
            else:
                source = _rows(self.X, rows)
                data = source.copy()
            perm = np.random.default_rng(seed).permutation(len(source))
            _assign(data, source, cols, perm, frame)
            weight = None if self.weight is None else (self.weight if rows is None else self.weight[rows])
            out[i] = self.scorer(method, data, rows, weight)
            if rows is None:  # restore the columns for the next unit
                _assign(data, source, cols, None, frame)
        return self.units, out


def _rows(X: Any, rows: np.ndarray) -> Any:
    """Rows of an array or a DataFrame (a copy)."""
    return X.iloc[rows] if _is_frame(X) else X[rows]


def _assign(data: Any, source: Any, cols: list[int], perm: np.ndarray | None, frame: bool) -> None:
    """``data[:, cols] = source[perm, cols]`` (``perm`` None: the rows in order), for arrays and DataFrames."""
    if not frame:
        if len(cols) == 1:
            data[:, cols[0]] = source[:, cols[0]] if perm is None else source[perm, cols[0]]
        else:
            data[:, cols] = source[:, cols] if perm is None else source[np.ix_(perm, np.asarray(cols))]
        return
    for c in cols:
        col = source.iloc[:, c] if perm is None else source.iloc[perm, c]
        col.index = data.index
        data[data.columns[c]] = col


@dataclass
class _ImportancePlan(Plan):
    names: list[str] = field(default_factory=list)
    outputs: list[_Output] = field(default_factory=list)
    baseline: np.ndarray = field(default_factory=lambda: np.zeros(0))
    repeat_baselines: np.ndarray | None = None
    n_groups: int = 0
    recorded: dict[str, Any] = field(default_factory=dict)
    X: Any = None
    weight: np.ndarray | None = None
    scorer: Any = None
    columns: list[list[int]] = field(default_factory=list)
    n_samples: int = 0
    subsets: list[np.ndarray] | None = None


class PermutationImportance(Explainer[Importance]):
    """Permutation importance of each feature, or group of features, with its spread over repeats.

    Parameters
    ----------
    model : estimator, network, function...
        Anything :func:`xaikit.models.adapt` takes.
    scoring : "auto", str, scorer, callable or list of those
        What is scored (see the module docstring): a scikit-learn scorer name or object, applied to a
        scikit-learn estimator as scikit-learn does; a callable ``score(y_true, y_pred) -> float`` on
        the adapted model's predictions; ``"auto"``: accuracy for classifiers, R^2 otherwise. Several:
        one output each.
    n_repeats : int
        Permutations of each feature.
    groups : dict of str to list of int or str, optional
        Columns permuted together, by position or name (a one-hot block, a set of correlated
        features): each group gets one importance, in the place of its first column; the columns in
        no group keep their own.
    max_samples : int or float, optional
        Rows drawn (without replacement) for each repeat: a number, or a fraction of the rows; all
        rows by default.
    output : {"auto", "probability", "log_odds", "raw"}
        The response of the model the callables and the named scorings of non-scikit-learn models see.

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> from xaikit.explainers.global_.permutation_importance import PermutationImportance
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> imp = PermutationImportance(lambda X: 3 * X[:, 0] + X[:, 1], scoring="r2").explain(X, 3 * X[:, 0] + X[:, 1], random_state=0)
    >>> [name for name, _ in imp.ranking()], float(imp.mean()[2, 0])
    (['x0', 'x1', 'x2'], 0.0)
    >>> imp.values.shape, imp.output_names
    ((3, 1, 5), ['r2'])
    """

    name = "permutation_importance"
    kind = "global"
    result = Importance
    stochastic = True
    explain_parameters = (
        Parameter("y", REQUIRED, "array-like (n,) or (n, n_outputs)", "The labels the model is scored against.", positional=True),
        Parameter("sample_weight", None, "array-like (n,), optional", "Weights of the rows in every score.", optional=True),
    )
    summary = "Permutation importance of each feature (or group) of ``X``: the drop in score when it is shuffled."
    input_doc = "X : array-like (n, d) or DataFrame\n    The rows the model is scored on (held-out rows, ideally)."
    target_doc = (
        "target : int, str or list, optional\n"
        "    The outputs of the result to compute (a scoring, or a scoring of one model output), by position or name; all by default."
    )
    returns_doc = (
        "Importance\n"
        "    ``values`` (features or groups, outputs, n_repeats): the baseline score minus the score with the feature\n"
        "    permuted; ``diagnostics['baseline_score']`` (outputs,)."
    )

    def __init__(
        self, model: Any, /, *, scoring: Any = "auto", n_repeats: int = 5, groups: Mapping[str, Sequence[int | str]] | None = None,
        max_samples: int | float | None = None, output: str = "auto",
    ) -> None:
        from xaikit.models import adapt

        self.scoring = _check_scoring(scoring)
        self.n_repeats = check_int(n_repeats, "n_repeats", minimum=1)
        self.groups = _check_groups(groups)
        self.max_samples = _check_max_samples(max_samples)
        self.model = adapt(model, output=output)
        self._sklearn = hasattr(self.model, "estimator") and callable(getattr(self.model.estimator, "fit", None))
        self._classifier = bool(getattr(self.model, "is_classifier", False)) or self.model.output == "probability"
        default = "accuracy" if self._classifier else "r2"
        # "auto" on a scikit-learn estimator is its own score method, as scikit-learn's default scoring
        self._items = [(_ESTIMATOR_SCORE if self._sklearn else default) if s == "auto" else s for s in self.scoring]
        names = [_default_name(self.model.estimator, default) if s is _ESTIMATOR_SCORE else _scoring_name(s)  # type: ignore[attr-defined]
                 for s in self._items]
        if len(set(names)) != len(names):
            raise InvalidParameterError(f"scoring: expected distinct scorings, got {names}")
        for item, nm in zip(self._items, names):
            if _is_scorer_object(item) and not self._sklearn:
                raise InvalidParameterError(
                    f"scoring: a scikit-learn scorer ({nm}) scores a scikit-learn estimator, got a model that is not one "
                    f"({self.model.describe()}); pass a callable score(y_true, y_pred) or one of {list(PREDICTION_SCORINGS)}"
                )
            if isinstance(item, str) and self._sklearn:
                from sklearn.metrics import get_scorer_names

                if item not in get_scorer_names():
                    raise InvalidParameterError(f"scoring: expected a scikit-learn scorer name (sklearn.metrics.get_scorer_names()), got {item!r}")
            elif isinstance(item, str):
                if item not in PREDICTION_SCORINGS:
                    raise InvalidParameterError(
                        f"scoring: for a model that is not a scikit-learn estimator ({self.model.describe()}), expected one of "
                        f"{list(PREDICTION_SCORINGS)} or a callable score(y_true, y_pred), got {item!r}"
                    )
                wrong = _REGRESSION_ONLY if self._classifier else _CLASSIFIER_ONLY
                if item in wrong:
                    what = "a classifier (class probabilities)" if self._classifier else "a model whose outputs are not class probabilities"
                    raise InvalidParameterError(f"scoring: {item!r} does not apply to {what}; got {item!r}")
        self._names = names

    # ------------------------------------------------------------------ steps
    def _start(self, X: Any, target: Any, params: dict[str, Any]) -> _ImportancePlan:
        X, names = self._check_X(X)
        n, d = X.shape
        y = self._check_y(params["y"], n)
        weight = self._check_weight(params["sample_weight"], n)
        columns, feature_names = self._resolve_groups(names, d)
        if self._sklearn and not any(callable_item(item) for item in self._items):
            k = 1  # scikit-learn scorers score the estimator as a whole: its outputs do not matter
        else:
            k = self.model.predict(X.iloc[:2] if _is_frame(X) else X[:2]).shape[1]
        model_names = output_names(self.model.output_names, k)
        all_outputs = self._outputs(model_names, k)
        positions, _ = select_outputs(target, [o.name for o in all_outputs])
        outputs = [all_outputs[i] for i in positions]
        if not self._classifier and any(o.column is not None for o in outputs) and y.ndim == 2 and y.shape[1] != k:
            raise InvalidParameterError(f"y: expected shape ({n},) or ({n}, {k}) (one column per model output), got {describe(y)}")
        y_index = self._class_positions(y, model_names) if self._classifier and self._needs_positions(outputs) else None
        scorer = _Scorer(self._items, outputs, self._sklearn, self._classifier, y, y_index, k)
        R, G = self.n_repeats, len(columns)
        baseline = self._checked(scorer(self, X, None, weight), "the data")
        recorded = {
            "scoring": self._names, "n_repeats": R, "max_samples": self.max_samples,
            "groups": None if self.groups is None else {nm: [names[c] for c in cols] for nm, cols in zip(feature_names, columns) if nm in self.groups},
            "y": f"array of shape {tuple(y.shape)}", "sample_weight": None if weight is None else f"array of shape {tuple(weight.shape)}",
        }
        plan = _ImportancePlan(G * R, split=4, names=feature_names, outputs=outputs, baseline=baseline, n_groups=G, recorded=recorded,
                               X=X, weight=weight, scorer=scorer, columns=columns, n_samples=self._subsample_size(n))

        def job(units: range, seed: np.random.SeedSequence) -> _Job:
            unit_root = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 0))
            return _Job(X, units, row_seeds(unit_root, units), columns, R, plan.subsets, weight, scorer)

        plan.job = job
        return plan

    def _run(self, plan: Plan, executor: Any, seed: np.random.SeedSequence) -> list[Any]:
        """With ``max_samples``, draw each repeat's rows (from a stream of their own) and score the model on
        them first; then the (feature, repeat) units run in chunks over the executor."""
        plan = cast(_ImportancePlan, plan)
        n = len(plan.X)
        if plan.n_samples < n:
            sub_root = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 1))
            plan.subsets = [np.sort(np.random.default_rng(s).choice(n, size=plan.n_samples, replace=False))
                            for s in row_seeds(sub_root, range(self.n_repeats))]
            plan.repeat_baselines = np.stack([
                self._checked(plan.scorer(self, _rows(plan.X, rows), rows, None if plan.weight is None else plan.weight[rows]), f"repeat {r}'s rows")
                for r, rows in enumerate(plan.subsets)
            ])
        return super()._run(plan, executor, seed)

    def _finish(self, plan: Plan, parts: list[Any]) -> Answer:
        plan = cast(_ImportancePlan, plan)
        G, R, o = plan.n_groups, self.n_repeats, len(plan.outputs)
        permuted = np.empty((G * R, o))
        for units, scores in parts:
            permuted[units.start:units.stop] = scores
        self._checked(permuted, "the permuted data")
        base = plan.baseline[None, :] if plan.repeat_baselines is None else np.tile(plan.repeat_baselines, (G, 1))
        values = (base - permuted).reshape(G, R, o).transpose(0, 2, 1)
        fields = {"values": np.ascontiguousarray(values), "feature_names": plan.names, "output_names": [p.name for p in plan.outputs]}
        diagnostics = {"baseline_score": plan.baseline, "n_model_calls": G * R + 1 + (0 if plan.repeat_baselines is None else R)}
        return Answer(fields, diagnostics, params=plan.recorded)

    # ------------------------------------------------------------------ checks
    def _checked(self, scores: np.ndarray, where: str) -> np.ndarray:
        if not np.isfinite(scores).all():
            bad = np.argwhere(~np.isfinite(np.atleast_2d(scores)))[0][-1]
            raise ModelOutputError(f"scoring: {self._names[0] if len(self._names) == 1 else f'output {int(bad)}'} gave a non-finite score on {where}")
        return scores

    def _check_X(self, X: Any) -> tuple[Any, list[str]]:
        if _is_frame(X):
            if X.ndim != 2:
                raise InvalidParameterError(f"X: expected a 2-D table, got {describe(X)}")
            names = [str(c) for c in X.columns]
        else:
            if isinstance(X, (str, bytes)) or X is None:
                raise InvalidParameterError(f"X: expected a 2-D array or DataFrame, got {describe(X)}")
            try:
                X = np.asarray(X)
            except (TypeError, ValueError):
                raise InvalidParameterError(f"X: expected a 2-D array or DataFrame, got {describe(X)}") from None
            if X.ndim != 2:
                raise InvalidParameterError(f"X: expected a 2-D array (rows, features), got {describe(X)}")
            known = self.model.feature_names_in
            names = list(known) if known is not None and len(known) == X.shape[1] else [f"x{j}" for j in range(X.shape[1])]
        if X.shape[0] < 2 or X.shape[1] < 1:
            raise InvalidParameterError(f"X: expected at least 2 rows to permute and 1 feature, got {describe(X)}")
        self.model.check_width(X, "X")
        return X, names

    def _check_y(self, y: Any, n: int) -> np.ndarray:
        if isinstance(y, (str, bytes)) or y is None:
            raise InvalidParameterError(f"y: expected an array-like of {n} labels, got {describe(y)}")
        arr = np.asarray(y)
        if arr.ndim not in (1, 2) or arr.shape[0] != n:
            raise InvalidParameterError(f"y: expected an array of shape ({n},) or ({n}, n_outputs) (one label per row of X), got {describe(y)}")
        return arr

    def _check_weight(self, w: Any, n: int) -> np.ndarray | None:
        if w is None:
            return None
        try:
            arr = np.asarray(w, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"sample_weight: expected {n} non-negative numbers, got {describe(w)}") from None
        if arr.shape != (n,) or not np.isfinite(arr).all() or bool((arr < 0).any()):
            raise InvalidParameterError(f"sample_weight: expected {n} finite non-negative numbers (one per row of X), got {describe(w)}")
        return arr

    def _resolve_groups(self, names: list[str], d: int) -> tuple[list[list[int]], list[str]]:
        if self.groups is None:
            return [[j] for j in range(d)], list(names)
        owner: dict[int, str] = {}
        for gname, cols in self.groups.items():
            for c in cols:
                if isinstance(c, str):
                    if c not in names:
                        raise InvalidParameterError(f"groups[{gname!r}]: unknown column {c!r}; the columns are {names}")
                    j = names.index(c)
                elif -d <= c < d:
                    j = c % d
                else:
                    raise InvalidParameterError(f"groups[{gname!r}]: column position {c} is out of range for {d} columns")
                if j in owner:
                    raise InvalidParameterError(f"groups: column {names[j]!r} is in both {owner[j]!r} and {gname!r}; expected each column in one group at most")
                owner[j] = gname
        columns: list[list[int]] = []
        feature_names: list[str] = []
        for j in range(d):
            group = owner.get(j)
            if group is None:
                if names[j] in self.groups:
                    raise InvalidParameterError(f"groups: the group name {names[j]!r} is also the name of a column in no group; rename the group")
                columns.append([j])
                feature_names.append(names[j])
            elif group not in feature_names:
                columns.append(sorted(i for i, g in owner.items() if g == group))
                feature_names.append(group)
        return columns, feature_names

    def _outputs(self, model_names: list[str], k: int) -> list[_Output]:
        out = []
        for i, (item, nm) in enumerate(zip(self._items, self._names)):
            whole = self._classifier or (self._sklearn and not callable_item(item))
            if whole:
                out.append(_Output(i, None, nm))
            else:
                out.extend(_Output(i, c, nm if k == 1 else f"{nm}: {model_names[c]}") for c in range(k))
        return out

    def _needs_positions(self, outputs: list[_Output]) -> bool:
        return any(not self._sklearn and isinstance(self._items[o.scoring], str) for o in outputs)

    def _class_positions(self, y: np.ndarray, classes: list[str]) -> np.ndarray:
        """The position of each label of ``y`` among the model's outputs (by name, else by position)."""
        if y.ndim != 1:
            raise InvalidParameterError(f"y: expected one class label per row for a classifier, got {describe(y)}")
        text = np.array([str(v) for v in y.tolist()])
        lookup = {c: i for i, c in enumerate(classes)}
        if all(t in lookup for t in text.tolist()):
            return np.array([lookup[t] for t in text.tolist()], dtype=np.intp)
        if y.dtype.kind in "iu" and y.size and 0 <= int(y.min()) and int(y.max()) < len(classes):
            return y.astype(np.intp)
        bad = next(t for t in text.tolist() if t not in lookup)
        raise InvalidParameterError(f"y: expected class labels among the model's outputs {classes} (or their positions), got {bad!r}")

    def _subsample_size(self, n: int) -> int:
        ms = self.max_samples
        if ms is None:
            return n
        m = int(ms * n) if isinstance(ms, float) else ms
        if not 1 <= m <= n:
            raise InvalidParameterError(f"max_samples: expected at most the {n} rows of X and at least 1 row, got {describe(ms)} ({m} rows)")
        return m

    def __repr__(self) -> str:
        return f"PermutationImportance(scoring={self._names}, n_repeats={self.n_repeats})"

