"""Maskers hide features; the ValueFunction turns a model, a masker and a row into a game."""

from xaikit.maskers.tabular import TabularCodec, TabularMasker
from xaikit.maskers.value_function import ValueFunction

__all__ = ["TabularMasker", "TabularCodec", "ValueFunction"]
