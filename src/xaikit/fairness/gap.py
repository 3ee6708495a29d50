"""Attribution of a gap between two groups to features: the Shapley values of the gap.

The gap is the difference of the mean output between two groups of rows, ``mean_A f - mean_B f``
(the mean predicted risk of one group minus the other's, or the mean of any quantity that is a mean
over rows, e.g. a row-wise loss explained by TreeShap ``output="log_loss"``).

Why the difference of the groups' mean attributions is the Shapley value of the gap. Let each row
``i`` have its game ``v_i`` (``v_i(S)`` the output with the features of ``S`` taken from row ``i``)
and its Shapley values ``phi_i``. The gap's game is ``v(S) = mean_A v_i(S) - mean_B v_i(S)``, a
linear combination of the rows' games, and the Shapley value is linear: the gap's Shapley values are
``phi_j = mean_A phi_ij - mean_B phi_ij``, exactly. They add up to ``v(N) - v({})``: the gap minus
the difference of the groups' mean base values ``v_i({})``. The base values cancel only when they
are equal across rows, as they are for interventional Shapley values over one background
(``ExactShapley``, ``KernelShap``, interventional ``TreeShap``) and path-dependent TreeShap; then the
attributions add up to the gap itself. A per-row base value (a loss against each row's own label,
LIME's local intercepts) is refused by default, naming the spread; ``unequal_base="keep"`` accepts
it and puts the difference of the mean base values in the result's ``base_values`` (the gap of the
empty coalition), so that ``values.sum() + base_values`` is still the gap.

The attributions are only as good as the explanation: they are Shapley values of the gap where the
rows' values are Shapley values that add up to the outputs (``predictions=`` checks that).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from xaikit._validation import RandomState, check_float, check_int, check_level, check_random_state, describe
from xaikit.errors import CompletenessError, InvalidParameterError
from xaikit.explainers.base import select_outputs
from xaikit.fairness.bootstrap import bootstrap_sums, percentile_interval
from xaikit.results import Attribution

__all__ = ["attribute_gap", "group_labels", "pick_pair"]

#: Diagnostics of a gap, sliced with its values (``n`` is its one row).
_GAP_AXES = {
    "ci_lower": "ndo",
    "ci_upper": "ndo",
    "boot_std_err": "ndo",
    "gap": "no",
    "gap_ci_lower": "no",
    "gap_ci_upper": "no",
    "mean_a": "no",
    "mean_b": "no",
}


def group_labels(groups: Any, n_rows: int, name: str = "groups") -> np.ndarray:
    """The group of each row as an object array ``(n_rows,)``; missing labels (None, NaN) are None.

    >>> group_labels(["a", "b", None], 3).tolist()
    ['a', 'b', None]
    """
    if isinstance(groups, (str, bytes)) or groups is None:
        raise InvalidParameterError(f"{name}: expected one group label per row ({n_rows}), got {describe(groups)}")
    to_numpy = getattr(groups, "to_numpy", None)
    try:
        raw = np.asarray(to_numpy(dtype=object) if callable(to_numpy) else groups, dtype=object)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"{name}: expected one group label per row ({n_rows}), got {describe(groups)}") from exc
    if raw.ndim != 1 or len(raw) != n_rows:
        raise InvalidParameterError(f"{name}: expected one group label per row, {n_rows} labels, got {describe(raw)}")
    out = np.empty(n_rows, dtype=object)
    for i, g in enumerate(raw.tolist()):
        out[i] = None if _missing(g) else g
    return out


def _missing(g: Any) -> bool:
    """Whether a label is missing: None, NaN, pandas' NA or NaT."""
    if g is None:
        return True
    try:
        return bool(g != g)
    except (TypeError, ValueError):  # pandas.NA: its comparisons are NA, whose truth is undefined
        return True


def _present(labels: np.ndarray) -> list[Any]:
    """The distinct labels in order of first appearance (None left out)."""
    return list(dict.fromkeys(g for g in labels.tolist() if g is not None))


def _sorted_labels(present: list[Any]) -> list[Any]:
    try:
        return sorted(present)
    except TypeError:
        return sorted(present, key=str)


