"""The large-job road: a sweep's runs through ``gvcdyn.execute`` in chunks (in this process
or on a dask cluster), each finished chunk checkpointed next to the output so that an
interrupted sweep resumes; bitwise the numbers of the one batch. Results that would not
fit in memory stream to the output file (``whatif.stream``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from gvcdyn.errors import OutputWriteError
from gvcdyn.execute import Execution
from gvcdyn.execute.jobs import map_runs
from gvcdyn.identity import computation_identity
from gvcdyn.model import RawResult
from gvcdyn.progress import Progress, silent
from gvcdyn.whatif.request import WhatIf
from gvcdyn.whatif.stream import stream_sink

__all__ = [
    "CHUNK_BYTES",
    "MAX_CHUNK_RUNS",
    "STREAM_BYTES",
    "SweepRuns",
    "run_in_chunks",
    "streams",
    "sweep_chunk_size",
]

#: Results larger than this go to the output file chunk by chunk instead of into memory.
STREAM_BYTES = 2**30
#: Bytes of results per chunk of a chunked sweep (a chunk is held in memory twice).
CHUNK_BYTES = 32 * 2**20
#: Most runs in one chunk (small models: a chunk is then about a second of work).
MAX_CHUNK_RUNS = 8192


class SweepRuns:
    """``f(X) -> (Y, status)`` of a sweep's chunk: lever values in, saved values out.

    ``X (n, levers)`` goes into the model's defaults as ``Model.run`` would place it;
    ``Y (n, cells * times)`` holds each saved cell's series one after the other (the
    layout ``TimeSeriesLayout`` streams). It pickles as the model (IR and kernel source),
    so a dask worker loads the compiled kernel from its cache.
    """

    def __init__(self, request: WhatIf) -> None:
        model = request.model
        self.model = model
        self.method = request.method
        self.grid = request.grid
        self.cells = request.cells
        self.lever_columns = request.batch.columns  # resolved once, by build_batch

    def identity(self) -> dict[str, Any]:
        """What decides the chunks' numbers besides the lever values (``gvcdyn.identity``:
        the model and its data files, method, grid, every other parameter, the cells)."""
        return computation_identity(
            self.model,
            method=self.method,
            grid=self.grid,
            base=self.model.defaults(),
            varied=self.lever_columns,
            outputs=[int(c) for c in self.cells],
        )

    def __call__(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        matrix = np.tile(self.model.defaults(), (len(X), 1))
        matrix[:, self.lever_columns] = X  # the request's values, checked when it was built
        raw = self.model.simulate(
            matrix, method=self.method, grid=self.grid, columns=self.cells, checked=True
        )
        Y = np.ascontiguousarray(raw.values.transpose(0, 2, 1)).reshape(len(X), -1)
        return Y, raw.status


def streams(request: WhatIf, output: Path | None) -> bool:
    """Whether the results go to ``output`` chunk by chunk: when they exceed
    ``STREAM_BYTES``; raises ``OutputWriteError`` if they do and there is no output."""
    if request.result_bytes <= STREAM_BYTES:
        return False
    if output is None:
        raise OutputWriteError(
            f"the {request.n_runs:,} runs make {request.result_bytes / 2**30:.1f} GiB of "
            "results, more than fit in memory: give --out FILE to stream them to disk "
            "(or save fewer variables with --vars)"
        )
    return True


def sweep_chunk_size(request: WhatIf) -> int:
    """Runs per chunk: about ``CHUNK_BYTES`` of results, whatever the executor (so that a
    sweep resumes with another ``--workers``)."""
    per_run = max(1, len(request.grid.save_times) * len(request.cells) * 8)
    return int(max(1, min(MAX_CHUNK_RUNS, CHUNK_BYTES // per_run, request.n_runs)))


def run_in_chunks(
    request: WhatIf,
    execution: Execution | None = None,
    *,
    stream: bool | None = None,
    chunk_size: int | None = None,
    progress: Progress = silent,
) -> xr.Dataset:
    """The runs of ``request`` through ``gvcdyn.execute``, chunk by chunk; the same numbers
    as ``run_batch``.

    ``execution`` says where chunks run and, with an ``output``, checkpoints each finished
    chunk in ``<output>.job/`` (``resume`` continues from there; a changed model,
    scenario, sweep or setting is refused). ``stream`` (default: when the results exceed
    ``STREAM_BYTES``) writes them to ``execution.output`` chunk by chunk and returns that
    file opened lazily; otherwise the dataset is the one ``run_batch`` returns (and the
    caller writes it). ``progress`` counts the runs as chunks finish (a task "runs").
    """
    execution = execution or Execution()
    stream = streams(request, execution.output) if stream is None else stream
    if stream and execution.output is None:
        raise OutputWriteError("a streamed sweep needs a file: give execution an output")
    X = request.lever_matrix()
    chunk = chunk_size or sweep_chunk_size(request)
    f = SweepRuns(request)
    checkpoint = execution.checkpoint(
        f,
        X,
        config=_sweep_config(request),
        seed=None,
        chunk_size=chunk,
    )
    sink = stream_sink(request, execution.output) if stream else None
    result = map_runs(
        f,
        X,
        executor=execution.executor,
        chunk_size=chunk,
        checkpoint=checkpoint,
        sink=sink,
        progress=progress,
    )
    if stream:
        return xr.open_dataset(result.output)
    return _dataset(request, result.Y, result.status)


def _sweep_config(request: WhatIf) -> dict[str, Any]:
    """What a sweep's checkpoint must match besides the model and the lever values."""
    grid = request.grid
    return {
        "job": "what-if sweep",
        "method": request.method,
        "levers": list(request.batch.levers),
        "variables": list(request.variables) if request.variables is not None else None,
        "cells": [int(c) for c in request.cells],
        "grid": [grid.initial_time, grid.final_time, grid.time_step, grid.saveper],
    }


def _dataset(request: WhatIf, Y: np.ndarray, status: np.ndarray) -> xr.Dataset:
    """The chunks' results as the dataset ``run_batch`` builds from one batch."""

    model = request.model
    n_times = len(request.grid.save_times)
    values = Y.reshape(len(Y), len(request.cells), n_times).transpose(0, 2, 1)
    cells = tuple(model.cells()[i] for i in request.cells)
    raw = RawResult(values, status, request.grid, cells)
    return request.dataset(raw, request.batch.matrix())
