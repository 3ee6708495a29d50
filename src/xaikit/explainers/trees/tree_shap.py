"""Exact Shapley values of tree ensembles (TreeSHAP): path-dependent, interventional, interactions.

* **Path-dependent** (no background): the value of a coalition is the tree's expectation when the
  missing features follow the training cover at each split (Lundberg et al. 2020). Computed by a
  quadrature form of the leaf sums (see :mod:`xaikit.explainers.trees._kernels`), exact to
  rounding, in ``O(nodes * depth / 2)`` per row and tree.
* **Interventional** (with ``background``): the value of a coalition is the mean output over the
  background rows with the coalition's features taken from ``x``: the same game as
  :class:`~xaikit.ExactShapley` over that background, computed exactly per background row.
* **Interaction values** (path-dependent): the Shapley interaction index split evenly between
  ``(i, j)`` and ``(j, i)``, main effects on the diagonal; rows sum to the SHAP values.

Outputs. TreeSHAP is exact for the ensemble's *additive* output, its margin (a sum over trees), and
``output="auto"`` explains it: the log-odds of a boosted classifier (logistic link), the class
probabilities of a forest of classification trees, the response of a regressor (its log for an
exp link, ``"log_response"``), the per-class margins of a multi-class booster.
``output="probability"`` is the Shapley value of the probability game only where the margin is the
probability (forests); for a boosted classifier the probability is not additive over trees and
TreeShap refuses it: use ``xk.explain(model, X, background=..., output="probability")`` (exact
enumeration or a sampled estimator on the model). With a background, ``"probability_rescaled"``
(logistic link) and ``"response_rescaled"`` (exp link) give shap's convention: per background row,
the margin values scaled to add up to the change in the response. Those are efficient on the
response scale but not the Shapley values of any game on it. Each result records which game it
holds in ``diagnostics["value_definition"]``.

What the rescaling is, exactly: for an explained row ``x`` and a background row ``b`` with margins
``m_x`` and ``m_b``, the exact Shapley values of the margin's single-reference game are multiplied by
``(g(m_x) - g(m_b)) / (m_x - m_b)`` (``g`` the link), and averaged over the background rows. Where
the two margins are equal (within 1e-12), xaikit takes the ratio's limit, the link's slope
``g'(m_x)``, so that the values move continuously with the margins; shap 0.51 uses 1 there (the
margin values unscaled, on the margin's scale). Neither is the Shapley value of the probability
game, but the slope is the nearer: on 30 random one-tree models (depth 3, 3 features, 8
background rows, where equal margins are common) the two choices differed by up to 0.16, and
were at most 0.027 (the slope) against 0.17 (shap's 1) off the exact values of the probability
game. For those exact values, use ``xk.explain(model, X, background=..., output="probability")``.

``output="log_loss"`` (with a background, and the rows' labels: ``explain(X, y)``) is shap's
per-row loss attribution, the same rescaling with ``g`` the loss against the row's label: the log
loss of a binary classifier (logistic link; labels are its classes), the squared error of a
regressor (identity link). The values add up to the row's loss minus the mean loss over the
background (the base value, per row); they are the Shapley values of the loss game exactly where
each (row, background row) pair's game has one player, and otherwise its efficient
approximation (``value_definition["rescaled"]`` is True).

``tree_limit=k`` explains the model after its first ``k`` boosting rounds (shap's meaning): a
round adds one tree per class of a multi-class booster (times XGBoost's ``num_parallel_tree``), as
read from the model (XGBoost ``num_boosted_rounds``, LightGBM ``num_model_per_iteration``,
scikit-learn gradient boosting's trees per stage); a :class:`~xaikit.models.trees.TreeEnsemble`
counts one tree per round. Forests average their trees and are refused.

Interventional values over a background of any size are exact (every row counts; nothing is
sampled): the background's go-left flags (one byte per node and background row) are held a
chunk of rows at a time, at most 256 MiB, and the per-leaf tables summed over the chunks.
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, ClassVar, cast

import numpy as np

from xaikit._validation import RandomState, check_array, check_choice, check_feature_names, check_int
from xaikit.errors import InvalidParameterError
from xaikit.execution import Shared, chunk_indices
from xaikit.explainers import pipeline
from xaikit.explainers.base import Explainer, output_names, select_outputs
from xaikit.explainers.pipeline import Answer, Parameter, Plan
from xaikit.explainers.trees import _kernels as kernels
from xaikit.explainers.value_definition import value_definition
from xaikit.models.trees import TreeEnsemble, apply_transform, tree_ensemble
from xaikit.results import Attribution, Interaction
from xaikit.results.base import hand_over

__all__ = ["TreeShap"]

_ALGORITHMS = ("auto", "path_dependent", "interventional")
_OUTPUTS = ("auto", "raw", "log_odds", "log_response", "probability", "probability_rescaled", "response_rescaled",
            "log_loss")
#: Rescaled outputs and the link each needs.
_RESCALED = {"probability_rescaled": "logistic", "response_rescaled": "exp"}
_TRANSFORM_KIND = {"identity": 0, "logistic": 1, "exp": 2}
#: The kernels' kind of each loss (see :func:`xaikit.explainers.trees._kernels.interventional`).
_LOSS_KIND = {"log_loss": 3, "squared_error": 4}


def _model_feature_names(model: Any, d: int) -> list[str] | None:
    for attr in ("feature_names_in_", "feature_name_", "feature_names"):
        names = getattr(model, attr, None)
        if callable(names):
            continue
        if names is not None and len(names) == d:
            return [str(n) for n in names]
    get_names = getattr(model, "feature_name", None)  # lightgbm.Booster
    if callable(get_names):
        try:
            names = get_names()
        except (TypeError, ValueError, AttributeError):  # pragma: no cover - defensive
            names = None
        if names is not None and len(names) == d:
            return [str(n) for n in names]
    return None


def _is_forest_classifier(model: Any, ens: TreeEnsemble) -> bool:
    """Whether the ensemble's margin is the class probabilities (identity link, one output per class)."""
    classes = getattr(model, "classes_", None)
    return ens.transform == "identity" and classes is not None and len(classes) == ens.n_outputs


