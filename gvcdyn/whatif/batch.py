"""The small-job road: every run of a what-if in this process, in memory, labelled.

A few runs go in ONE kernel call (the batch ``Model.run`` would make of them, checked
once when the request was built). More go in chunks of about half a second each (sized
from the previous chunk's speed): a compiled kernel cannot be interrupted, so a single
call of 100,000 runs held Ctrl-C for a minute and showed no progress. Between chunks a
progress bar advances and Ctrl-C stops the batch. Each run's numbers do not
depend on the runs beside it, so the chunks' results are bitwise those of one call.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from gvcdyn.backend.compiler import kernel_message
from gvcdyn.errors import JobInterrupted
from gvcdyn.execute.jobs import _ctrl_c_latch
from gvcdyn.progress import Progress, silent
from gvcdyn.whatif.chunks import SweepRuns, _dataset
from gvcdyn.whatif.request import WhatIf, prepare_what_if

__all__ = ["run_batch", "run_what_if"]


def run_what_if(
    model_path: str | Path,
    scenarios: Sequence[str | Path] = (),
    sets: Sequence[str] = (),
    sweeps: Sequence[str] = (),
    *,
    method: str | None = None,  # None: the model's declared method
    final_time: float | None = None,
    time_step: float | None = None,
    variables: Sequence[str] | None = None,
    allow_out_of_range: bool = False,
    data_files: Sequence[str | Path] = (),
    command_line: Sequence[str] | None = None,
    progress: Progress = silent,
) -> xr.Dataset:
    """Run every what-if of the request in one batch and return the labelled dataset.

    ``sets`` are ``NAME=VALUE`` strings, ``sweeps`` ``NAME=START:STOP:N`` strings (see
    ``gvcdyn.whatif.scenarios``); ``variables`` limits what is saved (default: everything);
    ``data_files`` are other runs' outputs the model's data variables read.
    """
    request = prepare_what_if(
        model_path,
        scenarios,
        sets,
        sweeps,
        method=method,
        final_time=final_time,
        time_step=time_step,
        variables=variables,
        allow_out_of_range=allow_out_of_range,
        data_files=data_files,
        command_line=command_line,
        progress=progress,
    )
    return run_batch(request, progress=progress)


#: Up to this many runs go in one call; the first chunk of a larger batch has this many.
FIRST_CHUNK_RUNS = 64
#: Seconds of work a later chunk aims at (the time Ctrl-C may wait, and between bar steps).
CHUNK_SECONDS = 0.5
#: Most runs in one chunk (a fast model's chunk is then still under a second).
MAX_CHUNK_RUNS = 8192


def run_batch(request: WhatIf, *, progress: Progress = silent) -> xr.Dataset:
    """Every run of ``request`` in this process, labelled (the small-job road).

    ``progress`` is told about the kernel's compile or load (a stage) and counts the
    runs of a batch of more than ``FIRST_CHUNK_RUNS`` (a task "runs"). Ctrl-C
    between chunks raises ``JobInterrupted`` (a ``KeyboardInterrupt``) saying how many
    runs were done; nothing is kept.
    """
    if request.n_runs > FIRST_CHUNK_RUNS:
        return _run_chunked(request, progress)
    model = request.model
    with progress.stage(kernel_message(model, request.method)):
        raw, matrix = request.simulate()  # checked once, when the request was built
    return request.dataset(raw, matrix)


def _run_chunked(request: WhatIf, progress: Progress) -> xr.Dataset:
    """The runs in chunks of about ``CHUNK_SECONDS``, assembled as ``run_in_chunks`` does."""

    f = SweepRuns(request)
    X = request.lever_matrix()
    n = len(X)
    done = 0
    # a Ctrl-C anywhere from the first chunk on (also one a finalizer swallowed: the latch)
    # stops the batch with one message
    with _ctrl_c_latch() as pressed:
        try:
            with progress.stage(kernel_message(request.model, request.method)):
                Y0, status0 = f(X[:FIRST_CHUNK_RUNS])  # compiles or loads the kernel
            Y = np.empty((n, Y0.shape[1]), dtype=Y0.dtype)
            status = np.empty(n, dtype=status0.dtype)
            Y[:FIRST_CHUNK_RUNS], status[:FIRST_CHUNK_RUNS] = Y0, status0
            done = size = FIRST_CHUNK_RUNS
            runs = progress.task("runs", n)
            runs.advance(done)
            while done < n:
                if pressed.is_set():
                    raise KeyboardInterrupt
                stop = min(n, done + size)
                started = time.perf_counter()
                Y[done:stop], status[done:stop] = f(X[done:stop])
                rate = (stop - done) / max(time.perf_counter() - started, 1e-6)
                size = int(min(MAX_CHUNK_RUNS, max(FIRST_CHUNK_RUNS, rate * CHUNK_SECONDS)))
                runs.advance(stop - done)
                done = stop
        except KeyboardInterrupt:
            raise JobInterrupted(
                f"interrupted after {done:,} of {n:,} runs: no results written"
            ) from None
    return _dataset(request, Y, status)
