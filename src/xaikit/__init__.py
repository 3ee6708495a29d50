"""xaikit: explanations of machine-learning models you can check.

>>> import numpy as np, xaikit as xk
>>> exp = xk.ExactShapley(lambda X: 2 * X[:, 0] + X[:, 1], background=np.zeros((3, 2))).explain(np.ones((1, 2)))
>>> exp.values.shape, exp.values[0, :, 0].tolist()
((1, 2, 1), [2.0, 1.0])
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

from xaikit.errors import (
    ApproximationWarning,
    CompletenessError,
    ContractError,
    ConvergenceWarning,
    FormatError,
    InvalidParameterError,
    MissingDependencyError,
    ModelOutputError,
    UnsupportedModelError,
    XaikitError,
)

#: Public name -> the module that defines it; imported on first use, so that ``import xaikit`` loads
#: no numba, scipy, torch, tensorflow, pandas or matplotlib (a method imports what it needs).
_LAZY: dict[str, str] = {
    **dict.fromkeys(["LocalExecutor", "SerialExecutor", "ThreadExecutor", "get_executor"], "xaikit.execution"),
    **dict.fromkeys(
        [
            "REGISTRY", "AttentionRollout", "GradCam", "GradCamPlusPlus", "GradientShap", "GuidedBackprop",
            "InputXGradient", "IntegratedGradients", "Occlusion", "Saliency", "SmoothGrad", "SmoothGradSquared", "VarGrad",
            "FeatureAblation", "Deconvolution", "GuidedGradCam", "DeepLift", "DeepLiftShap", "Lrp", "lrp_rules",
            "LayerCam", "HiResCam", "EigenCam", "ScoreCam", "LayerIntegratedGradients", "LayerGradientXActivation",
            "LayerActivation", "LayerConductance", "InternalInfluence", "NeuronGradient", "NeuronIntegratedGradients",
            "as_input_shape", "attention_rollout", "ExactShapley", "Explainer", "KernelShap", "LeverageShap",
            "Lime", "PermutationShap", "RegressionAdjustedShap", "SubmodularPick", "TreeShap", "explain",
            "submodular_pick", "methods", "MethodInfo", "PermutationImportance", "PartialDependence", "Ale",
            "SurrogateTree", "h_statistic", "shapley_importance", "interaction_ranking",
            "Counterfactuals", "Constraints", "reason_codes", "Anchors", "evaluate_rule", "RuleEvaluation",
            "fgsm", "pgd", "boundary_search", "robustness", "explanation_robustness",
        ],
        "xaikit.explainers",
    ),
    **dict.fromkeys(
        ["Attribution", "Effects", "Explanation", "Importance", "Interaction", "RaggedAttribution", "Result", "Rules",
         "Rule", "CounterfactualSet", "CounterfactualMetrics", "Robustness", "BoundaryPoints", "ExplanationRobustness",
         "MetricScores"],
        "xaikit.results",
    ),
    "counterfactual_metrics": "xaikit.metrics.counterfactual",
    **dict.fromkeys(["deletion", "insertion", "road", "infidelity", "faithfulness_correlation", "monotonicity"],
                    "xaikit.metrics.faithfulness"),
    **dict.fromkeys(["max_sensitivity", "local_lipschitz", "seed_stability"], "xaikit.metrics.robustness"),
    **dict.fromkeys(["sparseness", "effective_features"], "xaikit.metrics.complexity"),
    **dict.fromkeys(["parameter_randomisation", "label_randomisation", "data_randomisation"], "xaikit.metrics.sanity"),
    "evaluate": "xaikit.metrics.evaluate",
    **dict.fromkeys(["detect_fooling", "FoolingWarning"], "xaikit.metrics.fooling"),
    "raw_rows": "xaikit.metrics.privacy",
    "QualityReport": "xaikit.results.quality",
    **dict.fromkeys(["FairnessReport", "attribute_gap", "quality_by_group"], "xaikit.fairness"),
    "GroupFairness": "xaikit.results.fairness",
    "explain_dataset": "xaikit.execution.dataset",
    "RowSeeds": "xaikit._validation",
    **dict.fromkeys(["open_dataset", "DatasetExplanation"], "xaikit.results.dataset"),
    **dict.fromkeys(["layer_activations", "TrainingRecorder", "keras_callback", "activation_maximization", "weight_statistics"],
                    "xaikit.internals"),
    "LayerActivations": "xaikit.results.layer_activations",
    "TrainingDynamics": "xaikit.results.training_dynamics",
    "WeightStatistics": "xaikit.results.weight_statistics",
    "FeatureVisualization": "xaikit.results.feature_visualization",
    "ReasonCodes": "xaikit.explainers.counterfactual.reason_codes",
    **dict.fromkeys(["ImageMasker", "TabularMasker", "TextMasker", "ValueFunction"], "xaikit.maskers"),
    "adapt": "xaikit.models",
    **dict.fromkeys(["words_from_tokens", "token_word_groups"], "xaikit.results.words"),
    "TreeEnsemble": "xaikit.models.trees",
    "Report": "xaikit.report",
}
_SUBMODULES = ("testing", "datasets", "execution", "explainers", "fairness", "internals", "maskers", "metrics", "models", "plots", "report")


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"xaikit.{name}")
    raise AttributeError(f"module 'xaikit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from xaikit._validation import RowSeeds
    from xaikit.execution import LocalExecutor, SerialExecutor, ThreadExecutor, get_executor
    from xaikit.execution.dataset import explain_dataset
    from xaikit.explainers import (
        REGISTRY,
        Ale,
        Anchors,
        AttentionRollout,
        Constraints,
        Counterfactuals,
        Deconvolution,
        DeepLift,
        DeepLiftShap,
        EigenCam,
        ExactShapley,
        Explainer,
        FeatureAblation,
        GradCam,
        GradCamPlusPlus,
        GradientShap,
        GuidedBackprop,
        GuidedGradCam,
        HiResCam,
        InputXGradient,
        IntegratedGradients,
        InternalInfluence,
        KernelShap,
        LayerActivation,
        LayerCam,
        LayerConductance,
        LayerGradientXActivation,
        LayerIntegratedGradients,
        LeverageShap,
        Lime,
        Lrp,
        MethodInfo,
        NeuronGradient,
        NeuronIntegratedGradients,
        Occlusion,
        PartialDependence,
        PermutationImportance,
        PermutationShap,
        RegressionAdjustedShap,
        RuleEvaluation,
        Saliency,
        ScoreCam,
        SmoothGrad,
        SmoothGradSquared,
        SubmodularPick,
        SurrogateTree,
        TreeShap,
        VarGrad,
        as_input_shape,
        attention_rollout,
        boundary_search,
        evaluate_rule,
        explain,
        explanation_robustness,
        fgsm,
        h_statistic,
        interaction_ranking,
        lrp_rules,
        methods,
        pgd,
        reason_codes,
        robustness,
        shapley_importance,
        submodular_pick,
    )
    from xaikit.explainers.counterfactual.reason_codes import ReasonCodes
    from xaikit.fairness import FairnessReport, attribute_gap, quality_by_group
    from xaikit.internals import TrainingRecorder, activation_maximization, keras_callback, layer_activations, weight_statistics
    from xaikit.maskers import ImageMasker, TabularMasker, TextMasker, ValueFunction
    from xaikit.metrics.complexity import effective_features, sparseness
    from xaikit.metrics.counterfactual import counterfactual_metrics
    from xaikit.metrics.evaluate import evaluate
    from xaikit.metrics.faithfulness import deletion, faithfulness_correlation, infidelity, insertion, monotonicity, road
    from xaikit.metrics.fooling import FoolingWarning, detect_fooling
    from xaikit.metrics.privacy import raw_rows
    from xaikit.metrics.robustness import local_lipschitz, max_sensitivity, seed_stability
    from xaikit.metrics.sanity import data_randomisation, label_randomisation, parameter_randomisation
    from xaikit.models import adapt
    from xaikit.models.trees import TreeEnsemble
    from xaikit.report import Report
    from xaikit.results import (
        Attribution,
        BoundaryPoints,
        CounterfactualMetrics,
        CounterfactualSet,
        Effects,
        Explanation,
        ExplanationRobustness,
        Importance,
        Interaction,
        MetricScores,
        RaggedAttribution,
        Result,
        Robustness,
        Rule,
        Rules,
    )
    from xaikit.results.dataset import DatasetExplanation, open_dataset
    from xaikit.results.fairness import GroupFairness
    from xaikit.results.feature_visualization import FeatureVisualization
    from xaikit.results.layer_activations import LayerActivations
    from xaikit.results.quality import QualityReport
    from xaikit.results.training_dynamics import TrainingDynamics
    from xaikit.results.weight_statistics import WeightStatistics
    from xaikit.results.words import token_word_groups, words_from_tokens

__all__ = [
    "__version__",
    "explain",
    "methods",
    "MethodInfo",
    "adapt",
    "words_from_tokens",
    "token_word_groups",
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
    "SmoothGradSquared",
    "FeatureAblation",
    "Deconvolution",
    "GuidedGradCam",
    "DeepLift",
    "DeepLiftShap",
    "Lrp",
    "lrp_rules",
    "LayerCam",
    "HiResCam",
    "EigenCam",
    "ScoreCam",
    "LayerIntegratedGradients",
    "LayerGradientXActivation",
    "LayerActivation",
    "LayerConductance",
    "InternalInfluence",
    "NeuronGradient",
    "NeuronIntegratedGradients",
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
    "Counterfactuals",
    "Constraints",
    "reason_codes",
    "ReasonCodes",
    "counterfactual_metrics",
    "Anchors",
    "evaluate_rule",
    "RuleEvaluation",
    "fgsm",
    "pgd",
    "boundary_search",
    "robustness",
    "explanation_robustness",
    "evaluate",
    "QualityReport",
    "deletion",
    "insertion",
    "road",
    "infidelity",
    "faithfulness_correlation",
    "monotonicity",
    "max_sensitivity",
    "local_lipschitz",
    "seed_stability",
    "sparseness",
    "effective_features",
    "parameter_randomisation",
    "label_randomisation",
    "data_randomisation",
    "detect_fooling",
    "FoolingWarning",
    "raw_rows",
    "FairnessReport",
    "GroupFairness",
    "attribute_gap",
    "quality_by_group",
    "TreeEnsemble",
    "TabularMasker",
    "TextMasker",
    "ImageMasker",
    "ValueFunction",
    "Explanation",
    "Attribution",
    "Interaction",
    "RaggedAttribution",
    "Result",
    "Importance",
    "Effects",
    "Rules",
    "Rule",
    "CounterfactualSet",
    "CounterfactualMetrics",
    "Robustness",
    "BoundaryPoints",
    "ExplanationRobustness",
    "MetricScores",
    "Report",
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
    "ContractError",
    "ConvergenceWarning",
    "ApproximationWarning",
    "layer_activations",
    "TrainingRecorder",
    "keras_callback",
    "activation_maximization",
    "weight_statistics",
    "LayerActivations",
    "TrainingDynamics",
    "WeightStatistics",
    "FeatureVisualization",
    "explain_dataset",
    "open_dataset",
    "DatasetExplanation",
    "RowSeeds",
]
