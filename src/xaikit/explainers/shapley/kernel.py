"""KernelSHAP: Shapley values as a constrained weighted regression over sampled coalitions."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from xaikit._validation import check_memory, check_work
from xaikit.errors import InvalidParameterError
from xaikit.explainers.shapley._coalitions import (
    Design,
    build_design,
    build_reference_designs,
    is_exhaustive,
)
from xaikit.explainers.shapley._games import Game, ReferenceGames
from xaikit.explainers.shapley._regression import (
    effective_dof,
    min_budget,
    per_reference_estimates,
    regression_std_err,
    solve_constrained,
    t_widening,
)
from xaikit.explainers.shapley.base import RowEstimate, ShapleyExplainer, past_deadline

__all__ = ["KernelShap"]


def check_sampling_budget(
    explainer: ShapleyExplainer, n_players: int, n_samples: int, n_coalitions: int, bytes_per_coalition: int,
    values_per_output: int,
) -> None:
    """Refuse up front an ``n_samples`` whose coalitions cannot be held in memory or evaluated in time.

    ``n_coalitions`` coalitions per row, each evaluated on every background row: their values
    (``values_per_output`` float64 per output and background row, plus one for bookkeeping) and
    ``bytes_per_coalition`` for the design itself.
    """
    m = explainer.masker.n_background
    o = getattr(explainer.model, "_n_outputs", None) or 1
    needed = n_coalitions * (bytes_per_coalition + m * 8 * (values_per_output * o + 1))
    what = (
        f"{n_coalitions} coalitions x {m} background row(s) x {o} output(s) (for {n_players} features"
        f"{'' if n_coalitions == n_samples else ', all of them'})"
    )
    hint = "lower n_samples, or pass tol= to stop once the standard errors are small enough"
    check_memory("n_samples", n_samples, needed, what, hint)
    check_work("n_samples", n_samples, float(n_coalitions) * m, f"{n_coalitions} coalitions x {m} background row(s)", hint)


class KernelShap(ShapleyExplainer):
    """KernelSHAP (Lundberg & Lee 2017) with the improvements of Covert & Lee (2021).

    * Every background row ``b`` gets coalitions of its own: the Shapley values of the
      interventional game are the mean of those of the single-reference games ``f(x_S, b)``, and
      each of these is solved with its own exact efficiency constraint ``f(x) - f(b)``. So the
      spread of ``f`` over the background never enters the error, and the model rows cover many
      more distinct coalitions than when one set of coalitions is shared by all rows.
    * A feature whose value is the same in the explained row and a background row is a null
      player of that row's game (hiding it changes nothing): its value there is 0, and the game
      is played over the other features only. The budget of the whole background is then shared
      out in proportion to each game's weight times ``(k_r - 1)^2`` for its ``k_r`` players (a
      Neyman allocation: a larger game's estimate spreads more), at least ``2 k_r`` pairs each, and
      a game with no more coalitions than its share is enumerated (tables of categorical or
      discrete features gain most; on the heart-disease data of ``benchmarks/shapley_accuracy.py``
      with 16 background rows the error at ``4 d`` coalitions falls by a fifth against equal shares).
      The strata such a game samples take balanced designs (see
      :mod:`~xaikit.explainers.shapley._coalitions`): every player, then every pair, about equally
      often, relabelled at random; unbiased as before, with less spread (on the same data with 8
      background rows the error at 128 coalitions falls by about a tenth).
    * Coalitions come in complementary (antithetic) pairs.
    * Coalition sizes form strata; a stratum whose share of the budget covers all of it is
      enumerated exactly (the smallest and largest sizes first), the rest are sampled in
      proportion to the Shapley kernel's mass: without replacement and dealt out so that the
      background rows together cover the stratum evenly when it is small, with replacement
      when it is large.
    * The efficiency constraint is solved exactly (KKT), not with a large weight.
    * From :data:`CROSS_FIT_REFERENCES` sampled background rows on, each row's regression is
      cross-fitted (:func:`~xaikit.explainers.shapley._regression.cross_fitted`): exact normal
      matrix, each sampled pair corrected by a fit without it. The plain regression's bias, of order
      ``1 / n`` for ``n`` sampled pairs per row, has the same sign in every row's game and so does
      not average out over the background, while the spread does; with many rows it outgrew the
      standard errors (on 100 background rows of ``benchmarks/shapley_accuracy.py``'s first case at
      ``4 d`` coalitions, values within 2 standard errors of the truth: 0.89 plain, 0.97 cross-fitted,
      and a fifth less error). On a few rows the plain regression has less error, and its bias is
      small next to its spread.
    * Standard errors per value from the linearised variance of the estimator (summed over the
      background rows' regressions); ``tol=`` adds independent rounds of designs until every
      standard error is below it.

    ``n_samples`` (default ``2 d + 2048``, at least ``2 d``) counts coalitions per row, each
    evaluated over the background; the empty and full coalitions are not counted. With
    ``n_samples >= 2**d - 2`` the result is exact. With ``tol=``, ``n_samples`` is the most
    that will be spent.

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> f = lambda X: X @ np.array([1.0, 2.0, 3.0])
    >>> exp = xk.KernelShap(f, background=np.zeros((1, 3))).explain(np.ones((1, 3)), n_samples=6, random_state=0)
    >>> np.round(exp.values[0, :, 0], 6)
    array([1., 2., 3.])
    """

    name = "kernel_shap"
    stochastic = True
    #: How the sampled budget is shared among coalition sizes.
    strategy: ClassVar[str] = "kernel"
    #: Sample coalitions separately for every background row (see the class docstring).
    per_reference: ClassVar[bool] = True

    def _check_params(self, n_players: int, params: dict[str, Any]) -> dict[str, Any]:
        need = min_budget(n_players)
        if params["n_samples"] < need:
            raise InvalidParameterError(
                f"n_samples: expected at least {need} coalitions for {n_players} features "
                f"(every single feature and its complement, so that the regression is determined), got {params['n_samples']}"
            )
        check_sampling_budget(self, n_players, params["n_samples"], min(params["n_samples"], 2**n_players - 2), 8 * n_players, 1)
        return params

    def _estimate(self, game: Game, rng: np.random.Generator, **params: Any) -> RowEstimate:
        k = game.n_players
        if k == 1:
            return RowEstimate(game.delta[None, :].copy(), np.zeros((1, game.n_outputs)), 0, exact=True)
        refs = game.references
        if refs is not None and self._samples_per_reference(k, params["n_samples"], refs):
            active = active_players(refs)
            if active is not None and not active.all():
                return self._estimate_reduced(refs, active, rng, k, params)
            return self._estimate_per_reference(refs, rng, k, params)
        budget_pairs = params["n_samples"] // 2
        tol = params.get("tol")
        rounds = tol is not None or params.get("max_seconds") is not None
        design_seed = int(rng.integers(0, 2**63 - 1))
        pairs = min(budget_pairs, max(2 * k, 32)) if rounds else budget_pairs
        stopped = False
        while True:
            design = build_design(k, pairs, self.strategy, np.random.default_rng(design_seed))
            y = game(design.masks) - game.v_empty
            phi, se = self._solve(design, y, game.delta)
            if not rounds or design.exact or (tol is not None and np.nanmax(se) <= tol):
                break
            if past_deadline(params):
                stopped = True
                break
            # the next, larger design may share few coalitions with this one: never exceed n_samples in all
            remaining = (params["n_samples"] - game.n_evaluations) // 2
            if min(2 * pairs, remaining) <= pairs:
                break
            pairs = min(2 * pairs, remaining)
        return RowEstimate(phi, se, game.n_evaluations, exact=design.exact, budget_stopped=stopped)

    def _samples_per_reference(self, k: int, n_samples: int, refs: ReferenceGames) -> bool:
        """Whether to draw coalitions per background row (not when the budget enumerates them all)."""
        return self.per_reference and not is_exhaustive(k, n_samples // 2)

    def _games(self, designs: Any, y: np.ndarray, delta: np.ndarray, cross_fit: bool) -> tuple[np.ndarray, np.ndarray]:
        """Each background row's estimates and variances ``(m, k, o)`` from its own coalitions
        (:func:`~xaikit.explainers.shapley._regression.per_reference_estimates`)."""
        return per_reference_estimates(designs, y, delta, cross_fit=cross_fit)

    def _estimate_per_reference(
        self, refs: ReferenceGames, rng: np.random.Generator, k: int, params: dict[str, Any]
    ) -> RowEstimate:
        """One regression per background row on coalitions of its own; the results averaged.

        With ``tol=``, rounds of independent designs (``p, p, 2p, 4p, ...`` pairs) are run until the
        pooled standard errors meet it; the rounds are averaged in proportion to their sizes.
        """
        budget_pairs = params["n_samples"] // 2
        tol = params.get("tol")
        rounds = tol is not None or params.get("max_seconds") is not None
        first = min(budget_pairs, max(2 * k, 32)) if rounds else budget_pairs
        sizes: list[int] = []
        stopped = False
        total = np.zeros((k, refs.n_outputs))
        var = np.zeros((k, refs.n_outputs))
        while True:
            spent = sum(sizes)
            pairs = min(first if len(sizes) < 2 else spent, budget_pairs - spent)
            if sizes and pairs < k:  # too few to determine another regression
                break
            designs = build_reference_designs(k, pairs, self.strategy, refs.n_references, rng)
            y = refs.pairs(designs.codes, k)
            y -= refs.v_empty[:, None, :]  # centred on each reference's own prediction
            phi_r, var_r = self._games(designs, y, refs.delta, many_references(refs.weights))
            # the weighted mean of the rows' values; their errors are independent
            total += pairs * np.einsum("r,rko->ko", refs.weights, phi_r)
            var += pairs**2 * np.einsum("r,rko->ko", refs.weights**2, var_r)
            sizes.append(pairs)
            n = sum(sizes)
            if not rounds or (tol is not None and np.nanmax(np.sqrt(var) / n) <= tol) or n >= budget_pairs:
                break
            if past_deadline(params):
                stopped = True
                break
        n = sum(sizes)
        return RowEstimate(total / n, np.sqrt(var) / n, refs.n_evaluations, budget_stopped=stopped)

    def _estimate_reduced(
        self, refs: ReferenceGames, active: np.ndarray, rng: np.random.Generator, k: int, params: dict[str, Any]
    ) -> RowEstimate:
        """One regression per background row on its own players only: the features where the row and
        the background row agree are null players of that row's game (their value 0, the others'
        values those of the smaller game). The budget of the whole background (``n_samples`` pairs'
        worth of coalitions per background row) is shared out in proportion to ``w_r (k_r - 1)^2``
        (``w_r`` the row's weight, ``k_r`` its game's players; at least ``2 k_r`` pairs each when
        the budget allows, and never more than a game has, which is then enumerated): a Neyman
        allocation under a spread of each game's estimate that grows with its number of players.

        With ``tol=`` or ``max_seconds=``, rounds as in :meth:`_estimate_per_reference` (each round's
        budget shared the same way among the games not yet enumerated); each game's rounds are
        averaged in proportion to their sizes.
        """
        m, o = refs.n_references, refs.n_outputs
        sizes = active.sum(axis=1)
        budget_pairs = params["n_samples"] // 2
        tol = params.get("tol")
        rounds = tol is not None or params.get("max_seconds") is not None
        first = min(budget_pairs, max(2 * k, 32)) if rounds else budget_pairs
        fixed = np.zeros((k, o))  # games of one player, and enumerated games
        sums = np.zeros((m, k, o))  # sampled rounds: pairs x estimate, per background row
        var_sums = np.zeros((m, k, o))
        dof = np.zeros(m)  # degrees of freedom of each background row's variance estimate
        counts = np.zeros(m, dtype=np.int64)  # pairs per background row over its sampled rounds
        todo = sizes > 1
        for r in np.flatnonzero(sizes == 1):  # one player takes the whole difference
            fixed[np.flatnonzero(active[r])] += refs.weights[r] * refs.delta[r]
        evaluate = _ReducedGames(refs)
        stopped = False
        spent = 0  # pairs per background row, as the plain estimator counts them
        n_rounds = 0
        while todo.any():
            nominal = min(first if n_rounds < 2 else spent, budget_pairs - spent)
            if n_rounds and nominal < k:
                break
            pairs = np.zeros(m, dtype=np.int64)
            # Neyman allocation: pairs in proportion to each game's weight times the spread of its
            # estimate, which grows with its number of players (modelled as (k_r - 1)^2), and at
            # least 2 k_r pairs (half of them sampled) so that each game's variance can be estimated
            pairs[todo] = _share_units(sizes[todo], m * nominal, refs.weights[todo] * (sizes[todo] - 1.0) ** 2,
                                       2 * sizes[todo])
            groups: dict[tuple[int, int], list[int]] = {}
            for r in np.flatnonzero(todo & (pairs > 0)):
                groups.setdefault((int(sizes[r]), int(pairs[r])), []).append(int(r))
            batch = []
            for (kr, p), members in sorted(groups.items()):
                idx = np.asarray(members)
                batch.append((idx, p, build_reference_designs(kr, p, self.strategy, idx.size, rng, balanced=True)))
            # one pass of the model over every group's coalitions (few, large model calls)
            values = evaluate([(idx, designs, active[idx]) for idx, _, designs in batch])
            sampled_rows = np.concatenate([idx for idx, _, designs in batch if not designs.exact] or [np.zeros(0, int)])
            cross_fit = many_references(refs.weights[sampled_rows])
            for (idx, p, designs), y in zip(batch, values):
                y -= refs.v_empty[idx, None, :]
                phi_r, var_r = self._games(designs, y, refs.delta[idx], cross_fit)
                phi_r *= refs.weights[idx][:, None, None]
                var_r *= refs.weights[idx][:, None, None] ** 2
                if not designs.exact and int((np.asarray(designs.unit_group) >= 0).sum()) < designs.n_players:
                    # fewer sampled pairs than players: too few to estimate the variance from (it is
                    # then understated), so it is unknown, as for a stratum drawn once
                    var_r = np.full_like(var_r, np.nan)
                for j, r in enumerate(idx):
                    if designs.exact:  # the whole smaller game: its earlier rounds are not needed
                        fixed[active[r]] += phi_r[j]
                        todo[r] = False
                    else:
                        sums[r][active[r]] += p * phi_r[j]
                        var_sums[r][active[r]] += p**2 * var_r[j]
                        counts[r] += p
                        dof[r] += designs_dof(designs)
            spent += nominal
            n_rounds += 1
            n = np.maximum(counts, 1)[:, None, None]
            se = np.sqrt((var_sums[todo] / n[todo] ** 2).sum(axis=0))
            if not rounds or spent >= budget_pairs or not todo.any() or (tol is not None and np.nanmax(se) <= tol):
                break
            if past_deadline(params):
                stopped = True
                break
        n = np.maximum(counts, 1)[:, None, None]
        sampled = todo & (counts > 0)
        values = fixed + (sums[sampled] / n[sampled]).sum(axis=0)
        parts = var_sums[sampled] / n[sampled] ** 2
        std_err = np.sqrt(parts.sum(axis=0))
        if sampled.any():  # variances from few draws per background row: widened as t intervals
            std_err *= t_widening(effective_dof(parts, np.maximum(dof[sampled], 1.0)[:, None, None]))
        return RowEstimate(values, std_err, evaluate.coalitions_per_reference(m), budget_stopped=stopped)

    def _solve(self, design: Design, y: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Estimates and standard errors ``(k, o)`` from the design's centred values ``y``."""
        phi, Q = solve_constrained(design, y, delta)
        return phi, regression_std_err(design, y, phi, Q)


