"""Control variates for LIME on documents and images, with exact expectations under LIME's own law.

LIME perturbs a document or an image by keeping ``c`` of its ``d`` features (``c`` drawn from a
known law, the kept set uniform given ``c``) and weights each perturbation by a kernel of ``c``
alone. Under such an exchangeable law every moment of the 0/1 vector ``z`` is a closed form in
``c``: ``P(z_i) = c/d``, ``P(z_i z_j) = c(c-1)/(d(d-1))``, ``P(z_i z_j z_k) = c(c-1)(c-2)/(d(d-1)(d-2))``
for distinct indices. So for functions ``q(z)`` built from a linear score ``lin = b.z`` and ``c``
(``lin^2``, ``c lin``, ``c lin^2``: the curvature of a classifier's link and the way hiding words
rescales a TF-IDF vector), the weighted sums that the surrogate's normal equations expect over a
sample of ``n`` rows (row 0 the input itself) are exact, and so is the ridge regression of ``q`` on
the selected columns of ``z`` that those expected sums define (``population_fit``).

The surrogate is then the regression estimator of survey sampling: with ``theta`` the
coefficients of the controls in a regression of ``y`` on ``[z, q]``,

``coef = ridge(y - q theta) + population_fit(q) theta``,

whose expectation is the plain ridge fit's up to terms of order ``1/n`` (the ratio bias both
already have), and whose spread is that of the model's part which the controls do not follow.
The surrogate of the selected features also takes, as one more control, the linear part of the
features left out (they are in its residual otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np

__all__ = ["Controls", "ExpectedSums", "Law", "controls", "expected_sums", "population_fit", "rest_control"]


class Law(NamedTuple):
    """A sample of an exchangeable law: ``prob[c]`` of keeping ``c`` of the ``d`` features (the kept set
    uniform given ``c``), the kernel ``weight[c]`` of each count, and each sampled row's ``counts``."""

    prob: np.ndarray
    weight: np.ndarray
    counts: np.ndarray


@dataclass(frozen=True)
class ExpectedSums:
    """The expected weighted sums over a sample (row 0 and ``n - 1`` draws) of an exchangeable law.

    ``sw = E sum w``; ``E sum w z = s 1``; ``E sum w z z' = a I + c 11'``; for the controls
    ``E sum w q = sq`` ``(m,)`` and ``E sum w z q' = szq`` ``(d, m)``.
    """

    sw: float
    s: float
    a: float
    c: float
    sq: np.ndarray
    szq: np.ndarray


