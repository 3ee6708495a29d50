"""The report's content without a browser: exact aggregates, the seeded sample, rounding, escaping,
the security policy, atomic writing and the errors of bad parameters."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.report import MAX_EXPLORER_VALUES, Report
from xaikit.report._encode import number_list, script_json


def _payload(page: str, k: int = 0) -> dict[str, Any]:
    match = re.search(rf'<script type="application/json" id="xk-data-{k}">(.*?)</script>', page, re.S)
    assert match is not None
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def _bar_titles(page: str) -> dict[str, float]:
    """Feature -> mean |value| read back from the global importance chart's bar titles."""
    out = {}
    for name, score in re.findall(r'<rect class="xk-bar"[^>]*><title>([^<]*): ([-0-9.e+]+)', page):
        out[name] = float(score)
    return out


def _demo(n: int, d: int = 4, o: int = 1, seed: int = 0) -> xk.Attribution:
    rng = np.random.default_rng(seed)
    return xk.Attribution(values=rng.normal(size=(n, d, o)), base_values=np.zeros((n, o)), method="demo")


def test_global_importance_uses_every_row_when_the_explorer_is_sampled() -> None:
    values = np.random.default_rng(0).normal(size=(5000, 3, 1))
    values[4321, 0, 0] = 1e5  # one extreme row: the sample must not hide it from the aggregates
    exp = xk.Attribution(values=values, base_values=np.zeros((5000, 1)), feature_names=["a", "b", "c"], method="demo")
    page = Report("t").add(exp).to_html_string(max_rows=100)
    rows = _payload(page)["rows"]
    assert len(rows) == 100 and rows == sorted(set(rows)) and 4321 not in rows
    bars = _bar_titles(page)
    exact = np.abs(values).mean(axis=0)[:, 0]
    assert bars["a"] == pytest.approx(exact[0], rel=1e-3)
    assert bars["b"] == pytest.approx(exact[1], rel=1e-3)
    sampled = np.abs(values[rows]).mean(axis=0)[0, 0]
    assert abs(bars["a"] - sampled) > 10  # the sample alone would give a very different answer
    assert "Showing 100 of 5,000 rows, sampled uniformly" in page


def test_the_sample_is_seeded() -> None:
    exp = _demo(3000)
    first = _payload(Report("t").add(exp).to_html_string(max_rows=50, random_state=1))["rows"]
    again = _payload(Report("t").add(exp).to_html_string(max_rows=50, random_state=1))["rows"]
    other = _payload(Report("t").add(exp).to_html_string(max_rows=50, random_state=2))["rows"]
    assert first == again
    assert first != other


def test_all_rows_below_the_threshold_and_fewer_rows_for_wide_results() -> None:
    small = _payload(Report("t").add(_demo(30)).to_html_string())
    assert small["rows"] == list(range(30))
    wide = _demo(600, d=1000)
    payload = _payload(Report("t").add(wide).to_html_string(max_rows=2000))
    assert len(payload["rows"]) == MAX_EXPLORER_VALUES // 1000
    assert len(payload["values"]) == len(payload["rows"]) * 1000


def test_values_are_rounded_to_four_significant_digits() -> None:
    exp = xk.Attribution(values=[[[1.23456789], [-0.000987654321]]], base_values=[[12345.6789]], method="demo")
    page = Report("t").add(exp).to_html_string()
    payload = _payload(page)
    assert payload["values"] == [1.235, -0.0009877]
    assert payload["base"] == [1.235e4]
    assert number_list(np.array([np.nan, np.inf, 2.0])) == "[null,null,2]"


def test_feature_values_only_with_include_data() -> None:
    exp = xk.Attribution(values=np.ones((2, 2, 1)), base_values=np.zeros((2, 1)), data=[[31.5, 77777.25], [40.0, 1.0]], method="demo")
    hidden = Report("t").add(exp).to_html_string()
    shown = Report("t").add(exp).to_html_string(include_data=True)
    assert _payload(hidden)["data"] is None and "77777" not in hidden
    assert _payload(shown)["data"] == [31.5, 77777.2, 40.0, 1.0]


def test_embedded_json_cannot_close_its_script() -> None:
    text = script_json({"t": "</script><script>alert(1)</script> & <!--"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"t": "</script><script>alert(1)</script> & <!--"}
    exp = xk.Attribution(values=np.ones((1, 1, 1)), base_values=[[0.0]], feature_names=["</script><b>x"], method="demo")
    page = Report("</title><b>").add(exp).to_html_string()
    assert "<b>" not in page
    assert page.count("</script>") == page.count("<script")


def test_the_security_policy_allows_only_the_inline_script() -> None:
    page = Report("t").add(_demo(3)).to_html_string()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert csp is not None
    policy = html.unescape(csp.group(1))
    assert "default-src 'none'" in policy and "img-src data:" in policy
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode("utf-8")).digest()).decode()
    assert f"'sha256-{digest}'" in policy
    # nothing to fetch: no src/href other than data: URIs and in-page anchors, no URL but the SVG namespace
    links = re.findall(r'\b(?:src|href)="([^"]*)"', page)
    assert all(link.startswith(("data:", "#")) for link in links), links
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) <= {"http://www.w3.org/2000/svg"}


