"""The former home of the result classes: they live in :mod:`xaikit.results` now."""

from __future__ import annotations

from xaikit.results import DIAGNOSTIC_AXES, Attribution, Explanation, Interaction, RaggedAttribution, Result

__all__ = ["DIAGNOSTIC_AXES", "Attribution", "Explanation", "Interaction", "RaggedAttribution", "Result"]
