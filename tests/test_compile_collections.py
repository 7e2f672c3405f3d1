"""While numba compiles a kernel or PySD parses a model, Python's garbage collector runs
less often, and the process's thresholds are as they were afterwards
(``gvcdyn.limits.fewer_collections``)."""

from __future__ import annotations

import gc
import os
import threading
from pathlib import Path

import numpy as np
import pytest

import gvcdyn
from gvcdyn import limits
from gvcdyn.limits import GEN0_THRESHOLD, fewer_collections

TEACUP = Path(__file__).resolve().parent / "sd-test-models" / "teacup" / "teacup.mdl"


@pytest.fixture(autouse=True)
def _thresholds():
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_the_threshold_is_raised_inside_and_put_back_after() -> None:
    gc.set_threshold(700, 10, 10)
    with fewer_collections():
        assert gc.get_threshold() == (GEN0_THRESHOLD, 10, 10)
        with fewer_collections():  # nested: still raised
            assert gc.get_threshold()[0] == GEN0_THRESHOLD
        assert gc.get_threshold()[0] == GEN0_THRESHOLD
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


def test_other_thresholds_changed_meanwhile_are_kept_and_ours_put_back() -> None:
    gc.set_threshold(700, 10, 10)
    with fewer_collections():
        gc.set_threshold(GEN0_THRESHOLD, 5, 5)  # someone's older generations, meanwhile
    assert gc.get_threshold() == (700, 5, 5)


def test_the_last_one_out_puts_back_what_the_first_one_in_set() -> None:
    """Uses with other thresholds overlap: the one set (by the first) is put back, even
    when the last one out asked for another."""
    gc.set_threshold(700, 10, 10)
    outer = fewer_collections()
    outer.__enter__()
    with fewer_collections(5_000):
        assert gc.get_threshold()[0] == GEN0_THRESHOLD  # the first one's stays
        outer.__exit__(None, None, None)  # the first one out: still raised
        assert gc.get_threshold()[0] == GEN0_THRESHOLD
    assert gc.get_threshold() == (700, 10, 10)


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
    assert gc.get_threshold()[0] == GEN0_THRESHOLD
    release.set()
    thread.join(10)
    assert gc.get_threshold() == (700, 10, 10)
    assert limits._gc_depth == 0


def test_a_kernels_first_run_raises_the_threshold_and_puts_it_back(monkeypatch) -> None:
    gc.set_threshold(700, 10, 10)
    seen: list[int] = []
    real = limits.fewer_collections

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


def test_pysds_parse_runs_with_fewer_collections(monkeypatch) -> None:
    from pysd.translators.vensim.vensim_file import VensimFile

    from gvcdyn.language import frontend

    gc.set_threshold(700, 10, 10)
    seen: list[int] = []
    parse = VensimFile.parse

    def spy_parse(self, *args, **kwargs):
        seen.append(gc.get_threshold()[0])  # what PySD's parse runs under
        return parse(self, *args, **kwargs)

    monkeypatch.setattr(VensimFile, "parse", spy_parse)
    abstract, _ = frontend.read_abstract_model(TEACUP)
    assert abstract.sections[0].elements
    assert seen == [GEN0_THRESHOLD]
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_child_forked_while_compiling_gets_the_thresholds_back() -> None:
    gc.set_threshold(700, 10, 10)
    with fewer_collections():
        pid = os.fork()
        if pid == 0:  # the child: nobody compiles here
            ok = gc.get_threshold() == (700, 10, 10) and limits._gc_depth == 0
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert gc.get_threshold() == (700, 10, 10)
