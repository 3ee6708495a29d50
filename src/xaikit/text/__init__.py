"""Text helpers: from sub-word tokens back to words (:mod:`xaikit.text.words`)."""

from __future__ import annotations

from xaikit.text.words import token_word_groups, words_from_tokens

__all__ = ["token_word_groups", "words_from_tokens"]
