"""Saliency maps (Simonyan et al. 2014): the gradient of the explained output."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import (
    describe,
)
from xaikit.errors import InvalidParameterError
from xaikit.explainers.gradients.base import (
    PlainGradientExplainer,
)


class Saliency(PlainGradientExplainer):
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
        g = self._gradient(X, target, batch_size, rows=rows)
        return np.abs(g) if self.abs else g
