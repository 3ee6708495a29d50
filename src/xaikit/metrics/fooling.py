"""Detection of models built to fool perturbation explainers (Slack et al. 2020, "Fooling LIME and SHAP").

A *scaffolded* model behaves one way on rows that look like data (e.g. it uses ``race``) and another
way on the perturbed samples LIME and KernelSHAP feed it (where it uses an innocuous feature), so
that the explanations show the innocuous behaviour. :func:`detect_fooling` looks for exactly that:

1. draw perturbed samples of the data as the explainers make them: LIME's neighbourhood (each
   feature drawn from the training mean and standard deviation, categories from their frequencies:
   :class:`xaikit.maskers.neighbourhood.TabularNeighbourhood`) and KernelSHAP's coalitions (a row's
   features kept on a random coalition, the others taken from a background row, as
   :class:`xaikit.maskers.TabularMasker` does);
2. train a detector (a random forest) telling data rows from perturbed samples; its out-of-fold
   scores split the pooled points into *data-like* and *perturbed*;
3. compare which features drive the model's output in each set: a linear fit of the output on the
   features (on one common scale: the pooled standard deviations) gives each feature's share of the
   influence, and the *profile distance* is the total-variation distance between the two sets'
   shares (0: the same features drive the model everywhere; 1: completely different ones). A
   bootstrap over the points gives its interval.

The model is *suspicious* when the detector tells the sets apart (AUC at least ``min_auc``) and the
lower bound of the profile distance's interval exceeds ``threshold``; a :class:`FoolingWarning` is
then issued with the evidence. An honest model, linear or not, uses the same features on both sets,
so its profile distance stays small.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from xaikit._validation import check_choice, check_float, check_int, check_level, check_random_state, describe
from xaikit.errors import InvalidParameterError, XaikitWarning

__all__ = ["FoolingCheck", "FoolingWarning", "detect_fooling"]


class FoolingWarning(XaikitWarning):
    """The model behaves differently on perturbed samples than on data-like rows (see :func:`detect_fooling`)."""


@dataclass(frozen=True)
class FoolingCheck:
    """The evidence of :func:`detect_fooling`.

    Attributes
    ----------
    suspicious : bool
    perturbation : str
        ``"lime"``, ``"shap"`` or ``"both"``.
    detector_auc : float
        Out-of-fold ROC AUC of the detector telling data rows from perturbed samples (0.5: it cannot).
    profile_distance : float
        Total-variation distance between the features' shares of influence on the data-like and on the
        perturbed points (0 to 1).
    interval : tuple of float
        Bootstrap interval of ``profile_distance`` (``level`` coverage).
    importance_data_like, importance_perturbed : dict of str to float
        Each feature's share of influence on the model's output in each set (sums to 1).
    mean_output_data_like, mean_output_perturbed : float
        The model's mean output (first output) in each set.
    n_data_like, n_perturbed : int
        Points in each set.
    evidence : tuple of str
        Sentences that say what was found.
    """

    suspicious: bool
    perturbation: str
    detector_auc: float
    profile_distance: float
    interval: tuple[float, float]
    importance_data_like: dict[str, float] = field(default_factory=dict)
    importance_perturbed: dict[str, float] = field(default_factory=dict)
    mean_output_data_like: float = math.nan
    mean_output_perturbed: float = math.nan
    n_data_like: int = 0
    n_perturbed: int = 0
    evidence: tuple[str, ...] = ()

    def __str__(self) -> str:
        return ("SUSPICIOUS: " if self.suspicious else "not suspicious: ") + " ".join(self.evidence)


def _lime_samples(data: np.ndarray, categorical: list[int], n: int, rng: np.random.Generator) -> np.ndarray:
    from xaikit.maskers import TabularMasker

    masker = TabularMasker(data, categorical_features=categorical or None)
    _, Z = masker.neighbourhood.sample(data[0], n + 1, rng)
    return np.asarray(Z[1:], dtype=np.float64)


def _shap_samples(data: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    m, d = data.shape
    rows = data[rng.integers(0, m, n)]
    background = data[rng.integers(0, m, n)]
    sizes = rng.integers(1, max(d, 2), n)  # coalitions of 1 to d-1 features, as KernelSHAP samples them
    keys = rng.random((n, d))
    kept = np.argsort(keys, axis=1) < sizes[:, None]
    return np.where(kept, rows, background)


def _shares(Z: np.ndarray, Y: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Each feature's share of influence on ``Y`` (n, o): |linear coefficient| x pooled scale, averaged over outputs."""
    A = np.column_stack([(Z - Z.mean(axis=0)) / scale, np.ones(len(Z))])
    coef, *_ = np.linalg.lstsq(A, Y - Y.mean(axis=0), rcond=None)
    infl = np.abs(coef[:-1]).mean(axis=1)
    total = infl.sum()
    return infl / total if total > 0 else np.full(len(infl), 1.0 / len(infl))


