"""Results: kinds declared with their fields and axes (see :mod:`xaikit.results.base`).

:class:`Attribution` (row, feature, output), :class:`Interaction` (row, feature, feature, output),
:class:`RaggedAttribution` (rows with their own features: documents, images), :class:`Importance`,
:class:`Effects`, :class:`Rules` (surrogate rules and anchors), :class:`CounterfactualSet`,
:class:`CounterfactualMetrics`, :class:`Robustness`, :class:`BoundaryPoints`, :class:`ExplanationRobustness`; the ``.xai`` file
format is described in :mod:`xaikit.results.format`; :mod:`xaikit.results.words` reads token
attributions of a transformer word by word (``words_from_tokens``).
"""

from __future__ import annotations

from xaikit.results.attribution import DIAGNOSTIC_AXES, Attribution
from xaikit.results.base import Axis, Field, JsonField, Result
from xaikit.results.counterfactual_metrics import CounterfactualMetrics
from xaikit.results.counterfactuals import CounterfactualSet
from xaikit.results.effects import Effects
from xaikit.results.fairness import GroupFairness
from xaikit.results.feature_visualization import FeatureVisualization
from xaikit.results.format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_COMPRESSION_RATIO,
    MAX_FILE_BYTES,
    MAX_META_BYTES,
    UNCOMPRESSED_ALLOWANCE,
)
from xaikit.results.importance import Importance
from xaikit.results.interaction import Interaction
from xaikit.results.layer_activations import LayerActivations
from xaikit.results.metric_scores import MetricScores
from xaikit.results.quality import QualityReport
from xaikit.results.ragged import RaggedAttribution
from xaikit.results.robustness import BoundaryPoints, ExplanationRobustness, Robustness
from xaikit.results.rules import Rule, Rules
from xaikit.results.training_dynamics import TrainingDynamics
from xaikit.results.weight_statistics import WeightStatistics

Explanation = Result
"""The former name of :class:`Result`."""

__all__ = [
    "DIAGNOSTIC_AXES",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_COMPRESSION_RATIO",
    "MAX_FILE_BYTES",
    "MAX_META_BYTES",
    "UNCOMPRESSED_ALLOWANCE",
    "Attribution",
    "Axis",
    "BoundaryPoints",
    "CounterfactualMetrics",
    "CounterfactualSet",
    "ExplanationRobustness",
    "Robustness",
    "Rule",
    "Effects",
    "FeatureVisualization",
    "LayerActivations",
    "TrainingDynamics",
    "WeightStatistics",
    "Explanation",
    "Field",
    "GroupFairness",
    "Importance",
    "Interaction",
    "JsonField",
    "MetricScores",
    "QualityReport",
    "RaggedAttribution",
    "Result",
    "Rules",
]
