"""The smallest perturbation that changes a black-box model's decision, for tabular inputs.

Only predictions are used (any model with ``predict``), every query batched over rows and
directions. In the space of scaled differences ``u = (x' - x) / scales`` the search measures the
chosen norm (L2 or L-inf):

1. **Directions**: ``n_directions`` random directions per row (normal draws, scaled to norm 1);
   along each, the decision is read on a geometric grid of radii from ``max_radius`` down by
   halves, and the boundary is bracketed between the largest radius that keeps the decision and
   the next that changes it, then bisected ``n_bisections`` times. The closest of these points
   starts step 2.
2. **Refinement** (the idea of HopSkipJump, Chen et al. 2020): at the current boundary point the
   normal of the boundary is estimated from decisions only, as the mean of ``phi_k u_k`` over
   ``n_samples`` random unit vectors ``u_k`` of small length, ``phi_k = +1`` when the decision there
   differs from the row's and ``-1`` otherwise (less their mean); the estimates are summed over the
   iterations. The nearest point of a flat boundary with normal ``v`` lies along ``v`` (L2) or
   ``sign(v)`` (L-inf) from the row, so the boundary is bisected along that direction too, and the
   point is kept when it is closer. Repeated ``n_refine`` times.

The point returned is always on the side where the decision differs (the bisection keeps that
end), so it is a valid adversarial example; its distance is an upper bound of the true minimal
distance, and on a flat boundary it approaches it as the normal estimate improves.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import check_array, check_float, check_int, check_random_state, describe
from xaikit.errors import InvalidParameterError
from xaikit.explainers.adversarial.attacks import check_norm

__all__ = ["boundary_search", "decisions"]


def decisions(model: Any, X: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """The decision of an adapted model on each row: the arg-max output, or for one output whether it
    exceeds ``threshold`` (default 0.5 for probabilities, 0 otherwise), as int64 class indices."""
    P = model.predict(X)
    if P.shape[1] > 1:
        return np.asarray(P.argmax(axis=1), dtype=np.int64)
    if threshold is None:
        threshold = 0.5 if model.output == "probability" else 0.0
    return np.asarray(P[:, 0] > threshold, dtype=np.int64)


def _unit(V: np.ndarray, norm: str) -> np.ndarray:
    """Each row of ``V`` (k, d) scaled to norm 1 (rows of zeros stay zero)."""
    lengths = np.abs(V).max(axis=1) if norm == "inf" else np.linalg.norm(V, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(lengths[:, None] > 0, V / lengths[:, None], 0.0)  # type: ignore[no-any-return]


class _Search:
    """The boundary search of one set of rows: the model, the rows, their decisions and the scales."""

    def __init__(self, model: Any, X: np.ndarray, scales: np.ndarray, threshold: float | None, batch_size: int | None) -> None:
        self.model, self.X, self.scales, self.threshold, self.batch_size = model, X, scales, threshold, batch_size
        self.label = decisions(model, X, threshold)
        self.n_calls = 1

    def changed(self, rows: np.ndarray, U: np.ndarray) -> np.ndarray:
        """Whether the decision at ``X[rows] + U * scales`` differs from the row's, one model call per batch."""
        points = self.X[rows] + U * self.scales
        out = np.empty(len(rows), dtype=bool)
        step = len(rows) if self.batch_size is None else self.batch_size
        for s in range(0, len(rows), max(step, 1)):
            out[s:s + step] = decisions(self.model, points[s:s + step], self.threshold) != self.label[rows[s:s + step]]
            self.n_calls += 1
        return out

    def bisect(self, rows: np.ndarray, D: np.ndarray, lo: np.ndarray, hi: np.ndarray, n_bisections: int) -> np.ndarray:
        """Along unit directions ``D`` (k, d) from ``X[rows]``, with the decision kept at radius ``lo`` and changed at
        ``hi``: ``hi`` after ``n_bisections`` halvings of the bracket (still on the changed side)."""
        lo, hi = lo.copy(), hi.copy()
        for _ in range(n_bisections):
            mid = 0.5 * (lo + hi)
            flip = self.changed(rows, D * mid[:, None])
            hi = np.where(flip, mid, hi)
            lo = np.where(flip, lo, mid)
        return hi

    def along(self, rows: np.ndarray, D: np.ndarray, max_radius: np.ndarray, n_grid: int, n_bisections: int) -> np.ndarray:
        """The radius of the boundary along each unit direction (inf when the decision never changes up to the
        row's ``max_radius``)."""
        k = len(rows)
        radii = max_radius[rows][:, None] * 0.5 ** np.arange(n_grid)[None, :]  # (k, n_grid), largest first
        flips = self.changed(np.repeat(rows, n_grid), (D[:, None, :] * radii[:, :, None]).reshape(k * n_grid, -1)).reshape(k, n_grid)
        found = flips.any(axis=1)
        # the smallest changed radius of the grid, and the next smaller one (0 past the end) where the decision is kept;
        # a non-monotone decision along the ray may hide closer crossings: the bracket is a valid one all the same
        smallest = n_grid - 1 - np.argmax(flips[:, ::-1], axis=1)
        at = np.arange(k)
        hi = np.where(found, radii[at, smallest], np.inf)
        lo = np.where(smallest + 1 < n_grid, radii[at, np.minimum(smallest + 1, n_grid - 1)], 0.0)
        kept = found & ((smallest + 1 >= n_grid) | ~flips[np.arange(k), np.minimum(smallest + 1, n_grid - 1)])
        lo = np.where(kept, lo, 0.0)
        out = np.full(k, np.inf)
        if found.any():
            idx = np.flatnonzero(found)
            out[idx] = self.bisect(rows[idx], D[idx], lo[idx], hi[idx], n_bisections)
        return out


