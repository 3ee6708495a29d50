"""Size and write time of the HTML report for 1,000, 100,000 and 1,000,000 rows x 30 features.

For each size, an ``xk.Attribution`` is built directly from seeded random values (one output,
handed over read-only, so the result holds no copy), and ``xk.Report(...).add(exp).to_html(path)``
writes it ``--repeats`` times (3; the median time is printed). Two configurations:

* **plain**: values and base values only, ``include_data=False`` (the default);
* **full**: with per-value standard errors (``diagnostics["std_err"]``: error bars, a standard
  error column) and the raw feature values, written with ``include_data=True``.

With ``--open`` (the default when Playwright and Debian's ``chromium`` are installed) each written
file is also opened in headless Chromium, and the time from ``goto`` to the load event is printed.

Nothing is asserted; the bar (issue 14): a 1,000,000-row report under 5 MB that opens in under 5 s.

    .venv/bin/python benchmarks/report.py
    .venv/bin/python benchmarks/report.py --rows 1000,100000 --repeats 1 --no-open
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import xaikit as xk


def make_result(n: int, d: int, full: bool) -> xk.Attribution:
    rng = np.random.default_rng(n)
    values = rng.standard_normal((n, d, 1))
    values *= np.linspace(0.1, 3.0, d)[None, :, None]
    base = np.zeros((n, 1))
    arrays = [values, base]
    kwargs: dict[str, Any] = {}
    if full:
        std_err = np.abs(rng.standard_normal((n, d, 1))) * 0.05
        data = rng.standard_normal((n, d))
        arrays += [std_err, data]
        kwargs = {"diagnostics": {"std_err": std_err, "exact": False}, "data": data}
    for arr in arrays:
        arr.setflags(write=False)
    return xk.Attribution(values=values, base_values=base, feature_names=[f"feature_{j}" for j in range(d)], method="benchmark", **kwargs)


def open_time(browser: Any, path: Path) -> float:
    page = browser.new_page()
    try:
        start = time.perf_counter()
        page.goto(path.resolve().as_uri(), wait_until="load")
        return time.perf_counter() - start
    finally:
        page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000,100000,1000000", help="comma-separated row counts")
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--open", dest="open_", action=argparse.BooleanOptionalAction, default=None, help="open each file in headless Chromium")
    args = parser.parse_args()
    sizes = [int(s) for s in args.rows.split(",")]
    print(f"# {' '.join(sys.argv)}")
    print(f"# python {platform.python_version()}, numpy {np.__version__}, xaikit {xk.__version__}, {platform.machine()}")

    browser, driver = None, None
    chromium = shutil.which("chromium")
    if args.open_ is not False and chromium is not None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            sync_playwright = None  # type: ignore[assignment]
        if sync_playwright is not None:
            driver = sync_playwright().start()
            browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"], headless=True)
    elif args.open_:
        print("# --open asked for, but no chromium on PATH", file=sys.stderr)

    header = f"{'rows':>10} {'features':>8} {'config':>6} {'size (MB)':>10} {'write (s)':>10} {'rows shown':>10}"
    if browser is not None:
        header += f" {'open (s)':>9}"
    print(header)
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            for full in (False, True):
                exp = make_result(n, args.features, full)
                path = Path(folder) / f"report_{n}_{int(full)}.html"
                times = []
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    xk.Report(f"{n:,} rows").add(exp).to_html(path, include_data=full)
                    times.append(time.perf_counter() - start)
                size = path.stat().st_size
                shown = path.read_text(encoding="utf-8").count("sampled uniformly")
                line = (
                    f"{n:>10,} {args.features:>8} {'full' if full else 'plain':>6} {size / 1e6:>10.2f} "
                    f"{statistics.median(times):>10.2f} {min(n, 2000) if shown else n:>10,}"
                )
                if browser is not None:
                    line += f" {open_time(browser, path):>9.2f}"
                print(line, flush=True)
                del exp
    if browser is not None and driver is not None:
        browser.close()
        driver.stop()


if __name__ == "__main__":
    main()
