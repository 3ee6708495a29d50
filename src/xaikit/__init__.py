"""xaikit: explanations of machine-learning models you can check.

>>> import numpy as np, xaikit as xk
>>> exp = xk.ExactShapley(lambda X: 2 * X[:, 0] + X[:, 1], background=np.zeros((3, 2))).explain(np.ones((1, 2)))
>>> exp.values.shape, exp.values[0, :, 0].tolist()
((1, 2, 1), [2.0, 1.0])
"""

from __future__ import annotations

__version__ = "0.1.0"

from xaikit.errors import (
    ApproximationWarning,
    CompletenessError,
    ConvergenceWarning,
    FormatError,
    InvalidParameterError,
    MissingDependencyError,
    ModelOutputError,
    UnsupportedModelError,
    XaikitError,
)
from xaikit.execution import LocalExecutor, SerialExecutor, ThreadExecutor, get_executor
from xaikit.explainers import (
    REGISTRY,
    AttentionRollout,
    GradCam,
    GradCamPlusPlus,
    GradientShap,
    GuidedBackprop,
    InputXGradient,
    IntegratedGradients,
    Occlusion,
    Saliency,
    SmoothGrad,
    VarGrad,
    as_input_shape,
    attention_rollout,
    ExactShapley,
    Explainer,
    KernelShap,
    LeverageShap,
    Lime,
    PermutationShap,
    RegressionAdjustedShap,
    SubmodularPick,
    TreeShap,
    explain,
    submodular_pick,
)
from xaikit.explanation import Attribution, Explanation, Interaction, RaggedAttribution
from xaikit.maskers import ImageMasker, TabularMasker, TextMasker, ValueFunction
from xaikit.models import adapt
from xaikit.models.trees import TreeEnsemble

__all__ = [
    "__version__",
    "explain",
    "adapt",
    "Explainer",
    "REGISTRY",
    "ExactShapley",
    "KernelShap",
    "LeverageShap",
    "Lime",
    "PermutationShap",
    "RegressionAdjustedShap",
    "TreeShap",
    "submodular_pick",
    "SubmodularPick",
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
    "TreeEnsemble",
    "TabularMasker",
    "TextMasker",
    "ImageMasker",
    "ValueFunction",
    "Explanation",
    "Attribution",
    "Interaction",
    "RaggedAttribution",
    "SerialExecutor",
    "LocalExecutor",
    "ThreadExecutor",
    "get_executor",
    "XaikitError",
    "InvalidParameterError",
    "UnsupportedModelError",
    "MissingDependencyError",
    "ModelOutputError",
    "CompletenessError",
    "FormatError",
    "ConvergenceWarning",
    "ApproximationWarning",
]
