"""Validation at the boundary: arrays, integers, choices, seeds.

Every check raises :class:`~xaikit.errors.InvalidParameterError` whose message names the
parameter, what was expected and what was given.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError, ModelOutputError

__all__ = [
    "check_array",
    "check_int",
    "check_float",
    "check_choice",
    "check_random_state",
    "check_bool",
    "check_level",
    "RowSeeds",
    "child_seed",
    "spawn_seeds",
    "describe",
    "check_feature_names",
    "check_memory",
    "check_work",
    "check_finite_result",
    "check_gradient_budget",
    "memory_limit",
    "format_bytes",
]

RandomState = int | np.random.Generator | np.random.SeedSequence | None


def describe(value: Any) -> str:
    """A short description of ``value`` for error messages.

    >>> describe(np.zeros((2, 3)))
    'an array of shape (2, 3) and dtype float64'
    >>> describe("abc")
    "'abc' (str)"
    """
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, numbers.Number):
        return f"a {type(value).__name__} of shape {tuple(shape)}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def check_array(
    X: Any,
    name: str,
    *,
    ndim: int | tuple[int, ...] = 2,
    allow_nan: bool = False,
    min_rows: int = 1,
    n_features: int | None = None,
    dtype: Any = np.float64,
    min_features: int | None = None,
) -> np.ndarray:
    """Convert ``X`` to a numeric array and check its shape and values.

    Parameters
    ----------
    X : array-like
    name : str
        The parameter name used in error messages.
    ndim : int or tuple of int
        Accepted numbers of dimensions.
    allow_nan : bool
        Whether NaN is accepted (infinity never is).
    min_rows : int
        Minimum length of the first axis.
    n_features : int, optional
        Required length of the last axis.
    dtype : numpy dtype
        The target dtype (``None`` keeps the input's numeric dtype).
    min_features : int, optional
        Minimum length of every axis after the first (for arrays of two or more dimensions); by
        default 1 (an input without features cannot be explained), 0 when ``n_features`` is given.

    Complex numbers, strings and other non-numeric values are refused (never cast: a complex
    array would silently lose its imaginary part, a string array be parsed).

    Examples
    --------
    >>> check_array([[1, 2], [3, 4]], "X").dtype
    dtype('float64')
    >>> check_array([[1, 2]], "X", n_features=3)
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: X: expected 3 features (columns), got 2
    >>> check_array([[1 + 2j]], "X")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: X: expected a numeric array of real numbers, got complex values (an ...
    """
    ndims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if isinstance(X, (str, bytes)):
        raise InvalidParameterError(f"{name}: expected a numeric array, got {describe(X)}")
    try:
        raw = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"{name}: expected a numeric array, got {describe(X)} that cannot be converted "
            f"(rows of different lengths?) ({str(exc)[:200]})"
        ) from None
    if raw.dtype.kind == "O" and raw.size:
        odd = _first_non_real(raw)
        if odd is not None:
            kind = "complex values" if isinstance(odd, complex) else "a value that is not a real number"
            raise InvalidParameterError(
                f"{name}: expected a numeric array of real numbers, got {kind} ({odd!r:.60}) in {describe(raw)}"
            )
    if raw.dtype.kind == "c":
        raise InvalidParameterError(
            f"{name}: expected a numeric array of real numbers, got complex values ({describe(raw)}); pass the "
            f"real part ({name}.real) or split it into two features"
        )
    if raw.dtype.kind in "USa":
        raise InvalidParameterError(
            f"{name}: expected a numeric array, got text ({describe(raw)}) that cannot be converted here; "
            "parse it into numbers first (or pass a DataFrame, whose text columns are categories)"
        )
    if raw.dtype.kind not in "biufO":
        raise InvalidParameterError(f"{name}: expected a numeric array, got {describe(raw)}")
    try:
        arr = raw if dtype is None else raw.astype(dtype, copy=False)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidParameterError(
            f"{name}: expected a numeric array, got {describe(raw)} that cannot be converted ({str(exc)[:200]})"
        ) from None
    if arr.dtype.kind not in "biuf":
        raise InvalidParameterError(f"{name}: expected a numeric array, got {describe(arr)}")
    if arr.ndim not in ndims:
        raise InvalidParameterError(
            f"{name}: expected an array with {' or '.join(map(str, ndims))} dimensions, got {describe(arr)}"
        )
    if arr.shape[0] < min_rows:
        raise InvalidParameterError(f"{name}: expected at least {min_rows} row(s), got {describe(arr)}")
    if n_features is not None and arr.shape[-1] != n_features:
        raise InvalidParameterError(
            f"{name}: expected {n_features} features (columns), got {arr.shape[-1]}"
        )
    if min_features is None:
        min_features = 1 if n_features is None else 0
    if arr.ndim >= 2 and min(arr.shape[1:]) < min_features:
        raise InvalidParameterError(
            f"{name}: expected at least {min_features} feature(s) (columns) per row, got {describe(arr)}"
        )
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if not finite.all():
            bad = ~finite if not allow_nan else np.isinf(arr)
            if bad.any():
                where = tuple(int(i) for i in np.argwhere(bad)[0])
                what = "NaN or infinite values" if not allow_nan else "infinite values"
                raise InvalidParameterError(
                    f"{name}: expected finite values, got {what} ({int(bad.sum())} of them, "
                    f"first at index {where}); impute them, or use a model that accepts missing values"
                )
    return arr


def _first_non_real(arr: np.ndarray) -> Any:
    """The first element of an object array that is not a real number (None when all are)."""
    for v in arr.flat:
        if v is not None and not isinstance(v, numbers.Real):
            return v
    return None


def check_int(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Check that ``value`` is an integer within ``[minimum, maximum]``.

    >>> check_int(5, "n_samples", minimum=1)
    5
    >>> check_int(0, "n_samples", minimum=1)
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: n_samples: expected an integer >= 1, got 0 (int)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(f"{name}: expected an integer, got {describe(value)}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if maximum is None:
            bound = f">= {minimum}"
        elif minimum is None:
            bound = f"<= {maximum}"
        else:
            bound = f"in [{minimum}, {maximum}]"
        raise InvalidParameterError(f"{name}: expected an integer {bound}, got {describe(value)}")
    return value


def check_float(
    value: Any, name: str, *, minimum: float | None = None, maximum: float | None = None,
    strict_minimum: bool = False,
) -> float:
    """Check that ``value`` is a finite real number within bounds.

    >>> check_float(0.5, "tol", minimum=0, strict_minimum=True)
    0.5
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(float(value)):
        raise InvalidParameterError(f"{name}: expected a finite number, got {describe(value)}")
    value = float(value)
    if minimum is not None and (value < minimum or (strict_minimum and value == minimum)):
        op = ">" if strict_minimum else ">="
        raise InvalidParameterError(f"{name}: expected a number {op} {minimum}, got {describe(value)}")
    if maximum is not None and value > maximum:
        raise InvalidParameterError(f"{name}: expected a number <= {maximum}, got {describe(value)}")
    return value


def check_choice(value: Any, name: str, choices: Iterable[Any]) -> Any:
    """Check that ``value`` is one of ``choices``.

    >>> check_choice("raw", "output", ["raw", "probability"])
    'raw'
    >>> check_choice("prob", "output", ["raw", "probability"])
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: output: expected one of 'raw', 'probability', got 'prob' (str)
    """
    options: Sequence[Any] = list(choices)
    if value not in options:
        listed = ", ".join(repr(c) for c in options)
        raise InvalidParameterError(f"{name}: expected one of {listed}, got {describe(value)}")
    return value


def check_random_state(random_state: RandomState, name: str = "random_state") -> np.random.SeedSequence:
    """Turn ``random_state`` into a :class:`numpy.random.SeedSequence`.

    ``None`` draws fresh entropy (results then differ between calls); an integer or a
    SeedSequence is reproducible. A Generator is used to draw a seed from it.

    >>> check_random_state(0).entropy
    0
    """
    if random_state is None:
        return np.random.SeedSequence()
    if isinstance(random_state, np.random.SeedSequence):
        return random_state
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(0, 2**63 - 1)))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise InvalidParameterError(f"{name}: expected a non-negative integer, got {describe(random_state)}")
        return np.random.SeedSequence(int(random_state))
    raise InvalidParameterError(
        f"{name}: expected None, a non-negative integer, a numpy Generator or SeedSequence, got {describe(random_state)}"
    )


