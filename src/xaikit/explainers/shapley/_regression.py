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

from xaikit.explainers.shapley._coalitions import Design, ReferenceDesigns, stratum_gram, unpack_coalitions
from xaikit.explainers.shapley._kernels import (
    constrained_operators,
    paired_normal_equations,
    paired_residual_moments,
)

__all__ = [
    "solve_constrained", "regression_std_err", "per_reference_estimates", "cross_fitted", "min_budget",
    "effective_dof", "t_widening",
]


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
    widen: bool = True,
) -> np.ndarray:
    """Variances (m, k, o) of each design's estimates (see :func:`regression_std_err`): ``diag(Q M Q')``
    with ``M`` the moments of the sampled units' residuals at ``phi``
    (:func:`~xaikit.explainers.shapley._kernels.paired_residual_moments`); NaN where unknown.

    With ``widen``, the residuals of sampled units are first widened by their leverage
    (:func:`leverage_adjusted`): residuals at the fitted values are smaller than the errors they
    stand for, most of all when a design has few units per parameter.
    """
    if widen:
        y = leverage_adjusted(codes, k, pair_weights, y, phi, Q, unit_group)
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
    Q = np.broadcast_to(Q, (M.shape[0], k, k))
    QM = np.matmul(Q[:, None], M)  # (m, o, k, k)
    var = np.maximum(np.einsum("rokj,rkj->rko", QM, Q), 0.0)
    var[unknown] = np.nan
    return var


#: Power of ``1 / (1 - h)`` that widens a sampled unit's residual of leverage ``h``: 0.5 is the
#: HC2 correction (unbiased for equal error variances), 1 the jackknife-like HC3.
LEVERAGE_POWER = 1.0
#: Largest leverage used: a unit that alone determines a direction of the fit has no residual to widen.
MAX_LEVERAGE = 0.95


def leverage_adjusted(
    codes: np.ndarray, k: int, pair_weights: np.ndarray, y: np.ndarray, phi: np.ndarray, Q: np.ndarray,
    unit_group: np.ndarray,
) -> np.ndarray:
    """``y`` (m, 2u, o) with each sampled unit's residual difference widened by its leverage.

    Under the efficiency constraint the estimate is ``phi = sum_u w_u d_u Q z_u + c delta`` with
    ``d_u = y_S - y_Sc`` the pair's difference, so the fitted difference ``2 z_u . phi - delta``
    moves with ``d_u`` at the rate ``h_u = 2 w_u z_u' Q z_u``, the unit's leverage. Its residual
    ``e_u`` is widened to ``e_u / (1 - h_u) ** LEVERAGE_POWER`` (MacKinnon & White 1985), which is
    what the sandwich variance then reads. Enumerated units (group ``-1``) are left as they are.
    Returns a new array.

    >>> from xaikit.explainers.shapley._coalitions import pack_coalitions
    >>> codes = pack_coalitions(np.array([[[True, False, False], [False, True, False]]]))
    >>> Q = np.eye(3)[None] - 1 / 3
    >>> y = np.array([[[1.0], [0.0], [0.0], [1.0]]])
    >>> out = leverage_adjusted(codes, 3, np.full((1, 2), 0.25), y, np.zeros((1, 3, 1)), Q, np.array([0, 0]))
    >>> bool(np.all(np.abs(out[0, 0::2, 0] - out[0, 1::2, 0]) > np.abs(y[0, 0::2, 0] - y[0, 1::2, 0])))
    True
    """
    y = np.array(y, dtype=np.float64)
    sampled = np.flatnonzero(np.asarray(unit_group) >= 0)
    if sampled.size == 0:
        return y
    z = unpack_coalitions(np.asarray(codes)[:, sampled], k).astype(np.float64)  # (m, s, k)
    w = np.asarray(pair_weights, dtype=np.float64)[:, sampled]
    h = 2.0 * w * np.einsum("rsk,rsk->rs", np.matmul(z, Q), z)  # z' Q z per unit, through one matmul
    widen = (1.0 - np.clip(h, 0.0, MAX_LEVERAGE)) ** -LEVERAGE_POWER - 1.0  # (m, s)
    fit = np.matmul(z, phi)
    total = phi.sum(axis=1)[:, None, :]
    d = y[:, 2 * sampled] - y[:, 2 * sampled + 1]
    e = d - (2.0 * fit - total)
    y[:, 2 * sampled] += e * widen[:, :, None]
    return y


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