def boundary_search(
    model: Any,
    X: Any,
    *,
    norm: str | float = 2,
    scales: Any = None,
    n_directions: int = 20,
    n_refine: int = 20,
    n_samples: int = 100,
    n_bisections: int = 30,
    max_radius: float | None = None,
    threshold: float | None = None,
    batch_size: int | None = None,
    random_state: Any = None,
) -> Any:
    """The smallest perturbation of each row that changes the model's decision, from predictions only.

    Parameters
    ----------
    model : any model with ``predict`` (adapted with :func:`xaikit.models.adapt`)
        The decision is the arg-max output, or for one output whether it exceeds ``threshold``.
    X : array-like (n, d)
        The rows (numeric features).
    norm : {2, "inf"}
        The norm of the scaled perturbation ``(x' - x) / scales``.
    scales : array-like (d,), optional
        Per-feature scales (e.g. standard deviations or MADs); default 1 for every feature.
    n_directions : int
        Random directions per row for the first bracket.
    n_refine, n_samples : int
        Refinement iterations, and decisions sampled per iteration to estimate the boundary's normal
        (0 refinements keeps the best random direction).
    n_bisections : int
        Halvings of each bracket (the relative width left is ``2 ** -n_bisections``).
    max_radius : float, optional
        The largest scaled perturbation tried; default, for each row, ``4 * ||x / scales|| + 1`` (L2 norm).
    threshold : float, optional
        The decision threshold of a model with one output (default 0.5 for probabilities, else 0).
    batch_size : int, optional
        Rows per model call (all at once by default).
    random_state : int, numpy Generator or SeedSequence, optional

    Returns
    -------
    BoundaryPoints
        ``adversarial`` (n, d) the closest point found with another decision (NaN rows when none
        within ``max_radius``), ``distance`` (n,) its scaled distance (inf when none), ``label`` and
        ``adversarial_label`` the decisions at the row and at the point (-1 when none).

    Examples
    --------
    >>> import numpy as np
    >>> from xaikit.explainers.adversarial import boundary_search
    >>> model = lambda X: X[:, 0] + X[:, 1] - 1.0          # decision: > 0
    >>> res = boundary_search(model, np.array([[0.0, 0.0]]), random_state=0)
    >>> round(float(res.distance[0]), 4)   # |w.x + b| / ||w|| = 1 / sqrt(2)
    0.7071
    """
    from xaikit.explainers.pipeline import row_seeds
    from xaikit.models import adapt
    from xaikit.results.robustness import BoundaryPoints

    adapted = adapt(model)
    X0 = check_array(X, "X")
    n, d = X0.shape
    norm = check_norm(norm)
    if scales is None:
        sc = np.ones(d)
    else:
        sc = check_array(scales, "scales", ndim=1)
        if sc.shape != (d,) or bool((sc <= 0).any()):
            raise InvalidParameterError(f"scales: expected {d} positive numbers (one per feature), got {describe(scales)}")
    n_directions = check_int(n_directions, "n_directions", minimum=1)
    n_refine = check_int(n_refine, "n_refine", minimum=0)
    n_samples = check_int(n_samples, "n_samples", minimum=2)
    n_bisections = check_int(n_bisections, "n_bisections", minimum=1)
    if threshold is not None:
        threshold = check_float(threshold, "threshold")
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", minimum=1)
    if max_radius is None:
        radius_max = 4.0 * np.linalg.norm(X0 / sc, axis=1) + 1.0  # per row: a row's search never depends on the others
    else:
        radius_max = np.full(n, check_float(max_radius, "max_radius", minimum=0.0, strict_minimum=True))
    seed = check_random_state(random_state)
    rngs = [np.random.default_rng(s) for s in row_seeds(seed, range(n))]
    search = _Search(adapted, X0, sc, threshold, batch_size)
    n_grid = 24
    rows_all = np.arange(n)
    # 1. random directions, every row's drawn with its own seed
    D = np.concatenate([_unit(rngs[i].standard_normal((n_directions, d)), norm) for i in range(n)])
    rows = np.repeat(rows_all, n_directions)
    radius = search.along(rows, D, radius_max, n_grid, n_bisections).reshape(n, n_directions)
    best = radius.argmin(axis=1)
    dist = radius[rows_all, best]
    U = D.reshape(n, n_directions, d)[rows_all, best] * np.where(np.isfinite(dist), dist, 0.0)[:, None]
    # 2. refinement along the estimated normal of the boundary
    normal = np.zeros((n, d))
    for _ in range(n_refine):
        live = np.flatnonzero(np.isfinite(dist) & (dist > 0))
        if not len(live):
            break
        delta = np.maximum(1e-2 * dist[live], 1e-12)
        probes = np.concatenate([_unit(rngs[i].standard_normal((n_samples, d)), "2") for i in live])
        owner = np.repeat(live, n_samples)
        at = np.repeat(U[live], n_samples, axis=0) + probes * np.repeat(delta, n_samples)[:, None]
        phi = np.where(search.changed(owner, at), 1.0, -1.0).reshape(len(live), n_samples)
        phi -= phi.mean(axis=1, keepdims=True)
        normal[live] += np.einsum("ks,ksd->kd", phi, probes.reshape(len(live), n_samples, d))
        direction = _unit(np.sign(normal[live]) if norm == "inf" else normal[live], norm)
        ok = np.abs(direction).sum(axis=1) > 0
        if not ok.any():
            continue
        cand = np.full(len(live), np.inf)
        idx = np.flatnonzero(ok)
        # bracket: the decision kept at 0; changed at the current distance along the direction? else widen once
        hi = dist[live[idx]]
        flip = search.changed(live[idx], direction[idx] * hi[:, None])
        hi = np.where(flip, hi, np.minimum(2.0 * hi, radius_max[live[idx]]))
        flip2 = flip | search.changed(live[idx], direction[idx] * hi[:, None])
        good = idx[flip2]
        if len(good):
            cand[good] = search.bisect(live[good], direction[good], np.zeros(len(good)), hi[flip2], n_bisections)
        better = cand < dist[live]
        upd = live[better]
        U[upd] = direction[better] * cand[better][:, None]
        dist[upd] = cand[better]
    found = np.isfinite(dist)
    adversarial = np.where(found[:, None], X0 + U * sc, np.nan)
    adv_label = np.full(n, -1, dtype=np.int64)
    if found.any():
        adv_label[found] = decisions(adapted, adversarial[found], threshold)
        search.n_calls += 1
    dist = np.where(found, dist, np.inf)
    names = getattr(adapted, "feature_names_in", None) or getattr(X, "columns", None)
    return BoundaryPoints(
        adversarial=adversarial,
        distance=dist,
        label=search.label,
        adversarial_label=adv_label,
        data=X0,
        feature_names=None if names is None else [str(c) for c in names],
        method="boundary_search",
        params={"norm": norm, "n_directions": n_directions, "n_refine": n_refine, "n_samples": n_samples,
                "n_bisections": n_bisections, "max_radius": max_radius, "scales": sc.tolist()},
        diagnostics={"n_model_calls": search.n_calls, "seed": int(seed.entropy) if isinstance(seed.entropy, int) else str(seed.entropy)},
    )
