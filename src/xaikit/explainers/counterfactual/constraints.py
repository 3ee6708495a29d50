"""Constraints on counterfactuals, and the table they apply to.

:class:`Constraints` is declared once (immutable features, ranges, monotone directions, categorical
domains, linear relations between features, a maximum number of changed features), bound to a
table's :class:`Schema` (:meth:`Constraints.bind`), then *enforced by construction*: every
candidate goes through :meth:`BoundConstraints.repair` (a projection onto the allowed set) and
every output through :meth:`BoundConstraints.violations`.

Inside, a row is a float vector: numeric features as they are, a categorical feature as the index
of its value in its domain.

Relations are linear (in)equalities over feature names read by a small parser (no ``eval``):
``"a <= b"``, ``"capital_gain >= 0"``, ``"p1 + p2 == total"``, ``"2*a - b <= 3"``; a name that is
not a plain identifier is written between backquotes (`` `hours-per-week` ``).

Examples
--------
>>> parse_relation("2*a - b <= 3")
Relation(coefs={'a': 2.0, 'b': -1.0}, op='<=', bound=3.0, text='2*a - b <= 3')
>>> parse_relation("p1 + p2 == total").coefs
{'p1': 1.0, 'p2': 1.0, 'total': -1.0}
>>> parse_relation("a < b")
Traceback (most recent call last):
...
xaikit.errors.InvalidParameterError: relations: expected a linear relation with <=, >= or == (e.g. 'a + 2*b <= c'), got 'a < b': strict '<' is not supported
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError, XaikitError

__all__ = ["BoundConstraints", "Constraints", "ConstraintError", "Relation", "Schema", "parse_relation"]


class ConstraintError(XaikitError, RuntimeError):
    """A counterfactual about to be returned violates a constraint: a defect of xaikit, never returned silently."""


# ----------------------------------------------------------------------------- relations

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
                    r"|`(?P<quoted>[^`]+)`|(?P<op><=|>=|==|<|>|=|\+|-|\*))")


@dataclass(frozen=True)
class Relation:
    """``sum(coefs[f] * f) op bound`` with ``op`` one of ``<=``, ``>=``, ``==``."""

    coefs: dict[str, float]
    op: str
    bound: float
    text: str


def _relation_error(text: Any, why: str) -> InvalidParameterError:
    return InvalidParameterError(
        f"relations: expected a linear relation with <=, >= or == (e.g. 'a + 2*b <= c'), got {text!r}: {why}"
    )


def _side(tokens: list[tuple[str, Any]], text: str) -> tuple[dict[str, float], float]:
    """The coefficients and constant of one side ``term (+|- term)*``; ``term``: factors joined by ``*``."""
    coefs: dict[str, float] = {}
    const = 0.0
    if not tokens:
        raise _relation_error(text, "a side is empty")
    i, sign = 0, 1.0
    expect_term = True
    while i < len(tokens):
        kind, value = tokens[i]
        if expect_term:
            if kind == "op" and value in "+-":
                sign = sign * (-1.0 if value == "-" else 1.0)
                i += 1
                continue
            number, name = 1.0, None
            while True:
                if i >= len(tokens):
                    raise _relation_error(text, "a term is missing")
                kind, value = tokens[i]
                if kind == "num":
                    number *= value
                elif kind == "name":
                    if name is not None:
                        raise _relation_error(text, f"{name} * {value} is not linear")
                    name = value
                else:
                    raise _relation_error(text, f"unexpected {value!r}")
                i += 1
                if i < len(tokens) and tokens[i] == ("op", "*"):
                    i += 1
                    continue
                break
            if name is None:
                const += sign * number
            else:
                coefs[name] = coefs.get(name, 0.0) + sign * number
            sign, expect_term = 1.0, False
        else:
            if kind == "op" and value in "+-":
                sign, expect_term = (-1.0 if value == "-" else 1.0), True
                i += 1
            else:
                raise _relation_error(text, f"unexpected {value!r}")
    if expect_term:
        raise _relation_error(text, "it ends with an operator")
    return coefs, const


def parse_relation(text: Any) -> Relation:
    """Read one linear relation (see the module docstring); nothing is evaluated."""
    if not isinstance(text, str):
        raise InvalidParameterError(f"relations: expected a str such as 'a <= b', got {describe(text)}")
    tokens: list[tuple[str, Any]] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        m = _TOKEN.match(stripped, pos)
        if m is None or m.end() == pos:
            raise _relation_error(text, f"cannot read {stripped[pos:].strip()[:20]!r}")
        pos = m.end()
        if m.group("num") is not None:
            tokens.append(("num", float(m.group("num"))))
        elif m.group("name") is not None:
            tokens.append(("name", m.group("name")))
        elif m.group("quoted") is not None:
            tokens.append(("name", m.group("quoted")))
        else:
            tokens.append(("op", m.group("op")))
    comparisons = [k for k, t in enumerate(tokens) if t[0] == "op" and t[1] in ("<=", ">=", "==", "<", ">", "=")]
    if len(comparisons) != 1:
        raise _relation_error(text, f"expected one comparison, found {len(comparisons)}")
    k = comparisons[0]
    op = tokens[k][1]
    if op in ("<", ">"):
        raise _relation_error(text, f"strict {op!r} is not supported")
    if op == "=":
        raise _relation_error(text, "write '==' for an equality")
    left, lconst = _side(tokens[:k], text)
    right, rconst = _side(tokens[k + 1:], text)
    coefs = dict(left)
    for name, c in right.items():
        coefs[name] = coefs.get(name, 0.0) - c
    coefs = {n: c for n, c in coefs.items() if c != 0.0}
    if not coefs:
        raise _relation_error(text, "no feature is left once both sides are compared")
    return Relation(coefs, op, rconst - lconst, text)


# ----------------------------------------------------------------------------- the table


@dataclass
class Schema:
    """What the search needs to know of a table's columns.

    ``kinds[j]`` is ``"numeric"``, ``"integer"`` or ``"categorical"``; ``domains[j]`` the values of a
    categorical feature (its codes index them); ``mad[j]`` the scale of a numeric feature (median
    absolute deviation in the data; where it is 0 the standard deviation, then 1, as
    :func:`xaikit.counterfactual_metrics` scales); ``frame``: the
    rows are a pandas DataFrame (``dtypes`` its column types), else a numpy array of ``dtype``.
    """

    names: list[str]
    kinds: list[str]
    domains: list[list[Any] | None]
    mad: np.ndarray
    frame: bool
    dtypes: list[Any] = field(default_factory=list)
    dtype: Any = None

    @property
    def categorical(self) -> np.ndarray:
        return np.array([k == "categorical" for k in self.kinds])

    @property
    def integer(self) -> np.ndarray:
        return np.array([k == "integer" for k in self.kinds])

    @property
    def scale(self) -> np.ndarray:
        """The divisor of each feature's change in distances (1 for a categorical feature)."""
        return np.where(self.categorical, 1.0, self.mad)

    # ---------------------------------------------------------------- encoding
    def columns(self, X: Any, name: str) -> list[np.ndarray]:
        """The columns of ``X`` (DataFrame or 2-D array) as 1-D arrays, checked against the names."""
        if hasattr(X, "columns") and hasattr(X, "iloc"):
            cols = [str(c) for c in X.columns]
            if cols != self.names:
                raise InvalidParameterError(f"{name}: expected the columns {self.names}, got {cols}")
            return [X.iloc[:, j].to_numpy() for j in range(len(cols))]
        arr = np.asarray(X) if not isinstance(X, np.ndarray) else X
        if arr.ndim != 2 or arr.shape[1] != len(self.names):
            raise InvalidParameterError(f"{name}: expected a 2-D array of {len(self.names)} columns, got {describe(arr)}")
        return [arr[:, j] for j in range(arr.shape[1])]

    def encode(self, X: Any, name: str) -> np.ndarray:
        """``X`` as floats (categories as codes); an unknown category or a missing number is refused by name."""
        cols = self.columns(X, name)
        n = len(cols[0]) if cols else 0
        Z = np.empty((n, len(cols)))
        for j, col in enumerate(cols):
            domain = self.domains[j]
            if domain is None:
                try:
                    values = np.asarray(col, dtype=np.float64)
                except (TypeError, ValueError):
                    raise InvalidParameterError(
                        f"{name}: column {self.names[j]!r} is numeric in the data, got values such as {describe(col[:1].tolist())}"
                    ) from None
                if not np.isfinite(values).all():
                    i = int(np.flatnonzero(~np.isfinite(values))[0])
                    raise InvalidParameterError(f"{name}: expected finite numbers in column {self.names[j]!r}, got {values[i]} in row {i}")
                Z[:, j] = values
            else:
                lookup = {_key(v): k for k, v in enumerate(domain)}
                for i, v in enumerate(col.tolist()):
                    code = lookup.get(_key(v))
                    if code is None:
                        raise InvalidParameterError(
                            f"{name}: column {self.names[j]!r}, row {i}: the category {v!r} is not in its domain "
                            f"{domain[:20]} (from data or Constraints(categories=...))"
                        )
                    Z[i, j] = code
        return Z

    def decode(self, Z: np.ndarray) -> Any:
        """Rows in the user's format: a DataFrame with the original column types, or an array."""
        cols: list[Any] = []
        for j, kind in enumerate(self.kinds):
            domain = self.domains[j]
            if domain is not None:
                values = np.empty(len(domain), dtype=object)
                values[:] = domain
                cols.append(values[Z[:, j].astype(np.int64)])
            elif kind == "integer":
                cols.append(np.rint(Z[:, j]).astype(np.int64))
            else:
                cols.append(Z[:, j].astype(np.float64))
        if self.frame:
            import pandas as pd

            frame = pd.DataFrame({name: col for name, col in zip(self.names, cols)}, copy=False)
            for name, col, dtype in zip(self.names, cols, self.dtypes):
                if col.dtype != dtype:  # e.g. a pandas category, or int32
                    try:
                        frame[name] = frame[name].astype(dtype)
                    except (TypeError, ValueError):
                        pass
            return frame
        if self.dtype is not None and np.dtype(self.dtype).kind in "biuf":
            return np.stack(cols, axis=1).astype(self.dtype) if cols else np.empty((len(Z), 0), dtype=self.dtype)
        out = np.empty((len(Z), len(cols)), dtype=object)
        for j, col in enumerate(cols):
            out[:, j] = col
        return out

    def cells(self, Z: np.ndarray) -> np.ndarray:
        """Rows as an object array of plain Python values (str, int, float), for the result."""
        out = np.empty(Z.shape, dtype=object)
        for j, kind in enumerate(self.kinds):
            domain = self.domains[j]
            if domain is not None:
                out[:, j] = [_plain(domain[int(c)]) for c in Z[:, j]]
            elif kind == "integer":
                out[:, j] = [int(round(v)) for v in Z[:, j]]
            else:
                out[:, j] = [float(v) for v in Z[:, j]]
        return out