def active_players(refs: ReferenceGames) -> np.ndarray | None:
    """Which players can change each single-reference game of a table row: bool ``(m, k)``, False
    where every feature of the player is the same in the row and in the background row (such a
    player is a null player of that game: hiding it changes nothing). None for documents and images,
    or a value function that does not say what it plays over.
    """
    vf = refs.value_function
    masker = getattr(vf, "masker", None)
    if getattr(vf, "item", 1) is not None or masker is None or not hasattr(masker, "feature_masks"):
        return None
    x = np.asarray(vf.x, dtype=np.float64)
    data = np.asarray(masker.data, dtype=np.float64)
    same = (data == x[None, :]) | (np.isnan(data) & np.isnan(x)[None, :])  # (m, d)
    differs = (~same).astype(np.int64)
    group_matrix = np.asarray(masker.group_matrix, dtype=np.int64)  # (k, d)
    return np.asarray(differs @ group_matrix.T > 0)


def _share_units(sizes: np.ndarray, budget: int, scale: np.ndarray | None = None, floor: np.ndarray | None = None
                 ) -> np.ndarray:
    """Pairs for each background row's game of ``sizes[r]`` players, ``budget`` pairs in all.

    Equal shares (``scale`` None): water-filling; a game with fewer pairs than its share gets all
    of them (it is enumerated), the others share the rest equally. With ``scale``: shares in
    proportion to it, each kept between ``floor[r]`` and the game's number of pairs
    (``clip(t * scale, floor, pairs)`` with ``t`` set so that they add up to the budget); equal
    shares when the floors do not fit in the budget. Games of 0 or 1 player need none.

    >>> _share_units(np.array([2, 3, 9, 9]), 4 * 40).tolist()
    [1, 3, 78, 78]
    >>> _share_units(np.array([9, 9, 9]), 90, scale=np.array([1.0, 1.0, 4.0])).tolist()
    [15, 15, 60]
    >>> _share_units(np.array([9, 9, 9]), 90, scale=np.array([1.0, 1.0, 4.0]), floor=np.array([18, 18, 18])).tolist()
    [18, 18, 54]
    """
    caps = np.array([0 if s < 2 else (2 ** (int(s) - 1) - 1 if s < 62 else 2**61) for s in sizes], dtype=np.int64)
    if scale is not None and (np.asarray(scale, dtype=np.float64)[caps > 0] > 0).any():
        lows = np.zeros_like(caps) if floor is None else np.minimum(np.asarray(floor, dtype=np.int64), caps)
        if int(lows.sum()) <= budget:
            return _box_shares(np.asarray(scale, dtype=np.float64), lows, caps, int(budget))
    out = np.zeros(sizes.shape[0], dtype=np.int64)
    left = np.flatnonzero(caps > 0)
    remaining = int(budget)
    while left.size:
        share = remaining // left.size
        full = caps[left] <= share
        if not full.any():
            out[left] = share
            break
        out[left[full]] = caps[left[full]]
        remaining -= int(caps[left[full]].sum())
        left = left[~full]
    return out


