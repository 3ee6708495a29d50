"""The precision and coverage of any rule on data: an anchor, a surrogate's leaf or one written by hand.

Coverage is the share of the rows of ``data`` the rule holds on (a direct count); precision is the
share of those rows the model gives the rule's class (its ``label``; else the most frequent class
among them), with KL confidence bounds at confidence ``1 - delta``.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xaikit._validation import check_float, describe
from xaikit.errors import InvalidParameterError

__all__ = ["RuleEvaluation", "evaluate_rule", "parse_rule"]

_CONDITION = re.compile(r"^\s*(?P<feature>.+?)\s+(?P<op><=|>=|==|<|>|not in|in|contains)\s+(?P<value>.+?)\s*$")


@dataclass(frozen=True)
class RuleEvaluation:
    """What :func:`evaluate_rule` measured: ``precision`` (NaN when no row is covered) with its KL
    bounds, ``coverage``, the rows covered and counted, and the class checked."""

    precision: float
    precision_lower: float
    precision_upper: float
    coverage: float
    n_covered: int
    n_rows: int
    label: str


def _literal(text: str) -> Any:
    text = text.strip()
    if text.startswith("{") and text.endswith("}"):  # a set as written, in its written order
        text = "[" + text[1:-1] + "]"
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text.strip()


def parse_rule(text: str) -> list[dict[str, Any]]:
    """The conditions of a rule written as text: conditions joined by ``and``, each ``feature op value``
    with ``op`` one of ``<=``, ``>``, ``in``, ``not in``, ``==`` (a category) or ``contains`` (words).

    >>> parse_rule("age > 30 and sex == 'Male'")
    [{'feature': 'age', 'operator': '>', 'threshold': 30.0}, {'feature': 'sex', 'operator': 'in', 'categories': ['Male']}]
    >>> parse_rule("age >= 30")
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: rule: expected conditions with <=, >, in, not in, == or contains, got 'age >= 30' (no >= or <)
    """
    text = text.strip()
    if text.startswith("if "):
        text = text[3:].split(" then ")[0]
    out: list[dict[str, Any]] = []
    for part in re.split(r"\s+and\s+(?=[^'\"{}]*(?:$|[^'\"{}]*\s(?:<=|>|in|not in|==|contains)\s))", text):
        m = _CONDITION.match(part)
        expected = "rule: expected conditions with <=, >, in, not in, == or contains"
        if m is None:
            raise InvalidParameterError(f"{expected}, got {part!r}")
        feature, op, value = m["feature"], m["op"], _literal(m["value"])
        if op in (">=", "<"):
            raise InvalidParameterError(f"{expected}, got {part!r} (no >= or <)")
        if op in ("<=", ">"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidParameterError(f"rule: expected a number after {op!r}, got {part!r}")
            out.append({"feature": feature, "operator": op, "threshold": float(value)})
        elif op == "==":
            out.append({"feature": feature, "operator": "in", "categories": [value]})
        elif op == "contains":
            out.append({"feature": feature, "operator": "contains", "words": [value] if isinstance(value, str) else list(value)})
        else:
            out.append({"feature": feature, "operator": op, "categories": list(value) if isinstance(value, (set, list, tuple)) else [value]})
    return out


def _conditions_of(rule: Any) -> tuple[list[dict[str, Any]], str | None]:
    from xaikit.results.rules import Rule, Rules

    if isinstance(rule, Rule):
        return [dict(c) for c in rule.conditions], rule.label
    if isinstance(rule, Rules):
        if rule.n_rules != 1:
            raise InvalidParameterError(f"rule: expected one rule, got a Rules result of {rule.n_rules}; pass rules.rule(i)")
        labels = rule.labels
        return rule.conditions[0], None if labels is None else labels[0]
    if isinstance(rule, str):
        return parse_rule(rule), None
    if isinstance(rule, Mapping):
        return [dict(rule)], None
    if isinstance(rule, Sequence) and all(isinstance(c, Mapping) for c in rule):
        return [dict(c) for c in rule], None
    raise InvalidParameterError(f"rule: expected a Rule, a list of condition dicts or a rule as text, got {describe(rule)}")


def evaluate_rule(model: Any, rule: Any, data: Any, *, label: str | int | None = None, delta: float = 0.1,
                  batch_size: int = 10000) -> RuleEvaluation:
    """Precision and coverage of ``rule`` on the rows of ``data``.

    Parameters
    ----------
    model : estimator or callable
        As :class:`~xaikit.explainers.rules.anchors.Anchors` takes it; its class is the largest output
        (with one output, whether it is above 0.5).
    rule : Rule, list of condition dicts, or str
        A rule of a result (``rules.rules(i)[0]``), conditions as :class:`~xaikit.results.rules.Rules`
        holds them, or text such as ``"age > 30 and sex == 'Male'"`` (see :func:`parse_rule`).
    data : array-like (n, d), DataFrame, or list of documents
        The rows counted (documents: the feature of a ``contains`` condition is ``"text"``).
    label : str or int, optional
        The class whose share is the precision (name or position); default: the rule's own, else the
        most frequent class among the covered rows.
    delta : float
        One minus the confidence of the bounds (two-sided, KL at level ``log(2 / delta) / n_covered``).
    batch_size : int
        Rows per model call.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.1], [0.7], [0.9], [0.6]])
    >>> f = lambda X: np.stack([X[:, 0] <= 0.8, X[:, 0] > 0.8], axis=1).astype(float)
    >>> ev = evaluate_rule(f, "x0 > 0.5", X)
    >>> ev.coverage, ev.precision, ev.label
    (0.75, 0.6666666666666666, 'output0')
    """
    from xaikit.explainers.base import output_names
    from xaikit.explainers.global_.surrogate_tree import _table
    from xaikit.explainers.rules.anchors import MISSING_CATEGORY, _is_text, class_names, decide
    from xaikit.explainers.rules.kl_lucb import kl_bounds
    from xaikit.models import adapt
    from xaikit.results.rules import Rules

    delta = check_float(delta, "delta", minimum=0.0, maximum=1.0, strict_minimum=True)
    conditions, own = _conditions_of(rule)
    adapted = adapt(model)
    if _is_text(data):
        docs = [data] if isinstance(data, str) else [str(d) for d in data]
        names, table, rows_in = ["text"], np.array(docs, dtype=object)[:, None], docs
    else:
        try:
            read = _table(data, adapted.feature_names_in, missing_category=MISSING_CATEGORY)
        except InvalidParameterError as exc:
            raise InvalidParameterError("data" + str(exc)[1:]) from None
        names, table, rows_in = read.names, read.rows(np.arange(read.n_rows)), read.model_input
    try:
        probe = Rules(prediction=[[0.0]], support=[0], support_fraction=[0.0], importance=np.zeros(len(names)),
                      conditions=[conditions], task="classification", feature_names=names, method="evaluate_rule")
    except InvalidParameterError as exc:
        raise InvalidParameterError(f"rule: {exc} (features of data: {names})") from None
    covered = np.flatnonzero(probe.matches(table)[:, 0])
    n = len(table)
    if covered.size:
        parts = []
        for s in range(0, covered.size, batch_size):
            sel = covered[s : s + batch_size]
            chunk = rows_in.iloc[sel] if hasattr(rows_in, "iloc") else [rows_in[i] for i in sel] if isinstance(rows_in, list) else rows_in[sel]
            parts.append(adapted.predict(chunk))
        P = np.concatenate(parts, axis=0)
        classes = class_names(output_names(adapted.output_names, P.shape[1]))
        decided = decide(P)
    else:
        classes = class_names(output_names(adapted.output_names, adapted.predict(rows_in.iloc[:1] if hasattr(rows_in, "iloc") else rows_in[:1]).shape[1]))
        decided = np.zeros(0, dtype=np.int64)
    wanted = label if label is not None else own
    if wanted is None:
        k = int(np.bincount(decided, minlength=len(classes)).argmax()) if decided.size else 0
    elif isinstance(wanted, str) and wanted in classes:
        k = classes.index(wanted)
    elif isinstance(wanted, (int, np.integer)) and not isinstance(wanted, bool) and 0 <= int(wanted) < len(classes):
        k = int(wanted)
    else:
        raise InvalidParameterError(f"label: expected one of the classes {classes} or a position, got {describe(wanted)}")
    if not covered.size:
        return RuleEvaluation(math.nan, 0.0, 1.0, 0.0, 0, n, classes[k])
    precision = float(np.mean(decided == k))
    lo, hi = kl_bounds(np.array([precision]), np.array([covered.size]), math.log(2.0 / delta))
    return RuleEvaluation(precision, float(min(lo[0], precision)), float(max(hi[0], precision)), covered.size / n,
                          int(covered.size), n, classes[k])
