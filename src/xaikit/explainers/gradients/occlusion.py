"""Occlusion (Zeiler & Fergus 2014): slide a window over the input, replace it by a baseline, and
attribute the drop of the target output to the elements the window covered.

Model-agnostic: only ``model.predict`` is used, on inputs of any shape ``(n, *input_shape)``, one or
several (a tuple or dict of arrays, one window per input), with ``additional_forward_args`` held
fixed. Integer inputs (token ids) are attributed as they are, occluded by the baseline's id (a pad token).
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.explainers.gradients.base import FORWARD_ARGS, SIGMA, Computed, GradientPlan, _adapt, _predict
from xaikit.explainers.gradients.feature_ablation import _Perturbation
from xaikit.explainers.gradients.inputs import InputLayout
from xaikit.explainers.pipeline import Parameter, integer

__all__ = ["Occlusion"]

Lengths = tuple[int, ...] | int


def _check_lengths(value: Any, name: str) -> Lengths:
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


def _check_per_input(value: Any, name: str) -> Lengths | list[Lengths]:
    """Lengths for every input (an int, or a tuple of one per axis), or one per input (a tuple of them
    holding at least one tuple, as Captum's ``sliding_window_shapes`` for several inputs)."""
    if isinstance(value, Sequence) and not isinstance(value, str) and any(isinstance(v, Sequence) for v in value):
        return [_check_lengths(v, f"{name}[{k}]") for k, v in enumerate(value)]
    return _check_lengths(value, name)


class Occlusion(_Perturbation):
    """Occlusion with a sliding window of any rank, as Captum's ``Occlusion``.

    For every position of the window (steps of ``stride`` along each axis, starting at 0, the last
    window cut at the border so that every element is covered), the windowed elements are set to
    the baseline and the drop ``f(x)[t] - f(occluded)[t]`` is added to each of them; each element's
    attribution is the mean drop over the windows that covered it.

    Several inputs (a tuple or dict of arrays) are occluded one at a time, each with its own window
    and stride (Captum's ``sliding_window_shapes`` and ``strides`` per input: a tuple of one per
    input, e.g. ``window=((1, 4, 4), (2,))``) and baseline; integer inputs (token ids) are attributed
    as they are, occluded by the baseline's id (a pad token); boolean inputs and
    ``additional_forward_args`` reach the model untouched.

    Parameters
    ----------
    model : any model (only predictions are used)
    window : int, tuple of int, or a tuple of them (one per input)
        Window lengths, one per input axis (an int for every axis), e.g. ``(3, 8, 8)`` over all
        channels of an 8 x 8 patch.
    stride : int, tuple of int, or a tuple of them (one per input)
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
    >>> g = lambda ids: (ids == 3).sum(axis=1)  # token ids, occluded by the pad id 0
    >>> xk.Occlusion(g, window=2, stride=2).explain(np.array([[3, 3, 5]]), baseline=0).values[0, :, 0].tolist()
    [2.0, 2.0, 0.0]
    """

    name = "occlusion"
    requires = frozenset()
    exact = True

    def __init__(self, model: Any, /, *, window: Any, stride: Any = 1, output: str = "auto") -> None:
        self.model = _adapt(model, output, self.requires, type(self).__name__)
        self.window = _check_per_input(window, "window")
        self.stride = _check_per_input(stride, "stride")

    def __repr__(self) -> str:
        return f"Occlusion({self.model.describe()}, window={self.window}, stride={self.stride})"

    def _pick(self, value: Lengths | list[Lengths], name: str, k: int, n_inputs: int) -> Lengths:
        if not isinstance(value, list):
            return value
        if len(value) != n_inputs:
            raise InvalidParameterError(
                f"{name}: expected one {name} per attributed input ({n_inputs}) or one for all, got {len(value)}: {value}"
            )
        return value[k]

    def _geometry(
        self, shape: tuple[int, ...], k: int = 0, n_inputs: int = 1, label: str = "the input"
    ) -> tuple[tuple[int, ...], tuple[int, ...], list[tuple[slice, ...]]]:
        rank = len(shape)
        given_w, given_s = self._pick(self.window, "window", k, n_inputs), self._pick(self.stride, "stride", k, n_inputs)
        window = (given_w,) * rank if isinstance(given_w, int) else given_w
        stride = (given_s,) * rank if isinstance(given_s, int) else given_s
        where = "" if n_inputs == 1 else f" ({label})"
        for name, lengths in (("window", window), ("stride", stride)):
            if len(lengths) != rank:
                raise InvalidParameterError(
                    f"{name}: expected {rank} lengths, one per axis of an input of shape {shape}{where}, got {lengths}"
                )
        for axis, (w, s, d) in enumerate(zip(window, stride, shape)):
            if w > d:
                raise InvalidParameterError(
                    f"window: {w} along axis {axis} exceeds the input's length {d} (shape {shape}){where}"
                )
            if s > w and w < d:
                raise InvalidParameterError(
                    f"stride: {s} along axis {axis} is longer than the window ({w}){where}, which would leave elements uncovered"
                )
        # ceil((d - w) / s) + 1 positions per axis; the last window may reach past the border and is cut there
        starts = [[j * s for j in range(-(-(d - w) // s) + 1)] for w, s, d in zip(window, stride, shape)]
        windows = [
            tuple(slice(a, min(a + w, d)) for a, w, d in zip(corner, window, shape))
            for corner in itertools.product(*starts)
        ]
        return window, stride, windows

    def _windows(self, X: np.ndarray, layout: InputLayout | None) -> tuple[list[np.ndarray], list[list[int]], list[list[int]]]:
        """Every window as the flat indices it covers in a row (for several inputs, in the packed row),
        input after input; and the window and stride of each input."""
        shapes = [tuple(X.shape[1:])] if layout is None else layout.shapes
        names = ["X"] if layout is None else layout.names
        flat: list[np.ndarray] = []
        windows, strides = [], []
        offset = 0
        for k, shape in enumerate(shapes):
            window, stride, slices = self._geometry(shape, k, len(shapes), names[k])
            positions = np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)
            flat.extend(offset + positions[sl].ravel() for sl in slices)
            offset += positions.size
            windows.append(list(window))
            strides.append(list(stride))
        return flat, windows, strides

    summary = "Occlusion attributions of every row of ``X``."
    input_doc = "X : array or tensor (n, *input_shape), or several (a tuple or dict of them)"
    returns_doc = """Attribution
        ``values`` (n, d, 1) (for several inputs, theirs side by side, listed in ``inputs``); diagnostics
        ``prediction`` (n, 1), ``n_windows``, ``n_model_calls``, ``target``."""
    explain_parameters = (
        Parameter("baseline", 0.0, 'float, "zeros", "blur", "uniform", array or tuple', """
            What the window is replaced with; the baselines of
            :meth:`~xaikit.IntegratedGradients.explain`: a constant, the input blurred (``sigma``),
            uniform noise over each input's range (seeded by ``random_state``), an array shaped like
            one input, or one per row ``(n, *input_shape)``; for several inputs one for all or a tuple
            of one per input; for token ids a token id (a pad token)."""),
        SIGMA,
        Parameter("batch_size", None, "int, optional", "Occluded inputs per model call.", integer(minimum=1)),
        FORWARD_ARGS,
    )

    def _check(self, X: np.ndarray, params: dict[str, Any], layout: InputLayout | None = None) -> dict[str, Any]:
        self._windows(X, layout)  # the geometry refused before the model is called
        return params

    def _compute(self, plan: GradientPlan, seed: np.random.SeedSequence) -> Computed:
        Xa, idx, bs = plan.X, plan.target, plan.batch_size
        n = Xa.shape[0]
        flat = Xa.reshape(n, -1)
        windows, window, stride = self._windows(Xa, plan.view.layout if plan.view is not None else None)
        base, recorded = self._flat_baselines(plan, seed)
        fx = _predict(self.model, Xa, bs)[np.arange(n), idx]
        counts = np.zeros(flat.shape[1])
        for w in windows:
            counts[w] += 1.0
        total = np.zeros(flat.shape)
        P = len(windows)
        pairs = n * P
        for lo in range(0, pairs, bs):
            pair = np.arange(lo, min(lo + bs, pairs))
            r, p = pair // P, pair % P
            batch = flat[r].copy()
            for k in range(pair.size):
                w = windows[p[k]]
                batch[k, w] = base[r[k] if base.shape[0] > 1 else 0, w]
            drop = fx[r] - _predict(self.model, batch.reshape(pair.size, *Xa.shape[1:]), bs, rows=r)[np.arange(pair.size), idx[r]]
            for k in range(pair.size):
                total[r[k], windows[p[k]]] += drop[k]
        several = plan.view is not None and len(plan.view.layout.shapes) > 1
        params = {
            "window": window if several else window[0],
            "stride": stride if several else stride[0],
            "baseline": recorded,
        }
        diagnostics = {"prediction": fx[:, None], "n_windows": P, "n_model_calls": np.full(n, P + 1, dtype=np.int64)}
        return Computed((total / counts).reshape(Xa.shape), None, diagnostics, params)
