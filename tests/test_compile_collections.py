"""While numba compiles a kernel, Python's garbage collector runs less often, and the
process's thresholds are as they were afterwards (``compiler.fewer_collections``)."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import numpy as np
import pytest

import gvcdyn
from gvcdyn.backend import compiler
from gvcdyn.backend.compiler import COMPILE_GC_THRESHOLD, fewer_collections

TEACUP = Path(__file__).resolve().parent / "sd-test-models" / "teacup" / "teacup.mdl"


@pytest.fixture(autouse=True)
def _thresholds():
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_the_threshold_is_raised_inside_and_put_back_after() -> None:
    gc.set_threshold(700, 10, 10)
    with fewer_collections():
        assert gc.get_threshold() == (COMPILE_GC_THRESHOLD, 10, 10)
        with fewer_collections():  # nested: still raised
            assert gc.get_threshold()[0] == COMPILE_GC_THRESHOLD
        assert gc.get_threshold()[0] == COMPILE_GC_THRESHOLD
    assert gc.get_threshold() == (700, 10, 10)


def test_put_back_after_an_error() -> None:
    gc.set_threshold(500, 10, 10)
    with pytest.raises(ZeroDivisionError), fewer_collections():
        1 / 0  # noqa: B018
    assert gc.get_threshold() == (500, 10, 10)


def test_a_threshold_of_zero_and_a_higher_one_are_left_alone() -> None:
    gc.set_threshold(0, 10, 10)  # automatic collection off: stays off
    with fewer_collections():
        assert gc.get_threshold() == (0, 10, 10)
    assert gc.get_threshold() == (0, 10, 10)
    gc.set_threshold(50_000, 10, 10)
    with fewer_collections():
        assert gc.get_threshold() == (50_000, 10, 10)
    assert gc.get_threshold() == (50_000, 10, 10)


def test_a_change_made_meanwhile_is_kept() -> None:
    gc.set_threshold(700, 10, 10)
    with fewer_collections():
        gc.set_threshold(2_000, 5, 5)  # someone else's choice, while compiling
    assert gc.get_threshold() == (2_000, 5, 5)


def test_overlapping_threads_put_back_the_original() -> None:
    gc.set_threshold(700, 10, 10)
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with fewer_collections():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    with fewer_collections():
        thread.start()
        assert inside.wait(10)
    # the first one out leaves it raised while the other thread still compiles
    assert gc.get_threshold()[0] == COMPILE_GC_THRESHOLD
    release.set()
    thread.join(10)
    assert gc.get_threshold() == (700, 10, 10)
    assert compiler._gc_depth == 0


def test_a_kernels_first_run_raises_the_threshold_and_puts_it_back(monkeypatch) -> None:
    gc.set_threshold(700, 10, 10)
    seen: list[int] = []
    real = compiler.fewer_collections

    def spy(*args, **kwargs):
        seen.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr("gvcdyn.backend.kernel.fewer_collections", spy)
    model = gvcdyn.load(TEACUP)
    first = model.simulate(model.defaults()[None, :])
    second = model.simulate(model.defaults()[None, :])
    assert seen == [1], "only a kernel's first call may compile"
    assert gc.get_threshold() == (700, 10, 10)
    assert np.array_equal(first.values, second.values)
