"""Local surrogate models: LIME for tables, documents and images, and submodular pick of representative rows."""

from xaikit.explainers.surrogate.lime import Lime
from xaikit.explainers.surrogate.submodular_pick import SubmodularPick, submodular_pick

__all__ = ["Lime", "SubmodularPick", "submodular_pick"]
