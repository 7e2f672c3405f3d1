"""Posterior sampling (gvcdyn.calibrate.posterior): the sampler on a density with a known
answer, the support and the constraint, the convergence verdict, ArviZ's file format, and
coverage of the truth on synthetic toy data sets.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from toy_calibration import assert_same_chain, count_check_verdicts, quick_toy_config

from gvcdyn.calibrate.config import load_config
from gvcdyn.calibrate.posterior import PosteriorSettings, sample_posterior
from gvcdyn.calibrate.problem import CalibrationProblem
from gvcdyn.calibrate.synthetic import balanced_cutpoints, simulate_outcomes
from gvcdyn.errors import CalibrationConfigError

DATA = Path(__file__).parent / "data" / "calibration"
TRUTH = np.array([0.3, 0.2])  # Learning Rate, Innovation Rate (tests/data/calibration/README)


class GaussianProblem:
    """A stand-in problem whose objective is a known Gaussian: mean (0.4, 0.6), sd (0.05,
    0.1), correlation 0.5, on the unit square (the bounds cut no visible mass)."""

    names = ("a", "b")
    k = 2
    bounds = np.array([[0.0, 1.0], [0.0, 1.0]])
    mean = np.array([0.4, 0.6])
    sd = np.array([0.05, 0.1])
    rho = 0.5

    def __init__(self) -> None:
        cov = np.diag(self.sd) @ np.array([[1, self.rho], [self.rho, 1]]) @ np.diag(self.sd)
        self.precision = np.linalg.inv(cov)
        self.calls = 0

    def objective(self, theta: np.ndarray) -> np.ndarray:
        self.calls += 1
        d = np.atleast_2d(theta) - self.mean
        return 0.5 * np.einsum("ni,ij,nj->n", d, self.precision, d)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        lo, hi = self.bounds[:, 0], self.bounds[:, 1]
        return lo + np.clip(u, 0, 1) * (hi - lo)


def test_the_sampler_finds_a_known_gaussian_and_calls_it_converged():
    problem = GaussianProblem()
    idata = sample_posterior(problem, PosteriorSettings(steps=8000, walkers=16, seed=3))
    post = idata.posterior
    assert post.attrs["converged"] == 1, post.attrs["convergence_failures"]
    for name, mean, sd in zip(problem.names, problem.mean, problem.sd, strict=True):
        draws = post[name].values.ravel()
        assert abs(draws.mean() - mean) < 0.1 * sd
        assert abs(draws.std() - sd) < 0.1 * sd
    rho = np.corrcoef(post["a"].values.ravel(), post["b"].values.ravel())[0, 1]
    assert abs(rho - problem.rho) < 0.1
    # one objective call per half-ensemble move (plus the starting points' check)
    assert problem.calls == 2 * 8000 + 1


def test_a_short_chain_is_not_called_converged_and_says_why():
    idata = sample_posterior(GaussianProblem(), PosteriorSettings(steps=60, walkers=8, seed=1))
    attrs = idata.posterior.attrs
    assert attrs["converged"] == 0
    assert "autocorrelation time" in attrs["convergence_failures"]


def test_every_draw_honours_the_constraint_and_the_bounds():
    problem = GaussianProblem()

    def constraint(theta: np.ndarray) -> np.ndarray:
        return theta[:, 0] < 0.38  # cuts the Gaussian's mode away

    idata = sample_posterior(
        problem, PosteriorSettings(steps=400, walkers=8, seed=2), constraint=constraint
    )
    a = idata.posterior["a"].values
    assert a.max() < 0.38
    assert a.min() >= 0.0
    assert idata.posterior.attrs["constrained"] == 1


def test_a_constraint_nothing_meets_is_a_clear_error():
    with pytest.raises(CalibrationConfigError, match="no finite posterior density"):
        sample_posterior(
            GaussianProblem(),
            PosteriorSettings(steps=10, walkers=8),
            constraint=lambda theta: np.zeros(len(theta), dtype=bool),
        )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (PosteriorSettings(steps=1), "steps must be >= 2"),
        (PosteriorSettings(walkers=2), "at least twice"),
        (PosteriorSettings(steps=10, burn=10), "burn must be in"),
        (PosteriorSettings(steps=10, burn=5, thin=4), "fewer than 2"),
        (PosteriorSettings(moves="walk"), "moves must be one of 'stretch', 'de', got 'walk'"),
    ],
)
def test_bad_settings_are_refused_with_the_rule(settings, message):
    with pytest.raises(CalibrationConfigError, match=message):
        sample_posterior(GaussianProblem(), settings)


def test_the_draws_are_reproducible_and_arviz_reads_the_file(tmp_path):
    import arviz as az

    settings = PosteriorSettings(steps=50, walkers=8, seed=5)
    first = sample_posterior(GaussianProblem(), settings)
    second = sample_posterior(GaussianProblem(), settings)
    np.testing.assert_array_equal(first.posterior["a"].values, second.posterior["a"].values)
    path = tmp_path / "fit.posterior.nc"
    first.to_netcdf(str(path))
    back = az.from_netcdf(str(path))
    assert set(back.groups()) >= {"posterior", "sample_stats"}
    np.testing.assert_array_equal(back.posterior["b"].values, first.posterior["b"].values)
    assert back.posterior["a"].dims == ("chain", "draw")
    assert back.posterior.sizes["draw"] == 25  # half burned


@pytest.fixture(scope="module")
def toy_problem():
    return CalibrationProblem.from_config(load_config(DATA / "toy_config.toml"))


def test_toy_posterior_each_move_is_one_batch(toy_problem):
    before = toy_problem.counter.batches
    sample_posterior(toy_problem, PosteriorSettings(steps=20, walkers=8, seed=1))
    # one batch per half-ensemble move, and at least one for the starting points
    assert toy_problem.counter.batches - before >= 2 * 20 + 1
    assert toy_problem.counter.batches - before <= 2 * 20 + 50


@pytest.mark.slow
def test_posterior_intervals_cover_the_truth_at_about_their_rate(toy_problem):
    """Over 10 synthetic data sets simulated at the truth, the central 95% posterior
    intervals of the two parameters (20 intervals) cover the truth at least 16 times: a
    correct 95% interval fails that with probability about 1.6% (binomial, independent
    intervals), an interval half as wide as it should be about always."""
    cuts = balanced_cutpoints(toy_problem, TRUTH)
    covered = 0
    for seed in range(10):
        frame = simulate_outcomes(toy_problem, TRUTH, cuts, np.random.default_rng(100 + seed))
        problem = toy_problem.with_frame(frame)
        idata = sample_posterior(problem, PosteriorSettings(steps=800, walkers=12, seed=seed))
        for j, name in enumerate(problem.names):
            draws = idata.posterior[name].values.ravel()
            low, high = np.quantile(draws, [0.025, 0.975])
            covered += int(low <= TRUTH[j] <= high)
    assert covered >= 16, f"{covered} of 20 intervals cover the truth"


def test_settings_resolve_an_even_ensemble_of_at_least_16():
    assert replace(PosteriorSettings(), walkers=None).resolved(3) == (16, 1000, 1)
    assert PosteriorSettings(walkers=9).resolved(2)[0] == 10
    assert PosteriorSettings().resolved(7)[0] == 28


def _toy_doc_with(posterior_table: str) -> str:
    return (DATA / "toy_config.toml").read_text() + "\n[posterior]\n" + posterior_table


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("steps = 100\nwalker = 8\n", r"\[posterior\].*walker"),
        ("steps = 100\nwalkers = 2\n", r"\[posterior\].*at least twice the 2"),
        ("steps = 100\nburn = 100\n", r"\[posterior\].*burn must be in"),
        (
            'steps = 100\nmoves = "DE"\n',
            r"\[posterior\]: posterior moves must be one of 'stretch', 'de', got 'DE'$",
        ),
    ],
)
def test_a_bad_posterior_table_is_refused_naming_it(tmp_path, table, message):
    from gvcdyn.calibrate.config import load_config as load

    path = tmp_path / "config.toml"
    path.write_text(_toy_doc_with(table).replace('"toy_', f'"{DATA}/toy_'))
    with pytest.raises(CalibrationConfigError, match=message):
        load(path)


def test_the_posterior_table_reads_the_moves_setting(tmp_path):
    path = tmp_path / "config.toml"
    for table, moves in [("steps = 100\n", "stretch"), ('steps = 100\nmoves = "de"\n', "de")]:
        path.write_text(_toy_doc_with(table).replace('"toy_', f'"{DATA}/toy_'))
        assert load_config(path).posterior.moves == moves


def test_de_moves_give_draws_inside_the_bounds_that_honour_the_checks(tmp_path):
    from toy_calibration import TOY_CHECKS

    checks = tmp_path / "toy.checks.toml"
    checks.write_text(TOY_CHECKS)
    problem = CalibrationProblem.from_config(quick_toy_config(checks=checks))
    settings = PosteriorSettings(steps=60, walkers=8, seed=2, moves="de")
    idata = sample_posterior(problem, settings)
    draws = np.stack([idata.posterior[name].values.ravel() for name in problem.names], 1)
    assert np.all(draws >= problem.bounds[:, 0]) and np.all(draws <= problem.bounds[:, 1])
    _margin, holds = problem.check_verdicts(draws)
    assert holds.all()
    assert draws[:, 0].max() < 0.4  # the check bites (Learning Rate above ~0.38 breaks it)
    attrs = idata.posterior.attrs
    assert "DEMove 0.8 + DESnookerMove 0.2" in attrs["sampler"]
    assert attrs["moves"] == "de"
    assert attrs["constrained"] == 1
    assert 0 < attrs["acceptance_fraction_mean"] < 1
    stretch = sample_posterior(problem, replace(settings, moves="stretch"))
    assert not np.array_equal(
        stretch.posterior[problem.names[0]].values, idata.posterior[problem.names[0]].values
    )


@pytest.fixture(scope="module")
def toy_fit_with_posterior(tmp_path_factory):
    from gvcdyn.calibrate.study import calibrate
    from gvcdyn.io.results_io import write_netcdf

    config = quick_toy_config(bootstrap=2, posterior=PosteriorSettings(steps=40, walkers=8, seed=4))
    fit = calibrate(config)
    path = tmp_path_factory.mktemp("posterior") / "fit.nc"
    write_netcdf(fit, path)
    return fit, path


def test_calibrate_with_a_posterior_table_keeps_the_draws_in_the_fit(toy_fit_with_posterior):
    from gvcdyn.calibrate.posterior import inference_data

    fit, _path = toy_fit_with_posterior
    assert fit["posterior_draw"].dims == ("chain", "draw", "parameter")
    assert fit["posterior_draw"].shape == (8, 20, 2)
    assert fit.attrs["posterior_converged"] == 0  # 40 moves are far too few
    assert fit.attrs["posterior_moves"] == "stretch"  # the setting, beside its description
    assert "autocorrelation" in fit.attrs["posterior_convergence_failures"]
    draws = fit["posterior_draw"].values
    assert np.all((draws >= fit["bound_low"].values) & (draws <= fit["bound_high"].values))
    idata = inference_data(fit)
    np.testing.assert_array_equal(
        idata.posterior["Learning Rate"].values, fit["posterior_draw"].values[:, :, 0]
    )
    assert idata.posterior.attrs["walkers"] == 8
    # the predictive draws are posterior draws, each with ordered cutpoints
    flat = draws.reshape(-1, 2)
    for theta in fit["predictive_estimate"].values:
        assert np.any(np.all(flat == theta, axis=1))
    cuts = fit["predictive_cutpoint"].values
    assert np.all(np.diff(cuts[:, 0, :2], axis=1) > 0)


def test_predict_averages_over_the_posterior_with_intervals(toy_fit_with_posterior):
    from gvcdyn.calibrate.predict import predict

    fit, path = toy_fit_with_posterior
    prediction = predict(path, DATA / "toy_cases.csv")
    n = fit.sizes["sample"]
    assert prediction.meta["n_draws"] == n
    assert "posterior predictive" in prediction.meta["uncertainty"]
    assert "NOT CONVERGED" in prediction.meta["uncertainty"]
    table = prediction.table
    p = [f"p{level}_skill_upg" for level in range(3)]
    assert len(p) == 3
    for column in p:
        low, mid, high = table[f"{column}_low"], table[column], table[f"{column}_high"]
        assert np.all(low <= mid + 1e-12) and np.all(mid <= high + 1e-12)
    assert np.any(table[f"{p[0]}_high"] - table[f"{p[0]}_low"] > 0)
    point = predict(path, DATA / "toy_cases.csv", point=True)
    assert point.meta["n_draws"] == 1
    assert f"{n} posterior draws and 2 bootstrap replicates not used" in point.meta["uncertainty"]
    assert not any(c.endswith("_low") for c in point.table.columns)


def test_a_fit_without_draws_says_how_to_get_them():
    import xarray as xr

    from gvcdyn.calibrate.posterior import inference_data

    with pytest.raises(CalibrationConfigError, match=r"add a \[posterior\] table"):
        inference_data(xr.Dataset())


def test_an_undefined_diagnostic_is_a_failure_not_a_crash():
    """A walker that never moves gives NaN autocorrelation times and R-hat (zero
    variance): the verdict names it as not converged (it raised 'All-NaN slice' before)."""
    from gvcdyn.calibrate.posterior import Convergence

    nan = np.array([np.nan, np.nan])
    verdict = Convergence(("a", "b"), nan, np.array([5.0, 3.0]), nan, nan, kept_steps=10)
    assert not verdict.converged
    assert verdict.failures[0] == "R-hat nan > 1.01 (a)"
    assert "autocorrelation time nan (a)" in verdict.failures[-1]
    attrs = verdict.attrs()
    assert attrs["converged"] == 0
    assert np.isnan(attrs["rhat_max"]) and attrs["ess_bulk_min"] == 3.0


def test_the_gvc_report_lists_each_parameters_diagnostics(toy_fit_with_posterior, tmp_path):
    """calibration/report.py adds R-hat, ESS and the autocorrelation time per parameter to
    the posterior section, computed from the kept draws: their worst values are the
    sampler's verdict numbers recorded in the fit."""
    import subprocess
    import sys

    fit, path = toy_fit_with_posterior
    out = tmp_path / "report.md"
    script = Path(__file__).resolve().parents[1] / "calibration" / "report.py"
    done = subprocess.run(
        [sys.executable, script, path, "--out", out], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    posterior = text[text.index("## Posterior") :]
    rows = [line.split(" | ") for line in posterior.splitlines() if line.startswith("| Learn")]
    rows += [line.split(" | ") for line in posterior.splitlines() if line.startswith("| Innov")]
    table = [r for r in rows if len(r) == 7]
    assert [r[0] for r in table] == ["| Learning Rate", "| Innovation Rate"]
    rhat = max(float(r[3]) for r in table)
    assert rhat == pytest.approx(fit.attrs["posterior_rhat_max"], abs=6e-4)
    ess = min(float(r[4]) for r in table)
    assert ess == pytest.approx(fit.attrs["posterior_ess_bulk_min"], abs=0.6)
    tau = max(float(r[6].rstrip(" |")) for r in table)
    assert tau == pytest.approx(fit.attrs["posterior_autocorr_time_max"], abs=0.06)


@pytest.mark.parametrize("moves", ["stretch", "de"])
def test_the_checks_are_run_only_where_a_proposal_would_be_accepted(tmp_path, monkeypatch, moves):
    """The screened moves give bitwise the chain of the target with the checks inside the
    density (the unscreened sampler, as before the screening), with far fewer check runs."""
    from toy_calibration import TOY_CHECKS

    from gvcdyn.calibrate import posterior

    checks = tmp_path / "toy.checks.toml"
    checks.write_text(TOY_CHECKS)
    problem = CalibrationProblem.from_config(quick_toy_config(checks=checks))
    judged = count_check_verdicts(monkeypatch, problem)
    settings = PosteriorSettings(steps=80, walkers=8, seed=3, moves=moves)
    screened = sample_posterior(problem, settings)
    n_screened = sum(judged)
    judged.clear()
    with monkeypatch.context() as m:
        m.setattr(posterior, "_support", lambda problem, constraint: None)
        plain = sample_posterior(problem, settings)
    n_plain = sum(judged)
    assert_same_chain(screened, plain)
    assert n_screened < n_plain  # fewer: rejected proposals are not judged


def test_a_screened_constraint_gives_the_chain_of_the_constrained_density(monkeypatch):
    from gvcdyn.calibrate import posterior

    def constraint(theta: np.ndarray) -> np.ndarray:
        return theta[:, 0] < 0.38

    settings = PosteriorSettings(steps=200, walkers=8, seed=5, moves="de")
    screened = sample_posterior(GaussianProblem(), settings, constraint=constraint)
    with monkeypatch.context() as m:
        m.setattr(posterior, "_support", lambda problem, constraint: None)
        plain = sample_posterior(GaussianProblem(), settings, constraint=constraint)
    np.testing.assert_array_equal(screened.posterior["a"].values, plain.posterior["a"].values)
    assert screened.posterior["a"].values.max() < 0.38


def test_no_posterior_on_the_command_line_skips_the_configs_posterior_table(tmp_path):
    """A quick fit of a config that asks for a posterior: no draws, the estimate only,
    and the fit says why."""
    import xarray as xr

    from gvcdyn.cli import run_cli

    quick = "[fit]\nseeds = [1]\npopsize = 5\nmaxiter = 3\n"
    text = _toy_doc_with("steps = 40\nwalkers = 6\nburn = 10\n").replace('"toy_', f'"{DATA}/toy_')
    text = text.replace("[fit]\nseeds = [1, 2]\npopsize = 8\nmaxiter = 15\n", quick)
    text = text.replace(
        "profile_points = 9\nbootstrap = 20\n", "profile_points = 0\nbootstrap = 0\n"
    )
    path = tmp_path / "config.toml"
    path.write_text(text)
    assert load_config(path).posterior is not None
    for flag, draws in (("--no-posterior", False), ("--posterior", True)):
        out = tmp_path / f"fit{flag}.nc"
        assert run_cli(["calibrate", str(path), "--out", str(out), flag]) == 0
        ds = xr.load_dataset(out)
        assert ("posterior_draw" in ds) is draws, flag
        assert ("posterior_skipped" in ds.attrs) is not draws, flag
