"""SmoothGrad (Smilkov et al. 2017) and VarGrad (Adebayo et al. 2018): the mean and the variance of
another gradient method's attributions over noisy copies of each input."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np

from xaikit._validation import (
    RandomState,
    check_float,
    check_gradient_budget,
    check_int,
)
from xaikit.errors import InvalidParameterError
from xaikit.explainers.gradients.base import (
    GradientExplainer,
    _noise_scales,
    _result,
    _row_rngs,
    _seed_of,
    begin,
    resolve_target,
)
from xaikit.explainers.gradients.gradient_shap import GradientShap
from xaikit.explainers.gradients.integrated_gradients import IntegratedGradients
from xaikit.explainers.gradients.saliency import Saliency
from xaikit.results import Attribution


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
    #: "mean" (SmoothGrad) or "variance" (VarGrad).
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

    def explain(
        self,
        X: Any,
        /,
        *,
        target: Any = None,
        n_samples: int = 50,
        batch_size: int | None = None,
        executor: Any = "auto",
        random_state: RandomState = None,
        **params: Any,
    ) -> Attribution:
        """Smoothed attributions of every row of ``X``.

        Parameters
        ----------
        X : array or tensor (n, ...)
        target : int, str, array of n ints, "predicted" or callable, optional
            Resolved once on the noise-free inputs.
        n_samples : int
            Noisy copies per row (at least 2 for VarGrad).
        batch_size : int, optional
            Model rows per call: noisy copies of several rows and samples are batched together.
        random_state : int, Generator or None
        **params
            Passed to the wrapped method (e.g. ``baseline=``, ``n_steps=`` for Integrated Gradients).

        Returns
        -------
        Attribution
            ``values`` (n, d, 1); diagnostics ``std_err`` (SmoothGrad), ``target``, ``input_shape``.
        """
        start, Xa, bs, seed_seq = begin(X, batch_size, executor, random_state)
        n, shape = Xa.shape[0], Xa.shape[1:]
        inner = self.explainer
        S = check_int(n_samples, "n_samples", minimum=1 if self.statistic == "mean" else 2)
        # the wrapped method's own cost per input: IG's steps x baselines, GradientShap's samples
        inner_steps: Any = 1
        if isinstance(inner, IntegratedGradients):
            inner_steps = params.get("n_steps", 50)
        elif isinstance(inner, GradientShap):
            inner_steps = params.get("n_samples", 25)
        if not isinstance(inner_steps, int) or isinstance(inner_steps, bool):
            inner_steps = 1  # refused with its name by the wrapped method
        if isinstance(inner, IntegratedGradients):
            check_gradient_budget("n_steps", inner_steps, per_row=inner_steps, input_size=1,
                                  what=f"{inner_steps} steps", method=params.get("method", "gausslegendre"))
            if inner.background is not None:
                inner_steps *= int(inner.background.shape[0])
        check_gradient_budget("n_samples", S, per_row=S * max(1, inner_steps),
                              input_size=int(np.prod(shape)), what=f"{S} samples x {inner_steps} gradient(s) each")
        idx, out_name = resolve_target(self.model, Xa, target, batch_size=bs)
        sigma = _noise_scales(Xa, self.noise, self.noise_abs, 0.15)
        noise_rngs = _row_rngs(seed_seq, n, stream=0)
        inner_rngs = _row_rngs(seed_seq, n, stream=1)
        accepted = [
            p.name for p in inspect.signature(inner._prepare).parameters.values() if p.kind is p.KEYWORD_ONLY
        ]
        for key in params:
            if key not in accepted:
                raise InvalidParameterError(
                    f"{key}: not a parameter of {type(inner).__name__}.explain; "
                    f"expected one of {accepted or 'none'}"
                )
        prepared = inner._prepare(Xa, idx, inner_rngs, bs, **params)
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
        else:
            values = np.maximum(second - mean**2, 0.0)
        return _result(
            self,
            values,
            X=Xa,
            target=idx,
            output_name=out_name,
            start=start,
            params={
                "explainer": inner.name,
                **inner._params(),
                "n_samples": S,
                "noise": self.noise if self.noise is not None or self.noise_abs is not None else 0.15,
                "noise_abs": self.noise_abs,
                **{k: v for k, v in params.items() if isinstance(v, (int, float, str, bool, type(None)))},
            },
            diagnostics=diagnostics,
            seed=_seed_of(seed_seq),
        )


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