def resolve_output(output: str, ens: TreeEnsemble, model: Any, algorithm: str) -> str:
    """The output TreeShap explains for ``output`` (``"auto"``: the additive one), or an error naming
    ``output`` when TreeShap cannot give the Shapley values of that game exactly.

    >>> from xaikit.models.trees import TreeEnsemble
    >>> stump = TreeEnsemble.from_arrays(roots=[0], left=[1, -1, -1], right=[2, -1, -1], feature=[0, -1, -1],
    ...                                  threshold=[0.5, 0, 0], value=[[0.0], [-1.0], [2.0]],
    ...                                  cover=[2.0, 1.0, 1.0], n_features=1, transform="logistic")
    >>> resolve_output("auto", stump, stump, "path_dependent")
    'log_odds'
    """
    link = ens.transform
    forest = _is_forest_classifier(model, ens)
    if output in ("auto", "raw", "log_response") and link == "exp":
        return "log_response"  # the margin of an exp link: the log of the response, not the response
    if output == "log_response":
        raise InvalidParameterError(f"output: 'log_response' is the margin of an exp link; the model's link is "
                                    f"{link!r}; use output='auto'")
    if output == "auto":
        return "log_odds" if link == "logistic" else "probability" if forest else "raw"
    if output == "log_odds":
        if link == "logistic":
            return output
        if forest:
            raise InvalidParameterError(
                "output: the log-odds of a forest of classification trees are not additive over its trees "
                "(its raw output is the probability), got output='log_odds'; use output='probability' (exact) "
                "or xk.explain(model, X, background=..., output='log_odds')"
            )
        raise InvalidParameterError(
            f"output: 'log_odds' is the margin of a logistic link; the model's link is {link!r}; use output='raw'"
        )
    if output == "probability":
        if forest:
            return output
        if link == "logistic":
            raise InvalidParameterError(
                "output: the probability of a boosted classifier is not additive over its trees, so TreeShap "
                "cannot give its Shapley values exactly, got output='probability'; use output='log_odds' (exact, "
                "the margin), output='probability_rescaled' (log-odds values rescaled per background row, "
                "shap's convention), or xk.explain(model, X, background=..., output='probability') "
                "(the Shapley values of the probability, by enumeration or sampling)"
            )
        if link == "softmax":
            raise InvalidParameterError(
                "output: the class probabilities of a multi-class booster (softmax link) are not additive over "
                "its trees, got output='probability'; use output='raw' (exact per-class margins) or "
                "xk.explain(model, X, background=..., output='probability')"
            )
        raise InvalidParameterError(
            f"output: 'probability' needs a classifier, but the model ({ens.library or 'TreeEnsemble'}, "
            f"{link!r} link) is a regressor or has no classes; its outputs are not probabilities; use output='raw'"
        )
    if output == "log_loss":
        if algorithm != "interventional":
            raise InvalidParameterError(
                "output: 'log_loss' needs the interventional algorithm (pass background=), got the path-dependent "
                "algorithm"
            )
        if link == "logistic" or (link == "identity" and not forest):
            return output
        raise InvalidParameterError(
            f"output: 'log_loss' explains the log loss of a binary classifier (logistic link) or the squared error "
            f"of a regressor (identity link), got a model with a {link!r} link"
            + (" whose outputs are probabilities of a forest" if forest else "")
        )
    if output in _RESCALED:
        if link != _RESCALED[output]:
            raise InvalidParameterError(
                f"output: {output!r} rescales the margin of a {_RESCALED[output]} link, but the model's link is "
                f"{link!r}; use output='auto'"
            )
        if algorithm != "interventional":
            raise InvalidParameterError(
                f"output: {output!r} needs the interventional algorithm (pass background=); the path-dependent "
                f"algorithm explains the margin, got output={output!r}"
            )
    return output


def _training_categories(model: Any) -> list[list[Any]] | None:
    """The category lists of the pandas ``category`` columns a LightGBM, XGBoost or scikit-learn
    HistGradientBoosting model was trained on, in column order, or None when the model recorded none."""
    if type(model).__module__.startswith("sklearn."):
        from xaikit.models._trees_sklearn import training_categories

        return training_categories(model)
    booster = getattr(model, "booster_", None) or model
    cats = getattr(booster, "pandas_categorical", None)  # LightGBM
    if cats:
        return [list(c) for c in cats]
    get_booster = getattr(model, "get_booster", None)
    booster = get_booster() if callable(get_booster) else model
    get_categories = getattr(booster, "get_categories", None)  # XGBoost >= 3.0
    if callable(get_categories):
        try:
            table = get_categories(export_to_arrow=True)
            if hasattr(table, "to_arrow"):  # XGBoost >= 3.1: a container of (name, array) pairs
                table = None if table.empty() else table.to_arrow()
        except (ImportError, TypeError, ValueError, AttributeError):  # exporting needs pyarrow
            return _xgboost_json_categories(booster)
        arrays = [a for _, a in table] if table else []
        out = [list(a.to_pylist()) for a in arrays if a is not None]  # None: a numeric column
        return out or None
    return None


def _xgboost_json_categories(booster: Any) -> list[list[Any]] | None:
    """Training categories stored in an XGBoost model's JSON (``cats.enc``: per feature, string
    categories as UTF-8 bytes cut at ``offsets``, or numeric categories), in column order."""
    import json

    try:
        body = json.loads(bytes(booster.save_raw("json")))
        enc = body["learner"]["gradient_booster"]["model"]["cats"]["enc"]
    except (TypeError, ValueError, KeyError, AttributeError):
        return None
    out: list[list[Any]] = []
    for column in enc or []:
        offsets, values = column.get("offsets") or [], column.get("values") or []
        if offsets:
            raw = bytes(values)
            out.append([raw[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(len(offsets) - 1)])
        elif values:
            out.append(list(values))
    return out or None


def _frame_to_numbers(frame: Any, name: str, categories: list[list[Any]] | None) -> np.ndarray:
    """A DataFrame as numbers, ``category`` columns as the codes of the training categories (NaN for
    missing or unseen values), as LightGBM and XGBoost encode them."""
    import pandas as pd

    out = np.empty((len(frame), frame.shape[1]))  # filled column by column: one copy of the rows
    cat_index = 0
    for j, col_name in enumerate(frame.columns):
        col = frame.iloc[:, j]
        if isinstance(col.dtype, pd.CategoricalDtype):
            if categories is None:
                raise InvalidParameterError(
                    f"{name}: column {col_name!r} is categorical but the model recorded no training categories; "
                    "pass the category codes the model was trained on as numbers"
                )
            if cat_index >= len(categories):
                raise InvalidParameterError(
                    f"{name}: expected {len(categories)} categorical columns (as the model was trained), got more"
                )
            known = categories[cat_index]
            cat_index += 1
            if list(col.cat.categories) != known:
                col = col.cat.set_categories(known)
            codes = col.cat.codes.to_numpy()
            out[:, j] = codes
            out[codes < 0, j] = np.nan
        elif getattr(col.dtype, "kind", "") == "c":
            raise InvalidParameterError(
                f"{name}: expected real numbers, got complex values in column {col_name!r}; pass the real part "
                "or split it into two features"
            )
        else:
            try:
                out[:, j] = col.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError) as exc:
                raise InvalidParameterError(
                    f"{name}: expected numeric or category columns, got column {col_name!r} of dtype {col.dtype} "
                    f"({exc})"
                ) from None
    return out


#: Tree groups of the interventional margin values: a fixed number, so that every executor sums
#: the same parts in the same order and gives identical values.
_N_TREE_GROUPS = 8
#: Rows per kernel call when a job adds its tree groups' values into its rows' output: the
#: group's part of a block of rows is all that exists beside the output.
_ROW_BLOCK = 4096


