"""DeepLIFT with the rescale rule (Shrikumar et al. 2017) and DeepLiftShap (Lundberg & Lee 2017)."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from xaikit._validation import check_batch, describe
from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.explainers.gradients.base import (
    BATCH_SIZE,
    FORWARD_ARGS,
    Computed,
    GradientExplainer,
    GradientPlan,
    _predict,
)
from xaikit.explainers.gradients.inputs import InputLayout, PackedModel, id_baseline
from xaikit.explainers.pipeline import Parameter


def _mechanism(model: Any) -> Any:
    """The DeepLIFT module of a torch or Keras adapter (None for other models): its
    ``deeplift_gradients`` (one input) and ``deeplift_multipliers`` (several inputs, layers)."""
    torch_adapter = sys.modules.get("xaikit.models.torch")
    if torch_adapter is not None and isinstance(model, torch_adapter.TorchModel):
        from xaikit.models import _torch_deeplift

        return _torch_deeplift
    keras_adapter = sys.modules.get("xaikit.models.keras")
    if keras_adapter is not None and isinstance(model, keras_adapter.KerasModel):
        from xaikit.models import _keras_deeplift

        return _keras_deeplift
    return None


def _packed_multipliers(view: PackedModel, P: np.ndarray, R: np.ndarray, target: np.ndarray, rows: np.ndarray,
                        batch_size: int) -> np.ndarray:
    """DeepLIFT multipliers of packed rows ``P`` against packed references ``R``, both made from the
    explained ``rows``: the floating-point inputs unpacked into the model's arguments, the other inputs
    and the fixed arguments of the same rows going with both, token ids through their embedding's
    output (rows and references), as Captum's ``LayerDeepLift``."""
    layout = view.layout
    mechanism = _mechanism(view.model)
    if mechanism is None:  # pragma: no cover - refused in _check
        raise UnsupportedModelError(f"model: DeepLIFT of several inputs needs a torch or Keras model, got {view.describe()}")
    dt = view.input_dtype
    args_x = layout.arguments(P, rows, dt)
    args_r = layout.arguments(R, rows, dt)
    px, pr = layout.unpack(P), layout.unpack(R)
    where = {k: j for j, k in enumerate(layout.attributed)}
    layers = [(name, px[where[k]], pr[where[k]]) for k, name in layout.layers.items()]
    grads, layer_mults = mechanism.deeplift_multipliers(view.model, args_x, args_r, target, layers=layers, batch_size=batch_size)
    by_layer = dict(zip(layout.layers, layer_mults))
    parts = [by_layer[k] if k in by_layer else np.zeros((P.shape[0], *shape)) if grads[k] is None else grads[k]
             for k, shape in zip(layout.attributed, layout.shapes)]
    return layout.pack(parts)


def _multipliers(model: Any, X: np.ndarray, reference: np.ndarray, target: np.ndarray, batch_size: int,
                 rows: np.ndarray | None = None) -> np.ndarray:
    """DeepLIFT multipliers of each row of ``X`` against the same row of ``reference``, float64
    (``rows``: the explained row each comes from, for a model seen through several inputs)."""
    if isinstance(model, PackedModel):
        return _packed_multipliers(model, X, reference, target, np.arange(X.shape[0]) if rows is None else rows, batch_size)
    method = getattr(model, "deeplift", None)
    if method is not None:
        g = method(X, reference, target, batch_size=batch_size)
    else:
        mechanism = _mechanism(model)
        if mechanism is None:  # pragma: no cover - refused in __init__
            raise UnsupportedModelError(f"model: DeepLIFT needs a torch or Keras model, got {model.describe()}")
        g = mechanism.deeplift_gradients(model, X, reference, target, batch_size=batch_size)
    return np.asarray(g, dtype=np.float64)


