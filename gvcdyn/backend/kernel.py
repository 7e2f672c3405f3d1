"""The compiled kernel of one model and its calling convention, in one place.

The generated module (``codegen.generate``; ``adaptive.generate`` for an adaptive
method's module) defines ``batch_<method>(C, OUT, STATUS,
save_rows, sel, t0, dt, n_steps, saveper, final_time)``. Only this module knows that
signature: everything else hands a parameter matrix, a time grid and the output
columns to :meth:`Kernel.run` and gets arrays back.

A ``Kernel`` pickles as its source text and method: unpickled in another process it
imports the module from the content-addressed cache, where numba's own disk cache holds
the machine code, so nothing is compiled again.

A batch never starts more threads than it has runs: a batch of one runs on the calling
thread alone. With more threads than runs the extra ones have nothing to do, yet the
parallel region waits for them; when other processes keep the cores busy, OpenMP's
waiting threads are descheduled and one call of a single run took 8-16 ms instead of
0.07 ms. Each run is computed by the same compiled code whatever the thread count, so
results are bitwise the same.

OpenMP's threads wait passively between batches unless the user chose otherwise: when
numba's threads start (:func:`start_threads`, before gvcdyn's first batch in a
process) and ``OMP_WAIT_POLICY`` and ``GOMP_SPINCOUNT`` are unset, ``OMP_WAIT_POLICY``
is ``PASSIVE`` for the moment OpenMP reads it, then unset again, so the environment the
user and child processes see is unchanged. By default GNU OpenMP's idle threads spin
for about 300,000 iterations after each parallel region, CPU that other processes on
a shared machine need: at load 9-11 on 2 cores a batch of 10 runs of gvc_like took
0.37-0.50 ms CPU per run instead of 0.057, a batch of 100 0.088 instead of 0.049, and
batches of 1,000 and 10,000 were no slower passive.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numba
import numpy as np

from gvcdyn.backend import adaptive, codegen
from gvcdyn.backend.compiler import compile_headroom, load_kernel_module
from gvcdyn.backend.timegrid import TimeGrid
from gvcdyn.errors import SimulationSettingsError
from gvcdyn.language import ir


class Kernel:
    """``batch_<method>`` of a generated kernel module, loaded on first use."""

    def __init__(self, source: str, method: str) -> None:
        if method not in codegen.METHODS and not adaptive.is_adaptive(method):
            raise SimulationSettingsError(
                f"unknown integration method '{method}'; choose one of "
                f"{', '.join(codegen.METHODS + tuple(adaptive.ADAPTIVE_METHODS))}"
            )
        self.source = source
        self.method = method
        self._function: Any = None

    @classmethod
    def for_model(cls, model: ir.ModelIR, source: str, method: str) -> Kernel:
        """The kernel of ``model`` (whose Euler/RK4 module is ``source``) for ``method``:
        an adaptive method (``rk23``, ``rk45:1e-6``) has a module of its own, generated
        here (``gvcdyn.backend.adaptive``; refused if the model has what it cannot run)."""
        if adaptive.is_adaptive(method):
            return cls(adaptive.generate(model, method), method)
        return cls(source, method)

    def __getstate__(self) -> dict[str, Any]:
        return {"source": self.source, "method": self.method}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.source = state["source"]
        self.method = state["method"]
        self._function = None

    @property
    def function(self) -> Any:
        """The numba dispatcher (its ``stats`` show cache hits and misses)."""
        if self._function is None:
            module = load_kernel_module(self.source)
            self._function = getattr(module, f"batch_{self.method.partition(':')[0]}")
        return self._function

    def run(
        self, matrix: np.ndarray, grid: TimeGrid, columns: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Integrate every row of ``matrix``: ``(values[run, saved time, column], status[run])``.

        ``matrix`` must be C-contiguous float64 and ``columns`` int64 cell indices; the
        kernel writes every cell of ``values`` (NaN past the point where a run stopped),
        so the array is allocated without being filled first.
        """
        n_runs = matrix.shape[0]
        values = np.empty((n_runs, len(grid.save_times), len(columns)))
        status = np.zeros(n_runs, dtype=np.int64)
        self.run_into(values, status, matrix, grid, columns)
        return values, status

    def run_into(
        self,
        values: np.ndarray,
        status: np.ndarray,
        matrix: np.ndarray,
        grid: TimeGrid,
        columns: np.ndarray,
    ) -> None:
        """:meth:`run` into arrays the caller made: ``values[run, saved time, column]``
        (float64, every cell written whatever it held) and ``status[run]`` (int64 zeros).

        Apart so that a test can hand the kernel an output full of a sentinel and see
        every cell overwritten, which is what lets :meth:`run` skip filling it.
        """
        n_runs = matrix.shape[0]
        # one signature for every caller: numba types read-only and writeable arrays
        # differently (a cached grid has read-only rows, an unpickled one writeable rows)
        # and would compile a second specialisation for each mix
        matrix, save_rows, columns = (_read_only(a) for a in (matrix, grid.save_rows, columns))
        function = self.function
        # the first call compiles (or loads from the cache)
        with compile_headroom(), _threads_at_most(n_runs):
            function(
                matrix,
                values,
                status,
                save_rows,
                columns,
                grid.initial_time,
                grid.time_step,
                grid.n_steps,
                grid.saveper,
                grid.final_time,
            )


_start_lock = threading.Lock()
_started = False


def start_threads() -> None:
    """Start numba's threads for this process (once), OpenMP waiting passively unless
    the user set ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` (see the module docstring).

    Has no effect on the wait policy if numba's threads were started before (by a numba
    parallel function or ``numba.set_num_threads`` called outside gvcdyn).
    """
    global _started
    if _started:
        return
    with _start_lock:
        if _started:
            return
        chosen = "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ
        if not chosen:
            os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        try:
            numba.get_num_threads()  # loads the threading layer, which reads the variable
        finally:
            if not chosen:
                del os.environ["OMP_WAIT_POLICY"]
        _started = True


@contextmanager
def _threads_at_most(n: int) -> Iterator[None]:
    """Run numba's parallel loops of this thread on at most ``n`` threads meanwhile.

    numba's thread count is per calling thread, so this changes nothing for other
    threads (dask tasks, for instance, set their own); about 1 us per call.
    """
    start_threads()
    previous = numba.get_num_threads()
    if n >= previous:
        yield
        return
    numba.set_num_threads(max(n, 1))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view
