"""Gradient and layer methods: written once over the model's ``gradient`` and ``layer_gradients``
capabilities (torch and Keras adapters), one module per method (the layer and neuron methods share
``layer_methods``, the CAM variants ``cam_variants``); LRP's rules are ``lrp_rules``."""

from xaikit.explainers.gradients import lrp as lrp_rules
from xaikit.explainers.gradients.attention_rollout import AttentionRollout, attention_rollout
from xaikit.explainers.gradients.base import DEFAULT_BATCH_SIZE, GradientExplainer, as_input_shape, resolve_target
from xaikit.explainers.gradients.cam_variants import EigenCam, HiResCam, LayerCam, ScoreCam
from xaikit.explainers.gradients.deconvolution import Deconvolution
from xaikit.explainers.gradients.deep_lift import DeepLift, DeepLiftShap
from xaikit.explainers.gradients.feature_ablation import FeatureAblation
from xaikit.explainers.gradients.grad_cam import GradCam, GradCamPlusPlus
from xaikit.explainers.gradients.gradient_shap import GradientShap
from xaikit.explainers.gradients.guided_backprop import GuidedBackprop
from xaikit.explainers.gradients.guided_grad_cam import GuidedGradCam
from xaikit.explainers.gradients.input_x_gradient import InputXGradient
from xaikit.explainers.gradients.integrated_gradients import INTEGRATION_METHODS, IntegratedGradients, integration_rule
from xaikit.explainers.gradients.layer_methods import (
    InternalInfluence,
    LayerActivation,
    LayerConductance,
    LayerGradientXActivation,
    LayerIntegratedGradients,
    NeuronGradient,
    NeuronIntegratedGradients,
)
from xaikit.explainers.gradients.lrp import Lrp
from xaikit.explainers.gradients.memory import auto_batch_size, memory_budget
from xaikit.explainers.gradients.occlusion import Occlusion
from xaikit.explainers.gradients.saliency import Saliency
from xaikit.explainers.gradients.smooth_grad import SmoothGrad, SmoothGradSquared, VarGrad

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "INTEGRATION_METHODS",
    "GradientExplainer",
    "AttentionRollout",
    "GradCam",
    "GradCamPlusPlus",
    "GradientShap",
    "GuidedBackprop",
    "InputXGradient",
    "IntegratedGradients",
    "Occlusion",
    "Saliency",
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
    "auto_batch_size",
    "memory_budget",
    "as_input_shape",
    "attention_rollout",
    "integration_rule",
    "resolve_target",
]
