"""Input x Gradient (Shrikumar et al. 2016): the gradient times the input."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit.explainers.gradients.base import (
    PlainGradientExplainer,
)


class InputXGradient(PlainGradientExplainer):
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
        return X * self._gradient(X, target, batch_size, rows=rows)
