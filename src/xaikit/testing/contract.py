"""``check_explainer``: the explainer contract run on any method, a user's included.

Every registered method gets these checks with no test written by hand (``tests/properties`` runs
them over :data:`xaikit.explainers.base.REGISTRY`):

- ``contract``: the class attributes it declares (kind, result, requires, axioms, parameters);
- ``result``: ``explain`` returns the declared result kind, with one row per input row, as many
  features and outputs as it names, finite values; an exact method reports no sampling error;
- ``axiom:<name>``: each axiom the class claims (efficiency, dummy, symmetry, linearity), within
  the case's tolerance plus four reported standard errors for sampled methods;
- ``seed``: the same seed gives the same result; another seed changes the result of a method that
  samples (``stochastic``) and leaves any other unchanged;
- ``executor:threads`` and ``executor:processes``: the same values as serial, to the bit;
- ``batch_size``: the same values with one row per model call;
- ``frame``: a DataFrame gives the same values as its array (tabular cases);
- ``save_load``: the result survives ``save``/``load`` and ``to_bytes``/``from_bytes``;
- ``bad:X``, ``bad:target``, ``bad:random_state``, ``bad:executor``: bad input raises
  :class:`~xaikit.errors.InvalidParameterError` naming the parameter.

A check the case cannot run (no second model for linearity, no DataFrame for images) is reported
as skipped with its reason, never silently passed.

Examples
--------
>>> import xaikit as xk
>>> report = check_explainer(xk.ExactShapley, only=["result", "axiom:efficiency", "seed"])
>>> report.passed
['result', 'axiom:efficiency', 'seed']
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.explainers.base import Explainer
from xaikit.testing.cases import Case, default_case

__all__ = ["check_explainer", "ContractReport", "CHECKS"]


@dataclass
class ContractReport:
    """What :func:`check_explainer` ran: the checks passed, and those skipped with their reason."""

    explainer: str
    passed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"ContractReport({self.explainer}: {len(self.passed)} passed, {len(self.skipped)} skipped)"


class _Skip(Exception):
    """The case cannot run this check; the message says why."""


@dataclass
class _Context:
    cls: type[Explainer]
    case: Case
    ref: Any = None

    def run(self, model: Any = None, X: Any = None, **kwargs: Any) -> Any:
        explainer = self.case.make(self.case.model if model is None else model)
        params = {"random_state": 0, "executor": "serial", **self.case.explain, **kwargs}
        return explainer.explain(self.case.X if X is None else X, *self.case.inputs, **params)


def _std_err(exp: Any) -> np.ndarray:
    se = exp.diagnostics.get("std_err")
    return np.zeros_like(exp.values) if se is None else np.asarray(se, dtype=np.float64).reshape(exp.values.shape)


def _fail(check: str, message: str) -> AssertionError:
    return AssertionError(f"{check}: {message}")


def _check_contract(ctx: _Context) -> None:
    from xaikit.explainers.base import _check_contract as declared

    declared(ctx.cls)


def _check_result(ctx: _Context) -> None:
    from xaikit.explainers.base import result_kinds

    exp: Any = ctx.ref
    cls, n = ctx.cls, len(ctx.case.X)
    kinds = result_kinds(cls)
    if not isinstance(ctx.ref, kinds):
        raise _fail("result", f"expected {' or '.join(k.__name__ for k in kinds)} (declared), got {type(exp).__name__}")
    if cls.name and exp.method != cls.name:
        raise _fail("result", f"expected method {cls.name!r}, got {exp.method!r}")
    if cls.kind != "local":  # the result kind validates its own fields (finite where declared) when built
        return
    values = np.asarray(exp.values)
    if values.ndim != 3 or values.shape[0] != n:
        raise _fail("result", f"expected values of shape ({n}, features, outputs), got {values.shape}")
    _, k, o = values.shape
    if ctx.case.n_features is not None and k != ctx.case.n_features:
        raise _fail("result", f"expected one value per input feature ({ctx.case.n_features}), got {k}")
    if len(exp.feature_names) != k or len(exp.output_names) != o:
        raise _fail("result", f"values {values.shape} but {len(exp.feature_names)} feature and {len(exp.output_names)} output names")
    if np.asarray(exp.base_values).shape != (n, o):
        raise _fail("result", f"expected base_values of shape {(n, o)}, got {np.asarray(exp.base_values).shape}")
    if not np.isfinite(values).all():
        raise _fail("result", f"{int((~np.isfinite(values)).sum())} values are not finite")
    if cls.name and exp.method != cls.name:
        raise _fail("result", f"expected method {cls.name!r}, got {exp.method!r}")
    if cls.exact and np.abs(_std_err(exp)).max(initial=0.0) > 0:
        raise _fail("result", "the class says it is exact, but its result reports standard errors above zero")


def _tolerance(ctx: _Context, se: np.ndarray) -> np.ndarray:
    return ctx.case.atol * (1.0 + np.abs(ctx.ref.values).max(initial=0.0)) + 4.0 * se


def _axiom_efficiency(ctx: _Context) -> None:
    case, exp = ctx.case, ctx.ref
    if case.predict is None:
        raise _Skip("the case has no prediction function")
    pred = np.asarray(case.predict(case.model, case.X), dtype=np.float64)
    if pred.shape != exp.base_values.shape:
        raise _Skip(f"the result explains {exp.base_values.shape[1]} of the model's {pred.shape[1]} outputs")
    gap = np.abs(exp.values.sum(axis=1) + exp.base_values - pred)
    tol = _tolerance(ctx, np.sqrt((_std_err(exp) ** 2).sum(axis=1)))
    if (gap > tol).any():
        i, j = np.unravel_index(int(np.argmax(gap - tol)), gap.shape)
        raise _fail("axiom:efficiency", f"values + base differ from the prediction by {gap[i, j]:.3g} (row {i}, output {j}; tolerance {tol[i, j]:.3g})")


def _axiom_dummy(ctx: _Context) -> None:
    d = ctx.case.dummy
    if d is None:
        raise _Skip("the case has no feature the model ignores")
    v = np.abs(ctx.ref.values[:, d, :])
    tol = _tolerance(ctx, _std_err(ctx.ref)[:, d, :])
    if (v > tol).any():
        raise _fail("axiom:dummy", f"feature {d}, which the model ignores, gets |value| up to {v.max():.3g} (tolerance {tol.max():.3g})")


def _axiom_symmetry(ctx: _Context) -> None:
    pair, X = ctx.case.symmetric, np.asarray(ctx.case.X)
    if pair is None or X.ndim != 2:
        raise _Skip("the case has no pair of interchangeable features")
    a, b = pair
    rows = np.flatnonzero(X[:, a] == X[:, b])
    if rows.size == 0:
        raise _Skip("no row has equal values of the interchangeable features")
    v, se = ctx.ref.values[rows], _std_err(ctx.ref)[rows]
    diff = np.abs(v[:, a, :] - v[:, b, :])
    tol = _tolerance(ctx, np.sqrt(se[:, a, :] ** 2 + se[:, b, :] ** 2))
    if (diff > tol).any():
        raise _fail("axiom:symmetry", f"features {a} and {b} are interchangeable but their values differ by up to {diff.max():.3g} (tolerance {tol.max():.3g})")


def _axiom_linearity(ctx: _Context) -> None:
    case = ctx.case
    if case.combine is None or case.second is None:
        raise _Skip("the case has no second model to combine")
    a, b = 2.0, -0.5
    f, g, h = ctx.ref, ctx.run(case.second), ctx.run(case.combine(a, b))
    expected = a * f.values + b * g.values
    diff = np.abs(h.values - expected)
    se = np.sqrt(_std_err(h) ** 2 + (a * _std_err(f)) ** 2 + (b * _std_err(g)) ** 2)
    tol = _tolerance(ctx, se) * (abs(a) + abs(b))
    if (diff > tol).any():
        raise _fail(
            "axiom:linearity",
            f"values of {a} f + {b} g differ from {a} (values of f) + {b} (values of g) by up to {diff.max():.3g} "
            f"(tolerance {tol.max():.3g})",
        )


def _arrays(exp: Any) -> dict[str, np.ndarray]:
    """The array fields a result holds (its kind declares them), by name."""
    out = {}
    for f in type(exp).fields:
        value = getattr(exp, f.name, None)
        if value is not None and hasattr(f, "axes"):
            out[f.name] = np.asarray(value)
    return out


def _same(check: str, a: Any, b: Any, what: str) -> None:
    """Every array field of ``a`` equal to ``b``'s (NaN equal to NaN)."""
    left, right = _arrays(a), _arrays(b)
    for name in left.keys() | right.keys():
        x, y = left.get(name), right.get(name)
        if x is None or y is None or x.shape != y.shape:
            raise _fail(check, f"{what} changed the field {name!r} (present or shaped differently)")
        equal = np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f" and y.dtype.kind == "f" else np.array_equal(x, y)
        if not equal:
            worst = float(np.abs(x - y).max(initial=0.0)) if x.dtype.kind in "fiu" and y.dtype.kind in "fiu" else float("nan")
            raise _fail(check, f"{what} changed the {name} (by up to {worst:.3g})")


