"""Gradient, CAM and occlusion attributions: xaikit against Captum on one CNN, CPU, in one run.

The model is a seeded CNN of three 3x3 convolutions (3 -> 16 -> 32 -> 64 channels, ReLU, 2x2 max
pooling after the first two), global average pooling and a linear layer to 10 logits, float32, in
evaluation mode (He-initialised, so that its logits are of order 1). It explains ``--rows`` 32 seeded
random images of 3 x 64 x 64 (uniform in [0, 1]), with targets 0, 1, ..., 9, 0, 1, ... (one class per
row). Methods, with the same settings on both sides:

* **IG**: Integrated Gradients from a zero baseline, ``--steps`` 50 Gauss-Legendre nodes;
  ``xk.IntegratedGradients(batch_size=B)`` against ``captum.attr.IntegratedGradients
  (internal_batch_size=B)``, with ``--batch-size`` B = 64 model rows per call (xaikit's default).
* **SmoothGrad**: the mean of |gradient| over ``--samples`` 25 noisy copies, noise of standard
  deviation 0.15 (absolute: ``noise_abs`` against ``stdevs``); ``xk.SmoothGrad(xk.Saliency)``
  against ``NoiseTunnel(Saliency)``, B // rows noisy copies of every row per call on both sides.
* **GradCam**: layer ``conv3``, positive part, bilinear upsampling to 64 x 64; ``xk.GradCam``
  against ``LayerGradCam(relu_attributions=True)`` followed by ``LayerAttribution.interpolate``.
* **Occlusion**: 3 x 8 x 8 windows with stride 8, baseline 0; ``xk.Occlusion(batch_size=B)``
  against ``captum.attr.Occlusion(perturbations_per_eval=B // rows)``, B occluded images per call.

Each method and library runs in a fresh process (the script calls itself with ``--one METHOD
LIB``), which builds the model and then runs the method once to warm up (imports, torch's
first-call set-up for each shape), then

* once under ``tracemalloc``: **traced** is its peak, Python objects and numpy arrays but not torch
  tensors (so for Captum it is close to nothing);
* once for the **peak RSS**: free heap memory is handed back (``malloc_trim``), the peak resident
  memory is reset to the current one (``/proc/self/clear_refs``, Linux), and the rise of the peak
  (``VmHWM``, the figure ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` reports, without the peak
  ``ru_maxrss`` inherits from the process that started this one) during the run is reported. It
  sees everything, torch's CPU tensors included. Where the peak cannot be reset, its rise above
  the earlier peak is reported instead (a lower bound, marked ``*``),

and saves its attributions. The **time** is the best of ``--repeats`` 3 runs in the main process,
the two libraries taking turns after a warm-up run of each (so that a slow spell of a shared
machine hits both), with the same torch thread count on both sides (``--threads``, default 1: on a
shared 2-vCPU machine two torch threads made a small forward and backward pass up to 50 times
slower, their threads waiting for a busy core).

The attributions of both are compared: the max |difference|, and the same divided by the largest
|value| of Captum's. IG's differ by more than float32 rounding: xaikit forms the path points
``alpha * x`` in float64 and casts them to the model's float32, Captum computes them in float32, and
the rounding of the points flips a few ReLU and max-pooling decisions, which moves some pixels'
gradients (the same IG in float32 or float64 points by hand gives the same difference).
SmoothGrad draws different noise on each side, so instead of a difference it prints the relative L2
distance between the two and, as the yardstick, between xaikit's seeds 0 and 1.

Then the memory of IG against its batch size (rows, 8 x rows and rows x steps: all at once), and
the completeness gap ``max_i |sum(IG_i) - (f(x_i) - f(0))|`` for 4 to 128 steps of the
Riemann-middle and Gauss-Legendre rules: xaikit's ``diagnostics["completeness_gap"]`` and Captum's
``return_convergence_delta=True`` (which Captum sums in float32).

Then (part 4) the deep-model methods, each against its reference on its own network (see
``_deep_methods.py``): layer IG on a token classifier's embedding (Captum), DeepLiftShap (Captum),
LRP with the epsilon-plus composite on a ResNet-like network (Zennit) and ScoreCAM
(pytorch-grad-cam), each at two batch sizes: the best time of ``--repeats`` runs taking turns as
above, the peak RSS rise of a run in a fresh process per method and library (both batch sizes in
it, the peak reset before each), ``floor`` the model's own time for the passes the method needs,
and the largest difference of the attributions relative to the reference's largest value.

Run: ``python benchmarks/gradients.py`` (``--quick`` for a small smoke run; ``--parts 4`` for the
deep-model methods alone; ``--profile METHOD`` for the top entries of cProfile on one xaikit run).
"""

