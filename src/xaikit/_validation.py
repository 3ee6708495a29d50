"""Validation at the boundary: arrays, integers, choices, seeds.

Every check raises :class:`~xaikit.errors.InvalidParameterError` whose message names the
parameter, what was expected and what was given.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from xaikit.errors import InvalidParameterError

__all__ = [
    "check_array",
    "check_int",
    "check_float",
    "check_choice",
    "check_random_state",
    "spawn_seeds",
    "describe",
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

    Examples
    --------
    >>> check_array([[1, 2], [3, 4]], "X").dtype
    dtype('float64')
    >>> check_array([[1, 2]], "X", n_features=3)
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: X: expected 3 features (columns), got 2
    """
    ndims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if isinstance(X, (str, bytes)):
        raise InvalidParameterError(f"{name}: expected a numeric array, got {describe(X)}")
    try:
        arr = np.asarray(X) if dtype is None else np.asarray(X, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"{name}: expected a numeric array, got {describe(X)} that cannot be converted ({exc})"
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
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
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


def spawn_seeds(random_state: RandomState, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent child seeds, one per unit of work (row or chunk).

    The children depend only on ``random_state`` and their index, so the same unit gets the
    same stream whichever executor runs it.

    >>> a = spawn_seeds(0, 3); b = spawn_seeds(0, 3)
    >>> [s.generate_state(1)[0] for s in a] == [s.generate_state(1)[0] for s in b]
    True
    """
    root = check_random_state(random_state)
    return [np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, i)) for i in range(n)]
