"""How a study's runs are executed: where (an executor) and whether they are checkpointed.

Studies (sensitivity, calibration bootstraps, sweeps) build their design matrix
themselves, so they cannot open a checkpoint before they are called. They take an
``Execution`` instead and call :meth:`Execution.map` with their function and design: the
checkpoint's fingerprint then covers the function's identity (``f.identity()``, see
``gvcdyn.identity``: model, kernel and data files, method, time grid, every fixed
parameter, outputs), the study's settings, the seed and the design itself, so a resume
with anything changed is refused. The identity comes from the function that runs, so no
caller can leave a part of it out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gvcdyn.errors import GvcdynError, OutputWriteError
from gvcdyn.execute.checkpoint import Checkpoint, Seed, checkpoint_dir, fingerprint, recorded_seed
from gvcdyn.execute.executors import Executor
from gvcdyn.execute.jobs import RunResult, map_runs, map_tasks
from gvcdyn.identity import identity_of
from gvcdyn.progress import Progress, silent

__all__ = ["Execution"]


@dataclass(frozen=True)
class Execution:
    """Where a design's runs go.

    - ``executor``: in-process when None, or a ``DaskExecutor``.
    - ``output``: the file the job's result goes to; finished chunks are kept in
      ``<output>.job/`` until the job completes (no checkpoint when None).
    - ``resume``: continue from the chunks saved there.
    - ``resume_command``: the command printed when the job is interrupted.
    - ``keep_checkpoint``: keep ``<output>.job/`` when the runs are all in, until the
      caller has written the output and calls ``remove_checkpoints(output)`` (what the
      commands do: a failed write or analysis then loses no finished chunk).
    """

    executor: Executor | None = None
    output: Path | None = None
    resume: bool = False
    resume_command: str | None = None
    keep_checkpoint: bool = False

    def saved_seed(self) -> int | None:
        """The seed the job being resumed was drawn with, as its checkpoint recorded it
        (None when not resuming, with no job waiting, or no single integer seed).

        A study given no seed draws a fresh one; resumed by the command it printed when
        interrupted (the same arguments plus --resume), it would draw another and be
        refused as a different job, its finished chunks lost. A study resumes with this
        seed instead.
        """
        if not self.resume or self.output is None:
            return None
        return recorded_seed(self.output)

    def map(
        self,
        f: Callable[..., Any],
        X: np.ndarray,
        *,
        config: Mapping[str, Any],
        seed: Seed,
        chunk_size: int,
        progress: Progress = silent,
        description: str = "runs",
    ) -> RunResult:
        """``map_runs`` of ``f`` over ``X`` with this execution's executor and checkpoint
        (``progress`` counts its runs as a task named ``description``)."""
        checkpoint = self.checkpoint(f, X, config=config, seed=seed, chunk_size=chunk_size)
        return map_runs(
            f,
            X,
            executor=self.executor,
            chunk_size=chunk_size,
            checkpoint=checkpoint,
            progress=progress,
            description=description,
        )

    def map_tasks(
        self,
        f: Callable[..., Any],
        items: Sequence[Any],
        *,
        config: Mapping[str, Any],
        seed: Seed,
        chunk_size: int = 1,
        batched: bool = False,
        keep: bool | None = None,
        progress: Progress = silent,
        description: str = "tasks",
    ) -> list[Any]:
        """``map_tasks`` of ``f`` over ``items`` with this execution's executor and
        checkpoint (fingerprinted by the items, as ``map`` is by its design)."""
        items = list(items)
        checkpoint = self.checkpoint(
            f, None, config=config, seed=seed, chunk_size=chunk_size, keep=keep, items=items
        )
        return map_tasks(
            f,
            items,
            executor=self.executor,
            chunk_size=chunk_size,
            batched=batched,
            checkpoint=checkpoint,
            progress=progress,
            description=description,
        )

    def checkpoint(
        self,
        f: Any,
        X: np.ndarray | None,
        *,
        config: Mapping[str, Any],
        seed: Seed,
        chunk_size: int,
        keep: bool | None = None,
        items: Sequence[Any] | None = None,
    ) -> Checkpoint | None:
        """The checkpoint next to ``output`` of the job mapping ``f`` over ``X`` (None
        without one), fingerprinted by ``f.identity()``, the study's settings, the seed
        and the design, so a changed resume is refused. ``f`` must have ``identity()``
        (``Evaluator`` and a sweep's ``SweepRuns`` do); without it a checkpointed job is
        refused rather than fingerprinted by less than what decides its numbers.

        ``keep`` overrides ``keep_checkpoint`` for jobs with later steps of their own.
        A job of tasks passes its ``items`` instead of ``X``.
        """
        if self.output is None:
            return None
        identity = identity_of(f)
        fp = fingerprint(
            model=identity.get("model_sha256", ""),
            config=config,
            seed=seed,
            n_runs=len(items) if items is not None else len(X),
            chunk_size=chunk_size,
            X=X,
            computation=identity,
            items=items,
        )
        try:
            return Checkpoint.open(
                self.output,
                fp,
                resume=self.resume,
                resume_command=self.resume_command,
                keep=self.keep_checkpoint if keep is None else keep,
            )
        except OSError as exc:  # its folder cannot be made: no permission, /proc, a full disk
            if isinstance(exc, GvcdynError):  # already in gvcdyn's words
                raise
            raise OutputWriteError(
                f"cannot keep the finished runs of {self.output} in "
                f"{checkpoint_dir(self.output)}: {exc.strerror or exc}; write the output "
                "to a folder you can write"
            ) from None
