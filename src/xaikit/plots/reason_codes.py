"""ReasonCodesDisplay: one row's principal reasons as bars, with the change that would turn the decision."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.plots import _common as c
from xaikit.plots import style

__all__ = ["ReasonCodesDisplay"]


class ReasonCodesDisplay:
    """Horizontal bars, one per reason, the principal reason at the top.

    Each bar is a reason's |weight|, coloured by its direction (toward the adverse decision:
    ``style.POSITIVE``; away from it: ``style.NEGATIVE``), labelled ``"1. feature = value"``. The
    paired counterfactual, when there is one, is written under the title.

    Parameters
    ----------
    weights : array of shape (k,)
        The reasons' |weights|, principal first.
    labels : list of str
        The k labels.
    toward : array of bool, shape (k,)
        Whether each reason pushes toward the adverse decision.
    title : str, optional
    counterfactual : str, optional
        The change that would turn the decision.

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    bars_ : matplotlib BarContainer

    Examples
    --------
    >>> import xaikit as xk
    >>> from xaikit.explainers.counterfactual.reason_codes import reason_codes
    >>> exp = xk.Attribution(values=[[[-0.3], [0.1], [-0.05]]], base_values=[[0.6]], data=[[23.0, 5.0, 2.0]],
    ...                      feature_names=["age", "income", "loans"], output_names=["approve"], method="demo")
    >>> disp = ReasonCodesDisplay.from_reason_codes(reason_codes(exp, k=2), counterfactual=None)
    >>> disp.labels, disp.weights.tolist()
    (['1. age = 23', '2. loans = 2'], [0.3, 0.05])
    """

    def __init__(self, weights: Any, labels: list[str], toward: Any, *, title: str | None = None, counterfactual: str | None = None) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)
        self.labels = list(labels)
        self.toward = np.asarray(toward, dtype=bool)
        if self.weights.ndim != 1 or len(self.labels) != len(self.weights) or self.toward.shape != self.weights.shape:
            raise InvalidParameterError(
                f"labels: expected one label and one direction per weight ({self.weights.shape}), got {len(self.labels)} labels "
                f"and {self.toward.shape} directions"
            )
        self.title = title
        self.counterfactual = counterfactual

    @classmethod
    def from_reason_codes(cls, codes: Any, *, row: int | None = None, counterfactual: str | None = "paired", ax: Any = None) -> ReasonCodesDisplay:
        """Draw one row's reasons from :func:`~xaikit.reason_codes`.

        Parameters
        ----------
        codes : ReasonCodes
        row : int, optional
            The row (one of ``codes.rows``); may be left out when there is one.
        counterfactual : str or None
            ``"paired"``: the row's paired counterfactual (if any); None: none; another str: that text.
        ax : matplotlib Axes, optional
        """
        from xaikit.explainers.counterfactual.reason_codes import ReasonCodes

        if not isinstance(codes, ReasonCodes):
            raise InvalidParameterError(f"codes: expected the ReasonCodes of xaikit.reason_codes, got {describe(codes)}")
        if row is None:
            if len(codes.rows) != 1:
                raise InvalidParameterError(f"row: expected one of the rows {list(codes.rows)} (the codes hold several), got None")
            row = codes.rows[0]
        reasons = codes.of(row)
        p = codes.rows.index(int(row))
        if counterfactual == "paired":
            counterfactual = codes.counterfactuals[p]
        elif counterfactual is not None and not isinstance(counterfactual, str):
            raise InvalidParameterError(f"counterfactual: expected 'paired', None or a text, got {describe(counterfactual)}")
        labels = [f"{r.rank}. {r.feature}" + (f" = {r.value}" if r.value and r.kind == "feature" else f" {r.value}" if r.value else "") for r in reasons]
        score = codes.scores[p]
        title = f"row {row}: {codes.output}" + (f" = {score:.3g}" if score is not None else "") + f" (adverse when {codes.adverse})"
        disp = cls([abs(r.weight) for r in reasons], labels, [r.direction == "toward" for r in reasons], title=title,
                   counterfactual=counterfactual)
        return disp.plot(ax=ax)

    def plot(self, ax: Any = None) -> ReasonCodesDisplay:
        """Draw the bars (into ``ax`` when given) and return self."""
        k = len(self.weights)
        fig, axes = c.get_axes(ax, (6.4, 1.6 + 0.35 * max(k, 1)))
        y = np.arange(k)[::-1].astype(np.float64)
        colours = [style.POSITIVE if t else style.NEGATIVE for t in self.toward]
        self.bars_ = axes.barh(y, self.weights, color=colours, height=0.7)
        title = self.title or ""
        if self.counterfactual:
            title += "\n" + "\n".join(textwrap.wrap(f"would change the decision: {self.counterfactual}", 70)[:3])
        c.finish_rows(self, fig, axes, ax is None, y=y, labels=self.labels, xlabel="|attribution| (toward the decision: orange)",
                      title=title or None, zero=False)
        return self
