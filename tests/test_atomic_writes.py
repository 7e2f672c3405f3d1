"""Every file gvcdyn writes goes through one atomic writer (``gvcdyn.io.atomic``, issue 23).

Results (``results_io``), streamed sweeps (``NetCDFSink``) and checkpoints get the mode of
any new file (0666 less the umask; streamed outputs were 0600), never leave a temporary
file behind on an error, and the next write of an output removes the temporary files a
killed process left for it (``.NAME.*.tmp``), but not those of a process still writing.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from executor_helpers import Polynomial, design
from mdl_helpers import write_mdl

import gvcdyn.whatif.chunks as chunks
from gvcdyn.cli import run_cli
from gvcdyn.execute import Checkpoint, NetCDFSink, fingerprint
from gvcdyn.io.atomic import AtomicFile, atomic_write_bytes
from gvcdyn.io.results_io import read_netcdf, write_netcdf

MODEL = """
growth = 0.1
	~	1/Month [0, 0.5]
	~	Growth rate.
	|
x = INTEG(growth * x, 1)
	~	Widgets
	~		|
"""


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _dead_pid() -> int:
    """The id of a process that has ended."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


def test_cli_streamed_and_written_results_get_the_mode_of_a_new_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_022: None
) -> None:
    """Before: the streamed file was 0600 (mkstemp's mode), the others 0644."""
    mdl = write_mdl(tmp_path, MODEL, final_time=4.0, time_step=0.5, name="m")
    sweep = ["run", str(mdl), "--sweep", "growth=0:0.5:5", "--workers", "0"]
    assert run_cli([*sweep, "--out", str(tmp_path / "memory.nc")]) == 0
    monkeypatch.setattr(chunks, "STREAM_BYTES", 100)
    assert run_cli([*sweep, "--out", str(tmp_path / "streamed.nc")]) == 0
    with xr.open_dataset(tmp_path / "streamed.nc") as ds:
        assert "x" in ds
    assert _mode(tmp_path / "memory.nc") == 0o644
    assert _mode(tmp_path / "streamed.nc") == 0o644
    assert not list(tmp_path.glob(".*"))


def test_the_mode_follows_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o077)
    try:
        sink = NetCDFSink(tmp_path / "s.nc", 4, outcomes=Polynomial.names)
        sink.write(0, *Polynomial()(design(4)))
        sink.close()
        atomic_write_bytes(tmp_path / "b.bin", b"data")
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "s.nc") == 0o600 and _mode(tmp_path / "b.bin") == 0o600


def test_checkpoint_files_get_the_mode_of_a_new_file(tmp_path: Path, umask_022: None) -> None:
    X = design(10)
    fp = fingerprint(model="m", config={}, seed=None, n_runs=10, chunk_size=5, X=X)
    checkpoint = Checkpoint.open(tmp_path / "out.nc", fp)
    checkpoint.save(0, *Polynomial()(X[:5]))
    assert _mode(checkpoint.chunk_path(0)) == 0o644
    assert _mode(checkpoint.path / "manifest.json") == 0o644


def test_the_next_write_removes_the_temporary_files_of_killed_writes(tmp_path: Path) -> None:
    """Before: nothing removed them (``.X.nc.*.tmp`` accumulated beside the output)."""
    out = tmp_path / "result.nc"
    old_style = tmp_path / ".result.nc.k2j3h4x_.tmp"  # mkstemp's name, before this change
    dead = tmp_path / f".result.nc.{_dead_pid()}-0a1b2c3d.tmp"
    running = tmp_path / f".result.nc.{os.getppid()}-0a1b2c3d.tmp"  # a live process's
    other = tmp_path / f".other.nc.{_dead_pid()}-0a1b2c3d.tmp"  # another output's
    for path in (old_style, dead, running, other):
        path.write_bytes(b"half a file")
    write_netcdf(xr.Dataset({"v": ("run", np.arange(3.0))}), out)
    assert out.is_file()
    assert not old_style.exists() and not dead.exists()
    assert running.exists() and other.exists()

    dead.write_bytes(b"half a file")  # the streamed writer cleans up too
    sink = NetCDFSink(out, 4, outcomes=Polynomial.names)
    assert not dead.exists()
    sink.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["result.nc", running.name, other.name]
    )


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    """Before: a streamed file whose setup failed left its temporary file."""
    with pytest.raises(TypeError):
        NetCDFSink(tmp_path / "s.nc", 10, attrs={"bad": {"a": 1}})
    with pytest.raises(RuntimeError), AtomicFile(tmp_path / "a.bin") as file:
        file.tmp.write_bytes(b"partial")
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_read_netcdf_names_the_file_and_what_to_do(tmp_path) -> None:
    """A results file taken back: missing -> the missing error with the hint; unreadable ->
    the layer's error naming what it is, the path and the cause; a good file loads."""

    class Missing(Exception):
        pass

    class Bad(Exception):
        pass

    missing, broken, good = tmp_path / "a.nc", tmp_path / "b.nc", tmp_path / "c.nc"
    with pytest.raises(Missing, match=f"^fit file not found: {missing}; run it first$"):
        read_netcdf(missing, "fit file", Bad, missing_error=Missing, hint="run it first")
    with pytest.raises(Bad, match=f"^fit file not found: {missing}$"):
        read_netcdf(missing, "fit file", Bad)
    broken.write_bytes(b"not netcdf")
    with pytest.raises(Bad, match=f"^fit file {broken} is not a readable netCDF file: ") as err:
        read_netcdf(broken, "fit file", Bad, missing_error=Missing)
    assert err.value.__cause__ is not None
    write_netcdf(xr.Dataset({"x": ("i", np.arange(3.0))}), good)
    assert read_netcdf(good, "fit file", Bad)["x"].values.tolist() == [0.0, 1.0, 2.0]
