"""Reason codes: the top reasons of a decision in plain words, as an adverse action notice gives them.

Credit regulation (the US Equal Credit Opportunity Act's Regulation B, 12 CFR 1002.9, and its
model forms; the EU's consumer credit rules ask the same in spirit) wants a declined applicant told
the *principal reasons* for the decision: the few factors that counted most against them, most
important first. :func:`reason_codes` reads them off any attribution of the decision's score:

- the score is the explained output (``target``); ``adverse="low"`` says a low score is the
  adverse decision (the output is e.g. the probability of being approved or of good credit), so
  the reasons are the features whose attributions *lowered* the score, most negative first;
  ``adverse="high"`` says a high score is adverse (a probability of default), so the reasons are
  the features that *raised* it, largest first;
- each reason has the feature, the row's value, the weight (its attribution, with its sign) and its
  direction: ``"toward"`` the adverse decision or ``"away from"`` it; ``include="all"`` lists the
  top ``k`` by |weight| whatever their direction (both directions marked);
- tables (:class:`~xaikit.Attribution`): the features and their values; documents
  (:class:`~xaikit.RaggedAttribution` with texts): the words, with how often each occurs;
  images (:class:`~xaikit.RaggedAttribution` with segments): the regions, with their place
  (rows and columns they span) and size;
- ``counterfactual``: a :class:`~xaikit.Counterfactuals` result for the same rows (or one text per
  row) pairs each row's reasons with the change that would turn the decision, and marks the reasons
  whose feature that change touches.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Reason", "ReasonCodes", "reason_codes"]

_ADVERSE = ("low", "high")
_INCLUDE = ("adverse", "all")


@dataclass(frozen=True)
class Reason:
    """One reason: a feature, its value in the row, its weight and direction.

    Attributes
    ----------
    rank : int
        1 for the principal reason.
    feature : str
        The feature's name: a column, a word, or an image region (``"segment 3"``).
    value : str
        The row's value as shown: ``"23"``, ``"Female"``, ``"'late' (2 occurrences)"``,
        ``"rows 0-7, columns 8-15, 64 pixels"``; ``""`` when the attribution does not hold the data.
    weight : float
        The attribution (its sign: raised (+) or lowered (-) the score).
    direction : {"toward", "away from"}
        Whether the feature pushes toward the adverse decision or away from it.
    changed_by_counterfactual : bool or None
        Whether the paired counterfactual changes this feature (None when none is paired).
    kind : {"feature", "word", "region"}
        A table's feature, a document's word or an image's region (segment).
    """

    rank: int
    feature: str
    value: str
    weight: float
    direction: str
    changed_by_counterfactual: bool | None = None
    kind: str = "feature"

    def text(self, score: str = "the score") -> str:
        """``"age = 23 lowered the score by 0.12 (toward the decision)"``."""
        verb = "lowered" if self.weight < 0 else "raised"
        if self.kind == "word":
            shown = f"the word {self.value}"
        elif self.kind == "region":
            shown = f"{self.feature} ({self.value})"
        else:
            shown = f"{self.feature} = {self.value}" if self.value else self.feature
        tail = "" if self.changed_by_counterfactual is None else ("; the counterfactual changes it" if self.changed_by_counterfactual else "")
        return f"{shown} {verb} {score} by {abs(self.weight):.3g} ({self.direction} the decision{tail})"


@dataclass(frozen=True)
class ReasonCodes:
    """The reasons of each row's decision (from :func:`reason_codes`).

    Attributes
    ----------
    rows : tuple of int
        The rows of the explanation, in order.
    output : str
        The explained output (the score).
    adverse : {"low", "high"}
        Which end of the score is the adverse decision.
    reasons : tuple of tuple of Reason
        Per row, its reasons, principal first.
    scores : tuple of float or None
        Per row, the score (base value plus the attributions), when the attribution has base values.
    counterfactuals : tuple of str or None
        Per row, the change that would turn the decision (None when none was paired).

    Examples
    --------
    >>> from xaikit.results import Attribution
    >>> exp = Attribution(values=[[[-0.3], [0.1], [-0.05]]], base_values=[[0.6]], data=[[23.0, 5000.0, 2.0]],
    ...                   feature_names=["age", "income", "loans"], output_names=["approve"], method="demo")
    >>> codes = reason_codes(exp, k=2)
    >>> print(codes.text())
    row 0: approve = 0.35 (adverse when low); principal reasons:
      1. age = 23 lowered approve by 0.3 (toward the decision)
      2. loans = 2 lowered approve by 0.05 (toward the decision)
    """

    rows: tuple[int, ...]
    output: str
    adverse: str
    reasons: tuple[tuple[Reason, ...], ...]
    scores: tuple[float | None, ...]
    counterfactuals: tuple[str | None, ...]

    def _position(self, row: Any) -> int:
        if isinstance(row, bool) or not isinstance(row, numbers.Integral) or int(row) not in self.rows:
            raise InvalidParameterError(f"row: expected one of the rows {list(self.rows)}, got {describe(row)}")
        return self.rows.index(int(row))

    def of(self, row: int) -> list[Reason]:
        """The reasons of one row (a row of the explanation), principal first."""
        return list(self.reasons[self._position(row)])

    def text(self, row: int | None = None) -> str:
        """The notice in plain words: one row's (``row``), or every row's, one block per row."""
        positions = range(len(self.rows)) if row is None else [self._position(row)]
        blocks = []
        for p in positions:
            score = self.scores[p]
            head = f"row {self.rows[p]}: " + (f"{self.output} = {score:.3g} " if score is not None else "")
            lines = [head + f"(adverse when {self.adverse}); principal reasons:"]
            if not self.reasons[p]:
                lines.append("  none: no feature pushes toward the adverse decision")
            lines += [f"  {r.rank}. {r.text(self.output)}" for r in self.reasons[p]]
            if self.counterfactuals[p] is not None:
                lines.append(f"  what would change the decision: {self.counterfactuals[p]}")
            blocks.append("\n".join(lines))
        return "\n".join(blocks)

    def to_frame(self) -> pd.DataFrame:
        """One line per (row, reason): ``row``, ``rank``, ``feature``, ``value``, ``weight``,
        ``direction``, ``changed_by_counterfactual``."""
        import pandas as pd

        records = [
            {"row": row, "rank": r.rank, "feature": r.feature, "value": r.value, "weight": r.weight,
             "direction": r.direction, "changed_by_counterfactual": r.changed_by_counterfactual}
            for row, reasons in zip(self.rows, self.reasons)
            for r in reasons
        ]
        columns = ["row", "rank", "feature", "value", "weight", "direction", "changed_by_counterfactual"]
        return pd.DataFrame(records, columns=columns)


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return "missing" if np.isnan(value) else f"{float(value):.6g}"
    if isinstance(value, np.generic):
        return str(value.item())
    return str(value)


def _rows(key: Any, n: int) -> list[int]:
    if key is None:
        return list(range(n))
    items = list(key) if isinstance(key, (list, tuple, range, np.ndarray)) else [key]
    out = []
    for r in items:
        if isinstance(r, (bool, np.bool_)) or not isinstance(r, numbers.Integral) or not -n <= int(r) < n:
            raise InvalidParameterError(f"row: expected a row index in [{-n}, {n}) or a list of them, got {describe(key)}")
        out.append(int(r) % n)
    return out


def _output(exp: Any, target: Any) -> int:
    names = list(exp.output_names)
    if target is None:
        if len(names) != 1:
            raise InvalidParameterError(
                f"target: expected the output whose score the decision reads (one of {names}, or its position), got None"
            )
        return 0
    if isinstance(target, str) and target in names:
        return names.index(target)
    if isinstance(target, numbers.Integral) and not isinstance(target, bool) and -len(names) <= int(target) < len(names):
        return int(target) % len(names)
    raise InvalidParameterError(f"target: expected one output, a name among {names} or a position, got {describe(target)}")


def _region(segments: np.ndarray, label: int) -> str:
    """Where one segment lies: the rows and columns it spans and its pixel count."""
    rr, cc = np.nonzero(segments == label)
    if not len(rr):
        return "no pixels"
    return f"rows {rr.min()}-{rr.max()}, columns {cc.min()}-{cc.max()}, {len(rr)} pixels"


def _features(exp: Any, i: int) -> tuple[list[str], list[str], np.ndarray, str]:
    """Row ``i``'s feature names, their shown values, the attributions (d, o) and the kind of feature."""
    from xaikit.results.attribution import Attribution
    from xaikit.results.ragged import RaggedAttribution

    if isinstance(exp, RaggedAttribution):
        names = exp.row_feature_names[i]
        values = exp.values[i, : len(names)]
        if exp.segments is not None:
            # feature j of an image is the pixels labelled j in its segment map (as the image maskers number them)
            return names, [_region(exp.segments[i], j) for j in range(len(names))], values, "region"
        spans = exp.spans
        if spans is not None:
            shown = [f"'{name}'" + (f" ({len(spans[i][j])} occurrences)" if len(spans[i][j]) > 1 else "") for j, name in enumerate(names)]
        else:
            shown = [f"'{name}'" for name in names]
        return names, shown, values, "word"
    if isinstance(exp, Attribution):
        data = exp.data
        shown = [_show(data[i, j]) if data is not None else "" for j in range(exp.n_features)]
        return list(exp.feature_names), shown, exp.values[i], "feature"
    raise InvalidParameterError(
        f"exp: expected an Attribution (a table) or a RaggedAttribution (documents, images), got {describe(exp)}"
    )


