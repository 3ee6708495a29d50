"""Interventional Shapley values of any model: exact enumeration and the sampled estimators, over one
value function (tables: a background; documents and images: the text and image maskers)."""

from xaikit.explainers.shapley.base import ShapleyExplainer
from xaikit.explainers.shapley.exact import ExactShapley
from xaikit.explainers.shapley.kernel import KernelShap
from xaikit.explainers.shapley.leverage import LeverageShap
from xaikit.explainers.shapley.permutation import PermutationShap
from xaikit.explainers.shapley.regression_adjusted import RegressionAdjustedShap

__all__ = ["ShapleyExplainer", "ExactShapley", "KernelShap", "LeverageShap", "PermutationShap", "RegressionAdjustedShap"]
