"""Files and paths that used to escape as foreign errors: truncated or corrupt ``.xai`` files, unusable
save paths, unbounded reads, files of xaikit 0.1, and ``python -m xaikit``."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import os
import signal
import struct
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from numpy.lib import format as npy_format

from xaikit.errors import FormatError, InvalidParameterError
from xaikit.results import Attribution, Explanation, Interaction, RaggedAttribution
from xaikit.results import format as explanation_module

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def make(n: int = 6, d: int = 5, o: int = 2, **overrides: Any) -> Attribution:
    rng = np.random.default_rng(1)
    kwargs: dict[str, Any] = {
        "values": rng.normal(size=(n, d, o)),
        "base_values": rng.normal(size=(n, o)),
        "data": rng.normal(size=(n, d)),
        "method": "kernel_shap",
        "params": {"n_samples": 64},
        "diagnostics": {"std_err": rng.uniform(size=(n, d, o)), "n_model_calls": np.arange(n), "seed": 3},
    }
    kwargs.update(overrides)
    return Attribution(**kwargs)


def assert_same_attribution(a: Attribution, b: Attribution) -> None:
    assert type(a) is type(b)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.base_values, b.base_values)
    assert a.feature_names == b.feature_names and a.output_names == b.output_names
    assert a.method == b.method and a.params == b.params
    assert a.diagnostics.keys() == b.diagnostics.keys()


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail the test instead of hanging when the block takes longer than ``seconds``."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def members_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write_zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return path


def npy_bytes(arr: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    npy_format.write_array(buffer, arr, allow_pickle=False)
    return buffer.getvalue()


def npy_with_header(header: dict[str, Any], data: bytes) -> bytes:
    """An NPY 1.0 member with a hand-written header dict (which may lie about the data)."""
    buffer = io.BytesIO()
    npy_format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


# ----------------------------------------------------------------------------- truncated, corrupt


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    target = tmp_path / "result.xai"
    make().save(target)
    return target


def test_truncated_file_is_a_format_error_naming_the_path(saved: Path, tmp_path: Path) -> None:
    content = saved.read_bytes()
    meta_start = content.index(b"meta.json")
    values_start = content.index(b"values.npy")
    cuts = {
        "mid local header": 12,
        "mid meta.json": meta_start + 60,
        "mid values member": values_start + 80,
        "half": len(content) // 2,
        "central directory cut": len(content) - 40,
        "last byte missing": len(content) - 1,
    }
    for what, length in cuts.items():
        cut = tmp_path / f"cut_{length}.xai"
        cut.write_bytes(content[:length])
        with pytest.raises(FormatError, match="truncated or corrupt") as info:
            Explanation.load(cut)
        assert str(cut) in str(info.value), what
        assert "not a ZIP archive" not in str(info.value)
        with pytest.raises(FormatError, match=r"^data: truncated or corrupt"):
            Explanation.from_bytes(content[:length])


def test_empty_file_is_not_a_zip(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xai"
    empty.write_bytes(b"")
    with pytest.raises(FormatError, match=r"empty\.xai: not an xaikit explanation file: expected a ZIP archive"):
        Explanation.load(empty)


@pytest.mark.parametrize("member", ["meta.json", "values.npy"])
def test_bad_crc_is_a_format_error(saved: Path, tmp_path: Path, member: str) -> None:
    members = members_of(saved)
    stored = write_zip(tmp_path / "stored.xai", members)  # not compressed: a flipped byte reaches the CRC check
    assert_same_attribution(Explanation.load(stored), Explanation.load(saved))  # type: ignore[arg-type]
    content = bytearray(stored.read_bytes())
    with zipfile.ZipFile(stored) as zf:
        info = zf.getinfo(member)
    name_length, extra_length = struct.unpack("<HH", content[info.header_offset + 26 : info.header_offset + 30])
    data_start = info.header_offset + 30 + name_length + extra_length
    position = data_start + info.file_size - 3  # inside the data: JSON text or array numbers
    content[position] ^= 0x01
    corrupt = tmp_path / "crc.xai"
    corrupt.write_bytes(bytes(content))
    with pytest.raises(FormatError, match=rf"crc\.xai: truncated or corrupt .xai file: cannot read the member '{member}' \(Bad CRC"):
        Explanation.load(corrupt)
    with pytest.raises(FormatError, match="Bad CRC"):
        Explanation.from_bytes(bytes(content))


def test_every_flipped_byte_gives_a_format_error_or_the_same_result(saved: Path) -> None:
    original = Explanation.load(saved)
    content = saved.read_bytes()
    outcomes = {"format_error": 0, "same": 0}
    for position in range(0, len(content), 7):
        damaged = bytearray(content)
        damaged[position] ^= 0xA5
        try:
            loaded = Explanation.from_bytes(bytes(damaged))
        except FormatError:
            outcomes["format_error"] += 1
        else:  # a byte nothing reads back (a timestamp, a flag) may change
            assert_same_attribution(loaded, original)  # type: ignore[arg-type]
            np.testing.assert_array_equal(loaded.diagnostics["std_err"], original.diagnostics["std_err"])
            outcomes["same"] += 1
    assert outcomes["format_error"] > len(content) // 7 // 2


def test_bytes_round_trip_and_wrong_type() -> None:
    exp = make()
    back = Explanation.from_bytes(exp.to_bytes())
    assert_same_attribution(back, exp)  # type: ignore[arg-type]
    assert_same_attribution(Attribution.from_bytes(bytearray(exp.to_bytes())), exp)
    assert_same_attribution(Attribution.from_bytes(memoryview(exp.to_bytes())), exp)
    with pytest.raises(InvalidParameterError, match=r"data: expected bytes .*got 'abc' \(str\)"):
        Explanation.from_bytes("abc")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match=r"path: expected a str or os.PathLike path, got .*from_bytes"):
        Explanation.load(exp.to_bytes())  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- save paths


def test_save_into_missing_folder_names_the_path_not_the_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "folder" / "out.xai"
    with pytest.raises(InvalidParameterError, match=r"^path: .*folder .*does not exist") as info:
        make().save(target)
    message = str(info.value)
    assert str(target) in message and ".tmp" not in message and info.value.__cause__ is None
    assert list(tmp_path.iterdir()) == []


def test_save_under_a_file_says_it_is_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    with pytest.raises(InvalidParameterError, match=r"^path: .*plain/out\.xai.*folder .*plain' is not a folder"):
        make().save(tmp_path / "plain" / "out.xai")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]


@pytest.mark.parametrize("bad", [12, ["a.xai"], None, 1.5, b"out.xai"])
def test_save_path_of_wrong_type(bad: Any, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match=r"^path: expected a str or os\.PathLike path, got "):
        make().save(bad)


@pytest.mark.parametrize("bad", ["", "a\x00b.xai"])
def test_save_unusable_str_path(bad: str) -> None:
    with pytest.raises(InvalidParameterError, match=r"^path: expected "):
        make().save(bad)


def test_save_to_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match=r"^path: expected the path of a file, got .*which is a folder"):
        make().save(tmp_path)
    with pytest.raises(InvalidParameterError, match=r"^path: expected the path of a file, got .*path separator"):
        make().save(str(tmp_path / "new") + os.sep)
    assert list(tmp_path.iterdir()) == []


def test_save_without_write_permission_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hidden = str(tmp_path / ".out.xai.abcd.tmp")

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", hidden)

    monkeypatch.setattr(explanation_module.tempfile, "mkstemp", refuse)
    target = tmp_path / "out.xai"
    with pytest.raises(InvalidParameterError, match=r"^path: cannot save to .*out\.xai.*Permission denied") as info:
        make().save(target)
    assert hidden not in str(info.value) and ".tmp" not in str(info.value)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="permissions do not bind root")
def test_save_without_write_permission(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(InvalidParameterError, match=r"^path: cannot save to .*locked/out\.xai") as info:
            make().save(locked / "out.xai")
        assert ".tmp" not in str(info.value)
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_failed_rename_names_the_path_and_removes_the_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / ("n" * 300)  # the temporary name is short enough; the final one is too long
    with pytest.raises(InvalidParameterError, match=r"^path: cannot write '.*nnnn' \(") as info:
        make().save(target)
    assert ".tmp" not in str(info.value) and info.value.__cause__ is None
    assert list(tmp_path.iterdir()) == []


def test_non_finite_values_are_not_saved(tmp_path: Path) -> None:
    values = np.ones((2, 3, 1))
    values[1, 2, 0] = np.nan
    with pytest.raises(InvalidParameterError, match=r"^values: expected finite numbers .*1 NaN and 0 infinite among 6"):
        make(values=values, base_values=np.zeros((2, 1)), data=None, diagnostics=None).save(tmp_path / "nan.xai")
    with pytest.raises(InvalidParameterError, match=r"^base_values: expected finite numbers .*0 NaN and 1 infinite"):
        base_values = np.zeros((6, 2))
        base_values[4, 1] = -np.inf
        make(base_values=base_values).to_bytes()
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- bounded reads


def test_npy_header_claiming_huge_array_is_refused_before_allocating(saved: Path, tmp_path: Path) -> None:
    members = members_of(saved)
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6, 1)}
    members["values.npy"] = npy_with_header(header, b"\x00" * 480)
    target = write_zip(tmp_path / "huge.xai", members)
    claims = (
        r"huge\.xai: the array member 'values\.npy' is not valid: its header claims shape \(1000000, 1000000, 1\) "
        r"of float64 \(1000000000000 values, 8000000000000 bytes\) but the member holds 480 bytes"
    )
    with time_limit(10), pytest.raises(FormatError, match=claims):
        Explanation.load(target)


@pytest.mark.parametrize(
    ("header", "data", "message"),
    [
        ({"descr": "<c16", "fortran_order": False, "shape": (6, 5, 2)}, b"\x00" * 960, r"dtype complex128.*complex"),
        ({"descr": "|O", "fortran_order": False, "shape": (6, 5, 2)}, b"\x00" * 480, r"dtype object"),
        ({"descr": [("a", "<f8")], "fortran_order": False, "shape": (6, 5, 2)}, b"\x00" * 480, r"structured"),
        ({"descr": "<f8", "fortran_order": False, "shape": (-6, -5, 2)}, b"\x00" * 480, r"negative shape"),
        ({"descr": "<f8", "fortran_order": False, "shape": (6, 5, 2)}, b"\x00" * 488, r"holds 488 bytes"),
        ({"descr": "<f8", "fortran_order": False, "shape": (6, 5, 2)}, b"\x00" * 472, r"holds 472 bytes"),
    ],
)
def test_bad_npy_members_are_refused(
    saved: Path, tmp_path: Path, header: dict[str, Any], data: bytes, message: str
) -> None:
    members = members_of(saved)
    members["values.npy"] = npy_with_header(header, data)
    target = write_zip(tmp_path / "bad.xai", members)
    with pytest.raises(FormatError, match=rf"bad\.xai: .*'values\.npy'.*{message}"):
        Explanation.load(target)


def test_member_listed_twice_is_refused(saved: Path, tmp_path: Path) -> None:
    members = members_of(saved)
    meta = json.loads(members["meta.json"])
    meta["arrays"] += [
        {"field": "diagnostics", "key": f"copy{i}", "storage": "npy", "file": "values.npy"} for i in range(3)
    ]
    members["meta.json"] = json.dumps(meta).encode()
    target = write_zip(tmp_path / "twice.xai", members)
    with pytest.raises(FormatError, match=r"twice\.xai: meta\.json: the array member 'values\.npy' is listed more than once"):
        Explanation.load(target)


def test_fortran_ordered_member_is_read(saved: Path, tmp_path: Path) -> None:
    members = members_of(saved)
    values = np.asfortranarray(np.arange(60.0).reshape(6, 5, 2))
    members["values.npy"] = npy_bytes(values)
    assert b"'fortran_order': True" in members["values.npy"][:128]
    loaded = Explanation.load(write_zip(tmp_path / "f.xai", members))
    np.testing.assert_array_equal(loaded.values, values)  # type: ignore[attr-defined]


def test_large_meta_json_is_refused_by_its_declared_size(
    saved: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = members_of(saved)
    members["meta.json"] = members["meta.json"] + b" " * 5000
    target = write_zip(tmp_path / "meta.xai", members, zipfile.ZIP_DEFLATED)
    assert Explanation.load(target).method == "kernel_shap"
    monkeypatch.setattr(explanation_module, "MAX_META_BYTES", 4000)
    with pytest.raises(FormatError, match=r"meta\.xai: meta\.json holds more than the 4000 bytes .*declares \d+ bytes"):
        Explanation.load(target)


def test_meta_json_is_read_with_a_limit(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requested: list[int] = []
    read = zipfile.ZipExtFile.read

    def counting_read(self: zipfile.ZipExtFile, n: int | None = -1) -> bytes:
        if self.name == "meta.json":
            requested.append(-1 if n is None else n)
        return read(self, n)

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    monkeypatch.setattr(explanation_module, "MAX_META_BYTES", 10**6)
    Explanation.load(saved)
    assert requested and all(0 <= n <= 10**6 + 1 for n in requested)


def test_meta_json_larger_than_declared_is_refused(saved: Path, tmp_path: Path) -> None:
    members = members_of(saved)
    members["meta.json"] = members["meta.json"] + b" " * 100_000
    target = write_zip(tmp_path / "lie.xai", members, zipfile.ZIP_DEFLATED)
    content = bytearray(target.read_bytes())
    with zipfile.ZipFile(target) as zf:
        info = zf.getinfo("meta.json")
    declared, small = struct.pack("<I", info.file_size), struct.pack("<I", 100)
    # the uncompressed size sits at offset 22 of the local header and 24 of the central directory entry
    assert content[info.header_offset + 22 : info.header_offset + 26] == declared
    content[info.header_offset + 22 : info.header_offset + 26] = small
    central = bytes(content).index(b"PK\x01\x02")
    while content[central + 46 : central + 46 + len(b"meta.json")] != b"meta.json":
        central = bytes(content).index(b"PK\x01\x02", central + 4)
    assert content[central + 24 : central + 28] == declared
    content[central + 24 : central + 28] = small
    with zipfile.ZipFile(io.BytesIO(bytes(content))) as zf:
        assert zf.getinfo("meta.json").file_size == 100
    with pytest.raises(FormatError, match=r"^data: truncated or corrupt .xai file: cannot read the member 'meta\.json'"):
        Explanation.from_bytes(bytes(content))


def test_total_uncompressed_size_is_bounded_by_the_file_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "zeros.xai"
    zeros = make(n=400, d=300, o=1, values=np.zeros((400, 300, 1)), base_values=np.zeros((400, 1)), data=None, diagnostics=None)
    zeros.save(target)  # 960 kB of zeros compress to about 1 kB
    size = target.stat().st_size
    assert Explanation.load(target).shape == (400, 300, 1)  # type: ignore[attr-defined]
    monkeypatch.setattr(explanation_module, "UNCOMPRESSED_ALLOWANCE", 100_000)
    assert 200 * size < 960_000
    with pytest.raises(
        FormatError, match=rf"zeros\.xai: the archive declares \d+ bytes once decompressed, more than the {200 * size} allowed"
    ):
        Explanation.load(target)


def test_file_over_the_size_bound_is_refused(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explanation_module, "MAX_FILE_BYTES", 100)
    with pytest.raises(FormatError, match=r"result\.xai: the file holds \d+ bytes, more than the 100 bytes"):
        Explanation.load(saved)
    with pytest.raises(FormatError, match=r"^data: the file holds"):
        Explanation.from_bytes(saved.read_bytes())


@pytest.mark.skipif(not os.path.exists("/dev/zero") or not hasattr(os, "symlink"), reason="needs /dev/zero")
def test_link_to_dev_zero_is_refused_at_once(tmp_path: Path) -> None:
    link = tmp_path / "zero.xai"
    link.symlink_to("/dev/zero")
    # first in a separate process, so that a reader that hangs in native code fails instead of hanging the tests
    script = (
        "import sys\nfrom xaikit.results import Explanation\nfrom xaikit.errors import InvalidParameterError\n"
        "try:\n    Explanation.load(sys.argv[1])\nexcept InvalidParameterError as exc:\n    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(link)], capture_output=True, text=True, check=False, timeout=60)
    assert "which is a character device" in done.stdout, done.stderr[-2000:]
    with pytest.raises(InvalidParameterError, match=r"^path: expected a regular file, got .*zero\.xai.*character device"):
        Explanation.load(link)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_is_refused_at_once(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.xai"
    os.mkfifo(pipe)
    refused = r"^path: expected a regular file, got .*which is a named pipe"
    with time_limit(5), pytest.raises(InvalidParameterError, match=refused):
        Explanation.load(pipe)


def test_load_missing_file_folder_and_wrong_types(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match=r"^path: expected an existing file, got .*nope\.xai.*does not exist"):
        Explanation.load(tmp_path / "nope.xai")
    with pytest.raises(InvalidParameterError, match=r"^path: expected a regular file, got .*which is a folder"):
        Explanation.load(tmp_path)
    for bad in (3, None, ["a.xai"]):
        with pytest.raises(InvalidParameterError, match=r"^path: expected a str or os\.PathLike path"):
            Explanation.load(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("field", "fill", "found"), [("values", np.nan, "60 NaN and 0 infinite"), ("base_values", np.inf, "0 NaN and 12 infinite")])
def test_non_finite_values_in_a_file_are_refused(saved: Path, tmp_path: Path, field: str, fill: float, found: str) -> None:
    members = members_of(saved)
    shape = (6, 5, 2) if field == "values" else (6, 2)
    members[f"{field}.npy"] = npy_bytes(np.full(shape, fill))
    target = write_zip(tmp_path / "nan.xai", members)
    with pytest.raises(FormatError, match=rf"nan\.xai: {field}: expected finite numbers, found {found} among"):
        Explanation.load(target)


def test_deeply_nested_meta_json_is_a_format_error(tmp_path: Path) -> None:
    target = write_zip(tmp_path / "deep.xai", {"meta.json": b"[" * 200_000 + b"]" * 200_000}, zipfile.ZIP_DEFLATED)
    with pytest.raises(FormatError, match=r"deep\.xai: meta\.json is not valid UTF-8 JSON"):
        Explanation.load(target)


# ----------------------------------------------------------------------------- files of xaikit 0.1


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_v01", FIXTURES / "make_v01.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _same_cells(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    return all(
        (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)) or (x == y and type(x) is type(y))
        for x, y in zip(a.ravel().tolist(), b.ravel().tolist())
    )


@pytest.mark.parametrize("kind", ["attribution", "interaction", "ragged-attribution"])
def test_files_of_xaikit_0_1_still_load(kind: str) -> None:
    generator = _generator()
    path = FIXTURES / generator.FILES[kind]
    with zipfile.ZipFile(path) as zf:
        assert b'"format_version": 1' in zf.read("meta.json")
    expected = generator.expected()[kind]  # the generator's content, rebuilt now
    loaded = Explanation.load(path)
    assert type(loaded) is {"attribution": Attribution, "interaction": Interaction, "ragged-attribution": RaggedAttribution}[kind]
    np.testing.assert_array_equal(loaded.values, expected["values"])  # type: ignore[attr-defined]
    assert loaded.values.dtype == np.float64  # type: ignore[attr-defined]
    np.testing.assert_array_equal(loaded.base_values, expected["base_values"])  # type: ignore[attr-defined]
    if "feature_names" in expected:
        assert loaded.feature_names == expected["feature_names"]  # type: ignore[attr-defined]
    assert loaded.output_names == expected["output_names"]  # type: ignore[attr-defined]
    assert loaded.method == expected["method"]
    assert loaded.params == expected["params"]
    assert loaded.provenance == expected["provenance"]
    data = expected.get("data")
    if data is not None:
        stored = loaded.data  # type: ignore[attr-defined]
        if data.dtype == object:
            assert stored.dtype == object and _same_cells(stored, data)
        else:
            np.testing.assert_array_equal(stored, data)
    diagnostics = loaded.diagnostics
    assert diagnostics.keys() == expected["diagnostics"].keys()
    for key, value in expected["diagnostics"].items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(diagnostics[key], value)
            assert diagnostics[key].dtype.kind == value.dtype.kind, key
        else:
            assert diagnostics[key] == value and type(diagnostics[key]) is type(value), key
    if kind == "ragged-attribution":
        assert loaded.row_feature_names == expected["row_feature_names"]  # type: ignore[attr-defined]
        assert loaded.texts == expected["texts"]  # type: ignore[attr-defined]
        spans = [[[tuple(pair) for pair in feature] for feature in row] for row in expected["spans"]]
        assert loaded.spans == spans  # type: ignore[attr-defined]
        assert loaded[0].feature_names == ["good", "film", "!"]  # type: ignore[index]


# ----------------------------------------------------------------------------- python -m xaikit


def test_python_m_xaikit_runs_the_command() -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, "-m", "xaikit", "--help"], capture_output=True, text=True, check=False, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "usage: xaikit" in done.stdout and "demo" in done.stdout
    version = subprocess.run(
        [sys.executable, "-m", "xaikit", "--version"], capture_output=True, text=True, check=False, timeout=120, env=env
    )
    assert version.returncode == 0 and version.stdout.startswith("xaikit "), version.stderr
