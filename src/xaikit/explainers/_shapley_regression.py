"""The constrained weighted least-squares estimator of Shapley values and its standard errors.

Shapley values solve ``min_phi sum_S kernel(S) (v(S) - v(0) - z_S . phi)^2`` subject to
``sum(phi) = v(N) - v(0)`` (Lundberg & Lee 2017; Charnes et al. 1988). With a sampled design
the sums are estimated; the constraint is solved exactly through its KKT system, and the
standard errors come from the linearised (sandwich) variance of the estimator under the
stratified design (Covert & Lee 2021 use the same linearisation).

Every function works on a batch of designs at once (one per background row, the leading axis);
a single design is a batch of one.
"""

from __future__ import annotations

import numpy as np

from xaikit.explainers._coalitions import Design, ReferenceDesigns

__all__ = ["solve_constrained", "regression_std_err", "solve_references", "min_budget"]


def _constrained_operators(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Q`` (m, k, k) and ``c`` (m, k) with ``phi = Q b + c * delta`` for each normal matrix ``A`` (m, k, k)."""
    try:
        Ainv = np.linalg.inv(A)
        if not np.isfinite(Ainv).all() or (np.linalg.cond(A) > 1e12).any():
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        Ainv = np.linalg.pinv(A, rcond=1e-12, hermitian=True)
    a1 = Ainv.sum(axis=2)  # Ainv @ 1
    denom = a1.sum(axis=1)  # 1' Ainv 1
    Q = Ainv - a1[:, :, None] * a1[:, None, :] / denom[:, None, None]
    c = a1 / denom[:, None]
    return Q, c


def _solve_batch(masks: np.ndarray, weights: np.ndarray, y: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``phi`` (m, k, o) and ``Q`` (m, k, k) from masks (m, q, k), weights (m, q), y (m, q, o), delta (m, o)."""
    Z = masks.astype(np.float64)
    ZW = Z * weights[:, :, None]
    A = np.matmul(ZW.transpose(0, 2, 1), Z)
    b = np.matmul(ZW.transpose(0, 2, 1), y)
    Q, c = _constrained_operators(A)
    phi = np.matmul(Q, b) + c[:, :, None] * delta[:, None, :]
    return phi, Q


def _std_err_batch(
    masks: np.ndarray,
    weights: np.ndarray,
    y: np.ndarray,
    phi: np.ndarray,
    Q: np.ndarray,
    unit_group: np.ndarray,
    group_sizes: list[int],
    group_fpc: np.ndarray,
) -> np.ndarray:
    """Variances (m, k, o) of each design's estimates (see :func:`regression_std_err`)."""
    m_refs, _, k = masks.shape
    o = y.shape[2]
    var = np.zeros((m_refs, k, o))
    pair_group = np.repeat(unit_group, 2)
    for gid, size in enumerate(group_sizes):
        sel = pair_group == gid
        if size == 0 or not sel.any():
            continue
        if size < 2:
            return np.full((m_refs, k, o), np.nan)
        Z = masks[:, sel].astype(np.float64)  # (m, 2u, k)
        r = y[:, sel] - np.matmul(Z, phi)  # (m, 2u, o)
        wr = weights[:, sel, None] * r
        # each unit's contribution to the normal equations, then through Q: (m, u, k, o)
        contrib = Z[:, :, :, None] * wr[:, :, None, :]
        t = size * (contrib[:, 0::2] + contrib[:, 1::2])
        h = np.einsum("rij,rujo->ruio", Q, t, optimize=True)
        var += group_fpc[gid] * h.var(axis=1, ddof=1) / size
    return var


def solve_constrained(design: Design, y: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shapley estimates ``(k, o)`` from centred values ``y = v(S) - v(0)`` ``(q, o)``.

    Returns the estimates and the operator ``Q`` used by :func:`regression_std_err`.
    """
    phi, Q = _solve_batch(design.masks[None], design.weights[None], y[None], np.asarray(delta)[None])
    return phi[0], Q[0]


def regression_std_err(design: Design, y: np.ndarray, phi: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Standard errors ``(k, o)`` of :func:`solve_constrained`'s estimates under the design.

    Each sampled unit (complementary pair) contributes ``t_u = m_g * sum_{S in u} w_S z_S r_S``
    to its group's estimate of the normal equations, ``r`` being the residuals at ``phi``;
    the estimator's variance is ``sum_g fpc_g Var(Q t_u) / m_g``. Enumerated units add none.
    """
    k, o = phi.shape
    if design.exact or design.masks.shape[0] == 0:
        return np.zeros((k, o))
    var = _std_err_batch(
        design.masks[None], design.weights[None], y[None], phi[None], Q[None],
        design.unit_group, design.group_sizes, design.group_fpc,
    )
    return np.sqrt(var[0])


def solve_references(
    designs: ReferenceDesigns, y: np.ndarray, delta: np.ndarray, ref_weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Shapley values of the background-averaged game from one regression per background row.

    ``y`` (m, q, o) holds ``v_r(S) - v_r(0)`` of reference ``r``'s single-reference game on its own
    coalitions, ``delta`` (m, o) each game's ``v_r(N) - v_r(0)``. Each game's values are solved with
    its own exact efficiency constraint; the result is their ``ref_weights`` mean, with variance
    ``sum_r w_r^2 Var(phi_r)`` (the designs are drawn independently given the dealing).

    Returns the estimates ``(k, o)`` and their standard errors ``(k, o)``.
    """
    phi, Q = _solve_batch(designs.masks, designs.weights, y, delta)
    est = np.einsum("r,rko->ko", ref_weights, phi)
    if designs.exact:
        return est, np.zeros_like(est)
    var = _std_err_batch(
        designs.masks, designs.weights, y, phi, Q, designs.unit_group, designs.group_sizes, designs.group_fpc
    )
    return est, np.sqrt(np.einsum("r,rko->ko", ref_weights**2, var))


def min_budget(k: int) -> int:
    """Fewest coalitions for a well-determined regression: every singleton and its complement (``2 k``), or all coalitions."""
    return int(min(2**k - 2, 2 * k)) if k > 1 else 0
