"""A calibration's independent fits as tasks of ``gvcdyn.execute``, checkpointed step by step.

The differential-evolution starts and their polish (``fit.fit``), the profiles
(``uncertainty.profiles``), the bootstrap replicates (``uncertainty.bootstrap``) and the
cross-validation folds (``crossval.crossvalidate``) are fits that do not depend on each
other within their step. Each step hands its tasks to ``run_tasks`` as plain items (a
start's index, the polish's start, a parameter's index, a replicate's case weights and
starting points, a fold's weights and held-out cases) and gets plain results back (dicts:
numbers, arrays, whole messages), through ``gvcdyn.execute.map_tasks``: one task each, in
this process or on dask workers, and with an output each finished task is checkpointed
in a folder of its own beside it (``job_part``: ``fit.nc`` -> ``fit.nc.fit-starts.job/``,
``fit.nc.profiles.job/``, ``fit.nc.bootstrap.job/``...). A resume takes every finished
task of every step from there, so an interruption loses only the tasks in flight. The
folders outlive their step, because a later step may still be interrupted: they are
opened with ``keep`` (as every command's are) and the CLI removes them
(``remove_checkpoints``) once the fit file is written, and refuses to start over while
``unfinished_checkpoints`` finds any.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from gvcdyn.calibrate.cases import file_sha256
from gvcdyn.calibrate.problem import CalibrationProblem, RunCounter
from gvcdyn.execute import (
    Execution,
    InProcessExecutor,
    job_checkpoints,
)
from gvcdyn.execute import remove_checkpoints as remove_job_checkpoints
from gvcdyn.execute.checkpoint import Seed
from gvcdyn.progress import Progress, silent

__all__ = [
    "CalibrationTask",
    "counting_copy",
    "job_config",
    "job_part",
    "remove_checkpoints",
    "run_tasks",
    "runs_in_process",
    "unfinished_checkpoints",
]


def counting_copy(problem: CalibrationProblem) -> CalibrationProblem:
    """The problem with a counter of its own (see ``_Counted``)."""
    clone = copy.copy(problem)
    clone.counter = RunCounter()
    return clone


class CalibrationTask(Protocol):
    """What ``run_tasks`` runs: ``compute(problem, items)`` gives one plain result (a
    dict) per item, in order, computed with ``problem``, a copy of ``self.problem`` whose
    counter counts the model runs the tasks make. Items and results are plain data
    (``gvcdyn.execute.checkpoint.encode_plain``): a checkpoint saves them whole."""

    problem: CalibrationProblem

    def compute(self, problem: CalibrationProblem, items: list[Any]) -> list[dict]: ...


class _Counted:
    """A calibration task as ``map_tasks``' batched function: per item
    ``{"result": its result, "runs": model runs}``, the runs of a batch of items on its
    first (one search serves them all). A worker's problem is a copy whose counter
    nobody here sees, so the runs travel with the results (and with a checkpoint's
    saved tasks), and the total is the same in this process as on workers.
    """

    def __init__(self, task: CalibrationTask) -> None:
        self.task = task

    def identity(self) -> dict[str, Any]:
        """What decides the task's numbers: its problem's evaluator (``gvcdyn.identity``)."""
        return self.task.problem.evaluator.identity()

    def __call__(self, items: list[Any]) -> list[dict]:
        problem = counting_copy(self.task.problem)
        results = list(self.task.compute(problem, items))
        runs = [problem.counter.runs] + [0] * (len(results) - 1)
        return [{"result": r, "runs": n} for r, n in zip(results, runs, strict=False)]


def job_config(problem: CalibrationProblem, job: str, **settings: Any) -> dict[str, Any]:
    """What a calibration task's checkpoint must match besides the model, seed and tasks:
    the config, mapping, case file and checks file (by hash), and the job's own settings."""
    cfg = problem.config
    return {
        "job": job,
        "task_results": 3,  # each saved task: its plain result and its model runs (_Counted)
        "config": cfg.text,
        "mapping": problem.mapping.text,
        "case_file_sha256": file_sha256(cfg.cases),
        # the reality checks constrain every objective value: their file decides numbers
        "checks_sha256": None if cfg.checks is None else file_sha256(cfg.checks),
        "method": problem.evaluator.method,  # the config's, or the model's declared
        "time_step": cfg.time_step,
        **{k: np.asarray(v).tolist() for k, v in settings.items()},
    }


def run_tasks(
    task: CalibrationTask,
    items: list[Any],
    execution: Execution | None,
    *,
    problem: CalibrationProblem,
    config: dict[str, Any],
    seed: Seed,
    progress: Progress = silent,
    description: str = "tasks",
) -> list[dict]:
    """The results of ``task`` over ``items`` (``map_tasks``), in item order; the model
    runs the tasks made (saved ones included) are added to ``problem.counter``.

    With an output, each finished task is kept in its checkpoint folder until
    ``remove_checkpoints``: when a later step of the calibration is interrupted, a
    resume takes this step's tasks from there instead of redoing them. Without an
    output and in this process, all items are one batch: the same numbers (every item is
    refitted on its own), in fewer and larger model batches, which run faster here.
    ``seed`` (a step's seeds, or None) goes into the checkpoint's fingerprint, so a
    resume with other seeds is refused as "the seed changed". ``progress`` counts the
    finished tasks (a task named ``description``).
    """
    execution = execution or Execution()
    one_batch = execution.output is None and runs_in_process(execution)
    counted = execution.map_tasks(
        _Counted(task),
        items,
        config=config,
        seed=seed,
        chunk_size=max(1, len(items)) if one_batch else 1,
        batched=True,
        keep=True,  # a later step may still be interrupted: kept until the fit is written
        progress=progress,
        description=description,
    )
    problem.counter.runs += sum(int(c["runs"]) for c in counted)
    return [c["result"] for c in counted]


def runs_in_process(execution: Execution | None) -> bool:
    """Whether ``execution`` runs its tasks in this process (it can then report live)."""
    executor = None if execution is None else execution.executor
    return isinstance(executor or InProcessExecutor(), InProcessExecutor)


def unfinished_checkpoints(output: str | Path) -> list[Path]:
    """The task checkpoint folders of a calibration written to ``output``
    (``fit.nc.bootstrap.job/``, ``fit.nc.cv-all.job/``...), sorted: what an interrupted
    calibration left for ``--resume``."""
    return job_checkpoints(output)


def remove_checkpoints(output: str | Path) -> None:
    """Delete the task checkpoints of the calibration written to ``output`` (call it once
    the fit file is safely written)."""
    remove_job_checkpoints(output)


def job_part(execution: Execution | None, name: str) -> Execution | None:
    """The execution of one step of a calibration: its checkpoint beside the output
    (``fit.nc`` -> ``fit.nc.<name>.job/``), so that each step resumes on its own."""
    if execution is None or execution.output is None:
        return execution
    output = Path(execution.output)
    return dataclasses.replace(execution, output=output.with_name(f"{output.name}.{name}"))
