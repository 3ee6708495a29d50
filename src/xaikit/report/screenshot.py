"""``screenshot``: a PNG of an HTML report, taken by the system's Chromium through Playwright.

Playwright's Python package drives the Chromium installed on the machine (Debian's ``chromium``);
nothing is downloaded. Used by the documentation script to put pictures of reports in the README.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from xaikit._validation import check_int, describe
from xaikit.errors import InvalidParameterError, MissingDependencyError
from xaikit.report._encode import atomic_write_bytes

__all__ = ["find_chromium", "screenshot"]

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable on ``PATH``, or None.

    >>> path = find_chromium()
    >>> path is None or os.path.isabs(path)
    True
    """
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(
    html_path: str | os.PathLike[str],
    png_path: str | os.PathLike[str],
    *,
    width: int = 1280,
    height: int = 900,
    full_page: bool = True,
    executable: str | None = None,
) -> Path:
    """Open ``html_path`` in headless Chromium and save what it shows as ``png_path``.

    Parameters
    ----------
    html_path : str or path
        An HTML file (e.g. written by :meth:`xaikit.report.Report.to_html`).
    png_path : str or path
        The PNG to write (atomically); its folder must exist.
    width, height : int
        The browser window, in CSS pixels.
    full_page : bool
        Capture the whole page, not only the window.
    executable : str, optional
        The Chromium to run (default: ``chromium`` found on ``PATH``).

    Returns
    -------
    Path
        The PNG written.

    Raises
    ------
    MissingDependencyError
        When Playwright's Python package or Chromium is not installed.

    Examples
    --------
    >>> screenshot("no-such-report.html", "out.png")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xaikit.errors.InvalidParameterError: html_path: expected an existing HTML file, got 'no-such-report.html'...
    """
    source = _existing_file(html_path)
    target = _output_file(png_path)
    width = check_int(width, "width", minimum=100, maximum=10_000)
    height = check_int(height, "height", minimum=100, maximum=10_000)
    if not isinstance(full_page, bool):
        raise InvalidParameterError(f"full_page: expected True or False, got {describe(full_page)}")
    browser_path = executable if executable is not None else find_chromium()
    if browser_path is None or not (os.path.isfile(browser_path) and os.access(browser_path, os.X_OK)):
        raise MissingDependencyError(
            f"executable: no Chromium to run (looked for {', '.join(_NAMES)} on PATH, got {browser_path!r}); "
            "install the system package, e.g. apt-get install chromium"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise MissingDependencyError(
            "screenshot needs the package 'playwright', which is not installed; install it with: pip install playwright "
            "(it drives the system Chromium; no browser is downloaded)"
        ) from exc

    def only_local(route: Any) -> None:
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            route.abort()

    def take() -> bytes:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=browser_path, args=["--no-sandbox"], headless=True)
            try:
                page = browser.new_page(viewport={"width": width, "height": height})
                page.route("**/*", only_local)
                page.goto(source.resolve().as_uri(), wait_until="load")
                return bytes(page.screenshot(full_page=full_page, type="png"))
            finally:
                browser.close()

    # Playwright's synchronous API refuses a thread with a running event loop (a notebook's, or
    # another Playwright session's): the browser is driven from a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        image = pool.submit(take).result()
    atomic_write_bytes(target, image)
    return target


def _existing_file(path: Any) -> Path:
    if not isinstance(path, (str, os.PathLike)) or not Path(path).is_file():
        raise InvalidParameterError(f"html_path: expected an existing HTML file, got {path!r}")
    return Path(path)


def _output_file(path: Any) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidParameterError(f"png_path: expected a str or path, got {describe(path)}")
    target = Path(path).expanduser()
    if target.is_dir() or not target.parent.is_dir():
        raise InvalidParameterError(f"png_path: expected a file in an existing folder, got {str(path)!r}")
    return target