def per_reference_estimates(
    designs: ReferenceDesigns, y: np.ndarray, delta: np.ndarray, *, cross_fit: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Each background row's estimates and their variances ``(m, k, o)``: the regression on its own
    sampled normal equations, with its own exact efficiency constraint, or, with ``cross_fit``,
    :func:`cross_fitted`. ``y`` (m, q, o) holds ``v_r(S) - v_r(0)`` of reference ``r``'s
    single-reference game on its own coalitions, ``delta`` (m, o) each game's ``v_r(N) - v_r(0)``.

    The values of the background-averaged game are their weighted mean, with variance
    ``sum_r w_r^2 Var(phi_r)``. (Dealing a small stratum out among the rows makes their designs
    cover it evenly, which can only make the errors of different rows less alike, so the sum
    does not understate the variance when the rows' games resemble each other.)
    """
    k = designs.n_players
    if cross_fit and not designs.exact and (np.asarray(designs.unit_group) >= 0).any():
        return cross_fitted(designs, y, delta)
    phi, Q = _solve_batch(designs.codes, k, designs.pair_weights, y, delta)
    if designs.exact:
        return phi, np.zeros_like(phi)
    var = _variances(
        designs.codes, k, designs.pair_weights, y, phi, Q, designs.unit_group, designs.group_sizes, designs.group_fpc
    )
    return phi, var


#: Folds of :func:`cross_fitted` (up to this many sampled units, each is its own fold): one fit
#: per fold and background row. With 8, the error on 100 background rows of the first case of
#: ``benchmarks/shapley_accuracy.py`` at 4d coalitions is that of one fold per unit (0.0626 and
#: 0.0625), 4 folds 0.0634.
CROSS_FIT_FOLDS = 8


def cross_fitted(designs: ReferenceDesigns, y: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each background row's estimates and variances ``(m, k, o)`` by the cross-fitted regression
    estimator, which has no ratio bias.

    The regression ``phi = solve(A^, b^)`` divides by a sampled normal matrix ``A^``; its bias is of
    order ``1 / n`` (``n`` sampled units), the same sign in every background row's game, so that it
    does not shrink with more background rows while the spread does. Here the matrix is the exact
    one, ``A`` (:func:`~xaikit.explainers.shapley._coalitions.stratum_gram`), and each sampled unit
    ``u`` enters as ``t_u - (X_u - E X_u) phi_(-u)``, ``X_u`` and ``t_u`` its terms of ``A^`` and
    ``b^``, and ``phi_(-u)`` the regression fitted without ``u``'s fold (the sampled units dealt into
    :data:`CROSS_FIT_FOLDS` folds). Since ``phi_(-u)`` does not depend on ``u``, the correction has
    mean zero and the estimate is unbiased (for units drawn independently; the designs that draw a
    stratum without replacement tie the units of a stratum together slightly). The correction
    removes from ``b^`` the spread that the regression would explain, as the ratio does, with a
    fit that is one fold short. Its variance is the sandwich of the units' out-of-fold residuals.
    """
    k = designs.n_players
    codes = _as_codes(designs.codes)
    w = np.ascontiguousarray(designs.pair_weights, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    group = np.asarray(designs.unit_group)
    sampled = np.flatnonzero(group >= 0)
    unit_gram = [
        sum((stratum_gram(k, s) for s in strata), np.zeros((k, k))) / max(n, 1)
        for strata, n in zip(designs.group_strata, designs.group_sizes)
    ]
    A, b = paired_normal_equations(codes, k, w, y)
    n_folds = min(CROSS_FIT_FOLDS, sampled.size)
    folds = [sampled[j::n_folds] for j in range(n_folds)]
    A_exact = A[0].copy()
    parts = []
    for fold in folds:
        A_j, b_j = paired_normal_equations(np.ascontiguousarray(codes[:, fold]), k, np.ascontiguousarray(w[:, fold]),
                                           np.ascontiguousarray(y[:, _pair_rows(fold)]))
        expected = sum((unit_gram[g] for g in group[fold]), np.zeros((k, k)))
        A_exact += expected - A_j[0]
        parts.append((fold, A - A_j, b - b_j, expected))
    y_out = y.copy()  # sampled pairs' values less their out-of-fold fits: their residuals
    correction = np.zeros_like(b)
    for fold, A_rest, b_rest, expected in parts:
        Q_j, c_j = _constrained_operators(A_rest)
        phi_j = np.matmul(Q_j, b_rest) + c_j[:, :, None] * delta[:, None, :]
        fit = np.matmul(unpack_coalitions(codes[:, fold], k).astype(np.float64), phi_j)
        y_out[:, 2 * fold] -= fit
        y_out[:, 2 * fold + 1] -= delta[:, None, :] - fit
        correction += np.matmul(expected, phi_j)
    _, b_out = paired_normal_equations(codes, k, w, y_out)
    Q, c = _constrained_operators(A_exact[None])
    phi = np.matmul(Q, b_out + correction) + c[:, :, None] * delta[:, None, :]
    # the residuals are out of fold already: no leverage to widen them by
    var = _variances(codes, k, w, y_out, np.zeros_like(phi), Q, group, designs.group_sizes, designs.group_fpc, widen=False)
    return phi, var


def _pair_rows(units: np.ndarray) -> np.ndarray:
    """Rows of ``y`` (pairs adjacent) that hold the values of ``units``."""
    return np.stack([2 * units, 2 * units + 1], axis=1).ravel()


def min_budget(k: int) -> int:
    """Fewest coalitions for a well-determined regression: every singleton and its complement (``2 k``), or all coalitions."""
    return int(min(2**k - 2, 2 * k)) if k > 1 else 0


#: The two-sided coverage of ``value +- 2 std_err`` under a normal error.
_TWO_SIGMA = 0.9772498680518208


def effective_dof(parts: np.ndarray, dof: float | np.ndarray) -> np.ndarray:
    """Welch-Satterthwaite degrees of freedom of a sum of independent variance estimates ``parts``
    (leading axis), each with ``dof`` degrees of freedom (a number, or an array broadcast against ``parts``).

    >>> float(effective_dof(np.ones((4, 1)), 1.0)[0]), float(effective_dof(np.array([[1.0], [0.0]]), 3.0)[0])
    (4.0, 3.0)
    """
    total = parts.sum(axis=0)
    squares = (parts**2 / dof).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(squares > 0, total**2 / np.where(squares > 0, squares, 1.0), np.inf)
    return np.maximum(out, 1.0)


def t_widening(dof: np.ndarray) -> np.ndarray:
    """``t_q(dof) / z_q`` at ``q = Phi(2)``: what turns ``+- 2 std_err`` into a t interval of ``dof``
    degrees of freedom (exact for 1 and 2, a Cornish-Fisher expansion above; 1 for infinite).

    >>> np.round(t_widening(np.array([1.0, 2.0, 10.0, np.inf])), 3).tolist()
    [6.984, 2.263, 1.142, 1.0]
    """
    nu = np.asarray(dof, dtype=np.float64)
    q, z = _TWO_SIGMA, 2.0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        inv = np.where(np.isfinite(nu), 1.0 / nu, 0.0)
        t = (z + (z**3 + z) / 4 * inv + (5 * z**5 + 16 * z**3 + 3 * z) / 96 * inv**2
             + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384 * inv**3)
        t = np.where(nu < 1.5, np.tan(np.pi * (q - 0.5)), t)
        t = np.where((nu >= 1.5) & (nu < 2.5), (2 * q - 1) / np.sqrt(2 * q * (1 - q)), t)
    return t / z
