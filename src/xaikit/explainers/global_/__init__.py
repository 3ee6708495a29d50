"""Global explanations: importance, effects, interactions and surrogate rules of a model as a whole.

``permutation_importance`` (PermutationImportance), ``summaries`` (Shapley importance by cohort and the
interaction ranking), ``partial_dependence`` (PartialDependence and ICE), ``ale`` (accumulated local
effects), ``h_statistic`` (Friedman's H), ``surrogate_tree`` (SurrogateTree -> Rules).
"""

from xaikit.explainers.global_.ale import Ale
from xaikit.explainers.global_.h_statistic import h_statistic
from xaikit.explainers.global_.partial_dependence import PartialDependence
from xaikit.explainers.global_.permutation_importance import PermutationImportance
from xaikit.explainers.global_.summaries import interaction_ranking, shapley_importance
from xaikit.explainers.global_.surrogate_tree import SurrogateTree

__all__ = [
    "Ale",
    "PartialDependence",
    "PermutationImportance",
    "SurrogateTree",
    "h_statistic",
    "interaction_ranking",
    "shapley_importance",
]
