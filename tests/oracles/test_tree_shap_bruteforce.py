"""TreeShap against brute-force enumeration of the trees' games, on random ensembles.

The random ensembles repeat features along paths, mix categorical and numeric splits, send
missing values either way and have several outputs, so every branch of the kernels is exercised.
The oracle enumerates all coalitions of the game written here from its definition:

* path-dependent: ``v(S)`` = expectation of the tree when features outside ``S`` follow the cover;
* interventional: ``v(S)`` = mean over background rows of the ensemble on ``(x_S, b_-S)``.
"""

from __future__ import annotations

import itertools
from math import factorial

import numpy as np
import pytest

import xaikit as xk
from xaikit.models.trees import TreeEnsemble

pytestmark = pytest.mark.oracle


def random_ensemble(
    rng: np.random.Generator,
    *,
    n_trees: int = 3,
    max_depth: int = 4,
    n_features: int = 5,
    n_outputs: int = 1,
    categorical_features: tuple[int, ...] = (),
    strict: bool = False,
) -> TreeEnsemble:
    left: list[int] = []
    right: list[int] = []
    feature: list[int] = []
    threshold: list[float] = []
    cover: list[float] = []
    value: list[np.ndarray] = []
    missing_left: list[bool] = []
    categorical: list[bool] = []
    cat_offset: list[int] = []
    cat_len: list[int] = []
    cat_bits: list[int] = []
    roots = []

    def new_node(c: float) -> int:
        left.append(-1)
        right.append(-1)
        feature.append(-1)
        threshold.append(0.0)
        cover.append(c)
        value.append(np.zeros(n_outputs))
        missing_left.append(False)
        categorical.append(False)
        cat_offset.append(0)
        cat_len.append(0)
        return len(left) - 1

    def grow(node: int, depth: int) -> None:
        if depth >= max_depth or (depth > 0 and rng.random() < 0.25):
            value[node] = rng.normal(size=n_outputs) * (rng.random(n_outputs) < 0.8)
            return
        f = int(rng.integers(n_features))
        feature[node] = f
        missing_left[node] = bool(rng.random() < 0.5)
        if f in categorical_features:
            categorical[node] = True
            bits = int(rng.integers(1, 2**6 - 1))
            cat_offset[node] = len(cat_bits)
            cat_len[node] = 1
            cat_bits.append(bits)
        else:
            threshold[node] = float(rng.choice([-0.5, 0.0, 0.5]))
        share = float(rng.uniform(0.1, 0.9))
        lc = new_node(cover[node] * share)
        rc = new_node(cover[node] * (1 - share))
        left[node] = lc
        right[node] = rc
        grow(lc, depth + 1)
        grow(rc, depth + 1)

    for _ in range(n_trees):
        root = new_node(float(rng.uniform(50, 100)))
        roots.append(root)
        grow(root, 0)
    return TreeEnsemble.from_arrays(
        roots=roots, left=left, right=right, feature=feature, threshold=threshold, value=np.array(value),
        cover=cover, n_features=n_features, missing_left=missing_left, categorical=categorical,
        cat_offset=cat_offset, cat_len=cat_len, cat_bits=cat_bits, base_offset=rng.normal(size=n_outputs),
        strict=strict,
    )


def random_rows(rng: np.random.Generator, n: int, d: int, categorical_features: tuple[int, ...] = ()) -> np.ndarray:
    X = rng.choice([-1.0, -0.5, 0.0, 0.3, 0.5, 1.0], size=(n, d))
    for f in categorical_features:
        X[:, f] = rng.integers(0, 7, size=n)  # category 6 is never in a 6-bit set: goes right
    X[rng.random((n, d)) < 0.15] = np.nan
    return X


def goes_left(ens: TreeEnsemble, node: int, x: float) -> bool:
    if np.isnan(x):
        return bool(ens.missing_left[node])
    if ens.categorical[node]:
        return bool((int(ens.cat_bits[ens.cat_offset[node]]) >> int(x)) & 1)
    return x < ens.threshold[node] if ens.strict else x <= ens.threshold[node]


def path_game(ens: TreeEnsemble, x: np.ndarray, S: set[int]) -> np.ndarray:
    def walk(node: int) -> np.ndarray:
        if ens.left[node] < 0:
            return ens.value[node]
        f = int(ens.feature[node])
        lc, rc = int(ens.left[node]), int(ens.right[node])
        if f in S:
            return walk(lc if goes_left(ens, node, x[f]) else rc)
        c = ens.cover[node]
        if c == 0:  # no training row reached the node: both children weigh 0 (as CatBoost's own values too)
            return np.zeros_like(ens.value[node])
        return (ens.cover[lc] * walk(lc) + ens.cover[rc] * walk(rc)) / c

    return ens.base_offset + sum(walk(int(r)) for r in ens.roots)


