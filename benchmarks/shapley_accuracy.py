"""Accuracy and cost of xaikit's sampled Shapley estimators next to shap's, at equal model evaluations.

Three cases on data shipped with xaikit:

1. GradientBoostingClassifier on the first 12 features of Breast Cancer Wisconsin, explaining
   P(class 1); the reference is ``xk.ExactShapley`` (enumeration of all 2**12 coalitions) over
   the same background.
2. GradientBoostingClassifier on all 30 features of Breast Cancer Wisconsin, explaining the raw
   margin (``decision_function``); the reference is interventional TreeSHAP over the same background.
3. HistGradientBoostingClassifier on the 13 features of the Cleveland heart-disease data (its
   four categorical columns as category codes, native categorical splits), explaining the raw
   margin; the reference is xaikit's interventional TreeShap over the same background (exact;
   the completeness gap is printed).

``--backgrounds 8,16,50,100`` runs every case once per background size (the small-background sweep).

Every sampled xaikit estimator in the registry (found automatically, printed under its registry
name) runs next to ``shap.KernelExplainer`` and ``shap.PermutationExplainer`` at the same budget
of coalitions per explained row. All of them receive the same plain function, wrapped in a
counter that records how many rows it is called with and the time spent inside it, so the
number of evaluations each one really makes, and its overhead outside the model, are measured
rather than taken on trust.

Printed per case: relative L2 error (mean over rows and seeds of ||phi - phi*|| / ||phi*||) and
measured coalition evaluations per row, for every estimator and budget; time and overhead
per row (the fastest of ``--repeats`` identical runs, for every library alike: a shared machine
only ever adds time) and the time as a multiple of the model's own time inside it (the physical
limit: 1.00x); the coverage of xaikit's standard errors (share of values with
``|phi - phi*| <= 2 std_err``); and a summary of ratios (xaikit's best estimator vs shap's best,
and, per budget, the evaluations xaikit's best needs to reach a third of shap's error as a multiple
of shap's: at most 1.00x where the bar is met), with one line per case and background size at the
end. Nothing is asserted.

Run:  python benchmarks/shapley_accuracy.py [--rows 20] [--background 50] [--backgrounds 8,16,50,100]
      [--seeds 1] [--repeats 3] [--max-budget 8192] [--cases 1,2,3] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import math
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

SHAP_NAMES = ("shap_kernel", "shap_permutation")
TARGET_ERROR = 0.01  # relative error for the "evaluations needed" summary
EXACT_TOL = 1e-10  # errors below this on both sides mean both enumerated every coalition


# --------------------------------------------------------------------------- counting the model
class CountingFunction:
    """A plain function of a batch that records the rows it sees and the time spent inside it.

    It deliberately has no ``predict`` / ``predict_proba`` attribute, so every library treats it
    as an opaque function of a 2-D array.
    """

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray]) -> None:
        self.fn = fn
        self.reset()

    def reset(self) -> None:
        self.rows = 0
        self.calls = 0
        self.seconds = 0.0

    def __call__(self, Z: Any) -> np.ndarray:
        start = time.perf_counter()
        out = self.fn(Z)
        self.seconds += time.perf_counter() - start
        self.rows += len(Z)
        self.calls += 1
        return out


@contextlib.contextmanager
def quiet():
    """Silence warnings, logging and anything printed (progress bars) while a library runs."""
    sink = io.StringIO()
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(sink), contextlib.redirect_stdout(sink):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


# --------------------------------------------------------------------------- estimators
def sampled_xaikit_estimators() -> dict[str, type]:
    """Every sampled (non-exact) Shapley estimator in xaikit's registry, by registry name."""
    import xaikit as xk
    from xaikit.explainers.shapley.base import ShapleyExplainer

    return {
        name: cls
        for name, cls in xk.REGISTRY.items()
        if cls.__module__.startswith("xaikit.explainers") and issubclass(cls, ShapleyExplainer) and not cls.exact
    }


@dataclass
class Run:
    values: np.ndarray  # (n, d)
    wall: float  # seconds for the whole explanation of the n rows
    model_rows: int  # rows passed to f during it
    model_seconds: float  # time inside f during it
    std_err: np.ndarray | None = None  # (n, d), xaikit's standard errors when it reports them


