"""Small real datasets shipped with xaikit (sources and licences in ``SOURCE.md`` beside this file).

* :func:`load_breast_cancer`: a numeric :class:`Dataset` (numpy only).
* :func:`load_german_credit`, :func:`load_adult`, :func:`load_heart_disease`: mixed numeric and categorical
  :class:`TabularDataset` (needs pandas); :meth:`TabularDataset.codes` gives a float matrix
  of category codes for models that take numbers only.

Pretrained models that run offline live in submodules: :mod:`xaikit.datasets.pretrained` (MiniLM,
EfficientNet-Lite0) and :mod:`xaikit.datasets.sentiment_model` (``load_minilm_sst2``: MiniLM with a
sentiment head trained on SST-2, as a Hugging Face model with its tokenizer).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from xaikit._optional import import_optional
from xaikit.errors import InvalidParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ADULT_CATEGORIES",
    "GERMAN_CREDIT_CODES",
    "HEART_DISEASE_CATEGORIES",
    "Dataset",
    "TabularDataset",
    "load_adult",
    "load_breast_cancer",
    "load_german_credit",
    "load_heart_disease",
]


@dataclass(frozen=True)
class Dataset:
    """A table of features with a target.

    Attributes
    ----------
    data : ndarray (n, d) float64
    target : ndarray (n,) int
    feature_names : list of str
    target_names : list of str
        ``target_names[target[i]]`` is the label of row ``i``.
    description : str
    """

    data: np.ndarray
    target: np.ndarray
    feature_names: list[str]
    target_names: list[str]
    description: str

    def frame(self):  # type: ignore[no-untyped-def]
        """The features as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.data, columns=self.feature_names)


@dataclass(frozen=True, eq=False)
class TabularDataset:
    """A table of numeric and categorical features with a target.

    Attributes
    ----------
    frame : pandas.DataFrame (n, d)
        The features: ``category`` dtype for the categorical ones (missing values are NaN, outside
        the categories), numbers for the others.
    target : ndarray (n,) int64
    target_names : list of str
        ``target_names[target[i]]`` is the label of row ``i``.
    categorical_features : list of str
        The columns of ``frame`` with ``category`` dtype.
    description : str

    Examples
    --------
    >>> ds = load_german_credit()
    >>> X, names = ds.codes()
    >>> X.dtype, X.shape, names[:2]
    (dtype('float64'), (1000, 20), ['checking_status', 'duration'])
    >>> ds.frame["checking_status"].cat.categories[int(X[0, 0])]
    'A11'
    """

    frame: pd.DataFrame
    target: np.ndarray
    target_names: list[str]
    categorical_features: list[str]
    description: str

    @property
    def feature_names(self) -> list[str]:
        """The columns of :attr:`frame`."""
        return [str(c) for c in self.frame.columns]

    @property
    def shape(self) -> tuple[int, int]:
        """``frame.shape``: (rows, features)."""
        n, d = self.frame.shape
        return int(n), int(d)

    def codes(self) -> tuple[np.ndarray, list[str]]:
        """The features as a float64 matrix: categorical columns replaced by their category codes.

        Codes index ``frame[col].cat.categories`` (fixed per dataset, so they agree between the
        subsets of one dataset); missing values are NaN. Returns the matrix and the feature names.

        >>> X, names = load_adult().codes()
        >>> X.shape, int(np.isnan(X[:, names.index("workclass")]).sum())
        ((32561, 14), 1836)
        """
        cols: list[np.ndarray] = []
        for name in self.frame.columns:
            col = self.frame[name]
            if name in self.categorical_features:
                c = col.cat.codes.to_numpy().astype(np.float64)
                c[c < 0] = np.nan
                cols.append(c)
            else:
                cols.append(col.to_numpy(dtype=np.float64, na_value=np.nan))
        X = np.column_stack(cols) if cols else np.empty((len(self.frame), 0))
        return np.ascontiguousarray(X), self.feature_names

    def __repr__(self) -> str:
        n, d = self.shape
        return (
            f"TabularDataset({self.description!r}, n_rows={n}, n_features={d}, "
            f"n_categorical={len(self.categorical_features)})"
        )


def _data_path(name: str) -> Any:
    return resources.files("xaikit.datasets").joinpath(f"data/{name}")


