"""Tests of xaikit.execution: executors, get_executor and chunking."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xaikit as xk
from xaikit.errors import InvalidParameterError, XaikitError
from xaikit.execution import (
    Executor,
    LocalExecutor,
    SerialExecutor,
    ThreadExecutor,
    chunk_indices,
    get_executor,
    shared,
)
from xaikit.execution.shared import (
    MissingShared,
    WorkerCached,
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


class Table(WorkerCached):
    """A shared object; counts how often it is pickled (in this process)."""

    pickled = 0

    def __init__(self, values: list[int]) -> None:
        self.values = list(values)

    def content_key(self) -> str:
        return repr(self.values)

    def __getstate__(self) -> dict:
        Table.pickled += 1
        return self.__dict__


def table_sum(job: tuple[Table, int]) -> int:
    table, k = job
    return sum(table.values) * k


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
        "spec", ["processes:x", "processes:-1", "processes:1.5", "processes:0", "threads:x", "threads:0", "thread", "",
                 "Serial", 3, 2.0, True]
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
    """Objects deriving from WorkerCached go to each worker once and are kept there."""

    @staticmethod
    def record_submits(monkeypatch) -> list[bool]:
        sent: list[bool] = []
        submit = LocalExecutor._submit

        def recording(pool, payloads, objects):
            sent.append(objects is not None)
            return submit(pool, payloads, objects)

        monkeypatch.setattr(LocalExecutor, "_submit", staticmethod(recording))
        return sent

    def test_sent_with_the_first_call_only(self, monkeypatch):
        sent = self.record_submits(monkeypatch)
        table = Table(range(10))
        with LocalExecutor(2) as ex:
            Table.pickled = 0
            first = ex.map(table_sum, [(table, k) for k in range(6)])
            assert Table.pickled == 1  # once for the six jobs
            assert sent == [True]
            second = ex.map(table_sum, [(table, k) for k in range(6)])
        assert sent[1] is False  # the second call's jobs carry the key alone
        assert first == second == [45 * k for k in range(6)]

    def test_changed_object_is_sent_again(self, monkeypatch):
        sent = self.record_submits(monkeypatch)
        table = Table([1, 2])
        with LocalExecutor(2) as ex:
            assert ex.map(table_sum, [(table, 1), (table, 2)]) == [3, 6]
            table.values.append(10)  # changed in place: a new key, never the workers' stale copy
            assert ex.map(table_sum, [(table, 1), (table, 2)]) == [13, 26]
        assert sent == [True, True]

    def test_worker_without_the_object_gets_the_job_again(self, monkeypatch):
        sent = self.record_submits(monkeypatch)
        table = Table([4, 5])
        with LocalExecutor(2) as ex:
            ex._sent[table.content_key()] = None  # as if sent before: the workers do not have it
            assert ex.map(table_sum, [(table, 1), (table, 3)]) == [9, 27]
        assert sent == [False, True]  # by key, then again with the object

    def test_reference_round_trip_in_process(self):
        forget_all()
        try:
            table = Table([7])
            objects: dict = {}
            payload = by_reference(("job", [table, table]), objects)
            assert list(objects) == ["[7]"]
            with pytest.raises(MissingShared) as info:
                resolve(payload)
            assert info.value.key == "[7]"
            name, (a, b) = resolve(payload, objects)
            assert name == "job" and a is b is table
            remember(objects)
            assert resolve(payload)[1][0] is table
        finally:
            forget_all()

    def test_cache_keeps_the_most_recent(self):
        forget_all()
        try:
            tables = [Table([i]) for i in range(shared.CACHE_SIZE + 1)]
            for t in tables:
                remember({t.content_key(): t})
            with pytest.raises(MissingShared):
                resolve(by_reference(tables[0], {}))
            assert resolve(by_reference(tables[-1], {})) is tables[-1]
        finally:
            forget_all()


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
