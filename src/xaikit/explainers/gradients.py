"""Gradient attributions: Saliency, InputXGradient, GuidedBackprop, IntegratedGradients, GradientShap,
and the SmoothGrad / VarGrad wrappers.

Each method is written once over two model capabilities: ``model.gradient(X, target)`` (the
gradient of ``output[i, target[i]]`` with respect to input row ``i``) and ``model.predict(X)``.
Any model offering them works; :class:`xaikit.models.torch.TorchModel` does, for every
``torch.nn.Module``. The explainers see numpy arrays only.

Shapes
------
Inputs have any shape ``(n, *input_shape)`` (images ``(n, C, H, W)``, sequences, tables). The
:class:`~xaikit.results.Attribution` holds ``values`` of shape ``(n, d, 1)`` with ``d`` the
flattened per-row shape; the result's ``input_shape`` field gives that shape, so :func:`as_input_shape` (or
``values[..., 0].reshape(n, *shape)``) restores it. The single output is the explained target.

Targets
-------
``target`` chooses the output explained for each row: an output index for every row (an int, or
an output name the model knows), one index per row (an array of ``n`` ints), ``"predicted"``
(the arg-max of the model's prediction), or a callable ``f(outputs (n, o)) -> n indices``. ``None``
is accepted for a model with a single output.

Memory
------
Every method evaluates the model at most ``batch_size`` rows at a time (default
:data:`DEFAULT_BATCH_SIZE`), including the rows made by path steps and noise samples, which are
generated chunk by chunk.
"""

from __future__ import annotations

import inspect
import numbers
import time
import warnings
from typing import Any, ClassVar

import numpy as np

from xaikit._validation import (
    RandomState,
    check_array,
    check_choice,
    check_float,
    check_gradient_budget,
    check_int,
    check_random_state,
    describe,
    spawn_seeds,
)
from xaikit.errors import (
    ConvergenceWarning,
    InvalidParameterError,
    UnsupportedModelError,
)
from xaikit.explainers.base import Explainer, check_shared, provenance, output_names
from xaikit.results import Attribution
from xaikit.models import adapt
from xaikit.models.base import AdaptedModel

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "INTEGRATION_METHODS",
    "GradientExplainer",
    "GradientShap",
    "GuidedBackprop",
    "InputXGradient",
    "IntegratedGradients",
    "Saliency",
    "SmoothGrad",
    "VarGrad",
    "as_input_shape",
    "integration_rule",
    "resolve_target",
]

#: Rows per model call when ``batch_size`` is not given.
DEFAULT_BATCH_SIZE = 64

#: The quadrature rules of :class:`IntegratedGradients` (Captum's names).
INTEGRATION_METHODS = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")

#: Diagnostics sliced with the rows of an explanation.
_ROW_DIAGNOSTICS = {"target": "n", "n_steps": "n", "prediction": "no"}


# --------------------------------------------------------------------------------------
# public helpers
# --------------------------------------------------------------------------------------


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


def as_input_shape(exp: Attribution, output: int | str = 0) -> np.ndarray:
    """The attributions of one output reshaped to ``(n, *exp.input_shape)``.

    Gradient, CAM and occlusion explanations store ``values`` flattened to ``(n, d, o)``; this
    undoes the flattening (for an image explained by Saliency, ``(n, C, H, W)``; for Grad-CAM,
    the map's ``(n, H, W)``).

    Examples
    --------
    >>> import numpy as np
    >>> exp = Attribution(values=np.arange(8.0).reshape(2, 4, 1), base_values=np.zeros((2, 1)),
    ...                   method="demo", input_shape=(2, 2))
    >>> as_input_shape(exp).shape
    (2, 2, 2)
    """
    shape = getattr(exp, "input_shape", None)
    if shape is None:
        raise InvalidParameterError(
            "exp: expected an Attribution with an input_shape (from a gradient, CAM or occlusion explainer, "
            f"and not sliced by features), got {describe(exp)} without one"
        )
    names = exp.output_names
    if isinstance(output, str):
        if output not in names:
            raise InvalidParameterError(f"output: expected one of {names}, got {describe(output)}")
        j = names.index(output)
    else:
        j = check_int(output, "output", minimum=-len(names), maximum=len(names) - 1) % len(names)
    return np.asarray(exp.values[:, :, j]).reshape(exp.n_rows, *shape)


