"""A resumed calibration takes the fit and the profiles from their checkpoints.

The differential-evolution starts, the polish and the profiles run as tasks and are
checkpointed beside the output like the bootstrap replicates, so a calibration
interrupted after (or during) the fit does not fit again on ``--resume``: the resumed
result is bitwise the uninterrupted one, and a resume with another seed, config or case
file is refused before any work.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from recording_progress import RecordedTask, Recorder
from test_calibrate_execution import DATA, _without_clock, config  # noqa: F401 (fixture)

import gvcdyn.calibrate.uncertainty as uncertainty
from gvcdyn.calibrate.problem import CalibrationProblem
from gvcdyn.calibrate.study import calibrate
from gvcdyn.cli import run_cli
from gvcdyn.errors import CheckpointError, GvcdynError, JobInterrupted
from gvcdyn.execute import DaskExecutor, Execution

# the module, not the function gvcdyn.calibrate exports under the same name
fit_module = importlib.import_module("gvcdyn.calibrate.fit")
FIT_STEPS = {"fit.nc.fit-starts.job", "fit.nc.fit-polish.job", "fit.nc.profiles.job"}


@pytest.fixture(scope="module")
def two_starts(config):  # noqa: F811 (the imported fixture)
    """The small calibration with two starts (an interruption can fall between them)."""
    return replace(config, seeds=(1, 2))


@pytest.fixture(scope="module")
def whole(two_starts):
    """The uninterrupted calibration, without an output (every step in one batch)."""
    return calibrate(two_starts)


def _same_fit(a, b) -> None:
    """Every variable and every attribute but the clock's, bit for bit."""
    assert set(a.variables) == set(b.variables)
    for name in a.variables:
        assert np.array_equal(
            a[name].values, b[name].values, equal_nan=a[name].dtype.kind in "fc"
        ), name
    assert _without_clock(a) == _without_clock(b)  # n_runs included


class _BootstrapStops(uncertainty.BootstrapRefit):
    """The first bootstrap replicate is interrupted, as by Ctrl-C."""

    def compute(self, problem, W):
        raise KeyboardInterrupt


def _fails(what: str):
    def run_again(*args, **kwargs):
        raise AssertionError(f"the resume ran the {what} again")

    return run_again


