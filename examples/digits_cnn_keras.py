"""The digits CNN in Keras: four attribution methods, a deletion check, and a PyTorch twin that agrees.

The Keras 3 counterpart of ``examples/digits_cnn_gradients.py``: the same network, built with Keras
layers (channels last), trained in Keras on the same split of scikit-learn's digits (8 x 8 pixels
scaled to [0, 1]; stratified 75/25, ``random_state=0``) and explaining the same 10 test digits (the
first test digit of each class), for the logit of their true class, with:

* ``Saliency`` (|gradient|);
* ``IntegratedGradients`` from the black image, 32 steps, Gauss-Legendre rule;
* ``GradCam`` on the last convolution's ReLU (``relu2``, an 8 x 8 grid), as the torch example;
* ``Occlusion`` with a 2 x 2 black patch slid one pixel at a time (window ``(2, 2, 1)``: the
  channel axis is last).

The network (:func:`build_model`), layer for layer the table of the torch example with the channel
axis moved last:

=========  =====================================  ==============
layer      Keras layer                            output
=========  =====================================  ==============
input      ``Input((8, 8, 1))``                   (8, 8, 1)
conv1      ``Conv2D(16, 3, padding="same")``      (8, 8, 16)
relu1      ``ReLU()``
conv2      ``Conv2D(32, 3, padding="same")``      (8, 8, 32)
relu2      ``ReLU()``                             (8, 8, 32)
pool       ``MaxPooling2D(2)`` (stride 2)         (4, 4, 32)
flatten    ``Flatten()``, channels-last order     (512,)
fc1        ``Dense(64)``                          (64,)
relu3      ``ReLU()``
fc2        ``Dense(10)``: logits                  (10,)
=========  =====================================  ==============

(``padding="same"`` on a 3 x 3 kernel with stride 1 is torch's ``padding=1``.) Training as the torch
example: Adam (learning rate 3e-3), batches of 64 shuffled every epoch, 15 epochs, cross-entropy on
the logits, after ``keras.utils.set_random_seed(0)``. Only the initialisation differs (each
framework's default: Glorot-uniform kernels and zero biases in Keras), so the two trained networks
are different functions with similar accuracy.

The PyTorch twin. The Keras-trained weights are copied into the torch network of the torch example
(``build_network()``), which must then compute the same function:

* convolution kernels are ``(kh, kw, in, out)`` in Keras and ``(out, in, kh, kw)`` in torch:
  ``kernel.transpose(3, 2, 0, 1)``; biases are copied as they are;
* dense kernels are ``(in, out)`` in Keras, weights ``(out, in)`` in torch: transposed;
* the flatten orders differ. Keras flattens the pooled ``(4, 4, 32)`` map (h, w, c) to position
  ``(4 h + w) 32 + c``; torch flattens its ``(32, 4, 4)`` map (c, h, w) to ``16 c + 4 h + w``. The
  torch ``fc1`` weight column for (c, h, w) must therefore be the Keras kernel row for the same
  (h, w, c): ``kernel.reshape(4, 4, 32, 64).transpose(2, 0, 1, 3).reshape(512, 64).T`` (rows
  regrouped from (h, w, c) order to (c, h, w) order, then transposed). The other dense layer
  follows a 64-vector, which has no layout.

The twin's probabilities on the whole test set are compared with the Keras model's, and Saliency,
Integrated Gradients, Grad-CAM (at ``relu2`` and at ``conv2``, before the ReLU) and Occlusion are
computed on the twin (channels-first images) and compared with the Keras explanations (moved to
channels last): the largest absolute differences are printed; float32 round-off only, about 1e-6.

The deletion check is the torch example's ``deletion_check`` (imported from it, as are the deletion
fraction, the number of random draws and the twin's architecture), run on the Keras model: the 10%
of the pixels with the largest |attribution| (6 of 64) are set to 0 and the drop of P(true class)
is compared with the mean drop for 6 random pixels.

With an output folder it saves each method's explanation (``digits_keras_<method>.xai``) and a
markdown summary (``digits_keras.md``).

Needs ``pip install "xaikit[sklearn,tensorflow]"`` and torch (for the twin and the torch example's
helpers).

Run::

    python examples/digits_cnn_keras.py [--out FOLDER] [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow's start-up logs

import keras
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import xaikit as xk

EXAMPLES = Path(__file__).resolve().parent

#: Methods compared between the Keras model and its torch twin (Grad-CAM at both ends of the ReLU).
TWIN_METHODS = ("saliency", "integrated_gradients", "grad_cam", "grad_cam_conv2", "occlusion")


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` by path (the examples folder is not a package)."""
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"xaikit_example_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import the example {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def to_channels_last(X: np.ndarray) -> np.ndarray:
    """(n, C, H, W) -> (n, H, W, C)."""
    return np.ascontiguousarray(X.transpose(0, 2, 3, 1))


