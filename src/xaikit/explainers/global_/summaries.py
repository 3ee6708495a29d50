"""Global summaries of local Shapley values: mean |value| per feature with standard errors, by cohort,
and the ranking of feature pairs by their interaction."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.results.attribution import Attribution
from xaikit.results.importance import Importance
from xaikit.results.interaction import Interaction

__all__ = ["interaction_ranking", "shapley_importance"]

#: The most cohorts a column may define (a column with more distinct values is refused).
MAX_COHORTS = 50


def _cohorts(exp: Attribution, cohort: Any) -> list[tuple[str, np.ndarray]]:
    """``(name, row positions)`` of each cohort: all rows when ``cohort`` is None."""
    n = exp.n_rows
    if cohort is None:
        return [("", np.arange(n))]
    if isinstance(cohort, (list, tuple, np.ndarray)) or hasattr(cohort, "__array__"):
        mask = np.asarray(cohort)
        if mask.dtype.kind != "b" or mask.shape != (n,):
            raise InvalidParameterError(f"cohort: expected a boolean mask of {n} rows, a column name or a column position, got {describe(cohort)}")
        key: np.ndarray = mask
    else:
        if exp.data is None:
            raise InvalidParameterError(f"cohort: the column {cohort!r} needs the explained data, but the result holds none (exp.data is None)")
        if isinstance(cohort, str):
            if cohort not in exp.feature_names:
                raise InvalidParameterError(f"cohort: unknown column {cohort!r}; the columns are {exp.feature_names}")
            j = exp.feature_names.index(cohort)
        elif isinstance(cohort, (int, np.integer)) and not isinstance(cohort, bool) and -exp.n_features <= int(cohort) < exp.n_features:
            j = int(cohort) % exp.n_features
        else:
            raise InvalidParameterError(
                f"cohort: expected a boolean mask of {n} rows, a column name or a column position in "
                f"[{-exp.n_features}, {exp.n_features}), got {describe(cohort)}"
            )
        key = np.asarray(exp.data[:, j])
    labels = [str(v) for v in key.tolist()]
    distinct = sorted(set(labels), key=lambda s: labels.index(s)) if key.dtype.kind == "O" else [str(v) for v in np.unique(key).tolist()]
    if len(distinct) > MAX_COHORTS:
        raise InvalidParameterError(
            f"cohort: expected a column with at most {MAX_COHORTS} distinct values (one cohort each), got {len(distinct)}; "
            "pass a boolean mask instead"
        )
    text = np.array(labels, dtype=object)
    return [(name, np.flatnonzero(text == name)) for name in distinct]


def shapley_importance(exp: Attribution | Interaction, *, cohort: Any = None, signed: bool = False) -> Importance:
    """The global importance of each feature from local attributions: the mean |value| over the rows.

    The standard error of each mean is the spread over the rows, ``std(|v|, ddof=1) / sqrt(n)``,
    combined with the results' own sampling error when they report one (``diagnostics["std_err"]``,
    e.g. KernelSHAP): ``sqrt(se_rows^2 + sum_i std_err_i^2 / n^2)``, which assumes the estimation
    errors of different rows are independent (and ``|.|`` never increases an error). The result is
    an :class:`~xaikit.results.Importance` with one repeat, its ``std_err`` field holding those
    standard errors, so that ``ci()`` is the normal interval.

    Parameters
    ----------
    exp : Attribution or Interaction
        Local values (an Interaction is summed over its second feature axis first).
    cohort : boolean mask (n_rows,), str or int, optional
        Summarise by cohort: a mask (cohorts ``"False"`` and ``"True"``), or a column of ``exp.data``
        (by name or position), each distinct value a cohort. The result then has one output per
        (cohort, output), named ``"<cohort>: <output>"``.
    signed : bool
        The mean signed value instead of the mean |value|.

    Returns
    -------
    Importance
        ``values`` (n_features, outputs, 1); ``diagnostics["n_rows"]`` (outputs,): the rows each summary is over.

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> values = [[[1.0], [-2.0]], [[-3.0], [0.0]], [[1.0], [2.0]], [[-1.0], [0.0]]]
    >>> exp = xk.Attribution(values=values, base_values=np.zeros((4, 1)), data=[[0, 1], [1, 1], [0, 1], [1, 1]],
    ...                      feature_names=["a", "b"], method="demo")
    >>> imp = shapley_importance(exp)
    >>> imp.mean()[:, 0].tolist(), imp.std_err[:, 0].round(4).tolist()
    ([1.5, 1.0], [0.5, 0.5774])
    >>> shapley_importance(exp, signed=True).mean()[:, 0].tolist()
    [-0.5, 0.0]
    >>> by = shapley_importance(exp, cohort="a"); by.output_names, by.mean()[:, 1].tolist()
    (['0.0: output0', '1.0: output0'], [2.0, 0.0])
    """
    if isinstance(exp, Interaction):
        exp = exp.to_attribution()
    if not isinstance(exp, Attribution):
        raise InvalidParameterError(f"exp: expected an Attribution or an Interaction, got {type(exp).__name__ if hasattr(exp, 'kind') else describe(exp)}")
    if not isinstance(signed, (bool, np.bool_)):
        raise InvalidParameterError(f"signed: expected True or False, got {describe(signed)}")
    groups = _cohorts(exp, cohort)
    v = np.asarray(exp.values)
    a = v if signed else np.abs(v)
    se_in = exp.diagnostics.get("std_err")
    se_in = None if not isinstance(se_in, np.ndarray) or se_in.shape != v.shape else np.asarray(se_in, dtype=np.float64)
    means: list[np.ndarray] = []
    errors: list[np.ndarray] = []
    names: list[str] = []
    sizes: list[int] = []
    for label, rows in groups:
        if len(rows) < 2:
            raise InvalidParameterError(
                f"cohort: expected at least 2 rows in each cohort (a standard error needs them), got {len(rows)} in {label!r}"
                if cohort is not None else f"exp: expected at least 2 rows (a standard error needs them), got {len(rows)}"
            )
        part = a[rows]
        n = len(rows)
        se = part.std(axis=0, ddof=1) / np.sqrt(n)
        if se_in is not None:
            se = np.sqrt(se**2 + (se_in[rows] ** 2).sum(axis=0) / n**2)
        means.append(part.mean(axis=0))
        errors.append(se)
        names.extend(out if cohort is None else f"{label}: {out}" for out in exp.output_names)
        sizes.extend([n] * exp.n_outputs)
    values = np.concatenate(means, axis=1)[:, :, None]
    return Importance(
        values=values,
        std_err=np.concatenate(errors, axis=1),
        feature_names=exp.feature_names,
        output_names=names,
        method="shapley_importance",
        params={"source_method": exp.method, "signed": bool(signed), "cohort": None if cohort is None or not isinstance(cohort, (str, int)) else cohort,
                "by_mask": cohort is not None and not isinstance(cohort, (str, int))},
        diagnostics={"n_rows": np.array(sizes, dtype=np.int64)},
        diagnostic_axes={"n_rows": "o"},
        provenance=exp.provenance,
    )


def interaction_ranking(inter: Interaction, target: int | str = 0) -> list[tuple[str, str, float]]:
    """Feature pairs sorted by decreasing mean |interaction| for one output (ties: first pair first).

    The strength of pair ``(i, j)``, ``i < j``, counts both halves of the symmetric matrix:
    ``mean_rows |v[:, i, j]| + mean_rows |v[:, j, i]|`` (SHAP interaction values split each
    interaction equally between them).

    Parameters
    ----------
    inter : Interaction
    target : int or str
        The output, by position or name.

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> v = np.zeros((1, 3, 3, 1)); v[0, 0, 2, 0] = v[0, 2, 0, 0] = 0.5; v[0, 0, 1, 0] = v[0, 1, 0, 0] = -0.1
    >>> inter = xk.Interaction(values=v, base_values=[[0.0]], feature_names=["a", "b", "c"], method="demo")
    >>> interaction_ranking(inter)
    [('a', 'c', 1.0), ('a', 'b', 0.2), ('b', 'c', 0.0)]
    """
    if not isinstance(inter, Interaction):
        raise InvalidParameterError(f"inter: expected an Interaction, got {type(inter).__name__ if hasattr(inter, 'kind') else describe(inter)}")
    k = inter._output_position(target)
    m = np.abs(np.asarray(inter.values[..., k])).mean(axis=0)
    d = m.shape[0]
    i, j = np.triu_indices(d, k=1)
    scores = m[i, j] + m[j, i]
    order = np.argsort(-scores, kind="stable")
    names = inter.feature_names
    return [(names[int(i[p])], names[int(j[p])], float(scores[p])) for p in order]
