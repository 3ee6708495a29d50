"""Tests of xaikit.execution: executors, get_executor and chunking."""

from __future__ import annotations

import os
import pickle
import secrets
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xaikit as xk
from xaikit.errors import InvalidParameterError, XaikitError
from xaikit.execution import (
    AutoExecutor,
    Executor,
    LocalExecutor,
    SerialExecutor,
    ThreadExecutor,
    auto,
    chunk_indices,
    get_executor,
    local,
    register_executor,
    shared,
    unregister_executor,
)
from xaikit.execution.auto import worth_a_pool
from xaikit.execution.shared import (
    MissingShared,
    Shared,
    by_reference,
    forget_all,
    remember,
    resolve,
)


def square_plus_pid(v: int) -> tuple[int, int]:
    """Module level, so that worker processes can import it."""
    return v * v, os.getpid()


def square(v: int) -> int:
    return v * v


class Table:
    """A large object to scatter; counts how often it is pickled (in this process)."""

    pickled = 0

    def __init__(self, values: list[int]) -> None:
        self.values = list(values)

    def content_key(self) -> str:
        return repr(self.values)

    def __getstate__(self) -> dict:
        Table.pickled += 1
        return self.__dict__


def weighted_total(job: tuple[Shared[list[int]], int]) -> int:
    values, k = job
    return sum(values.get()) * k


def table_sum(job: tuple[Shared[Table], int]) -> int:
    table, k = job
    return sum(table.get().values) * k


# ---------------------------------------------------------------- serial
class TestSerial:
    def test_map_in_order(self):
        calls = []

        def f(v):
            calls.append(v)
            return -v

        assert SerialExecutor().map(f, [3, 1, 2]) == [-3, -1, -2]
        assert calls == [3, 1, 2]

    def test_empty(self):
        assert SerialExecutor().map(square, []) == []

    def test_context_manager(self):
        with SerialExecutor() as ex:
            assert isinstance(ex, SerialExecutor)
            assert ex.map(square, range(4)) == [0, 1, 4, 9]
        assert ex.n_workers == 1


# ---------------------------------------------------------------- get_executor
class TestGetExecutor:
    @pytest.mark.parametrize("spec", [None, "serial"])
    def test_serial(self, spec):
        assert isinstance(get_executor(spec), SerialExecutor)

    def test_processes_with_count(self):
        ex = get_executor("processes:2")
        assert isinstance(ex, LocalExecutor) and ex.n_workers == 2
        ex.close()

    def test_processes_default_count(self):
        ex = get_executor("processes")
        assert isinstance(ex, LocalExecutor) and ex.n_workers == (os.cpu_count() or 1)
        ex.close()

    def test_instance_returned_as_is(self):
        ex = SerialExecutor()
        assert get_executor(ex) is ex
        local = LocalExecutor(3)
        assert get_executor(local) is local

    def test_public_alias(self):
        assert xk.get_executor is get_executor

    @pytest.mark.parametrize(
        "spec",
        [
            "processes:x",
            "processes:-1",
            "processes:1.5",
            "processes:0",
            "threads:x",
            "threads:0",
            "thread",
            "",
            "Serial",
            3,
            2.0,
            True,
        ],
    )
    def test_bad_specs(self, spec):
        with pytest.raises(InvalidParameterError) as info:
            get_executor(spec)
        assert isinstance(info.value, XaikitError)
        assert str(info.value).startswith("executor:")
        assert repr(spec) in str(info.value)

    def test_zero_workers_rejected(self):
        with pytest.raises(InvalidParameterError, match="n_workers.*>= 1"):
            LocalExecutor(0)
        with pytest.raises(InvalidParameterError, match="n_workers.*>= 1"):
            ThreadExecutor(0)

    def test_threads(self):
        with get_executor("threads:2") as ex:
            assert isinstance(ex, ThreadExecutor) and ex.n_workers == 2
            assert ex.map(abs, [-1, -2, 3]) == [1, 2, 3]
        assert get_executor("threads").n_workers >= 1

    def test_non_ascii_digit_rejected_cleanly(self):
        with pytest.raises(InvalidParameterError, match="^executor:"):
            get_executor("processes:\u00b2")


