"""Checks shared by the display tests."""

from __future__ import annotations

import copy
import io

import matplotlib.pyplot as plt
import numpy as np


def snapshot(result):
    """Every array of a result (values, base values, data, diagnostics), copied, to compare after drawing."""
    arrays = {name: copy.deepcopy(np.asarray(value)) for name, value in result._store.items() if isinstance(value, np.ndarray)}
    arrays.update({f"diag:{k}": np.array(v, copy=True) for k, v in result._diagnostics.items() if isinstance(v, np.ndarray)})
    return arrays


def assert_unchanged(before, result):
    after = snapshot(result)
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key], err_msg=key)


def png_variance(fig) -> float:
    """Pixel variance of the figure saved as a PNG (0 for a blank image)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    buf.seek(0)
    pixels = plt.imread(buf)
    return float(pixels[..., :3].var())
