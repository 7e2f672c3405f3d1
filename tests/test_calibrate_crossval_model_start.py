"""``[crossval] model_start = true``: the fold refits also start from the model's own
values of the estimated constants (the toy model's Learning Rate 0.3, Innovation Rate
0.2), drawing nothing; without it the starts are the centre of the bounds and one
Latin-hypercube point, as before.

The checks "learning near its model value" and "innovation near its model value"
(Learning Rate in [0.22, 0.40], Innovation Rate in [0.19, 0.32]) hold together at the
model's values but not at the centre of the bounds (0.51, 0.51) nor at the Latin-hypercube
points (seed 11: (0.127, 0.177) on "all", (0.209, 0.576) on "without_low"), and no move
of one coordinate from those reaches the box: a refit from them finds nothing (the
pattern search does not leave a start outside the support), one from the model's values does.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from toy_calibration import DATA, quick_toy_config

from gvcdyn.calibrate.config import load_config
from gvcdyn.calibrate.crossval import (
    crossvalidate,
    draw_starts,
    fold_starts,
    model_start,
)
from gvcdyn.calibrate.problem import CalibrationProblem
from gvcdyn.calibrate.tasks import job_config
from gvcdyn.errors import CalibrationConfigError, CalibrationInfeasibleError

MODEL_VALUES = [0.3, 0.2]  # tests/data/calibration/toy_upgrading.mdl
NEAR = """
[[check]]
name = "learning near its model value"
expect = "bound"
value = 'run["Learning Rate"]'
min = 0.22
max = 0.40

[[check]]
name = "innovation near its model value"
expect = "bound"
value = 'run["Innovation Rate"]'
min = 0.19
max = 0.32
"""


def _config_file(folder: Path, crossval: str, *, bounds: str = "[0.02, 1.0]") -> Path:
    """The toy config as a file, its [crossval] table ending with ``crossval``."""
    text = (DATA / "toy_config.toml").read_text().replace('"toy_', f'"{DATA}/toy_')
    text = text.replace(
        '"Learning Rate" = { bounds = [0.02, 1.0] }', f'"Learning Rate" = {{ bounds = {bounds} }}'
    )
    path = folder / "config.toml"
    path.write_text(text + crossval)
    return path


def test_the_key_is_read_false_by_default_and_must_be_a_boolean(tmp_path):
    assert load_config(DATA / "toy_config.toml").cv_model_start is False
    assert load_config(_config_file(tmp_path, "model_start = true\n")).cv_model_start is True
    assert load_config(_config_file(tmp_path, "model_start = false\n")).cv_model_start is False
    with pytest.raises(CalibrationConfigError, match=r"\[crossval\]: model_start must be true"):
        load_config(_config_file(tmp_path, 'model_start = "yes"\n'))


@pytest.fixture(scope="module")
def toy_problem() -> CalibrationProblem:
    return CalibrationProblem.from_config(quick_toy_config())


def test_the_model_values_are_one_more_start_only_with_the_key(toy_problem):
    """Without the key the starts are draw_starts' (centre, Latin-hypercube point); with
    it the same rows and the model's values last, and the generator is left where it was
    left without it (no draw), so every later fold and bootstrap draw is the same."""
    problem = toy_problem
    plain_rng, with_rng = np.random.default_rng(11), np.random.default_rng(11)
    plain = fold_starts(problem, plain_rng)
    expected = problem.from_unit(draw_starts(problem, np.random.default_rng(11)))
    np.testing.assert_array_equal(plain, expected)
    assert plain.shape == (2, 2) and not np.isclose(plain, MODEL_VALUES).all(axis=1).any()

    opted = replace(problem.config, cv_model_start=True)
    problem_with = CalibrationProblem.from_config(opted, model=problem.model)
    starts = fold_starts(problem_with, with_rng)
    assert starts.shape == (3, 2)
    np.testing.assert_array_equal(starts[:2], plain)
    np.testing.assert_array_equal(starts[2], MODEL_VALUES)
    np.testing.assert_array_equal(model_start(problem_with), MODEL_VALUES)
    assert plain_rng.random() == with_rng.random()
    # the starts are part of the folds' checkpoint settings: a resume with the option
    # changed is refused by their fingerprint (here the config text is the same: the
    # starts alone tell the two apart)
    assert problem_with.config.text == problem.config.text
    job = "cross-validation folds"
    assert job_config(problem_with, job, starts=starts) != job_config(problem, job, starts=plain)


def test_a_model_value_outside_the_bounds_is_a_config_error_naming_it(tmp_path):
    config = load_config(_config_file(tmp_path, "model_start = true\n", bounds="[0.35, 1.0]"))
    problem = CalibrationProblem.from_config(config)
    message = (
        r"\[crossval\] model_start = true .*'Learning Rate' = 0\.3 in the model lies "
        r"outside its \[estimate\] bounds \[0\.35, 1\]"
    )
    with pytest.raises(CalibrationConfigError, match=message):
        crossvalidate(problem)
    # without the key the same bounds are fine for the starts (the centre is inside)
    plain = CalibrationProblem.from_config(replace(config, cv_model_start=False))
    assert fold_starts(plain, np.random.default_rng(1)).shape == (2, 2)


def test_the_model_values_let_the_folds_refit_where_the_centre_cannot(tmp_path):
    """With the support around the model's values and not the centre, the folds refit
    from the model's values; without the key they find nothing, and the error names the
    option as a remedy."""
    checks = tmp_path / "near.checks.toml"
    checks.write_text(NEAR)
    config = quick_toy_config(checks=checks, cv_folds=2, cv_repeats=1, cv_loo=False)
    problem = CalibrationProblem.from_config(config)
    with pytest.raises(CalibrationInfeasibleError, match="cross-validation: the refit") as caught:
        crossvalidate(problem)
    assert "set model_start = true in [crossval]" in str(caught.value)

    opted = CalibrationProblem.from_config(
        replace(config, cv_model_start=True), model=problem.model
    )
    cv = crossvalidate(opted)
    assert np.all(np.isfinite(cv.score))


def test_a_calibration_refuses_a_model_value_outside_the_bounds_before_its_fit(
    tmp_path, monkeypatch
):
    """With --crossval the config error comes before the differential evolution, not
    after it; without --crossval the option is not used and the fit runs."""
    from gvcdyn.calibrate import study

    def no_fit(*args, **kwargs):
        raise AssertionError("the fit ran before the config error")

    monkeypatch.setattr(study, "fit", no_fit)
    config = load_config(_config_file(tmp_path, "model_start = true\n", bounds="[0.35, 1.0]"))
    with pytest.raises(CalibrationConfigError, match=r"'Learning Rate' = 0\.3 in the model"):
        study.calibrate(config, crossval=True)
    with pytest.raises(AssertionError, match="the fit ran"):
        study.calibrate(config, crossval=False)


def test_the_fit_file_records_the_option_only_when_set():
    from gvcdyn.calibrate.study import calibrate

    quick = {"cv_folds": 2, "cv_repeats": 1, "cv_loo": False}
    opted = calibrate(quick_toy_config(cv_model_start=True, **quick), crossval=True)
    assert opted.attrs["cv_model_start"] == 1
    assert np.all(np.isfinite(opted["cv_score"].values))
    plain = calibrate(quick_toy_config(**quick), crossval=True)
    assert "cv_model_start" not in plain.attrs