from __future__ import annotations

import argparse
import cProfile
import ctypes
import gc
import json
import os
import platform
import pstats
import resource
import shlex
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from _deep_methods import DEEP_METHODS, DEEP_TITLES, REFERENCES, deep_runner, floor_runner
from _deep_methods import make_case as make_deep_case

METHODS = ("ig", "smoothgrad", "gradcam", "occlusion")
TITLES = {"ig": "IG", "smoothgrad": "SmoothGrad", "gradcam": "GradCam", "occlusion": "Occlusion"}
LIBS = ("captum", "xaikit")
SIZE = 64  # images are 3 x SIZE x SIZE
WINDOW = (3, 8, 8)
NOISE = 0.15  # SmoothGrad's standard deviation, for inputs in [0, 1]
STEP_COUNTS = (4, 8, 16, 32, 64, 128)
RULES = ("riemann_middle", "gausslegendre")
# part 4: explained rows and the two batch sizes (model rows per call) of each deep-model method, full and --quick
DEEP_ROWS = {"layer_ig": 8, "deeplift_shap": 16, "lrp": 32, "score_cam": 8}
DEEP_BATCHES = {"layer_ig": (32, 128), "deeplift_shap": (16, 160), "lrp": (8, 32), "score_cam": (8, 32)}
QUICK_ROWS = {"layer_ig": 2, "deeplift_shap": 4, "lrp": 8, "score_cam": 2}
QUICK_BATCHES = {"layer_ig": (16, 50), "deeplift_shap": (8, 40), "lrp": (4, 8), "score_cam": (8, 32)}


