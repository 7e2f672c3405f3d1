"""Calibration's bootstrap replicates and cross-validation folds run as executor tasks.

Each replicate / fold is one task of ``gvcdyn.execute``: the results come back in order
and bitwise equal whether they ran in this process or on two dask workers; with an
output, each finished task is checkpointed, so an interrupted calibration resumes
without redoing finished tasks and ends with the uninterrupted result; a resume with
another seed is refused.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import gvcdyn.calibrate.crossval as crossval
import gvcdyn.calibrate.tasks as tasks
import gvcdyn.calibrate.uncertainty as uncertainty
from gvcdyn.calibrate.config import load_config
from gvcdyn.calibrate.problem import CalibrationProblem
from gvcdyn.calibrate.study import calibrate
from gvcdyn.cli import run_cli
from gvcdyn.errors import CheckpointError, JobInterrupted
from gvcdyn.execute import DaskExecutor, Execution

DATA = Path(__file__).parent / "data" / "calibration"
THETA = np.array([0.3, 0.2])  # the toy cases' true parameters: refits start there
DRAWS, SEED = 5, 7


@pytest.fixture(scope="module")
def config():
    small = dict(seeds=(1,), maxiter=8, profile_points=3, bootstrap=4)
    return replace(
        load_config(DATA / "toy_config.toml"), cv_folds=2, cv_repeats=1, cv_loo=False, **small
    )


@pytest.fixture(scope="module")
def problem(config):
    return CalibrationProblem.from_config(config)


@pytest.fixture(scope="module")
def in_process(problem):
    """The bootstrap and the cross-validation run in this process, no checkpoint."""
    runs = problem.counter.runs
    boot = uncertainty.bootstrap(problem, THETA, DRAWS, SEED)
    boot_runs = problem.counter.runs - runs
    cv = crossval.crossvalidate(problem)
    return boot, boot_runs, cv


def _same_bootstrap(a, b) -> None:
    for name in ("theta", "objective", "low", "high"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for cuts_a, cuts_b in zip(a.cutpoints, b.cutpoints, strict=True):
        assert np.array_equal(cuts_a, cuts_b)


def _same_crossvalidation(a, b) -> None:
    for name in ("score", "low", "high", "diff_low", "diff_high", "n_cases"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name


def test_replicates_are_independent_refits_in_order(problem, in_process) -> None:
    """One replicate alone refits to the row it has among all of them (the task is the
    unit of work, and its place in the batch does not matter)."""
    boot, _, _ = in_process
    assert boot.theta.shape == (DRAWS, 2) and np.all(np.isfinite(boot.objective))
    assert len(np.unique(boot.theta, axis=0)) > 1  # the replicates differ
    replicates = uncertainty.bootstrap_tasks(problem, THETA, DRAWS, SEED, starts=4)
    refit = uncertainty.BootstrapRefit(problem, THETA)
    alone = tasks.counting_copy(problem)
    theta, objective, _ = refit.unpack(refit.compute(alone, replicates[3:4]))
    assert np.array_equal(theta[0], boot.theta[3]) and objective[0] == boot.objective[3]
    assert alone.counter.runs > 0


@pytest.mark.slow  # ~30 s on the loaded 2-core machine, most of it starting the cluster
def test_two_dask_workers_give_the_in_process_results(problem, in_process) -> None:
    boot, boot_runs, cv = in_process
    with DaskExecutor(workers=2, numba_threads=1) as executor:
        runs = problem.counter.runs
        on_dask = uncertainty.bootstrap(problem, THETA, DRAWS, SEED, execution=Execution(executor))
        assert problem.counter.runs - runs == boot_runs  # the workers' runs are counted
        cv_dask = crossval.crossvalidate(problem, execution=Execution(executor))
    _same_bootstrap(boot, on_dask)
    _same_crossvalidation(cv, cv_dask)


class _StopsOnCall(uncertainty.BootstrapRefit):
    """A bootstrap task interrupted (as by Ctrl-C) on call number ``stop``; counts calls."""

    stop = 0
    calls = 0

    def compute(self, problem, W):
        type(self).calls += 1
        if type(self).calls == type(self).stop:
            raise KeyboardInterrupt
        return super().compute(problem, W)


def test_an_interrupted_bootstrap_resumes_without_redoing_finished_draws(
    problem, in_process, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    boot, boot_runs, _ = in_process
    monkeypatch.setattr(uncertainty, "BootstrapRefit", _StopsOnCall)
    output = tmp_path / "fit.nc"  # bootstrap() keeps its draws in fit.nc.bootstrap.job/
    _StopsOnCall.calls, _StopsOnCall.stop = 0, 3
    with pytest.raises(JobInterrupted, match="2 of 5 chunks"):
        uncertainty.bootstrap(problem, THETA, DRAWS, SEED, execution=Execution(output=output))
    with pytest.raises(CheckpointError, match="seed changed"):
        uncertainty.bootstrap(
            problem, THETA, DRAWS, SEED + 1, execution=Execution(output=output, resume=True)
        )
    _StopsOnCall.calls, _StopsOnCall.stop = 0, 0
    runs = problem.counter.runs
    resumed = uncertainty.bootstrap(
        problem, THETA, DRAWS, SEED, execution=Execution(output=output, resume=True)
    )
    assert _StopsOnCall.calls == 3  # only the draws not finished before
    # the saved draws' runs are counted too: n_runs is what the result cost
    assert problem.counter.runs - runs == boot_runs
    _same_bootstrap(boot, resumed)
    # kept until the whole calibration is written (a later step may still be interrupted)
    assert (tmp_path / "fit.nc.bootstrap.job").is_dir()
    tasks.remove_checkpoints(tmp_path / "fit.nc")
    assert not (tmp_path / "fit.nc.bootstrap.job").exists()


class _FoldStops(crossval.FoldFit):
    stop = 0
    calls = 0

    def compute(self, problem, X):
        type(self).calls += 1
        if type(self).calls == type(self).stop:
            raise KeyboardInterrupt
        return super().compute(problem, X)


def _without_clock(ds):
    volatile = {"created", "timing", "load_average", "command_line"}
    return {k: v for k, v in ds.attrs.items() if k not in volatile}


@pytest.mark.slow
def test_an_interrupted_calibration_resumes_to_the_uninterrupted_fit(
    config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped in the cross-validation: the resume takes the fit, the profiles, every
    bootstrap replicate and the finished folds from the checkpoints, and writes the fit
    of an uninterrupted calibration."""
    whole = calibrate(config, crossval=True)
    out = tmp_path / "fit.nc"
    monkeypatch.setattr(crossval, "FoldFit", _FoldStops)
    monkeypatch.setattr(uncertainty, "BootstrapRefit", _StopsOnCall)
    _StopsOnCall.calls, _StopsOnCall.stop = 0, 0
    _FoldStops.calls, _FoldStops.stop = 0, 4  # subset "all" (2 folds) done, one more
    with pytest.raises(JobInterrupted, match="1 of 2 chunks"):
        calibrate(config, crossval=True, execution=Execution(output=out))
    assert _StopsOnCall.calls == config.bootstrap
    assert {p.name for p in tmp_path.glob("*.job")} == {
        "fit.nc.fit-starts.job",
        "fit.nc.fit-polish.job",
        "fit.nc.profiles.job",
        "fit.nc.bootstrap.job",
        "fit.nc.cv-all.job",
        "fit.nc.cv-without_low.job",
    }
    _StopsOnCall.calls, _FoldStops.calls, _FoldStops.stop = 0, 0, 0
    resumed = calibrate(config, crossval=True, execution=Execution(output=out, resume=True))
    assert _StopsOnCall.calls == 0 and _FoldStops.calls == 1
    assert set(whole.variables) == set(resumed.variables)
    for name in whole.variables:
        a, b = whole[name].values, resumed[name].values
        if a.dtype.kind in "fc":
            assert np.array_equal(a, b, equal_nan=True), name
        else:
            assert np.array_equal(a, b), name
    assert _without_clock(resumed) == _without_clock(whole)  # n_runs included


