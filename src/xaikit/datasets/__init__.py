"""Small real datasets shipped with xaikit (sources and licences in ``SOURCE.md`` beside this file)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

import numpy as np

__all__ = ["Dataset", "load_breast_cancer"]


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


def load_breast_cancer() -> Dataset:
    """Breast Cancer Wisconsin (Diagnostic): 569 rows, 30 features, benign (1) vs malignant (0).

    CC BY 4.0, UCI Machine Learning Repository (doi:10.24432/C5DW2B).

    >>> ds = load_breast_cancer()
    >>> ds.data.shape, ds.target_names, int(ds.target.sum())
    ((569, 30), ['malignant', 'benign'], 357)
    """
    path = resources.files("xaikit.datasets").joinpath("data/breast_cancer.csv")
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
