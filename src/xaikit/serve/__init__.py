"""The explanation service: :func:`create_app` (FastAPI) over a saved explainer bundle.

Imported only by ``xaikit serve`` and by those who serve explanations themselves; ``import xaikit``
does not import it (nor FastAPI). See ``docs/service.md``.
"""

from xaikit.serve.app import SERVED_METHODS, Service, create_app
from xaikit.serve.bundle import Bundle, load_bundle, make_bundle, save_bundle

__all__ = ["SERVED_METHODS", "Bundle", "Service", "create_app", "load_bundle", "make_bundle", "save_bundle"]
