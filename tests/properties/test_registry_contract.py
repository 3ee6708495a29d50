"""The explainer contract, run over every registered method (xaikit.testing.check_explainer).

A method added to the registry is picked up here with no test written for it. The checks a
method's default case cannot run are listed below with their reason; any other skip fails.
"""

from __future__ import annotations

import pytest

import xaikit.explainers  # noqa: F401  (registers the built-in methods)
from xaikit.explainers.base import REGISTRY
from xaikit.testing import check_explainer

_NOT_TABULAR = {"frame"}  # networks take arrays and tensors, not DataFrames
_GRADIENTS = ("saliency", "input_x_gradient", "guided_backprop", "integrated_gradients", "gradient_shap",
              "smooth_grad", "smooth_grad_squared", "var_grad", "grad_cam", "grad_cam_plus_plus", "deconvolution",
              "guided_grad_cam", "deep_lift", "deep_lift_shap", "lrp", "layer_cam", "hires_cam", "eigen_cam", "score_cam",
              "layer_integrated_gradients", "layer_gradient_x_activation", "layer_activation", "layer_conductance",
              "internal_influence", "neuron_gradient", "neuron_integrated_gradients")
#: Checks a default case cannot run, per method (anything else skipped is a failure).
ALLOWED_SKIPS: dict[str, set[str]] = {
    **{name: _NOT_TABULAR for name in _GRADIENTS},
    "attention_rollout": _NOT_TABULAR | {"bad:X"},
    "occlusion": {"bad:X"},
    # summation-to-delta needs f(reference), which the torch case has no function for: tested against Captum and
    # shap with every row's delta in tests/oracles/test_deeplift_reference.py
    "deep_lift": _NOT_TABULAR | {"axiom:efficiency"},
    "deep_lift_shap": _NOT_TABULAR | {"axiom:efficiency"},
    # the layer's units are its features: the CNN case has no ignored unit nor a second model at the layer;
    # tested against Captum in tests/oracles/test_layer_methods_captum.py
    "layer_integrated_gradients": _NOT_TABULAR | {"axiom:dummy", "axiom:linearity"},  # a plain function with no reference data takes any width
    "feature_ablation": {"bad:X"},
    "tree_shap": {"batch_size"},  # trees are walked, the model is never called
    # global methods of a plain function: nothing fixes the width of X
    "partial_dependence": {"bad:X"},
    "ale": {"bad:X"},
    "permutation_importance": {"bad:X", "batch_size"},  # the model is called on whole permuted copies of X
    "surrogate_tree": {"bad:X", "batch_size"},
    # samples_per_step is a setting of the search (it changes the draws), not a batch size
    "anchors": {"batch_size"},
    # the population is evaluated in one call per generation; a plain function takes any width of X
    "counterfactuals": {"bad:X", "batch_size"},
}
BUILT_IN = sorted(REGISTRY)


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_registered_method_meets_the_contract(name):
    report = check_explainer(REGISTRY[name])
    unexpected = set(report.skipped) - ALLOWED_SKIPS.get(name, set())
    assert not unexpected, {k: report.skipped[k] for k in unexpected}
    assert len(report.passed) >= 10, report


def test_the_registry_holds_every_built_in_method():
    assert len(BUILT_IN) >= 22
    assert {"exact_shapley", "tree_shap", "lime", "integrated_gradients", "grad_cam", "occlusion"} <= set(BUILT_IN)
