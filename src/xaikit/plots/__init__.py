"""Displays of xaikit results (matplotlib is imported only when a display draws).

>>> from xaikit.plots import style
>>> style.POSITIVE
'#D55E00'
"""

from __future__ import annotations

from xaikit.plots import style

__all__ = ["style"]