def controls(S: np.ndarray, b: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """The control columns ``[lin^2, c lin, c lin^2]`` ``(n, 3)`` of the 0/1 rows ``S`` (``lin = S b``,
    ``c`` the row's number of ones: ``counts``, counted here when not given).

    >>> controls(np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([2.0, 1.0])).tolist()
    [[9.0, 6.0, 18.0], [1.0, 1.0, 1.0]]
    """
    lin = S @ b
    c = S.sum(axis=1) if counts is None else counts
    return np.column_stack([lin**2, c * lin, c * lin**2])


def expected_sums(prob: np.ndarray, weight: np.ndarray, n: int, b: np.ndarray) -> ExpectedSums:
    """Expected weighted sums of a sample of ``n`` rows: row 0 keeps all ``d`` features (weight
    ``weight[d]``), each other row keeps ``c`` with probability ``prob[c]`` (``c = 0..d``, the kept
    set uniform given ``c``) with weight ``weight[c]``; controls :func:`controls` of score ``b``.
    Needs ``d >= 3``.

    >>> e = expected_sums(np.array([0.0, 0.0, 0.0, 1.0]), np.ones(4), 2, np.ones(3))  # every row whole
    >>> e.sw, e.s, e.a, e.c, e.sq.tolist()
    (2.0, 2.0, 0.0, 2.0, [18.0, 18.0, 54.0])
    """
    d = b.size
    c = np.arange(d + 1, dtype=np.float64)
    p1 = c / d
    p2 = c * (c - 1) / (d * (d - 1))
    p3 = c * (c - 1) * (c - 2) / (d * (d - 1) * (d - 2))
    pw = (n - 1) * prob * weight  # each count's expected weight over the n - 1 draws
    w0 = float(weight[d])
    B, B2 = float(b.sum()), float(b @ b)
    lin = p1 * B  # E[lin | c]
    lin2 = p1 * B2 + p2 * (B * B - B2)  # E[lin^2 | c]
    # E[z_l lin | c] = p1 b_l + p2 (B - b_l) and E[z_l lin^2 | c] = p1 f1_l + p2 f2_l + p3 f3_l (the terms
    # where l meets the sum's indices), summed over c against the count weights u: sum_c u_c E[z_l . | c]
    rest, rest2 = B - b, B2 - b**2
    f1, f2, f3 = b**2, rest2 + 2 * b * rest, rest**2 - rest2

    def z_lin(u: np.ndarray) -> np.ndarray:
        return (u @ p1) * b + (u @ p2) * rest

    def z_lin2(u: np.ndarray) -> np.ndarray:
        return (u @ p1) * f1 + (u @ p2) * f2 + (u @ p3) * f3

    q0 = np.array([B * B, d * B, d * B * B])  # row 0: z = 1, c = d
    sq = w0 * q0 + np.array([pw @ lin2, (pw * c) @ lin, (pw * c) @ lin2])
    szq = w0 * q0[None, :] + np.column_stack([z_lin2(pw), z_lin(pw * c), z_lin2(pw * c)])
    return ExpectedSums(
        sw=w0 + float(pw.sum()), s=w0 + float(pw @ p1), a=float(pw @ (p1 - p2)), c=w0 + float(pw @ p2), sq=sq, szq=szq,
    )


def rest_control(e: ExpectedSums, coef: np.ndarray, rest: np.ndarray) -> tuple[float, np.ndarray]:
    """Expected sums ``(E sum w r, E sum w z r)`` of the control ``r = sum_{j in rest} coef_j z_j``."""
    total = float(coef[rest].sum())
    szr = np.full(coef.size, e.c * total)
    szr[rest] += e.a * coef[rest]
    return e.s * total, szr


def population_fit(e: ExpectedSums, sq: np.ndarray, szq: np.ndarray, sel: np.ndarray, alpha: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients ``(len(sel), m)`` and intercepts ``(m,)`` of the ridge regression (penalty
    ``alpha``, intercept free) of controls with expected sums ``sq``, ``szq`` on the columns ``sel``,
    from the expected normal equations (their centred Gram matrix is ``a' I + c' 11'``, inverted in
    closed form).

    >>> e = expected_sums(np.array([0.0, 0.5, 0.5, 0.0]), np.ones(4), 1001, np.array([1.0, 0.0, 0.0]))
    >>> coef, _ = population_fit(e, e.sq, e.szq, np.arange(3), 0.0)
    >>> (coef[:, 0].round(6) + 0.0).tolist()  # lin^2 = z_0: its regression on z is z_0 itself
    [1.0, 0.0, 0.0]
    """
    p = sel.size
    a = e.a + alpha
    c = e.c - e.s * e.s / e.sw
    cross = szq[sel] - (e.s / e.sw) * sq[None, :]
    coef = (cross - (c / (a + c * p)) * cross.sum(axis=0, keepdims=True)) / a
    return coef, (sq - e.s * coef.sum(axis=0)) / e.sw


class Controls:
    """The control variates of one output's surrogate (:mod:`xaikit.explainers.surrogate.lime`).

    ``moments`` are the sample's weighted moments (``sw``, ``xbar``, ``ybar``, ``G``, ``C`` and the
    solves ``solve_on(cols, alpha, B)``, ``fit_centred(...)`` of LIME's ``_Moments``); ``law`` is the
    sample's :class:`Law`. The controls are built from the plain ridge score on every
    column (penalty ``alpha_all``); ``b_all`` is that ridge with the controls' part replaced by its
    expectation (what ``"highest_weights"`` ranks); :meth:`fit` is the surrogate on chosen columns.
    """

    def __init__(self, S: np.ndarray, y: np.ndarray, w: np.ndarray, moments: Any, t: int,
                 law: Law, alpha_all: float) -> None:
        self.S, self.y, self.w, self.moments, self.t = S, y, w, moments, t
        d = S.shape[1]
        self.every = np.arange(d)
        b0 = moments.ridge(alpha_all)[:, t]
        self.Q = controls(S, b0, law.counts)
        self.sums = expected_sums(law.prob, law.weight, S.shape[0], b0)
        theta, _, _, _, X = self._terms(self.Q, self.every, alpha_all)
        coef_q = population_fit(self.sums, self.sums.sq, self.sums.szq, self.every, alpha_all)[0]
        self.b_all = X[:, 0] - X[:, 1:] @ theta + coef_q @ theta

    def _terms(self, Q: np.ndarray, cols: np.ndarray, alpha: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The controls ``Q`` against the fit on the columns ``cols``: their coefficients ``theta`` in the
        ridge regression of ``y`` on ``[S[:, cols], Q]`` (``Q`` unpenalised), their weighted means, their
        cross moments with ``cols``, their centred values, and the penalised Gram matrix's inverse
        applied to ``[c_t, Zq]`` (the plain fit's cross moments, then theirs)."""
        m, S, w, t = self.moments, self.S, self.w, self.t
        qbar = (w @ Q) / m.sw
        Qc = Q - qbar
        Wq = Qc * w[:, None]
        # (S - xbar)' W Qc = S' W Qc, as the weighted columns of Qc sum to 0
        Zq = S.T @ Wq if cols.size == S.shape[1] else S[:, cols].T @ Wq
        X = m.solve_on(cols, alpha, np.column_stack([m.C[cols, t], Zq]))
        schur = Qc.T @ Wq - Zq.T @ X[:, 1:]
        rhs = Wq.T @ (self.y - m.ybar[t]) - Zq.T @ X[:, 0]
        theta = np.linalg.pinv(schur, hermitian=True) @ rhs
        return theta, qbar, Zq, Qc, X

    def fit(self, sel: np.ndarray, alpha: float) -> Any:
        """The surrogate on the columns ``sel`` (penalty ``alpha``): the ridge fit of ``y - q theta``
        plus the controls' exact part ``population_fit(q) theta``; the columns left out enter the
        controls by their linear part. Standard errors: the sandwich of the adjusted fit."""
        m, S, t = self.moments, self.S, self.t
        rest = np.setdiff1d(self.every, sel)
        Q, sq, szq = self.Q, self.sums.sq, self.sums.szq
        if rest.size:
            left_out = self.b_all.copy()
            left_out[sel] = 0.0
            Q = np.column_stack([Q, S @ left_out])
            r_sq, r_szq = rest_control(self.sums, self.b_all, rest)
            sq, szq = np.append(sq, r_sq), np.column_stack([szq, r_szq])
        theta, qbar, Zq, Qc, _ = self._terms(Q, sel, alpha)
        fit = m.fit_centred(S, (self.y - m.ybar[t]) - Qc @ theta, m.C[sel, t] - Zq @ theta,
                            float(m.ybar[t] - qbar @ theta), self.w, sel, alpha)
        coef_q, intercept_q = population_fit(self.sums, sq, szq, sel, alpha)
        return replace(fit, coef=fit.coef + coef_q @ theta, intercept=fit.intercept + float(intercept_q @ theta))
