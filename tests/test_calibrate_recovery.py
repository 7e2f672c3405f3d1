"""Parameter recovery on the toy model, and the calibrate -> fit file -> predict path.

The toy cases' outcomes are simulated from known parameters (tests/data/calibration);
fitting them back must put the truth inside the reported 95% profile intervals at
about the nominal rate (here: at least 5 of 6 intervals over three simulated data sets,
which a correct 95% interval fails with probability about 3%).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gvcdyn.calibrate.config import load_config
from gvcdyn.calibrate.fit import fit
from gvcdyn.calibrate.predict import predict, write_predictions
from gvcdyn.calibrate.problem import CalibrationProblem
from gvcdyn.calibrate.study import calibrate
from gvcdyn.calibrate.synthetic import balanced_cutpoints, simulate_outcomes
from gvcdyn.calibrate.uncertainty import identifiability, profiles
from gvcdyn.cli import run_cli
from gvcdyn.io.results_io import write_netcdf

DATA = Path(__file__).parent / "data" / "calibration"
TRUTH = np.array([0.3, 0.2])  # Learning Rate, Innovation Rate (tests/data/calibration/README)


@pytest.fixture(scope="module")
def toy_config():
    return replace(
        load_config(DATA / "toy_config.toml"),
        seeds=(1,),
        popsize=6,
        maxiter=12,
        profile_points=7,
        bootstrap=8,
    )


@pytest.fixture(scope="module")
def toy_problem(toy_config):
    return CalibrationProblem.from_config(toy_config)


def test_one_batch_per_population(toy_problem):
    before = toy_problem.counter.batches, toy_problem.counter.runs
    toy_problem.objective(np.tile(TRUTH, (7, 1)))
    assert toy_problem.counter.batches == before[0] + 1
    assert toy_problem.counter.runs == before[1] + 7 * len(toy_problem.cases)


@pytest.mark.slow
def test_true_parameters_fall_inside_the_profile_intervals(toy_problem):
    cuts = balanced_cutpoints(toy_problem, TRUTH)
    covered, widths = 0, []
    for seed in (11, 12, 13):
        data = toy_problem.with_frame(
            simulate_outcomes(toy_problem, TRUTH, cuts, np.random.default_rng(seed))
        )
        result = fit(data)
        prof, _, best = profiles(data, result.theta, result.objective, 7)
        assert best <= result.objective + 1e-9
        for truth, p in zip(TRUTH, prof, strict=True):
            covered += p.low <= truth <= p.high
            widths.append((p.high - p.low) / (1.0 - 0.02))
    assert covered >= 5
    # the intervals say something: Learning Rate's is well inside its bounds in most sets
    assert np.median(widths[0::2]) < 0.6


def test_identifiability_sees_a_parameter_with_no_effect(toy_config):
    """Innovation Rate cannot move the Skill Index: with skill outcomes alone it is flat."""
    problem = CalibrationProblem.from_config(replace(toy_config, outcomes=toy_config.outcomes[:1]))
    ident = identifiability(problem, TRUTH)
    assert ident.rank == 1
    assert ident.collinearity_index == np.inf  # a zero sensitivity column
    prof, _, _ = profiles(problem, TRUTH, float(problem.objective(TRUTH[None])[0]), 5)
    assert prof[1].status == "structurally unidentifiable"
    assert prof[1].low_open and prof[1].high_open
    assert prof[0].status != "structurally unidentifiable"


def test_fit_file_round_trip_and_prediction(tmp_path, toy_config):
    ds = calibrate(toy_config, command_line=["gvcdyn", "calibrate", "toy"])
    path = write_netcdf(ds, tmp_path / "fit.nc")
    back = xr.load_dataset(path)
    np.testing.assert_allclose(back["estimate"].values, ds["estimate"].values)
    assert back.attrs["case_file_sha256"] == ds.attrs["case_file_sha256"]
    assert back.attrs["n_runs"] > 0 and "Learning Rate" in back.attrs["config_text"]
    assert set(back["identifiability"].values) <= {
        "identifiable",
        "identifiable (estimate at a bound)",
        "practically unidentifiable",
        "structurally unidentifiable",
    }
    assert back.sizes["replicate"] == 8
    assert np.all(back["lower"].values <= back["estimate"].values + 1e-12)
    assert np.all(back["upper"].values >= back["estimate"].values - 1e-12)

    # new cases: outcome columns dropped, one row with an unknown support value
    frame = pd.read_csv(DATA / "toy_cases.csv", dtype=str, keep_default_na=False)
    frame = frame.drop(columns=["skill_upg", "outcome_class"]).head(5)
    frame.loc[2, "support"] = "enormous"
    cases = tmp_path / "new.csv"
    frame.to_csv(cases, index=False)
    prediction = predict(path, cases)
    table = prediction.table
    assert list(table["id"]) == list(frame["id"])
    assert [(p.case_id, p.column) for p in prediction.problems] == [(frame["id"][2], "support")]
    assert table.loc[2, "note"].startswith("support:")
    good = table.drop(index=2)
    probs = good[["p0_skill_upg", "p1_skill_upg", "p2_skill_upg"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(good[["p_decline", "p_stay", "p_rise"]].sum(axis=1), 1.0)
    assert set(good["pred_outcome_class"]) <= {"decline", "stay", "rise"}
    assert np.isnan(table.loc[2, "p_decline"])
    assert "bootstrap" in prediction.meta["uncertainty"]
    csv, meta = write_predictions(prediction, tmp_path / "pred.csv")
    assert csv.is_file() and meta.is_file()
    # the command: same table, the bad row reported on stderr, exit 0
    out = tmp_path / "cli" / "predictions.csv"
    code = run_cli(["predict", "--fit", str(path), "--cases", str(cases), "--out", str(out)])
    assert code == 0
    written = pd.read_csv(out)
    assert list(written.columns[:4]) == ["id", "p0_skill_upg", "p1_skill_upg", "p2_skill_upg"]
    np.testing.assert_allclose(written["p_rise"], table["p_rise"].astype(float), rtol=1e-5)
    assert (tmp_path / "cli" / "predictions.json").is_file()


def test_cli_calibrate_refuses_a_bad_case_file_and_writes_nothing(tmp_path, capsys):
    frame = pd.read_csv(DATA / "toy_cases.csv", dtype=str, keep_default_na=False)
    frame.loc[3, "period_end"] = "199x"
    frame.to_csv(tmp_path / "cases.csv", index=False)
    text = (DATA / "toy_config.toml").read_text()
    text = text.replace('cases = "toy_cases.csv"', 'cases = "cases.csv"').replace(
        'mapping = "toy_levers.toml"', f'mapping = "{(DATA / "toy_levers.toml").as_posix()}"'
    )
    config = tmp_path / "config.toml"
    config.write_text(text)
    out = tmp_path / "fit.nc"
    code = run_cli(["calibrate", str(config), "--out", str(out)])
    assert code == 2
    message = capsys.readouterr().err
    assert f"case '{frame['id'][3]}', column 'period_end'" in message
    assert not out.exists() and not list(tmp_path.glob(".fit.nc*"))


def test_cli_calibrate_help_shows_a_complete_example():
    from typer.testing import CliRunner

    from gvcdyn.cli import app

    result = CliRunner().invoke(app, ["calibrate", "--help"], terminal_width=120)
    assert result.exit_code == 0
    for key in ("[estimate]", "[[outcome]]", "[weights]", "[fit]", "[uncertainty]", "[crossval]"):
        assert key in result.output


def test_the_fisher_information_at_a_bound_is_not_valid(toy_problem):
    """At the truth (interior, a minimum of the expected objective) the Hessian is an
    information matrix; at a bound it is a one-sided difference, reported as not valid."""
    fitted = fit(toy_problem)
    inside = identifiability(toy_problem, fitted.theta)
    assert inside.valid, inside.note
    assert inside.note == ""
    at_bound = identifiability(toy_problem, np.array([1.0, fitted.theta[1]]))
    assert not at_bound.valid
    assert "estimate at a bound (Learning Rate)" in at_bound.note


def test_bootstrap_replicates_restart_from_global_starts(toy_problem):
    """Each replicate's task carries the estimate and 4 Latin-hypercube starts over the
    bounds (one per stratum in every coordinate), and its fit is the best of the local
    searches from them."""
    from gvcdyn.calibrate import search, tasks, uncertainty

    theta = np.array([0.9, 0.9])  # a poor estimate: the replicates must not stay near it
    replicates = uncertainty.bootstrap_tasks(toy_problem, theta, 3, seed=5, starts=4)
    starts = np.stack([r["starts"] for r in replicates])
    assert starts.shape == (3, 5, 2)
    assert np.all(starts[:, 0] == theta)
    unit = toy_problem.unit(starts[:, 1:].reshape(-1, 2)).reshape(3, 4, 2)
    for r in range(3):
        for j in range(2):
            assert sorted(np.floor(unit[r, :, j] * 4).astype(int)) == [0, 1, 2, 3]
    refit = uncertainty.BootstrapRefit(toy_problem, theta)
    problem = tasks.counting_copy(toy_problem)
    fitted, objective, _ = refit.unpack(refit.compute(problem, replicates))
    _each, values = search.batched_search(
        problem,
        starts.reshape(-1, 2),
        weights=np.repeat(np.stack([r["weights"] for r in replicates]), 5, axis=0),
        step=uncertainty.GLOBAL_STEP,
        min_step=uncertainty.LOCAL_MIN_STEP,
    )
    np.testing.assert_array_equal(objective, values.reshape(3, 5).min(axis=1))
    assert np.all(np.abs(fitted - theta).max(axis=1) > 0.2)  # none stays at the poor start


def test_simulating_where_the_model_fails_names_the_cases(toy_problem, monkeypatch):
    from gvcdyn.errors import CalibrationConfigError

    real = toy_problem.quantities

    def failing(theta, cases=None):
        s, status = real(theta, cases)
        status = status.copy()
        status[:, 2] = 1  # the third case's run ended with a NaN
        return s, status

    monkeypatch.setattr(toy_problem, "quantities", failing)
    cuts = [np.array([-1.0, 1.0]), np.array([-1.0, 1.0])]
    with pytest.raises(CalibrationConfigError, match=toy_problem.cases.ids[2]):
        simulate_outcomes(toy_problem, TRUTH, cuts, np.random.default_rng(0))
