"""Which output of an explanation each row's metric reads.

A quality metric scores one output per row. ``target`` names it the same way in every metric:

- ``None``: the single output; with several, the output each row's prediction is about (the arg-max of
  the model's outputs for that row, which are then computed or given);
- a position (negative counts from the end) or a name: that output for every row;
- a sequence of ``n`` positions or names: one per row (e.g. each row's true or predicted class).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError

__all__ = ["row_outputs"]


def row_outputs(target: Any, names: Sequence[str], n: int, predictions: np.ndarray | Callable[[], np.ndarray] | None = None,
                *, who: str = "the explanation") -> tuple[np.ndarray, Any]:
    """The output position (in ``names``) each of the ``n`` rows reads, ``(n,)`` intp, and the target as a
    metric records it (``"predicted"`` for each row's predicted output, ``"per row"`` for a sequence).

    ``predictions`` (``(n, len(names))``, or a function returning them, called only when needed) are the
    model's outputs of the rows, for ``target=None`` with several outputs.

    >>> row_outputs(None, ["no", "yes"], 2, np.array([[0.9, 0.1], [0.2, 0.8]]))[0].tolist()
    [0, 1]
    >>> row_outputs("yes", ["no", "yes"], 2)[0].tolist(), row_outputs([1, "no"], ["no", "yes"], 2)[0].tolist()
    ([1, 1], [1, 0])
    """
    from xaikit.explainers.base import select_outputs

    names = list(names)
    o = len(names)
    if target is None:
        if o == 1:
            return np.zeros(n, dtype=np.intp), None
        if predictions is None:
            raise InvalidParameterError(
                f"target: expected the output to score (one of {names}, or one per row) or the model and X to choose each "
                f"row's predicted output, got target=None with {who}'s {o} outputs"
            )
        P = np.asarray(predictions() if callable(predictions) else predictions, dtype=np.float64)
        if P.shape != (n, o):
            raise InvalidParameterError(
                f"model: expected {o} outputs for each of the {n} rows (as many as {who}), got predictions of shape {P.shape}"
            )
        return np.argmax(P, axis=1).astype(np.intp), "predicted"
    if isinstance(target, (list, tuple, np.ndarray)):
        items = list(np.asarray(target).ravel()) if isinstance(target, np.ndarray) else list(target)
        if len(items) != n:
            raise InvalidParameterError(
                f"target: expected one output (of {names}) per row, {n} in all, or a single output, got {len(items)} items"
            )
        arr = np.asarray(target)
        if arr.dtype.kind in "iu" and not ((arr < -o) | (arr >= o)).any():
            return (arr.ravel() % o).astype(np.intp), "per row"  # positions, checked at once
        position = {name: j for j, name in enumerate(names)}
        picked = [position[t] if isinstance(t, str) and t in position else select_outputs(t.item() if isinstance(t, np.generic) else t, names)[0][0]
                  for t in items]
        return np.array(picked, dtype=np.intp), "per row"
    if isinstance(target, (bool, np.bool_)) or not isinstance(target, (int, np.integer, str)):
        raise InvalidParameterError(f"target: expected an output position or name (one of {names}), one per row, or None, got {describe(target)}")
    idx, _ = select_outputs(target, names)
    return np.full(n, idx[0], dtype=np.intp), target if isinstance(target, str) else int(target)
