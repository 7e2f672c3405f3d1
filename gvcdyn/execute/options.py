"""The command-line face of the executors: one helper and the shared typer options.

A long command (``run --sweep``, ``sensitivity``, ``calibrate``) takes the four options
below and hands them to ``executor_from_options`` and ``map_runs``::

    from gvcdyn.execute import Checkpoint, fingerprint, map_runs
    from gvcdyn.execute.options import (
        DebugOption, ResumeOption, SchedulerOption, WorkersOption,
        executor_from_options, resume_command,
    )

    @app.command()
    def sensitivity(..., out: Path, workers: WorkersOption = None,
                    scheduler: SchedulerOption = None, resume: ResumeOption = False,
                    debug: DebugOption = False):
        f = model.evaluator(space, outcomes)
        fp = fingerprint(model=model.ir.source_hash, config={...}, seed=seed,
                         n_runs=len(X), chunk_size=chunk, X=X)
        checkpoint = Checkpoint.open(out, fp, resume=resume, resume_command=resume_command())
        with executor_from_options(workers, scheduler, n_runs=len(X)) as executor:
            result = map_runs(f, X, executor=executor, chunk_size=chunk,
                              checkpoint=checkpoint)

``JobInterrupted`` (Ctrl-C) and ``CheckpointError`` (a resume that does not match) are
``GvcdynError``s: the CLI prints their one-line message (it contains the resume
command) and exits non-zero; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from gvcdyn.errors import ExecutorError
from gvcdyn.execute.executors import DaskExecutor, Executor, InProcessExecutor

__all__ = [
    "LARGE_JOB_RUNS",
    "DebugOption",
    "ResumeOption",
    "SchedulerOption",
    "WorkersOption",
    "executor_from_options",
    "is_large_job",
    "resume_command",
]

#: From this many runs on, a job without --workers/--scheduler gets a local dask cluster.
LARGE_JOB_RUNS = 200_000


def is_large_job(n_runs: int | None) -> bool:
    """Whether a job is large enough for a local cluster by default (the one rule that
    ``sensitivity``, ``run --sweep`` and ``calibrate`` share)."""
    return n_runs is not None and n_runs >= LARGE_JOB_RUNS


WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        metavar="N",
        help="Run on a local dask cluster of N worker processes; 0 runs in this process "
        f"(default: in this process for small jobs, one worker per core from "
        f"{LARGE_JOB_RUNS:,} runs on).",
        min=0,
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help="Run on an existing dask cluster, e.g. tcp://10.0.0.5:8786 (see docs/cluster.md).",
    ),
]
ResumeOption = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="Continue an interrupted job from the chunks saved next to --out.",
    ),
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")]


def executor_from_options(
    workers: int | None = None, scheduler: str | None = None, *, n_runs: int | None = None
) -> Executor:
    """The executor for ``--workers N`` / ``--scheduler ADDRESS`` (use it as a context manager).

    - ``scheduler``: connect to that dask cluster (``tcp://HOST:PORT``).
    - ``workers=0``: in this process; ``workers=N >= 1``: a local cluster of N processes.
    - neither: in-process, unless ``n_runs >= LARGE_JOB_RUNS`` and the machine has more
      than one core, then a local cluster with one worker per core.

    Raises ``ExecutorError`` when both are given or the scheduler cannot be reached.
    """
    if workers is not None and scheduler is not None:
        raise ExecutorError("give --workers or --scheduler, not both")
    if scheduler is not None:
        return DaskExecutor(scheduler=scheduler)
    if workers is None:
        import os

        cores = os.cpu_count() or 1
        if is_large_job(n_runs) and cores > 1:
            return DaskExecutor(workers=cores)
        return InProcessExecutor()
    if workers < 0:
        raise ExecutorError(f"--workers must be 0 (in-process) or more, got {workers}")
    if workers == 0:
        return InProcessExecutor()
    return DaskExecutor(workers=workers)


def resume_command(argv: list[str] | None = None) -> str:
    """The command line that resumes this one: the same arguments plus ``--resume``."""
    args = list(sys.argv if argv is None else argv)
    if args:
        args[0] = Path(args[0]).name
    if "--resume" not in args:
        args.append("--resume")
    return shlex.join(args)
