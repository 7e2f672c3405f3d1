"""How many threads a batch runs on, and that it never changes a result.

A batch never starts more numba threads than it has runs (a single run stays on the
calling thread, see ``gvcdyn.backend.kernel``); the caller's thread count is restored after the
call, and every run is bitwise the same whatever the thread count it ran with.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import numba
import numpy as np
import pytest
from mdl_helpers import SIR, write_mdl

import gvcdyn
from gvcdyn.errors import ParameterValueError

THREADS = min(2, numba.config.NUMBA_NUM_THREADS)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> gvcdyn.Model:
    root = tmp_path_factory.mktemp("threads")
    return gvcdyn.load(write_mdl(root, SIR, final_time=30, time_step=0.25, name="sir"))


@pytest.fixture(autouse=True)
def two_threads() -> Iterator[None]:
    """The caller runs with 2 numba threads (where the machine has them)."""
    before = numba.get_num_threads()
    numba.set_num_threads(THREADS)
    yield
    numba.set_num_threads(before)


def _design(model: gvcdyn.Model, n: int) -> np.ndarray:
    rng = np.random.default_rng(20261206)
    matrix = np.tile(model.defaults(), (n, 1))
    for name, low, high in (("beta", 0.1, 1.0), ("gamma", 0.05, 0.5)):
        matrix[:, model.parameter(name).column] = rng.uniform(low, high, n)
    return matrix


class _Spy:
    """Wraps a kernel's batch function and records the thread count of each call."""

    def __init__(self, function: Any) -> None:
        self.function = function
        self.threads: list[int] = []

    def __call__(self, *args: Any) -> Any:
        self.threads.append(numba.get_num_threads())
        return self.function(*args)


@pytest.fixture
def spy(model: gvcdyn.Model) -> Iterator[_Spy]:
    kernel = model._kernel("euler")
    real = kernel.function
    kernel._function = _Spy(real)
    yield kernel._function
    kernel._function = real


@pytest.mark.parametrize("n", [1, 2, 5])
def test_a_batch_uses_at_most_one_thread_per_run(model: gvcdyn.Model, spy: _Spy, n: int) -> None:
    """A single run stays on the calling thread (before: every batch woke every thread)."""
    model.simulate(_design(model, n))
    assert spy.threads == [min(n, THREADS)]
    assert numba.get_num_threads() == THREADS  # the caller's setting is back


def test_thread_count_restored_when_the_call_fails(model: gvcdyn.Model, spy: _Spy) -> None:
    def fail(*args: Any) -> None:
        raise ParameterValueError("raised inside the kernel call")

    spy.function = fail
    with pytest.raises(ParameterValueError, match="inside the kernel"):
        model.simulate(_design(model, 1))
    assert spy.threads == [1]
    assert numba.get_num_threads() == THREADS


def test_a_lower_setting_of_the_caller_is_kept(model: gvcdyn.Model, spy: _Spy) -> None:
    numba.set_num_threads(1)
    model.simulate(_design(model, 5))
    assert spy.threads == [1]
    assert numba.get_num_threads() == 1


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_single_runs_equal_runs_of_a_parallel_batch(model: gvcdyn.Model, method: str) -> None:
    """Each run alone (on the calling thread) is bitwise the run inside a batch of 64
    spread over the threads, and so are batches of 2 and 3 (as many runs as threads)."""
    matrix = _design(model, 64)
    batch = model.simulate(matrix, method=method)
    assert not np.array_equal(batch.values[0], batch.values[1])  # the runs differ
    for r in (0, 1, 17, 63):
        alone = model.simulate(matrix[r : r + 1], method=method)
        np.testing.assert_array_equal(alone.values[0], batch.values[r])
        assert alone.status[0] == batch.status[r]
    for n in (2, 3):
        part = model.simulate(matrix[:n], method=method)
        np.testing.assert_array_equal(part.values, batch.values[:n])