class _DeepLiftBase(GradientExplainer):
    """Attributions ``(x - r) * multipliers``, averaged over the references ``r`` of each row."""

    exact = True
    packs_inputs = True

    def __init__(self, model: Any, /, *, output: str = "auto") -> None:
        super().__init__(model, output=output)
        if not (hasattr(self.model, "deeplift") or _mechanism(self.model) is not None):
            raise UnsupportedModelError(
                f"model: {type(self).__name__} needs a torch.nn.Module or a Keras model (or a model with the "
                f"'deeplift' capability), "
                f"got {self.model.describe()}"  # type: ignore[attr-defined]
            )

    def _check(self, X: np.ndarray, params: dict[str, Any], layout: InputLayout | None = None) -> dict[str, Any]:
        if layout is None:
            return params
        mechanism = _mechanism(self.model)
        if mechanism is None:
            raise UnsupportedModelError(
                f"X: {type(self).__name__} of several inputs, token ids or additional_forward_args needs a torch or Keras "
                f"model; the 'deeplift' capability of {self.model.describe()} explains one floating-point input"  # type: ignore[attr-defined]
            )
        if layout.layers and mechanism.__name__.endswith("_keras_deeplift"):
            raise UnsupportedModelError(
                f"X: {type(self).__name__} explains token ids on their embedding for torch models; for the Keras model "
                f"({self.model.describe()}) the input(s) {[layout.labels[k] for k in layout.layers]} hold token ids; "  # type: ignore[attr-defined]
                "explain them with IntegratedGradients, or give the embedding's output as a floating-point input"
            )
        return params

    def _references(self, X: np.ndarray, params: dict[str, Any], layout: InputLayout | None) -> tuple[np.ndarray, str]:
        """References ``(nb, m, *input_shape)`` (``nb`` 1 or n) and their description."""
        raise NotImplementedError  # pragma: no cover

    def _compute(self, plan: GradientPlan, seed: np.random.SeedSequence) -> Computed:
        X, idx, bs = plan.X, plan.target, plan.batch_size
        n = X.shape[0]
        B, description = self._references(X, plan.params, plan.view.layout if plan.view is not None else None)
        nb, m = B.shape[:2]
        if plan.view is not None and nb == 1 and n > 1:  # the references go with each row's other inputs
            B, nb = np.broadcast_to(B, (n, *B.shape[1:])), n
        total = n * m
        pairs = max(1, bs // 2)  # each row goes through the model with its reference
        dt = getattr(self.model, "input_dtype", np.dtype(np.float64))
        values = np.zeros(X.shape)
        for lo in range(0, total, pairs):
            flat = np.arange(lo, min(lo + pairs, total))
            r, b = flat // m, flat % m
            ref = B[r if nb > 1 else 0, b]
            mult = _multipliers(self.model, X[r].astype(dt, copy=False), ref.astype(dt, copy=False), idx[r], 2 * len(flat), r)
            np.add.at(values, r, mult * (X[r] - ref) / m)
        fx = _predict(self.model, X, bs)[np.arange(n), idx]
        if nb == 1:
            fb = _predict(self.model, B[0], bs)[:, idx].mean(axis=0)
        else:
            fb = _predict(self.model, B.reshape(n * m, *X.shape[1:]), bs, np.repeat(np.arange(n), m))[np.arange(n * m), np.repeat(idx, m)]
            fb = fb.reshape(n, m).mean(axis=1)
        gap = values.reshape(n, -1).sum(axis=1) - (fx - fb)
        diagnostics = {"completeness_gap": gap[:, None], "prediction": fx[:, None],
                       "n_model_calls": np.full(n, 2 * m + 2, dtype=np.int64)}
        return Computed(values, fb, diagnostics, {self._reference_name: description})

    _reference_name = "baseline"

    returns_doc = """Attribution
        ``values`` (n, d, 1), ``base_values`` the prediction at the reference(s); diagnostics
        ``completeness_gap`` (n, 1) ``= sum(values) - (prediction - base_values)`` (zero up to
        rounding when summation-to-delta holds), ``prediction`` (n, 1), ``target`` (n,),
        ``n_model_calls`` (n,); ``input_shape``."""


class DeepLift(_DeepLiftBase):
    """DeepLIFT with the rescale rule (Shrikumar et al. 2017), as Captum's ``DeepLift``.

    The attributions are ``(x - b) * m`` with ``m`` the multipliers of the explained output: the
    gradient with every nonlinear module passing back ``(f(x) - f(b)) / (x - b)`` instead of its
    derivative (max pools and softmax by Captum's rules; see :mod:`xaikit.models._torch_deeplift`).
    They sum over a row to ``f(x) - f(b)`` (summation-to-delta) when every nonlinearity of the network
    is such a module; ``diagnostics["completeness_gap"]`` reports the difference per row and
    ``base_values`` are ``f(b)``. Functional calls (``torch.relu`` in ``forward``) keep their
    gradient, as in Captum: a model without any rescaled module gets an
    :class:`~xaikit.errors.ApproximationWarning`.

    Parameters
    ----------
    model : torch.nn.Module, keras.Model or a model with the ``"deeplift"`` capability
    output : str

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).double()
    >>> from xaikit.explainers.gradients.deep_lift import DeepLift
    >>> exp = DeepLift(net).explain(np.array([[1.0, -2.0, 0.5]]), target=1, baseline=0.0)
    >>> bool(abs(exp.diagnostics["completeness_gap"][0, 0]) < 1e-12)
    True
    """

    name = "deep_lift"
    axioms = frozenset({"dummy", "efficiency", "symmetry", "linearity"})
    summary = "DeepLIFT (rescale rule) attributions of every row of ``X``."
    explain_parameters = (
        Parameter("baseline", None, 'float, "zeros" or array, default 0.0', """
            The reference input ``b``: a constant for every element (``0.0`` and ``"zeros"`` are the
            same), an array shaped like one input (or ``(1, *input_shape)``), or one per row
            ``(n, *input_shape)``. For several inputs, one for all or one per input (a tuple, or a
            dict for inputs by name); for token ids, token ids (a pad or mask id, default 0), whose
            embedding is the reference of the embedding's output."""),
        BATCH_SIZE,
        FORWARD_ARGS,
    )

    def _check(self, X: np.ndarray, params: dict[str, Any], layout: InputLayout | None = None) -> dict[str, Any]:
        params = super()._check(X, params, layout)
        baseline = params["baseline"]
        for given in [baseline] if layout is None else layout.split(baseline, "baseline"):
            if isinstance(given, str) and given != "zeros":
                raise InvalidParameterError(
                    f"baseline: expected a number, 'zeros' or an array shaped like one input or like X (for several inputs, "
                    f"one of those per input), got {describe(given)}"
                )
        return params

    def _references(self, X: np.ndarray, params: dict[str, Any], layout: InputLayout | None) -> tuple[np.ndarray, str]:
        return self._baselines(X, params["baseline"], None, 0.0, None)


class DeepLiftShap(_DeepLiftBase):
    """DeepLiftShap: DeepLIFT against each row of a background, averaged (as Captum's ``DeepLiftShap``
    and shap's ``DeepExplainer``).

    The attributions are the mean over the references ``b`` of ``baselines`` of DeepLIFT against
    ``b``; they sum to ``f(x) - mean_b f(b)`` under the conditions of :class:`DeepLift`, and
    ``base_values`` are ``mean_b f(b)``.

    Parameters
    ----------
    model : torch.nn.Module, keras.Model or a model with the ``"deeplift"`` capability
    output : str

    Examples
    --------
    >>> import numpy as np, torch
    >>> from xaikit.explainers.gradients.deep_lift import DeepLiftShap
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Tanh()).double()
    >>> exp = DeepLiftShap(net).explain(np.ones((1, 2)), baselines=np.array([[0.0, 0.0], [1.0, -1.0]]))
    >>> bool(abs(exp.diagnostics["completeness_gap"][0, 0]) < 1e-12)
    True
    """

    name = "deep_lift_shap"
    axioms = frozenset({"dummy", "efficiency", "symmetry", "linearity"})
    summary = "DeepLiftShap attributions of every row of ``X``."
    _reference_name = "baselines"
    explain_parameters = (
        Parameter("baselines", None, "array (m, *input_shape)", """
            The background: reference inputs the DeepLIFT attributions are averaged over (every row
            against every reference: ``m`` passes per row). For several inputs, one background per
            attributed input (a tuple, or a dict for inputs by name), all of ``m`` rows; for token ids,
            token ids (m, ...)."""),
        BATCH_SIZE,
        FORWARD_ARGS,
    )

    def _check(self, X: np.ndarray, params: dict[str, Any], layout: InputLayout | None = None) -> dict[str, Any]:
        params = super()._check(X, params, layout)
        if layout is not None:
            _packed_background(layout, params["baselines"], embed=False)
        return params

    def _references(self, X: np.ndarray, params: dict[str, Any], layout: InputLayout | None) -> tuple[np.ndarray, str]:
        given = params["baselines"]
        if layout is not None:
            return _packed_background(layout, given, embed=True)
        if given is None:
            raise InvalidParameterError(
                "baselines: DeepLiftShap needs a background of reference inputs (m, *input_shape), got None"
            )
        if np.ndim(given) < 2 or np.ndim(given) != X.ndim:
            raise InvalidParameterError(
                f"baselines: expected an array (m, *input_shape) of reference inputs with rows shaped like X's "
                f"{X.shape[1:]}, got {describe(given)}"
            )
        B = check_batch(given, "baselines")
        if B.shape[1:] != X.shape[1:]:
            raise InvalidParameterError(
                f"baselines: expected rows of shape {X.shape[1:]} like X, got {describe(given)}"
            )
        return B[None], f"background of {B.shape[0]} rows"


def _packed_background(layout: InputLayout, given: Any, *, embed: bool) -> tuple[np.ndarray, str]:
    """DeepLiftShap's background for several inputs: one array ``(m, *shape)`` per attributed input
    (token ids for an input explained on its embedding, embedded when ``embed``), packed as
    ``(1, m, sum of sizes)``; checked only (an empty array returned) when ``embed`` is False."""
    if given is None:
        raise InvalidParameterError(
            f"baselines: DeepLiftShap needs a background of reference inputs, one (m, ...) per attributed input "
            f"({layout.names}), got None"
        )
    per = layout.split(given, "baselines")
    parts: list[np.ndarray] = []
    m: int | None = None
    for k, item in enumerate(layout.items):
        label = "baselines" if layout.n_inputs == 1 else f"baselines[{k if layout.keys is None else layout.keys[k]!r}]"
        if k not in layout.attributed:
            if per[k] is not None and layout.rowwise(k):
                raise InvalidParameterError(
                    f"{label}: {layout.labels[k]} holds {item.dtype} values, which are held as they are, not attributed; "
                    f"give None as its background, got {describe(per[k])}"
                )
            continue
        g = per[k]
        if g is None:
            raise InvalidParameterError(f"{label}: expected a background (m, {', '.join(map(str, item.shape[1:]))}) for "
                                        f"{layout.labels[k]}, got None")
        arr = np.asarray(g.detach().cpu().numpy() if hasattr(g, "detach") else g)
        ids = k in layout.layers
        if arr.ndim != item.ndim or arr.shape[1:] != item.shape[1:] or arr.shape[0] == 0 or arr.dtype.kind not in ("iu" if ids else "biuf"):
            what = "token ids" if ids else "reference inputs"
            raise InvalidParameterError(
                f"{label}: expected {what} (m, {', '.join(map(str, item.shape[1:]))}) with rows shaped like "
                f"{layout.labels[k]}'s, got {describe(g)}"
            )
        if m is not None and arr.shape[0] != m:
            raise InvalidParameterError(f"{label}: expected {m} rows like the other inputs' backgrounds, got {arr.shape[0]}")
        m = int(arr.shape[0])
        if not embed:
            continue
        if ids:
            id_baseline(arr[0], item, layout.labels[k], label)  # the ids' dtype checked as a baseline's
            args = layout.arguments(None, np.zeros(m, dtype=np.int64), replace={k: arr.astype(item.dtype)})
            parts.append(np.asarray(layout.model.layer_activations(args, layout.layers[k]), dtype=np.float64))  # type: ignore[union-attr]
        else:
            parts.append(arr.astype(np.float64))
    if not embed:
        return np.zeros((1, 0, 0)), ""
    return layout.pack(parts)[None], f"background of {m} rows per input"