def _check_seed(ctx: _Context) -> None:
    _same("seed", ctx.ref, ctx.run(), "a second run with the same seed")
    other = ctx.run(random_state=1)
    if not ctx.cls.stochastic:
        _same("seed", ctx.ref, other, "another seed, for a method that does not sample (stochastic = False),")
    else:
        mine, theirs = _arrays(ctx.ref), _arrays(other)
        same = all(name in theirs and arr.shape == theirs[name].shape
                   and np.array_equal(arr, theirs[name], equal_nan=arr.dtype.kind == "f") for name, arr in mine.items())
        if same and mine.keys() == theirs.keys():
            raise _fail("seed", "the method samples (stochastic = True) but gives identical results for seeds 0 and 1: is random_state ignored?")


def _check_threads(ctx: _Context) -> None:
    _same("executor:threads", ctx.ref, ctx.run(executor="threads:2"), "threads:2 instead of serial")


def _check_processes(ctx: _Context) -> None:
    _same("executor:processes", ctx.ref, ctx.run(executor="processes:2"), "processes:2 instead of serial")


def _check_batch_size(ctx: _Context) -> None:
    if "batch_size" not in ctx.cls.parameters:
        raise _Skip("explain takes no batch_size")
    one = ctx.run(batch_size=1)
    for name, arr in _arrays(ctx.ref).items():
        other = _arrays(one).get(name)
        if other is None or other.shape != arr.shape or not np.allclose(other, arr, rtol=1e-9, atol=1e-12, equal_nan=True):
            raise _fail("batch_size", f"batch_size=1 changed the {name}")


