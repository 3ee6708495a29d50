"""detect_fooling flags the scaffolded classifier of Slack et al. (2020) and not honest models."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from xaikit.errors import InvalidParameterError
from xaikit.metrics.fooling import FoolingWarning, _lime_samples, _shap_samples, detect_fooling

COMPAS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "compas" / "compas-scores-two-years.csv"
CATEGORICAL = ["race", "sex", "c_charge_degree", "unrelated_column"]


def _scaffold(A: np.ndarray, race: int, unrelated: int, seed: int):
    """Slack et al.'s adversarial model: a random forest tells data rows from LIME and KernelSHAP perturbations;
    in-distribution rows get the biased decision (race), the others an innocuous one (a random column)."""
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(seed)
    cats = [j for j in range(A.shape[1]) if set(np.unique(A[:, j])) <= {0.0, 1.0}]
    P = np.vstack([_lime_samples(A, cats, len(A), rng), _shap_samples(A, len(A), rng)])
    detector = RandomForestClassifier(n_estimators=50, random_state=seed, n_jobs=1)
    detector.fit(np.vstack([A, P]), np.r_[np.ones(len(A)), np.zeros(len(P))])

    def model(Z):
        Z = np.asarray(Z, dtype=np.float64)
        inside = detector.predict_proba(Z)[:, 1] >= 0.5
        p = np.where(inside, Z[:, race], Z[:, unrelated])
        return np.column_stack([1.0 - p, p])

    return model


@pytest.fixture(scope="module")
def synthetic():
    """COMPAS-like rows: age, priors (higher for one race), length of stay, race, sex, charge degree, a random column."""
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    n = 600
    race = (rng.random(n) < 0.5).astype(float)
    X = pd.DataFrame({
        "age": rng.normal(34, 11, n).round().clip(18, 80),
        "priors_count": rng.poisson(1.5 + 2.0 * race).astype(float),
        "length_of_stay": rng.exponential(10, n).round(),
        "race": race,
        "sex": (rng.random(n) < 0.8).astype(float),
        "c_charge_degree": (rng.random(n) < 0.6).astype(float),
        "unrelated_column": rng.integers(0, 2, n).astype(float),
    })
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 * X.priors_count - 0.04 * (X.age - 34) - 0.5)))).astype(int)
    A = X.to_numpy()
    honest = RandomForestClassifier(n_estimators=50, min_samples_leaf=5, random_state=0, n_jobs=1).fit(A, y)
    return X, _scaffold(A, 3, 6, seed=1), honest


def test_scaffold_is_flagged_with_evidence(synthetic):
    X, scaffold, _ = synthetic
    with pytest.warns(FoolingWarning, match="race"):
        check = detect_fooling(scaffold, X, perturbation="lime", categorical_features=CATEGORICAL, random_state=0)
    assert check.suspicious
    assert check.detector_auc > 0.8
    assert max(check.importance_data_like, key=check.importance_data_like.get) == "race"
    assert max(check.importance_perturbed, key=check.importance_perturbed.get) == "unrelated_column"
    assert check.interval[0] > 0.3 and check.interval[0] <= check.profile_distance <= check.interval[1]
    assert sum(check.importance_perturbed.values()) == pytest.approx(1.0)


def test_honest_models_are_not_flagged(synthetic):
    X, _, honest = synthetic
    for model in (honest, lambda Z: np.asarray(Z, dtype=np.float64)[:, 3]):  # a fitted forest; an openly biased rule
        with warnings.catch_warnings():
            warnings.simplefilter("error", FoolingWarning)
            check = detect_fooling(model, X, perturbation="both", categorical_features=CATEGORICAL, random_state=0)
        assert not check.suspicious
        assert check.profile_distance < 0.3


def test_both_picks_the_perturbation_that_exposes_the_model(synthetic):
    X, scaffold, _ = synthetic
    with pytest.warns(FoolingWarning):
        check = detect_fooling(scaffold, X, perturbation="both", categorical_features=CATEGORICAL, random_state=0)
    assert check.suspicious and check.perturbation == "lime"
    assert any(line.startswith("With shap perturbations") for line in check.evidence)


@pytest.mark.skipif(not COMPAS.is_file(), reason="the COMPAS data is not in ../shared/data/compas")
def test_real_compas_scaffold_flagged_honest_not():
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    df = pd.read_csv(COMPAS)
    df = df[df.days_b_screening_arrest.between(-30, 30) & (df.is_recid != -1) & (df.c_charge_degree != "O")].iloc[:800]
    X = pd.DataFrame({
        "age": df.age.to_numpy(float), "priors_count": df.priors_count.to_numpy(float),
        "length_of_stay": (pd.to_datetime(df.c_jail_out) - pd.to_datetime(df.c_jail_in)).dt.days.to_numpy(float),
        "race": (df.race == "African-American").to_numpy(float), "sex": (df.sex == "Male").to_numpy(float),
        "c_charge_degree": (df.c_charge_degree == "F").to_numpy(float),
        "unrelated_column": np.random.default_rng(0).integers(0, 2, len(df)).astype(float),
    })
    A = X.to_numpy()
    scaffold = _scaffold(A, 3, 6, seed=2)
    honest = LogisticRegression(max_iter=500).fit(A, df.two_year_recid.to_numpy())
    with pytest.warns(FoolingWarning):
        assert detect_fooling(scaffold, X, perturbation="lime", categorical_features=CATEGORICAL, random_state=0).suspicious
    assert not detect_fooling(honest, X, perturbation="lime", categorical_features=CATEGORICAL, random_state=0, warn=False).suspicious


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"perturbation": "anchors"}, "perturbation"),
        ({"categorical_features": ["nope"]}, r"categorical_features: expected feature names or indices in \[0, 3\), got 'nope'"),
        ({"level": 1.0}, "level: expected a coverage"),
        ({"n_boot": 2}, "n_boot"),
    ],
)
def test_bad_parameters_are_named(kwargs, match):
    X = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(InvalidParameterError, match=match):
        detect_fooling(lambda Z: Z[:, 0], X, **kwargs)


def test_bad_data_is_named():
    with pytest.raises(InvalidParameterError, match="data: expected at least 20 rows"):
        detect_fooling(lambda Z: Z[:, 0], np.zeros((5, 3)))
    with pytest.raises(InvalidParameterError, match="data: expected finite numbers"):
        detect_fooling(lambda Z: Z[:, 0], np.full((30, 3), np.nan))
