"""Counterfactual explanations: :class:`Counterfactuals` (the search) under :class:`Constraints`, and
:func:`reason_codes` (the principal reasons of a decision, paired with the change that would reverse it)."""

from xaikit.explainers.counterfactual.constraints import ConstraintError, Constraints
from xaikit.explainers.counterfactual.counterfactuals import Counterfactuals
from xaikit.explainers.counterfactual.reason_codes import Reason, ReasonCodes, reason_codes

__all__ = ["ConstraintError", "Constraints", "Counterfactuals", "Reason", "ReasonCodes", "reason_codes"]
