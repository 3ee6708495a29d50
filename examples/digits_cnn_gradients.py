"""Seven pixel attribution methods on a small CNN for handwritten digits, with a deletion check.

Trains a small convolutional network on scikit-learn's digits (1,797 images of 8 x 8 pixels,
grey levels 0..16, scaled to [0, 1]; a stratified 75/25 split), in a few seconds on a CPU, seeded
and deterministic, and prints its test accuracy. Then explains the logit of the true class of 10
test digits (the first test digit of each class) with:

* ``Saliency`` (|gradient|), ``InputXGradient``, ``GuidedBackprop``;
* ``IntegratedGradients`` from the black image (all zeros), 32 steps, with the Gauss-Legendre rule
  and with the midpoint Riemann rule: the completeness gap of each is printed;
* ``SmoothGrad`` of the saliency (25 noisy copies, noise 15% of each image's range);
* ``GradCam`` on the last convolution's ReLU (``relu2``, an 8 x 8 grid, the input's size);
* ``Occlusion`` with a 2 x 2 black patch slid one pixel at a time.

The network (:func:`build_network`), written as a ``torch.nn.Sequential`` of named layers so
that any framework can rebuild it:

=========  =====================================  ==============
layer      operation                              output
=========  =====================================  ==============
input      one grey channel, channels first       (1, 8, 8)
conv1      3 x 3 convolution, 16 filters, pad 1   (16, 8, 8)
relu1      ReLU
conv2      3 x 3 convolution, 32 filters, pad 1   (32, 8, 8)
relu2      ReLU                                   (32, 8, 8)
pool       2 x 2 max pooling, stride 2            (32, 4, 4)
flatten    channels-first flattening              (512,)
fc1        dense, 64 units                        (64,)
relu3      ReLU
fc2        dense, 10 logits                       (10,)
=========  =====================================  ==============

Training: Adam (learning rate 3e-3), batches of 64 shuffled by a seeded generator, 15 epochs,
cross-entropy; ``torch.manual_seed(0)`` and deterministic algorithms. (A channels-last framework
flattens in another order: the dense weights are then permuted, the function is the same.)

Deletion check, a simple test of faithfulness: for each method and digit, the 10% of the pixels
with the largest |attribution| (6 of 64) are set to 0 (black, the background) and the drop of the
probability of the true class is measured, next to the mean drop when 6 random pixels are set to
0 (20 draws per digit). An attribution that points at the pixels the prediction rests on should
beat random pixels. Note that zeroing a pixel that is already black changes nothing: a method
that ranks background pixels first (where adding ink would change the class, e.g. a large
|gradient|) can lose to random pixels although it describes the network's sensitivity
correctly; the check measures what it measures.

With an output folder it saves each method's explanation (``digits_<method>.xai``) and a PNG grid
(``digits_gradients.png``: one row per digit, the input then the seven maps).

Needs ``pip install "xaikit[sklearn,plot]"`` and torch.

Run::

    python examples/digits_cnn_gradients.py [--out FOLDER] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import xaikit as xk

#: Fraction of the pixels deleted by the deletion check.
DELETE_FRACTION = 0.1
#: Random deletions per digit for the reference drop.
N_RANDOM = 20


def build_network() -> Any:
    """The CNN of the table in the module documentation, freshly initialised (seed it first)."""
    from torch import nn

    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 16, kernel_size=3, padding=1)),
        ("relu1", nn.ReLU()),
        ("conv2", nn.Conv2d(16, 32, kernel_size=3, padding=1)),
        ("relu2", nn.ReLU()),
        ("pool", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(32 * 4 * 4, 64)),
        ("relu3", nn.ReLU()),
        ("fc2", nn.Linear(64, 10)),
    ]))


def fit(net: Any, X: np.ndarray, y: np.ndarray, *, epochs: int, seed: int = 0) -> None:
    """The training loop: Adam, batches of 64 in a seeded order (``net`` left in training mode)."""
    import torch

    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    generator = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(Xt), generator=generator)
        for lo in range(0, len(Xt), 64):
            batch = order[lo : lo + 64]
            optimiser.zero_grad()
            loss_fn(net(Xt[batch]), yt[batch]).backward()
            optimiser.step()


def train_network(X: np.ndarray, y: np.ndarray, *, epochs: int, seed: int = 0) -> Any:
    """Train :func:`build_network` on images ``X`` (n, 1, 8, 8) float32 and labels ``y``; eval mode."""
    import torch

    deterministic, threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # a network this small trains faster on one thread
    try:
        net = build_network()
        fit(net, X, y, epochs=epochs, seed=seed)
    finally:
        torch.use_deterministic_algorithms(deterministic)
        torch.set_num_threads(threads)
    return net.eval()


def probabilities(net: Any, X: np.ndarray) -> np.ndarray:
    """Softmax probabilities (n, 10) of images (n, 1, 8, 8)."""
    import torch

    with torch.no_grad():
        return torch.softmax(net(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))), dim=1).numpy()


def deletion_check(net: Any, X: np.ndarray, y: np.ndarray, maps: np.ndarray, *, seed: int = 0) -> dict[str, Any]:
    """Drop of P(true class) when the top-10% pixels by |map| are set to 0, vs 10% random pixels.

    ``maps`` is (n, 8, 8). Returns ``top`` and ``random`` (n,) drops and their means.
    """
    n, d = X.shape[0], X[0].size
    k = max(1, round(DELETE_FRACTION * d))
    rows = np.arange(n)
    p = probabilities(net, X)[rows, y]
    flat = X.reshape(n, d)
    top = flat.copy()
    order = np.argsort(-np.abs(maps.reshape(n, d)), axis=1, kind="stable")[:, :k]
    np.put_along_axis(top, order, 0.0, axis=1)
    drop_top = p - probabilities(net, top.reshape(X.shape))[rows, y]
    rng = np.random.default_rng(seed)
    drop_random = np.zeros(n)
    for _ in range(N_RANDOM):
        rand = flat.copy()
        chosen = np.argsort(rng.random((n, d)), axis=1)[:, :k]
        np.put_along_axis(rand, chosen, 0.0, axis=1)
        drop_random += p - probabilities(net, rand.reshape(X.shape))[rows, y]
    drop_random /= N_RANDOM
    return {"top": drop_top, "random": drop_random, "mean_top": float(drop_top.mean()),
            "mean_random": float(drop_random.mean()), "k": k}


def _save_grid(path: Path, X: np.ndarray, y: np.ndarray, maps: dict[str, np.ndarray]) -> None:
    """PNG: one row per digit, the input then each method's map (signed maps on a diverging scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = X.shape[0]
    fig, axes = plt.subplots(n, 1 + len(maps), figsize=(1.3 * (1 + len(maps)), 1.3 * n))
    for i in range(n):
        axes[i, 0].imshow(X[i, 0], cmap="gray_r", vmin=0, vmax=1)
        axes[i, 0].set_ylabel(str(y[i]), rotation=0, labelpad=10)
        for j, m in enumerate(maps.values(), start=1):
            a = m[i]
            scale = float(np.abs(a).max()) or 1.0
            if a.min() < 0:
                axes[i, j].imshow(a, cmap="bwr", vmin=-scale, vmax=scale)
            else:
                axes[i, j].imshow(a, cmap="Reds", vmin=0, vmax=scale)
    titles = ["input", *maps]
    for j, title in enumerate(titles):
        axes[0, j].set_title(title.replace("_", "\n"), fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(out_dir: str | os.PathLike[str] | None = None, *, quick: bool = False) -> dict[str, Any]:
    """Train, explain, check, print the report; return the key results.

    Returns a dict with ``accuracy`` (test), ``epochs``, ``n_train``, ``n_test``, ``indices``
    (the explained test digits), ``labels``, ``deletion`` (method -> dict with ``top`` and
    ``random`` (10,) drops, ``mean_top``, ``mean_random``, ``k``), ``ig_gaps`` (rule -> (10,)
    completeness gaps), ``ig_change`` ((10,) ``f(x) - f(0)``), ``seconds`` (method -> s),
    ``maps`` (method -> (10, 8, 8)), ``explanations`` (method -> Attribution), ``saved_paths``
    (method -> .xai file) and ``figure_path``.
    """
    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8) in [0, 1]
    y = digits.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    epochs = 15
    start = time.perf_counter()
    net = train_network(X_train, y_train, epochs=epochs)
    t_train = time.perf_counter() - start
    accuracy = float((probabilities(net, X_test).argmax(axis=1) == y_test).mean())
    print(f"Digits: CNN trained on {len(X_train)} images for {epochs} epochs in {t_train:.1f} s")
    print(f"Test accuracy: {accuracy:.3f} ({len(X_test)} images)")

    indices = np.array([int(np.flatnonzero(y_test == c)[0]) for c in range(10)])
    Xe, ye = X_test[indices], y_test[indices]
    n_smooth = 25
    explainers: dict[str, tuple[Any, dict[str, Any]]] = {
        "saliency": (xk.Saliency(net), {}),
        "input_x_gradient": (xk.InputXGradient(net), {}),
        "integrated_gradients": (xk.IntegratedGradients(net), {"baseline": 0.0, "n_steps": 32,
                                                               "method": "gausslegendre"}),
        "integrated_gradients_riemann": (xk.IntegratedGradients(net), {"baseline": 0.0, "n_steps": 32,
                                                                       "method": "riemann_middle"}),
        "smooth_grad": (xk.SmoothGrad(xk.Saliency(net), noise=0.15), {"n_samples": n_smooth, "random_state": 0}),
        "guided_backprop": (xk.GuidedBackprop(net), {}),
        "grad_cam": (xk.GradCam(net, layer="relu2"), {}),
        "occlusion": (xk.Occlusion(net, window=(1, 2, 2), stride=(1, 1, 1)), {"baseline": 0.0}),
    }
    explanations: dict[str, xk.Attribution] = {}
    maps: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    for name, (explainer, params) in explainers.items():
        t0 = time.perf_counter()
        exp = explainer.explain(Xe, target=ye, **params)
        seconds[name] = time.perf_counter() - t0
        explanations[name] = exp
        a = xk.as_input_shape(exp)
        maps[name] = a[:, 0] if a.ndim == 4 else a  # (10, 8, 8): one channel; Grad-CAM has none

    ig = explanations["integrated_gradients"]
    ig_change = ig.diagnostics["prediction"][:, 0] - ig.base_values[:, 0]
    ig_gaps = {rule: explanations[name].diagnostics["completeness_gap"][:, 0]
               for rule, name in (("gausslegendre", "integrated_gradients"),
                                  ("riemann_middle", "integrated_gradients_riemann"))}
    print(f"\nExplained: the logit of the true class of {len(indices)} test digits (one per class)")
    print("Integrated Gradients from the black image, 32 steps: completeness gap |sum(IG) - (f(x) - f(0))|")
    for rule, gap in ig_gaps.items():
        rel = np.abs(gap) / np.abs(ig_change)
        print(f"  {rule:<15} max {np.abs(gap).max():.2e}, mean {np.abs(gap).mean():.2e} "
              f"(max {rel.max():.2e} of |f(x) - f(0)|, which averages {np.abs(ig_change).mean():.2f})")

    deletion: dict[str, dict[str, Any]] = {}
    shown = {name: m for name, m in maps.items() if name != "integrated_gradients_riemann"}
    print(f"\nDeletion check: drop of P(true class) when the top {DELETE_FRACTION:.0%} pixels by |attribution| "
          f"are set to 0, vs {DELETE_FRACTION:.0%} random pixels ({N_RANDOM} draws); mean over the digits")
    print(f"  {'method':<28} {'top':>6} {'random':>7}  top > random  time")
    for name, m in maps.items():
        check = deletion_check(net, Xe, ye, m)
        deletion[name] = check
        wins = int((check["top"] > check["random"]).sum())
        print(f"  {name:<28} {check['mean_top']:6.3f} {check['mean_random']:7.3f}  {wins:>2}/{len(indices)} digits"
              f"  {seconds[name]:.2f} s")

    saved: dict[str, str] = {}
    figure: str | None = None
    if out_dir is not None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for name, exp in explanations.items():
            saved[name] = str(folder / f"digits_{name}.xai")
            exp.save(saved[name])
        figure = str(folder / "digits_gradients.png")
        _save_grid(Path(figure), Xe, ye, shown)
        print(f"\nSaved {len(saved)} explanations (digits_<method>.xai) and the figure {figure} in {folder}")

    return {
        "accuracy": accuracy,
        "epochs": epochs,
        "n_train": len(X_train),
        "n_test": len(X_test),
        "indices": indices,
        "labels": ye,
        "deletion": deletion,
        "ig_gaps": ig_gaps,
        "ig_change": ig_change,
        "seconds": seconds,
        "maps": maps,
        "explanations": explanations,
        "saved_paths": saved,
        "figure_path": figure,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder for the explanations (.xai) and the figure (.png)")
    parser.add_argument("--quick", action="store_true", help="accepted for symmetry: the example is already quick")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