def detect_fooling(
    model: Any,
    data: Any,
    *,
    perturbation: str = "both",
    n_samples: int | None = None,
    categorical_features: Sequence[int | str] | None = None,
    threshold: float = 0.3,
    min_auc: float = 0.6,
    n_boot: int = 100,
    level: float = 0.9,
    warn: bool = True,
    random_state: Any = None,
) -> FoolingCheck:
    """Whether ``model`` behaves differently on the samples LIME / KernelSHAP draw than on data-like rows.

    Parameters
    ----------
    model : any model :func:`xaikit.models.adapt` takes
    data : array-like (n, d) or DataFrame of numbers
        Rows of the data the model is used on (e.g. the training or test set).
    perturbation : {"lime", "shap", "both"}
        Which explainers' perturbations to draw.
    n_samples : int, optional
        Perturbed samples drawn (default: as many as data rows, at most 2,000); as many data rows are used.
    categorical_features : list of names or indices, optional
        Features LIME draws as categories.
    threshold : float
        The profile distance (0 to 1) above which the model counts as behaving differently.
    min_auc : float
        The detector's AUC needed: below it, perturbed samples look like data and cannot be exploited.
    n_boot : int
        Bootstrap resamples of the profile distance.
    level : float
        Coverage of its interval.
    warn : bool
        Issue a :class:`FoolingWarning` when suspicious.
    random_state : int, Generator or SeedSequence, optional

    Returns
    -------
    FoolingCheck

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(300, 3))
    >>> check = detect_fooling(lambda Z: Z @ [1.0, 2.0, 0.0], X, perturbation="lime", random_state=0)
    >>> check.suspicious, round(check.profile_distance, 2)
    (False, 0.0)
    """
    check_choice(perturbation, "perturbation", ["lime", "shap", "both"])
    threshold = check_float(threshold, "threshold")
    min_auc = check_float(min_auc, "min_auc")
    level = check_level(level)
    n_boot = check_int(n_boot, "n_boot", minimum=10)
    columns = getattr(data, "columns", None)
    names = [str(c) for c in columns] if columns is not None else None
    try:
        arr = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"data: expected rows of numbers (an array or a DataFrame of numeric columns), got {describe(data)}") from None
    if arr.ndim != 2 or arr.shape[0] < 20 or arr.shape[1] < 2:
        raise InvalidParameterError(f"data: expected at least 20 rows of at least 2 features, got {describe(data)}")
    if not np.isfinite(arr).all():
        raise InvalidParameterError("data: expected finite numbers, got NaN or infinite values")
    m, d = arr.shape
    names = names or [f"x{j}" for j in range(d)]
    n = check_int(n_samples, "n_samples", minimum=20) if n_samples is not None else min(m, 2000)
    categorical: list[int] = []
    for f in categorical_features or []:
        if isinstance(f, str) and f in names:
            categorical.append(names.index(f))
        elif isinstance(f, (int, np.integer)) and not isinstance(f, bool) and 0 <= int(f) < d:
            categorical.append(int(f))
        else:
            raise InvalidParameterError(f"categorical_features: expected feature names or indices in [0, {d}), got {f!r}")
    seed = check_random_state(random_state)
    kinds = ["lime", "shap"] if perturbation == "both" else [perturbation]
    checks = [_check(model, arr, names, kind, n, categorical, threshold, min_auc, n_boot, level, np.random.default_rng(s))
              for kind, s in zip(kinds, seed.spawn(len(kinds)))]
    result = max(checks, key=lambda c: (c.suspicious, c.interval[0] if math.isfinite(c.interval[0]) else -1.0))
    if len(checks) > 1:
        other = [c for c in checks if c is not result][0]
        result = replace(result, evidence=(*result.evidence, f"With {other.perturbation} perturbations: " + " ".join(other.evidence)))
    if result.suspicious and warn:
        warnings.warn(FoolingWarning(" ".join(result.evidence)), stacklevel=2)
    return result


