"""RobustnessDisplay: accuracy under attack against the perturbation size, one line per attack."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.plots import _common as c
from xaikit.plots import style

__all__ = ["RobustnessDisplay"]

#: Line colours of the attacks in turn (Okabe-Ito, after the sign colours).
ATTACK_COLOURS = (style.NEGATIVE, style.POSITIVE, "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


class RobustnessDisplay:
    """Accuracy against epsilon: one line with markers per attack, and the clean accuracy as a dashed grey line.

    Parameters
    ----------
    epsilons : array of shape (e,)
    accuracy : array of shape (a, e)
        Accuracy under each attack at each epsilon, in [0, 1].
    attack_names : list of str
        The a attacks.
    clean_accuracy : float, optional
    title : str, optional

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    lines_ : dict, attack name -> its Line2D
    clean_line_ : the clean accuracy's Line2D, or None

    Examples
    --------
    >>> from xaikit.results.robustness import Robustness
    >>> rob = Robustness(predicted=[[[0, 1], [1, 1]]], epsilons=[0.1, 0.2], labels=[0, 0],
    ...                  clean_predicted=[0, 0], attack_names=["pgd"], method="demo")
    >>> disp = RobustnessDisplay.from_explanation(rob)
    >>> disp.lines_["pgd"].get_ydata().tolist(), disp.clean_line_.get_ydata().tolist()
    ([0.5, 0.0], [1.0, 1.0])
    """

    def __init__(
        self, epsilons: Any, accuracy: Any, attack_names: list[str], *, clean_accuracy: float | None = None,
        title: str | None = None, xlabel: str = "epsilon",
    ) -> None:
        self.epsilons = np.asarray(epsilons, dtype=np.float64)
        self.accuracy = np.asarray(accuracy, dtype=np.float64)
        self.attack_names = list(attack_names)
        if self.epsilons.ndim != 1 or self.accuracy.shape != (len(self.attack_names), len(self.epsilons)):
            raise InvalidParameterError(
                f"accuracy: expected shape (n_attacks, n_epsilons) = ({len(self.attack_names)}, {self.epsilons.size}), "
                f"got {self.accuracy.shape}"
            )
        self.clean_accuracy = clean_accuracy
        self.title = title
        self.xlabel = xlabel

    @classmethod
    def from_explanation(cls, exp: Any, *, ax: Any = None) -> RobustnessDisplay:
        """Draw a :class:`~xaikit.results.robustness.Robustness` (into ``ax`` when given)."""
        c.check_result(exp, ("Robustness",), "RobustnessDisplay")
        norm = exp.params.get("norm")
        xlabel = "epsilon" if norm is None else f"epsilon ({'L-inf' if norm == 'inf' else 'L2'})"
        disp = cls(exp.epsilons, exp.accuracy, exp.attack_names, clean_accuracy=exp.clean_accuracy,
                   title=f"accuracy under attack ({exp.n_rows} rows)", xlabel=xlabel)
        return disp.plot(ax=ax)

    def plot(self, ax: Any = None) -> RobustnessDisplay:
        """Draw the lines (into ``ax`` when given) and return self."""
        fig, axes = c.get_axes(ax, (6.4, 4.0))
        self.lines_: dict[str, Any] = {}
        for k, name in enumerate(self.attack_names):
            (line,) = axes.plot(self.epsilons, self.accuracy[k], marker="o", lw=1.8,
                                color=ATTACK_COLOURS[k % len(ATTACK_COLOURS)], label=name)
            self.lines_[name] = line
        self.clean_line_ = None
        if self.clean_accuracy is not None and len(self.epsilons):
            (self.clean_line_,) = axes.plot([self.epsilons[0], self.epsilons[-1]], [self.clean_accuracy] * 2, ls="--",
                                            color=style.NEUTRAL, lw=1.0, label="clean")
        axes.set_ylim(-0.02, 1.02)
        axes.set_xlabel(self.xlabel)
        axes.set_ylabel("accuracy")
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        axes.legend(frameon=False)
        if self.title:
            axes.set_title(self.title)
        c.tidy(fig, axes, ax is None)
        self.figure_, self.ax_ = fig, axes
        return self
