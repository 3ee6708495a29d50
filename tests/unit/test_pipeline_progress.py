"""Progress of an explain call (xaikit.explainers.pipeline.on_progress): reported per chunk of rows,
from the caller's thread whatever the executor, without changing any value."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import ModelOutputError
from xaikit.explainers.pipeline import on_progress

X = np.random.default_rng(0).normal(size=(30, 8))  # 8 features: 64 coalitions are a sample


def f(X: np.ndarray) -> np.ndarray:
    return X[:, 0] * X[:, 1] + np.sin(X[:, 2]) - X[:, 3]


@pytest.mark.parametrize("executor", ["serial", "threads:2", "processes:2"])
def test_progress_moves_to_the_total_and_changes_no_value(executor):
    explainer = xk.KernelShap(f, background=X[:5])
    plain = explainer.explain(X[:24], n_samples=64, random_state=3, executor=executor)
    seen: list[tuple[int, int, int]] = []
    with on_progress(lambda done, total: seen.append((done, total, threading.get_ident()))):
        reported = explainer.explain(X[:24], n_samples=64, random_state=3, executor=executor)
    np.testing.assert_array_equal(plain.values, reported.values)
    np.testing.assert_array_equal(plain.diagnostics["std_err"], reported.diagnostics["std_err"])
    done = [d for d, _, _ in seen]
    assert len(seen) >= 10 and done == sorted(done) and done[-1] == 24 and {t for _, t, _ in seen} == {24}
    assert {ident for _, _, ident in seen} == {threading.get_ident()}


def test_methods_that_compute_in_this_process_report_once_and_no_report_outside_the_block():
    torch = pytest.importorskip("torch")
    net = torch.nn.Linear(8, 1).double()
    seen: list[tuple[int, int]] = []
    with on_progress(lambda done, total: seen.append((done, total))):
        xk.Saliency(net).explain(X[:5])
    xk.Saliency(net).explain(X[:5])
    assert seen == [(5, 5)]


def test_a_failing_chunk_ends_the_call_with_its_error():
    def fails_on_mix(X: np.ndarray) -> np.ndarray:  # fails only on a masked copy of row 17 with the background
        if ((X[:, 0] == 7.0) & (X[:, 1] == 100.0)).any():
            raise ValueError("cannot take this mix")
        return X.sum(axis=1)

    rows, background = X.copy(), X[:3].copy()
    rows[17, 1], background[:, 0] = 100.0, 7.0
    seen: list[int] = []
    with on_progress(lambda done, total: seen.append(done)), pytest.raises(ModelOutputError, match="row 17 of X"):
        xk.KernelShap(fails_on_mix, background=background).explain(rows, n_samples=16, executor="threads:2")
    assert not seen or seen[-1] < 30
