"""Inside a network: layer activations, weights, training dynamics and activation maximisation.

One concept per module: :mod:`~xaikit.internals.activations`, :mod:`~xaikit.internals.weights`,
:mod:`~xaikit.internals.training` and :mod:`~xaikit.internals.maximization`. Torch and Keras are
reached through their public APIs only (forward hooks, ``keras.Model(inputs, layer.output)``,
``keras.callbacks.Callback``) and imported inside the functions.
"""

from __future__ import annotations

from xaikit.internals.activations import layer_activations
from xaikit.internals.maximization import activation_maximization
from xaikit.internals.training import TrainingRecorder, keras_callback
from xaikit.internals.weights import weight_statistics

__all__ = ["TrainingRecorder", "activation_maximization", "keras_callback", "layer_activations", "weight_statistics"]
