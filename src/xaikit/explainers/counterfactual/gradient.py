"""Gradient search for differentiable models (torch, Keras), through the adapter's ``gradient(X, target)``.

Each start descends, in units of each feature's MAD, the hinge of the desired outcome by
normalised steps in which only the features whose pull is at least a fraction (the start's
sparsity level) of the strongest one move, projected onto the constraints after every step;
categorical features stay as they are. Starts differ by their sparsity level and a small seeded jitter, which gives diverse
candidates; the shared refinement (:meth:`Search.refine`) then takes each to the boundary.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit.explainers.counterfactual.search import Search

__all__ = ["gradient_starts"]


def _output_gradient(model: Any, X: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """d output[i, outputs[i]] / d x_i, float64 (n, d)."""
    grad = model.gradient(X, outputs.astype(np.int64))
    return np.asarray(grad, dtype=np.float64).reshape(X.shape)


def gradient_starts(search: Search, model: Any, n_starts: int, n_steps: int = 60, step: float = 0.25) -> np.ndarray:
    """Candidates (R, n_starts * 2, d) found by projected proximal gradient descent: the first
    iterate of each start that meets the outcome and its last iterate."""
    R, d = search.X0.shape
    schema = search.schema
    numeric = ~schema.categorical & ~search.constraints.frozen
    scale = schema.mad
    levels = np.linspace(0.95, 0.0, n_starts) if n_starts > 1 else np.array([0.9])
    Z = np.repeat(search.X0[:, None, :], n_starts, axis=1)
    for r in range(R):
        jitter = search.rngs[r].normal(size=(n_starts, d)) * 0.05 * scale
        jitter[0] = 0.0
        Z[r] = Z[r] + np.where(numeric, jitter, 0.0)
    X0 = np.repeat(search.X0, n_starts, axis=0)
    ref = np.repeat(search.ref, n_starts)
    lam = np.tile(levels, R)
    first = np.full((R * n_starts, d), np.nan)
    flat = search.constraints.repair(Z.reshape(-1, d), X0)
    for _ in range(n_steps):
        P = search.predict(flat)
        search.n_calls += 1
        valid, _ = search.decision.loss(P, ref)
        fresh = valid & np.isnan(first[:, 0])
        first[fresh] = flat[fresh]
        active = ~valid
        if not active.any():
            break
        up, down = _directions(search, P, ref)
        g = np.zeros_like(flat)
        if (up >= 0).any():
            g -= np.where((up >= 0)[:, None], _output_gradient(model, flat, np.maximum(up, 0)), 0.0)
        if (down >= 0).any():
            g += np.where((down >= 0)[:, None], _output_gradient(model, flat, np.maximum(down, 0)), 0.0)
        gu = np.where(numeric, g * scale, 0.0)  # the gradient in MAD units
        top = np.abs(gu).max(axis=1, keepdims=True)
        top[top == 0] = 1.0
        pull = np.abs(gu) >= lam[:, None] * top  # only the features pulling nearly as hard as the strongest move
        u = (flat - X0) / scale - step * np.where(pull, gu, 0.0) / top
        moved = np.where(numeric, X0 + u * scale, flat)
        flat = np.where(active[:, None], search.constraints.repair(moved, X0), flat)
    last = flat
    first = np.where(np.isnan(first), last, first)
    return np.concatenate([first.reshape(R, n_starts, d), last.reshape(R, n_starts, d)], axis=1)


def _directions(search: Search, P: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The output to raise and the one to lower for each candidate (-1: none)."""
    dec = search.decision
    n = len(P)
    if dec.mode == "interval":
        y = P[:, dec.output]
        up = np.where(y < dec.low, dec.output, -1)
        down = np.where(y > dec.high, dec.output, -1)
        return up, down
    if dec.mode == "threshold":
        want = (1 - ref) if dec.goal == "flip" else np.full(n, dec.cls)
        return np.where(want == 1, 0, -1), np.where(want == 1, -1, 0)
    rows = np.arange(n)
    if dec.goal == "flip":
        others = P.copy()
        others[rows, ref] = -np.inf
        return np.argmax(others, axis=1), ref.astype(np.int64)
    others = P.copy()
    others[:, dec.cls] = -np.inf
    return np.full(n, dec.cls), np.argmax(others, axis=1)
