"""Feature ablation: replace each group of input elements by a baseline at once and attribute the
drop of the target output to every element of the group (Captum's ``FeatureAblation`` with a
``feature_mask``; without one each element is its own group).

Model-agnostic: only ``model.predict`` is used, on inputs of any shape ``(n, *input_shape)``, one or
several (a tuple or dict of arrays), with ``additional_forward_args`` held fixed. Integer inputs
(token ids) are attributed as they are: their ablated elements take the baseline's id (a pad token).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import RandomState, describe, several_inputs
from xaikit.errors import InvalidParameterError
from xaikit.explainers.gradients.base import (
    FORWARD_ARGS,
    SIGMA,
    ArrayExplainer,
    Computed,
    GradientPlan,
    _accumulate,
    _adapt,
    _predict,
    _row_rngs,
)
from xaikit.explainers.gradients.inputs import InputLayout, PackedModel, id_baseline
from xaikit.explainers.pipeline import Parameter, integer
from xaikit.maskers.baselines import baselines

__all__ = ["FeatureAblation"]


class _Perturbation(ArrayExplainer):
    """What Occlusion and FeatureAblation share: several inputs and integer inputs attributed as they are
    (an :class:`InputLayout` with ``integers="as_is"``), and the baselines of each input packed side by side."""

    packs_inputs = True

    def _layout(self, X: Any, extra: Any) -> InputLayout:
        layout = InputLayout(X, extra, None, integers="as_is")
        if not layout.attributed:
            raise InvalidParameterError(
                f"X: expected at least one floating-point or integer input to attribute, got {describe(X)} (booleans "
                "reach the model untouched)"
            )
        return layout

    def _channels_last(self) -> bool:
        model = self.model.model if isinstance(self.model, PackedModel) else self.model
        return bool(getattr(model, "channels_last", False))

    def _flat_baselines(self, plan: GradientPlan, seed: RandomState) -> tuple[np.ndarray, Any]:
        """The baselines flattened per row ``(1 or n, d)`` (for several inputs each input's own, packed),
        and how they are recorded in ``params``."""
        Xa, given = plan.X, plan.params["baseline"]
        n = Xa.shape[0]
        rngs = _row_rngs(seed, n)
        if plan.view is None:
            B, _ = baselines(Xa, given, None, plan.params["sigma"], rngs, channels_last=self._channels_last())
            base = B[:, 0].reshape(B.shape[0], -1)
        else:
            layout = plan.view.layout
            parts = []
            per = layout.split(given, "baseline")
            for position, Xk in zip(layout.attributed, layout.unpack(Xa)):
                given_k = per[position]
                if position in layout.ids:
                    parts.append(id_baseline(given_k, layout.items[position], layout.labels[position]).astype(np.float64))
                    continue
                Bk, _ = baselines(Xk, given_k, None, plan.params["sigma"], rngs, channels_last=self._channels_last())
                parts.append(np.broadcast_to(Bk[:, 0], Xk.shape))
            base = layout.pack(parts)
        if base.shape[0] == 1 and np.all(base == base.flat[0]):
            return base, float(base.flat[0])
        return base, "per input" if plan.view is not None and len(plan.view.layout.shapes) > 1 else "array"


def _check_mask(mask: Any, X: np.ndarray, name: str = "feature_mask") -> np.ndarray | None:
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
            f"{name}: expected an array of integer group ids shaped like one input {shape} or one per row "
            f"{(n, *shape)}, got {describe(mask)} of dtype {arr.dtype}"
        )
    if arr.shape == shape:
        return arr.astype(np.int64)[None]
    if arr.shape in ((n, *shape), (1, *shape)):
        return arr.astype(np.int64)
    raise InvalidParameterError(
        f"{name}: expected integer group ids of shape {shape} (like one input) or {(n, *shape)} (one per "
        f"row), got an array of shape {arr.shape}"
    )


def _flat_mask(mask: Any, X: np.ndarray, layout: InputLayout | None) -> np.ndarray | None:
    """The group ids flattened per row ``(1 or n, d)``; for several inputs, one mask per input (a tuple,
    or one array for all inputs of one shape), the ids numbered across inputs as Captum's: a group id
    used in several inputs ablates its elements in all of them at once. None: every element alone."""
    n = X.shape[0]
    if layout is None or len(layout.shapes) == 1:
        if layout is not None and isinstance(mask, (tuple, list)) and several_inputs(mask) and len(mask) == 1:
            mask = mask[0]
        one = _check_mask(mask, X if layout is None else X.reshape(n, *layout.shapes[0]))
        return None if one is None else one.reshape(one.shape[0], -1)
    if mask is None:
        return None
    parts = []
    per = layout.split(mask, "feature_mask")
    for k, (position, Xk) in enumerate(zip(layout.attributed, layout.unpack(X))):
        given = per[position]
        if given is None:
            raise InvalidParameterError(
                f"feature_mask: expected a mask for every input, got None for {layout.names[k]} (give None for all inputs "
                "to ablate each element alone)"
            )
        checked = _check_mask(given, Xk, f"feature_mask[{k}] ({layout.names[k]})")
        if checked is not None:
            parts.append(checked)
    rows = max(p.shape[0] for p in parts)
    return np.concatenate([np.broadcast_to(p, (rows, *p.shape[1:])).reshape(rows, -1) for p in parts], axis=1)


class FeatureAblation(_Perturbation):
    """Feature ablation with groups of input elements, as Captum's ``FeatureAblation``.

    Each group of ``feature_mask`` (the elements sharing one id, contiguous or not) is set to the
    baseline at once, and every element of the group receives the drop ``f(x)[t] - f(ablated)[t]``
    of the explained output ``t``. Without a mask every element is its own group.

    Several inputs (a tuple or dict of arrays, ``X=(image, table)``) take one baseline and one mask
    per input (tuples); group ids are shared across inputs, as in Captum: an id used in two masks
    ablates its elements in both at once. Integer inputs (token ids) are attributed as they are,
    their ablated elements replaced by the baseline's id (a pad token); boolean inputs and
    ``additional_forward_args`` reach the model untouched. The result's ``inputs`` lists each
    input's name and shape (:func:`~xaikit.explainers.gradients.base.as_input_shape` splits them).

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
    input_doc = "X : array or tensor (n, *input_shape), or several (a tuple or dict of them)"
    returns_doc = """Attribution
        ``values`` (n, d, 1) (for several inputs, theirs side by side, listed in ``inputs``); diagnostics
        ``prediction`` (n, 1), ``n_groups``, ``n_model_calls`` (n,), ``target``."""
    explain_parameters = (
        Parameter("baseline", 0.0, 'float, "zeros", "blur", "uniform", array or tuple', """
            What each group is replaced with; the baselines of
            :meth:`~xaikit.IntegratedGradients.explain`: a constant, the input blurred (``sigma``),
            uniform noise over each input's range (seeded by ``random_state``), an array shaped like
            one input, or one per row ``(n, *input_shape)``; for several inputs one for all or a tuple
            of one per input; for token ids a token id (a pad token)."""),
        Parameter("feature_mask", None, "int array or tuple of them, optional", """
            Group ids shaped like one input or one per row ``(n, *input_shape)``: the elements
            sharing an id are ablated together (contiguous or not). None: each element alone. For
            several inputs a tuple of one mask per input, ids shared across inputs."""),
        SIGMA,
        Parameter("batch_size", None, "int, optional",
                  "Ablated inputs per model call (several groups and rows stacked per call).", integer(minimum=1)),
        FORWARD_ARGS,
    )

    def _check(self, X: np.ndarray, params: dict[str, Any], layout: InputLayout | None = None) -> dict[str, Any]:
        _flat_mask(params["feature_mask"], X, layout)  # refused before the model is called
        return params

    def _compute(self, plan: GradientPlan, seed: np.random.SeedSequence) -> Computed:
        Xa, idx, bs = plan.X, plan.target, plan.batch_size
        n = Xa.shape[0]
        flat = Xa.reshape(n, -1)
        d = flat.shape[1]
        mask = _flat_mask(plan.params["feature_mask"], Xa, plan.view.layout if plan.view is not None else None)
        given = mask is not None
        if mask is None:
            mask = np.arange(d, dtype=np.int64)[None]
        base, recorded = self._flat_baselines(plan, seed)
        fx = _predict(self.model, Xa, bs)[np.arange(n), idx]
        # (row, group) pairs in row order: the groups of each row's own mask
        groups = [np.unique(mask[r if mask.shape[0] > 1 else 0]) for r in range(n)]
        pair_row = np.concatenate([np.full(g.size, r, dtype=np.int64) for r, g in enumerate(groups)])
        pair_group = np.concatenate(groups)
        total = np.zeros(flat.shape)
        for lo in range(0, pair_row.size, bs):
            r, g = pair_row[lo : lo + bs], pair_group[lo : lo + bs]
            sel = mask[r if mask.shape[0] > 1 else np.zeros_like(r)] == g[:, None]
            batch = np.where(sel, base[r if base.shape[0] > 1 else np.zeros_like(r)], flat[r])
            drop = fx[r] - _predict(self.model, batch.reshape(r.size, *Xa.shape[1:]), bs, rows=r)[np.arange(r.size), idx[r]]
            _accumulate(total, r, sel * drop[:, None])
        counts = np.array([g.size for g in groups], dtype=np.int64)
        params = {
            "baseline": recorded,
            "feature_mask": ("array per row" if mask.shape[0] > 1 else "array") if given else "elements",
        }
        diagnostics = {
            "prediction": fx[:, None],
            "n_groups": int(np.unique(mask).size),
            "n_model_calls": counts + 1,
        }
        return Computed(total.reshape(Xa.shape), None, diagnostics, params)