def resolve_target(
    model: AdaptedModel, X: np.ndarray, target: Any, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> tuple[np.ndarray, str]:
    """One output index per row of ``X``, and a name for the explained output.

    ``target`` is None (models with one output), an int (negative counts from the end) or an
    output name for every row, a list or 1-D array of one int per row, ``"predicted"`` (the
    arg-max of the prediction; models with several outputs) or a callable
    ``f(outputs (n, o)) -> (n,) ints``.

    A tuple is refused: other libraries (Captum) read a tuple as one index into a
    multi-dimensional output, which xaikit does not support (outputs are flattened to
    ``(n, n_outputs)``), and reading it as one index per row instead would change the meaning
    silently whenever its length equals the number of rows. ``"predicted"`` is refused for a model
    with a single output: its arg-max is always that output, so for a one-output classifier
    (``P(y=1)``) it would explain ``P(y=1)`` also for the rows predicted 0; pass ``target=0`` to
    explain the single output on every row.

    Examples
    --------
    >>> import numpy as np
    >>> model = adapt(lambda X: X)
    >>> idx, name = resolve_target(model, np.array([[0.0, 2.0], [3.0, 1.0]]), "predicted")
    >>> idx.tolist(), name
    ([1, 0], 'predicted')
    >>> resolve_target(model, np.zeros((2, 2)), 5)
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: target: expected an output index in [-2, 2) (negative counts from the end), got 5 (int)
    >>> resolve_target(model, np.zeros((2, 2)), [1, 0])[0].tolist()  # one index per row: a list
    [1, 0]
    """
    n = X.shape[0]
    if isinstance(target, tuple):
        raise InvalidParameterError(
            f"target: got a tuple {describe(target)}; a tuple is read elsewhere (Captum) as one index into a "
            "multi-dimensional output, which xaikit does not support (outputs are flattened to (n, n_outputs)); "
            f"for one output index per row pass a list or a 1-D array of {n} ints, for the same output on "
            "every row an int"
        )
    if isinstance(target, str) and target == "predicted":
        fx = _predict(model, X, batch_size)
        if fx.shape[1] == 1:
            raise InvalidParameterError(
                "target: 'predicted' picks the output with the largest prediction, but the model has a single "
                "output, which it would pick on every row: for a one-output classifier (a sigmoid, P(y=1)) the "
                "predicted class is 0 on the rows where P(y=1) < 0.5, and no output of the model is that class's "
                "score; pass target=0 (or None) to explain the single output on every row"
            )
        idx = fx.argmax(axis=1)
        return idx.astype(np.int64), "predicted"
    if callable(target):
        fx = _predict(model, X, batch_size)
        chosen = target(fx)
        idx = _check_indices(chosen, n, fx.shape[1], "target (the indices returned by the callable)")
        return idx, "target"
    o = _predict(model, X[:1], batch_size).shape[1]
    names = output_names(model.output_names, o)
    if target is None:
        if o != 1:
            raise InvalidParameterError(
                f"target: the model has {o} outputs; expected an output index, one index per row, "
                "'predicted' or a callable, got None"
            )
        return np.zeros(n, dtype=np.int64), names[0]
    if isinstance(target, str):
        if target not in names:
            raise InvalidParameterError(
                f"target: expected an output index, one per row, 'predicted', a callable or one of "
                f"{names[:10]}, got {describe(target)}"
            )
        j = names.index(target)
        return np.full(n, j, dtype=np.int64), names[j]
    if isinstance(target, numbers.Integral) and not isinstance(target, bool):
        if not -o <= int(target) < o:
            raise InvalidParameterError(
                f"target: expected an output index in [{-o}, {o}) (negative counts from the end), got {describe(target)}"
            )
        j = int(target) % o
        return np.full(n, j, dtype=np.int64), names[j]
    idx = _check_indices(target, n, o, "target")
    return idx, names[int(idx[0])] if (idx == idx[0]).all() else "target"


# --------------------------------------------------------------------------------------
# private helpers shared by the gradient, CAM and occlusion explainers
# --------------------------------------------------------------------------------------


def _check_indices(value: Any, n: int, o: int, name: str) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        arr = np.asarray([None], dtype=object)
    if arr.dtype.kind not in "iu" or arr.shape != (n,):
        raise InvalidParameterError(
            f"{name}: expected an output index, {n} indices (one per row), 'predicted' or a callable, "
            f"got {describe(value)}"
        )
    bad = (arr < -o) | (arr >= o)
    if bad.any():
        raise InvalidParameterError(
            f"{name}: expected output indices in [{-o}, {o}) (negative counts from the end), got {int(arr[bad][0])} "
            f"at row {int(np.flatnonzero(bad)[0])}"
        )
    return arr.astype(np.int64) % o  # numpy's meaning of a negative index, as for a single target


def _predict(model: AdaptedModel, X: np.ndarray, batch_size: int) -> np.ndarray:
    """``model.predict`` over chunks of at most ``batch_size`` rows."""
    parts = [model.predict(X[i : i + batch_size]) for i in range(0, X.shape[0], batch_size)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)


def _as_input(X: Any, name: str = "X") -> np.ndarray:
    """A float64 array ``(n, ...)`` with at least two axes and finite values; tensors are accepted.

    A tuple or list of arrays or tensors is refused (several inputs are not supported, and rows
    given apart would be stacked without a word); nested lists of numbers are one array.
    """
    if isinstance(X, (tuple, list)) and any(
        not isinstance(item, (tuple, list)) and getattr(item, "ndim", 0) >= 1 for item in X
    ):
        shapes = ", ".join(str(tuple(getattr(item, "shape", ()))) for item in X[:10])
        raise InvalidParameterError(
            f"{name}: expected one array or tensor (n, ...), got a {type(X).__name__} of {len(X)} arrays "
            f"(shapes {shapes}); models with several inputs are not supported yet, and rows given as "
            "separate arrays are refused rather than guessed: stack them into one array"
        )
    if hasattr(X, "detach") and hasattr(X, "numpy"):
        X = X.detach().cpu().numpy()
    return check_array(X, name, ndim=tuple(range(2, 9)))


def _batch_size(batch_size: int | None) -> int:
    return DEFAULT_BATCH_SIZE if batch_size is None else check_int(batch_size, "batch_size", minimum=1)


def _adapt(model: Any, output: str, requires: frozenset[str], who: str) -> AdaptedModel:
    adapted = adapt(model, output=output)
    missing = requires - adapted.capabilities
    if missing:
        raise UnsupportedModelError(
            f"model: {who} needs a model that offers {sorted(missing)} (e.g. a torch.nn.Module), "
            f"got {adapted.describe()} which offers {sorted(adapted.capabilities) or 'predictions only'}"
        )
    return adapted


def _row_rngs(random_state: RandomState, n: int, stream: int | None = None) -> list[np.random.Generator]:
    """One generator per row, from ``spawn_seeds(random_state, n)`` (child ``stream`` of each when given)."""
    seeds = spawn_seeds(random_state, n)
    if stream is not None:
        seeds = [np.random.SeedSequence(s.entropy, spawn_key=(*s.spawn_key, stream)) for s in seeds]
    return [np.random.default_rng(s) for s in seeds]


def _seed_of(seq: np.random.SeedSequence) -> int | None:
    return int(seq.entropy) if isinstance(seq.entropy, int) else None


def _noise_scales(X: np.ndarray, noise: float | None, noise_abs: float | None, default: float) -> np.ndarray:
    """Standard deviation of the noise for each row: ``noise`` times the row's value range, or ``noise_abs``."""
    if noise is not None and noise_abs is not None:
        raise InvalidParameterError(
            f"noise_abs: give either noise= (a fraction of each input's range) or noise_abs= (a standard "
            f"deviation), not both; got noise={noise!r} and noise_abs={noise_abs!r}"
        )
    if noise_abs is not None:
        return np.full(X.shape[0], check_float(noise_abs, "noise_abs", minimum=0.0))
    frac = default if noise is None else check_float(noise, "noise", minimum=0.0)
    flat = X.reshape(X.shape[0], -1)
    return frac * (flat.max(axis=1) - flat.min(axis=1))


def _accumulate(out: np.ndarray, rows: np.ndarray, contrib: np.ndarray) -> None:
    """``out[rows[k]] += contrib[k]`` for ``rows`` sorted ascending (one reduction per distinct row)."""
    uniq, starts = np.unique(rows, return_index=True)
    out[uniq] += np.add.reduceat(contrib, starts, axis=0)


def _result(
    explainer: Explainer,
    values: np.ndarray,
    *,
    X: np.ndarray,
    target: np.ndarray,
    output_name: str,
    start: float,
    params: dict[str, Any],
    base_values: np.ndarray | None = None,
    diagnostics: dict[str, Any] | None = None,
    seed: int | None = None,
    keep_data: bool = True,
) -> Attribution:
    """The Attribution of per-row attribution arrays ``values (n, *shape)``."""
    n = values.shape[0]
    shape = list(values.shape[1:])
    flat = values.reshape(n, -1, 1)
    diag: dict[str, Any] = {
        "target": target,
        "exact": bool(explainer.exact),
    }
    diag.update(diagnostics or {})
    diag["runtime_s"] = time.perf_counter() - start
    model: AdaptedModel = explainer.model  # type: ignore[attr-defined]
    return Attribution(
        values=flat,
        base_values=np.zeros((n, 1)) if base_values is None else base_values.reshape(n, 1),
        data=X.reshape(n, -1) if keep_data and list(X.shape[1:]) == shape else None,
        output_names=[output_name],
        input_shape=shape,
        method=explainer.name,
        params={**params, "output": model.output},
        diagnostics=diag,
        provenance=provenance(model.describe(), model.output, seed),
        diagnostic_axes={k: v for k, v in _ROW_DIAGNOSTICS.items() if k in diag},
    )


# --------------------------------------------------------------------------------------
# explainers
# --------------------------------------------------------------------------------------


class GradientExplainer(Explainer):
    """Base of the explainers computed from input gradients.

    Subclasses implement ``_attribute(X, target, *, batch_size, rows, **prepared)``, which returns
    float64 attributions shaped like ``X``; ``rows`` maps each row of ``X`` to the explained row
    whose per-row parameters it uses (the identity, except inside :class:`SmoothGrad`).
    ``_prepare`` validates and materialises the ``explain`` parameters once.
    """

    requires = frozenset({"gradient"})

    def __init__(self, model: Any, /, *, output: str = "auto") -> None:
        self.model = _adapt(model, output, self.requires, type(self).__name__)

    def _prepare(
        self, X: np.ndarray, target: np.ndarray, rngs: list[np.random.Generator] | None, batch_size: int
    ) -> dict[str, Any]:
        """Checked ``explain`` parameters (keyword-only in overrides) as ``_attribute`` takes them."""
        return {}

    def _attribute(
        self, X: np.ndarray, target: np.ndarray, *, batch_size: int, rows: np.ndarray, **prepared: Any
    ) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _params(self) -> dict[str, Any]:
        return {}

    def _gradient(self, X: np.ndarray, target: np.ndarray, batch_size: int, relu: str = "standard") -> np.ndarray:
        parts = []
        kwargs = {"relu": relu} if relu != "standard" else {}
        for i in range(0, X.shape[0], batch_size):
            chunk = slice(i, i + batch_size)
            g = self.model.gradient(X[chunk], target[chunk], **kwargs)  # type: ignore[attr-defined]
            parts.append(np.asarray(g, dtype=np.float64))
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)

    def explain(
        self,
        X: Any,
        /,
        *,
        target: Any = None,
        batch_size: int | None = None,
        executor: Any = "auto",
        random_state: RandomState = None,
    ) -> Attribution:
        """Attributions of every row of ``X``.

        Parameters
        ----------
        X : array or tensor (n, ...)
        target : int, str, array of n ints, "predicted" or callable, optional
            The output explained for each row (see the module documentation).
        batch_size : int, optional
            Rows per model call (default :data:`DEFAULT_BATCH_SIZE`).
        executor, random_state
            Accepted by every method (see ``docs/api.md``); these methods are deterministic and run
            in this process.

        Returns
        -------
        Attribution
            ``values`` (n, d, 1) with ``input_shape`` the per-row shape; diagnostics ``target``.
        """
        start = time.perf_counter()
        check_shared(executor, random_state)
        Xa = _as_input(X)
        bs = _batch_size(batch_size)
        idx, out_name = resolve_target(self.model, Xa, target, batch_size=bs)
        prepared = self._prepare(Xa, idx, None, bs)
        values = self._attribute(Xa, idx, batch_size=bs, rows=np.arange(Xa.shape[0]), **prepared)
        return _result(self, values, X=Xa, target=idx, output_name=out_name, start=start, params=self._params())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model.describe()})"  # type: ignore[attr-defined]