def _single_output(values: Any) -> np.ndarray:
    if isinstance(values, list):  # older shap: one array per output
        values = values[0]
    values = np.asarray(values, dtype=np.float64)
    return values[..., 0] if values.ndim == 3 else values


def run_xaikit(cls: type, f: CountingFunction, bg: np.ndarray, X: np.ndarray, budget: int, seed: int) -> Run:
    explainer = cls(f, background=bg, output="raw")
    f.reset()
    start = time.perf_counter()
    # executor=None: serial, in this process, so the counter sees every model call. The count
    # includes f(X) and f(background) made once per explain() call (n + m rows: ~0.07 per row
    # with 20 rows and 50 background rows).
    exp = explainer.explain(X, n_samples=budget, random_state=seed)
    wall = time.perf_counter() - start
    se = exp.diagnostics.get("std_err")
    return Run(exp.values[:, :, 0], wall, f.rows, f.seconds, None if se is None else se[:, :, 0])


def run_shap_kernel(f: CountingFunction, bg: np.ndarray, X: np.ndarray, budget: int, seed: int) -> Run:
    import shap

    explainer = shap.KernelExplainer(f, bg)  # evaluates f on the background here: not counted
    f.reset()
    np.random.seed(seed)
    start = time.perf_counter()
    # l1_reg=False: no feature selection before the regression, shap's most accurate setting
    # (the default "auto" selects features by AIC when less than 20% of coalitions are evaluated).
    values = explainer.shap_values(X, nsamples=budget, l1_reg=False, silent=True)
    wall = time.perf_counter() - start
    return Run(_single_output(values), wall, f.rows, f.seconds)


def run_shap_permutation(f: CountingFunction, bg: np.ndarray, X: np.ndarray, budget: int, seed: int) -> Run:
    import shap

    masker = shap.maskers.Independent(bg, max_samples=len(bg))
    explainer = shap.PermutationExplainer(f, masker, seed=seed)
    f.reset()
    start = time.perf_counter()
    # shap 0.51 reuses the name `main_effects` for a list inside Explainer.__call__, so every row
    # after the first also gets main effects (d + 1 extra coalitions, unused for the values); the
    # measured evaluations show this as it is.
    values = explainer(X, max_evals=budget, silent=True).values
    wall = time.perf_counter() - start
    return Run(_single_output(values), wall, f.rows, f.seconds)


# --------------------------------------------------------------------------- cases
@dataclass
class Case:
    label: str
    f: CountingFunction
    bg: np.ndarray
    X: np.ndarray
    truth: np.ndarray  # (n, d)
    truth_note: str
    d: int = field(init=False)

    def __post_init__(self) -> None:
        self.d = self.X.shape[1]


def _split(n_features: int | None, n_background: int, n_rows: int):
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.model_selection import train_test_split

    import xaikit.datasets

    ds = xaikit.datasets.load_breast_cancer()
    data = ds.data if n_features is None else ds.data[:, :n_features]
    X_train, X_test, y_train, _ = train_test_split(data, ds.target, test_size=0.3, random_state=0)
    model = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0).fit(X_train, y_train)
    rng = np.random.default_rng(12345)
    bg = X_train[rng.choice(len(X_train), size=min(n_background, len(X_train)), replace=False)]
    X = X_test[:n_rows]
    return model, bg, X


def completeness_gap(truth: np.ndarray, f: Callable, bg: np.ndarray, X: np.ndarray) -> float:
    """max_i |sum_j phi*_ij - (f(x_i) - mean f(bg))|."""
    return float(np.max(np.abs(truth.sum(axis=1) - (f(X) - f(bg).mean()))))


