"""Integrated Gradients (Sundararajan et al. 2017) and its quadrature rules."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from xaikit._validation import check_choice, check_gradient_budget, check_int, describe
from xaikit.errors import ConvergenceWarning, InvalidParameterError
from xaikit.explainers.gradients.base import (
    BATCH_SIZE,
    FORWARD_ARGS,
    SIGMA,
    Computed,
    GradientExplainer,
    GradientPlan,
    _accumulate,
    _as_input,
    _predict,
    _row_rngs,
)
from xaikit.explainers.gradients.inputs import InputLayout
from xaikit.explainers.pipeline import Parameter, choice, integer, real

#: The quadrature rules of :class:`IntegratedGradients` (Captum's names).
INTEGRATION_METHODS = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")


def integration_rule(method: str, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``alphas`` in [0, 1] and weights of a quadrature rule for the path integral.

    ``riemann_left`` / ``riemann_right`` / ``riemann_middle``: ``n_steps`` equal steps of
    ``1 / n_steps`` evaluated at their left end, right end or middle. ``riemann_trapezoid``: the
    trapezoid rule on ``n_steps`` equally spaced nodes from 0 to 1 (step ``1 / (n_steps - 1)``, half
    weight at both ends), whose weights sum to 1. ``gausslegendre``: Gauss-Legendre nodes and
    weights mapped from [-1, 1] to [0, 1], exact for polynomials of degree ``2 n_steps - 1``.

    Examples
    --------
    >>> alphas, weights = integration_rule("riemann_trapezoid", 3)
    >>> alphas.tolist(), weights.tolist()
    ([0.0, 0.5, 1.0], [0.25, 0.5, 0.25])
    >>> alphas, weights = integration_rule("gausslegendre", 2)
    >>> round(float(weights @ alphas**3), 12)  # the integral of a**3 over [0, 1]
    0.25
    """
    check_choice(method, "method", INTEGRATION_METHODS)
    n = check_int(n_steps, "n_steps", minimum=2 if method == "riemann_trapezoid" else 1)
    if method == "gausslegendre":
        nodes, w = np.polynomial.legendre.leggauss(n)
        return 0.5 * (nodes + 1.0), 0.5 * w
    if method == "riemann_trapezoid":
        weights = np.full(n, 1.0 / (n - 1))
        weights[[0, -1]] /= 2.0
        return np.linspace(0.0, 1.0, n), weights
    offset = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}[method]
    return (np.arange(n) + offset) / n, np.full(n, 1.0 / n)