def _box_shares(weight: np.ndarray, low: np.ndarray, high: np.ndarray, budget: int) -> np.ndarray:
    """Integers ``clip(t * weight, low, high)`` adding up to ``budget`` (``sum(low) <= budget``), or
    ``high`` when even that is within the budget. The sum is piecewise linear in ``t``, with a kink
    where a share reaches its floor or its cap: ``t`` is read off the segment where the budget falls,
    then the shares are rounded down and the largest remainders get one more.

    >>> _box_shares(np.array([1.0, 3.0]), np.array([2, 2]), np.array([50, 50]), 24).tolist()
    [6, 18]
    >>> _box_shares(np.array([1.0, 3.0]), np.array([10, 2]), np.array([50, 12]), 24).tolist()  # a floor, a cap
    [12, 12]
    """
    if int(high.sum()) <= budget:
        return high.copy()
    live = weight > 0  # a share of weight 0 stays at its floor
    w = weight[live]
    times = np.concatenate([low[live] / w, high[live] / w])
    slopes = np.concatenate([w, -w])
    order = np.argsort(times, kind="stable")
    times, slopes = times[order], np.cumsum(slopes[order])  # the slope of the sum after each kink
    sums = float(low.sum()) + np.concatenate([[0.0], np.cumsum(slopes[:-1] * np.diff(times))])
    k = int(np.searchsorted(sums, budget, side="right")) - 1
    t = times[k] + (budget - sums[k]) / slopes[k] if slopes[k] > 0 else times[k]
    share = np.clip(t * np.maximum(weight, 0.0), low, high)
    out = np.floor(share).astype(np.int64)
    room = np.flatnonzero(out < high)
    extra = min(budget - int(out.sum()), room.size)
    out[room[np.argsort(-(share[room] - out[room]), kind="stable")[:extra]]] += 1
    return out


