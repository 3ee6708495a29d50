"""Properties every interventional Shapley explainer must have.

The Shapley axioms (efficiency, symmetry, dummy, linearity), the closed form of linear
models, honest standard errors, the ``tol=`` stopping rule, and reproducibility across seeds,
executors, input types, batch sizes and output selections.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xaikit as xk
from xaikit.testing import ten_feature_game as ten_features

EXACT = xk.ExactShapley
SAMPLED = [xk.KernelShap, xk.LeverageShap, xk.PermutationShap, xk.RegressionAdjustedShap]
ALL = [EXACT, *SAMPLED]
REGRESSION = [xk.KernelShap, xk.LeverageShap, xk.RegressionAdjustedShap]


# --------------------------------------------------------------------------------------
# toy models (module level so that they pickle for worker processes)
# --------------------------------------------------------------------------------------


def two_outputs(X):
    """Nonlinear, with interactions, on 6 columns; two outputs."""
    X = np.asarray(X, dtype=np.float64)
    a = np.sin(X[:, 0] * X[:, 1]) + X[:, 2] * X[:, 3] * X[:, 4] + np.exp(0.3 * X[:, 5]) * X[:, 0]
    b = np.tanh(X[:, 1] - X[:, 2] * X[:, 0]) + 0.5 * X[:, 3] ** 2 + np.cos(X[:, 4] + X[:, 5])
    return np.stack([a, b], axis=1)


def other_two_outputs(X):
    X = np.asarray(X, dtype=np.float64)
    a = np.maximum(X[:, 0] + X[:, 5], 0.0) * X[:, 2] - X[:, 1] * X[:, 4] * X[:, 3]
    b = np.sqrt(1.0 + X[:, 3] ** 2) * X[:, 1] + np.sin(X[:, 0] + X[:, 2] * X[:, 5])
    return np.stack([a, b], axis=1)


def combined_outputs(X):
    """``two_outputs + 2 * other_two_outputs``."""
    return two_outputs(X) + 2.0 * other_two_outputs(X)

def symmetric_in_0_and_1(X):
    """Enters through x0 + x1 and x0 * x1 only, so features 0 and 1 are interchangeable."""
    X = np.asarray(X, dtype=np.float64)
    return np.sin(X[:, 0] + X[:, 1]) * X[:, 2] + X[:, 0] * X[:, 1] * X[:, 3] + X[:, 4] ** 2 - X[:, 5]


def ignores_3(X):
    """Feature 3 is never read."""
    X = np.asarray(X, dtype=np.float64)
    return np.sin(X[:, 0] * X[:, 1]) + X[:, 2] * X[:, 4] * X[:, 5] + np.cos(X[:, 5] - X[:, 0])


def frame_aware_two_outputs(X):
    return two_outputs(np.asarray(X, dtype=np.float64))


D = 6
FULL = 2**D - 2  # every coalition of 6 players but the empty and the full one


def min_budget(d: int, cls=None) -> int:
    """Smallest accepted n_samples: 2(d-1) for permutations, 2d (every singleton pair) for the regressions."""
    if cls is xk.PermutationShap:
        return min(2 * (d - 1), 2**d - 2)
    return min(2 * d, 2**d - 2)


def run(cls, model, X, *, n_samples=None, random_state=0, **init):
    """Explain ``X``; ``n_samples`` and ``random_state`` only for the sampled methods."""
    explainer = cls(model, **init)
    if cls is EXACT:
        return explainer.explain(X)
    return explainer.explain(X, n_samples=n_samples, random_state=random_state)


@pytest.fixture(scope="module")
def data6():
    rng = np.random.default_rng(2024)
    return rng.normal(size=(5, D)), rng.normal(size=(4, D))


# --------------------------------------------------------------------------------------
# efficiency
# --------------------------------------------------------------------------------------


#: (method, n_samples): ExactShapley once, each sampled method at its minimum and a moderate budget.
BUDGETS = [(EXACT, None)] + [(cls, n) for cls in SAMPLED for n in (min_budget(D, cls), 40)]
BUDGET_IDS = [f"{cls.name}-{n}" for cls, n in BUDGETS]


@pytest.mark.parametrize("weighted", [False, True], ids=["uniform", "weighted"])
@pytest.mark.parametrize("cls, n_samples", BUDGETS, ids=BUDGET_IDS)
def test_efficiency(cls, n_samples, weighted, data6):
    bg, X = data6
    w = np.array([1.0, 0.25, 3.0, 2.0, 0.5]) if weighted else np.ones(bg.shape[0])
    masker = xk.TabularMasker(bg, weights=w)
    exp = run(cls, two_outputs, X, n_samples=n_samples, masker=masker)
    fx = two_outputs(X)
    np.testing.assert_allclose(exp.values.sum(axis=1) + exp.base_values, fx, rtol=0, atol=1e-10)
    np.testing.assert_allclose(exp.completeness(), fx, rtol=0, atol=1e-10)
    assert exp.diagnostics["completeness_gap"].shape == (X.shape[0], 2)
    assert np.abs(exp.diagnostics["completeness_gap"]).max() <= 1e-10
    expected_base = (w / w.sum()) @ two_outputs(bg)
    np.testing.assert_allclose(exp.base_values, np.tile(expected_base, (X.shape[0], 1)), rtol=0, atol=1e-12)


# --------------------------------------------------------------------------------------
# symmetry
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def symmetric_data():
    rng = np.random.default_rng(7)
    bg = rng.normal(size=(5, D))
    bg[:, 1] = bg[:, 0]
    X = rng.normal(size=(4, D))
    X[:, 1] = X[:, 0]
    return bg, X


@pytest.mark.parametrize(
    "cls, n_samples", [(EXACT, None), (xk.KernelShap, FULL), (xk.LeverageShap, FULL)], ids=["exact", "kernel", "leverage"]
)
def test_symmetry_exact(cls, n_samples, symmetric_data):
    bg, X = symmetric_data
    exp = run(cls, symmetric_in_0_and_1, X, n_samples=n_samples, background=bg)
    assert np.abs(exp.values[:, 0]).max() > 1e-3  # not trivially zero
    np.testing.assert_allclose(exp.values[:, 0], exp.values[:, 1], rtol=0, atol=1e-10)


@pytest.mark.parametrize("cls", SAMPLED)
def test_symmetry_within_sampling_error(cls, symmetric_data):
    bg, X = symmetric_data
    exp = run(cls, symmetric_in_0_and_1, X, n_samples=400, background=bg)
    se = exp.diagnostics.get("std_err", np.zeros_like(exp.values))  # absent when every coalition was covered
    diff = np.abs(exp.values[:, 0] - exp.values[:, 1])
    assert np.all(diff <= 4 * (se[:, 0] + se[:, 1]) + 1e-10)


# --------------------------------------------------------------------------------------
# dummy
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls, n_samples",
    [
        (EXACT, None),
        (xk.KernelShap, FULL),
        (xk.LeverageShap, FULL),
        (xk.PermutationShap, min_budget(D, xk.PermutationShap)),
        (xk.PermutationShap, 100),
        (xk.PermutationShap, 1000),
    ],
    ids=["exact", "kernel-full", "leverage-full", "permutation-min", "permutation-100", "permutation-1000"],
)
def test_dummy_feature_gets_exactly_zero(cls, n_samples, data6):
    bg, X = data6
    exp = run(cls, ignores_3, X, n_samples=n_samples, background=bg)
    assert np.abs(exp.values[:, 3]).max() <= 1e-12
    assert np.abs(exp.values[:, [0, 1, 2, 4, 5]]).max() > 1e-3


@pytest.mark.parametrize("cls", REGRESSION)
def test_dummy_feature_near_zero_when_sampled(cls):
    rng = np.random.default_rng(8)
    bg = rng.normal(size=(5, 10))
    X = rng.normal(size=(3, 10))

    def padded(Z):  # column 9 is overwritten before ten_features sees it, so it is a dummy
        Z = np.array(Z, dtype=np.float64, copy=True)
        Z[:, 9] = 1.0
        return ten_features(Z)

    exp = run(cls, padded, X, n_samples=200, background=bg)
    se = exp.diagnostics["std_err"][:, 9]
    assert np.all(np.abs(exp.values[:, 9]) <= 4 * se + 1e-10)


# --------------------------------------------------------------------------------------
# linearity
# --------------------------------------------------------------------------------------


#: Linear in the game: every estimator but the regression-adjusted one where its surrogates apply
#: (boosted trees fitted to each game: from 2 d pairs of coalitions on a small background).
LINEAR_BUDGETS = [(cls, n) for cls, n in BUDGETS if not (cls is xk.RegressionAdjustedShap and n is not None and n >= 4 * D)]


@pytest.mark.parametrize("cls, n_samples", LINEAR_BUDGETS, ids=[f"{cls.name}-{n}" for cls, n in LINEAR_BUDGETS])
def test_linearity(cls, n_samples, data6):
    bg, X = data6
    f = run(cls, two_outputs, X, n_samples=n_samples, random_state=3, background=bg)
    g = run(cls, other_two_outputs, X, n_samples=n_samples, random_state=3, background=bg)
    h = run(cls, combined_outputs, X, n_samples=n_samples, random_state=3, background=bg)
    np.testing.assert_allclose(h.values, f.values + 2.0 * g.values, rtol=0, atol=1e-10)
    np.testing.assert_allclose(h.base_values, f.base_values + 2.0 * g.base_values, rtol=0, atol=1e-10)


# --------------------------------------------------------------------------------------
# linear models: phi_j = w_j (x_j - E_w[b_j]) at any budget
# --------------------------------------------------------------------------------------

D_LIN = 10
W_LIN = np.linspace(-2.0, 2.5, D_LIN)


def linear_model(X):
    return np.asarray(X, dtype=np.float64) @ W_LIN + 1.5


@pytest.fixture(scope="module")
def linear_data():
    rng = np.random.default_rng(1)
    bg = rng.normal(size=(6, D_LIN))
    X = rng.normal(size=(3, D_LIN))
    weights = np.array([1.0, 2.0, 0.5, 1.0, 3.0, 0.25])
    return bg, X, weights


def _check_linear_closed_form(cls, n_samples, seeds, linear_data):
    bg, X, weights = linear_data
    expected = W_LIN * (X - (weights / weights.sum()) @ bg)
    for seed in seeds:
        masker = xk.TabularMasker(bg, weights=weights)
        exp = run(cls, linear_model, X, n_samples=n_samples, random_state=seed, masker=masker)
        np.testing.assert_allclose(exp.values[..., 0], expected, rtol=0, atol=1e-8, err_msg=f"seed {seed}")


@pytest.mark.parametrize(
    "cls, n_samples",
    [
        (EXACT, None),
        (xk.PermutationShap, min_budget(D_LIN, xk.PermutationShap)),
        (xk.PermutationShap, 64),
        (xk.PermutationShap, 200),
        (xk.KernelShap, 64),
        (xk.KernelShap, 200),
        (xk.KernelShap, 2**D_LIN - 2),
        (xk.LeverageShap, 64),
        (xk.LeverageShap, 200),
        (xk.LeverageShap, 2**D_LIN - 2),
    ],
)
def test_linear_model_closed_form(cls, n_samples, linear_data):
    _check_linear_closed_form(cls, n_samples, range(10), linear_data)


@pytest.mark.parametrize("cls", REGRESSION)
def test_linear_model_closed_form_at_minimum_budget(cls, linear_data):
    _check_linear_closed_form(cls, min_budget(D_LIN, cls), range(10), linear_data)


@pytest.mark.parametrize("cls", REGRESSION)
def test_std_err_not_overconfident_at_minimum_budget(cls, linear_data):
    bg, X, _ = linear_data
    expected = W_LIN * (X - bg.mean(axis=0))
    for seed in range(10):
        exp = run(cls, linear_model, X, n_samples=min_budget(D_LIN, cls), random_state=seed, background=bg)
        err = np.abs(exp.values[..., 0] - expected)
        se = exp.diagnostics["std_err"][..., 0]
        covered = np.isnan(se) | (err <= 4 * se + 1e-8)
        assert covered.all(), f"seed {seed}: error {err.max():.3g} with std_err {np.nanmax(se):.3g}"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    d=st.integers(1, 5),
    m=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_linear_model_closed_form_random(d, m, seed):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=d)
    bg = rng.normal(size=(m, d))
    X = rng.normal(size=(2, d))
    bw = rng.uniform(0.1, 2.0, size=m)
    expected = w * (X - (bw / bw.sum()) @ bg)
    masker = xk.TabularMasker(bg, weights=bw)
    model = lambda Z: Z @ w - 0.5  # noqa: E731
    exact = xk.ExactShapley(model, masker=masker).explain(X)
    np.testing.assert_allclose(exact.values[..., 0], expected, rtol=0, atol=1e-9)
    perm = xk.PermutationShap(model, masker=masker).explain(X, n_samples=max(2 * (d - 1), 1), random_state=seed)
    np.testing.assert_allclose(perm.values[..., 0], expected, rtol=0, atol=1e-9)
    kern = xk.KernelShap(model, masker=masker).explain(X, n_samples=max(2**d - 2, 1), random_state=seed)
    np.testing.assert_allclose(kern.values[..., 0], expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("cls", ALL)
def test_integer_weights_equal_repeated_background_rows(cls, data6):
    bg, X = data6
    counts = np.array([1, 3, 2, 1, 4])
    # with every coalition evaluated (62 = 2**6 - 2; permutations: all orders are not, so exact only for the others)
    budget = 62
    weighted = run(cls, two_outputs, X, n_samples=budget, masker=xk.TabularMasker(bg, weights=counts))
    repeated = run(cls, two_outputs, X, n_samples=budget, background=np.repeat(bg, counts, axis=0))
    np.testing.assert_allclose(weighted.base_values, repeated.base_values, rtol=0, atol=1e-12)
    if cls is not xk.PermutationShap:
        np.testing.assert_allclose(weighted.values, repeated.values, rtol=0, atol=1e-12)


@pytest.mark.parametrize("cls", SAMPLED)
def test_integer_weights_and_repeated_rows_agree_within_std_err(cls, data6):
    # sampled per background row, a row repeated c times gets c designs where a row of weight c
    # gets one: two unbiased estimates of the same values, which must agree within their errors
    bg, X = data6
    counts = np.array([1, 3, 2, 1, 4])
    weighted = run(cls, two_outputs, X, n_samples=40, masker=xk.TabularMasker(bg, weights=counts))
    repeated = run(cls, two_outputs, X, n_samples=40, background=np.repeat(bg, counts, axis=0))
    se = np.hypot(weighted.diagnostics["std_err"], repeated.diagnostics["std_err"])
    assert np.isfinite(se).all() and se.max() > 0
    assert (np.abs(weighted.values - repeated.values) <= 4 * se + 1e-9).all()


# --------------------------------------------------------------------------------------
# standard errors
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ten_feature_data():
    rng = np.random.default_rng(1)
    bg = rng.normal(size=(6, 10))
    X = rng.normal(size=(3, 10))
    exact = xk.ExactShapley(ten_features, background=bg).explain(X).values
    return bg, X, exact


@pytest.mark.parametrize("cls", SAMPLED)
def test_std_err_is_honest(cls, ten_feature_data):
    bg, X, exact = ten_feature_data
    covered = []
    for seed in range(40):
        exp = cls(ten_features, background=bg).explain(X, n_samples=400, random_state=seed)
        err = np.abs(exp.values - exact)
        se = exp.diagnostics["std_err"]
        assert np.isfinite(se).all() and (se >= 0).all()
        # an entry whose standard error is (numerically) zero counts only if it is exact
        covered.append(np.where(se <= 1e-12, err <= 1e-10, err <= 2 * se))
    rate = np.mean(covered)
    assert rate >= 0.9, rate


@pytest.mark.parametrize("cls", SAMPLED)
def test_std_err_shrinks_with_budget(cls, ten_feature_data):
    bg, X, _ = ten_feature_data
    means = []
    for n_samples in (100, 400, 900):
        ses = [
            cls(ten_features, background=bg).explain(X, n_samples=n_samples, random_state=s).diagnostics["std_err"]
            for s in range(4)
        ]
        means.append(float(np.mean(ses)))
    assert means[1] < 0.8 * means[0], means
    assert means[2] < 0.8 * means[1], means


@pytest.mark.parametrize(
    "cls, tol, max_budget", [(xk.KernelShap, 0.1, 1000), (xk.LeverageShap, 0.1, 1000), (xk.PermutationShap, 0.2, 2000)]
)
def test_tol_stops_early(cls, tol, max_budget, ten_feature_data):
    bg, X, exact = ten_feature_data
    exp = cls(ten_features, background=bg).explain(X, n_samples=max_budget, tol=tol, random_state=0)
    calls = exp.diagnostics["n_model_calls"]
    assert np.all(calls <= 0.6 * max_budget), calls
    assert np.nanmax(exp.diagnostics["std_err"]) <= tol
    assert np.all(np.isfinite(exp.diagnostics["std_err"]))
    full = cls(ten_features, background=bg).explain(X, n_samples=max_budget, random_state=0)
    assert np.all(full.diagnostics["n_model_calls"] > calls)
    # efficiency still holds and the answer is still an estimate of the right thing
    np.testing.assert_allclose(exp.completeness(), ten_features(X)[:, None], rtol=0, atol=1e-10)
    assert np.abs(exp.values - exact).max() < 6 * tol


@pytest.mark.parametrize(
    "cls",
    [*REGRESSION, xk.PermutationShap],
)
def test_tol_never_exceeds_the_budget(cls):
    rng = np.random.default_rng(3)
    d = 12
    bg = rng.normal(size=(4, d))
    X = rng.normal(size=(3, d))

    def f(Z):
        return ten_features(Z[:, :10]) + Z[:, 10] * Z[:, 11] * Z[:, 0]

    for n_samples in (200, 600):
        exp = cls(f, background=bg).explain(X, n_samples=n_samples, tol=1e-9, random_state=0)
        calls = exp.diagnostics["n_model_calls"]
        assert np.all(calls <= n_samples), (n_samples, calls.tolist())


# --------------------------------------------------------------------------------------
# reproducibility
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", SAMPLED)
def test_same_seed_same_values_different_seed_different_values(cls, data6):
    bg, X = data6
    a = cls(two_outputs, background=bg).explain(X, n_samples=40, random_state=5)
    b = cls(two_outputs, background=bg).explain(X, n_samples=40, random_state=5)
    c = cls(two_outputs, background=bg).explain(X, n_samples=40, random_state=6)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.diagnostics["std_err"], b.diagnostics["std_err"])
    assert not np.array_equal(a.values, c.values)
    assert not np.array_equal(a.diagnostics["std_err"], c.diagnostics["std_err"])


def test_processes_equal_serial(data6):
    bg, X = data6
    with xk.LocalExecutor(2) as pool:
        for cls in ALL:
            serial = run(cls, two_outputs, X, n_samples=40, background=bg)
            kw = {} if cls is EXACT else {"n_samples": 40, "random_state": 0}
            parallel = cls(two_outputs, background=bg).explain(X, executor=pool, **kw)
            np.testing.assert_array_equal(serial.values, parallel.values)
            np.testing.assert_array_equal(serial.diagnostics.get("std_err"), parallel.diagnostics.get("std_err"))
            np.testing.assert_array_equal(serial.diagnostics["n_model_calls"], parallel.diagnostics["n_model_calls"])
    by_name = xk.KernelShap(two_outputs, background=bg).explain(
        X, n_samples=40, random_state=0, executor="processes:2"
    )
    np.testing.assert_array_equal(by_name.values, run(xk.KernelShap, two_outputs, X, n_samples=40, background=bg).values)


@pytest.mark.parametrize("cls", ALL)
def test_dataframe_input_equals_array_input(cls, data6):
    pd = pytest.importorskip("pandas")
    bg, X = data6
    cols = ["age", "income", "height", "weight", "score", "rate"]
    arr = run(cls, frame_aware_two_outputs, X, n_samples=40, background=bg)
    both_frames = run(
        cls, frame_aware_two_outputs, pd.DataFrame(X, columns=cols), n_samples=40,
        background=pd.DataFrame(bg, columns=cols),
    )
    frame_rows = run(
        cls, frame_aware_two_outputs, pd.DataFrame(X, columns=[f"x{j}" for j in range(D)]), n_samples=40,
        background=bg,
    )
    np.testing.assert_array_equal(arr.values, both_frames.values)
    np.testing.assert_array_equal(arr.base_values, both_frames.base_values)
    np.testing.assert_array_equal(arr.values, frame_rows.values)
    assert both_frames.feature_names == cols


@pytest.mark.parametrize("cls", ALL)
def test_batch_size_does_not_change_values(cls, data6):
    bg, X = data6
    default = run(cls, two_outputs, X, n_samples=40, background=bg)
    explainer = cls(two_outputs, background=bg)
    kw = {} if cls is EXACT else {"n_samples": 40, "random_state": 0}
    for batch_size in (7, 1, 23):
        small = explainer.explain(X, batch_size=batch_size, **kw)
        np.testing.assert_array_equal(default.values, small.values)
        np.testing.assert_array_equal(default.diagnostics.get("std_err"), small.diagnostics.get("std_err"))


@pytest.mark.parametrize("cls", ALL)
def test_target_selection_equals_slicing(cls, data6):
    bg, X = data6
    full = run(cls, two_outputs, X, n_samples=40, background=bg)
    explainer = cls(two_outputs, background=bg)
    kw = {} if cls is EXACT else {"n_samples": 40, "random_state": 0}
    for target, idx in ((1, [1]), (-2, [0]), ([1, 0], [1, 0]), ("output1", [1]), (["output0"], [0])):
        part = explainer.explain(X, target=target, **kw)
        np.testing.assert_array_equal(part.values, full.values[..., idx])
        np.testing.assert_array_equal(part.base_values, full.base_values[:, idx])
        if cls is EXACT:  # exact: no standard errors at all
            assert "std_err" not in part.diagnostics and "std_err" not in full.diagnostics
        else:
            np.testing.assert_array_equal(part.diagnostics["std_err"], full.diagnostics["std_err"][..., idx])
        assert part.output_names == [full.output_names[i] for i in idx]


def test_target_by_class_name_for_a_classifier():
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    Xtr = rng.normal(size=(80, 4))
    y = np.where(Xtr[:, 0] + Xtr[:, 1] * Xtr[:, 2] > 0, "yes", "no")
    model = LogisticRegression().fit(Xtr, y)
    bg, X = Xtr[:5], Xtr[10:13]
    full = xk.ExactShapley(model, background=bg).explain(X)
    assert full.output_names == ["no", "yes"]
    yes = xk.ExactShapley(model, background=bg).explain(X, target="yes")
    np.testing.assert_array_equal(yes.values, full.values[..., [1]])
    np.testing.assert_allclose(full.values.sum(axis=1) + full.base_values, model.predict_proba(X), atol=1e-10)


def test_auto_picks_exact_for_few_features(data6):
    bg, X = data6
    auto = xk.explain(two_outputs, X, background=bg)
    exact = xk.ExactShapley(two_outputs, background=bg).explain(X)
    assert auto.method == "exact_shapley"
    np.testing.assert_array_equal(auto.values, exact.values)


# --------------------------------------------------------------------------------------
# import cost
# --------------------------------------------------------------------------------------


def test_import_does_not_load_heavy_optional_dependencies():
    heavy = ["torch", "tensorflow", "matplotlib", "dask", "numba", "scipy", "pandas", "sklearn"]
    code = (
        "import json, sys; import xaikit; "
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == [], loaded
