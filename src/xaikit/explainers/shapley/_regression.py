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

from xaikit.explainers.shapley._coalitions import Design, ReferenceDesigns
from xaikit.explainers.shapley._kernels import (
    constrained_operators,
    paired_normal_equations,
    paired_residual_moments,
)

__all__ = ["solve_constrained", "regression_std_err", "solve_references", "min_budget"]


def _constrained_operators(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Q`` (m, k, k) and ``c`` (m, k) with ``phi = Q b + c * delta`` for each normal matrix ``A`` (m, k, k).

    Through a Cholesky factor (:func:`constrained_operators`); a matrix that is singular or too
    ill-conditioned for it goes through the pseudo-inverse instead.
    """
    A = np.ascontiguousarray(A, dtype=np.float64)
    Q, c, failed = constrained_operators(A, 1e-12)
    if failed.any():
        Ainv = np.linalg.pinv(A[failed], rcond=1e-12, hermitian=True)
        a1 = Ainv.sum(axis=2)  # Ainv @ 1
        denom = a1.sum(axis=1)  # 1' Ainv 1
        Q[failed] = Ainv - a1[:, :, None] * a1[:, None, :] / denom[:, None, None]
        c[failed] = a1 / denom[:, None]
    return Q, c


#: Pairs, over all groups and designs, from which a variance is estimated at least. Each group of
#: each design uses a random subsample of its pairs (at least :data:`MIN_GROUP_PAIRS`) when it has
#: more than its share: a group's variance estimate is then off by about ``sqrt(2 / n)``, and the
#: sum over thousands of pairs by a few percent.
VARIANCE_PAIRS = 4096
MIN_GROUP_PAIRS = 8


def _solve_batch(
    codes: np.ndarray, k: int, pair_weights: np.ndarray, y: np.ndarray, delta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``phi`` (m, k, o) and ``Q`` (m, k, k) of paired designs: unit codes (m, u, W) (one member of
    each pair), pair weights (m, u), centred values y (m, 2u, o) (pairs adjacent), delta (m, o)."""
    A, b = paired_normal_equations(_as_codes(codes), k, np.ascontiguousarray(pair_weights, dtype=np.float64), y)
    Q, c = _constrained_operators(A)
    phi = np.matmul(Q, b) + c[:, :, None] * delta[:, None, :]
    return phi, Q


def _variances(
    codes: np.ndarray,
    k: int,
    pair_weights: np.ndarray,
    y: np.ndarray,
    phi: np.ndarray,
    Q: np.ndarray,
    unit_group: np.ndarray,
    group_sizes: list[int],
    group_fpc: np.ndarray,
) -> np.ndarray:
    """Variances (m, k, o) of each design's estimates (see :func:`regression_std_err`)."""
    M, unknown = paired_residual_moments(
        _as_codes(codes),
        k,
        np.ascontiguousarray(pair_weights, dtype=np.float64),
        y,
        phi,
        np.asarray(unit_group, dtype=np.int64),
        np.asarray(group_sizes, dtype=np.int64),
        np.asarray(group_fpc, dtype=np.float64),
        max(MIN_GROUP_PAIRS, -(-VARIANCE_PAIRS // max(1, codes.shape[0] * len(group_sizes)))),
    )
    QM = np.matmul(Q[:, None], M)  # (m, o, k, k)
    var = np.maximum(np.einsum("rokj,rkj->rko", QM, Q), 0.0)
    var[unknown] = np.nan
    return var


def _as_codes(codes: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(codes, dtype=np.uint64)


def solve_constrained(design: Design, y: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shapley estimates ``(k, o)`` from centred values ``y = v(S) - v(0)`` ``(q, o)``.

    Returns the estimates and the operator ``Q`` used by :func:`regression_std_err`.
    """
    k = design.masks.shape[1]
    phi, Q = _solve_batch(design.unit_codes[None], k, design.weights[None, 0::2], y[None], np.asarray(delta)[None])
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
    var = _variances(
        design.unit_codes[None], k, design.weights[None, 0::2], y[None], phi[None], Q[None],
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
    ``sum_r w_r^2 Var(phi_r)``. (Dealing a small stratum out among the rows makes their designs
    cover it evenly, which can only make the errors of different rows less alike, so the sum
    does not understate the variance when the rows' games resemble each other.)

    Returns the estimates ``(k, o)`` and their standard errors ``(k, o)``.
    """
    k = designs.n_players
    phi, Q = _solve_batch(designs.codes, k, designs.pair_weights, y, delta)
    est = np.einsum("r,rko->ko", ref_weights, phi)
    if designs.exact:
        return est, np.zeros_like(est)
    var = _variances(
        designs.codes, k, designs.pair_weights, y, phi, Q, designs.unit_group, designs.group_sizes, designs.group_fpc
    )
    return est, np.sqrt(np.einsum("r,rko->ko", ref_weights**2, var))


def min_budget(k: int) -> int:
    """Fewest coalitions for a well-determined regression: every singleton and its complement (``2 k``), or all coalitions."""
    return int(min(2**k - 2, 2 * k)) if k > 1 else 0
