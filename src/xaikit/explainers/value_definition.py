"""Which game a result holds the Shapley values of: ``diagnostics["value_definition"]``.

Every Shapley-family result (the exact and sampled model-agnostic estimators and TreeShap) records
one small JSON-able dict built here, so that two results can be compared by what they mean rather
than by the method that produced them:

``output``
    The model output whose game is explained: ``"probability"``, ``"log_odds"``, ``"raw"``
    (the model's raw score: a regressor's prediction, a classifier's ``decision_function`` or a
    tree ensemble's margin), or a per-reference rescaling of the margin
    (``"probability_rescaled"``, ``"response_rescaled"``) that is *not* the Shapley value of
    any single game on the response scale.
``value_function``
    ``"interventional"`` (the mean over background rows of the output with the coalition's
    features taken from the explained row), ``"path_dependent"`` (the trees' training cover
    stands for the missing features) or ``"masked"`` (documents and images: the output on the
    input with the coalition's tokens or segments kept and the others masked, as the masker
    renders it; ``masker`` then names the masker's kind).
``background_rows``
    The number of background rows (None for the path-dependent value function).
``estimate``
    ``"exact"`` or ``"sampled"``.
``rescaled``
    Whether the values are margin values rescaled per background row (shap's convention).
``text``
    The same in one sentence.
"""

from __future__ import annotations

from typing import Any

from xaikit._validation import check_choice
from xaikit.errors import InvalidParameterError

__all__ = ["OUTPUT_MEANINGS", "value_definition"]

#: What each output name means, in words.
OUTPUT_MEANINGS: dict[str, str] = {
    "probability": "the predicted probability",
    "log_odds": "the log-odds (the margin of a logistic link)",
    "raw": "the model's raw output",
    "log_response": "the log of the predicted response (the margin of an exp link)",
    "probability_rescaled": "the probability",
    "response_rescaled": "the predicted response",
}

_RESCALED = ("probability_rescaled", "response_rescaled")
_VALUE_FUNCTIONS = ("interventional", "path_dependent", "masked")
_ESTIMATES = ("exact", "sampled")


def value_definition(
    *,
    output: str,
    value_function: str,
    background_rows: int | None,
    estimate: str,
    masker: str | None = None,
    masking: str | None = None,
) -> dict[str, Any]:
    """The ``value_definition`` diagnostic of a Shapley-family result.

    Parameters
    ----------
    output : str
        The explained output (see the module docstring); an output name not listed there is
        recorded as it is.
    value_function : {"interventional", "path_dependent", "masked"}
    background_rows : int or None
        Number of background rows of the interventional value function; None otherwise.
    estimate : {"exact", "sampled"}
    masker, masking : str, optional
        For ``"masked"``: the masker's kind (``"text"``, ``"image"``) and how it hides a player, in words.

    Returns
    -------
    dict
        ``output``, ``value_function``, ``background_rows``, ``estimate``, ``rescaled``, ``text``;
        JSON-serialisable.

    Examples
    --------
    >>> d = value_definition(output="log_odds", value_function="interventional", background_rows=20,
    ...                      estimate="exact")
    >>> d["rescaled"], d["text"]
    (False, 'Exact Shapley values of the log-odds (the margin of a logistic link), interventional: the mean over 20 background rows.')
    >>> value_definition(output="probability_rescaled", value_function="interventional", background_rows=5,
    ...                  estimate="exact")["rescaled"]
    True
    """
    if not isinstance(output, str) or not output:
        raise InvalidParameterError(f"output: expected a non-empty output name, got {output!r}")
    check_choice(value_function, "value_function", _VALUE_FUNCTIONS)
    check_choice(estimate, "estimate", _ESTIMATES)
    if value_function == "interventional":
        if background_rows is None or isinstance(background_rows, bool) or int(background_rows) < 1:
            raise InvalidParameterError(
                f"background_rows: expected a positive number of rows for the interventional value function, "
                f"got {background_rows!r}"
            )
        background: int | None = int(background_rows)
        game = f"interventional: the mean over {background} background row{'s' if background != 1 else ''}"
    elif value_function == "masked":
        if not masker or not masking:
            raise InvalidParameterError(f"masker: the masked value function needs the masker's kind and masking, got {masker!r}")
        background = None
        game = f"masked: {masking}"
    else:
        background = None
        game = "path-dependent: the trees' training cover stands for the missing features"
    rescaled = output in _RESCALED
    how = "Exact" if estimate == "exact" else "Sampled estimates of the"
    meaning = OUTPUT_MEANINGS.get(output, f"the output {output!r}")
    if rescaled:
        text = (
            f"{how} Shapley values of the margin, {game}, rescaled per background row to the change in "
            f"{meaning} (shap's convention); not the Shapley values of {meaning}."
        )
    else:
        text = f"{how} Shapley values of {meaning}, {game}."
    definition: dict[str, Any] = {
        "output": output,
        "value_function": value_function,
        "background_rows": background,
        "estimate": estimate,
        "rescaled": rescaled,
        "text": text,
    }
    if value_function == "masked":
        definition["masker"] = masker
    return definition