def load_breast_cancer() -> Dataset:
    """Breast Cancer Wisconsin (Diagnostic): 569 rows, 30 features, benign (1) vs malignant (0).

    CC BY 4.0, UCI Machine Learning Repository (doi:10.24432/C5DW2B).

    >>> ds = load_breast_cancer()
    >>> ds.data.shape, ds.target_names, int(ds.target.sum())
    ((569, 30), ['malignant', 'benign'], 357)
    """
    path = _data_path("breast_cancer.csv")
    with path.open("r", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    data = np.array([[float(v) for v in r[:-1]] for r in body])
    names = ["malignant", "benign"]
    target = np.array([names.index(r[-1]) for r in body], dtype=np.int64)
    return Dataset(
        data=data,
        target=target,
        feature_names=header[:-1],
        target_names=names,
        description="Breast Cancer Wisconsin (Diagnostic), UCI, CC BY 4.0",
    )


def _categorize(frame: pd.DataFrame, categories: dict[str, list[str]], source: str) -> pd.DataFrame:
    """Give the columns of ``categories`` a ``category`` dtype with exactly those categories."""
    pd = import_optional("pandas", "pandas")
    for name, cats in categories.items():
        col = frame[name]
        converted = col.astype(pd.CategoricalDtype(cats, ordered=False))
        unknown = converted.isna() & col.notna()
        if unknown.any():
            raise InvalidParameterError(
                f"{source}: column {name!r} holds values outside its documented categories: "
                f"{sorted(set(col[unknown].astype(str)))[:10]}"
            )
        frame[name] = converted
    return frame


# ---------------------------------------------------------------------------- German credit
#: Attribute codes of the Statlog German credit data and their meanings (from the UCI ``german.doc``),
#: per categorical column, in the documented order (which is the order of the category codes).
GERMAN_CREDIT_CODES: dict[str, dict[str, str]] = {
    "checking_status": {
        "A11": "checking account < 0 DM",
        "A12": "checking account 0 to 200 DM",
        "A13": "checking account >= 200 DM or salary assigned for 1 year",
        "A14": "no checking account",
    },
    "credit_history": {
        "A30": "no credits taken / all paid back duly",
        "A31": "all credits at this bank paid back duly",
        "A32": "existing credits paid back duly till now",
        "A33": "delay in paying off in the past",
        "A34": "critical account / other credits elsewhere",
    },
    "purpose": {
        "A40": "car (new)",
        "A41": "car (used)",
        "A42": "furniture/equipment",
        "A43": "radio/television",
        "A44": "domestic appliances",
        "A45": "repairs",
        "A46": "education",
        "A47": "vacation",
        "A48": "retraining",
        "A49": "business",
        "A410": "others",
    },
    "savings": {
        "A61": "savings < 100 DM",
        "A62": "savings 100 to 500 DM",
        "A63": "savings 500 to 1000 DM",
        "A64": "savings >= 1000 DM",
        "A65": "unknown / no savings account",
    },
    "employment_since": {
        "A71": "unemployed",
        "A72": "employed < 1 year",
        "A73": "employed 1 to 4 years",
        "A74": "employed 4 to 7 years",
        "A75": "employed >= 7 years",
    },
    "personal_status_sex": {
        "A91": "male: divorced/separated",
        "A92": "female: divorced/separated/married",
        "A93": "male: single",
        "A94": "male: married/widowed",
        "A95": "female: single",
    },
    "other_debtors": {"A101": "none", "A102": "co-applicant", "A103": "guarantor"},
    "property": {
        "A121": "real estate",
        "A122": "building society savings / life insurance",
        "A123": "car or other property",
        "A124": "unknown / no property",
    },
    "other_installment_plans": {"A141": "bank", "A142": "stores", "A143": "none"},
    "housing": {"A151": "rent", "A152": "own", "A153": "for free"},
    "job": {
        "A171": "unemployed / unskilled non-resident",
        "A172": "unskilled resident",
        "A173": "skilled employee / official",
        "A174": "management / self-employed / highly qualified",
    },
    "telephone": {"A191": "none", "A192": "yes, registered"},
    "foreign_worker": {"A201": "yes", "A202": "no"},
}

_GERMAN_COLUMNS = [
    "checking_status", "duration", "credit_history", "purpose", "credit_amount", "savings", "employment_since",
    "installment_rate", "personal_status_sex", "other_debtors", "residence_since", "property", "age",
    "other_installment_plans", "housing", "existing_credits", "job", "num_dependents", "telephone",
    "foreign_worker",
]


def load_german_credit() -> TabularDataset:
    """Statlog German credit: 1000 applicants, 20 features (13 categorical), bad credit risk (1) vs good (0).

    Categorical columns hold the original attribute codes (``A11``, ...; meanings in
    :data:`GERMAN_CREDIT_CODES`) as ``category`` dtype; the 7 numeric columns are int64.
    CC BY 4.0, UCI Machine Learning Repository (doi:10.24432/C5NC77). Needs pandas.

    >>> ds = load_german_credit()
    >>> ds.frame.shape, ds.target_names, int(ds.target.sum()), len(ds.categorical_features)
    ((1000, 20), ['good', 'bad'], 300, 13)
    >>> ds.frame.loc[0, "checking_status"], GERMAN_CREDIT_CODES["checking_status"]["A11"]
    ('A11', 'checking account < 0 DM')
    >>> int((ds.frame["personal_status_sex"] == "A92").sum())
    310
    """
    pd = import_optional("pandas", "pandas")
    with _data_path("german.data").open("rb") as fh:
        raw = pd.read_csv(fh, sep=" ", header=None, names=[*_GERMAN_COLUMNS, "class"])
    if raw.shape != (1000, 21):
        raise InvalidParameterError(f"german.data: expected 1000 rows x 21 columns, got {raw.shape}")
    target = (raw.pop("class").to_numpy() == 2).astype(np.int64)
    cats = {name: list(codes) for name, codes in GERMAN_CREDIT_CODES.items()}
    frame = _categorize(raw, cats, "german.data")
    for name in _GERMAN_COLUMNS:
        if name not in cats:
            frame[name] = frame[name].astype(np.int64)
    return TabularDataset(
        frame=frame,
        target=target,
        target_names=["good", "bad"],
        categorical_features=[c for c in _GERMAN_COLUMNS if c in cats],
        description="Statlog (German Credit Data), UCI, CC BY 4.0",
    )


# ---------------------------------------------------------------------------- Adult
#: The categories of each categorical column of the Adult data (from ``adult.names``), sorted.
ADULT_CATEGORIES: dict[str, list[str]] = {
    "workclass": [
        "Federal-gov", "Local-gov", "Never-worked", "Private", "Self-emp-inc", "Self-emp-not-inc", "State-gov",
        "Without-pay",
    ],
    "education": [
        "10th", "11th", "12th", "1st-4th", "5th-6th", "7th-8th", "9th", "Assoc-acdm", "Assoc-voc", "Bachelors",
        "Doctorate", "HS-grad", "Masters", "Preschool", "Prof-school", "Some-college",
    ],
    "marital_status": [
        "Divorced", "Married-AF-spouse", "Married-civ-spouse", "Married-spouse-absent", "Never-married",
        "Separated", "Widowed",
    ],
    "occupation": [
        "Adm-clerical", "Armed-Forces", "Craft-repair", "Exec-managerial", "Farming-fishing", "Handlers-cleaners",
        "Machine-op-inspct", "Other-service", "Priv-house-serv", "Prof-specialty", "Protective-serv", "Sales",
        "Tech-support", "Transport-moving",
    ],
    "relationship": ["Husband", "Not-in-family", "Other-relative", "Own-child", "Unmarried", "Wife"],
    "race": ["Amer-Indian-Eskimo", "Asian-Pac-Islander", "Black", "Other", "White"],
    "sex": ["Female", "Male"],
    "native_country": [
        "Cambodia", "Canada", "China", "Columbia", "Cuba", "Dominican-Republic", "Ecuador", "El-Salvador",
        "England", "France", "Germany", "Greece", "Guatemala", "Haiti", "Holand-Netherlands", "Honduras", "Hong",
        "Hungary", "India", "Iran", "Ireland", "Italy", "Jamaica", "Japan", "Laos", "Mexico", "Nicaragua",
        "Outlying-US(Guam-USVI-etc)", "Peru", "Philippines", "Poland", "Portugal", "Puerto-Rico", "Scotland",
        "South", "Taiwan", "Thailand", "Trinadad&Tobago", "United-States", "Vietnam", "Yugoslavia",
    ],
}

_ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation", "relationship",
    "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "native_country",
]
_ADULT_ROWS = {"train": 32561, "test": 16281}