def to_channels_first(X: np.ndarray) -> np.ndarray:
    """(n, H, W, C) -> (n, C, H, W)."""
    return np.ascontiguousarray(X.transpose(0, 3, 1, 2))


def load_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The torch example's split: ``X_train, X_test`` (n, 1, 8, 8) float32 in [0, 1], ``y_train, y_test``."""
    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None]
    y = digits.target.astype(np.int64)
    return tuple(train_test_split(X, y, test_size=0.25, stratify=y, random_state=0))  # type: ignore[return-value]


def build_model() -> keras.Model:
    """The CNN of the table in the module documentation (Keras' default initialisation; seed it first)."""
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            layers.Conv2D(16, 3, padding="same", name="conv1"),
            layers.ReLU(name="relu1"),
            layers.Conv2D(32, 3, padding="same", name="conv2"),
            layers.ReLU(name="relu2"),
            layers.MaxPooling2D(2, name="pool"),
            layers.Flatten(name="flatten"),
            layers.Dense(64, name="fc1"),
            layers.ReLU(name="relu3"),
            layers.Dense(10, name="fc2"),
        ],
        name="digits_cnn",
    )


def train_model(X: np.ndarray, y: np.ndarray, *, epochs: int, seed: int = 0) -> keras.Model:
    """Train :func:`build_model` on channels-last images ``X`` (n, 8, 8, 1) and labels ``y``."""
    keras.utils.set_random_seed(seed)
    model = build_model()
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(X, y, batch_size=64, epochs=epochs, shuffle=True, verbose=0)
    return model


def torch_twin(model: keras.Model, network: Any) -> Any:
    """Copy the weights of the Keras ``model`` into ``network``, the torch example's ``build_network()``.

    See the module documentation for the layouts (and the flatten order of ``fc1``). Eval mode.
    """
    import torch

    def weights(name: str) -> tuple[np.ndarray, np.ndarray]:
        kernel, bias = model.get_layer(name).get_weights()
        return np.asarray(kernel), np.asarray(bias)

    layers = dict(network.named_children())
    with torch.no_grad():
        for name in ("conv1", "conv2"):
            kernel, bias = weights(name)
            layers[name].weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
            layers[name].bias.copy_(torch.from_numpy(bias))
        kernel, bias = weights("fc1")
        h, w, c = model.get_layer("pool").output.shape[1:]  # (4, 4, 32)
        rows_chw = kernel.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(h * w * c, -1)
        layers["fc1"].weight.copy_(torch.from_numpy(rows_chw.T.copy()))
        layers["fc1"].bias.copy_(torch.from_numpy(bias))
        kernel, bias = weights("fc2")
        layers["fc2"].weight.copy_(torch.from_numpy(kernel.T.copy()))
        layers["fc2"].bias.copy_(torch.from_numpy(bias))
    return network.eval()


class KerasAsTorch:
    """The Keras model called as the torch example's helpers call a network: on a channels-first
    torch tensor, returning a torch tensor of logits (for its ``deletion_check``)."""

    def __init__(self, model: keras.Model) -> None:
        self.model = model

    def __call__(self, x: Any) -> Any:
        import torch

        logits = self.model(to_channels_last(x.detach().cpu().numpy()), training=False)
        return torch.from_numpy(np.asarray(keras.ops.convert_to_numpy(logits)))


def keras_probabilities(model: keras.Model, X: np.ndarray) -> np.ndarray:
    """Softmax probabilities (n, 10) of channels-last images (n, 8, 8, 1)."""
    return np.asarray(keras.ops.convert_to_numpy(keras.ops.softmax(model(X, training=False), axis=1)))