def test_cli_refuses_to_overwrite_an_unfinished_calibration_before_fitting(
    tmp_path: Path, capsys
) -> None:
    out = tmp_path / "fit.nc"
    (tmp_path / "fit.nc.bootstrap.job").mkdir()
    code = run_cli(["calibrate", str(DATA / "toy_config.toml"), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "fit.nc.bootstrap.job" in err and "--resume" in err
    assert not out.exists()


def test_cli_refuses_an_output_it_cannot_write_before_fitting(tmp_path: Path, capsys) -> None:
    """The checkpoints go beside --out: a folder that cannot be made is one line, not a
    traceback after the fit."""
    (tmp_path / "a_file").write_text("")
    out = tmp_path / "a_file" / "fit.nc"
    code = run_cli(["calibrate", str(DATA / "toy_config.toml"), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "fit.nc" in err and "Traceback" not in err


def test_unfinished_checkpoints_of_an_output_whose_name_is_a_glob_pattern(tmp_path: Path) -> None:
    out = tmp_path / "fit[1].nc"
    mine = [tmp_path / "fit[1].nc.bootstrap.job", tmp_path / "fit[1].nc.cv-all.job"]
    other = tmp_path / "fit1.nc.bootstrap.job"  # what the unescaped pattern matched
    for folder in [*mine, other]:
        folder.mkdir()
    assert tasks.unfinished_checkpoints(out) == mine
    tasks.remove_checkpoints(out)
    assert not any(folder.exists() for folder in mine) and other.is_dir()


def test_cli_ctrl_c_outside_the_tasks_says_how_to_continue_the_kept_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C outside the tasks (here as the fit's dataset is assembled, after the
    bootstrap finished): the bootstrap's checkpoint is named with the resume command."""
    import gvcdyn.calibrate.study as study
    from gvcdyn.cli import common

    printed = io.StringIO()  # the rich console is bound to stderr at import
    monkeypatch.setattr(common.err, "file", printed)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(study, "fit_dataset", interrupted)
    out = tmp_path / "fit.nc"
    argv = ["calibrate", str(DATA / "toy_config.toml"), "--out", str(out)]
    monkeypatch.setattr("sys.argv", ["gvcdyn", *argv])
    assert run_cli(argv) == 130
    err = " ".join(printed.getvalue().split())
    assert "fit.nc.bootstrap.job" in err and "--resume" in err
    assert not out.exists()
