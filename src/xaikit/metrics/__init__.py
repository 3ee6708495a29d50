"""Metrics: the quality of explanations.

Modules
-------
counterfactual
    The CARLA set of measures for any set of counterfactuals (:func:`~xaikit.metrics.counterfactual.counterfactual_metrics`).

Nothing is imported here: import the functions from their modules (or from ``xaikit``).
"""

__all__: list[str] = []
