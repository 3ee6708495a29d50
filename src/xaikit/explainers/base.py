"""The Explainer base class and the registry of methods.

Every explainer is built as ``Explainer(model, /, *, masker=None, **hyperparameters)`` (which only
stores parameters and adapts the model) and run as ``explain(X, /, *, target=None, executor=None,
random_state=None, ...)``. Subclasses that set ``name`` join :data:`REGISTRY`, which
:func:`xaikit.explain` picks from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from xaikit._validation import check_choice, describe
from xaikit.errors import InvalidParameterError

__all__ = ["Explainer", "REGISTRY", "get_explainer_class", "output_names", "select_outputs"]

#: Method name -> explainer class.
REGISTRY: dict[str, type[Explainer]] = {}


class Explainer:
    """Base of every explainer.

    Class attributes
    ----------------
    name : str
        Registry key (``"kernel_shap"``...).
    kind : {"local", "global"}
    requires : frozenset of str
        Model capabilities needed (``"gradient"``, ``"trees"``...); empty for model-agnostic methods.
    axioms : frozenset of str
        Properties the method guarantees (``"efficiency"``, ``"symmetry"``, ``"dummy"``, ``"linearity"``).
    exact : bool
        Whether results are exact (no sampling error).
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "local"
    requires: ClassVar[frozenset[str]] = frozenset()
    axioms: ClassVar[frozenset[str]] = frozenset()
    exact: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            REGISTRY[cls.name] = cls

    def explain(self, X: Any, /, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


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
    xaikit.errors.InvalidParameterError: target: expected an output index in [0, 2) or one of ['no', 'yes'], got 2 (int)
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
            raise InvalidParameterError(f"{name}: expected an output index in [0, {o}) or one of {names}, got {describe(t)}")
    if len(set(idx)) != len(idx):
        raise InvalidParameterError(f"{name}: expected each output at most once, got {items}")
    return idx, [names[i] for i in idx]