def test_a_resume_after_the_fit_does_not_fit_or_profile_again(
    two_starts, whole, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "fit.nc"
    with monkeypatch.context() as patch:
        patch.setattr(uncertainty, "BootstrapRefit", _BootstrapStops)
        with pytest.raises(JobInterrupted, match="0 of 4 chunks"):
            calibrate(two_starts, execution=Execution(output=out))
    assert {p.name for p in tmp_path.glob("*.job")} >= FIT_STEPS
    monkeypatch.setattr(fit_module, "differential_evolution", _fails("differential evolution"))
    monkeypatch.setattr(fit_module, "minimize", _fails("polish"))
    monkeypatch.setattr(uncertainty.ProfileRefit, "compute", _fails("profiles"))
    resumed = calibrate(two_starts, execution=Execution(output=out, resume=True))
    _same_fit(whole, resumed)
    assert resumed["start_estimate"].shape == (2, 2)  # both starts came from the checkpoint


def test_an_interruption_between_the_starts_keeps_the_finished_start(
    two_starts, whole, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in the second start's first generation: the first start is saved, and the
    resume runs the second one only (its generations are still reported live)."""
    out = tmp_path / "fit.nc"

    def stop_in_the_second_start(task: RecordedTask) -> None:
        if task.description == "DE start 2/2":
            raise KeyboardInterrupt

    with pytest.raises(JobInterrupted, match="1 of 2 chunks"):
        calibrate(
            two_starts,
            progress=Recorder(stop_in_the_second_start),
            execution=Execution(output=out),
        )
    seeds_run = []
    real = fit_module.differential_evolution

    def counted(*args, rng, **kwargs):
        seeds_run.append(rng)
        return real(*args, rng=rng, **kwargs)

    monkeypatch.setattr(fit_module, "differential_evolution", counted)
    heard = Recorder()
    resumed = calibrate(two_starts, progress=heard, execution=Execution(output=out, resume=True))
    assert len(seeds_run) == 1
    _same_fit(whole, resumed)
    generations = resumed["start_generations"].values
    (first,), (second,) = heard.named("DE start 1/2"), heard.named("DE start 2/2")
    assert [g for g, _ in first.updates] == [generations[0]]  # the saved start: its last, once
    # the one run now: every one
    assert [g for g, _ in second.updates] == list(range(1, generations[1] + 1))
    assert first.finished and second.finished


def test_a_resume_with_another_seed_config_or_case_file_is_refused(
    two_starts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "fit.nc"

    def stop(task: RecordedTask) -> None:
        raise KeyboardInterrupt

    with pytest.raises(JobInterrupted, match="0 of 2 chunks"):
        calibrate(two_starts, progress=Recorder(stop), execution=Execution(output=out))
    monkeypatch.setattr(fit_module, "differential_evolution", _fails("differential evolution"))
    resume = Execution(output=out, resume=True)
    with pytest.raises(CheckpointError, match=r"the seed changed: was \[1, 2\], now \[5, 1005\]"):
        calibrate(two_starts, seed=5, execution=resume)
    with pytest.raises(CheckpointError, match="the configuration changed"):
        calibrate(replace(two_starts, maxiter=two_starts.maxiter + 1), execution=resume)
    cases = tmp_path / "cases.csv"
    *rows, last = two_starts.cases.read_text().splitlines()
    assert last.endswith(",low")  # the last case's confidence: low -> high (weight 1)
    cases.write_text("\n".join([*rows, last.removesuffix(",low") + ",high"]) + "\n")
    with pytest.raises(CheckpointError, match="the configuration changed") as refused:
        calibrate(replace(two_starts, cases=cases), execution=resume)
    assert isinstance(refused.value, GvcdynError)
    assert "fit.nc.fit-starts.job" in str(refused.value)  # names the folder to delete


def test_cli_refuses_to_start_over_a_saved_start(tmp_path: Path, capsys) -> None:
    out = tmp_path / "fit.nc"
    (tmp_path / "fit.nc.fit-starts.job").mkdir()
    code = run_cli(["calibrate", str(DATA / "toy_config.toml"), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "fit.nc.fit-starts.job" in err and "--resume" in err
    assert not out.exists()


@pytest.mark.slow  # ~30 s on the loaded 2-core machine, most of it starting the cluster
def test_starts_and_profiles_on_two_dask_workers_give_the_in_process_fit(two_starts) -> None:
    problem = CalibrationProblem.from_config(two_starts)
    here = fit_module.fit(problem)
    profiles_here = uncertainty.profiles(problem, here.theta, here.objective, 3)
    heard = Recorder()
    with DaskExecutor(workers=2, numba_threads=1) as executor:
        runs = problem.counter.runs
        on_dask = fit_module.fit(problem, execution=Execution(executor), progress=heard)
        assert problem.counter.runs - runs == here.n_runs  # the workers' runs are counted
        profiles_there = uncertainty.profiles(
            problem, here.theta, here.objective, 3, execution=Execution(executor)
        )
    for a, b in zip(here.starts, on_dask.starts, strict=True):
        assert np.array_equal(a.theta, b.theta) and a.objective == b.objective
        assert (a.seed, a.generations, a.evaluations, a.message) == (
            b.seed,
            b.generations,
            b.evaluations,
            b.message,
        )
    assert np.array_equal(here.theta, on_dask.theta) and here.objective == on_dask.objective
    assert here.polish_message == on_dask.polish_message
    # no generation is reported from a worker: each start once, when it is in
    reported = [(t.description, [g for g, _ in t.updates]) for t in heard.tasks[1:]]
    assert reported == [(f"DE start {i + 1}/2", [s.generations]) for i, s in enumerate(here.starts)]
    (finished,) = heard.named("differential-evolution starts")
    assert (finished.completed, finished.total) == (2, 2)
    for a, b in zip(profiles_here[0], profiles_there[0], strict=True):
        assert np.array_equal(a.delta, b.delta) and (a.low, a.high) == (b.low, b.high)


def test_long_optimizer_messages_come_back_whole_from_the_checkpoints(
    two_starts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A start's and the polish's messages are plain strings in their tasks' results:
    a resume takes them from the checkpoints whole (they were cut to 200 characters in
    a fixed-width record), with every number bitwise."""
    out = tmp_path / "fit.nc"
    problem = CalibrationProblem.from_config(two_starts)
    long = "the optimizer explains itself: " + "at length, " * 100 + "the end"
    real_de, real_minimize = fit_module.differential_evolution, fit_module.minimize

    def wordy(optimizer):
        def run(*args, **kwargs):
            result = optimizer(*args, **kwargs)
            result.message = long
            return result

        return run

    monkeypatch.setattr(fit_module, "differential_evolution", wordy(real_de))
    monkeypatch.setattr(fit_module, "minimize", wordy(real_minimize))
    first = fit_module.fit(problem, execution=Execution(output=out))
    assert {p.name for p in tmp_path.glob("*.job")} == {
        "fit.nc.fit-starts.job",
        "fit.nc.fit-polish.job",
    }
    monkeypatch.setattr(fit_module, "differential_evolution", _fails("differential evolution"))
    monkeypatch.setattr(fit_module, "minimize", _fails("polish"))
    resumed = fit_module.fit(problem, execution=Execution(output=out, resume=True))
    assert [s.message for s in resumed.starts] == [long, long]
    assert resumed.polish_message == f"{two_starts.polish}: {long}"
    assert resumed.message == first.message and len(resumed.message) > 2 * len(long)
    for a, b in zip(first.starts, resumed.starts, strict=True):
        assert a.theta.tobytes() == b.theta.tobytes() and a.objective == b.objective
        assert (a.generations, a.evaluations, a.success) == (
            b.generations,
            b.evaluations,
            b.success,
        )
    assert first.theta.tobytes() == resumed.theta.tobytes()
    assert first.objective == resumed.objective and first.n_runs == resumed.n_runs


def test_ctrl_c_between_the_steps_of_a_library_calibration_keeps_them_and_resumes(
    two_starts, whole, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C outside the tasks (here in the identifiability screen, a single model batch
    between the profiles and the bootstrap) in ``calibrate(config, execution=...)``: the
    finished steps are kept and unlocked, the interruption says so in the words a Python
    caller acts on (a ``JobInterrupted``, still a ``KeyboardInterrupt``, naming the
    folders and ``resume=True``, as the command line names ``--resume``), and a resume in
    the same process fits and profiles nothing again and gives the uninterrupted fit."""
    import gvcdyn.calibrate.study as study

    out = tmp_path / "fit.nc"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(study, "identifiability", interrupted)
        with pytest.raises(JobInterrupted) as caught:
            calibrate(two_starts, execution=Execution(output=out))
    assert isinstance(caught.value, KeyboardInterrupt)
    assert {p.name for p in tmp_path.glob("*.job")} == FIT_STEPS
    text = str(caught.value)
    assert all(name in text for name in FIT_STEPS) and "resume=True" in text
    monkeypatch.setattr(fit_module, "differential_evolution", _fails("differential evolution"))
    monkeypatch.setattr(fit_module, "minimize", _fails("polish"))
    monkeypatch.setattr(uncertainty.ProfileRefit, "compute", _fails("profiles"))
    resumed = calibrate(two_starts, execution=Execution(output=out, resume=True))
    _same_fit(whole, resumed)