class Saliency(GradientExplainer):
    """Saliency maps (Simonyan et al. 2014): the gradient of the target output with respect to the input.

    Parameters
    ----------
    model : torch.nn.Module or a model with the ``"gradient"`` capability
    abs : bool
        Return ``|gradient|`` (the default, as Captum's ``Saliency``); ``False`` keeps the sign.
    output : str
        Passed to :func:`xaikit.models.adapt`.

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> net = torch.nn.Linear(3, 1).double()
    >>> _ = net.weight.data.copy_(torch.tensor([[1.0, -2.0, 0.5]]))
    >>> xk.Saliency(net).explain(np.ones((1, 3))).values[0, :, 0].tolist()
    [1.0, 2.0, 0.5]
    >>> xk.Saliency(net, abs=False).explain(np.ones((1, 3))).values[0, :, 0].tolist()
    [1.0, -2.0, 0.5]
    """

    name = "saliency"
    exact = True

    def __init__(self, model: Any, /, *, abs: bool = True, output: str = "auto") -> None:
        super().__init__(model, output=output)
        if not isinstance(abs, (bool, np.bool_)):
            raise InvalidParameterError(f"abs: expected True or False, got {describe(abs)}")
        self.abs = bool(abs)

    def _params(self) -> dict[str, Any]:
        return {"abs": self.abs}

    def _attribute(
        self, X: np.ndarray, target: np.ndarray, *, batch_size: int, rows: np.ndarray, **prepared: Any
    ) -> np.ndarray:
        g = self._gradient(X, target, batch_size)
        return np.abs(g) if self.abs else g


