"""The counterfactual search shared by every method: objectives, black-box random and genetic
search, refinement and the choice of a diverse set.

Candidates live in the encoded space of :class:`~xaikit.explainers.counterfactual.constraints.Schema`
(numbers as they are, categories as codes). Every batch of candidates, for all the rows of a chunk
at once, is repaired (:meth:`BoundConstraints.repair`) and predicted in ONE model call: the genetic
search calls the model once per generation, whatever the number of rows.

Objectives of a candidate ``z`` of row ``x`` (lower is better):

- proximity: ``sum_j |z_j - x_j| / MAD_j`` over numeric features, plus 1 per categorical feature changed;
- sparsity: the number of features changed;
- plausibility: the mean distance (same metric) to the ``k_neighbors`` nearest rows of ``data`` whose
  prediction meets the desired outcome;
- diversity (of a set): the mean pairwise distance among a row's counterfactuals, rewarded when the
  set is chosen.

An invalid candidate (the prediction does not meet the desired outcome) costs more than any valid one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.explainers.counterfactual.constraints import BoundConstraints, Schema

__all__ = ["Decision", "Objective", "Search", "distances"]


def distances(A: np.ndarray, B: np.ndarray, schema: Schema) -> np.ndarray:
    """MAD-scaled L1 between the rows of ``A (..., d)`` and ``B (..., d)`` (broadcast), categorical mismatches counting 1."""
    cat = schema.categorical
    diff = np.abs(A - B)
    np.minimum(diff, np.where(cat, 1.0, np.inf), out=diff)  # codes differ by 1 or more: a mismatch counts 1
    diff *= np.where(cat, 1.0, 1.0 / schema.mad)
    return diff.sum(axis=-1)  # type: ignore[no-any-return]


@dataclass
class Decision:
    """What counts as the desired outcome.

    ``mode``: ``"argmax"`` (the predicted class is the output with the highest score), ``"threshold"``
    (one output; class 1 when above ``threshold``) or ``"interval"`` (output ``output`` within
    ``[low, high]``). ``goal``: ``"flip"`` (any class other than the row's own) or ``"class"``
    (class ``cls``)."""

    mode: str
    goal: str = "flip"
    cls: int = 0
    threshold: float = 0.5
    output: int = 0
    low: float = -np.inf
    high: float = np.inf

    def label(self, P: np.ndarray) -> np.ndarray:
        """The decision of each prediction (a class index; 0 or 1 for an interval: inside or not)."""
        if self.mode == "argmax":
            return np.argmax(P, axis=1)
        if self.mode == "threshold":
            return (P[:, 0] > self.threshold).astype(np.int64)
        y = P[:, self.output]
        return ((y >= self.low) & (y <= self.high)).astype(np.int64)

    def loss(self, P: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(valid, loss)``: whether each prediction meets the outcome (``ref``: the row's own
        decision) and how far it is from it (0 when valid)."""
        label = self.label(P)
        if self.mode == "interval":
            y = P[:, self.output]
            return label == 1, np.maximum(np.maximum(self.low - y, y - self.high), 0.0)
        if self.mode == "threshold":
            want = (1 - ref) if self.goal == "flip" else np.full(len(P), self.cls)
            valid = label == want
            gap = np.where(want == 1, self.threshold - P[:, 0], P[:, 0] - self.threshold)
            return valid, np.where(valid, 0.0, np.maximum(gap, 0.0) + 1e-9)
        rows = np.arange(len(P))
        if self.goal == "flip":
            own = P[rows, ref]
            others = P.copy()
            others[rows, ref] = -np.inf
            valid = label != ref
            gap = own - others.max(axis=1)
        else:
            own = P[:, self.cls]
            others = P.copy()
            others[:, self.cls] = -np.inf
            valid = label == self.cls
            gap = others.max(axis=1) - own
        return valid, np.where(valid, 0.0, np.maximum(gap, 0.0) + 1e-9)

    def wanted(self, ref: int) -> tuple[int, int]:
        """For the gradient: the output to raise and the one to lower (-1: none)."""
        if self.mode == "threshold":
            up = (1 - ref) if self.goal == "flip" else self.cls
            return (0, -1) if up == 1 else (-1, 0)
        if self.goal == "flip":
            return -1, ref  # raise the best other class (chosen per candidate), lower its own
        return self.cls, -1


@dataclass
class Objective:
    """The weights of the objectives (see the module docstring) and the neighbours of the desired outcome."""

    proximity_weight: float
    sparsity_weight: float
    plausibility_weight: float
    diversity_weight: float
    k_neighbors: int


@dataclass
class Search:
    """One chunk's search: rows ``X0 (R, d)`` (encoded), their decisions ``ref (R,)`` and the model.

    ``predict(Z) -> P`` takes encoded candidates (any number of rows) and returns the model's
    outputs; ``valid_data[r]`` are the encoded data rows meeting row ``r``'s desired outcome."""

    schema: Schema
    constraints: BoundConstraints
    decision: Decision
    objective: Objective
    predict: Callable[[np.ndarray], np.ndarray]
    X0: np.ndarray
    ref: np.ndarray
    data: np.ndarray
    valid_data: list[np.ndarray]
    rngs: list[np.random.Generator]
    n_calls: int = 0
    first_row: int = 0

    # ---------------------------------------------------------------- evaluation
    def evaluate(self, Z: np.ndarray, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For candidates ``Z (R, m, d)`` of ``rows`` (default all): repaired candidates, validity,
        loss and cost, in one model call. Each row's values depend on its own candidates only."""
        rows = np.arange(len(self.X0)) if rows is None else rows
        R, m, d = Z.shape
        X0 = np.repeat(self.X0[rows], m, axis=0)
        flat = self.constraints.repair(Z.reshape(R * m, d), X0)
        P = self.predict(flat)
        self.n_calls += 1
        valid, loss = self.decision.loss(P, np.repeat(self.ref[rows], m))
        feasible = ~self.constraints.violations(flat, X0)
        loss = np.where(feasible, loss, np.inf)  # never chosen, even as an invalid filler
        shape = (R, m)
        Z = flat.reshape(R, m, d)
        valid, loss = (valid & feasible).reshape(shape), loss.reshape(shape)
        return Z, valid, loss, self.score(Z, valid, loss, rows)

    def score(self, Z: np.ndarray, valid: np.ndarray, loss: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """The total cost of candidates ``Z (R, m, d)`` whose validity and loss are known: their
        objectives, plus a penalty above every valid candidate of the row when invalid (and more
        when they break a constraint, ``loss`` infinite)."""
        cost = self.cost(Z, rows)
        big = 1e3 * (1.0 + cost.max(axis=1, initial=0.0))[:, None]  # per row: rows never weigh on each other
        finite = np.isfinite(loss)
        penalty = np.where(valid, 0.0, big * (1.0 + np.where(finite, loss, 0.0))) + np.where(finite, 0.0, 1e3 * big)
        return cost + penalty  # type: ignore[no-any-return]

    def cost(self, Z: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Proximity, sparsity and plausibility of candidates ``Z (R, m, d)`` of ``rows``, weighted, (R, m)."""
        rows = np.arange(len(self.X0)) if rows is None else rows
        ob = self.objective
        X0 = self.X0[rows][:, None, :]
        out = ob.proximity_weight * distances(Z, X0, self.schema)
        changed = np.abs(Z - X0) > 1e-12 * (1.0 + np.abs(X0))
        out = out + ob.sparsity_weight * changed.sum(axis=2)
        if ob.plausibility_weight > 0:
            out = out + ob.plausibility_weight * self.plausibility(Z, rows)
        return out  # type: ignore[no-any-return]

    def plausibility(self, Z: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Mean distance of each candidate to the ``k_neighbors`` nearest data rows of the desired outcome (NaN when none)."""
        rows = np.arange(Z.shape[0]) if rows is None else rows
        out = np.full(Z.shape[:2], np.nan)
        k = self.objective.k_neighbors
        for r in range(Z.shape[0]):
            ref = self.valid_data[int(rows[r])]
            if len(ref) == 0:
                continue
            dist = distances(Z[r][:, None, :], ref[None, :, :], self.schema)
            kk = min(k, dist.shape[1])
            out[r] = np.sort(np.partition(dist, kk - 1, axis=1)[:, :kk], axis=1).mean(axis=1)
        return np.nan_to_num(out, nan=0.0) if np.isnan(out).all() else out

    # ---------------------------------------------------------------- proposals
    def _mutable(self) -> np.ndarray:
        return ~self.constraints.frozen

    def _random_value(self, rng: np.random.Generator, j: int, size: int) -> np.ndarray:
        return self.data[rng.integers(0, len(self.data), size=size), j]

    def initial(self, size: int) -> np.ndarray:
        """Starting candidates of every row, (R, m, d): single-feature moves over each feature's
        quantiles (or categories), rows mixed with the nearest data rows of the desired outcome, and
        random changes of one to three features."""
        R, d = self.X0.shape
        mutable = np.flatnonzero(self._mutable())
        grid = []
        for j in mutable:
            domain = self.schema.domains[j]
            if domain is not None:
                grid.append([(j, float(c)) for c in range(len(domain))])
            else:
                col = self.data[:, j]
                span = np.quantile(col, [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0])
                extra = [span[0] - 3 * self.schema.mad[j], span[-1] + 3 * self.schema.mad[j]]
                grid.append([(j, float(v)) for v in np.unique(np.concatenate([span, extra]))])
        singles = [pair for g in grid for pair in g]
        out = np.repeat(self.X0[:, None, :], max(size, len(singles) + 1), axis=1)
        for r in range(R):
            rng = self.rngs[r]
            for k, (j, v) in enumerate(singles):
                out[r, k, j] = v
            start = len(singles)
            ref = self.valid_data[r]
            if len(ref):
                near = np.argsort(distances(ref, self.X0[r][None, :], self.schema), kind="stable")[: max(1, (size - start) // 2)]
            else:
                near = np.zeros(0, dtype=np.int64)
            for k in range(start, out.shape[1]):
                z = self.X0[r].copy()
                if len(near) and (k - start) < 2 * len(near):
                    t = ref[near[(k - start) % len(near)]]
                    take = rng.random(d) < 0.5
                    z[take] = t[take]
                    if (k - start) < len(near):
                        z = t.copy()
                elif len(mutable):
                    for j in rng.choice(mutable, size=min(len(mutable), int(rng.integers(1, 4))), replace=False):
                        z[j] = self._random_value(rng, j, 1)[0]
                out[r, k] = z
        return out

    def offspring(self, pop: np.ndarray, cost: np.ndarray, size: int, rows: np.ndarray | None = None) -> np.ndarray:
        """New candidates (R, size, d): uniform crossover of two parents from the better half, then
        mutation (a feature reset to the row's value, set to a data value, or moved by a MAD)."""
        rows = np.arange(pop.shape[0]) if rows is None else rows
        R, m, d = pop.shape
        mutable = np.flatnonzero(self._mutable())
        out = np.empty((R, size, d))
        for r in range(R):
            rng = self.rngs[int(rows[r])]
            order = np.argsort(cost[r], kind="stable")[: max(2, m // 2)]
            a = pop[r, order[rng.integers(0, len(order), size)]]
            b = pop[r, order[rng.integers(0, len(order), size)]]
            child = np.where(rng.random((size, d)) < 0.5, a, b)
            if len(mutable):
                which = mutable[rng.integers(0, len(mutable), size)]
                how = rng.random(size)
                at = np.arange(size)
                reset = how < 0.4
                child[at[reset], which[reset]] = self.X0[int(rows[r]), which[reset]]
                draw = (how >= 0.4) & (how < 0.7)
                child[at[draw], which[draw]] = self.data[rng.integers(0, len(self.data), int(draw.sum())), which[draw]]
                step = (how >= 0.7) & ~self.schema.categorical[which]
                child[at[step], which[step]] += rng.normal(size=int(step.sum())) * self.schema.mad[which[step]]
            out[r] = child
        return out

    # ---------------------------------------------------------------- refinement
    def refine(self, Z: np.ndarray, ok: np.ndarray, n_steps: int = 4) -> np.ndarray:
        """Valid candidates (``ok``) of ``Z (R, m, d)`` brought closer to their row: the one change
        whose reversal costs least reverted while the outcome holds, then the numeric changes shrunk
        together towards the row, to the boundary (to 32**-4 = 2**-20 of the move). Only the
        candidates that can gain are sent to the model; each is refined on its own."""
        Z = Z.copy()
        X0 = self.X0[:, None, :]
        changed = np.abs(Z - X0) > 1e-12 * (1.0 + np.abs(X0))
        pairs = np.argwhere(ok & (changed.sum(axis=2) >= 2))
        if len(pairs):
            Z[pairs[:, 0], pairs[:, 1]] = self._revert(Z[pairs[:, 0], pairs[:, 1]], pairs[:, 0])
        numeric = ~self.schema.categorical
        moves = (np.abs(Z - X0) > 0)[:, :, numeric].any(axis=2)
        pairs = np.argwhere(ok & moves)
        if len(pairs):
            Z[pairs[:, 0], pairs[:, 1]] = self._bisect(Z[pairs[:, 0], pairs[:, 1]], pairs[:, 0], n_steps)
        return Z

    def _bisect(self, Z: np.ndarray, rows: np.ndarray, n_steps: int) -> np.ndarray:
        """Shrink the numeric changes of valid candidates ``Z (P, d)`` of ``rows`` towards their row,
        ``t * (z - x)``, to the smallest ``t`` found valid: a search over ``t in [0, 1]`` testing 31
        points per model call (each call narrows the interval 32 times), ``n_steps`` calls."""
        P, d = Z.shape
        numeric = ~self.schema.categorical
        lo, hi = np.zeros(P), np.ones(P)  # hi: a fraction known valid (1: the candidate itself)
        X0 = self.X0[rows][:, None, :]
        best = Z.copy()
        k = 31
        grid = np.arange(1, k + 1) / (k + 1.0)
        for _ in range(n_steps):
            ts = lo[:, None] + (hi - lo)[:, None] * grid  # (P, k)
            cand = np.where(numeric, X0 + ts[..., None] * (Z[:, None, :] - X0), Z[:, None, :])
            rep, valid, _, _ = self.evaluate(cand, rows)
            any_valid: np.ndarray = np.asarray(valid.any(axis=1))
            first = np.argmax(valid, axis=1)  # the smallest valid t
            at = np.arange(P)
            best = np.where(any_valid[:, None], rep[at, first], best)
            below = np.where(first > 0, ts[at, np.maximum(first - 1, 0)], lo)
            lo, hi = np.where(any_valid, below, ts[:, -1]), np.where(any_valid, ts[at, first], hi)
        return best

    def _revert(self, Z: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Valid candidates ``Z (P, d)`` of ``rows``, each with the change whose reversal keeps the
        outcome at the least cost reverted (unchanged when no reversal keeps it)."""
        P, d = Z.shape
        X0 = self.X0[rows]
        idx = np.arange(d)
        tries = np.repeat(Z[:, None, :], d, axis=1)  # (P, d, d): feature j reverted in tries[:, j]
        tries[:, idx, idx] = X0
        rep, valid, _, cost = self.evaluate(tries, rows)
        ok = valid & (np.abs(Z - X0) > 1e-12 * (1.0 + np.abs(X0)))
        pick = np.argmin(np.where(ok, cost, np.inf), axis=1)
        at = np.arange(P)
        return np.where(ok[at, pick][:, None], rep[at, pick], Z)  # type: ignore[no-any-return]

    def _best_singles(self, pop: np.ndarray, valid: np.ndarray, cost: np.ndarray) -> np.ndarray:
        """Per row and mutable numeric feature, the best valid candidate changing only that feature (R, d_numeric)
        indices; refined too, so that the closest single change is never lost to a cheaper start."""
        changed = np.abs(pop - self.X0[:, None, :]) > 1e-12 * (1.0 + np.abs(self.X0[:, None, :]))
        single = valid & (changed.sum(axis=2) == 1)
        mutable = np.flatnonzero(self._mutable() & ~self.schema.categorical)  # a category change has nothing to refine
        out = np.zeros((pop.shape[0], len(mutable)), dtype=np.int64)
        for k, j in enumerate(mutable):
            c = np.where(single & changed[:, :, j], cost, np.inf)
            out[:, k] = np.argmin(c, axis=1)
        return out

    # ---------------------------------------------------------------- the set
    def choose(self, pool: np.ndarray, valid: np.ndarray, loss: np.ndarray, cost: np.ndarray, n: int) -> np.ndarray:
        """``n`` candidates per row, (R, n) indices into the pool: the best valid one, then each
        next one the best trade of cost against ``diversity_weight * s / (1 + s)``, ``s`` its distance
        to those chosen (diversity, bounded), distinct;
        invalid ones (nearest the outcome first) only when too few are valid."""
        R, m, _ = pool.shape
        out = np.zeros((R, n), dtype=np.int64)
        w = self.objective.diversity_weight
        for r in range(R):
            key = np.round(pool[r], 9)
            _, first = np.unique(key, axis=0, return_index=True)
            distinct = np.zeros(m, dtype=bool)
            distinct[first] = True
            good = np.flatnonzero(valid[r] & distinct)
            chosen: list[int] = []
            if len(good):
                chosen.append(int(good[np.argmin(cost[r, good])]))
                while len(chosen) < n and len(chosen) < len(good):
                    rest = np.array([g for g in good if g not in chosen])
                    spread = distances(pool[r, rest][:, None, :], pool[r, chosen][None, :, :], self.schema).min(axis=1)
                    # a bounded reward (as DiCE's kernel 1 / (1 + distance)): diversity never buys a far-away counterfactual
                    chosen.append(int(rest[np.argmin(cost[r, rest] - w * spread / (1.0 + spread))]))
            bad = [int(i) for i in np.lexsort((cost[r], loss[r])) if distinct[i] and np.isfinite(loss[r, i]) and int(i) not in chosen]
            while len(chosen) < n:
                chosen.append(bad.pop(0) if bad else chosen[-1] if chosen else -1)  # -1: nothing meets the constraints
            out[r] = chosen
        return out

    # ---------------------------------------------------------------- methods
    def run(self, method: str, n: int, population: int, generations: int, start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The chosen candidates (R, n, d) and a pool of the valid refined ones; ``method`` is
        ``"random"``, ``"genetic"``, or ``"given"`` (``start``, e.g. from gradient descent)."""
        if method == "given" and start is not None:
            pop = start
        else:
            pop = self.initial(population)
            if method == "random":
                extra = self.offspring(pop, np.zeros(pop.shape[:2]), population)
                pop = np.concatenate([pop, extra], axis=1)
        pop, valid, loss, cost = self.evaluate(pop)
        first = (pop, valid, loss, cost)  # kept whole: its many single changes fill the set when few others are valid
        pick = self._best_singles(pop, valid, cost)
        singles = np.take_along_axis(pop, pick[:, :, None], axis=1)
        singles_ok = np.take_along_axis(valid, pick, axis=1)
        singles_loss = np.take_along_axis(loss, pick, axis=1)
        if method == "genetic":
            size = min(pop.shape[1], max(population, 2 * n))
            keep = np.argsort(cost, axis=1, kind="stable")[:, :size]
            pop = np.take_along_axis(pop, keep[:, :, None], axis=1)
            valid, loss, cost = (np.take_along_axis(a, keep, axis=1) for a in (valid, loss, cost))
            score = cost[:, :n].sum(axis=1)  # each row's best n, sorted: its progress
            stale = np.zeros(len(pop), dtype=np.int64)
            for _ in range(generations):
                work = np.flatnonzero(stale < 2)  # a row stops evolving after two generations without progress
                if not len(work):
                    break
                kids, kvalid, kloss, kcost = self.evaluate(self.offspring(pop[work], cost[work], population, work), work)
                wpop = np.concatenate([pop[work], kids], axis=1)
                wvalid, wloss, wcost = (np.concatenate([a[work], b], axis=1) for a, b in ((valid, kvalid), (loss, kloss), (cost, kcost)))
                keep = np.argsort(wcost, axis=1, kind="stable")[:, :size]
                pop[work] = np.take_along_axis(wpop, keep[:, :, None], axis=1)
                valid[work], loss[work], cost[work] = (np.take_along_axis(a, keep, axis=1) for a in (wvalid, wloss, wcost))
                new = cost[work, :n].sum(axis=1)
                stale[work] = np.where(new < score[work] - 1e-9 * (1.0 + np.abs(score[work])), 0, stale[work] + 1)
                score[work] = new
        # refine the best valid candidates of each row (invalid ones are refined as no-ops)
        k = min(pop.shape[1], 3 * n)
        top = np.argsort(cost, axis=1, kind="stable")[:, :k]
        best = np.concatenate([np.take_along_axis(pop, top[:, :, None], axis=1), singles], axis=1)
        ok = np.concatenate([np.take_along_axis(valid, top, axis=1), singles_ok], axis=1)
        bloss = np.concatenate([np.take_along_axis(loss, top, axis=1), singles_loss], axis=1)
        rvalid_pop = self.refine(best, ok)  # refinement keeps the outcome: no model call to check it again
        rvalid, rloss = ok, bloss
        rcost = self.score(rvalid_pop, rvalid, rloss)
        if method == "genetic":
            pop, valid, loss, cost = (np.concatenate([a, b], axis=1) for a, b in zip((pop, valid, loss, cost), first))
        pool = np.concatenate([rvalid_pop, pop], axis=1)
        valid = np.concatenate([rvalid, valid], axis=1)
        loss = np.concatenate([rloss, loss], axis=1)
        cost = np.concatenate([rcost, cost], axis=1)
        pick = self.choose(pool, valid, loss, cost, n)
        stuck = np.flatnonzero((pick < 0).any(axis=1))
        if len(stuck):
            raise InvalidParameterError(
                f"constraints: no row meeting them was found near row {self.first_row + int(stuck[0])} of X (its own values may break "
                "a relation that the allowed changes cannot repair); loosen the constraints or check that row"
            )
        return np.take_along_axis(pool, pick[:, :, None], axis=1), pool


def describe_change(schema: Schema, x: Any, z: Any, changed: Any) -> str:
    """``"change a from 1 to 2 and b from x to y"`` (values as the user sees them)."""
    parts = [f"{schema.names[j]} from {_show(x[j])} to {_show(z[j])}" for j in np.flatnonzero(changed)]
    if not parts:
        return "no change"
    return "change " + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0])


def _show(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)