# ---------------------------------------------------------------- local processes
class TestLocalExecutor:
    def test_parameters_checked(self):
        with pytest.raises(InvalidParameterError, match="^n_workers:"):
            LocalExecutor(0)
        with pytest.raises(InvalidParameterError, match="^n_workers:"):
            LocalExecutor(1.5)  # type: ignore[arg-type]
        with pytest.raises(InvalidParameterError, match="^start_method:.*'threads'"):
            LocalExecutor(2, start_method="threads")

    def test_is_an_executor(self):
        ex = LocalExecutor(2)
        assert isinstance(ex, Executor)
        assert "n_workers=2" in repr(ex)

    def test_same_results_as_serial_in_order(self):
        items = list(range(-5, 15))
        with LocalExecutor(2) as ex:
            out = ex.map(square_plus_pid, items)
        serial = SerialExecutor().map(square_plus_pid, items)
        assert [v for v, _ in out] == [v for v, _ in serial] == [i * i for i in items]
        # the work really ran in other processes
        assert all(pid != os.getpid() for _, pid in out)

    def test_small_inputs_run_inline(self):
        ex = LocalExecutor(2)
        assert ex.map(square_plus_pid, [3]) == [(9, os.getpid())]
        assert ex.map(square_plus_pid, []) == []
        assert ex._pool is None  # no pool was started for this
        ex.close()

    def test_lambda_needs_cloudpickle(self):
        pytest.importorskip("cloudpickle", reason="sending lambdas to worker processes needs cloudpickle")
        offset = 7
        with LocalExecutor(2) as ex:
            out = ex.map(lambda v: v + offset, [1, 2, 3, 4])
        assert out == [8, 9, 10, 11]

    def test_context_manager_closes_pool(self):
        with LocalExecutor(2) as ex:
            assert ex.map(square, [1, 2, 3]) == [1, 4, 9]
            pool = ex._pool
            assert pool is not None
        assert ex._pool is None
        with pytest.raises(RuntimeError):
            pool.submit(square, 2)
        # usable again: a fresh pool is started on demand
        try:
            assert ex.map(square, [4, 5]) == [16, 25]
        finally:
            ex.close()

    def test_close_is_idempotent(self):
        ex = LocalExecutor(2)
        ex.close()
        ex.close()
        assert ex._pool is None


