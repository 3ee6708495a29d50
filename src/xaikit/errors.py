"""Errors and warnings raised by xaikit.

Every error message names the parameter (or object) at fault, what was expected and
what was given.

Hierarchy
---------
XaikitError
    InvalidParameterError (also a ValueError): a parameter or an input array is not acceptable.
    UnsupportedModelError (also a TypeError): xaikit cannot adapt or explain this model.
    MissingDependencyError (also an ImportError): an optional package is needed; the message gives the
        ``pip install xaikit[extra]`` line.
    ModelOutputError (also a ValueError): the model returned NaN/inf, strings or the wrong shape.
    CompletenessError (also an ArithmeticError): attributions do not add up within the tolerance asked for.
    FormatError (also a ValueError): a saved file is not a valid xaikit file or has an unknown version.
    ContractError (also a TypeError): an explainer class does not follow the explainer contract (raised
        when the class is created, so a method that breaks it cannot be registered).
    DataNotFoundError (also a FileNotFoundError): an external dataset is not on this machine (xaikit
        never downloads data); the message names the path and the ``XAIKIT_DATA`` variable.

XaikitWarning
    ConvergenceWarning: a sampled estimator stopped before reaching the tolerance asked for.
    ApproximationWarning: a result is approximate where the user may expect it to be exact.

Examples
--------
>>> from xaikit.errors import InvalidParameterError
>>> issubclass(InvalidParameterError, ValueError)
True
"""

from __future__ import annotations

__all__ = [
    "XaikitError",
    "InvalidParameterError",
    "UnsupportedModelError",
    "MissingDependencyError",
    "ModelOutputError",
    "CompletenessError",
    "FormatError",
    "ContractError",
    "DataNotFoundError",
    "XaikitWarning",
    "ConvergenceWarning",
    "ApproximationWarning",
]


class XaikitError(Exception):
    """Base class of every error raised by xaikit."""


class InvalidParameterError(XaikitError, ValueError):
    """A parameter or an input array is not acceptable."""


class UnsupportedModelError(XaikitError, TypeError):
    """xaikit cannot adapt or explain this model."""


class MissingDependencyError(XaikitError, ImportError):
    """An optional dependency is missing."""


class ModelOutputError(XaikitError, ValueError):
    """The model returned something that is not a finite numeric array of the expected shape."""


class CompletenessError(XaikitError, ArithmeticError):
    """Attributions do not sum to the model output difference within the requested tolerance."""


class FormatError(XaikitError, ValueError):
    """A file is not a valid xaikit file, or was written by an unknown format version."""


class ContractError(XaikitError, TypeError):
    """An explainer class does not follow the explainer contract."""


class DataNotFoundError(XaikitError, FileNotFoundError):
    """An external dataset is not on this machine."""


class XaikitWarning(UserWarning):
    """Base class of every warning issued by xaikit."""


class ConvergenceWarning(XaikitWarning):
    """A sampled estimator stopped before reaching the requested tolerance."""


class ApproximationWarning(XaikitWarning):
    """A result is approximate where an exact one may be expected."""
