"""Dataset jobs on a local Dask cluster give the files of a serial run (xaikit.execution.dataset)."""

from __future__ import annotations

import importlib.util

import pytest
from test_dataset_jobs import _job_namespace, _tables

from xaikit.errors import InvalidParameterError


def test_dask_executor_gives_the_same_files(tmp_path):
    if importlib.util.find_spec("xaikit.execution.dask") is None or importlib.util.find_spec("distributed") is None:
        pytest.skip("xaikit.execution.dask (the Dask executor) is not in this tree")
    job = _job_namespace()["job"]
    serial = job(tmp_path / "serial")
    try:
        job(tmp_path / "dask", executor="dask-local:2")
    except InvalidParameterError as exc:
        if "Dask executor" in str(exc):
            pytest.skip(f"the 'dask-local' scheme is not registered yet: {exc}")
        raise
    names = list(_tables(serial.out))
    assert names == list(_tables(tmp_path / "dask")) and len(names) == 10
    for name in names:
        assert (tmp_path / "dask" / name).read_bytes() == (serial.out / name).read_bytes()