def _check(model: Any, arr: np.ndarray, names: list[str], perturbation: str, n: int, categorical: list[int], threshold: float,
           min_auc: float, n_boot: int, level: float, rng: np.random.Generator) -> FoolingCheck:
    """The check with one kind of perturbation."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from xaikit.models import adapt

    m, d = arr.shape
    if perturbation == "lime":
        perturbed = _lime_samples(arr, categorical, n, rng)
    else:
        perturbed = _shap_samples(arr, n, rng)
    real = arr[rng.choice(m, size=min(m, n), replace=False)]
    pooled = np.vstack([real, perturbed])
    label = np.r_[np.ones(len(real)), np.zeros(len(perturbed))]

    detector = RandomForestClassifier(n_estimators=100, min_samples_leaf=2, n_jobs=1, random_state=int(rng.integers(2**31 - 1)))
    folds = StratifiedKFold(n_splits=2, shuffle=True, random_state=int(rng.integers(2**31 - 1)))
    score = cross_val_predict(detector, pooled, label, cv=folds, method="predict_proba")[:, 1]
    auc = float(roc_auc_score(label, score))
    data_like = score >= 0.5

    Y = adapt(model).predict(pooled)  # one batched call for every point
    scale = pooled.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    n_like, n_pert = int(data_like.sum()), int((~data_like).sum())
    smallest = 2 * d + 5
    if min(n_like, n_pert) < smallest:
        evidence = (
            f"The detector (AUC {auc:.2f}) puts {n_like} points in the data-like set and {n_pert} in the perturbed one; "
            f"at least {smallest} in each are needed to compare the model's behaviour, so the perturbations cannot be exploited here.",
        )
        return FoolingCheck(False, perturbation, auc, math.nan, (math.nan, math.nan), n_data_like=n_like, n_perturbed=n_pert, evidence=evidence)
    Zl, Yl, Zp, Yp = pooled[data_like], Y[data_like], pooled[~data_like], Y[~data_like]
    share_l, share_p = _shares(Zl, Yl, scale), _shares(Zp, Yp, scale)
    distance = 0.5 * float(np.abs(share_l - share_p).sum())
    boot = np.empty(n_boot)
    for b in range(n_boot):
        il, ip = rng.integers(0, len(Zl), len(Zl)), rng.integers(0, len(Zp), len(Zp))
        boot[b] = 0.5 * float(np.abs(_shares(Zl[il], Yl[il], scale) - _shares(Zp[ip], Yp[ip], scale)).sum())
    lower, upper = (float(v) for v in np.quantile(boot, [(1 - level) / 2, (1 + level) / 2]))
    suspicious = bool(auc >= min_auc and lower > threshold)
    top_l, top_p = names[int(share_l.argmax())], names[int(share_p.argmax())]
    evidence_list = [
        f"A detector tells data rows from {perturbation} perturbations with AUC {auc:.2f}.",
        f"On the {n_like} data-like points the model's output is driven most by {top_l!r} ({share_l.max():.0%} of the influence); "
        f"on the {n_pert} perturbed points by {top_p!r} ({share_p.max():.0%}).",
        f"Profile distance {distance:.2f} ({level:.0%} interval {lower:.2f} to {upper:.2f}; threshold {threshold:.2f}).",
    ]
    if suspicious:
        evidence_list.append(
            f"The model behaves differently where {perturbation} explanations look: their explanations may hide what drives it on real rows."
        )
    result = FoolingCheck(
        suspicious=suspicious,
        perturbation=perturbation,
        detector_auc=auc,
        profile_distance=distance,
        interval=(lower, upper),
        importance_data_like=dict(zip(names, (float(v) for v in share_l))),
        importance_perturbed=dict(zip(names, (float(v) for v in share_p))),
        mean_output_data_like=float(Yl[:, 0].mean()),
        mean_output_perturbed=float(Yp[:, 0].mean()),
        n_data_like=n_like,
        n_perturbed=n_pert,
        evidence=tuple(evidence_list),
    )
    return result
