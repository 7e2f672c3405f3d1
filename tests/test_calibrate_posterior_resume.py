"""An interrupted posterior resumes from its checkpoint and gives the uninterrupted chain,
bit for bit; a resume with another setting is refused in one line (issue 19).

The toy calibration (tests/toy_calibration.py) is sampled three times with the same
settings: straight through; interrupted by its progress callback after move 7 (chunks
of 3 moves: moves 1-6 are saved); and resumed from that checkpoint.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from recording_progress import RecordedTask, Recorder
from toy_calibration import assert_same_chain, quick_toy_config

from gvcdyn.calibrate.posterior import PosteriorSettings, sample_posterior
from gvcdyn.calibrate.problem import CalibrationProblem, RunCounter
from gvcdyn.errors import CheckpointError
from gvcdyn.execute import Execution, job_checkpoints

SETTINGS = PosteriorSettings(steps=20, walkers=8, seed=4)
EVERY = 3  # moves per chunk: 6 moves are saved when move 7 is interrupted


class Interrupted(Exception):
    """Stands for Ctrl-C or a crash in the middle of the sampling."""


@pytest.fixture(scope="module")
def toy_problem() -> CalibrationProblem:
    return CalibrationProblem.from_config(quick_toy_config())


def counted(problem: CalibrationProblem) -> CalibrationProblem:
    """The problem with a counter of its own, so each run's model runs can be compared."""
    clone = copy.copy(problem)
    clone.counter = RunCounter()
    return clone


def same_attrs(a: dict, b: dict) -> bool:
    """Equal attributes (NaN equals NaN), ArviZ's creation time aside."""
    keys = (set(a) | set(b)) - {"created_at"}
    return all(
        a.get(k) == b.get(k) or (a.get(k) != a.get(k) and b.get(k) != b.get(k)) for k in keys
    )


def interrupt_after(step: int):
    def progress(done: int, total: int) -> None:
        del total
        if done == step:
            raise Interrupted(f"stopped after move {done}")

    return progress


def _interrupted(problem: CalibrationProblem, out: Path, at: int) -> None:
    """Sample ``problem`` with checkpoints beside ``out`` and stop it after move ``at``."""
    with pytest.raises(Interrupted):
        sample_posterior(
            counted(problem),
            SETTINGS,
            execution=Execution(output=out),
            checkpoint_every=EVERY,
            progress=interrupt_after(at),
        )


@pytest.fixture(scope="module")
def straight(toy_problem):
    problem = counted(toy_problem)
    return sample_posterior(problem, SETTINGS), problem.counter


def test_a_resumed_chain_is_bitwise_the_uninterrupted_one(toy_problem, straight, tmp_path):
    idata, straight_counter = straight
    out = tmp_path / "fit.nc"
    _interrupted(toy_problem, out, 7)
    folder = tmp_path / "fit.nc.posterior.job"
    assert job_checkpoints(out) == [folder]
    assert sorted(p.name for p in folder.glob("chunk-*.npz")) == [
        "chunk-000000.npz",
        "chunk-000001.npz",
    ]

    resumed_problem = counted(toy_problem)
    seen = []
    resumed = sample_posterior(
        resumed_problem,
        SETTINGS,
        execution=Execution(output=out, resume=True),
        checkpoint_every=EVERY,
        progress=lambda done, total: seen.append(done),
    )
    # the six saved moves are not run again: the progress starts at move 6
    assert seen == list(range(6, SETTINGS.steps + 1))
    assert_same_chain(resumed, idata)
    assert same_attrs(resumed.posterior.attrs, idata.posterior.attrs)  # tau, R-hat, ESS...
    # the saved moves' model runs are counted as if they had been made now
    assert resumed_problem.counter == straight_counter
    # the folder is kept until the fit is written (the other steps' folders too)
    assert folder.is_dir()


def test_a_finished_saved_chain_is_taken_whole(toy_problem, straight, tmp_path):
    idata, straight_counter = straight
    out = tmp_path / "fit.nc"
    sample_posterior(
        counted(toy_problem), SETTINGS, execution=Execution(output=out), checkpoint_every=EVERY
    )
    problem = counted(toy_problem)
    again = sample_posterior(
        problem, SETTINGS, execution=Execution(output=out, resume=True), checkpoint_every=EVERY
    )
    assert problem.counter == straight_counter  # nothing run, everything counted
    np.testing.assert_array_equal(
        again.posterior["Learning Rate"].values, idata.posterior["Learning Rate"].values
    )


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        (PosteriorSettings(steps=20, walkers=8, seed=5), "the seed changed: was 4, now 5"),
        (PosteriorSettings(steps=20, walkers=10, seed=4), "'walkers' was 8, now 10"),
        (PosteriorSettings(steps=30, walkers=8, seed=4), "'steps' was 20, now 30"),
        (PosteriorSettings(steps=20, walkers=8, seed=4, moves="de"), "'moves' was (none), now de"),
    ],
)
def test_a_resume_with_another_setting_is_refused_in_one_line(
    toy_problem, tmp_path, changed, expected
):
    out = tmp_path / "fit.nc"
    _interrupted(toy_problem, out, 4)
    with pytest.raises(CheckpointError) as refused:
        sample_posterior(
            counted(toy_problem),
            changed,
            execution=Execution(output=out, resume=True),
            checkpoint_every=EVERY,
        )
    message = str(refused.value)
    assert expected in message
    assert "fit.nc.posterior.job" in message
    assert "\n" not in message


def test_a_saved_chain_is_not_overwritten_by_a_new_run(toy_problem, tmp_path):
    out = tmp_path / "fit.nc"
    _interrupted(toy_problem, out, 4)
    with pytest.raises(CheckpointError, match="holds an unfinished job"):
        sample_posterior(counted(toy_problem), SETTINGS, execution=Execution(output=out))


def _stops_the_posterior(at: int) -> Recorder:
    """A progress that interrupts the posterior at move ``at`` (as Ctrl-C would)."""

    def stop(task: RecordedTask) -> None:
        if task.description == "posterior moves" and task.completed == at:
            raise Interrupted(f"stopped after move {task.completed}")

    return Recorder(on_count=stop)


def test_calibrate_resume_continues_an_interrupted_posterior(tmp_path):
    """``gvcdyn calibrate --resume`` (``calibrate(..., execution=Execution(resume=True))``)
    takes the saved moves of the posterior and gives the uninterrupted fit's draws."""
    from gvcdyn.calibrate.study import calibrate

    config = quick_toy_config(posterior=PosteriorSettings(steps=12, walkers=8, seed=4))
    whole = calibrate(config)
    out = tmp_path / "fit.nc"
    with pytest.raises(Interrupted):
        calibrate(config, progress=_stops_the_posterior(11), execution=Execution(output=out))
    saved = sorted((tmp_path / "fit.nc.posterior.job").glob("chunk-*.npz"))
    assert len(saved) == 1  # moves 1-10: one checkpoint of CHECKPOINT_EVERY moves
    resumed = calibrate(config, execution=Execution(output=out, resume=True))
    for name in ("posterior_draw", "posterior_lp"):
        assert np.array_equal(resumed[name].values, whole[name].values, equal_nan=True), name