def interventional_game(ens: TreeEnsemble, x: np.ndarray, bg: np.ndarray, S: set[int]) -> np.ndarray:
    hybrid = bg.copy()
    for f in S:
        hybrid[:, f] = x[f]
    return ens.predict_raw(hybrid).mean(axis=0)


def shapley_by_enumeration(game, d: int) -> np.ndarray:
    table = {S: game(set(S)) for r in range(d + 1) for S in itertools.combinations(range(d), r)}
    phi = np.zeros((d, len(table[()])))
    for i in range(d):
        others = [j for j in range(d) if j != i]
        for r in range(d):
            w = factorial(r) * factorial(d - r - 1) / factorial(d)
            for S in itertools.combinations(others, r):
                phi[i] += w * (table[tuple(sorted(S + (i,)))] - table[S])
    return phi


def check_against_enumeration(ens: TreeEnsemble, X: np.ndarray, rows: int = 4, bg_rows: int = 12) -> None:
    """TreeSHAP of a parsed model (path-dependent, and interventional over the ``bg_rows`` rows after the
    first ``rows``) on the first ``rows`` rows of ``X`` against enumeration of the same ensemble, to 1e-10,
    and additivity to the ensemble's margin. Used by the parser tests of every tree library."""
    Xp = ens.prepare(X)  # the marker of a MarkedTreeEnsemble is NaN from here on
    d = ens.n_features
    path = xk.TreeShap(ens).explain(X[:rows])
    bg = X[rows : rows + bg_rows]
    inter = xk.TreeShap(ens, background=bg).explain(X[:rows])
    exact = {"rtol": 1e-10, "atol": 1e-10}
    for i in range(rows):
        x = Xp[i]
        np.testing.assert_allclose(path.values[i], shapley_by_enumeration(lambda S, x=x: path_game(ens, x, S), d), **exact)
        want = shapley_by_enumeration(lambda S, x=x: interventional_game(ens, x, ens.prepare(bg), S), d)
        np.testing.assert_allclose(inter.values[i], want, **exact)
    for exp in (path, inter):
        np.testing.assert_allclose(exp.values.sum(axis=1) + exp.base_values, ens.predict_raw(X[:rows]), **exact)


def interactions_by_enumeration(game, d: int) -> np.ndarray:
    table = {S: game(set(S)) for r in range(d + 1) for S in itertools.combinations(range(d), r)}

    def v(*parts: tuple[int, ...]) -> np.ndarray:
        return table[tuple(sorted(set().union(*parts)))]

    o = len(table[()])
    out = np.zeros((d, d, o))
    for i, j in itertools.combinations(range(d), 2):
        others = [k for k in range(d) if k not in (i, j)]
        total = np.zeros(o)
        for r in range(d - 1):
            w = factorial(r) * factorial(d - r - 2) / (2 * factorial(d - 1))
            for S in itertools.combinations(others, r):
                total += w * (v(S, (i, j)) - v(S, (i,)) - v(S, (j,)) + v(S))
        out[i, j] = out[j, i] = total
    phi = shapley_by_enumeration(game, d)
    for i in range(d):
        out[i, i] = phi[i] - out[i].sum(axis=0) + out[i, i]
    return out