def case_probability(n_background: int, n_rows: int) -> Case:
    import xaikit as xk

    model, bg, X = _split(12, n_background, n_rows)

    def f(Z):
        return model.predict_proba(Z)[:, 1]

    start = time.perf_counter()
    with quiet():
        truth = xk.ExactShapley(f, background=bg, output="raw").explain(X).values[:, :, 0]
    seconds = time.perf_counter() - start
    gap = completeness_gap(truth, f, bg, X)
    note = (
        f"ground truth: xk.ExactShapley over all 2**12 coalitions ({seconds:.1f} s); "
        f"max |sum(phi*) - (f(x) - mean f(bg))| = {gap:.1e}"
    )
    return Case("case 1: GradientBoostingClassifier, 12 features, P(class 1)", CountingFunction(f), bg, X, truth, note)


def case_margin(n_background: int, n_rows: int) -> Case:
    import shap

    model, bg, X = _split(None, n_background, n_rows)

    def f(Z):
        return model.decision_function(Z)

    start = time.perf_counter()
    with quiet():
        tree = shap.TreeExplainer(model, data=bg, feature_perturbation="interventional", model_output="raw")
        truth = _single_output(tree.shap_values(X))
    seconds = time.perf_counter() - start
    gap = completeness_gap(truth, f, bg, X)
    note = (
        f"ground truth: shap.TreeExplainer, interventional, raw margin, same background ({seconds:.1f} s); "
        f"max |sum(phi*) - (f(x) - mean f(bg))| = {gap:.1e}"
    )
    return Case("case 2: GradientBoostingClassifier, 30 features, raw margin", CountingFunction(f), bg, X, truth, note)


