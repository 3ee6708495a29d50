"""Rules: the leaves of a shallow surrogate tree, or the anchors of single decisions, as readable rules.

One rule per leaf: the conditions on the path to it (``feature <= threshold``, ``feature >
threshold``, ``feature in {categories}``, ``feature not in {categories}``), its prediction per
output, and its support (the rows of the fit data that reach it, as a count and a fraction). The
conditions are data: :meth:`Rules.predict` applies them to new rows and gives the surrogate's
predictions (``x <= threshold`` goes left, as in the tree; a category the tree never saw fails
every ``in`` and passes every ``not in``).

Anchors (:class:`~xaikit.explainers.rules.anchors.Anchors`) give one rule per explained row, with
its precision (and KL confidence bounds), its coverage (``support_fraction``), the row it explains
(``row``) and the class it anchors (``labels``); a document's anchor is a set of words
(``{"feature": "text", "operator": "contains", "words": [...]}``).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.results.attribution import FEATURES, OUTPUTS
from xaikit.results.base import Axis, Field, JsonField, Result

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Rules", "Rule", "OPERATORS"]

RULES = Axis("rules", names="rule_names", prefix="rule")

#: The operators of a condition: numeric (``threshold``), categorical (``categories``) and words
#: of a document (``words``: the text contains each of them, as a token of ``\\w+``).
OPERATORS = ("<=", ">", "in", "not in", "contains")
_WORD = re.compile(r"\w+", re.UNICODE)
_TASKS = ("regression", "classification")


def _category(value: Any, where: str) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(float(value)):
        return float(value)
    raise InvalidParameterError(f"{where}: expected a str, bool, int or finite float category, got {describe(value)}")


def _check_condition(cond: Any, where: str, features: Sequence[str]) -> dict[str, Any]:
    if not isinstance(cond, Mapping):
        raise InvalidParameterError(f"{where}: expected a dict with 'feature', 'operator' and a threshold or categories, got {describe(cond)}")
    feature, op = cond.get("feature"), cond.get("operator")
    if feature not in features:
        raise InvalidParameterError(f"{where}['feature']: expected one of the feature names, got {describe(feature)}")
    if op not in OPERATORS:
        raise InvalidParameterError(f"{where}['operator']: expected one of {list(OPERATORS)}, got {describe(op)}")
    if op in ("<=", ">"):
        extra = sorted(set(cond) - {"feature", "operator", "threshold"})
        t = cond.get("threshold")
        if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Real) or not math.isfinite(float(t)) or extra:
            raise InvalidParameterError(
                f"{where}: expected a finite 'threshold' (and no other key) for {op!r}, got {describe(t)}" + (f" and {extra}" if extra else "")
            )
        return {"feature": feature, "operator": op, "threshold": float(t)}
    if op == "contains":
        words = cond.get("words")
        extra = sorted(set(cond) - {"feature", "operator", "words"})
        if (isinstance(words, (str, bytes, Mapping)) or not isinstance(words, Sequence) or not words
                or not all(isinstance(w, str) and w for w in words) or extra):
            raise InvalidParameterError(f"{where}: expected a non-empty list of str 'words' (and no other key) for 'contains', got {describe(words)}")
        return {"feature": feature, "operator": op, "words": tuple(words)}
    cats = cond.get("categories")
    extra = sorted(set(cond) - {"feature", "operator", "categories"})
    if isinstance(cats, (str, bytes, Mapping)) or not isinstance(cats, Sequence) or extra:
        raise InvalidParameterError(f"{where}: expected a list of 'categories' (and no other key) for {op!r}, got {describe(cats)}")
    return {"feature": feature, "operator": op, "categories": tuple(_category(c, f"{where}['categories']") for c in cats)}


def _check_conditions(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int]) -> tuple[tuple[dict[str, Any], ...], ...]:
    r, features = lengths["r"], store["feature_names"]
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != r:
        raise InvalidParameterError(f"conditions: expected {r} lists of conditions (one per rule), got {describe(value)}")
    out = []
    for i, rule in enumerate(value):
        if isinstance(rule, (str, bytes, Mapping)) or not isinstance(rule, Sequence):
            raise InvalidParameterError(f"conditions[{i}]: expected a list of conditions, got {describe(rule)}")
        out.append(tuple(_check_condition(c, f"conditions[{i}][{k}]", features) for k, c in enumerate(rule)))
    return tuple(out)


def _check_labels(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int]) -> tuple[str, ...]:
    r = lengths["r"]
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != r or not all(isinstance(v, str) for v in value):
        raise InvalidParameterError(f"labels: expected {r} class names (one per rule), got {describe(value)}")
    return tuple(value)


def _check_task(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int]) -> str:
    if value not in _TASKS:
        raise InvalidParameterError(f"task: expected one of {list(_TASKS)}, got {describe(value)}")
    return str(value)


def _number(t: float) -> str:
    """A threshold as text: its shortest exact form when short, else 6 significant digits.

    >>> _number(54.5), _number(240.0), _number(0.15000000000000002)
    ('54.5', '240.0', '0.15')
    """
    text = repr(float(t))
    return text if len(text) <= 8 else f"{t:.6g}"


def condition_text(cond: Mapping[str, Any]) -> str:
    """One condition as text.

    >>> condition_text({"feature": "age", "operator": ">", "threshold": 54.5})
    'age > 54.5'
    >>> condition_text({"feature": "cp", "operator": "in", "categories": ["typical", "atypical"]})
    "cp in {'typical', 'atypical'}"
    """
    if cond["operator"] in ("<=", ">"):
        return f"{cond['feature']} {cond['operator']} {_number(cond['threshold'])}"
    if cond["operator"] == "contains":
        return f"{cond['feature']} contains " + " and ".join(repr(w) for w in cond["words"])
    return f"{cond['feature']} {cond['operator']} {{{', '.join(repr(c) for c in cond['categories'])}}}"


class Rules(Result):
    """Rules read off a shallow surrogate tree (:class:`~xaikit.explainers.global_.surrogate_tree.SurrogateTree`).

    Parameters
    ----------
    prediction : array-like of shape (n_rules, n_outputs)
        Each rule's prediction: the mean of the surrogate's targets over the fit rows that reach it
        (``task="regression"``), or the share of those rows predicted as each class
        (``task="classification"``).
    support : array-like of int, shape (n_rules,)
        The number of fit rows reaching the rule.
    support_fraction : array-like of shape (n_rules,)
        ``support`` over the number of fit rows.
    importance : array-like of shape (n_features,)
        The surrogate tree's impurity-based importance of each feature (summing to 1 unless no split).
    conditions : list (per rule) of list of dict
        ``{"feature": name, "operator": "<=" or ">", "threshold": float}`` or
        ``{"feature": name, "operator": "in" or "not in", "categories": [...]}``; a rule holds
        when all its conditions do (no condition: it holds for every row).
    task : {"regression", "classification"}
    labels : list of str, optional
        Classification: each rule's predicted class (the most frequent, first in output order on ties);
        anchors: the class each rule anchors.
    precision, precision_lower, precision_upper : array-like of shape (n_rules,), optional
        Anchors: each rule's precision on its perturbation distribution and its KL confidence bounds.
    row : array-like of int, shape (n_rules,), optional
        Anchors: the explained row each rule belongs to (:meth:`rules` ``(i)`` gives row ``i``'s).
    feature_names, output_names, rule_names : list of str, optional
    method, params, diagnostics, provenance, diagnostic_axes
        As for every result.

    ``rules[rows, outputs]`` selects rules and outputs (by position or name).

    Examples
    --------
    >>> r = Rules(prediction=[[0.2], [0.7]], support=[30, 10], support_fraction=[0.75, 0.25],
    ...           importance=[1.0, 0.0], feature_names=["age", "chol"], output_names=["disease"],
    ...           conditions=[[{"feature": "age", "operator": "<=", "threshold": 54.5}],
    ...                       [{"feature": "age", "operator": ">", "threshold": 54.5}]],
    ...           task="regression", method="demo", params={"output": "probability"})
    >>> r.rules()
    ['if age <= 54.5 then P(disease) = 0.20 (support 75%)', 'if age > 54.5 then P(disease) = 0.70 (support 25%)']
    >>> r.predict([[60.0, 200.0], [54.5, 300.0]]).ravel().tolist()
    [0.7, 0.2]
    """

    kind = "rules"
    plot_kind = "rules"
    fields = (
        Field("prediction", "ro", finite=True, column="prediction", doc="Read-only float64 array (n_rules, n_outputs)."),
        Field("support", "r", dtype="int", doc="Read-only int64 array (n_rules,): fit rows reaching each rule."),
        Field("support_fraction", "r", finite=True, doc="Read-only float64 array (n_rules,): support over the fit rows."),
        Field("importance", "d", finite=True, column=None, doc="Read-only float64 array (n_features,): the tree's feature importances."),
        JsonField("conditions", axis="r", check=_check_conditions, optional=False),
        JsonField("task", check=_check_task, optional=False, doc="'regression' or 'classification'."),
        JsonField("labels", axis="r", check=_check_labels, doc="Classification: each rule's predicted class, else None."),
        Field("precision", "r", finite=True, optional=True, column="precision",
              doc="Anchors: read-only float64 array (n_rules,): the share of the rule's perturbation samples given the rule's class."),
        Field("precision_lower", "r", finite=True, optional=True, column="precision_lower",
              doc="Anchors: read-only float64 array (n_rules,): the KL lower confidence bound of the precision."),
        Field("precision_upper", "r", finite=True, optional=True, column="precision_upper",
              doc="Anchors: read-only float64 array (n_rules,): the KL upper confidence bound of the precision."),
        Field("row", "r", dtype="int", optional=True, column="row",
              doc="Anchors: read-only int64 array (n_rules,): the explained row each rule belongs to."),
    )
    axes = {"r": RULES, "d": FEATURES, "o": OUTPUTS}

    prediction: np.ndarray
    support: np.ndarray
    support_fraction: np.ndarray
    importance: np.ndarray
    task: str
    labels: list[str] | None
    precision: np.ndarray | None
    precision_lower: np.ndarray | None
    precision_upper: np.ndarray | None
    row: np.ndarray | None
    feature_names: list[str]
    output_names: list[str]
    rule_names: list[str]
    n_rules: int
    n_features: int
    n_outputs: int

    def _validate(self) -> None:
        support, frac = self._store["support"], self._store["support_fraction"]
        if (support < 0).any() or (frac < 0).any() or (frac > 1).any():
            raise InvalidParameterError("support: expected counts >= 0 and support_fraction in [0, 1]")
        for name in ("precision", "precision_lower", "precision_upper"):
            p = self._store[name]
            if p is not None and ((p < 0).any() or (p > 1).any()):
                raise InvalidParameterError(f"{name}: expected values in [0, 1], got {describe(p)} outside")
        low, high, mid = self._store["precision_lower"], self._store["precision_upper"], self._store["precision"]
        if low is not None and mid is not None and (low > mid + 1e-12).any():
            raise InvalidParameterError("precision_lower: expected bounds at most the precision")
        if high is not None and mid is not None and (high < mid - 1e-12).any():
            raise InvalidParameterError("precision_upper: expected bounds at least the precision")
        row = self._store["row"]
        if row is not None and (row < 0).any():
            raise InvalidParameterError(f"row: expected row positions >= 0, got {describe(row)}")

    @property
    def coverage(self) -> np.ndarray:
        """The same array as :attr:`support_fraction`: the share of the rows (surrogate: the fit rows;
        anchors: the coverage sample) each rule holds on."""
        return self._store["support_fraction"]  # type: ignore[no-any-return]

    @property
    def values(self) -> np.ndarray:
        """The same array as :attr:`prediction` (the primary field of every result)."""
        return self._store["prediction"]  # type: ignore[no-any-return]

    @property
    def conditions(self) -> list[list[dict[str, Any]]]:
        """Each rule's conditions (a copy; categories as lists)."""
        return [[{k: list(v) if isinstance(v, tuple) else v for k, v in c.items()} for c in rule] for rule in self._store["conditions"]]

    # -- text --------------------------------------------------------------------------

    def _outcome(self, i: int) -> str:
        names, pred = self.output_names, self._store["prediction"][i]
        if self._store["precision"] is not None and self._store["labels"] is not None:
            return f"class = {self._store['labels'][i]} (precision {float(self._store['precision'][i]):.2f})"
        if self.task == "classification":
            label = self._store["labels"]
            head = f"class = {label[i]}; " if label is not None else ""
            return head + ", ".join(f"P({n}) = {p:.2f}" for n, p in zip(names, pred))
        if self._params.get("output") == "probability":
            return ", ".join(f"P({n}) = {p:.2f}" for n, p in zip(names, pred))
        return ", ".join(f"{n} = {p:.4g}" for n, p in zip(names, pred))

    def rule_text(self, i: int) -> str:
        """Rule ``i`` as one sentence: ``"if age > 54.5 and chol <= 240.0 then P(disease) = 0.71 (support 12%)"``."""
        conds = self._store["conditions"][i]
        head = "if " + " and ".join(condition_text(c) for c in conds) + " then" if conds else "always:"
        word = "coverage" if self._store["precision"] is not None else "support"
        return f"{head} {self._outcome(i)} ({word} {100 * float(self._store['support_fraction'][i]):.0f}%)"

    @overload
    def rules(self, row: None = None) -> list[str]: ...

    @overload
    def rules(self, row: int) -> list[Rule]: ...

    def rules(self, row: int | None = None) -> list[str] | list[Rule]:
        """Every rule as one sentence, in order (see :meth:`rule_text`); with ``row``, the rules
        (anchors) of that explained row as :class:`Rule` objects, which
        :func:`~xaikit.explainers.rules.evaluate.evaluate_rule` takes.

        >>> r = Rules(prediction=[[0.9]], support=[3], support_fraction=[0.3], importance=[1.0],
        ...           conditions=[[{"feature": "x0", "operator": ">", "threshold": 0.5}]], task="classification",
        ...           labels=["yes"], precision=[0.97], precision_lower=[0.95], precision_upper=[0.99], row=[0],
        ...           method="demo")
        >>> r.rules()
        ['if x0 > 0.5 then class = yes (precision 0.97) (coverage 30%)']
        >>> r.rules(0)[0].label, r.rules(0)[0].conditions
        ('yes', [{'feature': 'x0', 'operator': '>', 'threshold': 0.5}])
        """
        if row is None:
            return [self.rule_text(i) for i in range(self._lengths["r"])]
        rows = self._store["row"]
        if rows is None:
            raise InvalidParameterError("row: these rules belong to no explained row (a surrogate's rules); call rules() without it")
        if isinstance(row, (bool, np.bool_)) or not isinstance(row, numbers.Integral) or row < 0:
            raise InvalidParameterError(f"row: expected an explained row position (int >= 0), got {describe(row)}")
        return [self.rule(int(i)) for i in np.flatnonzero(rows == int(row))]

    def rule(self, i: int) -> Rule:
        """Rule ``i`` as a :class:`Rule` (its conditions, class, precision and coverage)."""
        def at(name: str, cast: Any) -> Any:
            arr = self._store[name]
            return None if arr is None else cast(arr[i])

        labels = self._store["labels"]
        return Rule(
            conditions=self.conditions[i], label=None if labels is None else labels[i],
            precision=at("precision", float), precision_lower=at("precision_lower", float),
            precision_upper=at("precision_upper", float), coverage=float(self._store["support_fraction"][i]),
            row=at("row", int), text=self.rule_text(i),
        )

    def to_frame(self) -> pd.DataFrame:
        """One line per rule: ``rule``, ``conditions`` (text), the prediction of each output
        (``prediction`` with one output, else ``prediction[<name>]``), ``support``,
        ``support_fraction`` and, for classification, ``label``.

        >>> r = Rules(prediction=[[1.0]], support=[4], support_fraction=[1.0], importance=[0.0],
        ...           conditions=[[]], task="regression", method="demo")
        >>> r.to_frame().to_dict("records")
        [{'rule': 'rule0', 'conditions': '', 'prediction': 1.0, 'support': 4, 'support_fraction': 1.0}]
        """
        import pandas as pd

        frame: dict[str, Any] = {
            "rule": list(self.rule_names),
            "conditions": [" and ".join(condition_text(c) for c in rule) for rule in self._store["conditions"]],
        }
        pred, names = self._store["prediction"], self.output_names
        for j, name in enumerate(names):
            frame["prediction" if len(names) == 1 else f"prediction[{name}]"] = pred[:, j].copy()
        frame["support"] = self._store["support"].copy()
        frame["support_fraction"] = self._store["support_fraction"].copy()
        if self._store["labels"] is not None:
            frame["label"] = list(self._store["labels"])
        for name in ("precision", "precision_lower", "precision_upper", "row"):
            if self._store[name] is not None:
                frame[name] = self._store[name].copy()
        return pd.DataFrame(frame)

    # -- applying the rules ------------------------------------------------------------

    def _columns(self, X: Any) -> dict[str, np.ndarray]:
        """The column of each feature a condition uses, from a DataFrame (by name) or an array (by position)."""
        used = list(dict.fromkeys(c["feature"] for rule in self._store["conditions"] for c in rule))
        names = list(self._store["feature_names"])
        if hasattr(X, "columns") and hasattr(X, "iloc"):
            missing = [f for f in used if f not in list(X.columns)]
            if missing:
                raise InvalidParameterError(f"X: expected the columns {used} the rules use, got a DataFrame without {missing}")
            return {f: np.asarray(X[f].to_numpy(dtype=object)) for f in used}
        if isinstance(X, (str, bytes)):
            raise InvalidParameterError(f"X: expected an array (n, {len(names)}) or a DataFrame, got {describe(X)}")
        try:
            arr = np.asarray(X)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"X: expected an array (n, {len(names)}) or a DataFrame, got {describe(X)}") from None
        if arr.ndim != 2 or arr.shape[1] != len(names):
            raise InvalidParameterError(f"X: expected an array of shape (n, {len(names)}) (one column per feature), got {describe(arr)}")
        return {f: arr[:, names.index(f)] for f in used}

    def matches(self, X: Any) -> np.ndarray:
        """Which rules each row of ``X`` satisfies: a bool array (n, n_rules); one True per row for
        the full rule set (the leaves partition the inputs).

        Numeric conditions need numbers (no NaN); categorical ones compare values by equality.
        """
        cols = self._columns(X)
        n = len(next(iter(cols.values()))) if cols else len(X)
        numeric: dict[str, np.ndarray] = {}
        out = np.ones((n, self._lengths["r"]), dtype=bool)
        for i, rule in enumerate(self._store["conditions"]):
            for c in rule:
                f = c["feature"]
                if c["operator"] in ("<=", ">"):
                    if f not in numeric:
                        numeric[f] = _numeric_column(cols[f], f)
                    x = numeric[f]
                    out[:, i] &= x <= c["threshold"] if c["operator"] == "<=" else x > c["threshold"]
                elif c["operator"] == "contains":
                    out[:, i] &= np.fromiter((set(c["words"]) <= set(_WORD.findall(str(v))) for v in cols[f].tolist()), dtype=bool, count=n)
                else:
                    cats = set(c["categories"])
                    inside = np.fromiter((_key(v) in cats for v in cols[f].tolist()), dtype=bool, count=n)
                    out[:, i] &= inside if c["operator"] == "in" else ~inside
        return out

    def apply(self, X: Any) -> np.ndarray:
        """The position of the rule each row of ``X`` satisfies, int64 (n,).

        Raises InvalidParameterError naming a row that satisfies no rule or several (a subset of
        the rules, or conditions edited by hand).
        """
        hits = self.matches(X)
        count = hits.sum(axis=1)
        bad = np.flatnonzero(count != 1)
        if bad.size:
            i = int(bad[0])
            raise InvalidParameterError(
                f"X: row {i} satisfies {int(count[i])} of the {hits.shape[1]} rules; expected exactly one (a full rule set partitions the inputs)"
            )
        return np.argmax(hits, axis=1).astype(np.int64)

    def predict(self, X: Any) -> np.ndarray:
        """The surrogate's prediction for each row of ``X``: the prediction of the rule it satisfies, (n, n_outputs)."""
        return np.array(self._store["prediction"][self.apply(X)], dtype=np.float64)

    def _repr_html_(self) -> str:
        """The first rules as an HTML list (at most 20, escaped)."""
        import html

        items = "".join(f"<li>{html.escape(self.rule_text(i))}</li>" for i in range(min(self._lengths["r"], 20)))
        more = f"<p>... {self._lengths['r'] - 20} more rules</p>" if self._lengths["r"] > 20 else ""
        head = f"<p><b>Rules</b> method={html.escape(repr(self._method))}, n_rules={self._lengths['r']}</p>"
        return f'<div class="xaikit-rules">{head}<ol>{items}</ol>{more}</div>'


@dataclass(frozen=True)
class Rule:
    """One rule: its conditions (all must hold), the class it gives and, for anchors, its precision
    with KL bounds, its coverage and the explained row; ``str(rule)`` is its sentence."""

    conditions: list[dict[str, Any]]
    label: str | None = None
    precision: float | None = None
    precision_lower: float | None = None
    precision_upper: float | None = None
    coverage: float | None = None
    row: int | None = None
    text: str = ""

    def __str__(self) -> str:
        return self.text or " and ".join(condition_text(c) for c in self.conditions)

    def __repr__(self) -> str:
        return f"Rule({str(self)!r})"


def _key(v: Any) -> Any:
    """A value as compared with stored categories (numpy scalars as Python ones)."""
    return v.item() if isinstance(v, np.generic) else v


def _numeric_column(col: np.ndarray, feature: str) -> np.ndarray:
    try:
        x = np.asarray(col, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"X: column {feature!r}: expected numbers (a rule compares it with a threshold), got {describe(col)}") from None
    if np.isnan(x).any():
        raise InvalidParameterError(f"X: column {feature!r}: expected no missing value (row {int(np.flatnonzero(np.isnan(x))[0])} is NaN)")
    return x
