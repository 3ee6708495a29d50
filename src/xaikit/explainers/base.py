"""The explainer contract, the registry of methods, and what every explain call shares.

Every explainer is built as ``Explainer(model, /, *, masker=None, **hyperparameters)`` (which only
stores parameters and adapts the model) and run as ``explain(X, /, *, target=None,
executor="auto", random_state=None, ...)``.

The contract is declared on the class and checked when the class is created, so a method that
breaks it cannot be registered (:class:`~xaikit.errors.ContractError`):

``name``
    Registry key (``"kernel_shap"``...); a class with a name joins :data:`REGISTRY`, which
    :func:`xaikit.explain` and :func:`methods` read. Classes without one are bases.
``kind``
    One of :data:`KINDS`.
``result``
    The result class ``explain`` returns, or a tuple of them when the kind follows the input (an
    ``Attribution`` for tables, a ``RaggedAttribution`` for documents and images, each row with
    its own features). The class's generic argument (``Explainer[Attribution]``) says the same to
    type checkers.
``requires``
    Model capabilities needed, from :data:`CAPABILITIES`; empty for model-agnostic methods.
``axioms``
    Properties the method guarantees, from :data:`AXIOMS`; :func:`xaikit.testing.check_explainer`
    checks each one.
``exact``
    Whether results carry no approximation error (no sampling, no quadrature).
``stochastic``
    Whether results depend on ``random_state`` with the default parameters (the method samples).
``explain_parameters``
    The method's own keyword-only ``explain`` parameters
    (:class:`~xaikit.explainers.pipeline.Parameter`: name, default, type, doc, check), besides
    :data:`SHARED_PARAMETERS`. ``explain`` itself is the shared pipeline
    (:mod:`xaikit.explainers.pipeline`): a method defines ``_start`` and ``_finish``, never
    ``explain``; its ``explain`` gets the signature and the docstring of what it declares, and
    ``parameters`` lists every name it takes.

Examples
--------
>>> import xaikit as xk
>>> from xaikit.explainers.base import Explainer
>>> class OwnExplain(Explainer):  # doctest: +ELLIPSIS
...     name = "own_explain"
...     def explain(self, X, /, *, target=None) -> xk.Attribution: ...
Traceback (most recent call last):
...
xaikit.errors.ContractError: OwnExplain: explain: the shared pipeline runs every method; ...
>>> import inspect
>>> list(inspect.signature(xk.KernelShap.explain).parameters)
['self', 'X', 'target', 'n_samples', 'tol', 'max_seconds', 'batch_size', 'executor', 'random_state']
"""

from __future__ import annotations

import contextlib
import inspect
import platform
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from xaikit._validation import check_choice, describe
from xaikit.errors import ContractError, InvalidParameterError
from xaikit.explainers.pipeline import REQUIRED, SHARED_DOCS, Answer, Parameter, Plan
from xaikit.results import Attribution, Explanation

__all__ = [
    "Explainer",
    "REGISTRY",
    "KINDS",
    "CAPABILITIES",
    "AXIOMS",
    "SHARED_PARAMETERS",
    "MethodInfo",
    "methods",
    "get_explainer_class",
    "executor_scope",
    "result_kinds",
    "provenance",
    "output_names",
    "select_outputs",
]

#: Method name -> explainer class.
REGISTRY: dict[str, type[Explainer]] = {}

#: What a method explains: one row's prediction, the model as a whole, what would change a
#: decision, rules that hold it, or the quality of explanations.
KINDS = ("local", "global", "counterfactual", "rules", "quality")

#: Model capabilities a method may require, and what offers them.
CAPABILITIES: dict[str, str] = {
    "gradient": "gradients of the outputs with respect to the inputs (torch and Keras models)",
    "layer_gradients": "activations and gradients of an inner layer (torch and Keras models with a layer graph)",
    "trees": "a tree ensemble xaikit can read (scikit-learn, XGBoost, LightGBM trees or a TreeEnsemble)",
    "attention": "a function returning the model's attention weights (passed to the explainer in place of a model)",
}