#: From this many sampled background rows (:func:`effective_count` of their weights) on, their
#: regressions are cross-fitted (see :class:`KernelShap`). The plain regression's squared bias does
#: not shrink with more rows and the variances do, so the better of the two changes at a number of
#: rows that depends on the game, not on the budget. Measured at 4d to 5d coalitions: on the first
#: case of ``benchmarks/shapley_accuracy.py`` the plain regression had 7-28% less error on 8 and
#: 16 rows, 3% more on 32, and the cross-fitted one 10-20% less on 50 and 100; on a smoother game
#: of 30 rows (``test_per_reference_beats_shared_sampling_on_a_game_with_higher_order_terms``) the
#: plain one had 7-18% less; on the heart-disease case the two are within 5% from 16 rows on.
CROSS_FIT_REFERENCES = 32


def many_references(weights: np.ndarray) -> bool:
    """Whether background rows of these weights are enough to cross-fit (:data:`CROSS_FIT_REFERENCES`)."""
    return effective_count(weights) >= CROSS_FIT_REFERENCES - 1e-6  # equal weights: m up to rounding


def effective_count(weights: np.ndarray) -> float:
    """``(sum w)^2 / sum w^2``: how many equally weighted rows the weights are worth (0 for none).

    >>> round(effective_count(np.full(10, 0.1)), 9), round(effective_count(np.array([0.9, 0.1])), 3)
    (10.0, 1.22)
    """
    w = np.asarray(weights, dtype=np.float64)
    squares = float((w**2).sum())
    return float(w.sum() ** 2 / squares) if squares > 0 else 0.0


