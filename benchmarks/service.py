"""Latency and throughput of the explanation service (``xaikit.serve``) on loopback.

Model: an XGBoost classifier (100 trees of depth 4) on the 14 features of UCI Adult
(``xk.datasets.load_adult()``, the 8 categorical ones as their category codes), saved as XGBoost
JSON in a bundle with 100 background rows. The server runs in a subprocess (uvicorn, one worker,
the cache off so that every request is computed); the clients are httpx on loopback.

* ``latency``: p50/p99 of one-row ``POST /explain`` requests sent one after the other (a new row each
  time): TreeSHAP (interventional, exact), and KernelSHAP with 256 coalitions (``n_samples=256``,
  ``random_state=0``) on the model's probability. Beside them, the library's own time for the same
  call in this process (``explainer.explain(row)``) and the model's own time for one prediction of
  one row (``predict_proba``): the service adds the difference (HTTP, JSON, validation).
  The same for path-dependent TreeSHAP (a bundle with ``tree_algorithm="path_dependent"``), and
  for an answer served from the cache (the same row again): the HTTP floor.
* ``throughput``: one-row TreeSHAP requests (interventional, and path-dependent) from N concurrent
  async clients (N = 1, 8, 32), with micro-batching on (window 2 ms) and off: requests per second,
  p50, p99 and the largest batch seen. The latency figures above are taken with micro-batching off.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/service.py [--requests 400] [--kernel-requests 60]``.
The machine's cores are shared, so figures are noisy: repeat and report the spread.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

import xaikit as xk

SERVER = """
import sys, uvicorn
from xaikit.serve.app import create_app
app = create_app(sys.argv[1], cache_size=int(sys.argv[4]), micro_batch=sys.argv[3] == "on", batch_window_ms=2.0, log_requests=False)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="error", access_log=False)
"""


def make_bundle_dir(folder: str) -> tuple[str, str, Any, np.ndarray, np.ndarray]:
    """The bundle folders (interventional and path-dependent TreeSHAP), the model, the background and rows to explain."""
    import xgboost

    from xaikit.models.files import load_model
    from xaikit.serve.bundle import make_bundle, save_bundle

    adult = xk.datasets.load_adult()
    frame = adult.frame.copy()
    for col in frame.columns:
        if frame[col].dtype.kind not in "biuf":
            frame[col] = frame[col].astype("category").cat.codes.astype("float64")
    X = frame.to_numpy(dtype=np.float64)
    y = np.asarray(adult.target)
    model = xgboost.XGBClassifier(n_estimators=100, max_depth=4, n_jobs=1, random_state=0).fit(X[:20000], y[:20000])
    path = os.path.join(folder, "model.json")
    model.save_model(path)
    bg = X[20000:20100]
    bundle = make_bundle(path, bg, feature_names=list(frame.columns), parameters={"random_state": 0})
    out = save_bundle(bundle, os.path.join(folder, "bundle"))
    fast = make_bundle(path, bg, feature_names=list(frame.columns), parameters={"random_state": 0, "tree_algorithm": "path_dependent"})
    return out, save_bundle(fast, os.path.join(folder, "path_dependent")), load_model(path), bg, X[21000:23000]


def start(bundle: str, micro_batch: bool, cache_size: int = 0) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", SERVER, bundle, str(port), "on" if micro_batch else "off", str(cache_size)])
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the server did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=10)


def pct(ms: list[float]) -> tuple[float, float]:
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def latency(url: str, rows: np.ndarray, n: int, extra: dict[str, Any]) -> list[float]:
    import httpx

    out = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for i in range(n + 20):
            body = {"instances": [rows[i % len(rows)].tolist()], **extra}
            t = time.perf_counter()
            r = client.post("/explain", json=body)
            dt = (time.perf_counter() - t) * 1000
            if r.status_code != 200:
                raise RuntimeError(r.text)
            if i >= 20:  # warm-up
                out.append(dt)
    return out


def own_time(fn: Any, n: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n * 1000


def throughput(url: str, rows: np.ndarray, clients: int, n: int) -> tuple[float, float, float, int]:
    import httpx

    async def go() -> tuple[float, list[float], list[int]]:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
            queue = list(range(n))
            ms: list[float] = []
            batch: list[int] = []
            retried: list[int] = []

            async def worker() -> None:
                while queue:
                    i = queue.pop()
                    t = time.perf_counter()
                    for attempt in range(3):  # a pooled connection the server closed meanwhile: send again
                        try:
                            r = await client.post("/explain", json={"instances": [rows[i % len(rows)].tolist()]})
                            break
                        except (httpx.ReadError, httpx.RemoteProtocolError):
                            retried.append(i)
                            if attempt == 2:
                                raise
                    ms.append((time.perf_counter() - t) * 1000)
                    if r.status_code != 200:
                        raise RuntimeError(r.text)
                    batch.append(r.json()["batch_rows"])

            t0 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(clients)))
            if retried:
                print(f"  ({len(retried)} request(s) sent again after a closed connection)")
            return time.perf_counter() - t0, ms, batch

    took, ms, batch = asyncio.run(go())
    p50, p99 = pct(ms)
    return n / took, p50, p99, max(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per TreeSHAP figure")
    parser.add_argument("--kernel-requests", type=int, default=60, help="requests of the KernelSHAP figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bundle, fast_bundle, model, bg, rows = make_bundle_dir(folder)
        one = rows[:1]
        tree = xk.TreeShap(model, background=bg)
        path_tree = xk.TreeShap(model)
        kernel = xk.KernelShap(model, background=bg)
        print(f"model: XGBClassifier 100 trees depth 4, 14 features (UCI Adult), background {len(bg)} rows; "
              f"command: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '')} {' '.join([os.path.basename(sys.executable), *sys.argv])}")
        predict_ms = own_time(lambda: model.predict_proba(one), 200)
        tree_ms = own_time(lambda: tree.explain(one, executor="serial"), 100)
        path_ms = own_time(lambda: path_tree.explain(one, executor="serial"), 200)
        kernel_ms = own_time(lambda: kernel.explain(one, n_samples=256, random_state=0, executor="serial"), 10)
        proc, url = start(bundle, micro_batch=False)
        try:
            t50, t99 = pct(latency(url, rows, args.requests, {}))
            k50, k99 = pct(latency(url, rows, args.kernel_requests, {"method": "kernel_shap", "parameters": {"n_samples": 256}}))
        finally:
            stop(proc)
        proc, url = start(fast_bundle, micro_batch=False)
        try:
            p50, p99 = pct(latency(url, rows, args.requests, {}))
        finally:
            stop(proc)
        proc, url = start(bundle, micro_batch=True, cache_size=4096)
        try:
            c50, c99 = pct(latency(url, rows[:1], args.requests, {}))  # the same row: answered from the cache
        finally:
            stop(proc)
        print(f"{'one-row request':34s} {'p50 ms':>8s} {'p99 ms':>8s} {'library ms':>11s} {'model ms':>9s}")
        print(f"{'TreeSHAP (interventional)':34s} {t50:8.2f} {t99:8.2f} {tree_ms:11.2f} {predict_ms:9.3f}")
        print(f"{'TreeSHAP (path-dependent)':34s} {p50:8.2f} {p99:8.2f} {path_ms:11.2f} {predict_ms:9.3f}")
        print(f"{'cached answer (TreeSHAP)':34s} {c50:8.2f} {c99:8.2f} {'':>11s} {'':>9s}")
        print(f"{'KernelSHAP, 256 coalitions':34s} {k50:8.2f} {k99:8.2f} {kernel_ms:11.2f} {predict_ms:9.3f}")
        print(f"\n{'throughput, one-row requests':40s} {'clients':>7s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'max batch':>9s}")
        for label, folder_ in (("TreeSHAP interventional", bundle), ("TreeSHAP path-dependent", fast_bundle)):
            for on in (True, False):
                proc, url = start(folder_, micro_batch=on)
                try:
                    throughput(url, rows, 8, 40)  # warm-up
                    for clients in (1, 8, 32):
                        rps, p50, p99, biggest = throughput(url, rows, clients, args.requests)
                        print(f"{label + ', batching ' + ('on' if on else 'off'):40s} {clients:7d} {rps:8.0f} {p50:8.2f} {p99:8.2f} {biggest:9d}")
                finally:
                    stop(proc)


if __name__ == "__main__":
    main()
