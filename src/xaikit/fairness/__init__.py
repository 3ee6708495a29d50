"""Fairness: group metrics of a classifier's decisions, with bootstrap intervals.

Modules
-------
group_metrics
    :class:`~xaikit.fairness.group_metrics.FairnessReport` (metrics per group, intersectional groups,
    differences and ratios, calibration by group, bootstrap intervals) and fairlearn-style functions
    (``demographic_parity_difference``...).
bootstrap
    Weighted sums of all bootstrap resamples at once (stratified or plain).
gap
    :func:`~xaikit.fairness.gap.attribute_gap`: the Shapley values of the gap between two groups' mean outputs,
    summing to it exactly, with bootstrap intervals.
per_group
    :func:`~xaikit.fairness.per_group.quality_by_group`: the quality of explanations per group and between groups.
"""

from xaikit.fairness.gap import attribute_gap
from xaikit.fairness.group_metrics import (
    FairnessReport,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    equalized_odds_ratio,
    predictive_parity_difference,
)
from xaikit.fairness.per_group import GroupDifference, GroupQuality, quality_by_group

__all__ = [
    "FairnessReport",
    "GroupDifference",
    "GroupQuality",
    "attribute_gap",
    "quality_by_group",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equal_opportunity_difference",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "predictive_parity_difference",
]