#: Axioms a method may claim; :func:`xaikit.testing.check_explainer` checks each on every case.
AXIOMS: dict[str, str] = {
    "efficiency": "the values of a row add up to its prediction minus the base value, per output",
    "symmetry": "two features the model and the reference data treat alike get equal values",
    "dummy": "a feature the model ignores gets zero",
    "linearity": "the values of a f + b g are a times those of f plus b times those of g",
}

#: Keyword-only ``explain`` parameters every method accepts (recorded; ignored where they cannot apply).
SHARED_PARAMETERS = ("target", "random_state", "executor")


def result_kinds(cls: type[Explainer]) -> tuple[type[Explanation], ...]:
    """The result classes a method declares (``result``, one or a tuple).

    >>> import xaikit as xk
    >>> [k.__name__ for k in result_kinds(xk.Lime)]
    ['Attribution', 'RaggedAttribution']
    """
    declared = cls.result
    return tuple(declared) if isinstance(declared, tuple) else (declared,)


def _contract_error(cls: type, message: str) -> ContractError:
    return ContractError(f"{cls.__name__}: {message}")


def _check_contract(cls: type[Explainer]) -> None:
    """Raise :class:`ContractError` when a registered class breaks the declared contract."""
    if not isinstance(cls.name, str) or not cls.name.isidentifier():
        raise _contract_error(cls, f"name: expected an identifier, got {describe(cls.name)}")
    if cls.kind not in KINDS:
        raise _contract_error(cls, f"kind: expected one of {list(KINDS)}, got {describe(cls.kind)}")
    kinds = result_kinds(cls)
    if not kinds or not all(isinstance(k, type) and issubclass(k, Explanation) for k in kinds):
        raise _contract_error(cls, f"result: expected a result class or a tuple of them, got {describe(cls.result)}")
    for attr, allowed in (("requires", CAPABILITIES), ("axioms", AXIOMS)):
        value = getattr(cls, attr)
        if not isinstance(value, frozenset) or not value <= set(allowed):
            raise _contract_error(cls, f"{attr}: expected a frozenset of {sorted(allowed)}, got {describe(value)}")
    for flag in ("exact", "stochastic"):
        if not isinstance(getattr(cls, flag), bool):
            raise _contract_error(cls, f"{flag}: expected a bool, got {describe(getattr(cls, flag))}")
    if cls.exact and cls.stochastic:
        raise _contract_error(cls, "exact and stochastic: an exact method cannot depend on its seed")
    for hook in ("_start", "_finish"):
        if getattr(cls, hook) is getattr(Explainer, hook):
            raise _contract_error(cls, f"{hook}: expected the method's own {hook} (see xaikit.explainers.pipeline)")
    declared = cls.explain_parameters
    if not isinstance(declared, tuple) or not all(isinstance(p, Parameter) for p in declared):
        raise _contract_error(cls, f"explain_parameters: expected a tuple of Parameter, got {describe(declared)}")
    names = [p.name for p in declared]
    clash = sorted({n for n in names if names.count(n) > 1 or n in SHARED_PARAMETERS or not n.isidentifier()})
    if clash:
        raise _contract_error(
            cls, f"explain_parameters: expected distinct identifiers other than {list(SHARED_PARAMETERS)}, got {clash}"
        )


def _explain_signature(cls: type[Explainer]) -> inspect.Signature:
    """``explain``'s signature as the method declares it (what ``help`` and ``inspect`` show)."""
    keyword, by_position = inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD
    returns = " | ".join(k.__name__ for k in result_kinds(cls))
    empty = inspect.Parameter.empty
    params = [
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY),
        inspect.Parameter("X", inspect.Parameter.POSITIONAL_ONLY),
        *(inspect.Parameter(p.name, by_position, default=empty if p.default is REQUIRED else p.default)
          for p in cls.explain_parameters if p.positional),
        inspect.Parameter("target", keyword, default=None),
        *(inspect.Parameter(p.name, keyword, default=p.default) for p in cls.explain_parameters if not p.positional),
        inspect.Parameter("executor", keyword, default="auto"),
        inspect.Parameter("random_state", keyword, default=None),
    ]
    return inspect.Signature(params, return_annotation=returns)


