"""Copies of a torch or Keras network with the weights of some layers re-initialised (model-parameter
randomisation, Adebayo et al. 2018). torch and Keras are imported inside the functions.

The layers are those holding weights of their own, in the network's order; they are randomised from
the top (the output side) down. A layer is re-initialised as the framework initialises it
(``reset_parameters()`` in torch, the layer's own initializers in Keras) under a given seed; a weight
without an initialiser gets normal values with the original weight's standard deviation.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from xaikit._validation import check_choice, describe
from xaikit.errors import UnsupportedModelError

__all__ = ["randomized_copies", "weight_layers"]


def _network(model: Any) -> tuple[str, Any]:
    """``("torch" | "keras", the framework's own model)`` of ``model`` (raw or adapted)."""
    from xaikit.models import _is_keras_layer, _is_torch_module

    raw = getattr(model, "module", None) or getattr(model, "model", None) or model
    if _is_torch_module(raw):
        return "torch", raw
    if _is_keras_layer(raw):
        return "keras", raw
    raise UnsupportedModelError(f"model: expected a torch.nn.Module or a Keras model (model-parameter randomisation), got {describe(model)}")


def weight_layers(model: Any) -> list[str]:
    """The names of the layers of ``model`` that hold weights, from the input to the output.

    >>> import torch
    >>> weight_layers(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1)))
    ['0', '2']
    """
    kind, raw = _network(model)
    if kind == "torch":
        return [name for name, m in raw.named_modules() if any(True for _ in m.parameters(recurse=False))]
    return [layer.name for layer in raw.layers if layer.weights]


def _reset_torch(module: Any, seed: int) -> None:
    import torch

    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        if callable(getattr(module, "reset_parameters", None)):
            module.reset_parameters()
            return
        for p in module.parameters(recurse=False):
            std = float(p.detach().double().std()) if p.numel() > 1 else 1.0
            p.normal_(0.0, std if std > 0 else 1.0)


def _reset_keras(layer: Any, seed: int) -> None:
    import keras

    rng = np.random.default_rng(seed)
    for v in layer.trainable_weights:
        name = str(v.name).split("/")[-1].split(":")[0]
        init = getattr(layer, f"{name}_initializer", None)
        shape = tuple(int(s) for s in v.shape)
        if isinstance(init, keras.initializers.Initializer):
            config = init.get_config()
            if "seed" in config:
                config["seed"] = int(rng.integers(0, 2**31 - 1))
            value = np.asarray(keras.ops.convert_to_numpy(type(init).from_config(config)(shape, dtype=v.dtype)))
        else:
            old = np.asarray(keras.ops.convert_to_numpy(v))
            std = float(old.std()) if old.size > 1 else 1.0
            value = rng.normal(0.0, std if std > 0 else 1.0, size=shape)
        v.assign(value.astype(np.dtype(str(v.dtype))) if str(v.dtype) in ("float32", "float64", "float16") else value)


def randomized_copies(model: Any, *, layers: str = "cascading", seed: int = 0) -> list[tuple[str, Any]]:
    """Copies of ``model`` (a torch module or Keras model, raw or adapted) with layers re-initialised.

    ``layers="cascading"``: copy ``k`` has the top ``k`` weight layers re-initialised (the last copy has
    them all); ``"independent"``: copy ``k`` has only the ``k``-th layer from the top re-initialised.
    Layer ``j`` (counted from the top) is re-initialised with the seed ``seed + j`` in every copy, so the
    cascade adds one layer at a time. Returns ``(layer name, raw framework model)`` pairs; ``model`` is
    not changed.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    >>> copies = randomized_copies(net, layers="cascading", seed=0)
    >>> [name for name, _ in copies]
    ['2', '0']
    >>> bool(torch.equal(copies[0][1][0].weight, net[0].weight)), bool(torch.equal(copies[1][1][0].weight, net[0].weight))
    (True, False)
    """
    check_choice(layers, "layers", ("cascading", "independent"))
    kind, raw = _network(model)
    names = weight_layers(raw)[::-1]
    if not names:
        raise UnsupportedModelError(f"model: expected a network with weights to randomise, got {describe(model)} without any")
    out = []
    for k, name in enumerate(names):
        chosen = names[: k + 1] if layers == "cascading" else [name]
        if kind == "torch":
            net = copy.deepcopy(raw)
            modules = dict(net.named_modules())
            for j, layer in enumerate(names):
                if layer in chosen:
                    _reset_torch(modules[layer], seed + j)
        else:
            import keras

            net = keras.models.clone_model(raw)
            net.set_weights(raw.get_weights())
            by_name = {layer.name: layer for layer in net.layers}
            for j, layer in enumerate(names):
                if layer in chosen:
                    _reset_keras(by_name[layer], seed + j)
        out.append((name, net))
    return out
