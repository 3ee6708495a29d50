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
    its own features); ``explain``'s return annotation must name exactly these.
``requires``
    Model capabilities needed, from :data:`CAPABILITIES`; empty for model-agnostic methods.
``axioms``
    Properties the method guarantees, from :data:`AXIOMS`; :func:`xaikit.testing.check_explainer`
    checks each one.
``exact``
    Whether results carry no approximation error (no sampling, no quadrature).
``stochastic``
    Whether results depend on ``random_state`` with the default parameters (the method samples).
``parameters``
    The keyword-only parameters of ``explain`` (read off its signature). Each includes
    :data:`SHARED_PARAMETERS`, all with defaults.

Examples
--------
>>> import numpy as np, xaikit as xk
>>> from xaikit.explainers.base import Explainer
>>> class NoSeed(Explainer):  # doctest: +ELLIPSIS
...     name = "no_seed"
...     def explain(self, X, /, *, target=None) -> xk.Attribution: ...
Traceback (most recent call last):
...
xaikit.errors.ContractError: NoSeed.explain: expected the keyword-only parameters ... missing ['random_state', 'executor']
"""

from __future__ import annotations

import contextlib
import inspect
import platform
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from xaikit._validation import check_choice, describe
from xaikit.errors import ContractError, InvalidParameterError
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
    "check_shared",
    "map_rows",
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
    if not inspect.isfunction(cls.__dict__.get("explain", getattr(cls, "explain", None))):
        raise _contract_error(cls, "explain: expected a method explain(self, X, /, *, target, executor, random_state, ...)")
    sig = inspect.signature(cls.explain)
    params = list(sig.parameters.values())[1:]  # after self
    if not params or params[0].kind is not inspect.Parameter.POSITIONAL_ONLY:
        raise _contract_error(cls, "explain: expected the data as its first, positional-only parameter (X, /)")
    forwarded = inspect.Parameter.VAR_KEYWORD  # **params passed on to a wrapped method
    extra_positional = [p.name for p in params[1:] if p.kind not in (inspect.Parameter.KEYWORD_ONLY, forwarded)]
    if extra_positional:
        raise _contract_error(cls, f"explain: expected keyword-only parameters after the data, got {extra_positional}")
    keywords = [p for p in params[1:] if p.kind is inspect.Parameter.KEYWORD_ONLY]
    names = {p.name for p in keywords}
    missing = [n for n in SHARED_PARAMETERS if n not in names]
    if missing:
        raise ContractError(
            f"{cls.__name__}.explain: expected the keyword-only parameters {sorted(SHARED_PARAMETERS)} "
            f"(every method accepts them), missing {missing}"
        )
    no_default = [p.name for p in keywords if p.default is inspect.Parameter.empty]
    if no_default:
        raise _contract_error(cls, f"explain: expected a default for every keyword-only parameter, got none for {no_default}")
    returns = sig.return_annotation
    returns = getattr(returns, "__name__", returns)
    named = {part.strip().rpartition(".")[2] for part in returns.split("|")} if isinstance(returns, str) else {returns}
    expected = {k.__name__ for k in kinds}
    if named != expected:
        wanted = " | ".join(k.__name__ for k in kinds)
        raise _contract_error(cls, f"explain: expected the return annotation {wanted} (its result), got {returns!r}")
    declared = cls.__dict__.get("parameters")
    found = tuple(p.name for p in keywords)
    if declared is not None and tuple(declared) != found:
        raise _contract_error(cls, f"parameters: declared {list(declared)}, but explain takes {list(found)}")
    cls.parameters = found


class Explainer:
    """Base of every explainer; see the module docstring for the contract a subclass declares."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "local"
    result: ClassVar[type[Explanation] | tuple[type[Explanation], ...]] = Attribution
    requires: ClassVar[frozenset[str]] = frozenset()
    axioms: ClassVar[frozenset[str]] = frozenset()
    exact: ClassVar[bool] = False
    stochastic: ClassVar[bool] = False
    parameters: ClassVar[tuple[str, ...]] = ()

    def __init__(self, model: Any, /, **hyperparameters: Any) -> None:  # pragma: no cover - every method has its own
        """Store the hyperparameters and adapt the model; no other work (each method defines its own)."""
        raise NotImplementedError(f"{type(self).__name__} defines no constructor")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            _check_contract(cls)
            REGISTRY[cls.name] = cls

    #: ``explain(X, /, *, target=None, executor="auto", random_state=None, ...) -> result``, defined by
    #: every method (each with its own keyword-only parameters; the contract checks them).
    explain: Callable[..., Explanation]

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


def map_rows(executor: Any, n: int, make_job: Callable[[range], Any], run: Callable[[Any], list[Any]]) -> list[Any]:
    """Split ``range(n)`` into chunks (four per worker; one when serial), run ``run(make_job(chunk))``
    for each on the executor, and return the per-row results in row order. The executor is closed
    when it was made here. Results never depend on the split: each row carries its own seed.

    >>> map_rows("serial", 3, lambda rows: list(rows), lambda job: [10 * i for i in job])
    [0, 10, 20]
    """
    from xaikit.execution import chunk_indices

    with executor_scope(executor) as ex:
        chunks = chunk_indices(n, 4 * ex.n_workers if ex.n_workers > 1 else 1)
        return [r for part in ex.map(run, [make_job(c) for c in chunks]) for r in part]


def check_shared(executor: Any, random_state: Any) -> np.random.SeedSequence:
    """Check the parameters every method accepts and returns the seed; for methods that run in this
    process and draw nothing, they are checked and recorded, and change nothing.

    >>> check_shared("serial", 0).entropy
    0
    >>> check_shared("serial", "x")
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: random_state: expected None, a non-negative integer, a numpy Generator or SeedSequence, got 'x' (str)
    """
    from xaikit._validation import check_random_state

    seed = check_random_state(random_state)
    with executor_scope(executor):
        pass
    return seed


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