class _InProcessOutput:
    """A job's ``out``: the slice of the caller's output array its values go into when the job
    runs in this process (serial, threads, or the first job of ``"auto"``). A job sent to a worker
    process leaves it behind (``out`` becomes None there) and returns its values instead, so the
    output array is never copied to a worker."""

    out: np.ndarray | None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "out": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


@dataclass
class _TreeJob(_InProcessOutput):
    """Rows to explain with one algorithm; sent whole to an executor's worker.

    ``dir_b`` (the background's go-left flags) and ``cols`` are computed once per call and shared
    by all chunks. ``trees=(lo, hi)`` restricts the job to those trees (interventional margin
    values add up over trees); the job then works out the go-left flags of the ``background``
    rows and the leaf tables of its trees itself. ``out``: zeros of the values' shape, written in
    place when the job runs in this process."""

    ensemble: Shared[TreeEnsemble]
    X: np.ndarray
    what: str  # "path_dependent" | "interventional" | "interactions"
    cols: np.ndarray
    dir_b: np.ndarray | None = None
    background: np.ndarray | None = None
    raw_b: np.ndarray | None = None
    transform_kind: int = 0
    trees: tuple[int, int] | None = None
    out: np.ndarray | None = None
    y: np.ndarray | None = None  # the rows' labels (n, o), for a loss


def _values_shape(ens: TreeEnsemble, n: int, what: str) -> tuple[int, ...]:
    d, o = ens.n_features, ens.n_outputs
    return (n, d, d, o) if what == "interactions" else (n, d, o)


#: Bytes of background go-left flags (one per node and background row) held at a time: a larger
#: background is taken in chunks of rows, so memory stays bounded whatever its size. Exact either
#: way: the values are a sum over background rows.
_BACKGROUND_FLAGS_BYTES = 256 * 2**20