def _explainers(model: Any, *, channels_last: bool) -> dict[str, tuple[Any, dict[str, Any]]]:
    """The methods, for the Keras model (channels last) or its torch twin (channels first)."""
    window = (2, 2, 1) if channels_last else (1, 2, 2)
    return {
        "saliency": (xk.Saliency(model), {}),
        "integrated_gradients": (xk.IntegratedGradients(model), {"baseline": 0.0, "n_steps": 32,
                                                                 "method": "gausslegendre"}),
        "grad_cam": (xk.GradCam(model, layer="relu2"), {}),
        "grad_cam_conv2": (xk.GradCam(model, layer="conv2"), {}),
        "occlusion": (xk.Occlusion(model, window=window, stride=1), {"baseline": 0.0}),
    }


def _pixel_maps(exp: xk.Attribution, *, channels_last: bool) -> np.ndarray:
    """An explanation as (n, 8, 8) maps: the one channel of an input attribution, or a Grad-CAM map."""
    a = xk.as_input_shape(exp)
    if a.ndim == 4:
        return a[..., 0] if channels_last else a[:, 0]
    return a


def _summary(result: dict[str, Any], files: list[str]) -> str:
    twin = result["twin_attribution_diff"]
    lines = [
        "# Digits CNN in Keras, and its PyTorch twin",
        "",
        (f"Keras CNN trained on {result['n_train']} digits for {result['epochs']} epochs: "
         f"test accuracy {result['accuracy']:.3f} ({result['n_test']} digits)."),
        (f"Explained: the logit of the true class of test digits {result['indices'].tolist()} "
         f"(labels {result['labels'].tolist()})."),
        "",
        "## PyTorch twin (the Keras weights in the torch example's network)",
        "",
        f"Largest |difference| of the test-set probabilities: {result['twin_prediction_diff']:.1e}.",
        "",
        "| method | max abs difference | max abs attribution |",
        "|---|---|---|",
        *(f"| {m} | {twin[m]:.1e} | {result['attribution_scale'][m]:.3g} |" for m in twin),
        "",
        f"## Deletion check (top {result['deletion']['saliency']['k']} pixels by |attribution| set to 0)",
        "",
        "| method | mean drop, top pixels | mean drop, random pixels | digits where top > random |",
        "|---|---|---|---|",
    ]
    for name, check in result["deletion"].items():
        wins = int((check["top"] > check["random"]).sum())
        lines.append(f"| {name} | {check['mean_top']:.3f} | {check['mean_random']:.3f} | {wins}/{len(check['top'])} |")
    lines += ["", "Explanations: " + ", ".join(f"`{Path(f).name}`" for f in files), ""]
    return "\n".join(lines)


