"""Friedman's H-statistic: how much of the model's variation comes from interactions.

Friedman & Popescu (2008), "Predictive learning via rule ensembles", section 8, with every
function centred to mean zero over the rows:

* pairwise (their eq. 44): ``H^2_jk = sum_i [PD_jk(x_ij, x_ik) - PD_j(x_ij) - PD_k(x_ik)]^2 / sum_i PD_jk(x_ij, x_ik)^2``,
  the share of the joint effect of ``j`` and ``k`` that is not the sum of their own effects;
* overall (eq. 46): ``H^2_j = sum_i [f(x_i) - PD_j(x_ij) - PD_-j(x_i,-j)]^2 / sum_i f(x_i)^2``,
  the share of the model's variance that comes from interactions of ``j`` with any other feature.

This module reports ``H^2`` (not its square root ``H``): 0 when there is no interaction, at most 1
in the usual cases (it can exceed 1 when effects cancel). All partial dependences are evaluated
*at the data points* of the ``n_max`` rows sampled (seeded), which costs ``n^2`` model rows per
feature and per pair.

What is shared with :class:`~xaikit.explainers.global_.partial_dependence.PartialDependence`:
``PD_j`` and ``PD_-j`` both come from one matrix per feature, the ICE curves of the rows over the
feature's distinct values, ``f(x_r with x_j := x_ij)``. That matrix is exactly what
``PartialDependence`` computes (brute) on the same rows when the feature's grid is its distinct
values (a categorical feature, or ``grid_resolution`` above the number of distinct values), and the
two keep it in one in-process cache keyed by the model, the data and the grid: asking for partial
dependence and then H, or H twice, costs no second pass over these calls. The pairwise
``PD_jk`` at the data points are cached the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np

from xaikit._validation import check_int, check_random_state, describe
from xaikit.errors import InvalidParameterError
from xaikit.explainers.base import output_names, select_outputs
from xaikit.explainers.global_.partial_dependence import (
    DEFAULT_BATCH_ROWS,
    PartialDependence,
    Table,
    _resolve_feature,
    cache_get,
    cache_put,
    grid_from_values,
    ice_key,
    make_table,
    model_key,
    predict_stacked,
    probe_index,
)
from xaikit.models import adapt
from xaikit.models.base import evaluating

__all__ = ["h_statistic"]


def _pair_job(item: tuple[Any, Table, list[int], list[np.ndarray], int]) -> np.ndarray:
    """The mean prediction ``(u, n_outputs)`` over the rows at each of ``u`` value pairs."""
    model, table, cols, values, batch_rows = item
    with evaluating(f"copies of the rows with {'/'.join(table.names[c] for c in cols)} set to the rows' own pairs"):
        return predict_stacked(model, table, cols, values, batch_rows).mean(axis=0)  # type: ignore[no-any-return]


def _share(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, 0 where the denominator vanishes (no effect at all, hence no interaction)."""
    tiny = 1e-300
    out = np.zeros_like(num)
    ok = den > tiny
    out[ok] = num[ok] / den[ok]
    return out