def load_adult(subset: str = "train") -> TabularDataset:
    """UCI Adult (census income): income above 50K (1) or not (0) from 14 features (8 categorical).

    ``subset="train"`` is ``adult.data`` (32561 rows), ``"test"`` is ``adult.test`` (16281 rows).
    ``?`` in the files is a missing value: NaN in the categorical columns (``workclass``,
    ``occupation``, ``native_country``), whose categories (:data:`ADULT_CATEGORIES`) are the
    same for both subsets. Column names use underscores (``education_num``).
    CC BY 4.0, UCI Machine Learning Repository (doi:10.24432/C5XW20). Needs pandas.

    >>> train = load_adult()
    >>> train.frame.shape, train.target_names, int(train.target.sum())
    ((32561, 14), ['<=50K', '>50K'], 7841)
    >>> int(train.frame.isna().any(axis=1).sum()), int((train.frame["sex"] == "Female").sum())
    (2399, 10771)
    >>> test = load_adult("test")
    >>> test.frame.shape, int(test.target.sum()), int(test.frame.isna().any(axis=1).sum())
    ((16281, 14), 3846, 1221)
    """
    pd = import_optional("pandas", "pandas")
    if subset not in _ADULT_ROWS:
        raise InvalidParameterError(f"subset: expected 'train' or 'test', got {subset!r}")
    filename = "adult.data.gz" if subset == "train" else "adult.test.gz"
    with _data_path(filename).open("rb") as fh:
        raw = pd.read_csv(
            fh,
            compression="gzip",
            header=None,
            names=[*_ADULT_COLUMNS, "income"],
            skipinitialspace=True,
            na_values="?",
            keep_default_na=False,
            skiprows=1 if subset == "test" else 0,
        )
    if raw.shape != (_ADULT_ROWS[subset], 15):
        raise InvalidParameterError(f"{filename}: expected {_ADULT_ROWS[subset]} rows x 15 columns, got {raw.shape}")
    income = raw.pop("income").astype(str).str.rstrip(".")
    labels = ["<=50K", ">50K"]
    if not income.isin(labels).all():
        raise InvalidParameterError(f"{filename}: unexpected income labels {sorted(set(income) - set(labels))}")
    target = (income == ">50K").to_numpy().astype(np.int64)
    frame = _categorize(raw, ADULT_CATEGORIES, filename)
    for name in _ADULT_COLUMNS:
        if name not in ADULT_CATEGORIES:
            frame[name] = frame[name].astype(np.int64)
    return TabularDataset(
        frame=frame,
        target=target,
        target_names=labels,
        categorical_features=[c for c in _ADULT_COLUMNS if c in ADULT_CATEGORIES],
        description=f"Adult (Census Income), {subset} subset, UCI, CC BY 4.0",
    )


