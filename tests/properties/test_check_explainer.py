"""check_explainer catches methods that break the contract: each mutation of a correct toy method
must be caught by the check named, and the correct toy must pass the whole suite."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import ContractError
from xaikit.explainers.base import REGISTRY, Explainer
from xaikit.explainers.pipeline import REQUIRED, Answer, Parameter, Plan, integer
from xaikit.testing import check_explainer
from xaikit.testing.cases import DUMMY


@dataclass
class _ToyPlan(Plan):
    X: Any = None
    target: Any = None


def _toy(name: str, **overrides: Any) -> type:
    """A correct method (exact interventional Shapley values, computed by ExactShapley), registered
    under ``name``, with ``overrides`` as class attributes; ``_mutate(values, seed, executor)`` changes
    its values. It runs in the shared pipeline, as every method does."""

    class Toy(Explainer[xk.Attribution]):
        axioms = frozenset({"efficiency", "symmetry", "dummy", "linearity"})
        exact = True

        def __init__(self, model: Any, /, *, background: Any = None) -> None:
            self.inner = xk.ExactShapley(model, background=background)
            self.model = self.inner.model

        def _start(self, X: Any, target: Any, params: dict[str, Any]) -> Plan:
            return _ToyPlan(len(X), X=X, target=target)

        def _run(self, plan: Any, executor: Any, seed: np.random.SeedSequence) -> list[Any]:
            exp = self.inner.explain(plan.X, target=plan.target, executor=executor, random_state=self._seed(seed))
            return [exp, self._mutate(np.array(exp.values), seed, executor)]

        def _finish(self, plan: Any, parts: list[Any]) -> Answer:
            exp, values = parts
            fields = {"values": values, "base_values": exp.base_values,
                      "feature_names": exp.feature_names[: values.shape[1]], "output_names": exp.output_names}
            return Answer(fields, {})

        def _seed(self, seed: Any) -> Any:
            return seed

        def _mutate(self, values: np.ndarray, seed: Any, executor: Any) -> np.ndarray:
            return values

    return type(name, (Toy,), {"name": name, **overrides})


@pytest.fixture
def register():
    made: list[str] = []

    def make(name: str, **overrides: Any) -> type:
        cls = _toy(name, **overrides)
        made.append(name)
        return cls

    yield make
    for name in made:
        REGISTRY.pop(name, None)


def test_a_toy_registered_in_a_test_receives_the_whole_suite(register):
    cls = register("toy_exact")
    assert REGISTRY["toy_exact"] is cls
    report = check_explainer(cls)
    assert set(report.skipped) == {"batch_size"}  # the toy takes no batch_size
    assert {"contract", "result", "axiom:efficiency", "axiom:dummy", "axiom:symmetry", "axiom:linearity", "seed",
            "executor:threads", "executor:processes", "frame", "save_load", "bad:X", "bad:target",
            "bad:random_state", "bad:executor"} <= set(report.passed)


def _scale(values, random_state, executor):
    return values * 0.9


def _drop_feature(values, random_state, executor):
    return values[:, :-1]


def _move_to_dummy(values, random_state, executor):
    values[:, DUMMY] += 0.1
    values[:, 2] -= 0.1  # keeps efficiency
    return values


def _unbalance_pair(values, random_state, executor):
    values[:, 0] += 0.05
    values[:, 1] -= 0.05
    return values


def _square(values, random_state, executor):
    """Not linear in the model; keeps efficiency, dummy and symmetry."""
    sq = 0.01 * values[:, :4] ** 2
    values[:, :4] += sq - sq.mean(axis=1, keepdims=True)
    return values


def _noise(values, rng):
    """Noise that keeps efficiency, dummy and symmetry."""
    eps = rng.normal(scale=1e-3, size=(values.shape[0], values.shape[2]))
    values[:, 0] += eps
    values[:, 1] += eps
    values[:, 2] -= eps
    values[:, 3] -= eps
    return values


def _unseeded_noise(values, random_state, executor):
    return _noise(values, np.random.default_rng())


def _fixed_noise(values, random_state, executor):
    return _noise(values, np.random.default_rng(0))


def _by_executor(values, random_state, executor):
    return values + (0.0 if executor.n_workers == 1 else 1e-12)


_SAMPLED = {"exact": False, "stochastic": True, "axioms": frozenset({"efficiency", "symmetry", "dummy"})}


@pytest.mark.parametrize(
    ("mutation", "overrides", "caught_by"),
    [
        (_scale, {}, "axiom:efficiency"),
        (_drop_feature, {}, "result"),
        (_move_to_dummy, {}, "axiom:dummy"),
        (_unbalance_pair, {}, "axiom:symmetry"),
        (_square, {}, "axiom:linearity"),
        (_unseeded_noise, _SAMPLED, "seed"),
        (_fixed_noise, _SAMPLED, "seed"),
        (_by_executor, {}, "executor:threads"),
    ],
    ids=lambda v: getattr(v, "__name__", None) if callable(v) else None,
)
def test_each_mutation_is_caught_by_its_check(register, mutation, overrides, caught_by):
    cls = register("toy_mutant", _mutate=lambda self, v, r, e: mutation(v, r, e), **overrides)
    with pytest.raises(AssertionError, match=f"^{caught_by}:"):
        check_explainer(cls)


def test_a_method_cannot_ignore_a_bad_seed_the_pipeline_checks_it(register):
    cls = register("toy_lax_seed", _seed=lambda self, r: 0)  # never looks at its seed
    assert "bad:random_state" in check_explainer(cls, only=["bad:random_state"]).passed
    with pytest.raises(xk.InvalidParameterError, match="^random_state: expected"):
        cls(xk.testing.cases.tabular_game, background=np.zeros((1, 6))).explain(np.ones((1, 6)), random_state="x")


def test_a_hand_written_explain_is_refused_when_the_class_is_created():
    with pytest.raises(ContractError, match="explain: the shared pipeline runs every method"):

        class OwnExplain(Explainer):
            name = "toy_own_explain"

            def explain(self, X: Any, /, *, target: Any = None, executor: Any = "auto", random_state: Any = None) -> dict:
                return {}

    assert "toy_own_explain" not in REGISTRY


def test_a_method_without_its_steps_is_refused():
    with pytest.raises(ContractError, match="_start: expected the method's own _start"):
        type("Stepless", (Explainer,), {"name": "toy_stepless"})
    assert "toy_stepless" not in REGISTRY


def test_declared_parameters_are_checked_documented_and_in_the_signature(register):
    cls = register("toy_declared", explain_parameters=(
        Parameter("n_rounds", 3, "int", "Rounds.", integer(minimum=1)),
    ))
    explainer = cls(xk.testing.cases.tabular_game, background=np.zeros((1, 6)))
    assert list(inspect.signature(cls.explain).parameters) == [
        "self", "X", "target", "n_rounds", "executor", "random_state"]
    assert "n_rounds : int\n    Rounds." in cls.explain.__doc__ and "random_state : " in cls.explain.__doc__
    assert cls.parameters == ("target", "n_rounds", "executor", "random_state")
    exp = explainer.explain(np.ones((1, 6)), n_rounds=2)
    assert exp.params["n_rounds"] == 2 and exp.method == "toy_declared"
    with pytest.raises(xk.InvalidParameterError, match="^n_rounds: expected an integer >= 1, got 0"):
        explainer.explain(np.ones((1, 6)), n_rounds=0)
    with pytest.raises(xk.InvalidParameterError, match="^n_round: not a parameter of .*did you mean 'n_rounds'"):
        explainer.explain(np.ones((1, 6)), n_round=2)


def test_the_executor_made_for_a_call_is_closed_when_a_step_raises(register, monkeypatch):
    import xaikit.execution as execution

    closed = []
    real = execution.get_executor

    def spy(spec: Any) -> Any:
        if not isinstance(spec, str):  # an executor given: used as it is, never closed by the call
            return spec
        ex = real("serial")
        ex.close = lambda: closed.append(spec)  # type: ignore[method-assign]
        return ex

    monkeypatch.setattr(execution, "get_executor", spy)

    def fail(self: Any, plan: Any, parts: Any) -> Any:
        raise RuntimeError("boom")

    cls = register("toy_failing", _finish=fail)
    with pytest.raises(RuntimeError, match="boom"):
        cls(xk.testing.cases.tabular_game, background=np.zeros((1, 6))).explain(np.ones((1, 6)), executor="threads:2")
    assert closed == ["threads:2"]


def test_an_unknown_axiom_or_capability_is_refused():
    with pytest.raises(ContractError, match="axioms"):
        type("Boastful", (Explainer,), {"name": "toy_boastful", "axioms": frozenset({"faithfulness"})})
    with pytest.raises(ContractError, match="requires"):
        type("Needy", (Explainer,), {"name": "toy_needy", "requires": frozenset({"telepathy"})})
    assert "toy_boastful" not in REGISTRY and "toy_needy" not in REGISTRY


def test_methods_says_what_applies_and_why():
    table = {m.name: m for m in xk.methods(xk.testing.cases.tabular_game)}
    assert table["exact_shapley"].applies and table["lime"].applies
    assert not table["tree_shap"].applies and "trees" in table["tree_shap"].reason
    assert not table["integrated_gradients"].applies and "gradient" in table["integrated_gradients"].reason


@dataclass
class _LabelsPlan(Plan):
    X: Any = None


def _toy_correlation() -> type:
    """A global toy method taking labels after X: |correlation| of each feature with y (registered
    when called, so that the registry's own contract test does not collect it)."""

    class _ToyCorrelation(Explainer[xk.Attribution]):
        """A global toy method taking labels after X: |correlation| of each feature with y."""

        name = "toy_correlation"
        kind = "global"
        exact = True
        explain_parameters = (Parameter("y", REQUIRED, "array (n,)", "The labels.", positional=True),)

        def __init__(self, model: Any, /) -> None:
            self.model = xk.models.adapt(model)

        def _start(self, X: Any, target: Any, params: dict[str, Any]) -> Plan:
            if target is not None:
                raise xk.InvalidParameterError(f"target: the toy has one output to explain, got {target!r}")
            return _LabelsPlan(1, split=0, X=np.asarray(X, dtype=float))

        def _run(self, plan: Any, executor: Any, seed: np.random.SeedSequence) -> list[Any]:
            y = np.asarray(plan.params["y"], dtype=float)
            return [np.abs([np.corrcoef(plan.X[:, j], y)[0, 1] for j in range(plan.X.shape[1])])]

        def _finish(self, plan: Any, parts: list[Any]) -> Answer:
            values = parts[0][None, :, None]
            return Answer({"values": values, "base_values": np.zeros((1, 1))}, {})

    return _ToyCorrelation


def test_a_global_method_takes_labels_after_X_by_position_or_by_name():
    try:
        cls = _toy_correlation()
        assert str(inspect.signature(cls.explain)).startswith("(self, X, /, y, *, target=None")
        assert cls.parameters[:2] == ("y", "target")
        report = check_explainer(cls)
        assert {"result", "seed", "executor:threads", "save_load", "bad:random_state"} <= set(report.passed)
        X = np.random.default_rng(0).normal(size=(30, 3))
        y = 2 * X[:, 0] + 0.1 * X[:, 1]
        by_position, by_name = cls(lambda X: X).explain(X, y), cls(lambda X: X).explain(X, y=y)
        np.testing.assert_array_equal(by_position.values, by_name.values)
        assert by_position.values[0, 0, 0] > 0.9 > by_position.values[0, 2, 0]
        with pytest.raises(xk.InvalidParameterError, match="^y: _ToyCorrelation.explain needs it"):
            cls(lambda X: X).explain(X)
        with pytest.raises(xk.InvalidParameterError, match="^y: given twice"):
            cls(lambda X: X).explain(X, y, y=y)
        with pytest.raises(xk.InvalidParameterError, match=r"^X: _ToyCorrelation.explain takes 1 input\(s\) after X"):
            cls(lambda X: X).explain(X, y, y)
    finally:
        REGISTRY.pop("toy_correlation", None)