def _explain_doc(cls: type[Explainer]) -> str:
    """``explain``'s docstring: the method's summary, every parameter (the shared ones written once
    in :data:`~xaikit.explainers.pipeline.SHARED_DOCS`) and what it returns."""
    declared = cls.explain_parameters
    entries = [cls.input_doc, *(p.docs() for p in declared if p.positional), cls.target_doc,
               *(p.docs() for p in declared if not p.positional), SHARED_DOCS["executor"], SHARED_DOCS["random_state"]]
    body = "\n".join(_doc_entry(e) for e in entries)
    returns = _doc_entry(cls.returns_doc)
    return f"{inspect.cleandoc(cls.summary)}\n\nParameters\n----------\n{body}\n\nReturns\n-------\n{returns}\n"


def _doc_entry(text: str) -> str:
    """A numpydoc entry: its first line, then the rest indented by four spaces.

    >>> print(_doc_entry('''tol : float
    ...         Stop there.'''))
    tol : float
        Stop there.
    """
    head, _, rest = text.strip("\n").partition("\n")
    body = textwrap.indent(textwrap.dedent(rest).strip("\n"), "    ")
    return head.strip() + ("\n" + body if body else "")


def _declare_explain(cls: type[Explainer]) -> None:
    """Give ``cls`` an ``explain`` that runs the shared pipeline, with the signature and the
    docstring of the parameters it declares."""

    def explain(self: Explainer, X: Any, /, *inputs: Any, **parameters: Any) -> Explanation:
        return Explainer.explain(self, X, *inputs, **parameters)

    explain.__signature__ = _explain_signature(cls)  # type: ignore[attr-defined]
    explain.__doc__ = _explain_doc(cls)
    explain.__qualname__ = f"{cls.__qualname__}.explain"
    explain.__module__ = cls.__module__
    cls.explain = explain  # type: ignore[method-assign]
    declared = cls.explain_parameters
    cls.parameters = (*(p.name for p in declared if p.positional), "target",
                      *(p.name for p in declared if not p.positional), "executor", "random_state")


_R = TypeVar("_R", bound=Explanation)