class _ReducedGames:
    """Values of single-reference games played over each background row's own players: the
    coalitions of a smaller game are spread onto its players (null players hidden, which changes
    nothing), and the model sees only the background rows asked for."""

    def __init__(self, refs: ReferenceGames) -> None:
        self.refs = refs
        self.vf = refs.value_function
        self.rows = 0

    def __call__(self, parts: list[tuple[np.ndarray, Any, np.ndarray]]) -> list[np.ndarray]:
        """For each ``(idx, designs, players)``: the values ``(len(idx), 2u, o)`` of the design's pairs of
        coalitions for background rows ``idx``, whose players are ``players`` (bool ``(len(idx), k)``).
        The model rows of all parts go through the model together, at most ``batch_size`` a call."""
        vf, masker = self.vf, self.vf.masker
        blocks: list[tuple[np.ndarray, np.ndarray]] = []  # (feature masks (g, 2u, d), background rows (g, d))
        shapes = []
        for idx, designs, players in parts:
            units = designs.units  # (g, u, kr)
            g, u, _ = units.shape
            masks = np.zeros((g, 2 * u, players.shape[1]), dtype=bool)
            for j in range(g):
                cols = np.flatnonzero(players[j])
                first, second = masks[j, 0::2], masks[j, 1::2]  # views
                first[:, cols] = units[j]
                second[:, cols] = ~units[j]
            blocks.append((masker.feature_masks(masks), masker.data[idx]))
            shapes.append((g, 2 * u))
        step = max(1, int(vf.batch_size))
        outs: list[np.ndarray] = []
        pending: list[np.ndarray] = []
        n_pending = 0

        def flush() -> None:
            nonlocal pending, n_pending
            if pending:
                inputs = np.concatenate(pending, axis=0)
                for b in range(0, inputs.shape[0], step):
                    got = vf.model.predict(masker.decode(inputs[b : b + step], as_frame=vf.as_frame))
                    outs.append(np.asarray(got, dtype=np.float64))
                self.rows += inputs.shape[0]
                vf.n_rows += inputs.shape[0]
            pending, n_pending = [], 0

        for feature, data in blocks:
            for j in range(feature.shape[0]):  # one background row's pairs at a time, gathered up to step rows
                pending.append(np.where(feature[j], vf.x[None, :], data[j][None, :]))
                n_pending += feature.shape[1]
                if n_pending >= step:
                    flush()
        flush()
        flat = np.concatenate(outs, axis=0) if outs else np.zeros((0, 1))
        flat = flat.reshape(flat.shape[0], -1)
        result, at = [], 0
        for g, q in shapes:
            result.append(flat[at : at + g * q].reshape(g, q, -1))
            at += g * q
        return result

    def coalitions_per_reference(self, m: int) -> int:
        """The model rows spent, as coalitions evaluated over the whole background (rounded up)."""
        return -(-self.rows // max(1, m))


def designs_dof(designs: Any) -> float:
    """Degrees of freedom of one background row's variance estimate under ``designs``: its sampled
    pairs less one per sampling group (each group's variance is a sample variance).

    >>> from xaikit.explainers.shapley._coalitions import build_reference_designs
    >>> designs_dof(build_reference_designs(6, 10, "kernel", 1, np.random.default_rng(0)))
    3.0
    """
    sampled = np.asarray(designs.unit_group) >= 0
    return float(max(int(sampled.sum()) - sum(1 for n in designs.group_sizes if n > 0), 0))