def _check_frame(ctx: _Context) -> None:
    names, X = ctx.case.feature_names, np.asarray(ctx.case.X)
    if names is None or X.ndim != 2:
        raise _Skip("the case is not tabular")
    try:
        import pandas as pd
    except ImportError:
        raise _Skip("pandas is not installed") from None
    framed = ctx.run(X=pd.DataFrame(X, columns=names))
    for name, arr in _arrays(ctx.ref).items():
        other = _arrays(framed).get(name)
        if other is None or other.shape != arr.shape or not np.allclose(other, arr, rtol=1e-12, atol=1e-12, equal_nan=True):
            raise _fail("frame", f"a DataFrame gave another {name} than its array")


def _check_save_load(ctx: _Context) -> None:
    exp = ctx.ref
    kind = type(exp)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "result.xai")
        exp.save(path)
        loaded = kind.load(path)
    again = kind.from_bytes(exp.to_bytes())
    for name, other in (("load", loaded), ("from_bytes", again)):
        _same("save_load", exp, other, f"save then {name}")
        if other.to_dict() != exp.to_dict():
            raise _fail("save_load", f"save then {name} changed the result (its names, parameters or diagnostics)")


def _expect_naming(check: str, name: str, call: Callable[[], Any]) -> None:
    try:
        call()
    except InvalidParameterError as exc:
        if not str(exc).startswith(f"{name}:"):
            raise _fail(check, f"expected an InvalidParameterError naming {name!r}, got: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - any other error is what this check catches
        raise _fail(check, f"expected an InvalidParameterError naming {name!r}, got {type(exc).__name__}: {exc}") from exc
    else:
        raise _fail(check, f"expected an InvalidParameterError naming {name!r}; nothing was raised")


def _bad_X(ctx: _Context) -> None:
    X = np.asarray(ctx.case.X)
    if not ctx.case.fixed_width:
        raise _Skip("nothing fixes the width of X (a plain function and no reference data)")
    wider = np.concatenate([X, X[..., :1]], axis=-1)
    _expect_naming("bad:X", "X", lambda: ctx.run(X=wider))


def _bad_target(ctx: _Context) -> None:
    target = 0 if "attention" in ctx.cls.requires else 99
    _expect_naming("bad:target", "target", lambda: ctx.run(target=target))


def _bad_random_state(ctx: _Context) -> None:
    _expect_naming("bad:random_state", "random_state", lambda: ctx.run(random_state="x"))


def _bad_executor(ctx: _Context) -> None:
    _expect_naming("bad:executor", "executor", lambda: ctx.run(executor="no-such-executor"))


#: Every check, in the order run; ``axiom:*`` checks run for the axioms a class claims.
CHECKS: dict[str, Callable[[_Context], None]] = {
    "contract": _check_contract,
    "result": _check_result,
    "axiom:efficiency": _axiom_efficiency,
    "axiom:dummy": _axiom_dummy,
    "axiom:symmetry": _axiom_symmetry,
    "axiom:linearity": _axiom_linearity,
    "seed": _check_seed,
    "executor:threads": _check_threads,
    "executor:processes": _check_processes,
    "batch_size": _check_batch_size,
    "frame": _check_frame,
    "save_load": _check_save_load,
    "bad:X": _bad_X,
    "bad:target": _bad_target,
    "bad:random_state": _bad_random_state,
    "bad:executor": _bad_executor,
}


def check_explainer(cls: type[Explainer], case: Case | None = None, *, only: Sequence[str] | None = None) -> ContractReport:
    """Run the explainer contract on ``cls``; raise ``AssertionError`` naming the first check that fails.

    Parameters
    ----------
    cls : Explainer subclass
    case : Case, optional
        The model and data to check on (default :func:`~xaikit.testing.cases.default_case`).
    only : list of str, optional
        Names from :data:`CHECKS` to run (all by default).

    Returns
    -------
    ContractReport
        The checks passed and those the case could not run, with the reason.
    """
    if not (isinstance(cls, type) and issubclass(cls, Explainer)):
        raise InvalidParameterError(f"cls: expected an Explainer subclass, got {cls!r}")
    unknown = sorted(set(only or ()) - set(CHECKS))
    if unknown:
        raise InvalidParameterError(f"only: expected names from {list(CHECKS)}, got {unknown}")
    ctx = _Context(cls, default_case(cls) if case is None else case)
    report = ContractReport(cls.__name__)
    ctx.ref = ctx.run()
    for name, check in CHECKS.items():
        if only is not None and name not in only:
            continue
        if name.startswith("axiom:") and name.partition(":")[2] not in cls.axioms:
            continue
        try:
            check(ctx)
        except _Skip as skip:
            report.skipped[name] = str(skip)
        else:
            report.passed.append(name)
    return report
