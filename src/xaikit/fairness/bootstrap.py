"""Bootstrap sums of weighted rows by key, all resamples at once.

Every group metric is a ratio of sums of weights over the rows of a group (confusion cells, score
bins), so a bootstrap resample needs only those sums: :func:`bootstrap_sums` draws the resampled row
indices of each resample, counts how often each row is drawn, and adds the weights of the drawn rows into
``(n_boot, n_keys)`` arrays with one matrix product per tally and chunk of resamples (no per-resample table work).

Two resampling schemes:

- ``strata`` given (stratified): each resample draws, within each stratum (group), as many rows as the
  stratum has, with replacement. Every resample holds every group with its own size, so no group
  metric is undefined for lack of rows; the interval is conditional on the group sizes, as in the data.
- ``strata=None`` (plain): each resample draws ``n`` rows from all the rows. A small group can be
  missing from a resample; its sums are then 0 there, and the caller records it (fairlearn issue 1441:
  a plain resample without a group must not fail).

Each resample draws from its own seed (``spawn_seeds(random_state, n_boot)``), so the sums do not
depend on how the resamples are chunked.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xaikit._validation import RandomState, spawn_seeds

__all__ = ["Tally", "bootstrap_sums", "percentile_interval"]

#: Most drawn indices held at once (memory bound of one chunk of resamples).
MAX_DRAWS = 4_000_000


Tally = tuple[np.ndarray, "np.ndarray | None", int]
"""``(keys, weights, n_keys)``: the key of each row in ``[0, n_keys)`` and what to add up (None: count the rows)."""


def bootstrap_sums(
    tallies: Sequence[Tally],
    *,
    n_boot: int,
    strata: np.ndarray | None = None,
    random_state: RandomState = None,
) -> list[np.ndarray]:
    """Per resample and key, the sum of the weights of the drawn rows, for each tally over the same draws.

    Parameters
    ----------
    tallies : sequence of (keys, weights, n_keys)
        ``keys``: int array (n,), the key of each row in ``[0, n_keys)``; ``weights``: array (n,) to add
        up, or None to count the drawn rows.
    n_boot : int
        Number of resamples.
    strata : array of int, shape (n,), optional
        The stratum of each row (stratified resampling); None: plain resampling of all rows.
    random_state : None, int, Generator or SeedSequence

    Returns
    -------
    list of arrays of shape (n_boot, n_keys)
        One per tally.

    Examples
    --------
    >>> keys = np.array([0, 0, 1, 1])
    >>> sums, rows = bootstrap_sums([(keys, np.ones(4), 2), (keys, None, 2)], n_boot=3, strata=keys, random_state=0)
    >>> sums.tolist()  # stratified: each key keeps its two rows
    [[2.0, 2.0], [2.0, 2.0], [2.0, 2.0]]
    """
    checked = [(np.asarray(k, dtype=np.intp), None if w is None else np.asarray(w, dtype=np.float64), int(m)) for k, w, m in tallies]
    n = checked[0][0].shape[0]
    seeds = spawn_seeds(random_state, n_boot)
    if strata is None:
        members = [np.arange(n)]
    else:
        order = np.argsort(strata, kind="stable")
        bounds = np.flatnonzero(np.diff(strata[order])) + 1
        members = np.split(order, bounds)
    out = [np.zeros((n_boot, m)) for _, _, m in checked]
    matrices = []  # (n, n_keys): row i's weight in the column of its key
    for keys, weights, n_keys in checked:
        keyed = np.zeros((n, n_keys))
        keyed[np.arange(n), keys] = 1.0 if weights is None else weights
        matrices.append(keyed)
    chunk = max(1, MAX_DRAWS // max(n, 1))
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        picked = np.empty((stop - start, n), dtype=np.intp)
        for b in range(start, stop):
            rng = np.random.default_rng(seeds[b])
            at = 0
            for rows_of in members:
                size = rows_of.shape[0]
                picked[b - start, at:at + size] = rows_of[rng.integers(0, size, size=size)]
                at += size
        # how often each row is drawn in each resample; every tally is then one product with its rows' keyed weights
        offsets = np.arange(stop - start, dtype=np.intp)[:, None]
        counts = np.bincount((offsets * n + picked).ravel(), minlength=(stop - start) * n).reshape(stop - start, n)
        counts = counts.astype(np.float64)
        for target, keyed in zip(out, matrices):
            target[start:stop] = counts @ keyed
    return out


def percentile_interval(samples: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The percentile interval over the first axis, ignoring NaN resamples: ``(lower, upper, n_undefined)``.

    >>> lo, hi, bad = percentile_interval(np.array([[1.0], [2.0], [3.0], [np.nan]]), 0.5)
    >>> lo.tolist(), hi.tolist(), bad.tolist()
    ([1.5], [2.5], [1])
    """
    undefined = np.isnan(samples).sum(axis=0)
    alpha = (1.0 - level) / 2.0
    lower = np.full(samples.shape[1:], np.nan)
    upper = np.full(samples.shape[1:], np.nan)
    some = undefined < samples.shape[0]
    if some.any():
        q = np.nanquantile(samples[:, some], [alpha, 1.0 - alpha], axis=0)
        lower[some], upper[some] = q[0], q[1]
    return lower, upper, undefined