def test_interaction_results_are_shown_as_attributions() -> None:
    v = np.zeros((2, 2, 2, 1))
    v[:, 0, 0, 0], v[:, 0, 1, 0], v[:, 1, 0, 0] = 1.0, 0.5, 0.5
    inter = xk.Interaction(values=v, base_values=np.zeros((2, 1)), feature_names=["a", "b"], method="demo")
    page = Report("t").add(inter).to_html_string()
    assert _payload(page)["values"] == [1.5, 0.5, 1.5, 0.5]
    assert "Interaction values are shown as per-feature attributions" in page


def test_names_are_numbered_and_chained() -> None:
    exp = _demo(3)
    report = Report("t").add(exp).add(exp).add(exp, name="mine")
    assert repr(report) == "Report(title='t', results=['demo', 'demo (2)', 'mine'])"
    assert report.to_html_string().count('<section class="xk-result"') == 3


def test_writing_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "r.html"
    path.write_text("old report")
    report = Report("t").add(_demo(3))

    def broken(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("xaikit.report._encode.os.replace", broken)
    with pytest.raises(OSError, match="disk full"):
        report.to_html(path)
    assert path.read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]
    monkeypatch.undo()
    written = report.to_html(str(path))
    assert written == path and path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r, tmp: r.to_html(tmp / "missing" / "r.html"), "path: the folder"),
        (lambda r, tmp: r.to_html(tmp), "path: expected a file name"),
        (lambda r, tmp: r.to_html(3), "path: expected a str or path"),
        (lambda r, tmp: r.to_html_string(max_rows=0), "max_rows: expected an integer >= 1"),
        (lambda r, tmp: r.to_html_string(include_data="yes"), "include_data: expected True or False"),
        (lambda r, tmp: r.to_html_string(random_state=-1), "random_state: expected an integer >= 0"),
        (lambda r, tmp: r.add(np.zeros((2, 2))), "result: expected an Attribution, RaggedAttribution or Interaction"),
        (lambda r, tmp: r.add(_demo(2), name=3), "name: expected a str or None"),
        (lambda r, tmp: r.add(_demo(2), target="nope"), "target: expected an output name"),
        (lambda r, tmp: r.add(_demo(2), target=5), r"target: expected an output position in \[-1, 0\]"),
        (lambda r, tmp: r.add(_demo(2), data_summary=[1, 2]), "data_summary: expected a str, a mapping"),
        (lambda r, tmp: r.add(_demo(2), images=np.zeros((2, 4, 4))), "images: this result does not explain images"),
        (lambda r, tmp: r.add(_demo(2), background=np.zeros(3)), "background: expected a 2-D array"),
        (lambda r, tmp: Report(None), "title: expected a str"),
        (lambda r, tmp: Report("empty").to_html_string(), "result: expected at least one result"),
    ],
)
def test_bad_parameters_are_named(tmp_path: Path, call: Any, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        call(Report("t").add(_demo(2)), tmp_path)


def test_images_must_match_the_result(images: Any) -> None:
    result, pics = images
    with pytest.raises(InvalidParameterError, match=r"images: expected 2 images of 8 x 8 pixels"):
        Report("t").add(result, images=pics[:, :4])
    # channels-first images are accepted and give the same page as channels-last ones
    first = Report("t").add(result, images=np.moveaxis(pics, -1, 1)).to_html_string(include_data=True)
    last = Report("t").add(result, images=pics).to_html_string(include_data=True)
    strip = re.compile(r"made [^;]*;")
    assert strip.sub("", first) == strip.sub("", last)
    # pixels go in only with include_data: the overlays differ from the heat maps drawn alone
    alone = Report("t").add(result, images=pics).to_html_string()
    src = re.compile(r'<img class="xk-overlay"[^>]*src="([^"]*)"')
    assert src.findall(alone) != src.findall(last)
    assert "the images are left out" in alone


def test_import_xaikit_stays_light() -> None:
    code = (
        "import sys, xaikit as xk; xk.Report; "
        "heavy = [m for m in ('matplotlib', 'playwright', 'pandas', 'scipy', 'torch') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_long_documents_are_sampled_within_a_character_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("xaikit.report.report.MAX_EXPLORER_CHARS", 1000)
    texts = [f"doc{i} " + "word " * 40 for i in range(30)]  # about 200 characters each: 5 fit
    exp = xk.RaggedAttribution(
        values=np.ones((30, 1, 1)),
        base_values=np.zeros((30, 1)),
        row_feature_names=[[f"doc{i}"] for i in range(30)],
        spans=[[[(0, len(f"doc{i}"))]] for i in range(30)],
        texts=texts,
        method="demo",
    )
    page = Report("t").add(exp).to_html_string()
    payload = _payload(page)
    assert len(payload["rows"]) == 4  # 205-206 characters each: four fit in 1,000, five do not
    assert payload["rows"] == sorted(payload["rows"])
    assert payload["rows"] != list(range(len(payload["rows"])))  # sampled, not the first ones
    assert sum(len(t) for t in payload["texts"]) <= 1000
    assert f"Showing {len(payload['rows'])} of 30 rows, sampled uniformly" in page


def test_feature_values_of_mixed_types() -> None:
    data = np.array([["north", 1.5], ["</script>", 2.25]], dtype=object)
    exp = xk.Attribution(values=np.ones((2, 2, 1)), base_values=np.zeros((2, 1)), data=data, feature_names=["region", "x"], method="demo")
    page = Report("t").add(exp).to_html_string(include_data=True)
    assert _payload(page)["data"] == ["north", 1.5, "</script>", 2.25]
    assert "north" not in Report("t").add(exp).to_html_string()