# ---------------------------------------------------------------- chunking
class TestSharedObjects:
    """Objects wrapped by scatter go to each worker once and are kept there."""

    @staticmethod
    def record_launches(monkeypatch) -> list[bool]:
        """Whether each job sent to the pool carried shared objects (first sends only: a worker
        started meanwhile, that lacks an object, gets its job again with it, recorded in
        ``retries``)."""
        sent: list[bool] = []
        launch = local._Lease.launch

        def recording(self, job, batch, payload, objects, *, retried, **kw):
            (TestSharedObjects.retries if retried else sent).append(objects is not None)
            return launch(self, job, batch, payload, objects, retried=retried, **kw)

        TestSharedObjects.retries = []

        monkeypatch.setattr(local._Lease, "launch", recording)
        return sent

    def test_sent_with_the_first_call_only(self, monkeypatch):
        sent = self.record_launches(monkeypatch)
        table = Table([*range(10), secrets.randbits(32)])  # content new to the kept workers
        total = sum(table.values)
        with LocalExecutor(2) as ex:
            Table.pickled = 0
            handle = ex.scatter(table)
            first = ex.map(table_sum, [(handle, k) for k in range(6)])
            assert Table.pickled == 1  # once for the six jobs
            assert sent == [True] * 6
            second = ex.map(table_sum, [(ex.scatter(table), k) for k in range(6)])
            # the second call's jobs carry the key alone
            assert Table.pickled == 1 + (len(self.retries) > 0)
        assert sent[6:] == [False] * 6
        assert first == second == [total * k for k in range(6)]

    def test_a_new_executor_finds_the_objects_kept(self, monkeypatch):
        # the workers are kept between executors: "processes:2" given anew to each call pays once
        table = Table([3, secrets.randbits(32)])
        with LocalExecutor(2) as ex:
            ex.map(table_sum, [(ex.scatter(table), 1), (ex.scatter(table), 2)])
        sent = self.record_launches(monkeypatch)
        Table.pickled = 0
        with LocalExecutor(2) as ex:
            handle = ex.scatter(table)
            assert ex.map(table_sum, [(handle, 1), (handle, 2)]) == [sum(table.values), 2 * sum(table.values)]
        assert sent == [False, False]
        assert Table.pickled == (len(self.retries) > 0)

    def test_changed_object_is_sent_again(self, monkeypatch):
        sent = self.record_launches(monkeypatch)
        table = Table([1, 2, secrets.randbits(32)])
        with LocalExecutor(2) as ex:
            handle = ex.scatter(table)
            base = sum(table.values)
            assert ex.map(table_sum, [(handle, 1), (handle, 2)]) == [base, 2 * base]
            table.values.append(10)  # changed in place: a new key, never the workers' stale copy
            assert ex.map(table_sum, [(handle, 1), (handle, 2)]) == [base + 10, 2 * base + 20]
        assert sent == [True, True, True, True]

    def test_worker_without_the_object_gets_the_job_again(self, monkeypatch):
        sent = self.record_launches(monkeypatch)
        table = Table([4, 5, secrets.randbits(32)])
        with LocalExecutor(2) as ex:
            local._fresh_keys(ex._lease().pool(), [table.content_key()], 2)  # as if sent: the workers lack it
            handle = ex.scatter(table)
            assert ex.map(table_sum, [(handle, 1), (handle, 3)]) == [sum(table.values), 3 * sum(table.values)]
        assert sent == [False, False]  # by key,
        # then again with the object: each job that reached a worker lacking it (one or both: a worker that
        # got the object with the first retried job may take the second job after it)
        assert self.retries in ([True], [True, True])

    def test_submit_uses_the_kept_objects_too(self, monkeypatch):
        sent = self.record_launches(monkeypatch)
        table = Table([6, secrets.randbits(32)])
        with LocalExecutor(2) as ex:
            handle = ex.scatter(table)
            first = ex.submit(table_sum, (handle, 1)).result()
            futures = [ex.submit(table_sum, (handle, k)) for k in (2, 3)]
            assert sorted(f.result() for f in ex.as_completed(futures)) == [2 * first, 3 * first]
        assert first == sum(table.values)
        assert sent[:3] == [True, False, False]

    def test_tree_ensemble_sent_once_on_a_kept_pool(self, monkeypatch):
        sklearn = pytest.importorskip("sklearn.ensemble")
        rng = np.random.default_rng(0)
        X = rng.normal(size=(60, 4))
        y = X[:, 0] + X[:, 1] * X[:, 2] + 0.01 * secrets.randbits(16)  # an ensemble new to the workers
        model = sklearn.RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0).fit(X, y)
        explainer = xk.TreeShap(model)
        assert not any(cls.__name__ == "WorkerCached" for cls in type(explainer.ensemble).__mro__)
        dumped: list[list[str]] = []
        dumps = local._dumps
        monkeypatch.setattr(local, "_dumps", lambda objects: dumped.append(list(objects)) or dumps(objects))
        sent = self.record_launches(monkeypatch)
        serial = explainer.explain(X[:10], executor="serial")
        with LocalExecutor(2) as pool:
            first = explainer.explain(X[:10], executor=pool)
            assert sent == [True, True] and dumped == [[explainer.ensemble.content_key()]]
            second = explainer.explain(X[:10], executor=pool)
        assert sent[2:] == [False, False]  # the second call's jobs carry its key alone
        np.testing.assert_array_equal(first.values, serial.values)
        np.testing.assert_array_equal(second.values, serial.values)

    def test_reference_round_trip_in_process(self):
        forget_all()
        try:
            table = Table([7])
            objects: dict = {}
            handle = Shared(table)
            payload = by_reference(("job", [handle, handle]), objects)
            assert list(objects) == ["[7]"]
            with pytest.raises(MissingShared) as info:
                resolve(payload)
            assert info.value.key == "[7]"
            name, (a, b) = resolve(payload, objects)
            assert name == "job" and a.get() is b.get() is table
            remember(objects)
            assert resolve(payload)[1][0].get() is table
        finally:
            forget_all()

    def test_cache_keeps_the_most_recent(self):
        forget_all()
        try:
            tables = [Table([i]) for i in range(shared.CACHE_SIZE + 1)]
            for t in tables:
                remember({t.content_key(): t})
            with pytest.raises(MissingShared):
                resolve(by_reference(Shared(tables[0]), {}))
            assert resolve(by_reference(Shared(tables[-1]), {})).get() is tables[-1]
        finally:
            forget_all()

    def test_handle_pickled_plainly_carries_its_object(self):
        handle = pickle.loads(pickle.dumps(Shared(Table([8, 9]))))
        assert isinstance(handle, Shared) and handle.get().values == [8, 9]

    def test_objects_without_a_key_of_their_own(self):
        assert shared.content_key({"a": [1, 2]}) == shared.content_key({"a": [1, 2]})
        assert shared.content_key({"a": [1, 2]}) != shared.content_key({"a": [1, 3]})
        with LocalExecutor(2) as ex:
            handle = ex.scatter(list(range(5)))
            assert ex.map(weighted_total, [(handle, 1), (handle, 2)]) == [10, 20]


