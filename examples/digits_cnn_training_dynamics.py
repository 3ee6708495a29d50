"""Inside the digits CNN: training dynamics, activations, weights and a feature visualisation.

Trains the small CNN of ``digits_cnn_gradients.py`` (scikit-learn's 8 x 8 digits, seeded, Adam,
batches of 64) for a few epochs with a :class:`xaikit.TrainingRecorder` added before the loop (the
one line the loop gains), which records every 10 steps each layer's gradient norm, weight norm,
update-to-weight ratio and share of dead units, and once per epoch the Grad-CAM (on ``relu2``) of
ten fixed probe digits (the first test digit of each class). Then it reads the trained network:

* ``layer_activations`` of the test digits at ``conv1``, ``relu1`` and ``relu2`` (per-channel
  statistics, dead channels, top-activating digits);
* ``weight_statistics`` (norms, histograms, the first convolution's filters);
* ``activation_maximization`` of one channel of ``relu2`` (512 steps, or 128 with ``--quick``).

It prints the test accuracy, the flags of the gradient flow (vanishing or exploding layers, none
for this healthy network) and the dead channels, and with an output folder writes
``digits_training.xai``, ``digits_activations.xai``, ``digits_weights.xai`` and
``digits_feature_viz.xai`` (read by the report: gradient flow, attribution drift, activation
table, filters, weight norms, the visualisation).

Needs ``pip install "xaikit[sklearn]"`` and torch.

Run::

    python examples/digits_cnn_training_dynamics.py [--out FOLDER] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))

from digits_cnn_gradients import build_network, fit  # noqa: E402  (the training loop is that example's, unchanged)

import xaikit as xk  # noqa: E402
from xaikit.internals.activations import layer_activations  # noqa: E402
from xaikit.internals.maximization import activation_maximization  # noqa: E402
from xaikit.internals.training import TrainingRecorder  # noqa: E402
from xaikit.internals.weights import weight_statistics  # noqa: E402

#: Record one step in this many.
EVERY = 10


def load() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits as float32 (n, 1, 8, 8) in [0, 1], stratified 75/25 split (seed 0)."""
    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None]
    return tuple(train_test_split(X, digits.target, test_size=0.25, random_state=0, stratify=digits.target))  # type: ignore[return-value]


def train(X: np.ndarray, y: np.ndarray, probe: np.ndarray, probe_y: np.ndarray, *, epochs: int, record: bool = True,
          seed: int = 0) -> tuple[Any, TrainingRecorder | None]:
    """Train the CNN; with ``record``, a TrainingRecorder (one line) watches it."""
    import torch

    threads = torch.get_num_threads()
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    try:
        net = build_network()
        steps_per_epoch = -(-len(X) // 64)

        def grad_cam(model: Any, inputs: np.ndarray) -> Any:
            return xk.GradCam(model, layer="relu2").explain(inputs, target=probe_y)

        rec = TrainingRecorder(net, every=EVERY, probe=probe, explainer=grad_cam, attribution_every=steps_per_epoch) if record else None
        fit(net, X, y, epochs=epochs, seed=seed)
    finally:
        torch.set_num_threads(threads)
    if rec is not None:
        rec.close()
    return net.eval(), rec


def main(out_dir: str | os.PathLike[str] | None = None, *, quick: bool = False) -> dict[str, Any]:
    """Train, record, read the network; write the results to ``out_dir`` when given."""
    import torch

    X_train, X_test, y_train, y_test = load()
    first = [int(np.flatnonzero(y_test == k)[0]) for k in range(10)]
    probe, probe_y = X_test[first], y_test[first]
    start = time.perf_counter()
    net, rec = train(X_train, y_train, probe, probe_y, epochs=3 if quick else 6)
    seconds = time.perf_counter() - start
    assert rec is not None
    with torch.no_grad():
        accuracy = float((net(torch.from_numpy(X_test)).argmax(1).numpy() == y_test).mean())
    dyn = rec.result()
    acts = layer_activations(net, X_test, layers=["conv1", "relu1", "relu2"])
    weights = weight_statistics(net)
    viz = activation_maximization(net, layer="relu2", channel=3, shape=(1, 8, 8), steps=128 if quick else 512)
    print(f"trained in {seconds:.1f} s, test accuracy {accuracy:.3f}; {dyn.n_steps} records of {len(dyn.layer_names)} layers")
    print(f"gradient flow flags: {dyn.flags() or 'none'}")
    for layer in ("relu1", "relu2"):
        print(f"{layer}: dead channels {acts.dead_channels(layer).tolist()}, zeros {acts.summary(layer)['zero_share'].mean():.1%}")
    print(f"relu2:3 visualisation: mean activation {viz.trace[0]:.3f} -> {viz.trace[-1]:.3f} "
          f"(best test digit {acts.top_values[acts.channel_names.index('relu2:3'), 0]:.3f})")
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for name, result in (("training", dyn), ("activations", acts), ("weights", weights), ("feature_viz", viz)):
            result.save(out / f"digits_{name}.xai")
        print(f"wrote {out}/digits_{{training,activations,weights,feature_viz}}.xai")
    return {"accuracy": accuracy, "dynamics": dyn, "activations": acts, "weights": weights, "visualization": viz}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder for the .xai results")
    parser.add_argument("--quick", action="store_true", help="fewer epochs and steps")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
