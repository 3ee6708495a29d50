"""LIME: a weighted linear surrogate fitted around each row, document or image.

For a row ``x`` the masker draws ``n_samples`` perturbations: an interpretable representation
``S`` and the model inputs. Each sample is weighted by a kernel of its distance to ``x``, the
model is called in batches of ``batch_size``, and per output a ridge regression of the model
output on the selected columns of ``S`` is fitted with those weights. Its coefficients are the
attributions and its intercept the base value.

* Tables (:class:`~xaikit.maskers.TabularMasker`): ``S`` holds bin or category indicators, or
  standardised values (:meth:`xaikit.maskers.neighbourhood.TabularNeighbourhood.sample`); distances are Euclidean in
  ``S``; default kernel width ``0.75 * sqrt(d)``. The result is an :class:`Attribution`.
* Documents (:class:`~xaikit.maskers.TextMasker`) and images (:class:`~xaikit.maskers.ImageMasker`):
  ``S`` says which tokens or segments are kept; distances are cosine distances to the unperturbed
  input (times 100 for text); default kernel widths 25 (text) and 0.25 (images), as LIME's. Each
  document or image has its own features, so the result is a
  :class:`~xaikit.results.RaggedAttribution`: ``exp[i].feature_names`` are document ``i``'s
  tokens (or image ``i``'s segments) and ``exp[i].values`` their weights; the collection's
  ``values`` are padded with zeros to the longest row (``exp.lengths`` tells each row's count),
  ``exp.spans``/``exp.texts`` locate the tokens, ``exp.segments`` holds the segment maps.

Sampling
--------
``sampling="stratified"`` (the default) draws every perturbation from LIME's own distribution (so
the surrogate estimates the same thing as with ``sampling="iid"``, LIME's independent draws) but
spreads the draws evenly: tables push scrambled Sobol uniforms through each feature's inverse
CDF (:func:`xaikit.maskers.neighbourhood.uniforms`), images keep segment ``j`` where such a
uniform is below 1/2, documents hide the tokens whose uniform is below a shared one (LIME's
count-then-subset law, exactly). On the German credit forest of ``benchmarks/lime.py`` the
coefficients' standard deviation over seeds falls by about 40%. Common random numbers across
outputs hold in both modes: every output of a row is fitted on the same perturbations.

Table rows are sent to the model in fixed groups (up to 8 rows, 40,000 perturbations), fixed by
``n_samples`` alone, so that a model's cost per call is paid once per group; each row's draws and
fit are those it would have alone, and the values do not depend on the executor.

``share_draws=True`` (tables) lets every row of a group fit on the draws of all of them: LIME
draws a table's perturbations from the training statistics whatever the row (only their
interpretable form, "same bin or category as the row", and their weights depend on it), so each
row's surrogate estimates the same thing from up to 8 times the draws, for the same model calls.
On the German credit forest of ``benchmarks/lime.py`` the coefficients' spread over seeds falls
from 0.0050 to 0.0018 and the top-5 stability over seeds rises from 0.89 to 0.96. A row's values
then depend on the rows explained with it (not on the executor).

Control variates (documents and images)
---------------------------------------
LIME keeps ``c`` of a document's or image's ``d`` features, ``c`` from a known law and the kept set
uniform given ``c``, and weights each perturbation by a kernel of ``c``. The moments of such a law
are closed forms, so controls built from a first ridge score ``lin`` and ``c`` (``lin^2``,
``c lin``, ``c lin^2``: a classifier's curved link, and the way hiding words rescales a TF-IDF
vector), and for the final surrogate the linear part of the features left out, have exact
expectations (:mod:`xaikit.explainers.surrogate._control_variates`). The surrogate is the
regression estimator ``ridge(y - q theta) + population_fit(q) theta``: the plain fit's estimand (up
to the order-``1/n`` ratio bias both have), with the spread of what the controls do not follow. On
the TF-IDF + logistic regression of ``benchmarks/lime.py`` the coefficients' spread over seeds
falls about 2.5 times and the top-5 stability rises from 0.93 to 0.98. ``control_variates=False``
gives the plain fit; the standard errors are the sandwich of the adjusted fit, and
``local_fidelity`` is that of the plain fit.

Diagnostics
-----------
``local_fidelity`` (n, o)
    Weighted R^2 of a surrogate with the same features, fitted on 80% of the samples (row 0, ``x``
    itself, always among them) and scored on the other 20%: how well a linear model predicts
    the model on perturbations it has not seen. The reported coefficients use all samples.
``std_err`` (n, d, o)
    Heteroskedasticity-robust (sandwich, HC0) standard errors of the ridge coefficients;
    0 for unselected features.
``n_model_calls`` (n,)
    Model input rows predicted per row (``n_samples``, times ``stability + 1`` with ``stability``).
``interpretable_features`` (n, d), tables only
    The readable name of each interpretable feature for that row (e.g. ``"age > 40.00"``).
``local_prediction`` (n, o)
    The surrogate's prediction at ``x``.
``stability`` (n, o), only with ``explain(..., stability=k)``
    Mean pairwise Jaccard overlap of the top-``n_features`` feature sets over ``k`` re-seeded runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, cast

import numpy as np

from xaikit._optional import import_optional
from xaikit._validation import (
    check_bool,
    check_choice,
    check_finite_result,
    check_float,
    check_int,
    check_memory,
    check_work,
    describe,
)
from xaikit.errors import InvalidParameterError, ModelOutputError
from xaikit.explainers.base import Explainer, output_names, select_outputs
from xaikit.explainers.pipeline import Answer, Parameter, Plan, choice, integer, row_seeds, rows_of
from xaikit.explainers.shapley.base import make_masker
from xaikit.maskers.neighbourhood import SAMPLINGS
from xaikit.maskers.tabular import TabularMasker
from xaikit.models import adapt
from xaikit.models.base import evaluating
from xaikit.results import Attribution, RaggedAttribution

__all__ = ["FEATURE_SELECTIONS", "Lime", "lime_kernel", "select_features", "weighted_r2", "weighted_ridge"]

#: Accepted values of ``feature_selection``.
FEATURE_SELECTIONS: tuple[str, ...] = ("auto", "forward", "lasso_path", "highest_weights", "none")

Kernel = Callable[[np.ndarray, float], np.ndarray]

#: Ridge penalty of the fit on every column that ``"highest_weights"`` ranks (LIME's).
SELECTION_ALPHA = 0.01


def lime_kernel(distances: np.ndarray, kernel_width: float) -> np.ndarray:
    """LIME's default weights ``sqrt(exp(-d^2 / w^2))``.

    >>> lime_kernel(np.array([0.0, 1.0]), 1.0).round(4).tolist()
    [1.0, 0.6065]
    """
    return np.sqrt(np.exp(-(np.asarray(distances) ** 2) / kernel_width**2))


@dataclass
class RidgeFit:
    """A weighted ridge regression: ``y ~ intercept + X @ coef``."""

    coef: np.ndarray  # (k,)
    intercept: float
    std_err: np.ndarray  # (k,)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions for the rows of ``X``."""
        return self.intercept + X @ self.coef


