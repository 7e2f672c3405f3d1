"""A calibration that finds no parameter set stops with an error, never a "fit" at the
failure sentinel (``problem.FAILED``, 1e10): reality checks that cannot all hold inside the
bounds, or runs that fail everywhere, in the fit, the profiles, the bootstrap, the
cross-validation folds and the posterior's starting points, from Python and from the
command line.

The toy checks (tests/data/calibration): "skill stays moderate by year 10" holds for
Learning Rate below about 0.38; "skill doubles its ceiling" (Skill at year 10 at least 2,
an index that stays below 1) holds nowhere; "learning and innovation both fast" (their sum
at least 1.7) holds only in a corner of the bounds, away from their centre (0.51, 0.51).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
from toy_calibration import DATA, TOY_CHECKS, quick_toy_config

import gvcdyn
from gvcdyn.calibrate.config import PosteriorSettings
from gvcdyn.calibrate.crossval import crossvalidate
from gvcdyn.calibrate.fit import fit
from gvcdyn.calibrate.posterior import sample_posterior
from gvcdyn.calibrate.predict import predict
from gvcdyn.calibrate.problem import FAILED, CalibrationProblem
from gvcdyn.calibrate.uncertainty import bootstrap, identifiability, profiles
from gvcdyn.cli import run_cli
from gvcdyn.errors import CalibrationConfigError, CalibrationInfeasibleError
from gvcdyn.execute import Execution
from gvcdyn.io.results_io import write_netcdf

# the module, not the function gvcdyn.calibrate exports under the same name
fit_module = importlib.import_module("gvcdyn.calibrate.fit")

IMPOSSIBLE = "skill doubles its ceiling"
IMPOSSIBLE_CHECK = f"""
[[check]]
name = "{IMPOSSIBLE}"
expect = "bound"
value = 'run["Skill"] @ 10'
min = 2.0
"""
CORNER = """
[[check]]
name = "learning and innovation both fast"
expect = "bound"
value = 'run["Learning Rate"] + run["Innovation Rate"]'
min = 1.7
"""


@pytest.fixture(scope="module")
def impossible_checks(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("infeasible") / "impossible.checks.toml"
    path.write_text(TOY_CHECKS + IMPOSSIBLE_CHECK)
    return path


@pytest.fixture(scope="module")
def impossible_problem(impossible_checks) -> CalibrationProblem:
    return CalibrationProblem.from_config(quick_toy_config(checks=impossible_checks))


def test_the_library_calibration_refuses_checks_that_cannot_hold(impossible_checks):
    """``gvcdyn.calibrate(config)`` raises, naming the check that holds nowhere and its
    margin, instead of returning a Dataset whose objective is 1e10."""
    config = quick_toy_config(checks=impossible_checks, profile_points=5, bootstrap=2)
    with pytest.raises(CalibrationInfeasibleError) as caught:
        gvcdyn.calibrate(config)
    error = caught.value
    assert isinstance(error, CalibrationConfigError) and isinstance(error, ValueError)
    assert error.stage == "fit"
    text = str(error)
    assert "no parameter set inside the bounds where every reality check" in text
    assert f"held at none of them: '{IMPOSSIBLE}'" in text
    assert "relax or drop those checks" in text and "remove `checks = ...`" in text
    # the check that can hold is not blamed: it held somewhere
    assert [name for name, _ in error.never_held] == [IMPOSSIBLE]
    failing = dict(error.failing)
    assert failing[IMPOSSIBLE] < -1.0  # Skill stays below 1: more than 1 short of 2
    assert "skill stays moderate by year 10" not in failing  # the closest candidate holds it
    assert set(error.candidate) == {"Learning Rate", "Innovation Rate"}


def _cli_config(folder: Path, checks: Path) -> Path:
    """The toy config as a file, with a quick fit, no profiles or bootstrap, ``checks``."""
    text = (DATA / "toy_config.toml").read_text().replace('"toy_', f'"{DATA}/toy_')
    text = text.replace("seeds = [1, 2]", "seeds = [1]").replace("maxiter = 15", "maxiter = 5")
    text = text.replace("profile_points = 9", "profile_points = 0")
    text = text.replace("bootstrap = 20", "bootstrap = 0")
    config = folder / "config.toml"
    config.write_text(f'checks = "{checks}"\n' + text)
    return config


def test_the_command_line_stops_with_one_line_and_writes_no_fit(
    impossible_checks, tmp_path, capsys
):
    config = _cli_config(tmp_path, impossible_checks)
    out = tmp_path / "fit.nc"
    code = run_cli(["calibrate", str(config), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert lines[-1].startswith("error: the differential evolution (1 start, ")
    assert IMPOSSIBLE in lines[-1] and "impossible.checks.toml" in lines[-1]
    assert "Traceback" not in captured.err
    assert "objective" not in captured.out and not out.exists()
    assert not list(tmp_path.glob("fit.nc.*"))  # no checkpoint left to refuse the next run


def test_a_fit_whose_runs_all_fail_names_the_cases(monkeypatch):
    """Without checks, every candidate's runs failing (a NaN in the model everywhere) is
    the same sentinel: the error names the cases whose runs failed."""
    problem = CalibrationProblem.from_config(quick_toy_config(maxiter=2))
    quantities = problem.quantities

    def failing(theta, cases=None):
        s, status = quantities(theta, cases)
        return s, np.ones_like(status)

    monkeypatch.setattr(problem, "quantities", failing)
    with pytest.raises(CalibrationInfeasibleError, match=r"whose runs all succeed") as caught:
        fit(problem)
    assert len(caught.value.failed_cases) == len(problem.cases)
    assert f"'{problem.cases.ids[0]}'" in str(caught.value)


def test_profiles_mark_points_outside_the_support_and_refuse_a_failed_estimate(tmp_path):
    """A profile point where the check cannot hold is infinitely unlikely (inf), not
    1e10 - best; the interval closes inside the support. A failed estimate is refused."""
    path = tmp_path / "toy.checks.toml"
    path.write_text(TOY_CHECKS)
    problem = CalibrationProblem.from_config(quick_toy_config(checks=path))
    theta = np.array([0.3, 0.2])
    objective = float(problem.objective(theta)[0])
    (learning, _innovation), _best_theta, _best = profiles(problem, theta, objective, 5)
    outside = learning.grid > 0.4
    assert outside.any() and np.isinf(learning.delta[outside]).all()
    assert np.isfinite(learning.delta[~outside]).all()
    assert learning.high < 0.4 and not learning.high_open
    with pytest.raises(CalibrationInfeasibleError, match=IMPOSSIBLE.split()[0]) as caught:
        impossible = CalibrationProblem.from_config(
            quick_toy_config(checks=_write(tmp_path, TOY_CHECKS + IMPOSSIBLE_CHECK))
        )
        profiles(impossible, theta, FAILED, 5)
    assert caught.value.stage == "profiles"


def test_the_fisher_information_is_not_valid_where_a_neighbours_runs_fail(monkeypatch):
    """A finite difference through a failed run is 1e10 / h**2, not a curvature: the
    Fisher information says it is not valid, and why, instead of reporting a rank."""
    problem = CalibrationProblem.from_config(quick_toy_config())
    theta = np.array([0.3, 0.2])
    assert identifiability(problem, theta).valid
    quantities = problem.quantities

    def failing_above(theta_, cases=None):  # the points with Learning Rate above 0.3
        s, status = quantities(theta_, cases)
        status = status.copy()
        status[np.atleast_2d(theta_)[:, 0] > 0.3 + 1e-9] = 1
        return s, status

    monkeypatch.setattr(problem, "quantities", failing_above)
    ident = identifiability(problem, theta)
    assert not ident.valid and "runs fail at 3 of the 9 points" in ident.note


def test_a_bootstrap_from_a_failed_estimate_is_refused(impossible_problem):
    with pytest.raises(CalibrationInfeasibleError, match=IMPOSSIBLE) as caught:
        bootstrap(impossible_problem, np.array([0.3, 0.2]), 2, 5, starts=1)
    assert caught.value.stage == "bootstrap"


def test_the_posterior_names_the_check_when_no_walker_can_start(impossible_problem):
    with pytest.raises(CalibrationInfeasibleError, match=IMPOSSIBLE) as caught:
        sample_posterior(impossible_problem, PosteriorSettings(steps=10, walkers=8, seed=1))
    assert caught.value.stage == "posterior"


def test_a_cross_validation_fold_that_finds_no_parameter_set_stops_it(tmp_path):
    """The folds refit from the centre of the bounds and one Latin-hypercube point; with
    the support in a corner the pattern search (one coordinate at a time) cannot reach
    it, and those folds' "model" predictions would come from a vector outside it. The
    error says such points exist and what to do."""
    problem = CalibrationProblem.from_config(
        quick_toy_config(checks=_write(tmp_path, CORNER), cv_folds=2)
    )
    with pytest.raises(CalibrationInfeasibleError, match=r"cross-validation: the refit") as caught:
        crossvalidate(problem)
    error = caught.value
    assert error.stage == "crossval"
    assert "hold every reality check and run" in str(error) and "centre" in str(error)
    assert sum(error.candidate.values()) >= 1.7  # a point of the support, for the user


def test_a_failed_cross_validation_keeps_the_fit_and_says_how_to_write_it(
    tmp_path, capsys, monkeypatch
):
    """The fit found the corner; the folds cannot. Its finished steps are kept, and the
    advised command (--no-crossval --resume) writes the fit from them."""
    config = _cli_config(tmp_path, _write(tmp_path, CORNER))
    out = tmp_path / "fit.nc"
    argv = ["calibrate", str(config), "--crossval", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", ["gvcdyn", *argv])  # what resume_command reads
    assert run_cli(argv) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: cross-validation: the refit of")
    advised = f"calibrate {config} --out {out} --no-crossval --resume writes the fit from them"
    assert advised in last
    assert not out.exists() and (tmp_path / "fit.nc.fit-starts.job").is_dir()
    assert not list(tmp_path.glob("fit.nc.cv-*"))  # the folds could only fail again
    assert run_cli(["calibrate", str(config), "--out", str(out), "--no-crossval", "--resume"]) == 0
    assert out.exists() and not list(tmp_path.glob("fit.nc.*.job"))


def test_a_posterior_that_cannot_start_keeps_the_fit_and_says_how_to_write_it(
    tmp_path, capsys, monkeypatch
):
    """The other skippable step: the fit finds the corner, but of 32 walkers drawn
    uniformly over the bounds one finds no point of it in 50 draws (seed 3). The advised
    command (--no-posterior --resume) writes the fit from the kept steps."""
    config = _cli_config(tmp_path, _write(tmp_path, CORNER))
    config.write_text(config.read_text() + "\n[posterior]\nsteps = 4\nwalkers = 32\nseed = 3\n")
    out = tmp_path / "fit.nc"
    argv = ["calibrate", str(config), "--out", str(out)]
    monkeypatch.setattr(sys, "argv", ["gvcdyn", *argv])  # what resume_command reads
    assert run_cli(argv) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: the posterior's starting points")
    assert f"calibrate {config} --out {out} --no-posterior --resume writes the fit from" in last
    assert not out.exists() and (tmp_path / "fit.nc.fit-starts.job").is_dir()
    resumed = [*argv, "--no-posterior", "--resume"]
    assert run_cli(resumed) == 0
    assert out.exists() and not list(tmp_path.glob("fit.nc.*.job"))


def test_predict_refuses_a_fit_file_at_the_failure_sentinel(tmp_path):
    """A fit file written by a gvcdyn that did not refuse the sentinel is no fit."""
    ds = gvcdyn.calibrate(quick_toy_config(maxiter=2))
    ds.attrs["objective"] = FAILED
    path = write_netcdf(ds, tmp_path / "fit.nc")
    with pytest.raises(CalibrationInfeasibleError, match=r"records no fit"):
        predict(path, DATA / "toy_cases.csv")


def _write(folder: Path, text: str) -> Path:
    path = folder / f"checks{abs(hash(text))}.toml"
    path.write_text(text)
    return path


def test_a_library_fit_that_finds_nothing_removes_its_checkpoints_and_says_so(
    impossible_checks, tmp_path
):
    """``calibrate(config, execution=Execution(output=...))`` (a caller's own checkpoint
    folder, as the command line's) ending infeasible in the fit leaves no saved start:
    the same inputs give this answer again and a changed config could not resume them,
    so kept they would only make the next run refuse to start ("an unfinished job") or,
    with ``resume=True``, silently continue a calibration that ended in error. The error
    says they were removed and how to start again; a rerun gives the same error."""
    out = tmp_path / "fit.nc"
    config = quick_toy_config(checks=impossible_checks)
    with pytest.raises(CalibrationInfeasibleError) as caught:
        gvcdyn.calibrate(config, execution=Execution(output=out))
    error = caught.value
    assert not list(tmp_path.glob("fit.nc.*")), "a checkpoint of the failed fit was kept"
    assert [p.name for p in error.removed] == ["fit.nc.fit-starts.job"] and error.kept == ()
    text = str(error)
    assert "fit.nc.fit-starts.job" in text and "removed" in text
    assert "run again (there is nothing to resume)" in text  # how to start again
    for resume in (False, True):  # neither refused as unfinished nor taken from a checkpoint
        with pytest.raises(CalibrationInfeasibleError, match=IMPOSSIBLE):
            gvcdyn.calibrate(config, execution=Execution(output=out, resume=resume))
        assert not list(tmp_path.glob("fit.nc.*"))


def test_a_library_cross_validation_that_finds_nothing_keeps_the_fit_for_a_resume(
    tmp_path, monkeypatch
):
    """As on the command line: the fit found the corner, a fold's refit cannot. The
    fit's finished starts are kept and named, with the call that writes the fit without
    the step; the folds' folder, which could only give this error again, is removed. The
    advised call resumes the kept starts (no differential evolution runs again)."""
    out = tmp_path / "fit.nc"
    config = quick_toy_config(checks=_write(tmp_path, CORNER), cv_folds=2)
    with pytest.raises(CalibrationInfeasibleError, match="cross-validation: the refit") as caught:
        gvcdyn.calibrate(config, crossval=True, execution=Execution(output=out))
    error = caught.value
    assert error.stage == "crossval"
    assert [p.name for p in error.kept] == ["fit.nc.fit-polish.job", "fit.nc.fit-starts.job"]
    assert error.removed and all(p.name.startswith("fit.nc.cv-") for p in error.removed)
    assert sorted(p.name for p in tmp_path.glob("fit.nc.*")) == [p.name for p in error.kept]
    text = str(error)
    assert error.remedy and text.endswith(
        f"{error.remedy}; the fit's finished steps are kept beside {out} (fit.nc.fit-polish.job, "
        f"fit.nc.fit-starts.job), the failed step's removed "
        f"({', '.join(p.name for p in error.removed)}): calibrate(config, crossval=False, "
        "execution=Execution(output=..., resume=True)) writes the fit from them without that "
        "step; delete them to start over"
    )
    monkeypatch.setattr(fit_module, "differential_evolution", _never("differential evolution"))
    ds = gvcdyn.calibrate(config, execution=Execution(output=out, resume=True))
    assert sum(ds["estimate"].values) >= 1.7  # the corner's fit, from the kept starts


def _never(what: str):
    def run(*args, **kwargs):
        raise AssertionError(f"the resume ran the {what} again")

    return run


def test_messages_name_the_first_few_and_count_the_rest():
    """Every list an infeasibility message gives (checks never held, checks failing, cases
    whose runs fail) is cut to the first ``SHOWN`` and a count of the others."""
    from gvcdyn.calibrate.feasibility import SHOWN, _first_shown

    names = [f"'case {i}'" for i in range(SHOWN + 2)]
    assert _first_shown(names) == ", ".join(names[:SHOWN]) + " and 2 more"
    assert _first_shown(names[:SHOWN]) == ", ".join(names[:SHOWN])
    assert _first_shown([]) == ""
