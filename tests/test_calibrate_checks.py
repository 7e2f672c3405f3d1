"""Reality checks as calibration constraints (issue 19): a config's ``checks`` file removes
the parameter vectors that break a check from the support of the fit and the posterior,
and the fit records each check's margin at the estimate.

The toy check: skill at year 10 stays at most 0.8134 (at the model's default Support,
0.5), which holds for Learning Rate below about 0.38 and fails above (the truth, 0.3,
gives 0.759).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from toy_calibration import DATA, TOY_CHECKS, count_check_verdicts, quick_toy_config

from gvcdyn.calibrate.config import PosteriorSettings, load_config
from gvcdyn.calibrate.problem import FAILED, CalibrationProblem
from gvcdyn.calibrate.study import calibrate
from gvcdyn.errors import RealityCheckError


@pytest.fixture(scope="module")
def checked_config(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checked")
    path = folder / "toy.checks.toml"
    path.write_text(TOY_CHECKS)
    return replace(load_config(DATA / "toy_config.toml"), checks=path)


@pytest.fixture(scope="module")
def checked_problem(checked_config):
    return CalibrationProblem.from_config(checked_config)


def test_a_vector_that_breaks_a_check_is_outside_the_support(checked_problem):
    theta = np.array([[0.3, 0.2], [0.5, 0.2], [0.37, 0.5]])
    margin, holds = checked_problem.check_verdicts(theta)
    assert holds[:, 0].tolist() == [True, False, True]
    assert margin[0, 0] == pytest.approx(0.8134 - 0.759, abs=0.002)
    before = checked_problem.counter.runs
    values = checked_problem.objective(theta)
    assert values[1] == FAILED
    assert np.all(values[[0, 2]] < FAILED)
    cases = len(checked_problem.cases)
    # one check run per candidate, and the cases of the two allowed candidates only
    assert checked_problem.counter.runs - before == 3 * 1 + 2 * cases


def test_checks_hold_is_every_verdict_of_one_batch(checked_problem):
    """The support's one rule (``checks_hold``): every check holds, from one check batch;
    True for every candidate without checks."""
    theta = np.array([[0.3, 0.2], [0.5, 0.2], [0.37, 0.5]])
    before = checked_problem.counter.batches
    assert checked_problem.checks_hold(theta).tolist() == [True, False, True]
    assert checked_problem.counter.batches - before == 1
    plain = CalibrationProblem.from_config(replace(checked_problem.config, checks=None))
    assert plain.checks_hold(theta).tolist() == [True, True, True]


def test_without_checks_the_objective_is_unchanged(checked_problem):
    plain = CalibrationProblem.from_config(replace(checked_problem.config, checks=None))
    theta = np.array([[0.3, 0.2], [0.2, 0.6]])
    np.testing.assert_array_equal(plain.objective(theta), checked_problem.objective(theta))


def test_the_fit_and_every_posterior_draw_honour_the_checks(checked_config):
    config = quick_toy_config(
        checks=checked_config.checks,
        maxiter=6,
        posterior=PosteriorSettings(steps=60, walkers=8, seed=2),
    )
    fit = calibrate(config)
    assert fit["check_holds"].values.tolist() == [1]
    assert fit["check_margin"].values[0] >= 0
    assert fit.attrs["checks_sha256"]
    assert fit.attrs["posterior_constrained"] == 1
    problem = CalibrationProblem.from_config(config)
    draws = fit["posterior_draw"].values.reshape(-1, 2)
    _margin, holds = problem.check_verdicts(draws)
    assert holds.all()
    assert draws[:, 0].max() < 0.4  # the constraint bites: Learning Rate's posterior is wider


def test_a_bad_checks_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "bad.checks.toml"
    path.write_text(TOY_CHECKS.replace('run["Skill"]', 'run["Skil"]'))
    config = replace(load_config(DATA / "toy_config.toml"), checks=path)
    with pytest.raises(RealityCheckError, match=r"unknown variable 'Skil'"):
        CalibrationProblem.from_config(config)


def test_the_config_reads_checks_relative_to_itself(tmp_path):
    text = (DATA / "toy_config.toml").read_text().replace('"toy_', f'"{DATA}/toy_')
    (tmp_path / "c.toml").write_text('checks = "mine.checks.toml"\n' + text)
    assert load_config(tmp_path / "c.toml").checks == (tmp_path / "mine.checks.toml").resolve()


def test_the_pattern_search_judges_only_improving_candidates(checked_problem, monkeypatch):
    """The batched search (profiles, bootstrap, cross-validation) runs a candidate's checks
    only where its cases would improve its fit: the same fits, bitwise, as with every
    candidate judged, for fewer check verdicts. One start breaks the check (Learning
    Rate 0.4), one sits near its edge, one fit has its own case weights."""
    from gvcdyn.calibrate import search

    starts = np.array([[0.4, 0.2], [0.37, 0.6], [0.1, 0.9]])
    rng = np.random.default_rng(3)
    weights = rng.integers(0, 3, size=(3, len(checked_problem.cases))).astype(float)
    judged = count_check_verdicts(monkeypatch, checked_problem)
    screened = search.batched_search(checked_problem, starts, weights=weights)
    n_screened = sum(judged)
    judged.clear()
    with monkeypatch.context() as m:
        m.setattr(search, "_candidates", lambda p, u, w, ceiling: search._evaluate(p, u, w))
        plain = search.batched_search(checked_problem, starts, weights=weights)
    n_plain = sum(judged)
    np.testing.assert_array_equal(screened[0], plain[0])
    np.testing.assert_array_equal(screened[1], plain[1])
    assert np.all(screened[1] < FAILED)  # the breaking start found the support
    assert checked_problem.check_verdicts(screened[0])[1].all()
    assert n_screened < n_plain / 2


def test_a_fit_whose_cases_failed_still_judges_every_candidate(checked_problem, monkeypatch):
    """A fit whose own cases failed is worth FAILED plus a prior's term (a normal prior),
    so a candidate that breaks a check (worth FAILED) improves on it even when its cases
    failed too, with a larger prior term: the screened search must judge that candidate
    as the unscreened one does. The cases' term is made to fail for every candidate."""
    from gvcdyn.calibrate import search

    def failing_cases(theta, weights=None, checks=True):
        values = np.full(len(theta), FAILED + 2.0)
        if checks:
            values[~checked_problem.check_verdicts(theta)[1].all(axis=1)] = FAILED
        return values

    monkeypatch.setattr(checked_problem, "objective", failing_cases)
    u = checked_problem.unit(np.array([[0.4, 0.5], [0.3, 0.5]]))  # breaks / holds
    plain = search._evaluate(checked_problem, u, None)
    assert plain[0] == FAILED and plain[1] > FAILED
    ceiling = np.full(2, FAILED + 1.0)  # the fit's value FAILED + 1, less 1e-10
    screened = search._candidates(checked_problem, u, None, ceiling)
    np.testing.assert_array_equal(screened, plain)