CASES = [
    {"n_trees": 3, "max_depth": 4, "n_features": 5, "n_outputs": 1},
    {"n_trees": 2, "max_depth": 6, "n_features": 4, "n_outputs": 2},  # deep paths, features repeat a lot
    {"n_trees": 4, "max_depth": 3, "n_features": 6, "n_outputs": 3, "categorical_features": (1, 4)},
    {"n_trees": 2, "max_depth": 5, "n_features": 5, "n_outputs": 1, "strict": True},
    {"n_trees": 1, "max_depth": 1, "n_features": 3, "n_outputs": 1},
    {"n_trees": 1, "max_depth": 11, "n_features": 5, "n_outputs": 1},  # 6 quadrature nodes, long paths
    # paths with more than 8 distinct features: interventional values walk the tree per background row
    # instead of using per-leaf tables; shallower trees of the same ensemble use the tables
    {"n_trees": 3, "max_depth": 10, "n_features": 10, "n_outputs": 1},
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_path_dependent_equals_enumeration(case: int) -> None:
    rng = np.random.default_rng(100 + case)
    spec = CASES[case]
    ens = random_ensemble(rng, **spec)
    X = random_rows(rng, 6, spec["n_features"], spec.get("categorical_features", ()))
    exp = xk.TreeShap(ens).explain(X)
    for r in range(X.shape[0]):
        truth = shapley_by_enumeration(lambda S, r=r: path_game(ens, X[r], S), spec["n_features"])
        np.testing.assert_allclose(exp.values[r], truth, rtol=0, atol=1e-10)
    np.testing.assert_allclose(exp.base_values[0], path_game(ens, X[0], set()), atol=1e-10)
    np.testing.assert_allclose(exp.completeness(), ens.predict_raw(X), atol=1e-10)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_interventional_equals_enumeration(case: int) -> None:
    rng = np.random.default_rng(200 + case)
    spec = CASES[case]
    ens = random_ensemble(rng, **spec)
    cats = spec.get("categorical_features", ())
    X = random_rows(rng, 5, spec["n_features"], cats)
    bg = random_rows(rng, 7, spec["n_features"], cats)
    exp = xk.TreeShap(ens, background=bg).explain(X)
    for r in range(X.shape[0]):
        truth = shapley_by_enumeration(lambda S, r=r: interventional_game(ens, X[r], bg, S), spec["n_features"])
        np.testing.assert_allclose(exp.values[r], truth, rtol=0, atol=1e-10)
    np.testing.assert_allclose(exp.completeness(), ens.predict_raw(X), atol=1e-10)
    np.testing.assert_allclose(exp.base_values[0], ens.predict_raw(bg).mean(axis=0), atol=1e-12)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_interactions_equal_enumeration(case: int) -> None:
    rng = np.random.default_rng(300 + case)
    spec = CASES[case]
    ens = random_ensemble(rng, **spec)
    X = random_rows(rng, 4, spec["n_features"], spec.get("categorical_features", ()))
    inter = xk.TreeShap(ens).interactions(X)
    for r in range(X.shape[0]):
        truth = interactions_by_enumeration(lambda S, r=r: path_game(ens, X[r], S), spec["n_features"])
        np.testing.assert_allclose(inter.values[r], truth, rtol=0, atol=1e-10)
    np.testing.assert_allclose(inter.to_attribution().values, xk.TreeShap(ens).explain(X).values, atol=1e-10)


@pytest.mark.parametrize("link", ["logistic", "exp"])
def test_probability_output_rescales_margin_values_per_background_row(link: str) -> None:
    rng = np.random.default_rng(7)
    spec = {"n_trees": 3, "max_depth": 3, "n_features": 4, "n_outputs": 1}
    base = random_ensemble(rng, **spec)
    ens = TreeEnsemble(**{**base.__dict__, "transform": link, "_depths": None})
    X = random_rows(rng, 3, 4)
    bg = random_rows(rng, 5, 4)
    rescaled = "probability_rescaled" if link == "logistic" else "response_rescaled"
    exp = xk.TreeShap(ens, background=bg, output=rescaled).explain(X)
    assert exp.diagnostics["value_definition"]["rescaled"] is True
    if link == "logistic":
        sig = lambda m: 1 / (1 + np.exp(-m))
        slope_at = lambda m: sig(m) * (1 - sig(m))
    else:
        sig = np.exp
        slope_at = np.exp
    for r in range(3):
        expected = np.zeros((4, 1))
        for b in range(5):
            margin = shapley_by_enumeration(lambda S, r=r, b=b: interventional_game(ens, X[r], bg[b : b + 1], S), 4)
            fx, fb = ens.predict_raw(X[r : r + 1])[0], ens.predict_raw(bg[b : b + 1])[0]
            same = abs(fx - fb) < 1e-12  # the limit: the slope of the link
            slope = slope_at(fx) if same else (sig(fx) - sig(fb)) / (fx - fb)
            expected += margin * slope / 5
        np.testing.assert_allclose(exp.values[r], expected, atol=1e-10)
    np.testing.assert_allclose(exp.completeness(), sig(ens.predict_raw(X)), atol=1e-10)


def test_interventional_mixes_per_leaf_tables_and_walks() -> None:
    """An ensemble where some trees have paths with more than 8 distinct features (walked per background
    row) and others not (per-leaf tables): the sum is still the exact Shapley value."""
    from xaikit.explainers.trees import _kernels as kernels

    spec = {"n_trees": 4, "max_depth": 10, "n_features": 10, "n_outputs": 2}
    for seed in range(50):
        rng = np.random.default_rng(seed)
        ens = random_ensemble(rng, **spec)
        bg = random_rows(rng, 6, 10)
        flags = np.ascontiguousarray(ens.decision_paths(bg).T)
        use = kernels.leaf_mask_plan(ens.roots, ens.left, ens.right, ens.feature, flags, 8)[0]
        if use.any() and not use.all():
            break
    else:  # pragma: no cover - the generator always yields a mix within a few seeds
        pytest.fail("no ensemble mixing shallow and deep trees was generated")
    X = random_rows(rng, 3, 10)
    exp = xk.TreeShap(ens, background=bg).explain(X)
    for r in range(X.shape[0]):
        truth = shapley_by_enumeration(lambda S, r=r: interventional_game(ens, X[r], bg, S), 10)
        np.testing.assert_allclose(exp.values[r], truth, rtol=0, atol=1e-10)
