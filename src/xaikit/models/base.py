"""The Model protocol and what every adapter shares.

A *model* to xaikit is anything with ``predict(X) -> ndarray (n, n_outputs)`` of float64:
always two-dimensional, always finite. :func:`xaikit.models.adapt` wraps scikit-learn
estimators, pipelines and plain functions into that shape, deciding once which response
(probability, log-odds or raw score) is explained.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

import numpy as np

from xaikit._validation import check_int, describe
from xaikit.errors import InvalidParameterError, ModelOutputError, XaikitError

__all__ = ["OUTPUTS", "AdaptedModel", "BatchedModel", "Model", "check_model_output", "evaluating"]

_CONTEXT = threading.local()


@contextmanager
def evaluating(what: str) -> Iterator[None]:
    """Say, for the errors of the model calls made inside, which rows the model is predicting.

    ``what`` names them as the user knows them: ``"X"``, ``"background"``, ``"masked copies of
    row 3 of X"``. A model's own exception is then reported as coming from them (per thread).

    >>> from xaikit.models import adapt
    >>> def broken(X):
    ...     raise KeyError("no")
    >>> with evaluating("masked copies of row 3 of X"):
    ...     adapt(broken).predict(np.zeros((2, 1)))
    Traceback (most recent call last):
    ...
    xaikit.errors.ModelOutputError: the model (broken) raised KeyError while predicting masked copies of row 3 of X (2 rows; first failing: row 0): 'no'
    """
    stack = getattr(_CONTEXT, "stack", None)
    if stack is None:
        stack = _CONTEXT.stack = []
    stack.append(what)
    try:
        yield
    finally:
        stack.pop()


def _current_context() -> str | None:
    stack = getattr(_CONTEXT, "stack", None)
    return stack[-1] if stack else None


def _take_rows(X: Any, start: int, stop: int) -> Any:
    iloc = getattr(X, "iloc", None)
    return iloc[start:stop] if iloc is not None else X[start:stop]


#: The responses a model can be explained on.
OUTPUTS = ("auto", "probability", "log_odds", "raw", "logits")


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
    if arr.shape[1] == 0:
        raise ModelOutputError(
            f"{who} returned no outputs (an array of shape {arr.shape}) for {n_rows} input rows; "
            "expected at least one output per row"
        )
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


def are_logits(values: np.ndarray, who: str, remedy: str) -> bool:
    """For ``output="probability"`` on a network whose final operation is not identified: whether its
    first outputs ``(n, o)`` are logits (to transform) rather than probabilities already. Several outputs
    are probabilities when every row is non-negative and sums to 1 (within 1e-6); a single output in
    [0, 1] could be either and is refused (``remedy`` says how to make it unambiguous).

    >>> are_logits(np.array([[0.2, 0.8]]), "m", ""), are_logits(np.array([[2.0, -1.0]]), "m", "")
    (False, True)
    """
    if values.shape[1] > 1:
        sums = values.sum(axis=1)
        return not (bool((values >= 0).all()) and bool(np.abs(sums - 1.0).max() <= 1e-6))
    if bool(((values < 0) | (values > 1)).any()):
        return True
    raise InvalidParameterError(
        f"output: 'probability' needs to know whether the model's single output is a logit or a "
        f"probability already; its final operation could not be identified ({who}), and its "
        f"{values.shape[0]} value(s) on the first call all lie in [0, 1] (min {values.min():.4g}, max "
        f"{values.max():.4g}), so it could be either. If it is a probability, pass output='raw' (it is "
        f"explained as it is); if it is a logit, end the model with a recognised sigmoid, e.g. {remedy}"
    )


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
    #: Number of input columns the wrapped model was fitted on (None when unknown).
    n_features_in: int | None = None

    def __init__(self) -> None:
        self._output_names: list[str] | None = None
        self._n_outputs: int | None = None

    def _predict(self, X: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def check_width(self, X: Any, name: str) -> None:
        """Raise :class:`InvalidParameterError` naming ``name`` when ``X`` is 2-D with another number of
        columns than the model was fitted on (nothing is checked when that number is unknown).

        >>> m = AdaptedModel(); m.n_features_in = 4
        >>> m.check_width(np.zeros((2, 3)), "background")
        Traceback (most recent call last):
        ...
        xaikit.errors.InvalidParameterError: background: expected 4 columns (the model was fitted on 4 features), got 3
        """
        shape = getattr(X, "shape", None)
        if self.n_features_in is None or shape is None or len(shape) != 2 or shape[1] == self.n_features_in:
            return
        raise InvalidParameterError(
            f"{name}: expected {self.n_features_in} columns (the model was fitted on {self.n_features_in} "
            f"features), got {shape[1]}"
        )

    def _failing_row(self, X: Any, n: int) -> int | None:
        """The first row of ``X`` that fails alone (bisecting, about ``2 log2(n)`` calls), None when the
        halves of a failing part both pass."""
        lo, hi = 0, n
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._fails(_take_rows(X, lo, mid)):
                hi = mid
            elif self._fails(_take_rows(X, mid, hi)):
                lo = mid
            else:
                return None
        return lo

    def _fails(self, X: Any) -> bool:
        try:
            self._predict(X)
        except Exception:  # noqa: BLE001 - any failure locates the row
            return True
        return False

    def _model_error(self, exc: Exception, X: Any, n: int, offset: int) -> ModelOutputError:
        """``exc`` (the model's own exception) as a ModelOutputError naming the rows it came from."""
        context = _current_context()
        row = self._failing_row(X, n) if n > 1 else 0
        count = f"{n} row{'s' if n != 1 else ''}"
        if row is None:
            detail = f"{count} at positions {offset}..{offset + n - 1}; no row fails alone"
        else:
            detail = f"{count}; first failing: row {offset + row}"
        where = f"{context} ({detail})" if context is not None else detail
        return ModelOutputError(
            f"the model ({self.describe()}) raised {type(exc).__name__} while predicting {where}: {str(exc)[:300]}"
        )

    def predict(self, X: Any) -> np.ndarray:
        """Predict ``X``: a float64 array ``(n, n_outputs)``, checked to be finite.

        A model's own exception is raised as :class:`ModelOutputError` naming the rows it came from
        (see :func:`evaluating`), the original chained.
        """
        return self._predict_rows(X, 0)

    def _predict_rows(self, X: Any, offset: int) -> np.ndarray:
        n = len(X)
        try:
            raw = self._predict(X)
        except XaikitError:
            raise
        except MemoryError:
            raise
        except Exception as exc:
            raise self._model_error(exc, X, n, offset) from exc
        context = _current_context()
        who = f"the model ({self.describe()})" + (f" on {context}" if context else "")
        out = check_model_output(raw, n, who=who)
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
        """``target`` (an int or one int per row, numpy-convertible; negative counts from the end, as in
        numpy) as ``n`` int64 indices in ``[0, n_outputs)``.

        >>> BatchedModel._target_indices(1, 3, 2).tolist(), BatchedModel._target_indices([-1, 0], 2, 2).tolist()
        ([1, 1, 1], [1, 0])
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
        bad = (arr < -n_outputs) | (arr >= n_outputs)
        if bad.any():
            raise InvalidParameterError(
                f"target: expected output indices in [{-n_outputs}, {n_outputs}) (negative counts from the end), "
                f"got {int(arr[bad][0])} (row {int(np.flatnonzero(bad)[0])})"
            )
        return arr % n_outputs

    def predict(self, X: Any, *, batch_size: int | None = None) -> np.ndarray:  # type: ignore[override]
        """Predictions ``(n, n_outputs)`` float64, computed ``batch_size`` rows at a time (all at once by default)."""
        n = self._n_rows(X)
        parts = [self._predict_rows(X[s], s.start) for s in self._chunks(n, batch_size)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
