"""RulesDisplay: a surrogate's rules as a readable list, each with its prediction as a bar and its support;
anchors, each with its precision as a bar and its coverage."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.plots import _common as c
from xaikit.plots import style

__all__ = ["RulesDisplay"]


class RulesDisplay:
    """One line per rule, sorted by prediction (largest at the top): the rule's conditions as text
    on the left, its prediction as a bar, and its support (share of the fit rows) after the bar.
    Anchors (rules with a precision) are drawn in row order, their precision as the bar and their
    coverage after it.

    Parameters
    ----------
    predictions : array of shape (k,)
        The bar lengths, in drawing order (top first).
    texts : list of str
        The k rules' conditions.
    support : array of shape (k,)
        The k rules' support fractions.
    xlabel : str
    title : str, optional

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    bars_ : matplotlib BarContainer (one bar per rule drawn)
    order_ : ndarray of int
        The position in the result of each rule drawn, top first.

    Examples
    --------
    >>> from xaikit.results.rules import Rules
    >>> from xaikit.plots.rules import RulesDisplay
    >>> r = Rules(prediction=[[0.2], [0.7]], support=[30, 10], support_fraction=[0.75, 0.25], importance=[1.0],
    ...           feature_names=["age"], output_names=["disease"], task="regression", method="demo",
    ...           conditions=[[{"feature": "age", "operator": "<=", "threshold": 54.5}],
    ...                       [{"feature": "age", "operator": ">", "threshold": 54.5}]])
    >>> disp = RulesDisplay.from_explanation(r)
    >>> disp.texts, disp.order_.tolist(), len(disp.bars_)
    (['age > 54.5', 'age <= 54.5'], [1, 0], 2)
    """

    def __init__(self, predictions: Any, texts: list[str], support: Any, *, xlabel: str = "prediction",
                 title: str | None = None) -> None:
        self.predictions = np.asarray(predictions, dtype=np.float64)
        self.texts = list(texts)
        self.support = np.asarray(support, dtype=np.float64)
        if self.predictions.ndim != 1 or len(self.texts) != len(self.predictions) or self.support.shape != self.predictions.shape:
            raise InvalidParameterError(
                f"texts: expected one text and one support per prediction ({self.predictions.shape}), "
                f"got {len(self.texts)} texts and support of shape {self.support.shape}"
            )
        self.xlabel = xlabel
        self.title = title
        self.order_ = np.arange(len(self.predictions))

    @classmethod
    def from_explanation(cls, rules: Any, *, target: int | str | None = None, max_rules: int = 15, ax: Any = None) -> RulesDisplay:
        """Draw the rules of a :class:`~xaikit.results.rules.Rules` result.

        Parameters
        ----------
        rules : Rules
        target : int or str, optional
            The output whose prediction is drawn; required when the result has several.
        max_rules : int
            The rules with the largest predictions kept (the others are counted in the title).
        ax : matplotlib Axes, optional
        """
        from xaikit.results.rules import condition_text

        c.check_result(rules, ("Rules",), "RulesDisplay")
        max_rules = c.check_positive_int(max_rules, "max_rules")
        if rules.precision is not None:
            return cls._anchors(rules, max_rules, ax)
        j = c.resolve_target(rules, target)
        pred = np.asarray(rules.prediction[:, j], dtype=np.float64)
        order = np.argsort(-pred, kind="stable")[:max_rules]
        conditions = rules.conditions
        texts = [" and ".join(condition_text(cond) for cond in conditions[i]) or "(every row)" for i in order]
        name = rules.output_names[j]
        probability = rules.task == "classification" or rules.params.get("output") == "probability"
        left_out = rules.n_rules - len(order)
        title = f"{rules.method}: {'P(' + name + ')' if probability else name}" + (f" (top {len(order)} of {rules.n_rules} rules)" if left_out else "")
        disp = cls(pred[order], texts, np.asarray(rules.support_fraction)[order], xlabel=f"P({name})" if probability else name, title=title)
        disp.order_ = order.astype(np.int64)
        return disp.plot(ax=ax)

    @classmethod
    def _anchors(cls, rules: Any, max_rules: int, ax: Any) -> RulesDisplay:
        """Anchors: one bar per rule, its precision, in row order; the text gives the row, the
        conditions and the class, the note after the bar the coverage."""
        from xaikit.results.rules import condition_text

        order = np.arange(min(rules.n_rules, max_rules))
        conditions, labels, rows = rules.conditions, rules.labels, rules.row
        texts = [f"row {int(rows[i])}: " + (" and ".join(condition_text(cond) for cond in conditions[i]) or "(every input)")
                 + f" -> {labels[i]}" for i in order]
        left_out = rules.n_rules - len(order)
        title = f"{rules.method}: precision and coverage" + (f" (first {len(order)} of {rules.n_rules} rules)" if left_out else "")
        disp = cls(np.asarray(rules.precision)[order], texts, np.asarray(rules.support_fraction)[order], xlabel="precision",
                   title=title)
        disp.order_ = order.astype(np.int64)
        return disp.plot(ax=ax)

    def plot(self, ax: Any = None) -> RulesDisplay:
        """Draw the rules (into ``ax`` when given) and return self."""
        k = len(self.predictions)
        fig, axes = c.get_axes(ax, (8.0, 1.2 + 0.4 * max(k, 1)))
        y = np.arange(k)[::-1].astype(np.float64)
        colours = style.sign_colours(self.predictions) if (self.predictions < 0).any() else [style.POSITIVE] * k
        self.bars_ = axes.barh(y, self.predictions, color=colours, height=0.7)
        span = float(np.abs(self.predictions).max(initial=0.0)) or 1.0
        for yi, p, s in zip(y, self.predictions, self.support):
            axes.text(p + 0.02 * span if p >= 0 else p - 0.02 * span, yi, f"{p:.3g}  ({100 * s:.0f}% of rows)",
                      va="center", ha="left" if p >= 0 else "right", fontsize=8, color="#333333")
        low = min(0.0, float(self.predictions.min(initial=0.0)))
        high = max(0.0, float(self.predictions.max(initial=0.0)))
        pad = 0.45 * (high - low or 1.0)
        axes.set_xlim(low - (pad if low < 0 else 0.0), high + pad)
        c.finish_rows(self, fig, axes, ax is None, y=y, labels=self.texts, xlabel=self.xlabel, title=self.title)
        return self