def check_bool(value: Any, name: str) -> bool:
    """``value`` as a bool: True, False or a numpy boolean; anything else is refused, naming ``name``.

    >>> check_bool(np.True_, "share_draws")
    True
    >>> check_bool(1, "share_draws")
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: share_draws: expected True or False, got 1 (int)
    """
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name}: expected True or False, got {describe(value)}")
    return bool(value)


def check_level(level: Any, name: str = "level") -> float:
    """The coverage of an interval: a number strictly between 0 and 1.

    >>> check_level(0.9)
    0.9
    >>> check_level(1.0)
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: level: expected a coverage in (0, 1), got 1.0 (float)
    """
    value = check_float(level, name)
    if not 0.0 < value < 1.0:
        raise InvalidParameterError(f"{name}: expected a coverage in (0, 1), got {describe(level)}")
    return value


class RowSeeds(np.random.SeedSequence):
    """The seed of rows that are part of a larger set: row ``i`` of a call draws exactly as row
    ``row_ids[i]`` of one call over the whole set would (row-seeded methods give the same values
    whatever the split: resumable dataset jobs, joined service requests).

    >>> whole = [child_seed(np.random.SeedSequence(7), i).generate_state(1)[0] for i in range(5)]
    >>> part = RowSeeds(7, [3, 4])
    >>> [child_seed(part, i).generate_state(1)[0] for i in range(2)] == whole[3:]
    True
    """

    def __init__(self, entropy: int, row_ids: Any, *, spawn_key: tuple[int, ...] = ()) -> None:
        super().__init__(entropy, spawn_key=spawn_key)
        ids = np.asarray(row_ids)
        if ids.ndim != 1 or ids.size == 0 or ids.dtype.kind not in "iu" or (ids < 0).any():
            raise InvalidParameterError(f"row_ids: expected a 1-D sequence of non-negative integers, got {describe(row_ids)}")
        self.row_ids = ids.astype(np.int64)


