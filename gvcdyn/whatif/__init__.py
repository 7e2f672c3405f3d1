"""What-if runs: scenario files, ``--set`` and ``--sweep`` through one batch, to a dataset.

``what_if`` (also ``gvcdyn.what_if``) is the whole workflow: read the scenario files,
load the model, lay out and validate every run (``scenarios.build_batch``; a typo fails
in a second, before any compile), run them in ONE kernel batch and label the result
(``annotate``): which scenario each run belongs to, the value of every lever the request
touched, what was swept, and how to reproduce it (command line and working directory).
``gvcdyn run`` and ``gvcdyn demo`` take the same two steps (``prepare_what_if``, then
``run_batch``); printing and writing files are the caller's business.

A large sweep takes the other road, ``prepare_what_if`` then ``run_in_chunks``: the runs
go through ``gvcdyn.execute`` (in this process or on a dask cluster) in chunks, each
finished chunk checkpointed next to the output so that an interrupted sweep resumes. The
numbers are bitwise those of the one batch. Results that would not fit in memory stream
to the netCDF output chunk by chunk; that file keeps every saved cell as ``NAME(run,
time)`` (``NAME[a,b]`` for a subscripted cell) and the same run labels and lever values.

The package, one job per module: ``request`` (read and check a request: ``WhatIf``,
``prepare_what_if``), ``batch`` (the one-batch road: ``run_batch``, ``what_if``),
``chunks`` (the chunked road: ``run_in_chunks``, ``SweepRuns``, ``STREAM_BYTES``),
``stream`` (the streamed netCDF writer) and ``labels`` (``annotate``, titles, shown
variables).
"""

from __future__ import annotations

from gvcdyn.whatif.batch import run_batch, what_if
from gvcdyn.whatif.chunks import (
    CHUNK_BYTES,
    MAX_CHUNK_RUNS,
    STREAM_BYTES,
    SweepRuns,
    run_in_chunks,
    streams,
    sweep_chunk_size,
)
from gvcdyn.whatif.labels import annotate, describe_request, shown_variables
from gvcdyn.whatif.request import WhatIf, prepare_what_if
from gvcdyn.whatif.stream import cell_labels

__all__ = [
    "CHUNK_BYTES",
    "MAX_CHUNK_RUNS",
    "STREAM_BYTES",
    "SweepRuns",
    "WhatIf",
    "annotate",
    "cell_labels",
    "describe_request",
    "prepare_what_if",
    "run_batch",
    "run_in_chunks",
    "shown_variables",
    "streams",
    "sweep_chunk_size",
    "what_if",
]
