"""The explanation service over real HTTP: a uvicorn server on loopback, httpx clients."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
xgboost = pytest.importorskip("xgboost")

import xaikit as xk  # noqa: E402
from xaikit.serve.app import ExplainResponse, create_app  # noqa: E402
from xaikit.serve.bundle import load_bundle, make_bundle, save_bundle  # noqa: E402

COLUMNS = ["age", "education_num", "capital_gain", "capital_loss", "hours_per_week"]


class Server:
    """A uvicorn server of ``app`` in a thread on a free loopback port."""

    def __init__(self, app: Any) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                break
            time.sleep(0.01)
        assert self.server.started, "the server did not start"
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def post(self, path: str, body: Any, **kw: Any) -> httpx.Response:
        return self.client.post(path, json=body, **kw)

    def stop(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Logs(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(record.getMessage()))


@pytest.fixture(scope="module")
def data() -> tuple[Any, Any, Any]:
    """Real rows of UCI Adult (numeric columns): training rows, labels, background rows."""
    adult = xk.datasets.load_adult()
    frame = adult.frame[COLUMNS].astype("float64").iloc[:1500].reset_index(drop=True)
    y = np.asarray(adult.target)[:1500]
    return frame, y, frame.iloc[1000:1020].reset_index(drop=True)


def _fit(frame: Any, y: Any, n: int, path: str) -> None:
    model = xgboost.XGBClassifier(n_estimators=n, max_depth=3, learning_rate=0.3, n_jobs=1, random_state=0)
    model.fit(frame, y)
    model.save_model(path)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, data: tuple[Any, Any, Any]) -> Iterator[dict[str, Any]]:
    from xaikit.models.files import load_model

    frame, y, bg = data
    d = tmp_path_factory.mktemp("serve")
    model_path = str(d / "model.json")
    _fit(frame, y, 15, model_path)
    bundle_dir = save_bundle(make_bundle(model_path, bg, parameters={"random_state": 0}), str(d / "bundle"))
    logs = Logs()
    logger = logging.getLogger("xaikit.serve")
    logger.addHandler(logs)
    logger.setLevel(logging.INFO)
    server = Server(create_app(bundle_dir, max_rows=50, max_body_bytes=100_000, batch_window_ms=5.0))
    yield {"server": server, "model": load_model(model_path), "bg": bg, "rows": frame.iloc[:8].reset_index(drop=True),
           "dir": d, "frame": frame, "y": y, "logs": logs, "model_path": model_path}
    server.stop()
    logger.removeHandler(logs)


def _records(rows: Any) -> list[dict[str, float]]:
    return [{k: float(v) for k, v in r.items()} for r in rows.to_dict(orient="records")]


def test_tree_shap_values_equal_the_library(setup: dict[str, Any]) -> None:
    rows = setup["rows"].iloc[:3]
    r = setup["server"].post("/explain", {"instances": _records(rows)})
    assert r.status_code == 200, r.text
    body = r.json()
    lib = xk.TreeShap(setup["model"], background=setup["bg"]).explain(rows)
    assert body["method"] == "tree_shap" and body["exact"] is True and body["std_err"] is None
    ExplainResponse.model_validate(body)  # the answer is what the schema documents
    np.testing.assert_allclose(np.array(body["values"]), lib.values, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.array(body["base_values"]), lib.base_values, rtol=1e-12, atol=1e-12)
    assert body["feature_names"] == COLUMNS and body["model_version"] == load_bundle(setup["dir"] / "bundle").model_version
    # the same rows as lists in the model's order: the same answer
    r2 = setup["server"].post("/explain", {"instances": rows.to_numpy().tolist()})
    assert r2.status_code == 200
    np.testing.assert_allclose(np.array(r2.json()["values"]), lib.values, rtol=1e-12, atol=1e-12)


def test_kernel_shap_values_equal_the_library(setup: dict[str, Any]) -> None:
    rows = setup["rows"].iloc[2:4]
    body = {"instances": _records(rows), "method": "kernel-shap", "parameters": {"n_samples": 16, "random_state": 3}}
    r = setup["server"].post("/explain", body)
    assert r.status_code == 200, r.text
    out = r.json()
    lib = xk.KernelShap(setup["model"], background=setup["bg"]).explain(rows, n_samples=16, random_state=3)
    np.testing.assert_allclose(np.array(out["values"]), lib.values, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.array(out["std_err"]), lib.diagnostics["std_err"], rtol=1e-12, atol=1e-12)
    assert out["exact"] is False and out["n_samples"] == 16 and out["method"] == "kernel_shap"


def test_predict_equals_the_model(setup: dict[str, Any]) -> None:
    rows = setup["rows"].iloc[:2]
    r = setup["server"].post("/predict", {"instances": _records(rows), "method": "kernel_shap"})
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(np.array(r.json()["predictions"]), setup["model"].predict_proba(rows), rtol=1e-6)
    # the default method (TreeSHAP) explains the log-odds: /predict answers them
    default = setup["server"].post("/predict", {"instances": _records(rows)})
    assert default.status_code == 200, default.text
    assert default.json()["output"] == "log_odds"
    p = setup["model"].predict_proba(rows)[:, 1]
    np.testing.assert_allclose(np.array(default.json()["predictions"])[:, -1], np.log(p / (1 - p)), rtol=1e-5)


def test_budget_stops_a_sampled_method_and_an_exact_one_says_so(setup: dict[str, Any]) -> None:
    rows = _records(setup["rows"].iloc[:2])
    r = setup["server"].post("/explain", {"instances": rows, "method": "permutation_shap", "budget_ms": 5,
                                          "parameters": {"n_samples": 80_000}})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["budget_stopped"] == [True, True]
    assert out["std_err"] is not None and all(c < 80_000 * 20 for c in out["n_model_calls"])
    assert "stops at 5 ms" in out["budget"]
    exact = setup["server"].post("/explain", {"instances": rows, "budget_ms": 1}).json()
    assert exact["exact"] is True and exact["budget"].startswith("ignored") and exact["budget_stopped"] is None
    # KernelSHAP whose n_samples covers every coalition of 5 features is exact: the budget is said to be ignored
    whole = setup["server"].post("/explain", {"instances": rows, "method": "kernel_shap", "budget_ms": 50,
                                              "parameters": {"n_samples": 64}}).json()
    assert whole["exact"] is True and whole["budget"].startswith("ignored: the answer is exact") and whole["std_err"] is None


BAD = [
    ({"instances": []}, 422, "instances"),
    ({}, 422, "instances"),
    ({"instances": [[1, 2]]}, 422, "instances"),
    ({"instances": [{"age": 1}]}, 422, "education_num"),
    ({"instances": [{**dict.fromkeys(COLUMNS, 1.0), "zip": 1}]}, 422, "zip"),
    ({"instances": [["a", 1, 1, 1, 1]]}, 422, "instances"),
    ({"instances": [[True, 1, 1, 1, 1]]}, 422, "instances"),
    ({"instances": [[1, 1, 1, 1, 1]], "method": "magic"}, 422, "method"),
    ({"instances": [[1, 1, 1, 1, 1]], "output": "odds"}, 422, "output"),
    ({"instances": [[1, 1, 1, 1, 1]], "budget_ms": -5}, 422, "budget_ms"),
    ({"instances": [[1, 1, 1, 1, 1]], "budget_ms": "soon"}, 422, "budget_ms"),
    ({"instances": [[1, 1, 1, 1, 1]], "parameters": {"alpha": 1}}, 422, "alpha"),
    ({"instances": [[1, 1, 1, 1, 1]], "method": "kernel_shap", "parameters": {"n_samples": 0}}, 422, "n_samples"),
    ({"instances": [[1, 1, 1, 1, 1]], "target": 7}, 422, "target"),
    ({"instances": [[1, 1, 1, 1, 1]], "extra": 1}, 422, "extra"),
    ({"instances": [[1.0] * 5] * 51}, 413, "instances"),
]


@pytest.mark.parametrize(("body", "status", "field"), BAD)
def test_bad_payloads_get_a_4xx_naming_the_field(setup: dict[str, Any], body: Any, status: int, field: str) -> None:
    r = setup["server"].post("/explain", body)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert field in json.dumps(detail), detail


def test_oversized_and_malformed_bodies(setup: dict[str, Any]) -> None:
    server = setup["server"]
    big = server.client.post("/explain", content=b"[" + b"1," * 60_000 + b"1]", headers={"content-type": "application/json"})
    assert big.status_code == 413 and "body" in json.dumps(big.json()["detail"])
    broken = server.client.post("/explain", content=b"{not json", headers={"content-type": "application/json"})
    assert broken.status_code == 422


def test_async_job_round_trip(setup: dict[str, Any]) -> None:
    server = setup["server"]
    rows = _records(setup["frame"].iloc[100:180])  # more rows than /explain takes
    assert server.post("/explain", {"instances": rows}).status_code == 413
    r = server.post("/jobs", {"instances": rows})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    for _ in range(500):
        status = server.client.get(f"/jobs/{job_id}").json()
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.01)
    assert status["status"] == "done", status
    lib = xk.TreeShap(setup["model"], background=setup["bg"]).explain(setup["frame"].iloc[100:180])
    np.testing.assert_allclose(np.array(status["result"]["values"]), lib.values, rtol=1e-12, atol=1e-12)
    missing = server.client.get("/jobs/nope")
    assert missing.status_code == 404 and "job_id" in json.dumps(missing.json()["detail"])


def test_methods_and_health(setup: dict[str, Any]) -> None:
    server = setup["server"]
    methods = server.client.get("/methods").json()
    assert methods["resolved"] == "tree_shap"
    names = {m["name"]: m for m in methods["methods"]}
    assert names["tree_shap"]["applies"] and names["tree_shap"]["exact"] and names["kernel_shap"]["stochastic"]
    health = server.client.get("/health").json()
    assert health["status"] == "ok" and health["feature_names"] == COLUMNS


def test_log_lines_are_json_with_the_request_fields(setup: dict[str, Any]) -> None:
    before = len(setup["logs"].lines)
    rid = setup["server"].post("/explain", {"instances": [[30.0, 9.0, 0.0, 0.0, 40.0]]}).headers["x-request-id"]
    for _ in range(200):  # the line is written once the answer has been sent
        found = [line for line in setup["logs"].lines[before:] if line["id"] == rid]
        if found:
            break
        time.sleep(0.01)
    line = found[0]
    assert line["route"] == "POST /explain" and line["status"] == 200 and line["rows"] == 1
    assert set(line) == {"id", "route", "rows", "status", "ms", "cache_hit", "batch_rows"}


def _load(url: str, bodies: list[dict[str, Any]], clients: int) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            sem = asyncio.Semaphore(clients)

            async def one(body: dict[str, Any]) -> httpx.Response:
                async with sem:
                    return await client.post("/explain", json=body)

            return list(await asyncio.gather(*(one(b) for b in bodies)))

    # in a thread of its own: an event loop another test left running in this thread (a browser driver's) cannot
    # host asyncio.run
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(go())).result()


@pytest.mark.parametrize("micro_batch", [True, False])
def test_micro_batching_joins_requests_and_keeps_values(setup: dict[str, Any], micro_batch: bool) -> None:
    rows = setup["frame"].iloc[200:296].reset_index(drop=True)
    server = Server(create_app(setup["dir"] / "bundle", micro_batch=micro_batch, batch_window_ms=10.0, cache_size=0))
    try:
        bodies = [{"instances": [list(map(float, rows.iloc[i]))]} for i in range(len(rows))]
        answers = _load(server.url, bodies, clients=16)
        health = server.client.get("/health").json()
    finally:
        server.stop()
    assert all(a.status_code == 200 for a in answers)
    values = np.concatenate([np.array(a.json()["values"]) for a in answers])
    lib = xk.TreeShap(setup["model"], background=setup["bg"]).explain(rows)
    np.testing.assert_allclose(values, lib.values, rtol=1e-12, atol=1e-12)
    sizes = [a.json()["batch_rows"] for a in answers]
    if micro_batch:
        assert health["joined_batches"] >= 1 and max(sizes) > 1, health
    else:
        assert health["joined_batches"] == 0 and max(sizes) == 1


def test_stochastic_requests_are_joined_and_keep_their_own_values(setup: dict[str, Any]) -> None:
    rows = setup["frame"].iloc[300:312].reset_index(drop=True)
    server = Server(create_app(setup["dir"] / "bundle", batch_window_ms=20.0, cache_size=0))
    try:
        bodies = [{"instances": [list(map(float, rows.iloc[i])) for i in (2 * j, 2 * j + 1)], "method": "permutation_shap",
                   "parameters": {"n_samples": 16, "random_state": 5}} for j in range(len(rows) // 2)]
        answers = _load(server.url, bodies, clients=6)
        health = server.client.get("/health").json()
    finally:
        server.stop()
    assert health["joined_batches"] >= 1 and max(a.json()["batch_rows"] for a in answers) > 2, health
    explainer = xk.PermutationShap(setup["model"], background=setup["bg"])
    for j, a in enumerate(answers):  # each request's two rows: as the library on those rows alone
        alone = explainer.explain(rows.iloc[2 * j : 2 * j + 2], n_samples=16, random_state=5)
        np.testing.assert_allclose(np.array(a.json()["values"]), alone.values, rtol=1e-12, atol=1e-12)


def test_cache_hit_then_never_stale_after_the_model_file_changes(setup: dict[str, Any]) -> None:
    from xaikit.models.files import load_model

    d = setup["dir"] / "stale"
    d.mkdir()
    path = str(d / "model.json")
    shutil.copyfile(setup["model_path"], path)
    server = Server(create_app(path, setup["bg"]))
    try:
        body = {"instances": _records(setup["rows"].iloc[:2])}
        first = server.post("/explain", body).json()
        second = server.post("/explain", body).json()
        assert first["cached"] is False and second["cached"] is True and second["values"] == first["values"]
        _fit(setup["frame"], setup["y"], 4, str(d / "other.json"))
        os.replace(d / "other.json", path)  # the model file rewritten in place
        third = server.post("/explain", body).json()
    finally:
        server.stop()
    assert third["cached"] is False and third["model_version"] != first["model_version"]
    lib = xk.TreeShap(load_model(path), background=setup["bg"]).explain(setup["rows"].iloc[:2])
    np.testing.assert_allclose(np.array(third["values"]), lib.values, rtol=1e-12, atol=1e-12)
    assert not np.allclose(np.array(third["values"]), np.array(first["values"]))


def test_api_key(setup: dict[str, Any]) -> None:
    server = Server(create_app(setup["dir"] / "bundle", api_key="s3cret"))
    body = {"instances": [[30.0, 9.0, 0.0, 0.0, 40.0]]}
    try:
        none = server.post("/explain", body)
        wrong = server.post("/explain", body, headers={"X-API-Key": "guess"})
        right = server.post("/explain", body, headers={"X-API-Key": "s3cret"})
        health = server.client.get("/health")
        methods = server.client.get("/methods")
    finally:
        server.stop()
    assert none.status_code == 401 and "X-API-Key" in json.dumps(none.json()["detail"])
    assert wrong.status_code == 401 and methods.status_code == 401
    assert right.status_code == 200 and health.status_code == 200


def test_reload_and_a_replaced_bundle(setup: dict[str, Any]) -> None:
    d = setup["dir"] / "replaced"
    d.mkdir()
    _fit(setup["frame"], setup["y"], 6, str(d / "a.json"))
    _fit(setup["frame"], setup["y"], 9, str(d / "b.json"))
    folder = save_bundle(make_bundle(str(d / "a.json"), setup["bg"]), str(d / "bundle"))
    server = Server(create_app(folder, log_requests=False))
    try:
        first = server.client.get("/health").json()
        save_bundle(make_bundle(str(d / "b.json"), setup["bg"]), folder, overwrite=True)
        reloaded = server.client.post("/reload").json()
        answer = server.post("/explain", {"instances": _records(setup["rows"].iloc[:1])}).json()
    finally:
        server.stop()
    assert reloaded["model_version"] != first["model_version"] and reloaded["reloads"] >= 1
    assert answer["model_version"] == reloaded["model_version"] == load_bundle(folder).model_version


def test_finished_jobs_are_kept_bounded(setup: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(create_app(setup["dir"] / "bundle", max_jobs=2, log_requests=False))
    ids = []
    for i in range(3):
        job_id = client.post("/jobs", json={"instances": _records(setup["rows"].iloc[i : i + 1])}).json()["id"]
        for _ in range(500):
            if client.get(f"/jobs/{job_id}").json()["status"] == "done":
                break
            time.sleep(0.01)
        ids.append(job_id)
    assert client.get(f"/jobs/{ids[0]}").status_code == 404  # the oldest finished job was dropped
    assert [client.get(f"/jobs/{j}").json()["status"] for j in ids[1:]] == ["done", "done"]
