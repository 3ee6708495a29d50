"""Displays of xaikit results, in scikit-learn's style (matplotlib is imported only when one draws).

``XDisplay.from_explanation(exp, *, ax=None, ...)`` computes what to draw from a result and draws
it; ``XDisplay(...)`` holds what it draws and ``plot(ax=None) -> self`` draws it, keeping
``figure_`` and ``ax_``. Nothing calls ``plt.show()``, and no display changes the result it draws.
``result.plot(kind, **kw)`` is :func:`plot`.

>>> import numpy as np, xaikit as xk
>>> exp = xk.Attribution(values=[[[1.0], [-2.0]]], base_values=[[0.0]], feature_names=["a", "b"], method="demo")
>>> type(exp.plot("waterfall")).__name__
'WaterfallDisplay'
>>> sorted(xk.plots.KINDS)[:3]
['activation_stats', 'attribution_drift', 'bar']
"""

from __future__ import annotations

from typing import Any

from xaikit.errors import InvalidParameterError
from xaikit.plots import style
from xaikit.plots.bar import BarDisplay
from xaikit.plots.beeswarm import BeeswarmDisplay, beeswarm_offsets
from xaikit.plots.counterfactuals import CounterfactualDisplay
from xaikit.plots.curves import CurveDisplay
from xaikit.plots.effects import EffectsDisplay
from xaikit.plots.fairness import FairnessDisplay
from xaikit.plots.gap import GapDisplay
from xaikit.plots.image import ImageDisplay
from xaikit.plots.importance import ImportanceDisplay
from xaikit.plots.internals import (
    ActivationStatsDisplay,
    AttributionDriftDisplay,
    FeatureMapsDisplay,
    FeatureVisualizationDisplay,
    FiltersDisplay,
    GradientFlowDisplay,
    TopExamplesDisplay,
    WeightHistogramsDisplay,
    WeightNormsDisplay,
)
from xaikit.plots.matrix import DecisionDisplay, HeatmapDisplay, InteractionDisplay
from xaikit.plots.quality import DisagreementDisplay, QualityDisplay
from xaikit.plots.reason_codes import ReasonCodesDisplay
from xaikit.plots.robustness import RobustnessDisplay
from xaikit.plots.rules import RulesDisplay
from xaikit.plots.scatter import ScatterDisplay
from xaikit.plots.text import TextDisplay, text_ansi, text_html
from xaikit.plots.waterfall import ForceDisplay, WaterfallDisplay

__all__ = [
    "KINDS",
    "ActivationStatsDisplay",
    "AttributionDriftDisplay",
    "FeatureMapsDisplay",
    "FeatureVisualizationDisplay",
    "FiltersDisplay",
    "GradientFlowDisplay",
    "TopExamplesDisplay",
    "WeightHistogramsDisplay",
    "WeightNormsDisplay",
    "BarDisplay",
    "BeeswarmDisplay",
    "CounterfactualDisplay",
    "CurveDisplay",
    "DisagreementDisplay",
    "FairnessDisplay",
    "GapDisplay",
    "QualityDisplay",
    "DecisionDisplay",
    "EffectsDisplay",
    "ForceDisplay",
    "HeatmapDisplay",
    "ImageDisplay",
    "ImportanceDisplay",
    "InteractionDisplay",
    "ReasonCodesDisplay",
    "RobustnessDisplay",
    "RulesDisplay",
    "ScatterDisplay",
    "TextDisplay",
    "WaterfallDisplay",
    "beeswarm_offsets",
    "plot",
    "style",
    "text_ansi",
    "text_html",
]

#: The kinds of :func:`plot` and the display each draws.
KINDS: dict[str, Any] = {
    "bar": BarDisplay,
    "beeswarm": BeeswarmDisplay,
    "waterfall": WaterfallDisplay,
    "force": ForceDisplay,
    "scatter": ScatterDisplay,
    "dependence": ScatterDisplay,
    "heatmap": HeatmapDisplay,
    "decision": DecisionDisplay,
    "interaction": InteractionDisplay,
    "text": TextDisplay,
    "image": ImageDisplay,
    "importance": ImportanceDisplay,
    "effects": EffectsDisplay,
    "rules": RulesDisplay,
    "counterfactuals": CounterfactualDisplay,
    "robustness": RobustnessDisplay,
    "curves": CurveDisplay,
    "gap": GapDisplay,
    "quality": QualityDisplay,
    "disagreement": DisagreementDisplay,
    "fairness": FairnessDisplay,
    "activation_stats": ActivationStatsDisplay,
    "feature_maps": FeatureMapsDisplay,
    "top_examples": TopExamplesDisplay,
    "filters": FiltersDisplay,
    "weight_norms": WeightNormsDisplay,
    "weight_histograms": WeightHistogramsDisplay,
    "gradient_flow": GradientFlowDisplay,
    "attribution_drift": AttributionDriftDisplay,
    "feature_visualization": FeatureVisualizationDisplay,
}


def plot(result: Any, kind: str = "bar", **kwargs: Any) -> Any:
    """Draw ``result`` with the display of ``kind``: ``KINDS[kind].from_explanation(result, **kwargs)``.

    Parameters
    ----------
    result : Attribution, RaggedAttribution or Interaction
    kind : str
        One of :data:`KINDS`.
    **kwargs
        The display's ``from_explanation`` parameters (``ax``, ``target``, ``row``...).

    >>> import numpy as np, xaikit as xk
    >>> xk.plots.plot(  # doctest: +ELLIPSIS
    ...     xk.Attribution(values=np.ones((1, 1, 1)), base_values=[[0.0]], method="demo"), "pie")
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: kind: expected one of 'bar', 'beeswarm', ..., got 'pie'
    """
    display = KINDS.get(kind) if isinstance(kind, str) else None
    if display is None:
        listed = ", ".join(repr(k) for k in KINDS)
        raise InvalidParameterError(f"kind: expected one of {listed}, got {kind!r}")
    import inspect

    accepted = [p for p in inspect.signature(display.from_explanation).parameters if p != "exp"]
    unknown = [k for k in kwargs if k not in accepted]
    if unknown:
        raise InvalidParameterError(f"{unknown[0]}: not a parameter of {display.__name__}; expected among {', '.join(accepted)}")
    return display.from_explanation(result, **kwargs)
