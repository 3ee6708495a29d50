"""Counterfactual explanations: :class:`Counterfactuals` (the search) under :class:`Constraints`."""

from xaikit.explainers.counterfactual.constraints import ConstraintError, Constraints
from xaikit.explainers.counterfactual.counterfactuals import Counterfactuals

__all__ = ["ConstraintError", "Constraints", "Counterfactuals"]
