"""Guided backpropagation (Springenberg et al. 2015): only positive gradients pass back through ReLUs."""

from __future__ import annotations

from xaikit.explainers.gradients.base import (
    ReluRuleExplainer,
)


class GuidedBackprop(ReluRuleExplainer):
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
    relu_rule = "guided"
