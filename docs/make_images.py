"""Make the pictures the README shows: the demo's plots and a screenshot of its report.

Run from the repository root (Debian's chromium takes the screenshot, through Playwright)::

    .venv/bin/python docs/make_images.py

It runs ``xaikit demo`` into a temporary folder and copies its plots to ``docs/images/``, then opens
the demo's report in headless Chromium and saves the first screen as ``docs/images/report.png``.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import tempfile

from xaikit.cli.demo import run_demo
from xaikit.report import screenshot

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images")


def main() -> int:
    os.makedirs(HERE, exist_ok=True)
    with tempfile.TemporaryDirectory() as out:
        with contextlib.redirect_stdout(io.StringIO()):
            run_demo(out)
        made = []
        for name in sorted(os.listdir(out)):
            if name.endswith(".png"):
                shutil.copyfile(os.path.join(out, name), os.path.join(HERE, name))
                made.append(name)
        screenshot(os.path.join(out, "report.html"), os.path.join(HERE, "report.png"), width=1200, height=900,
                   full_page=False)
        made.append("report.png")
    for name in made:
        print(os.path.join(HERE, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
