"""A dataset job (xk.explain_dataset -> xk.open_dataset) in a report: a sample of its rows, the ranking over all of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import xaikit as xk
from xaikit.report import report as report_module


def test_a_dataset_job_is_reported_by_a_sample_and_the_ranking_of_all_rows(tmp_path: Path, monkeypatch) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    w = np.array([2.0, -1.0, 0.1])
    explainer = xk.ExactShapley(lambda Z: Z @ w, background=np.zeros((1, 3)))
    ds = xk.explain_dataset(explainer, X, out=tmp_path / "job", chunk_rows=100, executor="serial")
    ds = xk.open_dataset(tmp_path / "job")
    monkeypatch.setattr(report_module, "DATASET_SAMPLE", 120)
    page = xk.Report("job").add(ds, name="portfolio").to_html_string()
    assert "A sample of 120 of the 300 rows of the dataset job" in page
    first, value = ds.ranking()[0]
    assert first == "x0" and f"{first} {xk.report._encode.fmt(value)}" in page
    np.testing.assert_allclose(value, np.abs(X[:, 0] * w[0]).mean(), rtol=1e-12)