def _discretize(column: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Each value moved to its nearest grid value."""
    pos = np.clip(np.searchsorted(grid, column), 1, len(grid) - 1)
    lower, upper = grid[pos - 1], grid[pos]
    return np.where(np.abs(column - lower) <= np.abs(upper - column), lower, upper)


def h_statistic(
    model: Any,
    X: Any,
    *,
    features: Sequence[int | str] | None = None,
    pairs: bool | Sequence[tuple[int | str, int | str]] = True,
    n_max: int = 500,
    grid: str | int = "data",
    categorical_features: Sequence[int | str] | None = None,
    target: Any = None,
    output: str = "auto",
    batch_size: int | None = None,
    random_state: Any = None,
    executor: Any = "auto",
) -> dict[str, Any]:
    """Friedman's ``H^2`` per feature (overall) and per pair, from partial dependences at the data points.

    Parameters
    ----------
    model : estimator, Pipeline, callable or adapted model
    X : array-like (n, d) or DataFrame
    features : list of int or str, optional
        Features whose overall ``H^2`` is computed (and among which pairs are formed); default all.
    pairs : bool or list of (feature, feature)
        True: every pair of ``features``; False: none; or the pairs to compute.
    n_max : int
        At most this many rows are used (sampled without replacement, seeded by ``random_state``).
    grid : "data" or int
        ``"data"``: partial dependences at the rows' own values (Friedman & Popescu). An int ``k``:
        each numeric feature is first moved to the nearest point of its ``k``-point partial
        dependence grid (as :class:`PartialDependence` builds it), which bounds the cost for
        continuous features; the statistic is then exact for the model on those rows.
    categorical_features : list of int or str, optional
        Features never moved to a grid (columns that are not numbers never are).
    target : int, str or list, optional
        Outputs (index or name); all by default.
    output : {"auto", "probability", "log_odds", "raw"}
    batch_size : int, optional
        The most model input rows per model call.
    random_state : None, int, Generator or SeedSequence
    executor : "auto", "serial", "threads[:N]", "processes[:N]" or Executor

    Returns
    -------
    dict
        ``statistic`` ("H^2"), ``features`` (names), ``overall`` (n_features, n_outputs), ``pairs``
        (list of name pairs), ``pairwise`` (n_pairs, n_outputs), ``matrix`` (n_features, n_features,
        n_outputs; NaN where not computed, the diagonal the overall values), ``output_names``,
        ``rows`` (the positions of the rows used), ``n_model_calls`` (model input rows predicted;
        0 for what came from the cache).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(60, 3))
    >>> h = h_statistic(lambda X: X[:, 0] * X[:, 1] + X[:, 2], X)
    >>> h["pairs"]
    [('x0', 'x1'), ('x0', 'x2'), ('x1', 'x2')]
    >>> bool(h["pairwise"][0, 0] > 0.5), bool(abs(h["pairwise"][1, 0]) < 1e-12), bool(abs(h["overall"][2, 0]) < 1e-12)
    (True, True, True)
    """
    adapted = adapt(model, output=output)
    table = make_table(X, adapted)
    n_max = check_int(n_max, "n_max", minimum=2)
    seed = check_random_state(random_state)
    batch_rows = DEFAULT_BATCH_ROWS if batch_size is None else check_int(batch_size, "batch_size", minimum=1)
    if not (grid == "data" or (isinstance(grid, (int, np.integer)) and not isinstance(grid, bool) and grid >= 2)):
        raise InvalidParameterError(f"grid: expected 'data' or an int >= 2 (grid points per numeric feature), got {describe(grid)}")
    names = table.names
    if features is None:
        feats = list(range(table.n_features))
    elif isinstance(features, (str, bytes)) or not isinstance(features, Sequence):
        raise InvalidParameterError(f"features: expected a list of feature indices or names, or None, got {describe(features)}")
    else:
        feats = list(dict.fromkeys(_resolve_feature(f, names, "features") for f in features))
    if not feats:
        raise InvalidParameterError("features: expected at least one feature, got none")
    pair_cols: list[tuple[int, int]]
    if pairs is True:
        pair_cols = [(a, b) for a, b in combinations(feats, 2)]
    elif pairs is False:
        pair_cols = []
    elif isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence):
        raise InvalidParameterError(f"pairs: expected True, False or a list of (feature, feature) pairs, got {describe(pairs)}")
    else:
        pair_cols = []
        for i, given in enumerate(pairs):
            if isinstance(given, (str, bytes)) or not isinstance(given, Sequence) or len(given) != 2:
                raise InvalidParameterError(f"pairs[{i}]: expected a (feature, feature) pair, got {describe(given)}")
            a, b = _resolve_feature(given[0], names, f"pairs[{i}]"), _resolve_feature(given[1], names, f"pairs[{i}]")
            if a == b:
                raise InvalidParameterError(f"pairs[{i}]: expected two different features, got {names[a]!r} twice")
            pair_cols.append((a, b))
    wanted = list(dict.fromkeys(feats + [c for p in pair_cols for c in p]))
    categorical = {j for j in range(table.n_features) if not table.numeric[j]}
    for f in categorical_features or ():
        categorical.add(_resolve_feature(f, names, "categorical_features"))

    # the rows: at most n_max, then (grid=k) numeric features moved to their grid
    n = table.n_rows
    rows = np.arange(n) if n <= n_max else np.sort(np.random.default_rng(seed).choice(n, size=n_max, replace=False))
    sample = table.rows(rows)
    if grid != "data":
        data = sample.data.copy()
        for j in wanted:
            if j in categorical:
                continue
            col = sample.column(j)
            points = grid_from_values(col, categorical=False, grid_resolution=int(grid), percentiles=(0.05, 0.95), name=names[j])
            moved = _discretize(col, np.asarray(points, dtype=np.float64))
            if sample.is_frame:
                data.iloc[:, j] = moved
            else:
                data[:, j] = moved
        sample = Table(data, sample.names, sample.numeric)

    # the shared matrices: ICE curves of every row over each feature's distinct values
    pd_method = PartialDependence(adapted, features=wanted, kind="individual", method="brute", categorical_features=wanted)
    pd_method._raw_model = model  # the cache knows the model by the caller's object
    ice = pd_method.explain(sample.data, batch_size=batch_size, executor=executor)
    calls = int(ice.diagnostics["n_model_calls"])
    o_all = ice.n_outputs
    outputs, out_names = select_outputs(target, output_names(adapted.output_names, o_all))
    position = {j: t for t, j in enumerate(wanted)}
    codes: dict[int, np.ndarray] = {}
    curves: dict[int, np.ndarray] = {}
    for j in wanted:
        col = sample.column(j)
        uniques = np.unique(col)
        codes[j] = np.searchsorted(uniques, col)
        part = ice.term(position[j])
        curves[j] = part["individual"][:, :, outputs]  # (n, g_j, o)
    first = wanted[0]
    m = sample.n_rows
    f = curves[first][np.arange(m), codes[first]]  # f(x_i), (n, o)
    f = f - f.mean(axis=0)

    def centred(a: np.ndarray) -> np.ndarray:
        return a - a.mean(axis=0)

    pd_one = {j: centred(curves[j].mean(axis=0)[codes[j]]) for j in wanted}  # PD_j(x_ij)
    overall = np.zeros((len(feats), len(outputs)))
    for t, j in enumerate(feats):
        pd_rest = centred(curves[j][:, codes[j], :].mean(axis=1))  # PD_-j(x_i): row i with x_j from every row
        overall[t] = _share(((f - pd_one[j] - pd_rest) ** 2).sum(axis=0), (f**2).sum(axis=0))

    # pairs: PD_jk at the rows' own pairs of values
    probe = adapted.predict(sample.rows(probe_index(sample.n_rows)).data)
    calls += probe.shape[0]
    mkey = model_key(model, probe)
    digest = sample.digest()
    jobs, keys, pair_values, inverse = [], [], [], []
    found: dict[int, np.ndarray] = {}
    for p, (a, b) in enumerate(pair_cols):
        both = np.stack([codes[a], codes[b]], axis=1)
        unique_pairs, inv = np.unique(both, axis=0, return_inverse=True)
        inverse.append(inv.reshape(-1))
        ua, ub = np.unique(sample.column(a)), np.unique(sample.column(b))
        values = [ua[unique_pairs[:, 0]], ub[unique_pairs[:, 1]]]
        pair_values.append(values)
        key = ice_key(mkey, digest, [a, b], np.stack([np.asarray(v, dtype=object) for v in values], axis=1))
        keys.append(key)
        hit = cache_get(key)
        if hit is not None:
            found[p] = hit
        else:
            jobs.append(p)
    if jobs:
        from xaikit.explainers.base import executor_scope

        with executor_scope(executor) as ex:
            items = [(adapted, sample, list(pair_cols[p]), pair_values[p], batch_rows) for p in jobs]
            results = list(ex.map(_pair_job, items))
        for p, res in zip(jobs, results):
            found[p] = res
            cache_put(keys[p], res)
            calls += sample.n_rows * len(pair_values[p][0])
    pairwise = np.zeros((len(pair_cols), len(outputs)))
    for p, (a, b) in enumerate(pair_cols):
        pd_jk = centred(found[p][:, outputs][inverse[p]])
        pairwise[p] = _share(((pd_jk - pd_one[a] - pd_one[b]) ** 2).sum(axis=0), (pd_jk**2).sum(axis=0))
    matrix = np.full((len(feats), len(feats), len(outputs)), np.nan)
    index = {j: t for t, j in enumerate(feats)}
    for t in range(len(feats)):
        matrix[t, t] = overall[t]
    for p, (a, b) in enumerate(pair_cols):
        if a in index and b in index:
            matrix[index[a], index[b]] = matrix[index[b], index[a]] = pairwise[p]
    return {
        "statistic": "H^2",
        "features": [names[j] for j in feats],
        "overall": overall,
        "pairs": [(names[a], names[b]) for a, b in pair_cols],
        "pairwise": pairwise,
        "matrix": matrix,
        "output_names": out_names,
        "rows": rows,
        "grid": grid,
        "n_model_calls": calls,
    }
