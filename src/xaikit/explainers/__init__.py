"""Explainers, one folder per family and one module per method; each registers itself under its ``name``.

``shapley/`` (exact and sampled Shapley values of any model), ``tree_shap`` (exact TreeSHAP),
``surrogate/`` (LIME, submodular pick), ``gradients/`` (gradient, layer, occlusion and attention methods),
``global_/`` (permutation importance, partial dependence, ALE, H-statistic, surrogate rules); ``base``
holds the contract and the registry, ``pipeline`` the one explain pipeline, ``auto`` the choice of
``xaikit.explain``.
"""

from xaikit.explainers.auto import choose_method, explain
from xaikit.explainers.base import REGISTRY, Explainer, MethodInfo, get_explainer_class, methods
from xaikit.explainers.global_ import (
    Ale,
    PartialDependence,
    PermutationImportance,
    SurrogateTree,
    h_statistic,
    interaction_ranking,
    shapley_importance,
)
from xaikit.explainers.gradients import (
    AttentionRollout,
    Deconvolution,
    FeatureAblation,
    GradCam,
    GradCamPlusPlus,
    GradientShap,
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    Occlusion,
    Saliency,
    SmoothGrad,
    SmoothGradSquared,
    VarGrad,
    as_input_shape,
    attention_rollout,
)
from xaikit.explainers.shapley import ExactShapley, KernelShap, LeverageShap, PermutationShap, RegressionAdjustedShap
from xaikit.explainers.surrogate import Lime, SubmodularPick, submodular_pick
from xaikit.explainers.trees import TreeShap

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
    "SmoothGradSquared",
    "FeatureAblation",
    "Deconvolution",
    "GuidedGradCam",
    "GradCam",
    "GradCamPlusPlus",
    "Occlusion",
    "AttentionRollout",
    "attention_rollout",
    "as_input_shape",
    "PermutationImportance",
    "PartialDependence",
    "Ale",
    "SurrogateTree",
    "h_statistic",
    "shapley_importance",
    "interaction_ranking",
]
