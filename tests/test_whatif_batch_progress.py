"""An in-process sweep counts its runs on a progress bar and stops on Ctrl-C.

A compiled kernel cannot be interrupted: a sweep run as one call held Ctrl-C until the
whole batch ended (about a minute), showed a spinner only and then exited without a
word. ``run_batch`` now runs a batch of more than ``FIRST_CHUNK_RUNS`` in short chunks:
the bar advances and Ctrl-C is seen between chunks, and the numbers are bitwise those
of one call. Through the console script, with rich told that stderr is a terminal.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import xarray as xr
from mdl_helpers import LOGISTIC, write_mdl
from recording_progress import Recorder

import gvcdyn.whatif.batch as batch
from gvcdyn.errors import JobInterrupted
from gvcdyn.whatif import prepare_what_if, run_batch
from gvcdyn.whatif.chunks import SweepRuns

SWEEP = ["a=0:1:20", "b=0:1:10"]  # 200 runs


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mdl(tmp_path_factory.mktemp("batch"), LOGISTIC, final_time=20, name="logistic")


def _one_call(request) -> xr.Dataset:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch, "FIRST_CHUNK_RUNS", 10**9)
        return run_batch(request)


def test_chunks_are_bitwise_one_call_and_every_run_is_counted(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = prepare_what_if(model, sweeps=SWEEP)
    reference = _one_call(request)
    monkeypatch.setattr(batch, "CHUNK_SECONDS", 0.0)  # every chunk FIRST_CHUNK_RUNS long
    progress = Recorder()
    chunked = run_batch(request, progress=progress)
    assert [(t.description, t.total) for t in progress.tasks] == [("runs", 200)]
    assert progress.tasks[0].steps == [64, 64, 64, 8]
    assert len(progress.stages) == 1 and "kernel" in progress.stages[0]
    # values, coords and attrs; ``created`` is the wall-clock second each run was written,
    # which two runs a second apart differ in (a flake on a loaded machine, not a result)
    for ds in (chunked, reference):
        ds.attrs.pop("created", None)
    xr.testing.assert_identical(chunked, reference)
    for name in reference.data_vars:
        assert chunked[name].values.tobytes() == reference[name].values.tobytes(), name


def test_a_ctrl_c_between_chunks_stops_the_batch_saying_how_far_it_got(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = prepare_what_if(model, sweeps=SWEEP)
    monkeypatch.setattr(batch, "CHUNK_SECONDS", 0.0)
    calls = []
    real = SweepRuns.__call__

    def interrupted_third_chunk(self, X):
        calls.append(len(X))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, X)

    monkeypatch.setattr(SweepRuns, "__call__", interrupted_third_chunk)
    with pytest.raises(JobInterrupted, match=r"interrupted after 128 of 200 runs"):
        run_batch(request)
    assert calls == [64, 64, 64]


def _terminal_env() -> dict[str, str]:
    """rich draws its live bar on a pipe as on a terminal."""
    return {**os.environ, "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "120"}


def test_run_shows_a_progress_bar_for_an_in_process_sweep(model: Path, tmp_path: Path) -> None:
    exe = shutil.which("gvcdyn")
    assert exe
    sweeps = [arg for s in SWEEP for arg in ("--sweep", s)]
    result = subprocess.run(
        [exe, "run", str(model), *sweeps, "-o", str(tmp_path / "r.nc")],
        capture_output=True,
        text=True,
        env=_terminal_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "runs" in result.stderr and "200/200" in result.stderr, result.stderr


def test_ctrl_c_stops_an_in_process_sweep_with_one_line(tmp_path: Path) -> None:
    """A sweep of minutes, interrupted once its bar shows: exit 130, one line saying how
    many runs were done (fewer than all: it did not wait for the batch), no traceback."""
    slow = write_mdl(tmp_path, LOGISTIC, final_time=1000, time_step=0.01, saveper=100)
    exe = shutil.which("gvcdyn")
    assert exe
    command = [exe, "run", str(slow), "--sweep", "a=0:1:300", "--sweep", "b=0:1:300"]
    command += ["-o", str(tmp_path / "big.nc")]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_terminal_env()
    )
    seen = b""
    while b"/90000" not in seen:  # the bar is drawn: the runs are under way
        chunk = os.read(process.stderr.fileno(), 4096)
        assert chunk, seen.decode(errors="replace")
        seen += chunk
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=300)
    stderr = (seen + rest).decode(errors="replace")
    assert process.returncode == 130, stderr
    last = stderr.strip().splitlines()[-1].split("\x1b[?25h")[-1]
    assert last.startswith("interrupted after "), last
    assert last.endswith(" of 90,000 runs: no results written"), last
    done = int(last.split()[2].replace(",", ""))
    assert 0 < done < 90_000
    assert "Traceback" not in stderr
    assert not (tmp_path / "big.nc").exists()
