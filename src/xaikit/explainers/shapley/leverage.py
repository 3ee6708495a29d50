"""Leverage SHAP: the Shapley regression sampled by leverage scores, without replacement."""

from __future__ import annotations

from typing import ClassVar

from xaikit.explainers.shapley.kernel import KernelShap

__all__ = ["LeverageShap"]


class LeverageShap(KernelShap):
    """Leverage SHAP (Musco & Witter 2025).

    The leverage scores of the Shapley regression are equal for every coalition *size*, so the
    budget is split equally among sizes (rather than by the kernel's mass, which crowds the
    smallest and largest sizes); coalitions are paired, weighted by their inverse inclusion rate,
    and the constrained regression is solved exactly. Everything else (one regression per
    background row, exact strata, dealt and drawn coalitions, standard errors, ``tol=``) is
    shared with :class:`KernelShap`.

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> f = lambda X: X[:, 0] * X[:, 1]
    >>> exp = xk.LeverageShap(f, background=np.zeros((1, 2))).explain(np.ones((1, 2)), n_samples=2)
    >>> exp.values[0, :, 0]
    array([0.5, 0.5])
    """

    name = "leverage_shap"
    strategy: ClassVar[str] = "leverage"
