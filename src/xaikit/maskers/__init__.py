"""Maskers hide features; the ValueFunction turns a model, a masker and a row into a game."""

from xaikit.maskers.image import ImageItem, ImageMasker
from xaikit.maskers.tabular import TabularCodec, TabularMasker
from xaikit.maskers.text import TextItem, TextMasker
from xaikit.maskers.value_function import ValueFunction

__all__ = ["ImageItem", "ImageMasker", "TabularCodec", "TabularMasker", "TextItem", "TextMasker", "ValueFunction"]