def _key(value: Any) -> Any:
    """A hashable key under which NaN equals NaN and 1 equals 1.0."""
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    if value is None:
        return ("nan",)
    if isinstance(value, (np.generic,)):
        return _key(value.item())
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def schema_of(data: Any, categories: Mapping[str, Sequence[Any]] | None, name: str = "data") -> Schema:
    """The :class:`Schema` of a table: categorical columns (string, category, bool or object dtype,
    or named in ``categories``) and numeric ones (integer when every value in ``data`` is whole)."""
    categories = dict(categories or {})
    frame = hasattr(data, "columns") and hasattr(data, "iloc") and hasattr(data, "dtypes")
    if frame:
        names = [str(c) for c in data.columns]
        if len(set(names)) != len(names):
            raise InvalidParameterError(f"{name}: expected distinct column names, got {names}")
        cols = [data.iloc[:, j] for j in range(len(names))]
        dtypes = [c.dtype for c in cols]
        raw = [c.to_numpy() for c in cols]
        kinds_hint = ["numeric" if (getattr(dt, "kind", "O") in "iuf") else "categorical" for dt in dtypes]
        dtype = None
    else:
        if hasattr(data, "__array__") or isinstance(data, (list, tuple)):
            arr = np.asarray(data)
        else:
            raise InvalidParameterError(f"{name}: expected a 2-D array or a DataFrame, got {describe(data)}")
        if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
            raise InvalidParameterError(f"{name}: expected a non-empty 2-D array or DataFrame, got {describe(arr)}")
        names = [f"x{j}" for j in range(arr.shape[1])]
        raw = [arr[:, j] for j in range(arr.shape[1])]
        dtypes = []
        dtype = arr.dtype
        if arr.dtype.kind in "iuf":
            kinds_hint = ["numeric"] * arr.shape[1]
        elif arr.dtype.kind == "O":
            kinds_hint = ["numeric" if all(_is_number(v) for v in col.tolist()) else "categorical" for col in raw]
        else:
            kinds_hint = ["categorical"] * arr.shape[1]
    if len(raw) and len(raw[0]) == 0:
        raise InvalidParameterError(f"{name}: expected at least one row, got none")
    unknown = sorted(set(categories) - set(names))
    if unknown:
        raise InvalidParameterError(f"categories: unknown feature {unknown[0]!r}; expected names among {names}")
    kinds: list[str] = []
    domains: list[list[Any] | None] = []
    mad = np.ones(len(names))
    for j, (col, hint) in enumerate(zip(raw, kinds_hint)):
        fname = names[j]
        if fname in categories or hint == "categorical":
            if fname in categories:
                domain = list(categories[fname])
                if not domain:
                    raise InvalidParameterError(f"categories[{fname!r}]: expected at least one category, got an empty list")
            else:
                seen: dict[Any, Any] = {}
                for v in col.tolist():
                    seen.setdefault(_key(v), v)
                try:
                    domain = sorted(seen.values(), key=lambda v: (isinstance(v, float) and math.isnan(v), str(v)))
                except TypeError:
                    domain = list(seen.values())
            kinds.append("categorical")
            domains.append(domain)
            continue
        values = np.asarray(col, dtype=np.float64)
        if not np.isfinite(values).all():
            raise InvalidParameterError(f"{name}: expected finite numbers in the numeric column {fname!r}, got a missing or infinite value")
        whole = bool(np.all(values == np.rint(values)))
        kinds.append("integer" if whole else "numeric")
        domains.append(None)
        med = float(np.median(values))
        spread = float(np.median(np.abs(values - med)))
        if not spread > 0:  # a feature mostly at one value (a capital gain): its standard deviation
            spread = float(values.std())
        mad[j] = spread if spread > 0 else 1.0
    return Schema(names, kinds, domains, mad, bool(frame), dtypes, dtype)


