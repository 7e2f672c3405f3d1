"""Running many parameter sets: executors, chunked jobs, checkpoints, streamed results.

- ``InProcessExecutor`` / ``DaskExecutor(workers=N)`` / ``DaskExecutor(scheduler=ADDR)``:
  where chunks of runs are computed (``executor_from_options`` picks one from CLI flags).
- ``map_runs(f, X, executor=..., checkpoint=..., sink=...)``: evaluate a picklable
  ``f(X) -> (Y, status)`` over row chunks, in run order, bitwise as ``f(X)`` would.
- ``map_tasks(f, items, ...)``: the same for heterogeneous tasks, ``f(item) -> result``
  with plain items and results (a calibration's starts, refits, folds), saved as data.
- ``Checkpoint`` + ``fingerprint``: finished chunks saved next to the output; resume.
  Commands keep them (``keep``) until the output is written, then ``remove_checkpoints``.
  A resume must match the job function's ``identity()`` (``gvcdyn.identity``), settings,
  seed and design; chunks are checked against their digests; a running job holds a lock.
- ``Execution``: executor + checkpoint settings handed to a study, which maps its design.
- ``MemorySink`` / ``NetCDFSink``: the result in memory or streamed to disk.
"""

from __future__ import annotations

from gvcdyn.execute.checkpoint import (
    Checkpoint,
    Fingerprint,
    checkpoint_dir,
    fingerprint,
    job_checkpoints,
    refuse_unfinished_job,
    release_checkpoints,
    remove_checkpoints,
)
from gvcdyn.execute.execution import Execution
from gvcdyn.execute.executors import Chunk, DaskExecutor, Executor, InProcessExecutor
from gvcdyn.execute.jobs import RunResult, chunk_bounds, default_chunk_size, map_runs, map_tasks
from gvcdyn.execute.options import executor_from_options, resume_command
from gvcdyn.execute.sinks import MemorySink, NetCDFSink, TimeSeriesLayout

__all__ = [
    "Checkpoint",
    "Chunk",
    "DaskExecutor",
    "Execution",
    "Executor",
    "Fingerprint",
    "InProcessExecutor",
    "MemorySink",
    "NetCDFSink",
    "RunResult",
    "TimeSeriesLayout",
    "checkpoint_dir",
    "chunk_bounds",
    "default_chunk_size",
    "executor_from_options",
    "fingerprint",
    "job_checkpoints",
    "map_runs",
    "map_tasks",
    "refuse_unfinished_job",
    "release_checkpoints",
    "remove_checkpoints",
    "resume_command",
]
