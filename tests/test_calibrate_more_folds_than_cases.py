"""``[crossval] folds`` above the number of cases in a cross-validation subset: the
folds beyond it held no case, each an idle refit (100 folds of the toy's 40 cases cost
2.4 times the runs of 40 folds, for the same scores), and the scheme, recorded as
"100-fold x1", was leave-one-out. Refused before the fit (a changed config refuses a
--resume, so refusing after it would cost the fit), naming the config and the subset."""

from __future__ import annotations

import pytest
from toy_calibration import quick_toy_config

from gvcdyn.calibrate.crossval import check_folds, cv_subsets
from gvcdyn.calibrate.problem import CalibrationProblem
from gvcdyn.calibrate.study import calibrate
from gvcdyn.errors import CalibrationConfigError


@pytest.fixture(scope="module")
def sizes() -> dict[str, int]:
    problem = CalibrationProblem.from_config(quick_toy_config())
    return {name: len(members) for name, members in cv_subsets(problem).items()}


def test_more_folds_than_a_subsets_cases_is_refused_before_the_fit(sizes, monkeypatch) -> None:
    assert sizes == {"all": 40, "without_low": 23}

    def no_fit(*args, **kwargs):
        raise AssertionError("the fit ran before the config was refused")

    monkeypatch.setattr("gvcdyn.calibrate.study.fit", no_fit)
    config = quick_toy_config(cv_folds=24)
    with pytest.raises(CalibrationConfigError) as err:
        calibrate(config, crossval=True)
    message = str(err.value)
    for words in ("toy_config.toml [crossval]: folds = 24", "'without_low'", "has 23 cases",
                  "give folds <= 23"):  # fmt: skip
        assert words in message, (words, message)


def test_as_many_folds_as_cases_and_no_crossval_are_taken(sizes) -> None:
    problem = CalibrationProblem.from_config(quick_toy_config(cv_folds=23))
    assert {k: len(v) for k, v in check_folds(problem).items()} == sizes
    fit = calibrate(quick_toy_config(cv_folds=100, maxiter=2), crossval=False)
    assert "cv_score" not in fit
