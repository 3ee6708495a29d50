"""Quality metrics: xaikit.metrics next to Quantus on the same torch model, images and attributions.

The model is a small CNN (torch, seeded, trained here in a few seconds; its test accuracy is printed)
on scikit-learn's 8x8 digits (shipped with scikit-learn, nothing is downloaded), one channel. The
attributions are xaikit's ``InputXGradient`` of the predicted class of ``--rows`` 200 test images
(per pixel, 64 features), and both libraries score the same arrays for the predicted class (Quantus's
``y_batch`` is the predicted class; xaikit's default target is each row's predicted output). Every
metric runs on one thread (``OMP_NUM_THREADS=1``, torch threads 1), once to warm up, then timed
(the best of ``--repeats`` 3 runs). Quantus is imported with zennit hidden from it
(zennit needs torchvision, which is not installed here; Quantus does not use it for these metrics).

Where the definitions match, the values are compared row by row:

* **Sparseness** (Gini index of ``|phi|``, Chalasani et al. 2020): ``quantus.Sparseness`` against
  ``xaikit.metrics.complexity.sparseness``; Quantus adds 1e-7 to every ``|phi|`` (after scaling them by
  their maximum), so the values agree to about 1e-6, not to the last bit.
* **Complexity** (entropy of ``|phi| / sum |phi|``, Bhatt et al. 2020): ``quantus.Complexity`` against
  ``xaikit.metrics.complexity.entropy``; Quantus adds 1e-12 inside the log.
* **PixelFlipping** (Bach et al. 2015) against **deletion** (Petsiuk et al. 2018): pixels removed one at a
  time in order of decreasing attribution, set to 0 (``perturb_baseline=0.0``, ``baseline=0.0``,
  ``patch_size=1``); Quantus's curve holds the outputs after 1..64 removals, xaikit's the outputs after
  0..64 (``curves[:, 1:]`` is compared). Both are the logits of the predicted class.
* **FaithfulnessCorrelation** (Bhatt et al. 2020): ``subset_size`` 16 pixels set to 0, ``nr_runs`` /
  ``n_samples`` 100 subsets per row, Pearson correlation of ``sum(phi[S])`` and the output drop. The two
  libraries draw their own random subsets, so per-row values differ by sampling noise; the means over the
  rows are compared with their 95% intervals (they should overlap), and the per-row correlation is printed.

Not compared for values: Quantus 0.6's ``Infidelity`` removes square patches of several sizes with a
baseline and averages over patch positions (not Yeh et al.'s expectation over one perturbation
distribution that xaikit and Captum compute); ``MaxSensitivity`` draws its own noise. Their times are
not comparable either, so they are left out.

xaikit also computes each metric's noise floor, which Quantus does not: ``n_random`` 10 random
attributions per row; for deletion each random curve is evaluated at a systematic sample of its steps
(``floor_steps``, about half a curve per row in all, so xaikit's deletion evaluates about 1.5x the images
Quantus's does); for the complexity metrics one draw per number of features. Every xaikit call is given
``target=pred`` (the predicted class of each row, as Quantus's ``y_batch``), so no metric has to predict
to find it. The "1 random" column is ``n_random=1``, the least the contract allows.

Printed: per metric, Quantus's time, xaikit's, their ratio (Quantus / xaikit), and the agreement. The
bar (printed, nothing asserted): values agree, xaikit at least 3x faster.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/metrics.py``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np


def import_quantus() -> Any:
    """Quantus, imported with zennit hidden (it imports it when it finds it, and zennit needs torchvision)."""
    original = importlib.util.find_spec

    def hide(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] == "zennit":
            return None
        return original(name, *args, **kwargs)

    importlib.util.find_spec = hide  # type: ignore[assignment]
    try:
        import quantus
    finally:
        importlib.util.find_spec = original  # type: ignore[assignment]
    return quantus


def train_cnn(seed: int) -> tuple[Any, np.ndarray, np.ndarray, float]:
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None]
    Xtr, Xte, ytr, yte = train_test_split(X, digits.target, test_size=0.3, random_state=seed)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(8 * 16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10),
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    xt, yt = torch.from_numpy(Xtr), torch.from_numpy(ytr).long()
    for _ in range(30):
        for i in range(0, len(xt), 128):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(xt[i:i + 128]), yt[i:i + 128])
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        acc = float((net(torch.from_numpy(Xte)).argmax(1).numpy() == yte).mean())
    return net, Xte, yte, acc


def best_of(fn: Any, repeats: int) -> tuple[float, Any]:
    fn()  # warm up
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def mean_interval(v: np.ndarray) -> tuple[float, float, float]:
    from scipy import stats

    v = v[np.isfinite(v)]
    half = float(stats.t.ppf(0.975, v.size - 1)) * float(v.std(ddof=1)) / np.sqrt(v.size)
    return float(v.mean()), float(v.mean()) - half, float(v.mean()) + half


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    import xaikit as xk
    from xaikit.metrics.complexity import entropy, sparseness
    from xaikit.metrics.faithfulness import deletion, faithfulness_correlation

    quantus = import_quantus()
    net, Xte, _, acc = train_cnn(args.seed)
    x = Xte[: args.rows]
    n = len(x)
    with torch.no_grad():
        pred = net(torch.from_numpy(x)).argmax(1).numpy()
    one = xk.InputXGradient(net).explain(x, target=pred)  # one output per row: its predicted class
    phi = one.values[:, :, 0]  # (n, 64)
    values = np.zeros((n, phi.shape[1], 10))
    values[np.arange(n), :, pred] = phi  # laid out per class; each metric is told the predicted class (target=pred)
    exp = xk.Attribution(values=values, base_values=np.zeros((n, 10)), input_shape=(1, 8, 8), method=one.method)
    a_batch = phi.reshape(n, 1, 8, 8).astype(np.float32)
    print(f"CNN on 8x8 digits: test accuracy {acc:.3f}; {n} test images, InputXGradient of the predicted class; "
          f"xaikit {xk.__version__}, Quantus {quantus.__version__}, torch {torch.__version__}, one thread")

    common = {"model": net, "x_batch": x, "y_batch": pred, "a_batch": a_batch, "device": "cpu", "channel_first": True,
              "softmax": False}
    rows: list[tuple[str, float, float, float, str]] = []

    # Sparseness
    tq, q = best_of(lambda: np.asarray(quantus.Sparseness(disable_warnings=True)(**common)), args.repeats)
    tx, s = best_of(lambda: sparseness(net, x, exp, target=pred, random_state=0), args.repeats)
    t1, _ = best_of(lambda: sparseness(net, x, exp, target=pred, n_random=1, random_state=0), args.repeats)
    rows.append(("Sparseness / sparseness", tq, tx, t1, f"max |diff| {np.nanmax(np.abs(q - s.values)):.1e}"))

    # Complexity (entropy)
    tq, q = best_of(lambda: np.asarray(quantus.Complexity(disable_warnings=True)(**common)), args.repeats)
    tx, s = best_of(lambda: entropy(net, x, exp, target=pred, random_state=0), args.repeats)
    t1, _ = best_of(lambda: entropy(net, x, exp, target=pred, n_random=1, random_state=0), args.repeats)
    rows.append(("Complexity / entropy", tq, tx, t1, f"max |diff| {np.nanmax(np.abs(q - s.values)):.1e}"))

    # PixelFlipping / deletion
    pf = quantus.PixelFlipping(features_in_step=1, perturb_baseline=0.0, normalise=False, abs=False, disable_warnings=True)
    tq, q = best_of(lambda: np.asarray(pf(**common), dtype=np.float64), args.repeats)
    tx, s = best_of(lambda: deletion(net, x, exp, target=pred, baseline=0.0, patch_size=1, random_state=0), args.repeats)
    t1, _ = best_of(lambda: deletion(net, x, exp, target=pred, baseline=0.0, patch_size=1, n_random=1, random_state=0), args.repeats)
    curves = s.curves[:, 1:]
    scale = float(np.abs(q).max())
    rows.append(("PixelFlipping / deletion", tq, tx, t1, f"curves: max |diff| {np.abs(q - curves).max():.1e} (outputs up to {scale:.1f})"))

    # FaithfulnessCorrelation
    fc = quantus.FaithfulnessCorrelation(nr_runs=100, subset_size=16, perturb_baseline=0.0, normalise=False, abs=False,
                                         return_aggregate=False, disable_warnings=True)
    np.random.seed(args.seed)
    tq, q = best_of(lambda: np.asarray(fc(**common), dtype=np.float64), args.repeats)
    tx, s = best_of(lambda: faithfulness_correlation(net, x, exp, target=pred, baseline=0.0, patch_size=1, subset_size=16, n_samples=100,
                                                      random_state=0), args.repeats)
    t1, _ = best_of(lambda: faithfulness_correlation(net, x, exp, target=pred, baseline=0.0, patch_size=1, subset_size=16, n_samples=100,
                                                      n_random=1, random_state=0), args.repeats)
    mq, mx = mean_interval(q), mean_interval(s.values)
    r = float(np.corrcoef(q, s.values)[0, 1])
    rows.append(("FaithfulnessCorrelation", tq, tx, t1, f"means {mq[0]:.3f} [{mq[1]:.3f}, {mq[2]:.3f}] vs {mx[0]:.3f} "
                 f"[{mx[1]:.3f}, {mx[2]:.3f}]; per-row r {r:.2f}"))

    print()
    print(f"{'metric (Quantus / xaikit)':<28} {'Quantus s':>10} {'xaikit s':>10} {'ratio':>7} {'xaikit s, 1 random':>19} {'ratio':>7}  agreement")
    print("-" * 140)
    for name, tq, tx, t1, agree in rows:
        print(f"{name:<28} {tq:>10.4f} {tx:>10.4f} {tq / tx:>6.1f}x {t1:>19.4f} {tq / t1:>6.1f}x  {agree}")
    slowest = min(tq / tx for _, tq, tx, _, _ in rows)
    print(f"\nbar: xaikit at least 3x faster in every metric: {'met' if slowest >= 3 else 'NOT met'} (smallest ratio {slowest:.1f}x, "
          "with the default noise floor, which Quantus does not compute; '1 random' is n_random=1, the least the contract allows)")


if __name__ == "__main__":
    main()
