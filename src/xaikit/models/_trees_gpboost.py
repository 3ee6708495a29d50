"""Parse GPBoost models into a :class:`~xaikit.models.trees.TreeEnsemble`: the trees' part, read as LightGBM's.

GPBoost's trees are LightGBM's (``Booster.dump_model()`` writes the same JSON), so the LightGBM parser reads them
(:func:`xaikit.models._trees_lightgbm.from_dump`), with its routing rules. Accepted: ``gpboost.Booster`` and the
scikit-learn wrappers (``GPBoostRegressor``, ``GPBoostClassifier``).

A booster trained with a ``GPModel`` (grouped random effects or a Gaussian process) predicts ``F(X) + b``: the
trees give the fixed effect ``F(X)`` on the latent scale, ``predict(X, ..., pred_latent=True)["fixed_effect"]``,
whatever the likelihood (its dumped objective is ``regression``). The ensemble explains that fixed effect only,
and says so in its ``scale``: the random effects depend on the group or location of a row, not on its features,
and are not part of it. Without a ``GPModel`` the booster is a LightGBM model, explained as one.

Examples
--------
>>> import numpy as np, pytest
>>> gpb = pytest.importorskip("gpboost")
>>> X = np.arange(40.0).reshape(20, 2)
>>> model = gpb.GPBoostRegressor(n_estimators=3, min_child_samples=2, verbose=-1).fit(X, X[:, 0])
>>> ens = from_gpboost(model)
>>> ens.library, ens.n_trees
('gpboost.GPBoostRegressor', 3)
>>> bool(np.allclose(ens.predict(X)[:, 0], model.predict(X), rtol=0, atol=1e-10))
True
"""

from __future__ import annotations

from typing import Any

from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.models._trees_lightgbm import from_dump
from xaikit.models.trees import TreeEnsemble

__all__ = ["from_gpboost"]


def from_gpboost(model: Any) -> TreeEnsemble:
    """Parse a fitted GPBoost ``Booster`` or scikit-learn wrapper (its trees: the fixed effect of a GPModel)."""
    name = type(model).__qualname__
    booster = model
    if not hasattr(model, "dump_model"):
        if not hasattr(model, "fit"):
            raise UnsupportedModelError(f"model: expected a gpboost.Booster or a GPBoost scikit-learn estimator, got {name}")
        try:
            booster = model.booster_
        except Exception as exc:  # not fitted
            raise InvalidParameterError(f"model: expected a fitted {name}, got an unfitted one; call fit first") from exc
    scale = ""
    if getattr(booster, "has_gp_model", False):
        scale = ("the trees' fixed effect F(X) on the latent scale (gpboost's predict(..., pred_latent=True)"
                 "['fixed_effect']); the random effects of the GPModel are not part of it")
    classes = getattr(model, "classes_", None) if booster is not model else None
    return from_dump(booster.dump_model(), name=name, library=f"gpboost.{name}", classes=classes, scale=scale)