def ridge_coef(X: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float) -> np.ndarray:
    """The coefficients of :func:`weighted_ridge` alone (no standard errors), by one least-squares solve.

    >>> ridge_coef(np.arange(5.0)[:, None], 1 + 2 * np.arange(5.0), np.ones(5), 0.0).round(6).tolist()
    [2.0]
    """
    sw = w.sum()
    Xc = X - (w @ X) / sw
    yc = y - float(w @ y) / sw
    A = Xc.T @ (Xc * w[:, None]) + alpha * np.eye(X.shape[1])
    return np.linalg.lstsq(A, Xc.T @ (w * yc), rcond=None)[0]


def weighted_ridge(X: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float) -> RidgeFit:
    """Ridge regression with sample weights and an unpenalised intercept, with sandwich standard errors.

    Minimises ``sum_i w_i (y_i - b0 - x_i . b)^2 + alpha |b|^2``. The standard errors are the
    HC0 sandwich ``A^-1 (Xc' diag(w^2 r^2) Xc) A^-1`` with ``A = Xc' W Xc + alpha I`` and ``Xc``
    centred on the weighted means. One pseudo-inverse of ``A`` gives both the coefficients
    (the minimum-norm solution when ``A`` is singular) and the covariance.

    >>> X = np.arange(5.0)[:, None]; fit = weighted_ridge(X, 1 + 2 * X[:, 0], np.ones(5), 0.0)
    >>> round(fit.intercept, 6), fit.coef.round(6).tolist(), fit.std_err.round(6).tolist()
    (1.0, [2.0], [0.0])
    """
    return _Moments(X, y[:, None], w).fit(X, y, w, np.arange(X.shape[1]), 0, alpha)


def weighted_r2(y: np.ndarray, pred: np.ndarray, w: np.ndarray) -> float:
    """``1 - sum w (y - pred)^2 / sum w (y - ybar_w)^2``.

    When ``y`` is constant (to 1e-12 relative) there is nothing to explain: 1 if ``pred`` matches
    it to the same precision, else 0.

    >>> weighted_r2(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]), np.ones(3))
    1.0
    >>> weighted_r2(np.full(3, 0.2), np.full(3, 0.2 + 1e-17), np.ones(3))
    1.0
    """
    tiny = 1e-12 * max(1.0, float(np.abs(y).max(initial=0.0)))
    if float(np.ptp(y)) <= tiny if y.size else True:
        return 1.0 if float(np.abs(y - pred).max(initial=0.0)) <= tiny else 0.0
    ybar = (w @ y) / w.sum()
    num = float(w @ (y - pred) ** 2)
    den = float(w @ (y - ybar) ** 2)
    if den <= 0:  # the weight sits on equal outputs only
        return 1.0 if num <= tiny**2 * float(w.sum()) else 0.0
    return 1.0 - num / den


