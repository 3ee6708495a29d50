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
    min_budget,
    regression_std_err,
    solve_constrained,
    solve_references,
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
    * Coalitions come in complementary (antithetic) pairs.
    * Coalition sizes form strata; a stratum whose share of the budget covers all of it is
      enumerated exactly (the smallest and largest sizes first), the rest are sampled in
      proportion to the Shapley kernel's mass: without replacement and dealt out so that the
      background rows together cover the stratum evenly when it is small, with replacement
      when it is large.
    * The efficiency constraint is solved exactly (KKT), not with a large weight.
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
        if refs is not None and self._samples_per_reference(k, params["n_samples"]):
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

    def _samples_per_reference(self, k: int, n_samples: int) -> bool:
        """Whether to draw coalitions per background row (not when the budget enumerates them all)."""
        return self.per_reference and not is_exhaustive(k, n_samples // 2)

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
            phi, se = solve_references(designs, y, refs.delta, refs.weights)
            total += pairs * phi
            var += (pairs * se) ** 2
            sizes.append(pairs)
            n = sum(sizes)
            if not rounds or (tol is not None and np.nanmax(np.sqrt(var) / n) <= tol) or n >= budget_pairs:
                break
            if past_deadline(params):
                stopped = True
                break
        n = sum(sizes)
        return RowEstimate(total / n, np.sqrt(var) / n, refs.n_evaluations, budget_stopped=stopped)

    def _solve(self, design: Design, y: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Estimates and standard errors ``(k, o)`` from the design's centred values ``y``."""
        phi, Q = solve_constrained(design, y, delta)
        return phi, regression_std_err(design, y, phi, Q)