def fail_on_three(v: int) -> int:
    if v == 3:
        raise KeyError("three")
    return v


def slow_square(v: int) -> tuple[int, int]:
    time.sleep(0.05)
    return v * v, os.getpid()


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def blas_threads(_: int) -> list[tuple[str, int]]:
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_info

    return [(info["internal_api"], info["num_threads"]) for info in threadpool_info() if info["user_api"] in ("blas", "openmp")]


# ---------------------------------------------------------------- the protocol, on every executor
def every_executor() -> list:
    return [SerialExecutor(), ThreadExecutor(2), LocalExecutor(2), AutoExecutor(2)]


class TestProtocol:
    @pytest.mark.parametrize("ex", every_executor(), ids=repr)
    def test_submit_and_as_completed(self, ex):
        with ex:
            futures = [ex.submit(pow, 3, k) for k in range(4)]
            assert [f.result() for f in futures] == [1, 3, 9, 27]
            assert sorted(f.result() for f in ex.as_completed(futures)) == [1, 3, 9, 27]

    @pytest.mark.parametrize("ex", every_executor(), ids=repr)
    def test_a_job_error_comes_through_its_future(self, ex):
        with ex:
            future = ex.submit(fail_on_three, 3)
            with pytest.raises(KeyError, match="three"):
                future.result()
            assert ex.submit(fail_on_three, 2).result() == 2

    @pytest.mark.parametrize("ex", every_executor(), ids=repr)
    def test_map_raises_the_job_error(self, ex):
        with ex, pytest.raises(KeyError, match="three"):
            ex.map(fail_on_three, [1, 2, 3, 4])

    @pytest.mark.parametrize("ex", every_executor(), ids=repr)
    def test_scatter_gives_a_handle_jobs_can_use(self, ex):
        values = list(range(5, 12))
        with ex:
            handle = ex.scatter(values)
            assert isinstance(handle, Shared)
            assert ex.map(weighted_total, [(handle, k) for k in range(4)]) == [sum(values) * k for k in range(4)]

    @pytest.mark.parametrize("ex", [SerialExecutor(), ThreadExecutor(2)], ids=repr)
    def test_scatter_in_process_is_the_object_itself(self, ex):
        values = [1, 2]
        assert ex.scatter(values).get() is values

    def test_close_cancels_the_jobs_not_started(self):
        ex = LocalExecutor(2)
        futures = [ex.submit(nap, 0.3) for _ in range(10)]
        time.sleep(0.1)
        ex.close()
        cancelled = [f for f in futures if f.cancelled()]
        assert cancelled, "no job was cancelled"
        assert all(f.done() for f in futures)
        assert all(f.result() == 0.3 for f in futures if not f.cancelled())

    def test_closed_lease_refuses_jobs(self):
        ex = LocalExecutor(2)
        ex.map(square, [1, 2])
        lease = ex._pool
        ex.close()
        with pytest.raises(RuntimeError, match="closed"):
            lease.submit(square, 2)


