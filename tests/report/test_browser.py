"""The report opened in real headless Chromium: no console error, no network request, a working
explorer, escaped user strings, documents and images drawn, and a million rows in a small file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

import xaikit as xk

EVIL_FEATURE = "<img src=x onerror=alert(1)>"
EVIL_TITLE = "</script><script>alert(1)</script>"


def _waterfall(page: Any, k: int = 0) -> str:
    return str(page.inner_html(f"#xk-result-{k} .xk-waterfall"))


def test_opens_clean_with_data_and_a_sampled_result(tmp_path: Path, open_report: Any, tabular: Any) -> None:
    path = xk.Report("Linear model").add(tabular, model="linear function", background=np.zeros((3, 12))).to_html(tmp_path / "r.html", include_data=True)
    opened = open_report(path)
    opened.check_clean()
    page = opened.page
    # the explorer drew one waterfall with a bar per feature shown (12 features: all shown) and a table row per feature
    assert page.locator("#xk-result-0 .xk-waterfall svg rect.xk-wbar").count() == 12
    assert page.locator("#xk-result-0 .xk-table tbody tr").count() == 12
    # sampled values: error bars in the global chart and in the waterfall, and a std. error column
    assert page.locator("#xk-result-0 .xk-importance .xk-err").count() == 12
    assert page.locator("#xk-result-0 .xk-waterfall .xk-err").count() >= 1
    assert "std. error" in page.inner_text("#xk-result-0 .xk-table thead")
    assert "feature value" in page.inner_text("#xk-result-0 .xk-table thead")
    assert page.locator("#xk-result-0 select.xk-row option").count() == tabular.n_rows


def test_choosing_a_row_redraws_the_waterfall(tmp_path: Path, open_report: Any, tabular: Any) -> None:
    path = xk.Report("rows").add(tabular).to_html(tmp_path / "r.html")
    opened = open_report(path)
    page = opened.page
    before, caption_before = _waterfall(page), page.inner_text("#xk-result-0 .xk-caption")
    assert "Row 0" in caption_before
    page.select_option("#xk-result-0 select.xk-row", "5")
    after, caption_after = _waterfall(page), page.inner_text("#xk-result-0 .xk-caption")
    assert before != after
    assert "Row 5" in caption_after
    # the waterfall ends at the row's prediction: base + sum of its values
    expected = float(tabular.base_values[5, 0] + tabular.values[5, :, 0].sum())
    shown = float(page.text_content("#xk-result-0 .xk-waterfall .xk-fx").split("=")[1])
    assert abs(shown - expected) <= 1e-3 * max(1.0, abs(expected))
    opened.check_clean()


def test_user_strings_are_text_and_run_nothing(tmp_path: Path, open_report: Any) -> None:
    exp = xk.Attribution(
        values=np.array([[[1.0], [-2.0]], [[0.5], [3.0]]]),
        base_values=np.zeros((2, 1)),
        feature_names=[EVIL_FEATURE, "plain"],
        output_names=[EVIL_TITLE],
        method="demo",
        params={"note": EVIL_TITLE},
    )
    path = xk.Report(EVIL_TITLE).add(exp, name=EVIL_FEATURE, model=EVIL_TITLE, data_summary={"source": EVIL_FEATURE}).to_html(tmp_path / "r.html")
    opened = open_report(path)
    page = opened.page
    page.select_option("#xk-result-0 select.xk-row", "1")
    page.wait_for_timeout(100)
    assert opened.dialogs == []
    assert page.inner_text("h1.xk-title") == EVIL_TITLE
    assert EVIL_TITLE in page.inner_text("#xk-result-0 .xk-caption")  # read from the embedded JSON
    assert EVIL_FEATURE in page.inner_text("#xk-result-0 .xk-table")
    assert EVIL_FEATURE in page.text_content("#xk-result-0 .xk-importance")
    assert EVIL_FEATURE in page.text_content("#xk-result-0 .xk-waterfall")
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("b").count() == 0
    assert page.evaluate("document.querySelectorAll('script:not([type])').length") == 1
    opened.check_clean()


def test_include_data_false_leaves_the_values_out(tmp_path: Path, tabular: Any) -> None:
    background = np.full((4, 12), 98765.4321)
    report = xk.Report("privacy").add(tabular, background=background)
    hidden = report.to_html(tmp_path / "hidden.html").read_text(encoding="utf-8")
    shown = report.to_html(tmp_path / "shown.html", include_data=True).read_text(encoding="utf-8")
    assert "12345.7" not in hidden and "98765.4" not in hidden
    assert "left out" in hidden
    assert "12345.7" in shown and "98765.4" in shown


def test_documents_are_highlighted_token_by_token(tmp_path: Path, open_report: Any, documents: Any) -> None:
    path = xk.Report("documents").add(documents).to_html(tmp_path / "d.html")
    opened = open_report(path)
    page = opened.page
    texts = documents.texts
    # static section: every document in full, as text, one mark per token occurrence
    static = page.locator("#xk-result-0 .xk-static-doc")
    assert static.count() == 3
    for i in range(3):
        assert static.nth(i).inner_text() == texts[i]
        occurrences = sum(len(s) for s in documents.spans[i])
        assert static.nth(i).locator("mark").count() == occurrences
    # the explorer shows the chosen document, highlighted, and follows the row choice
    live = page.locator("#xk-result-0 section.xk-explorer .xk-doc")
    assert live.inner_text() == texts[0]
    page.select_option("#xk-result-0 select.xk-row", "1")
    assert live.inner_text() == texts[1]
    assert [m.inner_text() for m in live.locator("mark").all()][:2] == ["bad", "good"]
    page.select_option("#xk-result-0 select.xk-row", "2")
    assert live.inner_text() == texts[2]
    # two outputs: choosing the other one redraws the waterfall for it
    before = _waterfall(page)
    assert page.is_visible("#xk-result-0 select.xk-output")
    page.select_option("#xk-result-0 select.xk-output", "1")
    assert _waterfall(page) != before
    assert "output \u201coutput1\u201d" in page.inner_text("#xk-result-0 .xk-caption")
    assert opened.dialogs == []
    opened.check_clean()


def test_images_are_overlaid(tmp_path: Path, open_report: Any, images: Any) -> None:
    result, pics = images
    for include_data in (False, True):
        path = xk.Report("images").add(result, images=pics).to_html(tmp_path / f"i{include_data}.html", include_data=include_data)
        opened = open_report(path)
        imgs = opened.page.locator("#xk-result-0 img.xk-overlay")
        assert imgs.count() == 2
        assert all(src.startswith("data:image/png;base64,") for src in (imgs.nth(i).get_attribute("src") or "" for i in range(2)))
        assert opened.page.evaluate("Array.from(document.querySelectorAll('img.xk-overlay')).every(i => i.complete && i.naturalWidth === 128)")
        opened.check_clean()


def test_a_million_rows_give_a_small_report_that_opens_fast(tmp_path: Path, open_report: Any, million: Any) -> None:
    path = xk.Report("a million rows").add(million).to_html(tmp_path / "m.html")
    size = path.stat().st_size
    assert size < 5_000_000, f"{size:,} bytes"
    start = time.perf_counter()
    opened = open_report(path)
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, f"opened in {elapsed:.2f} s"
    opened.check_clean()
    page = opened.page
    assert "Showing 2,000 of 1,000,000 rows, sampled uniformly" in page.inner_text("#xk-result-0 .xk-sample")
    assert page.locator("#xk-result-0 select.xk-row option").count() == 2000
    assert page.locator("#xk-result-0 .xk-waterfall rect.xk-wbar").count() == 13  # 12 features and "18 other features"


def test_print_media_keeps_the_explorer_row_and_hides_controls(tmp_path: Path, open_report: Any, tabular: Any) -> None:
    path = xk.Report("print").add(tabular).add(tabular, name="again").to_html(tmp_path / "p.html")
    opened = open_report(path)
    page = opened.page
    page.select_option("#xk-result-0 select.xk-row", "3")
    page.emulate_media(media="print")
    assert not page.is_visible("#xk-result-0 .xk-controls")
    assert page.is_visible("#xk-result-0 .xk-waterfall svg")
    assert "Row 3" in page.inner_text("#xk-result-0 .xk-caption")
    breaks = page.evaluate("getComputedStyle(document.querySelector('#xk-result-1')).breakBefore")
    assert breaks == "page"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(255, 255, 255)"
    pdf = page.pdf()
    assert pdf[:4] == b"%PDF"
    opened.check_clean()


def test_screenshot_writes_a_png(tmp_path: Path, tabular: Any) -> None:
    from xaikit.report import screenshot

    html = xk.Report("shot").add(tabular).to_html(tmp_path / "s.html")
    png = screenshot(html, tmp_path / "s.png", width=900, height=600, full_page=False)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (900, 600)
