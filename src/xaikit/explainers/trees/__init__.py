"""Exact TreeSHAP over the flat tree ensembles of ``xaikit.models.trees``: path-dependent and
interventional values and interaction values, with compiled kernels."""

from xaikit.explainers.trees.tree_shap import TreeShap

__all__ = ["TreeShap"]
