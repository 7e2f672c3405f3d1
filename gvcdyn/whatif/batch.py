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
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from gvcdyn.backend.compiler import kernel_message
from gvcdyn.bundled import resolve_model, resolve_scenario
from gvcdyn.errors import JobInterrupted
from gvcdyn.execute.jobs import _ctrl_c_latch
from gvcdyn.model import Model
from gvcdyn.progress import Progress, silent
from gvcdyn.whatif.chunks import SweepRuns, _dataset
from gvcdyn.whatif.request import WhatIf, prepare_what_if
from gvcdyn.whatif.scenarios import Scenario, SetsLike, SweepsLike, read_scenario

__all__ = ["run_batch", "what_if"]


def what_if(
    model: str | Path | Model,
    scenarios: Sequence[str | Path | Mapping[str, float] | Scenario] = (),
    sets: SetsLike | None = None,
    sweeps: SweepsLike | None = None,
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
    """Run every what-if of a request in this process; the labelled dataset (``gvcdyn
    run``'s numbers and labels: it prepares the request the same way, ``prepare_what_if``,
    and runs it as its small-job road does, ``run_batch``).

    ``model``: a ``.mdl`` file, the name of a shipped model or a loaded ``Model``.
    ``scenarios``: scenario files or names (in the ``scenarios/`` folder beside the model),
    or mappings of lever values (named ``scenario 1``, ``scenario 2``... in the result).
    ``sets``: ``{lever: value}`` for every run; ``sweeps``: ``{lever: values}``, every
    combination of them run for each scenario. ``variables`` limits what is saved
    (default: everything); ``data_files`` are other runs' outputs the model's data
    variables read. A lever value outside its documented range is refused unless
    ``allow_out_of_range``.
    """
    path = model.path if isinstance(model, Model) else resolve_model(model)
    read = [_scenario(s, i, path) for i, s in enumerate(scenarios, 1)]
    request = prepare_what_if(
        model if isinstance(model, Model) else path,
        read,
        sets or {},
        sweeps or {},
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


def _scenario(given: str | Path | Mapping[str, float] | Scenario, i: int, model: Path | None):
    """A scenario of ``what_if``: read from its file (or the model's scenario of that
    name), or made from a mapping of lever values."""
    if isinstance(given, Scenario):
        return given
    if isinstance(given, Mapping):
        return Scenario(f"scenario {i}", dict(given), "", f"scenarios[{i - 1}]")
    if model is not None:
        given = resolve_scenario(given, model)
    return read_scenario(given)


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
