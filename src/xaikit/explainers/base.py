"""The Explainer base class and the registry of methods.

Every explainer is built as ``Explainer(model, /, *, masker=None, **hyperparameters)`` (which only
stores parameters and adapts the model) and run as ``explain(X, /, *, target=None, executor=None,
random_state=None, ...)``. Subclasses that set ``name`` join :data:`REGISTRY`, which
:func:`xaikit.explain` picks from.
"""

from __future__ import annotations

from typing import Any, ClassVar

from xaikit._validation import check_choice

__all__ = ["Explainer", "REGISTRY", "get_explainer_class"]

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
