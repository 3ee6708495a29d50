"""GradientSHAP / expected gradients (Lundberg & Lee 2017; Erion et al. 2021)."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import check_float, check_gradient_budget, check_int, describe, several_inputs
from xaikit.errors import InvalidParameterError
from xaikit.explainers.gradients.base import (
    BATCH_SIZE,
    FORWARD_ARGS,
    Computed,
    GradientExplainer,
    GradientPlan,
    _accumulate,
    _as_input,
    _noise_scales,
    _predict,
    _row_rngs,
)
from xaikit.explainers.gradients.inputs import InputLayout, PackedModel, id_baseline
from xaikit.explainers.pipeline import Parameter, integer


def _background_item(item: Any, name: str) -> np.ndarray:
    """One input's background as a numpy array ``(m, ...)``: floating point as float64, integers (token ids) as they are."""
    if hasattr(item, "detach") and hasattr(item, "numpy"):
        item = item.detach().cpu().numpy()
    arr = np.asarray(item) if not isinstance(item, np.ndarray) else item
    if arr.dtype.kind in "iu" and arr.ndim >= 1:
        return arr
    return _as_input(arr, name)


class GradientShap(GradientExplainer):
    """GradientSHAP / expected gradients (Lundberg & Lee 2017; Erion et al. 2021), as in Captum.

    For each of ``n_samples`` draws per row: a baseline ``b`` chosen uniformly from ``background``,
    a point ``a`` uniform in [0, 1], and Gaussian noise ``e`` added to the input; the sample is
    ``grad f(b + a (x + e - b)) * (x + e - b)``, and the attributions are the mean over samples. In
    expectation (without noise) they sum to ``f(x) - E f(b)``: ``base_values`` are ``E f(b)`` over the
    background, ``diagnostics["completeness_gap"]`` the difference, ``diagnostics["std_err"]`` the
    sampling standard error of each attribution.

    Parameters
    ----------
    model : torch.nn.Module or a model with the ``"gradient"`` capability
    background : array (m, *input_shape), or a tuple of them (one per input)
        Baselines drawn from uniformly. For a model of several inputs (``X`` a tuple or dict of
        arrays, as in Captum), one background per input (a tuple, or a dict by name), all with the
        same ``m`` rows: row ``j`` of each makes baseline ``j``; for token ids explained on their
        embedding, background token ids (embedded).
    noise, noise_abs : float, optional
        Standard deviation of the Gaussian noise added to the input, as a fraction of each
        input's value range (``noise``) or absolute (``noise_abs``, Captum's ``stdevs``);
        no noise by default.
    output : str

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> net = torch.nn.Linear(2, 1, bias=False).double()
    >>> _ = net.weight.data.copy_(torch.tensor([[1.0, 2.0]]))
    >>> exp = xk.GradientShap(net, background=np.zeros((1, 2))).explain(np.ones((1, 2)), random_state=0)
    >>> exp.values[0, :, 0].tolist()  # a linear model: exactly w * (x - b)
    [1.0, 2.0]
    """

    name = "gradient_shap"
    stochastic = True

    def __init__(
        self,
        model: Any,
        /,
        *,
        background: Any = None,
        noise: float | None = None,
        noise_abs: float | None = None,
        output: str = "auto",
    ) -> None:
        super().__init__(model, output=output)
        if background is None:
            raise InvalidParameterError(
                "background: GradientShap needs a set of baseline inputs (m, *input_shape), got None"
            )
        if several_inputs(background):
            keys = [str(k) for k in background] if isinstance(background, dict) else None
            listed = list(background.values()) if isinstance(background, dict) else list(background)
            items = [_background_item(b, f"background[{k!r}]") for k, b in zip(keys or range(len(listed)), listed)]
            rows = {b.shape[0] for b in items}
            if len(rows) != 1:
                raise InvalidParameterError(
                    "background: expected the same number of rows in the background of every input (row j of each makes "
                    f"baseline j), got {[b.shape[0] for b in items]} rows"
                )
            self.background: np.ndarray | list[np.ndarray] = items
            self._background_keys = keys
        else:
            self.background = _background_item(background, "background")
            self._background_keys = None
        for name, value in (("noise", noise), ("noise_abs", noise_abs)):
            if value is not None:
                check_float(value, name, minimum=0.0)
        if noise is not None and noise_abs is not None:
            _noise_scales(np.zeros((1, 1)), noise, noise_abs, 0.0)  # raises
        self.noise, self.noise_abs = noise, noise_abs

    def _prepare(
        self,
        X: np.ndarray,
        target: np.ndarray,
        rngs: list[np.random.Generator] | None,
        batch_size: int,
        *,
        n_samples: int = 25,
    ) -> dict[str, Any]:
        bg = self._packed_background() if isinstance(self.model, PackedModel) else self.background
        if isinstance(bg, list) or bg.dtype.kind != "f":
            raise InvalidParameterError(
                f"background: expected one array of floating-point rows {X.shape[1:]} like X, got "
                + (f"{len(bg)} backgrounds (one per input) for one input" if isinstance(bg, list) else describe(bg))
            )
        if bg.shape[1:] != X.shape[1:]:
            raise InvalidParameterError(f"X: expected rows of shape {bg.shape[1:]} like the background, got {describe(X)}")
        return {
            "background": bg,
            "n_samples": check_int(n_samples, "n_samples", minimum=1),
            "sigma": _noise_scales(X, self.noise, self.noise_abs, 0.0),
            "rngs": rngs,
        }

    def _packed_background(self) -> np.ndarray:
        """The background of several inputs (or of token ids) packed like the explained rows: each
        attributed input's own, token ids embedded."""
        model = self.model
        if not isinstance(model, PackedModel):  # pragma: no cover - called through a layout only
            raise InvalidParameterError("background: expected a model of several inputs")
        layout = model.layout
        given = self.background
        if isinstance(given, list):
            if self._background_keys is not None:
                per = layout.split(dict(zip(self._background_keys, given)), "background")
            else:
                per = layout.split(tuple(given), "background")
        else:
            if len(layout.attributed) > 1:
                raise InvalidParameterError(
                    f"background: the model takes {len(layout.attributed)} attributed inputs ({layout.names}), so the "
                    f"background is one array per input (a tuple), got {describe(given)}"
                )
            per = [given if k in layout.attributed else None for k in range(layout.n_inputs)]
        parts = []
        for k, position in enumerate(layout.attributed):
            b = per[position]
            label = f"background[{position if layout.keys is None else layout.keys[position]!r}]"
            if b is None:
                raise InvalidParameterError(f"background: expected a background for the input {layout.names[k]}, got None")
            m = b.shape[0]
            if position in layout.layers:  # token ids: their embedding, the other inputs those of the first row
                ids = id_baseline(b, np.zeros((m, *layout.items[position].shape[1:]), dtype=layout.items[position].dtype),
                                  layout.labels[position], label)
                args = layout.arguments(None, np.zeros(m, dtype=np.int64), replace={position: ids})
                parts.append(np.asarray(layout.model.layer_activations(args, layout.layers[position]), dtype=np.float64))
                continue
            if b.dtype.kind != "f" or tuple(b.shape[1:]) != layout.shapes[k]:
                raise InvalidParameterError(
                    f"{label}: expected floating-point rows of shape {layout.shapes[k]} like {layout.names[k]}, got {describe(b)}"
                )
            parts.append(b)
        return layout.pack(parts)

    def _attribute(
        self,
        X: np.ndarray,
        target: np.ndarray,
        *,
        batch_size: int,
        rows: np.ndarray,
        background: np.ndarray,
        n_samples: int,
        sigma: np.ndarray,
        rngs: list[np.random.Generator],
        second_moment: np.ndarray | None = None,
    ) -> np.ndarray:
        """Mean over samples; each sample's draws come from its row's generator, in sample order:
        a background index, a point on the path, then the noise."""
        n, shape = X.shape[0], X.shape[1:]
        out = np.zeros(X.shape)
        total = n * n_samples
        m = background.shape[0]
        pad = (1,) * len(shape)
        for lo in range(0, total, batch_size):
            flat = np.arange(lo, min(lo + batch_size, total))
            r = flat // n_samples
            base = np.empty((flat.size, *shape))
            alpha = np.empty(flat.size)
            noisy = np.empty((flat.size, *shape))
            for k, row in enumerate(r):
                rng = rngs[rows[row]]
                base[k] = background[rng.integers(m)]
                alpha[k] = rng.uniform()
                noisy[k] = X[row] + rng.standard_normal(shape) * sigma[rows[row]]
            diff = noisy - base
            points = base + alpha.reshape(-1, *pad) * diff
            g = self._model_gradient(points, target[r], rows[r])
            sample = g * diff
            _accumulate(out, r, sample)
            if second_moment is not None:
                _accumulate(second_moment, r, sample * sample)
        out /= n_samples
        if second_moment is not None:
            second_moment /= n_samples
        return out

    summary = "GradientSHAP values of every row of ``X``."
    returns_doc = """Attribution
        ``values`` (n, d, 1), ``base_values`` ``E f(b)``; diagnostics ``std_err`` (n, d, 1),
        ``completeness_gap`` (n, 1), ``prediction`` (n, 1), ``target`` (n,)."""
    explain_parameters = (
        Parameter("n_samples", 25, "int", """
            Samples per row (Captum's default is 5); row ``i`` draws from its own stream of
            ``random_state``.""", integer(minimum=1)),
        BATCH_SIZE,
        FORWARD_ARGS,
    )
    packs_inputs = True

    def _check(self, X: np.ndarray, params: dict[str, Any], layout: InputLayout | None = None) -> dict[str, Any]:
        S = params["n_samples"]
        check_gradient_budget("n_samples", S, per_row=S, input_size=int(np.prod(X.shape[1:])), what=f"{S} samples")
        return params

    def _rows_matter(self) -> bool:
        """Whether the model's output at a baseline depends on the explained row: a model of several inputs
        whose other inputs or fixed arguments are per row (token ids, masks, arrays of arguments)."""
        if not isinstance(self.model, PackedModel):
            return False
        layout = self.model.layout
        return bool(layout.layers) or any(isinstance(a, np.ndarray) for a in layout.extra) or any(
            layout.rowwise(k) for k in range(layout.n_inputs) if k not in layout.attributed
        )

    def _compute(self, plan: GradientPlan, seed: np.random.SeedSequence) -> Computed:
        Xa, idx, bs = plan.X, plan.target, plan.batch_size
        n = Xa.shape[0]
        prepared = self._prepare(Xa, idx, _row_rngs(seed, n), bs, n_samples=plan.params["n_samples"])
        second = np.zeros(Xa.shape)
        values = self._attribute(Xa, idx, batch_size=bs, rows=np.arange(n), second_moment=second, **prepared)
        S = prepared["n_samples"]
        var = np.maximum(second - values**2, 0.0) * (S / (S - 1) if S > 1 else 0.0)
        std_err = np.sqrt(var / S).reshape(n, -1, 1) if S > 1 else np.full((n, values[0].size, 1), np.nan)
        fx = _predict(self.model, Xa, bs)[np.arange(n), idx]
        bg = prepared["background"]
        if self._rows_matter():  # E f(b) with each row's own fixed arguments and other inputs
            m = bg.shape[0]
            fb_rows = _predict(self.model, np.tile(bg, (n, 1)), bs, rows=np.repeat(np.arange(n), m))
            fb = fb_rows[np.arange(n * m), np.repeat(idx, m)].reshape(n, m).mean(axis=1)
        else:
            fb = _predict(self.model, bg, bs).mean(axis=0)[idx]
        gap = values.reshape(n, -1).sum(axis=1) - (fx - fb)
        diagnostics = {"std_err": std_err, "completeness_gap": gap[:, None], "prediction": fx[:, None],
                       "n_model_calls": np.full(n, S + 1, dtype=np.int64)}
        params = {"n_samples": S, "n_background": int(prepared["background"].shape[0]), "noise": self.noise,
                  "noise_abs": self.noise_abs}
        return Computed(values, fb, diagnostics, params)