# ---------------------------------------------------------------- the scheme table
class TestSchemes:
    @pytest.mark.parametrize("spec, n", [("auto", None), ("auto:3", 3)])
    def test_auto(self, spec, n):
        ex = get_executor(spec)
        assert isinstance(ex, AutoExecutor)
        if n is not None:
            assert ex.n_workers == n

    def test_dask_client_recognised_by_its_type_name(self):
        # a look-alike of distributed.Client (by its dotted type name) goes to the Dask executor, which checks it
        Client = type("Client", (), {"__module__": "distributed.client"})
        Client.__qualname__ = "Client"
        Sub = type("MyClient", (Client,), {})
        for client in (Client(), Sub()):
            with pytest.raises(InvalidParameterError, match=r"^executor: expected a distributed.Client"):
                get_executor(client)

    def test_unknown_spec_lists_the_schemes(self):
        with pytest.raises(InvalidParameterError) as info:
            get_executor("cluster:4")
        message = str(info.value)
        assert message.startswith("executor: expected")
        for form in ("'auto[:N]'", "'serial'", "'threads[:N]'", "'processes[:N]'", "'dask://host:port'"):
            assert form in message
        assert "'cluster:4'" in message

    @pytest.mark.parametrize("spec", ["serial:2", "auto:0", "auto:x", "dask", "processes://x"])
    def test_bad_arguments(self, spec):
        with pytest.raises(InvalidParameterError, match="^executor:") as info:
            get_executor(spec)
        assert repr(spec) in str(info.value)

    def test_registered_scheme(self):
        made = []
        register_executor("inline-test", lambda arg, spec: made.append(arg) or SerialExecutor(), syntax="'inline-test[:X]'")
        try:
            assert isinstance(get_executor("inline-test:abc"), SerialExecutor)
            assert made == ["abc"]
            with pytest.raises(InvalidParameterError, match="^scheme: 'inline-test' is already registered"):
                register_executor("inline-test", lambda arg, spec: SerialExecutor())
            with pytest.raises(InvalidParameterError) as info:
                get_executor("nope")
            assert "'inline-test[:X]'" in str(info.value)
        finally:
            unregister_executor("inline-test")
        with pytest.raises(InvalidParameterError):
            get_executor("inline-test")

    @pytest.mark.parametrize("name", ["", "a b", 3, "x:y"])
    def test_bad_scheme_names(self, name):
        with pytest.raises(InvalidParameterError, match="^scheme:"):
            register_executor(name, lambda arg, spec: SerialExecutor())

    def test_auto_with_hints_decides_at_once(self):
        assert isinstance(get_executor("auto", n_items=100, cost_hint_s=0.2), SerialExecutor)
        assert isinstance(get_executor("auto", n_items=1, cost_hint_s=100.0), SerialExecutor)
        big = get_executor("auto:2", n_items=100, cost_hint_s=100.0)
        assert isinstance(big, LocalExecutor) and big.n_workers == 2
        assert isinstance(get_executor("auto", n_items=100), AutoExecutor)  # no cost: decided at map time
        # hints only concern "auto"
        assert isinstance(get_executor("serial", n_items=100, cost_hint_s=100.0), SerialExecutor)

    @pytest.mark.parametrize(
        "kw, name", [({"n_items": -1, "cost_hint_s": 1.0}, "n_items"), ({"n_items": 3, "cost_hint_s": "x"}, "cost_hint_s")]
    )
    def test_bad_hints(self, kw, name):
        with pytest.raises(InvalidParameterError, match=f"^{name}:"):
            get_executor("auto", **kw)


