"""ProPublica's COMPAS recidivism data (Broward County, 2013-2014), read from the external data folder.

The data have no stated licence, so xaikit does not ship them: :func:`load_compas` reads
``compas/compas-scores-two-years.csv`` from :func:`xaikit.datasets.external.data_dir`
(``$XAIKIT_DATA``, default ``../shared/data``) and raises :class:`~xaikit.errors.DataNotFoundError`
when the file is absent. Citation: Angwin, Larson, Mattu and Kirchner (2016), "Machine Bias", ProPublica.
"""

from __future__ import annotations

import numpy as np

from xaikit._optional import import_optional
from xaikit._validation import describe
from xaikit.datasets import TabularDataset, _categorize
from xaikit.datasets.external import _file
from xaikit.errors import InvalidParameterError

__all__ = ["COMPAS_CATEGORIES", "load_compas"]

#: The categories of the categorical columns of :func:`load_compas` (age groups and scores in order).
COMPAS_CATEGORIES: dict[str, list[str]] = {
    "sex": ["Female", "Male"],
    "age_cat": ["Less than 25", "25 - 45", "Greater than 45"],
    "race": ["African-American", "Asian", "Caucasian", "Hispanic", "Native American", "Other"],
    "c_charge_degree": ["F", "M"],
    "score_text": ["Low", "Medium", "High"],
}

_FEATURES = [
    "sex", "age", "age_cat", "race", "juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count",
    "c_charge_degree",
]
_SCORES = ["decile_score", "score_text"]
_RAW_SHAPE = (7214, 53)


def load_compas(*, include_scores: bool = False) -> TabularDataset:
    """COMPAS two-year recidivism: 6,172 defendants after ProPublica's filter, 9 features, recidivism (1) or not (0).

    ProPublica's standard filter keeps the rows whose COMPAS screening was within 30 days of the
    arrest (``days_b_screening_arrest`` in [-30, 30]), with a known recidivism flag (``is_recid != -1``),
    an ordinary charge (``c_charge_degree != "O"``) and a score (``score_text != "N/A"``).

    The features are ``sex``, ``age``, ``age_cat``, ``race`` (the sensitive attributes: leave ``race``
    out of a model's inputs and use it as the groups), the juvenile felony, misdemeanour and other
    counts, ``priors_count`` and ``c_charge_degree`` (``F`` felony, ``M`` misdemeanour); categories in
    :data:`COMPAS_CATEGORIES`. The target is ``two_year_recid``. ``include_scores=True`` adds COMPAS's
    own ``decile_score`` (1-10) and ``score_text`` (Low, Medium, High): the tool's outputs, to compare
    with, not features to predict from. Needs pandas; the file is not shipped with xaikit (see the
    module's notes).

    >>> ds = load_compas()  # doctest: +SKIP
    >>> ds.shape, int(ds.target.sum()), int((ds.frame["race"] == "African-American").sum())  # doctest: +SKIP
    ((6172, 9), 2809, 3175)
    """
    if not isinstance(include_scores, (bool, np.bool_)):
        raise InvalidParameterError(f"include_scores: expected True or False, got {describe(include_scores)}")
    pd = import_optional("pandas", "pandas")
    path = _file("compas", "compas-scores-two-years.csv")
    raw = pd.read_csv(path)
    needed = [*_FEATURES, *_SCORES, "two_year_recid", "days_b_screening_arrest", "is_recid"]
    missing = [c for c in needed if c not in raw.columns]
    if raw.shape != _RAW_SHAPE or missing:
        raise InvalidParameterError(
            f"{path}: expected ProPublica's compas-scores-two-years.csv ({_RAW_SHAPE[0]} rows x {_RAW_SHAPE[1]} columns "
            f"with {needed}), got {raw.shape[0]} rows x {raw.shape[1]} columns" + (f", missing {missing}" if missing else "")
        )
    keep = (
        raw["days_b_screening_arrest"].between(-30, 30)
        & (raw["is_recid"] != -1)
        & (raw["c_charge_degree"] != "O")
        & (raw["score_text"] != "N/A")
    )
    columns = [*_FEATURES, *(_SCORES if include_scores else [])]
    frame = raw.loc[keep, columns].reset_index(drop=True)
    cats = {name: values for name, values in COMPAS_CATEGORIES.items() if name in columns}
    frame = _categorize(frame, cats, str(path))
    for name in columns:
        if name not in cats:
            frame[name] = frame[name].astype(np.int64)
    target = raw.loc[keep, "two_year_recid"].to_numpy().astype(np.int64)
    return TabularDataset(
        frame=frame,
        target=target,
        target_names=["no recidivism", "recidivism"],
        categorical_features=[c for c in columns if c in cats],
        description="COMPAS two-year recidivism (ProPublica, Broward County 2013-2014), ProPublica's filter; no stated licence",
    )
