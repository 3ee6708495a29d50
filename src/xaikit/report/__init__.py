"""Self-contained HTML reports: ``Report(title).add(result).to_html(path)``, and :func:`screenshot`.

One file with inline CSS, script and images, no network request (a Content-Security-Policy forbids
them), a size bounded whatever the number of rows, every user string escaped, and raw data only when
asked for (``include_data=True``). See :mod:`xaikit.report.report`.

>>> from xaikit.report import Report
>>> Report("An empty report")
Report(title='An empty report', results=[])
"""

from __future__ import annotations

from xaikit.report.report import MAX_EXPLORER_CHARS, MAX_EXPLORER_VALUES, Report
from xaikit.report.screenshot import screenshot

__all__ = ["MAX_EXPLORER_CHARS", "MAX_EXPLORER_VALUES", "Report", "screenshot"]
