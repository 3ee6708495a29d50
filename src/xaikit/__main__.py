"""``python -m xaikit``: the ``xaikit`` command (see :mod:`xaikit.cli.main`)."""

from __future__ import annotations

import sys

from xaikit.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
