"""The Dask executor: every executor gives the values of the serial one; scattered objects go once;
a worker killed mid-job changes nothing; a scheduler that cannot be reached is named."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.execution import get_executor

distributed = pytest.importorskip("distributed")

from xaikit.execution.dask import DaskExecutor  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(24, 4))
BG = RNG.normal(size=(12, 4))
W = np.array([[1.0, -2.0], [0.5, 0.0], [0.0, 3.0], [-1.0, 1.0]])
XW = RNG.normal(size=(24, 10))  # ten features: KernelShap samples 64 of the 1024 coalitions
BGW = RNG.normal(size=(8, 10))
WW = RNG.normal(size=(10, 2))


def linear(X: np.ndarray) -> np.ndarray:
    return np.tanh(X @ W) + 0.1 * X[:, :1] * X[:, 1:2]


def wide(X: np.ndarray) -> np.ndarray:
    return np.tanh(X @ WW) + 0.1 * X[:, :1] * X[:, 1:2]


def slow_wide(X: np.ndarray) -> np.ndarray:
    time.sleep(0.05)
    return wide(X)


@pytest.fixture(scope="module")
def client():
    ex = DaskExecutor.local(2)
    try:
        yield ex.client
    finally:
        ex.close()


@pytest.fixture(scope="module")
def gbm():
    from sklearn.ensemble import GradientBoostingRegressor

    y = X @ W[:, 0] + np.sin(X[:, 1])
    return GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0).fit(X, y)


def _all_executors(make, client):
    """The values of ``make()`` run on serial, two local processes, and the Dask cluster of 2."""
    out = {}
    for name, spec in (("serial", "serial"), ("processes", "processes:2"), ("dask", client)):
        out[name] = make(spec)
    return out


def _same(results, tol=1e-12):
    ref = results["serial"]
    for name, exp in results.items():
        assert exp.values.shape == ref.values.shape, name
        np.testing.assert_allclose(exp.values, ref.values, rtol=0, atol=tol, err_msg=name)
        np.testing.assert_allclose(exp.base_values, ref.base_values, rtol=0, atol=tol, err_msg=name)


def test_kernel_shap_same_on_every_executor(client):
    explainer = xk.KernelShap(wide, background=BGW)
    results = _all_executors(lambda ex: explainer.explain(XW, executor=ex, random_state=3, n_samples=64), client)
    _same(results)
    assert np.array_equal(results["dask"].values, results["serial"].values)  # bitwise: same rows, same seeds
    assert np.array_equal(results["dask"].diagnostics["std_err"], results["serial"].diagnostics["std_err"])
    other = explainer.explain(XW, executor=client, random_state=4, n_samples=64)
    assert not np.array_equal(other.values, results["dask"].values)  # the seed is what decides


def test_tree_shap_same_on_every_executor(client, gbm):
    explainer = xk.TreeShap(gbm, background=BG)
    results = _all_executors(lambda ex: explainer.explain(X, executor=ex), client)
    _same(results)
    gap = results["dask"].values.sum(axis=1) + results["dask"].base_values - gbm.predict(X)[:, None]
    assert np.abs(gap).max() < 1e-9


def test_lime_same_on_every_executor(client):
    explainer = xk.Lime(linear, masker=xk.TabularMasker(BG))
    results = _all_executors(lambda ex: explainer.explain(X[:8], executor=ex, random_state=1, n_samples=200), client)
    _same(results)


def test_integrated_gradients_same_on_every_executor(client):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double().eval()
    explainer = xk.IntegratedGradients(net)
    results = _all_executors(lambda ex: explainer.explain(X, target=1, baseline=0.0, n_steps=16, executor=ex,
                                                          random_state=0), client)
    _same(results)


def _agnostic_methods():
    from xaikit.explainers.base import REGISTRY

    return sorted(name for name, cls in REGISTRY.items() if not cls.requires and cls.kind in ("local", "global"))


@pytest.mark.parametrize("name", _agnostic_methods())
def test_model_agnostic_methods_same_on_dask(client, name):
    """Every model-agnostic local or global method, on its contract case: Dask == serial."""
    from xaikit.explainers.base import REGISTRY
    from xaikit.testing.cases import default_case

    case = default_case(REGISTRY[name])
    params = {"random_state": 0, **case.explain}
    serial = case.make(case.model).explain(case.X, *case.inputs, executor="serial", **params)
    dask = case.make(case.model).explain(case.X, *case.inputs, executor=client, **params)
    assert type(dask) is type(serial)
    compared = 0
    for field in type(serial)._array_fields:
        a, b = getattr(serial, field.name), getattr(dask, field.name)
        if isinstance(a, np.ndarray) and a.dtype.kind in "fc":
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-12, err_msg=field.name)
            compared += 1
    assert compared >= 1


def test_scatter_once_per_explain(client, gbm):
    ex = DaskExecutor(client)
    xk.KernelShap(linear, background=BG).explain(X, executor=ex, random_state=0, n_samples=32)
    assert ex.scatter_calls == 1  # the method, with its model and background, for all 8 chunks
    xk.TreeShap(gbm, background=BG).explain(X, executor=ex)
    assert ex.scatter_calls == 2  # the tree ensemble
    ex.close()
    assert client.status == "running"


def test_scattered_object_reaches_jobs_as_a_key(client):
    """Jobs carry a key, not the object: a large table scattered once, eight jobs that read it."""
    with DaskExecutor(client) as ex:
        table = ex.scatter(np.arange(200_000.0))
        sizes = [len(ex._payload(_weighted_total, ((table, k),))[0]) for k in range(2)]
        assert max(sizes) < 10_000  # the 1.6 MB table is not in the job
        assert ex.map(_weighted_total, [(table, k) for k in range(8)]) == [k * float(np.arange(200_000.0).sum()) for k in range(8)]
        assert ex.scatter_calls == 1


def _weighted_total(job):
    table, weight = job
    return weight * float(table.get().sum())


def test_client_passed_in_is_left_open(client):
    exp = xk.KernelShap(linear, background=BG).explain(X[:6], executor=client, random_state=0, n_samples=32)
    assert exp.values.shape == (6, 4, 2)
    assert client.status == "running"
    assert client.submit(abs, -5).result() == 5
    assert isinstance(get_executor(client), DaskExecutor)


def test_submit_as_completed_and_errors(client):
    with DaskExecutor(client) as ex:
        assert ex.n_workers == 2
        futures = [ex.submit(pow, 2, k) for k in range(4)]
        assert sorted(f.result() for f in ex.as_completed(futures)) == [1, 2, 4, 8]
        with pytest.raises(ZeroDivisionError):
            ex.map(_divide, [1, 0])


def _divide(x):
    return 1 / x


@pytest.mark.parametrize("inline_bytes", [1 << 20, 0])
def test_worker_killed_mid_job(client, inline_bytes, monkeypatch):
    """Jobs sent with their task (small) or scattered to a worker first (large, here all of them):
    the worker killed mid-job, the values are exact."""
    import xaikit.execution.dask as dask_module

    monkeypatch.setattr(dask_module, "INLINE_BYTES", inline_bytes)
    explainer = xk.KernelShap(slow_wide, background=BGW)
    expected = explainer.explain(XW, executor="serial", random_state=5, n_samples=64)
    box = {}

    def work():
        box["exp"] = explainer.explain(XW, executor=client, random_state=5, n_samples=64)

    thread = threading.Thread(target=work)
    thread.start()
    busy = _busy_worker(client)
    pid = client.run(os.getpid)[busy]
    assert thread.is_alive()
    os.kill(pid, signal.SIGKILL)  # the worker dies with a chunk of rows in its hands
    thread.join()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    np.testing.assert_array_equal(box["exp"].values, expected.values)
    np.testing.assert_array_equal(box["exp"].diagnostics["std_err"], expected.diagnostics["std_err"])
    client.wait_for_workers(2)  # the nanny started a new one: the later tests find two


def _busy_worker(client):
    """The address of a worker running a task of ours (waits for one)."""
    for _ in range(1000):
        for address, keys in client.processing().items():
            if any(str(key).startswith("xaikit-job-") for key in keys):
                return address
        time.sleep(0.01)
    raise AssertionError("no task started")


def test_lost_scattered_data_is_sent_again(client):
    """Every copy of a scattered object gone (as when all the workers holding it die): the object
    is sent again from this process and the jobs run."""
    with DaskExecutor(client) as ex:
        table = ex.scatter(np.arange(1000.0))
        (first,) = ex._scattered.values()
        client.cancel(first)
        assert ex.map(_weighted_total, [(table, 1), (table, 2)]) == [499500.0, 999000.0]
        (second,) = ex._scattered.values()
        assert second is not first and second.status == "finished"


def test_unreachable_address_is_named(monkeypatch):
    import xaikit.execution.dask as dask_module

    monkeypatch.setattr(dask_module, "CONNECT_TIMEOUT_S", 1.0)
    with pytest.raises(InvalidParameterError, match=r"^executor: .*'tcp://127\.0\.0\.1:1'.*could not be reached"):
        get_executor("dask://127.0.0.1:1")
    with pytest.raises(InvalidParameterError, match=r"^executor: .*could not be reached"):
        xk.KernelShap(linear, background=BG).explain(X[:2], executor="dask://127.0.0.1:1")


@pytest.mark.parametrize("spec", ["dask://", "dask://host", "dask://host:port", "dask-local:0", "dask-local:x"])
def test_bad_specifications(spec):
    with pytest.raises(InvalidParameterError, match="^executor:") as info:
        get_executor(spec)
    assert repr(spec) in str(info.value)


def test_not_a_client():
    Client = type("Client", (), {"__module__": "distributed.client"})
    Client.__qualname__ = "Client"
    with pytest.raises(InvalidParameterError, match=r"^executor: expected a distributed.Client"):
        get_executor(Client())


def test_dask_local_scheme_closes_its_cluster():
    ex = get_executor("dask-local:1")
    try:
        assert isinstance(ex, DaskExecutor) and ex.n_workers == 1
        assert ex.map(abs, [-3, 4]) == [3, 4]
        cluster = ex._cluster
    finally:
        ex.close()
    assert cluster.status.name == "closed"
    assert ex.client.status == "closed"


def test_local_workers_run_without_the_statistical_profiler() -> None:
    from xaikit.execution import get_executor

    ex = get_executor("dask-local:1")
    try:
        settings = ex.client.run(lambda: __import__("dask").config.get("distributed.worker.profile.enabled"))
    finally:
        ex.close()
    assert list(settings.values()) == [False]
