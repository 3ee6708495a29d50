"""Shared fixtures of the report tests: one headless Chromium per session (the system's, driven by
Playwright; nothing is downloaded), a page that records console errors, page errors, requests and
dialogs, and results made once by real explainers on tiny models."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import xaikit as xk


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("the report tests need Debian's chromium on PATH (apt-get install chromium; `make test` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        instance = driver.chromium.launch(executable_path=executable, args=["--no-sandbox"], headless=True)
        yield instance
        instance.close()


@dataclass
class Opened:
    """A page with everything it reported while it opened and afterwards."""

    page: Any
    url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def check_clean(self) -> None:
        assert self.console_errors == [], self.console_errors
        assert self.page_errors == [], self.page_errors
        assert self.dialogs == [], self.dialogs
        outside = [u for u in self.requests if u != self.url and not u.startswith("data:")]
        assert outside == [], f"requests other than the report itself: {outside}"
        assert self.url in self.requests


@pytest.fixture
def open_report(browser: Any) -> Iterator[Any]:
    """``open_report(path) -> Opened``: load a report file in a fresh page and wait for its load event."""
    pages: list[Any] = []

    def opener(path: Path, timeout_ms: float = 30_000) -> Opened:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        pages.append(page)
        url = path.resolve().as_uri()
        opened = Opened(page, url)
        page.on("console", lambda msg: opened.console_errors.append(msg.text) if msg.type in ("error", "warning") else None)
        page.on("pageerror", lambda exc: opened.page_errors.append(str(exc)))
        page.on("request", lambda req: opened.requests.append(req.url))

        def on_dialog(dialog: Any) -> None:
            opened.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.goto(url, wait_until="load", timeout=timeout_ms)
        return opened

    yield opener
    for page in pages:
        page.close()


@pytest.fixture(scope="session")
def tabular() -> Any:
    """KernelShap on a non-linear model of 12 features: sampled, with standard errors and data."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=12)

    def model(Z: np.ndarray) -> np.ndarray:
        return np.tanh(Z @ w) + Z[:, 0] * Z[:, 1]

    X = rng.normal(size=(25, 12))
    X[3, 4] = 12345.678901  # a distinctive feature value for the privacy test
    names = [f"feature_{j}" for j in range(12)]
    return xk.KernelShap(model, background=rng.normal(size=(8, 12)), feature_names=names).explain(X, n_samples=64, random_state=0)


@pytest.fixture(scope="session")
def documents() -> Any:
    """Exact Shapley values of a word-counting model on three documents (one with markup and an emoji)."""

    def model(docs: list[str]) -> np.ndarray:
        return np.array([[d.count("good") - 2.0 * d.count("bad"), float(len(d))] for d in docs])

    texts = ["a good <b>film</b>, not bad", "bad & good \U0001f600 plot", "</script><script>alert(1)</script> good"]
    return xk.ExactShapley(model, masker=xk.TextMasker()).explain(texts)


@pytest.fixture(scope="session")
def images() -> tuple[Any, np.ndarray]:
    """Exact Shapley values of a brightness model over four segments of two 8x8 RGB images, and the images."""
    segments = np.repeat(np.repeat(np.arange(4).reshape(2, 2), 4, axis=0), 4, axis=1)
    pics = np.random.default_rng(1).random((2, 8, 8, 3))
    result = xk.ExactShapley(lambda X: X.reshape(len(X), -1).mean(axis=1), masker=xk.ImageMasker(segments, fill="constant")).explain(pics)
    return result, pics


@pytest.fixture(scope="session")
def million() -> Any:
    """A 1,000,000-row x 30-feature Attribution built directly (values handed over read-only: no copy)."""
    rng = np.random.default_rng(2)
    values = rng.standard_normal((1_000_000, 30, 1))
    values *= np.linspace(0.1, 3.0, 30)[None, :, None]
    values.setflags(write=False)
    base = np.zeros((1_000_000, 1))
    base.setflags(write=False)
    return xk.Attribution(values=values, base_values=base, feature_names=[f"f{j}" for j in range(30)], method="demo")