# ----------------------------------------------------------------------------- constraints


def _names_list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple, set, frozenset)) or not all(isinstance(v, str) for v in value):
        raise InvalidParameterError(f"{name}: expected a list of feature names, got {describe(value)}")
    return sorted(value) if isinstance(value, (set, frozenset)) else list(value)


class Constraints:
    """What a counterfactual may change, declared once.

    Parameters
    ----------
    immutable : list of str, optional
        Features that never change (e.g. ``["age", "sex"]``).
    ranges : dict of str to (low, high), optional
        Allowed values of numeric features (either bound may be None); a counterfactual is kept inside.
    monotone : dict of str to {"increase", "decrease"}, optional
        Features that may only go up (age) or down.
    relations : list of str, optional
        Linear (in)equalities between numeric features: ``"a <= b"``, ``"capital_gain >= 0"``,
        ``"p1 + p2 == total"``, ``"2*a - b <= 3"`` (read by a small parser, never evaluated).
    max_changed : int, optional
        The most features one counterfactual may change.
    categories : dict of str to list, optional
        The allowed values of categorical features (default: the values seen in ``data``); a
        numeric column named here is treated as categorical.

    Examples
    --------
    >>> cons = Constraints(immutable=["age"], ranges={"hours": (1, 80)}, relations=["a <= b"], max_changed=2)
    >>> cons
    Constraints(immutable=['age'], ranges={'hours': (1.0, 80.0)}, relations=['a <= b'], max_changed=2)
    >>> Constraints(ranges={"hours": (5, 1)})
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: ranges['hours']: expected (low, high) with low <= high, got (5, 1): the range is empty
    """

    def __init__(
        self,
        *,
        immutable: Sequence[str] | None = None,
        ranges: Mapping[str, tuple[float | None, float | None]] | None = None,
        monotone: Mapping[str, str] | None = None,
        relations: Sequence[str] | None = None,
        max_changed: int | None = None,
        categories: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        self.immutable = _names_list(immutable, "immutable")
        self.ranges: dict[str, tuple[float, float]] = {}
        if ranges is not None and not isinstance(ranges, Mapping):
            raise InvalidParameterError(f"ranges: expected a dict of feature -> (low, high), got {describe(ranges)}")
        for key, rng in (ranges or {}).items():
            where = f"ranges[{key!r}]"
            if not isinstance(key, str):
                raise InvalidParameterError(f"ranges: expected feature names as keys, got {describe(key)}")
            if isinstance(rng, (str, bytes)) or not isinstance(rng, (tuple, list)) or len(rng) != 2:
                raise InvalidParameterError(f"{where}: expected (low, high), got {describe(rng)}")
            low, high = (-math.inf if rng[0] is None else rng[0]), (math.inf if rng[1] is None else rng[1])
            if not (_is_number(low) and _is_number(high)) or math.isnan(float(low)) or math.isnan(float(high)):
                raise InvalidParameterError(f"{where}: expected (low, high) numbers or None, got {describe(rng)}")
            if float(low) > float(high):
                raise InvalidParameterError(f"{where}: expected (low, high) with low <= high, got {tuple(rng)}: the range is empty")
            self.ranges[key] = (float(low), float(high))
        if monotone is not None and not isinstance(monotone, Mapping):
            raise InvalidParameterError(f"monotone: expected a dict of feature -> 'increase' or 'decrease', got {describe(monotone)}")
        self.monotone: dict[str, str] = {}
        for key, direction in (monotone or {}).items():
            if direction not in ("increase", "decrease"):
                raise InvalidParameterError(f"monotone[{key!r}]: expected 'increase' or 'decrease', got {describe(direction)}")
            self.monotone[str(key)] = str(direction)
        both = sorted(set(self.immutable) & set(self.monotone))
        if both:
            raise InvalidParameterError(f"monotone: {both[0]!r} is also immutable; a feature is either immutable or monotone")
        if relations is not None and (isinstance(relations, str) or not isinstance(relations, Sequence)):
            raise InvalidParameterError(f"relations: expected a list of str such as ['a <= b'], got {describe(relations)}")
        self.relations = [parse_relation(r) for r in (relations or [])]
        if max_changed is not None and (isinstance(max_changed, bool) or not isinstance(max_changed, numbers.Integral) or max_changed < 1):
            raise InvalidParameterError(f"max_changed: expected an integer >= 1 or None, got {describe(max_changed)}")
        self.max_changed = None if max_changed is None else int(max_changed)
        if categories is not None and not isinstance(categories, Mapping):
            raise InvalidParameterError(f"categories: expected a dict of feature -> list of values, got {describe(categories)}")
        self.categories = {str(k): list(v) for k, v in (categories or {}).items()}

    def __repr__(self) -> str:
        parts = []
        if self.immutable:
            parts.append(f"immutable={self.immutable}")
        if self.ranges:
            parts.append(f"ranges={self.ranges}")
        if self.monotone:
            parts.append(f"monotone={self.monotone}")
        if self.relations:
            parts.append(f"relations={[r.text for r in self.relations]}")
        if self.max_changed is not None:
            parts.append(f"max_changed={self.max_changed}")
        if self.categories:
            parts.append(f"categories={self.categories}")
        return f"Constraints({', '.join(parts)})"

    def to_dict(self) -> dict[str, Any]:
        """The declaration as JSON types (recorded in a result's params)."""
        return {
            "immutable": list(self.immutable),
            "ranges": {k: [None if math.isinf(lo) else lo, None if math.isinf(hi) else hi] for k, (lo, hi) in self.ranges.items()},
            "monotone": dict(self.monotone),
            "relations": [r.text for r in self.relations],
            "max_changed": self.max_changed,
            "categories": {k: [_plain(v) for v in vals] for k, vals in self.categories.items()},
        }

    def bind(self, schema: Schema) -> BoundConstraints:
        """The constraints on ``schema``'s columns; a name it lacks, or a numeric constraint on a
        categorical feature, is refused naming the constraint."""
        index = {n: j for j, n in enumerate(schema.names)}

        def at(name: str, where: str) -> int:
            if name not in index:
                raise InvalidParameterError(f"{where}: unknown feature {name!r}; expected one of {schema.names}")
            return index[name]

        d = len(schema.names)
        lo, hi = np.full(d, -np.inf), np.full(d, np.inf)
        frozen = np.zeros(d, dtype=bool)
        direction = np.zeros(d)
        for name in self.immutable:
            frozen[at(name, "immutable")] = True
        for name, (low, high) in self.ranges.items():
            j = at(name, f"ranges[{name!r}]")
            if schema.kinds[j] == "categorical":
                raise InvalidParameterError(f"ranges[{name!r}]: {name!r} is categorical; restrict it with categories= instead")
            lo[j], hi[j] = low, high
            if schema.kinds[j] == "integer" and math.ceil(low) > math.floor(high):
                raise InvalidParameterError(f"ranges[{name!r}]: the integer feature {name!r} has no whole value in {(low, high)}")
        for name, way in self.monotone.items():
            j = at(name, f"monotone[{name!r}]")
            if schema.kinds[j] == "categorical":
                raise InvalidParameterError(f"monotone[{name!r}]: {name!r} is categorical; monotone applies to numeric features")
            direction[j] = 1.0 if way == "increase" else -1.0
        rels = []
        for r in self.relations:
            coef = np.zeros(d)
            for name, c in r.coefs.items():
                j = at(name, f"relations[{r.text!r}]")
                if schema.kinds[j] == "categorical":
                    raise InvalidParameterError(f"relations[{r.text!r}]: {name!r} is categorical; relations apply to numeric features")
                coef[j] = c
            rels.append((coef, r.op, r.bound, r.text))
        return BoundConstraints(schema, lo, hi, frozen, direction, rels, self.max_changed)


def _tol(coef: np.ndarray, Z: np.ndarray, bound: float) -> np.ndarray:
    return 1e-9 * (1.0 + abs(bound) + np.abs(Z * coef).sum(axis=1))


@dataclass
class BoundConstraints:
    """:class:`Constraints` on a schema's columns, as arrays; repairs and checks candidates.

    Every method takes candidates ``Z (m, d)`` and the original rows ``X0 (m, d)`` they change."""

    schema: Schema
    lo: np.ndarray
    hi: np.ndarray
    frozen: np.ndarray
    direction: np.ndarray
    relations: list[tuple[np.ndarray, str, float, str]]
    max_changed: int | None

    def bounds(self, X0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-cell bounds of numeric features (ranges, monotone directions, immutability)."""
        lo = np.broadcast_to(self.lo, X0.shape).copy()
        hi = np.broadcast_to(self.hi, X0.shape).copy()
        up, down = self.direction > 0, self.direction < 0
        lo[:, up] = np.maximum(lo[:, up], X0[:, up])
        hi[:, down] = np.minimum(hi[:, down], X0[:, down])
        lo[:, self.frozen] = X0[:, self.frozen]
        hi[:, self.frozen] = X0[:, self.frozen]
        integer = self.schema.integer
        lo[:, integer] = np.ceil(lo[:, integer] - 1e-9)
        hi[:, integer] = np.floor(hi[:, integer] + 1e-9)
        return lo, hi

    def check_rows(self, X0: np.ndarray, name: str = "X") -> None:
        """Refuse rows whose own constraints cannot be met (e.g. an immutable feature outside its range)."""
        lo, hi = self.bounds(X0)
        bad = np.argwhere(lo > hi)
        if len(bad):
            i, j = (int(v) for v in bad[0])
            f = self.schema.names[j]
            raise InvalidParameterError(
                f"constraints: row {i} of {name} has {f}={X0[i, j]:g}, and no value of {f} meets its range, "
                "direction and immutability there"
            )

    def changed(self, Z: np.ndarray, X0: np.ndarray) -> np.ndarray:
        """Which features each candidate changes, (m, d) bool."""
        return np.abs(Z - X0) > 1e-12 * (1.0 + np.abs(X0))

    def _missing_codes(self) -> np.ndarray:
        """The code of the missing value (NaN, None) in each categorical feature's domain, -1 where none."""
        codes = np.full(len(self.schema.names), -1)
        for j, domain in enumerate(self.schema.domains):
            for k, v in enumerate(domain or ()):
                if _key(v) == ("nan",):
                    codes[j] = k
        return codes

    def _off_domain(self, Z: np.ndarray, X0: np.ndarray) -> np.ndarray:
        """Categorical values a candidate moved outside its feature's domain, or to the missing value (a row may
        keep its own missing value; no counterfactual changes a known category to "unknown"), (m, d) bool."""
        out = np.zeros(Z.shape, dtype=bool)
        missing = self._missing_codes()
        for j, domain in enumerate(self.schema.domains):
            if domain is not None:
                moved = Z[:, j] != X0[:, j]
                out[:, j] = moved & ((Z[:, j] < 0) | (Z[:, j] >= len(domain)) | (Z[:, j] != np.rint(Z[:, j]))
                                     | ((missing[j] >= 0) & (Z[:, j] == missing[j])))
        return out

    def _box(self, Z: np.ndarray, X0: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        cat = self.schema.categorical
        Z = np.where(cat, Z, np.clip(Z, lo, hi))
        Z = np.where(self._off_domain(Z, X0), X0, Z)  # a category moved to "missing" (or off its domain) goes back
        Z[:, self.frozen] = X0[:, self.frozen]
        integer = self.schema.integer
        Z[:, integer] = np.clip(np.rint(Z[:, integer]), lo[:, integer], hi[:, integer])
        return Z

    def _relation(self, Z: np.ndarray, X0: np.ndarray, lo: np.ndarray, hi: np.ndarray, coef: np.ndarray, op: str, bound: float,
                  turn: int = 0) -> None:
        """Move the features of one relation (changed ones first, starting from a different one each
        ``turn`` so that two relations do not undo each other forever) until it holds, within their bounds (in place)."""
        value = Z @ coef
        excess = np.zeros(len(Z))  # how much sum(coef * z) must go down (negative: up)
        if op in ("<=", "=="):
            excess = np.maximum(value - bound, 0.0)
        if op in (">=", "=="):
            excess = np.where(value < bound, value - bound, excess)
        if not np.any(excess):
            return
        integer = self.schema.integer
        for first in (True, False):
            involved = np.flatnonzero(coef)
            for j in np.roll(involved, -(turn % len(involved))):
                c = coef[j]
                need = excess != 0
                if first:
                    need &= self.changed(Z[:, j:j + 1], X0[:, j:j + 1])[:, 0]
                if not need.any():
                    continue
                # moving z_j by t changes the sum by c * t; we want c * t = -excess
                step = -excess / c
                room_up, room_down = hi[:, j] - Z[:, j], lo[:, j] - Z[:, j]
                t = np.clip(step, room_down, room_up)
                if integer[j]:
                    t = np.where(t > 0, np.minimum(np.ceil(t - 1e-9), np.floor(room_up + 1e-9)),
                                 np.maximum(np.floor(t + 1e-9), np.ceil(room_down - 1e-9)))
                t = np.where(need, t, 0.0)
                Z[:, j] += t
                excess = excess + c * t
                excess = np.where(np.abs(excess) <= _tol(coef, Z, bound), 0.0, excess)
                if op == "<=":
                    excess = np.maximum(excess, 0.0)
                elif op == ">=":
                    excess = np.minimum(excess, 0.0)

    def _limit(self, Z: np.ndarray, X0: np.ndarray) -> np.ndarray:
        """Revert the smallest changes of candidates that change more than ``max_changed`` features."""
        k = self.max_changed
        if k is None:
            return Z
        changed = self.changed(Z, X0)
        over = changed.sum(axis=1) > k
        if not over.any():
            return Z
        size = np.where(changed, np.abs(Z - X0) / self.schema.scale + self.schema.categorical, -1.0)
        order = np.argsort(-size, axis=1, kind="stable")
        keep = np.zeros_like(changed)
        np.put_along_axis(keep, order[:, :k], True, axis=1)
        revert = over[:, None] & changed & ~keep
        return np.where(revert, X0, Z)

    def repair(self, Z: np.ndarray, X0: np.ndarray) -> np.ndarray:
        """Candidates moved into the allowed set (a few rounds of projection); check them with :meth:`violations`."""
        lo, hi = self.bounds(X0)
        Z = self._box(np.array(Z, dtype=np.float64), X0, lo, hi)
        for turn in range(10):  # alternate projections until every relation holds (or give up: the check says so)
            for coef, op, bound, _text in self.relations:
                self._relation(Z, X0, lo, hi, coef, op, bound, turn)
            Z = self._limit(Z, X0)
            if not self.relations or not self._relations_broken(Z).any():
                break
        return Z

    def _relations_broken(self, Z: np.ndarray) -> np.ndarray:
        broken = np.zeros(len(Z), dtype=bool)
        for coef, op, bound, _text in self.relations:
            value, tol = Z @ coef, _tol(coef, Z, bound)
            broken |= (value > bound + tol) if op == "<=" else (value < bound - tol) if op == ">=" else (np.abs(value - bound) > tol)
        return broken

    def violations(self, Z: np.ndarray, X0: np.ndarray) -> np.ndarray:
        """Which candidates break some constraint, (m,) bool (what :meth:`violated` names, vectorised)."""
        lo, hi = self.bounds(X0)
        numeric = ~self.schema.categorical & ~self.frozen
        tol = 1e-9 * (1.0 + np.abs(Z))
        bad = (numeric & ((Z < lo - tol) | (Z > hi + tol))).any(axis=1)
        bad |= (self.frozen & self.changed(Z, X0)).any(axis=1)
        bad |= (self.schema.integer & (Z != np.rint(Z))).any(axis=1)
        bad |= self._off_domain(Z, X0).any(axis=1)
        bad |= self._relations_broken(Z)
        if self.max_changed is not None:
            bad |= self.changed(Z, X0).sum(axis=1) > self.max_changed
        return bad  # type: ignore[no-any-return]

    def violated(self, Z: np.ndarray, X0: np.ndarray) -> list[list[str]]:
        """The constraints each candidate breaks, by name (empty lists when none)."""
        lo, hi = self.bounds(X0)
        names = self.schema.names
        out: list[list[str]] = [[] for _ in range(len(Z))]
        numeric = ~self.schema.categorical & ~self.frozen  # a frozen feature is reported as immutable
        tol = 1e-9 * (1.0 + np.abs(Z))
        below = numeric & (Z < lo - tol)
        above = numeric & (Z > hi + tol)
        frozen = self.frozen & self.changed(Z, X0)
        whole = self.schema.integer & (Z != np.rint(Z))
        for i, j in np.argwhere(below | above):
            out[i].append(f"range/direction of {names[j]}")
        for i, j in np.argwhere(frozen):
            out[i].append(f"immutable {names[j]}")
        for i, j in np.argwhere(whole):
            out[i].append(f"integer {names[j]}")
        for i, j in np.argwhere(self._off_domain(Z, X0)):
            out[i].append(f"categories of {names[j]}")
        for coef, op, bound, text in self.relations:
            value, tol_r = Z @ coef, _tol(coef, Z, bound)
            bad = (value > bound + tol_r) if op == "<=" else (value < bound - tol_r) if op == ">=" else (np.abs(value - bound) > tol_r)
            for i in np.flatnonzero(bad):
                out[i].append(f"relation {text!r}")
        if self.max_changed is not None:
            for i in np.flatnonzero(self.changed(Z, X0).sum(axis=1) > self.max_changed):
                out[i].append(f"max_changed={self.max_changed}")
        return out

    def binding(self, Z: np.ndarray, X0: np.ndarray) -> list[list[str]]:
        """The constraints each candidate is held by: at a bound of its range or direction, at
        ``max_changed``, or a relation met with equality."""
        lo, hi = self.bounds(X0)
        names = self.schema.names
        changed = self.changed(Z, X0)
        out: list[list[str]] = [[] for _ in range(len(Z))]
        moved = ~self.schema.categorical & changed
        tol = 1e-9 * (1.0 + np.abs(Z))
        for i, j in np.argwhere(moved & np.isfinite(lo) & (np.abs(Z - lo) <= tol)):
            out[i].append(f"{names[j]} at its lower bound {lo[i, j]:g}")
        for i, j in np.argwhere(moved & np.isfinite(hi) & (np.abs(Z - hi) <= tol)):
            out[i].append(f"{names[j]} at its upper bound {hi[i, j]:g}")
        for coef, _op, bound, text in self.relations:
            for i in np.flatnonzero(np.abs(Z @ coef - bound) <= _tol(coef, Z, bound)):
                out[i].append(f"relation {text!r} tight")
        if self.max_changed is not None:
            for i in np.flatnonzero(changed.sum(axis=1) == self.max_changed):
                out[i].append(f"max_changed={self.max_changed} reached")
        return out
