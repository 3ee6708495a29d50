"""Inside a network: layer activations, weights, training dynamics and activation maximisation.

One concept per module: :mod:`~xaikit.internals.activations`, :mod:`~xaikit.internals.weights`,
:mod:`~xaikit.internals.training` and :mod:`~xaikit.internals.maximization`. Torch and Keras are
reached through their public APIs only (forward hooks, ``keras.Model(inputs, layer.output)``,
``keras.callbacks.Callback``) and imported inside the functions.
"""

from __future__ import annotations

__all__: list[str] = []
