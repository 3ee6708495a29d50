"""The service on a scikit-learn pipeline with categorical columns (a skops file): rows by name, strings
for categories, values equal to the library's."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
sio = pytest.importorskip("skops.io")

import xaikit as xk  # noqa: E402
from xaikit.serve.app import create_app  # noqa: E402
from xaikit.serve.bundle import load_bundle, make_bundle, save_bundle  # noqa: E402

COLUMNS = ["age", "workclass", "sex", "hours_per_week"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from fastapi.testclient import TestClient
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    adult = xk.datasets.load_adult()
    frame = adult.frame[COLUMNS].iloc[:800].copy()
    for col in ("workclass", "sex"):
        frame[col] = frame[col].astype(object).fillna("missing")
    y = np.asarray(adult.target)[:800]
    encode = make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["workclass", "sex"]), remainder="passthrough")
    pipe = make_pipeline(encode, GradientBoostingClassifier(n_estimators=10, max_depth=2, random_state=0)).fit(frame, y)
    d = tmp_path_factory.mktemp("categorical")
    sio.dump(pipe, str(d / "model.skops"))
    bg = frame.iloc[:20].reset_index(drop=True)
    out = save_bundle(make_bundle(str(d / "model.skops"), bg, trust_pickle=True), str(d / "bundle"))
    return {"client": TestClient(create_app(out, trust_pickle=True, log_requests=False)), "pipe": pipe, "bg": bg,
            "frame": frame, "dir": d}


def test_the_bundle_records_kinds_and_levels(served: dict[str, Any]) -> None:
    b = load_bundle(served["dir"] / "bundle", trust_pickle=True)
    assert b.dtypes == {"age": "number", "workclass": "category", "sex": "category", "hours_per_week": "number"}
    assert b.categories["sex"] == ["Female", "Male"]
    with pytest.raises(Exception, match="trust_pickle"):  # skops types it does not trust: refused unless trusted
        load_bundle(served["dir"] / "bundle")


def test_rows_by_name_with_categories_equal_the_library(served: dict[str, Any]) -> None:
    rows = served["frame"].iloc[100:103].reset_index(drop=True)
    instances = [{k: (v if isinstance(v, str) else float(v)) for k, v in r.items()} for r in rows.to_dict(orient="records")]
    r = served["client"].post("/explain", json={"instances": instances})
    assert r.status_code == 200, r.text
    lib = xk.explain(served["pipe"], rows, background=served["bg"])
    assert r.json()["method"] == lib.method == "exact_shapley"
    np.testing.assert_allclose(np.array(r.json()["values"]), lib.values, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("row", "field"), [
    ({"age": 39, "workclass": 5, "sex": "Male", "hours_per_week": 40}, "workclass"),
    ({"age": "old", "workclass": "Private", "sex": "Male", "hours_per_week": 40}, "age"),
    ({"age": 39, "workclass": "Private", "sex": ["Male"], "hours_per_week": 40}, "sex"),
])
def test_wrong_types_are_named(served: dict[str, Any], row: dict[str, Any], field: str) -> None:
    r = served["client"].post("/explain", json={"instances": [row]})
    assert 400 <= r.status_code < 500, r.text
    assert field in json.dumps(r.json()["detail"])
