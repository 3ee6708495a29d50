"""Feature ablation: replace each group of input elements by a baseline at once and attribute the
drop of the target output to every element of the group (Captum's ``FeatureAblation`` with a
``feature_mask``; without one each element is its own group).

Model-agnostic: only ``model.predict`` is used, on inputs of any shape ``(n, *input_shape)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.explainers.gradients.base import (
    SIGMA,
    ArrayExplainer,
    Computed,
    GradientPlan,
    _accumulate,
    _adapt,
    _predict,
    _row_rngs,
)
from xaikit.explainers.pipeline import Parameter, integer
from xaikit.maskers.baselines import baselines

__all__ = ["FeatureAblation"]


def _check_mask(mask: Any, X: np.ndarray) -> np.ndarray | None:
    """The mask as int64 ``(1 or n, *input_shape)``, or None (every element its own group)."""
    if mask is None:
        return None
    n, shape = X.shape[0], X.shape[1:]
    value = mask
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        arr = np.asarray([None], dtype=object)
    if arr.dtype.kind not in "iu":
        raise InvalidParameterError(
            f"feature_mask: expected an array of integer group ids shaped like one input {shape} or one per row "
            f"{(n, *shape)}, got {describe(mask)} of dtype {arr.dtype}"
        )
    if arr.shape == shape:
        return arr.astype(np.int64)[None]
    if arr.shape == (n, *shape):
        return arr.astype(np.int64)
    raise InvalidParameterError(
        f"feature_mask: expected integer group ids of shape {shape} (like one input) or {(n, *shape)} (one per "
        f"row), got an array of shape {arr.shape}"
    )


class FeatureAblation(ArrayExplainer):
    """Feature ablation with groups of input elements, as Captum's ``FeatureAblation``.

    Each group of ``feature_mask`` (the elements sharing one id, contiguous or not) is set to the
    baseline at once, and every element of the group receives the drop ``f(x)[t] - f(ablated)[t]``
    of the explained output ``t``. Without a mask every element is its own group.

    Parameters
    ----------
    model : any model (only predictions are used)
    output : str

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> f = lambda X: X[:, 0] + 2 * X[:, 1] * X[:, 2]
    >>> X = np.array([[1.0, 1.0, 3.0]])
    >>> FeatureAblation(f).explain(X, baseline=0.0).values[0, :, 0].tolist()  # one element at a time
    [1.0, 6.0, 6.0]
    >>> FeatureAblation(f).explain(X, baseline=0.0, feature_mask=np.array([0, 1, 1])).values[0, :, 0].tolist()
    [1.0, 6.0, 6.0]
    >>> FeatureAblation(f).explain(X, baseline=0.0, feature_mask=np.array([1, 0, 1])).values[0, :, 0].tolist()
    [7.0, 6.0, 7.0]
    """

    name = "feature_ablation"
    requires = frozenset()
    exact = True

    def __init__(self, model: Any, /, *, output: str = "auto") -> None:
        self.model = _adapt(model, output, self.requires, type(self).__name__)

    def __repr__(self) -> str:
        return f"FeatureAblation({self.model.describe()})"

    summary = "Feature-ablation attributions of every row of ``X``."
    input_doc = "X : array or tensor (n, *input_shape)"
    returns_doc = """Attribution
        ``values`` (n, d, 1); diagnostics ``prediction`` (n, 1), ``n_groups``, ``n_model_calls`` (n,), ``target``."""
    explain_parameters = (
        Parameter("baseline", 0.0, 'float, "zeros", "blur", "uniform" or array', """
            What each group is replaced with; the baselines of
            :meth:`~xaikit.IntegratedGradients.explain`: a constant, the input blurred (``sigma``),
            uniform noise over each input's range (seeded by ``random_state``), an array shaped like
            one input, or one per row ``(n, *input_shape)``."""),
        Parameter("feature_mask", None, "int array, optional", """
            Group ids shaped like one input or one per row ``(n, *input_shape)``: the elements
            sharing an id are ablated together (contiguous or not). None: each element alone."""),
        SIGMA,
        Parameter("batch_size", None, "int, optional",
                  "Ablated inputs per model call (several groups and rows stacked per call).", integer(minimum=1)),
    )

    def _check(self, X: np.ndarray, params: dict[str, Any]) -> dict[str, Any]:
        _check_mask(params["feature_mask"], X)  # refused before the model is called
        return params

    def _compute(self, plan: GradientPlan, seed: np.random.SeedSequence) -> Computed:
        Xa, idx, bs = plan.X, plan.target, plan.batch_size
        n, shape = Xa.shape[0], Xa.shape[1:]
        mask = _check_mask(plan.params["feature_mask"], Xa)
        given = mask is not None
        if mask is None:
            mask = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(1, *shape)
        B, _ = baselines(Xa, plan.params["baseline"], None, plan.params["sigma"], _row_rngs(seed, n),
                         channels_last=bool(getattr(self.model, "channels_last", False)))
        base = B[:, 0]  # (1 or n, *input_shape)
        fx = _predict(self.model, Xa, bs)[np.arange(n), idx]
        # (row, group) pairs in row order: the groups of each row's own mask
        groups = [np.unique(mask[r if mask.shape[0] > 1 else 0]) for r in range(n)]
        pair_row = np.concatenate([np.full(g.size, r, dtype=np.int64) for r, g in enumerate(groups)])
        pair_group = np.concatenate(groups)
        total = np.zeros(Xa.shape)
        tail = (slice(None),) + (None,) * len(shape)
        for lo in range(0, pair_row.size, bs):
            r, g = pair_row[lo : lo + bs], pair_group[lo : lo + bs]
            sel = mask[r if mask.shape[0] > 1 else np.zeros_like(r)] == g[tail]
            batch = np.where(sel, base[r if base.shape[0] > 1 else np.zeros_like(r)], Xa[r])
            drop = fx[r] - self.model.predict(batch)[np.arange(r.size), idx[r]]
            _accumulate(total, r, sel * drop[tail])
        counts = np.array([g.size for g in groups], dtype=np.int64)
        params = {
            "baseline": float(base.flat[0]) if base.shape[0] == 1 and np.all(base == base.flat[0]) else "array",
            "feature_mask": ("array per row" if mask.shape[0] > 1 else "array") if given else "elements",
        }
        diagnostics = {
            "prediction": fx[:, None],
            "n_groups": int(np.unique(mask).size),
            "n_model_calls": counts + 1,
        }
        return Computed(total, None, diagnostics, params)
