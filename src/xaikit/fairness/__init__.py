"""Fairness: group metrics of a classifier's decisions, with bootstrap intervals.

Modules
-------
group_metrics
    :class:`~xaikit.fairness.group_metrics.FairnessReport` (metrics per group, intersectional groups,
    differences and ratios, calibration by group, bootstrap intervals) and fairlearn-style functions
    (``demographic_parity_difference``...).
bootstrap
    Weighted sums of all bootstrap resamples at once (stratified or plain).
"""

from xaikit.fairness.group_metrics import (
    FairnessReport,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    equalized_odds_ratio,
    predictive_parity_difference,
)

__all__ = [
    "FairnessReport",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equal_opportunity_difference",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "predictive_parity_difference",
]