def _paired(counterfactual: Any, n_rows: int, rows: list[int]) -> tuple[list[str | None], list[set[str] | None]]:
    """Each row's counterfactual text and the features it changes (None when not known)."""
    if counterfactual is None:
        return [None] * len(rows), [None] * len(rows)
    if isinstance(counterfactual, Sequence) and not isinstance(counterfactual, (str, bytes)):
        if len(counterfactual) != n_rows or not all(isinstance(t, str) for t in counterfactual):
            raise InvalidParameterError(f"counterfactual: expected {n_rows} texts (one per row of exp), got {describe(counterfactual)}")
        return [counterfactual[i] for i in rows], [None] * len(rows)
    if not (hasattr(counterfactual, "text") and hasattr(counterfactual, "n_rows")):
        raise InvalidParameterError(
            f"counterfactual: expected a Counterfactuals result for the rows of exp, or one text per row, got {describe(counterfactual)}"
        )
    if int(counterfactual.n_rows) != n_rows:
        raise InvalidParameterError(
            f"counterfactual: expected a result for the same {n_rows} rows as exp, got one for {counterfactual.n_rows} rows"
        )
    texts: list[str | None] = []
    changed: list[set[str] | None] = []
    for i in rows:
        texts.append(counterfactual.text(i))
        best = _best(counterfactual, i)
        changed.append(None if best is None else {f for f, _, _ in counterfactual.changes(i, best)})
    return texts, changed