def pick_pair(labels: np.ndarray, between: Any, name: str = "between") -> tuple[Any, Any]:
    """The two groups ``(a, b)`` compared: ``between`` as given, or the only two groups in sorted order.

    >>> pick_pair(np.array(["m", "f", "m"], dtype=object), None)
    ('f', 'm')
    """
    present = _present(labels)
    listed = ", ".join(repr(g) for g in _sorted_labels(present)[:20])
    if between is None:
        if len(present) != 2:
            raise InvalidParameterError(
                f"{name}: expected the two groups to compare, (a, b), since the rows hold {len(present)} groups ({listed}), got None"
            )
        a, b = _sorted_labels(present)
        return a, b
    if isinstance(between, (str, bytes)) or not isinstance(between, (tuple, list)) or len(between) != 2:
        raise InvalidParameterError(f"{name}: expected a pair of group labels (a, b), got {describe(between)}")
    a, b = between
    for g in (a, b):
        if g not in present:
            raise InvalidParameterError(f"{name}: expected group labels among {listed}, got {g!r}, which labels no row")
    if a == b:
        raise InvalidParameterError(f"{name}: expected two different groups, got {a!r} twice")
    return a, b


def attribute_gap(
    exp: Attribution,
    groups: Any,
    between: tuple[Any, Any] | list[Any] | None = None,
    *,
    target: Any = None,
    predictions: Any = None,
    unequal_base: str = "raise",
    n_boot: int = 1000,
    level: float = 0.95,
    tol: float = 1e-9,
    random_state: RandomState = None,
) -> Attribution:
    """The Shapley values of the gap between two groups' mean outputs, per feature, with bootstrap intervals.

    The gap is ``mean_A f - mean_B f`` over the rows of the two groups ``between = (A, B)``, where
    ``f`` is what ``exp`` explains (a model's output, or a row-wise loss explained by TreeShap
    ``output="log_loss"``). Its Shapley value for feature ``j`` is ``mean_A phi_ij - mean_B phi_ij``
    (linearity of the Shapley value); they add up to the gap exactly when the rows share one base
    value (see the module's notes), and the function checks that.

    Parameters
    ----------
    exp : Attribution
        Shapley values of the rows (values (n, d, o)), with a common base value per output (e.g.
        ``ExactShapley``, ``KernelShap`` or interventional ``TreeShap`` over one background).
    groups : array-like of shape (n,)
        The group of each row (a pandas Series or column, a list, an array); rows with a missing
        label, or a label outside ``between``, take no part.
    between : pair of labels (A, B), optional
        The gap is ``mean_A - mean_B``. May be left out when the rows hold exactly two groups (then
        in sorted order).
    target : int, str or list, optional
        The outputs of ``exp`` (by position or name); default all.
    predictions : array-like of shape (n,) or (n, o), optional
        The explained quantity per row (the model's outputs for the outputs of ``exp``): when given, the
        gap is computed from it and the attributions must add up to it within ``tol`` (relative to the
        largest |prediction|), else :class:`~xaikit.errors.CompletenessError`.
    unequal_base : {"raise", "keep"}
        What to do when the base values differ across the rows of the two groups (more than ``tol``
        relative to their scale): refuse, naming the spread (default), or keep the difference of the
        groups' mean base values in the result's ``base_values``.
    n_boot : int
        Bootstrap replicates for the intervals (0: none). Rows are resampled within each group, so
        every replicate holds both groups.
    level : float
        Coverage of the percentile intervals.
    tol : float
        Relative tolerance of the base value and ``predictions`` checks.
    random_state : int, Generator, SeedSequence or None
        Seed of the bootstrap.

    Returns
    -------
    Attribution
        One row: ``values`` (1, d, o) the gap's Shapley values, ``base_values`` (1, o) zero (or the
        difference of the mean base values with ``unequal_base="keep"``), so ``completeness()`` is the
        gap. ``diagnostics``: ``gap``, ``mean_a``, ``mean_b`` (1, o); ``ci_lower``, ``ci_upper``,
        ``boot_std_err`` (1, d, o) and ``gap_ci_lower``, ``gap_ci_upper`` (1, o) from the bootstrap;
        ``std_err`` (1, d, o) when ``exp`` has sampling standard errors (rows taken as independent);
        ``n_a``, ``n_b``, ``base_gap``. ``params``: ``between``, ``source_method``, ``n_boot``, ``level``.

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> X = np.array([[1.0, 0.0], [3.0, 1.0], [0.0, 2.0], [2.0, 2.0]])
    >>> w = np.array([2.0, -1.0])
    >>> exp = xk.ExactShapley(lambda Z: Z @ w, background=X.mean(axis=0, keepdims=True)).explain(X)
    >>> gap = attribute_gap(exp, ["a", "a", "b", "b"], ("a", "b"), random_state=0)
    >>> gap.values[0, :, 0].tolist()  # w_j * (mean_a x_j - mean_b x_j)
    [2.0, 1.5]
    >>> float(gap.completeness()[0, 0]), float(gap.diagnostics["gap"][0, 0])
    (3.5, 3.5)
    """
    if not isinstance(exp, Attribution):
        raise InvalidParameterError(f"exp: expected an Attribution (values (n, d, o)), got {describe(exp)}")
    if type(exp).__name__ != "Attribution":
        raise InvalidParameterError(f"exp: expected an Attribution of tabular rows, got a {type(exp).__name__}")
    labels = group_labels(groups, exp.n_rows)
    a, b = pick_pair(labels, between)
    unequal_base = str(unequal_base) if isinstance(unequal_base, str) else unequal_base
    if unequal_base not in ("raise", "keep"):
        raise InvalidParameterError(f"unequal_base: expected 'raise' or 'keep', got {describe(unequal_base)}")
    n_boot = check_int(n_boot, "n_boot", minimum=0)
    level = check_level(level)
    tol = check_float(tol, "tol", minimum=0.0)
    seed = check_random_state(random_state)
    cols, out_names = select_outputs(target, exp.output_names)

    in_a = np.array([g is not None and g == a for g in labels.tolist()], dtype=bool)
    in_b = np.array([g is not None and g == b for g in labels.tolist()], dtype=bool)
    values = np.asarray(exp.values[:, :, cols], dtype=np.float64)
    base = np.asarray(exp.base_values[:, cols], dtype=np.float64)
    n, d, o = values.shape
    if predictions is None:
        outputs = values.sum(axis=1) + base
    else:
        outputs = _check_predictions(predictions, n, cols, exp.n_outputs, values, base, tol)

    used = in_a | in_b
    spread = base[used].max(axis=0) - base[used].min(axis=0)
    scale = np.maximum(np.abs(base[used]).max(axis=0), np.abs(outputs[used]).max(axis=0))
    unequal = spread > tol * np.maximum(scale, 1.0)
    if unequal.any() and unequal_base == "raise":
        j = int(np.argmax(unequal))
        raise InvalidParameterError(
            f"exp: expected one base value per output across the rows of {a!r} and {b!r}, so that the gap's "
            f"attributions add up to the gap (they add up to the gap minus the difference of the groups' mean "
            f"base values), got base values of output {out_names[j]!r} from {base[used, j].min():.6g} to "
            f"{base[used, j].max():.6g}; explain over one background (interventional Shapley values), or pass "
            f"unequal_base='keep' to keep that difference in the result's base_values"
        )

    flat = values.reshape(n, d * o)
    mean_phi_a, mean_phi_b = flat[in_a].mean(axis=0), flat[in_b].mean(axis=0)
    gap_values = (mean_phi_a - mean_phi_b).reshape(1, d, o)
    mean_a = outputs[in_a].mean(axis=0, keepdims=True)
    mean_b = outputs[in_b].mean(axis=0, keepdims=True)
    gap = mean_a - mean_b
    base_gap = base[in_a].mean(axis=0, keepdims=True) - base[in_b].mean(axis=0, keepdims=True)
    gap_base = base_gap if unequal_base == "keep" else np.zeros((1, o))

    diagnostics: dict[str, Any] = {
        "gap": gap,
        "mean_a": mean_a,
        "mean_b": mean_b,
        "n_a": int(in_a.sum()),
        "n_b": int(in_b.sum()),
        "base_gap": base_gap.ravel().tolist(),
    }
    if n_boot:
        # rows resampled within each group (no resample misses one), every column's group sums over the same draws
        stacked = np.concatenate([flat, outputs], axis=1)[in_a | in_b]
        side = in_b[in_a | in_b].astype(np.intp)  # 0: group A, 1: group B
        sums = bootstrap_sums([(side, column, 2) for column in stacked.T], n_boot=n_boot, strata=side, random_state=seed)
        boot = np.stack([s_[:, 0] / in_a.sum() - s_[:, 1] / in_b.sum() for s_ in sums], axis=1)
        lower, upper, _ = percentile_interval(boot, level)
        spread_boot = boot.std(axis=0, ddof=1) if n_boot > 1 else np.full(boot.shape[1], np.nan)
        k = d * o
        diagnostics.update(
            ci_lower=lower[:k].reshape(1, d, o),
            ci_upper=upper[:k].reshape(1, d, o),
            boot_std_err=spread_boot[:k].reshape(1, d, o),
            gap_ci_lower=lower[k:].reshape(1, o),
            gap_ci_upper=upper[k:].reshape(1, o),
        )
    se = exp.diagnostics.get("std_err")
    if isinstance(se, np.ndarray) and se.shape == exp.values.shape:
        s2 = np.asarray(se[:, :, cols], dtype=np.float64) ** 2
        diagnostics["std_err"] = np.sqrt(s2[in_a].sum(axis=0) / in_a.sum() ** 2 + s2[in_b].sum(axis=0) / in_b.sum() ** 2)[None]
    definition = exp.diagnostics.get("value_definition")
    if isinstance(definition, dict):
        diagnostics["source_value_definition"] = definition
    params = {
        "between": [_json_label(a), _json_label(b)],
        "groups_name": str(getattr(groups, "name", None) or "groups"),
        "source_method": exp.method,
        "source_params": _json_safe(exp.params),
        "n_boot": n_boot,
        "level": level,
        "unequal_base": unequal_base,
        "predictions": predictions is not None,
    }
    return Attribution(
        values=gap_values,
        base_values=gap_base,
        feature_names=exp.feature_names,
        output_names=out_names,
        method="attribute_gap",
        params=params,
        diagnostics=diagnostics,
        diagnostic_axes=_GAP_AXES,
        provenance=exp.provenance,
    )