class SmallCNN(torch.nn.Module):
    """Three 3x3 convolutions (3 -> 16 -> 32 -> 64), ReLU, max pooling after the first two,
    global average pooling and a linear layer: (n, 3, 64, 64) -> 10 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = torch.nn.Conv2d(32, 64, 3, padding=1)
        self.fc = torch.nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.relu(self.conv3(x))
        return self.fc(x.mean(dim=(2, 3)))


def make_case(rows: int, seed: int = 0) -> tuple[SmallCNN, torch.Tensor, np.ndarray]:
    """The seeded model, ``rows`` seeded images (float32) and their targets: classes 0..9 in turn
    (the model predicts much the same class for every random image)."""
    torch.manual_seed(seed)
    model = SmallCNN().eval()
    for layer in (model.conv1, model.conv2, model.conv3, model.fc):  # He initialisation: logits of order 1
        torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        torch.nn.init.normal_(layer.bias, std=0.1)
    gen = torch.Generator().manual_seed(seed + 1)
    X = torch.rand(rows, 3, SIZE, SIZE, generator=gen)
    return model, X, np.arange(rows) % 10


def runner(lib: str, method: str, model: SmallCNN, X: torch.Tensor, y: np.ndarray, cfg: dict[str, Any]) -> Callable[[], np.ndarray]:
    """A function that computes the attributions of ``X`` with ``lib`` and returns them as
    ``(n, 3, 64, 64)`` (``(n, 64, 64)`` for GradCam); explainers are built inside it."""
    n, bs = X.shape[0], cfg["batch_size"]
    per_call = max(1, bs // n)  # Captum batches noisy copies and windows per input row
    if lib == "captum":
        from captum import attr

        yt = torch.as_tensor(y)

        def run() -> np.ndarray:
            if method == "ig":
                out = attr.IntegratedGradients(model).attribute(
                    X, baselines=0.0, target=yt, n_steps=cfg["steps"], method=cfg["rule"], internal_batch_size=bs
                )
            elif method == "smoothgrad":
                torch.manual_seed(cfg["seed"])
                out = attr.NoiseTunnel(attr.Saliency(model)).attribute(
                    X, nt_type="smoothgrad", nt_samples=cfg["samples"], nt_samples_batch_size=per_call,
                    stdevs=NOISE, target=yt,
                )
            elif method == "gradcam":
                cam = attr.LayerGradCam(model, model.conv3).attribute(X, target=yt, relu_attributions=True)
                out = attr.LayerAttribution.interpolate(cam, (SIZE, SIZE), interpolate_mode="bilinear")[:, 0]
            else:
                out = attr.Occlusion(model).attribute(
                    X, sliding_window_shapes=WINDOW, strides=WINDOW, baselines=0.0, target=yt,
                    perturbations_per_eval=per_call,
                )
            return out.detach().numpy()

        return run

    import xaikit as xk

    def run() -> np.ndarray:
        if method == "ig":
            exp = xk.IntegratedGradients(model).explain(
                X, target=y, baseline=0.0, n_steps=cfg["steps"], method=cfg["rule"], batch_size=bs
            )
        elif method == "smoothgrad":
            exp = xk.SmoothGrad(xk.Saliency(model), noise_abs=NOISE).explain(
                X, target=y, n_samples=cfg["samples"], batch_size=bs, random_state=cfg["seed"]
            )
        elif method == "gradcam":
            exp = xk.GradCam(model, layer="conv3").explain(X, target=y, batch_size=bs)
        else:
            exp = xk.Occlusion(model, window=WINDOW, stride=WINDOW).explain(X, target=y, baseline=0.0, batch_size=bs)
        return xk.as_input_shape(exp)

    return run


def _proc_status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0  # kB
    raise OSError(f"no {field} in /proc/self/status")


def peak_rss_mb() -> float:
    """The peak resident memory of this process, in MB: ``VmHWM`` where ``/proc`` has it (the
    high-water mark of this process's memory, which ``reset_peak_rss`` can lower), else
    ``ru_maxrss`` (which also keeps the peak of the process before ``exec``, e.g. its parent's)."""
    try:
        return _proc_status_mb("VmHWM")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024.0  # bytes on macOS, kB elsewhere


def reset_peak_rss() -> tuple[float, bool]:
    """Lower the peak to the current resident memory (Linux: ``/proc/self/clear_refs``); return the
    current resident memory in MB and True, or where that is not possible the peak so far and False."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        current = _proc_status_mb("VmRSS")
    except OSError:
        return peak_rss_mb(), False
    return current, peak_rss_mb() <= current + 1.0  # the reset took effect


def release_free_memory() -> None:
    """Collect garbage and hand the C heap's free memory back to the system (glibc), so that the
    resident memory is what is in use."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def run_one(method: str, lib: str, args: argparse.Namespace) -> None:
    """In a fresh process: a warm-up run, the tracemalloc peak of a second run, the peak RSS rise and
    the time of a third; its attributions go to ``args.save``; a JSON line to stdout."""
    torch.set_num_threads(args.threads)
    model, X, y = make_case(args.rows)
    cfg = {"steps": args.steps, "rule": args.rule, "batch_size": args.batch_size, "samples": args.samples, "seed": 0}
    runner(lib, method, model, X, y, cfg)()  # warm-up: imports, first-call set-up of the kernels
    tracemalloc.start()
    runner(lib, method, model, X, y, cfg)()
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    release_free_memory()
    before, peak_reset = reset_peak_rss()
    start = time.perf_counter()
    values = runner(lib, method, model, X, y, cfg)()
    seconds = time.perf_counter() - start
    rss = peak_rss_mb() - before
    if args.save:
        np.save(args.save, values)
    print("RESULT " + json.dumps({"time": seconds, "rss_mb": rss, "traced_mb": traced, "peak_reset": peak_reset}))


def deep_settings(method: str, args: argparse.Namespace) -> tuple[int, tuple[int, ...]]:
    """The rows and batch sizes of a deep-model method (smaller with ``--quick``)."""
    return (QUICK_ROWS[method], QUICK_BATCHES[method]) if args.quick else (DEEP_ROWS[method], DEEP_BATCHES[method])


def run_deep_one(method: str, lib: str, args: argparse.Namespace) -> None:
    """In a fresh process, for each batch size: a warm-up run, then the peak RSS rise and the time of
    a measured run; the attributions of the last go to ``args.save``; a JSON line to stdout."""
    torch.set_num_threads(args.threads)
    rows, batches = deep_settings(method, args)
    case = make_deep_case(method, rows)
    out: dict[str, Any] = {}
    values = np.empty(0)
    for bs in batches:
        run = deep_runner(lib, method, case, bs)
        run()
        release_free_memory()
        before, peak_reset = reset_peak_rss()
        start = time.perf_counter()
        values = run()
        seconds = time.perf_counter() - start
        out[str(bs)] = {"time": seconds, "rss_mb": peak_rss_mb() - before, "peak_reset": peak_reset}
    if args.save:
        np.save(args.save, values)
    print("RESULT " + json.dumps(out))


def best_times(method: str, args: argparse.Namespace) -> dict[str, float]:
    """The best of ``args.repeats`` runs of each library, in this process, the libraries taking turns
    (after a warm-up run of each) so that a slow spell of a shared machine hits both."""
    torch.set_num_threads(args.threads)
    model, X, y = make_case(args.rows)
    cfg = {"steps": args.steps, "rule": args.rule, "batch_size": args.batch_size, "samples": args.samples, "seed": 0}
    runs = {lib: runner(lib, method, model, X, y, cfg) for lib in LIBS}
    for run in runs.values():
        run()
    best = dict.fromkeys(LIBS, float("inf"))
    for _ in range(args.repeats):
        for lib, run in runs.items():
            start = time.perf_counter()
            run()
            best[lib] = min(best[lib], time.perf_counter() - start)
    return best


def measure(method: str, lib: str, args: argparse.Namespace, save: str | None, **overrides: Any) -> dict[str, float]:
    """``run_one`` in a fresh process."""
    opts = {"rows": args.rows, "steps": args.steps, "rule": args.rule, "batch_size": args.batch_size,
            "samples": args.samples, "threads": args.threads, **overrides}
    cmd = [sys.executable, os.path.abspath(__file__), "--one", method, lib]
    for key, value in opts.items():
        cmd += ["--" + key.replace("_", "-"), str(value)]
    if save:
        cmd += ["--save", save]
    if args.quick:
        cmd += ["--quick"]
    res = subprocess.run(cmd, check=False, capture_output=True, text=True)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    if res.returncode != 0 or not lines:
        raise RuntimeError(f"{method} / {lib} failed ({res.returncode}):\n{res.stderr[-3000:]}")
    print(f"  {TITLES.get(method) or DEEP_TITLES[method]} / {lib} done", file=sys.stderr, flush=True)
    return json.loads(lines[-1][len("RESULT "):])


def rel_l2(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm((a - b).ravel()) / np.linalg.norm(b.ravel()))


def rss_cell(r: dict[str, Any], width: int) -> str:
    return f"{r['rss_mb']:.1f}{'' if r['peak_reset'] else '*'}".rjust(width)


def comparison(args: argparse.Namespace, tmp: str) -> None:
    header = (f"{'method':<11} {'captum s':>9} {'xaikit s':>9} {'x/c':>6} {'captum RSS':>11} {'xaikit RSS':>11} "
              f"{'captum traced':>13} {'xaikit traced':>13} {'max|diff|':>9} {'rel':>8}")
    print(f"\n1. Time (best of {args.repeats}), peak memory (MB) and agreement; {args.rows} images, batch "
          f"{args.batch_size}; x/c = xaikit time / Captum time (below 1: xaikit faster)")
    print(header)
    print("-" * len(header))
    notes = []
    for method in [m for m in args.methods if m in METHODS]:
        res, values = {}, {}
        for lib in LIBS:
            path = os.path.join(tmp, f"{method}_{lib}.npy")
            res[lib] = measure(method, lib, args, path)
            values[lib] = np.load(path).astype(np.float64)
        c, x = res["captum"], res["xaikit"]
        best = best_times(method, args)
        scale = float(np.abs(values["captum"]).max())
        if method == "smoothgrad":
            diff, rel = "n/a", "n/a"
            torch.set_num_threads(args.threads)
            model, X, y = make_case(args.rows)
            cfg = {"batch_size": args.batch_size, "samples": args.samples, "seed": 1}
            other = runner("xaikit", method, model, X, y, cfg)()
            notes.append(f"SmoothGrad draws different noise on each side: relative L2 distance Captum vs xaikit "
                         f"{rel_l2(values['xaikit'], values['captum']):.3f}, xaikit seed 0 vs seed 1 "
                         f"{rel_l2(other, values['xaikit']):.3f}")
        else:
            d = float(np.abs(values["xaikit"] - values["captum"]).max())
            diff, rel = f"{d:.1e}", f"{d / scale:.1e}"
            if method == "ig" and d > 1e-5 * scale:
                notes.append("IG: path points in float64 (xaikit) or float32 (Captum) flip a few ReLU / max-pool "
                             "decisions; see the docstring")
        print(f"{TITLES[method]:<11} {best['captum']:>9.3f} {best['xaikit']:>9.3f} {best['xaikit'] / best['captum']:>6.2f} "
              f"{rss_cell(c, 11)} {rss_cell(x, 11)} {c['traced_mb']:>13.1f} {x['traced_mb']:>13.1f} "
              f"{diff:>9} {rel:>8}", flush=True)
    print("RSS: rise of the peak resident memory during a run (* where the peak could not be reset: the rise")
    print("above the earlier peak); traced: tracemalloc's peak (numpy and Python objects, not torch tensors);")
    print("rel: max|diff| / max|Captum's values|")
    for note in notes:
        print(note)


def batch_sweep(args: argparse.Namespace) -> None:
    sizes = [args.rows, 8 * args.rows, args.rows * args.steps]
    libs = ("xaikit",) if args.quick else LIBS
    print(f"\n2. IG memory against the batch size ({args.steps} {args.rule} steps, {args.rows} images: "
          f"{args.rows * args.steps} gradient rows; the last size is all at once); time of the measured run")
    header = f"{'batch':>6} " + " ".join(f"{lib + ' s':>9} {lib + ' RSS':>11} {lib + ' traced':>13}" for lib in libs)
    print(header)
    print("-" * len(header))
    for bs in sizes:
        cells = []
        for lib in libs:
            r = measure("ig", lib, args, None, batch_size=bs)
            cells.append(f"{r['time']:>9.3f} {rss_cell(r, 11)} {r['traced_mb']:>13.1f}")
        print(f"{bs:>6} " + " ".join(cells), flush=True)


def completeness(args: argparse.Namespace) -> None:
    from captum.attr import IntegratedGradients

    import xaikit as xk

    torch.set_num_threads(args.threads)
    model, X, y = make_case(args.rows)
    with torch.no_grad():
        out = model(torch.cat([X, torch.zeros(1, *X.shape[1:])])).double().numpy()
    scale = float(np.abs(out[np.arange(args.rows), y] - out[-1, y]).max())
    print(f"\n3. IG completeness gap max_i |sum(IG_i) - (f(x_i) - f(0))| over the {args.rows} images "
          f"(max |f(x_i) - f(0)| = {scale:.3g}); batch {args.batch_size}")
    header = f"{'steps':>6} " + " ".join(f"{rule + ' xaikit':>22} {'captum':>9}" for rule in RULES)
    print(header)
    print("-" * len(header))
    yt = torch.as_tensor(y)
    for steps in args.step_counts:
        cells = []
        for rule in RULES:
            exp = xk.IntegratedGradients(model).explain(
                X, target=y, baseline=0.0, n_steps=steps, method=rule, batch_size=args.batch_size
            )
            ours = float(np.abs(exp.diagnostics["completeness_gap"]).max())
            _, delta = IntegratedGradients(model).attribute(
                X, baselines=0.0, target=yt, n_steps=steps, method=rule,
                internal_batch_size=args.batch_size, return_convergence_delta=True,
            )
            cells.append(f"{ours:>22.2e} {float(delta.abs().max()):>9.2e}")
        print(f"{steps:>6} " + " ".join(cells), flush=True)


def deep_best_times(method: str, case: Any, bs: int, args: argparse.Namespace) -> dict[str, float]:
    """As ``best_times``, for a deep-model method against its reference, and its ``floor``."""
    runs: dict[str, Callable[[], Any]] = {lib: deep_runner(lib, method, case, bs) for lib in ("reference", "xaikit")}
    runs["floor"] = floor_runner(method, case, bs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Captum's notes on the hooks it sets, at every call
        for run in runs.values():
            run()
        best = dict.fromkeys(runs, float("inf"))
        for _ in range(args.repeats):
            for lib, run in runs.items():
                start = time.perf_counter()
                run()
                best[lib] = min(best[lib], time.perf_counter() - start)
    return best


def deep_methods(args: argparse.Namespace, tmp: str) -> None:
    methods = [m for m in args.methods if m in DEEP_METHODS]
    if not methods:
        return
    print(f"\n4. Deep-model methods against their references (time: best of {args.repeats}; floor: the model's own "
          "passes; x/r = xaikit / reference time;\n   RSS: peak resident memory rise of a run, MB; rel: max|diff| / "
          "max|reference|)")
    header = (f"{'method':<13} {'reference':<9} {'n':>3} {'batch':>5} {'floor s':>8} {'xaikit s':>9} {'ref s':>8} "
              f"{'x/r':>5} {'xaikit RSS':>10} {'ref RSS':>8} {'rel':>8}")
    print(header)
    print("-" * len(header))
    torch.set_num_threads(args.threads)
    for method in methods:
        rows, batches = deep_settings(method, args)
        res, values = {}, {}
        for lib in ("reference", "xaikit"):
            path = os.path.join(tmp, f"{method}_{lib}.npy")
            res[lib] = measure(method, lib, args, path)
            values[lib] = np.load(path).astype(np.float64)
        rel = float(np.abs(values["xaikit"] - values["reference"]).max() / np.abs(values["reference"]).max())
        case = make_deep_case(method, rows)
        for bs in batches:
            best = deep_best_times(method, case, bs, args)
            x, r = res["xaikit"][str(bs)], res["reference"][str(bs)]
            print(f"{DEEP_TITLES[method]:<13} {REFERENCES[method]:<9} {rows:>3} {bs:>5} {best['floor']:>8.3f} "
                  f"{best['xaikit']:>9.3f} {best['reference']:>8.3f} {best['xaikit'] / best['reference']:>5.2f} "
                  f"{rss_cell(x, 10)} {rss_cell(r, 8)} {rel:>8.1e}", flush=True)
    print("rel: at the last batch size. LayerIG: sequences of 128 token ids, 50 steps per row; DeepLiftShap: 10 "
          "background images per row,\nCaptum runs all pairs at once whatever the batch; LRP: Zennit runs the rows batch "
          "by batch; ScoreCam: 32 masked images per row,\npytorch-grad-cam batches one image's channels (its first "
          "forward pass takes all rows at once).")


def profile(method: str, args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    if method in DEEP_METHODS:
        rows, batches = deep_settings(method, args)
        run = deep_runner("xaikit", method, make_deep_case(method, rows), batches[-1])
        run()
        prof = cProfile.Profile()
        prof.enable()
        run()
        prof.disable()
        print(f"cProfile of one xaikit {DEEP_TITLES[method]} run ({rows} rows, batch {batches[-1]}):")
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.profile_top)
        return
    model, X, y = make_case(args.rows)
    cfg = {"steps": args.steps, "rule": args.rule, "batch_size": args.batch_size, "samples": args.samples, "seed": 0}
    run = runner("xaikit", method, model, X, y, cfg)
    run()
    prof = cProfile.Profile()
    prof.enable()
    run()
    prof.disable()
    print(f"cProfile of one xaikit {TITLES[method]} run ({args.rows} images, batch {args.batch_size}):")
    pstats.Stats(prof).sort_stats("tottime").print_stats(args.profile_top)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=32, help="explained images")
    parser.add_argument("--steps", type=int, default=50, help="IG steps")
    parser.add_argument("--rule", default="gausslegendre", help="IG quadrature rule of parts 1 and 2")
    parser.add_argument("--samples", type=int, default=25, help="SmoothGrad samples")
    parser.add_argument("--batch-size", type=int, default=64, help="model rows per call")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each method (the best counts)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads, both libraries")
    parser.add_argument("--methods", default=",".join(METHODS + DEEP_METHODS))
    parser.add_argument("--parts", default="1,2,3,4", help="1 comparison, 2 batch sweep, 3 completeness, 4 deep-model methods")
    parser.add_argument("--quick", action="store_true", help="smoke test: 4 images, 20 IG steps, 10 samples, 1 repeat")
    parser.add_argument("--profile", choices=METHODS + DEEP_METHODS, help="only profile one xaikit run of METHOD")
    parser.add_argument("--profile-top", type=int, default=20)
    parser.add_argument("--one", nargs=2, metavar=("METHOD", "LIB"), help=argparse.SUPPRESS)
    parser.add_argument("--save", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        if args.one[0] in DEEP_METHODS:
            run_deep_one(args.one[0], args.one[1], args)
        else:
            run_one(args.one[0], args.one[1], args)
        return
    if args.quick:
        args.rows, args.repeats, args.batch_size, args.steps, args.samples = 4, 1, 8, 20, 10
        args.step_counts = (4, 16, 64)
    else:
        args.step_counts = STEP_COUNTS
    args.methods = [m.strip() for m in args.methods.split(",")]
    for m in args.methods:
        if m not in METHODS + DEEP_METHODS:
            parser.error(f"--methods: unknown method {m!r}; expected some of {', '.join(METHODS + DEEP_METHODS)}")
    if args.profile:
        profile(args.profile, args)
        return

    wall = time.perf_counter()
    import captum

    import xaikit as xk

    torch.set_num_threads(args.threads)
    print("Gradient attributions: xaikit vs Captum, same CNN, images, targets and settings, CPU, one run")
    print("command: " + shlex.join([os.path.relpath(sys.executable), *sys.argv]))
    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
          f"captum {captum.__version__}, xaikit {xk.__version__}; torch threads {torch.get_num_threads()} "
          f"(both libraries), CPUs {os.cpu_count()}")
    print(f"model: 3-conv CNN, 3x{SIZE}x{SIZE} float32 inputs, {args.rows} images; IG {args.steps} {args.rule} "
          f"steps; SmoothGrad {args.samples} samples, stdev {NOISE}; GradCam conv3; Occlusion {WINDOW} stride "
          f"{WINDOW}; batch {args.batch_size} model rows per call")
    parts = {p.strip() for p in args.parts.split(",")}
    with tempfile.TemporaryDirectory() as tmp:
        if "1" in parts:
            comparison(args, tmp)
    if "2" in parts:
        batch_sweep(args)
    if "3" in parts:
        completeness(args)
    if "4" in parts:
        with tempfile.TemporaryDirectory() as tmp:
            deep_methods(args, tmp)
    print(f"\nwall time of the whole script: {time.perf_counter() - wall:.0f} s")


if __name__ == "__main__":
    main()