def _forward(S: np.ndarray, y: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    """Greedy forward selection of ``k`` columns by weighted R^2 of least squares (via the Gram matrix)."""
    sw = w.sum()
    Sc = S - (w @ S) / sw
    yc = y - (w @ y) / sw
    return _forward_gram(Sc.T @ (Sc * w[:, None]), Sc.T @ (w * yc), k)


def _lasso_path(S: np.ndarray, y: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    """The largest set on the weighted lasso path with at most ``k`` non-zero coefficients."""
    linear_model = import_optional("sklearn.linear_model", "sklearn")
    sw = np.sqrt(w)
    Sw = (S - np.average(S, axis=0, weights=w)) * sw[:, None]
    yw = (y - np.average(y, weights=w)) * sw
    _, _, coefs = linear_model.lars_path(Sw, yw, method="lasso", verbose=False)
    chosen = np.arange(S.shape[1])
    for i in range(coefs.shape[1] - 1, 0, -1):
        chosen = np.flatnonzero(coefs[:, i])
        if chosen.size <= k:
            break
    return chosen


def _factor(A: np.ndarray, definite: bool) -> Any:
    """A Cholesky factor of the symmetric ``A`` (a Gram matrix plus a ridge: ``definite`` when the ridge
    is positive), or None where it has none."""
    if not definite:
        return None
    from scipy import linalg

    try:
        return linalg.cho_factor(A, check_finite=False)
    except np.linalg.LinAlgError:
        return None


def _apply(A: np.ndarray, factor: Any, B: np.ndarray) -> np.ndarray:
    """``A^-1 B`` by ``A``'s Cholesky ``factor``, or the minimum-norm least-squares solution without one."""
    if factor is None:
        return np.linalg.lstsq(A, B, rcond=None)[0]
    from scipy import linalg

    return linalg.cho_solve(factor, B, check_finite=False)


class _Moments:
    """The weighted, centred moments of a neighbourhood, computed once and shared by every output's
    feature selection and surrogate: ``G = Xc' W Xc`` of all columns of ``S`` (one symmetric
    product of ``sqrt(w)``-scaled columns) and ``C = Xc' W Yc`` for all outputs at once, with the
    weighted means they are centred on. :meth:`fit` and :meth:`held_out` give what
    :func:`weighted_ridge` gives on the selected columns, without forming their centred system again.
    A bool ``S`` (a 0/1 design) has its moments accumulated over each row's ones only."""

    def __init__(self, S: np.ndarray, Y: np.ndarray, w: np.ndarray) -> None:
        self._ridge: dict[float, np.ndarray] = {}
        self._factors: dict[float, tuple[np.ndarray, Any]] = {}
        if S.dtype == bool:
            from xaikit.explainers.surrogate._binary_moments import binary_moments  # compiled: loads numba

            self.sw, self.xbar, self.ybar, self.G, self.C = binary_moments(S, w, Y)
            return
        self.sw = float(w.sum())
        root = np.sqrt(w)
        self.xbar = (w @ S) / self.sw
        self.ybar = (w @ Y) / self.sw
        Xw = S - self.xbar
        Xw *= root[:, None]
        Yw = (Y - self.ybar) * root[:, None]
        self.G = Xw.T @ Xw
        self.C = Xw.T @ Yw

    def ridge(self, alpha: float) -> np.ndarray:
        """Ridge coefficients on all columns, ``(d, o)``, by one solve for every output."""
        if alpha not in self._ridge:
            self._ridge[alpha] = self.solve(alpha, self.C)
        return self._ridge[alpha]

    def solve(self, alpha: float, B: np.ndarray) -> np.ndarray:
        """``(G + alpha I)^-1 B``: by a Cholesky factor kept for every later solve with the same ``alpha``
        (positive), or the minimum-norm least-squares solution where there is none."""
        if alpha not in self._factors:
            A = self.G + alpha * np.eye(self.G.shape[0])
            self._factors[alpha] = (A, _factor(A, alpha > 0))
        return _apply(*self._factors[alpha], B)

    def solve_on(self, cols: np.ndarray, alpha: float, B: np.ndarray) -> np.ndarray:
        """``(G[cols, cols] + alpha I)^-1 B`` (every column: :meth:`solve`, with its kept factor)."""
        if cols.size == self.G.shape[0]:
            return self.solve(alpha, B)
        A = self.G[np.ix_(cols, cols)] + alpha * np.eye(cols.size)
        return _apply(A, _factor(A, alpha > 0), B)

    def fit(self, S: np.ndarray, y: np.ndarray, w: np.ndarray, sel: np.ndarray, t: int, alpha: float) -> RidgeFit:
        """:func:`weighted_ridge` of output ``t`` (values ``y``) on the columns ``sel`` of ``S``: the
        coefficients from the moments, one pass over those columns for the sandwich standard errors."""
        return self.fit_centred(S, y - self.ybar[t], self.C[sel, t], float(self.ybar[t]), w, sel, alpha)

    def fit_centred(self, S: np.ndarray, yc: np.ndarray, c: np.ndarray, ybar: float, w: np.ndarray, sel: np.ndarray,
                    alpha: float) -> RidgeFit:
        """The ridge fit on the columns ``sel`` of a response given centred (``yc``, with weighted mean
        ``ybar``) and by its cross moment with those columns, ``c = Xc' W yc``."""
        Ainv = np.linalg.pinv(self.G[np.ix_(sel, sel)] + alpha * np.eye(sel.size), hermitian=True)
        b = Ainv @ c
        Xc = S[:, sel] - self.xbar[sel]
        r = yc - Xc @ b
        meat = Xc.T @ (Xc * ((w * r) ** 2)[:, None])
        cov = Ainv @ meat @ Ainv
        return RidgeFit(b, float(ybar - self.xbar[sel] @ b), np.sqrt(np.clip(np.diag(cov), 0.0, None)))

    def held_out(self, S_test: np.ndarray, y_test: np.ndarray, w_test: np.ndarray, sel: np.ndarray, t: int,
                 alpha: float) -> RidgeFit:
        """:func:`weighted_ridge` (without standard errors) of output ``t`` on the columns ``sel`` of every
        row but the test rows (``S_test`` their columns ``sel``): the moments less the test rows'
        (centred on the whole sample's means, so that nothing large cancels)."""
        Xt = S_test - self.xbar[sel]
        yt = y_test - self.ybar[t]
        sw = self.sw - float(w_test.sum())
        dx = -(w_test @ Xt) / sw  # the training rows' means less the whole sample's
        dy = -float(w_test @ yt) / sw
        G = self.G[np.ix_(sel, sel)] - Xt.T @ (Xt * w_test[:, None]) - sw * np.outer(dx, dx)
        c = self.C[sel, t] - Xt.T @ (w_test * yt) - sw * dx * dy
        b = np.linalg.pinv(G + alpha * np.eye(sel.size), hermitian=True) @ c
        return RidgeFit(b, float(self.ybar[t] + dy - (self.xbar[sel] + dx) @ b), np.zeros(sel.size))


def _forward_gram(G: np.ndarray, c: np.ndarray, k: int) -> np.ndarray:
    """Greedy forward selection of ``k`` columns by explained weighted sum of squares, from the Gram matrix."""
    d = G.shape[0]
    chosen: list[int] = []
    for _ in range(min(k, d)):
        best, best_gain = -1, -np.inf
        for j in range(d):
            if j in chosen:
                continue
            idx = chosen + [j]
            b = np.linalg.lstsq(G[np.ix_(idx, idx)], c[idx], rcond=None)[0]
            gain = float(c[idx] @ b)
            if gain > best_gain:
                best, best_gain = j, gain
        chosen.append(best)
    return np.array(chosen, dtype=np.int64)


def _select(S: np.ndarray, y: np.ndarray, w: np.ndarray, k: int, method: str, moments: _Moments | None, t: int,
            ranking: np.ndarray | None = None) -> np.ndarray:
    """:func:`select_features` for output ``t``, from the shared ``moments`` when the method uses them;
    ``ranking``, when given, is the ridge on every column that ``"highest_weights"`` ranks instead of
    the moments' own (the fit with control variates)."""
    method = _resolve(method, k)
    if moments is None or method in ("none", "lasso_path") or k >= S.shape[1]:
        return select_features(S, y, w, k, method)
    if method == "forward":
        return _forward_gram(moments.G, moments.C[:, t], k)
    return _highest_weights(moments.ridge(SELECTION_ALPHA)[:, t] if ranking is None else ranking, S[0], k)


def _resolve(method: str, k: int) -> str:
    """The selection ``"auto"`` stands for: ``"forward"`` up to 6 features, else ``"highest_weights"``."""
    return ("forward" if k <= 6 else "highest_weights") if method == "auto" else method


def _highest_weights(coef: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` columns of largest ``|coef_j * x_j|`` (``x``: the row's own interpretable values), in order."""
    return np.sort(np.argsort(-np.abs(coef * x), kind="stable")[:k])


def _controlled_surrogate(S: np.ndarray, y: np.ndarray, w: np.ndarray, moments: _Moments, t: int, law: Any, k: int,
                          method: str, alpha: float) -> tuple[np.ndarray, RidgeFit]:
    """Feature selection and surrogate of output ``t`` with control variates of exact expectation under
    ``law`` (:mod:`xaikit.explainers.surrogate._control_variates`): the selected columns and the fit."""
    from xaikit.explainers.surrogate import _control_variates as cv

    controls = cv.Controls(S, y, w, moments, t, law, SELECTION_ALPHA)
    sel = _select(S, y, w, k, method, moments, t, ranking=controls.b_all)
    return sel, controls.fit(sel, alpha)


def select_features(S: np.ndarray, y: np.ndarray, w: np.ndarray, k: int, method: str) -> np.ndarray:
    """Indices of the columns of ``S`` the surrogate uses.

    ``"auto"`` is ``"forward"`` for ``k <= 6``, else ``"highest_weights"`` (the ``k`` largest
    ``|coef_j * S[0, j]|`` of a ridge fit with ``alpha=0.01`` on all columns).

    >>> S = np.random.default_rng(0).normal(size=(200, 4)); y = 3 * S[:, 2] - S[:, 0]
    >>> sorted(select_features(S, y, np.ones(200), 2, "forward").tolist())
    [0, 2]
    """
    method = _resolve(method, k)
    if method == "none" or (k >= S.shape[1] and method != "lasso_path"):
        return np.arange(S.shape[1])
    if method == "forward":
        return _forward(S, y, w, k)
    if method == "highest_weights":
        return _highest_weights(ridge_coef(S, y, w, SELECTION_ALPHA), S[0], k)
    return _lasso_path(S, y, w, k)


@dataclass
class _RowResult:
    coef: np.ndarray  # (d, o)
    intercept: np.ndarray  # (o,)
    std_err: np.ndarray  # (d, o)
    fidelity: np.ndarray  # (o,)
    local_prediction: np.ndarray  # (o,)
    n_rows: int
    stability: np.ndarray | None  # (o,)


#: Model inputs per call when ``batch_size`` is not given, by masker kind (an image batch of 50
#: 224x224x3 float32 images is 30 MB).
DEFAULT_BATCH_SIZE: dict[str, int | None] = {"tabular": None, "text": 1000, "image": 50}


@dataclass
class _LimePlan(Plan):
    """The rows (encoded, or documents and images), the outputs chosen and the run's parameters."""

    masker: Any = None
    units: Any = None
    out_names: list[str] = field(default_factory=list)
    top: list[list[str]] | None = None
    run: dict[str, Any] = field(default_factory=dict)


@dataclass
class _LimeJob:
    """A chunk of rows (or documents, images) to explain, run by a worker with the explainer (sent to it once).

    Table rows come in groups (``group`` rows, fixed by the row count and ``n_samples`` alone, never
    by the executor): a group's perturbations go to the model together, in calls of at most
    ``batch_size`` rows, so that the model's cost per call is paid once per group.
    """

    masker: Any  # TabularMasker, TextMasker or ImageMasker
    rows: Any  # (r, d) encoded rows, or a list of TextItem / ImageItem
    seeds: list[np.random.SeedSequence]
    outputs: list[int]
    params: dict[str, Any]
    index: Sequence[int] = ()  # the rows' positions in X, for error messages
    group: int = 1

    def __call__(self, explainer: Lime) -> list[_RowResult]:
        out: list[_RowResult] = []
        if self.group > 1:
            for start in range(0, len(self.seeds), self.group):
                stop = min(start + self.group, len(self.seeds))
                out.extend(explainer._explain_group(self.masker, self.rows[start:stop], self.seeds[start:stop],
                                                    self.outputs, self.params, self.index[start:stop]))
            return out
        for j, (x, seed) in enumerate(zip(self.rows, self.seeds)):
            where = f"perturbed copies of row {self.index[j]} of X" if j < len(self.index) else "perturbed copies of a row of X"
            with evaluating(where):
                out.append(explainer._explain_row(self.masker, x, seed, self.outputs, self.params))
        return out


#: Perturbations of table rows sent to the model together (a group of rows; at most 8 rows).
GROUP_PERTURBATIONS = 40_000


def _group_size(kind: str, n_samples: int) -> int:
    """Table rows per group of :class:`_LimeJob` (1 for documents and images)."""
    return max(1, min(8, GROUP_PERTURBATIONS // n_samples)) if kind == "tabular" else 1


def _shared_samples(masker: TabularMasker, draws: list[tuple[np.ndarray, ...]], Y: np.ndarray,
                    n: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Each row's sample when the rows of a group share their draws: the row itself, then every
    row's perturbations (rows 1..n-1 of each, ``draws[i] = (S, Z, K)``) in that row's interpretable
    form: 1 where a category or bin is the row's own (``K`` against the row's own index ``K[0]``),
    and the standardised values of continuous features, which do not depend on the row. When every
    feature is categorical or binned, the sample is bool (its moments are then accumulated over the
    ones only). One buffer serves every row in turn: a row's sample is valid until the next one is drawn."""
    discrete = masker.neighbourhood.bin_table()["discrete"]
    pool_K = np.concatenate([K[1:] for _, _, K in draws])
    owns = np.stack([K[0] for _, _, K in draws])
    low, high = min(int(pool_K.min(initial=0)), int(owns.min(initial=0))), max(int(pool_K.max(initial=0)), int(owns.max(initial=0)))
    if 0 <= low and high < 2**15:  # indices in 2 bytes: a quarter of the memory traffic
        pool_K = pool_K.astype(np.int16)
    pool_Y = np.concatenate([Y[i * n + 1:(i + 1) * n] for i in range(len(draws))])
    d = draws[0][0].shape[1]
    every = discrete.size == d  # all features categorical or binned: S is (K == own) in feature order
    if every:
        order = np.argsort(discrete, kind="stable")
        pool_K = np.ascontiguousarray(pool_K[:, order])
    else:
        pool_S = np.concatenate([S[1:] for S, _, _ in draws])
    hits = np.empty(pool_K.shape, dtype=bool)
    S_row = np.empty((1 + pool_K.shape[0], d), dtype=bool if every else np.float64)
    for i, (S, _, K) in enumerate(draws):
        S_row[0] = S[0]
        if every:
            np.equal(pool_K, K[0][order].astype(pool_K.dtype), out=S_row[1:])
        else:
            S_row[1:] = pool_S
            if discrete.size:
                S_row[1:, discrete] = np.equal(pool_K, K[0].astype(pool_K.dtype), out=hits)
        yield S_row, np.concatenate([Y[i * n:i * n + 1], pool_Y])


def _masker_kind(masker: Any) -> str:
    """``"tabular"``, ``"text"`` or ``"image"``: which neighbourhood ``masker`` draws."""
    if isinstance(masker, TabularMasker):
        return "tabular"
    kind = getattr(masker, "kind", None)
    if kind in ("text", "image") and all(hasattr(masker, a) for a in ("prepare", "sample", "render", "distances")):
        return str(kind)
    raise InvalidParameterError(
        f"masker: expected a TabularMasker, TextMasker or ImageMasker, got {describe(masker)}"
    )


class Lime(Explainer[Attribution | RaggedAttribution]):
    """Local surrogate explanations (LIME) of models of tables, documents or images.

    Parameters
    ----------
    model : estimator, Pipeline, callable or adapted model
        For documents, anything that maps a list of strings to predictions (e.g. a text
        Pipeline); for images, a function of a batch of images in the layout given.
    masker : TabularMasker, TextMasker or ImageMasker
        Tables: training rows and how to perturb them (``discretize``, ``categorical_features``).
        Documents: the tokenizer and how tokens are hidden. Images: the segmentation and fill.
    kernel_width : float, optional
        Width of the proximity kernel; default ``0.75 * sqrt(d)`` for tables, 25 for documents
        and 0.25 for images (LIME's).
    kernel : callable ``(distances, kernel_width) -> weights``, optional
        Default :func:`lime_kernel`. Must be picklable for process executors.
    feature_selection : {"auto", "forward", "lasso_path", "highest_weights", "none"}
    n_features : int
        Features kept in each surrogate (others get coefficient 0); ignored by ``"none"``.
    alpha : float
        Ridge penalty of the surrogate.
    output : {"auto", "probability", "log_odds", "raw"}

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> lime = xk.Lime(lambda X: 2 * X[:, 0] - X[:, 2], masker=xk.TabularMasker(X))
    >>> exp = lime.explain(X[:2], n_samples=1000, random_state=0)
    >>> exp.values.shape, bool(exp.values[0, 0, 0] > 1.8), bool(abs(exp.values[0, 1, 0]) < 0.05)
    ((2, 3, 1), True, True)
    """

    name = "lime"
    stochastic = True
    result = (Attribution, RaggedAttribution)  # tables; documents and images

    def __init__(
        self,
        model: Any,
        /,
        *,
        masker: Any,
        kernel_width: float | None = None,
        kernel: Kernel | None = None,
        feature_selection: str = "auto",
        n_features: int = 10,
        alpha: float = 1.0,
        output: str = "auto",
    ) -> None:
        if masker is None:
            raise InvalidParameterError(
                "masker: expected a TabularMasker built on training rows, a TextMasker or an ImageMasker, got None"
            )
        self.model = adapt(model, output=output)
        self._kind = _masker_kind(masker)
        if self._kind == "tabular":
            self.masker: Any = make_masker(self.model, masker=masker)  # tabular, text or image
            default_width = 0.75 * float(np.sqrt(self.masker.n_features))
        else:
            self.masker = masker
            default_width = float(masker.default_kernel_width)
        self.kernel_width = (
            default_width if kernel_width is None
            else check_float(kernel_width, "kernel_width", minimum=0.0, strict_minimum=True)
        )
        if kernel is not None and not callable(kernel):
            raise InvalidParameterError(
                f"kernel: expected a callable (distances, kernel_width) -> weights, got {describe(kernel)}"
            )
        self.kernel: Kernel = lime_kernel if kernel is None else kernel
        self.feature_selection = check_choice(feature_selection, "feature_selection", FEATURE_SELECTIONS)
        self.n_features = check_int(n_features, "n_features", minimum=1)
        self.alpha = check_float(alpha, "alpha", minimum=0.0)
        self._as_frame = self._kind == "tabular" and (self.masker.is_frame or self.model.wants_frame)

    # ---------------------------------------------------------------- the pipeline's steps
    summary = "Fit one local surrogate per row of ``X`` and output."
    target_doc = """target : int, str or list, optional
        Outputs to explain (index or name); all by default (``labels`` is LIME's name for it)."""
    returns_doc = """Attribution, or RaggedAttribution for documents and images
        ``values`` (n, d, o): surrogate coefficients on the interpretable features;
        ``base_values`` (n, o): intercepts; diagnostics as described in the module."""
    explain_parameters = (
        Parameter("labels", None, "int, str or list, optional", "LIME's name for ``target``."),
        Parameter("top_labels", None, "int, optional", """
            Explain the outputs that are among the ``top_labels`` largest predictions of some row
            (their union over the rows, so that every row has the same outputs);
            ``diagnostics["top_labels"]`` lists each row's own top output names, best first."""),
        Parameter("n_samples", 5000, "int", "Perturbations per row (row 0 is the row itself); at least 8.",
                  integer(minimum=2)),
        Parameter("batch_size", None, "int, optional", "Maximum rows per model call.", integer(minimum=1)),
        Parameter("sampling", "stratified", '{"stratified", "iid"}', """
            How the perturbations are drawn. ``"stratified"`` (default): from scrambled Sobol
            uniforms (tables: through each feature's inverse CDF, so that categories, bins and
            normal quantiles, and their combinations, come up in nearly exact training proportions;
            images: a segment is kept where its uniform is below 1/2; documents: LIME's
            count-then-subset law). Each perturbation has the same distribution as with ``"iid"``
            (independent draws, LIME's own scheme), so the surrogate estimates the same thing, with
            less variance from seed to seed.""", choice(SAMPLINGS)),
        Parameter("stability", None, "int, optional", """
            Also refit with this many re-seeded samples and report the top-``n_features`` Jaccard
            overlap (at least 2).""", integer(minimum=2)),
        Parameter("share_draws", False, "bool", """
            Tables only: every row of a group (the rows whose perturbations go to the model together,
            up to 8; see the module) fits its surrogate on the perturbations of all of them. LIME
            draws a table's perturbations from the training data's statistics, whatever the row
            (only their interpretable form and weights depend on it), so this keeps LIME's
            estimand and gives each row up to 8 times the draws for the same model calls. A row's
            values then depend on the rows explained with it. Not with ``stability``, with
            ``sample_around_instance`` or with :class:`~xaikit.RowSeeds`.""", check_bool),
        Parameter("control_variates", True, "bool", """
            Documents and images: fit the surrogate with control variates whose expectations under
            LIME's own perturbation law are exact (see the module): the same estimand, with about
            2.5 times less spread over seeds on the 20 Newsgroups model of ``benchmarks/lime.py``.
            Applies from ``4 (d + 4)`` samples for ``d`` features, with a kernel of each
            perturbation's distance alone; ``False`` gives LIME's plain ridge fit. Tables are not
            affected.""", check_bool),
    )

    def _start(self, X: Any, target: Any, params: dict[str, Any]) -> _LimePlan:
        params = {**params, "batch_size": DEFAULT_BATCH_SIZE[self._kind] if params["batch_size"] is None
                  else params["batch_size"]}
        if self._kind == "tabular":
            units, masker = self.masker.encode(X, "X")
            if np.isnan(units).any():
                where = tuple(int(i) for i in np.argwhere(np.isnan(units))[0])
                raise InvalidParameterError(f"X: LIME needs complete rows, got a missing value at index {where}")
            fx = self._predict(masker, units, params["batch_size"])
        else:
            masker = self.masker
            units = masker.prepare(X, "X")
            fx = self._predict_originals(units, params["batch_size"])
        if fx.shape[1] == 0:
            raise ModelOutputError(
                f"the model ({self.model.describe()}) returned no outputs (an array of shape {fx.shape}) for X; "
                "expected at least one output per row"
            )
        outputs, out_names, top = self._select_outputs(target, params["labels"], params["top_labels"], fx)
        self._check_budget(units, params["n_samples"], fx.shape[1])
        run = {k: params[k] for k in ("n_samples", "batch_size", "sampling", "stability", "share_draws", "control_variates")}
        if run["share_draws"]:
            self._check_share_draws(masker, run)

        group = _group_size(self._kind, params["n_samples"])
        n = len(units)

        def job(c: range, seed: np.random.SeedSequence) -> _LimeJob:
            if run["share_draws"] and getattr(seed, "row_ids", None) is not None:
                raise InvalidParameterError(
                    "share_draws: RowSeeds give each row draws of its own, as in a larger call; share_draws=True makes "
                    "the rows explained together share theirs (use one or the other)"
                )
            rows = range(c.start * group, min(c.stop * group, n))  # the chunk's groups of rows
            return _LimeJob(masker, units[rows.start:rows.stop], row_seeds(seed, rows), outputs, run, rows, group)

        return _LimePlan(-(-n // group), job, masker=masker, units=units, out_names=out_names, top=top, run=run)

    def _finish(self, plan: Plan, parts: list[Any]) -> Answer:
        plan = cast(_LimePlan, plan)
        results = rows_of(parts)
        masker, units = plan.masker, plan.units
        diagnostics: dict[str, Any] = {
            "local_fidelity": np.stack([r.fidelity for r in results]),
            "local_prediction": np.stack([r.local_prediction for r in results]),
            "n_model_calls": np.array([r.n_rows for r in results], dtype=np.int64),
        }
        axes = {"local_prediction": "no"}
        if plan.run["stability"] is not None:
            diagnostics["stability"] = np.stack([r.stability for r in results])
            axes["stability"] = "no"
        if plan.top is not None:
            diagnostics["top_labels"] = plan.top  # per row, best first; not sliced with the rows
        run_params = {
            **plan.run,
            "kernel_width": self.kernel_width,
            "kernel": getattr(self.kernel, "__name__", type(self.kernel).__name__),
            "feature_selection": self.feature_selection,
            "n_features": self.n_features,
            "alpha": self.alpha,
        }
        fields: dict[str, Any] = {
            "base_values": np.stack([r.intercept for r in results]),
            "output_names": plan.out_names,
            "diagnostic_axes": axes,
        }
        extra = {"surrogate": "weighted ridge on the interpretable representation",
                 ("background" if self._kind == "tabular" else "masker"): masker.summary()}
        if self._kind != "tabular":
            return self._ragged_answer(units, results, diagnostics, {**run_params, "masker": masker.summary()},
                                       fields, extra)
        diagnostics["std_err"] = np.stack([r.std_err for r in results])
        diagnostics["interpretable_features"] = np.array(
            [masker.neighbourhood.interpretable_names(x) for x in units], dtype=str
        )
        axes["interpretable_features"] = "nd"
        fields.update(
            values=np.stack([r.coef for r in results]),
            data=masker.codec.to_objects(units) if masker.codec is not None else units,
            feature_names=list(masker.feature_names),
        )
        return Answer(fields, diagnostics, Attribution, {**run_params, "discretize": masker.neighbourhood.discretize},
                      extra)

    def _ragged_answer(self, items: Sequence[Any], results: list[_RowResult], diagnostics: dict[str, Any],
                       params: dict[str, Any], fields: dict[str, Any], extra: dict[str, Any]) -> Answer:
        """Documents or images: every row has its own features, so values are padded to the longest."""
        lengths = [item.n_features for item in items]
        width, o = max(lengths, default=0), len(fields["output_names"])
        values = np.zeros((len(items), width, o))
        std_err = np.zeros_like(values)
        for i, (m, r) in enumerate(zip(lengths, results)):
            values[i, :m], std_err[i, :m] = r.coef, r.std_err
        diagnostics["std_err"] = std_err
        text = self._kind == "text"
        fields.update(
            values=values,
            row_feature_names=[list(item.feature_names) for item in items],
            spans=[[[list(sp) for sp in feature] for feature in item.spans] for item in items] if text else None,
            texts=[item.text for item in items] if text else None,
            segments=np.stack([item.segments for item in items]) if self._kind == "image" and items else None,
        )
        return Answer(fields, diagnostics, RaggedAttribution, params, extra)

    def _check_share_draws(self, masker: Any, run: dict[str, Any]) -> None:
        """Refuse ``share_draws=True`` where the rows' perturbations do not share one distribution."""
        if self._kind != "tabular":
            raise InvalidParameterError(
                f"share_draws: only for tables (each {'document' if self._kind == 'text' else 'image'} has "
                "perturbations of its own), got True"
            )
        if masker.neighbourhood.sample_around_instance:
            raise InvalidParameterError(
                "share_draws: the masker samples around each row (sample_around_instance=True), so rows cannot "
                "share their perturbations; got True"
            )
        if run["stability"] is not None:
            raise InvalidParameterError(
                "stability: the re-seeded runs of each row draw on their own, which share_draws=True does not; "
                f"give one or the other, got stability={run['stability']}"
            )

    def _check_budget(self, units: Any, n_samples: int, n_outputs: int) -> None:
        """Refuse an ``n_samples`` too small for the surrogate and its fidelity, or too large to hold."""
        if self._kind == "tabular":
            d = int(units.shape[1])
            need = max(8, d + 2)
            why = (f"for {d} features: d + 2 determine the surrogate's coefficients and intercept with one "
                   "sample to spare, and at least 8 leave 2 held out for local_fidelity")
        else:
            d = max((item.n_features for item in units), default=0)
            need = 8
            why = "so that 2 are held out for local_fidelity"
        if n_samples < need:
            raise InvalidParameterError(f"n_samples: expected at least {need} perturbations {why}, got {n_samples}")
        # per sample: the interpretable row, the encoded row, the outputs and the weight
        check_memory(
            "n_samples", n_samples, n_samples * 8.0 * (2 * d + n_outputs + 2),
            f"{n_samples} perturbations x ({d} features x 2 + {n_outputs} output(s)) per row", "lower n_samples",
        )
        check_work("n_samples", n_samples, float(n_samples), f"{n_samples} perturbations", "lower n_samples")

    # ---------------------------------------------------------------- per row
    def _explain_group(self, masker: Any, rows: np.ndarray, seeds: Sequence[np.random.SeedSequence], outputs: list[int],
                       params: dict[str, Any], index: Sequence[int]) -> list[_RowResult]:
        """Table rows whose perturbations the model predicts together: each row draws as alone, and fits on its
        own draws, or with ``share_draws`` on those of the whole group."""
        n = params["n_samples"]
        share = bool(params.get("share_draws")) and len(rows) > 1
        rngs = [np.random.default_rng(seed) for seed in seeds]
        # (S, Z), or (S, Z, K) with each draw's category or bin when the rows share their draws
        draws: list[tuple[np.ndarray, ...]] = [
            masker.neighbourhood.sample(x, n, rng, sampling=params.get("sampling", "iid"), bins=share) for x, rng in zip(rows, rngs)
        ]
        where = (f"perturbed copies of rows {index[0]} to {index[-1]} of X" if len(index) > 1
                 else f"perturbed copies of row {index[0]} of X" if len(index) else "perturbed copies of rows of X")
        try:
            with evaluating(where):
                Y = self._predict(masker, np.concatenate([d[1] for d in draws]), params["batch_size"])
        except ModelOutputError:  # predicted again row by row, so that the error names the row
            parts = []
            for i, (_, Z, *_) in enumerate(draws):
                with evaluating(f"perturbed copies of row {index[i]} of X" if i < len(index) else "perturbed copies of a row of X"):
                    parts.append(self._predict(masker, Z, params["batch_size"]))
            Y = np.concatenate(parts)
        out = []
        samples: Iterable[tuple[np.ndarray, np.ndarray]] = (
            _shared_samples(masker, draws, Y, n) if share else [(d[0], Y[i * n:(i + 1) * n]) for i, d in enumerate(draws)]
        )
        for i, (x, seed, rng, (S, y)) in enumerate(zip(rows, seeds, rngs, samples)):
            drawn = (rng, S, y, self._weights(S))
            with evaluating(f"perturbed copies of row {index[i]} of X" if i < len(index) else "perturbed copies of a row of X"):
                out.append(self._explain_row(masker, x, seed, outputs, params, drawn))
        return out

    def _explain_row(
        self, masker: Any, x: Any, seed: np.random.SeedSequence, outputs: list[int], params: dict[str, Any],
        drawn: tuple[np.random.Generator, np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> _RowResult:
        coef, intercept, se, fid, local, _ = self._surrogates(masker, x, seed, outputs, params, drawn)
        n_rows = params["n_samples"]
        stab = None
        if params["stability"] is not None:
            runs = []
            for r in range(params["stability"]):
                child = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, r))
                runs.append(self._surrogates(masker, x, child, outputs, params)[5])
                n_rows += params["n_samples"]
            stab = np.array([
                np.mean([len(a[o] & b[o]) / max(1, len(a[o] | b[o])) for a, b in combinations(runs, 2)])
                for o in range(len(outputs))
            ])
        return _RowResult(coef, intercept, se, fid, local, n_rows, stab)

    def _neighbourhood(self, masker: Any, x: Any, n: int, rng: np.random.Generator, batch_size: int | None,
                       sampling: str = "iid") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(S, y, w)``: interpretable samples, the model's outputs on them and their kernel weights."""
        if self._kind == "tabular":
            S, Zs = masker.neighbourhood.sample(x, n, rng, sampling=sampling)
            return S, self._predict(masker, Zs, batch_size), self._weights(S)
        S = masker.sample(x, n, rng, sampling=sampling)
        step = n if batch_size is None else batch_size
        y = np.concatenate([self.model.predict(masker.render(x, S[i : i + step])) for i in range(0, n, step)])
        distances = masker.distances(S)
        return S, y, np.asarray(self.kernel(distances, self.kernel_width), dtype=np.float64)

    def _law(self, masker: Any, item: Any, S: np.ndarray, w: np.ndarray) -> Any:
        """The exchangeable law of a document's or image's perturbations (None where control variates do
        not apply: fewer than 3 features, fewer than ``4 (d + 4)`` samples, a masker that does not state
        its law, or a kernel whose weights are not a function of each perturbation's own distance): a
        :class:`xaikit.explainers.surrogate._control_variates.Law`."""
        n, d = S.shape
        stated = getattr(masker, "kept_count_law", None)
        prob = stated(item) if stated is not None and d >= 3 and n >= 4 * (d + 4) else None
        if prob is None:
            return None
        keep = (np.arange(d)[None, :] < np.arange(d + 1)[:, None]).astype(np.float64)  # row c keeps c features
        distances = masker.distances(np.vstack([np.ones((1, d)), keep]))[1:]  # row 0, the input, first
        weight = np.asarray(self.kernel(distances, self.kernel_width), dtype=np.float64)
        counts = S.sum(axis=1)
        if weight.shape != (d + 1,) or not (np.abs(w - weight[np.rint(counts).astype(np.int64)]) <= 1e-12 * np.abs(w)).all():
            return None
        from xaikit.explainers.surrogate._control_variates import Law

        return Law(np.asarray(prob, dtype=np.float64), weight, counts)

    def _weights(self, S: np.ndarray) -> np.ndarray:
        """Kernel weights of table perturbations: Euclidean distances to row 0 in the interpretable space
        (for a bool ``S``, whose row 0 is all ones: the root of each row's number of zeros)."""
        if S.dtype == bool and S[0].all():
            from xaikit.explainers.surrogate._binary_moments import count_ones  # compiled: loads numba

            distances = np.sqrt((S.shape[1] - count_ones(S)).astype(np.float64))
        else:
            gaps = S - np.asarray(S[0], dtype=np.float64)
            distances = np.sqrt(np.einsum("ij,ij->i", gaps, gaps))
        return np.asarray(self.kernel(distances, self.kernel_width), dtype=np.float64)

    def _surrogates(
        self, masker: Any, x: Any, seed: np.random.SeedSequence, outputs: list[int], params: dict[str, Any],
        drawn: tuple[np.random.Generator, np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[set[int]]]:
        """Surrogates of every output for one neighbourhood drawn from ``seed`` (or already ``drawn``:
        the generator after the draws, the samples, the model's outputs and the weights)."""
        # outputs near the float64 limit make the fit overflow: refused below, without numpy's warnings
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            out = self._fit_surrogates(masker, x, seed, outputs, params, drawn)
        coef, intercept, se, _, local, _ = out
        for values, what in ((coef, "the surrogate's coefficients"), (intercept, "the surrogate's intercept"),
                             (local, "the surrogate's prediction"), (np.where(np.isnan(se), 0.0, se), "the standard errors")):
            check_finite_result(values, what + " for a row")
        return out

    def _fit_surrogates(
        self, masker: Any, x: Any, seed: np.random.SeedSequence, outputs: list[int], params: dict[str, Any],
        drawn: tuple[np.random.Generator, np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[set[int]]]:
        n = params["n_samples"]
        if drawn is None:
            rng = np.random.default_rng(seed)
            S, y, w = self._neighbourhood(masker, x, n, rng, params["batch_size"], params.get("sampling", "iid"))
        else:
            rng, S, y, w = drawn
            n = S.shape[0]  # more than n_samples when the rows of a group share their draws
        y = y[:, outputs]
        perm = 1 + rng.permutation(n - 1)
        n_test = round(0.2 * n)
        test, train = perm[:n_test], np.concatenate([[0], perm[n_test:]])
        d, o = S.shape[1], len(outputs)
        coef, se = np.zeros((d, o)), np.zeros((d, o))
        intercept, fid, local = np.zeros(o), np.full(o, np.nan), np.zeros(o)
        sets: list[set[int]] = []
        k = min(self.n_features, d)
        moments = _Moments(S, y, w) if d > 0 else None
        law = self._law(masker, x, S, w) if params.get("control_variates") and self._kind != "tabular" else None
        for t in range(o):
            if moments is None:  # nothing to perturb (e.g. a document without tokens): the surrogate is a constant
                intercept[t] = local[t] = y[0, t]
                sets.append(set())
                continue
            if law is not None:
                sel, fit = _controlled_surrogate(S, y[:, t], w, moments, t, law, self.n_features, self.feature_selection,
                                                 self.alpha)
            else:
                sel = _select(S, y[:, t], w, self.n_features, self.feature_selection, moments, t)
                fit = moments.fit(S, y[:, t], w, sel, t, self.alpha)
            coef[sel, t], se[sel, t], intercept[t] = fit.coef, fit.std_err, fit.intercept
            local[t] = float(fit.predict(S[:1, sel])[0])
            if n_test >= 2 and train.size >= 2 and w[test].sum() > 0:
                S_test = S[np.ix_(test, sel)]
                held = moments.held_out(S_test, y[test, t], w[test], sel, t, self.alpha)
                fid[t] = weighted_r2(y[test, t], held.predict(S_test), w[test])
            order = np.argsort(-np.abs(coef[:, t]), kind="stable")[:k]
            sets.append({int(j) for j in order if coef[j, t] != 0})
        return coef, intercept, se, fid, local, sets

    # ---------------------------------------------------------------- helpers
    def _predict(self, masker: TabularMasker, Z: np.ndarray, batch_size: int | None) -> np.ndarray:
        """Model outputs for encoded rows, at most ``batch_size`` rows per call."""
        step = Z.shape[0] if batch_size is None else batch_size
        parts = [
            self.model.predict(masker.decode(Z[i : i + step], as_frame=self._as_frame))
            for i in range(0, Z.shape[0], step)
        ]
        return np.concatenate(parts, axis=0)

    def _predict_originals(self, items: list[Any], batch_size: int | None) -> np.ndarray:
        """Model outputs for the unperturbed documents or images, at most ``batch_size`` per call."""
        step = max(1, len(items) if batch_size is None else batch_size)
        parts = []
        for i in range(0, len(items), step):
            inputs = [self.masker.render(item, np.ones((1, item.n_features))) for item in items[i : i + step]]
            joined = [t for part in inputs for t in part] if isinstance(inputs[0], list) else np.concatenate(inputs)
            parts.append(self.model.predict(joined))
        return np.concatenate(parts, axis=0)

    def _select_outputs(
        self, target: Any, labels: Any, top_labels: int | None, fx: np.ndarray
    ) -> tuple[list[int], list[str], list[list[str]] | None]:
        o = fx.shape[1]
        names = output_names(self.model.output_names, o)
        options = (("target", target), ("labels", labels), ("top_labels", top_labels))
        given = [(key, v) for key, v in options if v is not None]
        if len(given) > 1:
            raise InvalidParameterError(
                f"{given[1][0]}: give at most one of target=, labels= and top_labels=, got {[g[0] for g in given]}"
            )
        if top_labels is not None:
            k = check_int(top_labels, "top_labels", minimum=1, maximum=o)
            top = np.argsort(-fx, axis=1, kind="stable")[:, :k]
            idx = sorted({int(j) for j in top.ravel()})
            return idx, [names[i] for i in idx], [[names[int(j)] for j in row] for row in top]
        chosen, name = (target, "target") if target is not None else (labels, "labels")
        idx, chosen_names = select_outputs(chosen, names, name=name)
        return idx, chosen_names, None

    def __repr__(self) -> str:
        if self._kind != "tabular":
            return f"Lime(model={self.model!r}, masker={self.masker!r})"
        return (
            f"Lime(model={self.model!r}, n_background={self.masker.n_background}, "
            f"discretize={self.masker.neighbourhood.discretize!r})"
        )
