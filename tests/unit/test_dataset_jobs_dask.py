"""Dataset jobs on a local Dask cluster give the files of a serial run (xaikit.execution.dataset)."""

from __future__ import annotations

from test_dataset_jobs import _job_namespace, _tables


def test_dask_executor_gives_the_same_files(tmp_path):
    job = _job_namespace()["job"]
    serial = job(tmp_path / "serial")
    job(tmp_path / "dask", executor="dask-local:2")
    names = list(_tables(serial.out))
    assert names == list(_tables(tmp_path / "dask")) and len(names) == 10
    for name in names:
        assert (tmp_path / "dask" / name).read_bytes() == (serial.out / name).read_bytes()
