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

A calibration that ends with ``CalibrationInfeasibleError`` is finished, not
interrupted: ``settle_checkpoints`` removes the folders no later run could use (the
same inputs give the same error again, changed ones are refused by the fingerprints),
so they neither block a rerun ("an unfinished job") nor let a resume continue a
calibration that ended in error; it keeps the finished steps a fit can still be
written from when the step that failed can be left out (the posterior, the
cross-validation), and the error says which.
"""

from __future__ import annotations

import copy
import dataclasses
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from gvcdyn.calibrate.cases import file_sha256
from gvcdyn.calibrate.problem import CalibrationProblem, RunCounter
from gvcdyn.errors import CalibrationInfeasibleError
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
    "interrupted_message",
    "job_config",
    "job_part",
    "remove_checkpoints",
    "run_tasks",
    "runs_in_process",
    "settle_checkpoints",
    "unfinished_checkpoints",
]

#: the steps after the fit that a fit can be written without (``calibrate`` with
#: ``crossval=False``, a config without ``posterior``), and their checkpoint folders
#: (``job_part`` names, as patterns)
SKIPPABLE_STEPS = {"posterior": ("posterior",), "crossval": ("cv-*",)}
#: how a Python caller writes the fit without that step, from the kept folders
_WITHOUT_STEP = {
    "posterior": "calibrate(dataclasses.replace(config, posterior=None), "
    "execution=Execution(output=..., resume=True))",
    "crossval": "calibrate(config, crossval=False, execution=Execution(output=..., resume=True))",
}


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
    the config, mapping, case file, revisions file and checks file (by hash), and the
    job's own settings."""
    cfg = problem.config
    return {
        "job": job,
        "task_results": 3,  # each saved task: its plain result and its model runs (_Counted)
        "config": cfg.text,
        "mapping": problem.mapping.text,
        "case_file_sha256": file_sha256(cfg.cases),
        # the reality checks constrain every objective value: their file decides numbers
        "checks_sha256": None if cfg.checks is None else file_sha256(cfg.checks),
        # the revisions change the cases' levers and outcomes, which no other entry holds;
        # named only when set, so a config without them keeps its checkpoints' fingerprint
        **({} if cfg.revisions is None else {"case_revisions_sha256": file_sha256(cfg.revisions)}),
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


def interrupted_message(output: str | Path, resume_command: str | None) -> str:
    """What Ctrl-C outside the tasks (between two steps, in the posterior) leaves beside
    ``output``: the finished steps' folders, kept, and how to continue them
    (``resume_command``, or the Python call's ``resume=True``)."""
    kept = job_checkpoints(output)
    if not kept:
        return "interrupted before any start, profile, replicate or fold was saved"
    folders = ", ".join(str(path) for path in kept)
    how = resume_command or "the same call with resume=True"
    return (
        f"interrupted; finished starts/profiles/replicates/folds are kept in {folders}; "
        f"continue with: {how}"
    )


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


def settle_checkpoints(error: CalibrationInfeasibleError, output: str | Path) -> None:
    """End the checkpoints of the calibration written to ``output`` that stopped with
    ``error``, and say in it what became of them (``error.kept``, ``error.removed``,
    the hint; ``error.remedy`` keeps the step's own hint).

    The failed step's folders are removed: with the same inputs they give this error
    again, and whatever could make the step succeed (other checks, bounds, seeds)
    changes their fingerprint, so a resume could only refuse them or repeat the error.
    When the step can be left out (``SKIPPABLE_STEPS``), the finished steps before it
    are kept, to write the fit from; otherwise (the fit) nothing is left to resume and
    every folder is removed, so the next run starts over without being told to resume.
    """
    output = Path(output)
    folders = job_checkpoints(output)
    patterns = SKIPPABLE_STEPS.get(error.stage)
    if patterns is None:
        doomed = folders
    else:
        doomed = [f for f in folders if any(_is_step(f, output, p) for p in patterns)]
    for folder in doomed:  # a step's folder is the job folder of its own output (job_part)
        remove_job_checkpoints(folder.with_name(folder.name.removesuffix(".job")))
    error.removed = tuple(doomed)
    error.kept = tuple(f for f in folders if f not in doomed)
    if error.remedy is None:
        error.remedy = error.hint
    error.advise(
        _joined(error.remedy, checkpoint_note(error, output, _WITHOUT_STEP.get(error.stage)))
    )


def checkpoint_note(
    error: CalibrationInfeasibleError, output: str | Path, without_step: str | None
) -> str:
    """What ``settle_checkpoints`` did with the folders beside ``output``, and how to go
    on: ``without_step`` is the caller's way to write the fit without the failed step
    (a call, or the command line with its option)."""
    removed = ", ".join(f.name for f in error.removed)
    if not error.kept:
        gone = f"its saved tasks beside {output} were removed ({removed}): " if removed else ""
        return f"{gone}once that is changed, run again (there is nothing to resume)"
    kept = ", ".join(f.name for f in error.kept)
    also = f", the failed step's removed ({removed})" if removed else ""
    return (
        f"the fit's finished steps are kept beside {output} ({kept}){also}: {without_step} "
        "writes the fit from them without that step; delete them to start over"
    )


def _is_step(folder: Path, output: Path, pattern: str) -> bool:
    """Whether ``folder`` is the checkpoint of a step named like ``pattern``."""
    prefix, suffix = f"{output.name}.", ".job"
    name = folder.name
    return (
        name.startswith(prefix)
        and name.endswith(suffix)
        and fnmatchcase(name[len(prefix) : -len(suffix)], pattern)
    )


def _joined(*parts: str | None) -> str:
    return "; ".join(p for p in parts if p)