def child_seed(seed: np.random.SeedSequence, i: int) -> np.random.SeedSequence:
    """The seed of unit ``i`` (a row) of a call seeded by ``seed``: its ``i``-th child, or the child of the row
    ``seed.row_ids[i]`` stands for when ``seed`` is a :class:`RowSeeds`."""
    ids = getattr(seed, "row_ids", None)
    if ids is not None and not 0 <= i < ids.size:
        raise InvalidParameterError(f"random_state: the RowSeeds hold {ids.size} row ids, got row {i} of the call")
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, int(i) if ids is None else int(ids[i])))


def spawn_seeds(random_state: RandomState, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent child seeds, one per unit of work (row or chunk).

    The children depend only on ``random_state`` and their index, so the same unit gets the
    same stream whichever executor runs it.

    >>> a = spawn_seeds(0, 3); b = spawn_seeds(0, 3)
    >>> [s.generate_state(1)[0] for s in a] == [s.generate_state(1)[0] for s in b]
    True
    """
    root = check_random_state(random_state)
    return [child_seed(root, i) for i in range(n)]


def check_feature_names(names: Any, n_features: int, name: str = "feature_names") -> list[str]:
    """Check one name per feature: a sequence (not a string) of ``n_features`` distinct names.

    >>> check_feature_names(["a", "b"], 2)
    ['a', 'b']
    >>> check_feature_names("ab", 2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: feature_names: expected a list of 2 names, got 'ab' (str); a string ...
    """
    if isinstance(names, (str, bytes)):
        raise InvalidParameterError(
            f"{name}: expected a list of {n_features} names, got {describe(names)}; a string is one name, "
            "not a list of names"
        )
    if isinstance(names, (Mapping, set, frozenset)) or not isinstance(names, Iterable):
        raise InvalidParameterError(f"{name}: expected a list of {n_features} names, got {describe(names)}")
    out = [str(n) for n in names]
    if len(out) != n_features:
        raise InvalidParameterError(
            f"{name}: expected {n_features} names (one per feature), got {len(out)}: {out[:20]}"
        )
    seen: set[str] = set()
    dup = [n for n in out if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    if dup:
        raise InvalidParameterError(f"{name}: expected unique names, got {dup[0]!r} more than once in {out[:20]}")
    return out


def format_bytes(n: float) -> str:
    """A number of bytes for people.

    >>> format_bytes(3 * 2**30)
    '3.2 GB'
    """
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"  # pragma: no cover


def memory_limit() -> int:
    """Bytes a single computation may hold: half of the memory available now (or of the
    machine's memory where that is unknown; 4 GB where both are).

    ``XAIKIT_MEMORY_LIMIT`` (bytes) overrides it.

    >>> memory_limit() > 0
    True
    """
    env = os.environ.get("XAIKIT_MEMORY_LIMIT")
    if env:
        try:
            return max(1, int(float(env)))
        except ValueError:
            pass
    available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        available = None
    if available is None:
        try:
            available = int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, ValueError, OSError):
            available = 8 * 10**9
    return max(1, available // 2)


def check_memory(name: str, given: Any, needed_bytes: float, what: str, hint: str = "") -> None:
    """Refuse up front a parameter whose computation would hold more than :func:`memory_limit`.

    ``what`` says what would be held (e.g. ``"10**9 coalitions x 5 background rows x 1 output"``).

    >>> check_memory("n_samples", 10**12, 8e15, "10**12 values")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: n_samples: expected a budget that fits in memory, got 1000000000000: ...
    """
    limit = memory_limit()
    if needed_bytes > limit:
        raise InvalidParameterError(
            f"{name}: expected a budget that fits in memory, got {given!r}: {what} would take "
            f"{format_bytes(needed_bytes)}, more than the {format_bytes(limit)} allowed (half the memory "
            f"available){'; ' + hint if hint else ''}"
        )


#: Most model evaluations (input rows) the explanation of one row may ask for before its budget
#: is refused as one that cannot be met in time.
MAX_EVALUATIONS = 10**8


def check_work(name: str, given: Any, evaluations: float, what: str, hint: str = "") -> None:
    """Refuse up front a parameter that asks for more than :data:`MAX_EVALUATIONS` model
    evaluations for one row (``what`` says how they add up).

    >>> check_work("n_steps", 10**9, 10**9 * 4, "10**9 steps x 4 baselines")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: n_steps: expected a budget of at most 100000000 model evaluations ...
    """
    if evaluations > MAX_EVALUATIONS:
        raise InvalidParameterError(
            f"{name}: expected a budget of at most {MAX_EVALUATIONS} model evaluations per row, got {given!r}: "
            f"{what} = {int(evaluations)} evaluations{'; ' + hint if hint else ''}"
        )


def check_finite_result(values: np.ndarray, what: str, who: str = "the model") -> np.ndarray:
    """Raise :class:`~xaikit.errors.ModelOutputError` when values computed from a model's finite
    outputs are not finite: the outputs were so large that sums or differences of them overflow.

    >>> check_finite_result(np.array([1.0, np.inf]), "the Shapley values")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xaikit.errors.ModelOutputError: the model's outputs overflow: the Shapley values hold 1 infinite or NaN ...
    """
    values = np.asarray(values)
    bad = ~np.isfinite(values)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ModelOutputError(
            f"{who}'s outputs overflow: {what} hold {int(bad.sum())} infinite or NaN value(s) (first at index "
            f"{where}), computed from finite outputs too large to add or subtract in float64 (up to about "
            "1.8e308); rescale the model's output"
        )
    return values


#: Most input values (gradient evaluations x values per input) the explanation of one row may ask for.
MAX_GRADIENT_VALUES = 10**11

#: Most Gauss-Legendre nodes: the rule solves an ``n x n`` eigenvalue problem (O(n**3) time).
MAX_GAUSS_LEGENDRE_NODES = 4096


def check_gradient_budget(
    name: str, given: Any, *, per_row: int, input_size: int, what: str, method: str | None = None,
) -> None:
    """Refuse up front a gradient budget that cannot be met in time or memory: ``per_row`` gradient
    evaluations per row of inputs of ``input_size`` values (``what`` says how they add up), and for
    ``method="gausslegendre"`` at most :data:`MAX_GAUSS_LEGENDRE_NODES` nodes.

    >>> check_gradient_budget("n_steps", 10**9, per_row=10**9, input_size=3, what="10**9 steps")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: n_steps: expected a budget of at most 100000000 model evaluations ...
    """
    if method == "gausslegendre" and isinstance(given, int) and given > MAX_GAUSS_LEGENDRE_NODES:
        raise InvalidParameterError(
            f"{name}: expected at most {MAX_GAUSS_LEGENDRE_NODES} Gauss-Legendre nodes, got {given}: the rule's "
            f"nodes come from an {given} x {given} eigenvalue problem ({format_bytes(8.0 * given * given)}, "
            "O(n_steps**3) time), and 4096 nodes already integrate polynomials of degree 8191 exactly; "
            "use fewer steps, or method='riemann_trapezoid'"
        )
    evaluations = float(per_row)
    check_work(name, given, evaluations, what, "lower it")
    if evaluations * input_size > MAX_GRADIENT_VALUES:
        raise InvalidParameterError(
            f"{name}: expected a budget of at most {MAX_GRADIENT_VALUES} input values differentiated per row, got "
            f"{given!r}: {what} x {input_size} values per input = {evaluations * input_size:.3g}; lower it"
        )
    # the quadrature's nodes and weights, or the draws, held at once
    check_memory(name, given, 16.0 * per_row, f"{per_row} nodes or draws per row", "lower it")


def several_inputs(X: Any) -> bool:
    """Whether ``X`` holds several inputs of a network: a dict, or a tuple or list of which an item is an
    array or tensor (a list of lists of numbers is one array).

    >>> several_inputs((np.zeros((2, 3)), np.zeros((2, 1)))), several_inputs([[1.0, 2.0]]), several_inputs({"a": 1})
    (True, False, True)
    """
    if isinstance(X, dict):
        return True
    return isinstance(X, (tuple, list)) and any(
        not isinstance(item, (tuple, list)) and getattr(item, "ndim", 0) >= 1 for item in X
    )


def check_one_input(X: Any, name: str = "X") -> None:
    """Refuse a tuple or list of arrays or tensors (several inputs, or rows given apart): several inputs
    are not supported yet, and stacking them without a word could misread them. A list of lists of
    numbers is one array and passes.

    >>> check_one_input([[1.0, 2.0], [3.0, 4.0]])
    >>> check_one_input((np.zeros((2, 3)), np.zeros((2, 3))))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: X: expected one array or tensor (n, ...), got a tuple of 2 arrays (shapes ...
    """
    if isinstance(X, (tuple, list)) and several_inputs(X):
        shapes = ", ".join(str(tuple(getattr(item, "shape", ()))) for item in X[:10])
        raise InvalidParameterError(
            f"{name}: expected one array or tensor (n, ...), got a {type(X).__name__} of {len(X)} arrays "
            f"(shapes {shapes}); models with several inputs are not supported yet, and rows given as "
            "separate arrays are refused rather than guessed: stack them into one array"
        )


def check_batch(X: Any, name: str = "X") -> np.ndarray:
    """One batch of inputs ``(n, ...)`` (an array, nested lists or a tensor) as a finite float64 array
    with at least two axes; several inputs refused (:func:`check_one_input`).

    >>> check_batch([[1, 2]]).dtype, check_batch(np.zeros((2, 3, 4))).shape
    (dtype('float64'), (2, 3, 4))
    """
    check_one_input(X, name)
    if hasattr(X, "detach") and hasattr(X, "numpy"):  # a torch tensor
        X = X.detach().cpu().numpy()
    return check_array(X, name, ndim=tuple(range(2, 9)))

