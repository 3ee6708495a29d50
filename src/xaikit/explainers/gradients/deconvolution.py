"""Deconvolution (Zeiler & Fergus 2014): the gradient with every ReLU passing back the positive part
of the gradient it receives, whatever the sign of its input."""

from __future__ import annotations

from xaikit.explainers.gradients.base import ReluRuleExplainer

__all__ = ["Deconvolution"]


class Deconvolution(ReluRuleExplainer):
    """Deconvolution (Zeiler & Fergus 2014): the backward pass of a network in which every ReLU passes
    back ``relu(grad_out)``, as Captum's ``Deconvolution``.

    Unlike :class:`~xaikit.explainers.gradients.guided_backprop.GuidedBackprop`, the ReLU's input sign
    is ignored: a signal passes back through a ReLU that was off in the forward pass. The model
    applies the rule (``model.gradient(X, target, relu="deconv")``). For torch models it changes the
    backward pass of ``torch.nn.ReLU`` modules only; ReLUs applied as functions (``torch.relu``,
    ``F.relu``) keep their ordinary gradient, as in Captum. A model without ReLU modules gives the
    plain gradient, with an :class:`~xaikit.errors.ApproximationWarning`. Models whose ``gradient``
    has no ``"deconv"`` rule (Keras) are refused when explaining.

    Examples
    --------
    >>> import numpy as np, torch, xaikit as xk
    >>> from xaikit.explainers.gradients.deconvolution import Deconvolution
    >>> lin = torch.nn.Linear(1, 1, bias=False).double()
    >>> _ = lin.weight.data.fill_(2.0)
    >>> net = torch.nn.Sequential(torch.nn.ReLU(), lin)
    >>> Deconvolution(net).explain(np.array([[-1.0]])).values.ravel().tolist()  # the ReLU is off, 2 passes
    [2.0]
    """

    name = "deconvolution"
    exact = True
    relu_rule = "deconv"
