"""SmoothGrad (Smilkov et al. 2017) and VarGrad (Adebayo et al. 2018): the mean and the variance of
another gradient method's attributions over noisy copies of each input."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np

from xaikit._validation import check_float, check_gradient_budget, check_int
from xaikit.errors import InvalidParameterError
from xaikit.explainers.gradients.base import (
    BATCH_SIZE,
    FORWARD_ARGS,
    Computed,
    GradientExplainer,
    GradientPlan,
    _noise_scales,
    _row_rngs,
)
from xaikit.explainers.gradients.gradient_shap import GradientShap
from xaikit.explainers.gradients.inputs import InputLayout
from xaikit.explainers.gradients.integrated_gradients import IntegratedGradients
from xaikit.explainers.gradients.saliency import Saliency
from xaikit.explainers.pipeline import Parameter, integer


class SmoothGrad(GradientExplainer):
    """SmoothGrad (Smilkov et al. 2017): the mean of another gradient method's attributions over
    noisy copies of each input.

    Parameters
    ----------
    explainer : GradientExplainer or model
        The method smoothed (e.g. ``Saliency(model)``, ``IntegratedGradients(model)``); a model is
        wrapped in :class:`Saliency`.
    noise : float, optional
        Standard deviation of the Gaussian noise as a fraction of each input's value range
        ``max(x) - min(x)`` (the paper's noise level; default 0.15).
    noise_abs : float, optional
        An absolute standard deviation instead (Captum's ``NoiseTunnel`` ``stdevs``).

    Notes
    -----
    Draw order (so that results can be reproduced): with ``s = spawn_seeds(random_state, n)[i]``,
    row ``i`` draws its noise from ``numpy.random.default_rng(numpy.random.SeedSequence(s.entropy,
    spawn_key=(*s.spawn_key, 0)))``, one ``standard_normal(input_shape)`` per sample in sample
    order, each times the row's standard deviation; the wrapped method draws from child
    ``1``. Results therefore do not depend on ``batch_size``. ``diagnostics["std_err"]`` is the
    standard error of the mean over samples.

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> net = torch.nn.Linear(3, 1).double()
    >>> exp = xk.SmoothGrad(xk.Saliency(net), noise=0.1).explain(np.ones((2, 3)), n_samples=4, random_state=0)
    >>> np.allclose(exp.values[:, :, 0], np.abs(net.weight.detach().numpy()))  # a linear model's gradient is constant
    True
    """

    name = "smooth_grad"
    stochastic = True
    #: "mean" (SmoothGrad), "square" (SmoothGrad squared) or "variance" (VarGrad).
    statistic: ClassVar[str] = "mean"

    def __init__(
        self,
        explainer: Any,
        /,
        *,
        noise: float | None = None,
        noise_abs: float | None = None,
        output: str = "auto",
    ) -> None:
        if not isinstance(explainer, GradientExplainer):
            explainer = Saliency(explainer, output=output)
        if isinstance(explainer, SmoothGrad):
            raise InvalidParameterError(
                f"explainer: expected a gradient method to smooth, got {type(explainer).__name__}"
            )
        self.explainer = explainer
        self.model = explainer.model
        if noise is not None:
            check_float(noise, "noise", minimum=0.0)
        if noise_abs is not None:
            check_float(noise_abs, "noise_abs", minimum=0.0)
        if noise is not None and noise_abs is not None:
            _noise_scales(np.zeros((1, 1)), noise, noise_abs, 0.15)  # raises
        self.noise = noise
        self.noise_abs = noise_abs

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.explainer!r}, noise={self.noise!r}, noise_abs={self.noise_abs!r})"

    summary = "Smoothed attributions of every row of ``X``."
    target_doc = GradientExplainer.target_doc + " Resolved once, on the noise-free inputs."
    returns_doc = """Attribution
        ``values`` (n, d, 1); diagnostics ``std_err`` (SmoothGrad), ``target``; ``input_shape``.
        ``explain`` also takes the wrapped method's parameters (e.g. ``baseline=``, ``n_steps=``
        for Integrated Gradients)."""
    explain_parameters = (
        Parameter("n_samples", 50, "int", "Noisy copies per row (at least 2 for VarGrad).", integer(minimum=1)),
        BATCH_SIZE,
        FORWARD_ARGS,
    )

    packs_inputs = True

    def _layout(self, X: Any, extra: Any) -> InputLayout:
        if not self.explainer.packs_inputs:
            return type(self.explainer)._layout(self.explainer, X, extra)  # its refusal, naming the wrapped method
        return super()._layout(X, extra)

    def _parameters(self) -> tuple[Parameter, ...]:
        """Its own parameters and those the wrapped method takes for each noisy copy."""
        inner = self.explainer
        accepted = {p.name for p in inspect.signature(inner._prepare).parameters.values() if p.kind is p.KEYWORD_ONLY}
        own = {p.name for p in self.explain_parameters}
        return self.explain_parameters + tuple(
            p for p in inner._parameters() if p.name in accepted and p.name not in own
        )

    def _check(self, X: np.ndarray, params: dict[str, Any], layout: InputLayout | None = None) -> dict[str, Any]:
        inner = self.explainer
        S = check_int(params["n_samples"], "n_samples", minimum=2 if self.statistic == "variance" else 1)
        # the wrapped method's own cost per input: IG's steps x baselines, GradientShap's samples
        inner_steps: Any = 1
        if isinstance(inner, IntegratedGradients):
            inner_steps = params["n_steps"]
            check_gradient_budget("n_steps", inner_steps, per_row=inner_steps, input_size=1,
                                  what=f"{inner_steps} steps", method=params["method"])
            if inner.background is not None:
                inner_steps *= int(inner.background.shape[0])
        elif isinstance(inner, GradientShap):
            inner_steps = 25
        check_gradient_budget("n_samples", S, per_row=S * max(1, inner_steps),
                              input_size=int(np.prod(X.shape[1:])), what=f"{S} samples x {inner_steps} gradient(s) each")
        return {**params, "n_samples": S}

    def _compute(self, plan: GradientPlan, seed: np.random.SeedSequence) -> Computed:
        Xa, idx, bs, S = plan.X, plan.target, plan.batch_size, plan.params["n_samples"]
        n, shape = Xa.shape[0], Xa.shape[1:]
        inner = self.explainer
        forwarded = {p.name: plan.params[p.name] for p in self._parameters()[len(self.explain_parameters):]}
        sigma = _noise_scales(Xa, self.noise, self.noise_abs, 0.15)
        noise_rngs = _row_rngs(seed, n, stream=0)
        inner_rngs = _row_rngs(seed, n, stream=1)
        prepared = inner._prepare(Xa, idx, inner_rngs, bs, **forwarded)
        total = np.zeros(Xa.shape)
        total_sq = np.zeros(Xa.shape)
        group = max(1, bs // n)  # samples per call to the wrapped method
        for s0 in range(0, S, group):
            samples = range(s0, min(s0 + group, S))
            noisy = np.empty((len(samples) * n, *shape))
            for k, _ in enumerate(samples):
                for i in range(n):
                    noisy[k * n + i] = Xa[i] + noise_rngs[i].standard_normal(shape) * sigma[i]
            rows = np.tile(np.arange(n), len(samples))
            attr = inner._attribute(noisy, idx[rows], batch_size=bs, rows=rows, **prepared)
            attr = attr.reshape(len(samples), n, *shape)
            total += attr.sum(axis=0)
            total_sq += (attr * attr).sum(axis=0)
        mean = total / S
        second = total_sq / S
        diagnostics: dict[str, Any] = {}
        if self.statistic == "mean":
            values = mean
            if S > 1:
                var = np.maximum(second - mean**2, 0.0) * S / (S - 1)
                diagnostics["std_err"] = np.sqrt(var / S).reshape(n, -1, 1)
        elif self.statistic == "square":
            values = second
        else:
            values = np.maximum(second - mean**2, 0.0)
        params = {
            "explainer": inner.name,
            **inner._params(),
            "noise": self.noise if self.noise is not None or self.noise_abs is not None else 0.15,
            "noise_abs": self.noise_abs,
        }
        return Computed(values, None, diagnostics, params)


class VarGrad(SmoothGrad):
    """VarGrad (Adebayo et al. 2018): the variance of another gradient method's attributions over
    noisy copies of each input, ``E[a^2] - E[a]^2`` as Captum's ``NoiseTunnel(nt_type="vargrad")``.

    Takes the parameters of :class:`SmoothGrad` (``explain``'s ``n_samples`` at least 2).

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> net = torch.nn.Linear(3, 1).double()
    >>> exp = xk.VarGrad(xk.Saliency(net)).explain(np.ones((1, 3)), n_samples=4, random_state=0)
    >>> float(np.abs(exp.values).max())  # a constant gradient does not vary
    0.0
    """

    name = "var_grad"
    statistic = "variance"


class SmoothGradSquared(SmoothGrad):
    """SmoothGrad squared: the mean of the squared attributions of another gradient method over noisy
    copies of each input, ``E[a^2]``, as Captum's ``NoiseTunnel(nt_type="smoothgrad_sq")``.

    Takes the parameters of :class:`SmoothGrad`.

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> net = torch.nn.Linear(2, 1, bias=False).double()
    >>> _ = net.weight.data.copy_(torch.tensor([[3.0, -1.0]]))
    >>> xk.SmoothGradSquared(xk.Saliency(net)).explain(np.ones((1, 2)), n_samples=4, random_state=0).values[0, :, 0].tolist()
    [9.0, 1.0]
    """

    name = "smooth_grad_squared"
    statistic = "square"
