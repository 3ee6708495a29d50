"""Counterfactuals: what would have to change in a row for the model to decide otherwise.

For each row, ``n`` counterfactuals meeting the desired outcome, under :class:`Constraints`
enforced by construction, trading proximity (MAD-scaled L1), sparsity, plausibility (distance to
the data of the desired outcome) and diversity. Black-box search (genetic or random) for any model;
gradient search for differentiable ones (torch, Keras). Validity is the model's own prediction on
the returned row, computed last, after every repair.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from xaikit._validation import check_choice, check_float, check_int, describe
from xaikit.errors import InvalidParameterError, ModelOutputError
from xaikit.explainers.base import Explainer, output_names, select_outputs
from xaikit.explainers.counterfactual.constraints import (
    BoundConstraints,
    ConstraintError,
    Constraints,
    Schema,
    schema_of,
)
from xaikit.explainers.counterfactual.search import Decision, Objective, Search, distances
from xaikit.explainers.pipeline import Answer, Plan, row_seeds
from xaikit.results.counterfactuals import CounterfactualSet

__all__ = ["Counterfactuals"]

METHODS = ("auto", "genetic", "random", "gradient")
#: Rows of ``data`` used for the neighbours and the initial population (evenly spaced when more).
MAX_DATA_ROWS = 2000
#: Rows of the desired outcome among which a candidate's nearest neighbours are found (evenly spaced when more).
NEIGHBOUR_ROWS = 100


@dataclass
class _CfPlan(Plan):
    X0: np.ndarray | None = None
    ref: np.ndarray | None = None
    P0: np.ndarray | None = None
    outputs: list[int] | None = None
    out_names: list[str] | None = None
    schema: Schema | None = None
    bound: BoundConstraints | None = None
    decision: Decision | None = None
    data: np.ndarray | None = None
    data_labels: np.ndarray | None = None
    method: str = "genetic"


@dataclass
class _CfJob:
    """The search of a chunk of rows (picklable)."""

    rows: range
    seeds: list[np.random.SeedSequence]
    X0: np.ndarray
    ref: np.ndarray
    schema: Schema
    bound: BoundConstraints
    decision: Decision
    data: np.ndarray
    data_labels: np.ndarray
    method: str

    def __call__(self, me: Counterfactuals) -> tuple[np.ndarray, int]:
        return me._search(self)


class Counterfactuals(Explainer[CounterfactualSet]):
    """Counterfactual explanations: for each row, ``n`` nearby rows the model decides as desired.

    Parameters
    ----------
    model : estimator, Pipeline, callable, torch or Keras model
        Anything :func:`xaikit.models.adapt` takes; it is given rows in the format of ``X`` (a
        DataFrame with its column types, e.g. for a Pipeline with a OneHotEncoder, or an array).
    data : array-like or DataFrame, optional
        Training rows: the MAD of each numeric feature, the categories of each categorical one, and
        the neighbours of the desired outcome. Default: the rows explained.
    n : int
        Counterfactuals per row.
    desired : "flip", a class (label or index), or (low, high)
        ``"flip"``: any other decision (the class with the highest output; for a single output,
        above or below ``decision_threshold``); a class; or an interval of output ``target`` (one output).
    constraints : Constraints, optional
    method : {"auto", "genetic", "random", "gradient"}
        ``"auto"``: gradient search when the model has gradients and every feature is numeric, else genetic.
    proximity_weight, sparsity_weight, plausibility_weight, diversity_weight : float
        Weights of the objectives (defaults 1, 0.5, 0.1, 0.5): distance, features changed, distance
        to the data of the desired outcome, and the reward of distance ``s`` between a row's
        counterfactuals (``s / (1 + s)``, bounded).
    k_neighbors : int
        Neighbours of the plausibility (default 5).
    population, generations : int
        The genetic search's population per row (default 48) and the most generations (default 4; a row stops after two without progress); the
        random search draws ``2 * population`` candidates.
    decision_threshold : float, optional
        The decision threshold of a single-output model (default 0.5 for probabilities, 0 for a
        classifier's score or log-odds).
    output : str
        The response the model is adapted to (``xaikit.models.adapt``).
    random_state : None, int or SeedSequence
        The seed of every ``explain`` that is given none of its own (``explain(..., random_state=)`` wins).

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0); X = rng.normal(size=(200, 3)); y = (X[:, 0] + 0.2 * X[:, 1] > 0).astype(int)
    >>> model = LogisticRegression().fit(X, y)
    >>> cf = Counterfactuals(model, data=X, n=2, constraints=Constraints(immutable=["x1"])).explain(X[:3], random_state=0)
    >>> bool(cf.valid.all()), bool((cf.changed[:, :, 1] == 0).all())
    (True, True)
    """

    name = "counterfactuals"
    kind = "counterfactual"
    result = CounterfactualSet
    stochastic = True
    summary = "Counterfactuals of every row of ``X``: nearby rows the model decides as desired."
    input_doc = "X : array-like (n, d) or DataFrame\n    The rows, in the format the model takes."
    target_doc = ("target : int, str or list, optional\n    Outputs recorded in ``predictions``; for an interval "
                  "``desired``, the one output bounded.")
    returns_doc = "CounterfactualSet"

    def __init__(
        self,
        model: Any,
        /,
        *,
        data: Any = None,
        n: int = 4,
        desired: Any = "flip",
        constraints: Constraints | None = None,
        method: str = "auto",
        proximity_weight: float = 1.0,
        sparsity_weight: float = 0.5,
        plausibility_weight: float = 0.1,
        diversity_weight: float = 0.5,
        k_neighbors: int = 5,
        population: int = 48,
        generations: int = 4,
        decision_threshold: float | None = None,
        output: str = "auto",
        random_state: Any = None,
    ) -> None:
        from xaikit.models import adapt

        self.model = adapt(model, output=output)
        self.data = data
        self.n = check_int(n, "n", minimum=1)
        self.desired = desired
        if constraints is not None and not isinstance(constraints, Constraints):
            raise InvalidParameterError(f"constraints: expected xaikit.Constraints or None, got {describe(constraints)}")
        self.constraints = constraints if constraints is not None else Constraints()
        self.method = check_choice(method, "method", METHODS)
        if method == "gradient" and "gradient" not in self.model.capabilities:
            raise InvalidParameterError(
                f"method: 'gradient' needs a model with gradients (torch, Keras); {self.model.describe()} offers predictions only"
            )
        self.proximity_weight = check_float(proximity_weight, "proximity_weight", minimum=0.0)
        self.sparsity_weight = check_float(sparsity_weight, "sparsity_weight", minimum=0.0)
        self.plausibility_weight = check_float(plausibility_weight, "plausibility_weight", minimum=0.0)
        self.diversity_weight = check_float(diversity_weight, "diversity_weight", minimum=0.0)
        self.k_neighbors = check_int(k_neighbors, "k_neighbors", minimum=1)
        self.population = check_int(population, "population", minimum=4)
        self.generations = check_int(generations, "generations", minimum=0)
        self.decision_threshold = None if decision_threshold is None else check_float(decision_threshold, "decision_threshold")
        self.random_state = random_state
        self._data_cache: tuple[Any, np.ndarray, np.ndarray] | None = None
        self._schema: Schema | None = None

    # ---------------------------------------------------------------- decisions
    def _decision(self, P0: np.ndarray, names: list[str], target: Any) -> tuple[Decision, list[int], list[str]]:
        o = P0.shape[1]
        desired = self.desired
        outputs, out_names = select_outputs(target, names)
        if isinstance(desired, (tuple, list)) and not isinstance(desired, str):
            if len(desired) != 2:
                raise InvalidParameterError(f"desired: expected 'flip', a class, or (low, high), got {describe(desired)}")
            low, high = (-np.inf if desired[0] is None else desired[0]), (np.inf if desired[1] is None else desired[1])
            if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in (low, high)) or not float(low) <= float(high):
                raise InvalidParameterError(f"desired: expected (low, high) with low <= high, got {desired!r}")
            if len(outputs) != 1:
                if o == 1:
                    outputs, out_names = [0], names[:1]
                else:
                    raise InvalidParameterError(
                        f"target: an interval desired bounds one output; expected one of {names}, got {describe(target)}"
                    )
            return Decision("interval", output=outputs[0], low=float(low), high=float(high)), outputs, out_names
        is_classifier = bool(getattr(self.model, "is_classifier", False))
        if o >= 2:
            mode = "argmax"
        else:
            threshold = self.decision_threshold
            if threshold is None:
                if self.model.output == "probability":
                    threshold = 0.5
                elif is_classifier:
                    threshold = 0.0
                else:
                    raise InvalidParameterError(
                        f"desired: {desired!r} needs classes, but {self.model.describe()} has one output that is not a probability; "
                        "give decision_threshold= (the decision boundary) or an interval (low, high)"
                    )
            return self._class_decision("threshold", ["0", "1"] if not is_classifier else self._classes(names), threshold), outputs, out_names
        return self._class_decision(mode, names, 0.5), outputs, out_names

    def _classes(self, names: list[str]) -> list[str]:
        est = getattr(self.model, "estimator", None)
        classes = [str(c) for c in getattr(est, "classes_", [])]
        return classes if len(classes) == 2 else ["0", "1"]

    def _class_decision(self, mode: str, classes: list[str], threshold: float) -> Decision:
        desired = self.desired
        if isinstance(desired, str) and desired == "flip":
            return Decision(mode, "flip", threshold=threshold)
        if isinstance(desired, str) and desired in classes:
            return Decision(mode, "class", cls=classes.index(desired), threshold=threshold)
        if isinstance(desired, (numbers.Integral, np.integer)) and not isinstance(desired, bool):
            if str(int(desired)) in classes:
                return Decision(mode, "class", cls=classes.index(str(int(desired))), threshold=threshold)
            if 0 <= int(desired) < len(classes):
                return Decision(mode, "class", cls=int(desired), threshold=threshold)
        raise InvalidParameterError(f"desired: expected 'flip', one of the classes {classes} (or its index), or (low, high), got {describe(desired)}")

    # ---------------------------------------------------------------- the pipeline
    def _predict_encoded(self, schema: Schema, Z: np.ndarray, what: str) -> np.ndarray:
        from xaikit.models.base import evaluating

        with evaluating(what):
            return np.asarray(self.model.predict(schema.decode(Z)), dtype=np.float64)

    def _start(self, X: Any, target: Any, params: dict[str, Any]) -> Plan:
        import copy

        data = X if self.data is None else self.data
        if self.data is not None and self._schema is None:
            self._schema = schema_of(data, self.constraints.categories, "data")  # read once: data is fixed
        schema = copy.copy(self._schema) if self.data is not None else schema_of(data, self.constraints.categories, "X")
        schema = cast(Schema, schema)
        frame = hasattr(X, "columns") and hasattr(X, "iloc")
        if self.data is not None and frame and not schema.frame:
            schema.names = [str(c) for c in X.columns] if len(X.columns) == len(schema.names) else schema.names
        if not frame and schema.frame and self.data is not None:
            raise InvalidParameterError("X: expected a DataFrame with the columns of data (the model takes DataFrames), got an array")
        schema.frame = frame
        if frame and not schema.dtypes:
            schema.dtypes = [X[c].dtype for c in X.columns]
        if not frame and schema.dtype is None:
            schema.dtype = np.asarray(X).dtype
        X0 = schema.encode(X, "X")
        if len(X0) == 0:
            raise InvalidParameterError("X: expected at least one row, got none")
        bound = self.constraints.bind(schema)
        bound.check_rows(X0)
        key = (tuple(schema.names), tuple(schema.kinds), schema.frame)
        cached = self._data_cache if self.data is not None else None
        if cached is not None and cached[0] == key:
            D, PD = cached[1], cached[2]  # the data and its predictions, computed at the first explain
        else:
            D = schema.encode(data, "data" if self.data is not None else "X")
            if len(D) > MAX_DATA_ROWS:
                D = D[np.linspace(0, len(D) - 1, MAX_DATA_ROWS).round().astype(int)]
            PD = self._predict_encoded(schema, D, "data")
            if self.data is not None:
                self._data_cache = (key, D, PD)
        P0 = self._predict_encoded(schema, X0, "X")
        if P0.shape[1] == 0:
            raise ModelOutputError(f"the model ({self.model.describe()}) returned no outputs for X")
        names = output_names(self.model.output_names, P0.shape[1])
        decision, outputs, out_names = self._decision(P0, names, target)
        ref = decision.label(P0)
        method = self.method
        if method == "auto":
            method = "gradient" if "gradient" in self.model.capabilities and not schema.categorical.any() else "genetic"
        plan = _CfPlan(len(X0), split=1 if method != "gradient" else 0, X0=X0, ref=ref, P0=P0, outputs=outputs,
                       out_names=out_names, schema=schema, bound=bound, decision=decision, data=D,
                       data_labels=decision.label(PD), method=method)
        plan.params = {"method": method, "n": self.n, "desired": self._desired_json(), "constraints": self.constraints.to_dict(),
                       "proximity_weight": self.proximity_weight, "sparsity_weight": self.sparsity_weight,
                       "plausibility_weight": self.plausibility_weight, "diversity_weight": self.diversity_weight,
                       "k_neighbors": self.k_neighbors, "population": self.population, "generations": self.generations,
                       "random_state": self.random_state if isinstance(self.random_state, (int, type(None))) else str(self.random_state)}

        def job(rows: range, seed: np.random.SeedSequence) -> _CfJob:
            return _CfJob(rows, row_seeds(seed, rows), X0[rows.start:rows.stop], ref[rows.start:rows.stop], schema, bound,
                          decision, D, plan.data_labels if plan.data_labels is not None else np.zeros(0), method)

        plan.job = job
        return plan

    def _desired_json(self) -> Any:
        d = self.desired
        if isinstance(d, (tuple, list)):
            return [None if v is None else float(v) for v in d]
        if isinstance(d, np.integer):
            return int(d)
        return d if isinstance(d, (str, int, float)) else str(d)

    def _valid_data(self, job: _CfJob) -> list[np.ndarray]:
        out = []
        dec = job.decision
        for r in job.ref:
            if dec.mode == "interval":
                mask = job.data_labels == 1
            elif dec.goal == "flip":
                mask = job.data_labels != r
            else:
                mask = job.data_labels == dec.cls
            rows = job.data[mask]
            if len(rows) > NEIGHBOUR_ROWS:
                rows = rows[np.linspace(0, len(rows) - 1, NEIGHBOUR_ROWS).round().astype(int)]
            out.append(rows)
        return out

    def _search(self, job: _CfJob) -> tuple[np.ndarray, int]:
        schema = job.schema
        objective = Objective(self.proximity_weight, self.sparsity_weight, self.plausibility_weight,
                              self.diversity_weight, self.k_neighbors)
        search = Search(schema, job.bound, job.decision, objective,
                        lambda Z: self._predict_encoded(schema, Z, "counterfactual candidates"),
                        job.X0, job.ref, job.data, self._valid_data(job), [np.random.default_rng(s) for s in job.seeds],
                        first_row=job.rows.start)
        if job.method == "gradient":
            from xaikit.explainers.counterfactual.gradient import gradient_starts

            starts = gradient_starts(search, self.model, max(2 * self.n, 4))
            chosen, _ = search.run("given", self.n, self.population, 0, start=starts)
        else:
            chosen, _ = search.run(job.method, self.n, self.population, self.generations)
        return chosen, search.n_calls

    def _finish(self, plan: Plan, parts: list[Any]) -> Answer:
        plan = cast(_CfPlan, plan)
        schema, bound, decision = cast(Schema, plan.schema), cast(BoundConstraints, plan.bound), cast(Decision, plan.decision)
        X0, ref, P0 = cast(np.ndarray, plan.X0), cast(np.ndarray, plan.ref), cast(np.ndarray, plan.P0)
        Z = np.concatenate([p[0] for p in parts], axis=0)  # (n_rows, n, d)
        n_calls = int(sum(p[1] for p in parts)) + 3
        R, k, d = Z.shape
        flat = Z.reshape(R * k, d)
        X0r = np.repeat(X0, k, axis=0)
        broken = bound.violated(flat, X0r)
        bad = [i for i, b in enumerate(broken) if b]
        if bad:
            i = bad[0]
            raise ConstraintError(
                f"counterfactual {i % k} of row {i // k} breaks {broken[i]}; this is a defect of xaikit, please report it"
            )
        P = self._predict_encoded(schema, flat, "the counterfactuals")  # validity: the model's own prediction, last
        valid, _ = decision.loss(P, np.repeat(ref, k))
        changed = bound.changed(flat, X0r)
        distance = distances(flat, X0r, schema)
        search = Search(schema, bound, decision, Objective(1.0, 0.0, 1.0, 0.0, self.k_neighbors), lambda Z_: Z_, X0, ref,
                        cast(np.ndarray, plan.data), [], [])
        job = _CfJob(range(R), [], X0, ref, schema, bound, decision, cast(np.ndarray, plan.data),
                     cast(np.ndarray, plan.data_labels), plan.method)
        search.valid_data = self._valid_data(job)
        plaus = search.plausibility(Z)
        binding = bound.binding(flat, X0r)
        valid2 = valid.reshape(R, k)
        diversity = np.array([_mean_pairwise(Z[r][valid2[r]], schema) for r in range(R)])
        outputs = cast(list, plan.outputs)
        fields = {
            "values": Z,
            "data": X0,
            "valid": valid2.astype(np.int64),
            "distance": distance.reshape(R, k),
            "changed": changed.reshape(R, k, d).astype(np.int64),
            "plausibility": plaus,
            "predictions": P.reshape(R, k, -1)[:, :, outputs],
            "original_predictions": P0[:, outputs],
            "feature_types": list(schema.kinds),
            "domains": [None if dom is None else [_json_cell(v) for v in dom] for dom in schema.domains],
            "binding": [[binding[r * k + c] for c in range(k)] for r in range(R)],
            "feature_names": list(schema.names),
            "output_names": plan.out_names,
        }
        n_valid = valid2.sum(axis=1).astype(np.int64)
        diagnostics = {
            "n_valid": n_valid,
            "diversity": diversity,
            "n_model_calls": n_calls,
            "rows_without_counterfactual": int((n_valid == 0).sum()),
        }
        return Answer(fields, diagnostics, params=dict(plan.params))


def _mean_pairwise(Z: np.ndarray, schema: Schema) -> float:
    if len(Z) < 2:
        return 0.0
    D = distances(Z[:, None, :], Z[None, :, :], schema)
    return float(D[np.triu_indices(len(Z), 1)].mean())


def _json_cell(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v != v:
        return None
    return v

