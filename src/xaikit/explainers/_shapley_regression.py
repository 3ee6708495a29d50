"""The constrained weighted least-squares estimator of Shapley values and its standard errors.

Shapley values solve ``min_phi sum_S kernel(S) (v(S) - v(0) - z_S . phi)^2`` subject to
``sum(phi) = v(N) - v(0)`` (Lundberg & Lee 2017; Charnes et al. 1988). With a sampled design
the sums are estimated; the constraint is solved exactly through its KKT system, and the
standard errors come from the linearised (sandwich) variance of the estimator under the
stratified design (Covert & Lee 2021 use the same linearisation).
"""

from __future__ import annotations

import numpy as np

from xaikit.explainers._coalitions import Design

__all__ = ["solve_constrained", "regression_std_err"]


def _constrained_operator(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Q`` (k, k) and ``c`` (k,) with ``phi = Q b + c * delta``."""
    k = A.shape[0]
    ones = np.ones(k)
    try:
        Ainv = np.linalg.inv(A)
        if not np.isfinite(Ainv).all() or np.linalg.cond(A) > 1e12:
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        Ainv = np.linalg.pinv(A, rcond=1e-12, hermitian=True)
    a1 = Ainv @ ones
    denom = ones @ a1
    Q = Ainv - np.outer(a1, a1) / denom
    c = a1 / denom
    return Q, c


def solve_constrained(design: Design, y: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shapley estimates ``(k, o)`` from centred values ``y = v(S) - v(0)`` ``(q, o)``.

    Returns the estimates and the operator ``Q`` used by :func:`regression_std_err`.
    """
    Z = design.masks.astype(np.float64)
    W = design.weights
    A = (Z * W[:, None]).T @ Z
    b = (Z * W[:, None]).T @ y
    Q, c = _constrained_operator(A)
    phi = Q @ b + np.outer(c, delta)
    return phi, Q


def regression_std_err(design: Design, y: np.ndarray, phi: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Standard errors ``(k, o)`` of :func:`solve_constrained`'s estimates under the design.

    Each sampled unit (complementary pair) contributes ``t_u = m_g * sum_{S in u} w_S z_S r_S``
    to its group's estimate of the normal equations, ``r`` being the residuals at ``phi``;
    the estimator's variance is ``sum_g fpc_g Var(Q t_u) / m_g``. Enumerated units add none.
    """
    k, o = phi.shape
    if design.exact or design.masks.shape[0] == 0:
        return np.zeros((k, o))
    Z = design.masks.astype(np.float64)
    r = y - Z @ phi  # (q, o)
    contrib = Z[:, :, None] * (design.weights[:, None] * r)[:, None, :]  # (q, k, o)
    per_unit = contrib[0::2] + contrib[1::2]  # (u, k, o)
    var = np.zeros((k, o))
    for gid, m in enumerate(design.group_sizes):
        sel = design.unit_group == gid
        if m == 0 or not sel.any():
            continue
        if m < 2:
            return np.full((k, o), np.nan)
        t = m * per_unit[sel]  # (m, k, o)
        h = np.einsum("ij,mjo->mio", Q, t)
        var += design.group_fpc[gid] * h.var(axis=0, ddof=1) / m
    return np.sqrt(var)


def min_budget(k: int) -> int:
    """Fewest coalitions for a well-determined regression: every singleton and its complement (``2 k``), or all coalitions."""
    return int(min(2**k - 2, 2 * k)) if k > 1 else 0
