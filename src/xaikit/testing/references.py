"""Reference libraries imported for comparison, where their optional parts cannot load.

Zennit (LRP) and pytorch-grad-cam (CAM variants) import torchvision at import time, for helpers the
comparisons never use (canonizers of torchvision's ResNets, image transforms). PyPI's torchvision
for torch 2.13 is a CUDA build that cannot load beside the CPU torch, so xaikit's test environment
installs both without it; these functions import them with stand-ins for the missing parts, which
are removed again afterwards. Used by the oracle tests and ``benchmarks/gradients.py``.
"""

from __future__ import annotations

import sys
import types
from typing import Any

__all__ = ["import_pytorch_grad_cam", "import_zennit"]


def _torchvision_loads() -> bool:
    try:
        import torchvision  # noqa: F401
    except (ImportError, RuntimeError, OSError):  # absent, or built for another torch
        return False
    return True


def import_zennit() -> Any:
    """The ``zennit`` package with its rules, composites and canonizers loaded; its torchvision helpers
    (``zennit.torchvision``) are an empty module when torchvision cannot load."""
    if not _torchvision_loads():
        sys.modules.setdefault("zennit.torchvision", types.ModuleType("zennit.torchvision"))
    import zennit
    import zennit.canonizers
    import zennit.composites
    import zennit.rules
    import zennit.types  # noqa: F401

    return zennit


def import_pytorch_grad_cam(*, progress: bool = False) -> Any:
    """The ``pytorch_grad_cam`` package, imported with torchvision stubbed while it imports when
    torchvision cannot load (only its image helpers use it); ``progress=False`` silences ScoreCAM's
    progress bar."""
    if "pytorch_grad_cam" not in sys.modules and not _torchvision_loads():
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        names = ("torchvision", "torchvision.transforms", "torchvision.transforms.functional")
        stubs = {name: types.ModuleType(name) for name in names}
        for attr in ("Compose", "Normalize", "ToTensor"):
            setattr(stubs["torchvision.transforms"], attr, object)
        stubs["torchvision.transforms.functional"].resize = None  # type: ignore[attr-defined]
        stubs["torchvision"].transforms = stubs["torchvision.transforms"]  # type: ignore[attr-defined]
        sys.modules.update(stubs)
        try:
            import pytorch_grad_cam  # noqa: F401
        finally:
            for name in stubs:
                del sys.modules[name]
    import pytorch_grad_cam
    import pytorch_grad_cam.score_cam as score_cam

    if not progress:
        score_cam.tqdm = types.SimpleNamespace(tqdm=lambda it, **kw: it)  # type: ignore[attr-defined]
    return pytorch_grad_cam
