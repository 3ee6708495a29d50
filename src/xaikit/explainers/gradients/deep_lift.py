"""DeepLIFT with the rescale rule (Shrikumar et al. 2017) and DeepLiftShap (Lundberg & Lee 2017)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from xaikit._validation import check_batch, describe
from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.explainers.gradients.base import (
    BATCH_SIZE,
    Computed,
    GradientExplainer,
    GradientPlan,
    _predict,
)
from xaikit.explainers.pipeline import Parameter
from xaikit.maskers.baselines import baselines as _baselines


def _mechanism(model: Any) -> Callable[..., np.ndarray] | None:
    """The DeepLIFT multipliers function of a torch or Keras adapter (None for other models)."""
    torch_adapter = sys.modules.get("xaikit.models.torch")
    if torch_adapter is not None and isinstance(model, torch_adapter.TorchModel):
        from xaikit.models._torch_deeplift import deeplift_gradients

        return deeplift_gradients
    keras_adapter = sys.modules.get("xaikit.models.keras")
    if keras_adapter is not None and isinstance(model, keras_adapter.KerasModel):
        from xaikit.models._keras_deeplift import deeplift_gradients as keras_deeplift_gradients

        return keras_deeplift_gradients
    return None


def _multipliers(model: Any, X: np.ndarray, reference: np.ndarray, target: np.ndarray, batch_size: int) -> np.ndarray:
    """DeepLIFT multipliers of each row of ``X`` against the same row of ``reference``, float64."""
    method = getattr(model, "deeplift", None)
    if method is not None:
        g = method(X, reference, target, batch_size=batch_size)
    else:
        mechanism = _mechanism(model)
        if mechanism is None:  # pragma: no cover - refused in __init__
            raise UnsupportedModelError(f"model: DeepLIFT needs a torch or Keras model, got {model.describe()}")
        g = mechanism(model, X, reference, target, batch_size=batch_size)
    return np.asarray(g, dtype=np.float64)


class _DeepLiftBase(GradientExplainer):
    """Attributions ``(x - r) * multipliers``, averaged over the references ``r`` of each row."""

    exact = True

    def __init__(self, model: Any, /, *, output: str = "auto") -> None:
        super().__init__(model, output=output)
        if not (hasattr(self.model, "deeplift") or _mechanism(self.model) is not None):
            raise UnsupportedModelError(
                f"model: {type(self).__name__} needs a torch.nn.Module or a Keras model (or a model with the "
                f"'deeplift' capability), "
                f"got {self.model.describe()}"  # type: ignore[attr-defined]
            )

    def _references(self, X: np.ndarray, params: dict[str, Any]) -> tuple[np.ndarray, str]:
        """References ``(nb, m, *input_shape)`` (``nb`` 1 or n) and their description."""
        raise NotImplementedError  # pragma: no cover

    def _compute(self, plan: GradientPlan, seed: np.random.SeedSequence) -> Computed:
        X, idx, bs = plan.X, plan.target, plan.batch_size
        n = X.shape[0]
        B, description = self._references(X, plan.params)
        nb, m = B.shape[:2]
        total = n * m
        pairs = max(1, bs // 2)  # each row goes through the model with its reference
        dt = getattr(self.model, "input_dtype", np.dtype(np.float64))
        values = np.zeros(X.shape)
        fb = np.zeros(n)
        for lo in range(0, total, pairs):
            flat = np.arange(lo, min(lo + pairs, total))
            r, b = flat // m, flat % m
            ref = B[r if nb > 1 else 0, b]
            mult = _multipliers(self.model, X[r].astype(dt, copy=False), ref.astype(dt, copy=False), idx[r], 2 * len(flat))
            np.add.at(values, r, mult * (X[r] - ref) / m)
        fx = _predict(self.model, X, bs)[np.arange(n), idx]
        if nb == 1:
            fb = _predict(self.model, B[0], bs)[:, idx].mean(axis=0)
        else:
            fb = _predict(self.model, B.reshape(n * m, *X.shape[1:]), bs)[np.arange(n * m), np.repeat(idx, m)]
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
            ``(n, *input_shape)``."""),
        BATCH_SIZE,
    )

    def _references(self, X: np.ndarray, params: dict[str, Any]) -> tuple[np.ndarray, str]:
        baseline = params["baseline"]
        if isinstance(baseline, str) and baseline != "zeros":
            raise InvalidParameterError(
                f"baseline: expected a number, 'zeros' or an array shaped like one input or like X, got {describe(baseline)}"
            )
        return _baselines(X, baseline, None, 0.0, None)


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
            against every reference: ``m`` passes per row)."""),
        BATCH_SIZE,
    )

    def _references(self, X: np.ndarray, params: dict[str, Any]) -> tuple[np.ndarray, str]:
        given = params["baselines"]
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
