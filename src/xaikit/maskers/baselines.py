"""Reference inputs shared by the path and occlusion methods (Integrated Gradients, Occlusion): a constant,
``"zeros"``, the input blurred, uniform noise over each input's range, an array shaped like one input or one
per row, or a set of them to average over (a background)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from xaikit._validation import check_array, check_batch, check_choice, check_float, describe
from xaikit.errors import InvalidParameterError

__all__ = ["baselines"]


def baselines(
    X: np.ndarray,
    baseline: Any,
    background: Any,
    sigma: float,
    rngs: list[np.random.Generator] | None,
    *,
    channels_last: bool = False,
) -> tuple[np.ndarray, str]:
    """Baselines as an array ``(nb, m, *input_shape)``: ``nb`` is 1 (shared) or n (one per row),
    ``m`` the number of baselines averaged over; and a JSON description. ``"blur"`` blurs the
    spatial axes only: the channel axis (first, or last when ``channels_last``) of inputs with 3 or
    more axes is kept apart."""
    n, shape = X.shape[0], X.shape[1:]
    if background is not None:
        if baseline is not None:
            raise InvalidParameterError(
                f"baseline: the explainer averages over its background (given to its constructor), so it takes "
                f"no baseline; got {describe(baseline)}"
            )
        bg = check_batch(background, "background")
        if bg.shape[1:] != shape:
            raise InvalidParameterError(
                f"background: expected rows of shape {shape} like X, got {describe(bg)}"
            )
        return bg[None], f"background of {bg.shape[0]} rows"
    if baseline is None:
        baseline = 0.0
    if isinstance(baseline, str):
        check_choice(baseline, "baseline", ("zeros", "blur", "uniform"))
        if baseline == "zeros":
            return np.zeros((1, 1, *shape)), "zeros"
        if baseline == "blur":
            from scipy.ndimage import gaussian_filter

            s = check_float(sigma, "sigma", minimum=0.0)
            channel = len(shape) - 1 if channels_last else 0
            per_axis = [0.0 if (k == channel and len(shape) >= 3) else s for k in range(len(shape))]
            blurred = np.stack([gaussian_filter(x, sigma=per_axis) for x in X])
            return blurred[:, None], f"blur(sigma={s})"
        if rngs is None:  # pragma: no cover - every caller passes generators
            raise InvalidParameterError("random_state: generators are needed for baseline='uniform'")
        flat = X.reshape(n, -1)
        lo, hi = flat.min(axis=1), flat.max(axis=1)
        draws = np.stack([rngs[i].uniform(lo[i], hi[i], size=shape) for i in range(n)])
        return draws[:, None], "uniform"
    if isinstance(baseline, numbers.Real) and not isinstance(baseline, bool):
        value = check_float(baseline, "baseline")
        return np.full((1, 1, *shape), value), f"constant {value!r}"
    arr = check_batch(baseline, "baseline") if np.ndim(baseline) >= 2 else None
    if arr is not None and arr.shape == shape:
        return arr[None, None], "array"
    if arr is not None and arr.shape == (n, *shape):
        return arr[:, None], "array per row"
    if arr is not None and arr.shape == (1, *shape):  # one input with its batch axis: shared by every row
        return arr[None], "array"
    if arr is None and np.ndim(baseline) == 1 and len(shape) == 1:
        arr = check_array(np.asarray(baseline)[None], "baseline", ndim=2)[0]
        if arr.shape == shape:
            return arr[None, None], "array"
    raise InvalidParameterError(
        f"baseline: expected a number, 'zeros', 'blur', 'uniform', an array of shape {shape} or "
        f"{(1, *shape)} (like one input, shared by every row) or {(n, *shape)} (one per row), got "
        f"{describe(baseline)}; for a set of baselines to "
        "average over, give background= to the explainer's constructor"
    )