class InputXGradient(GradientExplainer):
    """Input times gradient (Shrikumar et al. 2016): ``x * d output / d x``, signed.

    For a linear model it equals Integrated Gradients from a zero baseline.

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> net = torch.nn.Linear(2, 1, bias=False).double()
    >>> _ = net.weight.data.copy_(torch.tensor([[3.0, -1.0]]))
    >>> xk.InputXGradient(net).explain(np.array([[2.0, 5.0]])).values[0, :, 0].tolist()
    [6.0, -5.0]
    """

    name = "input_x_gradient"
    exact = True

    def _attribute(
        self, X: np.ndarray, target: np.ndarray, *, batch_size: int, rows: np.ndarray, **prepared: Any
    ) -> np.ndarray:
        return X * self._gradient(X, target, batch_size)


class GuidedBackprop(GradientExplainer):
    """Guided backpropagation (Springenberg et al. 2015): the gradient with every ReLU passing back
    only positive gradients, signed.

    The model applies the rule (``model.gradient(X, target, relu="guided")``). For torch models it
    changes the backward pass of ``torch.nn.ReLU`` modules only; ReLUs applied as functions
    (``torch.relu``, ``F.relu``) keep their ordinary gradient, as in Captum. A model without ReLU
    modules gives the plain gradient, with an :class:`~xaikit.errors.ApproximationWarning`.

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> lin = torch.nn.Linear(1, 1, bias=False).double()
    >>> _ = lin.weight.data.fill_(-1.0)
    >>> net = torch.nn.Sequential(torch.nn.ReLU(), lin)
    >>> xk.GuidedBackprop(net).explain(np.array([[2.0]])).values.ravel().tolist()  # the gradient is -1
    [0.0]
    """

    name = "guided_backprop"
    exact = True

    def _attribute(
        self, X: np.ndarray, target: np.ndarray, *, batch_size: int, rows: np.ndarray, **prepared: Any
    ) -> np.ndarray:
        return self._gradient(X, target, batch_size, relu="guided")


