"""``kernel.Threaded`` (a batch's rows in slices on a pool of Python threads): what it
does when a slice raises, on one numba thread, and with no rows.

A stand-in batch function (plain Python, same call shape as ``batch_<method>``) records
which rows each call got, so no kernel is compiled here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numba
import numpy as np
import pytest

from gvcdyn.backend.kernel import Threaded, start_threads

THREADS = min(2, numba.config.NUMBA_NUM_THREADS)


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