def _background_chunks(n_background: int, n_nodes: int) -> list[tuple[int, int]]:
    """Contiguous runs of background rows whose go-left flags fit :data:`_BACKGROUND_FLAGS_BYTES`."""
    step = max(1, _BACKGROUND_FLAGS_BYTES // max(n_nodes, 1))
    return [(a, min(n_background, a + step)) for a in range(0, n_background, step)]


#: The background's go-left flags and leaf tables, per ensemble (held weakly: they go with it), per trees range and
#: background: a service explaining one row at a time builds them once, not at every call.
_PLANS: weakref.WeakKeyDictionary[TreeEnsemble, dict[tuple[Any, ...], tuple[np.ndarray, tuple[np.ndarray, ...]]]] = (
    weakref.WeakKeyDictionary())
_PLANS_LOCK = threading.Lock()
#: Plans kept per ensemble (the most recent).
_PLANS_PER_ENSEMBLE = 16


def _single_chunk_plan(ens: TreeEnsemble, job: _TreeJob, lo: int, hi: int, max_unique: int,
                       directions: Callable[[int, int], np.ndarray]) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """``(dir_b, plan)`` of a background taken whole, from :data:`_PLANS` when this ensemble, trees range and
    background (by a digest of its bytes) were set up before."""
    import hashlib

    source = job.dir_b if job.dir_b is not None else cast(np.ndarray, job.background)
    digest = hashlib.blake2b(np.ascontiguousarray(source).tobytes(), digest_size=16).hexdigest()
    key = (lo, hi, max_unique, job.dir_b is not None, source.shape, str(source.dtype), digest)
    with _PLANS_LOCK:
        cached = _PLANS.get(ens, {}).get(key)
    if cached is not None:
        return cached
    dir_b = directions(0, int(source.shape[1] if job.dir_b is not None else source.shape[0]))
    plan = tuple(kernels.leaf_mask_plan(ens.roots, ens.left, ens.right, ens.feature, dir_b, max_unique, (lo, hi)))
    with _PLANS_LOCK:
        plans = _PLANS.setdefault(ens, {})
        plans[key] = (dir_b, plan)
        while len(plans) > _PLANS_PER_ENSEMBLE:
            del plans[next(iter(plans))]
    return dir_b, plan


def _interventional_kernel(ens: TreeEnsemble, job: _TreeJob) -> Any:
    """The interventional kernel of the job's trees, set up once (go-left flags of the background,
    leaf tables), as a function ``(X, raw_x, phi, y)`` adding the values of the rows ``X`` to ``phi``.

    A background whose go-left flags exceed :data:`_BACKGROUND_FLAGS_BYTES` is taken in chunks of
    rows: the leaf tables (linear in the background rows' counts) are summed over the chunks, and
    the trees walked per background row are walked chunk by chunk, each row weighing 1/m."""
    wa, wc = kernels.pair_weights(ens.max_depth)
    if job.trees is None:
        lo, hi, node_lo, node_hi = 0, ens.n_trees, 0, ens.left.shape[0]
    else:
        (lo, hi), (node_lo, node_hi) = job.trees, _node_range(ens, *job.trees)
    max_unique = 8 if job.transform_kind == 0 else 0  # a link keeps every background row apart
    routing = ens._routing()
    if job.dir_b is not None:
        chunks = [(0, job.dir_b.shape[1])]
    else:
        chunks = _background_chunks(cast(np.ndarray, job.background).shape[0], ens.left.shape[0])
    n_background = chunks[-1][1]
    raw_b = np.zeros((n_background, ens.n_outputs)) if job.raw_b is None else job.raw_b
    inv_nb = 1.0 / n_background

    def directions(a: int, b: int) -> np.ndarray:
        if job.dir_b is not None:
            return job.dir_b
        return kernels.background_directions(cast(np.ndarray, job.background)[a:b], node_lo, node_hi, *routing)

    def call(X: np.ndarray, dir_b: np.ndarray, raw_x: np.ndarray, rb: np.ndarray, y: np.ndarray | None,
             tables: bool, walks: bool, plan: Sequence[np.ndarray], phi: np.ndarray) -> np.ndarray:
        yy = np.zeros((X.shape[0], ens.n_outputs)) if y is None else y
        return kernels.interventional(
            X, dir_b, raw_x, rb, yy, job.transform_kind, inv_nb, tables, walks, ens.roots[lo:hi], ens.depths[lo:hi],
            job.cols[lo:hi], ens.value, wa, wc, plan[0][lo:hi], *plan[1:], *routing, node_lo, node_hi, phi,
        )

    if len(chunks) == 1:
        dir_b, plan = _single_chunk_plan(ens, job, lo, hi, max_unique, directions)

        def run(X: np.ndarray, raw_x: np.ndarray, phi: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
            return call(X, dir_b, raw_x, raw_b, y, True, True, plan, phi)

        return run
    table: np.ndarray | None = None
    for a, b in chunks:  # the leaf tables are linear in the background rows: summed chunk by chunk
        use, *masks = kernels.leaf_mask_plan(ens.roots, ens.left, ens.right, ens.feature, directions(a, b),
                                             max_unique, (lo, hi))
        table = masks[-1] if table is None else np.add(table, masks[-1], out=table)
    plan_all = [use, *masks[:-1], cast(np.ndarray, table)]
    walks = job.transform_kind != 0 or not bool(use[lo:hi].all())
    no_flags = np.zeros((ens.left.shape[0], 1), dtype=np.bool_)

    def run_chunked(X: np.ndarray, raw_x: np.ndarray, phi: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        call(X, no_flags, raw_x, raw_b[:1], y, True, False, plan_all, phi)
        if walks:
            for a, b in chunks:
                call(X, directions(a, b), raw_x, raw_b[a:b], y, False, True, plan_all, phi)
        return phi

    return run_chunked


def _run_tree_job(job: _TreeJob) -> tuple[np.ndarray | None, np.ndarray]:
    """The chunk's values (None when written into ``job.out``) and its rows' raw margins (predicted
    here, in parallel).

    With ``job.trees`` the margins are those trees' sums, without the ensemble's base offset."""
    ens = job.ensemble.get()
    phi = np.zeros(_values_shape(ens, job.X.shape[0], job.what)) if job.out is None else job.out
    raw_x = _predict_prepared(ens, job.X, job.trees)
    if job.what == "interventional":
        _interventional_kernel(ens, job)(job.X, raw_x, phi, job.y)
    else:
        qn, qw = kernels.quadrature(ens.max_depth)
        kernel = kernels.path_dependent if job.what == "path_dependent" else kernels.interactions
        kernel(job.X, ens.roots, ens.depths, job.cols, ens.value, ens.cover, qn, qw, *ens._routing(), phi)
    return (None if job.out is not None else phi), raw_x


@dataclass
class _TreeGroupsJob(_InProcessOutput):
    """Rows and a run of tree groups for the interventional margin values.

    The values are the sum of the groups' parts taken in group order (``0 + g0 + g1 + ...``), the
    same whatever the executor. A job whose run starts at the first group (``fold``) adds its parts
    into one array (``out`` when it runs in this process) a block of rows at a time; a later run
    returns its parts, which the caller adds in order."""

    ensemble: Shared[TreeEnsemble]
    X: np.ndarray
    cols: np.ndarray
    groups: list[tuple[int, int]]
    extra: dict[str, Any]
    fold: bool = False
    out: np.ndarray | None = None


def _run_tree_groups_job(job: _TreeGroupsJob) -> tuple[np.ndarray | None, list[np.ndarray], list[np.ndarray]]:
    """``(sum, parts, raws)``: with ``fold``, the sum of the groups' values (None when written into
    ``job.out``), no parts, and the sum of the groups' margins as the one item of ``raws``;
    otherwise no sum, and each group's values and margins (margins without the base offset)."""
    ens = job.ensemble.get()
    n = job.X.shape[0]
    shape = _values_shape(ens, n, "interventional")
    acc = None
    if job.fold:
        acc = np.zeros(shape) if job.out is None else job.out
    parts, raws = [], []
    raw_sum = np.zeros((n, ens.n_outputs))
    for trees in job.groups:
        sub = _TreeJob(job.ensemble, job.X, "interventional", job.cols, trees=trees, **job.extra)
        raw_x = _predict_prepared(ens, job.X, trees)
        if acc is None:
            raws.append(raw_x)
        else:
            raw_sum += raw_x  # 0 + r0 + r1 + ..., as the caller adds the parts
        run = _interventional_kernel(ens, sub)
        if acc is None:
            parts.append(run(job.X, raw_x, np.zeros(shape)))
            continue
        for start in range(0, n, _ROW_BLOCK):
            rows = slice(start, min(n, start + _ROW_BLOCK))
            acc[rows] += run(job.X[rows], raw_x[rows], np.zeros((rows.stop - start, *shape[1:])))
    if acc is not None:
        raws = [raw_sum]
    return (acc if job.fold and job.out is None else None), parts, raws


def _node_range(ens: TreeEnsemble, lo: int, hi: int) -> tuple[int, int]:
    """The nodes of trees ``lo:hi`` (the parsers store each tree's nodes contiguously, in tree order)."""
    if lo == 0 and hi == ens.n_trees:
        return 0, int(ens.left.shape[0])
    return int(ens.roots[lo]), int(ens.roots[hi]) if hi < ens.n_trees else int(ens.left.shape[0])


def _tree_groups(ens: TreeEnsemble, n_groups: int) -> list[tuple[int, int]]:
    """At most ``n_groups`` contiguous ranges of trees with about the same number of nodes each."""
    n_trees = ens.n_trees
    if n_trees == 0 or ens.roots[0] != 0 or (np.diff(ens.roots) <= 0).any():
        return [(0, n_trees)]  # not stored tree by tree: one group
    ends = np.append(ens.roots[1:], ens.left.shape[0]).astype(np.float64)
    cuts = np.searchsorted(ends, ens.left.shape[0] * np.arange(1, n_groups) / n_groups, side="left") + 1
    bounds = np.unique(np.concatenate([[0], np.clip(cuts, 1, n_trees), [n_trees]]))
    return [(int(a), int(b)) for a, b in pairwise(bounds) if b > a]


def _predict_prepared(ens: TreeEnsemble, X: np.ndarray, trees: tuple[int, int] | None = None) -> np.ndarray:
    """Raw margins of rows already through :meth:`TreeEnsemble.prepare`; with ``trees=(lo, hi)``
    the sums of those trees' leaf values only (no base offset)."""
    from xaikit.models.trees import _predict

    if trees is None:
        return _predict(X, ens.roots, ens.value, ens.base_offset, *ens._routing())
    return _predict(X, ens.roots[trees[0]:trees[1]], ens.value, np.zeros(ens.n_outputs), *ens._routing())


def _completeness_gap(values: np.ndarray, change: np.ndarray, feature_axes: tuple[int, ...]) -> np.ndarray:
    """``values`` summed over ``feature_axes`` minus ``change`` (n, o), a block of rows at a time (no
    temporary of the values' size)."""
    gap = np.empty(change.shape)
    for start in range(0, values.shape[0], _ROW_BLOCK):
        rows = slice(start, start + _ROW_BLOCK)
        np.subtract(values[rows].sum(axis=feature_axes), change[rows], out=gap[rows])
    return gap


def _take_outputs(values: np.ndarray, out_idx: list[int]) -> np.ndarray:
    """``values[..., out_idx]``, without a copy when that is every output in order (interaction
    values of 1,000 rows and 50 features take 20 MB per output)."""
    if out_idx == list(range(values.shape[-1])):
        return values
    return values[..., out_idx]


def _trees_per_round(model: Any, ens: TreeEnsemble) -> int:
    """How many trees one boosting round adds (one per class of a multi-class booster, times
    XGBoost's ``num_parallel_tree``), read from the model's public API; an error naming
    ``tree_limit`` for models that are not boosted (their trees are averaged, not added in rounds)."""
    if isinstance(model, TreeEnsemble):
        return 1
    get_booster = getattr(model, "get_booster", None)
    booster = get_booster() if callable(get_booster) else model
    rounds = getattr(booster, "num_boosted_rounds", None)  # XGBoost
    if callable(rounds):
        n = int(rounds())
        if n > 0 and ens.n_trees % n == 0:
            return ens.n_trees // n
        raise InvalidParameterError(
            f"tree_limit: the model has {n} boosting rounds but {ens.n_trees} trees were read; cannot tell its rounds apart"
        )
    booster = getattr(model, "booster_", None) or model
    per_iteration = getattr(booster, "num_model_per_iteration", None)  # LightGBM
    if callable(per_iteration):
        dump = getattr(booster, "dump_model", None)
        if callable(dump) and dump(num_iteration=1).get("average_output"):
            raise InvalidParameterError(
                "tree_limit: the LightGBM model averages its trees (boosting='rf'), so its first rounds are no part of "
                "its prediction to explain; fit it with fewer trees instead, got tree_limit set"
            )
        return int(per_iteration())
    estimators: Any = getattr(model, "estimators_", None)
    if getattr(estimators, "ndim", 0) == 2:  # scikit-learn GradientBoosting: (n_stages, trees per stage)
        return int(estimators.shape[1])
    per_iteration = getattr(model, "n_trees_per_iteration_", None)  # scikit-learn HistGradientBoosting
    if per_iteration is not None:
        return int(per_iteration)
    raise InvalidParameterError(
        f"tree_limit: counts boosting rounds, but {type(model).__name__} is not a boosted ensemble (a forest "
        "averages its trees: fit it with fewer trees instead), got tree_limit set"
    )


def _one_row(X: Any) -> bool:
    """Whether ``X`` is one row: a 1-D array or list of numbers (a ragged list is left to the checks that name it)."""
    try:
        return bool(np.ndim(X) == 1)
    except ValueError:  # ragged nested lists
        return False


def _is_sparse(X: Any) -> bool:
    return type(X).__module__.startswith("scipy.sparse") and hasattr(X, "tocsr")


def _sparse_rows(X: Any, name: str, fill: float) -> np.ndarray:
    """A scipy sparse matrix as dense rows, the entries it does not store set to ``fill``, a
    block of rows at a time (never a copy of the matrix in another sparse format beside it)."""
    csr = X.tocsr()
    if csr.ndim != 2:
        raise InvalidParameterError(f"{name}: expected a 2-D sparse matrix, got shape {csr.shape}")
    n, d = csr.shape
    out = np.empty((n, d))
    step = max(1, 2**22 // max(d, 1))
    for a in range(0, n, step):
        block = csr[a:a + step]
        if fill == 0.0:
            out[a:a + block.shape[0]] = block.toarray()
            continue
        rows = out[a:a + block.shape[0]]
        rows.fill(fill)
        coo = block.tocoo()
        rows[coo.row, coo.col] = coo.data
    return out


def _dmatrix_rows(X: Any, name: str) -> np.ndarray:
    """The rows of an XGBoost ``DMatrix``, through its public ``get_data()`` (CSR): entries it does
    not store are missing values, as XGBoost reads them."""
    get_data = getattr(X, "get_data", None)
    if not callable(get_data):
        raise InvalidParameterError(
            f"{name}: cannot read the rows of this xgboost.DMatrix (no get_data(); xgboost >= 1.7 has it); "
            "pass the array or DataFrame it was built from"
        )
    try:
        csr = get_data()
    except Exception as exc:  # e.g. a DMatrix from an iterator keeps no rows to read
        raise InvalidParameterError(
            f"{name}: cannot read the rows of this xgboost.DMatrix ({exc}); pass the array or DataFrame it was "
            "built from"
        ) from None
    return _sparse_rows(csr, name, np.nan)


def _check_labels(y: Any, output: str, n: int, n_outputs: int, classes: Any) -> np.ndarray:
    """The labels of the explained rows as numbers (n, o): 0/1 (the second class) for the log loss,
    the targets for the squared error."""
    if y is None:
        raise InvalidParameterError("y: output='log_loss' explains the loss against the rows' labels; pass y (n,), got None")
    arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if arr.ndim == 2 and arr.shape[1] == 1 and n_outputs == 1:
        arr = arr[:, 0]
    want = (n,) if n_outputs == 1 else (n, n_outputs)
    if arr.shape != want and not (n_outputs > 1 and arr.shape == (n,)):
        raise InvalidParameterError(f"y: expected labels of shape {want} (one per row of X), got shape {arr.shape}")
    if output == "log_loss":
        if classes is not None and len(classes) == 2:
            known = np.isin(arr, np.asarray(classes))
            if not known.all():
                raise InvalidParameterError(
                    f"y: expected labels among the model's classes {np.asarray(classes).tolist()}, got "
                    f"{np.asarray(arr[~known]).tolist()[0]!r}"
                )
            labels = (arr == np.asarray(classes)[1]).astype(np.float64)
        else:
            labels = check_array(arr, "y", ndim=1).astype(np.float64)
            if not np.isin(labels, (0.0, 1.0)).all():
                raise InvalidParameterError(f"y: expected labels 0 or 1 for the log loss, got {float(labels[~np.isin(labels, (0.0, 1.0))][0])!r}")
    else:
        labels = check_array(arr, "y", ndim=arr.ndim).astype(np.float64)
    labels = labels.reshape(n, -1)
    return np.ascontiguousarray(np.broadcast_to(labels, (n, n_outputs)))


def _loss(kind: str, margin: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The per-row loss of margins (n, o) against labels ``y`` (n, o)."""
    if kind == "log_loss":
        return np.logaddexp(0.0, margin) - y * margin
    return (margin - y) ** 2


def _mean_loss(kind: str, raw_b: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``mean over background rows b of loss(y_r, margin_b)`` for every row r (n, o), without the
    (n, m) table: both losses are quadratic or linear in the label."""
    mean_b = raw_b.mean(axis=0)
    if kind == "log_loss":
        return np.logaddexp(0.0, raw_b).mean(axis=0) - y * mean_b
    spread = ((raw_b - mean_b) ** 2).mean(axis=0)
    return spread + (mean_b - y) ** 2


@dataclass
class _TreePlan(Plan):
    """The rows as the kernels take them, the result's read-only view of them, the outputs chosen."""

    X: Any = None
    data: Any = None
    out_idx: list[int] = field(default_factory=list)
    out_names: list[str] = field(default_factory=list)
    y: np.ndarray | None = None


class TreeShap(Explainer[Attribution]):
    """Exact Shapley values of a tree ensemble (scikit-learn, XGBoost, LightGBM or a :class:`TreeEnsemble`).

    Parameters
    ----------
    model : fitted tree model or TreeEnsemble
    background : array-like (m, d), optional
        Reference rows. Given: interventional values over them; not given: path-dependent values.
    output : {"auto", "raw", "log_odds", "log_response", "probability", "probability_rescaled", "response_rescaled",
             "log_loss"}
        ``"auto"``: the additive output (log-odds of boosted classifiers, probabilities of forests,
        the response of regressors, its log for an exp link). ``"raw"``: the margin.
        ``"probability"``: forests of classification trees only (refused for boosted classifiers,
        see the module docstring).
        ``"probability_rescaled"`` / ``"response_rescaled"``: shap's per-background-row rescaling of
        the margin values (logistic / exp link, with a background; the link's slope where the two
        margins are equal, see the module docstring); a binary classifier then has two outputs, one
        per class, as its ``predict_proba``. ``"log_loss"``: the same rescaling to the per-row loss
        against the labels given to ``explain`` (log loss of a binary classifier, squared error of a
        regressor; with a background).
    feature_names : list of str, optional
        Default: the names the model was fitted with, or ``x0, x1, ...``.
    algorithm : {"auto", "path_dependent", "interventional"}
        ``"auto"``: interventional when a background is given.
    tree_limit : int, optional
        Explain the model after its first ``tree_limit`` boosting rounds (one tree per class of a
        multi-class booster per round); all rounds by default. Boosted models only.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> tree = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, X[:, 0] * X[:, 1])
    >>> exp = TreeShap(tree).explain(X[:5])
    >>> exp.values.shape
    (5, 3, 1)
    >>> bool(np.allclose(exp.completeness(), tree.predict(X[:5])[:, None]))
    True
    """

    name: ClassVar[str] = "tree_shap"
    requires: ClassVar[frozenset[str]] = frozenset({"trees"})
    axioms: ClassVar[frozenset[str]] = frozenset({"efficiency", "dummy", "symmetry", "linearity"})
    exact: ClassVar[bool] = True
    #: What ``_run`` computes: ``"values"``, or ``"interactions"`` in the view :meth:`interactions` runs.
    _what: str = "values"

    def __init__(
        self,
        model: Any,
        /,
        *,
        background: Any = None,
        output: str = "auto",
        feature_names: Sequence[str] | None = None,
        algorithm: str = "auto",
        tree_limit: int | None = None,
    ) -> None:
        self.ensemble = tree_ensemble(model)
        #: The number of boosting rounds explained (None: all of them).
        self.tree_limit = None
        if tree_limit is not None:
            per_round = _trees_per_round(model, self.ensemble)
            if per_round < 1 or self.ensemble.n_trees % per_round:
                raise InvalidParameterError(
                    f"tree_limit: the model adds {per_round} trees per round but {self.ensemble.n_trees} trees were "
                    "read; cannot tell its rounds apart"
                )
            n_rounds = self.ensemble.n_trees // per_round
            self.tree_limit = check_int(tree_limit, "tree_limit", minimum=1, maximum=n_rounds)
            self.ensemble = self.ensemble.first_trees(self.tree_limit * per_round)
        self._categories = _training_categories(model)
        #: CatBoost's categorical columns: raw categories -> the codes of the one-hot splits' values.
        self._encoder: Any = None
        if type(model).__module__.startswith("catboost") and list(getattr(model, "get_cat_feature_indices", list)()):
            from xaikit.models._trees_catboost import CategoryEncoder

            self._encoder = CategoryEncoder(model)
        check_choice(output, "output", _OUTPUTS)
        algorithm = check_choice(algorithm, "algorithm", _ALGORITHMS)
        if algorithm == "auto":
            algorithm = "path_dependent" if background is None else "interventional"
        if algorithm == "interventional" and background is None:
            raise InvalidParameterError(
                "background: the interventional algorithm needs reference rows, got None; "
                "pass background= or use algorithm='path_dependent'"
            )
        if algorithm == "path_dependent" and background is not None:
            raise InvalidParameterError(
                "background: the path-dependent algorithm uses the trees' cover, not a background; "
                "drop background= or use algorithm='interventional'"
            )
        self.algorithm = algorithm
        ens = self.ensemble
        #: The output explained (``"auto"`` resolved): see the module docstring.
        self.output = resolve_output(output, ens, model, algorithm)
        self._loss: str | None = None
        if self.output == "log_loss":
            self._loss = "log_loss" if ens.transform == "logistic" else "squared_error"
        self._classes = getattr(model, "classes_", None)
        if feature_names is not None:
            self.feature_names: list[str] | None = check_feature_names(feature_names, ens.n_features)
        else:
            self.feature_names = _model_feature_names(model, ens.n_features)
        # a binary classifier on the probability scale has both classes as outputs, as predict_proba
        classes = getattr(model, "classes_", None)
        self._two_classes: list[str] | None = None
        if self.output == "probability_rescaled" and ens.n_outputs == 1 and classes is not None and len(classes) == 2:
            self._two_classes = [str(c) for c in classes]
        self.background: np.ndarray | None = None
        if background is not None:
            # a copy of its own (a few rows): the caller may change their array afterwards
            self.background = np.array(self._prepare(background, "background"))
            self.background.setflags(write=False)

    # ---------------------------------------------------------------- helpers
    def _background_margins(self) -> tuple[np.ndarray, np.ndarray]:
        """The background through :meth:`TreeEnsemble.prepare` and its raw margins, worked out once per
        background (the explainer's own read-only copy), not at every call."""
        cached = self.__dict__.get("_margins")
        if cached is None or cached[0] is not self.background:
            background = cast(np.ndarray, self.background)
            cached = (background, self.ensemble.prepare(background, "background"), self.ensemble.predict_raw(background))
            self.__dict__["_margins"] = cached
        return cached[1], cached[2]

    def _prepare(self, X: Any, name: str) -> np.ndarray:
        module = type(X).__module__
        if module.startswith("xgboost") and type(X).__name__.endswith("DMatrix"):
            names = getattr(X, "feature_names", None)
            if names is not None and self.feature_names is not None and list(names) != self.feature_names:
                raise InvalidParameterError(
                    f"{name}: expected the features {self.feature_names[:20]} (as the model was fitted), "
                    f"got a DMatrix of {list(names)[:20]}"
                )
            return self.ensemble.prepare(_dmatrix_rows(X, name), name)
        if _is_sparse(X):
            # XGBoost reads the entries a sparse matrix does not store as missing; the other libraries as 0
            fill = np.nan if self.ensemble.library.startswith("xgboost") else 0.0
            return self.ensemble.prepare(_sparse_rows(X, name, fill), name)
        if module.startswith("pandas") and type(X).__name__ == "Series":  # one row, indexed by feature name
            if self.feature_names is not None and [str(i) for i in X.index] != self.feature_names:
                raise InvalidParameterError(
                    f"{name}: expected a row indexed by the features {self.feature_names[:20]}, got a Series "
                    f"indexed by {[str(i) for i in X.index][:20]}"
                )
            X = X.to_frame().T
            X.columns = [str(c) for c in X.columns]
        elif getattr(X, "columns", None) is None and _one_row(X):  # one row as a 1-D array
            X = np.asarray(X)[None, :]
        columns = getattr(X, "columns", None)
        if columns is not None and self.feature_names is not None:
            cols = [str(c) for c in columns]
            if cols != self.feature_names and not self._cleaned_names(cols):
                raise InvalidParameterError(
                    f"{name}: expected the columns {self.feature_names[:20]} (as the model was fitted), "
                    f"got {cols[:20]}"
                )
        if self._encoder is not None:  # raw categories, as CatBoost takes them
            return self.ensemble.prepare(self._encoder(X, name), name)
        if columns is not None:
            X = _frame_to_numbers(X, name, self._categories)
        X = check_array(X, name, ndim=2, allow_nan=True)
        return self.ensemble.prepare(X, name)

    def _cleaned_names(self, cols: list[str]) -> bool:
        """Whether ``cols`` are the names a LightGBM model stored cleaned (spaces made underscores):
        LightGBM takes the very DataFrame it was fitted on, and so does TreeShap."""
        if not self.ensemble.library.startswith("lightgbm.") or self.feature_names is None:
            return False
        from xaikit.models._trees_lightgbm import matches_cleaned_names

        return matches_cleaned_names(cols, self.feature_names)

    def _outputs(self, target: Any) -> tuple[list[int], list[str]]:
        if self._loss is not None:
            names = output_names(self.ensemble.output_names, self.ensemble.n_outputs)
            losses = [self._loss] if len(names) == 1 else [f"{self._loss}[{n}]" for n in names]
            return select_outputs(target, losses)
        if self._two_classes is not None:
            return select_outputs(target, self._two_classes)
        return select_outputs(target, output_names(self.ensemble.output_names, self.ensemble.n_outputs))

    def _compute(self, X: np.ndarray, what: str, ex: Any, **extra: Any) -> tuple[np.ndarray, np.ndarray]:
        """Values and raw margins of the rows of ``X``, the rows split over the executor's workers.

        The values go into one array allocated here: jobs that run in this process write their rows
        into it, and the rows computed by worker processes are copied in as each part is taken."""
        n = X.shape[0]
        ens = self.ensemble
        if what == "path_dependent" and self._oblivious_tables() is not None:  # CatBoost: one lookup per tree
            return self._oblivious_tables().values_and_margins(X)  # type: ignore[no-any-return, union-attr]
        cols = kernels.tree_columns(ens.roots, ens.left, ens.right, ens.value)
        values = np.zeros(_values_shape(ens, n, what))
        if what == "interventional" and extra.get("transform_kind", 0) == 0:
            return values, self._run_by_trees(X, ex, cols, extra, values)
        labels = extra.pop("y", None)
        background: Any = extra.get("background")
        if what == "interventional" and len(_background_chunks(background.shape[0], ens.left.shape[0])) == 1:
            # rows split: the background's go-left flags once for all chunks (a larger background is
            # taken in chunks by each job)
            extra.pop("background")
            extra["dir_b"] = kernels.background_directions(background, 0, ens.left.shape[0], *ens._routing())
        # rows cost about the same, so one chunk per worker balances the load
        shared = ex.scatter(ens)  # sent to each worker process once, kept there between calls
        chunks = chunk_indices(n, ex.n_workers)
        jobs = [_TreeJob(shared, X[c.start:c.stop], what, cols, out=values[c.start:c.stop],
                         y=None if labels is None else labels[c.start:c.stop], **extra)
                for c in chunks]
        parts = ex.map(_run_tree_job, jobs)
        raw = []
        for i, c in enumerate(chunks):
            part, raw_c = parts[i]
            parts[i] = None  # type: ignore[call-overload]  # each part freed once copied
            if part is not None:
                values[c.start:c.stop] = part
            raw.append(raw_c)
        return values, np.concatenate(raw, axis=0)

    def _oblivious_tables(self) -> Any:
        """The lookup tables of an ensemble of oblivious trees (:mod:`~xaikit.explainers.trees.oblivious`),
        built on first use and kept; None for other ensembles."""
        if not hasattr(self, "_lookup"):
            from xaikit.explainers.trees.oblivious import oblivious_tables

            self._lookup = oblivious_tables(self.ensemble)
        return self._lookup

    def _run_by_trees(self, X: np.ndarray, ex: Any, cols: np.ndarray, extra: dict[str, Any],
                      values: np.ndarray) -> np.ndarray:
        """Interventional margin values (added into ``values``) as sums over a fixed number of tree
        groups (each builds the leaf tables of its own trees), and the rows' raw margins. With rows
        enough for every worker (``_ROW_BLOCK`` each), the rows are split and each job adds all the
        groups into its rows of ``values``; with fewer, a job takes a contiguous run of groups (one
        run per worker, so a process pool receives the ensemble once per worker) and rows are split
        too when there are more workers than groups. Each value is ``0 + g0 + g1 + ...`` over the
        groups in order, whatever the executor and the split."""
        ens = self.ensemble
        n = X.shape[0]
        groups = _tree_groups(ens, _N_TREE_GROUPS)
        if n >= ex.n_workers * _ROW_BLOCK:  # many rows: a part per group would cost the values' size
            row_chunks, runs = chunk_indices(n, ex.n_workers), [range(len(groups))]
        else:
            row_chunks = chunk_indices(n, -(-ex.n_workers // len(groups)))
            runs = chunk_indices(len(groups), max(1, ex.n_workers // len(row_chunks)))
        shared = ex.scatter(ens)
        jobs = [_TreeGroupsJob(shared, X[c.start:c.stop], cols, [groups[g] for g in run], extra,
                               fold=run.start == 0, out=values[c.start:c.stop] if run.start == 0 else None)
                for c in row_chunks for run in runs]
        parts = ex.map(_run_tree_groups_job, jobs)
        raw = []
        for i, c in enumerate(row_chunks):
            rows = values[c.start:c.stop]
            raw_c = np.zeros((c.stop - c.start, ens.n_outputs))
            for j in range(i * len(runs), (i + 1) * len(runs)):
                total, group_parts, group_raws = parts[j]
                parts[j] = None  # type: ignore[call-overload]  # freed once added
                if total is not None:  # the first run, computed by a worker process
                    rows[...] = total
                for part in group_parts:
                    rows += part
                for r in group_raws:
                    raw_c += r
            raw.append(ens.base_offset + raw_c)
        return np.concatenate(raw, axis=0)

    def _value_definition(self) -> dict[str, Any]:
        m = None if self.background is None else int(self.background.shape[0])
        definition = value_definition(output=self.output, value_function=self.algorithm, background_rows=m,
                                      estimate="exact")
        if self._loss is not None:
            what = "log loss against the labels y" if self._loss == "log_loss" else "squared error against the labels y"
            definition["rescaled"] = True
            definition["text"] = (
                f"Exact Shapley values of the margin, interventional: the mean over {m} background rows, rescaled per "
                f"background row to the change in the {what} (shap's log_loss convention); not the Shapley values "
                f"of the {what.split(' against')[0]}."
            )
        if self.tree_limit is not None:
            definition["tree_limit"] = self.tree_limit
        scale = self.ensemble.scale
        if scale and self.output not in ("probability", "probability_rescaled", "response_rescaled"):
            # the margin is not the library's own raw score (or not shap's): the result says which it is
            definition["scale"] = scale
            definition["text"] += f" The margin is {scale}."
        return definition

    # ---------------------------------------------------------------- the pipeline's steps
    summary = "Exact SHAP values of every row of ``X``."
    explain_parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("y", None, "array-like (n,) or (n, n_outputs), optional",
                  "The rows' labels, for ``output='log_loss'`` only (classes of a classifier, targets of a regressor).",
                  optional=True, positional=True),
    )
    input_doc = """X : array-like (n, d) or (d,), DataFrame, Series, scipy sparse matrix or xgboost.DMatrix
        Numbers (NaN = missing), categories as the integer codes the model was trained on, or pandas
        ``category`` columns of a LightGBM / XGBoost model trained on them. A 1-D array or a
        Series (indexed by feature name) is one row. The entries a sparse matrix does not store
        are zeros, except for an XGBoost model (missing values, as XGBoost reads them); a
        ``DMatrix`` is read through its public ``get_data()``."""
    returns_doc = """Attribution
        ``values`` (n, d, o); ``data``: a read-only view of ``X`` when it is a C-contiguous float64
        array (no copy); diagnostics ``completeness_gap`` (n, o), ``exact`` (True), ``runtime_s``,
        ``value_definition``, ``seed``. No ``std_err``: exact values have no sampling error. Rows
        are split over the executor's workers; every executor gives identical values."""

    def _start(self, X: Any, target: Any, params: dict[str, Any]) -> _TreePlan:
        """The rows (``Xp``, the caller's array when it is already C-contiguous float64), the
        result's ``data`` (a read-only view of ``Xp``: no copy, and the caller's array stays
        writeable) and the outputs."""
        Xp = self._prepare(X, "X")
        data = Xp.view()
        data.setflags(write=False)
        out_idx, out_names = self._outputs(target)
        labels = params.get("y")
        if self._loss is not None:
            labels = _check_labels(labels, self._loss, Xp.shape[0], self.ensemble.n_outputs, self._classes)
        elif labels is not None:
            raise InvalidParameterError(f"y: labels are used by output='log_loss' only, got labels with output={self.output!r}")
        return _TreePlan(Xp.shape[0], X=Xp, data=data, out_idx=out_idx, out_names=out_names, y=labels)

    def _run(self, plan: Plan, executor: Any, seed: np.random.SeedSequence) -> list[Any]:
        """``[values, base (n, o), the explained output of the rows (n, o)]``, every output."""
        Xp, labels = cast(_TreePlan, plan).X, cast(_TreePlan, plan).y
        ens = self.ensemble
        if self._what == "interactions":
            values, raw_x = self._compute(Xp, "interactions", executor)
            return [values, np.repeat(ens.expected_value()[None, :], Xp.shape[0], axis=0), raw_x]
        if self.algorithm == "path_dependent":
            values, raw_x = self._compute(Xp, "path_dependent", executor)
            return [values, np.repeat(ens.expected_value()[None, :], Xp.shape[0], axis=0), raw_x]
        if self.background is None:  # pragma: no cover - guarded in __init__
            raise InvalidParameterError("background: the interventional algorithm needs reference rows")
        prob = self.output in _RESCALED
        prepared, raw_b = self._background_margins()
        kind = _TRANSFORM_KIND[ens.transform] if prob else 0
        if self._loss is not None:
            values, raw_x = self._compute(
                Xp, "interventional", executor, background=prepared, raw_b=raw_b, transform_kind=_LOSS_KIND[self._loss],
                y=labels,
            )
            y = cast(np.ndarray, labels)
            return [values, _mean_loss(self._loss, raw_b, y), _loss(self._loss, raw_x, y)]
        values, raw_x = self._compute(Xp, "interventional", executor, background=prepared, raw_b=raw_b, transform_kind=kind)
        fb = apply_transform(raw_b, ens.transform) if prob else raw_b
        fx = apply_transform(raw_x, ens.transform) if prob else raw_x
        if self._two_classes is not None:  # P(first class) = 1 - P(second class)
            both = np.empty((*values.shape[:2], 2))
            np.negative(values[..., 0], out=both[..., 0])
            both[..., 1] = values[..., 0]
            values = both
            fb = np.concatenate([1.0 - fb, fb], axis=1)
            fx = np.concatenate([1.0 - fx, fx], axis=1)
        return [values, np.repeat(fb.mean(axis=0)[None, :], Xp.shape[0], axis=0), fx]

    def _finish(self, plan: Plan, parts: list[Any]) -> Answer:
        p = cast(_TreePlan, plan)
        values, base, fx = parts
        values = _take_outputs(values, p.out_idx)
        base = base[:, p.out_idx]
        axes = (1, 2) if self._what == "interactions" else (1,)
        diagnostics = {"completeness_gap": _completeness_gap(values, fx[:, p.out_idx] - base, axes),
                       "value_definition": self._value_definition()}
        hand_over(values, base)  # the result takes them without a copy of its own
        fields = {"values": values, "base_values": base, "data": p.data, "feature_names": self.feature_names,
                  "output_names": p.out_names}
        ens = self.ensemble
        extra: dict[str, Any] = {"n_trees": ens.n_trees, "max_depth": ens.max_depth, "link": ens.transform}
        if self.background is not None:
            extra["background"] = {"n_rows": int(self.background.shape[0])}
        kind = Interaction if self._what == "interactions" else Attribution
        params: dict[str, Any] = {"algorithm": self.algorithm}
        if p.y is not None:  # the labels are data: the result records their shape, not a copy
            params["y"] = f"labels {tuple(p.y.shape)}"
        if self.tree_limit is not None:
            params["tree_limit"] = self.tree_limit
        return Answer(fields, diagnostics, kind, params, extra)

    def _model(self) -> tuple[str, str]:
        return self.ensemble.library or "TreeEnsemble", self.output

    def interactions(
        self,
        X: Any,
        /,
        *,
        target: int | str | Sequence[int | str] | None = None,
        executor: Any = "auto",
        random_state: RandomState = None,
    ) -> Interaction:
        """Exact SHAP interaction values (path-dependent), ``values`` of shape (n, d, d, o).

        Off-diagonal ``[i, j]`` and ``[j, i]`` each hold half the Shapley interaction index; the
        diagonal holds main effects; summing over the last feature axis gives the SHAP values.
        ``target``, ``executor`` and ``random_state`` as in :meth:`explain` (the same pipeline).
        """
        if self.algorithm != "path_dependent":
            raise InvalidParameterError(
                "background: interaction values are computed with the path-dependent algorithm; "
                "create TreeShap(model) without background= for them"
            )
        view = copy.copy(self)
        view._what = "interactions"
        return pipeline.run(view, X, target, executor, random_state, {})  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"TreeShap({self.ensemble!r}, algorithm={self.algorithm!r}, output={self.output!r})"