def test_evaluator_single_points_equal_a_batch(model: gvcdyn.Model) -> None:
    """The path calibration and MCMC take (one point per call) agrees with a batch."""
    space = gvcdyn.ParameterSpace(model, ["beta", "gamma"], bounds={"beta": (0.1, 1.0)})
    evaluator = model.evaluator(space, [gvcdyn.Outcome("I"), gvcdyn.Outcome("S")])
    X = space.scale(np.random.default_rng(3).uniform(size=(9, 2)))
    Y, status = evaluator(X)
    for r in range(9):
        y, s = evaluator(X[r : r + 1])
        np.testing.assert_array_equal(y[0], Y[r])
        assert s[0] == status[r]


class _Slices:
    """Wraps the serial batch function under ``Threaded``: the rows and thread of each call."""

    def __init__(self, batch: Any) -> None:
        self.batch = batch
        self.calls: list[tuple[int, str]] = []

    def __call__(self, C: np.ndarray, *rest: Any) -> Any:
        self.calls.append((C.shape[0], threading.current_thread().name))
        return self.batch(C, *rest)


@pytest.mark.skipif(THREADS < 2, reason="needs 2 numba threads")
def test_a_batch_runs_in_row_slices_on_the_threads(model: gvcdyn.Model) -> None:
    """The compiled batch function is a serial loop (no numba parallel loop, whose
    lowering cost ~0.7 s of every cold compile): the rows are spread in equal contiguous
    slices, the first on the calling thread, and the runs are bitwise the same."""
    function = model.kernel("euler")
    assert not function.batch.targetoptions.get("parallel")
    matrix = _design(model, 5)
    alone = [model.simulate(matrix[r : r + 1]) for r in range(5)]
    recorder = _Slices(function.batch)
    function.batch = recorder
    try:
        batch = model.simulate(matrix)
    finally:
        function.batch = recorder.batch
    assert sorted(n for n, _ in recorder.calls) == [2, 3]
    threads = [name for _, name in recorder.calls]
    assert threading.current_thread().name in threads and len(set(threads)) == 2
    for r in range(5):
        np.testing.assert_array_equal(batch.values[r], alone[r].values[0])
    # one compiled signature for every batch size, thread count and slice
    assert len(function.signatures) == 1


# ------------------------------------------------------------------ OpenMP's wait policy

SCRIPT = """
import os, sys
import numba
import gvcdyn
model = gvcdyn.load(sys.argv[1])
model.simulate(model.defaults()[None, :].repeat(3, axis=0))
print(numba.threading_layer(), os.environ.get("OMP_WAIT_POLICY", "unset"))
"""


def _policy(model: gvcdyn.Model, **env: str) -> tuple[str, str, str]:
    """(threading layer, OMP_WAIT_POLICY seen by the script afterwards, GOMP_SPINCOUNT
    as GNU OpenMP reports it at start) of a fresh process that runs a batch."""
    environ = {
        k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
    }
    environ.update(env, OMP_DISPLAY_ENV="VERBOSE")
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(model.path)],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    layer, seen = out.stdout.split()[-2:]
    spin = re.search(r"GOMP_SPINCOUNT = '(\d+)'", out.stderr)
    return layer, seen, spin.group(1) if spin else ""


def test_openmp_threads_wait_passively_without_changing_the_environment(
    model: gvcdyn.Model,
) -> None:
    """Unset: OpenMP starts passive (no spinning; before: 300,000 spins), and the process
    environment has no OMP_WAIT_POLICY afterwards."""
    layer, seen, spin = _policy(model)
    if layer != "omp":
        pytest.skip(f"numba runs on its {layer} threading layer here, not OpenMP")
    assert (seen, spin) == ("unset", "0")


def test_a_wait_policy_the_user_chose_is_kept(model: gvcdyn.Model) -> None:
    layer, seen, spin = _policy(model, OMP_WAIT_POLICY="ACTIVE")
    if layer != "omp":
        pytest.skip(f"numba runs on its {layer} threading layer here, not OpenMP")
    assert seen == "ACTIVE"
    assert int(spin) > 300_000  # GNU OpenMP's spin count when told to wait actively
    assert _policy(model, GOMP_SPINCOUNT="1000")[1:] == ("unset", "1000")
