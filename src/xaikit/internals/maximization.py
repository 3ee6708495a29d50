"""Activation maximisation: an input image made by gradient ascent to excite a channel or a class."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.internals._common import adapt_network, network_of
from xaikit.internals.activations import check_int
from xaikit.results.feature_visualization import FeatureVisualization

__all__ = ["activation_maximization"]


def _positive(value: Any, name: str, *, zero: bool = False) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or value < 0 or (value == 0 and not zero):
        bound = ">= 0" if zero else "> 0"
        raise InvalidParameterError(f"{name}: expected a finite number {bound}, got {describe(value)}")
    return float(value)


def _frequency_scale(h: int, w: int) -> np.ndarray:
    """1 / frequency of each rfft2 coefficient (h, w // 2 + 1): the decorrelating scale."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    freq = np.sqrt(fx**2 + fy**2)
    return (1.0 / np.maximum(freq, 1.0 / max(h, w))).astype(np.float32)


def _draws(rng: np.random.Generator, steps: int, jitter: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Per step: the (dy, dx) shift and the scale factor (drawn once, up front: the same for both frameworks)."""
    shifts = rng.integers(-jitter, jitter + 1, size=(steps, 2)) if jitter else np.zeros((steps, 2), dtype=np.int64)
    factors = 1.0 + rng.uniform(-scale, scale, size=steps) if scale else np.ones(steps)
    return shifts, factors


def activation_maximization(
    model: Any,
    *,
    layer: Any = None,
    channel: int | None = None,
    target: int | None = None,
    shape: tuple[int, ...] | None = None,
    steps: int = 512,
    lr: float = 0.05,
    jitter: int = 1,
    scale: float = 0.05,
    fourier: bool = True,
    value_range: tuple[float, float] = (0.0, 1.0),
    random_state: int = 0,
) -> FeatureVisualization:
    """An input image that maximises the mean activation of one channel of a layer, or one output.

    Gradient ascent (Adam) on the image's parameters. Regularisers: random jitter (a shift of up to
    ``jitter`` pixels, wrapping) and scaling (a zoom by a factor in ``1 +- scale``) at every step,
    and with ``fourier=True`` the decorrelated parameterisation of Lucid: the image is the inverse
    real FFT of coefficients scaled by 1 / frequency, which favours smooth, natural-looking images.
    The pixels are ``lo + (hi - lo) * sigmoid(.)`` of that (``value_range = (lo, hi)``).
    Deterministic under ``random_state`` (the initial coefficients and every jitter and zoom are
    drawn from it).

    Parameters
    ----------
    model : torch.nn.Module or keras.Model (raw or adapted)
    layer : str, optional
        The layer whose ``channel`` is maximised; None with ``target``: the model's output.
    channel : int, optional
        The channel (axis 1 for torch, last axis for Keras) of ``layer``.
    target : int, optional
        The output maximised when ``layer`` is None (e.g. a class logit).
    shape : tuple of int, optional
        One input's shape, ``(C, H, W)`` for torch (required), ``(H, W, C)`` for Keras (default: the model's input).
    steps, lr : int, float
        Optimisation steps and Adam's learning rate.
    jitter : int
        Largest shift, in pixels (0: off).
    scale : float
        Largest relative zoom (0: off).
    fourier : bool
        Decorrelated Fourier parameterisation (else plain pixels).
    value_range : (float, float)
    random_state : int

    Returns
    -------
    FeatureVisualization
        ``image`` (the input's shape) and ``trace`` (the objective at each step).

    Examples
    --------
    >>> import torch
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU())
    >>> viz = activation_maximization(net, layer="0", channel=1, shape=(1, 8, 8), steps=32)
    >>> viz.image.shape, bool(viz.trace[-1] > viz.trace[0])
    ((1, 8, 8), True)
    """
    adapted, framework = adapt_network(model)
    net = network_of(adapted, framework)
    n_steps = int(check_int(steps, "steps") or 1)
    jit = int(check_int(jitter, "jitter", 0) or 0)
    zoom = _positive(scale, "scale", zero=True)
    rate = _positive(lr, "lr")
    seed = check_int(random_state, "random_state", 0)
    if not isinstance(fourier, (bool, np.bool_)):
        raise InvalidParameterError(f"fourier: expected a bool, got {describe(fourier)}")
    if (
        not isinstance(value_range, (tuple, list))
        or len(value_range) != 2
        or not all(isinstance(v, (int, float)) and np.isfinite(v) for v in value_range)
        or not value_range[0] < value_range[1]
    ):
        raise InvalidParameterError(f"value_range: expected (low, high) with low < high, got {describe(value_range)}")
    if layer is None:
        if target is None or channel is not None:
            raise InvalidParameterError(
                f"target: expected an output index when layer is None (and no channel), got target={target!r}, channel={channel!r}"
            )
        check_int(target, "target", 0)
        unit = int(target)
        layer_name = None
    else:
        layer_name = adapted.resolve_layer(layer)[0]
        if channel is None:
            raise InvalidParameterError("channel: expected the channel of the layer to maximise, got None")
        unit = int(check_int(channel, "channel", 0) or 0)
    if shape is None and framework == "keras":
        shape = tuple(int(s) for s in net.inputs[0].shape[1:])
    if shape is None or not isinstance(shape, (tuple, list)) or len(shape) != 3 or not all(isinstance(s, int) and s > 0 for s in shape):
        raise InvalidParameterError(f"shape: expected one input image's shape, 3 positive ints (C, H, W) for torch, got {describe(shape)}")
    if framework == "torch":
        c, h, w = shape
    else:
        h, w, c = shape
    rng = np.random.default_rng(seed)
    if fourier:
        init = rng.normal(scale=0.01, size=(c, h, w // 2 + 1, 2)).astype(np.float32)
    else:
        init = rng.normal(scale=0.01, size=(c, h, w)).astype(np.float32)
    shifts, factors = _draws(rng, n_steps, jit, zoom)
    spectrum = _frequency_scale(h, w)
    lo, hi = float(value_range[0]), float(value_range[1])
    run = _torch_run if framework == "torch" else _keras_run
    image, trace = run(adapted, net, layer_name, unit, init, spectrum, (c, h, w), fourier, shifts, factors, rate, (lo, hi))
    if framework == "keras":
        image = image.transpose(1, 2, 0)
    params = {"layer": layer_name, "channel": channel, "target": target, "steps": n_steps, "lr": rate, "jitter": jit,
              "scale": zoom, "fourier": bool(fourier), "value_range": [lo, hi], "random_state": seed}
    return FeatureVisualization(image=image, trace=trace, method="activation_maximization", params=params,
                                provenance={"framework": framework})


def _torch_run(adapted: Any, net: Any, layer: str | None, unit: int, init: np.ndarray, spectrum: np.ndarray,
               chw: tuple[int, int, int], fourier: bool, shifts: np.ndarray, factors: np.ndarray, lr: float,
               bounds: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    import torch
    import torch.nn.functional as F

    c, h, w = chw
    dtype = adapted.dtype
    param = torch.tensor(init, dtype=dtype, device=adapted.device, requires_grad=True)
    freq = torch.tensor(spectrum, dtype=dtype, device=adapted.device)
    lo, hi = bounds

    def image() -> Any:
        raw = torch.fft.irfft2(torch.view_as_complex(param.float()).to(torch.complex64) * freq, s=(h, w)).to(dtype) * (h * w) ** 0.5 \
            if fourier else param
        return lo + (hi - lo) * torch.sigmoid(raw)

    captured: list[Any] = []
    handle = None
    if layer is not None:
        module = dict(net.named_modules())[layer]
        handle = module.register_forward_hook(lambda m, a, o: captured.append(o))
    flags = [(m, m.training) for m in net.modules()]
    net.eval()
    params_grad = [(p, p.requires_grad) for p in net.parameters()]
    for p, _ in params_grad:
        p.requires_grad_(False)
    opt = torch.optim.Adam([param], lr=lr)
    trace = np.zeros(len(shifts))
    try:
        for i in range(len(shifts)):
            captured.clear()
            img = image()[None]
            if factors[i] != 1.0:
                size = (max(1, round(h * factors[i])), max(1, round(w * factors[i])))
                img = F.interpolate(img, size=size, mode="bilinear", align_corners=False)
                img = F.interpolate(img, size=(h, w), mode="bilinear", align_corners=False) if size != (h, w) else img
            img = torch.roll(img, shifts=(int(shifts[i, 0]), int(shifts[i, 1])), dims=(2, 3))
            out = net(img)
            act = captured[-1] if layer is not None else out
            objective = act[0, unit].mean() if layer is not None else act[0, unit]
            trace[i] = float(objective.detach())
            opt.zero_grad()
            (-objective).backward()
            opt.step()
        with torch.no_grad():
            final = image().detach().cpu().double().numpy()
    finally:
        if handle is not None:
            handle.remove()
        for m, flag in flags:
            m.training = flag
        for p, flag in params_grad:
            p.requires_grad_(flag)
    return final, trace


def _keras_run(adapted: Any, net: Any, layer: str | None, unit: int, init: np.ndarray, spectrum: np.ndarray,
               chw: tuple[int, int, int], fourier: bool, shifts: np.ndarray, factors: np.ndarray, lr: float,
               bounds: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    import keras
    import tensorflow as tf

    c, h, w = chw
    lo, hi = bounds
    if layer is None:
        probe = net
    else:
        obj = adapted.resolve_layer(layer)[1]
        probe = keras.Model(net.inputs[0] if len(net.inputs) == 1 else net.inputs, obj.output)
    param = tf.Variable(init)
    freq = tf.constant(spectrum)
    opt = keras.optimizers.Adam(learning_rate=lr)

    def image() -> Any:
        if fourier:
            coeffs = tf.complex(param[..., 0], param[..., 1]) * tf.cast(freq, tf.complex64)
            raw = tf.signal.irfft2d(coeffs, fft_length=[h, w]) * (h * w) ** 0.5
        else:
            raw = param
        return lo + (hi - lo) * tf.sigmoid(raw)  # (C, H, W)

    trace = np.zeros(len(shifts))
    for i in range(len(shifts)):
        with tf.GradientTape() as tape:
            img = tf.transpose(image(), (1, 2, 0))[None]
            if factors[i] != 1.0:
                size = (max(1, round(h * factors[i])), max(1, round(w * factors[i])))
                img = tf.image.resize(img, size, method="bilinear")
                img = tf.image.resize(img, (h, w), method="bilinear") if size != (h, w) else img
            img = tf.roll(img, shift=[int(shifts[i, 0]), int(shifts[i, 1])], axis=[1, 2])
            act = probe(img, training=False)
            objective = tf.reduce_mean(act[0, ..., unit]) if layer is not None else act[0, unit]
            loss = -objective
        trace[i] = float(objective)
        grad = tape.gradient(loss, param)
        opt.apply_gradients([(grad, param)])
    return np.asarray(image(), dtype=np.float64), trace
