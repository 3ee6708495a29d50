"""The Model protocol and what every adapter shares.

A *model* to xaikit is anything with ``predict(X) -> ndarray (n, n_outputs)`` of float64:
always two-dimensional, always finite. :func:`xaikit.models.adapt` wraps scikit-learn
estimators, pipelines and plain functions into that shape, deciding once which response
(probability, log-odds or raw score) is explained.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from xaikit._validation import check_int, describe
from xaikit.errors import InvalidParameterError, ModelOutputError

__all__ = ["Model", "AdaptedModel", "BatchedModel", "OUTPUTS", "check_model_output"]

#: The responses a model can be explained on.
OUTPUTS = ("auto", "probability", "log_odds", "raw")


@runtime_checkable
class Model(Protocol):
    """What xaikit needs of a model.

    Attributes
    ----------
    output : str
        The response explained: ``"probability"``, ``"log_odds"`` or ``"raw"``.
    capabilities : frozenset of str
        Extra abilities: ``"gradient"``, ``"layer_gradients"``, ``"trees"``.
    """

    output: str
    capabilities: frozenset[str]

    def predict(self, X: Any) -> np.ndarray:
        """Predictions of shape ``(n, n_outputs)``, float64."""
        ...  # pragma: no cover

    @property
    def output_names(self) -> list[str] | None:
        """Names of the outputs, when known."""
        ...  # pragma: no cover


def check_model_output(y: Any, n_rows: int, *, who: str = "the model") -> np.ndarray:
    """Check and reshape a raw model output to a finite float64 array ``(n_rows, n_outputs)``.

    Examples
    --------
    >>> check_model_output([1.0, 2.0], 2).shape
    (2, 1)
    >>> check_model_output([1.0, float("nan")], 2)
    Traceback (most recent call last):
    ...
    xaikit.errors.ModelOutputError: the model returned 1 NaN or infinite value(s) for 2 input rows (first at row 1); xaikit needs finite outputs
    """
    if hasattr(y, "detach") and hasattr(y, "numpy"):  # a tensor from a plain function
        y = y.detach().cpu().numpy()
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf":
        raise ModelOutputError(
            f"{who} returned {describe(arr)} for {n_rows} input rows; expected numbers "
            "(for a classifier that returns labels, explain its probabilities instead)"
        )
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim == 0 or arr.ndim > 2 or arr.shape[0] != n_rows:
        raise ModelOutputError(
            f"{who} returned an array of shape {arr.shape} for {n_rows} input rows; "
            f"expected shape ({n_rows},) or ({n_rows}, n_outputs)"
        )
    if arr.ndim == 1:
        arr = arr[:, None]
    # the sum is finite when every value is (a NaN or an infinity carries through; an overflow
    # only sends it to the full check), and costs no temporary array
    with np.errstate(over="ignore", invalid="ignore"):
        total = arr.sum()
    if not np.isfinite(total) and not np.isfinite(arr).all():
        bad = ~np.isfinite(arr)
        first = int(np.argwhere(bad)[0][0])
        raise ModelOutputError(
            f"{who} returned {int(bad.sum())} NaN or infinite value(s) for {n_rows} input rows "
            f"(first at row {first}); xaikit needs finite outputs"
        )
    return arr


class AdaptedModel:
    """Base of xaikit's model adapters: validates every output and counts rows predicted.

    Subclasses implement ``_predict(X)`` and set ``output``, ``capabilities``, ``_output_names``.
    """

    output: str = "raw"
    capabilities: frozenset[str] = frozenset()
    #: Column names the wrapped model was fitted with (None when unknown).
    feature_names_in: list[str] | None = None
    #: Whether the wrapped model wants a pandas DataFrame as input.
    wants_frame: bool = False

    def __init__(self) -> None:
        self._output_names: list[str] | None = None
        self._n_outputs: int | None = None

    def _predict(self, X: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict(self, X: Any) -> np.ndarray:
        """Predict ``X``: a float64 array ``(n, n_outputs)``, checked to be finite."""
        n = len(X)
        out = check_model_output(self._predict(X), n, who=f"the model ({self.describe()})")
        if self._n_outputs is None:
            self._n_outputs = out.shape[1]
        elif out.shape[1] != self._n_outputs:
            raise ModelOutputError(
                f"the model ({self.describe()}) returned {out.shape[1]} outputs per row, "
                f"but {self._n_outputs} before; the number of outputs must not change"
            )
        return out

    @property
    def output_names(self) -> list[str] | None:
        """Names of the outputs when the model knows them (e.g. class labels)."""
        return self._output_names

    def describe(self) -> str:
        """A short description of the wrapped model."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()}, output={self.output!r})"


class BatchedModel(AdaptedModel):
    """What the deep-learning adapters share: predictions and gradients ``batch_size`` rows at a
    time, and the check of per-row target indices."""

    @staticmethod
    def _chunks(n: int, batch_size: int | None) -> list[slice]:
        """Slices of ``range(n)`` of at most ``batch_size`` rows (one slice when it is None)."""
        size = n if batch_size is None else check_int(batch_size, "batch_size", minimum=1)
        size = max(size, 1)
        return [slice(i, min(i + size, n)) for i in range(0, n, size)]

    @staticmethod
    def _n_rows(X: Any) -> int:
        n = len(X)
        if n == 0:
            raise InvalidParameterError("X: expected at least 1 row, got 0")
        return n

    @staticmethod
    def _target_indices(target: Any, n: int, n_outputs: int) -> np.ndarray:
        """``target`` (an int or one int per row, numpy-convertible) as ``n`` int64 indices in ``[0, n_outputs)``.

        >>> BatchedModel._target_indices(1, 3, 2).tolist()
        [1, 1, 1]
        """
        try:
            arr = np.asarray(target)
        except (TypeError, ValueError):
            arr = np.asarray([None])
        if arr.dtype.kind not in "iu" or arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n):
            raise InvalidParameterError(
                f"target: expected an output index or one per row ({n} integers), got {describe(target)}"
            )
        arr = np.broadcast_to(arr, (n,)).astype(np.int64)
        bad = (arr < 0) | (arr >= n_outputs)
        if bad.any():
            raise InvalidParameterError(
                f"target: expected output indices in [0, {n_outputs}), got {int(arr[bad][0])} "
                f"(row {int(np.flatnonzero(bad)[0])})"
            )
        return arr

    def predict(self, X: Any, *, batch_size: int | None = None) -> np.ndarray:  # type: ignore[override]
        """Predictions ``(n, n_outputs)`` float64, computed ``batch_size`` rows at a time (all at once by default)."""
        n = self._n_rows(X)
        parts = [AdaptedModel.predict(self, X[s]) for s in self._chunks(n, batch_size)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
