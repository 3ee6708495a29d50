"""xaikit's process pool and joblib's (scikit-learn's n_jobs) work side by side in one process, in
either order: each has a pool of its own."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_sklearn_n_jobs_after_and_before_xaikit_processes():
    code = textwrap.dedent(
        """
        import numpy as np
        from joblib import Parallel, delayed
        from xaikit.execution import LocalExecutor

        square = lambda x: x * x
        with LocalExecutor(2) as ex:
            first = ex.map(square, [1, 2, 3])
        joblib_result = Parallel(n_jobs=2)(delayed(abs)(v) for v in [-1, -2, -3])
        with LocalExecutor(2) as ex:
            again = ex.map(square, [4, 5])
        print(first, joblib_result, again)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\\n")[0].strip() == "[1, 4, 9] [1, 2, 3] [16, 25]"
