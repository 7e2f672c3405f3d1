"""Cross-validation on the toy cases: no leakage from held-out cases, and a sane comparison."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from gvcdyn.calibrate.config import load_config
from gvcdyn.calibrate.crossval import (
    METRICS,
    PREDICTORS,
    _fold_predictions,
    crossvalidate,
    cv_subsets,
    draw_plans,
    replay_plans,
)
from gvcdyn.calibrate.problem import CalibrationProblem

DATA = Path(__file__).parent / "data" / "calibration"


@pytest.fixture(scope="module")
def toy_problem():
    config = replace(load_config(DATA / "toy_config.toml"), cv_folds=4, cv_repeats=1, cv_loo=False)
    return CalibrationProblem.from_config(config)


def test_held_out_outcome_does_not_change_its_own_prediction(toy_problem):
    """Refit inside the fold: flipping the held-out case's observed level changes nothing."""
    problem = toy_problem
    members = np.arange(len(problem.cases))
    test = [np.array([5])]
    before = _fold_predictions(problem, members, test, [0, 1], np.random.default_rng(1))
    flipped = problem.with_frame(problem.cases.frame.copy())
    flipped.levels = problem.levels.copy()
    flipped.levels[5] = (problem.levels[5] + 1) % 3
    after = _fold_predictions(flipped, members, test, [0, 1], np.random.default_rng(1))
    for name in PREDICTORS:
        for c in range(2):
            np.testing.assert_array_equal(before[0][name][c], after[0][name][c])
    # ... while flipping a TRAINING case's outcome does change it (the check can fail)
    flipped.levels = problem.levels.copy()
    flipped.levels[:20, 1] = 2 - flipped.levels[:20, 1]
    moved = _fold_predictions(flipped, members, test, [0, 1], np.random.default_rng(1))
    assert not np.allclose(before[0]["frequencies"][1], moved[0]["frequencies"][1])


def test_crossvalidation_table_and_the_model_beats_frequencies_on_its_own_data(toy_problem):
    cv = crossvalidate(toy_problem)
    assert cv.subsets == ["all", "without_low"]
    assert cv.schemes == ["4-fold x1"]
    assert cv.score.shape == (2, 1, 2, len(PREDICTORS), len(METRICS))
    assert np.all(np.isfinite(cv.score))
    assert np.all(cv.low <= cv.score + 1e-12) and np.all(cv.score <= cv.high + 1e-12)
    assert cv.n_cases[1] < cv.n_cases[0]
    log_loss = cv.score[0, 0, :, :, 0]  # (outcome, predictor) on all cases
    # the toy outcomes were simulated from the model: it must predict them better than
    # the level shares do
    assert np.all(log_loss[:, 0] < log_loss[:, 1])
    np.testing.assert_array_equal(cv.diff_low[..., 0, :], 0.0)  # model minus itself


SPARSE = (
    '\n[[crossval.sparse]]\nname = "high support"\ncolumn = "support"\nvalues = ["high"]\n'
    '[[crossval.sparse]]\nname = "shocked"\ncolumn = "trigger"\nprefixes = ["shock:"]\n'
    '[[crossval.sparse]]\nname = "coded levels"\ncolumns = ["support", "trigger"]\n'
    'values = ["medium", "none"]\n'
)


def _config_with(tmp_path, extra: str):
    text = (DATA / "toy_config.toml").read_text().replace('"toy_', f'"{DATA}/toy_')
    path = tmp_path / "config.toml"
    path.write_text(text + extra)
    return load_config(path)


