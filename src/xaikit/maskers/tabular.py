"""Hiding tabular features by replacing them with background values.

Internally every table is a float64 matrix: numeric columns as they are, categorical and
string columns as integer codes (:class:`TabularCodec`). Explainers work on those matrices;
the masker decodes them back to a DataFrame with the original dtypes before the model sees
them, so a scikit-learn ``Pipeline`` with a ``ColumnTransformer`` receives what it was fitted on.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from xaikit._validation import check_array, check_feature_names, describe
from xaikit.errors import InvalidParameterError
from xaikit.maskers._synthesis import (
    chain_rows_per_reference,
    hybrid_rows,
    hybrid_rows_per_reference,
    paired_rows_per_reference,
)
from xaikit.maskers.neighbourhood import TabularNeighbourhood

__all__ = ["TabularMasker", "TabularCodec", "is_frame"]


def is_frame(X: Any) -> bool:
    """Whether ``X`` is a pandas DataFrame (checked without importing pandas)."""
    return type(X).__name__ == "DataFrame" and type(X).__module__.startswith("pandas")


@dataclass(frozen=True)
class _Column:
    name: str
    kind: str  # "numeric", "bool", "category" or "object"
    dtype: Any
    categories: tuple[Any, ...] = ()
    ordered: bool = False


class TabularCodec:
    """Two-way map between a DataFrame and a float64 matrix.

    Numeric columns pass through; boolean columns become 0/1; categorical (pandas
    ``category``) and string (``object``) columns become codes into their categories,
    NaN for missing.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"age": [30, 40], "job": ["a", "b"]})
    >>> codec = TabularCodec.from_frame(df)
    >>> codec.encode(df)
    array([[30.,  0.],
           [40.,  1.]])
    >>> codec.decode(codec.encode(df)).equals(df)
    True
    """

    def __init__(self, columns: Sequence[_Column]) -> None:
        self.columns = tuple(columns)
        self.names = [c.name for c in self.columns]
        self.is_numeric = all(c.kind == "numeric" for c in self.columns)

    @classmethod
    def from_frame(cls, df: Any) -> TabularCodec:
        """Learn the columns, dtypes and categories of ``df``."""
        import pandas as pd

        cols = []
        for name in df.columns:
            s = df[name]
            dt = s.dtype
            if isinstance(dt, pd.CategoricalDtype):
                cols.append(_Column(str(name), "category", dt, tuple(dt.categories), bool(dt.ordered)))
            elif pd.api.types.is_bool_dtype(dt):
                cols.append(_Column(str(name), "bool", dt))
            elif pd.api.types.is_numeric_dtype(dt):
                cols.append(_Column(str(name), "numeric", dt))
            else:
                values = [v for v in pd.unique(s) if not _is_missing(v)]
                try:
                    values = sorted(values)
                except TypeError:
                    values = sorted(values, key=repr)
                cols.append(_Column(str(name), "object", dt, tuple(values)))
        return cls(cols)

    def union(self, other: TabularCodec) -> TabularCodec:
        """A codec whose categories are this one's followed by the new ones in ``other``."""
        cols = []
        for a, b in zip(self.columns, other.columns):
            if a.kind in ("category", "object"):
                extra = tuple(v for v in b.categories if v not in set(a.categories))
                cols.append(_Column(a.name, a.kind, a.dtype, a.categories + extra, a.ordered))
            else:
                cols.append(a)
        return TabularCodec(cols)

    def encode(self, df: Any) -> np.ndarray:
        """DataFrame -> float64 matrix (categories as codes, missing as NaN)."""
        import pandas as pd

        out = np.empty((len(df), len(self.columns)), dtype=np.float64)
        for j, col in enumerate(self.columns):
            s = df.iloc[:, j]
            if col.kind in ("numeric", "bool"):
                try:
                    out[:, j] = pd.to_numeric(s, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
                except (TypeError, ValueError) as exc:
                    raise InvalidParameterError(
                        f"X: column {col.name!r} should be numeric, as in the background, but holds a value "
                        f"that is not a number ({exc})"
                    ) from None
            else:
                codes = pd.Index(list(col.categories)).get_indexer(s).astype(np.float64)
                missing = s.isna().to_numpy()
                unknown = (codes < 0) & ~missing
                if unknown.any():
                    bad = s[unknown].iloc[0]
                    raise InvalidParameterError(
                        f"X: column {col.name!r} has the value {bad!r}, which is not among its known categories"
                    )
                codes[codes < 0] = np.nan
                out[:, j] = codes
        return out

    def decode(self, Z: np.ndarray) -> Any:
        """Float64 matrix -> DataFrame with the original columns and dtypes."""
        import pandas as pd

        data: dict[str, Any] = {}
        for j, col in enumerate(self.columns):
            z = Z[:, j]
            missing = np.isnan(z)
            if col.kind in ("numeric", "bool"):
                data[col.name] = _restore_numeric(z, missing, col.dtype, col.kind)
            else:
                codes = np.where(missing, -1, z).astype(np.int64)
                if col.kind == "category":
                    data[col.name] = pd.Categorical.from_codes(
                        codes, categories=pd.Index(list(col.categories)), ordered=col.ordered
                    )
                else:
                    lookup = np.array(list(col.categories) + [np.nan], dtype=object)
                    data[col.name] = pd.Series(lookup[codes], dtype=col.dtype, index=None, copy=False)
        return pd.DataFrame(data, columns=self.names)

    def to_objects(self, Z: np.ndarray) -> np.ndarray:
        """Float64 matrix -> object array with category labels, for display and saving."""
        if self.is_numeric:
            return Z
        out = np.empty(Z.shape, dtype=object)
        for j, col in enumerate(self.columns):
            if col.kind in ("category", "object"):
                lookup = list(col.categories)
                out[:, j] = [None if np.isnan(v) else lookup[int(v)] for v in Z[:, j]]
            else:
                out[:, j] = Z[:, j].tolist()
        return out


def _restore_numeric(z: np.ndarray, missing: np.ndarray, dtype: Any, kind: str) -> Any:
    """Encoded numbers back to the column's dtype (numpy or pandas nullable), keeping missing values."""
    import pandas as pd

    if isinstance(dtype, np.dtype):
        if missing.any() and dtype.kind in "iub":
            return z  # a numpy integer or bool column cannot hold NaN
        return z.astype(dtype)
    values = z.astype(object)
    if kind == "bool":
        values = np.array([None if m else bool(v) for v, m in zip(z, missing)], dtype=object)
    elif getattr(dtype, "kind", "f") in "iu":
        values = np.array([None if m else int(v) for v, m in zip(z, missing)], dtype=object)
    else:
        values[missing] = None
    return pd.array(values, dtype=dtype)


def _is_missing(v: Any) -> bool:
    try:
        return bool(v != v) or v is None
    except (TypeError, ValueError):
        return False


class TabularMasker:
    """Hide features of a row by replacing them with the rows of a background set.

    The value of a coalition S for a row x is the (weighted) mean model output over
    background rows b of the hybrid row that takes x's values on S and b's elsewhere
    (the interventional, or marginal, value function).

    Parameters
    ----------
    background : array-like (m, d) or DataFrame
        Rows that stand for "feature unknown". 50 to 1000 rows is typical.
    feature_names : list of str, optional
        Defaults to the DataFrame's columns, else ``x0``, ``x1``...
    groups : mapping of str to list of names or indices, optional
        Features that are hidden together and receive one value (e.g. one-hot columns).
        Features outside every group stay single.
    weights : array-like (m,), optional
        Weights of the background rows (e.g. cluster sizes); normalised to sum to 1.
    discretize : {None, "quartile", "decile", "entropy"}
        Used by LIME's sampler (``neighbourhood``, a
        :class:`~xaikit.maskers.neighbourhood.TabularNeighbourhood`): bin the continuous features into
        training quartiles, deciles, or the splits of a small entropy tree (which needs ``training_labels``).
        ``None`` keeps them continuous.
    categorical_features : list of names or indices, optional
        Features LIME treats as categories (sampled with their training frequencies). Non-numeric
        DataFrame columns (categories, strings, booleans) always are.
    training_labels : array-like (m,), optional
        Labels of the background rows, for ``discretize="entropy"``.
    sample_around_instance : bool
        LIME: draw continuous (not binned) features around the explained row's value instead
        of the training mean (the spread is the training standard deviation either way).

    Examples
    --------
    >>> bg = np.zeros((2, 3))
    >>> masker = TabularMasker(bg, groups={"ab": [0, 1]})
    >>> masker.group_names
    ['ab', 'x2']
    >>> masker(np.ones(3), np.array([[True, False]]))
    array([[1., 1., 0.],
           [1., 1., 0.]])
    """

    def __init__(
        self,
        background: Any,
        *,
        feature_names: Sequence[str] | None = None,
        groups: Mapping[str, Sequence[int | str]] | None = None,
        weights: Any = None,
        discretize: str | None = None,
        categorical_features: Sequence[int | str] | None = None,
        training_labels: Any = None,
        sample_around_instance: bool = False,
    ) -> None:
        if background is None:
            raise InvalidParameterError("background: expected an array or DataFrame of rows, got None")
        self.is_frame = is_frame(background)
        if self.is_frame:
            if len(background) == 0:
                raise InvalidParameterError(f"background: expected at least 1 row, got {describe(background)}")
            _check_frame_columns(background, "background")
            codec = TabularCodec.from_frame(background)
            if feature_names is not None and (
                isinstance(feature_names, (str, bytes, Mapping, set, frozenset)) or not isinstance(feature_names, Iterable)
            ):
                check_feature_names(feature_names, len(codec.names))  # refused: not a list of names
            if feature_names is not None and [str(n) for n in feature_names] != codec.names:
                raise InvalidParameterError(
                    f"feature_names: the background DataFrame has columns {codec.names}, got {list(feature_names)}"
                )
            self.codec: TabularCodec | None = codec
            data = codec.encode(background)
            names = codec.names
            _reject_infinite(data, "background")
        else:
            self.codec = None
            data = check_array(background, "background", allow_nan=True)
            names = (
                check_feature_names(feature_names, data.shape[1]) if feature_names is not None
                else [f"x{j}" for j in range(data.shape[1])]
            )
        self.data = data
        self.feature_names = [str(n) for n in names]
        m = data.shape[0]
        if weights is None:
            self.weights = np.full(m, 1.0 / m)
        else:
            w = check_array(weights, "weights", ndim=1)
            if w.shape[0] != m or (w < 0).any() or w.sum() <= 0:
                raise InvalidParameterError(
                    f"weights: expected {m} non-negative numbers with a positive sum, got {describe(w)}"
                )
            self.weights = w / w.sum()
        if groups is not None and not isinstance(groups, Mapping):
            raise InvalidParameterError(
                f"groups: expected a mapping of group names to feature names or indices, e.g. "
                f"{{'size': ['height', 'width']}}, got {describe(groups)}"
            )
        self.groups = dict(groups) if groups else {}
        self.group_names, self.group_matrix = self._build_groups(self.groups)
        #: The group (player) of every feature.
        self.feature_group = np.argmax(self.group_matrix, axis=0).astype(np.int64)
        #: LIME's perturbation sampler around a row, built on this background (:mod:`xaikit.maskers.neighbourhood`).
        self.neighbourhood = TabularNeighbourhood(
            self, discretize=discretize, categorical_features=categorical_features,
            training_labels=training_labels, sample_around_instance=sample_around_instance,
        )

    # ------------------------------------------------------------------ groups
    def _build_groups(self, groups: Mapping[str, Sequence[int | str]]) -> tuple[list[str], np.ndarray]:
        d = len(self.feature_names)
        index = {n: j for j, n in enumerate(self.feature_names)}
        owner = [-1] * d
        named: list[tuple[str, list[int]]] = []
        for gname, members in groups.items():
            if isinstance(members, (str, int)):
                members = [members]
            cols = []
            for mbr in members:
                if isinstance(mbr, str):
                    if mbr not in index:
                        raise InvalidParameterError(
                            f"groups: group {gname!r} names the feature {mbr!r}, which is not one of {self.feature_names[:20]}"
                        )
                    j = index[mbr]
                elif isinstance(mbr, (int, np.integer)) and 0 <= int(mbr) < d:
                    j = int(mbr)
                else:
                    raise InvalidParameterError(
                        f"groups: group {gname!r} has the member {mbr!r}; expected a feature name or an index in [0, {d})"
                    )
                if owner[j] != -1:
                    raise InvalidParameterError(
                        f"groups: feature {self.feature_names[j]!r} is in more than one group"
                    )
                owner[j] = len(named)
                cols.append(j)
            if not cols:
                raise InvalidParameterError(f"groups: group {gname!r} is empty")
            named.append((str(gname), cols))
        # order: by first feature, singles keep their own names
        entries: list[tuple[int, str, list[int]]] = [(min(c), n, c) for n, c in named]
        entries += [(j, self.feature_names[j], [j]) for j in range(d) if owner[j] == -1]
        entries.sort(key=lambda e: e[0])
        names = [e[1] for e in entries]
        if len(set(names)) != len(names):
            raise InvalidParameterError(f"groups: group names must differ from the other feature names, got {names}")
        G = np.zeros((len(entries), d), dtype=bool)
        for g, (_, _, cols) in enumerate(entries):
            G[g, cols] = True
        return names, G

    # ------------------------------------------------------------------ shape
    @property
    def n_features(self) -> int:
        """Number of input columns ``d``."""
        return self.data.shape[1]

    @property
    def n_groups(self) -> int:
        """Number of players (features or groups) that receive a value."""
        return self.group_matrix.shape[0]

    @property
    def n_background(self) -> int:
        """Number of background rows."""
        return self.data.shape[0]

    # ------------------------------------------------------------------ data
    def encode(self, X: Any, name: str = "X") -> tuple[np.ndarray, TabularMasker]:
        """Check ``X`` against the background and return it as a float matrix.

        Returns the matrix and a masker that can decode it (its codec also knows any
        category that appears in ``X`` but not in the background).
        """
        if is_frame(X):
            _check_frame_columns(X, name)
            cols = [str(c) for c in X.columns]
            if cols != self.feature_names:
                missing = [c for c in self.feature_names if c not in cols]
                extra = [c for c in cols if c not in self.feature_names]
                raise InvalidParameterError(
                    f"{name}: expected the columns {self.feature_names[:20]} in this order; "
                    f"got {cols[:20]} (missing: {missing[:10]}, unexpected: {extra[:10]})"
                )
            if len(X) == 0:
                raise InvalidParameterError(f"{name}: expected at least 1 row, got {describe(X)}")
            if self.codec is None:
                Z = check_array(X.to_numpy(), name, allow_nan=True, n_features=self.n_features)
                return Z, self
            codec = self.codec.union(TabularCodec.from_frame(X))
            Z = codec.encode(X)
            _reject_infinite(Z, name)
            if codec is self.codec:
                return Z, self
            new = object.__new__(TabularMasker)
            new.__dict__.update(self.__dict__)
            new.codec = codec
            new.neighbourhood = copy.copy(self.neighbourhood)  # labels the new categories too
            new.neighbourhood.codec = codec
            return Z, new
        if self.codec is not None and not self.codec.is_numeric:
            raise InvalidParameterError(
                f"{name}: the background is a DataFrame with non-numeric columns, so {name} must be a "
                f"DataFrame with the same columns; got {describe(X)}"
            )
        Z = check_array(X, name, ndim=(1, 2), allow_nan=True)
        if Z.ndim == 1:
            Z = Z[None, :]
        if Z.shape[1] != self.n_features:
            raise InvalidParameterError(
                f"{name}: expected {self.n_features} features (columns), as in the background; got {Z.shape[1]}"
            )
        return Z, self

    def decode(self, Z: np.ndarray, *, as_frame: bool | None = None) -> Any:
        """Turn a float matrix into model input: a DataFrame when the background was one
        (or ``as_frame`` is true), else the matrix itself."""
        as_frame = self.is_frame if as_frame is None else as_frame
        if not as_frame:
            return Z
        if self.codec is not None:
            return self.codec.decode(Z)
        import pandas as pd

        return pd.DataFrame(Z, columns=self.feature_names)

    def feature_masks(self, masks: np.ndarray) -> np.ndarray:
        """Player masks ``(..., k)`` -> feature masks ``(..., d)``."""
        masks = np.asarray(masks, dtype=bool)
        return masks if not self.groups else masks[..., self.feature_group]

    def synthesize(self, x: np.ndarray, masks: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Hybrid rows ``(s * m, d)``: x where the mask is on, each background row elsewhere.

        This and the other ``synthesize`` methods write to the start of ``out`` (a contiguous
        float64 buffer) when one is given, else to a new array.
        """
        return hybrid_rows(np.asarray(x, dtype=np.float64), self.data, self.feature_masks(masks), out)

    def synthesize_per_reference(self, x: np.ndarray, masks: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Hybrid rows ``(m * s, d)`` with each background row under its own coalitions.

        ``masks`` is bool ``(m, s, n_groups)``: background row ``r`` is combined with ``x`` under
        ``masks[r]`` only (rows ordered background row first).
        """
        return hybrid_rows_per_reference(np.asarray(x, dtype=np.float64), self.data, self.feature_masks(masks), out)

    def synthesize_pairs_per_reference(
        self, x: np.ndarray, codes: np.ndarray, start: int = 0, stop: int | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Hybrid rows ``(m * 2s, d)`` for complementary pairs: background row ``r`` under each
        coalition ``codes[r, i]``, ``start <= i < stop``, and then under its complement. ``codes``
        are uint64 ``(m, u, ceil(n_groups / 64))``, player ``p`` at bit ``p % 64`` of word ``p // 64``."""
        x = np.asarray(x, dtype=np.float64)
        return paired_rows_per_reference(x, self.data, codes, self.feature_group, start, stop, out)

    def synthesize_chains_per_reference(
        self, x: np.ndarray, orders: np.ndarray, start: int = 0, stop: int | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Hybrid rows ``(m * s * (k - 1), d)`` along orders of the players: for background row ``r``
        and order ``orders[r, o]``, ``start <= o < stop``, row ``t`` holds ``x`` on the first ``t + 1``
        players' features."""
        ptr, order = self._group_index
        return chain_rows_per_reference(np.asarray(x, dtype=np.float64), self.data, orders, ptr, order, start, stop, out)

    @cached_property
    def _group_index(self) -> tuple[np.ndarray, np.ndarray]:
        """Features ordered by player, and where each player's run starts (``n_groups + 1`` offsets)."""
        order = np.argsort(self.feature_group, kind="stable")
        ptr = np.searchsorted(self.feature_group[order], np.arange(self.n_groups + 1))
        return ptr, order

    def __call__(self, x: np.ndarray, masks: np.ndarray) -> Any:
        """Model inputs for row ``x`` under each mask (``masks``: bool ``(s, n_groups)``)."""
        return self.decode(self.synthesize(np.asarray(x, dtype=np.float64), np.asarray(masks, dtype=bool)))

    def summary(self) -> dict[str, Any]:
        """What the background was, for provenance."""
        out = {
            "masker": "tabular",
            "n_background": int(self.n_background),
            "n_features": int(self.n_features),
            "weighted": bool(not np.allclose(self.weights, self.weights[0])),
            "groups": {k: [str(v) for v in (vs if not isinstance(vs, (str, int)) else [vs])] for k, vs in self.groups.items()},
            "dataframe": bool(self.is_frame),
        }
        out.update(self.neighbourhood.summary())
        return out


def _check_frame_columns(df: Any, name: str) -> None:
    """A DataFrame's columns must be at least one, with distinct names (as text)."""
    cols = [str(c) for c in df.columns]
    if not cols:
        raise InvalidParameterError(f"{name}: expected at least 1 feature (column), got a DataFrame without columns")
    seen: set[str] = set()
    dup = [c for c in cols if c in seen or seen.add(c)]  # type: ignore[func-returns-value]
    if dup:
        raise InvalidParameterError(
            f"{name}: expected distinct column names, got {dup[0]!r} more than once in {cols[:20]}; "
            "rename the columns"
        )
    complex_cols = [c for c, dt in zip(cols, df.dtypes) if getattr(dt, "kind", "") == "c"]
    if complex_cols:
        raise InvalidParameterError(
            f"{name}: expected real numbers, got complex values in column {complex_cols[0]!r}; pass the real "
            "part or split it into two columns"
        )


def _reject_infinite(Z: np.ndarray, name: str) -> None:
    bad = np.isinf(Z)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidParameterError(f"{name}: expected finite values, got infinity at index {where}")
