"""Adapter for a plain function that maps a batch of inputs to predictions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xaikit.errors import InvalidParameterError
from xaikit.models.base import AdaptedModel

__all__ = ["FunctionModel"]


class FunctionModel(AdaptedModel):
    """Wrap ``fn(X) -> (n,) or (n, o)`` as a model; its output is taken as it is (``output="raw"``).

    Parameters
    ----------
    fn : callable
        Called on a batch: a 2-D array (or a DataFrame when the data given to the explainer
        was one). Never called row by row.
    output_names : list of str, optional
    output : str
        A label for what ``fn`` returns (``"raw"``, ``"probability"`` or ``"log_odds"``);
        xaikit does not transform it.

    Examples
    --------
    >>> import numpy as np
    >>> m = FunctionModel(lambda X: X.sum(axis=1))
    >>> m.predict(np.ones((3, 2)))
    array([[2.],
           [2.],
           [2.]])
    """

    def __init__(
        self,
        fn: Callable[[Any], Any],
        *,
        output_names: list[str] | None = None,
        output: str = "raw",
    ) -> None:
        super().__init__()
        if not callable(fn):
            raise InvalidParameterError(f"fn: expected a callable, got {type(fn).__name__}")
        self.fn = fn
        self.output = "raw" if output == "auto" else output
        self._output_names = list(output_names) if output_names is not None else None

    def _predict(self, X: Any) -> Any:
        return self.fn(X)

    def describe(self) -> str:
        return getattr(self.fn, "__qualname__", type(self.fn).__name__)