def test_the_sparse_baseline_reads_its_covariates_from_the_case_table(tmp_path):
    from gvcdyn.calibrate.crossval import sparse_covariates

    config = replace(_config_with(tmp_path, SPARSE), cv_folds=4, cv_repeats=1, cv_loo=False)
    problem = CalibrationProblem.from_config(config)
    x = sparse_covariates(problem)
    frame = problem.cases.frame
    np.testing.assert_array_equal(x[:, 0], (frame["support"] == "high").to_numpy(float))
    shocked = frame["trigger"].str.startswith("shock:").to_numpy(float)
    np.testing.assert_array_equal(x[:, 1], shocked)
    counted = (frame["support"] == "medium").to_numpy(float) + (frame["trigger"] == "none")
    np.testing.assert_array_equal(x[:, 2], counted.to_numpy(float))
    cv = crossvalidate(problem)
    assert cv.coords()["cv_predictor"] == ["model", "frequencies", "context", "sparse"]
    assert np.all(np.isfinite(cv.score))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('\n[[crossval.sparse]]\nname = "x"\nvalues = ["1"]\n', "give 'column'"),
        ('\n[[crossval.sparse]]\ncolumn = "support"\n', "give the 'values'"),
        ('\n[[crossval.sparse]]\ncolumn = "support"\nvalue = ["high"]\n', "value"),
    ],
)
def test_a_bad_sparse_covariate_is_refused_naming_it(tmp_path, extra, message):
    from gvcdyn.errors import CalibrationConfigError

    with pytest.raises(CalibrationConfigError, match=message):
        _config_with(tmp_path, extra)


def test_a_sparse_covariate_on_a_missing_column_names_it(tmp_path):
    from gvcdyn.calibrate.crossval import sparse_covariates
    from gvcdyn.errors import CalibrationConfigError

    extra = '\n[[crossval.sparse]]\nname = "g"\ncolumn = "governance"\nvalues = ["captive"]\n'
    problem = CalibrationProblem.from_config(_config_with(tmp_path, extra))
    with pytest.raises(CalibrationConfigError, match="'g': the case table has no column"):
        sparse_covariates(problem)


@pytest.mark.parametrize("loo", [False, True])
def test_replay_plans_gives_the_folds_crossvalidate_drew(toy_problem, monkeypatch, loo):
    """``replay_plans`` (for studies that refit other predictors in crossvalidate's folds)
    returns the very test arrays crossvalidate drew, on both subsets: the second subset's
    folds come after the first's scoring bootstraps, so a replay that missed one would
    return other folds there (checked below). The model's search is stubbed: only the
    draws matter."""
    import copy

    from gvcdyn.calibrate import crossval

    problem = copy.copy(toy_problem)
    problem.config = replace(problem.config, cv_repeats=2, cv_loo=loo)
    drawn = []

    def recording(*args):
        plans = draw_plans(*args)
        drawn.append(plans)
        return plans

    monkeypatch.setattr(
        crossval, "batched_search", lambda p, starts, **_: (starts, np.zeros(len(starts)))
    )
    monkeypatch.setattr(crossval, "draw_plans", recording)
    cv = crossvalidate(problem)
    monkeypatch.setattr(crossval, "draw_plans", draw_plans)
    replayed = replay_plans(problem, loo=True)
    assert list(replayed) == cv.subsets == ["all", "without_low"]
    for plans, (subset, schemes) in zip(drawn, replayed.items(), strict=True):
        assert list(schemes) == ["4-fold x2", "leave-one-out"]
        assert len(plans) == 1 + loo
        for drew, replay in zip(plans, schemes.values(), strict=False):
            assert [t.tolist() for t in drew] == [t.tolist() for t in replay], subset
        assert [t.tolist() for t in schemes["leave-one-out"]] == [
            [i] for i in cv_subsets(problem)[subset]
        ]
    # a replay that skipped the first subset's scoring draws would differ on the second
    rng = np.random.default_rng(problem.config.cv_seed)
    draw_plans(problem, cv_subsets(problem)["all"], rng)
    skipped = draw_plans(problem, cv_subsets(problem)["without_low"], rng)[0]
    assert [t.tolist() for t in skipped] != [
        t.tolist() for t in replayed["without_low"]["4-fold x2"]
    ]