class Explainer(Generic[_R]):
    """Base of every explainer; see the module docstring for the contract a subclass declares.

    ``explain`` is the shared pipeline (:mod:`xaikit.explainers.pipeline`); a method supplies
    ``_start`` (checks and prepares the rows: a :class:`~xaikit.explainers.pipeline.Plan`),
    optionally ``_run`` (its own split of the work) and ``_finish`` (assembles an
    :class:`~xaikit.explainers.pipeline.Answer`), and ``_model`` when its model is not ``self.model``.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "local"
    result: ClassVar[type[Explanation] | tuple[type[Explanation], ...]] = Attribution
    requires: ClassVar[frozenset[str]] = frozenset()
    axioms: ClassVar[frozenset[str]] = frozenset()
    exact: ClassVar[bool] = False
    stochastic: ClassVar[bool] = False
    #: The method's own keyword-only ``explain`` parameters, in order.
    explain_parameters: ClassVar[tuple[Parameter, ...]] = ()
    #: Every keyword-only ``explain`` parameter's name (set from the declaration).
    parameters: ClassVar[tuple[str, ...]] = ("target", "executor", "random_state")
    #: ``explain``'s docstring: its first line, the data, the target, what it returns.
    summary: ClassVar[str] = "Explanations of every row of ``X``."
    input_doc: ClassVar[str] = "X : array-like (n, d) or DataFrame"
    target_doc: ClassVar[str] = "target : int, str or list, optional\n    Outputs to return (index or name); all by default."
    returns_doc: ClassVar[str] = "Explanation"

    def __init__(self, model: Any, /, **hyperparameters: Any) -> None:  # pragma: no cover - every method has its own
        """Store the hyperparameters and adapt the model; no other work (each method defines its own)."""
        raise NotImplementedError(f"{type(self).__name__} defines no constructor")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "explain" in cls.__dict__:
            raise _contract_error(
                cls, "explain: the shared pipeline runs every method; declare explain_parameters and define "
                "_start and _finish instead (see xaikit.explainers.pipeline)"
            )
        if cls.__dict__.get("name"):
            _check_contract(cls)
            REGISTRY[cls.name] = cls
        _declare_explain(cls)

    def explain(
        self, X: Any, /, *inputs: Any, target: Any = None, executor: Any = "auto", random_state: Any = None,
        **parameters: Any,
    ) -> _R:
        """Explain every row of ``X`` (each method's own docstring lists its parameters; ``inputs``
        are the data it takes by position after ``X``, such as the labels ``y``)."""
        from xaikit.explainers import pipeline

        return pipeline.run(self, X, target, executor, random_state, parameters, inputs)  # type: ignore[return-value]

    # ---------------------------------------------------------------- the method's steps
    def _start(self, X: Any, target: Any, params: dict[str, Any]) -> Plan:  # pragma: no cover - each method's own
        """Check and prepare the rows, choose the outputs; what every chunk needs."""
        raise NotImplementedError

    def _run(self, plan: Plan, executor: Any, seed: np.random.SeedSequence) -> list[Any]:
        """The parts of the plan's chunks, in row order (by default its rows split over the executor)."""
        from xaikit.explainers.pipeline import run_chunks

        return run_chunks(self, plan, executor, seed)

    def _finish(self, plan: Plan, parts: list[Any]) -> Answer:  # pragma: no cover - each method's own
        """The result's fields and diagnostics from the parts."""
        raise NotImplementedError

    def _parameters(self) -> tuple[Parameter, ...]:
        """The parameters this explainer's ``explain`` takes besides the shared ones: its class's
        declaration (a method wrapping another adds the other's)."""
        return self.explain_parameters

    def _model(self) -> tuple[str, str]:
        """The model explained, described, and the output explained (for the provenance and params)."""
        model = self.model  # type: ignore[attr-defined]
        return model.describe(), model.output

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@dataclass(frozen=True)
class MethodInfo:
    """One registered method, and whether it applies to a given model."""

    name: str
    explainer: type[Explainer]
    kind: str
    applies: bool
    reason: str

    def __repr__(self) -> str:
        mark = "yes" if self.applies else "no "
        return f"{mark} {self.name:<26} {self.kind:<8} {self.reason}"


def _capabilities_of(model: Any) -> tuple[frozenset[str], str]:
    """What ``model`` offers (:data:`CAPABILITIES`), and a short description of it."""
    from xaikit.errors import UnsupportedModelError
    from xaikit.models import adapt
    from xaikit.models.trees import tree_ensemble

    caps: set[str] = set()
    try:
        adapted = adapt(model)
        caps |= adapted.capabilities
        what = adapted.describe()
    except (UnsupportedModelError, InvalidParameterError) as exc:
        return frozenset(), f"cannot be adapted ({exc})"
    try:
        tree_ensemble(model)
        caps.add("trees")
    except (UnsupportedModelError, InvalidParameterError):
        pass
    return frozenset(caps), what


def methods(model: Any = None) -> list[MethodInfo]:
    """The registered methods, each saying whether it applies to ``model`` and why (or why not).

    Without a model, every method is listed with what it needs.

    Examples
    --------
    >>> import xaikit as xk
    >>> table = {m.name: m for m in xk.methods(lambda X: X.sum(axis=1))}
    >>> table["kernel_shap"].applies, table["saliency"].applies
    (True, False)
    >>> table["saliency"].reason
    'needs gradient: gradients of the outputs with respect to the inputs (torch and Keras models); <lambda> offers predictions only'
    """
    import xaikit.explainers  # noqa: F401  (registers the built-in methods)

    caps, what = (frozenset(), "") if model is None else _capabilities_of(model)
    out = []
    for name in sorted(REGISTRY):
        cls = REGISTRY[name]
        missing = sorted(cls.requires - caps)
        if model is None:
            applies, reason = True, "needs " + (", ".join(sorted(cls.requires)) or "predictions only")
        elif what.startswith("cannot be adapted") and not cls.requires <= {"attention"}:
            applies, reason = False, f"the model {what}"
        elif missing:
            offers = "predictions, " + ", ".join(sorted(caps)) if caps else "predictions only"
            needs = "; ".join(f"{m}: {CAPABILITIES[m]}" for m in missing)
            applies, reason = False, f"needs {needs}; {what} offers {offers}"
        else:
            applies, reason = True, "applies: " + (", ".join(sorted(cls.requires)) or "needs predictions only")
        out.append(MethodInfo(name, cls, cls.kind, applies, reason))
    return out


