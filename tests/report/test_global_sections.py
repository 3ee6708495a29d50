"""Report sections of the global result kinds (Importance, Effects, Rules), opened in headless
Chromium: no console error or request, the numbers of each section equal the result's, the output
and term selectors change the chart shown, hostile names are text, and the size stays bounded."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.explainers.global_.ale import Ale
from xaikit.explainers.global_.partial_dependence import PartialDependence
from xaikit.explainers.global_.permutation_importance import PermutationImportance
from xaikit.explainers.global_.summaries import shapley_importance
from xaikit.explainers.global_.surrogate_tree import SurrogateTree
from xaikit.report import Report
from xaikit.report._global import MAX_EFFECT_TERMS, MAX_ICE_LINES
from xaikit.results.effects import Effects
from xaikit.results.importance import Importance

EVIL = "<img src=x onerror=alert(1)>"
EVIL_TITLE = "</script><script>alert(1)</script>"
W = np.array([2.0, -1.0, 0.5, 0.0])


def _linear(Z: np.ndarray) -> np.ndarray:
    return np.asarray(Z @ W + Z[:, 0] * Z[:, 1])


def _frame_model(F: Any) -> np.ndarray:
    a, b, c = (np.asarray(F[k]) for k in ("a", "b", "c"))
    return np.c_[a.astype(float) ** 2 + b.astype(float) + 2.0 * (c == "red"), b.astype(float)]


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    """Real global results on tiny models, and one local result."""
    import pandas as pd

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = _linear(X)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60), "c": rng.choice(["red", "green", "blue"], size=60)})
    return {
        "importance": PermutationImportance(_linear, scoring=["r2", "neg_mean_squared_error"], n_repeats=5).explain(X, y, random_state=0),
        "grouped": PermutationImportance(_linear, scoring="r2", n_repeats=3, groups={"x0 and x1": [0, 1]}).explain(X, y, random_state=0),
        "pd": PartialDependence(_frame_model, features=["a", "c"], pairs=[("a", "b")], grid_resolution=8, kind="both").explain(frame),
        "ale": Ale(_linear, bins=8, n_bootstrap=20).explain(X, random_state=0),
        "rules": SurrogateTree(_linear, max_depth=3).explain(X, random_state=0),
        "local": xk.ExactShapley(_linear, background=X[:8]).explain(X[:6]),
    }


def _attrs(page: Any, selector: str, script: str) -> list[Any]:
    return list(page.eval_on_selector_all(selector, script))


def _floats(text: str) -> np.ndarray:
    return np.array([float(v) for v in text.split()])


def test_all_sections_open_clean_with_the_results_numbers(tmp_path: Path, open_report: Any, results: dict[str, Any]) -> None:
    imp, pd_, ale, rules = results["importance"], results["pd"], results["ale"], results["rules"]
    report = Report("global").add(imp).add(pd_).add(ale).add(rules).add(results["local"])
    opened = open_report(report.to_html(tmp_path / "g.html"))
    opened.check_clean()
    page = opened.page
    # importance: one bar per feature, sorted, whiskers at the result's 95% interval
    lower, upper = imp.ci(0.95)
    bars = _attrs(page, "#xk-result-0 .xk-panel:not([hidden]) g.xk-ibar",
                  "els => els.map(e => [e.dataset.feature, +e.dataset.mean, +e.dataset.lower, +e.dataset.upper])")
    assert [b[0] for b in bars] == [name for name, _ in imp.ranking(0)]
    for name, mean, lo, hi in bars:
        i = imp.feature_names.index(name)
        assert (mean, lo, hi) == pytest.approx((imp.mean()[i, 0], lower[i, 0], upper[i, 0]), rel=1e-5, abs=1e-12)
    assert page.locator("#xk-result-0 .xk-panel:not([hidden]) .xk-err").count() == 3  # the ignored feature: an interval of width 0
    rows = page.locator("#xk-result-0 .xk-panel:not([hidden]) table.xk-importance-table tbody tr")
    assert rows.count() == 4 and rows.first.inner_text().split("\t")[0] == imp.ranking(0)[0][0]
    assert "Score on the data unchanged" in page.inner_text("#xk-result-0 .xk-panel:not([hidden])")
    # partial dependence: the average line and ICE lines of "a", the categorical bars of "c", the heat map of "a x b"
    a = pd_.term("a")
    avg = page.locator("#xk-result-1 figure[data-term='0'][data-output='0'] path.xk-avg")
    np.testing.assert_allclose(_floats(avg.get_attribute("data-x") or ""), a["grid_values"][0], rtol=1e-5)
    np.testing.assert_allclose(_floats(avg.get_attribute("data-y") or ""), a["average"][:, 0], rtol=1e-5, atol=1e-9)
    ice = page.locator("#xk-result-1 figure[data-term='0'][data-output='0'] path.xk-ice")
    assert ice.get_attribute("data-lines") == str(min(MAX_ICE_LINES, pd_.n_rows))
    assert (ice.get_attribute("d") or "").count("M") == min(MAX_ICE_LINES, pd_.n_rows)
    rug = page.locator("#xk-result-1 figure[data-term='0'][data-output='0'] path.xk-rug")
    np.testing.assert_allclose(_floats(rug.get_attribute("data-values") or ""), a["deciles"][0], rtol=1e-5)
    cats = _attrs(page, "#xk-result-1 figure[data-term='1'][data-output='0'] rect.xk-cat", "els => els.map(e => [e.dataset.label, +e.dataset.value])")
    c = pd_.term("c")
    assert [x[0] for x in cats] == c["labels"][0]
    np.testing.assert_allclose([x[1] for x in cats], c["average"][:, 0], rtol=1e-5)
    heat = page.locator("#xk-result-1 figure[data-term='2'][data-output='0'] svg.xk-heatmap")
    z = pd_.term("a x b")["average"][..., 0]
    assert float(heat.get_attribute("data-min") or "nan") == pytest.approx(z.min(), rel=1e-5)
    assert float(heat.get_attribute("data-max") or "nan") == pytest.approx(z.max(), rel=1e-5)
    assert heat.get_attribute("data-cells") == "8x8"
    # ALE: the band is the result's lower..upper
    band = page.locator("#xk-result-2 figure[data-term='1'] path.xk-band")
    x1 = ale.term("x1")
    np.testing.assert_allclose(_floats(band.get_attribute("data-lower") or ""), x1["lower"][:, 0], rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(_floats(band.get_attribute("data-upper") or ""), x1["upper"][:, 0], rtol=1e-5, atol=1e-9)
    assert "95% bootstrap interval (20 resamples)" in page.inner_text("#xk-result-2 .xk-effects")
    # rules: the texts are rules(), the fidelity and support those of the result
    texts = [t.inner_text() for t in page.locator("#xk-result-3 td.xk-rule-text").all()]
    assert texts == rules.rules()
    held = page.inner_text("#xk-result-3 td.xk-fidelity-test")
    train = page.inner_text("#xk-result-3 td.xk-fidelity-train")
    assert float(held) == pytest.approx(rules.diagnostics["fidelity"][0], rel=1e-3)
    assert float(train) == pytest.approx(rules.diagnostics["fidelity_train"][0], rel=1e-3)
    assert "R\u00b2 on held-out rows" in page.inner_text("#xk-result-3 table.xk-fidelity")
    supports = [int(r.inner_text().split("\t")[-2].replace(",", "")) for r in page.locator("#xk-result-3 tr.xk-rule").all()]
    assert supports == rules.support.tolist()
    # the local result still has its explorer
    assert page.locator("#xk-result-4 .xk-waterfall svg rect.xk-wbar").count() == 4


def test_choosing_an_output_or_a_term_changes_the_chart(tmp_path: Path, open_report: Any, results: dict[str, Any]) -> None:
    imp, pd_ = results["importance"], results["pd"]
    opened = open_report(Report("choose").add(imp).add(pd_).to_html(tmp_path / "c.html"))
    page = opened.page

    def shown_means() -> list[float]:
        return _attrs(page, "#xk-result-0 .xk-panel:not([hidden]) g.xk-ibar", "els => els.map(e => +e.dataset.mean)")

    first = shown_means()
    np.testing.assert_allclose(first, np.sort(imp.mean()[:, 0])[::-1], rtol=1e-5, atol=1e-12)
    page.select_option("#xk-result-0 select[data-axis='output']", "1")
    second = shown_means()
    assert second != first
    np.testing.assert_allclose(second, np.sort(imp.mean()[:, 1])[::-1], rtol=1e-5, atol=1e-12)
    assert "neg_mean_squared_error" in page.inner_text("#xk-result-0 .xk-panel:not([hidden]) h4")
    # effects: three terms of the first output shown; one term chosen, then the second output
    visible = "#xk-result-1 figure.xk-term:not([hidden])"
    assert [f.get_attribute("data-term") for f in page.locator(visible).all()] == ["0", "1", "2"]
    page.select_option("#xk-result-1 select[data-axis='term']", "1")
    assert [(f.get_attribute("data-term"), f.get_attribute("data-output")) for f in page.locator(visible).all()] == [("1", "0")]
    before = page.inner_html(visible)
    page.select_option("#xk-result-1 select[data-axis='output']", "1")
    assert [(f.get_attribute("data-term"), f.get_attribute("data-output")) for f in page.locator(visible).all()] == [("1", "1")]
    assert page.inner_html(visible) != before
    # print: the controls go, the chosen chart stays
    page.emulate_media(media="print")
    assert not page.is_visible("#xk-result-1 .xk-controls")
    assert page.is_visible("#xk-result-1 figure[data-term='1'][data-output='1'] svg")
    assert not page.is_visible("#xk-result-1 figure[data-term='0'][data-output='0'] svg")
    assert page.pdf()[:4] == b"%PDF"
    opened.check_clean()


def test_hostile_names_are_text_and_run_nothing(tmp_path: Path, open_report: Any) -> None:
    import pandas as pd

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({EVIL: rng.normal(size=50), "plain": rng.normal(size=50), "c": rng.choice(["<b>bold</b>", "ok"], size=50)})

    def model(F: Any) -> np.ndarray:
        return np.asarray(F[EVIL], dtype=float) * 2.0 + (np.asarray(F["c"]) == "ok")

    y = model(frame)
    imp = PermutationImportance(model, scoring="r2", n_repeats=3).explain(frame, y, random_state=0)
    eff = PartialDependence(model, features=[EVIL, "c"], pairs=[(EVIL, "plain")], grid_resolution=6, kind="both").explain(frame)
    rules = SurrogateTree(model, max_depth=2).explain(frame, random_state=0)
    named = Importance(values=[[[1.0, 2.0]], [[0.5, 0.5]]], feature_names=[EVIL, "b"], output_names=[EVIL_TITLE], method="demo",
                       params={"groups": {EVIL: [EVIL, "x"]}})
    report = Report(EVIL_TITLE)
    for result in (imp, eff, rules, named):
        report.add(result, name=EVIL, model=EVIL_TITLE, data_summary={EVIL: EVIL_TITLE})
    opened = open_report(report.to_html(tmp_path / "evil.html"))
    page = opened.page
    page.select_option("#xk-result-1 select[data-axis='term']", "0")
    assert opened.dialogs == []
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("b").count() == 0
    assert page.evaluate("document.querySelectorAll('script:not([type])').length") == 1
    assert EVIL in page.text_content("#xk-result-0 svg.xk-ibars")
    assert EVIL in page.inner_text("#xk-result-1 figure[data-term='0'] figcaption")
    assert "<b>bold</b>" in page.text_content("#xk-result-1 figure[data-term='1'] svg")
    assert any(EVIL in t for t in rules.rules())
    assert [t.inner_text() for t in page.locator("#xk-result-2 td.xk-rule-text").all()] == rules.rules()
    assert EVIL_TITLE in page.inner_text("#xk-result-3 .xk-panel h4")
    assert EVIL in page.inner_text("#xk-result-3 .xk-groups")
    opened.check_clean()


def _many_terms(n_rows: int, n_terms: int = 50, g: int = 16) -> Effects:
    rng = np.random.default_rng(2)
    grid = np.zeros((n_terms, g, 2))
    grid[..., 0] = np.linspace(0.0, 1.0, g)
    grid[..., 1] = np.nan
    individual = rng.normal(size=(n_rows, n_terms, g, 1))
    return Effects(grid=grid, average=individual.mean(axis=0), individual=individual, term_features=[[f"f{t}"] for t in range(n_terms)],
                   grid_shape=[[g]] * n_terms, method="partial_dependence")


def test_the_size_is_bounded_whatever_the_rows(tmp_path: Path, open_report: Any) -> None:
    small, large = _many_terms(1_000), _many_terms(10_000)
    page_small = Report("small").add(small).to_html_string()
    path = Report("large").add(large).to_html(tmp_path / "large.html")
    size = path.stat().st_size
    # 30 of the 50 terms drawn with 50 ICE curves each: the file does not grow with the rows
    assert size < 600_000, f"{size:,} bytes"
    assert abs(size - len(page_small.encode("utf-8"))) < 0.1 * size
    text = path.read_text(encoding="utf-8")
    assert text.count('class="xk-panel xk-term"') == MAX_EFFECT_TERMS
    assert re.findall(r'data-lines="(\d+)"', text) == [str(MAX_ICE_LINES)] * MAX_EFFECT_TERMS
    assert "20 more terms are left out: the first 30 of 50 are drawn." in text
    assert "50 of the 10,000 rows, evenly spread" in text
    opened = open_report(path)
    opened.check_clean()
    assert opened.page.locator("#xk-result-0 select[data-axis='term'] option").count() == MAX_EFFECT_TERMS + 1


def test_shapley_summaries_one_repeat_and_labels_without_a_browser(results: dict[str, Any]) -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    exp = xk.KernelShap(lambda Z: Z @ np.array([1.0, -2.0, 0.0]), background=X[:8]).explain(X[:12], n_samples=32, random_state=0)
    summary = shapley_importance(exp)
    single = Importance(values=[[[0.3]], [[0.1]]], feature_names=["a", "b"], method="demo")

    def classes(Z: np.ndarray) -> np.ndarray:
        p = 1 / (1 + np.exp(-3 * Z[:, 0]))
        return np.c_[1 - p, p]

    labels = SurrogateTree(classes, max_depth=2, output="label").explain(X, random_state=0)
    page = Report("t").add(summary).add(single).add(labels).add(results["grouped"]).to_html_string()
    lower, upper = summary.ci(0.95)
    first = page.split('id="xk-result-1"')[0]
    pattern = r'<g class="xk-ibar" data-feature="([^"]*)" data-mean="[^"]*" data-lower="([^"]*)" data-upper="([^"]*)"'
    found = {m[0]: (float(m[1]), float(m[2])) for m in re.findall(pattern, first)}
    assert len(found) == 3
    for i, name in enumerate(summary.feature_names):
        assert found[name] == pytest.approx((lower[i, 0], upper[i, 0]), rel=1e-5, abs=1e-12)
    assert "normal interval from the standard errors" in page
    assert "mean |value| of the local attributions (kernel_shap)" in page
    assert "No interval: one repeat only." in page
    assert 'data-feature="a" data-mean="0.3" data-lower="nan" data-upper="nan"' in page
    assert "accuracy on held-out rows" in page
    assert f'<td class="xk-r xk-fidelity-test">{labels.diagnostics["fidelity"]:.4g}</td>' in page
    assert "<th>class</th>" in page and all(f"<td>{lab}</td>" in page for lab in set(labels.labels or []))
    # groups permuted together are listed with their columns
    assert "Groups permuted together" in page and "<th>x0 and x1</th><td>x0, x1</td>" in page


def test_global_results_refuse_images_background_and_unknown_targets(results: dict[str, Any]) -> None:
    imp = results["importance"]
    with pytest.raises(InvalidParameterError, match=r"^images: an Importance result explains no images; expected images=None, got"):
        Report("t").add(imp, images=np.zeros((2, 4, 4)))
    with pytest.raises(InvalidParameterError, match=r"^background: an Effects result lists no background rows"):
        Report("t").add(results["pd"], background=np.zeros((2, 3)))
    with pytest.raises(InvalidParameterError, match=r"^target: expected an output name among \['r2', 'neg_mean_squared_error'\], got 'nope'"):
        Report("t").add(imp, target="nope")
    with pytest.raises(InvalidParameterError, match=r"^result: expected an Attribution, RaggedAttribution or Interaction .* Importance, Effects or Rules"):
        Report("t").add("not a result")  # type: ignore[arg-type]
    # a target chooses the output shown first
    page = Report("t").add(imp, target="neg_mean_squared_error").to_html_string()
    assert re.search(r'<div class="xk-panel" data-panel="" data-output="1"><h4>', page)
    assert re.search(r'<div class="xk-panel" data-panel="" data-output="0" hidden>', page)
    assert '<option value="1" selected>' in page


def test_many_categories_and_large_heat_maps_are_cut_and_say_so() -> None:
    labels = [f"cat{i}" for i in range(80)]
    grid = np.full((2, 1600, 2), np.nan)
    grid[0, :80, 0] = np.arange(80)
    a, b = np.meshgrid(np.linspace(0.0, 1.0, 40), np.linspace(5.0, 6.0, 40), indexing="ij")
    grid[1, :, 0], grid[1, :, 1] = a.ravel(), b.ravel()
    average = np.full((2, 1600, 1), np.nan)
    average[0, :80, 0] = np.arange(80) / 10
    z = np.sin(3 * a) + b
    average[1, :, 0] = z.ravel()
    eff = Effects(grid=grid, average=average, term_features=[["c"], ["a", "b"]], grid_shape=[[80], [40, 40]],
                  grid_labels=[[labels], None], method="partial_dependence")
    page = Report("t").add(eff).to_html_string()
    bars = re.findall(r'<rect class="xk-cat"[^>]*data-label="([^"]*)" data-value="([^"]*)"', page)
    assert [x[0] for x in bars] == labels[:50]
    np.testing.assert_allclose([float(x[1]) for x in bars], np.arange(50) / 10, atol=1e-12)
    assert "c: the first 50 of 80 categories are drawn." in page
    heat = re.search(r'<svg class="xk-chart xk-effect xk-heatmap"[^>]*data-min="([^"]*)" data-max="([^"]*)" data-centre="[^"]*" data-cells="([^"]*)"', page)
    assert heat is not None
    assert (float(heat.group(1)), float(heat.group(2))) == pytest.approx((z.min(), z.max()), rel=1e-5)
    assert heat.group(3) == "24x24"
    assert page.count("<rect x=") == 24 * 24  # the cells (the colour key's steps have their own class)
