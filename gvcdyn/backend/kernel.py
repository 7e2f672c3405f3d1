"""The compiled kernel of one model and its calling convention, in one place.

The generated module (``codegen.generate``; ``adaptive.generate`` for an adaptive
method's module) defines ``batch_<method>(C, OUT, STATUS,
save_rows, sel, t0, dt, n_steps, saveper, final_time)``. Only this module knows that
signature: everything else hands a parameter matrix, a time grid and the output
columns to :meth:`Kernel.run` and gets arrays back.

A ``Kernel`` pickles as its source text and method: unpickled in another process it
imports the module from the content-addressed cache, where numba's own disk cache holds
the machine code, so nothing is compiled again.

Threads. The compiled batch function is a serial loop over runs; :class:`Threaded`
runs it on contiguous slices of the rows, one per thread, on as many threads as numba
gives the calling thread (``numba.get_num_threads()``: ``NUMBA_NUM_THREADS``, or what
``numba.set_num_threads`` set), the calling thread taking the first slice and a pool of
Python threads the others (the batch function releases the GIL). A numba ``prange``
loop did this before; its parallel lowering, and compiling the per-run function again
inside it, cost about 0.7 s of CPU in every cold compile (gvc_upgrading, Euler and RK4).
The slices are numba's static schedule (equal sizes, differing by at most one run), and
each run is computed by the same compiled code whatever the thread count, so results
are bitwise the same.

A batch never uses more threads than it has runs: a batch of one runs on the calling
thread alone. (Under numba's OpenMP loop, the extra threads had nothing to do, yet the
parallel region waited for them; when other processes kept the cores busy one call of
a single run took 8-16 ms instead of 0.07 ms.)

OpenMP's threads wait passively unless the user chose otherwise: when numba's threads
start (:func:`start_threads`, before gvcdyn's first batch in a process) and
``OMP_WAIT_POLICY`` and ``GOMP_SPINCOUNT`` are unset, ``OMP_WAIT_POLICY`` is ``PASSIVE``
for the moment OpenMP reads it, then unset again, so the environment the user and child
processes see is unchanged. gvcdyn's kernels no longer run OpenMP regions; this matters
for numba parallel code the user runs in the same process. By default GNU OpenMP's idle
threads spin for about 300,000 iterations after each parallel region, CPU that other
processes on a shared machine need: at load 9-11 on 2 cores a batch of 10 runs of
gvc_like took 0.37-0.50 ms CPU per run instead of 0.057.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from typing import Any

import numba
import numpy as np

from gvcdyn.backend import adaptive, codegen
from gvcdyn.backend.compiler import compile_headroom, load_kernel_module
from gvcdyn.backend.timegrid import TimeGrid
from gvcdyn.errors import SimulationSettingsError
from gvcdyn.language import ir
from gvcdyn.limits import fewer_collections


def check_method(method: str) -> str:
    """``method`` if gvcdyn has a kernel for it (``euler``, ``rk4``, ``rk23``,
    ``rk45:1e-6``, ...; an adaptive method's tolerance checked too), else
    ``SimulationSettingsError`` naming the choices: the check a named method meets,
    made without building a kernel (a model's settings file is checked with it at load)."""
    if adaptive.is_adaptive(method):
        adaptive.parse(method)  # the tolerance after ':', if any
    elif method not in codegen.METHODS:
        raise SimulationSettingsError(
            f"unknown integration method '{method}'; choose one of "
            f"{', '.join(codegen.METHODS + tuple(adaptive.ADAPTIVE_METHODS))}"
        )
    return method


class Kernel:
    """``batch_<method>`` of a generated kernel module, loaded on first use."""

    def __init__(self, source: str, method: str) -> None:
        check_method(method)
        self.source = source
        self.method = method
        self._function: Any = None
        self._called = False  # once called, the function is compiled (fewer_collections)

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
        self._called = False

    @property
    def function(self) -> Any:
        """The batch function, run on the caller's numba thread count (:class:`Threaded`;
        the numba dispatcher's attributes, such as ``stats`` with the cache hits and
        misses, are its own)."""
        if self._function is None:
            module = load_kernel_module(self.source)
            self._function = threaded(getattr(module, f"batch_{self.method.partition(':')[0]}"))
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
        compiling = nullcontext() if self._called else fewer_collections()
        with compile_headroom(), compiling, _threads_at_most(n_runs):
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
        self._called = True


class Threaded:
    """A kernel module's serial ``batch_<method>``, run over slices of a batch's rows on
    the calling thread's numba thread count (module docstring)."""

    def __init__(self, batch: Any) -> None:
        self.batch = batch

    def __call__(self, C: np.ndarray, OUT: np.ndarray, STATUS: np.ndarray, *rest: Any) -> None:
        n_runs = C.shape[0]
        n = min(numba.get_num_threads(), n_runs)
        if n <= 1:
            self.batch(C, OUT, STATUS, *rest)
            return
        # equal slices (sizes differ by at most one run), as numba's static schedule
        slices = [slice(n_runs * k // n, n_runs * (k + 1) // n) for k in range(n)]
        pool = _pool()
        others, here = [], [slices[0]]
        for s in slices[1:]:
            try:
                others.append(pool.submit(self.batch, C[s], OUT[s], STATUS[s], *rest))
            except RuntimeError:  # the interpreter is shutting down: no new pool work
                here.append(s)
        try:
            for s in here:  # the first slice, and any the pool can no longer take
                self.batch(C[s], OUT[s], STATUS[s], *rest)
        finally:  # every slice has finished before the arrays are handed back
            errors = [f.exception() for f in others]
        for error in errors:
            if error is not None:
                raise error

    def __getattr__(self, name: str) -> Any:
        if name == "batch":  # not set yet (while unpickling): not the dispatcher's
            raise AttributeError(name)
        return getattr(self.batch, name)


_threaded: dict[int, Threaded] = {}  # id of a batch function (kept alive by its wrapper)


def threaded(batch: Any) -> Threaded:
    """The one :class:`Threaded` of ``batch`` in this process (loading a model twice gives
    the very same kernel function)."""
    return _threaded.setdefault(id(batch), Threaded(batch))


_pool_lock = threading.Lock()
_threads: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """The process's threads that run the slices of batches besides the calling thread."""
    global _threads
    with _pool_lock:
        if _threads is None:
            workers = max(numba.config.NUMBA_NUM_THREADS - 1, 1)
            _threads = ThreadPoolExecutor(workers, thread_name_prefix="gvcdyn-batch")
        return _threads


def _forget_pool() -> None:
    """In a forked child: the parent's pool threads do not exist there."""
    global _threads, _pool_lock
    _threads = None
    _pool_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)

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
