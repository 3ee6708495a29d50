"""Anchors (Ribeiro, Singh & Guestrin 2018): rules that hold a decision with high precision.

An anchor of a row ``x`` is a set of predicates that ``x`` satisfies such that the model gives
``x``'s class to at least ``threshold`` of the inputs drawn from the anchor's perturbation
distribution, with confidence ``1 - delta``; among those, the search keeps the one of largest
coverage. The search is a beam search over anchors of growing size, each round choosing the
``beam_size`` most precise candidates by KL-LUCB (:mod:`xaikit.explainers.rules.kl_lucb`).

Tables
    Numeric features are discretised by the quantiles of ``data`` (quartiles by default); the
    predicate of a feature is "in ``x``'s bin" (``lower < value <= upper``); a categorical feature's
    is "equals ``x``'s value". The perturbation distribution of an anchor: the rows of ``data``
    that satisfy it, drawn uniformly (when none does, a row of ``data`` whose anchored features are
    replaced by values of other rows of ``data`` in the same bins).
Documents
    The predicates are the words of the document; the distribution of an anchor keeps its words
    and hides every other word independently with probability 1/2 (masked by the masker's
    ``mask_token``, or dropped with a ``TextMasker(mode="remove")``).

Coverage is the share of a coverage sample, drawn once per call from the distribution of the empty
anchor (rows of ``data``; the whole of ``data`` when it holds at most ``coverage_samples`` rows),
that satisfies the anchor: a direct count, made once per anchor and never updated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from xaikit._validation import check_choice, check_float, check_int, describe
from xaikit.errors import InvalidParameterError
from xaikit.explainers.base import Explainer, output_names, select_outputs
from xaikit.explainers.pipeline import Answer, Plan, row_seeds, run_chunks
from xaikit.explainers.rules.kl_lucb import kl_bounds, kl_lucb
from xaikit.results.rules import Rules

__all__ = ["MISSING_CATEGORY", "Anchors", "decide", "quantile_edges"]

#: The category a missing value (NaN, None) of a categorical column is read as in the anchors' conditions
#: (the model's inputs keep the missing value itself).
MISSING_CATEGORY = "(missing)"
_BINS = {"quartile": (0.25, 0.5, 0.75), "decile": tuple(k / 10 for k in range(1, 10))}


def decide(P: np.ndarray) -> np.ndarray:
    """The class of each prediction row: the largest output, or with one output, whether it is above 0.5.

    >>> decide(np.array([[0.2, 0.8], [0.9, 0.1]])).tolist(), decide(np.array([[0.7], [0.2]])).tolist()
    ([1, 0], [1, 0])
    """
    P = np.asarray(P, dtype=np.float64)
    return (P[:, 0] > 0.5).astype(np.int64) if P.shape[1] == 1 else np.argmax(P, axis=1).astype(np.int64)


def class_names(names: Sequence[str]) -> list[str]:
    """The names of the classes :func:`decide` gives: the outputs', or with one output ``"<name> <= 0.5"``
    and ``"<name> > 0.5"``.

    >>> class_names(["p"]), class_names(["no", "yes"])
    (['p <= 0.5', 'p > 0.5'], ['no', 'yes'])
    """
    return [f"{names[0]} <= 0.5", f"{names[0]} > 0.5"] if len(names) == 1 else list(names)


def quantile_edges(column: np.ndarray, bins: Any) -> np.ndarray:
    """The distinct bin edges of a numeric column: its quantiles at ``bins`` (``"quartile"``,
    ``"decile"`` or a number ``k`` of equal-count bins).

    >>> quantile_edges(np.arange(9.0), "quartile").tolist()
    [2.0, 4.0, 6.0]
    """
    qs = _BINS[bins] if isinstance(bins, str) else tuple(k / bins for k in range(1, bins))
    return np.unique(np.quantile(np.asarray(column, dtype=np.float64), qs))


def _is_text(X: Any) -> bool:
    if isinstance(X, str):
        return True
    if hasattr(X, "columns"):
        return False
    if isinstance(X, (list, tuple)) and X and all(isinstance(v, str) for v in X):
        return True
    return isinstance(X, np.ndarray) and X.ndim == 1 and X.size > 0 and all(isinstance(v, str) for v in X.tolist())


# ----------------------------------------------------------------------------- the samplers


class _TableSampler:
    """The perturbation distributions of one row of a table: samples are index matrices (n, d) into
    ``data`` plus the row itself (the last pool row), one data row per feature."""

    def __init__(self, job: _TableJob, i: int) -> None:
        self.job = job
        x_bins = job.x_bins[i]
        self.M = np.ones((job.n_data + 1, job.n_features), dtype=bool)
        for j in range(job.n_features):
            if job.edges[j] is None:
                self.M[:-1, j] = _equal(job.data_cols[j], job.x_cols[j][i])
            else:
                self.M[:-1, j] = job.data_bins[:, j] == x_bins[j]
        self.cov = self.M[job.cov_rows]
        self.candidates = [j for j, e in enumerate(job.edges) if e is None or len(e) > 0]
        self.row = i
        self._matching: dict[tuple[int, ...], np.ndarray] = {}

    @property
    def n_features(self) -> int:
        return self.job.n_features

    def coverage(self, anchor: tuple[int, ...]) -> int:
        return int(self.cov[:, list(anchor)].all(axis=1).sum()) if anchor else len(self.cov)

    def draw(self, anchor: tuple[int, ...], n: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
        d, n_data = self.job.n_features, self.job.n_data
        key = tuple(sorted(anchor))
        rows = self._matching.get(key)
        if rows is None:
            rows = np.flatnonzero(self.M[:-1, list(key)].all(axis=1)) if key else np.arange(n_data)
            self._matching[key] = rows
        if rows.size:
            pick = rows[rng.integers(0, rows.size, size=n)]
            return np.repeat(pick[:, None], d, axis=1), True
        idx = np.repeat(rng.integers(0, n_data, size=n)[:, None], d, axis=1)
        for j in key:  # no row of data satisfies the whole anchor: each anchored feature from its own bin
            same = np.flatnonzero(self.M[:-1, j])
            idx[:, j] = same[rng.integers(0, same.size, size=n)] if same.size else n_data
        return idx, False

    def satisfied(self, idx: np.ndarray) -> np.ndarray:
        return self.M[idx, np.arange(self.job.n_features)[None, :]]

    def inputs(self, idx: np.ndarray) -> Any:
        return self.job.rows(idx, self.row)


class _TextSampler:
    """The perturbation distributions of one document: samples are keep masks (n, d) of its words."""

    def __init__(self, masker: Any, item: Any, coverage_samples: int, rng: np.random.Generator) -> None:
        self.masker, self.item = masker, item
        self.candidates = list(range(item.n_features))
        self.cov = rng.random((coverage_samples, item.n_features)) < 0.5

    @property
    def n_features(self) -> int:
        return int(self.item.n_features)

    def coverage(self, anchor: tuple[int, ...]) -> int:
        return int(self.cov[:, list(anchor)].all(axis=1).sum()) if anchor else len(self.cov)

    def draw(self, anchor: tuple[int, ...], n: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
        S = rng.random((n, self.n_features)) < 0.5
        S[:, list(anchor)] = True
        return S, True

    def satisfied(self, S: np.ndarray) -> np.ndarray:
        return S

    def inputs(self, S: np.ndarray) -> Any:
        return self.masker.render(self.item, S.astype(np.int64))


def _equal(col: np.ndarray, value: Any) -> np.ndarray:
    return np.fromiter((v == value for v in col.tolist()), dtype=bool, count=len(col))


# ----------------------------------------------------------------------------- the search


@dataclass
class _Found:
    anchor: tuple[int, ...]
    positives: float
    count: float
    covered: int
    satisfied: bool
    n_samples: int
    n_calls: int


class _Search:
    """The beam search of one row, with every sample it drew (reused by the anchors they satisfy)."""

    def __init__(self, explainer: Anchors, sampler: Any, label: int, rng: np.random.Generator) -> None:
        self.ex, self.sampler, self.label, self.rng = explainer, sampler, label, rng
        self.Z: list[np.ndarray] = []  # predicates each sample satisfies
        self.src: list[np.ndarray] = []  # the anchor each sample was drawn for (as a mask)
        self.exact: list[bool] = []
        self.pos: list[np.ndarray] = []
        self.stats: dict[tuple[int, ...], list[float]] = {}  # anchor -> [positives, count]
        self.n_samples = self.n_calls = 0

    def _draw(self, requests: list[tuple[tuple[int, ...], int]]) -> None:
        """Draw ``n`` samples for each (anchor, n), with one model call for all."""
        parts = [self.sampler.draw(a, n, self.rng) for a, n in requests]
        joined = np.concatenate([p for p, _ in parts], axis=0)
        inputs = self.sampler.inputs(joined)
        labels = decide(self.ex.model.predict(inputs)) == self.label
        self.n_calls += 1
        self.n_samples += len(joined)
        start = 0
        d = self.sampler.n_features
        for (anchor, n), (samples, exact) in zip(requests, parts):
            stop = start + n
            hit = labels[start:stop]
            mask = np.zeros(d, dtype=bool)
            mask[list(anchor)] = True
            self.Z.append(self.sampler.satisfied(samples))
            self.src.append(mask)
            self.exact.append(exact)
            self.pos.append(hit)
            s = self.stats.setdefault(anchor, [0.0, 0.0])
            s[0] += float(hit.sum())
            s[1] += n
            start = stop

    def _reuse(self, anchor: tuple[int, ...]) -> None:
        """Count, for a new anchor, the samples drawn for smaller anchors that satisfy it."""
        s = self.stats.setdefault(anchor, [0.0, 0.0])
        cols = list(anchor)
        for Z, src, exact, hit in zip(self.Z, self.src, self.exact, self.pos):
            outside = src.copy()
            outside[cols] = False
            if not exact or outside.any():
                continue
            keep = Z[:, cols].all(axis=1)
            s[0] += float(hit[keep].sum())
            s[1] += float(keep.sum())

    def bounds(self, anchor: tuple[int, ...], beta: float) -> tuple[float, float, float]:
        pos, cnt = self.stats[anchor]
        mean = pos / cnt
        lo, hi = kl_bounds(np.array([mean]), np.array([cnt]), beta)
        return mean, float(lo[0]), float(hi[0])

    def run(self) -> _Found:
        ex, sampler = self.ex, self.sampler
        thr, eps, step = ex.threshold, ex.epsilon, ex.samples_per_step
        beta = math.log(1.0 / (ex.delta / (1.0 + (ex.beam_size - 1) * max(sampler.n_features, 1))))

        def settle(anchor: tuple[int, ...]) -> bool:
            """Sample ``anchor`` until its bounds say whether it reaches the threshold."""
            while True:
                mean, lo, hi = self.bounds(anchor, beta)
                if self.stats[anchor][1] >= ex.max_samples:
                    break
                if not ((mean >= thr and lo < thr - eps) or (mean < thr and hi >= thr + eps)):
                    break
                self._draw([(anchor, step)])
            mean, lo, _ = self.bounds(anchor, beta)
            return mean >= thr and lo > thr - eps

        self._draw([((), ex.init_samples)])
        if settle(()):
            return self._found((), True)
        best: tuple[int, ...] | None = None
        best_cov = -1
        beam: list[tuple[int, ...]] = [()]
        seen: list[tuple[int, ...]] = []
        order: dict[tuple[int, ...], tuple[int, ...]] = {(): ()}
        max_size = ex.max_anchor_size or len(sampler.candidates)
        for _ in range(max_size):
            cands: dict[tuple[int, ...], tuple[int, ...]] = {}
            for a in beam:
                for f in sampler.candidates:
                    if f not in a:
                        key = tuple(sorted((*a, f)))
                        if key not in cands:
                            cands[key] = (*order[a], f)
            keys = [k for k in sorted(cands) if sampler.coverage(k) > best_cov]
            if not keys:
                break
            order.update({k: cands[k] for k in keys})
            new = [k for k in keys if k not in self.stats]
            for k in new:
                self._reuse(k)
            short = [(k, ex.init_samples - int(self.stats[k][1])) for k in keys if self.stats[k][1] < ex.init_samples]
            if short:
                self._draw(short)
            pos = np.array([self.stats[k][0] for k in keys])
            cnt = np.array([self.stats[k][1] for k in keys])

            def pull(arms: list[int], keys: list[tuple[int, ...]] = keys, pos: np.ndarray = pos, cnt: np.ndarray = cnt) -> None:
                self._draw([(keys[a], step) for a in dict.fromkeys(arms)])
                for a in dict.fromkeys(arms):
                    pos[a], cnt[a] = self.stats[keys[a]]

            chosen = kl_lucb(pull, pos, cnt, ex.beam_size, epsilon=eps, delta=ex.delta, max_rounds=ex.max_rounds)
            beam = [keys[a] for a in chosen]
            seen.extend(beam)
            for k in beam:
                if settle(k) and sampler.coverage(k) > best_cov:
                    best, best_cov = k, sampler.coverage(k)
            if best is not None and best_cov == len(sampler.cov):
                break
            if best is not None and ex.stop_on_first:
                break
        if best is not None:
            return self._found(order[best], True)
        if not seen:
            return self._found((), False)
        # none reaches the threshold: the anchor of highest lower bound (shortest, then first, on ties)
        lows = [self.bounds(k, beta)[1] for k in seen]
        top = max(range(len(seen)), key=lambda i: (lows[i], -len(seen[i]), -i))
        return self._found(order[seen[top]], False)

    def _found(self, ordered: tuple[int, ...], satisfied: bool) -> _Found:
        key = tuple(sorted(ordered))
        pos, cnt = self.stats[key]
        return _Found(ordered, pos, cnt, self.sampler.coverage(key), satisfied, self.n_samples, self.n_calls)


# ----------------------------------------------------------------------------- the jobs


@dataclass(frozen=True)
class _TableJob:
    """What the rows of one chunk of a table need (picklable)."""

    rows_: range
    seeds: list[np.random.SeedSequence]
    data: Any  # the model input of data: an array or a DataFrame
    X: Any  # the chunk's explained rows, in the same form
    data_cols: list[np.ndarray]
    x_cols: list[np.ndarray]
    data_bins: np.ndarray
    x_bins: np.ndarray
    edges: list[np.ndarray | None]
    cov_rows: np.ndarray
    labels: np.ndarray

    @property
    def n_data(self) -> int:
        return len(self.data_bins)

    @property
    def n_features(self) -> int:
        return len(self.edges)

    def rows(self, idx: np.ndarray, i: int) -> Any:
        """Model inputs of index matrices into ``data`` plus row ``i`` (pool row ``n_data``)."""
        if hasattr(self.data, "iloc"):
            import pandas as pd

            pool = pd.concat([self.data, self.X.iloc[[i]]], ignore_index=True)
            frame = pool.iloc[idx[:, 0]].reset_index(drop=True)
            for j in range(1, idx.shape[1]):
                if (idx[:, j] != idx[:, 0]).any():
                    frame[pool.columns[j]] = pool.iloc[:, j].iloc[idx[:, j]].reset_index(drop=True)
            return frame
        pool = np.concatenate([self.data, self.X[i : i + 1]], axis=0)
        return pool[idx, np.arange(idx.shape[1])[None, :]]

    def __call__(self, method: Anchors) -> list[_Found]:
        out = []
        for k, seed in enumerate(self.seeds):
            rng = np.random.default_rng(seed)
            out.append(_Search(method, _TableSampler(self, k), int(self.labels[k]), rng).run())
        return out


@dataclass(frozen=True)
class _TextJob:
    """What the documents of one chunk need (picklable)."""

    seeds: list[np.random.SeedSequence]
    items: list[Any]
    labels: np.ndarray

    def __call__(self, method: Anchors) -> list[_Found]:
        out = []
        for item, seed, label in zip(self.items, self.seeds, self.labels):
            cov_seed, search_seed = seed.spawn(2)
            sampler = _TextSampler(method.masker, item, method.coverage_samples, np.random.default_rng(cov_seed))
            out.append(_Search(method, sampler, int(label), np.random.default_rng(search_seed)).run())
        return out


@dataclass
class _AnchorPlan(Plan):
    text: bool = False
    table: Any = None
    data_table: Any = None
    X_input: Any = None
    items: list[Any] = field(default_factory=list)
    P: Any = None
    idx: list[int] = field(default_factory=list)
    chosen: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    labels: Any = None
    edges: list[Any] = field(default_factory=list)
    data_bins: Any = None
    x_bins: Any = None
    cov_rows: Any = None


# ----------------------------------------------------------------------------- the explainer


class Anchors(Explainer[Rules]):
    """Anchors (Ribeiro, Singh & Guestrin 2018): for each row, a rule of precision at least
    ``threshold`` (with confidence ``1 - delta``) and, among those, the largest coverage.

    Parameters
    ----------
    model : estimator or callable
        A classifier (its probabilities) or a function returning one score per class; the class is
        the largest output (with one output, whether it is above 0.5). For documents, a function of
        a list of strings.
    data : array-like (n, d) or DataFrame, optional
        Tables: the rows the perturbation distributions draw from and the bins are read from
        (required for tables; unused for documents).
    threshold : float
        The precision an anchor must reach, in (0, 1).
    delta : float
        One minus the confidence of the precision bounds, in (0, 1).
    epsilon : float
        The tolerance of the bounds (``tau`` of the paper): an anchor is taken when its precision
        is at least ``threshold`` and its lower bound above ``threshold - epsilon``.
    beam_size : int
        Anchors kept per size.
    max_anchor_size : int, optional
        The most predicates per anchor (all features by default).
    bins : "quartile", "decile" or int
        How numeric features are discretised: quantiles of ``data`` (``k`` equal-count bins for an int).
    categorical : list of str or int, optional
        Numeric columns to treat as categories (predicates by value); text and pandas ``category``
        columns always are.
    coverage_samples : int
        The size of the coverage sample (tables: all of ``data`` when it has no more rows).
    samples_per_step, init_samples, max_samples : int
        Samples drawn per sampling step (one model call), at least drawn per candidate anchor, and
        at most drawn per anchor.
    max_rounds : int
        The most KL-LUCB rounds per anchor size.
    stop_on_first : bool
        Stop at the first size where an anchor reaches the threshold (else larger anchors of larger
        coverage are not sought either: coverage only shrinks as predicates are added, so the search
        ends there too unless the beam holds several).
    masker : TextMasker, optional
        Documents: how words are hidden (default ``TextMasker(mode="mask", mask_token="UNK")``).
    random_state : None, int or SeedSequence
        The seed of every ``explain`` that is given none of its own.

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> from xaikit.explainers.rules.anchors import Anchors
    >>> X = np.random.default_rng(0).random((400, 3))
    >>> f = lambda X: np.stack([X[:, 0] <= 0.5, X[:, 0] > 0.5], axis=1).astype(float)
    >>> rules = Anchors(f, data=X).explain(X[:1], random_state=0)
    >>> print(rules.rules()[0])
    if x0 > 0.542094 and x0 <= 0.777977 then class = output1 (precision 1.00) (coverage 25%)
    """

    name = "anchors"
    kind = "rules"
    result = Rules
    stochastic = True
    summary = "Anchors of the decision of every row of ``X``: one rule per row, with its precision and coverage."
    input_doc = "X : array-like (n, d), DataFrame, or a list of documents (str)"
    target_doc = (
        "target : int, str or list, optional\n"
        "    Outputs whose predictions at each row the result records (``prediction``); all by default. The\n"
        "    anchored class is always the model's decision over all outputs."
    )
    returns_doc = "Rules\n    One rule per row: its conditions, ``labels`` (the class), ``precision`` with its bounds, coverage, ``row``."

    def __init__(
        self, model: Any, /, *, data: Any = None, threshold: float = 0.95, delta: float = 0.1, epsilon: float = 0.15,
        beam_size: int = 1, max_anchor_size: int | None = None, bins: Any = "quartile", categorical: Any = None,
        coverage_samples: int = 10000, samples_per_step: int = 100, init_samples: int = 100, max_samples: int = 20000,
        max_rounds: int = 500, stop_on_first: bool = False, masker: Any = None, random_state: Any = None,
    ) -> None:
        from xaikit.maskers.text import TextMasker
        from xaikit.models import adapt

        self.model = adapt(model)
        self.data = data
        self.threshold = check_float(threshold, "threshold", minimum=0.0, maximum=1.0, strict_minimum=True)
        if self.threshold >= 1.0:
            raise InvalidParameterError(f"threshold: expected a number in (0, 1), got {describe(threshold)}")
        self.delta = check_float(delta, "delta", minimum=0.0, maximum=1.0, strict_minimum=True)
        if self.delta >= 1.0:
            raise InvalidParameterError(f"delta: expected a number in (0, 1), got {describe(delta)}")
        self.epsilon = check_float(epsilon, "epsilon", minimum=0.0, maximum=1.0, strict_minimum=True)
        self.beam_size = check_int(beam_size, "beam_size", minimum=1)
        self.max_anchor_size = None if max_anchor_size is None else check_int(max_anchor_size, "max_anchor_size", minimum=1)
        if isinstance(bins, str):
            check_choice(bins, "bins", list(_BINS))
        else:
            check_int(bins, "bins", minimum=2)
        self.bins = bins
        if categorical is not None and (isinstance(categorical, (str, int)) or not isinstance(categorical, Sequence)):
            raise InvalidParameterError(f"categorical: expected a list of column names or positions, got {describe(categorical)}")
        self.categorical = None if categorical is None else list(categorical)
        self.coverage_samples = check_int(coverage_samples, "coverage_samples", minimum=1)
        self.samples_per_step = check_int(samples_per_step, "samples_per_step", minimum=1)
        self.init_samples = check_int(init_samples, "init_samples", minimum=1)
        self.max_samples = check_int(max_samples, "max_samples", minimum=1)
        self.max_rounds = check_int(max_rounds, "max_rounds", minimum=1)
        if not isinstance(stop_on_first, (bool, np.bool_)):
            raise InvalidParameterError(f"stop_on_first: expected True or False, got {describe(stop_on_first)}")
        self.stop_on_first = bool(stop_on_first)
        if masker is not None and not isinstance(masker, TextMasker):
            raise InvalidParameterError(f"masker: expected a TextMasker or None, got {describe(masker)}")
        self.masker = masker if masker is not None else TextMasker(mode="mask", mask_token="UNK")
        if random_state is not None:
            from xaikit._validation import check_random_state

            check_random_state(random_state)  # refused here, by name, rather than at explain
        self.random_state = random_state
        self._data_table = None if data is None else self._read(data, "data")

    def __repr__(self) -> str:
        return (f"Anchors(threshold={self.threshold}, delta={self.delta}, epsilon={self.epsilon}, beam_size={self.beam_size}, "
                f"bins={self.bins!r})")

    def _read(self, X: Any, name: str) -> Any:
        from xaikit.explainers.global_.surrogate_tree import _table

        try:
            table = _table(X, self.model.feature_names_in, missing_category=MISSING_CATEGORY)
        except InvalidParameterError as exc:
            raise InvalidParameterError(name + str(exc)[1:]) from None
        for c in self.categorical or []:
            j = c if isinstance(c, int) and not isinstance(c, bool) else table.names.index(c) if c in table.names else None
            if j is None or not 0 <= j < len(table.names):
                raise InvalidParameterError(f"categorical: expected column names or positions of {name}, got {describe(c)}")
            table.categorical[j] = True
            table.columns[j] = table.columns[j].astype(object)
        return table

    def coverage_rows(self, random_state: Any = None) -> np.ndarray:
        """The rows of ``data`` in the coverage sample of a call with ``random_state`` (tables).

        >>> import numpy as np
        >>> Anchors(lambda X: X, data=np.zeros((5, 1))).coverage_rows(0).tolist()
        [0, 1, 2, 3, 4]
        """
        from xaikit._validation import check_random_state

        if self._data_table is None:
            raise InvalidParameterError("data: the coverage sample of tables is drawn from data, got None")
        return _coverage_rows(self._data_table.n_rows, self.coverage_samples, check_random_state(random_state))

    def _start(self, X: Any, target: Any, params: dict[str, Any]) -> Plan:
        if _is_text(X):
            items = self.masker.prepare(X, "X")
            docs = [self.masker.render(it, np.ones((1, it.n_features), dtype=np.int64))[0] for it in items]
            P = self.model.predict(docs)
            plan = _AnchorPlan(len(items), split=4, text=True, items=items)
        else:
            if self._data_table is None:
                raise InvalidParameterError("data: Anchors needs the rows of the training data for tables (data=X_train), got None")
            table = self._read(X, "X")
            data = self._data_table
            if len(table.names) != len(data.names):
                raise InvalidParameterError(f"X: expected {len(data.names)} columns (as data), got {len(table.names)}")
            if hasattr(data.model_input, "columns") and table.names != data.names:
                raise InvalidParameterError(f"X: expected the columns of data {data.names}, got {table.names}")
            X_input = table.model_input
            if hasattr(data.model_input, "columns") and not hasattr(X_input, "columns"):
                import pandas as pd

                X_input = pd.DataFrame(np.asarray(X_input, dtype=object), columns=data.model_input.columns).astype(data.model_input.dtypes)
            elif not hasattr(data.model_input, "columns") and hasattr(X_input, "columns"):
                X_input = X_input.to_numpy(dtype=np.asarray(data.model_input).dtype)
            P = self.model.predict(X_input)
            edges: list[np.ndarray | None] = []
            data_bins = np.zeros((data.n_rows, len(data.names)), dtype=np.int64)
            x_bins = np.zeros((table.n_rows, len(data.names)), dtype=np.int64)
            for j, (col, cat) in enumerate(zip(data.columns, data.categorical)):
                if cat or table.categorical[j]:
                    edges.append(None)
                    continue
                e = quantile_edges(col, self.bins)
                edges.append(e)
                data_bins[:, j] = np.searchsorted(e, col, side="left")
                x_bins[:, j] = np.searchsorted(e, table.columns[j], side="left")
            plan = _AnchorPlan(table.n_rows, split=4, table=table, data_table=data, X_input=X_input, edges=edges,
                               data_bins=data_bins, x_bins=x_bins)
        names = output_names(self.model.output_names, P.shape[1])
        plan.idx, plan.chosen = select_outputs(target, names)
        plan.names, plan.P, plan.labels = names, P, decide(P)
        return plan

    def _run(self, plan: Plan, executor: Any, seed: np.random.SeedSequence) -> list[Any]:
        p = cast(_AnchorPlan, plan)
        if p.text:
            items, labels = p.items, p.labels
            p.job = lambda rows, s: _TextJob(row_seeds(s, rows), [items[i] for i in rows], labels[list(rows)])
            return run_chunks(self, plan, executor, seed)
        data = p.data_table
        p.cov_rows = _coverage_rows(data.n_rows, self.coverage_samples, seed)
        X_input = p.X_input

        def job(rows: range, s: np.random.SeedSequence) -> _TableJob:
            sel = list(rows)
            chunk = X_input.iloc[sel] if hasattr(X_input, "iloc") else X_input[sel]
            return _TableJob(rows, row_seeds(s, rows), data.model_input if hasattr(data.model_input, "iloc") else np.asarray(data.model_input),
                             chunk, data.columns, [c[sel] for c in p.table.columns], p.data_bins, p.x_bins[sel], p.edges, p.cov_rows,
                             p.labels[sel])

        p.job = job
        return run_chunks(self, plan, executor, seed)

    def _finish(self, plan: Plan, parts: list[Any]) -> Answer:
        p = cast(_AnchorPlan, plan)
        found: list[_Found] = [f for part in parts for f in part]
        classes = class_names(p.names)
        conditions, importance = [], np.zeros(1 if p.text else len(p.edges))
        for i, f in enumerate(found):
            if p.text:
                words = [p.items[i].feature_names[j] for j in f.anchor]
                conditions.append([{"feature": "text", "operator": "contains", "words": words}] if words else [])
                importance[0] += bool(words)
            else:
                conditions.append([c for j in f.anchor for c in self._conditions(p, i, j)])
                importance[list(f.anchor)] += 1
        n = len(found)
        importance /= max(n, 1)
        pos = np.array([f.positives for f in found])
        cnt = np.array([f.count for f in found])
        beta = math.log(1.0 / (self.delta / (1.0 + (self.beam_size - 1) * max(len(importance), 1))))
        prec = pos / cnt if n else np.zeros(0)
        lo, hi = kl_bounds(prec, cnt, beta) if n else (np.zeros(0), np.zeros(0))
        m = len(p.cov_rows) if not p.text else self.coverage_samples
        covered = np.array([f.covered for f in found], dtype=np.int64)
        fields = {
            "prediction": p.P[:, p.idx], "support": covered, "support_fraction": covered / m, "importance": importance,
            "conditions": conditions, "task": "classification", "labels": [classes[int(c)] for c in p.labels],
            "precision": prec, "precision_lower": np.minimum(lo, prec), "precision_upper": np.maximum(hi, prec),
            "row": np.arange(n, dtype=np.int64), "feature_names": ["text"] if p.text else p.table.names,
            "output_names": p.chosen, "diagnostic_axes": {"n_samples": "r", "satisfied": "r", "n_model_calls": "r"},
        }
        diagnostics = {
            "n_samples": np.array([f.count for f in found], dtype=np.int64),
            "satisfied": np.array([f.satisfied for f in found], dtype=bool),
            "n_model_calls": np.array([f.n_calls for f in found], dtype=np.int64),
            "coverage_sample_size": int(m),
        }
        params = {"threshold": self.threshold, "delta": self.delta, "epsilon": self.epsilon, "beam_size": self.beam_size,
                  "max_anchor_size": self.max_anchor_size, "bins": self.bins, "coverage_samples": self.coverage_samples,
                  "samples_per_step": self.samples_per_step, "init_samples": self.init_samples,
                  "input": "documents" if p.text else "table"}
        return Answer(fields, diagnostics, params=params)

    def _conditions(self, p: _AnchorPlan, i: int, j: int) -> list[dict[str, Any]]:
        name = p.table.names[j]
        e = p.edges[j]
        if e is None:
            return [{"feature": name, "operator": "in", "categories": [p.table.columns[j][i]]}]
        k = int(p.x_bins[i, j])
        out = []
        if k > 0:
            out.append({"feature": name, "operator": ">", "threshold": float(e[k - 1])})
        if k < len(e):
            out.append({"feature": name, "operator": "<=", "threshold": float(e[k])})
        return out


def _coverage_rows(n_data: int, m: int, seed: np.random.SeedSequence) -> np.ndarray:
    """The coverage sample: every row of data when it has at most ``m``, else ``m`` rows drawn with
    replacement from a stream of ``seed`` no row uses."""
    if n_data <= m:
        return np.arange(n_data)
    stream = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 2**32, 0))
    return np.random.default_rng(stream).integers(0, n_data, size=m)