def _check_predictions(
    predictions: Any, n: int, cols: list[int], n_outputs: int, values: np.ndarray, base: np.ndarray, tol: float
) -> np.ndarray:
    """``predictions`` as (n, len(cols)), checked against the attributions' completeness."""
    from xaikit._validation import check_array

    p = check_array(predictions, "predictions", ndim=(1, 2), min_rows=0)
    if p.ndim == 1:
        p = p[:, None]
    if p.shape[0] != n or p.shape[1] not in (len(cols), n_outputs):
        raise InvalidParameterError(
            f"predictions: expected shape ({n},) or ({n}, {len(cols)}) (one per row and chosen output), got {describe(p)}"
        )
    if p.shape[1] != len(cols):
        p = p[:, cols]
    recon = values.sum(axis=1) + base
    worst = float(np.abs(recon - p).max()) if p.size else 0.0
    scale = max(float(np.abs(p).max()) if p.size else 0.0, 1.0)
    if worst > tol * scale:
        r, j = np.unravel_index(int(np.argmax(np.abs(recon - p))), p.shape)
        raise CompletenessError(
            f"predictions: expected the attributions plus base values to add up to the predictions within "
            f"{tol:g} x {scale:.4g}, got a difference of {worst:.3g} (row {int(r)}, output {int(j)}); the gap's "
            f"attributions would not add up to the gap"
        )
    return p


def _json_label(g: Any) -> Any:
    if isinstance(g, (bool, np.bool_)):
        return bool(g)
    if isinstance(g, (int, np.integer)):
        return int(g)
    if isinstance(g, (float, np.floating)):
        return float(g)
    return str(g)


def _json_safe(value: Any) -> Any:
    """A copy of ``value`` that JSON can hold (anything else as text)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    return str(value)
