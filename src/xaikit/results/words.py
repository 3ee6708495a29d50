"""From sub-word tokens back to words: token attributions of a transformer summed per word.

A word-piece tokenizer cuts ``"unwatchable"`` into ``un ##watch ##able``; an explanation made on the
token ids (layer Integrated Gradients on the embeddings, attention rollout, occlusion) gives one
value per token. :func:`words_from_tokens` gives one value per word of the text: by default the sum
of its pieces, so that a sum over words equals the sum over the (non-special) tokens, which keeps
completeness. Words are read from the tokenizer's ``word_ids()`` and character offsets (a fast
Hugging Face tokenizer called with ``return_offsets_mapping=True``); the result is a
:class:`~xaikit.results.RaggedAttribution` whose features are the words of each document with their
character spans, so the text displays and reports highlight the original text.

Special tokens (``[CLS]``, ``[SEP]``: tokens without a word) are dropped by default, or kept apart
as features of their own, named by the token and without a span (``special="keep"``). Padding
(attention mask 0) is always dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from xaikit._validation import check_choice, describe
from xaikit.errors import InvalidParameterError
from xaikit.results.attribution import Attribution
from xaikit.results.ragged import RaggedAttribution

__all__ = ["token_word_groups", "words_from_tokens"]


def _encoding_rows(encoding: Any, n: int, width: int) -> list[dict[str, Any]]:
    """Per row: ``word_ids`` (list of int or None), ``offsets`` (list of (start, end)), ``mask`` (list of 0/1) and
    ``tokens`` (list of str or None), each of length ``width``."""

    def field(key: str) -> Any:
        try:
            value = encoding[key]
        except (KeyError, TypeError, IndexError):
            return None
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        return value

    offsets = field("offset_mapping")
    if offsets is None:
        raise InvalidParameterError(
            "encoding: expected a tokenizer output with 'offset_mapping' (call a fast tokenizer with "
            f"return_offsets_mapping=True) or a dict with 'word_ids' and 'offset_mapping', got {describe(encoding)}"
        )
    word_ids = field("word_ids")
    masks = field("attention_mask")
    rows = []
    for i in range(n):
        if word_ids is not None:
            ids = list(word_ids[i])
        elif callable(getattr(encoding, "word_ids", None)):
            ids = list(encoding.word_ids(i))
        else:
            raise InvalidParameterError(
                "encoding: expected word_ids (a fast tokenizer's output, or a dict with 'word_ids'), "
                f"got {describe(encoding)} without them"
            )
        tokens = None
        if callable(getattr(encoding, "tokens", None)):
            tokens = list(encoding.tokens(i))
        elif field("tokens") is not None:
            tokens = list(field("tokens")[i])
        offs = [tuple(int(v) for v in pair) for pair in np.asarray(offsets[i]).reshape(-1, 2)]
        mask = [1] * len(ids) if masks is None else [int(v) for v in np.asarray(masks[i]).ravel()]
        if not (len(ids) == len(offs) == len(mask) == width) or (tokens is not None and len(tokens) != width):
            raise InvalidParameterError(
                f"encoding: row {i} has {len(ids)} word ids, {len(offs)} offsets and {len(mask)} mask values; "
                f"expected {width} each (one per token of values)"
            )
        rows.append({"word_ids": ids, "offsets": offs, "mask": mask, "tokens": tokens})
    return rows


def token_word_groups(encoding: Any, n_rows: int | None = None) -> np.ndarray:
    """Each token's word, as integer groups ``(n, tokens)``, e.g. a ``feature_mask`` that ablates whole words.

    Word ``k`` of a row (in text order) is group ``k``; each special token and each padding
    position is a group of its own, numbered after the words.

    Parameters
    ----------
    encoding : tokenizer output or dict
        As for :func:`words_from_tokens`.
    n_rows : int, optional
        Rows of the encoding (default: the length of its ``offset_mapping``).

    Examples
    --------
    >>> enc = {"word_ids": [[None, 0, 0, 1, None]], "offset_mapping": [[(0, 0), (0, 2), (2, 5), (6, 10), (0, 0)]]}
    >>> token_word_groups(enc).tolist()
    [[2, 0, 0, 1, 3]]
    """
    try:
        offsets = encoding["offset_mapping"]
        n = len(offsets) if n_rows is None else int(n_rows)
        width = len(offsets[0])
    except (KeyError, TypeError, IndexError):
        raise InvalidParameterError(
            f"encoding: expected a tokenizer output with 'offset_mapping' (return_offsets_mapping=True), got {describe(encoding)}"
        ) from None
    rows = _encoding_rows(encoding, n, width)
    groups = np.zeros((n, width), dtype=np.int64)
    for i, row in enumerate(rows):
        order = {w: k for k, w in enumerate(dict.fromkeys(w for w, m in zip(row["word_ids"], row["mask"]) if w is not None and m))}
        extra = len(order)
        for t, (w, m) in enumerate(zip(row["word_ids"], row["mask"])):
            if w is not None and m:
                groups[i, t] = order[w]
            else:
                groups[i, t] = extra
                extra += 1
    return groups


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def words_from_tokens(
    values: Any,
    texts: str | Sequence[str],
    encoding: Any,
    *,
    pieces: str = "sum",
    special: str = "drop",
    base_values: Any = None,
    output_names: Sequence[str] | None = None,
    method: str | None = None,
    params: Mapping[str, Any] | None = None,
    diagnostics: Mapping[str, Any] | None = None,
) -> RaggedAttribution:
    """Token attributions mapped to the words of each text: a :class:`~xaikit.results.RaggedAttribution`.

    Parameters
    ----------
    values : Attribution or array (n, tokens) or (n, tokens, n_outputs)
        One value per token (e.g. layer IG summed over the embedding dimension). An
        :class:`~xaikit.results.Attribution` with one feature per token also brings its
        ``base_values``, ``output_names``, ``method``, ``params`` and its per-row diagnostics
        (those shaped ``(n, n_outputs)``, such as ``completeness_gap``).
    texts : str or list of str
        The documents the tokenizer was given, one per row.
    encoding : tokenizer output or dict
        ``tokenizer(texts, return_offsets_mapping=True, padding=True)`` of a fast Hugging Face
        tokenizer (``word_ids(i)``, ``offset_mapping``, ``attention_mask``, ``tokens(i)``), or a dict
        with ``"word_ids"`` and ``"offset_mapping"`` (``"attention_mask"`` and ``"tokens"`` optional).
    pieces : {"sum", "shared"}
        ``"sum"``: a word's value is the sum of its pieces' values. ``"shared"``: every piece already
        carries the word's value (feature ablation with a ``feature_mask`` of whole words,
        :func:`token_word_groups`): the word takes it, and pieces that disagree are an error.
    special : {"drop", "keep"}
        Special tokens (without a word): dropped, or kept as features of their own after the
        words, named by the token (e.g. ``"[CLS]"``), without a span.
    base_values : array (n, n_outputs), optional
        Default: the Attribution's, else zeros.
    output_names, method, params, diagnostics : optional
        Default: the Attribution's (``method`` ``"token_attribution"`` for an array).

    Returns
    -------
    RaggedAttribution
        Row ``i``: the words of ``texts[i]`` in order, named by their text (repeats get
        ``" (2)"``...), with their character spans; values ``(n, max_words, n_outputs)``.

    Examples
    --------
    >>> enc = {"word_ids": [[None, 0, 0, 1, None]], "offset_mapping": [[(0, 0), (0, 2), (2, 5), (6, 10), (0, 0)]]}
    >>> exp = words_from_tokens([[0.5, 1.0, 2.0, -1.0, 0.25]], ["unfit film"], enc)
    >>> exp.row_feature_names, exp.values[0, :, 0].tolist(), exp.spans[0]
    ([['unfit', 'film']], [3.0, -1.0], [[(0, 5)], [(6, 10)]])
    >>> words_from_tokens([[0.5, 1.0, 2.0, -1.0, 0.25]], ["unfit film"], enc, special="keep").row_feature_names
    [['unfit', 'film', 'token0', 'token4']]
    """
    check_choice(pieces, "pieces", ["sum", "shared"])
    check_choice(special, "special", ["drop", "keep"])
    source: Attribution | None = None
    if isinstance(values, Attribution):
        source = values
        arr = np.asarray(values.values, dtype=np.float64)
    else:
        if hasattr(values, "detach"):
            values = values.detach().cpu().numpy()
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"values: expected numbers (n, tokens) or (n, tokens, n_outputs), got {describe(values)}") from None
        if arr.ndim == 2:
            arr = arr[:, :, None]
    if arr.ndim != 3:
        raise InvalidParameterError(f"values: expected an array (n, tokens) or (n, tokens, n_outputs), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise InvalidParameterError("values: expected finite numbers, got NaN or infinite values")
    n, width, n_out = arr.shape
    docs = [texts] if isinstance(texts, str) else texts
    if isinstance(docs, (bytes, Mapping)) or not isinstance(docs, Sequence) or len(docs) != n or not all(isinstance(t, str) for t in docs):
        raise InvalidParameterError(f"texts: expected {n} strings (one per row of values), got {describe(texts)}")
    rows = _encoding_rows(encoding, n, width)

    names_out: list[list[str]] = []
    spans_out: list[list[list[tuple[int, int]]]] = []
    word_values: list[np.ndarray] = []
    for i, row in enumerate(rows):
        words: dict[int, dict[str, Any]] = {}
        specials: list[tuple[str, np.ndarray]] = []
        for t, (w, (s, e), m) in enumerate(zip(row["word_ids"], row["offsets"], row["mask"])):
            if not m:
                continue
            if w is None:
                label = row["tokens"][t] if row["tokens"] is not None else f"token{t}"
                specials.append((str(label), arr[i, t]))
                continue
            if e > len(docs[i]) or s < 0 or e < s:
                raise InvalidParameterError(
                    f"encoding: token {t} of row {i} has offsets ({s}, {e}) outside texts[{i}] of {len(docs[i])} characters; "
                    "expected the encoding of these texts"
                )
            word = words.setdefault(w, {"start": s, "end": e, "values": []})
            word["start"], word["end"] = min(word["start"], s), max(word["end"], e)
            word["values"].append(arr[i, t])
        row_names, row_spans, row_values = [], [], []
        for w, word in words.items():
            stack = np.stack(word["values"])
            if pieces == "sum":
                value = stack.sum(axis=0)
            else:
                value = stack[0]
                if not np.allclose(stack, value, rtol=1e-9, atol=1e-12):
                    raise InvalidParameterError(
                        f"values: pieces='shared' expects every piece of a word to carry the word's value; word "
                        f"{docs[i][word['start']:word['end']]!r} of row {i} has pieces {stack[:, 0].tolist()} (output 0)"
                    )
            row_names.append(docs[i][word["start"] : word["end"]] or f"word{w}")
            row_spans.append([(word["start"], word["end"])])
            row_values.append(value)
        if special == "keep":
            for label, value in specials:
                row_names.append(label)
                row_spans.append([])
                row_values.append(value)
        names_out.append(_unique(row_names))
        spans_out.append(row_spans)
        word_values.append(np.array(row_values, dtype=np.float64).reshape(len(row_values), n_out))

    max_words = max((len(v) for v in word_values), default=0)
    padded = np.zeros((n, max(max_words, 1), n_out))
    for i, v in enumerate(word_values):
        padded[i, : len(v)] = v

    if base_values is None:
        base_values = source.base_values if source is not None else np.zeros((n, n_out))
    if output_names is None and source is not None:
        output_names = source.output_names
    if method is None:
        method = source.method if source is not None else "token_attribution"
    merged_params: dict[str, Any] = dict(source.params) if source is not None else {}
    merged_params.update(params or {})
    merged_params.update({"tokens_to_words": pieces, "special_tokens": special})
    if diagnostics is None and source is not None:
        diagnostics = {k: v for k, v in source.diagnostics.items() if isinstance(v, np.ndarray) and v.shape == (n, n_out)}
    return RaggedAttribution(
        values=padded, base_values=base_values, output_names=None if output_names is None else list(output_names),
        row_feature_names=names_out, spans=spans_out, texts=list(docs), method=method, params=merged_params,
        diagnostics=dict(diagnostics or {}),
    )
