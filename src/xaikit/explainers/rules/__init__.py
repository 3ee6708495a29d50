"""Rule methods: anchors of single decisions (:class:`~xaikit.explainers.rules.anchors.Anchors`) and
the precision and coverage of any rule (:func:`~xaikit.explainers.rules.evaluate.evaluate_rule`)."""

from xaikit.explainers.rules.anchors import Anchors
from xaikit.explainers.rules.evaluate import RuleEvaluation, evaluate_rule

__all__ = ["Anchors", "RuleEvaluation", "evaluate_rule"]