@contextlib.contextmanager
def executor_scope(executor: Any) -> Iterator[Any]:
    """The executor ``executor`` names, closed on leaving when it was made here (always, errors included).

    >>> with executor_scope("serial") as ex:
    ...     ex.map(abs, [-2])
    [2]
    """
    from xaikit.execution import get_executor

    ex = get_executor(executor)
    try:
        yield ex
    finally:
        if ex is not executor:
            ex.close()


def provenance(model: str, output: str, seed: Any = None, **extra: Any) -> dict[str, Any]:
    """How a result was made: versions, the model and the output explained, the seed, and ``extra``.

    >>> sorted(provenance("LinearModel", "raw", 0))
    ['model', 'numpy_version', 'output', 'python_version', 'seed', 'xaikit_version']
    """
    from xaikit import __version__

    return {
        "xaikit_version": __version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "model": model,
        "output": output,
        "seed": seed,
        **extra,
    }


def get_explainer_class(method: str) -> type[Explainer]:
    """The explainer class registered under ``method``.

    >>> get_explainer_class("exact_shapley").__name__
    'ExactShapley'
    """
    import xaikit.explainers  # noqa: F401  (registers the built-in methods)

    check_choice(method, "method", sorted(REGISTRY))
    return REGISTRY[method]


def output_names(names: Sequence[str] | None, n_outputs: int) -> list[str]:
    """The model's output names when it has ``n_outputs`` of them, else ``output`` / ``output0, output1...``.

    >>> output_names(None, 1), output_names(None, 2), output_names(["a", "b"], 2)
    (['output'], ['output0', 'output1'], ['a', 'b'])
    """
    if names is not None and len(names) == n_outputs:
        return [str(n) for n in names]
    return [f"output{j}" for j in range(n_outputs)] if n_outputs > 1 else ["output"]


def select_outputs(target: Any, names: Sequence[str], *, name: str = "target") -> tuple[list[int], list[str]]:
    """Output positions and names chosen by ``target``: None (all), an index (negative counts from the
    end), a name, or a list of those, each output at most once.

    >>> select_outputs(None, ["no", "yes"])
    ([0, 1], ['no', 'yes'])
    >>> select_outputs(["yes", 0], ["no", "yes"])
    ([1, 0], ['yes', 'no'])
    >>> select_outputs(2, ["no", "yes"])
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: target: expected an output index in [-2, 2) (negative counts from the end) or one of ['no', 'yes'], got 2 (int)
    """
    names = list(names)
    o = len(names)
    if target is None:
        return list(range(o)), names
    items = list(target) if isinstance(target, (list, tuple, np.ndarray, range)) else [target]
    if not items:
        raise InvalidParameterError(f"{name}: expected at least one output, got an empty list")
    idx: list[int] = []
    for t in items:
        if isinstance(t, str) and t in names:
            idx.append(names.index(t))
        elif isinstance(t, (int, np.integer)) and not isinstance(t, bool) and -o <= int(t) < o:
            idx.append(int(t) % o)
        else:
            raise InvalidParameterError(
                f"{name}: expected an output index in [{-o}, {o}) (negative counts from the end) or one of {names}, "
                f"got {describe(t)}"
            )
    if len(set(idx)) != len(idx):
        raise InvalidParameterError(f"{name}: expected each output at most once, got {items}")
    return idx, [names[i] for i in idx]
