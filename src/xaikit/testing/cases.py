"""Small models and data that an explainer can be checked on, one :class:`Case` per kind of method.

:func:`default_case` picks a case from what a class declares (``requires``, its constructor's
parameters); :func:`xaikit.testing.check_explainer` runs the contract on it. Every case model is
defined at module level so that it reaches worker processes, and is built so that the axioms a
method may claim can be checked exactly: feature ``DUMMY`` is ignored by the model, features 0
and 1 are interchangeable (the model is symmetric in them, the reference data too), and
``linear_mix`` builds ``a f + b g`` of two case models.

Examples
--------
>>> import xaikit as xk
>>> case = default_case(xk.ExactShapley)
>>> case.X.shape, case.dummy, case.symmetric
((4, 5), 4, (0, 1))
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from xaikit.explainers.base import Explainer

__all__ = ["Case", "default_case", "tabular_game", "other_tabular_game", "mix", "tree_mix", "attention_weights", "DUMMY"]

#: The feature every case model ignores.
DUMMY = 4
_D = 5


def tabular_game(X: Any) -> np.ndarray:
    """Two outputs of five features: symmetric in features 0 and 1, feature 4 ignored, with interactions.

    >>> tabular_game(np.ones((1, 5))).round(3).tolist()
    [[3.841, 0.762]]
    """
    X = np.asarray(X, dtype=np.float64)
    a, b, c, e = X[:, 0], X[:, 1], X[:, 2], X[:, 3]
    return np.stack([np.sin(a * b) + a + b + c * e, np.tanh(a + b - c) * e], axis=1)


def other_tabular_game(X: Any) -> np.ndarray:
    """A second game on the same features and symmetries, for linearity.

    >>> other_tabular_game(np.zeros((1, 5))).tolist()
    [[0.0, 1.0]]
    """
    X = np.asarray(X, dtype=np.float64)
    a, b, c, e = X[:, 0], X[:, 1], X[:, 2], X[:, 3]
    return np.stack([a * b * c + e**2, np.exp(0.5 * (a + b)) - c], axis=1)


@dataclass(frozen=True)
class mix:
    """``a f(X) + b g(X)`` of two plain functions (picklable).

    >>> mix(2.0, tabular_game, -1.0, tabular_game)(np.ones((1, 5))).round(3).tolist()
    [[3.841, 0.762]]
    """

    a: float
    f: Callable[[Any], Any]
    b: float
    g: Callable[[Any], Any]

    def __call__(self, X: Any) -> np.ndarray:
        return self.a * np.asarray(self.f(X), dtype=np.float64) + self.b * np.asarray(self.g(X), dtype=np.float64)


def attention_weights(X: Any) -> np.ndarray:
    """Row-stochastic attention ``(n, 2 layers, 2 heads, t, t)`` that depends on the tokens ``X (n, t)``."""
    X = np.asarray(X, dtype=np.float64)
    n, t = X.shape
    scores = X[:, None, None, :, None] * np.arange(1, 3)[None, :, None, None, None] + X[:, None, None, None, :]
    scores = scores * np.array([1.0, -0.5])[None, None, :, None, None] + np.zeros((n, 2, 2, t, t))
    w = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return w / w.sum(axis=-1, keepdims=True)


@dataclass
class Case:
    """A model, rows to explain, and how to build the explainer, with what the property checks need.

    Attributes
    ----------
    make : callable
        ``make(model) -> explainer`` (hyperparameters bound).
    model : object
        What ``make`` is given.
    X : ndarray
        Rows to explain.
    explain : dict
        ``explain`` parameters used by every check.
    predict : callable, optional
        ``predict(model, X) -> (n, o)`` of the explained output; needed for ``efficiency``.
    dummy : int, optional
        A feature the model ignores (``dummy``).
    symmetric : (int, int), optional
        Two features the model and the reference data treat alike; checked on rows where they are equal.
    combine : callable, optional
        ``combine(a, b) -> model`` building ``a f + b g`` of the case model ``f`` and a second model ``g``;
        ``second`` is ``g``. Needed for ``linearity``.
    second : object, optional
    feature_names : list of str, optional
        Column names for the DataFrame check (tabular cases).
    n_features : int, optional
        The number of values per row and output the result must hold (one per input feature),
        when the method gives one per input element.
    fixed_width : bool
        Whether the explainer knows the width of X (from reference data or the model), so that a
        wider X must be refused; a plain function with no reference data takes any width.
    atol : float
        Tolerance of the exact checks.
    inputs : tuple
        Data ``explain`` takes by position after ``X`` (e.g. the labels ``y`` of a global method).
    """

    make: Callable[[Any], Any]
    model: Any
    X: np.ndarray
    explain: dict[str, Any] = field(default_factory=dict)
    predict: Callable[[Any, Any], np.ndarray] | None = None
    dummy: int | None = None
    symmetric: tuple[int, int] | None = None
    combine: Callable[[float, float], Any] | None = None
    second: Any = None
    feature_names: list[str] | None = None
    n_features: int | None = None
    fixed_width: bool = True
    atol: float = 1e-8
    inputs: tuple[Any, ...] = ()


def _rows(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Reference rows symmetric under swapping features 0 and 1, and rows to explain (x0 == x1 in rows 0-2)."""
    rng = np.random.default_rng(seed)
    half = rng.normal(size=(5, _D))
    swapped = half[:, [1, 0, 2, 3, 4]]
    background = np.concatenate([half, swapped])
    X = rng.normal(size=(4, _D))
    X[:3, 1] = X[:3, 0]
    return background, X


