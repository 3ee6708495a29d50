"""Hiding words of a document: the perturbations LIME uses for text.

A document is split into tokens (by default the maximal runs of word characters, ``\\w+``) and
the text between them (the separators). Every interpretable feature is a set of token
occurrences:

* ``features="bag_of_words"``: one feature per distinct token; hiding it hides every
  occurrence (``lowercase=True`` groups tokens that differ only in case);
* ``features="positional"``: one feature per occurrence, for models that use word order.

Features are numbered in order of first appearance. A coalition is a row of 0/1 values, one per
feature (1 = kept); :meth:`TextMasker.render` turns it back into a document, either dropping the
hidden tokens (``mode="remove"``; every separator is kept, so ``"a, b"`` without ``b`` is
``"a, "``) or replacing each hidden occurrence with ``mask_token`` (``mode="mask"``).

A :class:`TextItem` keeps the document as the alternating sequence
``separator, token, separator, ..., token, separator`` together with the feature of each token
occurrence, so rendering a coalition is one list join.

Sampling (:meth:`TextMasker.sample`) and distances (:meth:`TextMasker.distances`) follow
``lime.lime_text.LimeTextExplainer``: each perturbation hides a number of features drawn
uniformly from ``1..d``, chosen uniformly without replacement, and the distance of a
perturbation to the document is the cosine distance of its row to the all-ones row, times 100.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xaikit._validation import check_array, check_choice, check_int, describe
from xaikit.errors import InvalidParameterError
from xaikit.maskers.neighbourhood import SAMPLINGS, uniforms

__all__ = ["TextItem", "TextMasker"]

#: The default token pattern: maximal runs of word characters (LIME splits on ``\W+``).
DEFAULT_TOKEN_PATTERN = r"\w+"

Span = tuple[int, int]


@dataclass(frozen=True)
class TextItem:
    """One document split into interpretable features.

    Attributes
    ----------
    text : str
        The document.
    feature_names : tuple of str
        ``d`` unique names, one per interpretable feature, in order of first appearance.
    tokens : tuple of str
        ``d`` token strings: the text of each feature's first occurrence (positional features
        of a repeated word repeat it).
    spans : tuple of tuples of (int, int)
        Per feature, the ``(start, end)`` character spans of its occurrences in ``text``;
        ``text[start:end] == token`` (up to case when tokens were grouped with ``lowercase``).

    Examples
    --------
    >>> item = TextMasker().prepare("to be, or not to be")[0]
    >>> item.n_features, item.feature_names
    (4, ('to', 'be', 'or', 'not'))
    >>> item.spans[0]
    ((0, 2), (14, 16))
    """

    text: str
    feature_names: tuple[str, ...]
    tokens: tuple[str, ...]
    spans: tuple[tuple[Span, ...], ...]
    #: ``separator, token, separator, ..., token, separator`` (``2 m + 1`` pieces for ``m`` occurrences).
    _pieces: tuple[str, ...] = field(default=("",), repr=False)
    #: The feature of each token occurrence (``m`` indices).
    _occurrence_feature: tuple[int, ...] = field(default=(), repr=False)

    @property
    def n_features(self) -> int:
        """Number of interpretable features ``d``."""
        return len(self.feature_names)

    @property
    def n_occurrences(self) -> int:
        """Number of token occurrences in the document."""
        return len(self._occurrence_feature)


class TextMasker:
    """Hide words of documents, as LIME does for text.

    Parameters
    ----------
    tokenizer : None, str, compiled regex or callable
        ``None``: tokens are the maximal runs of word characters (``\\w+``, Unicode aware; the
        same tokens LIME gets by splitting on ``\\W+``). A str (or compiled pattern) is a regex
        whose matches are the tokens (note: LIME's ``split_expression`` is a separator pattern
        instead). A callable takes the text and returns either a list of token strings, found in
        the text left to right, or a list of ``(start, end)`` spans. Empty tokens are ignored.
    mode : {"remove", "mask"}
        ``"remove"``: hidden tokens are dropped, the text between tokens is kept (as LIME's
        ``inverse_removing``). ``"mask"``: each hidden occurrence is replaced by ``mask_token``.
    mask_token : str
        Replacement for hidden tokens in ``"mask"`` mode.
    features : {"bag_of_words", "positional"}
        One feature per distinct token, or one per occurrence. Positional names are unique:
        the first occurrence of a word is the word itself, later ones ``word#2``, ``word#3``...
    lowercase : bool
        Identify tokens by their lowercased form: bag-of-words features group tokens case
        insensitively, and feature names are lowercased. Spans still index the original text.

    Examples
    --------
    >>> masker = TextMasker()
    >>> item = masker.prepare("the cat saw the dog")[0]
    >>> item.feature_names
    ('the', 'cat', 'saw', 'dog')
    >>> masker.render(item, np.array([[1, 1, 1, 1], [0, 1, 1, 1], [1, 0, 1, 0]]))
    ['the cat saw the dog', ' cat saw  dog', 'the  saw the ']
    >>> positional = TextMasker(mode="mask", features="positional")
    >>> item = positional.prepare("the cat saw the dog")[0]
    >>> item.feature_names
    ('the', 'cat', 'saw', 'the#2', 'dog')
    >>> positional.render(item, np.array([[1, 1, 1, 0, 1]]))
    ['the cat saw UNKWORDZ dog']
    """

    kind: str = "text"
    default_kernel_width: float = 25.0
    #: Documents per model call when a value function or LIME is given no ``batch_size``.
    default_batch_size: int = 1000

    def __init__(
        self,
        tokenizer: str | re.Pattern[str] | Callable[[str], Any] | None = None,
        *,
        mode: str = "remove",
        mask_token: str = "UNKWORDZ",
        features: str = "bag_of_words",
        lowercase: bool = False,
    ) -> None:
        self.tokenizer = tokenizer
        self._regex: re.Pattern[str] | None
        if tokenizer is None:
            self._regex = re.compile(DEFAULT_TOKEN_PATTERN, re.UNICODE)
        elif isinstance(tokenizer, re.Pattern):
            if not isinstance(tokenizer.pattern, str):
                raise InvalidParameterError(
                    f"tokenizer: expected a str pattern, got a bytes pattern {describe(tokenizer)}"
                )
            self._regex = tokenizer
        elif isinstance(tokenizer, str):
            try:
                self._regex = re.compile(tokenizer, re.UNICODE)
            except re.error as exc:
                raise InvalidParameterError(
                    f"tokenizer: expected a valid regular expression, got {describe(tokenizer)} ({exc})"
                ) from None
        elif callable(tokenizer):
            self._regex = None
        else:
            raise InvalidParameterError(
                "tokenizer: expected None, a regular expression (str) whose matches are the tokens, or a "
                f"callable text -> list of tokens or (start, end) spans; got {describe(tokenizer)}"
            )
        self.mode = check_choice(mode, "mode", ["remove", "mask"])
        if not isinstance(mask_token, str):
            raise InvalidParameterError(f"mask_token: expected a str, got {describe(mask_token)}")
        self.mask_token = mask_token
        self.features = check_choice(features, "features", ["bag_of_words", "positional"])
        if not isinstance(lowercase, (bool, np.bool_)):
            raise InvalidParameterError(f"lowercase: expected True or False, got {describe(lowercase)}")
        self.lowercase = bool(lowercase)

    def __repr__(self) -> str:
        tok = "None" if self.tokenizer is None else self._tokenizer_label()
        return (
            f"TextMasker(tokenizer={tok}, mode={self.mode!r}, mask_token={self.mask_token!r}, "
            f"features={self.features!r}, lowercase={self.lowercase})"
        )

    # ------------------------------------------------------------------ tokens
    def _tokenizer_label(self) -> str:
        if self._regex is not None:
            return repr(self._regex.pattern)
        tok = self.tokenizer
        module = getattr(tok, "__module__", None) or type(tok).__module__
        qualname = getattr(tok, "__qualname__", None) or type(tok).__qualname__
        return f"{module}.{qualname}"

    def tokenize(self, text: str) -> list[Span]:
        """The ``(start, end)`` spans of the tokens of ``text``, sorted and non-overlapping.

        >>> TextMasker().tokenize("Hi, there!")
        [(0, 2), (4, 9)]
        >>> TextMasker(r"\\S+").tokenize("Hi, there!")
        [(0, 3), (4, 10)]
        """
        if self._regex is not None:
            return [m.span() for m in self._regex.finditer(text) if m.end() > m.start()]
        return _spans_from_callable(self.tokenizer, text)

    # ------------------------------------------------------------------ documents
    def prepare(self, X: Any, name: str = "X") -> list[TextItem]:
        """Split each document of ``X`` (a str, or a sequence of str) into features.

        Examples
        --------
        >>> items = TextMasker().prepare(["good film", "bad, bad film"])
        >>> [item.feature_names for item in items]
        [('good', 'film'), ('bad', 'film')]
        >>> TextMasker().prepare(["fine", 3])
        Traceback (most recent call last):
        ...
        xaikit.errors.InvalidParameterError: X: expected every document to be a str; element 1 is 3 (int)
        """
        return [self._prepare_one(doc) for doc in _documents(X, name)]

    def _prepare_one(self, text: str) -> TextItem:
        occurrences = self.tokenize(text)
        pieces: list[str] = []
        pos = 0
        for start, end in occurrences:
            pieces.append(text[pos:start])
            pieces.append(text[start:end])
            pos = end
        pieces.append(text[pos:])
        words = pieces[1::2]
        keys = [w.lower() for w in words] if self.lowercase else words
        if self.features == "bag_of_words":
            index: dict[str, int] = {}
            occ_feature = [index.setdefault(k, len(index)) for k in keys]
            names = list(index)
            firsts = [-1] * len(names)
            for i, j in enumerate(occ_feature):
                if firsts[j] < 0:
                    firsts[j] = i
            tokens = [words[i] for i in firsts]
            grouped: list[list[Span]] = [[] for _ in names]
            for i, j in enumerate(occ_feature):
                grouped[j].append(occurrences[i])
            spans = tuple(tuple(g) for g in grouped)
        else:
            names = _positional_names(keys)
            occ_feature = list(range(len(words)))
            tokens = list(words)
            spans = tuple((s,) for s in occurrences)
        return TextItem(
            text=text,
            feature_names=tuple(names),
            tokens=tuple(tokens),
            spans=spans,
            _pieces=tuple(pieces),
            _occurrence_feature=tuple(occ_feature),
        )

    # ------------------------------------------------------------------ coalitions
    def kept_count_law(self, item: TextItem) -> np.ndarray | None:
        """``prob[c]``, ``c = 0..d``: the probability that a perturbation of :meth:`sample` (any row
        but row 0, in either sampling) keeps ``c`` of the document's ``d`` features; given ``c``, the
        kept features are a uniformly random set. LIME hides ``k`` uniform in ``1..d``, so ``c`` is
        uniform in ``0..d-1`` (one feature: hidden or kept, 1/2 each).

        None for a subclass that draws its own way (overrides :meth:`sample`): it states its own law.

        >>> TextMasker().kept_count_law(TextMasker().prepare("a b c")[0]).round(4).tolist()
        [0.3333, 0.3333, 0.3333, 0.0]
        """
        if type(self).sample is not TextMasker.sample:
            return None
        d = item.n_features
        if d <= 1:
            return np.array([1.0]) if d == 0 else np.array([0.5, 0.5])
        prob = np.full(d + 1, 1.0 / d)
        prob[d] = 0.0
        return prob

    def sample(self, item: TextItem, n_samples: int, rng: np.random.Generator, *, sampling: str = "iid") -> np.ndarray:
        """``n_samples`` coalitions ``(n_samples, d)`` of 0/1 (float64); row 0 keeps everything.

        Every other row hides ``k`` features, ``k`` uniform in ``1..d``, chosen uniformly without
        replacement (LIME's scheme, vectorised). With a single feature each row hides it with
        probability 1/2; with none the array has no columns.

        ``sampling="stratified"`` draws the same distribution from quasi-random uniforms
        (:func:`xaikit.maskers.neighbourhood.uniforms`, ``d + 1`` per row): with ``u_0`` uniform,
        hiding each feature ``j`` where ``u_j < u_0`` hides ``k`` features with ``k`` uniform in
        ``0..d`` and, given ``k``, a uniformly random subset; the rows that hide nothing (``k = 0``)
        are replaced by independent draws of LIME's scheme, which leaves exactly LIME's
        distribution. The quasi-random points spread the counts and which features go together
        evenly over the rows.

        Examples
        --------
        >>> item = TextMasker().prepare("one two three four")[0]
        >>> S = TextMasker().sample(item, 6, np.random.default_rng(0))
        >>> S.shape, S[0].tolist()
        ((6, 4), [1.0, 1.0, 1.0, 1.0])
        >>> bool(((4 - S[1:].sum(axis=1)) >= 1).all())
        True
        """
        n = check_int(n_samples, "n_samples", minimum=1)
        sampling = check_choice(sampling, "sampling", list(SAMPLINGS))
        d = item.n_features
        S = np.ones((n, d), dtype=np.float64)
        if d == 0 or n == 1:
            return S
        if d == 1:
            S[1:, 0] = uniforms(rng, n - 1, 1, sampling)[:, 0] >= 0.5
            return S
        if sampling != "iid":
            u = uniforms(rng, n - 1, d + 1, sampling)
            hidden = u[:, 1:] < u[:, :1]
            S[1:] = ~hidden
            none = np.flatnonzero(~hidden.any(axis=1))
            if none.size:
                S[1 + none] = self.sample(item, none.size + 1, rng)[1:]
            return S
        n_hidden = rng.integers(1, d + 1, size=n - 1)
        # rank the features of each row by a uniformly random permutation; hiding those ranked
        # below n_hidden hides a uniformly random subset of that size
        ranks = rng.permuted(np.broadcast_to(np.arange(d), (n - 1, d)), axis=1)
        S[1:] = ranks >= n_hidden[:, None]
        return S

    def render(self, item: TextItem, S: np.ndarray) -> list[str]:
        """The documents of the coalitions ``S`` (``(n, d)``, 1 = kept, 0 = hidden), one per row.

        >>> masker = TextMasker()
        >>> item = masker.prepare("Nice, warm day.")[0]
        >>> masker.render(item, np.array([[1, 1, 1], [1, 0, 1], [0, 0, 0]]))
        ['Nice, warm day.', 'Nice,  day.', ',  .']
        """
        d = item.n_features
        S = check_array(S, "S", ndim=(1, 2), min_rows=0, n_features=d)
        if S.ndim == 1:
            S = S[None, :]
        n = S.shape[0]
        m = item.n_occurrences
        if m == 0:
            return [item.text] * n
        # the text is piece 0 then, per token occurrence, the token and the text after it: a kept
        # occurrence gives both, a hidden one the text after it alone (removed) or after the mask.
        # The rows are written as UTF-8 bytes by a compiled loop, then decoded one by one
        # ("surrogatepass" carries lone surrogates through unchanged).
        from xaikit.maskers import _render  # compiled loops, imported when needed: `import xaikit` loads no numba

        pieces = item._pieces
        occurrence_feature = np.asarray(item._occurrence_feature, dtype=np.intp)
        if len(pieces) != 2 * m + 1 or occurrence_feature.min() < 0 or occurrence_feature.max() >= d:
            raise InvalidParameterError(
                f"item: expected a TextItem made by TextMasker.prepare ({2 * m + 1} pieces for {m} token occurrences, "
                f"each of one of the {d} features), got {len(pieces)} pieces and features {occurrence_feature.min()} "
                f"to {occurrence_feature.max()}"
            )
        text = item.text
        if text.isascii():
            sizes = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
            encoded = text.encode("ascii")
        else:
            sizes = np.fromiter((len(p.encode("utf-8", "surrogatepass")) for p in pieces), dtype=np.int64, count=len(pieces))
            encoded = text.encode("utf-8", "surrogatepass")
        starts = np.zeros(len(pieces) + 1, dtype=np.int64)
        np.cumsum(sizes, out=starts[1:])
        # piece 2 j + 1 of the document is token j, piece 2 j + 2 the text after it
        token_start, after_start, after_end = starts[1:-1:2], starts[2:-1:2], starts[3::2]
        piece_start = np.empty(2 * m, dtype=np.int64)
        piece_length = np.empty(2 * m, dtype=np.int64)
        piece_start[1::2] = token_start  # kept: the token and the text after it
        piece_length[1::2] = after_end - token_start
        if self.mode == "remove" or not self.mask_token:
            piece_start[0::2] = after_start  # hidden: the text after the token alone
            piece_length[0::2] = after_end - after_start
            source = encoded + bytes(16)
        else:  # hidden: the mask then the text after the token, appended to the document
            mask = self.mask_token.encode("utf-8", "surrogatepass")
            bounds = starts.tolist()
            masked = [mask + encoded[bounds[2 * j + 2] : bounds[2 * j + 3]] for j in range(m)]
            piece_length[0::2] = len(mask) + (after_end - after_start)
            piece_start[0::2] = len(encoded) + np.cumsum(piece_length[0::2]) - piece_length[0::2]
            source = encoded + b"".join(masked) + bytes(16)
        stride = int(sizes[0] + np.maximum(piece_length[0::2], piece_length[1::2]).sum())
        buffer, ends = _render.write_text_rows(
            np.ascontiguousarray(S, dtype=np.float64),
            occurrence_feature,
            piece_start,
            piece_length,
            int(sizes[0]),
            np.frombuffer(source, dtype=np.uint8),
            stride,
        )
        view = memoryview(buffer)
        return [str(view[i * stride : end], "utf-8", "surrogatepass") for i, end in enumerate(ends.tolist())]

    def distances(self, S: np.ndarray) -> np.ndarray:
        """Cosine distance of each row of ``S`` to the all-ones row (the document), times 100.

        A row of zeros is at distance 100, as in LIME (scikit-learn's cosine distance); with no
        features every row is the document itself, at distance 0.

        >>> TextMasker().distances(np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 0.0]])).round(4).tolist()
        [0.0, 29.2893, 100.0]
        """
        if isinstance(S, np.ndarray) and S.ndim == 2 and S.shape[1] == 0:  # no features: the document itself
            return np.zeros(S.shape[0])
        S = check_array(S, "S", ndim=2, min_rows=0)
        n, d = S.shape
        norms = np.sqrt(np.einsum("ij,ij->i", S, S))
        dots = S.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            similarity = np.where(norms > 0, dots / (norms * np.sqrt(d)), 0.0)
        return np.clip(1.0 - similarity, 0.0, 2.0) * 100.0

    def summary(self) -> dict[str, Any]:
        """The masker's settings, for provenance (JSON-serialisable).

        >>> TextMasker().summary()["tokenizer"], TextMasker().summary()["pattern"]
        ('default', '\\\\w+')
        """
        if self.tokenizer is None:
            kind, pattern, callable_name = "default", DEFAULT_TOKEN_PATTERN, None
        elif self._regex is not None:
            kind, pattern, callable_name = "regex", self._regex.pattern, None
        else:
            kind, pattern, callable_name = "callable", None, self._tokenizer_label()
        return {
            "masker": "text",
            "kind": self.kind,
            "tokenizer": kind,
            "pattern": pattern,
            "tokenizer_name": callable_name,
            "mode": self.mode,
            "mask_token": self.mask_token,
            "features": self.features,
            "lowercase": self.lowercase,
        }


# ---------------------------------------------------------------------- helpers
def _documents(X: Any, name: str) -> list[str]:
    """``X`` as a non-empty list of str, or an error naming ``name``."""
    if isinstance(X, str):
        return [str(X)]
    expected = f"{name}: expected a document (str) or a sequence of documents (list, tuple, array, Series)"
    if isinstance(X, np.ndarray):
        if X.ndim != 1:
            raise InvalidParameterError(f"{expected}; got {describe(X)}")
        values = X.tolist()
    elif type(X).__name__ in ("Series", "Index") and type(X).__module__.startswith("pandas"):
        values = X.tolist()
    elif isinstance(X, Sequence) and not isinstance(X, (bytes, bytearray)):
        values = list(X)
    else:
        raise InvalidParameterError(f"{expected}; got {describe(X)}")
    if not values:
        raise InvalidParameterError(f"{name}: expected at least one document, got {describe(X)}")
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise InvalidParameterError(f"{name}: expected every document to be a str; element {i} is {describe(v)}")
    return [str(v) for v in values]


def _spans_from_callable(tokenizer: Any, text: str) -> list[Span]:
    """Run a user tokenizer and turn its output (strings or spans) into sorted spans."""
    label = getattr(tokenizer, "__qualname__", type(tokenizer).__name__)
    out = tokenizer(text)
    if isinstance(out, (str, bytes)) or not hasattr(out, "__iter__"):
        raise InvalidParameterError(
            f"tokenizer: expected {label} to return a list of token strings or (start, end) spans, "
            f"got {describe(out)}"
        )
    items = out.tolist() if isinstance(out, np.ndarray) else list(out)
    spans: list[Span] = []
    if all(isinstance(t, str) for t in items):
        pos = 0
        for i, tok in enumerate(items):
            if not tok:
                continue
            start = text.find(tok, pos)
            if start < 0:
                raise InvalidParameterError(
                    f"tokenizer: token {i} returned by {label}, {tok!r}, is not in the text after "
                    f"position {pos} (tokens must be substrings of the text, in order)"
                )
            spans.append((start, start + len(tok)))
            pos = start + len(tok)
        return spans
    pos = 0
    for i, t in enumerate(items):
        ok = (
            isinstance(t, (tuple, list))
            and len(t) == 2
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in t)
        )
        if not ok:
            raise InvalidParameterError(
                f"tokenizer: expected {label} to return token strings or (start, end) pairs of integers; "
                f"item {i} is {describe(t)}"
            )
        start, end = int(t[0]), int(t[1])
        if not (pos <= start <= end <= len(text)):
            raise InvalidParameterError(
                f"tokenizer: span {i} returned by {label}, ({start}, {end}), is not within [{pos}, {len(text)}] "
                "(spans must be sorted, not overlap, and lie in the text)"
            )
        if end > start:
            spans.append((start, end))
            pos = end
    return spans


def _positional_names(keys: Sequence[str]) -> list[str]:
    """Unique names for token occurrences: the token, then ``token#2``, ``token#3``...

    A generated name that clashes with a token or an earlier name gets ``#k`` appended again.

    >>> _positional_names(["a", "b", "a", "a#2", "a"])
    ['a', 'b', 'a#2#2', 'a#2', 'a#3']
    """
    reserved = set(keys)
    used: set[str] = set()
    counts: dict[str, int] = {}
    names = []
    for key in keys:
        k = counts[key] = counts.get(key, 0) + 1
        if k == 1:
            name = key
        else:
            name = f"{key}#{k}"
            while name in reserved or name in used:
                name = f"{name}#{k}"
        used.add(name)
        names.append(name)
    return names
