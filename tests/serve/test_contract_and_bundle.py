"""The service's OpenAPI contract (schemathesis, no 5xx), the bundle format and ``xaikit serve``'s options."""

from __future__ import annotations

import argparse
import json
import os
import pickle
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
schemathesis = pytest.importorskip("schemathesis")
xgboost = pytest.importorskip("xgboost")
from hypothesis import HealthCheck, settings  # noqa: E402

from xaikit.cli import serve as serve_cli  # noqa: E402
from xaikit.cli._common import BadInput  # noqa: E402
from xaikit.errors import FormatError, InvalidParameterError  # noqa: E402
from xaikit.serve.app import create_app  # noqa: E402
from xaikit.serve.bundle import load_bundle, make_bundle, save_bundle  # noqa: E402


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, np.ndarray]:
    d = tmp_path_factory.mktemp("contract")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    path = str(d / "model.json")
    xgboost.XGBRegressor(n_estimators=5, max_depth=2, n_jobs=1).fit(X, X[:, 0] + X[:, 1] * X[:, 2]).save_model(path)
    return path, X[:12]


@pytest.fixture(scope="module")
def service_url(model_file: tuple[str, np.ndarray]) -> Iterator[str]:
    path, bg = model_file
    app = create_app(path, bg, max_rows=20, max_body_bytes=50_000, log_requests=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_no_server_error_on_any_request_the_schema_allows(service_url: str) -> None:
    """Hypothesis cases of every operation (positive and negative data) from the served schema."""
    from hypothesis import given

    schema = schemathesis.openapi.from_url(service_url + "/openapi.json")
    labels = []
    from hypothesis import strategies as st

    for result in schema.get_all_operations():
        op = result.ok()
        labels.append(op.label)
        modes = [op.as_strategy(generation_mode=mode) for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)]

        @given(case=st.one_of(modes))
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
        def check(case: Any) -> None:
            response = case.call(base_url=service_url, timeout=30)
            assert response.status_code < 500, (case.method, case.path, case.body, response.status_code, response.text[:500])

        check()
    assert "POST /explain" in labels and "GET /jobs/{job_id}" in labels
    import httpx

    assert httpx.get(service_url + "/health").json()["requests"] >= 12  # the cases reached the service


def test_the_schema_documents_the_routes(service_url: str) -> None:
    import httpx

    spec = httpx.get(service_url + "/openapi.json").json()
    assert {"/explain", "/predict", "/jobs", "/jobs/{job_id}", "/methods", "/health", "/reload"} <= set(spec["paths"])
    props = spec["components"]["schemas"]["ExplainRequest"]["properties"]
    assert {"instances", "output", "budget_ms", "target", "parameters", "method"} <= set(props)


def test_bundle_round_trip_and_version(tmp_path: Any, model_file: tuple[str, np.ndarray]) -> None:
    path, bg = model_file
    b = make_bundle(path, bg, method="kernel_shap", parameters={"n_samples": 32})
    out = save_bundle(b, str(tmp_path / "b"))
    again = load_bundle(out)
    assert again.model_version == b.model_version and again.method == "kernel_shap" and again.parameters == {"n_samples": 32}
    np.testing.assert_array_equal(again.background, bg)
    settings_ = json.loads((tmp_path / "b" / "bundle.json").read_text())
    assert settings_["format"] == "xaikit-bundle" and settings_["model_file"] == "model.json"
    # other settings, or another model file: another version
    assert make_bundle(path, bg, method="exact_shapley").model_version != b.model_version
    with pytest.raises(InvalidParameterError, match="path: expected a path that does not exist"):
        save_bundle(b, out)
    other = make_bundle(path, bg[:5])
    save_bundle(other, out, overwrite=True)
    assert load_bundle(out).model_version == other.model_version != b.model_version
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no temporary folder left