def _init_names(cls: type[Explainer]) -> set[str]:
    return set(inspect.signature(cls).parameters)


def _predict_with(output: str) -> Callable[[Any, Any], np.ndarray]:
    def predict(model: Any, X: Any) -> np.ndarray:
        from xaikit.models import adapt

        return adapt(model, output=output).predict(X)

    return predict


def _tabular_case(cls: type[Explainer]) -> Case:
    background, X = _rows()
    names = _init_names(cls)
    explain: dict[str, Any] = {}
    if "background" in names:
        make: Callable[[Any], Any] = lambda model: cls(model, background=background)  # noqa: E731
    elif "masker" in names:
        from xaikit.maskers import TabularMasker

        make = lambda model: cls(model, masker=TabularMasker(background))  # noqa: E731
    elif "window" in names:  # occlusion of one feature at a time, of one output
        make = lambda model: cls(model, window=1)  # noqa: E731
        explain["target"] = 1
    elif "feature_mask" in cls.parameters:  # ablation of one feature at a time, of one output
        make = cls
        explain["target"] = 1
    else:
        make = cls
    if cls.stochastic and "n_samples" in cls.parameters:
        explain["n_samples"] = 24  # fewer than the 30 coalitions of five features: sampled
    return Case(
        make=make, model=tabular_game, X=X, explain=explain, predict=_predict_with("raw"),
        dummy=DUMMY, symmetric=(0, 1), combine=lambda a, b: mix(a, tabular_game, b, other_tabular_game),
        second=other_tabular_game, feature_names=[f"x{j}" for j in range(_D)],
        fixed_width="background" in names or "masker" in names, n_features=_D,
    )


def tree_mix(a: float, f: Any, b: float, g: Any) -> Any:
    """The tree ensemble of ``a f + b g``: the trees of both, leaf values and base offsets scaled.

    >>> import numpy as np
    >>> from xaikit.models.trees import TreeEnsemble
    >>> stump = TreeEnsemble.from_arrays(roots=[0], left=[1, -1, -1], right=[2, -1, -1], feature=[0, -1, -1],
    ...                                  threshold=[0.5, 0, 0], value=[[0.0], [-1.0], [2.0]], cover=[4, 3, 1], n_features=2)
    >>> tree_mix(2.0, stump, -1.0, stump).predict_raw(np.array([[0.0, 0.0], [1.0, 0.0]])).ravel().tolist()
    [-1.0, 2.0]
    """
    from xaikit.models.trees import TreeEnsemble

    shift = f.left.shape[0]
    moved = lambda idx: np.where(idx >= 0, idx + shift, idx)  # noqa: E731
    return TreeEnsemble.from_arrays(
        roots=np.concatenate([f.roots, g.roots + shift]),
        left=np.concatenate([f.left, moved(g.left)]),
        right=np.concatenate([f.right, moved(g.right)]),
        feature=np.concatenate([f.feature, g.feature]),
        threshold=np.concatenate([f.threshold, g.threshold]),
        value=np.concatenate([a * f.value, b * g.value]),
        cover=np.concatenate([f.cover, g.cover]),
        missing_left=np.concatenate([f.missing_left, g.missing_left]),
        base_offset=a * f.base_offset + b * g.base_offset,
        n_features=f.n_features,
    )


def _symmetric_trees(seed: int) -> Any:
    """Boosted regression trees made symmetric in features 0 and 1 (each tree also with the two
    swapped, at half weight), never splitting on feature ``DUMMY``."""
    from sklearn.ensemble import GradientBoostingRegressor

    from xaikit.models.trees import tree_ensemble

    rng = np.random.default_rng(seed)
    Xt = rng.normal(size=(200, _D))
    Xt[:, DUMMY] = 0.0  # a constant column: no tree splits on it
    y = (tabular_game if seed == 0 else other_tabular_game)(Xt)[:, 0]
    ens = tree_ensemble(GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=seed).fit(Xt, y))
    swapped = copy.copy(ens)
    feature = ens.feature.copy()
    feature[ens.feature == 0], feature[ens.feature == 1] = 1, 0
    object.__setattr__(swapped, "feature", feature)
    return tree_mix(0.5, ens, 0.5, swapped)


