"""``kernel.Threaded`` (a batch's rows in slices on a pool of Python threads): what it
does when a slice raises, on one numba thread, and with no rows.

A stand-in batch function (plain Python, same call shape as ``batch_<method>``) records
which rows each call got, so no kernel is compiled here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numba
import numpy as np
import pytest

from gvcdyn.backend import kernel
from gvcdyn.backend.kernel import Threaded, start_threads

THREADS = min(2, numba.config.NUMBA_NUM_THREADS)
TEACUP = Path(__file__).parent / "sd-test-models" / "teacup" / "teacup.mdl"


@pytest.fixture(autouse=True)
def two_threads() -> Iterator[None]:
    start_threads()
    previous = numba.get_num_threads()
    numba.set_num_threads(THREADS)
    yield
    numba.set_num_threads(previous)


class Recorder:
    """Writes each row's index into STATUS and OUT; ``fail_off_caller``: a call on a pool
    thread (not the caller's) raises instead."""

    def __init__(self, fail_off_caller: bool = False) -> None:
        self.fail_off_caller = fail_off_caller
        self.calls: list[tuple[int, str]] = []
        self.lock = threading.Lock()
        self.finished = 0

    def __call__(self, C, OUT, STATUS, *rest) -> None:
        name = threading.current_thread().name
        with self.lock:
            self.calls.append((C.shape[0], name))
        if self.fail_off_caller and name != threading.main_thread().name:
            raise ValueError("a slice failed")
        STATUS[:] = C[:, 0]
        OUT[:] = C[:, :1, None]
        with self.lock:
            self.finished += 1


def _batch(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    C = np.arange(n, dtype=np.float64)[:, None] * np.ones((1, 3))
    return C, np.full((n, 1, 1), np.nan), np.zeros(n, dtype=np.int64)


@pytest.mark.skipif(THREADS < 2, reason="needs 2 numba threads")
def test_every_row_is_run_once_in_contiguous_slices() -> None:
    recorder = Recorder()
    C, OUT, STATUS = _batch(7)
    Threaded(recorder)(C, OUT, STATUS, "rest")
    assert sorted(n for n, _ in recorder.calls) == [3, 4]
    np.testing.assert_array_equal(STATUS, np.arange(7))
    np.testing.assert_array_equal(OUT[:, 0, 0], np.arange(7.0))


@pytest.mark.skipif(THREADS < 2, reason="needs 2 numba threads")
def test_a_slice_that_raises_is_raised_after_every_slice_has_finished() -> None:
    """The pool thread's error reaches the caller (not lost in its future), and the
    caller's own slice was still run to its end."""
    recorder = Recorder(fail_off_caller=True)
    C, OUT, STATUS = _batch(4)
    with pytest.raises(ValueError, match="a slice failed"):
        Threaded(recorder)(C, OUT, STATUS)
    assert len(recorder.calls) == 2 and recorder.finished == 1
    np.testing.assert_array_equal(STATUS[:2], [0, 1])  # the caller's slice, written


def test_one_numba_thread_or_one_row_is_one_call_on_the_caller() -> None:
    for threads, rows in ((1, 5), (THREADS, 1), (THREADS, 0)):
        numba.set_num_threads(threads)
        recorder = Recorder()
        C, OUT, STATUS = _batch(rows)
        Threaded(recorder)(C, OUT, STATUS)
        assert recorder.calls == [(rows, threading.current_thread().name)]


@pytest.mark.skipif(THREADS < 2, reason="needs 2 numba threads")
def test_a_pool_that_no_longer_takes_work_leaves_the_slices_to_the_caller(monkeypatch) -> None:
    """Once the interpreter is shutting down (a model run from a thread still going
    after the main script returned, or from an atexit handler) the pool refuses new
    work with RuntimeError: every slice then runs on the calling thread."""

    class ShutDown:
        def submit(self, *args, **kwargs):
            raise RuntimeError("cannot schedule new futures after interpreter shutdown")

    monkeypatch.setattr(kernel, "_pool", lambda: ShutDown())
    recorder = Recorder()
    C, OUT, STATUS = _batch(5)
    Threaded(recorder)(C, OUT, STATUS)
    caller = threading.current_thread().name
    assert recorder.calls == [(2, caller), (3, caller)]
    np.testing.assert_array_equal(STATUS, np.arange(5))


def test_a_model_runs_from_a_thread_that_outlives_the_main_script(tmp_path) -> None:
    """The interpreter's shutdown (main script returned, a non-daemon thread still
    running models) refused the pool's work with a RuntimeError before the fix."""
    script = tmp_path / "late.py"
    script.write_text(
        "import threading, time\n"
        "import pandas as pd\n"
        "import gvcdyn\n"
        f"m = gvcdyn.load({str(TEACUP)!r})\n"
        "p = pd.DataFrame({'Room Temperature': [60.0, 65, 70, 75]})\n"
        "m.run(p)\n"
        "def work():\n"
        "    time.sleep(0.5)\n"
        "    m.run(p)\n"
        "    print('late run ok')\n"
        "threading.Thread(target=work).start()\n"
    )
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0 and "late run ok" in done.stdout, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