def test_bundle_with_a_frame_background_keeps_columns(tmp_path: Any) -> None:
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(100, 3)), columns=["a", "b", "c"])
    path = str(tmp_path / "m.json")
    xgboost.XGBRegressor(n_estimators=3, n_jobs=1).fit(frame, frame["a"]).save_model(path)
    out = save_bundle(make_bundle(path, frame.iloc[:10]), str(tmp_path / "b"))
    loaded = load_bundle(out)
    assert sorted(os.listdir(out)) == ["background.parquet", "bundle.json", "model.json"]
    assert list(loaded.background.columns) == ["a", "b", "c"] and loaded.feature_names == ["a", "b", "c"]


def test_pickled_model_refused_unless_trusted(tmp_path: Any, model_file: tuple[str, np.ndarray]) -> None:
    _, bg = model_file
    p = tmp_path / "model.pkl"
    p.write_bytes(pickle.dumps({"not": "a model"}))
    with pytest.raises(Exception, match="trust_pickle"):
        make_bundle(str(p), bg)


def test_bad_bundles_are_named(tmp_path: Any, model_file: tuple[str, np.ndarray]) -> None:
    with pytest.raises(InvalidParameterError, match="path: expected a bundle folder"):
        load_bundle(str(tmp_path))
    (tmp_path / "bundle.json").write_text(json.dumps({"format": "xaikit-bundle", "format_version": 1,
                                                       "model_file": "../x.json", "background_file": "b.npy"}))
    with pytest.raises(FormatError, match="model_file"):
        load_bundle(str(tmp_path))
    path, bg = model_file
    with pytest.raises(InvalidParameterError, match="feature_names: expected 4 names"):
        make_bundle(path, bg, feature_names=["a"])


def _args(**kw: Any) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    serve_cli.register(sub)
    argv = ["serve"]
    for key, value in kw.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    return parser.parse_args(argv)


def test_cli_saves_a_bundle_the_service_loads(tmp_path: Any, model_file: tuple[str, np.ndarray], capsys: Any) -> None:
    path, bg = model_file
    csv = tmp_path / "bg.csv"
    csv.write_text("x0,x1,x2,x3\n" + "\n".join(",".join(map(str, r)) for r in bg))
    args = _args(model=path, background=csv, save_bundle=tmp_path / "b", method="kernel-shap", n_samples=40)
    args.quiet = True
    assert serve_cli.run(args) == 0
    loaded = load_bundle(tmp_path / "b")
    assert loaded.method == "kernel_shap" and loaded.parameters == {"random_state": 0, "n_samples": 40}
    np.testing.assert_allclose(loaded.background, bg)
    assert "saved to" in capsys.readouterr().out


def test_cli_refuses_missing_or_conflicting_sources(tmp_path: Any, model_file: tuple[str, np.ndarray]) -> None:
    path, _ = model_file
    with pytest.raises(BadInput, match="--model: expected --model FILE and --background FILE"):
        serve_cli.build_bundle(_args(model=path))
    with pytest.raises(BadInput, match="--bundle: a bundle holds"):
        serve_cli.build_bundle(_args(bundle=tmp_path, model=path))
    args = _args(model=path, background=tmp_path / "none.csv", api_key_env="XAIKIT_TEST_NO_SUCH_KEY")
    with pytest.raises(Exception, match="--background"):
        serve_cli.run(args)


def test_cli_refuses_an_unset_api_key_variable(tmp_path: Any, model_file: tuple[str, np.ndarray], monkeypatch: Any) -> None:
    path, bg = model_file
    csv = tmp_path / "bg.csv"
    csv.write_text("x0,x1,x2,x3\n" + "\n".join(",".join(map(str, r)) for r in bg))
    monkeypatch.delenv("XAIKIT_TEST_UNSET_KEY", raising=False)
    args = _args(model=path, background=csv, api_key_env="XAIKIT_TEST_UNSET_KEY")
    args.quiet = True
    with pytest.raises(BadInput, match="--api-key-env: expected the environment variable 'XAIKIT_TEST_UNSET_KEY'"):
        serve_cli.run(args)


def test_import_xaikit_does_not_import_the_service() -> None:
    import subprocess
    import sys

    code = "import sys, xaikit; print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'xaikit.serve') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.strip() == "[]"
