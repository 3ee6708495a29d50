"""CounterfactualDisplay: one row and its counterfactuals as a table, the changed cells highlighted."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.plots import _common as c
from xaikit.plots import style

__all__ = ["CounterfactualDisplay"]

#: The fill of a changed cell, and of an invalid counterfactual's status cell.
CHANGED = "#F6D0B1"
INVALID = "#DDDDDD"


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "missing" if v is None else str(v)


class CounterfactualDisplay:
    """A table: the features as lines, the row then its counterfactuals as columns; cells a
    counterfactual changes are highlighted, and the last lines give validity and distance.

    Parameters
    ----------
    features : list of str
    original : list
        The row's values.
    counterfactuals : list of list
        Each counterfactual's values.
    changed : array of bool (k, d)
    valid : array of bool (k,)
    distance : array (k,)
    title : str, optional

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    table_ : matplotlib Table
    highlighted_ : list of (line, column)
        The table cells drawn as changed (line: feature position; column: counterfactual position).

    Examples
    --------
    >>> from xaikit.results.counterfactuals import CounterfactualSet
    >>> cfs = CounterfactualSet(values=[[[1.0, 1.0], [0.0, 0.0]]], data=[[0.0, 1.0]], valid=[[1, 0]], distance=[[2.0, 1.0]],
    ...                         changed=[[[1, 0], [0, 1]]], plausibility=[[0.5, 0.1]], predictions=[[[0.8], [0.4]]],
    ...                         original_predictions=[[0.3]], feature_types=["numeric", "categorical"],
    ...                         domains=[None, ["no", "yes"]], feature_names=["income", "owner"], method="demo")
    >>> disp = CounterfactualDisplay.from_explanation(cfs, row=0)
    >>> disp.highlighted_
    [(0, 0), (1, 1)]
    """

    def __init__(self, features: list[str], original: list[Any], counterfactuals: list[list[Any]], changed: Any,
                 valid: Any, distance: Any, *, title: str | None = None) -> None:
        self.features = list(features)
        self.original = list(original)
        self.counterfactuals = [list(z) for z in counterfactuals]
        self.changed = np.asarray(changed, dtype=bool)
        self.valid = np.asarray(valid, dtype=bool)
        self.distance = np.asarray(distance, dtype=np.float64)
        k, d = len(self.counterfactuals), len(self.features)
        if (len(self.original) != d or any(len(z) != d for z in self.counterfactuals) or self.changed.shape != (k, d)
                or self.valid.shape != (k,) or self.distance.shape != (k,)):
            raise InvalidParameterError(
                f"counterfactuals: expected {k} rows of {d} values with changed ({k}, {d}), valid and distance ({k},), "
                f"got changed {self.changed.shape}, valid {self.valid.shape}, distance {self.distance.shape}"
            )
        self.title = title
        self.highlighted_: list[tuple[int, int]] = []

    @classmethod
    def from_explanation(cls, cf: Any, *, row: int = 0, max_counterfactuals: int = 8, ax: Any = None) -> CounterfactualDisplay:
        """Draw row ``row`` of a :class:`~xaikit.results.counterfactuals.CounterfactualSet` and its counterfactuals.

        Parameters
        ----------
        cf : CounterfactualSet
        row : int
        max_counterfactuals : int
            The first ones kept.
        ax : matplotlib Axes, optional
        """
        c.check_result(cf, ("CounterfactualSet",), "CounterfactualDisplay")
        i = c.resolve_row(row, cf.n_rows)
        k = min(cf.n_counterfactuals, c.check_positive_int(max_counterfactuals, "max_counterfactuals"))
        frame = cf.counterfactuals(i)
        names = cf.feature_names
        original = cf.rows().iloc[i].tolist()
        values = frame[names].iloc[:k].values.tolist()
        n_valid = int(cf.valid[i].sum())
        title = f"{cf.method}: row {i}, {n_valid} of {cf.n_counterfactuals} change the decision"
        disp = cls(names, original, values, cf.changed[i, :k].astype(bool), cf.valid[i, :k], cf.distance[i, :k], title=title)
        return disp.plot(ax=ax)

    def plot(self, ax: Any = None) -> CounterfactualDisplay:
        """Draw the table (into ``ax`` when given) and return self."""
        k, d = len(self.counterfactuals), len(self.features)
        fig, axes = c.get_axes(ax, (2.0 + 1.4 * (k + 1), 0.8 + 0.3 * (d + 2)))
        axes.axis("off")
        text = [[_cell(self.original[j])] + [_cell(self.counterfactuals[m][j]) for m in range(k)] for j in range(d)]
        text.append(["-"] + ["yes" if v else "no" for v in self.valid])
        text.append(["0"] + [f"{v:.3g}" for v in self.distance])
        colours = [["white"] * (k + 1) for _ in range(d + 2)]
        self.highlighted_ = []
        for j in range(d):
            for m in range(k):
                if self.changed[m, j]:
                    colours[j][m + 1] = CHANGED
                    self.highlighted_.append((j, m))
        for m in range(k):
            colours[d][m + 1] = "white" if self.valid[m] else INVALID
        table = axes.table(cellText=text, cellColours=colours, rowLabels=[*self.features, "valid", "distance"],
                           colLabels=["row", *(f"cf {m}" for m in range(k))], loc="center", cellLoc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        for (line, column), cell in table.get_celld().items():
            if line > 0 and column >= 1 and (line - 1, column - 1) in self.highlighted_:
                cell.get_text().set_color(style.POSITIVE)
                cell.get_text().set_fontweight("bold")
        self.table_ = table
        if self.title:
            axes.set_title(self.title, fontsize=9)
        self.figure_, self.ax_ = fig, axes
        return self