def heart_data() -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The Cleveland heart-disease rows without missing values: features (categories as their codes),
    target, and the positions of the categorical columns."""
    import xaikit.datasets

    ds = xaikit.datasets.load_heart_disease()
    frame = ds.frame.copy()
    for name in ds.categorical_features:
        frame[name] = frame[name].cat.codes.astype(float).where(frame[name].notna())
    data = frame.to_numpy(dtype=float)
    keep = ~np.isnan(data).any(axis=1)
    return data[keep], ds.target[keep], [frame.columns.get_loc(c) for c in ds.categorical_features]


def case_heart(n_background: int, n_rows: int) -> Case:
    from sklearn.ensemble import HistGradientBoostingClassifier

    import xaikit as xk

    data, target, categorical = heart_data()
    order = np.random.default_rng(0).permutation(len(data))
    train, test = order[:200], order[200:]
    model = HistGradientBoostingClassifier(max_iter=100, random_state=0, categorical_features=categorical)
    model.fit(data[train], target[train])
    rng = np.random.default_rng(12345)
    bg = data[train][rng.choice(len(train), size=min(n_background, len(train)), replace=False)]
    X = data[test][:n_rows]

    def f(Z):
        return model.decision_function(Z)

    start = time.perf_counter()
    with quiet():
        truth = xk.TreeShap(model, background=bg, output="log_odds").explain(X).values[:, :, -1]
    seconds = time.perf_counter() - start
    gap = completeness_gap(truth, f, bg, X)
    note = (
        f"ground truth: xk.TreeShap, interventional, log-odds (the raw margin), same background ({seconds:.1f} s); "
        f"max |sum(phi*) - (f(x) - mean f(bg))| = {gap:.1e}"
    )
    return Case("case 3: HistGradientBoostingClassifier, heart disease, 13 features, raw margin",
                CountingFunction(f), bg, X, truth, note)


CASES = {"1": case_probability, "2": case_margin, "3": case_heart}


#: Values with a known standard error below which a cell's coverage is printed but not taken as the
#: lowest (3 values, one outside 2 SE, would read 0.667).
MIN_KNOWN = 50


def budgets_for(d: int, max_budget: int) -> list[int]:
    """2d+2, 4d, then powers of two from the first above 4d up to max_budget."""
    out = [2 * d + 2, 4 * d]
    p = 1 << (4 * d).bit_length()
    while p <= max_budget:
        out.append(p)
        p *= 2
    return [b for b in dict.fromkeys(out) if b <= max_budget]


# --------------------------------------------------------------------------- measuring
@dataclass
class Cell:
    error: float | None = None  # mean relative L2 error over rows and seeds
    evals: float | None = None  # measured coalition evaluations per row
    time_ms: float | None = None  # wall time per row
    overhead_ms: float | None = None  # wall time outside f per row
    model_ms: float | None = None  # time inside f per row (of the same fastest runs)
    coverage: float | None = None  # share of values with |error| <= 2 std_err (xaikit's standard errors)
    known: int = 0  # values whose standard error is known (the coverage's denominator), of
    values: int = 0  # all values of the cell
    failure: str | None = None


def measure(case: Case, name: str, runner: Callable, budget: int, seeds: list[int], repeats: int = 1) -> Cell:
    """Error and evaluations of each seed's run; time and overhead of the fastest of ``repeats``
    runs of each seed (same seed, same values: checked), averaged over the seeds."""
    errors, evals, times, overheads, models, covered = [], [], [], [], [], []
    n_values = 0
    n, m = case.X.shape[0], case.bg.shape[0]
    norms = np.linalg.norm(case.truth, axis=1)
    for seed in seeds:
        runs = []
        for _ in range(repeats):
            try:
                with quiet():
                    runs.append(runner(case.f, case.bg, case.X, budget, seed))
            except Exception as exc:  # e.g. shap's PermutationExplainer refusing a small max_evals
                return Cell(failure=f"{name} at budget {budget}: {type(exc).__name__}: {str(exc)[:160]}")
            if not np.array_equal(runs[-1].values, runs[0].values):
                return Cell(failure=f"{name} at budget {budget}: seed {seed} gave different values when repeated")
        run = runs[0]
        errors.append(np.linalg.norm(run.values - case.truth, axis=1) / norms)
        evals.append(run.model_rows / m / n)
        fastest = min(runs, key=lambda r: r.wall)
        times.append(1e3 * fastest.wall / n)
        overheads.append(1e3 * (fastest.wall - fastest.model_seconds) / n)
        models.append(1e3 * fastest.model_seconds / n)
        if run.std_err is not None:  # a NaN standard error says "unknown" (one draw in a stratum): left out
            known = np.isfinite(run.std_err)
            covered.append((np.abs(run.values - case.truth) <= 2.0 * run.std_err + 1e-12)[known])
            n_values += known.size
    n_known = sum(c.size for c in covered)
    coverage = float(np.mean(np.concatenate(covered))) if n_known else None
    return Cell(float(np.mean(errors)), float(np.mean(evals)), float(np.mean(times)), float(np.mean(overheads)),
                float(np.mean(models)), coverage, n_known, n_values)


# --------------------------------------------------------------------------- printing
def print_table(groups: list[tuple[str, list[str]]], rows: list[list[str]], first: str = "budget") -> None:
    """A table whose columns come in named groups; ``rows`` hold the first column then each group's cells."""
    sub = [first] + [s for _, subs in groups for s in subs]
    widths = [max(len(first), *(len(r[0]) for r in rows))]
    col = 1
    for name, subs in groups:
        ws = [max(len(s), *(len(r[col + i]) for r in rows)) for i, s in enumerate(subs)]
        extra = len(name) - (sum(ws) + 2 * (len(ws) - 1))
        if extra > 0:
            ws[-1] += extra
        widths += ws
        col += len(subs)
    top, col = [" " * widths[0]], 1
    for name, subs in groups:
        span = sum(widths[col : col + len(subs)]) + 2 * (len(subs) - 1)
        top.append(name.center(span))
        col += len(subs)
    print("  ".join(top).rstrip())
    print("  ".join(s.rjust(w) for s, w in zip(sub, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def evals_to_reach(cells: list[Cell], target: float = TARGET_ERROR) -> tuple[float | None, str]:
    """Evaluations per row at which the error first reaches ``target`` (log-log interpolation).

    Returns ``(value, qualifier)``: qualifier ``""`` (interpolated), ``"<="`` (already reached at
    the smallest budget) or ``">max"`` (never reached; value = largest evaluations measured).
    """
    prev = None
    tiny = 1e-300
    seen = [c for c in cells if c.error is not None and c.evals is not None and c.evals > 0]
    for c in seen:
        if c.error <= target:
            if prev is None:
                return c.evals, "<="
            x0, e0 = prev
            t = (math.log(target) - math.log(max(e0, tiny))) / (math.log(max(c.error, tiny)) - math.log(max(e0, tiny)))
            return math.exp(math.log(x0) + t * (math.log(c.evals) - math.log(x0))), ""
        prev = (c.evals, c.error)
    return (max(c.evals for c in seen) if seen else None), ">max"


def _fmt_reach(value: float | None, qual: str) -> str:
    if value is None:
        return "-"
    if qual == ">max":
        return f">max ({value:.0f})"
    return f"{qual}{value:.0f}"


def summarize(case: Case, budgets: list[int], names: list[str], xk_names: list[str], table: dict) -> list[float]:
    shap_names = [s for s in names if s not in xk_names]

    def best(at: int, among: list[str]) -> tuple[str | None, Cell | None]:
        got = [(table[at][s], s) for s in among if table[at][s].error is not None]
        if not got:
            return None, None
        cell, name = min(got, key=lambda t: t[0].error)
        return name, cell

    d = case.d
    print(f"\nSummary ({case.label.split(':')[0]}, d={d})")
    print(f"  accuracy at equal budget, budgets >= 4d = {4 * d} (bar: shap_best / xaikit_best >= 3):")
    rows = []
    ratios: list[float] = []
    # xaikit's lowest error at each budget, over its estimators: how many evaluations it needs to reach
    # a third of shap's error says how far a budget that misses the bar is from it
    envelope = [cell for cell in (best(b, xk_names)[1] for b in budgets) if cell is not None]
    for b in budgets:
        if b < 4 * d:
            continue
        xn, xc = best(b, xk_names)
        sn, sc = best(b, shap_names)
        need = "-"
        if xc is not None and sc is not None and sc.error >= EXACT_TOL and sc.evals:
            value, qual = evals_to_reach(envelope, sc.error / 3.0)
            if value is not None:
                need = "beyond the budgets run" if qual == ">max" else f"{qual}{value / sc.evals:.2f}x"
        if xc is None or sc is None:
            ratio = "-"
        elif xc.error < EXACT_TOL and sc.error < EXACT_TOL:
            ratio = "n/a (both exact)"
        elif xc.error < EXACT_TOL:  # xaikit enumerated every (smaller) game within the budget
            ratio = "xaikit exact"
            ratios.append(math.inf)
        else:
            ratio = f"{sc.error / max(xc.error, 1e-300):.2f}"
            ratios.append(sc.error / max(xc.error, 1e-300))
        rows.append([
            str(b), xn or "-", _fmt(xc.error if xc else None, ".2e"), sn or "-", _fmt(sc.error if sc else None, ".2e"), ratio,
            need,
        ])
    print_table(
        [("best xaikit", ["estimator", "error"]), ("best shap", ["estimator", "error"]), ("", ["shap/xaikit"]),
         ("xaikit evals for 1/3 of shap's error", ["/ shap's evals"])],
        rows,
    )

    print(f"\n  evaluations per row to reach {TARGET_ERROR:.0%} relative error (log-log interpolation between budgets):")
    reach = {s: evals_to_reach([table[b][s] for b in budgets]) for s in names}
    for s in names:
        print(f"    {s:<24} {_fmt_reach(*reach[s])}")

    def best_reach(among: list[str]) -> tuple[str | None, float | None, str]:
        hit = [(reach[s][0], s, reach[s][1]) for s in among if reach[s][0] is not None and reach[s][1] != ">max"]
        if hit:
            v, s, q = min(hit)
            return s, v, q
        tops = [reach[s][0] for s in among if reach[s][0] is not None]
        return None, (max(tops) if tops else None), ">max"

    xs, xv, xq = best_reach(xk_names)
    ss, sv, sq = best_reach(shap_names)
    if xv is None or sv is None or xq == ">max":
        ratio = "-"
    elif sq == ">max":
        ratio = f"< {xv / sv:.3f}"
    else:
        ratio = f"{'<=' if xq == '<=' else ''}{xv / sv:.3f}"
    print(f"    best xaikit: {xs or '-'} {_fmt_reach(xv, xq)};  best shap: {ss or '-'} {_fmt_reach(sv, sq)}")
    print(f"    ratio xaikit / shap = {ratio}   (bar: <= 0.25)")

    xo, so = [], []
    for b in budgets:
        _, xc = best(b, xk_names)
        _, sc = best(b, shap_names)
        if xc is not None and sc is not None:
            xo.append(xc.overhead_ms)
            so.append(sc.overhead_ms)
    print("\n  overhead per row outside the model, mean over budgets of the lowest-error estimator at each budget:")
    if xo:
        mx, ms = float(np.mean(xo)), float(np.mean(so))
        print(f"    xaikit {mx:.3f} ms;  shap {ms:.3f} ms;  ratio xaikit / shap = {mx / ms:.3f}   (bar: <= 0.2)")
    else:
        print("    -")
    return ratios


def run_case(key: str, args: argparse.Namespace, seeds: list[int], n_background: int) -> str:
    estimators = sampled_xaikit_estimators()
    xk_names = list(estimators)
    runners: dict[str, Callable] = {
        name: (lambda f, bg, X, b, s, cls=cls: run_xaikit(cls, f, bg, X, b, s)) for name, cls in estimators.items()
    }
    runners["shap_kernel"] = run_shap_kernel
    runners["shap_permutation"] = run_shap_permutation
    names = list(runners)

    case = CASES[key](n_background, args.rows)
    budgets = budgets_for(case.d, args.max_budget)
    print(f"\n{'=' * 100}\n{case.label}")
    print(f"  d = {case.d}, explained rows = {case.X.shape[0]}, background rows = {case.bg.shape[0]}, seeds = {seeds}")
    print(f"  {case.truth_note}")
    if not budgets:
        print(f"  no budget: --max-budget {args.max_budget} is below 2d+2 = {2 * case.d + 2}")
        return f"case {key}, {case.bg.shape[0]} background rows: no budget"
    if 2**case.d - 2 <= max(budgets):
        print(f"  budgets >= 2**{case.d} - 2 = {2**case.d - 2} allow full enumeration of the coalitions")

    # warm-up on one row (imports, compiled code, caches), so that the first timed cell of an
    # estimator does not carry one-off costs; nothing from it is recorded
    warm = sorted({budgets[0], next((b for b in budgets if b >= 8 * case.d), budgets[-1])})
    for s in names:
        for b in warm:
            try:
                with quiet():
                    runners[s](case.f, case.bg, case.X[:1], b, 0)
            except Exception:
                pass

    table: dict[int, dict[str, Cell]] = {}
    failures: list[str] = []
    for b in budgets:
        table[b] = {}
        for s in names:
            t0 = time.perf_counter()
            cell = measure(case, s, runners[s], b, seeds, args.repeats)
            table[b][s] = cell
            if cell.failure:
                failures.append(cell.failure)
            print(f"  [case {key}, m={case.bg.shape[0]}] budget {b:>5} {s:<26} {time.perf_counter() - t0:7.2f} s",
                  file=sys.stderr, flush=True)

    print("\nRelative L2 error (mean over rows and seeds) and measured coalition evaluations per row")
    print_table(
        [(s, ["error", "evals"]) for s in names],
        [[str(b)] + [c for s in names for c in (_fmt(table[b][s].error, ".2e"), _fmt(table[b][s].evals, ".1f"))]
         for b in budgets],
    )
    print(f"\nTime per row and overhead per row outside the model (ms), the fastest of {args.repeats} identical runs")
    print_table(
        [(s, ["time", "overhead"]) for s in names],
        [[str(b)] + [c for s in names for c in (_fmt(table[b][s].time_ms, ".2f"), _fmt(table[b][s].overhead_ms, ".2f"))]
         for b in budgets],
    )
    print("\nTime as a multiple of the model's own time inside it (1.00x: the physical limit), model ms per row")
    print_table(
        [(s, ["x model", "model"]) for s in names],
        [[str(b)] + [c for s in names for c in (
            _fmt(None if table[b][s].time_ms is None or not table[b][s].model_ms else table[b][s].time_ms / table[b][s].model_ms, ".2f"),
            _fmt(table[b][s].model_ms, ".2f"))] for b in budgets],
    )
    print("\nCoverage of xaikit's standard errors: share of values with |phi - phi*| <= 2 std_err (bar: >= 0.93);\n"
          "values whose standard error is unknown (NaN: a stratum drawn once) are left out, '-' when all are;\n"
          f"'known' is how many values had one. The lowest coverage below counts cells with at least {MIN_KNOWN} known")
    print_table(
        [(s, ["coverage", "known"]) for s in xk_names],
        [[str(b)] + [c for s in xk_names for c in (
            _fmt(table[b][s].coverage, ".3f"), f"{table[b][s].known}/{table[b][s].values}")] for b in budgets],
    )
    pooled = {s: [table[b][s].coverage for b in budgets
                  if table[b][s].coverage is not None and table[b][s].known >= MIN_KNOWN] for s in xk_names}
    print("  over all budgets (mean): " + ", ".join(f"{s} {np.mean(v):.3f}" for s, v in pooled.items() if v))
    if failures:
        print("\n  cells shown as '-':")
        for msg in failures:
            print(f"    {msg}")
    ratios = summarize(case, budgets, names, xk_names, table)
    worst = ("xaikit exact" if min(ratios) == math.inf else f"{min(ratios):.2f}") if ratios else "-"
    cover = ", ".join(f"{s} {min(v):.3f}" for s, v in pooled.items() if v)
    return (f"case {key}, {case.bg.shape[0]:>3} background rows: shap_best / xaikit_best at budgets >= 4d: "
            f"min {worst} (bar >= 3); lowest coverage per estimator over budgets: {cover}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20, help="explained test rows (default 20)")
    parser.add_argument("--background", type=int, default=50, help="background rows (default 50)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per estimator and budget: 0..N-1 (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per cell, the fastest reported (default 3)")
    parser.add_argument("--max-budget", type=int, default=8192, help="largest coalition budget per row (default 8192)")
    parser.add_argument("--backgrounds", default=None,
                        help="comma-separated background sizes, every case run once per size (e.g. 8,16,50,100)")
    parser.add_argument("--cases", default="1,2,3", help="comma-separated cases to run: 1, 2, 3 (default 1,2,3)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 5 rows, budgets up to 1024, one timed run")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats: expected at least 1, got {args.repeats}")
    if args.quick:
        args.repeats = 1
        args.rows = min(args.rows, 5)
        args.max_budget = min(args.max_budget, 1024)
    keys = [k.strip() for k in args.cases.split(",") if k.strip()]
    unknown = [k for k in keys if k not in CASES]
    if unknown:
        parser.error(f"--cases: unknown case(s) {unknown}; choose from {sorted(CASES)}")

    import shap
    import sklearn

    import xaikit

    print("Shapley accuracy benchmark: xaikit vs shap at equal model evaluations per row")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, shap {shap.__version__}, "
        f"scikit-learn {sklearn.__version__}, xaikit {xaikit.__version__}, CPUs {os.cpu_count()}"
    )
    print("command: " + " ".join([os.path.basename(sys.executable)] + sys.argv))
    print(f"xaikit sampled estimators (from the registry): {', '.join(sampled_xaikit_estimators())}")
    print(
        "evals = rows passed to f / background rows / explained rows, measured; it includes each library's\n"
        "own calls on the explained rows (and xaikit's one call on the background per explain()), not\n"
        "shap.KernelExplainer's evaluation of the background in its constructor."
    )
    try:
        sizes = [int(v) for v in args.backgrounds.split(",")] if args.backgrounds else [args.background]
    except ValueError:
        parser.error(f"--backgrounds: expected comma-separated integers, got {args.backgrounds!r}")
    if min(sizes) < 1:
        parser.error(f"--backgrounds: expected sizes of at least 1, got {sizes}")
    seeds = list(range(args.seeds))
    start = time.perf_counter()
    lines = [run_case(key, args, seeds, m) for key in keys for m in sizes]
    print(f"\n{'=' * 100}\nBy case and background size")
    for line in lines:
        print("  " + line)
    print(f"\ntotal wall time {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
