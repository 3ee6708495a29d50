"""Attention rollout (Abnar & Zuidema 2020, *Quantifying Attention Flow in Transformers*).

Each layer's attention is averaged over heads, the residual connection is accounted for by adding
the identity, rows are renormalised to sum to 1, and the layers are multiplied from the input up:
``R = A_L ... A_2 A_1``. Row ``t`` of ``R`` says how much token ``t`` at the top draws on each input
token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from xaikit._validation import check_choice, check_int, describe
from xaikit.errors import InvalidParameterError, ModelOutputError
from xaikit.explainers.base import Explainer
from xaikit.explainers.pipeline import Answer, Parameter, Plan, integer
from xaikit.models.function import FunctionModel
from xaikit.results import Attribution

__all__ = ["AttentionRollout", "attention_rollout"]

#: How the heads of a layer are combined.
HEAD_FUSIONS = ("mean", "max", "min")


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _stack_layers(attentions: Any, who: str) -> np.ndarray:
    """Attention weights as a float64 array (n, layers, heads, tokens, tokens)."""
    if isinstance(attentions, (list, tuple)):
        if not attentions:
            raise ModelOutputError(f"{who} returned no attention layers")
        layers = [_to_numpy(a) for a in attentions]
        shapes = {a.shape for a in layers}
        if len(shapes) != 1:
            raise ModelOutputError(f"{who} returned layers of different shapes {sorted(shapes)}")
        arr = np.stack(layers, axis=1)
    else:
        arr = _to_numpy(attentions)
    if arr.dtype.kind not in "biuf":
        raise ModelOutputError(f"{who} returned {describe(arr)}; expected attention weights")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim != 5 or arr.shape[-1] != arr.shape[-2]:
        raise ModelOutputError(
            f"{who} returned attention of shape {arr.shape}; expected (n, layers, heads, tokens, tokens) "
            "or a list of (n, heads, tokens, tokens) per layer"
        )
    if not np.isfinite(arr).all():
        raise ModelOutputError(f"{who} returned NaN or infinite attention weights")
    return arr


def attention_rollout(attentions: Any, *, head_fusion: str = "mean") -> np.ndarray:
    """The rollout matrices ``(n, tokens, tokens)`` of attention weights.

    Parameters
    ----------
    attentions : array (n, layers, heads, tokens, tokens) or list of (n, heads, tokens, tokens)
        Attention weights, rows summing to 1, in the order the layers run (first layer first).
    head_fusion : {"mean", "max", "min"}
    feature_names : list of str, optional
        One name per token (default ``token0``, ``token1``...).
        How heads are combined; the paper averages them.

    Examples
    --------
    >>> A = np.array([[0.5, 0.5], [0.0, 1.0]])  # one layer, one head
    >>> attention_rollout(A[None, None, None])[0].tolist()  # (A + I) / 2
    [[0.75, 0.25], [0.0, 1.0]]
    """
    check_choice(head_fusion, "head_fusion", HEAD_FUSIONS)
    arr = _stack_layers(attentions, "attentions")
    fused = getattr(np, head_fusion)(arr, axis=2)  # (n, L, T, T)
    eye = np.eye(fused.shape[-1])
    fused = fused + eye
    sums = fused.sum(axis=-1, keepdims=True)
    fused = fused / np.where(sums != 0.0, sums, 1.0)
    out = np.broadcast_to(eye, (fused.shape[0], *eye.shape)).copy()
    for layer in range(fused.shape[1]):
        out = fused[:, layer] @ out
    return out


class AttentionRollout(Explainer[Attribution]):
    """Token attributions by attention rollout, for models that expose their attention weights.

    Parameters
    ----------
    attention_fn : callable
        ``attention_fn(X_batch)`` returns the attention weights of the batch: an array or tensor
        (n, layers, heads, tokens, tokens), or a sequence of per-layer arrays (n, heads, tokens,
        tokens) such as a Hugging Face model's ``outputs.attentions`` (e.g. ``lambda X:
        model(torch.as_tensor(X), output_attentions=True).attentions``).
    head_fusion : {"mean", "max", "min"}

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> A = np.array([[0.5, 0.5], [0.0, 1.0]])
    >>> fn = lambda X: np.broadcast_to(A, (len(X), 1, 1, 2, 2))  # one layer, one head, 2 tokens
    >>> xk.AttentionRollout(fn).explain(np.zeros((1, 2)), token=0).values[0, :, 0].tolist()
    [0.75, 0.25]
    """

    name = "attention_rollout"
    requires = frozenset({"attention"})
    exact = True

    def __init__(
        self,
        attention_fn: Callable[[Any], Any],
        /,
        *,
        head_fusion: str = "mean",
        feature_names: Sequence[str] | None = None,
    ) -> None:
        if not callable(attention_fn):
            raise InvalidParameterError(
                f"attention_fn: expected a callable returning attention weights, got {type(attention_fn).__name__}"
            )
        self.attention_fn = attention_fn
        self.head_fusion = check_choice(head_fusion, "head_fusion", HEAD_FUSIONS)
        if isinstance(feature_names, str):
            raise InvalidParameterError(f"feature_names: expected a list of names, one per token, got {describe(feature_names)}")
        self.feature_names = None if feature_names is None else [str(n) for n in feature_names]
        self.model = FunctionModel(attention_fn)

    def __repr__(self) -> str:
        return f"AttentionRollout({self.model.describe()}, head_fusion={self.head_fusion!r})"

    summary = "Rollout attributions of ``token`` (the first, e.g. ``[CLS]``, by default) over the input tokens."
    input_doc = "X : batch accepted by ``attention_fn`` (array, tensor, list...), ``len(X)`` rows"
    target_doc = """target : None
        Rollout reads attention weights, not model outputs, so there is no output to choose
        (choose the token with ``token=``); anything but None is refused."""
    returns_doc = """Attribution
        ``values`` (n, tokens, 1), each row summing to 1; ``base_values`` 0."""
    explain_parameters = (
        Parameter("token", 0, 'int or "mean"', """
            The output token whose rollout row is returned (negative counts from the end), or
            ``"mean"``: the average of the rows, for models that pool every position (mean pooling)."""),
        Parameter("batch_size", None, "int, optional", "Rows per call of ``attention_fn`` (all at once by default).",
                  integer(minimum=1)),
    )

    def _start(self, X: Any, target: Any, params: dict[str, Any]) -> Plan:
        if target is not None:
            raise InvalidParameterError(
                f"target: attention rollout has no model output to choose (it reads attention weights); "
                f"expected None and token= to choose the token, got {describe(target)}"
            )
        n = len(X)
        if n == 0:
            raise InvalidParameterError("X: expected at least 1 row, got 0")
        bs = n if params["batch_size"] is None else params["batch_size"]
        plan = Plan(n, split=0)
        plan.job = lambda rows, seed: lambda method: method._rollout(X, bs)
        return plan

    def _rollout(self, X: Any, bs: int) -> tuple[Any, np.ndarray]:
        n = len(X)
        parts = []
        for i in range(0, n, bs):
            att = _stack_layers(self.attention_fn(X[i : i + bs]), "attention_fn")
            if att.shape[0] != min(bs, n - i):
                raise ModelOutputError(
                    f"attention_fn returned attention for {att.shape[0]} rows, given {min(bs, n - i)}"
                )
            parts.append(attention_rollout(att, head_fusion=self.head_fusion))
        return X, np.concatenate(parts)

    def _finish(self, plan: Plan, parts: list[Any]) -> Answer:
        X, rollout = parts[0]
        n, T = plan.n_rows, rollout.shape[-1]
        token = plan.params["token"]
        if isinstance(token, str):
            check_choice(token, "token", ["mean"])
            values, t, out_name = rollout.mean(axis=1), "mean", "mean_token"
        else:
            t = check_int(token, "token", minimum=-T, maximum=T - 1) % T
            values, out_name = rollout[:, t, :], f"token{t}"
        if self.feature_names is not None and len(self.feature_names) != T:
            raise InvalidParameterError(
                f"feature_names: expected {T} names (one per token of X), got {len(self.feature_names)}"
            )
        names = list(self.feature_names) if self.feature_names is not None else [f"token{j}" for j in range(T)]
        data = None
        if hasattr(X, "shape") or isinstance(X, (list, tuple)):
            try:
                arr = _to_numpy(X)
                data = arr if arr.shape == (n, T) and arr.dtype.kind in "biuf" else None
            except (TypeError, ValueError):
                data = None
        fields = {"values": values[:, :, None], "base_values": np.zeros((n, 1)), "data": data, "feature_names": names,
                  "output_names": [out_name]}
        return Answer(fields, {}, Attribution, {"head_fusion": self.head_fusion, "token": t})