def _tree_case(cls: type[Explainer]) -> Case:
    background, X = _rows()
    f, g = _symmetric_trees(0), _symmetric_trees(1)
    return Case(
        make=lambda m: cls(m, background=background), model=f, X=X,
        predict=lambda m, X_: m.predict_raw(np.asarray(X_, dtype=np.float64)),
        dummy=DUMMY, symmetric=(0, 1), combine=lambda a, b: tree_mix(a, f, b, g), second=g,
        feature_names=[f"x{j}" for j in range(_D)], n_features=_D,
    )


def _torch_mlp(seed: int) -> Any:
    import torch

    torch.manual_seed(seed)
    net: Any = torch.nn.Sequential(torch.nn.Linear(_D, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
    with torch.no_grad():
        first = net[0].weight
        first[:, 1] = first[:, 0]  # features 0 and 1 enter alike
        first[:, DUMMY] = 0.0  # feature 4 is ignored
    return net.eval()


def _torch_mix(a: float, f: Any, b: float, g: Any) -> Any:
    import torch

    class Mix(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f, self.g = f, g

        def forward(self, x: Any) -> Any:
            return a * self.f(x) + b * self.g(x)

    return Mix().double().eval()


def _gradient_case(cls: type[Explainer]) -> Case:
    _, X = _rows()
    f, g = _torch_mlp(0), _torch_mlp(1)
    init = _init_names(cls)
    explain: dict[str, Any] = {"target": 1}
    if "explainer" in _init_names(cls):  # SmoothGrad, VarGrad: small and seeded
        make: Callable[[Any], Any] = lambda model: cls(model, noise=0.1)  # noqa: E731
        explain["n_samples"] = 4
    elif any(p.name == "baselines" for p in getattr(cls, "explain_parameters", ())):  # DeepLiftShap: reference rows
        make = cls
        explain["baselines"] = _rows()[0]
    elif "background" in init and cls.stochastic:  # GradientShap
        background = _rows()[0]
        make = lambda model: cls(model, background=background)  # noqa: E731
        explain["n_samples"] = 8
    else:
        make = cls
    return Case(
        make=make, model=f, X=X, explain=explain, dummy=DUMMY, symmetric=(0, 1),
        combine=lambda a, b: _torch_mix(a, f, b, g), second=g, atol=1e-7, n_features=_D,
    )


def _torch_cnn() -> Any:
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(3 * 36, 2)
    ).double().eval()


def _layer_case(cls: type[Explainer]) -> Case:
    X = np.random.default_rng(0).normal(size=(3, 1, 6, 6))
    declared = {p.name for p in getattr(cls, "explain_parameters", ())}
    # a neuron method explains one unit of the layer; activations alone take no target
    explain: dict[str, Any] = {"neuron": 5} if "neuron" in declared else {} if "Not taken" in cls.target_doc else {"target": 0}
    return Case(make=lambda model: cls(model, layer="0"), model=_torch_cnn(), X=X, explain=explain)


def _attention_case(cls: type[Explainer]) -> Case:
    X = np.random.default_rng(0).normal(size=(3, 6))
    return Case(make=cls, model=attention_weights, X=X, fixed_width=False, n_features=X.shape[1])


def _global_case(cls: type[Explainer]) -> Case:
    """A model-agnostic global method (importance, effects, rules): the two-output function of five
    features on 40 rows, and the first output as the labels ``y`` when ``explain`` takes them."""
    X = np.random.default_rng(1).normal(size=(40, _D))
    takes_y = any(p.positional and p.name == "y" for p in getattr(cls, "explain_parameters", ()))
    return Case(
        make=cls, model=tabular_game, X=X, inputs=(tabular_game(X)[:, 0],) if takes_y else (), dummy=DUMMY,
        symmetric=(0, 1), feature_names=[f"x{j}" for j in range(_D)], fixed_width=False, n_features=_D,
    )


def default_case(cls: type[Explainer]) -> Case:
    """The case :func:`~xaikit.testing.check_explainer` uses for ``cls`` when none is given.

    Chosen from the kind (a model-agnostic global or counterfactual method: the function of five features
    on 40 rows, with its first output as labels when ``explain`` takes ``y``; a rules method: a threshold
    classifier with its ``data``) and what the class requires:
    predictions only (a function of five features with a
    symmetric reference set), ``trees`` (boosted trees symmetrised in features 0 and 1), ``gradient``
    (a torch MLP), ``layer_gradients`` (a torch CNN, layer ``"0"``), ``attention`` (a function
    returning attention weights).
    """
    requires = frozenset(getattr(cls, "requires", frozenset()))
    if getattr(cls, "kind", "local") == "rules" and not requires:
        from xaikit.testing._anchors_case import anchors_case

        return anchors_case(cls)
    if getattr(cls, "kind", "local") != "local" and not requires:
        return _global_case(cls)
    if "attention" in requires:
        return _attention_case(cls)
    if "layer_gradients" in requires:
        return _layer_case(cls)
    if "gradient" in requires:
        return _gradient_case(cls)
    if "trees" in requires:
        return _tree_case(cls)
    return _tabular_case(cls)
