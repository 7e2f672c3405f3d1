"""A case whose period does not end at a time the model saves (1982 to 2004.5 with
SAVEPER 1): its outcomes are read at the period's end, so every batch of runs failed with
"outcome 'skill_upg': time 22.5 is not a saved time", naming neither the case nor its
columns; ``calibrate`` stopped there and ``predict`` answered for no case. Now refused as
the problem is built, naming the case file, the case, its period columns and values."""

from __future__ import annotations

from dataclasses import replace

import pytest
from console import assert_one_line_error, gvcdyn
from toy_calibration import DATA, quick_toy_config

from gvcdyn.calibrate.problem import CalibrationProblem
from gvcdyn.errors import CaseDataError


@pytest.fixture
def cases(tmp_path):
    """The toy cases with TOY_00's period ending half a year later (1982 to 2004.5)."""
    text = (DATA / "toy_cases.csv").read_text(encoding="utf-8")
    assert "TOY_00,1982,2004," in text
    path = tmp_path / "cases.csv"
    path.write_text(text.replace("TOY_00,1982,2004,", "TOY_00,1982,2004.5,"), encoding="utf-8")
    return path


def test_calibrate_names_the_case_and_its_period(cases) -> None:
    config = replace(quick_toy_config(), cases=cases)
    with pytest.raises(CaseDataError) as err:
        CalibrationProblem.from_config(config)
    message = str(err.value)
    for words in (str(cases), "case 'TOY_00'", "'period_start' to 'period_end'",
                  "1982 to 2004.5 lasts 22.5", "every 1 from 0", "SAVEPER"):  # fmt: skip
        assert words in message, (words, message)


def test_whole_periods_still_build(tmp_path) -> None:
    assert len(CalibrationProblem.from_config(quick_toy_config()).cases) == 40


def test_predict_says_it_in_one_line(cases, tmp_path) -> None:
    from gvcdyn.calibrate.study import calibrate
    from gvcdyn.io.results_io import write_netcdf

    fit = write_netcdf(calibrate(quick_toy_config(maxiter=2)), tmp_path / "fit.nc")
    done = gvcdyn("predict", "--fit", fit, "--cases", cases, "-o", tmp_path / "p.csv")
    assert_one_line_error(done, "case 'TOY_00'", "lasts 22.5, not a time the model saves")
