"""Occlusion (Zeiler & Fergus 2014): slide a window over the input, replace it by a baseline, and
attribute the drop of the target output to the elements the window covered.

Model-agnostic: only ``model.predict`` is used, on inputs of any shape ``(n, *input_shape)``.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.explainers.gradients.base import SIGMA, ArrayExplainer, Computed, GradientPlan, _adapt, _predict, _row_rngs
from xaikit.explainers.pipeline import Parameter, integer
from xaikit.maskers.baselines import baselines

__all__ = ["Occlusion"]


def _check_lengths(value: Any, name: str) -> tuple[int, ...] | int:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < 1:
            raise InvalidParameterError(
                f"{name}: expected a positive integer or a tuple of them (one per input axis), got {describe(value)}"
            )
        return int(value)
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0:
        items = list(value)
        if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and int(v) >= 1 for v in items):
            return tuple(int(v) for v in items)
    raise InvalidParameterError(
        f"{name}: expected a positive integer or a tuple of them (one per input axis), got {describe(value)}"
    )


class Occlusion(ArrayExplainer):
    """Occlusion with a sliding window of any rank, as Captum's ``Occlusion``.

    For every position of the window (steps of ``stride`` along each axis, starting at 0, the last
    window cut at the border so that every element is covered), the windowed elements are set to
    the baseline and the drop ``f(x)[t] - f(occluded)[t]`` is added to each of them; each element's
    attribution is the mean drop over the windows that covered it.

    Parameters
    ----------
    model : any model (only predictions are used)
    window : int or tuple of int
        Window lengths, one per input axis (an int for every axis), e.g. ``(3, 8, 8)`` over all
        channels of an 8 x 8 patch.
    stride : int or tuple of int
        Steps between windows (1 by default); at most the window length, except along an axis
        the window spans entirely.
    output : str

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> f = lambda X: X[:, 0, :2].sum(axis=1)  # reads the first two elements only
    >>> exp = xk.Occlusion(f, window=(1, 2), stride=(1, 2)).explain(np.ones((1, 1, 4)), baseline=0.0)
    >>> exp.values[0, :, 0].tolist()  # hiding the first window drops the output by 2
    [2.0, 2.0, 0.0, 0.0]
    """

    name = "occlusion"
    requires = frozenset()
    exact = True

    def __init__(self, model: Any, /, *, window: Any, stride: Any = 1, output: str = "auto") -> None:
        self.model = _adapt(model, output, self.requires, type(self).__name__)
        self.window = _check_lengths(window, "window")
        self.stride = _check_lengths(stride, "stride")

    def __repr__(self) -> str:
        return f"Occlusion({self.model.describe()}, window={self.window}, stride={self.stride})"

    def _geometry(self, shape: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...], list[tuple[slice, ...]]]:
        rank = len(shape)
        window = (self.window,) * rank if isinstance(self.window, int) else self.window
        stride = (self.stride,) * rank if isinstance(self.stride, int) else self.stride
        for name, lengths in (("window", window), ("stride", stride)):
            if len(lengths) != rank:
                raise InvalidParameterError(
                    f"{name}: expected {rank} lengths, one per axis of an input of shape {shape}, got {lengths}"
                )
        for k, (w, s, d) in enumerate(zip(window, stride, shape)):
            if w > d:
                raise InvalidParameterError(
                    f"window: {w} along axis {k} exceeds the input's length {d} (shape {shape})"
                )
            if s > w and w < d:
                raise InvalidParameterError(
                    f"stride: {s} along axis {k} is longer than the window ({w}), which would leave elements uncovered"
                )
        # ceil((d - w) / s) + 1 positions per axis; the last window may reach past the border and is cut there
        starts = [[j * s for j in range(-(-(d - w) // s) + 1)] for w, s, d in zip(window, stride, shape)]
        windows = [
            tuple(slice(a, min(a + w, d)) for a, w, d in zip(corner, window, shape))
            for corner in itertools.product(*starts)
        ]
        return window, stride, windows

    summary = "Occlusion attributions of every row of ``X``."
    input_doc = "X : array or tensor (n, *input_shape)"
    returns_doc = """Attribution
        ``values`` (n, d, 1); diagnostics ``prediction`` (n, 1), ``n_windows``, ``n_model_calls``, ``target``."""
    explain_parameters = (
        Parameter("baseline", 0.0, 'float, "zeros", "blur", "uniform" or array', """
            What the window is replaced with; the baselines of
            :meth:`~xaikit.IntegratedGradients.explain`: a constant, the input blurred (``sigma``),
            uniform noise over each input's range (seeded by ``random_state``), an array shaped like
            one input, or one per row ``(n, *input_shape)``."""),
        SIGMA,
        Parameter("batch_size", None, "int, optional", "Occluded inputs per model call.", integer(minimum=1)),
    )

    def _compute(self, plan: GradientPlan, seed: np.random.SeedSequence) -> Computed:
        Xa, idx, bs = plan.X, plan.target, plan.batch_size
        n, shape = Xa.shape[0], Xa.shape[1:]
        window, stride, windows = self._geometry(shape)
        B, _ = baselines(Xa, plan.params["baseline"], None, plan.params["sigma"], _row_rngs(seed, n),
                         channels_last=bool(getattr(self.model, "channels_last", False)))
        base = B[:, 0]  # (1 or n, *input_shape)
        fx = _predict(self.model, Xa, bs)[np.arange(n), idx]
        counts = np.zeros(shape)
        for sl in windows:
            counts[sl] += 1.0
        total = np.zeros(Xa.shape)
        P = len(windows)
        pairs = n * P
        for lo in range(0, pairs, bs):
            flat = np.arange(lo, min(lo + bs, pairs))
            r, p = flat // P, flat % P
            batch = Xa[r].copy()
            for k in range(flat.size):
                sl = windows[p[k]]
                batch[(k, *sl)] = base[(r[k] if base.shape[0] > 1 else 0, *sl)]
            drop = fx[r] - self.model.predict(batch)[np.arange(flat.size), idx[r]]
            for k in range(flat.size):
                total[(r[k], *windows[p[k]])] += drop[k]
        params = {
            "window": list(window),
            "stride": list(stride),
            "baseline": float(base.flat[0]) if base.shape[0] == 1 and np.all(base == base.flat[0]) else "array",
        }
        diagnostics = {"prediction": fx[:, None], "n_windows": P, "n_model_calls": np.full(n, P + 1, dtype=np.int64)}
        return Computed(total / counts, None, diagnostics, params)
