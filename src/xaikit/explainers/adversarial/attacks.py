"""Gradient attacks: FGSM (Goodfellow et al. 2015) and PGD (Madry et al. 2018), L-inf and L2, targeted or not.

Both work on any model with the ``"gradient"`` capability (the torch and Keras adapters), through
``model.gradient(X, target)`` only: no framework code here. The loss is the cross-entropy of the
label, ``-log p_y``, per row (the rows' losses are summed, so each row's step depends on its own
gradient only, as in Captum with its default loss or ``reduction="sum"``):

- when the model's outputs are probabilities, ``d loss / d x = -(d p_y / d x) / p_y`` (one gradient per row);
- when they are logits ``z``, ``d loss / d x = sum_c (p_c - [c == y]) d z_c / d x`` with ``p = softmax(z)``
  (one gradient per class); a single logit is the log-odds of class 1, ``p = sigmoid(z)``, and the
  gradient is ``(p - y) d z / d x`` with labels 0 and 1.

Conventions (those of ``captum.robust``, so that the same model, inputs, epsilons and steps give the
same adversarial examples): an L-inf step is ``x + s * sign(g)`` (``x - s * sign(g)`` when targeted) on
the components whose loss gradient ``|g| > 1e-6`` (the others are left as they are); PGD projects onto
the ball around the original input after each step and then clips to ``bounds``; the random start is
uniform in the L-inf ball, or uniform in the L2 ball (a normal direction, radius ``epsilon * U^(1/d)``),
then clipped to ``bounds``. The L2 step differs from Captum's, which takes L-inf (sign) steps and only
projects onto the L2 ball: here an L2 step moves by ``s`` along ``g / ||g||_2`` (the fast gradient
method of Goodfellow et al. and Madry et al.'s L2 PGD); a row whose gradient is 0 does not move.
The random start is drawn with numpy, one seed per row (:func:`xaikit.explainers.pipeline.row_seeds`),
so a row's start depends only on ``random_state`` and its position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from xaikit._validation import check_batch, check_bool, check_choice, check_float, check_int, check_random_state, describe
from xaikit.errors import InvalidParameterError, UnsupportedModelError

__all__ = ["NORMS", "fgsm", "pgd"]

#: The norms of the perturbation balls, as ``norm=`` takes them.
NORMS = ("inf", 2)
#: Loss-gradient components at most this large (in absolute value) do not move in an L-inf step (as in Captum).
ZERO_THRESHOLD = 1e-6


def check_norm(norm: Any) -> str:
    """``norm`` as ``"inf"`` or ``"2"``: ``"inf"``, ``np.inf``, ``float("inf")``, ``"linf"``; ``2``, ``"2"``, ``"l2"``.

    >>> check_norm(np.inf), check_norm(2), check_norm("L2")
    ('inf', '2', '2')
    """
    key = norm.lower() if isinstance(norm, str) else norm
    if key in ("inf", "linf") or (isinstance(norm, float) and norm == np.inf):
        return "inf"
    if key in ("2", "l2") or (not isinstance(norm, bool) and isinstance(norm, (int, float)) and norm == 2):
        return "2"
    raise InvalidParameterError(f"norm: expected 'inf' (or np.inf) or 2, got {describe(norm)}")


def check_bounds(bounds: Any, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray] | None:
    """``bounds`` (None, or ``(low, high)``: numbers or arrays broadcastable to one input row) checked."""
    if bounds is None:
        return None
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
        raise InvalidParameterError(f"bounds: expected None or (low, high), got {describe(bounds)}")
    try:
        low = np.broadcast_to(np.asarray(bounds[0], dtype=np.float64), shape)
        high = np.broadcast_to(np.asarray(bounds[1], dtype=np.float64), shape)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"bounds: expected numbers or arrays broadcastable to one input row {shape}, got {describe(bounds)}"
        ) from exc
    if np.isnan(low).any() or np.isnan(high).any() or bool((low > high).any()):
        raise InvalidParameterError(f"bounds: expected low <= high (no NaN), got {describe(bounds)}")
    return low, high


def _clip(X: np.ndarray, bounds: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    return X if bounds is None else np.clip(X, bounds[0], bounds[1])


def _row_norms(G: np.ndarray) -> np.ndarray:
    """The L2 norm of each row, shaped to broadcast against ``G``."""
    flat = np.sqrt(np.einsum("ij,ij->i", G.reshape(len(G), -1), G.reshape(len(G), -1)))
    return flat.reshape((len(G),) + (1,) * (G.ndim - 1))


class LossGradient:
    """The gradient of the cross-entropy of given labels with respect to the inputs, per row.

    Parameters
    ----------
    model : a model with the ``"gradient"`` capability (or what :func:`xaikit.models.adapt` takes)
    outputs : {"auto", "logits", "probabilities"}
        What the model's outputs are. ``"auto"``: probabilities when the adapted model says so
        (``output="probability"``), logits for ``"logits"`` and ``"log_odds"``; for ``"raw"`` outputs,
        probabilities when, at the inputs first given, every row of several outputs is non-negative and
        sums to 1 (within 1e-6), logits otherwise; one raw output is a logit when some value lies
        outside [0, 1] and is refused as ambiguous otherwise.
    batch_size : int, optional
        Rows per backward pass.
    """

    def __init__(self, model: Any, *, outputs: str = "auto", batch_size: int | None = None) -> None:
        from xaikit.models import adapt

        self.model: Any = adapt(model)
        if "gradient" not in self.model.capabilities:
            raise UnsupportedModelError(
                f"model: expected a model with the 'gradient' capability (a torch or Keras model), got {self.model.describe()}"
            )
        self.outputs = check_choice(outputs, "outputs", ("auto", "logits", "probabilities"))
        self.batch_size = None if batch_size is None else check_int(batch_size, "batch_size", minimum=1)
        self.n_outputs: int | None = None

    def labels(self, y: Any, n: int, name: str = "y") -> np.ndarray:
        """``y`` as ``n`` class indices (see :func:`class_indices`)."""
        return class_indices(self.model, y, n, name)

    def resolve(self, P: np.ndarray) -> str:
        """Decide, from predictions ``P`` (n, n_outputs), what the outputs are (once): ``"logits"`` or ``"probabilities"``."""
        if self.outputs == "auto":
            self.outputs = self._mode(P)
        return str(self.outputs)

    def _mode(self, P: np.ndarray) -> str:
        if self.outputs != "auto":
            return self.outputs
        out = self.model.output
        if out == "probability":
            return "probabilities"
        if out in ("logits", "log_odds"):
            return "logits"
        if P.shape[1] > 1:
            sums = P.sum(axis=1)
            return "probabilities" if bool((P >= 0).all()) and bool(np.abs(sums - 1.0).max() <= 1e-6) else "logits"
        if bool(((P < 0) | (P > 1)).any()):
            return "logits"
        raise InvalidParameterError(
            "outputs: the model has one output whose values all lie in [0, 1], so it could be a probability or a logit; "
            "pass outputs='probabilities' or outputs='logits'"
        )

    def __call__(self, X: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """``d (-log p_labels) / d X``, shape of ``X``, float64."""
        P = self.model.predict(X)
        k = P.shape[1]
        mode = self.resolve(P)
        top = 2 if k == 1 else k
        if bool(((labels < 0) | (labels >= top)).any()):
            bad = int(labels[(labels < 0) | (labels >= top)][0])
            raise InvalidParameterError(f"y: expected class indices in [0, {top}), got {bad}")
        rows = np.arange(len(X))
        if mode == "probabilities":
            if k == 1:  # p of class 1: loss -log p (label 1) or -log(1 - p) (label 0)
                g = self._grad(X, 0)
                p = P[:, 0]
                scale = np.where(labels == 1, -1.0 / np.maximum(p, 1e-300), 1.0 / np.maximum(1.0 - p, 1e-300))
                return g * scale.reshape((-1,) + (1,) * (g.ndim - 1))
            g = self._grad(X, labels)
            p_y = P[rows, labels]
            return g * (-1.0 / np.maximum(p_y, 1e-300)).reshape((-1,) + (1,) * (g.ndim - 1))
        if k == 1:
            p = 1.0 / (1.0 + np.exp(-P[:, 0]))
            g = self._grad(X, 0)
            return g * (p - labels).reshape((-1,) + (1,) * (g.ndim - 1))
        Z = P - P.max(axis=1, keepdims=True)
        soft = np.exp(Z)
        soft /= soft.sum(axis=1, keepdims=True)
        soft[rows, labels] -= 1.0
        total = np.zeros(X.shape, dtype=np.float64)
        for c in range(k):
            weight = soft[:, c]
            if not weight.any():
                continue
            total += self._grad(X, c) * weight.reshape((-1,) + (1,) * (X.ndim - 1))
        return total

    def _grad(self, X: np.ndarray, target: Any) -> np.ndarray:
        g = self.model.gradient(X, np.broadcast_to(np.asarray(target, dtype=np.int64), (len(X),)), batch_size=self.batch_size)
        return np.asarray(g, dtype=np.float64).reshape(X.shape)


def class_indices(model: Any, y: Any, n: int, name: str = "y") -> np.ndarray:
    """``y`` (one class index per row, or one for every row; class names when the adapted ``model``
    names its outputs) as ``n`` int64 indices.

    >>> from xaikit.models import adapt
    >>> class_indices(adapt(lambda X: X), [1, 0], 2).tolist(), class_indices(adapt(lambda X: X), 1, 2).tolist()
    ([1, 0], [1, 1])
    """
    names = model.output_names
    arr = np.asarray(y)
    if arr.dtype.kind in "USO" and names is not None:
        lookup = {str(k): i for i, k in enumerate(names)}
        flat = [lookup.get(str(v)) for v in np.atleast_1d(arr).ravel()]
        if any(v is None for v in flat):
            bad = next(v for v, i in zip(np.atleast_1d(arr).ravel(), flat) if i is None)
            raise InvalidParameterError(f"{name}: expected class indices or names among {list(names)}, got {bad!r}")
        arr = np.asarray(flat, dtype=np.int64).reshape(arr.shape)
    if arr.dtype.kind == "f" and arr.size and bool(np.all(arr == np.round(arr))):
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu" or arr.ndim > 1 or (arr.ndim == 1 and len(arr) != n):
        raise InvalidParameterError(f"{name}: expected one class index per row ({n} integers) or one for all, got {describe(y)}")
    return np.broadcast_to(arr, (n,)).astype(np.int64)


def _step(X: np.ndarray, G: np.ndarray, size: float, norm: str, targeted: bool) -> np.ndarray:
    """One signed-gradient (L-inf) or normalised-gradient (L2) step of length ``size``."""
    sign = -1.0 if targeted else 1.0
    if norm == "inf":
        return np.where(np.abs(G) > ZERO_THRESHOLD, X + sign * size * np.sign(G), X)
    lengths = _row_norms(G)
    with np.errstate(invalid="ignore", divide="ignore"):
        direction = np.where(lengths > 0, G / lengths, 0.0)
    return X + sign * size * direction


def _project(X0: np.ndarray, X: np.ndarray, radius: float, norm: str) -> np.ndarray:
    """``X`` moved back into the ball of ``radius`` around ``X0``."""
    diff = X - X0
    if norm == "inf":
        return X0 + np.clip(diff, -radius, radius)
    lengths = _row_norms(diff)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(lengths > radius, radius / lengths, 1.0)
    return X0 + diff * factor


def random_start(X: np.ndarray, radius: float, norm: str, random_state: Any) -> np.ndarray:
    """A uniform random point in the ball of ``radius`` around each row of ``X`` (one seed per row).

    >>> Z = random_start(np.zeros((3, 4)), 0.5, "inf", 0)
    >>> Z.shape, bool((np.abs(Z) <= 0.5).all())
    ((3, 4), True)
    >>> bool((np.linalg.norm(random_start(np.zeros((3, 4)), 0.5, "2", 0), axis=1) <= 0.5).all())
    True
    """
    from xaikit.explainers.pipeline import row_seeds

    seed = check_random_state(random_state)
    n, shape = len(X), X.shape[1:]
    d = int(np.prod(shape))
    noise = np.empty((n, d), dtype=np.float64)
    for i, s in enumerate(row_seeds(seed, range(n))):
        rng = np.random.default_rng(s)
        if norm == "inf":
            noise[i] = rng.uniform(-radius, radius, size=d)
        else:
            u = rng.standard_normal(d)
            length = float(np.linalg.norm(u))
            noise[i] = (u / length if length > 0 else u) * radius * rng.uniform() ** (1.0 / d)
    return X + noise.reshape(X.shape)


def _prepare(model: Any, X: Any, y: Any, outputs: str, batch_size: int | None, bounds: Any, norm: Any) -> tuple[LossGradient, np.ndarray, np.ndarray, Any, str]:
    loss = LossGradient(model, outputs=outputs, batch_size=batch_size)
    X0 = check_batch(X, "X")
    labels = loss.labels(y, len(X0))
    return loss, X0, labels, check_bounds(bounds, X0.shape[1:]), check_norm(norm)


def fgsm(
    model: Any,
    X: Any,
    y: Any,
    *,
    epsilon: float,
    norm: str | float = "inf",
    targeted: bool = False,
    bounds: Sequence[Any] | None = None,
    outputs: str = "auto",
    batch_size: int | None = None,
) -> np.ndarray:
    """The fast gradient sign method: one step of size ``epsilon`` up the loss gradient (down for a targeted attack).

    Parameters
    ----------
    model : torch.nn.Module, keras.Model or a model with the ``"gradient"`` capability
    X : array-like (n, ...)
        The inputs.
    y : int or array-like (n,)
        The true classes (untargeted), or the classes to reach (``targeted=True``); class names when
        the model names its outputs.
    epsilon : float
        The size of the step (>= 0): each component moves by ``epsilon`` (L-inf), or the row by
        ``epsilon`` in L2 norm along the gradient (``norm=2``).
    norm : {"inf", 2}
    targeted : bool
    bounds : (low, high), optional
        The valid input range (numbers or arrays broadcastable to one row); the result is clipped to it.
    outputs : {"auto", "logits", "probabilities"}
        What the model's outputs are (see :class:`LossGradient`).
    batch_size : int, optional
        Rows per backward pass.

    Returns
    -------
    ndarray (n, ...) float64: the adversarial inputs.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from xaikit.explainers.adversarial import fgsm, pgd
    >>> net = torch.nn.Linear(2, 2).double()
    >>> _ = net.weight.data.copy_(torch.tensor([[1.0, -1.0], [-1.0, 1.0]])); _ = net.bias.data.zero_()
    >>> fgsm(net, np.array([[0.5, 0.0]]), [0], epsilon=0.1).tolist()
    [[0.4, 0.1]]
    """
    loss, X0, labels, box, norm = _prepare(model, X, y, outputs, batch_size, bounds, norm)
    epsilon = check_float(epsilon, "epsilon", minimum=0.0)
    targeted = check_bool(targeted, "targeted")
    if epsilon == 0:
        return _clip(X0, box)
    return _clip(_step(X0, loss(X0, labels), epsilon, norm, targeted), box)


def pgd(
    model: Any,
    X: Any,
    y: Any,
    *,
    epsilon: float,
    step_size: float | None = None,
    n_steps: int = 10,
    norm: str | float = "inf",
    targeted: bool = False,
    random_start: bool = True,
    bounds: Sequence[Any] | None = None,
    outputs: str = "auto",
    batch_size: int | None = None,
    random_state: Any = None,
) -> np.ndarray:
    """Projected gradient descent: ``n_steps`` FGSM steps, each projected onto the ``epsilon`` ball around ``X``.

    Each step: ``x <- clip(project(x + step_size * direction(loss gradient at x)))``, where the
    direction is the gradient's sign (L-inf) or the gradient scaled to length 1 (L2), negated for a
    targeted attack; ``project`` moves back into the ball of radius ``epsilon`` around the input
    and ``clip`` into ``bounds``. With ``random_start``, the first point is uniform in the ball
    (clipped to ``bounds``), drawn with ``random_state``, one seed per row.

    Parameters
    ----------
    model, X, y, norm, targeted, bounds, outputs, batch_size
        As for :func:`fgsm`.
    epsilon : float
        The radius of the ball (>= 0).
    step_size : float, optional
        The length of each step; default ``2.5 * epsilon / n_steps`` (Madry et al. 2018).
    n_steps : int
    random_start : bool
    random_state : int, numpy Generator or SeedSequence, optional

    Returns
    -------
    ndarray (n, ...) float64: the adversarial inputs, each within ``epsilon`` of its input.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from xaikit.explainers.adversarial import fgsm, pgd
    >>> net = torch.nn.Linear(2, 2).double()
    >>> _ = net.weight.data.copy_(torch.tensor([[1.0, -1.0], [-1.0, 1.0]])); _ = net.bias.data.zero_()
    >>> X_adv = pgd(net, np.array([[0.5, 0.0]]), [0], epsilon=0.3, n_steps=5, random_state=0)
    >>> X_adv.round(6).tolist()
    [[0.2, 0.3]]
    """
    loss, X0, labels, box, norm = _prepare(model, X, y, outputs, batch_size, bounds, norm)
    epsilon = check_float(epsilon, "epsilon", minimum=0.0)
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    targeted = check_bool(targeted, "targeted")
    start = check_bool(random_start, "random_start")
    seed = check_random_state(random_state)
    size = 2.5 * epsilon / max(n_steps, 1) if step_size is None else check_float(step_size, "step_size", minimum=0.0)
    return _pgd(loss, X0, labels, epsilon, size, n_steps, norm, targeted, start, box, seed)


def _pgd(
    loss: LossGradient, X0: np.ndarray, labels: np.ndarray, epsilon: float, size: float, n_steps: int, norm: str,
    targeted: bool, start: bool, box: tuple[np.ndarray, np.ndarray] | None, seed: np.random.SeedSequence,
) -> np.ndarray:
    X = _clip(random_start(X0, epsilon, norm, seed), box) if start and epsilon > 0 else X0.copy()
    for _ in range(n_steps):
        X = _clip(_project(X0, _step(X, loss(X, labels), size, norm, targeted), epsilon, norm), box)
    return X
