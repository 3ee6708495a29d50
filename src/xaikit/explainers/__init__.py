"""Explainers, one module per method; each registers itself under its ``name``."""

from xaikit.explainers.attention_rollout import AttentionRollout, attention_rollout
from xaikit.explainers.auto import choose_method, explain
from xaikit.explainers.base import REGISTRY, Explainer, MethodInfo, get_explainer_class, methods
from xaikit.explainers.exact_shapley import ExactShapley
from xaikit.explainers.grad_cam import GradCam, GradCamPlusPlus
from xaikit.explainers.gradients import (
    GradientShap,
    GuidedBackprop,
    InputXGradient,
    IntegratedGradients,
    Saliency,
    SmoothGrad,
    VarGrad,
    as_input_shape,
)
from xaikit.explainers.kernel_shap import KernelShap
from xaikit.explainers.leverage_shap import LeverageShap
from xaikit.explainers.lime import Lime
from xaikit.explainers.occlusion import Occlusion
from xaikit.explainers.permutation_shap import PermutationShap
from xaikit.explainers.regression_adjusted_shap import RegressionAdjustedShap
from xaikit.explainers.submodular_pick import SubmodularPick, submodular_pick
from xaikit.explainers.tree_shap import TreeShap

__all__ = [
    "Explainer",
    "REGISTRY",
    "get_explainer_class",
    "methods",
    "MethodInfo",
    "explain",
    "choose_method",
    "ExactShapley",
    "KernelShap",
    "LeverageShap",
    "Lime",
    "PermutationShap",
    "RegressionAdjustedShap",
    "TreeShap",
    "SubmodularPick",
    "submodular_pick",
    "Saliency",
    "InputXGradient",
    "GuidedBackprop",
    "IntegratedGradients",
    "GradientShap",
    "SmoothGrad",
    "VarGrad",
    "GradCam",
    "GradCamPlusPlus",
    "Occlusion",
    "AttentionRollout",
    "attention_rollout",
    "as_input_shape",
]