def _baselines(
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
        bg = _as_input(background, "background")
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
    arr = _as_input(baseline, "baseline") if np.ndim(baseline) >= 2 else None
    if arr is not None and arr.shape == shape:
        return arr[None, None], "array"
    if arr is not None and arr.shape == (n, *shape):
        return arr[:, None], "array per row"
    if arr is None and np.ndim(baseline) == 1 and len(shape) == 1:
        arr = check_array(np.asarray(baseline)[None], "baseline", ndim=2)[0]
        if arr.shape == shape:
            return arr[None, None], "array"
    raise InvalidParameterError(
        f"baseline: expected a number, 'zeros', 'blur', 'uniform', an array of shape {shape} (like one "
        f"input) or {(n, *shape)} (one per row), got {describe(baseline)}; for a set of baselines to "
        "average over, give background= to the explainer's constructor"
    )


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
    # completeness (efficiency) holds only up to the quadrature error, reported as completeness_gap
    axioms = frozenset({"dummy", "symmetry", "linearity"})

    def __init__(self, model: Any, /, *, background: Any = None, output: str = "auto") -> None:
        super().__init__(model, output=output)
        self.background = None if background is None else _as_input(background, "background")

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
        B, _ = _baselines(X, baseline, self.background, sigma, rngs,
                          channels_last=bool(getattr(self.model, "channels_last", False)))
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
            g = np.asarray(self.model.gradient(points, target[r]), dtype=np.float64)  # type: ignore[attr-defined]
            g *= (weights[s] / m).reshape(-1, *pad)
            g *= diff
            _accumulate(out, r, g)
        return out

    def explain(  # type: ignore[override]
        self,
        X: Any,
        /,
        *,
        target: Any = None,
        baseline: Any = None,
        n_steps: int = 50,
        method: str = "gausslegendre",
        sigma: float = 5.0,
        tol: float | None = None,
        max_steps: int = 1024,
        batch_size: int | None = None,
        executor: Any = "auto",
        random_state: RandomState = None,
    ) -> Attribution:
        """Integrated Gradients of every row of ``X``.

        Parameters
        ----------
        X : array or tensor (n, ...)
        target : int, str, array of n ints, "predicted" or callable, optional
        baseline : float, "zeros", "blur", "uniform" or array, default 0.0
            The reference input ``b``: a constant for every element (``0.0`` and ``"zeros"`` are
            the same); ``"blur"``, each input blurred by a Gaussian filter of standard deviation
            ``sigma`` (over every axis but the first, the channels, when an input has three or
            more axes); ``"uniform"``, noise drawn uniformly between each input's smallest and
            largest value (seeded by ``random_state``); an array shaped like one input, or one per
            row ``(n, *input_shape)``.
        n_steps : int
            Quadrature nodes (at least 2 for ``riemann_trapezoid``).
        method : {"gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"}
            See :func:`integration_rule`.
        sigma : float
            Standard deviation of the blur (in elements) for ``baseline="blur"``.
        tol : float, optional
            Target for ``max |completeness_gap|``: rows above it are computed again with twice the
            steps until they reach it or ``max_steps``; then a
            :class:`~xaikit.errors.ConvergenceWarning` is issued. ``diagnostics["n_steps"]`` gives
            the steps used per row.
        max_steps : int
            The most steps ``tol`` may lead to.
        batch_size : int, optional
            Model rows per call (path points of several rows are batched together).
        random_state : int, Generator or None
            Only for ``baseline="uniform"``.

        Returns
        -------
        Attribution
            ``values`` (n, d, 1), ``base_values`` ``f(b)``; diagnostics ``completeness_gap`` (n, 1),
            ``prediction`` (n, 1), ``n_steps`` (n,), ``target`` (n,), ``input_shape``,
            ``n_model_calls`` (n,): gradients (``n_steps`` per baseline) plus the two predictions.
        """
        start = time.perf_counter()
        Xa = _as_input(X)
        n = Xa.shape[0]
        bs = _batch_size(batch_size)
        check_choice(method, "method", INTEGRATION_METHODS)
        steps = check_int(n_steps, "n_steps", minimum=2 if method == "riemann_trapezoid" else 1)
        n_baselines = 1 if self.background is None else int(self.background.shape[0])
        size = int(np.prod(Xa.shape[1:]))
        check_gradient_budget("n_steps", steps, per_row=steps * n_baselines, input_size=size,
                              what=f"{steps} steps x {n_baselines} baseline(s)", method=method)
        if tol is not None:
            tol = check_float(tol, "tol", minimum=0.0, strict_minimum=True)
            max_steps = check_int(max_steps, "max_steps", minimum=steps)
            check_gradient_budget("max_steps", max_steps, per_row=max_steps * n_baselines, input_size=size,
                                  what=f"{max_steps} steps x {n_baselines} baseline(s)", method=method)
        idx, out_name = resolve_target(self.model, Xa, target, batch_size=bs)
        seed_seq = check_shared(executor, random_state)
        B, description = _baselines(Xa, baseline, self.background, sigma, _row_rngs(seed_seq, n),
                                    channels_last=bool(getattr(self.model, "channels_last", False)))
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
        m = B.shape[1]
        params = {
            "baseline": description,
            "n_steps": steps,
            "method": method,
            "tol": tol,
            "max_steps": max_steps if tol is not None else None,
        }
        if isinstance(baseline, str) and baseline == "blur":
            params["sigma"] = float(sigma)
        return _result(
            self,
            values,
            X=Xa,
            target=idx,
            output_name=out_name,
            start=start,
            params=params,
            base_values=fb,
            diagnostics={
                "completeness_gap": gap[:, None],
                "prediction": fx[:, None],
                "n_steps": used,
                "n_model_calls": used * m + 2,
            },
            seed=_seed_of(seed_seq) if isinstance(baseline, str) and baseline == "uniform" else None,
        )


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
    background : array (m, *input_shape)
        Baselines drawn from uniformly.
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
        self.background = _as_input(background, "background")
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
        bg = self.background
        if bg.shape[1:] != X.shape[1:]:
            raise InvalidParameterError(f"X: expected rows of shape {bg.shape[1:]} like the background, got {describe(X)}")
        return {
            "background": bg,
            "n_samples": check_int(n_samples, "n_samples", minimum=1),
            "sigma": _noise_scales(X, self.noise, self.noise_abs, 0.0),
            "rngs": rngs,
        }

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
            g = np.asarray(self.model.gradient(points, target[r]), dtype=np.float64)  # type: ignore[attr-defined]
            sample = g * diff
            _accumulate(out, r, sample)
            if second_moment is not None:
                _accumulate(second_moment, r, sample * sample)
        out /= n_samples
        if second_moment is not None:
            second_moment /= n_samples
        return out

    def explain(  # type: ignore[override]
        self,
        X: Any,
        /,
        *,
        target: Any = None,
        n_samples: int = 25,
        batch_size: int | None = None,
        executor: Any = "auto",
        random_state: RandomState = None,
    ) -> Attribution:
        """GradientSHAP values of every row of ``X``.

        Parameters
        ----------
        X : array or tensor (n, ...)
        target : int, str, array of n ints, "predicted" or callable, optional
        n_samples : int
            Samples per row (Captum's default is 5).
        batch_size : int, optional
        random_state : int, Generator or None
            Row ``i`` draws from ``numpy.random.default_rng(spawn_seeds(random_state, n)[i])``.

        Returns
        -------
        Attribution
            ``values`` (n, d, 1), ``base_values`` ``E f(b)``; diagnostics ``std_err`` (n, d, 1),
            ``completeness_gap`` (n, 1), ``prediction`` (n, 1), ``target`` (n,).
        """
        start = time.perf_counter()
        Xa = _as_input(X)
        n = Xa.shape[0]
        bs = _batch_size(batch_size)
        S = check_int(n_samples, "n_samples", minimum=1)
        check_gradient_budget("n_samples", S, per_row=S, input_size=int(np.prod(Xa.shape[1:])),
                              what=f"{S} samples")
        idx, out_name = resolve_target(self.model, Xa, target, batch_size=bs)
        seed_seq = check_shared(executor, random_state)
        prepared = self._prepare(
            Xa, idx, _row_rngs(seed_seq, n), bs, n_samples=n_samples,
        )
        second = np.zeros(Xa.shape)
        values = self._attribute(Xa, idx, batch_size=bs, rows=np.arange(n), second_moment=second, **prepared)
        S = prepared["n_samples"]
        var = np.maximum(second - values**2, 0.0) * (S / (S - 1) if S > 1 else 0.0)
        std_err = np.sqrt(var / S).reshape(n, -1, 1) if S > 1 else np.full((n, values[0].size, 1), np.nan)
        fx = _predict(self.model, Xa, bs)[np.arange(n), idx]
        fb = _predict(self.model, prepared["background"], bs).mean(axis=0)[idx]
        gap = values.reshape(n, -1).sum(axis=1) - (fx - fb)
        return _result(
            self,
            values,
            X=Xa,
            target=idx,
            output_name=out_name,
            start=start,
            params={
                "n_samples": S,
                "n_background": int(prepared["background"].shape[0]),
                "noise": self.noise,
                "noise_abs": self.noise_abs,
            },
            base_values=fb,
            diagnostics={
                "std_err": std_err,
                "completeness_gap": gap[:, None],
                "prediction": fx[:, None],
                "n_model_calls": np.full(n, S + 1, dtype=np.int64),
            },
            seed=_seed_of(seed_seq),
        )


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

    def explain(  # type: ignore[override]
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
        start = time.perf_counter()
        Xa = _as_input(X)
        n, shape = Xa.shape[0], Xa.shape[1:]
        bs = _batch_size(batch_size)
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
        seed_seq = check_shared(executor, random_state)
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
