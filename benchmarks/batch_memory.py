"""Peak memory of IG and Occlusion on EfficientNet-B0 at fixed batch sizes and at the batch chosen from a memory budget.

Models: Keras ``keras.applications.EfficientNetB0(weights=None)`` (nothing downloads: the weights are
random, the memory is the same) and, when the ``vision-models`` extra is installed, torch
EfficientNet-Lite0 (``xaikit.datasets.pretrained.load_efficientnet_lite0()``). Inputs: 2 images of
224x224x3 (channels last for Keras, first for torch), float32.

Measured, each in a fresh Python process (one after the other, never two at once), as the peak
resident set size of the whole process (``resource.getrusage(RUSAGE_SELF).ru_maxrss``: imports,
model and call together):

- ``inference b``: the model's own forward pass over 16 images, ``b`` at a time, for b in 1, 2, 4, 8, 16;
  the best batch is the one with the shortest time per image;
- ``ig b``: ``xk.IntegratedGradients(model).explain(X, target=0, n_steps=50, batch_size=b)`` for
  b = 64 (the former default), 8, and ``auto`` (``auto_batch_size(model, X)``, the budget's batch);
- ``occlusion b``: ``xk.Occlusion(model, window=32 px square, stride=32)`` (49 windows per image),
  b = 64 and ``auto`` (``auto_batch_size(model, X, backward=False)``).

The bar: the peak of IG at ``auto`` within 1.5x of the inference peak at the best batch.

Run: ``.venv/bin/python benchmarks/batch_memory.py`` (``--frameworks keras`` for one framework,
``--threads 2`` for more native threads; ``XAIKIT_MEMORY_BUDGET`` changes the budget of ``auto``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np

INFERENCE_BATCHES = (1, 2, 4, 8, 16)
INFERENCE_ROWS = 16


def build(framework: str) -> tuple[Any, np.ndarray]:
    """The network and 2 images as it takes them."""
    rng = np.random.default_rng(0)
    if framework == "keras":
        import keras

        net = keras.applications.EfficientNetB0(weights=None)
        return net, rng.uniform(0, 255, size=(2, 224, 224, 3)).astype(np.float32)
    from xaikit.datasets.pretrained import load_efficientnet_lite0

    net, _, _ = load_efficientnet_lite0()
    return net, rng.normal(size=(2, 3, 224, 224)).astype(np.float32)


def child(framework: str, what: str, batch: str, threads: int) -> dict[str, Any]:
    """One measurement in this process; returns its figures."""
    if framework == "keras":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    else:
        import torch

        torch.set_num_threads(threads)
    import xaikit as xk
    from xaikit.explainers.gradients.memory import auto_batch_size, memory_budget, row_bytes
    from xaikit.models import adapt

    net, X = build(framework)
    out: dict[str, Any] = {"framework": framework, "what": what}
    start = time.perf_counter()
    if what == "inference":
        b = int(batch)
        rows = np.concatenate([X] * (INFERENCE_ROWS // len(X)))
        if framework == "keras":
            for i in range(0, len(rows), b):
                np.asarray(net(rows[i:i + b], training=False))
        else:
            import torch

            net.eval()
            with torch.no_grad():
                for i in range(0, len(rows), b):
                    net(torch.from_numpy(rows[i:i + b]))
        out["seconds_per_image"] = (time.perf_counter() - start) / len(rows)
    else:
        model = adapt(net)
        backward = what == "ig"
        if batch == "auto":
            b = auto_batch_size(model, X, backward=backward)
            out["budget"] = memory_budget()
            out["row_bytes"] = row_bytes(model, X, backward=backward)
        else:
            b = int(batch)
        window = (32, 32, 3) if framework == "keras" else (3, 32, 32)
        explainer = xk.IntegratedGradients(model) if backward else xk.Occlusion(model, window=window, stride=window)
        kwargs = {"n_steps": 50} if backward else {}
        explainer.explain(X, target=0, batch_size=b, **kwargs)
        out["seconds"] = time.perf_counter() - start
    out["batch"] = b
    out["peak_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return out


def measure(framework: str, what: str, batch: str, threads: int) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = [sys.executable, __file__, "--child", framework, what, batch, "--threads", str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"framework": framework, "what": what, "batch": batch, "error": done.stderr.strip().splitlines()[-1:]}
    return dict(json.loads(lines[-1]))


def gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", default="keras,torch")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", nargs=3, metavar=("FRAMEWORK", "WHAT", "BATCH"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, threads=args.threads)))
        return
    print(f"# {' '.join(sys.argv)}")
    print(f"# python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, threads {args.threads}")
    for framework in args.frameworks.split(","):
        if framework == "torch":
            try:
                import efficientnet_pytorch  # type: ignore[import-untyped]  # noqa: F401
            except ImportError:
                print("torch: skipped (the vision-models extra is not installed)")
                continue
        print(f"\n## {framework}")
        infer = []
        for b in INFERENCE_BATCHES:
            r = measure(framework, "inference", str(b), args.threads)
            infer.append(r)
            print(f"inference  batch {b:>4}: peak {gb(r.get('peak_bytes', 0))}, {1e3 * r.get('seconds_per_image', 0):.0f} ms/image {r.get('error', '')}")
        ok = [r for r in infer if "error" not in r]
        if not ok:
            continue
        best = min(ok, key=lambda r: r["seconds_per_image"])
        print(f"best inference batch {best['batch']}: peak {gb(best['peak_bytes'])}")
        for what, batches in (("ig", ("64", "8", "auto")), ("occlusion", ("64", "auto"))):
            for batch in batches:
                r = measure(framework, what, batch, args.threads)
                if "error" in r:
                    print(f"{what:<10} batch {batch:>4}: failed {r['error']}")
                    continue
                extra = f" (budget {gb(r['budget'])}, {r['row_bytes'] / 1e6:.0f} MB per row)" if batch == "auto" else ""
                print(f"{what:<10} batch {batch:>4} -> {r['batch']:>2}: peak {gb(r['peak_bytes'])}, {r['seconds']:.1f} s, "
                      f"{r['peak_bytes'] / best['peak_bytes']:.2f}x inference{extra}")


if __name__ == "__main__":
    main()