def main(out_dir: str | os.PathLike[str] | None = None, *, quick: bool = False) -> dict[str, Any]:
    """Train, explain, compare with the torch twin, check, print the report; return the key results.

    Returns a dict with ``accuracy`` (test), ``epochs``, ``n_train``, ``n_test``, ``indices`` (the
    explained test digits), ``labels``, ``deletion`` (method -> the torch example's deletion-check
    dict: ``top`` and ``random`` (10,) drops, ``mean_top``, ``mean_random``, ``k``),
    ``twin_prediction_diff`` (largest |difference| of the test-set probabilities),
    ``twin_attribution_diff`` (method -> largest |difference| of the attributions),
    ``attribution_scale`` (method -> largest |attribution|), ``seconds`` (method -> s),
    ``train_seconds``, ``maps`` (method -> (10, 8, 8)), ``explanations`` (method -> Attribution),
    ``saved_paths`` (method -> .xai file) and ``summary_path``. ``quick`` changes nothing: the
    example takes a few seconds.
    """
    torch_example = load_example("digits_cnn_gradients")
    X_train, X_test, y_train, y_test = load_split()  # channels first, as the torch example
    epochs = 15
    start = time.perf_counter()
    model = train_model(to_channels_last(X_train), y_train, epochs=epochs)
    t_train = time.perf_counter() - start
    Xk_test = to_channels_last(X_test)
    p_keras = keras_probabilities(model, Xk_test)
    accuracy = float((p_keras.argmax(axis=1) == y_test).mean())
    print(f"Digits: Keras CNN ({keras.backend.backend()} backend) trained on {len(X_train)} images "
          f"for {epochs} epochs in {t_train:.1f} s")
    print(f"Test accuracy: {accuracy:.3f} ({len(X_test)} images)")

    indices = np.array([int(np.flatnonzero(y_test == c)[0]) for c in range(10)])
    Xe, ye = X_test[indices], y_test[indices]  # channels first, for the twin
    Xk = Xk_test[indices]  # channels last, for Keras

    explanations: dict[str, xk.Attribution] = {}
    maps: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    for name, (explainer, params) in _explainers(model, channels_last=True).items():
        t0 = time.perf_counter()
        explanations[name] = explainer.explain(Xk, target=ye, **params)
        seconds[name] = time.perf_counter() - t0
        maps[name] = _pixel_maps(explanations[name], channels_last=True)

    # ---- the torch twin: same probabilities, same attributions
    twin = torch_twin(model, torch_example.build_network())
    p_twin = torch_example.probabilities(twin, X_test)
    twin_prediction_diff = float(np.abs(p_twin - p_keras).max())
    twin_attribution_diff: dict[str, float] = {}
    attribution_scale: dict[str, float] = {}
    for name, (explainer, params) in _explainers(twin, channels_last=False).items():
        theirs = xk.as_input_shape(explainer.explain(Xe, target=ye, **params))
        ours = xk.as_input_shape(explanations[name])
        if theirs.ndim == 4:
            theirs = to_channels_last(theirs)
        twin_attribution_diff[name] = float(np.abs(ours - theirs).max())
        attribution_scale[name] = float(np.abs(ours).max())
    print("\nPyTorch twin (the Keras weights copied into the torch example's network):")
    print(f"  test-set probabilities: max |difference| {twin_prediction_diff:.1e}")
    for name, diff in twin_attribution_diff.items():
        print(f"  {name:<22} max |difference| {diff:.1e} (attributions up to {attribution_scale[name]:.3g})")

    # ---- deletion check, on the Keras model
    deletion: dict[str, dict[str, Any]] = {}
    keras_as_torch = KerasAsTorch(model)
    print(f"\nDeletion check: drop of P(true class) when the top {torch_example.DELETE_FRACTION:.0%} pixels by "
          f"|attribution| are set to 0, vs {torch_example.DELETE_FRACTION:.0%} random pixels "
          f"({torch_example.N_RANDOM} draws); mean over the digits")
    print(f"  {'method':<22} {'top':>6} {'random':>7}  top > random  time")
    for name, m in maps.items():
        check = torch_example.deletion_check(keras_as_torch, Xe, ye, m)
        deletion[name] = check
        wins = int((check["top"] > check["random"]).sum())
        print(f"  {name:<22} {check['mean_top']:6.3f} {check['mean_random']:7.3f}  {wins:>2}/{len(indices)} digits"
              f"  {seconds[name]:.2f} s")

    result: dict[str, Any] = {
        "accuracy": accuracy,
        "epochs": epochs,
        "n_train": len(X_train),
        "n_test": len(X_test),
        "indices": indices,
        "labels": ye,
        "deletion": deletion,
        "twin_prediction_diff": twin_prediction_diff,
        "twin_attribution_diff": twin_attribution_diff,
        "attribution_scale": attribution_scale,
        "seconds": seconds,
        "train_seconds": t_train,
        "maps": maps,
        "explanations": explanations,
        "saved_paths": {},
        "summary_path": None,
    }
    if out_dir is not None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        saved: dict[str, str] = {}
        for name, exp in explanations.items():
            saved[name] = str(folder / f"digits_keras_{name}.xai")
            exp.save(saved[name])
        summary = folder / "digits_keras.md"
        summary.write_text(_summary(result, list(saved.values())), encoding="utf-8")
        result["saved_paths"], result["summary_path"] = saved, str(summary)
        print(f"\nSaved {len(saved)} explanations (digits_keras_<method>.xai) and {summary.name} in {folder}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder for the explanations (.xai) and the summary (.md)")
    parser.add_argument("--quick", action="store_true", help="accepted for symmetry: the example is already quick")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