def _best(cfs: Any, i: int) -> int | None:
    """The counterfactual that ``cfs.text(i)`` describes: the closest valid one (None when none)."""
    valid = np.asarray(getattr(cfs, "valid", np.zeros((0, 0))), dtype=bool)
    distance = getattr(cfs, "distance", None)
    if valid.ndim != 2 or distance is None or not hasattr(cfs, "changes") or not valid[i].any():
        return None
    idx = np.flatnonzero(valid[i])
    return int(idx[np.argmin(np.asarray(distance)[i, idx])])


def reason_codes(
    exp: Any,
    k: int = 4,
    *,
    row: int | Sequence[int] | None = None,
    target: int | str | None = None,
    adverse: str = "low",
    include: str = "adverse",
    counterfactual: Any = None,
) -> ReasonCodes:
    """The top ``k`` reasons of each row's decision in plain words, principal first.

    Parameters
    ----------
    exp : Attribution or RaggedAttribution
        Attributions of the decision's score: of a table (features), of documents (words) or of
        images (regions).
    k : int
        The number of reasons per row (an adverse action notice gives at most four).
    row : int or list of int, optional
        The rows (default: all).
    target : int or str, optional
        The output read as the score; needed when ``exp`` has several.
    adverse : {"low", "high"}
        ``"low"``: a low score is the adverse decision (the output is, e.g., the probability of
        approval), so the reasons are the most negative attributions; ``"high"``: a high score is
        adverse (a probability of default), so they are the most positive.
    include : {"adverse", "all"}
        ``"adverse"``: only features pushing toward the adverse decision, strongest first (an
        adverse action notice); ``"all"``: the ``k`` largest |attributions| in either direction.
        Ties keep the features' order.
    counterfactual : Counterfactuals or list of str, optional
        A :class:`~xaikit.Counterfactuals` result for the same rows as ``exp`` (or one text per
        row): its change is given with each row's reasons, and each reason says whether that
        change touches its feature.

    Returns
    -------
    ReasonCodes
        ``text()`` gives the notice; ``of(row)`` the reasons; ``to_frame()`` a table.

    Examples
    --------
    >>> from xaikit.results import Attribution
    >>> exp = Attribution(values=[[[0.4], [-0.1]]], base_values=[[0.2]], feature_names=["debt", "income"],
    ...                   output_names=["default"], method="demo")
    >>> [(r.feature, r.weight, r.direction) for r in reason_codes(exp, adverse="high").of(0)]
    [('debt', 0.4, 'toward')]
    >>> [(r.feature, r.direction) for r in reason_codes(exp, adverse="high", include="all").of(0)]
    [('debt', 'toward'), ('income', 'away from')]
    """
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise InvalidParameterError(f"k: expected an int >= 1, got {describe(k)}")
    if adverse not in _ADVERSE:
        raise InvalidParameterError(f"adverse: expected one of {list(_ADVERSE)}, got {describe(adverse)}")
    if include not in _INCLUDE:
        raise InvalidParameterError(f"include: expected one of {list(_INCLUDE)}, got {describe(include)}")
    n = getattr(exp, "n_rows", None)
    if not isinstance(n, int):
        raise InvalidParameterError(
            f"exp: expected an Attribution (a table) or a RaggedAttribution (documents, images), got {describe(exp)}"
        )
    rows = _rows(row, n)
    o = _output(exp, target)
    texts, changed = _paired(counterfactual, n, rows)
    sign = -1.0 if adverse == "low" else 1.0  # attributions of this sign push toward the adverse decision
    all_reasons = []
    scores: list[float | None] = []
    for p, i in enumerate(rows):
        names, shown, values, kind = _features(exp, i)
        w = np.asarray(values[:, o], dtype=np.float64)
        strength = sign * w if include == "adverse" else np.abs(w)
        order = np.argsort(-strength, kind="stable")
        if include == "adverse":
            order = order[strength[order] > 0]
        reasons = tuple(
            Reason(
                rank=r + 1,
                feature=names[j],
                value=shown[j],
                weight=float(w[j]),
                direction="toward" if sign * w[j] > 0 else "away from",
                changed_by_counterfactual=None if changed[p] is None else names[j] in changed[p],  # type: ignore[operator]
                kind=kind,
            )
            for r, j in enumerate(order[:k])
        )
        all_reasons.append(reasons)
        base = getattr(exp, "base_values", None)
        scores.append(float(base[i, o] + w.sum()) if base is not None else None)
    return ReasonCodes(
        rows=tuple(rows),
        output=str(exp.output_names[o]),
        adverse=adverse,
        reasons=tuple(all_reasons),
        scores=tuple(scores),
        counterfactuals=tuple(texts),
    )
