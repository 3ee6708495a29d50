"""Figures of the network internals on the digits CNN (examples/digits_cnn_gradients.py).

* overhead of a TrainingRecorder with its default settings (every=10, no explainer) on the CNN's
  training time (process CPU time, one thread): best of ``--repeats`` runs with and without it,
  alternated, in one process;
* memory of ``layer_activations`` in summary mode on 10,000 digit images (the 1,797 digits
  repeated with a little noise): tracemalloc's peak (numpy and Python allocations; torch's own
  buffers for one batch are not seen by tracemalloc), next to the size the full maps would take;
* time of ``activation_maximization`` (512 steps) for one channel of ``relu2``.

Run::

    OMP_NUM_THREADS=1 python benchmarks/internals.py [--repeats 5] [--epochs 3]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

from digits_cnn_training_dynamics import fit, load, train  # noqa: E402

from xaikit.internals.activations import layer_activations  # noqa: E402
from xaikit.internals.maximization import activation_maximization  # noqa: E402
from xaikit.internals.training import TrainingRecorder  # noqa: E402


def train_time(X: np.ndarray, y: np.ndarray, epochs: int, record: bool) -> float:
    """CPU seconds of this process to train the CNN (the example's loop, one thread), with a default
    TrainingRecorder or without: CPU time rather than wall time, which on a shared machine counts the
    waits for a core."""
    import torch
    from digits_cnn_gradients import build_network

    torch.manual_seed(0)
    net = build_network()
    start = time.process_time()
    rec = TrainingRecorder(net) if record else None
    fit(net, X, y, epochs=epochs, seed=0)
    if rec is not None:
        rec.result()
        rec.close()
    return time.process_time() - start


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    X_train, X_test, y_train, y_test = load()
    train_time(X_train, y_train, 1, True)  # warm-up
    plain, recorded = [], []
    for _ in range(args.repeats):
        plain.append(train_time(X_train, y_train, args.epochs, False))
        recorded.append(train_time(X_train, y_train, args.epochs, True))
    best_plain, best_rec = min(plain), min(recorded)
    print(f"training ({args.epochs} epochs, {len(X_train)} digits, torch {torch.__version__}, 1 thread): "
          f"best of {args.repeats} (CPU time): {best_plain:.3f} s without, {best_rec:.3f} s with the recorder "
          f"(every=10): overhead {100 * (best_rec / best_plain - 1):+.1f}%")
    net, _ = train(X_train, y_train, X_test[:1], y_test[:1], epochs=args.epochs, record=False)
    rng = np.random.default_rng(0)
    X_all = np.concatenate([X_train, X_test])
    big = (X_all[rng.integers(0, len(X_all), 10_000)] + rng.normal(scale=0.02, size=(10_000, 1, 8, 8))).astype(np.float32)
    layers = ["conv1", "relu1", "conv2", "relu2"]
    tracemalloc.start()
    start = time.perf_counter()
    acts = layer_activations(net, big, layers=layers)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    full = 10_000 * sum(int(np.prod(e["shape"])) for e in acts.layers) * 8
    print(f"layer_activations, summary mode, 10,000 images, {len(layers)} layers ({acts.n_channels} channels): "
          f"{seconds:.2f} s, tracemalloc peak {peak / 2**20:.1f} MiB (input {big.nbytes / 2**20:.1f} MiB; "
          f"the full maps would take {full / 2**20:.0f} MiB in float64)")
    times = []
    for _ in range(3):
        start = time.perf_counter()
        activation_maximization(net, layer="relu2", channel=3, shape=(1, 8, 8), steps=512)
        times.append(time.perf_counter() - start)
    print(f"activation_maximization, relu2 channel 3, 512 steps: best of 3 {min(times):.2f} s")


if __name__ == "__main__":
    main()