# ---------------------------------------------------------------- auto
class TestAuto:
    @pytest.mark.parametrize(
        "item_s, n, k, expected",
        [
            (0.01, 100, 2, False),  # 1 s serially: saves 0.49 s at best
            (0.05, 100, 2, True),  # 5 s: saves 2.5 s
            (0.5, 3, 2, False),  # 1.5 s in 2 rounds instead of 3: saves 0.5 s
            (1.2, 3, 2, True),  # 3.6 s: saves 1.2 s
            (10.0, 1, 8, False),
            (10.0, 5, 1, False),
        ],
    )
    def test_rule(self, item_s, n, k, expected):
        assert worth_a_pool(item_s, n, k) is expected

    def test_small_job_runs_here(self):
        with AutoExecutor(2) as ex:
            out = ex.map(square_plus_pid, list(range(20)))
        assert ex.last_choice == "serial"
        assert out == [(v * v, os.getpid()) for v in range(20)]
        assert ex._processes is None  # no pool started

    def test_large_job_goes_to_processes_with_the_same_results(self, monkeypatch):
        monkeypatch.setattr(auto, "START_S", 0.0)
        items = list(range(7))
        with AutoExecutor(2, min_gain_s=0.05) as ex:  # 6 items left of 0.05 s: saves 0.15 s
            out = ex.map(slow_square, items)
        assert ex.last_choice == "processes"
        assert [v for v, _ in out] == [v * v for v in items]
        assert out[0][1] == os.getpid()  # the first item, timed here
        assert all(pid != os.getpid() for _, pid in out[1:])

    @pytest.mark.parametrize("ready, expected", [(True, "processes"), (False, "serial")])
    def test_starting_workers_counts(self, monkeypatch, ready, expected):
        monkeypatch.setattr(local, "workers_ready", lambda n: ready)
        monkeypatch.setattr(auto, "START_S", 10.0)
        with AutoExecutor(2, min_gain_s=0.05) as ex:  # saves 0.15 s: not worth 10 s of start-up
            out = ex.map(slow_square, list(range(7)))
        assert ex.last_choice == expected
        assert [v for v, _ in out] == [v * v for v in range(7)]

    def test_hints_count_the_start_too(self, monkeypatch):
        monkeypatch.setattr(local, "workers_ready", lambda n: False)
        assert isinstance(get_executor("auto:2", n_items=10, cost_hint_s=5.0), SerialExecutor)  # saves 2.5 s < 3
        monkeypatch.setattr(local, "workers_ready", lambda n: True)
        assert isinstance(get_executor("auto:2", n_items=10, cost_hint_s=5.0), LocalExecutor)

    def test_one_worker_or_one_item_runs_here(self):
        assert AutoExecutor(1, min_gain_s=0.0).map(slow_square, [1, 2, 3])[2] == (9, os.getpid())
        assert AutoExecutor(2, min_gain_s=0.0).map(slow_square, [4]) == [(16, os.getpid())]

    def test_parameters_checked(self):
        with pytest.raises(InvalidParameterError, match="^n_workers:"):
            AutoExecutor(0)
        with pytest.raises(InvalidParameterError, match="^min_gain_s:"):
            AutoExecutor(2, min_gain_s=-1.0)


# ---------------------------------------------------------------- native threads in workers
def test_workers_run_one_blas_thread(monkeypatch):
    for name in local.WORKER_ENV:  # what a worker would inherit without the limits
        monkeypatch.setenv(name, "2")
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor(max_workers=1, reuse=False).shutdown(wait=True)  # workers started from now on
    with LocalExecutor(2) as ex:
        found = ex.map(blas_threads, [0, 1])
    assert all(any(api in ("openblas", "mkl", "blis") for api, _ in libs) for libs in found), found
    assert all(n == 1 for libs in found for _, n in libs), found


class TestChunkIndices:
    def test_even_split(self):
        assert chunk_indices(6, 3) == [range(0, 2), range(2, 4), range(4, 6)]

    def test_documented_example(self):
        assert chunk_indices(5, 2) == [range(0, 3), range(3, 5)]

    def test_zero_items(self):
        assert chunk_indices(0, 4) == []

    def test_more_chunks_than_items(self):
        assert chunk_indices(3, 10) == [range(0, 1), range(1, 2), range(2, 3)]

    @pytest.mark.parametrize("n_chunks", [0, -2])
    def test_non_positive_chunks_give_one(self, n_chunks):
        assert chunk_indices(4, n_chunks) == [range(0, 4)]

    @settings(max_examples=300, deadline=None)
    @given(n=st.integers(0, 2000), n_chunks=st.integers(1, 64))
    def test_partition_property(self, n, n_chunks):
        chunks = chunk_indices(n, n_chunks)
        # covers range(n) exactly, in order, contiguous
        assert [i for c in chunks for i in c] == list(range(n))
        for a, b in zip(chunks, chunks[1:]):
            assert a.stop == b.start
        assert all(c.step == 1 for c in chunks)
        # never empty, at most n_chunks, as many as possible
        assert all(len(c) > 0 for c in chunks)
        assert len(chunks) == min(n, n_chunks)
        # nearly equal
        if chunks:
            sizes = [len(c) for c in chunks]
            assert max(sizes) - min(sizes) <= 1
