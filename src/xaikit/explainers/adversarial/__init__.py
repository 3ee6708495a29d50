"""Adversarial analysis: gradient attacks (FGSM, PGD), a black-box search for the nearest decision
boundary, accuracy under attack (:func:`robustness`) and the sensitivity of explanations
(:func:`explanation_robustness`)."""

from xaikit.explainers.adversarial.attacks import fgsm, pgd
from xaikit.explainers.adversarial.boundary import boundary_search
from xaikit.explainers.adversarial.robustness import explanation_robustness, robustness

__all__ = ["boundary_search", "explanation_robustness", "fgsm", "pgd", "robustness"]