# ---------------------------------------------------------------------------- Heart disease (Cleveland)
_HEART_COLUMNS = ["age", "sex", "cp", "trestbps", "chol", "fbs", "restecg", "thalach", "exang", "oldpeak", "slope", "ca", "thal"]

#: The documented codes of the categorical columns of the Cleveland heart disease data (from
#: ``heart-disease.names``) and the category each becomes, in the documented order.
HEART_DISEASE_CATEGORIES: dict[str, dict[float, str]] = {
    "cp": {1.0: "typical angina", 2.0: "atypical angina", 3.0: "non-anginal pain", 4.0: "asymptomatic"},
    "restecg": {0.0: "normal", 1.0: "ST-T wave abnormality", 2.0: "left ventricular hypertrophy"},
    "slope": {1.0: "upsloping", 2.0: "flat", 3.0: "downsloping"},
    "thal": {3.0: "normal", 6.0: "fixed defect", 7.0: "reversible defect"},
}


def load_heart_disease() -> TabularDataset:
    """UCI heart disease, Cleveland: 303 patients, 13 features (4 categorical), disease (1) vs none (0).

    The target is ``num > 0`` (any major vessel narrowed by more than 50%: 139 of 303). The
    categorical columns ``cp``, ``restecg``, ``slope`` and ``thal`` hold their documented meanings
    (:data:`HEART_DISEASE_CATEGORIES`) as ``category`` dtype; the others are float64 (``sex``: 1
    male, 0 female; ``fbs``, ``exang``: 1 yes). Six rows miss ``ca`` or ``thal`` (NaN).
    CC BY 4.0, UCI Machine Learning Repository (doi:10.24432/C52P4X). Needs pandas.

    >>> ds = load_heart_disease()
    >>> ds.shape, ds.target_names, int(ds.target.sum()), ds.categorical_features
    ((303, 13), ['no disease', 'disease'], 139, ['cp', 'restecg', 'slope', 'thal'])
    >>> ds.frame.loc[0, "cp"], int(ds.frame.isna().any(axis=1).sum())
    ('typical angina', 6)
    """
    pd = import_optional("pandas", "pandas")
    with _data_path("heart_disease_cleveland.data").open("rb") as fh:
        raw = pd.read_csv(fh, header=None, names=[*_HEART_COLUMNS, "num"], na_values="?")
    if raw.shape != (303, 14):
        raise InvalidParameterError(f"heart_disease_cleveland.data: expected 303 rows x 14 columns, got {raw.shape}")
    target = (raw.pop("num").to_numpy() > 0).astype(np.int64)
    frame = raw.astype(np.float64)
    for name, codes in HEART_DISEASE_CATEGORIES.items():
        unknown = sorted(set(frame[name].dropna()) - set(codes))
        if unknown:
            raise InvalidParameterError(f"heart_disease_cleveland.data: column {name!r} holds undocumented codes {unknown}")
        frame[name] = pd.Categorical(frame[name].map(codes), categories=list(codes.values()))
    return TabularDataset(
        frame=frame,
        target=target,
        target_names=["no disease", "disease"],
        categorical_features=list(HEART_DISEASE_CATEGORIES),
        description="Heart Disease (Cleveland), UCI, CC BY 4.0",
    )
