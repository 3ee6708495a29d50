"""Global explanations against the reference libraries, in one run: permutation importance against
scikit-learn (serial and 2 workers), partial dependence against scikit-learn's brute path, the
H-statistic over all pairs of 10 features, and ALE against alibi's (skipped when alibi is missing).

Run from the repository root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/global.py            # full (minutes)
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/global.py --quick    # smaller cases (about a minute)

Each part lives in its own module (``_global_importance.py``, ``_global_effects.py``,
``_global_ale.py``), which can also be run alone. alibi is not a dependency of xaikit; for the ALE
part install it apart (e.g. ``pip install --no-deps --target /tmp/alibi_pkgs alibi attrs dill``) and
put it on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _global_ale  # noqa: E402
import _global_effects  # noqa: E402
import _global_importance  # noqa: E402


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _print(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    if not rows:
        print("  (skipped)")
        return
    for row in rows:
        print("  " + ", ".join(f"{k}={_fmt(v)}" for k, v in row.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller cases")
    parser.add_argument("--runs", type=int, default=1, help="timed runs of each cell (the best is kept)")
    args = parser.parse_args()
    import numpy as np
    import sklearn

    import xaikit

    print(f"python {platform.python_version()}, numpy {np.__version__}, scikit-learn {sklearn.__version__}, "
          f"xaikit {xaikit.__version__}, CPUs {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    # scikit-learn's n_jobs runs first: its workers and xaikit's are separate pools
    _print("Permutation importance (RandomForest; ratio = scikit-learn s / xaikit s)",
           _global_importance.run(args.quick, args.runs))
    _print("Partial dependence and H-statistic (ratio = scikit-learn s / xaikit s)", _global_effects.run(args.quick, args.runs))
    _print("ALE against alibi", _global_ale.run(args.quick))


if __name__ == "__main__":
    main()
