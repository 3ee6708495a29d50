"""Metrics: how far to trust an explanation.

Every metric of an explanation returns a :class:`~xaikit.results.metric_scores.MetricScores` (per-row
values beside the noise floor of random attributions) and takes ``(model, X, explanation, *, target,
n_random, batch_size, random_state, ...)``; :func:`evaluate` runs several on several explanations into a
:class:`~xaikit.results.quality.QualityReport`.

Modules
-------
faithfulness
    ``deletion``, ``insertion``, ``road``, ``infidelity``, ``faithfulness_correlation``, ``monotonicity``.
robustness
    ``max_sensitivity``, ``local_lipschitz``, ``seed_stability`` (they re-explain: ``explainer=``).
complexity
    ``sparseness``, ``entropy``, ``effective_features`` (no model needed).
sanity
    ``parameter_randomisation``, ``label_randomisation``, ``data_randomisation`` (Adebayo et al. 2018).
evaluate, disagreement
    :func:`evaluate`; rank correlation and top-k overlap between methods.
fooling
    :func:`detect_fooling`: a model that behaves differently on perturbed samples (Slack et al. 2020).
privacy
    :func:`raw_rows`: whether a saved explanation or a report carries raw rows of data.
counterfactual
    The CARLA set of measures for any set of counterfactuals (:func:`counterfactual_metrics`).

The names are loaded on first use (``xaikit.metrics.deletion``), so importing the package loads nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE: dict[str, str] = {
    **dict.fromkeys(["deletion", "insertion", "road", "infidelity", "faithfulness_correlation", "monotonicity"], "faithfulness"),
    **dict.fromkeys(["max_sensitivity", "local_lipschitz", "seed_stability"], "robustness"),
    **dict.fromkeys(["sparseness", "entropy", "effective_features"], "complexity"),
    **dict.fromkeys(["parameter_randomisation", "label_randomisation", "data_randomisation"], "sanity"),
    **dict.fromkeys(["evaluate", "METRICS"], "evaluate"),
    **dict.fromkeys(["disagreement", "rank_correlation", "top_k_overlap"], "disagreement"),
    **dict.fromkeys(["detect_fooling", "FoolingCheck", "FoolingWarning"], "fooling"),
    **dict.fromkeys(["raw_rows", "RawRows"], "privacy"),
    "counterfactual_metrics": "counterfactual",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(f"xaikit.metrics.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'xaikit.metrics' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