class IntegratedGradients(GradientExplainer):
    """Integrated Gradients (Sundararajan et al. 2017).

    ``IG_i(x) = (x_i - b_i) * integral_0^1 d f(b + a (x - b)) / d x_i da``, computed with a
    quadrature rule of ``n_steps`` nodes. The attributions of a row sum to ``f(x) - f(b)`` up to the
    quadrature error, reported per row as ``diagnostics["completeness_gap"]``
    ``= sum(attributions) - (f(x) - f(b))``; ``base_values`` are ``f(b)``.

    Parameters
    ----------
    model : torch.nn.Module or a model with the ``"gradient"`` capability
    background : array (m, *input_shape), optional
        A set of baselines: the attributions are the average of Integrated Gradients over them
        (every baseline, every step: ``m * n_steps`` gradients per row), like expected gradients
        without the sampling; ``base_values`` are then the mean of ``f(b)``. Given, it replaces
        ``baseline``.
    multiply_by_inputs : bool
        True (the attributions): the integrated gradient times ``x - b``. False: the integrated
        gradient alone (Captum's ``multiply_by_inputs=False``, a "global" attribution); its values
        do not add up to ``f(x) - f(b)``, so no completeness gap is reported and ``tol`` does not apply.
    output : str

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Tanh()).double()
    >>> exp = xk.IntegratedGradients(net).explain(np.array([[1.0, 2.0]]), baseline=0.0, n_steps=20)
    >>> bool(abs(exp.diagnostics["completeness_gap"][0, 0]) < 1e-10)
    True
    """

    name = "integrated_gradients"
    packs_inputs = True
    # completeness (efficiency) holds only up to the quadrature error, reported as completeness_gap
    axioms = frozenset({"dummy", "symmetry", "linearity"})

    def __init__(self, model: Any, /, *, background: Any = None, multiply_by_inputs: bool = True,
                 output: str = "auto") -> None:
        super().__init__(model, output=output)
        self.background = None if background is None else _as_input(background, "background")
        if not isinstance(multiply_by_inputs, (bool, np.bool_)):
            raise InvalidParameterError(f"multiply_by_inputs: expected True or False, got {describe(multiply_by_inputs)}")
        self.multiply_by_inputs = bool(multiply_by_inputs)

    def _params(self) -> dict[str, Any]:
        return {"multiply_by_inputs": self.multiply_by_inputs}

    def _prepare(
        self,
        X: np.ndarray,
        target: np.ndarray,
        rngs: list[np.random.Generator] | None,
        batch_size: int,
        *,
        baseline: Any = None,
        n_steps: int = 50,
        method: str = "gausslegendre",
        sigma: float = 5.0,
    ) -> dict[str, Any]:
        alphas, weights = integration_rule(method, n_steps)
        B, _ = self._baselines(X, baseline, self.background, sigma, rngs)
        return {"B": B, "alphas": alphas, "weights": weights}

    def _attribute(
        self,
        X: np.ndarray,
        target: np.ndarray,
        *,
        batch_size: int,
        rows: np.ndarray,
        B: np.ndarray,
        alphas: np.ndarray,
        weights: np.ndarray,
    ) -> np.ndarray:
        """``sum_b sum_s w_s grad(b + a_s (x - b)) * (x - b) / m`` over baselines b, chunk by chunk."""
        n = X.shape[0]
        nb, m = B.shape[:2]
        k = alphas.shape[0]
        out = np.zeros(X.shape)
        total = n * m * k
        pad = (1,) * (X.ndim - 1)
        # path points in the model's own precision (half the memory of float64 for a float32 network,
        # and the points the network would compute itself); the sums stay in float64
        dt = getattr(self.model, "input_dtype", np.dtype(np.float64))
        Xd, Bd, ad = X.astype(dt, copy=False), B.astype(dt, copy=False), alphas.astype(dt)
        for lo in range(0, total, batch_size):
            flat = np.arange(lo, min(lo + batch_size, total))
            r, b, s = flat // (m * k), (flat // k) % m, flat % k
            base = Bd[rows[r] if nb > 1 else 0, b]
            diff = Xd[r] - base
            points = base + ad[s].reshape(-1, *pad) * diff
            g = self._model_gradient(points, target[r], rows[r])
            g *= (weights[s] / m).reshape(-1, *pad)
            if self.multiply_by_inputs:
                g *= diff
            _accumulate(out, r, g)
        return out

    summary = "Integrated Gradients of every row of ``X``."
    returns_doc = """Attribution
        ``values`` (n, d, 1), ``base_values`` ``f(b)``; diagnostics ``completeness_gap`` (n, 1),
        ``prediction`` (n, 1), ``n_steps`` (n,), ``target`` (n,), ``n_model_calls`` (n,):
        gradients (``n_steps`` per baseline) plus the two predictions; ``input_shape``."""
    explain_parameters = (
        Parameter("baseline", None, 'float, "zeros", "blur", "uniform" or array, default 0.0', """
            The reference input ``b``: a constant for every element (``0.0`` and ``"zeros"`` are
            the same); ``"blur"``, each input blurred by a Gaussian filter of standard deviation
            ``sigma`` (over every axis but the first, the channels, when an input has three or
            more axes); ``"uniform"``, noise drawn uniformly between each input's smallest and
            largest value (seeded by ``random_state``); an array shaped like one input, or one per
            row ``(n, *input_shape)``."""),
        Parameter("n_steps", 50, "int", "Quadrature nodes (at least 2 for ``riemann_trapezoid``).", integer(minimum=1)),
        Parameter("method", "gausslegendre", "{" + ", ".join(f'"{m}"' for m in INTEGRATION_METHODS) + "}",
                  "See :func:`integration_rule`.", choice(INTEGRATION_METHODS)),
        SIGMA,
        Parameter("tol", None, "float, optional", """
            Target for ``max |completeness_gap|``: rows above it are computed again with twice the
            steps until they reach it or ``max_steps``; then a
            :class:`~xaikit.errors.ConvergenceWarning` is issued. ``diagnostics["n_steps"]`` gives
            the steps used per row.""", real(minimum=0.0, strict=True)),
        Parameter("max_steps", 1024, "int", "The most steps ``tol`` may lead to."),
        BATCH_SIZE,
        FORWARD_ARGS,
    )

    def _check(self, X: np.ndarray, params: dict[str, Any], layout: InputLayout | None = None) -> dict[str, Any]:
        method = params["method"]
        steps = check_int(params["n_steps"], "n_steps", minimum=2 if method == "riemann_trapezoid" else 1)
        n_baselines = 1 if self.background is None else int(self.background.shape[0])
        size = int(np.prod(X.shape[1:]))
        check_gradient_budget("n_steps", steps, per_row=steps * n_baselines, input_size=size,
                              what=f"{steps} steps x {n_baselines} baseline(s)", method=method)
        max_steps = params["max_steps"]
        if params["tol"] is not None and not self.multiply_by_inputs:
            raise InvalidParameterError(
                f"tol: with multiply_by_inputs=False the values are integrated gradients, which do not add up to "
                f"f(x) - f(b), so there is no completeness gap to bring under tol; got tol={params['tol']!r}"
            )
        if params["tol"] is not None:
            max_steps = check_int(max_steps, "max_steps", minimum=steps)
            check_gradient_budget("max_steps", max_steps, per_row=max_steps * n_baselines, input_size=size,
                                  what=f"{max_steps} steps x {n_baselines} baseline(s)", method=method)
        return {**params, "n_steps": steps, "max_steps": max_steps}

    def _compute(self, plan: GradientPlan, seed: np.random.SeedSequence) -> Computed:
        Xa, idx, bs, p = plan.X, plan.target, plan.batch_size, plan.params
        n, method, steps, tol, max_steps = Xa.shape[0], p["method"], p["n_steps"], p["tol"], p["max_steps"]
        baseline = p["baseline"]
        B, description = self._baselines(Xa, baseline, self.background, p["sigma"], _row_rngs(seed, n))
        alphas, weights = integration_rule(method, steps)
        prepared = {"B": B, "alphas": alphas, "weights": weights}
        fx = _predict(self.model, Xa, bs)[np.arange(n), idx]
        if B.shape[0] == 1:
            fb_all = _predict(self.model, B[0], bs).mean(axis=0)
            fb = fb_all[idx]
        else:
            fb = _predict(self.model, B[:, 0], bs)[np.arange(n), idx]
        rows = np.arange(n)
        values = self._attribute(Xa, idx, batch_size=bs, rows=rows, **prepared)
        sum_axes = tuple(range(1, Xa.ndim))
        gap = values.sum(axis=sum_axes) - (fx - fb)
        used = np.full(n, steps, dtype=np.int64)
        if tol is not None:
            while True:
                bad = np.flatnonzero(np.abs(gap) > tol)
                if bad.size == 0 or 2 * used[bad[0]] > max_steps:
                    break
                k = 2 * int(used[bad[0]])
                alphas, weights = integration_rule(method, k)
                redo = self._attribute(
                    Xa[bad], idx[bad], batch_size=bs, rows=bad, B=B, alphas=alphas, weights=weights
                )
                values[bad] = redo
                gap[bad] = redo.sum(axis=sum_axes) - (fx[bad] - fb[bad])
                used[bad] = k
            if (np.abs(gap) > tol).any():
                warnings.warn(
                    f"tol: Integrated Gradients reached max_steps={max_steps} with a completeness gap of "
                    f"{np.abs(gap).max():.3g} > tol={tol:.3g} on {int((np.abs(gap) > tol).sum())} row(s); "
                    "raise max_steps, use method='gausslegendre', or a float64 model",
                    ConvergenceWarning,
                    stacklevel=2,
                )
        params = {"baseline": description, "n_steps": steps, "method": method, "tol": tol,
                  "max_steps": max_steps if tol is not None else None,
                  "sigma": float(p["sigma"]) if isinstance(baseline, str) and baseline == "blur" else None}
        diagnostics = {"completeness_gap": gap[:, None], "prediction": fx[:, None], "n_steps": used,
                       "n_model_calls": used * B.shape[1] + 2}
        if not self.multiply_by_inputs:  # integrated gradients alone: nothing they should add up to
            del diagnostics["completeness_gap"]
        return Computed(values, fb, diagnostics, params)
