"""Robustness results: accuracy under attack (:class:`Robustness`), the nearest decision boundary
(:class:`BoundaryPoints`) and the sensitivity of explanations (:class:`ExplanationRobustness`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError
from xaikit.results.attribution import FEATURES, ROWS, check_input_shape
from xaikit.results.base import Axis, Field, JsonField, Result

__all__ = ["ATTACKS", "EPSILONS", "BoundaryPoints", "ExplanationRobustness", "Robustness"]

ATTACKS = Axis("attacks", names="attack_names", prefix="attack")
EPSILONS = Axis("epsilons", prefix="epsilon")


class Robustness(Result):
    """Accuracy under attack: the class predicted on each row's adversarial example, per attack and epsilon.

    Parameters
    ----------
    predicted : array-like of int, shape (n_attacks, n_epsilons, n_rows)
        The class the model predicts on the adversarial example of each row.
    epsilons : array-like of shape (n_epsilons,)
        The perturbation sizes, increasing.
    labels : array-like of int, shape (n_rows,)
        The true classes.
    clean_predicted : array-like of int, shape (n_rows,)
        The class predicted on the rows themselves.
    min_epsilon : array-like of shape (n_attacks, n_rows), optional
        Per row, the smallest perturbation found to change the decision: the boundary search's
        distance, or for a gradient attack the smallest tested epsilon at which the row is
        misclassified (0 for a row misclassified already; NaN when unknown, inf when none was found).
    adversarial : array-like of shape (n_attacks, n_epsilons, n_rows, n_features), optional
        The adversarial examples, flattened per row (``input_shape`` gives the row's shape).
    attack_names : list of str
    input_shape : tuple of int, optional
    method, params, diagnostics, provenance

    Examples
    --------
    >>> rob = Robustness(predicted=[[[0, 1], [1, 1]]], epsilons=[0.1, 0.2], labels=[0, 0],
    ...                  clean_predicted=[0, 0], attack_names=["pgd"], method="demo")
    >>> rob.accuracy.tolist(), rob.clean_accuracy
    ([[0.5, 0.0]], 1.0)
    >>> rob
    Robustness(method='demo', n_attacks=1, n_epsilons=2, n_rows=2)
    """

    kind = "robustness"
    plot_kind = "robustness"
    fields = (
        Field("predicted", "aen", dtype="int", column="predicted", doc="Read-only int64 array (n_attacks, n_epsilons, n_rows): predicted classes."),
        Field("epsilons", "e", finite=True, doc="Read-only float64 array (n_epsilons,)."),
        Field("labels", "n", dtype="int", doc="Read-only int64 array (n_rows,): the true classes."),
        Field("clean_predicted", "n", dtype="int", doc="Read-only int64 array (n_rows,): classes predicted on the rows."),
        Field("min_epsilon", "an", optional=True, column=None, doc="Read-only float64 array (n_attacks, n_rows), or None."),
        Field("adversarial", "aen.", optional=True, column=None, copy=False,
              doc="Read-only float64 array (n_attacks, n_epsilons, n_rows, n_features): the adversarial examples, or None."),
        JsonField("input_shape", check=lambda v, s, n: _check_shape(v, s), doc="The per-row shape of the inputs, or None."),
    )
    axes = {"a": ATTACKS, "e": EPSILONS, "n": ROWS}

    predicted: np.ndarray
    epsilons: np.ndarray
    labels: np.ndarray
    clean_predicted: np.ndarray
    min_epsilon: np.ndarray | None
    adversarial: np.ndarray | None
    attack_names: list[str]

    def _validate(self) -> None:
        eps = self._store["epsilons"]
        if bool((eps < 0).any()) or bool((np.diff(eps) <= 0).any()):
            raise InvalidParameterError(f"epsilons: expected increasing numbers >= 0, got {eps.tolist()}")

    @property
    def accuracy(self) -> np.ndarray:
        """The accuracy under each attack at each epsilon, shape (n_attacks, n_epsilons)."""
        return np.asarray((self.predicted == self.labels).mean(axis=2))

    @property
    def clean_accuracy(self) -> float:
        """The accuracy on the rows unperturbed."""
        return float((self.clean_predicted == self.labels).mean())

    def adversarial_examples(self, attack: int | str = 0, epsilon: int = 0) -> np.ndarray:
        """The adversarial examples of one attack (position or name) at one epsilon (position), shaped like the inputs."""
        adv = self._store["adversarial"]
        if adv is None:
            raise InvalidParameterError("adversarial: this result does not hold its adversarial examples (keep_examples=False)")
        a = self.attack_names.index(attack) if isinstance(attack, str) and attack in self.attack_names else attack
        if not isinstance(a, int) or not -self.n_attacks <= a < self.n_attacks:  # type: ignore[attr-defined]
            raise InvalidParameterError(f"attack: expected a position or one of {self.attack_names}, got {attack!r}")
        if not isinstance(epsilon, int) or not -self.n_epsilons <= epsilon < self.n_epsilons:  # type: ignore[attr-defined]
            raise InvalidParameterError(f"epsilon: expected a position in [0, {self.n_epsilons}), got {epsilon!r}")  # type: ignore[attr-defined]
        shape = self._store["input_shape"]
        out = np.array(adv[a, epsilon])
        return out.reshape((len(out), *shape)) if shape else out


def _check_shape(value: Any, store: Mapping[str, Any]) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise InvalidParameterError(f"input_shape: expected a tuple of positive ints, got {value!r}")
    adv = store.get("adversarial")
    if adv is not None and int(np.prod(value)) != adv.shape[3]:
        raise InvalidParameterError(f"input_shape: expected a shape of {adv.shape[3]} values (the adversarial rows), got {tuple(value)}")
    return tuple(value)


class BoundaryPoints(Result):
    """The nearest point found with another decision, per row (see :func:`xaikit.boundary_search`).

    Parameters
    ----------
    adversarial : array-like of shape (n_rows, n_features)
        The point found (NaN where none was found).
    distance : array-like of shape (n_rows,)
        Its distance to the row in the search's scaled norm (inf where none was found).
    label, adversarial_label : array-like of int, shape (n_rows,)
        The decision at the row and at the point (-1 where none was found).
    data : array-like (n_rows, n_features), optional
    feature_names : list of str, optional

    Examples
    --------
    >>> bp = BoundaryPoints(adversarial=[[1.0, 0.0]], distance=[1.0], label=[0], adversarial_label=[1], method="demo")
    >>> bp.found.tolist(), bp.feature_names
    ([True], ['x0', 'x1'])
    """

    kind = "boundary_points"
    fields = (
        Field("adversarial", "nd", column=None, doc="Read-only float64 array (n_rows, n_features): the points found (NaN where none)."),
        Field("distance", "n", doc="Read-only float64 array (n_rows,): scaled distances (inf where none)."),
        Field("label", "n", dtype="int", doc="Read-only int64 array (n_rows,): the decision at each row."),
        Field("adversarial_label", "n", dtype="int", doc="Read-only int64 array (n_rows,): the decision at each point (-1 where none)."),
        Field("data", "nd", dtype="data", optional=True, column=None, copy=False, doc="The rows (n_rows, n_features), or None."),
    )
    axes = {"n": ROWS, "d": FEATURES}

    adversarial: np.ndarray
    distance: np.ndarray
    label: np.ndarray
    adversarial_label: np.ndarray
    data: np.ndarray | None
    feature_names: list[str]

    def _validate(self) -> None:
        dist = self._store["distance"]
        if bool(np.isnan(dist).any()) or bool((dist < 0).any()):
            raise InvalidParameterError("distance: expected numbers >= 0 (inf where no point was found)")

    @property
    def found(self) -> np.ndarray:
        """Whether a point with another decision was found, per row."""
        return np.isfinite(self.distance)


class ExplanationRobustness(Result):
    """The max-sensitivity of an explanation (Yeh et al. 2019) per row, and the perturbed input that changes it most.

    Parameters
    ----------
    sensitivity : array-like of shape (n_rows,)
        ``max ||phi(x') - phi(x)|| / ||phi(x)||`` over the sampled ``x'`` that keep the predicted
        class (0 when none did; NaN when ``phi(x)`` is 0 and some ``phi(x')`` is not).
    worst : array-like of shape (n_rows, n_features)
        The sampled input reaching it (the row itself when no sample kept the class), flattened.
    n_kept : array-like of int, shape (n_rows,)
        How many samples kept the predicted class.
    data : array-like (n_rows, n_features), optional
    input_shape : tuple of int, optional

    Examples
    --------
    >>> r = ExplanationRobustness(sensitivity=[0.25], worst=[[1.0, 2.0]], n_kept=[9], method="demo")
    >>> r.max(), r.n_features
    (0.25, 2)
    """

    kind = "explanation_robustness"
    fields = (
        Field("sensitivity", "n", doc="Read-only float64 array (n_rows,): the max-sensitivity of each row."),
        Field("worst", "nd", finite=True, column=None, doc="Read-only float64 array (n_rows, n_features): the inputs that change it most."),
        Field("n_kept", "n", dtype="int", doc="Read-only int64 array (n_rows,): samples that kept the predicted class."),
        Field("data", "nd", dtype="data", optional=True, column=None, copy=False, doc="The rows (n_rows, n_features), or None."),
        JsonField("input_shape", check=check_input_shape, whole="d", doc="The per-row shape the inputs were flattened from, or None."),
    )
    axes = {"n": ROWS, "d": FEATURES}

    sensitivity: np.ndarray
    worst: np.ndarray
    n_kept: np.ndarray
    data: np.ndarray | None

    def max(self) -> float:
        """The largest sensitivity over the rows (NaN rows ignored)."""
        s = self.sensitivity
        return float(np.nanmax(s)) if bool(np.isfinite(s).any()) else float("nan")

    def worst_inputs(self) -> np.ndarray:
        """The inputs that change the explanation most, shaped like the explained inputs."""
        shape = self._store["input_shape"]
        out = np.array(self.worst)
        return out.reshape((len(out), *shape)) if shape else out
